/* buf.h — a growable byte string (malloc-backed), for building responses, records and SQL. */
#ifndef KSM_BUF_H
#define KSM_BUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ksm_buf {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len, cap;
};

#define KSM_BUF_INIT {NULL, 0, 0}

void ksm_buf_reserve(struct ksm_buf *b, size_t extra);
/* The growing path of the appends below, out of line. */
void ksm_buf__append_grow(struct ksm_buf *b, const void *p, size_t n);

/* Inline: a response, an audit record or a request head is dozens of small appends, and nearly
 * all of them fit the room the buffer has. */
static inline void ksm_buf_append(struct ksm_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n) {
        ksm_buf__append_grow(b, p, n);
        return;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void ksm_buf_puts(struct ksm_buf *b, const char *s) { ksm_buf_append(b, s, strlen(s)); }

static inline void ksm_buf_putc(struct ksm_buf *b, char c)
{
    if (b->cap - b->len <= 1) {
        ksm_buf__append_grow(b, &c, 1);
        return;
    }
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
/* v in decimal, without printf (status lines, Content-Length, audit fields: once per request). */
void ksm_buf_put_i64(struct ksm_buf *b, int64_t v);
void ksm_buf_printf(struct ksm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included (escapes control chars, " and \). */
void ksm_buf_json_str(struct ksm_buf *b, const char *s);
/* The same for a string that must be valid UTF-8 (one pass checks and copies): false, with b as
 * it was, when it is not. */
bool ksm_buf_json_str_utf8(struct ksm_buf *b, const char *s);
/* Appends s[0..len) escaped for the inside of a JSON string literal, without quotes. */
void ksm_buf_json_chars(struct ksm_buf *b, const char *s, size_t len);
/* Appends the code point cp (at most U+10FFFF, not a surrogate) as UTF-8. */
void ksm_buf_put_utf8(struct ksm_buf *b, uint32_t cp);
void ksm_buf_reset(struct ksm_buf *b);   /* len = 0, keeps memory */
void ksm_buf_free(struct ksm_buf *b);
/* Hands the memory to the caller (who frees it) and resets b. */
char *ksm_buf_steal(struct ksm_buf *b);

#endif
