/* test_audit.c — the audit log: write, flush, verify; reopen and continue the chain; query filters
 * and pagination; tampering (a flipped byte, a truncated tail, a deleted middle segment, a rewritten
 * record with the chain recomputed, an appended unsigned record) is caught and located; retention
 * below 365 days is refused; done callbacks arrive on a uv loop; a torn tail is cut at open. The
 * block index: pages whose matches span many blocks, a rare tenant in a large log, and an index.db
 * of the older per-record layout, which is rebuilt; counts by facet over any period, from the blocks'
 * counts and the records at the period's ends, live and rebuilt. The live verification of an open log: intact
 * across sealed segments while the writer keeps going, and a flipped byte located. The signatures:
 * RFC 8032's test vectors, and OpenSSL's Ed25519 and ours make and accept the same bytes. */
#include "audit/audit.h"
#include "audit/audit_int.h"
#include "check.h"
#include "core/log.h"
#include "core/util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[256];

static struct ksm_audit_opts opts_with(size_t seg_bytes)
{
    struct ksm_audit_opts o = {.retention_days = 365, .group_commit_ms = 10,
                               .segment_bytes = seg_bytes, .env_name = "govcloud"};
    return o;
}

static void paths(const char *name, char dir[512], char key[512], char pub[512])
{
    snprintf(dir, 512, "%s/%s/audit", base, name);
    snprintf(key, 512, "%s/%s/keys/audit-ed25519.pem", base, name);
    snprintf(pub, 512, "%s/%s/audit-pub.pem", base, name);
}

static struct ksm_audit *open_log(const char *dir, const char *key, size_t seg_bytes)
{
    struct ksm_audit *a = NULL;
    char err[256] = "";
    struct ksm_audit_opts o = opts_with(seg_bytes);
    if (ksm_audit_open(&a, dir, key, &o, err, sizeof err))
        fprintf(stderr, "open: %s\n", err);
    return a;
}

static void save_pub(struct ksm_audit *a, const char *pub)
{
    struct ksm_buf b = KSM_BUF_INIT;
    CHECK(ksm_audit_public_key_pem(a, &b) == 0);
    CHECK(b.len > 0 && strstr(b.data, "BEGIN PUBLIC KEY"));
    CHECK(ksm_write_file_durable(pub, b.data, b.len, 0644) == 0);
    ksm_buf_free(&b);
}

static void submit_n(struct ksm_audit *a, int n, int flush_every)
{
    static const char *tenants[] = {"tn_a", "tn_b", NULL};
    static const char *actions[] = {"tenant.read", "tenant.create", "bucket.create"};
    for (int i = 0; i < n; i++) {
        char rid[32], target[32];
        snprintf(rid, sizeof rid, "req-%d", i);
        snprintf(target, sizeof target, "obj/%d", i);
        struct ksm_audit_rec r = {.request_id = rid, .principal = i % 2 ? "u_alice" : "u_bob",
                                  .tenant = tenants[i % 3], .source = "192.0.2.1",
                                  .action = actions[i % 3], .target = target, .outcome = "success",
                                  .status = 200};
        ksm_audit_submit(a, &r, NULL, NULL, NULL);
        if (flush_every && (i + 1) % flush_every == 0)
            ksm_audit_flush(a);
    }
    ksm_audit_flush(a);
}

/* Both ways: checking the seals and the last signature (the default) must reach the verdict, and
 * name the bad place, exactly as checking every signature does; only the count of signatures
 * checked differs. */
static int verify(const char *dir, const char *pub, struct ksm_buf *rep)
{
    struct ksm_buf all = KSM_BUF_INIT;
    ksm_buf_reset(rep);
    int rc = ksm_audit_verify(dir, pub, false, rep);
    int rc_all = ksm_audit_verify(dir, pub, true, &all);
    CHECK(rc == rc_all);
    const char *a = rep->data ? rep->data : "", *b = all.data ? all.data : "";
    if (rc == 0) {   /* the summaries differ only in "N signatures checked" */
        const char *ka = strstr(a, " signatures checked"), *kb = strstr(b, " signatures checked");
        CHECK(ka && kb && !strcmp(ka, kb));
    } else {
        CHECK_STR(a, b);
    }
    if (getenv("AUDIT_TEST_VERBOSE"))
        fprintf(stderr, "verify %s: %s", dir, rep->data ? rep->data : "(none)\n");
    ksm_buf_free(&all);
    return rc;
}

static char *seg_path(const char *dir, int n)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/seg-%06d.log", dir, n);
    return p;
}

/* A new log named name (paths filled in), its public key saved beside it; NULL (a failed CHECK)
 * when it cannot be opened. */
static struct ksm_audit *new_log(const char *name, char dir[512], char key[512], char pub[512],
                                 size_t segment_bytes)
{
    paths(name, dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, segment_bytes);
    CHECK(a != NULL);
    if (a)
        save_pub(a, pub);
    return a;
}

/* Builds a log of n records in several small segments, closed (sealed). */
static void make_log(const char *name, int n, char dir[512], char pub[512])
{
    char key[512];
    struct ksm_audit *a = new_log(name, dir, key, pub, 2048);
    if (!a)
        return;
    submit_n(a, n, 3);
    ksm_audit_close(a);
}

static void test_write_verify_reopen(void)
{
    char dir[512], key[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    struct ksm_audit *a = new_log("basic", dir, key, pub, 0);
    if (!a)
        return;
    struct stat st;
    CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
    submit_n(a, 50, 0);
    struct ksm_audit_stats s;
    ksm_audit_stats(a, &s);
    CHECK(s.records == 50 && s.commits >= 1 && s.bytes > 0);
    uint64_t total = 0;
    for (int i = 0; i < 12; i++)
        total += s.commit_latency_buckets[i];
    CHECK(total == 50);
    ksm_audit_close(a);
    CHECK(verify(dir, pub, &rep) == 0);
    CHECK(strstr(rep.data, "50 records") && strstr(rep.data, "sealed"));

    /* the first record's prev is genesis */
    size_t len;
    char *seg1 = ksm_read_file(seg_path(dir, 1), &len);
    CHECK(seg1 && !strncmp(seg1, "{\"seq\":1,\"prev\":\"0000000000000000", 32));
    CHECK(seg1 && strstr(seg1, "\"env\":\"govcloud\"") && strstr(seg1, "\"time\":\"20"));
    free(seg1);

    /* reopen: a new segment whose first record chains to the seal of the first */
    a = open_log(dir, key, 0);
    CHECK(a != NULL);
    if (!a)
        return;
    struct ksm_audit_rec r = {.principal = "system", .action = "audit.reopen", .status = 200};
    CHECK(ksm_audit_submit(a, &r, NULL, NULL, NULL) == 51);
    ksm_audit_flush(a);
    /* a live (unsealed) log verifies too: every record is under a checkpoint */
    CHECK(verify(dir, pub, &rep) == 0);
    CHECK(strstr(rep.data, "51 records") && strstr(rep.data, "open"));
    ksm_audit_close(a);
    CHECK(verify(dir, pub, &rep) == 0);
    CHECK(strstr(rep.data, "2 segments") && strstr(rep.data, "51 records"));
    CHECK(access(seg_path(dir, 2), F_OK) == 0);
    ksm_buf_free(&rep);
}

static int query_count(struct ksm_audit *a, const struct ksm_audit_filter *f, json_t **out,
                       char **cursor)
{
    json_t *arr = json_array();
    int rc = ksm_audit_query(a, f, arr, cursor);
    int n = rc ? -1 : (int)json_array_size(arr);
    if (out)
        *out = arr;
    else
        json_decref(arr);
    return n;
}

static void test_query(void)
{
    char dir[512], key[512], pub[512];
    paths("query", dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, 4096);
    CHECK(a != NULL);
    if (!a)
        return;
    submit_n(a, 30, 7);   /* several segments: rows point across them */
    struct ksm_audit_filter f = {0};
    json_t *arr = NULL;
    char *cur = NULL;
    CHECK(query_count(a, &f, &arr, &cur) == 30 && cur == NULL);
    CHECK(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")) == 30);
    CHECK(json_integer_value(json_object_get(json_array_get(arr, 29), "seq")) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0), "principal")), "u_alice");
    json_decref(arr);

    f.tenant = "tn_a";   /* i % 3 == 0: 10 records */
    CHECK(query_count(a, &f, NULL, &cur) == 10);
    f.tenant = NULL;
    f.principal = "u_bob";
    CHECK(query_count(a, &f, NULL, &cur) == 15);
    f.principal = NULL;
    f.action = "tenant.*";
    CHECK(query_count(a, &f, NULL, &cur) == 20);
    f.action = "tenant.create";
    CHECK(query_count(a, &f, NULL, &cur) == 10);
    f.action = "bucket*";
    f.tenant = "tn_b";   /* i % 3 == 1 never has bucket.create (i % 3 == 2) */
    CHECK(query_count(a, &f, NULL, &cur) == 0);
    f.action = NULL;
    f.tenant = NULL;

    /* a time window around now, then one in the past */
    f.since_ms = ksm_now_ms() - 60000;
    f.until_ms = ksm_now_ms() + 60000;
    CHECK(query_count(a, &f, NULL, &cur) == 30);
    f.until_ms = f.since_ms;
    f.since_ms = 0;
    CHECK(query_count(a, &f, NULL, &cur) == 0);
    f.until_ms = 0;

    /* pagination: 7 + 7 + 7 + 7 + 2, newest first, no overlap */
    f.limit = 7;
    uint64_t expect = 30;
    int pages = 0, total = 0;
    char *cursor = NULL;
    do {
        f.cursor = cursor;
        char *next = NULL;
        int n = query_count(a, &f, &arr, &next);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++)
            CHECK(json_integer_value(json_object_get(json_array_get(arr, (size_t)i), "seq")) ==
                  (json_int_t)expect--);
        json_decref(arr);
        free(cursor);
        cursor = next;
        total += n > 0 ? n : 0;
        pages++;
    } while (cursor && pages < 10);
    CHECK(pages == 5 && total == 30);
    f.cursor = "not-a-cursor";
    CHECK(query_count(a, &f, NULL, &cur) == -1);
    f.cursor = NULL;
    f.limit = 5000;   /* capped, not refused */
    CHECK(query_count(a, &f, NULL, &cur) == 30);
    ksm_audit_close(a);

    /* the index survives a reopen, and is rebuilt from the segments when it is lost */
    char idx[600];
    snprintf(idx, sizeof idx, "%s/index.db", dir);
    a = open_log(dir, key, 4096);
    CHECK(a && query_count(a, &(struct ksm_audit_filter){0}, NULL, &cur) == 30);
    ksm_audit_close(a);
    unlink(idx);
    a = open_log(dir, key, 4096);
    struct ksm_audit_filter ft = {.tenant = "tn_b"};
    CHECK(a && query_count(a, &ft, NULL, &cur) == 10);
    ksm_audit_close(a);
}

static int64_t index_count(const char *dir, const char *sql)
{
    char path[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    snprintf(path, sizeof path, "%s/index.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Whether submit_n's record seq (i = seq - 1) has principal u_alice and an action tenant.*. */
static bool alice_tenant_action(int64_t seq)
{
    int64_t i = seq - 1;
    return i % 2 == 1 && i % 3 != 2;
}

/* Pages through f (limit set by the caller) and checks the records are exactly the seqs in
 * 1..total that want() accepts, newest first, no overlap, no empty last page. */
static void check_pages(struct ksm_audit *a, struct ksm_audit_filter *f, int total,
                        bool (*want)(int64_t))
{
    int64_t expect = total + 1;
    int pages = 0;
    char *cursor = NULL;
    do {
        f->cursor = cursor;
        json_t *arr = NULL;
        char *next = NULL;
        int n = query_count(a, f, &arr, &next);
        CHECK(n > 0 && (!next || n == f->limit));
        for (int i = 0; i < n; i++) {
            while (--expect > 0 && !want(expect))
                ;
            CHECK(json_integer_value(json_object_get(json_array_get(arr, (size_t)i), "seq")) ==
                  expect);
        }
        json_decref(arr);
        free(cursor);
        cursor = next;
        pages++;
    } while (cursor && pages < 1000);
    while (--expect > 0 && !want(expect))
        ;
    CHECK(expect <= 0);   /* nothing left out */
    f->cursor = NULL;
}

static bool every_tn_a(int64_t seq)
{
    return (seq - 1) % 3 == 0;
}

/* Matches spread over many blocks (several indexer rounds, several segments): pages stitch
 * across block boundaries without a gap or an overlap, live and after a rebuild. */
static void test_query_blocks(void)
{
    char dir[512], key[512], pub[512];
    paths("blocks", dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, 256 << 10);
    CHECK(a != NULL);
    if (!a)
        return;
    const int total = 3000;
    submit_n(a, total, 250);
    int64_t blocks = index_count(dir, "SELECT count(*) FROM blk");
    CHECK(blocks >= 6 && blocks <= total / 100);   /* coarse: records share rows */
    for (int round = 0; round < 2; round++) {
        struct ksm_audit_filter f = {.tenant = "tn_a", .limit = 1000};
        json_t *arr = NULL;
        char *cur = NULL;
        CHECK(query_count(a, &f, &arr, &cur) == 1000 && cur == NULL);
        json_decref(arr);
        f.limit = 97;
        check_pages(a, &f, total, every_tn_a);
        struct ksm_audit_filter g = {.principal = "u_alice", .action = "tenant.*", .limit = 137};
        check_pages(a, &g, total, alice_tenant_action);
        ksm_audit_close(a);
        /* the same answers from an index rebuilt from the segments */
        char idx[600];
        snprintf(idx, sizeof idx, "%s/index.db", dir);
        unlink(idx);
        a = open_log(dir, key, 256 << 10);
        CHECK(a != NULL);
        if (!a)
            return;
        CHECK(index_count(dir, "SELECT max(last_seq) FROM blk") == total);
    }
    ksm_audit_close(a);
}

/* A tenant seen three times in a large log: found exactly, newest first, paged. */
static void test_rare_tenant(void)
{
    char dir[512], key[512], pub[512];
    paths("rare", dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, 1 << 20);
    CHECK(a != NULL);
    if (!a)
        return;
    const int total = 20000, rare[] = {5, 10001, 19990};
    for (int i = 1; i <= total; i++) {
        bool r = i == rare[0] || i == rare[1] || i == rare[2];
        char target[32];
        snprintf(target, sizeof target, "obj/%d", i);
        struct ksm_audit_rec rec = {.principal = r ? "u_rare" : "u_common",
                                    .tenant = r ? "tn_rare" : "tn_common", .action = "object.get",
                                    .target = target, .outcome = "success", .status = 200};
        ksm_audit_submit(a, &rec, NULL, NULL, NULL);
        if (i % 2000 == 0)
            ksm_audit_flush(a);
    }
    ksm_audit_flush(a);
    CHECK(index_count(dir, "SELECT count(*) FROM blk_key WHERE kind=1 AND val='tn_rare'") == 3);
    struct ksm_audit_filter f = {.tenant = "tn_rare", .limit = 2};
    json_t *arr = NULL;
    char *cur = NULL;
    CHECK(query_count(a, &f, &arr, &cur) == 2 && cur != NULL);
    CHECK(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")) == rare[2]);
    CHECK(json_integer_value(json_object_get(json_array_get(arr, 1), "seq")) == rare[1]);
    CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 1), "target")), "obj/10001");
    json_decref(arr);
    f.cursor = cur;
    CHECK(query_count(a, &f, &arr, &cur) == 1 && cur == NULL);
    CHECK(json_integer_value(json_object_get(json_array_get(arr, 0), "seq")) == rare[0]);
    json_decref(arr);
    free((char *)f.cursor);
    /* combined with other filters, and ones that exclude it */
    struct ksm_audit_filter g = {.tenant = "tn_rare", .principal = "u_rare", .action = "object.*"};
    CHECK(query_count(a, &g, NULL, &cur) == 3);
    g.principal = "u_common";
    CHECK(query_count(a, &g, NULL, &cur) == 0);
    struct ksm_audit_filter h = {.principal = "u_rare", .action = "object.get"};
    CHECK(query_count(a, &h, NULL, &cur) == 3);
    h.action = "object.put";
    CHECK(query_count(a, &h, NULL, &cur) == 0);
    struct ksm_audit_filter none = {.tenant = "tn_nobody"};
    CHECK(query_count(a, &none, NULL, &cur) == 0 && cur == NULL);
    ksm_audit_close(a);
}

/* An index.db from the per-record layout is replaced by a block index built from the log. */
static void test_old_index(void)
{
    char dir[512], key[512], pub[512], idx[600];
    paths("oldindex", dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, 0);
    CHECK(a != NULL);
    if (!a)
        return;
    submit_n(a, 40, 0);
    ksm_audit_close(a);
    snprintf(idx, sizeof idx, "%s/index.db", dir);
    unlink(idx);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(idx, &db) == SQLITE_OK &&
          sqlite3_exec(db, "CREATE TABLE rec(seq INTEGER PRIMARY KEY, time INTEGER)", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(db);
    a = open_log(dir, key, 0);
    struct ksm_audit_filter f = {.tenant = "tn_b"};
    char *cur = NULL;
    CHECK(a && query_count(a, &f, NULL, &cur) == 13 && cur == NULL);   /* i % 3 == 1 for i < 40 */
    CHECK(index_count(dir, "SELECT count(*) FROM sqlite_master WHERE name='rec'") == 0);
    ksm_audit_close(a);
}

/* ---- counts by facet (ksm_audit_count) ---- */

enum { COUNT_RECORDS = 3000, COUNT_KEYS = 6 };
static const char *const count_targets[COUNT_KEYS] = {"k0", "k1", "k2", "k3", "k4", "bad\xff"};
/* what each target's facet is as the line holds it (invalid UTF-8 replaced) */
static const char *const count_facets[COUNT_KEYS] = {"f\x1fk0", "f\x1fk1", "f\x1fk2", "f\x1fk3",
                                                     "f\x1fk4", "f\037bad\357\277\275"};
static const int64_t count_t0 = 1700000000000;

static bool count_facet_fn(const struct ksm_audit_rec *r, struct ksm_buf *out)
{
    if (!r->action || strncmp(r->action, "x.", 2))
        return false;
    ksm_buf_puts(out, "f\x1f");
    ksm_buf_puts(out, r->target ? r->target : "-");
    return true;
}

/* record i: time t0 + i s; tenant tn_a, tn_b or none; counted (x.a) two times in three */
static const char *count_tenant(int i) { return i % 3 == 0 ? "tn_a" : i % 3 == 1 ? "tn_b" : NULL; }
static bool count_counted(int i) { return i % 3 != 2 || i % 2 == 0; }
static int count_key(int i) { return (i / 7) % COUNT_KEYS; }

struct count_got {
    int64_t n[COUNT_KEYS];
    int other;
};

static void count_cb(void *arg, const char *facet, int64_t n)
{
    struct count_got *g = arg;
    for (int k = 0; k < COUNT_KEYS; k++)
        if (!strcmp(facet, count_facets[k])) {
            g->n[k] += n;
            return;
        }
    g->other++;
}

/* ksm_audit_count over [since, until) for tenant (NULL: all, "": none) against the records. */
static void check_count(struct ksm_audit *a, int64_t since, int64_t until, const char *tenant)
{
    int64_t want[COUNT_KEYS] = {0};
    for (int i = 0; i < COUNT_RECORDS; i++) {
        int64_t t = count_t0 + (int64_t)i * 1000;
        const char *tn = count_tenant(i);
        bool tenant_ok = !tenant || (*tenant ? tn && !strcmp(tn, tenant) : !tn);
        if (t >= since && t < until && tenant_ok && count_counted(i))
            want[count_key(i)]++;
    }
    struct count_got got = {{0}, 0};
    struct ksm_audit_filter f = {.since_ms = since, .until_ms = until, .tenant = tenant};
    CHECK(ksm_audit_count(a, &f, "f\x1f", count_cb, &got) == 0);
    CHECK(got.other == 0);
    for (int k = 0; k < COUNT_KEYS; k++)
        if (got.n[k] != want[k]) {
            fprintf(stderr, "count [%lld, %lld) %s key %d: %lld, want %lld\n", (long long)since,
                    (long long)until, tenant ? tenant : "(all)", k, (long long)got.n[k],
                    (long long)want[k]);
            CHECK(got.n[k] == want[k]);
        }
}

static void check_counts(struct ksm_audit *a)
{
    static const char *const tenants[] = {NULL, "tn_a", "tn_b", ""};
    int64_t end = count_t0 + COUNT_RECORDS * 1000LL;
    srand(7);
    for (int round = 0; round < 40; round++) {
        int64_t s = count_t0 - 5000 + (int64_t)(rand() % (COUNT_RECORDS + 10)) * 1000 + rand() % 3 * 400;
        int64_t u = s + 1 + (int64_t)(rand() % (COUNT_RECORDS + 10)) * 1000;
        check_count(a, s, u, tenants[round % 4]);
    }
    for (int i = 0; i < 4; i++)
        check_count(a, count_t0 - 1, end + 1, tenants[i]);   /* every block wholly inside */
    check_count(a, count_t0 + 1000, count_t0 + 1001, NULL);   /* one record */
    check_count(a, end + 10, end + 20, NULL);                 /* none */
    struct count_got got = {{0}, 0};
    struct ksm_audit_filter f = {.since_ms = end + 1, .until_ms = end};
    CHECK(ksm_audit_count(a, &f, "f\x1f", count_cb, &got) == -1);   /* until before since */
    f = (struct ksm_audit_filter){.since_ms = count_t0, .until_ms = end};
    CHECK(ksm_audit_count(a, &f, "g\x1f", count_cb, &got) == 0 && got.other == 0 && !got.n[0]);
}

/* Counts by facet are exact for any period and tenant, whether a block is counted from its row or
 * read record by record, from the live index and from one rebuilt from the segments. */
static void test_count(void)
{
    char dir[512], key[512], pub[512], idx[600];
    paths("count", dir, key, pub);
    struct ksm_audit_opts o = opts_with(256 << 10);
    o.facet = count_facet_fn;
    struct ksm_audit *a = NULL;
    char err[256] = "";
    CHECK(ksm_audit_open(&a, dir, key, &o, err, sizeof err) == 0);
    if (!a)
        return;
    int64_t counted = 0;
    for (int i = 0; i < COUNT_RECORDS; i++) {
        struct ksm_audit_rec r = {.time_ms = count_t0 + (int64_t)i * 1000, .principal = "u_a",
                                  .tenant = count_tenant(i), .action = count_counted(i) ? "x.a" : "y.b",
                                  .target = count_targets[count_key(i)], .outcome = "success",
                                  .status = 200};
        ksm_audit_submit(a, &r, NULL, NULL, NULL);
        counted += count_counted(i);
        if ((i + 1) % 200 == 0)
            ksm_audit_flush(a);   /* the open block's counts are rewritten as it grows */
    }
    ksm_audit_flush(a);
    CHECK(index_count(dir, "SELECT count(*) FROM blk") >= 5);
    CHECK(index_count(dir, "SELECT sum(n) FROM blk_tally") == counted);
    check_counts(a);
    ksm_audit_close(a);
    snprintf(idx, sizeof idx, "%s/index.db", dir);
    unlink(idx);
    CHECK(ksm_audit_open(&a, dir, key, &o, err, sizeof err) == 0);
    if (!a)
        return;
    CHECK(index_count(dir, "SELECT sum(n) FROM blk_tally") == counted);
    check_counts(a);
    ksm_audit_close(a);
}

static void *lift_later(void *was)
{
    struct timespec t = {1, 0};
    nanosleep(&t, NULL);
    setrlimit(RLIMIT_FSIZE, was);
    return NULL;
}

/* A batch that grew while the disk stalled (here: records of 3 KiB submitted faster than one
 * batch is written) is written in pieces and synced once: the log verifies, every record is there
 * once, the commits' byte count is the log's size, and once indexed the queue holds nothing. */
static void test_large_batches(void)
{
    char dir[512], key[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    struct ksm_audit *a = new_log("large", dir, key, pub, 0);
    if (!a)
        return;
    char detail[3072];
    memset(detail, 'x', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    for (int i = 0; i < 2000; i++) {
        struct ksm_audit_rec r = {.principal = "u_alice", .tenant = "tn_a", .action = "tenant.read",
                                  .outcome = "success", .status = 200, .detail = detail};
        ksm_audit_submit(a, &r, NULL, NULL, NULL);
    }
    CHECK(ksm_audit_backlog_bytes(a) > 0);
    ksm_audit_flush(a);
    CHECK(ksm_audit_backlog_bytes(a) == 0);
    struct ksm_audit_stats s;
    ksm_audit_stats(a, &s);
    /* fewer commits than 6.4 MB in 256 KiB pieces: some batch was written in pieces (~10 here) */
    CHECK(s.records == 2000 && s.commits < 26);
    /* A disk that takes nothing more for a second (here: the file size limit, EFBIG; the writer
     * keeps its batch and retries) while 1 MiB records keep coming, 48 MiB in all: the submitter
     * is held back at the bound instead of the queue growing, and goes on once writes work. */
    struct stat seg = {0};
    struct rlimit was = {RLIM_INFINITY, RLIM_INFINITY}, lim;
    CHECK(stat(seg_path(dir, 1), &seg) == 0);
    CHECK(getrlimit(RLIMIT_FSIZE, &was) == 0);
    lim = was;
    lim.rlim_cur = (rlim_t)seg.st_size + (512u << 10);
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    pthread_t lifter;
    CHECK(pthread_create(&lifter, NULL, lift_later, &was) == 0);
    char *big = malloc(1 << 20);
    if (big) {
        memset(big, 'y', (1 << 20) - 1);
        big[(1 << 20) - 1] = '\0';
        uint64_t most = 0, t0 = ksm_mono_ns();
        for (int i = 0; i < 48; i++) {
            struct ksm_audit_rec r = {.principal = "u_alice", .tenant = "tn_a", .action = "tenant.read",
                                      .outcome = "success", .status = 200, .detail = big};
            ksm_audit_submit(a, &r, NULL, NULL, NULL);
            uint64_t held = ksm_audit_backlog_bytes(a);
            most = held > most ? held : most;
        }
        CHECK(most > KSM_AUDIT_HOLD_MAX / 2 && most <= KSM_AUDIT_HOLD_MAX + (2u << 20));
        CHECK(ksm_mono_ns() - t0 >= 900000000u);   /* it waited for the disk */
        free(big);
    }
    pthread_join(lifter, NULL);
    ksm_audit_flush(a);
    CHECK(ksm_audit_backlog_bytes(a) == 0);
    ksm_audit_stats(a, &s);
    struct stat st;
    CHECK(stat(seg_path(dir, 1), &st) == 0 && (uint64_t)st.st_size == s.bytes);
    CHECK(s.records == 2048);
    struct ksm_audit_filter f = {.tenant = "tn_a"};
    f.limit = 1000;
    char *cursor = NULL;
    CHECK(query_count(a, &f, NULL, &cursor) == 1000 && cursor);
    free(cursor);
    ksm_audit_close(a);
    CHECK(verify(dir, pub, &rep) == 0);
    CHECK(rep.data && strstr(rep.data, "2048 records"));
    ksm_buf_free(&rep);
}

static void test_escaping(void)
{
    char dir[512], key[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    struct ksm_audit *a = new_log("escape", dir, key, pub, 0);
    if (!a)
        return;
    struct ksm_audit_rec r = {.principal = "u\"x\\y\n", .tenant = "霞", .target = "bad\xff\xfe utf8",
                              .action = "object.put", .detail = "\x01\x1f", .status = 500,
                              .source = "10.0.0.1\x7f", .request_id = "req_plain-ascii~"};
    ksm_audit_submit(a, &r, NULL, NULL, NULL);
    ksm_audit_flush(a);
    json_t *arr = json_array();
    char *cur = NULL;
    struct ksm_audit_filter f = {.tenant = "霞"};
    CHECK(ksm_audit_query(a, &f, arr, &cur) == 0 && json_array_size(arr) == 1);
    json_t *o = json_array_get(arr, 0);
    CHECK_STR(json_string_value(json_object_get(o, "principal")), "u\"x\\y\n");
    CHECK_STR(json_string_value(json_object_get(o, "target")), "bad\xef\xbf\xbd\xef\xbf\xbd utf8");
    CHECK(json_is_null(json_object_get(o, "project")));
    CHECK(json_integer_value(json_object_get(o, "status")) == 500);
    CHECK_STR(json_string_value(json_object_get(o, "detail")), "\x01\x1f");
    CHECK_STR(json_string_value(json_object_get(o, "source")), "10.0.0.1\x7f");
    CHECK_STR(json_string_value(json_object_get(o, "request_id")), "req_plain-ascii~");
    CHECK_STR(json_string_value(json_object_get(o, "tenant")), "霞");
    json_decref(arr);
    ksm_audit_close(a);
    CHECK(verify(dir, pub, &rep) == 0);
    ksm_buf_free(&rep);
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static void test_tamper_flip(void)
{
    char dir[512], pub[512], name[32];
    struct ksm_buf rep = KSM_BUF_INIT;
    /* a byte in a record's value, in a prev hash, in a checkpoint's signature, in a seal, and a
     * newline: each on a fresh log */
    const struct {
        int seg;
        double where;   /* fraction of the file */
    } cases[] = {{1, 0.05}, {1, 0.5}, {2, 0.3}, {2, 0.999}, {3, 0.75}, {1, 0.0}};
    for (size_t i = 0; i < KSM_NELEM(cases); i++) {
        snprintf(name, sizeof name, "flip%zu", i);
        make_log(name, 20, dir, pub);
        CHECK(verify(dir, pub, &rep) == 0);
        const char *p = seg_path(dir, cases[i].seg);
        long sz = file_size(p);
        CHECK(sz > 0);
        flip_byte(p, (long)(cases[i].where * (double)(sz - 1)));
        CHECK(verify(dir, pub, &rep) == -1);
        CHECK(rep.data && strstr(rep.data, "seg-00000") && strstr(rep.data, " line "));
    }
    /* every byte of one small log, one at a time: no flip goes unnoticed, none crashes */
    make_log("flipall", 4, dir, pub);
    long sz = file_size(seg_path(dir, 1));
    int missed = 0;
    for (long at = 0; at < sz; at++) {
        flip_byte(seg_path(dir, 1), at);
        missed += verify(dir, pub, &rep) == 0;
        flip_byte(seg_path(dir, 1), at);
    }
    CHECK(missed == 0);
    CHECK(verify(dir, pub, &rep) == 0);
    ksm_buf_free(&rep);
}

static void test_tamper_truncate_delete(void)
{
    char dir[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    make_log("trunc", 20, dir, pub);
    int last = 1;
    while (access(seg_path(dir, last + 1), F_OK) == 0)
        last++;
    CHECK(last >= 3);
    long sz = file_size(seg_path(dir, last));
    CHECK(truncate(seg_path(dir, last), sz - 10) == 0);
    CHECK(verify(dir, pub, &rep) == -1);
    char want[64];
    snprintf(want, sizeof want, "seg-%06d.log line", last);
    CHECK(rep.data && strstr(rep.data, want) && strstr(rep.data, "truncated"));

    make_log("delete", 20, dir, pub);
    CHECK(unlink(seg_path(dir, 2)) == 0);
    CHECK(verify(dir, pub, &rep) == -1);
    CHECK(rep.data && strstr(rep.data, "seg-000003.log line 1") && strstr(rep.data, "missing"));

    /* renumbering the later segments to hide the hole does not help: the chain and seq break */
    for (int s = 3; access(seg_path(dir, s), F_OK) == 0; s++) {
        char from[600];
        snprintf(from, sizeof from, "%s", seg_path(dir, s));
        CHECK(rename(from, seg_path(dir, s - 1)) == 0);
    }
    CHECK(verify(dir, pub, &rep) == -1);
    CHECK(rep.data && strstr(rep.data, "seg-000002.log line 1"));
    ksm_buf_free(&rep);
}

/* Replaces the 64-hex value after "prev":" in line, which starts at p. */
static void set_prev(char *line, const char *hex)
{
    char *q = strstr(line, "\"prev\":\"");
    if (q)
        memcpy(q + 8, hex, 64);
}

/* The attacker's rewrite: change one record, then recompute every later prev in every segment. */
static void rewrite_and_rechain(const char *dir, int seg, int lineno)
{
    char prev[65] = "";
    bool done = false;
    for (int s = 1; access(seg_path(dir, s), F_OK) == 0; s++) {
        size_t len;
        char *p = ksm_read_file(seg_path(dir, s), &len);
        struct ksm_buf out = KSM_BUF_INIT;
        int ln = 0;
        for (char *line = p; line && *line;) {
            char *nl = strchr(line, '\n');
            if (!nl)
                break;
            *nl = '\0';
            ln++;
            char *u = NULL;
            if (!done && s == seg && ln >= lineno) {
                /* the first record at or after lineno: how records fall into batches (and so
                 * where checkpoints sit) depends on thread timing */
                u = strstr(line, "u_alice");
                if (!u)
                    u = strstr(line, "u_bob");
            }
            if (u) {
                u[2] = 'm';   /* u_alice -> u_mlice: same length, still valid JSON */
                done = true;
            } else if (prev[0] && done) {
                set_prev(line, prev);
            }
            ksm_sha256_hex(line, strlen(line), prev);
            ksm_buf_puts(&out, line);
            ksm_buf_putc(&out, '\n');
            line = nl + 1;
        }
        CHECK(ksm_write_file_durable(seg_path(dir, s), out.data, out.len, 0600) == 0);
        ksm_buf_free(&out);
        free(p);
    }
    CHECK(done);
}

/* The default check verifies each segment's seal and the last signed line: far fewer signatures
 * than the log holds, each authenticating all that precedes it through the chain. */
static void test_signatures_checked(void)
{
    char dir[512], key[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    struct ksm_audit *a = new_log("sigcount", dir, key, pub, 0);
    if (!a)
        return;
    submit_n(a, 30, 1);   /* a batch, and so a checkpoint, per record: a quiet log */
    ksm_audit_close(a);
    CHECK(ksm_audit_verify(dir, pub, false, &rep) == 0);
    const char *p = strstr(rep.data ? rep.data : "", "), ");   /* after "(seq 1..30)" */
    unsigned long long ck = 0, seals = 0, checked = 0;
    CHECK(p && sscanf(p + 3, "%llu checkpoints, %llu seals, %llu signatures checked", &ck, &seals,
                      &checked) == 3);
    CHECK(ck >= 30 && seals == 1 && checked == 1);   /* closed: the seal covers it all */
    ksm_buf_reset(&rep);
    CHECK(ksm_audit_verify(dir, pub, true, &rep) == 0);
    char want[64];
    snprintf(want, sizeof want, "%llu signatures checked", ck + seals);
    CHECK(rep.data && strstr(rep.data, want));
    ksm_buf_free(&rep);
}

/* RFC 8032 §7.1, tests 1 and 2: a known key, message and signature. */
static void test_sign_vectors(void)
{
    static const struct {
        const char *seed, *msg, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e0652249015"
         "55fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
         "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    for (size_t i = 0; i < KSM_NELEM(v); i++) {
        unsigned char seed[32], msg[1], want[64], sig[64];
        size_t mlen = strlen(v[i].msg) / 2;
        CHECK(ksm_unhex(v[i].seed, 64, seed) == 0 && ksm_unhex(v[i].sig, 128, want) == 0 &&
              ksm_unhex(v[i].msg, mlen * 2, msg) == 0);
        EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
        CHECK(k && ksm_audit_sign(k, msg, mlen, sig) == 0 && !memcmp(sig, want, 64));
        CHECK(ksm_audit_sig_ok(k, msg, mlen, want));
        want[63] ^= 0x01;
        CHECK(!ksm_audit_sig_ok(k, msg, mlen, want));
        EVP_PKEY_free(k);
    }
}

/* The environment's key as the log writes it: what we sign, OpenSSL verifies (and signs the same
 * bytes: Ed25519 is deterministic), and what OpenSSL signs, we verify; a changed bit fails both. */
static void test_sign_openssl(void)
{
    char dir[512], key[512], pub[512], err[256];
    struct ksm_audit *a = new_log("openssl", dir, key, pub, 0);
    if (!a)
        return;
    static const char msg[] = "{\"kind\":\"erasure\",\"bucket\":\"\u53f0\u5e33\"}";
    unsigned char ours[64], theirs[64];
    size_t len = 64;
    CHECK(ksm_audit_sign_document(a, msg, sizeof msg - 1, ours) == 0);
    ksm_audit_close(a);
    FILE *f = fopen(key, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    CHECK(k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
          EVP_DigestSign(c, theirs, &len, (const unsigned char *)msg, sizeof msg - 1) == 1);
    CHECK(len == 64 && !memcmp(ours, theirs, 64));
    EVP_MD_CTX_reset(c);
    CHECK(EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
          EVP_DigestVerify(c, ours, 64, (const unsigned char *)msg, sizeof msg - 1) == 1);
    theirs[0] ^= 0x80;   /* OpenSSL's signature, changed: refused by us */
    CHECK(ksm_audit_document_verify(pub, msg, sizeof msg - 1, theirs, err, sizeof err) == 0);
    theirs[0] ^= 0x80;
    CHECK(ksm_audit_document_verify(pub, msg, sizeof msg - 1, theirs, err, sizeof err) == 1);
    CHECK(ksm_audit_document_verify(pub, msg, sizeof msg - 2, theirs, err, sizeof err) == 0);
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
}

static void test_tamper_rewrite(void)
{
    char dir[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    make_log("rewrite", 20, dir, pub);
    rewrite_and_rechain(dir, 2, 2);
    CHECK(verify(dir, pub, &rep) == -1);
    CHECK(rep.data && strstr(rep.data, "seg-000002.log line") && strstr(rep.data, "signature"));

    /* appending a well-chained record without the key: reported as unsigned */
    make_log("append", 5, dir, pub);
    int last = 1;
    while (access(seg_path(dir, last + 1), F_OK) == 0)
        last++;
    /* the log is sealed; an attacker starts a new segment after the seal */
    size_t len;
    char *p = ksm_read_file(seg_path(dir, last), &len);
    char prev[65];
    CHECK(p && len > 1);
    p[len - 1] = '\0';
    char *lastline = strrchr(p, '\n');
    lastline = lastline ? lastline + 1 : p;
    ksm_sha256_hex(lastline, strlen(lastline), prev);
    char line[512];
    int n = snprintf(line, sizeof line,
                     "{\"seq\":6,\"prev\":\"%s\",\"time\":\"2026-01-01T00:00:00.000Z\"}\n", prev);
    CHECK(ksm_write_file_durable(seg_path(dir, last + 1), line, (size_t)n, 0600) == 0);
    free(p);
    CHECK(verify(dir, pub, &rep) == -1);
    char want[64];
    snprintf(want, sizeof want, "seg-%06d.log line 1 (seq 6)", last + 1);
    CHECK(rep.data && strstr(rep.data, want) && strstr(rep.data, "unsigned"));

    /* another key does not verify the log */
    char dir2[512], pub2[512];
    make_log("otherkey", 3, dir2, pub2);
    CHECK(verify(dir, pub2, &rep) == -1);
    CHECK(verify("/nonexistent/dir", pub2, &rep) == -1);
    CHECK(verify(dir2, "/nonexistent/key.pem", &rep) == -1);
    ksm_buf_free(&rep);
}

static void test_retention(void)
{
    char dir[512], key[512], pub[512];
    paths("retention", dir, key, pub);
    struct ksm_audit *a = NULL;
    struct ksm_audit_opts o = opts_with(0);
    char err[256] = "";
    o.retention_days = 364;
    CHECK(ksm_audit_open(&a, dir, key, &o, err, sizeof err) == -1 && a == NULL);
    CHECK(strstr(err, "365") && strstr(err, "retention"));
    o.retention_days = 3650;
    CHECK(ksm_audit_open(&a, dir, key, &o, err, sizeof err) == 0 && a != NULL);
    ksm_audit_close(a);
}

struct cb_state {
    int ok, failed;
};

static void on_done(void *arg, int ok)
{
    struct cb_state *s = arg;
    if (ok)
        s->ok++;
    else
        s->failed++;
}

static void test_mailbox(void)
{
    char dir[512], key[512], pub[512];
    paths("mailbox", dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, 0);
    CHECK(a != NULL);
    if (!a)
        return;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ksm_mailbox *mb = ksm_mailbox_new(&loop);
    struct cb_state st = {0, 0};
    for (int i = 0; i < 100; i++) {
        struct ksm_audit_rec r = {.principal = "u_cb", .action = "tenant.update", .status = 200};
        ksm_audit_submit(a, &r, mb, on_done, &st);
    }
    uint64_t deadline = ksm_mono_ns() + 10ull * 1000000000ull;
    while (st.ok + st.failed < 100 && ksm_mono_ns() < deadline)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK(st.ok == 100 && st.failed == 0);
    ksm_audit_close(a);
    ksm_mailbox_close(mb);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}

/* A child writes and dies without closing (the segment stays open); then a torn line is added. */
static void test_torn_tail(void)
{
    char dir[512], key[512], pub[512];
    struct ksm_buf rep = KSM_BUF_INIT;
    paths("torn", dir, key, pub);
    pid_t pid = fork();
    if (pid == 0) {
        struct ksm_audit *a = open_log(dir, key, 0);
        if (a) {
            save_pub(a, pub);
            submit_n(a, 10, 0);
        }
        _exit(a ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(verify(dir, pub, &rep) == 0);   /* unsealed but fully signed */
    CHECK(strstr(rep.data, "10 records") && strstr(rep.data, "open"));
    long sz = file_size(seg_path(dir, 1));
    FILE *f = fopen(seg_path(dir, 1), "a");
    fputs("{\"seq\":11,\"prev\":\"00ab", f);
    fclose(f);
    CHECK(verify(dir, pub, &rep) == -1);
    struct ksm_audit *a = open_log(dir, key, 0);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK(file_size(seg_path(dir, 1)) == sz);   /* cut back to the last signed line */
    struct ksm_audit_rec r = {.principal = "system", .action = "daemon.start", .status = 0};
    CHECK(ksm_audit_submit(a, &r, NULL, NULL, NULL) == 11);
    ksm_audit_close(a);
    CHECK(access(seg_path(dir, 2), F_OK) != 0);   /* the open segment was continued */
    CHECK(verify(dir, pub, &rep) == 0);
    CHECK(strstr(rep.data, "11 records") && strstr(rep.data, "1 segments"));

    /* damage before the last signed line is not a crash: open refuses */
    flip_byte(seg_path(dir, 1), 40);
    struct ksm_audit_opts o = opts_with(0);
    char err[256] = "";
    a = NULL;
    CHECK(ksm_audit_open(&a, dir, key, &o, err, sizeof err) == -1 && a == NULL);
    CHECK(strstr(err, "seg-000001.log"));
    ksm_buf_free(&rep);
}

/* ksm_audit_verify_live on an open log with sealed segments behind the open one: intact with the
 * chain's counts and times; a flipped byte in a sealed segment is located; records written after
 * the flip do not hide it. */
static void test_verify_live(void)
{
    char dir[512], key[512], pub[512];
    struct ksm_audit_verification v;
    paths("live", dir, key, pub);
    struct ksm_audit *a = open_log(dir, key, 2048);
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK(ksm_audit_verify_live(a, &v) == 0 && v.intact && v.records == 0);
    submit_n(a, 30, 3);
    CHECK(ksm_audit_verify_live(a, &v) == 0);
    CHECK(v.intact && v.records == 30 && v.first_seq == 1 && v.last_seq == 30);
    CHECK(v.segments >= 2 && v.seals >= 1 && v.last_signed_seq == 30);
    CHECK(v.first_time[0] && v.last_time[0] && v.last_signed_time[0] && !v.bad_segment[0]);
    long sz = file_size(seg_path(dir, 1));
    flip_byte(seg_path(dir, 1), sz / 2);
    submit_n(a, 5, 0);
    CHECK(ksm_audit_verify_live(a, &v) == -1);
    CHECK(!v.intact && !strcmp(v.bad_segment, "seg-000001.log") && v.bad_line > 0 && v.reason[0]);
    flip_byte(seg_path(dir, 1), sz / 2);
    CHECK(ksm_audit_verify_live(a, &v) == 0 && v.intact && v.records == 35);
    ksm_audit_close(a);
}

int main(void)
{
    ksm_log_min = KSM_LOG_ERROR;
    snprintf(base, sizeof base, "/tmp/ksm-test-audit-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    test_retention();
    test_write_verify_reopen();
    test_escaping();
    test_query();
    test_query_blocks();
    test_rare_tenant();
    test_old_index();
    test_count();
    test_mailbox();
    test_tamper_flip();
    test_tamper_truncate_delete();
    test_signatures_checked();
    test_sign_vectors();
    test_sign_openssl();
    test_tamper_rewrite();
    test_torn_tail();
    test_verify_live();
    test_large_batches();
    if (!check_failed && !getenv("AUDIT_TEST_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", base);
    }
    return CHECK_DONE();
}
