/* store_get.c — reading [off, off+len) of an object's plaintext.
 *
 * An object is one or more segments (a simple object: one; a multipart object: its parts), each
 * with its own data key. For each segment the range touches, ksm_chunk_range gives the ciphertext
 * to read; thread-pool jobs read it in pieces of 16 chunks and decrypt them there (verifying every
 * tag) straight into a plaintext piece (store_piece.c), and the loop hands the piece to data(),
 * which keeps it until the socket has written it. A large segment's ciphertext is read through
 * one mmap, so the page cache is decrypted in place rather than copied first (each piece's pages
 * dropped once decrypted, so the process's resident size stays flat). One piece is filled
 * while the caller consumes the other; a paused reader stops the jobs, so memory stays a few
 * pieces whatever the object size. The metadata is read once at open: an overwrite while the
 * read runs does not mix two objects, and the reaper keeps the old files while this read holds
 * them (store_reap_hold), so the read finishes with the object it began with, as S3's does. */
#include "storage/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "kms/kms_chunk.h"

#define GET_CHUNKS 16u
#define GET_CT_MAX (GET_CHUNKS * KSM_CHUNK_CT_SIZE)
#define GET_PT_MAX (GET_CHUNKS * KSM_CHUNK_SIZE)
#define GET_MAP_MIN (4u * KSM_CHUNK_CT_SIZE)   /* smaller reads: one pread costs less than a map */

_Static_assert(GET_PT_MAX == STORE_PIECE_MAX, "a full piece is a cached one");

struct get_buf {
    uint8_t *p;   /* a piece (store_piece.c) while this get holds it */
    size_t len;
    bool ready;   /* holds plaintext not yet delivered */
};

struct ksm_get {
    struct ksm_store *s;
    uv_loop_t *loop;
    struct ksm_db *db;
    char bucket[40];
    struct store_seg *segs;
    size_t nsegs;
    struct store_hold *hold;         /* its data files, kept from the reaper until get_free */
    uint64_t total;
    uint8_t key0[KSM_KMS_KEY_LEN];   /* segment 0's data key, opened at open */
    bool key0_ok;
    uint8_t ck[32];                  /* SSE-C: the customer's key, for this read only */
    bool has_ck;
    /* the range, in the object's plaintext */
    uint64_t off, end;
    size_t si;                       /* the segment being read */
    uint64_t seg_base;               /* its first byte's offset in the object */
    struct ksm_chunk_dec *dec;
    int fd;
    uint64_t ct_pos, ct_end;         /* absolute offsets in the segment's file */
    bool map;                        /* read by mmap (a large read of a file checked long enough) */
    uint8_t *mbase;                  /* the segment's range, mapped once: [mstart, mstart + mlen) */
    uint64_t mstart;
    size_t mlen;
    uint64_t mdone;                  /* file offset below which the mapping's pages are dropped */
    bool seg_open, seg_done;
    /* buffers and the one job */
    struct get_buf buf[2];
    size_t pt_cap, ct_cap;
    uint8_t *ct;
    int fill;                        /* the buffer the running job fills */
    uv_work_t work;
    enum ksm_err job_err;
    bool busy, paused, canceled, finished, in_pump, started;
    int next_deliver;
    ksm_store_data_fn *data;
    ksm_store_done_cb done;
    void *arg;
    enum ksm_err err;
};

static void pump(struct ksm_get *g);

static void seg_close(struct ksm_get *g)
{
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
    if (g->mbase)
        munmap(g->mbase, g->mlen);
    g->mbase = NULL;
    g->map = false;
}

static void get_free(struct ksm_get *g)
{
    seg_close(g);
    ksm_chunk_dec_free(g->dec);
    for (int i = 0; i < 2; i++)
        ksm_store_piece_release(NULL, (char *)g->buf[i].p);
    free(g->ct);
    store_segments_close(g->s, g->segs, g->nsegs, g->hold);
    free(g->segs);
    OPENSSL_cleanse(g->key0, sizeof g->key0);
    OPENSSL_cleanse(g->ck, sizeof g->ck);
    free(g);
}

struct ksm_get *ksm_store_get_open(struct ksm_store *s, struct ksm_db *db,
                                   const struct ksm_bucket *b, const char *key,
                                   struct ksm_obj_meta *meta, enum ksm_err *err)
{
    return ksm_store_get_open_version(s, db, b, key, NULL, meta, err);
}

struct ksm_get *ksm_store_get_open_version(struct ksm_store *s, struct ksm_db *db,
                                           const struct ksm_bucket *b, const char *key,
                                           const char *version_id, struct ksm_obj_meta *meta,
                                           enum ksm_err *err)
{
    return ksm_store_get_open_ssec(s, db, b, key, version_id, NULL, meta, err);
}

/* An SSE-C object needs its customer's key; any other refuses one (as S3 does). */
static enum ksm_err ssec_check(const struct ksm_obj_meta *m, const uint8_t *ck)
{
    if (m->sse_c[0] && !ck)
        return KSM_E_SSE_C_REQUIRED;
    if (!m->sse_c[0] && ck)
        return KSM_E_SSE_C_NOT_APPLICABLE;
    return !ck || ksm_kms_ssec_matches(ck, m->sse_c) ? KSM_E_OK : KSM_E_SSE_C_MISMATCH;
}

/* A segment's data key as the chunks were sealed with: through the customer key for SSE-C. */
static enum ksm_err seg_key(struct ksm_get *g, struct ksm_db *db, const struct store_seg *sg,
                            uint8_t key[KSM_KMS_KEY_LEN])
{
    enum ksm_err e = ksm_kms_data_key_open(g->s->o.kms, db, g->bucket, sg->uid, sg->wrapped,
                                           sizeof sg->wrapped, key);
    if (e == KSM_E_OK && g->has_ck)
        ksm_kms_ssec_derive(g->ck, key, key);
    return e;
}

struct ksm_get *ksm_store_get_open_ssec(struct ksm_store *s, struct ksm_db *db,
                                        const struct ksm_bucket *b, const char *key,
                                        const char *version_id, const uint8_t *ck,
                                        struct ksm_obj_meta *meta, enum ksm_err *err)
{
    struct ksm_get *g = ksm_xcalloc(1, sizeof *g);
    struct ksm_obj_meta m;
    g->s = s;
    g->db = db;
    g->fd = -1;
    g->work.data = g;
    snprintf(g->bucket, sizeof g->bucket, "%s", b->id);
    /* pins the packs it reads from: compaction keeps them until get_free */
    enum ksm_err e = store_segments_open(s, db, b->id, key, version_id, &m, &g->segs, &g->nsegs,
                                         &g->hold);
    if (e != KSM_E_OK) {
        if (meta)   /* the delete marker and version id, for the answer's headers */
            *meta = m;
        else
            ksm_obj_meta_free(&m);
        goto fail;
    }
    g->total = m.size;
    if (ck) {
        memcpy(g->ck, ck, sizeof g->ck);
        g->has_ck = true;
    }
    e = ssec_check(&m, ck);
    /* open the first key now so KEY_DISABLED / KEY_DESTROYED come before any header is sent */
    if (e == KSM_E_OK && g->nsegs > 0)
        e = seg_key(g, db, &g->segs[0], g->key0);
    if (e != KSM_E_OK) {
        ksm_obj_meta_free(&m);
        goto fail;
    }
    g->key0_ok = g->nsegs > 0;
    if (meta)
        *meta = m;
    else
        ksm_obj_meta_free(&m);
    *err = KSM_E_OK;
    return g;
fail:
    *err = e;
    get_free(g);
    return NULL;
}

/* ---- the segment being read ---- */

/* The decryptor writes into the piece (ksm_chunk_dec_update_into), never through emit. */
static enum ksm_err no_emit(void *arg, const uint8_t *p, size_t n) { return KSM_E_INTERNAL; }

/* Moves to the next segment the range touches; false when there is none. */
static bool seg_next(struct ksm_get *g)
{
    while (g->si < g->nsegs) {
        const struct store_seg *sg = &g->segs[g->si];
        uint64_t lo = g->off > g->seg_base ? g->off - g->seg_base : 0;
        uint64_t hi = g->end - g->seg_base < sg->size ? g->end - g->seg_base : sg->size;
        if (g->end > g->seg_base && hi > lo)
            return true;
        g->seg_base += sg->size;
        g->si++;
    }
    return false;
}

static enum ksm_err seg_start(struct ksm_get *g)
{
    const struct store_seg *sg = &g->segs[g->si];
    uint64_t lo = g->off > g->seg_base ? g->off - g->seg_base : 0;
    uint64_t hi = g->end - g->seg_base < sg->size ? g->end - g->seg_base : sg->size;
    uint64_t ct_off, ct_n, base;
    uint8_t key[KSM_KMS_KEY_LEN];
    char path[700];
    enum ksm_err e = KSM_E_OK;
    if (g->si == 0 && g->key0_ok)
        memcpy(key, g->key0, sizeof key);
    else
        e = seg_key(g, g->db, sg, key);
    if (e != KSM_E_OK)
        return e;
    if (ksm_chunk_range(sg->size, lo, hi - lo, &ct_off, &ct_n)) {
        OPENSSL_cleanse(key, sizeof key);
        return KSM_E_DATA_CORRUPT;
    }
    ksm_chunk_dec_free(g->dec);
    g->dec = ksm_chunk_dec_new(key, sg->uid, sg->size, lo, hi - lo, no_emit, g);
    OPENSSL_cleanse(key, sizeof key);
    if (!g->dec)
        return KSM_E_INTERNAL;
    store_seg_file(g->s, sg, path, sizeof path, &base);
    g->ct_pos = base + ct_off;
    g->ct_end = base + ct_off + ct_n;
    g->seg_open = true;
    g->seg_done = false;
    return KSM_E_OK;
}

/* ---- the pool job: read one piece, decrypt it ---- */

/* Opens the segment's file; large reads will map it. A file shorter than the metadata says is
 * damage (and must never be mapped past its end: touching that would be SIGBUS). Object files are
 * never truncated while named by metadata, only unlinked, which keeps a mapping valid. */
static enum ksm_err seg_file_open(struct ksm_get *g)
{
    char path[700];
    uint64_t base;
    store_seg_file(g->s, &g->segs[g->si], path, sizeof path, &base);
    g->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (g->fd < 0)
        return KSM_E_DATA_CORRUPT;   /* metadata names it, so a missing file is damage */
    if (g->ct_end - g->ct_pos < GET_MAP_MIN)
        return KSM_E_OK;
    struct stat st;
    if (fstat(g->fd, &st) || (uint64_t)st.st_size < g->ct_end)
        return KSM_E_DATA_CORRUPT;
    /* One mapping for the whole range, faulted in as it is decrypted (the kernel maps a run of
     * page-cache pages per fault) and dropped a piece at a time behind the reader, so the resident
     * size stays a piece whatever the object size: cheaper than a populated map per piece, which
     * walked every page twice and built and tore down a mapping each time. */
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    g->mstart = g->ct_pos / page * page;
    g->mdone = g->mstart;
    g->mlen = (size_t)(g->ct_end - g->mstart);
    void *m = mmap(NULL, g->mlen, PROT_READ, MAP_SHARED, g->fd, (off_t)g->mstart);
    if (m == MAP_FAILED)
        return KSM_E_OK; /* pread then */
    g->mbase = m;
    g->map = true;
    return KSM_E_OK;
}

/* Unmaps the pages wholly before file offset pos: read, and not needed again. */
static void map_drop_before(struct ksm_get *g, uint64_t pos)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), upto = pos / page * page;
    if (upto > g->mdone) {
        madvise(g->mbase + (g->mdone - g->mstart), (size_t)(upto - g->mdone), MADV_DONTNEED);
        g->mdone = upto;
    }
}

static void job_run(uv_work_t *w)
{
    struct ksm_get *g = w->data;
    struct get_buf *b = &g->buf[g->fill];
    enum ksm_err e = KSM_E_OK;
    if (g->fd < 0 && (e = seg_file_open(g)) != KSM_E_OK)
        goto out;
    uint64_t n = g->ct_end - g->ct_pos;
    n = n < g->ct_cap ? n : g->ct_cap;
    const uint8_t *ct = NULL;
    if (g->map) {
        ct = g->mbase + (g->ct_pos - g->mstart);   /* decrypted from the page cache */
    } else if (!g->ct && !(g->ct = malloc(g->ct_cap))) {
        e = KSM_E_INTERNAL;
        goto out;
    } else if (store_pread_all(g->fd, g->ct, (size_t)n, g->ct_pos)) {
        e = KSM_E_DATA_CORRUPT;   /* a short file: truncated */
        goto out;
    } else {
        ct = g->ct;
    }
    g->ct_pos += n;
    e = ksm_chunk_dec_update_into(g->dec, ct, (size_t)n, b->p, g->pt_cap, &b->len);
    store_piece_used(b->p, b->len);
    if (g->map)
        map_drop_before(g, g->ct_pos);
    if (e == KSM_E_OK && g->ct_pos == g->ct_end) {
        e = ksm_chunk_dec_final(g->dec);
        seg_close(g);
        g->seg_done = true;
    }
out:
    g->job_err = e;
}

static void finish(struct ksm_get *g, enum ksm_err e)
{
    if (g->finished)
        return;
    g->finished = true;
    g->done(g->arg, e);
}

static void job_done(uv_work_t *w, int status)
{
    struct ksm_get *g = w->data;
    g->busy = false;
    if (g->canceled) {
        get_free(g);
        return;
    }
    if (g->job_err != KSM_E_OK) {
        g->err = g->job_err;
        g->buf[g->fill].len = 0;
    } else {
        g->buf[g->fill].ready = true;
    }
    if (g->seg_done) {
        g->seg_open = false;
        g->seg_base += g->segs[g->si].size;
        g->si++;
    }
    pump(g);
}

static bool more_to_read(struct ksm_get *g)
{
    if (g->err != KSM_E_OK)
        return false;
    return g->seg_open || seg_next(g);
}

/* Starts the next read if no job runs and a buffer is free. */
static void maybe_submit(struct ksm_get *g)
{
    if (g->busy || !more_to_read(g))
        return;
    int f = g->buf[0].ready ? 1 : 0;
    if (g->buf[f].ready)
        return;
    if (!g->seg_open) {
        enum ksm_err e = seg_start(g);
        if (e != KSM_E_OK) {
            g->err = e;
            return;
        }
    }
    g->fill = f;
    g->buf[f].len = 0;
    if (!g->buf[f].p)
        g->buf[f].p = store_piece_get(g->pt_cap);
    g->job_err = KSM_E_OK;
    g->busy = true;
    if (uv_queue_work(g->loop, &g->work, job_run, job_done)) {
        g->busy = false;
        g->err = KSM_E_INTERNAL;
    }
}

/* Delivers what is ready in order, keeps one read ahead, and ends the read when all is done. */
static void pump(struct ksm_get *g)
{
    if (g->in_pump || g->finished)
        return;
    g->in_pump = true;
    for (;;) {
        maybe_submit(g);
        struct get_buf *b = &g->buf[g->next_deliver];
        if (g->paused || g->canceled || !b->ready)
            break;
        b->ready = false;
        g->next_deliver ^= 1;
        bool pause = false;
        if (b->len) {   /* the piece is data's now */
            pause = g->data(g->arg, (char *)b->p, b->len);
            b->p = NULL;
        }
        b->len = 0;
        if (pause)
            g->paused = true;
    }
    g->in_pump = false;
    if (g->canceled) {
        if (!g->busy)
            get_free(g);
        return;
    }
    bool drained = !g->buf[0].ready && !g->buf[1].ready;
    if (!g->busy && drained && (g->err != KSM_E_OK || !more_to_read(g))) {
        finish(g, g->err);
        get_free(g);
    }
}

static void plan_buffers(struct ksm_get *g)
{
    uint64_t len = g->end - g->off;
    /* a range of len bytes touches at most len/CHUNK + 2 chunks; pieces stay whole chunks so a
     * piece's plaintext never exceeds GET_PT_MAX */
    uint64_t chunks = len / KSM_CHUNK_SIZE + 2;
    chunks = chunks < GET_CHUNKS ? chunks : GET_CHUNKS;
    uint64_t ct = chunks * KSM_CHUNK_CT_SIZE, whole = ksm_chunk_ct_len(g->total);
    g->ct_cap = (size_t)(whole < ct ? whole : ct);
    g->pt_cap = len < GET_PT_MAX ? (size_t)len : GET_PT_MAX;
    g->pt_cap += g->pt_cap ? 0 : 1;   /* g->ct is allocated by the first pread: mapped reads need none */
}

static void deferred(uv_work_t *w) {}

static void start_done(uv_work_t *w, int status)
{
    struct ksm_get *g = w->data;
    g->busy = false;
    if (g->canceled) {
        get_free(g);
        return;
    }
    pump(g);
}

void ksm_store_get_start(struct ksm_get *g, uv_loop_t *loop, uint64_t off, uint64_t len,
                         ksm_store_data_fn *data, ksm_store_done_cb done, void *arg)
{
    g->loop = loop;
    g->data = data;
    g->done = done;
    g->arg = arg;
    g->started = true;
    if (g->err == KSM_E_OK && (off > g->total || len > g->total - off)) {
        g->err = KSM_E_INVALID_ARGUMENT;   /* the protocol layer answers 416 before this */
    }
    if (g->err != KSM_E_OK)
        off = len = 0;
    g->off = off;
    g->end = off + len;
    plan_buffers(g);
    /* the first step runs from the pool's completion, so done never runs inside this call */
    g->busy = true;
    g->fill = 0;
    g->work.data = g;
    if (uv_queue_work(loop, &g->work, deferred, start_done)) {
        g->busy = false;
        g->err = KSM_E_INTERNAL;
    }
}

struct ksm_get *ksm_store_get_begin(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                                    const struct ksm_bucket *b, const char *key, uint64_t off,
                                    uint64_t len, ksm_store_data_fn *data,
                                    ksm_store_done_cb done, void *arg)
{
    enum ksm_err e;
    struct ksm_get *g = ksm_store_get_open(s, db, b, key, NULL, &e);
    if (!g) {
        /* a handle that only reports the error, from the loop */
        g = ksm_xcalloc(1, sizeof *g);
        g->fd = -1;
        g->err = e;
        g->s = s;
    }
    ksm_store_get_start(g, loop, off, len, data, done, arg);
    return g;
}

void ksm_store_get_resume(struct ksm_get *g)
{
    if (!g->paused)
        return;
    g->paused = false;
    pump(g);
}

void ksm_store_get_cancel(struct ksm_get *g)
{
    g->canceled = true;
    if (!g->busy && !g->in_pump)
        get_free(g);
}
