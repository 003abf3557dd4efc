/* billing_csv.c — the report as CSV (RFC 4180, UTF-8, CRLF): FOCUS 1.2 columns then x_ columns, one
 * line per usage row, then each invoice's rounding and tax lines. */
#include "billing/billing.h"
#include "billing/billing_focus.h"

#include <string.h>

static void field(struct ksm_buf *out, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        ksm_buf_append(out, s, strlen(s));
        return;
    }
    ksm_buf_append(out, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            ksm_buf_append(out, "\"", 1);
        ksm_buf_append(out, p, 1);
    }
    ksm_buf_append(out, "\"", 1);
}

static void line(struct ksm_buf *out, const char *const *v)
{
    for (int i = 0; i < KSM_FOCUS_NCOLS; i++) {
        if (i)
            ksm_buf_append(out, ",", 1);
        field(out, v[i]);
    }
    ksm_buf_append(out, "\r\n", 2);
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
