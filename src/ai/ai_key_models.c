/* ai_key_models.c — which of a project's models an API key may call there: least privilege for the
 * keys of a shared project (a contractor's key for its one model, a CI job's for the embedding
 * model only), as LiteLLM's and Portkey's virtual keys carry a model list. No list is every model
 * of the project (the routes decide what exists); an empty list is none, which stops a key's AI
 * calls without revoking it. Checked on every call from a per-thread memo (ai_memo.c), so a change
 * holds from the very next request; the answer to a call outside the list is 403, naming the model
 * and that the key may not use it, and /v1/models lists only what the key may call. */
#include "ai/ai_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MAX_MODELS 32

/* The list as "|a|b|" (names never hold '|': ksm_ai__name_ok), checked and deduplicated. */
static enum ksm_err join(json_t *list, char *joined, char *why)
{
    json_t *v;
    size_t i, n = 1;
    if (!json_is_array(list) || json_array_size(list) > MAX_MODELS)
        return snprintf(why, KSM_AI_WHY, "models: an array of at most %d model aliases", MAX_MODELS),
               KSM_E_INVALID_ARGUMENT;
    strcpy(joined, "|");
    json_array_foreach(list, i, v)
    {
        const char *m = json_string_value(v);
        if (!ksm_ai__name_ok(m))
            return snprintf(why, KSM_AI_WHY, "models[%zu] is not a model alias", i),
                   KSM_E_INVALID_ARGUMENT;
        if (ksm_ai_key_models_allow(joined, m))
            continue;   /* said twice: once is enough */
        if (n + strlen(m) + 2 > KSM_AI_KEY_MODELS_MAX)
            return snprintf(why, KSM_AI_WHY, "models: the names are too long together"),
                   KSM_E_INVALID_ARGUMENT;
        n += (size_t)snprintf(joined + n, KSM_AI_KEY_MODELS_MAX - n, "%s|", m);
    }
    return KSM_E_OK;
}

enum ksm_err ksm_ai_key_models_set(struct ksm_db *db, const char *tenant, const char *project,
                                   const char *key, json_t *body, char *why)
{
    char joined[KSM_AI_KEY_MODELS_MAX];
    json_t *list = NULL;
    const struct ksm_ai__jf spec[] = {{"models", KSM_AI_J_ARR, true, &list, NULL}};
    enum ksm_err e = ksm_ai__fields(body, "", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK || (e = join(list, joined, why)) != KSM_E_OK)
        return e;
    json_t *clean = ksm_ai_key_models_json(joined);   /* stored as JSON, as exports show it */
    char *models = json_dumps(clean, JSON_COMPACT);
    json_decref(clean);
    const char *texts[] = {project, key, tenant, models};
    const int64_t now = ksm_now_ms();
    e = ksm_ai__write(db,
                      "INSERT INTO ai_key_models(project_id, key_id, tenant_id, models, updated_at)"
                      " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(project_id, key_id) DO UPDATE SET"
                      " models=excluded.models, updated_at=excluded.updated_at",
                      texts, 4, &now, 1);
    free(models);
    return e;
}

enum ksm_err ksm_ai_key_models_delete(struct ksm_db *db, const char *project, const char *key)
{
    const char *texts[] = {project, key};
    return ksm_ai__write(db, "DELETE FROM ai_key_models WHERE project_id=?1 AND key_id=?2", texts,
                         2, NULL, 0);
}

/* "|a|b|", or "" when the key has no list. */
static enum ksm_err load(struct ksm_db *db, const char *project, const char *key, char *allowed)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT models FROM ai_key_models"
                                          " WHERE project_id=?1 AND key_id=?2");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, key);
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    allowed[0] = 0;
    if (rc == SQLITE_ROW) {   /* written by set above: a failure here is a damaged row */
        char why[KSM_AI_WHY];
        json_t *list = json_loads(ksm_db_col_text(st, 0), 0, NULL);
        if (join(list, allowed, why) != KSM_E_OK)
            e = KSM_E_INTERNAL;
        json_decref(list);
    }
    sqlite3_reset(st);
    return e;
}

/* The generation under which this thread found no key with a list at all: then every call
 * costs one comparison, not a memo lookup (most projects narrow no key). */
static __thread uint64_t none_at;

static bool none_listed(struct ksm_db *db)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM ai_key_models LIMIT 1");
    bool none = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return none;
}

enum ksm_err ksm_ai_key_models_get(struct ksm_db *db, const char *project, const char *key,
                                   char *allowed)
{
    enum ksm_err e;
    uint64_t gen = ksm_ai__generation();
    allowed[0] = 0;
    if (none_at == gen)
        return KSM_E_OK;
    if (ksm_ai__memo_key_models(project, key, allowed, &e))
        return e;
    if (none_listed(db)) {
        none_at = gen;
        return KSM_E_OK;
    }
    e = load(db, project, key, allowed);
    if (e == KSM_E_OK)
        ksm_ai__memo_key_models_put(project, key, gen, e, allowed);
    return e;
}

bool ksm_ai_key_models_allow(const char *allowed, const char *model)
{
    if (!allowed[0])
        return true;   /* no list: every model of the project */
    size_t n = strlen(model);
    if (!n || strchr(model, '|'))
        return false;   /* no alias: so a match below never starts at allowed[0] */
    for (const char *p = strstr(allowed, model); p; p = strstr(p + 1, model))
        if (p[-1] == '|' && p[n] == '|')
            return true;
    return false;
}

json_t *ksm_ai_key_models_json(const char *allowed)
{
    if (!allowed[0])
        return json_null();
    json_t *a = json_array();
    for (const char *p = allowed + 1, *q; (q = strchr(p, '|')); p = q + 1)
        json_array_append_new(a, json_stringn(p, (size_t)(q - p)));
    return a;
}
