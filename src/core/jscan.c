/* jscan.c — a JSON object's members as byte spans, or its jansson tree, for the subset of JSON
 * that jscan.h describes (and why it refuses more than RFC 8259 does). The span reader makes one
 * pass without allocating, nesting tracked in a fixed stack; the tree builder is a recursive descent
 * that hands jansson finished strings and numbers. */
#include "core/jscan.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/scan.h"
#include "core/util.h"

#define REAL_MAX_LEN 24    /* with |exponent| <= 280 a real cannot overflow a double */
#define REAL_MAX_EXP 280
#define INT_MAX_DIGITS 18  /* always within int64: jansson refuses what overflows it */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex4(const char *p, const char *e)
{
    int v = 0;
    if (e - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int d = ksm_hexval(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* \uXXXX (p after the 'u'): NULL for \u0000 or a surrogate that is not a proper pair. */
static const char *unicode_escape(const char *p, const char *e)
{
    int v = hex4(p, e);
    if (v <= 0 || (v >= 0xdc00 && v <= 0xdfff))
        return NULL;
    p += 4;
    if (v < 0xd800 || v > 0xdbff)
        return p;
    if (e - p < 2 || p[0] != '\\' || p[1] != 'u')
        return NULL;
    v = hex4(p + 2, e);
    return v >= 0xdc00 && v <= 0xdfff ? p + 6 : NULL;
}

/* The first byte at or after p (or e) a string's scan stops at: the quote, the backslash, control
 * characters (invalid) and UTF-8 lead bytes (checked as sequences here; outside strings the grammar
 * refuses every byte above 0x7f, so no separate UTF-8 pass over the body is needed). */
static const char *plain_end(const char *p, const char *e)
{
    return p + ksm_scan_json_plain(p, (size_t)(e - p));
}

/* p after the opening quote; returns the byte after the closing quote. *escaped says whether the
 * string held a backslash. */
static const char *string_end(const char *p, const char *e, bool *escaped)
{
    for (;;) {
        p = plain_end(p, e);
        if (p >= e)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c >= 0x80) {   /* a run of multi-byte characters (Japanese text): checked in a row */
            do {
                p += ksm_scan_utf8_run3(p, (size_t)(e - p));   /* kana and kanji, 15 bytes a step */
                size_t w = 0;
                if (p < e && (unsigned char)*p >= 0x80 && !(w = ksm_utf8_seq(p, (size_t)(e - p))))
                    return NULL;
                p += w;
            } while (p < e && (unsigned char)*p >= 0x80);
            continue;
        }
        if (c < 0x20 || ++p >= e)
            return NULL;
        *escaped = true;
        c = (unsigned char)*p++;
        if (c == 'u') {
            if (!(p = unicode_escape(p, e)))
                return NULL;
        } else if (!c || !strchr("\"\\/bfnrt", c)) {
            return NULL;
        }
    }
}

static const char *digits(const char *p, const char *e)
{
    while (p < e && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? within the bounds above. */
static const char *number_end(const char *p, const char *e)
{
    const char *start = p, *q;
    bool real = false;
    long exp = 0;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if ((q = digits(p, e)) > p)
        p = q;
    else
        return NULL;
    if (p < e && *p == '.') {
        real = true;
        if ((q = digits(p + 1, e)) == p + 1)
            return NULL;
        p = q;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < e && (*p == '-' || *p == '+'))
            p++;
        if ((q = digits(p, e)) == p)
            return NULL;
        for (; p < q && exp <= REAL_MAX_EXP; p++)
            exp = exp * 10 + (*p - '0');
        if (exp > REAL_MAX_EXP)
            return NULL;   /* of either sign: a tiny real is fine, but simpler refused than judged */
        p = q;
    }
    size_t len = (size_t)(p - start) - (*start == '-');
    if (real ? (size_t)(p - start) > REAL_MAX_LEN : len > INT_MAX_DIGITS)
        return NULL;
    return p;
}

static const char *literal(const char *p, const char *e)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < KSM_NELEM(words); i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(e - p) >= n && !memcmp(p, words[i], n))
            return p + n;
    }
    return NULL;
}

/* A scalar at p (not '{' or '['); the byte after it, or NULL. */
static const char *scalar_end(const char *p, const char *e)
{
    bool esc = false;
    if (*p == '"')
        return string_end(p + 1, e, &esc);
    if (*p == '-' || (*p >= '0' && *p <= '9'))
        return number_end(p, e);
    return literal(p, e);
}

/* A key and its colon inside an object (p at the key's quote); the byte after the colon, or NULL. */
static const char *key_colon(const char *p, const char *e)
{
    bool esc = false;
    if (p >= e || *p != '"' || !(p = string_end(p + 1, e, &esc)))
        return NULL;
    p = ws(p, e);
    return p < e && *p == ':' ? p + 1 : NULL;
}

/* One value of any kind starting at p (whitespace skipped); the byte after it, or NULL. depth is the
 * nesting already around it. */
static const char *value_end(const char *p, const char *e, int depth)
{
    char stack[KSM_JSCAN_MAX_DEPTH];   /* the closing bracket each open container waits for */
    int d = 0;
    for (;;) {
        p = ws(p, e);
        if (p >= e)
            return NULL;
        if (*p == '{' || *p == '[') {
            if (depth + d >= KSM_JSCAN_MAX_DEPTH)
                return NULL;
            stack[d++] = *p == '{' ? '}' : ']';
            p = ws(p + 1, e);
            if (p >= e || *p != stack[d - 1]) {
                if (stack[d - 1] == '}' && !(p = key_colon(p, e)))
                    return NULL;
                continue;   /* the container's first value */
            }
            p++;
            d--;
        } else if (!(p = scalar_end(p, e))) {
            return NULL;
        }
        /* after a value: the end of containers, a comma and the next value, or the end */
        for (;;) {
            if (d == 0)
                return p;
            p = ws(p, e);
            if (p >= e)
                return NULL;
            if (*p == stack[d - 1]) {
                p++;
                d--;
                continue;
            }
            if (*p != ',')
                return NULL;
            p = ws(p + 1, e);
            if (stack[d - 1] == '}' && !(p = key_colon(p, e)))
                return NULL;
            break;
        }
    }
}

static bool duplicate(const struct ksm_jscan_member *m, int n, const char *key, size_t len)
{
    for (int i = 0; i < n; i++)
        if (m[i].key_len == len && !memcmp(m[i].key, key, len))
            return true;
    return false;
}

int ksm_jscan_object(const char *p, size_t n, struct ksm_jscan_member *m, int max, size_t *close)
{
    const char *start = p, *e = p + n, *k, *v;
    int count = 0;
    p = ws(p, e);
    if (p >= e || *p != '{')
        return -1;
    p = ws(p + 1, e);
    while (p < e && *p != '}') {
        bool esc = false;
        if (count && (*p != ',' || (p = ws(p + 1, e)) >= e))
            return -1;
        if (*p != '"' || !(k = string_end(p + 1, e, &esc)) || esc)
            return -1;
        if (count == max || duplicate(m, count, p + 1, (size_t)(k - p - 2)))
            return -1;
        m[count].key = p + 1;
        m[count].key_len = (size_t)(k - p - 2);
        p = ws(k, e);
        if (p >= e || *p != ':')
            return -1;
        v = ws(p + 1, e);
        if (!(p = value_end(v, e, 1)))
            return -1;
        m[count].val = v;
        m[count].val_len = (size_t)(p - v);
        count++;
        p = ws(p, e);
    }
    if (p >= e)
        return -1;
    if (close)
        *close = (size_t)(p - start);
    return ws(p + 1, e) == e ? count : -1;
}

const struct ksm_jscan_member *ksm_jscan_get(const struct ksm_jscan_member *m, int n,
                                             const char *key)
{
    size_t len = strlen(key);
    for (int i = 0; i < n; i++)
        if (m[i].key_len == len && !memcmp(m[i].key, key, len))
            return &m[i];
    return NULL;
}

bool ksm_jscan_count(const char *val, size_t len, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (len == 2 && val[0] == '-' && val[1] == '0') {
        *out = 0;   /* jansson reads -0 as the integer 0 */
        return true;
    }
    if (!len || len > INT_MAX_DIGITS || (len > 1 && val[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (val[i] < '0' || val[i] > '9')
            return false;
        v = v * 10 + (val[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* ---- the tree ---------------------------------------------------------------------------------- */

struct loader {
    const char *e;
    struct ksm_buf text;   /* an unescaped string */
    /* ksm_jscan_load_top: the top-level members' spans (top_n -1 once there are more than top_max) */
    const char *start;
    struct ksm_jscan_member *top;
    int top_max, top_n;
    size_t top_close;
};

/* The member just read by the top-level object, as ksm_jscan_object would have stored it. */
static void keep_top(struct loader *l, const char *k, size_t klen, const char *v, const char *vend)
{
    if (l->top_n < 0)
        return;
    if (l->top_n == l->top_max) {
        l->top_n = -1;
        return;
    }
    l->top[l->top_n++] = (struct ksm_jscan_member){.key = k, .key_len = klen, .val = v,
                                                   .val_len = (size_t)(vend - v)};
}

/* The text of a string whose escapes string_end() has checked: s..end is the inside. */
static void unescape(struct ksm_buf *b, const char *s, const char *end)
{
    static const char plain[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
    ksm_buf_reset(b);
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        if (!bs) {
            ksm_buf_append(b, s, (size_t)(end - s));
            return;
        }
        ksm_buf_append(b, s, (size_t)(bs - s));
        if (bs[1] != 'u') {
            ksm_buf_putc(b, meant[strchr(plain, bs[1]) - plain]);
            s = bs + 2;
            continue;
        }
        unsigned c = (unsigned)hex4(bs + 2, end);
        s = bs + 6;
        if (c >= 0xd800 && c <= 0xdbff) {   /* a pair: checked by unicode_escape() */
            c = 0x10000 + ((c - 0xd800) << 10) + ((unsigned)hex4(s + 2, end) - 0xdc00);
            s += 6;
        }
        ksm_buf_put_utf8(b, c);
    }
}

static json_t *load_string(struct loader *l, const char **p)
{
    bool esc = false;
    const char *s = *p + 1, *end = string_end(s, l->e, &esc);
    if (!end)
        return NULL;
    *p = end;
    if (!esc)
        return json_stringn_nocheck(s, (size_t)(end - 1 - s));   /* string_end checked its UTF-8 */
    unescape(&l->text, s, end - 1);
    return json_stringn_nocheck(l->text.data ? l->text.data : "", l->text.len);
}

static json_t *load_number(const char **p, const char *e)
{
    const char *s = *p, *end = number_end(s, e);
    char tok[REAL_MAX_LEN + 1];
    if (!end)
        return NULL;
    *p = end;
    size_t n = (size_t)(end - s);
    if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
        json_int_t v = 0;
        for (const char *q = s + (*s == '-'); q < end; q++)
            v = v * 10 + (*q - '0');   /* at most 18 digits: no overflow */
        return json_integer(*s == '-' ? -v : v);
    }
    memcpy(tok, s, n);   /* number_end() bounds a real's length */
    tok[n] = '\0';
    return json_real(strtod(tok, NULL));
}

static json_t *load_value(struct loader *l, const char **p, int depth);

static json_t *load_object(struct loader *l, const char **p, int depth)
{
    json_t *o = json_object();
    const char *s = ws(*p + 1, l->e);
    while (o && s < l->e && *s != '}') {
        if (json_object_size(o)) {
            if (*s != ',')
                goto fail;
            s = ws(s + 1, l->e);
        }
        bool esc = false;
        const char *k = s + 1, *kend;
        if (s >= l->e || *s != '"' || !(kend = string_end(k, l->e, &esc)) || esc ||
            json_object_getn(o, k, (size_t)(kend - 1 - k)))   /* escaped or duplicate keys refused */
            goto fail;
        s = ws(kend, l->e);
        if (s >= l->e || *s != ':')
            goto fail;
        s = ws(s + 1, l->e);
        const char *vstart = s;
        json_t *v = load_value(l, &s, depth + 1);
        if (!v || json_object_setn_new_nocheck(o, k, (size_t)(kend - 1 - k), v))
            goto fail;
        if (depth == 0 && l->top)
            keep_top(l, k, (size_t)(kend - 1 - k), vstart, s);
        s = ws(s, l->e);
    }
    if (!o || s >= l->e)
        goto fail;
    if (depth == 0)
        l->top_close = (size_t)(s - l->start);
    *p = s + 1;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *load_array(struct loader *l, const char **p, int depth)
{
    json_t *a = json_array();
    const char *s = ws(*p + 1, l->e);
    while (a && s < l->e && *s != ']') {
        if (json_array_size(a)) {
            if (*s != ',')
                goto fail;
            s = ws(s + 1, l->e);
        }
        json_t *v = load_value(l, &s, depth + 1);
        if (!v || json_array_append_new(a, v))
            goto fail;
        s = ws(s, l->e);
    }
    if (!a || s >= l->e)
        goto fail;
    *p = s + 1;
    return a;
fail:
    json_decref(a);
    return NULL;
}

/* The value at *p (no leading whitespace); *p moves past it. */
static json_t *load_value(struct loader *l, const char **p, int depth)
{
    const char *s = *p, *end;
    if (s >= l->e || depth >= KSM_JSCAN_MAX_DEPTH)
        return NULL;
    switch (*s) {
    case '{': return load_object(l, p, depth);
    case '[': return load_array(l, p, depth);
    case '"': return load_string(l, p);
    case 't': case 'f': case 'n':
        if (!(end = literal(s, l->e)))
            return NULL;
        *p = end;
        return *s == 't' ? json_true() : *s == 'f' ? json_false() : json_null();
    default: return load_number(p, l->e);
    }
}

static json_t *load(struct loader *l, const char *p)
{
    const char *s = ws(p, l->e);
    json_t *j = s < l->e && *s == '{' ? load_object(l, &s, 0) : NULL;
    ksm_buf_free(&l->text);
    if (j && ws(s, l->e) != l->e) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

json_t *ksm_jscan_load(const char *p, size_t n)
{
    struct loader l = {.e = p + n, .text = KSM_BUF_INIT};
    return load(&l, p);
}

json_t *ksm_jscan_load_top(const char *p, size_t n, struct ksm_jscan_member *m, int max, int *nm,
                           size_t *close)
{
    struct loader l = {.e = p + n, .text = KSM_BUF_INIT, .start = p, .top = m, .top_max = max};
    json_t *j = load(&l, p);
    *nm = j ? l.top_n : -1;
    *close = l.top_close;
    return j;
}
