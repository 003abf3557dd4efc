/* billing_month.c — JST months and fiscal years. Japan keeps no daylight saving, so a JST month is
 * its UTC calendar month shifted by nine hours; no time-zone database is consulted (or can be
 * misconfigured on the host). */
#include "billing/billing.h"

#include <time.h>

#define JST_OFFSET_MS (9LL * 3600 * 1000)

static int64_t utc_ms(int year, int month)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1};
    return (int64_t)timegm(&tm) * 1000;
}

static int parse(const char *s, int *year, int *month)
{
    for (int i = 0; i < 7; i++)
        if (i == 4 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    if (s[7])
        return -1;
    *year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    *month = (s[5] - '0') * 10 + (s[6] - '0');
    return *year >= 2000 && *year <= 9998 && *month >= 1 && *month <= 12 ? 0 : -1;
}

int ksm_billing_month_parse(const char *month, int64_t *start_ms, int64_t *end_ms)
{
    int y, m;
    if (!month || parse(month, &y, &m))
        return -1;
    *start_ms = utc_ms(y, m) - JST_OFFSET_MS;
    *end_ms = (m == 12 ? utc_ms(y + 1, 1) : utc_ms(y, m + 1)) - JST_OFFSET_MS;
    return 0;
}

void ksm_billing_month_of(int64_t ms, char out[8])
{
    time_t t = (time_t)((ms + JST_OFFSET_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 8, "%Y-%m", &tm);
}

int ksm_billing_fiscal_year(const char *month)
{
    int y, m;
    if (!month || parse(month, &y, &m))
        return 0;
    return m >= 4 ? y : y - 1;
}
