/* s3_chunked.c — the aws-chunked decoder: a byte-driven state machine over
 *   hex-size[;chunk-signature=sig] CRLF data CRLF ... 0[;chunk-signature=sig] CRLF
 *   [trailer-name:value CRLF]... [x-amz-trailer-signature:sig CRLF] CRLF
 * Chunk data is never copied or buffered, only hashed on the way through; header and trailer lines
 * are bounded, so no input can make it hold more than KSM_S3_CHUNK_LINE_MAX bytes. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/evp.h"
#include "core/util.h"
#include "storage/s3_chunked.h"

enum { S_SIZE, S_DATA, S_DATA_CR, S_DATA_LF, S_TRAILER, S_DONE, S_FAILED };

static const char SIG_EXT[] = ";chunk-signature=";
static const char TRAILER_SIG[] = "x-amz-trailer-signature";

static enum ksm_err fail(struct ksm_s3_chunked *c, enum ksm_err e, const char *why)
{
    c->state = S_FAILED;
    c->err = e;
    c->why = why;
    return e;
}

static void sign_hex(const unsigned char key[32], const char *sts, size_t n, char out[65])
{
    ksm_s3_hmac_hex(key, sts, n, out);
}

void ksm_s3_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                            const char *prev_sig, const unsigned char data_sha256[32], char out[65])
{
    char h[65], sts[400];
    ksm_hex(data_sha256, 32, h);
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", amz_date, scope,
                     prev_sig, KSM_S3_EMPTY_SHA256, h);
    sign_hex(key, sts, n > 0 && (size_t)n < sizeof sts ? (size_t)n : 0, out);
}

void ksm_s3_trailer_signature(const unsigned char key[32], const char *amz_date, const char *scope,
                              const char *prev_sig, const char *trailers, size_t n, char out[65])
{
    char h[65], sts[400];
    ksm_sha256_hex(trailers, n, h);
    int len = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", amz_date, scope,
                       prev_sig, h);
    sign_hex(key, sts, len > 0 && (size_t)len < sizeof sts ? (size_t)len : 0, out);
}

/* x-amz-trailer names the one checksum the trailer will carry. */
static enum ksm_err expected_trailer(struct ksm_s3_chunked *c, const char *t)
{
    c->expect = KSM_S3_CKSUM_NONE;
    if (!t)
        return KSM_E_OK;
    t += strspn(t, " \t");
    size_t n = strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (!n)
        return KSM_E_OK;
    c->expect = ksm_s3_cksum_by_name(t, n);
    if (c->expect == KSM_S3_CKSUM_NONE)
        return fail(c, KSM_E_INVALID_ARGUMENT, "x-amz-trailer must name one of x-amz-checksum-crc32, "
                                               "-crc32c, -sha1 or -sha256");
    return KSM_E_OK;
}

enum ksm_err ksm_s3_chunked_init(struct ksm_s3_chunked *c, const struct ksm_s3_auth *a,
                                 ksm_s3_chunked_data_fn on_data, void *ud)
{
    memset(c, 0, sizeof *c);
    c->on_data = on_data;
    c->ud = ud;
    c->want = a->decoded_length;
    c->state = S_SIZE;
    switch (a->payload) {
    case KSM_S3_PAYLOAD_STREAMING: c->signed_chunks = true; break;
    case KSM_S3_PAYLOAD_STREAMING_TRAILER: c->signed_chunks = c->signed_trailer = true; break;
    case KSM_S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER: break;
    default: return fail(c, KSM_E_INTERNAL, "not a streaming payload mode");
    }
    if (c->want < 0)
        return fail(c, KSM_E_LENGTH_REQUIRED, "x-amz-decoded-content-length is required");
    if (c->signed_chunks && strlen(a->seed_signature) != 64)
        return fail(c, KSM_E_INTERNAL, "the seed signature has not been verified");
    if (a->payload != KSM_S3_PAYLOAD_STREAMING && expected_trailer(c, a->trailer) != KSM_E_OK)
        return c->err;
    memcpy(c->key, a->signing_key, 32);
    memcpy(c->prev_sig, a->seed_signature, sizeof c->prev_sig);
    memcpy(c->amz_date, a->amz_date, sizeof c->amz_date);
    ksm_s3_scope(a, c->scope);
    ksm_s3_cksum_init(&c->cksum, c->expect);
    if (c->signed_chunks && !(c->md = EVP_MD_CTX_new()))
        abort();   /* out of memory is fatal, as in ksm_xmalloc */
    return KSM_E_OK;
}

/* Collects one CRLF-terminated line into c->line. 1: complete (CRLF stripped); 0: need more. */
static int take_line(struct ksm_s3_chunked *c, const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end) {
        char ch = *p++;
        if (ch == '\n') {
            *pp = p;
            if (!c->line_len || c->line[c->line_len - 1] != '\r')
                return fail(c, KSM_E_BAD_REQUEST, "a line ends in LF without CR"), -1;
            c->line[--c->line_len] = 0;
            return 1;
        }
        if (c->line_len && c->line[c->line_len - 1] == '\r')
            return fail(c, KSM_E_BAD_REQUEST, "a CR inside a line"), -1;
        if (c->line_len + 1 >= sizeof c->line)
            return fail(c, KSM_E_BAD_REQUEST, "a chunk header or trailer line is too long"), -1;
        c->line[c->line_len++] = ch;
    }
    *pp = p;
    return 0;
}

static bool chunk_signature_ok(struct ksm_s3_chunked *c, const unsigned char data_hash[32])
{
    char got[65];
    unsigned char mac[32];
    ksm_s3_chunk_signature(c->key, c->amz_date, c->scope, c->prev_sig, data_hash, got);
    if (ksm_unhex(got, 64, mac) < 0 || !ksm_ct_equal(mac, c->chunk_sig, 32))
        return false;
    memcpy(c->prev_sig, got, sizeof got);
    return true;
}

static enum ksm_err end_chunk(struct ksm_s3_chunked *c)
{
    unsigned char h[32];
    if (!c->signed_chunks)
        return KSM_E_OK;
    EVP_DigestFinal_ex(c->md, h, NULL);
    if (!chunk_signature_ok(c, h))
        return fail(c, KSM_E_SIGNATURE_MISMATCH, "a chunk signature does not match");
    return KSM_E_OK;
}

/* "hex-size" or "hex-size;chunk-signature=<64 hex>", as the mode requires. */
static enum ksm_err size_line(struct ksm_s3_chunked *c)
{
    const char *l = c->line;
    size_t digits = strspn(l, "0123456789abcdefABCDEF");
    if (!digits || digits > 16)
        return fail(c, KSM_E_BAD_REQUEST, "the chunk size is not 1 to 16 hex digits");
    uint64_t size = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned char b;
        char two[2] = {'0', l[i]};
        ksm_unhex(two, 2, &b);
        size = size << 4 | b;
    }
    const char *ext = l + digits;
    if (c->signed_chunks) {
        size_t el = sizeof SIG_EXT - 1;
        if (strncmp(ext, SIG_EXT, el) || strlen(ext + el) != 64 || ksm_unhex(ext + el, 64, c->chunk_sig) < 0)
            return fail(c, KSM_E_BAD_REQUEST, "the chunk header must carry chunk-signature=<64 hex>");
    } else if (*ext) {
        return fail(c, KSM_E_BAD_REQUEST, "an unsigned chunk header carries an extension");
    }
    if (size > (uint64_t)(c->want - c->total))
        return fail(c, KSM_E_INCOMPLETE_BODY, "the chunks are longer than x-amz-decoded-content-length");
    c->remaining = size;
    if (c->signed_chunks)
        EVP_DigestInit_ex(c->md, ksm_evp_sha256(), NULL);
    if (size) {
        c->state = S_DATA;
        return KSM_E_OK;
    }
    c->state = S_TRAILER;   /* the final, empty chunk: its signature now */
    return end_chunk(c);
}

static enum ksm_err trailer_value(struct ksm_s3_chunked *c, const char *name, size_t nlen,
                                  const char *v)
{
    if (nlen == sizeof TRAILER_SIG - 1 && !memcmp(name, TRAILER_SIG, nlen)) {
        if (!c->signed_trailer || c->have_trailer_sig || strlen(v) != 64 ||
            ksm_unhex(v, 64, c->trailer_sig) < 0)
            return fail(c, KSM_E_BAD_REQUEST, "unexpected or malformed x-amz-trailer-signature");
        c->have_trailer_sig = true;
        return KSM_E_OK;
    }
    enum ksm_s3_cksum_alg alg = ksm_s3_cksum_by_name(name, nlen);
    if (alg == KSM_S3_CKSUM_NONE || alg != c->expect || c->have_cksum || c->have_trailer_sig)
        return fail(c, KSM_E_INVALID_ARGUMENT, "a trailer that x-amz-trailer did not announce");
    size_t vlen = strlen(v);
    if (vlen >= sizeof c->got_cksum)
        return fail(c, KSM_E_INVALID_DIGEST, "the trailing checksum is too long");
    memcpy(c->got_cksum, v, vlen + 1);
    c->have_cksum = true;
    int n = snprintf(c->trailers + c->trailers_len, sizeof c->trailers - c->trailers_len, "%.*s:%s\n",
                     (int)nlen, name, v);
    if (n < 0 || (size_t)n >= sizeof c->trailers - c->trailers_len)
        return fail(c, KSM_E_BAD_REQUEST, "the trailers are too long");
    c->trailers_len += (size_t)n;
    return KSM_E_OK;
}

/* The empty line: the body is over; everything must add up. */
static enum ksm_err end_of_body(struct ksm_s3_chunked *c)
{
    if (c->total != c->want)
        return fail(c, KSM_E_INCOMPLETE_BODY, "the body is shorter than x-amz-decoded-content-length");
    if (c->expect != KSM_S3_CKSUM_NONE) {
        char want[KSM_S3_CKSUM_B64_MAX];
        ksm_s3_cksum_final(&c->cksum, want);
        if (!c->have_cksum)
            return fail(c, KSM_E_INCOMPLETE_BODY, "the announced trailing checksum is missing");
        if (strlen(want) != strlen(c->got_cksum))
            return fail(c, KSM_E_INVALID_DIGEST, "the trailing checksum has the wrong length");
        if (!ksm_ct_equal(want, c->got_cksum, strlen(want)))
            return fail(c, KSM_E_BAD_DIGEST, "the trailing checksum does not match the data");
    }
    if (c->signed_trailer) {
        char got[65];
        unsigned char mac[32];
        if (!c->have_trailer_sig)
            return fail(c, KSM_E_INCOMPLETE_BODY, "x-amz-trailer-signature is missing");
        ksm_s3_trailer_signature(c->key, c->amz_date, c->scope, c->prev_sig, c->trailers,
                                 c->trailers_len, got);
        if (ksm_unhex(got, 64, mac) < 0 || !ksm_ct_equal(mac, c->trailer_sig, 32))
            return fail(c, KSM_E_SIGNATURE_MISMATCH, "the trailer signature does not match");
    }
    c->state = S_DONE;
    return KSM_E_OK;
}

static enum ksm_err trailer_line(struct ksm_s3_chunked *c)
{
    if (!c->line_len) {
        /* Some encoders put a blank line between the last chunk and the trailers; take one, and
         * only while an announced trailer is still to come. */
        if (c->expect != KSM_S3_CKSUM_NONE && !c->have_cksum && !c->blank_seen) {
            c->blank_seen = true;
            return KSM_E_OK;
        }
        return end_of_body(c);
    }
    char *colon = strchr(c->line, ':');
    if (!colon)
        return fail(c, KSM_E_BAD_REQUEST, "a trailer line has no ':'");
    char *v = colon + 1;
    v += strspn(v, " \t");
    size_t vl = strlen(v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = 0;
    return trailer_value(c, c->line, (size_t)(colon - c->line), v);
}

static enum ksm_err data(struct ksm_s3_chunked *c, const char *p, size_t n)
{
    enum ksm_err e = c->on_data ? c->on_data(c->ud, p, n) : KSM_E_OK;
    if (e != KSM_E_OK)
        return fail(c, e, "the consumer refused the data");
    if (c->signed_chunks)
        EVP_DigestUpdate(c->md, p, n);
    ksm_s3_cksum_update(&c->cksum, p, n);
    c->remaining -= n;
    c->total += (int64_t)n;
    if (!c->remaining)
        c->state = S_DATA_CR;
    return KSM_E_OK;
}

/* One step of the machine; advances *pp. */
static enum ksm_err step(struct ksm_s3_chunked *c, const char **pp, const char *end)
{
    int r;
    switch (c->state) {
    case S_SIZE:
    case S_TRAILER:
        if ((r = take_line(c, pp, end)) <= 0)
            return r < 0 ? c->err : KSM_E_OK;
        enum ksm_err e = c->state == S_SIZE ? size_line(c) : trailer_line(c);
        c->line_len = 0;
        return e;
    case S_DATA: {
        size_t n = (size_t)(end - *pp) < c->remaining ? (size_t)(end - *pp) : (size_t)c->remaining;
        const char *p = *pp;
        *pp += n;
        return data(c, p, n);
    }
    case S_DATA_CR:
    case S_DATA_LF:
        if (*(*pp)++ != (c->state == S_DATA_CR ? '\r' : '\n'))
            return fail(c, KSM_E_BAD_REQUEST, "chunk data is not followed by CRLF");
        if (c->state == S_DATA_CR) {
            c->state = S_DATA_LF;
            return KSM_E_OK;
        }
        c->state = S_SIZE;
        return end_chunk(c);
    case S_DONE:
        return fail(c, KSM_E_BAD_REQUEST, "bytes after the end of the aws-chunked body");
    default:
        return c->err;
    }
}

enum ksm_err ksm_s3_chunked_feed(struct ksm_s3_chunked *c, const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        enum ksm_err e = step(c, &p, end);
        if (e != KSM_E_OK)
            return e;
    }
    return c->state == S_FAILED ? c->err : KSM_E_OK;
}

enum ksm_err ksm_s3_chunked_finish(struct ksm_s3_chunked *c)
{
    if (c->state == S_FAILED)
        return c->err;
    if (c->state != S_DONE)
        return fail(c, KSM_E_INCOMPLETE_BODY, "the aws-chunked body ended early");
    return KSM_E_OK;
}

void ksm_s3_chunked_free(struct ksm_s3_chunked *c)
{
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    ksm_s3_cksum_free(&c->cksum);
    OPENSSL_cleanse(c->key, sizeof c->key);
    OPENSSL_cleanse(c->prev_sig, sizeof c->prev_sig);
}
