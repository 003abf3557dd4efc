/* store_gc.c — removing data that metadata no longer references.
 *
 * The reaper: overwrites and deletes commit their metadata first and only then hand the old data
 * here, so a crash in between leaves an unreferenced file (collected at the next start), never a
 * row without data. A thread of its own does the unlinks so that neither the loop nor the caller's
 * synchronous delete waits on the filesystem. Pack extents are not unlinked: their bytes are
 * counted dead in store_packs for a later compaction — by the pack writer itself, in its batch
 * transaction, for the objects its batches replace (store_packs_dead), and here, one transaction
 * per round, for the rest (deletes, large writes replacing small objects).
 *
 * Orphan collection at open: every temporary goes (an upload that never committed), and every
 * object file whose uid no object, segment or part row references (a crash between rename and
 * commit, or between commit and reaping). */
#include "storage/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dlist.h"
#include "core/log.h"
#include "core/util.h"

/* One reader's data files (the uids of its file segments, sorted), in the reaper's list. */
struct store_hold {
    struct store_hold *prev, *next;
    size_t n;
    uint8_t uid[][KSM_KMS_UID_LEN];
};

struct store_reap {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv, idle_cv;
    struct store_garbage q;
    struct store_garbage held;   /* files waiting for the readers that hold them */
    struct store_hold *holds;    /* the readers' holds: few at a time (one per open GET) */
    uint64_t gen;                /* bumped when data files are handed over; written under mu */
    bool stop, busy;
    struct ksm_db db;
    bool db_open;
};

static int pack_dead(struct ksm_db *db, const char *region, int64_t id, uint64_t bytes)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE store_packs SET dead=dead+?, live=live-?"
                                          " WHERE region=? AND id=?");
    sqlite3_bind_int64(st, 1, (int64_t)bytes);
    sqlite3_bind_int64(st, 2, (int64_t)bytes);
    sqlite3_bind_text(st, 3, region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Pack extents first, then by pack: each pack's freed bytes are summed into one update. */
static int seg_order(const void *pa, const void *pb)
{
    const struct store_seg *a = pa, *b = pb;
    if (a->loc != b->loc)
        return a->loc == STORE_LOC_PACK ? -1 : 1;
    int c = strcmp(a->region, b->region);
    if (c)
        return c;
    return (a->pack_id > b->pack_id) - (a->pack_id < b->pack_id);
}

int store_packs_dead(struct ksm_db *db, struct store_garbage *g)
{
    if (!g->n)
        return 0;
    qsort(g->segs, g->n, sizeof *g->segs, seg_order);
    size_t i = 0;
    while (i < g->n && g->segs[i].loc == STORE_LOC_PACK) {
        const struct store_seg *first = &g->segs[i];
        uint64_t bytes = 0;
        for (; i < g->n && !seg_order(first, &g->segs[i]); i++)
            bytes += g->segs[i].pack_len;
        if (pack_dead(db, first->region, first->pack_id, bytes))
            return -1;
    }
    memmove(g->segs, g->segs + i, (g->n - i) * sizeof *g->segs);   /* the files stay */
    g->n -= i;
    return 0;
}

/* Extents freed by deletes and by writes that did not go through the pack writer (which counts
 * its own in its batch transaction): a round's are counted in one transaction, one WAL fsync per
 * round instead of one per extent. */
static void packs_dead(struct store_reap *r, struct store_garbage *b)
{
    if (!r->db_open || !b->n)
        return;
    if (store_begin(&r->db) == 0 && store_packs_dead(&r->db, b) == 0 &&
        store_commit(&r->db) == KSM_E_OK)
        return;
    ksm_warn("store: pack accounting: %s", sqlite3_errmsg(r->db.h));
    ksm_db_rollback(&r->db);
}

static void reap_file(struct ksm_store *s, const struct store_seg *g)
{
    char path[700];
    store_data_path(s, g->region, g->uid, path, sizeof path);
    /* a file already gone is fine: orphan collection or an earlier attempt took it */
    if (unlink(path) && errno != ENOENT)
        ksm_warn("store: cannot remove %s: %s", path, strerror(errno));
}

/* ---- readers' holds ---- */

static int uid_cmp(const void *a, const void *b) { return memcmp(a, b, KSM_KMS_UID_LEN); }

static bool held(const struct store_reap *r, const uint8_t *uid)
{
    for (const struct store_hold *h = r->holds; h; h = h->next)
        if (bsearch(uid, h->uid, h->n, KSM_KMS_UID_LEN, uid_cmp))
            return true;
    return false;
}

uint64_t store_reap_gen(struct ksm_store *s) { return __atomic_load_n(&s->reap->gen, __ATOMIC_ACQUIRE); }

bool store_reap_hold(struct ksm_store *s, uint64_t gen, const struct store_seg *segs, size_t n,
                     struct store_hold **out)
{
    struct store_reap *r = s->reap;
    size_t files = 0;
    for (size_t i = 0; i < n; i++)
        files += segs[i].loc != STORE_LOC_PACK;
    *out = NULL;
    if (!files)
        return true;   /* pack extents are not unlinked: the pack pins guard them */
    /* made before the lock: a multipart object may have thousands of parts */
    struct store_hold *h = ksm_xmalloc(sizeof *h + files * KSM_KMS_UID_LEN);
    h->n = 0;
    for (size_t i = 0; i < n; i++)
        if (segs[i].loc != STORE_LOC_PACK)
            memcpy(h->uid[h->n++], segs[i].uid, KSM_KMS_UID_LEN);
    qsort(h->uid, h->n, KSM_KMS_UID_LEN, uid_cmp);
    pthread_mutex_lock(&r->mu);
    bool same = r->gen == gen;
    if (same)
        KSM_DLIST_PUSH(r->holds, h, prev, next);
    pthread_mutex_unlock(&r->mu);
    if (same)
        *out = h;
    else
        free(h);
    return same;
}

void store_reap_release(struct ksm_store *s, struct store_hold *h)
{
    if (!h)
        return;
    struct store_reap *r = s->reap;
    pthread_mutex_lock(&r->mu);
    KSM_DLIST_REMOVE(r->holds, h, prev, next);
    if (r->held.n) {   /* what waited may be free now: the reaper looks again */
        for (size_t i = 0; i < r->held.n; i++)
            store_garbage_add(&r->q, &r->held.segs[i]);
        r->held.n = 0;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    free(h);
}

/* Under mu: moves the files of batch that a reader holds to r->held; the rest are unlinked. */
static void keep_held(struct store_reap *r, struct store_garbage *batch)
{
    size_t k = 0;
    for (size_t i = 0; i < batch->n; i++) {
        if (batch->segs[i].loc != STORE_LOC_PACK && held(r, batch->segs[i].uid))
            store_garbage_add(&r->held, &batch->segs[i]);
        else
            batch->segs[k++] = batch->segs[i];
    }
    batch->n = k;
}

static void *reap_main(void *arg)
{
    struct ksm_store *s = arg;
    ksm_thread_name("ksm-reaper");
    struct store_reap *r = s->reap;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->q.n && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (!r->q.n && r->stop)
            break;
        struct store_garbage batch = r->q;
        memset(&r->q, 0, sizeof r->q);
        r->busy = true;
        pthread_mutex_unlock(&r->mu);
        packs_dead(r, &batch);
        pthread_mutex_lock(&r->mu);
        keep_held(r, &batch);
        pthread_mutex_unlock(&r->mu);
        for (size_t i = 0; i < batch.n; i++)
            if (batch.segs[i].loc != STORE_LOC_PACK)   /* left when accounting failed */
                reap_file(s, &batch.segs[i]);
        store_garbage_free(&batch);
        pthread_mutex_lock(&r->mu);
        r->busy = false;
        pthread_cond_broadcast(&r->idle_cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int store_reap_start(struct ksm_store *s)
{
    struct store_reap *r = ksm_xcalloc(1, sizeof *r);
    char err[256];
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_cond_init(&r->idle_cv, NULL);
    r->db_open = ksm_db_open(&r->db, s->o.db_path, err, sizeof err) == 0;
    if (!r->db_open)
        ksm_warn("store: reaper without db (pack accounting off): %s", err);
    s->reap = r;
    if (pthread_create(&r->th, NULL, reap_main, s)) {
        if (r->db_open)
            ksm_db_close(&r->db);
        free(r);
        s->reap = NULL;
        return -1;
    }
    return 0;
}

void store_reap_stop(struct ksm_store *s)
{
    struct store_reap *r = s->reap;
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    if (r->db_open)
        ksm_db_close(&r->db);
    store_garbage_free(&r->q);
    store_garbage_free(&r->held);   /* no reader is left: the next open's orphan collection */
    pthread_cond_destroy(&r->cv);
    pthread_cond_destroy(&r->idle_cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    s->reap = NULL;
}

void store_reap(struct ksm_store *s, struct store_garbage *g)
{
    struct store_reap *r = s->reap;
    if (!g->n)
        goto done;
    bool files = false;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < g->n; i++) {
        store_garbage_add(&r->q, &g->segs[i]);
        files |= g->segs[i].loc != STORE_LOC_PACK;
    }
    /* a reader between its metadata and its hold reads again; only files are unlinked, so pack
     * extents (every small overwrite) send nobody back */
    if (files)
        __atomic_store_n(&r->gen, r->gen + 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
done:
    store_garbage_free(g);
}

void ksm_store_sync(struct ksm_store *s)
{
    struct store_reap *r = s->reap;
    pthread_mutex_lock(&r->mu);
    while (r->q.n || r->busy)
        pthread_cond_wait(&r->idle_cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

/* ---- orphans ---- */

static int remove_all(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *de;
    char p[800];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p)
            continue;
        if (unlink(p) && errno != ENOENT)
            ksm_warn("store: cannot remove %s: %s", p, strerror(errno));
    }
    closedir(d);
    return 0;
}

/* One leaf directory objects/ab/cd: files named by a uid's hex. */
static void collect_leaf(struct ksm_db *db, const char *dir, int *removed)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char p[800];
    uint8_t uid[KSM_KMS_UID_LEN];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (strlen(de->d_name) != 2 * KSM_KMS_UID_LEN ||
            ksm_unhex(de->d_name, 2 * KSM_KMS_UID_LEN, uid))
            continue;   /* not ours: leave it for the operator */
        if (store_meta_uid_used(db, uid))
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p)
            continue;
        if (unlink(p) == 0)
            (*removed)++;
    }
    closedir(d);
}

static void collect_level(struct ksm_db *db, const char *dir, int depth, int *removed)
{
    if (depth == 2) {
        collect_leaf(db, dir, removed);
        return;
    }
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char p[800];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strlen(de->d_name) != 2)
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p)
            continue;
        collect_level(db, p, depth + 1, removed);
    }
    closedir(d);
}

int store_orphans_collect(struct ksm_store *s, char *err, size_t errlen)
{
    struct ksm_db db;
    if (ksm_db_open(&db, s->o.db_path, err, errlen))
        return -1;
    char p[700];
    int removed = 0;
    for (int i = 0; i < s->o.nregions; i++) {
        snprintf(p, sizeof p, "%s/tmp", s->o.regions[i].path);
        remove_all(p);
        snprintf(p, sizeof p, "%s/objects", s->o.regions[i].path);
        collect_level(&db, p, 0, &removed);
    }
    ksm_db_close(&db);
    if (removed)
        ksm_info("store: collected %d orphaned data files", removed);
    return 0;
}
