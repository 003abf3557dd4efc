/* fuzz_cidr.c — libFuzzer target for the IP network parser (a project's allowed_networks): any
 * bytes give a network or a reason, never a crash; a network it accepts prints back as text it
 * parses again to the same network, and contains its own first address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), why[160] = "", text[KSM_CIDR_TEXT];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct ksm_cidr c, again;
    if (ksm_cidr_parse(s, &c, why)) {
        ksm_cidr_format(&c, text);
        if (!ksm_cidr_parse(text, &again, why) || memcmp(&c, &again, sizeof c) ||
            !ksm_cidr_contains(&c, c.addr))
            abort();
    } else if (!why[0]) {
        abort();
    }
    uint8_t ip[16];
    (void)ksm_ip_parse(s, ip);
    free(s);
    return 0;
}
