/* h_users.c — /admin/v1/tenants/{tenant}/users and /admin/v1/users/{user}. The dispatcher
 * authorises at the tenant (create, list) or at the user's owner (get, update, delete). Nobody
 * deletes or disables themselves: an administrator locking itself out is always a mistake. */
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply_user(struct ksm_req *r, int status, enum ksm_err e, json_t *u,
                               const char *why)
{
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    const char *id = json_string_value(json_object_get(u, "id"));
    ksm_req_audit(r, json_string_value(json_object_get(u, "tenant")), NULL, id);
    return ksm_reply_json(r, status, u);
}

static bool is_self(const struct ksm_req *r)
{
    return r->principal && !strcmp(r->principal->user_id, r->params[0]);
}

enum ksm_err ksm_h_user_create(struct ksm_req *r)
{
    const char *name = NULL, *email = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"name", KSM_J_STRING, true, &name, NULL},
        {"email", KSM_J_STRING, true, &email, NULL},
    };
    json_t *u = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    e = ksm_iam_user_create(DB(r), r->params[0], name, email, &u, &why);
    return reply_user(r, 201, e, u, why);
}

enum ksm_err ksm_h_user_list(struct ksm_req *r)
{
    return ksm_reply_owner_list(r, ksm_iam_user_list, true);
}

enum ksm_err ksm_h_user_get(struct ksm_req *r)
{
    json_t *u = NULL;
    enum ksm_err e = ksm_iam_user_get(DB(r), r->params[0], &u);
    return reply_user(r, 200, e, u, NULL);
}

/* PATCH {name?, email?, disabled?} */
enum ksm_err ksm_h_user_update(struct ksm_req *r)
{
    const char *name = NULL, *email = NULL, *why = NULL;
    bool disabled = false, have_disabled = false;
    const struct ksm_jfield spec[] = {
        {"name", KSM_J_STRING, false, &name, NULL},
        {"email", KSM_J_STRING, false, &email, NULL},
        {"disabled", KSM_J_BOOL, false, &disabled, &have_disabled},
    };
    json_t *u = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (!name && !email && !have_disabled)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT,
                        "nothing to update: give name, email or disabled");
    if (have_disabled && disabled && is_self(r))
        return ksm_fail(r, KSM_E_CONFLICT, "you cannot disable yourself");
    e = ksm_iam_user_update(DB(r), r->params[0], name, email, have_disabled ? disabled : -1, &u,
                            &why);
    return reply_user(r, 200, e, u, why);
}

/* Deletes the user with its keys, bindings and group memberships. */
enum ksm_err ksm_h_user_delete(struct ksm_req *r)
{
    const char *why = NULL;
    json_t *u = NULL;
    enum ksm_err e = ksm_iam_user_get(DB(r), r->params[0], &u);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, json_string_value(json_object_get(u, "tenant")), NULL, r->params[0]);
    json_decref(u);
    if (is_self(r))
        return ksm_fail(r, KSM_E_CONFLICT, "you cannot delete yourself");
    if ((e = ksm_iam_user_delete(DB(r), r->params[0], &why)) != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    return ksm_reply_json(r, 200, json_pack("{s:s,s:b}", "id", r->params[0], "deleted", 1));
}
