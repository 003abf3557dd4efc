/* report.c — the small helpers every renderer of report.h uses. */
#include "report/report.h"

#include <stdio.h>
#include <string.h>

void ksm_report_group_digits(int64_t n, char out[32])
{
    char digits[24];
    /* the magnitude as unsigned, so INT64_MIN has one too */
    uint64_t m = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)m), o = 0;
    if (n < 0)
        out[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

int64_t ksm_report_max(const struct ksm_report_point *pts, size_t n)
{
    int64_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (pts[i].value > max)
            max = pts[i].value;
    return max;
}
