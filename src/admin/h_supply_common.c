/* h_supply_common.c — what the supply-chain handlers (h_supply_*.c) share: finding a case's
 * tenant and authorising the row's permission there (the rows are AUTH-scoped because src/iam
 * must not learn about src/supply, as with model routes; a case of another tenant and a random id
 * answer the same 404), strict JSON bodies, and rendering a supply error. */
#include "admin/h_supply.h"

#include <string.h>

#include "admin/reqjson.h"
#include "iam/iam.h"

enum ksm_err ksm_h_supply_case_access(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    enum ksm_err e = ksm_supply_case_owner(KSM_H_DB(r), r->params[0], tenant);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, tenant, NULL, r->params[0]);
    return ksm_authorize(r, r->route->permission, tenant, NULL);
}

enum ksm_err ksm_h_supply_body(struct ksm_req *r, json_t **out)
{
    json_error_t je;
    if (!ksm_utf8_valid(r->body.data ? r->body.data : "", r->body.len))
        return ksm_fail(r, KSM_E_INVALID_JSON, "the body is not valid UTF-8");
    json_t *v = r->body.len ? json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je)
                            : json_object();
    if (!json_is_object(v)) {
        json_decref(v);
        return ksm_fail(r, KSM_E_INVALID_JSON, "the body must be one JSON object");
    }
    *out = v;
    return KSM_E_OK;
}

enum ksm_err ksm_h_supply_reply(struct ksm_req *r, int status, enum ksm_err e, json_t *o,
                                const char *why)
{
    if (e != KSM_E_OK) {
        json_decref(o);
        return ksm_fail_why(r, e, why && *why ? why : NULL);
    }
    return ksm_reply_json(r, status, o);
}

const char *ksm_h_supply_actor(struct ksm_req *r)
{
    return r->principal ? r->principal->user_id : "anonymous";
}

enum ksm_err ksm_h_supply_case_read(struct ksm_req *r, ksm_h_supply_read_fn get)
{
    json_t *o = NULL;
    enum ksm_err e = ksm_h_supply_case_access(r);
    if (e != KSM_E_OK)
        return e;
    e = get(KSM_H_DB(r), r->params[0], &o);
    return ksm_h_supply_reply(r, 200, e, o, NULL);
}

enum ksm_err ksm_h_supply_case_write(struct ksm_req *r, ksm_h_supply_write_fn change)
{
    char why[KSM_SUPPLY_WHY] = "";
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = ksm_h_supply_case_access(r);
    if (e == KSM_E_OK)
        e = ksm_h_supply_body(r, &body);
    if (e != KSM_E_OK)
        return e;
    e = change(KSM_H_DB(r), r->params[0], ksm_h_supply_actor(r), body, &o, why);
    json_decref(body);
    return ksm_h_supply_reply(r, 200, e, o, why);
}
