/* prescan.c — closes two request-smuggling holes of Debian's llhttp 8.1.0 before the parser sees the
 * bytes: a bare CR (CR not followed by LF, CVE-2024-27982 family) and obsolete line folding, i.e. a
 * header line that begins with a space or tab (CVE-2025-23167). Both are rejected outright; RFC 9112
 * lets a server do so. The scan stops at the blank line that ends the header section, so bodies are
 * never scanned. */
#include "http/http.h"

#include "core/scan.h"

enum {
    PS_START,        /* before the request line: empty lines there are skipped (RFC 9112 §2.2) */
    PS_START_CR,
    PS_LINE_START,   /* at the first byte of a header line (after LF) */
    PS_IN_LINE,
    PS_CR,           /* saw CR, need LF */
    PS_BLANK_CR,     /* saw CR at a line start: the end of the header section if LF follows */
};

long ksm_prescan_feed(struct ksm_prescan *ps, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !ps->done; i++) {
        char c = p[i];
        switch (ps->state) {
        case PS_START:
            if (c == ' ' || c == '\t')
                return (long)i;
            ps->state = c == '\r' ? PS_START_CR : c == '\n' ? PS_START : PS_IN_LINE;
            break;
        case PS_START_CR:
            if (c != '\n')
                return (long)i;
            ps->state = PS_START;
            break;
        case PS_IN_LINE:
            i += ksm_scan_line(p + i, n - i);   /* the line's own bytes, 16 at a time */
            if (i == n)
                return -1;
            c = p[i];
            if (c == '\r')
                ps->state = PS_CR;
            else if (c == '\n')
                ps->state = PS_LINE_START;   /* bare LF: llhttp handles it strictly enough */
            break;
        case PS_CR:
            if (c != '\n')
                return (long)i;
            ps->state = PS_LINE_START;
            break;
        case PS_LINE_START:
            if (c == ' ' || c == '\t')
                return (long)i;
            if (c == '\r')
                ps->state = PS_BLANK_CR;
            else if (c == '\n')
                ps->done = true;
            else
                ps->state = PS_IN_LINE;
            break;
        case PS_BLANK_CR:
            if (c != '\n')
                return (long)i;
            ps->done = true;
            break;
        }
    }
    return -1;
}
