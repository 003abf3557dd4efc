/* tpl_store.c — the template subsystem's tables: template versions (one row per distinct document
 * of a tenant's template; tenant "" holds the platform's mandatory template), management records
 * (which template version last made each resource, and the spec it was made with: what drift is
 * measured against), mandatory attachments of projects, and project tags. */
#include "template/tpl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/store.h"

static const struct ksm_migration migrations[] = {
    {"template", 1,
     "CREATE TABLE tpl_versions(tenant TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
     " digest TEXT NOT NULL, doc TEXT NOT NULL, created_at INTEGER NOT NULL,"
     " created_by TEXT NOT NULL, PRIMARY KEY(tenant, name, version));"
     "CREATE TABLE tpl_managed(tenant TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,"
     " project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, spec TEXT NOT NULL,"
     " updated_at INTEGER NOT NULL, PRIMARY KEY(tenant, kind, key));"
     "CREATE INDEX tpl_managed_project ON tpl_managed(project);"
     "CREATE TABLE tpl_attach(project TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL,"
     " version INTEGER NOT NULL, attached_at INTEGER NOT NULL);"
     "CREATE TABLE tpl_project_tags(project TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
     " tags TEXT NOT NULL, updated_at INTEGER NOT NULL);"
     /* the mandatory template in force: one row, pointing at a version of tenant "" */
     "CREATE TABLE tpl_mandatory(id INTEGER PRIMARY KEY CHECK(id = 1), name TEXT NOT NULL,"
     " version INTEGER NOT NULL, set_at INTEGER NOT NULL, set_by TEXT NOT NULL);"},
};

void ksm_tpl_register_schema(void)
{
    ksm_db_register(migrations, (int)KSM_NELEM(migrations));
    ksm_store_set_bucket_guard(ksm_tpl__bucket_guard);
}

static enum ksm_err step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_tpl_version_latest(struct ksm_db *db, const char *tenant, const char *name,
                                    int *version, char *digest)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT version, digest FROM tpl_versions WHERE tenant=?1"
                                          " AND name=?2 ORDER BY version DESC LIMIT 1");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, name);
    int rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    if (digest)
        snprintf(digest, 65, "%s", rc == SQLITE_ROW ? ksm_db_col_text(st, 1) : "");
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* Inside the caller's transaction. */
static enum ksm_err record_locked(struct ksm_db *db, const char *tenant, const struct ksm_tpl *t,
                                  const char *created_by, int *version, bool *is_new)
{
    char digest[65];
    *is_new = false;
    enum ksm_err e = ksm_tpl_version_latest(db, tenant, t->name, version, digest);
    if (e != KSM_E_OK || !strcmp(digest, t->digest))
        return e;
    char *doc = json_dumps(t->doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!doc)
        return KSM_E_INTERNAL;
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO tpl_versions(tenant, name, version,"
                                          " digest, doc, created_at, created_by)"
                                          " VALUES(?1,?2,?3,?4,?5,?6,?7)");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, t->name);
    sqlite3_bind_int(st, 3, *version + 1);
    ksm_db_bind_text(st, 4, t->digest);
    ksm_db_bind_text(st, 5, doc);
    sqlite3_bind_int64(st, 6, ksm_now_ms());
    ksm_db_bind_text(st, 7, created_by ? created_by : "");
    e = step_done(st);
    free(doc);
    *version += 1;
    *is_new = true;
    return e;
}

static enum ksm_err end(struct ksm_db *db, enum ksm_err e)
{
    if (e == KSM_E_OK && ksm_db_commit(db) != SQLITE_OK)
        e = KSM_E_INTERNAL;
    if (e != KSM_E_OK)
        ksm_db_rollback(db);
    return e;
}

enum ksm_err ksm_tpl_version_record(struct ksm_db *db, const char *tenant, const struct ksm_tpl *t,
                                    const char *created_by, int *version, bool *is_new)
{
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    return end(db, record_locked(db, tenant, t, created_by, version, is_new));
}

enum ksm_err ksm_tpl_mandatory_set(struct ksm_db *db, const struct ksm_tpl *t,
                                   const char *created_by, int *version, bool *is_new)
{
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    enum ksm_err e = record_locked(db, "", t, created_by, version, is_new);
    if (e == KSM_E_OK) {
        sqlite3_stmt *st = ksm_db_prepare(
            db, "INSERT OR REPLACE INTO tpl_mandatory(id, name, version, set_at, set_by)"
                " VALUES(1,?1,?2,?3,?4)");
        ksm_db_bind_text(st, 1, t->name);
        sqlite3_bind_int(st, 2, *version);
        sqlite3_bind_int64(st, 3, ksm_now_ms());
        ksm_db_bind_text(st, 4, created_by ? created_by : "");
        e = step_done(st);
    }
    return end(db, e);
}

enum ksm_err ksm_tpl_version_list(struct ksm_db *db, const char *tenant, const char *name,
                                  json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT name, version, digest, created_at, created_by FROM tpl_versions WHERE"
            " tenant=?1 AND (?2 IS NULL OR name=?2) ORDER BY name, version DESC LIMIT 1000");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, name);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        ksm_rfc3339_ms(sqlite3_column_int64(st, 3), at);
        json_array_append_new(items, json_pack("{s:s,s:i,s:s,s:s,s:s}", "template",
                                               ksm_db_col_text(st, 0), "version",
                                               sqlite3_column_int(st, 1), "digest",
                                               ksm_db_col_text(st, 2), "created_at", at,
                                               "created_by", ksm_db_col_text(st, 4)));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_tpl_managed_get(struct ksm_db *db, const char *tenant, const char *kind,
                                 const char *key, json_t **spec)
{
    *spec = NULL;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT spec FROM tpl_managed WHERE tenant=?1 AND"
                                          " kind=?2 AND key=?3");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, kind);
    ksm_db_bind_text(st, 3, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *spec = json_loads(ksm_db_col_text(st, 0), 0, NULL);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_tpl_managed_put(struct ksm_db *db, const char *tenant, const char *kind,
                                 const char *key, const char *project, const char *name,
                                 int version, json_t *spec)
{
    char *s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO tpl_managed(tenant, kind, key, project, name, version, spec, updated_at)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(tenant, kind, key) DO UPDATE SET"
            " project=excluded.project, name=excluded.name, version=excluded.version,"
            " spec=excluded.spec, updated_at=excluded.updated_at");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, kind);
    ksm_db_bind_text(st, 3, key);
    ksm_db_bind_text(st, 4, project);
    ksm_db_bind_text(st, 5, name);
    sqlite3_bind_int(st, 6, version);
    ksm_db_bind_text(st, 7, s ? s : "null");
    sqlite3_bind_int64(st, 8, ksm_now_ms());
    enum ksm_err e = step_done(st);
    free(s);
    return e;
}

/* ---- project tags ---- */

bool ksm_tpl_tags_ok(json_t *tags, char *why)
{
    const char *k;
    json_t *v;
    if (!json_is_object(tags) || json_object_size(tags) > KSM_TPL_MAX_TAGS) {
        snprintf(why, KSM_TPL_WHY, "tags must be an object of at most %d tags", KSM_TPL_MAX_TAGS);
        return false;
    }
    json_object_foreach(tags, k, v)
    {
        size_t kl = strlen(k);
        if (!kl || kl > 128 || !json_is_string(v) || json_string_length(v) > 256 ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            snprintf(why, KSM_TPL_WHY, "tag \"%.64s\": keys are 1..128 characters, values strings "
                                       "of at most 256", k);
            return false;
        }
    }
    return true;
}

enum ksm_err ksm_tpl_tags_get(struct ksm_db *db, const char *project, json_t **tags)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT tags FROM tpl_project_tags WHERE project=?1");
    ksm_db_bind_text(st, 1, project);
    int rc = sqlite3_step(st);
    *tags = rc == SQLITE_ROW ? json_loads(ksm_db_col_text(st, 0), 0, NULL) : NULL;
    sqlite3_reset(st);
    if (!*tags)
        *tags = json_object();
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_tpl_tags_put(struct ksm_db *db, const char *tenant, const char *project,
                              json_t *tags)
{
    char *s = json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO tpl_project_tags(project, tenant, tags, updated_at) VALUES(?1,?2,?3,?4)"
            " ON CONFLICT(project) DO UPDATE SET tags=excluded.tags, updated_at=excluded.updated_at");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, tenant);
    ksm_db_bind_text(st, 3, s ? s : "{}");
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    enum ksm_err e = step_done(st);
    free(s);
    return e;
}
