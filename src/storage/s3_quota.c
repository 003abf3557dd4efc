/* s3_quota.c — per-project storage quotas (bytes and objects), enforced before a write is taken.
 *
 * A write reserves what it will add (a PutObject its declared length and one object, less what the
 * object it replaces held; an UploadPart its length; a copy its length and one object; a
 * completion one object) against usage + the reservations of writes still in flight, under one
 * mutex shared by every worker, so that concurrent uploads at the edge never take the project past
 * its quota: the first ones that fit are admitted, the rest get QuotaExceeded before their body is
 * read. When the write is durable its reservation becomes usage; a write that fails or is dropped
 * releases it (s3_free does, whatever the path). The admin API's streamed uploads (the console's)
 * take their reservation from the same table (ksm_quota_reserve), so the two never overshoot
 * together.
 *
 * Usage is read from the metadata (the truth) when first needed, every minute, and at most once a
 * second when something may have shrunk it in a way not counted here (aborts, overwrites by a
 * smaller object, completions: they mark it stale). Deletes subtract what they freed at once, so a
 * delete makes room for the next upload; a read of the metadata that overlaps a delete is thrown
 * away, since it may already include what the delete then subtracts. Otherwise usage only grows
 * by the writes admitted here, so it may be counted high for a moment, never low: a quota can
 * refuse a write that would just fit, never admit one that does not. Projects with no quota cost
 * nothing: no reservation is taken. */
#include "storage/s3_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_server.h"

#define QUOTA_TTL_MS 5000     /* the limits, re-read (an admin change also invalidates at once) */
#define SYNC_MIN_MS 1000      /* a stale usage is re-read at most this often */
#define SYNC_MAX_MS 60000     /* and in any case this often */
#define QUOTA_SLOTS 64

struct qstate {
    struct qstate *next;
    char project[40];
    struct ksm_store_quota lim;
    int64_t lim_at;                    /* 0: not read */
    int64_t used_bytes, used_objects;
    int64_t synced_at;                 /* 0: never */
    bool stale;
    uint64_t gen;                      /* bumped by every stale mark: a read racing one stays stale */
    int deleting;                      /* deletes between their commit and their subtraction */
    uint64_t deletes;                  /* deletes subtracted so far */
    int64_t resv_bytes, resv_objects;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct qstate *slots[QUOTA_SLOTS];

static struct qstate *state(const char *project)   /* under mu */
{
    unsigned h = 5381;
    for (const char *p = project; *p; p++)
        h = h * 33 + (unsigned char)*p;
    struct qstate **head = &slots[h % QUOTA_SLOTS];
    for (struct qstate *q = *head; q; q = q->next)
        if (!strcmp(q->project, project))
            return q;
    struct qstate *q = ksm_xcalloc(1, sizeof *q);
    snprintf(q->project, sizeof q->project, "%s", project);
    q->next = *head;
    *head = q;
    return q;
}

void ksm_s3_quota_changed(const char *project)
{
    pthread_mutex_lock(&mu);
    struct qstate *q = state(project);
    q->lim_at = 0;
    q->synced_at = 0;   /* usage is not kept without a limit: read it afresh */
    q->stale = true;
    q->gen++;
    pthread_mutex_unlock(&mu);
}

void ksm_s3_quota_delete_begin(struct s3_req *s)
{
    pthread_mutex_lock(&mu);
    state(s->bucket.project)->deleting++;
    pthread_mutex_unlock(&mu);
}

void ksm_s3_quota_delete_end(struct s3_req *s, uint64_t bytes, uint64_t objects, bool unsure)
{
    pthread_mutex_lock(&mu);
    struct qstate *q = state(s->bucket.project);
    q->deleting--;
    q->deletes++;
    if (q->synced_at) {
        q->used_bytes -= (int64_t)bytes;
        q->used_objects -= (int64_t)objects;
    }
    if (unsure) {   /* e.g. an empty object: freed nothing, but was it there? */
        q->stale = true;
        q->gen++;
    }
    pthread_mutex_unlock(&mu);
}

void ksm_s3_quota_shrunk(struct s3_req *s)
{
    if (s->have_bucket)
        ksm_s3_quota_changed(s->bucket.project);
}

/* Reads the limits and, when due, the usage, outside the mutex (a usage read scans the project). */
static enum ksm_err refresh(struct ksm_db *db, const char *project, int64_t now)
{
    pthread_mutex_lock(&mu);
    struct qstate *q = state(project);
    bool need_lim = !q->lim_at || now - q->lim_at > QUOTA_TTL_MS;
    pthread_mutex_unlock(&mu);
    struct ksm_store_quota lim;
    if (need_lim) {
        enum ksm_err e = ksm_store_quota_get(db, project, &lim);
        if (e != KSM_E_OK && e != KSM_E_NOT_FOUND)
            return e;
    }
    pthread_mutex_lock(&mu);
    if (need_lim) {
        q->lim = lim;
        q->lim_at = now;
    }
    bool limited = q->lim.max_bytes >= 0 || q->lim.max_objects >= 0;
    bool need_sync = limited && (!q->synced_at || now - q->synced_at > SYNC_MAX_MS ||
                                 (q->stale && now - q->synced_at >= SYNC_MIN_MS));
    uint64_t gen = q->gen, deletes = q->deletes;
    need_sync = need_sync && !(q->synced_at && q->deleting);   /* keep the old, exact, figures */
    pthread_mutex_unlock(&mu);
    if (!need_sync)
        return KSM_E_OK;
    int64_t bytes, objects;
    enum ksm_err e = ksm_store_project_usage(db, project, &bytes, &objects);
    if (e != KSM_E_OK)
        return e;
    pthread_mutex_lock(&mu);
    bool overlapped = q->deleting || q->deletes != deletes;
    if (overlapped && q->synced_at) {
        /* a delete overlapped the read and subtracts from the live figures: the read may already
         * lack that object, and taking it would count the delete twice; keep the figures */
        pthread_mutex_unlock(&mu);
        return KSM_E_OK;
    }
    /* a first read: deletes overlapping it subtracted nothing, so it can only count high */
    q->used_bytes = bytes;
    q->used_objects = objects;
    q->synced_at = now;
    if (q->gen == gen && !overlapped)
        q->stale = false;
    pthread_mutex_unlock(&mu);
    return KSM_E_OK;
}

static int64_t pos(int64_t v) { return v > 0 ? v : 0; }

enum ksm_err ksm_quota_reserve(struct ksm_db *db, struct ksm_quota_hold *h, const char *project,
                               int64_t bytes, int64_t objects, int64_t credit_bytes,
                               int64_t credit_objects, char *why, size_t why_len, char *detail,
                               size_t detail_len)
{
    enum ksm_err e = refresh(db, project, ksm_now_ms());
    if (e != KSM_E_OK)
        return e;
    int64_t rb = pos(bytes - credit_bytes), ro = pos(objects - credit_objects);
    pthread_mutex_lock(&mu);
    struct qstate *q = state(project);
    if (q->lim.max_bytes < 0 && q->lim.max_objects < 0) {
        pthread_mutex_unlock(&mu);
        return KSM_E_OK;
    }
    const char *over = NULL;
    if (q->lim.max_bytes >= 0 && rb && q->used_bytes + q->resv_bytes + rb > q->lim.max_bytes)
        over = "bytes";
    else if (q->lim.max_objects >= 0 && ro &&
             q->used_objects + q->resv_objects + ro > q->lim.max_objects)
        over = "objects";
    if (over) {
        bool by = *over == 'b';
        snprintf(detail, detail_len, "quota=%s limit=%lld used=%lld in_flight=%lld", over,
                 (long long)(by ? q->lim.max_bytes : q->lim.max_objects),
                 (long long)(by ? q->used_bytes : q->used_objects),
                 (long long)(by ? q->resv_bytes : q->resv_objects));
        snprintf(why, why_len, "The project's storage quota of %lld %s would be exceeded (%lld stored)",
                 (long long)(by ? q->lim.max_bytes : q->lim.max_objects), over,
                 (long long)(by ? q->used_bytes : q->used_objects));
        pthread_mutex_unlock(&mu);
        return KSM_E_QUOTA_EXCEEDED;
    }
    q->resv_bytes += rb;
    q->resv_objects += ro;
    pthread_mutex_unlock(&mu);
    if (!h->held) {
        snprintf(h->project, sizeof h->project, "%s", project);
        h->bytes = h->objects = 0;
    }
    h->bytes += rb;
    h->objects += ro;
    h->held = true;
    if (bytes < credit_bytes || objects < credit_objects)
        ksm_s3_quota_changed(project);   /* the write frees more than it takes: re-read after it */
    return KSM_E_OK;
}

void ksm_quota_settle(struct ksm_quota_hold *h, bool used)
{
    if (!h->held)
        return;
    pthread_mutex_lock(&mu);
    struct qstate *q = state(h->project);
    q->resv_bytes -= h->bytes;
    q->resv_objects -= h->objects;
    if (used) {
        q->used_bytes += h->bytes;
        q->used_objects += h->objects;
    }
    pthread_mutex_unlock(&mu);
    h->held = false;
}

enum ksm_err ksm_s3_quota_reserve(struct s3_req *s, int64_t bytes, int64_t objects,
                                  int64_t credit_bytes, int64_t credit_objects)
{
    char why[200];
    enum ksm_err e = ksm_quota_reserve(&s->r->worker->db, &s->quota, s->bucket.project, bytes,
                                       objects, credit_bytes, credit_objects, why, sizeof why,
                                       s->detail, sizeof s->detail);
    if (e == KSM_E_QUOTA_EXCEEDED)
        s->quota_msg = ksm_arena_strdup(s->r->arena, why);
    return e;
}

void ksm_s3_quota_commit(struct s3_req *s) { ksm_quota_settle(&s->quota, true); }
void ksm_s3_quota_release(struct s3_req *s) { ksm_quota_settle(&s->quota, false); }
