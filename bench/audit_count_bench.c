/* audit_count_bench.c — how long a count over a long period takes (not part of the tests).
 *
 *   audit_count_bench DIR [records=1000000] [days=365]
 *
 * Writes `records` AI records (a decision and a request's own record, alternately, as the gateway
 * writes them: 20 tenants, 50 users, 3 models, classes 1–3, sent to JP or US) spread evenly over
 * `days`, with the gateway's facet function (ai/ai_facet.c), then times, each the median of 5:
 *
 *   count/all      ksm_audit_count of every decision over the whole period, every tenant
 *   count/tenant   the same for one tenant
 *   count/30d      one tenant's destinations over 30 days in the middle (both ends inside blocks)
 *   scan/tenant    one tenant's decision records read through ksm_audit_query, 1,000 a page, as
 *                  GET /admin/v1/ai/decisions did before the counts (it stopped at 200,000)
 *   scan/all       every tenant's decision records read so (without its stop)
 *
 * and checks that count/tenant's total equals the records scan/tenant read. Then it times the
 * index's rebuild from the log (index.db removed, the log opened again: what the first start of a
 * version with a new index layout does) and counts again. DIR must not exist; its key goes to
 * DIR.key.pem. */
#include "ai/ai_facet.h"
#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ksm_audit *audit;
static int64_t t0;
static int64_t span_ms;

static void fill(long n)
{
    static const char *models[] = {"chat", "embed", "large"};
    static const char *decisions[] = {"pass", "pass", "pass", "mask", "block", "refuse"};
    for (long i = 0; i < n; i++) {
        char tenant[16], project[24], user[24], detail[160];
        long req = i / 2;
        snprintf(tenant, sizeof tenant, "tn_%02ld", req % 20);
        snprintf(project, sizeof project, "pj_%02ld_%ld", req % 20, req / 20 % 2);
        snprintf(user, sizeof user, "us_%02ld", req % 50);
        int cls = (int)(req % 3) + 1;
        struct ksm_audit_rec r = {.time_ms = t0 + (int64_t)((double)span_ms * (double)i / (double)n),
                                  .request_id = "req", .principal = user, .tenant = tenant,
                                  .project = project, .source = "192.0.2.1",
                                  .target = models[req % 3], .outcome = "success", .status = 200,
                                  .detail = detail};
        if (i % 2 == 0) {
            r.action = "ai.decision";
            snprintf(detail, sizeof detail,
                     "class=%d decision=%s masked=- prompt_hmac=0123456789abcdef0123456789abcdef"
                     " targets=1", cls, decisions[req % 6]);
        } else {
            r.action = "ai.chat";
            snprintf(detail, sizeof detail, "tokens=120+48 cost_microyen=9120 class=%d sent_to=%s",
                     cls, req % 7 ? "JP" : "US");
        }
        ksm_audit_submit(audit, &r, NULL, NULL, NULL);
        if (i % 50000 == 49999)
            ksm_audit_flush(audit);
    }
    ksm_audit_flush(audit);
}

static void add(void *arg, const char *facet, int64_t n)
{
    (void)facet;
    *(int64_t *)arg += n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ms, median of 5; *out the last run's total */
static double timed_count(const struct ksm_audit_filter *f, const char *prefix, int64_t *out)
{
    double ms[5];
    for (int k = 0; k < 5; k++) {
        int64_t total = 0;
        uint64_t s = ksm_mono_ns();
        if (ksm_audit_count(audit, f, prefix, add, &total))
            fprintf(stderr, "count failed\n");
        ms[k] = (double)(ksm_mono_ns() - s) / 1e6;
        *out = total;
    }
    qsort(ms, 5, sizeof ms[0], cmp_d);
    return ms[2];
}

static double timed_scan(const struct ksm_audit_filter *f0, int64_t *out)
{
    double ms[5];
    for (int k = 0; k < 5; k++) {
        struct ksm_audit_filter f = *f0;
        char *cur = NULL;
        int64_t total = 0;
        uint64_t s = ksm_mono_ns();
        do {
            json_t *items = json_array();
            char *next = NULL;
            f.cursor = cur;
            if (ksm_audit_query(audit, &f, items, &next))
                fprintf(stderr, "query failed\n");
            total += (int64_t)json_array_size(items);
            json_decref(items);
            free(cur);
            cur = next;
        } while (cur);
        ms[k] = (double)(ksm_mono_ns() - s) / 1e6;
        *out = total;
    }
    qsort(ms, 5, sizeof ms[0], cmp_d);
    return ms[2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [records] [days]\n", argv[0]);
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    int days = argc > 3 ? atoi(argv[3]) : 365;
    ksm_log_min = KSM_LOG_WARN;
    char key[4096], err[256];
    snprintf(key, sizeof key, "%s.key.pem", argv[1]);
    struct ksm_audit_opts o = {.retention_days = 365, .group_commit_ms = 10,
                               .segment_bytes = 64u << 20, .env_name = "govcloud",
                               .facet = ksm_ai_audit_facet};
    if (ksm_audit_open(&audit, argv[1], key, &o, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    span_ms = (int64_t)days * 86400000;
    t0 = ksm_now_ms() - span_ms - 1000;
    uint64_t s = ksm_mono_ns();
    fill(n);
    printf("wrote %ld records over %d days in %.1f s\n", n, days, (double)(ksm_mono_ns() - s) / 1e9);
    struct ksm_audit_filter all = {.since_ms = t0 - 1, .until_ms = t0 + span_ms + 1};
    struct ksm_audit_filter one = all;
    one.tenant = "tn_07";
    struct ksm_audit_filter month = one;
    month.since_ms = t0 + span_ms / 2 + 12345;
    month.until_ms = month.since_ms + 30LL * 86400000;
    int64_t c_all, c_one, c_month, s_one;
    double m_all = timed_count(&all, KSM_AI_FACET_DECISION, &c_all);
    double m_one = timed_count(&one, KSM_AI_FACET_DECISION, &c_one);
    double m_month = timed_count(&month, KSM_AI_FACET_SENT, &c_month);
    struct ksm_audit_filter scan = one;
    scan.action = "ai.decision";
    scan.limit = 1000;
    double m_scan = timed_scan(&scan, &s_one);
    int64_t s_all;
    scan.tenant = NULL;
    double m_scan_all = timed_scan(&scan, &s_all);
    printf("count/all     %9.1f ms  %lld decisions\n", m_all, (long long)c_all);
    printf("count/tenant  %9.1f ms  %lld decisions\n", m_one, (long long)c_one);
    printf("count/30d     %9.1f ms  %lld requests sent\n", m_month, (long long)c_month);
    printf("scan/tenant   %9.1f ms  %lld records\n", m_scan, (long long)s_one);
    printf("scan/all      %9.1f ms  %lld records\n", m_scan_all, (long long)s_all);
    ksm_audit_close(audit);
    static const char *const files[] = {"index.db", "index.db-wal", "index.db-shm"};
    for (int i = 0; i < 3; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", argv[1], files[i]);
        unlink(path);
    }
    s = ksm_mono_ns();
    if (ksm_audit_open(&audit, argv[1], key, &o, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double rebuild = (double)(ksm_mono_ns() - s) / 1e9;
    int64_t c_again;
    double m_again = timed_count(&one, KSM_AI_FACET_DECISION, &c_again);
    printf("rebuild       %9.1f s   (%.0f records/s), then count/tenant %.1f ms\n", rebuild,
           (double)n / rebuild, m_again);
    ksm_audit_close(audit);
    if (c_one != s_one || c_all != n / 2 || s_all != c_all || c_again != c_one) {
        fprintf(stderr, "MISMATCH: count %lld, scan %lld, all %lld of %ld\n", (long long)c_one,
                (long long)s_one, (long long)c_all, n / 2);
        return 1;
    }
    return 0;
}
