/* audit_bench.c — audit log throughput and commit latency (not part of the tests).
 *
 *   audit_bench DIR [threads=4] [rate=250000 records/s in total, 0 = as fast as possible] [seconds=5]
 *
 * T submitter threads each submit records paced to rate/T per second (in bursts every 200 µs), with a
 * done callback and no mailbox, so the callback runs on the writer thread right after fdatasync;
 * the submit time travels in the callback's arg, so the latency is submit→durable per record
 * (10 µs resolution). Throughput is records made durable over the time from the first submit to
 * the last durable record. CPU per record is the process's getrusage (user + system, every thread:
 * submitters, writer, indexer) from the first submit to the end of ksm_audit_flush, divided by the
 * records: run it under `taskset -c 0` to see what the audit path costs a core that also serves
 * requests. "indexed" counts to the end of ksm_audit_flush, which waits for the index as well: with
 * rate 0 it shows whether the index keeps up. Prints one line: records/s, p50/p99/p99.9 latency,
 * records/commit, CPU µs/record, indexed records/s. */
#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BUCKET_NS 10000ull
#define NBUCKETS 20000   /* 200 ms */

static uint64_t hist[NBUCKETS + 1];   /* written by the writer thread only */
static uint64_t last_done_ns;

static struct ksm_audit *audit;
static int nthreads = 4;
static double rate = 250000;
static double seconds = 5;
static atomic_ullong submitted;

static void on_durable(void *arg, int ok)
{
    uint64_t now = ksm_mono_ns();
    uint64_t lat = now - (uint64_t)(uintptr_t)arg;
    uint64_t b = lat / BUCKET_NS;
    hist[b > NBUCKETS ? NBUCKETS : b] += ok ? 1 : 0;
    last_done_ns = now;
}

static void sleep_until(uint64_t t)
{
    uint64_t now = ksm_mono_ns();
    if (t <= now)
        return;
    struct timespec ts = {(time_t)((t - now) / 1000000000ull), (long)((t - now) % 1000000000ull)};
    nanosleep(&ts, NULL);
}

static void *submitter(void *p)
{
    int id = (int)(intptr_t)p;
    char rid[32], target[64], tenant[16];
    uint64_t start = ksm_mono_ns(), end = start + (uint64_t)(seconds * 1e9);
    double per_ns = rate > 0 ? rate / nthreads / 1e9 : 0;
    uint64_t sent = 0;
    snprintf(tenant, sizeof tenant, "tn_%02d", id);
    for (uint64_t now = start; now < end; now = ksm_mono_ns()) {
        uint64_t due = per_ns > 0 ? (uint64_t)((double)(now - start) * per_ns) : sent + 64;
        for (; sent < due; sent++) {
            snprintf(rid, sizeof rid, "req-%d-%llu", id, (unsigned long long)sent);
            snprintf(target, sizeof target, "bucket-%d/objects/key-%llu", id,
                     (unsigned long long)sent);
            struct ksm_audit_rec r = {.request_id = rid, .principal = "u_bench0000000000000001",
                                      .tenant = tenant, .project = "pj_bench", .source = "192.0.2.17",
                                      .action = "object.get", .target = target,
                                      .outcome = "success", .status = 200};
            ksm_audit_submit(audit, &r, NULL, on_durable, (void *)(uintptr_t)ksm_mono_ns());
        }
        if (per_ns > 0)
            sleep_until(ksm_mono_ns() + 200000);
    }
    atomic_fetch_add(&submitted, sent);
    return NULL;
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double pct(uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int i = 0; i <= NBUCKETS; i++) {
        acc += hist[i];
        if (acc > want)
            return (double)(i + 1) * BUCKET_NS / 1e6;
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [threads] [rate] [seconds]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        nthreads = atoi(argv[2]);
    if (argc > 3)
        rate = atof(argv[3]);
    if (argc > 4)
        seconds = atof(argv[4]);
    ksm_log_min = KSM_LOG_WARN;
    char key[4096], err[256];
    snprintf(key, sizeof key, "%s.key.pem", argv[1]);
    struct ksm_audit_opts o = {365, 10, 64u << 20, "govcloud"};
    if (ksm_audit_open(&audit, argv[1], key, &o, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    pthread_t th[64];
    if (nthreads < 1 || nthreads > 64)
        nthreads = 4;
    double cpu0 = cpu_us();
    uint64_t t0 = ksm_mono_ns();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, submitter, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    ksm_audit_flush(audit);
    double cpu = cpu_us() - cpu0;
    double flushed_s = (double)(ksm_mono_ns() - t0) / 1e9;
    struct ksm_audit_stats s;
    ksm_audit_stats(audit, &s);
    uint64_t total = 0;
    for (int i = 0; i <= NBUCKETS; i++)
        total += hist[i];
    double secs = (double)(last_done_ns - t0) / 1e9;
    printf("threads=%d target=%.0f/s: %llu records in %.2f s = %.0f records/s durable; "
           "latency p50 %.2f ms p99 %.2f ms p99.9 %.2f ms; %llu commits (%.0f records/commit, "
           "%.0f fsync/s); cpu %.2f us/record; indexed %.0f records/s; stats <=2ms: %.3f%%\n",
           nthreads, rate, (unsigned long long)total, secs, (double)total / secs, pct(total, 0.5),
           pct(total, 0.99), pct(total, 0.999), (unsigned long long)s.commits,
           (double)s.records / (double)(s.commits ? s.commits : 1), (double)s.commits / secs,
           cpu / (double)(total ? total : 1), (double)total / flushed_s,
           100.0 * (double)(s.commit_latency_buckets[0] + s.commit_latency_buckets[1] +
                            s.commit_latency_buckets[2] + s.commit_latency_buckets[3] +
                            s.commit_latency_buckets[4]) /
               (double)(s.records ? s.records : 1));
    ksm_audit_close(audit);
    return 0;
}
