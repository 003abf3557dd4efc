/* iam_mfa.c — which roles require a second factor (SPEC.md U: MFA enforcement per role). A
 * principal that signed in without one (struct ksm_principal.no_mfa) holds its other roles but
 * not these; ksm_iam_check then answers MFA_REQUIRED where only such a role would grant. The list
 * is node configuration ([sso] mfa_roles), set once before the workers start. */
#include "iam/iam.h"

#include <string.h>

#include "core/conf.h"

static char roles[KSM_CONF_MAX_NAMES][32];
static int nroles;

void ksm_iam_set_mfa_roles(const char (*names)[32], int n)
{
    nroles = 0;
    for (int i = 0; i < n && i < KSM_CONF_MAX_NAMES; i++)
        memcpy(roles[nroles++], names[i], sizeof roles[0]);
}

bool ksm_iam_role_needs_mfa(const char *role)
{
    for (int i = 0; role && i < nroles; i++)
        if (!strcmp(roles[i], role))
            return true;
    return false;
}
