/* h_supply_cases.c — procurement cases: create and list under a tenant, the reviewers' list
 * across tenants, get and change one case, and the tenant's upcoming deadlines. */
#include <stdlib.h>
#include <string.h>

#include "admin/h_supply.h"
#include "admin/reqjson.h"
#include "iam/iam.h"

enum ksm_err ksm_h_supply_case_create(struct ksm_req *r)
{
    char why[KSM_SUPPLY_WHY] = "";
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = ksm_h_supply_body(r, &body);
    if (e != KSM_E_OK)
        return e;
    e = ksm_supply_case_create(KSM_H_DB(r), r->params[0], ksm_h_supply_actor(r), body, &o, why);
    json_decref(body);
    if (e == KSM_E_OK)
        ksm_req_audit(r, r->params[0], NULL, json_string_value(json_object_get(o, "id")));
    return ksm_h_supply_reply(r, 201, e, o, why);
}

static enum ksm_err list(struct ksm_req *r, const char *tenant)
{
    const char *after, *next = NULL, *state = ksm_req_query(r, "state");
    int limit;
    enum ksm_err e = ksm_req_page(r, &limit, &after);
    if (e != KSM_E_OK)
        return e;
    json_t *items = json_array();
    if ((e = ksm_supply_case_list(KSM_H_DB(r), tenant, state, after, limit, items)) != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    if ((int)json_array_size(items) == limit)
        next = ksm_arena_strdup(r->arena, json_string_value(json_object_get(
                                              json_array_get(items, (size_t)limit - 1), "id")));
    return ksm_reply_page(r, items, next);
}

enum ksm_err ksm_h_supply_case_list(struct ksm_req *r)
{
    return list(r, r->params[0]);
}

enum ksm_err ksm_h_supply_case_list_all(struct ksm_req *r)
{
    return list(r, ksm_req_query(r, "tenant"));
}

enum ksm_err ksm_h_supply_case_get(struct ksm_req *r)
{
    return ksm_h_supply_case_read(r, ksm_supply_case_get);
}

enum ksm_err ksm_h_supply_case_update(struct ksm_req *r)
{
    return ksm_h_supply_case_write(r, ksm_supply_case_update);
}

enum ksm_err ksm_h_supply_deadlines(struct ksm_req *r)
{
    const char *w = ksm_req_query(r, "within_days");
    char *end = NULL;
    long days = w ? strtol(w, &end, 10) : 30;
    if (w && (!*w || *end || days < 0 || days > 3660))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "within_days must be 0 to 3660");
    json_t *o = NULL;
    enum ksm_err e = ksm_supply_deadlines(KSM_H_DB(r), r->params[0], (int)days, &o);
    return ksm_h_supply_reply(r, 200, e, o, NULL);
}
