/* responses.c — OpenAI's Responses API as a front to the chat path (responses.h).
 *
 * Request: a Response's input items become chat messages (a function_call item joins the
 * assistant turn before it, a function_call_output is a tool message), its options the chat
 * options they mean. Answer: the chat message becomes output items — a message with an output_text
 * (or refusal) part, and a function_call (or custom_tool_call) per tool call. Stream: each chat chunk becomes the
 * Responses events a client of OpenAI's API would get for it, numbered by sequence_number, ending
 * in response.completed (.incomplete when the model stopped at its token limit, .failed on error)
 * with the whole Response and its usage. */
#include "ai/responses.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/sse.h"
#include "ai/translate.h"
#include "core/util.h"

struct ksm_ai_responses {
    json_t *req;                /* the caller's body: what a Response echoes */
    char id[96];                /* the Response's id; its items' ids are made from it */
    bool stream;
    /* a stream's progress */
    struct ksm_sse_parser sse;
    int64_t seq;                /* the next sequence_number */
    bool started, ended, overflowed;
    size_t kept;                /* bytes of text kept in output so far */
    size_t refused;             /* pieces of text not sent since the Response overflowed */
    json_t *output;             /* the items so far */
    json_t *text_item;          /* the open message item (in output), or NULL */
    bool refusal;               /* its part is a refusal, not output_text */
    json_t *call_item;          /* the open call item (in output), or NULL */
    const struct call_kind *call_kind;   /* and its kind */
    int call_index;             /* the chat tool call it follows */
    struct ksm_buf text, args;  /* the open part's text, the open call's arguments */
    char *finish;               /* the chat finish_reason */
    json_t *usage;              /* the chat usage */
    int64_t created;
    char *model;
};

/* The two kinds of tool call, by their names on each side: a function's JSON arguments, and a
 * custom tool's free-text input (OpenAI's freeform tools, such as an apply_patch). */
static const struct call_kind {
    const char *chat;           /* chat tool_calls[].type, and the member under it */
    const char *text;           /* the member holding the call's text */
    const char *item, *result;  /* the Responses call item's type, and its result item's */
    const char *prefix;         /* the call item's id prefix */
    const char *delta, *done;   /* the stream's events for the text */
} kinds[] = {
    {"function", "arguments", "function_call", "function_call_output", "fc",
     "response.function_call_arguments.delta", "response.function_call_arguments.done"},
    {"custom", "input", "custom_tool_call", "custom_tool_call_output", "ctc",
     "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done"},
};

static const struct call_kind *kind_by(const char *type, bool item)
{
    for (size_t i = 0; type && i < KSM_NELEM(kinds); i++)
        if (!strcmp(type, item ? kinds[i].item : kinds[i].chat))
            return &kinds[i];
    return NULL;
}

static const struct call_kind *result_kind(const char *type)
{
    for (size_t i = 0; type && i < KSM_NELEM(kinds); i++)
        if (!strcmp(type, kinds[i].result))
            return &kinds[i];
    return NULL;
}

static enum ksm_err refuse(char *err, enum ksm_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum ksm_err refuse(char *err, enum ksm_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, KSM_AI_RESPONSES_ERR_MAX, fmt, ap);
    va_end(ap);
    return e;
}

/* A member that is there and not null (the SDKs send null for "not set"). */
static json_t *given(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

/* ---- the request ------------------------------------------------------------------------------- */

/* One content part of a caller's message as a chat content part. */
static enum ksm_err user_part(const json_t *p, const char *where, json_t *parts, char *err)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    json_t *text = json_object_get(p, "text"), *url = json_object_get(p, "image_url");
    if (type && (!strcmp(type, "input_text") || !strcmp(type, "output_text")) && json_is_string(text))
        return json_array_append_new(parts, json_pack("{ss sO}", "type", "text", "text", text)), KSM_E_OK;
    if (type && !strcmp(type, "input_image") && json_is_string(url)) {
        json_t *img = json_pack("{sO}", "url", url), *detail = json_object_get(p, "detail");
        if (json_is_string(detail))
            json_object_set(img, "detail", detail);
        json_array_append_new(parts, json_pack("{ss so}", "type", "image_url", "image_url", img));
        return KSM_E_OK;
    }
    return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s: a %s part is not supported here", where,
                  type ? type : "typeless");
}

/* An assistant turn's parts: its text, and a refusal apart (chat keeps them apart too). */
static enum ksm_err assistant_parts(const json_t *content, const char *where, json_t *msg, char *err)
{
    struct ksm_buf text = KSM_BUF_INIT, no = KSM_BUF_INIT;
    size_t i;
    json_t *p;
    enum ksm_err e = KSM_E_OK;
    json_array_foreach(content, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        json_t *t = json_object_get(p, type && !strcmp(type, "refusal") ? "refusal" : "text");
        if (!type || !json_is_string(t) ||
            (strcmp(type, "output_text") && strcmp(type, "input_text") && strcmp(type, "refusal"))) {
            e = refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s[%zu]: an assistant turn's %s part is not supported here",
                       where, i, type ? type : "typeless");
            break;
        }
        ksm_buf_append(strcmp(type, "refusal") ? &text : &no, json_string_value(t), json_string_length(t));
    }
    if (e == KSM_E_OK) {
        json_object_set_new(msg, "content", json_stringn(text.data ? text.data : "", text.len));
        if (no.len)
            json_object_set_new(msg, "refusal", json_stringn(no.data, no.len));
    }
    ksm_buf_free(&text);
    ksm_buf_free(&no);
    return e;
}

static enum ksm_err message_item(const json_t *it, const char *where, json_t *msgs, char *err)
{
    static const char *const roles[] = {"user", "system", "developer", "assistant", NULL};
    static const char *const keys[] = {"type", "role", "content", "id", "status", NULL};
    const char *role = json_string_value(json_object_get(it, "role")), *k;
    json_t *content = json_object_get(it, "content");
    if (!role || !ksm_ai_listed(roles, role))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "%s.role: user, system, developer or assistant", where);
    if ((k = ksm_ai_stranger(it, keys)))
        return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s.%s: not supported here", where, k);
    json_t *msg = json_pack("{ss}", "role", role);
    json_array_append_new(msgs, msg);
    if (json_is_string(content))
        return json_object_set(msg, "content", content), KSM_E_OK;
    if (!json_is_array(content))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "%s.content: a string or an array of parts", where);
    char sub[64];
    snprintf(sub, sizeof sub, "%s.content", where);
    if (!strcmp(role, "assistant"))
        return assistant_parts(content, sub, msg, err);
    json_t *parts = json_array(), *p;
    json_object_set_new(msg, "content", parts);
    size_t i;
    json_array_foreach(content, i, p) {
        snprintf(sub, sizeof sub, "%s.content[%zu]", where, i);
        enum ksm_err e = user_part(p, sub, parts, err);
        if (e != KSM_E_OK)
            return e;
    }
    return KSM_E_OK;
}

/* A call item: a tool call of the assistant turn it follows (Responses lists a turn's text and its
 * calls as separate items; chat has them in one message). */
static enum ksm_err call_item(const json_t *it, const struct call_kind *k, const char *where, json_t *msgs,
                              char *err)
{
    const char *const keys[] = {"type", "call_id", "name", k->text, "id", "status", NULL}, *x;
    json_t *id = json_object_get(it, "call_id"), *name = json_object_get(it, "name");
    json_t *text = json_object_get(it, k->text);
    if (!json_is_string(id) || !json_is_string(name) || !json_is_string(text))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "%s: call_id, name and %s are strings", where, k->text);
    if ((x = ksm_ai_stranger(it, keys)))
        return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s.%s: not supported here", where, x);
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *role = json_string_value(json_object_get(last, "role"));
    if (!role || strcmp(role, "assistant")) {
        last = json_pack("{ss sn}", "role", "assistant", "content");
        json_array_append_new(msgs, last);
    }
    json_t *calls = json_object_get(last, "tool_calls");
    if (!calls)
        json_object_set_new(last, "tool_calls", calls = json_array());
    json_t *body = json_pack("{sO}", "name", name);
    json_object_set(body, k->text, text);
    json_array_append_new(calls, json_pack("{sO ss so}", "id", id, "type", k->chat, k->chat, body));
    return KSM_E_OK;
}

/* A call's result item (function_call_output, custom_tool_call_output): a chat tool message. */
static enum ksm_err output_item(const json_t *it, const char *where, json_t *msgs, char *err)
{
    static const char *const keys[] = {"type", "call_id", "output", "id", "status", NULL};
    json_t *id = json_object_get(it, "call_id"), *out = json_object_get(it, "output");
    const char *k;
    if (!json_is_string(id) || (!json_is_string(out) && !json_is_array(out)))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "%s: call_id and output (a string or text parts)", where);
    if ((k = ksm_ai_stranger(it, keys)))
        return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s.%s: not supported here", where, k);
    json_t *content = json_is_string(out) ? json_incref(out) : json_array(), *p;
    size_t i;
    char sub[64];
    json_array_foreach(json_is_array(out) ? out : NULL, i, p) {
        snprintf(sub, sizeof sub, "%s.output[%zu]", where, i);
        const char *type = json_string_value(json_object_get(p, "type"));
        if (!type || strcmp(type, "input_text") || !json_is_string(json_object_get(p, "text"))) {
            json_decref(content);
            return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s: only input_text parts", sub);
        }
        json_array_append_new(content, json_pack("{ss sO}", "type", "text", "text", json_object_get(p, "text")));
    }
    json_array_append_new(msgs, json_pack("{ss sO so}", "role", "tool", "tool_call_id", id, "content", content));
    return KSM_E_OK;
}

static enum ksm_err input_items(const json_t *input, json_t *msgs, char *err)
{
    size_t i;
    json_t *it;
    char where[32];
    json_array_foreach(input, i, it) {
        snprintf(where, sizeof where, "input[%zu]", i);
        const char *type = json_string_value(json_object_get(it, "type"));
        enum ksm_err e;
        if (!json_is_object(it))
            e = refuse(err, KSM_E_INVALID_ARGUMENT, "%s: an object", where);
        else if (!type || !strcmp(type, "message"))
            e = message_item(it, where, msgs, err);
        else if (kind_by(type, true))
            e = call_item(it, kind_by(type, true), where, msgs, err);
        else if (result_kind(type))
            e = output_item(it, where, msgs, err);
        else   /* reasoning, item references, built-in tools' calls: state this gateway has not */
            e = refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s: a %s item is not supported here", where, type);
        if (e != KSM_E_OK)
            return e;
    }
    return KSM_E_OK;
}

/* A custom tool's grammar as chat writes it ({type: grammar, grammar: {syntax, definition}}). */
static json_t *custom_format(const json_t *f)
{
    const char *type = json_string_value(json_object_get(f, "type"));
    if (!type || strcmp(type, "grammar"))
        return json_deep_copy(f);
    json_t *g = json_deep_copy(f);
    json_object_del(g, "type");
    return json_pack("{ss so}", "type", "grammar", "grammar", g);
}

static enum ksm_err tools(const json_t *in, json_t *chat, char *err)
{
    static const char *const keys[] = {"type", "name", "description", "parameters", "strict", "format", NULL};
    json_t *out, *t;
    size_t i;
    if (!json_is_array(in))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "tools: an array");
    if (!json_array_size(in))
        return KSM_E_OK;   /* no tools: chat's APIs refuse an empty list */
    json_object_set_new(chat, "tools", out = json_array());
    json_array_foreach(in, i, t) {
        const char *type = json_string_value(json_object_get(t, "type")), *k;
        const struct call_kind *kind = kind_by(type, false);
        if (!kind)
            return refuse(err, KSM_E_UNSUPPORTED_PARAMETER,
                          "tools[%zu]: only function and custom tools are supported here (not %s)", i,
                          type ? type : "typeless");
        if (!json_is_string(json_object_get(t, "name")))
            return refuse(err, KSM_E_INVALID_ARGUMENT, "tools[%zu].name: a string", i);
        if ((k = ksm_ai_stranger(t, keys)))
            return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "tools[%zu].%s: not supported here", i, k);
        json_t *fn = json_deep_copy(t);
        json_object_del(fn, "type");
        if (json_object_get(t, "format"))
            json_object_set_new(fn, "format", custom_format(json_object_get(t, "format")));
        json_array_append_new(out, json_pack("{ss so}", "type", kind->chat, kind->chat, fn));
    }
    return KSM_E_OK;
}

static enum ksm_err tool_choice(json_t *v, json_t *chat, char *err)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    if (json_is_string(v))
        return json_object_set(chat, "tool_choice", v), KSM_E_OK;
    const struct call_kind *k = kind_by(type, false);
    if (k && json_is_string(json_object_get(v, "name")))
        return json_object_set_new(chat, "tool_choice", json_pack("{ss s{sO}}", "type", k->chat, k->chat,
                                                                  "name", json_object_get(v, "name"))),
               KSM_E_OK;
    return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "tool_choice: auto, none, required, a function or a custom tool");
}

/* text.format as chat's response_format; text.verbosity as chat's verbosity. */
static enum ksm_err text_options(json_t *v, json_t *chat, char *err)
{
    static const char *const keys[] = {"format", "verbosity", NULL};
    json_t *f = given(v, "format");
    const char *type = json_string_value(json_object_get(f, "type")), *k;
    if (!json_is_object(v) || (k = ksm_ai_stranger(v, keys)))
        return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "text: only format and verbosity are supported here");
    if (given(v, "verbosity"))
        json_object_set(chat, "verbosity", given(v, "verbosity"));
    if (!f || (type && !strcmp(type, "text")))
        return KSM_E_OK;
    if (type && !strcmp(type, "json_object"))
        return json_object_set_new(chat, "response_format", json_pack("{ss}", "type", "json_object")), KSM_E_OK;
    if (!type || strcmp(type, "json_schema") || !json_is_string(json_object_get(f, "name")))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "text.format: text, json_object, or json_schema with a name");
    json_t *schema = json_deep_copy(f);
    json_object_del(schema, "type");
    json_object_set_new(chat, "response_format", json_pack("{ss so}", "type", "json_schema", "json_schema", schema));
    return KSM_E_OK;
}

/* reasoning.effort as chat's reasoning_effort. A summary asked for is accepted and none comes (chat
 * returns none; OpenAI's own models give one only when they have one to give). */
static enum ksm_err reasoning(json_t *v, json_t *chat, char *err)
{
    static const char *const keys[] = {"effort", "summary", "generate_summary", NULL};
    json_t *effort = json_object_get(v, "effort");
    if (!json_is_object(v) || ksm_ai_stranger(v, keys))
        return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "reasoning: only effort and summary are supported here");
    if (json_is_string(effort))
        json_object_set(chat, "reasoning_effort", effort);
    return KSM_E_OK;
}

/* The options with a chat name of their own; the rest are handled one by one below. */
static const struct {
    const char *key, *chat;
} same_meaning[] = {
    {"temperature", "temperature"}, {"top_p", "top_p"}, {"max_output_tokens", "max_tokens"},
    {"parallel_tool_calls", "parallel_tool_calls"}, {"user", "user"},
    {"safety_identifier", "safety_identifier"}, {"prompt_cache_key", "prompt_cache_key"},
    {"service_tier", "service_tier"},
};

/* Read and echoed, never sent on: a Response is not stored, and metadata labels it for its caller. */
static const char *const kept_here[] = {"model", "input", "instructions", "stream", "tools",
                                        "tool_choice", "text", "reasoning", "metadata", "store",
                                        "truncation", "include", "stream_options", NULL};

static enum ksm_err options(const json_t *req, json_t *chat, char *err)
{
    const char *key;
    json_t *v;
    enum ksm_err e = KSM_E_OK;
    json_object_foreach((json_t *)req, key, v) {
        size_t i;
        for (i = 0; i < KSM_NELEM(same_meaning) && strcmp(key, same_meaning[i].key); i++)
            ;
        if (json_is_null(v))
            continue;
        if (i < KSM_NELEM(same_meaning))
            json_object_set(chat, same_meaning[i].chat, v);
        else if (!strcmp(key, "previous_response_id") || !strcmp(key, "conversation"))
            e = refuse(err, KSM_E_UNSUPPORTED_PARAMETER,
                       "%s: this gateway stores no responses; send the whole conversation in input", key);
        else if (!strcmp(key, "background"))
            e = json_is_true(v) ? refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "background: not supported here") : e;
        else if (!ksm_ai_listed(kept_here, key))
            return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "%s: not supported here", key);
        if (e != KSM_E_OK)
            return e;
    }
    json_t *t = given(req, "truncation"), *inc = given(req, "include"), *x;
    size_t i;
    if (t && (!json_is_string(t) || strcmp(json_string_value(t), "disabled")))
        return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "truncation: only disabled is supported here");
    json_array_foreach(inc, i, x)   /* no reasoning item is ever produced: nothing to include */
        if (!json_is_string(x) || strcmp(json_string_value(x), "reasoning.encrypted_content"))
            return refuse(err, KSM_E_UNSUPPORTED_PARAMETER, "include[%zu]: not supported here", i);
    if ((v = given(req, "tools")) && (e = tools(v, chat, err)) != KSM_E_OK)
        return e;
    if ((v = given(req, "tool_choice")) && (e = tool_choice(v, chat, err)) != KSM_E_OK)
        return e;
    if ((v = given(req, "text")) && (e = text_options(v, chat, err)) != KSM_E_OK)
        return e;
    if ((v = given(req, "reasoning")))
        return reasoning(v, chat, err);
    return KSM_E_OK;
}

static enum ksm_err to_chat(const json_t *req, bool stream, json_t *chat, char *err)
{
    json_t *input = json_object_get(req, "input"), *instr = given(req, "instructions");
    json_t *msgs = json_array();
    json_object_set_new(chat, "messages", msgs);
    if (!json_is_string(json_object_get(req, "model")))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "model: required, a string");
    json_object_set(chat, "model", json_object_get(req, "model"));
    if (instr) {
        if (!json_is_string(instr))
            return refuse(err, KSM_E_INVALID_ARGUMENT, "instructions: a string");
        json_array_append_new(msgs, json_pack("{ss sO}", "role", "system", "content", instr));
    }
    if (json_is_string(input))
        json_array_append_new(msgs, json_pack("{ss sO}", "role", "user", "content", input));
    else if (!json_is_array(input))
        return refuse(err, KSM_E_INVALID_ARGUMENT, "input: required, a string or an array of items");
    else {
        enum ksm_err e = input_items(input, msgs, err);
        if (e != KSM_E_OK)
            return e;
    }
    if (stream) {
        json_object_set_new(chat, "stream", json_true());
        json_object_set_new(chat, "stream_options", json_pack("{sb}", "include_usage", 1));
    }
    return options(req, chat, err);
}

enum ksm_err ksm_ai_responses_request(const char *body, size_t len, const char *id,
                                      struct ksm_buf *chat, struct ksm_ai_responses **out,
                                      char err[KSM_AI_RESPONSES_ERR_MAX])
{
    *out = NULL;
    json_error_t je;
    json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(req)) {
        json_decref(req);
        return refuse(err, KSM_E_INVALID_ARGUMENT, "the body is not a JSON object");
    }
    json_t *stream = json_object_get(req, "stream");
    if (stream && !json_is_boolean(stream)) {
        json_decref(req);
        return refuse(err, KSM_E_INVALID_ARGUMENT, "stream: true or false");
    }
    json_t *c = json_object();
    enum ksm_err e = to_chat(req, json_is_true(stream), c, err);
    char *s = e == KSM_E_OK ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    if (e == KSM_E_OK && !s)
        e = refuse(err, KSM_E_INVALID_ARGUMENT, "the body cannot be read");
    if (e != KSM_E_OK) {
        free(s);
        json_decref(req);
        return e;
    }
    ksm_buf_reset(chat);
    ksm_buf_puts(chat, s);
    free(s);
    struct ksm_ai_responses *st = ksm_xcalloc(1, sizeof *st);
    st->req = req;
    st->stream = json_is_true(stream);
    snprintf(st->id, sizeof st->id, "resp_%s", strncmp(id, "req_", 4) ? id : id + 4);
    st->call_index = -1;
    st->output = json_array();
    ksm_sse_init(&st->sse, 0);
    *out = st;
    return KSM_E_OK;
}

bool ksm_ai_responses_stream(const struct ksm_ai_responses *st) { return st->stream; }

bool ksm_ai_responses_overflowed(const struct ksm_ai_responses *st) { return st->overflowed; }

size_t ksm_ai_responses_refused(const struct ksm_ai_responses *st) { return st->refused; }

void ksm_ai_responses_free(struct ksm_ai_responses *st)
{
    if (!st)
        return;
    json_decref(st->req);
    json_decref(st->output);
    json_decref(st->usage);
    ksm_sse_free(&st->sse);
    ksm_buf_free(&st->text);
    ksm_buf_free(&st->args);
    free(st->finish);
    free(st->model);
    free(st);
}

/* ---- the Response ------------------------------------------------------------------------------ */

static json_t *or_null(json_t *v) { return v ? json_incref(v) : json_null(); }

static json_t *usage_of(const json_t *u)
{
    if (!json_is_object(u))
        return json_null();
    json_int_t in = json_integer_value(json_object_get(u, "prompt_tokens"));
    json_int_t out = json_integer_value(json_object_get(u, "completion_tokens"));
    json_int_t cached = json_integer_value(json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
    json_int_t reasoning = json_integer_value(
        json_object_get(json_object_get(u, "completion_tokens_details"), "reasoning_tokens"));
    return json_pack("{sI s{sI} sI s{sI} sI}", "input_tokens", in, "input_tokens_details", "cached_tokens", cached,
                     "output_tokens", out, "output_tokens_details", "reasoning_tokens", reasoning,
                     "total_tokens", in + out);
}

/* An item ends completed, or incomplete when the model stopped at its token limit in it. */
static const char *item_status(const char *finish)
{
    return finish && !strcmp(finish, "length") ? "incomplete" : "completed";
}

/* completed, or incomplete with the reason a Response gives for the chat finish_reason. */
static const char *status_of(const char *finish, json_t **details)
{
    *details = json_null();
    if (finish && !strcmp(finish, "length"))
        *details = json_pack("{ss}", "reason", "max_output_tokens");
    else if (finish && !strcmp(finish, "content_filter"))
        *details = json_pack("{ss}", "reason", "content_filter");
    return json_is_null(*details) ? "completed" : "incomplete";
}

/* The Response object: the request's settings echoed, as OpenAI's API returns them. */
static json_t *response(const struct ksm_ai_responses *st, const char *status, json_t *details,
                        json_t *output, json_t *usage, json_t *error)
{
    const json_t *q = st->req;
    json_t *text = json_object_get(q, "text"), *fmt = json_object_get(text, "format");
    json_t *effort = json_object_get(json_object_get(q, "reasoning"), "effort");
    json_t *r = json_pack("{ss ss sI ss so so so so}", "id", st->id, "object", "response",
                          "created_at", (json_int_t)st->created, "status", status, "error", error,
                          "incomplete_details", details, "instructions", or_null(json_object_get(q, "instructions")),
                          "max_output_tokens", or_null(json_object_get(q, "max_output_tokens")));
    json_t *pt = json_object_get(q, "parallel_tool_calls"), *tc = json_object_get(q, "tool_choice");
    json_t *tools = json_object_get(q, "tools"), *meta = json_object_get(q, "metadata");
    json_object_set_new(r, "metadata", meta ? json_incref(meta) : json_object());
    json_object_set_new(r, "model", json_string(st->model ? st->model : json_string_value(json_object_get(q, "model"))));
    json_object_set_new(r, "output", output);
    json_object_set_new(r, "parallel_tool_calls", pt ? json_incref(pt) : json_true());
    json_object_set_new(r, "previous_response_id", json_null());
    json_object_set_new(r, "reasoning", json_pack("{so sn}", "effort", or_null(effort), "summary"));
    json_object_set_new(r, "store", json_false());
    json_object_set_new(r, "temperature", or_null(json_object_get(q, "temperature")));
    json_object_set_new(r, "text", json_pack("{so}", "format", fmt ? json_incref(fmt) : json_pack("{ss}", "type", "text")));
    json_object_set_new(r, "tool_choice", tc ? json_incref(tc) : json_string("auto"));
    json_object_set_new(r, "tools", tools ? json_incref(tools) : json_array());
    json_object_set_new(r, "top_p", or_null(json_object_get(q, "top_p")));
    json_object_set_new(r, "truncation", json_string("disabled"));
    json_object_set_new(r, "usage", usage);
    if (json_object_get(q, "user"))
        json_object_set(r, "user", json_object_get(q, "user"));
    return r;
}

static json_t *item_id(const struct ksm_ai_responses *st, const char *kind, size_t n)
{
    char id[128];
    snprintf(id, sizeof id, "%s_%s_%zu", kind, st->id + strlen("resp_"), n);
    return json_string(id);
}

static json_t *text_part(bool refusal, const char *t, size_t n)
{
    json_t *s = json_stringn(t ? t : "", n);
    if (!s)
        s = json_string("");
    return refusal ? json_pack("{ss so}", "type", "refusal", "refusal", s)
                   : json_pack("{ss so s[] s[]}", "type", "output_text", "text", s, "annotations", "logprobs");
}

static json_t *message(const struct ksm_ai_responses *st, size_t n, const char *status, json_t *content)
{
    return json_pack("{so ss ss ss so}", "id", item_id(st, "msg", n), "type", "message", "status", status,
                     "role", "assistant", "content", content);
}

static json_t *call(const struct ksm_ai_responses *st, const struct call_kind *k, size_t n, const char *status,
                    const json_t *call_id, const json_t *name, json_t *text)
{
    json_t *c = json_pack("{so ss ss so so}", "id", item_id(st, k->prefix, n), "type", k->item, "status", status,
                          "call_id", json_is_string(call_id) ? json_incref((json_t *)call_id) : json_string(""),
                          "name", json_is_string(name) ? json_incref((json_t *)name) : json_string(""));
    json_object_set_new(c, k->text, text);
    return c;
}

bool ksm_ai_responses_answer(struct ksm_ai_responses *st, struct ksm_buf *body)
{
    json_t *chat = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    json_t *choice = json_array_get(json_object_get(chat, "choices"), 0);
    json_t *msg = json_object_get(choice, "message"), *tc;
    if (!json_is_object(msg)) {
        json_decref(chat);
        return false;
    }
    st->created = json_integer_value(json_object_get(chat, "created"));
    const char *model = json_string_value(json_object_get(chat, "model"));
    free(st->model);
    st->model = model ? ksm_xstrdup(model) : NULL;
    const char *finish = json_string_value(json_object_get(choice, "finish_reason")), *done = item_status(finish);
    json_t *output = json_array(), *content = json_object_get(msg, "content");
    json_t *no = json_object_get(msg, "refusal"), *calls = json_object_get(msg, "tool_calls");
    if (json_is_string(no))
        json_array_append_new(output, message(st, 0, done, json_pack("[o]", text_part(true, json_string_value(no),
                                                                                     json_string_length(no)))));
    else if (json_is_string(content) || !json_array_size(calls))
        json_array_append_new(output, message(st, 0, done, json_pack("[o]", text_part(false, json_string_value(content),
                                                                                      json_string_length(content)))));
    size_t i;
    json_array_foreach(calls, i, tc) {
        const struct call_kind *k = kind_by(json_string_value(json_object_get(tc, "type")), false);
        json_t *fn = json_object_get(tc, k ? k->chat : "function"), *text;
        k = k ? k : &kinds[0];
        text = json_object_get(fn, k->text);
        json_array_append_new(output, call(st, k, json_array_size(output), done, json_object_get(tc, "id"),
                                           json_object_get(fn, "name"),
                                           json_is_string(text) ? json_incref(text) : json_string("")));
    }
    json_t *details;
    const char *status = status_of(finish, &details);
    json_t *r = response(st, status, details, output, usage_of(json_object_get(chat, "usage")), json_null());
    json_decref(chat);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    if (!s)
        return false;
    ksm_buf_reset(body);
    ksm_buf_puts(body, s);
    free(s);
    return true;
}

/* ---- the stream -------------------------------------------------------------------------------- */

static void finish(struct ksm_ai_responses *st, struct ksm_buf *out, const json_t *error);

/* Room for n more bytes of text; if there is none, the Response fails (and is over). */
static bool room(struct ksm_ai_responses *st, struct ksm_buf *out, size_t n)
{
    if (st->kept + n <= KSM_AI_RESPONSES_MAX) {
        st->kept += n;
        return true;
    }
    st->refused++;
    json_t *e = json_pack("{ss ss}", "code", "response_too_large", "message",
                          "the answer is larger than a Response may be here (16 MiB)");
    finish(st, out, e);
    json_decref(e);
    st->overflowed = true;
    return false;
}

static void emit(struct ksm_ai_responses *st, struct ksm_buf *out, const char *type, json_t *ev)
{
    json_t *e = json_pack("{ss sI}", "type", type, "sequence_number", (json_int_t)st->seq++);
    json_object_update(e, ev);
    json_decref(ev);
    ksm_ai_sse_json(out, type, e);
    json_decref(e);
}

static json_t *where(const struct ksm_ai_responses *st, const json_t *item)
{
    size_t i;
    json_t *x;
    json_array_foreach(st->output, i, x)
        if (x == item)
            break;
    return json_pack("{sO sI}", "item_id", json_object_get(item, "id"), "output_index", (json_int_t)i);
}

static json_t *at(const struct ksm_ai_responses *st, const json_t *item, json_t *more)
{
    json_t *w = where(st, item);
    json_object_update(w, more);
    json_decref(more);
    return w;
}

static void item_added(struct ksm_ai_responses *st, struct ksm_buf *out, json_t *item)
{
    json_array_append_new(st->output, item);
    emit(st, out, "response.output_item.added",
         json_pack("{sI sO}", "output_index", (json_int_t)json_array_size(st->output) - 1, "item", item));
}

static void item_done(struct ksm_ai_responses *st, struct ksm_buf *out, json_t *item)
{
    json_object_set_new(item, "status", json_string(item_status(st->finish)));
    json_t *w = where(st, item);
    emit(st, out, "response.output_item.done",
         json_pack("{sO sO}", "output_index", json_object_get(w, "output_index"), "item", item));
    json_decref(w);
}

static void text_open(struct ksm_ai_responses *st, struct ksm_buf *out, bool refusal)
{
    st->text_item = message(st, json_array_size(st->output), "in_progress", json_array());
    st->refusal = refusal;
    ksm_buf_reset(&st->text);
    item_added(st, out, st->text_item);
    emit(st, out, "response.content_part.added",
         at(st, st->text_item, json_pack("{si so}", "content_index", 0, "part", text_part(refusal, "", 0))));
}

static void text_close(struct ksm_ai_responses *st, struct ksm_buf *out)
{
    if (!st->text_item)
        return;
    json_t *part = text_part(st->refusal, st->text.data, st->text.len);
    json_t *t = json_object_get(part, st->refusal ? "refusal" : "text");
    emit(st, out, st->refusal ? "response.refusal.done" : "response.output_text.done",
         at(st, st->text_item, st->refusal ? json_pack("{si sO}", "content_index", 0, "refusal", t)
                                           : json_pack("{si sO s[]}", "content_index", 0, "text", t, "logprobs")));
    emit(st, out, "response.content_part.done", at(st, st->text_item, json_pack("{si sO}", "content_index", 0, "part", part)));
    json_object_set_new(st->text_item, "content", json_pack("[o]", part));
    item_done(st, out, st->text_item);
    st->text_item = NULL;
}

static void call_close(struct ksm_ai_responses *st, struct ksm_buf *out)
{
    if (!st->call_item)
        return;
    const struct call_kind *k = st->call_kind;
    json_t *text = json_stringn(st->args.data ? st->args.data : "", st->args.len);
    json_object_set_new(st->call_item, k->text, text ? text : json_string(""));
    json_t *done = json_object();
    json_object_set(done, k->text, json_object_get(st->call_item, k->text));
    emit(st, out, k->done, at(st, st->call_item, done));
    item_done(st, out, st->call_item);
    st->call_item = NULL;
}

static void text_delta(struct ksm_ai_responses *st, struct ksm_buf *out, const json_t *t, bool refusal)
{
    if (!json_string_length(t) || !room(st, out, json_string_length(t)))
        return;
    call_close(st, out);
    if (st->text_item && st->refusal != refusal)
        text_close(st, out);
    if (!st->text_item)
        text_open(st, out, refusal);
    ksm_buf_append(&st->text, json_string_value(t), json_string_length(t));
    emit(st, out, refusal ? "response.refusal.delta" : "response.output_text.delta",
         at(st, st->text_item, refusal ? json_pack("{si sO}", "content_index", 0, "delta", t)
                                       : json_pack("{si sO s[]}", "content_index", 0, "delta", t, "logprobs")));
}

static void call_delta(struct ksm_ai_responses *st, struct ksm_buf *out, const json_t *tc)
{
    int index = (int)json_integer_value(json_object_get(tc, "index"));
    const struct call_kind *k = NULL;
    json_t *fn = NULL;
    for (size_t i = 0; i < KSM_NELEM(kinds) && !fn; i++)   /* a piece names its kind by its member */
        if ((fn = json_object_get(tc, kinds[i].chat)))
            k = &kinds[i];
    if (!k)
        return;
    json_t *text = json_object_get(fn, k->text);
    if (!st->call_item || index != st->call_index) {
        text_close(st, out);
        call_close(st, out);
        st->call_item = call(st, k, json_array_size(st->output), "in_progress", json_object_get(tc, "id"),
                             json_object_get(fn, "name"), json_string(""));
        st->call_kind = k;
        st->call_index = index;
        ksm_buf_reset(&st->args);
        item_added(st, out, st->call_item);
    }
    if (!json_string_length(text) || !room(st, out, json_string_length(text)))
        return;
    ksm_buf_append(&st->args, json_string_value(text), json_string_length(text));
    emit(st, out, st->call_kind->delta, at(st, st->call_item, json_pack("{sO}", "delta", text)));
}

static void start(struct ksm_ai_responses *st, struct ksm_buf *out, const json_t *chunk)
{
    if (st->started)
        return;
    st->started = true;
    st->created = json_integer_value(json_object_get(chunk, "created"));
    if (!st->created)
        st->created = ksm_now_ms() / 1000;
    const char *model = json_string_value(json_object_get(chunk, "model"));
    st->model = model ? ksm_xstrdup(model) : NULL;
    emit(st, out, "response.created", json_pack("{so}", "response", response(st, "in_progress", json_null(), json_array(),
                                                                            json_null(), json_null())));
    emit(st, out, "response.in_progress", json_pack("{so}", "response", response(st, "in_progress", json_null(),
                                                                                json_array(), json_null(), json_null())));
}

static void finish(struct ksm_ai_responses *st, struct ksm_buf *out, const json_t *error)
{
    text_close(st, out);
    call_close(st, out);
    st->ended = true;
    json_t *details;
    const char *status = status_of(st->finish, &details), *type = "response.completed";
    json_t *err = json_null();
    if (error) {
        json_t *code = json_object_get(error, "code"), *msg = json_object_get(error, "message");
        err = json_pack("{so so}", "code", json_is_string(code) ? json_incref(code) : json_string("server_error"),
                        "message", json_is_string(msg) ? json_incref(msg) : json_string("the model's answer failed"));
        emit(st, out, "error", json_pack("{sO sO sn}", "code", json_object_get(err, "code"), "message",
                                         json_object_get(err, "message"), "param"));
        json_decref(details);
        details = json_null();
        status = "failed", type = "response.failed";
    } else if (!strcmp(status, "incomplete")) {
        type = "response.incomplete";
    }
    emit(st, out, type, json_pack("{so}", "response", response(st, status, details, json_incref(st->output),
                                                              usage_of(st->usage), err)));
}

/* The pieces of text (content, refusal, each call's arguments) a chat chunk carries: what the
 * call path counted as delivered when it restored them. */
static size_t text_pieces(const struct ksm_sse_event *ev)
{
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL), *tc;
    json_t *delta = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta");
    size_t n = json_string_length(json_object_get(delta, "content")) > 0, i;
    n += json_string_length(json_object_get(delta, "refusal")) > 0;
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc)
        for (size_t k = 0; k < KSM_NELEM(kinds); k++)
            n += json_string_length(json_object_get(json_object_get(tc, kinds[k].chat), kinds[k].text)) > 0;
    json_decref(j);
    return n;
}

static enum ksm_err on_chunk(void *ud, const struct ksm_sse_event *ev)
{
    struct ksm_ai_responses *st = ((void **)ud)[0];
    struct ksm_buf *out = ((void **)ud)[1];
    if (st->ended) {
        if (st->overflowed)
            st->refused += text_pieces(ev);
        return KSM_E_OK;
    }
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        start(st, out, NULL);
        finish(st, out, NULL);
        return KSM_E_OK;
    }
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL), *tc;
    start(st, out, j);
    if (json_object_get(j, "error")) {
        finish(st, out, json_object_get(j, "error"));
        json_decref(j);
        return KSM_E_OK;
    }
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0), *delta = json_object_get(choice, "delta");
    const char *fin = json_string_value(json_object_get(choice, "finish_reason"));
    size_t i;
    text_delta(st, out, json_object_get(delta, "refusal"), true);
    if (!st->ended)
        text_delta(st, out, json_object_get(delta, "content"), false);
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc)
        if (!st->ended)
            call_delta(st, out, tc);
    if (st->ended) {
        json_decref(j);
        return KSM_E_OK;
    }
    if (fin) {
        free(st->finish);
        st->finish = ksm_xstrdup(fin);
    }
    if (json_is_object(json_object_get(j, "usage"))) {
        json_decref(st->usage);
        st->usage = json_incref(json_object_get(j, "usage"));
    }
    json_decref(j);
    return KSM_E_OK;
}

void ksm_ai_responses_events(struct ksm_ai_responses *st, const char *sse, size_t len,
                             struct ksm_buf *out)
{
    void *ud[2] = {st, out};
    ksm_sse_feed(&st->sse, sse, len, on_chunk, ud);
}
