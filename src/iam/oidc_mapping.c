/* oidc_mapping.c — group → role mappings of single sign-on: "members of IdP group G of issuer I
 * hold role R at scope S". Data, not configuration (DESIGN.md §1), so each environment keeps its
 * own even when both trust the same provider (SPEC.md O2). A sign-in turns the mappings its groups
 * select into user bindings marked created_by 'sso:<mapping id>' (oidc_signin.c); deleting a mapping
 * deletes the bindings it made, at once. */
#include "iam/oidc_int.h"

#include <string.h>

#include "core/util.h"
#include "iam/iam_int.h"

#define MAP_COLS "id, issuer, idp_group, role, tenant_id, project_id, created_at, created_by"

static json_t *map_json(sqlite3_stmt *st)
{
    const char *t = ksm_db_col_text(st, 4), *p = ksm_db_col_text(st, 5);
    char scope[KSM_ID_LEN + 16];
    if (*p)
        snprintf(scope, sizeof scope, "project/%s", p);
    else if (*t)
        snprintf(scope, sizeof scope, "tenant/%s", t);
    else
        snprintf(scope, sizeof scope, "platform");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s}", "id", ksm_db_col_text(st, 0), "issuer",
                     ksm_db_col_text(st, 1), "group", ksm_db_col_text(st, 2), "role",
                     ksm_db_col_text(st, 3), "scope", scope, "tenant", ksm_iam__text_or_null(st, 4),
                     "project", ksm_iam__text_or_null(st, 5), "created_at",
                     ksm_iam__time_col(st, 6), "created_by", ksm_db_col_text(st, 7));
}

enum ksm_err ksm_oidc_mapping_get(struct ksm_db *db, const char *id, json_t **out)
{
    return ksm_db_get_json(db, "SELECT " MAP_COLS " FROM sso_group_roles WHERE id=?1", id, map_json,
                           out);
}

enum ksm_err ksm_oidc_mapping_owner(struct ksm_db *db, const char *id, char *tenant, char *project)
{
    tenant[0] = project[0] = '\0';
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT tenant_id, project_id FROM sso_group_roles WHERE id=?1");
    sqlite3_bind_text(st, 1, id ? id : "", -1, SQLITE_STATIC);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        ksm_iam__copy_id(tenant, st, 0);
        ksm_iam__copy_id(project, st, 1);
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_oidc_mapping_create(struct ksm_db *db, const char *issuer, const char *group,
                                     const char *role, const char *tenant, const char *project,
                                     const char *created_by, json_t **out, const char **why)
{
    const struct ksm_role *r = ksm_iam_role_find(role);
    unsigned need = project && *project ? KSM_ROLE_AT_PROJECT
                    : tenant && *tenant ? KSM_ROLE_AT_TENANT : KSM_ROLE_AT_PLATFORM;
    if (!issuer || !ksm_iam__text_ok(issuer, 63) || !group || !ksm_iam__text_ok(group, 128))
        return *why = "issuer and group must be 1 to 63 and 1 to 128 characters", KSM_E_INVALID_ARGUMENT;
    if (!r || !(r->scopes & need))
        return *why = "unknown role, or one that cannot be bound at this scope", KSM_E_INVALID_ARGUMENT;
    char id[KSM_ID_LEN];
    ksm_id_new("sg", id);
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO sso_group_roles(id, issuer, idp_group, role, tenant_id, project_id, "
            "created_at, created_by) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 5, ksm_iam__nz(tenant));
    ksm_db_bind_text(st, 6, ksm_iam__nz(project));
    sqlite3_bind_int64(st, 7, ksm_now_ms());
    sqlite3_bind_text(st, 8, created_by ? created_by : "", -1, SQLITE_STATIC);
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "this group already grants this role at this scope";
    if (e == KSM_E_OK)
        e = ksm_oidc_mapping_get(db, id, out);
    return ksm_iam__end(db, e);   /* ends with an IAM generation bump: cached tokens map again */
}

enum ksm_err ksm_oidc_mapping_delete(struct ksm_db *db, const char *id)
{
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    char by[KSM_ID_LEN + 8];
    snprintf(by, sizeof by, "sso:%s", id);
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM iam_bindings WHERE created_by=?1");
    sqlite3_bind_text(st, 1, by, -1, SQLITE_STATIC);
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK) {
        st = ksm_db_prepare(db, "DELETE FROM sso_group_roles WHERE id=?1");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        e = ksm_iam__step_write(db, st);
        if (e == KSM_E_OK && sqlite3_changes(db->h) == 0)
            e = KSM_E_NOT_FOUND;
    }
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_oidc_mapping_list(struct ksm_db *db, const char *tenant, const char *after,
                                   int limit, json_t *items)
{
    return ksm_iam__list_page(db, "SELECT " MAP_COLS " FROM sso_group_roles WHERE (?1 IS NULL OR "
                                  "ifnull(tenant_id,'')=?1) AND id > ?2 ORDER BY id LIMIT ?3",
                              tenant, after, limit, map_json, items);
}
