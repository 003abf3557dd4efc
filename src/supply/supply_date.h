/* supply_date.h — the dates of procurement schedules: ISO and Western forms (2026-06-20,
 * 2026/6/20, 2026年6月20日) and the Japanese era calendar the form uses (令和8.6.20, 令和8年6月20日,
 * R8/6/20, 令和元年, 平成31年4月30日), with full-width digits; calendar-checked (no 2月30日, no 令和
 * before 2019-05-01). Fiscal years run April to March (令和8年度 = FY2026). */
#ifndef KSM_SUPPLY_DATE_H
#define KSM_SUPPLY_DATE_H
#include <stddef.h>
#include <stdint.h>

/* s → "YYYY-MM-DD" in out (11 bytes). 0, or -1 with why (a static message). */
int ksm_supply_date_parse(const char *s, char out[11], const char **why);
/* Days since 1970-01-01 of an ISO date produced above; INT32_MIN when malformed. */
int32_t ksm_supply_date_days(const char *iso);
/* Today in Japan (UTC+9) as days since the epoch. */
int32_t ksm_supply_today_jst(void);
/* The fiscal year (April..March) of a time in ms since the epoch, in Japan's time zone. */
int ksm_supply_fiscal_year_ms(int64_t ms);

#endif
