/* s3_object.c — object operations: PutObject and UploadPart stream their bodies straight into the
 * store (through the aws-chunked decoder or a payload-hash check), GetObject streams out (Range and
 * conditional requests), HeadObject, DeleteObject and DeleteObjects. CopyObject and UploadPartCopy
 * are in s3_copy.c, object tags in s3_tagging.c.
 *
 * Nothing is acknowledged before the store says the object is durable. A body whose signature or
 * hash fails is dropped whole: the store's put is aborted, so no part of it is ever visible. */
#define _GNU_SOURCE   /* strptime, timegm */
#include <llhttp.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "storage/s3_int.h"

#define USER_META_MAX 2048   /* S3's limit on x-amz-meta-* */

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }

/* ---- metadata from the request's headers ---------------------------------------------------------- */

static void copy_hdr(struct s3_req *s, const char *name, char *dst, size_t n)
{
    const char *v = ksm_req_header(s->r, name);
    snprintf(dst, n, "%s", v ? v : "");
}

/* Also CopyObject's with x-amz-metadata-directive REPLACE (s3_copy.c). */
enum ksm_err ksm_s3_meta_from_headers(struct s3_req *s, struct ksm_obj_meta *m)
{
    struct ksm_req *r = s->r;
    copy_hdr(s, "content-type", m->content_type, sizeof m->content_type);
    if (!m->content_type[0])
        snprintf(m->content_type, sizeof m->content_type, "binary/octet-stream");
    copy_hdr(s, "cache-control", m->cache_control, sizeof m->cache_control);
    copy_hdr(s, "content-disposition", m->content_disposition, sizeof m->content_disposition);
    copy_hdr(s, "content-encoding", m->content_encoding, sizeof m->content_encoding);
    copy_hdr(s, "content-language", m->content_language, sizeof m->content_language);
    copy_hdr(s, "expires", m->expires, sizeof m->expires);
    /* aws-chunked is transport framing, not the object's encoding */
    if (!strncasecmp(m->content_encoding, "aws-chunked", 11)) {
        const char *rest = strchr(m->content_encoding, ',');
        char tmp[128];
        snprintf(tmp, sizeof tmp, "%s", rest ? rest + 1 + strspn(rest + 1, " ") : "");
        snprintf(m->content_encoding, sizeof m->content_encoding, "%s", tmp);
    }
    m->user_meta = json_object();
    size_t total = 0;
    for (int i = 0; i < r->nheaders; i++) {
        if (strncmp(r->headers[i].name, "x-amz-meta-", 11))
            continue;
        total += strlen(r->headers[i].name + 11) + strlen(r->headers[i].value);
        if (total > USER_META_MAX)
            return KSM_E_TOO_LARGE;
        json_object_set_new(m->user_meta, r->headers[i].name + 11, json_string(r->headers[i].value));
    }
    return KSM_E_OK;
}

/* The object's headers on GET and HEAD. */
static void meta_to_headers(struct s3_req *s, const struct ksm_obj_meta *m)
{
    struct ksm_req *r = s->r;
    struct ksm_arena *a = r->arena;
    char when[40];
    time_t t = (time_t)(m->mtime_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ksm_req_add_header(r, "ETag", ksm_arena_strdup(a, m->etag));
    ksm_req_add_header(r, "Last-Modified", ksm_arena_strdup(a, when));
    ksm_req_add_header(r, "Accept-Ranges", "bytes");
    /* stored HTML must not run as a page of ours (the console shares the origin's users) */
    ksm_req_add_header(r, "Content-Security-Policy", "sandbox");
    struct { const char *name; const char *v; } std[] = {
        {"Cache-Control", m->cache_control}, {"Content-Disposition", m->content_disposition},
        {"Content-Encoding", m->content_encoding}, {"Content-Language", m->content_language},
        {"Expires", m->expires},
    };
    for (size_t i = 0; i < KSM_NELEM(std); i++)
        if (std[i].v[0])
            ksm_req_add_header(r, std[i].name, ksm_arena_strdup(a, std[i].v));
    if (json_object_size(m->tags))
        ksm_req_add_header(r, "x-amz-tagging-count",
                           ksm_arena_printf(a, "%zu", json_object_size(m->tags)));
    const char *k;
    json_t *v;
    json_object_foreach(m->user_meta, k, v)
        ksm_req_add_header(r, ksm_arena_printf(a, "x-amz-meta-%s", k),
                           ksm_arena_strdup(a, json_string_value(v)));
    r->content_type = ksm_arena_strdup(a, m->content_type[0] ? m->content_type : "binary/octet-stream");
}

/* ---- PutObject / UploadPart ----------------------------------------------------------------------- */

static void put_drained(void *arg)
{
    struct s3_req *s = arg;
    s->store_paused = false;
    ksm_req_body_resume(s->r);
}

static enum ksm_err to_store(void *ud, const char *p, size_t n)
{
    struct s3_req *s = ud;
    s->bytes_in += n;
    if (s->use_cksum)
        ksm_s3_cksum_update(&s->cksum, p, n);
    if (ksm_store_put_write(s->put, p, n, put_drained, s))
        s->store_paused = true;
    return KSM_E_OK;
}

static bool on_chunk(struct ksm_req *r, const char *p, size_t n)
{
    struct s3_req *s = r->app_data;
    if (!s || s->body_err != KSM_E_OK)
        return false;   /* already failed: the rest is dropped */
    if (s->use_chunked) {
        s->body_err = ksm_s3_chunked_feed(&s->chunked, p, n);
    } else {
        if (s->use_hash)
            ksm_s3_body_hash_update(&s->hash, p, n);
        to_store(s, p, n);
    }
    return s->store_paused;
}

static void put_done(void *arg, enum ksm_err e)
{
    struct s3_req *s = arg;
    s->put = NULL;   /* the store freed it */
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    /* sizes in and out of the bucket, so stored bytes over time can be rebuilt from the log */
    snprintf(s->detail, sizeof s->detail, "size=%llu%s%s%s%s", (unsigned long long)s->meta.size,
             ksm_s3_query(s, "uploadId") ? " part=" : "",
             ksm_s3_query(s, "uploadId") ? ksm_s3_query(s, "partNumber") : "",
             s->replaced[0] ? " replaces=" : "", s->replaced);
    ksm_req_add_header(s->r, "ETag", ksm_arena_strdup(s->r->arena, s->meta.etag));
    if (s->meta.version_id[0])
        ksm_req_add_header(s->r, "x-amz-version-id", ksm_arena_strdup(s->r->arena, s->meta.version_id));
    ksm_s3_quota_commit(s);
    s->r->status = 200;
    ksm_s3_finish(s);
}

static void on_body_end(struct ksm_req *r)
{
    struct s3_req *s = r->app_data;
    enum ksm_err e = s->body_err;
    if (e == KSM_E_OK && s->use_chunked)
        e = ksm_s3_chunked_finish(&s->chunked);
    if (e == KSM_E_OK && s->use_hash)
        e = ksm_s3_body_hash_final(&s->hash);
    if (e == KSM_E_OK && r->content_length >= 0 && !s->use_chunked &&
        s->bytes_in != (uint64_t)r->content_length)
        e = KSM_E_INCOMPLETE_BODY;
    if (e == KSM_E_OK && s->use_cksum) {
        char got[KSM_S3_CKSUM_B64_MAX];
        ksm_s3_cksum_final(&s->cksum, got);
        if (strcmp(got, s->cksum_want))
            e = KSM_E_BAD_DIGEST;   /* the body is not what the client said it sent */
    }
    if (e != KSM_E_OK) {
        ksm_store_put_abort(s->put);   /* nothing of a body that failed its check is kept */
        s->put = NULL;
        ksm_s3_error(s, e, s->use_chunked ? s->chunked.why : NULL);
        return;
    }
    s->committing = true;
    ksm_store_put_commit(s->put, &s->meta, ksm_req_header(r, "content-md5"), put_done, s);
}

static void on_client_gone(struct ksm_req *r)
{
    struct s3_req *s = r->app_data;
    if (!s)
        return;
    if (s->put && !s->committing) {   /* a commit in flight completes; its answer is dropped */
        ksm_store_put_abort(s->put);
        s->put = NULL;
    }
    if (r->dropped)   /* gone mid-body: the request never completes, so nothing else frees it */
        ksm_s3_drop(s);
}

/* The object this PUT will replace, if any: its ETag and size go into the audit record; its size
 * (-1: none) is what the quota credits. */
static int64_t note_replaced(struct s3_req *s)
{
    struct ksm_obj_meta old = {0};
    int64_t size = -1;
    if (ksm_store_head(db_of(s), &s->bucket, s->key, &old) == KSM_E_OK) {
        snprintf(s->replaced, sizeof s->replaced, "%s:%llu", old.etag, (unsigned long long)old.size);
        size = (int64_t)old.size;
    }
    ksm_obj_meta_free(&old);
    return size;
}

/* An x-amz-checksum-<alg> header (not a trailer): the body must match it. */
static void checksum_header(struct s3_req *s)
{
    static const char *const algs[] = {"crc32", "crc32c", "sha1", "sha256"};
    for (size_t i = 0; i < KSM_NELEM(algs); i++) {
        char name[40];
        snprintf(name, sizeof name, "x-amz-checksum-%s", algs[i]);
        const char *v = ksm_req_header(s->r, name);
        if (!v)
            continue;
        ksm_s3_cksum_init(&s->cksum, ksm_s3_cksum_by_name(name, strlen(name)));
        s->use_cksum = true;
        s->cksum_want = v;
        return;
    }
}

static enum ksm_err body_mode(struct s3_req *s, int64_t *expected)
{
    struct ksm_req *r = s->r;
    *expected = r->content_length;
    switch (s->auth.payload) {
    case KSM_S3_PAYLOAD_SHA256:
        s->use_hash = true;
        return ksm_s3_body_hash_init(&s->hash, &s->auth);
    case KSM_S3_PAYLOAD_UNSIGNED:
        return KSM_E_OK;
    default:
        *expected = s->auth.decoded_length;
        s->use_chunked = true;
        return ksm_s3_chunked_init(&s->chunked, &s->auth, to_store, s);
    }
}

void ksm_s3_put_object_begin(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    if (!ksm_s3_need_bucket(s))
        return;
    if (ksm_req_header(r, "x-amz-copy-source"))
        return;   /* CopyObject and UploadPartCopy have no body: they run when it completes */
    const char *upload = ksm_s3_query(s, "uploadId");
    int part = 0;
    if (upload) {
        const char *pn = ksm_s3_query(s, "partNumber");
        part = pn ? atoi(pn) : 0;
        if (part < 1 || part > KSM_S3_MAX_PART_NUMBER) {
            ksm_s3_error(s, KSM_E_INVALID_ARGUMENT, "Part number must be an integer between 1 and 10000");
            return;
        }
        if (ksm_store_mpu_check(db_of(s), &s->bucket, s->key, upload) != KSM_E_OK) {
            ksm_s3_error(s, KSM_E_NO_SUCH_UPLOAD, NULL);
            return;
        }
    }
    int64_t expected;
    const char *why = NULL;
    enum ksm_err e = upload ? KSM_E_OK : ksm_s3_meta_from_headers(s, &s->meta);
    if (e == KSM_E_OK && !upload)   /* tags set at creation go in with the metadata row */
        e = ksm_s3_tagging_header(s, &s->meta.tags, &why);
    if (e == KSM_E_OK && !upload)
        e = ksm_s3_lock_from_headers(s, &s->meta, &why);
    uint8_t ck[32];
    bool ssec = false;
    if (e == KSM_E_OK)
        e = ksm_s3_ssec_key(s, "x-amz-", ck, &ssec, &why);
    if (e == KSM_E_OK)
        e = ksm_s3_sse_kms_check(s, &why);
    if (e == KSM_E_OK)
        e = body_mode(s, &expected);
    if (e == KSM_E_OK && !s->use_chunked)
        checksum_header(s);   /* with aws-chunked the decoder checks the trailer's checksum */
    if (e == KSM_E_OK && expected < 0)
        e = KSM_E_LENGTH_REQUIRED;
    if (e == KSM_E_OK && (uint64_t)expected > (upload ? (5ull << 30) : (5ull << 30)))
        e = KSM_E_TOO_LARGE;   /* 5 GiB per PUT or part, as S3; larger objects go multipart */
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, why);
        return;
    }
    snprintf(s->meta.key, sizeof s->meta.key, "%s", s->key);
    int64_t old = upload ? -1 : note_replaced(s);
    if (old >= 0 && ksm_store_bucket_keeps_versions(db_of(s), &s->bucket))
        old = -1;   /* the replaced object stays, as a noncurrent version: no credit */
    e = ksm_s3_quota_reserve(s, expected, upload ? 0 : 1, old > 0 ? old : 0, old >= 0);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, s->quota_msg);
        return;
    }
    s->put = ksm_store_put_begin_ssec(ksm_s3_store, &r->worker->loop, db_of(s), &s->bucket,
                                      s->key, expected, upload, part, ssec ? ck : NULL);
    OPENSSL_cleanse(ck, sizeof ck);
    e = ksm_store_put_error(s->put);
    if (e == KSM_E_SSE_C_REQUIRED || e == KSM_E_SSE_C_MISMATCH || e == KSM_E_SSE_C_NOT_APPLICABLE) {
        ksm_s3_error(s, e, NULL);   /* before the body: the part cannot be stored */
        return;
    }
    struct ksm_obj_meta enc = {0};
    if (ssec)
        enc.sse_c[0] = 'C';
    ksm_s3_sse_headers(s, &enc);
    r->on_abort = on_client_gone;
    ksm_req_stream_body(r, on_chunk, on_body_end);
}

/* ---- GetObject / HeadObject ----------------------------------------------------------------------- */

/* RFC 9110 conditionals, as S3 evaluates them: If-Match and If-Unmodified-Since → 412,
 * If-None-Match and If-Modified-Since → 304 (GET/HEAD). */
static enum ksm_err conditions(struct s3_req *s, const struct ksm_obj_meta *m)
{
    struct ksm_req *r = s->r;
    const char *im = ksm_req_header(r, "if-match"), *inm = ksm_req_header(r, "if-none-match");
    const char *ims = ksm_req_header(r, "if-modified-since");
    const char *ius = ksm_req_header(r, "if-unmodified-since");
    int64_t mtime_s = m->mtime_ms / 1000;
    struct tm tm;
    if (im && strcmp(im, "*") && !strstr(im, m->etag))
        return KSM_E_PRECONDITION_FAILED;
    if (!im && ius && strptime(ius, "%a, %d %b %Y %H:%M:%S GMT", (memset(&tm, 0, sizeof tm), &tm)) &&
        mtime_s > (int64_t)timegm(&tm))
        return KSM_E_PRECONDITION_FAILED;
    if (inm && (!strcmp(inm, "*") || strstr(inm, m->etag)))
        return KSM_E_NOT_MODIFIED;
    if (!inm && ims && strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", (memset(&tm, 0, sizeof tm), &tm)) &&
        mtime_s <= (int64_t)timegm(&tm))
        return KSM_E_NOT_MODIFIED;
    return KSM_E_OK;
}

/* "bytes=a-b", "bytes=a-", "bytes=-n": one range (S3 serves one). -1: ignore the header. */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    unsigned long long a, b;
    char tail;
    if (strncmp(h, "bytes=", 6) || strchr(h, ','))
        return -1;
    h += 6;
    if (sscanf(h, "-%llu%c", &b, &tail) == 1) {
        if (b == 0)
            return 1;
        *off = b >= size ? 0 : size - b;
        *len = size - *off;
        return size ? 0 : 1;
    }
    int n = sscanf(h, "%llu-%llu%c", &a, &b, &tail);
    if (n == 1 && h[strlen(h) - 1] == '-')
        b = size ? size - 1 : 0;
    else if (n != 2 || b < a)
        return -1;
    if (a >= size)
        return 1;   /* not satisfiable */
    if (b >= size)
        b = size - 1;
    *off = a;
    *len = b - a + 1;
    return 0;
}

static bool get_data(void *arg, char *p, size_t n)
{
    struct s3_req *s = arg;
    s->bytes_out += n;
    ksm_req_stream_write_take(s->r, p, n, ksm_store_piece_release, NULL);
    return ksm_req_stream_congested(s->r);
}

static void get_drain(struct ksm_req *r)
{
    struct s3_req *s = r->app_data;
    if (s && s->get)
        ksm_store_get_resume(s->get);
}

static void get_done(void *arg, enum ksm_err e)
{
    struct s3_req *s = arg;
    s->get = NULL;
    struct ksm_req *r = s->r;
    if (e != KSM_E_OK) {   /* cut short: the client must not wait for bytes that will not come */
        snprintf(s->detail, sizeof s->detail, "read_error=%s", ksm_err_code(e));
        if (!r->aborted)   /* not the client leaving: the operator must hear of a failed read */
            ksm_log(e == KSM_E_DATA_CORRUPT ? KSM_LOG_ERROR : KSM_LOG_WARN,
                    "s3: GET %s/%s (request %s) stopped after %llu bytes: %s", s->bucket.name,
                    s->key, r->id, (unsigned long long)s->bytes_out, ksm_err_code(e));
        ksm_req_stream_fail(r);
    }
    r->on_drain = NULL;
    r->on_abort = NULL;
    /* the audit record and metering as for any request; the stream ends here */
    struct ksm_req *keep = r;
    ksm_obj_meta_free(&s->meta);
    ksm_s3_finish_stream(s);
    ksm_req_stream_end(keep);
}

static void get_abort(struct ksm_req *r)
{
    struct s3_req *s = r->app_data;
    if (s && s->get) {
        ksm_store_get_cancel(s->get);
        s->get = NULL;
        get_done(s, KSM_E_UNAVAILABLE);
    }
}

static void serve(struct s3_req *s, bool head)
{
    struct ksm_req *r = s->r;
    if (!ksm_s3_need_bucket(s))
        return;
    /* the headers and the bytes come from the same version: one snapshot */
    uint8_t ck[32];
    bool ssec = false;
    const char *why = NULL;
    enum ksm_err e = ksm_s3_ssec_key(s, "x-amz-", ck, &ssec, &why);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, why);
        return;
    }
    s->get = ksm_store_get_open_ssec(ksm_s3_store, db_of(s), &s->bucket, s->key,
                                     ksm_s3_version_param(s), ssec ? ck : NULL, &s->meta, &e);
    OPENSSL_cleanse(ck, sizeof ck);
    if (s->get)
        e = conditions(s, &s->meta);
    if (e != KSM_E_OK) {
        if (e == KSM_E_NOT_MODIFIED)
            meta_to_headers(s, &s->meta);
        if (e == KSM_E_NOT_MODIFIED || s->meta.delete_marker)
            ksm_s3_version_headers(s, &s->meta);
        ksm_s3_error(s, e == KSM_E_METHOD_NOT_ALLOWED && head ? KSM_E_METHOD_NOT_ALLOWED : e, NULL);
        return;   /* s3_free cancels the get */
    }
    uint64_t off = 0, len = s->meta.size;
    const char *range = ksm_req_header(r, "range");
    int rr = range ? parse_range(range, s->meta.size, &off, &len) : -1;
    if (rr == 1) {
        ksm_req_add_header(r, "Content-Range",
                           ksm_arena_printf(r->arena, "bytes */%llu", (unsigned long long)s->meta.size));
        ksm_s3_error(s, KSM_E_INVALID_RANGE, NULL);
        return;
    }
    meta_to_headers(s, &s->meta);
    ksm_s3_version_headers(s, &s->meta);
    ksm_s3_sse_headers(s, &s->meta);
    ksm_s3_std_headers(s);
    r->status = 200;
    if (rr == 0) {
        r->status = 206;
        ksm_req_add_header(r, "Content-Range",
                           ksm_arena_printf(r->arena, "bytes %llu-%llu/%llu", (unsigned long long)off,
                                            (unsigned long long)(off + len - 1),
                                            (unsigned long long)s->meta.size));
    }
    if (head || len == 0) {
        ksm_req_stream_begin_sized(r, len);
        struct ksm_req *keep = r;
        ksm_s3_finish_stream(s);
        ksm_req_stream_end(keep);
        return;
    }
    ksm_req_stream_begin_sized(r, len);
    r->on_drain = get_drain;
    r->on_abort = get_abort;
    ksm_store_get_start(s->get, &r->worker->loop, off, len, get_data, get_done, s);
}

void ksm_s3_get_object(struct s3_req *s) { serve(s, false); }
void ksm_s3_head_object(struct s3_req *s) { serve(s, true); }

/* ---- deletes ------------------------------------------------------------------------------------ */

/* A delete: a delete marker (versioned bucket, no version id), one version for good (lock
 * permitting), or the object (unversioned). */
static enum ksm_err delete_one(struct s3_req *s, const char *key, const char *vid,
                               struct ksm_delete_result *res)
{
    enum ksm_err e = ksm_store_delete_version(ksm_s3_store, db_of(s), &s->bucket, key, vid,
                                              vid && ksm_s3_bypass_governance(s), res);
    if (e == KSM_E_OBJECT_LOCKED && !strcmp(key, s->key ? s->key : ""))
        ksm_s3_lock_refused(s, vid);
    return e;
}

void ksm_s3_delete_object(struct s3_req *s)
{
    struct ksm_delete_result res;
    if (!ksm_s3_need_bucket(s))
        return;
    const char *vid = ksm_s3_version_param(s);
    ksm_s3_quota_delete_begin(s);
    enum ksm_err e = delete_one(s, s->key, vid, &res);
    uint64_t freed = e == KSM_E_OK ? res.freed_bytes : 0;
    ksm_s3_quota_delete_end(s, freed, freed > 0, freed == 0);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    struct ksm_obj_meta vh = {.delete_marker = res.delete_marker};
    snprintf(vh.version_id, sizeof vh.version_id, "%s", res.version_id);
    ksm_s3_version_headers(s, &vh);
    snprintf(s->detail, sizeof s->detail, "freed=%llu%s%s%s", (unsigned long long)freed,
             res.version_id[0] ? " version=" : "", res.version_id,
             res.delete_marker ? " delete_marker" : "");
    s->r->status = 204;
    ksm_s3_finish(s);
}

void ksm_s3_delete_objects(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_s3_xml_parse(KSM_S3X_DELETE, r->body.data ? r->body.data : "", r->body.len,
                                      &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    size_t n = body->u.del.nobjs;
    struct ksm_s3_delete_entry *out = ksm_arena_calloc(r->arena, sizeof *out * (n ? n : 1));
    uint64_t freed_total = 0, freed_objects = 0;
    ksm_s3_quota_delete_begin(s);
    for (size_t i = 0; i < n; i++) {
        struct ksm_delete_result res;
        const char *vid = body->u.del.objs[i].version_id;
        out[i].key = ksm_arena_strdup(r->arena, body->u.del.objs[i].key);
        out[i].version_id = vid ? ksm_arena_strdup(r->arena, vid) : NULL;
        out[i].err = delete_one(s, out[i].key, vid, &res);
        if (out[i].err != KSM_E_OK)
            continue;
        out[i].delete_marker = res.delete_marker;
        if (res.delete_marker)
            out[i].delete_marker_version_id = ksm_arena_strdup(r->arena, res.version_id);
        freed_total += res.freed_bytes;
        freed_objects += res.freed_bytes > 0;
    }
    ksm_s3_quota_delete_end(s, freed_total, freed_objects, freed_objects < n);
    bool quiet = body->u.del.quiet;
    ksm_s3_body_free(body);
    snprintf(s->detail, sizeof s->detail, "objects=%zu freed=%llu", n, (unsigned long long)freed_total);
    ksm_buf_reset(&r->resp);
    ksm_s3_write_delete_result(&r->resp, out, n, quiet);
    ksm_s3_reply_xml(s, 200);
}
