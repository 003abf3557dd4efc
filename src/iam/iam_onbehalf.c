/* iam_onbehalf.c — the names a governed request carries between environments (SPEC.md O1, O2).
 * Each environment has its own ids; what the two share is the contract: a tenant is its 法人番号
 * and a project is its name within the tenant (unique, UNIQUE(tenant_id, name)). govcloud turns its
 * ids into those names when it forwards a request to overseas-ai; overseas-ai turns them back into
 * its own ids, and only for a principal holding ai.invoke.on_behalf (the gateway checks that). */
#include <stdio.h>
#include <string.h>

#include "iam/iam.h"
#include "iam/iam_int.h"

enum ksm_err ksm_iam_contract_names(struct ksm_db *db, const char *tenant, const char *project,
                                    char corpnum[16], char *name, size_t namelen)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT t.corporate_number, p.name FROM iam_projects p "
                                          "JOIN iam_tenants t ON t.id=p.tenant_id "
                                          "WHERE p.id=?1 AND t.id=?2");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, tenant);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(corpnum, 16, "%s", ksm_db_col_text(st, 0));
        snprintf(name, namelen, "%s", ksm_db_col_text(st, 1));
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_iam_contract_resolve(struct ksm_db *db, const char *corpnum, const char *name,
                                      char tenant[KSM_ID_LEN], char project[KSM_ID_LEN])
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT t.id, p.id, t.status FROM iam_tenants t "
                                          "JOIN iam_projects p ON p.tenant_id=t.id "
                                          "WHERE t.corporate_number=?1 AND p.name=?2");
    if (!st)
        return KSM_E_INTERNAL;
    ksm_db_bind_text(st, 1, corpnum);
    ksm_db_bind_text(st, 2, name);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        ksm_iam__copy_id(tenant, st, 0);
        ksm_iam__copy_id(project, st, 1);
        e = strcmp(ksm_db_col_text(st, 2), "active") ? KSM_E_SUSPENDED : KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}
