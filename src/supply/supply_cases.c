/* supply_cases.c — procurement cases (SPEC.md SC1): who procures what, when (提出予定期日,
 * 技術検査提出締切り, 入札予定期日), which categories and importance criteria, and the scope decision
 * recomputed on every write. A case's fields are kept as one JSON document; its state and tenant
 * are columns, for the workflow and for listing. */
#include "supply/supply_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "supply/supply_date.h"

static const char *const case_fields[] = {
    "title", "agency", "department", "contact_name", "email", "phone", "submission_due",
    "inspection_due", "bid_due", "categories", "criteria", "description", NULL};
static const char *const text_fields[] = {"title", "agency", "department", "contact_name",
                                          "email", "phone", "description"};
static const char *const date_fields[] = {"submission_due", "inspection_due", "bid_due"};

static enum ksm_err put_texts(json_t *body, json_t *doc, char *why)
{
    for (size_t i = 0; i < KSM_NELEM(text_fields); i++) {
        const char *s;
        enum ksm_err e = ksm_supply__str(body, text_fields[i], 1000, &s, why);
        if (e != KSM_E_OK)
            return e;
        if (json_object_get(body, text_fields[i]))
            json_object_set_new(doc, text_fields[i], s ? json_string(s) : json_null());
    }
    return KSM_E_OK;
}

static enum ksm_err put_dates(json_t *body, json_t *doc, char *why)
{
    for (size_t i = 0; i < KSM_NELEM(date_fields); i++) {
        const char *s, *dwhy = NULL;
        char iso[11];
        enum ksm_err e = ksm_supply__str(body, date_fields[i], 64, &s, why);
        if (e != KSM_E_OK)
            return e;
        if (!json_object_get(body, date_fields[i]))
            continue;
        if (s && ksm_supply_date_parse(s, iso, &dwhy)) {
            snprintf(why, KSM_SUPPLY_WHY, "%s: '%s' %s", date_fields[i], s, dwhy);
            return KSM_E_INVALID_ARGUMENT;
        }
        json_object_set_new(doc, date_fields[i], s ? json_string(iso) : json_null());
    }
    return KSM_E_OK;
}

static enum ksm_err put_lists(json_t *body, json_t *doc, char *why)
{
    json_t *c = json_object_get(body, "categories"), *k = json_object_get(body, "criteria"), *v;
    size_t i;
    if (c) {
        if (!json_is_array(c) || json_array_size(c) > 100) {
            snprintf(why, KSM_SUPPLY_WHY, "categories must be an array of up to 100 strings");
            return KSM_E_INVALID_ARGUMENT;
        }
        json_array_foreach(c, i, v) if (!json_is_string(v) || !*json_string_value(v) ||
                                         strlen(json_string_value(v)) > 200)
        {
            snprintf(why, KSM_SUPPLY_WHY, "categories[%zu] must be a non-empty string", i);
            return KSM_E_INVALID_ARGUMENT;
        }
        json_object_set(doc, "categories", c);
    }
    if (k) {
        if (!json_is_array(k)) {
            snprintf(why, KSM_SUPPLY_WHY, "criteria must be an array of numbers 1 to 5");
            return KSM_E_INVALID_ARGUMENT;
        }
        json_t *seen = json_array();
        json_array_foreach(k, i, v) {
            json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
            if (n < 1 || n > ksm_supply__ref()->ncriteria) {
                json_decref(seen);
                snprintf(why, KSM_SUPPLY_WHY,
                         "criteria[%zu] must be an importance criterion, 1 to %d", i,
                         ksm_supply__ref()->ncriteria);
                return KSM_E_INVALID_ARGUMENT;
            }
            bool dup = false;
            size_t j;
            json_t *w;
            json_array_foreach(seen, j, w) dup |= json_integer_value(w) == n;
            if (!dup)
                json_array_append_new(seen, json_integer(n));
        }
        json_object_set_new(doc, "criteria", seen);
    }
    return KSM_E_OK;
}

/* Applies body onto doc (create: doc is empty). */
static enum ksm_err apply(json_t *body, json_t *doc, bool create, char *why)
{
    enum ksm_err e = ksm_supply__fields(body, case_fields, why);
    if (e == KSM_E_OK)
        e = put_texts(body, doc, why);
    if (e == KSM_E_OK)
        e = put_dates(body, doc, why);
    if (e == KSM_E_OK)
        e = put_lists(body, doc, why);
    if (e != KSM_E_OK)
        return e;
    if (!json_object_get(doc, "categories"))
        json_object_set_new(doc, "categories", json_array());
    if (!json_object_get(doc, "criteria"))
        json_object_set_new(doc, "criteria", json_array());
    static const char *const required[] = {"title", "agency"};
    for (size_t i = 0; i < KSM_NELEM(required); i++)
        if (!json_is_string(json_object_get(doc, required[i]))) {
            snprintf(why, KSM_SUPPLY_WHY, "%s is required", required[i]);
            return KSM_E_INVALID_ARGUMENT;
        }
    (void)create;
    return KSM_E_OK;
}

static json_t *case_row(sqlite3_stmt *st)
{
    char at[32], up[32];
    ksm_rfc3339_ms(sqlite3_column_int64(st, 6), at);
    ksm_rfc3339_ms(sqlite3_column_int64(st, 7), up);
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", ksm_db_col_text(st, 0), "tenant",
                          ksm_db_col_text(st, 1), "state", ksm_db_col_text(st, 2));
    json_t *doc = ksm_supply__json_col(st, 3);
    json_object_update(o, doc);
    json_decref(doc);
    json_t *scope = ksm_supply__json_col(st, 4);
    json_object_set_new(o, "in_scope", json_boolean(json_is_true(json_object_get(scope, "in_scope"))));
    json_object_set_new(o, "scope", scope);
    const char *list = (const char *)sqlite3_column_text(st, 5);
    json_object_set_new(o, "list", list ? json_string(list) : json_null());
    json_object_set_new(o, "created_by", json_string(ksm_db_col_text(st, 8)));
    json_object_set_new(o, "created_at", json_string(at));
    json_object_set_new(o, "updated_at", json_string(up));
    return o;
}

#define CASE_COLS                                                                              \
    "id, tenant_id, state, doc, scope, list_id, created_at, updated_at, created_by"

enum ksm_err ksm_supply_case_get(struct ksm_db *db, const char *id, json_t **out)
{
    enum ksm_err e = ksm_db_get_json(db, "SELECT " CASE_COLS " FROM supply_cases WHERE id=?1", id,
                                     case_row, out);
    if (e == KSM_E_OK) {
        json_t *a = ksm_supply__advice(db, id);
        json_object_set_new(*out, "advice", a ? a : json_null());
    }
    return e;
}

static enum ksm_err store(struct ksm_db *db, const char *id, const char *tenant,
                          const char *actor, json_t *doc, bool create)
{
    json_t *scope = ksm_supply_scope(doc);
    char *d = ksm_supply__dump(doc), *s = ksm_supply__dump(scope);
    sqlite3_stmt *st =
        create ? ksm_db_prepare(db, "INSERT INTO supply_cases(id, tenant_id, state, doc, scope,"
                                    " in_scope, created_by, created_at, updated_at)"
                                    " VALUES(?1, ?2, 'draft', ?3, ?4, ?5, ?6, ?7, ?7)")
               : ksm_db_prepare(db, "UPDATE supply_cases SET doc=?3, scope=?4, in_scope=?5,"
                                    " updated_at=?7 WHERE id=?1");
    enum ksm_err e = KSM_E_INTERNAL;
    if (st) {
        ksm_db_bind_text(st, 1, id);
        if (create) {
            ksm_db_bind_text(st, 2, tenant);
            ksm_db_bind_text(st, 6, actor);
        }
        ksm_db_bind_text(st, 3, d);
        ksm_db_bind_text(st, 4, s);
        sqlite3_bind_int(st, 5, json_is_true(json_object_get(scope, "in_scope")));
        sqlite3_bind_int64(st, 7, ksm_now_ms());
        e = ksm_supply__step(db, st);
    }
    free(d);
    free(s);
    json_decref(scope);
    return e;
}

enum ksm_err ksm_supply_case_create(struct ksm_db *db, const char *tenant, const char *actor,
                                    json_t *body, json_t **out, char *why)
{
    json_t *doc = json_object();
    enum ksm_err e = apply(body, doc, true, why);
    char id[40];
    ksm_id_new("sc", id);
    if (e == KSM_E_OK && (e = ksm_supply__begin(db)) == KSM_E_OK) {
        e = store(db, id, tenant, actor, doc, true);
        if (e == KSM_E_OK)
            e = ksm_supply__event(db, id, actor, "created", NULL, "draft", NULL);
        e = ksm_supply__end(db, e);
    }
    json_decref(doc);
    return e == KSM_E_OK ? ksm_supply_case_get(db, id, out) : e;
}

enum ksm_err ksm_supply_case_update(struct ksm_db *db, const char *id, const char *actor,
                                    json_t *body, json_t **out, char *why)
{
    json_t *cur = NULL;
    enum ksm_err e = ksm_supply__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT doc FROM supply_cases WHERE id=?1");
    if (!st)
        return ksm_supply__end(db, KSM_E_INTERNAL);
    ksm_db_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        cur = ksm_supply__json_col(st, 0);
    sqlite3_reset(st);
    e = rc == SQLITE_ROW ? KSM_E_OK : rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
    if (e == KSM_E_OK && !json_is_object(cur))
        e = KSM_E_INTERNAL;
    if (e == KSM_E_OK)
        e = apply(body, cur, false, why);
    if (e == KSM_E_OK)
        e = store(db, id, NULL, actor, cur, false);
    if (e == KSM_E_OK)
        e = ksm_supply__changed(db, id, actor, "case");
    json_decref(cur);
    e = ksm_supply__end(db, e);
    return e == KSM_E_OK ? ksm_supply_case_get(db, id, out) : e;
}

enum ksm_err ksm_supply_case_list(struct ksm_db *db, const char *tenant, const char *state,
                                  const char *after, int limit, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT " CASE_COLS " FROM supply_cases WHERE (?1 IS NULL OR tenant_id=?1)"
            " AND (?2 IS NULL OR state=?2) AND (?3 IS NULL OR id>?3) ORDER BY id LIMIT ?4");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, tenant);
    ksm_db_bind_text(st, 2, state);
    ksm_db_bind_text(st, 3, after);
    sqlite3_bind_int(st, 4, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, case_row(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_supply_case_owner(struct ksm_db *db, const char *id, char *tenant)
{
    char state[KSM_SUPPLY_ID_LEN];
    return ksm_supply__case_state(db, id, state, tenant);
}

static void add_deadline(json_t *out, json_t *c, const char *field, const char *label,
                         int32_t today, int within)
{
    const char *d = json_string_value(json_object_get(c, field));
    int32_t days = ksm_supply_date_days(d);
    if (days == INT32_MIN || days < today || days > today + within)
        return;
    json_array_append_new(out, json_pack("{s:O, s:O, s:s, s:s, s:s, s:i}", "case",
                                         json_object_get(c, "id"), "title",
                                         json_object_get(c, "title"), "deadline", field, "label",
                                         label, "date", d, "days_left", (int)(days - today)));
}

static int by_date(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "date")),
                  json_string_value(json_object_get(y, "date")));
}

enum ksm_err ksm_supply_deadlines(struct ksm_db *db, const char *tenant, int within_days,
                                  json_t **out)
{
    json_t *cases = json_array(), *list = json_array();
    enum ksm_err e = ksm_supply_case_list(db, tenant, NULL, NULL, 100000, cases);
    int32_t today = ksm_supply_today_jst();
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        if (!strcmp(json_string_value(json_object_get(c, "state")), "resolved"))
            continue;
        add_deadline(list, c, "submission_due", "提出予定期日", today, within_days);
        add_deadline(list, c, "inspection_due", "技術検査提出締切り", today, within_days);
        add_deadline(list, c, "bid_due", "入札予定期日", today, within_days);
    }
    json_decref(cases);
    size_t n = json_array_size(list);
    json_t **v = ksm_xcalloc(n ? n : 1, sizeof *v);
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    qsort(v, n, sizeof *v, by_date);
    json_t *sorted = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(sorted, v[i]);
    free(v);
    json_decref(list);
    *out = json_pack("{s:o, s:i}", "items", sorted, "within_days", within_days);
    return e;
}
