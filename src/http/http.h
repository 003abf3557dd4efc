/* http.h — kasumi's HTTP/1.1 server layer on libuv and llhttp (DESIGN.md §2).
 *
 * One event loop per worker thread, each with its own listening socket (SO_REUSEPORT). A request's
 * headers, path and scratch live in its arena. Bodies are buffered up to the limit (larger ones get
 * 413) unless the listener's on_headers hook streams them (ksm_req_stream_body: S3 uploads, the
 * admin API's object uploads). The application sees one callback per complete request and answers with
 * ksm_req_send(), at once or later (after the audit record is durable): the connection waits. */
#ifndef KSM_HTTP_H
#define KSM_HTTP_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/error.h"
#include "core/mailbox.h"

struct ksm_conn;
struct ksm_route;
struct ksm_principal;
struct ksm_server;
struct ksm_upstream;

struct ksm_header {
    const char *name;    /* lower-case */
    const char *value;
};

/* What each worker thread owns. Handlers reach their thread's resources through req->worker. */
struct ksm_worker {
    int id;
    uv_loop_t loop;
    struct ksm_mailbox *mailbox;   /* for other threads to post work to this loop */
    struct ksm_db db;              /* this thread's metadata connection */
    struct ksm_server *server;
    void *app;                     /* the application's shared state (struct ksm_app) */
    struct ksm_upstream *upstream; /* outbound HTTP on this loop (the AI gateway's) */
};

#define KSM_MAX_PARAMS 4
#define KSM_MAX_RESP_HEADERS 16

struct ksm_req {
    struct ksm_conn *conn;          /* NULL once the client has gone */
    struct ksm_worker *worker;
    struct ksm_arena *arena;
    int method;                     /* llhttp_method_t */
    const char *method_name;        /* "GET" */
    const char *target;             /* raw request-target */
    const char *path;               /* percent-decoded path, no query */
    const char *query;              /* raw query without '?', "" if none */
    struct ksm_header *headers;
    int nheaders;
    struct ksm_buf body;
    char id[40];                    /* request id, also sent as x-request-id */
    char peer[64];                  /* client IP address */
    uint64_t start_ns;

    /* filled by the dispatcher */
    const struct ksm_route *route;
    int route_index;
    const char *params[KSM_MAX_PARAMS];
    int nparams;
    struct ksm_principal *principal;   /* NULL when unauthenticated */

    /* the response */
    int status;
    enum ksm_err err;
    const char *err_detail;         /* human message; arena or static */
    struct ksm_buf resp;
    const char *content_type;
    struct ksm_header resp_headers[KSM_MAX_RESP_HEADERS];
    int nresp_headers;

    /* what the audit record says beyond the route's action */
    const char *audit_tenant, *audit_project, *audit_target;
    const char *audit_reason;       /* a refusal's reason word (static), after the error code */

    /* streamed responses: the application's hooks and state */
    void *app_data;
    void (*on_abort)(struct ksm_req *r);   /* the client went away mid-request */
    void (*on_drain)(struct ksm_req *r);   /* the socket drained below half the high-water mark */
    bool streaming, aborted, stream_chunked, stream_failed;
    bool dropped;   /* on_abort came while the request was still arriving: free, do not answer */

    /* streamed request bodies (ksm_req_stream_body) */
    long long content_length;              /* -1: none given (chunked or no body) */
    unsigned long long body_received;
    bool (*body_chunk)(struct ksm_req *r, const char *p, size_t n);   /* true: pause */
    void (*body_end)(struct ksm_req *r);
};

/* Header value by lower-case name, NULL when absent. */
const char *ksm_req_header(const struct ksm_req *r, const char *lname);
/* Query parameter, percent-decoded into the arena; NULL when absent. */
const char *ksm_req_query(struct ksm_req *r, const char *key);
void ksm_req_add_header(struct ksm_req *r, const char *name, const char *value);
/* Did the request arrive over TLS? */
bool ksm_req_secure(const struct ksm_req *r);
/* Sends status, headers and resp, then finishes the request (the connection reads the next one or
 * closes). Call once per request, on the request's worker thread. Safe when the client has gone. */
void ksm_req_send(struct ksm_req *r);
/* Writes what the socket takes of b[0..*nb) at once: true when it took everything; otherwise
 * b[0..*nb) is left holding the rest, for uv_write (which also reports any error, on a later turn).
 * Why not uv_write alone: libuv ends every write request by re-arming the socket's epoll
 * registration (uv__drain → epoll_ctl) even when it never waited for POLLOUT — one system call per
 * response for nothing, when most responses fit the socket's buffer. */
bool ksm_try_write(uv_stream_t *s, uv_buf_t *b, int *nb);

/* A streamed (chunked) response, for SSE: begin sends status and headers; write queues one chunk and
 * returns the bytes still queued on the socket; when ksm_req_stream_congested() says so, pause the
 * producer until on_drain. end sends the last chunk and finishes the request. After on_abort, write
 * is a no-op and end still must be called. */
void ksm_req_stream_begin(struct ksm_req *r);
/* The same with a known length: Content-Length instead of chunked framing (object downloads). The
 * application writes exactly length bytes (none for HEAD: writes are then dropped). */
void ksm_req_stream_begin_sized(struct ksm_req *r, unsigned long long length);
size_t ksm_req_stream_write(struct ksm_req *r, const char *p, size_t n);
/* The same without a copy: the socket writes p itself, then release(ctx, p) gives it back (at once
 * on TLS, where the bytes are sealed into a buffer of their own; also when the client has gone).
 * For large bodies that are already in a buffer of their own: object downloads. */
typedef void ksm_req_release_fn(void *ctx, char *p);
size_t ksm_req_stream_write_take(struct ksm_req *r, char *p, size_t n, ksm_req_release_fn *release,
                                 void *ctx);
bool ksm_req_stream_congested(const struct ksm_req *r);
void ksm_req_stream_end(struct ksm_req *r);
/* The body cannot be completed (a read failed after the head went out): end closes the connection
 * without a last chunk, so the client sees a cut body at once instead of waiting for the rest. */
void ksm_req_stream_fail(struct ksm_req *r);

/* Called from a listener's on_headers hook: the body is not buffered but handed to chunk as it
 * arrives (chunk returns true to stop reading the socket until ksm_req_body_resume; what the last
 * read brought, at most 64 KiB, still arrives through chunk), then end runs once the
 * whole body has arrived (the application answers from there, at once or later). No body size limit
 * applies: the application sets its own. body_timeout_ms then bounds the gap between body bytes
 * (not counting pauses the application asked for), not the whole body. If the request fails before
 * its end (a timeout, a framing error) the listener's handler gets it with r->err set: it must let
 * go of the stream's state. */
void ksm_req_stream_body(struct ksm_req *r, bool (*chunk)(struct ksm_req *, const char *, size_t),
                         void (*end)(struct ksm_req *));
void ksm_req_body_resume(struct ksm_req *r);

typedef void (*ksm_http_handler_fn)(struct ksm_req *r);

#define KSM_MAX_LISTENERS 4

/* One listening address and the application entry point for its requests. */
struct ksm_listener_opts {
    const char *name;                 /* "admin", "ai", "s3": for messages and listen.json */
    const struct ksm_listen *listen;  /* address and optional TLS certificate */
    ksm_http_handler_fn handler;      /* the complete request (buffered body) */
    /* Optional: the head, before any body byte (authenticate early, stream the body, or answer at
     * once — ksm_req_send from here closes the connection after the answer). */
    ksm_http_handler_fn on_headers;
};

struct ksm_server_opts {
    const struct ksm_conf *conf;
    struct ksm_listener_opts listeners[KSM_MAX_LISTENERS];
    int nlisteners;
    /* Called on each worker thread before its loop runs / after it stops (open the db, ...). */
    int (*worker_init)(struct ksm_worker *w);
    /* On the worker's loop once draining is done (no connection left): close what keeps the loop
     * alive (upstream clients), so that it can end. */
    void (*worker_drained)(struct ksm_worker *w);
    void (*worker_fini)(struct ksm_worker *w);
    void *app;
};

/* Binds every listener (port 0: the kernel picks; every worker shares it), starts conf->workers
 * threads, each serving all listeners on its one loop. */
int ksm_server_start(struct ksm_server **out, const struct ksm_server_opts *o, char *err, size_t errlen);
/* The bound address of listener i, "127.0.0.1:8400". */
const char *ksm_server_address(const struct ksm_server *s, int i);
/* Swaps in a new config snapshot (SIGHUP): limits and timeouts apply to new requests. The old
 * snapshot must stay valid (the daemon keeps every snapshot it loaded). */
void ksm_server_set_conf(struct ksm_server *s, const struct ksm_conf *conf);
/* Stops accepting, lets in-flight requests finish (up to timeout_ms), joins the workers. */
void ksm_server_stop(struct ksm_server *s, int timeout_ms);

/* The pre-scan that Debian's llhttp 8.1.0 needs (CVE-2024-27982, CVE-2025-23167): in the header
 * section (up to and including the blank line) a CR must be followed by LF, and no header line may
 * begin with a space or tab (obsolete line folding). Returns the offset of the first offending byte,
 * or -1 when the bytes are fine. Stateful across reads. */
struct ksm_prescan {
    int state;
    bool done;            /* the blank line ending the header section has been seen */
};
long ksm_prescan_feed(struct ksm_prescan *ps, const char *p, size_t n);

#endif
