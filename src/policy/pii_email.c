/* pii_email.c — e-mail addresses, found from their '@': a local part of letters, digits and
 * ._%+- (not starting or ending with '.'), and a domain of at least two labels whose last is
 * alphabetic (2+ letters). Quoted local parts and internationalised domains are not recognised:
 * prompts practically never carry them. */
#include "policy/pii_int.h"

#define LOCAL_MAX 64    /* RFC 5321 */
#define DOMAIN_MAX 253

static bool local_char(unsigned char c)
{
    return pii_is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Returns the end of the domain after '@' at `at`, or 0 if there is none. */
static size_t domain_end(const unsigned char *s, size_t len, size_t at)
{
    size_t p = at + 1, limit = len - p > DOMAIN_MAX ? p + DOMAIN_MAX : len;
    size_t last = p;
    int labels = 0;
    for (;;) {
        size_t q = p;
        while (p < limit && (pii_is_alnum(s[p]) || s[p] == '-'))
            p++;
        if (p == q || s[q] == '-' || s[p - 1] == '-')
            return 0;
        labels++;
        last = q;
        if (p + 1 < limit && s[p] == '.' && pii_is_alnum(s[p + 1]))
            p++;
        else
            break;
    }
    if (labels < 2 || p - last < 2)
        return 0;
    for (size_t k = last; k < p; k++)
        if (!pii_is_alpha(s[k]))
            return 0;
    if (p < len && (s[p] == '@' || s[p] == '_'))
        return 0;
    return p;
}

int ksm_pii_detect_email(const char *text, size_t len, size_t at, size_t lo, size_t *start,
                         size_t *end)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t b = at;
    while (b > lo && local_char(s[b - 1]) && at - b <= LOCAL_MAX)
        b--;
    if (at - b > LOCAL_MAX)
        return 0;
    while (b < at && s[b] == '.')
        b++;
    if (b == at || s[at - 1] == '.')
        return 0;
    size_t e = domain_end(s, len, at);
    if (!e)
        return 0;
    *start = b;
    *end = e;
    return 95;
}
