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

#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/util.h"
#include "meter/usage_sums.h"

/* The JST day (its start, in UTC ms) that ms falls on. */
#define DAY_OF KSM_USAGE_JST_DAY_SQL

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

/* ---- batched: the usage writer's batches ------------------------------------------------------ *
 * One UPSERT per record cost more than the record's own INSERT. In a batch (meter/usage.h: the
 * writer's thread, inside its transaction) each record's row key is resolved at once by the same
 * rule as the statement below — the month mark its time falls in, and whether its id is above the
 * mark's last record — and its amounts summed in memory (meter/usage_sums.h); the end writes one
 * UPSERT per key before the batch's commit. A batch's records name the same few keys, so ~40
 * records at load are one. */

struct mark {   /* a closed month (billing_month_marks), read once per batch */
    int64_t start_ms, end_ms, last_record;
    char month[16];
    bool unheld;   /* its name did not fit month: a record it corrects fails the batch */
};

static _Thread_local struct {
    bool on;
    struct ksm_usage_sums sums;
    int nmarks;   /* -1: not read yet in this batch */
    struct mark *marks;   /* freed when the batch ends (after the sums, which point into them) */
} batch = {.sums = {.upsert = "INSERT INTO billing_rollup(day_ms, tenant, project, service, meter,"
                              " resource, correction_of, quantity, cost_microyen, records)"
                              " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                              " ON CONFLICT(day_ms, tenant, project, service, meter, resource,"
                              " correction_of) DO UPDATE"
                              " SET quantity = quantity + excluded.quantity,"
                              " cost_microyen = cost_microyen + excluded.cost_microyen,"
                              " records = records + excluded.records",
                    .nkeys = 6},
   .nmarks = -1};

static int group_add(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t day,
                     const char *month, int64_t cost)
{
    const char *key[] = {rec->tenant, rec->project ? rec->project : "", rec->service, rec->meter,
                         rec->resource ? rec->resource : "", month};
    return ksm_usage_sums_add(db, &batch.sums, day, key, rec->quantity, cost);
}

/* The month marks, read once per batch: the batch is one write transaction, so no mark can be set
 * while it runs, and a statement per record cost more than the rest of the record's rollup. */
static int marks_read(struct ksm_db *db)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT month, start_ms, end_ms, last_record"
                                          " FROM billing_month_marks");
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        batch.marks = ksm_xrealloc(batch.marks, (size_t)(n + 1) * sizeof *batch.marks);
        struct mark *m = &batch.marks[n++];
        const char *month = ksm_db_col_text(st, 0);
        month = month ? month : "";
        m->unheld = strlen(month) >= sizeof m->month;   /* a month is "YYYY-MM": not ours to sum */
        ksm_fmt_copy(m->month, sizeof m->month, month);
        m->start_ms = sqlite3_column_int64(st, 1);
        m->end_ms = sqlite3_column_int64(st, 2);
        m->last_record = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    batch.nmarks = n;
    return 0;
}

/* The LEFT JOIN of the statement below, row by row: each mark whose month holds time_ms and whose
 * last record is below id makes a correction row (booked on the arrival day); none, the plain row. */
static int batch_add(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t id, int64_t time_ms,
                     int64_t recorded_ms, int64_t cost)
{
    if (batch.nmarks < 0 && marks_read(db))
        return -1;
    int rows = 0, bad = 0;
    for (int i = 0; i < batch.nmarks; i++) {
        const struct mark *m = &batch.marks[i];
        if (time_ms >= m->start_ms && time_ms < m->end_ms && id > m->last_record) {
            rows++;
            bad |= m->unheld || group_add(db, rec, ksm_usage_jst_day(recorded_ms), m->month, cost);
        }
    }
    if (bad)
        return -1;
    return rows ? 0 : group_add(db, rec, ksm_usage_jst_day(time_ms), "", cost);
}

static void marks_free(void)
{
    free(batch.marks);
    batch.marks = NULL;
    batch.nmarks = -1;
}

static void batch_begin(void)
{
    batch.on = true;
    batch.sums.n = 0;
    marks_free();
}

static int batch_end(struct ksm_db *db)
{
    batch.on = false;
    int rc = ksm_usage_sums_write(db, &batch.sums);   /* before the marks its rows point into */
    marks_free();
    return rc;
}

static void batch_abort(void)
{
    batch.on = false;
    batch.sums.n = 0;
    marks_free();
}

static int rollup_add(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t id,
                      int64_t time_ms, int64_t recorded_ms, int64_t cost)
{
    if (!strcmp(rec->service, "storage") && !strcmp(rec->meter, "storage_bytes"))
        return 0;   /* KSM_BILLING_NOT_GAUGE */
    if (batch.on)
        return batch_add(db, rec, id, time_ms, recorded_ms, cost);
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
    return ksm_usage_cost_split_sql(db,
        "SELECT COALESCE(SUM(CASE WHEN service = ?4 THEN cost_microyen END), 0),"
        " COALESCE(SUM(CASE WHEN service = ?4 THEN 0 ELSE cost_microyen END), 0) FROM billing_rollup"
        " WHERE project = ?1 AND day_ms >= ?2 AND day_ms < ?3",
        project, service, since_ms, until_ms, of_service, others);
}

void ksm_billing_rollup_register_schema(void)
{
    ksm_db_register(rollup_migrations, (int)KSM_NELEM(rollup_migrations));
    ksm_usage_set_rollup(rollup_add);   /* billing's schema in use: its records are rolled up */
    static const struct ksm_usage_rollup_batch batching = {batch_begin, batch_end, batch_abort};
    ksm_usage_set_rollup_batch(&batching);
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
