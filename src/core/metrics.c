/* metrics.c — request counters, latency histograms and gauges, rendered for Prometheus (text format
 * 0.0.4).
 *
 * The hot path (ksm_metrics_request) takes no lock: every series is a fixed slot updated with relaxed
 * atomics, since a scrape needs each number to be right, not a consistent cut across numbers. Slots
 * are per route (index + 1; slot 0 is "unmatched"). A route keeps a few status slots, claimed by
 * compare-and-swap the first time a status is seen, so the label is the exact code ("200", "404")
 * without a table of 500 counters per route; a route that sees more distinct codes than slots counts
 * the rest under their class ("4xx"). One shared array rather than per-thread shards: at our
 * request rates the contended cache lines cost less than summing shards at every scrape; shard it if
 * a profile ever says otherwise. */
#include "core/metrics.h"
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_SLOTS 8
#define MAX_COLLECTORS 16

/* Upper bounds of the latency buckets, in seconds as printed and in ns as compared. */
static const char *const bucket_le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                        "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};
static const uint64_t bucket_ns[] = {500000,    1000000,   2500000,    5000000,    10000000,
                                     25000000,  50000000,  100000000,  250000000,  500000000,
                                     1000000000, 2500000000, 5000000000, 10000000000};
#define NBUCKETS ((int)KSM_NELEM(bucket_ns))

struct route_stats {
    _Atomic int status[STATUS_SLOTS];               /* 0: free */
    _Atomic uint64_t status_count[STATUS_SLOTS];
    _Atomic uint64_t class_count[6];                /* overflow by class: 0xx? 1xx .. 5xx */
    _Atomic uint64_t bucket[NBUCKETS + 1];          /* per bucket, not cumulative; last is +Inf */
    _Atomic uint64_t sum_ns;
};

static struct route_stats stats[KSM_METRICS_MAX_ROUTES + 1];
static char *route_names[KSM_METRICS_MAX_ROUTES];
static int nroutes;
static _Atomic int64_t open_conns;
static _Atomic int64_t start_ms;

static struct {
    ksm_metrics_collect_fn fn;
    void *arg;
} collectors[MAX_COLLECTORS];
static int ncollectors;
static pthread_mutex_t collectors_mu = PTHREAD_MUTEX_INITIALIZER;

void ksm_metrics_set_routes(const char *const *names, int n)
{
    if (n > KSM_METRICS_MAX_ROUTES)
        n = KSM_METRICS_MAX_ROUTES;
    for (int i = 0; i < nroutes; i++)
        free(route_names[i]);
    for (int i = 0; i < n; i++)
        route_names[i] = ksm_xstrdup(names[i] ? names[i] : "");
    nroutes = n;
}

/* At load time rather than at the first call: the gauge is when the process began. */
__attribute__((constructor)) static void metrics_start(void)
{
    atomic_store(&start_ms, ksm_now_ms());
}

void ksm_metrics_conn_open(int delta)
{
    atomic_fetch_add_explicit(&open_conns, delta, memory_order_relaxed);
}

static void count_status(struct route_stats *rs, int status)
{
    for (int i = 0; i < STATUS_SLOTS; i++) {
        int have = atomic_load_explicit(&rs->status[i], memory_order_relaxed);
        if (have == 0) {
            int expect = 0;
            /* claim the free slot; if another thread won it, it may have claimed it for us */
            if (atomic_compare_exchange_strong_explicit(&rs->status[i], &expect, status,
                                                        memory_order_relaxed, memory_order_relaxed))
                have = status;
            else
                have = expect;
        }
        if (have == status) {
            atomic_fetch_add_explicit(&rs->status_count[i], 1, memory_order_relaxed);
            return;
        }
    }
    int cls = status >= 100 && status < 600 ? status / 100 : 0;
    atomic_fetch_add_explicit(&rs->class_count[cls], 1, memory_order_relaxed);
}

void ksm_metrics_request(int route, int status, uint64_t duration_ns)
{
    int slot = route >= 0 && route < KSM_METRICS_MAX_ROUTES ? route + 1 : 0;
    struct route_stats *rs = &stats[slot];
    if (status <= 0 || status > 999)
        status = 999;   /* keeps 0 free as the "empty slot" mark, and the label three digits */
    count_status(rs, status);
    int b = 0;
    while (b < NBUCKETS && duration_ns > bucket_ns[b])
        b++;
    atomic_fetch_add_explicit(&rs->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->sum_ns, duration_ns, memory_order_relaxed);
}

void ksm_metrics_add_collector(ksm_metrics_collect_fn fn, void *arg)
{
    pthread_mutex_lock(&collectors_mu);
    if (ncollectors < MAX_COLLECTORS) {
        collectors[ncollectors].fn = fn;
        collectors[ncollectors].arg = arg;
        ncollectors++;
    }
    pthread_mutex_unlock(&collectors_mu);
}

/* ---- rendering -------------------------------------------------------------------------------- */

/* A label value per the exposition format: backslash, double quote and newline are escaped. */
static void put_label(struct ksm_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            ksm_buf_puts(out, "\\\\");
        else if (*s == '"')
            ksm_buf_puts(out, "\\\"");
        else if (*s == '\n')
            ksm_buf_puts(out, "\\n");
        else
            ksm_buf_putc(out, *s);
    }
}

static const char *slot_name(int slot)
{
    return slot == 0 ? "unmatched" : slot <= nroutes ? route_names[slot - 1] : "unknown";
}

static uint64_t load(_Atomic uint64_t *p) { return atomic_load_explicit(p, memory_order_relaxed); }

static void render_requests(struct ksm_buf *out)
{
    static const char *const class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    ksm_buf_puts(out, "# HELP kasumi_http_requests_total HTTP requests by route and status code.\n"
                      "# TYPE kasumi_http_requests_total counter\n");
    for (int s = 0; s <= KSM_METRICS_MAX_ROUTES; s++) {
        struct route_stats *rs = &stats[s];
        for (int i = 0; i < STATUS_SLOTS; i++) {
            int code = atomic_load_explicit(&rs->status[i], memory_order_relaxed);
            if (code == 0)
                continue;
            ksm_buf_puts(out, "kasumi_http_requests_total{route=\"");
            put_label(out, slot_name(s));
            ksm_buf_printf(out, "\",status=\"%d\"} %llu\n", code,
                           (unsigned long long)load(&rs->status_count[i]));
        }
        for (int c = 0; c < 6; c++) {
            uint64_t n = load(&rs->class_count[c]);
            if (n == 0)
                continue;
            ksm_buf_puts(out, "kasumi_http_requests_total{route=\"");
            put_label(out, slot_name(s));
            ksm_buf_printf(out, "\",status=\"%s\"} %llu\n", class_names[c], (unsigned long long)n);
        }
    }
}

static void render_histogram(struct ksm_buf *out, int s)
{
    struct route_stats *rs = &stats[s];
    uint64_t snap[NBUCKETS + 1], total = 0;
    for (int b = 0; b <= NBUCKETS; b++)
        total += snap[b] = load(&rs->bucket[b]);
    if (total == 0)
        return;   /* series appear once a route has served something */
    uint64_t cum = 0;
    for (int b = 0; b <= NBUCKETS; b++) {
        cum += snap[b];
        ksm_buf_puts(out, "kasumi_http_request_duration_seconds_bucket{route=\"");
        put_label(out, slot_name(s));
        ksm_buf_printf(out, "\",le=\"%s\"} %llu\n", b < NBUCKETS ? bucket_le[b] : "+Inf",
                       (unsigned long long)cum);
    }
    uint64_t sum = load(&rs->sum_ns);
    ksm_buf_puts(out, "kasumi_http_request_duration_seconds_sum{route=\"");
    put_label(out, slot_name(s));
    ksm_buf_printf(out, "\"} %llu.%09llu\n", (unsigned long long)(sum / 1000000000u),
                   (unsigned long long)(sum % 1000000000u));
    /* the count is the +Inf bucket of the same snapshot, so the two always agree */
    ksm_buf_puts(out, "kasumi_http_request_duration_seconds_count{route=\"");
    put_label(out, slot_name(s));
    ksm_buf_printf(out, "\"} %llu\n", (unsigned long long)total);
}

void ksm_metrics_render(struct ksm_buf *out)
{
    render_requests(out);
    ksm_buf_puts(out, "# HELP kasumi_http_request_duration_seconds Time from the first byte of a "
                      "request to the end of its response.\n"
                      "# TYPE kasumi_http_request_duration_seconds histogram\n");
    for (int s = 0; s <= KSM_METRICS_MAX_ROUTES; s++)
        render_histogram(out, s);
    ksm_buf_printf(out,
                   "# HELP kasumi_http_open_connections Client connections currently open.\n"
                   "# TYPE kasumi_http_open_connections gauge\n"
                   "kasumi_http_open_connections %lld\n",
                   (long long)atomic_load_explicit(&open_conns, memory_order_relaxed));
    int64_t st = atomic_load(&start_ms);
    ksm_buf_printf(out,
                   "# HELP kasumi_process_start_time_seconds Start time of the process since the "
                   "Unix epoch in seconds.\n"
                   "# TYPE kasumi_process_start_time_seconds gauge\n"
                   "kasumi_process_start_time_seconds %lld.%03lld\n",
                   (long long)(st / 1000), (long long)(st % 1000));
    pthread_mutex_lock(&collectors_mu);
    int n = ncollectors;
    pthread_mutex_unlock(&collectors_mu);
    for (int i = 0; i < n; i++)   /* slots below n are never rewritten: safe to read unlocked */
        collectors[i].fn(out, collectors[i].arg);
}
