/* upstream.c — the entry points of upstream.h: http:// goes to our own HTTP/1.1 client
 * (h1_client.c), everything else (https://) to libcurl, set up here.
 *
 * libcurl multi-socket on a libuv loop (the pattern of curl's multi-uv example):
 * curl tells us which sockets to watch and when its timer is due; we poll them with uv_poll_t and
 * call curl_multi_socket_action when they are ready. Finished transfers are collected from
 * curl_multi_info_read after every action.
 *
 * Per-call set-up is kept small: finished easy handles are reset and kept for the next call (up to
 * IDLE_MAX per loop), and the connection cache has a fixed size: libcurl's default (four per easy
 * handle in the multi at that moment) shrinks whenever fewer calls are in flight and closes warm
 * connections that the next burst has to open again. A socket's poll handle lives as long as the
 * socket (libcurl closes sockets through close_socket below), not just while libcurl watches it:
 * a connection going idle between calls keeps its handle, which is started again when the
 * connection is reused. Initialising one costs three system calls (libuv tests the descriptor with
 * epoll_ctl ADD and DEL, and sets it non-blocking). */
#include "ai/upstream_int.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ai/h1_client.h"
#include "core/dlist.h"
#include "core/log.h"
#include "core/util.h"

#define IDLE_MAX 256         /* reset easy handles kept for reuse, per loop */
#define CONN_CACHE_MAX 256L  /* idle connections kept, per loop (all hosts) */

struct ksm_upstream {
    uv_loop_t *loop;
    struct ksm_h1 *h1;             /* http:// */
    CURLM *multi;
    uv_timer_t timer;
    struct curl_call *calls;       /* in flight, so that freeing can cancel them */
    CURL *idle[IDLE_MAX];          /* reset easy handles for the next calls */
    int nidle;
    struct sock_ctx **socks;       /* by descriptor: the poll handles of open sockets */
    size_t nsocks;
    char *ca_file;                 /* [ai] upstream_ca_file, or NULL: the system's CAs */
};

struct sock_ctx {                  /* one socket's poll handle */
    uv_poll_t poll;
    curl_socket_t fd;
    struct ksm_upstream *u;
};

struct curl_call {
    struct ksm_up_call base;       /* first: ksm_up_call pointers are these (own = false) */
    struct ksm_upstream *u;
    struct curl_call *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    struct ksm_up_call_opts o;
    char content_type[128];
    long retry_after;
    bool head_sent, got_response, paused, cancelled, in_callback;
};

static atomic_ullong st_started, st_reused, st_failed;
static uv_once_t curl_once = UV_ONCE_INIT;

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void ksm_up__count_started(void) { atomic_fetch_add(&st_started, 1); }
void ksm_up__count_reused(void) { atomic_fetch_add(&st_reused, 1); }
void ksm_up__count_failed(void) { atomic_fetch_add(&st_failed, 1); }

void ksm_upstream_stats(struct ksm_up_stats *out)
{
    out->started = atomic_load(&st_started);
    out->reused = atomic_load(&st_reused);
    out->failed = atomic_load(&st_failed);
}

/* ---- finishing ----------------------------------------------------------------------------- */

static void call_free(struct curl_call *c)
{
    KSM_DLIST_REMOVE(c->u->calls, c, prev, next);
    curl_multi_remove_handle(c->u->multi, c->easy);
    if (c->u->nidle < IDLE_MAX) {
        curl_easy_reset(c->easy);   /* options back to defaults; the multi keeps the connections */
        c->u->idle[c->u->nidle++] = c->easy;
    } else {
        curl_easy_cleanup(c->easy);
    }
    curl_slist_free_all(c->headers);
    free(c->body);
    free(c);
}

static enum ksm_up_result classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return KSM_UP_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: return KSM_UP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return KSM_UP_TIMEOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return KSM_UP_RESET;
    default: return KSM_UP_ERROR;
    }
}

static void send_head(struct curl_call *c)
{
    if (c->head_sent)
        return;
    c->head_sent = true;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (c->o.on_head)
        c->o.on_head(c->o.arg, status, c->content_type, c->retry_after);
}

static void finish(struct curl_call *c, CURLcode rc)
{
    long connects = 0;
    curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
    bool reused = connects == 0;
    if (reused)
        atomic_fetch_add(&st_reused, 1);
    if (c->cancelled) {
        call_free(c);
        return;
    }
    enum ksm_up_result res = classify(rc);
    c->in_callback = true;
    if (res != KSM_UP_OK)
        atomic_fetch_add(&st_failed, 1);
    else
        send_head(c);   /* an empty body still gets its head */
    if (!c->cancelled)
        c->o.on_done(c->o.arg, res, c->got_response, reused);
    call_free(c);
}

static void check_done(struct ksm_upstream *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct curl_call *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        CURLcode rc = m->data.result;
        finish(c, rc);
    }
}

/* ---- sockets and timer ---------------------------------------------------------------------- */

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *s = p->data;
    int flags = status < 0 ? CURL_CSELECT_ERR
                           : ((events & UV_READABLE) ? CURL_CSELECT_IN : 0) |
                                 ((events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0);
    int running;
    struct ksm_upstream *u = s->u;
    curl_multi_socket_action(u->multi, s->fd, flags, &running);
    check_done(u);
}

static void on_timer(uv_timer_t *t)
{
    struct ksm_upstream *u = t->data;
    int running;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(u);
}

static int timer_cb(CURLM *multi, long ms, void *userp)
{
    struct ksm_upstream *u = userp;
    if (ms < 0)
        uv_timer_stop(&u->timer);
    else
        uv_timer_start(&u->timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

static void sock_closed(uv_handle_t *h) { free(h->data); }

/* The poll handle of socket fd: kept from an earlier call on the same connection, or new. */
static struct sock_ctx *sock_for(struct ksm_upstream *u, curl_socket_t fd)
{
    if ((size_t)fd >= u->nsocks) {
        size_t n = (size_t)fd + 64;
        u->socks = ksm_xrealloc(u->socks, n * sizeof *u->socks);
        memset(u->socks + u->nsocks, 0, (n - u->nsocks) * sizeof *u->socks);
        u->nsocks = n;
    }
    struct sock_ctx *s = u->socks[fd];
    if (!s) {
        s = ksm_xcalloc(1, sizeof *s);
        s->fd = fd;
        s->u = u;
        uv_poll_init_socket(u->loop, &s->poll, fd);
        s->poll.data = s;
        u->socks[fd] = s;
    }
    return s;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct ksm_upstream *u = userp;
    struct sock_ctx *s = sockp;
    if (fd < 0)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);   /* kept until close_socket: the connection may be reused */
            curl_multi_assign(u->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = sock_for(u, fd);
        curl_multi_assign(u->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

/* libcurl closes every socket of its connections here (CURLOPT_CLOSESOCKETFUNCTION is copied into
 * each connection, so this holds when the multi handle's cache closes one too). The poll handle
 * goes first, while the descriptor is still this socket's: closing a handle makes libuv remove its
 * descriptor from epoll, which must never hit a descriptor number that has been reused since. */
static int close_socket(void *userp, curl_socket_t fd)
{
    struct ksm_upstream *u = userp;
    if (fd >= 0 && (size_t)fd < u->nsocks && u->socks[fd]) {
        uv_close((uv_handle_t *)&u->socks[fd]->poll, sock_closed);
        u->socks[fd] = NULL;
    }
    return close(fd);
}

struct ksm_upstream *ksm_upstream_new(uv_loop_t *loop, const char *ca_file)
{
    uv_once(&curl_once, curl_init_once);
    struct ksm_upstream *u = ksm_xcalloc(1, sizeof *u);
    u->loop = loop;
    u->ca_file = ca_file && *ca_file ? ksm_xstrdup(ca_file) : NULL;
    u->h1 = ksm_h1_new(loop);
    u->multi = curl_multi_init();
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, CONN_CACHE_MAX);
    return u;
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

void ksm_upstream_free(struct ksm_upstream *u)
{
    if (!u)
        return;
    ksm_h1_free(u->h1);
    while (u->calls)
        call_free(u->calls);
    while (u->nidle)
        curl_easy_cleanup(u->idle[--u->nidle]);
    curl_multi_cleanup(u->multi);   /* closes every connection, through close_socket */
    for (size_t i = 0; i < u->nsocks; i++)
        if (u->socks[i])
            uv_close((uv_handle_t *)&u->socks[i]->poll, sock_closed);
    free(u->socks);
    free(u->ca_file);
    uv_close((uv_handle_t *)&u->timer, timer_closed);
}

/* ---- one call ------------------------------------------------------------------------------- */

static size_t on_header_line(char *p, size_t size, size_t n, void *arg)
{
    struct curl_call *c = arg;
    size_t len = size * n;
    if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
        const char *v = p + 13;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = (size_t)(p + len - v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        if (vl >= sizeof c->content_type)
            vl = sizeof c->content_type - 1;
        memcpy(c->content_type, v, vl);
        c->content_type[vl] = '\0';
    } else if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
        c->retry_after = strtol(p + 12, NULL, 10);
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct curl_call *c = arg;
    size_t len = size * n;
    if (c->cancelled)
        return 0;   /* aborts the transfer; finish() frees it without callbacks */
    c->got_response = true;
    c->in_callback = true;
    send_head(c);
    bool pause = !c->cancelled && c->o.on_data && c->o.on_data(c->o.arg, p, len);
    c->in_callback = false;
    if (c->cancelled)
        return 0;
    if (pause) {
        c->paused = true;
        return CURL_WRITEFUNC_PAUSE;   /* curl keeps these bytes and delivers them again on resume */
    }
    return len;
}

static struct ksm_up_call *curl_start(struct ksm_upstream *u, const struct ksm_up_call_opts *o)
{
    struct curl_call *c = ksm_xcalloc(1, sizeof *c);
    c->u = u;
    c->o = *o;
    c->retry_after = -1;
    c->easy = u->nidle ? u->idle[--u->nidle] : curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    for (const char *const *h = o->headers; h && *h; h++)
        c->headers = curl_slist_append(c->headers, *h);
    c->headers = curl_slist_append(c->headers, "Expect:");   /* no 100-continue round trip */
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms ? o->connect_timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header_line);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (u->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, u->ca_file);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, u);
    /* a body that stalls (no byte for 30 s) ends the call even inside a long overall time-out */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
    if (o->body) {
        c->body = ksm_xmalloc(o->body_len + 1);
        memcpy(c->body, o->body, o->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    }
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(c->headers);
        free(c->body);
        free(c);
        return NULL;
    }
    atomic_fetch_add(&st_started, 1);
    KSM_DLIST_PUSH(u->calls, c, prev, next);
    return &c->base;
}

struct ksm_up_call *ksm_up_start(struct ksm_upstream *u, const struct ksm_up_call_opts *o)
{
    if (!strncasecmp(o->url, "http://", 7))
        return ksm_h1_start(u->h1, o);
    return curl_start(u, o);
}

void ksm_up_cancel(struct ksm_up_call *base)
{
    if (!base)
        return;
    if (base->own) {
        ksm_h1_cancel(base);
        return;
    }
    struct curl_call *c = (struct curl_call *)base;
    if (c->cancelled)
        return;
    c->cancelled = true;
    if (c->in_callback)
        return;   /* on_body returns 0 or finish() is running: either frees it */
    call_free(c);
}

void ksm_up_resume(struct ksm_up_call *base)
{
    if (base && base->own) {
        ksm_h1_resume(base);
        return;
    }
    struct curl_call *c = (struct curl_call *)base;
    if (c && c->paused && !c->cancelled) {
        c->paused = false;
        curl_easy_pause(c->easy, CURLPAUSE_CONT);
    }
}
