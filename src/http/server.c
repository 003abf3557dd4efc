/* server.c — listeners and worker threads. Each worker runs its own libuv loop with its own listening
 * socket on the same address (SO_REUSEPORT), so the kernel spreads connections and no lock is shared
 * on the request path. */
#include "http/http_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

static int resolve(const struct ksm_listen *l, struct sockaddr_storage *ss)
{
    const char *host = strcmp(l->host, "localhost") ? l->host : "127.0.0.1";
    if (uv_ip4_addr(host, l->port, (struct sockaddr_in *)ss) == 0)
        return 0;
    return uv_ip6_addr(host, l->port, (struct sockaddr_in6 *)ss);
}

static int bind_socket(struct sockaddr_storage *ss, char *err, size_t errlen)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)ss, len) || listen(fd, 511))
        goto fail;
    if (getsockname(fd, (struct sockaddr *)ss, &len))   /* learn the port when 0 was asked */
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "bind: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct ksm_wctx *wc = listener->data;
    int i = (int)((uv_tcp_t *)listener - wc->listeners);
    if (status == 0)
        ksm_conn_accept(wc, &wc->w.server->lsn[i], listener);
}

static void close_cb_noop(uv_handle_t *h) { (void)h; }

static void on_stop(uv_async_t *a)
{
    struct ksm_wctx *wc = a->data;
    wc->draining = true;
    for (int i = 0; i < wc->w.server->nlsn; i++)
        uv_close((uv_handle_t *)&wc->listeners[i], close_cb_noop);
    ksm_conn_drain_all(wc);
    uv_close((uv_handle_t *)&wc->stop, close_cb_noop);
}

/* After draining, the loop still holds connections that finish their last response, and the
 * mailbox. This check runs each iteration and closes the mailbox once no connection is left. */
static void on_check(uv_check_t *h)
{
    struct ksm_wctx *wc = h->data;
    if (wc->draining && !wc->conns) {
        struct ksm_server *s = wc->w.server;
        if (s->o.worker_drained)
            s->o.worker_drained(&wc->w);
        uv_check_stop(h);
        uv_close((uv_handle_t *)h, close_cb_noop);
        ksm_conn_written_close(wc);
        ksm_mailbox_close(wc->w.mailbox);
        wc->w.mailbox = NULL;
    }
}

static void worker_main(void *arg)
{
    struct ksm_wctx *wc = arg;
    struct ksm_server *s = wc->w.server;
    char name[16];
    snprintf(name, sizeof name, "ksm-worker-%d", wc->w.id);
    ksm_thread_name(name);
    uv_check_t check;
    uv_loop_init(&wc->w.loop);
    wc->w.mailbox = ksm_mailbox_new(&wc->w.loop);
    uv_async_init(&wc->w.loop, &wc->stop, on_stop);
    wc->stop.data = wc;
    uv_check_init(&wc->w.loop, &check);
    check.data = wc;
    uv_check_start(&check, on_check);
    ksm_conn_written_init(wc);
    int bad = 0;
    for (int i = 0; i < s->nlsn; i++) {
        uv_tcp_init(&wc->w.loop, &wc->listeners[i]);
        wc->listeners[i].data = wc;
        bad |= uv_tcp_open(&wc->listeners[i], wc->fds[i]) ||
               uv_listen((uv_stream_t *)&wc->listeners[i], 511, on_connection);
    }
    if (bad || (s->o.worker_init && s->o.worker_init(&wc->w))) {
        wc->started = -1;
        uv_sem_post(&s->ready);
        return;
    }
    wc->started = 1;
    uv_sem_post(&s->ready);
    uv_run(&wc->w.loop, UV_RUN_DEFAULT);
    if (s->o.worker_fini)
        s->o.worker_fini(&wc->w);
    uv_run(&wc->w.loop, UV_RUN_DEFAULT);   /* the close callbacks of what fini closed */
    if (uv_loop_close(&wc->w.loop))
        ksm_warn("worker %d: handles still open at exit", wc->w.id);
}

static void format_address(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char ip[64];
    if (ss->ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)ss, ip, sizeof ip);
        snprintf(out, n, "[%s]:%d", ip, ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
    } else {
        uv_ip4_name((const struct sockaddr_in *)ss, ip, sizeof ip);
        snprintf(out, n, "%s:%d", ip, ntohs(((const struct sockaddr_in *)ss)->sin_port));
    }
}

/* Resolves and binds listener i's first socket (which fixes the port), and sets up its TLS. */
static int listener_init(struct ksm_server *s, int i, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    struct ksm_lsn *l = &s->lsn[i];
    l->o = s->o.listeners[i];
    memset(ss, 0, sizeof *ss);
    if (resolve(l->o.listen, ss)) {
        snprintf(err, errlen, "%s: cannot parse listen address %s", l->o.name, l->o.listen->host);
        return -1;
    }
    if (l->o.listen->tls_cert[0] && ksm_tls_ctx_new(&l->tls, l->o.listen, err, errlen))
        return -1;
    return 0;
}

static int worker_bind(struct ksm_server *s, struct ksm_wctx *wc, struct sockaddr_storage *ss,
                       bool first, char *err, size_t errlen)
{
    for (int i = 0; i < s->nlsn; i++) {
        wc->fds[i] = bind_socket(&ss[i], err, errlen);   /* the first bind fixes the port */
        if (wc->fds[i] < 0)
            return -1;
        if (first)
            format_address(&ss[i], s->lsn[i].address, sizeof s->lsn[i].address);
    }
    return 0;
}

int ksm_server_start(struct ksm_server **out, const struct ksm_server_opts *o, char *err, size_t errlen)
{
    struct sockaddr_storage ss[KSM_MAX_LISTENERS];
    struct ksm_server *s = ksm_xcalloc(1, sizeof *s);
    s->o = *o;
    s->nworkers = o->conf->workers > 0 ? o->conf->workers : 1;
    s->workers = ksm_xcalloc((size_t)s->nworkers, sizeof *s->workers);
    uv_sem_init(&s->ready, 0);
    int started = 0;
    for (; s->nlsn < o->nlisteners && s->nlsn < KSM_MAX_LISTENERS; s->nlsn++)
        if (listener_init(s, s->nlsn, &ss[s->nlsn], err, errlen))
            goto fail;
    for (int i = 0; i < s->nworkers; i++) {
        struct ksm_wctx *wc = &s->workers[i];
        if (worker_bind(s, wc, ss, i == 0, err, errlen))
            goto fail;
        wc->w.id = i;
        wc->w.server = s;
        wc->w.app = o->app;
        snprintf(wc->idprefix, sizeof wc->idprefix, "%02x", i);
        unsigned char rnd[4];
        ksm_random_bytes(rnd, sizeof rnd);
        ksm_hex(rnd, sizeof rnd, wc->idprefix + 2);
        if (uv_thread_create(&wc->thread, worker_main, wc))
            goto fail;
        started++;
        uv_sem_wait(&s->ready);
        if (wc->started < 0) {
            snprintf(err, errlen, "worker %d failed to start", i);
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    s->nworkers = started;
    ksm_server_stop(s, 0);
    return -1;
}

void ksm_server_set_conf(struct ksm_server *s, const struct ksm_conf *conf)
{
    __atomic_store_n(&s->o.conf, conf, __ATOMIC_RELEASE);
}

const char *ksm_server_address(const struct ksm_server *s, int i)
{
    return i >= 0 && i < s->nlsn ? s->lsn[i].address : "";
}

void ksm_server_stop(struct ksm_server *s, int timeout_ms)
{
    (void)timeout_ms;   /* in-flight requests finish; none waits on anything unbounded */
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].started > 0)
            uv_async_send(&s->workers[i].stop);
    for (int i = 0; i < s->nworkers; i++)
        uv_thread_join(&s->workers[i].thread);
    uv_sem_destroy(&s->ready);
    for (int i = 0; i < s->nlsn; i++)
        SSL_CTX_free(s->lsn[i].tls);
    free(s->workers);
    free(s);
}
