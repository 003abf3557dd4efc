/* http_int.h — private to src/http: the connection and server structures. */
#ifndef KSM_HTTP_INT_H
#define KSM_HTTP_INT_H
#include <llhttp.h>
#include <openssl/ssl.h>

#include "http/http.h"

enum conn_state {
    CS_IDLE,         /* keep-alive: waiting for the first byte of a request */
    CS_HEADERS,      /* reading the request line and headers */
    CS_BODY,         /* reading the body */
    CS_BUSY,         /* the application has the request */
    CS_WRITING,      /* the response is being written */
};

/* A bound listener, shared by every worker. */
struct ksm_lsn {
    struct ksm_listener_opts o;
    SSL_CTX *tls;                    /* NULL: plain HTTP */
    char address[80];
};

struct ksm_conn {
    uv_tcp_t tcp;
    const struct ksm_lsn *lsn;
    uv_timer_t timer;
    uint64_t deadline;               /* loop time (ms) the state's timeout ends at; 0: none */
    struct ksm_worker *w;
    struct ksm_conn *prev, *next;   /* the worker's list, for draining */
    llhttp_t parser;
    struct ksm_prescan ps;
    enum conn_state state;
    struct ksm_arena *arena;
    struct ksm_req *req;
    struct ksm_buf pending;          /* bytes read but not parsed yet (pipelining, back-pressure) */
    struct ksm_buf hname, hval;      /* the header being parsed */
    struct ksm_buf spare_body, spare_resp;   /* lent to each request, returned after it */
    struct ksm_buf head;             /* the response's status line and headers */
    struct ksm_header *hdrs;
    int nhdrs, hcap;
    size_t header_bytes;
    uv_write_t wreq;
    uv_buf_t wbufs[2];
    bool keep_alive;
    bool close_after;                /* send Connection: close and close after writing */
    bool closed;                     /* uv_close called */
    bool reading;
    bool failed;                     /* a protocol error answered; close after writing */
    bool discard_body;               /* answered at the head: read the body and drop it */
    bool body_paused;                /* a streamed body's consumer asked to pause */
    int open_handles;                /* while closing: handles whose close callback is pending */
    char peer[64];
    uint64_t reqno;
    SSL *ssl;                        /* NULL on a plain listener; else TLS through memory BIOs */
    char *tls_out;                   /* the encrypted response being written */
    struct ksm_conn *written_next;   /* the worker's list of responses written without a request */
    bool written_queued;
};

struct ksm_wctx {                    /* per worker, private part */
    struct ksm_worker w;
    uv_thread_t thread;
    uv_tcp_t listeners[KSM_MAX_LISTENERS];
    int fds[KSM_MAX_LISTENERS];
    uv_async_t stop;
    struct ksm_conn *conns;
    char date[40];                   /* cached Date header value */
    int64_t date_sec;
    char idprefix[12];
    uint64_t counter;
    char rbuf[65536];                /* read buffer; data is consumed or copied in the read callback */
    char tlsbuf[16384];              /* decrypted bytes on their way to the parser */
    bool draining;
    int started;                     /* 1 ok, -1 failed */
    uv_idle_t written_idle;          /* runs while responses the socket took whole await completion */
    struct ksm_conn *written_head, *written_tail;
};

struct ksm_server {
    struct ksm_server_opts o;
    struct ksm_wctx *workers;
    int nworkers;
    struct ksm_lsn lsn[KSM_MAX_LISTENERS];
    int nlsn;
    uv_sem_t ready;
};

/* TLS on a connection (tls.c). */
int ksm_tls_ctx_new(SSL_CTX **out, const struct ksm_listen *l, char *err, size_t errlen);
int ksm_tls_conn_start(struct ksm_conn *c, SSL_CTX *ctx);
/* Decrypts what arrived and delivers plaintext through deliver(); -1 when the connection must close. */
int ksm_tls_on_read(struct ksm_conn *c, const char *data, size_t n,
                    void (*deliver)(struct ksm_conn *, const char *, size_t));
/* Encrypts head and body into one buffer (malloc'd, in *out) for a single uv_write. */
int ksm_tls_seal(struct ksm_conn *c, const uv_buf_t *bufs, int n, char **out, size_t *outlen);

struct ksm_conn *ksm_conn_new(struct ksm_wctx *wc, const struct ksm_lsn *lsn);
void ksm_conn_accept(struct ksm_wctx *wc, const struct ksm_lsn *lsn, uv_stream_t *listener);
/* Parses bytes; hands each complete (or rejected) request to the server's handler. */
void ksm_conn_feed(struct ksm_conn *c, const char *data, size_t n);
/* The response is done: back to idle, and parse what was pipelined meanwhile. */
void ksm_conn_recycle(struct ksm_conn *c);
void ksm_conn_close(struct ksm_conn *c);
void ksm_conn_drain_all(struct ksm_wctx *wc);
/* Sets up (and, at the end, closes) the worker's handle that completes responses written at once. */
void ksm_conn_written_init(struct ksm_wctx *wc);
void ksm_conn_written_close(struct ksm_wctx *wc);

#endif
