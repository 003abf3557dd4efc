/* erase_job.c — the erasure's tables, its request (a confirmation token) and its confirmation.
 *
 * Two steps because erasure cannot be undone: the request names what goes and returns a token
 * that confirms it within its lifetime; the confirmation must come from a second administrator
 * when the tenant has more than one, so that no single account can erase a tenant's data. Only the
 * token's SHA-256 is kept. The token names its tenant and erasure ("<tenant>.<id>.<secret>"), so a
 * script needs nothing else to confirm it. */
#include "lifecycle/erase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "iam/iam.h"
#include "storage/store.h"

static const struct ksm_migration erase_migrations[] = {
    {"erasure", 1,
     /* state: requested → confirmed → keys_destroyed → metadata_removed → data_wiped → done */
     "CREATE TABLE erasure_jobs("
     " id TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
     " scope TEXT NOT NULL CHECK(scope IN ('tenant','project','bucket')),"
     " target TEXT NOT NULL, target_name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
     " state TEXT NOT NULL, requested_by TEXT NOT NULL, requested_by_name TEXT NOT NULL,"
     " requested_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, confirmed_by TEXT,"
     " confirmed_by_name TEXT, confirmed_at INTEGER, started_at INTEGER, finished_at INTEGER,"
     " report TEXT);"
     "CREATE INDEX erasure_jobs_tenant ON erasure_jobs(tenant);"
     /* what each bucket held when its key was destroyed, and what was wiped */
     "CREATE TABLE erasure_buckets("
     " job TEXT NOT NULL, bucket_id TEXT NOT NULL, name TEXT NOT NULL, project TEXT NOT NULL,"
     " region TEXT NOT NULL, objects INTEGER NOT NULL, object_bytes INTEGER NOT NULL,"
     " versions INTEGER NOT NULL, version_bytes INTEGER NOT NULL,"
     " delete_markers INTEGER NOT NULL, uploads INTEGER NOT NULL, parts INTEGER NOT NULL,"
     " part_bytes INTEGER NOT NULL, files INTEGER NOT NULL DEFAULT 0,"
     " pack_extents INTEGER NOT NULL DEFAULT 0, ciphertext_bytes INTEGER NOT NULL DEFAULT 0,"
     " rows_removed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(job, bucket_id)) WITHOUT ROWID;"
     "CREATE TABLE erasure_keys("
     " job TEXT NOT NULL, key_id TEXT NOT NULL, kind TEXT NOT NULL, owner TEXT NOT NULL,"
     " version INTEGER NOT NULL, PRIMARY KEY(job, key_id)) WITHOUT ROWID;"
     /* the ciphertext still to wipe once the rows are gone (a crash resumes from here) */
     "CREATE TABLE erasure_extents("
     " job TEXT NOT NULL, seq INTEGER NOT NULL, bucket_id TEXT NOT NULL, region TEXT NOT NULL,"
     " in_pack INTEGER NOT NULL, pack_id INTEGER NOT NULL, off INTEGER NOT NULL,"
     " len INTEGER NOT NULL, uid BLOB NOT NULL, PRIMARY KEY(job, seq)) WITHOUT ROWID;"},
};

void ksm_erase_register_schema(void)
{
    ksm_db_register(erase_migrations, (int)KSM_NELEM(erase_migrations));
}

static void set_time(json_t *o, const char *field, sqlite3_stmt *st, int col)
{
    char t[32];
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        json_object_set_new(o, field, json_null());
        return;
    }
    ksm_rfc3339_ms(sqlite3_column_int64(st, col), t);
    json_object_set_new(o, field, json_string(t));
}

#define JOB_COLS                                                                                   \
    "id, tenant, scope, target, target_name, state, requested_by, requested_by_name,"             \
    " requested_at, expires_at, confirmed_by, confirmed_by_name, confirmed_at, started_at,"       \
    " finished_at, report"

static json_t *job_json(sqlite3_stmt *st)
{
    static const char *const text[] = {"id", "tenant", "scope", "target", "target_name", "state"};
    json_t *o = json_object();
    for (int i = 0; i < 6; i++)
        json_object_set_new(o, text[i], json_string(ksm_db_col_text(st, i)));
    json_object_set_new(o, "requested_by",
                        json_pack("{s:s,s:s}", "id", ksm_db_col_text(st, 6), "name",
                                  ksm_db_col_text(st, 7)));
    set_time(o, "requested_at", st, 8);
    set_time(o, "expires_at", st, 9);
    json_object_set_new(o, "confirmed_by",
                        sqlite3_column_type(st, 10) == SQLITE_NULL
                            ? json_null()
                            : json_pack("{s:s,s:s}", "id", ksm_db_col_text(st, 10), "name",
                                        ksm_db_col_text(st, 11)));
    set_time(o, "confirmed_at", st, 12);
    set_time(o, "started_at", st, 13);
    set_time(o, "finished_at", st, 14);
    const char *rep = (const char *)sqlite3_column_text(st, 15);
    json_t *report = rep ? json_loads(rep, 0, NULL) : NULL;
    json_object_set_new(o, "report", report ? report : json_null());
    return o;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The scope's target id and a name for people: the tenant's name, the project's, the bucket's. */
static enum ksm_err resolve_target(struct ksm_db *db, const struct ksm_erase_request *q,
                                   char target[48], char *name, size_t namelen, const char **why)
{
    json_t *o = NULL;
    enum ksm_err e = KSM_E_OK;
    if (!strcmp(q->scope, "tenant")) {
        if ((e = ksm_iam_tenant_get(db, q->tenant, &o)) == KSM_E_OK)
            snprintf(target, 48, "%s", q->tenant);
    } else if (!strcmp(q->scope, "project")) {
        if (!q->project)
            return *why = "scope project needs \"project\": the project's id", KSM_E_INVALID_ARGUMENT;
        e = ksm_iam_project_get(db, q->project, &o);
        if (e == KSM_E_OK && strcmp(jstr(o, "tenant"), q->tenant))
            e = KSM_E_NOT_FOUND;
        if (e == KSM_E_OK)
            snprintf(target, 48, "%s", q->project);
    } else if (!strcmp(q->scope, "bucket")) {
        struct ksm_bucket b;
        if (!q->bucket)
            return *why = "scope bucket needs \"bucket\": the bucket's name", KSM_E_INVALID_ARGUMENT;
        if ((e = ksm_store_bucket_get(db, q->tenant, q->bucket, &b)) == KSM_E_OK) {
            snprintf(target, 48, "%s", b.id);
            snprintf(name, namelen, "%s", b.name);
        }
        return e;
    } else {
        return *why = "scope must be tenant, project or bucket", KSM_E_INVALID_ARGUMENT;
    }
    if (e == KSM_E_OK)
        snprintf(name, namelen, "%s", jstr(o, "name"));
    json_decref(o);
    return e;
}

/* sql: a literal with ?1 and, when b is not NULL, ?2. */
static enum ksm_err job_by(struct ksm_db *db, const char *sql, const char *a, const char *b,
                           json_t **job)
{
    sqlite3_stmt *st = ksm_db_prepare(db, sql);
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *job = job_json(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

enum ksm_err ksm_erase_get(struct ksm_db *db, const char *tenant, const char *id, json_t **job)
{
    return job_by(db, "SELECT " JOB_COLS " FROM erasure_jobs WHERE id=?1 AND tenant=?2", id, tenant,
                  job);
}

static void token_hash(const char *token, char hex[65]) { ksm_sha256_hex(token, strlen(token), hex); }

enum ksm_err ksm_erase_get_by_token(struct ksm_db *db, const char *token, json_t **job)
{
    char h[65];
    token_hash(token, h);
    return job_by(db, "SELECT " JOB_COLS " FROM erasure_jobs WHERE token_hash=?1", h, NULL, job);
}

enum ksm_err ksm_erase_request(struct ksm_db *db, const struct ksm_erase_request *q,
                               char token[KSM_ERASE_TOKEN_MAX], json_t **job, const char **why)
{
    char target[48] = "", name[256] = "", id[40], secret[65], h[65];
    uint8_t raw[32];
    *why = NULL;
    if (q->ttl_s < 1 || q->ttl_s > 86400)
        return *why = "expires_in_s must be 1 to 86400", KSM_E_INVALID_ARGUMENT;
    if (ksm_iam_tenant_erased(db, q->tenant))
        return *why = "the tenant is erased already", KSM_E_CONFLICT;
    enum ksm_err e = resolve_target(db, q, target, name, sizeof name, why);
    if (e != KSM_E_OK)
        return e;
    ksm_id_new("er", id);
    ksm_random_bytes(raw, sizeof raw);
    ksm_hex(raw, sizeof raw, secret);
    snprintf(token, KSM_ERASE_TOKEN_MAX, "%s.%s.%s", q->tenant, id, secret);
    token_hash(token, h);
    int64_t now = ksm_now_ms();
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO erasure_jobs(id, tenant, scope, target, target_name, token_hash, state,"
            " requested_by, requested_by_name, requested_at, expires_at)"
            " VALUES(?1,?2,?3,?4,?5,?6,'requested',?7,?8,?9,?10)");
    const char *v[] = {id, q->tenant, q->scope, target, name, h, q->requester, q->requester_name};
    for (int i = 0; i < 8; i++)
        sqlite3_bind_text(st, i + 1, v[i] ? v[i] : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 9, now);
    sqlite3_bind_int64(st, 10, now + q->ttl_s * 1000);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return ksm_erase_get(db, q->tenant, id, job);
}

bool ksm_erase_token_parse(const char *token, char tenant[48], char id[48])
{
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || d1 == token || d2 == d1 + 1 || d1 - token >= 48 || d2 - d1 - 1 >= 48 ||
        strlen(d2 + 1) != 64 || strchr(d2 + 1, '.'))
        return false;
    for (const char *p = d2 + 1; *p; p++)
        if (ksm_hexval(*p) < 0)
            return false;
    snprintf(tenant, 48, "%.*s", (int)(d1 - token), token);
    snprintf(id, 48, "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    return true;
}

/* The request's row: its token hash, state, requester and expiry. */
struct pending {
    char hash[65], state[24], requester[48];
    int64_t expires_at;
};

static enum ksm_err pending_get(struct ksm_db *db, const char *tenant, const char *id,
                                struct pending *p)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT token_hash, state, requested_by, expires_at"
                                          " FROM erasure_jobs WHERE id=?1 AND tenant=?2");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(p->hash, sizeof p->hash, "%s", ksm_db_col_text(st, 0));
        snprintf(p->state, sizeof p->state, "%s", ksm_db_col_text(st, 1));
        snprintf(p->requester, sizeof p->requester, "%s", ksm_db_col_text(st, 2));
        p->expires_at = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

/* Who may confirm: anyone holding the permission, but not the requester while the tenant has a
 * second administrator who could. */
static enum ksm_err confirmer_ok(struct ksm_db *db, const char *tenant, const struct pending *p,
                                 const char *confirmer, const char **why)
{
    int admins = 0;
    if (ksm_iam_tenant_admin_count(db, tenant, &admins) != KSM_E_OK)
        return KSM_E_INTERNAL;
    if (admins > 1 && !strcmp(confirmer, p->requester))
        return *why = "the tenant has more than one administrator: another one must confirm",
               KSM_E_FORBIDDEN;
    return KSM_E_OK;
}

enum ksm_err ksm_erase_confirm(struct ksm_db *db, const char *tenant, const char *id,
                               const char *token, const char *confirmer,
                               const char *confirmer_name, json_t **job, const char **why)
{
    struct pending p;
    char h[65];
    *why = NULL;
    token_hash(token, h);
    if (ksm_db_begin(db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    enum ksm_err e = pending_get(db, tenant, id, &p);
    if (e == KSM_E_OK && strcmp(p.hash, h))
        e = KSM_E_NOT_FOUND; /* a token of another erasure reads as no such erasure */
    if (e == KSM_E_OK && strcmp(p.state, "requested"))
        *why = "the erasure was confirmed already", e = KSM_E_CONFLICT;
    if (e == KSM_E_OK && ksm_now_ms() > p.expires_at)
        e = KSM_E_TOKEN_EXPIRED;
    if (e == KSM_E_OK)
        e = confirmer_ok(db, tenant, &p, confirmer, why);
    if (e == KSM_E_OK) {
        sqlite3_stmt *st = ksm_db_prepare(
            db, "UPDATE erasure_jobs SET state='confirmed', confirmed_by=?2, confirmed_by_name=?3,"
                " confirmed_at=?4 WHERE id=?1 AND state='requested'");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, confirmer, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, confirmer_name ? confirmer_name : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, ksm_now_ms());
        e = sqlite3_step(st) == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
        sqlite3_reset(st);
    }
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        return e;
    }
    if (ksm_db_commit(db) != SQLITE_OK) {
        ksm_db_rollback(db);
        return KSM_E_INTERNAL;
    }
    return ksm_erase_get(db, tenant, id, job);
}
