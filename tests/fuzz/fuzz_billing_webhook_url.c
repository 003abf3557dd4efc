/* fuzz_billing_webhook_url.c — libFuzzer target for the webhook URL check: any bytes are accepted
 * or refused with a reason, never a crash or a read past the input; an accepted URL is http(s),
 * printable ASCII, within the length limit and free of credentials and fragments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing_budget.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1); /* exactly the input: ASan sees any overread */
    memcpy(url, data, size);
    url[size] = '\0';
    const char *why = NULL;
    if (ksm_billing_webhook_url_ok(url, size, &why)) {
        if (size > KSM_BILLING_WH_URL_MAX || strchr(url, '#') || strchr(url, ' ') ||
            (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
            abort();
    } else if (!why) {
        abort();
    }
    free(url);
    return 0;
}
