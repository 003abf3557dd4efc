/* iam_keys.c — API keys. A key acts as its user; one created with a project is narrowed to it.
 *
 * The secret is "ksm_" followed by 32 random bytes in unpadded base64url (43 characters): the prefix
 * lets secret scanners and people recognise it. Only its SHA-256 is stored. A slow password hash
 * (argon2) exists to make guessing low-entropy passwords expensive; a 256-bit random secret cannot
 * be guessed, so a fast hash loses nothing, and it lets authentication find the key by an indexed
 * lookup of the hash on every request. The secret exists in plain only in the create response. */
#include "iam/iam_int.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/util.h"

void ksm_iam__secret_hash(const char *secret, char out[65])
{
    ksm_sha256_hex(secret, strlen(secret), out);
}

static void secret_new(char out[KSM_KEY_SECRET_LEN + 1])
{
    unsigned char raw[32], b64[48];
    ksm_random_bytes(raw, sizeof raw);
    EVP_EncodeBlock(b64, raw, sizeof raw);   /* 44 characters, the last one '=' */
    memcpy(out, "ksm_", 4);
    for (int i = 0; i < 43; i++)
        out[4 + i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
    out[KSM_KEY_SECRET_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(b64, sizeof b64);
}

#define KEY_COLS                                                                             \
    "id, user_id, tenant_id, project_id, kind, name, created_at, created_by, expires_at, " \
    "revoked_at"

static json_t *key_json(sqlite3_stmt *st)
{
    const char *status = "active";
    if (sqlite3_column_type(st, 9) != SQLITE_NULL)
        status = "revoked";
    else if (sqlite3_column_type(st, 8) != SQLITE_NULL &&
             sqlite3_column_int64(st, 8) <= ksm_now_ms())
        status = "expired";
    return json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:o,s:s,s:o,s:o,s:s}", "id",
                     ksm_db_col_text(st, 0), "user", ksm_db_col_text(st, 1), "tenant",
                     ksm_iam__text_or_null(st, 2), "project", ksm_iam__text_or_null(st, 3), "kind",
                     ksm_db_col_text(st, 4), "name", ksm_db_col_text(st, 5), "created_at",
                     ksm_iam__time_col(st, 6), "created_by", ksm_db_col_text(st, 7), "expires_at",
                     ksm_iam__time_col(st, 8), "revoked_at", ksm_iam__time_col(st, 9), "status",
                     status);
}

/* An s3 key shows its access key id (never the secret); other kinds are left as they are. */
static json_t *with_akid(struct ksm_db *db, json_t *k)
{
    char akid[21];
    const char *kind = json_string_value(json_object_get(k, "kind"));
    if (k && kind && !strcmp(kind, "s3") &&
        ksm_iam_s3_key_id(db, json_string_value(json_object_get(k, "id")), akid) == KSM_E_OK)
        json_object_set_new(k, "access_key_id", json_string(akid));
    return k;
}

enum ksm_err ksm_iam_key_get(struct ksm_db *db, const char *id, json_t **out)
{
    enum ksm_err e =
        ksm_db_get_json(db, "SELECT " KEY_COLS " FROM iam_keys WHERE id=?1", id, key_json, out);
    if (e == KSM_E_OK)
        with_akid(db, *out);
    return e;
}

enum ksm_err ksm_iam__key_insert(struct ksm_db *db, const char *id, const char *user,
                                 const char *tenant, const char *project, const char *kind,
                                 const char *name, int64_t expires_ms, const char *created_by,
                                 char secret[KSM_KEY_SECRET_LEN + 1])
{
    char hash[65];
    secret_new(secret);
    ksm_iam__secret_hash(secret, hash);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO iam_keys(id, user_id, tenant_id, project_id, kind, name, secret_hash, "
            "created_at, created_by, expires_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 3, ksm_iam__nz(tenant));
    ksm_db_bind_text(st, 4, ksm_iam__nz(project));
    sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, name ? name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, ksm_now_ms());
    sqlite3_bind_text(st, 9, created_by ? created_by : "", -1, SQLITE_STATIC);
    if (expires_ms > 0)
        sqlite3_bind_int64(st, 10, expires_ms);
    return ksm_iam__step_write(db, st);
}

/* The user's tenant into tenant; NOT_FOUND / CONFLICT (disabled). */
static enum ksm_err key_user(struct ksm_db *db, const char *user, char *tenant, const char **why)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT tenant_id, disabled FROM iam_users WHERE id=?1");
    ksm_db_bind_text(st, 1, user);
    enum ksm_err e = KSM_E_NOT_FOUND;
    *why = "no such user";
    if (sqlite3_step(st) == SQLITE_ROW) {
        ksm_iam__copy_id(tenant, st, 0);
        e = sqlite3_column_int(st, 1) ? KSM_E_CONFLICT : KSM_E_OK;
        *why = e == KSM_E_OK ? NULL : "the user is disabled";
    }
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_iam_key_create(struct ksm_db *db, const char *user, const char *kind,
                                const char *project, const char *name, int64_t expires_ms,
                                const char *created_by, json_t **out, const char **why)
{
    if (!kind || strcmp(kind, "api"))
        return *why = "kind must be \"api\" (s3 keys: ksm_iam_s3_key_create)", KSM_E_INVALID_ARGUMENT;
    return ksm_iam__key_create_kind(db, user, kind, project, name, expires_ms, created_by, out, why);
}

enum ksm_err ksm_iam__key_create_kind(struct ksm_db *db, const char *user, const char *kind,
                                      const char *project, const char *name, int64_t expires_ms,
                                      const char *created_by, json_t **out, const char **why)
{
    char id[KSM_ID_LEN], tenant[KSM_ID_LEN], ptenant[KSM_ID_LEN], pproject[KSM_ID_LEN];
    char secret[KSM_KEY_SECRET_LEN + 1];
    *why = NULL;
    *out = NULL;
    project = ksm_iam__nz(project);
    if (name && *name && !ksm_iam__text_ok(name, 200))
        return *why = "name must be at most 200 characters of text", KSM_E_INVALID_ARGUMENT;
    if (expires_ms && expires_ms <= ksm_now_ms())
        return *why = "expires_at must be in the future", KSM_E_INVALID_ARGUMENT;
    ksm_id_new("ky", id);
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    e = key_user(db, user, tenant, why);
    if (e == KSM_E_OK && project &&
        (ksm_iam_owner(db, project, ptenant, pproject) != KSM_E_OK || !ksm_iam__id_ok(project, "pj") ||
         strcmp(ptenant, tenant))) {
        *why = "no such project in the user's tenant";
        e = KSM_E_NOT_FOUND;
    }
    if (e == KSM_E_OK)
        e = ksm_iam__key_insert(db, id, user, tenant, project, kind, name, expires_ms, created_by,
                                secret);
    if (e == KSM_E_OK && (e = ksm_iam_key_get(db, id, out)) == KSM_E_OK)
        json_object_set_new(*out, "secret", json_string(secret));
    OPENSSL_cleanse(secret, sizeof secret);
    e = ksm_iam__end(db, e);
    if (e != KSM_E_OK && *out) {
        json_decref(*out);   /* the commit failed: the secret must not be shown */
        *out = NULL;
    }
    return e;
}

enum ksm_err ksm_iam_key_revoke(struct ksm_db *db, const char *id, json_t **out)
{
    enum ksm_err e = ksm_iam__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE iam_keys SET revoked_at=ifnull(revoked_at, ?2) "
                                          "WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK)
        e = ksm_iam_key_get(db, id, out);
    return ksm_iam__end(db, e);
}

enum ksm_err ksm_iam_key_list(struct ksm_db *db, const char *user, const char *tenant,
                              const char *after, int limit, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " KEY_COLS " FROM iam_keys"
                                          " WHERE (?1 IS NULL OR user_id=?1)"
                                          " AND (?2 IS NULL OR ifnull(tenant_id,'')=?2)"
                                          " AND id > ?3 ORDER BY id LIMIT ?4");
    ksm_db_bind_text(st, 1, user);
    ksm_db_bind_text(st, 2, tenant);
    sqlite3_bind_text(st, 3, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, key_json(st));
    sqlite3_reset(st);
    size_t i;
    json_t *k;
    json_array_foreach(items, i, k) with_akid(db, k);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
