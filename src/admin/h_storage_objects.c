/* h_storage_objects.c — the console's object browser: a bucket's objects listed, one uploaded, one
 * downloaded or deleted, through the admin API. No back door: the dispatcher authorises the same permissions
 * S3 asks for (s3.bucket.read to list, s3.object.read to download, s3.object.write to upload, s3.object.delete
 * to delete) at
 * the bucket's project, and the bytes go through the store's normal put and get — sealed under the
 * bucket's keys, metered as S3 requests (requests_*, bytes_in, bytes_out) and audited by the
 * dispatcher. An upload streams (KSM_RF_STREAMS): authorised at the head, then its body goes into
 * the store's writer as it arrives, so memory stays flat whatever the size, and it is answered only
 * once durable. The key is a query parameter, since it may contain '/'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"
#include "meter/usage_writer.h"
#include "storage/s3_server.h"
#include "storage/store.h"

#define LIST_MAX 1000

/* params[0] is the project (authorised by the dispatcher), params[1] the bucket: it must be one of
 * that project's, or it does not exist as far as this caller knows. */
static enum ksm_err find_bucket(struct ksm_req *r, struct ksm_bucket *b)
{
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    struct ksm_app *app = r->worker->app;
    if (!app || !app->store)
        return ksm_fail(r, KSM_E_NOT_IMPLEMENTED, "this environment stores no data");
    if (ksm_iam_owner(&r->worker->db, r->params[0], tenant, project) != KSM_E_OK ||
        ksm_store_bucket_get(&r->worker->db, tenant, r->params[1], b) != KSM_E_OK ||
        strcmp(b->project, r->params[0]))
        return ksm_fail(r, KSM_E_NOT_FOUND, "no such bucket");
    return KSM_E_OK;
}

static enum ksm_err key_param(struct ksm_req *r, const char **key)
{
    *key = ksm_req_query(r, "key");
    size_t n = *key ? strlen(*key) : 0;
    if (!n || n > KSM_STORE_KEY_MAX || !ksm_utf8_valid(*key, n))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "key: 1 to %d bytes of UTF-8", KSM_STORE_KEY_MAX);
    return KSM_E_OK;
}

/* The bucket and key= an object route names, and its audit target "bucket/key". */
static enum ksm_err object_target(struct ksm_req *r, struct ksm_bucket *b, const char **key)
{
    enum ksm_err e = find_bucket(r, b);
    if (e != KSM_E_OK || (e = key_param(r, key)) != KSM_E_OK)
        return e;
    ksm_req_audit(r, b->tenant, b->project, ksm_arena_printf(r->arena, "%s/%s", b->name, *key));
    return KSM_E_OK;
}

void ksm_h_storage_meter(struct ksm_req *r, const struct ksm_bucket *b, const char *name,
                         uint64_t q)
{
    char key[96];
    snprintf(key, sizeof key, "%s/%s", r->id, name);
    struct ksm_usage_rec u = {.tenant = b->tenant, .project = b->project, .service = "storage",
                              .resource = b->name, .request_id = r->id, .meter = name,
                              .quantity = (int64_t)q, .idempotency_key = key};
    ksm_usage_submit(&u);
}

/* ---- GET .../buckets/{bucket}/objects?prefix=&cursor=&limit= ------------------------------------ */

static json_t *entries_json(const struct ksm_list_entry *es, size_t n, json_t **prefixes)
{
    json_t *items = json_array();
    *prefixes = json_array();
    for (size_t i = 0; i < n; i++) {
        if (es[i].is_prefix) {
            json_array_append_new(*prefixes, json_string(es[i].key));
            continue;
        }
        char mtime[32];
        ksm_rfc3339_ms(es[i].mtime_ms, mtime);
        json_array_append_new(items, json_pack("{s:s,s:I,s:s,s:s}", "key", es[i].key, "size",
                                               (json_int_t)es[i].size, "etag", es[i].etag,
                                               "last_modified", mtime));
    }
    return items;
}

enum ksm_err ksm_h_object_list(struct ksm_req *r)
{
    struct ksm_bucket b;
    enum ksm_err e = find_bucket(r, &b);
    if (e != KSM_E_OK)
        return e;
    const char *prefix = ksm_req_query(r, "prefix"), *cursor = ksm_req_query(r, "cursor");
    const char *lim = ksm_req_query(r, "limit");
    char *end = NULL;
    long limit = lim ? strtol(lim, &end, 10) : 100;
    if ((lim && (!*lim || *end)) || limit < 1 || limit > LIST_MAX)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "limit: 1 to %d", LIST_MAX);
    struct ksm_list_entry *es = NULL;
    size_t n = 0;
    bool more = false;
    e = ksm_store_list(&r->worker->db, &b, prefix ? prefix : "", "/", cursor ? cursor : "", (int)limit,
                       &es, &n, &more);
    if (e != KSM_E_OK) {
        free(es);
        return ksm_fail(r, e, "cannot list the objects");
    }
    json_t *prefixes, *items = entries_json(es, n, &prefixes);
    json_t *next = more && n ? json_string(es[n - 1].key) : json_null();
    free(es);
    ksm_req_audit(r, b.tenant, b.project, b.name);
    ksm_h_storage_meter(r, &b, "requests_read", 1);
    return ksm_reply_json(r, 200, json_pack("{s:o,s:o,s:o}", "items", items, "prefixes", prefixes,
                                            "next_cursor", next));
}

/* ---- GET .../buckets/{bucket}/object?key= : streamed from the store --------------------------- */

struct dl {
    struct ksm_req *r;
    struct ksm_get *get;
    struct ksm_bucket b;
    uint64_t sent;
};

static bool dl_data(void *arg, char *p, size_t n)
{
    struct dl *d = arg;
    d->sent += n;
    ksm_req_stream_write_take(d->r, p, n, ksm_store_piece_release, NULL);
    return ksm_req_stream_congested(d->r);
}

static void dl_drain(struct ksm_req *r)
{
    struct dl *d = r->app_data;
    if (d && d->get)
        ksm_store_get_resume(d->get);
}

static void dl_done(void *arg, enum ksm_err e)
{
    struct dl *d = arg;
    struct ksm_req *r = d->r;
    r->app_data = NULL;
    r->on_drain = NULL;
    r->on_abort = NULL;
    ksm_h_storage_meter(r, &d->b, "requests_read", 1);
    if (d->sent)
        ksm_h_storage_meter(r, &d->b, "bytes_out", d->sent);
    free(d);
    ksm_dispatch_stream_end(r, e);
}

static void dl_abort(struct ksm_req *r)
{
    struct dl *d = r->app_data;
    if (d && d->get) {
        ksm_store_get_cancel(d->get);
        d->get = NULL;
        dl_done(d, KSM_E_UNAVAILABLE);
    }
}

/* attachment; filename="<ASCII fallback>"; filename*=UTF-8''<the key's last segment, percent-encoded>
 * (RFC 6266 §4.3: old clients take filename, every current browser filename*, so 報告書.pdf keeps its
 * name; the fallback has '_' for each character it cannot carry, and no quote or backslash) */
static const char *disposition(struct ksm_req *r, const char *key)
{
    const char *name = strrchr(key, '/');
    name = name && name[1] ? name + 1 : key;
    struct ksm_buf cd = KSM_BUF_INIT;
    ksm_buf_puts(&cd, "attachment; filename=\"");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p >= 0x80 && (*p & 0xC0) == 0x80)
            continue;   /* a UTF-8 continuation byte: its character has its '_' already */
        bool plain = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
        ksm_buf_printf(&cd, "%c", plain ? *p : '_');
    }
    ksm_buf_puts(&cd, "\"; filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("!#$&+-.^_`|~", *p))
            ksm_buf_printf(&cd, "%c", *p);
        else
            ksm_buf_printf(&cd, "%%%02X", *p);
    }
    const char *out = ksm_arena_strdup(r->arena, cd.data);
    ksm_buf_free(&cd);
    return out;
}

enum ksm_err ksm_h_object_get(struct ksm_req *r)
{
    struct ksm_bucket b;
    const char *key;
    enum ksm_err e = object_target(r, &b, &key);
    if (e != KSM_E_OK)
        return e;
    struct ksm_obj_meta m;
    memset(&m, 0, sizeof m);
    struct ksm_get *g = ksm_store_get_open(((struct ksm_app *)r->worker->app)->store,
                                           &r->worker->db, &b, key, &m, &e);
    if (!g) {
        ksm_obj_meta_free(&m);
        return ksm_fail(r, e, e == KSM_E_NOT_FOUND ? "no such object" : "the object cannot be read");
    }
    struct dl *d = calloc(1, sizeof *d);
    d->r = r;
    d->get = g;
    d->b = b;
    r->status = 200;
    r->content_type = ksm_arena_strdup(r->arena, m.content_type[0] ? m.content_type
                                                                    : "application/octet-stream");
    ksm_req_add_header(r, "Content-Disposition", disposition(r, key));
    /* stored HTML or SVG must never run as a page of the console's origin */
    ksm_req_add_header(r, "Content-Security-Policy", "sandbox");
    ksm_req_add_header(r, "X-Content-Type-Options", "nosniff");
    ksm_req_add_header(r, "ETag", ksm_arena_strdup(r->arena, m.etag));
    r->app_data = d;
    r->on_drain = dl_drain;
    r->on_abort = dl_abort;
    uint64_t size = m.size;
    ksm_obj_meta_free(&m);
    ksm_req_stream_begin_sized(r, size);
    ksm_store_get_start(g, &r->worker->loop, 0, size, dl_data, dl_done, d);
    return KSM_E_OK;   /* streamed: dl_done ends it */
}

/* ---- PUT .../buckets/{bucket}/object?key= : the body streamed into the store's put --------------- */

#define UPLOAD_MAX (5ull << 30)   /* as one S3 PutObject; the store's expected size is exact */

/* From the head (ksm_admin_on_headers) to the answer. Freed by ul_finish, or by ul_abort when the
 * request fails before its body is complete. */
struct ul {
    struct ksm_req *r;
    struct ksm_put *put;
    struct ksm_bucket b;
    const char *key;   /* the request's arena */
    struct ksm_obj_meta meta;
    uint64_t received;
    struct ksm_quota_hold quota;   /* reserved at the head, in S3's table (s3_quota.c) */
    bool paused;       /* the store's buffers are full: the socket is not read */
    bool committing;   /* the commit runs: it completes and answers, whatever the client does */
};

static void ul_free(struct ul *u)
{
    ksm_quota_settle(&u->quota, false);   /* not stored: the reservation goes back */
    u->r->app_data = NULL;
    u->r->on_abort = NULL;
    ksm_obj_meta_free(&u->meta);
    free(u);
}

/* The answer, once the put is durable or has failed; u is freed. */
static enum ksm_err ul_finish(struct ul *u, enum ksm_err e)
{
    struct ksm_req *r = u->r;
    json_t *o = NULL;
    ksm_h_storage_meter(r, &u->b, "requests_write", 1);
    if (e == KSM_E_OK) {
        ksm_h_storage_meter(r, &u->b, "bytes_in", u->received);
        ksm_quota_settle(&u->quota, true);
        ksm_s3_quota_changed(u->b.project);   /* it may have replaced an object: re-read usage */
        o = json_pack("{s:s,s:s,s:I,s:s}", "bucket", u->b.name, "key", u->key, "size",
                      (json_int_t)u->meta.size, "etag", u->meta.etag);
    }
    ul_free(u);
    if (o)
        return ksm_reply_json(r, 201, o);
    return ksm_fail(r, e, e == KSM_E_BAD_DIGEST ? "the body does not match its Content-MD5"
                                                : "the object could not be stored");
}

static void ul_done(void *arg, enum ksm_err e)
{
    struct ul *u = arg;
    struct ksm_req *r = u->r;
    ksm_dispatch_resume(r, ul_finish(u, e));
}

static void ul_drained(void *arg)
{
    struct ul *u = arg;
    u->paused = false;
    ksm_req_body_resume(u->r);
}

static bool ul_chunk(struct ksm_req *r, const char *p, size_t n)
{
    struct ul *u = r->app_data;
    if (!u)
        return false;   /* let go already: the rest is dropped */
    u->received += n;
    if (ksm_store_put_write(u->put, p, n, ul_drained, u))
        u->paused = true;
    return u->paused;
}

/* The whole body is in: make it durable (data fsynced, then the metadata row), then answer. */
static void ul_end(struct ksm_req *r)
{
    struct ul *u = r->app_data;
    if (u->received != (uint64_t)r->content_length) {
        ksm_store_put_abort(u->put);
        ul_free(u);
        ksm_dispatch_resume(r, ksm_fail(r, KSM_E_INCOMPLETE_BODY, "the body is not Content-Length long"));
        return;
    }
    u->committing = true;
    ksm_store_put_commit(u->put, &u->meta, ksm_req_header(r, "content-md5"), ul_done, u);
}

/* The request ends before its body does (the client went, a timeout, a framing error): nothing of
 * it is stored. A dropped request is never answered, so its audit record is written here. */
static void ul_abort(struct ksm_req *r)
{
    struct ul *u = r->app_data;
    if (!u || u->committing)
        return;
    ksm_store_put_abort(u->put);
    ul_free(u);
    if (r->dropped)
        ksm_dispatch_dropped(r, KSM_E_INCOMPLETE_BODY);
}

/* At the head (KSM_RF_STREAMS): the caller is authorised already; the size is checked against the
 * quota before a byte is read, and the body goes to the store as it arrives, sealed under the
 * bucket's keys like an S3 PutObject. Content-Length is required: the store takes the exact size up
 * front and a browser's fetch or XMLHttpRequest of a File always sends it. The size is reserved
 * against the project's quota in the table S3's writes use, so uploads racing S3 cannot pass it. */
enum ksm_err ksm_h_object_put(struct ksm_req *r)
{
    struct ksm_bucket b;
    const char *key;
    enum ksm_err e = object_target(r, &b, &key);
    if (e != KSM_E_OK)
        return e;
    if (r->content_length < 0)
        return ksm_fail(r, KSM_E_LENGTH_REQUIRED, "Content-Length is required (no chunked uploads)");
    if ((uint64_t)r->content_length > UPLOAD_MAX)
        return ksm_fail(r, KSM_E_TOO_LARGE, "at most 5 GiB per upload; larger objects go through S3 "
                                            "multipart");
    struct ul *u = ksm_xcalloc(1, sizeof *u);
    char why[200], detail[200];
    e = ksm_quota_reserve(&r->worker->db, &u->quota, b.project, r->content_length, 1, 0, 0, why,
                          sizeof why, detail, sizeof detail);
    if (e != KSM_E_OK) {
        free(u);
        return ksm_fail(r, e, "%s", e == KSM_E_QUOTA_EXCEEDED ? why
                                                              : "cannot read the project's storage use");
    }
    u->r = r;
    u->b = b;
    u->key = key;
    const char *ct = ksm_req_header(r, "content-type");
    snprintf(u->meta.content_type, sizeof u->meta.content_type, "%s",
             ct && *ct ? ct : "binary/octet-stream");
    u->meta.user_meta = json_object();
    u->put = ksm_store_put_begin(((struct ksm_app *)r->worker->app)->store, &r->worker->loop,
                                 &r->worker->db, &u->b, key, r->content_length, NULL, 0);
    if ((e = ksm_store_put_error(u->put)) != KSM_E_OK) {
        ksm_store_put_abort(u->put);
        ul_free(u);
        return ksm_fail(r, e, "the object cannot be stored");
    }
    r->app_data = u;
    r->on_abort = ul_abort;
    ksm_req_stream_body(r, ul_chunk, ul_end);
    return KSM_E_OK;   /* ul_end, then ul_done, answers */
}

/* ---- DELETE .../buckets/{bucket}/object?key= : as S3's DeleteObject without a version id ------ */

/* In a versioned bucket this adds a delete marker (the versions stay, as S3 keeps them); a lock
 * protects versions, not the current object, so it refuses nothing here. Not there: deleted too,
 * as S3 answers. */
enum ksm_err ksm_h_object_delete(struct ksm_req *r)
{
    struct ksm_bucket b;
    const char *key;
    enum ksm_err e = object_target(r, &b, &key);
    if (e != KSM_E_OK)
        return e;
    struct ksm_delete_result res;
    memset(&res, 0, sizeof res);
    e = ksm_store_delete_version(((struct ksm_app *)r->worker->app)->store, &r->worker->db, &b, key,
                                 NULL, false, &res);
    ksm_h_storage_meter(r, &b, "requests_write", 1);
    if (e != KSM_E_OK)
        return ksm_fail(r, e, "the object could not be deleted");
    if (res.freed_bytes)
        ksm_s3_quota_changed(b.project);   /* S3's quota bookkeeping re-reads the usage */
    return ksm_reply_json(r, 200, json_pack("{s:s,s:s,s:b,s:b}", "bucket", b.name, "key", key,
                                            "deleted", 1, "delete_marker", res.delete_marker));
}
