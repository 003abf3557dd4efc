/* kms_datakey.c — per-object data keys: a fresh random key for every write of object data, wrapped
 * under the bucket key's current version and bound (AAD) to the bucket and the object's uid, so a
 * wrapped key copied onto another object's metadata does not open. The wrapped blob's header names
 * the bucket key version, so rotation never strands old objects. */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

static void ident_data(char out[KMS_IDENT_MAX], const char *bucket,
                       const uint8_t uid[KSM_KMS_UID_LEN])
{
    char hex[2 * KSM_KMS_UID_LEN + 1];
    ksm_hex(uid, KSM_KMS_UID_LEN, hex);
    snprintf(out, KMS_IDENT_MAX, "kasumi/v1/data-key/%s/%s", bucket, hex);
}

void ksm_kms_uid_new(uint8_t uid[KSM_KMS_UID_LEN]) { ksm_random_bytes(uid, KSM_KMS_UID_LEN); }

void ksm_kms_data_key_wipe(struct ksm_kms_data_key *dk) { OPENSSL_cleanse(dk, sizeof *dk); }

uint32_t ksm_kms_data_key_version(const uint8_t *wrapped, size_t n)
{
    uint32_t v = 0;
    if (n != KSM_KMS_WRAPPED_DATA_KEY_LEN ||
        ksm_kms__blob_parent(wrapped, n, KMS_BLOB_DATA_KEY, &v))
        return 0;
    return v;
}

enum ksm_err ksm_kms_data_key_new(struct ksm_kms *k, struct ksm_db *db, const char *bucket_id,
                                  const uint8_t uid[KSM_KMS_UID_LEN], struct ksm_kms_data_key *out)
{
    struct kms_cached bk;
    char ident[KMS_IDENT_MAX];
    enum ksm_err e = KSM_E_INVALID_ARGUMENT;
    memset(&bk, 0, sizeof bk);
    memset(out, 0, sizeof *out);
    if (!ksm_kms__id_valid(bucket_id))
        goto fail;
    e = ksm_kms__key_get(k, db, KSM_KMS_BUCKET, bucket_id, 0, &bk);
    if (e != KSM_E_OK)
        goto fail;
    ksm_random_bytes(out->key, sizeof out->key);
    ident_data(ident, bucket_id, uid);
    struct kms_wrapper w = {NULL, bk.key};
    e = ksm_kms__wrap(&w, KMS_BLOB_DATA_KEY, bk.version, ident, out->key, sizeof out->key,
                      out->wrapped)
            ? KSM_E_INTERNAL
            : KSM_E_OK;
fail:
    if (e != KSM_E_OK)
        ksm_kms_data_key_wipe(out);
    ksm_kms__emit(k, KSM_KMS_OP_GENERATE, "bucket", bucket_id, bk.key_id, bk.version, e);
    OPENSSL_cleanse(&bk, sizeof bk);
    return e;
}

enum ksm_err ksm_kms_data_key_open(struct ksm_kms *k, struct ksm_db *db, const char *bucket_id,
                                   const uint8_t uid[KSM_KMS_UID_LEN], const uint8_t *wrapped,
                                   size_t n, uint8_t key[KSM_KMS_KEY_LEN])
{
    struct kms_cached bk;
    char ident[KMS_IDENT_MAX];
    uint32_t v = 0;
    enum ksm_err e = KSM_E_INVALID_ARGUMENT;
    memset(&bk, 0, sizeof bk);
    if (!ksm_kms__id_valid(bucket_id))
        goto fail;
    e = KSM_E_DATA_CORRUPT;
    if (n != KSM_KMS_WRAPPED_DATA_KEY_LEN ||
        ksm_kms__blob_parent(wrapped, n, KMS_BLOB_DATA_KEY, &v) || v == 0)
        goto fail;
    e = ksm_kms__key_get(k, db, KSM_KMS_BUCKET, bucket_id, v, &bk);
    if (e == KSM_E_NOT_FOUND)
        e = KSM_E_DATA_CORRUPT; /* the object exists; its blob names a key that never did */
    if (e != KSM_E_OK)
        goto fail;
    ident_data(ident, bucket_id, uid);
    struct kms_wrapper w = {NULL, bk.key};
    e = ksm_kms__unwrap(&w, KMS_BLOB_DATA_KEY, ident, wrapped, n, key) ? KSM_E_DATA_CORRUPT
                                                                       : KSM_E_OK;
fail:
    if (e != KSM_E_OK)
        OPENSSL_cleanse(key, KSM_KMS_KEY_LEN);
    ksm_kms__emit(k, KSM_KMS_OP_UNWRAP, "bucket", bucket_id, bk.key_id, bk.version, e);
    OPENSSL_cleanse(&bk, sizeof bk);
    return e;
}
