/* pii_pension.c — 基礎年金番号: a 4-digit office code and a 6-digit serial, written 1234-567890.
 * It has no check digit, so the shape decides: hyphenated 4-6 is rare enough elsewhere to report
 * on its own (low confidence); with a space, or as 10 plain digits, only next to 年金 / pension,
 * and 10 plain digits only if no phone word (電話, TEL) is nearer: they may be a phone number. */
#include "policy/pii_int.h"

int ksm_pii_detect_pension(const struct pii_num *n)
{
    if (n->letters || n->plus || n->ndigits != 10)
        return 0;
    bool four_six = n->ngroups == 2 && n->group[0] == 4;
    if (n->ngroups != 1 && !four_six)
        return 0;
    long d = ksm_pii_context_distance(n->text, n->len, n->start, n->end, KSM_PII_PENSION);
    bool ctx = d >= 0;
    if (ctx && n->ngroups == 1 && n->digits[0] == '0') {
        long ph = ksm_pii_context_distance(n->text, n->len, n->start, n->end, KSM_PII_PHONE);
        ctx = ph < 0 || d < ph;
    }
    if (four_six && n->sep == PII_SEP_HYPHEN)
        return ctx ? 95 : 60;
    if (!ctx)
        return 0;
    return four_six ? 90 : 85;
}
