/* s3_presign.c — making presigned S3 URLs (for tests and the console): the X-Amz-* query parameters
 * for a GET or PUT that signs only "host" and an UNSIGNED-PAYLOAD, built through the same canonical
 * request code that verifies them, so the two cannot drift apart. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "storage/s3_sigv4.h"

/* Only characters that need no URI encoding, so the credential can be written as is. */
static bool plain(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > max)
        return false;
    for (; *s; s++)
        if (!(*s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') ||
              (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
            return false;
    return true;
}

char *ksm_s3_presign(const struct ksm_s3_presign_in *in)
{
    struct ksm_s3_auth a;
    struct ksm_buf qs = KSM_BUF_INIT, canon = KSM_BUF_INIT, sts = KSM_BUF_INIT;
    char sig[65];
    char *out = NULL;
    time_t t = (time_t)in->time;
    struct tm tm;

    if (!plain(in->key_id, KSM_S3_KEY_ID_MAX) || !plain(in->region, KSM_S3_REGION_MAX) ||
        !in->secret || !in->method || !in->host || !in->path || in->expires < 1 ||
        in->expires > KSM_S3_MAX_EXPIRES || in->time < 0 || !gmtime_r(&t, &tm))
        return NULL;
    memset(&a, 0, sizeof a);
    a.presigned = true;
    strftime(a.amz_date, sizeof a.amz_date, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(a.date, a.amz_date, 8);
    snprintf(a.region, sizeof a.region, "%s", in->region);
    strcpy(a.service, "s3");
    strcpy(a.signed_headers, "host");
    strcpy(a.payload_hash, "UNSIGNED-PAYLOAD");

    if (in->query && *in->query)
        ksm_buf_printf(&qs, "%s&", in->query);
    ksm_buf_printf(&qs,
                   "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s%%2F%s%%2F%s%%2Fs3%%2Faws4_request"
                   "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=host",
                   in->key_id, a.date, a.region, a.amz_date, (long long)in->expires);

    struct ksm_s3_hdr host = {"host", in->host};
    struct ksm_s3_request rq = {in->method, in->path, qs.data, &host, 1, in->time};
    if (ksm_s3_canonical_request(&rq, &a, &canon) != KSM_E_OK)
        goto fail;
    ksm_s3_string_to_sign(&a, canon.data, canon.len, &sts);
    ksm_s3_derive_key(in->secret, strlen(in->secret), a.date, a.region, a.service, a.signing_key);
    ksm_s3_hmac_hex(a.signing_key, sts.data, sts.len, sig);
    ksm_buf_printf(&qs, "&X-Amz-Signature=%s", sig);
    out = ksm_buf_steal(&qs);
fail:
    OPENSSL_cleanse(&a, sizeof a);
    ksm_buf_free(&qs);
    ksm_buf_free(&canon);
    ksm_buf_free(&sts);
    return out;
}
