/* kms_ssec.c — SSE-C: objects encrypted with a key the customer sends with every request and that
 * kasumi never stores. The object's data key is still made and wrapped as for any object (so the
 * bucket and tenant keys still govern it: disabling or destroying them stops SSE-C objects too);
 * what encrypts the chunks is HMAC-SHA256(customer key, data key), so neither the stored wrapped
 * key nor the customer key alone opens the data. To tell a wrong customer key from a right one
 * without storing anything that reveals it, the object keeps a fingerprint: a random salt and
 * HMAC-SHA256(customer key, label || salt), which is no use for guessing a 256-bit key. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/evp.h"
#include "core/util.h"
#include "kms/kms.h"

/* HMAC-SHA256(key, label || p): one call over a small buffer (inputs are at most 32 bytes). */
static void hmac2(const uint8_t key[32], const char *label, const uint8_t *p, size_t n,
                  uint8_t out[32])
{
    uint8_t msg[96];
    size_t ln = strlen(label);
    memcpy(msg, label, ln);
    memcpy(msg + ln, p, n);
    ksm_hmac_sha256(key, 32, msg, ln + n, out);
    OPENSSL_cleanse(msg, sizeof msg);
}

void ksm_kms_ssec_derive(const uint8_t customer[32], const uint8_t data_key[32], uint8_t out[32])
{
    hmac2(customer, "kasumi/v1/sse-c/data-key", data_key, 32, out);
}

void ksm_kms_ssec_fingerprint(const uint8_t customer[32], char out[KSM_KMS_SSEC_FP_LEN])
{
    uint8_t salt[16], mac[32];
    ksm_random_bytes(salt, sizeof salt);
    hmac2(customer, "kasumi/v1/sse-c/check", salt, sizeof salt, mac);
    ksm_hex(salt, sizeof salt, out);
    out[32] = ':';
    ksm_hex(mac, sizeof mac, out + 33);
}

bool ksm_kms_ssec_matches(const uint8_t customer[32], const char *fp)
{
    uint8_t salt[16], want[32], mac[32];
    if (strlen(fp) != KSM_KMS_SSEC_FP_LEN - 1 || fp[32] != ':' ||
        ksm_unhex(fp, 32, salt) || ksm_unhex(fp + 33, 64, want))
        return false;
    hmac2(customer, "kasumi/v1/sse-c/check", salt, sizeof salt, mac);
    bool ok = CRYPTO_memcmp(mac, want, sizeof mac) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
}
