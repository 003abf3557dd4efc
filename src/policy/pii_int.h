/* pii_int.h — what the PII scanner's files share: the numeric candidate that the scanner hands
 * to each detector, the character classes, and the context-word lookup. Not for other subsystems. */
#ifndef KSM_PII_INT_H
#define KSM_PII_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pii.h"

#define PII_MAX_GROUPS 8    /* a run of more groups is split: no identifier has more than 6 */
#define PII_MAX_GROUP 24    /* a longer digit group is no identifier at all */
#define PII_MAX_DIGITS 24   /* a window of more digits is no identifier either */
#define PII_MIN_DIGITS 7    /* nor is one of fewer: the shortest, a passport number, has 7 */

/* How far context words are looked for around a value: about 30 kana/kanji before (labels precede
 * values in forms and prose) and 15 after ("123456789018（個人番号）"). Redaction keeps as much. */
#define PII_CONTEXT_BEFORE 96
#define PII_CONTEXT_AFTER 48

/* How the digit groups of a candidate are joined. */
enum pii_sep {
    PII_SEP_NONE,     /* one group */
    PII_SEP_HYPHEN,   /* '-', U+FF0D, U+2010..U+2015, U+2212, 'ー' (IMEs type it for '-'), 'ｰ' */
    PII_SEP_SPACE,    /* ' ' or U+3000 */
    PII_SEP_MIXED     /* both: never an identifier's format */
};

/* A candidate: consecutive digit groups (ASCII or full-width digits, one separator between
 * groups) that the scanner found with clean boundaries. */
struct pii_num {
    const char *text;   /* the whole scanned text, for context words */
    size_t len;
    size_t start, end;  /* bytes of the candidate (including a passport's two letters) */
    char digits[PII_MAX_DIGITS + 1];   /* ASCII, NUL-terminated */
    int ndigits;
    int ngroups;
    int group[PII_MAX_GROUPS];   /* digits per group */
    enum pii_sep sep;
    bool plus;       /* directly after '+' or '＋' (international phone form) */
    bool letters;    /* directly after exactly two capital ASCII letters (passport form) */
};

/* Width of a digit-group separator at s[0..avail) ('-', ' ', U+3000, U+FF0D, 'ー', 'ｰ', U+2010..2015,
 * U+2212) and its class; 0 if none there (pii_scan.c). */
int ksm_pii__separator_at(const unsigned char *s, size_t avail, enum pii_sep *cls);

/* found[0..nfound) (the scanner's matches) with the policy's terms' occurrences, in order and
 * without overlaps, in *out (free it); returns how many. */
size_t ksm_pii__with_terms(const struct ksm_pii_policy *p, const char *text, size_t len,
                           const struct ksm_pii_match *found, size_t nfound,
                           struct ksm_pii_match **out);

/* A detector: the confidence (1..100) that n is its kind, or 0. */
typedef int (*pii_detect_fn)(const struct pii_num *n);

int ksm_pii_detect_mynumber(const struct pii_num *n);
int ksm_pii_detect_phone(const struct pii_num *n);
int ksm_pii_detect_card(const struct pii_num *n);
int ksm_pii_detect_pension(const struct pii_num *n);
int ksm_pii_detect_passport(const struct pii_num *n);

/* E-mail: called at an '@' at text[at]; on a match sets *start and *end (start >= lo) and returns the
 * confidence, else 0. */
int ksm_pii_detect_email(const char *text, size_t len, size_t at, size_t lo, size_t *start,
                         size_t *end);

/* Whether one of kind's context words (個人番号, マイナンバー, パスポート, ...) occurs shortly
 * before or after the bytes [start, end). ASCII words match case-insensitively. */
bool ksm_pii_context(const char *text, size_t len, size_t start, size_t end,
                     enum ksm_pii_kind kind);
/* The same, as the distance in bytes to the nearest such word; -1 if there is none. */
long ksm_pii_context_distance(const char *text, size_t len, size_t start, size_t end,
                              enum ksm_pii_kind kind);

/* ---- placeholders (pii_placeholder.c) and the masker's mapping (pii_mask.c) ---------------------- */

enum pii_ph {
    PII_PH_NO,       /* not a placeholder */
    PII_PH_PREFIX,   /* the input ends inside something that could still become one */
    PII_PH_FULL      /* ⟦KIND_n⟧, *plen bytes long */
};

enum pii_ph ksm_pii_placeholder_parse(const char *s, size_t avail, enum ksm_pii_kind *kind,
                                      uint64_t *num, size_t *plen);
/* Writes ⟦KIND_num⟧ (NUL-terminated) and returns its length. */
size_t ksm_pii_placeholder_format(enum ksm_pii_kind kind, uint32_t num,
                                  char out[KSM_PII_PLACEHOLDER_MAX]);
/* Writes ⟦KIND⟧, what a redacted value of a model's output becomes (no number: not a placeholder,
 * nothing restores it), and returns its length. */
size_t ksm_pii_redaction_format(enum ksm_pii_kind kind, char out[KSM_PII_PLACEHOLDER_MAX]);
/* The value behind placeholder (kind, num), or NULL if this masker never issued it. */
const char *ksm_pii_masker_value(const struct ksm_pii_masker *m, enum ksm_pii_kind kind,
                                 uint64_t num, size_t *vlen);

/* Digit value of the character at s[0..avail), ASCII or full-width, with its byte length in *w;
 * -1 if it is not a digit. */
static inline int pii_digit_at(const unsigned char *s, size_t avail, int *w)
{
    if (avail >= 1 && s[0] >= '0' && s[0] <= '9') {
        *w = 1;
        return s[0] - '0';
    }
    if (avail >= 3 && s[0] == 0xEF && s[1] == 0xBC && s[2] >= 0x90 && s[2] <= 0x99) {
        *w = 3;
        return s[2] - 0x90;
    }
    return -1;
}

static inline bool pii_is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static inline bool pii_is_alnum(unsigned char c)
{
    return pii_is_alpha(c) || (c >= '0' && c <= '9');
}

#endif
