/* ai_metrics.c — per model and upstream: requests, errors, tokens, upstream latency and the
 * gateway's own added latency (time from the request's arrival to the upstream call); and the
 * guardrail's decisions, by decision and reason, with the values masked by kind (an operator alerts
 * on a rise of blocks without reading the audit log). Small tables under one mutex: a series is
 * added once per (model, upstream) pair or (decision, reason), then only counted. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ai/ai_int.h"
#include "ai/upstream.h"
#include "core/metrics.h"

#define SERIES_MAX 256
static const double bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NB (sizeof bounds_s / sizeof bounds_s[0])

struct series {
    char model[128], upstream[128];
    unsigned long long requests, errors, prompt, completion;
    unsigned long long up_bucket[NB + 1], added_bucket[NB + 1];
    double up_sum, added_sum;
};

static struct series tab[SERIES_MAX];
static int ntab;

#define DECISIONS_MAX 32   /* four decisions and a few reasons each: the reasons are the code's */
static struct {
    char decision[16], reason[48];
    unsigned long long n;
} decisions[DECISIONS_MAX];
static int ndecisions;
static unsigned long long masked_total[KSM_PII__COUNT];
static unsigned long long redacted_total[KSM_PII__COUNT];   /* from models' answers (pii_output) */
static unsigned long long metering_waits[2];   /* admitted, refused: atomics */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void observe(unsigned long long *b, double *sum, double s)
{
    size_t i = 0;
    while (i < NB && s > bounds_s[i])
        i++;
    b[i]++;
    *sum += s;
}

void ksm_ai_metrics_record(const char *model, const char *upstream, bool error, int64_t prompt,
                           int64_t completion, uint64_t upstream_ns, uint64_t added_ns)
{
    pthread_mutex_lock(&mu);
    struct series *s = NULL;
    for (int i = 0; i < ntab && !s; i++)
        if (!strcmp(tab[i].model, model ? model : "") && !strcmp(tab[i].upstream, upstream))
            s = &tab[i];
    if (!s && ntab < SERIES_MAX) {
        s = &tab[ntab++];
        snprintf(s->model, sizeof s->model, "%s", model ? model : "");
        snprintf(s->upstream, sizeof s->upstream, "%s", upstream);
    }
    if (s) {
        s->requests++;
        s->errors += error;
        s->prompt += (unsigned long long)(prompt > 0 ? prompt : 0);
        s->completion += (unsigned long long)(completion > 0 ? completion : 0);
        observe(s->up_bucket, &s->up_sum, (double)upstream_ns / 1e9);
        observe(s->added_bucket, &s->added_sum, (double)added_ns / 1e9);
    }
    pthread_mutex_unlock(&mu);
}

void ksm_ai_metrics_decision(const char *decision, const char *reason,
                             const unsigned masked[KSM_PII__COUNT])
{
    reason = reason ? reason : "";
    pthread_mutex_lock(&mu);
    int i = 0;
    while (i < ndecisions && (strcmp(decisions[i].decision, decision) ||
                              strcmp(decisions[i].reason, reason)))
        i++;
    if (i == ndecisions && ndecisions < DECISIONS_MAX) {
        snprintf(decisions[i].decision, sizeof decisions[i].decision, "%s", decision);
        snprintf(decisions[i].reason, sizeof decisions[i].reason, "%s", reason);
        ndecisions++;
    }
    if (i < ndecisions)
        decisions[i].n++;
    if (!strcmp(decision, "mask"))   /* a refusal's or a pass's counts are of what was found */
        for (int k = 0; k < KSM_PII__COUNT; k++)
            masked_total[k] += masked[k];
    pthread_mutex_unlock(&mu);
}

void ksm_ai_metrics_redacted(const unsigned redacted[KSM_PII__COUNT])
{
    pthread_mutex_lock(&mu);
    for (int k = 0; k < KSM_PII__COUNT; k++)
        redacted_total[k] += redacted[k];
    pthread_mutex_unlock(&mu);
}

static void collect_decisions(struct ksm_buf *out)
{
    ksm_buf_puts(out, "# HELP kasumi_ai_decisions_total Guardrail decisions, by decision and the "
                      "reason of a refusal.\n# TYPE kasumi_ai_decisions_total counter\n");
    for (int i = 0; i < ndecisions; i++)
        ksm_buf_printf(out, "kasumi_ai_decisions_total{decision=\"%s\",reason=\"%s\"} %llu\n",
                       decisions[i].decision, decisions[i].reason, decisions[i].n);
    ksm_buf_puts(out, "# HELP kasumi_ai_masked_values_total Personal identifiers masked before a "
                      "model saw them, by kind.\n# TYPE kasumi_ai_masked_values_total counter\n");
    for (int k = 0; k < KSM_PII__COUNT; k++)
        ksm_buf_printf(out, "kasumi_ai_masked_values_total{kind=\"%s\"} %llu\n",
                       ksm_pii_kind_name((enum ksm_pii_kind)k), masked_total[k]);
    ksm_buf_puts(out, "# HELP kasumi_ai_redacted_values_total Personal identifiers a model wrote, "
                      "redacted from its answer (pii_output), by kind.\n"
                      "# TYPE kasumi_ai_redacted_values_total counter\n");
    for (int k = 0; k < KSM_PII__DETECTED; k++)
        ksm_buf_printf(out, "kasumi_ai_redacted_values_total{kind=\"%s\"} %llu\n",
                       ksm_pii_kind_name((enum ksm_pii_kind)k), redacted_total[k]);
}

static void label(struct ksm_buf *out, const struct series *s)
{
    ksm_buf_puts(out, "{model=");
    ksm_buf_json_str(out, s->model);   /* JSON string escaping is a superset of the format's */
    ksm_buf_puts(out, ",upstream=");
    ksm_buf_json_str(out, s->upstream);
}

static void histogram(struct ksm_buf *out, const char *name, const struct series *s,
                      const unsigned long long *b, double sum)
{
    unsigned long long cum = 0;
    for (size_t i = 0; i <= NB; i++) {
        cum += b[i];
        ksm_buf_puts(out, name);
        ksm_buf_puts(out, "_bucket");
        label(out, s);
        if (i < NB)
            ksm_buf_printf(out, ",le=\"%g\"} %llu\n", bounds_s[i], cum);
        else
            ksm_buf_printf(out, ",le=\"+Inf\"} %llu\n", cum);
    }
    ksm_buf_printf(out, "%s_sum", name);
    label(out, s);
    ksm_buf_printf(out, "} %g\n%s_count", sum, name);
    label(out, s);
    ksm_buf_printf(out, "} %llu\n", cum);
}

static void counter(struct ksm_buf *out, const char *name, const struct series *s,
                    const char *extra, unsigned long long v)
{
    ksm_buf_puts(out, name);
    label(out, s);
    ksm_buf_printf(out, "%s} %llu\n", extra, v);
}

static void collect(struct ksm_buf *out, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    ksm_buf_puts(out, "# HELP kasumi_ai_requests_total Model calls through the gateway.\n"
                      "# TYPE kasumi_ai_requests_total counter\n");
    for (int i = 0; i < ntab; i++)
        counter(out, "kasumi_ai_requests_total", &tab[i], "", tab[i].requests);
    ksm_buf_puts(out, "# HELP kasumi_ai_errors_total Model calls that ended in an error.\n"
                      "# TYPE kasumi_ai_errors_total counter\n");
    for (int i = 0; i < ntab; i++)
        counter(out, "kasumi_ai_errors_total", &tab[i], "", tab[i].errors);
    ksm_buf_puts(out, "# HELP kasumi_ai_tokens_total Tokens metered, by kind.\n"
                      "# TYPE kasumi_ai_tokens_total counter\n");
    for (int i = 0; i < ntab; i++) {
        counter(out, "kasumi_ai_tokens_total", &tab[i], ",kind=\"prompt\"", tab[i].prompt);
        counter(out, "kasumi_ai_tokens_total", &tab[i], ",kind=\"completion\"", tab[i].completion);
    }
    ksm_buf_puts(out, "# HELP kasumi_ai_upstream_seconds Time spent in the upstream call.\n"
                      "# TYPE kasumi_ai_upstream_seconds histogram\n");
    for (int i = 0; i < ntab; i++)
        histogram(out, "kasumi_ai_upstream_seconds", &tab[i], tab[i].up_bucket, tab[i].up_sum);
    ksm_buf_puts(out, "# HELP kasumi_ai_added_seconds Gateway time before the upstream call.\n"
                      "# TYPE kasumi_ai_added_seconds histogram\n");
    for (int i = 0; i < ntab; i++)
        histogram(out, "kasumi_ai_added_seconds", &tab[i], tab[i].added_bucket, tab[i].added_sum);
    collect_decisions(out);
    pthread_mutex_unlock(&mu);
    struct ksm_up_stats st;
    ksm_upstream_stats(&st);
    ksm_buf_printf(out,
                   "# HELP kasumi_ai_upstream_exchanges_total HTTP exchanges with model servers "
                   "started, ended on a reused connection, failed.\n"
                   "# TYPE kasumi_ai_upstream_exchanges_total counter\n"
                   "kasumi_ai_upstream_exchanges_total{event=\"started\"} %llu\n"
                   "kasumi_ai_upstream_exchanges_total{event=\"reused\"} %llu\n"
                   "kasumi_ai_upstream_exchanges_total{event=\"failed\"} %llu\n",
                   st.started, st.reused, st.failed);
    ksm_buf_printf(out,
                   "# HELP kasumi_ai_metering_waits_total Requests that waited for the usage and "
                   "audit writers to catch up, by how the wait ended.\n"
                   "# TYPE kasumi_ai_metering_waits_total counter\n"
                   "kasumi_ai_metering_waits_total{outcome=\"admitted\"} %llu\n"
                   "kasumi_ai_metering_waits_total{outcome=\"refused\"} %llu\n",
                   __atomic_load_n(&metering_waits[0], __ATOMIC_RELAXED),
                   __atomic_load_n(&metering_waits[1], __ATOMIC_RELAXED));
}

void ksm_ai_metrics_metering_wait(bool refused)
{
    __atomic_add_fetch(&metering_waits[refused], 1, __ATOMIC_RELAXED);
}

void ksm_ai_metrics_register(void)
{
    ksm_metrics_add_collector(collect, NULL);
}
