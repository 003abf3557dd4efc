/* report.h — what the report renderers (HTML in html.c and svg.c, PDF in pdf.c) share: a chart's
 * data points, a table's columns, and numbers written the Japanese way (1,234,567). Renderers take
 * text that is already formatted: money stays integer in the caller (billing, certificates), and
 * a chart value is used only for the bar's length, never printed as a number here. */
#ifndef KSM_REPORT_H
#define KSM_REPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One bar of a bar chart or one point of a line chart. */
struct ksm_report_point {
    const char *label;   /* the category or the day, e.g. "ストレージ", "03-14" */
    int64_t value;       /* its size (any integer unit, e.g. whole yen); negatives draw as 0 */
    const char *text;    /* what is written beside it, e.g. "1,234円"; NULL: nothing */
};

/* One column of a table. */
struct ksm_report_col {
    const char *title;
    double width;        /* share of the table's width; the shares are normalised */
    bool numeric;        /* right-aligned (amounts, quantities) */
};

/* n with thousands separators ("-1,234,567"); out: 32 bytes. */
void ksm_report_group_digits(int64_t n, char out[32]);

/* The largest value of pts (at least 1, so a chart of zeros still has a scale). */
int64_t ksm_report_max(const struct ksm_report_point *pts, size_t n);

#endif
