/* supply_review.c — the review workflow (SPEC.md SC4):
 *   draft ─submit→ submitted ─review→ under_review ─advise→ advised ─resolve→ resolved
 * The agency submits (with an equipment list) and resolves; a reviewer (role supply_reviewer, at
 * platform scope) takes the case and gives advice: 懸念なし, or 懸念あり with the reason and a
 * recommended alternative (代替品への差替) or mitigation (低減策). A change to the case, its list or
 * its chain after advice reopens the review (supply__changed). Each step is an event in the case's
 * history with its actor; the audit log has the request, with the same principal. */
#include "supply/supply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "supply/supply_date.h"

struct step {
    const char *action, *from, *to;
};

static const struct step steps[] = {
    {"submit", "draft", "submitted"},
    {"review", "submitted", "under_review"},
    {"resolve", "advised", "resolved"},
};

/* The case's latest advice that a change has not superseded; NULL when none. */
json_t *ksm_supply__advice(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, list_id, concern, reason, alternative, mitigation, reviewer, at,"
            " fiscal_year FROM supply_advice WHERE case_id=?1 AND superseded=0"
            " ORDER BY at DESC, id DESC LIMIT 1");
    if (!st)
        return NULL;
    ksm_db_bind_text(st, 1, id);
    json_t *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        char at[32];
        ksm_rfc3339_ms(sqlite3_column_int64(st, 7), at);
        o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:i}", "id", ksm_db_col_text(st, 0), "list",
                      ksm_db_col_text(st, 1), "concern", sqlite3_column_int(st, 2), "result",
                      sqlite3_column_int(st, 2) ? "懸念あり" : "懸念なし", "reviewer",
                      ksm_db_col_text(st, 6), "at", at, "fiscal_year",
                      sqlite3_column_int(st, 8));
        static const char *const opt[] = {"reason", "alternative", "mitigation"};
        for (int k = 0; k < 3; k++) {
            const char *t = (const char *)sqlite3_column_text(st, 3 + k);
            json_object_set_new(o, opt[k], t ? json_string(t) : json_null());
        }
    }
    sqlite3_reset(st);
    return o;
}


static bool has_list(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT list_id FROM supply_cases WHERE id=?1");
    if (!st)
        return false;
    ksm_db_bind_text(st, 1, id);
    bool yes = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    sqlite3_reset(st);
    return yes;
}

/* resolve after 懸念あり must say what was done about it */
static enum ksm_err resolve_detail(struct ksm_db *db, const char *id, json_t *body, json_t **detail,
                                   char *why)
{
    static const char *const allowed[] = {"measures", NULL};
    const char *m = NULL;
    enum ksm_err e = body ? ksm_supply__fields(body, allowed, why) : KSM_E_OK;
    if (e == KSM_E_OK && body)
        e = ksm_supply__str(body, "measures", 4000, &m, why);
    if (e != KSM_E_OK)
        return e;
    json_t *a = ksm_supply__advice(db, id);
    bool concern = a && json_is_true(json_object_get(a, "concern"));
    json_decref(a);
    if (concern && !m) {
        snprintf(why, KSM_SUPPLY_WHY,
                 "the advice found a concern (懸念あり): measures must say what was done about it");
        return KSM_E_INVALID_ARGUMENT;
    }
    *detail = m ? json_pack("{s:s}", "measures", m) : NULL;
    return KSM_E_OK;
}

enum ksm_err ksm_supply_transition(struct ksm_db *db, const char *id, const char *action,
                                   const char *actor, json_t *body, json_t **out, char *why)
{
    const struct step *s = NULL;
    for (size_t i = 0; i < KSM_NELEM(steps); i++)
        if (!strcmp(steps[i].action, action))
            s = &steps[i];
    if (!s)
        return KSM_E_INTERNAL;
    char state[KSM_SUPPLY_ID_LEN], tenant[KSM_SUPPLY_ID_LEN];
    json_t *detail = NULL;
    enum ksm_err e = ksm_supply__begin(db);
    if (e != KSM_E_OK)
        return e;
    e = ksm_supply__case_state(db, id, state, tenant);
    if (e == KSM_E_OK && strcmp(state, s->from)) {
        snprintf(why, KSM_SUPPLY_WHY, "the case is %s: %s needs it %s", state, action, s->from);
        e = KSM_E_CONFLICT;
    }
    if (e == KSM_E_OK && !strcmp(action, "submit") && !has_list(db, id)) {
        snprintf(why, KSM_SUPPLY_WHY, "import an equipment list (機器リスト) before submitting");
        e = KSM_E_CONFLICT;
    }
    if (e == KSM_E_OK && !strcmp(action, "resolve"))
        e = resolve_detail(db, id, body, &detail, why);
    if (e == KSM_E_OK)
        e = ksm_supply__set_state(db, id, s->to);
    if (e == KSM_E_OK)
        e = ksm_supply__event(db, id, actor, action, s->from, s->to, detail);
    json_decref(detail);
    e = ksm_supply__end(db, e);
    return e == KSM_E_OK ? ksm_supply_case_get(db, id, out) : e;
}

static enum ksm_err advice_fields(json_t *body, bool *concern, const char **reason,
                                  const char **alt, const char **mit, char *why)
{
    static const char *const allowed[] = {"concern", "reason", "alternative", "mitigation", NULL};
    enum ksm_err e = ksm_supply__fields(body, allowed, why);
    json_t *c = json_object_get(body, "concern");
    if (e == KSM_E_OK && !json_is_boolean(c)) {
        snprintf(why, KSM_SUPPLY_WHY, "concern is required: true (懸念あり) or false (懸念なし)");
        e = KSM_E_INVALID_ARGUMENT;
    }
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "reason", 4000, reason, why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "alternative", 4000, alt, why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(body, "mitigation", 4000, mit, why);
    if (e != KSM_E_OK)
        return e;
    *concern = json_is_true(c);
    if (*concern && (!*reason || (!*alt && !*mit))) {
        snprintf(why, KSM_SUPPLY_WHY, "懸念あり needs a reason and a recommended alternative "
                                      "(alternative) or mitigation (mitigation)");
        return KSM_E_INVALID_ARGUMENT;
    }
    return KSM_E_OK;
}

static enum ksm_err insert_advice(struct ksm_db *db, const char *id, const char *tenant,
                                  const char *actor, bool concern, const char *reason,
                                  const char *alt, const char *mit, char *aid)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO supply_advice(id, case_id, tenant_id, list_id, concern, reason,"
            " alternative, mitigation, item_count, reviewer, at, fiscal_year)"
            " SELECT ?1, c.id, ?2, c.list_id, ?3, ?4, ?5, ?6, l.item_count, ?7, ?8, ?9"
            " FROM supply_cases c JOIN supply_lists l ON l.id=c.list_id WHERE c.id=?10");
    if (!st)
        return KSM_E_INTERNAL;
    int64_t now = ksm_now_ms();
    ksm_id_new("sa", aid);
    ksm_db_bind_text(st, 1, aid);
    ksm_db_bind_text(st, 2, tenant);
    sqlite3_bind_int(st, 3, concern);
    ksm_db_bind_text(st, 4, reason);
    ksm_db_bind_text(st, 5, alt);
    ksm_db_bind_text(st, 6, mit);
    ksm_db_bind_text(st, 7, actor);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_int(st, 9, ksm_supply_fiscal_year_ms(now));
    ksm_db_bind_text(st, 10, id);
    enum ksm_err e = ksm_supply__step(db, st);
    return e == KSM_E_OK && sqlite3_changes(db->h) != 1 ? KSM_E_CONFLICT : e;
}

enum ksm_err ksm_supply_advise(struct ksm_db *db, const char *id, const char *actor, json_t *body,
                               json_t **out, char *why)
{
    bool concern = false;
    const char *reason = NULL, *alt = NULL, *mit = NULL;
    enum ksm_err e = advice_fields(body, &concern, &reason, &alt, &mit, why);
    char state[KSM_SUPPLY_ID_LEN], tenant[KSM_SUPPLY_ID_LEN], aid[40];
    if (e != KSM_E_OK || (e = ksm_supply__begin(db)) != KSM_E_OK)
        return e;
    e = ksm_supply__case_state(db, id, state, tenant);
    if (e == KSM_E_OK && strcmp(state, "under_review")) {
        snprintf(why, KSM_SUPPLY_WHY, "the case is %s: advice needs it under_review", state);
        e = KSM_E_CONFLICT;
    }
    if (e == KSM_E_OK)
        e = insert_advice(db, id, tenant, actor, concern, reason, alt, mit, aid);
    if (e == KSM_E_OK)
        e = ksm_supply__set_state(db, id, "advised");
    if (e == KSM_E_OK) {
        json_t *d = json_pack("{s:s, s:s}", "advice", aid, "result",
                              concern ? "懸念あり" : "懸念なし");
        e = ksm_supply__event(db, id, actor, "advise", "under_review", "advised", d);
        json_decref(d);
    }
    e = ksm_supply__end(db, e);
    return e == KSM_E_OK ? ksm_supply_case_get(db, id, out) : e;
}

enum ksm_err ksm_supply_events(struct ksm_db *db, const char *id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT seq, at, actor, action, from_state, to_state, detail FROM supply_events"
            " WHERE case_id=?1 ORDER BY seq");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, id);
    json_t *items = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        ksm_rfc3339_ms(sqlite3_column_int64(st, 1), at);
        json_t *ev = json_pack("{s:i, s:s, s:s, s:s}", "seq", sqlite3_column_int(st, 0), "at", at,
                               "actor", ksm_db_col_text(st, 2), "action", ksm_db_col_text(st, 3));
        const char *f = (const char *)sqlite3_column_text(st, 4);
        const char *t = (const char *)sqlite3_column_text(st, 5);
        json_object_set_new(ev, "from", f ? json_string(f) : json_null());
        json_object_set_new(ev, "to", t ? json_string(t) : json_null());
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            json_object_set_new(ev, "detail", ksm_supply__json_col(st, 6));
        json_array_append_new(items, ev);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return KSM_E_INTERNAL;
    }
    *out = json_pack("{s:s, s:o}", "case", id, "items", items);
    return KSM_E_OK;
}
