/* kms_wrap.c — the one wrapped-blob format of the key hierarchy and of sealed secrets:
 *
 *   byte 0      format version (1)
 *   byte 1      kind (enum kms_blob_kind)
 *   bytes 2..5  version of the wrapping key (big-endian): the master generation, the tenant key
 *               version or the bucket key version
 *   bytes 6..   nonce (12) || ciphertext || tag (16)
 *
 * AES-256-GCM with a random 96-bit nonce. The AAD is the 6-byte header followed by the identity
 * string of what is wrapped ("kasumi/v1/tenant-key/<tenant>/<version>", ...), so a blob moved to
 * another row, owner, version or kind fails its tag instead of yielding someone else's key. */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "core/evp.h"
#include "core/util.h"

static int gcm(int enc, const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t nonce[KMS_NONCE_LEN],
               const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t n, uint8_t *out,
               uint8_t tag[KMS_TAG_LEN])
{
    int rc = -1, len = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c || n > INT32_MAX || aadlen > INT32_MAX)
        goto fail;
    if (!EVP_CipherInit_ex(c, ksm_evp_aes256gcm(), NULL, key, nonce, enc))
        goto fail;
    if (aadlen && !EVP_CipherUpdate(c, NULL, &len, aad, (int)aadlen))
        goto fail;
    if (n && !EVP_CipherUpdate(c, out, &len, in, (int)n))
        goto fail;
    if (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KMS_TAG_LEN, tag))
        goto fail;
    if (EVP_CipherFinal_ex(c, out + n, &len) != 1)
        goto fail; /* on decryption: the tag did not match */
    if (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KMS_TAG_LEN, tag))
        goto fail;
    rc = 0;
fail:
    EVP_CIPHER_CTX_free(c);
    if (rc && !enc)
        OPENSSL_cleanse(out, n); /* never hand back unauthenticated plaintext */
    return rc;
}

int ksm_kms__gcm_seal(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t *aad, size_t aadlen,
                      const uint8_t *in, size_t n, uint8_t *out)
{
    ksm_random_bytes(out, KMS_NONCE_LEN);
    return gcm(1, key, out, aad, aadlen, in, n, out + KMS_NONCE_LEN, out + KMS_NONCE_LEN + n);
}

int ksm_kms__gcm_open(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t *aad, size_t aadlen,
                      const uint8_t *in, size_t n, uint8_t *out)
{
    if (n < KSM_KMS_WRAP_OVERHEAD)
        return -1;
    size_t m = n - KSM_KMS_WRAP_OVERHEAD;
    uint8_t tag[KMS_TAG_LEN];
    memcpy(tag, in + KMS_NONCE_LEN + m, KMS_TAG_LEN);
    return gcm(0, key, in, aad, aadlen, in + KMS_NONCE_LEN, m, out, tag);
}

static size_t build_aad(uint8_t *aad, const uint8_t hdr[KMS_HDR_LEN], const char *ident)
{
    size_t il = strnlen(ident, KMS_IDENT_MAX);
    memcpy(aad, hdr, KMS_HDR_LEN);
    memcpy(aad + KMS_HDR_LEN, ident, il);
    return KMS_HDR_LEN + il;
}

static int wrap_raw(const struct kms_wrapper *w, const uint8_t *aad, size_t aadlen,
                    const uint8_t *in, size_t n, uint8_t *out)
{
    if (w->master)
        return w->master->wrap(w->master, aad, aadlen, in, n, out);
    return ksm_kms__gcm_seal(w->key, aad, aadlen, in, n, out);
}

static int unwrap_raw(const struct kms_wrapper *w, const uint8_t *aad, size_t aadlen,
                      const uint8_t *in, size_t n, uint8_t *out)
{
    if (w->master)
        return w->master->unwrap(w->master, aad, aadlen, in, n, out);
    return ksm_kms__gcm_open(w->key, aad, aadlen, in, n, out);
}

int ksm_kms__wrap(const struct kms_wrapper *w, enum kms_blob_kind kind, uint32_t parent_version,
                  const char *ident, const uint8_t *in, size_t n, uint8_t *out)
{
    uint8_t aad[KMS_HDR_LEN + KMS_IDENT_MAX];
    out[0] = KMS_FORMAT_V1;
    out[1] = (uint8_t)kind;
    out[2] = (uint8_t)(parent_version >> 24);
    out[3] = (uint8_t)(parent_version >> 16);
    out[4] = (uint8_t)(parent_version >> 8);
    out[5] = (uint8_t)parent_version;
    size_t aadlen = build_aad(aad, out, ident);
    return wrap_raw(w, aad, aadlen, in, n, out + KMS_HDR_LEN);
}

int ksm_kms__blob_parent(const uint8_t *blob, size_t n, enum kms_blob_kind kind, uint32_t *version)
{
    if (n < KSM_KMS_BLOB_OVERHEAD || blob[0] != KMS_FORMAT_V1 || blob[1] != (uint8_t)kind)
        return -1;
    *version = (uint32_t)blob[2] << 24 | (uint32_t)blob[3] << 16 | (uint32_t)blob[4] << 8 | blob[5];
    return 0;
}

int ksm_kms__unwrap(const struct kms_wrapper *w, enum kms_blob_kind kind, const char *ident,
                    const uint8_t *blob, size_t n, uint8_t *out)
{
    uint32_t v;
    uint8_t aad[KMS_HDR_LEN + KMS_IDENT_MAX];
    if (ksm_kms__blob_parent(blob, n, kind, &v))
        return -1;
    size_t aadlen = build_aad(aad, blob, ident);
    return unwrap_raw(w, aad, aadlen, blob + KMS_HDR_LEN, n - KMS_HDR_LEN, out);
}
