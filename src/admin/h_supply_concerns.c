/* h_supply_concerns.c — the reviewers' concern list (platform scope: the reviewing bodies serve
 * every agency, and no agency sees the list) and the yearly statistics of advice (助言実績). */
#include <stdlib.h>
#include <string.h>

#include "admin/h_supply.h"
#include "admin/reqjson.h"

enum ksm_err ksm_h_supply_concern_create(struct ksm_req *r)
{
    char why[KSM_SUPPLY_WHY] = "";
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = ksm_h_supply_body(r, &body);
    if (e != KSM_E_OK)
        return e;
    e = ksm_supply_concern_create(KSM_H_DB(r), ksm_h_supply_actor(r), body, &o, why);
    json_decref(body);
    if (e == KSM_E_OK)
        ksm_req_audit(r, NULL, NULL, json_string_value(json_object_get(o, "id")));
    return ksm_h_supply_reply(r, 201, e, o, why);
}

enum ksm_err ksm_h_supply_concern_list(struct ksm_req *r)
{
    const char *after, *next = NULL;
    int limit;
    enum ksm_err e = ksm_req_page(r, &limit, &after);
    if (e != KSM_E_OK)
        return e;
    json_t *items = json_array();
    if ((e = ksm_supply_concern_list(KSM_H_DB(r), after, limit, items)) != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    if ((int)json_array_size(items) == limit)
        next = ksm_arena_strdup(r->arena, json_string_value(json_object_get(
                                              json_array_get(items, (size_t)limit - 1), "id")));
    return ksm_reply_page(r, items, next);
}

enum ksm_err ksm_h_supply_concern_delete(struct ksm_req *r)
{
    enum ksm_err e = ksm_supply_concern_delete(KSM_H_DB(r), r->params[0]);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, NULL, NULL, r->params[0]);
    return ksm_reply_json(r, 200, json_pack("{s:s, s:b}", "id", r->params[0], "deleted", 1));
}

enum ksm_err ksm_h_supply_stats(struct ksm_req *r)
{
    const char *fy = ksm_req_query(r, "fiscal_year");
    char *end = NULL;
    long y = fy ? strtol(fy, &end, 10) : -1;
    if (fy && (!*fy || *end || y < 2000 || y > 2200))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "fiscal_year is a year such as 2026 (令和8年度)");
    json_t *o = NULL;
    enum ksm_err e = ksm_supply_stats(KSM_H_DB(r), (int)y, &o);
    return ksm_h_supply_reply(r, 200, e, o, NULL);
}
