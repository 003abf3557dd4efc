/* cmd_billing.c — `kasumi billing`: the price list, the monthly report (実績レポート) to standard
 * output or a file, and closing a month (docs/billing.md). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct kc_col price_cols[] = {
    {"ID", "id"}, {"SERVICE", "service"}, {"METER", "meter"}, {"PRICE", "price"}, {"PER", "per"},
    {"UNIT", "unit"}, {"FROM", "valid_from"}, {"UNTIL", "valid_until"}, KC_COLS_END,
};

static const struct kc_col month_cols[] = {
    {"MONTH", "month"}, {"CLOSED_AT", "closed_at"}, {"CLOSED_BY", "closed_by"}, KC_COLS_END,
};

int kc_billing_price_add(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "service", kc_flag(a, "service"));
    kc_json_set(body, "meter", kc_flag(a, "meter"));
    kc_json_set(body, "unit", kc_flag(a, "unit"));
    kc_json_set(body, "price", kc_flag(a, "price"));
    kc_json_set(body, "valid_from", kc_flag(a, "valid-from"));
    kc_json_set(body, "valid_until", kc_flag(a, "valid-until"));
    if (kc_json_set_int(c, body, "per", "per", kc_flag(a, "per"))) {
        json_decref(body);
        return KC_EXIT_USAGE;
    }
    return kc_call(c, "POST", "/admin/v1/billing/prices", NULL, body, price_cols, NULL);
}

int kc_billing_price_end(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "valid_until", kc_flag(a, "valid-until"));
    char *p = kc_url_path(c, "/admin/v1/billing/prices/{}/end", a->pos[0]);
    int rc = kc_call(c, "POST", p, NULL, body, price_cols, NULL);
    free(p);
    return rc;
}

int kc_billing_price_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "service", kc_flag(a, "service"));
    return kc_list_paged(c, a, "/admin/v1/billing/prices", &q, price_cols);
}

int kc_billing_month_close(struct kc_ctx *c, const struct kc_args *a)
{
    char *p = kc_url_path(c, "/admin/v1/billing/months/{}/close", a->pos[0]);
    int rc = kc_call(c, "POST", p, NULL, NULL, month_cols, NULL);
    free(p);
    return rc;
}

/* Exit 0 when the ledger matches the audit log; else 1, naming every differing row. */
int kc_billing_recompute(struct kc_ctx *c, const struct kc_args *a)
{
    char *p = kc_url_path(c, "/admin/v1/billing/months/{}/recompute", kc_flag(a, "month"));
    json_t *o = NULL;
    int rc = kc_api(c, "GET", p, NULL, NULL, &o);
    free(p);
    if (rc)
        return rc;
    json_t *diffs = json_object_get(o, "differences"), *d;
    size_t i;
    json_array_foreach(diffs, i, d) {
        char *l = json_dumps(json_object_get(d, "ledger"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *r = json_dumps(json_object_get(d, "recomputed"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf("DIFFERS tenant=%s project=%s service=%s meter=%s resource=%s ledger=%s recomputed=%s\n",
               json_string_value(json_object_get(d, "tenant")),
               json_string_value(json_object_get(d, "project")),
               json_string_value(json_object_get(d, "service")),
               json_string_value(json_object_get(d, "meter")),
               json_string_value(json_object_get(d, "resource")), l, r);
        free(l), free(r);
    }
    printf("%s: %lld ledger rows, %zu differing, %lld usage records without an audit record\n",
           json_string_value(json_object_get(o, "month")),
           (long long)json_integer_value(json_object_get(o, "ledger_rows")), json_array_size(diffs),
           (long long)json_integer_value(json_object_get(o, "records_without_audit")));
    rc = json_array_size(diffs) ? KC_EXIT_API : KC_EXIT_OK;
    json_decref(o);
    return rc;
}

int kc_billing_month_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    return kc_list_paged(c, a, "/admin/v1/billing/months", &q, month_cols);
}

static const struct kc_col group_cols[] = {
    {"KEY", "key"}, {"NAME", "name"}, {"COST_JPY", "cost"}, {"RECORDS", "records"}, KC_COLS_END,
};

/* A month's cost per day, service or project: a table and its total (or the server's JSON). */
int kc_billing_usage(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "month", kc_flag(a, "month"));
    kc_query_add(&q, "group_by", kc_flag(a, "group-by"));
    kc_query_add(&q, "tenant", kc_flag(a, "tenant"));
    kc_query_add(&q, "project", kc_flag(a, "project"));
    json_t *o = NULL;
    int rc = kc_api(c, "GET", "/admin/v1/billing/usage", &q, NULL, &o);
    if (rc)
        return rc;
    if (c->output == KC_OUT_JSON) {
        rc = kc_print(c, o, NULL);
    } else {
        rc = kc_print(c, json_object_get(o, "groups"), group_cols);
        printf("total %s JPY (%s, %s)\n", json_string_value(json_object_get(o, "total")),
               json_string_value(json_object_get(o, "month")),
               json_string_value(json_object_get(o, "state")));
    }
    json_decref(o);
    return rc;
}

/* The report's bytes as the server wrote them (CSV, JSON, XLSX, HTML or PDF), into --out atomically or to stdout. */
int kc_billing_report(struct kc_ctx *c, const struct kc_args *a)
{
    const char *format = kc_flag(a, "format"), *out = kc_flag(a, "out");
    if (!format)
        format = "csv";
    if (strcmp(format, "csv") && strcmp(format, "json") && strcmp(format, "xlsx") &&
        strcmp(format, "html") && strcmp(format, "pdf"))
        return kc_usage_err(c->cmd, "--format is csv, json, xlsx, html or pdf");
    struct kc_query q = {0};
    kc_query_add(&q, "month", kc_flag(a, "month"));
    kc_query_add(&q, "tenant", kc_flag(a, "tenant"));
    kc_query_add(&q, "project", kc_flag(a, "project"));
    kc_query_add(&q, "format", format);
    struct ksm_buf path = KSM_BUF_INIT;
    ksm_buf_printf(&path, "/admin/v1/billing/report");
    kc_query_append(c, &path, &q);
    int rc = kc_get_to_file(c, path.data, out);
    ksm_buf_free(&path);
    return rc;
}
