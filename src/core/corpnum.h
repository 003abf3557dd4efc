/* corpnum.h — check digits of Japan's identifiers (SPEC.md "Check digits").
 * 法人番号: 13 digits, check digit first. 個人番号: 12 digits, check digit last. */
#ifndef KSM_CORPNUM_H
#define KSM_CORPNUM_H
#include <stdbool.h>

bool ksm_corpnum_valid(const char *s);   /* exactly 13 ASCII digits with a correct check digit */
bool ksm_mynumber_valid(const char *s);  /* exactly 12 ASCII digits with a correct check digit */

#endif
