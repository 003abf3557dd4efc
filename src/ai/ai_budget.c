/* ai_budget.c — a project's monthly AI budget (SPEC.md C): whole yen per JST
 * calendar month, and the percentages at which crossing spend is announced; and a key's own
 * monthly cap inside the project (a contractor's or a department's key on a shared project), as
 * LiteLLM's and Portkey's virtual keys have. The ledger (ai_ledger.c) reads either when it first
 * sees the project or key and again after any AI-store write. */
#include "ai/ai_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define BUDGET_YEN_MAX 1000000000000LL /* 1 兆円: micro-yen still far from int64's end */

static const int default_alerts[] = {50, 80, 100};

static enum ksm_err parse_alerts(json_t *a, struct ksm_ai_budget *b, char *why)
{
    size_t i;
    json_t *v;
    if (json_array_size(a) > KSM_AI_MAX_ALERTS)
        goto bad;
    json_array_foreach(a, i, v)
    {
        json_int_t t = json_is_integer(v) ? json_integer_value(v) : -1;
        if (t < 1 || t > 1000 || (i > 0 && t <= b->alerts[i - 1]))
            goto bad;
        b->alerts[i] = (int)t;
    }
    b->nalerts = (int)json_array_size(a);
    return KSM_E_OK;
bad:
    snprintf(why, KSM_AI_WHY, "alert_thresholds must be at most %d ascending percentages 1..1000",
             KSM_AI_MAX_ALERTS);
    return KSM_E_INVALID_ARGUMENT;
}

json_t *ksm_ai__alerts_json(const struct ksm_ai_budget *b)
{
    json_t *a = json_array();
    for (int i = 0; i < b->nalerts; i++)
        json_array_append_new(a, json_integer(b->alerts[i]));
    return a;
}

/* {monthly_yen, alert_thresholds?}: a project's budget and a key's take the same body. */
static enum ksm_err parse_budget(json_t *body, struct ksm_ai_budget *b, char *why)
{
    int64_t yen = -1;
    json_t *alerts = NULL;
    *b = (struct ksm_ai_budget){.nalerts = (int)KSM_NELEM(default_alerts)};
    memcpy(b->alerts, default_alerts, sizeof default_alerts);
    const struct ksm_ai__jf spec[] = {
        {"monthly_yen", KSM_AI_J_INT, true, &yen, NULL},
        {"alert_thresholds", KSM_AI_J_ARR, false, &alerts, NULL},
    };
    enum ksm_err e = ksm_ai__fields(body, "", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    if (yen < 0 || yen > BUDGET_YEN_MAX)
        return snprintf(why, KSM_AI_WHY, "monthly_yen must be 0..%lld", BUDGET_YEN_MAX),
               KSM_E_INVALID_ARGUMENT;
    b->monthly_microyen = yen * 1000000;
    return alerts ? parse_alerts(alerts, b, why) : KSM_E_OK;
}

/* A budget parsed from body, stored: sql's parameters are the row's key (nkeys texts), its
 * thresholds, its amount and the time. */
static enum ksm_err put_budget(struct ksm_db *db, const char *sql, const char *k0, const char *k1,
                               const char *k2, int nkeys, json_t *body, char *why)
{
    struct ksm_ai_budget b;
    enum ksm_err e = parse_budget(body, &b, why);
    if (e != KSM_E_OK)
        return e;
    json_t *a = ksm_ai__alerts_json(&b);
    char *alerts = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    const char *texts[] = {k0, k1, k2, NULL};
    texts[nkeys] = alerts;
    const int64_t ints[] = {b.monthly_microyen, ksm_now_ms()};
    e = ksm_ai__write(db, sql, texts, nkeys + 1, ints, 2);
    free(alerts);
    return e;
}

enum ksm_err ksm_ai_budget_set(struct ksm_db *db, const char *tenant, const char *project,
                               json_t *body, char *why)
{
    return put_budget(db,
                      "INSERT INTO ai_budgets(project_id, tenant_id, alerts, monthly_microyen,"
                      " updated_at) VALUES(?1,?2,?3,?4,?5) ON CONFLICT(project_id) DO UPDATE SET"
                      " monthly_microyen=excluded.monthly_microyen, alerts=excluded.alerts,"
                      " updated_at=excluded.updated_at",
                      project, tenant, NULL, 2, body, why);
}

/* The row goes (if there is one): the ledger, re-reading after the commit, admits the project
 * without limit again. */
enum ksm_err ksm_ai_budget_delete(struct ksm_db *db, const char *project)
{
    const char *texts[] = {project};
    return ksm_ai__write(db, "DELETE FROM ai_budgets WHERE project_id=?1", texts, 1, NULL, 0);
}

/* The budget of a row (monthly_microyen, alerts) of st, or monthly_microyen -1 when none. */
static enum ksm_err row_budget(sqlite3_stmt *st, struct ksm_ai_budget *out)
{
    char why[KSM_AI_WHY];
    memset(out, 0, sizeof *out);
    out->monthly_microyen = -1;
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    if (rc == SQLITE_ROW) {
        out->monthly_microyen = sqlite3_column_int64(st, 0);
        json_t *a = json_loads(ksm_db_col_text(st, 1), 0, NULL);
        e = a ? parse_alerts(a, out, why) : KSM_E_INTERNAL;
        json_decref(a);
    }
    sqlite3_reset(st);
    return e == KSM_E_OK ? e : KSM_E_INTERNAL;
}

enum ksm_err ksm_ai_budget_load(struct ksm_db *db, const char *project, struct ksm_ai_budget *out)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "SELECT monthly_microyen, alerts FROM ai_budgets WHERE project_id=?1");
    ksm_db_bind_text(st, 1, project);
    return row_budget(st, out);
}

/* ---- a key's cap inside a project ---- */

enum ksm_err ksm_ai_key_budget_set(struct ksm_db *db, const char *tenant, const char *project,
                                   const char *key, json_t *body, char *why)
{
    return put_budget(db,
                      "INSERT INTO ai_key_budgets(project_id, key_id, tenant_id, alerts,"
                      " monthly_microyen, updated_at) VALUES(?1,?2,?3,?4,?5,?6)"
                      " ON CONFLICT(project_id, key_id) DO UPDATE SET"
                      " monthly_microyen=excluded.monthly_microyen, alerts=excluded.alerts,"
                      " updated_at=excluded.updated_at",
                      project, key, tenant, 3, body, why);
}

enum ksm_err ksm_ai_key_budget_delete(struct ksm_db *db, const char *project, const char *key)
{
    const char *texts[] = {project, key};
    return ksm_ai__write(db, "DELETE FROM ai_key_budgets WHERE project_id=?1 AND key_id=?2", texts,
                         2, NULL, 0);
}

enum ksm_err ksm_ai_key_budget_load(struct ksm_db *db, const char *project, const char *key,
                                    struct ksm_ai_budget *out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT monthly_microyen, alerts FROM ai_key_budgets"
                                          " WHERE project_id=?1 AND key_id=?2");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, key);
    return row_budget(st, out);
}

enum ksm_err ksm_ai_key_settings_each(struct ksm_db *db, const char *project,
                                      void (*fn)(void *arg, const char *key), void *arg)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT key_id FROM ai_key_budgets WHERE project_id=?1"
                                          " UNION SELECT key_id FROM ai_key_models"
                                          " WHERE project_id=?1 UNION SELECT key_id FROM"
                                          " ai_key_rates WHERE project_id=?1 ORDER BY 1");
    ksm_db_bind_text(st, 1, project);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(arg, ksm_db_col_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
