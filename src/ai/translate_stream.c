/* translate_stream.c — streamed responses, one upstream SSE event at a time. A small state machine
 * per stream remembers what the caller has already been told (opening event, open text block, final
 * chunk), the message id and model, the stop reason and the usage so far, so that:
 *   - cross-protocol streams are re-framed into the caller's documented event sequence;
 *   - same-protocol streams pass through byte for byte unless text must be rewritten;
 *   - usage is read from every event (Anthropic's cumulative message_delta replaces, never adds);
 *   - a stream cut short still ends with an error event and well-formed closing events.
 * Choice 0 of an OpenAI stream goes through the text filter, another choice's text through the
 * choice filter, each with its own hold-back state (cross routes refuse n > 1). */
#include "ai/translate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/sse.h"
#include "core/util.h"

struct args_at {
    int call;                  /* the tool call whose arguments a filter holds a tail of; -1: none */
    unsigned text;             /* OpenAI: where that call's text is (a row of call_text[]) */
};

struct ksm_ai_stream {
    struct ksm_ai_stream_opts o;
    bool refusing[KSM_AI_MAX_CHOICES];   /* OpenAI -> OpenAI: choice k's text comes as "refusal" */
    char *id, *model;          /* from the upstream's first event (model: or the caller-facing one) */
    int64_t created;
    char *stop;                /* the upstream's stop/finish reason, in the upstream's vocabulary */
    struct ksm_ai_usage usage;
    int block;                 /* Anthropic caller: index of the open text block */
    bool started;              /* the caller got the opening (message_start / first chunk) */
    bool block_open;           /* Anthropic caller: content_block_start sent, stop not yet */
    bool final_sent;           /* OpenAI: finish_reason chunk sent; Anthropic: message_delta sent */
    bool usage_sent;           /* OpenAI caller: the usage-only chunk was sent */
    bool complete;             /* the upstream's terminal event came */
    bool closed;               /* the caller's stream is ended; nothing more may be appended */
    bool tool_block;           /* the open block (Anthropic upstream or caller) is a tool_use */
    struct args_at args;       /* choice 0's tool call; the call (OpenAI index) whose arguments
                                  args_filter holds a tail of, or (Anthropic caller) whose block is
                                  open; -1: none */
    struct args_at *more;      /* an OpenAI stream's choices 1 .. nmore (n > 1): the same for each */
    unsigned nmore;
    int calls;                 /* Anthropic upstream, OpenAI caller: tool calls begun so far */
    struct ksm_buf fb;         /* filter output scratch */
};

typedef enum ksm_err (*mode_fn)(struct ksm_ai_stream *s, const char *name, json_t *j,
                                const char *data, size_t len, struct ksm_buf *out);

static void set_str(char **dst, const char *src)
{
    if (!src)
        return;
    free(*dst);
    *dst = ksm_xstrdup(src);
}

static void remember(struct ksm_ai_stream *s, const json_t *o)
{
    if (!s->id)
        set_str(&s->id, json_string_value(json_object_get(o, "id")));
    if (!s->model)
        set_str(&s->model, json_string_value(json_object_get(o, "model")));
    json_t *c = json_object_get(o, "created");
    if (!s->created && json_is_integer(c))
        s->created = json_integer_value(c);
}

/* Runs a piece through filter f (the text's or the tool arguments'); (p, m) is what the caller may
 * see now. */
static void run_through(struct ksm_ai_stream *s, ksm_ai_text_filter f, const char *t, size_t n,
                        bool final, const char **p, size_t *m)
{
    if (!f) {
        *p = t;
        *m = n;
        return;
    }
    ksm_buf_reset(&s->fb);
    f(s->o.filter_ud, t, n, final, &s->fb);
    *p = s->fb.data ? s->fb.data : "";
    *m = s->fb.len;
}

static void run_filter(struct ksm_ai_stream *s, const char *t, size_t n, bool final, const char **p,
                       size_t *m)
{
    run_through(s, s->o.filter, t, n, final, p, m);
}

static json_t *jstr(const char *p, size_t n)
{
    json_t *j = json_stringn(p, n);
    return j ? j : json_string("");   /* a filter that broke UTF-8 loses its piece, not the stream */
}

/* ---- what an OpenAI caller sees --------------------------------------------------------------- */

static void oa_emit(struct ksm_ai_stream *s, struct ksm_buf *out, json_t *choices, json_t *usage)
{
    json_t *c = json_pack("{ss ss sI ss so}", "id", s->id ? s->id : "chatcmpl-kasumi", "object",
                          s->o.completion ? "text_completion" : "chat.completion.chunk", "created", (json_int_t)s->created, "model",
                          s->model ? s->model : "", "choices", choices);
    if (c && usage)
        json_object_set_new(c, "usage", usage);
    else
        json_decref(usage);
    if (c)
        ksm_ai_sse_json(out, NULL, c);
    json_decref(c);
}

/* A chunk of choice k (a completion's: the delta's content as its text). */
static void oa_chunk_at(struct ksm_ai_stream *s, struct ksm_buf *out, unsigned k, json_t *delta,
                        const char *finish)
{
    if (s->o.completion) {
        const char *t = json_string_value(json_object_get(delta, "content"));
        oa_emit(s, out, json_pack("[{si ss sn so}]", "index", (int)k, "text", t ? t : "", "logprobs",
                                  "finish_reason", finish ? json_string(finish) : json_null()), NULL);
        json_decref(delta);
        return;
    }
    oa_emit(s, out, json_pack("[{si so sn so}]", "index", (int)k, "delta", delta, "logprobs",
                              "finish_reason", finish ? json_string(finish) : json_null()), NULL);
}

static void oa_chunk(struct ksm_ai_stream *s, struct ksm_buf *out, json_t *delta, const char *finish)
{
    oa_chunk_at(s, out, 0, delta, finish);
}

static void oa_close(struct ksm_ai_stream *s, struct ksm_buf *out, const char *finish)
{
    if (!s->final_sent)
        oa_chunk(s, out, json_object(), finish);
    if (s->o.include_usage && !s->usage_sent)
        oa_emit(s, out, json_array(), ksm_ai_usage_openai_json(&s->usage));
    ksm_buf_puts(out, "data: [DONE]\n\n");
    s->final_sent = s->usage_sent = s->closed = true;
}

/* ---- what an Anthropic caller sees ------------------------------------------------------------- */

static void an_emit(struct ksm_buf *out, const char *type, json_t *j)
{
    if (j) {
        ksm_ai_sse_json(out, type, j);
        json_decref(j);
    }
}

static void an_start(struct ksm_ai_stream *s, struct ksm_buf *out)
{
    if (s->started)
        return;
    an_emit(out, "message_start",
            json_pack("{ss s{ss ss ss ss s[] sn sn so}}", "type", "message_start", "message", "id",
                      s->id ? s->id : "msg_kasumi", "type", "message", "role", "assistant", "model",
                      s->model ? s->model : "", "content", "stop_reason", "stop_sequence", "usage",
                      ksm_ai_usage_anthropic_json(&s->usage)));
    s->started = true;
}

static void an_text(struct ksm_ai_stream *s, struct ksm_buf *out, const char *p, size_t n)
{
    an_start(s, out);
    if (!s->block_open) {
        an_emit(out, "content_block_start",
                json_pack("{ss si s{ss ss}}", "type", "content_block_start", "index", s->block,
                          "content_block", "type", "text", "text", ""));
        s->block_open = true;
    }
    an_emit(out, "content_block_delta",
            json_pack("{ss si s{ss so}}", "type", "content_block_delta", "index", s->block, "delta",
                      "type", "text_delta", "text", jstr(p, n)));
}

static void an_block_stop(struct ksm_ai_stream *s, struct ksm_buf *out)
{
    if (!s->block_open)
        return;
    an_emit(out, "content_block_stop",
            json_pack("{ss si}", "type", "content_block_stop", "index", s->block));
    s->block_open = false;
    s->block++;
}

/* An open tool_use block: the held-back tail of its input, before the block closes. */
static void an_args_flush(struct ksm_ai_stream *s, struct ksm_buf *out)
{
    const char *p;
    size_t m;
    if (!s->tool_block)
        return;
    run_through(s, s->o.args_filter, "", 0, true, &p, &m);
    if (m)
        an_emit(out, "content_block_delta",
                json_pack("{ss si s{ss so}}", "type", "content_block_delta", "index", s->block,
                          "delta", "type", "input_json_delta", "partial_json", jstr(p, m)));
    s->tool_block = false;
}

static void an_close(struct ksm_ai_stream *s, struct ksm_buf *out, const char *stop_reason)
{
    an_start(s, out);
    an_args_flush(s, out);
    an_block_stop(s, out);
    if (!s->final_sent)
        an_emit(out, "message_delta",
                json_pack("{ss s{ss sn} so}", "type", "message_delta", "delta", "stop_reason",
                          stop_reason, "stop_sequence", "usage",
                          ksm_ai_usage_anthropic_json(&s->usage)));
    an_emit(out, "message_stop", json_pack("{ss}", "type", "message_stop"));
    s->final_sent = s->closed = true;
}

/* Text for the caller of a cross-protocol stream, through the filter. */
static void emit_text(struct ksm_ai_stream *s, struct ksm_buf *out, const char *t, size_t n,
                      bool final)
{
    const char *p;
    size_t m;
    run_filter(s, t, n, final, &p, &m);
    if (!m)
        return;
    if (s->o.caller == KSM_AI_ANTHROPIC)
        an_text(s, out, p, m);
    else
        oa_chunk(s, out, json_pack("{so}", "content", jstr(p, m)), NULL);
}

/* The upstream reported an error inside the stream: pass it on in the caller's shape and stop. */
static enum ksm_err upstream_error(struct ksm_ai_stream *s, json_t *j, struct ksm_buf *out)
{
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    ksm_ai_error_sse(s->o.caller, KSM_E_UPSTREAM_ERROR, m, out);
    s->complete = s->closed = true;
    return KSM_E_OK;
}

/* ---- upstream OpenAI chunks -------------------------------------------------------------------- */

static const char *type_of(const json_t *j, const char *name)
{
    const char *t = json_string_value(json_object_get(j, "type"));
    return t ? t : name;
}

/* Where a call's text streams in an OpenAI tool-call delta: a function's arguments (JSON text) or a
 * custom tool's free-text input. */
static const struct {
    const char *member, *text;
} call_text[] = {{"function", "arguments"}, {"custom", "input"}};

/* Choice k's tool-call state (k > 0: made when the choice first comes; k < KSM_AI_MAX_CHOICES). */
static struct args_at *args_of(struct ksm_ai_stream *s, unsigned k)
{
    if (!k)
        return &s->args;
    if (k > s->nmore) {
        s->more = ksm_xrealloc(s->more, k * sizeof *s->more);
        for (unsigned i = s->nmore; i < k; i++)
            s->more[i] = (struct args_at){.call = -1};
        s->nmore = k;
    }
    return &s->more[k - 1];
}

/* A piece of choice k through its filter: text, or (args) a tool call's arguments. */
static void choice_through(struct ksm_ai_stream *s, unsigned k, bool args, const char *t, size_t n,
                           bool final, const char **p, size_t *m)
{
    if (!k) {
        run_through(s, args ? s->o.args_filter : s->o.filter, t, n, final, p, m);
        return;
    }
    ksm_ai_choice_filter f = args ? s->o.choice_args_filter : s->o.choice_filter;
    if (!f) {
        *p = t;
        *m = n;
        return;
    }
    ksm_buf_reset(&s->fb);
    f(s->o.filter_ud, k, t, n, final, &s->fb);
    *p = s->fb.data ? s->fb.data : "";
    *m = s->fb.len;
}

/* OpenAI -> OpenAI, tool calls: the held tail of choice k's call's arguments, as a chunk of its own
 * (before the next call's pieces or the finish). */
static void oa_args_flush(struct ksm_ai_stream *s, unsigned k, struct ksm_buf *out)
{
    struct args_at *a = args_of(s, k);
    const char *p;
    size_t m;
    if (a->call < 0)
        return;
    choice_through(s, k, true, "", 0, true, &p, &m);
    if (m)
        oa_chunk_at(s, out, k, json_pack("{s[{si s{so}}]}", "tool_calls", "index", a->call,
                                         call_text[a->text].member, call_text[a->text].text,
                                         jstr(p, m)), NULL);
    a->call = -1;
}

/* OpenAI -> OpenAI: the argument pieces of choice k's tool calls through its arguments filter (a
 * placeholder the model copied into a call is restored there too). Calls stream one after another;
 * a new call or the finish first releases what the filter holds of the previous one. True if j
 * changed. */
static bool oa_tool_args(struct ksm_ai_stream *s, unsigned k, json_t *j, json_t *delta, bool finish,
                         struct ksm_buf *out)
{
    json_t *tc, *fn = NULL, *args = NULL;
    size_t i, r;
    bool modified = false;
    if (k ? !s->o.choice_args_filter : !s->o.args_filter)
        return false;
    remember(s, j);   /* the id and model a released tail goes out under */
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc) {
        int call = (int)json_integer_value(json_object_get(tc, "index"));
        if (call != args_of(s, k)->call)
            oa_args_flush(s, k, out);
        for (r = 0; r < KSM_NELEM(call_text); r++)
            if ((fn = json_object_get(tc, call_text[r].member)))
                break;
        if (r == KSM_NELEM(call_text) || !json_is_string(args = json_object_get(fn, call_text[r].text)))
            continue;
        const char *p;
        size_t m;
        *args_of(s, k) = (struct args_at){.call = call, .text = (unsigned)r};
        choice_through(s, k, true, json_string_value(args), json_string_length(args), false, &p, &m);
        json_object_set_new(fn, call_text[r].text, jstr(p, m));
        modified = true;
    }
    if (finish)
        oa_args_flush(s, k, out);
    return modified;
}

/* Choice k's text through its filter — the stream's filter for choice 0, the choice filter for the
 * others, each with a hold-back state of its own — and its finish releasing what that one holds.
 * True if c changed. */
static bool oa_choice_text(struct ksm_ai_stream *s, json_t *c, unsigned k)
{
    const char *member = s->o.completion ? "text" : "content";   /* a completion has no delta */
    json_t *delta = s->o.completion ? c : json_object_get(c, "delta");
    json_t *content = json_object_get(delta, member);
    /* A refusal comes instead of content: the model's text too, through the same filter, and
     * what that holds back goes out as refusal at the finish. */
    json_t *refusal = s->o.completion ? NULL : json_object_get(delta, "refusal");
    if (json_is_string(refusal) && !json_string_length(content))
        s->refusing[k] = true;
    if (s->refusing[k]) {
        member = "refusal";
        content = json_is_string(refusal) ? refusal : NULL;
    }
    const char *finish = json_string_value(json_object_get(c, "finish_reason"));
    const char *t = json_string_value(content) ? json_string_value(content) : "", *p;
    size_t m;
    if ((k ? !s->o.choice_filter : !s->o.filter) || !json_is_object(delta) || (!json_is_string(content) && !finish))
        return false;
    args_of(s, k);   /* the choices a cut-short stream releases the held text of */
    choice_through(s, k, false, t, json_string_length(content), finish != NULL, &p, &m);
    if (m || content)
        json_object_set_new(delta, member, jstr(p, m));
    return true;
}

/* OpenAI -> OpenAI: forward the chunk as it came, unless the filter changed its text. */
static enum ksm_err oa_from_oa(struct ksm_ai_stream *s, const char *name, json_t *j,
                               const char *data, size_t len, struct ksm_buf *out)
{
    json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
    /* With n > 1 each chunk carries one choice, by its index: each choice's text and tool-call
     * arguments go through hold-back states of their own, so nothing held back of one choice goes
     * out in another. A choice beyond the bound passes as it came. */
    json_int_t k = json_integer_value(json_object_get(c0, "index"));
    bool ours = k >= 0 && k < KSM_AI_MAX_CHOICES;
    json_t *delta = json_object_get(c0, "delta");
    const char *finish = json_string_value(json_object_get(c0, "finish_reason"));
    bool modified = false;

    if (!json_array_size(json_object_get(j, "choices")) && json_object_get(j, "usage") &&
        !json_is_null(json_object_get(j, "usage"))) {
        /* The usage-only chunk the gateway asked for: shown only to callers who asked too. */
        if (!s->o.include_usage)
            return KSM_E_OK;
        s->usage_sent = true;
    }
    if (ours)
        modified |= oa_choice_text(s, c0, (unsigned)k);
    if (s->o.model) {
        json_object_set_new(j, "model", json_string(s->o.model));
        modified = true;
    }
    if (ours && json_is_object(delta))
        modified |= oa_tool_args(s, (unsigned)k, j, delta, finish != NULL, out);
    if (s->o.drop_reasoning && json_is_object(delta)) {
        modified |= json_object_del(delta, "reasoning_content") == 0;
        modified |= json_object_del(delta, "reasoning") == 0;
    }
    if (finish && k == 0) {
        set_str(&s->stop, finish);
        s->final_sent = true;
    }
    s->started = true;
    if (modified)
        ksm_ai_sse_json(out, NULL, j);
    else
        ksm_sse_write(out, NULL, data, len);
    return KSM_E_OK;
}

/* A stream cut short: what the filters still hold of choices 1 .. nmore, text first, then the
 * arguments of a call cut short (choice 0's go out with the other protocols' path). */
static void oa_release_choices(struct ksm_ai_stream *s, struct ksm_buf *out)
{
    for (unsigned k = 1; k <= s->nmore; k++) {
        const char *p;
        size_t m;
        if (s->o.choice_filter) {
            choice_through(s, k, false, "", 0, true, &p, &m);
            if (m)
                oa_chunk_at(s, out, k, json_pack("{so}", "content", jstr(p, m)), NULL);
        }
        oa_args_flush(s, k, out);
    }
}

/* One element of an OpenAI delta's tool_calls for an Anthropic caller: a call with a new index
 * closes the open block (text, or the previous call) and opens a tool_use block; its argument
 * pieces become input_json_delta events, through args_filter. */
static void an_tool_piece(struct ksm_ai_stream *s, struct ksm_buf *out, const json_t *tc)
{
    json_t *fn = json_object_get(tc, "function"), *args = json_object_get(fn, "arguments");
    int call = (int)json_integer_value(json_object_get(tc, "index"));
    if (call != s->args.call || !s->tool_block) {
        const char *id = json_string_value(json_object_get(tc, "id"));
        const char *name = json_string_value(json_object_get(fn, "name"));
        emit_text(s, out, "", 0, true);   /* the text before the call, all of it */
        an_args_flush(s, out);
        an_block_stop(s, out);
        an_emit(out, "content_block_start",
                json_pack("{ss si s{ss ss ss s{}}}", "type", "content_block_start", "index", s->block,
                          "content_block", "type", "tool_use", "id", id ? id : "toolu_kasumi",
                          "name", name ? name : "", "input"));
        s->block_open = s->tool_block = true;
        s->args.call = call;
    }
    if (!json_string_length(args))
        return;
    const char *p;
    size_t m;
    run_through(s, s->o.args_filter, json_string_value(args), json_string_length(args), false, &p,
                &m);
    if (m)
        an_emit(out, "content_block_delta",
                json_pack("{ss si s{ss so}}", "type", "content_block_delta", "index", s->block,
                          "delta", "type", "input_json_delta", "partial_json", jstr(p, m)));
}

/* OpenAI -> Anthropic: re-frame chunks as message_start / content_block_* / message_delta. */
static enum ksm_err an_from_oa(struct ksm_ai_stream *s, const char *name, json_t *j,
                               const char *data, size_t len, struct ksm_buf *out)
{
    json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
    json_t *delta = json_object_get(c0, "delta");
    json_t *text = json_object_get(delta, "content");
    const char *finish = json_string_value(json_object_get(c0, "finish_reason"));

    json_t *tc;
    size_t i;
    if (!json_is_string(text) || !json_string_length(text))
        text = json_object_get(delta, "refusal");
    an_start(s, out);
    if (json_is_string(text) && json_string_length(text) && s->tool_block) {
        an_args_flush(s, out);   /* text after a call: a new text block */
        an_block_stop(s, out);
        s->args.call = -1;
    }
    if (json_is_string(text))
        emit_text(s, out, json_string_value(text), json_string_length(text), false);
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc)
        an_tool_piece(s, out, tc);
    if (finish) {
        set_str(&s->stop, finish);
        emit_text(s, out, "", 0, true);   /* whatever the filter still holds */
        an_args_flush(s, out);
    }
    return KSM_E_OK;
}

/* ---- upstream Anthropic events ----------------------------------------------------------------- */

/* Anthropic -> Anthropic: forward events as they came, unless the filter changed their text. */
static enum ksm_err an_from_an(struct ksm_ai_stream *s, const char *name, json_t *j,
                               const char *data, size_t len, struct ksm_buf *out)
{
    const char *type = type_of(j, name);
    json_t *delta = json_object_get(j, "delta");
    bool modified = false;

    if (!strcmp(type, "message_start")) {
        remember(s, json_object_get(j, "message"));
        s->started = true;
        if (s->o.model) {
            json_object_set_new(json_object_get(j, "message"), "model", json_string(s->o.model));
            modified = true;
        }
    } else if (!strcmp(type, "content_block_start")) {
        s->block_open = true;
        s->block = (int)json_integer_value(json_object_get(j, "index"));
        s->tool_block = !strcmp(type_of(json_object_get(j, "content_block"), ""), "tool_use");
    } else if (!strcmp(type, "content_block_delta") && s->o.args_filter && s->tool_block &&
               !strcmp(type_of(delta, ""), "input_json_delta")) {
        /* the input as JSON text, in pieces: a placeholder inside is restored like text (the
         * values masked hold no character JSON would escape) */
        json_t *t = json_object_get(delta, "partial_json");
        const char *p;
        size_t m;
        run_through(s, s->o.args_filter, json_string_value(t) ? json_string_value(t) : "",
                    json_string_length(t), false, &p, &m);
        json_object_set_new(delta, "partial_json", jstr(p, m));
        modified = true;
    } else if (!strcmp(type, "content_block_delta") && s->o.quote_filter && !s->tool_block &&
               !strcmp(type_of(delta, ""), "citations_delta")) {
        /* A citation of a masked document quotes it with placeholders: each of its strings comes
         * whole, restored. */
        ksm_ai_filter_strings(json_object_get(delta, "citation"), s->o.quote_filter, s->o.filter_ud);
        modified = true;
    } else if (!strcmp(type, "content_block_stop") && s->tool_block) {
        an_args_flush(s, out);
        s->block_open = false;
    } else if (!strcmp(type, "content_block_delta") && s->o.filter &&
               !strcmp(type_of(delta, ""), "text_delta")) {
        json_t *t = json_object_get(delta, "text");
        const char *p;
        size_t m;
        run_filter(s, json_string_value(t) ? json_string_value(t) : "", json_string_length(t),
                   false, &p, &m);
        json_object_set_new(delta, "text", jstr(p, m));
        modified = true;
    } else if (!strcmp(type, "content_block_stop")) {
        const char *p;
        size_t m;
        run_filter(s, "", 0, true, &p, &m);
        if (m)   /* the filter's held-back text, before the block closes */
            an_emit(out, "content_block_delta",
                    json_pack("{ss si s{ss so}}", "type", "content_block_delta", "index", s->block,
                              "delta", "type", "text_delta", "text", jstr(p, m)));
        s->block_open = false;
    } else if (!strcmp(type, "message_delta")) {
        set_str(&s->stop, json_string_value(json_object_get(delta, "stop_reason")));
        s->final_sent = true;
    } else if (!strcmp(type, "message_stop")) {
        s->complete = s->closed = true;
    }
    if (modified)
        ksm_ai_sse_json(out, type, j);
    else
        ksm_sse_write(out, *name ? name : type, data, len);
    return KSM_E_OK;
}

/* Anthropic -> OpenAI, tool_use blocks: a chunk for tool call args_call with these members. */
static void oa_tool_chunk(struct ksm_ai_stream *s, struct ksm_buf *out, json_t *members)
{
    json_t *tc = json_pack("{si}", "index", s->args.call);
    json_object_update(tc, members);
    json_decref(members);
    oa_chunk(s, out, json_pack("{s[o]}", "tool_calls", tc), NULL);
}

/* A piece of a tool_use input (JSON text) as a piece of the call's arguments, through args_filter. */
static void oa_args_piece(struct ksm_ai_stream *s, struct ksm_buf *out, const char *t, size_t n,
                          bool final)
{
    const char *p;
    size_t m;
    run_through(s, s->o.args_filter, t, n, final, &p, &m);
    if (m)
        oa_tool_chunk(s, out, json_pack("{s{so}}", "function", "arguments", jstr(p, m)));
}

/* Anthropic -> OpenAI: re-frame events as chat.completion.chunk objects and [DONE]. */
static enum ksm_err oa_from_an(struct ksm_ai_stream *s, const char *name, json_t *j,
                               const char *data, size_t len, struct ksm_buf *out)
{
    const char *type = type_of(j, name);
    json_t *delta = json_object_get(j, "delta");

    if (!strcmp(type, "message_start")) {
        remember(s, json_object_get(j, "message"));
        if (!s->started)
            oa_chunk(s, out, json_pack("{ss ss}", "role", "assistant", "content", ""), NULL);
        s->started = true;
    } else if (!strcmp(type, "content_block_start")) {
        json_t *b = json_object_get(j, "content_block");
        const char *bt = type_of(b, "");
        if (!strcmp(bt, "server_tool_use"))
            return KSM_E_UPSTREAM_ERROR;   /* only on request, which cross routes refuse */
        if (!strcmp(bt, "tool_use")) {
            const char *id = json_string_value(json_object_get(b, "id"));
            const char *tool = json_string_value(json_object_get(b, "name"));
            emit_text(s, out, "", 0, true);
            s->tool_block = true;
            s->args.call = s->calls++;
            oa_tool_chunk(s, out, json_pack("{ss ss s{ss ss}}", "id", id ? id : "call_kasumi", "type",
                                            "function", "function", "name", tool ? tool : "",
                                            "arguments", ""));
        }
    } else if (!strcmp(type, "content_block_delta") && s->tool_block &&
               !strcmp(type_of(delta, ""), "input_json_delta")) {
        json_t *t = json_object_get(delta, "partial_json");
        oa_args_piece(s, out, json_string_value(t) ? json_string_value(t) : "",
                      json_string_length(t), false);
    } else if (!strcmp(type, "content_block_delta") && !strcmp(type_of(delta, ""), "text_delta")) {
        json_t *t = json_object_get(delta, "text");
        if (json_is_string(t))
            emit_text(s, out, json_string_value(t), json_string_length(t), false);
    } else if (!strcmp(type, "content_block_stop") && s->tool_block) {
        oa_args_piece(s, out, "", 0, true);
        s->tool_block = false;
    } else if (!strcmp(type, "content_block_stop")) {
        emit_text(s, out, "", 0, true);
    } else if (!strcmp(type, "message_delta")) {
        set_str(&s->stop, json_string_value(json_object_get(delta, "stop_reason")));
    } else if (!strcmp(type, "message_stop")) {
        emit_text(s, out, "", 0, true);
        oa_close(s, out, ksm_ai_stop_to_finish(s->stop));
        s->complete = true;
    }   /* ping, thinking deltas and event types added later carry nothing an OpenAI caller reads */
    return KSM_E_OK;
}

/* ---- the driver -------------------------------------------------------------------------------- */

static mode_fn mode(const struct ksm_ai_stream *s)
{
    static const mode_fn modes[2][2] = {
        [KSM_AI_OPENAI] = {[KSM_AI_OPENAI] = oa_from_oa, [KSM_AI_ANTHROPIC] = an_from_oa},
        [KSM_AI_ANTHROPIC] = {[KSM_AI_OPENAI] = oa_from_an, [KSM_AI_ANTHROPIC] = an_from_an},
    };
    return modes[s->o.upstream][s->o.caller];
}

static bool is_done(const char *data, size_t len)
{
    return len == 6 && !memcmp(data, "[DONE]", 6);
}

/* OpenAI's terminator: the caller gets its own closing (passthrough: the [DONE] as it came). */
static void openai_done(struct ksm_ai_stream *s, struct ksm_buf *out)
{
    s->complete = true;
    if (s->o.caller == KSM_AI_ANTHROPIC) {
        emit_text(s, out, "", 0, true);
        an_close(s, out, ksm_ai_finish_to_stop(s->stop));
        return;
    }
    ksm_buf_puts(out, "data: [DONE]\n\n");
    s->closed = true;
}

enum ksm_err ksm_ai_stream_event(struct ksm_ai_stream *s, const char *name, const char *data,
                                 size_t len, struct ksm_buf *out)
{
    json_t *j;
    enum ksm_err e;

    if (s->closed)
        return KSM_E_OK;   /* anything after the terminal event is ignored */
    name = name ? name : "";
    if (s->o.upstream == KSM_AI_OPENAI && is_done(data, len)) {
        openai_done(s, out);
        return KSM_E_OK;
    }
    j = json_loadb(data, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return KSM_E_UPSTREAM_ERROR;
    }
    if (json_object_get(j, "error") && (s->o.upstream == KSM_AI_OPENAI ||
                                        !strcmp(type_of(j, name), "error"))) {
        e = upstream_error(s, j, out);
        goto done;
    }
    if (s->o.upstream == KSM_AI_OPENAI) {
        remember(s, j);
        ksm_ai_usage_from_openai(j, &s->usage);
    } else {
        ksm_ai_usage_from_anthropic(j, &s->usage);
    }
    e = mode(s)(s, name, j, data, len, out);
done:
    json_decref(j);
    return e;
}

void ksm_ai_stream_finish(struct ksm_ai_stream *s, enum ksm_err e, const char *msg,
                          struct ksm_buf *out)
{
    if (s->closed)
        return;
    if (e == KSM_E_OK) {
        e = KSM_E_UPSTREAM_ERROR;
        msg = "the model provider's stream ended before the response was complete";
    }
    /* Text the filter still holds is delivered first: it was generated and will be billed. */
    if (s->o.caller == KSM_AI_ANTHROPIC && s->o.upstream == KSM_AI_ANTHROPIC)
        an_start(s, out);
    emit_text(s, out, "", 0, true);
    if (s->o.caller == KSM_AI_ANTHROPIC) {
        an_args_flush(s, out);   /* and the arguments of a tool call cut short */
    } else {
        oa_args_flush(s, 0, out);
        oa_release_choices(s, out);
    }
    ksm_ai_error_sse(s->o.caller, e, msg, out);
    if (s->o.caller == KSM_AI_ANTHROPIC)
        an_close(s, out, s->stop ? (s->o.upstream == KSM_AI_ANTHROPIC ? s->stop
                                    : ksm_ai_finish_to_stop(s->stop)) : "end_turn");
    else
        oa_close(s, out, s->stop ? (s->o.upstream == KSM_AI_OPENAI ? s->stop
                                    : ksm_ai_stop_to_finish(s->stop)) : "stop");
}

struct ksm_ai_stream *ksm_ai_stream_new(const struct ksm_ai_stream_opts *o)
{
    struct ksm_ai_stream *s = ksm_xcalloc(1, sizeof(*s));
    s->o = *o;
    s->o.upstream = o->upstream == KSM_AI_ANTHROPIC ? KSM_AI_ANTHROPIC : KSM_AI_OPENAI;
    s->o.caller = o->caller == KSM_AI_ANTHROPIC ? KSM_AI_ANTHROPIC : KSM_AI_OPENAI;
    s->o.model = NULL;
    if (o->model) {
        s->model = ksm_xstrdup(o->model);
        s->o.model = s->model;
    }
    s->created = ksm_now_ms() / 1000;
    s->args.call = -1;
    return s;
}

void ksm_ai_stream_free(struct ksm_ai_stream *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->model);
    free(s->stop);
    free(s->more);
    ksm_buf_free(&s->fb);
    free(s);
}

const struct ksm_ai_usage *ksm_ai_stream_usage(const struct ksm_ai_stream *s) { return &s->usage; }

bool ksm_ai_stream_complete(const struct ksm_ai_stream *s) { return s->complete; }
