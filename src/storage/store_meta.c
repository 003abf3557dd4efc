/* store_meta.c — the store's schema and the SQL shared by puts, parts, completions and deletes:
 * replacing an object row and finding the data the old row referenced, reading an object's
 * segments, and where pack extents are referenced (compaction). Keys are BLOBs so SQLite compares them with memcmp: S3 lists keys in UTF-8 binary
 * order, and a BLOB primary key gives exactly that order to range scans. A backend port to
 * PostgreSQL replaces this file (bytea keys, COLLATE "C"). */
#include "storage/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "iam/iam.h"

static const struct ksm_migration store_migrations[] = {
    {"store", 1,
     "CREATE TABLE store_buckets("
     " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL,"
     " region TEXT NOT NULL, created INTEGER NOT NULL, tags TEXT,"
     " UNIQUE(tenant, name));"
     /* loc: 0 own file, 1 pack extent, 2 multipart (segments in store_segments by uid) */
     "CREATE TABLE store_objects("
     " bucket TEXT NOT NULL, key BLOB NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
     " mtime INTEGER NOT NULL, content_type TEXT, cache_control TEXT, content_disposition TEXT,"
     " content_encoding TEXT, content_language TEXT, expires TEXT, user_meta TEXT, tags TEXT,"
     " parts INTEGER NOT NULL DEFAULT 0, region TEXT NOT NULL, loc INTEGER NOT NULL,"
     " pack_id INTEGER, pack_off INTEGER, pack_len INTEGER, uid BLOB NOT NULL, wrapped BLOB,"
     " PRIMARY KEY(bucket, key)) WITHOUT ROWID;"
     "CREATE INDEX store_objects_uid ON store_objects(uid);"
     "CREATE TABLE store_segments("
     " obj_uid BLOB NOT NULL, idx INTEGER NOT NULL, size INTEGER NOT NULL, region TEXT NOT NULL,"
     " loc INTEGER NOT NULL, pack_id INTEGER, pack_off INTEGER, pack_len INTEGER,"
     " uid BLOB NOT NULL, wrapped BLOB NOT NULL, PRIMARY KEY(obj_uid, idx)) WITHOUT ROWID;"
     "CREATE INDEX store_segments_uid ON store_segments(uid);"
     "CREATE TABLE store_uploads("
     " id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL, meta TEXT NOT NULL,"
     " initiated INTEGER NOT NULL);"
     "CREATE INDEX store_uploads_key ON store_uploads(bucket, key, id);"
     "CREATE TABLE store_parts("
     " upload TEXT NOT NULL, number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,"
     " mtime INTEGER NOT NULL, region TEXT NOT NULL, loc INTEGER NOT NULL, pack_id INTEGER,"
     " pack_off INTEGER, pack_len INTEGER, uid BLOB NOT NULL, wrapped BLOB NOT NULL,"
     " PRIMARY KEY(upload, number)) WITHOUT ROWID;"
     "CREATE INDEX store_parts_uid ON store_parts(uid);"
     /* pack logs: bytes still referenced and bytes freed, for compaction */
     "CREATE TABLE store_packs("
     " region TEXT NOT NULL, id INTEGER NOT NULL, live INTEGER NOT NULL DEFAULT 0,"
     " dead INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(region, id)) WITHOUT ROWID;"},
    /* compaction asks "which extents of pack N are referenced?": partial indexes, so only rows
     * that live in a pack pay for them */
    {"store", 2,
     "CREATE INDEX store_objects_pack ON store_objects(region, pack_id, pack_off) WHERE loc=1;"
     "CREATE INDEX store_segments_pack ON store_segments(region, pack_id, pack_off) WHERE loc=1;"
     "CREATE INDEX store_parts_pack ON store_parts(region, pack_id, pack_off) WHERE loc=1;"},
};

void ksm_store_register_schema(void)
{
    ksm_db_register(store_migrations, (int)KSM_NELEM(store_migrations));
    store_config_register_schema();
    store_version_register_schema();
    /* a project holding buckets is not empty: deleting it would orphan information assets */
    ksm_iam_register_project_dependent("buckets",
                                       "SELECT count(*) FROM store_buckets WHERE project=?1");
}

void store_bind_key(sqlite3_stmt *st, int idx, const char *key)
{
    sqlite3_bind_blob(st, idx, key, (int)strlen(key), SQLITE_TRANSIENT);
}

int store_begin(struct ksm_db *db) { return ksm_db_begin(db) == SQLITE_OK ? 0 : -1; }

enum ksm_err store_commit(struct ksm_db *db)
{
    if (ksm_db_commit(db) == SQLITE_OK)
        return KSM_E_OK;
    ksm_db_rollback(db);
    return KSM_E_INTERNAL;
}

void store_garbage_add(struct store_garbage *g, const struct store_seg *s)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 4;
        g->segs = ksm_xrealloc(g->segs, g->cap * sizeof *g->segs);
    }
    g->segs[g->n++] = *s;
}

void store_garbage_free(struct store_garbage *g)
{
    free(g->segs);
    memset(g, 0, sizeof *g);
}

static void copy_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
    const void *p = sqlite3_column_blob(st, col);
    memset(out, 0, n);
    if (p && (size_t)sqlite3_column_bytes(st, col) == n)
        memcpy(out, p, n);
}

/* Columns: region, loc, pack_id, pack_off, pack_len, uid, wrapped, size. */
void store_seg_from_cols(sqlite3_stmt *st, int c, struct store_seg *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->region, sizeof s->region, "%s", ksm_db_col_text(st, c));
    s->loc = sqlite3_column_int(st, c + 1);
    s->pack_id = sqlite3_column_int64(st, c + 2);
    s->pack_off = (uint64_t)sqlite3_column_int64(st, c + 3);
    s->pack_len = (uint64_t)sqlite3_column_int64(st, c + 4);
    copy_blob(st, c + 5, s->uid, sizeof s->uid);
    copy_blob(st, c + 6, s->wrapped, sizeof s->wrapped);
    s->size = (uint64_t)sqlite3_column_int64(st, c + 7);
}

static void bind_seg(sqlite3_stmt *st, int c, const struct store_seg *s)
{
    sqlite3_bind_text(st, c, s->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, c + 1, s->loc);
    sqlite3_bind_int64(st, c + 2, s->pack_id);
    sqlite3_bind_int64(st, c + 3, (int64_t)s->pack_off);
    sqlite3_bind_int64(st, c + 4, (int64_t)s->pack_len);
    sqlite3_bind_blob(st, c + 5, s->uid, sizeof s->uid, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, c + 6, s->wrapped, sizeof s->wrapped, SQLITE_TRANSIENT);
}

enum ksm_err store_run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err store_meta_garbage_rows(sqlite3_stmt *st, struct store_garbage *g)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_seg s;
        store_seg_from_cols(st, 0, &s);
        store_garbage_add(g, &s);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* The data of a multipart object: its segment rows go to g and are deleted. */
enum ksm_err store_meta_segments_collect(struct ksm_db *db, const uint8_t *obj_uid,
                                     struct store_garbage *g)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "DELETE FROM store_segments WHERE obj_uid=? RETURNING region, loc, pack_id, pack_off,"
            " pack_len, uid, wrapped, size");
    sqlite3_bind_blob(st, 1, obj_uid, KSM_KMS_UID_LEN, SQLITE_TRANSIENT);
    return store_meta_garbage_rows(st, g);
}

enum ksm_err store_meta_obj_remove(struct ksm_db *db, const char *bucket, const char *key,
                                   struct store_garbage *g, bool *found, uint64_t *size)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "DELETE FROM store_objects WHERE bucket=? AND key=? RETURNING region, loc, pack_id,"
            " pack_off, pack_len, uid, wrapped, size");
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 2, key);
    struct store_seg s;
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found)
        store_seg_from_cols(st, 0, &s);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    if (!*found)
        return KSM_E_OK;
    if (size)
        *size = s.size;
    if (s.loc == STORE_LOC_PARTS)
        return store_meta_segments_collect(db, s.uid, g);
    store_garbage_add(g, &s);
    return KSM_E_OK;
}

static char *json_or_null(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

enum ksm_err store_meta_obj_replace(struct ksm_db *db, const struct store_obj_row *row,
                                    struct store_garbage *g)
{
    bool found;
    const struct ksm_obj_meta *m = row->meta;
    /* a versioned write keeps the current version as a noncurrent one (store_version.c) */
    enum ksm_err e = m->version_id[0]
                         ? store_version_before_write(db, row->bucket, row->key, m->version_id, g)
                         : store_meta_obj_remove(db, row->bucket, row->key, g, &found, NULL);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO store_objects(bucket, key, size, etag, mtime, content_type, cache_control,"
            " content_disposition, content_encoding, content_language, expires, user_meta, tags,"
            " parts, region, loc, pack_id, pack_off, pack_len, uid, wrapped, version_id, seq,"
            " retain_mode, retain_until, legal_hold, sse_c)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    char *um = json_or_null(m->user_meta), *tags = json_or_null(m->tags);
    sqlite3_bind_text(st, 1, row->bucket, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 2, row->key);
    sqlite3_bind_int64(st, 3, (int64_t)m->size);
    sqlite3_bind_text(st, 4, m->etag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, m->mtime_ms);
    sqlite3_bind_text(st, 6, m->content_type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, m->cache_control, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, m->content_disposition, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, m->content_encoding, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, m->content_language, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, m->expires, -1, SQLITE_TRANSIENT);
    ksm_db_bind_text(st, 12, um);
    ksm_db_bind_text(st, 13, tags);
    sqlite3_bind_int(st, 14, m->parts);
    bind_seg(st, 15, row->seg);
    sqlite3_bind_int(st, 16, row->loc);
    if (row->loc == STORE_LOC_PARTS)
        sqlite3_bind_null(st, 21);
    ksm_db_bind_text(st, 22, m->version_id[0] ? m->version_id : NULL);
    sqlite3_bind_int64(st, 23, store_version_seq());
    ksm_db_bind_text(st, 24, m->lock_mode[0] ? m->lock_mode : NULL);
    if (m->lock_mode[0])
        sqlite3_bind_int64(st, 25, m->lock_until_ms);
    sqlite3_bind_int(st, 26, m->legal_hold);
    ksm_db_bind_text(st, 27, m->sse_c[0] ? m->sse_c : NULL);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(um);
    free(tags);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err store_meta_part_replace(struct ksm_db *db, const char *upload, int number,
                                     const struct ksm_obj_meta *meta, const struct store_seg *seg,
                                     struct store_garbage *g)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "DELETE FROM store_parts WHERE upload=? AND number=? RETURNING region, loc, pack_id,"
            " pack_off, pack_len, uid, wrapped, size");
    sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, number);
    if (store_meta_garbage_rows(st, g) != KSM_E_OK)
        return KSM_E_INTERNAL;
    st = ksm_db_prepare(db, "INSERT INTO store_parts(upload, number, size, etag, mtime, region, loc,"
                            " pack_id, pack_off, pack_len, uid, wrapped)"
                            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, number);
    sqlite3_bind_int64(st, 3, (int64_t)meta->size);
    sqlite3_bind_text(st, 4, meta->etag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, meta->mtime_ms);
    bind_seg(st, 6, seg);
    return store_run(st);
}

static void col_str(sqlite3_stmt *st, int col, char *out, size_t n)
{
    snprintf(out, n, "%s", ksm_db_col_text(st, col));
}

static json_t *col_json(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? json_loads(t, 0, NULL) : NULL;
}

/* Columns from col0: key, size, etag, mtime, content_type, cache_control, content_disposition,
 * content_encoding, content_language, expires, user_meta, tags, parts. */
void store_meta_row_to_meta(sqlite3_stmt *st, int c, struct ksm_obj_meta *m)
{
    memset(m, 0, sizeof *m);
    int kn = sqlite3_column_bytes(st, c);
    const void *k = sqlite3_column_blob(st, c);
    if (k && kn > 0 && kn <= KSM_STORE_KEY_MAX)
        memcpy(m->key, k, (size_t)kn);
    m->size = (uint64_t)sqlite3_column_int64(st, c + 1);
    col_str(st, c + 2, m->etag, sizeof m->etag);
    m->mtime_ms = sqlite3_column_int64(st, c + 3);
    col_str(st, c + 4, m->content_type, sizeof m->content_type);
    col_str(st, c + 5, m->cache_control, sizeof m->cache_control);
    col_str(st, c + 6, m->content_disposition, sizeof m->content_disposition);
    col_str(st, c + 7, m->content_encoding, sizeof m->content_encoding);
    col_str(st, c + 8, m->content_language, sizeof m->content_language);
    col_str(st, c + 9, m->expires, sizeof m->expires);
    m->user_meta = col_json(st, c + 10);
    if (!m->user_meta)
        m->user_meta = json_object();
    m->tags = col_json(st, c + 11);
    m->parts = sqlite3_column_int(st, c + 12);
}

void store_meta_row_lock(sqlite3_stmt *st, int c, struct ksm_obj_meta *m)
{
    col_str(st, c, m->version_id, sizeof m->version_id);
    col_str(st, c + 1, m->lock_mode, sizeof m->lock_mode);
    m->lock_until_ms = sqlite3_column_int64(st, c + 2);
    m->legal_hold = sqlite3_column_int(st, c + 3);
}

/* The row of the current version, or of version vid (from store_versions when it is not the
 * current one): meta, lock, and the data's location (one segment, or the multipart uid). */
static enum ksm_err version_head(struct ksm_db *db, const char *bucket, const char *key,
                                 const char *vid, struct ksm_obj_meta *meta, struct store_seg *one)
{
    bool current = true;
    if (vid) {
        enum ksm_err e = store_version_row(db, bucket, key, vid, &current);
        if (e != KSM_E_OK) {
            snprintf(meta->version_id, sizeof meta->version_id, "%s", vid);
            meta->delete_marker = e == KSM_E_METHOD_NOT_ALLOWED;
            return e;
        }
    }
    sqlite3_stmt *st = ksm_db_prepare(
        db, current ? "SELECT key, size, etag, mtime, content_type, cache_control,"
                      " content_disposition, content_encoding, content_language, expires,"
                      " user_meta, tags, parts, coalesce(version_id, ''), retain_mode, retain_until,"
                      " legal_hold, region, loc, pack_id, pack_off, pack_len, uid, wrapped, size,"
                      " coalesce(sse_c, '') FROM store_objects WHERE bucket=?1 AND key=?2"
                    : "SELECT key, size, etag, mtime, content_type, cache_control,"
                      " content_disposition, content_encoding, content_language, expires,"
                      " user_meta, tags, parts, version_id, retain_mode, retain_until, legal_hold,"
                      " region, loc, pack_id, pack_off, pack_len, uid, wrapped, size,"
                      " coalesce(sse_c, '') FROM store_versions WHERE bucket=?1 AND key=?2"
                      " AND version_id=?3");
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 2, key);
    if (!current)
        sqlite3_bind_text(st, 3, vid, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        store_meta_row_to_meta(st, 0, meta);
        store_meta_row_lock(st, 13, meta);
        if (one)
            store_seg_from_cols(st, 17, one);
        snprintf(meta->sse_c, sizeof meta->sse_c, "%s", ksm_db_col_text(st, 25));
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return KSM_E_OK;
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    if (!vid)   /* S3 says whether the key's latest version is a delete marker */
        meta->delete_marker = store_version_latest_is_marker(db, bucket, key, meta->version_id);
    return vid ? KSM_E_NO_SUCH_VERSION : KSM_E_NOT_FOUND;
}

enum ksm_err ksm_store_head_version(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                    const char *version_id, struct ksm_obj_meta *out)
{
    memset(out, 0, sizeof *out);
    return version_head(db, b->id, key, version_id, out, NULL);
}

enum ksm_err store_meta_obj_segments(struct ksm_db *db, const char *bucket, const char *key,
                                     const char *vid, struct ksm_obj_meta *meta,
                                     struct store_seg **segs, size_t *n)
{
    *segs = NULL;
    *n = 0;
    struct store_seg one;
    memset(meta, 0, sizeof *meta);
    enum ksm_err e = version_head(db, bucket, key, vid, meta, &one);
    if (e != KSM_E_OK)
        return e;
    if (one.loc != STORE_LOC_PARTS) {
        *segs = ksm_xmalloc(sizeof one);
        **segs = one;
        *n = 1;
        return KSM_E_OK;
    }
    struct store_garbage list = {0};
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT region, loc, pack_id, pack_off, pack_len, uid,"
                                          " wrapped, size FROM store_segments WHERE obj_uid=?"
                                          " ORDER BY idx");
    sqlite3_bind_blob(st, 1, one.uid, KSM_KMS_UID_LEN, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_seg s;
        store_seg_from_cols(st, 0, &s);
        store_garbage_add(&list, &s);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_garbage_free(&list);
        ksm_obj_meta_free(meta);
        return KSM_E_INTERNAL;
    }
    *segs = list.segs;
    *n = list.n;
    return KSM_E_OK;
}

bool store_meta_uid_used(struct ksm_db *db, const uint8_t uid[KSM_KMS_UID_LEN])
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT 1 FROM store_objects WHERE uid=?1 UNION ALL SELECT 1 FROM store_segments"
            " WHERE uid=?1 UNION ALL SELECT 1 FROM store_parts WHERE uid=?1"
            " UNION ALL SELECT 1 FROM store_versions WHERE uid=?1 LIMIT 1");
    sqlite3_bind_blob(st, 1, uid, KSM_KMS_UID_LEN, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    /* when in doubt keep the file: a wrongly kept orphan costs space, a wrongly removed one data */
    return rc != SQLITE_DONE;
}

void ksm_obj_meta_free(struct ksm_obj_meta *m)
{
    json_decref(m->user_meta);
    json_decref(m->tags);
    m->user_meta = m->tags = NULL;
}

/* ---- pack extents (store_compact.c, the pack writer) ---- */

/* "loc=1" is spelled out (not bound) in these statements: SQLite uses a partial index only when the
 * query's WHERE implies the index's. */
enum ksm_err store_meta_pack_extents(struct ksm_db *db, const char *region, int64_t id,
                                     struct store_extent **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT uid, pack_off, pack_len FROM store_objects WHERE loc=1 AND region=?1"
            " AND pack_id=?2 UNION ALL SELECT uid, pack_off, pack_len FROM store_segments"
            " WHERE loc=1 AND region=?1 AND pack_id=?2 UNION ALL SELECT uid, pack_off, pack_len"
            " FROM store_parts WHERE loc=1 AND region=?1 AND pack_id=?2 UNION ALL SELECT uid,"
            " pack_off, pack_len FROM store_versions WHERE loc=1 AND region=?1 AND pack_id=?2"
            " ORDER BY 2");
    sqlite3_bind_text(st, 1, region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            *out = ksm_xrealloc(*out, cap * sizeof **out);
        }
        struct store_extent *x = &(*out)[(*n)++];
        copy_blob(st, 0, x->uid, sizeof x->uid);
        x->off = (uint64_t)sqlite3_column_int64(st, 1);
        x->len = (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return KSM_E_OK;
    free(*out);
    *out = NULL;
    *n = 0;
    return KSM_E_INTERNAL;
}

bool store_meta_pack_used(struct ksm_db *db, const char *region, int64_t id)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT 1 FROM store_objects WHERE loc=1 AND region=?1 AND pack_id=?2 UNION ALL"
            " SELECT 1 FROM store_segments WHERE loc=1 AND region=?1 AND pack_id=?2 UNION ALL"
            " SELECT 1 FROM store_parts WHERE loc=1 AND region=?1 AND pack_id=?2 UNION ALL"
            " SELECT 1 FROM store_versions WHERE loc=1 AND region=?1 AND pack_id=?2 LIMIT 1");
    sqlite3_bind_text(st, 1, region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc != SQLITE_DONE;   /* in doubt, in use: removing a used pack loses data */
}

/* The row holding uid moves only if it still points at the old place: a delete or an overwrite
 * committed meanwhile removed or replaced it, and the copy must not bring it back. The row may
 * be a part that a completion turned into a segment meanwhile, or a current version that became a
 * noncurrent one: all four tables are tried. */
enum ksm_err store_meta_extent_move(struct ksm_db *db, const char *region,
                                    const uint8_t uid[KSM_KMS_UID_LEN], int64_t from_id,
                                    uint64_t from_off, int64_t to_id, uint64_t to_off, bool *moved)
{
    static const char *const sql[] = {
        "UPDATE store_objects SET pack_id=?1, pack_off=?2 WHERE uid=?3 AND loc=1 AND region=?4"
        " AND pack_id=?5 AND pack_off=?6",
        "UPDATE store_segments SET pack_id=?1, pack_off=?2 WHERE uid=?3 AND loc=1 AND region=?4"
        " AND pack_id=?5 AND pack_off=?6",
        "UPDATE store_parts SET pack_id=?1, pack_off=?2 WHERE uid=?3 AND loc=1 AND region=?4"
        " AND pack_id=?5 AND pack_off=?6",
        /* a noncurrent version (store_version.c) */
        "UPDATE store_versions SET pack_id=?1, pack_off=?2 WHERE uid=?3 AND loc=1 AND region=?4"
        " AND pack_id=?5 AND pack_off=?6",
    };
    *moved = false;
    for (size_t i = 0; i < KSM_NELEM(sql) && !*moved; i++) {
        sqlite3_stmt *st = ksm_db_prepare(db, sql[i]);
        sqlite3_bind_int64(st, 1, to_id);
        sqlite3_bind_int64(st, 2, (int64_t)to_off);
        sqlite3_bind_blob(st, 3, uid, KSM_KMS_UID_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, region, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, from_id);
        sqlite3_bind_int64(st, 6, (int64_t)from_off);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return KSM_E_INTERNAL;
        *moved = sqlite3_changes(db->h) > 0;
    }
    return KSM_E_OK;
}
