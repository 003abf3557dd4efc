/* kms_keys.c — the life of tenant and bucket keys: create, rotate, disable, enable, destroy,
 * describe. Each change is one transaction (joining the caller's when one is open, so a bucket and
 * its key commit together); the cache is evicted after the commit, never before, so no thread can
 * re-cache the old state (see ksm_kms__cache_gen). */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

/* Opens a transaction unless the caller has one; *own says whether we must end it. */
static enum ksm_err tx_begin(struct ksm_db *db, bool *own)
{
    *own = sqlite3_get_autocommit(db->h) != 0;
    return !*own || ksm_db_begin(db) == SQLITE_OK ? KSM_E_OK : KSM_E_INTERNAL;
}

static enum ksm_err tx_end(struct ksm_db *db, bool own, enum ksm_err e)
{
    if (!own)
        return e;
    if (e == KSM_E_OK && ksm_db_commit(db) == SQLITE_OK)
        return KSM_E_OK;
    ksm_db_rollback(db);
    return e == KSM_E_OK ? KSM_E_INTERNAL : e;
}

/* Newest version and state of an owner's key: KSM_E_NOT_FOUND when it has none. */
static enum ksm_err current(struct ksm_db *db, enum ksm_kms_kind kind, const char *owner,
                            uint32_t *version, char state[12], char tenant[KSM_KMS_ID_MAX + 1])
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT version, state, tenant_id FROM kms_keys WHERE kind=?1 AND owner_id=?2"
            " ORDER BY version DESC LIMIT 1");
    sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = (uint32_t)sqlite3_column_int64(st, 0);
        snprintf(state, 12, "%s", ksm_db_col_text(st, 1));
        if (tenant)
            snprintf(tenant, KSM_KMS_ID_MAX + 1, "%s", ksm_db_col_text(st, 2));
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}

static enum ksm_err insert_row(struct ksm_db *db, const char *id, enum ksm_kms_kind kind,
                               const char *owner, const char *tenant, const char *parent_id,
                               uint32_t version, const uint8_t *blob, size_t n)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO kms_keys(id, kind, owner_id, tenant_id, parent_id, version, wrapped,"
            " created_at) VALUES(?,?,?,?,?,?,?,?)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, tenant, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 5, parent_id);
    sqlite3_bind_int64(st, 6, version);
    sqlite3_bind_blob(st, 7, blob, (int)n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, ksm_now_ms());
    enum ksm_err e = sqlite3_step(st) == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    sqlite3_reset(st);
    return e;
}

/* Makes version `version` of an owner's key: a fresh random key wrapped under the master (tenant)
 * or under the tenant key's current version (bucket), and its row. */
static enum ksm_err make_version(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                 const char *owner, const char *tenant, uint32_t version,
                                 char id[40])
{
    uint8_t key[KSM_KMS_KEY_LEN], blob[KSM_KMS_KEY_LEN + KSM_KMS_BLOB_OVERHEAD];
    char ident[KMS_IDENT_MAX];
    struct kms_cached parent;
    struct kms_wrapper w = {k->master, NULL};
    uint32_t pv = k->master_gen;
    enum ksm_err e;
    memset(&parent, 0, sizeof parent);
    ksm_random_bytes(key, sizeof key);
    ksm_id_new("kk", id);
    if (kind == KSM_KMS_BUCKET) {
        e = ksm_kms__key_get(k, db, KSM_KMS_TENANT, tenant, 0, &parent);
        if (e != KSM_E_OK)
            goto fail;
        w = (struct kms_wrapper){NULL, parent.key};
        pv = parent.version;
        ksm_kms__ident_bucket(ident, tenant, owner, version);
    } else {
        ksm_kms__ident_tenant(ident, owner, version);
    }
    e = KSM_E_INTERNAL;
    if (ksm_kms__wrap(&w, kind == KSM_KMS_TENANT ? KMS_BLOB_TENANT_KEY : KMS_BLOB_BUCKET_KEY, pv,
                      ident, key, sizeof key, blob))
        goto fail;
    e = insert_row(db, id, kind, owner, tenant, kind == KSM_KMS_BUCKET ? parent.key_id : NULL,
                   version, blob, sizeof blob);
fail:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(&parent, sizeof parent);
    return e;
}

/* Creates version 1 if the owner has no key. *created says whether it did. */
static enum ksm_err ensure(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                           const char *owner, const char *tenant, bool *created, char id[40])
{
    uint32_t v;
    char state[12];
    *created = false;
    enum ksm_err e = current(db, kind, owner, &v, state, NULL);
    if (e != KSM_E_NOT_FOUND)
        return e == KSM_E_OK && !strcmp(state, "destroyed") ? KSM_E_KEY_DESTROYED : e;
    e = make_version(k, db, kind, owner, tenant, 1, id);
    *created = e == KSM_E_OK;
    return e;
}

enum ksm_err ksm_kms_tenant_key_ensure(struct ksm_kms *k, struct ksm_db *db, const char *tenant_id)
{
    bool own, created = false;
    char id[40] = "";
    if (!ksm_kms__id_valid(tenant_id))
        return KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = tx_begin(db, &own);
    if (e == KSM_E_OK)
        e = tx_end(db, own, ensure(k, db, KSM_KMS_TENANT, tenant_id, tenant_id, &created, id));
    if (created || e != KSM_E_OK)
        ksm_kms__emit(k, KSM_KMS_OP_CREATE, "tenant", tenant_id, id, created ? 1 : 0, e);
    return e;
}

enum ksm_err ksm_kms_bucket_key_create(struct ksm_kms *k, struct ksm_db *db, const char *tenant_id,
                                       const char *bucket_id)
{
    bool own, tcreated = false, bcreated = false;
    char tid[40] = "", bid[40] = "";
    if (!ksm_kms__id_valid(tenant_id) || !ksm_kms__id_valid(bucket_id))
        return KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = tx_begin(db, &own), r = e;
    if (e != KSM_E_OK)
        goto fail;
    r = ensure(k, db, KSM_KMS_TENANT, tenant_id, tenant_id, &tcreated, tid);
    if (r == KSM_E_OK)
        r = ensure(k, db, KSM_KMS_BUCKET, bucket_id, tenant_id, &bcreated, bid);
    if (r == KSM_E_OK && !bcreated)
        r = KSM_E_ALREADY_EXISTS;
    e = tx_end(db, own, r);
fail:
    if (tcreated && e == KSM_E_OK)
        ksm_kms__emit(k, KSM_KMS_OP_CREATE, "tenant", tenant_id, tid, 1, e);
    ksm_kms__emit(k, KSM_KMS_OP_CREATE, "bucket", bucket_id, bid, bcreated ? 1 : 0, e);
    return e;
}

/* A bucket key version to re-wrap: read first, then changed, so the update never runs under an
 * open SELECT of the same rows. */
struct bucket_row {
    char id[40], owner[KSM_KMS_ID_MAX + 1];
    uint32_t version;
    uint8_t blob[KSM_KMS_KEY_LEN + KSM_KMS_BLOB_OVERHEAD];
};

static size_t bucket_rows(struct ksm_db *db, const char *tenant, struct bucket_row **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT id, owner_id, version, wrapped FROM kms_keys"
                                          " WHERE kind='bucket' AND tenant_id=?1 AND"
                                          " wrapped IS NOT NULL");
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 3) != (int)sizeof(*out)->blob)
            continue; /* not a key blob: its unwrap reports DATA_CORRUPT, rotation leaves it */
        if (n == cap)
            *out = ksm_xrealloc(*out, (cap = cap ? 2 * cap : 16) * sizeof **out);
        struct bucket_row *b = &(*out)[n++];
        snprintf(b->id, sizeof b->id, "%s", ksm_db_col_text(st, 0));
        snprintf(b->owner, sizeof b->owner, "%s", ksm_db_col_text(st, 1));
        b->version = (uint32_t)sqlite3_column_int64(st, 2);
        memcpy(b->blob, sqlite3_column_blob(st, 3), sizeof b->blob);
    }
    sqlite3_reset(st);
    return n;
}

/* Unwraps one bucket key version under the tenant version its blob names and wraps it again
 * under np (the tenant's new version). */
static enum ksm_err rewrap_bucket(struct ksm_kms *k, struct ksm_db *db, const char *tenant,
                                  const struct kms_cached *np, struct bucket_row *b)
{
    char ident[KMS_IDENT_MAX];
    uint8_t key[KSM_KMS_KEY_LEN];
    struct kms_cached op;
    uint32_t pv;
    enum ksm_err e = KSM_E_DATA_CORRUPT;
    memset(&op, 0, sizeof op);
    if (ksm_kms__blob_parent(b->blob, sizeof b->blob, KMS_BLOB_BUCKET_KEY, &pv))
        goto fail;
    if ((e = ksm_kms__key_get(k, db, KSM_KMS_TENANT, tenant, pv, &op)) != KSM_E_OK)
        goto fail;
    ksm_kms__ident_bucket(ident, tenant, b->owner, b->version);
    struct kms_wrapper ow = {NULL, op.key}, nw = {NULL, np->key};
    e = KSM_E_DATA_CORRUPT;
    if (ksm_kms__unwrap(&ow, KMS_BLOB_BUCKET_KEY, ident, b->blob, sizeof b->blob, key))
        goto fail;
    e = KSM_E_INTERNAL;
    if (ksm_kms__wrap(&nw, KMS_BLOB_BUCKET_KEY, np->version, ident, key, sizeof key, b->blob))
        goto fail;
    sqlite3_stmt *st =
        ksm_db_prepare(db, "UPDATE kms_keys SET wrapped=?2, parent_id=?3 WHERE id=?1");
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, b->blob, sizeof b->blob, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, np->key_id, -1, SQLITE_STATIC);
    e = sqlite3_step(st) == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    sqlite3_reset(st);
fail:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(&op, sizeof op);
    return e;
}

/* After a tenant key rotation: every live bucket key version of the tenant moves under the new
 * tenant version, so older tenant versions wrap nothing any more (they stay, never lost). Runs
 * inside the rotation's transaction: all or nothing. */
static enum ksm_err rewrap_buckets(struct ksm_kms *k, struct ksm_db *db, const char *tenant,
                                   uint32_t version)
{
    struct bucket_row *rows;
    struct kms_cached np;
    size_t n = bucket_rows(db, tenant, &rows);
    /* by its number: the cache's "current" entry still holds the previous version */
    enum ksm_err e = ksm_kms__key_get(k, db, KSM_KMS_TENANT, tenant, version, &np);
    for (size_t i = 0; i < n && e == KSM_E_OK; i++)
        e = rewrap_bucket(k, db, tenant, &np, &rows[i]);
    OPENSSL_cleanse(&np, sizeof np);
    OPENSSL_cleanse(rows, n * sizeof *rows);
    free(rows);
    return e;
}

enum ksm_err ksm_kms_key_rotate(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                const char *owner_id, uint32_t *new_version)
{
    bool own;
    uint32_t v = 0;
    char state[12], tenant[KSM_KMS_ID_MAX + 1], id[40] = "";
    if (!ksm_kms__id_valid(owner_id))
        return KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = tx_begin(db, &own), r = e;
    if (e != KSM_E_OK)
        goto fail;
    r = current(db, kind, owner_id, &v, state, tenant);
    if (r == KSM_E_OK)
        r = !strcmp(state, "active")     ? KSM_E_OK
            : !strcmp(state, "disabled") ? KSM_E_KEY_DISABLED
                                         : KSM_E_KEY_DESTROYED;
    if (r == KSM_E_OK)
        r = make_version(k, db, kind, owner_id, tenant, ++v, id);
    if (r == KSM_E_OK && kind == KSM_KMS_TENANT)
        r = rewrap_buckets(k, db, owner_id, v);
    if (r == KSM_E_OK) {
        sqlite3_stmt *st =
            ksm_db_prepare(db, "UPDATE kms_keys SET rotated_at=?3 WHERE kind=?1 AND owner_id=?2 AND"
                               " rotated_at IS NULL AND version<?4");
        sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, owner_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ksm_now_ms());
        sqlite3_bind_int64(st, 4, v);
        r = sqlite3_step(st) == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
        sqlite3_reset(st);
    }
    e = tx_end(db, own, r);
    if (e == KSM_E_OK) {
        ksm_kms__cache_evict_owner(k->cache, kind, owner_id); /* "current" moved */
        if (new_version)
            *new_version = v;
    }
fail:
    ksm_kms__emit(k, KSM_KMS_OP_ROTATE, ksm_kms__kind_name(kind), owner_id, id,
                  e == KSM_E_OK ? v : 0, e);
    return e;
}

/* Overwrites the wrapped material in place with zeros of the same length (so the record keeps its
 * size and SQLite rewrites the same bytes), then removes it; secure_delete (set by ksm_db_open)
 * zeroes whatever space the record frees. */
static enum ksm_err erase_rows(struct ksm_db *db, enum ksm_kms_kind kind, const char *owner)
{
    static const char *const sql[] = {
        "UPDATE kms_keys SET wrapped=zeroblob(length(wrapped)) WHERE wrapped IS NOT NULL AND"
        " ((kind=?1 AND owner_id=?2) OR (?1='tenant' AND tenant_id=?2))",
        "UPDATE kms_keys SET wrapped=NULL, state='destroyed', state_changed_at=?3 WHERE"
        " state<>'destroyed' AND ((kind=?1 AND owner_id=?2) OR (?1='tenant' AND tenant_id=?2))",
    };
    for (size_t i = 0; i < KSM_NELEM(sql); i++) {
        sqlite3_stmt *st = ksm_db_prepare(db, sql[i]);
        sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
        if (i == 1)
            sqlite3_bind_int64(st, 3, ksm_now_ms());
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return KSM_E_INTERNAL;
    }
    return KSM_E_OK;
}

static enum ksm_err set_state(struct ksm_db *db, enum ksm_kms_kind kind, const char *owner,
                              const char *to)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "UPDATE kms_keys SET state=?3, state_changed_at=?4 WHERE kind=?1 AND owner_id=?2");
    sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    enum ksm_err e = sqlite3_step(st) == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    sqlite3_reset(st);
    return e;
}

/* The WAL still holds the frames with the old pages until a checkpoint copies them back and the
 * file is truncated; only then are the wrapped bytes gone from every file of the database. A busy
 * reader can hold the checkpoint back: then the WAL is overwritten at the next checkpoint. */
static void checkpoint(struct ksm_db *db)
{
    int nlog = 0, nckpt = 0;
    int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
    if (rc != SQLITE_OK)
        ksm_warn("kms: checkpoint after key destruction incomplete (%s); the WAL is overwritten "
                 "at the next checkpoint",
                 sqlite3_errstr(rc));
}

static enum ksm_err change(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                           const char *owner, enum ksm_kms_op op)
{
    bool own;
    uint32_t v = 0;
    char state[12];
    if (!ksm_kms__id_valid(owner))
        return KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = tx_begin(db, &own), r = e;
    if (e != KSM_E_OK)
        goto fail;
    r = current(db, kind, owner, &v, state, NULL);
    if (r == KSM_E_OK && !strcmp(state, "destroyed"))
        r = KSM_E_KEY_DESTROYED; /* no way back, and destroying twice says so */
    if (r == KSM_E_OK && op == KSM_KMS_OP_DESTROY)
        r = erase_rows(db, kind, owner);
    else if (r == KSM_E_OK)
        r = set_state(db, kind, owner, op == KSM_KMS_OP_DISABLE ? "disabled" : "active");
    e = tx_end(db, own, r);
    if (e == KSM_E_OK) {
        if (kind == KSM_KMS_TENANT)
            ksm_kms__cache_evict_tenant(k->cache, owner);
        ksm_kms__cache_evict_owner(k->cache, kind, owner);
        if (op == KSM_KMS_OP_DESTROY && own)
            checkpoint(db);
    }
fail:
    ksm_kms__emit(k, op, ksm_kms__kind_name(kind), owner, "", v, e);
    return e;
}

enum ksm_err ksm_kms_key_disable(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                 const char *owner_id)
{
    return change(k, db, kind, owner_id, KSM_KMS_OP_DISABLE);
}

enum ksm_err ksm_kms_key_enable(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                const char *owner_id)
{
    return change(k, db, kind, owner_id, KSM_KMS_OP_ENABLE);
}

enum ksm_err ksm_kms_key_destroy(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                 const char *owner_id)
{
    return change(k, db, kind, owner_id, KSM_KMS_OP_DESTROY);
}

enum ksm_err ksm_kms_key_describe(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                  const char *owner_id, struct ksm_kms_key_info *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, tenant_id, version, state, created_at,"
            " (SELECT min(created_at) FROM kms_keys WHERE kind=?1 AND owner_id=?2),"
            " ifnull(state_changed_at, 0)"
            " FROM kms_keys WHERE kind=?1 AND owner_id=?2 ORDER BY version DESC LIMIT 1");
    sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner_id, -1, SQLITE_STATIC);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out->kind, sizeof out->kind, "%s", ksm_kms__kind_name(kind));
        snprintf(out->owner_id, sizeof out->owner_id, "%s", owner_id);
        snprintf(out->id, sizeof out->id, "%s", ksm_db_col_text(st, 0));
        snprintf(out->tenant_id, sizeof out->tenant_id, "%s", ksm_db_col_text(st, 1));
        out->version = (uint32_t)sqlite3_column_int64(st, 2);
        snprintf(out->state, sizeof out->state, "%s", ksm_db_col_text(st, 3));
        out->created_at = sqlite3_column_int64(st, 5);
        out->rotated_at = out->version > 1 ? sqlite3_column_int64(st, 4) : 0;
        out->state_changed_at = sqlite3_column_int64(st, 6);
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_kms_key_list(struct ksm_db *db, const char *tenant_id,
                              struct ksm_kms_key_info **out, size_t *n)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT k.kind, k.owner_id, k.id, k.version, k.state, k.created_at,"
            " (SELECT min(m.created_at) FROM kms_keys m WHERE m.kind=k.kind AND"
            "  m.owner_id=k.owner_id), ifnull(k.state_changed_at, 0)"
            " FROM kms_keys k WHERE k.tenant_id=?1 AND k.version=(SELECT max(m.version)"
            "  FROM kms_keys m WHERE m.kind=k.kind AND m.owner_id=k.owner_id)"
            " ORDER BY k.kind='bucket', k.owner_id");
    sqlite3_bind_text(st, 1, tenant_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap)
            *out = ksm_xrealloc(*out, (cap = cap ? 2 * cap : 16) * sizeof **out);
        struct ksm_kms_key_info *ki = &(*out)[(*n)++];
        memset(ki, 0, sizeof *ki);
        snprintf(ki->kind, sizeof ki->kind, "%s", ksm_db_col_text(st, 0));
        snprintf(ki->owner_id, sizeof ki->owner_id, "%s", ksm_db_col_text(st, 1));
        snprintf(ki->id, sizeof ki->id, "%s", ksm_db_col_text(st, 2));
        snprintf(ki->tenant_id, sizeof ki->tenant_id, "%s", tenant_id);
        ki->version = (uint32_t)sqlite3_column_int64(st, 3);
        snprintf(ki->state, sizeof ki->state, "%s", ksm_db_col_text(st, 4));
        ki->rotated_at = ki->version > 1 ? sqlite3_column_int64(st, 5) : 0;
        ki->created_at = sqlite3_column_int64(st, 6);
        ki->state_changed_at = sqlite3_column_int64(st, 7);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return KSM_E_OK;
    free(*out);
    *out = NULL;
    *n = 0;
    return KSM_E_INTERNAL;
}

enum ksm_err ksm_kms_key_versions(struct ksm_db *db, enum ksm_kms_kind kind, const char *owner_id,
                                  ksm_kms_version_fn *fn, void *arg)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT id, version, state FROM kms_keys WHERE kind=?1"
                                          " AND owner_id=?2 ORDER BY version");
    sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner_id, -1, SQLITE_STATIC);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(arg, ksm_db_col_text(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
           ksm_db_col_text(st, 2));
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return n ? KSM_E_OK : KSM_E_NOT_FOUND;
}
