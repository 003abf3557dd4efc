/* iam_groups.c — groups of a tenant's users. A role bound to a group applies to each member; a group
 * and its members are always in the same tenant, so membership can never carry a role across
 * tenants. Deleting a group deletes its memberships and bindings (foreign keys cascade). */
#include "iam/iam_int.h"

#include <string.h>

#include "core/util.h"

#define GROUP_COLS "id, tenant_id, name, created_at"

static json_t *group_json(sqlite3_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o}", "id", ksm_db_col_text(st, 0), "tenant",
                     ksm_db_col_text(st, 1), "name", ksm_db_col_text(st, 2), "created_at",
                     ksm_iam__time_col(st, 3));
}

static enum ksm_err members_json(struct ksm_db *db, const char *id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT user_id FROM iam_group_members "
                                          "WHERE group_id=?1 ORDER BY user_id");
    ksm_db_bind_text(st, 1, id);
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_string(ksm_db_col_text(st, 0)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return KSM_E_INTERNAL;
    }
    *out = a;
    return KSM_E_OK;
}

enum ksm_err ksm_iam_group_get(struct ksm_db *db, const char *id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " GROUP_COLS " FROM iam_groups WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    json_t *g = NULL, *members = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        g = group_json(st);
    sqlite3_reset(st);
    if (!g)
        return KSM_E_NOT_FOUND;
    if (members_json(db, id, &members) != KSM_E_OK) {
        json_decref(g);
        return KSM_E_INTERNAL;
    }
    json_object_set_new(g, "members", members);
    *out = g;
    return KSM_E_OK;
}

enum ksm_err ksm_iam_group_create(struct ksm_db *db, const char *tenant, const char *name,
                                  json_t **out, const char **why)
{
    char id[KSM_ID_LEN];
    *why = NULL;
    if (!ksm_iam__text_ok(name, 200))
        return *why = "name must be 1 to 200 characters of text", KSM_E_INVALID_ARGUMENT;
    ksm_id_new("gr", id);
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO iam_groups(id, tenant_id, name, created_at) "
                                          "SELECT ?1,?2,?3,?4 FROM iam_tenants WHERE id=?2");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 2, tenant);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "a group with this name already exists in the tenant";
    if (e == KSM_E_OK)
        e = ksm_iam_group_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_group_delete(struct ksm_db *db, const char *id)
{
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM iam_groups WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK && sqlite3_changes(db->h) == 0)
        e = KSM_E_NOT_FOUND;
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_group_list(struct ksm_db *db, const char *tenant, const char *after, int limit,
                                json_t *items)
{
    return ksm_iam__list_page(db, "SELECT " GROUP_COLS " FROM iam_groups WHERE tenant_id=?1 "
                                  "AND id > ?2 ORDER BY id LIMIT ?3",
                              tenant, after, limit, group_json, items);
}

enum ksm_err ksm_iam_group_member_add(struct ksm_db *db, const char *group, const char *user,
                                      const char **why)
{
    *why = NULL;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    /* inserts only when both exist in one tenant; a platform user (tenant NULL) never matches */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT OR IGNORE INTO iam_group_members(group_id, user_id, created_at) "
            "SELECT g.id, u.id, ?3 FROM iam_groups g JOIN iam_users u ON u.tenant_id=g.tenant_id "
            "WHERE g.id=?1 AND u.id=?2");
    ksm_db_bind_text(st, 1, group);
    ksm_db_bind_text(st, 2, user);
    sqlite3_bind_int64(st, 3, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK) {
        st = ksm_db_prepare(db, "SELECT 1 FROM iam_group_members WHERE group_id=?1 AND user_id=?2");
        ksm_db_bind_text(st, 1, group);
        ksm_db_bind_text(st, 2, user);
        if (sqlite3_step(st) != SQLITE_ROW) {
            *why = "no such user in the group's tenant";
            e = KSM_E_NOT_FOUND;
        }
        sqlite3_reset(st);
    }
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_group_member_remove(struct ksm_db *db, const char *group, const char *user,
                                         const char **why)
{
    *why = NULL;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM iam_group_members "
                                          "WHERE group_id=?1 AND user_id=?2");
    ksm_db_bind_text(st, 1, group);
    ksm_db_bind_text(st, 2, user);
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK && sqlite3_changes(db->h) == 0) {
        *why = "the user is not a member of the group";
        e = KSM_E_NOT_FOUND;
    }
    return ksm_iam__end(db, e);
}
