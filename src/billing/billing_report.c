/* billing_report.c — a month's rows and invoices. An open month is summed from the per-day rollup
 * of its usage records (each already rated when it was written; billing_rollup.c); a closed month
 * is read from the ledger its close wrote, so what was reported for it never changes. Consumption
 * tax is computed once per invoice (適格請求書: one rounding per tax rate per invoice), never per
 * row. */
#include "billing/billing.h"
#include "billing/billing_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "iam/iam.h"

static char *dup_col(sqlite3_stmt *st, int col)
{
    const char *s = ksm_db_col_text(st, col);
    return s ? ksm_xstrdup(s) : NULL;
}

/* Gauges (sampled levels) are left out of sums: their records are not usage. A month's own rows
 * come before its corrections of earlier months (billing_records.h). */
#define ROW_ORDER \
    " ORDER BY tenant, project IS NOT NULL, project, correction_of IS NOT NULL, correction_of,"     \
    " service, meter, resource"
#define LIVE_SQL \
    "SELECT tenant, project, service, meter, resource, SUM(quantity), SUM(cost_microyen),"          \
    " SUM(records), correction_of FROM (" KSM_BILLING_ROLLUP_SQL ") WHERE (?3 IS NULL OR tenant = ?3)" \
    " AND (?4 IS NULL OR project = ?4)"                                                              \
    " GROUP BY tenant, project, service, meter, resource, correction_of" ROW_ORDER
#define LEDGER_SQL \
    "SELECT tenant, project, service, meter, resource, quantity, cost_microyen, records,"           \
    " correction_of FROM billing_ledger WHERE month = ?5 AND (?3 IS NULL OR tenant = ?3)"          \
    " AND (?4 IS NULL OR project = ?4) AND ?1 = ?1 AND ?2 = ?2" ROW_ORDER

static enum ksm_err read_rows(struct ksm_db *db, struct ksm_billing_report *rep, const char *tenant)
{
    sqlite3_stmt *st = ksm_db_prepare(db, rep->closed ? LEDGER_SQL : LIVE_SQL);
    sqlite3_bind_int64(st, 1, rep->start_ms);
    sqlite3_bind_int64(st, 2, rep->end_ms);
    ksm_db_bind_text(st, 3, tenant);
    ksm_db_bind_text(st, 4, rep->project);
    if (rep->closed)
        ksm_db_bind_text(st, 5, rep->month);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rep->nrows == cap) {
            cap = cap ? cap * 2 : 64;
            rep->rows = realloc(rep->rows, cap * sizeof *rep->rows);
            if (!rep->rows)
                abort();
        }
        struct ksm_billing_row *w = &rep->rows[rep->nrows++];
        *w = (struct ksm_billing_row){.tenant = dup_col(st, 0), .project = dup_col(st, 1),
                                      .service = dup_col(st, 2), .meter = dup_col(st, 3),
                                      .resource = dup_col(st, 4),
                                      .quantity = sqlite3_column_int64(st, 5),
                                      .cost_microyen = sqlite3_column_int64(st, 6),
                                      .records = sqlite3_column_int64(st, 7),
                                      .correction_of = sqlite3_column_type(st, 8) == SQLITE_NULL
                                                           ? NULL : dup_col(st, 8)};
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        ksm_error("billing: rows: %s", sqlite3_errmsg(db->h));
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* 税抜 is the rows' sum rounded down to whole yen (the fraction shown as its own line, so the lines
 * still add up); 消費税 is 10% of it, rounded down, once. */
static void invoice_totals(struct ksm_billing_invoice *inv)
{
    inv->subtotal_microyen = 0;
    for (size_t i = 0; i < inv->nrows; i++)
        inv->subtotal_microyen += inv->rows[i].cost_microyen;
    inv->excl_tax_yen = inv->subtotal_microyen / 1000000;
    inv->rounding_microyen = -(inv->subtotal_microyen % 1000000);
    inv->tax_yen = inv->excl_tax_yen * KSM_BILLING_TAX_PERCENT / 100;
    inv->incl_tax_yen = inv->excl_tax_yen + inv->tax_yen;
}

static char *tenant_field(json_t *t, const char *k)
{
    const char *s = json_string_value(json_object_get(t, k));
    return ksm_xstrdup(s ? s : "");
}

static void invoice_tenant(struct ksm_db *db, struct ksm_billing_invoice *inv)
{
    json_t *t = NULL;
    if (ksm_iam_tenant_get(db, inv->tenant, &t) != KSM_E_OK)
        t = json_object();   /* a deleted tenant still has its usage billed */
    inv->tenant_name = tenant_field(t, "name");
    inv->tenant_kind = tenant_field(t, "kind");
    inv->corporate_number = tenant_field(t, "corporate_number");
    json_decref(t);
}

static void row_project(struct ksm_db *db, struct ksm_billing_row *w)
{
    json_t *p = NULL;
    if (!w->project || ksm_iam_project_get(db, w->project, &p) != KSM_E_OK)
        p = json_object();
    const char *name = json_string_value(json_object_get(p, "name"));
    w->project_name = ksm_xstrdup(name ? name : w->project ? w->project : "");
    w->environment = tenant_field(p, "environment");
    json_decref(p);
}

/* Rows are ordered by tenant: each run of one tenant is an invoice. */
static void group_invoices(struct ksm_db *db, struct ksm_billing_report *rep, const char *tenant)
{
    rep->inv = calloc(rep->nrows + 1, sizeof *rep->inv);
    if (!rep->inv)
        abort();
    for (size_t i = 0; i < rep->nrows; i++) {
        if (!rep->ninv || strcmp(rep->inv[rep->ninv - 1].tenant, rep->rows[i].tenant)) {
            rep->inv[rep->ninv].tenant = ksm_xstrdup(rep->rows[i].tenant);
            rep->inv[rep->ninv++].rows = &rep->rows[i];
        }
        rep->inv[rep->ninv - 1].nrows++;
        row_project(db, &rep->rows[i]);
    }
    if (!rep->ninv && tenant)   /* a tenant with nothing this month still gets its (zero) invoice */
        rep->inv[rep->ninv++].tenant = ksm_xstrdup(tenant);
    for (size_t i = 0; i < rep->ninv; i++) {
        invoice_totals(&rep->inv[i]);
        invoice_tenant(db, &rep->inv[i]);
    }
}

static enum ksm_err month_state(struct ksm_db *db, struct ksm_billing_report *rep)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT closed_ms FROM billing_months WHERE month = ?");
    ksm_db_bind_text(st, 1, rep->month);
    int rc = sqlite3_step(st);
    rep->closed = rc == SQLITE_ROW;
    rep->closed_ms = rep->closed ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_billing_report_build(struct ksm_db *db, const struct ksm_billing_operator *op,
                                      const char *month, const char *tenant, const char *project,
                                      struct ksm_billing_report *rep, char why[KSM_BILLING_WHY])
{
    memset(rep, 0, sizeof *rep);
    if (ksm_billing_month_parse(month, &rep->start_ms, &rep->end_ms)) {
        snprintf(why, KSM_BILLING_WHY, "month must be YYYY-MM (a JST month)");
        return KSM_E_INVALID_ARGUMENT;
    }
    snprintf(rep->month, sizeof rep->month, "%s", month);
    rep->fiscal_year = ksm_billing_fiscal_year(month);
    rep->project = project;
    rep->op = *op;
    /* one read transaction: the month's state and its rows are one snapshot (a close in between
     * would otherwise be read half from each side) */
    if (ksm_db_exec(db, "BEGIN") != SQLITE_OK)
        return KSM_E_INTERNAL;
    enum ksm_err e = month_state(db, rep);
    if (e == KSM_E_OK)
        e = read_rows(db, rep, tenant);
    if (e == KSM_E_OK)
        group_invoices(db, rep, tenant);
    ksm_db_exec(db, "COMMIT");
    return e;
}

void ksm_billing_report_free(struct ksm_billing_report *rep)
{
    for (size_t i = 0; i < rep->nrows; i++) {
        struct ksm_billing_row *w = &rep->rows[i];
        free(w->tenant), free(w->project), free(w->service), free(w->meter), free(w->resource);
        free(w->project_name), free(w->environment), free(w->correction_of);
    }
    for (size_t i = 0; i < rep->ninv; i++) {
        struct ksm_billing_invoice *v = &rep->inv[i];
        free(v->tenant), free(v->tenant_name), free(v->tenant_kind), free(v->corporate_number);
    }
    free(rep->rows);
    free(rep->inv);
    memset(rep, 0, sizeof *rep);
}

/* ---- closing a month ---------------------------------------------------------------------------- */

/* The month's rows as its open report showed them (the same rollup: its own records and the
 * corrections booked in it), then its watermark, in the close's transaction. */
static enum ksm_err copy_to_ledger(struct ksm_db *db, const char *month, int64_t start, int64_t end)
{
    sqlite3_stmt *st = ksm_db_prepare(db,
        "INSERT INTO billing_ledger(month, tenant, project, service, meter, resource, quantity,"
        " cost_microyen, records, correction_of) SELECT ?3, tenant, project, service, meter, resource,"
        " SUM(quantity), SUM(cost_microyen), SUM(records), correction_of FROM ("
        KSM_BILLING_ROLLUP_SQL ") GROUP BY tenant, project, service, meter, resource, correction_of");
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, end);
    ksm_db_bind_text(st, 3, month);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return ksm_billing_watermark_set(db, month, start, end);
}

static enum ksm_err mark_closed(struct ksm_db *db, const char *month, int64_t now_ms, const char *actor)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT OR IGNORE INTO billing_months(month, closed_ms,"
                                          " closed_by) VALUES(?,?,?)");
    ksm_db_bind_text(st, 1, month);
    sqlite3_bind_int64(st, 2, now_ms);
    ksm_db_bind_text(st, 3, actor);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return sqlite3_changes(db->h) ? KSM_E_OK : KSM_E_CONFLICT;
}

enum ksm_err ksm_billing_month_close(struct ksm_db *db, const char *month, int64_t now_ms,
                                     const char *actor, json_t **out, char why[KSM_BILLING_WHY])
{
    int64_t start, end;
    *out = NULL;
    if (ksm_billing_month_parse(month, &start, &end)) {
        snprintf(why, KSM_BILLING_WHY, "month must be YYYY-MM (a JST month)");
        return KSM_E_INVALID_ARGUMENT;
    }
    if (end > now_ms) {
        snprintf(why, KSM_BILLING_WHY, "%s has not ended (JST): only a past month can be closed", month);
        return KSM_E_INVALID_ARGUMENT;
    }
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    enum ksm_err e = mark_closed(db, month, now_ms, actor);
    if (e == KSM_E_CONFLICT)
        snprintf(why, KSM_BILLING_WHY, "%s is already closed: a closed month never changes", month);
    if (e == KSM_E_OK)
        e = copy_to_ledger(db, month, start, end);
    if (e != KSM_E_OK || ksm_db_commit(db) != SQLITE_OK) {
        ksm_db_rollback(db);
        return e == KSM_E_OK ? KSM_E_INTERNAL : e;
    }
    char when[32];
    ksm_rfc3339_ms(now_ms, when);
    *out = json_pack("{s:s, s:b, s:s, s:s}", "month", month, "closed", 1, "closed_at", when,
                     "closed_by", actor ? actor : "");
    return KSM_E_OK;
}

enum ksm_err ksm_billing_month_list(struct ksm_db *db, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT month, closed_ms, closed_by FROM billing_months"
                                          " ORDER BY month");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char when[32];
        ksm_rfc3339_ms(sqlite3_column_int64(st, 1), when);
        json_array_append_new(items, json_pack("{s:s, s:b, s:s, s:s?}", "month", ksm_db_col_text(st, 0),
                                               "closed", 1, "closed_at", when, "closed_by",
                                               ksm_db_col_text(st, 2)));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
