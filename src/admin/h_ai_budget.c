/* h_ai_budget.c — /admin/v1/projects/{project}/budget: the monthly AI budget
 * (whole yen, JST month) and its alert thresholds, set or removed; GET adds the ledger's view:
 * this month's settled spend (AI and every other service), reservations in
 * flight, the thresholds crossed and those billing has recorded and notified; and a key's own cap
 * in the project (.../keys/{key}/budget) with the project's keys' spend this month (.../key-budgets).
 * The dispatcher authorises at the project. */
#include <stdint.h>
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "billing/billing_budget.h"
#include "core/util.h"
#include "iam/iam.h"
#include "template/template.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply_status(struct ksm_req *r, const char *tenant)
{
    json_t *o = NULL;
    if (ksm_ai_budget_status(DB(r), r->params[0], ksm_now_ms(), &o) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the budget");
    json_object_set_new(o, "tenant", json_string(tenant));
    /* the crossings billing has recorded (and notified) this month, spend of all services */
    json_t *alerts = json_array();
    ksm_billing_budget_alerts(DB(r), r->params[0], "", json_string_value(json_object_get(o, "month")),
                              alerts);
    json_object_set_new(o, "alerts_recorded", alerts);
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_ai_budget_put(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN], why[KSM_AI_WHY] = "";
    json_t *body = NULL;
    enum ksm_err e = ksm_h_ai_project_body(r, tenant, &body);
    if (e != KSM_E_OK)
        return e;
    /* the mandatory template's cap holds here as in a template (src/template) */
    char twhy[KSM_TPL_WHY] = "";
    json_t *yen = json_object_get(body, "monthly_yen");
    if (json_is_integer(yen) &&
        (e = ksm_tpl_check_budget(DB(r), r->params[0], json_integer_value(yen), twhy)) !=
            KSM_E_OK) {
        json_decref(body);
        return ksm_fail_why(r, e, *twhy ? twhy : NULL);
    }
    e = ksm_ai_budget_set(DB(r), tenant, r->params[0], body, why);
    json_decref(body);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    return reply_status(r, tenant);
}

enum ksm_err ksm_h_ai_budget_get(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    enum ksm_err e = ksm_h_ai_project_tenant(r, tenant);
    return e == KSM_E_OK ? reply_status(r, tenant) : e;
}

/* No budget is no limit, so a mandatory template that caps the budget refuses the removal as it
 * would refuse any amount over its cap. */
enum ksm_err ksm_h_ai_budget_delete(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN], twhy[KSM_TPL_WHY] = "";
    enum ksm_err e = ksm_h_ai_project_tenant(r, tenant);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_tpl_check_budget(DB(r), r->params[0], INT64_MAX, twhy)) != KSM_E_OK)
        return ksm_fail_why(r, e, *twhy ? twhy : NULL);
    if ((e = ksm_ai_budget_delete(DB(r), r->params[0])) != KSM_E_OK)
        return ksm_fail(r, e, "cannot remove the budget");
    return reply_status(r, tenant);
}

/* ---- a key's own cap in the project: /admin/v1/projects/{project}/keys/{key}/budget ---- */

static enum ksm_err reply_key_status(struct ksm_req *r, const char *tenant)
{
    json_t *o = NULL;
    if (ksm_ai_key_budget_status(DB(r), r->params[0], r->params[1], ksm_now_ms(), &o) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the key's budget");
    json_object_set_new(o, "tenant", json_string(tenant));
    json_t *alerts = json_array();   /* the crossings billing has recorded (and notified) */
    ksm_billing_budget_alerts(DB(r), r->params[0], r->params[1],
                              json_string_value(json_object_get(o, "month")), alerts);
    json_object_set_new(o, "alerts_recorded", alerts);
    return ksm_reply_json(r, 200, o);
}

static const struct ksm_h_ai_key_setting budget = {ksm_ai_key_budget_set, ksm_ai_key_budget_delete,
                                                   reply_key_status, "budget", "ai.budget.read"};

enum ksm_err ksm_h_ai_key_budget(struct ksm_req *r) { return ksm_h_ai_key_setting(r, &budget); }

/* Each key with a cap, a model list, rate limits or use this month, with its name, user and state
 * from IAM (a key deleted with its user since keeps its use, and says so: status "deleted"). */
enum ksm_err ksm_h_ai_key_budget_list(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    json_t *o = NULL, *it;
    size_t i;
    enum ksm_err e = ksm_h_ai_project_tenant(r, tenant);
    if (e != KSM_E_OK)
        return e;
    if (ksm_ai_key_budget_list(DB(r), r->params[0], ksm_now_ms(), &o) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the keys' budgets");
    json_array_foreach(json_object_get(o, "items"), i, it)
    {
        json_t *k = NULL;
        if (ksm_iam_key_get(DB(r), json_string_value(json_object_get(it, "key")), &k) != KSM_E_OK) {
            json_object_set_new(it, "name", json_null());
            json_object_set_new(it, "status", json_string("deleted"));
            continue;
        }
        json_object_set(it, "name", json_object_get(k, "name"));
        json_object_set(it, "user", json_object_get(k, "user"));
        json_object_set(it, "status", json_object_get(k, "status"));
        json_decref(k);
    }
    json_object_set_new(o, "tenant", json_string(tenant));
    return ksm_reply_json(r, 200, o);
}
