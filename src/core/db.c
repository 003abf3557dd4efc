/* db.c — SQLite connection setup, a per-connection statement cache and ordered migrations. */
#include "core/db.h"
#include "core/error.h"
#include "core/log.h"
#include "core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MIGRATIONS 128
#define CACHE_SLOTS 256

static struct ksm_migration migrations[MAX_MIGRATIONS];
static int nmigrations;
static pthread_mutex_t mig_mu = PTHREAD_MUTEX_INITIALIZER;

struct ksm_stmt_cache {
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } slot[CACHE_SLOTS];
};

void ksm_db_register(const struct ksm_migration *m, int n)
{
    pthread_mutex_lock(&mig_mu);
    for (int i = 0; i < n; i++) {
        bool dup = false;
        for (int j = 0; j < nmigrations; j++)
            dup |= !strcmp(migrations[j].subsystem, m[i].subsystem) &&
                   migrations[j].version == m[i].version;
        if (!dup && nmigrations < MAX_MIGRATIONS)
            migrations[nmigrations++] = m[i];
    }
    pthread_mutex_unlock(&mig_mu);
}

static int migrate(struct ksm_db *db, char *err, size_t errlen)
{
    if (ksm_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version("
                        "subsystem TEXT PRIMARY KEY, version INTEGER NOT NULL)") != SQLITE_OK)
        goto fail;
    for (int i = 0; i < nmigrations; i++) {
        const struct ksm_migration *m = &migrations[i];
        if (ksm_db_begin(db) != SQLITE_OK)
            goto fail;
        sqlite3_stmt *st = ksm_db_prepare(db, "SELECT version FROM schema_version WHERE subsystem=?");
        sqlite3_bind_text(st, 1, m->subsystem, -1, SQLITE_STATIC);
        int have = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_reset(st);
        if (have < m->version) {
            if (have != m->version - 1) {
                snprintf(err, errlen, "migration %s/%d out of order", m->subsystem, m->version);
                ksm_db_rollback(db);
                return -1;
            }
            if (ksm_db_exec(db, m->sql) != SQLITE_OK)
                goto fail_tx;
            st = ksm_db_prepare(db, "INSERT OR REPLACE INTO schema_version VALUES(?,?)");
            sqlite3_bind_text(st, 1, m->subsystem, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, m->version);
            if (sqlite3_step(st) != SQLITE_DONE)
                goto fail_tx;
            sqlite3_reset(st);
        }
        if (ksm_db_commit(db) != SQLITE_OK)
            goto fail_tx;
    }
    return 0;
fail_tx:
    snprintf(err, errlen, "migration: %s", sqlite3_errmsg(db->h));
    ksm_db_rollback(db);
    return -1;
fail:
    snprintf(err, errlen, "migration: %s", sqlite3_errmsg(db->h));
    return -1;
}

void ksm_db_process_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);   /* SQLITE_MISUSE after initialisation: harmless */
}

int ksm_db_open(struct ksm_db *db, const char *path, char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
        sqlite3_close(db->h);
        db->h = NULL;
        return -1;
    }
    db->cache = ksm_xcalloc(1, sizeof *db->cache);
    sqlite3_busy_timeout(db->h, 5000);
    if (ksm_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                        "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON") != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->h));
        ksm_db_close(db);
        return -1;
    }
    if (migrate(db, err, errlen)) {
        ksm_db_close(db);
        return -1;
    }
    return 0;
}

void ksm_db_close(struct ksm_db *db)
{
    if (db->cache) {
        for (int i = 0; i < CACHE_SLOTS; i++)
            sqlite3_finalize(db->cache->slot[i].st);
        free(db->cache);
        db->cache = NULL;
    }
    sqlite3_close(db->h);
    db->h = NULL;
}

sqlite3_stmt *ksm_db_prepare(struct ksm_db *db, const char *sql)
{
    /* open addressing keyed by the literal's address; a miss compares text in case of equal literals */
    size_t h = ((uintptr_t)sql >> 4) % CACHE_SLOTS;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        size_t k = (h + i) % CACHE_SLOTS;
        if (db->cache->slot[k].sql == sql) {
            sqlite3_stmt *st = db->cache->slot[k].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
        if (!db->cache->slot[k].sql) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
                ksm_error("sql prepare: %s: %s", sqlite3_errmsg(db->h), sql);
                abort(); /* a bad literal is a programming error, caught by every test */
            }
            db->cache->slot[k].sql = sql;
            db->cache->slot[k].st = st;
            return st;
        }
    }
    ksm_error("sql statement cache full");
    abort();
}

int ksm_db_exec(struct ksm_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        ksm_error("sql: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc;
}

int ksm_db_begin(struct ksm_db *db) { return ksm_db_exec(db, "BEGIN IMMEDIATE"); }
int ksm_db_commit(struct ksm_db *db) { return ksm_db_exec(db, "COMMIT"); }

void ksm_db_rollback(struct ksm_db *db)
{
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/* The length is measured here: given -1, SQLite finds the end a byte at a time, which for the usage
 * writer's eight texts a record (details ~200 bytes) cost more than binding them. */
void ksm_db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text64(st, idx, s, strlen(s), SQLITE_TRANSIENT, SQLITE_UTF8);
    else
        sqlite3_bind_null(st, idx);
}

void ksm_db_bind_text_static(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text64(st, idx, s, strlen(s), SQLITE_STATIC, SQLITE_UTF8);
    else
        sqlite3_bind_null(st, idx);
}

const char *ksm_db_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

enum ksm_err ksm_db_get_json(struct ksm_db *db, const char *sql, const char *id,
                             struct json_t *(*row)(sqlite3_stmt *st), struct json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, sql);
    ksm_db_bind_text(st, 1, id);
    enum ksm_err e = KSM_E_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = row(st);
        e = KSM_E_OK;
    }
    sqlite3_reset(st);
    return e;
}
