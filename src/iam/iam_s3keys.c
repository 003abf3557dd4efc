/* iam_s3keys.c — S3 access keys: a key kind of IAM (bound to a user and a project, revocable, with
 * an expiry) whose secret SigV4 needs in plaintext. The caller seals the secret (src/kms) through a
 * callback, so IAM stores an opaque blob and never handles key material; the S3 layer unseals it
 * after ksm_iam_s3_key_find. */
#include "iam/iam_int.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* AWS-shaped: a 20-character access key id and a 40-character secret. */
static void access_key_id_new(char out[21])
{
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned char r[17];
    ksm_random_bytes(r, sizeof r);
    memcpy(out, "KSM", 3);
    for (int i = 0; i < 17; i++)
        out[3 + i] = b32[r[i] & 31];
    out[20] = '\0';
}

static void secret_new(char out[41])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char r[40];
    ksm_random_bytes(r, sizeof r);
    for (int i = 0; i < 40; i++)
        out[i] = b64[r[i] & 63];
    out[40] = '\0';
    OPENSSL_cleanse(r, sizeof r);
}

enum ksm_err ksm_iam_s3_key_create(struct ksm_db *db, const char *user, const char *project,
                                   const char *name, int64_t expires_ms, const char *created_by,
                                   ksm_iam_seal_fn seal, void *seal_arg, json_t **out,
                                   const char **why)
{
    char akid[21], secret[41];
    uint8_t *blob = NULL;
    size_t bloblen = 0;
    *out = NULL;
    if (!ksm_iam__nz(project))
        return *why = "an s3 key needs a project", KSM_E_INVALID_ARGUMENT;
    /* an api key row carries user, project, expiry and revocation; its bearer secret is discarded */
    json_t *k = NULL;
    enum ksm_err e = ksm_iam__key_create_kind(db, user, "s3", project, name, expires_ms, created_by,
                                              &k, why);
    if (e != KSM_E_OK)
        return e;
    const char *id = json_string_value(json_object_get(k, "id"));
    access_key_id_new(akid);
    secret_new(secret);
    e = seal(seal_arg, akid, secret, &blob, &bloblen);
    if (e == KSM_E_OK && (e = ksm_iam__begin(db)) == KSM_E_OK) {
        sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO iam_s3_keys(key_id, access_key_id, sealed) "
                                              "VALUES(?1,?2,?3)");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, akid, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, blob, (int)bloblen, SQLITE_STATIC);
        e = ksm_iam__end(db, ksm_iam__step_write(db, st));
    }
    if (e == KSM_E_OK) {
        json_object_del(k, "secret");
        json_object_set_new(k, "access_key_id", json_string(akid));
        json_object_set_new(k, "secret_access_key", json_string(secret));
        *out = k;
    } else {
        json_decref(k);
        ksm_iam_key_revoke(db, id, &k);   /* never leave a half-made key usable */
        json_decref(k);
        *why = "cannot store the key";
    }
    OPENSSL_cleanse(secret, sizeof secret);
    free(blob);
    return e;
}

enum ksm_err ksm_iam_s3_key_find(struct ksm_db *db, const char *access_key_id,
                                 struct ksm_principal *p, uint8_t **sealed, size_t *len)
{
    memset(p, 0, sizeof *p);
    *sealed = NULL;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT k.id, k.user_id, k.tenant_id, k.project_id, u.name, s.sealed FROM iam_s3_keys s "
            "JOIN iam_keys k ON k.id=s.key_id JOIN iam_users u ON u.id=k.user_id "
            "WHERE s.access_key_id=?1 AND k.revoked_at IS NULL "
            "AND (k.expires_at IS NULL OR k.expires_at > ?2) AND u.disabled=0");
    sqlite3_bind_text(st, 1, access_key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    enum ksm_err e = KSM_E_ACCESS_KEY_UNKNOWN;
    if (sqlite3_step(st) == SQLITE_ROW) {
        ksm_iam__copy_id(p->key_id, st, 0);
        ksm_iam__copy_id(p->user_id, st, 1);
        ksm_iam__copy_id(p->tenant_id, st, 2);
        ksm_iam__copy_id(p->project_id, st, 3);
        snprintf(p->name, sizeof p->name, "%s", ksm_db_col_text(st, 4));
        *len = (size_t)sqlite3_column_bytes(st, 5);
        *sealed = ksm_xmalloc(*len ? *len : 1);
        memcpy(*sealed, sqlite3_column_blob(st, 5), *len);
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_iam_s3_key_id(struct ksm_db *db, const char *key_id, char access_key_id[21])
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT access_key_id FROM iam_s3_keys WHERE key_id=?1");
    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(access_key_id, 21, "%s", ksm_db_col_text(st, 0));
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}
