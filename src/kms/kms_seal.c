/* kms_seal.c — secrets that a protocol needs in plaintext (an S3 secret access key for SigV4),
 * sealed under the master key with the caller's context string as AAD: a sealed blob copied to
 * another access key's row, or opened for another purpose, fails instead of yielding the secret.
 * Secrets that only need verifying (API keys) are hashed by IAM instead and never come here. */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define SECRET_MAX (1u << 20) /* secrets are short; this bounds a hostile blob's allocation */

enum ksm_err ksm_kms_seal(struct ksm_kms *k, const char *context, const void *plain, size_t n,
                          uint8_t **blob, size_t *bloblen)
{
    enum ksm_err e = KSM_E_INVALID_ARGUMENT;
    struct kms_wrapper w = {k->master, NULL};
    *blob = NULL;
    *bloblen = 0;
    if (!context || !*context || strlen(context) >= KMS_IDENT_MAX || n > SECRET_MAX)
        goto fail;
    uint8_t *b = ksm_xmalloc(n + KSM_KMS_BLOB_OVERHEAD);
    e = KSM_E_INTERNAL;
    if (ksm_kms__wrap(&w, KMS_BLOB_SECRET, k->master_gen, context, plain, n, b)) {
        free(b);
        goto fail;
    }
    *blob = b;
    *bloblen = n + KSM_KMS_BLOB_OVERHEAD;
    e = KSM_E_OK;
fail:
    ksm_kms__emit(k, KSM_KMS_OP_SEAL, "master", context, "", k->master_gen, e);
    return e;
}

enum ksm_err ksm_kms_unseal(struct ksm_kms *k, const char *context, const uint8_t *blob, size_t n,
                            char **plain, size_t *plainlen)
{
    enum ksm_err e = KSM_E_INVALID_ARGUMENT;
    struct kms_wrapper w = {k->master, NULL};
    char *p = NULL;
    size_t m = 0;
    *plain = NULL;
    *plainlen = 0;
    if (!context || !*context || strlen(context) >= KMS_IDENT_MAX)
        goto fail;
    e = KSM_E_DATA_CORRUPT;
    if (n < KSM_KMS_BLOB_OVERHEAD || n - KSM_KMS_BLOB_OVERHEAD > SECRET_MAX)
        goto fail;
    m = n - KSM_KMS_BLOB_OVERHEAD;
    p = ksm_xmalloc(m + 1);
    if (ksm_kms__unwrap(&w, KMS_BLOB_SECRET, context, blob, n, (uint8_t *)p)) {
        ksm_kms_secret_free(p, m + 1); /* unwrap already wiped what it wrote */
        goto fail;
    }
    p[m] = '\0';
    *plain = p;
    *plainlen = m;
    e = KSM_E_OK;
fail:
    ksm_kms__emit(k, KSM_KMS_OP_UNSEAL, "master", context, "", k->master_gen, e);
    return e;
}

void ksm_kms_secret_free(void *plain, size_t n)
{
    if (!plain)
        return;
    OPENSSL_cleanse(plain, n);
    free(plain);
}
