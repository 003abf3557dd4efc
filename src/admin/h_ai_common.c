/* h_ai_common.c — what the AI admin handlers (h_ai_*.c) share: decoding a
 * nested JSON body with the AI store's strict rules, the node's residency rules
 * for targets, the tenant of a project, and an API key that may act in it. */
#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "iam/iam.h"

#include <string.h>

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

/* The key may act in the project: an API key of the project's tenant, narrowed to this project or
 * to none. Anything else is "no such key" here, as another tenant's key would be. read_perm (GET;
 * NULL when the dispatcher authorised already): the project's readers, or the key's own user
 * (key.self, as GET /admin/v1/keys/{key} lets a user read its own keys) — a caller told that its
 * key's budget is spent, or that it may not use a model, can look up its cap, spend and list
 * itself; setting them stays the project administrators'. That is decided before anything about
 * the key is answered. */
static enum ksm_err key_of_project(struct ksm_req *r, const char *read_perm, char *tenant)
{
    char project[KSM_ID_LEN];
    r->audit_target = r->params[1];   /* the key, refused or not; the record's project is the project */
    enum ksm_err e = ksm_iam_owner(&r->worker->db, r->params[0], tenant, project);
    if (e == KSM_E_OK && !project[0])
        e = KSM_E_NOT_FOUND;   /* {project} names a tenant */
    if (e != KSM_E_OK)
        return ksm_fail(r, e, "no such resource");
    json_t *k = NULL;
    enum ksm_err ke = ksm_iam_key_get(&r->worker->db, r->params[1], &k);
    const char *kt = json_string_value(json_object_get(k, "tenant")),
               *kp = json_string_value(json_object_get(k, "project")),
               *kind = json_string_value(json_object_get(k, "kind")),
               *user = json_string_value(json_object_get(k, "user"));
    bool own = r->principal && user && !strcmp(user, r->principal->user_id);
    bool ok = ke == KSM_E_OK && kt && !strcmp(kt, tenant) && (!kp || !strcmp(kp, r->params[0])) &&
              kind && !strcmp(kind, "api");
    json_decref(k);
    if (read_perm && (e = ksm_authorize(r, own ? "key.self" : read_perm, tenant, project)) != KSM_E_OK)
        return e;
    if (ok)
        return KSM_E_OK;
    return ke == KSM_E_OK || ke == KSM_E_NOT_FOUND
               ? ksm_fail(r, KSM_E_NOT_FOUND, "no such API key in this project")
               : ksm_fail(r, ke, "cannot read the key");
}

enum ksm_err ksm_h_ai_key_setting(struct ksm_req *r, const struct ksm_h_ai_key_setting *s)
{
    char tenant[KSM_ID_LEN], why[KSM_AI_WHY] = "";
    json_t *body = NULL;
    enum ksm_err e = key_of_project(r, !strcmp(r->method_name, "GET") ? s->read_perm : NULL, tenant);
    if (e != KSM_E_OK)
        return e;
    if (!strcmp(r->method_name, "PUT")) {
        if ((e = ksm_h_ai_body(r, &body)) != KSM_E_OK)
            return e;
        e = s->set(&r->worker->db, tenant, r->params[0], r->params[1], body, why);
        json_decref(body);
        if (e != KSM_E_OK)
            return ksm_fail_why(r, e, *why ? why : NULL);
    } else if (!strcmp(r->method_name, "DELETE") &&
               (e = s->del(&r->worker->db, r->params[0], r->params[1])) != KSM_E_OK) {
        return ksm_fail(r, e, "cannot remove the key's %s", s->what);
    }
    return s->reply(r, tenant);
}
