/* kms_shamir.h — backup of the environment master key as Shamir shares (DESIGN.md §4): the key is
 * split into N shares of which any K rebuild it and K-1 reveal nothing. The arithmetic is over
 * GF(2^8), byte by byte (kms_shamir.c); the shares travel as one line of text each
 * (kms_share.c), so an operator can print them, hand them to different custodians and type them
 * back. Format and checks: docs/encryption.md, "Master key backup". */
#ifndef KSM_KMS_SHAMIR_H
#define KSM_KMS_SHAMIR_H
#include <stddef.h>
#include <stdint.h>

#include "kms/kms.h"

#define KSM_SHAMIR_MAX 255 /* shares: the x coordinates 1..255 of GF(2^8) */

/* ---- kms_shamir.c: the arithmetic -------------------------------------------------------------
 * Splits secret (n bytes) into nshares shares of n bytes (share i, at x = i + 1, is
 * shares[i*n .. i*n+n)): for every byte a random polynomial of degree k-1 whose constant term is
 * that byte. 2 <= k <= nshares <= 255, else -1. */
int ksm_shamir_split(const uint8_t *secret, size_t n, int k, int nshares, uint8_t *shares);
/* Lagrange interpolation at 0 of k shares: xs[i] (distinct, non-zero) and ys[i] (n bytes each).
 * -1 when an x is 0 or repeated. With fewer shares than the split's threshold the result is a
 * wrong secret, not an error: callers check it (the share set's key check value). */
int ksm_shamir_combine(const uint8_t *xs, const uint8_t *const *ys, int k, size_t n,
                       uint8_t *secret);
/* GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1; constant time (no tables indexed by secrets). */
uint8_t ksm_gf256_mul(uint8_t a, uint8_t b);
uint8_t ksm_gf256_inv(uint8_t a); /* 0 for 0 */

/* ---- kms_share.c: master key shares as text ---------------------------------------------------
 *   kasumi-share-1:K:N:I:SET:DATA:KCV:SUM
 * K threshold, N shares made, I this share's index (decimal, no leading zeros); SET 8 hex digits
 * naming the split (shares of two splits never mix); DATA 64 hex digits, the share; KCV 16 hex
 * digits, the key check value (HMAC-SHA-256 of the key over "kasumi/v1/share-kcv/" SET,
 * truncated), which tells a right rebuild from a wrong one; SUM 8 hex digits, the first 4 bytes of
 * SHA-256 of everything before ":SUM", which catches a mistyped line. Hex is lower case. */
#define KSM_KMS_SHARE_TEXT_MAX 192

struct ksm_kms_share {
    int threshold, total, index;
    uint8_t set[4];
    uint8_t data[KSM_KMS_KEY_LEN];
    uint8_t kcv[8];
};

/* Splits key into total shares of which threshold rebuild it (a fresh random set id). out holds
 * total entries. -1 on bad counts. */
int ksm_kms_share_split(const uint8_t key[KSM_KMS_KEY_LEN], int threshold, int total,
                        struct ksm_kms_share *out);
/* Rebuilds the key from shares (any order; duplicates of one index count once). -1 with *why
 * when they are of different splits, fewer than the threshold, or the rebuilt key fails the key
 * check value (too few genuine shares, or altered ones). */
int ksm_kms_share_combine(const struct ksm_kms_share *shares, int n, uint8_t key[KSM_KMS_KEY_LEN],
                          const char **why);
/* One line of text, NUL-terminated, without a newline. */
void ksm_kms_share_format(const struct ksm_kms_share *s, char out[KSM_KMS_SHARE_TEXT_MAX]);
/* Parses one line (leading and trailing white space allowed). 0, or -1 with *why. */
int ksm_kms_share_parse(const char *line, size_t len, struct ksm_kms_share *out, const char **why);

#endif
