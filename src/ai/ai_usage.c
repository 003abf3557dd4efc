/* ai_usage.c — token usage extraction and rendering for both APIs (see ai_usage.h). Numbers from an
 * upstream are untrusted: anything that is not a non-negative integer below a sane bound is ignored,
 * so a hostile or broken provider cannot make the meter overflow or go negative. */
#include "ai/ai_usage.h"

#include "core/jscan.h"

#define TOKENS_MAX ((int64_t)1 << 50)   /* far above any context window; keeps sums in range */

/* The rules below run over either form of a usage object: a jansson object (the full path) or the
 * byte spans of one (the pass-through path, jscan.h), so both meter the same way. */
/* Reads key of o as a token count into *v; false (v untouched) if absent or not a sane integer. */
typedef bool (*count_fn)(const void *o, const char *key, int64_t *v);

static bool json_count(const void *o, const char *key, int64_t *v)
{
    json_t *j = json_object_get(o, key);
    if (!json_is_integer(j))
        return false;
    json_int_t n = json_integer_value(j);
    if (n < 0 || n > TOKENS_MAX)
        return false;
    *v = n;
    return true;
}

/* us: the usage object; details: its prompt_tokens_details object, or NULL. */
static bool openai_rules(count_fn count, const void *us, const void *details,
                         struct ksm_ai_usage *u)
{
    bool any = count(us, "prompt_tokens", &u->prompt);
    any |= count(us, "completion_tokens", &u->completion);
    if (details)
        count(details, "cached_tokens", &u->cached);
    if (u->cached > u->prompt)
        u->cached = u->prompt;   /* a subset by definition; a provider claiming more is wrong */
    u->present |= any;
    return any;
}

static bool anthropic_rules(count_fn count, const void *us, struct ksm_ai_usage *u)
{
    /* Rebuild the uncached part first, so an update that carries only output_tokens keeps it. */
    int64_t input = u->prompt - u->cached - u->cache_write;
    if (input < 0)
        input = 0;
    bool any = count(us, "input_tokens", &input);
    any |= count(us, "output_tokens", &u->completion);
    any |= count(us, "cache_read_input_tokens", &u->cached);
    any |= count(us, "cache_creation_input_tokens", &u->cache_write);
    u->prompt = input + u->cached + u->cache_write;
    u->present |= any;
    return any;
}

bool ksm_ai_usage_from_openai(const json_t *obj, struct ksm_ai_usage *u)
{
    json_t *us = json_object_get(obj, "usage");
    if (!json_is_object(us))
        return false;
    json_t *details = json_object_get(us, "prompt_tokens_details");
    return openai_rules(json_count, us, json_is_object(details) ? details : NULL, u);
}

bool ksm_ai_usage_from_input_count(const json_t *obj, struct ksm_ai_usage *u)
{
    json_t *us = json_object_get(obj, "usage");
    bool any = json_count(us, "prompt_tokens", &u->prompt) ||
               json_count(us, "total_tokens", &u->prompt);
    u->present |= any;
    return any;
}

bool ksm_ai_usage_from_anthropic(const json_t *obj, struct ksm_ai_usage *u)
{
    json_t *us = json_object_get(obj, "usage");
    if (!us)
        us = json_object_get(json_object_get(obj, "message"), "usage");   /* message_start */
    if (!json_is_object(us))
        return false;
    return anthropic_rules(json_count, us, u);
}

/* ---- the same over byte spans ---------------------------------------------------------------- */

#define RAW_MEMBERS 32   /* usage objects have a handful; more goes the full way */

struct raw_obj {
    struct ksm_jscan_member m[RAW_MEMBERS];
    int n;
};

static bool raw_count(const void *o, const char *key, int64_t *v)
{
    const struct raw_obj *r = o;
    const struct ksm_jscan_member *m = ksm_jscan_get(r->m, r->n, key);
    return m && ksm_jscan_count(m->val, m->val_len, TOKENS_MAX, v);
}

/* The object member m holds, read into r: 0, or -1 when the scanner will not read it. */
static int raw_load(const struct ksm_jscan_member *m, struct raw_obj *r)
{
    r->n = ksm_jscan_object(m->val, m->val_len, r->m, RAW_MEMBERS, NULL);
    return r->n < 0 ? -1 : 0;
}

int ksm_ai_usage_from_openai_raw(const struct ksm_jscan_member *top, int n, struct ksm_ai_usage *u)
{
    const struct ksm_jscan_member *m = ksm_jscan_get(top, n, "usage");
    struct raw_obj us, details;
    if (!ksm_jscan_is_object(m))
        return 0;
    if (raw_load(m, &us))
        return -1;
    m = ksm_jscan_get(us.m, us.n, "prompt_tokens_details");
    if (ksm_jscan_is_object(m) && raw_load(m, &details))
        return -1;
    return openai_rules(raw_count, &us, ksm_jscan_is_object(m) ? &details : NULL, u);
}

int ksm_ai_usage_from_anthropic_raw(const struct ksm_jscan_member *top, int n, struct ksm_ai_usage *u)
{
    const struct ksm_jscan_member *m = ksm_jscan_get(top, n, "usage");
    struct raw_obj msg, us;
    if (!m) {   /* message_start: usage under "message" */
        m = ksm_jscan_get(top, n, "message");
        if (!ksm_jscan_is_object(m))
            return 0;
        if (raw_load(m, &msg))
            return -1;
        m = ksm_jscan_get(msg.m, msg.n, "usage");
    }
    if (!ksm_jscan_is_object(m))
        return 0;
    if (raw_load(m, &us))
        return -1;
    return anthropic_rules(raw_count, &us, u);
}

json_t *ksm_ai_usage_openai_json(const struct ksm_ai_usage *u)
{
    return json_pack("{sI sI sI s{sI}}", "prompt_tokens", (json_int_t)u->prompt,
                     "completion_tokens", (json_int_t)u->completion, "total_tokens",
                     (json_int_t)(u->prompt + u->completion), "prompt_tokens_details",
                     "cached_tokens", (json_int_t)u->cached);
}

json_t *ksm_ai_usage_anthropic_json(const struct ksm_ai_usage *u)
{
    int64_t input = u->prompt - u->cached - u->cache_write;
    return json_pack("{sI sI sI sI}", "input_tokens", (json_int_t)(input > 0 ? input : 0),
                     "output_tokens", (json_int_t)u->completion, "cache_read_input_tokens",
                     (json_int_t)u->cached, "cache_creation_input_tokens",
                     (json_int_t)u->cache_write);
}
