/* oidc_jwks.c — a provider's JSON Web Key Set (RFC 7517) turned into OpenSSL public keys once, when
 * it is fetched, so that verifying a token is one signature check. Only public signing keys we can
 * use are kept: RSA of 2048 bits or more, EC on P-256. Private members are never read. */
#include "iam/oidc_jwt.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "iam/oidc_int.h"

#define MAX_KEYS 32

/* A JWK number or coordinate: base64url, at most 1024 bytes decoded (an 8192-bit modulus). */
static unsigned char *b64_member(json_t *jwk, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 1400)
        return NULL;
    unsigned char *out = ksm_xmalloc(n * 3 / 4 + 3);
    long m = ksm_b64url_decode(s, n, out);
    if (m <= 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)m;
    return out;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pk = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pk;
}

static EVP_PKEY *rsa_key(json_t *jwk)
{
    size_t nl = 0, el = 0;
    unsigned char *n = b64_member(jwk, "n", &nl), *e = b64_member(jwk, "e", &el);
    EVP_PKEY *pk = NULL;
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nl, NULL) : NULL, *be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    /* under 2048 bits is breakable; an even or tiny exponent is not RSA anyone should use */
    if (bn && be && BN_num_bits(bn) >= 2048 && BN_num_bits(be) <= 64 && BN_is_odd(be) &&
        !BN_is_one(be) && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pk = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pk;
}

static EVP_PKEY *ec_key(json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (!crv || strcmp(crv, "P-256"))
        return NULL;
    size_t xl = 0, yl = 0;
    unsigned char *x = b64_member(jwk, "x", &xl), *y = b64_member(jwk, "y", &yl);
    EVP_PKEY *pk = NULL;
    unsigned char point[65];
    OSSL_PARAM_BLD *bld = NULL;
    if (!x || !y || xl != 32 || yl != 32)
        goto out;
    point[0] = 0x04;   /* uncompressed point; OpenSSL checks that it is on the curve */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
        pk = from_params("EC", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pk;
}

/* One member of "keys": kept when it is a public signing key we can use. */
static void add_key(struct ksm_jwks *ks, json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *use = json_string_value(json_object_get(jwk, "use"));
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    if (!json_is_object(jwk) || !kty || (use && strcmp(use, "sig")) || ks->n == MAX_KEYS)
        return;
    if ((kid && strlen(kid) >= sizeof ks->keys[0].kid) || (alg && strlen(alg) >= 8))
        return;
    struct ksm_jwk *k = &ks->keys[ks->n];
    memset(k, 0, sizeof *k);
    if (!strcmp(kty, "RSA")) {
        k->kty = KSM_JWK_RSA;
        k->pkey = rsa_key(jwk);
    } else if (!strcmp(kty, "EC")) {
        k->kty = KSM_JWK_EC256;
        k->pkey = ec_key(jwk);
    }
    if (!k->pkey)
        return;
    if (kid)
        strcpy(k->kid, kid), k->has_kid = true;
    if (alg)
        strcpy(k->alg, alg);
    ks->n++;
}

struct ksm_jwks *ksm_jwks_parse(const char *json, size_t len, const char **why)
{
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        *why = "not a JWKS";
        return NULL;
    }
    struct ksm_jwks *ks = ksm_xcalloc(1, sizeof *ks + MAX_KEYS * sizeof ks->keys[0]);
    size_t i;
    json_t *jwk;
    json_array_foreach(keys, i, jwk) add_key(ks, jwk);
    json_decref(doc);
    return ks;
}

int ksm_jwks_count(const struct ksm_jwks *ks) { return ks ? ks->n : 0; }

void ksm_jwks_free(struct ksm_jwks *ks)
{
    if (!ks)
        return;
    for (int i = 0; i < ks->n; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    free(ks);
}
