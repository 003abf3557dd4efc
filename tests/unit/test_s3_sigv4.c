/* test_s3_sigv4.c — SigV4 for S3 against AWS's published vectors: the S3 examples of "Signature
 * Calculations for the Authorization Header" (GET object, PUT object, GET lifecycle, list objects)
 * with their canonical requests, strings to sign and signatures; the presigned GET of
 * "Authenticating Requests: Using Query Parameters"; the generic SigV4 test suite's get-vanilla
 * family; and the refusals: a changed header, path or query, a wrong secret, expired or future
 * presigns, clock skew, foreign regions, missing or unsigned headers, repeated parameters, bad hex. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/util.h"
#include "storage/s3_sigv4.h"

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T0 1369353600   /* 2013-05-24T00:00:00Z */
#define CRED "Credential=" AKID "/20130524/us-east-1/s3/aws4_request"

static const char *const regions[] = {"jp-east", "jp-west", "us-east-1"};
static const struct ksm_s3_auth_opts opts = {regions, 3, 0};

struct req {
    const char *method, *path, *query;
    struct ksm_s3_hdr h[16];
    int n;
    int64_t now;
};

static struct ksm_s3_request view(const struct req *r)
{
    return (struct ksm_s3_request){r->method, r->path, r->query, r->h, r->n, r->now};
}

/* parse, then verify with secret; the first error. */
static enum ksm_err run(const struct req *r, const char *secret, struct ksm_s3_auth *a)
{
    struct ksm_s3_request rq = view(r);
    enum ksm_err e = ksm_s3_auth_parse(&rq, &opts, a);
    if (e == KSM_E_OK)
        e = ksm_s3_auth_verify(&rq, a, secret, strlen(secret));
    return e;
}

static enum ksm_err run1(const struct req *r)
{
    struct ksm_s3_auth a;
    enum ksm_err e = run(r, SECRET, &a);
    ksm_s3_auth_wipe(&a);
    return e;
}

static void set(struct req *r, const char *name, const char *value)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->h[i].name, name)) {
            r->h[i].value = value;
            return;
        }
    r->h[r->n++] = (struct ksm_s3_hdr){name, value};
}

static void drop(struct req *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->h[i].name, name)) {
            r->h[i] = r->h[--r->n];
            return;
        }
}

static void check_texts(const struct req *r, const struct ksm_s3_auth *a, const char *canon,
                        const char *sts_hash_line)
{
    struct ksm_s3_request rq = view(r);
    struct ksm_buf c = KSM_BUF_INIT, s = KSM_BUF_INIT;
    CHECK(ksm_s3_canonical_request(&rq, a, &c) == KSM_E_OK);
    CHECK_STR(c.data, canon);
    ksm_s3_string_to_sign(a, c.data, c.len, &s);
    CHECK_STR(s.data, sts_hash_line);
    ksm_buf_free(&c);
    ksm_buf_free(&s);
}

static struct req get_object(void)
{
    struct req r = {"GET", "/test.txt", "", {{0}}, 0, T0};
    set(&r, "host", "examplebucket.s3.amazonaws.com");
    set(&r, "range", "bytes=0-9");
    set(&r, "x-amz-content-sha256", KSM_S3_EMPTY_SHA256);
    set(&r, "x-amz-date", "20130524T000000Z");
    set(&r, "authorization",
        "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    return r;
}

static void test_get_object(void)
{
    struct req r = get_object();
    struct ksm_s3_auth a;
    CHECK(run(&r, SECRET, &a) == KSM_E_OK);
    CHECK_STR(a.key_id, AKID);
    CHECK_STR(a.region, "us-east-1");
    CHECK_STR(a.date, "20130524");
    CHECK(!a.presigned && a.payload == KSM_S3_PAYLOAD_SHA256);
    check_texts(&r, &a,
                "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                "x-amz-content-sha256:" KSM_S3_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" KSM_S3_EMPTY_SHA256,
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(a.seed_signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    ksm_s3_auth_wipe(&a);

    /* The same again: the signing key now comes from the per-thread cache. */
    CHECK(run1(&r) == KSM_E_OK);
    /* The Authorization header with spaces after the commas, as the docs print it. */
    set(&r, "authorization",
        "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(run1(&r) == KSM_E_OK);
    /* Header values are trimmed and inner runs of spaces collapsed. */
    set(&r, "range", "  bytes=0-9 ");
    CHECK(run1(&r) == KSM_E_OK);
}

static void test_put_object(void)
{
    static const char body[] = "Welcome to Amazon S3.";
    static const char *const paths[] = {"/test%24file.text", "/test$file.text"};
    for (size_t i = 0; i < 2; i++) {
        struct req r = {"PUT", paths[i], NULL, {{0}}, 0, T0 + 60};
        set(&r, "host", "examplebucket.s3.amazonaws.com");
        set(&r, "date", "Fri, 24 May 2013 00:00:00 GMT");
        set(&r, "x-amz-date", "20130524T000000Z");
        set(&r, "x-amz-storage-class", "REDUCED_REDUNDANCY");
        set(&r, "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
        set(&r, "authorization",
            "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
            "x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
        struct ksm_s3_auth a;
        CHECK(run(&r, SECRET, &a) == KSM_E_OK);
        check_texts(&r, &a,
                    "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
                    "host:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:"
                    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
                    "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
                    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
                    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                    "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                    "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
        /* The body, hashed as it streams: in two pieces, then a changed one. */
        struct ksm_s3_body_hash h;
        CHECK(ksm_s3_body_hash_init(&h, &a) == KSM_E_OK);
        ksm_s3_body_hash_update(&h, body, 7);
        ksm_s3_body_hash_update(&h, body + 7, sizeof body - 8);
        CHECK(ksm_s3_body_hash_final(&h) == KSM_E_OK);
        CHECK(ksm_s3_body_hash_init(&h, &a) == KSM_E_OK);
        ksm_s3_body_hash_update(&h, "Welcome to Amazon S4.", sizeof body - 1);
        CHECK(ksm_s3_body_hash_final(&h) == KSM_E_CONTENT_SHA256_MISMATCH);
        ksm_s3_auth_wipe(&a);
    }
    /* Without x-amz-date, the Date header is the signed time. */
    struct req r = {"PUT", "/test%24file.text", NULL, {{0}}, 0, T0};
    set(&r, "host", "examplebucket.s3.amazonaws.com");
    set(&r, "date", "Fri, 24 May 2013 00:00:00 GMT");
    set(&r, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    struct ksm_s3_auth a;
    memset(&a, 0, sizeof a);
    strcpy(a.date, "20130524");
    strcpy(a.region, "us-east-1");
    strcpy(a.service, "s3");
    strcpy(a.amz_date, "20130524T000000Z");
    strcpy(a.signed_headers, "date;host;x-amz-content-sha256");
    strcpy(a.payload_hash, "UNSIGNED-PAYLOAD");
    struct ksm_s3_request rq = view(&r);
    struct ksm_buf c = KSM_BUF_INIT, s = KSM_BUF_INIT;
    ksm_s3_canonical_request(&rq, &a, &c);
    ksm_s3_string_to_sign(&a, c.data, c.len, &s);
    unsigned char key[32];
    char sig[65], hdr[400];
    ksm_s3_derive_key(SECRET, strlen(SECRET), "20130524", "us-east-1", "s3", key);
    ksm_s3_hmac_hex(key, s.data, s.len, sig);
    snprintf(hdr, sizeof hdr, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=date;host;x-amz-content-sha256,"
             "Signature=%s", sig);
    set(&r, "authorization", hdr);
    CHECK(run1(&r) == KSM_E_OK);
    set(&r, "date", "Fri, 24 May 2013 00:00:01 GMT");
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    set(&r, "date", "Fri, 31 Feb 2013 00:00:01 GMT");
    CHECK(run1(&r) == KSM_E_AUTH_HEADER_MALFORMED);
    ksm_buf_free(&c);
    ksm_buf_free(&s);
}

static struct req bucket_get(const char *query, const char *sig)
{
    static char auth[300];
    struct req r = {"GET", "/", query, {{0}}, 0, T0};
    set(&r, "host", "examplebucket.s3.amazonaws.com");
    set(&r, "x-amz-date", "20130524T000000Z");
    set(&r, "x-amz-content-sha256", KSM_S3_EMPTY_SHA256);
    snprintf(auth, sizeof auth, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;x-amz-content-sha256;"
             "x-amz-date,Signature=%s", sig);
    set(&r, "authorization", auth);
    return r;
}

#define SIG_LIFECYCLE "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
#define SIG_LIST "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"

static void test_bucket_examples(void)
{
    struct req r = bucket_get("lifecycle", SIG_LIFECYCLE);
    struct ksm_s3_auth a;
    CHECK(run(&r, SECRET, &a) == KSM_E_OK);
    check_texts(&r, &a,
                "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:"
                KSM_S3_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
                "host;x-amz-content-sha256;x-amz-date\n" KSM_S3_EMPTY_SHA256,
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
    r = bucket_get("max-keys=2&prefix=J", SIG_LIST);
    CHECK(run(&r, SECRET, &a) == KSM_E_OK);
    check_texts(&r, &a,
                "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
                "x-amz-content-sha256:" KSM_S3_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
                "host;x-amz-content-sha256;x-amz-date\n" KSM_S3_EMPTY_SHA256,
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
    ksm_s3_auth_wipe(&a);
    r = bucket_get("prefix=J&max-keys=2", SIG_LIST);    /* order does not matter */
    CHECK(run1(&r) == KSM_E_OK);
    r = bucket_get("max-keys=3&prefix=J", SIG_LIST);    /* a changed parameter */
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r = bucket_get("max-keys=2&prefix=J&prefix=K", SIG_LIST);   /* a repeated, unsigned one */
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r = bucket_get("max-keys=2&prefix=%4a", SIG_LIST);  /* %4a is J, encoded differently */
    CHECK(run1(&r) == KSM_E_OK);
    r = bucket_get("max-keys=2&prefix=%zz", SIG_LIST);
    CHECK(run1(&r) == KSM_E_INVALID_URI);
}

#define PRESIGN_Q                                                                                  \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1" \
    "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
#define PRESIGN_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

static struct req presigned(const char *query, int64_t now)
{
    struct req r = {"GET", "/test.txt", query, {{0}}, 0, now};
    set(&r, "host", "examplebucket.s3.amazonaws.com");
    return r;
}

static void test_presigned(void)
{
    struct req r = presigned(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG, T0 + 3600);
    struct ksm_s3_auth a;
    CHECK(run(&r, SECRET, &a) == KSM_E_OK);
    CHECK(a.presigned && a.expires == 86400 && a.payload == KSM_S3_PAYLOAD_UNSIGNED);
    check_texts(&r, &a,
                "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
                "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires="
                "86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\n"
                "UNSIGNED-PAYLOAD",
                "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    ksm_s3_auth_wipe(&a);

    /* The generator produces the documented URL. */
    struct ksm_s3_presign_in in = {"GET", "examplebucket.s3.amazonaws.com", "/test.txt", NULL,
                                   AKID, SECRET, "us-east-1", T0, 86400};
    char *q = ksm_s3_presign(&in);
    CHECK_STR(q, PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG);
    free(q);
    in.expires = KSM_S3_MAX_EXPIRES + 1;
    CHECK(ksm_s3_presign(&in) == NULL);
    /* A generated URL with its own query parameters round-trips through the verifier. */
    struct ksm_s3_presign_in in2 = {"PUT", "s3.jp-east.example.jp", "/bucket/a%20b/c.txt",
                                    "versionId=3&x=%2F", "kasumi_key1", "s3cr3t", "jp-east", T0, 600};
    q = ksm_s3_presign(&in2);
    struct req r2 = {"PUT", "/bucket/a%20b/c.txt", q, {{0}}, 0, T0 + 599};
    set(&r2, "host", "s3.jp-east.example.jp");
    CHECK(run(&r2, "s3cr3t", &a) == KSM_E_OK);
    CHECK_STR(a.key_id, "kasumi_key1");
    r2.now = T0 + 601;
    CHECK(run1(&r2) == KSM_E_EXPIRED_PRESIGN);
    free(q);

    /* Expiry: the last valid second, one after, a date far in the future. */
    r = presigned(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG, T0 + 86400);
    CHECK(run1(&r) == KSM_E_OK);
    r.now = T0 + 86401;
    CHECK(run1(&r) == KSM_E_EXPIRED_PRESIGN);
    r.now = T0 - KSM_S3_MAX_SKEW - 1;
    CHECK(run1(&r) == KSM_E_PRESIGN_NOT_YET_VALID);
    /* Repeated auth parameters, over-long expiry, a token, a changed path, wrong secret. */
    r = presigned(PRESIGN_Q "&X-Amz-Date=20130524T000001Z&X-Amz-Signature=" PRESIGN_SIG, T0);
    CHECK(run1(&r) == KSM_E_AUTH_QUERY_MALFORMED);
    r = presigned("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
                  "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801"
                  "&X-Amz-SignedHeaders=host&X-Amz-Signature=" PRESIGN_SIG, T0);
    CHECK(run1(&r) == KSM_E_AUTH_QUERY_MALFORMED);
    r = presigned(PRESIGN_Q "&X-Amz-Security-Token=abc&X-Amz-Signature=" PRESIGN_SIG, T0);
    CHECK(run1(&r) == KSM_E_INVALID_TOKEN);
    r = presigned(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG, T0);
    r.path = "/test.txt2";
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r.path = "/test.txt";
    struct ksm_s3_auth a2;
    CHECK(run(&r, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ", &a2) == KSM_E_SIGNATURE_MISMATCH);
    ksm_s3_auth_wipe(&a2);
    r = presigned(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG "&extra=1", T0);
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    /* An unsigned x-amz-* header next to a presign (someone adding x-amz-acl). */
    r = presigned(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG, T0);
    set(&r, "x-amz-acl", "public-read");
    CHECK(run1(&r) == KSM_E_HEADERS_NOT_SIGNED);
    /* Both mechanisms at once. */
    r = presigned(PRESIGN_Q "&X-Amz-Signature=" PRESIGN_SIG, T0);
    set(&r, "authorization", get_object().h[4].value);
    CHECK(run1(&r) == KSM_E_INVALID_ARGUMENT);
}

static void test_refusals(void)
{
    struct req r = get_object();
    struct ksm_s3_auth a;
    set(&r, "range", "bytes=0-8");
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r = get_object();
    r.path = "/test.txu";
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r = get_object();
    r.query = "a=b";
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r = get_object();
    CHECK(run(&r, "not-the-secret", &a) == KSM_E_SIGNATURE_MISMATCH);
    CHECK(run(&r, SECRET, &a) == KSM_E_OK);   /* the cache did not keep the wrong one */
    ksm_s3_auth_wipe(&a);
    r.method = "PUT";
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);

    /* Clock: 15 minutes either way is fine, a second more is not. */
    r = get_object();
    r.now = T0 + KSM_S3_MAX_SKEW;
    CHECK(run1(&r) == KSM_E_OK);
    r.now = T0 + KSM_S3_MAX_SKEW + 1;
    CHECK(run1(&r) == KSM_E_REQUEST_TIME_SKEWED);
    r.now = T0 - KSM_S3_MAX_SKEW - 1;
    CHECK(run1(&r) == KSM_E_REQUEST_TIME_SKEWED);

    /* Region: only those the node serves. */
    r = get_object();
    struct ksm_s3_request rq = view(&r);
    static const char *const jp[] = {"jp-east", "jp-west"};
    struct ksm_s3_auth_opts jp_only = {jp, 2, 0};
    CHECK(ksm_s3_auth_parse(&rq, &jp_only, &a) == KSM_E_AUTH_HEADER_MALFORMED);

    /* A signed header absent; an x-amz-* header present but unsigned; a token. */
    r = get_object();
    drop(&r, "range");
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);
    r = get_object();
    set(&r, "x-amz-meta-owner", "mallory");
    CHECK(run1(&r) == KSM_E_HEADERS_NOT_SIGNED);
    r = get_object();
    set(&r, "x-amz-security-token", "abc");
    CHECK(run1(&r) == KSM_E_INVALID_TOKEN);
    /* A repeated header changes the canonical value (joined with ','). */
    r = get_object();
    r.h[r.n++] = (struct ksm_s3_hdr){"range", "bytes=0-9"};
    CHECK(run1(&r) == KSM_E_SIGNATURE_MISMATCH);

    /* Malformed headers and values. */
    static const struct {
        const char *auth;
        enum ksm_err want;
    } bad[] = {
        {"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", KSM_E_AUTH_HEADER_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdbXX",
         KSM_E_AUTH_HEADER_MALFORMED},   /* bad hex */
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb4",
         KSM_E_AUTH_HEADER_MALFORMED},   /* short */
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=range;host;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* unsorted */
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;Range;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* upper case */
        {"AWS4-HMAC-SHA256 Credential=" AKID "/20130525/us-east-1/s3/aws4_request,SignedHeaders=host;"
         "range;x-amz-content-sha256;x-amz-date,Signature="
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* scope date is not the request date */
        {"AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/iam/aws4_request,SignedHeaders=host;"
         "range;x-amz-content-sha256;x-amz-date,Signature="
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* another service */
        {"AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/aws4_request/x,SignedHeaders=host;"
         "range;x-amz-content-sha256;x-amz-date,Signature="
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41,Signature="
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* repeated field */
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=range;x-amz-content-sha256;x-amz-date,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* host not signed */
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-content-sha256,"
         "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
         KSM_E_AUTH_HEADER_MALFORMED},   /* x-amz-date not signed */
        {"AWS4-HMAC-SHA256 ", KSM_E_AUTH_HEADER_MALFORMED},
        {"AWS4-HMAC-SHA256", KSM_E_AUTH_HEADER_MALFORMED},
        {"", KSM_E_AUTH_HEADER_MALFORMED},
    };
    for (size_t i = 0; i < KSM_NELEM(bad); i++) {
        r = get_object();
        set(&r, "authorization", bad[i].auth);
        enum ksm_err e = run1(&r);
        if (e != bad[i].want)
            fprintf(stderr, "bad[%zu]: %s\n", i, ksm_err_code(e));
        CHECK(e == bad[i].want);
    }
    r = get_object();
    set(&r, "x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g");
    CHECK(run1(&r) == KSM_E_INVALID_ARGUMENT);
    set(&r, "x-amz-content-sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD");
    CHECK(run1(&r) == KSM_E_INVALID_ARGUMENT);
    drop(&r, "x-amz-content-sha256");
    set(&r, "authorization", "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(run1(&r) == KSM_E_BAD_REQUEST);
    r = get_object();
    set(&r, "x-amz-date", "20130524T000000");
    CHECK(run1(&r) == KSM_E_AUTH_HEADER_MALFORMED);
    r = get_object();
    r.path = "/test%2.txt";
    CHECK(run1(&r) == KSM_E_INVALID_URI);
    r = get_object();
    drop(&r, "authorization");
    CHECK(run1(&r) == KSM_E_UNAUTHENTICATED);
}

/* The generic SigV4 test suite (service "service", secret with a '+'): the paths and queries
 * that S3's single encoding handles the same way. */
static void test_suite_vectors(void)
{
    static const struct {
        const char *name, *path, *query, *sig;
    } v[] = {
        {"get-vanilla", "/", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
        {"get-vanilla-query-order-key-case", "/", "Param2=value2&Param1=value1",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"get-vanilla-empty-query-key", "/", "Param1=value1",
         "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
        {"get-vanilla-query-unreserved", "/",
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
         "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
         "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        {"get-utf8", "/%E1%88%B4", "", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        {"get-utf8 (raw bytes)", "/\xe1\x88\xb4", "",
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        {"get-vanilla-utf8-query", "/", "%E1%88%B4=bar",
         "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        {"get-slashes-unnormalized", "//example//", "",
         "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
        {"get-space-unnormalized", "/example%20space/", "",
         "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    };
    static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    unsigned char key[32];
    ksm_s3_derive_key(secret, strlen(secret), "20150830", "us-east-1", "service", key);
    for (size_t i = 0; i < KSM_NELEM(v); i++) {
        struct req r = {"GET", v[i].path, v[i].query, {{0}}, 0, 0};
        set(&r, "host", "example.amazonaws.com");
        set(&r, "x-amz-date", "20150830T123600Z");
        struct ksm_s3_auth a;
        memset(&a, 0, sizeof a);
        strcpy(a.date, "20150830");
        strcpy(a.region, "us-east-1");
        strcpy(a.service, "service");
        strcpy(a.amz_date, "20150830T123600Z");
        strcpy(a.signed_headers, "host;x-amz-date");
        strcpy(a.payload_hash, KSM_S3_EMPTY_SHA256);
        struct ksm_s3_request rq = view(&r);
        struct ksm_buf c = KSM_BUF_INIT, s = KSM_BUF_INIT;
        char sig[65];
        CHECK(ksm_s3_canonical_request(&rq, &a, &c) == KSM_E_OK);
        ksm_s3_string_to_sign(&a, c.data, c.len, &s);
        ksm_s3_hmac_hex(key, s.data, s.len, sig);
        if (strcmp(sig, v[i].sig))
            fprintf(stderr, "%s:\n%s\n", v[i].name, c.data);
        CHECK_STR(sig, v[i].sig);
        ksm_buf_free(&c);
        ksm_buf_free(&s);
    }
}

static void test_canonical_pieces(void)
{
    static const struct {
        const char *path, *query, *want;
    } v[] = {
        {"", "", "GET\n/\n\n"},
        {"/a%2fb/c", "", "GET\n/a%2Fb/c\n\n"},
        {"/a+b", "", "GET\n/a%2Bb\n\n"},
        {"/k", "a=1&b=&c", "GET\n/k\na=1&b=&c=\n"},
        {"/k", "b=2&a=2&a=1", "GET\n/k\na=1&a=2&b=2\n"},
        {"/k", "k=a+b&j=%2f&i=/", "GET\n/k\ni=%2F&j=%2F&k=a%20b\n"},
        {"/k", "&&x=1&", "GET\n/k\nx=1\n"},
        {"/k", "a-b=1&a=2&aa=3", "GET\n/k\na=2&a-b=1&aa=3\n"},
    };
    for (size_t i = 0; i < KSM_NELEM(v); i++) {
        struct ksm_s3_request rq = {"GET", v[i].path, v[i].query, NULL, 0, 0};
        struct ksm_s3_auth a;
        memset(&a, 0, sizeof a);
        struct ksm_buf c = KSM_BUF_INIT;
        CHECK(ksm_s3_canonical_request(&rq, &a, &c) == KSM_E_OK);
        CHECK(c.data && !strncmp(c.data, v[i].want, strlen(v[i].want)));
        if (c.data && strncmp(c.data, v[i].want, strlen(v[i].want)))
            fprintf(stderr, "got %s\n", c.data);
        ksm_buf_free(&c);
    }
    struct ksm_s3_request rq = {"GET", "no-slash", "", NULL, 0, 0};
    struct ksm_s3_auth a;
    memset(&a, 0, sizeof a);
    struct ksm_buf c = KSM_BUF_INIT;
    CHECK(ksm_s3_canonical_request(&rq, &a, &c) == KSM_E_INVALID_URI);
    ksm_buf_free(&c);
}

int main(void)
{
    test_get_object();
    test_put_object();
    test_bucket_examples();
    test_presigned();
    test_refusals();
    test_suite_vectors();
    test_canonical_pieces();
    return CHECK_DONE();
}
