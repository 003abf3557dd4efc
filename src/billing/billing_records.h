/* billing_records.h — which usage records a month's report sums (billing_correction.c). A month N
 * sums its own records (their time in N) and the corrections booked in it: records of an earlier
 * month M that arrived after M was closed (their id above M's watermark, the last record id when M
 * was closed), booked in the JST month they arrived in (recorded_ms), which is N. Once N is closed,
 * its watermark bounds both parts, so the set no longer changes. */
#ifndef KSM_BILLING_RECORDS_H
#define KSM_BILLING_RECORDS_H
#include "billing/billing.h"

/* A sub-select of the set, columns id, tenant, project, service, meter, resource, quantity,
 * cost_microyen, time_ms, request_id, book_ms (when it counts: its time, or its arrival for a
 * correction) and correction_of (the month it corrects, NULL for the month's own). Parameters: ?1,
 * ?2 the month's bounds, ?6 its watermark (NULL while it is open: every record so far). Gauges are
 * the caller's to leave out. */
#define KSM_BILLING_RECORDS_SQL                                                                     \
    "SELECT id, tenant, project, service, meter, resource, quantity, cost_microyen, time_ms,"       \
    " request_id, time_ms AS book_ms, NULL AS correction_of FROM usage_records"                    \
    " WHERE time_ms >= ?1 AND time_ms < ?2 AND (?6 IS NULL OR id <= ?6)"                            \
    " UNION ALL SELECT u.id, u.tenant, u.project, u.service, u.meter, u.resource, u.quantity,"     \
    " u.cost_microyen, u.time_ms, u.request_id, u.recorded_ms, k.month"                            \
    " FROM usage_records u JOIN billing_month_marks k ON u.time_ms >= k.start_ms"                  \
    " AND u.time_ms < k.end_ms AND u.id > k.last_record"                                           \
    " WHERE u.recorded_ms >= ?1 AND u.recorded_ms < ?2 AND (?6 IS NULL OR u.id <= ?6)"

/* The same set summed per JST day at write time (billing_rollup.c), gauges left out: columns
 * day_ms, tenant, project, service, meter, resource, quantity, cost_microyen, records and
 * correction_of (NULLs as in the records). Parameters ?1, ?2: the month's bounds. A closed month's
 * days hold exactly the records its watermark bounds: a record that arrives later for it is booked
 * on the day it arrived, and no record can arrive in a month after it has been closed. */
#define KSM_BILLING_ROLLUP_SQL                                                                      \
    "SELECT day_ms, tenant, NULLIF(project, '') AS project, service, meter,"                       \
    " NULLIF(resource, '') AS resource, quantity, cost_microyen, records,"                        \
    " NULLIF(correction_of, '') AS correction_of FROM billing_rollup"                              \
    " WHERE day_ms >= ?1 AND day_ms < ?2"

#define KSM_BILLING_NOT_GAUGE " NOT (service = 'storage' AND meter = 'storage_bytes')"

/* The watermark of a closed month (*last), or -1 when it has none (open, or closed before
 * watermarks were kept). */
int ksm_billing_watermark(struct ksm_db *db, const char *month, int64_t *last);
/* Inside the close's transaction: the month's watermark is the last usage record so far. */
enum ksm_err ksm_billing_watermark_set(struct ksm_db *db, const char *month, int64_t start,
                                       int64_t end);
/* Binds ?6 of KSM_BILLING_RECORDS_SQL: the month's watermark, or NULL. */
void ksm_billing_bind_watermark(sqlite3_stmt *st, struct ksm_db *db, const char *month);

#endif
