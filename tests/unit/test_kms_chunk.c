/* test_kms_chunk.c — chunked object encryption: round trips at every size boundary with random
 * split points, every range of a multi-chunk object, the lengths, a known answer computed
 * independently from the documented format, and tampering (a flipped byte, a dropped last chunk,
 * swapped chunks, a chunk from another object, extra bytes) that must end in KSM_E_DATA_CORRUPT. */
#define _GNU_SOURCE
#include "check.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "kms/kms_chunk.h"
#include "kms/kms_gcm.h"

#define C KSM_CHUNK_SIZE

static uint8_t key[32], uid[16];

static uint32_t rnd(uint32_t n) { return n ? (uint32_t)(random() % n) : 0; }

static enum ksm_err to_buf(void *arg, const uint8_t *p, size_t n)
{
    ksm_buf_append(arg, p, n);
    return KSM_E_OK;
}

/* Feeds p in random pieces (some empty, some larger than a chunk). */
static enum ksm_err feed(enum ksm_err (*fn)(void *, const void *, size_t), void *s,
                         const uint8_t *p, size_t n, uint32_t chunk)
{
    enum ksm_err e = KSM_E_OK;
    for (size_t off = 0; off < n && e == KSM_E_OK;) {
        size_t piece = rnd(4) == 0 ? rnd(3 * chunk) : rnd(chunk / 2 + 2);
        piece = piece > n - off ? n - off : piece;
        e = fn(s, p + off, piece);
        off += piece;
    }
    return e;
}

static enum ksm_err enc_upd(void *s, const void *p, size_t n)
{
    return ksm_chunk_enc_update(s, p, n);
}
static enum ksm_err dec_upd(void *s, const void *p, size_t n)
{
    return ksm_chunk_dec_update(s, p, n);
}

static void encrypt(uint32_t chunk, const uint8_t *k, const uint8_t *u, const uint8_t *pt, size_t n,
                    struct ksm_buf *out)
{
    ksm_buf_reset(out);
    struct ksm_chunk_enc *e = ksm_chunk__enc_new(chunk, k, u, to_buf, out);
    CHECK(feed(enc_upd, e, pt, n, chunk) == KSM_E_OK);
    CHECK(ksm_chunk_enc_final(e) == KSM_E_OK);
    CHECK(ksm_chunk_enc_plain_len(e) == n);
    ksm_chunk_enc_free(e);
}

/* Decrypts [off, off+len) of an object of total bytes from its ciphertext ct (the whole object):
 * reads exactly what ksm_chunk__range says. */
static enum ksm_err decrypt(uint32_t chunk, const uint8_t *u, uint64_t total, const uint8_t *ct,
                            size_t ctn, uint64_t off, uint64_t len, struct ksm_buf *out)
{
    uint64_t co, cn;
    ksm_buf_reset(out);
    if (ksm_chunk__range(chunk, total, off, len, &co, &cn))
        return KSM_E_INVALID_ARGUMENT;
    if (co > ctn)
        return KSM_E_DATA_CORRUPT;
    cn = cn < ctn - co ? cn : ctn - co;
    struct ksm_chunk_dec *d = ksm_chunk__dec_new(chunk, key, u, total, off, len, to_buf, out);
    enum ksm_err e = feed(dec_upd, d, ct + co, cn, chunk);
    if (e == KSM_E_OK)
        e = ksm_chunk_dec_final(d);
    ksm_chunk_dec_free(d);
    return e;
}

static void test_lengths(void)
{
    uint64_t p;
    CHECK(ksm_chunk_ct_len(0) == 16);
    CHECK(ksm_chunk_ct_len(1) == 17);
    CHECK(ksm_chunk_ct_len(C) == C + 16);
    CHECK(ksm_chunk_ct_len(C + 1) == C + 1 + 32);
    CHECK(ksm_chunk_ct_len(10ull * C) == 10ull * (C + 16));
    uint64_t sizes[] = {0, 1, C - 1, C, C + 1, 2 * C, 7 * C + 5, 1ull << 40};
    for (size_t i = 0; i < KSM_NELEM(sizes); i++)
        CHECK(ksm_chunk_pt_len(ksm_chunk_ct_len(sizes[i]), &p) == 0 && p == sizes[i]);
    CHECK(ksm_chunk_pt_len(0, &p) == -1);
    CHECK(ksm_chunk_pt_len(15, &p) == -1);
    CHECK(ksm_chunk_pt_len(C + 16 + 5, &p) == -1);  /* a final chunk shorter than its tag */
    CHECK(ksm_chunk_pt_len(C + 16 + 16, &p) == -1); /* an empty final after a full chunk */
    CHECK(ksm_chunk_pt_len(UINT64_MAX, &p) == -1);

    uint64_t co, cn;
    CHECK(ksm_chunk_range(3 * C, C, C, &co, &cn) == 0 && co == C + 16 && cn == C + 16);
    CHECK(ksm_chunk_range(3 * C, C - 1, 2, &co, &cn) == 0 && co == 0 && cn == 2 * (C + 16));
    CHECK(ksm_chunk_range(2 * C + 10, 2 * C + 9, 1, &co, &cn) == 0 && co == 2 * (C + 16) &&
          cn == 26);
    CHECK(ksm_chunk_range(0, 0, 0, &co, &cn) == 0 && co == 0 && cn == 16);
    CHECK(ksm_chunk_range(10, 5, 6, &co, &cn) == -1);
    CHECK(ksm_chunk_range(10, 11, 0, &co, &cn) == -1);
    CHECK(ksm_chunk_range(10, 3, UINT64_MAX, &co, &cn) == -1);
}

/* The format, recomputed with plain EVP calls: chunk 0 of a 5-byte object. */
static void test_known_answer(void)
{
    uint8_t k[32], u[16], ct[5 + 16], want[5 + 16], nonce[12] = {0}, aad[25] = {0};
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)i;
    for (int i = 0; i < 16; i++)
        u[i] = (uint8_t)(0xa0 + i);
    memcpy(aad, u, 16);
    aad[24] = 1; /* index 0, final */
    int len;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k, nonce);
    EVP_EncryptUpdate(c, NULL, &len, aad, sizeof aad);
    EVP_EncryptUpdate(c, want, &len, (const uint8_t *)"hello", 5);
    EVP_EncryptFinal_ex(c, want + 5, &len);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, want + 5);
    EVP_CIPHER_CTX_free(c);
    CHECK(ksm_chunk_seal(k, u, "hello", 5, ct) == KSM_E_OK);
    CHECK(!memcmp(ct, want, sizeof ct));
    uint8_t pt[8];
    size_t n;
    CHECK(ksm_chunk_open(k, u, ct, sizeof ct, pt, &n) == KSM_E_OK && n == 5 &&
          !memcmp(pt, "hello", 5));
}

static void unhex(const char *h, uint8_t *out)
{
    for (size_t i = 0; h[2 * i]; i++)
        sscanf(h + 2 * i, "%2hhx", &out[i]);
}

/* The cipher under the chunks (ipsec-mb where the build has it): GCM test case 16 of McGrew and
 * Viega's specification (AES-256, 96-bit IV, AAD), then byte-for-byte agreement with OpenSSL over
 * lengths around every block and vector width, and a flipped bit anywhere failing with the output
 * wiped. Stored data written by either implementation must open with the other. */
static void test_gcm(void)
{
    uint8_t k[32], iv[12], a[20], p[60], c[60], t[16], out[60], tag[16];
    unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", k);
    unhex("cafebabefacedbaddecaf888", iv);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", a);
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", p);
    unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662", c);
    unhex("76fc6ece0f4e1768cddf8853bb2d551b", t);
    struct ksm_gcm *g = ksm_gcm_new(k);
    CHECK(g != NULL);
    CHECK(ksm_gcm_seal(g, iv, a, sizeof a, p, sizeof p, out, tag) == 0);
    CHECK(!memcmp(out, c, sizeof c) && !memcmp(tag, t, sizeof t));
    CHECK(ksm_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out) == 0 && !memcmp(out, p, sizeof p));
    ksm_gcm_free(g);

    size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513,
                     767, 768, 769, 1023, 1024, 1025, 4095, 4096, 65536, 65557, 1048589};
    size_t aads[] = {0, 1, 12, 16, 25, 64, 100};
    size_t maxn = 1048589;
    uint8_t *pt = ksm_xmalloc(maxn), *ct = ksm_xmalloc(maxn), *ref = ksm_xmalloc(maxn + 16),
            *back = ksm_xmalloc(maxn), aad[100], rtag[16];
    ksm_random_bytes(pt, maxn);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        size_t n = lens[i], an = aads[i % (sizeof aads / sizeof *aads)];
        ksm_random_bytes(k, sizeof k);
        ksm_random_bytes(iv, sizeof iv);
        ksm_random_bytes(aad, sizeof aad);
        int len;
        EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
        EVP_EncryptInit_ex(e, EVP_aes_256_gcm(), NULL, k, iv);
        EVP_EncryptUpdate(e, NULL, &len, aad, (int)an);
        EVP_EncryptUpdate(e, ref, &len, pt, (int)n);
        EVP_EncryptFinal_ex(e, ref + n, &len);
        EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, rtag);
        EVP_CIPHER_CTX_free(e);
        g = ksm_gcm_new(k);
        CHECK(ksm_gcm_seal(g, iv, aad, an, pt, n, ct, tag) == 0);
        if (memcmp(ct, ref, n) || memcmp(tag, rtag, 16))
            fprintf(stderr, "gcm: differs from OpenSSL at length %zu, aad %zu\n", n, an);
        CHECK(!memcmp(ct, ref, n) && !memcmp(tag, rtag, 16));
        CHECK(ksm_gcm_open(g, iv, aad, an, ref, n, rtag, back) == 0 && !memcmp(back, pt, n));
        if (n > 0) { /* a flipped ciphertext bit: refused, nothing of the plaintext left */
            size_t at = (size_t)rnd((uint32_t)n);
            ct[at] ^= 0x10;
            CHECK(ksm_gcm_open(g, iv, aad, an, ct, n, tag, back) == -1);
            size_t nz = 0;
            for (size_t j = 0; j < n; j++)
                nz += back[j] != 0;
            CHECK(nz == 0);
            ct[at] ^= 0x10;
        }
        tag[rnd(16)] ^= 1;
        CHECK(ksm_gcm_open(g, iv, aad, an, ct, n, tag, back) == -1);
        if (an > 0) {
            aad[rnd((uint32_t)an)] ^= 0x80;
            CHECK(ksm_gcm_open(g, iv, aad, an, ct, n, rtag, back) == -1);
        }
        ksm_gcm_free(g);
    }
    free(pt);
    free(ct);
    free(ref);
    free(back);
    printf("gcm: %s\n", ksm_gcm_impl());
}

static void test_round_trips(void)
{
    struct ksm_buf ct = KSM_BUF_INIT, pt = KSM_BUF_INIT;
    size_t sizes[] = {0, 1, 100, C - 1, C, C + 1, 2 * C, 5 * C + 123};
    size_t maxn = 5 * C + 123;
    uint8_t *plain = ksm_xmalloc(maxn);
    ksm_random_bytes(plain, maxn);
    for (size_t i = 0; i < KSM_NELEM(sizes); i++) {
        size_t n = sizes[i];
        for (int rep = 0; rep < 4; rep++) {
            encrypt(C, key, uid, plain, n, &ct);
            CHECK(ct.len == ksm_chunk_ct_len(n));
            CHECK(n < 16 || !memmem(ct.data, ct.len, plain, 16));
            CHECK(decrypt(C, uid, n, (uint8_t *)ct.data, ct.len, 0, n, &pt) == KSM_E_OK);
            CHECK(pt.len == n && (n == 0 || !memcmp(pt.data, plain, n)));
        }
        /* the one-shot forms agree with the streams */
        uint8_t *ct2 = ksm_xmalloc(ksm_chunk_ct_len(n)), *pt2 = ksm_xmalloc(n + 1);
        size_t got;
        CHECK(ksm_chunk_seal(key, uid, plain, n, ct2) == KSM_E_OK);
        CHECK(!memcmp(ct2, ct.data, ct.len));
        CHECK(ksm_chunk_open(key, uid, ct2, ct.len, pt2, &got) == KSM_E_OK && got == n &&
              !memcmp(pt2, plain, n));
        free(ct2);
        free(pt2);
    }
    free(plain);
    ksm_buf_free(&ct);
    ksm_buf_free(&pt);
}

/* Every [a, b] of a multi-chunk object with small chunks (all boundaries), then random ranges at
 * the real chunk size. */
static void test_ranges(void)
{
    struct ksm_buf ct = KSM_BUF_INIT, pt = KSM_BUF_INIT;
    uint8_t plain[103];
    ksm_random_bytes(plain, sizeof plain);
    const uint32_t chunk = 16;
    int bad = 0, total = 0;
    encrypt(chunk, key, uid, plain, sizeof plain, &ct);
    for (size_t a = 0; a < sizeof plain; a++)
        for (size_t b = a; b < sizeof plain; b++) {
            total++;
            enum ksm_err e =
                decrypt(chunk, uid, sizeof plain, (uint8_t *)ct.data, ct.len, a, b - a + 1, &pt);
            bad += e != KSM_E_OK || pt.len != b - a + 1 || memcmp(pt.data, plain + a, pt.len);
        }
    CHECK(total == 103 * 104 / 2 && bad == 0);
    CHECK(decrypt(chunk, uid, sizeof plain, (uint8_t *)ct.data, ct.len, 50, 0, &pt) == KSM_E_OK &&
          pt.len == 0);

    size_t n = 4 * C + 777;
    uint8_t *big = ksm_xmalloc(n);
    ksm_random_bytes(big, n);
    encrypt(C, key, uid, big, n, &ct);
    bad = 0;
    for (int i = 0; i < 300; i++) {
        size_t a = i < 8 ? (size_t)(i / 2) * C - (i % 2) + (i < 2) : rnd((uint32_t)n);
        size_t b = a + rnd((uint32_t)(n - a));
        size_t r = rnd(3);
        if (i % 3 == 0)
            b = a + r < n ? a + r : n - 1; /* short ranges */
        enum ksm_err e = decrypt(C, uid, n, (uint8_t *)ct.data, ct.len, a, b - a + 1, &pt);
        bad += e != KSM_E_OK || pt.len != b - a + 1 || memcmp(pt.data, big + a, pt.len);
    }
    CHECK(bad == 0);
    CHECK(decrypt(C, uid, n, (uint8_t *)ct.data, ct.len, n - 1, 1, &pt) == KSM_E_OK &&
          pt.len == 1 && (uint8_t)pt.data[0] == big[n - 1]);
    free(big);
    ksm_buf_free(&ct);
    ksm_buf_free(&pt);
}

static void test_tampering(void)
{
    struct ksm_buf ct = KSM_BUF_INIT, pt = KSM_BUF_INIT, other = KSM_BUF_INIT;
    uint8_t plain[100], uid2[16], *c;
    const uint32_t chunk = 16; /* 7 chunks: 6 full, a final of 4 */
    ksm_random_bytes(plain, sizeof plain);
    ksm_random_bytes(uid2, sizeof uid2);
    encrypt(chunk, key, uid, plain, sizeof plain, &ct);
    c = (uint8_t *)ct.data;
    size_t n = ct.len, full = chunk + 16;

    int ok = 0;
    for (size_t i = 0; i < n; i++) { /* a flipped bit anywhere */
        c[i] ^= 0x01;
        ok += decrypt(chunk, uid, sizeof plain, c, n, 0, sizeof plain, &pt) == KSM_E_DATA_CORRUPT;
        c[i] ^= 0x01;
    }
    CHECK(ok == (int)n);
    CHECK(decrypt(chunk, uid, sizeof plain, c, n, 0, sizeof plain, &pt) == KSM_E_OK);

    /* the last chunk dropped: short read, or metadata shortened to match (final flag) */
    CHECK(decrypt(chunk, uid, sizeof plain, c, n - 20, 0, sizeof plain, &pt) == KSM_E_DATA_CORRUPT);
    CHECK(decrypt(chunk, uid, 96, c, 6 * full, 0, 96, &pt) == KSM_E_DATA_CORRUPT);
    CHECK(decrypt(chunk, uid, 96, c, 6 * full, 80, 16, &pt) == KSM_E_DATA_CORRUPT);
    /* a truncated range read */
    CHECK(decrypt(chunk, uid, sizeof plain, c, 2 * full + 3, 0, 40, &pt) == KSM_E_DATA_CORRUPT);

    /* two chunks swapped */
    uint8_t *sw = ksm_xmalloc(n);
    memcpy(sw, c, n);
    memcpy(sw + full, c + 2 * full, full);
    memcpy(sw + 2 * full, c + full, full);
    CHECK(decrypt(chunk, uid, sizeof plain, sw, n, 0, sizeof plain, &pt) == KSM_E_DATA_CORRUPT);
    CHECK(decrypt(chunk, uid, sizeof plain, sw, n, 20, 5, &pt) == KSM_E_DATA_CORRUPT);

    /* a chunk from another object under the same key (so only the uid tells them apart) */
    encrypt(chunk, key, uid2, plain, sizeof plain, &other);
    memcpy(sw, c, n);
    memcpy(sw + 3 * full, other.data + 3 * full, full);
    CHECK(decrypt(chunk, uid, sizeof plain, sw, n, 0, sizeof plain, &pt) == KSM_E_DATA_CORRUPT);
    CHECK(decrypt(chunk, uid2, sizeof plain, (uint8_t *)other.data, other.len, 0, sizeof plain,
                  &pt) == KSM_E_OK);
    free(sw);

    /* bytes past the range, straight to the decryptor */
    struct ksm_chunk_dec *d = ksm_chunk__dec_new(chunk, key, uid, sizeof plain, 0, 10, to_buf, &pt);
    ksm_buf_reset(&pt);
    CHECK(ksm_chunk_dec_update(d, c, full + 1) == KSM_E_DATA_CORRUPT);
    CHECK(pt.len == 10); /* the verified chunk was emitted before the error */
    CHECK(ksm_chunk_dec_final(d) == KSM_E_DATA_CORRUPT);
    ksm_chunk_dec_free(d);

    /* the empty object: one tag, authenticated */
    encrypt(KSM_CHUNK_SIZE, key, uid, plain, 0, &ct);
    CHECK(ct.len == 16);
    CHECK(decrypt(KSM_CHUNK_SIZE, uid, 0, (uint8_t *)ct.data, ct.len, 0, 0, &pt) == KSM_E_OK);
    CHECK(decrypt(KSM_CHUNK_SIZE, uid2, 0, (uint8_t *)ct.data, ct.len, 0, 0, &pt) ==
          KSM_E_DATA_CORRUPT);
    ct.data[3] ^= 1;
    CHECK(decrypt(KSM_CHUNK_SIZE, uid, 0, (uint8_t *)ct.data, ct.len, 0, 0, &pt) ==
          KSM_E_DATA_CORRUPT);
    CHECK(decrypt(KSM_CHUNK_SIZE, uid, 0, (uint8_t *)ct.data, 0, 0, 0, &pt) == KSM_E_DATA_CORRUPT);

    /* a real-size object: random flips, a wrong key */
    size_t big = 3 * C + 5;
    uint8_t *bp = ksm_xmalloc(big), key2[32];
    ksm_random_bytes(bp, big);
    encrypt(C, key, uid, bp, big, &ct);
    for (int i = 0; i < 20; i++) {
        size_t at = rnd((uint32_t)ct.len);
        ct.data[at] ^= (char)(1 + rnd(255));
        CHECK(decrypt(C, uid, big, (uint8_t *)ct.data, ct.len, 0, big, &pt) == KSM_E_DATA_CORRUPT);
        encrypt(C, key, uid, bp, big, &ct);
    }
    size_t got;
    ksm_random_bytes(key2, sizeof key2);
    CHECK(ksm_chunk_open(key2, uid, ct.data, ct.len, bp, &got) == KSM_E_DATA_CORRUPT && got == 0);
    CHECK(ksm_chunk_open(key, uid, ct.data, ct.len - 1, bp, &got) == KSM_E_DATA_CORRUPT);
    free(bp);
    ksm_buf_free(&ct);
    ksm_buf_free(&pt);
    ksm_buf_free(&other);
}

static enum ksm_err refuse(void *arg, const uint8_t *p, size_t n) { return KSM_E_UNAVAILABLE; }

/* update_into: the same bytes as emit for any range and any feeding, decrypted in place; a bad tag
 * counts none of its chunk and leaves none of its unverified plaintext behind; a short buffer is
 * refused. */
static void test_update_into(void)
{
    struct ksm_buf ct = KSM_BUF_INIT;
    size_t n = 5 * C + 333;
    uint8_t *big = ksm_xmalloc(n), *out = ksm_xmalloc(n);
    ksm_random_bytes(big, n);
    encrypt(C, key, uid, big, n, &ct);
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        size_t a = i < 4 ? (size_t)i * C : rnd((uint32_t)n);
        size_t len = 1 + rnd((uint32_t)(n - a));
        uint64_t co, cn;
        CHECK(ksm_chunk__range(C, n, a, len, &co, &cn) == 0);
        struct ksm_chunk_dec *d = ksm_chunk__dec_new(C, key, uid, n, a, len, refuse, NULL);
        size_t got = 0, fed = 0;
        enum ksm_err e = KSM_E_OK;
        while (e == KSM_E_OK && fed < cn) {
            size_t piece = 1 + rnd(3 * (C + 16));
            piece = piece < cn - fed ? piece : cn - fed;
            size_t w = 0;
            e = ksm_chunk_dec_update_into(d, (uint8_t *)ct.data + co + fed, piece, out + got,
                                          n - got, &w);
            got += w;
            fed += piece;
        }
        if (e == KSM_E_OK)
            e = ksm_chunk_dec_final(d);
        ksm_chunk_dec_free(d);
        bad += e != KSM_E_OK || got != len || memcmp(out, big + a, len);
    }
    CHECK(bad == 0);

    /* chunk 2 tampered: chunks 0 and 1 come out, chunk 2's slot holds no plaintext */
    ((uint8_t *)ct.data)[2 * (C + 16) + 5] ^= 1;
    memset(out, 0xAA, n);
    struct ksm_chunk_dec *d = ksm_chunk__dec_new(C, key, uid, n, 0, n, refuse, NULL);
    size_t w = 99;
    CHECK(ksm_chunk_dec_update_into(d, ct.data, ct.len, out, n, &w) == KSM_E_DATA_CORRUPT);
    CHECK(w == 2 * C && memcmp(out, big, w) == 0);
    size_t dirty = 0;
    for (size_t i = 2 * C; i < 3 * C; i++)
        dirty += out[i] != 0;
    CHECK(dirty == 0);
    ksm_chunk_dec_free(d);
    ((uint8_t *)ct.data)[2 * (C + 16) + 5] ^= 1;

    d = ksm_chunk__dec_new(C, key, uid, n, 0, n, refuse, NULL);
    CHECK(ksm_chunk_dec_update_into(d, ct.data, ct.len, out, C + 1, &w) == KSM_E_INTERNAL);
    CHECK(w == C);
    ksm_chunk_dec_free(d);
    free(big);
    free(out);
    ksm_buf_free(&ct);
}

static void test_emit_errors(void)
{
    uint8_t buf[3 * C];
    memset(buf, 7, sizeof buf);
    struct ksm_chunk_enc *e = ksm_chunk_enc_new(key, uid, refuse, NULL);
    CHECK(ksm_chunk_enc_update(e, buf, sizeof buf) == KSM_E_UNAVAILABLE);
    CHECK(ksm_chunk_enc_final(e) == KSM_E_UNAVAILABLE);
    ksm_chunk_enc_free(e);
    CHECK(ksm_chunk_dec_new(key, uid, 10, 5, 6, refuse, NULL) == NULL);
    CHECK(ksm_chunk__enc_new(0, key, uid, refuse, NULL) == NULL);
}

int main(void)
{
    srandom(12345);
    ksm_random_bytes(key, sizeof key);
    ksm_random_bytes(uid, sizeof uid);
    test_lengths();
    test_gcm();
    test_known_answer();
    test_round_trips();
    test_ranges();
    test_tampering();
    test_update_into();
    test_emit_errors();
    return CHECK_DONE();
}
