/* test_usage.c — the usage sink on a temporary SQLite file: records, idempotent and conflicting
 * repeats, validation, query filters and pagination, and records surviving close and reopen; the
 * sums by key kept as records are written equal those the migration computes from the records. */
#include "check.h"
#include "core/db.h"
#include "core/util.h"
#include "meter/usage.h"
#include "meter/usage_writer.h"
#include <pthread.h>
#include <stdint.h>

#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/ksm_test_usage_XXXXXX";
static char path[64];

static struct ksm_usage_rec rec(const char *tenant, const char *meter, int64_t q, int64_t t,
                                const char *key)
{
    return (struct ksm_usage_rec){.tenant = tenant, .project = "prj_1", .service = "ai",
                                  .meter = meter, .quantity = q, .time_ms = t,
                                  .idempotency_key = key, .request_id = "req_1",
                                  .resource = "model-a"};
}

static json_t *query(struct ksm_db *db, struct ksm_usage_filter f, int64_t *last)
{
    json_t *a = json_array();
    enum ksm_err e = ksm_usage_query(db, &f, a, last);
    CHECK(e == KSM_E_OK);
    return a;
}

static void test_record(struct ksm_db *db)
{
    struct ksm_usage_rec r = rec("tnt_a", "input_tokens", 120, 1000000, "k1");
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    /* the same again, even from a retry with a new request id: stored once */
    r.request_id = "req_retry";
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    /* the same key for different usage is refused, whatever differs */
    struct ksm_usage_rec c = rec("tnt_a", "input_tokens", 121, 1000000, "k1");
    CHECK(ksm_usage_record(db, &c) == KSM_E_CONFLICT);
    c = rec("tnt_b", "input_tokens", 120, 1000000, "k1");
    CHECK(ksm_usage_record(db, &c) == KSM_E_CONFLICT);
    c = rec("tnt_a", "output_tokens", 120, 1000000, "k1");
    CHECK(ksm_usage_record(db, &c) == KSM_E_CONFLICT);
    c = rec("tnt_a", "input_tokens", 120, 1000001, "k1");
    CHECK(ksm_usage_record(db, &c) == KSM_E_CONFLICT);
    c = rec("tnt_a", "input_tokens", 120, 1000000, "k1");
    c.project = NULL;
    CHECK(ksm_usage_record(db, &c) == KSM_E_CONFLICT);
    c = rec("tnt_a", "input_tokens", 120, 1000000, "k1");
    c.resource = "model-b";
    CHECK(ksm_usage_record(db, &c) == KSM_E_CONFLICT);
    /* time 0 ("now") cannot be repeated by a retry, so it is not compared */
    c = rec("tnt_a", "input_tokens", 120, 0, "k1");
    CHECK(ksm_usage_record(db, &c) == KSM_E_OK);
    int64_t last = -1;
    json_t *a = query(db, (struct ksm_usage_filter){0}, &last);
    CHECK(json_array_size(a) == 1);
    json_t *o = json_array_get(a, 0);
    CHECK(json_integer_value(json_object_get(o, "id")) == last);
    CHECK_STR(json_string_value(json_object_get(o, "tenant")), "tnt_a");
    CHECK_STR(json_string_value(json_object_get(o, "project")), "prj_1");
    CHECK_STR(json_string_value(json_object_get(o, "service")), "ai");
    CHECK_STR(json_string_value(json_object_get(o, "meter")), "input_tokens");
    CHECK(json_integer_value(json_object_get(o, "quantity")) == 120);
    CHECK_STR(json_string_value(json_object_get(o, "time")), "1970-01-01T00:16:40.000Z");
    CHECK_STR(json_string_value(json_object_get(o, "idempotency_key")), "k1");
    CHECK_STR(json_string_value(json_object_get(o, "request_id")), "req_1");
    CHECK_STR(json_string_value(json_object_get(o, "resource")), "model-a");
    json_decref(a);

    /* optional fields absent: null in JSON; time 0 is now */
    struct ksm_usage_rec m = {.tenant = "tnt_a", .service = "admin", .meter = "api_calls",
                              .quantity = 0, .idempotency_key = "k2"};
    int64_t before = ksm_now_ms();
    CHECK(ksm_usage_record(db, &m) == KSM_E_OK);
    CHECK(ksm_usage_record(db, &m) == KSM_E_OK);
    a = query(db, (struct ksm_usage_filter){.meter = "api_calls"}, &last);
    CHECK(json_array_size(a) == 1);
    o = json_array_get(a, 0);
    CHECK(json_is_null(json_object_get(o, "project")));
    CHECK(json_is_null(json_object_get(o, "request_id")));
    CHECK(json_is_null(json_object_get(o, "resource")));
    int64_t t;
    CHECK(ksm_parse_rfc3339(json_string_value(json_object_get(o, "time")), &t) == 0);
    CHECK(t >= before - 1 && t <= ksm_now_ms());
    json_decref(a);
}

static void test_validation(struct ksm_db *db)
{
    struct ksm_usage_rec ok = rec("tnt_v", "m", 1, 5, "v1"), r;
    r = ok, r.tenant = NULL;
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.tenant = "";
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.service = NULL;
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.meter = "";
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.idempotency_key = NULL;
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.quantity = -1;
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.time_ms = -5;
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.resource = "bad \xff utf-8";
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r = ok, r.project = "\xc0\xaf";
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    char big[400];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = ok, r.idempotency_key = big;
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_usage_record(db, NULL) == KSM_E_INVALID_ARGUMENT);
    int64_t last;
    json_t *a = query(db, (struct ksm_usage_filter){.tenant = "tnt_v"}, &last);
    CHECK(json_array_size(a) == 0 && last == 0);
    json_decref(a);
    /* Japanese resource names are fine */
    r = ok, r.resource = "霞-バケット";
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
}

static void test_query(struct ksm_db *db)
{
    /* 25 records for tnt_q at times 100, 200, ... across two meters and two projects */
    char key[32];
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof key, "q%d", i);
        struct ksm_usage_rec r = rec("tnt_q", i % 2 ? "output_tokens" : "input_tokens", i,
                                     (int64_t)(i + 1) * 100, key);
        r.project = i < 10 ? "prj_x" : "prj_y";
        CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    }
    int64_t last;
    json_t *a = query(db, (struct ksm_usage_filter){.tenant = "tnt_q"}, &last);
    CHECK(json_array_size(a) == 25);
    CHECK(json_integer_value(json_object_get(json_array_get(a, 0), "quantity")) == 0);   /* oldest */
    json_decref(a);
    a = query(db, (struct ksm_usage_filter){.tenant = "tnt_q", .meter = "output_tokens"}, &last);
    CHECK(json_array_size(a) == 12);
    json_decref(a);
    a = query(db, (struct ksm_usage_filter){.tenant = "tnt_q", .project = "prj_x"}, &last);
    CHECK(json_array_size(a) == 10);
    json_decref(a);
    a = query(db, (struct ksm_usage_filter){.service = "ai", .project = "prj_y"}, &last);
    CHECK(json_array_size(a) == 15);
    json_decref(a);
    a = query(db, (struct ksm_usage_filter){.tenant = "tnt_q", .service = "storage"}, &last);
    CHECK(json_array_size(a) == 0);
    json_decref(a);
    /* since is inclusive, until exclusive */
    a = query(db, (struct ksm_usage_filter){.tenant = "tnt_q", .since_ms = 300, .until_ms = 800}, &last);
    CHECK(json_array_size(a) == 5);
    CHECK(json_integer_value(json_object_get(json_array_get(a, 0), "quantity")) == 2);
    CHECK(json_integer_value(json_object_get(json_array_get(a, 4), "quantity")) == 6);
    json_decref(a);
    /* pages of 10: 10, 10, 5, then nothing; ids strictly increase and nothing repeats */
    int64_t after = 0, prev = 0;
    size_t total = 0, sizes[4];
    for (int page = 0; page < 4; page++) {
        a = query(db, (struct ksm_usage_filter){.tenant = "tnt_q", .limit = 10, .after_id = after},
                  &last);
        sizes[page] = json_array_size(a);
        for (size_t i = 0; i < json_array_size(a); i++) {
            int64_t id = json_integer_value(json_object_get(json_array_get(a, i), "id"));
            CHECK(id > prev);
            prev = id;
        }
        total += json_array_size(a);
        if (json_array_size(a))
            after = last;
        json_decref(a);
    }
    CHECK(sizes[0] == 10 && sizes[1] == 10 && sizes[2] == 5 && sizes[3] == 0);
    CHECK(total == 25);
    /* the limit defaults to 100 and stops at 1000 */
    for (int i = 0; i < 1100; i++) {
        snprintf(key, sizeof key, "bulk%d", i);
        struct ksm_usage_rec r = rec("tnt_bulk", "m", 1, 1, key);
        CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    }
    a = query(db, (struct ksm_usage_filter){.tenant = "tnt_bulk"}, &last);
    CHECK(json_array_size(a) == 100);
    json_decref(a);
    a = query(db, (struct ksm_usage_filter){.tenant = "tnt_bulk", .limit = 5000}, &last);
    CHECK(json_array_size(a) == 1000);
    json_decref(a);
}

static void test_reopen(struct ksm_db *db)
{
    char err[256];
    ksm_db_close(db);
    CHECK(ksm_db_open(db, path, err, sizeof err) == 0);
    int64_t last;
    json_t *a = query(db, (struct ksm_usage_filter){.tenant = "tnt_a"}, &last);
    CHECK(json_array_size(a) == 2);
    json_decref(a);
    /* the key is still remembered */
    struct ksm_usage_rec r = rec("tnt_a", "input_tokens", 120, 1000000, "k1");
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    r.quantity = 1;
    CHECK(ksm_usage_record(db, &r) == KSM_E_CONFLICT);
}

/* Rated records (the AI gateway's): cost and details are kept, a retry with another cost is refused,
 * and a project's spend is the sum of its costs in a time window. */
static void test_cost(struct ksm_db *db)
{
    struct ksm_usage_rec r = {.tenant = "tn_c", .project = "pj_cost", .service = "ai", .meter = "tokens",
                              .quantity = 150, .time_ms = 1000, .idempotency_key = "ai-1",
                              .request_id = "req_1", .resource = "tiny", .cost_microyen = 4200,
                              .details = "{\"prompt_tokens\":100,\"completion_tokens\":50}"};
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);   /* idempotent */
    r.cost_microyen = 4201;
    CHECK(ksm_usage_record(db, &r) == KSM_E_CONFLICT);
    r.cost_microyen = -1;
    r.idempotency_key = "ai-neg";
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r.cost_microyen = 1;
    r.details = "[1,2]";   /* not an object */
    CHECK(ksm_usage_record(db, &r) == KSM_E_INVALID_ARGUMENT);
    r.details = NULL;
    r.idempotency_key = "ai-2";
    r.time_ms = 2000;
    r.cost_microyen = 800;
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    r.idempotency_key = "ai-3";
    r.time_ms = 5000;   /* outside the window below */
    CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
    int64_t spent = -1;
    CHECK(ksm_usage_project_cost(db, "pj_cost", 0, 3000, &spent) == KSM_E_OK && spent == 5000);
    CHECK(ksm_usage_project_cost(db, "pj_none", 0, 3000, &spent) == KSM_E_OK && spent == 0);
    json_t *items = json_array();
    struct ksm_usage_filter f = {.tenant = "tn_c", .project = "pj_cost"};
    CHECK(ksm_usage_query(db, &f, items, NULL) == KSM_E_OK && json_array_size(items) == 3);
    json_t *first = json_array_get(items, 0);
    CHECK(json_integer_value(json_object_get(first, "cost_microyen")) == 4200);
    CHECK(json_integer_value(json_object_get(json_object_get(first, "details"), "prompt_tokens")) == 100);
    CHECK(json_is_null(json_object_get(json_array_get(items, 1), "details")));
    json_decref(items);
}

/* The group-commit writer: records from several threads all arrive, once each. */
static void *submit_many(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < 250; i++) {
        char key[64];
        snprintf(key, sizeof key, "w-%d-%d", t, i);
        struct ksm_usage_rec r = {.tenant = "tn_w", .project = "pj_w", .service = "ai", .meter = "tokens",
                                  .quantity = 3, .idempotency_key = key, .cost_microyen = 7};
        ksm_usage_submit(&r);
        if (i % 50 == 0)
            ksm_usage_submit(&r);   /* a retry of the same key counts once */
    }
    return NULL;
}

/* Every record the writer took is stored: the project's cost is theirs. Then the writer stops. */
static void check_cost_and_stop(struct ksm_db *db, const char *project, int64_t want)
{
    int64_t spent = 0;
    CHECK(ksm_usage_project_cost(db, project, 0, INT64_MAX, &spent) == KSM_E_OK);
    CHECK(spent == want);
    ksm_usage_writer_stop();
}

static void test_writer(const char *db_path, struct ksm_db *db)
{
    char err[256];
    CHECK(ksm_usage_writer_start(db_path, err, sizeof err) == 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, submit_many, (void *)(intptr_t)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ksm_usage_writer_flush();
    check_cost_and_stop(db, "pj_w", 4 * 250 * 7);
}

/* The database locked past its busy timeout (a long transaction elsewhere): the writer keeps the
 * records and retries, the backlog shows them, and once the lock is gone every one is stored —
 * none dropped. */
static void test_writer_locked(const char *db_path, struct ksm_db *db)
{
    char err[256], key[32];
    CHECK(ksm_usage_writer_start(db_path, err, sizeof err) == 0);
    CHECK(ksm_usage_backlog() == 0);
    CHECK(ksm_db_begin(db) == SQLITE_OK);   /* holds the write lock */
    for (int i = 0; i < 150; i++) {
        if (i == 100)
            sleep(6);   /* past the writer's 5 s busy timeout: its first attempt has failed */
        snprintf(key, sizeof key, "locked-%d", i);
        struct ksm_usage_rec r = rec("tnt_l", "input_tokens", 1, 1000, key);
        r.project = "pj_l";
        r.cost_microyen = 7;
        ksm_usage_submit(&r);
    }
    CHECK(ksm_usage_backlog() == 150);
    ksm_db_rollback(db);
    ksm_usage_writer_flush();
    CHECK(ksm_usage_backlog() == 0);
    check_cost_and_stop(db, "pj_l", 150 * 7);
}

static struct {
    uint64_t most, took_ns;
} held;

static void *submit_big(void *arg)
{
    (void)arg;
    char details[4096], key[32];   /* the longest details a record may carry */
    snprintf(details, sizeof details, "{\"pad\":\"%04000d\"}", 0);
    uint64_t t0 = ksm_mono_ns();
    for (int i = 0; i < 6000; i++) {   /* ~24 MiB of records */
        snprintf(key, sizeof key, "big-%d", i);
        struct ksm_usage_rec r = rec("tnt_b", "input_tokens", 1, 1000, key);
        r.project = "pj_b";
        r.cost_microyen = 7;
        r.details = details;
        ksm_usage_submit(&r);
        uint64_t h = ksm_usage_backlog_bytes();
        held.most = h > held.most ? h : held.most;
    }
    held.took_ns = ksm_mono_ns() - t0;
    return NULL;
}

/* The database locked for a second while records keep coming, more than the bound holds: the
 * submitter is held back at the bound instead of the queue growing, goes on once the lock is
 * gone, and every record is stored. */
static void test_writer_bounded(const char *db_path, struct ksm_db *db)
{
    char err[256];
    CHECK(ksm_usage_writer_start(db_path, err, sizeof err) == 0);
    CHECK(ksm_db_begin(db) == SQLITE_OK);   /* holds the write lock */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, submit_big, NULL) == 0);
    sleep(1);
    ksm_db_rollback(db);
    pthread_join(th, NULL);
    CHECK(held.most > KSM_USAGE_HOLD_MAX / 2 && held.most <= KSM_USAGE_HOLD_MAX + 16384);
    CHECK(held.took_ns >= 900000000u);
    ksm_usage_writer_flush();
    CHECK(ksm_usage_backlog_bytes() == 0);
    check_cost_and_stop(db, "pj_b", 6000 * 7);
}

/* Use by key: what the sink sums as it writes (from the record's key_id) equals what the migration
 * sums from the stored records' details (a database that had records before the table existed),
 * per project and key. */
static int64_t key_cost(struct ksm_db *db, const char *project, const char *key)
{
    int64_t v = -1;
    CHECK(ksm_usage_key_cost(db, project, key, 0, INT64_MAX, &v) == KSM_E_OK);
    return v;
}

static void test_by_key(struct ksm_db *db)
{
    static const struct {
        const char *project, *details, *key_id, *idem;
        int64_t cost;
    } rows[] = {
        {"prj_k", "{\"prompt_tokens\":1,\"user\":\"us_1\",\"key\":\"ky_1\"}", "ky_1", "bk1", 100},
        {"prj_k", "{\"key\":\"ky_1\",\"user\":\"us_1\",\"cancelled\":true}", "ky_1", "bk2", 250},
        {"prj_k", "{\"user\":\"us_2\",\"key\":\"ky_2\"}", "ky_2", "bk3", 7},
        {"prj_j", "{\"user\":\"us_1\",\"key\":\"ky_1\"}", "ky_1", "bk4", 1000},   /* another project */
        {"prj_k", "{\"user\":\"us_3\",\"key\":\"\"}", "", "bk5", 9},            /* a session: no key */
        {"prj_k", "{\"prompt_tokens\":3}", NULL, "bk6", 11},                         /* no principal */
        {"prj_k", "{\"note\":\"the \\\"key\\\" word\"}", NULL, "bk7", 13},     /* "key" not a member */
        {"prj_k", NULL, NULL, "bk8", 17},
    };
    for (size_t i = 0; i < KSM_NELEM(rows); i++) {
        struct ksm_usage_rec r = rec("tnt_k", "tokens", 10, 1767225600000LL + (int64_t)i, rows[i].idem);
        r.project = rows[i].project, r.details = rows[i].details, r.cost_microyen = rows[i].cost;
        r.key_id = rows[i].key_id, r.user_id = rows[i].key_id ? "us_x" : NULL;
        CHECK(ksm_usage_record(db, &r) == KSM_E_OK);
        CHECK(ksm_usage_record(db, &r) == KSM_E_OK);   /* a retry adds nothing */
    }
    CHECK(key_cost(db, "prj_k", "ky_1") == 350 && key_cost(db, "prj_k", "ky_2") == 7);
    CHECK(key_cost(db, "prj_j", "ky_1") == 1000 && key_cost(db, "prj_k", "") == 0);
    /* as a database from before the table: emptied and its migration forgotten, then reopened */
    char err[256];
    CHECK(ksm_db_exec(db, "DROP TABLE usage_by_key;"
                          "DELETE FROM schema_version WHERE subsystem = 'usage_by_key'") == SQLITE_OK);
    ksm_db_close(db);
    CHECK(ksm_db_open(db, path, err, sizeof err) == 0);
    CHECK(key_cost(db, "prj_k", "ky_1") == 350 && key_cost(db, "prj_k", "ky_2") == 7);
    CHECK(key_cost(db, "prj_j", "ky_1") == 1000 && key_cost(db, "prj_k", "") == 0);
}

int main(void)
{
    char err[256];
    struct ksm_db db;
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_usage_register_schema();
    ksm_usage_register_schema();   /* registering twice is harmless */
    CHECK(ksm_db_open(&db, path, err, sizeof err) == 0);
    test_record(&db);
    test_validation(&db);
    test_query(&db);
    test_reopen(&db);
    test_cost(&db);
    test_by_key(&db);
    test_writer(path, &db);
    test_writer_locked(path, &db);
    test_writer_bounded(path, &db);
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
