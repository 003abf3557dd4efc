/* iam_tenants.c — tenants (SPEC.md B1): a ministry, local government, independent agency or private
 * operator, identified by its 13-digit 法人番号 (unique in the environment). Tenants are suspended,
 * never deleted here: a suspended tenant keeps its data and its principals get 403. An erased
 * tenant (src/lifecycle) stays suspended for good: its row remains, with status "erased". */
#include "iam/iam_int.h"

#include <string.h>

#include "core/corpnum.h"
#include "core/util.h"

static const char *const tenant_kinds[] = {"ministry", "local_government", "independent_agency",
                                           "private_operator"};

static bool kind_ok(const char *kind)
{
    for (size_t i = 0; kind && i < KSM_NELEM(tenant_kinds); i++)
        if (!strcmp(kind, tenant_kinds[i]))
            return true;
    return false;
}

#define TENANT_COLS                                                                                \
    "id, kind, name, corporate_number,"                                                            \
    " CASE WHEN erased_at IS NULL THEN status ELSE 'erased' END, created_at, updated_at"

static json_t *tenant_json(sqlite3_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", ksm_db_col_text(st, 0), "kind",
                     ksm_db_col_text(st, 1), "name", ksm_db_col_text(st, 2), "corporate_number",
                     ksm_db_col_text(st, 3), "status", ksm_db_col_text(st, 4), "created_at",
                     ksm_iam__time_col(st, 5), "updated_at", ksm_iam__time_col(st, 6));
}

enum ksm_err ksm_iam_tenant_get(struct ksm_db *db, const char *id, json_t **out)
{
    return ksm_db_get_json(db, "SELECT " TENANT_COLS " FROM iam_tenants WHERE id=?1", id,
                           tenant_json, out);
}

enum ksm_err ksm_iam_tenant_create(struct ksm_db *db, const char *kind, const char *name,
                                   const char *corporate_number, json_t **out, const char **why)
{
    char id[KSM_ID_LEN];
    *why = NULL;
    if (!kind_ok(kind))
        return *why = "kind must be ministry, local_government, independent_agency or "
                      "private_operator", KSM_E_INVALID_ARGUMENT;
    if (!ksm_iam__text_ok(name, 200))
        return *why = "name must be 1 to 200 characters of text", KSM_E_INVALID_ARGUMENT;
    if (!ksm_corpnum_valid(corporate_number))
        return *why = "corporate_number must be a 13-digit 法人番号 with a valid check digit",
               KSM_E_INVALID_ARGUMENT;
    ksm_id_new("tn", id);
    int64_t now = ksm_now_ms();
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO iam_tenants(id, kind, name, "
                                          "corporate_number, created_at, updated_at) "
                                          "VALUES(?1,?2,?3,?4,?5,?5)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, corporate_number, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "a tenant with this corporate_number already exists";
    if (e == KSM_E_OK)
        e = ksm_iam_tenant_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_tenant_update(struct ksm_db *db, const char *id, const char *name,
                                   const char *kind, json_t **out, const char **why)
{
    *why = NULL;
    if (kind && !kind_ok(kind))
        return *why = "kind must be ministry, local_government, independent_agency or "
                      "private_operator", KSM_E_INVALID_ARGUMENT;
    if (name && !ksm_iam__text_ok(name, 200))
        return *why = "name must be 1 to 200 characters of text", KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE iam_tenants SET name=ifnull(?2,name), "
                                          "kind=ifnull(?3,kind), updated_at=?4 WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    ksm_db_bind_text(st, 2, name);
    ksm_db_bind_text(st, 3, kind);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK)
        e = ksm_iam_tenant_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_tenant_set_suspended(struct ksm_db *db, const char *id, bool suspended,
                                          json_t **out)
{
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    if (!suspended && ksm_iam_tenant_erased(db, id))
        return ksm_iam__end(db, KSM_E_CONFLICT);   /* erasure is for good */
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE iam_tenants SET status=?2, updated_at=?3 "
                                          "WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    sqlite3_bind_text(st, 2, suspended ? "suspended" : "active", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK)
        e = ksm_iam_tenant_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_tenant_list(struct ksm_db *db, const char *after, int limit, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " TENANT_COLS " FROM iam_tenants "
                                          "WHERE id > ?1 ORDER BY id LIMIT ?2");
    sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, tenant_json(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

bool ksm_iam_tenant_erased(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "SELECT 1 FROM iam_tenants WHERE id=?1 AND erased_at IS NOT NULL");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    bool erased = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return erased;
}

/* Deletes what identifies the tenant's people and lets them in: users (with their API and S3 keys,
 * bindings, memberships, SSO identities and sessions, by cascade), groups, SSO mappings. */
static enum ksm_err purge_principals(struct ksm_db *db, const char *id, int *users, int *groups)
{
    static const char *const sql[] = {
        "DELETE FROM iam_users WHERE tenant_id=?1",
        "DELETE FROM iam_groups WHERE tenant_id=?1",
        "DELETE FROM iam_bindings WHERE tenant_id=?1",
        "DELETE FROM sso_group_roles WHERE tenant_id=?1",
    };
    for (size_t i = 0; i < KSM_NELEM(sql); i++) {
        sqlite3_stmt *st = ksm_db_prepare(db, sql[i]);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        enum ksm_err e = ksm_iam__step_write(db, st);
        if (e != KSM_E_OK)
            return e;
        if (i == 0)
            *users = sqlite3_changes(db->h);
        if (i == 1)
            *groups = sqlite3_changes(db->h);
    }
    return KSM_E_OK;
}

enum ksm_err ksm_iam_tenant_mark_erased(struct ksm_db *db, const char *id, int *users,
                                        int *groups)
{
    *users = *groups = 0;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "UPDATE iam_tenants SET status='suspended', updated_at=?2,"
            " erased_at=ifnull(erased_at, ?2) WHERE id=?1");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK && !sqlite3_changes(db->h))
        e = KSM_E_NOT_FOUND;
    if (e == KSM_E_OK)
        e = purge_principals(db, id, users, groups);
    return ksm_iam__end(db, e);
}

/* Users holding tenant_admin over the whole tenant, directly or through a group, not disabled. */
enum ksm_err ksm_iam_tenant_admin_count(struct ksm_db *db, const char *tenant, int *n)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT count(DISTINCT u.id) FROM iam_users u WHERE u.tenant_id=?1 AND u.disabled=0"
            " AND EXISTS(SELECT 1 FROM iam_bindings b WHERE b.role='tenant_admin' AND"
            "  b.tenant_id=?1 AND b.project_id IS NULL AND (b.user_id=u.id OR b.group_id IN"
            "  (SELECT group_id FROM iam_group_members WHERE user_id=u.id)))");
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : KSM_E_INTERNAL;
}
