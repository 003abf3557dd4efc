/* responses.h — OpenAI's Responses API (POST /v1/responses) in front of the chat path.
 *
 * The gateway governs one conversation shape, Chat Completions; a Responses request is rewritten
 * into one before anything reads it (so the guardrail, the budget and the meter see exactly what
 * goes to the model), and the chat answer the caller would have got is rewritten into a Response,
 * whole or as the Responses stream's semantic events. Nothing is stored: a request that refers to
 * stored state (previous_response_id, conversation, background) is refused, and each Response says
 * "store": false. Fields this adapter does not know are refused, never dropped unread. */
#ifndef KSM_AI_RESPONSES_H
#define KSM_AI_RESPONSES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

#define KSM_AI_RESPONSES_ERR_MAX 256
/* A streamed Response's text (every item's) is kept for its closing event, which carries it whole:
 * it is bounded like a whole answer. */
#define KSM_AI_RESPONSES_MAX (16u << 20)

struct ksm_ai_responses;

/* The Responses body (len bytes) as a Chat Completions body in chat; *out the adapter's state for
 * the answer (the request's echoed fields, the stream's progress), NULL on error. id names the
 * Response and its items (the gateway's request id). On error: INVALID_ARGUMENT or
 * UNSUPPORTED_PARAMETER, with a message for the caller in err. */
enum ksm_err ksm_ai_responses_request(const char *body, size_t len, const char *id,
                                      struct ksm_buf *chat, struct ksm_ai_responses **out,
                                      char err[KSM_AI_RESPONSES_ERR_MAX]);

bool ksm_ai_responses_stream(const struct ksm_ai_responses *st);

/* A whole chat.completion (the caller-facing answer: alias as model, masked values restored) as a
 * Response, replacing the bytes in body. false if body is not a chat.completion (left as it is). */
bool ksm_ai_responses_answer(struct ksm_ai_responses *st, struct ksm_buf *body);

/* Chat Completions stream events (whole SSE events, as the chat path writes them for its caller)
 * as Responses stream events, appended to out. The chat stream's end ([DONE]) or an error chunk
 * ends the Response (response.completed, .incomplete or .failed); nothing follows it. */
void ksm_ai_responses_events(struct ksm_ai_responses *st, const char *sse, size_t len,
                             struct ksm_buf *out);

/* The stream outgrew KSM_AI_RESPONSES_MAX: the caller got response.failed, and the model's stream
 * should be cancelled (nothing more of it reaches the caller). */
bool ksm_ai_responses_overflowed(const struct ksm_ai_responses *st);
/* How many pieces of text (of the chat chunks fed) were not sent because it overflowed: the
 * caller never got them, so they are not billed as delivered. */
size_t ksm_ai_responses_refused(const struct ksm_ai_responses *st);

void ksm_ai_responses_free(struct ksm_ai_responses *st);

#endif
