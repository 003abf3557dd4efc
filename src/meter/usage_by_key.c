/* usage_by_key.c — each project's use per API key and JST day: what a key's monthly budget and a
 * project's "who spent what" read (docs/ai-admin.md "A key's own budget"). A stored record names its
 * key and user only in its details (the AI gateway's: {"user", "key", ...}), which no index reaches,
 * so a key's month summed from the records would read every record of the tenant's month. Instead
 * each new record that names its key (ksm_usage_rec.key_id) is added to its (project, key, day,
 * service) row here, in the record's own transaction, as billing's rollup adds it to its own (src/billing/billing_rollup.c);
 * in the usage writer's batches the rows are summed in memory and written once before the commit
 * (usage_sums.h, as the rollup's).
 *
 * A record is booked on the JST day of its time (not its arrival): a key's budget is for the month
 * the use happened in. Records without a key (storage, admin, a session's calls) are not here. */
#include "meter/usage.h"

#include "core/util.h"
#include "meter/usage_sums.h"

#define DAY_OF KSM_USAGE_JST_DAY_SQL

static const struct ksm_migration migrations[] = {
    {"usage_by_key", 1,
     "CREATE TABLE usage_by_key(project TEXT NOT NULL, key TEXT NOT NULL, day_ms INTEGER NOT NULL,"
     " service TEXT NOT NULL, tenant TEXT NOT NULL, user TEXT NOT NULL,"
     " quantity INTEGER NOT NULL, cost_microyen INTEGER NOT NULL, records INTEGER NOT NULL,"
     " PRIMARY KEY(project, key, day_ms, service)) WITHOUT ROWID;"
     /* the records written before this table existed */
     "INSERT INTO usage_by_key SELECT COALESCE(project, ''), json_extract(details, '$.key'), "
     DAY_OF("time_ms") ", service, tenant, COALESCE(json_extract(details, '$.user'), ''),"
     " SUM(quantity), SUM(cost_microyen), COUNT(*) FROM usage_records"
     " WHERE json_valid(details) AND json_type(details, '$.key') = 'text'"
     " AND json_extract(details, '$.key') <> '' GROUP BY 1, 2, 3, 4;"},
};

void ksm_usage_by_key_register_schema(void)
{
    ksm_db_register(migrations, (int)KSM_NELEM(migrations));
}

/* The rows a batch holds (the usage writer's thread); the key's user and tenant are one per key,
 * so they take no row of their own but go into the row with it. */
static _Thread_local struct ksm_usage_sums batch = {
    .upsert = "INSERT INTO usage_by_key(project, key, day_ms, service, tenant, user, quantity,"
              " cost_microyen, records) VALUES(?2, ?3, ?1, ?4, ?5, ?6, ?7, ?8, ?9)"
              " ON CONFLICT(project, key, day_ms, service) DO UPDATE"
              " SET quantity = quantity + excluded.quantity,"
              " cost_microyen = cost_microyen + excluded.cost_microyen,"
              " records = records + excluded.records",
    .nkeys = 5};

int ksm_usage_by_key_add(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t time_ms,
                         int64_t cost, bool batched)
{
    if (!rec->key_id || !*rec->key_id)
        return 0;   /* most records name no key */
    const char *key[] = {rec->project ? rec->project : "", rec->key_id, rec->service, rec->tenant,
                         rec->user_id ? rec->user_id : ""};
    if (ksm_usage_sums_add(db, &batch, ksm_usage_jst_day(time_ms), key, rec->quantity, cost))
        return -1;
    return batched ? 0 : ksm_usage_sums_write(db, &batch);
}

void ksm_usage_by_key_forget(void) { batch.n = 0; }

int ksm_usage_by_key_flush(struct ksm_db *db) { return ksm_usage_sums_write(db, &batch); }

enum ksm_err ksm_usage_key_cost(struct ksm_db *db, const char *project, const char *key,
                                int64_t since_ms, int64_t until_ms, int64_t *out)
{
    int64_t none;
    return ksm_usage_cost_split_sql(db,
        "SELECT COALESCE(SUM(cost_microyen), 0), 0 FROM usage_by_key"
        " WHERE project = ?1 AND day_ms >= ?2 AND day_ms < ?3 AND key = ?4",
        project, key, since_ms, until_ms, out, &none);
}

enum ksm_err ksm_usage_keys_of_project(struct ksm_db *db, const char *project, int64_t since_ms,
                                       int64_t until_ms, ksm_usage_key_fn fn, void *arg)
{
    sqlite3_stmt *st = ksm_db_prepare(db,
        "SELECT key, MAX(user), SUM(quantity), SUM(cost_microyen), SUM(records) FROM usage_by_key"
        " WHERE project = ?1 AND day_ms >= ?2 AND day_ms < ?3 GROUP BY key ORDER BY key");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, project);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, until_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ksm_usage_key_use u = {
            .key = ksm_db_col_text(st, 0), .user = ksm_db_col_text(st, 1),
            .quantity = sqlite3_column_int64(st, 2), .cost_microyen = sqlite3_column_int64(st, 3),
            .records = sqlite3_column_int64(st, 4)};
        fn(arg, &u);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
