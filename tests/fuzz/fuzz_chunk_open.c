/* fuzz_chunk_open.c — arbitrary bytes as stored object ciphertext: decryption must fail cleanly
 * (KSM_E_DATA_CORRUPT or a refused range) or succeed, never crash, read out of bounds or emit more
 * than the range asked for.
 *
 * Input: byte 0 picks the chunk size (0: the real 64 KiB, else 1..255) and the piece size the
 * ciphertext is fed in; bytes 1..3 the object's plaintext length (when the ciphertext length is not
 * a valid one) and bytes 4..9 the range; the rest is the ciphertext. The first seed is a valid
 * encryption under the fixed key and uid below, so mutations of it reach the tag checks of every
 * chunk position. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms/kms_chunk.h"

static const uint8_t key[32] = "kasumi fuzz key, not a secret!!";
static const uint8_t uid[16] = "fuzz object uid";

struct sink {
    uint64_t got, want;
};

static enum ksm_err count(void *arg, const uint8_t *p, size_t n)
{
    struct sink *s = arg;
    volatile uint8_t x = 0;
    for (size_t i = 0; i < n; i++) /* touch every byte so ASan checks the pointer */
        x ^= p[i];
    (void)x;
    s->got += n;
    if (s->got > s->want)
        abort(); /* emitted more than the range */
    return KSM_E_OK;
}

static uint32_t rd(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 10)
        return 0;
    uint32_t chunk = data[0] & 0x1f ? (data[0] & 0x1f) * 8 : KSM_CHUNK_SIZE;
    size_t piece = (data[0] >> 5) == 0 ? SIZE_MAX : (size_t)1 << (data[0] >> 5) * 2;
    const uint8_t *ct = data + 10;
    size_t n = size - 10;
    uint64_t total;
    if (ksm_chunk__pt_len(chunk, n, &total))
        total = rd(data + 1, 3);
    uint64_t off = total ? rd(data + 4, 3) % (total + 1) : 0;
    uint64_t len = total - off ? rd(data + 7, 3) % (total - off + 1) : 0;
    if (data[7] & 0x80)
        len = total - off;

    uint64_t co, cn;
    if (ksm_chunk__range(chunk, total, off, len, &co, &cn))
        abort(); /* a range inside the object is always accepted */
    struct sink s = {0, len};
    struct ksm_chunk_dec *d = ksm_chunk__dec_new(chunk, key, uid, total, off, len, count, &s);
    if (!d)
        abort();
    enum ksm_err e = KSM_E_OK;
    const uint8_t *p = co < n ? ct + co : ct + n;
    size_t left = co < n ? n - (size_t)co : 0;
    while (left && e == KSM_E_OK) {
        size_t k = left < piece ? left : piece;
        e = ksm_chunk_dec_update(d, p, k);
        p += k;
        left -= k;
    }
    if (e == KSM_E_OK)
        e = ksm_chunk_dec_final(d);
    ksm_chunk_dec_free(d);
    if (e != KSM_E_OK && e != KSM_E_DATA_CORRUPT)
        abort();
    if (e == KSM_E_OK && s.got != len)
        abort(); /* success must mean exactly the range */

    if (chunk == KSM_CHUNK_SIZE) { /* the one-shot form on the same bytes */
        uint8_t *out = malloc(n ? n : 1);
        size_t got;
        e = ksm_chunk_open(key, uid, ct, n, out, &got);
        if (e != KSM_E_OK && e != KSM_E_DATA_CORRUPT)
            abort();
        free(out);
    }
    return 0;
}
