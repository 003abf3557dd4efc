/* iam_bootstrap.c — the first administrator. On a database without any platform administrator,
 * creates a platform-level user, binds platform_admin at platform scope and issues an API key, all in
 * one transaction; the daemon hands the secret to the operator once (bootstrap token file). */
#include "iam/iam_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static bool have_admin(struct ksm_db *db, bool *have)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT EXISTS(SELECT 1 FROM iam_bindings "
                                          "WHERE role='platform_admin' AND tenant_id IS NULL)");
    int rc = sqlite3_step(st);
    *have = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW;
}

int ksm_iam_bootstrap(struct ksm_db *db, char *secret_out, size_t secret_len)
{
    char user[KSM_ID_LEN], binding[KSM_ID_LEN], key[KSM_ID_LEN], secret[KSM_KEY_SECRET_LEN + 1];
    bool have;
    if (secret_len < sizeof secret || ksm_iam__begin(db) != KSM_E_OK)
        return -1;
    if (!have_admin(db, &have)) {
        ksm_db_rollback(db);
        return -1;
    }
    if (have) {
        ksm_db_rollback(db);
        return 0;
    }
    ksm_id_new("us", user);
    ksm_id_new("rb", binding);
    ksm_id_new("ky", key);
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO iam_users(id, tenant_id, name, email, "
                                          "created_at, updated_at) VALUES(?1, NULL, 'admin', "
                                          "'admin@platform.invalid', ?2, ?2)");
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    enum ksm_err e = ksm_iam__step_write(db, st);
    if (e == KSM_E_OK)
        e = ksm_iam__binding_insert(db, binding, user, NULL, "platform_admin", NULL, NULL,
                                    "bootstrap");
    if (e == KSM_E_OK)
        e = ksm_iam__key_insert(db, key, user, NULL, NULL, "api", "bootstrap", 0, "bootstrap",
                                secret);
    if (ksm_iam__end(db, e) != KSM_E_OK) {
        OPENSSL_cleanse(secret, sizeof secret);
        return -1;
    }
    snprintf(secret_out, secret_len, "%s", secret);
    OPENSSL_cleanse(secret, sizeof secret);
    ksm_info("iam: bootstrap: created platform administrator %s with key %s", user, key);
    return 1;
}
