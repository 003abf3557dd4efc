/* supply_stats.c — the yearly statistics of advice given (助言実績), as the agreement's report
 * counts them: "the number of equipment lists on which advice (concern or not) was given". Per
 * fiscal year (April–March, JST): lists advised, the items on them, how many found a concern, and
 * the distinct cases and agencies (tenants) behind them. Advice a later change superseded still
 * counts: it was given. */
#include "supply/supply_int.h"

enum ksm_err ksm_supply_stats(struct ksm_db *db, int fiscal_year, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT fiscal_year, count(*), sum(item_count), sum(concern),"
            " count(DISTINCT case_id), count(DISTINCT CASE WHEN concern THEN case_id END),"
            " count(DISTINCT tenant_id) FROM supply_advice WHERE (?1 < 0 OR fiscal_year=?1)"
            " GROUP BY fiscal_year ORDER BY fiscal_year");
    if (!st)
        return KSM_E_INTERNAL;
    sqlite3_bind_int(st, 1, fiscal_year);
    json_t *items = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int fy = sqlite3_column_int(st, 0);
        json_array_append_new(
            items, json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}", "fiscal_year", fy,
                             "reiwa", fy - 2018, "lists_advised",
                             (json_int_t)sqlite3_column_int64(st, 1), "items",
                             (json_int_t)sqlite3_column_int64(st, 2), "lists_with_concern",
                             (json_int_t)sqlite3_column_int64(st, 3), "cases",
                             (json_int_t)sqlite3_column_int64(st, 4), "cases_with_concern",
                             (json_int_t)sqlite3_column_int64(st, 5), "agencies",
                             (json_int_t)sqlite3_column_int64(st, 6)));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return KSM_E_INTERNAL;
    }
    *out = json_pack("{s:o}", "items", items);
    return KSM_E_OK;
}
