/* pii_card.c — payment card numbers: 13 to 19 digits, plain or in groups of 4 (Amex and Diners
 * 4-6-5 / 4-6-4), Luhn-valid, and starting with a real issuer's prefix at a length that issuer
 * uses (ISO/IEC 7812 ranges of the brands used in Japan). A Luhn-valid number from nobody's range
 * (one in ten random numbers) is an account or order number, not a card. */
#include "policy/pii_int.h"

#include <stdlib.h>

/* Prefix range [lo, hi] over the first `width` digits, and the lengths that issuer uses. */
static const struct {
    int width, lo, hi, minlen, maxlen;
} issuers[] = {
    {1, 4, 4, 13, 19},          /* Visa (13, 16, 19; 13 is old but still printed) */
    {2, 51, 55, 16, 16},        /* Mastercard */
    {4, 2221, 2720, 16, 16},    /* Mastercard 2-series */
    {2, 34, 34, 15, 15},        /* American Express */
    {2, 37, 37, 15, 15},
    {4, 3528, 3589, 16, 19},    /* JCB */
    {3, 300, 305, 14, 19},      /* Diners Club */
    {2, 36, 36, 14, 19},
    {2, 38, 39, 16, 19},
    {4, 6011, 6011, 16, 19},    /* Discover */
    {3, 644, 649, 16, 19},
    {2, 65, 65, 16, 19},
    {2, 62, 62, 16, 19},        /* UnionPay */
};

static bool luhn(const char *d, int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';
        if (i % 2) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static bool issuer_known(const char *d, int n)
{
    for (size_t k = 0; k < sizeof issuers / sizeof issuers[0]; k++) {
        int p = 0;
        for (int i = 0; i < issuers[k].width; i++)
            p = p * 10 + (d[i] - '0');
        if (p >= issuers[k].lo && p <= issuers[k].hi && n >= issuers[k].minlen &&
            n <= issuers[k].maxlen)
            return true;
    }
    return false;
}

/* 4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4, 4-4-4-1: the first group 4, inner groups 4 or 6. */
static bool grouping_ok(const struct pii_num *n)
{
    if (n->ngroups == 1)
        return true;
    if (n->sep == PII_SEP_MIXED || n->group[0] != 4)
        return false;
    for (int g = 1; g < n->ngroups - 1; g++)
        if (n->group[g] != 4 && n->group[g] != 6)
            return false;
    int last = n->group[n->ngroups - 1];
    return last >= 1 && last <= 5;
}

int ksm_pii_detect_card(const struct pii_num *n)
{
    if (n->letters || n->plus || n->ndigits < 13 || n->ndigits > 19)
        return 0;
    if (!grouping_ok(n) || !luhn(n->digits, n->ndigits) || !issuer_known(n->digits, n->ndigits))
        return 0;
    return ksm_pii_context(n->text, n->len, n->start, n->end, KSM_PII_CARD) ? 95 : 85;
}
