/* store_put.c — an upload streaming into the store: an object, or a part of a multipart upload.
 *
 * The loop thread only copies the caller's bytes into 1 MiB blocks; one thread-pool job at a time
 * takes the oldest block, hashes it (MD5, for the ETag), encrypts it in chunks under the object's
 * own data key and writes the ciphertext to tmp/<uid>.part. Hashing and sealing run on the pool
 * because MD5 alone is slower than a disk and would stall every other connection of the loop.
 * At most PUT_INFLIGHT bytes wait in blocks: past that put_write says "pause" and calls drained()
 * when a job has freed a block, so memory stays flat whatever the object size.
 *
 * Commit: the last job seals the final chunk, fsyncs, checks Content-MD5 (a mismatch removes the
 * temporary: nothing is stored), renames into objects/ab/cd/<uid> and fsyncs that directory; then,
 * on the loop, one transaction replaces the metadata row and the old data goes to the reaper.
 * Small objects whose bytes all fit in the first block skip the file and go to the pack log. */
#include "storage/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/evp.h"
#include "core/log.h"
#include "core/util.h"
#include "kms/kms_chunk.h"

#define PUT_BLOCK (1u << 20)
#define PUT_INFLIGHT (4u * PUT_BLOCK)
#define PUT_CT_CAP ((PUT_BLOCK / KSM_CHUNK_SIZE + 2) * KSM_CHUNK_CT_SIZE)

struct put_block {
    struct put_block *next;
    size_t len, cap;
    char data[];
};

enum put_job { JOB_BLOCK, JOB_FINAL, JOB_CLEANUP };

struct ksm_put {
    struct ksm_store *s;
    uv_loop_t *loop;
    struct ksm_db *db;
    char bucket[40];
    char *key;
    char upload[64];
    int part;
    int64_t expected;
    enum ksm_err err;                /* sticky: the first failure */
    struct store_seg seg;            /* region, uid, wrapped key */
    struct ksm_chunk_enc *enc;       /* used by one pool job at a time */
    EVP_MD_CTX *md5;
    int fd;
    uint64_t fed;                    /* plaintext bytes accepted */
    struct put_block *head, *tail;   /* queued plaintext; tail is being filled */
    size_t queued;
    uint8_t *ct;                     /* the job's ciphertext output */
    size_t ct_len, ct_cap;
    uv_work_t work;
    enum put_job job;
    struct put_block *job_block;
    bool busy, started, committing, aborted;
    bool hold_small;                 /* declared small: keep it in memory for the pack log */
    ksm_store_cb drained;
    void *drained_arg;
    /* commit */
    struct ksm_obj_meta *meta;
    bool have_md5;
    uint8_t want_md5[16], md5_out[16];
    ksm_store_done_cb done;
    void *done_arg;
    struct store_pack_job pj;
    char sse_c[KSM_STORE_SSEC_FP_LEN];   /* SSE-C: the fingerprint the object row keeps */
};

static void kick(struct ksm_put *p);

/* ---- set-up ---- */

static enum ksm_err key_check(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0)
        return KSM_E_INVALID_ARGUMENT;
    if (n > KSM_STORE_KEY_MAX)
        return KSM_E_KEY_TOO_LONG;
    return ksm_utf8_valid(key, n) ? KSM_E_OK : KSM_E_INVALID_ARGUMENT;
}

static enum ksm_err ct_emit(void *arg, const uint8_t *b, size_t n)
{
    struct ksm_put *p = arg;
    if (p->ct_len + n > p->ct_cap) {   /* never with whole blocks; kept for safety */
        if (p->fd < 0)
            return KSM_E_INTERNAL;
        if (ksm_write_all(p->fd, p->ct, p->ct_len))
            return KSM_E_INTERNAL;
        p->ct_len = 0;
    }
    memcpy(p->ct + p->ct_len, b, n);
    p->ct_len += n;
    return KSM_E_OK;
}

/* SSE-C: a part needs its upload's key; an object keeps a fingerprint of the one it was given. */
static enum ksm_err ssec_check(struct ksm_put *p, const uint8_t *ck)
{
    if (!p->upload[0]) {
        if (ck)
            ksm_kms_ssec_fingerprint(ck, p->sse_c);
        return KSM_E_OK;
    }
    char fp[KSM_STORE_SSEC_FP_LEN];
    enum ksm_err e = store_mpu_sse_c(p->db, p->upload, fp);
    if (e != KSM_E_OK)
        return e;
    if (fp[0] && !ck)
        return KSM_E_SSE_C_REQUIRED;
    if (!fp[0] && ck)
        return KSM_E_SSE_C_NOT_APPLICABLE;
    return !ck || ksm_kms_ssec_matches(ck, fp) ? KSM_E_OK : KSM_E_SSE_C_MISMATCH;
}

static enum ksm_err put_setup(struct ksm_put *p, const struct ksm_bucket *b, const char *key,
                              const char *part_of, int part, const uint8_t *ck)
{
    enum ksm_err e = key_check(key);
    if (e != KSM_E_OK)
        return e;
    if (part_of) {
        if (part < 1 || part > STORE_MAX_PARTS || strlen(part_of) >= sizeof p->upload)
            return KSM_E_INVALID_ARGUMENT;
        e = ksm_store_mpu_check(p->db, b, key, part_of);
        if (e != KSM_E_OK)
            return e;
        snprintf(p->upload, sizeof p->upload, "%s", part_of);
        p->part = part;
    }
    if (p->expected > (int64_t)KSM_STORE_MAX_OBJECT)
        return KSM_E_TOO_LARGE;
    if ((e = ssec_check(p, ck)) != KSM_E_OK)
        return e;
    struct ksm_kms_data_key dk;
    ksm_kms_uid_new(p->seg.uid);
    e = ksm_kms_data_key_new(p->s->o.kms, p->db, b->id, p->seg.uid, &dk);
    if (e != KSM_E_OK)
        return e;
    memcpy(p->seg.wrapped, dk.wrapped, sizeof p->seg.wrapped);
    if (ck)   /* the chunks' key needs the customer's key too */
        ksm_kms_ssec_derive(ck, dk.key, dk.key);
    p->enc = ksm_chunk_enc_new(dk.key, p->seg.uid, ct_emit, p);
    ksm_kms_data_key_wipe(&dk);
    return p->enc ? KSM_E_OK : KSM_E_INTERNAL;
}

struct ksm_put *ksm_store_put_begin(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                                    const struct ksm_bucket *b, const char *key,
                                    int64_t expected_size, const char *part_of, int part)
{
    return ksm_store_put_begin_ssec(s, loop, db, b, key, expected_size, part_of, part, NULL);
}

struct ksm_put *ksm_store_put_begin_ssec(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                                         const struct ksm_bucket *b, const char *key,
                                         int64_t expected_size, const char *part_of, int part,
                                         const uint8_t *ck)
{
    struct ksm_put *p = ksm_xcalloc(1, sizeof *p);
    p->s = s;
    p->loop = loop;
    p->db = db;
    p->fd = -1;
    p->expected = expected_size;
    p->key = ksm_xstrdup(key ? key : "");
    snprintf(p->bucket, sizeof p->bucket, "%s", b->id);
    snprintf(p->seg.region, sizeof p->seg.region, "%s", b->region);
    p->seg.loc = STORE_LOC_FILE;
    p->work.data = p;
    p->md5 = EVP_MD_CTX_new();
    if (!p->md5 || !EVP_DigestInit_ex(p->md5, ksm_evp_md5(), NULL))
        p->err = KSM_E_INTERNAL;
    else
        p->err = put_setup(p, b, key, part_of, part, ck);
    p->hold_small = expected_size >= 0 && (uint64_t)expected_size <= s->o.small_max &&
                    store_pack_enabled(s, p->seg.region);
    return p;
}

enum ksm_err ksm_store_put_error(const struct ksm_put *p) { return p->err; }

static void put_free(struct ksm_put *p)
{
    struct put_block *b = p->head;
    while (b) {
        struct put_block *next = b->next;
        explicit_bzero(b->data, b->len);   /* plaintext of someone's object */
        free(b);
        b = next;
    }
    ksm_chunk_enc_free(p->enc);
    EVP_MD_CTX_free(p->md5);
    free(p->ct);   /* also the pack record's ciphertext */
    free(p->key);
    explicit_bzero(p, sizeof *p);   /* the data key */
    free(p);
}

/* ---- feeding ---- */

static struct put_block *block_new(const struct ksm_put *p)
{
    size_t cap = PUT_BLOCK;
    /* a small declared size gets a small block: 64 concurrent 4 KiB puts must not take 64 MiB */
    if (p->expected >= 0 && (uint64_t)p->expected - p->fed < cap && p->fed == 0)
        cap = p->expected > 0 ? (size_t)p->expected : 1;
    struct put_block *b = ksm_xmalloc(sizeof *b + cap);
    b->next = NULL;
    b->len = 0;
    b->cap = cap;
    return b;
}

bool ksm_store_put_write(struct ksm_put *p, const char *data, size_t n, ksm_store_cb drained,
                         void *arg)
{
    if (p->err != KSM_E_OK || p->aborted || p->committing)
        return false;   /* the error is reported by commit; the bytes are dropped */
    if (p->fed + n > KSM_STORE_MAX_OBJECT) {
        p->err = KSM_E_TOO_LARGE;
        return false;
    }
    p->fed += n;
    p->queued += n;
    while (n > 0) {
        if (!p->tail || p->tail->len == p->tail->cap) {
            struct put_block *b = block_new(p);
            if (p->tail)
                p->tail->next = b;
            else
                p->head = b;
            p->tail = b;
        }
        size_t m = p->tail->cap - p->tail->len;
        m = m < n ? m : n;
        memcpy(p->tail->data + p->tail->len, data, m);
        p->tail->len += m;
        data += m;
        n -= m;
    }
    kick(p);
    if (p->queued < PUT_INFLIGHT)
        return false;
    p->drained = drained;
    p->drained_arg = arg;
    return true;
}

/* ---- pool jobs ---- */

static int tmp_open(struct ksm_put *p)
{
    char path[700];
    store_tmp_path(p->s, p->seg.region, p->seg.uid, path, sizeof path);
    p->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return p->fd < 0 ? -1 : 0;
}

static enum ksm_err job_block(struct ksm_put *p, struct put_block *b)
{
    if (p->fd < 0 && tmp_open(p))
        return KSM_E_INTERNAL;
    p->ct_len = 0;
    if (!EVP_DigestUpdate(p->md5, b->data, b->len))
        return KSM_E_INTERNAL;
    enum ksm_err e = ksm_chunk_enc_update(p->enc, b->data, b->len);
    if (e != KSM_E_OK)
        return e;
    return ksm_write_all(p->fd, p->ct, p->ct_len) ? KSM_E_INTERNAL : KSM_E_OK;
}

static void tmp_remove(struct ksm_put *p)
{
    char path[700];
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    store_tmp_path(p->s, p->seg.region, p->seg.uid, path, sizeof path);
    unlink(path);
}

/* Seal the last chunk, make the bytes durable, check the digest, move into place. */
static enum ksm_err job_final(struct ksm_put *p)
{
    char tmp[700], dst[700], dir[700];
    unsigned int mdlen = 0;
    if (p->fd < 0 && tmp_open(p))
        return KSM_E_INTERNAL;
    p->ct_len = 0;
    if (ksm_chunk_enc_final(p->enc) != KSM_E_OK || ksm_write_all(p->fd, p->ct, p->ct_len) ||
        !EVP_DigestFinal_ex(p->md5, p->md5_out, &mdlen))
        goto fail;
    if (p->have_md5 && memcmp(p->md5_out, p->want_md5, 16)) {
        tmp_remove(p);
        return KSM_E_BAD_DIGEST;
    }
    if (fsync(p->fd))
        goto fail;
    close(p->fd);
    p->fd = -1;
    store_tmp_path(p->s, p->seg.region, p->seg.uid, tmp, sizeof tmp);
    store_data_path(p->s, p->seg.region, p->seg.uid, dst, sizeof dst);
    store_data_dir(p->s, p->seg.region, p->seg.uid, dir, sizeof dir);
    if (ksm_mkdir_p(dir, 0700) || rename(tmp, dst))
        goto fail;
    /* the new name must be durable before metadata points at it */
    if (ksm_fsync_dir(dir))
        return KSM_E_INTERNAL;   /* renamed: orphan collection removes it if no row follows */
    return KSM_E_OK;
fail:
    ksm_warn("store: writing an object failed: %s", strerror(errno));
    tmp_remove(p);
    return KSM_E_INTERNAL;
}

static void job_run(uv_work_t *w)
{
    struct ksm_put *p = w->data;
    enum ksm_err e = KSM_E_OK;
    switch (p->job) {
    case JOB_BLOCK:
        e = job_block(p, p->job_block);
        break;
    case JOB_FINAL:
        e = job_final(p);
        break;
    case JOB_CLEANUP:
        tmp_remove(p);
        break;
    }
    if (e != KSM_E_OK && p->err == KSM_E_OK)
        p->err = e;
}

static void commit_meta(struct ksm_put *p);
static void finish(struct ksm_put *p, enum ksm_err e);

static void job_done(uv_work_t *w, int status)
{
    struct ksm_put *p = w->data;
    p->busy = false;
    if (p->job == JOB_CLEANUP) {
        put_free(p);
        return;
    }
    if (p->job == JOB_BLOCK) {
        struct put_block *b = p->job_block;
        p->job_block = NULL;
        p->queued -= b->len;
        explicit_bzero(b->data, b->len);
        free(b);
    }
    if (p->aborted) {
        kick(p);
        return;
    }
    if (p->job == JOB_FINAL) {
        if (p->err == KSM_E_OK)
            commit_meta(p);
        else
            finish(p, p->err);
        return;
    }
    if (p->drained && p->queued < PUT_INFLIGHT) {
        ksm_store_cb cb = p->drained;
        p->drained = NULL;
        cb(p->drained_arg);
    }
    kick(p);
}

static void submit(struct ksm_put *p, enum put_job job)
{
    p->job = job;
    p->busy = true;
    p->started = true;
    if (uv_queue_work(p->loop, &p->work, job_run, job_done)) {
        /* cannot happen with a live loop; treat as an I/O failure rather than hang */
        p->busy = false;
        p->err = KSM_E_INTERNAL;
    }
}

static void ct_alloc(struct ksm_put *p)
{
    if (!p->ct) {
        /* sized to the declared object when it is small: 64 small puts must not take 64 MiB */
        uint64_t want = p->expected >= 0 ? ksm_chunk_ct_len((uint64_t)p->expected) +
                                               KSM_CHUNK_CT_SIZE
                                         : PUT_CT_CAP;
        p->ct_cap = want < PUT_CT_CAP ? (size_t)want : PUT_CT_CAP;
        p->ct = ksm_xmalloc(p->ct_cap);
    }
}

/* Starts the next job if none runs: a full block, or (committing) whatever is left, then the
 * final job; after an abort, the cleanup. */
static void kick(struct ksm_put *p)
{
    if (p->busy)
        return;
    if (p->aborted) {
        if (p->started)
            submit(p, JOB_CLEANUP);
        else
            put_free(p);
        return;
    }
    struct put_block *b = p->head;
    if (p->hold_small && !p->committing && p->fed <= p->s->o.small_max)
        return;
    if (b && p->err == KSM_E_OK && (b->len == b->cap || p->committing) && b->len > 0) {
        ct_alloc(p);
        p->head = b->next;
        if (!p->head)
            p->tail = NULL;
        p->job_block = b;
        submit(p, JOB_BLOCK);
        return;
    }
    if (p->committing && (!b || b->len == 0 || p->err != KSM_E_OK)) {
        if (p->err != KSM_E_OK) {
            finish(p, p->err);
            return;
        }
        ct_alloc(p);
        submit(p, JOB_FINAL);
    }
}

/* ---- commit ---- */

static int md5_b64_decode(const char *b64, uint8_t out[16])
{
    uint8_t buf[64];
    size_t n = strlen(b64);
    if (n != 24)
        return -1;
    if (EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n) != 18)
        return -1;   /* 24 base64 chars decode to 18 bytes, two of them padding */
    memcpy(out, buf, 16);
    return 0;
}

static bool bucket_alive(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM store_buckets WHERE id=?");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW;
}

static bool upload_alive(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM store_uploads WHERE id=?");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW;
}

/* Fills the final size, ETag and mtime into the caller's meta. */
static void meta_final(struct ksm_put *p)
{
    char hex[33];
    ksm_hex(p->md5_out, 16, hex);
    snprintf(p->meta->etag, sizeof p->meta->etag, "\"%s\"", hex);
    p->meta->size = p->fed;
    p->meta->mtime_ms = ksm_now_ms();
    p->meta->parts = 0;
    snprintf(p->meta->key, sizeof p->meta->key, "%s", p->key);
    p->seg.size = p->fed;
    if (!p->upload[0])
        store_version_assign(p->db, p->bucket, p->meta);
    snprintf(p->meta->sse_c, sizeof p->meta->sse_c, "%s", p->sse_c);
}

/* The row write shared by the file path (on the loop's db) and the pack writer (its own db, many
 * rows per transaction): inside the caller's transaction. */
enum ksm_err store_put_row_tx(struct ksm_db *db, const char *bucket, const char *key,
                              const char *upload, int part, const struct ksm_obj_meta *meta,
                              const struct store_seg *seg, struct store_garbage *g)
{
    if (!bucket_alive(db, bucket) || (upload && !upload_alive(db, upload)))
        return KSM_E_NOT_FOUND;
    if (upload)
        return store_meta_part_replace(db, upload, part, meta, seg, g);
    struct store_obj_row row = {bucket, key, meta, seg->loc, seg};
    return store_meta_obj_replace(db, &row, g);
}

static enum ksm_err put_row(struct ksm_db *db, struct ksm_put *p, struct store_garbage *g)
{
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum ksm_err e = store_put_row_tx(db, p->bucket, p->key, p->upload[0] ? p->upload : NULL,
                                      p->part, p->meta, &p->seg, g);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        return e;
    }
    return store_commit(db);
}

static void commit_meta(struct ksm_put *p)
{
    struct store_garbage g = {0};
    meta_final(p);
    enum ksm_err e = put_row(p->db, p, &g);
    if (e != KSM_E_OK) {
        store_garbage_free(&g);
        store_garbage_add(&g, &p->seg);   /* our own file: nothing references it */
    }
    store_reap(p->s, &g);
    finish(p, e);
}

static void finish(struct ksm_put *p, enum ksm_err e)
{
    ksm_store_done_cb done = p->done;
    void *arg = p->done_arg;
    if (e != KSM_E_OK && p->started) {
        /* a temporary may be left: remove it off the loop, then free */
        p->aborted = true;
        submit(p, JOB_CLEANUP);
    } else {
        put_free(p);
    }
    done(arg, e);
}

static bool small_path(struct ksm_put *p)
{
    return !p->started && p->fed <= p->s->o.small_max &&
           store_pack_enabled(p->s, p->seg.region) && (!p->head || !p->head->next);
}

static void pack_done(struct store_pack_job *j)
{
    struct ksm_put *p = j->arg;
    p->seg = j->seg;
    p->meta->size = p->fed;
    finish(p, j->result);
}

/* Small object: seal it in one piece on the loop (a few µs for a few KiB) and hand it to the
 * pack writer, which commits data and metadata for a whole batch at once. */
static void commit_small(struct ksm_put *p)
{
    const char *data = p->head ? p->head->data : "";
    size_t n = p->head ? p->head->len : 0;
    unsigned int mdlen = 0;
    if (!EVP_DigestUpdate(p->md5, data, n) || !EVP_DigestFinal_ex(p->md5, p->md5_out, &mdlen)) {
        finish(p, KSM_E_INTERNAL);
        return;
    }
    if (p->have_md5 && memcmp(p->md5_out, p->want_md5, 16)) {
        finish(p, KSM_E_BAD_DIGEST);
        return;
    }
    meta_final(p);
    struct store_pack_job *j = &p->pj;
    j->ct_len = ksm_chunk_ct_len(n);
    /* the encryptor writes straight into the record the pack writer appends */
    p->ct = ksm_xmalloc(j->ct_len);
    p->ct_cap = j->ct_len;
    p->ct_len = 0;
    /* the streaming encryptor already holds this object's key: feed it all at once */
    if (ksm_chunk_enc_update(p->enc, data, n) != KSM_E_OK || ksm_chunk_enc_final(p->enc) != KSM_E_OK ||
        p->ct_len != j->ct_len) {
        finish(p, KSM_E_INTERNAL);
        return;
    }
    j->ct = p->ct;
    j->loop = p->loop;
    snprintf(j->bucket, sizeof j->bucket, "%s", p->bucket);
    j->key = p->key;
    j->upload = p->upload[0] ? p->upload : NULL;
    j->part = p->part;
    j->meta = p->meta;
    j->seg = p->seg;
    j->seg.loc = STORE_LOC_PACK;
    j->done = pack_done;
    j->arg = p;
    store_pack_submit(p->s, j);
}

void ksm_store_put_commit(struct ksm_put *p, struct ksm_obj_meta *meta, const char *content_md5,
                          ksm_store_done_cb done, void *arg)
{
    p->meta = meta;
    p->done = done;
    p->done_arg = arg;
    p->committing = true;
    p->drained = NULL;
    if (p->err == KSM_E_OK && content_md5) {
        if (md5_b64_decode(content_md5, p->want_md5))
            p->err = KSM_E_INVALID_DIGEST;
        p->have_md5 = true;
    }
    if (p->err == KSM_E_OK && p->expected >= 0 && (uint64_t)p->expected != p->fed)
        p->err = KSM_E_INCOMPLETE_BODY;
    if (p->err == KSM_E_OK && small_path(p)) {
        commit_small(p);
        return;
    }
    if (p->err != KSM_E_OK && !p->busy) {
        finish(p, p->err);
        return;
    }
    kick(p);
}

void ksm_store_put_abort(struct ksm_put *p)
{
    /* A commit in flight is finished, not undone: its data may already be in a pack batch that
     * other objects share, and its done callback still runs. Callers abort only before commit. */
    if (p->committing)
        return;
    p->aborted = true;
    p->drained = NULL;
    kick(p);
}
