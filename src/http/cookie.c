/* cookie.c — see cookie.h. Lenient about spaces and empty pairs, as browsers send what they were
 * given; strict about the name, which must match exactly. */
#include "http/cookie.h"

#include <string.h>

bool ksm_cookie_get(const char *h, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    if (outlen)
        out[0] = '\0';
    while (h && *h) {
        while (*h == ' ' || *h == '\t' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > n && !strncmp(h, name, n) && h[n] == '=') {
            size_t vlen = len - n - 1;
            while (vlen && (h[n + 1 + vlen - 1] == ' ' || h[n + 1 + vlen - 1] == '\t'))
                vlen--;
            if (vlen >= outlen)
                return false;
            memcpy(out, h + n + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        h = end;
    }
    return false;
}
