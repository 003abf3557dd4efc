/* cmd_billing_budget.c — `kasumi billing budget|webhook|notifications|recommendations`: a project's
 * monthly budget (the one the AI gateway reserves against, covering all its spend), the tenant's
 * alert webhooks, how their notifications were delivered, and what could be saved
 * (docs/billing.md). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct kc_col webhook_cols[] = {
    {"ID", "id"}, {"PROJECT", "project"}, {"URL", "url"}, {"CREATED", "created_at"},
    {"SECRET", "secret"}, KC_COLS_END,
};

static const struct kc_col notification_cols[] = {
    {"ID", "id"}, {"WEBHOOK", "webhook"}, {"STATE", "state"}, {"ATTEMPTS", "attempts"},
    {"STATUS", "last_status"}, {"ERROR", "last_error"}, {"CREATED", "created_at"},
    {"DELIVERED", "delivered_at"}, KC_COLS_END,
};

int kc_ai_budget_set(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_budget_get(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_budget_remove(struct kc_ctx *c, const struct kc_args *a);

/* The same budget as `kasumi budget set|get|remove`, under billing where a tenant looks for it. */
int kc_billing_budget_set(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_ai_budget_set(c, a);
}

int kc_billing_budget_show(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_ai_budget_get(c, a);
}

int kc_billing_budget_remove(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_ai_budget_remove(c, a);
}

int kc_billing_webhook_add(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "url", kc_flag(a, "url"));
    kc_json_set(body, "project", kc_flag(a, "project"));
    char *p = kc_url_path(c, "/admin/v1/tenants/{}/billing/webhooks", kc_flag(a, "tenant"));
    int rc = kc_call(c, "POST", p, NULL, body, webhook_cols, NULL);
    free(p);
    return rc;
}

int kc_billing_webhook_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    char *p = kc_url_path(c, "/admin/v1/tenants/{}/billing/webhooks", kc_flag(a, "tenant"));
    int rc = kc_list_paged(c, a, p, &q, webhook_cols);
    free(p);
    return rc;
}

int kc_billing_webhook_delete(struct kc_ctx *c, const struct kc_args *a)
{
    char *p = kc_url_path(c, "/admin/v1/tenants/{}/billing/webhooks/{}", kc_flag(a, "tenant"),
                          a->pos[0]);
    int rc = kc_call(c, "DELETE", p, NULL, NULL, NULL, "deleted");
    free(p);
    return rc;
}

int kc_billing_notifications(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    char *p = kc_url_path(c, "/admin/v1/tenants/{}/billing/notifications", kc_flag(a, "tenant"));
    int rc = kc_list_paged(c, a, p, &q, notification_cols);
    free(p);
    return rc;
}

static const struct kc_col reco_cols[] = {
    {"KIND", "kind"}, {"PROJECT", "project"}, {"RESOURCE", "resource"},
    {"SAVING_YEN", "estimated_monthly_saving_yen"}, {"REASON", "reason"}, KC_COLS_END,
};

int kc_billing_recommendations(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "tenant", kc_flag(a, "tenant"));
    kc_query_add(&q, "project", kc_flag(a, "project"));
    return kc_call(c, "GET", "/admin/v1/billing/recommendations", &q, NULL, reco_cols, NULL);
}
