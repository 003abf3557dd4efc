/* corpnum.c — the two check-digit rules, straight from the published formulas. */
#include "core/corpnum.h"

#include <string.h>

static bool all_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool ksm_corpnum_valid(const char *s)
{
    if (!all_digits(s, 13))
        return false;
    /* P_n is the n-th base digit from the right (s[12] is n=1); Q_n = 1 odd, 2 even. */
    int sum = 0;
    for (int n = 1; n <= 12; n++)
        sum += (s[13 - n] - '0') * (n % 2 ? 1 : 2);
    return s[0] - '0' == 9 - sum % 9;
}

bool ksm_mynumber_valid(const char *s)
{
    if (!all_digits(s, 12))
        return false;
    /* P_n is the n-th base digit from the right (s[10] is n=1); Q_n = n+1 (n<=6), n-5 (n>=7). */
    int sum = 0;
    for (int n = 1; n <= 11; n++)
        sum += (s[11 - n] - '0') * (n <= 6 ? n + 1 : n - 5);
    int r = sum % 11, check = r <= 1 ? 0 : 11 - r;
    return s[11] - '0' == check;
}
