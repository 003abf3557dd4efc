/* test_metrics.c — the Prometheus registry: exact-status counters, cumulative histogram buckets,
 * label escaping, a line-by-line parse of the whole exposition, collectors, and exact totals when
 * two threads hammer the same counters. The registry is process-global, so the checks run in order
 * and each one reads the totals the earlier ones left. */
#include "check.h"
#include "core/metrics.h"
#include "core/util.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>

static struct ksm_buf render(void)
{
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_metrics_render(&b);
    return b;
}

/* The value on the line that starts with series (name and labels exactly), or -1. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (!strncmp(l, series, n) && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

/* Every line is a # HELP / # TYPE comment or `name{label="value",...} number`, with label values
 * escaped per the format. */
static bool parse_line(const char *l, size_t len)
{
    if (len >= 7 && (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)))
        return true;
    size_t i = 0;
    if (i == len || !(isalpha((unsigned char)l[i]) || l[i] == '_' || l[i] == ':'))
        return false;
    while (i < len && (isalnum((unsigned char)l[i]) || l[i] == '_' || l[i] == ':'))
        i++;
    if (i < len && l[i] == '{') {
        i++;
        for (;;) {
            size_t s = i;
            while (i < len && (isalnum((unsigned char)l[i]) || l[i] == '_'))
                i++;
            if (i == s || i + 1 >= len || l[i] != '=' || l[i + 1] != '"')
                return false;
            for (i += 2; i < len && l[i] != '"'; i++)
                if (l[i] == '\\' && (++i >= len || !strchr("\\\"n", l[i])))
                    return false;
            if (i >= len)
                return false;
            i++;
            if (i < len && l[i] == ',') {
                i++;
                continue;
            }
            if (i < len && l[i] == '}') {
                i++;
                break;
            }
            return false;
        }
    }
    if (i >= len || l[i] != ' ')
        return false;
    char num[64];
    size_t nl = len - i - 1;
    if (nl == 0 || nl >= sizeof num)
        return false;
    memcpy(num, l + i + 1, nl);
    num[nl] = '\0';
    char *end;
    strtod(num, &end);
    return *end == '\0';
}

static bool parses(const char *text)
{
    bool ok = true;
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        if (!e)
            return false;   /* the format ends every line, the last one too */
        if (!parse_line(l, (size_t)(e - l))) {
            fprintf(stderr, "  bad line: %.*s\n", (int)(e - l), l);
            ok = false;
        }
        l = e + 1;
    }
    return ok;
}

static void collect(struct ksm_buf *out, void *arg)
{
    ksm_buf_printf(out, "# TYPE kasumi_audit_commit_seconds gauge\nkasumi_audit_commit_seconds %s\n",
                   (const char *)arg);
}

static void test_counts(void)
{
    static const char *const names[] = {"GET /admin/v1/tenants", "POST /admin/v1/tenants",
                                        "GET /x/\"q\"\\\n"};
    ksm_metrics_set_routes(names, 3);
    ksm_metrics_request(0, 200, 300000);          /* 0.0003 s */
    ksm_metrics_request(0, 200, 1000000);         /* exactly 0.001: le is inclusive */
    ksm_metrics_request(0, 404, 7000000);         /* 0.007 */
    ksm_metrics_request(0, 200, 20000000000ull);  /* 20 s: only +Inf */
    ksm_metrics_request(1, 201, 2000000);
    ksm_metrics_request(-1, 404, 100);
    ksm_metrics_request(2, 500, 100);
    ksm_metrics_request(9999, 400, 100);          /* out of range: unmatched */
    ksm_metrics_conn_open(1);
    ksm_metrics_conn_open(1);
    ksm_metrics_conn_open(-1);
    ksm_metrics_add_collector(collect, "0.004");

    struct ksm_buf b = render();
    const char *t = b.data;
    CHECK(parses(t));
    CHECK(value_of(t, "kasumi_http_requests_total{route=\"GET /admin/v1/tenants\",status=\"200\"}") == 3);
    CHECK(value_of(t, "kasumi_http_requests_total{route=\"GET /admin/v1/tenants\",status=\"404\"}") == 1);
    CHECK(value_of(t, "kasumi_http_requests_total{route=\"POST /admin/v1/tenants\",status=\"201\"}") == 1);
    CHECK(value_of(t, "kasumi_http_requests_total{route=\"unmatched\",status=\"404\"}") == 1);
    CHECK(value_of(t, "kasumi_http_requests_total{route=\"unmatched\",status=\"400\"}") == 1);
    /* label escaping: \ " and newline */
    CHECK(value_of(t, "kasumi_http_requests_total{route=\"GET /x/\\\"q\\\"\\\\\\n\",status=\"500\"}") == 1);
    /* cumulative buckets */
    const char *r = "kasumi_http_request_duration_seconds_bucket{route=\"GET /admin/v1/tenants\",le=";
    char series[256];
    static const struct {
        const char *le;
        double want;
    } buckets[] = {{"0.0005", 1}, {"0.001", 2}, {"0.0025", 2}, {"0.005", 2}, {"0.01", 3},
                   {"5", 3},      {"10", 3},    {"+Inf", 4}};
    for (size_t i = 0; i < KSM_NELEM(buckets); i++) {
        snprintf(series, sizeof series, "%s\"%s\"}", r, buckets[i].le);
        CHECK(value_of(t, series) == buckets[i].want);
    }
    CHECK(value_of(t, "kasumi_http_request_duration_seconds_count{route=\"GET /admin/v1/tenants\"}") == 4);
    double sum = value_of(t, "kasumi_http_request_duration_seconds_sum{route=\"GET /admin/v1/tenants\"}");
    CHECK(sum > 20.0082 && sum < 20.0084);
    CHECK(strstr(t, "# TYPE kasumi_http_requests_total counter\n") != NULL);
    CHECK(strstr(t, "# TYPE kasumi_http_request_duration_seconds histogram\n") != NULL);
    CHECK(strstr(t, "# HELP kasumi_http_request_duration_seconds ") != NULL);
    CHECK(value_of(t, "kasumi_http_open_connections") == 1);
    double start = value_of(t, "kasumi_process_start_time_seconds");
    CHECK(start > 1.7e9 && start <= (double)ksm_now_ms() / 1000);
    CHECK(value_of(t, "kasumi_audit_commit_seconds") == 0.004);
    /* a route that served nothing has no histogram */
    CHECK(strstr(t, "route=\"GET /never\"") == NULL);
    ksm_buf_free(&b);
    ksm_metrics_conn_open(-1);
}

/* A route that sees more distinct codes than it has slots counts the rest by class. */
static void test_many_statuses(void)
{
    for (int s = 200; s < 220; s++)
        ksm_metrics_request(1, s, 100);
    ksm_metrics_request(1, 0, 100);
    struct ksm_buf b = render();
    CHECK(parses(b.data));
    double total = 0;
    char series[128];
    for (int s = 100; s < 1000; s++) {
        snprintf(series, sizeof series,
                 "kasumi_http_requests_total{route=\"POST /admin/v1/tenants\",status=\"%d\"}", s);
        double v = value_of(b.data, series);
        total += v > 0 ? v : 0;
    }
    double cls = value_of(b.data, "kasumi_http_requests_total{route=\"POST /admin/v1/tenants\",status=\"2xx\"}");
    CHECK(cls > 0);
    /* status 0 (no response) is labelled 999, which took no slot: the slots were full */
    double other = value_of(b.data, "kasumi_http_requests_total{route=\"POST /admin/v1/tenants\",status=\"other\"}");
    CHECK(other == 1);
    CHECK(total + cls + other == 22);   /* the earlier 201 plus 21 here, none lost */
    ksm_buf_free(&b);
}

#define HAMMER 200000

static void *hammer(void *arg)
{
    int status = *(int *)arg;
    for (int i = 0; i < HAMMER; i++) {
        ksm_metrics_request(2, status, 1000);
        ksm_metrics_request(2, 299, 1000);
        ksm_metrics_conn_open(1);
        ksm_metrics_conn_open(-1);
    }
    return NULL;
}

static void test_threads(void)
{
    int s1 = 298, s2 = 297;
    pthread_t a, b;
    pthread_create(&a, NULL, hammer, &s1);
    pthread_create(&b, NULL, hammer, &s2);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    struct ksm_buf out = render();
    CHECK(value_of(out.data, "kasumi_http_requests_total{route=\"GET /x/\\\"q\\\"\\\\\\n\",status=\"299\"}") ==
          2 * HAMMER);
    CHECK(value_of(out.data, "kasumi_http_requests_total{route=\"GET /x/\\\"q\\\"\\\\\\n\",status=\"298\"}") ==
          HAMMER);
    CHECK(value_of(out.data, "kasumi_http_requests_total{route=\"GET /x/\\\"q\\\"\\\\\\n\",status=\"297\"}") ==
          HAMMER);
    CHECK(value_of(out.data, "kasumi_http_request_duration_seconds_count{route=\"GET /x/\\\"q\\\"\\\\\\n\"}") ==
          4 * HAMMER + 1);
    CHECK(value_of(out.data, "kasumi_http_open_connections") == 0);
    CHECK(parses(out.data));
    ksm_buf_free(&out);
}

int main(void)
{
    test_counts();
    test_many_statuses();
    test_threads();
    return CHECK_DONE();
}
