/* audit_index.c — the SQLite index over the segments (DIR/index.db), so a query reads a page of
 * records instead of a year of logs. The log is the truth: the index is written after the records
 * are durable, with synchronous=NORMAL, and is caught up from the segments at open when a crash
 * left it behind (or rebuilt when index.db is gone). Rows point at lines: segment, offset, length. */
#include "audit/audit_int.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The secondary indexes hold the rowid (seq), so "tenant = ? ORDER BY seq DESC" walks one index. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS rec(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, tenant TEXT,"
    " principal TEXT, action TEXT, seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rec_time ON rec(time);"
    "CREATE INDEX IF NOT EXISTS rec_tenant ON rec(tenant);"
    "CREATE INDEX IF NOT EXISTS rec_principal ON rec(principal);"
    "CREATE INDEX IF NOT EXISTS rec_action ON rec(action);";

static const char insert_sql[] =
    "INSERT OR REPLACE INTO rec(seq,time,tenant,principal,action,seg,off,len) VALUES(?,?,?,?,?,?,?,?)";

int ksm_audit_index_open(sqlite3 **out, const char *path, bool readonly, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    /* query connections open read-write without create: a WAL reader may need to touch -shm */
    int flags = readonly ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(db, 5000);
    if (!readonly && sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;", NULL,
                                  NULL, NULL) != SQLITE_OK)
        goto fail;
    if (!readonly && sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    *out = db;
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return -1;
}

static void bind_opt(sqlite3_stmt *st, int idx, const char *s, bool null)
{
    if (null)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

static int insert_batch(sqlite3_stmt *st, const struct ksm_audit_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct ksm_audit_ent *e = &b->ents[i];
        const char *tenant = b->keys.data + e->keys_off;
        const char *principal = tenant + strlen(tenant) + 1;
        const char *action = principal + strlen(principal) + 1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)e->seq);
        sqlite3_bind_int64(st, 2, e->time_ms);
        bind_opt(st, 3, tenant, e->nulls & 1);
        bind_opt(st, 4, principal, e->nulls & 2);
        bind_opt(st, 5, action, e->nulls & 4);
        sqlite3_bind_int64(st, 6, b->seg);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)e->file_off);
        sqlite3_bind_int64(st, 8, e->line_len);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int ksm_audit_index_batches(sqlite3 *db, const struct ksm_audit_batch *list)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (const struct ksm_audit_batch *b = list; b; b = b->next)
        if (b->seg && insert_batch(st, b))
            goto fail;
    sqlite3_finalize(st);
    return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
fail:
    ksm_error("audit: index: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static const char *str_or_null(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Indexes the records of one segment with seq > after. */
static int index_segment(sqlite3 *db, const char *path, uint32_t seg, uint64_t after)
{
    size_t len;
    char *p = ksm_read_file(path, &len);
    sqlite3_stmt *st = NULL;
    if (!p || sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (size_t off = 0; off < len;) {
        const char *nl = memchr(p + off, '\n', len - off);
        if (!nl)
            break;
        size_t n = (size_t)(nl - p) - off;
        struct ksm_audit_line l;
        const char *why;
        if (!ksm_audit_line_parse(p + off, n, &l, &why)) {
            int64_t t = 0;
            const char *ts = str_or_null(l.obj, "time");
            if (l.kind == KSM_AUDIT_RECORD && l.seq > after && !ksm_parse_rfc3339(ts, &t)) {
                sqlite3_bind_int64(st, 1, (sqlite3_int64)l.seq);
                sqlite3_bind_int64(st, 2, t);
                bind_opt(st, 3, str_or_null(l.obj, "tenant"), !str_or_null(l.obj, "tenant"));
                bind_opt(st, 4, str_or_null(l.obj, "principal"), !str_or_null(l.obj, "principal"));
                bind_opt(st, 5, str_or_null(l.obj, "action"), !str_or_null(l.obj, "action"));
                sqlite3_bind_int64(st, 6, seg);
                sqlite3_bind_int64(st, 7, (sqlite3_int64)off);
                sqlite3_bind_int64(st, 8, (sqlite3_int64)n);
                int rc = sqlite3_step(st);
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                if (rc != SQLITE_DONE) {
                    json_decref(l.obj);
                    goto fail;
                }
            }
            json_decref(l.obj);
        }
        off += n + 1;
    }
    sqlite3_finalize(st);
    free(p);
    return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
fail:
    sqlite3_finalize(st);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    free(p);
    return -1;
}

/* The seq of a segment's first record (0 if none can be read). */
static uint64_t first_seq(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    uint64_t seq = 0;
    if (f && fgets(line, sizeof line, f)) {
        struct ksm_audit_line l;
        const char *why;
        if (!ksm_audit_line_parse(line, strcspn(line, "\n"), &l, &why))
            seq = l.seq;
        json_decref(l.obj);
    }
    if (f)
        fclose(f);
    return seq;
}

static uint64_t index_max(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    uint64_t m = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(seq) FROM rec", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        m = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return m;
}

int ksm_audit_index_catch_up(sqlite3 *db, const char *dir, uint64_t last_seq, char *err,
                             size_t errlen)
{
    uint32_t *segs = NULL;
    size_t nsegs = 0;
    char path[4096], name[KSM_AUDIT_SEG_NAME];
    char sql[96];
    /* rows past the log's end can only come from a log restored from backup: drop them */
    snprintf(sql, sizeof sql, "DELETE FROM rec WHERE seq > %llu", (unsigned long long)last_seq);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        goto fail_db;
    uint64_t have = index_max(db);
    if (have >= last_seq)
        return 0;
    if (ksm_audit_seg_list(dir, &segs, &nsegs))
        goto fail_db;
    size_t start = 0;
    for (size_t i = nsegs; i-- > 0;) {
        ksm_audit_seg_name(segs[i], name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        uint64_t f = first_seq(path);
        if (f && f <= have + 1) {
            start = i;
            break;
        }
    }
    ksm_info("audit: indexing records %llu..%llu from the segments", (unsigned long long)have + 1,
             (unsigned long long)last_seq);
    for (size_t i = start; i < nsegs; i++) {
        ksm_audit_seg_name(segs[i], name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (index_segment(db, path, segs[i], have))
            goto fail_db;
    }
    free(segs);
    return 0;
fail_db:
    snprintf(err, errlen, "audit index: %s", sqlite3_errmsg(db));
    free(segs);
    return -1;
}
