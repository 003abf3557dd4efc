/* pii_placeholder.c — the placeholder format ⟦KIND_n⟧: writing one, and recognising one (or the
 * beginning of one, for the streaming restore) in a model's output. The mathematical white
 * brackets U+27E6/U+27E7 are single tokens to most tokenizers, are copied verbatim by models, and
 * do not occur in Japanese or English prose; the name says what was there, so the model can still
 * reason ("the phone number ⟦PHONE_1⟧"). */
#include "policy/pii_int.h"

#include <stdio.h>
#include <string.h>

#define OPEN "\xE2\x9F\xA6"    /* ⟦ U+27E6 */
#define CLOSE "\xE2\x9F\xA7"   /* ⟧ U+27E7 */
#define NAME_MAX_LEN 8         /* "MYNUMBER", "PASSPORT" */
#define NUM_MAX_LEN 10         /* uint32_t */

static void upper_name(enum ksm_pii_kind kind, char name[NAME_MAX_LEN + 1])
{
    const char *lc = ksm_pii_kind_name(kind);
    size_t i = 0;
    for (; lc[i] && i < NAME_MAX_LEN; i++)
        name[i] = (char)(lc[i] - 'a' + 'A');
    name[i] = '\0';
}

size_t ksm_pii_placeholder_format(enum ksm_pii_kind kind, uint32_t num,
                                  char out[KSM_PII_PLACEHOLDER_MAX])
{
    char name[NAME_MAX_LEN + 1];
    upper_name(kind, name);
    int n = snprintf(out, KSM_PII_PLACEHOLDER_MAX, OPEN "%s_%u" CLOSE, name, (unsigned)num);
    return (size_t)n;
}

size_t ksm_pii_redaction_format(enum ksm_pii_kind kind, char out[KSM_PII_PLACEHOLDER_MAX])
{
    char name[NAME_MAX_LEN + 1];
    upper_name(kind, name);
    return (size_t)snprintf(out, KSM_PII_PLACEHOLDER_MAX, OPEN "%s" CLOSE, name);
}

/* Kind whose upper-cased name is s[0..n), or -1. */
static int kind_of(const char *s, size_t n)
{
    char lc[NAME_MAX_LEN + 1];
    if (n > NAME_MAX_LEN)
        return -1;
    for (size_t i = 0; i < n; i++)
        lc[i] = (char)(s[i] - 'A' + 'a');
    lc[n] = '\0';
    return ksm_pii_kind_parse(lc);
}

enum pii_ph ksm_pii_placeholder_parse(const char *s, size_t avail, enum ksm_pii_kind *kind,
                                      uint64_t *num, size_t *plen)
{
    /* The bracket itself may be cut by the end of the input. */
    size_t k = avail < 3 ? avail : 3;
    if (memcmp(s, OPEN, k))
        return PII_PH_NO;
    if (avail < 3)
        return PII_PH_PREFIX;
    size_t p = 3;
    while (p < avail && s[p] >= 'A' && s[p] <= 'Z' && p - 3 < NAME_MAX_LEN)
        p++;
    if (p == avail)
        return PII_PH_PREFIX;
    size_t name_end = p;
    if (s[p] != '_' || p == 3)
        return PII_PH_NO;
    int kd = kind_of(s + 3, name_end - 3);
    if (kd < 0)
        return PII_PH_NO;
    p++;
    uint64_t v = 0;
    size_t d0 = p;
    while (p < avail && s[p] >= '0' && s[p] <= '9' && p - d0 < NUM_MAX_LEN) {
        if (p == d0 && s[p] == '0')
            return PII_PH_NO;   /* no leading zeros: one spelling per placeholder */
        v = v * 10 + (uint64_t)(s[p] - '0');
        p++;
    }
    if (p == avail)
        return PII_PH_PREFIX;
    if (p == d0)
        return PII_PH_NO;
    k = avail - p < 3 ? avail - p : 3;
    if (memcmp(s + p, CLOSE, k))
        return PII_PH_NO;
    if (k < 3)
        return PII_PH_PREFIX;
    *kind = (enum ksm_pii_kind)kd;
    *num = v;
    *plen = p + 3;
    return PII_PH_FULL;
}
