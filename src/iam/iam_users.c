/* iam_users.c — users: people (or systems) of a tenant, or of the platform (tenant NULL) for the
 * environment's operators. E-mail is unique within a tenant (case-insensitive). A disabled user keeps
 * its keys and bindings but cannot authenticate; deleting a user deletes its keys, bindings and
 * group memberships (foreign keys cascade). */
#include "iam/iam_int.h"

#include <string.h>

#include "core/util.h"

#define USER_COLS "id, tenant_id, name, email, disabled, created_at, updated_at"

static json_t *user_json(sqlite3_stmt *st)
{
    return json_pack("{s:s,s:o,s:s,s:s,s:b,s:o,s:o}", "id", ksm_db_col_text(st, 0), "tenant",
                     ksm_iam__text_or_null(st, 1), "name", ksm_db_col_text(st, 2), "email",
                     ksm_db_col_text(st, 3), "disabled", sqlite3_column_int(st, 4),
                     "created_at", ksm_iam__time_col(st, 5), "updated_at",
                     ksm_iam__time_col(st, 6));
}

static enum ksm_err validate(const char *name, const char *email, const char **why)
{
    if (name && !ksm_iam__text_ok(name, 200))
        return *why = "name must be 1 to 200 characters of text", KSM_E_INVALID_ARGUMENT;
    if (email && !ksm_iam__email_ok(email))
        return *why = "email must be an e-mail address", KSM_E_INVALID_ARGUMENT;
    return KSM_E_OK;
}

enum ksm_err ksm_iam_user_get(struct ksm_db *db, const char *id, json_t **out)
{
    return ksm_db_get_json(db, "SELECT " USER_COLS " FROM iam_users WHERE id=?1", id,
                           user_json, out);
}

enum ksm_err ksm_iam_user_create(struct ksm_db *db, const char *tenant, const char *name,
                                 const char *email, json_t **out, const char **why)
{
    char id[KSM_ID_LEN];
    *why = NULL;
    if (!name || !email)
        return *why = "name and email are required", KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = validate(name, email, why);
    if (e != KSM_E_OK)
        return e;
    tenant = ksm_iam__nz(tenant);
    ksm_id_new("us", id);
    if ((e = ksm_iam__begin(db)) != KSM_E_OK)
        return e;
    /* the SELECT inserts nothing when the tenant does not exist (platform users: tenant NULL) */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO iam_users(id, tenant_id, name, email, created_at, updated_at) "
            "SELECT ?1,?2,?3,?4,?5,?5 WHERE ?2 IS NULL OR EXISTS "
            "(SELECT 1 FROM iam_tenants WHERE id=?2)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 2, tenant);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, email, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "a user with this email already exists in the tenant";
    if (e == KSM_E_OK)
        e = ksm_iam_user_get(db, id, out);
    return ksm_iam__end(db, e);
}

/* True when deleting or disabling user would leave no platform_admin binding held directly by another user. */
static bool last_platform_admin(struct ksm_db *db, const char *user)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT count(*) FILTER (WHERE user_id=?1), count(*) FROM iam_bindings "
            "WHERE role='platform_admin' AND tenant_id IS NULL AND user_id IS NOT NULL");
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    bool last = false;
    if (sqlite3_step(st) == SQLITE_ROW)
        last = sqlite3_column_int(st, 0) > 0 && sqlite3_column_int(st, 0) == sqlite3_column_int(st, 1);
    sqlite3_reset(st);
    return last;
}

enum ksm_err ksm_iam_user_update(struct ksm_db *db, const char *id, const char *name,
                                 const char *email, int disabled, json_t **out, const char **why)
{
    *why = NULL;
    enum ksm_err e = validate(name, email, why);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_iam__begin(db)) != KSM_E_OK)
        return e;
    if (disabled == 1 && last_platform_admin(db, id)) {
        *why = "this is the last platform administrator";
        return ksm_iam__end(db, KSM_E_CONFLICT);
    }
    sqlite3_stmt *st = ksm_db_prepare(
        db, "UPDATE iam_users SET name=ifnull(?2,name), email=ifnull(?3,email), "
            "disabled=ifnull(?4,disabled), updated_at=?5 WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    ksm_db_bind_text(st, 2, name);
    ksm_db_bind_text(st, 3, email);
    if (disabled >= 0)
        sqlite3_bind_int(st, 4, disabled ? 1 : 0);
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "a user with this email already exists in the tenant";
    if (e == KSM_E_OK)
        e = ksm_iam_user_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_user_delete(struct ksm_db *db, const char *id, const char **why)
{
    *why = NULL;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    if (last_platform_admin(db, id)) {
        *why = "this is the last platform administrator";
        e = KSM_E_CONFLICT;
    } else {
        sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM iam_users WHERE id=?1");
        ksm_db_bind_text(st, 1, id);
        e = ksm_iam__step_write(db, st);
        if (e == KSM_E_OK && sqlite3_changes(db->h) == 0)
            e = KSM_E_NOT_FOUND;
    }
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_user_list(struct ksm_db *db, const char *tenant, const char *after, int limit,
                               json_t *items)
{
    return ksm_iam__list_page(db, "SELECT " USER_COLS " FROM iam_users WHERE tenant_id IS ?1 "
                                  "AND id > ?2 ORDER BY id LIMIT ?3",
                              ksm_iam__nz(tenant), after, limit, user_json, items);
}
