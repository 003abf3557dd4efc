/* test_kms_shamir.c — Shamir shares of the master key: the GF(2^8) arithmetic against its
 * definition, a property test (random keys, every 3-subset of 5 shares rebuilds the key, every
 * 2-subset is refused and rebuilds a wrong key when forced), the text format (round trip, every
 * single-character change caught, mixed backups refused). */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "kms/kms_shamir.h"

/* Multiplication by the schoolbook definition: polynomial product, then reduction. */
static uint8_t slow_mul(uint8_t a, uint8_t b)
{
    unsigned p = 0;
    for (int i = 0; i < 8; i++)
        if (b >> i & 1)
            p ^= (unsigned)a << i;
    for (int i = 15; i >= 8; i--)
        if (p >> i & 1)
            p ^= 0x11bu << (i - 8);
    return (uint8_t)p;
}

static void test_field(void)
{
    int bad = 0;
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++)
            bad += ksm_gf256_mul((uint8_t)a, (uint8_t)b) != slow_mul((uint8_t)a, (uint8_t)b);
        if (a)
            bad += ksm_gf256_mul((uint8_t)a, ksm_gf256_inv((uint8_t)a)) != 1;
    }
    CHECK(bad == 0);
    CHECK(ksm_gf256_mul(0x57, 0x83) == 0xc1); /* FIPS-197's worked example */
    CHECK(ksm_gf256_inv(0) == 0);
}

static void test_split_bounds(void)
{
    uint8_t s[4] = {1, 2, 3, 4}, out[255 * 4];
    CHECK(ksm_shamir_split(s, 4, 1, 5, out) == -1);
    CHECK(ksm_shamir_split(s, 4, 6, 5, out) == -1);
    CHECK(ksm_shamir_split(s, 4, 2, 256, out) == -1);
    CHECK(ksm_shamir_split(s, 4, 255, 255, out) == 0);
    CHECK(ksm_shamir_split(s, 4, 2, 2, out) == 0);
    uint8_t xs[2] = {1, 1}, r[4];
    const uint8_t *ys[2] = {out, out + 4};
    CHECK(ksm_shamir_combine(xs, ys, 2, 4, r) == -1); /* repeated x */
    xs[0] = 0;
    CHECK(ksm_shamir_combine(xs, ys, 2, 4, r) == -1); /* x = 0 is the secret itself */
    xs[0] = 1;
    xs[1] = 2;
    CHECK(ksm_shamir_combine(xs, ys, 2, 4, r) == 0 && !memcmp(r, s, 4));
}

/* 200 random keys; for each, 5 shares with threshold 3: all 10 3-subsets (in a shuffled order)
 * rebuild the key, all 10 2-subsets are refused, and interpolating 2 points anyway gives a key
 * that fails the key check value. */
static void test_property(void)
{
    int wrong3 = 0, accepted2 = 0, equal2 = 0;
    for (int round = 0; round < 200; round++) {
        uint8_t key[32], got[32];
        struct ksm_kms_share sh[5], pick[3];
        const char *why = NULL;
        ksm_random_bytes(key, sizeof key);
        CHECK(ksm_kms_share_split(key, 3, 5, sh) == 0);
        for (int a = 0; a < 5; a++)
            for (int b = a + 1; b < 5; b++) {
                pick[0] = sh[b];
                pick[1] = sh[a];
                if (ksm_kms_share_combine(pick, 2, got, &why) == 0)
                    accepted2++;
                /* forced: the same two shares claiming threshold 2 */
                pick[0].threshold = pick[1].threshold = 2;
                if (ksm_kms_share_combine(pick, 2, got, &why) == 0)
                    accepted2++;
                uint8_t xs[2] = {(uint8_t)sh[a].index, (uint8_t)sh[b].index}, raw[32];
                const uint8_t *ys[2] = {sh[a].data, sh[b].data};
                ksm_shamir_combine(xs, ys, 2, 32, raw);
                equal2 += !memcmp(raw, key, 32);
                for (int c = b + 1; c < 5; c++) {
                    pick[0] = sh[c];
                    pick[1] = sh[a];
                    pick[2] = sh[b];
                    wrong3 +=
                        ksm_kms_share_combine(pick, 3, got, &why) != 0 || memcmp(got, key, 32) != 0;
                }
            }
    }
    CHECK(wrong3 == 0);
    CHECK(accepted2 == 0);
    CHECK(equal2 == 0);
}

static void test_text(void)
{
    uint8_t key[32], got[32];
    struct ksm_kms_share sh[5], back[5], other[5];
    char line[KSM_KMS_SHARE_TEXT_MAX], mod[KSM_KMS_SHARE_TEXT_MAX + 8];
    const char *why = NULL;
    ksm_random_bytes(key, sizeof key);
    CHECK(ksm_kms_share_split(key, 3, 5, sh) == 0);
    for (int i = 0; i < 5; i++) {
        ksm_kms_share_format(&sh[i], line);
        CHECK(!strncmp(line, "kasumi-share-1:3:5:", 19));
        snprintf(mod, sizeof mod, "  %s\r\n", line); /* white space around is fine */
        CHECK(ksm_kms_share_parse(mod, strlen(mod), &back[i], &why) == 0);
        CHECK(!memcmp(&back[i], &sh[i], sizeof sh[i]));
    }
    CHECK(ksm_kms_share_combine(back + 2, 3, got, &why) == 0 && !memcmp(got, key, 32));

    /* every single-character change of a line is refused */
    ksm_kms_share_format(&sh[0], line);
    size_t n = strlen(line);
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        const char alts[] = "0123456789abcdef:-x";
        for (size_t j = 0; alts[j]; j++) {
            if (alts[j] == line[i])
                continue;
            memcpy(mod, line, n + 1);
            mod[i] = alts[j];
            struct ksm_kms_share s;
            accepted += ksm_kms_share_parse(mod, n, &s, &why) == 0;
        }
    }
    CHECK(accepted == 0);
    /* upper-case hex is the same share */
    for (size_t i = 0; i < n; i++)
        mod[i] = line[i] >= 'a' && line[i] <= 'f' && i > 15 ? (char)(line[i] - 32) : line[i];
    mod[n] = 0;
    struct ksm_kms_share up;
    CHECK(ksm_kms_share_parse(mod, n, &up, &why) == 0 && !memcmp(&up, &sh[0], sizeof up));
    CHECK(ksm_kms_share_parse("kasumi-share-1:3:5:1", 20, &up, &why) == -1);
    CHECK(ksm_kms_share_parse("", 0, &up, &why) == -1);

    /* shares of two backups of the same key never mix */
    CHECK(ksm_kms_share_split(key, 3, 5, other) == 0);
    struct ksm_kms_share mix[3] = {sh[0], sh[1], other[2]};
    CHECK(ksm_kms_share_combine(mix, 3, got, &why) == -1 && strstr(why, "different backups"));
    /* a duplicated share does not count twice */
    struct ksm_kms_share dup[3] = {sh[0], sh[0], sh[1]};
    CHECK(ksm_kms_share_combine(dup, 3, got, &why) == -1 && strstr(why, "threshold"));
    /* an altered share (checksum recomputed, as by a forger) fails the key check value */
    struct ksm_kms_share bad[3] = {sh[0], sh[1], sh[2]};
    bad[1].data[7] ^= 0x40;
    CHECK(ksm_kms_share_combine(bad, 3, got, &why) == -1 && strstr(why, "key check value"));
}

int main(void)
{
    test_field();
    test_split_bounds();
    test_property();
    test_text();
    return CHECK_DONE();
}
