/* s3_sigv4.h — AWS Signature Version 4 for the S3 API: parsing the Authorization header or the
 * presigned query parameters, building the canonical request exactly as AWS does, verifying the
 * signature with the caller's secret, checking a literal payload hash as the body streams, and
 * generating presigned URLs. It knows nothing of the HTTP layer: the caller hands it a neutral view
 * of the request (struct ksm_s3_request), which makes every step testable against AWS's vectors.
 *
 * Two steps, so the secret is looked up only for a well-formed, fresh request in an allowed region:
 *   1. ksm_s3_auth_parse()  → access key id, scope, payload mode (no secret needed)
 *   2. ksm_s3_auth_verify() → with the secret: constant-time signature check; fills the signing key
 *      and seed signature that the aws-chunked decoder (s3_chunked.h) chains from.
 * Call ksm_s3_auth_wipe() when done: the struct holds the derived signing key. */
#ifndef KSM_S3_SIGV4_H
#define KSM_S3_SIGV4_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* Same shape as the HTTP layer's struct ksm_header: name lower-cased, both NUL-terminated.
 * A header that appears several times is passed several times, in arrival order. */
struct ksm_s3_hdr {
    const char *name;
    const char *value;
};

struct ksm_s3_request {
    const char *method;                /* "GET" */
    const char *path;                  /* raw, still percent-encoded, without the query */
    const char *query;                 /* raw, without '?'; "" or NULL when there is none */
    const struct ksm_s3_hdr *headers;
    int nheaders;
    int64_t now;                       /* server time, seconds since the epoch (UTC) */
};

/* What x-amz-content-sha256 (or a presign) says about the body. */
enum ksm_s3_payload {
    KSM_S3_PAYLOAD_SHA256,                    /* a literal hex digest: check with ksm_s3_body_* */
    KSM_S3_PAYLOAD_UNSIGNED,                  /* UNSIGNED-PAYLOAD: nothing to check */
    KSM_S3_PAYLOAD_STREAMING,                 /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    KSM_S3_PAYLOAD_STREAMING_TRAILER,         /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    KSM_S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

#define KSM_S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define KSM_S3_MAX_SKEW 900           /* seconds: ±15 minutes for header auth, as AWS */
#define KSM_S3_MAX_EXPIRES 604800     /* seconds: 7 days, the presign maximum */
#define KSM_S3_KEY_ID_MAX 128
#define KSM_S3_REGION_MAX 63
#define KSM_S3_SIGNED_HEADERS_MAX 2048

/* Which scopes the node accepts. kasumi's regions are "jp-east" and "jp-west"; clients configured
 * with "us-east-1" are common, so the list is the operator's. */
struct ksm_s3_auth_opts {
    const char *const *regions;
    size_t nregions;
    int64_t max_skew;                 /* 0: KSM_S3_MAX_SKEW */
};

struct ksm_s3_auth {
    bool presigned;
    char key_id[KSM_S3_KEY_ID_MAX + 1];
    char date[9];                     /* scope date, YYYYMMDD */
    char region[KSM_S3_REGION_MAX + 1];
    char service[16];                 /* "s3" (settable for the generic SigV4 test suite) */
    char amz_date[17];                /* YYYYMMDDTHHMMSSZ, the time that was signed */
    int64_t time;                     /* the same, seconds since the epoch */
    int64_t expires;                  /* presigned: X-Amz-Expires; else 0 */
    char signed_headers[KSM_S3_SIGNED_HEADERS_MAX + 1];   /* "host;x-amz-date", sorted */
    unsigned char signature[32];      /* as sent (never log it) */
    enum ksm_s3_payload payload;
    char payload_hash[65];            /* the canonical request's last line, as sent */
    int64_t decoded_length;           /* x-amz-decoded-content-length for streaming; else -1 */
    const char *trailer;              /* x-amz-trailer value (points into the request), or NULL */
    const char *why;                  /* a static, human detail of the last failure, or NULL */
    /* Filled by ksm_s3_auth_verify(): what the chunked decoder chains from. Secret-derived. */
    unsigned char signing_key[32];
    char seed_signature[65];
};

/* Step 1: reads the Authorization header or the X-Amz-* query parameters; checks the format, the
 * region (opts), the service, the date (scope date = request date) and the clock (header auth:
 * ±max_skew; presigned: not before X-Amz-Date - max_skew, not after X-Amz-Date + X-Amz-Expires).
 * Returns KSM_E_UNAUTHENTICATED when the request carries no SigV4 credentials at all (anonymous),
 * another error for a bad one. a->why says what was wrong. */
enum ksm_err ksm_s3_auth_parse(const struct ksm_s3_request *rq, const struct ksm_s3_auth_opts *opts,
                               struct ksm_s3_auth *a);

/* Step 2: builds the canonical request, derives the signing key (cached per thread for the
 * (secret, date, region) triple), and compares signatures in constant time. */
enum ksm_err ksm_s3_auth_verify(const struct ksm_s3_request *rq, struct ksm_s3_auth *a,
                                const char *secret, size_t secret_len);

void ksm_s3_auth_wipe(struct ksm_s3_auth *a);

/* The pieces, exposed for tests and for the presign generator. */
/* The canonical request of rq under a's signed headers and payload hash; appended to out. */
enum ksm_err ksm_s3_canonical_request(const struct ksm_s3_request *rq, const struct ksm_s3_auth *a,
                                      struct ksm_buf *out);
/* "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n" hex(sha256(canonical)). */
void ksm_s3_string_to_sign(const struct ksm_s3_auth *a, const char *canonical, size_t n,
                           struct ksm_buf *out);
/* "date/region/service/aws4_request"; out needs 128 bytes. */
void ksm_s3_scope(const struct ksm_s3_auth *a, char out[128]);
/* The HMAC chain from "AWS4" + secret; uncached. */
void ksm_s3_derive_key(const char *secret, size_t secret_len, const char *date, const char *region,
                       const char *service, unsigned char out[32]);
/* Hex HMAC-SHA256 of msg under key; out 65 bytes. */
void ksm_s3_hmac_hex(const unsigned char key[32], const void *msg, size_t n, char out[65]);

/* A literal x-amz-content-sha256: hash the body as it streams, then check. */
struct ksm_s3_body_hash {
    void *md;                         /* EVP_MD_CTX */
    unsigned char want[32];
};
enum ksm_err ksm_s3_body_hash_init(struct ksm_s3_body_hash *h, const struct ksm_s3_auth *a);
void ksm_s3_body_hash_update(struct ksm_s3_body_hash *h, const void *p, size_t n);
/* KSM_E_CONTENT_SHA256_MISMATCH on a difference; frees h either way. */
enum ksm_err ksm_s3_body_hash_final(struct ksm_s3_body_hash *h);
void ksm_s3_body_hash_free(struct ksm_s3_body_hash *h);

/* Presigned URL generator (tests, console). Signs only "host"; the payload is UNSIGNED-PAYLOAD.
 * path is as it will appear in the URL (percent-encoded); query (may be NULL) is kept in front.
 * Returns the whole query string to put after '?', malloc'd. NULL if expires is out of 1..7 days
 * or an argument is malformed. */
struct ksm_s3_presign_in {
    const char *method, *host, *path, *query;
    const char *key_id, *secret;
    const char *region;
    int64_t time;                     /* signing time, seconds since the epoch */
    int64_t expires;                  /* seconds, 1..KSM_S3_MAX_EXPIRES */
};
char *ksm_s3_presign(const struct ksm_s3_presign_in *in);

#endif
