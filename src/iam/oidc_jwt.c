/* oidc_jwt.c — a compact JWS from an OpenID provider: parsed strictly, its key chosen from the
 * provider's set by kid and by what the alg needs, its signature checked with OpenSSL, its time and
 * audience claims checked against the clock given. Written on OpenSSL and jansson rather than a JWT
 * library because the checks are the point and few: see docs/sso.md for why. */
#include "iam/oidc_jwt.h"

#include <math.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "iam/oidc_int.h"

static json_t *decode_json(const char *p, size_t n)
{
    unsigned char *raw = ksm_xmalloc(n * 3 / 4 + 3);
    long m = ksm_b64url_decode(p, n, raw);
    json_t *j = NULL;
    if (m > 0) {
        json_error_t jerr;
        j = json_loadb((const char *)raw, (size_t)m, JSON_REJECT_DUPLICATES, &jerr);
    }
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static enum ksm_jwt_alg alg_of(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "RS256"))
        return KSM_JWT_RS256;
    if (!strcmp(s, "ES256"))
        return KSM_JWT_ES256;
    if (!strcmp(s, "PS256"))
        return KSM_JWT_PS256;
    return 0;   /* none, HS*, RS384, ...: never */
}

/* typ is optional; when present it names a JWT (RFC 7519) or an access token (RFC 9068). */
static bool typ_ok(json_t *h)
{
    json_t *t = json_object_get(h, "typ");
    if (!t)
        return true;
    const char *s = json_string_value(t);
    return s && (!strcasecmp(s, "JWT") || !strcasecmp(s, "at+jwt") ||
                 !strcasecmp(s, "application/at+jwt"));
}

static int parse_fail(struct ksm_jwt *t, const char **why, const char *reason)
{
    ksm_jwt_free(t);
    *why = reason;
    return -1;
}

int ksm_jwt_parse(const char *token, struct ksm_jwt *t, const char **why)
{
    memset(t, 0, sizeof *t);
    size_t len = token ? strnlen(token, KSM_JWT_MAX_LEN + 1) : 0;
    const char *d1 = len && len <= KSM_JWT_MAX_LEN ? memchr(token, '.', len) : NULL;
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return parse_fail(t, why, "malformed");
    t->token = token;
    t->signed_len = (size_t)(d2 - token);
    t->header = decode_json(token, (size_t)(d1 - token));
    t->claims = t->header ? decode_json(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
    if (!t->claims)
        return parse_fail(t, why, "malformed");
    t->alg = alg_of(json_string_value(json_object_get(t->header, "alg")));
    if (!t->alg)
        return parse_fail(t, why, "alg_not_allowed");
    if (json_object_get(t->header, "crit"))
        return parse_fail(t, why, "crit_header");
    if (!typ_ok(t->header))
        return parse_fail(t, why, "wrong_typ");
    json_t *kid = json_object_get(t->header, "kid");
    if (kid && !json_is_string(kid))
        return parse_fail(t, why, "malformed");
    t->kid = json_string_value(kid);
    size_t slen = len - (size_t)(d2 + 1 - token);
    t->sig = ksm_xmalloc(slen * 3 / 4 + 3);
    long m = ksm_b64url_decode(d2 + 1, slen, t->sig);
    if (m <= 0)
        return parse_fail(t, why, "malformed");
    t->siglen = (size_t)m;
    return 0;
}

void ksm_jwt_free(struct ksm_jwt *t)
{
    json_decref(t->header);
    json_decref(t->claims);
    free(t->sig);
    memset(t, 0, sizeof *t);
}

static const char *alg_name(enum ksm_jwt_alg a)
{
    return a == KSM_JWT_RS256 ? "RS256" : a == KSM_JWT_ES256 ? "ES256" : "PS256";
}

/* Does k fit alg? The key type the alg needs, and the JWK's own alg when it names one. */
static bool key_fits(const struct ksm_jwk *k, enum ksm_jwt_alg alg)
{
    enum ksm_jwk_kty need = alg == KSM_JWT_ES256 ? KSM_JWK_EC256 : KSM_JWK_RSA;
    return k->kty == need && (!k->alg[0] || !strcmp(k->alg, alg_name(alg)));
}

/* 0 with *key, 1 when there is no key by that kid (or none at all), -1 when the kid names a key
 * that does not fit, or there is no kid and several keys fit. */
static int find_key(const struct ksm_jwt *t, const struct ksm_jwks *ks, const struct ksm_jwk **key)
{
    const struct ksm_jwk *hit = NULL;
    int nfit = 0;
    bool kid_seen = false;
    for (int i = 0; ks && i < ks->n; i++) {
        const struct ksm_jwk *k = &ks->keys[i];
        if (t->kid && (!k->has_kid || strcmp(k->kid, t->kid)))
            continue;
        kid_seen = true;
        if (key_fits(k, t->alg))
            hit = k, nfit++;
    }
    if (nfit == 1 || (t->kid && nfit > 1)) {   /* several keys under one kid: the first that fits */
        *key = hit;
        return 0;
    }
    if (nfit > 1 || (t->kid && kid_seen))
        return -1;
    return 1;
}

/* JOSE's ECDSA signature is r || s (32 bytes each); OpenSSL wants DER. */
static unsigned char *ecdsa_der(const unsigned char *sig, size_t n, int *derlen)
{
    if (n != 64)
        return NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL;   /* owned by es now */
        *derlen = i2d_ECDSA_SIG(es, &der);
        if (*derlen <= 0)
            der = NULL;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

static bool sig_ok(const struct ksm_jwt *t, EVP_PKEY *pkey)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const unsigned char *sig = t->sig;
    size_t siglen = t->siglen;
    unsigned char *der = NULL;
    bool ok = false;
    if (t->alg == KSM_JWT_ES256) {
        int dl = 0;
        if (!(der = ecdsa_der(t->sig, t->siglen, &dl)))
            goto out;
        sig = der, siglen = (size_t)dl;
    }
    if (!md || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1)
        goto out;
    if (t->alg == KSM_JWT_PS256 &&   /* RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash */
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0))
        goto out;
    if (t->alg == KSM_JWT_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        goto out;
    ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)t->token, t->signed_len) == 1;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return ok;
}

int ksm_jwt_verify(const struct ksm_jwt *t, const struct ksm_jwks *ks, const char **why)
{
    const struct ksm_jwk *key = NULL;
    int rc = find_key(t, ks, &key);
    if (rc) {
        *why = rc > 0 ? "unknown_kid" : "key_mismatch";
        return rc;
    }
    if (!sig_ok(t, key->pkey)) {
        *why = "bad_signature";
        return -1;
    }
    return 0;
}

/* A NumericDate claim: 0 absent, 1 present (*v), -1 present but not a finite number. */
static int numeric_date(const struct ksm_jwt *t, const char *name, int64_t *v)
{
    json_t *j = json_object_get(t->claims, name);
    if (!j)
        return 0;
    if (!json_is_number(j))
        return -1;
    double d = json_number_value(j);
    if (!isfinite(d) || d < 0 || d > 1e15)
        return -1;
    *v = (int64_t)d;
    return 1;
}

static bool aud_has(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), want);
    size_t i;
    json_t *a;
    json_array_foreach(aud, i, a) if (json_is_string(a) && !strcmp(json_string_value(a), want)) return true;
    return false;
}

static int claim_fail(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

int ksm_jwt_check_claims(const struct ksm_jwt *t, const char *iss, const char *aud, int64_t now_s,
                         int leeway_s, const char **why)
{
    const char *tiss = ksm_jwt_claim_str(t, "iss");
    if (!tiss || strcmp(tiss, iss))
        return claim_fail(why, "wrong_issuer");
    if (!aud_has(json_object_get(t->claims, "aud"), aud))
        return claim_fail(why, "wrong_audience");
    int64_t exp = 0, nbf = 0, iat = 0;
    int has_exp = numeric_date(t, "exp", &exp), has_nbf = numeric_date(t, "nbf", &nbf),
        has_iat = numeric_date(t, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        return claim_fail(why, "malformed");
    if (!has_exp)
        return claim_fail(why, "no_exp");
    if (now_s >= exp + leeway_s)
        return claim_fail(why, "expired");
    if (has_nbf && nbf > now_s + leeway_s)
        return claim_fail(why, "not_yet_valid");
    if (has_iat && iat > now_s + leeway_s)
        return claim_fail(why, "issued_in_future");
    return 0;
}

const char *ksm_jwt_claim_str(const struct ksm_jwt *t, const char *name)
{
    return json_string_value(json_object_get(t->claims, name));
}
