/* pii_mynumber.c — 個人番号 (My Number): 12 digits whose last is the check digit (SPEC "Check
 * digits", core/corpnum.c), written plain or as 4-4-4. The law wants every My Number kept from AI
 * services, so a check-valid number is reported even without context (fail closed); context words
 * only raise the confidence. A random 12-digit number passes the check one time in ten. */
#include "core/corpnum.h"
#include "policy/pii_int.h"

#include <string.h>

int ksm_pii_detect_mynumber(const struct pii_num *n)
{
    if (n->letters || n->ndigits != 12)
        return 0;
    bool grouped = n->ngroups == 3 && n->group[0] == 4 && n->group[1] == 4 &&
                   n->sep != PII_SEP_MIXED;
    if (n->ngroups != 1 && !grouped)
        return 0;
    /* All zeros passes the check but is a blank form's placeholder, not a number. */
    if (!strcmp(n->digits, "000000000000") || !ksm_mynumber_valid(n->digits))
        return 0;
    if (ksm_pii_context(n->text, n->len, n->start, n->end, KSM_PII_MYNUMBER))
        return 95;
    return grouped ? 75 : 70;
}
