/* scan.c — byte-class prefixes (scan.h). Each vector loop decides sixteen bytes with a few compares
 * and one movemask; strings shorter than a block (and the three-byte scan's tail) go byte by byte
 * with the same question, so both agree (the unit test compares them with a byte-by-byte reference
 * on every offset of random and hand-picked buffers). */
#include "core/scan.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The byte classes, one byte at a time: strings shorter than a block, and every string without SSE2. */
static bool json_plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }
static bool ascii(unsigned char c) { return c < 0x80; }
static bool in_line(unsigned char c) { return c != '\r' && c != '\n'; }

static inline __attribute__((always_inline)) size_t scan_bytes(const char *s, size_t n,
                                                               bool (*keep)(unsigned char))
{
    size_t i = 0;
    while (i < n && keep((unsigned char)s[i]))
        i++;
    return i;
}

#ifdef __SSE2__
/* The first position in s[0..n), n >= 16, whose byte stops() marks in its sixteen-byte block; n
 * if none. The tail is the last sixteen bytes again, not a byte loop: most strings here (ids,
 * names, header lines) are one block and a few bytes, and the byte loop was most of a call's cost.
 * The bytes it shares with the block before stop nothing (or that block would have returned). */
static inline __attribute__((always_inline)) size_t scan_blocks(const char *s, size_t n,
                                                                int (*stops)(__m128i))
{
    size_t i = 0;
    for (; n - i >= 16; i += 16) {
        int bits = stops(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
        if (bits)
            return i + (size_t)__builtin_ctz((unsigned)bits);
    }
    if (i == n)
        return n;
    int bits = stops(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)));
    return bits ? n - 16 + (size_t)__builtin_ctz((unsigned)bits) : n;
}

/* The same classes sixteen bytes at a time: a movemask of the bytes that end the run. For JSON, a
 * signed compare below 0x20 catches the control characters and every byte >= 0x80 at once. */
static inline int json_stops(__m128i v)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                          _mm_cmplt_epi8(v, space)));
}

static inline int high_bits(__m128i v) { return _mm_movemask_epi8(v); }

static inline int line_stops(__m128i v)
{
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    return _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));
}

#define SCAN(s, n, stops, keep) ((n) >= 16 ? scan_blocks(s, n, stops) : scan_bytes(s, n, keep))
#else
#define SCAN(s, n, stops, keep) scan_bytes(s, n, keep)
#endif

size_t ksm_scan_json_plain(const char *s, size_t n) { return SCAN(s, n, json_stops, json_plain); }

size_t ksm_scan_ascii(const char *s, size_t n) { return SCAN(s, n, high_bits, ascii); }

/* One three-byte sequence at u: lead 1110xxxx, two continuations, neither overlong (E0 needs
 * A0..BF next) nor a surrogate (ED needs 80..9F next). */
static bool seq3(const unsigned char *u)
{
    if ((u[0] & 0xf0) != 0xe0 || (u[1] & 0xc0) != 0x80 || (u[2] & 0xc0) != 0x80)
        return false;
    return u[0] == 0xe0 ? u[1] >= 0xa0 : u[0] == 0xed ? u[1] < 0xa0 : true;
}

size_t ksm_scan_utf8_run3(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
#ifdef __SSE2__
    /* Five sequences in the first fifteen bytes: leads where the lead mask says F0, continuations
     * where it says C0; byte 15 is not looked at. A block with an E0 or ED lead (whose second byte
     * has a narrower range) goes the scalar way. */
    const __m128i mask = _mm_setr_epi8((char)0xf0, (char)0xc0, (char)0xc0, (char)0xf0, (char)0xc0,
                                       (char)0xc0, (char)0xf0, (char)0xc0, (char)0xc0, (char)0xf0,
                                       (char)0xc0, (char)0xc0, (char)0xf0, (char)0xc0, (char)0xc0, 0);
    const __m128i want = _mm_setr_epi8((char)0xe0, (char)0x80, (char)0x80, (char)0xe0, (char)0x80,
                                       (char)0x80, (char)0xe0, (char)0x80, (char)0x80, (char)0xe0,
                                       (char)0x80, (char)0x80, (char)0xe0, (char)0x80, (char)0x80, 0);
    const __m128i e0 = _mm_set1_epi8((char)0xe0), ed = _mm_set1_epi8((char)0xed);
    const int leads = 1 << 0 | 1 << 3 | 1 << 6 | 1 << 9 | 1 << 12;
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        int shape = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, mask), want));
        int narrow = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, e0), _mm_cmpeq_epi8(v, ed)));
        if (shape != 0xffff || (narrow & leads))
            break;
        i += 15;
    }
#endif
    while (n - i >= 3 && seq3(u + i))
        i += 3;
    return i;
}

size_t ksm_scan_line(const char *s, size_t n) { return SCAN(s, n, line_stops, in_line); }
