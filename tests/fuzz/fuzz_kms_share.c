/* fuzz_kms_share.c — libFuzzer target: arbitrary bytes as master key share lines (kasumi kms
 * restore reads them from people). Each line either is refused or parses to a share that formats
 * back to a line parsing to the same share; the parsed shares then go through the rebuild, which
 * must refuse or return a key, never crash. */
#include <stdlib.h>
#include <string.h>

#include "kms/kms_shamir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ksm_kms_share shares[8], again;
    char text[KSM_KMS_SHARE_TEXT_MAX];
    int n = 0;
    const char *p = (const char *)data, *end = p + size, *why;
    while (p < end && n < 8) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (ksm_kms_share_parse(p, len, &shares[n], &why) == 0) {
            ksm_kms_share_format(&shares[n], text);
            if (ksm_kms_share_parse(text, strlen(text), &again, &why) != 0 ||
                memcmp(&again, &shares[n], sizeof again))
                abort(); /* format and parse disagree */
            n++;
        } else if (!why) {
            abort(); /* a refusal always says why */
        }
        p += len + (nl ? 1 : 0);
    }
    uint8_t key[KSM_KMS_KEY_LEN];
    (void)ksm_kms_share_combine(shares, n, key, &why);
    return 0;
}
