/* h_billing.c — /admin/v1/billing: the price list (operator writes, any principal reads: it is what
 * tenants are charged by), the monthly report (usage.read on the tenant or project named, platform
 * scope for every tenant) and closing a month (operator only). */
#include "admin/handlers.h"
#include "admin/app.h"
#include "admin/reqjson.h"
#include "billing/billing.h"
#include "core/util.h"
#include "iam/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB(r) (&(r)->worker->db)

enum ksm_err ksm_h_billing_price_create(struct ksm_req *r)
{
    char why[KSM_BILLING_WHY] = "";
    json_error_t jerr;
    json_t *body = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr), *o = NULL;
    if (!body)
        return ksm_fail(r, KSM_E_INVALID_JSON, "%s", jerr.text);
    enum ksm_err e = ksm_billing_price_add(DB(r), body, ksm_now_ms(), &o, why);
    json_decref(body);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(o, "id")));
    ksm_req_audit(r, NULL, NULL, id);
    return ksm_reply_json(r, 201, o);
}

/* POST /admin/v1/billing/prices/{price}/end {"valid_until": T} */
enum ksm_err ksm_h_billing_price_end(struct ksm_req *r)
{
    char why[KSM_BILLING_WHY] = "", *end;
    json_error_t jerr;
    long long id = strtoll(r->params[0], &end, 10);
    if (*end || id <= 0)
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    json_t *body = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr), *o = NULL;
    if (!body)
        return ksm_fail(r, KSM_E_INVALID_JSON, "%s", jerr.text);
    enum ksm_err e = KSM_E_UNKNOWN_FIELD;
    if (json_object_size(body) > 1)
        snprintf(why, sizeof why, "only valid_until may be given");
    else
        e = ksm_billing_price_end(DB(r), id, json_string_value(json_object_get(body, "valid_until")),
                                  ksm_now_ms(), &o, why);
    json_decref(body);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    ksm_req_audit(r, NULL, NULL, r->params[0]);
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_billing_price_list(struct ksm_req *r)
{
    enum ksm_err e = ksm_iam_principal_active(DB(r), r->principal);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    json_t *items = json_array();
    if ((e = ksm_billing_price_list(DB(r), ksm_req_query(r, "service"), items)) != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    return ksm_reply_page(r, items, NULL);
}

static void operator_of(struct ksm_req *r, struct ksm_billing_operator *op)
{
    const struct ksm_app *app = r->worker->app;
    const struct ksm_conf *c = app->conf;
    op->name = c->billing_operator;
    op->registration_number = c->billing_registration;
    op->environment = ksm_env_kind_name(c->env_kind);
}

static enum ksm_err reply_xlsx(struct ksm_req *r, const struct ksm_billing_report *rep)
{
    const struct ksm_app *app = r->worker->app;
    char tmpdir[600], *data = NULL;
    size_t n = 0;
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", app->conf->data_dir);
    ksm_mkdir_p(tmpdir, 0700);
    if (ksm_billing_report_xlsx(rep, tmpdir, &data, &n))
        return ksm_fail(r, KSM_E_INTERNAL, "cannot write the workbook");
    ksm_buf_reset(&r->resp);
    ksm_buf_append(&r->resp, data, n);
    free(data);
    r->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    return KSM_E_OK;
}

/* The Japanese report with its charts: HTML (inline, a page to open) or PDF (a file to keep). */
static enum ksm_err reply_document(struct ksm_req *r, const struct ksm_billing_report *rep,
                                   const char *tenant, const char *format)
{
    struct ksm_billing_usage days;
    enum ksm_err e = ksm_billing_usage_build(DB(r), rep, tenant, KSM_BILLING_BY_DAY, &days);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    ksm_buf_reset(&r->resp);
    if (!strcmp(format, "html")) {
        ksm_billing_report_html(rep, &days, &r->resp);
        r->content_type = "text/html; charset=utf-8";
    } else {
        char *data = NULL;
        size_t n = 0;
        if (ksm_billing_report_pdf(rep, &days, &data, &n))
            e = ksm_fail(r, KSM_E_INTERNAL, "cannot render the PDF");
        else
            ksm_buf_append(&r->resp, data, n);
        free(data);
        r->content_type = "application/pdf";
    }
    ksm_billing_usage_free(&days);
    return e;
}

static enum ksm_err reply_report(struct ksm_req *r, const struct ksm_billing_report *rep,
                                 const char *tenant, const char *format)
{
    if (!strcmp(format, "json"))
        return ksm_reply_json(r, 200, ksm_billing_report_json(rep));
    if (!strcmp(format, "xlsx") || !strcmp(format, "html") || !strcmp(format, "pdf")) {
        enum ksm_err e = !strcmp(format, "xlsx") ? reply_xlsx(r, rep)
                                                 : reply_document(r, rep, tenant, format);
        if (e != KSM_E_OK)
            return e;
    } else {
        ksm_buf_reset(&r->resp);
        ksm_billing_report_csv(rep, &r->resp);
        r->content_type = "text/csv; charset=utf-8";
    }
    r->status = 200;
    char cd[96];
    snprintf(cd, sizeof cd, "%s; filename=\"kasumi-%s.%s\"",
             strcmp(format, "html") ? "attachment" : "inline", rep->month, format);
    ksm_req_add_header(r, "Content-Disposition", ksm_arena_strdup(r->arena, cd));
    return KSM_E_OK;
}

/* month, tenant and project of a report or usage query, checked and authorized (usage.read). */
static enum ksm_err report_scope(struct ksm_req *r, const char **month, const char **tenant,
                                 const char **project)
{
    *month = ksm_req_query(r, "month"), *tenant = ksm_req_query(r, "tenant");
    *project = ksm_req_query(r, "project");
    if (!*month)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "month is required (YYYY-MM, JST)");
    if ((*tenant && !**tenant) || (*project && !**project))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "tenant and project must not be empty when given");
    if (*project && !*tenant)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "project needs tenant");
    return ksm_authorize(r, "usage.read", *tenant, *project);
}

static bool report_format_ok(const char *f)
{
    static const char *const known[] = {"json", "csv", "xlsx", "html", "pdf"};
    for (size_t i = 0; i < KSM_NELEM(known); i++)
        if (!strcmp(f, known[i]))
            return true;
    return false;
}

/* GET /admin/v1/billing/report?month=YYYY-MM[&tenant=T[&project=P]][&format=json|csv|xlsx|html|pdf] */
enum ksm_err ksm_h_billing_report(struct ksm_req *r)
{
    const char *month, *tenant, *project, *format = ksm_req_query(r, "format");
    if (!format)
        format = "json";
    if (!report_format_ok(format))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "format must be json, csv, xlsx, html or pdf");
    enum ksm_err e = report_scope(r, &month, &tenant, &project);
    if (e != KSM_E_OK)
        return e;
    ksm_req_audit(r, tenant, project, month);
    struct ksm_billing_operator op;
    operator_of(r, &op);
    struct ksm_billing_report rep;
    char why[KSM_BILLING_WHY] = "";
    e = ksm_billing_report_build(DB(r), &op, month, tenant, project, &rep, why);
    if (e == KSM_E_OK)
        e = reply_report(r, &rep, tenant, format);
    else
        e = ksm_fail_why(r, e, *why ? why : NULL);
    ksm_billing_report_free(&rep);
    return e;
}

/* GET /admin/v1/billing/usage?month=YYYY-MM&group_by=day|service|project[&tenant=T[&project=P]]:
 * the month's cost (税抜, micro-yen exact) per group, for charts (docs/billing.md). */
enum ksm_err ksm_h_billing_usage(struct ksm_req *r)
{
    const char *month, *tenant, *project, *group = ksm_req_query(r, "group_by");
    int by = ksm_billing_group_by_parse(group ? group : "day");
    if (by < 0)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "group_by must be day, service or project");
    enum ksm_err e = report_scope(r, &month, &tenant, &project);
    if (e != KSM_E_OK)
        return e;
    ksm_req_audit(r, tenant, project, month);
    struct ksm_billing_operator op;
    operator_of(r, &op);
    struct ksm_billing_report rep;
    struct ksm_billing_usage u;
    char why[KSM_BILLING_WHY] = "";
    e = ksm_billing_report_build(DB(r), &op, month, tenant, project, &rep, why);
    if (e != KSM_E_OK) {
        ksm_billing_report_free(&rep);
        return ksm_fail_why(r, e, *why ? why : NULL);
    }
    e = ksm_billing_usage_build(DB(r), &rep, tenant, (enum ksm_billing_group_by)by, &u);
    if (e == KSM_E_OK)
        e = ksm_reply_json(r, 200, ksm_billing_usage_json(&rep, tenant, &u));
    else
        e = ksm_fail_why(r, e, NULL);
    ksm_billing_usage_free(&u);
    ksm_billing_report_free(&rep);
    return e;
}

enum ksm_err ksm_h_billing_month_close(struct ksm_req *r)
{
    char why[KSM_BILLING_WHY] = "";
    json_t *o = NULL;
    const char *actor = r->principal ? r->principal->user_id : NULL;
    enum ksm_err e = ksm_billing_month_close(DB(r), r->params[0], ksm_now_ms(), actor, &o, why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    ksm_req_audit(r, NULL, NULL, r->params[0]);
    return ksm_reply_json(r, 200, o);
}

/* GET /admin/v1/billing/months/{month}/recompute: the month rebuilt from the audit log against its
 * ledger; the CLI exits non-zero when differences is not empty. */
enum ksm_err ksm_h_billing_recompute(struct ksm_req *r)
{
    char why[KSM_BILLING_WHY] = "";
    json_t *o = NULL;
    const struct ksm_app *app = r->worker->app;
    ksm_audit_flush(app->audit);   /* the requests just served are in the log before it is read */
    enum ksm_err e = ksm_billing_recompute(DB(r), app->audit, r->params[0], &o, why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, *why ? why : NULL);
    ksm_req_audit(r, NULL, NULL, r->params[0]);
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_billing_month_list(struct ksm_req *r)
{
    json_t *items = json_array();
    enum ksm_err e = ksm_billing_month_list(DB(r), items);
    if (e != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    return ksm_reply_page(r, items, NULL);
}
