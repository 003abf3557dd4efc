/* evp.h — OpenSSL algorithms fetched from the provider once per process. With OpenSSL 3, passing
 * EVP_sha256(), EVP_md5() or EVP_aes_256_gcm() to an init call, or calling the one-shot HMAC(),
 * fetches the implementation again on every call (name lookups under the store's lock): on a 4 KiB
 * S3 PUT that cost more than hashing the request. Same algorithms, same provider; only the lookup
 * is done once. The objects live for the process (never freed: threads may use them until exit). */
#ifndef KSM_EVP_H
#define KSM_EVP_H
#include <openssl/sha.h>
#include <openssl/types.h>
#include <stddef.h>

const EVP_MD *ksm_evp_sha256(void);
const EVP_MD *ksm_evp_sha1(void);
const EVP_MD *ksm_evp_md5(void);
const EVP_CIPHER *ksm_evp_aes256gcm(void);
/* SHA-256 and HMAC-SHA256 on a context on the stack: no allocation, no provider lookup, no lock —
 * the same assembly (SHA-NI where the CPU has it) as the EVP path, without its per-call setup,
 * which cost more than hashing a 1 KiB prompt (EVP_MAC_CTX_dup: a dozen allocations). ksm_sha256
 * (util.h) is defined beside them in evp.c. */
void ksm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32]);
/* A key whose pads are hashed once, for a key used on every request (the prompt HMAC). Plain data:
 * copyable, shareable between threads read-only; wipe it with ksm_hmac_sha256_forget. */
struct ksm_hmac_sha256_key {
    SHA256_CTX inner, outer;
};
void ksm_hmac_sha256_key(struct ksm_hmac_sha256_key *k, const void *key, size_t klen);
void ksm_hmac_sha256_keyed(const struct ksm_hmac_sha256_key *k, const void *msg, size_t n,
                           unsigned char out[32]);
void ksm_hmac_sha256_forget(struct ksm_hmac_sha256_key *k);
/* The same over a message given in pieces (no buffer to join them): begin, update…, end. */
struct ksm_hmac_sha256_run {
    SHA256_CTX c;
    const struct ksm_hmac_sha256_key *k;
};
void ksm_hmac_sha256_begin(struct ksm_hmac_sha256_run *r, const struct ksm_hmac_sha256_key *k);
void ksm_hmac_sha256_update(struct ksm_hmac_sha256_run *r, const void *p, size_t n);
void ksm_hmac_sha256_end(struct ksm_hmac_sha256_run *r, unsigned char out[32]);

#endif
