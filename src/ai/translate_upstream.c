/* translate_upstream.c — the request body sent to the provider. Same protocol: the caller's body,
 * model replaced, usage forced on OpenAI streams. Across protocols: a new body built from the decoded
 * request, after refusing whatever would not survive the trip (see docs/ai-protocols.md). */
#include "ai/translate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/jscan.h"
#include "core/util.h"

#define DEFAULT_MAX_TOKENS 4096

static enum ksm_err refuse(char *err, const struct ksm_ai_request *r, enum ksm_ai_proto to,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum ksm_err refuse(char *err, const struct ksm_ai_request *r, enum ksm_ai_proto to,
                           const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* what may hold a caller's JSON key: cut to 120 bytes of whole characters first, so the
     * "%.120s" below (the bound the compiler checks) never halves one */
    ksm_utf8_cut(what, 120);
    snprintf(err, KSM_AI_ERR_MAX,
             "%.120s cannot be translated from the %s API to this model's provider (%s); "
             "use a model served over the %s API",
             what, ksm_ai_proto_name(r->proto), ksm_ai_proto_name(to), ksm_ai_proto_name(r->proto));
    return KSM_E_UNSUPPORTED_PARAMETER;
}

static json_t *text_block(json_t *node)
{
    return json_pack("{ss sO}", "type", "text", "text", node);
}

/* The parts of message i (or of the top-level system, i == SIZE_MAX) as content: a plain string when
 * there is one part, else an array of text blocks (both APIs accept both shapes). Anthropic refuses
 * empty text blocks, so empty parts are left out of arrays. */
static json_t *content_of(const struct ksm_ai_request *r, size_t i, enum ksm_ai_role role)
{
    json_t *arr = json_array(), *only = NULL;
    size_t n = 0;
    for (size_t k = 0; k < r->nparts; k++) {
        const struct ksm_ai_part *p = &r->parts[k];
        /* tool results inside an Anthropic user turn, and tool-call texts, are not its text */
        if (p->msg != i || p->role != role || p->call)
            continue;
        only = p->node;
        n++;
        if (json_string_length(p->node))
            json_array_append_new(arr, text_block(p->node));
    }
    if (n == 1) {
        json_decref(arr);
        return json_incref(only);
    }
    return arr;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- tools, OpenAI -> Anthropic ---------------------------------------------------------------- */

/* tools and tool_choice (with parallel_tool_calls) as Anthropic says them; decode checked the
 * shapes (a request that got here holds nothing untranslatable). */
static void tools_to_anthropic(const json_t *in, json_t *b)
{
    json_t *tools = json_object_get(in, "tools"), *t, *out = json_array();
    json_t *tc = json_object_get(in, "tool_choice"), *choice = NULL;
    size_t k;
    json_array_foreach(tools, k, t) {
        json_t *fn = json_object_get(t, "function"), *params = json_object_get(fn, "parameters");
        json_t *o = json_pack("{sO}", "name", json_object_get(fn, "name"));
        if (str(fn, "description"))
            json_object_set(o, "description", json_object_get(fn, "description"));
        json_object_set_new(o, "input_schema", params ? json_incref(params)
                                                      : json_pack("{ss s{}}", "type", "object",
                                                                  "properties"));
        json_array_append_new(out, o);
    }
    if (json_array_size(out))
        json_object_set(b, "tools", out);
    json_decref(out);
    if (json_is_string(tc)) {
        static const char *const map[][2] = {{"auto", "auto"}, {"none", "none"}, {"required", "any"}};
        for (size_t i = 0; i < KSM_NELEM(map); i++)
            if (!strcmp(json_string_value(tc), map[i][0]))
                choice = json_pack("{ss}", "type", map[i][1]);
    } else if (json_is_object(tc)) {   /* null: absent, as decode reads it */
        choice = json_pack("{ss sO}", "type", "tool", "name",
                           json_object_get(json_object_get(tc, "function"), "name"));
    }
    if (json_is_false(json_object_get(in, "parallel_tool_calls")) &&
        (!choice || strcmp(str(choice, "type"), "none"))) {
        if (!choice)
            choice = json_pack("{ss}", "type", "auto");
        json_object_set_new(choice, "disable_parallel_tool_use", json_true());
    }
    if (choice)
        json_object_set_new(b, "tool_choice", choice);
}

/* content as an array of blocks (a string: one text block, none if empty); a new reference. */
static json_t *as_blocks(json_t *content)
{
    if (json_is_array(content))
        return json_incref(content);
    json_t *arr = json_array();
    if (json_string_length(content))
        json_array_append_new(arr, text_block(content));
    return arr;
}

/* Appends a user turn (content stolen) to an Anthropic messages array. The results of one assistant
 * turn's tool calls must all be in the user turn right after it, ahead of any text: OpenAI's tool
 * messages, one per result, and the user message after them are joined into that one turn
 * (Anthropic's API joins consecutive user turns itself; servers that speak its API may not).
 * *open: the last turn is such a turn, still taking results (or its closing text). */
static void user_turn(json_t *msgs, json_t *content, bool result, bool *open)
{
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    if (!*open) {
        json_array_append_new(msgs, json_pack("{ss so}", "role", "user", "content", content));
        *open = result;
        return;
    }
    json_t *joined = as_blocks(json_object_get(last, "content")), *more = as_blocks(content);
    json_array_extend(joined, more);
    json_decref(more);
    json_decref(content);
    json_object_set_new(last, "content", joined);
    *open = result;   /* text closes the turn */
}

/* An OpenAI assistant turn: its text, then a tool_use block per tool call. The arguments are JSON
 * text (masked like text); Anthropic takes an object. */
static enum ksm_err assistant_to_anthropic(const struct ksm_ai_request *r, size_t i, const json_t *m,
                                           enum ksm_ai_proto to, json_t **content, char *err)
{
    json_t *calls = json_object_get(m, "tool_calls"), *tc, *use;
    size_t k;
    if (!json_array_size(calls))
        return KSM_E_OK;
    json_t *blocks = as_blocks(*content);
    json_decref(*content);
    *content = blocks;
    json_array_foreach(calls, k, tc) {
        if (!(use = ksm_ai_tool_use_block(tc, NULL, NULL)))
            return refuse(err, r, to, "messages[%zu].tool_calls[%zu].function.arguments that are not "
                          "a JSON object", i, k);
        json_array_append_new(blocks, use);
    }
    return KSM_E_OK;
}

/* ---- tools, Anthropic -> OpenAI ---------------------------------------------------------------- */

static void tools_to_openai(const json_t *in, json_t *b)
{
    json_t *tools = json_object_get(in, "tools"), *t, *out = json_array();
    json_t *tc = json_object_get(in, "tool_choice");
    const char *type = str(tc, "type");
    size_t k;
    json_array_foreach(tools, k, t) {
        json_t *fn = json_pack("{sO sO}", "name", json_object_get(t, "name"), "parameters",
                               json_object_get(t, "input_schema"));
        if (str(t, "description"))
            json_object_set(fn, "description", json_object_get(t, "description"));
        json_array_append_new(out, json_pack("{ss so}", "type", "function", "function", fn));
    }
    if (json_array_size(out))
        json_object_set(b, "tools", out);
    json_decref(out);
    if (type && !strcmp(type, "tool"))
        json_object_set_new(b, "tool_choice", json_pack("{ss s{sO}}", "type", "function", "function",
                                                        "name", json_object_get(tc, "name")));
    else if (type)
        json_object_set_new(b, "tool_choice", json_string(!strcmp(type, "any") ? "required" : type));
    if (json_is_true(json_object_get(tc, "disable_parallel_tool_use")))
        json_object_set_new(b, "parallel_tool_calls", json_false());
}

/* A tool_result's content as an OpenAI tool message's: a string, or text parts. */
static json_t *tool_result_content(const json_t *c)
{
    json_t *arr, *p;
    size_t k;
    if (!json_is_array(c))
        return json_is_string(c) ? json_incref((json_t *)c) : json_string("");
    arr = json_array();
    json_array_foreach(c, k, p)
        json_array_append_new(arr, json_pack("{ss sO}", "type", "text", "text",
                                             json_object_get(p, "text")));
    return arr;
}

/* An Anthropic user turn: its tool results first, each an OpenAI tool message (which must follow
 * the assistant turn that called), then its text, if it has any or nothing else. */
static void user_to_openai(const struct ksm_ai_request *r, size_t i, const json_t *m, json_t *msgs)
{
    json_t *blocks = json_object_get(m, "content"), *b;
    size_t k, results = 0;
    json_array_foreach(blocks, k, b) {
        if (!str(b, "type") || strcmp(str(b, "type"), "tool_result"))
            continue;
        json_array_append_new(msgs, json_pack("{ss sO so}", "role", "tool", "tool_call_id",
                                              json_object_get(b, "tool_use_id"), "content",
                                              tool_result_content(json_object_get(b, "content"))));
        results++;
    }
    json_t *c = content_of(r, i, KSM_AI_ROLE_USER);
    if (results && !json_is_string(c) && !json_array_size(c))
        json_decref(c);
    else
        json_array_append_new(msgs, json_pack("{ss so}", "role", "user", "content", c));
}

/* An Anthropic assistant turn: its text, and its tool_use blocks as tool_calls (the input as JSON
 * text, compact). */
static json_t *assistant_to_openai(const struct ksm_ai_request *r, size_t i, const json_t *m)
{
    json_t *c = content_of(r, i, KSM_AI_ROLE_ASSISTANT), *calls = json_array(), *b;
    size_t k;
    json_array_foreach(json_object_get(m, "content"), k, b) {
        if (str(b, "type") && !strcmp(str(b, "type"), "tool_use"))
            json_array_append_new(calls, ksm_ai_tool_call(b, NULL, NULL));
    }
    json_t *msg = json_pack("{ss so}", "role", "assistant", "content", c);
    if (json_array_size(calls)) {
        if (!json_is_string(c) ? !json_array_size(c) : !json_string_length(c))
            json_object_set_new(msg, "content", json_null());
        json_object_set(msg, "tool_calls", calls);
    }
    json_decref(calls);
    return msg;
}

static void set_common(const struct ksm_ai_request *r, json_t *b, const struct ksm_ai_upstream_opts *o)
{
    json_object_set_new(b, "model", json_string(o->model ? o->model : r->model));
    if (r->has_temperature)
        json_object_set_new(b, "temperature", json_real(r->temperature));
    if (r->has_top_p)
        json_object_set_new(b, "top_p", json_real(r->top_p));
    if (r->stream)
        json_object_set_new(b, "stream", json_true());
}

static enum ksm_err to_anthropic(const struct ksm_ai_request *r, const struct ksm_ai_upstream_opts *o,
                                 json_t **out, char *err)
{
    json_t *b, *msgs, *sys;
    if (r->has_temperature && r->temperature > 1)
        return refuse(err, r, o->proto, "temperature above 1 (Anthropic's range is 0 to 1)");
    b = json_object();
    sys = json_array();
    set_common(r, b, o);
    json_object_set_new(b, "max_tokens", json_integer(r->max_tokens ? r->max_tokens
                                                      : o->default_max_tokens ? o->default_max_tokens
                                                      : DEFAULT_MAX_TOKENS));
    /* OpenAI system and developer messages, wherever they stand, become the one top-level system:
     * Anthropic has no system role inside the conversation. */
    msgs = json_array();
    json_t *in = json_object_get(r->body, "messages");
    bool open = false;   /* user_turn's */
    for (size_t i = 0; i < r->nmsgs; i++) {
        json_t *c = content_of(r, i, r->msgs[i].role), *m = json_array_get(in, i);
        enum ksm_ai_role role = r->msgs[i].role;
        if (role == KSM_AI_ROLE_TOOL) {
            user_turn(msgs, json_pack("[{ss sO so}]", "type", "tool_result", "tool_use_id",
                                      json_object_get(m, "tool_call_id"), "content", c),
                      true, &open);
            continue;
        }
        if (role == KSM_AI_ROLE_ASSISTANT &&
            assistant_to_anthropic(r, i, m, o->proto, &c, err) != KSM_E_OK) {
            json_decref(c);
            json_decref(msgs);
            json_decref(sys);
            json_decref(b);
            return KSM_E_UNSUPPORTED_PARAMETER;
        }
        if (role == KSM_AI_ROLE_USER) {
            user_turn(msgs, c, false, &open);
            continue;
        }
        if (role == KSM_AI_ROLE_ASSISTANT) {
            json_array_append_new(msgs, json_pack("{ss so}", "role", "assistant", "content", c));
            open = false;
            continue;
        }
        if (json_is_string(c)) {
            if (json_string_length(c))
                json_array_append_new(sys, text_block(c));
            json_decref(c);
        } else {
            json_array_extend(sys, c);
            json_decref(c);
        }
    }
    json_object_set_new(b, "messages", msgs);
    if (json_array_size(sys))
        json_object_set(b, "system", sys);
    if (r->stop)
        json_object_set(b, "stop_sequences", r->stop);
    if (r->user)
        json_object_set_new(b, "metadata", json_pack("{sO}", "user_id", r->user));
    tools_to_anthropic(r->body, b);
    json_decref(sys);
    *out = b;
    return KSM_E_OK;
}

static enum ksm_err to_openai(const struct ksm_ai_request *r, const struct ksm_ai_upstream_opts *o,
                              json_t **out, char *err)
{
    json_t *b, *msgs, *sys;
    if (r->stop && json_array_size(r->stop) > 4)
        return refuse(err, r, o->proto, "more than 4 stop_sequences");
    b = json_object();
    set_common(r, b, o);
    json_object_set_new(b, o->legacy_max_tokens ? "max_tokens" : "max_completion_tokens",
                        json_integer(r->max_tokens));
    msgs = json_array();
    sys = content_of(r, SIZE_MAX, KSM_AI_ROLE_SYSTEM);
    if (json_is_string(sys) || json_array_size(sys))
        json_array_append_new(msgs, json_pack("{ss sO}", "role", "system", "content", sys));
    json_decref(sys);
    json_t *in = json_object_get(r->body, "messages");
    for (size_t i = 0; i < r->nmsgs; i++) {
        if (r->msgs[i].role == KSM_AI_ROLE_USER)
            user_to_openai(r, i, json_array_get(in, i), msgs);
        else
            json_array_append_new(msgs, assistant_to_openai(r, i, json_array_get(in, i)));
    }
    json_object_set_new(b, "messages", msgs);
    tools_to_openai(r->body, b);
    if (r->stop)
        json_object_set(b, "stop", r->stop);
    if (r->stream)
        json_object_set_new(b, "stream_options", json_pack("{sb}", "include_usage", 1));
    if (r->user)
        json_object_set(b, "user", r->user);
    *out = b;
    return KSM_E_OK;
}

/* Same protocol: everything the caller sent goes on, including fields kasumi does not model. */
static enum ksm_err passthrough(const struct ksm_ai_request *r, const struct ksm_ai_upstream_opts *o,
                                json_t **out)
{
    json_t *b = json_deep_copy(r->body);
    if (o->model)
        json_object_set_new(b, "model", json_string(o->model));
    if (r->proto == KSM_AI_OPENAI && r->stream) {
        json_t *so = json_object_get(b, "stream_options");
        if (!json_is_object(so))
            json_object_set_new(b, "stream_options", so = json_object());
        json_object_set_new(so, "include_usage", json_true());
    }
    *out = b;
    return KSM_E_OK;
}

/* ---- the same-protocol body as bytes ------------------------------------------------------------ */

struct edit {
    size_t off, len;   /* the bytes of the body replaced (len 0: an insertion at off) */
    struct ksm_buf text;
};

/* stream_options.include_usage = true, as passthrough() sets it. so: the member, or NULL. */
static int usage_edit(const char *body, const struct ksm_jscan_member *so, size_t close,
                      struct edit *ed)
{
    struct ksm_jscan_member m[16];
    if (!so) {
        *ed = (struct edit){.off = close};
        ksm_buf_puts(&ed->text, ",\"stream_options\":{\"include_usage\":true}");
        return 0;
    }
    if (!ksm_jscan_is_object(so)) {   /* null: absent, as decode reads it */
        *ed = (struct edit){.off = (size_t)(so->val - body), .len = so->val_len};
        ksm_buf_puts(&ed->text, "{\"include_usage\":true}");
        return 0;
    }
    int n = ksm_jscan_object(so->val, so->val_len, m, (int)KSM_NELEM(m), NULL);
    if (n < 0)
        return -1;
    const struct ksm_jscan_member *iu = ksm_jscan_get(m, n, "include_usage");
    if (iu) {
        *ed = (struct edit){.off = (size_t)(iu->val - body), .len = iu->val_len};
        ksm_buf_puts(&ed->text, "true");
    } else {
        *ed = (struct edit){.off = (size_t)(so->val - body) + 1};
        ksm_buf_puts(&ed->text, n ? "\"include_usage\":true," : "\"include_usage\":true");
    }
    return 0;
}

int ksm_ai_upstream_body_raw(const struct ksm_ai_request *req, const char *body, size_t len,
                             const struct ksm_ai_upstream_opts *o, struct ksm_buf *out)
{
    struct ksm_jscan_member scanned[KSM_AI_RAW_MEMBERS];
    const struct ksm_jscan_member *m = scanned;
    struct edit ed[2] = {{0}};
    size_t close, ned = 0, at = 0;
    int n, rc = -1;
    if (req->proto != o->proto || req->rewritten)
        return -1;
    if (req->raw && req->raw == body && req->raw_len == len) {   /* the decoder read these bytes */
        m = req->rawm, n = req->nraw, close = req->raw_close;
    } else {
        n = ksm_jscan_object(body, len, scanned, KSM_AI_RAW_MEMBERS, &close);
    }
    if (n < 0)
        return -1;
    const struct ksm_jscan_member *model = ksm_jscan_get(m, n, "model");
    if (o->model && model) {
        ed[ned] = (struct edit){.off = (size_t)(model->val - body), .len = model->val_len};
        ksm_buf_json_str(&ed[ned++].text, o->model);
    }
    if (req->proto == KSM_AI_OPENAI && req->stream &&
        usage_edit(body, ksm_jscan_get(m, n, "stream_options"), close, &ed[ned++]))
        goto done;
    if (ned == 2 && ed[1].off < ed[0].off) {
        struct edit t = ed[0];
        ed[0] = ed[1];
        ed[1] = t;
    }
    ksm_buf_reserve(out, len + 64);
    for (size_t i = 0; i < ned; i++) {
        ksm_buf_append(out, body + at, ed[i].off - at);
        ksm_buf_append(out, ed[i].text.data, ed[i].text.len);
        at = ed[i].off + ed[i].len;
    }
    ksm_buf_append(out, body + at, len - at);
    rc = 0;
done:
    for (size_t i = 0; i < KSM_NELEM(ed); i++)
        ksm_buf_free(&ed[i].text);
    return rc;
}

enum ksm_err ksm_ai_upstream_body(const struct ksm_ai_request *req,
                                  const struct ksm_ai_upstream_opts *o, json_t **out,
                                  char err[KSM_AI_ERR_MAX])
{
    *out = NULL;
    err[0] = '\0';
    if (!req->body)
        return KSM_E_INTERNAL;
    if (req->proto == o->proto)
        return passthrough(req, o, out);
    if (req->untranslatable[0])
        return refuse(err, req, o->proto, "'%s'", req->untranslatable);
    return o->proto == KSM_AI_ANTHROPIC ? to_anthropic(req, o, out, err)
                                        : to_openai(req, o, out, err);
}

const char *ksm_ai_proto_name(enum ksm_ai_proto p)
{
    return p == KSM_AI_ANTHROPIC ? "anthropic" : "openai";
}
