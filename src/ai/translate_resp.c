/* translate_resp.c — non-streamed responses: OpenAI chat.completion <-> Anthropic message, with
 * usage and the finish_reason <-> stop_reason table shared with the stream translators. */
#include "ai/translate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jscan.h"
#include "core/util.h"

#define RAW_MEMBERS 64   /* top-level fields of an answer the byte path reads; more: the tree path */

/* Anthropic stop_reason <-> OpenAI finish_reason. The first row for a finish_reason is the one it
 * maps back to. OpenAI cannot say which stop sequence fired, so "stop" comes back as end_turn. */
static const struct {
    const char *stop, *finish;
} stop_map[] = {
    {"end_turn", "stop"},
    {"max_tokens", "length"},
    {"tool_use", "tool_calls"},
    {"refusal", "content_filter"},
    {"stop_sequence", "stop"},
    {"pause_turn", "stop"},
    {"model_context_window_exceeded", "length"},
    {"tool_use", "function_call"},
};

const char *ksm_ai_stop_to_finish(const char *stop_reason)
{
    for (size_t i = 0; stop_reason && i < KSM_NELEM(stop_map); i++)
        if (!strcmp(stop_map[i].stop, stop_reason))
            return stop_map[i].finish;
    return "stop";
}

const char *ksm_ai_finish_to_stop(const char *finish_reason)
{
    for (size_t i = 0; finish_reason && i < KSM_NELEM(stop_map); i++)
        if (!strcmp(stop_map[i].finish, finish_reason))
            return stop_map[i].stop;
    return "end_turn";
}

static enum ksm_err bad(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static enum ksm_err bad(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, KSM_AI_ERR_MAX, fmt, ap);
    va_end(ap);
    return KSM_E_UPSTREAM_ERROR;
}

/* Runs a whole text through the filter; returns a new JSON string. */
static json_t *filtered(ksm_ai_text_filter filter, void *ud, const char *s, size_t n)
{
    struct ksm_buf b = KSM_BUF_INIT;
    json_t *j;
    if (!filter)
        return json_stringn(s, n);
    filter(ud, s, n, true, &b);
    j = json_stringn(b.data ? b.data : "", b.len);
    ksm_buf_free(&b);
    return j ? j : json_string("");   /* a filter that broke UTF-8 loses its output, not the reply */
}

/* Rewrites a text node in place through the filter (same-protocol responses). */
static void filter_node(json_t *node, ksm_ai_text_filter filter, void *ud)
{
    if (!filter || !json_is_string(node))
        return;
    json_t *t = filtered(filter, ud, json_string_value(node), json_string_length(node));
    json_string_setn(node, json_string_value(t), json_string_length(t));
    json_decref(t);
}

static void filter_leaves(json_t *v, ksm_ai_text_filter filter, void *ud, int depth)
{
    const char *key;
    json_t *x;
    size_t i;
    if (depth > 64)
        return;
    if (json_is_string(v))
        filter_node(v, filter, ud);
    else if (json_is_object(v))
        json_object_foreach(v, key, x)
            filter_leaves(x, filter, ud, depth + 1);
    else if (json_is_array(v))
        json_array_foreach(v, i, x)
            filter_leaves(x, filter, ud, depth + 1);
}

void ksm_ai_filter_strings(json_t *v, ksm_ai_text_filter filter, void *ud)
{
    filter_leaves(v, filter, ud, 0);
}

/* An OpenAI message: its text, and the arguments of its tool calls (JSON text, restored as text). */
static void filter_openai_message(json_t *msg, const struct ksm_ai_filters *f)
{
    json_t *tc;
    size_t i;
    if (f->drop_reasoning && json_is_object(msg)) {
        json_object_del(msg, "reasoning_content");
        json_object_del(msg, "reasoning");
    }
    filter_node(json_object_get(msg, "content"), f->text, f->ud);
    filter_node(json_object_get(msg, "refusal"), f->text, f->ud);   /* the model's words too */
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        filter_node(json_object_get(json_object_get(tc, "function"), "arguments"), f->args, f->ud);
        filter_node(json_object_get(json_object_get(tc, "custom"), "input"), f->args, f->ud);
    }
    json_t *fc = json_object_get(msg, "function_call");
    filter_node(json_object_get(fc, "arguments"), f->args, f->ud);
}

/* A tool_use block's input through the arguments' filter as the JSON text a stream would carry it
 * in (input_json_delta), so that both paths read it alike: a number in it, and a key beside its
 * value. Should the text not read back as an object (a filter that does not keep JSON: the
 * gateway's does, pii_args.c), each string of the input goes through the filter instead. */
static void filter_input(json_t *b, ksm_ai_text_filter filter, void *ud)
{
    json_t *in = json_object_get(b, "input");
    char *text = filter && in ? json_dumps(in, JSON_COMPACT) : NULL;
    if (!text)
        return;
    json_t *t = filtered(filter, ud, text, strlen(text));
    json_t *o = json_loads(json_string_value(t), JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(o))
        json_object_set(b, "input", o);
    else
        ksm_ai_filter_strings(in, filter, ud);
    json_decref(o);
    json_decref(t);
    free(text);
}

static void filter_anthropic_block(json_t *b, const struct ksm_ai_filters *f)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    if (type && !strcmp(type, "text")) {
        filter_node(json_object_get(b, "text"), f->text, f->ud);
        /* a masked document's quotes: restored, not redacted as the model's own text */
        ksm_ai_filter_strings(json_object_get(b, "citations"), f->quotes, f->ud);
    } else if (type && !strcmp(type, "tool_use"))
        filter_input(b, f->args, f->ud);
}

static enum ksm_err same_protocol(enum ksm_ai_proto p, const json_t *in, const char *model,
                                  const struct ksm_ai_filters *f, json_t **out,
                                  struct ksm_ai_usage *u)
{
    json_t *o = json_deep_copy(in), *x;
    size_t i;
    if (model)
        json_object_set_new(o, "model", json_string(model));
    if (p == KSM_AI_OPENAI) {
        ksm_ai_usage_from_openai(o, u);
        json_array_foreach(json_object_get(o, "choices"), i, x)
            filter_openai_message(json_object_get(x, "message"), f);
    } else {
        ksm_ai_usage_from_anthropic(o, u);
        json_array_foreach(json_object_get(o, "content"), i, x)
            filter_anthropic_block(x, f);
    }
    *out = o;
    return KSM_E_OK;
}

static const char *model_of(const json_t *in, const char *model)
{
    const char *m = json_string_value(json_object_get(in, "model"));
    return model ? model : m ? m : "";
}

json_t *ksm_ai_tool_use_block(const json_t *call, ksm_ai_text_filter filter, void *ud)
{
    json_t *fn = json_object_get(call, "function"), *args = json_object_get(fn, "arguments");
    json_t *text = filtered(filter, ud, json_string_value(args) ? json_string_value(args) : "",
                            json_string_length(args));
    json_t *input = json_string_length(text)
                        ? json_loads(json_string_value(text), JSON_REJECT_DUPLICATES, NULL)
                        : json_object();
    json_decref(text);
    const char *id = json_string_value(json_object_get(call, "id"));
    const char *name = json_string_value(json_object_get(fn, "name"));
    if (!json_is_object(input) || !name) {
        json_decref(input);
        return NULL;
    }
    return json_pack("{ss ss ss so}", "type", "tool_use", "id", id ? id : "toolu_kasumi", "name",
                     name, "input", input);
}

/* OpenAI tool calls as tool_use blocks appended to content. Nonzero if a call's arguments are not
 * a JSON object. */
static int tool_uses(const json_t *calls, ksm_ai_text_filter filter, void *ud, json_t *content)
{
    json_t *tc, *use;
    size_t i;
    json_array_foreach(calls, i, tc) {
        if (!(use = ksm_ai_tool_use_block(tc, filter, ud)))
            return -1;
        json_array_append_new(content, use);
    }
    return 0;
}

static enum ksm_err openai_to_anthropic(const json_t *in, const char *model,
                                        const struct ksm_ai_filters *f, json_t **out,
                                        struct ksm_ai_usage *u, char *err)
{
    json_t *c0 = json_array_get(json_object_get(in, "choices"), 0);
    json_t *msg = json_object_get(c0, "message");
    json_t *text = json_object_get(msg, "content"), *content;
    json_t *refusal = json_object_get(msg, "refusal");
    const char *finish = json_string_value(json_object_get(c0, "finish_reason"));
    const char *id = json_string_value(json_object_get(in, "id"));

    if (!json_is_object(msg))
        return bad(err, "the provider's response has no choices[0].message");
    if (json_is_string(refusal)) {   /* a refusal is text the user must see */
        text = refusal;
        finish = "content_filter";
    }
    content = json_array();
    if (json_is_string(text) && json_string_length(text))
        json_array_append_new(content, json_pack("{ss so}", "type", "text", "text",
            filtered(f->text, f->ud, json_string_value(text), json_string_length(text))));
    if (tool_uses(json_object_get(msg, "tool_calls"), f->args, f->ud, content)) {
        json_decref(content);
        return bad(err, "the provider returned a tool call whose arguments are not a JSON object");
    }
    ksm_ai_usage_from_openai(in, u);
    *out = json_pack("{ss ss ss ss so ss sn so}", "id", id ? id : "msg_kasumi", "type", "message",
                     "role", "assistant", "model", model_of(in, model), "content", content,
                     "stop_reason", ksm_ai_finish_to_stop(finish), "stop_sequence", "usage",
                     ksm_ai_usage_anthropic_json(u));
    return *out ? KSM_E_OK : bad(err, "the provider's response could not be translated");
}

json_t *ksm_ai_tool_call(const json_t *b, ksm_ai_text_filter filter, void *ud)
{
    char *args = json_dumps(json_object_get(b, "input"), JSON_COMPACT);
    json_t *a = filtered(filter, ud, args ? args : "{}", args ? strlen(args) : 2);
    const char *id = json_string_value(json_object_get(b, "id"));
    const char *name = json_string_value(json_object_get(b, "name"));
    free(args);
    return json_pack("{ss ss s{ss so}}", "id", id ? id : "call_kasumi", "type", "function",
                     "function", "name", name ? name : "", "arguments", a);
}

static enum ksm_err anthropic_to_openai(const json_t *in, const char *model,
                                        const struct ksm_ai_filters *f, json_t **out,
                                        struct ksm_ai_usage *u, char *err)
{
    struct ksm_buf text = KSM_BUF_INIT;
    json_t *blocks = json_object_get(in, "content"), *b, *msg;
    const char *id = json_string_value(json_object_get(in, "id"));
    size_t i;

    if (!json_is_array(blocks))
        return bad(err, "the provider's response has no content array");
    json_t *calls = json_array();
    json_array_foreach(blocks, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type && !strcmp(type, "text")) {
            json_t *t = json_object_get(b, "text");
            ksm_buf_append(&text, json_string_value(t) ? json_string_value(t) : "",
                           json_string_length(t));
        } else if (type && !strcmp(type, "tool_use")) {
            json_array_append_new(calls, ksm_ai_tool_call(b, f->args, f->ud));
        }   /* thinking and server-tool blocks are only produced on request, which cross routes
               refuse */
    }
    msg = json_pack("{ss so sn}", "role", "assistant", "content",
                    filtered(f->text, f->ud, text.data ? text.data : "", text.len), "refusal");
    if (json_array_size(calls)) {
        if (!text.len)
            json_object_set_new(msg, "content", json_null());
        json_object_set(msg, "tool_calls", calls);
    }
    json_decref(calls);
    ksm_buf_free(&text);
    ksm_ai_usage_from_anthropic(in, u);
    *out = json_pack("{ss ss sI ss s[{si so sn ss}] so}", "id", id ? id : "chatcmpl-kasumi",
                     "object", "chat.completion", "created", (json_int_t)(ksm_now_ms() / 1000),
                     "model", model_of(in, model), "choices", "index", 0, "message", msg,
                     "logprobs", "finish_reason",
                     ksm_ai_stop_to_finish(json_string_value(json_object_get(in, "stop_reason"))),
                     "usage", ksm_ai_usage_openai_json(u));
    return *out ? KSM_E_OK : bad(err, "the provider's response could not be translated");
}

enum ksm_err ksm_ai_response_translate(enum ksm_ai_proto from, enum ksm_ai_proto to,
                                       const json_t *in, const char *model,
                                       const struct ksm_ai_filters *f, json_t **out,
                                       struct ksm_ai_usage *usage, char err[KSM_AI_ERR_MAX])
{
    static const struct ksm_ai_filters none;
    f = f ? f : &none;
    *out = NULL;
    err[0] = '\0';
    if (!json_is_object(in))
        return bad(err, "the provider's response is not a JSON object");
    if (from == to)
        return same_protocol(from, in, model, f, out, usage);
    return from == KSM_AI_OPENAI ? openai_to_anthropic(in, model, f, out, usage, err)
                                 : anthropic_to_openai(in, model, f, out, usage, err);
}

int ksm_ai_response_passthrough(enum ksm_ai_proto p, const char *body, size_t len,
                                const char *model, struct ksm_buf *out, struct ksm_ai_usage *usage)
{
    struct ksm_jscan_member m[RAW_MEMBERS];
    size_t close, at, skip = 0;
    int n = ksm_jscan_object(body, len, m, RAW_MEMBERS, &close);
    if (n < 0)
        return -1;
    struct ksm_ai_usage u = *usage;
    if ((p == KSM_AI_OPENAI ? ksm_ai_usage_from_openai_raw(m, n, &u)
                            : ksm_ai_usage_from_anthropic_raw(m, n, &u)) < 0)
        return -1;
    *usage = u;
    const struct ksm_jscan_member *mm = model ? ksm_jscan_get(m, n, "model") : NULL;
    at = !model ? len : mm ? (size_t)(mm->val - body) : close;
    if (mm)
        skip = mm->val_len;
    ksm_buf_reserve(out, len + (model ? strlen(model) + 16 : 0));
    ksm_buf_append(out, body, at);
    if (model && !mm)
        ksm_buf_puts(out, n ? ",\"model\":" : "\"model\":");
    if (model)
        ksm_buf_json_str(out, model);
    ksm_buf_append(out, body + at + skip, len - at - skip);
    return 0;
}
