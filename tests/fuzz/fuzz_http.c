/* fuzz_http.c — the HTTP request path from bytes to the handler: pre-scan, llhttp, header and
 * target handling, limits, pipelining. The input is fed in two pieces (split where its first byte
 * says) so that incremental parsing is exercised too. No socket: the handler drops each request and
 * the connection is recycled, as after a written response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

static struct ksm_conf conf;
static struct ksm_server srv;
static struct ksm_wctx *wc;
static int handled;
static struct ksm_lsn lsn;

static void handler(struct ksm_req *r)
{
    handled++;
    /* touch what a handler reads */
    (void)ksm_req_header(r, "host");
    (void)ksm_req_query(r, "a");
    (void)strlen(r->path);
    (void)strlen(r->method_name);
}

static void setup(void)
{
    ksm_conf_defaults(&conf);
    conf.max_header_bytes = 4096;
    conf.max_body_bytes = 65536;
    srv.o.conf = &conf;
    lsn.o.handler = handler;
    wc = calloc(1, sizeof *wc);
    wc->w.server = &srv;
    uv_loop_init(&wc->w.loop);
}

static void drive(struct ksm_conn *c, const char *p, size_t n)
{
    ksm_conn_feed(c, p, n);
    for (int i = 0; i < 1000 && c->state == CS_BUSY && !c->failed; i++)
        ksm_conn_recycle(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!wc)
        setup();
    struct ksm_conn *c = ksm_conn_new(wc, &lsn);
    size_t cut = size ? data[0] % (size + 1) : 0;
    drive(c, (const char *)data, cut);
    if (!c->failed && c->state != CS_BUSY)
        drive(c, (const char *)data + cut, size - cut);
    if (c->req) {
        ksm_buf_free(&c->req->body);
        ksm_buf_free(&c->req->resp);
    }
    ksm_conn_close(c);
    uv_run(&wc->w.loop, UV_RUN_NOWAIT);
    return 0;
}
