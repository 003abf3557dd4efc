/* h_projects.c — /admin/v1/tenants/{tenant}/projects and /admin/v1/projects/{project}. The
 * dispatcher authorises at the tenant (create, list) or the project (get, update, delete). */
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"
#include "template/template.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply_project(struct ksm_req *r, int status, enum ksm_err e, json_t *pj,
                                  const char *why)
{
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    const char *id = json_string_value(json_object_get(pj, "id"));
    ksm_req_audit(r, json_string_value(json_object_get(pj, "tenant")), id, id);
    return ksm_reply_json(r, status, pj);
}

/* With the mandatory template set, the project must carry its required tags; it is attached to
 * the template and gets its defaults (src/template). */
enum ksm_err ksm_h_project_create(struct ksm_req *r)
{
    const char *name = NULL, *env = NULL, *desc = NULL, *tags_s = NULL, *why = NULL;
    char twhy[KSM_TPL_WHY] = "";
    const struct ksm_jfield spec[] = {
        {"name", KSM_J_STRING, true, &name, NULL},
        {"environment", KSM_J_STRING, true, &env, NULL},
        {"description", KSM_J_STRING, false, &desc, NULL},
        {"tags", KSM_J_OBJECT, false, &tags_s, NULL},
    };
    json_t *pj = NULL, *tags = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    tags = json_loads(tags_s ? tags_s : "{}", 0, NULL);
    if (!ksm_tpl_tags_ok(tags, twhy))
        e = ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s", twhy);
    else if ((e = ksm_tpl_project_precheck(DB(r), tags, twhy)) != KSM_E_OK)
        e = ksm_fail_why(r, e, *twhy ? twhy : NULL);
    if (e != KSM_E_OK)
        goto done;
    e = ksm_iam_project_create(DB(r), r->params[0], name, env, desc, &pj, &why);
    if (e == KSM_E_OK &&
        (e = ksm_tpl_project_created(DB(r), r->params[0],
                                     json_string_value(json_object_get(pj, "id")), tags, twhy)) !=
            KSM_E_OK) {
        /* not half made: a project outside its guardrails must not stay */
        ksm_iam_project_delete(DB(r), json_string_value(json_object_get(pj, "id")), &why);
        json_decref(pj);
        pj = NULL;
        why = *twhy ? twhy : NULL;
    }
    e = reply_project(r, 201, e, pj, why);
done:
    json_decref(tags);
    return e;
}

enum ksm_err ksm_h_project_list(struct ksm_req *r)
{
    return ksm_reply_owner_list(r, ksm_iam_project_list, true);
}

enum ksm_err ksm_h_project_get(struct ksm_req *r)
{
    json_t *pj = NULL;
    enum ksm_err e = ksm_iam_project_get(DB(r), r->params[0], &pj);
    return reply_project(r, 200, e, pj, NULL);
}

enum ksm_err ksm_h_project_update(struct ksm_req *r)
{
    const char *name = NULL, *env = NULL, *desc = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"name", KSM_J_STRING, false, &name, NULL},
        {"environment", KSM_J_STRING, false, &env, NULL},
        {"description", KSM_J_STRING, false, &desc, NULL},
    };
    json_t *pj = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (!name && !env && !desc)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT,
                        "nothing to update: give name, environment or description");
    e = ksm_iam_project_update(DB(r), r->params[0], name, env, desc, &pj, &why);
    return reply_project(r, 200, e, pj, why);
}

/* Deletes the project with its role bindings and narrowed keys; 409 while it still holds
 * resources of other services. */
enum ksm_err ksm_h_project_delete(struct ksm_req *r)
{
    const char *why = NULL;
    json_t *pj = NULL;
    enum ksm_err e = ksm_iam_project_get(DB(r), r->params[0], &pj);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, json_string_value(json_object_get(pj, "tenant")), r->params[0], r->params[0]);
    json_decref(pj);
    if ((e = ksm_iam_project_delete(DB(r), r->params[0], &why)) != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    return ksm_reply_json(r, 200, json_pack("{s:s,s:b}", "id", r->params[0], "deleted", 1));
}
