/* fuzz_sigv4.c — libFuzzer target: arbitrary bytes as an S3 request's SigV4 credentials. The input
 * is split at '\n' into path, query, Authorization, x-amz-date, x-amz-content-sha256, Date and one
 * extra header ("name:value"); it goes through ksm_s3_auth_parse() and, when that accepts it,
 * ksm_s3_auth_verify() with a fixed secret and the canonical request. Every outcome must be a
 * defined error with a detail; nothing may read out of bounds or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const regions[] = {"jp-east", "jp-west", "us-east-1"};
    static const struct ksm_s3_auth_opts opts = {regions, 3, 0};
    char *s = malloc(size + 1), *f[8] = {0};
    int nf = 0;
    memcpy(s, data, size);
    s[size] = 0;
    for (char *p = s; nf < 8; nf++) {
        f[nf] = p;
        p = strchr(p, '\n');
        if (!p)
            break;
        *p++ = 0;
    }
    struct ksm_s3_hdr h[8];
    int nh = 0;
    h[nh++] = (struct ksm_s3_hdr){"host", "examplebucket.s3.amazonaws.com"};
    static const char *const names[] = {"authorization", "x-amz-date", "x-amz-content-sha256", "date"};
    for (int i = 0; i < 4; i++)
        if (f[2 + i] && *f[2 + i])
            h[nh++] = (struct ksm_s3_hdr){names[i], f[2 + i]};
    char *colon = f[6] ? strchr(f[6], ':') : NULL;
    if (colon) {
        *colon = 0;
        h[nh++] = (struct ksm_s3_hdr){f[6], colon + 1};
    }
    struct ksm_s3_request rq = {"GET", f[1] ? f[0] : "/", f[1] ? f[1] : f[0], h, nh, 1369353600};
    struct ksm_s3_auth a;
    enum ksm_err e = ksm_s3_auth_parse(&rq, &opts, &a);
    if (e != KSM_E_OK && !a.why)
        abort();   /* every refusal says why */
    if (e == KSM_E_OK) {
        e = ksm_s3_auth_verify(&rq, &a, "secret", 6);
        if (e == KSM_E_OK && strlen(a.seed_signature) != 64)
            abort();
    }
    struct ksm_buf c = KSM_BUF_INIT;
    ksm_s3_canonical_request(&rq, &a, &c);
    ksm_buf_free(&c);
    ksm_s3_auth_wipe(&a);
    free(s);
    return 0;
}
