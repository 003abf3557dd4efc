/* supply_date.c — parsing schedule dates, Western and 和暦 (supply_date.h). Written by hand: glibc's
 * strptime knows the era calendar only through locale data (%Ec), which a server's C locale lacks,
 * and it neither checks the era's first and last days nor reads full-width digits. */
#include "supply/supply_date.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>

#include "core/util.h"

struct era {
    const char *name, *abbr;
    int base;                 /* Western year of the era's year 0 */
    const char *first, *last; /* ISO days of the era's validity */
};

static const struct era eras[] = {
    {"令和", "r", 2018, "2019-05-01", "9999-12-31"},
    {"平成", "h", 1988, "1989-01-08", "2019-04-30"},
};

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100) || y % 400 == 0;
    return m == 2 && leap ? 29 : md[m - 1];
}

struct cur {
    const char *p;
};

static void skip_space(struct cur *c)
{
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
}

static bool eat(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(c->p, w, n))
        return false;
    c->p += n;
    return true;
}

/* 1..4 ASCII digits (NFKC made full-width ones ASCII). */
static int number(struct cur *c, int maxdigits)
{
    skip_space(c);
    int v = 0, n = 0;
    while (*c->p >= '0' && *c->p <= '9' && n < maxdigits) {
        v = v * 10 + (*c->p++ - '0');
        n++;
    }
    if (n == 0 || (*c->p >= '0' && *c->p <= '9'))
        return -1;
    skip_space(c);
    return v;
}

/* A separator between year, month and day: . / - or the kanji unit. */
static bool sep(struct cur *c, const char *unit)
{
    skip_space(c);
    bool ok = eat(c, unit) || eat(c, ".") || eat(c, "/") || eat(c, "-");
    skip_space(c);
    return ok;
}

static const struct era *era_prefix(struct cur *c)
{
    for (size_t i = 0; i < KSM_NELEM(eras); i++) {
        if (eat(c, eras[i].name))
            return &eras[i];
        if ((*c->p | 0x20) == eras[i].abbr[0] && c->p[1] >= '0' && c->p[1] <= '9') {
            c->p++;
            return &eras[i];
        }
    }
    return NULL;
}

static int parse(const char *s, char out[11], const char **why)
{
    struct cur c = {s};
    skip_space(&c);
    const struct era *e = era_prefix(&c);
    int y;
    if (e) {
        skip_space(&c);
        y = eat(&c, "元") ? 1 : number(&c, 3);
        if (y < 1) {
            *why = "the era year is missing (令和8.6.20, 令和元年5月1日)";
            return -1;
        }
        y += e->base;
    } else if ((y = number(&c, 4)) < 1000) {
        *why = "not a date: use 2026-06-20, 2026/6/20, 2026年6月20日 or 令和8.6.20";
        return -1;
    }
    if (!sep(&c, "年")) {
        *why = "a date needs year, month and day";
        return -1;
    }
    int m = number(&c, 2);
    if (m < 1 || m > 12 || !sep(&c, "月")) {
        *why = "the month must be 1 to 12, followed by the day";
        return -1;
    }
    int d = number(&c, 2);
    if (d < 1 || d > month_days(y, m)) {
        *why = "no such day in that month";
        return -1;
    }
    eat(&c, "日");
    skip_space(&c);
    if (*c.p) {
        *why = "unexpected text after the date";
        return -1;
    }
    if (y > 2200) {
        *why = "the year is out of range";
        return -1;
    }
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);   /* ranges checked above */
    if (e && (strcmp(out, e->first) < 0 || strcmp(out, e->last) > 0)) {
        *why = "the date lies outside that era (令和 began 2019-05-01, 平成 ended 2019-04-30)";
        return -1;
    }
    return 0;
}

int ksm_supply_date_parse(const char *s, char out[11], const char **why)
{
    size_t n = strlen(s), len = 0;
    if (n > 64 || !ksm_utf8_valid(s, n)) {
        *why = "not a date";
        return -1;
    }
    /* NFKC: full-width digits and punctuation to ASCII, ㋿ to 令和 */
    uint8_t *u = u8_normalize(UNINORM_NFKC, (const uint8_t *)s, n, NULL, &len);
    if (!u) {
        *why = "not a date";
        return -1;
    }
    char *t = ksm_xmalloc(len + 1);
    memcpy(t, u, len);
    t[len] = '\0';
    free(u);
    int rc = parse(t, out, why);
    free(t);
    return rc;
}

int32_t ksm_supply_date_days(const char *iso)
{
    int y, m, d;
    char tail;
    if (!iso || sscanf(iso, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
        d > month_days(y, m))
        return INT32_MIN;
    return days_from_civil(y, m, d);
}

int32_t ksm_supply_today_jst(void)
{
    int64_t ms = ksm_now_ms() + 9 * 3600 * 1000LL;
    return (int32_t)(ms / 86400000LL);
}

int ksm_supply_fiscal_year_ms(int64_t ms)
{
    int64_t days = (ms + 9 * 3600 * 1000LL) / 86400000LL;
    /* civil_from_days, year and month only */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    return m >= 4 ? y : y - 1;
}
