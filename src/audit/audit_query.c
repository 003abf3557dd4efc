/* audit_query.c — searching the log: the block index names the blocks that can hold matching
 * records (newest first, by first seq), each block is read back from its segment with one pread,
 * and its lines are filtered exactly, newest first, so the answer is the bytes that were hashed
 * and signed. Each call opens its own read connection: queries run on worker threads while the
 * indexer writes, and WAL lets them proceed side by side. */
#define _GNU_SOURCE   /* memmem, memrchr */
#include "audit/audit_int.h"
#include "core/jscan.h"
#include "core/util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUERY_DEFAULT_LIMIT 100
#define QUERY_MAX_LIMIT 1000
#define QUERY_MAX_BLOCK (64 << 20)   /* no block the writer makes is this big: a broken index */

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

/* One string filter: the value as the line holds it (invalid UTF-8 replaced, as the writer does),
 * and the bytes that must occur in a matching line ("tenant":"x"), a cheap test that spares the
 * JSON parse of most lines in a block picked for a rare value. */
struct match {
    const char *field;
    struct ksm_buf val;    /* NUL-terminated; data NULL: no filter */
    struct ksm_buf needle;
    bool prefix;
};

struct query {
    const struct ksm_audit_filter *f;
    uint64_t before;
    int limit, n;
    uint64_t last;         /* seq of the last record returned */
    bool more;             /* a match beyond the limit exists */
    struct match tenant, principal, action;
    struct ksm_buf sql;
    struct ksm_buf blk;    /* the block being scanned */
    int fd;
    int64_t fd_seg;
};

static void match_init(struct match *m, const char *field, const char *v, size_t vlen, bool prefix)
{
    m->field = field;
    m->prefix = prefix;
    struct ksm_buf raw = KSM_BUF_INIT;
    ksm_buf_append(&raw, v, vlen);
    ksm_audit_utf8_fix(&m->val, raw.data);
    ksm_buf_free(&raw);
    ksm_buf_printf(&m->needle, "\"%s\":", field);
    ksm_buf_json_str(&m->needle, m->val.data);
    if (prefix)
        m->needle.data[--m->needle.len] = '\0';   /* no closing quote: the value goes on */
}

static void match_free(struct match *m)
{
    ksm_buf_free(&m->val);
    ksm_buf_free(&m->needle);
}

static void query_init(struct query *q, const struct ksm_audit_filter *f)
{
    memset(q, 0, sizeof *q);
    q->f = f;
    q->before = UINT64_MAX;
    q->fd = -1;
    q->fd_seg = -1;
    q->limit = f->limit <= 0 ? QUERY_DEFAULT_LIMIT : f->limit;
    if (q->limit > QUERY_MAX_LIMIT)
        q->limit = QUERY_MAX_LIMIT;
    if (f->tenant)
        match_init(&q->tenant, "tenant", f->tenant, strlen(f->tenant), false);
    if (f->principal)
        match_init(&q->principal, "principal", f->principal, strlen(f->principal), false);
    size_t alen = f->action ? strlen(f->action) : 0;
    if (alen > 1 && f->action[alen - 1] == '*')
        match_init(&q->action, "action", f->action, alen - 1, true);
    else if (alen && strcmp(f->action, "*"))
        match_init(&q->action, "action", f->action, alen, false);
}

static void query_free(struct query *q)
{
    match_free(&q->tenant);
    match_free(&q->principal);
    match_free(&q->action);
    ksm_buf_free(&q->sql);
    ksm_buf_free(&q->blk);
    if (q->fd >= 0)
        close(q->fd);
}

/* ---- choosing blocks ---- */

/* Parameters: ?1 before, ?2 since, ?3 until, ?4 tenant, ?5 principal, ?6 action (or prefix low),
 * ?7 prefix high. The most selective exact key drives the walk (its primary key, backwards: no
 * sort); the other keys are point lookups on the same primary key. */
static const int key_param[] = {0, 4, 5, 6};

static void key_exists(struct ksm_buf *sql, int kind, const struct match *m)
{
    if (m->prefix)
        ksm_buf_printf(sql, " AND EXISTS(SELECT 1 FROM blk_key x WHERE x.kind=%d AND x.val>=?6"
                            " AND x.val<?7 AND x.blk=b.id)", kind);
    else
        ksm_buf_printf(sql, " AND EXISTS(SELECT 1 FROM blk_key x WHERE x.kind=%d AND x.val=?%d"
                            " AND x.blk=b.id)", kind, key_param[kind]);
}

static void build_sql(struct query *q)
{
    const struct match *m[] = {NULL, &q->tenant, &q->principal, &q->action};
    int drive = 0;
    for (int k = KSM_AUDIT_KEY_TENANT; k <= KSM_AUDIT_KEY_ACTION && !drive; k++)
        if (m[k]->val.data && !m[k]->prefix)
            drive = k;
    struct ksm_buf *sql = &q->sql;
    ksm_buf_puts(sql, "SELECT b.seg, b.off, b.len FROM ");
    if (drive)
        ksm_buf_printf(sql, "blk_key k CROSS JOIN blk b ON b.id=k.blk WHERE k.kind=%d AND"
                            " k.val=?%d AND k.blk<?1", drive, key_param[drive]);
    else
        ksm_buf_puts(sql, "blk b WHERE b.id<?1");
    if (q->f->since_ms)
        ksm_buf_puts(sql, " AND b.t_max>=?2");
    if (q->f->until_ms)
        ksm_buf_puts(sql, " AND b.t_min<?3");
    for (int k = KSM_AUDIT_KEY_TENANT; k <= KSM_AUDIT_KEY_ACTION; k++)
        if (k != drive && m[k]->val.data)
            key_exists(sql, k, m[k]);
    ksm_buf_puts(sql, drive ? " ORDER BY k.blk DESC" : " ORDER BY b.id DESC");
}

static int bind_all(sqlite3_stmt *st, struct query *q, char **hi)
{
    sqlite3_bind_int64(st, 1, q->before > INT64_MAX ? INT64_MAX : (sqlite3_int64)q->before);
    sqlite3_bind_int64(st, 2, q->f->since_ms);
    sqlite3_bind_int64(st, 3, q->f->until_ms);
    const struct match *m[] = {&q->tenant, &q->principal, &q->action};
    for (int i = 0; i < 3; i++)
        if (m[i]->val.data &&
            sqlite3_bind_text(st, 4 + i, m[i]->val.data, -1, SQLITE_STATIC) != SQLITE_OK)
            return -1;
    if (q->action.prefix) {
        /* 0xff never occurs in UTF-8, so prefix+0xff sorts above every string with that prefix */
        *hi = ksm_xmalloc(q->action.val.len + 1);
        memcpy(*hi, q->action.val.data, q->action.val.len - 1);
        (*hi)[q->action.val.len - 1] = '\xff';
        (*hi)[q->action.val.len] = '\0';
        if (sqlite3_bind_text(st, 7, *hi, -1, SQLITE_STATIC) != SQLITE_OK)
            return -1;
    }
    return 0;
}

/* ---- filtering a block's lines ---- */

/* A record line starts {"seq":N, (checkpoints and seals start with "kind"); 0 for anything else. */
static uint64_t line_seq(const char *p, size_t n)
{
    static const char head[] = "{\"seq\":";
    size_t h = sizeof head - 1;
    uint64_t v = 0;
    if (n <= h || memcmp(p, head, h))
        return 0;
    for (size_t i = h; i < n && p[i] >= '0' && p[i] <= '9' && v < UINT64_MAX / 10; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

static bool field_ok(json_t *o, const struct match *m)
{
    if (!m->val.data)
        return true;
    const char *v = json_string_value(json_object_get(o, m->field));
    if (!v)
        return false;
    return m->prefix ? !strncmp(v, m->val.data, m->val.len - 1) : !strcmp(v, m->val.data);
}

static bool needles_ok(const struct query *q, const char *p, size_t n)
{
    const struct match *m[] = {&q->tenant, &q->principal, &q->action};
    for (int i = 0; i < 3; i++)
        if (m[i]->val.data && !memmem(p, n, m[i]->needle.data, m[i]->needle.len))
            return false;
    return true;
}

/* The exact test on one line; the parsed object when it matches (NULL otherwise). */
static json_t *line_match(const struct query *q, const char *p, size_t n)
{
    if (!needles_ok(q, p, n))
        return NULL;
    json_t *o = ksm_jscan_load(p, n);   /* the same tree, faster; jansson for what it refuses */
    if (!o)
        o = json_loadb(p, n, 0, NULL);
    int64_t t = 0;
    const struct ksm_audit_filter *f = q->f;
    if (!json_is_object(o) || !field_ok(o, &q->tenant) || !field_ok(o, &q->principal) ||
        !field_ok(o, &q->action))
        goto miss;
    if ((f->since_ms || f->until_ms) &&
        (ksm_parse_rfc3339(json_string_value(json_object_get(o, "time")), &t) ||
         (f->since_ms && t < f->since_ms) || (f->until_ms && t >= f->until_ms)))
        goto miss;
    return o;
miss:
    json_decref(o);
    return NULL;
}

static int read_block(struct query *q, const char *dir, int64_t seg, int64_t off, int64_t len)
{
    if (len <= 0 || len > QUERY_MAX_BLOCK || off < 0 || seg <= 0 || seg > 999999)
        return -1;
    if (q->fd_seg != seg) {
        char path[4096], name[KSM_AUDIT_SEG_NAME];
        if (q->fd >= 0)
            close(q->fd);
        ksm_audit_seg_name((uint32_t)seg, name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        q->fd = open(path, O_RDONLY | O_CLOEXEC);
        q->fd_seg = seg;
    }
    ksm_buf_reset(&q->blk);
    ksm_buf_reserve(&q->blk, (size_t)len);
    if (q->fd < 0 || pread(q->fd, q->blk.data, (size_t)len, (off_t)off) != (ssize_t)len)
        return -1;
    q->blk.len = (size_t)len;
    return 0;
}

/* Walks the block's lines from the last one back. Returns true once the page is full and one
 * more match has been seen (so there is a next page). */
static bool scan_block(struct query *q, json_t *records)
{
    const char *base = q->blk.data;
    size_t end = q->blk.len;
    while (end > 0) {
        size_t stop = end - (base[end - 1] == '\n');
        const char *nl = stop ? memrchr(base, '\n', stop) : NULL;
        size_t start = nl ? (size_t)(nl - base) + 1 : 0;
        uint64_t seq = line_seq(base + start, stop - start);
        json_t *o = seq && seq < q->before ? line_match(q, base + start, stop - start) : NULL;
        end = start;
        if (!o)
            continue;
        if (q->n == q->limit) {
            json_decref(o);
            q->more = true;
            return true;
        }
        json_array_append_new(records, o);
        q->n++;
        q->last = seq;
    }
    return false;
}

int ksm_audit_query(struct ksm_audit *a, const struct ksm_audit_filter *f, json_t *records,
                    char **next_cursor)
{
    struct query q;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *hi = NULL;
    char path[4096], err[256];
    int rc = -1, step;
    *next_cursor = NULL;
    query_init(&q, f);
    if (f->cursor && cursor_parse(f->cursor, &q.before))
        goto fail;
    build_sql(&q);
    snprintf(path, sizeof path, "%s/index.db", a->dir);
    if (ksm_audit_index_open_read(&db, path, err, sizeof err) ||
        sqlite3_prepare_v2(db, q.sql.data, -1, &st, NULL) != SQLITE_OK || bind_all(st, &q, &hi))
        goto fail;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        /* an unreadable block is skipped: the rest of the answer is still the log's own bytes */
        if (!read_block(&q, a->dir, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                        sqlite3_column_int64(st, 2)) &&
            scan_block(&q, records))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        goto fail;
    if (q.more) {
        char c[24];
        snprintf(c, sizeof c, "c%" PRIx64, q.last);
        *next_cursor = ksm_xstrdup(c);
    }
    rc = 0;
fail:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(hi);
    query_free(&q);
    return rc;
}

/* ---- counting by facet (ksm_audit_count) ---- */

struct count {
    struct query q;                /* the tenant's match, the block buffer and its file */
    struct ksm_audit *a;
    const char *prefix;
    void (*fn)(void *arg, const char *facet, int64_t n);
    void *arg;
    bool no_tenant;                /* the filter's tenant is "": the records without one */
    struct ksm_buf facet;
};

/* ?1 since, ?2 until, ?3 facet low, ?4 facet high, ?5 tenant. A block wholly inside the period
 * gives its counts; one that reaches past either end is read line by line. */
static const char count_inside_sql[] =
    "SELECT t.facet, sum(t.n) FROM blk b CROSS JOIN blk_tally t ON t.blk=b.id"
    " WHERE b.t_min>=?1 AND b.t_max<?2 AND t.facet>=?3 AND t.facet<?4 GROUP BY t.facet";
/* the same for one tenant: a seek to (block, tenant) in each block's rows */
static const char count_inside_tenant_sql[] =
    "SELECT t.facet, sum(t.n) FROM blk b CROSS JOIN blk_tally t ON t.blk=b.id"
    " WHERE b.t_min>=?1 AND b.t_max<?2 AND t.tenant=?5 AND t.facet>=?3 AND t.facet<?4"
    " GROUP BY t.facet";
static const char count_edges_sql[] =
    "SELECT b.seg, b.off, b.len FROM blk b WHERE b.t_max>=?1 AND b.t_min<?2"
    " AND NOT (b.t_min>=?1 AND b.t_max<?2)";

/* The records of one edge block inside the period (and of the tenant), one by one. */
static void count_block(struct count *c)
{
    const char *base = c->q.blk.data;
    size_t plen = strlen(c->prefix);
    for (size_t start = 0; start < c->q.blk.len;) {
        const char *nl = memchr(base + start, '\n', c->q.blk.len - start);
        size_t stop = nl ? (size_t)(nl - base) : c->q.blk.len;
        json_t *o = line_seq(base + start, stop - start) ? line_match(&c->q, base + start, stop - start)
                                                         : NULL;
        start = stop + 1;
        if (!o)
            continue;
        struct ksm_audit_rec rec;
        ksm_audit_rec_from_line(o, &rec);
        if (c->no_tenant && rec.tenant)
            goto next;
        ksm_buf_reset(&c->facet);
        if (c->a->opts.facet && c->a->opts.facet(&rec, &c->facet)) {
            ksm_buf_append(&c->facet, "", 1);
            if (!strncmp(c->facet.data, c->prefix, plen))
                c->fn(c->arg, c->facet.data, 1);
        }
next:
        json_decref(o);
    }
}

static int count_inside(struct count *c, sqlite3 *db, const char *hi)
{
    sqlite3_stmt *st = NULL;
    const struct ksm_audit_filter *f = c->q.f;
    int step = SQLITE_ERROR;
    bool one = f->tenant || c->no_tenant;
    if (sqlite3_prepare_v2(db, one ? count_inside_tenant_sql : count_inside_sql, -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, f->since_ms);
        sqlite3_bind_int64(st, 2, f->until_ms);
        sqlite3_bind_text(st, 3, c->prefix, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, hi, -1, SQLITE_STATIC);
        if (one)
            sqlite3_bind_text(st, 5, c->no_tenant ? "" : c->q.tenant.val.data, -1, SQLITE_STATIC);
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            c->fn(c->arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : -1;
}

static int count_edges(struct count *c, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(db, count_edges_sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, c->q.f->since_ms);
        sqlite3_bind_int64(st, 2, c->q.f->until_ms);
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            if (!read_block(&c->q, c->a->dir, sqlite3_column_int64(st, 0),
                            sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2)))
                count_block(c);
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : -1;
}

int ksm_audit_count(struct ksm_audit *a, const struct ksm_audit_filter *f, const char *prefix,
                    void (*fn)(void *arg, const char *facet, int64_t n), void *arg)
{
    struct ksm_audit_filter only = {.since_ms = f->since_ms, .until_ms = f->until_ms,
                                    .tenant = f->tenant && *f->tenant ? f->tenant : NULL};
    struct count c = {.a = a, .prefix = prefix, .fn = fn, .arg = arg,
                      .no_tenant = f->tenant && !*f->tenant};
    sqlite3 *db = NULL;
    char path[4096], err[256];
    size_t plen = strlen(prefix);
    int rc = -1;
    if (!plen || f->until_ms <= f->since_ms)
        return -1;
    query_init(&c.q, &only);
    /* the facets that start with prefix sort below prefix with its last byte raised */
    char *hi = ksm_xstrdup(prefix);
    hi[plen - 1]++;
    snprintf(path, sizeof path, "%s/index.db", a->dir);
    if (ksm_audit_index_open_read(&db, path, err, sizeof err))
        goto out;
    /* one snapshot: a block the indexer extends meanwhile is counted one way only */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
        !count_inside(&c, db, hi) && !count_edges(&c, db))
        rc = 0;
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out:
    sqlite3_close(db);
    free(hi);
    ksm_buf_free(&c.facet);
    query_free(&c.q);
    return rc;
}
