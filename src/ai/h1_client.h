/* h1_client.h — the gateway's own HTTP/1.1 client for http:// upstreams, on the worker's libuv
 * loop: a keep-alive pool per upstream (host and port), the request written with one write, the
 * response read by h1_resp.c and passed on as it arrives. It keeps the contract of upstream.h
 * (which dispatches here; https:// stays with libcurl), the same callbacks and the same results. */
#ifndef KSM_H1_CLIENT_H
#define KSM_H1_CLIENT_H
#include "ai/upstream_int.h"

struct ksm_h1;   /* one per loop: the pool */

struct ksm_h1 *ksm_h1_new(uv_loop_t *loop);
/* Cancels the calls in flight (no callbacks) and closes every connection. On the loop thread. */
void ksm_h1_free(struct ksm_h1 *h);
/* o->url must start with "http://"; NULL when it cannot be parsed or on allocation failure. */
struct ksm_up_call *ksm_h1_start(struct ksm_h1 *h, const struct ksm_up_call_opts *o);
void ksm_h1_cancel(struct ksm_up_call *c);
void ksm_h1_resume(struct ksm_up_call *c);

/* "http://host[:port]/path?q" → host (brackets of an IPv6 literal removed), port, the authority
 * as written (for Host:) and the request target ("/" when empty). false when malformed. */
struct ksm_h1_url {
    char host[256], authority[300];
    int port;
    const char *target;   /* points into the url */
};
bool ksm_h1_url_parse(const char *url, struct ksm_h1_url *out);

#endif
