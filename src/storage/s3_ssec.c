/* s3_ssec.c — server-side encryption headers on the wire. SSE-KMS: every object is sealed under
 * its bucket's key, itself under the tenant's key (docs/encryption.md), so
 * `x-amz-server-side-encryption: aws:kms` with a key id is accepted when the id names that bucket
 * key (its id `bk_…` or `bucket:<name>`) or the tenant key (the tenant id), `AES256` is accepted as
 * the same protection, and answers name the bucket key. SSE-C: the customer's key arrives in three headers on every request that
 * writes or reads the object (x-amz-server-side-encryption-customer-algorithm: AES256, -key: the
 * 32-byte key in base64, -key-MD5: its MD5 in base64, which catches a key mangled in transit), only
 * over TLS (a key sent in the clear is refused, as S3 does), and is never stored or logged; the
 * engine keeps a salted fingerprint (kms_ssec.c). Answers echo the algorithm and the key's MD5. */
#include "storage/s3_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/evp.h"

#define HDR "x-amz-server-side-encryption-customer-"

/* base64 of exactly want bytes into out; -1 otherwise. */
static int b64_exact(const char *in, uint8_t *out, size_t want)
{
    size_t n = strlen(in);
    uint8_t buf[64];
    if (n == 0 || n % 4 || n > 4 * (sizeof buf / 3))
        return -1;
    int got = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    size_t pad = (in[n - 1] == '=') + (n > 1 && in[n - 2] == '=');
    if (got < 0 || (size_t)got - pad != want) {
        OPENSSL_cleanse(buf, sizeof buf);
        return -1;
    }
    memcpy(out, buf, want);
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

static const char *hdr(struct s3_req *s, const char *prefix, const char *name)
{
    char full[96];
    snprintf(full, sizeof full, "%sserver-side-encryption-customer-%s", prefix, name);
    return ksm_req_header(s->r, full);
}

enum ksm_err ksm_s3_ssec_key(struct s3_req *s, const char *prefix, uint8_t key[32], bool *has,
                             const char **why)
{
    const char *alg = hdr(s, prefix, "algorithm");
    const char *k = hdr(s, prefix, "key"), *md5 = hdr(s, prefix, "key-md5");
    *has = false;
    if (!alg && !k && !md5)
        return KSM_E_OK;
    if (!ksm_req_secure(s->r))
        return *why = "Requests specifying Server Side Encryption with Customer provided keys must "
                      "be made over a secure connection.", KSM_E_BAD_REQUEST;
    if (!alg || strcmp(alg, "AES256"))
        return *why = "The encryption request you specified is not valid. Supported value: AES256.",
               KSM_E_INVALID_ARGUMENT;
    if (!k || b64_exact(k, key, 32))
        return *why = "The secret key was invalid for the specified algorithm.",
               KSM_E_INVALID_ARGUMENT;
    uint8_t want[16], got[16];
    unsigned int n = 16;
    if (!md5 || b64_exact(md5, want, 16) || !EVP_Digest(key, 32, got, &n, ksm_evp_md5(), NULL) ||
        CRYPTO_memcmp(want, got, 16)) {
        OPENSSL_cleanse(key, 32);
        return *why = "The calculated MD5 hash of the key did not match the hash that was provided.",
               KSM_E_INVALID_ARGUMENT;
    }
    *has = true;
    return KSM_E_OK;
}

void ksm_s3_ssec_headers(struct s3_req *s)
{
    const char *md5 = ksm_req_header(s->r, HDR "key-md5");
    if (!md5 || !ksm_req_header(s->r, HDR "key"))
        return;
    ksm_req_add_header(s->r, "x-amz-server-side-encryption-customer-algorithm", "AES256");
    ksm_req_add_header(s->r, "x-amz-server-side-encryption-customer-key-MD5",
                       ksm_arena_strdup(s->r->arena, md5));
}


/* ---- SSE-KMS ---- */

enum ksm_err ksm_s3_sse_kms_check(struct s3_req *s, const char **why)
{
    const char *sse = ksm_req_header(s->r, "x-amz-server-side-encryption");
    const char *id = ksm_req_header(s->r, "x-amz-server-side-encryption-aws-kms-key-id");
    if (!sse)
        return id ? (*why = "x-amz-server-side-encryption-aws-kms-key-id needs "
                            "x-amz-server-side-encryption: aws:kms", KSM_E_INVALID_ARGUMENT)
                  : KSM_E_OK;
    if (!strcmp(sse, "AES256") && !id)
        return KSM_E_OK;
    if (strcmp(sse, "aws:kms") && strcmp(sse, "aws:kms:dsse"))
        return *why = "The encryption method specified is not supported", KSM_E_INVALID_ARGUMENT;
    if (!id)
        return KSM_E_OK;
    const char *k = strrchr(id, '/');   /* an ARN or "key/ID" form names the id last */
    k = k ? k + 1 : id;
    bool bucket = !strcmp(k, s->bucket.id) ||
                  (!strncmp(k, "bucket:", 7) && !strcmp(k + 7, s->bucket.name));
    if (bucket || !strcmp(k, s->bucket.tenant))
        return KSM_E_OK;
    return *why = NULL, KSM_E_KMS_KEY_NOT_FOUND;
}

void ksm_s3_sse_headers(struct s3_req *s, const struct ksm_obj_meta *m)
{
    if (m->sse_c[0]) {
        ksm_s3_ssec_headers(s);
        return;
    }
    ksm_req_add_header(s->r, "x-amz-server-side-encryption", "aws:kms");
    ksm_req_add_header(s->r, "x-amz-server-side-encryption-aws-kms-key-id",
                       ksm_arena_strdup(s->r->arena, s->bucket.id));   /* s is freed before the send */
}
