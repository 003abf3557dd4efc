/* supply_decode.c — UTF-8 or CP932 to UTF-8 (supply_decode.h), with glibc's iconv, whose "CP932"
 * table is Microsoft's (0x8160 → U+FF5E ～, 0x817C → U+FF0D －, 0x878A → ㈱), unlike its
 * "SHIFT_JIS" (U+301C, U+2212, no ㈱). */
#include "supply/supply_decode.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

static int line_of(const char *data, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += data[i] == '\n';
    return line;
}

static int from_cp932(const char *data, size_t n, char **out, size_t *outlen, char *why,
                      size_t whylen)
{
    iconv_t cd = iconv_open("UTF-8", "CP932");
    if (cd == (iconv_t)-1) {
        snprintf(why, whylen, "this system's iconv has no CP932 table");
        return -1;
    }
    size_t cap = n * 3 + 1;   /* a CP932 byte yields at most 3 UTF-8 bytes */
    char *buf = ksm_xmalloc(cap), *in = (char *)data, *o = buf;
    size_t inleft = n, oleft = cap - 1;
    size_t rc = iconv(cd, &in, &inleft, &o, &oleft);
    int err = errno;
    iconv_close(cd);
    if (rc == (size_t)-1) {
        size_t off = (size_t)(in - data);
        snprintf(why, whylen, "line %d (byte %zu): the bytes are neither UTF-8 nor CP932%s",
                 line_of(data, off), off + 1, err == EINVAL ? " (the file ends mid-character)" : "");
        free(buf);
        return -1;
    }
    *o = '\0';
    *out = buf;
    *outlen = (size_t)(o - buf);
    return 0;
}

/* The first byte offset where s stops being UTF-8. */
static size_t utf8_stop(const char *s, size_t n)
{
    size_t lo = 0, hi = n;
    /* ksm_utf8_valid answers whole prefixes; a line-by-line scan finds the line quickly */
    for (size_t start = 0; start < n;) {
        const char *nl = memchr(s + start, '\n', n - start);
        size_t end = nl ? (size_t)(nl - s) + 1 : n;
        if (!ksm_utf8_valid(s + start, end - start)) {
            lo = start;
            hi = end;
            break;
        }
        start = end;
    }
    while (hi > lo + 1 && !ksm_utf8_valid(s + lo, hi - lo - 1))
        hi--;
    return hi ? hi - 1 : 0;
}

int ksm_supply_decode(const char *data, size_t n, const char *hint, char **out, size_t *outlen,
                      const char **encoding, char *why, size_t whylen)
{
    if (n >= 2 && (((unsigned char)data[0] == 0xff && (unsigned char)data[1] == 0xfe) ||
                   ((unsigned char)data[0] == 0xfe && (unsigned char)data[1] == 0xff))) {
        snprintf(why, whylen, "the file is UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8\" "
                              "or \"CSV\" instead");
        return -1;
    }
    const void *nul = memchr(data, '\0', n);
    if (nul) {
        size_t off = (size_t)((const char *)nul - data);
        snprintf(why, whylen, "line %d (byte %zu): a NUL byte: this is not a text file",
                 line_of(data, off), off + 1);
        return -1;
    }
    bool bom = n >= 3 && !memcmp(data, "\xef\xbb\xbf", 3);
    bool want_utf8 = hint && !strcasecmp(hint, "utf-8");
    bool want_cp932 = hint && (!strcasecmp(hint, "cp932") || !strcasecmp(hint, "shift_jis"));
    if (hint && *hint && !want_utf8 && !want_cp932) {
        snprintf(why, whylen, "unknown encoding '%s' (utf-8 or cp932)", hint);
        return -1;
    }
    if (bom || want_utf8 || (!want_cp932 && ksm_utf8_valid(data, n))) {
        const char *p = bom ? data + 3 : data;
        size_t len = bom ? n - 3 : n;
        if (!ksm_utf8_valid(p, len)) {
            size_t off = utf8_stop(p, len) + (bom ? 3 : 0);
            snprintf(why, whylen, "line %d (byte %zu): not valid UTF-8", line_of(data, off), off + 1);
            return -1;
        }
        *out = ksm_xmalloc(len + 1);
        memcpy(*out, p, len);
        (*out)[len] = '\0';
        *outlen = len;
        *encoding = "utf-8";
        return 0;
    }
    *encoding = "cp932";
    return from_cp932(data, n, out, outlen, why, whylen);
}
