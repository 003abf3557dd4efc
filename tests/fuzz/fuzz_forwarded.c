/* fuzz_forwarded.c — libFuzzer target for reading the client's address out of X-Forwarded-For
 * behind trusted proxies: any bytes (split into header lines at '\n') give an address that parses
 * as one, or "cannot be known", never a crash or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), out[KSM_ADDR_TEXT], why[160];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    const char *lines[8];
    int n = 0;
    for (char *p = s, *nl; n < 8; p = nl + 1) {
        lines[n++] = p;
        if (!(nl = strchr(p, '\n')))
            break;
        *nl = '\0';
    }
    struct ksm_cidr trusted[2];
    if (!ksm_cidr_parse("10.0.0.0/8", &trusted[0], why) || !ksm_cidr_parse("::1", &trusted[1], why))
        abort();
    uint8_t ip[16];
    if (ksm_forwarded_client("10.0.0.1", lines, n, trusted, 2, out) && !ksm_ip_parse(out, ip))
        abort();   /* what it answers is an address */
    free(s);
    return 0;
}
