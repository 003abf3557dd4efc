/* iam_projects.c — projects (情報システム): a tenant's unit of systems, environment and billing.
 * Names are unique within the tenant. Deleting a project takes with it what only makes sense inside
 * it — role bindings scoped to it and API keys narrowed to it (foreign keys cascade) — and is refused
 * while another subsystem still keeps data in it (registered dependents: buckets, ...), because
 * deleting information assets must be a deliberate act of its own. */
#include "iam/iam_int.h"

#include <string.h>

#include "core/log.h"
#include "core/util.h"

static const char *const environments[] = {"prod", "staging", "dev"};

#define MAX_DEPENDENTS 16
static struct {
    const char *what, *count_sql;
} dependents[MAX_DEPENDENTS];
static int ndependents;

void ksm_iam_register_project_dependent(const char *what, const char *count_sql)
{
    if (ndependents < MAX_DEPENDENTS)
        dependents[ndependents].what = what, dependents[ndependents++].count_sql = count_sql;
}

static bool environment_ok(const char *env)
{
    for (size_t i = 0; env && i < KSM_NELEM(environments); i++)
        if (!strcmp(env, environments[i]))
            return true;
    return false;
}

#define PROJECT_COLS "id, tenant_id, name, environment, description, created_at, updated_at"

static json_t *project_json(sqlite3_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "id", ksm_db_col_text(st, 0), "tenant",
                     ksm_db_col_text(st, 1), "name", ksm_db_col_text(st, 2), "environment",
                     ksm_db_col_text(st, 3), "description", ksm_db_col_text(st, 4), "created_at",
                     ksm_iam__time_col(st, 5), "updated_at", ksm_iam__time_col(st, 6));
}

static enum ksm_err validate(const char *name, const char *env, const char *desc, const char **why)
{
    if (name && !ksm_iam__text_ok(name, 100))
        return *why = "name must be 1 to 100 characters of text", KSM_E_INVALID_ARGUMENT;
    if (env && !environment_ok(env))
        return *why = "environment must be prod, staging or dev", KSM_E_INVALID_ARGUMENT;
    if (desc && *desc && !ksm_iam__text_ok(desc, 1000))
        return *why = "description must be at most 1000 characters of text",
               KSM_E_INVALID_ARGUMENT;
    return KSM_E_OK;
}

enum ksm_err ksm_iam_project_get(struct ksm_db *db, const char *id, json_t **out)
{
    return ksm_db_get_json(db, "SELECT " PROJECT_COLS " FROM iam_projects WHERE id=?1", id,
                           project_json, out);
}

enum ksm_err ksm_iam_project_create(struct ksm_db *db, const char *tenant, const char *name,
                                    const char *environment, const char *description,
                                    json_t **out, const char **why)
{
    char id[KSM_ID_LEN];
    *why = NULL;
    if (!name || !environment)
        return *why = "name and environment are required", KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = validate(name, environment, description, why);
    if (e != KSM_E_OK)
        return e;
    ksm_id_new("pj", id);
    if ((e = ksm_iam__begin(db)) != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO iam_projects(id, tenant_id, name, "
                                          "environment, description, created_at, updated_at) "
                                          "SELECT ?1,?2,?3,?4,?5,?6,?6 FROM iam_tenants "
                                          "WHERE id=?2");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 2, tenant);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, environment, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, description ? description : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "a project with this name already exists in the tenant";
    if (e == KSM_E_OK)
        e = ksm_iam_project_get(db, id, out);   /* NOT_FOUND: no such tenant, nothing inserted */
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_project_update(struct ksm_db *db, const char *id, const char *name,
                                    const char *environment, const char *description,
                                    json_t **out, const char **why)
{
    *why = NULL;
    enum ksm_err e = validate(name, environment, description, why);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_iam__begin(db)) != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "UPDATE iam_projects SET name=ifnull(?2,name), environment=ifnull(?3,environment), "
            "description=ifnull(?4,description), updated_at=?5 WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    ksm_db_bind_text(st, 2, name);
    ksm_db_bind_text(st, 3, environment);
    ksm_db_bind_text(st, 4, description);
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        *why = "a project with this name already exists in the tenant";
    if (e == KSM_E_OK)
        e = ksm_iam_project_get(db, id, out);
    return ksm_iam__end(db, e);
}

/* CONFLICT while a registered dependent counts anything in the project. */
static enum ksm_err check_dependents(struct ksm_db *db, const char *id, const char **why)
{
    for (int i = 0; i < ndependents; i++) {
        sqlite3_stmt *st = ksm_db_prepare(db, dependents[i].count_sql);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_int64 n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_reset(st);
        if (n < 0)
            return KSM_E_INTERNAL;
        if (n > 0) {
            *why = "the project still holds resources; delete them first";
            ksm_info("iam: project %s not deleted: it still has %s", id, dependents[i].what);
            return KSM_E_CONFLICT;
        }
    }
    return KSM_E_OK;
}

enum ksm_err ksm_iam_project_delete(struct ksm_db *db, const char *id, const char **why)
{
    *why = NULL;
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    e = check_dependents(db, id, why);
    if (e == KSM_E_OK) {
        sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM iam_projects WHERE id=?1");
        ksm_db_bind_text(st, 1, id);
        e = ksm_iam__step_write(db, st);
        if (e == KSM_E_OK && sqlite3_changes(db->h) == 0)
            e = KSM_E_NOT_FOUND;
    }
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_project_list(struct ksm_db *db, const char *tenant, const char *after,
                                  int limit, json_t *items)
{
    return ksm_iam__list_page(db, "SELECT " PROJECT_COLS " FROM iam_projects WHERE tenant_id=?1 "
                                  "AND id > ?2 ORDER BY id LIMIT ?3",
                              tenant, after, limit, project_json, items);
}
