/* kms_chain.c — walking the hierarchy down to an unwrapped tenant or bucket key: cache first, else
 * the row from kms_keys, its state, its parent (recursively, so a disabled or destroyed tenant key
 * stops every bucket below it), then the unwrap. The state of a key is the state of all its
 * versions: disable, enable and destroy update every version of an owner at once. */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/db.h"
#include "core/util.h"

const char *ksm_kms__kind_name(enum ksm_kms_kind kind)
{
    return kind == KSM_KMS_TENANT ? "tenant" : "bucket";
}

/* Ids go into AAD strings separated by '/', so '/' (and anything unusual) is refused. */
bool ksm_kms__id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > KSM_KMS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

void ksm_kms__ident_tenant(char out[KMS_IDENT_MAX], const char *tenant, uint32_t version)
{
    snprintf(out, KMS_IDENT_MAX, "kasumi/v1/tenant-key/%s/%u", tenant, version);
}

void ksm_kms__ident_bucket(char out[KMS_IDENT_MAX], const char *tenant, const char *bucket,
                           uint32_t version)
{
    snprintf(out, KMS_IDENT_MAX, "kasumi/v1/bucket-key/%s/%s/%u", tenant, bucket, version);
}

static enum ksm_err state_err(const char *state)
{
    if (!strcmp(state, "active"))
        return KSM_E_OK;
    return !strcmp(state, "disabled") ? KSM_E_KEY_DISABLED : KSM_E_KEY_DESTROYED;
}

/* The row of (kind, owner, version); version 0 picks the newest. Leaves st on the row. */
static sqlite3_stmt *find_row(struct ksm_db *db, enum ksm_kms_kind kind, const char *owner,
                              uint32_t version)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "SELECT id, tenant_id, version, state, wrapped FROM kms_keys"
                           " WHERE kind=?1 AND owner_id=?2 AND (?3=0 OR version=?3)"
                           " ORDER BY version DESC LIMIT 1");
    sqlite3_bind_text(st, 1, ksm_kms__kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, version);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return NULL;
    }
    return st;
}

/* Unwraps the row's blob with its parent: the master for a tenant key, else the tenant key
 * version the blob's header names (fetched through key_get, which checks the tenant's state). */
static enum ksm_err unwrap_row(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                               const char *owner, const uint8_t *blob, size_t n,
                               struct kms_cached *out)
{
    char ident[KMS_IDENT_MAX];
    struct kms_cached parent;
    struct kms_wrapper w = {k->master, NULL};
    enum kms_blob_kind bk = kind == KSM_KMS_TENANT ? KMS_BLOB_TENANT_KEY : KMS_BLOB_BUCKET_KEY;
    uint32_t pv;
    enum ksm_err e = KSM_E_DATA_CORRUPT;
    memset(&parent, 0, sizeof parent);
    if (n != KSM_KMS_KEY_LEN + KSM_KMS_BLOB_OVERHEAD || ksm_kms__blob_parent(blob, n, bk, &pv))
        goto fail;
    if (kind == KSM_KMS_TENANT) {
        ksm_kms__ident_tenant(ident, owner, out->version);
    } else {
        e = ksm_kms__key_get(k, db, KSM_KMS_TENANT, out->tenant_id, pv, &parent);
        if (e != KSM_E_OK)
            goto fail;
        e = KSM_E_DATA_CORRUPT;
        w = (struct kms_wrapper){NULL, parent.key};
        ksm_kms__ident_bucket(ident, out->tenant_id, owner, out->version);
    }
    if (ksm_kms__unwrap(&w, bk, ident, blob, n, out->key))
        goto fail;
    e = KSM_E_OK;
fail:
    OPENSSL_cleanse(&parent, sizeof parent);
    return e;
}

static enum ksm_err load(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                         const char *owner, uint32_t version, struct kms_cached *out)
{
    sqlite3_stmt *st = find_row(db, kind, owner, version);
    if (!st)
        return KSM_E_NOT_FOUND;
    snprintf(out->key_id, sizeof out->key_id, "%s", ksm_db_col_text(st, 0));
    snprintf(out->tenant_id, sizeof out->tenant_id, "%s", ksm_db_col_text(st, 1));
    out->version = (uint32_t)sqlite3_column_int64(st, 2);
    enum ksm_err e = state_err(ksm_db_col_text(st, 3));
    if (e == KSM_E_OK) {
        /* copy the blob: the recursive key_get below reuses this cached statement */
        uint8_t blob[KSM_KMS_KEY_LEN + KSM_KMS_BLOB_OVERHEAD];
        size_t n = (size_t)sqlite3_column_bytes(st, 4);
        if (n > sizeof blob)
            n = 0;
        memcpy(blob, sqlite3_column_blob(st, 4) ? sqlite3_column_blob(st, 4) : blob, n);
        sqlite3_reset(st);
        return unwrap_row(k, db, kind, owner, blob, n, out);
    }
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_kms__key_get(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                              const char *owner, uint32_t version, struct kms_cached *out)
{
    memset(out, 0, sizeof *out);
    if (ksm_kms__cache_get(k->cache, kind, owner, version, out))
        return KSM_E_OK;
    uint64_t gen = ksm_kms__cache_gen(k->cache);
    enum ksm_err e = load(k, db, kind, owner, version, out);
    /* inside a transaction the row may be uncommitted and roll back: caching its key would hand
     * out a key that no longer exists in the database */
    if (e != KSM_E_OK || !sqlite3_get_autocommit(db->h))
        return e;
    ksm_kms__cache_put(k->cache, kind, owner, version, out, gen);
    if (version == 0) /* the newest is also its own version, for data keys naming it */
        ksm_kms__cache_put(k->cache, kind, owner, out->version, out, gen);
    return KSM_E_OK;
}
