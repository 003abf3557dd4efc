/* s3_mpu.c — multipart uploads: create (the headers, user metadata and x-amz-tagging are kept with
 * the upload and given to the object at completion), complete (the client's part list checked by
 * the store: order, ETags, minimum size), abort, list parts, list uploads. Parts themselves are
 * PUTs (s3_object.c) that stream into the store like objects. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_int.h"

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }

/* The upload keeps what PutObject would take from the headers (standard headers, user metadata,
 * x-amz-tagging with the same checks and errors): the object gets it at completion. */
void ksm_s3_mpu_create(struct s3_req *s)
{
    char upload_id[64];
    struct ksm_obj_meta m = {0};
    const char *why = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    uint8_t ck[32];
    bool ssec = false;
    enum ksm_err e = ksm_s3_meta_from_headers(s, &m);
    if (e == KSM_E_OK)
        e = ksm_s3_tagging_header(s, &m.tags, &why);
    if (e == KSM_E_OK)
        e = ksm_s3_ssec_key(s, "x-amz-", ck, &ssec, &why);
    if (e == KSM_E_OK)
        e = ksm_s3_sse_kms_check(s, &why);
    if (e == KSM_E_OK && ssec) {   /* every part must come with this key */
        ksm_store_ssec_fingerprint(ck, &m);
        OPENSSL_cleanse(ck, sizeof ck);
        ksm_s3_ssec_headers(s);
    }
    if (e == KSM_E_OK)
        e = ksm_store_mpu_create(db_of(s), &s->bucket, s->key, &m, upload_id);
    ksm_obj_meta_free(&m);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, why);
        return;
    }
    snprintf(s->detail, sizeof s->detail, "upload=%s", upload_id);
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_initiate_mpu(&s->r->resp, s->bucket.name, s->key, upload_id);
    ksm_s3_reply_xml(s, 200);
}

static void complete_done(void *arg, enum ksm_err e)
{
    struct s3_req *s = arg;
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    snprintf(s->detail, sizeof s->detail, "upload=%s size=%llu parts=%d", ksm_s3_query(s, "uploadId"),
             (unsigned long long)s->meta.size, s->meta.parts);
    ksm_s3_quota_commit(s);
    ksm_s3_quota_shrunk(s);   /* parts not listed are dropped, a replaced object freed */
    char *loc = ksm_arena_printf(s->r->arena, "/%s/%s", s->bucket.name, s->key);
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_complete_mpu(&s->r->resp, loc, s->bucket.name, s->key, s->meta.etag);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_mpu_complete(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_s3_xml_parse(KSM_S3X_COMPLETE_MPU, r->body.data ? r->body.data : "", r->body.len,
                                      &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    size_t n = body->u.complete.nparts;
    struct ksm_mpu_part *parts = ksm_arena_calloc(r->arena, sizeof *parts * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        parts[i].number = body->u.complete.parts[i].number;
        snprintf(parts[i].etag, sizeof parts[i].etag, "\"%s\"", body->u.complete.parts[i].etag);
    }
    ksm_s3_body_free(body);
    if ((e = ksm_s3_quota_reserve(s, 0, 1, 0, 0)) != KSM_E_OK) {   /* the parts' bytes are counted */
        ksm_s3_error(s, e, s->quota_msg);
        return;
    }
    snprintf(s->meta.key, sizeof s->meta.key, "%s", s->key);
    ksm_store_mpu_complete(ksm_s3_store, &r->worker->loop, db_of(s), &s->bucket, s->key,
                           ksm_s3_query(s, "uploadId"), parts, n, &s->meta, complete_done, s);
}

void ksm_s3_mpu_abort(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_store_mpu_abort(ksm_s3_store, db_of(s), &s->bucket, s->key,
                                         ksm_s3_query(s, "uploadId"));
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e == KSM_E_NOT_FOUND ? KSM_E_NO_SUCH_UPLOAD : e, NULL);
        return;
    }
    ksm_s3_quota_shrunk(s);
    s->r->status = 204;
    ksm_s3_finish(s);
}

void ksm_s3_mpu_list_parts(struct s3_req *s)
{
    struct ksm_arena *a = s->r->arena;
    if (!ksm_s3_need_bucket(s))
        return;
    const char *upload = ksm_s3_query(s, "uploadId"), *m = ksm_s3_query(s, "part-number-marker");
    const char *mx = ksm_s3_query(s, "max-parts");
    int after = m ? atoi(m) : 0, max = mx ? atoi(mx) : 1000;
    if (max <= 0 || max > 1000)
        max = 1000;
    struct ksm_mpu_part *p = NULL;
    size_t n = 0;
    bool truncated = false;
    enum ksm_err e = ksm_store_mpu_parts(db_of(s), &s->bucket, s->key, upload, after, max, &p, &n,
                                         &truncated);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e == KSM_E_NOT_FOUND ? KSM_E_NO_SUCH_UPLOAD : e, NULL);
        return;
    }
    struct ksm_s3_part_entry *pe = ksm_arena_calloc(a, sizeof *pe * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        pe[i] = (struct ksm_s3_part_entry){p[i].number, p[i].mtime_ms, ksm_arena_strdup(a, p[i].etag),
                                           (int64_t)p[i].size};
    struct ksm_s3_owner owner = {s->bucket.tenant, s->bucket.tenant};
    struct ksm_s3_list_parts l = {.bucket = s->bucket.name, .key = s->key, .upload_id = upload,
                                  .initiator = owner, .owner = owner, .part_number_marker = after,
                                  .next_part_number_marker = n ? p[n - 1].number : after,
                                  .max_parts = max, .truncated = truncated, .parts = pe, .nparts = n};
    free(p);
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_list_parts(&s->r->resp, &l);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_mpu_list_uploads(struct s3_req *s)
{
    struct ksm_arena *a = s->r->arena;
    if (!ksm_s3_need_bucket(s))
        return;
    const char *prefix = ksm_s3_query(s, "prefix"), *km = ksm_s3_query(s, "key-marker");
    const char *um = ksm_s3_query(s, "upload-id-marker"), *mx = ksm_s3_query(s, "max-uploads");
    int max = mx ? atoi(mx) : 1000;
    if (max <= 0 || max > 1000)
        max = 1000;
    struct ksm_mpu_info *u = NULL;
    size_t n = 0;
    bool truncated = false;
    enum ksm_err e = ksm_store_mpu_list(db_of(s), &s->bucket, prefix, km, um, max, &u, &n, &truncated);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    struct ksm_s3_owner owner = {s->bucket.tenant, s->bucket.tenant};
    struct ksm_s3_upload_entry *ue = ksm_arena_calloc(a, sizeof *ue * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        ue[i] = (struct ksm_s3_upload_entry){ksm_arena_strdup(a, u[i].key),
                                             ksm_arena_strdup(a, u[i].upload_id), owner, owner, NULL,
                                             u[i].initiated_ms};
    struct ksm_s3_list_uploads l = {
        .bucket = s->bucket.name, .key_marker = km, .upload_id_marker = um,
        .next_key_marker = truncated && n ? ue[n - 1].key : NULL,
        .next_upload_id_marker = truncated && n ? ue[n - 1].upload_id : NULL, .prefix = prefix,
        .max_uploads = max, .truncated = truncated, .uploads = ue, .nuploads = n};
    free(u);
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_list_uploads(&s->r->resp, &l);
    ksm_s3_reply_xml(s, 200);
}
