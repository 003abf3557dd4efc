/* metrics.h — counters and histograms for GET /metrics (Prometheus text exposition 0.0.4).
 * Lock-free on the hot path: one shared array of counters updated with relaxed atomics (see
 * metrics.c for why it is not sharded per thread). Series are registered at start (the route table gives the route label). */
#ifndef KSM_METRICS_H
#define KSM_METRICS_H
#include <stdint.h>
#include "core/buf.h"

#define KSM_METRICS_MAX_ROUTES 256

/* Request accounting: route index (row in the route table, or -1 for "unmatched"), HTTP status,
 * duration in ns. Thread-safe. */
void ksm_metrics_request(int route, int status, uint64_t duration_ns);
void ksm_metrics_conn_open(int delta);   /* +1 on accept, -1 on close */
/* Route labels, set once at start: names[i] is "GET /admin/v1/tenants/{tenant}". */
void ksm_metrics_set_routes(const char *const *names, int n);

/* Other subsystems append their own exposition text through a callback (audit commit latency). */
typedef void (*ksm_metrics_collect_fn)(struct ksm_buf *out, void *arg);
void ksm_metrics_add_collector(ksm_metrics_collect_fn fn, void *arg);

/* Renders everything in the text format. */
void ksm_metrics_render(struct ksm_buf *out);

#endif
