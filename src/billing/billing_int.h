/* billing_int.h — what the billing files share and nothing outside them calls: the price list's
 * generation and the per-thread memo of prices in force (billing_price_memo.c). */
#ifndef KSM_BILLING_INT_H
#define KSM_BILLING_INT_H
#include <stdbool.h>
#include <stdint.h>

#include "billing/billing.h"

uint64_t ksm_billing__price_generation(void);
void ksm_billing__prices_changed(void); /* after a price is added or ended (committed) */
/* The memoised price of m at t: true with *per and *price when one is known. */
bool ksm_billing__memo_get(const struct ksm_billing_meter *m, int64_t t, int64_t *per,
                           int64_t *price);
/* Remembers m's price row [from, until) read under generation gen. */
void ksm_billing__memo_put(const struct ksm_billing_meter *m, uint64_t gen, int64_t from,
                           int64_t until, int64_t per, int64_t price);

#endif
