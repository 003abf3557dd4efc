/* billing_webhook_send.c — delivering the outbox: each due notification is POSTed as JSON to its
 * webhook with an HMAC-SHA256 of the body under the webhook's secret (X-Kasumi-Signature:
 * sha256=HEX), from the notifier thread with blocking libcurl (the workers never wait on a
 * tenant's server). A 2xx answer delivers it; anything else is retried after a delay that doubles
 * each time (at most an hour) until the attempts run out, and then it is "failed". State lives in
 * the outbox row, so a restart picks up where it stopped; a receiver may see a notification twice
 * if the process stops between its answer and the row's update (X-Kasumi-Delivery tells repeats). */
#include "billing/billing_budget.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "kms/kms.h"

#define BATCH 16
#define MAX_DELAY_MS 3600000LL
#define TIMEOUT_MS 10000L

void ksm_billing_webhook_sign(const char *secret, const char *body, size_t len, char out[72])
{
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &n);
    memcpy(out, "sha256=", 7);
    ksm_hex(mac, sizeof mac, out + 7);
}

int64_t ksm_billing_webhook_backoff(int64_t retry_ms, int attempts)
{
    int64_t d = retry_ms;
    for (int i = 1; i < attempts && d < MAX_DELAY_MS; i++)
        d *= 2;
    return d < MAX_DELAY_MS ? d : MAX_DELAY_MS;
}

struct job {
    int64_t id;
    int attempts;
    char *url, *body, *webhook;
    uint8_t *blob;
    size_t bloblen;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

/* POSTs one notification: the HTTP status (0 when none came) and, on failure, why. */
static long post(const struct job *j, const char *secret, char *why, size_t whylen)
{
    char sig[72], hsig[100], hid[64];
    long status = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "cannot start an HTTP client");
        return 0;
    }
    ksm_billing_webhook_sign(secret, j->body, strlen(j->body), sig);
    snprintf(hsig, sizeof hsig, "X-Kasumi-Signature: %s", sig);
    snprintf(hid, sizeof hid, "X-Kasumi-Delivery: %lld", (long long)j->id);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "X-Kasumi-Event: budget.threshold_crossed");
    h = curl_slist_append(h, hsig);
    h = curl_slist_append(h, hid);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer, not a delivery */
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
    else if (status < 200 || status > 299)
        snprintf(why, whylen, "HTTP %ld", status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void finish(struct ksm_db *db, const struct job *j, long status, const char *why,
                   const struct ksm_billing_delivery *d, int64_t now_ms)
{
    bool ok = status >= 200 && status <= 299;
    int attempts = j->attempts + 1;
    const char *state = ok ? "delivered" : attempts >= d->max_attempts ? "failed" : "pending";
    sqlite3_stmt *st = ksm_db_prepare(
        db, "UPDATE billing_outbox SET state = ?2, attempts = ?3, next_ms = ?4, last_status = ?5, "
            "last_error = ?6, delivered_ms = ?7 WHERE id = ?1 AND state = 'pending'");
    sqlite3_bind_int64(st, 1, j->id);
    ksm_db_bind_text(st, 2, state);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_int64(st, 4, now_ms + (ok ? 0 : ksm_billing_webhook_backoff(d->retry_ms, attempts)));
    if (status)
        sqlite3_bind_int64(st, 5, status);
    ksm_db_bind_text(st, 6, ok ? NULL : why);
    if (ok)
        sqlite3_bind_int64(st, 7, now_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        ksm_error("billing: outbox update: %s", sqlite3_errmsg(db->h));
    sqlite3_reset(st);
    if (!ok)
        ksm_warn("billing: notification %lld to webhook %s: %s (attempt %d, %s)", (long long)j->id,
                 j->webhook, why, attempts, state);
}

static int due(struct ksm_db *db, int64_t now_ms, struct job *jobs)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT o.id, o.attempts, o.url, o.body, o.webhook_id, w.secret_sealed "
            "FROM billing_outbox o JOIN billing_webhooks w ON w.id = o.webhook_id "
            "WHERE o.state = 'pending' AND o.next_ms <= ?1 ORDER BY o.next_ms, o.id LIMIT 16");
    sqlite3_bind_int64(st, 1, now_ms);
    int n = 0;
    while (n < BATCH && sqlite3_step(st) == SQLITE_ROW) {
        struct job *j = &jobs[n++];
        j->id = sqlite3_column_int64(st, 0);
        j->attempts = sqlite3_column_int(st, 1);
        j->url = ksm_xstrdup(ksm_db_col_text(st, 2));
        j->body = ksm_xstrdup(ksm_db_col_text(st, 3));
        j->webhook = ksm_xstrdup(ksm_db_col_text(st, 4));
        j->bloblen = (size_t)sqlite3_column_bytes(st, 5);
        j->blob = ksm_xmalloc(j->bloblen ? j->bloblen : 1);
        memcpy(j->blob, sqlite3_column_blob(st, 5), j->bloblen);
    }
    sqlite3_reset(st);
    return n;
}

enum ksm_err ksm_billing_deliver_due(struct ksm_db *db, const struct ksm_billing_delivery *d,
                                     int64_t now_ms, int *sent)
{
    struct job jobs[BATCH];
    *sent = 0;
    if (!d->kms) /* overseas-ai keeps no secrets: no webhook can exist there */
        return KSM_E_OK;
    int n = due(db, now_ms, jobs);
    for (int i = 0; i < n; i++) {
        struct job *j = &jobs[i];
        char ctx[96], why[256] = "", *secret = NULL;
        size_t slen = 0;
        long status = 0;
        snprintf(ctx, sizeof ctx, "kasumi/v1/billing-webhook/%s", j->webhook);
        if (ksm_kms_unseal(d->kms, ctx, j->blob, j->bloblen, &secret, &slen) != KSM_E_OK)
            snprintf(why, sizeof why, "the webhook's secret cannot be unsealed");
        else
            status = post(j, secret, why, sizeof why);
        if (secret)
            ksm_kms_secret_free(secret, slen);
        finish(db, j, status, why, d, ksm_now_ms() > now_ms ? ksm_now_ms() : now_ms);
        free(j->url), free(j->body), free(j->webhook), free(j->blob);
    }
    *sent = n;
    return KSM_E_OK;
}

enum ksm_err ksm_billing_notification_list(struct ksm_db *db, const char *tenant, int limit,
                                           int64_t before_id, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT o.id, o.webhook_id, o.url, o.body, o.state, o.attempts, o.next_ms, "
            "o.last_status, o.last_error, o.created_ms, o.delivered_ms FROM billing_outbox o "
            "WHERE o.tenant_id = ?1 AND (?2 = 0 OR o.id < ?2) ORDER BY o.id DESC LIMIT ?3");
    ksm_db_bind_text(st, 1, tenant);
    sqlite3_bind_int64(st, 2, before_id);
    sqlite3_bind_int(st, 3, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char created[32], next[32], delivered[32];
        bool pending = !strcmp(ksm_db_col_text(st, 4), "pending");
        ksm_rfc3339_ms(sqlite3_column_int64(st, 9), created);
        ksm_rfc3339_ms(sqlite3_column_int64(st, 6), next);
        ksm_rfc3339_ms(sqlite3_column_int64(st, 10), delivered);
        json_t *event = json_loads(ksm_db_col_text(st, 3), 0, NULL);
        json_t *o = json_pack(
            "{s:I,s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:s,s:o,s:o}", "id",
            (json_int_t)sqlite3_column_int64(st, 0), "webhook", ksm_db_col_text(st, 1), "url",
            ksm_db_col_text(st, 2), "state", ksm_db_col_text(st, 4), "attempts",
            sqlite3_column_int(st, 5), "next_attempt_at",
            pending ? json_string(next) : json_null(), "last_status",
            sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null()
                                                      : json_integer(sqlite3_column_int64(st, 7)),
            "last_error",
            sqlite3_column_type(st, 8) == SQLITE_NULL ? json_null()
                                                      : json_string(ksm_db_col_text(st, 8)),
            "created_at", created, "delivered_at",
            sqlite3_column_type(st, 10) == SQLITE_NULL ? json_null() : json_string(delivered),
            "event", event ? event : json_null());
        json_array_append_new(items, o);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
