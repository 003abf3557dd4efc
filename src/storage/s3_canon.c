/* s3_canon.c — the SigV4 canonical request and string to sign, byte for byte as AWS builds them.
 * S3 differs from the other AWS services in one place: the path is URI-encoded once (each segment
 * decoded, then re-encoded), never twice and never normalised ("a/../b" and "//" stay as sent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_sigv4.h"

static const char HEXU[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Appends the AWS URI encoding of the percent-decoded form of in[0..n): every byte that is not
 * unreserved becomes %XX (upper case). Decoding first makes "%24", "%2f" and "$" agree with what
 * the client signed, whichever form it sent. plus_space: a '+' in a query means a space. */
static int append_reencoded(struct ksm_buf *out, const char *in, size_t n, bool plus_space)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = ksm_hexval(in[i + 1]), lo = ksm_hexval(in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (unreserved(c)) {
            ksm_buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', HEXU[c >> 4], HEXU[c & 15]};
            ksm_buf_append(out, e, 3);
        }
    }
    return 0;
}

static enum ksm_err canonical_uri(struct ksm_buf *out, const char *path)
{
    if (!path || !*path) {
        ksm_buf_putc(out, '/');
        return KSM_E_OK;
    }
    if (*path != '/')
        return KSM_E_INVALID_URI;
    for (const char *p = path; *p;) {
        const char *seg = p + 1, *end = strchr(seg, '/');
        if (!end)
            end = seg + strlen(seg);
        ksm_buf_putc(out, '/');
        if (append_reencoded(out, seg, (size_t)(end - seg), false) < 0)
            return KSM_E_INVALID_URI;
        p = end;
    }
    return KSM_E_OK;
}

struct qparam {
    char *kv;        /* "name=value", encoded */
    size_t klen;     /* length of the encoded name */
};

static int qparam_cmp(const void *x, const void *y)
{
    const struct qparam *a = x, *b = y;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->kv, b->kv, n);
    if (c || a->klen != b->klen)
        return c ? c : (a->klen < b->klen ? -1 : 1);
    return strcmp(a->kv + a->klen + 1, b->kv + b->klen + 1);
}

/* Sorted by encoded name, then by encoded value; X-Amz-Signature left out of a presign. */
static enum ksm_err canonical_query(struct ksm_buf *out, const char *q, bool presigned)
{
    struct qparam *v = NULL;
    size_t n = 0, cap = 0;
    enum ksm_err err = KSM_E_OK;
    struct ksm_buf b = KSM_BUF_INIT;

    for (const char *p = q ? q : ""; *p;) {
        const char *end = strchr(p, '&');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq ? eq : end;
        bool skip = end == p ||
                    (presigned && kend - p == 15 && !memcmp(p, "X-Amz-Signature", 15));
        if (!skip) {
            ksm_buf_reset(&b);
            if (append_reencoded(&b, p, (size_t)(kend - p), true) < 0)
                goto bad;
            size_t klen = b.len;
            ksm_buf_putc(&b, '=');
            if (eq && append_reencoded(&b, eq + 1, (size_t)(end - eq - 1), true) < 0)
                goto bad;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                v = ksm_xrealloc(v, cap * sizeof *v);
            }
            v[n].klen = klen;
            v[n++].kv = ksm_buf_steal(&b);
        }
        p = *end ? end + 1 : end;
    }
    if (n)
        qsort(v, n, sizeof *v, qparam_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ksm_buf_putc(out, '&');
        ksm_buf_puts(out, v[i].kv);
    }
    goto done;
bad:
    err = KSM_E_INVALID_URI;
done:
    for (size_t i = 0; i < n; i++)
        free(v[i].kv);
    free(v);
    ksm_buf_free(&b);
    return err;
}

/* Value trimmed, runs of white space collapsed to one space (as botocore: ' '.join(v.split())). */
static void append_value(struct ksm_buf *out, const char *v)
{
    bool space = false, any = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = any;
            continue;
        }
        if (space)
            ksm_buf_putc(out, ' ');
        ksm_buf_putc(out, *v);
        space = false;
        any = true;
    }
}

static void canonical_headers(struct ksm_buf *out, const struct ksm_s3_request *rq, const char *list)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        ksm_buf_append(out, p, n);
        ksm_buf_putc(out, ':');
        int seen = 0;
        for (int i = 0; i < rq->nheaders; i++) {
            const char *name = rq->headers[i].name;
            if (strlen(name) != n || memcmp(name, p, n))
                continue;
            if (seen++)
                ksm_buf_putc(out, ',');
            append_value(out, rq->headers[i].value);
        }
        ksm_buf_putc(out, '\n');
        p += n;
        if (*p)
            p++;
    }
}

enum ksm_err ksm_s3_canonical_request(const struct ksm_s3_request *rq, const struct ksm_s3_auth *a,
                                      struct ksm_buf *out)
{
    enum ksm_err err;
    ksm_buf_puts(out, rq->method);
    ksm_buf_putc(out, '\n');
    if ((err = canonical_uri(out, rq->path)) != KSM_E_OK)
        return err;
    ksm_buf_putc(out, '\n');
    if ((err = canonical_query(out, rq->query, a->presigned)) != KSM_E_OK)
        return err;
    ksm_buf_putc(out, '\n');
    canonical_headers(out, rq, a->signed_headers);
    ksm_buf_putc(out, '\n');
    ksm_buf_puts(out, a->signed_headers);
    ksm_buf_putc(out, '\n');
    ksm_buf_puts(out, a->payload_hash);
    return KSM_E_OK;
}

void ksm_s3_scope(const struct ksm_s3_auth *a, char out[128])
{
    snprintf(out, 128, "%s/%s/%s/aws4_request", a->date, a->region, a->service);
}

void ksm_s3_string_to_sign(const struct ksm_s3_auth *a, const char *canonical, size_t n,
                           struct ksm_buf *out)
{
    char scope[128], h[65];
    ksm_s3_scope(a, scope);
    ksm_sha256_hex(canonical, n, h);
    ksm_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", a->amz_date, scope, h);
}
