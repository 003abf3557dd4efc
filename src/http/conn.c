/* conn.c — one HTTP/1.1 connection: read, pre-scan, parse with llhttp, hand the request to the
 * application, write the response, then the next request (keep-alive) or close.
 *
 * Only one request per connection is in the application's hands at a time: llhttp is paused at the
 * end of each message, and bytes that arrive meanwhile (pipelining) wait in conn->pending, so
 * responses go out in request order. Reading stops when pending grows past a limit (back-pressure). */
#include "http/http_int.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/dlist.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timer.h"
#include "core/util.h"

#define PENDING_MAX (1u << 20)
#define SPARE_MAX (64u << 10)

static llhttp_settings_t settings;
static uv_once_t settings_once = UV_ONCE_INIT;

#define conn_feed ksm_conn_feed
#define conn_close ksm_conn_close

static struct ksm_wctx *wctx(struct ksm_conn *c) { return (struct ksm_wctx *)c->w; }
static const struct ksm_conf *conf(struct ksm_conn *c)
{
    return __atomic_load_n(&c->w->server->o.conf, __ATOMIC_ACQUIRE);
}

/* ---- timers ---------------------------------------------------------------------------------- */

/* A request sets its connection's time-out four times (headers, body, response, idle) and clears
 * it once; moving the libuv timer each time was ~1.5 % of an AI request's instructions. So the
 * time-out is a deadline and the timer follows it lazily (core/timer.h): a timer that fires early
 * finds no deadline, or a later one and is set for that. */
static void on_timeout(uv_timer_t *t)
{
    struct ksm_conn *c = t->data;
    if (!c->deadline)
        return;
    if (c->deadline > uv_now(t->loop)) {
        ksm_timer_by(t, on_timeout, c->deadline);
        return;
    }
    c->deadline = 0;
    if (c->state == CS_IDLE || c->state == CS_WRITING) {
        conn_close(c);   /* idle keep-alive, or a client that does not read its response */
        return;
    }
    if (c->state == CS_HEADERS || c->state == CS_BODY) {
        c->req->err = KSM_E_TIMEOUT;
        c->req->err_detail = c->state == CS_HEADERS ? "the request headers took too long to arrive"
                                                     : "the request body took too long to arrive";
        c->state = CS_BUSY;
        c->failed = true;
        c->lsn->o.handler(c->req);
    }
}

static void arm(struct ksm_conn *c, int ms)
{
    c->deadline = uv_now(c->timer.loop) + (uint64_t)(ms > 0 ? ms : 1);
    ksm_timer_by(&c->timer, on_timeout, c->deadline);
}

static void disarm(struct ksm_conn *c) { c->deadline = 0; }

/* ---- requests -------------------------------------------------------------------------------- */

static void req_new(struct ksm_conn *c)
{
    struct ksm_wctx *wc = wctx(c);
    struct ksm_req *r = ksm_arena_calloc(c->arena, sizeof *r);
    r->conn = c;
    r->worker = c->w;
    r->arena = c->arena;
    r->method_name = "";
    r->target = r->path = r->query = "";
    r->route_index = -1;
    r->start_ns = ksm_mono_ns();
    struct ksm_fmt id = ksm_fmt_init(r->id, sizeof r->id);   /* "req_<prefix><counter, 8+ hex>" */
    ksm_fmt_str(&id, "req_");
    ksm_fmt_str(&id, wc->idprefix);
    ksm_fmt_hex(&id, ++wc->counter, 8);
    ksm_fmt_copy(r->peer, sizeof r->peer, c->peer);
    /* the connection lends its buffers so a keep-alive request allocates nothing for them */
    r->body = c->spare_body;
    r->resp = c->spare_resp;
    c->spare_body = c->spare_resp = (struct ksm_buf)KSM_BUF_INIT;
    ksm_buf_reset(&r->body);
    ksm_buf_reset(&r->resp);
    c->req = r;
    c->body_paused = false;   /* a pause asked for by the previous request's consumer is over */
    c->hdrs = NULL;
    c->nhdrs = c->hcap = 0;
    c->header_bytes = 0;
    ksm_buf_reset(&c->hname);
    ksm_buf_reset(&c->hval);
}

static struct ksm_conn *of(llhttp_t *p) { return p->data; }

static int over_header_limit(struct ksm_conn *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes <= conf(c)->max_header_bytes)
        return 0;
    c->req->err = KSM_E_HEADERS_TOO_LARGE;
    c->req->err_detail = "the request line and headers exceed the limit";
    return -1;
}

static int on_message_begin(llhttp_t *p)
{
    struct ksm_conn *c = of(p);
    if (c->discard_body)
        return HPE_PAUSED;   /* nothing after an early answer is read: the connection closes */
    if (!c->req)
        req_new(c);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_conn *c = of(p);
    if (over_header_limit(c, len))
        return -1;
    ksm_buf_append(&c->hval, at, len);
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    struct ksm_conn *c = of(p);
    c->req->target = ksm_arena_strndup(c->arena, c->hval.data ? c->hval.data : "", c->hval.len);
    ksm_buf_reset(&c->hval);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_conn *c = of(p);
    if (over_header_limit(c, len))
        return -1;
    ksm_buf_append(&c->hname, at, len);
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_conn *c = of(p);
    if (over_header_limit(c, len))
        return -1;
    ksm_buf_append(&c->hval, at, len);
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct ksm_conn *c = of(p);
    if (c->nhdrs == c->hcap) {
        int cap = c->hcap ? c->hcap * 2 : 16;
        struct ksm_header *h = ksm_arena_alloc(c->arena, sizeof *h * (size_t)cap);
        if (c->nhdrs)
            memcpy(h, c->hdrs, sizeof *h * (size_t)c->nhdrs);
        c->hdrs = h;
        c->hcap = cap;
    }
    char *name = ksm_arena_strndup(c->arena, c->hname.data ? c->hname.data : "", c->hname.len);
    for (char *s = name; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
    c->hdrs[c->nhdrs].name = name;
    c->hdrs[c->nhdrs].value = ksm_arena_strndup(c->arena, c->hval.data ? c->hval.data : "", c->hval.len);
    c->nhdrs++;
    ksm_buf_reset(&c->hname);
    ksm_buf_reset(&c->hval);
    return 0;
}

/* Percent-decodes the path; NUL bytes and malformed escapes are refused. */
static int split_target(struct ksm_req *r)
{
    const char *t = r->target, *q = strchr(t, '?');
    size_t plen = q ? (size_t)(q - t) : strlen(t);
    r->query = q ? q + 1 : "";
    if (plen == 0 || t[0] != '/')
        return -1;
    char *out = ksm_arena_alloc(r->arena, plen + 1);
    if (ksm_pct_decode(t, plen, out, KSM_PCT_STRICT | KSM_PCT_NO_NUL) < 0)
        return -1;
    r->path = out;
    return 0;
}

static void send_continue(struct ksm_conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
    if (c->ssl) {
        char *enc;
        size_t len;
        if (ksm_tls_seal(c, &b, 1, &enc, &len) == 0) {
            b = uv_buf_init(enc, (unsigned)len);
            uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
            free(enc);
        }
        return;
    }
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);   /* 25 bytes into an empty socket buffer */
}

static int on_headers_complete(llhttp_t *p)
{
    struct ksm_conn *c = of(p);
    struct ksm_req *r = c->req;
    r->method = llhttp_get_method(p);
    r->method_name = llhttp_method_name((llhttp_method_t)r->method);
    r->headers = c->hdrs;
    r->nheaders = c->nhdrs;
    c->keep_alive = llhttp_should_keep_alive(p);
    if (split_target(r)) {
        r->err = KSM_E_BAD_REQUEST;
        r->err_detail = "the request target is malformed";
        return -1;
    }
    r->content_length = (p->flags & F_CONTENT_LENGTH) ? (long long)p->content_length : -1;
    c->state = CS_BODY;
    /* The listener may look at the head first: authenticate, choose to stream the body, or answer
     * at once (then the body is read and dropped, and the connection closes). */
    if (c->lsn->o.on_headers) {
        c->lsn->o.on_headers(r);
        if (c->state != CS_BODY) {
            c->discard_body = true;
            c->close_after = true;
            return 0;
        }
    }
    if (!r->body_chunk && (p->flags & F_CONTENT_LENGTH) && p->content_length > conf(c)->max_body_bytes) {
        r->err = KSM_E_TOO_LARGE;
        r->err_detail = "the body exceeds the limit";
        return -1;
    }
    const char *expect = ksm_req_header(r, "expect");
    if (expect && !strcasecmp(expect, "100-continue"))
        send_continue(c);
    arm(c, conf(c)->body_timeout_ms);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct ksm_conn *c = of(p);
    struct ksm_req *r = c->req;
    if (r->body_chunk && c->state != CS_BODY) {
        c->discard_body = true;   /* the application answered mid-body: drop the rest, then close */
        c->close_after = true;
    }
    if (c->discard_body)
        return 0;
    if (r->body_chunk) {
        r->body_received += len;
        /* limits.body_timeout_ms is the time allowed between body bytes: a large upload that keeps
         * arriving is not too slow, however long it takes in all */
        arm(c, conf(c)->body_timeout_ms);
        /* The consumer's sink is full: stop reading the socket. What this read already brought
         * is still delivered (at most one read buffer), so the parser never has to pause. */
        if (r->body_chunk(r, at, len))
            c->body_paused = true;
        return 0;
    }
    if (r->body.len + len > conf(c)->max_body_bytes) {
        r->err = KSM_E_TOO_LARGE;
        r->err_detail = "the body exceeds the limit";
        return -1;
    }
    ksm_buf_append(&r->body, at, len);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct ksm_conn *c = of(p);
    if (c->discard_body)
        return 0;   /* answered at the head; the connection closes after that response */
    c->state = CS_BUSY;
    disarm(c);
    return HPE_PAUSED;
}

static void settings_init(void)
{
    llhttp_settings_init(&settings);
    settings.on_message_begin = on_message_begin;
    settings.on_url = on_url;
    settings.on_url_complete = on_url_complete;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_header_value_complete = on_header_value_complete;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
}

/* ---- parsing --------------------------------------------------------------------------------- */

/* A protocol error: the application still sees the request (to audit and render it), then the
 * connection closes after the response. */
static void conn_reject(struct ksm_conn *c, enum ksm_err e, const char *detail)
{
    if (!c->req)
        req_new(c);
    if (c->req->err == KSM_E_OK) {
        c->req->err = e;
        c->req->err_detail = detail;
    }
    c->failed = true;
    c->state = CS_BUSY;
    disarm(c);
    c->lsn->o.handler(c->req);
}

static void stash(struct ksm_conn *c, const char *p, size_t n)
{
    if (n)
        ksm_buf_append(&c->pending, p, n);
}

void ksm_conn_feed(struct ksm_conn *c, const char *data, size_t n)
{
    if (c->state == CS_IDLE) {
        c->state = CS_HEADERS;
        memset(&c->ps, 0, sizeof c->ps);
        arm(c, conf(c)->header_timeout_ms);
        req_new(c);
    }
    if (!c->ps.done && ksm_prescan_feed(&c->ps, data, n) >= 0) {
        conn_reject(c, KSM_E_BAD_REQUEST, "bare CR or folded header line");
        return;
    }
    llhttp_errno_t e = llhttp_execute(&c->parser, data, n);
    if (e == HPE_OK) {
        if (c->body_paused && c->reading) {   /* back-pressure from a streamed body */
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
            disarm(c);   /* waiting on us is not the client being slow */
        }
        return;
    }
    if (e == HPE_PAUSED && c->discard_body)
        return;
    if (e == HPE_PAUSED) {
        const char *stop = llhttp_get_error_pos(&c->parser);
        stash(c, stop, n - (size_t)(stop - data));
        llhttp_resume(&c->parser);
        struct ksm_req *r = c->req;
        if (r->body_end)
            r->body_end(r);
        else
            c->lsn->o.handler(r);
        return;
    }
    conn_reject(c, KSM_E_BAD_REQUEST, llhttp_get_error_reason(&c->parser));
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct ksm_conn *c = h->data;
    struct ksm_wctx *wc = wctx(c);
    *buf = uv_buf_init(wc->rbuf, sizeof wc->rbuf);
}

/* Plaintext bytes: parse them, or hold them while a request is in the application. */
static void deliver(struct ksm_conn *c, const char *p, size_t n)
{
    if (c->state == CS_BUSY || c->state == CS_WRITING) {
        stash(c, p, n);
        if (c->pending.len > PENDING_MAX && c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        return;
    }
    conn_feed(c, p, n);
}

/* The client went away while the application holds its request: answer nothing more than we must,
 * close afterwards, and tell a streaming handler so it can stop its upstream work. */
static void client_gone(struct ksm_conn *c)
{
    c->close_after = true;
    struct ksm_req *r = c->req;
    if (r && r->on_abort && !r->aborted) {
        r->aborted = true;
        r->on_abort(r);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ksm_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        uv_read_stop(s);
        c->reading = false;
        if (c->state == CS_BUSY || c->state == CS_WRITING)
            client_gone(c);   /* answer what we have, then close */
        else
            conn_close(c);
        return;
    }
    if (c->ssl) {
        if (ksm_tls_on_read(c, buf->base, (size_t)nread, deliver) && !c->closed) {
            if (c->state == CS_BUSY || c->state == CS_WRITING)
                client_gone(c);
            else
                conn_close(c);
        }
        return;
    }
    deliver(c, buf->base, (size_t)nread);
}

static void start_reading(struct ksm_conn *c)
{
    if (!c->reading && !c->closed && !c->close_after) {
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        c->reading = true;
    }
}

/* ---- responses ------------------------------------------------------------------------------- */

static const char *reason(int status)
{
    static const struct {
        int s;
        const char *r;
    } tab[] = {{200, "OK"}, {201, "Created"}, {202, "Accepted"}, {204, "No Content"},
               {206, "Partial Content"}, {302, "Found"}, {304, "Not Modified"}, {400, "Bad Request"},
               {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
               {405, "Method Not Allowed"}, {408, "Request Timeout"}, {409, "Conflict"},
               {411, "Length Required"}, {412, "Precondition Failed"}, {413, "Content Too Large"},
               {415, "Unsupported Media Type"}, {429, "Too Many Requests"},
               {431, "Request Header Fields Too Large"}, {500, "Internal Server Error"},
               {502, "Bad Gateway"}, {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
    for (size_t i = 0; i < KSM_NELEM(tab); i++)
        if (tab[i].s == status)
            return tab[i].r;
    return "Unknown";
}

static const char *http_date(struct ksm_wctx *wc)
{
    int64_t now = ksm_now_ms() / 1000;
    if (now != wc->date_sec) {
        time_t t = (time_t)now;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(wc->date, sizeof wc->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        wc->date_sec = now;
    }
    return wc->date;
}

/* Keeps a buffer for the next request unless it grew large (one big body must not pin memory). */
static void keep_spare(struct ksm_buf *spare, struct ksm_buf *b)
{
    if (b->cap <= SPARE_MAX) {
        ksm_buf_free(spare);
        *spare = *b;
        *b = (struct ksm_buf)KSM_BUF_INIT;
    } else {
        ksm_buf_free(b);
    }
}

static void finish_request(struct ksm_conn *c)
{
    struct ksm_req *r = c->req;
    ksm_metrics_request(r->route_index, r->status, ksm_mono_ns() - r->start_ns);
    keep_spare(&c->spare_body, &r->body);
    keep_spare(&c->spare_resp, &r->resp);
    c->req = NULL;
    ksm_arena_reset(c->arena);
}

void ksm_conn_recycle(struct ksm_conn *c)
{
    finish_request(c);
    c->state = CS_IDLE;
    arm(c, conf(c)->idle_timeout_ms);
    start_reading(c);
    if (c->pending.len) {
        /* pipelined bytes that arrived while the previous request was in the application */
        struct ksm_buf p = c->pending;
        c->pending = (struct ksm_buf)KSM_BUF_INIT;
        conn_feed(c, p.data, p.len);
        ksm_buf_free(&p);
    }
}

static void after_write(uv_write_t *wr, int status)
{
    struct ksm_conn *c = wr->data;
    free(c->tls_out);
    c->tls_out = NULL;
    if (status < 0 || c->close_after || c->failed || !c->keep_alive || wctx(c)->draining) {
        finish_request(c);
        conn_close(c);
        return;
    }
    ksm_conn_recycle(c);
}

static void conn_release(struct ksm_conn *c);
static void on_written(uv_idle_t *h);

/* ---- responses the socket took at once ----------------------------------------------------------
 * A response the socket took whole (ksm_try_write) has no write request: the connection's
 * after_write runs on the loop's next turn from an idle handle, as the request's callback would. */

static void written_later(struct ksm_conn *c)
{
    struct ksm_wctx *wc = wctx(c);
    c->written_queued = true;
    c->written_next = NULL;
    if (wc->written_tail)
        wc->written_tail->written_next = c;
    else
        wc->written_head = c;
    wc->written_tail = c;
    uv_idle_start(&wc->written_idle, on_written);
}

static void on_written(uv_idle_t *h)
{
    struct ksm_wctx *wc = h->data;
    struct ksm_conn *c = wc->written_head;
    wc->written_head = wc->written_tail = NULL;
    uv_idle_stop(h);
    while (c) {
        struct ksm_conn *next = c->written_next;
        c->written_queued = false;
        if (c->closed) {   /* closed meanwhile: a cancelled write's callback, then its reference */
            after_write(&c->wreq, UV_ECANCELED);
            conn_release(c);
        } else {
            after_write(&c->wreq, 0);
        }
        c = next;
    }
}

bool ksm_try_write(uv_stream_t *s, uv_buf_t *b, int *nb)
{
    size_t total = 0;
    for (int i = 0; i < *nb; i++)
        total += b[i].len;
    int n = total <= INT_MAX ? uv_try_write(s, b, (unsigned)*nb) : UV_EAGAIN;
    if (n >= 0 && (size_t)n == total)
        return true;
    size_t left = n > 0 ? (size_t)n : 0;   /* drop what was written from the front */
    int i = 0;
    while (i < *nb && left >= b[i].len)
        left -= b[i++].len;
    memmove(b, b + i, (size_t)(*nb - i) * sizeof *b);
    *nb -= i;
    b[0].base += left;   /* n < total: a buffer with bytes left remains */
    b[0].len -= left;
    return false;
}

static void write_response(struct ksm_conn *c, int nb)
{
    if (ksm_try_write((uv_stream_t *)&c->tcp, c->wbufs, &nb))
        written_later(c);
    else if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, c->wbufs, (unsigned)nb, after_write))
        after_write(&c->wreq, -1);
}

/* "Name: value\r\n" without printf: the head is built for every response. */
static void header_line(struct ksm_buf *h, const char *name, const char *value)
{
    ksm_buf_puts(h, name);
    ksm_buf_append(h, ": ", 2);
    ksm_buf_puts(h, value);
    ksm_buf_append(h, "\r\n", 2);
}

/* body_len < 0: a chunked body follows (the caller adds Transfer-Encoding). */
static void build_head(struct ksm_req *r, struct ksm_conn *c, struct ksm_buf *h, long long body_len)
{
    bool close = c->close_after || c->failed || !c->keep_alive || wctx(c)->draining;
    ksm_buf_append(h, "HTTP/1.1 ", 9);
    ksm_buf_put_i64(h, r->status);
    ksm_buf_putc(h, ' ');
    ksm_buf_puts(h, reason(r->status));
    ksm_buf_append(h, "\r\n", 2);
    header_line(h, "Date", http_date(wctx(c)));
    header_line(h, "x-request-id", r->id);
    if (r->content_type)
        header_line(h, "Content-Type", r->content_type);
    if (r->status != 204 && r->status != 304 && body_len >= 0) {
        ksm_buf_append(h, "Content-Length: ", 16);
        ksm_buf_put_i64(h, body_len);
        ksm_buf_append(h, "\r\n", 2);
    }
    for (int i = 0; i < r->nresp_headers; i++)
        header_line(h, r->resp_headers[i].name, r->resp_headers[i].value);
    if (close)
        ksm_buf_puts(h, "Connection: close\r\n");
    ksm_buf_puts(h, "\r\n");
}

void ksm_req_send(struct ksm_req *r)
{
    struct ksm_conn *c = r->conn;
    if (r->status == 0)
        r->status = ksm_err_status(r->err);
    if (c->state == CS_BODY)
        c->close_after = true;   /* answered before the body was read: it is dropped, then close */
    bool no_body = r->method == HTTP_HEAD || r->status == 204 || r->status == 304;
    ksm_buf_reset(&c->head);   /* conn-owned: it must outlive this call until the write completes */
    build_head(r, c, &c->head, (long long)r->resp.len);
    c->wbufs[0] = uv_buf_init(c->head.data, (unsigned)c->head.len);
    c->wbufs[1] = uv_buf_init(r->resp.data, no_body ? 0 : (unsigned)r->resp.len);
    c->state = CS_WRITING;
    arm(c, conf(c)->idle_timeout_ms);
    c->wreq.data = c;
    int nb = c->wbufs[1].len ? 2 : 1;
    if (c->ssl) {
        size_t len;
        if (ksm_tls_seal(c, c->wbufs, nb, &c->tls_out, &len)) {
            after_write(&c->wreq, -1);
            return;
        }
        c->wbufs[0] = uv_buf_init(c->tls_out, (unsigned)len);
        nb = 1;
    }
    if (c->closed) {
        after_write(&c->wreq, -1);
        return;
    }
    write_response(c, nb);
}

/* ---- streamed request bodies ---------------------------------------------------------------------- */

void ksm_req_stream_body(struct ksm_req *r, bool (*chunk)(struct ksm_req *, const char *, size_t),
                         void (*end)(struct ksm_req *))
{
    r->body_chunk = chunk;
    r->body_end = end;
}

void ksm_req_body_resume(struct ksm_req *r)
{
    struct ksm_conn *c = r->conn;
    if (!c->body_paused || c->closed || c->state != CS_BODY)
        return;
    c->body_paused = false;
    arm(c, conf(c)->body_timeout_ms);
    start_reading(c);
}

/* ---- streamed responses (chunked) ------------------------------------------------------------- */

#define STREAM_HIGH_WATER (256u << 10)   /* above this many queued bytes the producer should pause */

struct chunk_write {
    uv_write_t req;
    struct ksm_conn *c;
    char *tls;          /* sealed bytes when on TLS */
    size_t len;
    char *owned;        /* the caller's bytes, written in place (ksm_req_stream_write_take) */
    ksm_req_release_fn *release;
    void *release_ctx;
    char data[];
};

static void chunk_free(struct chunk_write *cw)
{
    if (cw->owned)
        cw->release(cw->release_ctx, cw->owned);
    free(cw->tls);
    free(cw);
}

static size_t queued(struct ksm_conn *c)
{
    return c->closed ? 0 : uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static void after_chunk(uv_write_t *w, int status)
{
    struct chunk_write *cw = (struct chunk_write *)w;
    struct ksm_conn *c = cw->c;
    chunk_free(cw);
    if (status < 0) {
        client_gone(c);
        return;
    }
    struct ksm_req *r = c->req;
    if (r && r->on_drain && !r->aborted && queued(c) < STREAM_HIGH_WATER / 2)
        r->on_drain(r);
}

/* Queues cw's buffers on the socket (sealed on TLS, which frees the caller's bytes at once); the
 * memory lives until the write completes. */
static size_t stream_queue(struct ksm_conn *c, struct chunk_write *cw, uv_buf_t *b, int nb)
{
    if (c->ssl) {
        size_t len;
        int bad = ksm_tls_seal(c, b, nb, &cw->tls, &len);
        if (cw->owned)
            cw->release(cw->release_ctx, cw->owned);
        cw->owned = NULL;
        if (bad) {
            chunk_free(cw);
            client_gone(c);
            return 0;
        }
        b[0] = uv_buf_init(cw->tls, (unsigned)len);
        nb = 1;
    }
    if (c->closed || uv_write(&cw->req, (uv_stream_t *)&c->tcp, b, (unsigned)nb, after_chunk)) {
        chunk_free(cw);
        client_gone(c);
        return 0;
    }
    return queued(c);
}

static struct chunk_write *chunk_new(struct ksm_conn *c, size_t extra)
{
    struct chunk_write *cw = ksm_xmalloc(sizeof *cw + extra);
    cw->c = c;
    cw->tls = NULL;
    cw->owned = NULL;
    cw->len = extra;
    return cw;
}

/* A chunk's size line, "<hex>\r\n"; its length. */
static size_t chunk_head(char *out, size_t cap, size_t n)
{
    struct ksm_fmt f = ksm_fmt_init(out, cap);
    ksm_fmt_hex(&f, n, 1);
    ksm_fmt_mem(&f, "\r\n", 2);
    return f.len;
}

/* Queues a copy of head, p and tail. */
static size_t stream_raw(struct ksm_conn *c, const char *head, size_t hlen, const char *p, size_t n,
                         const char *tail, size_t tlen)
{
    struct chunk_write *cw = chunk_new(c, hlen + n + tlen);
    memcpy(cw->data, head, hlen);
    if (n)
        memcpy(cw->data + hlen, p, n);
    memcpy(cw->data + hlen + n, tail, tlen);
    uv_buf_t b = uv_buf_init(cw->data, (unsigned)cw->len);
    return stream_queue(c, cw, &b, 1);
}

static void stream_begin(struct ksm_req *r, long long length)
{
    struct ksm_conn *c = r->conn;
    if (r->status == 0)
        r->status = 200;
    r->streaming = true;
    r->stream_chunked = length < 0;
    if (r->stream_chunked)
        ksm_req_add_header(r, "Transfer-Encoding", "chunked");
    ksm_buf_reset(&c->head);
    build_head(r, c, &c->head, length);
    stream_raw(c, c->head.data, c->head.len, NULL, 0, "", 0);
}

void ksm_req_stream_begin(struct ksm_req *r) { stream_begin(r, -1); }

void ksm_req_stream_begin_sized(struct ksm_req *r, unsigned long long length)
{
    stream_begin(r, (long long)length);
}

size_t ksm_req_stream_write(struct ksm_req *r, const char *p, size_t n)
{
    struct ksm_conn *c = r->conn;
    if (n == 0 || r->aborted)
        return queued(c);
    if (!r->stream_chunked || r->method == HTTP_HEAD)
        return r->method == HTTP_HEAD ? queued(c) : stream_raw(c, "", 0, p, n, "", 0);
    char head[24];
    size_t hl = chunk_head(head, sizeof head, n);
    return stream_raw(c, head, hl, p, n, "\r\n", 2);
}

size_t ksm_req_stream_write_take(struct ksm_req *r, char *p, size_t n, ksm_req_release_fn *release,
                                 void *ctx)
{
    struct ksm_conn *c = r->conn;
    if (n == 0 || r->aborted || r->method == HTTP_HEAD) {
        release(ctx, p);
        return queued(c);
    }
    char head[24];
    size_t hl = r->stream_chunked ? chunk_head(head, sizeof head, n) : 0;
    struct chunk_write *cw = chunk_new(c, (size_t)hl + 2);
    memcpy(cw->data, head, (size_t)hl);
    memcpy(cw->data + hl, "\r\n", 2);
    cw->owned = p;
    cw->release = release;
    cw->release_ctx = ctx;
    uv_buf_t b[3];
    int nb = 0;
    if (hl)
        b[nb++] = uv_buf_init(cw->data, (unsigned)hl);
    b[nb++] = uv_buf_init(p, (unsigned)n);
    if (hl)
        b[nb++] = uv_buf_init(cw->data + hl, 2);
    return stream_queue(c, cw, b, nb);
}

bool ksm_req_secure(const struct ksm_req *r) { return r->conn && r->conn->ssl; }

bool ksm_req_stream_congested(const struct ksm_req *r)
{
    return queued(r->conn) >= STREAM_HIGH_WATER;
}

void ksm_req_stream_fail(struct ksm_req *r)
{
    r->stream_failed = true;
    if (r->conn)
        r->conn->close_after = true;
}

void ksm_req_stream_end(struct ksm_req *r)
{
    struct ksm_conn *c = r->conn;
    static const char last[] = "0\r\n\r\n";
    r->on_drain = NULL;
    r->on_abort = NULL;
    c->state = CS_WRITING;
    arm(c, conf(c)->idle_timeout_ms);
    c->wreq.data = c;
    if (!r->stream_chunked || r->stream_failed) {
        /* nothing to add: the body's bytes are queued in order before whatever follows (a failed
         * stream ends without its last chunk and closes, so it cannot pass for complete) */
        after_write(&c->wreq, c->closed ? -1 : 0);
        return;
    }
    c->wbufs[0] = uv_buf_init((char *)last, sizeof last - 1);
    int nb = 1;
    if (c->ssl) {
        size_t len;
        if (ksm_tls_seal(c, c->wbufs, 1, &c->tls_out, &len)) {
            after_write(&c->wreq, -1);
            return;
        }
        c->wbufs[0] = uv_buf_init(c->tls_out, (unsigned)len);
    }
    if (c->closed || uv_write(&c->wreq, (uv_stream_t *)&c->tcp, c->wbufs, (unsigned)nb, after_write))
        after_write(&c->wreq, -1);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

/* Frees c once the socket's and the timer's close callbacks (and a queued write completion) ran. */
static void conn_release(struct ksm_conn *c)
{
    if (--c->open_handles > 0)
        return;   /* libuv does not promise the order: free after both the socket and the timer */
    ksm_arena_destroy(c->arena);
    SSL_free(c->ssl);
    free(c->tls_out);
    ksm_buf_free(&c->pending);
    ksm_buf_free(&c->spare_body);
    ksm_buf_free(&c->spare_resp);
    ksm_buf_free(&c->head);
    ksm_buf_free(&c->hname);
    ksm_buf_free(&c->hval);
    free(c);
}

static void on_closed(uv_handle_t *h) { conn_release(h->data); }

void ksm_conn_written_init(struct ksm_wctx *wc)
{
    uv_idle_init(&wc->w.loop, &wc->written_idle);
    wc->written_idle.data = wc;
}

void ksm_conn_written_close(struct ksm_wctx *wc)
{
    /* No open connection is left; one closed while its completion was queued is finished here */
    if (wc->written_head)
        on_written(&wc->written_idle);
    uv_close((uv_handle_t *)&wc->written_idle, NULL);
}

/* A request still arriving (head or body) when its connection goes: the application, which may
 * have begun work at the head (a streamed upload), is told once and must let go of it; nothing
 * answers it. Its buffers are freed here. */
static void drop_unfinished(struct ksm_conn *c)
{
    struct ksm_req *r = c->req;
    if (!r || (c->state != CS_HEADERS && c->state != CS_BODY))
        return;
    if (r->on_abort && !r->aborted) {
        r->aborted = true;
        r->dropped = true;
        r->on_abort(r);
    }
    ksm_buf_free(&r->body);
    ksm_buf_free(&r->resp);
    c->req = NULL;
}

void ksm_conn_close(struct ksm_conn *c)
{
    if (c->closed)
        return;
    struct ksm_wctx *wc = wctx(c);
    c->closed = true;
    KSM_DLIST_REMOVE(wc->conns, c, prev, next);
    ksm_metrics_conn_open(-1);
    uv_timer_stop(&c->timer);
    drop_unfinished(c);
    c->open_handles = 2 + c->written_queued;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
}

struct ksm_conn *ksm_conn_new(struct ksm_wctx *wc, const struct ksm_lsn *lsn)
{
    uv_once(&settings_once, settings_init);
    struct ksm_conn *c = ksm_xcalloc(1, sizeof *c);
    c->w = &wc->w;
    c->lsn = lsn;
    uv_tcp_init(&wc->w.loop, &c->tcp);
    uv_timer_init(&wc->w.loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->arena = ksm_arena_create(8192);
    KSM_DLIST_PUSH(wc->conns, c, prev, next);
    ksm_metrics_conn_open(+1);
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    c->state = CS_IDLE;
    return c;
}

void ksm_conn_accept(struct ksm_wctx *wc, const struct ksm_lsn *lsn, uv_stream_t *listener)
{
    struct ksm_conn *c = ksm_conn_new(wc, lsn);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) || wc->draining) {
        conn_close(c);
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
        else
            uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (lsn->tls && ksm_tls_conn_start(c, lsn->tls)) {
        conn_close(c);
        return;
    }
    arm(c, conf(c)->idle_timeout_ms);
    start_reading(c);
}

void ksm_conn_drain_all(struct ksm_wctx *wc)
{
    for (struct ksm_conn *c = wc->conns, *n; c; c = n) {
        n = c->next;
        if (c->state == CS_IDLE)
            conn_close(c);
        else
            c->close_after = true;
    }
}
