/* h_templates.c — templates (docs/templates.md): validate, plan and apply a tenant's template
 * (/admin/v1/tenants/{tenant}/templates/...), its versions, a project's template state and detaching
 * it, and the platform operator's mandatory template. A plan or apply that finds drift writes one
 * "template.drift" finding per drifted resource to the audit log. */
#include <stdio.h>
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "iam/iam.h"
#include "template/template.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err parse_body(struct ksm_req *r, struct ksm_tpl **t)
{
    char why[KSM_TPL_WHY];
    enum ksm_err e = ksm_tpl_parse(r->body.data ? r->body.data : "", r->body.len, t, why);
    return e == KSM_E_OK ? e : ksm_fail(r, e, "%s", why);
}

/* One audit finding per drifted resource: metadata only (kind, key, the fields that differ). */
static void audit_drift(struct ksm_req *r, json_t *plan)
{
    const struct ksm_app *app = r->worker->app;
    size_t i, k;
    json_t *c, *f;
    json_array_foreach(json_object_get(plan, "changes"), i, c)
    {
        if (!json_is_true(json_object_get(c, "drift")))
            continue;
        char detail[200] = "drift:", target[300];
        json_array_foreach(json_object_get(c, "drift_fields"), k, f)
        {
            size_t n = strlen(detail);
            snprintf(detail + n, sizeof detail - n, "%s%s", k ? "," : "",
                     json_string_value(json_object_get(f, "field")));
        }
        snprintf(target, sizeof target, "%s:%s", json_string_value(json_object_get(c, "kind")),
                 json_string_value(json_object_get(c, "key")));
        const char *project = json_string_value(json_object_get(c, "project"));
        struct ksm_audit_rec rec = {
            .request_id = r->id,
            .principal = r->principal ? r->principal->user_id : "system",
            .tenant = r->params[0],
            .project = project && *project ? project : NULL,
            .source = r->peer,
            .action = "template.drift",
            .target = target,
            .outcome = "finding",
            .status = 0,
            .detail = detail,
        };
        ksm_audit_submit(app->audit, &rec, NULL, NULL, NULL);
    }
}

static void env_of(struct ksm_req *r, struct ksm_ai_rules *rules, struct ksm_tpl_env *env)
{
    const struct ksm_app *app = r->worker->app;
    ksm_h_ai_rules(r, rules);
    env->store = app->store;
    env->ai_rules = rules;
    env->actor = r->principal ? r->principal->user_id : "";
}

enum ksm_err ksm_h_template_validate(struct ksm_req *r)
{
    struct ksm_tpl *t = NULL;
    enum ksm_err e = parse_body(r, &t);
    if (e != KSM_E_OK)
        return e;
    if (t->mandatory || (t->tenant && strcmp(t->tenant, r->params[0]))) {
        ksm_tpl_free(t);
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s",
                        "a tenant's template names this tenant (or none) and no guardrails");
    }
    json_t *o = json_pack("{s:b,s:s,s:s,s:i}", "valid", 1, "template", t->name, "digest",
                          t->digest, "projects", t->nprojects);
    ksm_tpl_free(t);
    return ksm_reply_json(r, 200, o);
}

/* Apply acts through the stores' C APIs, past the routes that would check each permission: the
 * caller must hold, in the tenant, every permission the same changes need by hand, and be able to
 * grant each role the document binds. template.apply alone never escalates. */
static enum ksm_err authorize_doc(struct ksm_req *r, const struct ksm_tpl *t)
{
    const char *tenant = r->params[0];
    enum ksm_err e = KSM_E_OK;
    for (int i = 0; i < t->nprojects && e == KSM_E_OK; i++) {
        const struct ksm_tpl_project *p = &t->projects[i];
        const char *need[8];
        int n = 0;
        need[n++] = "project.create";
        need[n++] = "project.update";
        if (p->budget)
            need[n++] = "ai.budget.write";
        if (p->ai_policy)
            need[n++] = "ai.policy.write";
        if (json_is_true(json_object_get(p->ai_policy, "class2_overseas")))
            need[n++] = "ai.policy.overseas";
        if (p->nbuckets)
            need[n++] = "s3.bucket.create";
        if (p->nroutes)
            need[n++] = "ai.route.write";
        if (p->nbindings)
            need[n++] = "binding.create";
        for (int k = 0; k < n && e == KSM_E_OK; k++)
            e = ksm_authorize(r, need[k], tenant, NULL);
        for (int k = 0; k < p->nbindings && e == KSM_E_OK; k++)
            if ((e = ksm_iam_can_grant(DB(r), r->principal, p->bindings[k].role, tenant, NULL)) !=
                KSM_E_OK)
                e = ksm_fail(r, KSM_E_FORBIDDEN, "binding the role %s needs its permissions",
                             p->bindings[k].role);
    }
    return e;
}

/* plan and apply share everything but the last call */
static enum ksm_err plan_or_apply(struct ksm_req *r, bool apply)
{
    struct ksm_tpl *t = NULL;
    struct ksm_ai_rules rules;
    struct ksm_tpl_env env;
    char why[KSM_TPL_WHY] = "";
    json_t *out = NULL;
    enum ksm_err e = parse_body(r, &t);
    if (e != KSM_E_OK)
        return e;
    env_of(r, &rules, &env);
    if (apply && (e = authorize_doc(r, t)) != KSM_E_OK) {
        ksm_tpl_free(t);
        return e;
    }
    e = apply ? ksm_tpl_apply(DB(r), &env, r->params[0], t, &out, why)
              : ksm_tpl_plan(DB(r), &env, r->params[0], t, &out, why);
    if (e == KSM_E_OK)
        ksm_req_audit(r, r->params[0], NULL, t->name);
    ksm_tpl_free(t);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    audit_drift(r, out);
    return ksm_reply_json(r, 200, out);
}

enum ksm_err ksm_h_template_plan(struct ksm_req *r) { return plan_or_apply(r, false); }

enum ksm_err ksm_h_template_apply(struct ksm_req *r) { return plan_or_apply(r, true); }

enum ksm_err ksm_h_template_versions(struct ksm_req *r)
{
    json_t *items = json_array();
    if (ksm_tpl_version_list(DB(r), r->params[0], ksm_req_query(r, "name"), items) != KSM_E_OK) {
        json_decref(items);
        return ksm_fail(r, KSM_E_INTERNAL, "cannot list template versions");
    }
    return ksm_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

enum ksm_err ksm_h_project_template_get(struct ksm_req *r)
{
    json_t *o = NULL;
    if (ksm_tpl_project_info(DB(r), r->params[0], &o) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the project's templates");
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_project_template_detach(struct ksm_req *r)
{
    char why[KSM_TPL_WHY] = "";
    json_t *o = NULL;
    enum ksm_err e = ksm_tpl_detach(DB(r), r->params[0], &o, why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    return ksm_reply_json(r, 200, o);
}

/* The operator's mandatory template: every new project is attached to the current version. */
enum ksm_err ksm_h_mandatory_template_put(struct ksm_req *r)
{
    struct ksm_tpl *t = NULL;
    int version;
    bool is_new;
    enum ksm_err e = parse_body(r, &t);
    if (e != KSM_E_OK)
        return e;
    if (!t->mandatory) {
        ksm_tpl_free(t);
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s",
                        "a mandatory template has guardrails (and names no tenant or projects)");
    }
    int raised = 0;
    e = ksm_tpl_mandatory_set(DB(r), t, r->principal->user_id, &version, &is_new);
    if (e == KSM_E_OK)   /* (again on a retry: a failure part way leaves the rest to raise) */
        e = ksm_tpl_raise_attached(DB(r), t, &raised);
    json_t *o = json_pack("{s:s,s:i,s:b,s:s,s:i}", "template", t->name, "version", version,
                          "new_version", is_new, "digest", t->digest, "policies_raised", raised);
    r->audit_target = ksm_arena_strdup(r->arena, t->name);
    ksm_tpl_free(t);
    if (e != KSM_E_OK) {
        json_decref(o);
        return ksm_fail(r, e, "cannot record the template, or raise the attached projects' AI "
                              "policies to it (setting it again finishes)");
    }
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_mandatory_template_get(struct ksm_req *r)
{
    struct ksm_tpl *t = NULL;
    int version;
    if (ksm_tpl_mandatory_load(DB(r), &t, &version) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the mandatory template");
    if (!t)
        return ksm_fail(r, KSM_E_NOT_FOUND, "no mandatory template is set");
    json_t *o = json_pack("{s:s,s:i,s:s,s:O}", "template", t->name, "version", version, "digest",
                          t->digest, "document", t->doc);
    ksm_tpl_free(t);
    return ksm_reply_json(r, 200, o);
}

/* ---- project tags: the normal API, under the same guardrails ---- */

enum ksm_err ksm_h_project_tags_get(struct ksm_req *r)
{
    json_t *tags = NULL;
    if (ksm_tpl_tags_get(DB(r), r->params[0], &tags) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the project's tags");
    return ksm_reply_json(r, 200, json_pack("{s:s,s:o}", "project", r->params[0], "tags", tags));
}

enum ksm_err ksm_h_project_tags_put(struct ksm_req *r)
{
    char why[KSM_TPL_WHY] = "", tenant[KSM_ID_LEN];
    json_t *body = NULL;
    enum ksm_err e = ksm_h_ai_project_body(r, tenant, &body);
    if (e != KSM_E_OK)
        return e;
    json_t *tags = json_object_get(body, "tags");
    if (json_object_size(body) != 1 || !ksm_tpl_tags_ok(tags, why))
        e = ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s", *why ? why : "the body is {\"tags\": {...}}");
    else if ((e = ksm_tpl_check_project_tags(DB(r), r->params[0], tags, why)) != KSM_E_OK)
        e = ksm_fail_why(r, e, *why ? why : NULL);
    else if (ksm_tpl_tags_put(DB(r), tenant, r->params[0], tags) != KSM_E_OK)
        e = ksm_fail(r, KSM_E_INTERNAL, "cannot store the tags");
    else
        e = ksm_reply_json(r, 200, json_pack("{s:s,s:O}", "project", r->params[0], "tags", tags));
    json_decref(body);
    return e;
}
