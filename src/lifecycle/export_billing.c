/* export_billing.c — usage and bills for an export: one FOCUS CSV per month from the tenant's first
 * usage to the current month, written by the billing report's own writer (src/billing), so the
 * export says exactly what the monthly report says. */
#include "lifecycle/export_int.h"

#include <stdio.h>
#include <string.h>

#include "billing/billing.h"

void ksm_export__months(struct ksm_db *db, const char *tenant, const char *project, int64_t now_ms,
                        char first[8], char last[8])
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT min(time_ms) FROM usage_records WHERE tenant=?1 "
                                          "AND (?2 IS NULL OR project=?2)");
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, project);
    int64_t t = now_ms;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        t = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    ksm_billing_month_of(t < now_ms ? t : now_ms, first);
    ksm_billing_month_of(now_ms, last);
}

void ksm_export__next_month(char month[8])
{
    int y = 0, m = 0; /* as unsigned below: the checks bound them, the compiler cannot see it */
    if (sscanf(month, "%4d-%2d", &y, &m) != 2 || y < 1 || y > 9998 || m < 1 || m > 12)
        return;
    if (++m > 12)
        m = 1, y++;
    snprintf(month, 8, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
}

enum ksm_err ksm_export__focus_csv(struct ksm_db *db, const struct ksm_export_opts *o,
                                   const char *month, struct ksm_buf *out)
{
    struct ksm_billing_operator op = {o->operator_name ? o->operator_name : "",
                                      o->registration_number ? o->registration_number : "",
                                      o->environment ? o->environment : "govcloud"};
    struct ksm_billing_report rep;
    char why[KSM_BILLING_WHY] = "";
    enum ksm_err e = ksm_billing_report_build(db, &op, month, o->tenant, o->project, &rep, why);
    if (e == KSM_E_OK)
        ksm_billing_report_csv(&rep, out);
    ksm_billing_report_free(&rep);
    return e;
}
