/* iam_authn.c — authentication by API key: the bearer secret is hashed and looked up; the key must
 * be neither revoked nor expired (checked here, on every request) and its user not disabled. The
 * secret itself is never logged or kept. Bearer JWTs from an OpenID provider: oidc_signin.c. */
#include "iam/iam_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

enum ksm_err ksm_iam_authenticate(struct ksm_db *db, const char *secret, struct ksm_principal *out)
{
    char hash[65];
    unsigned char raw[32];
    memset(out, 0, sizeof *out);
    /* a malformed secret cannot match: no need to touch the database */
    if (!secret || strlen(secret) != KSM_KEY_SECRET_LEN || strncmp(secret, "ksm_", 4))
        return KSM_E_UNAUTHENTICATED;
    ksm_sha256(secret, strlen(secret), raw);   /* the cache's key; the hex form only on a miss */
    if (ksm_iam__authn_cached(raw, out)) {
        ksm_iam_key_used(db, out->key_id);
        return KSM_E_OK;
    }
    ksm_hex(raw, 32, hash);
    uint64_t gen = ksm_iam__generation();
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT k.id, k.user_id, k.tenant_id, k.project_id, u.name, k.expires_at, "
            "EXISTS(SELECT 1 FROM sso_identities i WHERE i.user_id=u.id) FROM iam_keys k "
            "JOIN iam_users u ON u.id=k.user_id WHERE k.secret_hash=?1 AND k.kind='api' AND k.revoked_at IS NULL "
            "AND (k.expires_at IS NULL OR k.expires_at > ?2) AND u.disabled=0");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    enum ksm_err e = KSM_E_UNAUTHENTICATED;
    if (sqlite3_step(st) == SQLITE_ROW) {
        ksm_iam__copy_id(out->key_id, st, 0);
        ksm_iam__copy_id(out->user_id, st, 1);
        ksm_iam__copy_id(out->tenant_id, st, 2);
        ksm_iam__copy_id(out->project_id, st, 3);
        snprintf(out->name, sizeof out->name, "%s", ksm_db_col_text(st, 4));
        /* a federated user's second factor is its provider's business: its keys never show one,
         * or a key made after a password-only sign-in would carry roles that require MFA */
        out->no_mfa = sqlite3_column_int(st, 6) != 0;
        int64_t exp = sqlite3_column_type(st, 5) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 5);
        ksm_iam__authn_store(raw, gen, exp, out);
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    if (e == KSM_E_OK)
        ksm_iam_key_used(db, out->key_id);
    return e;
}
