/* test_oidc_jwt.c — JWTs and key sets for SSO (src/iam/oidc_jwt.h), on fixed vectors made with
 * Python's cryptography (tests/data/oidc): RS256, ES256 (typ at+jwt) and PS256 verify; a tampered
 * payload, a foreign key under a known kid, an unknown kid, alg none, HS256, a kid on a key of the
 * wrong type, and every claim check fail with their reasons; the JWKS skips symmetric and
 * encryption keys; base64url is strict. The integration tests do the same against glewlwyd. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "iam/oidc_jwt.h"

#define ISS "https://idp.example.go.jp/realms/gov"
#define NOW 1800000000

static char *load(const char *name)
{
    char path[512];
    size_t len;
    snprintf(path, sizeof path, "%s/tests/data/oidc/%s", KSM_SOURCE_DIR, name);
    char *s = ksm_read_file(path, &len);
    if (!s) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    while (len && (s[len - 1] == '\n'))
        s[--len] = '\0';
    return s;
}

static struct ksm_jwks *ks;

/* The reason a token fails (parse, signature, claims), or "ok". */
static const char *verdict(const char *token, const char *aud)
{
    struct ksm_jwt t;
    const char *why = "ok";
    if (ksm_jwt_parse(token, &t, &why))
        return why;
    if (!ksm_jwt_verify(&t, ks, &why))
        ksm_jwt_check_claims(&t, ISS, aud, NOW, 60, &why) == 0 ? (void)(why = "ok") : (void)0;
    ksm_jwt_free(&t);
    return why;
}

static const char *file_verdict(const char *name, const char *aud)
{
    char *tok = load(name);
    static char out[64];
    snprintf(out, sizeof out, "%s", verdict(tok, aud));
    free(tok);
    return out;
}

static char *b64json(const char *json)
{
    char *out = malloc(strlen(json) * 2 + 8);
    ksm_b64url_encode(json, strlen(json), out);
    return out;
}

/* header.payload.sig with the header replaced. */
static char *with_header(const char *token, const char *header_json)
{
    char *h = b64json(header_json);
    const char *rest = strchr(token, '.');
    char *out = malloc(strlen(h) + strlen(rest) + 1);
    strcpy(out, h);
    strcat(out, rest);
    free(h);
    return out;
}

static void test_good_tokens(void)
{
    CHECK_STR(file_verdict("rs256.jwt", "kasumi"), "ok");
    CHECK_STR(file_verdict("es256.jwt", "kasumi"), "ok");
    CHECK_STR(file_verdict("ps256.jwt", "kasumi"), "ok");
    CHECK_STR(file_verdict("nokid.jwt", "other"), "ok");   /* one EC key fits: no kid needed */
    char *tok = load("rs256.jwt");
    struct ksm_jwt t;
    const char *why;
    CHECK(ksm_jwt_parse(tok, &t, &why) == 0);
    CHECK_STR(ksm_jwt_claim_str(&t, "corporate_number"), "7000012050002");
    CHECK(t.alg == KSM_JWT_RS256 && !strcmp(t.kid, "rsa-1"));
    ksm_jwt_free(&t);
    free(tok);
}

static void test_bad_tokens(void)
{
    CHECK_STR(file_verdict("expired.jwt", "kasumi"), "expired");
    CHECK_STR(file_verdict("foreign.jwt", "kasumi"), "bad_signature");
    CHECK_STR(file_verdict("unknown_kid.jwt", "kasumi"), "unknown_kid");
    CHECK_STR(file_verdict("rs256.jwt", "someone"), "wrong_audience");
    char *tok = load("rs256.jwt");
    /* payload changed, signature kept */
    const char *payload = "{\"iss\":\"" ISS "\",\"aud\":\"kasumi\",\"sub\":\"mallory\","
                          "\"exp\":4102444800}";
    char *pb = b64json(payload), *bad = malloc(strlen(tok) + strlen(pb) + 2);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    snprintf(bad, strlen(tok) + strlen(pb) + 2, "%.*s.%s%s", (int)(d1 - tok), tok, pb, d2);
    CHECK_STR(verdict(bad, "kasumi"), "bad_signature");
    free(bad);
    free(pb);
    char *none = with_header(tok, "{\"alg\":\"none\",\"kid\":\"rsa-1\"}");
    CHECK_STR(verdict(none, "kasumi"), "alg_not_allowed");
    char *hs = with_header(tok, "{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}");
    CHECK_STR(verdict(hs, "kasumi"), "alg_not_allowed");
    char *es_on_rsa = with_header(tok, "{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}");
    CHECK_STR(verdict(es_on_rsa, "kasumi"), "key_mismatch");
    char *ps_on_rs = with_header(tok, "{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}");
    CHECK_STR(verdict(ps_on_rs, "kasumi"), "key_mismatch");   /* the JWK says RS256 */
    char *hmac_kid = with_header(tok, "{\"alg\":\"RS256\",\"kid\":\"hmac\"}");
    CHECK_STR(verdict(hmac_kid, "kasumi"), "unknown_kid");   /* oct keys are never loaded */
    char *crit = with_header(tok, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"x\"]}");
    CHECK_STR(verdict(crit, "kasumi"), "crit_header");
    char *typ = with_header(tok, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"typ\":\"JWE\"}");
    CHECK_STR(verdict(typ, "kasumi"), "wrong_typ");
    char *jwk = with_header(tok, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"jwk\":{\"kty\":\"RSA\"}}");
    CHECK_STR(verdict(jwk, "kasumi"), "bad_signature");   /* the header changed; jwk is ignored */
    free(none), free(hs), free(es_on_rsa), free(ps_on_rs), free(hmac_kid), free(crit), free(typ), free(jwk);
    const char *malformed[] = {"", "a", "a.b", "a.b.c.d", "..", "e30.e30.", "e30=.e30.AA", tok + 1};
    for (size_t i = 0; i < KSM_NELEM(malformed); i++)
        CHECK(strcmp(verdict(malformed[i], "kasumi"), "ok"));
    free(tok);
}

static void test_claims(void)
{
    char *tok = load("rs256.jwt");
    struct ksm_jwt t;
    const char *why = NULL;
    CHECK(ksm_jwt_parse(tok, &t, &why) == 0);
    CHECK(ksm_jwt_check_claims(&t, ISS "/", "kasumi", NOW, 60, &why) && !strcmp(why, "wrong_issuer"));
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", 1700000000 - 61, 60, &why) &&
          !strcmp(why, "not_yet_valid"));
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", 1700000000 - 59, 60, &why) == 0);   /* leeway */
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", 4102444800 + 59, 60, &why) == 0);
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", 4102444800 + 60, 60, &why) && !strcmp(why, "expired"));
    json_object_del(t.claims, "exp");
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", NOW, 60, &why) && !strcmp(why, "no_exp"));
    json_object_set_new(t.claims, "exp", json_string("4102444800"));
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", NOW, 60, &why) && !strcmp(why, "malformed"));
    json_object_set_new(t.claims, "exp", json_integer(4102444800));
    json_object_set_new(t.claims, "aud", json_string("kasumi"));
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", NOW, 60, &why) == 0);
    json_object_set_new(t.claims, "aud", json_pack("[i,s]", 1, "x"));
    CHECK(ksm_jwt_check_claims(&t, ISS, "kasumi", NOW, 60, &why) && !strcmp(why, "wrong_audience"));
    ksm_jwt_free(&t);
    free(tok);
}

static void test_jwks(void)
{
    CHECK(ksm_jwks_count(ks) == 3);   /* rsa-1, ec-1, ps-1; not the oct key nor the "enc" one */
    const char *why = NULL;
    CHECK(!ksm_jwks_parse("{}", 2, &why) && why);
    CHECK(!ksm_jwks_parse("[1]", 3, &why));
    const char *w = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
                    "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}]}";
    struct ksm_jwks *weak = ksm_jwks_parse(w, strlen(w), &why);
    CHECK(weak && ksm_jwks_count(weak) == 0);   /* a tiny modulus and an unsupported curve */
    ksm_jwks_free(weak);
}

static void test_b64url(void)
{
    unsigned char out[16];
    char enc[32];
    CHECK(ksm_b64url_decode("aGk", 3, out) == 2 && !memcmp(out, "hi", 2));
    CHECK(ksm_b64url_decode("aGk=", 4, out) < 0);    /* no padding */
    CHECK(ksm_b64url_decode("aGl", 3, out) < 0);     /* non-zero leftover bits: a second spelling */
    CHECK(ksm_b64url_decode("a+k", 3, out) < 0);     /* the other alphabet */
    CHECK(ksm_b64url_decode("a", 1, out) < 0);
    CHECK(ksm_b64url_encode("\xfb\xff", 2, enc) == 3 && !strcmp(enc, "-_8"));
}

int main(void)
{
    char *jwks = load("jwks.json");
    const char *why = NULL;
    ks = ksm_jwks_parse(jwks, strlen(jwks), &why);
    free(jwks);
    CHECK(ks != NULL);
    if (!ks)
        return CHECK_DONE();
    test_good_tokens();
    test_bad_tokens();
    test_claims();
    test_jwks();
    test_b64url();
    ksm_jwks_free(ks);
    return CHECK_DONE();
}
