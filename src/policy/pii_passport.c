/* pii_passport.c — Japanese passport numbers: two capital letters and seven digits (TK1234567).
 * Product codes, model numbers and booking references have the same shape, so a passport number
 * is reported only with a context word nearby (パスポート, 旅券, passport). */
#include "policy/pii_int.h"

int ksm_pii_detect_passport(const struct pii_num *n)
{
    if (!n->letters || n->ngroups != 1 || n->ndigits != 7)
        return 0;
    return ksm_pii_context(n->text, n->len, n->start, n->end, KSM_PII_PASSPORT) ? 90 : 0;
}
