/* fuzz_conf.c — libFuzzer target for the config parser: any bytes must give a config or an error
 * message, never a crash, a leak or a read past the input (which is not NUL-terminated here). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan catches any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct ksm_conf c;
    char err[512];
    ksm_conf_defaults(&c);
    if (ksm_conf_parse(&c, "fuzz", (const char *)text, size, err, sizeof err) == 0)
        ksm_conf_validate(&c, err, sizeof err);
    else if (strncmp(err, "fuzz:", 5) != 0)
        abort();   /* every error names its position */
    free(text);
    return 0;
}
