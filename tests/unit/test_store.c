/* test_store.c — the object store engine on a real libuv loop and a real data directory: buckets,
 * put/get round trips (random input chunking, paused readers), Range reads, metadata, overwrite
 * and delete (old data gone), listing in binary order with prefixes, delimiters and markers,
 * multipart (order, ETag and size errors), Content-MD5, a plaintext canary absent from the disk,
 * orphan collection at reopen, tampering detected, the pack log for small objects, and its
 * compaction (space given back, bytes intact, crash points, reads and deletes during a move). */
#define _GNU_SOURCE
#include "check.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/db.h"
#include "core/util.h"
#include "kms/kms.h"
#include "storage/store.h"

static char dir[64], dbpath[128], keypath[128], datadir[128];
static struct ksm_db db;
static struct ksm_kms *kms;
static struct ksm_store *st;
static uv_loop_t loop;
static size_t small_max;
static int compact_pct;
static bool (*compact_hook)(void *arg, enum ksm_store_compact_step step);

static void die(const char *what, const char *err)
{
    fprintf(stderr, "%s: %s\n", what, err);
    exit(2);
}

static void store_up(void)
{
    char err[256];
    struct ksm_store_opts o;
    memset(&o, 0, sizeof o);
    snprintf(o.regions[0].name, sizeof o.regions[0].name, "jp-east");
    snprintf(o.regions[0].path, sizeof o.regions[0].path, "%s", datadir);
    snprintf(o.regions[1].name, sizeof o.regions[1].name, "jp-west");
    snprintf(o.regions[1].path, sizeof o.regions[1].path, "%s/west", dir);
    o.nregions = 2;
    o.kms = kms;
    o.db_path = dbpath;
    o.small_max = small_max;
    o.compact_live_pct = compact_pct;
    o.compact_interval_ms = 3600 * 1000;   /* passes run when a test asks (compact_now) */
    o.compact_hook = compact_hook;
    if (ksm_store_open(&st, &o, err, sizeof err))
        die("store", err);
}

static void setup(void)
{
    char err[256];
    snprintf(dir, sizeof dir, "/tmp/ksm_store_XXXXXX");
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    snprintf(dbpath, sizeof dbpath, "%s/meta.db", dir);
    snprintf(keypath, sizeof keypath, "%s/keys/master.key", dir);
    snprintf(datadir, sizeof datadir, "%s/east", dir);
    ksm_kms_register_schema();
    ksm_store_register_schema();
    if (ksm_db_open(&db, dbpath, err, sizeof err))
        die("db", err);
    if (ksm_kms_open(&kms, &db, keypath, err, sizeof err))
        die("kms", err);
    uv_loop_init(&loop);
    store_up();
}

/* Runs the loop until *flag; a bounded number of turns so a lost callback fails, not hangs. */
static void run_until(bool *flag)
{
    for (long i = 0; !*flag && i < 10000000; i++)
        uv_run(&loop, UV_RUN_ONCE);
    if (!*flag)
        die("loop", "callback never came");
}

/* ---- put ---- */

struct put_ctx {
    bool done, drained;
    enum ksm_err e;
};

static void on_drained(void *arg) { ((struct put_ctx *)arg)->drained = true; }

static void on_put_done(void *arg, enum ksm_err e)
{
    struct put_ctx *c = arg;
    c->done = true;
    c->e = e;
}

static void md5_b64(const void *p, size_t n, char out[32])
{
    unsigned char d[16];
    unsigned int dl;
    EVP_Digest(p, n, d, &dl, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, d, 16);
}

static enum ksm_err put_full(const struct ksm_bucket *b, const char *key, const void *data,
                             size_t n, const char *part_of, int part, const char *md5,
                             struct ksm_obj_meta *meta)
{
    struct put_ctx c = {0};
    struct ksm_put *p = ksm_store_put_begin(st, &loop, &db, b, key, (int64_t)n, part_of, part);
    const char *d = data;
    size_t off = 0;
    while (off < n) {
        size_t m = 1 + (size_t)(rand() % 200000);
        m = m < n - off ? m : n - off;
        if (rand() % 4 == 0 && m > 10)
            m = 1 + (size_t)(rand() % 10);   /* some tiny pieces too */
        c.drained = false;
        bool pause = ksm_store_put_write(p, d + off, m, on_drained, &c);
        off += m;
        if (pause)
            run_until(&c.drained);
    }
    ksm_store_put_commit(p, meta, md5, on_put_done, &c);
    run_until(&c.done);
    return c.e;
}

static enum ksm_err put_obj(const struct ksm_bucket *b, const char *key, const void *data, size_t n)
{
    struct ksm_obj_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.content_type, sizeof m.content_type, "application/octet-stream");
    enum ksm_err e = put_full(b, key, data, n, NULL, 0, NULL, &m);
    ksm_obj_meta_free(&m);
    return e;
}

/* ---- get ---- */

struct get_ctx {
    char *buf;
    size_t len, cap;
    bool done, paused, pause_some;
    enum ksm_err e;
    int pieces;
};

static bool on_data(void *arg, char *p, size_t n)
{
    struct get_ctx *c = arg;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = ksm_xrealloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, p, n);
    ksm_store_piece_release(NULL, p);
    c->len += n;
    c->pieces++;
    c->paused = c->pause_some && rand() % 2;
    return c->paused;
}

static void on_get_done(void *arg, enum ksm_err e)
{
    struct get_ctx *c = arg;
    c->done = true;
    c->e = e;
}

static enum ksm_err get_range(const struct ksm_bucket *b, const char *key, uint64_t off,
                              uint64_t len, bool pause, struct get_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->pause_some = pause;
    struct ksm_get *g = ksm_store_get_begin(st, &loop, &db, b, key, off, len, on_data, on_get_done, c);
    for (long i = 0; !c->done && i < 10000000; i++) {
        uv_run(&loop, UV_RUN_ONCE);
        if (c->paused && !c->done) {
            c->paused = false;
            ksm_store_get_resume(g);
        }
    }
    return c->e;
}

static bool get_equals(const struct ksm_bucket *b, const char *key, const char *want, size_t n,
                       uint64_t off, bool pause)
{
    struct get_ctx c;
    enum ksm_err e = get_range(b, key, off, n, pause, &c);
    bool ok = e == KSM_E_OK && c.len == n && (n == 0 || !memcmp(c.buf, want + off, n));
    if (!ok)
        fprintf(stderr, "get %s [%llu,+%zu): e=%d len=%zu\n", key, (unsigned long long)off, n, e,
                c.len);
    free(c.buf);
    return ok;
}

static char *random_data(size_t n)
{
    char *p = ksm_xmalloc(n ? n : 1);
    ksm_random_bytes(p, n);
    return p;
}

/* ---- files under the data dir ---- */

static int count_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    char p[600];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        struct stat sb;
        if (stat(p, &sb))
            continue;
        n += S_ISDIR(sb.st_mode) ? count_files(p) : 1;
    }
    closedir(d);
    return n;
}

static int object_files(void)
{
    char p[200];
    snprintf(p, sizeof p, "%s/objects", datadir);
    return count_files(p);
}

static int tmp_files(void)
{
    char p[200];
    snprintf(p, sizeof p, "%s/tmp", datadir);
    return count_files(p);
}

static bool tree_contains(const char *path, const void *needle, size_t nn)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    char p[600];
    while (!found && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        struct stat sb;
        if (stat(p, &sb))
            continue;
        if (S_ISDIR(sb.st_mode)) {
            found = tree_contains(p, needle, nn);
            continue;
        }
        size_t len;
        char *body = ksm_read_file(p, &len);
        found = body && memmem(body, len, needle, nn);
        free(body);
    }
    closedir(d);
    return found;
}

/* The data file of an object, from its uid in the metadata. */
static bool object_path(const struct ksm_bucket *b, const char *key, char *out, size_t n)
{
    sqlite3_stmt *q = ksm_db_prepare(&db, "SELECT lower(hex(uid)), loc FROM store_objects"
                                          " WHERE bucket=? AND key=CAST(? AS BLOB)");
    sqlite3_bind_text(q, 1, b->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    bool ok = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 1) == 0;
    if (ok) {
        const char *h = ksm_db_col_text(q, 0);
        snprintf(out, n, "%s/objects/%.2s/%.2s/%s", datadir, h, h + 2, h);
    }
    sqlite3_reset(q);
    return ok;
}

/* ---- tests ---- */

static struct ksm_bucket bk, bk2;

static void test_buckets(void)
{
    struct ksm_bucket b, other;
    CHECK(ksm_store_bucket_name_ok("my-bucket.jp"));
    CHECK(!ksm_store_bucket_name_ok("My-Bucket"));
    CHECK(!ksm_store_bucket_name_ok("ab"));
    CHECK(!ksm_store_bucket_name_ok("192.168.1.1"));
    CHECK(!ksm_store_bucket_name_ok("a..b"));
    CHECK(!ksm_store_bucket_name_ok("-abc"));
    CHECK(ksm_store_bucket_create(st, &db, "tn_a", "pj_a", "photos", "jp-east", &bk) == KSM_E_OK);
    CHECK(!strncmp(bk.id, "bk_", 3));
    CHECK(ksm_store_bucket_create(st, &db, "tn_a", "pj_a", "photos", "jp-east", &b) ==
          KSM_E_ALREADY_EXISTS);
    CHECK(ksm_store_bucket_create(st, &db, "tn_a", "pj_a", "bad_name", "jp-east", &b) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_store_bucket_create(st, &db, "tn_a", "pj_a", "elsewhere", "us-east-1", &b) ==
          KSM_E_INVALID_ARGUMENT);
    /* the same name in another tenant is another bucket */
    CHECK(ksm_store_bucket_create(st, &db, "tn_b", "pj_b", "photos", "jp-west", &other) == KSM_E_OK);
    CHECK(strcmp(other.id, bk.id) != 0);
    CHECK(ksm_store_bucket_create(st, &db, "tn_a", "pj_c", "docs", NULL, &bk2) == KSM_E_OK);
    CHECK_STR(bk2.region, "jp-east");
    CHECK(ksm_store_bucket_get(&db, "tn_a", "photos", &b) == KSM_E_OK);
    CHECK_STR(b.id, bk.id);
    CHECK(ksm_store_bucket_get(&db, "tn_b", "photos", &b) == KSM_E_OK);
    CHECK_STR(b.id, other.id);
    CHECK_STR(b.region, "jp-west");
    CHECK(ksm_store_bucket_get(&db, "tn_c", "photos", &b) == KSM_E_NOT_FOUND);
    struct ksm_bucket *list;
    size_t n;
    CHECK(ksm_store_bucket_list(&db, "tn_a", NULL, &list, &n) == KSM_E_OK);
    CHECK(n == 2 && !strcmp(list[0].name, "docs") && !strcmp(list[1].name, "photos"));
    free(list);
    CHECK(ksm_store_bucket_list(&db, "tn_a", "pj_a", &list, &n) == KSM_E_OK && n == 1);
    free(list);
    json_t *tags = json_pack("{s:s}", "部署", "総務");
    CHECK(ksm_store_bucket_tags_put(&db, &bk, tags) == KSM_E_OK);
    json_decref(tags);
    CHECK(ksm_store_bucket_tags_get(&db, &bk, &tags) == KSM_E_OK && tags);
    CHECK_STR(json_string_value(json_object_get(tags, "部署")), "総務");
    json_decref(tags);
    /* not empty → CONFLICT; empty → gone, and its key destroyed */
    CHECK(put_obj(&other, "x", "y", 1) == KSM_E_OK);
    CHECK(ksm_store_bucket_delete(st, &db, &other) == KSM_E_CONFLICT);
    CHECK(ksm_store_delete(st, &db, &other, "x", NULL) == KSM_E_OK);
    CHECK(ksm_store_bucket_delete(st, &db, &other) == KSM_E_OK);
    CHECK(ksm_store_bucket_get(&db, "tn_b", "photos", &b) == KSM_E_NOT_FOUND);
    struct ksm_kms_key_info ki;
    CHECK(ksm_kms_key_describe(kms, &db, KSM_KMS_BUCKET, other.id, &ki) != KSM_E_OK ||
          !strcmp(ki.state, "destroyed"));
}

static void test_round_trips(void)
{
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 131072, 5u << 20, (5u << 20) + 3};
    for (size_t i = 0; i < KSM_NELEM(sizes); i++) {
        size_t n = sizes[i];
        char key[64];
        snprintf(key, sizeof key, "rt/%zu", n);
        char *data = random_data(n);
        CHECK(put_obj(&bk, key, data, n) == KSM_E_OK);
        CHECK(get_equals(&bk, key, data, n, 0, false));
        CHECK(get_equals(&bk, key, data, n, 0, true));
        struct ksm_obj_meta m;
        CHECK(ksm_store_head(&db, &bk, key, &m) == KSM_E_OK);
        CHECK(m.size == n);
        unsigned char d[16];
        unsigned int dl;
        char hex[33], etag[40];
        EVP_Digest(data, n, d, &dl, EVP_md5(), NULL);
        ksm_hex(d, 16, hex);
        snprintf(etag, sizeof etag, "\"%s\"", hex);
        CHECK_STR(m.etag, etag);
        ksm_obj_meta_free(&m);
        free(data);
    }
}

static void test_ranges(void)
{
    size_t n = (3u << 20) + 12345;
    char *data = random_data(n);
    CHECK(put_obj(&bk, "range/obj", data, n) == KSM_E_OK);
    static const uint64_t offs[] = {0, 1, 65535, 65536, 65537, 131071, 1u << 20, (3u << 20) - 1};
    static const uint64_t lens[] = {1, 2, 100, 65536, 65537, 200000, 1u << 20};
    int bad = 0;
    for (size_t i = 0; i < KSM_NELEM(offs); i++)
        for (size_t j = 0; j < KSM_NELEM(lens); j++) {
            uint64_t len = lens[j] < n - offs[i] ? lens[j] : n - offs[i];
            bad += !get_equals(&bk, "range/obj", data, len, offs[i], j % 2);
        }
    for (int k = 0; k < 50; k++) {   /* random ranges */
        uint64_t off = (uint64_t)rand() % n, len = 1 + (uint64_t)rand() % (n - off);
        bad += !get_equals(&bk, "range/obj", data, len, off, k % 2);
    }
    CHECK(bad == 0);
    CHECK(get_equals(&bk, "range/obj", data, 1, n - 1, false));   /* the last byte */
    CHECK(get_equals(&bk, "range/obj", data, 0, 100, false));     /* empty range */
    struct get_ctx c;
    CHECK(get_range(&bk, "range/obj", n - 5, 10, false, &c) == KSM_E_INVALID_ARGUMENT);
    free(c.buf);
    CHECK(get_range(&bk, "range/none", 0, 1, false, &c) == KSM_E_NOT_FOUND);
    free(c.buf);
    free(data);
}

static void test_meta_overwrite_delete(void)
{
    struct ksm_obj_meta m, h;
    memset(&m, 0, sizeof m);
    snprintf(m.content_type, sizeof m.content_type, "text/plain; charset=utf-8");
    snprintf(m.cache_control, sizeof m.cache_control, "no-cache");
    snprintf(m.content_disposition, sizeof m.content_disposition, "attachment");
    m.user_meta = json_pack("{s:s}", "作成者", "山田");
    CHECK(put_full(&bk, "meta/一.txt", "hello", 5, NULL, 0, NULL, &m) == KSM_E_OK);
    CHECK(m.size == 5 && m.mtime_ms > 0);
    CHECK(ksm_store_head(&db, &bk, "meta/一.txt", &h) == KSM_E_OK);
    CHECK_STR(h.content_type, "text/plain; charset=utf-8");
    CHECK_STR(h.cache_control, "no-cache");
    CHECK_STR(h.content_disposition, "attachment");
    CHECK_STR(h.key, "meta/一.txt");
    CHECK_STR(json_string_value(json_object_get(h.user_meta, "作成者")), "山田");
    CHECK_STR(h.etag, m.etag);
    ksm_obj_meta_free(&h);
    json_t *tags = json_pack("{s:s}", "k", "v");
    CHECK(ksm_store_object_tags_put(&db, &bk, "meta/一.txt", tags) == KSM_E_OK);
    CHECK(ksm_store_object_tags_put(&db, &bk, "meta/none", tags) == KSM_E_NOT_FOUND);
    json_decref(tags);
    CHECK(ksm_store_head(&db, &bk, "meta/一.txt", &h) == KSM_E_OK);
    CHECK(h.tags && !strcmp(json_string_value(json_object_get(h.tags, "k")), "v"));
    ksm_obj_meta_free(&h);
    ksm_obj_meta_free(&m);

    /* overwrite: the old data file is gone once the reaper ran */
    char *a = random_data(300000), *b = random_data(200000), path_a[300], path_b[300];
    CHECK(put_obj(&bk, "ow/key", a, 300000) == KSM_E_OK);
    CHECK(object_path(&bk, "ow/key", path_a, sizeof path_a));
    CHECK(access(path_a, F_OK) == 0);
    int before = object_files();
    CHECK(put_obj(&bk, "ow/key", b, 200000) == KSM_E_OK);
    ksm_store_sync(st);
    CHECK(object_path(&bk, "ow/key", path_b, sizeof path_b));
    CHECK(access(path_a, F_OK) != 0);
    CHECK(access(path_b, F_OK) == 0);
    CHECK(object_files() == before);
    CHECK(get_equals(&bk, "ow/key", b, 200000, 0, false));
    uint64_t freed = 0;
    CHECK(ksm_store_delete(st, &db, &bk, "ow/key", &freed) == KSM_E_OK && freed == 200000);
    ksm_store_sync(st);
    CHECK(access(path_b, F_OK) != 0);
    CHECK(object_files() == before - 1);
    CHECK(ksm_store_head(&db, &bk, "ow/key", &h) == KSM_E_NOT_FOUND);
    CHECK(ksm_store_delete(st, &db, &bk, "ow/key", &freed) == KSM_E_OK && freed == 0);
    free(a);
    free(b);
}

static void test_put_errors(void)
{
    char md5[32];
    int files = object_files();
    md5_b64("other", 5, md5);
    struct ksm_obj_meta m, h;
    memset(&m, 0, sizeof m);
    CHECK(put_full(&bk, "md5/bad", "hello", 5, NULL, 0, md5, &m) == KSM_E_BAD_DIGEST);
    CHECK(ksm_store_head(&db, &bk, "md5/bad", &h) == KSM_E_NOT_FOUND);
    char *big = random_data(1u << 20);
    CHECK(put_full(&bk, "md5/bad-big", big, 1u << 20, NULL, 0, md5, &m) == KSM_E_BAD_DIGEST);
    CHECK(put_full(&bk, "md5/bad", "hello", 5, NULL, 0, "not base64", &m) == KSM_E_INVALID_DIGEST);
    md5_b64(big, 1u << 20, md5);
    CHECK(put_full(&bk, "md5/good-big", big, 1u << 20, NULL, 0, md5, &m) == KSM_E_OK);
    CHECK(ksm_store_delete(st, &db, &bk, "md5/good-big", NULL) == KSM_E_OK);
    ksm_store_sync(st);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(object_files() == files);
    CHECK(tmp_files() == 0);
    /* a body shorter than declared */
    struct put_ctx c = {0};
    struct ksm_put *p = ksm_store_put_begin(st, &loop, &db, &bk, "short", 10, NULL, 0);
    ksm_store_put_write(p, "abc", 3, on_drained, &c);
    ksm_store_put_commit(p, &m, NULL, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_INCOMPLETE_BODY);
    /* abort mid-way: nothing stays */
    p = ksm_store_put_begin(st, &loop, &db, &bk, "aborted", 3u << 20, NULL, 0);
    ksm_store_put_write(p, big, 1u << 20, on_drained, &c);
    ksm_store_put_write(p, big, 1u << 20, on_drained, &c);
    ksm_store_put_abort(p);
    /* the cleanup runs on the thread pool after the block in flight: wait for it by the clock, not
     * by loop turns, which other handles can make return at once on a busy machine. Up to 30 s: a
     * clean-clone `make check` once took more than 10 here (fuzzers on both cores, the pool's
     * threads behind this VM's disk), and the file was gone when the test was run again alone */
    uint64_t until = ksm_mono_ns() + 30ull * 1000000000;
    while (tmp_files() && ksm_mono_ns() < until) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(tmp_files() == 0);
    CHECK(ksm_store_head(&db, &bk, "aborted", &h) == KSM_E_NOT_FOUND);
    /* bad keys, unknown upload */
    memset(&c, 0, sizeof c);
    p = ksm_store_put_begin(st, &loop, &db, &bk, "", 1, NULL, 0);
    CHECK(ksm_store_put_error(p) == KSM_E_INVALID_ARGUMENT);
    ksm_store_put_abort(p);
    p = ksm_store_put_begin(st, &loop, &db, &bk, "k", 1, "up_nope", 1);
    CHECK(ksm_store_put_error(p) == KSM_E_NOT_FOUND);
    ksm_store_put_commit(p, &m, NULL, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_NOT_FOUND);
    free(big);
}

/* ---- listing against a reference ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);   /* unsigned bytes */
}

/* The reference: what S3 returns for one page. */
static size_t ref_list(char **keys, size_t nk, const char *prefix, const char *delim,
                       const char *after, int max, char out[][KSM_STORE_KEY_MAX + 1],
                       bool *is_prefix, bool *truncated)
{
    size_t n = 0, pn = strlen(prefix);
    char last_cp[KSM_STORE_KEY_MAX + 1] = "";
    *truncated = false;
    for (size_t i = 0; i < nk; i++) {
        const char *k = keys[i];
        if (strncmp(k, prefix, pn) || (after && strcmp(k, after) <= 0))
            continue;
        const char *d = delim && *delim ? strstr(k + pn, delim) : NULL;
        char ent[KSM_STORE_KEY_MAX + 1];
        if (d) {
            size_t cn = (size_t)(d - k) + strlen(delim);
            memcpy(ent, k, cn);
            ent[cn] = 0;
            if (!strcmp(ent, last_cp) || (after && strcmp(ent, after) <= 0))
                continue;
            snprintf(last_cp, sizeof last_cp, "%s", ent);
        } else {
            snprintf(ent, sizeof ent, "%s", k);
        }
        if ((int)n == max) {
            *truncated = true;
            break;
        }
        snprintf(out[n], sizeof out[n], "%s", ent);
        is_prefix[n++] = d != NULL;
    }
    return n;
}

static int list_compare(char **keys, size_t nk, const char *prefix, const char *delim, int max)
{
    static char ref[5000][KSM_STORE_KEY_MAX + 1];
    static bool ref_pfx[5000];
    char after[KSM_STORE_KEY_MAX + 1] = "";
    int bad = 0, pages = 0;
    for (;;) {
        bool rt, t;
        size_t rn = ref_list(keys, nk, prefix, delim, *after ? after : NULL, max, ref, ref_pfx, &rt);
        struct ksm_list_entry *e;
        size_t n;
        if (ksm_store_list(&db, &bk2, prefix, delim, *after ? after : NULL, max, &e, &n, &t) != KSM_E_OK)
            return 1;
        if (n != rn || t != rt) {
            fprintf(stderr, "list %s|%s|%s: n %zu/%zu t %d/%d\n", prefix, delim ? delim : "", after,
                    n, rn, t, rt);
            bad++;
        }
        for (size_t i = 0; i < n && i < rn; i++)
            if (strcmp(e[i].key, ref[i]) || e[i].is_prefix != ref_pfx[i]) {
                fprintf(stderr, "list entry %zu: %s vs %s\n", i, e[i].key, ref[i]);
                bad++;
                break;
            }
        if (n)
            snprintf(after, sizeof after, "%s", e[n - 1].key);
        free(e);
        if (!t || bad || ++pages > 10000)
            break;
    }
    return bad;
}

static void test_list(void)
{
    enum { NK = 3000 };
    static const char *const tops[] = {"写真", "データ", "a", "A", "b.txt", "z", "ｶﾅ", "é"};
    char *keys[NK];
    size_t nk = 0;
    for (int i = 0; i < NK; i++) {
        char k[200];
        const char *top = tops[i % KSM_NELEM(tops)];
        switch (i % 5) {
        case 0: snprintf(k, sizeof k, "%s/%03d/file%04d", top, i % 37, i); break;
        case 1: snprintf(k, sizeof k, "%s/東京/%04d.jpg", top, i); break;
        case 2: snprintf(k, sizeof k, "%s-%04d", top, i); break;
        case 3: snprintf(k, sizeof k, "%s/%04d", top, i); break;
        default: snprintf(k, sizeof k, "%s//x/%04d", top, i); break;
        }
        keys[nk++] = ksm_xstrdup(k);
    }
    /* small bodies: the listing only reads metadata */
    for (size_t i = 0; i < nk; i++)
        if (put_obj(&bk2, keys[i], "x", 1) != KSM_E_OK) {
            CHECK(false);
            return;
        }
    qsort(keys, nk, sizeof *keys, cmp_str);
    CHECK(list_compare(keys, nk, "", NULL, 1000) == 0);
    CHECK(list_compare(keys, nk, "", "/", 1000) == 0);
    CHECK(list_compare(keys, nk, "", "/", 3) == 0);
    CHECK(list_compare(keys, nk, "写真/", "/", 7) == 0);
    CHECK(list_compare(keys, nk, "写真/", NULL, 250) == 0);
    CHECK(list_compare(keys, nk, "データ/東京/", "/", 1000) == 0);
    CHECK(list_compare(keys, nk, "a", "/", 10) == 0);
    CHECK(list_compare(keys, nk, "a/", "/", 5) == 0);
    CHECK(list_compare(keys, nk, "z/", "東京", 4) == 0);
    CHECK(list_compare(keys, nk, "", "-", 50) == 0);
    CHECK(list_compare(keys, nk, "nothing", "/", 50) == 0);
    /* binary order: 'A' < 'a' < 'é' (C3 A9) < 'データ' (E3 83..) < '写真' (E5..) < 'ｶﾅ' (EF BD..) */
    struct ksm_list_entry *e;
    size_t n;
    bool t;
    CHECK(ksm_store_list(&db, &bk2, "", "/", NULL, 1000, &e, &n, &t) == KSM_E_OK);
    for (size_t i = 1; i < n; i++)
        CHECK(strcmp(e[i - 1].key, e[i].key) < 0);
    free(e);
    /* timing: a delimiter listing seeks past each common prefix */
    uint64_t t0 = ksm_mono_ns();
    CHECK(ksm_store_list(&db, &bk2, "", "/", NULL, 1000, &e, &n, &t) == KSM_E_OK);
    uint64_t dt = ksm_mono_ns() - t0;
    printf("list with delimiter over %d keys: %zu entries in %.2f ms\n", NK, n, dt / 1e6);
    free(e);
    for (size_t i = 0; i < nk; i++)
        free(keys[i]);
}

/* ---- multipart ---- */

static void test_multipart(void)
{
    struct ksm_obj_meta m, h;
    memset(&m, 0, sizeof m);
    snprintf(m.content_type, sizeof m.content_type, "video/mp4");
    m.user_meta = json_pack("{s:s}", "a", "b");
    char up[64], up2[64];
    CHECK(ksm_store_mpu_create(&db, &bk, "mpu/動画.mp4", &m, up) == KSM_E_OK);
    ksm_obj_meta_free(&m);
    size_t sz[3] = {5u << 20, (5u << 20) + 7, 1000}, total = sz[0] + sz[1] + sz[2];
    char *data = random_data(total);
    struct ksm_mpu_part parts[3];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        memset(&m, 0, sizeof m);
        CHECK(put_full(&bk, "mpu/動画.mp4", data + off, sz[i], up, i + 1, NULL, &m) == KSM_E_OK);
        parts[i].number = i + 1;
        snprintf(parts[i].etag, sizeof parts[i].etag, "%s", m.etag);
        off += sz[i];
        ksm_obj_meta_free(&m);
    }
    /* a part uploaded twice: the second wins, the first's file is collected */
    int files = object_files();
    memset(&m, 0, sizeof m);
    CHECK(put_full(&bk, "mpu/動画.mp4", data + sz[0] + sz[1], sz[2], up, 3, NULL, &m) == KSM_E_OK);
    CHECK_STR(m.etag, parts[2].etag);
    ksm_store_sync(st);
    CHECK(object_files() == files);
    struct ksm_mpu_part *pl;
    size_t n;
    bool t;
    CHECK(ksm_store_mpu_parts(&db, &bk, "mpu/動画.mp4", up, 0, 2, &pl, &n, &t) == KSM_E_OK);
    CHECK(n == 2 && t && pl[0].number == 1 && pl[1].number == 2 && pl[1].size == sz[1]);
    free(pl);
    CHECK(ksm_store_mpu_parts(&db, &bk, "mpu/動画.mp4", up, 2, 10, &pl, &n, &t) == KSM_E_OK);
    CHECK(n == 1 && !t && pl[0].number == 3);
    free(pl);

    struct put_ctx c;
    struct ksm_mpu_part wrong[3];
    memcpy(wrong, parts, sizeof wrong);
    wrong[0] = parts[1];
    wrong[1] = parts[0];
    memset(&c, 0, sizeof c);
    ksm_store_mpu_complete(st, &loop, &db, &bk, "mpu/動画.mp4", up, wrong, 3, &m, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_INVALID_PART_ORDER);
    memcpy(wrong, parts, sizeof wrong);
    wrong[1].etag[5] ^= 1;
    memset(&c, 0, sizeof c);
    ksm_store_mpu_complete(st, &loop, &db, &bk, "mpu/動画.mp4", up, wrong, 3, &m, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_INVALID_PART);
    memcpy(wrong, parts, sizeof wrong);
    wrong[1].number = 9;
    memset(&c, 0, sizeof c);
    ksm_store_mpu_complete(st, &loop, &db, &bk, "mpu/動画.mp4", up, wrong, 3, &m, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_INVALID_PART);
    /* part 3 (1000 bytes) not last → too small */
    struct ksm_mpu_part small[2] = {parts[2], parts[2]};
    small[1].number = 4;
    memset(&m, 0, sizeof m);
    CHECK(put_full(&bk, "mpu/動画.mp4", "tail", 4, up, 4, NULL, &m) == KSM_E_OK);
    snprintf(small[1].etag, sizeof small[1].etag, "%s", m.etag);
    ksm_obj_meta_free(&m);
    memset(&c, 0, sizeof c);
    ksm_store_mpu_complete(st, &loop, &db, &bk, "mpu/動画.mp4", up, small, 2, &m, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_ENTITY_TOO_SMALL);

    /* list uploads, a second one to abort */
    memset(&m, 0, sizeof m);
    CHECK(ksm_store_mpu_create(&db, &bk, "mpu/other", &m, up2) == KSM_E_OK);
    CHECK(put_full(&bk, "mpu/other", data, 1000, up2, 1, NULL, &m) == KSM_E_OK);
    ksm_obj_meta_free(&m);
    struct ksm_mpu_info *ul;
    CHECK(ksm_store_mpu_list(&db, &bk, "mpu/", NULL, NULL, 10, &ul, &n, &t) == KSM_E_OK);
    CHECK(n == 2 && !t && !strcmp(ul[0].key, "mpu/other") && !strcmp(ul[1].key, "mpu/動画.mp4"));
    free(ul);
    CHECK(ksm_store_mpu_list(&db, &bk, "mpu/", NULL, NULL, 1, &ul, &n, &t) == KSM_E_OK);
    CHECK(n == 1 && t);
    free(ul);
    CHECK(ksm_store_mpu_list(&db, &bk, "", "mpu/other", up2, 10, &ul, &n, &t) == KSM_E_OK);
    CHECK(n == 1 && !strcmp(ul[0].upload_id, up));
    free(ul);
    files = object_files();
    CHECK(ksm_store_mpu_abort(st, &db, &bk, "mpu/other", up2) == KSM_E_OK);
    CHECK(ksm_store_mpu_abort(st, &db, &bk, "mpu/other", up2) == KSM_E_NOT_FOUND);
    ksm_store_sync(st);
    CHECK(object_files() == files - 1);
    CHECK(ksm_store_bucket_delete(st, &db, &bk) == KSM_E_CONFLICT);

    /* complete: part 4 uploaded but not listed is collected */
    files = object_files();
    memset(&c, 0, sizeof c);
    memset(&m, 0, sizeof m);
    ksm_store_mpu_complete(st, &loop, &db, &bk, "mpu/動画.mp4", up, parts, 3, &m, on_put_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_OK);
    CHECK(m.size == total && m.parts == 3);
    CHECK(strlen(m.etag) == 36 && !strcmp(m.etag + 33, "-3\""));
    ksm_obj_meta_free(&m);
    ksm_store_sync(st);
    CHECK(object_files() == files - 1);
    CHECK(ksm_store_mpu_check(&db, &bk, "mpu/動画.mp4", up) == KSM_E_NOT_FOUND);
    CHECK(ksm_store_head(&db, &bk, "mpu/動画.mp4", &h) == KSM_E_OK);
    CHECK(h.size == total && h.parts == 3 && !strcmp(h.content_type, "video/mp4"));
    CHECK_STR(json_string_value(json_object_get(h.user_meta, "a")), "b");
    ksm_obj_meta_free(&h);
    CHECK(get_equals(&bk, "mpu/動画.mp4", data, total, 0, true));
    /* ranges across the part boundaries */
    CHECK(get_equals(&bk, "mpu/動画.mp4", data, 100, sz[0] - 50, false));
    CHECK(get_equals(&bk, "mpu/動画.mp4", data, sz[1] + 100, sz[0] - 50, false));
    CHECK(get_equals(&bk, "mpu/動画.mp4", data, 1000, total - 1000, false));
    CHECK(get_equals(&bk, "mpu/動画.mp4", data, 1, sz[0] + sz[1], false));
    /* overwriting the multipart object collects its parts */
    files = object_files();
    CHECK(put_obj(&bk, "mpu/動画.mp4", "small", 5) == KSM_E_OK);
    ksm_store_sync(st);
    CHECK(object_files() <= files - 2);
    CHECK(ksm_store_delete(st, &db, &bk, "mpu/動画.mp4", NULL) == KSM_E_OK);
    free(data);
}

static void test_canary(void)
{
    static const char canary[] = "KASUMI-CANARY-4f1d2c-機密情報-DO-NOT-STORE";
    size_t n = 300000, cl = sizeof canary - 1;
    char *data = ksm_xmalloc(n);
    for (size_t i = 0; i + cl <= n; i += cl)
        memcpy(data + i, canary, cl);
    memset(data + (n / cl) * cl, '.', n % cl);
    CHECK(put_obj(&bk, "canary/big", data, n) == KSM_E_OK);
    CHECK(put_obj(&bk, "canary/small", canary, cl) == KSM_E_OK);
    CHECK(get_equals(&bk, "canary/small", canary, cl, 0, false));
    CHECK(!tree_contains(datadir, canary, cl));
    CHECK(!tree_contains(datadir, "KASUMI-CANARY", 13));
    free(data);
}

static void test_orphans_and_tamper(void)
{
    char *data = random_data(200000), path[300], orphan[300], tmp[300];
    CHECK(put_obj(&bk, "keep/me", data, 200000) == KSM_E_OK);
    CHECK(object_path(&bk, "keep/me", path, sizeof path));
    /* a crash between rename and commit: a data file without a row; and a temporary */
    snprintf(orphan, sizeof orphan, "%s/objects/ab/cd", datadir);
    ksm_mkdir_p(orphan, 0700);
    snprintf(orphan, sizeof orphan, "%s/objects/ab/cd/abcd0000000000000000000000000000", datadir);
    snprintf(tmp, sizeof tmp, "%s/tmp/0123456789abcdef0123456789abcdef.part", datadir);
    CHECK(ksm_write_file_durable(orphan, "junk", 4, 0600) == 0);
    CHECK(ksm_write_file_durable(tmp, "junk", 4, 0600) == 0);
    ksm_store_close(st);
    store_up();
    CHECK(access(orphan, F_OK) != 0);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(access(path, F_OK) == 0);
    CHECK(get_equals(&bk, "keep/me", data, 200000, 0, false));
    /* one flipped ciphertext byte → DATA_CORRUPT (only for the chunk it is in) */
    size_t len;
    char *ct = ksm_read_file(path, &len);
    CHECK(ct && len == 200000 + 4 * 16);
    ct[70000] ^= 0x01;
    CHECK(ksm_write_file_durable(path, ct, len, 0600) == 0);
    free(ct);
    struct get_ctx c;
    CHECK(get_range(&bk, "keep/me", 0, 200000, false, &c) == KSM_E_DATA_CORRUPT);
    free(c.buf);
    CHECK(get_equals(&bk, "keep/me", data, 1000, 0, false));   /* chunk 0 is intact */
    CHECK(get_range(&bk, "keep/me", 66000, 10, false, &c) == KSM_E_DATA_CORRUPT);
    free(c.buf);
    /* truncation */
    CHECK(truncate(path, (off_t)(len - 1)) == 0);
    CHECK(get_range(&bk, "keep/me", 199000, 1000, false, &c) == KSM_E_DATA_CORRUPT);
    free(c.buf);
    CHECK(ksm_store_delete(st, &db, &bk, "keep/me", NULL) == KSM_E_OK);
    free(data);
}

static void test_key_disabled(void)
{
    struct ksm_bucket b;
    CHECK(ksm_store_bucket_create(st, &db, "tn_a", "pj_a", "locked", "jp-east", &b) == KSM_E_OK);
    CHECK(put_obj(&b, "x", "secret", 6) == KSM_E_OK);
    CHECK(ksm_kms_key_disable(kms, &db, KSM_KMS_BUCKET, b.id) == KSM_E_OK);
    struct get_ctx c;
    CHECK(get_range(&b, "x", 0, 6, false, &c) == KSM_E_KEY_DISABLED);
    free(c.buf);
    CHECK(put_obj(&b, "y", "z", 1) == KSM_E_KEY_DISABLED);
    CHECK(ksm_kms_key_enable(kms, &db, KSM_KMS_BUCKET, b.id) == KSM_E_OK);
    CHECK(get_equals(&b, "x", "secret", 6, 0, false));
    CHECK(ksm_store_delete(st, &db, &b, "x", NULL) == KSM_E_OK);
}

static void test_get_cancel(void)
{
    size_t n = 3u << 20;
    char *data = random_data(n);
    CHECK(put_obj(&bk, "cancel/me", data, n) == KSM_E_OK);
    struct get_ctx c;
    memset(&c, 0, sizeof c);
    c.pause_some = false;
    struct ksm_get *g = ksm_store_get_begin(st, &loop, &db, &bk, "cancel/me", 0, n, on_data,
                                            on_get_done, &c);
    while (c.pieces == 0)
        uv_run(&loop, UV_RUN_ONCE);
    ksm_store_get_cancel(g);
    /* until the read's job in flight has come back and freed it (the loop holds nothing else):
     * test_pack closes the store next, and a read freed after that would touch a freed store */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(!c.done);
    free(c.buf);
    /* open, then decide not to read */
    struct ksm_obj_meta m;
    enum ksm_err e;
    g = ksm_store_get_open(st, &db, &bk, "cancel/me", &m, &e);
    CHECK(g && e == KSM_E_OK && m.size == n);
    ksm_obj_meta_free(&m);
    ksm_store_get_cancel(g);
    CHECK(!ksm_store_get_open(st, &db, &bk, "cancel/none", &m, &e) && e == KSM_E_NOT_FOUND);
    free(data);
}

static int64_t packs_dead_bytes(void)
{
    sqlite3_stmt *q = ksm_db_prepare(&db, "SELECT total(dead) FROM store_packs");
    int64_t n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return n;
}

static void test_pack(void)
{
    /* reopen with the pack log on: small objects share fsyncs */
    ksm_store_close(st);
    small_max = 128 << 10;
    store_up();
    int files = object_files();
    enum { N = 200 };
    static struct put_ctx c[N];
    static char bodies[N][4096];
    struct ksm_obj_meta m[N];
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "pack/%03d", i);
        ksm_random_bytes(bodies[i], sizeof bodies[i]);
        memset(&m[i], 0, sizeof m[i]);
        struct ksm_put *p = ksm_store_put_begin(st, &loop, &db, &bk, key, 4096, NULL, 0);
        ksm_store_put_write(p, bodies[i], 4096, on_drained, &c[i]);
        ksm_store_put_commit(p, &m[i], NULL, on_put_done, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        run_until(&c[i].done);
        CHECK(c[i].e == KSM_E_OK);
        ksm_obj_meta_free(&m[i]);
    }
    CHECK(object_files() == files);   /* none got its own file */
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "pack/%03d", i);
        bad += !get_equals(&bk, key, bodies[i], 4096, 0, false);
        bad += !get_equals(&bk, key, bodies[i], 96, 4000, false);
    }
    CHECK(bad == 0);
    int64_t dead0 = packs_dead_bytes();
    CHECK(put_obj(&bk, "pack/000", "", 0) == KSM_E_OK);   /* overwrite: extent freed */
    /* counted dead in the commit that freed it, not later by the reaper in a fsync of its own */
    CHECK(packs_dead_bytes() - dead0 >= 4096);
    CHECK(get_equals(&bk, "pack/000", "", 0, 0, false));
    char md5[32];
    md5_b64("x", 1, md5);
    struct ksm_obj_meta mm;
    memset(&mm, 0, sizeof mm);
    CHECK(put_full(&bk, "pack/bad", "y", 1, NULL, 0, md5, &mm) == KSM_E_BAD_DIGEST);
    /* canary through the pack */
    static const char canary[] = "PACK-CANARY-9e8d-秘密";
    CHECK(put_obj(&bk, "pack/canary", canary, sizeof canary - 1) == KSM_E_OK);
    CHECK(!tree_contains(datadir, canary, sizeof canary - 1));
    /* survives a reopen */
    ksm_store_close(st);
    store_up();
    CHECK(get_equals(&bk, "pack/001", bodies[1], 4096, 0, false));
    CHECK(get_equals(&bk, "pack/canary", canary, sizeof canary - 1, 0, false));
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "pack/%03d", i);
        ksm_store_delete(st, &db, &bk, key, NULL);
    }
    ksm_store_delete(st, &db, &bk, "pack/canary", NULL);
}

/* ---- compaction ---- */

static uint64_t pack_bytes(int *files)
{
    char dp[200], p[600];
    snprintf(dp, sizeof dp, "%s/packs", datadir);
    DIR *d = opendir(dp);
    uint64_t total = 0;
    struct dirent *de;
    *files = 0;
    while (d && (de = readdir(d))) {
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dp, de->d_name);
        if (de->d_name[0] != '.' && stat(p, &sb) == 0) {
            total += (uint64_t)sb.st_size;
            (*files)++;
        }
    }
    if (d)
        closedir(d);
    return total;
}

static void reopen(void)
{
    ksm_store_close(st);
    store_up();
}

enum { CN = 300 };
static char *cbody[CN];
static size_t clen[CN];
static bool cgone[CN];   /* deleted by the test */

static void ckey(char *key, size_t n, int i) { snprintf(key, n, "c/%03d", i); }

/* CN small objects of 1 byte..8 KiB, all queued at once so they share batches. */
static void compact_fill(void)
{
    static struct put_ctx c[CN];
    struct ksm_obj_meta m[CN];
    for (int i = 0; i < CN; i++) {
        char key[32];
        ckey(key, sizeof key, i);
        free(cbody[i]);
        clen[i] = 1 + (size_t)(rand() % 8192);
        cbody[i] = random_data(clen[i]);
        cgone[i] = false;
        memset(&m[i], 0, sizeof m[i]);
        memset(&c[i], 0, sizeof c[i]);
        struct ksm_put *p = ksm_store_put_begin(st, &loop, &db, &bk, key, (int64_t)clen[i], NULL, 0);
        ksm_store_put_write(p, cbody[i], clen[i], on_drained, &c[i]);
        ksm_store_put_commit(p, &m[i], NULL, on_put_done, &c[i]);
    }
    int bad = 0;
    for (int i = 0; i < CN; i++) {
        run_until(&c[i].done);
        bad += c[i].e != KSM_E_OK;
        ksm_obj_meta_free(&m[i]);
    }
    CHECK(bad == 0);
}

/* Deletes all but every keep-th object (keep 0: all). */
static void compact_thin(int keep)
{
    for (int i = 0; i < CN; i++) {
        char key[32];
        ckey(key, sizeof key, i);
        if ((!keep || i % keep) && !cgone[i]) {
            CHECK(ksm_store_delete(st, &db, &bk, key, NULL) == KSM_E_OK);
            cgone[i] = true;
        }
    }
    ksm_store_sync(st);   /* the reaper has counted the freed extents */
}

/* Every surviving object byte-identical, every deleted one absent. */
static int compact_bad(void)
{
    int bad = 0;
    for (int i = 0; i < CN; i++) {
        char key[32];
        struct ksm_obj_meta m;
        ckey(key, sizeof key, i);
        if (cgone[i])
            bad += ksm_store_head(&db, &bk, key, &m) != KSM_E_NOT_FOUND;
        else
            bad += !get_equals(&bk, key, cbody[i], clen[i], 0, false);
    }
    return bad;
}

static void test_compact_reclaims(void)
{
    int files;
    /* test_pack deleted all it stored: its packs are unreferenced and go at open */
    CHECK(pack_bytes(&files) > 0 && files > 0);
    small_max = 128 << 10;
    compact_pct = 50;
    reopen();
    CHECK(pack_bytes(&files) == 0 && files == 0);
    compact_fill();
    reopen();   /* closes the pack just written: the open one is never compacted */
    uint64_t full = pack_bytes(&files);
    CHECK(files == 1);
    compact_thin(10);   /* 90% deleted */
    CHECK(put_obj(&bk, "c/big", cbody[0], 1) == KSM_E_OK);   /* something in the open pack */
    CHECK(pack_bytes(&files) > full && files == 2);
    ksm_store_compact_now(st);
    uint64_t after = pack_bytes(&files);
    struct ksm_store_compact_stats cs;
    ksm_store_compact_stats(st, &cs);
    CHECK(files == 1);   /* the old pack is gone; its survivors are in the open one */
    CHECK(after < full / 5);
    CHECK(cs.packs_compacted == 1 && cs.extents_moved == CN / 10 && cs.errors == 0);
    CHECK(cs.bytes_reclaimed > full / 2 && cs.packs_waiting == 0);
    CHECK(cs.pack_files == 1 && cs.pack_bytes == after && cs.pack_live_bytes > 0);
    fprintf(stderr, "compaction: packs %llu -> %llu bytes, %llu reclaimed\n",
            (unsigned long long)full, (unsigned long long)after,
            (unsigned long long)cs.bytes_reclaimed);
    CHECK(compact_bad() == 0);
    /* the open pack is not touched below 1 MiB, even when it is mostly dead */
    compact_thin(CN);
    ksm_store_compact_now(st);
    CHECK(pack_bytes(&files) == after && files == 1);
    /* closed by a restart, it goes in turn; what is left reads back */
    reopen();
    CHECK(compact_bad() == 0);
    ksm_store_compact_now(st);
    CHECK(compact_bad() == 0);
    CHECK(get_equals(&bk, "c/big", cbody[0], 1, 0, false));
    ksm_store_compact_stats(st, &cs);
    CHECK(cs.packs_compacted == 1 && cs.extents_moved == 2);   /* c/000 and c/big */
    CHECK(pack_bytes(&files) < 64 << 10);
    ksm_store_delete(st, &db, &bk, "c/big", NULL);
}

/* A node that never restarts: the open pack, past 1 MiB and mostly dead, is closed and compacted. */
static void test_compact_seals_open_pack(void)
{
    int files;
    compact_thin(0);
    reopen();
    compact_fill();   /* ~1.2 MiB into the open pack, no restart */
    uint64_t full = pack_bytes(&files);
    CHECK(full > 1u << 20 && files == 1);
    compact_thin(10);
    ksm_store_compact_now(st);
    struct ksm_store_compact_stats cs;
    ksm_store_compact_stats(st, &cs);
    CHECK(cs.packs_compacted == 1 && cs.extents_moved == CN / 10);
    CHECK(pack_bytes(&files) < full / 5 && files == 1);
    CHECK(compact_bad() == 0);
    /* new puts go on into the new pack */
    CHECK(put_obj(&bk, "c/after", "after", 5) == KSM_E_OK);
    CHECK(get_equals(&bk, "c/after", "after", 5, 0, false));
    reopen();
    CHECK(compact_bad() == 0 && get_equals(&bk, "c/after", "after", 5, 0, false));
    ksm_store_delete(st, &db, &bk, "c/after", NULL);
}

/* ---- crash points: the hook stops a compaction where a crash would ---- */

static int stop_at = -1;

static bool stop_hook(void *arg, enum ksm_store_compact_step step)
{
    (void)arg;
    return (int)step == stop_at;
}

static void test_compact_crash_points(void)
{
    compact_hook = stop_hook;
    for (int step = KSM_STORE_COMPACT_COPIED; step <= KSM_STORE_COMPACT_RETIRED; step++) {
        int files;
        compact_thin(0);   /* start from nothing */
        reopen();
        compact_fill();
        reopen();
        compact_thin(4);
        uint64_t full = pack_bytes(&files);
        stop_at = step;
        ksm_store_compact_now(st);
        struct ksm_store_compact_stats cs;
        ksm_store_compact_stats(st, &cs);
        CHECK(cs.packs_compacted == 0);
        CHECK(compact_bad() == 0);   /* nothing lost while stopped */
        /* the "crash": no more steps; a restart */
        stop_at = -1;
        reopen();
        CHECK(compact_bad() == 0);
        uint64_t now = pack_bytes(&files);
        if (step == KSM_STORE_COMPACT_COPIED)
            CHECK(now == full);   /* old pack still referenced; the copies' pack referenced by
                                   * nothing, so removed at open */
        else
            CHECK(now < full / 2);   /* nothing referenced the old pack: removed at open */
        ksm_store_compact_now(st);
        CHECK(compact_bad() == 0);
        reopen();
        ksm_store_compact_now(st);
        CHECK(compact_bad() == 0);
        CHECK(pack_bytes(&files) < full / 2);
    }
    compact_hook = NULL;
    reopen();
}

/* ---- reads during a move ---- */

static void test_compact_pinned_read(void)
{
    int files;
    compact_thin(0);
    reopen();
    compact_fill();
    reopen();
    compact_thin(5);
    /* a GET that has the old place (opened, not yet reading) */
    struct ksm_obj_meta m;
    enum ksm_err e;
    char old[600];
    snprintf(old, sizeof old, "%s/packs", datadir);
    struct ksm_get *g = ksm_store_get_open(st, &db, &bk, "c/005", &m, &e);
    CHECK(g && e == KSM_E_OK && m.size == clen[5]);
    ksm_obj_meta_free(&m);
    int before;
    pack_bytes(&before);
    ksm_store_compact_now(st);
    struct ksm_store_compact_stats cs;
    ksm_store_compact_stats(st, &cs);
    CHECK(cs.packs_waiting == 1);               /* retired, but the GET holds it */
    CHECK(pack_bytes(&files) && files == before + 1);   /* and the copies' pack */
    struct get_ctx c;
    memset(&c, 0, sizeof c);
    ksm_store_get_start(g, &loop, 0, clen[5], on_data, on_get_done, &c);
    run_until(&c.done);
    CHECK(c.e == KSM_E_OK && c.len == clen[5] && !memcmp(c.buf, cbody[5], clen[5]));
    free(c.buf);
    /* the GET is freed: the compactor is told and removes the file */
    for (int i = 0; i < 500; i++) {
        ksm_store_compact_stats(st, &cs);
        if (!cs.packs_waiting)
            break;
        usleep(10000);
    }
    CHECK(cs.packs_waiting == 0 && cs.packs_compacted == 1);
    pack_bytes(&files);
    CHECK(files == before);
    CHECK(compact_bad() == 0);
}

/* GETs on the loop while a pass moves the very objects being read. */
static void *compact_thread(void *arg)
{
    ksm_store_compact_now(arg);
    return NULL;
}

static void test_compact_concurrent_reads(void)
{
    compact_thin(0);
    reopen();
    compact_fill();
    reopen();
    compact_thin(3);
    pthread_t th;
    struct ksm_store_compact_stats cs;
    CHECK(pthread_create(&th, NULL, compact_thread, st) == 0);
    int rounds = 0, bad = 0;
    do {
        bad += compact_bad();
        rounds++;
        ksm_store_compact_stats(st, &cs);
    } while (cs.packs_compacted == 0 && cs.errors == 0 && rounds < 1000);
    pthread_join(th, NULL);
    bad += compact_bad();
    ksm_store_compact_stats(st, &cs);
    CHECK(bad == 0 && cs.packs_compacted == 1 && cs.extents_moved == CN / 3);
    fprintf(stderr, "compaction under reads: %d read rounds\n", rounds);
}

/* ---- deletes and overwrites during a move ---- */

static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hook_cv = PTHREAD_COND_INITIALIZER;
static int hook_state;   /* 1: the writer waits in the hook; 2: the test let it go */

static bool wait_hook(void *arg, enum ksm_store_compact_step step)
{
    (void)arg;
    if (step != KSM_STORE_COMPACT_COPIED)
        return false;
    pthread_mutex_lock(&hook_mu);
    if (hook_state == 0) {
        hook_state = 1;
        pthread_cond_broadcast(&hook_cv);
        while (hook_state != 2)
            pthread_cond_wait(&hook_cv, &hook_mu);
    }
    pthread_mutex_unlock(&hook_mu);
    return false;
}

static void test_compact_delete_during_move(void)
{
    compact_thin(0);
    compact_hook = wait_hook;
    reopen();
    compact_fill();
    reopen();
    compact_thin(3);   /* 0, 3, 6, ... survive */
    hook_state = 0;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, compact_thread, st) == 0);
    pthread_mutex_lock(&hook_mu);
    while (hook_state != 1)
        pthread_cond_wait(&hook_cv, &hook_mu);
    pthread_mutex_unlock(&hook_mu);
    /* the copies are durable, the rows not yet switched: delete one, overwrite another with a
     * large object (its own file: the pack writer is held in the hook) */
    CHECK(ksm_store_delete(st, &db, &bk, "c/003", NULL) == KSM_E_OK);
    cgone[3] = true;
    free(cbody[6]);
    clen[6] = 200000;
    cbody[6] = random_data(clen[6]);
    CHECK(put_obj(&bk, "c/006", cbody[6], clen[6]) == KSM_E_OK);
    pthread_mutex_lock(&hook_mu);
    hook_state = 2;
    pthread_cond_broadcast(&hook_cv);
    pthread_mutex_unlock(&hook_mu);
    pthread_join(th, NULL);
    struct ksm_store_compact_stats cs;
    ksm_store_compact_stats(st, &cs);
    CHECK(cs.packs_compacted == 1 && cs.extents_moved == CN / 3 - 2);
    CHECK(compact_bad() == 0);   /* c/003 stays deleted, c/006 is the new body */
    compact_hook = NULL;
    reopen();
    CHECK(compact_bad() == 0);
    compact_thin(0);
    for (int i = 0; i < CN; i++)
        free(cbody[i]);
}

static void rm_rf(const char *path)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", path);
}

int main(void)
{
    srand(12345);
    setup();
    test_buckets();
    test_round_trips();
    test_ranges();
    test_meta_overwrite_delete();
    test_put_errors();
    test_list();
    test_multipart();
    test_canary();
    test_orphans_and_tamper();
    test_key_disabled();
    test_get_cancel();
    test_pack();
    test_compact_reclaims();
    test_compact_seals_open_pack();
    test_compact_crash_points();
    test_compact_pinned_read();
    test_compact_concurrent_reads();
    test_compact_delete_during_move();
    ksm_store_close(st);
    for (int i = 0; i < 100; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    ksm_kms_close(kms);
    ksm_db_close(&db);
    uv_loop_close(&loop);
    rm_rf(dir);
    return CHECK_DONE();
}
