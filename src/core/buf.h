/* buf.h — a growable byte string (malloc-backed), for building responses, records and SQL. */
#ifndef KSM_BUF_H
#define KSM_BUF_H
#include <stddef.h>
#include <stdint.h>

struct ksm_buf {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len, cap;
};

#define KSM_BUF_INIT {NULL, 0, 0}

void ksm_buf_reserve(struct ksm_buf *b, size_t extra);
void ksm_buf_append(struct ksm_buf *b, const void *p, size_t n);
void ksm_buf_puts(struct ksm_buf *b, const char *s);
void ksm_buf_putc(struct ksm_buf *b, char c);
/* v in decimal, without printf (status lines, Content-Length, audit fields: once per request). */
void ksm_buf_put_i64(struct ksm_buf *b, int64_t v);
void ksm_buf_printf(struct ksm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included (escapes control chars, " and \). */
void ksm_buf_json_str(struct ksm_buf *b, const char *s);
void ksm_buf_reset(struct ksm_buf *b);   /* len = 0, keeps memory */
void ksm_buf_free(struct ksm_buf *b);
/* Hands the memory to the caller (who frees it) and resets b. */
char *ksm_buf_steal(struct ksm_buf *b);

#endif
