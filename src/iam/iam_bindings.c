/* iam_bindings.c — role bindings: (principal, role, scope). The scope is written "platform",
 * "tenant/{id}" or "project/{id}"; in the table, tenant_id NULL is platform scope and project_id NULL
 * tenant-wide. A binding's principal always belongs to the binding's tenant (platform bindings: a
 * platform-level user), so no binding can reach across tenants. Who may create one (binding.create
 * at its scope, no escalation) is decided by ksm_iam_can_grant before these functions run. */
#include "iam/iam_int.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

json_t *ksm_iam__binding_json(sqlite3_stmt *st)
{
    bool is_user = sqlite3_column_type(st, 1) != SQLITE_NULL;
    const char *tenant = ksm_db_col_text(st, 4), *project = ksm_db_col_text(st, 5);
    char scope[64];
    if (*project)
        snprintf(scope, sizeof scope, "project/%s", project);
    else if (*tenant)
        snprintf(scope, sizeof scope, "tenant/%s", tenant);
    else
        snprintf(scope, sizeof scope, "platform");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:o,s:s}", "id", ksm_db_col_text(st, 0),
                     "principal", ksm_db_col_text(st, is_user ? 1 : 2), "principal_type",
                     is_user ? "user" : "group", "role", ksm_db_col_text(st, 3), "scope", scope,
                     "tenant", ksm_iam__nz(tenant), "project", ksm_iam__nz(project), "created_at",
                     ksm_iam__time_col(st, 6), "created_by", ksm_db_col_text(st, 7));
}

enum ksm_err ksm_iam_scope_parse(struct ksm_db *db, const char *scope, char *tenant, char *project)
{
    char owner_project[KSM_ID_LEN];
    tenant[0] = project[0] = '\0';
    if (!scope)
        return KSM_E_INVALID_ARGUMENT;
    if (!strcmp(scope, "platform"))
        return KSM_E_OK;
    if (!strncmp(scope, "tenant/", 7)) {
        if (!ksm_iam__id_ok(scope + 7, "tn"))
            return KSM_E_NOT_FOUND;
        return ksm_iam_owner(db, scope + 7, tenant, owner_project);
    }
    if (!strncmp(scope, "project/", 8)) {
        if (!ksm_iam__id_ok(scope + 8, "pj"))
            return KSM_E_NOT_FOUND;
        return ksm_iam_owner(db, scope + 8, tenant, project);
    }
    return KSM_E_INVALID_ARGUMENT;
}

enum ksm_err ksm_iam__binding_insert(struct ksm_db *db, const char *id, const char *user,
                                     const char *group, const char *role, const char *tenant,
                                     const char *project, const char *created_by)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO iam_bindings(id, user_id, group_id, role, tenant_id, project_id, "
            "created_at, created_by) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 2, user);
    ksm_db_bind_text(st, 3, group);
    sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 5, ksm_iam__nz(tenant));
    ksm_db_bind_text(st, 6, ksm_iam__nz(project));
    sqlite3_bind_int64(st, 7, ksm_now_ms());
    sqlite3_bind_text(st, 8, created_by ? created_by : "", -1, SQLITE_STATIC);
    return ksm_iam__step_write(db, st);
}

enum ksm_err ksm_iam_binding_get(struct ksm_db *db, const char *id, json_t **out)
{
    return ksm_db_get_json(db, "SELECT " KSM_IAM__BINDING_COLS " FROM iam_bindings WHERE id=?1",
                           id, ksm_iam__binding_json, out);
}

/* The role must exist, be bindable, and be bindable at this kind of scope. */
static enum ksm_err role_fits(const char *role, const char *tenant, const char *project,
                              const char **why)
{
    const struct ksm_role *r = ksm_iam_role_find(role);
    unsigned at = project ? KSM_ROLE_AT_PROJECT : tenant ? KSM_ROLE_AT_TENANT : KSM_ROLE_AT_PLATFORM;
    if (!r || !r->scopes)
        return *why = "unknown role", KSM_E_INVALID_ARGUMENT;
    if (!(r->scopes & at))
        return *why = "the role cannot be bound at this kind of scope", KSM_E_INVALID_ARGUMENT;
    return KSM_E_OK;
}

enum ksm_err ksm_iam_binding_create(struct ksm_db *db, const char *principal, const char *role,
                                    const char *tenant, const char *project,
                                    const char *created_by, json_t **out, const char **why)
{
    char id[KSM_ID_LEN], ptenant[KSM_ID_LEN], pproject[KSM_ID_LEN];
    *why = NULL;
    tenant = ksm_iam__nz(tenant);
    project = ksm_iam__nz(project);
    enum ksm_err e = role_fits(role, tenant, project, why);
    if (e != KSM_E_OK)
        return e;
    bool is_user = ksm_iam__id_ok(principal, "us");
    if (!is_user && !ksm_iam__id_ok(principal, "gr"))
        return *why = "principal must be a user or group id", KSM_E_INVALID_ARGUMENT;
    ksm_id_new("rb", id);
    if ((e = ksm_iam__begin(db)) != KSM_E_OK)
        return e;
    e = ksm_iam_owner(db, principal, ptenant, pproject);
    if (e == KSM_E_OK && strcmp(ptenant, tenant ? tenant : ""))
        e = KSM_E_NOT_FOUND;   /* in another tenant: as if it did not exist */
    if (e == KSM_E_NOT_FOUND)
        *why = "no such principal in the binding's tenant";
    if (e == KSM_E_OK)
        e = ksm_iam__binding_insert(db, id, is_user ? principal : NULL, is_user ? NULL : principal,
                                    role, tenant, project, created_by);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "this role binding already exists";
    if (e == KSM_E_OK)
        e = ksm_iam_binding_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_binding_delete(struct ksm_db *db, const char *id, const char **why)
{
    *why = NULL;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    /* the environment must keep a platform administrator that is a user */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT count(*) FILTER (WHERE id=?1), count(*) FROM iam_bindings "
            "WHERE role='platform_admin' AND tenant_id IS NULL AND user_id IS NOT NULL");
    ksm_db_bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1 &&
        sqlite3_column_int(st, 1) == 1) {
        *why = "this is the last platform_admin binding";
        e = KSM_E_CONFLICT;
    }
    sqlite3_reset(st);
    if (e == KSM_E_OK) {
        st = ksm_db_prepare(db, "DELETE FROM iam_bindings WHERE id=?1");
        ksm_db_bind_text(st, 1, id);
        e = ksm_iam__step_write(db, st);
        if (e == KSM_E_OK && sqlite3_changes(db->h) == 0)
            e = KSM_E_NOT_FOUND;
    }
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_binding_list(struct ksm_db *db, const char *tenant, const char *scope,
                                  const char *principal, const char *after, int limit,
                                  json_t *items)
{
    const char *scope_kind = NULL, *scope_id = NULL;
    if (scope && !strcmp(scope, "platform"))
        scope_kind = "platform";
    else if (scope && !strncmp(scope, "tenant/", 7))
        scope_kind = "tenant", scope_id = scope + 7;
    else if (scope && !strncmp(scope, "project/", 8))
        scope_kind = "project", scope_id = scope + 8;
    else if (scope)
        return KSM_E_INVALID_ARGUMENT;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT " KSM_IAM__BINDING_COLS " FROM iam_bindings"
            " WHERE (?1 IS NULL OR ifnull(tenant_id,'')=?1)"
            " AND (?2 IS NULL OR (?2='platform' AND tenant_id IS NULL)"
            "  OR (?2='tenant' AND tenant_id=?3 AND project_id IS NULL)"
            "  OR (?2='project' AND project_id=?3))"
            " AND (?4 IS NULL OR ifnull(user_id, group_id)=?4)"
            " AND id > ?5 ORDER BY id LIMIT ?6");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, scope_kind);
    ksm_db_bind_text(st, 3, scope_id);
    ksm_db_bind_text(st, 4, principal);
    sqlite3_bind_text(st, 5, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, ksm_iam__binding_json(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
