/* translate.h — the AI gateway's protocol layer: OpenAI Chat Completions and Anthropic Messages.
 *
 * A caller's body is decoded and validated into struct ksm_ai_request, which keeps the parsed JSON
 * and points into it: every text the caller sent is a "part" (a JSON string node) that the gateway can
 * read for PII scanning and the prompt HMAC, and rewrite in place for masking. The upstream body is
 * then built for the provider's protocol: on a same-protocol route it is the caller's body with the
 * model replaced (fields we do not model pass through, so new API fields keep working); across
 * protocols it is rebuilt from the decoded fields, and anything that cannot be carried faithfully is
 * refused with KSM_E_UNSUPPORTED_PARAMETER naming the field, never dropped silently.
 *
 * Responses come back through ksm_ai_response_translate (whole bodies) or a ksm_ai_stream (SSE
 * events, one at a time, no buffering of the stream), both of which also extract token usage and
 * can pass the generated text through a filter (to restore masked placeholders). Errors are rendered
 * in each API's own shape. See docs/ai-protocols.md for what is and is not translated. */
#ifndef KSM_AI_TRANSLATE_H
#define KSM_AI_TRANSLATE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ai/ai_usage.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jscan.h"
#include "core/json_zone.h"

enum ksm_ai_proto { KSM_AI_OPENAI, KSM_AI_ANTHROPIC };

/* The anthropic-version header value the gateway sends to Anthropic upstreams. */
#define KSM_AI_ANTHROPIC_VERSION "2023-06-01"
/* Size of the buffers that receive a human-readable error detail (always NUL-terminated). */
#define KSM_AI_ERR_MAX 256

const char *ksm_ai_proto_name(enum ksm_ai_proto p);   /* "openai", "anthropic" */

/* ---- requests ---------------------------------------------------------------------------------- */

enum ksm_ai_role {
    KSM_AI_ROLE_SYSTEM,      /* OpenAI system/developer messages, Anthropic top-level system */
    KSM_AI_ROLE_USER,
    KSM_AI_ROLE_ASSISTANT,
    KSM_AI_ROLE_TOOL,        /* tool results: OpenAI tool messages, Anthropic tool_result blocks */
};

/* Texts the guardrail reads but may not rewrite; a rule that would change one refuses the request. */
enum ksm_ai_seal {
    KSM_AI_SEAL_NONE,
    KSM_AI_SEAL_SIGNED,      /* an Anthropic thinking block's text (its signature covers it), or a
                                redacted one's data (encrypted by the provider) */
    KSM_AI_SEAL_NUMBER,      /* the digits of a long number in a tool_use input: no placeholder can
                                stand in a JSON number */
};

/* One text the caller sent. node is a JSON string inside req->body (borrowed), or for a number the
 * number's digits, held in req->numbers. */
struct ksm_ai_part {
    enum ksm_ai_role role;
    size_t msg;              /* index into req->msgs; SIZE_MAX for a top-level system part */
    json_t *node;
    bool call;               /* scanned like text, but not a message's text: a tool call's
                                arguments (OpenAI), a string in a tool_use input (Anthropic), or a
                                tool definition's text (msg SIZE_MAX) */
    enum ksm_ai_seal seal;   /* not NONE: read by the guardrail, never rewritten */
    bool json_text;          /* JSON text (a function call's arguments): a value masked inside its
                                strings keeps it JSON, one masked in place of a number would not */
};

struct ksm_ai_msg {
    enum ksm_ai_role role;
};

/* Top-level fields of a request the pass-through path reads; more: the tree path. */
#define KSM_AI_RAW_MEMBERS 64

struct ksm_ai_request {
    enum ksm_ai_proto proto;       /* the API the caller spoke */
    json_t *body;                  /* the caller's body, owned */
    const char *model;             /* inside body */
    struct ksm_ai_msg *msgs;       /* conversation messages (not the Anthropic system field) */
    size_t nmsgs;
    struct ksm_ai_part *parts;     /* every text, in document order */
    size_t nparts;
    /* Content the text visitor cannot see: images, audio, PDFs, URL sources, and non-integer
     * numbers of ten digits or more in a tool_use input. A policy that must scan everything fails
     * closed when this is non-zero. */
    size_t nunscanned;
    json_t *numbers;               /* the digits of a tool_use input's long integers (sealed parts) */
    int64_t max_tokens;            /* 0: not given (OpenAI max_completion_tokens or max_tokens) */
    double temperature, top_p;
    bool has_temperature, has_top_p;
    int64_t top_k;                 /* Anthropic only; 0: not given */
    json_t *stop;                  /* array of strings (owned), NULL: none */
    bool stream;
    bool include_usage;            /* OpenAI stream_options.include_usage as the caller sent it */
    json_t *user;                  /* OpenAI user or Anthropic metadata.user_id (a string inside
                                      body, read when the body is built: masking may replace it) */
    bool rewritten;                /* a part's text was replaced (masking): the raw body is stale */
    /* The first thing only a same-protocol route can carry (e.g. "tools", "messages[2].content[0]
     * (image_url)"); "" if the request is fully translatable. */
    char untranslatable[128];
    /* The body's top-level members as byte spans, kept while decoding so the pass-through path
     * (ksm_ai_upstream_body_raw) need not read the same bytes again. raw NULL: none kept. */
    const char *raw;
    size_t raw_len, raw_close;
    int nraw;   /* -1: more members than the pass-through path takes */
    struct ksm_jscan_member rawm[KSM_AI_RAW_MEMBERS];
    struct ksm_json_zone *zone;   /* holds the body's tree as built by the gateway's own reader */
};

/* Parses and validates a caller's body (rejecting duplicate keys, so the gateway and the provider
 * cannot read two different prompts from one body). KSM_E_INVALID_JSON for bad JSON,
 * KSM_E_INVALID_ARGUMENT for a bad field, with the field named in err. On error req is empty. */
enum ksm_err ksm_ai_request_decode(enum ksm_ai_proto proto, const char *body, size_t len,
                                   struct ksm_ai_request *req, char err[KSM_AI_ERR_MAX]);
/* The same for Anthropic's token count (POST /v1/messages/count_tokens): a message request
 * without max_tokens, which a count does not take. */
enum ksm_err ksm_ai_count_request_decode(const char *body, size_t len, struct ksm_ai_request *req,
                                         char err[KSM_AI_ERR_MAX]);
void ksm_ai_request_free(struct ksm_ai_request *req);

const char *ksm_ai_part_text(const struct ksm_ai_part *p, size_t *len);
/* Replaces the text of a part of req (masking), and marks req rewritten. text must be valid UTF-8
 * without NUL; -1 otherwise. */
int ksm_ai_part_set_text(struct ksm_ai_request *req, struct ksm_ai_part *p, const char *text,
                         size_t len);
/* Calls fn on every part whose role bit (1u << role) is in role_mask; a non-OK return stops. */
typedef enum ksm_err (*ksm_ai_part_fn)(void *ud, struct ksm_ai_part *p);
enum ksm_err ksm_ai_request_visit(struct ksm_ai_request *req, unsigned role_mask, ksm_ai_part_fn fn,
                                  void *ud);
#define KSM_AI_ROLES_ALL 0xFu
/* The length of ksm_ai_request_text's result, without building it. */
size_t ksm_ai_request_text_len(const struct ksm_ai_request *req, unsigned role_mask);
/* The texts of the parts in role_mask, each followed by '\n' (for PII scanning and the HMAC). */
void ksm_ai_request_text(const struct ksm_ai_request *req, unsigned role_mask, struct ksm_buf *out);

struct ksm_ai_upstream_opts {
    enum ksm_ai_proto proto;       /* the provider's API */
    const char *model;             /* the model name at the provider; NULL keeps the caller's */
    int64_t default_max_tokens;    /* for Anthropic when the caller gave none; 0 = 4096 */
    bool legacy_max_tokens;        /* OpenAI-compatible servers that only know "max_tokens" */
};
/* The upstream request body (new reference in *out). Streams to OpenAI always ask for
 * stream_options.include_usage, so metering never has to estimate. Cross-protocol routes refuse
 * untranslatable requests with KSM_E_UNSUPPORTED_PARAMETER. */
enum ksm_err ksm_ai_upstream_body(const struct ksm_ai_request *req,
                                  const struct ksm_ai_upstream_opts *o, json_t **out,
                                  char err[KSM_AI_ERR_MAX]);

/* The same-protocol upstream body as bytes, without the tree: body (the bytes req was decoded from)
 * with only the model and, on OpenAI streams, stream_options.include_usage rewritten — what
 * ksm_ai_upstream_body builds, up to whitespace and key order. Appends to out and returns 0, or
 * returns -1 (out untouched) when this path does not apply: across protocols, after masking
 * (req->rewritten), or when the bytes are beyond jscan.h; then use ksm_ai_upstream_body. */
int ksm_ai_upstream_body_raw(const struct ksm_ai_request *req, const char *body, size_t len,
                             const struct ksm_ai_upstream_opts *o, struct ksm_buf *out);

/* ---- responses --------------------------------------------------------------------------------- */

/* Rewrites generated text before the caller sees it (e.g. placeholders back to the masked values).
 * Called with successive pieces of one text; appends what may be shown now to emit and may hold the
 * rest back; with final=true (end of a text) it must emit everything it still holds. */
typedef void (*ksm_ai_text_filter)(void *ud, const char *in, size_t n, bool final,
                                   struct ksm_buf *emit);

/* Tool calls between the two APIs, in requests (filter NULL) and answers (filter restores what the
 * model copied of a placeholder). An OpenAI tool call ({"id","function":{"name","arguments"}}) as
 * an Anthropic tool_use block, the arguments restored then parsed: NULL when they are not a JSON
 * object. An Anthropic tool_use block as an OpenAI tool call, the input printed compact and then
 * restored (the masked kinds hold nothing JSON escapes, so the text stays JSON). */
json_t *ksm_ai_tool_use_block(const json_t *call, ksm_ai_text_filter filter, void *ud);
json_t *ksm_ai_tool_call(const json_t *block, ksm_ai_text_filter filter, void *ud);
/* Every string inside v (not object keys) rewritten through filter, each whole (final): a tool_use
 * input or a citation the model may have copied a placeholder into. */
void ksm_ai_filter_strings(json_t *v, ksm_ai_text_filter filter, void *ud);

/* key is one of keys (a NULL-terminated list). */
bool ksm_ai_listed(const char *const *keys, const char *key);
/* The first member of o not named in keys whose value is not null, or NULL: what a reader that
 * refuses fields it does not know names in its error. */
const char *ksm_ai_stranger(const json_t *o, const char *const *keys);

/* finish_reason <-> stop_reason, through one table. Unknown values map to "stop" / "end_turn". */
const char *ksm_ai_stop_to_finish(const char *stop_reason);
const char *ksm_ai_finish_to_stop(const char *finish_reason);

/* The filters of a whole answer: text, the model's prose; args, the arguments of tool calls and
 * the input of tool_use blocks (JSON text, the input as its compact JSON); quotes, the strings of
 * citations (text copied from the request, to leave as it is but for restoring placeholders).
 * Any may be NULL. */
struct ksm_ai_filters {
    ksm_ai_text_filter text, args, quotes;
    void *ud;
    bool drop_reasoning;   /* an OpenAI message's reasoning_content / reasoning: left out */
};

/* A non-streamed upstream response (from upstream) to the caller's API (to), with usage. model, if
 * not NULL, replaces the model name the caller sees. f may be NULL. New reference in *out. */
enum ksm_err ksm_ai_response_translate(enum ksm_ai_proto from, enum ksm_ai_proto to,
                                       const json_t *in, const char *model,
                                       const struct ksm_ai_filters *f, json_t **out,
                                       struct ksm_ai_usage *usage, char err[KSM_AI_ERR_MAX]);

/* The same, for a same-protocol answer when no text filter is needed (nothing was masked), on the
 * bytes instead of a tree: body with its model replaced by model (added if absent; NULL keeps it)
 * and its usage read by the same rules — the answer the tree path gives up to whitespace and key
 * order. Appends to out and returns 0; returns -1 (out and usage untouched) when the bytes are not
 * a JSON object jscan.h reads: then parse them and call ksm_ai_response_translate, which also
 * words the error for a malformed answer. */
int ksm_ai_response_passthrough(enum ksm_ai_proto p, const char *body, size_t len,
                                const char *model, struct ksm_buf *out, struct ksm_ai_usage *usage);

/* ---- streams ----------------------------------------------------------------------------------- */

/* OpenAI allows n up to 128: choices 0 to 127. */
#define KSM_AI_MAX_CHOICES 128
typedef void (*ksm_ai_choice_filter)(void *ud, unsigned choice, const char *in, size_t n, bool final,
                                     struct ksm_buf *emit);

struct ksm_ai_stream_opts {
    enum ksm_ai_proto upstream, caller;
    const char *model;             /* model name shown to the caller; NULL: the upstream's */
    bool include_usage;            /* an OpenAI caller asked for the usage chunk */
    bool completion;               /* OpenAI text completions: a choice's text is its "text" (no
                                      delta), chunks are "text_completion" objects */
    ksm_ai_text_filter filter;     /* may be NULL */
    /* Same-protocol streams: the arguments of tool calls (OpenAI) and the input of tool_use blocks
     * (Anthropic, as JSON text) go through this one, final at the end of each call; may be NULL.
     * It has its own hold-back state: a call's pieces interleave with no text. */
    ksm_ai_text_filter args_filter;
    ksm_ai_text_filter quote_filter;   /* each string of a citation, whole; may be NULL */
    /* Same-protocol OpenAI streams with n > 1: the text and the tool-call arguments of choice k
     * (0 < k < KSM_AI_MAX_CHOICES), each through a hold-back state of its own (choice 0's go through
     * filter and args_filter); may be NULL. A choice beyond the bound passes as it came. */
    ksm_ai_choice_filter choice_filter, choice_args_filter;
    void *filter_ud;
    /* OpenAI -> OpenAI: the reasoning text some servers add to deltas (reasoning_content, reasoning)
     * left out — what the text filter does not see (output redaction) must not pass beside it. */
    bool drop_reasoning;
};
struct ksm_ai_stream;

struct ksm_ai_stream *ksm_ai_stream_new(const struct ksm_ai_stream_opts *o);
void ksm_ai_stream_free(struct ksm_ai_stream *s);
/* One upstream SSE event (name may be "" and data is its data). Appends zero or more SSE events in
 * the caller's protocol to out. KSM_E_UPSTREAM_ERROR if the event is not what the protocol allows;
 * the caller then ends the stream with ksm_ai_stream_finish(s, that error, ...). */
enum ksm_err ksm_ai_stream_event(struct ksm_ai_stream *s, const char *name, const char *data,
                                 size_t len, struct ksm_buf *out);
/* Ends the caller's stream. If the upstream completed normally, appends nothing more. Otherwise
 * (cut short, or e != KSM_E_OK) appends an error event in the caller's protocol, then the closing
 * events (OpenAI: final chunk, usage chunk if asked, [DONE]; Anthropic: content_block_stop,
 * message_delta with usage, message_stop), so the caller always sees a well-formed end. */
void ksm_ai_stream_finish(struct ksm_ai_stream *s, enum ksm_err e, const char *msg,
                          struct ksm_buf *out);
const struct ksm_ai_usage *ksm_ai_stream_usage(const struct ksm_ai_stream *s);
bool ksm_ai_stream_complete(const struct ksm_ai_stream *s);   /* the upstream's terminal event came */

/* ---- errors ------------------------------------------------------------------------------------ */

/* Anthropic's error type for e (invalid_request_error, authentication_error, permission_error,
 * not_found_error, request_too_large, rate_limit_error, api_error, overloaded_error). */
const char *ksm_ai_anthropic_error_type(enum ksm_err e);
/* OpenAI: {"error":{"message","type","param","code"}}; Anthropic: {"type":"error","error":{"type",
 * "message"}}. msg NULL uses the table's default; param may be NULL. New reference. */
json_t *ksm_ai_error_json(enum ksm_ai_proto proto, enum ksm_err e, const char *msg,
                          const char *param);
void ksm_ai_error_render(enum ksm_ai_proto proto, enum ksm_err e, const char *msg,
                         const char *param, struct ksm_buf *out);
/* The same error as an SSE event in that protocol's stream (Anthropic: "event: error"). */
void ksm_ai_error_sse(enum ksm_ai_proto proto, enum ksm_err e, const char *msg, struct ksm_buf *out);
/* Maps an upstream's HTTP error (status + body in its protocol) to a kasumi error, with the
 * provider's message in msg. Upstream 401/403/404 are the gateway's configuration faults, not the
 * caller's, so they become KSM_E_UPSTREAM_ERROR; 400 stays the caller's (context too long, ...). */
enum ksm_err ksm_ai_upstream_error(enum ksm_ai_proto proto, int status, const char *body,
                                   size_t len, char msg[KSM_AI_ERR_MAX]);

/* Appends one SSE event whose data is j in compact JSON (no newlines, so one data line). */
void ksm_ai_sse_json(struct ksm_buf *out, const char *event, const json_t *j);

#endif
