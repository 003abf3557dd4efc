/* audit_index.c — the block index over the segments (DIR/index.db), so a query reads the few
 * blocks that can hold its records instead of a year of logs. The log is the truth: the index is
 * written after the records are durable, with synchronous=NORMAL, and is caught up from the
 * segments at open when a crash left it behind (or rebuilt when index.db is gone or has another
 * schema). Grouping records into blocks is audit_block.c. */
#include "audit/audit_int.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* user_version of the block schema; 0 is a new file, anything else an older layout to rebuild */
#define INDEX_VERSION 4
#define STR_(x) #x
#define STR(x) STR_(x)

/* blk.id is the block's first seq, so "id < cursor" selects the blocks that can hold older records.
 * blk_key is WITHOUT ROWID with (kind, val, blk): "this tenant's blocks, newest first" is one
 * backwards walk of its primary key. blk_tally holds each block's records counted by tenant ('' for
 * none) and facet (ksm_audit_facet_fn), so a count over a year reads a row per block and value. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS blk(id INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,"
    " t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, seg INTEGER NOT NULL, off INTEGER NOT NULL,"
    " len INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blk_key(kind INTEGER NOT NULL, val TEXT NOT NULL,"
    " blk INTEGER NOT NULL, PRIMARY KEY(kind, val, blk)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS blk_tally(blk INTEGER NOT NULL, tenant TEXT NOT NULL,"
    " facet TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(blk, tenant, facet)) WITHOUT ROWID;"
    "PRAGMA user_version = " STR(INDEX_VERSION) ";";

static const char put_blk_sql[] =
    "INSERT OR REPLACE INTO blk(id,last_seq,t_min,t_max,seg,off,len) VALUES(?,?,?,?,?,?,?)";
static const char put_key_sql[] = "INSERT OR IGNORE INTO blk_key(kind,val,blk) VALUES(?,?,?)";
static const char put_tally_sql[] =
    "INSERT OR REPLACE INTO blk_tally(blk,tenant,facet,n) VALUES(?,?,?,?)";

static int int_query(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* A new file gets the schema; a file with another layout (the per-record index of earlier
 * versions) is refused, and the caller rebuilds it from the log. */
static int check_schema(sqlite3 *db, char *err, size_t errlen)
{
    int64_t version = -1, tables = -1;
    if (int_query(db, "PRAGMA user_version", &version) ||
        int_query(db, "SELECT count(*) FROM sqlite_master", &tables))
        return -1;
    if (version != INDEX_VERSION && (version != 0 || tables != 0)) {
        snprintf(err, errlen, "index.db has schema version %lld, not %d", (long long)version,
                 INDEX_VERSION);
        return 1;
    }
    return sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int ksm_audit_index_open(struct ksm_audit_ix *ix, const char *path, ksm_audit_facet_fn facet,
                         char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc;
    memset(ix, 0, sizeof *ix);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK)
        goto fail;
    if ((rc = check_schema(db, err, errlen)) > 0)
        goto fail_msg;
    if (rc || sqlite3_prepare_v2(db, put_blk_sql, -1, &ix->put_blk, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, put_key_sql, -1, &ix->put_key, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, put_tally_sql, -1, &ix->put_tally, NULL) != SQLITE_OK)
        goto fail;
    ix->db = db;
    ix->facet = facet;
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
fail_msg:
    sqlite3_finalize(ix->put_blk);
    sqlite3_finalize(ix->put_key);
    sqlite3_finalize(ix->put_tally);
    sqlite3_close(db);
    memset(ix, 0, sizeof *ix);
    return -1;
}

void ksm_audit_index_close(struct ksm_audit_ix *ix)
{
    sqlite3_finalize(ix->put_blk);
    sqlite3_finalize(ix->put_key);
    sqlite3_finalize(ix->put_tally);
    sqlite3_close(ix->db);
    ksm_audit_block_free(&ix->cur);
    ksm_buf_free(&ix->fixed);
    ksm_buf_free(&ix->facet_buf);
    ksm_buf_free(&ix->tally_key);
    memset(ix, 0, sizeof *ix);
}

int ksm_audit_index_open_read(sqlite3 **out, const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    /* read-write without create: a WAL reader may need to touch -shm */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    *out = db;
    return 0;
}

/* ---- live: the batches the writer made durable ---- */

static int add_batch(struct ksm_audit_ix *ix, const struct ksm_audit_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct ksm_audit_ent *e = &b->ents[i];
        const char *tenant = b->keys.data + e->keys_off;
        const char *principal = tenant + strlen(tenant) + 1;
        const char *action = principal + strlen(principal) + 1;
        const char *facet = action + strlen(action) + 1;
        struct ksm_audit_ixrec r = {e->seq, e->time_ms, b->seg, e->file_off, e->line_len,
                                    e->nulls & 1 ? NULL : tenant, e->nulls & 2 ? NULL : principal,
                                    e->nulls & 4 ? NULL : action, e->nulls & 8 ? NULL : facet};
        if (ksm_audit_block_add(ix, &r))
            return -1;
    }
    return 0;
}

/* On failure the open block is forgotten (its keys were rolled back): later records start a new
 * block, and the next open catches the index up from the log. */
static int commit_or_rollback(struct ksm_audit_ix *ix, int rc)
{
    if (!rc && !ksm_audit_block_put(ix) &&
        sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    ksm_error("audit: index: %s", sqlite3_errmsg(ix->db));
    sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    ksm_audit_block_reset(&ix->cur);
    return -1;
}

int ksm_audit_index_batches(struct ksm_audit_ix *ix, const struct ksm_audit_batch *list)
{
    int rc = 0;
    if (sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return commit_or_rollback(ix, -1);
    for (const struct ksm_audit_batch *b = list; b && !rc; b = b->next)
        if (b->seg)
            rc = add_batch(ix, b);
    return commit_or_rollback(ix, rc);
}

/* ---- catch-up: the records the index lacks, read from the segments ---- */

/* What a record read back is counted under: the same function the submitter ran, on the fields as
 * the line holds them. */
static const char *line_facet(struct ksm_audit_ix *ix, const struct ksm_audit_rec *rec)
{
    ksm_buf_reset(&ix->facet_buf);
    if (!ix->facet || !ix->facet(rec, &ix->facet_buf))
        return NULL;
    ksm_buf_append(&ix->facet_buf, "", 1);
    return ix->facet_buf.data;
}

/* Indexes the records of one segment with after < seq <= upto, in one transaction (the writer may
 * be appending past upto). */
static int index_segment(struct ksm_audit_ix *ix, const char *path, uint32_t seg, uint64_t after,
                         uint64_t upto)
{
    size_t len;
    char *p = ksm_read_file(path, &len);
    int rc = 0;
    if (!p || sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        free(p);
        return -1;
    }
    for (size_t off = 0; off < len && !rc;) {
        const char *nl = memchr(p + off, '\n', len - off);
        if (!nl)
            break;
        size_t n = (size_t)(nl - p) - off;
        struct ksm_audit_line l;
        const char *why;
        int64_t t = 0;
        if (!ksm_audit_line_parse(p + off, n, &l, &why) && l.kind == KSM_AUDIT_RECORD &&
            l.seq > after && l.seq <= upto &&
            !ksm_parse_rfc3339(json_string_value(json_object_get(l.obj, "time")), &t)) {
            struct ksm_audit_rec rec;
            ksm_audit_rec_from_line(l.obj, &rec);
            struct ksm_audit_ixrec r = {l.seq, t, seg, off, (uint32_t)n, rec.tenant, rec.principal,
                                        rec.action, line_facet(ix, &rec)};
            rc = ksm_audit_block_add(ix, &r);
        }
        json_decref(l.obj);
        off += n + 1;
    }
    free(p);
    return commit_or_rollback(ix, rc);
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

/* Blocks reaching past the log's end can only come from a log restored from backup: they go, and
 * the catch-up indexes what the log holds now. Returns the last seq the index still covers. */
static int drop_past_end(sqlite3 *db, uint64_t last_seq, uint64_t *have)
{
    char sql[256];
    int64_t from = 0, max = 0;
    snprintf(sql, sizeof sql, "SELECT ifnull(min(id),0) FROM blk WHERE last_seq > %llu",
             (unsigned long long)last_seq);
    if (int_query(db, sql, &from))
        return -1;
    if (from > 0) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM blk_key WHERE blk >= %lld; DELETE FROM blk_tally WHERE blk >= %lld;"
                 " DELETE FROM blk WHERE id >= %lld",
                 (long long)from, (long long)from, (long long)from);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return -1;
    }
    if (int_query(db, "SELECT ifnull(max(last_seq),0) FROM blk", &max))
        return -1;
    *have = (uint64_t)max;
    return 0;
}

int ksm_audit_index_catch_up(struct ksm_audit_ix *ix, const char *dir, uint64_t last_seq, char *err,
                             size_t errlen)
{
    uint32_t *segs = NULL;
    size_t nsegs = 0, start = 0;
    uint64_t have = 0;
    char path[4096], name[KSM_AUDIT_SEG_NAME];
    if (drop_past_end(ix->db, last_seq, &have))
        goto fail_db;
    if (have >= last_seq)
        return 0;
    if (ksm_audit_seg_list(dir, &segs, &nsegs))
        goto fail_db;
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
        if (index_segment(ix, path, segs[i], have, last_seq))
            goto fail_db;
    }
    free(segs);
    return 0;
fail_db:
    snprintf(err, errlen, "audit index: %s", sqlite3_errmsg(ix->db));
    free(segs);
    return -1;
}
