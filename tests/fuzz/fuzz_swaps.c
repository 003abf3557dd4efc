/* fuzz_swaps.c — libFuzzer target for the swap list reader (/proc/swaps format, src/core/swaps.c):
 * any bytes give a count, never a crash; and without NUL bytes the count equals that of a
 * reference reading of the whole buffer: the lines after the first that are not blank. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/swaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int reference(const uint8_t *d, size_t n)
{
    int count = 0, line = 0;
    int blank = 1;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || d[i] == '\n') {
            if (i == n && blank && (n == 0 || d[n - 1] == '\n'))
                break;   /* nothing after the last newline: no line */
            if (line > 0 && !blank)
                count++;
            line++;
            blank = 1;
        } else if (d[i] != ' ' && d[i] != '\t') {
            blank = 0;
        }
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    FILE *f = fmemopen(copy, size, "r");
    if (f) {
        int n = ksm_swaps_count(f);
        fclose(f);
        if (!memchr(data, 0, size) && n != reference(data, size))
            abort();
    }
    free(copy);
    return 0;
}
