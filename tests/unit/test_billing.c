/* test_billing.c — the price list, rating at write time and the monthly report, with every time a
 * parameter: bad prices are refused with their reason; records are rated by the price in force at
 * their time (JST month bounds, a price that ends and one that follows); the March 2026 report of a
 * tenant equals the golden CSV (tests/data/billing/report-2026-03.csv; KSM_UPDATE_GOLDEN=1 rewrites
 * it); its lines add up to 税込 and 税抜 + 税 = 税込 with the tax once per invoice; a closed month
 * does not change when a late record arrives; a closed month rebuilt from the audit log names
 * exactly the one ledger row a test altered; the usage writer's batches, which sum their rollup in
 * memory, leave the rollup a rebuild from the records gives. */
#include "audit/audit.h"
#include "billing/billing.h"
#include "check.h"
#include "core/buf.h"
#include "core/db.h"
#include "core/util.h"
#include "iam/iam.h"
#include "meter/usage.h"
#include "meter/usage_writer.h"

#include <stdlib.h>
#include <unistd.h>

#define YEN 1000000LL
#define GIB 1073741824LL

static char dir[] = "/tmp/ksm_test_billing_XXXXXX";
static char path[96];
static const struct ksm_billing_operator op = {"kasumi運営", "T8700110005901", "govcloud"};

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    CHECK(ksm_parse_rfc3339(rfc3339, &ms) == 0);
    return ms;
}

static enum ksm_err add_price(struct ksm_db *db, const char *body_text, int64_t now, char *why)
{
    json_t *b = json_loads(body_text, 0, NULL), *o = NULL;
    CHECK(b != NULL);
    enum ksm_err e = ksm_billing_price_add(db, b, now, &o, why);
    json_decref(b);
    json_decref(o);
    return e;
}

static void test_months(void)
{
    int64_t s, e;
    char m[8];
    CHECK(ksm_billing_month_parse("2026-03", &s, &e) == 0);
    CHECK(s == at("2026-03-01T00:00:00+09:00") && e == at("2026-04-01T00:00:00+09:00"));
    CHECK(ksm_billing_month_parse("2026-12", &s, &e) == 0 && e == at("2027-01-01T00:00:00+09:00"));
    CHECK(ksm_billing_month_parse("2026-13", &s, &e) == -1);
    CHECK(ksm_billing_month_parse("2026-3", &s, &e) == -1);
    CHECK(ksm_billing_month_parse("2026-03x", &s, &e) == -1);
    ksm_billing_month_of(at("2026-03-31T15:00:00Z"), m);   /* 2026-04-01 00:00 JST */
    CHECK_STR(m, "2026-04");
    ksm_billing_month_of(at("2026-03-31T14:59:59Z"), m);
    CHECK_STR(m, "2026-03");
    CHECK(ksm_billing_fiscal_year("2026-03") == 2025 && ksm_billing_fiscal_year("2026-04") == 2026);
}

static void test_money(void)
{
    int64_t v;
    char buf[32];
    CHECK(ksm_billing_yen_parse("0.4", &v) == 0 && v == 400000);
    CHECK(ksm_billing_yen_parse("-1", &v) == -2);
    CHECK(ksm_billing_yen_parse("0.1234567", &v) == -1);
    CHECK(ksm_billing_yen_parse("1e3", &v) == -1);
    ksm_billing_yen_format(-1234567, buf);
    CHECK_STR(buf, "-1.234567");
    ksm_billing_yen_format(5, buf);
    CHECK_STR(buf, "0.000005");
    CHECK(ksm_billing_rate_amount(1, 400000, 1000) == 400);     /* 0.4 yen per 1000 */
    CHECK(ksm_billing_rate_amount(3, 1, 2) == 2);               /* a partial micro-yen rounds up */
    CHECK(ksm_billing_rate_amount(INT64_MAX, INT64_MAX, 1) == INT64_MAX / 4);   /* saturates */
}

static void test_bad_prices(struct ksm_db *db, int64_t now)
{
    char why[KSM_BILLING_WHY];
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                        "\"price\":\"-1\"}", now, why) == KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "negative") != NULL);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"GB\","
                        "\"price\":\"1\"}", now, why) == KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "unknown unit") != NULL);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"request\","
                        "\"price\":\"1\"}", now, why) == KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "counted in byte") != NULL);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_sideways\",\"unit\":\"byte\","
                        "\"price\":\"1\"}", now, why) == KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "unknown meter") != NULL);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                        "\"price\":\"1\",\"valid_from\":\"2026-01-01T00:00:00+09:00\"}", now, why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "past") != NULL);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                        "\"price\":\"1\",\"per\":0}", now, why) == KSM_E_INVALID_ARGUMENT);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                        "\"price\":\"1\",\"colour\":\"red\"}", now, why) == KSM_E_UNKNOWN_FIELD);
    CHECK(add_price(db, "{\"service\":\"ai\",\"meter\":\"tokens\",\"unit\":\"token\","
                        "\"price\":\"1\"}", now, why) == KSM_E_INVALID_ARGUMENT);
}

/* bytes_out 10 yen/GiB all along; requests_read 0.4 yen per 1000 until 15 March, then 0.5; a
 * PUT 0.005 yen each; stored bytes 3 yen per GiB-month (30 days of byte-seconds). */
static void set_prices(struct ksm_db *db, int64_t now)
{
    char why[KSM_BILLING_WHY] = "";
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                        "\"price\":\"10\",\"per\":1073741824}", now, why) == KSM_E_OK);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"requests_read\",\"unit\":\"request\","
                        "\"price\":\"0.4\",\"per\":1000,"
                        "\"valid_until\":\"2026-03-15T00:00:00+09:00\"}", now, why) == KSM_E_OK);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"requests_read\",\"unit\":\"request\","
                        "\"price\":\"0.5\",\"per\":1000,"
                        "\"valid_from\":\"2026-03-14T00:00:00+09:00\"}", now, why) == KSM_E_CONFLICT);
    CHECK(strstr(why, "overlaps") != NULL);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"requests_read\",\"unit\":\"request\","
                        "\"price\":\"0.5\",\"per\":1000,"
                        "\"valid_from\":\"2026-03-15T00:00:00+09:00\"}", now, why) == KSM_E_OK);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"requests_write\",\"unit\":\"request\","
                        "\"price\":\"0.005\"}", now, why) == KSM_E_OK);
    /* an open-ended price is changed by ending it (not in the past) and adding the next */
    json_t *o = NULL;
    CHECK(ksm_billing_price_end(db, 1, "2026-02-01T00:00:00+09:00", now, &o, why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_billing_price_end(db, 1, "2026-04-01T00:00:00+09:00", now, &o, why) == KSM_E_OK);
    json_decref(o);
    CHECK(ksm_billing_price_end(db, 1, "2026-05-01T00:00:00+09:00", now, &o, why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "already") != NULL);
    CHECK(ksm_billing_price_end(db, 999, "2026-05-01T00:00:00+09:00", now, &o, why) ==
          KSM_E_NOT_FOUND);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\","
                        "\"price\":\"9\",\"per\":1073741824,"
                        "\"valid_from\":\"2026-04-01T00:00:00+09:00\"}", now, why) == KSM_E_OK);
    CHECK(add_price(db, "{\"service\":\"storage\",\"meter\":\"storage_byte_seconds\","
                        "\"unit\":\"byte_second\",\"price\":\"3\",\"per\":2783138807808000}", now,
                    why) == KSM_E_OK);
}

static void record(struct ksm_db *db, const char *tenant, const char *project, const char *meter,
                   int64_t q, const char *when, const char *key)
{
    struct ksm_usage_rec u = {.tenant = tenant, .project = project, .service = "storage",
                              .meter = meter, .quantity = q, .time_ms = at(when),
                              .idempotency_key = key, .resource = "bucket-a"};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
}

static int64_t cost_of(struct ksm_db *db, const char *key)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT cost_microyen FROM usage_records"
                                          " WHERE idempotency_key = ?");
    ksm_db_bind_text(st, 1, key);
    int64_t c = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return c;
}

static void record_march(struct ksm_db *db, const char *t1, const char *t2)
{
    record(db, t1, "pj_alpha", "bytes_out", 3 * GIB, "2026-02-28T15:30:00Z", "k1");   /* 1 Mar JST */
    record(db, t1, "pj_alpha", "requests_read", 1000, "2026-03-10T00:00:00+09:00", "k2");
    record(db, t1, "pj_alpha", "requests_read", 1000, "2026-03-20T00:00:00+09:00", "k3");
    record(db, t1, "pj_alpha", "requests_write", 7, "2026-03-20T00:00:00+09:00", "k4");
    record(db, t1, "pj_beta", "storage_byte_seconds", 5 * GIB * 2592000LL, "2026-03-31T23:00:00+09:00",
           "k5");
    record(db, t1, "pj_beta", "storage_bytes", 5 * GIB, "2026-03-31T23:00:00+09:00", "k6");
    record(db, t1, NULL, "requests_write", 1, "2026-03-31T15:00:00Z", "k7");   /* 1 Apr JST */
    record(db, t2, "pj_gamma", "bytes_out", GIB / 3, "2026-03-05T00:00:00+09:00", "k8");
    CHECK(cost_of(db, "k1") == 30 * YEN);
    CHECK(cost_of(db, "k2") == 400000 && cost_of(db, "k3") == 500000);   /* the price in force */
    CHECK(cost_of(db, "k4") == 35000);
    CHECK(cost_of(db, "k5") == 15 * YEN);
    CHECK(cost_of(db, "k6") == 0);                                      /* a gauge is not priced */
    CHECK(cost_of(db, "k8") == 3333334);                                /* 10/3 yen, rounded up */
}

static char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *n = fread(buf, 1, (1 << 20) - 1, f);
    buf[*n] = 0;
    fclose(f);
    return buf;
}

/* The CSV with the tenant's random id replaced by TENANT, so the golden file is stable. */
static char *report_csv(struct ksm_db *db, const char *tenant, const char *project)
{
    struct ksm_billing_report rep;
    char why[KSM_BILLING_WHY];
    CHECK(ksm_billing_report_build(db, &op, "2026-03", tenant, project, &rep, why) == KSM_E_OK);
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_billing_report_csv(&rep, &b);
    ksm_buf_append(&b, "", 1);
    ksm_billing_report_free(&rep);
    struct ksm_buf out = KSM_BUF_INIT;
    size_t tl = strlen(tenant);
    for (const char *p = b.data; *p;) {
        if (!strncmp(p, tenant, tl)) {
            ksm_buf_append(&out, "TENANT", 6);
            p += tl;
        } else
            ksm_buf_append(&out, p++, 1);
    }
    ksm_buf_append(&out, "", 1);
    ksm_buf_free(&b);
    return out.data;
}

static void test_golden(struct ksm_db *db, const char *t1)
{
    char *csv = report_csv(db, t1, NULL), golden[512];
    snprintf(golden, sizeof golden, "%s/tests/data/billing/report-2026-03.csv", KSM_SOURCE_DIR);
    if (getenv("KSM_UPDATE_GOLDEN")) {
        FILE *f = fopen(golden, "wb");
        fputs(csv, f);
        fclose(f);
    }
    size_t n = 0;
    char *want = slurp(golden, &n);
    CHECK(want && !strcmp(want, csv));
    if (want && strcmp(want, csv))
        fprintf(stderr, "report differs from %s:\n%s", golden, csv);
    free(want);
    free(csv);
}

static int64_t yen_field(json_t *o, const char *k)
{
    return strtoll(json_string_value(json_object_get(o, k)), NULL, 10);
}

/* Σ lines = 税込; 税抜 + 税 = 税込; the tax is 10% of 税抜 rounded down, on one Tax line. */
static void check_invoice(json_t *inv)
{
    int64_t sum = 0, ntax = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(inv, "lines"), i, l) {
        int64_t v;
        const char *c = json_string_value(json_object_get(l, "BilledCost"));
        char digits[40];
        snprintf(digits, sizeof digits, "%s", c);
        char *dot = strchr(digits, '.');
        memmove(dot, dot + 1, strlen(dot));
        v = strtoll(digits, NULL, 10);
        sum += v;
        ntax += !strcmp(json_string_value(json_object_get(l, "ChargeCategory")), "Tax");
    }
    int64_t excl = yen_field(inv, "amount_excluding_tax"), tax = yen_field(inv, "consumption_tax"),
            incl = yen_field(inv, "amount_including_tax");
    CHECK(ntax == 1);
    CHECK(sum == incl * YEN);
    CHECK(excl + tax == incl);
    CHECK(tax == excl / 10);
}

static void test_report_json(struct ksm_db *db, const char *t1)
{
    struct ksm_billing_report rep;
    char why[KSM_BILLING_WHY];
    CHECK(ksm_billing_report_build(db, &op, "2026-03", NULL, NULL, &rep, why) == KSM_E_OK);
    json_t *j = ksm_billing_report_json(&rep);
    ksm_billing_report_free(&rep);
    json_t *invs = json_object_get(j, "invoices");
    CHECK(json_array_size(invs) == 2);   /* one invoice per tenant, each with its own tax */
    size_t i;
    json_t *inv;
    json_array_foreach(invs, i, inv)
        check_invoice(inv);
    CHECK(json_integer_value(json_object_get(j, "fiscal_year")) == 2025);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "operator"), "registration_number")),
              "T8700110005901");
    json_decref(j);
    CHECK(ksm_billing_report_build(db, &op, "2026-3", t1, NULL, &rep, why) == KSM_E_INVALID_ARGUMENT);
    ksm_billing_report_free(&rep);
}

static void test_close(struct ksm_db *db, const char *t1)
{
    char why[KSM_BILLING_WHY];
    json_t *o = NULL;
    char *before = report_csv(db, t1, NULL);
    CHECK(ksm_billing_month_close(db, "2026-03", at("2026-03-31T23:59:00+09:00"), "u", &o, why) ==
          KSM_E_INVALID_ARGUMENT);   /* not ended yet */
    CHECK(ksm_billing_month_close(db, "2026-03", at("2026-04-02T09:00:00+09:00"), "u", &o, why) ==
          KSM_E_OK);
    json_decref(o);
    CHECK(ksm_billing_month_close(db, "2026-03", at("2026-04-02T09:00:00+09:00"), "u", &o, why) ==
          KSM_E_CONFLICT);
    char *closed = report_csv(db, t1, NULL);
    CHECK(!strcmp(before, closed));   /* the ledger holds what the open month showed */
    record(db, t1, "pj_alpha", "bytes_out", GIB, "2026-03-30T00:00:00+09:00", "late");
    char *after = report_csv(db, t1, NULL);
    CHECK(!strcmp(before, after));   /* a late record does not change a closed month */
    free(before), free(closed), free(after);
}

/* May 2026: three requests, each with its audit record (the AI one stating its cost), closed in
 * June; the rebuild matches the ledger until one ledger row is altered, and then names that row. */
static void audit_rec(struct ksm_audit *a, const char *rid, const char *tenant, const char *when,
                      const char *detail)
{
    struct ksm_audit_rec r = {.time_ms = at(when), .request_id = rid, .principal = "u",
                              .tenant = tenant, .action = "test.call", .outcome = "success",
                              .status = 200, .detail = detail};
    ksm_audit_submit(a, &r, NULL, NULL, NULL);
}

static void usage_req(struct ksm_db *db, const char *tenant, const char *service, const char *meter,
                      int64_t q, int64_t cost, const char *when, const char *rid)
{
    struct ksm_usage_rec u = {.tenant = tenant, .project = "pj_alpha", .service = service,
                              .meter = meter, .quantity = q, .time_ms = at(when),
                              .idempotency_key = rid, .request_id = rid, .resource = "r",
                              .cost_microyen = cost};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
}

static size_t ndiffs(struct ksm_db *db, struct ksm_audit *a, json_t **out)
{
    char why[KSM_BILLING_WHY];
    CHECK(ksm_billing_recompute(db, a, "2026-05", out, why) == KSM_E_OK);
    return json_array_size(json_object_get(*out, "differences"));
}

static void test_recompute(struct ksm_db *db, const char *t1)
{
    char adir[128], key[128], err[256], why[KSM_BILLING_WHY];
    struct ksm_audit *a = NULL;
    struct ksm_audit_opts ao = {.retention_days = 365, .group_commit_ms = 5,
                                .segment_bytes = 1 << 20, .env_name = "govcloud"};
    snprintf(adir, sizeof adir, "%s/audit", dir);
    snprintf(key, sizeof key, "%s/audit-ed25519.pem", dir);
    CHECK(ksm_audit_open(&a, adir, key, &ao, err, sizeof err) == 0);
    if (!a)
        return;
    audit_rec(a, "rq-1", t1, "2026-05-10T10:00:00+09:00", NULL);
    audit_rec(a, "rq-2", t1, "2026-05-11T10:00:00+09:00", NULL);
    audit_rec(a, "rq-3", t1, "2026-05-12T10:00:00+09:00", "upstream=x tokens=900/100/0 cost_microyen=12345");
    ksm_audit_flush(a);
    usage_req(db, t1, "storage", "requests_write", 3, 0, "2026-05-10T10:00:00+09:00", "rq-1");
    usage_req(db, t1, "storage", "bytes_out", GIB, 0, "2026-05-11T10:00:00+09:00", "rq-2");
    usage_req(db, t1, "ai", "tokens", 1000, 12345, "2026-05-12T10:00:00+09:00", "rq-3");
    json_t *o = NULL;
    CHECK(ksm_billing_recompute(db, a, "2026-05", &o, why) == KSM_E_INVALID_ARGUMENT);   /* open */
    CHECK(ksm_billing_month_close(db, "2026-05", at("2026-06-02T09:00:00+09:00"), "u", &o, why) ==
          KSM_E_OK);
    json_decref(o);
    CHECK(ndiffs(db, a, &o) == 0);
    CHECK(json_integer_value(json_object_get(o, "ledger_rows")) == 3);
    json_decref(o);
    CHECK(ksm_db_exec(db, "UPDATE billing_ledger SET cost_microyen = cost_microyen + 1"
                          " WHERE month = '2026-05' AND meter = 'bytes_out'") == SQLITE_OK);
    CHECK(ndiffs(db, a, &o) == 1);
    json_t *d = json_array_get(json_object_get(o, "differences"), 0);
    CHECK_STR(json_string_value(json_object_get(d, "meter")), "bytes_out");
    CHECK(json_integer_value(json_object_get(json_object_get(d, "recomputed"), "cost_microyen")) ==
          9 * YEN);   /* the price from April */
    CHECK(json_integer_value(json_object_get(json_object_get(d, "ledger"), "cost_microyen")) ==
          9 * YEN + 1);
    json_decref(o);
    ksm_audit_close(a);
}

/* The rollup as text, every row in key order. */
static char *rollup_rows(struct ksm_db *db)
{
    struct ksm_buf b = KSM_BUF_INIT;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT day_ms, tenant, project, service, meter, resource,"
                                          " correction_of, quantity, cost_microyen, records"
                                          " FROM billing_rollup ORDER BY 1, 2, 3, 4, 5, 6, 7");
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < 10; c++)
            ksm_buf_printf(&b, "%s%s", c ? "|" : "", ksm_db_col_text(st, c));
        ksm_buf_putc(&b, '\n');
    }
    sqlite3_reset(st);
    ksm_buf_putc(&b, '\0');
    return ksm_buf_steal(&b);
}

static void submit(const char *t1, const char *service, const char *meter, const char *resource,
                   const char *when, const char *key)
{
    struct ksm_usage_rec u = {.tenant = t1, .project = "pj_batch", .service = service,
                              .meter = meter, .quantity = 7, .time_ms = at(when),
                              .idempotency_key = key, .request_id = key, .resource = resource,
                              .cost_microyen = 11};
    ksm_usage_submit(&u);
}

/* Many records of a few keys, 70 one-off keys (more than a batch holds at once), a gauge, a repeated
 * key and a late record of the closed March: what the writer's summed batches leave in the rollup
 * is exactly what a rebuild from the records makes of them. */
static void test_writer_rollup(struct ksm_db *db, const char *t1)
{
    char err[256], key[64], res[32];
    CHECK(ksm_usage_writer_start(path, err, sizeof err) == 0);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "wb-%d", i);
        submit(t1, "ai", "tokens", i % 3 ? "model-a" : "model-b",
               i % 2 ? "2026-06-01T08:59:59+09:00" : "2026-06-02T00:00:00+09:00", key);
    }
    for (int i = 0; i < 70; i++) {
        snprintf(key, sizeof key, "wb-one-%d", i);
        snprintf(res, sizeof res, "bucket-%d", i);
        submit(t1, "storage", "requests_write", res, "2026-06-03T12:00:00+09:00", key);
    }
    submit(t1, "storage", "storage_bytes", "bucket-0", "2026-06-03T12:00:00+09:00", "wb-gauge");
    submit(t1, "ai", "tokens", "model-a", "2026-06-01T10:00:00+09:00", "wb-1");   /* a repeat */
    submit(t1, "ai", "tokens", "model-a", "2026-03-15T10:00:00+09:00", "wb-late");
    ksm_usage_writer_flush();
    ksm_usage_writer_stop();
    char *written = rollup_rows(db);
    CHECK(strstr(written, "|pj_batch|ai|tokens|model-a||") != NULL);
    CHECK(strstr(written, "|2026-03|7|11|1") != NULL);   /* the late record, a correction */
    CHECK(ksm_billing_rollup_rebuild(db) == KSM_E_OK);
    char *rebuilt = rollup_rows(db);
    CHECK_STR(written, rebuilt);
    free(written);
    free(rebuilt);
}

static void open_db(struct ksm_db *db)
{
    char err[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_iam_register_schema();
    ksm_usage_register_schema();
    ksm_billing_register_schema();
    ksm_usage_set_rater(ksm_billing_rate);
    CHECK(ksm_db_open(db, path, err, sizeof err) == 0);
}

static void tenant(struct ksm_db *db, const char *kind, const char *name, const char *corp, char *id)
{
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_tenant_create(db, kind, name, corp, &o, &why) == KSM_E_OK);
    snprintf(id, 64, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
}

int main(void)
{
    struct ksm_db db;
    char t1[64], t2[64];
    int64_t now = at("2026-02-20T10:00:00+09:00");
    test_months();
    test_money();
    open_db(&db);
    tenant(&db, "local_government", "霞市, 総務課", "8700110005901", t1);
    tenant(&db, "ministry", "テスト庁", "1000011000005", t2);
    test_bad_prices(&db, now);
    set_prices(&db, now);
    record_march(&db, t1, t2);
    test_golden(&db, t1);
    test_report_json(&db, t1);
    test_close(&db, t1);
    test_recompute(&db, t1);
    test_writer_rollup(&db, t1);
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
