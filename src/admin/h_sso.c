/* h_sso.c — /admin/v1/sso/group-roles: which IdP groups grant which roles here (src/iam/oidc.h).
 * The rules of role bindings apply: creating or deleting a mapping needs binding.create at its
 * scope and every permission of its role there (no escalation), listing needs binding.list. */
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"
#include "iam/oidc.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err may_grant(struct ksm_req *r, const char *role, const char *tenant,
                              const char *project)
{
    enum ksm_err e = ksm_authorize(r, "binding.create", tenant, project);
    if (e != KSM_E_OK)
        return e;
    e = ksm_iam_can_grant(DB(r), r->principal, role, tenant, project);
    if (e == KSM_E_FORBIDDEN)
        return ksm_fail(r, e, "the role grants permissions that you do not hold at this scope");
    if (e == KSM_E_INVALID_ARGUMENT)
        return ksm_fail(r, e, "unknown role");
    return e == KSM_E_OK ? e : ksm_fail_why(r, e, NULL);
}

enum ksm_err ksm_h_sso_map_create(struct ksm_req *r)
{
    const char *issuer = NULL, *group = NULL, *role = NULL, *scope = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"issuer", KSM_J_STRING, true, &issuer, NULL},
        {"group", KSM_J_STRING, true, &group, NULL},
        {"role", KSM_J_STRING, true, &role, NULL},
        {"scope", KSM_J_STRING, true, &scope, NULL},
    };
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    json_t *m = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    e = ksm_iam_scope_parse(DB(r), scope, tenant, project);
    if (e == KSM_E_INVALID_ARGUMENT)
        return ksm_fail(r, e, "scope must be \"platform\", \"tenant/{id}\" or \"project/{id}\"");
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, tenant, project, NULL);
    if ((e = may_grant(r, role, tenant, project)) != KSM_E_OK)
        return e;
    e = ksm_oidc_mapping_create(DB(r), issuer, group, role, tenant, project, r->principal->user_id,
                                &m, &why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    ksm_req_audit(r, NULL, NULL, json_string_value(json_object_get(m, "id")));
    return ksm_reply_json(r, 201, m);
}

enum ksm_err ksm_h_sso_map_list(struct ksm_req *r)
{
    const struct ksm_principal *p = r->principal;
    const char *after, *next = NULL;
    int limit;
    enum ksm_err e = ksm_iam_principal_active(DB(r), p);
    if (e == KSM_E_OK)
        e = ksm_req_page(r, &limit, &after);
    if (e != KSM_E_OK)
        return r->err ? e : ksm_fail_why(r, e, NULL);
    bool platform = ksm_iam_check(DB(r), p, "binding.list", NULL, NULL) == KSM_E_OK;
    json_t *all = json_array(), *items = json_array();
    e = ksm_oidc_mapping_list(DB(r), platform ? NULL : p->tenant_id, after, limit, all);
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m) {
        const char *t = json_string_value(json_object_get(m, "tenant"));
        const char *pj = json_string_value(json_object_get(m, "project"));
        if (platform || ksm_iam_check(DB(r), p, "binding.list", t, pj) == KSM_E_OK)
            json_array_append(items, m);
    }
    if ((int)json_array_size(all) == limit)
        next = ksm_arena_strdup(r->arena, json_string_value(json_object_get(json_array_get(all, limit - 1), "id")));
    json_decref(all);
    if (e != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    return ksm_reply_page(r, items, next);
}

enum ksm_err ksm_h_sso_map_delete(struct ksm_req *r)
{
    json_t *m = NULL;
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    enum ksm_err e = ksm_oidc_mapping_owner(DB(r), r->params[0], tenant, project);
    if (e == KSM_E_OK)
        e = ksm_oidc_mapping_get(DB(r), r->params[0], &m);
    if (e != KSM_E_OK)
        return ksm_fail(r, KSM_E_NOT_FOUND, "no such resource");
    ksm_req_audit(r, tenant, project, r->params[0]);
    e = may_grant(r, json_string_value(json_object_get(m, "role")), tenant, project);
    if (e == KSM_E_OK && (e = ksm_oidc_mapping_delete(DB(r), r->params[0])) != KSM_E_OK)
        e = ksm_fail_why(r, e, NULL);
    if (e != KSM_E_OK) {
        json_decref(m);
        return e;
    }
    json_object_set_new(m, "deleted", json_true());
    return ksm_reply_json(r, 200, m);
}
