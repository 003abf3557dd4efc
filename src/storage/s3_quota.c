/* s3_quota.c — per-project storage quotas (bytes and objects), enforced before a write is taken.
 *
 * A write reserves what it will add (a PutObject its declared length and one object, less what the
 * object it replaces held; an UploadPart its length; a copy its length and one object; a
 * completion one object) against usage + the reservations of writes still in flight, under one
 * mutex shared by every worker, so that concurrent uploads at the edge never take the project past
 * its quota: the first ones that fit are admitted, the rest get QuotaExceeded before their body is
 * read. When the write is durable its reservation becomes usage; a write that fails or is dropped
 * releases it (s3_free does, whatever the path).
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

enum ksm_err ksm_s3_quota_reserve(struct s3_req *s, int64_t bytes, int64_t objects,
                                  int64_t credit_bytes, int64_t credit_objects)
{
    const char *project = s->bucket.project;
    enum ksm_err e = refresh(&s->r->worker->db, project, ksm_now_ms());
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
        snprintf(s->detail, sizeof s->detail, "quota=%s limit=%lld used=%lld in_flight=%lld",
                 over, (long long)(*over == 'b' ? q->lim.max_bytes : q->lim.max_objects),
                 (long long)(*over == 'b' ? q->used_bytes : q->used_objects),
                 (long long)(*over == 'b' ? q->resv_bytes : q->resv_objects));
        s->quota_msg = ksm_arena_printf(
            s->r->arena, "The project's storage quota of %lld %s would be exceeded (%lld stored)",
            (long long)(*over == 'b' ? q->lim.max_bytes : q->lim.max_objects), over,
            (long long)(*over == 'b' ? q->used_bytes : q->used_objects));
        pthread_mutex_unlock(&mu);
        return KSM_E_QUOTA_EXCEEDED;
    }
    q->resv_bytes += rb;
    q->resv_objects += ro;
    pthread_mutex_unlock(&mu);
    s->quota_bytes = rb;
    s->quota_objects = ro;
    s->quota_held = true;
    if (bytes < credit_bytes || objects < credit_objects)
        ksm_s3_quota_shrunk(s);   /* the write frees more than it takes: re-read after it */
    return KSM_E_OK;
}

static void settle(struct s3_req *s, bool used)
{
    if (!s->quota_held)
        return;
    pthread_mutex_lock(&mu);
    struct qstate *q = state(s->bucket.project);
    q->resv_bytes -= s->quota_bytes;
    q->resv_objects -= s->quota_objects;
    if (used) {
        q->used_bytes += s->quota_bytes;
        q->used_objects += s->quota_objects;
    }
    pthread_mutex_unlock(&mu);
    s->quota_held = false;
}

void ksm_s3_quota_commit(struct s3_req *s) { settle(s, true); }
void ksm_s3_quota_release(struct s3_req *s) { settle(s, false); }
