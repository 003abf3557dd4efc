/* ai_azure.c — callers written for Azure OpenAI: its paths onto the gateway's own.
 *
 * Many public-sector systems in Japan were first built on Azure OpenAI, with the SDKs' AzureOpenAI
 * client or its REST API. That API names the model by its deployment, in the path
 * (/openai/deployments/{deployment}/chat/completions?api-version=…), and its newer v1 API puts
 * OpenAI's own paths under /openai/v1/. Here a deployment is a model alias of the project: it
 * becomes the body's model (Azure ignores a model written in the body), so from then on the request
 * is exactly the OpenAI request it means — decoded, governed, metered and audited as one. The
 * api-version is not checked: the answers are OpenAI's shapes, which every version reads. */
#include "ai/ai_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/jscan.h"
#include "core/util.h"

#define AZURE_PREFIX "/openai/deployments/"
#define AZURE_V1 "/openai/v1/"

/* What a deployment serves, as the gateway's own path. */
static const struct {
    const char *op, *path;
} ops[] = {
    {"chat/completions", "/v1/chat/completions"},
    {"completions", "/v1/completions"},
    {"embeddings", "/v1/embeddings"},
};

/* A body outside the span reader's subset (escaped keys, very many members): through jansson.
 * One that is not a JSON object at all is left as it is, for the decoder to word the error. */
static void set_model_tree(struct ksm_buf *body, const char *alias)
{
    json_t *o = json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES, NULL);
    char *s = json_is_object(o) && !json_object_set_new(o, "model", json_string(alias))
                  ? json_dumps(o, JSON_COMPACT)
                  : NULL;
    if (s) {
        ksm_buf_reset(body);
        ksm_buf_puts(body, s);
        free(s);
    }
    json_decref(o);
}

/* The body with its model set to alias, its bytes kept: the model member's value replaced, or a
 * model member put first. */
static void set_model(struct ksm_buf *body, const char *alias)
{
    struct ksm_jscan_member m[KSM_AI_RAW_MEMBERS];
    const char *p = body->data ? body->data : "";
    int n = ksm_jscan_object(p, body->len, m, (int)KSM_NELEM(m), NULL);
    if (n < 0) {
        set_model_tree(body, alias);
        return;
    }
    struct ksm_buf out = KSM_BUF_INIT;
    const struct ksm_jscan_member *model = ksm_jscan_get(m, n, "model");
    if (model) {
        ksm_buf_append(&out, p, (size_t)(model->val - p));
        ksm_buf_json_str(&out, alias);
        const char *rest = model->val + model->val_len;
        ksm_buf_append(&out, rest, body->len - (size_t)(rest - p));
    } else {
        const char *brace = memchr(p, '{', body->len);   /* the object's: only space before it */
        ksm_buf_append(&out, p, (size_t)(brace - p) + 1);
        ksm_buf_puts(&out, "\"model\":");
        ksm_buf_json_str(&out, alias);
        if (n > 0)
            ksm_buf_puts(&out, ",");
        ksm_buf_append(&out, brace + 1, body->len - (size_t)(brace + 1 - p));
    }
    ksm_buf_reset(body);
    ksm_buf_append(body, out.data, out.len);
    ksm_buf_free(&out);
}

/* /openai/deployments/{deployment}/{op} (the path is percent-decoded already): the deployment and
 * the op's own path; NULL when the path is not that. */
static const char *deployment_path(struct ksm_req *r, const char **alias)
{
    const char *d = r->path + strlen(AZURE_PREFIX), *slash = strchr(d, '/');
    if (!slash || slash == d)
        return NULL;
    size_t n = 0;
    while (n < KSM_NELEM(ops) && strcmp(slash + 1, ops[n].op))
        n++;
    if (n == KSM_NELEM(ops))
        return NULL;
    *alias = ksm_arena_strndup(r->arena, d, (size_t)(slash - d));
    return ops[n].path;
}

enum ksm_err ksm_ai_azure_front(struct ksm_req *r, const char **why)
{
    if (!strncmp(r->path, AZURE_V1, strlen(AZURE_V1))) {   /* Azure's v1 API: OpenAI's paths */
        r->path += strlen("/openai");
        return KSM_E_OK;
    }
    if (strncmp(r->path, AZURE_PREFIX, strlen(AZURE_PREFIX)))
        return KSM_E_OK;
    const char *alias = NULL, *path = deployment_path(r, &alias);
    if (!path)
        return *why = "no such endpoint", KSM_E_NOT_FOUND;
    set_model(&r->body, alias);
    r->path = path;
    return KSM_E_OK;
}
