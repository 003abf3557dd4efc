/* kms_chunk.h — object data at rest: AES-256-GCM over fixed-size chunks (format v1).
 *
 * Plaintext is cut into chunks of KSM_CHUNK_SIZE bytes; chunk i is stored as its ciphertext
 * followed by a 16-byte tag, so every full chunk takes KSM_CHUNK_CT_SIZE bytes and chunk i starts
 * at i * KSM_CHUNK_CT_SIZE. The last chunk is short (or full) and carries the "final" flag; an
 * empty object is one empty final chunk (16 bytes: just its tag). Nonce = the chunk index as a
 * 96-bit big-endian number (safe because every object has its own data key); AAD = uid (16) ||
 * index (8, big-endian) || final (1). Dropping, reordering or splicing chunks fails a tag.
 * docs/encryption.md.
 *
 * Streams: an encryptor takes plaintext in any pieces and emits whole ciphertext chunks; a
 * decryptor for the plaintext range [off, off+len) takes the ciphertext from ksm_chunk_range's
 * offset in any pieces and emits exactly those plaintext bytes, each chunk only after its tag has
 * verified. One EVP context per stream, keyed once. */
#ifndef KSM_KMS_CHUNK_H
#define KSM_KMS_CHUNK_H
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "kms/kms.h"

#define KSM_CHUNK_FORMAT 1
#define KSM_CHUNK_SIZE 65536u
#define KSM_CHUNK_TAG_LEN 16u
#define KSM_CHUNK_CT_SIZE (KSM_CHUNK_SIZE + KSM_CHUNK_TAG_LEN)

/* Ciphertext length of a plaintext length. */
uint64_t ksm_chunk_ct_len(uint64_t pt_len);
/* Plaintext length of a ciphertext length; -1 when no plaintext encrypts to that length. */
int ksm_chunk_pt_len(uint64_t ct_len, uint64_t *pt_len);
/* The ciphertext bytes [*ct_off, *ct_off + *ct_n) to read for plaintext [off, off+len) of an object
 * of pt_total bytes. -1 when the range is outside the object. A zero-length read of an empty object
 * still covers its one (empty, authenticated) chunk. */
int ksm_chunk_range(uint64_t pt_total, uint64_t off, uint64_t len, uint64_t *ct_off,
                    uint64_t *ct_n);

/* Receives output; anything but KSM_E_OK stops the stream and is returned by the call that fed it.
 */
typedef enum ksm_err ksm_chunk_emit_fn(void *arg, const uint8_t *p, size_t n);

struct ksm_chunk_enc;
struct ksm_chunk_enc *ksm_chunk_enc_new(const uint8_t key[KSM_KMS_KEY_LEN],
                                        const uint8_t uid[KSM_KMS_UID_LEN], ksm_chunk_emit_fn *emit,
                                        void *arg);
/* A full chunk is held back until a byte past it arrives (or final): only then is it known whether
 * it is the last. */
enum ksm_err ksm_chunk_enc_update(struct ksm_chunk_enc *e, const void *p, size_t n);
/* Emits the final chunk. */
enum ksm_err ksm_chunk_enc_final(struct ksm_chunk_enc *e);
uint64_t ksm_chunk_enc_plain_len(const struct ksm_chunk_enc *e);
void ksm_chunk_enc_free(struct ksm_chunk_enc *e);

struct ksm_chunk_dec;
/* NULL when [off, off+len) is outside an object of pt_total bytes. */
struct ksm_chunk_dec *ksm_chunk_dec_new(const uint8_t key[KSM_KMS_KEY_LEN],
                                        const uint8_t uid[KSM_KMS_UID_LEN], uint64_t pt_total,
                                        uint64_t off, uint64_t len, ksm_chunk_emit_fn *emit,
                                        void *arg);
/* KSM_E_DATA_CORRUPT on a tag failure or bytes past the range's last chunk. */
enum ksm_err ksm_chunk_dec_update(struct ksm_chunk_dec *d, const void *p, size_t n);
/* The same, but the plaintext goes into out (cap bytes) instead of through emit, with no copy for
 * the chunks wholly inside the range; *out_len is what was written, all of it verified. A chunk
 * held back (an incomplete piece) is written by a later call. KSM_E_INTERNAL when cap is short. */
enum ksm_err ksm_chunk_dec_update_into(struct ksm_chunk_dec *d, const void *p, size_t n,
                                       uint8_t *out, size_t cap, size_t *out_len);
/* KSM_E_DATA_CORRUPT when the ciphertext ended before the range's last chunk (truncation). */
enum ksm_err ksm_chunk_dec_final(struct ksm_chunk_dec *d);
void ksm_chunk_dec_free(struct ksm_chunk_dec *d);

/* One-shot forms for small objects: out holds ksm_chunk_ct_len(n), resp. the plaintext length. */
enum ksm_err ksm_chunk_seal(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t uid[KSM_KMS_UID_LEN],
                            const void *pt, size_t n, uint8_t *out);
enum ksm_err ksm_chunk_open(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t uid[KSM_KMS_UID_LEN],
                            const void *ct, size_t n, uint8_t *out, size_t *pt_n);

/* The same with another chunk size: for tests and fuzzing only (small chunks make every boundary
 * reachable). Stored data always uses KSM_CHUNK_SIZE. */
uint64_t ksm_chunk__ct_len(uint32_t chunk, uint64_t pt_len);
int ksm_chunk__pt_len(uint32_t chunk, uint64_t ct_len, uint64_t *pt_len);
int ksm_chunk__range(uint32_t chunk, uint64_t pt_total, uint64_t off, uint64_t len,
                     uint64_t *ct_off, uint64_t *ct_n);
struct ksm_chunk_enc *ksm_chunk__enc_new(uint32_t chunk, const uint8_t *key, const uint8_t *uid,
                                         ksm_chunk_emit_fn *emit, void *arg);
struct ksm_chunk_dec *ksm_chunk__dec_new(uint32_t chunk, const uint8_t *key, const uint8_t *uid,
                                         uint64_t pt_total, uint64_t off, uint64_t len,
                                         ksm_chunk_emit_fn *emit, void *arg);

#endif
