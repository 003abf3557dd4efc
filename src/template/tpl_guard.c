/* tpl_guard.c — the platform operator's guardrails (a mandatory template's "guardrails"), checked
 * wherever a change could weaken them: template plan and apply, and the normal APIs (project tags,
 * AI budget, AI policy, S3 CreateBucket and bucket tagging). They hold for projects attached to the
 * mandatory template (every project created while one is set); the current version's rules apply,
 * so tightening them reaches every attached project at once. */
#include "template/tpl_int.h"

#include <stdio.h>
#include <string.h>

#include "ai/ai_store.h"
#include "core/util.h"
#include "policy/pii.h"

enum ksm_err ksm_tpl_mandatory_load(struct ksm_db *db, struct ksm_tpl **out, int *version)
{
    char why[KSM_TPL_WHY];
    *out = NULL;
    *version = 0;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT v.doc, v.version FROM tpl_mandatory m JOIN"
                                          " tpl_versions v ON v.tenant='' AND v.name=m.name AND"
                                          " v.version=m.version");
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    if (rc == SQLITE_ROW) {
        const char *doc = ksm_db_col_text(st, 0);
        *version = sqlite3_column_int(st, 1);
        /* stored documents passed this parser when written */
        e = ksm_tpl_parse(doc, strlen(doc), out, why) == KSM_E_OK ? KSM_E_OK : KSM_E_INTERNAL;
    }
    sqlite3_reset(st);
    return e;
}

static enum ksm_err attached(struct ksm_db *db, const char *project, bool *yes)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM tpl_attach WHERE project=?1");
    ksm_db_bind_text(st, 1, project);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *yes = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_tpl_guard_for(struct ksm_db *db, const char *project, bool *is_attached,
                               struct ksm_tpl **holder)
{
    int version;
    *holder = NULL;
    enum ksm_err e = attached(db, project, is_attached);
    if (e == KSM_E_OK && *is_attached)
        e = ksm_tpl_mandatory_load(db, holder, &version);
    if (e == KSM_E_OK && !*holder)
        *is_attached = false;
    return e;
}

static enum ksm_err refuse(char *why, const char *fmt, const char *a)
{
    snprintf(why, KSM_TPL_WHY, fmt, a);
    return KSM_E_GUARDRAIL;
}

enum ksm_err ksm_tpl_guard_tags(const struct ksm_tpl_guardrails *g, json_t *tags, char *why)
{
    for (int i = 0; g && i < g->nrequired_tags; i++) {
        json_t *v = json_object_get(tags, g->required_tags[i]);
        if (!json_is_string(v) || !*json_string_value(v))
            return refuse(why, "the mandatory template requires the tag \"%.64s\"",
                          g->required_tags[i]);
    }
    return KSM_E_OK;
}

enum ksm_err ksm_tpl_guard_region(const struct ksm_tpl_guardrails *g, const char *region, char *why)
{
    if (!g || !g->nregions)
        return KSM_E_OK;
    for (int i = 0; i < g->nregions; i++)
        if (region && !strcmp(region, g->regions[i]))
            return KSM_E_OK;
    return refuse(why, "the mandatory template does not allow buckets in region \"%.32s\"",
                  region ? region : "");
}

enum ksm_err ksm_tpl_guard_budget(const struct ksm_tpl_guardrails *g, int64_t yen, char *why)
{
    if (!g || g->max_monthly_yen < 0 || yen <= g->max_monthly_yen)
        return KSM_E_OK;
    snprintf(why, KSM_TPL_WHY, "the mandatory template caps the monthly AI budget at %lld yen",
             (long long)g->max_monthly_yen);
    return KSM_E_GUARDRAIL;
}

enum ksm_err ksm_tpl_guard_overseas(const struct ksm_tpl_guardrails *g, bool class2_overseas,
                                    char *why)
{
    if (!g || !g->class2_overseas_forbidden || !class2_overseas)
        return KSM_E_OK;
    return refuse(why, "%s", "the mandatory template forbids sending 機密性2 overseas "
                             "(class2_overseas)");
}

/* The first kind g requires redacted that p lets out of model answers, or -1. */
static int let_out(const struct ksm_tpl_guardrails *g, const struct ksm_ai_policy *p)
{
    for (int k = 0; g && k < KSM_AI_PII_KINDS; k++)
        if ((g->pii_output >> k & 1) && p->pii_output[k] != KSM_AI_PII_MASK)
            return k;
    return -1;
}

enum ksm_err ksm_tpl_guard_ai_policy(const struct ksm_tpl_guardrails *g,
                                     const struct ksm_ai_policy *p, char *why)
{
    int k = let_out(g, p);
    if (k >= 0)
        return refuse(why, "the mandatory template requires redacting %s from model output "
                           "(pii_output)", ksm_pii_kind_name((enum ksm_pii_kind)k));
    if (g && g->unscanned_refused && p->unscanned != KSM_AI_UNSCANNED_REFUSE)
        return refuse(why, "%s", "the mandatory template refuses content the guardrail cannot "
                                 "read (unscanned_content)");
    return KSM_E_OK;
}

bool ksm_tpl_raise_ai_policy(const struct ksm_tpl_guardrails *g, struct ksm_ai_policy *p)
{
    bool changed = false;
    for (int k; (k = let_out(g, p)) >= 0;) {
        p->pii_output[k] = KSM_AI_PII_MASK;
        changed = true;
    }
    if (g && g->unscanned_refused && p->unscanned != KSM_AI_UNSCANNED_REFUSE) {
        p->unscanned = KSM_AI_UNSCANNED_REFUSE;
        changed = true;
    }
    return changed;
}

enum ksm_err ksm_tpl_raise_attached(struct ksm_db *db, const struct ksm_tpl *t, int *n)
{
    *n = 0;
    if (!t->guard.pii_output && !t->guard.unscanned_refused)
        return KSM_E_OK;
    json_t *projects = json_array();   /* read first: each raise is a write transaction of its own */
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT project, tenant FROM tpl_attach ORDER BY project");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(projects, json_pack("[ss]", ksm_db_col_text(st, 0),
                                                  ksm_db_col_text(st, 1)));
    sqlite3_reset(st);
    enum ksm_err e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    size_t i;
    json_t *row;
    json_array_foreach(projects, i, row) {
        const char *project = json_string_value(json_array_get(row, 0));
        struct ksm_ai_policy p;
        if (e == KSM_E_OK)
            e = ksm_ai_policy_get(db, project, &p);
        if (e == KSM_E_OK && ksm_tpl_raise_ai_policy(&t->guard, &p)) {
            e = ksm_ai_policy_put(db, json_string_value(json_array_get(row, 1)), project, &p);
            *n += e == KSM_E_OK;
        }
    }
    json_decref(projects);
    return e;
}

/* One check of the project's guardrails, when it is attached. */
typedef enum ksm_err (*check_fn)(const struct ksm_tpl_guardrails *g, const void *arg, char *why);

static enum ksm_err check(struct ksm_db *db, const char *project, check_fn fn, const void *arg,
                          char *why)
{
    bool yes;
    struct ksm_tpl *t = NULL;
    enum ksm_err e = ksm_tpl_guard_for(db, project, &yes, &t);
    if (e == KSM_E_OK && yes)
        e = fn(&t->guard, arg, why);
    ksm_tpl_free(t);
    return e;
}

static enum ksm_err tags_fn(const struct ksm_tpl_guardrails *g, const void *arg, char *why)
{
    return ksm_tpl_guard_tags(g, (json_t *)arg, why);
}
static enum ksm_err budget_fn(const struct ksm_tpl_guardrails *g, const void *arg, char *why)
{
    return ksm_tpl_guard_budget(g, *(const int64_t *)arg, why);
}
static enum ksm_err overseas_fn(const struct ksm_tpl_guardrails *g, const void *arg, char *why)
{
    return ksm_tpl_guard_overseas(g, *(const bool *)arg, why);
}
static enum ksm_err region_fn(const struct ksm_tpl_guardrails *g, const void *arg, char *why)
{
    return ksm_tpl_guard_region(g, arg, why);
}

enum ksm_err ksm_tpl_check_project_tags(struct ksm_db *db, const char *project, json_t *tags,
                                        char *why)
{
    return check(db, project, tags_fn, tags, why);
}

enum ksm_err ksm_tpl_check_budget(struct ksm_db *db, const char *project, int64_t yen, char *why)
{
    return check(db, project, budget_fn, &yen, why);
}

enum ksm_err ksm_tpl_check_overseas(struct ksm_db *db, const char *project, bool on, char *why)
{
    return check(db, project, overseas_fn, &on, why);
}

static enum ksm_err ai_policy_fn(const struct ksm_tpl_guardrails *g, const void *arg, char *why)
{
    return ksm_tpl_guard_ai_policy(g, arg, why);
}

enum ksm_err ksm_tpl_check_ai_policy(struct ksm_db *db, const char *project,
                                      const struct ksm_ai_policy *p, char *why)
{
    return check(db, project, ai_policy_fn, p, why);
}

/* Buckets: a new one must be in an allowed region; a bucket that carried every required tag must
 * keep them (one created by S3 without tags may get them later). */
enum ksm_err ksm_tpl__bucket_guard(struct ksm_db *db, const char *project, const char *region,
                                   json_t *old_tags, json_t *new_tags, char *why, size_t whylen)
{
    char w[KSM_TPL_WHY] = "";
    enum ksm_err e;
    if (region)
        e = check(db, project, region_fn, region, w);
    else if (old_tags && check(db, project, tags_fn, old_tags, w) == KSM_E_OK)
        e = check(db, project, tags_fn, new_tags, w);
    else
        e = KSM_E_OK;
    snprintf(why, whylen, "%s", w);
    return e;
}
