/* test_ai_store.c — the AI configuration store on a temporary SQLite file: yen
 * parsing to micro-yen (exactly, no floating point), cost rounding, model-route
 * validation (providers, jurisdictions, credential paths, the overseas
 * allow-list), route CRUD and the per-thread memo's invalidation, prices by
 * effective date, policies and budgets, and which models a key may call (the list's matching
 * whole names only, its memo forgetting a change at once). */
#include "ai/ai_store.h"
#include "check.h"
#include "core/db.h"
#include "core/util.h"
#include "meter/usage.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/ksm_test_ai_store_XXXXXX";
static char path[64];
static char why[KSM_AI_WHY];

static json_t *js(const char *text)
{
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!v)
        fprintf(stderr, "bad test JSON: %s\n", text);
    return v;
}

static void test_yen(void)
{
    static const struct {
        const char *in;
        int64_t micro; /* -1: refused */
    } cases[] = {
        {"0.15", 150000},  {"12", 12000000},   {"0.000001", 1},
        {"1.5", 1500000},  {"0", 0},           {"1000000000", 1000000000000000LL},
        {"00.10", 100000}, {"0.1234567", -1},  {"-1", -1},
        {"+1", -1},        {"", -1},           {".5", -1},
        {"1.", -1},        {"1e3", -1},        {" 1", -1},
        {"1 ", -1},        {"1000000001", -1}, {"0x10", -1},
        {"１", -1},        {"1,5", -1},        {"NaN", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -7;
        int rc = ksm_ai_yen_parse(cases[i].in, &v);
        if (cases[i].micro < 0)
            CHECK(rc == -1);
        else
            CHECK(rc == 0 && v == cases[i].micro);
    }
    char buf[32];
    ksm_ai_yen_format(150000, buf);
    CHECK_STR(buf, "0.15");
    ksm_ai_yen_format(12000000, buf);
    CHECK_STR(buf, "12");
    ksm_ai_yen_format(1, buf);
    CHECK_STR(buf, "0.000001");
}

static void test_cost(void)
{
    struct ksm_ai_price p = {
        .prompt_per_1k = 150000, .completion_per_1k = 600000, .cached_per_1k = 75000};
    /* 1 token at 0.15 yen/1k = 150 micro-yen exactly */
    CHECK(ksm_ai_cost(&p, 1, 0, 0) == 150);
    CHECK(ksm_ai_cost(&p, 1000, 1000, 1000) == 150000 + 600000 + 75000);
    /* each part rounds up to a whole micro-yen */
    struct ksm_ai_price q = {.prompt_per_1k = 1, .completion_per_1k = 1, .cached_per_1k = 1};
    CHECK(ksm_ai_cost(&q, 1, 1, 1) == 3);
    CHECK(ksm_ai_cost(&q, 0, 0, 0) == 0);
    CHECK(ksm_ai_cost(&q, 1000, 0, 0) == 1);
    CHECK(ksm_ai_cost(&q, 1001, 0, 0) == 2);
    /* no wrap-around on absurd inputs */
    struct ksm_ai_price big = {.prompt_per_1k = INT64_MAX / 2};
    CHECK(ksm_ai_cost(&big, INT64_MAX / 2, 0, 0) > 0);
}

static enum ksm_err parse(const char *text, const struct ksm_ai_rules *rules,
                          struct ksm_ai_route *rt)
{
    json_t *b = js(text);
    memset(rt, 0, sizeof *rt);
    why[0] = '\0';
    enum ksm_err e = ksm_ai_route_parse(b, false, rules, rt, NULL, NULL, why);
    json_decref(b);
    return e;
}

#define T(extra) "{\"alias\":\"m\",\"targets\":[{\"provider\":\"openai\"," extra "}]}"

static void test_route_validation(void)
{
    struct ksm_ai_route rt;
    struct ksm_ai_rules gov = {.govcloud = true};
    CHECK(parse(T("\"base_url\":\"http://127.0.0.1:9/v1\",\"jurisdiction\":\"JP\""), &gov, &rt) ==
          KSM_E_OK);
    CHECK(rt.ntargets == 1 && rt.targets[0].provider == KSM_AI_OPENAI);
    CHECK(rt.targets[0].weight == 1 && rt.targets[0].timeout_ms == 60000);
    CHECK_STR(rt.targets[0].model, "");
    CHECK(parse("{\"alias\":\"m\",\"targets\":[{\"provider\":\"anthropic\","
                "\"base_url\":"
                "\"https://a.example/"
                "v1\",\"jurisdiction\":\"JP\",\"model\":\"claude-x\","
                "\"credential_ref\":\"/etc/kasumi/"
                "anthropic.key\",\"weight\":5,\"timeout_ms\":1000}]}",
                &gov, &rt) == KSM_E_OK);
    CHECK(rt.targets[0].provider == KSM_AI_ANTHROPIC && rt.targets[0].weight == 5);
    CHECK_STR(rt.targets[0].credential_ref, "/etc/kasumi/anthropic.key");
    /* providers, jurisdictions, URLs, paths, numbers */
    static const char *const bad[] = {
        "{\"alias\":\"m\",\"targets\":[{\"provider\":\"azure\",\"base_url\":"
        "\"http://h/v1\",\"jurisdiction\":\"JP\"}]}",
        T("\"base_url\":\"http://h/v1\",\"jurisdiction\":\"XX\""),
        T("\"base_url\":\"http://h/v1\",\"jurisdiction\":\"jp\""),
        T("\"base_url\":\"http://h/v1\",\"jurisdiction\":\"JPN\""),
        T("\"base_url\":\"ftp://h/v1\",\"jurisdiction\":\"JP\""),
        T("\"base_url\":\"http://h/v1?x=1\",\"jurisdiction\":\"JP\""),
        T("\"base_url\":\"http:///v1\",\"jurisdiction\":\"JP\""),
        T("\"base_url\":\"http://h/"
          "v1\",\"jurisdiction\":\"JP\",\"credential_ref\":\"secret.key\""),
        T("\"base_url\":\"http://h/"
          "v1\",\"jurisdiction\":\"JP\",\"credential_ref\":\"/etc/../x\""),
        T("\"base_url\":\"http://h/v1\",\"jurisdiction\":\"JP\",\"weight\":0"),
        T("\"base_url\":\"http://h/"
          "v1\",\"jurisdiction\":\"JP\",\"timeout_ms\":5"),
        T("\"base_url\":\"http://h/"
          "v1\",\"jurisdiction\":\"JP\",\"weight\":\"1\""),
        T("\"base_url\":\"http://h/v1\""),
        "{\"alias\":\"m\",\"targets\":[]}",
        "{\"alias\":\"bad "
        "alias\",\"targets\":[{\"provider\":\"openai\",\"base_url\":\"http://h/"
        "v1\",\"jurisdiction\":\"JP\"}]}",
        "{\"targets\":[{\"provider\":\"openai\",\"base_url\":\"http://h/"
        "v1\",\"jurisdiction\":\"JP\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum ksm_err e = parse(bad[i], &gov, &rt);
        CHECK(e == KSM_E_INVALID_ARGUMENT);
        if (e != KSM_E_INVALID_ARGUMENT)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
    CHECK(parse(T("\"base_url\":\"http://h/"
                  "v1\",\"jurisdiction\":\"JP\",\"secret\":\"x\""),
                &gov, &rt) == KSM_E_UNKNOWN_FIELD);
    CHECK(strstr(why, "targets[0].secret") != NULL);
    /* nine targets: too many */
    char nine[2048] = "{\"alias\":\"m\",\"targets\":[";
    for (int i = 0; i < 9; i++)
        strcat(nine, i ? ",{\"provider\":\"openai\",\"base_url\":\"http://h/"
                         "v1\",\"jurisdiction\":\"JP\"}"
                       : "{\"provider\":\"openai\",\"base_url\":\"http://h/"
                         "v1\",\"jurisdiction\":\"JP\"}");
    strcat(nine, "]}");
    CHECK(parse(nine, &gov, &rt) == KSM_E_INVALID_ARGUMENT);

    /* the overseas allow-list: govcloud refuses a foreign target unless its URL
     * is under a prefix */
    const char *us = T("\"base_url\":\"https://overseas.example/v1\",\"jurisdiction\":\"US\"");
    CHECK(parse(us, &gov, &rt) == KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(why, "allow-list") != NULL);
    struct ksm_ai_rules allow = {
        .govcloud = true, .noverseas = 1, .overseas_allow = {"https://overseas.example/"}};
    CHECK(parse(us, &allow, &rt) == KSM_E_OK);
    CHECK(parse(T("\"base_url\":\"https://overseas.example.evil/"
                  "v1\",\"jurisdiction\":\"US\""),
                &allow, &rt) == KSM_E_INVALID_ARGUMENT);
    struct ksm_ai_rules noslash = {
        .govcloud = true, .noverseas = 1, .overseas_allow = {"https://overseas.example"}};
    CHECK(parse(us, &noslash, &rt) == KSM_E_OK);
    CHECK(parse(T("\"base_url\":\"https://overseas.examplex/"
                  "v1\",\"jurisdiction\":\"US\""),
                &noslash, &rt) == KSM_E_INVALID_ARGUMENT);
    /* the overseas-ai environment is itself abroad: no allow-list applies */
    struct ksm_ai_rules abroad = {.govcloud = false};
    CHECK(parse(us, &abroad, &rt) == KSM_E_OK);
    CHECK(ksm_ai_target_allowed(&abroad, &rt.targets[0]));
    CHECK(!ksm_ai_target_allowed(&gov, &rt.targets[0]));
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_route_crud(struct ksm_db *db)
{
    struct ksm_ai_rules gov = {.govcloud = true};
    json_t *o = NULL, *b = js(T("\"base_url\":\"http://127.0.0.1:9/v1\",\"jurisdiction\":\"JP\","
                                "\"credential_ref\":\"/run/keys/openai\""));
    CHECK(ksm_ai_route_create(db, "tn_a", "pj_a", b, &gov, &o, why) == KSM_E_OK);
    char id[40];
    snprintf(id, sizeof id, "%s", jstr(o, "id"));
    CHECK(!strncmp(id, "mr_", 3));
    CHECK_STR(jstr(json_array_get(json_object_get(o, "targets"), 0), "credential_ref"),
              "/run/keys/openai");
    json_decref(o);
    /* aliases are unique within a project, not across projects */
    CHECK(ksm_ai_route_create(db, "tn_a", "pj_a", b, &gov, &o, why) == KSM_E_ALREADY_EXISTS);
    CHECK(ksm_ai_route_create(db, "tn_a", "pj_b", b, &gov, &o, why) == KSM_E_OK);
    json_decref(o);
    json_decref(b);

    char tenant[40], project[40];
    CHECK(ksm_ai_route_owner(db, id, tenant, project) == KSM_E_OK);
    CHECK_STR(tenant, "tn_a");
    CHECK_STR(project, "pj_a");
    CHECK(ksm_ai_route_owner(db, "mr_aaaaaaaaaaaaaaaaaaaa", tenant, project) == KSM_E_NOT_FOUND);
    CHECK(ksm_ai_route_owner(db, "pj_a", tenant, project) == KSM_E_NOT_FOUND);

    struct ksm_ai_route rt;
    CHECK(ksm_ai_route_find(db, "pj_a", "m", &rt) == KSM_E_OK);
    CHECK_STR(rt.id, id);
    CHECK(ksm_ai_route_find(db, "pj_a", "m", &rt) == KSM_E_OK); /* memo */
    CHECK(ksm_ai_route_find(db, "pj_a", "other", &rt) == KSM_E_NOT_FOUND);
    CHECK(ksm_ai_route_find(db, "pj_a", "other", &rt) == KSM_E_NOT_FOUND); /* memo */

    /* an update is seen by the next find: the write bumped the generation */
    b = js("{\"alias\":\"other\"}");
    CHECK(ksm_ai_route_update(db, id, b, &gov, &o, why) == KSM_E_OK);
    CHECK_STR(jstr(o, "alias"), "other");
    json_decref(o);
    json_decref(b);
    CHECK(ksm_ai_route_find(db, "pj_a", "m", &rt) == KSM_E_NOT_FOUND);
    CHECK(ksm_ai_route_find(db, "pj_a", "other", &rt) == KSM_E_OK);
    b = js("{}");
    CHECK(ksm_ai_route_update(db, id, b, &gov, &o, why) == KSM_E_INVALID_ARGUMENT);
    json_decref(b);
    b = js("{\"targets\":[{\"provider\":\"openai\",\"base_url\":\"https://"
           "x.example/v1\","
           "\"jurisdiction\":\"SG\"}]}");
    CHECK(ksm_ai_route_update(db, id, b, &gov, &o, why) == KSM_E_INVALID_ARGUMENT);
    json_decref(b);

    json_t *items = json_array();
    CHECK(ksm_ai_route_list(db, "pj_a", NULL, 10, items) == KSM_E_OK);
    CHECK(json_array_size(items) == 1);
    json_decref(items);
    items = json_array();
    CHECK(ksm_ai_route_models(db, "pj_a", NULL, items) == KSM_E_OK);
    CHECK(json_array_size(items) == 1);
    CHECK_STR(jstr(json_array_get(items, 0), "id"), "other");
    json_decref(items);
    items = json_array();   /* one alias: that one, or nothing */
    CHECK(ksm_ai_route_models(db, "pj_a", "other", items) == KSM_E_OK);
    CHECK(json_array_size(items) == 1);
    CHECK(ksm_ai_route_models(db, "pj_a", "absent", items) == KSM_E_OK);
    CHECK(ksm_ai_route_models(db, "pj_b", "other", items) == KSM_E_OK);
    CHECK(json_array_size(items) == 1);
    json_decref(items);

    CHECK(ksm_ai_route_delete(db, id) == KSM_E_OK);
    CHECK(ksm_ai_route_delete(db, id) == KSM_E_NOT_FOUND);
    CHECK(ksm_ai_route_get(db, id, &o) == KSM_E_NOT_FOUND);
    CHECK(ksm_ai_route_find(db, "pj_a", "other", &rt) == KSM_E_NOT_FOUND);
}

static enum ksm_err add_price(struct ksm_db *db, const char *text, int64_t now, json_t **o)
{
    json_t *b = js(text);
    *o = NULL;
    enum ksm_err e = ksm_ai_price_add(db, b, now, o, why);
    json_decref(b);
    return e;
}

static void test_prices(struct ksm_db *db)
{
    int64_t t0 = 1790000000000LL, t1, t2; /* 2026-09 */
    json_t *o;
    CHECK(add_price(db,
                    "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"0.15\","
                    "\"completion_per_1k\":"
                    "\"0.6\",\"cached_per_1k\":\"0.075\"}",
                    t0, &o) == KSM_E_OK);
    json_t *micro = json_object_get(o, "microyen");
    CHECK(json_integer_value(json_object_get(micro, "prompt_per_1k")) == 150000);
    CHECK(json_integer_value(json_object_get(micro, "completion_per_1k")) == 600000);
    CHECK(json_integer_value(json_object_get(micro, "cached_per_1k")) == 75000);
    CHECK_STR(jstr(o, "prompt_per_1k"), "0.15");
    json_decref(o);
    /* integers are whole yen; cached defaults to the prompt price */
    CHECK(add_price(db,
                    "{\"model\":\"gpt-x\",\"prompt_per_1k\":3,\"completion_per_"
                    "1k\":\"4\","
                    "\"effective_from\":\"2026-10-01T00:00:00+09:00\"}",
                    t0, &o) == KSM_E_OK);
    CHECK(json_integer_value(json_object_get(json_object_get(o, "microyen"), "cached_per_1k")) ==
          3000000);
    json_decref(o);
    ksm_parse_rfc3339("2026-10-01T00:00:00+09:00", &t1);
    /* garbage, too many decimals, negatives, floats, retroactive dates,
     * duplicates */
    static const char *const bad[] = {
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"0.1234567\",\"completion_per_"
        "1k\":\"1\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"-1\",\"completion_per_1k\":"
        "\"1\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":-1,\"completion_per_1k\":\"1\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":0.15,\"completion_per_1k\":"
        "\"1\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"abc\",\"completion_per_1k\":"
        "\"1\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"1\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"1\",\"completion_per_1k\":"
        "\"1\","
        "\"effective_from\":\"2020-01-01T00:00:00Z\"}",
        "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"1\",\"completion_per_1k\":"
        "\"1\","
        "\"effective_from\":\"tomorrow\"}",
        "{\"model\":\"bad "
        "model\",\"prompt_per_1k\":\"1\",\"completion_per_1k\":\"1\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum ksm_err e = add_price(db, bad[i], t0, &o);
        CHECK(e == KSM_E_INVALID_ARGUMENT);
        if (e != KSM_E_INVALID_ARGUMENT)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        json_decref(o);
    }
    CHECK(add_price(db,
                    "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"1\",\"completion_"
                    "per_1k\":\"1\","
                    "\"effective_from\":\"2026-10-01T00:00:00+09:00\"}",
                    t0, &o) == KSM_E_ALREADY_EXISTS);

    /* the latest effective_from <= at; nothing before the first */
    struct ksm_ai_price p;
    CHECK(ksm_ai_price_find(db, "gpt-x", t0 - 1, &p) == KSM_E_NOT_FOUND);
    CHECK(ksm_ai_price_find(db, "gpt-x", t0, &p) == KSM_E_OK && p.prompt_per_1k == 150000);
    CHECK(ksm_ai_price_find(db, "gpt-x", t1 - 1, &p) == KSM_E_OK && p.prompt_per_1k == 150000);
    CHECK(ksm_ai_price_find(db, "gpt-x", t1, &p) == KSM_E_OK && p.prompt_per_1k == 3000000);
    CHECK(ksm_ai_price_find(db, "gpt-x", t1 + 86400000, &p) == KSM_E_OK &&
          p.prompt_per_1k == 3000000);
    CHECK(ksm_ai_price_find(db, "none", t1, &p) == KSM_E_NOT_FOUND);
    /* a later row supersedes from its date on, also for a memoised lookup */
    t2 = t1 + 10 * 86400000LL;
    CHECK(add_price(db,
                    "{\"model\":\"gpt-x\",\"prompt_per_1k\":\"5\",\"completion_"
                    "per_1k\":\"5\","
                    "\"effective_from\":\"2026-10-11T00:00:00+09:00\"}",
                    t0, &o) == KSM_E_OK);
    json_decref(o);
    CHECK(ksm_ai_price_find(db, "gpt-x", t2, &p) == KSM_E_OK && p.prompt_per_1k == 5000000);
    CHECK(ksm_ai_price_find(db, "gpt-x", t2 - 1, &p) == KSM_E_OK && p.prompt_per_1k == 3000000);
    json_t *items = json_array();
    CHECK(ksm_ai_price_list(db, "gpt-x", NULL, 100, items) == KSM_E_OK);
    CHECK(json_array_size(items) == 3);
    json_decref(items);
}

static enum ksm_err merge(const struct ksm_ai_policy *cur, const char *text,
                          struct ksm_ai_policy *out)
{
    json_t *b = js(text);
    enum ksm_err e = ksm_ai_policy_merge(cur, b, out, why);
    json_decref(b);
    return e;
}

static void test_policy(struct ksm_db *db)
{
    struct ksm_ai_policy def, p;
    ksm_ai_policy_defaults(&def);
    CHECK(def.default_classification == 2 && !def.class2_overseas && !def.class3_forbidden);
    CHECK(def.pii[0] == KSM_AI_PII_BLOCK && def.pii[1] == KSM_AI_PII_MASK);
    CHECK(def.project_rpm == 0 && def.retention_days == 0);
    CHECK(ksm_ai_policy_get(db, "pj_p", &p) == KSM_E_OK && p.default_classification == 2);
    CHECK(merge(&def,
                "{\"default_classification\":3,\"pii\":{\"email\":\"allow\"},"
                "\"project_rpm\":60,\"retention_days\":0,\"class3_forbidden\":true}",
                &p) == KSM_E_OK);
    CHECK(p.default_classification == 3 && p.pii[2] == KSM_AI_PII_ALLOW &&
          p.pii[0] == KSM_AI_PII_BLOCK);
    CHECK(p.project_rpm == 60 && p.class3_forbidden);
    struct ksm_ai_policy x;
    CHECK(merge(&def, "{\"default_classification\":4}", &x) == KSM_E_INVALID_ARGUMENT);
    CHECK(merge(&def, "{\"default_classification\":0}", &x) == KSM_E_INVALID_ARGUMENT);
    CHECK(merge(&def, "{\"pii\":{\"email\":\"drop\"}}", &x) == KSM_E_INVALID_ARGUMENT);
    CHECK(merge(&def, "{\"pii\":{\"iban\":\"mask\"}}", &x) == KSM_E_UNKNOWN_FIELD);
    CHECK(merge(&def, "{\"key_tpm\":-1}", &x) == KSM_E_INVALID_ARGUMENT);
    CHECK(merge(&def, "{\"class2_overseas\":1}", &x) == KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_ai_policy_put(db, "tn_a", "pj_p", &p) == KSM_E_OK);
    struct ksm_ai_policy back;
    CHECK(ksm_ai_policy_get(db, "pj_p", &back) == KSM_E_OK);
    CHECK(back.default_classification == 3 && back.pii[2] == KSM_AI_PII_ALLOW &&
          back.project_rpm == 60 && back.class3_forbidden);
    p.default_classification = 1;
    CHECK(ksm_ai_policy_put(db, "tn_a", "pj_p", &p) == KSM_E_OK);
    CHECK(ksm_ai_policy_get(db, "pj_p", &back) == KSM_E_OK && back.default_classification == 1);
}

static void test_budget(struct ksm_db *db)
{
    struct ksm_ai_budget b;
    CHECK(ksm_ai_budget_load(db, "pj_b", &b) == KSM_E_OK && b.monthly_microyen == -1);
    json_t *body = js("{\"monthly_yen\":1000}");
    CHECK(ksm_ai_budget_set(db, "tn_a", "pj_b", body, why) == KSM_E_OK);
    json_decref(body);
    CHECK(ksm_ai_budget_load(db, "pj_b", &b) == KSM_E_OK && b.monthly_microyen == 1000000000LL);
    CHECK(b.nalerts == 3 && b.alerts[0] == 50 && b.alerts[2] == 100);
    static const char *const bad[] = {
        "{\"monthly_yen\":-1}",
        "{\"monthly_yen\":\"1000\"}",
        "{\"monthly_yen\":1.5}",
        "{\"monthly_yen\":10,\"alert_thresholds\":[80,50]}",
        "{\"monthly_yen\":10,\"alert_thresholds\":[0]}",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        body = js(bad[i]);
        CHECK(ksm_ai_budget_set(db, "tn_a", "pj_b", body, why) == KSM_E_INVALID_ARGUMENT);
        json_decref(body);
    }
    body = js("{\"monthly_yen\":10,\"alert_thresholds\":[90]}");
    CHECK(ksm_ai_budget_set(db, "tn_a", "pj_b", body, why) == KSM_E_OK);
    json_decref(body);
    CHECK(ksm_ai_budget_load(db, "pj_b", &b) == KSM_E_OK && b.nalerts == 1 && b.alerts[0] == 90);
}

static void test_json_load(void)
{
    json_t *o;
    CHECK(ksm_ai_json_load("{\"a\":1,\"a\":2}", 13, &o, why) == KSM_E_INVALID_JSON);
    CHECK(ksm_ai_json_load("[1]", 3, &o, why) == KSM_E_INVALID_JSON);
    CHECK(ksm_ai_json_load("{\"a\":\"\xff\"}", 8, &o, why) == KSM_E_INVALID_JSON);
    CHECK(ksm_ai_json_load("{}", 2, &o, why) == KSM_E_OK);
    json_decref(o);
}

static bool key_may(struct ksm_db *db, const char *key, const char *model)
{
    char allowed[KSM_AI_KEY_MODELS_MAX];
    CHECK(ksm_ai_key_models_get(db, "pj_km", key, allowed) == KSM_E_OK);
    return ksm_ai_key_models_allow(allowed, model);
}

static void test_key_models(struct ksm_db *db)
{
    CHECK(key_may(db, "ky_1", "anything"));   /* no list: every model */
    json_t *b = json_loads("{\"models\":[\"tiny\",\"gpt-4o\",\"tiny\"]}", 0, NULL);
    CHECK(ksm_ai_key_models_set(db, "tn_s", "pj_km", "ky_1", b, why) == KSM_E_OK);
    json_decref(b);
    /* whole names only: not a prefix, a suffix or a part of one, never an empty name or a '|' */
    CHECK(key_may(db, "ky_1", "tiny") && key_may(db, "ky_1", "gpt-4o"));
    CHECK(!key_may(db, "ky_1", "tin") && !key_may(db, "ky_1", "tiny2") && !key_may(db, "ky_1", "iny"));
    CHECK(!key_may(db, "ky_1", "gpt") && !key_may(db, "ky_1", "") && !key_may(db, "ky_1", "tiny|gpt-4o"));
    CHECK(!key_may(db, "ky_1", "|tiny|") && key_may(db, "ky_2", "tin"));   /* another key: no list */
    char allowed[KSM_AI_KEY_MODELS_MAX];
    CHECK(ksm_ai_key_models_get(db, "pj_km", "ky_1", allowed) == KSM_E_OK);
    json_t *j = ksm_ai_key_models_json(allowed);
    char *text = json_dumps(j, JSON_COMPACT);
    CHECK(!strcmp(text, "[\"tiny\",\"gpt-4o\"]"));   /* deduplicated, in order */
    free(text);
    json_decref(j);
    /* none: nothing at all; a changed list holds from the next read (the memo's generation) */
    b = json_loads("{\"models\":[]}", 0, NULL);
    CHECK(ksm_ai_key_models_set(db, "tn_s", "pj_km", "ky_1", b, why) == KSM_E_OK);
    json_decref(b);
    CHECK(!key_may(db, "ky_1", "tiny"));
    CHECK(ksm_ai_key_models_delete(db, "pj_km", "ky_1") == KSM_E_OK);
    CHECK(key_may(db, "ky_1", "tiny"));
    /* refused, with a reason: not an array, not a name, too many */
    static const char *const bad[] = {"{\"models\":\"tiny\"}", "{\"models\":[1]}",
                                      "{\"models\":[\"a|b\"]}", "{\"models\":[\"\"]}", "{}",
                                      "{\"models\":[],\"x\":1}"};
    for (size_t i = 0; i < KSM_NELEM(bad); i++) {
        why[0] = 0;
        b = json_loads(bad[i], 0, NULL);
        CHECK(ksm_ai_key_models_set(db, "tn_s", "pj_km", "ky_1", b, why) != KSM_E_OK && why[0]);
        json_decref(b);
    }
    json_t *many = json_array();
    for (int i = 0; i < 33; i++)
        json_array_append_new(many, json_sprintf("m%d", i));
    b = json_pack("{s:o}", "models", many);
    CHECK(ksm_ai_key_models_set(db, "tn_s", "pj_km", "ky_1", b, why) == KSM_E_INVALID_ARGUMENT);
    json_decref(b);
    CHECK(key_may(db, "ky_1", "tiny"));   /* nothing refused was stored */
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
    test_yen();
    test_cost();
    test_json_load();
    test_route_validation();
    test_route_crud(&db);
    test_prices(&db);
    test_policy(&db);
    test_budget(&db);
    test_key_models(&db);
    ksm_db_close(&db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
