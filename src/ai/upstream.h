/* upstream.h — outbound HTTP to model servers on the worker's own libuv loop (DESIGN.md §2), so an
 * upstream call never blocks a worker. http:// goes to our own HTTP/1.1 client (h1_client.c: a
 * keep-alive pool, llhttp for the answers); https:// to libcurl's multi-socket API (TLS
 * verification, HTTP/2), whose sockets and timer upstream.c wires to the loop. Both give the few
 * callbacks below, with the same meaning. Retries and fallback between targets are the gateway's
 * decisions (they depend on what was already sent to the caller). */
#ifndef KSM_UPSTREAM_H
#define KSM_UPSTREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct ksm_upstream;    /* one per worker loop */
struct ksm_up_call;     /* one HTTP exchange */

/* ca_file: a PEM bundle trusted for https:// instead of the system's; NULL or "": the system's. */
struct ksm_upstream *ksm_upstream_new(uv_loop_t *loop, const char *ca_file);
/* Cancels what is in flight (no callbacks) and closes the loop handles. On the loop thread. */
void ksm_upstream_free(struct ksm_upstream *u);

enum ksm_up_result {
    KSM_UP_OK,            /* the whole response arrived */
    KSM_UP_CONNECT,       /* could not connect (refused, DNS, TLS handshake) */
    KSM_UP_RESET,         /* the connection broke (before or during the response) */
    KSM_UP_TIMEOUT,
    KSM_UP_ERROR,         /* anything else libcurl reports */
};

struct ksm_up_call_opts {
    const char *method;             /* "POST", "GET" */
    const char *url;
    const char *const *headers;     /* "Name: value" strings, NULL-terminated; copied */
    const char *body;               /* copied */
    size_t body_len;
    long timeout_ms;                /* whole exchange; 0: none */
    long connect_timeout_ms;        /* 0: 5000 */
    void *arg;
    /* Once, before the first body byte (or at the end for an empty body): the status and the
     * response's Content-Type and Retry-After (seconds, -1 when absent). */
    void (*on_head)(void *arg, long status, const char *content_type, long retry_after);
    /* Body bytes as they arrive. Return true to pause the transfer (back-pressure); call
     * ksm_up_resume when the caller's socket has drained. */
    bool (*on_data)(void *arg, const char *p, size_t n);
    /* Exactly once, unless cancelled: how it ended, whether any response byte had arrived, and
     * whether the connection was a reused one (a reset on a reused connection is worth one retry). */
    void (*on_done)(void *arg, enum ksm_up_result res, bool got_response, bool reused);
};

/* Starts the exchange; NULL only on allocation failure. */
struct ksm_up_call *ksm_up_start(struct ksm_upstream *u, const struct ksm_up_call_opts *o);
/* Stops it: the connection is closed (the upstream sees the close), no further callback runs, and
 * the call is freed. Safe from inside the call's own callbacks. */
void ksm_up_cancel(struct ksm_up_call *c);
void ksm_up_resume(struct ksm_up_call *c);

/* Counts for /metrics. */
struct ksm_up_stats { unsigned long long started, reused, failed; };
void ksm_upstream_stats(struct ksm_up_stats *out);

#endif
