/* billing_money.c — yen as integer micro-yen: parsed digit by digit from the operator's decimal text
 * (never through a double, whose binary value is not the decimal written) and rated in 128-bit
 * integers. */
#include "billing/billing.h"

#include <stdio.h>

#include "ai/ai_store.h"

int ksm_billing_yen_parse(const char *s, int64_t *microyen)
{
    if (!s)
        return -1;
    if (s[0] == '-')
        return ksm_ai_yen_parse(s + 1, microyen) == 0 ? -2 : -1;
    return ksm_ai_yen_parse(s, microyen);
}

void ksm_billing_yen_format(int64_t microyen, char out[32])
{
    /* the magnitude as unsigned, so INT64_MIN has one too */
    uint64_t m = microyen < 0 ? 0 - (uint64_t)microyen : (uint64_t)microyen;
    snprintf(out, 32, "%s%llu.%06llu", microyen < 0 ? "-" : "", (unsigned long long)(m / 1000000),
             (unsigned long long)(m % 1000000));
}

int64_t ksm_billing_rate_amount(int64_t quantity, int64_t price_microyen, int64_t per)
{
    if (quantity <= 0 || price_microyen <= 0 || per <= 0)
        return 0;
    __int128 prod = (__int128)quantity * price_microyen;
    __int128 cost = (prod + per - 1) / per;   /* a partial unit is charged up, as the AI rates do */
    return cost > INT64_MAX / 4 ? INT64_MAX / 4 : (int64_t)cost;
}
