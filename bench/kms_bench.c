/* kms_bench.c — object encryption throughput on one core (not part of the tests).
 *
 *   kms_bench [MiB=64] [runs=5] [piece KiB=1024]
 *
 * Pins itself to one CPU (the openssl child inherits it), then for an object of MiB random bytes:
 *   seal  — an encryptor fed piece-sized writes (as a PUT body arrives), ciphertext chunks counted
 *           by the emit callback (where the daemon would write them);
 *   open  — a decryptor of the whole object fed piece-sized reads (as a GET reads the file), each
 *           verified plaintext chunk counted by the callback (where the daemon would send it);
 *   range — 1,000 random 1-byte..256 KiB ranges through ksm_chunk_range + a decryptor;
 *   ceiling — `openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3`, in the same run;
 *   unwrap — ksm_kms_data_key_open with the bucket key cached: the per-GET key cost.
 * Each figure is the best and the median of `runs` runs, MB = 10^6 bytes (openssl's unit), and the
 * ratio open/ceiling is the storage issue's target (>= 70%). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/db.h"
#include "core/util.h"
#include "kms/kms.h"
#include "kms/kms_chunk.h"

static uint64_t counted;

static enum ksm_err sink(void *arg, const uint8_t *p, size_t n)
{
    counted += n;
    return KSM_E_OK;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *v, int runs, const char *unit)
{
    qsort(v, (size_t)runs, sizeof *v, cmp);
    printf("%-8s best %9.1f  median %9.1f %s\n", what, v[runs - 1], v[runs / 2], unit);
}

static double seal_run(const uint8_t *key, const uint8_t *uid, const uint8_t *pt, size_t n,
                       size_t piece)
{
    counted = 0;
    uint64_t t0 = ksm_mono_ns();
    struct ksm_chunk_enc *e = ksm_chunk_enc_new(key, uid, sink, NULL);
    for (size_t off = 0; off < n; off += piece)
        ksm_chunk_enc_update(e, pt + off, n - off < piece ? n - off : piece);
    ksm_chunk_enc_final(e);
    ksm_chunk_enc_free(e);
    double s = (double)(ksm_mono_ns() - t0) / 1e9;
    return counted == ksm_chunk_ct_len(n) ? (double)n / s / 1e6 : 0;
}

static double open_run(const uint8_t *key, const uint8_t *uid, const uint8_t *ct, size_t n,
                       size_t ctn, size_t piece)
{
    counted = 0;
    uint64_t t0 = ksm_mono_ns();
    struct ksm_chunk_dec *d = ksm_chunk_dec_new(key, uid, n, 0, n, sink, NULL);
    enum ksm_err e = KSM_E_OK;
    for (size_t off = 0; off < ctn && e == KSM_E_OK; off += piece)
        e = ksm_chunk_dec_update(d, ct + off, ctn - off < piece ? ctn - off : piece);
    if (e == KSM_E_OK)
        e = ksm_chunk_dec_final(d);
    ksm_chunk_dec_free(d);
    double s = (double)(ksm_mono_ns() - t0) / 1e9;
    return e == KSM_E_OK && counted == n ? (double)n / s / 1e6 : 0;
}

static double range_run(const uint8_t *key, const uint8_t *uid, const uint8_t *ct, size_t n)
{
    uint64_t bytes = 0, t0 = ksm_mono_ns();
    for (int i = 0; i < 1000; i++) {
        uint64_t len = 1 + (uint64_t)random() % (256 * 1024), off = (uint64_t)random() % (n - len);
        uint64_t co, cn;
        ksm_chunk_range(n, off, len, &co, &cn);
        counted = 0;
        struct ksm_chunk_dec *d = ksm_chunk_dec_new(key, uid, n, off, len, sink, NULL);
        ksm_chunk_dec_update(d, ct + co, cn);
        if (ksm_chunk_dec_final(d) != KSM_E_OK || counted != len)
            return 0;
        ksm_chunk_dec_free(d);
        bytes += len;
    }
    return (double)bytes / ((double)(ksm_mono_ns() - t0) / 1e9) / 1e6;
}

/* openssl speed's 16384-byte column, in MB/s. */
static double openssl_run(void)
{
    FILE *f = popen("openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null", "r");
    char line[512];
    double k = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "AES-256-GCM", 11) || !strncmp(line, "aes-256-gcm", 11))
            k = strtod(line + 11, NULL);
    if (f)
        pclose(f);
    return k / 1000;
}

/* The per-GET key cost: a data key unwrapped under a cached bucket key. */
static double unwrap_run(struct ksm_kms *k, struct ksm_db *db, const uint8_t *uid,
                         const struct ksm_kms_data_key *dk)
{
    uint8_t key[32];
    int n = 200000;
    uint64_t t0 = ksm_mono_ns();
    for (int i = 0; i < n; i++)
        if (ksm_kms_data_key_open(k, db, "bk_bench", uid, dk->wrapped, sizeof dk->wrapped, key))
            return 0;
    return (double)(ksm_mono_ns() - t0) / n / 1000;
}

static int unwrap_bench(int runs)
{
    char dir[] = "/tmp/kms_bench.XXXXXX", path[128], kpath[128], err[256];
    struct ksm_db db;
    struct ksm_kms *k;
    struct ksm_kms_data_key dk;
    uint8_t uid[16];
    double v[16];
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/meta.db", dir);
    snprintf(kpath, sizeof kpath, "%s/keys/master.key", dir);
    ksm_kms_register_schema();
    if (ksm_db_open(&db, path, err, sizeof err) || ksm_kms_open(&k, &db, kpath, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    ksm_kms_uid_new(uid);
    if (ksm_kms_bucket_key_create(k, &db, "tn_bench", "bk_bench") ||
        ksm_kms_data_key_new(k, &db, "bk_bench", uid, &dk))
        return -1;
    for (int r = 0; r < runs; r++)
        v[r] = unwrap_run(k, &db, uid, &dk);
    qsort(v, (size_t)runs, sizeof *v, cmp);
    printf("%-8s best %9.2f  median %9.2f µs per data key (bucket key cached)\n", "unwrap", v[0],
           v[runs / 2]);
    ksm_kms_data_key_wipe(&dk);
    ksm_kms_close(k);
    ksm_db_close(&db);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    return system(path);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    size_t piece = (argc > 3 ? (size_t)atoi(argv[3]) : 1024) * 1024;
    if (runs < 1 || runs > 16 || mib < 1 || piece < 1)
        return 2;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof one, &one);

    size_t n = mib << 20, ctn = ksm_chunk_ct_len(n);
    uint8_t key[32], uid[16], *pt = ksm_xmalloc(n), *ct = ksm_xmalloc(ctn);
    ksm_random_bytes(key, sizeof key);
    ksm_random_bytes(uid, sizeof uid);
    ksm_random_bytes(pt, n);
    if (ksm_chunk_seal(key, uid, pt, n, ct) != KSM_E_OK)
        return 1;
    printf("kms_bench: %zu MiB object, %u KiB chunks, %zu KiB pieces, %d runs, one core; MB/s\n",
           mib, KSM_CHUNK_SIZE / 1024, piece / 1024, runs);

    double seal[16], open[16], range[16], ceil[16];
    for (int r = 0; r < runs; r++) {
        seal[r] = seal_run(key, uid, pt, n, piece);
        open[r] = open_run(key, uid, ct, n, ctn, piece);
        range[r] = range_run(key, uid, ct, n);
        ceil[r] = openssl_run();
    }
    double best_open = 0, best_ceil = 0, med_open, med_ceil;
    report("seal", seal, runs, "MB/s");
    report("open", open, runs, "MB/s");
    report("range", range, runs, "MB/s (random 1 B..256 KiB ranges)");
    report("openssl", ceil, runs, "MB/s (openssl speed -evp aes-256-gcm, 16 KiB blocks)");
    best_open = open[runs - 1];
    best_ceil = ceil[runs - 1];
    med_open = open[runs / 2];
    med_ceil = ceil[runs / 2];
    printf("open/openssl: best %.0f%%, median %.0f%% (target >= 70%%)\n",
           100 * best_open / best_ceil, 100 * med_open / med_ceil);
    free(pt);
    free(ct);
    return unwrap_bench(runs) ? 1 : 0;
}
