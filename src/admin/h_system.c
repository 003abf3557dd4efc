/* h_system.c — health, readiness, metrics, the route table and the caller's identity. */
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "core/metrics.h"
#include "iam/iam.h"

enum ksm_err ksm_h_healthz(struct ksm_req *r)
{
    return ksm_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

enum ksm_err ksm_h_readyz(struct ksm_req *r)
{
    struct ksm_app *app = r->worker->app;
    bool ready = atomic_load(&app->ready) && !atomic_load(&app->draining);
    /* ready also means the metadata database answers on this worker */
    sqlite3_stmt *st = ksm_db_prepare(&r->worker->db, "SELECT 1");
    ready = ready && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return ksm_reply_json(r, ready ? 200 : 503, json_pack("{s:s}", "status", ready ? "ready" : "not_ready"));
}

enum ksm_err ksm_h_metrics(struct ksm_req *r)
{
    ksm_buf_reset(&r->resp);
    ksm_metrics_render(&r->resp);
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return KSM_E_OK;
}

static const char *scope_name(enum ksm_scope s)
{
    static const char *names[] = {"public", "authenticated", "platform", "tenant", "project", "object", "body"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

json_t *ksm_routes_json(void);
json_t *ksm_routes_json(void)
{
    json_t *items = json_array();
    for (int i = 0; i < ksm_admin_nroutes; i++) {
        const struct ksm_route *rt = &ksm_admin_routes[i];
        json_array_append_new(items, json_pack("{s:s,s:s,s:s?,s:s,s:s,s:b,s:b,s:s}", "method", rt->method,
                                               "pattern", rt->pattern, "permission", rt->permission,
                                               "scope", scope_name(rt->scope), "action", rt->action,
                                               "mutates", (rt->flags & KSM_RF_MUTATES) != 0,
                                               "audited", (rt->flags & KSM_RF_NO_AUDIT) == 0,
                                               "summary", rt->summary));
    }
    return json_pack("{s:o}", "items", items);
}

enum ksm_err ksm_h_routes(struct ksm_req *r)
{
    return ksm_reply_json(r, 200, ksm_routes_json());
}

enum ksm_err ksm_h_whoami(struct ksm_req *r)
{
    json_t *o = ksm_iam_whoami_json(&r->worker->db, r->principal);
    if (!o)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the caller's bindings");
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_roles(struct ksm_req *r)
{
    return ksm_reply_json(r, 200, ksm_iam_roles_json());   /* already {"items":[...]} */
}
