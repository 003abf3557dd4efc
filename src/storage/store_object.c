/* store_object.c — the synchronous object operations: head, delete (the data goes to the reaper
 * after the commit), object tags and a bucket's usage. */
#include "storage/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

enum ksm_err ksm_store_head(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                            struct ksm_obj_meta *out)
{
    return ksm_store_head_version(db, b, key, NULL, out);
}

enum ksm_err ksm_store_delete(struct ksm_store *s, struct ksm_db *db, const struct ksm_bucket *b,
                              const char *key, uint64_t *freed_bytes)
{
    struct store_garbage g = {0};
    bool found = false;
    uint64_t size = 0;
    if (freed_bytes)
        *freed_bytes = 0;
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum ksm_err e = store_meta_obj_remove(db, b->id, key, &g, &found, &size);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        store_garbage_free(&g);
        return e;
    }
    e = store_commit(db);
    if (e != KSM_E_OK) {
        store_garbage_free(&g);
        return e;
    }
    if (freed_bytes && found)
        *freed_bytes = size;
    store_reap(s, &g);
    return KSM_E_OK;
}

enum ksm_err ksm_store_object_tags_put(struct ksm_db *db, const struct ksm_bucket *b,
                                       const char *key, json_t *tags)
{
    char *t = tags ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE store_objects SET tags=? WHERE bucket=? AND key=?");
    ksm_db_bind_text(st, 1, t);
    sqlite3_bind_text(st, 2, b->id, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 3, key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(t);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return sqlite3_changes(db->h) ? KSM_E_OK : KSM_E_NOT_FOUND;
}

enum ksm_err ksm_store_bucket_usage(struct ksm_db *db, const struct ksm_bucket *b, uint64_t *bytes,
                                    uint64_t *objects)
{
    /* completed objects plus parts of uploads in progress: both occupy the disk */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT (SELECT coalesce(sum(size),0) FROM store_objects WHERE bucket=?1)"
            " + (SELECT coalesce(sum(size),0) FROM store_versions WHERE bucket=?1"
            " AND delete_marker=0)"
            " + (SELECT coalesce(sum(p.size),0) FROM store_parts p JOIN store_uploads u"
            " ON u.id=p.upload WHERE u.bucket=?1),"
            " (SELECT count(*) FROM store_objects WHERE bucket=?1)");
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *bytes = (uint64_t)sqlite3_column_int64(st, 0);
        *objects = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : KSM_E_INTERNAL;
}
