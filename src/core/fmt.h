/* fmt.h — text assembled into a caller's fixed buffer without printf. The AI gateway formats a few
 * strings and integers into its usage details and audit details on every request, and snprintf's
 * format parsing cost more than the text it produced (docs/PERFORMANCE.md). Like snprintf, the
 * output is cut at the buffer's size and always NUL-terminated; ksm_fmt_cut says whether it was. */
#ifndef KSM_FMT_H
#define KSM_FMT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ksm_fmt {
    char *p;
    size_t cap;   /* >= 1: room for the NUL */
    size_t len;   /* bytes written so far, not counting the NUL */
    bool cut;     /* something did not fit */
};

/* Starts an empty string in buf[0..cap), cap >= 1. */
struct ksm_fmt ksm_fmt_init(char *buf, size_t cap);

/* Inline so that a literal's length is known where it is written (most of the gateway's calls
 * append literals; a strlen call each was a visible share of a request). */
static inline void ksm_fmt_mem(struct ksm_fmt *f, const char *s, size_t n)
{
    size_t room = f->cap - 1 - f->len;
    if (n > room) {
        n = room;
        f->cut = true;
    }
    memcpy(f->p + f->len, s, n);
    f->len += n;
    f->p[f->len] = '\0';
}

static inline void ksm_fmt_str(struct ksm_fmt *f, const char *s) { ksm_fmt_mem(f, s, strlen(s)); }

void ksm_fmt_i64(struct ksm_fmt *f, int64_t v);
/* v in lowercase hex, zero-padded to at least min_digits (at most 16) */
void ksm_fmt_hex(struct ksm_fmt *f, uint64_t v, unsigned min_digits);
/* Copies s (NULL: "") into dst[0..cap), cut to fit: snprintf(dst, cap, "%s", s) without printf. */
void ksm_fmt_copy(char *dst, size_t cap, const char *s);

#endif
