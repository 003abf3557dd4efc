/* test_prescan.c — the request-smuggling pre-scan in front of Debian's llhttp 8.1.0. */
#include "check.h"
#include "http/http.h"

static long scan(const char *s)
{
    struct ksm_prescan ps = {0};
    return ksm_prescan_feed(&ps, s, strlen(s));
}

/* Feeding byte by byte must give the same verdict as one piece. */
static long scan_bytewise(const char *s)
{
    struct ksm_prescan ps = {0};
    for (size_t i = 0; s[i]; i++)
        if (ksm_prescan_feed(&ps, s + i, 1) >= 0)
            return (long)i;
    return -1;
}

int main(void)
{
    const char *ok = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(scan(ok) == -1);
    CHECK(scan_bytewise(ok) == -1);
    /* a body after the header section is never scanned */
    CHECK(scan("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n\r\r\r") == -1);
    /* leading empty lines before the request line are allowed */
    CHECK(scan("\r\nGET / HTTP/1.1\r\n\r\n") == -1);
    /* CVE-2024-27982 family: a bare CR inside a header */
    const char *bare_cr = "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n";
    CHECK(scan(bare_cr) == 24);
    CHECK(scan_bytewise(bare_cr) == 24);
    CHECK(scan("GET / HTTP/1.1\r\nContent-Length: 1\r\r\n\r\n") >= 0);
    /* CVE-2025-23167: obsolete line folding (a header line starting with SP or HTAB) */
    const char *fold = "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n";
    CHECK(scan(fold) == 22);
    CHECK(scan_bytewise(fold) == 22);
    CHECK(scan("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n") == 22);
    CHECK(scan(" GET / HTTP/1.1\r\n\r\n") == 0);
    /* the blank line itself must be CRLF */
    CHECK(scan("GET / HTTP/1.1\r\nX: a\r\n\rZ") >= 0);
    return CHECK_DONE();
}
