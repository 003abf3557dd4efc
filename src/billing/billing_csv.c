/* billing_csv.c — the report as CSV (RFC 4180, UTF-8, CRLF): FOCUS 1.2 columns then x_ columns, one
 * line per usage row, then each invoice's rounding and tax lines. */
#include "billing/billing.h"
#include "billing/billing_focus.h"
#include "core/csv.h"

#include <string.h>

static void line(struct ksm_buf *out, const char *const *v)
{
    ksm_csv_record(out, v, KSM_FOCUS_NCOLS);
}

void ksm_billing_report_csv(const struct ksm_billing_report *rep, struct ksm_buf *out)
{
    struct ksm_focus_line l;
    line(out, ksm_focus_columns);
    for (size_t i = 0; i < rep->ninv; i++) {
        const struct ksm_billing_invoice *inv = &rep->inv[i];
        for (size_t j = 0; j < inv->nrows; j++) {
            ksm_focus_usage(&l, rep, inv, &inv->rows[j]);
            line(out, l.v);
        }
        if (inv->rounding_microyen) {
            ksm_focus_rounding(&l, rep, inv);
            line(out, l.v);
        }
        ksm_focus_tax(&l, rep, inv);
        line(out, l.v);
    }
}
