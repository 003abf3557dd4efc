/* sse.c — incremental Server-Sent Events parser and writer (see sse.h). The parser copies each line
 * once into p->line, then moves field values into the event being assembled; an event is the only
 * thing ever buffered, so memory is bounded by max_event whatever the stream length. */
#include "ai/sse.h"

#include <string.h>

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

void ksm_sse_init(struct ksm_sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof(*p));
    p->max_event = max_event ? max_event : KSM_SSE_DEFAULT_MAX;
    p->retry_ms = -1;
    p->err = KSM_E_OK;
}

void ksm_sse_free(struct ksm_sse_parser *p)
{
    ksm_buf_free(&p->line);
    ksm_buf_free(&p->data);
    ksm_buf_free(&p->event);
    ksm_buf_free(&p->id);
}

static const char *str_or_empty(const struct ksm_buf *b) { return b->data ? b->data : ""; }

static void buf_set(struct ksm_buf *b, const char *s, size_t n)
{
    ksm_buf_reset(b);
    ksm_buf_append(b, s, n);
}

static enum ksm_err dispatch(struct ksm_sse_parser *p, ksm_sse_cb cb, void *ud)
{
    enum ksm_err e = KSM_E_OK;
    /* WHATWG: an event without data lines is dropped, and so is its event type. */
    if (p->data.len) {
        p->data.data[--p->data.len] = '\0';   /* the '\n' after the last data line */
        struct ksm_sse_event ev = {str_or_empty(&p->event), p->data.data, p->data.len,
                                   str_or_empty(&p->id)};
        e = cb(ud, &ev);
    }
    ksm_buf_reset(&p->data);
    ksm_buf_reset(&p->event);
    return e;
}

static bool field_is(const char *f, size_t n, const char *name)
{
    return n == strlen(name) && !memcmp(f, name, n);
}

static void set_retry(struct ksm_sse_parser *p, const char *v, size_t n)
{
    long ms = 0;
    if (!n || n > 9)
        return;   /* not a number we would honour anyway; WHATWG ignores non-digits */
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return;
        ms = ms * 10 + (v[i] - '0');
    }
    p->retry_ms = ms;
}

/* One complete line, in p->line. */
static enum ksm_err process_line(struct ksm_sse_parser *p, ksm_sse_cb cb, void *ud)
{
    const char *l = str_or_empty(&p->line);
    size_t n = p->line.len;
    enum ksm_err e = KSM_E_OK;

    if (n == 0)
        return dispatch(p, cb, ud);
    if (l[0] == ':')
        goto done;   /* comment: upstreams use these as keep-alives */
    const char *colon = memchr(l, ':', n);
    size_t flen = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    if (field_is(l, flen, "data")) {
        ksm_buf_append(&p->data, v, vlen);
        ksm_buf_putc(&p->data, '\n');
    } else if (field_is(l, flen, "event")) {
        buf_set(&p->event, v, vlen);
    } else if (field_is(l, flen, "id")) {
        if (!memchr(v, '\0', vlen))
            buf_set(&p->id, v, vlen);
    } else if (field_is(l, flen, "retry")) {
        set_retry(p, v, vlen);
    }   /* any other field is ignored, as WHATWG says */
done:
    ksm_buf_reset(&p->line);
    return e;
}

/* Consumes BOM bytes at the very start; a partial match that fails is replayed as line content. */
static size_t skip_bom(struct ksm_sse_parser *p, const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (p->bom < 3 && i < n) {
        if (b[i] == utf8_bom[p->bom]) {
            p->bom++;
            i++;
            continue;
        }
        ksm_buf_append(&p->line, utf8_bom, p->bom);
        p->bom = 3;
    }
    return i;
}

static bool too_large(const struct ksm_sse_parser *p, size_t more)
{
    return p->line.len + p->data.len + p->event.len + more > p->max_event;
}

enum ksm_err ksm_sse_feed(struct ksm_sse_parser *p, const void *buf, size_t n, ksm_sse_cb cb,
                          void *ud)
{
    const unsigned char *b = buf;
    size_t i;

    if (p->err != KSM_E_OK)
        return p->err;
    i = skip_bom(p, b, n);
    while (i < n) {
        if (p->cr) {
            p->cr = false;
            if (b[i] == '\n') {   /* the LF of a CRLF cut between two chunks */
                i++;
                continue;
            }
        }
        size_t j = i;
        while (j < n && b[j] != '\r' && b[j] != '\n')
            j++;
        if (too_large(p, j - i)) {
            p->err = KSM_E_TOO_LARGE;
            return p->err;
        }
        ksm_buf_append(&p->line, b + i, j - i);
        if (j == n)
            break;
        p->cr = b[j] == '\r';
        i = j + 1;
        enum ksm_err e = process_line(p, cb, ud);
        if (e != KSM_E_OK) {
            p->err = e;
            return e;
        }
    }
    return KSM_E_OK;
}

bool ksm_sse_finish(struct ksm_sse_parser *p)
{
    bool pending = p->line.len || p->data.len || p->event.len || (p->bom > 0 && p->bom < 3);
    ksm_buf_reset(&p->line);
    ksm_buf_reset(&p->data);
    ksm_buf_reset(&p->event);
    p->cr = false;
    return pending;
}

void ksm_sse_write(struct ksm_buf *out, const char *event, const char *data, size_t len)
{
    if (event) {
        ksm_buf_puts(out, "event: ");
        for (const char *c = event; *c; c++)
            if (*c != '\r' && *c != '\n')
                ksm_buf_putc(out, *c);
        ksm_buf_putc(out, '\n');
    }
    size_t start = 0;
    if (!data)
        data = "";
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\r' && data[i] != '\n')
            continue;
        ksm_buf_puts(out, "data: ");
        ksm_buf_append(out, data + start, i - start);
        ksm_buf_putc(out, '\n');
        if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
            i++;
        start = i + 1;
    }
    ksm_buf_putc(out, '\n');
}

void ksm_sse_write_comment(struct ksm_buf *out, const char *text)
{
    ksm_buf_putc(out, ':');
    if (text && *text) {
        ksm_buf_putc(out, ' ');
        for (const char *c = text; *c; c++)
            if (*c != '\r' && *c != '\n')
                ksm_buf_putc(out, *c);
    }
    ksm_buf_puts(out, "\n\n");
}
