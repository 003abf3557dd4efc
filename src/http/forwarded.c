/* forwarded.c — a request's client address behind trusted reverse proxies (forwarded.h). */
#include "http/forwarded.h"

#include <string.h>

#include "core/fmt.h"

/* The entry of xff's lines ending at end (exclusive) in line, trimmed, into out; the start of the
 * entry in *start. */
static void entry(const char *line, const char *end, const char **start, char out[KSM_ADDR_TEXT])
{
    const char *b = end;
    while (b > line && b[-1] != ',')
        b--;
    *start = b;
    while (b < end && (*b == ' ' || *b == '\t'))
        b++;
    while (end > b && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - b);
    if (n >= KSM_ADDR_TEXT)
        n = KSM_ADDR_TEXT - 1;   /* cut: longer than any address, so it reads as none */
    memcpy(out, b, n);
    out[n] = '\0';
}

bool ksm_forwarded_client(const char *peer, const char *const *xff, int nxff,
                          const struct ksm_cidr *trusted, int ntrusted, char out[KSM_ADDR_TEXT])
{
    bool ip;
    ksm_fmt_copy(out, KSM_ADDR_TEXT, peer ? peer : "");
    if (!ntrusted || !ksm_cidr_list_has(trusted, ntrusted, out, &ip))
        return true;   /* not from a trusted proxy: the peer is the client */
    for (int l = nxff - 1; l >= 0; l--) {
        const char *line = xff[l], *end = line + strlen(line);
        for (;;) {
            const char *start;
            char e[KSM_ADDR_TEXT];
            entry(line, end, &start, e);
            if (*e) {   /* (an empty entry or line adds nothing) */
                if (!ksm_cidr_list_has(trusted, ntrusted, e, &ip)) {
                    ksm_fmt_copy(out, KSM_ADDR_TEXT, ip ? e : "");
                    return ip;
                }
                ksm_fmt_copy(out, KSM_ADDR_TEXT, e);   /* every one trusted: the leftmost */
            }
            if (start == line)
                break;
            end = start - 1;
        }
    }
    return true;
}
