/* fuzz_cookie.c — libFuzzer target: arbitrary Cookie headers through ksm_cookie_get. A value found
 * must fit its buffer, sit in the header right after "name=", and hold no ';'. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = malloc(size + 1);
    memcpy(h, data, size);
    h[size] = '\0';
    char out[48];
    static const char *const names[] = {"kasumi_session", "a", "x y"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!ksm_cookie_get(h, names[i], out, sizeof out)) {
            if (out[0])
                abort();   /* a miss leaves out empty */
            continue;
        }
        size_t vlen = strlen(out), nlen = strlen(names[i]);
        if (vlen >= sizeof out || strchr(out, ';'))
            abort();
        const char *at = h;
        bool seen = false;
        while ((at = strstr(at, names[i]))) {
            if (at[nlen] == '=' && !strncmp(at + nlen + 1, out, vlen))
                seen = true;
            at++;
        }
        if (!seen)
            abort();
    }
    char tiny[1];
    if (ksm_cookie_get(h, "kasumi_session", tiny, 0))
        abort();   /* nothing fits in no room */
    free(h);
    return 0;
}
