/* dispatch.c — the one path every admin request takes (DESIGN.md §1):
 *   route table → authenticate → authorise (from the row's scope) → handler → audit → respond.
 * A state-changing request's response waits until its audit record is durable; a read's does not.
 * Protocol errors found by the HTTP layer come here too, so they are rendered and audited alike. */
#include "admin/route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "core/log.h"
#include "iam/iam.h"
#include "iam/oidc.h"

/* Both "no such id" and "not yours" render this, so the two cannot be told apart. */
static const char hidden_detail[] = "no such resource";

enum ksm_err ksm_fail(struct ksm_req *r, enum ksm_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->err = e;
    r->err_detail = ksm_arena_strdup(r->arena, buf);
    return e;
}

static int append_json(const char *p, size_t n, void *data)
{
    ksm_buf_append(data, p, n);
    return 0;
}

enum ksm_err ksm_reply_json(struct ksm_req *r, int status, json_t *body)
{
    ksm_buf_reset(&r->resp);
    int rc = body ? json_dump_callback(body, append_json, &r->resp, JSON_COMPACT) : -1;
    json_decref(body);
    if (rc)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot encode the response");
    r->status = status;
    r->content_type = "application/json";
    return KSM_E_OK;
}

static void render_error(struct ksm_req *r)
{
    const char *detail = r->err_detail ? r->err_detail : ksm_err_message(r->err);
    ksm_buf_reset(&r->resp);
    ksm_buf_puts(&r->resp, "{\"error\":{\"code\":");
    ksm_buf_json_str(&r->resp, ksm_err_code(r->err));
    ksm_buf_puts(&r->resp, ",\"message\":");
    ksm_buf_json_str(&r->resp, detail);
    ksm_buf_puts(&r->resp, ",\"request_id\":");
    ksm_buf_json_str(&r->resp, r->id);
    ksm_buf_puts(&r->resp, "}}");
    r->status = ksm_err_status(r->err);
    r->content_type = "application/json";
    if (r->err == KSM_E_UNAUTHENTICATED)
        ksm_req_add_header(r, "WWW-Authenticate", "Bearer realm=\"kasumi\"");
}

enum ksm_err ksm_authorize(struct ksm_req *r, const char *permission, const char *tenant,
                           const char *project)
{
    if (!r->principal)
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "authentication required");
    enum ksm_err e = ksm_iam_check(&r->worker->db, r->principal, permission,
                                   tenant && *tenant ? tenant : NULL,
                                   project && *project ? project : NULL);
    switch (e) {
    case KSM_E_OK:
        if (tenant && *tenant && !r->audit_tenant)
            r->audit_tenant = ksm_arena_strdup(r->arena, tenant);
        if (project && *project && !r->audit_project)
            r->audit_project = ksm_arena_strdup(r->arena, project);
        return e;
    case KSM_E_NOT_FOUND:
        return ksm_fail(r, e, "%s", hidden_detail);
    case KSM_E_SUSPENDED:
        return ksm_fail(r, e, "the tenant is suspended");
    case KSM_E_FORBIDDEN:
        return ksm_fail(r, e, "permission %s denied", permission ? permission : "");
    case KSM_E_MFA_REQUIRED:
        return ksm_fail(r, e, "permission %s needs a role that requires a second factor: sign in "
                              "again with MFA", permission ? permission : "");
    default:
        return ksm_fail(r, e, "authorisation failed");
    }
}

/* A request that waited for an identity provider's keys starts over, on its own loop. */
static void resume_dispatch(void *arg)
{
    struct ksm_req *r = arg;
    r->principal = NULL;
    ksm_dispatch(r);
}

/* An API key, or a JWT from a trusted identity provider (SSO). *parked: the provider's keys are
 * being fetched and the request resumes later; nothing more to do now. */
static enum ksm_err authenticate(struct ksm_req *r, bool *parked)
{
    const char *h = ksm_req_header(r, "authorization");
    if (!h && ksm_req_header(r, "cookie"))
        return ksm_auth_cookie(r);   /* the console's session (h_auth.c), with its CSRF check */
    if (!h || strncasecmp(h, "Bearer ", 7) || !h[7])
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "a bearer token is required");
    struct ksm_principal *p = ksm_arena_calloc(r->arena, sizeof *p);
    enum ksm_err e;
    if (ksm_oidc_enabled() && ksm_oidc_is_jwt(h + 7)) {
        bool pending = false;
        struct ksm_oidc_ctx ctx = {r->id, r->peer, {parked ? r->worker->mailbox : NULL,
                                                    resume_dispatch, r}};
        e = ksm_oidc_authenticate(&r->worker->db, h + 7, &ctx, p, &pending);
        if (pending && parked) {
            *parked = true;
            return KSM_E_UNAUTHENTICATED;
        }
    } else {
        e = ksm_iam_authenticate(&r->worker->db, h + 7, p);
    }
    if (e != KSM_E_OK)   /* why goes to the audit log, not to the caller */
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "the token is not valid");
    r->principal = p;
    if (ksm_iam_principal_active(&r->worker->db, p) == KSM_E_SUSPENDED)
        return ksm_fail(r, KSM_E_SUSPENDED, "the tenant is suspended");
    return KSM_E_OK;
}

/* The row's scope names where the permission applies; OBJECT and PROJECT look up the owner. */
static enum ksm_err authorize_route(struct ksm_req *r)
{
    const struct ksm_route *rt = r->route;
    char tenant[KSM_ID_LEN] = "", project[KSM_ID_LEN] = "";
    enum ksm_err e;
    switch (rt->scope) {
    case KSM_SCOPE_PUBLIC:
    case KSM_SCOPE_AUTH:
    case KSM_SCOPE_BODY:
        return KSM_E_OK;   /* AUTH and BODY handlers call ksm_authorize with what they learn */
    case KSM_SCOPE_PLATFORM:
        return ksm_authorize(r, rt->permission, NULL, NULL);
    case KSM_SCOPE_TENANT:
        return ksm_authorize(r, rt->permission, r->params[0], NULL);
    case KSM_SCOPE_PROJECT:
    case KSM_SCOPE_OBJECT:
        e = ksm_iam_owner(&r->worker->db, r->params[0], tenant, project);
        if (e == KSM_E_NOT_FOUND)
            return ksm_fail(r, e, "%s", hidden_detail);
        if (e != KSM_E_OK)
            return ksm_fail(r, e, "cannot look up the owner");
        if (rt->scope == KSM_SCOPE_PROJECT && !project[0])
            return ksm_fail(r, KSM_E_NOT_FOUND, "%s", hidden_detail);
        r->audit_target = r->params[0];
        return ksm_authorize(r, rt->permission, tenant, project);
    }
    return ksm_fail(r, KSM_E_INTERNAL, "route has no scope");
}

static enum ksm_err check_body(struct ksm_req *r)
{
    if (!(r->route->flags & KSM_RF_JSON_BODY))
        return KSM_E_OK;
    const char *ct = ksm_req_header(r, "content-type");
    if (ct && strncasecmp(ct, "application/json", 16))
        return ksm_fail(r, KSM_E_UNSUPPORTED_MEDIA, "the body must be application/json");
    return KSM_E_OK;
}

static const char *outcome(const struct ksm_req *r)
{
    if (r->status < 400)
        return "success";
    if (r->status == 401 || r->status == 403 || (r->status == 404 && r->principal && r->route))
        return "denied";
    return "error";
}

static void send_when_durable(void *arg, int ok)
{
    struct ksm_req *r = arg;
    if (!ok) {
        /* The change is committed but its record is not: say so rather than acknowledge. */
        ksm_error("audit commit failed for %s", r->id);
        r->err = KSM_E_UNAVAILABLE;
        r->err_detail = "the audit log could not be written";
        render_error(r);
    }
    ksm_req_send(r);
}

/* send: false for a streamed response, whose body is already on its way */
static void audit_and_send(struct ksm_req *r, bool wait, bool send)
{
    struct ksm_app *app = r->worker->app;
    const struct ksm_principal *p = r->principal;
    const char *tenant = r->audit_tenant ? r->audit_tenant : (p && p->tenant_id[0] ? p->tenant_id : NULL);
    struct ksm_audit_rec rec = {
        .request_id = r->id,
        .principal = p ? p->user_id : "anonymous",
        .tenant = tenant,
        .project = r->audit_project,
        .source = r->peer,
        .action = r->route ? r->route->action : "http.request",
        .target = r->audit_target ? r->audit_target : (r->path && *r->path ? r->path : r->target),
        .outcome = outcome(r),
        .status = r->status,
        .detail = r->status >= 400 ? ksm_err_code(r->err) : NULL,
    };
    if (r->status >= 400 && r->audit_reason)
        rec.detail = ksm_arena_printf(r->arena, "%s reason=%s", ksm_err_code(r->err), r->audit_reason);
    if (wait) {
        ksm_audit_submit(app->audit, &rec, r->worker->mailbox, send_when_durable, r);
        return;
    }
    ksm_audit_submit(app->audit, &rec, NULL, NULL, NULL);
    if (send)
        ksm_req_send(r);
}

static void finish(struct ksm_req *r, enum ksm_err e, bool handler_ran)
{
    if (e != KSM_E_OK) {
        if (r->err == KSM_E_OK)
            r->err = e;
        render_error(r);
    }
    if (r->route && (r->route->flags & KSM_RF_NO_AUDIT)) {
        ksm_req_send(r);
        return;
    }
    bool mutates = r->route && (r->route->flags & KSM_RF_MUTATES) && handler_ran;
    audit_and_send(r, mutates, true);
}

/* Authenticate, authorise and check the body's type: what every routed request passes before its
 * handler runs. *parked (NULL: may not park): waiting for a provider's keys; it resumes later. */
static enum ksm_err admit(struct ksm_req *r, bool *parked)
{
    enum ksm_err e;
    if (r->route->scope != KSM_SCOPE_PUBLIC && (e = authenticate(r, parked)) != KSM_E_OK)
        return e;
    if ((r->route->flags & KSM_RF_STORES) && !((struct ksm_app *)r->worker->app)->store)
        return ksm_fail(r, KSM_E_NOT_SUPPORTED_ENV, "this environment stores no data");
    if ((e = authorize_route(r)) != KSM_E_OK || (e = check_body(r)) != KSM_E_OK)
        return e;
    return KSM_E_OK;
}

void ksm_admin_on_headers(struct ksm_req *r)
{
    enum ksm_err e;
    const struct ksm_route *rt = ksm_route_match(ksm_admin_routes, ksm_admin_nroutes, r, &e);
    if (!rt || !(rt->flags & KSM_RF_STREAMS)) {
        memset(r->params, 0, sizeof r->params);   /* ksm_dispatch matches again with the whole body */
        r->nparams = 0;
        return;
    }
    r->route = rt;
    r->route_index = (int)(rt - ksm_admin_routes);
    /* No parking here: the body is already on its way. A JWT whose provider's keys are not fetched
     * yet is refused (401) and the fetch starts, so the client's retry passes. */
    if ((e = admit(r, NULL)) == KSM_E_OK)
        e = rt->handler(r);
    if (e == KSM_E_OK && !r->body_end)
        e = ksm_fail(r, KSM_E_INTERNAL, "the handler did not take the body");
    /* A refusal is answered now, before any body byte is stored; nothing changed, so its audit
     * record need not be durable first, and the HTTP layer drops the body and closes. */
    if (e != KSM_E_OK)
        finish(r, e, false);
}

void ksm_dispatch(struct ksm_req *r)
{
    if (r->err != KSM_E_OK) {   /* rejected by the HTTP layer (malformed, too large, too slow) */
        if (r->body_end && r->on_abort) {   /* a streamed body cut short: its handler lets go */
            void (*abort_fn)(struct ksm_req *) = r->on_abort;
            r->on_abort = NULL;
            abort_fn(r);
        }
        finish(r, r->err, false);
        return;
    }
    enum ksm_err e;
    r->route = ksm_route_match(ksm_admin_routes, ksm_admin_nroutes, r, &e);
    if (!r->route) {
        if (ksm_req_header(r, "authorization"))
            authenticate(r, NULL);   /* only to name the principal in the audit record */
        finish(r, ksm_fail(r, e, "%s", e == KSM_E_NOT_FOUND ? "no such route" : "method not allowed"), false);
        return;
    }
    r->route_index = (int)(r->route - ksm_admin_routes);
    if (r->route->flags & KSM_RF_STREAMS) {   /* only ksm_admin_on_headers runs these */
        finish(r, ksm_fail(r, KSM_E_INTERNAL, "the body was not streamed"), false);
        return;
    }
    bool parked = false;
    if ((e = admit(r, &parked)) != KSM_E_OK) {
        if (!parked)
            finish(r, e, false);
        return;
    }
    e = r->route->handler(r);
    if (e == KSM_E_OK && r->status == 0 && (r->route->flags & KSM_RF_PARKS))
        return;   /* the handler resumes it */
    if (e == KSM_E_OK && r->streaming)
        return;   /* the handler ends it: ksm_dispatch_stream_end */
    ksm_dispatch_resume(r, e);
}

void ksm_dispatch_resume(struct ksm_req *r, enum ksm_err e)
{
    if (e == KSM_E_OK && r->status == 0)
        r->status = 200;
    finish(r, e, true);
}

void ksm_dispatch_dropped(struct ksm_req *r, enum ksm_err e)
{
    r->err = e;
    r->status = ksm_err_status(e);
    if (!r->err_detail)
        r->err_detail = ksm_err_message(e);
    audit_and_send(r, false, false);
}

void ksm_dispatch_stream_end(struct ksm_req *r, enum ksm_err e)
{
    if (e != KSM_E_OK) {
        r->err = e;
        r->status = ksm_err_status(e);
        ksm_req_stream_fail(r);
    }
    audit_and_send(r, false, false);
    ksm_req_stream_end(r);
}
