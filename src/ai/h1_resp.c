/* h1_resp.c — one HTTP/1.1 response through llhttp (see h1_resp.h). Interim 1xx responses (100,
 * 103) are skipped; the parser is paused at the end of the final response, so that bytes after it
 * (which a well-behaved server never sends on a request/response connection) are not taken for a
 * second response and the caller can refuse to reuse the connection. */
#include "ai/h1_resp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct ksm_h1_resp *of(llhttp_t *p) { return p->data; }

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_h1_resp *r = of(p);
    size_t room = sizeof r->field - 1 - r->field_len;
    size_t n = len < room ? len : room;
    memcpy(r->field + r->field_len, at, n);
    r->field_len += n;
    if (n < len)
        r->field_len = sizeof r->field - 1;   /* longer than any name we keep: matches nothing */
    r->field[r->field_len] = '\0';
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_h1_resp *r = of(p);
    size_t room = sizeof r->value - 1 - r->value_len;
    size_t n = len < room ? len : room;
    memcpy(r->value + r->value_len, at, n);
    r->value_len += n;
    r->value[r->value_len] = '\0';
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct ksm_h1_resp *r = of(p);
    if (!strcasecmp(r->field, "content-type")) {
        memcpy(r->content_type, r->value, r->value_len + 1);
    } else if (!strcasecmp(r->field, "retry-after")) {
        char *end;
        long v = strtol(r->value, &end, 10);
        r->retry_after = end != r->value && v >= 0 ? v : -1;
    }
    r->field_len = r->value_len = 0;
    r->field[0] = r->value[0] = '\0';
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct ksm_h1_resp *r = of(p);
    if (p->status_code < 100)
        return -1;   /* llhttp reads any three digits; no such status exists */
    if (p->status_code < 200)
        return 0;   /* interim: its headers are forgotten with it */
    r->status = p->status_code;
    r->headers_done = true;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_h1_resp *r = of(p);
    if (!r->headers_done || !len)
        return 0;
    return r->on_body(r->arg, at, len) ? -1 : 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct ksm_h1_resp *r = of(p);
    if (!r->headers_done) {   /* the end of a 1xx: forget what it set, read on */
        r->content_type[0] = '\0';
        r->retry_after = -1;
        return 0;
    }
    r->complete = true;
    r->keep_alive = llhttp_should_keep_alive(p);
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void ksm_h1_resp_init(struct ksm_h1_resp *r, void *arg,
                      bool (*body_cb)(void *arg, const char *p, size_t n))
{
    memset(r, 0, sizeof *r);
    llhttp_init(&r->parser, HTTP_RESPONSE, &settings);
    r->parser.data = r;
    r->arg = arg;
    r->on_body = body_cb;
    r->retry_after = -1;
}

enum ksm_h1_feed ksm_h1_resp_feed(struct ksm_h1_resp *r, const char *p, size_t n, size_t *used)
{
    *used = n;
    if (r->complete)
        return *used = 0, KSM_H1_DONE;
    llhttp_errno_t e = llhttp_execute(&r->parser, p, n);
    switch (e) {
    case HPE_OK: return KSM_H1_MORE;
    case HPE_PAUSED:
        *used = (size_t)(llhttp_get_error_pos(&r->parser) - p);
        return KSM_H1_DONE;
    case HPE_USER: return KSM_H1_STOPPED;   /* on_body said stop */
    default: return KSM_H1_BAD;
    }
}

enum ksm_h1_feed ksm_h1_resp_eof(struct ksm_h1_resp *r)
{
    if (r->complete)
        return KSM_H1_DONE;
    if (!r->headers_done)
        return KSM_H1_BAD;
    /* a body delimited by the close completes here (on_message_complete runs) */
    llhttp_errno_t e = llhttp_finish(&r->parser);
    return (e == HPE_OK || e == HPE_PAUSED) && r->complete ? KSM_H1_DONE : KSM_H1_BAD;
}
