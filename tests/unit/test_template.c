/* test_template.c — the template parser and the guardrail checks, without a database: what parses,
 * what is refused and with which reason (naming the place), the digest of the canonical form, and
 * each guardrail on its own. */
#include "check.h"
#include "ai/ai_store.h"
#include "template/template.h"

#include <string.h>

static char why[KSM_TPL_WHY];

static struct ksm_tpl *parse(const char *doc, enum ksm_err *e)
{
    struct ksm_tpl *t = NULL;
    *e = ksm_tpl_parse(doc, strlen(doc), &t, why);
    return t;
}

/* The error of a document that must not parse, with why containing text. */
static bool refused(const char *doc, enum ksm_err want, const char *text)
{
    enum ksm_err e;
    struct ksm_tpl *t = parse(doc, &e);
    ksm_tpl_free(t);
    if (e != want || !strstr(why, text)) {
        fprintf(stderr, "  %s -> %d \"%s\"\n", doc, (int)e, why);
        return false;
    }
    return true;
}

#define HEAD "{\"kasumi_template\":1,\"template\":\"t\","
#define PROJ(extra) HEAD "\"projects\":[{\"name\":\"p\",\"environment\":\"prod\"" extra "}]}"

static void test_tenant_template(void)
{
    enum ksm_err e;
    struct ksm_tpl *t = parse(PROJ(",\"tags\":{\"system\":\"tax\"},\"budget\":{\"monthly_yen\":5},"
                                   "\"buckets\":[{\"name\":\"tax-docs\",\"region\":\"jp-east\"}],"
                                   "\"model_routes\":[{\"alias\":\"chat\",\"targets\":[{\"provider\":"
                                   "\"openai\",\"base_url\":\"http://127.0.0.1:9/v1\","
                                   "\"jurisdiction\":\"JP\"}]}],"
                                   "\"role_bindings\":[{\"principal\":\"us_1\",\"role\":\"member\"}]"),
                              &e);
    CHECK(e == KSM_E_OK && t);
    if (!t)
        return;
    CHECK(!t->mandatory && t->nprojects == 1);
    CHECK_STR(t->projects[0].buckets[0].name, "tax-docs");
    CHECK(t->projects[0].budget_yen == 5 && t->projects[0].nroutes == 1);
    CHECK_STR(t->projects[0].routes[0].alias, "chat");
    CHECK_STR(t->projects[0].bindings[0].role, "member");
    CHECK(strlen(t->digest) == 64);
    /* the same document with its keys in another order and other spacing: the same digest */
    struct ksm_tpl *u = parse("{ \"template\":\"t\", \"kasumi_template\":1 }", &e);
    struct ksm_tpl *v = parse("{\"kasumi_template\":1,\"template\":\"t\"}", &e);
    CHECK(u && v && !strcmp(u->digest, v->digest) && strcmp(u->digest, t->digest));
    ksm_tpl_free(u);
    ksm_tpl_free(v);
    ksm_tpl_free(t);
}

static void test_refusals(void)
{
    CHECK(refused("{", KSM_E_INVALID_JSON, "not valid JSON"));
    CHECK(refused("[]", KSM_E_INVALID_ARGUMENT, "must be an object"));
    CHECK(refused("{\"template\":\"t\"}", KSM_E_INVALID_ARGUMENT, "kasumi_template is required"));
    CHECK(refused("{\"kasumi_template\":2,\"template\":\"t\"}", KSM_E_INVALID_ARGUMENT, "must be 1"));
    CHECK(refused(HEAD "\"template\":\"u\"}", KSM_E_INVALID_JSON, "duplicate"));
    CHECK(refused("{\"kasumi_template\":1,\"template\":\"Bad Name\"}", KSM_E_INVALID_ARGUMENT,
                  "template must be"));
    CHECK(refused(PROJ(",\"colour\":1"), KSM_E_UNKNOWN_FIELD, "projects[0]: unknown field \"colour\""));
    CHECK(refused(PROJ(",\"buckets\":[{\"name\":\"ok-name\"},{\"name\":\"Bad_Name\"}]"),
                  KSM_E_INVALID_ARGUMENT, "projects[0].buckets[1].name is not a valid bucket name"));
    CHECK(refused(PROJ(",\"role_bindings\":[{\"principal\":\"us_1\",\"role\":\"platform_admin\"}]"),
                  KSM_E_INVALID_ARGUMENT, "bound at a project"));
    CHECK(refused(PROJ(",\"budget\":{\"monthly_yen\":-1}"), KSM_E_INVALID_ARGUMENT, "monthly_yen"));
    CHECK(refused(PROJ(",\"model_routes\":[{\"alias\":\"x\"}]"), KSM_E_INVALID_ARGUMENT,
                  "model_routes[0]"));
    CHECK(refused(HEAD "\"projects\":[{\"name\":\"p\",\"environment\":\"test\"}]}",
                  KSM_E_INVALID_ARGUMENT, "environment must be"));
    CHECK(refused(HEAD "\"projects\":[{\"name\":\"p\",\"environment\":\"dev\"},"
                       "{\"name\":\"p\",\"environment\":\"dev\"}]}",
                  KSM_E_INVALID_ARGUMENT, "repeats"));
    /* a mandatory template names no tenant or projects; its defaults keep its own guardrails */
    CHECK(refused(HEAD "\"tenant\":\"tn_1\",\"guardrails\":{}}", KSM_E_INVALID_ARGUMENT,
                  "names no tenant"));
    CHECK(refused(HEAD "\"guardrails\":{\"max_monthly_yen\":10},"
                       "\"project_defaults\":{\"budget\":{\"monthly_yen\":11}}}",
                  KSM_E_INVALID_ARGUMENT, "caps"));
    CHECK(refused(HEAD "\"guardrails\":{},\"project_defaults\":{\"name\":\"p\"}}",
                  KSM_E_UNKNOWN_FIELD, "unknown field"));
    CHECK(refused(HEAD "\"guardrails\":{\"pii_output\":[\"mynumber\",\"ssn\"]}}",
                  KSM_E_INVALID_ARGUMENT, "guardrails.pii_output must name kinds"));
    CHECK(refused(HEAD "\"guardrails\":{\"pii_output\":[\"card\"]},\"project_defaults\":"
                       "{\"ai_policy\":{\"pii_output\":{\"card\":\"allow\"}}}}",
                  KSM_E_INVALID_ARGUMENT, "pii_output.card must be \"mask\""));
    CHECK(refused("{\"kasumi_template\":1,\"template\":\"t\",\"x\":\"\\u0000\"}",
                  KSM_E_INVALID_JSON, "not valid JSON"));
}

static void test_guardrails(void)
{
    enum ksm_err e;
    struct ksm_tpl *t = parse(HEAD "\"guardrails\":{\"required_tags\":[\"system\",\"cost_center\"],"
                                   "\"allowed_regions\":[\"jp-east\"],\"max_monthly_yen\":100,"
                                   "\"class2_overseas\":false}}",
                              &e);
    CHECK(e == KSM_E_OK && t && t->mandatory);
    if (!t)
        return;
    const struct ksm_tpl_guardrails *g = &t->guard;
    json_t *ok = json_pack("{s:s,s:s}", "system", "tax", "cost_center", "CC-1");
    json_t *missing = json_pack("{s:s}", "system", "tax");
    json_t *empty = json_pack("{s:s,s:s}", "system", "tax", "cost_center", "");
    CHECK(ksm_tpl_guard_tags(g, ok, why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_tags(g, missing, why) == KSM_E_GUARDRAIL && strstr(why, "cost_center"));
    CHECK(ksm_tpl_guard_tags(g, empty, why) == KSM_E_GUARDRAIL);
    CHECK(ksm_tpl_guard_region(g, "jp-east", why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_region(g, "jp-west", why) == KSM_E_GUARDRAIL && strstr(why, "jp-west"));
    CHECK(ksm_tpl_guard_budget(g, 100, why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_budget(g, 101, why) == KSM_E_GUARDRAIL && strstr(why, "100 yen"));
    CHECK(ksm_tpl_guard_overseas(g, false, why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_overseas(g, true, why) == KSM_E_GUARDRAIL);
    /* no guardrails (an unattached project) allow everything */
    CHECK(ksm_tpl_guard_tags(NULL, missing, why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_region(NULL, "anywhere", why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_budget(NULL, 1000000, why) == KSM_E_OK);
    CHECK(ksm_tpl_guard_overseas(NULL, true, why) == KSM_E_OK);
    json_decref(ok);
    json_decref(missing);
    json_decref(empty);
    ksm_tpl_free(t);
    /* "class2_overseas": true or absent leaves the decision to the tenant */
    t = parse(HEAD "\"guardrails\":{\"class2_overseas\":true}}", &e);
    CHECK(t && ksm_tpl_guard_overseas(&t->guard, true, why) == KSM_E_OK);
    ksm_tpl_free(t);
    /* "pii_output": kinds every attached project redacts from model output; a policy that lets
     * one through is refused, and raising it redacts exactly those kinds */
    t = parse(HEAD "\"guardrails\":{\"pii_output\":[\"mynumber\",\"card\"]}}", &e);
    CHECK(e == KSM_E_OK && t);
    if (!t)
        return;
    struct ksm_ai_policy p;
    ksm_ai_policy_defaults(&p);
    CHECK(ksm_tpl_guard_ai_policy(&t->guard, &p, why) == KSM_E_GUARDRAIL && strstr(why, "mynumber"));
    CHECK(ksm_tpl_raise_ai_policy(&t->guard, &p));
    CHECK(p.pii_output[0] == KSM_AI_PII_MASK && p.pii_output[3] == KSM_AI_PII_MASK &&
          p.pii_output[1] == KSM_AI_PII_ALLOW);
    CHECK(ksm_tpl_guard_ai_policy(&t->guard, &p, why) == KSM_E_OK);
    CHECK(!ksm_tpl_raise_ai_policy(&t->guard, &p));   /* already there: nothing to write */
    p.pii_output[3] = KSM_AI_PII_ALLOW;
    CHECK(ksm_tpl_guard_ai_policy(&t->guard, &p, why) == KSM_E_GUARDRAIL && strstr(why, "card"));
    CHECK(ksm_tpl_guard_ai_policy(NULL, &p, why) == KSM_E_OK);
    ksm_tpl_free(t);
    /* "unscanned_content": "refuse": no attached project sends unreadable content unread; a policy
     * that does is refused, and raising it refuses again; any other value is not a guardrail */
    t = parse(HEAD "\"guardrails\":{\"unscanned_content\":\"refuse\"}}", &e);
    CHECK(e == KSM_E_OK && t && t->guard.unscanned_refused);
    if (!t)
        return;
    ksm_ai_policy_defaults(&p);
    CHECK(ksm_tpl_guard_ai_policy(&t->guard, &p, why) == KSM_E_OK);
    p.unscanned = KSM_AI_UNSCANNED_JAPAN;
    CHECK(ksm_tpl_guard_ai_policy(&t->guard, &p, why) == KSM_E_GUARDRAIL &&
          strstr(why, "unscanned_content"));
    CHECK(ksm_tpl_raise_ai_policy(&t->guard, &p) && p.unscanned == KSM_AI_UNSCANNED_REFUSE);
    CHECK(!ksm_tpl_raise_ai_policy(&t->guard, &p));
    ksm_tpl_free(t);
    t = parse(HEAD "\"guardrails\":{\"unscanned_content\":\"allow_in_japan\"}}", &e);
    CHECK(!t && e == KSM_E_INVALID_ARGUMENT);
    ksm_tpl_free(t);
    t = parse(HEAD "\"guardrails\":{\"unscanned_content\":\"refuse\"},\"project_defaults\":"
                   "{\"ai_policy\":{\"unscanned_content\":\"allow_in_japan\"}}}", &e);
    CHECK(!t && e == KSM_E_INVALID_ARGUMENT);   /* its own defaults would break it */
    ksm_tpl_free(t);
    /* without the guardrail a project may choose either */
    t = parse(HEAD "\"guardrails\":{}}", &e);
    CHECK(t && !t->guard.unscanned_refused && ksm_tpl_guard_ai_policy(&t->guard, &p, why) == KSM_E_OK);
    ksm_tpl_free(t);
}

int main(void)
{
    test_tenant_template();
    test_refusals();
    test_guardrails();
    return CHECK_DONE();
}
