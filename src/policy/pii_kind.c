/* pii_kind.c — the names of the identifier kinds: one table for the API, the placeholders
 * (upper-cased) and the corpus labels. */
#include "policy/pii.h"

#include <string.h>

static const char *const kind_names[KSM_PII__COUNT] = {
    [KSM_PII_MYNUMBER] = "mynumber", [KSM_PII_PHONE] = "phone",     [KSM_PII_EMAIL] = "email",
    [KSM_PII_CARD] = "card",         [KSM_PII_PENSION] = "pension", [KSM_PII_PASSPORT] = "passport",
    [KSM_PII_TERM] = "term",
};

const char *ksm_pii_kind_name(enum ksm_pii_kind k)
{
    return (unsigned)k < KSM_PII__COUNT ? kind_names[k] : NULL;
}

int ksm_pii_kind_parse(const char *name)
{
    for (int k = 0; k < KSM_PII__COUNT; k++)
        if (name && !strcmp(name, kind_names[k]))
            return k;
    return -1;
}
