/* fmt.c — see fmt.h. */
#include "core/fmt.h"

#include <string.h>

struct ksm_fmt ksm_fmt_init(char *buf, size_t cap)
{
    buf[0] = '\0';
    return (struct ksm_fmt){.p = buf, .cap = cap};
}

/* Two digits per division: a request formats ~15 numbers (token counts, costs, latencies, sizes). */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                                  "34353637383940414243444546474849505152535455565758596061626364656667"
                                  "6869707172737475767778798081828384858687888990919293949596979899";

void ksm_fmt_i64(struct ksm_fmt *f, int64_t v)
{
    char d[24];
    size_t k = sizeof d;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;   /* INT64_MIN too */
    for (; u >= 100; u /= 100) {
        k -= 2;
        memcpy(d + k, digit_pairs + 2 * (u % 100), 2);
    }
    if (u >= 10) {
        k -= 2;
        memcpy(d + k, digit_pairs + 2 * u, 2);
    } else {
        d[--k] = (char)('0' + u);
    }
    if (v < 0)
        d[--k] = '-';
    ksm_fmt_mem(f, d + k, sizeof d - k);
}

void ksm_fmt_hex(struct ksm_fmt *f, uint64_t v, unsigned min_digits)
{
    char d[16];
    size_t k = sizeof d;
    do
        d[--k] = "0123456789abcdef"[v & 15];
    while ((v >>= 4) || (k > 0 && sizeof d - k < min_digits));
    ksm_fmt_mem(f, d + k, sizeof d - k);
}

void ksm_fmt_copy(char *dst, size_t cap, const char *s)
{
    struct ksm_fmt f = ksm_fmt_init(dst, cap);
    if (s)
        ksm_fmt_str(&f, s);
}
