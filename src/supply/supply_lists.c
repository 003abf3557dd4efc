/* supply_lists.c — equipment lists (機器リスト; SPEC.md SC2): import from CSV, XLSX or JSON
 * through the one form reader, all or nothing (a list with any error stores no row), and export
 * in the form's layout. Each import is a new list; the case points at its newest, and a new list
 * after advice reopens the review (the advice covered the old one). */
#include "supply/supply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "supply/supply_csv.h"
#include "supply/supply_decode.h"
#include "supply/supply_form.h"
#include "supply/supply_layout.h"
#include "supply/supply_xlsx.h"

/* Any format → sheet. -1 with why on a file that is not readable at all. */
static int to_sheet(const char *format, const char *encoding, const char *data, size_t n,
                    struct ksm_sheet *s, json_t *meta, char *why)
{
    if (!strcmp(format, "xlsx"))
        return ksm_supply_xlsx_read(data, n, s, why, KSM_SUPPLY_WHY);
    if (!strcmp(format, "csv")) {
        char *text;
        size_t len;
        const char *enc = NULL;
        if (ksm_supply_decode(data, n, encoding, &text, &len, &enc, why, KSM_SUPPLY_WHY))
            return -1;
        json_object_set_new(meta, "encoding", json_string(enc));
        int rc = ksm_supply_csv_read(text, len, s, why, KSM_SUPPLY_WHY);
        free(text);
        return rc;
    }
    json_error_t je;
    json_t *v = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    json_t *items = json_object_get(v, "items");
    if (!json_is_object(v) || !json_is_array(items)) {
        snprintf(why, KSM_SUPPLY_WHY, "a JSON list is an object with \"items\" (an array)%s%s",
                 v ? "" : ": ", v ? "" : je.text);
        json_decref(v);
        return -1;
    }
    ksm_form_sheet_from_json(items, s);
    json_t *sub = json_object_get(v, "submitter");
    if (json_is_object(sub))
        json_object_set(meta, "submitter_json", sub);
    json_decref(v);
    return 0;
}

static enum ksm_err insert_items(struct ksm_db *db, const char *list_id, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO supply_items(list_id, seq, company, category, maker, maker_corpnum,"
            " maker_reason, product, model) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    size_t i;
    json_t *it;
    enum ksm_err e = st ? KSM_E_OK : KSM_E_INTERNAL;
    json_array_foreach(items, i, it) {
        if (e != KSM_E_OK)
            break;
        ksm_db_bind_text(st, 1, list_id);
        sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(it, "seq")));
        static const char *const f[] = {"company", "category", "maker", "maker_corporate_number",
                                        "maker_no_number_reason", "product", "model"};
        for (int k = 0; k < 7; k++)
            ksm_db_bind_text(st, 3 + k, json_string_value(json_object_get(it, f[k])));
        e = ksm_supply__step(db, st);
    }
    return e;
}

static enum ksm_err store_list(struct ksm_db *db, const char *case_id, const char *actor,
                               json_t *doc, json_t *items, char *list_id)
{
    char state[KSM_SUPPLY_ID_LEN], tenant[KSM_SUPPLY_ID_LEN];
    enum ksm_err e = ksm_supply__begin(db);
    if (e != KSM_E_OK)
        return e;
    e = ksm_supply__case_state(db, case_id, state, tenant);
    if (e == KSM_E_OK && !strcmp(state, "submitted")) {
        e = KSM_E_CONFLICT;   /* the reviewers hold it now; they take it, then changes reopen */
    }
    ksm_id_new("sl", list_id);
    sqlite3_stmt *st = e == KSM_E_OK
                           ? ksm_db_prepare(db, "INSERT INTO supply_lists(id, case_id, tenant_id,"
                                                " doc, item_count, created_by, created_at)"
                                                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                           : NULL;
    if (e == KSM_E_OK && !st)
        e = KSM_E_INTERNAL;
    if (e == KSM_E_OK) {
        char *d = ksm_supply__dump(doc);
        ksm_db_bind_text(st, 1, list_id);
        ksm_db_bind_text(st, 2, case_id);
        ksm_db_bind_text(st, 3, tenant);
        ksm_db_bind_text(st, 4, d);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)json_array_size(items));
        ksm_db_bind_text(st, 6, actor);
        sqlite3_bind_int64(st, 7, ksm_now_ms());
        e = ksm_supply__step(db, st);
        free(d);
    }
    if (e == KSM_E_OK)
        e = insert_items(db, list_id, items);
    if (e == KSM_E_OK && (st = ksm_db_prepare(db, "UPDATE supply_cases SET list_id=?2,"
                                                  " updated_at=?3 WHERE id=?1"))) {
        ksm_db_bind_text(st, 1, case_id);
        ksm_db_bind_text(st, 2, list_id);
        sqlite3_bind_int64(st, 3, ksm_now_ms());
        e = ksm_supply__step(db, st);
    }
    if (e == KSM_E_OK) {
        json_t *d = json_pack("{s:s, s:I}", "list", list_id, "items",
                              (json_int_t)json_array_size(items));
        e = ksm_supply__event(db, case_id, actor, "list_imported", NULL, NULL, d);
        json_decref(d);
    }
    if (e == KSM_E_OK)
        e = ksm_supply__changed(db, case_id, actor, "equipment list");
    return ksm_supply__end(db, e);
}

static json_t *first_message(json_t *errors, char *why)
{
    json_t *e0 = json_array_get(errors, 0);
    snprintf(why, KSM_SUPPLY_WHY, "row %lld, column %s%s%s%s: %s",
             (long long)json_integer_value(json_object_get(e0, "row")),
             json_string_value(json_object_get(e0, "column")),
             json_is_string(json_object_get(e0, "field")) ? " (" : "",
             json_is_string(json_object_get(e0, "field"))
                 ? json_string_value(json_object_get(e0, "field"))
                 : "",
             json_is_string(json_object_get(e0, "field")) ? ")" : "",
             json_string_value(json_object_get(e0, "message")));
    return errors;
}

enum ksm_err ksm_supply_list_import(struct ksm_db *db, const char *case_id, const char *actor,
                                    const char *format, const char *encoding, const char *data,
                                    size_t n, json_t **out, char *why)
{
    if (strcmp(format, "csv") && strcmp(format, "xlsx") && strcmp(format, "json")) {
        snprintf(why, KSM_SUPPLY_WHY, "format must be csv, xlsx or json");
        return KSM_E_INVALID_ARGUMENT;
    }
    struct ksm_sheet s;
    json_t *meta = json_object();
    if (to_sheet(format, encoding, data, n, &s, meta, why)) {
        json_decref(meta);
        *out = json_pack("{s:[{s:n, s:s, s:n, s:s}], s:i}", "errors", "row", "column", "",
                         "field", "message", why, "error_count", 1);
        return KSM_E_INVALID_ARGUMENT;
    }
    struct ksm_form f;
    ksm_form_read(&s, &f);
    ksm_sheet_free(&s);
    if (f.error_count) {
        *out = json_pack("{s:O, s:i}", "errors", first_message(f.errors, why), "error_count",
                         f.error_count);
        ksm_form_free(&f);
        json_decref(meta);
        return KSM_E_INVALID_ARGUMENT;
    }
    char sha[65], list_id[40];
    ksm_sha256_hex(data, n, sha);
    json_t *sub = json_object_get(meta, "submitter_json");
    json_t *doc = json_pack("{s:O, s:O, s:s, s:s, s:O}", "submitter", sub ? sub : f.submitter,
                            "ministry", f.ministry, "format", format, "sha256", sha, "encoding",
                            json_object_get(meta, "encoding") ? json_object_get(meta, "encoding")
                                                              : json_null());
    enum ksm_err e = store_list(db, case_id, actor, doc, f.items, list_id);
    if (e == KSM_E_CONFLICT)
        snprintf(why, KSM_SUPPLY_WHY,
                 "the case is submitted and waits for a reviewer: the list cannot change now");
    json_decref(doc);
    json_decref(meta);
    ksm_form_free(&f);
    return e == KSM_E_OK ? ksm_supply_list_current(db, case_id, out) : e;
}

static json_t *item_row(sqlite3_stmt *st)
{
    json_t *it = json_pack("{s:s, s:I, s:s, s:s}", "company", ksm_db_col_text(st, 0), "seq",
                           (json_int_t)sqlite3_column_int64(st, 1), "category",
                           ksm_db_col_text(st, 2), "maker", ksm_db_col_text(st, 3));
    const char *cn = (const char *)sqlite3_column_text(st, 4);
    const char *why = (const char *)sqlite3_column_text(st, 5);
    json_object_set_new(it, "maker_corporate_number", cn ? json_string(cn) : json_null());
    json_object_set_new(it, "maker_no_number_reason", why ? json_string(why) : json_null());
    json_object_set_new(it, "product", json_string(ksm_db_col_text(st, 6)));
    json_object_set_new(it, "model", json_string(ksm_db_col_text(st, 7)));
    return it;
}

enum ksm_err ksm_supply_list_current(struct ksm_db *db, const char *case_id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT l.id, l.doc, l.item_count, l.created_by, l.created_at FROM supply_cases c"
            " JOIN supply_lists l ON l.id=c.list_id WHERE c.id=?1");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, case_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return KSM_E_NOT_FOUND;
    }
    char at[32], list_id[64];
    ksm_rfc3339_ms(sqlite3_column_int64(st, 4), at);
    snprintf(list_id, sizeof list_id, "%s", ksm_db_col_text(st, 0));
    json_t *o = json_pack("{s:s, s:s}", "id", list_id, "case", case_id);
    json_t *doc = ksm_supply__json_col(st, 1);
    json_object_update(o, doc);
    json_decref(doc);
    json_object_set_new(o, "item_count", json_integer(sqlite3_column_int64(st, 2)));
    json_object_set_new(o, "created_by", json_string(ksm_db_col_text(st, 3)));
    json_object_set_new(o, "created_at", json_string(at));
    sqlite3_reset(st);
    st = ksm_db_prepare(db, "SELECT company, seq, category, maker, maker_corpnum, maker_reason,"
                            " product, model FROM supply_items WHERE list_id=?1 ORDER BY seq");
    if (!st) {
        json_decref(o);
        return KSM_E_INTERNAL;
    }
    ksm_db_bind_text(st, 1, list_id);
    json_t *items = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(items, item_row(st));
    sqlite3_reset(st);
    json_object_set_new(o, "items", items);
    *out = o;
    return KSM_E_OK;
}

enum ksm_err ksm_supply_list_export(struct ksm_db *db, const char *case_id, const char *format,
                                    const char *tmpdir, char **data, size_t *n,
                                    const char **ctype, char *why)
{
    json_t *list = NULL, *c = NULL;
    enum ksm_err e = ksm_supply_list_current(db, case_id, &list);
    if (e == KSM_E_NOT_FOUND)
        snprintf(why, KSM_SUPPLY_WHY, "the case has no equipment list yet");
    if (e != KSM_E_OK)
        return e;
    if (!strcmp(format, "json")) {
        *data = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        *n = strlen(*data);
        *ctype = "application/json";
        json_decref(list);
        return KSM_E_OK;
    }
    if ((e = ksm_supply_case_get(db, case_id, &c)) != KSM_E_OK) {
        json_decref(list);
        return e;
    }
    int header_row;
    json_t *rows = ksm_supply_layout(list, c, &header_row);
    if (!strcmp(format, "csv")) {
        struct ksm_buf b = KSM_BUF_INIT;
        ksm_supply_layout_csv(rows, &b);
        *n = b.len;
        *data = ksm_buf_steal(&b);
        *ctype = "text/csv; charset=utf-8";
    } else if (ksm_supply_layout_xlsx(rows, header_row, tmpdir, data, n, why, KSM_SUPPLY_WHY)) {
        e = KSM_E_INTERNAL;
    } else {
        *ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    }
    json_decref(rows);
    json_decref(list);
    json_decref(c);
    return e;
}
