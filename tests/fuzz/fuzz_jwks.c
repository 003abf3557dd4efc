/* fuzz_jwks.c — libFuzzer target: arbitrary bytes as a provider's JWKS (oidc_jwks.c). The parser
 * must keep only public signing keys it can build, and never crash or leak on the rest. */
#include <stdint.h>
#include <stdlib.h>

#include "iam/oidc_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    struct ksm_jwks *ks = ksm_jwks_parse((const char *)data, size, &why);
    if (ks && (ksm_jwks_count(ks) < 0 || ksm_jwks_count(ks) > 32))
        abort();
    ksm_jwks_free(ks);
    return 0;
}
