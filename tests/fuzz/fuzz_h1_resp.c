/* fuzz_h1_resp.c — libFuzzer target: arbitrary bytes as an upstream's HTTP/1.1 answer to the
 * gateway's own client (src/ai/h1_resp.c), fed whole and in arbitrary chunkings (the first byte
 * picks the chunk sizes), then the connection's end. Whatever the input, the chunking must not
 * change the outcome, the status, the headers kept or the body bytes; a completed answer must not
 * claim more bytes than it was given. The first line is also tried as an upstream URL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/h1_client.h"
#include "ai/h1_resp.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool collect(void *arg, const char *p, size_t n)
{
    ksm_buf_append(arg, p, n);
    return false;
}

/* The outcome as one string: how it ended, status, headers, body. */
static void run(const char *d, size_t n, unsigned step, struct ksm_buf *log)
{
    struct ksm_buf body = KSM_BUF_INIT;
    struct ksm_h1_resp r;
    ksm_h1_resp_init(&r, &body, collect);
    enum ksm_h1_feed f = KSM_H1_MORE;
    size_t at = 0;
    while (at < n && f == KSM_H1_MORE) {
        size_t k = step ? (at * 7 + step) % (step + 1) + 1 : n;
        if (k > n - at)
            k = n - at;
        size_t used;
        f = ksm_h1_resp_feed(&r, d + at, k, &used);
        if (used > k)
            abort();
        at += used;
    }
    if (f == KSM_H1_MORE)
        f = ksm_h1_resp_eof(&r);
    if (f == KSM_H1_STOPPED || (f == KSM_H1_DONE && !r.complete))
        abort();
    if (r.headers_done && (r.status < 200 || r.status > 999))
        abort();   /* an interim answer is never the answer */
    ksm_buf_printf(log, "%d %d %d|%s|%ld|%zu|", (int)f, f == KSM_H1_DONE ? r.status : 0,
                   f == KSM_H1_DONE ? (int)(at != n) : 0, r.content_type, r.retry_after, body.len);
    if (f == KSM_H1_DONE)
        ksm_buf_append(log, body.data, body.len);
    ksm_buf_free(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    struct ksm_buf whole = KSM_BUF_INIT, split = KSM_BUF_INIT;
    run(d, n, 0, &whole);
    run(d, n, data[0] % 23, &split);
    if (whole.len != split.len || (whole.len && memcmp(whole.data, split.data, whole.len)))
        abort();   /* chunking changed the answer */
    ksm_buf_free(&whole);
    ksm_buf_free(&split);

    char url[512];
    size_t ul = 0;
    while (ul < n && d[ul] != '\r' && d[ul] != '\n' && d[ul])
        ul++;
    if (ul < sizeof url) {
        memcpy(url, d, ul);
        url[ul] = '\0';
        struct ksm_h1_url u;
        if (ksm_h1_url_parse(url, &u) &&
            (!u.host[0] || u.port < 1 || u.port > 65535 || u.target[0] != '/' ||
             strlen(u.authority) >= sizeof u.authority))
            abort();
    }
    return 0;
}
