/* pii_context.c — context words: a number next to 個人番号 or "passport" is far more likely the
 * identifier than the same digits alone. Looked up only for a candidate that already has the
 * right shape, so a plain substring search over a small window is cheap enough. */
#include "policy/pii_int.h"

#include <stdlib.h>
#include <string.h>

/* Matched byte for byte (no case folding), so English words come
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

/* by_first[kind][b]: the words of kind that begin with byte b, as indexes into words[kind] ending
 * with -1; wlen: each word's length. Built once, before main. */
static signed char by_first[KSM_PII__COUNT][256][8];
static size_t wlen[KSM_PII__COUNT][16];

__attribute__((constructor)) static void index_words(void)
{
    memset(by_first, -1, sizeof by_first);
    for (int k = 0; k < KSM_PII__COUNT; k++)
        for (int w = 0; words[k][w]; w++) {
            signed char *l = by_first[k][(unsigned char)words[k][w][0]];
            while (*l >= 0)
                l++;
            if (l == by_first[k][(unsigned char)words[k][w][0]] + 7)
                abort();   /* a list above with more than 7 words of one first byte: widen [8] */
            *l = (signed char)w;
            wlen[k][w] = strlen(words[k][w]);
        }
}

/* The distance in bytes between [start, end) and the nearest word of kind wholly inside [lo, hi).
 * One pass over the window: a byte that starts no word of the kind (most of them) costs a table
 * look-up, one that does is compared with just the words it starts; this was a memmem per word,
 * whose set-up cost more than the search on so few bytes. */
long ksm_pii_context_distance(const char *text, size_t len, size_t start, size_t end,
                              enum ksm_pii_kind kind)
{
    size_t lo = start > PII_CONTEXT_BEFORE ? start - PII_CONTEXT_BEFORE : 0;
    size_t hi = len - end > PII_CONTEXT_AFTER ? end + PII_CONTEXT_AFTER : len;
    long best = -1;
    for (size_t i = lo; i < hi; i++) {
        for (const signed char *w = by_first[kind][(unsigned char)text[i]]; *w >= 0; w++) {
            size_t wn = wlen[kind][*w];
            if (wn > hi - i || memcmp(text + i, words[kind][*w], wn))
                continue;
            long d = i + wn <= start ? (long)(start - (i + wn)) : i >= end ? (long)(i - end) : 0;
            if (best < 0 || d < best)
                best = d;
        }
    }
    return best;
}

bool ksm_pii_context(const char *text, size_t len, size_t start, size_t end,
                     enum ksm_pii_kind kind)
{
    return ksm_pii_context_distance(text, len, start, end, kind) >= 0;
}
