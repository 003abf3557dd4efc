/* gateway.h — the AI listener (SPEC.md G, O4): OpenAI- and Anthropic-compatible endpoints in front of
 * model servers, with every request authenticated, authorised for its project, checked against the
 * classification policy (PII masked or blocked), budgeted and rate-limited before it is sent,
 * metered exactly and audited without its content. */
#ifndef KSM_GATEWAY_H
#define KSM_GATEWAY_H
#include "core/conf.h"
#include "http/http.h"

/* Once at start: the environment's prompt-HMAC key (DATA/keys/ai-prompt-hmac.key, created 0600),
 * metrics. -1 with err filled. */
int ksm_ai_start(const struct ksm_conf *conf, const char *data_dir, char *err, size_t errlen);
/* Per worker thread: its upstream client on the worker's loop. */
int ksm_ai_worker_init(struct ksm_worker *w);
void ksm_ai_worker_fini(struct ksm_worker *w);
/* The AI listener's request entry point. */
void ksm_ai_dispatch(struct ksm_req *r);

#endif
