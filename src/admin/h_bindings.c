/* h_bindings.c — /admin/v1/role-bindings. Creating a binding needs binding.create at the binding's
 * scope and every permission of the role there (ksm_iam_can_grant: no escalation); deleting one is
 * held to the same rule, so nobody removes a grant they could not have made. The list shows only
 * the bindings the caller may list. */
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ksm_authorize with "" meaning "none"; on failure it has already set the response. */
static enum ksm_err authorize(struct ksm_req *r, const char *perm, const char *tenant,
                              const char *project)
{
    return ksm_authorize(r, perm, tenant, project);   /* "" = none; on failure it has replied */
}

static enum ksm_err no_escalation(struct ksm_req *r, const char *role, const char *tenant,
                                  const char *project)
{
    enum ksm_err e = ksm_iam_can_grant(DB(r), r->principal, role, tenant, project);
    if (e == KSM_E_FORBIDDEN)
        return ksm_fail(r, e, "the role grants permissions that you do not hold at this scope");
    if (e == KSM_E_INVALID_ARGUMENT)
        return ksm_fail(r, e, "unknown role");
    return e == KSM_E_OK ? e : ksm_fail_why(r, e, NULL);
}

enum ksm_err ksm_h_binding_create(struct ksm_req *r)
{
    const char *principal = NULL, *role = NULL, *scope = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"principal", KSM_J_STRING, true, &principal, NULL},
        {"role", KSM_J_STRING, true, &role, NULL},
        {"scope", KSM_J_STRING, true, &scope, NULL},
    };
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    json_t *b = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    e = ksm_iam_scope_parse(DB(r), scope, tenant, project);
    if (e == KSM_E_INVALID_ARGUMENT)
        return ksm_fail(r, e, "scope must be \"platform\", \"tenant/{id}\" or \"project/{id}\"");
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, tenant, project, NULL);
    if ((e = authorize(r, "binding.create", tenant, project)) != KSM_E_OK)
        return e;
    if ((e = no_escalation(r, role, tenant, project)) != KSM_E_OK)
        return e;
    e = ksm_iam_binding_create(DB(r), principal, role, tenant, project, r->principal->user_id, &b,
                               &why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    ksm_req_audit(r, NULL, NULL, jstr(b, "id"));
    return ksm_reply_json(r, 201, b);
}

/* Platform-wide listers see every binding; others the bindings of their own tenant that they may
 * list (a project_admin: its project's). Filtering happens after the page is read, so a page may
 * hold fewer than limit items while next_cursor says more may follow. */
enum ksm_err ksm_h_binding_list(struct ksm_req *r)
{
    const struct ksm_principal *p = r->principal;
    const char *after, *next = NULL;
    int limit;
    enum ksm_err e = ksm_iam_principal_active(DB(r), p);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    if ((e = ksm_req_page(r, &limit, &after)) != KSM_E_OK)
        return e;
    bool platform = ksm_iam_check(DB(r), p, "binding.list", NULL, NULL) == KSM_E_OK;
    json_t *all = json_array(), *items = json_array();
    e = ksm_iam_binding_list(DB(r), platform ? NULL : p->tenant_id, ksm_req_query(r, "scope"),
                             ksm_req_query(r, "principal"), after, limit, all);
    if (e != KSM_E_OK) {
        json_decref(all);
        json_decref(items);
        return e == KSM_E_INVALID_ARGUMENT ? ksm_fail(r, e, "scope filter is malformed")
                                           : ksm_fail_why(r, e, NULL);
    }
    size_t i;
    json_t *b;
    json_array_foreach(all, i, b) {
        if (platform || ksm_iam_check(DB(r), p, "binding.list", jstr(b, "tenant"),
                                      jstr(b, "project")) == KSM_E_OK)
            json_array_append(items, b);
    }
    if ((int)json_array_size(all) == limit)
        next = ksm_arena_strdup(r->arena, jstr(json_array_get(all, limit - 1), "id"));
    json_decref(all);
    return ksm_reply_page(r, items, next);
}

enum ksm_err ksm_h_binding_get(struct ksm_req *r)
{
    json_t *b = NULL;
    enum ksm_err e = ksm_iam_binding_get(DB(r), r->params[0], &b);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, jstr(b, "tenant"), jstr(b, "project"), r->params[0]);
    return ksm_reply_json(r, 200, b);
}

enum ksm_err ksm_h_binding_delete(struct ksm_req *r)
{
    const char *why = NULL;
    json_t *b = NULL;
    enum ksm_err e = ksm_iam_binding_get(DB(r), r->params[0], &b);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, jstr(b, "tenant"), jstr(b, "project"), r->params[0]);
    e = no_escalation(r, jstr(b, "role"), jstr(b, "tenant"), jstr(b, "project"));
    if (e == KSM_E_OK && (e = ksm_iam_binding_delete(DB(r), r->params[0], &why)) != KSM_E_OK)
        e = ksm_fail_why(r, e, why);
    if (e != KSM_E_OK) {
        json_decref(b);
        return e;
    }
    json_object_set_new(b, "deleted", json_true());
    return ksm_reply_json(r, 200, b);
}
