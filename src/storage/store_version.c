/* store_version.c — versioning and object lock (WORM) in the engine.
 *
 * The current version of a key stays in store_objects, so reads, lists and the pack writer keep
 * their one-row lookups; older versions and delete markers live in store_versions, ordered by a
 * sequence number (newest first). A bucket is unversioned (version_id NULL: S3's "null" version),
 * Enabled (each write gets a fresh id and the previous current row moves to store_versions, its
 * data kept) or Suspended (writes are the "null" version and replace only that one). Which of the
 * three a write follows is fixed when its metadata is finalised (store_version_assign writes the id
 * into the meta), so the pack writer, committing rows later on its own connection, needs no lookup.
 *
 * Object lock protects versions, never keys: a new write or a delete marker is always allowed (it
 * destroys nothing), while removing a version for good (DELETE ?versionId, or the null version a
 * Suspended write replaces) is refused while a legal hold is on, while a COMPLIANCE retention runs
 * (for everyone, the platform administrator included), and while a GOVERNANCE retention runs
 * unless the caller holds the bypass permission and asked for it. A bucket with object lock cannot
 * suspend versioning, so in practice only DELETE ?versionId meets a lock. */
#include "storage/store_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

_Static_assert(KSM_STORE_SSEC_FP_LEN == KSM_KMS_SSEC_FP_LEN, "SSE-C fingerprint sizes agree");

static const struct ksm_migration version_migrations[] = {
    {"store_versions", 1,
     "ALTER TABLE store_objects ADD COLUMN version_id TEXT;"
     "ALTER TABLE store_objects ADD COLUMN seq INTEGER;"
     "ALTER TABLE store_objects ADD COLUMN retain_mode TEXT;"
     "ALTER TABLE store_objects ADD COLUMN retain_until INTEGER;"
     "ALTER TABLE store_objects ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE store_objects ADD COLUMN sse_c TEXT;"
     "CREATE TABLE store_versions("
     " bucket TEXT NOT NULL, key BLOB NOT NULL, version_id TEXT NOT NULL, seq INTEGER NOT NULL,"
     " delete_marker INTEGER NOT NULL DEFAULT 0,"
     " size INTEGER NOT NULL DEFAULT 0, etag TEXT NOT NULL DEFAULT '', mtime INTEGER NOT NULL,"
     " content_type TEXT, cache_control TEXT, content_disposition TEXT, content_encoding TEXT,"
     " content_language TEXT, expires TEXT, user_meta TEXT, tags TEXT,"
     " parts INTEGER NOT NULL DEFAULT 0, region TEXT NOT NULL DEFAULT '', loc INTEGER NOT NULL DEFAULT 0,"
     " pack_id INTEGER, pack_off INTEGER, pack_len INTEGER, uid BLOB, wrapped BLOB,"
     " retain_mode TEXT, retain_until INTEGER, legal_hold INTEGER NOT NULL DEFAULT 0, sse_c TEXT,"
     " PRIMARY KEY(bucket, key, version_id)) WITHOUT ROWID;"
     "CREATE INDEX store_versions_order ON store_versions(bucket, key, seq);"
     "CREATE INDEX store_versions_uid ON store_versions(uid);"
     "CREATE INDEX store_versions_pack ON store_versions(region, pack_id, pack_off) WHERE loc=1;"},
};

void store_version_register_schema(void)
{
    ksm_db_register(version_migrations, (int)KSM_NELEM(version_migrations));
}

/* The columns a version carries whichever table holds it. */
#define VCOLS                                                                                      \
    "bucket, key, size, etag, mtime, content_type, cache_control, content_disposition,"            \
    " content_encoding, content_language, expires, user_meta, tags, parts, region, loc, pack_id,"  \
    " pack_off, pack_len, uid, wrapped, retain_mode, retain_until, legal_hold, sse_c"

/* ?1 bucket, ?2 key and, when vid is not NULL, ?3 version id. */
static void bind_bkv(sqlite3_stmt *st, const char *bucket, const char *key, const char *vid)
{
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 2, key);
    if (vid)
        sqlite3_bind_text(st, 3, vid, -1, SQLITE_TRANSIENT);
}

static enum ksm_err version_row_delete(struct ksm_db *db, const char *bucket, const char *key,
                                       const char *vid)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "DELETE FROM store_versions WHERE bucket=?1 AND key=?2 AND version_id=?3");
    bind_bkv(st, bucket, key, vid);
    return store_run(st);
}

/* ---- modes, ids, order ---- */

enum store_vmode store_versioning(struct ksm_db *db, const char *bucket_id)
{
    json_t *doc = NULL;
    enum store_vmode m = STORE_UNVERSIONED;
    if (ksm_store_bucket_config_get(db, bucket_id, "versioning", &doc) == KSM_E_OK) {
        const char *st = json_string_value(json_object_get(doc, "status"));
        m = st && !strcmp(st, "Enabled") ? STORE_VENABLED : STORE_VSUSPENDED;
    }
    json_decref(doc);
    return m;
}

void ksm_store_ssec_fingerprint(const uint8_t customer_key[32], struct ksm_obj_meta *m)
{
    ksm_kms_ssec_fingerprint(customer_key, m->sse_c);
}

bool ksm_store_version_id_ok(const char *id)
{
    if (!strcmp(id, "null"))
        return true;
    size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._");
    return n == 32 && !id[n];
}

bool ksm_store_bucket_keeps_versions(struct ksm_db *db, const struct ksm_bucket *b)
{
    return store_versioning(db, b->id) == STORE_VENABLED;
}

static void version_id_new(char out[KSM_STORE_VERSION_MAX])
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    uint8_t r[32];
    ksm_random_bytes(r, sizeof r);
    for (size_t i = 0; i < sizeof r; i++)
        out[i] = abc[r[i] & 63];
    out[sizeof r] = '\0';
}

/* Newest last: microseconds, and never twice the same in this process. */
int64_t store_version_seq(void)
{
    static _Atomic int64_t last;
    int64_t now = ksm_now_ms() * 1000, prev = atomic_load(&last), next;
    do
        next = now > prev ? now : prev + 1;
    while (!atomic_compare_exchange_weak(&last, &prev, next));
    return next;
}

static void default_retention(struct ksm_db *db, const char *bucket_id, struct ksm_obj_meta *m)
{
    json_t *doc = NULL;
    if (m->lock_mode[0] || ksm_store_bucket_config_get(db, bucket_id, "object_lock", &doc) != KSM_E_OK)
        return;
    const char *mode = json_string_value(json_object_get(doc, "mode"));
    json_int_t days = json_integer_value(json_object_get(doc, "days"));
    if (mode && days > 0) {
        snprintf(m->lock_mode, sizeof m->lock_mode, "%s", mode);
        m->lock_until_ms = m->mtime_ms + (int64_t)days * 86400000;
    }
    json_decref(doc);
}

void store_version_assign(struct ksm_db *db, const char *bucket_id, struct ksm_obj_meta *m)
{
    switch (store_versioning(db, bucket_id)) {
    case STORE_VENABLED:
        version_id_new(m->version_id);
        default_retention(db, bucket_id, m);
        break;
    case STORE_VSUSPENDED:
        snprintf(m->version_id, sizeof m->version_id, "null");
        break;
    default:
        m->version_id[0] = '\0';
    }
}

/* ---- locks ---- */

static enum ksm_err lock_check(const char *mode, int64_t until, bool hold, bool bypass)
{
    if (hold)
        return KSM_E_OBJECT_LOCKED;
    if (!mode || !*mode || until <= ksm_now_ms())
        return KSM_E_OK;
    if (!strcmp(mode, "COMPLIANCE") || !bypass)
        return KSM_E_OBJECT_LOCKED;
    return KSM_E_OK;
}

/* ---- moving rows ---- */

/* The current row of (bucket, key) becomes a noncurrent version; its data stays. */
static enum ksm_err archive_current(struct ksm_db *db, const char *bucket, const char *key)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO store_versions(" VCOLS ", version_id, seq, delete_marker) SELECT " VCOLS
            ", coalesce(version_id, 'null'), coalesce(seq, mtime * 1000), 0 FROM store_objects"
            " WHERE bucket=?1 AND key=?2");
    bind_bkv(st, bucket, key, NULL);
    if (store_run(st) != KSM_E_OK)
        return KSM_E_INTERNAL;
    st = ksm_db_prepare(db, "DELETE FROM store_objects WHERE bucket=?1 AND key=?2");
    bind_bkv(st, bucket, key, NULL);
    return store_run(st);
}

/* The newest noncurrent version becomes current again, unless it is a delete marker. */
static enum ksm_err promote_newest(struct ksm_db *db, const char *bucket, const char *key)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT version_id, delete_marker FROM store_versions"
                                          " WHERE bucket=?1 AND key=?2 ORDER BY seq DESC LIMIT 1");
    bind_bkv(st, bucket, key, NULL);
    char vid[KSM_STORE_VERSION_MAX] = "";
    int rc = sqlite3_step(st);
    bool marker = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
    if (rc == SQLITE_ROW)
        snprintf(vid, sizeof vid, "%s", ksm_db_col_text(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    if (marker)
        return KSM_E_OK;
    st = ksm_db_prepare(db, "INSERT INTO store_objects(" VCOLS ", version_id, seq) SELECT " VCOLS
                            ", version_id, seq FROM store_versions"
                            " WHERE bucket=?1 AND key=?2 AND version_id=?3");
    bind_bkv(st, bucket, key, vid);
    if (store_run(st) != KSM_E_OK)
        return KSM_E_INTERNAL;
    return version_row_delete(db, bucket, key, vid);
}

/* Removes version vid of store_versions for good (lock permitting); its data goes to g. */
static enum ksm_err drop_version(struct ksm_db *db, const char *bucket, const char *key,
                                 const char *vid, bool bypass, struct store_garbage *g,
                                 struct ksm_delete_result *res)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT region, loc, pack_id, pack_off, pack_len, uid, wrapped, size, delete_marker,"
            " retain_mode, retain_until, legal_hold FROM store_versions"
            " WHERE bucket=?1 AND key=?2 AND version_id=?3");
    bind_bkv(st, bucket, key, vid);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
    }
    struct store_seg seg;
    store_seg_from_cols(st, 0, &seg);
    bool marker = sqlite3_column_int(st, 8);
    enum ksm_err e = lock_check(ksm_db_col_text(st, 9), sqlite3_column_int64(st, 10),
                                sqlite3_column_int(st, 11), bypass);
    sqlite3_reset(st);
    if (e == KSM_E_OK)
        e = version_row_delete(db, bucket, key, vid);
    if (e != KSM_E_OK)
        return e;
    if (res) {
        res->found = true;
        res->delete_marker = marker;
        res->freed_bytes = marker ? 0 : seg.size;
    }
    if (marker)
        return KSM_E_OK;
    if (seg.loc == STORE_LOC_PARTS)
        return store_meta_segments_collect(db, seg.uid, g);
    store_garbage_add(g, &seg);
    return KSM_E_OK;
}

static enum ksm_err marker_add(struct ksm_db *db, const char *bucket, const char *key,
                               const char *vid)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO store_versions(bucket, key, version_id, seq, delete_marker, mtime)"
            " VALUES(?1, ?2, ?3, ?4, 1, ?5)");
    bind_bkv(st, bucket, key, vid);
    sqlite3_bind_int64(st, 4, store_version_seq());
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    return store_run(st);
}

/* The current row's version id ("null" for NULL) and lock; false when there is none. */
static bool current_of(struct ksm_db *db, const char *bucket, const char *key, char *vid,
                       char *mode, int64_t *until, bool *hold)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT coalesce(version_id, 'null'), coalesce(retain_mode, ''),"
            " coalesce(retain_until, 0), legal_hold FROM store_objects WHERE bucket=?1 AND key=?2");
    bind_bkv(st, bucket, key, NULL);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        snprintf(vid, KSM_STORE_VERSION_MAX, "%s", ksm_db_col_text(st, 0));
        snprintf(mode, 16, "%s", ksm_db_col_text(st, 1));
        *until = sqlite3_column_int64(st, 2);
        *hold = sqlite3_column_int(st, 3);
    }
    sqlite3_reset(st);
    return found;
}

/* ---- what store_meta_obj_replace and the deletes call ---- */

enum ksm_err store_version_before_write(struct ksm_db *db, const char *bucket, const char *key,
                                        const char *new_vid, struct store_garbage *g)
{
    char vid[KSM_STORE_VERSION_MAX], mode[16];
    int64_t until;
    bool hold, found = current_of(db, bucket, key, vid, mode, &until, &hold);
    bool null_write = !strcmp(new_vid, "null");
    enum ksm_err e = KSM_E_OK;
    if (found && (!null_write || strcmp(vid, "null")))
        e = archive_current(db, bucket, key);
    else if (found) {   /* Suspended, replacing the current null version */
        bool f;
        if ((e = lock_check(mode, until, hold, false)) == KSM_E_OK)
            e = store_meta_obj_remove(db, bucket, key, g, &f, NULL);
    }
    if (e == KSM_E_OK && null_write) {
        e = drop_version(db, bucket, key, "null", false, g, NULL);
        e = e == KSM_E_NOT_FOUND ? KSM_E_OK : e;
    }
    return e;
}

/* DELETE without a version id in a versioned bucket: a delete marker on top. */
static enum ksm_err delete_marker_tx(struct ksm_db *db, const char *bucket, const char *key,
                                     enum store_vmode mode, struct store_garbage *g,
                                     struct ksm_delete_result *res)
{
    char vid[KSM_STORE_VERSION_MAX];
    if (mode == STORE_VENABLED)
        version_id_new(vid);
    else
        snprintf(vid, sizeof vid, "null");
    enum ksm_err e = store_version_before_write(db, bucket, key, vid, g);
    if (e == KSM_E_OK)
        e = marker_add(db, bucket, key, vid);
    res->delete_marker = true;
    snprintf(res->version_id, sizeof res->version_id, "%s", vid);
    return e;
}

/* DELETE ?versionId: that version, for good. */
static enum ksm_err delete_version_tx(struct ksm_db *db, const char *bucket, const char *key,
                                      const char *vid, bool bypass, struct store_garbage *g,
                                      struct ksm_delete_result *res)
{
    char cur[KSM_STORE_VERSION_MAX], mode[16];
    int64_t until;
    bool hold;
    snprintf(res->version_id, sizeof res->version_id, "%s", vid);
    if (current_of(db, bucket, key, cur, mode, &until, &hold) && !strcmp(cur, vid)) {
        enum ksm_err e = lock_check(mode, until, hold, bypass);
        bool found;
        if (e == KSM_E_OK)
            e = store_meta_obj_remove(db, bucket, key, g, &found, &res->freed_bytes);
        res->found = true;
        return e == KSM_E_OK ? promote_newest(db, bucket, key) : e;
    }
    bool had_current = current_of(db, bucket, key, cur, mode, &until, &hold);
    enum ksm_err e = drop_version(db, bucket, key, vid, bypass, g, res);
    if (e == KSM_E_NOT_FOUND)
        return KSM_E_OK;   /* as S3: deleting what is not there is fine */
    /* the latest was a delete marker: what is newest now may be a version to show again */
    return e == KSM_E_OK && !had_current ? promote_newest(db, bucket, key) : e;
}

enum ksm_err ksm_store_delete_version(struct ksm_store *s, struct ksm_db *db,
                                      const struct ksm_bucket *b, const char *key,
                                      const char *version_id, bool bypass_governance,
                                      struct ksm_delete_result *res)
{
    struct store_garbage g = {0};
    memset(res, 0, sizeof *res);
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum store_vmode mode = store_versioning(db, b->id);
    enum ksm_err e;
    if (version_id)
        e = delete_version_tx(db, b->id, key, version_id, bypass_governance, &g, res);
    else if (mode != STORE_UNVERSIONED)
        e = delete_marker_tx(db, b->id, key, mode, &g, res);
    else
        e = store_meta_obj_remove(db, b->id, key, &g, &res->found, &res->freed_bytes);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        store_garbage_free(&g);
        return e;
    }
    if ((e = store_commit(db)) != KSM_E_OK) {
        store_garbage_free(&g);
        return e;
    }
    store_reap(s, &g);
    return KSM_E_OK;
}

/* ---- reading a version ---- */

/* The row of version vid: the current one when it carries that id, else a noncurrent one. For a
 * delete marker: METHOD_NOT_ALLOWED with meta->delete_marker set. */
enum ksm_err store_version_row(struct ksm_db *db, const char *bucket, const char *key,
                               const char *vid, bool *current)
{
    char cur[KSM_STORE_VERSION_MAX], mode[16];
    int64_t until;
    bool hold;
    *current = current_of(db, bucket, key, cur, mode, &until, &hold) && !strcmp(cur, vid);
    if (*current)
        return KSM_E_OK;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT delete_marker FROM store_versions"
                                          " WHERE bucket=?1 AND key=?2 AND version_id=?3");
    bind_bkv(st, bucket, key, vid);
    int rc = sqlite3_step(st);
    bool marker = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? KSM_E_NO_SUCH_VERSION : KSM_E_INTERNAL;
    return marker ? KSM_E_METHOD_NOT_ALLOWED : KSM_E_OK;
}

bool store_version_latest_is_marker(struct ksm_db *db, const char *bucket, const char *key,
                                    char vid[KSM_STORE_VERSION_MAX])
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT version_id, delete_marker FROM store_versions"
                                          " WHERE bucket=?1 AND key=?2 ORDER BY seq DESC LIMIT 1");
    bind_bkv(st, bucket, key, NULL);
    bool marker = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 1);
    if (marker)
        snprintf(vid, KSM_STORE_VERSION_MAX, "%s", ksm_db_col_text(st, 0));
    sqlite3_reset(st);
    return marker;
}

/* ---- retention and legal hold of a version ---- */

static enum ksm_err lock_update(struct ksm_db *db, const char *bucket, const char *key,
                                const char *vid, const char *sql_cur, const char *sql_ver,
                                void (*bind)(sqlite3_stmt *, const void *), const void *arg)
{
    bool current = !vid;
    if (vid) {
        enum ksm_err e = store_version_row(db, bucket, key, vid, &current);
        if (e != KSM_E_OK)
            return e;
    }
    sqlite3_stmt *st = ksm_db_prepare(db, current ? sql_cur : sql_ver);
    bind(st, arg);
    sqlite3_bind_text(st, 3, bucket, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 4, key);
    if (!current)
        sqlite3_bind_text(st, 5, vid, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return sqlite3_changes(db->h) ? KSM_E_OK : KSM_E_NOT_FOUND;
}

struct retention_arg {
    const char *mode;
    int64_t until;
};

static void bind_retention(sqlite3_stmt *st, const void *arg)
{
    const struct retention_arg *a = arg;
    if (a->mode)
        sqlite3_bind_text(st, 1, a->mode, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 1);
    if (a->mode)
        sqlite3_bind_int64(st, 2, a->until);
    else
        sqlite3_bind_null(st, 2);
}

static void bind_hold(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int(st, 1, *(const bool *)arg);
    sqlite3_bind_null(st, 2);
}

/* A retention may be set, lengthened, or turned from GOVERNANCE into COMPLIANCE by anyone allowed
 * to write; shortening or removing it needs a GOVERNANCE lock and the bypass; a COMPLIANCE one
 * never shrinks. */
static enum ksm_err retention_allowed(struct ksm_db *db, const struct ksm_bucket *b,
                                      const char *key, const char *vid, const char *mode,
                                      int64_t until, bool bypass)
{
    struct ksm_obj_meta m;
    enum ksm_err e = ksm_store_head_version(db, b, key, vid, &m);
    if (e != KSM_E_OK)
        return e;
    bool active = m.lock_mode[0] && m.lock_until_ms > ksm_now_ms();
    bool shrinks = active && (!mode || until < m.lock_until_ms ||
                              (!strcmp(m.lock_mode, "COMPLIANCE") && strcmp(mode, "COMPLIANCE")));
    if (shrinks && (!strcmp(m.lock_mode, "COMPLIANCE") || !bypass))
        e = KSM_E_OBJECT_LOCKED;
    ksm_obj_meta_free(&m);
    return e;
}

enum ksm_err ksm_store_retention_put(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                     const char *version_id, const char *mode, int64_t until_ms,
                                     bool bypass_governance)
{
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum ksm_err e = retention_allowed(db, b, key, version_id, mode, until_ms, bypass_governance);
    struct retention_arg a = {mode, until_ms};
    if (e == KSM_E_OK)
        e = lock_update(db, b->id, key, version_id,
                        "UPDATE store_objects SET retain_mode=?1, retain_until=?2"
                        " WHERE bucket=?3 AND key=?4",
                        "UPDATE store_versions SET retain_mode=?1, retain_until=?2"
                        " WHERE bucket=?3 AND key=?4 AND version_id=?5 AND delete_marker=0",
                        bind_retention, &a);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        return e;
    }
    return store_commit(db);
}

enum ksm_err ksm_store_legal_hold_put(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                      const char *version_id, bool on)
{
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum ksm_err e = lock_update(db, b->id, key, version_id,
                                 "UPDATE store_objects SET legal_hold=?1 WHERE bucket=?3 AND key=?4"
                                 " AND ?2 IS NULL",
                                 "UPDATE store_versions SET legal_hold=?1 WHERE bucket=?3 AND key=?4"
                                 " AND version_id=?5 AND delete_marker=0 AND ?2 IS NULL",
                                 bind_hold, &on);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        return e;
    }
    return store_commit(db);
}
