/* store_config.c — per-bucket configurations that S3 sets as subresources (CORS today): one JSON
 * document per (bucket, name), in its own table so that a new kind of configuration needs no
 * change to the bucket row. Also the per-project storage quotas (s3_quota.c enforces them). */
#include "storage/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const struct ksm_migration config_migrations[] = {
    {"store_config", 1,
     "CREATE TABLE store_bucket_config("
     " bucket TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, updated INTEGER NOT NULL,"
     " PRIMARY KEY(bucket, name)) WITHOUT ROWID;"
     "CREATE TABLE store_quotas("
     " project TEXT PRIMARY KEY, max_bytes INTEGER, max_objects INTEGER,"
     " updated INTEGER NOT NULL);"},
};

void store_config_register_schema(void)
{
    ksm_db_register(config_migrations, (int)KSM_NELEM(config_migrations));
}

enum ksm_err ksm_store_bucket_config_get(struct ksm_db *db, const char *bucket_id, const char *name,
                                         json_t **doc)
{
    *doc = NULL;
    sqlite3_stmt *st =
        ksm_db_prepare(db, "SELECT doc FROM store_bucket_config WHERE bucket=? AND name=?");
    sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return *doc ? KSM_E_OK : KSM_E_INTERNAL;
    return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

enum ksm_err ksm_store_bucket_config_put(struct ksm_db *db, const char *bucket_id, const char *name,
                                         json_t *doc)
{
    sqlite3_stmt *st;
    char *text = NULL;
    if (doc) {
        text = json_dumps(doc, JSON_COMPACT);
        st = ksm_db_prepare(db, "INSERT INTO store_bucket_config(bucket, name, doc, updated)"
                                " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(bucket, name)"
                                " DO UPDATE SET doc=excluded.doc, updated=excluded.updated");
        sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, ksm_now_ms());
    } else {
        st = ksm_db_prepare(db, "DELETE FROM store_bucket_config WHERE bucket=?1 AND name=?2");
    }
    sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    enum ksm_err e = store_run(st);
    free(text);
    return e;
}

enum ksm_err ksm_store_bucket_config_by_name(struct ksm_db *db, const char *bucket_name,
                                             const char *name, json_t **docs)
{
    *docs = json_array();
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT c.doc FROM store_buckets b"
                                          " JOIN store_bucket_config c ON c.bucket=b.id"
                                          " WHERE b.name=? AND c.name=? ORDER BY b.id");
    sqlite3_bind_text(st, 1, bucket_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *d = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        if (d)
            json_array_append_new(*docs, d);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

void store_config_bucket_deleted(struct ksm_db *db, const char *bucket_id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM store_bucket_config WHERE bucket=?");
    sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
    store_run(st);   /* in the bucket's deleting transaction: its commit reports a failure */
}

/* ---- per-project storage quotas ---- */

enum ksm_err ksm_store_quota_get(struct ksm_db *db, const char *project, struct ksm_store_quota *q)
{
    q->max_bytes = q->max_objects = -1;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT coalesce(max_bytes,-1), coalesce(max_objects,-1) FROM store_quotas WHERE project=?");
    sqlite3_bind_text(st, 1, project, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        q->max_bytes = sqlite3_column_int64(st, 0);
        q->max_objects = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return KSM_E_OK;
    return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

static void bind_limit(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

enum ksm_err ksm_store_quota_put(struct ksm_db *db, const char *project,
                                 const struct ksm_store_quota *q)
{
    sqlite3_stmt *st;
    if (q) {
        st = ksm_db_prepare(db, "INSERT INTO store_quotas(project, max_bytes, max_objects, updated)"
                                " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(project) DO UPDATE SET"
                                " max_bytes=excluded.max_bytes, max_objects=excluded.max_objects,"
                                " updated=excluded.updated");
        bind_limit(st, 2, q->max_bytes);
        bind_limit(st, 3, q->max_objects);
        sqlite3_bind_int64(st, 4, ksm_now_ms());
    } else {
        st = ksm_db_prepare(db, "DELETE FROM store_quotas WHERE project=?1");
    }
    sqlite3_bind_text(st, 1, project, -1, SQLITE_TRANSIENT);
    return store_run(st);
}

enum ksm_err ksm_store_project_usage(struct ksm_db *db, const char *project, int64_t *bytes,
                                     int64_t *objects)
{
    /* as ksm_store_bucket_usage, over the project's buckets: objects, noncurrent versions (their
     * data is kept) and parts of open uploads */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT (SELECT coalesce(sum(o.size),0) FROM store_buckets b JOIN store_objects o"
            " ON o.bucket=b.id WHERE b.project=?1)"
            " + (SELECT coalesce(sum(v.size),0) FROM store_buckets b JOIN store_versions v"
            " ON v.bucket=b.id WHERE b.project=?1 AND v.delete_marker=0)"
            " + (SELECT coalesce(sum(p.size),0) FROM store_buckets b JOIN store_uploads u"
            " ON u.bucket=b.id JOIN store_parts p ON p.upload=u.id WHERE b.project=?1),"
            " (SELECT count(*) FROM store_buckets b JOIN store_objects o ON o.bucket=b.id"
            " WHERE b.project=?1)"
            " + (SELECT count(*) FROM store_buckets b JOIN store_versions v ON v.bucket=b.id"
            " WHERE b.project=?1 AND v.delete_marker=0)");
    sqlite3_bind_text(st, 1, project, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *bytes = sqlite3_column_int64(st, 0);
        *objects = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : KSM_E_INTERNAL;
}
