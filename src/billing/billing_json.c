/* billing_json.c — the report as JSON: the month, the operator, and per invoice its totals (税抜,
 * 消費税, 税込) and its lines with the same FOCUS columns as the CSV. Money is text ("12.345600"),
 * never a JSON number, which a reader would parse into a double. */
#include "billing/billing.h"
#include "billing/billing_focus.h"

#include <stdio.h>

#include "core/util.h"

static json_t *line_json(const struct ksm_focus_line *l)
{
    json_t *o = json_object();
    for (int i = 0; i < KSM_FOCUS_NCOLS; i++)
        json_object_set_new(o, ksm_focus_columns[i],
                            l->v[i] && *l->v[i] ? json_string(l->v[i]) : json_null());
    return o;
}

static json_t *yen(int64_t whole_yen)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)whole_yen);
    return json_string(buf);
}

static json_t *invoice_json(const struct ksm_billing_report *rep, const struct ksm_billing_invoice *inv)
{
    struct ksm_focus_line l;
    json_t *lines = json_array();
    for (size_t j = 0; j < inv->nrows; j++) {
        ksm_focus_usage(&l, rep, inv, &inv->rows[j]);
        json_array_append_new(lines, line_json(&l));
    }
    if (inv->rounding_microyen) {
        ksm_focus_rounding(&l, rep, inv);
        json_array_append_new(lines, line_json(&l));
    }
    ksm_focus_tax(&l, rep, inv);
    json_array_append_new(lines, line_json(&l));
    char sub[32];
    ksm_billing_yen_format(inv->subtotal_microyen, sub);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:o}",
                     "invoice_id", l.invoice, "billing_account_id", l.account,
                     "tenant", inv->tenant, "tenant_name", inv->tenant_name,
                     "tenant_kind", inv->tenant_kind, "corporate_number", inv->corporate_number,
                     "usage_subtotal", sub, "amount_excluding_tax", yen(inv->excl_tax_yen),
                     "consumption_tax", yen(inv->tax_yen), "amount_including_tax",
                     yen(inv->incl_tax_yen), "tax_rate_percent", KSM_BILLING_TAX_PERCENT,
                     "lines", lines);
}

json_t *ksm_billing_report_json(const struct ksm_billing_report *rep)
{
    json_t *invoices = json_array();
    for (size_t i = 0; i < rep->ninv; i++)
        json_array_append_new(invoices, invoice_json(rep, &rep->inv[i]));
    char start[32], end[32], closed[32];
    ksm_rfc3339_ms(rep->start_ms, start);
    ksm_rfc3339_ms(rep->end_ms, end);
    if (rep->closed)
        ksm_rfc3339_ms(rep->closed_ms, closed);
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:{s:s, s:o, s:s}, s:o}",
                     "month", rep->month, "period_start", start, "period_end", end,
                     "fiscal_year", rep->fiscal_year, "state", rep->closed ? "closed" : "open",
                     "closed_at", rep->closed ? json_string(closed) : json_null(),
                     "project", rep->project ? json_string(rep->project) : json_null(),
                     "operator", "name", rep->op.name, "registration_number",
                     *rep->op.registration_number ? json_string(rep->op.registration_number)
                                                  : json_null(),
                     "environment", rep->op.environment, "invoices", invoices);
}
