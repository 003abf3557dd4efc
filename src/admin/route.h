/* route.h — the route table (DESIGN.md §1): every request's permission, scope, audit action and flags
 * are declared by its row, and the dispatcher enforces the row before the handler runs, so no route
 * can forget authentication, authorisation or audit. The CLI, the docs and the isolation test read the
 * same table (GET /admin/v1/routes). */
#ifndef KSM_ROUTE_H
#define KSM_ROUTE_H
#include <jansson.h>

#include "core/error.h"
#include "http/http.h"

/* Where the dispatcher finds the tenant (and project) a request concerns, for authorisation. */
enum ksm_scope {
    KSM_SCOPE_PUBLIC,    /* no authentication (health, metrics) */
    KSM_SCOPE_AUTH,      /* any authenticated principal; the handler filters what it shows */
    KSM_SCOPE_PLATFORM,  /* a platform-scoped permission */
    KSM_SCOPE_TENANT,    /* {tenant} is params[0] */
    KSM_SCOPE_PROJECT,   /* {project} is params[0] */
    KSM_SCOPE_OBJECT,    /* params[0] is a user/group/binding/key id: its owner gives the scope */
    KSM_SCOPE_BODY,      /* the handler calls ksm_authorize() with the scope named in the body */
};

enum {
    KSM_RF_MUTATES = 1 << 0,   /* state-changing: its audit record is durable before the response */
    KSM_RF_NO_AUDIT = 1 << 1,  /* only unauthenticated probes (healthz, readyz, metrics) */
    KSM_RF_JSON_BODY = 1 << 2, /* requires a JSON object body */
    KSM_RF_PARKS = 1 << 3,     /* the handler may park (OK with status 0): it calls ksm_dispatch_resume */
    KSM_RF_STORES = 1 << 4,    /* storage or keys: govcloud only; overseas-ai, which stores nothing,
                                * answers 404 not_supported_in_environment (SPEC.md O3) */
    KSM_RF_STREAMS = 1 << 5,   /* the body streams (uploads of any size): ksm_admin_on_headers routes,
                                * authenticates and authorises at the head, then the handler calls
                                * ksm_req_stream_body and answers from its end with
                                * ksm_dispatch_resume; limits.max_body_bytes does not apply */
};

typedef enum ksm_err (*ksm_handler_fn)(struct ksm_req *r);

struct ksm_route {
    const char *method;        /* "GET" */
    const char *pattern;       /* "/admin/v1/tenants/{tenant}" — {name} matches one segment */
    ksm_handler_fn handler;
    const char *permission;    /* "tenant.read"; NULL for PUBLIC and AUTH */
    enum ksm_scope scope;
    const char *action;        /* audit action, e.g. "tenant.read" */
    unsigned flags;
    const char *summary;       /* one line for docs and `kasumi routes` */
};

extern const struct ksm_route ksm_admin_routes[];
extern const int ksm_admin_nroutes;

/* Finds the row for method+path, filling r->params. NULL with *err = NOT_FOUND or
 * METHOD_NOT_ALLOWED. */
const struct ksm_route *ksm_route_match(const struct ksm_route *tab, int n, struct ksm_req *r,
                                        enum ksm_err *err);

/* The request entry point of the admin listener (src/admin/dispatch.c). */
void ksm_dispatch(struct ksm_req *r);
/* The admin listener's on_headers hook: KSM_RF_STREAMS routes start here (a refusal is answered
 * before any body byte is read); every other route waits for its buffered body and ksm_dispatch. */
void ksm_admin_on_headers(struct ksm_req *r);
/* A streamed body's request that will never be answered (the client went mid-body: r->dropped in
 * its on_abort): its audit record, with e, and nothing sent. */
void ksm_dispatch_dropped(struct ksm_req *r, enum ksm_err e);
/* A parked handler's end, on the request's loop: audit and answer as if the handler returned e. */
void ksm_dispatch_resume(struct ksm_req *r, enum ksm_err e);
/* The end of a response the handler streamed (it called ksm_req_stream_begin and returned OK): the
 * audit record (with e's status when the stream was cut short: the head said 200 already), then the
 * last chunk, or a cut connection when e is not OK. */
void ksm_dispatch_stream_end(struct ksm_req *r, enum ksm_err e);

/* The one authorisation choke point, for the dispatcher and for BODY/AUTH-scoped handlers.
 * tenant NULL = platform scope. Returns OK, FORBIDDEN, or NOT_FOUND when the principal may not even
 * learn that the tenant (or the object) exists. Also enforces "suspended tenant → 403". */
enum ksm_err ksm_authorize(struct ksm_req *r, const char *permission, const char *tenant,
                           const char *project);

/* Response helpers. */
enum ksm_err ksm_reply_json(struct ksm_req *r, int status, json_t *body);   /* steals body */
enum ksm_err ksm_fail(struct ksm_req *r, enum ksm_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));   /* sets err_detail, returns e */

#endif
