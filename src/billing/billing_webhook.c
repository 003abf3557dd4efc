/* billing_webhook.c — the URLs a tenant has budget notifications POSTed to, for the whole tenant or
 * one project. Each has its own signing secret, made here from the CSPRNG and shown once when the
 * webhook is created; it is kept sealed under the master key (the sender needs it in plaintext to
 * sign, so a hash would not do) and never returned again, logged or audited. */
#include "billing/billing_budget.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* http:// or https://, a host, no user:password@ (the URL is shown to readers of the tenant, a
 * credential in it would leak), no fragment, and nothing but printable ASCII. */
bool ksm_billing_webhook_url_ok(const char *url, size_t len, const char **why)
{
    size_t scheme = !strncmp(url, "https://", len < 8 ? len : 8) && len >= 8   ? 8
                    : !strncmp(url, "http://", len < 7 ? len : 7) && len >= 7 ? 7
                                                                              : 0;
    *why = "url must be an http:// or https:// URL";
    if (!scheme)
        return false;
    if (len > KSM_BILLING_WH_URL_MAX) {
        *why = "url is too long (at most 512 bytes)";
        return false;
    }
    size_t host = 0;
    bool in_host = true;
    for (size_t i = scheme; i < len; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '#' || ch == '\\') {
            *why = "url must be printable ASCII without spaces, backslashes or a fragment";
            return false;
        }
        if (in_host && (ch == '/' || ch == '?'))
            in_host = false;
        else if (in_host && ch == '@') {
            *why = "url must not carry credentials";
            return false;
        } else if (in_host)
            host++;
    }
    if (!host || url[scheme] == ':') {
        *why = "url has no host";
        return false;
    }
    return true;
}

static json_t *webhook_json(sqlite3_stmt *st)
{
    char at[32];
    ksm_rfc3339_ms(sqlite3_column_int64(st, 4), at);
    const char *project = (const char *)sqlite3_column_text(st, 2);
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:s}", "id", ksm_db_col_text(st, 0), "tenant",
                     ksm_db_col_text(st, 1), "project",
                     project ? json_string(project) : json_null(), "url", ksm_db_col_text(st, 3),
                     "created_at", at, "created_by", ksm_db_col_text(st, 5));
}

enum ksm_err ksm_billing_webhook_create(struct ksm_db *db, const char *tenant, const char *project,
                                        const char *url, const char *actor, ksm_billing_seal_fn seal,
                                        void *seal_arg, json_t **out)
{
    char id[40], ctx[96], secret[KSM_BILLING_WH_SECRET_LEN];
    unsigned char raw[32];
    uint8_t *blob = NULL;
    size_t bloblen = 0;
    ksm_id_new("wh", id);
    ksm_random_bytes(raw, sizeof raw);
    memcpy(secret, "whsec_", 6);
    ksm_hex(raw, sizeof raw, secret + 6);
    snprintf(ctx, sizeof ctx, "kasumi/v1/billing-webhook/%s", id);
    enum ksm_err e = seal(seal_arg, ctx, secret, &blob, &bloblen);
    if (e != KSM_E_OK)
        goto out;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO billing_webhooks(id, tenant_id, project_id, url, secret_sealed, "
            "created_ms, created_by) VALUES(?1,?2,?3,?4,?5,?6,?7) "
            "RETURNING id, tenant_id, project_id, url, created_ms, created_by");
    ksm_db_bind_text(st, 1, id);
    ksm_db_bind_text(st, 2, tenant);
    ksm_db_bind_text(st, 3, project);
    ksm_db_bind_text(st, 4, url);
    sqlite3_bind_blob(st, 5, blob, (int)bloblen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, ksm_now_ms());
    ksm_db_bind_text(st, 7, actor ? actor : "");
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = webhook_json(st);
        json_object_set_new(*out, "secret", json_string(secret));
    } else {
        ksm_error("billing: webhook insert: %s", sqlite3_errmsg(db->h));
        e = KSM_E_INTERNAL;
    }
    sqlite3_reset(st);
out:
    free(blob);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(raw, sizeof raw);
    return e;
}

enum ksm_err ksm_billing_webhook_list(struct ksm_db *db, const char *tenant, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, tenant_id, project_id, url, created_ms, created_by FROM billing_webhooks "
            "WHERE tenant_id = ?1 ORDER BY created_ms, id");
    ksm_db_bind_text(st, 1, tenant);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, webhook_json(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_billing_webhook_delete(struct ksm_db *db, const char *tenant, const char *id)
{
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    sqlite3_stmt *st =
        ksm_db_prepare(db, "DELETE FROM billing_webhooks WHERE id = ?1 AND tenant_id = ?2");
    ksm_db_bind_text(st, 1, id);
    ksm_db_bind_text(st, 2, tenant);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    enum ksm_err e = rc != SQLITE_DONE            ? KSM_E_INTERNAL
                     : sqlite3_changes(db->h) == 0 ? KSM_E_NOT_FOUND
                                                   : KSM_E_OK;
    if (e == KSM_E_OK) {
        st = ksm_db_prepare(db, "UPDATE billing_outbox SET state = 'cancelled' "
                                "WHERE webhook_id = ?1 AND state = 'pending'");
        ksm_db_bind_text(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE)
            e = KSM_E_INTERNAL;
        sqlite3_reset(st);
    }
    if (e != KSM_E_OK || ksm_db_commit(db) != SQLITE_OK) {
        ksm_db_rollback(db);
        return e == KSM_E_OK ? KSM_E_INTERNAL : e;
    }
    return KSM_E_OK;
}
