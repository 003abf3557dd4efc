/* erase_config.c — a tenant erasure also removes what the tenant configured and declared outside
 * its buckets and principals: AI routes, policies and budgets (a project's and its keys'), storage quotas, templates and tags,
 * budget alerts and webhooks, and its supply-chain cases (whose contacts name people). What stays is
 * only what docs/lifecycle.md promises to keep: the tenant row, its project rows, its audit records,
 * its usage and ledger, and the erasure's own records.
 *
 * One table of DELETE statements keyed by the tenant id (?1), children before parents, run in one
 * transaction; a statement whose table this environment never created (overseas-ai has no storage
 * tables) is skipped. Running it again deletes nothing more, so a resumed job may repeat it. */
#include "lifecycle/erase.h"

#include "core/log.h"

#include <string.h>

#define IN_PROJECTS "(SELECT id FROM iam_projects WHERE tenant_id=?1)"
#define IN_CASES "(SELECT id FROM supply_cases WHERE tenant_id=?1)"

static const char *const purge_sql[] = {
    "DELETE FROM supply_items WHERE list_id IN (SELECT id FROM supply_lists WHERE case_id IN " IN_CASES ")",
    "DELETE FROM supply_lists WHERE case_id IN " IN_CASES,
    "DELETE FROM supply_chains WHERE case_id IN " IN_CASES,
    "DELETE FROM supply_events WHERE case_id IN " IN_CASES,
    "DELETE FROM supply_advice WHERE case_id IN " IN_CASES,
    "DELETE FROM supply_cases WHERE tenant_id=?1",
    "DELETE FROM ai_routes WHERE tenant_id=?1",
    "DELETE FROM ai_policies WHERE tenant_id=?1",
    "DELETE FROM ai_budgets WHERE tenant_id=?1",
    "DELETE FROM ai_key_budgets WHERE tenant_id=?1",
    "DELETE FROM ai_key_models WHERE tenant_id=?1",
    "DELETE FROM ai_key_rates WHERE tenant_id=?1",
    "DELETE FROM store_quotas WHERE project IN " IN_PROJECTS,
    "DELETE FROM tpl_versions WHERE tenant=?1",
    "DELETE FROM tpl_managed WHERE tenant=?1",
    "DELETE FROM tpl_attach WHERE tenant=?1",
    "DELETE FROM tpl_project_tags WHERE tenant=?1",
    "DELETE FROM billing_outbox WHERE tenant_id=?1",
    "DELETE FROM billing_webhooks WHERE tenant_id=?1",
    "DELETE FROM billing_budget_alerts WHERE tenant_id=?1",
};

/* One statement: its row count, 0 when its table does not exist here, -1 on error. */
static int purge_one(struct ksm_db *db, const char *sql, const char *tenant)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
        bool absent = strstr(sqlite3_errmsg(db->h), "no such table") != NULL;
        if (!absent)
            ksm_error("erasure: %s: %s", sqlite3_errmsg(db->h), sql);
        return absent ? 0 : -1;
    }
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int n = rc == SQLITE_DONE ? sqlite3_changes(db->h) : -1;
    if (rc != SQLITE_DONE)
        ksm_error("erasure: %s: %s", sqlite3_errmsg(db->h), sql);
    sqlite3_finalize(st);
    return n;
}

enum ksm_err ksm_erase__purge_tenant_config(struct ksm_db *db, const char *tenant, int *rows)
{
    *rows = 0;
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    for (size_t i = 0; i < sizeof purge_sql / sizeof purge_sql[0]; i++) {
        int n = purge_one(db, purge_sql[i], tenant);
        if (n < 0) {
            ksm_db_rollback(db);
            return KSM_E_INTERNAL;
        }
        *rows += n;
    }
    return ksm_db_commit(db) == SQLITE_OK ? KSM_E_OK : KSM_E_INTERNAL;
}
