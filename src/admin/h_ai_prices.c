/* h_ai_prices.c — /admin/v1/model-prices: the operator adds prices (platform
 * scope, ai.price.write); any authenticated principal reads them, since a price
 * list is what a tenant is charged by. */
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

enum ksm_err ksm_h_ai_price_create(struct ksm_req *r)
{
    char why[KSM_AI_WHY] = "";
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = ksm_h_ai_body(r, &body);
    if (e != KSM_E_OK)
        return e;
    e = ksm_ai_price_add(DB(r), body, ksm_now_ms(), &o, why);
    json_decref(body);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    ksm_req_audit(r, NULL, NULL, json_string_value(json_object_get(o, "id")));
    return ksm_reply_json(r, 201, o);
}

enum ksm_err ksm_h_ai_price_list(struct ksm_req *r)
{
    const char *after, *next = NULL;
    int limit;
    enum ksm_err e = ksm_iam_principal_active(DB(r), r->principal);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    if ((e = ksm_req_page(r, &limit, &after)) != KSM_E_OK)
        return e;
    json_t *items = json_array();
    if ((e = ksm_ai_price_list(DB(r), ksm_req_query(r, "model"), after, limit, items)) !=
        KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    if ((int)json_array_size(items) == limit)
        next = ksm_arena_strdup(
            r->arena, json_string_value(json_object_get(json_array_get(items, limit - 1), "id")));
    return ksm_reply_page(r, items, next);
}
