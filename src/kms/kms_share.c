/* kms_share.c — master key shares as lines of text (format in kms_shamir.h), and the split and
 * rebuild of a key with its checks: a share's own checksum (a mistyped line), its split id (shares
 * of two backups mixed), the threshold (too few shares), and the key check value over the rebuilt
 * key (too few genuine shares: Shamir with k-1 points gives a wrong key, not an error). */
#include "kms/kms_shamir.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

#define SHARE_TAG "kasumi-share-1"
#define NFIELDS 8

static void kcv_of(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t set[4], uint8_t kcv[8])
{
    char msg[64], sethex[9];
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    ksm_hex(set, 4, sethex);
    int n = snprintf(msg, sizeof msg, "kasumi/v1/share-kcv/%s", sethex);
    HMAC(EVP_sha256(), key, KSM_KMS_KEY_LEN, (const uint8_t *)msg, (size_t)n, mac, &maclen);
    memcpy(kcv, mac, 8);
    OPENSSL_cleanse(mac, sizeof mac);
}

/* Everything before ":SUM", canonical (lower-case hex); returns its length. */
static int body_of(const struct ksm_kms_share *s, char out[KSM_KMS_SHARE_TEXT_MAX])
{
    char set[9], data[2 * KSM_KMS_KEY_LEN + 1], kcv[17];
    ksm_hex(s->set, sizeof s->set, set);
    ksm_hex(s->data, sizeof s->data, data);
    ksm_hex(s->kcv, sizeof s->kcv, kcv);
    int n = snprintf(out, KSM_KMS_SHARE_TEXT_MAX, SHARE_TAG ":%d:%d:%d:%s:%s:%s", s->threshold,
                     s->total, s->index, set, data, kcv);
    OPENSSL_cleanse(data, sizeof data);
    return n;
}

static void sum_of(const char *body, size_t n, uint8_t sum[4])
{
    uint8_t h[32];
    ksm_sha256(body, n, h);
    memcpy(sum, h, 4);
}

void ksm_kms_share_format(const struct ksm_kms_share *s, char out[KSM_KMS_SHARE_TEXT_MAX])
{
    uint8_t sum[4];
    char hex[9];
    int n = body_of(s, out);
    sum_of(out, (size_t)n, sum);
    ksm_hex(sum, sizeof sum, hex);
    snprintf(out + n, KSM_KMS_SHARE_TEXT_MAX - (size_t)n, ":%s", hex);
}

int ksm_kms_share_split(const uint8_t key[KSM_KMS_KEY_LEN], int threshold, int total,
                        struct ksm_kms_share *out)
{
    uint8_t ys[KSM_SHAMIR_MAX * KSM_KMS_KEY_LEN], set[4], kcv[8];
    if (ksm_shamir_split(key, KSM_KMS_KEY_LEN, threshold, total, ys))
        return -1;
    ksm_random_bytes(set, sizeof set);
    kcv_of(key, set, kcv);
    for (int i = 0; i < total; i++) {
        struct ksm_kms_share *s = &out[i];
        s->threshold = threshold;
        s->total = total;
        s->index = i + 1;
        memcpy(s->set, set, sizeof set);
        memcpy(s->data, ys + (size_t)i * KSM_KMS_KEY_LEN, KSM_KMS_KEY_LEN);
        memcpy(s->kcv, kcv, sizeof kcv);
    }
    OPENSSL_cleanse(ys, sizeof ys);
    return 0;
}

/* The shares to use: the first of each index, all of one split. -1 with *why otherwise. */
static int pick(const struct ksm_kms_share *shares, int n, const struct ksm_kms_share **use, int *k,
                const char **why)
{
    *k = 0;
    if (n < 1)
        return *why = "no shares given", -1;
    for (int i = 0; i < n; i++) {
        const struct ksm_kms_share *s = &shares[i];
        if (memcmp(s->set, shares[0].set, 4) || memcmp(s->kcv, shares[0].kcv, 8) ||
            s->threshold != shares[0].threshold || s->total != shares[0].total)
            return *why = "the shares come from different backups (their set ids differ)", -1;
        bool dup = false;
        for (int j = 0; j < *k; j++)
            dup |= use[j]->index == s->index;
        if (!dup && *k < KSM_SHAMIR_MAX)
            use[(*k)++] = s;
    }
    if (*k < shares[0].threshold)
        return *why = "fewer distinct shares than the threshold: the key cannot be rebuilt", -1;
    *k = shares[0].threshold; /* exactly k points define the polynomial */
    return 0;
}

int ksm_kms_share_combine(const struct ksm_kms_share *shares, int n, uint8_t key[KSM_KMS_KEY_LEN],
                          const char **why)
{
    const struct ksm_kms_share *use[KSM_SHAMIR_MAX];
    const uint8_t *ys[KSM_SHAMIR_MAX];
    uint8_t xs[KSM_SHAMIR_MAX], kcv[8];
    int k;
    if (pick(shares, n, use, &k, why))
        return -1;
    for (int i = 0; i < k; i++) {
        xs[i] = (uint8_t)use[i]->index;
        ys[i] = use[i]->data;
    }
    if (ksm_shamir_combine(xs, ys, k, KSM_KMS_KEY_LEN, key))
        return *why = "invalid share indices", -1;
    kcv_of(key, use[0]->set, kcv);
    if (!ksm_ct_equal(kcv, use[0]->kcv, sizeof kcv)) {
        OPENSSL_cleanse(key, KSM_KMS_KEY_LEN);
        return *why = "the rebuilt key fails its key check value: too few genuine shares, or a "
                      "share was altered",
               -1;
    }
    return 0;
}

/* A decimal field 1..255 without sign or leading zero. */
static int dec_field(const char *p, size_t n, int *out)
{
    int v = 0;
    if (n < 1 || n > 3 || (p[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return v <= KSM_SHAMIR_MAX ? 0 : -1;
}

static int hex_field(const char *p, size_t n, void *out, size_t bytes)
{
    return n == 2 * bytes ? ksm_unhex(p, n, out) : -1;
}

/* Splits line at ':' into exactly NFIELDS fields. */
static int fields(const char *p, size_t n, const char *f[NFIELDS], size_t fl[NFIELDS])
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != ':')
            continue;
        if (k == NFIELDS)
            return -1;
        f[k] = p + start;
        fl[k++] = i - start;
        start = i + 1;
    }
    return k == NFIELDS ? 0 : -1;
}

static bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int parse(const char *line, size_t len, struct ksm_kms_share *out, const char **why)
{
    const char *f[NFIELDS];
    size_t fl[NFIELDS];
    uint8_t sum[4], want[4];
    char body[KSM_KMS_SHARE_TEXT_MAX];
    memset(out, 0, sizeof *out);
    while (len && space(*line))
        line++, len--;
    while (len && space(line[len - 1]))
        len--;
    if (len > KSM_KMS_SHARE_TEXT_MAX || fields(line, len, f, fl) || fl[0] != strlen(SHARE_TAG) ||
        memcmp(f[0], SHARE_TAG, fl[0]))
        return *why = "not a kasumi-share-1 line", -1;
    if (dec_field(f[1], fl[1], &out->threshold) || dec_field(f[2], fl[2], &out->total) ||
        dec_field(f[3], fl[3], &out->index) || out->threshold < 2 || out->total < out->threshold ||
        out->index > out->total)
        return *why = "bad threshold, share count or index", -1;
    if (hex_field(f[4], fl[4], out->set, sizeof out->set) ||
        hex_field(f[5], fl[5], out->data, sizeof out->data) ||
        hex_field(f[6], fl[6], out->kcv, sizeof out->kcv) || hex_field(f[7], fl[7], sum, 4))
        return *why = "bad hex field", -1;
    int n = body_of(out, body);
    sum_of(body, (size_t)n, want);
    OPENSSL_cleanse(body, sizeof body);
    if (memcmp(sum, want, sizeof sum))
        return *why = "checksum mismatch: the line was mistyped or altered", -1;
    return 0;
}

int ksm_kms_share_parse(const char *line, size_t len, struct ksm_kms_share *out, const char **why)
{
    if (parse(line, len, out, why) == 0)
        return 0;
    OPENSSL_cleanse(out, sizeof *out); /* a refused line may still hold share bytes */
    return -1;
}
