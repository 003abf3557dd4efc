/* h_groups.c — /admin/v1/tenants/{tenant}/groups and /admin/v1/groups/{group}[/members/{user}].
 * The dispatcher authorises at the tenant or at the group's owner; a member must be a user of the
 * group's tenant, and a user of any other tenant is "not found" like one that does not exist. */
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply_group(struct ksm_req *r, int status, enum ksm_err e, json_t *g,
                                const char *why)
{
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    const char *id = json_string_value(json_object_get(g, "id"));
    ksm_req_audit(r, json_string_value(json_object_get(g, "tenant")), NULL, id);
    return ksm_reply_json(r, status, g);
}

enum ksm_err ksm_h_group_create(struct ksm_req *r)
{
    const char *name = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"name", KSM_J_STRING, true, &name, NULL},
    };
    json_t *g = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    e = ksm_iam_group_create(DB(r), r->params[0], name, &g, &why);
    return reply_group(r, 201, e, g, why);
}

enum ksm_err ksm_h_group_list(struct ksm_req *r)
{
    return ksm_reply_owner_list(r, ksm_iam_group_list, true);
}

enum ksm_err ksm_h_group_get(struct ksm_req *r)
{
    json_t *g = NULL;
    enum ksm_err e = ksm_iam_group_get(DB(r), r->params[0], &g);
    return reply_group(r, 200, e, g, NULL);
}

/* Deletes the group with its memberships and role bindings. */
enum ksm_err ksm_h_group_delete(struct ksm_req *r)
{
    json_t *g = NULL;
    enum ksm_err e = ksm_iam_group_get(DB(r), r->params[0], &g);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, json_string_value(json_object_get(g, "tenant")), NULL, r->params[0]);
    json_decref(g);
    if ((e = ksm_iam_group_delete(DB(r), r->params[0])) != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    return ksm_reply_json(r, 200, json_pack("{s:s,s:b}", "id", r->params[0], "deleted", 1));
}

/* PUT and DELETE /groups/{group}/members/{user} answer with the group and its members. */
static enum ksm_err member_change(struct ksm_req *r, bool add)
{
    const char *why = NULL;
    json_t *g = NULL;
    enum ksm_err e = add ? ksm_iam_group_member_add(DB(r), r->params[0], r->params[1], &why)
                         : ksm_iam_group_member_remove(DB(r), r->params[0], r->params[1], &why);
    if (e == KSM_E_OK)
        e = ksm_iam_group_get(DB(r), r->params[0], &g);
    if (e == KSM_E_OK)
        ksm_req_audit(r, json_string_value(json_object_get(g, "tenant")), NULL, r->params[1]);
    return e == KSM_E_OK ? ksm_reply_json(r, 200, g) : ksm_fail_why(r, e, why);
}

enum ksm_err ksm_h_group_member_add(struct ksm_req *r) { return member_change(r, true); }
enum ksm_err ksm_h_group_member_remove(struct ksm_req *r) { return member_change(r, false); }
