/* erase_run.c — the erasure job: a thread of its own that takes confirmed erasures one at a time
 * through four durable steps, each ending with the job's new state in the same transaction as its
 * work, so that a crash (kill -9 included) resumes at the step it interrupted:
 *
 *   confirmed        → keys_destroyed    the buckets' contents counted, their keys (and, for a
 *                                        tenant, its key) destroyed: crypto-erasure, at once
 *   keys_destroyed   → metadata_removed  per bucket, one transaction: every row deleted, the
 *                                        ciphertext they referenced listed in erasure_extents
 *   metadata_removed → data_wiped        files unlinked, pack extents punched out (idempotent)
 *   data_wiped       → done              WAL checkpointed (TRUNCATE), tenant marked erased,
 *                                        the signed report stored
 *
 * secure_delete (ksm_db_open) zeroes what every DELETE frees, and the checkpoint empties the WAL,
 * so neither the wrapped keys nor the objects' metadata stay in the database files. */
#include "lifecycle/erase.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/log.h"
#include "core/util.h"
#include "iam/iam.h"
#include "kms/kms.h"
#include "storage/store.h"

struct ksm_erase {
    struct ksm_erase_opts o;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, woken;
    struct ksm_db db;
};

struct job {
    char id[48], tenant[48], scope[16], target[48], state[24];
};

/* report (erase_report.c) */
json_t *ksm_erase__report_build(struct ksm_db *db, const char *job, int users, int groups);
/* the tenant's configuration and declarations (erase_config.c) */
enum ksm_err ksm_erase__purge_tenant_config(struct ksm_db *db, const char *tenant, int *rows);

/* Waits ms or until woken or stopped; true when stopping. */
static bool wait_ms(struct ksm_erase *e, int ms, bool wake_early)
{
    struct timespec ts = ksm_deadline_ns(CLOCK_REALTIME, (uint64_t)ms * 1000000u);
    pthread_mutex_lock(&e->mu);
    while (!e->stop && !(wake_early && e->woken))
        if (pthread_cond_timedwait(&e->cv, &e->mu, &ts) == ETIMEDOUT)
            break;
    if (wake_early)
        e->woken = false;
    bool stop = e->stop;
    pthread_mutex_unlock(&e->mu);
    return stop;
}

static enum ksm_err set_state(struct ksm_db *db, const char *id, const char *state)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE erasure_jobs SET state=?2,"
                                          " started_at=ifnull(started_at, ?3) WHERE id=?1");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ksm_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static enum ksm_err commit(struct ksm_db *db, enum ksm_err e)
{
    if (e == KSM_E_OK && ksm_db_commit(db) == SQLITE_OK)
        return KSM_E_OK;
    ksm_db_rollback(db);
    return e == KSM_E_OK ? KSM_E_INTERNAL : e;
}

/* The WAL holds the frames of every deleted row until a checkpoint copies the (zeroed) pages back
 * and truncates it; a reader in the middle of a transaction holds it back, so try for a while. */
static void checkpoint(struct ksm_erase *e)
{
    for (int i = 0; i < 50; i++) {
        int nlog = -1, nckpt = -1;
        int rc = sqlite3_wal_checkpoint_v2(e->db.h, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
        if (rc == SQLITE_OK)
            return;
        if (wait_ms(e, 100, false))
            return;
    }
    ksm_warn("erasure: the WAL checkpoint stayed busy; it is overwritten at the next checkpoint");
}

/* ---- step 1: count, then destroy the keys ---- */

struct keys_ctx {
    struct ksm_db *db;
    const char *job, *kind, *owner;
    enum ksm_err e;
};

static void record_key(void *arg, const char *key_id, uint32_t version, const char *state)
{
    struct keys_ctx *k = arg;
    sqlite3_stmt *st = ksm_db_prepare(k->db, "INSERT OR IGNORE INTO erasure_keys(job, key_id, kind,"
                                             " owner, version) VALUES(?1,?2,?3,?4,?5)");
    sqlite3_bind_text(st, 1, k->job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, k->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, version);
    if (sqlite3_step(st) != SQLITE_DONE)
        k->e = KSM_E_INTERNAL;
    sqlite3_reset(st);
}

/* Destroys an owner's key and lists its versions; a key destroyed already (a resumed job, or an
 * earlier destroy through the kms API) is listed too. */
static enum ksm_err destroy_key(struct ksm_erase *e, const struct job *j, enum ksm_kms_kind kind,
                                const char *owner)
{
    enum ksm_err r = ksm_kms_key_destroy(e->o.kms, &e->db, kind, owner);
    if (r != KSM_E_OK && r != KSM_E_KEY_DESTROYED && r != KSM_E_NOT_FOUND)
        return r;
    struct keys_ctx k = {&e->db, j->id, kind == KSM_KMS_TENANT ? "tenant" : "bucket", owner,
                         KSM_E_OK};
    r = ksm_kms_key_versions(&e->db, kind, owner, record_key, &k);
    return r == KSM_E_NOT_FOUND ? k.e : r != KSM_E_OK ? r : k.e;
}

static enum ksm_err count_bucket(struct ksm_db *db, const char *job, const struct ksm_bucket *b)
{
    struct ksm_store_erase_counts c;
    enum ksm_err e = ksm_store_erase_counts(db, b->id, &c);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT OR IGNORE INTO erasure_buckets(job, bucket_id, name, project, region, objects,"
            " object_bytes, versions, version_bytes, delete_markers, uploads, parts, part_bytes)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)");
    const char *t[] = {job, b->id, b->name, b->project, b->region};
    for (int i = 0; i < 5; i++)
        sqlite3_bind_text(st, i + 1, t[i], -1, SQLITE_TRANSIENT);
    const uint64_t v[] = {c.objects, c.object_bytes, c.versions, c.version_bytes,
                          c.delete_markers, c.uploads, c.parts, c.part_bytes};
    for (int i = 0; i < 8; i++)
        sqlite3_bind_int64(st, i + 6, (int64_t)v[i]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static bool in_scope(const struct job *j, const struct ksm_bucket *b)
{
    if (!strcmp(j->scope, "bucket"))
        return !strcmp(b->id, j->target);
    return true; /* tenant: all; project: listed by project */
}

static enum ksm_err step_keys(struct ksm_erase *e, const struct job *j)
{
    struct ksm_bucket *bs = NULL;
    size_t n = 0;
    if (ksm_db_begin(&e->db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    enum ksm_err r = ksm_store_bucket_list(&e->db, j->tenant,
                                           !strcmp(j->scope, "project") ? j->target : NULL, &bs, &n);
    for (size_t i = 0; r == KSM_E_OK && i < n; i++) {
        if (!in_scope(j, &bs[i]))
            continue;
        r = count_bucket(&e->db, j->id, &bs[i]);
        if (r == KSM_E_OK)
            r = destroy_key(e, j, KSM_KMS_BUCKET, bs[i].id);
    }
    free(bs);
    if (r == KSM_E_OK && !strcmp(j->scope, "tenant")) {
        /* a tenant that never had a bucket gets a key only to destroy it: no bucket can be
         * created under an erased tenant afterwards */
        r = ksm_kms_tenant_key_ensure(e->o.kms, &e->db, j->tenant);
        if (r == KSM_E_OK || r == KSM_E_KEY_DESTROYED)
            r = destroy_key(e, j, KSM_KMS_TENANT, j->tenant);
    }
    if (r == KSM_E_OK)
        r = set_state(&e->db, j->id, "keys_destroyed");
    r = commit(&e->db, r);
    if (r == KSM_E_OK)
        checkpoint(e);
    return r;
}

/* ---- step 2: the rows ---- */

struct rows_ctx {
    struct ksm_db *db;
    const char *job, *bucket;
    int64_t seq;
    int64_t files, extents, ct_bytes;
};

static enum ksm_err record_extent(void *arg, const struct ksm_store_extent *x)
{
    struct rows_ctx *c = arg;
    sqlite3_stmt *st = ksm_db_prepare(
        c->db, "INSERT INTO erasure_extents(job, seq, bucket_id, region, in_pack, pack_id, off, len,"
               " uid) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    sqlite3_bind_text(st, 1, c->job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ++c->seq);
    sqlite3_bind_text(st, 3, c->bucket, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, x->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, x->in_pack);
    sqlite3_bind_int64(st, 6, x->pack_id);
    sqlite3_bind_int64(st, 7, (int64_t)x->off);
    sqlite3_bind_int64(st, 8, (int64_t)x->len);
    sqlite3_bind_blob(st, 9, x->uid, sizeof x->uid, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *(x->in_pack ? &c->extents : &c->files) += 1;
    c->ct_bytes += (int64_t)x->len;
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static enum ksm_err remove_bucket_rows(struct ksm_erase *e, const struct job *j, const char *bucket)
{
    struct rows_ctx c = {.db = &e->db, .job = j->id, .bucket = bucket};
    if (ksm_db_begin(&e->db) != SQLITE_OK)
        return KSM_E_INTERNAL;
    sqlite3_stmt *st =
        ksm_db_prepare(&e->db, "SELECT ifnull(max(seq), 0) FROM erasure_extents WHERE job=?1");
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW)
        c.seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    enum ksm_err r = ksm_store_erase_rows(&e->db, bucket, record_extent, &c);
    if (r == KSM_E_OK) {
        st = ksm_db_prepare(&e->db, "UPDATE erasure_buckets SET rows_removed=1, files=?3,"
                                    " pack_extents=?4, ciphertext_bytes=?5"
                                    " WHERE job=?1 AND bucket_id=?2");
        sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, bucket, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, c.files);
        sqlite3_bind_int64(st, 4, c.extents);
        sqlite3_bind_int64(st, 5, c.ct_bytes);
        r = sqlite3_step(st) == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
        sqlite3_reset(st);
    }
    return commit(&e->db, r);
}

static enum ksm_err step_rows(struct ksm_erase *e, const struct job *j)
{
    for (;;) {
        char bucket[48] = "";
        sqlite3_stmt *st = ksm_db_prepare(&e->db, "SELECT bucket_id FROM erasure_buckets WHERE"
                                                  " job=?1 AND rows_removed=0 LIMIT 1");
        sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            snprintf(bucket, sizeof bucket, "%s", ksm_db_col_text(st, 0));
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW)
            return KSM_E_INTERNAL;
        enum ksm_err r = remove_bucket_rows(e, j, bucket);
        if (r != KSM_E_OK)
            return r;
    }
    return set_state(&e->db, j->id, "metadata_removed");
}

/* ---- step 3: the ciphertext ---- */

static enum ksm_err wipe_batch(struct ksm_erase *e, const struct job *j, bool *more)
{
    sqlite3_stmt *st = ksm_db_prepare(
        &e->db, "SELECT seq, region, in_pack, pack_id, off, len, uid FROM erasure_extents"
                " WHERE job=?1 ORDER BY seq LIMIT 256");
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
    struct ksm_store_extent xs[256];
    int64_t seqs[256];
    size_t n = 0;
    int rc;
    while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ksm_store_extent *x = &xs[n];
        memset(x, 0, sizeof *x);
        seqs[n] = sqlite3_column_int64(st, 0);
        snprintf(x->region, sizeof x->region, "%s", ksm_db_col_text(st, 1));
        x->in_pack = sqlite3_column_int(st, 2) != 0;
        x->pack_id = sqlite3_column_int64(st, 3);
        x->off = (uint64_t)sqlite3_column_int64(st, 4);
        x->len = (uint64_t)sqlite3_column_int64(st, 5);
        if (sqlite3_column_bytes(st, 6) == (int)sizeof x->uid)
            memcpy(x->uid, sqlite3_column_blob(st, 6), sizeof x->uid);
        n++;
    }
    sqlite3_reset(st);
    *more = n == 256;
    for (size_t i = 0; i < n; i++) {
        enum ksm_err r = ksm_store_erase_extent(e->o.store, &e->db, &xs[i]);
        if (r != KSM_E_OK)
            return r;
        st = ksm_db_prepare(&e->db, "DELETE FROM erasure_extents WHERE job=?1 AND seq=?2");
        sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, seqs[i]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_reset(st);
            return KSM_E_INTERNAL;
        }
        sqlite3_reset(st);
    }
    return KSM_E_OK;
}

static enum ksm_err step_data(struct ksm_erase *e, const struct job *j)
{
    bool more = true;
    while (more) {
        enum ksm_err r = wipe_batch(e, j, &more);
        if (r != KSM_E_OK)
            return r;
    }
    return set_state(&e->db, j->id, "data_wiped");
}

/* ---- step 4: checkpoint, tenant, report ---- */

static void audit_end(struct ksm_erase *e, const struct job *j)
{
    char detail[96];
    snprintf(detail, sizeof detail, "scope=%s target=%s", j->scope, j->target);
    struct ksm_audit_rec rec = {.principal = "system", .tenant = j->tenant, .source = "kasumid",
                                .action = "erasure.complete", .target = j->id,
                                .outcome = "success", .detail = detail};
    ksm_audit_submit(e->o.audit, &rec, NULL, NULL, NULL);
}

static enum ksm_err step_finish(struct ksm_erase *e, const struct job *j)
{
    int users = 0, groups = 0, rows = 0;
    if (!strcmp(j->scope, "tenant")) {
        enum ksm_err r = ksm_erase__purge_tenant_config(&e->db, j->tenant, &rows);
        if (r == KSM_E_OK)
            r = ksm_iam_tenant_mark_erased(&e->db, j->tenant, &users, &groups);
        ksm_info("erasure %s: %d configuration rows of the tenant removed", j->id, rows);
        if (r != KSM_E_OK)
            return r;
    }
    sqlite3_stmt *st = ksm_db_prepare(&e->db, "UPDATE erasure_jobs SET finished_at=?2 WHERE id=?1");
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ksm_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    checkpoint(e);
    json_t *rep = rc == SQLITE_DONE ? ksm_erase__report_build(&e->db, j->id, users, groups) : NULL;
    if (!rep || ksm_erase_report_sign(e->o.audit, rep)) {
        json_decref(rep);
        return KSM_E_INTERNAL;
    }
    char *doc = json_dumps(rep, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(rep);
    st = ksm_db_prepare(&e->db, "UPDATE erasure_jobs SET report=?2, state='done' WHERE id=?1");
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_TRANSIENT);
    ksm_db_bind_text(st, 2, doc);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(doc);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    audit_end(e, j);
    ksm_info("erasure %s (%s %s) done", j->id, j->scope, j->target);
    return KSM_E_OK;
}

/* ---- the loop ---- */

static bool next_job(struct ksm_erase *e, struct job *j)
{
    sqlite3_stmt *st = ksm_db_prepare(
        &e->db, "SELECT id, tenant, scope, target, state FROM erasure_jobs WHERE state IN"
                " ('confirmed','keys_destroyed','metadata_removed','data_wiped')"
                " ORDER BY confirmed_at LIMIT 1");
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        char *f[] = {j->id, j->tenant, j->scope, j->target, j->state};
        size_t sz[] = {sizeof j->id, sizeof j->tenant, sizeof j->scope, sizeof j->target,
                       sizeof j->state};
        for (int i = 0; i < 5; i++)
            snprintf(f[i], sz[i], "%s", ksm_db_col_text(st, i));
    }
    sqlite3_reset(st);
    return found;
}

typedef enum ksm_err (*step_fn)(struct ksm_erase *e, const struct job *j);

static const struct {
    const char *from;
    step_fn run;
} steps[] = {
    {"confirmed", step_keys},
    {"keys_destroyed", step_rows},
    {"metadata_removed", step_data},
    {"data_wiped", step_finish},
};

/* One step of j; false when the runner should wait (an error: retried later). */
static bool run_step(struct ksm_erase *e, const struct job *j)
{
    for (size_t i = 0; i < KSM_NELEM(steps); i++) {
        if (strcmp(j->state, steps[i].from))
            continue;
        enum ksm_err r = steps[i].run(e, j);
        if (r != KSM_E_OK) {
            ksm_warn("erasure %s: step after %s failed (%s); retrying", j->id, j->state,
                     ksm_err_code(r));
            return false;
        }
        ksm_info("erasure %s: step after %s done", j->id, j->state);
        return true;
    }
    return false;
}

static void *runner(void *arg)
{
    struct ksm_erase *e = arg;
    ksm_thread_name("ksm-erase");
    for (;;) {
        struct job j;
        if (!next_job(e, &j)) {
            if (wait_ms(e, 1000, true))
                break;
            continue;
        }
        bool ok = run_step(e, &j);
        /* the pause lets a test kill kasumid between two steps */
        int pause = ok ? e->o.step_pause_ms : 1000;
        if (pause > 0 && wait_ms(e, pause, false))
            break;
    }
    return NULL;
}

int ksm_erase_start(struct ksm_erase **out, const struct ksm_erase_opts *o, char *err,
                    size_t errlen)
{
    struct ksm_erase *e = ksm_xcalloc(1, sizeof *e);
    e->o = *o;
    if (ksm_db_open(&e->db, o->db_path, err, errlen)) {
        free(e);
        return -1;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    if (pthread_create(&e->th, NULL, runner, e)) {
        snprintf(err, errlen, "erasure: cannot start its thread");
        ksm_db_close(&e->db);
        free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void ksm_erase_wake(struct ksm_erase *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->woken = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void ksm_erase_stop(struct ksm_erase *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->th, NULL);
    ksm_db_close(&e->db);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
