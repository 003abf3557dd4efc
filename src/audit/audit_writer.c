/* audit_writer.c — the audit handle: open (recovery, key, index), submit, the group-commit writer
 * thread, the indexer thread, flush, close, stats.
 *
 * Submitters format their record's JSON body in a per-thread buffer and copy it into the pending
 * batch under one mutex (no per-record malloc; the batch's buffers are recycled). The writer swaps
 * the whole batch out, chains and hashes its lines, appends one signed checkpoint (or a seal when
 * the segment is full), writes everything with one write(), fdatasyncs once and then answers every
 * submitter. It never waits while records are pending, so a record is durable within one fsync of
 * the previous batch — well inside group_commit_ms. The block index (audit_block.c) is updated by
 * a second thread after the records are durable, so index work never delays an acknowledgement. */
#include "audit/audit_int.h"
#include "core/log.h"
#include "core/util.h"

#define LINGER_MAX_RECORDS 8192   /* a batch this large is committed without waiting */
#define WRITE_PIECE (256u << 10)  /* a larger batch's lines are written in pieces, then synced once */
#define KEEP_BYTES (1u << 20)     /* a recycled buffer larger than this (grown while the disk
                                     stalled) is freed, not kept at its peak */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const double ksm_audit_latency_bounds_ms[11] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250};

#define RETRY_SLEEP_MS 100
#define INDEX_LINGER_MS 100          /* the index may lag the log by this much (queries, not acks) */
#define RETRY_GIVE_UP_AT_CLOSE 50   /* at close, stop retrying a failing disk after ~5 s */

/* ---- batches ---- */

static struct ksm_audit_batch *batch_get(struct ksm_audit *a)
{
    struct ksm_audit_batch *b = a->free_list;
    if (b) {
        a->free_list = b->next;
        b->next = NULL;
    } else {
        b = ksm_xcalloc(1, sizeof *b);
    }
    if (!b->body.cap) {   /* the last written batch's lines, whose storage is free again */
        b->body = a->spare_body;
        a->spare_body = (struct ksm_buf)KSM_BUF_INIT;
    }
    return b;
}

/* Once written, a batch's lines are not needed (the indexer reads its keys and offsets): their
 * storage goes to the next batch at once instead of waiting in the index queue. Under a->mu. */
static void batch_written(struct ksm_audit *a, struct ksm_audit_batch *b)
{
    __atomic_store_n(&a->held_bytes, a->held_bytes - b->body.len, __ATOMIC_RELAXED);
    ksm_buf_reset(&b->body);
    if (b->body.cap > KEEP_BYTES)
        a->trim = true;
    if (a->spare_body.cap || b->body.cap > KEEP_BYTES) {
        ksm_buf_free(&b->body);
    } else {
        a->spare_body = b->body;
    }
    b->body = (struct ksm_buf)KSM_BUF_INIT;
}

static void batch_recycle(struct ksm_audit *a, struct ksm_audit_batch *b)
{
    __atomic_store_n(&a->held_bytes, a->held_bytes - b->keys.len - b->n * sizeof *b->ents,
                     __ATOMIC_RELAXED);
    ksm_buf_reset(&b->keys);
    if (b->keys.cap > KEEP_BYTES || b->cap * sizeof *b->ents > KEEP_BYTES) {
        ksm_buf_free(&b->keys);
        free(b->ents);
        b->ents = NULL;
        b->cap = 0;
        a->trim = true;
    }
    b->n = 0;
    b->next = a->free_list;
    a->free_list = b;
}

static void batch_free(struct ksm_audit_batch *b)
{
    while (b) {
        struct ksm_audit_batch *next = b->next;
        ksm_buf_free(&b->body);
        ksm_buf_free(&b->keys);
        free(b->ents);
        free(b);
        b = next;
    }
}

/* ---- submit ---- */

/* Each submitting thread formats its record here, outside the lock; only the copy into the batch
 * happens under it, so many request threads do not queue behind each other's JSON escaping. */
struct submit_scratch {
    struct ksm_buf body, keys;
    int64_t time_s;            /* the last second formatted, so most records skip gmtime */
    char time[32];
};
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    struct submit_scratch *sc = p;
    ksm_buf_free(&sc->body);
    ksm_buf_free(&sc->keys);
    free(sc);
}

static void scratch_key_create(void)
{
    if (pthread_key_create(&scratch_key, scratch_free)) {
        ksm_error("audit: pthread_key_create failed");   /* only when the process has run out */
        abort();
    }
}

/* A thread-specific key rather than _Thread_local: its destructor frees a submitter's buffers when
 * the thread ends. */
static struct submit_scratch *scratch_get(void)
{
    pthread_once(&scratch_once, scratch_key_create);
    struct submit_scratch *sc = pthread_getspecific(scratch_key);
    if (!sc) {
        sc = ksm_xcalloc(1, sizeof *sc);
        sc->time_s = -1;
        if (pthread_setspecific(scratch_key, sc)) {
            ksm_error("audit: pthread_setspecific failed");
            abort();
        }
    }
    return sc;
}

/* RFC 3339 with ms; the seconds part is cached because most records share it with the previous. */
static void time_str(struct submit_scratch *sc, int64_t ms, char out[32])
{
    int64_t s = ms >= 0 ? ms / 1000 : -1;
    if (s < 0) {
        ksm_rfc3339_ms(ms, out);
        return;
    }
    if (s != sc->time_s) {
        ksm_rfc3339_ms(s * 1000, sc->time);
        sc->time_s = s;
    }
    memcpy(out, sc->time, 20);   /* "YYYY-MM-DDTHH:MM:SS." */
    unsigned frac = (unsigned)(ms % 1000);
    out[20] = (char)('0' + frac / 100);
    out[21] = (char)('0' + frac / 10 % 10);
    out[22] = (char)('0' + frac % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

static void put_key(struct ksm_buf *keys, const char *s, uint8_t bit, uint8_t *nulls)
{
    if (!s)
        *nulls |= bit;
    ksm_buf_append(keys, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* What the record is counted under, as its last key (see ksm_audit_facet_fn). */
static void put_facet(const struct ksm_audit *a, struct submit_scratch *sc,
                      const struct ksm_audit_rec *rec, uint8_t *nulls)
{
    size_t at = sc->keys.len;
    if (a->opts.facet && a->opts.facet(rec, &sc->keys)) {
        ksm_buf_append(&sc->keys, "", 1);
        return;
    }
    sc->keys.len = at;
    put_key(&sc->keys, NULL, 8, nulls);
}

/* The thread's scratch buffers are kept between calls; a huge record must not pin its size. */
static void scratch_trim(struct submit_scratch *sc)
{
    if (sc->body.cap > 65536)
        ksm_buf_free(&sc->body);
    if (sc->keys.cap > 65536)
        ksm_buf_free(&sc->keys);
}

uint64_t ksm_audit_submit(struct ksm_audit *a, const struct ksm_audit_rec *rec,
                          struct ksm_mailbox *mb, ksm_audit_done_fn done, void *arg)
{
    struct submit_scratch *sc = scratch_get();
    int64_t t = rec->time_ms ? rec->time_ms : ksm_now_ms();
    char ts[32];
    uint8_t nulls = 0;
    time_str(sc, t, ts);
    ksm_buf_reset(&sc->body);
    ksm_buf_reset(&sc->keys);
    ksm_audit_format_body(&sc->body, rec, ts, a->env);
    put_key(&sc->keys, rec->tenant, 1, &nulls);
    put_key(&sc->keys, rec->principal, 2, &nulls);
    put_key(&sc->keys, rec->action, 4, &nulls);
    put_facet(a, sc, rec, &nulls);
    uint64_t now = ksm_mono_ns();
    pthread_mutex_lock(&a->mu);
    while (a->held_bytes > KSM_AUDIT_HOLD_MAX && !a->stop_writer)   /* the disk stalls: see audit.h */
        pthread_cond_wait(&a->done_cv, &a->mu);
    struct ksm_audit_batch *b = a->pending;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->ents = ksm_xrealloc(b->ents, b->cap * sizeof *b->ents);
    }
    struct ksm_audit_ent *e = &b->ents[b->n++];
    uint64_t seq = __atomic_add_fetch(&a->assigned_seq, 1, __ATOMIC_RELAXED);   /* read by ksm_audit_backlog */
    *e = (struct ksm_audit_ent){.seq = seq, .submit_ns = now, .time_ms = t, .mb = mb,
                                .done = done, .arg = arg, .nulls = nulls};
    e->body_off = (uint32_t)b->body.len;
    e->body_len = (uint32_t)sc->body.len;
    ksm_buf_append(&b->body, sc->body.data, sc->body.len);
    e->keys_off = (uint32_t)b->keys.len;
    ksm_buf_append(&b->keys, sc->keys.data, sc->keys.len);
    __atomic_store_n(&a->held_bytes, a->held_bytes + sc->body.len + sc->keys.len + sizeof *e,
                     __ATOMIC_RELAXED);   /* changed under a->mu only; read without it */
    if (done)
        a->pending_waiters++;
    if (a->writer_idle || (a->writer_lingering && (done || b->n >= LINGER_MAX_RECORDS)))
        pthread_cond_signal(&a->work_cv);
    pthread_mutex_unlock(&a->mu);
    scratch_trim(sc);
    return seq;
}

uint64_t ksm_audit_backlog(struct ksm_audit *a)
{
    uint64_t durable = __atomic_load_n(&a->durable_seq, __ATOMIC_RELAXED);
    uint64_t assigned = __atomic_load_n(&a->assigned_seq, __ATOMIC_RELAXED);
    return assigned > durable ? assigned - durable : 0;
}

uint64_t ksm_audit_backlog_bytes(struct ksm_audit *a)
{
    return __atomic_load_n(&a->held_bytes, __ATOMIC_RELAXED);
}

/* ---- the writer thread ---- */

/* Appends a checkpoint or seal line covering (seq, prev) and moves prev to its own hash. */
static int append_signed(struct ksm_audit *a, struct ksm_buf *out, enum ksm_audit_kind kind,
                         uint64_t seq, char prev[KSM_AUDIT_HASH_HEX + 1])
{
    char ts[32], name[KSM_AUDIT_SEG_NAME];
    unsigned char sig[64];
    char sighex[KSM_AUDIT_SIG_HEX + 1];
    size_t start = out->len;
    ksm_rfc3339_ms(ksm_now_ms(), ts);
    ksm_buf_printf(out, "{\"kind\":\"%s\",\"seq\":%" PRIu64 ",\"prev\":\"%s\",\"time\":\"%s\"",
                   kind == KSM_AUDIT_SEAL ? "seal" : "checkpoint", seq, prev, ts);
    if (kind == KSM_AUDIT_SEAL) {
        ksm_audit_seg_name(a->seg, name);
        ksm_buf_printf(out, ",\"segment\":\"%s\"", name);
    }
    if (ksm_audit_sign(a->key, out->data + start, out->len - start, sig))
        return -1;
    ksm_hex(sig, 64, sighex);
    ksm_buf_puts(out, KSM_AUDIT_SIG_TAG);
    ksm_buf_append(out, sighex, KSM_AUDIT_SIG_HEX);
    ksm_buf_puts(out, "\"}");
    ksm_sha256_hex(out->data + start, out->len - start, prev);
    ksm_buf_putc(out, '\n');
    return 0;
}

/* '{"seq":N,"prev":"' without snprintf, which costs more than the rest of the line's assembly. */
static size_t line_head(char out[48], uint64_t seq)
{
    char digits[24];
    size_t n = 0, k = 0;
    do
        digits[k++] = (char)('0' + seq % 10);
    while ((seq /= 10));
    memcpy(out, "{\"seq\":", 7);
    n = 7;
    while (k)
        out[n++] = digits[--k];
    memcpy(out + n, ",\"prev\":\"", 9);
    return n + 9;
}

static int open_next_segment(struct ksm_audit *a)
{
    char path[4096], name[KSM_AUDIT_SEG_NAME];
    ksm_audit_seg_name(a->seg + 1, name);
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || ksm_fsync_dir(a->dir)) {
        ksm_error("audit: %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return -1;
    }
    a->fd = fd;
    a->seg++;
    a->seg_size = a->seg_dropped = 0;
    return 0;
}

/* Appends out (then fdatasyncs, when sync); on failure cuts the segment back to its durable size,
 * so that the next attempt starts from a clean tail and a batch is in it whole or not at all. */
static int write_durable(struct ksm_audit *a, const struct ksm_buf *out, bool sync)
{
    if (ksm_write_all(a->fd, out->data, out->len) == 0 && (!sync || fdatasync(a->fd) == 0))
        return 0;
    ksm_error("audit: writing segment %" PRIu32 ": %s", a->seg, strerror(errno));
    if (ftruncate(a->fd, (off_t)a->seg_size))
        ksm_error("audit: cannot cut segment %" PRIu32 " back: %s", a->seg, strerror(errno));
    return -1;
}

/* The segment's durable full pages leave the page cache. The writer never reads them again (the
 * indexer gets its records in memory; a query reads the few blocks the index names), so cached
 * they only hold memory, and each new page of an append-only log then comes from free memory the
 * machine may not have touched yet: on a VM whose memory the host backs lazily (Firecracker here)
 * every such page is a host fault inside the write's copy, which made this writer's and the usage
 * writer's kernel time per request three times larger for seconds at a time (docs/PERFORMANCE.md,
 * fifteenth session). Pages given back are the ones the next appends get. PostgreSQL drops its WAL
 * segments from the cache the same way. */
static void drop_durable(struct ksm_audit *a)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), upto = a->seg_size / page * page;
    if (upto > a->seg_dropped &&
        posix_fadvise(a->fd, (off_t)a->seg_dropped, (off_t)(upto - a->seg_dropped), POSIX_FADV_DONTNEED) == 0)
        a->seg_dropped = upto;
}

/* Formats, chains, signs and writes one batch: the bytes it added to the log, or -1. The chain state
 * only moves on success. */
static int64_t write_batch(struct ksm_audit *a, struct ksm_audit_batch *b)
{
    char prev[KSM_AUDIT_HASH_HEX + 1];
    char head[48];
    if (a->fd < 0 && open_next_segment(a))
        return -1;
    struct ksm_buf *out = &a->out;
    uint64_t written = 0;   /* of this batch's lines, before those in out */
    ksm_buf_reset(out);
    memcpy(prev, a->prev, sizeof prev);
    for (size_t i = 0; i < b->n; i++) {
        struct ksm_audit_ent *e = &b->ents[i];
        size_t start = out->len;
        size_t hn = line_head(head, e->seq);
        ksm_buf_reserve(out, hn + KSM_AUDIT_HASH_HEX + 3 + e->body_len);
        ksm_buf_append(out, head, hn);
        ksm_buf_append(out, prev, KSM_AUDIT_HASH_HEX);
        ksm_buf_append(out, "\",", 2);
        ksm_buf_append(out, b->body.data + e->body_off, e->body_len);
        e->file_off = a->seg_size + written + start;
        e->line_len = (uint32_t)(out->len - start);
        ksm_sha256_hex(out->data + start, out->len - start, prev);
        ksm_buf_putc(out, '\n');
        if (out->len >= WRITE_PIECE) {   /* a batch that grew while the disk stalled */
            if (write_durable(a, out, false))
                return -1;
            written += out->len;
            ksm_buf_reset(out);
        }
    }
    uint64_t last = b->n ? b->ents[b->n - 1].seq : a->last_seq;
    bool seal = a->seg_size + written + out->len >= a->opts.segment_bytes;
    if (append_signed(a, out, seal ? KSM_AUDIT_SEAL : KSM_AUDIT_CHECKPOINT, last, prev) ||
        write_durable(a, out, true))
        return -1;
    memcpy(a->prev, prev, sizeof prev);
    a->last_seq = last;
    uint64_t bytes = written + out->len;
    a->seg_size += bytes;
    drop_durable(a);
    b->seg = a->seg;
    if (seal) {
        close(a->fd);
        a->fd = -1;
    }
    return (int64_t)bytes;
}

struct done_msg {
    ksm_audit_done_fn done;
    void *arg;
    int ok;
};

static void done_run(void *p)
{
    struct done_msg *m = p;
    m->done(m->arg, m->ok);
    free(m);
}

/* Tells each submitter; without a mailbox the callback runs here, on the writer thread. */
static void notify(struct ksm_audit_batch *b, int ok)
{
    for (size_t i = 0; i < b->n; i++) {
        struct ksm_audit_ent *e = &b->ents[i];
        if (!e->done)
            continue;
        if (e->mb) {
            struct done_msg *m = ksm_xmalloc(sizeof *m);
            *m = (struct done_msg){e->done, e->arg, ok};
            ksm_mailbox_post(e->mb, done_run, m);
        } else {
            e->done(e->arg, ok);
        }
        e->done = NULL;   /* answered: a later retry that succeeds must not answer twice */
    }
}

static void account(struct ksm_audit *a, const struct ksm_audit_batch *b, size_t bytes)
{
    uint64_t now = ksm_mono_ns();
    pthread_mutex_lock(&a->stats_mu);
    a->stats.records += b->n;
    a->stats.commits++;
    a->stats.bytes += bytes;
    for (size_t i = 0; i < b->n; i++) {
        double ms = (double)(now - b->ents[i].submit_ns) / 1e6;
        size_t k = 0;
        while (k < KSM_NELEM(ksm_audit_latency_bounds_ms) && ms > ksm_audit_latency_bounds_ms[k])
            k++;
        a->stats.commit_latency_buckets[k]++;
        a->stats.commit_latency_sum_ms += ms;
    }
    pthread_mutex_unlock(&a->stats_mu);
}

static bool stopping(struct ksm_audit *a)
{
    pthread_mutex_lock(&a->mu);
    bool s = a->stop_writer;
    pthread_mutex_unlock(&a->mu);
    return s;
}

/* A failing disk does not lose records: the submitters hear ok=0 at once (their requests fail),
 * and the batch is retried, because what it describes has already happened. */
static int commit_batch(struct ksm_audit *a, struct ksm_audit_batch *b)
{
    int64_t bytes;
    for (int attempt = 0; (bytes = write_batch(a, b)) < 0; attempt++) {
        notify(b, 0);
        if (stopping(a) && attempt >= RETRY_GIVE_UP_AT_CLOSE) {
            ksm_error("audit: giving up on %zu records at close (seq %" PRIu64 "..%" PRIu64 ")",
                      b->n, b->ents[0].seq, b->ents[b->n - 1].seq);
            return -1;
        }
        struct timespec ts = {0, RETRY_SLEEP_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    account(a, b, (size_t)bytes);
    notify(b, 1);
    return 0;
}

static void seal_at_close(struct ksm_audit *a)
{
    if (a->fd < 0)
        return;
    ksm_buf_reset(&a->out);
    char prev[KSM_AUDIT_HASH_HEX + 1];
    memcpy(prev, a->prev, sizeof prev);
    if (append_signed(a, &a->out, KSM_AUDIT_SEAL, a->last_seq, prev) || write_durable(a, &a->out, true))
        ksm_error("audit: could not seal segment %" PRIu32 "; it is continued at the next open",
                  a->seg);
    close(a->fd);
    a->fd = -1;
}

/* When nobody waits for the pending records (reads: durable "within the window", DESIGN.md §3),
 * the batch may grow for up to half the group-commit window: one write, one fdatasync and one
 * signature then cover many records instead of a few. A record whose submitter waits (a
 * state-changing request), a flush, a full batch or stopping ends the wait at once. */
static void linger(struct ksm_audit *a)
{
    if (a->pending_waiters || a->stop_writer || a->flush_waiters)
        return;
    uint64_t oldest = a->pending->ents[0].submit_ns;
    uint64_t until_ns = oldest + (uint64_t)a->opts.group_commit_ms * 1000000ull / 2;
    uint64_t now = ksm_mono_ns();
    if (until_ns <= now)
        return;
    struct timespec until = ksm_deadline_ns(CLOCK_REALTIME, until_ns - now);   /* the cv's clock */
    a->writer_lingering = true;
    while (!a->pending_waiters && !a->stop_writer && !a->flush_waiters &&
           a->pending->n < LINGER_MAX_RECORDS &&
           pthread_cond_timedwait(&a->work_cv, &a->mu, &until) == 0)
        ;
    a->writer_lingering = false;
}

static void *writer_main(void *p)
{
    struct ksm_audit *a = p;
    ksm_thread_name("ksm-audit");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->pending->n && !a->stop_writer) {
            a->writer_idle = true;
            pthread_cond_wait(&a->work_cv, &a->mu);
        }
        a->writer_idle = false;
        if (!a->pending->n)
            break;
        linger(a);
        struct ksm_audit_batch *b = a->pending;
        a->pending = batch_get(a);
        a->pending_waiters = 0;
        pthread_mutex_unlock(&a->mu);
        int rc = commit_batch(a, b);
        if (a->out.cap > KEEP_BYTES)
            ksm_buf_free(&a->out);
        pthread_mutex_lock(&a->mu);
        if (rc)
            b->seg = 0;   /* not written: the indexer skips it */
        __atomic_store_n(&a->durable_seq, b->ents[b->n - 1].seq, __ATOMIC_RELAXED);
        batch_written(a, b);
        if (a->index_tail)
            a->index_tail->next = b;
        else
            a->index_head = b;
        a->index_tail = b;
        pthread_cond_signal(&a->index_cv);
        pthread_cond_broadcast(&a->done_cv);
    }
    pthread_mutex_unlock(&a->mu);
    seal_at_close(a);
    return NULL;
}

/* ---- the indexer thread ---- */

/* Waits for batches, and then a little longer unless someone flushes: one transaction over many
 * batches touches each index page once instead of once per batch, which is what keeps the index
 * from eating the CPU and disk time that group commit needs. */
static struct ksm_audit_batch *index_take(struct ksm_audit *a)
{
    while (!a->index_head && !a->stop_indexer)
        pthread_cond_wait(&a->index_cv, &a->mu);
    struct timespec until = ksm_deadline_ns(CLOCK_REALTIME, INDEX_LINGER_MS * 1000000ull);
    while (a->index_head && !a->stop_indexer && !a->flush_waiters &&
           pthread_cond_timedwait(&a->index_cv, &a->mu, &until) == 0)
        ;
    struct ksm_audit_batch *list = a->index_head;
    a->index_head = a->index_tail = NULL;
    return list;
}

/* Indexes what the writer made durable. After a failed transaction the index has a hole, so the
 * next round fills it from the segments instead (up to the round's last record) before going on. */
static void index_list(struct ksm_audit *a, const struct ksm_audit_batch *list, uint64_t last,
                       bool *behind)
{
    char err[256];
    if (!*behind && !ksm_audit_index_batches(&a->index, list))
        return;
    *behind = true;
    if (ksm_audit_index_catch_up(&a->index, a->dir, last, err, sizeof err)) {
        ksm_error("audit: index update failed (%s); retried with the next records, and at the "
                  "next open", err);
        return;
    }
    *behind = false;
}

static void *indexer_main(void *p)
{
    struct ksm_audit *a = p;
    ksm_thread_name("ksm-audit-idx");
    bool behind = false;
    /* background work: below the writer and the request threads (Linux: per-thread nice) */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10))
        ksm_debug("audit: indexer priority unchanged");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        struct ksm_audit_batch *list = index_take(a);
        if (!list)
            break;
        pthread_mutex_unlock(&a->mu);
        uint64_t last = 0;
        for (struct ksm_audit_batch *b = list; b; b = b->next)
            last = b->ents[b->n - 1].seq;
        index_list(a, list, last, &behind);
        pthread_mutex_lock(&a->mu);
        while (list) {
            struct ksm_audit_batch *next = list->next;
            batch_recycle(a, list);
            list = next;
        }
        a->indexed_seq = last;
        pthread_cond_broadcast(&a->done_cv);
        if (a->trim) {   /* what a stalled disk made the queue hold goes back to the system */
            a->trim = false;
            pthread_mutex_unlock(&a->mu);
            malloc_trim(0);
            pthread_mutex_lock(&a->mu);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- open, flush, close ---- */

static int check_opts(const struct ksm_audit_opts *in, struct ksm_audit_opts *o, char *err,
                      size_t errlen)
{
    *o = *in;
    if (o->retention_days < KSM_AUDIT_MIN_RETENTION_DAYS) {
        snprintf(err, errlen, "audit retention_days %d is below the minimum of %d days",
                 o->retention_days, KSM_AUDIT_MIN_RETENTION_DAYS);
        return -1;
    }
    if (o->group_commit_ms <= 0)
        o->group_commit_ms = 10;
    if (!o->segment_bytes)
        o->segment_bytes = (size_t)64 << 20;
    if (!o->env_name)
        o->env_name = "";
    if (strlen(o->env_name) >= 64) {
        snprintf(err, errlen, "audit env_name too long");
        return -1;
    }
    return 0;
}

static void unlink_index(const char *dir)
{
    static const char *const names[] = {"index.db", "index.db-wal", "index.db-shm"};
    char path[4096];
    for (size_t i = 0; i < KSM_NELEM(names); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* Opens the index, or starts a fresh one if the file is unusable or has an older layout: the log
 * is the truth. */
static int open_index(struct ksm_audit *a, uint64_t last_seq, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", a->dir);
    if (ksm_audit_index_open(&a->index, path, a->opts.facet, err, errlen) == 0) {
        if (ksm_audit_index_catch_up(&a->index, a->dir, last_seq, err, errlen) == 0)
            return 0;
        ksm_audit_index_close(&a->index);
    }
    ksm_warn("audit: %s; rebuilding the index from the segments", err);
    unlink_index(a->dir);
    if (ksm_audit_index_open(&a->index, path, a->opts.facet, err, errlen))
        return -1;
    if (ksm_audit_index_catch_up(&a->index, a->dir, last_seq, err, errlen)) {
        ksm_audit_index_close(&a->index);
        return -1;
    }
    return 0;
}

static int start_segment_state(struct ksm_audit *a, const struct ksm_audit_tail *t, char *err,
                               size_t errlen)
{
    a->fd = -1;
    a->seg = t->seg;
    a->seg_size = t->seg_size;
    a->last_seq = t->last_seq;
    a->assigned_seq = a->durable_seq = a->indexed_seq = t->last_seq;
    memcpy(a->prev, t->last_hash, sizeof a->prev);
    if (!t->seg || t->sealed)
        return 0;   /* the next batch starts a new segment */
    /* a segment left open by a crash is continued: its signed tail was checked by recovery */
    char path[4096], name[KSM_AUDIT_SEG_NAME];
    ksm_audit_seg_name(t->seg, name);
    snprintf(path, sizeof path, "%s/%s", a->dir, name);
    a->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (a->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ksm_audit_open(struct ksm_audit **out, const char *dir, const char *key_path,
                   const struct ksm_audit_opts *opts, char *err, size_t errlen)
{
    struct ksm_audit_opts o;
    struct ksm_audit_tail tail;
    *out = NULL;
    if (check_opts(opts, &o, err, errlen))
        return -1;
    struct ksm_audit *a = ksm_xcalloc(1, sizeof *a);
    a->dir = ksm_xstrdup(dir);
    a->opts = o;
    snprintf(a->env, sizeof a->env, "%s", o.env_name);
    a->opts.env_name = a->env;
    a->fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->stats_mu, NULL);
    pthread_cond_init(&a->work_cv, NULL);
    pthread_cond_init(&a->index_cv, NULL);
    pthread_cond_init(&a->done_cv, NULL);
    a->pending = batch_get(a);
    if (ksm_mkdir_p(dir, 0700)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (!(a->key = ksm_audit_key_load(key_path, err, errlen)) ||
        ksm_audit_recover(dir, a->key, &tail, err, errlen) ||
        start_segment_state(a, &tail, err, errlen) || open_index(a, tail.last_seq, err, errlen))
        goto fail;
    if (pthread_create(&a->writer, NULL, writer_main, a)) {
        snprintf(err, errlen, "cannot start the audit writer thread");
        goto fail;
    }
    if (pthread_create(&a->indexer, NULL, indexer_main, a)) {
        snprintf(err, errlen, "cannot start the audit index thread");
        pthread_mutex_lock(&a->mu);
        a->stop_writer = true;
        pthread_cond_signal(&a->work_cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->writer, NULL);
        goto fail;
    }
    ksm_info("audit: %s open at seq %" PRIu64 ", segment %" PRIu32, dir, tail.last_seq, a->seg);
    *out = a;
    return 0;
fail:
    if (a->fd >= 0)
        close(a->fd);
    ksm_audit_index_close(&a->index);
    EVP_PKEY_free(a->key);
    batch_free(a->pending);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->stats_mu);
    pthread_cond_destroy(&a->work_cv);
    pthread_cond_destroy(&a->index_cv);
    pthread_cond_destroy(&a->done_cv);
    free(a->dir);
    free(a);
    return -1;
}

void ksm_audit_flush(struct ksm_audit *a)
{
    /* waits for the index too, so a query right after a flush sees every flushed record */
    pthread_mutex_lock(&a->mu);
    uint64_t target = a->assigned_seq;
    a->flush_waiters++;
    pthread_cond_signal(&a->index_cv);
    pthread_cond_signal(&a->work_cv);   /* a lingering writer commits now */
    while (a->indexed_seq < target)
        pthread_cond_wait(&a->done_cv, &a->mu);
    a->flush_waiters--;
    pthread_mutex_unlock(&a->mu);
}

void ksm_audit_close(struct ksm_audit *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop_writer = true;
    pthread_cond_signal(&a->work_cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->writer, NULL);
    pthread_mutex_lock(&a->mu);
    a->stop_indexer = true;
    pthread_cond_signal(&a->index_cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->indexer, NULL);
    ksm_audit_index_close(&a->index);
    EVP_PKEY_free(a->key);
    batch_free(a->pending);
    batch_free(a->free_list);
    ksm_buf_free(&a->spare_body);
    ksm_buf_free(&a->out);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->stats_mu);
    pthread_cond_destroy(&a->work_cv);
    pthread_cond_destroy(&a->index_cv);
    pthread_cond_destroy(&a->done_cv);
    free(a->dir);
    free(a);
}

int ksm_audit_public_key_pem(struct ksm_audit *a, struct ksm_buf *out)
{
    return ksm_audit_pubkey_pem(a->key, out);
}

int ksm_audit_sign_document(struct ksm_audit *a, const void *msg, size_t n, unsigned char sig[64])
{
    return ksm_audit_sign(a->key, msg, n, sig);
}

void ksm_audit_stats(struct ksm_audit *a, struct ksm_audit_stats *out)
{
    pthread_mutex_lock(&a->stats_mu);
    *out = a->stats;
    pthread_mutex_unlock(&a->stats_mu);
}
