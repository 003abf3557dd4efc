/* h_tenants.c — /admin/v1/tenants: onboarding (platform operators), reading, renaming, suspension.
 * Authorisation is the route table's (dispatcher) except for the list, which shows each caller only
 * the tenants it may read. */
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply_tenant(struct ksm_req *r, int status, enum ksm_err e, json_t *t,
                                 const char *why)
{
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    const char *id = json_string_value(json_object_get(t, "id"));
    ksm_req_audit(r, id, NULL, id);
    return ksm_reply_json(r, status, t);
}

enum ksm_err ksm_h_tenant_create(struct ksm_req *r)
{
    const char *kind = NULL, *name = NULL, *corpnum = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"kind", KSM_J_STRING, true, &kind, NULL},
        {"name", KSM_J_STRING, true, &name, NULL},
        {"corporate_number", KSM_J_STRING, true, &corpnum, NULL},
    };
    json_t *t = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    e = ksm_iam_tenant_create(DB(r), kind, name, corpnum, &t, &why);
    return reply_tenant(r, 201, e, t, why);
}

/* Platform-wide readers page through every tenant; anyone else sees at most its own tenant (a
 * principal's bindings are always within its own tenant). */
enum ksm_err ksm_h_tenant_list(struct ksm_req *r)
{
    const struct ksm_principal *p = r->principal;
    const char *after;
    int limit;
    enum ksm_err e = ksm_iam_principal_active(DB(r), p);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    if ((e = ksm_req_page(r, &limit, &after)) != KSM_E_OK)
        return e;
    json_t *items = json_array(), *t = NULL;
    const char *next = NULL;
    if (ksm_iam_check(DB(r), p, "tenant.read", NULL, NULL) == KSM_E_OK) {
        e = ksm_iam_tenant_list(DB(r), after, limit, items);
        if (e == KSM_E_OK && (int)json_array_size(items) == limit)
            next = json_string_value(json_object_get(json_array_get(items, limit - 1), "id"));
    } else if (p->tenant_id[0] && (!after || strcmp(p->tenant_id, after) > 0) &&
               ksm_iam_check(DB(r), p, "tenant.read", p->tenant_id, NULL) == KSM_E_OK &&
               ksm_iam_tenant_get(DB(r), p->tenant_id, &t) == KSM_E_OK) {
        json_array_append_new(items, t);
    }
    if (e != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    next = next ? ksm_arena_strdup(r->arena, next) : NULL;
    return ksm_reply_page(r, items, next);
}

enum ksm_err ksm_h_tenant_get(struct ksm_req *r)
{
    json_t *t = NULL;
    enum ksm_err e = ksm_iam_tenant_get(DB(r), r->params[0], &t);
    return reply_tenant(r, 200, e, t, NULL);
}

/* PATCH {name?, kind?}: the 法人番号 is the tenant's identity and never changes. */
enum ksm_err ksm_h_tenant_update(struct ksm_req *r)
{
    const char *kind = NULL, *name = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"kind", KSM_J_STRING, false, &kind, NULL},
        {"name", KSM_J_STRING, false, &name, NULL},
    };
    json_t *t = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (!kind && !name)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "nothing to update: give name or kind");
    e = ksm_iam_tenant_update(DB(r), r->params[0], name, kind, &t, &why);
    return reply_tenant(r, 200, e, t, why);
}

enum ksm_err ksm_h_tenant_suspend(struct ksm_req *r)
{
    json_t *t = NULL;
    enum ksm_err e = ksm_iam_tenant_set_suspended(DB(r), r->params[0], true, &t);
    return reply_tenant(r, 200, e, t, NULL);
}

enum ksm_err ksm_h_tenant_resume(struct ksm_req *r)
{
    json_t *t = NULL;
    enum ksm_err e = ksm_iam_tenant_set_suspended(DB(r), r->params[0], false, &t);
    return reply_tenant(r, 200, e, t, NULL);
}
