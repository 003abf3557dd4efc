/* s3_xml.h — the XML of the S3 protocol: parsing the request bodies clients send (expat, streamed
 * in chunks, bounded, no DTDs) into plain C structs, and writing the response bodies (a tiny
 * escaping writer under one typed function per response). See docs/s3-xml.md for limits and the
 * decisions taken where S3 leaves room. */
#ifndef KSM_S3_XML_H
#define KSM_S3_XML_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define KSM_S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

#define KSM_S3_MAX_DELETE_OBJECTS 1000
#define KSM_S3_MAX_PART_NUMBER 10000
#define KSM_S3_MAX_KEY_BYTES 1024
#define KSM_S3_MAX_BUCKET_TAGS 50
#define KSM_S3_MAX_OBJECT_TAGS 10
#define KSM_S3_MAX_TAG_KEY_CHARS 128
#define KSM_S3_MAX_TAG_VALUE_CHARS 256
#define KSM_S3_MAX_CORS_RULES 100
#define KSM_S3_XML_DETAIL_MAX 160

/* ---- parsing ---- */

enum ksm_s3_xml_kind {
    KSM_S3X_CREATE_BUCKET,  /* CreateBucketConfiguration; an empty body is allowed */
    KSM_S3X_COMPLETE_MPU,   /* CompleteMultipartUpload */
    KSM_S3X_DELETE,         /* Delete (DeleteObjects) */
    KSM_S3X_BUCKET_TAGGING, /* Tagging, at most 50 tags */
    KSM_S3X_OBJECT_TAGGING, /* Tagging, at most 10 tags */
    KSM_S3X_VERSIONING,     /* VersioningConfiguration */
    KSM_S3X_CORS,           /* CORSConfiguration */
    KSM_S3X_OBJECT_LOCK,    /* ObjectLockConfiguration */
    KSM_S3X_RETENTION,      /* Retention (of an object version) */
    KSM_S3X_LEGAL_HOLD,     /* LegalHold */
    KSM_S3X__COUNT
};

struct ksm_s3_part {
    int number;       /* 1..10000, strictly ascending in the list */
    const char *etag; /* without the surrounding quotes */
    const char *crc32, *crc32c, *crc64nvme, *sha1, *sha256; /* base64 as sent, or NULL */
};

struct ksm_s3_delete_obj {
    const char *key;           /* 1..1024 bytes */
    const char *version_id;    /* or NULL */
    const char *etag;          /* conditional delete (If-Match), or NULL */
    const char *last_modified; /* LastModifiedTime as sent, or NULL */
    int64_t size;              /* -1 when absent */
};

struct ksm_s3_tag {
    const char *key, *value;
};

struct ksm_s3_cors_rule {
    const char *id;                                       /* or NULL */
    const char **methods, **origins, **headers, **expose; /* NULL-terminated */
    size_t nmethods, norigins, nheaders, nexpose;
    int64_t max_age; /* -1 when absent */
};

/* The result of one parse; everything it points to lives in its arena. */
struct ksm_s3_body {
    enum ksm_s3_xml_kind kind;
    struct ksm_arena *arena;
    union {
        struct {
            const char *location; /* LocationConstraint, or NULL (empty body or absent) */
        } create_bucket;
        struct {
            struct ksm_s3_part *parts;
            size_t nparts;
        } complete;
        struct {
            struct ksm_s3_delete_obj *objs;
            size_t nobjs;
            bool quiet;
        } del;
        struct {
            struct ksm_s3_tag *tags;
            size_t ntags;
        } tagging;
        struct {
            const char *status;     /* "Enabled", "Suspended" or NULL */
            const char *mfa_delete; /* "Enabled", "Disabled" or NULL */
        } versioning;
        struct {
            struct ksm_s3_cors_rule *rules;
            size_t nrules;
        } cors;
        struct {
            const char *enabled;      /* "Enabled" or NULL */
            const char *mode;         /* DefaultRetention: "GOVERNANCE", "COMPLIANCE" or NULL */
            const char *days, *years; /* digits as sent, or NULL */
        } object_lock;
        struct {
            const char *mode;  /* "GOVERNANCE", "COMPLIANCE" or NULL (removes it) */
            const char *until; /* RetainUntilDate as sent (ISO 8601), or NULL */
        } retention;
        struct {
            const char *status; /* "ON" or "OFF" */
        } legal_hold;
    } u;
};

void ksm_s3_body_free(struct ksm_s3_body *b);

/* Streaming: new, feed each chunk as it arrives, finish once. A feed that fails keeps failing with
 * the same error; ksm_s3_xml_parser_detail() says why in words fit for the S3 <Message>. Errors:
 * MALFORMED_XML, XML_TOO_LARGE, INVALID_ARGUMENT (part number range), INVALID_PART_ORDER,
 * INVALID_TAG, KEY_TOO_LONG. */
struct ksm_s3_xml_parser;
struct ksm_s3_xml_parser *ksm_s3_xml_parser_new(enum ksm_s3_xml_kind kind);
enum ksm_err ksm_s3_xml_parser_feed(struct ksm_s3_xml_parser *p, const void *data, size_t n);
/* On success *out is the caller's (ksm_s3_body_free); on failure *out is NULL. */
enum ksm_err ksm_s3_xml_parser_finish(struct ksm_s3_xml_parser *p, struct ksm_s3_body **out);
const char *ksm_s3_xml_parser_detail(const struct ksm_s3_xml_parser *p);
void ksm_s3_xml_parser_free(struct ksm_s3_xml_parser *p);

/* One shot over a whole body; detail may be NULL. */
enum ksm_err ksm_s3_xml_parse(enum ksm_s3_xml_kind kind, const void *data, size_t n,
                              struct ksm_s3_body **out, char detail[KSM_S3_XML_DETAIL_MAX]);
/* The byte limit of a body of that kind. */
size_t ksm_s3_xml_max_body(enum ksm_s3_xml_kind kind);

/* ---- writing ---- */

/* The element writer every response is built on. Element names are literals of ours; every string
 * from elsewhere goes through the escaper, which also replaces what XML 1.0 cannot carry (control
 * characters, invalid UTF-8, U+FFFE/U+FFFF) by U+FFFD and counts it in `replaced`. */
#define KSM_XW_MAX_DEPTH 8
struct ksm_xw {
    struct ksm_buf *b;
    const char *stack[KSM_XW_MAX_DEPTH];
    int depth;
    size_t replaced;
};

/* Writes the XML declaration and opens root, with the S3 namespace when ns is true. */
void ksm_xw_begin(struct ksm_xw *w, struct ksm_buf *b, const char *root, bool ns);
void ksm_xw_open(struct ksm_xw *w, const char *name);
void ksm_xw_close(struct ksm_xw *w);
/* Closes everything still open; returns the number of characters replaced. */
size_t ksm_xw_end(struct ksm_xw *w);
void ksm_xw_escape(struct ksm_xw *w, const char *s, size_t n);
/* <name>escaped s</name>; s NULL writes nothing, "" writes <name></name>. */
void ksm_xw_str(struct ksm_xw *w, const char *name, const char *s);
/* Like ksm_xw_str, percent-encoded first when url is true (EncodingType=url). */
void ksm_xw_key(struct ksm_xw *w, const char *name, const char *s, bool url);
void ksm_xw_int(struct ksm_xw *w, const char *name, int64_t v);
void ksm_xw_bool(struct ksm_xw *w, const char *name, bool v);
void ksm_xw_time(struct ksm_xw *w, const char *name, int64_t ms); /* 2026-01-02T03:04:05.678Z */
void ksm_xw_etag(struct ksm_xw *w, const char *name, const char *etag); /* always quoted */

/* S3's EncodingType=url: keeps A-Z a-z 0-9 - _ . / *, a space becomes '+', every other byte %XX. */
void ksm_s3_url_encode(struct ksm_buf *b, const char *s);

struct ksm_s3_owner {
    const char *id, *display_name;
};

/* Error: code and message default to the errors.def row of err. */
struct ksm_s3_error {
    enum ksm_err err;
    const char *code, *message;
    const char *bucket, *key; /* BucketName, Key where S3 names them; or NULL */
    const char *resource, *request_id, *host_id;
    const char *const *extra; /* name, value pairs (names are literals of ours) */
    size_t nextra;
};
size_t ksm_s3_write_error(struct ksm_buf *b, const struct ksm_s3_error *e);

struct ksm_s3_bucket_entry {
    const char *name;
    int64_t created_ms;
    const char *region; /* BucketRegion, or NULL */
};
struct ksm_s3_list_buckets {
    struct ksm_s3_owner owner;
    const struct ksm_s3_bucket_entry *buckets;
    size_t nbuckets;
    const char *continuation_token, *prefix; /* or NULL */
};
size_t ksm_s3_write_list_buckets(struct ksm_buf *b, const struct ksm_s3_list_buckets *l);

struct ksm_s3_object_entry {
    const char *key;
    int64_t mtime_ms;
    const char *etag; /* quoted on output if not already */
    int64_t size;
    const char *storage_class;        /* NULL: STANDARD */
    const struct ksm_s3_owner *owner; /* written in v1, and in v2 with fetch_owner */
};
struct ksm_s3_list_objects {
    int version; /* 1: ListObjects, 2: ListObjectsV2 */
    const char *bucket, *prefix, *delimiter;
    bool url; /* EncodingType=url */
    int max_keys;
    bool truncated;
    const char *marker, *next_marker; /* v1; NextMarker only written with a delimiter */
    const char *continuation_token, *next_continuation_token, *start_after; /* v2 */
    bool fetch_owner;                                                       /* v2 */
    const struct ksm_s3_object_entry *objects;
    size_t nobjects;
    const char *const *prefixes; /* CommonPrefixes */
    size_t nprefixes;
};
size_t ksm_s3_write_list_objects(struct ksm_buf *b, const struct ksm_s3_list_objects *l);

/* "" or NULL (us-east-1 in AWS) writes an empty element. */
size_t ksm_s3_write_location(struct ksm_buf *b, const char *region);
size_t ksm_s3_write_initiate_mpu(struct ksm_buf *b, const char *bucket, const char *key,
                                 const char *upload_id);
size_t ksm_s3_write_complete_mpu(struct ksm_buf *b, const char *location, const char *bucket,
                                 const char *key, const char *etag);

struct ksm_s3_part_entry {
    int number;
    int64_t mtime_ms;
    const char *etag;
    int64_t size;
};
struct ksm_s3_list_parts {
    const char *bucket, *key, *upload_id;
    struct ksm_s3_owner initiator, owner;
    const char *storage_class; /* NULL: STANDARD */
    int part_number_marker, next_part_number_marker, max_parts;
    bool truncated;
    const struct ksm_s3_part_entry *parts;
    size_t nparts;
};
size_t ksm_s3_write_list_parts(struct ksm_buf *b, const struct ksm_s3_list_parts *l);

struct ksm_s3_upload_entry {
    const char *key, *upload_id;
    struct ksm_s3_owner initiator, owner;
    const char *storage_class; /* NULL: STANDARD */
    int64_t initiated_ms;
};
struct ksm_s3_list_uploads {
    const char *bucket, *key_marker, *upload_id_marker, *next_key_marker, *next_upload_id_marker;
    const char *prefix, *delimiter; /* or NULL */
    bool url;                       /* EncodingType=url */
    int max_uploads;
    bool truncated;
    const struct ksm_s3_upload_entry *uploads;
    size_t nuploads;
    const char *const *prefixes;
    size_t nprefixes;
};
size_t ksm_s3_write_list_uploads(struct ksm_buf *b, const struct ksm_s3_list_uploads *l);

/* CopyObjectResult (part false) or CopyPartResult (part true). */
size_t ksm_s3_write_copy_result(struct ksm_buf *b, bool part, int64_t mtime_ms, const char *etag);

struct ksm_s3_delete_entry {
    const char *key, *version_id; /* version_id may be NULL */
    enum ksm_err err;             /* KSM_E_OK: Deleted, otherwise Error */
    const char *message;          /* NULL: the table's message */
    bool delete_marker;
    const char *delete_marker_version_id;
};
/* Quiet leaves out the successful entries, as S3 does. */
size_t ksm_s3_write_delete_result(struct ksm_buf *b, const struct ksm_s3_delete_entry *e, size_t n,
                                  bool quiet);
size_t ksm_s3_write_tagging(struct ksm_buf *b, const struct ksm_s3_tag *tags, size_t n);
/* status NULL: a bucket never versioned (empty element). */
size_t ksm_s3_write_versioning(struct ksm_buf *b, const char *status, const char *mfa_delete);

#endif
