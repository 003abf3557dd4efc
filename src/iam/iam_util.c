/* iam_util.c — helpers shared by the IAM files: validation of names and addresses, JSON from
 * columns, and the one transaction pattern (begin; on any error roll back; else commit). */
#include "iam/iam_int.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

bool ksm_iam__text_ok(const char *s, int max)
{
    if (!s || !*s || !ksm_utf8_valid(s, strlen(s)))
        return false;
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;   /* control characters only cause trouble in logs, CSVs and consoles */
        if ((*p & 0xc0) != 0x80)
            chars++;
    }
    return chars <= max;
}

bool ksm_iam__email_ok(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    if (!ksm_utf8_valid(s, n))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

bool ksm_iam__id_ok(const char *s, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (!s || strncmp(s, prefix, pl) || s[pl] != '_' || strlen(s + pl + 1) != 20)
        return false;
    for (const char *p = s + pl + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7')))
            return false;
    return true;
}

json_t *ksm_iam__time_col(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    char out[32];
    ksm_rfc3339_ms(sqlite3_column_int64(st, col), out);
    return json_string(out);
}

json_t *ksm_iam__text_or_null(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    return json_string(ksm_db_col_text(st, col));
}

void ksm_iam__copy_id(char *dst, sqlite3_stmt *st, int col)
{
    snprintf(dst, KSM_ID_LEN, "%s", ksm_db_col_text(st, col));
}

enum ksm_err ksm_iam__begin(struct ksm_db *db)
{
    return ksm_db_begin(db) == SQLITE_OK ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_iam__end(struct ksm_db *db, enum ksm_err e)
{
    ksm_iam__invalidate();   /* before and after the commit are both safe: readers recompute */
    if (e == KSM_E_OK && ksm_db_commit(db) == SQLITE_OK) {
        ksm_iam__invalidate();
        return KSM_E_OK;
    }
    ksm_db_rollback(db);
    return e == KSM_E_OK ? KSM_E_INTERNAL : e;
}

enum ksm_err ksm_iam__step_write(struct ksm_db *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    int xrc = sqlite3_extended_errcode(db->h);
    if (rc != SQLITE_DONE && xrc != SQLITE_CONSTRAINT_UNIQUE && xrc != SQLITE_CONSTRAINT_PRIMARYKEY)
        ksm_error("iam: sql write: %s", sqlite3_errmsg(db->h));
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return KSM_E_OK;
    if (xrc == SQLITE_CONSTRAINT_UNIQUE || xrc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return KSM_E_ALREADY_EXISTS;
    return KSM_E_INTERNAL;
}

enum ksm_err ksm_iam__list_page(struct ksm_db *db, const char *sql, const char *tenant,
                                const char *after, int limit, json_t *(*row)(sqlite3_stmt *),
                                json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, sql);
    ksm_db_bind_text(st, 1, tenant);
    sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, row(st));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
