/* ai_int.h — what the gateway's files share: the per-request context and the call machinery. */
#ifndef KSM_AI_INT_H
#define KSM_AI_INT_H
#include <jansson.h>
#include <stdint.h>

#include "ai/ai_store.h"
#include "ai/responses.h"
#include "ai/sse.h"
#include "ai/translate.h"
#include "ai/upstream.h"
#include "http/http.h"
#include "iam/iam.h"
#include "policy/pii.h"

/* AI_COUNT: Anthropic's token count, a message request that is counted, not answered or billed.
 * AI_COMPLETE: OpenAI's text completions (a prompt continued, or filled in before a suffix).
 * AI_RERANK: documents scored for their relevance to a query (retrieval, RAG). */
enum ai_kind { AI_CHAT, AI_EMBED, AI_COUNT, AI_COMPLETE, AI_RERANK };

/* Embeddings, completions and reranking keep the caller's body as sent (kept_body), not a decoded
 * request. */
#define AI_KEPT(c) ((c)->kind == AI_EMBED || (c)->kind == AI_COMPLETE || (c)->kind == AI_RERANK)

/* A text's pieces (≈ tokens) that output redaction still holds, oldest first: a piece counts as
 * delivered when its last byte has gone out. */
struct ai_pieces {
    uint64_t in;                        /* bytes of text taken in */
    uint64_t *ends;                     /* [head, len): where each held piece ends */
    unsigned head, len, cap;
};

/* One request through the gateway. malloc'd (it outlives handler return while the upstream call is
 * in flight) and freed by ai_finish after the response is complete. */
struct ai_call {
    struct ksm_req *r;
    enum ai_kind kind;
    enum ksm_ai_proto proto;            /* the API the caller speaks */
    const char *action;                 /* audit action */
    struct ksm_principal *principal;
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    bool on_behalf;                     /* overseas-ai: govcloud's relay named the tenant and project */
    const char *relay_tenant, *relay_project, *relay_class;   /* govcloud: headers for governed targets */
    struct ksm_ai_request req;          /* AI_CHAT, AI_COUNT: the decoded request (AI_COMPLETE: its
                                           stream, include_usage and max_tokens only) */
    json_t *kept_body;                  /* AI_KEPT: the caller's body */
    bool kept_rewritten;                /* AI_KEPT: masking changed a string: the raw body is stale */
    const char *alias;
    struct ksm_ai_policy pol;           /* the project's, read at dispatch (gateway.c network()) */
    const char *fail_detail;            /* the audit record's detail for a failure, else its code */
    struct ksm_ai_price price;
    int classification;
    int marked;                         /* the highest 機密性 marking in the texts (markings on) */
    int order[KSM_AI_MAX_TARGETS], norder, next;   /* eligible targets, in the order to try */
    int16_t health[KSM_AI_MAX_TARGETS];   /* per target: its slot in ai_health.c's table, or -1 */
    bool holding;                       /* the exchange in flight counts against its target */
    int16_t probe;                      /* the slot of the target this call probes, or -1 */
    bool any_overseas;
    bool home_only;                     /* unreadable content, allowed to Japan's servers only */
    size_t unscanned;                   /* parts sent unread (unscanned_content allow_in_japan) */
    struct ksm_pii_masker *masker;
    struct ksm_pii_stream unmask;
    struct ksm_pii_stream unmask_quote;  /* a citation's strings */
    struct ksm_pii_args args;            /* tool-call arguments, which stream between texts */
    struct ai_choice_unmask {            /* an OpenAI stream's choices 1, 2, ... (n > 1): */
        struct ksm_pii_stream text;         /* each one's text */
        struct ksm_pii_redact redact;       /* its text's output redaction */
        struct ai_pieces pieces;            /* and the pieces that holds */
        struct ksm_pii_args args;           /* and its tool calls' arguments */
    } *unmask_more;
    unsigned nmore;
    unsigned masked[KSM_PII__COUNT];
    /* The project's pii_output rules on what the model writes, its text and its tool calls'
     * arguments (as JSON): redacted before placeholders are restored. */
    bool redacting;
    enum ksm_pii_action out_rules[KSM_PII__COUNT];
    struct ksm_pii_redact redact;       /* the text's (choice 0's) */
    struct ai_pieces pieces;            /* and the pieces it holds */
    struct ksm_buf redacted_text;       /* a piece after redaction, before restoring */
    unsigned redacted[KSM_PII__COUNT];
    char decision[16];                  /* "pass" | "mask" | "block" | "refuse" */
    const char *refusal;                /* why "refuse"/"block": a static reason for the audit log */
    const char *refusal_msg;            /* and what the caller is told, for a personal-data refusal */
    char prompt_hmac[65];
    struct ksm_ai_reservation res;
    int64_t est_prompt, est_completion;
    /* the current upstream attempt */
    int attempts;
    uint8_t sent;                       /* bit i: the request was sent to route.targets[i] */
    const struct ksm_ai_target *target;
    struct ksm_up_call *up;
    long up_status, retry_after;
    char up_ctype[128];
    struct ksm_buf up_body;             /* a whole (non-streamed or error) body, bounded */
    bool streaming;                     /* the caller's stream has begun */
    struct ksm_sse_parser sse;
    struct ksm_ai_stream *tx;
    struct ksm_buf out;                 /* translated events waiting to be written */
    struct ksm_ai_responses *responses;  /* POST /v1/responses: the chat answer is re-framed */
    struct ksm_buf framed;              /* those events as Responses events */
    struct ksm_ai_usage usage;
    int64_t delivered;                  /* text pieces written to the caller (≈ tokens) */
    bool cancelled;                     /* the caller went away */
    bool retried_reuse;                 /* a reset on a reused connection was retried once */
    int tries_here;                     /* attempts on the current target */
    uv_timer_t *backoff;                /* malloc'd: it is closed asynchronously */
    char up_msg[KSM_AI_ERR_MAX];        /* the last upstream failure, for the caller */
    uint64_t t_start, t_up, t_first;
    uint64_t wait_until;                /* metering behind: waiting for it until then (monotonic ns) */
    enum ksm_err final_err;
    /* Kept when the call is reused (ksm_ai_call_new): the guard's masked copies. A fresh ~1 KiB
     * malloc per request made glibc consolidate its fast bins every time (perf: ~1 % of kasumid). */
    struct ksm_buf scratch;
    /* Last: 8.8 KiB, of which a call clears and fills only the head and ntargets targets. */
    struct ksm_ai_route route;
};

/* ai_guard.c: classification, eligible targets, PII masking of the request's texts. */
enum ksm_err ksm_ai_guard(struct ai_call *c, const struct ksm_conf *conf, enum ksm_env_kind env);
/* The highest 機密性 marking in text (機密性３, 機密性2情報, 機密性：１): 1..3, or 0 for none. */
int ksm_ai_marking(const char *text, size_t len);
/* The class of an unlabelled request: the project's default in govcloud; 2 otherwise (in
 * overseas-ai a request is 機密性1 only when its caller declares it). */
int ksm_ai_default_class(const struct ksm_ai_policy *pol, enum ksm_env_kind env);
/* Whether a request of class cls may go to a target in Japan (abroad false) or outside it under
 * pol: NULL, or the reason (class3_forbidden_by_tenant, class3_never_leaves_japan,
 * class2_overseas_not_enabled). */
const char *ksm_ai_class_refusal(const struct ksm_ai_policy *pol, int cls, bool abroad);
/* The audit reason of a content_blocked refusal, by what made the value impossible to mask (seal)
 * or the kind that a rule blocks; *message: what the caller is told. */
const char *ksm_ai_block_reason(enum ksm_ai_seal seal, enum ksm_pii_kind kind, const char **message);
/* The PII rules and terms the guardrail applies to a request of that class bound (or not) abroad;
 * terms[] holds what p points at. */
void ksm_ai_pii_policy(const struct ksm_ai_policy *pol, int classification, bool any_overseas,
                       struct ksm_pii_policy *p, struct ksm_pii_term terms[KSM_AI_MAX_TERMS]);
/* The rules for the model's own output (pii_output): each kind MASK (redacted) or ALLOW. */
void ksm_ai_output_rules(const struct ksm_ai_policy *pol, enum ksm_pii_action act[KSM_PII__COUNT]);
/* ai_governed.c: govcloud's side of the governed path — a target outside Japan is the overseas AI
 * environment, reached as govcloud's relay, naming the tenant and project; it is not charged here. */
bool ksm_ai_governed(const struct ai_call *c, const struct ksm_ai_target *t);
bool ksm_ai_all_governed(const struct ai_call *c);   /* every planned target is */
enum ksm_err ksm_ai_governed_prepare(struct ai_call *c);   /* the contract's names, as headers */
int ksm_ai_governed_headers(const struct ai_call *c, const struct ksm_ai_target *t, const char **h);
/* ai_secret.c */
int ksm_ai_hmac_init(const char *path, char *err, size_t errlen);
void ksm_ai_prompt_hmac(const char *text, size_t len, char out[65]);
/* The same HMAC as over ksm_ai_request_text(req, KSM_AI_ROLES_ALL), without joining the text. */
void ksm_ai_prompt_hmac_parts(struct ksm_ai_request *req, char out[65]);
/* Reads an upstream credential file (cached, re-read when it changes); NULL when unreadable. */
const char *ksm_ai_credential(const char *path, char *buf, size_t n);
/* ai_guard.c: NULL when some target of the call's route speaks the API its kind of request needs;
 * else why not, in buf. */
const char *ksm_ai_route_lacks_api(const struct ai_call *c, char *buf, size_t n);
/* gateway.c: the values found, by kind ("<lead>phone<eq>2<sep>email<eq>1"; nothing and false when
 * none), as the decision record and the caller's X-Kasumi-Guardrail header say them. */
struct ksm_fmt;
bool ksm_ai_fmt_masked(struct ksm_fmt *f, const unsigned masked[KSM_PII__COUNT], const char *lead,
                       const char *eq, const char *sep);
/* ai_call.c */
void ksm_ai_call_start(struct ai_call *c);
/* The caller's own API key, whose quotas, budget and model list hold: "" for a session (no key)
 * and for govcloud's relay acting for a tenant (overseas-ai), which is not a tenant's key. */
const char *ksm_ai_caller_key(const struct ai_call *c);
/* The caller's key's list of the project's models (ksm_ai_key_models_get), "" when it has none;
 * false, the failure answered, when it cannot be read. */
bool ksm_ai_caller_models(struct ai_call *c, char allowed[KSM_AI_KEY_MODELS_MAX]);
void ksm_ai_fail(struct ai_call *c, enum ksm_err e, const char *msg, int retry_after);
/* The caller went away before its (non-streamed) answer: audited as 499 client_gone, not billed. */
void ksm_ai_gone(struct ai_call *c);
/* A call that reached an upstream and ends without an answer: counted in the AI metrics. */
void ksm_ai_metrics_unanswered(struct ai_call *c, bool error);
struct ai_call *ksm_ai_call_new(void);   /* zeroed */
void ksm_ai_call_free(struct ai_call *c);
/* gateway.c: the audit records of a call (metadata only) */
void ksm_ai_audit_decision(struct ai_call *c);
void ksm_ai_audit_final(struct ai_call *c, const char *detail);
/* ai_embed.c */
/* The caller's body as kept_body (an object with a model; c->alias), or the error for the caller. */
enum ksm_err ksm_ai_kept_load(struct ai_call *c, char *why, size_t n);
/* A string, or a non-empty array of at most max strings: what an input or a prompt may be. */
bool ksm_ai_strings_ok(const json_t *v, size_t max);
/* A kept body's prompt as JSON text, what its HMAC and the budget's estimate are of: embeddings'
 * input, completions' [prompt, suffix], reranking's [query, documents] (free it; c of a kept kind). */
char *ksm_ai_kept_prompt(const struct ai_call *c);
enum ksm_err ksm_ai_embed_decode(struct ai_call *c, char *why, size_t n);
/* ai_rerank.c */
enum ksm_err ksm_ai_rerank_decode(struct ai_call *c, char *why, size_t n);
char *ksm_ai_rerank_prompt(const struct ai_call *c);
/* A rerank answer checked (results of an index and a score each) and its usage read; the documents
 * it quotes back (the caller's, masked for the model) through restore when not NULL. */
enum ksm_err ksm_ai_rerank_answer(json_t *in, size_t ndocs, ksm_ai_text_filter restore, void *ud,
                                  struct ksm_ai_usage *u, char *err, size_t n);
/* ai_azure.c */
/* An Azure OpenAI caller's path as the gateway's own (r->path), the deployment in it the body's
 * model: KSM_E_OK, also for a path that is not Azure's (left as it is); NOT_FOUND and *why for an
 * Azure path that names nothing served. */
enum ksm_err ksm_ai_azure_front(struct ksm_req *r, const char **why);
/* ai_complete.c */
enum ksm_err ksm_ai_complete_decode(struct ai_call *c, char *why, size_t n);
char *ksm_ai_complete_prompt(const struct ai_call *c);
enum ksm_err ksm_ai_complete_answer(json_t *in, const char *alias, ksm_ai_text_filter filter, void *ud,
                                    struct ksm_ai_usage *u, char *err, size_t n);
/* An embeddings answer, passed back byte for byte (re-printing its floats would change their
 * digits), with its usage read: 0, or -1 (nothing changed) when the tree path must judge it — not an
 * object with a data array and usage, or beyond jscan.h. */
int ksm_ai_embeddings_passthrough(const char *body, size_t len, struct ksm_buf *out,
                                  struct ksm_ai_usage *u);
/* ai_metrics.c */
void ksm_ai_metrics_record(const char *model, const char *upstream, bool error, int64_t prompt,
                           int64_t completion, uint64_t upstream_ns, uint64_t added_ns);
/* A guardrail decision ("pass", "mask", "block", "refuse"; the refusal's reason or NULL) and the
 * values it masked, by kind: counted for kasumi_ai_decisions_total / kasumi_ai_masked_values_total. */
void ksm_ai_metrics_decision(const char *decision, const char *reason,
                             const unsigned masked[KSM_PII__COUNT]);
/* Values redacted from a model's answer by the project's pii_output rules, by kind. */
void ksm_ai_metrics_redacted(const unsigned redacted[KSM_PII__COUNT]);
/* A request that waited for metering to catch up (ai_call.c): admitted after all, or refused. */
void ksm_ai_metrics_metering_wait(bool refused);
void ksm_ai_metrics_register(void);

#endif
