/* db.h — the metadata store's one SQL layer (SQLite now; PostgreSQL later behind the same calls).
 * Each worker thread opens its own connection; the file is in WAL mode with synchronous=FULL so a
 * committed change is on disk before the caller acknowledges it. */
#ifndef KSM_DB_H
#define KSM_DB_H
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct ksm_db {
    sqlite3 *h;
    struct ksm_stmt_cache *cache;
};

/* Opens (creating) path, sets pragmas, applies every registered migration. -1 with err filled. */
/* Process-wide SQLite settings; call before any database is opened (kasumid's main). Memory
 * statistics off: with them on, every SQLite allocation takes one global mutex, which all the
 * threads writing metadata, usage and the audit index contend on. */
void ksm_db_process_init(void);
int ksm_db_open(struct ksm_db *db, const char *path, char *err, size_t errlen);
void ksm_db_close(struct ksm_db *db);

/* Each subsystem registers its schema once at start, before the first ksm_db_open: a name and an
 * ordered list of SQL statements. Migrations are append-only: never edit a shipped statement. */
struct ksm_migration {
    const char *subsystem;   /* "iam", "usage", ... */
    int version;             /* 1, 2, ... within the subsystem */
    const char *sql;         /* may hold several statements */
};
void ksm_db_register(const struct ksm_migration *m, int n);

/* A prepared statement from the connection's cache, reset and with bindings cleared. The SQL text is
 * the cache key, so pass a string literal. Do not finalize it. */
sqlite3_stmt *ksm_db_prepare(struct ksm_db *db, const char *sql);

int ksm_db_exec(struct ksm_db *db, const char *sql);   /* SQLITE_OK or the error code */
int ksm_db_begin(struct ksm_db *db);                   /* BEGIN IMMEDIATE */
int ksm_db_commit(struct ksm_db *db);
void ksm_db_rollback(struct ksm_db *db);

/* One row by its id, turned into JSON by row(): KSM_E_OK, or KSM_E_NOT_FOUND. sql is a string
 * literal (the statement cache's key) with ?1 for the id. */
struct json_t;
enum ksm_err ksm_db_get_json(struct ksm_db *db, const char *sql, const char *id,
                             struct json_t *(*row)(sqlite3_stmt *st), struct json_t **out);

/* Binds a text that may be NULL. */
void ksm_db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* The same without SQLite's copy of s: s must stay unchanged until the statement is reset and its
 * bindings cleared (sqlite3_clear_bindings), for statements run often enough that the copy shows. */
void ksm_db_bind_text_static(sqlite3_stmt *st, int idx, const char *s);
/* Column text as "" when NULL. */
const char *ksm_db_col_text(sqlite3_stmt *st, int col);

#endif
