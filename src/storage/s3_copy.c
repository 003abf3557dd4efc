/* s3_copy.c — CopyObject and UploadPartCopy: a PUT whose bytes come from another object named by
 * x-amz-copy-source instead of from the body.
 *
 * The source is read with the store's streaming get (plaintext, chunk by chunk) and fed into a new
 * put of the destination, which seals it under a fresh data key of the destination bucket (a copy
 * is re-encrypted, possibly into another region). The put's back-pressure pauses the get, so memory
 * stays flat whatever the size. Nothing is answered before the new object (or part) is durable.
 *
 * A ?versionId suffix on the source copies that version (x-amz-copy-source-version-id answers
 * which one was read). The source is looked up in the caller's tenant, so another tenant's bucket
 * of the same name is NoSuchBucket, and reading it needs s3.object.read at its project. */
#define _GNU_SOURCE   /* strptime, timegm */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"
#include "storage/s3_int.h"

#define COPY_MAX (5ull << 30)   /* S3's limit for one copy (object or part) */

/* The copies are selected by a header, not by a sub-resource, so they are not rows of the operation
 * table: the PUT row matched at the head (and checked s3.object.write at the destination there);
 * these rows only give the audit record its action. */
static const struct s3_op copy_object_op = {"PUT", S3_OBJECT, NULL, "CopyObject", "s3.object.write",
                                            S3_STREAM | S3_MUTATES, ksm_s3_copy_object};
static const struct s3_op copy_part_op = {"PUT", S3_OBJECT, "uploadId", "UploadPartCopy",
                                          "s3.object.write", S3_STREAM | S3_MUTATES,
                                          ksm_s3_copy_object};

/* What the callbacks need besides the request (in the request's arena). */
struct copy_job {
    struct s3_req *s;
    struct ksm_bucket src;
    const char *src_key;
    const char *src_version;  /* NULL: the current one */
    uint8_t src_ck[32], dst_ck[32];   /* SSE-C keys of the source and the copy, wiped after use */
    bool src_ssec, dst_ssec;
    uint64_t off, len;
    int part;                 /* 0: CopyObject */
};

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }
static const char *hdr(struct s3_req *s, const char *name) { return ksm_req_header(s->r, name); }

/* ---- the source ------------------------------------------------------------------------------ */

/* "/bucket/key", "bucket/key", URL-encoded, optionally "?versionId=ID". */
static enum ksm_err source_parse(struct s3_req *s, struct copy_job *j, char bucket[64],
                                 const char **why)
{
    const char *v = hdr(s, "x-amz-copy-source");
    v += *v == '/';
    const char *q = strchr(v, '?');
    size_t n = q ? (size_t)(q - v) : strlen(v);
    if (q && (strncmp(q, "?versionId=", 11) || !ksm_store_version_id_ok(q + 11)))
        return *why = "Invalid version id specified", KSM_E_INVALID_ARGUMENT;
    j->src_version = q ? ksm_arena_strdup(s->r->arena, q + 11) : NULL;
    char *path = ksm_s3_unescape(s->r->arena, v, n, false);
    char *slash = path ? strchr(path, '/') : NULL;
    if (!slash || slash == path || !slash[1] || (size_t)(slash - path) >= 64)
        return *why = "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
               KSM_E_INVALID_ARGUMENT;
    *slash = '\0';
    snprintf(bucket, 64, "%s", path);
    j->src_key = slash + 1;
    if (strlen(j->src_key) > KSM_STORE_KEY_MAX)
        return *why = NULL, KSM_E_KEY_TOO_LONG;
    return KSM_E_OK;
}

/* The source bucket within the caller's tenant, readable by the caller. */
static enum ksm_err source_bucket(struct s3_req *s, struct copy_job *j, const char *name)
{
    if (ksm_store_bucket_get(db_of(s), s->principal.tenant_id, name, &j->src) != KSM_E_OK)
        return KSM_E_NO_SUCH_BUCKET;
    if (ksm_iam_check(db_of(s), &s->principal, "s3.object.read", j->src.tenant, j->src.project) !=
        KSM_E_OK)
        return KSM_E_S3_ACCESS_DENIED;
    return KSM_E_OK;
}

/* ---- x-amz-copy-source-if-* ------------------------------------------------------------------ */

/* A header's list of ETags ("*", or quoted or bare values, comma separated) holds etag? */
static bool etag_listed(const char *list, const char *etag)
{
    size_t el = strlen(etag);
    if (el >= 2 && etag[0] == '"') {   /* stored quoted */
        etag++;
        el -= 2;
    }
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        const char *v = p;
        if (t >= 2 && v[0] == 'W' && v[1] == '/')
            v += 2, t -= 2;
        if (t >= 2 && v[0] == '"' && v[t - 1] == '"')
            v++, t -= 2;
        if ((t == 1 && *v == '*') || (t == el && !memcmp(v, etag, el)))
            return true;
        p += n;
    }
    return false;
}

/* -1 when absent or unparseable (then ignored, as HTTP dates are). */
static int64_t http_date(const char *v)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!v || !strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return -1;
    return (int64_t)timegm(&tm);
}

/* As S3: a failed condition is 412 whichever it is (a copy has no 304); If-Match decides over
 * If-Unmodified-Since and If-None-Match over If-Modified-Since, as RFC 9110 orders them. */
static enum ksm_err source_conditions(struct s3_req *s, const struct ksm_obj_meta *m)
{
    const char *im = hdr(s, "x-amz-copy-source-if-match");
    const char *inm = hdr(s, "x-amz-copy-source-if-none-match");
    int64_t ius = http_date(hdr(s, "x-amz-copy-source-if-unmodified-since"));
    int64_t ims = http_date(hdr(s, "x-amz-copy-source-if-modified-since"));
    int64_t mtime = m->mtime_ms / 1000;
    if (im && !etag_listed(im, m->etag))
        return KSM_E_PRECONDITION_FAILED;
    if (!im && ius >= 0 && mtime > ius)
        return KSM_E_PRECONDITION_FAILED;
    if (inm && etag_listed(inm, m->etag))
        return KSM_E_PRECONDITION_FAILED;
    if (!inm && ims >= 0 && mtime <= ims)
        return KSM_E_PRECONDITION_FAILED;
    return KSM_E_OK;
}

/* ---- what is written ------------------------------------------------------------------------- */

/* "COPY" (the default) or "REPLACE"; -1 for anything else. */
static int directive(struct s3_req *s, const char *name)
{
    const char *v = hdr(s, name);
    if (!v || !strcmp(v, "COPY"))
        return 0;
    return strcmp(v, "REPLACE") ? -1 : 1;
}

/* The destination object's metadata: the source's (COPY) or this request's headers (REPLACE),
 * and likewise its tags under x-amz-tagging-directive. */
static enum ksm_err object_meta(struct s3_req *s, struct copy_job *j,
                                const struct ksm_obj_meta *src, const char **why)
{
    int md = directive(s, "x-amz-metadata-directive"), td = directive(s, "x-amz-tagging-directive");
    if (md < 0 || td < 0)
        return *why = md < 0 ? "Unknown metadata directive." : "Unknown tagging directive.",
               KSM_E_INVALID_ARGUMENT;
    if (!md && !strcmp(j->src.id, s->bucket.id) && !strcmp(j->src_key, s->key))
        return *why =
                   "This copy request is illegal because it is trying to copy an object to itself "
                   "without changing the object's metadata, storage class, website redirect "
                   "location or encryption attributes.",
               KSM_E_BAD_REQUEST;
    enum ksm_err e = KSM_E_OK;
    if (md) {
        e = ksm_s3_meta_from_headers(s, &s->meta);
    } else {
        s->meta = *src;
        s->meta.user_meta = json_incref(src->user_meta);
        s->meta.tags = NULL;
    }
    if (e == KSM_E_OK && td)
        e = ksm_s3_tagging_header(s, &s->meta.tags, why);
    else if (e == KSM_E_OK)
        s->meta.tags = json_incref(src->tags);
    snprintf(s->meta.key, sizeof s->meta.key, "%s", s->key);
    return e;
}

/* "bytes=first-last" within the source, as UploadPartCopy takes it; none: the whole object. */
static enum ksm_err part_range(struct s3_req *s, struct copy_job *j, uint64_t size,
                               const char **why)
{
    const char *h = hdr(s, "x-amz-copy-source-range");
    unsigned long long a, b;
    int used = 0;
    j->off = 0;
    j->len = size;
    if (!h)
        return KSM_E_OK;
    if (sscanf(h, "bytes=%llu-%llu%n", &a, &b, &used) != 2 || h[used] || b < a)
        return *why =
                   "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                   "first and last are the zero-based offsets of the first and last bytes to copy",
               KSM_E_INVALID_ARGUMENT;
    if (b >= size)
        return *why = ksm_arena_printf(
                   s->r->arena, "Range specified is not valid for source object of size: %llu",
                   (unsigned long long)size),
               KSM_E_INVALID_ARGUMENT;
    j->off = a;
    j->len = b - a + 1;
    return KSM_E_OK;
}

/* UploadPartCopy's destination: a part of an upload in progress. */
static enum ksm_err part_target(struct s3_req *s, struct copy_job *j, const char **why)
{
    const char *pn = ksm_s3_query(s, "partNumber");
    j->part = pn ? atoi(pn) : 0;
    if (j->part < 1 || j->part > KSM_S3_MAX_PART_NUMBER)
        return *why = "Part number must be an integer between 1 and 10000", KSM_E_INVALID_ARGUMENT;
    if (ksm_store_mpu_check(db_of(s), &s->bucket, s->key, ksm_s3_query(s, "uploadId")) != KSM_E_OK)
        return KSM_E_NO_SUCH_UPLOAD;
    snprintf(s->meta.key, sizeof s->meta.key, "%s", s->key);
    return KSM_E_OK;
}

/* ---- streaming: source get → destination put ------------------------------------------------- */

static void copy_drained(void *arg)
{
    struct copy_job *j = arg;
    if (j->s->get)
        ksm_store_get_resume(j->s->get);
}

static bool copy_data(void *arg, char *p, size_t n)
{
    struct copy_job *j = arg;
    bool pause = ksm_store_put_write(j->s->put, p, n, copy_drained, j);   /* copies p */
    ksm_store_piece_release(NULL, p);
    return pause;
}

/* The audit detail names the source and the size; a very long key is cut so the size stays. */
static void copy_detail(struct copy_job *j)
{
    struct s3_req *s = j->s;
    char tail[64];
    snprintf(tail, sizeof tail, " size=%llu%s", (unsigned long long)j->len,
             j->part ? " part=" : "");
    if (j->part)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail), "%d", j->part);
    int room = (int)(sizeof s->detail - strlen(tail) - strlen(j->src.name) - sizeof "copy_from=/");
    snprintf(s->detail, sizeof s->detail, "copy_from=%s/%.*s%s", j->src.name, room > 0 ? room : 0,
             j->src_key, tail);
}

static void copy_committed(void *arg, enum ksm_err e)
{
    struct copy_job *j = arg;
    struct s3_req *s = j->s;
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    copy_detail(j);
    if (s->meta.version_id[0])
        ksm_req_add_header(s->r, "x-amz-version-id", ksm_arena_strdup(s->r->arena, s->meta.version_id));
    ksm_s3_sse_headers(s, &s->meta);
    ksm_s3_quota_commit(s);
    ksm_s3_quota_shrunk(s);   /* it may have replaced an object: re-read usage */
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_copy_result(&s->r->resp, j->part != 0, s->meta.mtime_ms, s->meta.etag);
    ksm_s3_reply_xml(s, 200);
}

static void copy_read_done(void *arg, enum ksm_err e)
{
    struct copy_job *j = arg;
    struct s3_req *s = j->s;
    struct ksm_put *p = s->put;
    s->get = NULL;   /* the store frees it after this call */
    s->put = NULL;   /* commit or abort hands it back to the store */
    if (e != KSM_E_OK) {
        ksm_store_put_abort(p);   /* nothing of a copy whose source failed to read is kept */
        ksm_s3_error(s, e, "the copy source could not be read");
        return;
    }
    ksm_store_put_commit(p, &s->meta, NULL, copy_committed, j);
}

/* ---- the operation --------------------------------------------------------------------------- */

/* Everything that can be refused before a byte moves: source, permissions, conditions, metadata. */
static enum ksm_err copy_prepare(struct s3_req *s, struct copy_job *j, const char **why)
{
    char src_bucket[64];
    struct ksm_obj_meta src = {0};
    enum ksm_err e = source_parse(s, j, src_bucket, why);
    if (e == KSM_E_OK)
        e = source_bucket(s, j, src_bucket);
    if (e == KSM_E_OK && j->part)
        e = part_target(s, j, why);
    if (e != KSM_E_OK)
        return e;
    /* the metadata snapshot and the bytes read are the same version of the source */
    s->get = ksm_store_get_open_ssec(ksm_s3_store, db_of(s), &j->src, j->src_key, j->src_version,
                                     j->src_ssec ? j->src_ck : NULL, &src, &e);
    OPENSSL_cleanse(j->src_ck, sizeof j->src_ck);
    if (!s->get) {
        ksm_obj_meta_free(&src);
        return e == KSM_E_METHOD_NOT_ALLOWED ? KSM_E_INVALID_ARGUMENT : e;   /* a delete marker */
    }
    if (src.version_id[0])
        ksm_req_add_header(s->r, "x-amz-copy-source-version-id",
                           ksm_arena_strdup(s->r->arena, src.version_id));
    e = source_conditions(s, &src);
    if (e == KSM_E_OK)
        e = j->part ? part_range(s, j, src.size, why) : object_meta(s, j, &src, why);
    if (e == KSM_E_OK && !j->part)
        j->len = src.size;
    if (e == KSM_E_OK && j->len > COPY_MAX) {
        *why = "The specified copy source is larger than the maximum allowable size for a copy "
               "source: 5368709120";
        e = KSM_E_BAD_REQUEST;
    }
    ksm_obj_meta_free(&src);
    return e;
}

void ksm_s3_copy_object(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    struct copy_job *j = ksm_arena_calloc(r->arena, sizeof *j);
    const char *why = NULL;
    j->s = s;
    j->part = ksm_s3_query(s, "uploadId") ? -1 : 0;   /* the number comes in part_target */
    s->op = j->part ? &copy_part_op : &copy_object_op;
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_s3_ssec_key(s, "x-amz-copy-source-", j->src_ck, &j->src_ssec, &why);
    if (e == KSM_E_OK)
        e = ksm_s3_ssec_key(s, "x-amz-", j->dst_ck, &j->dst_ssec, &why);
    if (e == KSM_E_OK)
        e = ksm_s3_sse_kms_check(s, &why);
    if (e == KSM_E_OK)
        e = copy_prepare(s, j, &why);
    if (e == KSM_E_OK && (e = ksm_s3_quota_reserve(s, (int64_t)j->len, j->part ? 0 : 1, 0, 0)))
        why = s->quota_msg;
    if (e != KSM_E_OK)
        goto fail;
    s->put = ksm_store_put_begin_ssec(ksm_s3_store, &r->worker->loop, db_of(s), &s->bucket,
                                      s->key, (int64_t)j->len,
                                      j->part ? ksm_s3_query(s, "uploadId") : NULL, j->part,
                                      j->dst_ssec ? j->dst_ck : NULL);
    OPENSSL_cleanse(j->dst_ck, sizeof j->dst_ck);
    e = ksm_store_put_error(s->put);
    if (e != KSM_E_OK)
        goto fail;   /* s3_free aborts the put and cancels the get */
    if (j->len == 0) {   /* nothing to read: an empty object, committed at once */
        ksm_store_get_cancel(s->get);
        s->get = NULL;
        copy_read_done(j, KSM_E_OK);
        return;
    }
    ksm_store_get_start(s->get, &r->worker->loop, j->off, j->len, copy_data, copy_read_done, j);
    return;
fail:
    OPENSSL_cleanse(j->src_ck, sizeof j->src_ck);
    OPENSSL_cleanse(j->dst_ck, sizeof j->dst_ck);
    ksm_s3_error(s, e, why);
}
