/* test_http_stream.c — the HTTP layer's streaming paths with a real server on 127.0.0.1:
 * a large request body streamed to the application with back-pressure (pause and resume), an answer
 * given at the head (the body is dropped and the connection closed), and a response of known length
 * written in pieces. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "core/conf.h"
#include "core/util.h"
#include "http/http.h"

#define BODY (8u << 20)

struct sink {
    unsigned long long got, pauses;
    uint32_t sum;
    uv_timer_t timer;
    struct ksm_req *r;
};

static void resume_later(uv_timer_t *t) { ksm_req_body_resume(((struct sink *)t->data)->r); }

static bool on_chunk(struct ksm_req *r, const char *p, size_t n)
{
    struct sink *s = r->app_data;
    for (size_t i = 0; i < n; i++)
        s->sum = s->sum * 31 + (unsigned char)p[i];
    unsigned long long before = s->got;
    s->got += n;
    if (before / (1u << 20) != s->got / (1u << 20)) {   /* pause at every MiB boundary */
        s->pauses++;
        uv_timer_start(&s->timer, resume_later, 2, 0);
        return true;
    }
    return false;
}

static void closed_timer(uv_handle_t *h) { free(h->data); }

static void on_end(struct ksm_req *r)
{
    struct sink *s = r->app_data;
    ksm_buf_printf(&r->resp, "%llu %u %llu", s->got, s->sum, s->pauses);
    r->status = 200;
    uv_close((uv_handle_t *)&s->timer, closed_timer);
    ksm_req_send(r);
}

static void on_headers(struct ksm_req *r)
{
    if (!strcmp(r->path, "/deny")) {
        r->status = 401;
        ksm_buf_puts(&r->resp, "no");
        ksm_req_send(r);
        return;
    }
    if (strcmp(r->path, "/upload"))
        return;
    struct sink *s = ksm_xcalloc(1, sizeof *s);
    s->r = r;
    uv_timer_init(&r->worker->loop, &s->timer);
    s->timer.data = s;
    r->app_data = s;
    ksm_req_stream_body(r, on_chunk, on_end);
}

struct dl {
    uv_timer_t t;
    struct ksm_req *r;
    int left;
};

static void dl_closed(uv_handle_t *h) { free(h->data); }

static void dl_tick(uv_timer_t *t)
{
    struct dl *d = t->data;
    char piece[4096];
    memset(piece, 'k', sizeof piece);
    ksm_req_stream_write(d->r, piece, sizeof piece);
    if (--d->left == 0) {
        ksm_req_stream_end(d->r);
        uv_close((uv_handle_t *)&d->t, dl_closed);
        return;
    }
    uv_timer_start(&d->t, dl_tick, 1, 0);
}

static void handler(struct ksm_req *r)
{
    if (!strcmp(r->path, "/download")) {
        struct dl *d = ksm_xcalloc(1, sizeof *d);
        d->r = r;
        d->left = 16;
        uv_timer_init(&r->worker->loop, &d->t);
        d->t.data = d;
        ksm_req_stream_begin_sized(r, 16 * 4096);
        uv_timer_start(&d->t, dl_tick, 1, 0);
        return;
    }
    r->status = 404;
    ksm_req_send(r);
}

static int connect_to(const char *addr)
{
    char host[64];
    int port;
    sscanf(addr, "%63[^:]:%d", host, &port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa))
        return -1;
    return fd;
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return n;
}

static void test_upload(const char *addr)
{
    int fd = connect_to(addr);
    CHECK(fd >= 0);
    char head[256];
    int hl = snprintf(head, sizeof head, "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n"
                                         "Connection: close\r\n\r\n", BODY);
    CHECK(write(fd, head, (size_t)hl) == hl);
    char *body = malloc(BODY);
    uint32_t sum = 0;
    for (unsigned i = 0; i < BODY; i++) {
        body[i] = (char)(i * 7 + (i >> 13));
        sum = sum * 31 + (unsigned char)body[i];
    }
    for (size_t off = 0; off < BODY;) {
        ssize_t w = write(fd, body + off, BODY - off > 65536 ? 65536 : BODY - off);
        CHECK(w > 0);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    char resp[4096];
    read_all(fd, resp, sizeof resp);
    close(fd);
    char *b = strstr(resp, "\r\n\r\n");
    unsigned long long got = 0, pauses = 0;
    unsigned s2 = 0;
    CHECK(!strncmp(resp, "HTTP/1.1 200", 12));
    CHECK(b && sscanf(b + 4, "%llu %u %llu", &got, &s2, &pauses) == 3);
    CHECK(got == BODY);
    CHECK(s2 == sum);
    CHECK(pauses >= 7);   /* the consumer paused at each MiB and every byte still arrived */
    free(body);
}

static void test_early_answer(const char *addr)
{
    int fd = connect_to(addr);
    const char req[] = "PUT /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
                       "GET /download HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
    char resp[4096];
    read_all(fd, resp, sizeof resp);   /* ends: the server closed after the early answer */
    close(fd);
    CHECK(!strncmp(resp, "HTTP/1.1 401", 12));
    CHECK(strstr(resp, "Connection: close") != NULL);
    CHECK(strstr(resp + 12, "HTTP/1.1") == NULL);   /* the pipelined request was not served */
}

static void test_sized_download(const char *addr)
{
    int fd = connect_to(addr);
    const char req[] = "GET /download HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CHECK(write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
    static char resp[1 << 17];
    size_t n = read_all(fd, resp, sizeof resp);
    close(fd);
    char *b = strstr(resp, "\r\n\r\n");
    CHECK(strstr(resp, "Content-Length: 65536") != NULL);
    CHECK(strstr(resp, "Transfer-Encoding") == NULL);
    CHECK(b && n - (size_t)(b + 4 - resp) == 65536);
}

/* ksm_try_write on a socket whose buffer cannot take everything: false, and what is left in the
 * buffers is exactly the bytes the peer has not received, in order (then the rest goes through). */
static void test_try_write_partial(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_pipe_t p;
    uv_pipe_init(&loop, &p, 0);
    CHECK(uv_pipe_open(&p, sv[0]) == 0);
    size_t n1 = 300000, n2 = 10, n3 = 5000;
    char *a = ksm_xmalloc(n1 + n2 + n3);
    for (size_t i = 0; i < n1 + n2 + n3; i++)
        a[i] = (char)(i * 7 + i / 251);
    uv_buf_t b[3] = {uv_buf_init(a, (unsigned)n1), uv_buf_init(a + n1, (unsigned)n2),
                     uv_buf_init(a + n1 + n2, (unsigned)n3)};
    int nb = 3;
    CHECK(!ksm_try_write((uv_stream_t *)&p, b, &nb));
    size_t left = 0;
    for (int i = 0; i < nb; i++)
        left += b[i].len;
    CHECK(nb >= 1 && nb <= 3 && left > 0 && left < n1 + n2 + n3);
    CHECK(b[nb - 1].base + b[nb - 1].len == a + n1 + n2 + n3);   /* the tail, contiguous */
    CHECK(b[0].base == a + (n1 + n2 + n3 - left));
    char *got = ksm_xmalloc(n1 + n2 + n3);
    size_t have = 0;
    while (have < n1 + n2 + n3 - left) {   /* what the peer received is the head, in order */
        ssize_t k = read(sv[1], got + have, n1 + n2 + n3 - left - have);
        CHECK(k > 0);
        if (k <= 0)
            break;
        have += (size_t)k;
    }
    CHECK(!memcmp(got, a, have));
    uv_close((uv_handle_t *)&p, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    close(sv[1]);
    free(got);
    free(a);
}

int main(void)
{
    test_try_write_partial();
    struct ksm_conf conf;
    ksm_conf_defaults(&conf);
    conf.admin.port = 0;
    struct ksm_server_opts o = {.conf = &conf};
    o.listeners[o.nlisteners++] = (struct ksm_listener_opts){"test", &conf.admin, handler, on_headers};
    struct ksm_server *srv;
    char err[256];
    CHECK(ksm_server_start(&srv, &o, err, sizeof err) == 0);
    const char *addr = ksm_server_address(srv, 0);
    test_upload(addr);
    test_early_answer(addr);
    test_sized_download(addr);
    ksm_server_stop(srv, 1000);
    return CHECK_DONE();
}
