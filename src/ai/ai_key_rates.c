/* ai_key_rates.c — an API key's own requests and tokens a minute inside a project, in place of
 * the project's per-key quota (its AI policy's key_rpm, key_tpm) for that key alone: a batch job's
 * key allowed more than the interactive keys, a contractor's less — as Azure API Management limits
 * each subscription and LiteLLM each virtual key. The project's own quota (project_rpm,
 * project_tpm) still bounds the sum of its keys. Read by the ledger with the key's cap, again
 * after any AI-store write, so a change holds from the next request. */
#include "ai/ai_store_int.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

#define RATE_MAX 1000000000LL   /* as the policy's quotas */

enum ksm_err ksm_ai_key_rates_set(struct ksm_db *db, const char *tenant, const char *project,
                                  const char *key, json_t *body, char *why)
{
    int64_t v[2] = {KSM_AI_RATE_PROJECTS, KSM_AI_RATE_PROJECTS};
    bool given[2] = {false, false};
    const struct ksm_ai__jf spec[] = {{"rpm", KSM_AI_J_INT, false, &v[0], &given[0]},
                                      {"tpm", KSM_AI_J_INT, false, &v[1], &given[1]}};
    enum ksm_err e = ksm_ai__fields(body, "", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    if (!given[0] && !given[1])
        return snprintf(why, KSM_AI_WHY, "give rpm or tpm (null: the project's key_rpm or key_tpm; "
                                         "DELETE for both)"),
               KSM_E_INVALID_ARGUMENT;
    for (int i = 0; i < 2; i++)
        if (given[i] && (v[i] < 0 || v[i] > RATE_MAX))
            return snprintf(why, KSM_AI_WHY, "%s must be 0..%lld (0: no limit for this key)",
                            spec[i].name, (long long)RATE_MAX),
                   KSM_E_INVALID_ARGUMENT;
    const char *texts[] = {project, key, tenant};
    const int64_t ints[] = {v[0], v[1], ksm_now_ms()};
    return ksm_ai__write(db,
                         "INSERT INTO ai_key_rates(project_id, key_id, tenant_id, rpm, tpm,"
                         " updated_at) VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(project_id, key_id)"
                         " DO UPDATE SET rpm=excluded.rpm, tpm=excluded.tpm,"
                         " updated_at=excluded.updated_at",
                         texts, 3, ints, 3);
}

enum ksm_err ksm_ai_key_rates_delete(struct ksm_db *db, const char *project, const char *key)
{
    const char *texts[] = {project, key};
    return ksm_ai__write(db, "DELETE FROM ai_key_rates WHERE project_id=?1 AND key_id=?2", texts, 2,
                         NULL, 0);
}

enum ksm_err ksm_ai_key_rates_load(struct ksm_db *db, const char *project, const char *key,
                                   struct ksm_ai_key_rates *out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT rpm, tpm FROM ai_key_rates"
                                          " WHERE project_id=?1 AND key_id=?2");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, key);
    int rc = sqlite3_step(st);
    *out = (struct ksm_ai_key_rates){KSM_AI_RATE_PROJECTS, KSM_AI_RATE_PROJECTS};
    if (rc == SQLITE_ROW)
        *out = (struct ksm_ai_key_rates){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* null for the project's; the number otherwise (0: none for this key). */
static json_t *rate_json(int64_t v)
{
    return v == KSM_AI_RATE_PROJECTS ? json_null() : json_integer(v);
}

json_t *ksm_ai_key_rates_json(const struct ksm_ai_key_rates *r, const struct ksm_ai_policy *pol)
{
    json_t *o = json_pack("{s:o,s:o}", "rpm", rate_json(r->rpm), "tpm", rate_json(r->tpm));
    if (pol) {
        struct ksm_ai_key_rates in_force = ksm_ai_key_rates_applied(r, pol);
        json_object_set_new(o, "applied_rpm", json_integer(in_force.rpm));
        json_object_set_new(o, "applied_tpm", json_integer(in_force.tpm));
    }
    return o;
}

struct ksm_ai_key_rates ksm_ai_key_rates_applied(const struct ksm_ai_key_rates *r,
                                                 const struct ksm_ai_policy *pol)
{
    return (struct ksm_ai_key_rates){r->rpm == KSM_AI_RATE_PROJECTS ? pol->key_rpm : r->rpm,
                                     r->tpm == KSM_AI_RATE_PROJECTS ? pol->key_tpm : r->tpm};
}
