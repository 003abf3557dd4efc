/* h1_client.c — HTTP/1.1 to http:// upstreams on the worker's loop (see h1_client.h).
 *
 * libcurl did this before and cost about a third of the gateway's CPU per request (its multi-socket
 * bookkeeping, per-transfer buffers and header handling). A model call is simple HTTP: one POST
 * with a known body, an answer with Content-Length or chunked (SSE) — so this client does only
 * that: one connection per call, written with one write, parsed by llhttp (h1_resp.c).
 *
 * Connections: an idle connection goes into the loop's pool (LIFO, per host:port) and is read from
 * while idle, so a server's close is seen at once and the connection dropped, not reused. One
 * closed by the server in the instant between being taken and written to fails as KSM_UP_RESET
 * with reused set, which the gateway retries once (llama.cpp's server closes after streams).
 *
 * Time: one timer per connection, armed for the nearest of the call's deadline (timeout_ms), the
 * connect deadline, and the stall limit (no byte for STALL_MS, as libcurl's low-speed limit was).
 *
 * Back-pressure: when on_data asks for a pause, reading stops after the bytes of the current read
 * (at most READ_BUF) have been handed on; ksm_h1_resume starts it again.
 *
 * A call never calls back from inside ksm_h1_start: failures found there are reported from the
 * timer, on the next turn of the loop. */
#include "ai/h1_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ai/h1_resp.h"
#include "core/buf.h"
#include "core/dlist.h"
#include "core/fmt.h"
#include "core/timer.h"
#include "core/util.h"
#include "http/http.h"

#define POOL_MAX 256          /* idle connections kept per loop, all upstreams */
#define IDLE_MAX_MS 60000     /* an idle connection older than this is closed, not reused */
#define STALL_MS 30000        /* no byte for this long ends a call */
#define CONNECT_MS 5000       /* when the caller gives no connect time-out */
#define READ_BUF (64 * 1024)

struct conn;

struct h1_call {
    struct ksm_up_call base;   /* first: ksm_up_call pointers are these */
    struct conn *conn;
    struct ksm_up_call_opts o;
    uint64_t t_start, last_rx;   /* uv_now, ms */
    bool reused, got_response, head_sent, paused, cancelled, in_cb;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    uv_write_t write;
    struct ksm_h1 *h;
    struct conn *prev, *next;          /* h->conns: every connection not yet closing */
    struct conn *iprev, *inext;        /* h->idle, while idle */
    char key[300];                     /* host:port */
    struct h1_call *call;              /* the call it serves; NULL while idle */
    struct ksm_h1_resp resp;
    struct ksm_buf out;                /* the request, kept until written */
    uint64_t idle_since;
    int refs;                          /* handles not yet closed, plus a pending resolution */
    enum ksm_up_result pending;        /* a failure to report from the timer */
    bool has_pending, resolving, open, reading, writing, idle, closing, spoiled;
};

struct ksm_h1 {
    uv_loop_t *loop;
    struct conn *conns, *idle;
    int nidle;
    char rbuf[READ_BUF];   /* every read of this loop lands here and is parsed at once */
};

/* ---- the URL ----------------------------------------------------------------------------------- */

bool ksm_h1_url_parse(const char *url, struct ksm_h1_url *u)
{
    if (strncasecmp(url, "http://", 7))
        return false;
    const char *a = url + 7;
    size_t alen = strcspn(a, "/?#");
    if (!alen || alen >= sizeof u->authority || memchr(a, '@', alen))
        return false;
    memcpy(u->authority, a, alen);
    u->authority[alen] = '\0';
    const char *host = u->authority, *colon;
    size_t hlen;
    if (*host == '[') {   /* an IPv6 literal */
        const char *end = strchr(host, ']');
        if (!end)
            return false;
        host++;
        hlen = (size_t)(end - host);
        colon = end[1] == ':' ? end + 1 : end[1] ? NULL : end + 1;
        if (!colon)
            return false;
    } else {
        colon = strchr(host, ':');
        hlen = colon ? (size_t)(colon - host) : alen;
        if (!colon)
            colon = host + alen;
    }
    if (!hlen || hlen >= sizeof u->host)
        return false;
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->port = 80;
    if (*colon == ':') {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || p < 1 || p > 65535)
            return false;
        u->port = (int)p;
    }
    u->target = a + alen;
    if (*u->target == '#' || !*u->target)
        u->target = "/";
    else if (*u->target == '?')
        return false;   /* a query without a path: never a model endpoint */
    return true;
}

/* ---- connections ------------------------------------------------------------------------------- */

static void conn_unref(struct conn *c)
{
    if (--c->refs == 0) {
        ksm_buf_free(&c->out);
        free(c);
    }
}

static void on_handle_closed(uv_handle_t *hd) { conn_unref(hd->data); }

static void idle_unlink(struct conn *c)
{
    if (!c->idle)
        return;
    c->idle = false;
    KSM_DLIST_REMOVE(c->h->idle, c, iprev, inext);
    c->h->nidle--;
}

/* The upstream sees the close. The memory goes when libuv has let go of both handles. */
static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    idle_unlink(c);
    KSM_DLIST_REMOVE(c->h->conns, c, prev, next);
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->gai);   /* on_resolved still runs, with UV_ECANCELED */
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void pool_put(struct conn *c)
{
    struct ksm_h1 *h = c->h;
    if (h->nidle >= POOL_MAX) {
        conn_close(c);
        return;
    }
    c->idle = true;
    c->idle_since = uv_now(h->loop);
    KSM_DLIST_PUSH(h->idle, c, iprev, inext);
    h->nidle++;
}

static struct conn *pool_take(struct ksm_h1 *h, const char *key)
{
    uint64_t now = uv_now(h->loop);
    for (struct conn *c = h->idle, *next; c; c = next) {
        next = c->inext;
        if (strcmp(c->key, key))
            continue;
        idle_unlink(c);
        if (now - c->idle_since > IDLE_MAX_MS) {
            conn_close(c);
            continue;
        }
        return c;
    }
    return NULL;
}

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

/* ---- the end of a call ------------------------------------------------------------------------- */

static void send_head(struct h1_call *k)
{
    if (k->head_sent)
        return;
    k->head_sent = true;
    struct ksm_h1_resp *r = &k->conn->resp;
    if (k->o.on_head)
        k->o.on_head(k->o.arg, r->status, r->content_type, r->retry_after);
}

/* Detaches k from its connection, which goes back to the pool when it can serve another call. */
static void detach(struct h1_call *k, bool reusable)
{
    struct conn *c = k->conn;
    k->conn = NULL;
    if (!c)
        return;
    c->call = NULL;
    c->has_pending = false;   /* the timer stays set: it finds no call (on_timer), or the next one */
    if (reusable && !c->writing && !c->spoiled) {
        if (!c->reading)
            c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
        if (c->reading) {
            pool_put(c);
            return;
        }
    }
    conn_close(c);
}

/* Exactly once per call not cancelled: the head (for a complete answer), then on_done. */
static void finish(struct h1_call *k, enum ksm_up_result res)
{
    struct ksm_h1_resp *r = &k->conn->resp;
    bool reusable = res == KSM_UP_OK && r->keep_alive;
    if (k->reused)
        ksm_up__count_reused();
    if (res != KSM_UP_OK)
        ksm_up__count_failed();
    k->in_cb = true;
    if (res == KSM_UP_OK && !k->cancelled)
        send_head(k);   /* an empty body still gets its head */
    detach(k, reusable);   /* before on_done, which may start the next call on this connection */
    if (!k->cancelled)
        k->o.on_done(k->o.arg, res, k->got_response, k->reused);
    free(k);
}

/* Cancelled: the connection closes, nothing is called back. */
static void drop(struct h1_call *k)
{
    detach(k, false);
    free(k);
}

/* ---- time -------------------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void arm(struct conn *c)
{
    struct h1_call *k = c->call;
    uint64_t now = uv_now(c->h->loop), due;
    if (!c->open)
        due = k->t_start + (uint64_t)(k->o.connect_timeout_ms > 0 ? k->o.connect_timeout_ms : CONNECT_MS);
    else
        due = (k->paused ? now : k->last_rx) + STALL_MS;
    if (k->o.timeout_ms > 0 && k->t_start + (uint64_t)k->o.timeout_ms < due)
        due = k->t_start + (uint64_t)k->o.timeout_ms;
    /* Left set when it fires no later (for this call, or the one before on this connection):
     * on_timer looks at the call's own times and sets it again (core/timer.h). */
    ksm_timer_by(&c->timer, on_timer, due);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    struct h1_call *k = c->call;
    if (!k)
        return;
    if (c->has_pending) {
        finish(k, c->pending);
        return;
    }
    uint64_t now = uv_now(c->h->loop);
    bool over = k->o.timeout_ms > 0 && now >= k->t_start + (uint64_t)k->o.timeout_ms;
    if (!c->open)
        over = over || now >= k->t_start + (uint64_t)(k->o.connect_timeout_ms > 0
                                                           ? k->o.connect_timeout_ms : CONNECT_MS);
    else if (!k->paused)
        over = over || now >= k->last_rx + STALL_MS;
    if (over)
        finish(k, KSM_UP_TIMEOUT);
    else
        arm(c);
}

/* A failure found where no callback may run (inside ksm_h1_start): reported on the next turn. */
static void fail_soon(struct conn *c, enum ksm_up_result res)
{
    c->pending = res;
    c->has_pending = true;
    uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* ---- reading ----------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *b)
{
    struct conn *c = hd->data;
    (void)hint;
    *b = uv_buf_init(c->h->rbuf, READ_BUF);
}

static bool on_body(void *arg, const char *p, size_t n)
{
    struct conn *c = arg;
    struct h1_call *k = c->call;
    if (k->cancelled)
        return true;
    send_head(k);
    if (k->cancelled)
        return true;
    if (k->o.on_data && k->o.on_data(k->o.arg, p, n))
        k->paused = true;
    return k->cancelled;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = s->data;
    struct h1_call *k = c->call;
    if (nread == 0)
        return;
    if (!k) {   /* idle: the server closed it, or sent what nobody asked for */
        conn_close(c);
        return;
    }
    if (nread < 0) {
        k->in_cb = true;
        enum ksm_h1_feed f = nread == UV_EOF ? ksm_h1_resp_eof(&c->resp) : KSM_H1_BAD;
        k->in_cb = false;
        c->spoiled = true;
        if (k->cancelled)
            drop(k);
        else
            finish(k, f == KSM_H1_DONE ? KSM_UP_OK : KSM_UP_RESET);
        return;
    }
    k->got_response = true;
    k->last_rx = uv_now(c->h->loop);
    size_t used;
    k->in_cb = true;
    enum ksm_h1_feed f = ksm_h1_resp_feed(&c->resp, b->base, (size_t)nread, &used);
    k->in_cb = false;
    if (k->cancelled) {
        drop(k);
        return;
    }
    switch (f) {
    case KSM_H1_MORE:
        if (k->paused && c->reading) {
            uv_read_stop(s);
            c->reading = false;
        }
        return;
    case KSM_H1_DONE:
        if (used < (size_t)nread)
            c->spoiled = true;   /* bytes after the answer: this connection is not in step */
        finish(k, KSM_UP_OK);
        return;
    default:
        c->spoiled = true;
        finish(k, KSM_UP_ERROR);
        return;
    }
}

/* ---- writing ----------------------------------------------------------------------------------- */

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    c->writing = false;
    if (status < 0 && !c->closing && c->call) {
        c->spoiled = true;
        finish(c->call, KSM_UP_RESET);
    }
}

static void send_request(struct conn *c)
{
    struct h1_call *k = c->call;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    k->last_rx = uv_now(c->h->loop);
    ksm_h1_resp_init(&c->resp, c, on_body);
    if (!c->reading)
        c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
    int nb = 1;
    if (c->reading && ksm_try_write((uv_stream_t *)&c->tcp, &b, &nb)) {
        arm(c);   /* the socket took it whole: no write request (http.h) */
        return;
    }
    if (!c->reading || uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        c->spoiled = true;
        fail_soon(c, KSM_UP_RESET);
        return;
    }
    c->writing = true;
    arm(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing || !c->call)
        return;
    if (status < 0) {
        finish(c->call, KSM_UP_CONNECT);
        return;
    }
    c->open = true;
    c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
    send_request(c);
}

static void connect_to(struct conn *c, const struct sockaddr *sa)
{
    if (uv_tcp_connect(&c->connect, &c->tcp, sa, on_connect) != 0)
        fail_soon(c, KSM_UP_CONNECT);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    struct conn *c = g->data;
    c->resolving = false;
    if (c->closing || !c->call || status < 0 || !ai) {
        if (!c->closing && c->call)
            finish(c->call, KSM_UP_CONNECT);
    } else {
        connect_to(c, ai->ai_addr);
    }
    uv_freeaddrinfo(ai);
    conn_unref(c);
}

static struct conn *conn_new(struct ksm_h1 *h, const char *key)
{
    struct conn *c = ksm_xcalloc(1, sizeof *c);
    c->h = h;
    ksm_fmt_copy(c->key, sizeof c->key, key);
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    uv_tcp_nodelay(&c->tcp, 1);
    c->tcp.data = c->timer.data = c->connect.data = c->gai.data = c->write.data = c;
    c->refs = 2;
    KSM_DLIST_PUSH(h->conns, c, prev, next);
    return c;
}

/* Starts connecting c: at once for an IP literal, else after resolving the name. */
static void conn_open(struct conn *c, const struct ksm_h1_url *u)
{
    struct sockaddr_storage ss;
    if (uv_ip4_addr(u->host, u->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(u->host, u->port, (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(c, (struct sockaddr *)&ss);
        return;
    }
    char port[8];
    snprintf(port, sizeof port, "%d", u->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->refs++;
    c->resolving = true;
    if (uv_getaddrinfo(c->h->loop, &c->gai, on_resolved, u->host, port, &hints) != 0) {
        c->refs--;
        c->resolving = false;
        fail_soon(c, KSM_UP_CONNECT);
    }
}

/* ---- calls ------------------------------------------------------------------------------------- */

static void build_request(struct ksm_buf *out, const struct ksm_up_call_opts *o,
                          const struct ksm_h1_url *u)
{
    ksm_buf_reset(out);
    ksm_buf_reserve(out, 256 + o->body_len);
    ksm_buf_puts(out, o->method);
    ksm_buf_putc(out, ' ');
    ksm_buf_puts(out, u->target);
    ksm_buf_puts(out, " HTTP/1.1\r\nHost: ");
    ksm_buf_puts(out, u->authority);
    ksm_buf_puts(out, "\r\n");
    if (o->body) {
        ksm_buf_puts(out, "Content-Length: ");
        ksm_buf_put_i64(out, (int64_t)o->body_len);
        ksm_buf_puts(out, "\r\n");
    }
    for (const char *const *hd = o->headers; hd && *hd; hd++) {
        ksm_buf_puts(out, *hd);
        ksm_buf_puts(out, "\r\n");
    }
    ksm_buf_puts(out, "\r\n");
    if (o->body)
        ksm_buf_append(out, o->body, o->body_len);
}

struct ksm_up_call *ksm_h1_start(struct ksm_h1 *h, const struct ksm_up_call_opts *o)
{
    struct ksm_h1_url u;
    if (!ksm_h1_url_parse(o->url, &u))
        return NULL;
    char key[300];   /* "host:port" */
    struct ksm_fmt f = ksm_fmt_init(key, sizeof key);
    ksm_fmt_str(&f, u.host);
    ksm_fmt_mem(&f, ":", 1);
    ksm_fmt_i64(&f, u.port);
    struct h1_call *k = ksm_xcalloc(1, sizeof *k);
    k->base.own = true;
    k->o = *o;
    k->o.headers = NULL;   /* copied into the request below; nothing else keeps them */
    k->o.body = NULL;
    k->t_start = uv_now(h->loop);
    struct conn *c = pool_take(h, key);
    k->reused = c != NULL;
    if (!c)
        c = conn_new(h, key);
    c->call = k;
    c->spoiled = false;
    k->conn = c;
    build_request(&c->out, o, &u);
    ksm_up__count_started();
    if (k->reused) {
        send_request(c);
    } else {
        conn_open(c, &u);
        if (!c->has_pending)
            arm(c);
    }
    return &k->base;
}

void ksm_h1_cancel(struct ksm_up_call *base)
{
    struct h1_call *k = (struct h1_call *)base;
    if (k->cancelled)
        return;
    k->cancelled = true;
    if (k->in_cb)
        return;   /* the read or finish under way drops it */
    drop(k);
}

void ksm_h1_resume(struct ksm_up_call *base)
{
    struct h1_call *k = (struct h1_call *)base;
    struct conn *c = k->conn;
    if (!k->paused || k->cancelled || !c)
        return;
    k->paused = false;
    k->last_rx = uv_now(c->h->loop);
    if (!c->reading && c->open)
        c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
}

/* ---- the pool ---------------------------------------------------------------------------------- */

struct ksm_h1 *ksm_h1_new(uv_loop_t *loop)
{
    struct ksm_h1 *h = ksm_xcalloc(1, sizeof *h);
    h->loop = loop;
    return h;
}

void ksm_h1_free(struct ksm_h1 *h)
{
    if (!h)
        return;
    while (h->conns) {
        struct conn *c = h->conns;
        if (c->call) {
            c->call->conn = NULL;
            free(c->call);
            c->call = NULL;
        }
        conn_close(c);
    }
    free(h);
}
