/* buf.c — see buf.h. */
#include "core/buf.h"
#include "core/fmt.h"
#include "core/scan.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ksm_buf_reserve(struct ksm_buf *b, size_t extra)
{
    if (b->cap - b->len > extra)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= extra)
        cap *= 2;
    b->data = ksm_xrealloc(b->data, cap);
    b->cap = cap;
}

void ksm_buf__append_grow(struct ksm_buf *b, const void *p, size_t n)
{
    ksm_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ksm_buf_printf(struct ksm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ksm_buf_reserve(b, 64);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        ksm_buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* s[0..len) escaped for the inside of a JSON string literal, into room the caller reserved (an
 * audit record is dozens of these: one reserve each is the caller's). check: refuse bytes that are
 * not valid UTF-8 (false, with b as it was); otherwise bytes above 0x7f are copied as they are. */
static inline __attribute__((always_inline)) bool json_chars(struct ksm_buf *b, const char *s,
                                                             size_t len, bool check)
{
    static const char hx[] = "0123456789abcdef";
    size_t at = b->len, w;
    for (const unsigned char *p = (const unsigned char *)s, *e = p + len; p < e; p++) {
        const unsigned char *run = p;
        for (const unsigned char *q = NULL; p != q && p != e;) {   /* until a byte to escape */
            q = p;   /* what goes as it is: plain ASCII, UTF-8 (kana and kanji in threes) */
            p += ksm_scan_json_plain((const char *)p, (size_t)(e - p));
            p += ksm_scan_utf8_run3((const char *)p, (size_t)(e - p));
            if (p != e && *p >= 0x80) {   /* another multi-byte character */
                if (!(w = check ? ksm_utf8_seq((const char *)p, (size_t)(e - p)) : 1)) {
                    b->len = at;
                    if (b->data)
                        b->data[at] = '\0';
                    return false;
                }
                p += w;
            }
        }
        if (p > run)
            ksm_buf_append(b, run, (size_t)(p - run));
        if (p == e)
            break;
        char esc[7] = {'\\', 0};
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hx[*p >> 4];
            esc[5] = hx[*p & 15];
        }
        ksm_buf_puts(b, esc);
    }
    return true;
}

static bool json_str(struct ksm_buf *b, const char *s, bool check)
{
    const char *t = s ? s : "";
    size_t len = strlen(t), at = b->len;
    ksm_buf_reserve(b, len + 2);
    ksm_buf_putc(b, '"');
    if (!json_chars(b, t, len, check)) {
        b->len = at;
        b->data[at] = '\0';
        return false;
    }
    ksm_buf_putc(b, '"');
    return true;
}

void ksm_buf_json_chars(struct ksm_buf *b, const char *s, size_t len)
{
    if (!len)
        return;
    ksm_buf_reserve(b, len);
    json_chars(b, s, len, false);
}

void ksm_buf_put_utf8(struct ksm_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    else
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    ksm_buf_append(b, u, n);
}

void ksm_buf_json_str(struct ksm_buf *b, const char *s) { json_str(b, s, false); }

bool ksm_buf_json_str_utf8(struct ksm_buf *b, const char *s) { return json_str(b, s, true); }

void ksm_buf_put_i64(struct ksm_buf *b, int64_t v)
{
    char d[24];
    struct ksm_fmt f = ksm_fmt_init(d, sizeof d);
    ksm_fmt_i64(&f, v);
    ksm_buf_append(b, d, f.len);
}

void ksm_buf_reset(struct ksm_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ksm_buf_free(struct ksm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ksm_buf_steal(struct ksm_buf *b)
{
    char *p = b->data ? b->data : ksm_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
