/* s3_int.h — what the S3 protocol layer's files share: the per-request state and the operation
 * table's row. The layer speaks S3 on the wire and calls the store engine (store.h) for everything
 * stored; it never touches files or keys itself. */
#ifndef KSM_S3_INT_H
#define KSM_S3_INT_H
#include "http/http.h"
#include "iam/iam.h"
#include "storage/s3_chunked.h"
#include "storage/s3_server.h"
#include "storage/s3_sigv4.h"
#include "storage/s3_xml.h"
#include "storage/store.h"

struct s3_req;
typedef void (*s3_handler)(struct s3_req *s);

enum s3_level { S3_SERVICE, S3_BUCKET, S3_OBJECT };
enum { S3_STREAM = 1 << 0,   /* the body is object data: streamed into the store, never buffered */
       S3_MUTATES = 1 << 1 };

struct s3_op {
    const char *method;
    enum s3_level level;
    const char *sub;          /* a query parameter that selects the operation, or NULL */
    const char *name;         /* "PutObject": the audit action is "s3.<name>" */
    const char *permission;   /* checked at the bucket's project (service level: the key's) */
    unsigned flags;
    s3_handler handler;
};

struct s3_req {
    struct ksm_req *r;
    const struct s3_op *op;
    char bucket_name[64];
    const char *key;                     /* decoded object key, or NULL */
    struct ksm_principal principal;
    bool authenticated;
    struct ksm_s3_auth auth;
    struct ksm_bucket bucket;
    bool have_bucket;
    enum ksm_err early_err;              /* failed at the head; answered at the end */
    const char *early_msg;
    /* a streamed upload */
    struct ksm_put *put;
    struct ksm_s3_chunked chunked;
    bool use_chunked;
    struct ksm_s3_body_hash hash;
    bool use_hash;
    struct ksm_s3_cksum cksum;           /* an x-amz-checksum-* header to verify the body against */
    bool use_cksum;
    const char *cksum_want;
    enum ksm_err body_err;
    struct ksm_obj_meta meta;
    uint64_t bytes_in, bytes_out;
    bool store_paused;
    bool committing;                     /* the store is making the upload durable */
    /* a download */
    struct ksm_get *get;
    char replaced[96];                   /* "etag:size" of the object a PUT replaces (audit) */
    char detail[256];                    /* audit detail (sizes, upload ids: never content) */
    /* a storage quota reservation (s3_quota.c), released by s3_free unless committed */
    struct ksm_quota_hold quota;
    const char *quota_msg;
};

/* s3_server.c */
void ksm_s3_error(struct s3_req *s, enum ksm_err e, const char *msg);   /* answers and ends */
void ksm_s3_reply_xml(struct s3_req *s, int status);                    /* r->resp holds XML */
void ksm_s3_finish(struct s3_req *s);                                   /* audit, meter, send, free */
void ksm_s3_finish_stream(struct s3_req *s);   /* streamed answer: audit, meter, free (no send) */
void ksm_s3_std_headers(struct s3_req *s);     /* nosniff, x-amz-request-id */
void ksm_s3_drop(struct s3_req *s);            /* the client left mid-request: audit, free */
const char *ksm_s3_query(struct s3_req *s, const char *name);
bool ksm_s3_need_bucket(struct s3_req *s);   /* false: answered NoSuchBucket / AccessDenied */
extern struct ksm_store *ksm_s3_store;

/* A Tagging XML answer from a {key: value} object (s3_bucket.c). */
void ksm_s3_write_tags(struct s3_req *s, json_t *tags);

/* s3_bucket.c, s3_object.c, s3_list.c, s3_mpu.c: the handlers */
void ksm_s3_list_buckets(struct s3_req *s);
void ksm_s3_create_bucket(struct s3_req *s);
void ksm_s3_delete_bucket(struct s3_req *s);
void ksm_s3_head_bucket(struct s3_req *s);
void ksm_s3_bucket_location(struct s3_req *s);
void ksm_s3_bucket_tagging_get(struct s3_req *s);
void ksm_s3_bucket_tagging_put(struct s3_req *s);
void ksm_s3_bucket_tagging_delete(struct s3_req *s);
void ksm_s3_bucket_cors_get(struct s3_req *s);      /* s3_cors.c */
void ksm_s3_bucket_cors_put(struct s3_req *s);
void ksm_s3_bucket_cors_delete(struct s3_req *s);
void ksm_s3_cors_preflight(struct s3_req *s);       /* OPTIONS: no signature */
void ksm_s3_cors_headers(struct s3_req *s);         /* Access-Control-* of an actual request */
void ksm_s3_versioning_get(struct s3_req *s);       /* s3_version.c */
void ksm_s3_versioning_put(struct s3_req *s);
void ksm_s3_list_versions(struct s3_req *s);
void ksm_s3_object_lock_get(struct s3_req *s);
void ksm_s3_object_lock_put(struct s3_req *s);
void ksm_s3_retention_get(struct s3_req *s);
void ksm_s3_retention_put(struct s3_req *s);
void ksm_s3_legal_hold_get(struct s3_req *s);
void ksm_s3_legal_hold_put(struct s3_req *s);
void ksm_s3_list_objects(struct s3_req *s);
void ksm_s3_put_object_begin(struct s3_req *s);   /* at the head: the body streams into the store */
void ksm_s3_get_object(struct s3_req *s);
void ksm_s3_head_object(struct s3_req *s);
void ksm_s3_delete_object(struct s3_req *s);
void ksm_s3_delete_objects(struct s3_req *s);
void ksm_s3_copy_object(struct s3_req *s);   /* s3_copy.c: also UploadPartCopy */
void ksm_s3_object_tagging_get(struct s3_req *s);   /* s3_tagging.c */
void ksm_s3_object_tagging_put(struct s3_req *s);
void ksm_s3_object_tagging_delete(struct s3_req *s);
void ksm_s3_mpu_create(struct s3_req *s);
void ksm_s3_mpu_complete(struct s3_req *s);
void ksm_s3_mpu_abort(struct s3_req *s);
void ksm_s3_mpu_list_parts(struct s3_req *s);
void ksm_s3_mpu_list_uploads(struct s3_req *s);

/* s3_quota.c: reserve what a write adds (less what it replaces) against the project's quota;
 * QUOTA_EXCEEDED (message in s->quota_msg) when it does not fit. commit when the write is durable;
 * release (s3_free does) otherwise. shrunk: something may have freed space (re-read usage). */
enum ksm_err ksm_s3_quota_reserve(struct s3_req *s, int64_t bytes, int64_t objects,
                                  int64_t credit_bytes, int64_t credit_objects);
void ksm_s3_quota_commit(struct s3_req *s);
void ksm_s3_quota_release(struct s3_req *s);
void ksm_s3_quota_shrunk(struct s3_req *s);
/* Around a delete: begin before it, end after with what it freed (unsure: an empty object or
 * nothing at all — usage is then re-read). */
void ksm_s3_quota_delete_begin(struct s3_req *s);
void ksm_s3_quota_delete_end(struct s3_req *s, uint64_t bytes, uint64_t objects, bool unsure);

/* s3_version.c, for the object handlers: ?versionId (NULL when absent or empty); the version
 * and lock headers of a version; x-amz-object-lock-* of a PUT into m (INVALID_ARGUMENT with *why);
 * whether a GOVERNANCE lock may be bypassed (asked for and permitted); the audit detail of a
 * refusal by a lock; turning object lock (and versioning) on for a new bucket. */
const char *ksm_s3_version_param(struct s3_req *s);
void ksm_s3_version_headers(struct s3_req *s, const struct ksm_obj_meta *m);
enum ksm_err ksm_s3_lock_from_headers(struct s3_req *s, struct ksm_obj_meta *m, const char **why);
bool ksm_s3_bypass_governance(struct s3_req *s);
void ksm_s3_lock_refused(struct s3_req *s, const char *vid);
enum ksm_err ksm_s3_object_lock_enable(struct s3_req *s);

/* s3_ssec.c: the SSE-C key of the request in the headers with prefix "x-amz-" (the object written
 * or read) or "x-amz-copy-source-" (a copy's source); *has false when none was sent; errors with
 * *why: over plain HTTP, a wrong algorithm, a bad key or MD5. The echo headers of an SSE-C answer. */
enum ksm_err ksm_s3_ssec_key(struct s3_req *s, const char *prefix, uint8_t key[32], bool *has,
                             const char **why);
void ksm_s3_ssec_headers(struct s3_req *s);
/* x-amz-server-side-encryption[-aws-kms-key-id] of a write: KMS_KEY_NOT_FOUND when the key named
 * is not the bucket's or its tenant's; the encryption headers of an answer about object m. */
enum ksm_err ksm_s3_sse_kms_check(struct s3_req *s, const char **why);
void ksm_s3_sse_headers(struct s3_req *s, const struct ksm_obj_meta *m);

/* Shared by the handlers */
/* s3_object.c: content type, standard headers, x-amz-meta-* of the request into m (zeroed). */
enum ksm_err ksm_s3_meta_from_headers(struct s3_req *s, struct ksm_obj_meta *m);
/* s3_bucket.c: a parsed TagSet as a JSON object {key: value}. */
json_t *ksm_s3_tags_json(const struct ksm_s3_body *body);
/* s3_tagging.c: the x-amz-tagging header into *out (NULL when absent or empty); on an error *why
 * is the S3 message. */
enum ksm_err ksm_s3_tagging_header(struct s3_req *s, json_t **out, const char **why);
/* s3_tagging.c: %XX-decoding of n bytes into the arena ('+' as a space when plus_space); NULL on a
 * bad escape or a NUL. */
char *ksm_s3_unescape(struct ksm_arena *a, const char *p, size_t n, bool plus_space);

#endif
