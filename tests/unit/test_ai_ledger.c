/* test_ai_ledger.c — the AI budget and quota ledger: 64 threads racing for a
 * budget that fits exactly 10 estimates admit exactly 10; settling below the
 * estimate frees room; the spend after a restart, recomputed from usage
 * records, equals the settled spend; months roll over at JST midnight on the
 * 1st; per-minute request and token quotas per project and per key answer with
 * Retry-After; alert thresholds are reported once crossed; storage spend counts
 * against the same budget; a key's own cap in a project admits exactly what fits it under 64
 * racing threads, refuses that key only, and its spend after a restart is the sum of that key's
 * usage records of the month, written one by one or in a writer's batch. Every time is a
 * parameter. */
#include "ai/ai_store.h"
#include "check.h"
#include "core/db.h"
#include "core/util.h"
#include "meter/usage.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define YEN 1000000LL
#define NTHREADS 64

static char dir[] = "/tmp/ksm_test_ai_ledger_XXXXXX";
static char path[64];
static int64_t t_jan; /* 2027-01-15T12:00:00+09:00 */

static void set_budget(struct ksm_db *db, const char *project, const char *body_text)
{
    char why[KSM_AI_WHY];
    json_t *b = json_loads(body_text, 0, NULL);
    CHECK(ksm_ai_budget_set(db, "tn_l", project, b, why) == KSM_E_OK);
    json_decref(b);
}

static json_t *status(struct ksm_db *db, const char *project, int64_t now)
{
    json_t *o = NULL;
    CHECK(ksm_ai_budget_status(db, project, now, &o) == KSM_E_OK);
    return o;
}

static int64_t jint(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* ---- 64 threads against a budget of 10 estimates ---- */

static pthread_barrier_t barrier;
static int admitted;
static pthread_mutex_t admitted_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ksm_ai_reservation held[NTHREADS];

static void *racer(void *arg)
{
    int i = (int)(intptr_t)arg;
    char err[256];
    struct ksm_db db;
    struct ksm_ai_policy pol;
    int retry;
    ksm_ai_policy_defaults(&pol);
    if (ksm_db_open(&db, path, err, sizeof err))
        return NULL;
    pthread_barrier_wait(&barrier);
    if (ksm_ai_reserve(&db, "pj_race", "", &pol, 100, 3 * YEN, t_jan, &held[i], &retry) ==
        KSM_E_OK) {
        pthread_mutex_lock(&admitted_mu);
        admitted++;
        pthread_mutex_unlock(&admitted_mu);
    } else if (retry < 1) {
        admitted = -1000; /* a refusal must say when to retry */
    }
    ksm_db_close(&db);
    return NULL;
}

static void test_race(struct ksm_db *db)
{
    pthread_t th[NTHREADS];
    set_budget(db, "pj_race", "{\"monthly_yen\":30}");
    ksm_ai_ledger_reset();
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, racer, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    CHECK(admitted == 10);
    json_t *s = status(db, "pj_race", t_jan);
    CHECK(jint(s, "reserved_microyen") == 30 * YEN);
    CHECK(jint(s, "in_flight") == 10);
    CHECK(jint(s, "remaining_microyen") == 0);
    json_decref(s);

    /* settling at a third of the estimate frees room: 10 × 1 yen spent, 20 yen
     * left */
    for (int i = 0; i < NTHREADS; i++)
        ksm_ai_settle(&held[i], 50, 1 * YEN);
    ksm_ai_settle(&held[0], 50, 1 * YEN); /* twice is a no-op */
    s = status(db, "pj_race", t_jan);
    CHECK(jint(s, "spent_microyen") == 10 * YEN);
    CHECK(jint(s, "reserved_microyen") == 0 && jint(s, "in_flight") == 0);
    json_decref(s);
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry, more = 0;
    ksm_ai_policy_defaults(&pol);
    while (ksm_ai_reserve(db, "pj_race", NULL, &pol, 10, 3 * YEN, t_jan, &r, &retry) == KSM_E_OK)
        more++;
    CHECK(more == 6); /* 20 yen left, 3 yen each */
    /* over budget, Retry-After points at the next JST month
     * (2027-02-01T00:00+09:00) */
    int64_t feb;
    ksm_parse_rfc3339("2027-02-01T00:00:00+09:00", &feb);
    CHECK(retry == (int)((feb - t_jan) / 1000));
}

/* ---- restart: usage records written before settling give back the same spend
 * ---- */

static void test_restart(struct ksm_db *db)
{
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry;
    ksm_ai_policy_defaults(&pol);
    ksm_ai_ledger_reset();
    for (int i = 0; i < 5; i++) {
        CHECK(ksm_ai_reserve(db, "pj_rs", "ky_1", &pol, 100, 2 * YEN, t_jan + i, &r, &retry) ==
              KSM_E_OK);
        char key[32];
        snprintf(key, sizeof key, "req-%d", i);
        struct ksm_usage_rec u = {.tenant = "tn_l",
                                  .project = "pj_rs",
                                  .service = "ai",
                                  .meter = "tokens",
                                  .quantity = 80,
                                  .time_ms = t_jan + i,
                                  .idempotency_key = key,
                                  .request_id = key,
                                  .cost_microyen = 1234567};
        CHECK(ksm_usage_record(db, &u) == KSM_E_OK); /* the gateway writes, then settles */
        ksm_ai_settle(&r, 80, 1234567);
    }
    json_t *s = status(db, "pj_rs", t_jan + 10);
    int64_t settled = jint(s, "spent_microyen");
    CHECK(settled == 5 * 1234567);
    CHECK(json_is_null(json_object_get(s, "monthly_yen"))); /* no budget: unlimited */
    json_decref(s);
    ksm_ai_ledger_reset(); /* as a restart */
    s = status(db, "pj_rs", t_jan + 10);
    CHECK(jint(s, "spent_microyen") == settled);
    json_decref(s);
}

/* ---- a key's own cap ---- */

static void set_key_budget(struct ksm_db *db, const char *project, const char *key, int yen)
{
    char why[KSM_AI_WHY], text[64];
    snprintf(text, sizeof text, "{\"monthly_yen\":%d}", yen);
    json_t *b = json_loads(text, 0, NULL);
    CHECK(ksm_ai_key_budget_set(db, "tn_l", project, key, b, why) == KSM_E_OK);
    json_decref(b);
}

static json_t *key_status(struct ksm_db *db, const char *project, const char *key, int64_t now)
{
    json_t *o = NULL;
    CHECK(ksm_ai_key_budget_status(db, project, key, now, &o) == KSM_E_OK);
    return o;
}

static void *key_racer(void *arg)
{
    int i = (int)(intptr_t)arg;
    char err[256];
    struct ksm_db db;
    struct ksm_ai_policy pol;
    int retry;
    ksm_ai_policy_defaults(&pol);
    if (ksm_db_open(&db, path, err, sizeof err))
        return NULL;
    pthread_barrier_wait(&barrier);
    /* even threads with the capped key, odd ones with another key of the project */
    enum ksm_err e = ksm_ai_reserve(&db, "pj_kr", i % 2 ? "ky_free" : "ky_capped", &pol, 100,
                                    3 * YEN, t_jan, &held[i], &retry);
    pthread_mutex_lock(&admitted_mu);
    if (e == KSM_E_OK && !(i % 2))
        admitted++;
    else if (e != KSM_E_OK && (i % 2 || retry < 1 || held[i].refused != KSM_AI_OVER_KEY_BUDGET))
        admitted = -1000;   /* only the capped key is refused, saying which limit and when */
    pthread_mutex_unlock(&admitted_mu);
    ksm_db_close(&db);
    return NULL;
}

static void test_key_race(struct ksm_db *db)
{
    pthread_t th[NTHREADS];
    set_budget(db, "pj_kr", "{\"monthly_yen\":1000}");
    set_key_budget(db, "pj_kr", "ky_capped", 30);
    ksm_ai_ledger_reset();
    admitted = 0;
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, key_racer, (void *)(intptr_t)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    CHECK(admitted == 10);
    json_t *k = key_status(db, "pj_kr", "ky_capped", t_jan);
    CHECK(jint(k, "reserved_microyen") == 30 * YEN && jint(k, "in_flight") == 10);
    CHECK(jint(k, "remaining_microyen") == 0 && jint(k, "monthly_yen") == 30);
    json_decref(k);
    json_t *p = status(db, "pj_kr", t_jan);   /* the project holds both keys' reservations */
    CHECK(jint(p, "reserved_microyen") == (10 + NTHREADS / 2) * 3 * YEN);
    json_decref(p);
    for (int i = 0; i < NTHREADS; i++)
        ksm_ai_settle(&held[i], 50, 1 * YEN);
    k = key_status(db, "pj_kr", "ky_capped", t_jan);
    CHECK(jint(k, "spent_microyen") == 10 * YEN && jint(k, "reserved_microyen") == 0);
    CHECK(jint(k, "in_flight") == 0 && jint(k, "remaining_microyen") == 20 * YEN);
    json_decref(k);
    /* no cap: the key's spend is still kept, for when one is set */
    k = key_status(db, "pj_kr", "ky_free", t_jan);
    CHECK(json_is_null(json_object_get(k, "monthly_yen")) && jint(k, "spent_microyen") == 32 * YEN);
    json_decref(k);
}

static void key_record(struct ksm_db *db, const char *project, const char *key, int i,
                       int64_t when, int64_t cost)
{
    char id[48], details[160];
    snprintf(id, sizeof id, "kreq-%s-%d", key, i);
    snprintf(details, sizeof details,
             "{\"prompt_tokens\":1,\"completion_tokens\":2,\"user\":\"us_k\",\"key\":\"%s\"}", key);
    struct ksm_usage_rec u = {.tenant = "tn_l", .project = project, .service = "ai",
                              .meter = "tokens", .quantity = 3, .time_ms = when,
                              .idempotency_key = id, .request_id = id, .resource = "m",
                              .cost_microyen = cost, .details = details, .key_id = key,
                              .user_id = "us_k"};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
}

static void test_key_restart(struct ksm_db *db)
{
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry;
    int64_t feb;
    ksm_parse_rfc3339("2027-02-01T00:00:00+09:00", &feb);
    ksm_ai_policy_defaults(&pol);
    set_key_budget(db, "pj_kb", "ky_x", 10);
    ksm_ai_ledger_reset();
    /* three calls written one by one, four in a writer's batch, one of another key, one in
     * February: only the eight of ky_x in January count */
    for (int i = 0; i < 3; i++) {
        CHECK(ksm_ai_reserve(db, "pj_kb", "ky_x", &pol, 10, 2 * YEN, t_jan, &r, &retry) == KSM_E_OK);
        key_record(db, "pj_kb", "ky_x", i, t_jan, YEN / 2);
        ksm_ai_settle(&r, 3, YEN / 2);
    }
    CHECK(ksm_db_begin(db) == SQLITE_OK);
    ksm_usage_rollup_batch_begin();
    for (int i = 3; i < 7; i++)
        key_record(db, "pj_kb", "ky_x", i, t_jan + i, YEN);
    key_record(db, "pj_kb", "ky_y", 0, t_jan, 7 * YEN);
    key_record(db, "pj_kb", "ky_x", 7, feb + 1000, 5 * YEN);
    CHECK(ksm_usage_rollup_batch_end(db) == 0);
    CHECK(ksm_db_commit(db) == SQLITE_OK);
    ksm_ai_ledger_reset();   /* as a restart */
    json_t *k = key_status(db, "pj_kb", "ky_x", t_jan + 100);
    CHECK(jint(k, "spent_microyen") == 3 * YEN / 2 + 4 * YEN);
    json_decref(k);
    /* 5.5 of 10 yen spent: a 4-yen estimate fits, a second does not, and says which limit */
    CHECK(ksm_ai_reserve(db, "pj_kb", "ky_x", &pol, 10, 4 * YEN, t_jan + 200, &r, &retry) == KSM_E_OK);
    struct ksm_ai_reservation r2;
    CHECK(ksm_ai_reserve(db, "pj_kb", "ky_x", &pol, 10, 4 * YEN, t_jan + 200, &r2, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(r2.refused == KSM_AI_OVER_KEY_BUDGET && retry == (int)((feb - t_jan) / 1000));
    ksm_ai_settle(&r, 0, 0);
    /* February starts afresh with February's records */
    k = key_status(db, "pj_kb", "ky_x", feb + 2000);
    CHECK(jint(k, "spent_microyen") == 5 * YEN && jint(k, "monthly_yen") == 10);
    json_decref(k);
    /* the project's list: both keys, with their month's use */
    json_t *l = NULL;
    CHECK(ksm_ai_key_budget_list(db, "pj_kb", t_jan + 300, &l) == KSM_E_OK);
    json_t *items = json_object_get(l, "items");
    CHECK(json_array_size(items) == 2);
    json_t *x = json_array_get(items, 0), *y = json_array_get(items, 1);
    CHECK(!strcmp(json_string_value(json_object_get(x, "key")), "ky_x") && jint(x, "requests") == 7);
    CHECK(jint(x, "tokens") == 21 && !strcmp(json_string_value(json_object_get(x, "user")), "us_k"));
    CHECK(!strcmp(json_string_value(json_object_get(y, "key")), "ky_y") &&
          jint(y, "spent_microyen") == 7 * YEN && json_is_null(json_object_get(y, "monthly_yen")));
    json_decref(l);
    /* removed: the key is limited by its project only */
    CHECK(ksm_ai_key_budget_delete(db, "pj_kb", "ky_x") == KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_kb", "ky_x", &pol, 10, 40 * YEN, t_jan + 400, &r, &retry) == KSM_E_OK);
    ksm_ai_settle(&r, 0, 0);
}

/* ---- JST months ---- */

static void test_months(struct ksm_db *db)
{
    int64_t a, b, start, end;
    ksm_parse_rfc3339("2027-01-31T14:59:59.999Z", &a); /* 23:59:59.999 JST, 31 Jan */
    ksm_parse_rfc3339("2027-01-31T15:00:00Z", &b);     /* 00:00 JST, 1 Feb */
    CHECK(ksm_ai_jst_month(a, &start, &end) == 202701);
    CHECK(end == b);
    int64_t s0;
    ksm_parse_rfc3339("2027-01-01T00:00:00+09:00", &s0);
    CHECK(start == s0);
    CHECK(ksm_ai_jst_month(b, NULL, NULL) == 202702);
    int64_t dec;
    ksm_parse_rfc3339("2026-12-31T23:00:00+09:00", &dec);
    CHECK(ksm_ai_jst_month(dec, NULL, &end) == 202612);
    ksm_parse_rfc3339("2027-01-01T00:00:00+09:00", &s0);
    CHECK(end == s0);

    /* spend of January does not count in February */
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry;
    ksm_ai_policy_defaults(&pol);
    set_budget(db, "pj_m", "{\"monthly_yen\":10}");
    ksm_ai_ledger_reset();
    CHECK(ksm_ai_reserve(db, "pj_m", NULL, &pol, 1, 10 * YEN, a - 1000, &r, &retry) == KSM_E_OK);
    struct ksm_usage_rec u = {.tenant = "tn_l",
                              .project = "pj_m",
                              .service = "ai",
                              .meter = "tokens",
                              .quantity = 1,
                              .time_ms = a - 1000,
                              .idempotency_key = "m-1",
                              .request_id = "m-1",
                              .cost_microyen = 10 * YEN};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
    ksm_ai_settle(&r, 1, 10 * YEN);
    CHECK(ksm_ai_reserve(db, "pj_m", NULL, &pol, 1, 1, a, &r, &retry) == KSM_E_RATE_LIMITED);
    CHECK(retry == 1); /* the month ends in a millisecond: at least one second */
    CHECK(ksm_ai_reserve(db, "pj_m", NULL, &pol, 1, 10 * YEN, b, &r, &retry) == KSM_E_OK);
    json_t *s = status(db, "pj_m", b);
    CHECK_STR(json_string_value(json_object_get(s, "month")), "2027-02");
    CHECK(jint(s, "spent_microyen") == 0 && jint(s, "reserved_microyen") == 10 * YEN);
    json_decref(s);
    ksm_ai_settle(&r, 1, 10 * YEN);
}

/* ---- quotas ---- */

static void test_quotas(struct ksm_db *db)
{
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry;
    ksm_ai_policy_defaults(&pol);
    ksm_ai_ledger_reset();
    int64_t minute = t_jan - t_jan % 60000; /* t_jan is on a whole minute */
    pol.project_rpm = 3;
    for (int i = 0; i < 3; i++)
        CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 10, 0, minute + 1000 * i, &r, &retry) ==
              KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 10, 0, minute + 20000, &r, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(retry == 40);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 10, 0, minute + 59500, &r, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(retry == 1);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 10, 0, minute + 60000, &r, &retry) == KSM_E_OK);

    /* tokens per minute, per project; a smaller actual gives tokens back in the
     * same minute */
    pol.project_rpm = 0;
    pol.project_tpm = 1000;
    int64_t m2 = minute + 120000;
    CHECK(ksm_ai_reserve(db, "pj_q", NULL, &pol, 800, 0, m2, &r, &retry) == KSM_E_OK);
    struct ksm_ai_reservation r2;
    CHECK(ksm_ai_reserve(db, "pj_q", NULL, &pol, 300, 0, m2 + 1, &r2, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(retry == 60);
    ksm_ai_settle(&r, 500, 0);
    CHECK(ksm_ai_reserve(db, "pj_q", NULL, &pol, 300, 0, m2 + 2, &r2, &retry) == KSM_E_OK);
    ksm_ai_settle(&r2, 300, 0);

    /* per key: one key's requests do not use up another's */
    pol.project_tpm = 0;
    pol.key_rpm = 2;
    int64_t m3 = minute + 240000;
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 1, 0, m3, &r, &retry) == KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 1, 0, m3, &r, &retry) == KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_a", &pol, 1, 0, m3 + 30000, &r, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(retry == 30);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_b", &pol, 1, 0, m3 + 30000, &r, &retry) == KSM_E_OK);
    pol.key_rpm = 0;
    pol.key_tpm = 5;
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_c", &pol, 6, 0, m3, &r, &retry) == KSM_E_RATE_LIMITED);
    CHECK(r.toks.limit == 5 && r.toks.remaining == 5 && r.reqs.limit == 0); /* refused: nothing used */

    /* what is left, for the rate-limit headers: the quota with less left, this minute's */
    pol.key_tpm = 0;
    pol.project_rpm = 5;
    pol.key_rpm = 3;
    pol.project_tpm = 100;
    int64_t m4 = minute + 360000;
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_d", &pol, 40, 0, m4 + 1500, &r, &retry) == KSM_E_OK);
    CHECK(r.reqs.limit == 3 && r.reqs.remaining == 2); /* the key's: 2 left, the project's 4 */
    CHECK(r.toks.limit == 100 && r.toks.remaining == 60 && r.reset_ms == m4 + 60000);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_e", &pol, 40, 0, m4 + 2000, &r, &retry) == KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_e", &pol, 40, 0, m4 + 2500, &r, &retry) ==
          KSM_E_RATE_LIMITED); /* 80 of 100 tokens used: 40 more do not fit */
    CHECK(r.toks.remaining == 20 && r.reqs.limit == 3 && r.reqs.remaining == 2);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_e", &pol, 5, 0, m4 + 3000, &r, &retry) == KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_e", &pol, 5, 0, m4 + 3500, &r, &retry) == KSM_E_OK);
    CHECK(r.reqs.limit == 3 && r.reqs.remaining == 0 && r.toks.remaining == 10);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_g", &pol, 1, 0, m4 + 4000, &r, &retry) == KSM_E_OK);
    CHECK(r.reqs.limit == 5 && r.reqs.remaining == 0); /* the project's fifth of the minute */
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_h", &pol, 1, 0, m4 + 4500, &r, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(r.reqs.limit == 5 && r.reqs.remaining == 0 && r.toks.remaining == 9);
    /* a new minute: all of it left, though the key's window has not rolled yet (the project
     * refused first) */
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_e", &pol, 200, 0, m4 + 60000, &r, &retry) ==
          KSM_E_RATE_LIMITED);
    CHECK(r.reqs.limit == 3 && r.reqs.remaining == 3 && r.toks.remaining == 100);
    CHECK(ksm_ai_reserve(db, "pj_q", "ky_e", &pol, 1, 0, m4 + 60000, &r, &retry) == KSM_E_OK);
    CHECK(r.reqs.limit == 3 && r.reqs.remaining == 2 && r.toks.remaining == 99);
    CHECK(r.reset_ms == m4 + 120000);
}

/* ---- alerts ---- */

static void test_alerts(struct ksm_db *db)
{
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry;
    ksm_ai_policy_defaults(&pol);
    set_budget(db, "pj_al", "{\"monthly_yen\":100,\"alert_thresholds\":[50,80,100]}");
    ksm_ai_ledger_reset();
    CHECK(ksm_ai_reserve(db, "pj_al", NULL, &pol, 1, 60 * YEN, t_jan, &r, &retry) == KSM_E_OK);
    json_t *s = status(db, "pj_al", t_jan);
    CHECK(json_array_size(json_object_get(s, "alerts_crossed")) == 0); /* reserved, not spent */
    json_decref(s);
    ksm_ai_settle(&r, 1, 55 * YEN);
    CHECK(ksm_ai_reserve(db, "pj_al", NULL, &pol, 1, 30 * YEN, t_jan, &r, &retry) == KSM_E_OK);
    ksm_ai_settle(&r, 1, 30 * YEN);
    s = status(db, "pj_al", t_jan);
    json_t *c = json_object_get(s, "alerts_crossed");
    CHECK(json_array_size(c) == 2 && json_integer_value(json_array_get(c, 1)) == 80);
    CHECK(jint(s, "monthly_yen") == 100 && jint(s, "spent_microyen") == 85 * YEN);
    json_decref(s);
    /* a new budget applies at once (the write bumps the generation) */
    set_budget(db, "pj_al", "{\"monthly_yen\":1000}");
    CHECK(ksm_ai_reserve(db, "pj_al", NULL, &pol, 1, 500 * YEN, t_jan, &r, &retry) == KSM_E_OK);
    ksm_ai_settle(&r, 1, 0);
}

/* One budget covers the project's whole spend: storage records count against what the gateway may
 * still reserve, seen within the refresh interval (at once on a status read). */
static void test_other_services(struct ksm_db *db)
{
    struct ksm_ai_policy pol;
    struct ksm_ai_reservation r;
    int retry;
    ksm_ai_policy_defaults(&pol);
    set_budget(db, "pj_os", "{\"monthly_yen\":100}");
    ksm_ai_ledger_reset();
    CHECK(ksm_ai_reserve(db, "pj_os", NULL, &pol, 1, 50 * YEN, t_jan, &r, &retry) == KSM_E_OK);
    ksm_ai_settle(&r, 1, 0);
    struct ksm_usage_rec u = {.tenant = "tn_l", .project = "pj_os", .service = "storage",
                              .meter = "requests_write", .quantity = 1, .time_ms = t_jan,
                              .idempotency_key = "os-1", .cost_microyen = 70 * YEN};
    CHECK(ksm_usage_record(db, &u) == KSM_E_OK);
    CHECK(ksm_ai_reserve(db, "pj_os", NULL, &pol, 1, 50 * YEN, t_jan + 6000, &r, &retry) ==
          KSM_E_RATE_LIMITED); /* 70 of storage + 50 would pass 100 */
    json_t *s = status(db, "pj_os", t_jan + 6000);
    CHECK(jint(s, "spent_microyen") == 70 * YEN && jint(s, "other_spent_microyen") == 70 * YEN);
    CHECK(jint(s, "ai_spent_microyen") == 0 && jint(s, "remaining_microyen") == 30 * YEN);
    CHECK(json_array_size(json_object_get(s, "alerts_crossed")) == 1); /* 50% */
    json_decref(s);
    CHECK(ksm_ai_reserve(db, "pj_os", NULL, &pol, 1, 30 * YEN, t_jan + 6001, &r, &retry) ==
          KSM_E_OK);
    ksm_ai_settle(&r, 1, 30 * YEN);
}

/* A key's own quota in a project stands in for the policy's per-key one, for that key alone: more
 * than the policy's, less, or none; the project's own quota still holds; a change holds from the
 * next reservation (read again after any AI-store write). */
static void set_rates(struct ksm_db *db, const char *key, const char *body)
{
    char why[KSM_AI_WHY] = "";
    json_t *b = json_loads(body, 0, NULL);
    CHECK(ksm_ai_key_rates_set(db, "tn_l", "pj_r", key, b, why) == KSM_E_OK);
    json_decref(b);
}

static int rate_admitted(struct ksm_db *db, const char *key, const struct ksm_ai_policy *pol, int tries,
                    int64_t at)
{
    struct ksm_ai_reservation r;
    int n = 0, retry;
    for (int i = 0; i < tries; i++)
        if (ksm_ai_reserve(db, "pj_r", key, pol, 1, 0, at, &r, &retry) == KSM_E_OK) {
            ksm_ai_settle(&r, 1, 0);
            n++;
        }
    return n;
}

static void test_key_rates(struct ksm_db *db)
{
    struct ksm_ai_policy pol;
    ksm_ai_policy_defaults(&pol);
    pol.key_rpm = 2;
    ksm_ai_ledger_reset();
    int64_t m = t_jan - t_jan % 60000 + 600000;
    set_rates(db, "ky_batch", "{\"rpm\":5}");
    set_rates(db, "ky_slow", "{\"rpm\":1,\"tpm\":null}");
    set_rates(db, "ky_free", "{\"rpm\":0}");
    CHECK(rate_admitted(db, "ky_batch", &pol, 9, m) == 5);   /* more than the policy's 2 */
    CHECK(rate_admitted(db, "ky_slow", &pol, 9, m) == 1);    /* less */
    CHECK(rate_admitted(db, "ky_free", &pol, 9, m) == 9);    /* none for this key */
    CHECK(rate_admitted(db, "ky_plain", &pol, 9, m) == 2);   /* the policy's */
    /* what the caller is told is left: the key's own limit */
    struct ksm_ai_reservation r;
    int retry;
    CHECK(ksm_ai_reserve(db, "pj_r", "ky_batch", &pol, 1, 0, m + 60000, &r, &retry) == KSM_E_OK);
    CHECK(r.reqs.limit == 5 && r.reqs.remaining == 4);
    ksm_ai_settle(&r, 1, 0);
    /* changed, and removed: from the next reservation */
    set_rates(db, "ky_batch", "{\"rpm\":2}");
    CHECK(rate_admitted(db, "ky_batch", &pol, 9, m + 60000) == 1);   /* one of two was already used */
    CHECK(ksm_ai_key_rates_delete(db, "pj_r", "ky_free") == KSM_E_OK);
    CHECK(rate_admitted(db, "ky_free", &pol, 9, m + 60000) == 2);
    /* the project's own quota bounds the keys together */
    pol.project_rpm = 3;
    CHECK(rate_admitted(db, "ky_free", &pol, 9, m + 120000) == 2 && rate_admitted(db, "ky_slow", &pol, 9, m + 120000) == 1);
    CHECK(rate_admitted(db, "ky_plain", &pol, 9, m + 120000) == 0);
    /* bad bodies */
    char why[KSM_AI_WHY];
    const char *bad[] = {"{}", "{\"rpm\":-1}", "{\"rpm\":1000000001}", "{\"rpm\":\"5\"}",
                         "{\"rpm\":1.5}", "{\"rph\":5}", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = json_loads(bad[i], 0, NULL);
        why[0] = 0;
        CHECK(ksm_ai_key_rates_set(db, "tn_l", "pj_r", "ky_x", b, why) != KSM_E_OK && why[0]);
        json_decref(b);
    }
    struct ksm_ai_key_rates kr;
    CHECK(ksm_ai_key_rates_load(db, "pj_r", "ky_x", &kr) == KSM_E_OK && kr.rpm == KSM_AI_RATE_PROJECTS);
    CHECK(ksm_ai_key_rates_load(db, "pj_r", "ky_slow", &kr) == KSM_E_OK && kr.rpm == 1 &&
          kr.tpm == KSM_AI_RATE_PROJECTS);
}

int main(void)
{
    char err[256];
    struct ksm_db db;
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_usage_register_schema();
    ksm_ai_store_register_schema();
    if (ksm_db_open(&db, path, err, sizeof err)) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    ksm_parse_rfc3339("2027-01-15T12:00:00+09:00", &t_jan);
    test_race(&db);
    test_restart(&db);
    test_months(&db);
    test_quotas(&db);
    test_alerts(&db);
    test_other_services(&db);
    test_key_race(&db);
    test_key_restart(&db);
    test_key_rates(&db);
    ksm_ai_ledger_reset();
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
