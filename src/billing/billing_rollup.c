/* billing_rollup.c — the per-day sums the report reads instead of the usage records (issue 7 item 9:
 * a month of 10 million records summed at read time took minutes). The usage sink adds each new
 * record to its row here, in the record's own transaction, keyed by everything the report groups
 * by: the JST day it is booked on (its time, or its arrival for a correction: billing_records.h),
 * tenant, project, service, meter, resource and the month it corrects. A record is a correction when
 * its month had been closed (has a watermark) when it was written: the watermark is the last id at
 * the close, so every later record of that month is above it — the same test the records query
 * makes. Gauges are not usage and are not summed. NULL project, resource and correction_of are
 * stored as '' so the key is unique (SQLite keeps NULLs apart in a key); readers turn them back. */
#include "billing/billing_records.h"

#include <string.h>

#include "core/util.h"

/* The JST day (its start, in UTC ms) that ms falls on. */
#define DAY_OF(ms) "((" ms " + 32400000) / 86400000 * 86400000 - 32400000)"

/* Every record's row, by the same rule as the sink's (the marks as they are now). */
#define FROM_RECORDS                                                                               \
    "INSERT INTO billing_rollup SELECT " DAY_OF("b") ", tenant, COALESCE(project, ''), service,"    \
    " meter, COALESCE(resource, ''), COALESCE(month, ''), SUM(quantity), SUM(cost_microyen),"      \
    " COUNT(*) FROM (SELECT u.*, k.month, CASE WHEN k.month IS NULL THEN u.time_ms"               \
    " ELSE u.recorded_ms END AS b FROM usage_records u LEFT JOIN billing_month_marks k"            \
    " ON u.time_ms >= k.start_ms AND u.time_ms < k.end_ms AND u.id > k.last_record"               \
    " WHERE" KSM_BILLING_NOT_GAUGE ") GROUP BY 1, 2, 3, 4, 5, 6, 7;"

static const struct ksm_migration rollup_migrations[] = {
    {"billing_rollup", 1,
     "CREATE TABLE billing_rollup("
     " day_ms INTEGER NOT NULL, tenant TEXT NOT NULL, project TEXT NOT NULL,"
     " service TEXT NOT NULL, meter TEXT NOT NULL, resource TEXT NOT NULL,"
     " correction_of TEXT NOT NULL, quantity INTEGER NOT NULL, cost_microyen INTEGER NOT NULL,"
     " records INTEGER NOT NULL,"
     " PRIMARY KEY(day_ms, tenant, project, service, meter, resource, correction_of))"
     " WITHOUT ROWID;"
     FROM_RECORDS},   /* the records written before the rollup existed */
    {"billing_rollup", 2,   /* a project's month, for budgets (rollup_cost) */
     "CREATE INDEX billing_rollup_project ON billing_rollup(project, day_ms);"},
};

static int rollup_add(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t id,
                      int64_t time_ms, int64_t recorded_ms, int64_t cost)
{
    if (!strcmp(rec->service, "storage") && !strcmp(rec->meter, "storage_bytes"))
        return 0;   /* KSM_BILLING_NOT_GAUGE */
    /* "WHERE 1" keeps the parser from reading ON CONFLICT as the join's ON */
    sqlite3_stmt *st = ksm_db_prepare(db,
        "INSERT INTO billing_rollup SELECT " DAY_OF("CASE WHEN k.month IS NULL THEN ?1 ELSE ?2 END")
        ", ?3, ?4, ?5, ?6, ?7, COALESCE(k.month, ''), ?8, ?9, 1 FROM (SELECT 1)"
        " LEFT JOIN billing_month_marks k ON ?1 >= k.start_ms AND ?1 < k.end_ms"
        " AND ?10 > k.last_record WHERE 1"
        " ON CONFLICT(day_ms, tenant, project, service, meter, resource, correction_of) DO UPDATE"
        " SET quantity = quantity + excluded.quantity,"
        " cost_microyen = cost_microyen + excluded.cost_microyen, records = records + 1");
    sqlite3_bind_int64(st, 1, time_ms);
    sqlite3_bind_int64(st, 2, recorded_ms);
    ksm_db_bind_text(st, 3, rec->tenant);
    ksm_db_bind_text(st, 4, rec->project ? rec->project : "");
    ksm_db_bind_text(st, 5, rec->service);
    ksm_db_bind_text(st, 6, rec->meter);
    ksm_db_bind_text(st, 7, rec->resource ? rec->resource : "");
    sqlite3_bind_int64(st, 8, rec->quantity);
    sqlite3_bind_int64(st, 9, cost);
    sqlite3_bind_int64(st, 10, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A project's cost in [since, until) (JST day boundaries: months), of service and of the others.
 * A late record of a closed month counts in the month it was booked in, as on the bill. */
static enum ksm_err rollup_cost(struct ksm_db *db, const char *project, const char *service,
                                int64_t since_ms, int64_t until_ms, int64_t *of_service,
                                int64_t *others)
{
    sqlite3_stmt *st = ksm_db_prepare(db,
        "SELECT COALESCE(SUM(CASE WHEN service = ?4 THEN cost_microyen END), 0),"
        " COALESCE(SUM(CASE WHEN service = ?4 THEN 0 ELSE cost_microyen END), 0) FROM billing_rollup"
        " WHERE project = ?1 AND day_ms >= ?2 AND day_ms < ?3");
    ksm_db_bind_text(st, 1, project);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, until_ms);
    ksm_db_bind_text(st, 4, service);
    int rc = sqlite3_step(st);
    *of_service = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *others = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : KSM_E_INTERNAL;
}

void ksm_billing_rollup_register_schema(void)
{
    ksm_db_register(rollup_migrations, (int)KSM_NELEM(rollup_migrations));
    ksm_usage_set_rollup(rollup_add);   /* billing's schema in use: its records are rolled up */
    ksm_usage_set_cost_sums(rollup_cost);   /* ... and budgets read their sums from there */
}

enum ksm_err ksm_billing_rollup_rebuild(struct ksm_db *db)
{
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    if (ksm_db_exec(db, "DELETE FROM billing_rollup;" FROM_RECORDS) != SQLITE_OK ||
        ksm_db_commit(db) != SQLITE_OK) {
        ksm_db_rollback(db);
        return KSM_E_INTERNAL;
    }
    return KSM_E_OK;
}
