/* usage.c — the usage sink on the metadata store: one row per idempotency key in usage_records.
 *
 * A record is one INSERT (and its rollup's UPSERT, in one savepoint: inside the caller's transaction,
 * or its own), so it is on disk when ksm_usage_record returns outside a transaction (the store runs
 * WAL with synchronous=FULL). A retry with the same key inserts nothing; the stored row is compared
 * with the retry so that a key reused for different usage is refused rather than silently dropped —
 * that would under-bill, or hide a caller's bug. Rows are never updated, so the comparison needs no
 * transaction. */
#include "meter/usage.h"
#include "core/jscan.h"
#include "core/log.h"
#include "core/util.h"

#include <string.h>

#define MAX_FIELD 256   /* ids, names and keys: generous, but bounded so a row stays small */
#define MAX_RESOURCE 1024

static const struct ksm_migration usage_migrations[] = {
    {"usage", 1,
     "CREATE TABLE usage_records("
     " id INTEGER PRIMARY KEY,"
     " tenant TEXT NOT NULL,"
     " project TEXT,"
     " service TEXT NOT NULL,"
     " meter TEXT NOT NULL,"
     " quantity INTEGER NOT NULL CHECK(quantity >= 0),"
     " time_ms INTEGER NOT NULL,"
     " idempotency_key TEXT UNIQUE NOT NULL,"
     " request_id TEXT,"
     " resource TEXT,"
     " recorded_ms INTEGER NOT NULL);"
     "CREATE INDEX usage_records_tenant_time ON usage_records(tenant, time_ms);"},
    {"usage", 2,
     "ALTER TABLE usage_records ADD COLUMN cost_microyen INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE usage_records ADD COLUMN details TEXT;"},
    /* Every index is a B-tree more in each record's insert. A project's cost is read from
     * billing_rollup (its own index); nothing reads usage_records by project alone, so the
     * (project, time_ms) index that version 2 used to make only slowed the writer down. */
    {"usage", 3, "DROP INDEX IF EXISTS usage_records_project_time;"},
};

static ksm_usage_rater_fn rater;

static ksm_usage_rollup_fn rollup;
static ksm_usage_cost_fn cost_sums;

static const struct ksm_usage_rollup_batch *rollup_batch;
/* Inside a batch (the usage writer's thread only) a failed record rolls the whole transaction back
 * and the batch is written again record by record, so a record needs no savepoint of its own. */
static bool in_batch;

void ksm_usage_set_rollup_batch(const struct ksm_usage_rollup_batch *b) { rollup_batch = b; }

void ksm_usage_rollup_batch_begin(void)
{
    in_batch = true;
    if (rollup_batch)
        rollup_batch->begin();
}

int ksm_usage_rollup_batch_end(struct ksm_db *db)
{
    in_batch = false;
    int rc = ksm_usage_by_key_flush(db);
    return (rollup_batch ? rollup_batch->end(db) : 0) || rc;
}

void ksm_usage_rollup_batch_abort(void)
{
    in_batch = false;
    ksm_usage_by_key_forget();
    if (rollup_batch)
        rollup_batch->abort();
}

void ksm_usage_set_rater(ksm_usage_rater_fn fn) { rater = fn; }
void ksm_usage_set_rollup(ksm_usage_rollup_fn fn) { rollup = fn; }
void ksm_usage_set_cost_sums(ksm_usage_cost_fn fn) { cost_sums = fn; }

void ksm_usage_register_schema(void)
{
    ksm_db_register(usage_migrations, (int)KSM_NELEM(usage_migrations));
    ksm_usage_by_key_register_schema();   /* reads usage_records: after it */
}

static bool field_ok(const char *s, bool required, size_t max)
{
    if (!s)
        return !required;
    size_t n = strlen(s);
    return (n > 0 || !required) && n <= max && ksm_utf8_valid(s, n);
}

/* A flat object (no member an object or array): jscan's span reader has then checked everything
 * json_loads would, without building a tree — the common case (the AI gateway's details). */
static bool flat_object(const char *d, size_t n)
{
    struct ksm_jscan_member m[32];
    int k = ksm_jscan_object(d, n, m, (int)KSM_NELEM(m), NULL);
    for (int i = 0; i < k; i++)
        if (m[i].val[0] == '{' || m[i].val[0] == '[')
            return false;   /* nested duplicate keys are the tree reader's to refuse */
    return k >= 0;
}

/* details, when present, is a JSON object (it is returned parsed by queries). */
static bool details_ok(const char *d)
{
    if (!d)
        return true;
    size_t n = strlen(d);
    if (n <= 4096 && flat_object(d, n))
        return true;
    json_t *j = ksm_jscan_load(d, n);   /* the same tree as json_loads, faster */
    if (!j)
        j = json_loads(d, JSON_REJECT_DUPLICATES, NULL);
    bool ok = j && json_is_object(j) && strlen(d) <= 4096;
    json_decref(j);
    return ok;
}

static bool rec_valid(const struct ksm_usage_rec *rec)
{
    return field_ok(rec->tenant, true, MAX_FIELD) && field_ok(rec->project, false, MAX_FIELD) &&
           field_ok(rec->service, true, MAX_FIELD) && field_ok(rec->meter, true, MAX_FIELD) &&
           field_ok(rec->idempotency_key, true, MAX_FIELD) &&
           field_ok(rec->request_id, false, MAX_FIELD) &&
           field_ok(rec->resource, false, MAX_RESOURCE) && field_ok(rec->key_id, false, MAX_FIELD) &&
           field_ok(rec->user_id, false, MAX_FIELD) && rec->quantity >= 0 && rec->time_ms >= 0 &&
           rec->cost_microyen >= 0 && details_ok(rec->details);
}

/* NULL and "" are the same absence for the optional fields. */
static const char *opt(const char *s) { return s && *s ? s : NULL; }

static bool same_text(sqlite3_stmt *st, int col, const char *s)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t || !opt(s))
        return !t && !opt(s);
    return !strcmp((const char *)t, s);
}

/* The row stored under rec's key says the same usage. The request id is left out on purpose: a
 * client's retry arrives as a new request, and the stored row keeps naming the first audit record.
 * time_ms 0 means "now", which a retry cannot repeat, so it is compared only when given. */
static enum ksm_err check_repeat(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t cost)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT tenant, project, service, meter, quantity, time_ms,"
                                          " resource, cost_microyen FROM usage_records"
                                          " WHERE idempotency_key = ?");
    ksm_db_bind_text(st, 1, rec->idempotency_key);
    if (sqlite3_step(st) != SQLITE_ROW) {
        ksm_error("usage: key conflict but no row: %s", sqlite3_errmsg(db->h));
        sqlite3_reset(st);
        return KSM_E_INTERNAL;
    }
    bool same = same_text(st, 0, rec->tenant) && same_text(st, 1, rec->project) &&
                same_text(st, 2, rec->service) && same_text(st, 3, rec->meter) &&
                sqlite3_column_int64(st, 4) == rec->quantity &&
                (rec->time_ms == 0 || sqlite3_column_int64(st, 5) == rec->time_ms) &&
                same_text(st, 6, rec->resource) && sqlite3_column_int64(st, 7) == cost;
    sqlite3_reset(st);
    return same ? KSM_E_OK : KSM_E_CONFLICT;
}

/* A statement without parameters, from the cache (these run once per record). */
static int step(struct ksm_db *db, const char *sql)
{
    sqlite3_stmt *st = ksm_db_prepare(db, sql);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sqlite3_reset(st);
    return rc;
}

/* The row, and the rollup of a row that is new; a repeat is compared instead. */
static enum ksm_err insert(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t when,
                           int64_t now, int64_t cost)
{
    sqlite3_stmt *st = ksm_db_prepare(db,
        "INSERT OR IGNORE INTO usage_records(tenant, project, service, meter, quantity, time_ms,"
        " idempotency_key, request_id, resource, recorded_ms, cost_microyen, details)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    ksm_db_bind_text_static(st, 1, rec->tenant);
    ksm_db_bind_text_static(st, 2, opt(rec->project));
    ksm_db_bind_text_static(st, 3, rec->service);
    ksm_db_bind_text_static(st, 4, rec->meter);
    sqlite3_bind_int64(st, 5, rec->quantity);
    sqlite3_bind_int64(st, 6, when);
    ksm_db_bind_text_static(st, 7, rec->idempotency_key);
    ksm_db_bind_text_static(st, 8, opt(rec->request_id));
    ksm_db_bind_text_static(st, 9, opt(rec->resource));
    sqlite3_bind_int64(st, 10, now);
    sqlite3_bind_int64(st, 11, cost);
    ksm_db_bind_text_static(st, 12, rec->details);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);   /* the texts were bound without a copy (once per record) */
    if (rc != SQLITE_DONE) {
        ksm_error("usage: insert: %s", sqlite3_errmsg(db->h));
        return KSM_E_INTERNAL;
    }
    if (sqlite3_changes(db->h) == 0)
        return check_repeat(db, rec, cost);
    struct ksm_usage_rec r = *rec;
    r.project = opt(rec->project), r.resource = opt(rec->resource);
    if (rollup && rollup(db, &r, sqlite3_last_insert_rowid(db->h), when, now, cost)) {
        ksm_error("usage: rollup: %s", sqlite3_errmsg(db->h));
        return KSM_E_INTERNAL;
    }
    if (ksm_usage_by_key_add(db, &r, when, cost, in_batch)) {
        ksm_error("usage: use by key: %s", sqlite3_errmsg(db->h));
        return KSM_E_INTERNAL;
    }
    return KSM_E_OK;
}

enum ksm_err ksm_usage_record(struct ksm_db *db, const struct ksm_usage_rec *rec)
{
    if (!rec || !rec_valid(rec))
        return KSM_E_INVALID_ARGUMENT;
    int64_t now = ksm_now_ms(), when = rec->time_ms ? rec->time_ms : now;
    /* rated here, when written, so a record carries its cost from the start and a later price
     * never reaches back to it (a retry is rated by the same price, so it compares equal) */
    int64_t cost = rec->cost_microyen;
    if (!cost && rater && (cost = rater(db, rec, when)) < 0) {
        ksm_error("usage: rating failed: %s", sqlite3_errmsg(db->h));
        return KSM_E_INTERNAL;
    }
    if (in_batch)
        return insert(db, rec, when, now, cost);
    if (step(db, "SAVEPOINT usage_record") != SQLITE_DONE)
        return KSM_E_INTERNAL;
    enum ksm_err e = insert(db, rec, when, now, cost);
    if (e == KSM_E_OK && step(db, "RELEASE usage_record") == SQLITE_DONE)
        return KSM_E_OK;
    step(db, "ROLLBACK TO usage_record");
    step(db, "RELEASE usage_record");
    return e == KSM_E_OK ? KSM_E_INTERNAL : e;
}

enum ksm_err ksm_usage_project_cost(struct ksm_db *db, const char *project, int64_t since_ms,
                                    int64_t until_ms, int64_t *out)
{
    int64_t none = 0, all = 0;   /* no service is named "": every record is one of the others */
    enum ksm_err e = ksm_usage_project_cost_split(db, project, "", since_ms, until_ms, &none, &all);
    *out = none + all;
    return e;
}

enum ksm_err ksm_usage_project_cost_split(struct ksm_db *db, const char *project, const char *service,
                                          int64_t since_ms, int64_t until_ms, int64_t *of_service,
                                          int64_t *others)
{
    if (cost_sums)   /* the write-time sums: a read of a few rows instead of the month's records */
        return cost_sums(db, project, service, since_ms, until_ms, of_service, others);
    return ksm_usage_cost_split_sql(db,
        "SELECT COALESCE(SUM(CASE WHEN service = ?4 THEN cost_microyen END), 0),"
        " COALESCE(SUM(CASE WHEN service = ?4 THEN 0 ELSE cost_microyen END), 0) FROM usage_records"
        " WHERE project = ?1 AND time_ms >= ?2 AND time_ms < ?3",
        project, service, since_ms, until_ms, of_service, others);
}

enum ksm_err ksm_usage_cost_split_sql(struct ksm_db *db, const char *sql, const char *project,
                                      const char *text, int64_t since_ms, int64_t until_ms,
                                      int64_t *first, int64_t *second)
{
    sqlite3_stmt *st = ksm_db_prepare(db, sql);
    ksm_db_bind_text(st, 1, project);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, until_ms);
    ksm_db_bind_text(st, 4, text);
    int rc = sqlite3_step(st);
    *first = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *second = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : KSM_E_INTERNAL;
}

/* ---- queries ------------------------------------------------------------------------------------ */

/* Two statements so the common per-tenant query can use the (tenant, time_ms) index; an
 * "?2 IS NULL OR tenant = ?2" would hide it from the planner. The other filters are narrow enough
 * to check row by row. Order is by id: the order records were made, which pagination needs. */
#define USAGE_COLS \
    "SELECT id, tenant, project, service, meter, quantity, time_ms, idempotency_key, request_id," \
    " resource, cost_microyen, details FROM usage_records "
#define USAGE_REST \
    " AND (?3 IS NULL OR project = ?3) AND (?4 IS NULL OR service = ?4)"  \
    " AND (?5 IS NULL OR meter = ?5) AND (?6 = 0 OR time_ms >= ?6)"      \
    " AND (?7 = 0 OR time_ms < ?7) ORDER BY id LIMIT ?8"

static const char sql_tenant[] = USAGE_COLS "WHERE id > ?1 AND tenant = ?2" USAGE_REST;
static const char sql_all[] = USAGE_COLS "WHERE id > ?1 AND ?2 IS NULL" USAGE_REST;

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? json_string((const char *)t) : json_null();
}

static json_t *row_json(sqlite3_stmt *st)
{
    char when[32];
    ksm_rfc3339_ms(sqlite3_column_int64(st, 6), when);
    const unsigned char *d = sqlite3_column_text(st, 11);
    json_t *details = d ? json_loads((const char *)d, 0, NULL) : NULL;
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:s, s:o, s:o, s:o, s:I, s:o}",
                     "id", (json_int_t)sqlite3_column_int64(st, 0),
                     "tenant", text_or_null(st, 1), "project", text_or_null(st, 2),
                     "service", text_or_null(st, 3), "meter", text_or_null(st, 4),
                     "quantity", (json_int_t)sqlite3_column_int64(st, 5),
                     "time", when,
                     "idempotency_key", text_or_null(st, 7), "request_id", text_or_null(st, 8),
                     "resource", text_or_null(st, 9),
                     "cost_microyen", (json_int_t)sqlite3_column_int64(st, 10),
                     "details", details ? details : json_null());
}

enum ksm_err ksm_usage_query(struct ksm_db *db, const struct ksm_usage_filter *f, json_t *out,
                             int64_t *last_id)
{
    int limit = f->limit <= 0 ? 100 : f->limit > 1000 ? 1000 : f->limit;
    sqlite3_stmt *st = ksm_db_prepare(db, opt(f->tenant) ? sql_tenant : sql_all);
    sqlite3_bind_int64(st, 1, f->after_id > 0 ? f->after_id : 0);
    ksm_db_bind_text(st, 2, opt(f->tenant));
    ksm_db_bind_text(st, 3, opt(f->project));
    ksm_db_bind_text(st, 4, opt(f->service));
    ksm_db_bind_text(st, 5, opt(f->meter));
    sqlite3_bind_int64(st, 6, f->since_ms);
    sqlite3_bind_int64(st, 7, f->until_ms);
    sqlite3_bind_int(st, 8, limit);
    enum ksm_err e = KSM_E_OK;
    int rc;
    if (last_id)
        *last_id = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = row_json(st);
        if (!o || json_array_append_new(out, o)) {
            e = KSM_E_INTERNAL;
            goto fail;
        }
        if (last_id)
            *last_id = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE) {
        ksm_error("usage: query: %s", sqlite3_errmsg(db->h));
        e = KSM_E_INTERNAL;
    }
fail:
    sqlite3_reset(st);
    return e;
}
