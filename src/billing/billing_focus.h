/* billing_focus.h — one FOCUS line as column texts (billing_focus.c), for the report writers. */
#ifndef KSM_BILLING_FOCUS_H
#define KSM_BILLING_FOCUS_H
#include <stddef.h>

#include "billing/billing.h"

#define KSM_FOCUS_NCOLS 47
extern const char *const ksm_focus_columns[KSM_FOCUS_NCOLS];

struct ksm_focus_line {
    const char *v[KSM_FOCUS_NCOLS];   /* NULL or "": the column is empty (null) on this line */
    char account[300], invoice[300], start[32], end[32], fy[8], cost[32], qty[32], sku[600],
        desc[600], charge_start[32], charge_end[32];
};

void ksm_focus_account(const struct ksm_billing_report *rep, const struct ksm_billing_invoice *inv,
                       char *out, size_t n);
void ksm_focus_invoice_id(const struct ksm_billing_report *rep, const struct ksm_billing_invoice *inv,
                          char *out, size_t n);
void ksm_focus_usage(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                     const struct ksm_billing_invoice *inv, const struct ksm_billing_row *w);
void ksm_focus_rounding(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                        const struct ksm_billing_invoice *inv);
void ksm_focus_tax(struct ksm_focus_line *l, const struct ksm_billing_report *rep,
                   const struct ksm_billing_invoice *inv);

#endif
