/* ai_complete.c — POST /v1/completions, OpenAI's text completions: a prompt continued as it is,
 * with no chat template, and with "suffix" a fill-in-the-middle — what code editors' autocompletion
 * asks of a local code model (vLLM, llama.cpp and Ollama serve it). Like embeddings, the body is
 * kept as the caller sent it (OpenAI's shape, which every OpenAI-compatible server takes) after
 * checking what the guardrail must read; every string in it but the model is scanned and masked.
 * The answer's texts (choices[].text) are restored; a stream's are restored chunk by chunk by the
 * stream translator in its completion mode. Only a model served over OpenAI's API can answer. */
#include <string.h>

#include "ai/ai_int.h"
#include "core/util.h"

#define PROMPTS_MAX 2048            /* prompts in one request, as embeddings' inputs */
#define DEFAULT_MAX_TOKENS 16       /* OpenAI's default for completions */

/* An optional integer member in [lo, hi]: its value, dflt when absent or null, -1 when invalid. */
static json_int_t int_in(const json_t *body, const char *key, json_int_t lo, json_int_t hi, json_int_t dflt)
{
    const json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return dflt;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    return json_integer_value(v);
}

enum ksm_err ksm_ai_complete_decode(struct ai_call *c, char *why, size_t n)
{
    enum ksm_err e = ksm_ai_kept_load(c, why, n);
    if (e != KSM_E_OK)
        return e;
    json_t *b = c->kept_body, *suffix = json_object_get(b, "suffix"), *stream = json_object_get(b, "stream");
    if (!ksm_ai_strings_ok(json_object_get(b, "prompt"), PROMPTS_MAX)) {
        snprintf(why, n, "prompt must be a string or a non-empty array of at most %d strings "
                         "(token ids cannot be read by the guardrail: send text)", PROMPTS_MAX);
        return KSM_E_INVALID_ARGUMENT;
    }
    if (suffix && !json_is_null(suffix) && !json_is_string(suffix)) {
        snprintf(why, n, "suffix must be a string");
        return KSM_E_INVALID_ARGUMENT;
    }
    if (stream && !json_is_null(stream) && !json_is_boolean(stream)) {
        snprintf(why, n, "stream must be a boolean");
        return KSM_E_INVALID_ARGUMENT;
    }
    json_int_t max = int_in(b, "max_tokens", 0, INT32_MAX, DEFAULT_MAX_TOKENS);
    json_int_t choices = int_in(b, "n", 1, KSM_AI_MAX_CHOICES, 1), best = int_in(b, "best_of", 1, 20, 1);
    if (max < 0 || choices < 0 || best < 0) {
        snprintf(why, n, max < 0 ? "max_tokens must be a non-negative integer"
                         : choices < 0 ? "n must be an integer from 1 to %d" : "best_of must be an integer from 1 to 20",
                 KSM_AI_MAX_CHOICES);
        return KSM_E_INVALID_ARGUMENT;
    }
    c->req.stream = json_is_true(stream);
    c->req.include_usage = json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage"));
    /* what the budget reserves: every completion generated, best_of of them when more than n */
    c->req.max_tokens = max * (best > choices ? best : choices);
    return KSM_E_OK;
}

/* The prompt the guardrail identifies (its HMAC) and the budget estimates from: the prompt and the
 * suffix, as JSON text (free it). */
char *ksm_ai_complete_prompt(const struct ai_call *c)
{
    json_t *both = json_pack("[OO]", json_object_get(c->kept_body, "prompt"),
                             json_object_get(c->kept_body, "suffix") ? json_object_get(c->kept_body, "suffix")
                                                                      : json_null());
    char *s = both ? json_dumps(both, JSON_COMPACT) : NULL;
    json_decref(both);
    return s;
}

/* A whole answer: each choice's text through filter (final: the whole text), the model shown as
 * alias, the usage read. KSM_E_UPSTREAM_ERROR (err set) when it is not a completion with usage. */
enum ksm_err ksm_ai_complete_answer(json_t *in, const char *alias, ksm_ai_text_filter filter, void *ud,
                                    struct ksm_ai_usage *u, char *err, size_t n)
{
    json_t *choices = json_object_get(in, "choices"), *ch;
    size_t i;
    if (!json_is_object(in) || !json_is_array(choices) || !ksm_ai_usage_from_openai(in, u)) {
        snprintf(err, n, "the model returned a malformed completion");
        return KSM_E_UPSTREAM_ERROR;
    }
    json_array_foreach(choices, i, ch)
        ksm_ai_filter_strings(json_object_get(ch, "text"), filter, ud);
    json_object_set_new(in, "model", json_string(alias));
    return KSM_E_OK;
}
