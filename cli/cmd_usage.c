/* cmd_usage.c — `kasumi usage list`: usage records, the projection of the audit log that bills
 * are computed from. */
#include "cli.h"

static const struct kc_col cols[] = {
    {"TIME", "time|ts|period_start"}, {"TENANT", "tenant|tenant_id"},
    {"PROJECT", "project|project_id"}, {"SERVICE", "service"}, {"METER", "meter"},
    {"QUANTITY", "quantity|value|amount"}, {"RESOURCE", "resource"},
    {"COST_MICROYEN", "cost_microyen"}, KC_COLS_END,
};

int kc_usage_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    static const char *const filters[] = {"tenant", "project", "service",
                                          "meter",  "since",   "until"};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        kc_query_add(&q, filters[i], kc_flag(a, filters[i]));
    return kc_list_paged(c, a, "/admin/v1/usage", &q, cols);
}
