/* ai_policy_check.c — what the guardrail would do with a text, for the administrator who writes the
 * policy (POST /admin/v1/projects/{project}/ai-policy/check): the class applied (the given one, or
 * the project's default, raised by a 機密性 marking when markings are on), the decision, the counts
 * by kind and the text as a model would get it; and, under "output", the same text as the caller
 * would get it were a model to write it (the pii_output rules). Nothing is sent, kept or logged:
 * the guardrail's own rules (ksm_ai_default_class, ksm_ai_class_refusal, ksm_ai_pii_policy,
 * ksm_pii_mask, ksm_ai_block_reason, ksm_ai_output_rules, ksm_pii_redact), on one text. */
#include "ai/ai_int.h"

#include <string.h>

#include "core/util.h"

static json_t *counts_json(const unsigned counts[KSM_PII__COUNT])
{
    json_t *o = json_object();
    for (int k = 0; k < KSM_PII__COUNT; k++)
        if (counts[k])
            json_object_set_new(o, ksm_pii_kind_name((enum ksm_pii_kind)k), json_integer(counts[k]));
    return o;
}

/* {"redacted": {kind: n}, "text": …}: a model's answer of that text, after pii_output. */
static json_t *as_output(const struct ksm_ai_policy *pol, const char *text, size_t len)
{
    enum ksm_pii_action act[KSM_PII__COUNT];
    ksm_ai_output_rules(pol, act);
    struct ksm_buf out = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    ksm_pii_redact(act, text, len, &out, counts);
    json_t *o = json_pack("{s:o,s:s%}", "redacted", counts_json(counts), "text",
                          out.data ? out.data : "", out.len);
    ksm_buf_free(&out);
    return o;
}

json_t *ksm_ai_policy_check(const struct ksm_ai_policy *pol, enum ksm_env_kind env, const char *text,
                            size_t len, int classification, bool overseas)
{
    int marked = pol->markings ? ksm_ai_marking(text, len) : 0;
    int cls = classification ? classification : ksm_ai_default_class(pol, env);
    cls = marked > cls ? marked : cls;
    struct ksm_pii_policy p;
    struct ksm_pii_term terms[KSM_AI_MAX_TERMS];
    ksm_ai_pii_policy(pol, cls, overseas, &p, terms);
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_buf out = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    enum ksm_pii_kind kind = KSM_PII_MYNUMBER;
    const char *message, *reason = ksm_ai_class_refusal(pol, cls, overseas);
    bool blocked = ksm_pii_mask(m, &p, text, len, &out, counts, &kind) == KSM_PII_BLOCKED;
    const char *decision = reason ? "refuse" : blocked ? "block" : ksm_pii_masker_size(m) ? "mask" : "pass";
    if (!reason && blocked)
        reason = ksm_ai_block_reason(KSM_AI_SEAL_NONE, kind, &message);
    json_t *o = json_pack("{s:i,s:i,s:s,s:s?,s:o,s:o}", "classification", cls, "marked", marked,
                          "decision", decision, "reason", reason, "masked", counts_json(counts),
                          "output", as_output(pol, text, len));
    json_t *t = reason ? NULL : json_stringn(out.data ? out.data : "", out.len);
    json_object_set_new(o, "text", t ? t : json_null());
    ksm_buf_free(&out);
    ksm_pii_masker_free(m);
    return o;
}
