/* pii_redact.c — a model's own output scanned on its way to the caller: each value of a kind the
 * project redacts is replaced by ⟦KIND⟧ (no number: unlike a placeholder, nothing restores it).
 *
 * A stream is cut only where a whole-text scan would decide the same: the bytes emitted are
 * followed by at least the context detectors read after a value (pii_context.c) and never end
 * inside a run of characters a value is made of, so a value is never split between two pieces;
 * what was emitted stays as the left context of the next scan. The hold-back is therefore about
 * REDACT_AFTER bytes (a dozen Japanese characters) plus the word being written. */
#include "core/util.h"
#include "policy/pii_int.h"

#include <stdlib.h>
#include <string.h>

#define REDACT_BEFORE PII_CONTEXT_BEFORE   /* kept after emitting, to scan with */
#define REDACT_AFTER PII_CONTEXT_AFTER     /* held after the last byte emitted */
#define REDACT_HOLD_MAX 320 /* a value is shorter (an e-mail address has at most 254 bytes) */
#define SCAN_STACK 32       /* matches per piece before the scan allocates */

/* A digit, ASCII or full-width, ends at s[i-1]. */
static bool digit_before(const unsigned char *s, size_t i)
{
    int w;
    return (i >= 1 && pii_digit_at(s + i - 1, 1, &w) >= 0) ||
           (i >= 3 && pii_digit_at(s + i - 3, 3, &w) >= 0);
}

/* The width of the character at s[i] if a value can contain it, else 0: ASCII letters, digits and
 * symbols (addresses, numbers), the scanner's digit-group separators — a space, ASCII or
 * ideographic, only right after a digit (4-4-4 grouping) — and the full-width forms (digits,
 * letters, ＠). Any other character ends a value, so a cut before it splits none. */
static size_t value_char(const unsigned char *s, size_t i, size_t len)
{
    enum pii_sep cls;
    int w;
    if (s[i] > ' ' && s[i] < 0x7F)
        return 1;
    if ((w = ksm_pii__separator_at(s + i, len - i, &cls)) > 0)
        return cls != PII_SEP_SPACE || digit_before(s, i) ? (size_t)w : 0;
    return s[i] == 0xEF && i + 3 <= len && (s[i + 1] == 0xBC || s[i + 1] == 0xBD) ? 3 : 0;
}

/* Where the run of value characters that ends s[0..len) begins (len if s ends with another
 * character); never before from. Walks back from the end, a character at a time (UTF-8 finds a
 * character's first byte from any of its bytes), so it reads only the run. */
static size_t trailing_run(const unsigned char *s, size_t from, size_t len)
{
    size_t run = len;
    while (run > from) {
        size_t i = run - 1;
        while (i > from && (s[i] & 0xC0) == 0x80)
            i--;
        if (value_char(s, i, len) != run - i)
            break;
        run = i;
    }
    return run;
}

/* Emits s[from..cut) with the redacted kinds' values replaced; a value that starts before cut and
 * ends after it moves cut back to its start. Returns the cut. */
static size_t emit(const enum ksm_pii_action act[KSM_PII__COUNT], const char *s, size_t len,
                   size_t from, size_t cut, struct ksm_buf *out, unsigned counts[KSM_PII__COUNT])
{
    struct ksm_pii_match stack[SCAN_STACK], *m = stack;
    size_t n = ksm_pii_scan(s, len, stack, SCAN_STACK);
    if (n > SCAN_STACK) {
        m = ksm_xmalloc(n * sizeof *m);
        ksm_pii_scan(s, len, m, n);
    }
    size_t at = from;
    for (size_t i = 0; i < n; i++) {
        if (m[i].end <= from || act[m[i].kind] != KSM_PII_MASK)
            continue;   /* decided with an earlier piece, or shown as it is */
        if (m[i].start >= cut)
            break;
        if (m[i].end > cut) {   /* not whole yet: held back with what follows */
            cut = m[i].start > at ? m[i].start : at;
            break;
        }
        size_t start = m[i].start > at ? m[i].start : at;   /* (one begun in the context: its rest) */
        ksm_buf_append(out, s + at, start - at);
        char mark[KSM_PII_PLACEHOLDER_MAX];
        ksm_buf_append(out, mark, ksm_pii_redaction_format(m[i].kind, mark));
        if (counts)
            counts[m[i].kind]++;
        at = m[i].end;
    }
    ksm_buf_append(out, s + at, cut - at);
    if (m != stack)
        free(m);
    return cut;
}

bool ksm_pii_redacts(const enum ksm_pii_action act[KSM_PII__COUNT])
{
    for (int k = 0; k < KSM_PII__DETECTED; k++)
        if (act[k] == KSM_PII_MASK)
            return true;
    return false;
}

void ksm_pii_redact(const enum ksm_pii_action act[KSM_PII__COUNT], const char *text, size_t len,
                    struct ksm_buf *out, unsigned counts[KSM_PII__COUNT])
{
    ksm_buf_reserve(out, len);
    emit(act, text, len, 0, len, out, counts);
}

/* Keeps REDACT_BEFORE bytes before cut (from a character's start) and everything after it. */
static void keep_from(struct ksm_pii_redact *st, size_t cut)
{
    if (!st->win.len)
        return;
    size_t k = cut > REDACT_BEFORE ? cut - REDACT_BEFORE : 0;
    while (k < cut && ((unsigned char)st->win.data[k] & 0xC0) == 0x80)
        k++;
    size_t rest = st->win.len - k;
    memmove(st->win.data, st->win.data + k, rest);
    explicit_bzero(st->win.data + rest, st->win.len - rest);
    st->win.len = rest;
    st->ctx = cut - k;
}

void ksm_pii_redact_stream(const enum ksm_pii_action act[KSM_PII__COUNT], struct ksm_pii_redact *st,
                           const char *chunk, size_t len, bool final, struct ksm_buf *out,
                           unsigned counts[KSM_PII__COUNT])
{
    ksm_buf_append(&st->win, chunk, len);
    const unsigned char *s = (const unsigned char *)st->win.data;
    size_t n = st->win.len, cut = n;
    if (!final) {
        cut = n > REDACT_AFTER ? n - REDACT_AFTER : 0;
        size_t run = trailing_run(s, st->ctx, n);
        if (run < cut)
            cut = run;
        if (n > REDACT_HOLD_MAX && cut < n - REDACT_HOLD_MAX)
            cut = n - REDACT_HOLD_MAX;   /* a run longer than any value: emitted in part */
        if (cut < st->ctx)
            cut = st->ctx;
        while (cut > st->ctx && (s[cut] & 0xC0) == 0x80)
            cut--;   /* a whole character */
    }
    if (cut > st->ctx)
        cut = emit(act, st->win.data, n, st->ctx, cut, out, counts);
    if (final) {
        ksm_pii_redact_free(st);
        return;
    }
    keep_from(st, cut);
}

void ksm_pii_redact_free(struct ksm_pii_redact *st)
{
    if (st->win.data)
        explicit_bzero(st->win.data, st->win.cap);
    ksm_buf_free(&st->win);
    st->ctx = 0;
}
