/* supply_schema.c — the register's tables, the transaction pattern and the case history.
 * A case's history (supply_events) is the register's own account of its workflow, kept with the
 * case; the audit log records the same requests with their principals, independently of it. */
#include "supply/supply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "iam/iam.h"

static const struct ksm_migration migrations[] = {
    {"supply", 1,
     "CREATE TABLE supply_cases(id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,"
     " state TEXT NOT NULL, doc TEXT NOT NULL, scope TEXT NOT NULL, in_scope INTEGER NOT NULL,"
     " list_id TEXT, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL);"
     "CREATE INDEX supply_cases_tenant ON supply_cases(tenant_id, id);"
     "CREATE TABLE supply_lists(id TEXT PRIMARY KEY, case_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL, doc TEXT NOT NULL, item_count INTEGER NOT NULL,"
     " created_by TEXT NOT NULL, created_at INTEGER NOT NULL);"
     "CREATE INDEX supply_lists_case ON supply_lists(case_id);"
     "CREATE TABLE supply_items(list_id TEXT NOT NULL, seq INTEGER NOT NULL,"
     " company TEXT NOT NULL, category TEXT NOT NULL, maker TEXT NOT NULL, maker_corpnum TEXT,"
     " maker_reason TEXT, product TEXT NOT NULL, model TEXT NOT NULL,"
     " PRIMARY KEY(list_id, seq));"
     "CREATE TABLE supply_chains(case_id TEXT PRIMARY KEY, doc TEXT NOT NULL,"
     " updated_by TEXT NOT NULL, updated_at INTEGER NOT NULL);"
     "CREATE TABLE supply_events(case_id TEXT NOT NULL, seq INTEGER NOT NULL,"
     " at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, from_state TEXT,"
     " to_state TEXT, detail TEXT, PRIMARY KEY(case_id, seq));"
     "CREATE TABLE supply_advice(id TEXT PRIMARY KEY, case_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL, list_id TEXT NOT NULL, concern INTEGER NOT NULL, reason TEXT,"
     " alternative TEXT, mitigation TEXT, item_count INTEGER NOT NULL, reviewer TEXT NOT NULL,"
     " at INTEGER NOT NULL, fiscal_year INTEGER NOT NULL, superseded INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX supply_advice_case ON supply_advice(case_id);"
     "CREATE TABLE supply_concerns(id TEXT PRIMARY KEY, corpnum TEXT, name TEXT,"
     " name_norm TEXT, model_pattern TEXT, reason TEXT NOT NULL, created_by TEXT NOT NULL,"
     " created_at INTEGER NOT NULL);"},
};

void ksm_supply_register_schema(void)
{
    ksm_db_register(migrations, (int)KSM_NELEM(migrations));
}

enum ksm_err ksm_supply__begin(struct ksm_db *db)
{
    return ksm_db_begin(db) == SQLITE_OK ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_supply__end(struct ksm_db *db, enum ksm_err e)
{
    if (e == KSM_E_OK && ksm_db_commit(db) != SQLITE_OK)
        e = KSM_E_INTERNAL;
    if (e != KSM_E_OK)
        ksm_db_rollback(db);
    return e;
}

enum ksm_err ksm_supply__step(struct ksm_db *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int ext = sqlite3_extended_errcode(db->h);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return KSM_E_OK;
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return KSM_E_ALREADY_EXISTS;
    return KSM_E_INTERNAL;
}

json_t *ksm_supply__json_col(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    json_t *v = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

char *ksm_supply__dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort();   /* only out of memory: fatal as everywhere */
    return s;
}

enum ksm_err ksm_supply__case_state(struct ksm_db *db, const char *id, char *state, char *tenant)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT state, tenant_id FROM supply_cases WHERE id=?1");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(state, KSM_SUPPLY_ID_LEN, "%s", ksm_db_col_text(st, 0));
        snprintf(tenant, KSM_SUPPLY_ID_LEN, "%s", ksm_db_col_text(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

enum ksm_err ksm_supply__set_state(struct ksm_db *db, const char *id, const char *state)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "UPDATE supply_cases SET state=?2, updated_at=?3 WHERE id=?1");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, id);
    ksm_db_bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, ksm_now_ms());
    return ksm_supply__step(db, st);
}

enum ksm_err ksm_supply__event(struct ksm_db *db, const char *id, const char *actor,
                               const char *action, const char *from, const char *to,
                               json_t *detail)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO supply_events(case_id, seq, at, actor, action, from_state, to_state,"
            " detail) VALUES(?1, (SELECT coalesce(max(seq), 0) + 1 FROM supply_events"
            " WHERE case_id=?1), ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!st)
        return KSM_E_INTERNAL;
    char *d = detail ? ksm_supply__dump(detail) : NULL;
    ksm_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    ksm_db_bind_text(st, 3, actor);
    ksm_db_bind_text(st, 4, action);
    ksm_db_bind_text(st, 5, from);
    ksm_db_bind_text(st, 6, to);
    ksm_db_bind_text(st, 7, d);
    enum ksm_err e = ksm_supply__step(db, st);
    free(d);
    return e;
}

enum ksm_err ksm_supply__changed(struct ksm_db *db, const char *id, const char *actor,
                                 const char *what)
{
    char state[KSM_SUPPLY_ID_LEN], tenant[KSM_SUPPLY_ID_LEN];
    enum ksm_err e = ksm_supply__case_state(db, id, state, tenant);
    if (e != KSM_E_OK || (strcmp(state, "advised") && strcmp(state, "resolved")))
        return e;
    sqlite3_stmt *st =
        ksm_db_prepare(db, "UPDATE supply_advice SET superseded=1 WHERE case_id=?1");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, id);
    if ((e = ksm_supply__step(db, st)) != KSM_E_OK ||
        (e = ksm_supply__set_state(db, id, "under_review")) != KSM_E_OK)
        return e;
    json_t *d = json_pack("{s:s}", "changed", what);
    e = ksm_supply__event(db, id, actor, "reopened", state, "under_review", d);
    json_decref(d);
    return e;
}

enum ksm_err ksm_supply__str(json_t *body, const char *key, size_t max, const char **out,
                             char *why)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return KSM_E_OK;
    if (!json_is_string(v)) {
        snprintf(why, KSM_SUPPLY_WHY, "%s must be a string", key);
        return KSM_E_INVALID_ARGUMENT;
    }
    const char *s = json_string_value(v);
    if (strlen(s) > max) {
        snprintf(why, KSM_SUPPLY_WHY, "%s is too long (at most %zu bytes)", key, max);
        return KSM_E_INVALID_ARGUMENT;
    }
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n') {
            snprintf(why, KSM_SUPPLY_WHY, "%s holds a control character", key);
            return KSM_E_INVALID_ARGUMENT;
        }
    *out = *s ? s : NULL;
    return KSM_E_OK;
}

enum ksm_err ksm_supply__fields(json_t *body, const char *const *allowed, char *why)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(*a, key);
        if (!ok) {
            snprintf(why, KSM_SUPPLY_WHY, "unknown field %s", key);
            return KSM_E_UNKNOWN_FIELD;
        }
    }
    return KSM_E_OK;
}
