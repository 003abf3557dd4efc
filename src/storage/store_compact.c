/* store_compact.c — pack compaction: the disk space of deleted and overwritten small objects comes
 * back without the operator doing anything.
 *
 * A thread per store looks, every compact_interval_ms, at each region's packs and picks those whose
 * referenced ("live") bytes are below compact_live_pct of the file. The pack a writer appends to
 * is first closed (store_pack_seal; the next batch starts a new one), once it has reached 1 MiB:
 * otherwise a node that never restarts would wait for the 1 GiB rotation. For each, the referenced extents (partial indexes on
 * (region, pack_id, pack_off)) are read from the old file still sealed — a chunk's nonce and tag
 * are bound to the object's uid and data key, not to where it lies (docs/encryption.md), so
 * nothing is decrypted — and handed to the region's pack writer as move jobs, 1 MiB at a time:
 * appended to the open pack and fdatasynced like puts, then, in the writer's batch transaction,
 * each row is pointed at its copy if it still points at the old place. A delete or overwrite that
 * committed meanwhile wins: the row is gone or new, the copy is dead from the start, nothing comes
 * back. When all extents have moved, one transaction checks that no row references the old pack
 * and deletes its store_packs row; the pack is then retired and its file unlinked once no read
 * holds it.
 *
 * Crash safety: until a row switches, the old place is referenced and intact; after, the copy is,
 * fdatasynced before the switch. The old file goes only once nothing references it. A crash leaves
 * at most copies no row references in the new pack (dead bytes, reclaimed when that pack is
 * compacted in turn) and an old pack that no row references, which store_packs_collect removes at
 * the next open.
 *
 * Reads: a GET snapshots its segments at open and opens the file later, maybe much later (a paused
 * multipart read reaching a last part that lives in a pack). So a GET pins the packs its segments
 * lie in until it is freed, and a retired pack is unlinked only when unpinned. The pin is taken
 * after the metadata is read, and a retirement in between would be missed: each retirement bumps
 * a generation, and a GET that finds it changed since before its read reads the metadata again
 * (which now points at the copy) — a seqlock in effect. The mutex is taken only by GETs of
 * objects that live in packs, twice per GET. */
#include "storage/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

#define MOVE_GROUP (1u << 20)   /* bytes copied per writer batch: bounds what puts wait behind */
#define DEFAULT_INTERVAL_MS 60000
#define SEAL_MIN (1u << 20)     /* the open pack is closed for compaction from this size on */

struct pin {
    char region[16];
    int64_t id;
    int n;
};

/* A pack whose rows are gone, its file waiting for the last read that pinned it. */
struct retired {
    char region[16];
    int64_t id;
    uint64_t size;      /* the old file */
    uint64_t copied;    /* what its extents took in the open pack, headers included */
    size_t extents;
};

struct store_compact {
    struct ksm_store *s;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* the thread: interval, kick, a retired pack unpinned, stop */
    pthread_cond_t done_cv;   /* move jobs done; passes done (compact_now) */
    bool stop, kick, running;
    uint64_t gen;             /* bumped at each retirement; written under mu */
    struct pin *pins;
    size_t npins, pincap;
    struct retired *ret;
    size_t nret, retcap;
    size_t moves_pending;
    struct ksm_store_compact_stats st;
    struct ksm_db db;         /* the thread's own connection */
};

/* ---- pins (any thread, under mu) ---- */

static struct pin *pin_find(struct store_compact *c, const char *region, int64_t id)
{
    for (size_t i = 0; i < c->npins; i++)
        if (c->pins[i].id == id && !strcmp(c->pins[i].region, region))
            return &c->pins[i];
    return NULL;
}

static void pin_add(struct store_compact *c, const struct store_seg *g)
{
    struct pin *p = pin_find(c, g->region, g->pack_id);
    if (!p) {
        if (c->npins == c->pincap) {
            c->pincap = c->pincap ? 2 * c->pincap : 16;
            c->pins = ksm_xrealloc(c->pins, c->pincap * sizeof *c->pins);
        }
        p = &c->pins[c->npins++];
        snprintf(p->region, sizeof p->region, "%s", g->region);
        p->id = g->pack_id;
        p->n = 0;
    }
    p->n++;
}

static bool retired_has(struct store_compact *c, const char *region, int64_t id)
{
    for (size_t i = 0; i < c->nret; i++)
        if (c->ret[i].id == id && !strcmp(c->ret[i].region, region))
            return true;
    return false;
}

static void pin_drop(struct store_compact *c, const struct store_seg *g)
{
    struct pin *p = pin_find(c, g->region, g->pack_id);
    if (!p || --p->n > 0)
        return;
    *p = c->pins[--c->npins];
    if (retired_has(c, g->region, g->pack_id))
        pthread_cond_signal(&c->cv);   /* its last reader is done: the file can go */
}

static bool in_pack(const struct store_seg *segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (segs[i].loc == STORE_LOC_PACK)
            return true;
    return false;
}

enum ksm_err store_segments_open(struct ksm_store *s, struct ksm_db *db, const char *bucket,
                                 const char *key, const char *vid, struct ksm_obj_meta *meta,
                                 struct store_seg **segs, size_t *n, struct store_hold **hold)
{
    struct store_compact *c = s->compact;
    for (;;) {
        uint64_t gen = c ? __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) : 0;
        uint64_t reaped = store_reap_gen(s);
        enum ksm_err e = store_meta_obj_segments(db, bucket, key, vid, meta, segs, n);
        if (e != KSM_E_OK)
            return e;
        bool same = store_reap_hold(s, reaped, *segs, *n, hold);
        if (same && c && in_pack(*segs, *n)) {
            pthread_mutex_lock(&c->mu);
            same = __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) == gen;
            for (size_t i = 0; same && i < *n; i++)
                if ((*segs)[i].loc == STORE_LOC_PACK)
                    pin_add(c, &(*segs)[i]);
            pthread_mutex_unlock(&c->mu);
            if (!same)
                store_reap_release(s, *hold);
        }
        if (same)
            return KSM_E_OK;
        /* files were reaped or a pack retired while we read: the metadata has moved on */
        *hold = NULL;
        free(*segs);
        *segs = NULL;
        *n = 0;
        ksm_obj_meta_free(meta);
    }
}

void store_segments_close(struct ksm_store *s, const struct store_seg *segs, size_t n,
                          struct store_hold *hold)
{
    store_reap_release(s, hold);
    struct store_compact *c = s->compact;
    if (!c || !segs || !in_pack(segs, n))
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++)
        if (segs[i].loc == STORE_LOC_PACK)
            pin_drop(c, &segs[i]);
    pthread_mutex_unlock(&c->mu);
}

/* ---- moving one pack's live extents ---- */

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void move_done(struct store_pack_job *j)
{
    struct store_compact *c = j->arg;
    pthread_mutex_lock(&c->mu);
    if (--c->moves_pending == 0)
        pthread_cond_broadcast(&c->done_cv);
    pthread_mutex_unlock(&c->mu);
}

/* Reads one extent with its record header, which must say what the row says. */
static enum ksm_err extent_read(struct store_compact *c, int fd, const char *region, int64_t id,
                                const struct store_extent *x, struct store_pack_job *j)
{
    uint8_t hdr[STORE_PACK_HDR];
    if (x->off < STORE_PACK_HDR || x->len > (64u << 20) ||
        store_pread_all(fd, hdr, sizeof hdr, x->off - STORE_PACK_HDR) ||
        memcmp(hdr, STORE_PACK_MAGIC, 4) || memcmp(hdr + 4, x->uid, KSM_KMS_UID_LEN) ||
        get_le64(hdr + 4 + KSM_KMS_UID_LEN) != x->len)
        return KSM_E_DATA_CORRUPT;
    j->ct = ksm_xmalloc(x->len ? x->len : 1);
    if (x->len && store_pread_all(fd, j->ct, x->len, x->off))
        return KSM_E_DATA_CORRUPT;
    j->ct_len = x->len;
    snprintf(j->seg.region, sizeof j->seg.region, "%s", region);
    memcpy(j->seg.uid, x->uid, KSM_KMS_UID_LEN);
    j->seg.loc = STORE_LOC_PACK;
    j->from_id = id;
    j->from_off = x->off;
    j->done = move_done;
    j->arg = c;
    return KSM_E_OK;
}

/* Copies n extents through the region's writer and waits until their rows are switched (or found
 * deleted). *copied: bytes appended to the open pack; *moved: rows now pointing there. */
static enum ksm_err move_group(struct store_compact *c, int fd, const char *region, int64_t id,
                               const struct store_extent *x, size_t n, uint64_t *copied,
                               size_t *moved)
{
    struct store_pack_job *jobs = ksm_xcalloc(n, sizeof *jobs);
    enum ksm_err e = KSM_E_OK;
    for (size_t i = 0; i < n && e == KSM_E_OK; i++)
        e = extent_read(c, fd, region, id, &x[i], &jobs[i]);
    if (e == KSM_E_OK) {
        pthread_mutex_lock(&c->mu);
        c->moves_pending = n;
        pthread_mutex_unlock(&c->mu);
        for (size_t i = 0; i < n; i++)
            store_pack_submit(c->s, &jobs[i]);
        pthread_mutex_lock(&c->mu);
        while (c->moves_pending)
            pthread_cond_wait(&c->done_cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
    }
    for (size_t i = 0; i < n && e == KSM_E_OK; i++) {
        e = jobs[i].result;
        *copied += STORE_PACK_HDR + jobs[i].ct_len;   /* written, even if deleted meanwhile */
        *moved += jobs[i].moved;
    }
    for (size_t i = 0; i < n; i++)
        free(jobs[i].ct);
    free(jobs);
    return e;
}

static bool stopping(struct store_compact *c)
{
    pthread_mutex_lock(&c->mu);
    bool stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

static bool hook_stops(struct store_compact *c, enum ksm_store_compact_step step)
{
    const struct ksm_store_opts *o = &c->s->o;
    return o->compact_hook && o->compact_hook(o->compact_hook_arg, step);
}

/* The last step in the database: nothing may reference the pack any more. */
static enum ksm_err pack_row_drop(struct store_compact *c, const char *region, int64_t id)
{
    if (store_begin(&c->db))
        return KSM_E_INTERNAL;
    if (store_meta_pack_used(&c->db, region, id)) {
        ksm_db_rollback(&c->db);
        return KSM_E_CONFLICT;
    }
    sqlite3_stmt *st = ksm_db_prepare(&c->db, "DELETE FROM store_packs WHERE region=? AND id=?");
    sqlite3_bind_text(st, 1, region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        ksm_db_rollback(&c->db);
        return KSM_E_INTERNAL;
    }
    return store_commit(&c->db);
}

static void retire(struct store_compact *c, const struct retired *r)
{
    pthread_mutex_lock(&c->mu);
    if (c->nret == c->retcap) {
        c->retcap = c->retcap ? 2 * c->retcap : 8;
        c->ret = ksm_xrealloc(c->ret, c->retcap * sizeof *c->ret);
    }
    c->ret[c->nret++] = *r;
    c->st.packs_waiting = c->nret;
    /* after the rows switched, before any unlink: a GET pinning later reads the rows again */
    __atomic_add_fetch(&c->gen, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&c->mu);
}

/* Moves every live extent of the pack, drops its row and retires it. false: it stays as it was
 * (an error, a stop, or the test hook playing a crash). */
static bool compact_one(struct store_compact *c, const char *region, int64_t id, uint64_t size)
{
    struct retired r = {.id = id, .size = size};
    snprintf(r.region, sizeof r.region, "%s", region);
    struct store_extent *x = NULL;
    size_t n = 0;
    int fd = -1;
    char path[700];
    store_pack_path(c->s, region, id, path, sizeof path);
    enum ksm_err e = store_meta_pack_extents(&c->db, region, id, &x, &n);
    if (e == KSM_E_OK && n && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        e = KSM_E_DATA_CORRUPT;
    for (size_t i = 0; e == KSM_E_OK && i < n && !stopping(c);) {
        size_t k = i;
        for (uint64_t bytes = 0; k < n && (k == i || bytes + x[k].len <= MOVE_GROUP); k++)
            bytes += x[k].len;
        e = move_group(c, fd, region, id, x + i, k - i, &r.copied, &r.extents);
        i = k;
    }
    if (fd >= 0)
        close(fd);
    free(x);
    if (e == KSM_E_OK && (stopping(c) || hook_stops(c, KSM_STORE_COMPACT_SWITCHED)))
        return false;
    if (e == KSM_E_OK)
        e = pack_row_drop(c, region, id);
    if (e != KSM_E_OK) {
        ksm_warn("store: compaction of pack %s/%08lld given up: %s", region, (long long)id,
                 ksm_err_code(e));
        pthread_mutex_lock(&c->mu);
        c->st.errors++;
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    if (hook_stops(c, KSM_STORE_COMPACT_RETIRED))
        return false;
    retire(c, &r);
    return true;
}

/* ---- removing retired packs ---- */

static void retired_unlink(struct store_compact *c, const struct retired *r)
{
    char path[700];
    store_pack_path(c->s, r->region, r->id, path, sizeof path);
    if (unlink(path) && errno != ENOENT) {
        /* no row references it: the next open collects it */
        ksm_warn("store: cannot remove %s: %s", path, strerror(errno));
        return;
    }
    uint64_t reclaimed = r->size > r->copied ? r->size - r->copied : 0;
    ksm_info("store: compacted pack %s/%08lld: %llu bytes reclaimed (file of %llu bytes, %zu live"
             " objects moved, %llu bytes)", r->region, (long long)r->id,
             (unsigned long long)reclaimed, (unsigned long long)r->size, r->extents,
             (unsigned long long)r->copied);
    pthread_mutex_lock(&c->mu);
    c->st.packs_compacted++;
    c->st.bytes_reclaimed += reclaimed;
    c->st.bytes_moved += r->copied;
    c->st.extents_moved += r->extents;
    pthread_mutex_unlock(&c->mu);
}

/* Under mu. */
static bool unlink_ready(struct store_compact *c)
{
    for (size_t i = 0; i < c->nret; i++)
        if (!pin_find(c, c->ret[i].region, c->ret[i].id))
            return true;
    return false;
}

/* Unlinks every retired pack no read holds. No new pin can come: a GET that read the rows before
 * the retirement finds the generation changed and reads them again. */
static void retired_remove(struct store_compact *c)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nret;) {
        if (pin_find(c, c->ret[i].region, c->ret[i].id)) {
            i++;
            continue;
        }
        struct retired r = c->ret[i];
        c->ret[i] = c->ret[--c->nret];   /* only this thread changes the list */
        pthread_mutex_unlock(&c->mu);
        retired_unlink(c, &r);
        pthread_mutex_lock(&c->mu);
    }
    c->st.packs_waiting = c->nret;
    pthread_mutex_unlock(&c->mu);
}

/* ---- a pass ---- */

struct pack_row {
    int64_t id, live;
};

static size_t pack_rows(struct store_compact *c, const char *region, struct pack_row **out)
{
    sqlite3_stmt *st = ksm_db_prepare(&c->db, "SELECT id, live FROM store_packs WHERE region=?"
                                              " ORDER BY id");
    sqlite3_bind_text(st, 1, region, -1, SQLITE_TRANSIENT);
    size_t n = 0, cap = 0;
    *out = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            *out = ksm_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[n++] = (struct pack_row){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
    }
    sqlite3_reset(st);
    return n;
}

/* Below the threshold, and closed: the open pack is closed first when it has grown to SEAL_MIN,
 * so a node that runs for months without reaching the 1 GiB rotation still gets space back. */
static bool worth_it(struct store_compact *c, const char *region, const struct pack_row *p,
                     uint64_t size)
{
    pthread_mutex_lock(&c->mu);
    bool waiting = retired_has(c, region, p->id);
    pthread_mutex_unlock(&c->mu);
    uint64_t live = p->live > 0 ? (uint64_t)p->live : 0;
    if (waiting || live * 100 >= (uint64_t)c->s->o.compact_live_pct * size)
        return false;
    if (p->id != store_pack_open_id(c->s, region))
        return true;
    return size >= SEAL_MIN && store_pack_seal(c->s, region, p->id);
}

static void region_pass(struct store_compact *c, const char *region)
{
    struct pack_row *v;
    size_t n = pack_rows(c, region, &v);
    for (size_t i = 0; i < n && !stopping(c); i++) {
        char path[700];
        struct stat sb;
        store_pack_path(c->s, region, v[i].id, path, sizeof path);
        if (stat(path, &sb) == 0 && worth_it(c, region, &v[i], (uint64_t)sb.st_size))
            compact_one(c, region, v[i].id, (uint64_t)sb.st_size);
    }
    free(v);
}

/* The pack files on disk now, and the bytes rows reference. */
static void gauges(struct store_compact *c)
{
    uint64_t files = 0, bytes = 0, live = 0;
    for (int i = 0; i < c->s->o.nregions; i++) {
        char dir[600], p[900];
        snprintf(dir, sizeof dir, "%s/packs", c->s->o.regions[i].path);
        DIR *d = opendir(dir);
        struct dirent *de;
        struct stat sb;
        while (d && (de = readdir(d))) {
            size_t l = strlen(de->d_name);
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (l > 5 && !strcmp(de->d_name + l - 5, ".pack") && stat(p, &sb) == 0)
                files++, bytes += (uint64_t)sb.st_size;
        }
        if (d)
            closedir(d);
    }
    sqlite3_stmt *st = ksm_db_prepare(&c->db, "SELECT coalesce(sum(max(live, 0)), 0) FROM store_packs");
    if (sqlite3_step(st) == SQLITE_ROW)
        live = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    pthread_mutex_lock(&c->mu);
    c->st.pack_files = files;
    c->st.pack_bytes = bytes;
    c->st.pack_live_bytes = live;
    pthread_mutex_unlock(&c->mu);
}

static void pass(struct store_compact *c)
{
    for (int i = 0; i < c->s->o.nregions && !stopping(c); i++)
        if (store_pack_enabled(c->s, c->s->o.regions[i].name))
            region_pass(c, c->s->o.regions[i].name);
    retired_remove(c);
    gauges(c);
}

static void *compact_main(void *arg)
{
    struct store_compact *c = arg;
    ksm_thread_name("ksm-compact");
    int interval = c->s->o.compact_interval_ms > 0 ? c->s->o.compact_interval_ms : DEFAULT_INTERVAL_MS;
    struct timespec next = ksm_deadline_ns(CLOCK_MONOTONIC, (uint64_t)interval * 1000000u);
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        int rc = 0;
        while (!c->stop && !c->kick && !unlink_ready(c) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&c->cv, &c->mu, &next);
        if (c->stop)
            break;
        bool due = c->kick || rc == ETIMEDOUT;
        c->kick = false;
        c->running = due;
        pthread_mutex_unlock(&c->mu);
        if (due) {
            pass(c);
            next = ksm_deadline_ns(CLOCK_MONOTONIC, (uint64_t)interval * 1000000u);
        } else {
            retired_remove(c);
        }
        pthread_mutex_lock(&c->mu);
        if (due) {
            c->st.passes++;
            c->running = false;
            pthread_cond_broadcast(&c->done_cv);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- start, stop, asking ---- */

static void compact_free(struct store_compact *c)
{
    if (c->db.h)
        ksm_db_close(&c->db);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->done_cv);
    pthread_mutex_destroy(&c->mu);
    free(c->pins);
    free(c->ret);
    free(c);
}

int store_compact_start(struct ksm_store *s, char *err, size_t errlen)
{
    if (!s->o.small_max || s->o.compact_live_pct <= 0)
        return 0;
    struct store_compact *c = ksm_xcalloc(1, sizeof *c);
    pthread_condattr_t ca;
    c->s = s;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&c->done_cv, NULL);
    if (ksm_db_open(&c->db, s->o.db_path, err, errlen)) {
        compact_free(c);
        return -1;
    }
    s->compact = c;
    if (pthread_create(&c->th, NULL, compact_main, c)) {
        s->compact = NULL;
        compact_free(c);
        snprintf(err, errlen, "store: cannot start the compactor");
        return -1;
    }
    return 0;
}

void store_compact_stop(struct ksm_store *s)
{
    struct store_compact *c = s->compact;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_cond_broadcast(&c->done_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    /* retired packs still pinned stay on disk: no row references them, the next open removes them */
    s->compact = NULL;
    compact_free(c);
}

void ksm_store_compact_now(struct ksm_store *s)
{
    struct store_compact *c = s->compact;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    uint64_t want = c->st.passes + (c->running ? 2 : 1);   /* a whole pass that began after now */
    c->kick = true;
    pthread_cond_signal(&c->cv);
    while (!c->stop && c->st.passes < want)
        pthread_cond_wait(&c->done_cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

void ksm_store_compact_stats(struct ksm_store *s, struct ksm_store_compact_stats *out)
{
    struct store_compact *c = s->compact;
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
}

void ksm_store_metrics(struct ksm_buf *out, void *store)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } m[] = {
#define M(n, t, h, f) {"kasumi_store_" n, t, h, offsetof(struct ksm_store_compact_stats, f)}
        M("compaction_passes_total", "counter", "Compaction passes over the pack files.", passes),
        M("compacted_packs_total", "counter", "Pack files removed after their live objects moved.",
          packs_compacted),
        M("compaction_reclaimed_bytes_total", "counter",
          "Disk bytes given back by compaction (removed less copied).", bytes_reclaimed),
        M("compaction_moved_bytes_total", "counter", "Bytes of live objects copied by compaction.",
          bytes_moved),
        M("compaction_moved_objects_total", "counter", "Live objects copied by compaction.",
          extents_moved),
        M("compaction_errors_total", "counter", "Compactions given up (the pack stays as it was).",
          errors),
        M("compaction_waiting_packs", "gauge", "Compacted packs kept until a read using them ends.",
          packs_waiting),
        M("pack_files", "gauge", "Pack files on disk at the last compaction pass.", pack_files),
        M("pack_bytes", "gauge", "Bytes of pack files on disk at the last compaction pass.",
          pack_bytes),
        M("pack_live_bytes", "gauge", "Bytes of pack files still referenced at the last pass.",
          pack_live_bytes),
#undef M
    };
    struct ksm_store_compact_stats st;
    ksm_store_compact_stats(store, &st);
    for (size_t i = 0; i < KSM_NELEM(m); i++)
        ksm_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m[i].name, m[i].help,
                       m[i].name, m[i].type, m[i].name,
                       (unsigned long long)*(const uint64_t *)((const char *)&st + m[i].off));
}

/* ---- at open ---- */

static bool pack_name(const char *name, int64_t *id)
{
    long long v;
    char tail[8];
    if (sscanf(name, "%lld.%7s", &v, tail) != 2 || strcmp(tail, "pack") || v <= 0)
        return false;
    *id = v;
    return true;
}

/* Two regions on one directory would see each other's packs as unreferenced. */
static bool dir_shared(const struct ksm_store *s, int r)
{
    struct stat a, b;
    if (stat(s->o.regions[r].path, &a))
        return true;
    for (int i = 0; i < s->o.nregions; i++)
        if (i != r && stat(s->o.regions[i].path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return true;
    return false;
}

static void region_collect(struct ksm_store *s, struct ksm_db *db, int r, int *n, uint64_t *bytes)
{
    const char *region = s->o.regions[r].name;
    char dir[600], p[900];
    snprintf(dir, sizeof dir, "%s/packs", s->o.regions[r].path);
    DIR *d = opendir(dir);
    struct dirent *de;
    int64_t id;
    struct stat sb;
    while (d && (de = readdir(d))) {
        if (!pack_name(de->d_name, &id) || store_meta_pack_used(db, region, id))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &sb) || unlink(p))
            continue;
        (*n)++;
        *bytes += (uint64_t)sb.st_size;
        sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM store_packs WHERE region=? AND id=?");
        sqlite3_bind_text(st, 1, region, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    if (d)
        closedir(d);
}

int store_packs_collect(struct ksm_store *s, char *err, size_t errlen)
{
    struct ksm_db db;
    if (ksm_db_open(&db, s->o.db_path, err, errlen))
        return -1;
    int n = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < s->o.nregions; i++) {
        if (dir_shared(s, i))
            ksm_warn("store: region %s shares its directory: unreferenced packs kept",
                     s->o.regions[i].name);
        else
            region_collect(s, &db, i, &n, &bytes);
    }
    ksm_db_close(&db);
    if (n)
        ksm_info("store: removed %d unreferenced pack files (%llu bytes)", n,
                 (unsigned long long)bytes);
    return 0;
}
