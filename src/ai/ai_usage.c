/* ai_usage.c — token usage extraction and rendering for both APIs (see ai_usage.h). Numbers from an
 * upstream are untrusted: anything that is not a non-negative integer below a sane bound is ignored,
 * so a hostile or broken provider cannot make the meter overflow or go negative. */
#include "ai/ai_usage.h"

#define TOKENS_MAX ((int64_t)1 << 50)   /* far above any context window; keeps sums in range */

/* Reads key as a token count into *v; false (v untouched) if absent or not a sane integer. */
static bool get_count(const json_t *o, const char *key, int64_t *v)
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

bool ksm_ai_usage_from_openai(const json_t *obj, struct ksm_ai_usage *u)
{
    json_t *us = json_object_get(obj, "usage");
    if (!json_is_object(us))
        return false;
    bool any = get_count(us, "prompt_tokens", &u->prompt);
    any |= get_count(us, "completion_tokens", &u->completion);
    get_count(json_object_get(us, "prompt_tokens_details"), "cached_tokens", &u->cached);
    if (u->cached > u->prompt)
        u->cached = u->prompt;   /* a subset by definition; a provider claiming more is wrong */
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
    /* Rebuild the uncached part first, so an update that carries only output_tokens keeps it. */
    int64_t input = u->prompt - u->cached - u->cache_write;
    if (input < 0)
        input = 0;
    bool any = get_count(us, "input_tokens", &input);
    any |= get_count(us, "output_tokens", &u->completion);
    any |= get_count(us, "cache_read_input_tokens", &u->cached);
    any |= get_count(us, "cache_creation_input_tokens", &u->cache_write);
    u->prompt = input + u->cached + u->cache_write;
    u->present |= any;
    return any;
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
