/* s3_sigv4.c — reading and checking an S3 request's SigV4 credentials: the Authorization header or
 * the presigned X-Amz-* query parameters, the scope, the clock, the payload mode; then, with the
 * secret, the signature itself. Cheap checks come first so that a malformed, stale or foreign-region
 * request costs no secret lookup. Nothing here logs: details go to a->why, which never holds a
 * secret or a signature. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/evp.h"
#include "core/util.h"
#include "storage/s3_sigv4.h"

static const struct {
    const char *value;
    enum ksm_s3_payload mode;
} payload_modes[] = {
    {"UNSIGNED-PAYLOAD", KSM_S3_PAYLOAD_UNSIGNED},
    {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", KSM_S3_PAYLOAD_STREAMING},
    {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", KSM_S3_PAYLOAD_STREAMING_TRAILER},
    {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", KSM_S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER},
};

/* The presigned parameters, in one table: name, and where the raw value goes. */
enum { Q_ALG, Q_CRED, Q_DATE, Q_EXPIRES, Q_SIGNED, Q_SIG, Q_TOKEN, Q_SHA, Q__COUNT };
static const char *const qnames[Q__COUNT] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",      "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
};

struct span {
    const char *p;
    size_t n;
    bool set;
};

static enum ksm_err fail(struct ksm_s3_auth *a, enum ksm_err e, const char *why)
{
    a->why = why;
    return e;
}

/* The 400 that names the auth form the client used. */
static enum ksm_err malformed(struct ksm_s3_auth *a, const char *why)
{
    return fail(a, a->presigned ? KSM_E_AUTH_QUERY_MALFORMED : KSM_E_AUTH_HEADER_MALFORMED, why);
}

static const char *header(const struct ksm_s3_request *rq, const char *name)
{
    for (int i = 0; i < rq->nheaders; i++)
        if (!strcmp(rq->headers[i].name, name))
            return rq->headers[i].value;
    return NULL;
}

static int header_count(const struct ksm_s3_request *rq, const char *name, size_t n)
{
    int c = 0;
    for (int i = 0; i < rq->nheaders; i++)
        c += strlen(rq->headers[i].name) == n && !memcmp(rq->headers[i].name, name, n);
    return c;
}

static bool span_eq(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && !memcmp(p, s, n);
}

/* Copies span into dst (cap bytes with the NUL), percent-decoding if asked; -1 if it does not fit,
 * holds a NUL or a bad escape. */
static int copy_span(char *dst, size_t cap, const char *p, size_t n, bool decode)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (decode && c == '%') {
            unsigned char b;
            if (n - i < 3 || ksm_unhex(p + i + 1, 2, &b) < 0)
                return -1;
            c = b;
            i += 2;
        }
        if (!c || o + 1 >= cap)
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = 0;
    return 0;
}

/* YYYYMMDDTHHMMSSZ → seconds; -1 if malformed or not a real date. */
static int64_t parse_amz_date(const char *s)
{
    int v[6];
    static const int at[6] = {0, 4, 6, 9, 11, 13}, len[6] = {4, 2, 2, 2, 2, 2};
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return -1;
    for (int f = 0; f < 6; f++) {
        v[f] = 0;
        for (int i = 0; i < len[f]; i++) {
            char c = s[at[f] + i];
            if (c < '0' || c > '9')
                return -1;
            v[f] = v[f] * 10 + (c - '0');
        }
    }
    struct tm tm = {.tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2],
                    .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5]};
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != v[2] || back.tm_mon != v[1] - 1 ||
        back.tm_hour != v[3] || back.tm_min != v[4] || back.tm_sec != v[5])
        return -1;   /* timegm normalises 30 February; a signed date must be real */
    return (int64_t)t;
}

/* RFC 7231 IMF-fixdate, "Fri, 24 May 2013 00:00:00 GMT" → YYYYMMDDTHHMMSSZ; -1 if malformed. */
static int date_header_to_amz(const char *s, char out[17])
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4];
    int d, y, h, mi, se, used = -1;
    const char *comma = strchr(s, ',');
    if (!comma || sscanf(comma + 1, " %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &h, &mi, &se,
                         &used) != 6 || used < 0 || comma[1 + used])
        return -1;
    const char *m = strlen(mon) == 3 ? strstr(months, mon) : NULL;
    if (!m || (m - months) % 3 || y < 1970 || y > 9999 || d < 1 || h < 0 || mi < 0 || se < 0)
        return -1;
    char tmp[80];
    if (snprintf(tmp, sizeof tmp, "%04d%02d%02dT%02d%02d%02dZ", y, (int)(m - months) / 3 + 1, d, h,
                 mi, se) != 16 || parse_amz_date(tmp) < 0)
        return -1;
    memcpy(out, tmp, 17);
    return 0;
}

/* AKID/YYYYMMDD/region/s3/aws4_request */
static enum ksm_err parse_credential(struct ksm_s3_auth *a, const char *s, size_t n)
{
    struct span part[5];
    int np = 0;
    const char *p = s, *e = s + n;
    while (np < 5) {
        const char *slash = memchr(p, '/', (size_t)(e - p));
        const char *end = slash ? slash : e;
        part[np++] = (struct span){p, (size_t)(end - p), true};
        if (!slash)
            break;
        p = slash + 1;
    }
    if (np != 5 || part[4].p + part[4].n != e)
        return malformed(a, "the credential must be key-id/date/region/s3/aws4_request");
    if (!part[0].n || copy_span(a->key_id, sizeof a->key_id, part[0].p, part[0].n, false) < 0)
        return malformed(a, "the access key id is empty or too long");
    for (const char *k = a->key_id; *k; k++)
        if (!(*k == '-' || *k == '_' || *k == '.' || (*k >= '0' && *k <= '9') ||
              (*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z')))
            return malformed(a, "the access key id has an invalid character");
    if (part[1].n != 8 || copy_span(a->date, sizeof a->date, part[1].p, 8, false) < 0)
        return malformed(a, "the credential date must be YYYYMMDD");
    if (!part[2].n || copy_span(a->region, sizeof a->region, part[2].p, part[2].n, false) < 0)
        return malformed(a, "the credential region is empty or too long");
    if (!span_eq(part[3].p, part[3].n, "s3"))
        return malformed(a, "the credential service must be s3");
    if (!span_eq(part[4].p, part[4].n, "aws4_request"))
        return malformed(a, "the credential must end in aws4_request");
    return KSM_E_OK;
}

/* Lower-case header names, strictly ascending, so the canonical form is the list as sent. */
static enum ksm_err parse_signed_headers(struct ksm_s3_auth *a, const char *s, size_t n)
{
    if (!n || copy_span(a->signed_headers, sizeof a->signed_headers, s, n, false) < 0)
        return malformed(a, "SignedHeaders is empty or too long");
    const char *prev = NULL;
    size_t prevn = 0;
    for (const char *p = a->signed_headers; *p;) {
        size_t len = strcspn(p, ";");
        if (!len)
            return malformed(a, "SignedHeaders has an empty name");
        for (size_t i = 0; i < len; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~", p[i]))
                return malformed(a, "SignedHeaders must be lower-case header names");
        if (prev) {
            int c = memcmp(prev, p, prevn < len ? prevn : len);
            if (c > 0 || (c == 0 && prevn >= len))
                return malformed(a, "SignedHeaders must be sorted and without duplicates");
        }
        prev = p;
        prevn = len;
        p += len;
        if (*p && !*++p)
            return malformed(a, "SignedHeaders has an empty name");
    }
    return KSM_E_OK;
}

static bool signed_has(const struct ksm_s3_auth *a, const char *name, size_t n)
{
    for (const char *p = a->signed_headers; *p;) {
        size_t len = strcspn(p, ";");
        if (len == n && !memcmp(p, name, n))
            return true;
        p += len;
        if (*p)
            p++;
    }
    return false;
}

static enum ksm_err parse_signature(struct ksm_s3_auth *a, const char *s, size_t n)
{
    if (n != 64 || ksm_unhex(s, 64, a->signature) < 0)
        return malformed(a, "the signature must be 64 hex digits");
    return KSM_E_OK;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." — each exactly once. */
static enum ksm_err parse_header_auth(struct ksm_s3_auth *a, const char *h)
{
    static const char alg[] = "AWS4-HMAC-SHA256";
    enum { F_CRED, F_SIGNED, F_SIG, F__COUNT };
    static const char *const fields[F__COUNT] = {"Credential", "SignedHeaders", "Signature"};
    struct span f[F__COUNT] = {{0}};

    if (strncmp(h, alg, sizeof alg - 1) || (h[sizeof alg - 1] != ' '))
        return malformed(a, "only AWS4-HMAC-SHA256 authorization is supported");
    for (const char *p = h + sizeof alg - 1; *p;) {
        p += strspn(p, " ,");
        if (!*p)
            break;
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return malformed(a, "an authorization field has no '='");
        size_t vlen = len - (size_t)(eq + 1 - p);
        while (vlen && eq[vlen] == ' ')
            vlen--;
        int k = 0;
        while (k < F__COUNT && !span_eq(p, (size_t)(eq - p), fields[k]))
            k++;
        if (k == F__COUNT || f[k].set)
            return malformed(a, "unknown or repeated authorization field");
        f[k] = (struct span){eq + 1, vlen, true};
        p += len;
    }
    if (!f[F_CRED].set || !f[F_SIGNED].set || !f[F_SIG].set)
        return malformed(a, "Credential, SignedHeaders and Signature are all required");
    enum ksm_err e;
    if ((e = parse_credential(a, f[F_CRED].p, f[F_CRED].n)) != KSM_E_OK ||
        (e = parse_signed_headers(a, f[F_SIGNED].p, f[F_SIGNED].n)) != KSM_E_OK ||
        (e = parse_signature(a, f[F_SIG].p, f[F_SIG].n)) != KSM_E_OK)
        return e;
    return KSM_E_OK;
}

/* Finds the X-Amz-* parameters (names compared decoded, exactly); a repeat is an error, since the
 * signer and we could otherwise read different values. */
static enum ksm_err scan_query(struct ksm_s3_auth *a, const char *q, struct span v[Q__COUNT])
{
    char name[32];
    for (const char *p = q ? q : ""; *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        if (nlen < sizeof name && copy_span(name, sizeof name, p, nlen, true) == 0) {
            for (int k = 0; k < Q__COUNT; k++) {
                if (strcmp(name, qnames[k]))
                    continue;
                if (v[k].set)
                    return fail(a, KSM_E_AUTH_QUERY_MALFORMED, "a presign parameter is repeated");
                v[k] = (struct span){eq ? eq + 1 : p + len, eq ? len - nlen - 1 : 0, true};
            }
        }
        p += len;
        if (*p)
            p++;
    }
    return KSM_E_OK;
}

static enum ksm_err parse_query_auth(struct ksm_s3_auth *a, struct span v[Q__COUNT])
{
    char buf[KSM_S3_SIGNED_HEADERS_MAX + 1];
    enum ksm_err e;
    a->presigned = true;
    for (int k = 0; k <= Q_SIG; k++)
        if (!v[k].set)
            return malformed(a, "X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders "
                                "and -Signature are all required");
    if (copy_span(buf, sizeof buf, v[Q_ALG].p, v[Q_ALG].n, true) < 0 || strcmp(buf, "AWS4-HMAC-SHA256"))
        return malformed(a, "X-Amz-Algorithm must be AWS4-HMAC-SHA256");
    if (copy_span(buf, sizeof buf, v[Q_CRED].p, v[Q_CRED].n, true) < 0)
        return malformed(a, "X-Amz-Credential is malformed");
    if ((e = parse_credential(a, buf, strlen(buf))) != KSM_E_OK)
        return e;
    if (copy_span(a->amz_date, sizeof a->amz_date, v[Q_DATE].p, v[Q_DATE].n, true) < 0 ||
        (a->time = parse_amz_date(a->amz_date)) < 0)
        return malformed(a, "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
    char *end;
    if (copy_span(buf, 16, v[Q_EXPIRES].p, v[Q_EXPIRES].n, true) < 0 || buf[0] < '0' || buf[0] > '9' ||
        (a->expires = strtoll(buf, &end, 10), *end) || a->expires < 1 || a->expires > KSM_S3_MAX_EXPIRES)
        return malformed(a, "X-Amz-Expires must be 1 to 604800 seconds");
    if (copy_span(buf, sizeof buf, v[Q_SIGNED].p, v[Q_SIGNED].n, true) < 0)
        return malformed(a, "X-Amz-SignedHeaders is malformed or too long");
    if ((e = parse_signed_headers(a, buf, strlen(buf))) != KSM_E_OK)
        return e;
    if (copy_span(buf, 80, v[Q_SIG].p, v[Q_SIG].n, true) < 0)
        return malformed(a, "X-Amz-Signature must be 64 hex digits");
    return parse_signature(a, buf, strlen(buf));
}

/* Header auth: the time is x-amz-date, or Date when there is none. */
static enum ksm_err header_time(const struct ksm_s3_request *rq, struct ksm_s3_auth *a)
{
    const char *xd = header(rq, "x-amz-date"), *d = header(rq, "date");
    if (xd) {
        if (copy_span(a->amz_date, sizeof a->amz_date, xd, strlen(xd), false) < 0 ||
            (a->time = parse_amz_date(a->amz_date)) < 0)
            return malformed(a, "x-amz-date must be YYYYMMDDTHHMMSSZ");
        if (!signed_has(a, "x-amz-date", 10))
            return malformed(a, "x-amz-date must be signed");
    } else if (d) {
        if (date_header_to_amz(d, a->amz_date) < 0)
            return malformed(a, "the Date header is not an IMF-fixdate");
        a->time = parse_amz_date(a->amz_date);
        if (!signed_has(a, "date", 4))
            return malformed(a, "the Date header must be signed");
    } else {
        return malformed(a, "x-amz-date or Date is required");
    }
    return KSM_E_OK;
}

static enum ksm_err payload_mode(struct ksm_s3_auth *a, const char *v)
{
    for (size_t i = 0; i < KSM_NELEM(payload_modes); i++) {
        if (!strcmp(v, payload_modes[i].value)) {
            a->payload = payload_modes[i].mode;
            snprintf(a->payload_hash, sizeof a->payload_hash, "%s", v);
            return KSM_E_OK;
        }
    }
    unsigned char d[32];
    if (strlen(v) != 64 || ksm_unhex(v, 64, d) < 0)
        return fail(a, KSM_E_INVALID_ARGUMENT, "x-amz-content-sha256 must be a hex SHA-256, "
                                               "UNSIGNED-PAYLOAD or a STREAMING- mode");
    a->payload = KSM_S3_PAYLOAD_SHA256;
    memcpy(a->payload_hash, v, 65);
    return KSM_E_OK;
}

static enum ksm_err header_payload(const struct ksm_s3_request *rq, struct ksm_s3_auth *a)
{
    const char *v = header(rq, "x-amz-content-sha256");
    if (!v)
        return fail(a, KSM_E_BAD_REQUEST, "x-amz-content-sha256 is required");
    enum ksm_err e = payload_mode(a, v);
    if (e != KSM_E_OK || a->payload == KSM_S3_PAYLOAD_SHA256 || a->payload == KSM_S3_PAYLOAD_UNSIGNED)
        return e;
    const char *dl = header(rq, "x-amz-decoded-content-length");
    char *end;
    if (!dl || *dl < '0' || *dl > '9' || strlen(dl) > 18 ||
        (a->decoded_length = strtoll(dl, &end, 10), *end))
        return fail(a, KSM_E_LENGTH_REQUIRED, "x-amz-decoded-content-length is required");
    a->trailer = header(rq, "x-amz-trailer");
    return KSM_E_OK;
}

/* A presign signs UNSIGNED-PAYLOAD unless the URL carries X-Amz-Content-Sha256. */
static enum ksm_err query_payload(struct ksm_s3_auth *a, const struct span *sha)
{
    char buf[80];
    if (!sha->set)
        return payload_mode(a, "UNSIGNED-PAYLOAD");
    if (copy_span(buf, sizeof buf, sha->p, sha->n, true) < 0)
        return fail(a, KSM_E_INVALID_ARGUMENT, "X-Amz-Content-Sha256 is malformed");
    enum ksm_err e = payload_mode(a, buf);
    if (e == KSM_E_OK && a->payload != KSM_S3_PAYLOAD_SHA256 && a->payload != KSM_S3_PAYLOAD_UNSIGNED)
        return fail(a, KSM_E_INVALID_ARGUMENT, "a presigned URL cannot stream aws-chunked");
    return e;
}

/* Scope and clock: the region is one we serve, the dates agree, the request is fresh. */
static enum ksm_err check_scope_time(const struct ksm_s3_request *rq,
                                     const struct ksm_s3_auth_opts *opts, struct ksm_s3_auth *a)
{
    size_t i = 0;
    while (i < opts->nregions && strcmp(opts->regions[i], a->region))
        i++;
    if (i == opts->nregions)
        return malformed(a, "the credential's region is not served here");
    if (memcmp(a->date, a->amz_date, 8))
        return malformed(a, "the credential date does not match the request date");
    int64_t skew = opts->max_skew > 0 ? opts->max_skew : KSM_S3_MAX_SKEW;
    if (!a->presigned) {
        if (rq->now - a->time > skew || a->time - rq->now > skew)
            return fail(a, KSM_E_REQUEST_TIME_SKEWED, "the request time is more than 15 minutes off");
        return KSM_E_OK;
    }
    if (a->time - rq->now > skew)
        return fail(a, KSM_E_PRESIGN_NOT_YET_VALID, "X-Amz-Date is in the future");
    if (rq->now - a->time > a->expires)
        return fail(a, KSM_E_EXPIRED_PRESIGN, "the presigned URL has expired");
    return KSM_E_OK;
}

/* Every signed header is present; host is signed; every x-amz-* header sent is signed (else a
 * bearer of a presigned URL could add x-amz-acl and the like). */
static enum ksm_err check_headers(const struct ksm_s3_request *rq, struct ksm_s3_auth *a)
{
    if (!signed_has(a, "host", 4))
        return malformed(a, "host must be signed");
    for (const char *p = a->signed_headers; *p;) {
        size_t len = strcspn(p, ";");
        if (!header_count(rq, p, len))
            return fail(a, KSM_E_SIGNATURE_MISMATCH, "a signed header is absent from the request");
        p += len;
        if (*p)
            p++;
    }
    for (int i = 0; i < rq->nheaders; i++) {
        const char *n = rq->headers[i].name;
        if (!strncmp(n, "x-amz-", 6) && !signed_has(a, n, strlen(n)))
            return fail(a, KSM_E_HEADERS_NOT_SIGNED, "an x-amz-* header is not signed");
    }
    return KSM_E_OK;
}

enum ksm_err ksm_s3_auth_parse(const struct ksm_s3_request *rq, const struct ksm_s3_auth_opts *opts,
                               struct ksm_s3_auth *a)
{
    struct span q[Q__COUNT] = {{0}};
    enum ksm_err e;
    memset(a, 0, sizeof *a);
    strcpy(a->service, "s3");
    a->decoded_length = -1;

    const char *auth = header(rq, "authorization");
    if ((e = scan_query(a, rq->query, q)) != KSM_E_OK)
        return e;
    if (auth && q[Q_ALG].set)
        return fail(a, KSM_E_INVALID_ARGUMENT, "only one auth mechanism is allowed");
    if (!auth && !q[Q_ALG].set)
        return fail(a, KSM_E_UNAUTHENTICATED, "no credentials");
    if (header_count(rq, "authorization", 13) > 1)
        return fail(a, KSM_E_AUTH_HEADER_MALFORMED, "more than one Authorization header");
    if (q[Q_TOKEN].set || header(rq, "x-amz-security-token"))
        return fail(a, KSM_E_INVALID_TOKEN, "temporary credentials are not supported");
    if (auth)
        e = parse_header_auth(a, auth);
    else
        e = parse_query_auth(a, q);
    if (e != KSM_E_OK)
        return e;
    if (!a->presigned && (e = header_time(rq, a)) != KSM_E_OK)
        return e;
    if ((e = check_scope_time(rq, opts, a)) != KSM_E_OK || (e = check_headers(rq, a)) != KSM_E_OK)
        return e;
    return a->presigned ? query_payload(a, &q[Q_SHA]) : header_payload(rq, a);
}

void ksm_s3_hmac_hex(const unsigned char key[32], const void *msg, size_t n, char out[65])
{
    unsigned char mac[32];
    ksm_hmac_sha256(key, 32, msg, n, mac);
    ksm_hex(mac, 32, out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    ksm_hmac_sha256(key, klen, msg, strlen(msg), out);
}

void ksm_s3_derive_key(const char *secret, size_t secret_len, const char *date, const char *region,
                       const char *service, unsigned char out[32])
{
    unsigned char k[32];
    char *seed = ksm_xmalloc(secret_len + 4);
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, secret_len);
    hmac(seed, secret_len + 4, date, k);
    hmac(k, 32, region, k);
    hmac(k, 32, service, k);
    hmac(k, 32, "aws4_request", out);
    OPENSSL_cleanse(seed, secret_len + 4);
    OPENSSL_cleanse(k, sizeof k);
    free(seed);
}

/* The signing key changes daily, not per request: keep the last few per thread, found by a hash of
 * (secret, date, region, service) so the cache never holds a secret. */
#define KEY_CACHE 8
static _Thread_local struct {
    unsigned char id[32], key[32];
    bool used;
} key_cache[KEY_CACHE];
static _Thread_local unsigned key_next;

static void signing_key(const char *secret, size_t len, const struct ksm_s3_auth *a,
                        unsigned char out[32])
{
    unsigned char id[32];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        abort();   /* out of memory: fatal, as ksm_xmalloc */
    EVP_DigestInit_ex(md, ksm_evp_sha256(), NULL);
    EVP_DigestUpdate(md, secret, len);
    EVP_DigestUpdate(md, "", 1);
    EVP_DigestUpdate(md, a->date, strlen(a->date) + 1);
    EVP_DigestUpdate(md, a->region, strlen(a->region) + 1);
    EVP_DigestUpdate(md, a->service, strlen(a->service) + 1);
    EVP_DigestFinal_ex(md, id, NULL);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < KEY_CACHE; i++) {
        if (key_cache[i].used && ksm_ct_equal(key_cache[i].id, id, 32)) {
            memcpy(out, key_cache[i].key, 32);
            return;
        }
    }
    ksm_s3_derive_key(secret, len, a->date, a->region, a->service, out);
    unsigned slot = key_next++ % KEY_CACHE;
    memcpy(key_cache[slot].id, id, 32);
    memcpy(key_cache[slot].key, out, 32);
    key_cache[slot].used = true;
}

enum ksm_err ksm_s3_auth_verify(const struct ksm_s3_request *rq, struct ksm_s3_auth *a,
                                const char *secret, size_t secret_len)
{
    struct ksm_buf canon = KSM_BUF_INIT, sts = KSM_BUF_INIT;
    unsigned char mac[32];
    enum ksm_err err = ksm_s3_canonical_request(rq, a, &canon);
    if (err != KSM_E_OK) {
        a->why = "the path or query has a malformed percent-escape";
        goto fail;
    }
    ksm_s3_string_to_sign(a, canon.data, canon.len, &sts);
    signing_key(secret, secret_len, a, a->signing_key);
    ksm_hmac_sha256(a->signing_key, 32, sts.data, sts.len, mac);
    if (!ksm_ct_equal(mac, a->signature, 32)) {
        err = fail(a, KSM_E_SIGNATURE_MISMATCH, "the signature does not match");
        goto fail;
    }
    ksm_hex(mac, 32, a->seed_signature);
    goto done;
fail:
    OPENSSL_cleanse(a->signing_key, sizeof a->signing_key);
done:
    ksm_buf_free(&canon);
    ksm_buf_free(&sts);
    return err;
}

void ksm_s3_auth_wipe(struct ksm_s3_auth *a)
{
    OPENSSL_cleanse(a, sizeof *a);
}

enum ksm_err ksm_s3_body_hash_init(struct ksm_s3_body_hash *h, const struct ksm_s3_auth *a)
{
    h->md = NULL;
    if (a->payload != KSM_S3_PAYLOAD_SHA256 || ksm_unhex(a->payload_hash, 64, h->want) < 0)
        return KSM_E_INVALID_ARGUMENT;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        abort();
    EVP_DigestInit_ex(md, ksm_evp_sha256(), NULL);
    h->md = md;
    return KSM_E_OK;
}

void ksm_s3_body_hash_update(struct ksm_s3_body_hash *h, const void *p, size_t n)
{
    if (h->md && n)
        EVP_DigestUpdate(h->md, p, n);
}

enum ksm_err ksm_s3_body_hash_final(struct ksm_s3_body_hash *h)
{
    unsigned char got[32];
    if (!h->md)
        return KSM_E_INTERNAL;
    EVP_DigestFinal_ex(h->md, got, NULL);
    ksm_s3_body_hash_free(h);
    return ksm_ct_equal(got, h->want, 32) ? KSM_E_OK : KSM_E_CONTENT_SHA256_MISMATCH;
}

void ksm_s3_body_hash_free(struct ksm_s3_body_hash *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
}

