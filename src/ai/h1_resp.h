/* h1_resp.h — reading one HTTP/1.1 response for the gateway's own upstream client (h1_client.c):
 * llhttp in response mode, the few headers the gateway uses (Content-Type, Retry-After), and the
 * body handed on as it is decoded (Content-Length, chunked, or until the connection closes).
 * Bytes in, callbacks out, no sockets: so it is fuzzed on its own (tests/fuzz/fuzz_h1_resp.c). */
#ifndef KSM_H1_RESP_H
#define KSM_H1_RESP_H
#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>

#define KSM_H1_CTYPE_MAX 128

struct ksm_h1_resp {
    llhttp_t parser;
    void *arg;
    /* Body bytes of the final (non-1xx) response; return true to stop reading (the call was
     * cancelled): the feed then returns KSM_H1_STOPPED. */
    bool (*on_body)(void *arg, const char *p, size_t n);
    int status;                            /* of the final response, once headers_done */
    long retry_after;                      /* seconds, -1 when absent or not a number */
    char content_type[KSM_H1_CTYPE_MAX];   /* "" when absent; cut at the buffer's size */
    bool headers_done, complete, keep_alive;
    /* the header being read: which one matters, and its value so far (values split across
     * reads are joined here) */
    char field[16];
    size_t field_len, value_len;
    char value[KSM_H1_CTYPE_MAX];
};

enum ksm_h1_feed {
    KSM_H1_MORE,      /* all bytes used; the response goes on */
    KSM_H1_DONE,      /* the response is complete; *used says how many bytes were its own */
    KSM_H1_BAD,       /* not a well-formed HTTP/1.x response */
    KSM_H1_STOPPED,   /* on_body asked to stop */
};

void ksm_h1_resp_init(struct ksm_h1_resp *r, void *arg,
                      bool (*on_body)(void *arg, const char *p, size_t n));
enum ksm_h1_feed ksm_h1_resp_feed(struct ksm_h1_resp *r, const char *p, size_t n, size_t *used);
/* The connection closed: DONE when that ends a body read until close, else BAD (cut short). */
enum ksm_h1_feed ksm_h1_resp_eof(struct ksm_h1_resp *r);

#endif
