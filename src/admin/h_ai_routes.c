/* h_ai_routes.c — model routes: /admin/v1/projects/{project}/model-routes (the
 * dispatcher authorises at the project) and /admin/v1/model-routes/{route}. The
 * latter are AUTH-scoped rows that authorise here, as h_keys.c does: the
 * dispatcher's OBJECT scope resolves owners through ksm_iam_owner, whose table
 * is IAM's, and src/iam must not learn about src/ai. A route id of another
 * tenant and a random id answer the same 404. credential_ref comes back as the
 * path given, never the secret. */
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

/* A residency refusal (SPEC.md B2, O4) is audited with its reason. */
static enum ksm_err reply(struct ksm_req *r, int status, enum ksm_err e, json_t *o, const char *why,
                          bool refused_abroad)
{
    if (refused_abroad)
        r->audit_reason = "upstream_jurisdiction_not_allowed";
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why && *why ? why : NULL);
    ksm_req_audit(r, NULL, NULL, json_string_value(json_object_get(o, "id")));
    return ksm_reply_json(r, status, o);
}

enum ksm_err ksm_h_ai_route_create(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN], why[KSM_AI_WHY] = "";
    struct ksm_ai_rules rules;
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = ksm_h_ai_project_body(r, tenant, &body);
    if (e != KSM_E_OK)
        return e;
    bool refused = false;
    ksm_h_ai_rules(r, &rules);
    rules.refused_abroad = &refused;
    e = ksm_ai_route_create(DB(r), tenant, r->params[0], body, &rules, &o, why);
    json_decref(body);
    return reply(r, 201, e, o, why, refused);
}

enum ksm_err ksm_h_ai_route_list(struct ksm_req *r)
{
    return ksm_reply_owner_list(r, ksm_ai_route_list, false);
}

/* Finds the route's project and authorises perm there; on failure the reply is
 * set. */
static enum ksm_err route_access(struct ksm_req *r, const char *perm)
{
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    enum ksm_err e = ksm_ai_route_owner(DB(r), r->params[0], tenant, project);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, tenant, project, r->params[0]);
    return ksm_authorize(r, perm, tenant, project);
}

enum ksm_err ksm_h_ai_route_get(struct ksm_req *r)
{
    json_t *o = NULL;
    enum ksm_err e = route_access(r, "ai.route.read");
    if (e != KSM_E_OK)
        return e;
    e = ksm_ai_route_get(DB(r), r->params[0], &o);
    return reply(r, 200, e, o, NULL, false);
}

enum ksm_err ksm_h_ai_route_update(struct ksm_req *r)
{
    char why[KSM_AI_WHY] = "";
    struct ksm_ai_rules rules;
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = route_access(r, "ai.route.write");
    if (e == KSM_E_OK)
        e = ksm_h_ai_body(r, &body);
    if (e != KSM_E_OK)
        return e;
    bool refused = false;
    ksm_h_ai_rules(r, &rules);
    rules.refused_abroad = &refused;
    e = ksm_ai_route_update(DB(r), r->params[0], body, &rules, &o, why);
    json_decref(body);
    return reply(r, 200, e, o, why, refused);
}

enum ksm_err ksm_h_ai_route_delete(struct ksm_req *r)
{
    enum ksm_err e = route_access(r, "ai.route.write");
    if (e == KSM_E_OK && (e = ksm_ai_route_delete(DB(r), r->params[0])) != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    if (e != KSM_E_OK)
        return e;
    return ksm_reply_json(r, 200, json_pack("{s:s,s:b}", "id", r->params[0], "deleted", 1));
}
