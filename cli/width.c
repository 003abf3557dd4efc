/* width.c — how many terminal columns a UTF-8 string takes, so that tables with Japanese names
 * line up. wcwidth(3) depends on the locale (and is 1 or -1 for CJK under the C locale that scripts
 * and cron jobs run with), so the CLI carries the few ranges it needs: East Asian Wide and
 * Fullwidth (UAX #11) count 2, combining marks and zero-width characters count 0. */
#include <stdint.h>
#include <string.h>

#include "cli.h"

struct range {
    unsigned lo, hi;
};

/* East Asian Wide (W) and Fullwidth (F) blocks, in order. */
static const struct range wide[] = {
    {0x1100, 0x115F},   /* Hangul Jamo initial consonants */
    {0x231A, 0x231B},   {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0}, {0x23F3, 0x23F3},
    {0x25FD, 0x25FE},   {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F}, {0x2693, 0x2693},
    {0x26A1, 0x26A1},   {0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5}, {0x26FA, 0x26FA},
    {0x26FD, 0x26FD},   {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728}, {0x274C, 0x274C},
    {0x274E, 0x274E},   {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797}, {0x27B0, 0x27B0},
    {0x27BF, 0x27BF},   {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55},
    {0x2E80, 0x303E},   /* CJK radicals, Kangxi, ideographic description, CJK symbols (、。「」) */
    {0x3041, 0x33FF},   /* Hiragana, Katakana, Bopomofo, Hangul compatibility, Kanbun, CJK compat */
    {0x3400, 0x4DBF},   /* CJK Extension A */
    {0x4E00, 0x9FFF},   /* CJK Unified Ideographs */
    {0xA000, 0xA4CF},   /* Yi */
    {0xA960, 0xA97F},   /* Hangul Jamo Extended-A */
    {0xAC00, 0xD7A3},   /* Hangul syllables */
    {0xF900, 0xFAFF},   /* CJK Compatibility Ideographs */
    {0xFE10, 0xFE19},   /* vertical forms */
    {0xFE30, 0xFE6F},   /* CJK compatibility forms, small form variants */
    {0xFF00, 0xFF60},   /* fullwidth ASCII (ＡＢＣ１２３) */
    {0xFFE0, 0xFFE6},   /* fullwidth signs (￥) */
    {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF},   /* Tangut, Kana supplement */
    {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
    {0x1F200, 0x1F2FF},  /* enclosed ideographic supplement (🈂) */
    {0x1F300, 0x1F64F},  /* pictographs, emoticons */
    {0x1F680, 0x1F6FF},  /* transport and map symbols */
    {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD},  /* CJK Extensions B–F, compatibility supplement */
    {0x30000, 0x3FFFD},  /* CJK Extension G and later */
};

/* Characters that take no column of their own. */
static const struct range zero[] = {
    {0x0300, 0x036F},   /* combining diacritics */
    {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},   /* zero-width space, joiners, direction marks */
    {0x202A, 0x202E}, {0x2060, 0x2064},
    {0x20D0, 0x20FF},   /* combining marks for symbols */
    {0x302A, 0x302D},   /* ideographic tone marks */
    {0x3099, 0x309A},   /* combining (han)dakuten: か + ゙ = が */
    {0xFE00, 0xFE0F},   /* variation selectors */
    {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
    {0xE0100, 0xE01EF}, /* ideographic variation selectors (IVS, e.g. 葛󠄀) */
};

static bool in_ranges(const struct range *r, size_t n, unsigned cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

int kc_char_width(unsigned cp)
{
    if (cp == 0)
        return 0;
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
        return 0;   /* controls: kc_scrub replaces them before they are printed */
    if (cp < 0x300)
        return 1;
    if (in_ranges(zero, sizeof zero / sizeof zero[0], cp))
        return 0;
    if (in_ranges(wide, sizeof wide / sizeof wide[0], cp))
        return 2;
    return 1;
}

/* Decodes one UTF-8 sequence at s; *cp = 0xFFFD and 1 byte consumed when it is malformed. */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0)
        goto bad;
    unsigned v = n == 1 ? c : c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
bad:
    *cp = 0xFFFD;
    return 1;
}

size_t kc_display_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        p += utf8_next(p, &cp);
        w += (size_t)kc_char_width(cp);
    }
    return w;
}
