/* kms_gcm.h — one AES-256-GCM key, expanded once, sealing and opening many messages (the object
 * chunks of kms_chunk.c). Standard GCM (SP 800-38D, 96-bit nonce, 128-bit tag): which library
 * computes it does not change a byte of what is stored.
 *
 * Where the build found Intel's multi-buffer crypto library (Debian's libipsec-mb, x86-64), its
 * direct GCM API does the work: on this project's machines (AVX-512 with VAES and VPCLMULQDQ) it
 * runs about three times as fast as OpenSSL 3.0's AES-GCM (docs/PERFORMANCE.md), and GET and PUT
 * of large objects spend most of their CPU here. Elsewhere OpenSSL's EVP does it. Either way the
 * key schedule and GHASH tables are computed once per key. */
#ifndef KSM_KMS_GCM_H
#define KSM_KMS_GCM_H
#include <stddef.h>
#include <stdint.h>

#define KSM_GCM_KEY_LEN 32u
#define KSM_GCM_NONCE_LEN 12u
#define KSM_GCM_TAG_LEN 16u

struct ksm_gcm;
/* NULL only when memory or the library fails. Not shared between threads while in use. */
struct ksm_gcm *ksm_gcm_new(const uint8_t key[KSM_GCM_KEY_LEN]);
/* out gets n bytes of ciphertext, tag its tag. 0, or -1 on a library failure. */
int ksm_gcm_seal(struct ksm_gcm *g, const uint8_t nonce[KSM_GCM_NONCE_LEN], const uint8_t *aad,
                 size_t aad_n, const uint8_t *in, size_t n, uint8_t *out,
                 uint8_t tag[KSM_GCM_TAG_LEN]);
/* out gets n bytes of plaintext when the tag verifies (0); on -1 whatever out received is wiped. */
int ksm_gcm_open(struct ksm_gcm *g, const uint8_t nonce[KSM_GCM_NONCE_LEN], const uint8_t *aad,
                 size_t aad_n, const uint8_t *in, size_t n, const uint8_t tag[KSM_GCM_TAG_LEN],
                 uint8_t *out);
/* Wipes the expanded key. NULL is fine. */
void ksm_gcm_free(struct ksm_gcm *g);
/* Which implementation runs: "ipsec-mb/avx512", "ipsec-mb/avx2", …, or "openssl". */
const char *ksm_gcm_impl(void);

#endif
