/* billing_bench.c — rating and the monthly report for N usage records (default 10 million) through
 * kasumi's own functions on one thread: ksm_billing_rate (the rating hook every usage record goes
 * through when written) and ksm_billing_report_build + the CSV writer (the platform-wide report of
 * the open month, summed from the per-day rollup the sink keeps). The same records are written to a CSV file for
 * the peer (bench/billing_duckdb.mjs), which computes the same totals; bench/billing.sh runs both.
 *
 * Records are made by a fixed LCG: 50 tenants × 4 projects, storage meters (priced by the list
 * below) and AI token records (rated by the gateway: they carry their cost), times spread over March
 * 2026 (JST). They are loaded through the sink (ksm_usage_record, which also adds each to its rollup
 * row) in one transaction; the load is not timed as rating or report (the sink writes one record per
 * request in production: load_s says what it costs); the timed phases are rating and the report.
 *
 *   billing_bench N OUT.csv|- ROUNDS   → one JSON line per round: rate_s (generation included: gen_s),
 *   report_s, rows, total_microyen, ... (the data is loaded once; load_s is not part of either). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ai/ai_store.h"
#include "billing/billing.h"
#include "core/db.h"
#include "core/util.h"
#include "iam/iam.h"
#include "meter/usage.h"

#define TENANTS 50
#define PROJECTS 4

static const char *const meters[] = {"requests_read", "requests_write", "bytes_in", "bytes_out",
                                     "storage_byte_seconds"};
static const char *const models[] = {"gpt-4o", "gpt-4o-mini", "claude-sonnet"};

struct gen {
    uint64_t s;
};

static uint64_t next(struct gen *g)
{
    g->s = g->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return g->s >> 33;
}

struct rec {
    char tenant[16], project[16], resource[24];
    const char *service, *meter;
    int64_t quantity, time_ms, given_cost; /* given_cost: AI records arrive rated */
};

static void make(struct gen *g, int64_t start, int64_t span, struct rec *r)
{
    int t = (int)(next(g) % TENANTS), p = (int)(next(g) % PROJECTS);
    snprintf(r->tenant, sizeof r->tenant, "tn_%02d", t);
    snprintf(r->project, sizeof r->project, "pj_%02d_%d", t, p);
    r->time_ms = start + (int64_t)(next(g) % (uint64_t)span);
    if (next(g) % 5 == 0) {
        r->service = "ai";
        r->meter = "tokens";
        snprintf(r->resource, sizeof r->resource, "%s", models[next(g) % 3]);
        r->quantity = 100 + (int64_t)(next(g) % 4000);
        r->given_cost = r->quantity * 150 + 1; /* micro-yen, as the gateway would have rated */
        return;
    }
    int m = (int)(next(g) % 5);
    r->service = "storage";
    r->meter = meters[m];
    snprintf(r->resource, sizeof r->resource, "bk-%02d-%d-%d", t, p, (int)(next(g) % 2));
    r->quantity = m < 2 ? 1 : m < 4 ? (int64_t)(next(g) % 10000000) : (int64_t)(next(g) % 1000000000) * 3600;
    r->given_cost = 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add_price(struct ksm_db *db, const char *meter, const char *unit, const char *price,
                      int64_t per, int64_t at)
{
    char why[KSM_BILLING_WHY] = "";
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "service", "storage", "meter", meter, "unit",
                          unit, "price", price, "per", (json_int_t)per, "valid_from",
                          "2026-02-01T00:00:00+09:00"),
           *out = NULL;
    if (ksm_billing_price_add(db, b, at, &out, why) != KSM_E_OK) {
        fprintf(stderr, "price %s: %s\n", meter, why);
        exit(1);
    }
    json_decref(b);
    json_decref(out);
}

static void load(struct ksm_db *db, long n, int64_t start, int64_t span, const int64_t *cost,
                 FILE *csv)
{
    struct gen g = {42};
    struct rec r;
    ksm_db_begin(db);   /* one transaction, as the usage writer batches (LINGER_MAX at a time) */
    fprintf(csv, "tenant,project,service,meter,resource,quantity,time_ms,given_cost\n");
    for (long i = 0; i < n; i++) {
        char key[24];
        make(&g, start, span, &r);
        snprintf(key, sizeof key, "b%ld", i);
        /* through the sink, so the records are rolled up as the daemon writes them */
        struct ksm_usage_rec u = {.tenant = r.tenant, .project = r.project, .service = r.service,
                                  .meter = r.meter, .quantity = r.quantity, .time_ms = r.time_ms,
                                  .idempotency_key = key, .resource = r.resource,
                                  .cost_microyen = cost[i]};
        if (ksm_usage_record(db, &u) != KSM_E_OK) {
            fprintf(stderr, "record: %s\n", sqlite3_errmsg(db->h));
            exit(1);
        }
        fprintf(csv, "%s,%s,%s,%s,%s,%lld,%lld,%lld\n", r.tenant, r.project, r.service, r.meter,
                r.resource, (long long)r.quantity, (long long)r.time_ms, (long long)r.given_cost);
    }
    ksm_db_commit(db);
}

/* One pass of the rating hook over every record, as the sink calls it when writing; the generator
 * runs in the same loop (gen_s says how long it alone takes). */
static double rate_all(struct ksm_db *db, long n, int64_t start, int64_t span, int64_t *cost)
{
    struct gen g = {42};
    struct rec r;
    double t = now_s();
    for (long i = 0; i < n; i++) {
        make(&g, start, span, &r);
        struct ksm_usage_rec u = {.tenant = r.tenant, .project = r.project, .service = r.service,
                                  .meter = r.meter, .quantity = r.quantity, .time_ms = r.time_ms,
                                  .resource = r.resource, .cost_microyen = r.given_cost};
        cost[i] = r.given_cost ? r.given_cost : ksm_billing_rate(db, &u, r.time_ms);
        if (cost[i] < 0) {
            fprintf(stderr, "rating failed\n");
            exit(1);
        }
    }
    return now_s() - t;
}

/* The platform-wide report of the open month, summed from the usage records, written as CSV. */
static double report(struct ksm_db *db, int64_t *total, int64_t *quantity, int64_t *incl,
                     size_t *rows, size_t *invoices, size_t *bytes)
{
    struct ksm_billing_operator op = {"kasumi", "T8700110005901", "govcloud"};
    struct ksm_billing_report rep;
    struct ksm_buf out = KSM_BUF_INIT;
    char why[KSM_BILLING_WHY] = "";
    double t = now_s();
    if (ksm_billing_report_build(db, &op, "2026-03", NULL, NULL, &rep, why) != KSM_E_OK) {
        fprintf(stderr, "report: %s\n", why);
        exit(1);
    }
    ksm_billing_report_csv(&rep, &out);
    t = now_s() - t;
    *total = *quantity = *incl = 0;
    for (size_t i = 0; i < rep.nrows; i++)
        *total += rep.rows[i].cost_microyen, *quantity += rep.rows[i].quantity;
    for (size_t i = 0; i < rep.ninv; i++)
        *incl += rep.inv[i].incl_tax_yen;
    *rows = rep.nrows, *invoices = rep.ninv, *bytes = out.len;
    ksm_billing_report_free(&rep);
    ksm_buf_free(&out);
    return t;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    const char *csv_path = argc > 2 ? argv[2] : "/tmp/kasumi-billing-bench.csv";
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    char dir[] = "/tmp/ksm_billing_bench_XXXXXX", path[64], err[256];
    struct ksm_db db;
    int64_t start, end, t0;
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_iam_register_schema();
    ksm_usage_register_schema();
    ksm_ai_store_register_schema();
    ksm_billing_register_schema();
    if (ksm_db_open(&db, path, err, sizeof err)) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    /* loading only: durability is not what is measured */
    ksm_db_exec(&db, "PRAGMA synchronous=OFF");
    ksm_db_exec(&db, "PRAGMA journal_mode=MEMORY");
    ksm_db_exec(&db, "PRAGMA cache_size=-3000000"); /* 3 GB: the load is not disk-bound */
    ksm_billing_month_parse("2026-03", &start, &end);
    ksm_parse_rfc3339("2026-01-15T00:00:00Z", &t0);
    add_price(&db, "requests_read", "request", "0.4", 1000, t0);
    add_price(&db, "requests_write", "request", "0.005", 1, t0);
    add_price(&db, "bytes_in", "byte", "0", 1, t0);
    add_price(&db, "bytes_out", "byte", "11.5", 1073741824, t0);
    add_price(&db, "storage_byte_seconds", "byte_second", "2.3", 2783138807808000, t0);

    int64_t *cost = ksm_xmalloc((size_t)n * sizeof *cost);
    struct gen g = {42};
    struct rec r;
    double gen_s = now_s();
    for (long i = 0; i < n; i++)
        make(&g, start, end - start, &r);
    gen_s = now_s() - gen_s;
    rate_all(&db, n, start, end - start, cost);
    FILE *csv = fopen(strcmp(csv_path, "-") ? csv_path : "/dev/null", "w");
    if (!csv)
        return perror(csv_path), 1;
    double load_s = now_s();
    load(&db, n, start, end - start, cost, csv);
    fclose(csv);
    load_s = now_s() - load_s;
    for (int i = 0; i < rounds; i++) {
        int64_t total, quantity, incl;
        size_t rows, invoices, bytes;
        double rate_s = rate_all(&db, n, start, end - start, cost);
        double report_s = report(&db, &total, &quantity, &incl, &rows, &invoices, &bytes);
        printf("{\"engine\":\"kasumi\",\"round\":%d,\"records\":%ld,\"load_s\":%.3f,\"gen_s\":%.3f,"
               "\"rate_s\":%.3f,\"report_s\":%.3f,\"rows\":%zu,\"invoices\":%zu,"
               "\"total_microyen\":%lld,\"total_quantity\":%lld,\"incl_tax_yen\":%lld,"
               "\"csv_bytes\":%zu}\n",
               i + 1, n, load_s, gen_s, rate_s, report_s, rows, invoices, (long long)total,
               (long long)quantity, (long long)incl, bytes);
        fflush(stdout);
    }
    free(cost);
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
