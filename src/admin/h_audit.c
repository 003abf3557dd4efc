/* h_audit.c — searching and exporting the audit log, its public verification key, and checking its
 * chain in place. A tenant's administrators and auditors see their tenant's records; platform scope
 * sees all. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "core/util.h"
#include "iam/iam.h"

static enum ksm_err parse_time(struct ksm_req *r, const char *name, int64_t *out)
{
    const char *v = ksm_req_query(r, name);
    *out = 0;
    if (v && *v && ksm_parse_rfc3339(v, out))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "%s must be an RFC 3339 time", name);
    return KSM_E_OK;
}

static enum ksm_err read_filter(struct ksm_req *r, struct ksm_audit_filter *f, int max_limit)
{
    enum ksm_err e;
    memset(f, 0, sizeof *f);
    if ((e = parse_time(r, "since", &f->since_ms)) || (e = parse_time(r, "until", &f->until_ms)))
        return e;
    f->tenant = ksm_req_query(r, "tenant");
    f->principal = ksm_req_query(r, "principal");
    f->action = ksm_req_query(r, "action");
    f->cursor = ksm_req_query(r, "cursor");
    const char *lim = ksm_req_query(r, "limit");
    if (lim) {
        char *end;
        long n = strtol(lim, &end, 10);
        if (*end || n < 1 || n > max_limit)
            return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "limit must be 1..%d", max_limit);
        f->limit = (int)n;
    }
    if (f->tenant && !*f->tenant)
        f->tenant = NULL;
    /* without a tenant the search spans every tenant: platform scope only */
    return ksm_authorize(r, "audit.read", f->tenant, NULL);
}

enum ksm_err ksm_h_audit_query(struct ksm_req *r)
{
    struct ksm_app *app = r->worker->app;
    struct ksm_audit_filter f;
    enum ksm_err e = read_filter(r, &f, 1000);
    if (e)
        return e;
    json_t *items = json_array();
    char *next = NULL;
    if (ksm_audit_query(app->audit, &f, items, &next)) {
        json_decref(items);
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "the cursor is not valid");
    }
    json_t *o = json_pack("{s:o,s:s?}", "items", items, "next_cursor", next);
    free(next);
    return ksm_reply_json(r, 200, o);
}

/* JSON Lines of every matching record, following the pages. Bounded so one request cannot hold
 * unbounded memory: past the cap the response says where to continue (x-next-cursor). */
enum ksm_err ksm_h_audit_export(struct ksm_req *r)
{
    enum { EXPORT_CAP = 100000 };
    struct ksm_app *app = r->worker->app;
    struct ksm_audit_filter f;
    enum ksm_err e = read_filter(r, &f, 1000);
    if (e)
        return e;
    f.limit = 1000;
    ksm_buf_reset(&r->resp);
    char *next = NULL;
    for (int total = 0; total < EXPORT_CAP;) {
        json_t *items = json_array();
        free(next);
        next = NULL;
        if (ksm_audit_query(app->audit, &f, items, &next)) {
            json_decref(items);
            return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "the cursor is not valid");
        }
        size_t i;
        json_t *rec;
        json_array_foreach(items, i, rec) {
            char *line = json_dumps(rec, JSON_COMPACT);
            ksm_buf_puts(&r->resp, line);
            ksm_buf_putc(&r->resp, '\n');
            free(line);
        }
        total += (int)json_array_size(items);
        json_decref(items);
        if (!next)
            break;
        f.cursor = ksm_arena_strdup(r->arena, next);
    }
    if (next)
        ksm_req_add_header(r, "x-next-cursor", ksm_arena_strdup(r->arena, next));
    free(next);
    r->status = 200;
    r->content_type = "application/x-ndjson";
    return KSM_E_OK;
}

enum ksm_err ksm_h_audit_public_key(struct ksm_req *r)
{
    struct ksm_app *app = r->worker->app;
    ksm_buf_reset(&r->resp);
    if (ksm_audit_public_key_pem(app->audit, &r->resp))
        return ksm_fail(r, KSM_E_INTERNAL, "no audit key");
    r->status = 200;
    r->content_type = "application/x-pem-file";
    return KSM_E_OK;
}

/* ---- the chain's verification status ---------------------------------------------------------- */

/* One verification at a time, daemon-wide: each reads every segment on a thread of libuv's pool,
 * which storage I/O shares, so callers must not be able to fill the pool with them. */
static atomic_bool verify_busy;

struct verify_job {
    uv_work_t work;
    struct ksm_req *r;
    struct ksm_audit *audit;
    struct ksm_audit_verification v;
    int64_t started_ms, took_ms;
};

static void verify_run(uv_work_t *w)
{
    struct verify_job *j = w->data;
    ksm_audit_verify_live(j->audit, &j->v);
    j->took_ms = ksm_now_ms() - j->started_ms;
}

static json_t *seq_at(uint64_t seq, const char *time)
{
    return seq ? json_pack("{s:I,s:s?}", "seq", (json_int_t)seq, "time", *time ? time : NULL)
               : json_null();
}

static json_t *verification_json(const struct verify_job *j)
{
    const struct ksm_audit_verification *v = &j->v;
    char at[32];
    ksm_rfc3339_ms(j->started_ms, at);
    json_t *broken = v->intact ? json_null()
                               : json_pack("{s:s?,s:I,s:I,s:s}", "segment",
                                           v->bad_segment[0] ? v->bad_segment : NULL, "line",
                                           (json_int_t)v->bad_line, "seq", (json_int_t)v->bad_seq,
                                           "reason", v->reason);
    return json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:s,s:b,s:o}", "intact",
                     v->intact, "checked_at", at, "duration_ms", (json_int_t)j->took_ms, "segments",
                     (json_int_t)v->segments, "records", (json_int_t)v->records, "checkpoints",
                     (json_int_t)v->checkpoints, "seals", (json_int_t)v->seals,
                     "signatures_checked", (json_int_t)v->signatures_checked, "first",
                     seq_at(v->first_seq, v->first_time), "last", seq_at(v->last_seq, v->last_time),
                     "last_checkpoint", seq_at(v->last_signed_seq, v->last_signed_time),
                     "last_hash", v->last_hash, "last_segment_sealed", v->last_sealed, "broken",
                     broken);
}

static void verify_done(uv_work_t *w, int status)
{
    struct verify_job *j = w->data;
    struct ksm_req *r = j->r;
    enum ksm_err e = status ? ksm_fail(r, KSM_E_INTERNAL, "the verification did not run")
                            : ksm_reply_json(r, 200, verification_json(j));
    free(j);
    atomic_store(&verify_busy, false);
    ksm_dispatch_resume(r, e);
}

/* The whole chain's status. A tenant's auditor may see it too: it names segments, line numbers,
 * sequence numbers and times, never a record's content. Reading every segment takes a while on a
 * large log, so it runs on libuv's thread pool and the request parks meanwhile. */
enum ksm_err ksm_h_audit_verification(struct ksm_req *r)
{
    struct ksm_app *app = r->worker->app;
    const char *tenant = r->principal->tenant_id[0] ? r->principal->tenant_id : NULL;
    enum ksm_err e = ksm_authorize(r, "audit.read", tenant, NULL);
    if (e)
        return e;
    if (atomic_exchange(&verify_busy, true)) {
        ksm_req_add_header(r, "Retry-After", "1");
        return ksm_fail(r, KSM_E_RATE_LIMITED, "a verification is running: try again in a moment");
    }
    struct verify_job *j = calloc(1, sizeof *j);
    if (j) {
        j->r = r;
        j->audit = app->audit;
        j->started_ms = ksm_now_ms();
        j->work.data = j;
    }
    if (!j || uv_queue_work(&r->worker->loop, &j->work, verify_run, verify_done)) {
        free(j);
        atomic_store(&verify_busy, false);
        return ksm_fail(r, KSM_E_INTERNAL, "the verification could not start");
    }
    return KSM_E_OK;   /* parked: verify_done answers */
}
