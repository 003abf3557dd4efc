/* fuzz_supply_date.c — libFuzzer target for the schedule date parser (Western and 和暦): any bytes
 * give a calendar-valid ISO date or a reason, never a crash or a read past the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supply/supply_date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), out[11];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    const char *why = NULL;
    if (ksm_supply_date_parse(s, out, &why) == 0) {
        if (ksm_supply_date_days(out) == INT32_MIN)
            abort();   /* what it accepts is a real date */
    } else if (!why) {
        abort();
    }
    free(s);
    return 0;
}
