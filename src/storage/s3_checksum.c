/* s3_checksum.c — CRC-32, CRC-32C, SHA-1 and SHA-256 as S3's trailing checksums. The CRCs are
 * written here (slicing-by-8, ~1–2 GB/s) rather than taken from zlib because zlib has no CRC-32C
 * and one small table-driven loop serves both polynomials without another link dependency. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/evp.h"
#include "core/util.h"
#include "storage/s3_checksum.h"

static uint32_t tab32[8][256], tab32c[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void make_table(uint32_t t[8][256], uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ poly : c >> 1;
        t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++)
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
}

static void make_tables(void)
{
    make_table(tab32, 0xEDB88320u);    /* reflected 0x04C11DB7 */
    make_table(tab32c, 0x82F63B78u);   /* reflected 0x1EDC6F41, Castagnoli */
}

static uint32_t crc_run(uint32_t t[8][256], uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
              t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

uint32_t ksm_crc32(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&tables_once, make_tables);
    return crc_run(tab32, crc, p, n);
}

uint32_t ksm_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&tables_once, make_tables);
    return crc_run(tab32c, crc, p, n);
}

static const struct {
    const char *name;
    enum ksm_s3_cksum_alg alg;
} names[] = {
    {"x-amz-checksum-crc32", KSM_S3_CKSUM_CRC32},
    {"x-amz-checksum-crc32c", KSM_S3_CKSUM_CRC32C},
    {"x-amz-checksum-sha1", KSM_S3_CKSUM_SHA1},
    {"x-amz-checksum-sha256", KSM_S3_CKSUM_SHA256},
};

enum ksm_s3_cksum_alg ksm_s3_cksum_by_name(const char *name, size_t n)
{
    for (size_t i = 0; i < KSM_NELEM(names); i++)
        if (strlen(names[i].name) == n && !memcmp(names[i].name, name, n))
            return names[i].alg;
    return KSM_S3_CKSUM_NONE;
}

void ksm_s3_cksum_init(struct ksm_s3_cksum *c, enum ksm_s3_cksum_alg alg)
{
    c->alg = alg;
    c->crc = 0;
    c->md = NULL;
    if (alg != KSM_S3_CKSUM_SHA1 && alg != KSM_S3_CKSUM_SHA256)
        return;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        abort();   /* out of memory is fatal, as in ksm_xmalloc */
    EVP_DigestInit_ex(md, alg == KSM_S3_CKSUM_SHA1 ? ksm_evp_sha1() : ksm_evp_sha256(), NULL);
    c->md = md;
}

void ksm_s3_cksum_update(struct ksm_s3_cksum *c, const void *p, size_t n)
{
    switch (c->alg) {
    case KSM_S3_CKSUM_CRC32: c->crc = ksm_crc32(c->crc, p, n); break;
    case KSM_S3_CKSUM_CRC32C: c->crc = ksm_crc32c(c->crc, p, n); break;
    case KSM_S3_CKSUM_SHA1:
    case KSM_S3_CKSUM_SHA256: EVP_DigestUpdate(c->md, p, n); break;
    case KSM_S3_CKSUM_NONE: break;
    }
}

void ksm_s3_cksum_final(struct ksm_s3_cksum *c, char out[KSM_S3_CKSUM_B64_MAX])
{
    unsigned char d[32];
    unsigned int n = 0;
    if (c->md) {
        EVP_DigestFinal_ex(c->md, d, &n);
    } else if (c->alg != KSM_S3_CKSUM_NONE) {
        d[0] = (unsigned char)(c->crc >> 24);
        d[1] = (unsigned char)(c->crc >> 16);
        d[2] = (unsigned char)(c->crc >> 8);
        d[3] = (unsigned char)c->crc;
        n = 4;
    }
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    ksm_s3_cksum_free(c);
}

void ksm_s3_cksum_free(struct ksm_s3_cksum *c)
{
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}
