/* billing_budget.c — budget thresholds crossed by a project's month-to-date spend (all services:
 * the rated usage records), or by a key's AI spend in a project against its own budget there,
 * recorded once per project, key, JST month and threshold. Recording a
 * crossing and queueing its notifications is one transaction, so a crash never leaves a crossing
 * without its notifications, and the UNIQUE row makes a threshold fire once a month however often
 * it is checked. The audit record follows the commit (at least once: a crossing whose record was
 * not yet written when the process stopped is audited at the next start). */
#include "billing/billing.h"
#include "billing/billing_budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "meter/usage.h"

static const struct ksm_migration budget_migrations[] = {
    {"billing_budget", 1,
     "CREATE TABLE billing_budget_alerts("
     " id INTEGER PRIMARY KEY,"
     " tenant_id TEXT NOT NULL,"
     " project_id TEXT NOT NULL,"
     " month TEXT NOT NULL,"
     " threshold INTEGER NOT NULL,"
     " budget_microyen INTEGER NOT NULL,"
     " spent_microyen INTEGER NOT NULL,"
     " crossed_ms INTEGER NOT NULL,"
     " audited INTEGER NOT NULL DEFAULT 0,"
     " UNIQUE(project_id, month, threshold));"
     "CREATE TABLE billing_webhooks("
     " id TEXT PRIMARY KEY,"
     " tenant_id TEXT NOT NULL,"
     " project_id TEXT,"
     " url TEXT NOT NULL,"
     " secret_sealed BLOB NOT NULL,"
     " created_ms INTEGER NOT NULL,"
     " created_by TEXT);"
     "CREATE INDEX billing_webhooks_tenant ON billing_webhooks(tenant_id);"
     "CREATE TABLE billing_outbox("
     " id INTEGER PRIMARY KEY,"
     " alert_id INTEGER NOT NULL,"
     " webhook_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL,"
     " url TEXT NOT NULL,"
     " body TEXT NOT NULL,"
     " state TEXT NOT NULL DEFAULT 'pending',"
     " attempts INTEGER NOT NULL DEFAULT 0,"
     " next_ms INTEGER NOT NULL,"
     " last_status INTEGER,"
     " last_error TEXT,"
     " created_ms INTEGER NOT NULL,"
     " delivered_ms INTEGER,"
     " UNIQUE(alert_id, webhook_id));"
     "CREATE INDEX billing_outbox_due ON billing_outbox(state, next_ms);"
     "CREATE INDEX billing_outbox_tenant ON billing_outbox(tenant_id, id);"},
    /* a key's own budget in a project crosses its thresholds too: key_id ('' for the project's)
     * joins the key that fires a threshold once a month. SQLite cannot change a UNIQUE in place, so
     * the table is made again, ids kept (the outbox names them). */
    {"billing_budget", 2,
     "CREATE TABLE billing_budget_alerts2("
     " id INTEGER PRIMARY KEY,"
     " tenant_id TEXT NOT NULL,"
     " project_id TEXT NOT NULL,"
     " key_id TEXT NOT NULL DEFAULT '',"
     " month TEXT NOT NULL,"
     " threshold INTEGER NOT NULL,"
     " budget_microyen INTEGER NOT NULL,"
     " spent_microyen INTEGER NOT NULL,"
     " crossed_ms INTEGER NOT NULL,"
     " audited INTEGER NOT NULL DEFAULT 0,"
     " UNIQUE(project_id, key_id, month, threshold));"
     "INSERT INTO billing_budget_alerts2(id, tenant_id, project_id, month, threshold,"
     " budget_microyen, spent_microyen, crossed_ms, audited) SELECT id, tenant_id, project_id,"
     " month, threshold, budget_microyen, spent_microyen, crossed_ms, audited"
     " FROM billing_budget_alerts;"
     "DROP TABLE billing_budget_alerts;"
     "ALTER TABLE billing_budget_alerts2 RENAME TO billing_budget_alerts;"},
};

void ksm_billing_budget_register_schema(void)
{
    ksm_db_register(budget_migrations, (int)KSM_NELEM(budget_migrations));
}

struct crossing {
    const char *tenant, *project, *key, *month;   /* key: "" for the project's own budget */
    int threshold;
    int64_t budget, spent, now_ms;
};

/* The notification's body: what crossed, for whom, and the money as exact strings. */
static char *event_body(const struct crossing *c, int64_t alert_id)
{
    char spent[32], budget[32], at[32], id[32];
    ksm_billing_yen_format(c->spent, spent);
    ksm_billing_yen_format(c->budget, budget);
    ksm_rfc3339_ms(c->now_ms, at);
    snprintf(id, sizeof id, "ba_%lld", (long long)alert_id);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:I,s:s}", "type",
                          "budget.threshold_crossed", "id", id, "tenant", c->tenant, "project",
                          c->project, "month", c->month, "threshold_percent", c->threshold,
                          "budget_yen", budget, "spent_yen", spent, "budget_microyen",
                          (json_int_t)c->budget, "spent_microyen", (json_int_t)c->spent,
                          "crossed_at", at);
    if (c->key[0])   /* a key's own budget in the project */
        json_object_set_new(o, "key", json_string(c->key));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* One outbox row per webhook of the tenant that covers the project. */
static int enqueue(struct ksm_db *db, const struct crossing *c, int64_t alert_id)
{
    char *body = event_body(c, alert_id);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO billing_outbox(alert_id, webhook_id, tenant_id, url, body, next_ms, "
            "created_ms) SELECT ?1, id, tenant_id, url, ?2, ?3, ?3 FROM billing_webhooks "
            "WHERE tenant_id = ?4 AND (project_id IS NULL OR project_id = ?5)");
    sqlite3_bind_int64(st, 1, alert_id);
    ksm_db_bind_text(st, 2, body);
    sqlite3_bind_int64(st, 3, c->now_ms);
    ksm_db_bind_text(st, 4, c->tenant);
    ksm_db_bind_text(st, 5, c->project);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(body);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Records the crossing (if new) and its notifications in one transaction: 1 new, 0 known, -1. */
static int record(struct ksm_db *db, const struct crossing *c)
{
    if (ksm_db_begin(db) != SQLITE_OK)
        return -1;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT OR IGNORE INTO billing_budget_alerts(tenant_id, project_id, month, threshold, "
            "budget_microyen, spent_microyen, crossed_ms, key_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)");
    ksm_db_bind_text(st, 1, c->tenant);
    ksm_db_bind_text(st, 2, c->project);
    ksm_db_bind_text(st, 3, c->month);
    sqlite3_bind_int(st, 4, c->threshold);
    sqlite3_bind_int64(st, 5, c->budget);
    sqlite3_bind_int64(st, 6, c->spent);
    sqlite3_bind_int64(st, 7, c->now_ms);
    ksm_db_bind_text(st, 8, c->key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    int fresh = rc == SQLITE_DONE ? sqlite3_changes(db->h) > 0 : -1;
    if (fresh > 0 && enqueue(db, c, sqlite3_last_insert_rowid(db->h)))
        fresh = -1;
    if (fresh < 0 || ksm_db_commit(db) != SQLITE_OK) {
        ksm_error("billing: recording a budget alert: %s", sqlite3_errmsg(db->h));
        ksm_db_rollback(db);
        return -1;
    }
    return fresh;
}

/* The thresholds (percent, ascending) stored with the budget by ksm_ai_budget_set. */
static int thresholds(const char *text, int out[16])
{
    json_t *a = json_loads(text, 0, NULL), *v;
    size_t i;
    int n = 0;
    json_array_foreach(a, i, v) if (n < 16 && json_is_integer(v)) out[n++] = (int)json_integer_value(v);
    json_decref(a);
    return n;
}

static int check_one(struct ksm_db *db, struct crossing *c, const char *alerts)
{
    int t[16], n = thresholds(alerts, t), made = 0;
    for (int i = 0; i < n; i++) {
        if ((__int128)c->spent * 100 < (__int128)c->budget * t[i])
            break;
        c->threshold = t[i];
        int rc = record(db, c);
        if (rc < 0)
            return -1;
        made += rc;
    }
    return made;
}

/* The budgets to check: the projects' (key "") and the keys' own in their projects. */
#define BUDGETS_SQL                                                                                \
    "SELECT tenant_id, project_id, '', monthly_microyen, alerts FROM ai_budgets"                \
    " UNION ALL SELECT tenant_id, project_id, key_id, monthly_microyen, alerts FROM ai_key_budgets" \
    " ORDER BY 2, 3"

enum ksm_err ksm_billing_budget_check(struct ksm_db *db, int64_t now_ms, int *crossed)
{
    char month[8];
    int64_t start, end;
    ksm_billing_month_of(now_ms, month);
    ksm_billing_month_parse(month, &start, &end);
    *crossed = 0;
    /* read first, then record: a statement must not stay open across the transactions */
    sqlite3_stmt *st = ksm_db_prepare(db, BUDGETS_SQL);
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:I,s:s}", "t", ksm_db_col_text(st, 0),
                                              "p", ksm_db_col_text(st, 1), "k",
                                              ksm_db_col_text(st, 2), "b",
                                              (json_int_t)sqlite3_column_int64(st, 3), "a",
                                              ksm_db_col_text(st, 4)));
    sqlite3_reset(st);
    enum ksm_err e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        struct crossing c = {.tenant = json_string_value(json_object_get(r, "t")),
                             .project = json_string_value(json_object_get(r, "p")),
                             .key = json_string_value(json_object_get(r, "k")),
                             .month = month,
                             .budget = json_integer_value(json_object_get(r, "b")),
                             .now_ms = now_ms};
        /* the month's spend from the per-day sums, as the AI gateway's budgets read it: a sum
         * over the month's raw records grew with every record, and this thread shares the
         * request workers' cores (it held one for tens of ms every interval under load). A
         * project's is all its spend; a key's its AI spend in the project (usage_by_key). */
        if (e == KSM_E_OK &&
            (c.key[0] ? ksm_usage_key_cost(db, c.project, c.key, start, end, &c.spent)
                      : ksm_usage_project_cost(db, c.project, start, end, &c.spent)) != KSM_E_OK)
            e = KSM_E_INTERNAL;
        int made = e == KSM_E_OK ? check_one(db, &c, json_string_value(json_object_get(r, "a")))
                                 : 0;
        if (made < 0)
            e = KSM_E_INTERNAL;
        else
            *crossed += made;
    }
    json_decref(rows);
    return e;
}

enum ksm_err ksm_billing_budget_unaudited(struct ksm_db *db, ksm_billing_alert_fn fn, void *arg)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, tenant_id, project_id, key_id, month, threshold, spent_microyen,"
            " budget_microyen FROM billing_budget_alerts WHERE audited = 0 ORDER BY id LIMIT 100");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ksm_billing_alert a = {
            .id = sqlite3_column_int64(st, 0), .tenant = ksm_db_col_text(st, 1),
            .project = ksm_db_col_text(st, 2), .key = ksm_db_col_text(st, 3),
            .month = ksm_db_col_text(st, 4), .threshold = sqlite3_column_int(st, 5),
            .spent_microyen = sqlite3_column_int64(st, 6),
            .budget_microyen = sqlite3_column_int64(st, 7)};
        fn(arg, &a);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_billing_budget_audited(struct ksm_db *db, int64_t id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE billing_budget_alerts SET audited = 1 WHERE id = ?1");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_billing_budget_alerts(struct ksm_db *db, const char *project, const char *key,
                                       const char *month, json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT threshold, crossed_ms, spent_microyen FROM billing_budget_alerts "
            "WHERE project_id = ?1 AND key_id = ?3 AND month = ?2 ORDER BY threshold");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, month);
    ksm_db_bind_text(st, 3, key);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        ksm_rfc3339_ms(sqlite3_column_int64(st, 1), at);
        json_array_append_new(items, json_pack("{s:i,s:s,s:I}", "threshold",
                                               sqlite3_column_int(st, 0), "crossed_at", at,
                                               "spent_microyen",
                                               (json_int_t)sqlite3_column_int64(st, 2)));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
