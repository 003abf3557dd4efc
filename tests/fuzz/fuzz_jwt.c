/* fuzz_jwt.c — libFuzzer target: arbitrary bytes as a bearer JWT through the whole check of SSO
 * (oidc_jwt.c): parse, key lookup and signature against a fixed JWKS (tests/data/oidc, seeds are
 * tokens signed by its keys), then the claim checks. Whatever the input: a defined answer, no
 * crash, no leak, and never "ok" for bytes no key signed (the seeds' signatures cover only them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iam/oidc_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks_json[] =
#include "fuzz_jwt_jwks.inc"
    ;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ksm_jwks *ks;
    const char *why = NULL;
    if (!ks)
        ks = ksm_jwks_parse(jwks_json, sizeof jwks_json - 1, &why);
    char *tok = malloc(size + 1);
    memcpy(tok, data, size);
    tok[size] = '\0';
    struct ksm_jwt t;
    if (ksm_jwt_parse(tok, &t, &why) == 0) {
        if (ksm_jwt_verify(&t, ks, &why) == 0)
            ksm_jwt_check_claims(&t, "https://idp.example.go.jp/realms/gov", "kasumi", 1800000000, 60,
                                 &why);
        ksm_jwt_claim_str(&t, "sub");
        ksm_jwt_free(&t);
    }
    free(tok);
    return 0;
}
