/* kms_open.c — the KMS schema, and start-up: the master key is opened and proven to be the one
 * this data directory was encrypted with, before anything else runs.
 *
 * The proof is a key check value: a fixed sentinel wrapped under the master key (kind
 * KMS_BLOB_CHECK) and stored in kms_meta when the first master key is set up. A different key fails
 * the GCM tag; a missing key file with a check value (or any key) present is refused rather than
 * replaced, since a new key would silently make every object unreadable. */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

static const struct ksm_migration kms_migrations[] = {
    {"kms", 1,
     "CREATE TABLE kms_meta("
     " name TEXT PRIMARY KEY,"
     " value BLOB NOT NULL,"
     " created_at INTEGER NOT NULL);"

     /* one row per key version; wrapped is NULL once destroyed (the row stays as a tombstone so
      * that an unwrap can say KEY_DESTROYED for ever instead of NOT_FOUND) */
     "CREATE TABLE kms_keys("
     " id TEXT PRIMARY KEY,"
     " kind TEXT NOT NULL CHECK(kind IN ('tenant','bucket')),"
     " owner_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL,"
     " parent_id TEXT REFERENCES kms_keys(id),"
     " version INTEGER NOT NULL CHECK(version >= 1),"
     " wrapped BLOB,"
     " state TEXT NOT NULL DEFAULT 'active' CHECK(state IN ('active','disabled','destroyed')),"
     " created_at INTEGER NOT NULL,"
     " rotated_at INTEGER,"
     " state_changed_at INTEGER,"
     " UNIQUE(kind, owner_id, version),"
     " CHECK((state = 'destroyed') = (wrapped IS NULL)));"
     "CREATE INDEX kms_keys_tenant ON kms_keys(tenant_id);"},
};

void ksm_kms_register_schema(void)
{
    ksm_db_register(kms_migrations, (int)KSM_NELEM(kms_migrations));
}

static const uint8_t sentinel[KSM_KMS_KEY_LEN] = "kasumi master key check value 1";

/* 1 when the database already depends on a master key, 0 when not, -1 on a database error. */
static int has_keys(struct ksm_db *db)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT EXISTS(SELECT 1 FROM kms_meta) OR EXISTS(SELECT 1 FROM kms_keys)");
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_reset(st);
    return rc;
}

int ksm_kms__check_write(struct ksm_db *db, struct ksm_kms_master *m, uint32_t gen, char *err,
                         size_t errlen)
{
    uint8_t blob[KSM_KMS_KEY_LEN + KSM_KMS_BLOB_OVERHEAD];
    struct kms_wrapper w = {m, NULL};
    if (ksm_kms__wrap(&w, KMS_BLOB_CHECK, gen, KMS_CHECK_IDENT, sentinel, sizeof sentinel, blob)) {
        snprintf(err, errlen, "kms: the master key provider could not wrap");
        return -1;
    }
    sqlite3_stmt *st =
        ksm_db_prepare(db, "INSERT OR REPLACE INTO kms_meta VALUES('master_check',?,?)");
    sqlite3_bind_blob(st, 1, blob, sizeof blob, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc)
        snprintf(err, errlen, "kms: storing the key check value: %s", sqlite3_errmsg(db->h));
    return rc;
}

int ksm_kms__check_verify(struct ksm_db *db, struct ksm_kms_master *m, uint32_t *gen, char *err,
                          size_t errlen)
{
    uint8_t plain[KSM_KMS_KEY_LEN];
    struct kms_wrapper w = {m, NULL};
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT value FROM kms_meta WHERE name='master_check'");
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return 0;
    }
    const uint8_t *blob = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    int ok = n == sizeof plain + KSM_KMS_BLOB_OVERHEAD &&
             !ksm_kms__blob_parent(blob, n, KMS_BLOB_CHECK, gen) &&
             !ksm_kms__unwrap(&w, KMS_BLOB_CHECK, KMS_CHECK_IDENT, blob, n, plain) &&
             ksm_ct_equal(plain, sentinel, sizeof plain);
    sqlite3_reset(st);
    OPENSSL_cleanse(plain, sizeof plain);
    if (ok)
        return 1;
    snprintf(err, errlen,
             "kms: the %s master key is not the one this data directory was encrypted with "
             "(key check value mismatch); refusing to start — restore the original master key",
             m->name);
    return -1;
}

int ksm_kms_master_verify(struct ksm_db *db, struct ksm_kms_master *m, char *err, size_t errlen)
{
    uint32_t gen;
    return ksm_kms__check_verify(db, m, &gen, err, errlen);
}

int ksm_kms_open_with(struct ksm_kms **out, struct ksm_db *db, struct ksm_kms_master *m, char *err,
                      size_t errlen)
{
    uint32_t gen = KMS_MASTER_GENERATION;
    int v = ksm_kms__check_verify(db, m, &gen, err, errlen);
    if (v < 0)
        goto fail;
    if (v == 0) {
        int hk = has_keys(db);
        if (hk < 0) {
            snprintf(err, errlen, "kms: reading kms_keys: %s", sqlite3_errmsg(db->h));
            goto fail;
        }
        if (hk > 0) {
            snprintf(err, errlen,
                     "kms: the database holds keys but no master key check value; "
                     "refusing to start");
            goto fail;
        }
        if (ksm_kms__check_write(db, m, gen, err, errlen))
            goto fail;
    }
    struct ksm_kms *k = ksm_xcalloc(1, sizeof *k);
    k->master = m;
    k->master_gen = gen;
    k->cache = ksm_kms__cache_new();
    *out = k;
    return 0;
fail:
    m->free(m);
    return -1;
}

/* A master key rotation (kms_rotate.c) leaves PATH.new (the new key) and PATH.old (the old one)
 * beside the key file while it runs. When the key file does not match the check value, one of
 * them may: the rotation committed but did not rename (.new), or the key file was renamed but the
 * commit did not survive (.old). Whichever matches is moved over the key file, durably. 1 when one
 * was, 0 when none matches. */
int ksm_kms__recover_rotation(struct ksm_db *db, const char *path)
{
    static const char *const suffix[] = {".new", ".old"};
    char cand[600], err[512];
    for (size_t i = 0; i < KSM_NELEM(suffix); i++) {
        struct ksm_kms_master *m;
        snprintf(cand, sizeof cand, "%s%s", path, suffix[i]);
        if (ksm_kms_master_file_open(cand, false, &m, err, sizeof err))
            continue;
        uint32_t gen;
        int v = ksm_kms__check_verify(db, m, &gen, err, sizeof err);
        m->free(m);
        if (v == 1 && ksm_kms__rename_durable(cand, path) == 0) {
            ksm_warn("kms: an interrupted master key rotation was completed: %s is now %s", cand,
                     path);
            return 1;
        }
    }
    return 0;
}

int ksm_kms_open(struct ksm_kms **out, struct ksm_db *db, const char *master_key_path, char *err,
                 size_t errlen)
{
    struct ksm_kms_master *m;
    int have = has_keys(db);
    if (have < 0) {
        snprintf(err, errlen, "kms: reading kms_meta: %s", sqlite3_errmsg(db->h));
        return -1;
    }
    if (have) {
        uint32_t gen;
        int v = -1;
        if (!ksm_kms_master_file_open(master_key_path, false, &m, err, errlen)) {
            v = ksm_kms__check_verify(db, m, &gen, err, errlen);
            m->free(m);
        }
        if (v != 1)
            ksm_kms__recover_rotation(db, master_key_path);
    }
    if (ksm_kms_master_file_open(master_key_path, have == 0, &m, err, errlen)) {
        if (have) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l,
                     "; this data directory holds data encrypted under it, so kasumid refuses to "
                     "start — restore the master key from its backup (docs/encryption.md)");
        }
        return -1;
    }
    if (ksm_kms_open_with(out, db, m, err, errlen))
        return -1;
    char old[600];
    snprintf(old, sizeof old, "%s.old", master_key_path);
    if (access(old, F_OK) == 0)
        ksm_warn("kms: %s (a master key replaced by a rotation) is still there: remove it once "
                 "the new key is backed up",
                 old);
    return 0;
}

void ksm_kms_close(struct ksm_kms *k)
{
    if (!k)
        return;
    ksm_kms__cache_free(k->cache);
    k->master->free(k->master);
    free(k);
}

void ksm_kms_set_cache_ttl(struct ksm_kms *k, int ttl_ms)
{
    ksm_kms__cache_set_ttl(k->cache, ttl_ms);
}
void ksm_kms_cache_sweep(struct ksm_kms *k) { ksm_kms__cache_sweep(k->cache); }

void ksm_kms_set_audit(struct ksm_kms *k, ksm_kms_audit_fn *fn, void *arg)
{
    k->audit = fn;
    k->audit_arg = arg;
}

const char *ksm_kms_op_name(enum ksm_kms_op op)
{
    static const char *const names[] = {"create", "rotate",  "generate", "unwrap", "disable",
                                        "enable", "destroy", "seal",     "unseal"};
    return (unsigned)op < KSM_NELEM(names) ? names[op] : "unknown";
}

void ksm_kms__emit(struct ksm_kms *k, enum ksm_kms_op op, const char *kind, const char *owner,
                   const char *key_id, uint32_t version, enum ksm_err outcome)
{
    if (!k->audit)
        return;
    struct ksm_kms_event ev = {op,      kind,   owner ? owner : "", key_id ? key_id : "",
                               version, outcome};
    k->audit(k->audit_arg, &ev);
}
