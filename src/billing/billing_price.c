/* billing_price.c — the price list: yen per `per` units of a service's meter, each row in force over
 * [valid_from, valid_until). Rows never start in the past (a minute of slack for clocks) and are never
 * edited, except that an open end may be given a date not yet passed, so a usage record rated at
 * write time keeps the price it was rated at; two rows of one
 * meter never overlap, so the price at any instant is one row or none. The AI gateway's model prices
 * are the per-model part of the list (/admin/v1/model-prices); this list prices every other meter. */
#include "billing/billing.h"
#include "billing/billing_budget.h"
#include "billing/billing_int.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

#define RETRO_SLACK_MS 60000

static const struct ksm_migration billing_migrations[] = {
    {"billing", 1,
     "CREATE TABLE billing_prices("
     " id INTEGER PRIMARY KEY,"
     " service TEXT NOT NULL, meter TEXT NOT NULL, unit TEXT NOT NULL,"
     " per INTEGER NOT NULL CHECK(per > 0),"
     " price_microyen INTEGER NOT NULL CHECK(price_microyen >= 0),"
     " valid_from_ms INTEGER NOT NULL,"
     " valid_until_ms INTEGER,"            /* NULL: until a later row's start is refused as overlap */
     " created_ms INTEGER NOT NULL);"
     "CREATE INDEX billing_prices_meter ON billing_prices(service, meter, valid_from_ms);"
     "CREATE TABLE billing_months("
     " month TEXT PRIMARY KEY, closed_ms INTEGER NOT NULL, closed_by TEXT);"
     "CREATE TABLE billing_ledger("
     " id INTEGER PRIMARY KEY, month TEXT NOT NULL, tenant TEXT NOT NULL, project TEXT,"
     " service TEXT NOT NULL, meter TEXT NOT NULL, resource TEXT,"
     " quantity INTEGER NOT NULL, cost_microyen INTEGER NOT NULL, records INTEGER NOT NULL);"
     "CREATE INDEX billing_ledger_month ON billing_ledger(month, tenant);"},
};

void ksm_billing_register_schema(void)
{
    ksm_db_register(billing_migrations, (int)KSM_NELEM(billing_migrations));
    ksm_billing_correction_register_schema();   /* after: it alters billing_ledger */
    ksm_billing_rollup_register_schema();       /* after: it reads the watermarks */
    ksm_billing_budget_register_schema();
}

static json_t *price_json(sqlite3_stmt *st)
{
    char price[32], from[32], until[32];
    ksm_billing_yen_format(sqlite3_column_int64(st, 5), price);
    ksm_rfc3339_ms(sqlite3_column_int64(st, 6), from);
    bool open = sqlite3_column_type(st, 7) == SQLITE_NULL;
    if (!open)
        ksm_rfc3339_ms(sqlite3_column_int64(st, 7), until);
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:o}",
                     "id", (json_int_t)sqlite3_column_int64(st, 0), "service", ksm_db_col_text(st, 1),
                     "meter", ksm_db_col_text(st, 2), "unit", ksm_db_col_text(st, 3),
                     "per", (json_int_t)sqlite3_column_int64(st, 4), "price", price,
                     "price_microyen", (json_int_t)sqlite3_column_int64(st, 5), "valid_from", from,
                     "valid_until", open ? json_null() : json_string(until));
}

#define PRICE_COLS "SELECT id, service, meter, unit, per, price_microyen, valid_from_ms, valid_until_ms" \
                   " FROM billing_prices "

enum ksm_err ksm_billing_price_list(struct ksm_db *db, const char *service, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, PRICE_COLS "WHERE ?1 IS NULL OR service = ?1"
                                          " ORDER BY service, meter, valid_from_ms");
    ksm_db_bind_text(st, 1, service);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, price_json(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* ---- validation --------------------------------------------------------------------------------- */

struct price_in {
    const char *service, *meter, *unit;
    int64_t price, per, from, until;   /* until 0: open-ended */
};

#define WHY(...) (snprintf(why, KSM_BILLING_WHY, __VA_ARGS__), KSM_E_INVALID_ARGUMENT)

static enum ksm_err known_fields(const json_t *body, char *why)
{
    static const char *const ok[] = {"service", "meter", "unit", "price", "per", "valid_from",
                                     "valid_until"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v) {
        bool known = false;
        for (size_t i = 0; i < KSM_NELEM(ok); i++)
            known |= !strcmp(k, ok[i]);
        if (!known) {
            snprintf(why, KSM_BILLING_WHY, "unknown field \"%.60s\"", k);
            return KSM_E_UNKNOWN_FIELD;
        }
    }
    return KSM_E_OK;
}

static enum ksm_err parse_price(const json_t *v, int64_t *out, char *why)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return WHY("price must not be negative");
        if (json_integer_value(v) > 1000000000)
            return WHY("price is more than 1,000,000,000 yen");
        *out = json_integer_value(v) * 1000000;
        return KSM_E_OK;
    }
    int rc = json_is_string(v) ? ksm_billing_yen_parse(json_string_value(v), out) : -1;
    if (rc == -2)
        return WHY("price must not be negative");
    if (rc)
        return WHY("price must be yen as a decimal string with at most 6 decimals, e.g. \"0.4\"");
    return KSM_E_OK;
}

static enum ksm_err parse_time(const json_t *v, const char *name, int64_t *out, char *why)
{
    if (!json_is_string(v) || ksm_parse_rfc3339(json_string_value(v), out) || *out < 0)
        return WHY("%s must be an RFC 3339 time, e.g. 2026-04-01T00:00:00+09:00", name);
    return KSM_E_OK;
}

static enum ksm_err parse_meter(const json_t *body, struct price_in *p, char *why)
{
    p->service = json_string_value(json_object_get(body, "service"));
    p->meter = json_string_value(json_object_get(body, "meter"));
    p->unit = json_string_value(json_object_get(body, "unit"));
    if (!p->service || !p->meter || !p->unit)
        return WHY("service, meter and unit are required strings");
    if (!strcmp(p->service, "ai"))
        return WHY("AI is priced per model: use /admin/v1/model-prices");
    const struct ksm_billing_meter *m = ksm_billing_meter_find(p->service, p->meter);
    if (!m)
        return WHY("unknown meter \"%.40s\" of service \"%.40s\"", p->meter, p->service);
    if (m->gauge)
        return WHY("%.40s is a sampled level, not priced: price storage_byte_seconds", p->meter);
    if (!ksm_billing_unit_known(p->unit))
        return WHY("unknown unit \"%.40s\" (request, byte, byte_second or token)", p->unit);
    if (strcmp(p->unit, m->unit))
        return WHY("%.40s/%.40s is counted in %s, not %.40s", p->service, p->meter, m->unit, p->unit);
    return KSM_E_OK;
}

static enum ksm_err parse_in(const json_t *body, int64_t now_ms, struct price_in *p, char *why)
{
    enum ksm_err e = known_fields(body, why);
    if (e == KSM_E_OK)
        e = parse_meter(body, p, why);
    if (e == KSM_E_OK)
        e = parse_price(json_object_get(body, "price"), &p->price, why);
    if (e != KSM_E_OK)
        return e;
    const json_t *per = json_object_get(body, "per");
    p->per = per ? json_integer_value(per) : 1;
    if (per && (!json_is_integer(per) || p->per < 1))
        return WHY("per must be a positive integer count of units (e.g. 1073741824 for a GiB)");
    p->from = now_ms;
    p->until = 0;
    const json_t *from = json_object_get(body, "valid_from"), *until = json_object_get(body, "valid_until");
    if (from && (e = parse_time(from, "valid_from", &p->from, why)) != KSM_E_OK)
        return e;
    if (until && (e = parse_time(until, "valid_until", &p->until, why)) != KSM_E_OK)
        return e;
    if (p->from < now_ms - RETRO_SLACK_MS)
        return WHY("valid_from is in the past: a price never changes what was already rated");
    if (until && p->until <= p->from)
        return WHY("valid_until must be after valid_from");
    return KSM_E_OK;
}

/* A row of the same meter whose period meets [from, until); 0 when none, -1 on error. */
static int64_t overlapping(struct ksm_db *db, const struct price_in *p)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT id FROM billing_prices WHERE service = ? AND meter = ?"
                                          " AND (valid_until_ms IS NULL OR valid_until_ms > ?)"
                                          " AND (? = 0 OR valid_from_ms < ?) LIMIT 1");
    ksm_db_bind_text(st, 1, p->service);
    ksm_db_bind_text(st, 2, p->meter);
    sqlite3_bind_int64(st, 3, p->from);
    sqlite3_bind_int64(st, 4, p->until);
    sqlite3_bind_int64(st, 5, p->until);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return id;
}

static enum ksm_err insert(struct ksm_db *db, const struct price_in *p, int64_t now_ms, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO billing_prices(service, meter, unit, per,"
                                          " price_microyen, valid_from_ms, valid_until_ms, created_ms)"
                                          " VALUES(?,?,?,?,?,?,?,?)");
    ksm_db_bind_text(st, 1, p->service);
    ksm_db_bind_text(st, 2, p->meter);
    ksm_db_bind_text(st, 3, p->unit);
    sqlite3_bind_int64(st, 4, p->per);
    sqlite3_bind_int64(st, 5, p->price);
    sqlite3_bind_int64(st, 6, p->from);
    if (p->until)
        sqlite3_bind_int64(st, 7, p->until);
    else
        sqlite3_bind_null(st, 7);
    sqlite3_bind_int64(st, 8, now_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    st = ksm_db_prepare(db, PRICE_COLS "WHERE id = ?");
    sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(db->h));
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = price_json(st);
    sqlite3_reset(st);
    return *out ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_billing_price_add(struct ksm_db *db, const json_t *body, int64_t now_ms, json_t **out,
                                   char why[KSM_BILLING_WHY])
{
    struct price_in p = {0};
    *out = NULL;
    if (!json_is_object(body))
        return WHY("the body must be a JSON object");
    enum ksm_err e = parse_in(body, now_ms, &p, why);
    if (e != KSM_E_OK)
        return e;
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    int64_t other = overlapping(db, &p);
    if (other > 0) {
        snprintf(why, KSM_BILLING_WHY, "overlaps price %lld of %s/%s: periods of one meter must not "
                 "overlap", (long long)other, p.service, p.meter);
        e = KSM_E_CONFLICT;
    } else
        e = other < 0 ? KSM_E_INTERNAL : insert(db, &p, now_ms, out);
    if (e == KSM_E_OK && ksm_db_commit(db) == SQLITE_OK)
        return ksm_billing__prices_changed(), KSM_E_OK;
    ksm_db_rollback(db);
    json_decref(*out);
    *out = NULL;
    return e == KSM_E_OK ? KSM_E_INTERNAL : e;
}

static enum ksm_err end_row(struct ksm_db *db, int64_t id, int64_t until, int64_t now_ms, char *why)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT valid_from_ms, valid_until_ms FROM billing_prices"
                                          " WHERE id = ?");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int64_t from = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    bool ended = rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
    if (ended)
        return WHY("price %lld already has an end: rows are never edited", (long long)id);
    if (until < now_ms - RETRO_SLACK_MS)
        return WHY("valid_until is in the past: a price never changes what was already rated");
    if (until <= from)
        return WHY("valid_until must be after the price's valid_from");
    st = ksm_db_prepare(db, "UPDATE billing_prices SET valid_until_ms = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, until);
    sqlite3_bind_int64(st, 2, id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* The one change a row allows: an open end gets a date that has not passed yet, so nothing already
 * rated could have been rated differently. */
enum ksm_err ksm_billing_price_end(struct ksm_db *db, int64_t id, const char *valid_until,
                                   int64_t now_ms, json_t **out, char why[KSM_BILLING_WHY])
{
    int64_t until;
    *out = NULL;
    if (!valid_until || ksm_parse_rfc3339(valid_until, &until) || until < 0)
        return WHY("valid_until must be an RFC 3339 time, e.g. 2026-04-01T00:00:00+09:00");
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    enum ksm_err e = end_row(db, id, until, now_ms, why);
    if (e == KSM_E_OK) {
        sqlite3_stmt *st = ksm_db_prepare(db, PRICE_COLS "WHERE id = ?");
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            *out = price_json(st);
        sqlite3_reset(st);
    }
    if (e == KSM_E_OK && *out && ksm_db_commit(db) == SQLITE_OK)
        return ksm_billing__prices_changed(), KSM_E_OK;
    ksm_db_rollback(db);
    json_decref(*out);
    *out = NULL;
    return e == KSM_E_OK ? KSM_E_INTERNAL : e;
}

/* ---- rating ------------------------------------------------------------------------------------- */

int64_t ksm_billing_rate(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t time_ms)
{
    const struct ksm_billing_meter *m = ksm_billing_meter_find(rec->service, rec->meter);
    int64_t per, price;
    if (!m || m->gauge)
        return 0;
    if (ksm_billing__memo_get(m, time_ms, &per, &price))   /* billing_price_memo.c */
        return ksm_billing_rate_amount(rec->quantity, price, per);
    uint64_t gen = ksm_billing__price_generation();
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT per, price_microyen, valid_from_ms,"
                                          " coalesce(valid_until_ms, 9223372036854775807)"
                                          " FROM billing_prices"
                                          " WHERE service = ? AND meter = ? AND valid_from_ms <= ?3"
                                          " AND (valid_until_ms IS NULL OR valid_until_ms > ?3)"
                                          " ORDER BY valid_from_ms DESC LIMIT 1");
    ksm_db_bind_text(st, 1, rec->service);
    ksm_db_bind_text(st, 2, rec->meter);
    sqlite3_bind_int64(st, 3, time_ms);
    int rc = sqlite3_step(st);
    int64_t cost = rc == SQLITE_DONE ? 0 : -1;
    if (rc == SQLITE_ROW) {
        per = sqlite3_column_int64(st, 0);
        price = sqlite3_column_int64(st, 1);
        ksm_billing__memo_put(m, gen, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3), per,
                              price);
        cost = ksm_billing_rate_amount(rec->quantity, price, per);
    }
    sqlite3_reset(st);
    return cost;
}
