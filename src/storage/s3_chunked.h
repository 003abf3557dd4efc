/* s3_chunked.h — the aws-chunked body decoder for S3 streaming uploads. It is fed the request body
 * in whatever pieces the network delivers and hands the decoded object bytes to a callback, as
 * pointers into the input (no copy, nothing buffered but one short header line). It verifies, per
 * the x-amz-content-sha256 mode that ksm_s3_auth_parse() found:
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD            each chunk's signature, chained from the seed
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER    the same, plus the trailing checksum and the
 *                                                 trailer signature
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER            plain chunks and the trailing checksum
 * and that the decoded length is x-amz-decoded-content-length.
 *
 * The callback sees a chunk's bytes before that chunk's signature can be checked (the signature
 * covers the whole chunk, which is never buffered): the caller must treat everything as provisional
 * until ksm_s3_chunked_finish() returns KSM_E_OK, and discard it on any error. */
#ifndef KSM_S3_CHUNKED_H
#define KSM_S3_CHUNKED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "storage/s3_checksum.h"
#include "storage/s3_sigv4.h"

/* Receives decoded bytes; anything but KSM_E_OK stops the decoder with that error. */
typedef enum ksm_err (*ksm_s3_chunked_data_fn)(void *ud, const char *p, size_t n);

#define KSM_S3_CHUNK_LINE_MAX 256      /* a size line or a trailer line; longer is an error */
#define KSM_S3_TRAILERS_MAX 256        /* the canonical trailers that the trailer signature covers */

struct ksm_s3_chunked {
    int state;
    bool signed_chunks, signed_trailer, blank_seen;
    enum ksm_err err;                  /* sticky: once failed, always failed */
    const char *why;                   /* static detail of the failure */
    ksm_s3_chunked_data_fn on_data;
    void *ud;
    /* signing */
    unsigned char key[32];
    char prev_sig[65];
    unsigned char chunk_sig[32];
    char amz_date[17], scope[128];
    void *md;                          /* EVP_MD_CTX over the current chunk's data */
    /* framing */
    int64_t want, total;
    uint64_t remaining;
    char line[KSM_S3_CHUNK_LINE_MAX];
    size_t line_len;
    /* trailers */
    struct ksm_s3_cksum cksum;
    enum ksm_s3_cksum_alg expect;
    char got_cksum[KSM_S3_CKSUM_B64_MAX];
    bool have_cksum, have_trailer_sig;
    unsigned char trailer_sig[32];
    char trailers[KSM_S3_TRAILERS_MAX];
    size_t trailers_len;
};

/* a: a request that ksm_s3_auth_parse() accepted with a streaming payload mode and, for the signed
 * modes, that ksm_s3_auth_verify() accepted (the seed signature and signing key come from it). */
enum ksm_err ksm_s3_chunked_init(struct ksm_s3_chunked *c, const struct ksm_s3_auth *a,
                                 ksm_s3_chunked_data_fn on_data, void *ud);
/* Consumes all n bytes or fails; bytes after the end of the encoding are an error. */
enum ksm_err ksm_s3_chunked_feed(struct ksm_s3_chunked *c, const char *p, size_t n);
/* At the end of the request body: KSM_E_OK only if the encoding ended exactly and every check
 * passed; KSM_E_INCOMPLETE_BODY for a short body. */
enum ksm_err ksm_s3_chunked_finish(struct ksm_s3_chunked *c);
/* Frees and wipes (the struct holds the signing key). Safe after init, whatever happened. */
void ksm_s3_chunked_free(struct ksm_s3_chunked *c);

/* Signature of one chunk, for encoders and tests: HMAC over "AWS4-HMAC-SHA256-PAYLOAD", the date,
 * the scope, the previous signature, the empty hash and the chunk data's hash. out: 65 bytes. */
void ksm_s3_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                            const char *prev_sig, const unsigned char data_sha256[32], char out[65]);
/* Signature of the trailer chunk: "AWS4-HMAC-SHA256-TRAILER" ... hash of "name:value\n" lines. */
void ksm_s3_trailer_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                              const char *prev_sig, const char *trailers, size_t n, char out[65]);

#endif
