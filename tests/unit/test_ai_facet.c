/* test_ai_facet.c — what the audit index counts an AI record under (ai/ai_facet.c): a decision
 * record by class, decision, project, principal, whether it carried content sent unread, and
 * model (a marking between class and decision too); a request's own record by class, jurisdictions and project; anything else not at all; a
 * separator inside a value cannot shift the fields. */
#include "ai/ai_facet.h"
#include "check.h"

#include <string.h>

static bool facet(const char *action, const char *detail, const char *project, const char *target,
                  char *out, size_t cap)
{
    struct ksm_buf b = KSM_BUF_INIT;
    struct ksm_audit_rec r = {.principal = "us_1", .tenant = "tn_1", .project = project,
                              .action = action, .target = target, .detail = detail};
    bool ok = ksm_ai_audit_facet(&r, &b);
    snprintf(out, cap, "%.*s", (int)b.len, b.data ? b.data : "");
    ksm_buf_free(&b);
    return ok;
}

static void test_decision(void)
{
    char f[256];
    const char *v[KSM_AI_FACET_MAX_FIELDS];
    CHECK(facet("ai.decision", "class=2 decision=mask masked=phone:1 prompt_hmac=ab targets=1",
                "pj_1", "chat", f, sizeof f));
    CHECK_STR(f, "d\x1f" "2\x1fmask\x1fpj_1\x1fus_1\x1f-\x1f" "chat");
    CHECK(ksm_ai_facet_split(f, v, 7) == 7);
    CHECK_STR(v[0], "d");
    CHECK_STR(v[2], "mask");
    CHECK_STR(v[5], "-");
    CHECK_STR(v[6], "chat");
    /* a request whose image went unread to a server in Japan */
    CHECK(facet("ai.decision", "class=2 decision=pass masked=- unscanned=1 prompt_hmac=ab targets=1",
                "pj_1", "chat", f, sizeof f));
    CHECK_STR(f, "d\x1f" "2\x1fpass\x1fpj_1\x1fus_1\x1fu\x1f" "chat");
    CHECK(facet("ai.decision", "class=3 marked=3 decision=refuse reason=class3_abroad", NULL, NULL, f,
                sizeof f));
    CHECK_STR(f, "d\x1f" "3\x1frefuse\x1f-\x1fus_1\x1f-\x1f-");
    /* a model alias holding the separator: still six fields, the alias last */
    CHECK(facet("ai.decision", "class=1 decision=pass", "pj_1", "a\x1fz", f, sizeof f));
    CHECK(ksm_ai_facet_split(f, v, 7) == 7);
    CHECK_STR(v[6], "a?z");
    CHECK(!facet("ai.decision", "class=4 decision=pass", "pj_1", "chat", f, sizeof f));
    CHECK(!facet("ai.decision", "class=22 decision=pass", "pj_1", "chat", f, sizeof f));
    CHECK(!facet("ai.decision", "decision=pass", "pj_1", "chat", f, sizeof f));
    CHECK(!facet("ai.decision", NULL, "pj_1", "chat", f, sizeof f));
}

static void test_sent(void)
{
    char f[256];
    const char *v[KSM_AI_FACET_MAX_FIELDS];
    CHECK(facet("ai.chat", " class=3 sent_to=JP", "pj_1", "chat", f, sizeof f));
    CHECK_STR(f, "s\x1f" "3\x1fJP\x1fpj_1");
    CHECK(facet("ai.messages", "upstream_error status=502 class=1 sent_to=US,JP", "pj_2", "m", f,
                sizeof f));
    CHECK_STR(f, "s\x1f" "1\x1fUS,JP\x1fpj_2");
    CHECK(ksm_ai_facet_split(f, v, 4) == 4);
    CHECK_STR(v[2], "US,JP");
    CHECK(!facet("ai.chat", "rate_limited", "pj_1", "chat", f, sizeof f));   /* sent nowhere */
    CHECK(!facet("ai.chat", " class=2 sent_to=", "pj_1", "chat", f, sizeof f));
    CHECK(!facet("object.get", " class=2 sent_to=JP", "pj_1", "chat", f, sizeof f));
    CHECK(!facet(NULL, " class=2 sent_to=JP", "pj_1", "chat", f, sizeof f));
}

int main(void)
{
    test_decision();
    test_sent();
    return CHECK_DONE();
}
