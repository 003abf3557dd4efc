/* billing_focus.c — the report's lines in FinOps FOCUS 1.2 terms, shared by the CSV and JSON writers:
 * one Usage line per (project, service, meter, resource) of an invoice, then its rounding line
 * (Adjustment) and its one Tax line, so that the lines of an invoice add up to its 税込 total. */
#include "billing/billing_focus.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* FOCUS date-times: UTC, whole seconds, "Z". */
static void utc_seconds(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *const ksm_focus_columns[KSM_FOCUS_NCOLS] = {
    "BillingAccountId", "BillingAccountName", "BillingAccountType", "SubAccountId", "SubAccountName",
    "SubAccountType", "InvoiceId", "InvoiceIssuerName", "ProviderName", "PublisherName",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency",
    "PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit", "PricingCategory",
    "ServiceCategory", "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter",
    "ResourceId", "ResourceName", "ResourceType", "RegionId", "Tags",
    "x_CorporateNumber", "x_TenantKind", "x_Project", "x_Environment", "x_FiscalYear",
    "x_InvoiceRegistrationNumber", "x_TaxRate", "x_Deployment", "x_CorrectionOf",
};

static const char *service_category(const char *service)
{
    return !strcmp(service, "ai") ? "AI and Machine Learning"
         : !strcmp(service, "storage") ? "Storage" : "Other";
}

static const char *service_name(const char *service)
{
    return !strcmp(service, "ai") ? "kasumi AI Gateway"
         : !strcmp(service, "storage") ? "kasumi Object Storage" : service;
}

static const char *resource_type(const char *service)
{
    return !strcmp(service, "ai") ? "Model" : !strcmp(service, "storage") ? "Bucket" : "";
}

/* A billing account per tenant and environment: the overseas-ai environment bills apart. */
void ksm_focus_account(const struct ksm_billing_report *rep, const struct ksm_billing_invoice *inv,
                       char *out, size_t n)
{
    if (strcmp(rep->op.environment, "govcloud"))
        snprintf(out, n, "%s@%s", inv->tenant, rep->op.environment);
    else
        snprintf(out, n, "%s", inv->tenant);
}

void ksm_focus_invoice_id(const struct ksm_billing_report *rep, const struct ksm_billing_invoice *inv,
                          char *out, size_t n)
{
    snprintf(out, n, "%s-%.4s%.2s-%s", rep->op.environment, rep->month, rep->month + 5, inv->tenant);
}

static void common(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                   const struct ksm_billing_invoice *inv)
{
    memset(l, 0, sizeof *l);
    const char **v = l->v;
    ksm_focus_account(rep, inv, l->account, sizeof l->account);
    ksm_focus_invoice_id(rep, inv, l->invoice, sizeof l->invoice);
    utc_seconds(rep->start_ms, l->start);
    utc_seconds(rep->end_ms, l->end);
    snprintf(l->fy, sizeof l->fy, "%d", rep->fiscal_year);
    v[0] = l->account, v[1] = inv->tenant_name, v[2] = "Tenant";
    v[6] = l->invoice, v[7] = rep->op.name, v[8] = rep->op.name, v[9] = rep->op.name;
    v[10] = l->start, v[11] = l->end, v[12] = l->start, v[13] = l->end;
    v[22] = "JPY";
    v[38] = inv->corporate_number, v[39] = inv->tenant_kind;
    v[42] = l->fy, v[43] = rep->op.registration_number, v[45] = rep->op.environment;
}

static void money(struct ksm_focus_line *l, int64_t microyen)
{
    ksm_billing_yen_format(microyen, l->cost);
    l->v[18] = l->v[19] = l->v[20] = l->v[21] = l->cost;
}

/* A correction of a closed month (FOCUS ChargeClass "Correction"): billed in this period, charged
 * in the month it corrects, which x_CorrectionOf names. */
static void correction(struct ksm_focus_line *l, const struct ksm_billing_row *w)
{
    int64_t start, end;
    if (ksm_billing_month_parse(w->correction_of, &start, &end) == 0) {
        utc_seconds(start, l->charge_start);
        utc_seconds(end, l->charge_end);
        l->v[12] = l->charge_start, l->v[13] = l->charge_end;
    }
    snprintf(l->desc, sizeof l->desc, "訂正 %s分: %s %s", w->correction_of, service_name(w->service),
             w->meter);
    l->v[15] = "Correction", l->v[46] = w->correction_of;
}

void ksm_focus_usage(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                     const struct ksm_billing_invoice *inv, const struct ksm_billing_row *w)
{
    common(l, rep, inv);
    const char **v = l->v;
    const struct ksm_billing_meter *m = ksm_billing_meter_find(w->service, w->meter);
    const char *unit = m ? m->unit : "unit";
    snprintf(l->qty, sizeof l->qty, "%lld", (long long)w->quantity);
    snprintf(l->sku, sizeof l->sku, "%s/%s", w->service, w->meter);
    snprintf(l->desc, sizeof l->desc, "%s %s", service_name(w->service), w->meter);
    money(l, w->cost_microyen);
    v[3] = w->project ? w->project : "", v[4] = w->project_name, v[5] = w->project ? "Project" : "";
    v[14] = "Usage", v[16] = l->desc, v[17] = "Usage-Based";
    v[23] = l->qty, v[24] = unit, v[25] = l->qty, v[26] = unit, v[27] = "Standard";
    v[28] = service_category(w->service), v[29] = service_name(w->service), v[31] = l->sku;
    v[32] = w->meter;
    v[33] = w->resource ? w->resource : "", v[34] = v[33];
    v[35] = w->resource ? resource_type(w->service) : "";
    v[37] = "{}";
    v[40] = w->project_name, v[41] = w->environment;
    v[44] = "";
    if (w->correction_of)
        correction(l, w);
}

void ksm_focus_rounding(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                        const struct ksm_billing_invoice *inv)
{
    common(l, rep, inv);
    money(l, inv->rounding_microyen);
    l->v[14] = "Adjustment", l->v[16] = "1円未満切捨て (rounding to whole yen)";
    l->v[17] = "One-Time", l->v[37] = "{}", l->v[44] = "";
}

void ksm_focus_tax(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                   const struct ksm_billing_invoice *inv)
{
    common(l, rep, inv);
    money(l, inv->tax_yen * 1000000);
    snprintf(l->desc, sizeof l->desc, "消費税 %d%% (対象 %lld円)", KSM_BILLING_TAX_PERCENT,
             (long long)inv->excl_tax_yen);
    snprintf(l->qty, sizeof l->qty, "%d%%", KSM_BILLING_TAX_PERCENT);
    l->v[14] = "Tax", l->v[16] = l->desc, l->v[17] = "One-Time", l->v[37] = "{}";
    l->v[44] = l->qty;
}
