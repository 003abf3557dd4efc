/* supply_chain.c — subcontractor chains (SPEC.md SC3): the contractors of a case (委託先), their
 * subcontractors (再委託先) and theirs (再々委託先), as a tree. Each entity has its 法人番号 (or
 * the reason it has none, e.g. a foreign company), its country (ISO 3166-1 alpha-2), the work it
 * does and whether it touches the information assets. The tree is replaced as a whole (PUT): a
 * chain is small, and a whole tree is validated at once. */
#include "supply/supply_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/corpnum.h"
#include "core/util.h"
#include "supply/supply_text.h"

#define MAX_DEPTH 6
#define MAX_NODES 1000

static const char *level_name(int level)
{
    static const char *const names[] = {"委託", "再委託", "再々委託"};
    return level <= 3 ? names[level - 1] : "再々委託以降";
}

struct walk {
    int nodes;
    char *why;
};

static enum ksm_err node_fail(struct walk *w, const char *path, const char *msg)
{
    snprintf(w->why, KSM_SUPPLY_WHY, "%s: %s", path, msg);
    return KSM_E_INVALID_ARGUMENT;
}

static enum ksm_err check_corpnum(struct walk *w, json_t *in, json_t *out, const char *path)
{
    const char *cn = NULL, *reason = NULL;
    enum ksm_err e = ksm_supply__str(in, "corporate_number", 64, &cn, w->why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(in, "no_number_reason", 1000, &reason, w->why);
    if (e != KSM_E_OK)
        return e;
    if (!cn && !reason)
        return node_fail(w, path, "corporate_number (13 digits) or no_number_reason is required");
    json_object_set_new(out, "corporate_number", json_null());
    if (cn) {
        char *d = ksm_supply_digits(cn);
        bool ok = d && ksm_corpnum_valid(d);
        if (ok)
            json_object_set_new(out, "corporate_number", json_string(d));
        free(d);
        if (!ok)
            return node_fail(w, path, "corporate_number is not a valid 法人番号 (13 digits, check "
                                      "digit first)");
    }
    json_object_set_new(out, "no_number_reason", reason ? json_string(reason) : json_null());
    return KSM_E_OK;
}

static enum ksm_err node(struct walk *w, json_t *in, int level, const char *path, json_t **out);

static enum ksm_err children(struct walk *w, json_t *arr, int level, const char *path,
                             json_t *into)
{
    if (arr && !json_is_array(arr))
        return node_fail(w, path, "must be an array");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char p[400];
        snprintf(p, sizeof p, "%.360s[%zu]", path, i);
        json_t *o = NULL;
        enum ksm_err e = node(w, v, level, p, &o);
        if (e != KSM_E_OK)
            return e;
        json_array_append_new(into, o);
    }
    return KSM_E_OK;
}

static enum ksm_err node(struct walk *w, json_t *in, int level, const char *path, json_t **out)
{
    static const char *const allowed[] = {"name", "corporate_number", "no_number_reason",
                                          "country", "scope", "touches_information_assets",
                                          "subcontractors", NULL};
    if (!json_is_object(in))
        return node_fail(w, path, "must be an object");
    if (level > MAX_DEPTH || ++w->nodes > MAX_NODES)
        return node_fail(w, path, "the chain is too deep (6 levels) or too large (1000 entities)");
    enum ksm_err e = ksm_supply__fields(in, allowed, w->why);
    const char *name = NULL, *country = NULL, *scope = NULL;
    if (e == KSM_E_OK)
        e = ksm_supply__str(in, "name", 500, &name, w->why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(in, "country", 2, &country, w->why);
    if (e == KSM_E_OK)
        e = ksm_supply__str(in, "scope", 2000, &scope, w->why);
    if (e != KSM_E_OK)
        return e;
    if (!name || !scope)
        return node_fail(w, path, "name and scope (the work entrusted) are required");
    if (!country || strlen(country) != 2 || !isupper((unsigned char)country[0]) ||
        !isupper((unsigned char)country[1]))
        return node_fail(w, path, "country must be an ISO 3166-1 alpha-2 code (JP, US, ...)");
    json_t *t = json_object_get(in, "touches_information_assets");
    if (!json_is_boolean(t))
        return node_fail(w, path, "touches_information_assets (true or false) is required");
    json_t *o = json_pack("{s:i, s:s, s:s}", "level", level, "level_name", level_name(level),
                          "name", name);
    if ((e = check_corpnum(w, in, o, path)) != KSM_E_OK) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "country", json_string(country));
    json_object_set_new(o, "scope", json_string(scope));
    json_object_set(o, "touches_information_assets", t);
    json_t *subs = json_array();
    char p[400];
    snprintf(p, sizeof p, "%.360s.subcontractors", path);
    e = children(w, json_object_get(in, "subcontractors"), level + 1, p, subs);
    json_object_set_new(o, "subcontractors", subs);
    if (e != KSM_E_OK) {
        json_decref(o);
        return e;
    }
    *out = o;
    return KSM_E_OK;
}

enum ksm_err ksm_supply_chain_put(struct ksm_db *db, const char *case_id, const char *actor,
                                  json_t *body, json_t **out, char *why)
{
    static const char *const allowed[] = {"contractors", NULL};
    struct walk w = {0, why};
    json_t *tree = json_array();
    enum ksm_err e = ksm_supply__fields(body, allowed, why);
    if (e == KSM_E_OK && !json_is_array(json_object_get(body, "contractors")))
        e = node_fail(&w, "contractors", "an array of the contractors (委託先) is required");
    if (e == KSM_E_OK)
        e = children(&w, json_object_get(body, "contractors"), 1, "contractors", tree);
    json_t *doc = json_pack("{s:o}", "contractors", tree);
    if (e == KSM_E_OK && (e = ksm_supply__begin(db)) == KSM_E_OK) {
        char state[KSM_SUPPLY_ID_LEN], tenant[KSM_SUPPLY_ID_LEN];
        e = ksm_supply__case_state(db, case_id, state, tenant);
        sqlite3_stmt *st = e == KSM_E_OK ? ksm_db_prepare(
                                               db, "INSERT OR REPLACE INTO supply_chains(case_id,"
                                                   " doc, updated_by, updated_at)"
                                                   " VALUES(?1, ?2, ?3, ?4)")
                                         : NULL;
        if (e == KSM_E_OK && !st)
            e = KSM_E_INTERNAL;
        if (e == KSM_E_OK) {
            char *d = ksm_supply__dump(doc);
            ksm_db_bind_text(st, 1, case_id);
            ksm_db_bind_text(st, 2, d);
            ksm_db_bind_text(st, 3, actor);
            sqlite3_bind_int64(st, 4, ksm_now_ms());
            e = ksm_supply__step(db, st);
            free(d);
        }
        if (e == KSM_E_OK) {
            json_t *d = json_pack("{s:i}", "entities", w.nodes);
            e = ksm_supply__event(db, case_id, actor, "chain_updated", NULL, NULL, d);
            json_decref(d);
        }
        if (e == KSM_E_OK)
            e = ksm_supply__changed(db, case_id, actor, "subcontractor chain");
        e = ksm_supply__end(db, e);
    }
    json_decref(doc);
    return e == KSM_E_OK ? ksm_supply_chain_get(db, case_id, out) : e;
}

enum ksm_err ksm_supply_chain_get(struct ksm_db *db, const char *case_id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT doc FROM supply_chains WHERE case_id=?1");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, case_id);
    json_t *doc = sqlite3_step(st) == SQLITE_ROW ? ksm_supply__json_col(st, 0) : NULL;
    sqlite3_reset(st);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_pack("{s:[]}", "contractors");
    }
    json_object_set_new(doc, "case", json_string(case_id));
    *out = doc;
    return KSM_E_OK;
}
