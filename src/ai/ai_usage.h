/* ai_usage.h — token usage of one model call, read from either provider's response objects and
 * stream events, in one neutral shape for metering. (Named ai_usage, not usage: src/meter/usage.c
 * exists and file names are unique in the tree.)
 *
 * The two APIs count prompt tokens differently, which is where gateways double-count (bifrost #5354,
 * tensorzero #5481): OpenAI's prompt_tokens includes the cached tokens it reports in
 * prompt_tokens_details.cached_tokens; Anthropic's input_tokens excludes the cache_read_input_tokens
 * and cache_creation_input_tokens it reports beside it. Here `prompt` is always the total, and cached
 * and cache_write are parts of it. Anthropic's message_delta usage is cumulative, so every update
 * replaces the fields it carries and never adds. */
#ifndef KSM_AI_USAGE_H
#define KSM_AI_USAGE_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ksm_ai_usage {
    int64_t prompt;        /* all input tokens, cache reads and writes included */
    int64_t completion;    /* output tokens (reasoning included) */
    int64_t cached;        /* input tokens read from the provider's prompt cache (part of prompt) */
    int64_t cache_write;   /* input tokens written to the prompt cache (Anthropic; part of prompt) */
    bool present;          /* some usage was seen */
};

/* From an OpenAI chat.completion or chat.completion.chunk (reads its "usage"; null is none).
 * Returns true if the object carried usage. */
bool ksm_ai_usage_from_openai(const json_t *obj, struct ksm_ai_usage *u);
/* From an answer that counts its input only (a rerank's): "prompt_tokens", or Jina's
 * "total_tokens" where that is all there is. Returns true if the object carried usage. */
bool ksm_ai_usage_from_input_count(const json_t *obj, struct ksm_ai_usage *u);
/* From an Anthropic message, a message_start event (usage under "message") or a message_delta
 * event (usage at the top). Fields absent from the update keep their values. */
bool ksm_ai_usage_from_anthropic(const json_t *obj, struct ksm_ai_usage *u);

/* The same two, from the top-level members of a response or event as byte spans (jscan.h; the
 * pass-through path): 1 if it carried usage, 0 if not, -1 if its usage object is beyond what the
 * scanner reads (then parse the body and use the functions above). */
struct ksm_jscan_member;
int ksm_ai_usage_from_openai_raw(const struct ksm_jscan_member *top, int n, struct ksm_ai_usage *u);
int ksm_ai_usage_from_anthropic_raw(const struct ksm_jscan_member *top, int n,
                                    struct ksm_ai_usage *u);

/* The "usage" objects each API returns: OpenAI {prompt_tokens, completion_tokens, total_tokens,
 * prompt_tokens_details{cached_tokens}}; Anthropic {input_tokens (uncached), output_tokens,
 * cache_read_input_tokens, cache_creation_input_tokens}. New references. */
json_t *ksm_ai_usage_openai_json(const struct ksm_ai_usage *u);
json_t *ksm_ai_usage_anthropic_json(const struct ksm_ai_usage *u);

#endif
