/* supply_concerns.c — the reviewers' concern list (makers or products of concern) and matching a
 * case against it. An entry names a maker by 法人番号 and/or by name, optionally narrowed to model
 * patterns (AAA-* : fnmatch), or a model pattern alone. Names compare normalised (NFKC width,
 * case, 株式会社 before or after, spaces: supply_text.h), models without spaces or hyphens. Every
 * match says which rule hit and on what, so the reviewer can judge it. */
#include "supply/supply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/corpnum.h"
#include "core/util.h"
#include "supply/supply_text.h"

static json_t *concern_row(sqlite3_stmt *st)
{
    char at[32];
    ksm_rfc3339_ms(sqlite3_column_int64(st, 6), at);
    json_t *o = json_pack("{s:s}", "id", ksm_db_col_text(st, 0));
    static const char *const f[] = {"corporate_number", "name", "name_normalised",
                                    "model_pattern"};
    for (int k = 0; k < 4; k++) {
        const char *t = (const char *)sqlite3_column_text(st, 1 + k);
        json_object_set_new(o, f[k], t ? json_string(t) : json_null());
    }
    json_object_set_new(o, "reason", json_string(ksm_db_col_text(st, 5)));
    json_object_set_new(o, "created_at", json_string(at));
    json_object_set_new(o, "created_by", json_string(ksm_db_col_text(st, 7)));
    return o;
}

#define CONCERN_COLS "id, corpnum, name, name_norm, model_pattern, reason, created_at, created_by"

enum ksm_err ksm_supply_concern_create(struct ksm_db *db, const char *actor, json_t *body,
                                       json_t **out, char *why)
{
    static const char *const allowed[] = {"corporate_number", "name", "model_pattern", "reason",
                                          NULL};
    const char *cn = NULL, *name = NULL, *pat = NULL, *reason = NULL;
    enum ksm_err e = ksm_supply__fields(body, allowed, why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "corporate_number", 64, &cn, why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "name", 500, &name, why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "model_pattern", 200, &pat, why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "reason", 4000, &reason, why);
    if (e != KSM_E_OK)
        return e;
    if (!reason || (!cn && !name && !pat)) {
        snprintf(why, KSM_SUPPLY_WHY,
                 "reason and at least one of corporate_number, name, model_pattern are required");
        return KSM_E_INVALID_ARGUMENT;
    }
    char *digits = cn ? ksm_supply_digits(cn) : NULL;
    if (cn && !(digits && ksm_corpnum_valid(digits))) {
        free(digits);
        snprintf(why, KSM_SUPPLY_WHY, "corporate_number is not a valid 法人番号");
        return KSM_E_INVALID_ARGUMENT;
    }
    char *norm = name ? ksm_supply_norm_name(name) : NULL;
    char *npat = pat ? ksm_supply_norm_model(pat) : NULL;
    char id[40];
    ksm_id_new("scn", id);
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO supply_concerns(" CONCERN_COLS
                                          ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    e = st ? KSM_E_OK : KSM_E_INTERNAL;
    if (name && (!norm || !*norm)) {
        snprintf(why, KSM_SUPPLY_WHY, "name has nothing left to compare once normalised");
        e = KSM_E_INVALID_ARGUMENT;
    }
    if (e == KSM_E_OK) {
        ksm_db_bind_text(st, 1, id);
        ksm_db_bind_text(st, 2, digits);
        ksm_db_bind_text(st, 3, name);
        ksm_db_bind_text(st, 4, norm);
        ksm_db_bind_text(st, 5, npat);
        ksm_db_bind_text(st, 6, reason);
        sqlite3_bind_int64(st, 7, ksm_now_ms());
        ksm_db_bind_text(st, 8, actor);
        e = ksm_supply__step(db, st);
    }
    free(digits);
    free(norm);
    free(npat);
    if (e != KSM_E_OK)
        return e;
    return ksm_db_get_json(db, "SELECT " CONCERN_COLS " FROM supply_concerns WHERE id=?1", id,
                           concern_row, out);
}

enum ksm_err ksm_supply_concern_list(struct ksm_db *db, const char *after, int limit,
                                     json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " CONCERN_COLS " FROM supply_concerns WHERE"
                                          " (?1 IS NULL OR id>?1) ORDER BY id LIMIT ?2");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, after);
    sqlite3_bind_int(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, concern_row(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_supply_concern_delete(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM supply_concerns WHERE id=?1");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, id);
    enum ksm_err e = ksm_supply__step(db, st);
    return e == KSM_E_OK && sqlite3_changes(db->h) == 0 ? KSM_E_NOT_FOUND : e;
}

/* One entity (an item's maker and model, or a chain member) against one concern: the reasons it
 * matches appended to why (an array); true when it matches. */
static bool match_one(json_t *c, const char *corpnum, const char *name, const char *model,
                      json_t *why)
{
    const char *ccn = json_string_value(json_object_get(c, "corporate_number"));
    const char *cnorm = json_string_value(json_object_get(c, "name_normalised"));
    const char *cpat = json_string_value(json_object_get(c, "model_pattern"));
    char msg[1200];
    bool maker = false;
    if (ccn && corpnum && !strcmp(ccn, corpnum)) {
        snprintf(msg, sizeof msg, "法人番号 %s is on the concern list", corpnum);
        json_array_append_new(why, json_string(msg));
        maker = true;
    }
    char *n = name && cnorm ? ksm_supply_norm_name(name) : NULL;
    if (n && *n && !strcmp(n, cnorm)) {
        snprintf(msg, sizeof msg, "maker name '%s' matches '%s' (both normalise to '%s')", name,
                 json_string_value(json_object_get(c, "name")), n);
        json_array_append_new(why, json_string(msg));
        maker = true;
    }
    free(n);
    if (!cpat)
        return maker;
    if ((ccn || cnorm) && !maker)
        return false;
    char *m = model ? ksm_supply_norm_model(model) : NULL;
    bool hit = m && ksm_supply_model_match(cpat, m);
    if (hit) {
        snprintf(msg, sizeof msg, "model '%s' matches the pattern '%s'", model, cpat);
        json_array_append_new(why, json_string(msg));
    } else {
        json_array_clear(why);
    }
    free(m);
    return hit;
}

static void match_against(json_t *concerns, json_t *subject, const char *corpnum,
                          const char *name, const char *model, json_t *into)
{
    size_t i;
    json_t *c;
    json_array_foreach(concerns, i, c) {
        json_t *why = json_array();
        if (match_one(c, corpnum, name, model, why)) {
            json_t *m = json_deep_copy(subject);
            json_object_set_new(m, "concern", json_string(json_string_value(
                                                  json_object_get(c, "id"))));
            json_object_set(m, "concern_reason", json_object_get(c, "reason"));
            json_object_set(m, "why", why);
            json_array_append_new(into, m);
        }
        json_decref(why);
    }
}

static void match_chain(json_t *concerns, json_t *nodes, json_t *into)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        json_t *subject = json_pack("{s:s, s:O, s:O}", "source", "chain", "name",
                                    json_object_get(n, "name"), "level_name",
                                    json_object_get(n, "level_name"));
        match_against(concerns, subject, json_string_value(json_object_get(n, "corporate_number")),
                      json_string_value(json_object_get(n, "name")), NULL, into);
        json_decref(subject);
        match_chain(concerns, json_object_get(n, "subcontractors"), into);
    }
}

enum ksm_err ksm_supply_concern_match(struct ksm_db *db, const char *case_id, json_t **out)
{
    json_t *concerns = json_array(), *list = NULL, *chain = NULL, *matches = json_array();
    enum ksm_err e = ksm_supply_concern_list(db, NULL, 1000000, concerns);
    if (e == KSM_E_OK && (e = ksm_supply_list_current(db, case_id, &list)) == KSM_E_NOT_FOUND)
        e = KSM_E_OK;
    if (e == KSM_E_OK)
        e = ksm_supply_chain_get(db, case_id, &chain);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it) {
        json_t *subject = json_pack("{s:s, s:O, s:O, s:O, s:O}", "source", "list", "seq",
                                    json_object_get(it, "seq"), "maker",
                                    json_object_get(it, "maker"), "product",
                                    json_object_get(it, "product"), "model",
                                    json_object_get(it, "model"));
        match_against(concerns, subject,
                      json_string_value(json_object_get(it, "maker_corporate_number")),
                      json_string_value(json_object_get(it, "maker")),
                      json_string_value(json_object_get(it, "model")), matches);
        json_decref(subject);
    }
    if (chain)
        match_chain(concerns, json_object_get(chain, "contractors"), matches);
    if (e == KSM_E_OK)
        *out = json_pack("{s:s, s:O, s:I, s:o}", "case", case_id, "list",
                         list ? json_object_get(list, "id") : json_null(), "concerns_checked",
                         (json_int_t)json_array_size(concerns), "matches", matches);
    else
        json_decref(matches);
    json_decref(concerns);
    json_decref(list);
    json_decref(chain);
    return e;
}
