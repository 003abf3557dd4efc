/* ai_policy_check.c — what the guardrail would do with a text, for the administrator who writes the
 * policy (POST /admin/v1/projects/{project}/ai-policy/check): the class applied (the given one, or
 * the project's default, raised by a 機密性 marking when markings are on), the decision, the counts
 * by kind and the text as a model would get it. Nothing is sent, kept or logged: the same rules as
 * a request's (ksm_ai_pii_policy, ksm_pii_mask), on one text. */
#include "ai/ai_int.h"

#include <string.h>

#include "core/util.h"

json_t *ksm_ai_policy_check(const struct ksm_ai_policy *pol, const char *text, size_t len,
                            int classification, bool overseas)
{
    int marked = pol->markings ? ksm_ai_marking(text, len) : 0;
    int cls = classification ? classification : pol->default_classification ? pol->default_classification : 2;
    cls = marked > cls ? marked : cls;
    struct ksm_pii_policy p;
    struct ksm_pii_term terms[KSM_AI_MAX_TERMS];
    ksm_ai_pii_policy(pol, cls, overseas, &p, terms);
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_buf out = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    enum ksm_pii_kind why = KSM_PII_MYNUMBER;
    bool blocked = ksm_pii_mask(m, &p, text, len, &out, counts, &why) == KSM_PII_BLOCKED;
    /* where the request would go at all: 機密性3 never abroad, 2 only where the tenant allowed it */
    bool refused = overseas && (cls == 3 || (cls == 2 && !pol->class2_overseas));
    if (pol->class3_forbidden && cls == 3)
        refused = true;
    json_t *masked = json_object();
    for (int k = 0; k < KSM_PII__COUNT; k++)
        if (counts[k])
            json_object_set_new(masked, ksm_pii_kind_name((enum ksm_pii_kind)k), json_integer(counts[k]));
    const char *decision = refused ? "refuse" : blocked ? "block" : ksm_pii_masker_size(m) ? "mask" : "pass";
    const char *reason = refused ? (cls == 3 ? "class3" : "class2_not_allowed_overseas")
                         : blocked ? (why == KSM_PII_TERM ? "term_blocked" : "pii_blocked")
                                   : NULL;
    json_t *o = json_pack("{s:i,s:i,s:s,s:s?,s:o}", "classification", cls, "marked", marked,
                          "decision", decision, "reason", reason, "masked", masked);
    json_t *t = blocked || refused ? NULL : json_stringn(out.data ? out.data : "", out.len);
    json_object_set_new(o, "text", t ? t : json_null());
    ksm_buf_free(&out);
    ksm_pii_masker_free(m);
    return o;
}
