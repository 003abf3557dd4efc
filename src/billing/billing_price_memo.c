/* billing_price_memo.c — the price in force, memoised per thread for the rating hook: every usage
 * record is rated when written (ksm_billing_rate), so the lookup is on the write path of every S3
 * request. An entry holds a meter's price row with the interval [valid_from, valid_until) in which
 * it applies, valid while the price list's generation is unchanged; adding or ending a price bumps
 * the generation, so the very next record on every thread reads the list again. (Prices never
 * overlap and are never edited but for ending an open-ended one, so a row's interval is exact.) */
#include "billing/billing_int.h"

#include <stdatomic.h>
#include <string.h>

#define SLOTS 16

struct memo {
    const struct ksm_billing_meter *meter;
    uint64_t gen;
    int64_t from, until, per, price;
};

static _Atomic uint64_t generation = 1;
static __thread struct memo memo[SLOTS];

uint64_t ksm_billing__price_generation(void) { return atomic_load(&generation); }

void ksm_billing__prices_changed(void) { atomic_fetch_add(&generation, 1); }

bool ksm_billing__memo_get(const struct ksm_billing_meter *m, int64_t t, int64_t *per,
                           int64_t *price)
{
    uint64_t gen = atomic_load(&generation);
    for (int i = 0; i < SLOTS && memo[i].meter; i++)
        if (memo[i].meter == m && memo[i].gen == gen && memo[i].from <= t && t < memo[i].until) {
            *per = memo[i].per;
            *price = memo[i].price;
            return true;
        }
    return false;
}

void ksm_billing__memo_put(const struct ksm_billing_meter *m, uint64_t gen, int64_t from,
                           int64_t until, int64_t per, int64_t price)
{
    int i = 0;
    while (i < SLOTS - 1 && memo[i].meter && memo[i].meter != m)
        i++;
    memo[i] = (struct memo){m, gen, from, until, per, price};
}
