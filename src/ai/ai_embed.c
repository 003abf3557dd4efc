/* ai_embed.c — POST /v1/embeddings: the body is kept as the caller sent it (OpenAI's shape, which
 * every OpenAI-compatible server takes), after checking what the guardrail must read: "model" and
 * "input" as a string or an array of strings. Token-array inputs cannot be scanned, so they are
 * refused rather than passed unread. */
#include <string.h>

#include "ai/ai_int.h"
#include "core/jscan.h"
#include "core/util.h"

#define EMBED_MAX_INPUTS 2048
#define RAW_MEMBERS 64

bool ksm_ai_strings_ok(const json_t *v, size_t max)
{
    if (json_is_string(v))
        return true;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max)
        return false;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) if (!json_is_string(x)) return false;
    return true;
}

enum ksm_err ksm_ai_kept_load(struct ai_call *c, char *why, size_t n)
{
    struct ksm_req *r = c->r;
    json_error_t je;
    if (!ksm_utf8_valid(r->body.data ? r->body.data : "", r->body.len)) {
        snprintf(why, n, "the body is not valid UTF-8");
        return KSM_E_INVALID_JSON;
    }
    c->kept_body = ksm_jscan_load(r->body.data ? r->body.data : "", r->body.len);
    if (!c->kept_body)
        c->kept_body = json_loadb(r->body.data ? r->body.data : "", r->body.len,
                                  JSON_REJECT_DUPLICATES, &je);
    if (!c->kept_body || !json_is_object(c->kept_body)) {
        snprintf(why, n, "the body must be a JSON object");
        return KSM_E_INVALID_JSON;
    }
    json_t *model = json_object_get(c->kept_body, "model");
    if (!json_is_string(model) || !json_string_length(model)) {
        snprintf(why, n, "model is required");
        return KSM_E_INVALID_ARGUMENT;
    }
    c->alias = json_string_value(model);
    return KSM_E_OK;
}

static char *embed_prompt(const struct ai_call *c)
{
    return json_dumps(json_object_get(c->kept_body, "input"), JSON_COMPACT);
}

char *ksm_ai_kept_prompt(const struct ai_call *c)
{
    static char *(*const prompt[])(const struct ai_call *) = {
        [AI_EMBED] = embed_prompt, [AI_COMPLETE] = ksm_ai_complete_prompt,
        [AI_RERANK] = ksm_ai_rerank_prompt};
    return prompt[c->kind](c);
}

enum ksm_err ksm_ai_embed_decode(struct ai_call *c, char *why, size_t n)
{
    enum ksm_err e = ksm_ai_kept_load(c, why, n);
    if (e != KSM_E_OK)
        return e;
    if (!ksm_ai_strings_ok(json_object_get(c->kept_body, "input"), EMBED_MAX_INPUTS)) {
        snprintf(why, n, "input must be a string or a non-empty array of at most %d strings",
                 EMBED_MAX_INPUTS);
        return KSM_E_INVALID_ARGUMENT;
    }
    return KSM_E_OK;
}

int ksm_ai_embeddings_passthrough(const char *body, size_t len, struct ksm_buf *out,
                                  struct ksm_ai_usage *u)
{
    struct ksm_jscan_member m[RAW_MEMBERS];
    int n = ksm_jscan_object(body, len, m, RAW_MEMBERS, NULL);
    const struct ksm_jscan_member *data = n < 0 ? NULL : ksm_jscan_get(m, n, "data");
    struct ksm_ai_usage got = *u;
    if (!data || data->val[0] != '[' || ksm_ai_usage_from_openai_raw(m, n, &got) != 1)
        return -1;
    *u = got;
    ksm_buf_append(out, body, len);
    return 0;
}
