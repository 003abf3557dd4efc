/* billing_meters.c — the meters services emit and the unit each is counted in. A price names its
 * unit so that an operator who thinks "per GB" while the meter counts bytes is told, not billed a
 * billion times over. */
#include "billing/billing.h"

#include <string.h>

#include "core/util.h"

static const struct ksm_billing_meter meters[] = {
    {"storage", "requests_read", "request", false},
    {"storage", "requests_write", "request", false},
    {"storage", "bytes_in", "byte", false},
    {"storage", "bytes_out", "byte", false},
    {"storage", "storage_byte_seconds", "byte_second", false},
    {"storage", "storage_bytes", "byte", true},
    {"ai", "tokens", "token", false},
};

static const char *const units[] = {"request", "byte", "byte_second", "token"};

const struct ksm_billing_meter *ksm_billing_meter_find(const char *service, const char *meter)
{
    for (size_t i = 0; i < KSM_NELEM(meters); i++)
        if (service && meter && !strcmp(meters[i].service, service) && !strcmp(meters[i].meter, meter))
            return &meters[i];
    return NULL;
}

bool ksm_billing_unit_known(const char *unit)
{
    for (size_t i = 0; i < KSM_NELEM(units); i++)
        if (unit && !strcmp(units[i], unit))
            return true;
    return false;
}
