/* h_ai_common.c — what the AI admin handlers (h_ai_*.c) share: decoding a
 * nested JSON body with the AI store's strict rules, the node's residency rules
 * for targets, and the tenant of a project. */
#include "admin/app.h"
#include "admin/handlers.h"
#include "ai/ai_store.h"
#include "iam/iam.h"

enum ksm_err ksm_h_ai_body(struct ksm_req *r, json_t **out)
{
    char why[KSM_AI_WHY];
    enum ksm_err e = ksm_ai_json_load(r->body.data, r->body.len, out, why);
    return e == KSM_E_OK ? e : ksm_fail(r, e, "%s", why);
}

void ksm_h_ai_rules(struct ksm_req *r, struct ksm_ai_rules *rules)
{
    const struct ksm_app *app = r->worker->app;
    ksm_ai_rules_from_conf(app->conf, rules);
}

enum ksm_err ksm_h_ai_project_tenant(struct ksm_req *r, char *tenant)
{
    char project[KSM_ID_LEN];
    enum ksm_err e = ksm_iam_owner(&r->worker->db, r->params[0], tenant, project);
    return e == KSM_E_OK ? e : ksm_fail(r, e, "no such resource");
}

enum ksm_err ksm_h_ai_project_body(struct ksm_req *r, char *tenant, json_t **body)
{
    enum ksm_err e = ksm_h_ai_project_tenant(r, tenant);
    return e == KSM_E_OK ? ksm_h_ai_body(r, body) : e;
}
