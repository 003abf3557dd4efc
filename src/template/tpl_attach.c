/* tpl_attach.c — projects and templates: a new project is attached to the mandatory template (when
 * the operator has set one) and gets its project defaults; the attachment cannot be removed by a
 * tenant (only a tenant template's management records can); and what a project's template state is. */
#include "template/tpl_int.h"

#include <stdio.h>
#include <string.h>

#include "ai/ai_store.h"
#include "core/util.h"

enum ksm_err ksm_tpl_project_precheck(struct ksm_db *db, json_t *tags, char *why)
{
    struct ksm_tpl *t = NULL;
    int version;
    enum ksm_err e = ksm_tpl_mandatory_load(db, &t, &version);
    if (e == KSM_E_OK && t)
        e = ksm_tpl_guard_tags(&t->guard, tags, why);
    ksm_tpl_free(t);
    return e;
}

static enum ksm_err attach(struct ksm_db *db, const char *tenant, const char *project,
                           const struct ksm_tpl *t, int version)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT OR REPLACE INTO tpl_attach(project, tenant, name,"
                                          " version, attached_at) VALUES(?1,?2,?3,?4,?5)");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, tenant);
    ksm_db_bind_text(st, 3, t->name);
    sqlite3_bind_int(st, 4, version);
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* The mandatory template's defaults: its budget (else a budget at the cap, so a new project is
 * never without a limit the operator set) and its AI policy fields, with the kinds its guardrails
 * require redacted from model output. */
static enum ksm_err apply_defaults(struct ksm_db *db, const char *tenant, const char *project,
                                   const struct ksm_tpl *t, char *why)
{
    char aiwhy[KSM_AI_WHY] = "";
    enum ksm_err e = KSM_E_OK;
    json_t *budget = t->defaults.budget ? json_incref(t->defaults.budget) : NULL;
    if (!budget && t->guard.max_monthly_yen >= 0)
        budget = json_pack("{s:I}", "monthly_yen", (json_int_t)t->guard.max_monthly_yen);
    if (budget)
        e = ksm_ai_budget_set(db, tenant, project, budget, aiwhy);
    json_decref(budget);
    bool guarded = t->guard.pii_output || t->guard.unscanned_refused;
    if (e == KSM_E_OK && (t->defaults.ai_policy || guarded)) {
        struct ksm_ai_policy cur, next;
        e = ksm_ai_policy_get(db, project, &cur);
        if (e == KSM_E_OK)
            next = cur;
        if (e == KSM_E_OK && t->defaults.ai_policy)
            e = ksm_ai_policy_merge(&cur, t->defaults.ai_policy, &next, aiwhy);
        if (e == KSM_E_OK) {
            ksm_tpl_raise_ai_policy(&t->guard, &next);   /* the guardrails, from the start */
            e = ksm_ai_policy_put(db, tenant, project, &next);
        }
    }
    if (e != KSM_E_OK)
        snprintf(why, KSM_TPL_WHY, "the mandatory template's project defaults: %s", aiwhy);
    return e;
}

enum ksm_err ksm_tpl_project_created(struct ksm_db *db, const char *tenant, const char *project,
                                     json_t *tags, char *why)
{
    struct ksm_tpl *t = NULL;
    int version;
    enum ksm_err e = KSM_E_OK;
    if (tags && json_object_size(tags))
        e = ksm_tpl_tags_put(db, tenant, project, tags);
    if (e == KSM_E_OK)
        e = ksm_tpl_mandatory_load(db, &t, &version);
    if (e == KSM_E_OK && t)
        e = attach(db, tenant, project, t, version);
    if (e == KSM_E_OK && t)
        e = apply_defaults(db, tenant, project, t, why);
    ksm_tpl_free(t);
    return e;
}

static enum ksm_err managed_names(struct ksm_db *db, const char *project, json_t *names)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "SELECT DISTINCT name FROM tpl_managed WHERE project=?1 ORDER BY name");
    ksm_db_bind_text(st, 1, project);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(names, json_string(ksm_db_col_text(st, 0)));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static enum ksm_err refuse_detach(const struct ksm_tpl *t, char *why)
{
    snprintf(why, KSM_TPL_WHY, "the project is attached to the mandatory template \"%s\": it "
                               "cannot be detached", t->name);
    return KSM_E_GUARDRAIL;
}

enum ksm_err ksm_tpl_detach(struct ksm_db *db, const char *project, json_t **out, char *why)
{
    bool yes;
    struct ksm_tpl *t = NULL;
    enum ksm_err e = ksm_tpl_guard_for(db, project, &yes, &t);
    if (e == KSM_E_OK && yes)
        e = refuse_detach(t, why);
    ksm_tpl_free(t);
    if (e != KSM_E_OK)
        return e;
    json_t *names = json_array();
    e = managed_names(db, project, names);
    if (e == KSM_E_OK) {
        sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM tpl_managed WHERE project=?1");
        ksm_db_bind_text(st, 1, project);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    }
    if (e != KSM_E_OK) {
        json_decref(names);
        return e;
    }
    *out = json_pack("{s:s,s:o}", "project", project, "detached", names);
    return KSM_E_OK;
}

enum ksm_err ksm_tpl_project_info(struct ksm_db *db, const char *project, json_t **out)
{
    json_t *mand = json_null(), *managed = json_array();
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT name, version FROM tpl_attach WHERE project=?1");
    ksm_db_bind_text(st, 1, project);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        mand = json_pack("{s:s,s:i}", "template", ksm_db_col_text(st, 0), "version",
                         sqlite3_column_int(st, 1));
    sqlite3_reset(st);
    enum ksm_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    st = ksm_db_prepare(db, "SELECT kind, key, name, version FROM tpl_managed WHERE project=?1"
                            " ORDER BY kind, key");
    ksm_db_bind_text(st, 1, project);
    while (e == KSM_E_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(managed, json_pack("{s:s,s:s,s:s,s:i}", "kind",
                                                 ksm_db_col_text(st, 0), "key",
                                                 ksm_db_col_text(st, 1), "template",
                                                 ksm_db_col_text(st, 2), "version",
                                                 sqlite3_column_int(st, 3)));
    if (e == KSM_E_OK && rc != SQLITE_DONE)
        e = KSM_E_INTERNAL;
    sqlite3_reset(st);
    if (e != KSM_E_OK) {
        json_decref(mand);
        json_decref(managed);
        return e;
    }
    *out = json_pack("{s:s,s:o,s:o}", "project", project, "mandatory", mand, "managed", managed);
    return KSM_E_OK;
}
