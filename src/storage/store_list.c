/* store_list.c — ListObjects: a range scan of the (bucket, key) primary key in binary order.
 * Keys under a prefix are [prefix, successor(prefix)). With a delimiter, the first key below a
 * common prefix yields the prefix, and the scan then seeks straight to successor(common prefix):
 * one index seek per common prefix, however many keys it rolls up, so listing a bucket of many
 * "directories" costs as many seeks as entries returned, never a scan of the bucket. */
#define _GNU_SOURCE /* memmem */
#include "storage/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define BOUND_MAX (KSM_STORE_KEY_MAX + 2)

/* The smallest byte string greater than every string starting with p[0..n): p with its last
 * byte below 0xFF incremented and the rest dropped. 0 when there is none (all 0xFF). */
static size_t successor(const char *p, size_t n, char *out)
{
    memcpy(out, p, n);
    while (n > 0 && (unsigned char)out[n - 1] == 0xFF)
        n--;
    if (n > 0)
        out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    return n;
}

struct lister {
    struct ksm_list_entry *out;
    size_t n, cap;
    int max;
};

static struct ksm_list_entry *entry_add(struct lister *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->out = ksm_xrealloc(l->out, l->cap * sizeof *l->out);
    }
    struct ksm_list_entry *e = &l->out[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* One seek: rows of bucket with lo <= key < hi (hi_n 0: no upper bound). */
static sqlite3_stmt *seek(struct ksm_db *db, const char *bucket, const char *lo, size_t lo_n,
                          const char *hi, size_t hi_n)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT key, size, etag, mtime FROM store_objects WHERE bucket=?1 AND key>=?2"
            " AND (?3 IS NULL OR key<?3) ORDER BY key");
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, lo, (int)lo_n, SQLITE_TRANSIENT);
    if (hi_n)
        sqlite3_bind_blob(st, 3, hi, (int)hi_n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    return st;
}

enum ksm_err ksm_store_list(struct ksm_db *db, const struct ksm_bucket *b, const char *prefix,
                            const char *delimiter, const char *after, int max_keys,
                            struct ksm_list_entry **out, size_t *n, bool *truncated)
{
    char lo[BOUND_MAX], hi[BOUND_MAX];
    struct lister l = {0};
    size_t pn = prefix ? strlen(prefix) : 0, dn = delimiter ? strlen(delimiter) : 0;
    size_t an = after ? strlen(after) : 0, lo_n, hi_n;
    enum ksm_err e = KSM_E_OK;
    *out = NULL;
    *n = 0;
    *truncated = false;
    if (pn > KSM_STORE_KEY_MAX || an > KSM_STORE_KEY_MAX)
        return KSM_E_INVALID_ARGUMENT;
    hi_n = pn ? successor(prefix, pn, hi) : 0;
    /* start at max(prefix, after + "\0"): keys hold no NUL, so after+"\0" is the next key up */
    lo_n = 0;
    if (pn)
        memcpy(lo, prefix, lo_n = pn);
    if (an && (memcmp(after, lo, an < lo_n ? an : lo_n) > 0 ||
               (memcmp(after, lo, an < lo_n ? an : lo_n) == 0 && an >= lo_n))) {
        memcpy(lo, after, an);
        lo[an] = '\0';
        lo_n = an + 1;
    }
    sqlite3_stmt *st = seek(db, b->id, lo, lo_n, hi, hi_n);
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            e = KSM_E_INTERNAL;
            break;
        }
        const char *k = sqlite3_column_blob(st, 0);
        size_t kn = (size_t)sqlite3_column_bytes(st, 0);
        if (!k || kn > KSM_STORE_KEY_MAX)
            continue;
        const char *d = NULL;
        if (dn && kn > pn)
            d = memmem(k + pn, kn - pn, delimiter, dn);
        if (!d) {
            if ((int)l.n >= max_keys) {   /* one more entry exists */
                *truncated = true;
                break;
            }
            struct ksm_list_entry *en = entry_add(&l);
            memcpy(en->key, k, kn);
            en->size = (uint64_t)sqlite3_column_int64(st, 1);
            snprintf(en->etag, sizeof en->etag, "%s", ksm_db_col_text(st, 2));
            en->mtime_ms = sqlite3_column_int64(st, 3);
            continue;
        }
        /* a common prefix: report it unless the marker is inside it, then skip all of it */
        size_t cn = (size_t)(d - k) + dn;
        bool skip = an && (memcmp(k, after, cn < an ? cn : an) < 0 ||
                           (memcmp(k, after, cn < an ? cn : an) == 0 && cn <= an));
        if (!skip && (int)l.n >= max_keys) {
            *truncated = true;
            break;
        }
        if (!skip) {
            struct ksm_list_entry *en = entry_add(&l);
            memcpy(en->key, k, cn);
            en->is_prefix = true;
        }
        lo_n = successor(k, cn, lo);
        if (!lo_n)
            break;   /* the prefix was all 0xFF bytes: nothing can follow it */
        st = seek(db, b->id, lo, lo_n, hi, hi_n);
    }
    sqlite3_reset(st);
    if (e != KSM_E_OK) {
        free(l.out);
        return e;
    }
    *out = l.out;
    *n = l.n;
    return KSM_E_OK;
}

/* ---- ListObjectVersions ---- */

/* The sequence of version vid of key (its place in the newest-first order); -1 when unknown. */
static int64_t version_seq(struct ksm_db *db, const char *bucket, const char *key, const char *vid)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT coalesce(seq, mtime * 1000) FROM store_objects WHERE bucket=?1 AND key=?2"
            " AND coalesce(version_id, 'null')=?3 UNION ALL SELECT seq FROM store_versions"
            " WHERE bucket=?1 AND key=?2 AND version_id=?3");
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 2, key);
    sqlite3_bind_text(st, 3, vid, -1, SQLITE_TRANSIENT);
    int64_t seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return seq;
}

static sqlite3_stmt *versions_seek(struct ksm_db *db, const char *bucket, const char *lo,
                                   size_t lo_n, const char *hi, size_t hi_n, const char *km,
                                   int64_t vseq, int limit)
{
    /* the current rows (newest of their key unless a delete marker came after) and the others,
     * merged in (key, newest first) order */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT key, vid, dm, size, etag, mtime, seq FROM ("
            " SELECT key, coalesce(version_id, 'null') AS vid, 0 AS dm, size, etag, mtime,"
            "  coalesce(seq, mtime * 1000) AS seq FROM store_objects WHERE bucket=?1"
            " UNION ALL SELECT key, version_id, delete_marker, size, etag, mtime, seq"
            "  FROM store_versions WHERE bucket=?1)"
            " WHERE key>=?2 AND (?3 IS NULL OR key<?3)"
            " AND (?4 IS NULL OR key>?4 OR (key=?4 AND ?5>=0 AND seq<?5))"
            " ORDER BY key, seq DESC LIMIT ?6");
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, lo, (int)lo_n, SQLITE_TRANSIENT);
    if (hi_n)
        sqlite3_bind_blob(st, 3, hi, (int)hi_n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    if (km)
        store_bind_key(st, 4, km);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, vseq);
    sqlite3_bind_int(st, 6, limit);
    return st;
}

static struct ksm_version_entry *ventry_add(struct ksm_version_entry **v, size_t *cnt)
{
    *v = ksm_xrealloc(*v, (*cnt + 1) * sizeof **v);
    struct ksm_version_entry *e = &(*v)[(*cnt)++];
    memset(e, 0, sizeof *e);
    return e;
}

enum ksm_err ksm_store_list_versions(struct ksm_db *db, const struct ksm_bucket *b,
                                     const char *prefix, const char *delimiter,
                                     const char *key_marker, const char *version_marker, int max,
                                     struct ksm_version_entry **out, size_t *n, bool *truncated)
{
    char hi[BOUND_MAX], lo[BOUND_MAX];
    size_t pn = prefix ? strlen(prefix) : 0, hn = pn ? successor(prefix, pn, hi) : 0, lo_n = pn;
    size_t dl = delimiter ? strlen(delimiter) : 0;
    const char *km = key_marker && *key_marker ? key_marker : NULL;
    int64_t vseq = km && version_marker && *version_marker
                       ? version_seq(db, b->id, km, version_marker) : -1;
    memcpy(lo, prefix ? prefix : "", pn);
    /* a marker that is a common prefix: the next page starts after everything under it */
    const char *d = km && dl && strlen(km) > pn ? strstr(km + pn, delimiter) : NULL;
    if (d && !d[dl]) {
        lo_n = successor(km, (size_t)(d - km) + dl, lo);
        km = NULL;
    }
    struct ksm_version_entry *v = NULL;
    size_t cnt = 0;
    int rc = SQLITE_DONE;
    /* after a version marker, the rest of its key are older than its latest, listed before */
    char prev[KSM_STORE_KEY_MAX + 1] = "";
    if (km && vseq >= 0)
        snprintf(prev, sizeof prev, "%s", km);
    *truncated = false;
    bool again = !(d && !d[dl] && lo_n == 0);   /* a prefix of all 0xFF has nothing above it */
    while (again) {
        again = false;
        sqlite3_stmt *st = versions_seek(db, b->id, lo, lo_n, hi, hn, km, vseq, max + 1);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if ((int)cnt == max) {
                *truncated = true;
                break;
            }
            int kn = sqlite3_column_bytes(st, 0);
            const char *key = sqlite3_column_blob(st, 0);
            kn = kn > KSM_STORE_KEY_MAX ? KSM_STORE_KEY_MAX : kn;
            const char *hit = dl && (size_t)kn > pn ? memmem(key + pn, (size_t)kn - pn, delimiter, dl)
                                                    : NULL;
            struct ksm_version_entry *e = ventry_add(&v, &cnt);
            if (hit) {   /* rolled up: one entry, then seek past everything under it */
                size_t cp = (size_t)(hit - key) + dl;
                memcpy(e->key, key, cp);
                e->is_prefix = true;
                lo_n = successor(key, cp, lo);
                km = NULL;
                again = lo_n > 0;
                break;
            }
            memcpy(e->key, key, (size_t)kn);
            snprintf(e->version_id, sizeof e->version_id, "%s", ksm_db_col_text(st, 1));
            e->delete_marker = sqlite3_column_int(st, 2);
            e->size = (uint64_t)sqlite3_column_int64(st, 3);
            snprintf(e->etag, sizeof e->etag, "%s", ksm_db_col_text(st, 4));
            e->mtime_ms = sqlite3_column_int64(st, 5);
            e->is_latest = strcmp(e->key, prev) != 0;
            snprintf(prev, sizeof prev, "%s", e->key);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            free(v);
            return KSM_E_INTERNAL;
        }
    }
    *out = v;
    *n = cnt;
    return KSM_E_OK;
}
