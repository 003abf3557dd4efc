/* evp.h — OpenSSL algorithms fetched from the provider once per process. With OpenSSL 3, passing
 * EVP_sha256(), EVP_md5() or EVP_aes_256_gcm() to an init call, or calling the one-shot HMAC(),
 * fetches the implementation again on every call (name lookups under the store's lock): on a 4 KiB
 * S3 PUT that cost more than hashing the request. Same algorithms, same provider; only the lookup
 * is done once. The objects live for the process (never freed: threads may use them until exit). */
#ifndef KSM_EVP_H
#define KSM_EVP_H
#include <openssl/types.h>
#include <stddef.h>

const EVP_MD *ksm_evp_sha256(void);
const EVP_MD *ksm_evp_sha1(void);
const EVP_MD *ksm_evp_md5(void);
const EVP_CIPHER *ksm_evp_aes256gcm(void);
/* HMAC-SHA256 of msg under key. OpenSSL failing here means out of memory: it aborts, as ksm_xmalloc. */
void ksm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32]);

#endif
