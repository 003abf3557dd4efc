/* s3_server.c — the S3 listener's request path: addressing (path-style and virtual-host), the
 * operation table, SigV4 authentication at the head (so a bad signature is refused before any body
 * byte is read), the bucket and the permission at its project, then the operation; S3 XML errors,
 * the data-plane audit record and metering for every request. */
#include "storage/s3_server.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/app.h"
#include "core/log.h"
#include "core/util.h"
#include "kms/kms.h"
#include "meter/usage_writer.h"
#include "storage/s3_int.h"

struct ksm_store *ksm_s3_store;
static char s3_domain[128];

#define SV S3_SERVICE
#define BK S3_BUCKET
#define OB S3_OBJECT
#define ST S3_STREAM
#define MU S3_MUTATES

/* Rows with a selecting sub-resource come before the plain row of the same method and level. */
static const struct s3_op ops[] = {
    {"GET", SV, NULL, "ListBuckets", "s3.bucket.list", 0, ksm_s3_list_buckets},
    {"GET", BK, "location", "GetBucketLocation", "s3.bucket.read", 0, ksm_s3_bucket_location},
    {"GET", BK, "tagging", "GetBucketTagging", "s3.bucket.read", 0, ksm_s3_bucket_tagging_get},
    {"GET", BK, "cors", "GetBucketCors", "s3.bucket.read", 0, ksm_s3_bucket_cors_get},
    {"GET", BK, "versioning", "GetBucketVersioning", "s3.bucket.read", 0, ksm_s3_versioning_get},
    {"GET", BK, "versions", "ListObjectVersions", "s3.bucket.read", 0, ksm_s3_list_versions},
    {"GET", BK, "object-lock", "GetObjectLockConfiguration", "s3.bucket.read", 0, ksm_s3_object_lock_get},
    {"GET", BK, "uploads", "ListMultipartUploads", "s3.bucket.read", 0, ksm_s3_mpu_list_uploads},
    {"GET", BK, NULL, "ListObjects", "s3.bucket.read", 0, ksm_s3_list_objects},
    {"PUT", BK, "tagging", "PutBucketTagging", "s3.bucket.write", MU, ksm_s3_bucket_tagging_put},
    {"PUT", BK, "cors", "PutBucketCors", "s3.bucket.write", MU, ksm_s3_bucket_cors_put},
    {"PUT", BK, "versioning", "PutBucketVersioning", "s3.bucket.write", MU, ksm_s3_versioning_put},
    {"PUT", BK, "object-lock", "PutObjectLockConfiguration", "s3.bucket.write", MU, ksm_s3_object_lock_put},
    {"PUT", BK, NULL, "CreateBucket", "s3.bucket.create", MU, ksm_s3_create_bucket},
    {"DELETE", BK, "tagging", "DeleteBucketTagging", "s3.bucket.write", MU, ksm_s3_bucket_tagging_delete},
    {"DELETE", BK, "cors", "DeleteBucketCors", "s3.bucket.write", MU, ksm_s3_bucket_cors_delete},
    {"DELETE", BK, NULL, "DeleteBucket", "s3.bucket.delete", MU, ksm_s3_delete_bucket},
    {"HEAD", BK, NULL, "HeadBucket", "s3.bucket.read", 0, ksm_s3_head_bucket},
    {"POST", BK, "delete", "DeleteObjects", "s3.object.delete", MU, ksm_s3_delete_objects},
    {"GET", OB, "tagging", "GetObjectTagging", "s3.object.read", 0, ksm_s3_object_tagging_get},
    {"GET", OB, "retention", "GetObjectRetention", "s3.object.read", 0, ksm_s3_retention_get},
    {"GET", OB, "legal-hold", "GetObjectLegalHold", "s3.object.read", 0, ksm_s3_legal_hold_get},
    {"GET", OB, "uploadId", "ListParts", "s3.object.read", 0, ksm_s3_mpu_list_parts},
    {"GET", OB, NULL, "GetObject", "s3.object.read", 0, ksm_s3_get_object},
    {"HEAD", OB, NULL, "HeadObject", "s3.object.read", 0, ksm_s3_head_object},
    {"PUT", OB, "tagging", "PutObjectTagging", "s3.object.write", MU, ksm_s3_object_tagging_put},
    {"PUT", OB, "retention", "PutObjectRetention", "s3.object.retention", MU, ksm_s3_retention_put},
    {"PUT", OB, "legal-hold", "PutObjectLegalHold", "s3.object.retention", MU, ksm_s3_legal_hold_put},
    {"PUT", OB, "uploadId", "UploadPart", "s3.object.write", ST | MU, ksm_s3_put_object_begin},
    {"PUT", OB, NULL, "PutObject", "s3.object.write", ST | MU, ksm_s3_put_object_begin},
    {"POST", OB, "uploads", "CreateMultipartUpload", "s3.object.write", MU, ksm_s3_mpu_create},
    {"POST", OB, "uploadId", "CompleteMultipartUpload", "s3.object.write", MU, ksm_s3_mpu_complete},
    {"DELETE", OB, "tagging", "DeleteObjectTagging", "s3.object.write", MU, ksm_s3_object_tagging_delete},
    {"DELETE", OB, "uploadId", "AbortMultipartUpload", "s3.object.delete", MU, ksm_s3_mpu_abort},
    {"DELETE", OB, NULL, "DeleteObject", "s3.object.delete", MU, ksm_s3_delete_object},
};

/* OPTIONS at any level: the CORS preflight, which browsers send without credentials. */
static const struct s3_op preflight_op = {"OPTIONS", S3_OBJECT, NULL, "PreflightCORS", NULL, 0,
                                          ksm_s3_cors_preflight};

static const char *const auth_regions[] = {"jp-east", "jp-west", "us-east-1"};

/* ---- small helpers --------------------------------------------------------------------------- */

static bool query_has(const char *q, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = q; p && *p;) {
        if (!strncmp(p, name, n) && (p[n] == '\0' || p[n] == '=' || p[n] == '&'))
            return true;
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return false;
}

const char *ksm_s3_query(struct s3_req *s, const char *name) { return ksm_req_query(s->r, name); }

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }
static struct ksm_app *app_of(struct s3_req *s) { return s->r->worker->app; }

/* ---- answering -------------------------------------------------------------------------------- */

static void s3_free(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    r->app_data = NULL;
    r->on_abort = NULL;
    r->on_drain = NULL;
    if (s->put)
        ksm_store_put_abort(s->put);
    if (s->get)
        ksm_store_get_cancel(s->get);
    ksm_s3_quota_release(s);   /* a write that did not commit gives its reservation back */
    if (s->use_chunked)
        ksm_s3_chunked_free(&s->chunked);
    if (s->use_hash)
        ksm_s3_body_hash_free(&s->hash);
    if (s->use_cksum)
        ksm_s3_cksum_free(&s->cksum);
    ksm_obj_meta_free(&s->meta);
    ksm_s3_auth_wipe(&s->auth);
    free(s);
}

static void meter(struct s3_req *s)
{
    if (!s->have_bucket || (!s->bytes_in && !s->bytes_out && !s->op))
        return;
    struct ksm_usage_rec u = {.tenant = s->bucket.tenant, .project = s->bucket.project,
                              .service = "storage", .resource = s->bucket.name,
                              .request_id = s->r->id};
    char key[96];
    struct { const char *meter; int64_t q; } rows[] = {
        {s->op && (s->op->flags & S3_MUTATES) ? "requests_write" : "requests_read", 1},
        {"bytes_in", (int64_t)s->bytes_in},
        {"bytes_out", (int64_t)s->bytes_out},
    };
    for (size_t i = 0; i < KSM_NELEM(rows); i++) {
        if (!rows[i].q)
            continue;
        snprintf(key, sizeof key, "%s/%s", s->r->id, rows[i].meter);
        u.meter = rows[i].meter;
        u.quantity = rows[i].q;
        u.idempotency_key = key;
        ksm_usage_submit(&u);
    }
}

static void audit(struct s3_req *s, void (*done)(void *, int), void *arg)
{
    struct ksm_req *r = s->r;
    char action[64], target[KSM_STORE_KEY_MAX + 80];
    snprintf(action, sizeof action, "s3.%s", s->op ? s->op->name : "Request");
    snprintf(target, sizeof target, "%s%s%s", s->bucket_name, s->key ? "/" : "", s->key ? s->key : "");
    int st = r->status;
    const char *detail = s->detail[0] ? s->detail : (st >= 400 ? ksm_err_s3_code(r->err) : NULL);
    char sized[sizeof s->detail + 64];
    if (s->have_bucket && (s->bytes_in || s->bytes_out)) {
        /* the bytes metered for this request, last, so that a bill can be rebuilt from the log */
        snprintf(sized, sizeof sized, "%s%sbytes_in=%llu bytes_out=%llu", detail ? detail : "",
                 detail ? " " : "", (unsigned long long)s->bytes_in,
                 (unsigned long long)s->bytes_out);
        detail = sized;
    }
    struct ksm_audit_rec rec = {
        .request_id = r->id,
        .principal = s->authenticated ? s->principal.user_id : "anonymous",
        .tenant = s->have_bucket ? s->bucket.tenant : (s->authenticated ? s->principal.tenant_id : NULL),
        .project = s->have_bucket ? s->bucket.project : NULL,
        .source = r->peer, .action = action, .target = target,
        .outcome = st < 400 ? "success" : (st == 401 || st == 403) ? "denied" : "error",
        .status = st, .detail = detail,
    };
    struct ksm_app *app = app_of(s);
    if (done)
        ksm_audit_submit(app->audit, &rec, r->worker->mailbox, done, arg);
    else
        ksm_audit_submit(app->audit, &rec, NULL, NULL, NULL);
}

static void send_after_audit(void *arg, int ok)
{
    struct ksm_req *r = arg;
    if (!ok) {
        ksm_buf_reset(&r->resp);
        r->status = 503;
    }
    ksm_req_send(r);
}

/* The client left while its request was still arriving: audit it as such and free it. */
void ksm_s3_drop(struct s3_req *s)
{
    s->r->status = 499;   /* nginx's "client closed request": never sent, only recorded */
    snprintf(s->detail, sizeof s->detail, "client_gone received=%llu",
             (unsigned long long)s->r->body_received);
    audit(s, NULL, NULL);
    s3_free(s);
}

void ksm_s3_std_headers(struct s3_req *s)
{
    ksm_req_add_header(s->r, "X-Content-Type-Options", "nosniff");
    ksm_req_add_header(s->r, "x-amz-request-id", s->r->id);
    ksm_s3_cors_headers(s);
}

/* A streamed answer (GetObject): its head is out; audit and meter, then the caller ends it. */
void ksm_s3_finish_stream(struct s3_req *s)
{
    meter(s);
    audit(s, NULL, NULL);
    s3_free(s);
}

/* A write's record is durable before its answer goes out; a read's within the window. */
void ksm_s3_finish(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    ksm_s3_std_headers(s);
    meter(s);
    bool wait = s->op && (s->op->flags & S3_MUTATES) && r->status < 300;
    audit(s, wait ? send_after_audit : NULL, r);
    s3_free(s);
    if (!wait)
        ksm_req_send(r);
}

void ksm_s3_error(struct s3_req *s, enum ksm_err e, const char *msg)
{
    struct ksm_req *r = s->r;
    r->err = e;
    r->status = ksm_err_status(e);
    ksm_buf_reset(&r->resp);
    if (r->status != 304 && r->method != HTTP_HEAD) {
        char resource[KSM_STORE_KEY_MAX + 80];
        snprintf(resource, sizeof resource, "/%s%s%s", s->bucket_name, s->key ? "/" : "",
                 s->key ? s->key : "");
        struct ksm_s3_error xe = {.err = e, .message = msg, .resource = resource,
                                  .request_id = r->id,
                                  .bucket = s->bucket_name[0] ? s->bucket_name : NULL, .key = s->key};
        ksm_s3_write_error(&r->resp, &xe);
        r->content_type = "application/xml";
    }
    ksm_s3_finish(s);
}

void ksm_s3_reply_xml(struct s3_req *s, int status)
{
    s->r->status = status;
    s->r->content_type = "application/xml";
    ksm_s3_finish(s);
}

/* ---- addressing and the operation ------------------------------------------------------------- */

/* The raw target's path part, decoded into the key (S3 keys may hold any byte but NUL). */
static const char *decode_key(struct ksm_arena *a, const char *p, size_t n)
{
    char *out = ksm_arena_alloc(a, n + 1);
    return ksm_pct_decode(p, n, out, KSM_PCT_NO_NUL) < 0 ? NULL : out;
}

/* Virtual-host style when Host is <bucket>.<domain>; otherwise the first path segment. */
static enum ksm_err address(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    const char *t = r->target, *q = strchr(t, '?');
    size_t plen = q ? (size_t)(q - t) : strlen(t);
    const char *host = ksm_req_header(r, "host");
    size_t dl = strlen(s3_domain), hl = host ? strcspn(host, ":") : 0;
    const char *path = t + 1;
    size_t rest = plen > 0 ? plen - 1 : 0;
    if (host && dl && hl > dl + 1 && host[hl - dl - 1] == '.' && !strncasecmp(host + hl - dl, s3_domain, dl)) {
        size_t bl = hl - dl - 1;
        if (bl >= sizeof s->bucket_name)
            return KSM_E_INVALID_BUCKET_NAME;
        memcpy(s->bucket_name, host, bl);
        s->bucket_name[bl] = '\0';
    } else if (rest) {
        size_t bl = strcspn(path, "/");
        if (bl > rest)
            bl = rest;
        if (bl >= sizeof s->bucket_name)
            return KSM_E_INVALID_BUCKET_NAME;
        memcpy(s->bucket_name, path, bl);
        s->bucket_name[bl] = '\0';
        path += bl;
        rest -= bl;
        if (rest) {   /* skip the '/' after the bucket */
            path++;
            rest--;
        }
    } else {
        return KSM_E_OK;   /* the service: GET / */
    }
    if (rest) {
        s->key = decode_key(r->arena, path, rest);
        if (!s->key || strlen(s->key) > KSM_STORE_KEY_MAX)
            return s->key ? KSM_E_KEY_TOO_LONG : KSM_E_INVALID_URI;
    }
    return KSM_E_OK;
}

static const struct s3_op *find_op(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    enum s3_level lvl = s->key ? S3_OBJECT : s->bucket_name[0] ? S3_BUCKET : S3_SERVICE;
    const struct s3_op *plain = NULL;
    for (size_t i = 0; i < KSM_NELEM(ops); i++) {
        if (ops[i].level != lvl || strcmp(ops[i].method, r->method_name))
            continue;
        if (!ops[i].sub)
            plain = plain ? plain : &ops[i];
        else if (query_has(r->query, ops[i].sub))
            return &ops[i];
    }
    return plain;
}

/* ---- authentication and authorisation ------------------------------------------------------------ */

static enum ksm_err authenticate(struct s3_req *s, const char **why)
{
    struct ksm_req *r = s->r;
    struct ksm_s3_hdr *h = ksm_arena_alloc(r->arena, sizeof *h * (size_t)(r->nheaders + 1));
    for (int i = 0; i < r->nheaders; i++)
        h[i] = (struct ksm_s3_hdr){r->headers[i].name, r->headers[i].value};
    const char *q = strchr(r->target, '?');
    char *path = ksm_arena_strndup(r->arena, r->target, q ? (size_t)(q - r->target) : strlen(r->target));
    struct ksm_s3_request rq = {.method = r->method_name, .path = path, .query = q ? q + 1 : "",
                                .headers = h, .nheaders = r->nheaders, .now = ksm_now_ms() / 1000};
    struct ksm_s3_auth_opts ao = {.regions = auth_regions, .nregions = KSM_NELEM(auth_regions)};
    enum ksm_err e = ksm_s3_auth_parse(&rq, &ao, &s->auth);
    if (e == KSM_E_UNAUTHENTICATED)
        return *why = "anonymous access is not allowed", KSM_E_S3_ACCESS_DENIED;
    if (e != KSM_E_OK)
        return *why = s->auth.why, e;
    uint8_t *blob = NULL;
    size_t bloblen = 0;
    e = ksm_iam_s3_key_find(db_of(s), s->auth.key_id, &s->principal, &blob, &bloblen);
    if (e != KSM_E_OK)
        return *why = "The AWS Access Key Id you provided does not exist in our records.", e;
    char ctx[200], *secret = NULL;
    size_t slen = 0;
    snprintf(ctx, sizeof ctx, "kasumi/v1/s3-secret/%s", s->auth.key_id);
    e = ksm_kms_unseal(app_of(s)->kms, ctx, blob, bloblen, &secret, &slen);
    free(blob);
    if (e != KSM_E_OK) {
        ksm_error("s3: cannot unseal the secret of %s: %s", s->auth.key_id, ksm_err_code(e));
        return *why = "the key cannot be used", KSM_E_INTERNAL;
    }
    e = ksm_s3_auth_verify(&rq, &s->auth, secret, slen);
    ksm_kms_secret_free(secret, slen);
    if (e != KSM_E_OK)
        return *why = s->auth.why, e;
    s->authenticated = true;
    ksm_iam_key_used(db_of(s), s->principal.key_id);   /* signed by its secret: really used */
    if (ksm_iam_principal_active(db_of(s), &s->principal) == KSM_E_SUSPENDED)
        return *why = "the tenant is suspended", KSM_E_S3_ACCESS_DENIED;
    return KSM_E_OK;
}

/* The bucket by name within the caller's tenant (another tenant's bucket of the same name does not
 * exist for this caller), and the operation's permission at its project. */
bool ksm_s3_need_bucket(struct s3_req *s)
{
    if (s->have_bucket)
        return true;
    if (ksm_store_bucket_get(db_of(s), s->principal.tenant_id, s->bucket_name, &s->bucket) != KSM_E_OK) {
        ksm_s3_error(s, KSM_E_NO_SUCH_BUCKET, NULL);
        return false;
    }
    s->have_bucket = true;
    enum ksm_err e = ksm_iam_check(db_of(s), &s->principal, s->op->permission, s->bucket.tenant,
                                   s->bucket.project);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, KSM_E_S3_ACCESS_DENIED, NULL);
        return false;
    }
    return true;
}

/* ---- entry points ------------------------------------------------------------------------------- */

/* The head of every S3 request: address, operation, signature. Uploads start streaming here. */
void ksm_s3_on_headers(struct ksm_req *r)
{
    struct s3_req *s = ksm_xcalloc(1, sizeof *s);
    s->r = r;
    r->app_data = s;
    const char *why = NULL;
    enum ksm_err e = address(s);
    if (e == KSM_E_OK && r->method == HTTP_OPTIONS) {
        s->op = &preflight_op;   /* answered from ksm_s3_dispatch, unauthenticated */
        return;
    }
    if (e == KSM_E_OK && !(s->op = find_op(s)))
        e = KSM_E_NOT_IMPLEMENTED;
    const char *vid = e == KSM_E_OK ? ksm_req_query(r, "versionId") : NULL;
    if (vid && *vid && !ksm_store_version_id_ok(vid))
        e = KSM_E_INVALID_ARGUMENT, why = "Invalid version id specified";
    if (e == KSM_E_OK)
        e = authenticate(s, &why);
    if (e != KSM_E_OK) {
        s->early_err = e;
        s->early_msg = why;
        ksm_s3_error(s, e, why);   /* at the head: the body is dropped and the connection closes */
        return;
    }
    if (s->op->flags & S3_STREAM)
        s->op->handler(s);   /* sets up the streamed body, or answers */
}

/* A buffered body (XML: tagging, DeleteObjects, CompleteMultipartUpload, CreateBucket) is checked
 * against the signed x-amz-content-sha256 before anything acts on it, so a body altered in transit
 * is refused; aws-chunked framing is accepted only on object uploads, which stream. */
static enum ksm_err buffered_body_signed(struct s3_req *s)
{
    if (s->auth.payload == KSM_S3_PAYLOAD_UNSIGNED)
        return KSM_E_OK;
    if (s->auth.payload != KSM_S3_PAYLOAD_SHA256)
        return s->r->body.len ? KSM_E_NOT_IMPLEMENTED : KSM_E_OK;
    struct ksm_s3_body_hash h;
    enum ksm_err e = ksm_s3_body_hash_init(&h, &s->auth);
    if (e != KSM_E_OK)
        return e;
    ksm_s3_body_hash_update(&h, s->r->body.data ? s->r->body.data : "", s->r->body.len);
    return ksm_s3_body_hash_final(&h);
}

/* A complete request whose (small) body was buffered. */
void ksm_s3_dispatch(struct ksm_req *r)
{
    struct s3_req *s = r->app_data;
    if (!s) {   /* rejected by the HTTP layer before on_headers ran */
        s = ksm_xcalloc(1, sizeof *s);
        s->r = r;
        r->app_data = s;
        ksm_s3_error(s, r->err != KSM_E_OK ? r->err : KSM_E_BAD_REQUEST, r->err_detail);
        return;
    }
    if (r->err != KSM_E_OK) {
        ksm_s3_error(s, r->err, r->err_detail);
        return;
    }
    if (s->op == &preflight_op) {
        s->op->handler(s);
        return;
    }
    enum ksm_err e = buffered_body_signed(s);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, e == KSM_E_NOT_IMPLEMENTED ? "streaming payloads only carry object data" : NULL);
        return;
    }
    s->bytes_in = r->body.len;
    if ((s->op->flags & S3_STREAM) && ksm_req_header(r, "x-amz-copy-source")) {
        ksm_s3_copy_object(s);   /* a PUT with a copy source carries no body */
        return;
    }
    s->op->handler(s);
}

void ksm_s3_setup(struct ksm_store *store, const struct ksm_conf *conf)
{
    ksm_s3_store = store;
    snprintf(s3_domain, sizeof s3_domain, "%s", conf->s3_domain);
}
