/* pii_phone.c — Japanese telephone numbers (総務省's numbering plan): 10 digits for fixed lines
 * and 0120/0570/0990 services, 11 digits for mobiles and IP phones (070/080/090/050/020) and
 * 0800; written plain, as three hyphen- or space-separated groups, or after +81 without the
 * trunk 0. A number that is too long or too short for its prefix is not a phone number. */
#include "policy/pii_int.h"

#include <string.h>

/* Prefixes whose numbers are not 10 digits long, and 3-digit tails ("0120-123-456"); longest
 * first, the first row that matches wins. Anything else starting 0[1-9] is a 10-digit number. */
static const struct {
    const char *prefix;
    int digits;
    bool short_tail;   /* grouped as x-3-3 */
} plan[] = {
    {"0120", 10, true}, {"0570", 10, true}, {"0990", 10, true}, {"0800", 11, false},
    {"050", 11, false}, {"070", 11, false}, {"080", 11, false}, {"090", 11, false},
    {"020", 11, false},
};

/* Length and tail rule for a national number (leading 0) d; false if it cannot be one. */
static bool numbering(const char *d, int *digits, bool *short_tail)
{
    if (d[0] != '0' || d[1] == '0')
        return false;
    for (size_t k = 0; k < sizeof plan / sizeof plan[0]; k++)
        if (!strncmp(d, plan[k].prefix, strlen(plan[k].prefix))) {
            *digits = plan[k].digits;
            *short_tail = plan[k].short_tail;
            return true;
        }
    *digits = 10;
    *short_tail = false;
    return true;
}

/* 0A-BBBB-CCCC style: three groups, area code 2..5 digits, tail 4 (3 for the services). */
static bool groups_ok(const struct pii_num *n, bool short_tail)
{
    if (n->ngroups != 3 || n->sep == PII_SEP_MIXED)
        return false;
    int a = n->group[0], b = n->group[1], c = n->group[2];
    return a >= 2 && a <= 5 && b >= 1 && b <= 4 && (c == 4 || (short_tail && c == 3));
}

/* +81 3-1234-5678, +81 90 1234 5678, +819012345678: "81", then the number without its 0. */
static int international(const struct pii_num *n)
{
    char national[PII_MAX_DIGITS + 2];
    int want;
    bool short_tail;
    if (n->ndigits < 11 || strncmp(n->digits, "81", 2) || n->digits[2] == '0')
        return 0;
    national[0] = '0';
    memcpy(national + 1, n->digits + 2, (size_t)n->ndigits - 1);   /* with the NUL */
    if (!numbering(national, &want, &short_tail) || n->ndigits - 1 != want)
        return 0;
    if (n->ngroups > 1 && n->group[0] != 2 && n->group[0] < 3)
        return 0;
    return 85;
}

int ksm_pii_detect_phone(const struct pii_num *n)
{
    if (n->letters)
        return 0;
    if (n->plus)
        return international(n);
    int want;
    bool short_tail;
    if (n->ndigits < 10 || n->ndigits > 11 || !numbering(n->digits, &want, &short_tail) ||
        n->ndigits != want)
        return 0;
    int conf;
    if (n->ngroups == 1)
        conf = 65;
    else if (groups_ok(n, short_tail))
        conf = 85;
    else
        return 0;
    if (ksm_pii_context(n->text, n->len, n->start, n->end, KSM_PII_PHONE))
        conf += 10;
    return conf;
}
