/* s3_checksum.h — the S3 additional checksums (x-amz-checksum-crc32, -crc32c, -sha1, -sha256),
 * computed a piece at a time and rendered as S3 sends them: base64 of the big-endian digest. */
#ifndef KSM_S3_CHECKSUM_H
#define KSM_S3_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

enum ksm_s3_cksum_alg {
    KSM_S3_CKSUM_NONE,
    KSM_S3_CKSUM_CRC32,
    KSM_S3_CKSUM_CRC32C,
    KSM_S3_CKSUM_SHA1,
    KSM_S3_CKSUM_SHA256,
};

struct ksm_s3_cksum {
    enum ksm_s3_cksum_alg alg;
    uint32_t crc;
    void *md;                          /* EVP_MD_CTX for the SHA ones */
};

#define KSM_S3_CKSUM_B64_MAX 48        /* base64 of 32 bytes is 44, plus the NUL */

/* The algorithm a header or trailer name stands for ("x-amz-checksum-crc32c"); NONE if unknown. */
enum ksm_s3_cksum_alg ksm_s3_cksum_by_name(const char *name, size_t n);
void ksm_s3_cksum_init(struct ksm_s3_cksum *c, enum ksm_s3_cksum_alg alg);
void ksm_s3_cksum_update(struct ksm_s3_cksum *c, const void *p, size_t n);
/* Writes the base64 value and frees c. */
void ksm_s3_cksum_final(struct ksm_s3_cksum *c, char out[KSM_S3_CKSUM_B64_MAX]);
void ksm_s3_cksum_free(struct ksm_s3_cksum *c);

/* Raw CRCs (zlib's CRC-32 and the Castagnoli CRC-32C), for callers and tests. */
uint32_t ksm_crc32(uint32_t crc, const void *p, size_t n);
uint32_t ksm_crc32c(uint32_t crc, const void *p, size_t n);

#endif
