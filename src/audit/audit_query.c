/* audit_query.c — searching the log: the SQLite index picks the page of records (newest first,
 * keyset pagination on seq), then each record is read back from its segment with pread, so the
 * answer is the bytes that were hashed and signed. Each call opens its own read connection: queries
 * run on worker threads while the indexer writes, and WAL lets them proceed side by side. */
#include "audit/audit_int.h"
#include "core/util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUERY_DEFAULT_LIMIT 100
#define QUERY_MAX_LIMIT 1000
#define QUERY_MAX_LINE (1 << 20)

/* The cursor is "c" + the hex seq of the last record returned: opaque to callers, cheap to check. */
static int cursor_parse(const char *c, uint64_t *seq)
{
    size_t n = strlen(c);
    if (n < 2 || n > 17 || c[0] != 'c')
        return -1;
    uint64_t v = 0;
    for (size_t i = 1; i < n; i++) {
        char ch = c[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *seq = v;
    return v ? 0 : -1;
}

struct query_sql {
    struct ksm_buf sql;
    const char *text[4];   /* bound as ?6, ?7, ... */
    int ntext;
    char *lo, *hi;         /* an action prefix's range */
};

static void add_text(struct query_sql *q, const char *cond, const char *v)
{
    ksm_buf_printf(&q->sql, " AND %s ?%d", cond, 6 + q->ntext);
    q->text[q->ntext++] = v;
}

static void build_sql(const struct ksm_audit_filter *f, struct query_sql *q)
{
    ksm_buf_puts(&q->sql, "SELECT seq, seg, off, len FROM rec WHERE seq < ?1");
    if (f->since_ms)
        ksm_buf_puts(&q->sql, " AND time >= ?2");
    if (f->until_ms)
        ksm_buf_puts(&q->sql, " AND time < ?3");
    if (f->tenant)
        add_text(q, "tenant =", f->tenant);
    if (f->principal)
        add_text(q, "principal =", f->principal);
    size_t alen = f->action ? strlen(f->action) : 0;
    if (alen > 1 && f->action[alen - 1] == '*') {
        /* a prefix as a range, so the action index serves it (LIKE would not: it folds case);
         * 0xff never occurs in UTF-8, so prefix+0xff sorts above every string with that prefix */
        q->lo = ksm_xstrdup(f->action);
        q->lo[alen - 1] = '\0';
        q->hi = ksm_xstrdup(f->action);
        q->hi[alen - 1] = '\xff';
        add_text(q, "action >=", q->lo);
        add_text(q, "action <", q->hi);
    } else if (alen && strcmp(f->action, "*")) {
        add_text(q, "action =", f->action);
    }
    ksm_buf_puts(&q->sql, " ORDER BY seq DESC LIMIT ?4");
}

static int bind_all(sqlite3_stmt *st, const struct ksm_audit_filter *f, uint64_t before, int limit,
                    const struct query_sql *q)
{
    sqlite3_bind_int64(st, 1, before > INT64_MAX ? INT64_MAX : (sqlite3_int64)before);
    sqlite3_bind_int64(st, 2, f->since_ms);
    sqlite3_bind_int64(st, 3, f->until_ms);
    sqlite3_bind_int(st, 4, limit + 1);   /* one more tells whether there is a next page */
    for (int i = 0; i < q->ntext; i++)
        if (sqlite3_bind_text(st, 6 + i, q->text[i], -1, SQLITE_STATIC) != SQLITE_OK)
            return -1;
    return 0;
}

/* Reads one line back from its segment; the fd is kept while consecutive rows share a segment. */
static json_t *read_line(const char *dir, int64_t seg, int64_t off, int64_t len, int *fd,
                         int64_t *fd_seg)
{
    if (len <= 0 || len > QUERY_MAX_LINE || off < 0 || seg <= 0 || seg > 999999)
        return NULL;
    if (*fd_seg != seg) {
        char path[4096], name[KSM_AUDIT_SEG_NAME];
        if (*fd >= 0)
            close(*fd);
        ksm_audit_seg_name((uint32_t)seg, name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        *fd = open(path, O_RDONLY | O_CLOEXEC);
        *fd_seg = seg;
    }
    if (*fd < 0)
        return NULL;
    char *buf = ksm_xmalloc((size_t)len);
    json_t *o = NULL;
    if (pread(*fd, buf, (size_t)len, (off_t)off) == (ssize_t)len)
        o = json_loadb(buf, (size_t)len, 0, NULL);
    free(buf);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

int ksm_audit_query(struct ksm_audit *a, const struct ksm_audit_filter *f, json_t *records,
                    char **next_cursor)
{
    struct query_sql q = {KSM_BUF_INIT, {0}, 0, NULL, NULL};
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1, fd = -1;
    int64_t fd_seg = -1, last = 0;
    uint64_t before = UINT64_MAX;
    char path[4096], err[256];
    *next_cursor = NULL;
    int limit = f->limit <= 0 ? QUERY_DEFAULT_LIMIT : f->limit;
    if (limit > QUERY_MAX_LIMIT)
        limit = QUERY_MAX_LIMIT;
    if (f->cursor && cursor_parse(f->cursor, &before))
        goto fail;
    build_sql(f, &q);
    snprintf(path, sizeof path, "%s/index.db", a->dir);
    if (ksm_audit_index_open(&db, path, true, err, sizeof err) ||
        sqlite3_prepare_v2(db, q.sql.data, -1, &st, NULL) != SQLITE_OK ||
        bind_all(st, f, before, limit, &q))
        goto fail;
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            char c[24];
            snprintf(c, sizeof c, "c%" PRIx64, (uint64_t)last);
            *next_cursor = ksm_xstrdup(c);
            break;
        }
        last = sqlite3_column_int64(st, 0);
        json_t *o = read_line(a->dir, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                              sqlite3_column_int64(st, 3), &fd, &fd_seg);
        if (o)
            json_array_append_new(records, o);
        n++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto fail;
    rc = 0;
fail:
    if (fd >= 0)
        close(fd);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ksm_buf_free(&q.sql);
    free(q.lo);
    free(q.hi);
    return rc;
}
