/* oidc_jwt.h — JSON Web Tokens and key sets as single sign-on needs them (RFC 7515, 7517, 7519,
 * 9068): parse a compact JWS, look its key up by kid in the provider's JWKS, verify the signature
 * (RS256, ES256, PS256 only, with OpenSSL), check iss/aud/exp/nbf/iat. Pure functions of their
 * input and the clock they are given: no I/O, so the unit tests and the fuzzers drive them as is.
 *
 * What is never trusted: "alg": "none", any HMAC alg (a public key used as an HMAC secret), keys
 * carried in the token itself (jwk, jku, x5c, x5u are ignored), a JWK whose kty, crv, use or alg
 * does not fit the token's alg, and a "crit" header (no extension is understood). */
#ifndef KSM_OIDC_JWT_H
#define KSM_OIDC_JWT_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_JWT_MAX_LEN 16384     /* longer bearer tokens are refused before any decoding */

enum ksm_jwt_alg { KSM_JWT_RS256 = 1, KSM_JWT_ES256, KSM_JWT_PS256 };

struct ksm_jwt {
    json_t *header, *claims;      /* owned */
    enum ksm_jwt_alg alg;
    const char *kid;              /* in header, NULL when absent */
    const char *token;            /* the caller's string; signing input is token[0..signed_len) */
    size_t signed_len;
    unsigned char *sig;           /* owned, decoded */
    size_t siglen;
};

/* A parsed JWKS: the signing keys it holds that we can use. */
struct ksm_jwks;

/* Splits, decodes and parses; the alg must be one we accept. 0, or -1 with *why a static reason
 * ("malformed", "alg_not_allowed", "crit_header"). On -1 nothing needs freeing. */
int ksm_jwt_parse(const char *token, struct ksm_jwt *out, const char **why);
void ksm_jwt_free(struct ksm_jwt *t);

/* 0 when a key of ks fits t (by kid; without a kid, the one key that fits its alg) and its
 * signature verifies; 1 when ks has no key for t ("unknown_kid": refetch the set and retry once);
 * -1 with *why ("bad_signature", "key_mismatch") otherwise. */
int ksm_jwt_verify(const struct ksm_jwt *t, const struct ksm_jwks *ks, const char **why);

/* iss equal, aud (string or array) containing aud, exp present and after now - leeway, nbf and
 * iat (when present) not after now + leeway. 0, or -1 with *why ("wrong_issuer", "wrong_audience",
 * "expired", "no_exp", "not_yet_valid", "issued_in_future"). */
int ksm_jwt_check_claims(const struct ksm_jwt *t, const char *iss, const char *aud, int64_t now_s,
                         int leeway_s, const char **why);

/* A claim as a string (NULL when absent or not a string). */
const char *ksm_jwt_claim_str(const struct ksm_jwt *t, const char *name);

/* Parses a JWKS document; keys we cannot use (other kty or curves, "use": "enc", private parts are
 * ignored, never an error) are skipped. NULL with *why when the document is not a JWKS. */
struct ksm_jwks *ksm_jwks_parse(const char *json, size_t len, const char **why);
int ksm_jwks_count(const struct ksm_jwks *ks);
void ksm_jwks_free(struct ksm_jwks *ks);

/* base64url without padding (RFC 7515 §2). decode: -1 on a character outside the alphabet or an
 * impossible length; out must hold n*3/4+3 bytes. encode: out must hold n*4/3+4; returns length. */
long ksm_b64url_decode(const char *in, size_t n, unsigned char *out);
size_t ksm_b64url_encode(const void *in, size_t n, char *out);

#endif
