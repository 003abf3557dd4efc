/* usage_writer.c — one thread, one queue, one transaction per batch. */
#include "meter/usage_writer.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

#define LINGER_MS 5      /* well inside the group-commit window the usage record is promised in */
#define LINGER_MAX 4096  /* a batch this large is committed without waiting */
#define RETRY_MS 200     /* between attempts while the database will not take a batch */
#define STOP_ATTEMPTS 25 /* at stop, give up on such a batch after this many (about 5 s + timeouts) */
#define TRIM_BYTES (4u << 20)   /* a batch this large (the disk stalled) is given back once written */

struct item {
    struct item *next;
    uint32_t size;              /* of this allocation, for ksm_usage_backlog_bytes */
    enum ksm_err result;        /* of its write in a summed batch, logged once the batch holds */
    struct ksm_usage_rec rec;   /* its strings are copies in text[], one allocation per record */
    char text[];
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct item *head, *tail;
    uint64_t submitted, committed;
    uint64_t held_bytes;        /* of the records submitted and not yet written */
    bool stop, running, lingering;
    int flushing;
    pthread_t thread;
    struct ksm_db db;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

/* Copies s to *at (NULL stays NULL) and moves *at past it. */
static const char *own(char **at, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = memcpy(*at, s, n + 1);
    *at += n + 1;
    return d;
}

/* The record's strings, of which an item holds its own copies. */
#define NSTRINGS 10
static void strings(struct ksm_usage_rec *r, const char **s[NSTRINGS])
{
    const char **all[NSTRINGS] = {&r->tenant,   &r->project,         &r->service,
                                  &r->meter,    &r->idempotency_key, &r->request_id,
                                  &r->resource, &r->details,         &r->key_id,
                                  &r->user_id};
    memcpy(s, all, sizeof all);
}

void ksm_usage_submit(const struct ksm_usage_rec *rec)
{
    struct ksm_usage_rec r = *rec;
    const char **f[NSTRINGS];
    size_t len[NSTRINGS], total = 0;
    strings(&r, f);
    for (size_t i = 0; i < NSTRINGS; i++)
        total += *f[i] ? (len[i] = strlen(*f[i])) + 1 : (len[i] = 0);
    struct item *it = ksm_xmalloc(sizeof *it + total);
    char *at = it->text;
    it->next = NULL;
    it->size = (uint32_t)(sizeof *it + total);
    it->rec = r;
    strings(&it->rec, f);
    for (size_t i = 0; i < NSTRINGS; i++)
        *f[i] = own(&at, *f[i], len[i]);
    if (!it->rec.time_ms)
        it->rec.time_ms = ksm_now_ms();   /* "now" is submit time, not commit time */
    pthread_mutex_lock(&W.mu);
    while (W.held_bytes > KSM_USAGE_HOLD_MAX && W.running && !W.stop)   /* see usage_writer.h */
        pthread_cond_wait(&W.done, &W.mu);
    if (W.tail)
        W.tail->next = it;
    else
        W.head = it;
    W.tail = it;
    __atomic_store_n(&W.submitted, W.submitted + 1, __ATOMIC_RELAXED);   /* read by ksm_usage_backlog */
    __atomic_store_n(&W.held_bytes, W.held_bytes + it->size, __ATOMIC_RELAXED);
    if (!W.lingering || W.submitted - W.committed >= LINGER_MAX)
        pthread_cond_signal(&W.work);
    pthread_mutex_unlock(&W.mu);
}

uint64_t ksm_usage_backlog(void)
{
    uint64_t committed = __atomic_load_n(&W.committed, __ATOMIC_RELAXED);
    uint64_t submitted = __atomic_load_n(&W.submitted, __ATOMIC_RELAXED);
    return submitted > committed ? submitted - committed : 0;
}

uint64_t ksm_usage_backlog_bytes(void)
{
    return __atomic_load_n(&W.held_bytes, __ATOMIC_RELAXED);
}

enum batch_result { BATCH_DONE, BATCH_BY_RECORD, BATCH_UNAVAILABLE };

/* The batch with its rollup summed per key (usage.h): one transaction, all or nothing. With the
 * transaction rolled back and nothing logged: BATCH_BY_RECORD when a record or the rollup met a
 * database error (the caller then writes the batch record by record, to set that one aside), and
 * BATCH_UNAVAILABLE when the database would not take a transaction at all (locked past the busy
 * timeout, or the commit failed). */
static enum batch_result write_batch_summed(struct item *batch)
{
    if (ksm_db_begin(&W.db) != SQLITE_OK)
        return BATCH_UNAVAILABLE;
    ksm_usage_rollup_batch_begin();
    for (struct item *it = batch; it; it = it->next)
        if ((it->result = ksm_usage_record(&W.db, &it->rec)) == KSM_E_INTERNAL)
            goto redo;
    if (ksm_usage_rollup_batch_end(&W.db))
        goto redo;
    if (ksm_db_commit(&W.db) != SQLITE_OK) {
        ksm_error("usage: commit failed: %s", sqlite3_errmsg(W.db.h));
        ksm_db_rollback(&W.db);
        return BATCH_UNAVAILABLE;
    }
    for (struct item *it = batch; it; it = it->next)   /* refusals, now that they are final */
        if (it->result != KSM_E_OK)
            ksm_error("usage: record %s refused: %s", it->rec.idempotency_key,
                      ksm_err_code(it->result));
    return BATCH_DONE;
redo:
    ksm_usage_rollup_batch_abort();
    ksm_db_rollback(&W.db);
    return BATCH_BY_RECORD;
}

/* False when nothing of the batch could be written: the writer keeps it and tries again. A record
 * the database refuses on its own is logged and left out; the others are written. */
static bool write_batch(struct item *batch)
{
    enum batch_result b = write_batch_summed(batch);
    if (b != BATCH_BY_RECORD)
        return b == BATCH_DONE;
    if (ksm_db_begin(&W.db) != SQLITE_OK)
        return false;
    for (struct item *it = batch; it; it = it->next) {
        enum ksm_err e = ksm_usage_record(&W.db, &it->rec);
        if (e != KSM_E_OK)
            ksm_error("usage: record %s refused: %s", it->rec.idempotency_key, ksm_err_code(e));
    }
    if (ksm_db_commit(&W.db) != SQLITE_OK) {
        ksm_error("usage: commit failed: %s", sqlite3_errmsg(W.db.h));
        ksm_db_rollback(&W.db);
        return false;
    }
    return true;
}

/* Nobody waits on a usage record: let the batch grow for a few ms, so one commit (one fsync)
 * carries many records; a flush or stop ends the wait. */
static void linger(void)
{
    struct timespec until = ksm_deadline_ns(CLOCK_REALTIME, LINGER_MS * 1000000ull);
    W.lingering = true;
    while (!W.stop && !W.flushing && W.submitted - W.committed < LINGER_MAX &&
           pthread_cond_timedwait(&W.work, &W.mu, &until) == 0)
        ;
    W.lingering = false;
}

/* Waits before trying a batch the database would not take again; a stop cuts the wait short. */
static void pause_retry(void)
{
    struct timespec until = ksm_deadline_ns(CLOCK_REALTIME, RETRY_MS * 1000000ull);
    while (!W.stop && pthread_cond_timedwait(&W.work, &W.mu, &until) == 0)
        ;
}

static void *writer_main(void *arg)
{
    (void)arg;
    ksm_thread_name("ksm-usage");
    struct item *batch = NULL;   /* kept across attempts while the database will not take it */
    int failures = 0;
    pthread_mutex_lock(&W.mu);
    for (;;) {
        while (!batch && !W.head && !W.stop)
            pthread_cond_wait(&W.work, &W.mu);
        if (!batch && !W.head && W.stop)
            break;
        if (!batch)
            linger();
        struct item **end = &batch;   /* what arrived meanwhile joins the kept batch, in order */
        while (*end)
            end = &(*end)->next;
        *end = W.head;
        uint64_t upto = W.submitted;
        W.head = W.tail = NULL;
        pthread_mutex_unlock(&W.mu);
        bool ok = write_batch(batch);
        if (!ok && failures++ == 0)
            ksm_warn("usage: the database does not take records now; they are kept and retried");
        if (!ok && __atomic_load_n(&W.stop, __ATOMIC_RELAXED) && failures >= STOP_ATTEMPTS) {
            size_t n = 0;
            for (struct item *it = batch; it; it = it->next)
                n++;
            ksm_error("usage: stopping; %zu records the database would not take are lost", n);
            ok = true;   /* nothing more can be done for them */
        } else if (ok && failures > 0) {
            ksm_info("usage: the database takes records again");
        }
        size_t freed = 0;
        if (ok) {
            while (batch) {
                struct item *n = batch->next;
                freed += batch->size;
                free(batch);
                batch = n;
            }
            failures = 0;
            if (freed > TRIM_BYTES)   /* the heap grew while the disk stalled: give it back */
                malloc_trim(0);
        }
        pthread_mutex_lock(&W.mu);
        if (batch) {
            pause_retry();
            continue;
        }
        __atomic_store_n(&W.committed, upto, __ATOMIC_RELAXED);
        __atomic_store_n(&W.held_bytes, W.held_bytes - freed, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&W.done);
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

int ksm_usage_writer_start(const char *db_path, char *err, size_t errlen)
{
    if (ksm_db_open(&W.db, db_path, err, errlen))
        return -1;
    W.stop = false;
    if (pthread_create(&W.thread, NULL, writer_main, NULL)) {
        snprintf(err, errlen, "usage writer: cannot start a thread");
        ksm_db_close(&W.db);
        return -1;
    }
    W.running = true;
    return 0;
}

void ksm_usage_writer_flush(void)
{
    pthread_mutex_lock(&W.mu);
    uint64_t want = W.submitted;
    W.flushing++;
    pthread_cond_signal(&W.work);
    while (W.running && W.committed < want)
        pthread_cond_wait(&W.done, &W.mu);
    W.flushing--;
    pthread_mutex_unlock(&W.mu);
}

void ksm_usage_writer_stop(void)
{
    if (!W.running)
        return;
    pthread_mutex_lock(&W.mu);
    __atomic_store_n(&W.stop, true, __ATOMIC_RELAXED);
    pthread_cond_signal(&W.work);
    pthread_mutex_unlock(&W.mu);
    pthread_join(W.thread, NULL);
    W.running = false;
    ksm_db_close(&W.db);
}
