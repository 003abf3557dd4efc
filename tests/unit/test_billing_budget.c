/* test_billing_budget.c — budget alerts below the HTTP layer: a threshold is recorded once per
 * project and JST month however often spend is checked, and only when spend (of every service)
 * reaches it; each recorded crossing queues one notification per webhook that covers the project
 * (tenant-wide or the project's, not another tenant's or project's), in the same transaction; the
 * next month starts afresh; the signature is HMAC-SHA256 over the body (an RFC-style vector); the
 * retry delay doubles up to an hour; webhook URLs are checked; the rating hook's price memo follows
 * the price list. */
#include "ai/ai_store.h"
#include "billing/billing.h"
#include "billing/billing_budget.h"
#include "check.h"
#include "core/db.h"
#include "core/util.h"
#include "meter/usage.h"

#include <stdlib.h>
#include <unistd.h>

#define YEN 1000000LL

static char dir[] = "/tmp/ksm_test_billing_budget_XXXXXX";

static void spend(struct ksm_db *db, const char *project, const char *service, int64_t yen,
                  int64_t t)
{
    static int n;
    char key[32];
    snprintf(key, sizeof key, "k-%d", ++n);
    struct ksm_usage_rec u = {.tenant = "tn_a", .project = project, .service = service,
                              .meter = "requests_write", .quantity = 1, .time_ms = t,
                              .idempotency_key = key, .cost_microyen = yen * YEN};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
}

static int64_t count(struct ksm_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

static enum ksm_err fake_seal(void *arg, const char *ctx, const char *secret, uint8_t **blob,
                              size_t *len)
{
    (void)arg, (void)ctx;
    *blob = (uint8_t *)ksm_xstrdup(secret);
    *len = strlen(secret);
    return KSM_E_OK;
}

static void hook(struct ksm_db *db, const char *tenant, const char *project)
{
    json_t *o = NULL;
    CHECK(ksm_billing_webhook_create(db, tenant, project, "http://127.0.0.1:9/h", "us_x", fake_seal,
                                     NULL, &o) == KSM_E_OK);
    const char *secret = json_string_value(json_object_get(o, "secret"));
    CHECK(secret && strlen(secret) == 70 && !strncmp(secret, "whsec_", 6));
    json_decref(o);
}

static void test_thresholds(struct ksm_db *db)
{
    char why[KSM_AI_WHY];
    int64_t jan, feb;
    int crossed = -1;
    ksm_parse_rfc3339("2027-01-15T12:00:00+09:00", &jan);
    ksm_parse_rfc3339("2027-02-01T00:00:00+09:00", &feb);
    json_t *b = json_loads("{\"monthly_yen\":1000,\"alert_thresholds\":[50,80,100]}", 0, NULL);
    CHECK(ksm_ai_budget_set(db, "tn_a", "pj_a", b, why) == KSM_E_OK);
    json_decref(b);
    hook(db, "tn_a", NULL);    /* every project of tn_a */
    hook(db, "tn_a", "pj_a");  /* this project */
    hook(db, "tn_a", "pj_b");  /* another project: not notified */
    hook(db, "tn_b", NULL);    /* another tenant: not notified */
    spend(db, "pj_a", "storage", 300, jan);
    spend(db, "pj_a", "ai", 199, jan);
    CHECK(ksm_billing_budget_check(db, jan, &crossed) == KSM_E_OK && crossed == 0); /* 49.9% */
    spend(db, "pj_a", "ai", 1, jan);
    CHECK(ksm_billing_budget_check(db, jan, &crossed) == KSM_E_OK && crossed == 1); /* 50% */
    CHECK(ksm_billing_budget_check(db, jan + 1000, &crossed) == KSM_E_OK && crossed == 0);
    CHECK(count(db, "SELECT COUNT(*) FROM billing_outbox") == 2);
    CHECK(count(db, "SELECT COUNT(*) FROM billing_outbox o JOIN billing_webhooks w ON "
                    "w.id = o.webhook_id WHERE w.project_id = 'pj_b' OR w.tenant_id = 'tn_b'") == 0);
    spend(db, "pj_a", "storage", 600, jan); /* 110%: 80 and 100 at once */
    CHECK(ksm_billing_budget_check(db, jan + 2000, &crossed) == KSM_E_OK && crossed == 2);
    CHECK(count(db, "SELECT COUNT(*) FROM billing_outbox") == 6);
    CHECK(count(db, "SELECT COUNT(*) FROM billing_budget_alerts WHERE month = '2027-01'") == 3);
    json_t *items = json_array();
    CHECK(ksm_billing_budget_alerts(db, "pj_a", "", "2027-01", items) == KSM_E_OK);
    CHECK(json_array_size(items) == 3 &&
          json_integer_value(json_object_get(json_array_get(items, 2), "threshold")) == 100);
    json_decref(items);
    /* a new month: nothing spent yet, nothing crossed; its spend crosses afresh */
    CHECK(ksm_billing_budget_check(db, feb, &crossed) == KSM_E_OK && crossed == 0);
    spend(db, "pj_a", "storage", 800, feb);
    CHECK(ksm_billing_budget_check(db, feb, &crossed) == KSM_E_OK && crossed == 2);
    /* audit bookkeeping: every crossing is listed once until marked */
    CHECK(count(db, "SELECT COUNT(*) FROM billing_budget_alerts WHERE audited = 0") == 5);
    CHECK(ksm_billing_budget_audited(db, 1) == KSM_E_OK);
    CHECK(count(db, "SELECT COUNT(*) FROM billing_budget_alerts WHERE audited = 0") == 4);
    /* the body names the threshold and carries money as exact strings */
    CHECK(count(db, "SELECT COUNT(*) FROM billing_outbox WHERE json_extract(body, "
                    "'$.threshold_percent') = 80 AND json_extract(body, '$.budget_yen') = "
                    "'1000.000000' AND json_extract(body, '$.month') = '2027-01'") == 2);
    /* deleting a webhook cancels what it had pending; another tenant cannot delete it */
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db->h, "SELECT id FROM billing_webhooks WHERE project_id = 'pj_a'", -1, &st,
                       NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    char *id = ksm_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    CHECK(ksm_billing_webhook_delete(db, "tn_b", id) == KSM_E_NOT_FOUND);
    CHECK(ksm_billing_webhook_delete(db, "tn_a", id) == KSM_E_OK);
    CHECK(count(db, "SELECT COUNT(*) FROM billing_outbox WHERE state = 'cancelled'") == 5);
    free(id);
}

/* The rating hook memoises the price in force per thread: ending a price and adding the next must
 * reach the very next record, and a record before the change keeps the old price. */
static void test_price_memo(struct ksm_db *db)
{
    char why[KSM_BILLING_WHY];
    int64_t now, t1, t2;
    json_t *out = NULL;
    ksm_parse_rfc3339("2030-01-01T00:00:00Z", &now);
    ksm_parse_rfc3339("2030-02-01T00:00:00Z", &t1);
    ksm_parse_rfc3339("2030-03-01T00:00:00Z", &t2);
    json_t *a = json_loads("{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                           "\"price\":\"2\",\"valid_from\":\"2030-01-15T00:00:00Z\"}", 0, NULL);
    CHECK(ksm_billing_price_add(db, a, now, &out, why) == KSM_E_OK);
    int64_t id = json_integer_value(json_object_get(out, "id"));
    json_decref(out), json_decref(a);
    struct ksm_usage_rec r = {.tenant = "tn_a", .service = "storage", .meter = "bytes_out",
                              .quantity = 10};
    CHECK(ksm_billing_rate(db, &r, t1) == 20 * YEN);
    CHECK(ksm_billing_rate(db, &r, t2) == 20 * YEN); /* memoised: open-ended */
    CHECK(ksm_billing_price_end(db, id, "2030-02-15T00:00:00Z", now, &out, why) == KSM_E_OK);
    json_decref(out);
    CHECK(ksm_billing_rate(db, &r, t1) == 20 * YEN);
    CHECK(ksm_billing_rate(db, &r, t2) == 0); /* ended: no price in force */
    json_t *b = json_loads("{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                           "\"price\":\"3\",\"valid_from\":\"2030-02-15T00:00:00Z\"}", 0, NULL);
    CHECK(ksm_billing_price_add(db, b, now, &out, why) == KSM_E_OK);
    json_decref(out), json_decref(b);
    CHECK(ksm_billing_rate(db, &r, t2) == 30 * YEN);
    CHECK(ksm_billing_rate(db, &r, t1) == 20 * YEN);
}

static void test_sign_and_backoff(void)
{
    char sig[72];
    ksm_billing_webhook_sign("whsec_test", "{\"a\":1}", 7, sig);
    CHECK_STR(sig, "sha256=51426af50a41dd7ff2cd3f116594734766d4018d15d6fb07169aee5d2959adf5");
    CHECK(ksm_billing_webhook_backoff(1000, 1) == 1000);
    CHECK(ksm_billing_webhook_backoff(1000, 2) == 2000);
    CHECK(ksm_billing_webhook_backoff(1000, 4) == 8000);
    CHECK(ksm_billing_webhook_backoff(1000, 99) == 3600000);
}

static void test_urls(void)
{
    const char *why;
    const char *good[] = {"http://127.0.0.1:8080/h", "https://hooks.example.go.jp/budget?x=1",
                          "http://[::1]:9/"};
    const char *bad[] = {"", "ftp://x/", "http://", "http:///x", "http://u:p@h/", "http://h/#f",
                         "http://h/a b", "https://h/\x7f", "http://:80/", "javascript:alert(1)"};
    for (size_t i = 0; i < KSM_NELEM(good); i++)
        CHECK(ksm_billing_webhook_url_ok(good[i], strlen(good[i]), &why));
    for (size_t i = 0; i < KSM_NELEM(bad); i++)
        CHECK(!ksm_billing_webhook_url_ok(bad[i], strlen(bad[i]), &why) && why);
}

int main(void)
{
    char err[256], path[96];
    struct ksm_db db;
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_usage_register_schema();
    ksm_ai_store_register_schema();
    ksm_billing_register_schema();
    if (ksm_db_open(&db, path, err, sizeof err)) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    test_thresholds(&db);
    test_price_memo(&db);
    test_sign_and_backoff();
    test_urls();
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
