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
        if (p->msg != i || (i == SIZE_MAX && p->role != role))
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
    for (size_t i = 0; i < r->nmsgs; i++) {
        json_t *c = content_of(r, i, r->msgs[i].role);
        if (r->msgs[i].role != KSM_AI_ROLE_SYSTEM) {
            json_array_append_new(msgs, json_pack("{ss so}", "role",
                r->msgs[i].role == KSM_AI_ROLE_USER ? "user" : "assistant", "content", c));
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
        json_object_set_new(b, "metadata", json_pack("{ss}", "user_id", r->user));
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
    for (size_t i = 0; i < r->nmsgs; i++)
        json_array_append_new(msgs, json_pack("{ss so}", "role",
            r->msgs[i].role == KSM_AI_ROLE_USER ? "user" : "assistant", "content",
            content_of(r, i, r->msgs[i].role)));
    json_object_set_new(b, "messages", msgs);
    if (r->stop)
        json_object_set(b, "stop", r->stop);
    if (r->stream)
        json_object_set_new(b, "stream_options", json_pack("{sb}", "include_usage", 1));
    if (r->user)
        json_object_set_new(b, "user", json_string(r->user));
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
