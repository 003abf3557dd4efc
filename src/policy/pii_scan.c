/* pii_scan.c — the one pass over a prompt: skip to the next byte that can start an identifier
 * (a digit, a full-width digit's lead byte, '@'), read the run of digit groups there, check its
 * boundaries, and hand it (or, for runs joined by spaces, its space-separated windows) to the
 * detectors; the best confidence wins. Every run is consumed whole, so a number is never found
 * inside a longer one: a 13-digit run holds no 12-digit My Number. */
#include "policy/pii_int.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Detectors of numeric candidates, tried in this order; ties go to the earlier row. */
static const struct {
    enum ksm_pii_kind kind;
    pii_detect_fn fn;
} detectors[] = {
    {KSM_PII_MYNUMBER, ksm_pii_detect_mynumber},
    {KSM_PII_CARD, ksm_pii_detect_card},
    {KSM_PII_PHONE, ksm_pii_detect_phone},
    {KSM_PII_PENSION, ksm_pii_detect_pension},
    {KSM_PII_PASSPORT, ksm_pii_detect_passport},
};

/* A run: up to PII_MAX_GROUPS digit groups and the separators between them. */
struct run {
    int n;
    size_t gs[PII_MAX_GROUPS], ge[PII_MAX_GROUPS];   /* bytes of each group */
    int gn[PII_MAX_GROUPS];                          /* digits in each group */
    enum pii_sep sep[PII_MAX_GROUPS];                /* sep[g]: before group g (g >= 1) */
};

enum left { LEFT_OK, LEFT_REJECT, LEFT_PLUS, LEFT_LETTERS };

struct scan {
    const char *text;
    size_t len;
    struct ksm_pii_match *out;
    size_t max, count;
    size_t last_end;   /* matches never overlap: nothing starts before this */
};

/* ---- finding the next interesting byte ------------------------------------------------------- */

static inline bool is_trigger(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '@' || c == 0xEF;
}

/* Index of the first digit, '@' or full-width digit (EF BC 90..99) at or after i; len if none
 * (an 0xEF the vector loop cannot see whole, near the end, is left to the caller's check). Most
 * prompt bytes are kana, kanji and letters, so 16 bytes at a time is where the scanner's speed
 * comes from; a full-width digit is told from the other full-width forms (（）：！？, which
 * Japanese prose is full of) in the same step, from the two bytes after its lead. */
static size_t next_trigger(const unsigned char *s, size_t i, size_t len)
{
#if defined(__SSE2__)
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    const __m128i at = _mm_set1_epi8('@'), ef = _mm_set1_epi8((char)0xEF);
    const __m128i bc = _mm_set1_epi8((char)0xBC), fw0 = _mm_set1_epi8((char)0x90);
    for (; i + 18 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i x1 = _mm_loadu_si128((const __m128i *)(s + i + 1));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(s + i + 2));
        __m128i d = _mm_sub_epi8(x, zero), d2 = _mm_sub_epi8(x2, fw0);
        __m128i isdig = _mm_cmpeq_epi8(_mm_min_epu8(d, nine), d);   /* x - '0' <= 9, unsigned */
        __m128i fwdig = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(x, ef), _mm_cmpeq_epi8(x1, bc)),
                                      _mm_cmpeq_epi8(_mm_min_epu8(d2, nine), d2));
        __m128i hit = _mm_or_si128(_mm_or_si128(isdig, fwdig), _mm_cmpeq_epi8(x, at));
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    for (; i < len; i++)
        if (is_trigger(s[i]))
            return i;
    return len;
}

/* ---- reading a run ----------------------------------------------------------------------------- */

/* Width of a group separator at s[0..avail) and its class; 0 if none there. Called at the end
 * of every digit group, so it switches on the lead byte instead of walking a table. */
int ksm_pii__separator_at(const unsigned char *s, size_t avail, enum pii_sep *cls)
{
    *cls = PII_SEP_HYPHEN;
    switch (s[0]) {
    case '-':
        return 1;
    case ' ':
        *cls = PII_SEP_SPACE;
        return 1;
    case 0xE3:   /* U+3000 ideographic space; U+30FC ー, which IMEs give for '-' */
        if (avail < 3)
            return 0;
        if (s[1] == 0x80 && s[2] == 0x80) {
            *cls = PII_SEP_SPACE;
            return 3;
        }
        return s[1] == 0x83 && s[2] == 0xBC ? 3 : 0;
    case 0xEF:   /* U+FF0D full-width hyphen-minus, U+FF70 half-width ｰ */
        return avail >= 3 && ((s[1] == 0xBC && s[2] == 0x8D) || (s[1] == 0xBD && s[2] == 0xB0))
                   ? 3
                   : 0;
    case 0xE2:   /* U+2010..U+2015 hyphens and dashes, U+2212 minus sign */
        return avail >= 3 && ((s[1] == 0x80 && s[2] >= 0x90 && s[2] <= 0x95) ||
                              (s[1] == 0x88 && s[2] == 0x92))
                   ? 3
                   : 0;
    default:
        return 0;
    }
}

/* Reads digit groups from i (a digit). Returns the index just past the run. Groups beyond
 * PII_MAX_GROUPS end the run: what follows starts a new one. */
static size_t read_run(const unsigned char *s, size_t len, size_t i, struct run *r)
{
    r->n = 0;
    for (;;) {
        int g = r->n++, w;
        r->gs[g] = i;
        r->gn[g] = 0;
        for (;;) {   /* ASCII digits in a tight loop; full-width ones the general way */
            while (i < len && (unsigned)(s[i] - '0') <= 9) {
                r->gn[g]++;
                i++;
            }
            if (i >= len || pii_digit_at(s + i, len - i, &w) < 0)
                break;
            r->gn[g]++;
            i += (size_t)w;
        }
        r->ge[g] = i;
        if (r->n == PII_MAX_GROUPS || i >= len)
            return i;
        enum pii_sep cls;
        int sw = ksm_pii__separator_at(s + i, len - i, &cls);
        if (!sw || pii_digit_at(s + i + sw, len - i - (size_t)sw, &w) < 0)
            return i;
        r->sep[g + 1] = cls;
        i += (size_t)sw;
    }
}

/* ---- boundaries -------------------------------------------------------------------------------- */

/* A full-width letter or digit ends at s[i-1] (U+FF10..FF19, U+FF21..FF3A, U+FF41..FF5A). */
static bool fullwidth_alnum_before(const unsigned char *s, size_t i)
{
    if (i < 3 || s[i - 3] != 0xEF)
        return false;
    unsigned char b = s[i - 2], c = s[i - 1];
    return (b == 0xBC && ((c >= 0x90 && c <= 0x99) || (c >= 0xA1 && c <= 0xBA))) ||
           (b == 0xBD && c >= 0x81 && c <= 0x9A);
}

static bool fullwidth_alnum_at(const unsigned char *s, size_t i, size_t len)
{
    return i + 3 <= len && fullwidth_alnum_before(s, i + 3);
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* What precedes a run starting at i: part of a longer token (REJECT), a '+' (international
 * phone form), exactly two capital letters (passport form), or a clean boundary. */
static enum left left_boundary(const unsigned char *s, size_t i)
{
    if (i == 0)
        return LEFT_OK;
    unsigned char b = s[i - 1];
    if (pii_is_alpha(b)) {
        size_t j = i;
        while (j > 0 && pii_is_alpha(s[j - 1]))
            j--;
        bool caps = i - j == 2 && s[j] <= 'Z' && s[j + 1] <= 'Z';
        bool clean = j == 0 || !(is_digit(s[j - 1]) || s[j - 1] == '_' || s[j - 1] == '-' ||
                                 fullwidth_alnum_before(s, j));
        return caps && clean ? LEFT_LETTERS : LEFT_REJECT;
    }
    if (b == '+' || (i >= 3 && s[i - 3] == 0xEF && s[i - 2] == 0xBC && s[i - 1] == 0x8B))
        return LEFT_PLUS;
    if (is_digit(b) || b == '@' || b == '_' || fullwidth_alnum_before(s, i))
        return LEFT_REJECT;
    /* "AB-123…", "x/123…": a compound code. "No.123…" is fine, "1.123…" is a decimal. */
    if ((b == '-' || b == '/') && i >= 2 && pii_is_alnum(s[i - 2]))
        return LEFT_REJECT;
    if ((b == '.' || b == ',') && i >= 2 && is_digit(s[i - 2]))
        return LEFT_REJECT;
    return LEFT_OK;
}

static bool right_boundary_ok(const unsigned char *s, size_t e, size_t len)
{
    if (e >= len)
        return true;
    unsigned char c = s[e];
    if (pii_is_alnum(c) || c == '@' || c == '_' || fullwidth_alnum_at(s, e, len))
        return false;
    if ((c == '-' || c == '/') && e + 1 < len && pii_is_alnum(s[e + 1]))
        return false;
    if ((c == '.' || c == ',') && e + 1 < len && is_digit(s[e + 1]))
        return false;
    return true;
}

/* ---- candidates and matches -------------------------------------------------------------------- */

static void emit(struct scan *sc, enum ksm_pii_kind kind, size_t start, size_t end, int conf)
{
    if (start < sc->last_end)
        return;   /* cannot happen by construction; keeps the output's order a guarantee */
    if (sc->count < sc->max)
        sc->out[sc->count] = (struct ksm_pii_match){kind, start, end, conf, 0};
    sc->count++;
    sc->last_end = end;
}

/* Fills n from groups [i, j] of r; false if no identifier can have that shape. */
static bool build_candidate(const struct scan *sc, const struct run *r, int i, int j,
                            struct pii_num *n)
{
    const unsigned char *s = (const unsigned char *)sc->text;
    n->text = sc->text;
    n->len = sc->len;
    n->start = r->gs[i];
    n->end = r->ge[j];
    n->ndigits = 0;
    n->ngroups = j - i + 1;
    n->sep = PII_SEP_NONE;
    n->plus = n->letters = false;
    for (int g = i; g <= j; g++) {
        if (r->gn[g] > PII_MAX_GROUP || n->ndigits + r->gn[g] > PII_MAX_DIGITS)
            return false;
        n->group[g - i] = r->gn[g];
        if (g > i && n->sep != r->sep[g])
            n->sep = n->sep == PII_SEP_NONE ? r->sep[g] : PII_SEP_MIXED;
        for (size_t p = r->gs[g]; p < r->ge[g];) {
            int w = 1, d = pii_digit_at(s + p, r->ge[g] - p, &w);
            n->digits[n->ndigits++] = (char)('0' + d);
            p += (size_t)w;
        }
    }
    n->digits[n->ndigits] = '\0';
    return true;
}

/* Runs the detectors on groups [i, j]; emits the best and returns true, or returns false. */
static bool try_window(struct scan *sc, const struct run *r, int i, int j, enum left left)
{
    struct pii_num n;
    if (!build_candidate(sc, r, i, j, &n))
        return false;
    if (i == 0 && left == LEFT_LETTERS) {
        n.letters = true;
        n.start -= 2;
    }
    n.plus = i == 0 && left == LEFT_PLUS;
    int best = 0;
    enum ksm_pii_kind kind = KSM_PII_MYNUMBER;
    for (size_t k = 0; k < sizeof detectors / sizeof detectors[0]; k++) {
        int c = detectors[k].fn(&n);
        if (c > best) {
            best = c;
            kind = detectors[k].kind;
        }
    }
    if (!best)
        return false;
    size_t start = n.start;
    if (n.plus && kind == KSM_PII_PHONE) /* the '+' belongs to the number */
        start -= sc->text[start - 1] == '+' ? 1 : 3;
    emit(sc, kind, start, n.end, best);
    return true;
}

/* A run joined only partly by spaces may hold several identifiers ("03-1234-5678 090-1234-5678")
 * or a number after an unrelated one ("第2 123456789018"). So: the whole run first, else windows
 * cut at spaces, leftmost-longest. A window that is itself space-joined is taken only as the whole
 * run, so "1234 5678 9018 3456" (a card-like number) never yields the My Number "1234 5678 9018". */
static void classify_run(struct scan *sc, const struct run *r, enum left left, bool right_ok)
{
    int i = 0;
    while (i < r->n) {
        bool found = false;
        for (int j = r->n - 1; j >= i && !found; j--) {
            bool whole = i == 0 && j == r->n - 1;
            if (j < r->n - 1 && r->sep[j + 1] != PII_SEP_SPACE)
                continue;   /* windows end at a space */
            if ((i == 0 && left == LEFT_REJECT) || (j == r->n - 1 && !right_ok))
                continue;
            bool spaced = false;
            for (int g = i + 1; g <= j; g++)
                spaced |= r->sep[g] == PII_SEP_SPACE;
            if (spaced && !whole)
                continue;
            if (try_window(sc, r, i, j, left)) {
                found = true;
                i = j + 1;
            }
        }
        if (found)
            continue;
        do
            i++;
        while (i < r->n && r->sep[i] != PII_SEP_SPACE);
    }
}

size_t ksm_pii_scan(const char *text, size_t len, struct ksm_pii_match *out, size_t max)
{
    struct scan sc = {text, len, out, out ? max : 0, 0, 0};
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while ((i = next_trigger(s, i, len)) < len) {
        int w;
        if (s[i] == '@') {
            size_t start, end;
            int conf = ksm_pii_detect_email(text, len, i, sc.last_end, &start, &end);
            if (conf) {
                emit(&sc, KSM_PII_EMAIL, start, end, conf);
                i = end;
            } else {
                i++;
            }
            continue;
        }
        if (pii_digit_at(s + i, len - i, &w) < 0) {
            i++;   /* 0xEF leading something other than a full-width digit */
            continue;
        }
        struct run r;
        size_t end = read_run(s, len, i, &r);
        int digits = 0;
        for (int g = 0; g < r.n; g++)
            digits += r.gn[g];
        /* most runs in prose are dates, amounts and counts: shorter than any identifier (the
         * shortest, a passport number, has 7 digits), so none of its windows can be one */
        if (digits >= PII_MIN_DIGITS)
            classify_run(&sc, &r, left_boundary(s, i), right_boundary_ok(s, end, len));
        i = end;
    }
    return sc.count;
}
