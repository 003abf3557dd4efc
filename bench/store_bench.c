/* store_bench.c — the object store engine's throughput through its own API on one libuv loop (no
 * HTTP, no SigV4): PUT and GET of 1 MiB and 64 MiB objects, and durable 4 KiB PUTs per second
 * with N concurrent puts, through the pack log and, for comparison, through one file per object.
 * Every PUT is durable (fsync) before it counts. Peak RSS is printed to show memory stays flat.
 *
 *   cc -O2 -Isrc bench/store_bench.c src/storage/store_[a-z]*.c src/kms/[a-z]*.c src/core/[a-z]*.c ...
 *   ./store_bench [dir] [concurrency for 4 KiB, default 64] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/db.h"
#include "core/util.h"
#include "kms/kms.h"
#include "storage/store.h"

static struct ksm_db db;
static struct ksm_kms *kms;
static struct ksm_store *st;
static struct ksm_bucket bk;
static uv_loop_t loop;
static char *payload;

struct client {
    struct ksm_put *put;
    struct ksm_obj_meta meta;
    size_t fed, size;
    int idx;
};

static int started, finished, failed, total, conc;
static size_t obj_size;
static struct client *clients;

static void start_one(struct client *c);

static void put_done(void *arg, enum ksm_err e)
{
    struct client *c = arg;
    failed += e != KSM_E_OK;
    finished++;
    ksm_obj_meta_free(&c->meta);
    if (started < total)
        start_one(c);
}

static void feed(void *arg)
{
    struct client *c = arg;
    while (c->fed < c->size) {
        size_t m = c->size - c->fed < (256u << 10) ? c->size - c->fed : (256u << 10);
        bool pause = ksm_store_put_write(c->put, payload + c->fed, m, feed, c);
        c->fed += m;
        if (pause)
            return;
    }
    memset(&c->meta, 0, sizeof c->meta);
    ksm_store_put_commit(c->put, &c->meta, NULL, put_done, c);
}

static void start_one(struct client *c)
{
    char key[64];
    c->idx = started++;
    snprintf(key, sizeof key, "bench/%zu/%06d", obj_size, c->idx);
    c->size = obj_size;
    c->fed = 0;
    c->put = ksm_store_put_begin(st, &loop, &db, &bk, key, (int64_t)obj_size, NULL, 0);
    feed(c);
}

static double run_puts(size_t size, int n, int concurrency)
{
    obj_size = size;
    total = n;
    conc = concurrency;
    started = finished = failed = 0;
    clients = ksm_xcalloc((size_t)concurrency, sizeof *clients);
    uint64_t t0 = ksm_mono_ns();
    for (int i = 0; i < concurrency && started < total; i++)
        start_one(&clients[i]);
    while (finished < total)
        uv_run(&loop, UV_RUN_ONCE);
    double s = (double)(ksm_mono_ns() - t0) / 1e9;
    free(clients);
    if (failed)
        fprintf(stderr, "%d puts failed\n", failed);
    return s;
}

/* ---- gets ---- */

static int gets_done, gets_started, gets_total;
static uint64_t got_bytes;

static bool on_data(void *arg, char *p, size_t n)
{
    got_bytes += n;
    ksm_store_piece_release(NULL, p);
    return false;
}

static void get_next(void);

static void get_done(void *arg, enum ksm_err e)
{
    if (e != KSM_E_OK)
        fprintf(stderr, "get failed: %d\n", e);
    gets_done++;
    if (gets_started < gets_total)
        get_next();
}

static void get_next(void)
{
    char key[64];
    snprintf(key, sizeof key, "bench/%zu/%06d", obj_size, gets_started++ % total);
    ksm_store_get_begin(st, &loop, &db, &bk, key, 0, obj_size, on_data, get_done, NULL);
}

static double run_gets(size_t size, int n, int concurrency)
{
    obj_size = size;
    gets_done = gets_started = 0;
    gets_total = n;
    got_bytes = 0;
    uint64_t t0 = ksm_mono_ns();
    for (int i = 0; i < concurrency && gets_started < gets_total; i++)
        get_next();
    while (gets_done < gets_total)
        uv_run(&loop, UV_RUN_ONCE);
    return (double)(ksm_mono_ns() - t0) / 1e9;
}

static long rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static void open_store(const char *dir, size_t small_max)
{
    char err[256];
    struct ksm_store_opts o;
    memset(&o, 0, sizeof o);
    snprintf(o.regions[0].name, sizeof o.regions[0].name, "jp-east");
    snprintf(o.regions[0].path, sizeof o.regions[0].path, "%s/data", dir);
    o.nregions = 1;
    o.kms = kms;
    char dbp[600];
    snprintf(dbp, sizeof dbp, "%s/meta.db", dir);
    o.db_path = ksm_xstrdup(dbp);
    o.small_max = small_max;
    if (ksm_store_open(&st, &o, err, sizeof err)) {
        fprintf(stderr, "store: %s\n", err);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    char dir[512], err[256], path[600];
    snprintf(dir, sizeof dir, "%s/ksm_store_bench_XXXXXX", argc > 1 ? argv[1] : "/tmp");
    int c4k = argc > 2 ? atoi(argv[2]) : 64;
    if (!mkdtemp(dir))
        return 1;
    ksm_kms_register_schema();
    ksm_store_register_schema();
    snprintf(path, sizeof path, "%s/meta.db", dir);
    if (ksm_db_open(&db, path, err, sizeof err))
        return fprintf(stderr, "%s\n", err), 1;
    snprintf(path, sizeof path, "%s/master.key", dir);
    if (ksm_kms_open(&kms, &db, path, err, sizeof err))
        return fprintf(stderr, "%s\n", err), 1;
    uv_loop_init(&loop);
    open_store(dir, 128 << 10);
    if (ksm_store_bucket_create(st, &db, "tn_bench", "pj_bench", "bench", NULL, &bk) != KSM_E_OK)
        return 1;
    payload = ksm_xmalloc(64u << 20);
    ksm_random_bytes(payload, 64u << 20);
    printf("store_bench in %s (one loop, libuv pool of %s threads)\n", dir,
           getenv("UV_THREADPOOL_SIZE") ? getenv("UV_THREADPOOL_SIZE") : "4");

    double s = run_puts(1u << 20, 200, 4);
    printf("PUT 1 MiB   x200, 4 concurrent:  %7.1f MiB/s  (%.0f objects/s)\n", 200 / s, 200 / s);
    s = run_gets(1u << 20, 400, 4);
    printf("GET 1 MiB   x400, 4 concurrent:  %7.1f MiB/s\n", got_bytes / s / (1 << 20));
    s = run_puts(64u << 20, 6, 2);
    printf("PUT 64 MiB  x6,   2 concurrent:  %7.1f MiB/s\n", 6 * 64 / s);
    s = run_gets(64u << 20, 12, 2);
    printf("GET 64 MiB  x12,  2 concurrent:  %7.1f MiB/s\n", got_bytes / s / (1 << 20));
    s = run_gets(64u << 20, 6, 1);
    printf("GET 64 MiB  x6,   1 stream:      %7.1f MiB/s\n", got_bytes / s / (1 << 20));
    printf("peak RSS so far: %ld MiB (includes the 64 MiB payload buffer)\n", rss_mib());

    s = run_puts(4096, 20000, c4k);
    printf("PUT 4 KiB   x20000, %d concurrent, pack log: %7.0f durable PUTs/s\n", c4k, 20000 / s);
    s = run_gets(4096, 20000, c4k);
    printf("GET 4 KiB   x20000, %d concurrent, pack log: %7.0f GETs/s\n", c4k, 20000 / s);

    /* the same without the pack log: file + fsync + rename + dir fsync + commit per object */
    ksm_store_close(st);
    open_store(dir, 0);
    obj_size = 4097;   /* other keys */
    s = run_puts(4097, 3000, c4k);
    printf("PUT 4 KiB   x3000,  %d concurrent, one file each: %7.0f durable PUTs/s\n", c4k,
           3000 / s);
    printf("peak RSS: %ld MiB\n", rss_mib());
    ksm_store_close(st);
    for (int i = 0; i < 10; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    ksm_kms_close(kms);
    ksm_db_close(&db);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) ? 1 : 0;
}
