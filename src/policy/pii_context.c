/* pii_context.c — context words: a number next to 個人番号 or "passport" is far more likely the
 * identifier than the same digits alone. Looked up only for a candidate that already has the
 * right shape, so a plain substring search over a small window is cheap enough. */
#define _GNU_SOURCE   /* memmem */
#include "policy/pii_int.h"

#include <string.h>

/* How far to look: about 30 kana/kanji before (labels precede values in forms and prose) and 15
 * after ("123456789018（個人番号）"). */
#define CONTEXT_BEFORE 96
#define CONTEXT_AFTER 48

/* Matched byte for byte (memmem is far faster than a case-folding loop), so English words come
 * in the spellings people use. Each row ends with NULL. */
static const char *const words[KSM_PII__COUNT][16] = {
    [KSM_PII_MYNUMBER] = {"個人番号", "マイナンバー", "My Number", "my number", "My number",
                          "MY NUMBER", "MyNumber", "mynumber", "Individual Number",
                          "individual number", "通知カード", NULL},
    [KSM_PII_PHONE] = {"電話", "TEL", "Tel", "tel", "Phone", "phone", "PHONE", "携帯", "FAX", "Fax",
                       "連絡先", "Mobile", "mobile", NULL},
    [KSM_PII_EMAIL] = {NULL},
    [KSM_PII_CARD] = {"カード", "Card", "card", "CARD", "クレジット", "VISA", "Visa", "Mastercard",
                      "MasterCard", "JCB", "AMEX", "Amex", NULL},
    [KSM_PII_PENSION] = {"年金", "Pension", "pension", "PENSION", NULL},   /* 基礎年金番号, 年金手帳 */
    [KSM_PII_PASSPORT] = {"パスポート", "旅券", "Passport", "passport", "PASSPORT", NULL},
};

/* Distance in bytes between [start, end) and the nearest occurrence of word in s[lo, hi). */
static long nearest(const char *s, size_t lo, size_t hi, size_t start, size_t end,
                    const char *word)
{
    size_t wn = strlen(word);
    long best = -1;
    for (const char *p = s + lo; (p = memmem(p, (size_t)(s + hi - p), word, wn)) != NULL; p++) {
        size_t i = (size_t)(p - s);
        long d = i + wn <= start ? (long)(start - (i + wn)) : i >= end ? (long)(i - end) : 0;
        if (best < 0 || d < best)
            best = d;
    }
    return best;
}

long ksm_pii_context_distance(const char *text, size_t len, size_t start, size_t end,
                              enum ksm_pii_kind kind)
{
    size_t lo = start > CONTEXT_BEFORE ? start - CONTEXT_BEFORE : 0;
    size_t hi = len - end > CONTEXT_AFTER ? end + CONTEXT_AFTER : len;
    long best = -1;
    for (const char *const *w = words[kind]; *w; w++) {
        long d = nearest(text, lo, hi, start, end, *w);
        if (d >= 0 && (best < 0 || d < best))
            best = d;
    }
    return best;
}

bool ksm_pii_context(const char *text, size_t len, size_t start, size_t end,
                     enum ksm_pii_kind kind)
{
    return ksm_pii_context_distance(text, len, start, end, kind) >= 0;
}
