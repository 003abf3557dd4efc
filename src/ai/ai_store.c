/* ai_store.c — the AI configuration's schema and what its files share: the
 * write generation that invalidates every thread's memo (the scheme of
 * src/iam/iam_cache.c, with a counter of its own), the transaction pattern and
 * text checks.
 *
 * The memo is correct for the reason IAM's is: only this process writes the
 * metadata database, and every AI-store transaction bumps the generation when
 * it ends, so a changed route, policy or price is seen by the very next request
 * on every thread. */
#include "ai/ai_store_int.h"

#include <stdatomic.h>
#include <string.h>

#include "core/util.h"
#include "iam/iam.h"

static const struct ksm_migration migrations[] = {
    {"ai", 1,
     "CREATE TABLE ai_routes(id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
     "project_id TEXT NOT NULL,"
     " alias TEXT NOT NULL, targets TEXT NOT NULL, created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL, UNIQUE(project_id, alias));"
     "CREATE TABLE ai_prices(id TEXT PRIMARY KEY, model TEXT NOT NULL,"
     " prompt_per_1k INTEGER NOT NULL, completion_per_1k INTEGER NOT NULL,"
     " cached_per_1k INTEGER NOT NULL, effective_from INTEGER NOT NULL,"
     " created_at INTEGER NOT NULL, UNIQUE(model, effective_from));"
     "CREATE TABLE ai_budgets(project_id TEXT PRIMARY KEY, tenant_id TEXT NOT "
     "NULL,"
     " monthly_microyen INTEGER NOT NULL, alerts TEXT NOT NULL, updated_at "
     "INTEGER NOT NULL);"
     "CREATE TABLE ai_policies(project_id TEXT PRIMARY KEY, tenant_id TEXT NOT "
     "NULL,"
     " policy TEXT NOT NULL, updated_at INTEGER NOT NULL);"},
    /* a key's own monthly cap inside a project (ai_budget.c), and the models it may call there */
    {"ai", 2,
     "CREATE TABLE ai_key_budgets(project_id TEXT NOT NULL, key_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL, monthly_microyen INTEGER NOT NULL, alerts TEXT NOT NULL,"
     " updated_at INTEGER NOT NULL, PRIMARY KEY(project_id, key_id)) WITHOUT ROWID;"
     /* which of the project's models a key may call (ai_key_models.c) */
     "CREATE TABLE ai_key_models(project_id TEXT NOT NULL, key_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL, models TEXT NOT NULL, updated_at INTEGER NOT NULL,"
     " PRIMARY KEY(project_id, key_id)) WITHOUT ROWID;"},
    /* a key's own requests and tokens a minute in a project (ai_key_rates.c); -1: the project's */
    {"ai", 3,
     "CREATE TABLE ai_key_rates(project_id TEXT NOT NULL, key_id TEXT NOT NULL,"
     " tenant_id TEXT NOT NULL, rpm INTEGER NOT NULL, tpm INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL, PRIMARY KEY(project_id, key_id)) WITHOUT ROWID;"},
};

void ksm_ai_store_register_schema(void)
{
    ksm_db_register(migrations, (int)KSM_NELEM(migrations));
    /* a project with model routes is not empty: deleting it would orphan them */
    ksm_iam_register_project_dependent("model routes",
                                       "SELECT count(*) FROM ai_routes WHERE project_id=?1");
}

static _Atomic uint64_t generation = 1;

uint64_t ksm_ai__generation(void)
{
    return atomic_load_explicit(&generation, memory_order_acquire);
}

void ksm_ai__invalidate(void) { atomic_fetch_add_explicit(&generation, 1, memory_order_release); }

enum ksm_err ksm_ai__begin(struct ksm_db *db)
{
    return ksm_db_begin(db) == SQLITE_OK ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_ai__end(struct ksm_db *db, enum ksm_err e)
{
    if (e == KSM_E_OK && ksm_db_commit(db) != SQLITE_OK)
        e = KSM_E_INTERNAL;
    if (e != KSM_E_OK)
        ksm_db_rollback(db);
    ksm_ai__invalidate(); /* after the commit: a reader never memoises the old row
                             as new */
    return e;
}

enum ksm_err ksm_ai__step_write(struct ksm_db *db, sqlite3_stmt *st)
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

bool ksm_ai__text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max || !ksm_utf8_valid(s, n))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

bool ksm_ai__name_ok(const char *s)
{
    static const char extra[] = "._:@/+-";
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr(extra, c)))
            return false;
    }
    return true;
}

/* A provider's own model name is the provider's business (paths, ARNs, "model;variant=x"): any
 * printable ASCII but quotes and backslash, which have no place in a name and would only be trouble
 * in logs and JSON. */
bool ksm_ai__upstream_model_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\' || s[i] == '\'')
            return false;
    return true;
}

bool ksm_ai__id_ok(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (!s || strncmp(s, prefix, n) || s[n] != '_' || strlen(s + n + 1) != 20)
        return false;
    return strspn(s + n + 1, "abcdefghijklmnopqrstuvwxyz234567") == 20;
}

json_t *ksm_ai__time_json(int64_t ms)
{
    char buf[32];
    ksm_rfc3339_ms(ms, buf);
    return json_string(buf);
}

enum ksm_err ksm_ai__write(struct ksm_db *db, const char *sql, const char *const *texts, int ntexts,
                           const int64_t *ints, int nints)
{
    enum ksm_err e = ksm_ai__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, sql);
    for (int i = 0; i < ntexts; i++)
        ksm_db_bind_text(st, i + 1, texts[i]);
    for (int i = 0; i < nints; i++)
        sqlite3_bind_int64(st, ntexts + i + 1, ints[i]);
    e = ksm_ai__step_write(db, st);
    return ksm_ai__end(db, e);
}
