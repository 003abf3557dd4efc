/* h_ai_policy.c — /admin/v1/projects/{project}/ai-policy. PUT applies the given
 * fields over the current policy (or the defaults). Letting 機密性2 leave Japan
 * is the tenant administrator's decision (SPEC.md O4): turning class2_overseas
 * on needs ai.policy.overseas as well, a permission project administrators do
 * not hold; turning it off needs only ai.policy.write. */
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "core/util.h"
#include "iam/iam.h"
#include "template/template.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply(struct ksm_req *r, const char *tenant, const struct ksm_ai_policy *p)
{
    json_t *o = ksm_ai_policy_json(p);
    json_object_set_new(o, "project", json_string(r->params[0]));
    json_object_set_new(o, "tenant", json_string(tenant));
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_ai_policy_put(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN], why[KSM_AI_WHY] = "";
    struct ksm_ai_policy cur, next;
    json_t *body = NULL;
    enum ksm_err e = ksm_h_ai_project_body(r, tenant, &body);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_ai_policy_get(DB(r), r->params[0], &cur)) != KSM_E_OK) {
        e = ksm_fail_why(r, e, NULL);
        goto fail;
    }
    if ((e = ksm_ai_policy_merge(&cur, body, &next, why)) != KSM_E_OK) {
        e = ksm_fail_why(r, e, why);
        goto fail;
    }
    if (next.class2_overseas && !cur.class2_overseas &&
        (e = ksm_authorize(r, "ai.policy.overseas", tenant, r->params[0])) != KSM_E_OK)
        goto fail;
    /* the mandatory template may forbid it, or require output redaction, for every tenant */
    char twhy[KSM_TPL_WHY] = "";
    if ((next.class2_overseas &&
         (e = ksm_tpl_check_overseas(DB(r), r->params[0], true, twhy)) != KSM_E_OK) ||
        (e = ksm_tpl_check_ai_policy(DB(r), r->params[0], &next, twhy)) != KSM_E_OK) {
        e = ksm_fail_why(r, e, *twhy ? twhy : NULL);
        goto fail;
    }
    if ((e = ksm_ai_policy_put(DB(r), tenant, r->params[0], &next)) != KSM_E_OK) {
        e = ksm_fail_why(r, e, NULL);
        goto fail;
    }
    e = reply(r, tenant, &next);
fail:
    json_decref(body);
    return e;
}

enum ksm_err ksm_h_ai_policy_get(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    struct ksm_ai_policy p;
    enum ksm_err e = ksm_h_ai_project_tenant(r, tenant);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_ai_policy_get(DB(r), r->params[0], &p)) != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    return reply(r, tenant, &p);
}

/* POST …/ai-policy/check {"text", "classification"?, "overseas"?}: what the project's guardrail
 * would do with that text (ksm_ai_policy_check), for an administrator writing its rules and terms.
 * Nothing is sent to a model, kept or logged; the audit records the check, not the text. */
enum ksm_err ksm_h_ai_policy_check(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    struct ksm_ai_policy p;
    const char *text = NULL;
    int64_t cls = 0;
    bool abroad = false;
    const struct ksm_jfield spec[] = {{"text", KSM_J_STRING, true, &text, NULL},
                                      {"classification", KSM_J_INT, false, &cls, NULL},
                                      {"overseas", KSM_J_BOOL, false, &abroad, NULL}};
    enum ksm_err e = ksm_h_ai_project_tenant(r, tenant);
    if (e == KSM_E_OK)
        e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (cls && (cls < 1 || cls > 3))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "classification must be 1, 2 or 3");
    if ((e = ksm_ai_policy_get(DB(r), r->params[0], &p)) != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    const struct ksm_app *app = r->worker->app;
    json_t *o = ksm_ai_policy_check(&p, app->conf->env_kind, text, strlen(text), (int)cls, abroad);
    return o ? ksm_reply_json(r, 200, o) : ksm_fail(r, KSM_E_INTERNAL, NULL);
}
