/* billing_correction.c — the watermarks that let a closed month stay as it was while usage that
 * arrives late for it is still billed: closing a month records the last usage record id so far; a
 * record of that month with a higher id arrived after the close and is booked, as a correction line
 * (FOCUS ChargeClass "Correction", x_CorrectionOf = the month), in the month it arrived in. */
#include "billing/billing_records.h"

#include "core/util.h"

static const struct ksm_migration correction_migrations[] = {
    {"billing_corrections", 1,
     "CREATE TABLE billing_month_marks("
     " month TEXT PRIMARY KEY, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
     " last_record INTEGER NOT NULL);"
     "ALTER TABLE billing_ledger ADD COLUMN correction_of TEXT;"},
    /* Corrections are booked by billing_rollup as records arrive, so no query looks records up by
     * recorded_ms: the index version 1 used to make cost every usage insert and served nothing. */
    {"billing_corrections", 2, "DROP INDEX IF EXISTS usage_records_recorded;"},
};

void ksm_billing_correction_register_schema(void)
{
    ksm_db_register(correction_migrations, (int)KSM_NELEM(correction_migrations));
}

int ksm_billing_watermark(struct ksm_db *db, const char *month, int64_t *last)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT last_record FROM billing_month_marks"
                                          " WHERE month = ?");
    ksm_db_bind_text(st, 1, month);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *last = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

enum ksm_err ksm_billing_watermark_set(struct ksm_db *db, const char *month, int64_t start,
                                       int64_t end)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO billing_month_marks(month, start_ms, end_ms,"
                                          " last_record) SELECT ?, ?, ?, COALESCE(MAX(id), 0)"
                                          " FROM usage_records");
    ksm_db_bind_text(st, 1, month);
    sqlite3_bind_int64(st, 2, start);
    sqlite3_bind_int64(st, 3, end);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

void ksm_billing_bind_watermark(sqlite3_stmt *st, struct ksm_db *db, const char *month)
{
    int64_t last;
    if (ksm_billing_watermark(db, month, &last) == 0)
        sqlite3_bind_int64(st, 6, last);
    else
        sqlite3_bind_null(st, 6);
}
