/* h_export.c — a tenant's or a project's data as one tar archive (src/lifecycle/export.h): streamed
 * as the response body (GET …/export), or written into a bucket of the operator's choosing (POST
 * /admin/v1/tenants/{tenant}/export). Either way the archive is produced as it is sent: the
 * exporter pauses while the socket, or the store's upload buffers, are full. */
#include <stdlib.h>
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/log.h"
#include "core/util.h"
#include "iam/iam.h"
#include "lifecycle/export.h"
#include "storage/s3_server.h"
#include "storage/store.h"

static void export_opts(struct ksm_req *r, const char *tenant, const char *project,
                        struct ksm_export_opts *o)
{
    const struct ksm_app *app = r->worker->app;
    memset(o, 0, sizeof *o);
    o->store = app->store;
    o->audit = app->audit;
    o->db = &r->worker->db;
    o->loop = &r->worker->loop;
    o->tenant = tenant;
    o->project = project;
    o->spool_dir = app->conf->data_dir;
    o->operator_name = app->conf->billing_operator;
    o->registration_number = app->conf->billing_registration;
    o->environment = ksm_env_kind_name(app->conf->env_kind);
}

/* ---- streamed as the response ------------------------------------------------------------------
 */

static bool to_socket(void *arg, const char *p, size_t n)
{
    struct ksm_req *r = arg;
    ksm_req_stream_write(r, p, n);
    return ksm_req_stream_congested(r);
}

static void socket_drained(struct ksm_req *r)
{
    if (r->app_data)
        ksm_export_resume(r->app_data);
}

static void client_gone(struct ksm_req *r)
{
    if (r->app_data)
        ksm_export_cancel(r->app_data); /* done follows, from the loop */
}

static void streamed(void *arg, enum ksm_err e, const struct ksm_export_result *res)
{
    struct ksm_req *r = arg;
    r->app_data = NULL;
    ksm_req_audit(r, NULL, NULL,
                  ksm_arena_printf(r->arena,
                                   "files=%llu objects=%llu versions=%llu bytes=%llu sha256=%s",
                                   (unsigned long long)res->files, (unsigned long long)res->objects,
                                   (unsigned long long)res->versions,
                                   (unsigned long long)res->archive_bytes, res->sha256));
    ksm_dispatch_stream_end(r, e);
}

static enum ksm_err stream_export(struct ksm_req *r, const char *tenant, const char *project)
{
    struct ksm_export_opts o;
    enum ksm_err e;
    if (!r->worker->app || !((struct ksm_app *)r->worker->app)->store)
        return ksm_fail(r, KSM_E_NOT_IMPLEMENTED, "this environment stores no data");
    export_opts(r, tenant, project, &o);
    r->status = 200;
    r->content_type = "application/x-tar";
    struct ksm_export *x = ksm_export_start(&o, to_socket, streamed, r, &e);
    if (!x)
        return ksm_fail(r, e, "the export cannot start");
    char cd[128];
    snprintf(cd, sizeof cd, "attachment; filename=\"kasumi-export-%s.tar\"",
             project ? project : tenant);
    ksm_req_add_header(r, "Content-Disposition", ksm_arena_strdup(r->arena, cd));
    r->app_data = x;
    r->on_drain = socket_drained;
    r->on_abort = client_gone;
    ksm_req_stream_begin(r);
    return KSM_E_OK;
}

/* GET /admin/v1/tenants/{tenant}/export */
enum ksm_err ksm_h_export_tenant(struct ksm_req *r)
{
    return stream_export(r, r->params[0], NULL);
}

/* GET /admin/v1/projects/{project}/export: the dispatcher found the project's tenant */
enum ksm_err ksm_h_export_project(struct ksm_req *r)
{
    if (!r->audit_tenant)
        return ksm_fail(r, KSM_E_NOT_FOUND, "no such resource");
    return stream_export(r, r->audit_tenant, r->params[0]);
}

/* ---- written into a bucket
 * ----------------------------------------------------------------------- */

struct to_bucket {
    struct ksm_req *r;
    struct ksm_put *put;
    struct ksm_export *x;
    struct ksm_bucket bucket;
    const char *key;
    struct ksm_obj_meta meta;
    struct ksm_export_result res;
    /* The archive counts against the destination project's storage quota like an upload. Its size
     * is not known ahead, so the hold grows with every piece before the piece is stored. */
    struct ksm_quota_hold quota;
    char why[200], detail[200];
};

static void to_bucket_free(struct to_bucket *t)
{
    ksm_quota_settle(&t->quota, false);   /* a no-op once settled as used */
    ksm_obj_meta_free(&t->meta);
    free(t);
}

static void put_drained(void *arg)
{
    struct to_bucket *t = arg;
    if (t->x)
        ksm_export_resume(t->x);
}

static bool to_put(void *arg, const char *p, size_t n)
{
    struct to_bucket *t = arg;
    enum ksm_err e = ksm_quota_reserve(&t->r->worker->db, &t->quota, t->bucket.project, (int64_t)n,
                                       0, 0, 0, t->why, sizeof t->why, t->detail, sizeof t->detail);
    if (e != KSM_E_OK) {
        ksm_export_fail(t->x, e);
        return false;
    }
    return ksm_store_put_write(t->put, p, n, put_drained, t);
}

static void committed(void *arg, enum ksm_err e)
{
    struct to_bucket *t = arg;
    struct ksm_req *r = t->r;
    t->put = NULL; /* the store freed it */
    ksm_h_storage_meter(r, &t->bucket, "requests_write", 1);
    if (e != KSM_E_OK) {
        to_bucket_free(t);
        ksm_dispatch_resume(r, ksm_fail(r, e, "the archive could not be stored"));
        return;
    }
    ksm_h_storage_meter(r, &t->bucket, "bytes_in", t->res.archive_bytes);
    ksm_quota_settle(&t->quota, true);
    ksm_s3_quota_changed(t->bucket.project);   /* it may have replaced an object: re-read usage */
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "tenant", t->bucket.tenant, "bucket",
        t->bucket.name, "key", t->key, "size", (json_int_t)t->res.archive_bytes, "sha256",
        t->res.sha256, "files", (json_int_t)t->res.files, "objects", (json_int_t)t->res.objects,
        "versions", (json_int_t)t->res.versions, "delete_markers",
        (json_int_t)t->res.delete_markers, "object_bytes", (json_int_t)t->res.object_bytes,
        "skipped", (json_int_t)t->res.skipped);
    to_bucket_free(t);
    ksm_dispatch_resume(r, ksm_reply_json(r, 201, o));
}

static void exported(void *arg, enum ksm_err e, const struct ksm_export_result *res)
{
    struct to_bucket *t = arg;
    struct ksm_req *r = t->r;
    t->x = NULL;
    t->res = *res;
    if (e != KSM_E_OK) {
        ksm_store_put_abort(t->put); /* nothing of a failed archive is kept */
        ksm_h_storage_meter(r, &t->bucket, "requests_write", 1);
        e = e == KSM_E_QUOTA_EXCEEDED ? ksm_fail(r, e, "%s", t->why)
                                      : ksm_fail(r, e, "the export failed");
        to_bucket_free(t);
        ksm_dispatch_resume(r, e);
        return;
    }
    snprintf(t->meta.content_type, sizeof t->meta.content_type, "application/x-tar");
    ksm_store_put_commit(t->put, &t->meta, NULL, committed, t);
}

/* POST /admin/v1/tenants/{tenant}/export {"bucket", "key", "bucket_tenant"?, "project"?} */
enum ksm_err ksm_h_export_to_bucket(struct ksm_req *r)
{
    const struct ksm_app *app = r->worker->app;
    const char *bucket = NULL, *key = NULL, *bucket_tenant = NULL, *project = NULL;
    struct ksm_jfield spec[] = {
        {"bucket", KSM_J_STRING, true, &bucket, NULL},
        {"key", KSM_J_STRING, true, &key, NULL},
        {"bucket_tenant", KSM_J_STRING, false, &bucket_tenant, NULL},
        {"project", KSM_J_STRING, false, &project, NULL},
    };
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (!app->store)
        return ksm_fail(r, KSM_E_NOT_IMPLEMENTED, "this environment stores no data");
    const char *tenant = r->params[0];
    if (!*key || strlen(key) > KSM_STORE_KEY_MAX || !ksm_utf8_valid(key, strlen(key)))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "key must be 1 to %d bytes of UTF-8",
                        KSM_STORE_KEY_MAX);
    if (project) { /* a project of this tenant, and the caller may export it */
        char owner[KSM_ID_LEN] = "", pj[KSM_ID_LEN] = "";
        if (ksm_iam_owner(&r->worker->db, project, owner, pj) != KSM_E_OK ||
            strcmp(owner, tenant) || strcmp(pj, project))
            return ksm_fail(r, KSM_E_NOT_FOUND, "no such resource");
        if ((e = ksm_authorize(r, "data.export", tenant, project)) != KSM_E_OK)
            return e;
    }
    struct to_bucket *t = ksm_xcalloc(1, sizeof *t);
    t->r = r;
    t->key = ksm_arena_strdup(r->arena, key);
    if (!bucket_tenant)
        bucket_tenant = tenant;
    /* the archive lands where the caller may write: the destination is checked like an upload */
    e = ksm_store_bucket_get(&r->worker->db, bucket_tenant, bucket, &t->bucket);
    if (e == KSM_E_OK)
        e = ksm_authorize(r, "s3.object.write", t->bucket.tenant, t->bucket.project);
    else
        e = ksm_fail(r, KSM_E_NOT_FOUND, "no such resource");
    if (e == KSM_E_OK)   /* the archive is one more object in the destination project */
        e = ksm_quota_reserve(&r->worker->db, &t->quota, t->bucket.project, 0, 1, 0, 0, t->why,
                              sizeof t->why, t->detail, sizeof t->detail);
    if (e == KSM_E_QUOTA_EXCEEDED)
        e = ksm_fail(r, e, "%s", t->why);
    if (e != KSM_E_OK) {
        to_bucket_free(t);
        return e;
    }
    ksm_req_audit(r, tenant, project, ksm_arena_printf(r->arena, "%s/%s", bucket, key));
    t->put = ksm_store_put_begin(app->store, &r->worker->loop, &r->worker->db, &t->bucket, t->key,
                                 -1, NULL, 0);
    if ((e = ksm_store_put_error(t->put)) != KSM_E_OK) {
        ksm_store_put_abort(t->put);
        to_bucket_free(t);
        return ksm_fail(r, e, "the destination cannot be written");
    }
    struct ksm_export_opts o;
    export_opts(r, tenant, project, &o);
    t->x = ksm_export_start(&o, to_put, exported, t, &e);
    if (!t->x) {
        ksm_store_put_abort(t->put);
        to_bucket_free(t);
        return ksm_fail(r, e, "the export cannot start");
    }
    return KSM_E_OK; /* parked: exported, then committed, answer */
}
