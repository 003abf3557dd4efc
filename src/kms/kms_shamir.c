/* kms_shamir.c — Shamir's secret sharing over GF(2^8), one byte at a time: byte j of the secret is
 * the constant term of a random polynomial f_j of degree k-1, and share x holds f_j(x) for every j.
 * Any k points fix the polynomial (Lagrange interpolation at 0 gives the secret); k-1 points are
 * consistent with every possible secret byte, so they tell nothing.
 *
 * The field is the AES one (x^8 + x^4 + x^3 + x + 1). Multiplication is the shift-and-add loop with
 * masks instead of log/exp tables, so no memory access depends on a secret byte; the inverse is
 * a^254. Addition and subtraction are both XOR. */
#include "kms/kms_shamir.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

uint8_t ksm_gf256_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    for (int i = 0; i < 8; i++) {
        r ^= (uint8_t)(-(b & 1) & a);                 /* add a when b's low bit is set */
        a = (uint8_t)((a << 1) ^ (-(a >> 7) & 0x1b)); /* a *= x, reduced */
        b >>= 1;
    }
    return r;
}

uint8_t ksm_gf256_inv(uint8_t a)
{
    /* a^254 = a^-1 in a field of 256 elements (a^255 = 1): square-and-multiply over 254's bits */
    uint8_t r = 1, p = a;
    for (int e = 254; e; e >>= 1) {
        if (e & 1)
            r = ksm_gf256_mul(r, p);
        p = ksm_gf256_mul(p, p);
    }
    return r;
}

/* f(x) by Horner's rule; coef[0] is the constant term. */
static uint8_t eval(const uint8_t *coef, int k, uint8_t x)
{
    uint8_t y = 0;
    for (int i = k - 1; i >= 0; i--)
        y = (uint8_t)(ksm_gf256_mul(y, x) ^ coef[i]);
    return y;
}

int ksm_shamir_split(const uint8_t *secret, size_t n, int k, int nshares, uint8_t *shares)
{
    uint8_t coef[KSM_SHAMIR_MAX];
    if (k < 2 || nshares < k || nshares > KSM_SHAMIR_MAX)
        return -1;
    for (size_t j = 0; j < n; j++) {
        coef[0] = secret[j];
        ksm_random_bytes(coef + 1, (size_t)k - 1);
        for (int i = 0; i < nshares; i++)
            shares[(size_t)i * n + j] = eval(coef, k, (uint8_t)(i + 1));
    }
    OPENSSL_cleanse(coef, sizeof coef);
    return 0;
}

int ksm_shamir_combine(const uint8_t *xs, const uint8_t *const *ys, int k, size_t n,
                       uint8_t *secret)
{
    uint8_t l[KSM_SHAMIR_MAX];
    if (k < 1 || k > KSM_SHAMIR_MAX)
        return -1;
    /* the Lagrange basis at 0: l_i = prod_{m != i} x_m / (x_m - x_i), the same for every byte */
    for (int i = 0; i < k; i++) {
        uint8_t num = 1, den = 1;
        if (xs[i] == 0)
            return -1;
        for (int m = 0; m < k; m++) {
            if (m == i)
                continue;
            if (xs[m] == xs[i])
                return -1;
            num = ksm_gf256_mul(num, xs[m]);
            den = ksm_gf256_mul(den, xs[m] ^ xs[i]);
        }
        l[i] = ksm_gf256_mul(num, ksm_gf256_inv(den));
    }
    for (size_t j = 0; j < n; j++) {
        uint8_t s = 0;
        for (int i = 0; i < k; i++)
            s ^= ksm_gf256_mul(l[i], ys[i][j]);
        secret[j] = s;
    }
    return 0;
}
