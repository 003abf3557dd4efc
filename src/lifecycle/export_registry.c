/* export_registry.c — the tenant's registry data for an export, in the registry JSON format shared
 * with the environments work (templates, environment copies):
 *   {"format":"kasumi-registry/1","exported":"…","tenants":[{"corporate_number","name","kind",
 *    "status","projects":[…],"users":[…],"groups":[…],"bindings":[…],"budgets":[…],
 *    "storage_quotas":[…],"templates":[…]}]}
 * Rows are the admin API's own JSON, so a reader of one reads the other. Never a secret: API keys
 * and S3 keys are not part of it (they are credentials, not data, and die with the contract). */
#include "lifecycle/export_int.h"

#include <string.h>

#include "core/util.h"
#include "iam/iam.h"

#define PAGE 500

typedef enum ksm_err (*list_fn)(struct ksm_db *db, const char *tenant, const char *after, int limit,
                                json_t *items);

/* Every page of a list keyed by "id". */
static enum ksm_err list_all(struct ksm_db *db, const char *tenant, list_fn fn, json_t *out)
{
    char after[KSM_ID_LEN] = "";
    for (;;) {
        json_t *page = json_array();
        enum ksm_err e = fn(db, tenant, after, PAGE, page);
        size_t n = json_array_size(page);
        if (e == KSM_E_OK && n)
            snprintf(after, sizeof after, "%s",
                     json_string_value(json_object_get(json_array_get(page, n - 1), "id")) ?: "");
        json_array_extend(out, page);
        json_decref(page);
        if (e != KSM_E_OK)
            return e;
        if (n < PAGE)
            return KSM_E_OK;
    }
}

static enum ksm_err bindings_page(struct ksm_db *db, const char *tenant, const char *after,
                                  int limit, json_t *items)
{
    return ksm_iam_binding_list(db, tenant, NULL, NULL, after, limit, items);
}

/* Each group with its members. */
static enum ksm_err groups_with_members(struct ksm_db *db, const char *tenant, json_t *out)
{
    json_t *groups = json_array();
    enum ksm_err e = list_all(db, tenant, ksm_iam_group_list, groups);
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        json_t *full = NULL;
        const char *id = json_string_value(json_object_get(g, "id"));
        if (e == KSM_E_OK && id && ksm_iam_group_get(db, id, &full) == KSM_E_OK)
            json_array_append_new(out, full);
        else
            json_array_append(out, g);
    }
    json_decref(groups);
    return e;
}

/* A row of any table as a JSON object by column name (for tables without an API of their own). */
static json_t *row_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    for (int c = 0; c < sqlite3_column_count(st); c++) {
        const char *name = sqlite3_column_name(st, c);
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
            json_object_set_new(o, name, json_integer(sqlite3_column_int64(st, c)));
            break;
        case SQLITE_FLOAT:
            json_object_set_new(o, name, json_real(sqlite3_column_double(st, c)));
            break;
        case SQLITE_NULL:
            json_object_set_new(o, name, json_null());
            break;
        default: {
            const char *t = (const char *)sqlite3_column_text(st, c);
            /* stored JSON documents (alerts, policies) stay structured */
            json_t *doc = t && (*t == '{' || *t == '[') ? json_loads(t, 0, NULL) : NULL;
            json_object_set_new(o, name, doc ? doc : json_string(t ? t : ""));
        }
        }
    }
    return o;
}

/* Rows of a statement with ?1 = tenant and ?2 = project (NULL: all the tenant's). */
static enum ksm_err rows(struct ksm_db *db, const char *sql, const char *tenant,
                         const char *project, json_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, project);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(out, row_json(st));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* Templates belong to the environments work: exported when that table exists here. */
static enum ksm_err templates(struct ksm_db *db, const char *tenant, const char *project,
                              json_t *out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND "
                                          "name='templates'");
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    if (!exists)
        return KSM_E_OK;
    return rows(db, "SELECT * FROM templates WHERE tenant_id=?1 AND (?2 IS NULL OR project_id=?2)",
                tenant, project, out);
}

/* Keeps the items whose field equals value (a project export narrows the tenant's lists). */
static void keep_only(json_t *items, const char *field, const char *value)
{
    for (size_t i = json_array_size(items); i-- > 0;) {
        const char *v = json_string_value(json_object_get(json_array_get(items, i), field));
        if (!v || strcmp(v, value))
            json_array_remove(items, i);
    }
}

enum ksm_err ksm_export__registry(struct ksm_db *db, const char *tenant, const char *project,
                                  int64_t now_ms, json_t **out)
{
    json_t *t = NULL;
    enum ksm_err e = ksm_iam_tenant_get(db, tenant, &t);
    if (e != KSM_E_OK)
        return e;
    json_t *projects = json_array(), *users = json_array(), *groups = json_array(),
           *bindings = json_array(), *budgets = json_array(), *quotas = json_array(),
           *tmpl = json_array(), *key_budgets = json_array() /* caps and model lists */;
    if (!e)
        e = list_all(db, tenant, ksm_iam_project_list, projects);
    if (!e)
        e = list_all(db, tenant, ksm_iam_user_list, users);
    if (!e)
        e = groups_with_members(db, tenant, groups);
    if (!e)
        e = list_all(db, tenant, bindings_page, bindings);
    if (!e)
        e = rows(db,
                 "SELECT project_id, monthly_microyen, alerts, updated_at FROM ai_budgets "
                 "WHERE tenant_id=?1 AND (?2 IS NULL OR project_id=?2) ORDER BY project_id",
                 tenant, project, budgets);
    if (!e)
        e = rows(db,
                 "SELECT project_id, key_id, monthly_microyen, NULL AS models, NULL AS rpm,"
                 " NULL AS tpm, updated_at"
                 " FROM ai_key_budgets WHERE tenant_id=?1 AND (?2 IS NULL OR project_id=?2)"
                 " UNION ALL SELECT project_id, key_id, NULL, models, NULL, NULL, updated_at"
                 " FROM ai_key_models WHERE tenant_id=?1 AND (?2 IS NULL OR project_id=?2)"
                 " UNION ALL SELECT project_id, key_id, NULL, NULL, NULLIF(rpm, -1), NULLIF(tpm, -1),"
                 " updated_at FROM ai_key_rates WHERE tenant_id=?1 AND (?2 IS NULL OR project_id=?2)"
                 " ORDER BY 1, 2",
                 tenant, project, key_budgets);
    if (!e)
        e = rows(db,
                 "SELECT q.project AS project_id, q.max_bytes, q.max_objects, q.updated "
                 "FROM store_quotas q JOIN iam_projects p ON p.id=q.project "
                 "WHERE p.tenant_id=?1 AND (?2 IS NULL OR q.project=?2) ORDER BY q.project",
                 tenant, project, quotas);
    if (!e)
        e = templates(db, tenant, project, tmpl);
    if (project) {
        keep_only(projects, "id", project);
        keep_only(bindings, "project", project);
    }
    json_t *entry = json_pack(
        "{s:O,s:O,s:O,s:O,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "corporate_number",
        json_object_get(t, "corporate_number"), "name", json_object_get(t, "name"), "kind",
        json_object_get(t, "kind"), "status", json_object_get(t, "status"), "projects", projects,
        "users", users, "groups", groups, "bindings", bindings, "budgets", budgets,
        "key_limits", key_budgets, "storage_quotas", quotas, "templates", tmpl);
    json_decref(t);
    if (e != KSM_E_OK || !entry) {
        json_decref(entry);
        return e ? e : KSM_E_INTERNAL;
    }
    char exported[32];
    ksm_rfc3339_ms(now_ms, exported);
    *out = json_pack("{s:s,s:s,s:[o]}", "format", "kasumi-registry/1", "exported", exported,
                     "tenants", entry);
    return *out ? KSM_E_OK : KSM_E_INTERNAL;
}
