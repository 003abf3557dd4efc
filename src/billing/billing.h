/* billing.h — the price list, rating, the month ledger and the monthly report (実績レポート, SPEC.md
 * B10, C; docs/billing.md). Money is integer micro-yen (1e-6 yen) everywhere; months and fiscal years
 * are JST (UTC+9, no daylight saving), fiscal years April–March. */
#ifndef KSM_BILLING_H
#define KSM_BILLING_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/db.h"
#include "core/error.h"
#include "meter/usage.h"

#define KSM_BILLING_WHY 200
#define KSM_BILLING_TAX_PERCENT 10   /* 消費税 standard rate; services here carry no reduced rate */

void ksm_billing_register_schema(void);   /* before ksm_db_open */
void ksm_billing_correction_register_schema(void);   /* called by the above (billing_correction.c) */
/* Called by the above too (billing_rollup.c): it also sets the usage sink's rollup hook. */
void ksm_billing_rollup_register_schema(void);
/* Rebuilds the rollup from the usage records, in one transaction: what the migration did for the
 * records written before it, for records changed behind the sink's back (tests that set a record's
 * arrival time). KSM_E_INTERNAL on a database error. */
enum ksm_err ksm_billing_rollup_rebuild(struct ksm_db *db);

/* ---- meters (billing_meters.c) ------------------------------------------------------------------ */
struct ksm_billing_meter {
    const char *service, *meter, *unit;
    bool gauge;                     /* a sample of a level (stored bytes), never summed or priced */
};
/* The meter service/meter, or NULL when no service emits it. */
const struct ksm_billing_meter *ksm_billing_meter_find(const char *service, const char *meter);
bool ksm_billing_unit_known(const char *unit);

/* ---- months (billing_month.c) ------------------------------------------------------------------- */
/* "YYYY-MM" → its JST bounds [*start_ms, *end_ms) in UTC ms. -1 when malformed. */
int ksm_billing_month_parse(const char *month, int64_t *start_ms, int64_t *end_ms);
/* The JST month holding ms, as "YYYY-MM" (out: 8 bytes). */
void ksm_billing_month_of(int64_t ms, char out[8]);
/* The fiscal year (April–March, named by the year it starts) of "YYYY-MM"; 0 when malformed. */
int ksm_billing_fiscal_year(const char *month);

/* ---- money (billing_money.c) -------------------------------------------------------------------- */
/* Decimal yen text (up to 6 decimals) → micro-yen; -1 malformed, -2 negative. */
int ksm_billing_yen_parse(const char *s, int64_t *microyen);
/* micro-yen → "-12.345600" (six decimals, always; out: 32 bytes). */
void ksm_billing_yen_format(int64_t microyen, char out[32]);
/* ceil(quantity × price / per) without overflow or floating point; saturates. */
int64_t ksm_billing_rate_amount(int64_t quantity, int64_t price_microyen, int64_t per);

/* ---- price list (billing_price.c) --------------------------------------------------------------- */
/* Adds a price from a JSON body {service, meter, unit, price, per?, valid_from?, valid_until?};
 * *out gets the stored row. INVALID_ARGUMENT / UNKNOWN_FIELD / CONFLICT (overlap) with why. */
enum ksm_err ksm_billing_price_add(struct ksm_db *db, const json_t *body, int64_t now_ms, json_t **out,
                                   char why[KSM_BILLING_WHY]);
enum ksm_err ksm_billing_price_list(struct ksm_db *db, const char *service, json_t *items);
/* Ends an open-ended price at valid_until (RFC 3339), which may not be in the past: a price is
 * changed by ending it and adding the next. NOT_FOUND, INVALID_ARGUMENT (past, before its start, or
 * already ended) with why. */
enum ksm_err ksm_billing_price_end(struct ksm_db *db, int64_t id, const char *valid_until,
                                   int64_t now_ms, json_t **out, char why[KSM_BILLING_WHY]);

/* The meter's rating hook (ksm_usage_set_rater): the cost of rec under the price in force at its
 * time; 0 when no price is set (free or not yet priced). -1 on a database error. */
int64_t ksm_billing_rate(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t time_ms);

/* ---- the monthly report (billing_report.c) ------------------------------------------------------ */
struct ksm_billing_operator {
    const char *name;                 /* InvoiceIssuerName / ProviderName */
    const char *registration_number;  /* 登録番号 "T" + 13 digits, or "" */
    const char *environment;          /* "govcloud" | "overseas-ai" */
};

struct ksm_billing_row {
    char *tenant, *project, *service, *meter, *resource;
    int64_t quantity, cost_microyen, records;
    char *project_name, *environment;   /* the project's, "" when none (or deleted) */
    char *correction_of;                /* a correction of that closed month ("YYYY-MM"), or NULL */
};

/* One invoice: a tenant's rows in one environment. */
struct ksm_billing_invoice {
    char *tenant, *tenant_name, *tenant_kind, *corporate_number;
    struct ksm_billing_row *rows;     /* points into the report's rows */
    size_t nrows;
    int64_t subtotal_microyen;        /* Σ rows, exact */
    int64_t rounding_microyen;        /* -(the fraction of a yen): 税抜 is whole yen, rounded down */
    int64_t excl_tax_yen, tax_yen, incl_tax_yen;   /* 税抜, 消費税 (10%, once per invoice), 税込 */
};

struct ksm_billing_report {
    char month[8];
    int64_t start_ms, end_ms;
    int fiscal_year;
    bool closed;                      /* from the closed-month ledger, never to change */
    int64_t closed_ms;
    const char *project;              /* the filter, or NULL */
    struct ksm_billing_operator op;
    struct ksm_billing_row *rows;
    size_t nrows;
    struct ksm_billing_invoice *inv;
    size_t ninv;
};

/* The report of month for tenant (NULL: every tenant) narrowed to project (NULL: all). An open month
 * is read from the usage records (month to date), a closed one from its ledger. */
enum ksm_err ksm_billing_report_build(struct ksm_db *db, const struct ksm_billing_operator *op,
                                      const char *month, const char *tenant, const char *project,
                                      struct ksm_billing_report *rep, char why[KSM_BILLING_WHY]);
void ksm_billing_report_free(struct ksm_billing_report *rep);

/* Closes a month that has ended: its rows are copied into the ledger with its watermark (usage that
 * arrives for it later is booked as a correction in the month it arrives in), and its reports are
 * read from there from now on. CONFLICT when already closed, INVALID_ARGUMENT when it has not ended. */
enum ksm_err ksm_billing_month_close(struct ksm_db *db, const char *month, int64_t now_ms,
                                     const char *actor, json_t **out, char why[KSM_BILLING_WHY]);
enum ksm_err ksm_billing_month_list(struct ksm_db *db, json_t *items);

/* Rebuilds a closed month from the audit log (billing_recompute.c) and compares it with the ledger:
 * *out = {month, ledger_rows, records_without_audit, differences: [{tenant, project, service, meter,
 * resource, correction_of, ledger, recomputed}]}, a side null when the row is missing there. INVALID_ARGUMENT when
 * the month is malformed or not closed. */
struct ksm_audit;
enum ksm_err ksm_billing_recompute(struct ksm_db *db, struct ksm_audit *audit, const char *month,
                                   json_t **out, char why[KSM_BILLING_WHY]);

/* ---- cost in groups (billing_usage.c) ----------------------------------------------------------- */
enum ksm_billing_group_by { KSM_BILLING_BY_DAY, KSM_BILLING_BY_SERVICE, KSM_BILLING_BY_PROJECT };

struct ksm_billing_group {
    char *key;                 /* "YYYY-MM-DD" (JST), the service, the project id ("": none) */
    char *name;                /* what a person reads: the day, the service's or project's name */
    int64_t cost_microyen, records;
};

struct ksm_billing_usage {
    enum ksm_billing_group_by by;
    struct ksm_billing_group *g;   /* days in order; services and projects in the rows' order */
    size_t n;
    int64_t total_microyen;
};

/* "day" | "service" | "project" → its enum; -1 otherwise. */
int ksm_billing_group_by_parse(const char *s);
/* The service's Japanese name ("storage" → オブジェクトストレージ). */
const char *ksm_billing_service_label(const char *service);
/* rep's cost grouped by; tenant is the one rep was built for (NULL: every tenant). */
enum ksm_err ksm_billing_usage_build(struct ksm_db *db, const struct ksm_billing_report *rep,
                                     const char *tenant, enum ksm_billing_group_by by,
                                     struct ksm_billing_usage *u);
void ksm_billing_usage_free(struct ksm_billing_usage *u);
/* {month, tenant, project, group_by, state, currency, total, total_microyen,
 *  groups: [{key, name, cost, cost_microyen, records}]} (docs/billing.md). */
json_t *ksm_billing_usage_json(const struct ksm_billing_report *rep, const char *tenant,
                               const struct ksm_billing_usage *u);

/* Writers (billing_csv.c, billing_json.c, billing_xlsx.c). The XLSX is built in a file under tmpdir
 * (libxlsxwriter writes files) and handed back as malloc'd bytes; -1 when it cannot be written. */
void ksm_billing_report_csv(const struct ksm_billing_report *rep, struct ksm_buf *out);
json_t *ksm_billing_report_json(const struct ksm_billing_report *rep);
int ksm_billing_report_xlsx(const struct ksm_billing_report *rep, const char *tmpdir, char **out,
                            size_t *outlen);
/* The Japanese report with charts by service, project and day (billing_document.c): a printable
 * HTML page, or an A4 PDF (-1 when it cannot be rendered). days: ksm_billing_usage_build BY_DAY. */
void ksm_billing_report_html(const struct ksm_billing_report *rep, const struct ksm_billing_usage *days,
                             struct ksm_buf *out);
int ksm_billing_report_pdf(const struct ksm_billing_report *rep, const struct ksm_billing_usage *days,
                           char **out, size_t *outlen);

#endif
