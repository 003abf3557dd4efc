/* h_billing_budget.c — /admin/v1/tenants/{tenant}/billing/{webhooks,notifications} and
 * /admin/v1/billing/recommendations: where a tenant's budget alerts are POSTed (the signing secret
 * is in the creating answer only), how their delivery went, and what could be saved. The budget
 * itself is /admin/v1/projects/{project}/budget (h_ai_budget.c). The dispatcher authorises at the
 * tenant; recommendations authorise here, at the tenant or project named in the query. */
#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "billing/billing_budget.h"
#include "core/util.h"
#include "iam/iam.h"
#include "kms/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB(r) (&(r)->worker->db)

static enum ksm_err seal_secret(void *arg, const char *ctx, const char *secret, uint8_t **blob,
                                size_t *len)
{
    return ksm_kms_seal(arg, ctx, secret, strlen(secret), blob, len);
}

/* POST {url, project?} → 201 with "secret", shown this once. */
enum ksm_err ksm_h_billing_webhook_create(struct ksm_req *r)
{
    const char *url = NULL, *project = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {
        {"url", KSM_J_STRING, true, &url, NULL},
        {"project", KSM_J_STRING, false, &project, NULL},
    };
    char ptenant[KSM_ID_LEN], pproject[KSM_ID_LEN];
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    struct ksm_app *app = r->worker->app;
    if (!app->kms)
        return ksm_fail(r, KSM_E_NOT_SUPPORTED_ENV, "webhooks: this environment keeps no secrets");
    if (!ksm_billing_webhook_url_ok(url, strlen(url), &why))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s", why);
    if (project && (strncmp(project, "pj_", 3) ||
                    ksm_iam_owner(DB(r), project, ptenant, pproject) != KSM_E_OK ||
                    strcmp(ptenant, r->params[0])))
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    json_t *o = NULL;
    e = ksm_billing_webhook_create(DB(r), r->params[0], project, url,
                                   r->principal ? r->principal->user_id : NULL, seal_secret,
                                   app->kms, &o);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, r->params[0], project, json_string_value(json_object_get(o, "id")));
    return ksm_reply_json(r, 201, o);
}

enum ksm_err ksm_h_billing_webhook_list(struct ksm_req *r)
{
    json_t *items = json_array();
    enum ksm_err e = ksm_billing_webhook_list(DB(r), r->params[0], items);
    if (e != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    return ksm_reply_page(r, items, NULL);
}

enum ksm_err ksm_h_billing_webhook_delete(struct ksm_req *r)
{
    enum ksm_err e = ksm_billing_webhook_delete(DB(r), r->params[0], r->params[1]);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_req_audit(r, r->params[0], NULL, r->params[1]);
    return ksm_reply_json(r, 200, json_pack("{s:s,s:b}", "id", r->params[1], "deleted", 1));
}

/* GET ...?limit=&cursor= (newest first; the cursor is the last id of the previous page). */
enum ksm_err ksm_h_billing_notification_list(struct ksm_req *r)
{
    int limit;
    const char *cursor;
    enum ksm_err e = ksm_req_page(r, &limit, &cursor);
    if (e != KSM_E_OK)
        return e;
    char *end = NULL;
    long long before = cursor ? strtoll(cursor, &end, 10) : 0;
    if (cursor && (*end || before <= 0))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "cursor must be a next_cursor of a previous page");
    json_t *items = json_array();
    if ((e = ksm_billing_notification_list(DB(r), r->params[0], limit, before, items)) !=
        KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    char next[24];
    size_t n = json_array_size(items);
    if (n == (size_t)limit)
        snprintf(next, sizeof next, "%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(items, n - 1), "id")));
    return ksm_reply_page(r, items, n == (size_t)limit ? next : NULL);
}

/* GET /admin/v1/billing/recommendations?tenant=T[&project=P]: usage.read there. */
enum ksm_err ksm_h_billing_recommendations(struct ksm_req *r)
{
    const char *tenant = ksm_req_query(r, "tenant"), *project = ksm_req_query(r, "project");
    if (!tenant || !*tenant || (project && !*project))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "tenant is required; project must not be empty");
    enum ksm_err e = ksm_authorize(r, "usage.read", tenant, project);
    if (e != KSM_E_OK)
        return e;
    ksm_req_audit(r, tenant, project, NULL);
    json_t *items = json_array();
    if ((e = ksm_billing_recommendations(DB(r), tenant, project, ksm_now_ms(), items)) != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    int64_t total = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
        total += json_integer_value(json_object_get(it, "estimated_monthly_saving_microyen"));
    return ksm_reply_json(r, 200, json_pack("{s:o,s:I}", "items", items,
                                            "estimated_monthly_saving_microyen", (json_int_t)total));
}
