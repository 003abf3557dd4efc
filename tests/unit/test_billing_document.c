/* test_billing_document.c — the monthly report in Japanese (HTML with SVG charts, PDF) and the cost
 * in groups behind its charts. One tenant with a named project and usage on three days of March
 * 2026 (storage and AI): the cost by day, by service and by project each add up to the invoice's
 * usage subtotal; the HTML equals the golden file tests/data/billing/report-2026-03.html (tenant
 * and project ids replaced; KSM_UPDATE_GOLDEN=1 rewrites it); the PDF, read back by pdftotext,
 * carries the registration number, the invoice's 税抜, 消費税 and 税込 with 税抜 + 税 = 税込, and
 * every line's amount exactly as the CSV writes it. */
#include "audit/audit.h"
#include "billing/billing.h"
#include "billing/billing_records.h"
#include "check.h"
#include "core/db.h"
#include "core/util.h"
#include "iam/iam.h"
#include "meter/usage.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define YEN 1000000LL
#define GIB 1073741824LL

static char dir[] = "/tmp/ksm_test_billing_doc_XXXXXX";
static const struct ksm_billing_operator op = {"kasumi運営", "T8700110005901", "govcloud"};

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    CHECK(ksm_parse_rfc3339(rfc3339, &ms) == 0);
    return ms;
}

static void price(struct ksm_db *db, const char *body_text)
{
    char why[KSM_BILLING_WHY] = "";
    json_t *b = json_loads(body_text, 0, NULL), *o = NULL;
    CHECK(ksm_billing_price_add(db, b, at("2026-02-20T10:00:00+09:00"), &o, why) == KSM_E_OK);
    json_decref(b);
    json_decref(o);
}

static void use(struct ksm_db *db, const char *tenant, const char *project, const char *service,
                const char *meter, int64_t q, int64_t cost, const char *when, const char *key)
{
    struct ksm_usage_rec u = {.tenant = tenant,
                              .project = project,
                              .service = service,
                              .meter = meter,
                              .quantity = q,
                              .time_ms = at(when),
                              .idempotency_key = key, .request_id = key,
                              .resource = !strcmp(service, "ai") ? "chat-large" : "docs",
                              .cost_microyen = cost};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
}

static void setup(struct ksm_db *db, char *t1, char *p1)
{
    char path[96], err[256];
    const char *why;
    json_t *o = NULL;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_iam_register_schema();
    ksm_usage_register_schema();
    ksm_billing_register_schema();
    ksm_usage_set_rater(ksm_billing_rate);
    CHECK(ksm_db_open(db, path, err, sizeof err) == 0);
    CHECK(ksm_iam_tenant_create(db, "local_government", "霞市 <総務課>", "8700110005901", &o,
                                &why) == KSM_E_OK);
    snprintf(t1, 64, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    CHECK(ksm_iam_project_create(db, t1, "住民記録システム", "prod", NULL, &o, &why) == KSM_E_OK);
    snprintf(p1, 64, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
    price(db, "{\"service\":\"storage\",\"meter\":\"bytes_out\",\"unit\":\"byte\",\"price\":\"10\","
              "\"per\":1073741824}");
    price(db, "{\"service\":\"storage\",\"meter\":\"requests_read\",\"unit\":\"request\","
              "\"price\":\"0.4\",\"per\":1000}");
    use(db, t1, p1, "storage", "bytes_out", 3 * GIB, 0, "2026-03-01T09:00:00+09:00", "d1");
    use(db, t1, p1, "storage", "requests_read", 2500, 0, "2026-03-10T12:00:00+09:00", "d2");
    use(db, t1, p1, "ai", "tokens", 120000, 1234567, "2026-03-10T13:00:00+09:00", "d3");
    use(db, t1, NULL, "storage", "bytes_out", GIB / 3, 0, "2026-03-31T23:59:00+09:00", "d4");
}

/* text with every occurrence of each from[i] replaced by to[i]. */
static char *replace(const char *text, const char *const *from, const char *const *to, size_t n)
{
    struct ksm_buf out = KSM_BUF_INIT;
    for (const char *p = text; *p;) {
        size_t i;
        for (i = 0; i < n; i++)
            if (!strncmp(p, from[i], strlen(from[i])))
                break;
        if (i < n) {
            ksm_buf_puts(&out, to[i]);
            p += strlen(from[i]);
        } else {
            ksm_buf_putc(&out, *p++);
        }
    }
    ksm_buf_putc(&out, 0);
    return ksm_buf_steal(&out);
}

static int64_t group_sum(struct ksm_db *db, const struct ksm_billing_report *rep, const char *t,
                         enum ksm_billing_group_by by, size_t *n)
{
    struct ksm_billing_usage u;
    int64_t sum = 0;
    CHECK(ksm_billing_usage_build(db, rep, t, by, &u) == KSM_E_OK);
    for (size_t i = 0; i < u.n; i++)
        sum += u.g[i].cost_microyen;
    CHECK(sum == u.total_microyen);
    *n = u.n;
    ksm_billing_usage_free(&u);
    return sum;
}

static void test_groups(struct ksm_db *db, const struct ksm_billing_report *rep, const char *t1)
{
    size_t n;
    int64_t sub = rep->inv[0].subtotal_microyen;
    CHECK(sub == 30 * YEN + 1000000 + 1234567 + 3333334);
    CHECK(group_sum(db, rep, t1, KSM_BILLING_BY_DAY, &n) == sub && n == 31); /* every day */
    CHECK(group_sum(db, rep, t1, KSM_BILLING_BY_SERVICE, &n) == sub && n == 2);
    CHECK(group_sum(db, rep, t1, KSM_BILLING_BY_PROJECT, &n) == sub && n == 2);
    struct ksm_billing_usage u;
    CHECK(ksm_billing_usage_build(db, rep, t1, KSM_BILLING_BY_DAY, &u) == KSM_E_OK);
    CHECK_STR(u.g[9].key, "2026-03-10");
    CHECK(u.g[9].cost_microyen == 1000000 + 1234567 && u.g[9].records == 2);
    CHECK(u.g[30].cost_microyen == 3333334); /* 23:59 JST on the 31st is the 31st */
    json_t *j = ksm_billing_usage_json(rep, t1, &u);
    CHECK_STR(json_string_value(json_object_get(j, "group_by")), "day");
    CHECK_STR(json_string_value(json_object_get(j, "total")), "35.567901");
    ksm_billing_usage_free(&u);
    json_decref(j);
    CHECK(ksm_billing_group_by_parse("week") == -1);
}

static char *slurp(const char *p)
{
    size_t n = 0;
    return ksm_read_file(p, &n);
}

static void test_html(struct ksm_db *db, const struct ksm_billing_report *rep, const char *t1,
                      const char *p1)
{
    struct ksm_buf b = KSM_BUF_INIT;
    struct ksm_billing_usage days;
    CHECK(ksm_billing_usage_build(db, rep, t1, KSM_BILLING_BY_DAY, &days) == KSM_E_OK);
    ksm_billing_report_html(rep, &days, &b);
    ksm_billing_usage_free(&days);
    ksm_buf_putc(&b, 0);
    const char *from[] = {t1, p1}, *to[] = {"TENANT", "PROJECT"};
    char *html = replace(b.data, from, to, 2), golden[512];
    ksm_buf_free(&b);
    CHECK(strstr(html, "<dt>登録番号</dt><dd>T8700110005901</dd>"));
    CHECK(strstr(html, "霞市 &lt;総務課&gt;") && !strstr(html, "<総務課>"));
    CHECK(
        strstr(html, "<td class=\"num\">35</td><td class=\"num\">3</td><td class=\"num\">38</td>"));
    CHECK(strstr(html, "<td>1円未満切捨て</td><td></td><td></td><td></td><td "
                       "class=\"num\"></td><td class=\"num\">-0.567901"));
    CHECK(strstr(html, "<title>03-10: 2.234567円</title>")); /* the day's point */
    snprintf(golden, sizeof golden, "%s/tests/data/billing/report-2026-03.html", KSM_SOURCE_DIR);
    if (getenv("KSM_UPDATE_GOLDEN"))
        CHECK(ksm_write_file_durable(golden, html, strlen(html), 0644) == 0);
    char *want = slurp(golden);
    CHECK(want && !strcmp(want, html));
    if (want && strcmp(want, html))
        fprintf(stderr, "the HTML report differs from %s:\n%s", golden, html);
    free(want);
    free(html);
}

static char *pdftotext(const char *data, size_t len)
{
    char path[] = "/tmp/ksm_test_billing_pdf_XXXXXX", cmd[128];
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof cmd, "pdftotext -layout '%s' -", path);
    FILE *p = popen(cmd, "r");
    struct ksm_buf b = KSM_BUF_INIT;
    char chunk[4096];
    size_t n;
    while (p && (n = fread(chunk, 1, sizeof chunk, p)) > 0)
        ksm_buf_append(&b, chunk, n);
    CHECK(p && pclose(p) == 0);
    unlink(path);
    ksm_buf_putc(&b, 0);
    return ksm_buf_steal(&b);
}

/* Every usage and rounding line's BilledCost of the JSON (the CSV's numbers) is in the PDF's text,
 * and so are the invoice's 税抜, 消費税 and 税込 on their rows. */
static void test_pdf(struct ksm_db *db, const struct ksm_billing_report *rep, const char *t1)
{
    struct ksm_billing_usage days;
    char *data = NULL;
    size_t len = 0;
    CHECK(ksm_billing_usage_build(db, rep, t1, KSM_BILLING_BY_DAY, &days) == KSM_E_OK);
    CHECK(ksm_billing_report_pdf(rep, &days, &data, &len) == 0);
    ksm_billing_usage_free(&days);
    if (!data)
        return;
    const char *keep = getenv("KSM_KEEP_PDF"); /* a path: the PDF is left there to look at */
    if (keep)
        CHECK(ksm_write_file_durable(keep, data, len, 0644) == 0);
    char *text = pdftotext(data, len);
    free(data);
    json_t *j = ksm_billing_report_json(rep),
           *inv = json_array_get(json_object_get(j, "invoices"), 0);
    json_t *l;
    size_t i;
    json_array_foreach(json_object_get(inv, "lines"), i, l)
    {
        const char *cat = json_string_value(json_object_get(l, "ChargeCategory"));
        const char *cost = json_string_value(json_object_get(l, "BilledCost"));
        if (strcmp(cat, "Tax") && !strstr(text, cost)) {
            fprintf(stderr, "PDF lacks the %s line's %s\n", cat, cost);
            CHECK(0);
        }
    }
    CHECK_STR(json_string_value(json_object_get(inv, "amount_excluding_tax")), "35");
    CHECK_STR(json_string_value(json_object_get(inv, "consumption_tax")), "3");
    CHECK_STR(json_string_value(json_object_get(inv, "amount_including_tax")), "38");
    CHECK(strstr(text, "利用実績報告書 2026年3月") && strstr(text, "T8700110005901"));
    CHECK(strstr(text, "住民記録システム") && strstr(text, "霞市 <総務課>"));
    CHECK(strstr(text, "サービス別") && strstr(text, "プロジェクト別") && strstr(text, "日別"));
    CHECK(strstr(text, "34.333334円") && strstr(text, "2.234567円")); /* storage; the 10th */
    /* the invoice's row: 税抜 35, 税 3, 税込 38, in this order after its number */
    char *row = strstr(text, "govcloud-202603-");
    CHECK(row && strstr(row, " 35 ") && strstr(row, " 3 ") && strstr(row, " 38"));
    char *total = strstr(text, "税込 合計");
    CHECK(total && strstr(total, "38"));
    if (check_failed)
        fprintf(stderr, "pdftotext:\n%s\n", text);
    json_decref(j);
    free(text);
}

static char *csv_of(struct ksm_db *db, const char *month, const char *t1)
{
    struct ksm_billing_report rep;
    char why[KSM_BILLING_WHY];
    struct ksm_buf b = KSM_BUF_INIT;
    CHECK(ksm_billing_report_build(db, &op, month, t1, NULL, &rep, why) == KSM_E_OK);
    ksm_billing_report_csv(&rep, &b);
    ksm_buf_putc(&b, 0);
    ksm_billing_report_free(&rep);
    return ksm_buf_steal(&b);
}

static void close_month(struct ksm_db *db, const char *month, const char *now)
{
    char why[KSM_BILLING_WHY];
    json_t *o = NULL;
    CHECK(ksm_billing_month_close(db, month, at(now), "u", &o, why) == KSM_E_OK);
    json_decref(o);
}

/* The usage record key arrived at when (the sink stamps the real clock); the rollup is rebuilt
 * from the records, as it would have been written then. */
static void arrived(struct ksm_db *db, const char *key, const char *when)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE usage_records SET recorded_ms = ?"
                                          " WHERE idempotency_key = ?");
    sqlite3_bind_int64(st, 1, at(when));
    ksm_db_bind_text(st, 2, key);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
    CHECK(ksm_billing_rollup_rebuild(db) == KSM_E_OK);
}

static size_t recompute(struct ksm_db *db, struct ksm_audit *a, const char *month, json_t **out)
{
    char why[KSM_BILLING_WHY];
    CHECK(ksm_billing_recompute(db, a, month, out, why) == KSM_E_OK);
    return json_array_size(json_object_get(*out, "differences"));
}

static void test_corrections(struct ksm_db *db, const char *t1, const char *p1)
{
    char *march = csv_of(db, "2026-03", t1);
    close_month(db, "2026-03", "2026-04-02T09:00:00+09:00");
    use(db, t1, p1, "storage", "bytes_out", GIB, 0, "2026-03-20T10:00:00+09:00", "late");
    arrived(db, "late", "2026-04-05T10:00:00+09:00");
    use(db, t1, p1, "storage", "bytes_out", 2 * GIB, 0, "2026-04-03T10:00:00+09:00", "april");
    arrived(db, "april", "2026-04-03T10:00:01+09:00");
    char *march_after = csv_of(db, "2026-03", t1), *april = csv_of(db, "2026-04", t1);
    CHECK(!strcmp(march, march_after));   /* the closed month never changes */
    CHECK(strstr(april, ",Usage,Correction,訂正 2026-03分: kasumi Object Storage bytes_out,"));
    CHECK(strstr(april, "2026-02-28T15:00:00Z,2026-03-31T15:00:00Z,Usage,Correction,"));
    CHECK(strstr(april, ",10.000000,10.000000,10.000000,10.000000,JPY,1073741824,"));
    CHECK(strstr(april, ",govcloud,2026-03\r\n"));   /* x_CorrectionOf, the last column */
    CHECK(strstr(april, ",20.000000,20.000000,20.000000,20.000000,JPY,2147483648,"));
    CHECK(strstr(april, "消費税 10% (対象 30円)"));   /* its own 20 yen and the correction's 10 */

    struct ksm_billing_report rep;
    struct ksm_billing_usage u;
    char why[KSM_BILLING_WHY];
    CHECK(ksm_billing_report_build(db, &op, "2026-04", t1, NULL, &rep, why) == KSM_E_OK);
    CHECK(ksm_billing_usage_build(db, &rep, t1, KSM_BILLING_BY_DAY, &u) == KSM_E_OK);
    CHECK(u.g[2].cost_microyen == 20 * YEN && u.g[4].cost_microyen == 10 * YEN);   /* 3rd, 5th */
    CHECK(u.total_microyen == rep.inv[0].subtotal_microyen);
    ksm_billing_usage_free(&u);
    ksm_billing_report_free(&rep);

    close_month(db, "2026-04", "2026-05-02T09:00:00+09:00");
    char *april_closed = csv_of(db, "2026-04", t1);
    CHECK(!strcmp(april, april_closed));   /* the ledger holds the correction line as it was */
    use(db, t1, p1, "storage", "bytes_out", GIB, 0, "2026-04-20T10:00:00+09:00", "later");
    arrived(db, "later", "2026-05-06T10:00:00+09:00");
    char *april_later = csv_of(db, "2026-04", t1);
    CHECK(!strcmp(april, april_later));

    struct ksm_audit *a = NULL;
    char adir[128], key[128], err[256];
    struct ksm_audit_opts ao = {.retention_days = 365, .group_commit_ms = 5,
                                .segment_bytes = 1 << 20, .env_name = "govcloud"};
    snprintf(adir, sizeof adir, "%s/audit", dir);
    snprintf(key, sizeof key, "%s/audit-ed25519.pem", dir);
    CHECK(ksm_audit_open(&a, adir, key, &ao, err, sizeof err) == 0);
    if (!a)
        return;
    /* each record's request in the audit log, the AI call's stating its cost */
    static const char *const reqs[][2] = {
        {"d1", "2026-03-01T09:00:00+09:00"}, {"d2", "2026-03-10T12:00:00+09:00"},
        {"d3", "2026-03-10T13:00:00+09:00"}, {"d4", "2026-03-31T23:59:00+09:00"},
        {"late", "2026-03-20T10:00:00+09:00"}, {"april", "2026-04-03T10:00:00+09:00"},
        {"later", "2026-04-20T10:00:00+09:00"}};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        struct ksm_audit_rec r = {.time_ms = at(reqs[i][1]), .request_id = reqs[i][0],
                                  .principal = "u", .tenant = t1, .action = "test.call",
                                  .outcome = "success", .status = 200,
                                  .detail = !strcmp(reqs[i][0], "d3")   ? "cost_microyen=1234567"
                                            : !strcmp(reqs[i][0], "d1") ? "size=9 bytes_in=0 "
                                                                          "bytes_out=3221225472"
                                                                        : NULL};
        ksm_audit_submit(a, &r, NULL, NULL, NULL);
    }
    ksm_audit_flush(a);
    json_t *o = NULL;
    CHECK(recompute(db, a, "2026-03", &o) == 0);   /* the late record is not March's any more */
    if (json_array_size(json_object_get(o, "differences"))) {
        char *dump = json_dumps(o, JSON_COMPACT);
        fprintf(stderr, "%s\n", dump);
        free(dump);
    }
    json_decref(o);
    CHECK(recompute(db, a, "2026-04", &o) == 0);
    json_decref(o);
    CHECK(ksm_db_exec(db, "UPDATE billing_ledger SET quantity = quantity + 1"
                          " WHERE month = '2026-04' AND correction_of = '2026-03'") == SQLITE_OK);
    CHECK(recompute(db, a, "2026-04", &o) == 1);
    json_t *d = json_array_get(json_object_get(o, "differences"), 0);
    CHECK_STR(json_string_value(json_object_get(d, "correction_of")), "2026-03");
    json_decref(o);
    /* a download's size forged in both its usage record and the ledger (cost to match): the size
     * its request's audit record states is what the month is rebuilt with */
    CHECK(ksm_db_exec(db, "UPDATE usage_records SET quantity = 4294967296 WHERE idempotency_key = 'd1';"
                          "UPDATE billing_ledger SET quantity = 4294967296, cost_microyen = 40000000"
                          " WHERE month = '2026-03' AND meter = 'bytes_out' AND project IS NOT NULL"
                          " AND project <> ''") == SQLITE_OK);
    CHECK(recompute(db, a, "2026-03", &o) == 1);
    d = json_object_get(json_array_get(json_object_get(o, "differences"), 0), "recomputed");
    CHECK(json_integer_value(json_object_get(d, "quantity")) == 3 * GIB);
    CHECK(json_integer_value(json_object_get(d, "cost_microyen")) == 30 * YEN);
    json_decref(o);
    ksm_audit_close(a);
    free(march), free(march_after), free(april), free(april_closed), free(april_later);
}

/* The rollup's rows from since on as text, in key order. */
static char *rollup_dump(struct ksm_db *db, int64_t since)
{
    struct ksm_buf b = KSM_BUF_INIT;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT day_ms, tenant, project, service, meter, resource,"
                                          " correction_of, quantity, cost_microyen, records"
                                          " FROM billing_rollup WHERE day_ms >= ?"
                                          " ORDER BY 1, 2, 3, 4, 5, 6, 7");
    sqlite3_bind_int64(st, 1, since);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < 10; c++)
            ksm_buf_printf(&b, "%s|", ksm_db_col_text(st, c));
        ksm_buf_putc(&b, '\n');
    }
    sqlite3_reset(st);
    ksm_buf_putc(&b, 0);
    return ksm_buf_steal(&b);
}

/* The month's rows as the report used to sum them: straight from the records (billing_records.h). */
#define RAW_SQL                                                                                    \
    "SELECT tenant, project, service, meter, resource, SUM(quantity), SUM(cost_microyen), COUNT(*)," \
    " correction_of FROM (" KSM_BILLING_RECORDS_SQL ") WHERE" KSM_BILLING_NOT_GAUGE                 \
    " GROUP BY tenant, project, service, meter, resource, correction_of ORDER BY tenant,"         \
    " project IS NOT NULL, project, correction_of IS NOT NULL, correction_of, service, meter,"     \
    " resource"

/* The report's rows read "" for a NULL text, correction_of stays NULL. */
static bool same_col(sqlite3_stmt *st, int c, const char *s)
{
    const char *t = (const char *)sqlite3_column_text(st, c);
    return c == 8 && (!t || !s) ? !t && !s : !strcmp(t ? t : "", s ? s : "");
}

static void check_raw_equal(struct ksm_db *db, const char *month)
{
    struct ksm_billing_report rep;
    char why[KSM_BILLING_WHY];
    CHECK(ksm_billing_report_build(db, &op, month, NULL, NULL, &rep, why) == KSM_E_OK);
    sqlite3_stmt *st = ksm_db_prepare(db, RAW_SQL);
    sqlite3_bind_int64(st, 1, rep.start_ms);
    sqlite3_bind_int64(st, 2, rep.end_ms);
    ksm_billing_bind_watermark(st, db, month);
    size_t i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const struct ksm_billing_row *w = i < rep.nrows ? &rep.rows[i] : NULL;
        i++;
        CHECK(w && same_col(st, 0, w->tenant) && same_col(st, 1, w->project) &&
              same_col(st, 2, w->service) && same_col(st, 3, w->meter) &&
              same_col(st, 4, w->resource) && sqlite3_column_int64(st, 5) == w->quantity &&
              sqlite3_column_int64(st, 6) == w->cost_microyen &&
              sqlite3_column_int64(st, 7) == w->records && same_col(st, 8, w->correction_of));
    }
    sqlite3_reset(st);
    CHECK(i == rep.nrows && rep.nrows > 3);
    struct ksm_billing_usage u;
    int64_t total = 0;
    CHECK(ksm_billing_usage_build(db, &rep, NULL, KSM_BILLING_BY_DAY, &u) == KSM_E_OK);
    for (size_t k = 0; k < rep.ninv; k++)
        total += rep.inv[k].subtotal_microyen;
    CHECK(u.total_microyen == total);
    ksm_billing_usage_free(&u);
    ksm_billing_report_free(&rep);
}

/* The rollup the sink writes (at the real clock: corrections are booked today) gives the report
 * the raw records give, for a mix of tenants, projects, services, a gauge, a repeated key, the
 * month before closed and late records for it; and it equals the rollup rebuilt from the records
 * (what the migration builds for records written before it). */
static void test_rollup(struct ksm_db *db, const char *t1, const char *p1)
{
    int64_t now = ksm_now_ms(), start, end, pstart, pend;
    char cur[8], prev[8], when[40], key[32];
    time_t s = (time_t)(now / 1000 + 9 * 3600);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(cur, sizeof cur, "%Y-%m", &tm);
    CHECK(ksm_billing_month_parse(cur, &start, &end) == 0);
    s = (time_t)((start - 1) / 1000 + 9 * 3600);
    gmtime_r(&s, &tm);
    strftime(prev, sizeof prev, "%Y-%m", &tm);
    CHECK(ksm_billing_month_parse(prev, &pstart, &pend) == 0);
    static const char *const svc[][2] = {{"storage", "bytes_out"}, {"ai", "input_tokens"},
                                         {"storage", "storage_bytes"}, {"storage", "requests_write"}};
    for (int i = 0; i < 40; i++) {   /* the month before, over its days */
        ksm_rfc3339_ms(pstart + (int64_t)i * 17 * 3600 * 1000 % (pend - pstart), when);
        snprintf(key, sizeof key, "r-prev-%d", i);
        use(db, i % 3 ? t1 : "t-other", i % 4 ? p1 : NULL, svc[i % 4][0], svc[i % 4][1],
            (i + 1) * GIB / 8, i % 4 == 1 ? 1000 + i : 0, when, key);
    }
    use(db, "t-other", p1, "storage", "requests_write", 40 * GIB / 8, 0, when, "r-prev-39"); /* again */
    close_month(db, prev, "2099-01-01T00:00:00Z");
    for (int i = 0; i < 30; i++) {   /* late for the closed month, and this month's own */
        ksm_rfc3339_ms(i % 2 ? pstart + (int64_t)i * 3600 * 1000
                             : start + (int64_t)i * 5 * 3600 * 1000 % (end - start), when);
        snprintf(key, sizeof key, "r-cur-%d", i);
        use(db, i % 3 ? t1 : "t-other", i % 5 ? p1 : NULL, svc[i % 4][0], svc[i % 4][1],
            (i + 2) * GIB / 4, i % 4 == 1 ? 2000 + i : 0, when, key);
    }
    check_raw_equal(db, cur);
    check_raw_equal(db, prev);
    /* (the months before were changed behind the sink's back by test_corrections) */
    char *written = rollup_dump(db, pstart);
    CHECK(ksm_billing_rollup_rebuild(db) == KSM_E_OK);
    char *rebuilt = rollup_dump(db, pstart);
    CHECK_STR(written, rebuilt);
    free(written), free(rebuilt);
}

int main(void)
{
    struct ksm_db db;
    char t1[64], p1[64], why[KSM_BILLING_WHY];
    setup(&db, t1, p1);
    struct ksm_billing_report rep;
    CHECK(ksm_billing_report_build(&db, &op, "2026-03", t1, NULL, &rep, why) == KSM_E_OK);
    test_groups(&db, &rep, t1);
    test_html(&db, &rep, t1, p1);
    test_pdf(&db, &rep, t1);
    ksm_billing_report_free(&rep);
    test_corrections(&db, t1, p1);
    test_rollup(&db, t1, p1);
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
