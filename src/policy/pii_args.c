/* pii_args.c — a model's tool-call arguments on their way to the caller: redacted and restored
 * without breaking their JSON.
 *
 * The arguments are JSON text that the caller's code parses, so neither the text redactor nor the
 * restore can run over them as written: a bare number 123456789018 made ⟦MYNUMBER⟧ is no longer
 * JSON, a restored value holding a quote would end its string, and escapes hide what is there (１
 * written \uff11, ⟦ written \u27e6 by a server that escapes everything not ASCII, a number glued
 * to a letter in "\n123456789018"). So each string is decoded, redacted by the text redactor
 * (pii_redact.c), its placeholders restored (pii_unmask.c) and escaped again; a bare token — a
 * number, or whatever else a model wrote outside quotes — is read whole and, if it held a value,
 * written back as a string; structure passes as it came. Each string is a redaction of its own,
 * read with the decoded text before it as the detectors' left context (a key names its value as a
 * label does in prose), so what a string becomes depends on that text and its own bytes only,
 * never on how the arguments were cut into pieces. */
#include "core/buf.h"
#include "core/util.h"
#include "policy/pii_int.h"

#include <string.h>

#define TOKEN_MAX 4096   /* a longer bare token (no number is): redacted and ended there */

enum { J_START, J_TEXT, J_OUT, J_STR, J_ESC, J_BARE };   /* J_START = 0: nothing held (pii.h) */

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static bool ends_token(unsigned char c) { return is_ws(c) || (c && strchr("\",:[]{}", c)); }

static void wipe(struct ksm_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->len);
    ksm_buf_reset(b);
}

/* Decoded text read so far, the context of the next string: only its last PII_CONTEXT_BEFORE
 * bytes are ever read (open_value), so the rest is dropped now and then. */
static void remember(struct ksm_buf *prev, const char *s, size_t n)
{
    ksm_buf_append(prev, s, n);
    if (prev->len <= 2 * PII_CONTEXT_BEFORE)
        return;
    size_t k = prev->len - PII_CONTEXT_BEFORE;
    memmove(prev->data, prev->data + k, PII_CONTEXT_BEFORE);
    explicit_bzero(prev->data + PII_CONTEXT_BEFORE, k);
    prev->len = PII_CONTEXT_BEFORE;
    prev->data[prev->len] = '\0';
}

/* A string or token begins: its redaction starts with the context before it, from a character's
 * start, and a line break (which joins no value to the one before). */
static void open_value(struct ksm_pii_args *st)
{
    struct ksm_buf *w = &st->val.win, *p = &st->prev;
    size_t k = p->len > PII_CONTEXT_BEFORE ? p->len - PII_CONTEXT_BEFORE : 0;
    while (k < p->len && ((unsigned char)p->data[k] & 0xC0) == 0x80)
        k++;
    wipe(w);
    ksm_buf_append(w, p->data ? p->data + k : "", p->len - k);
    if (w->len)
        ksm_buf_putc(w, '\n');
    st->val.ctx = w->len;
}

/* Text through the redaction (act, if a kind is redacted) and the restore (m, if a value was
 * masked), to out: the arguments themselves when they are free-form text, a string's scratch (res)
 * to be escaped when they are JSON. */
static void filter(const enum ksm_pii_action *act, const struct ksm_pii_masker *m,
                   struct ksm_pii_args *st, const char *s, size_t n, bool final, struct ksm_buf *out,
                   unsigned counts[KSM_PII__COUNT])
{
    if (act) {
        ksm_buf_reset(&st->red);
        ksm_pii_redact_stream(act, &st->val, s, n, final, &st->red, counts);
        s = st->red.data;
        n = st->red.len;
    }
    if (!m) {
        ksm_buf_append(out, s ? s : "", n);
        return;
    }
    if (n)
        ksm_pii_unmask_stream(m, &st->unmask, s, n, out);
    if (final)
        ksm_pii_unmask_flush(m, &st->unmask, out);
}

/* What the open string has decoded since the last push, filtered and escaped again, to out. */
static void push(const enum ksm_pii_action *act, const struct ksm_pii_masker *m,
                 struct ksm_pii_args *st, bool final, struct ksm_buf *out,
                 unsigned counts[KSM_PII__COUNT])
{
    if (!st->dec.len && !final)
        return;
    ksm_buf_reset(&st->res);
    filter(act, m, st, st->dec.data, st->dec.len, final, &st->res, counts);
    ksm_buf_json_chars(out, st->res.data, st->res.len);
    if (act)
        remember(&st->prev, st->dec.data, st->dec.len);
    wipe(&st->dec);
    wipe(&st->red);
    wipe(&st->res);
}

/* A bare token ends: as it came, or as a string if a value in it was redacted. (No placeholder is
 * restored outside a string: none can be there in JSON.) */
static void end_token(const enum ksm_pii_action *act, struct ksm_pii_args *st, struct ksm_buf *out,
                      unsigned counts[KSM_PII__COUNT])
{
    unsigned n[KSM_PII__COUNT] = {0};
    bool redacted = false;
    if (!act) {
        ksm_buf_append(out, st->tok.data, st->tok.len);
        wipe(&st->tok);
        return;
    }
    open_value(st);
    ksm_buf_reset(&st->red);
    ksm_pii_redact_stream(act, &st->val, st->tok.data, st->tok.len, true, &st->red, n);
    for (int k = 0; k < KSM_PII__COUNT; k++) {
        redacted |= n[k] > 0;
        if (counts)
            counts[k] += n[k];
    }
    if (redacted) {
        ksm_buf_putc(out, '"');
        ksm_buf_json_chars(out, st->red.data, st->red.len);
        ksm_buf_putc(out, '"');
    } else
        ksm_buf_append(out, st->tok.data, st->tok.len);
    remember(&st->prev, st->tok.data, st->tok.len);
    wipe(&st->tok);
    wipe(&st->red);
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 4 | (unsigned)ksm_hexval(s[i]);
    return v;
}

/* The escape in tok is complete, or cut short (whole false): its character decoded. A surrogate
 * that is not half of a pair becomes U+FFFD, as JSON parsers that accept one read it. */
static void escape_done(struct ksm_pii_args *st, bool whole)
{
    const char *t = st->tok.data;
    size_t n = st->tok.len;
    unsigned hi = n >= 5 ? hex4(t + 1) : 0xFFFD, lo = n == 11 ? hex4(t + 7) : 0;
    if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF)
        ksm_buf_put_utf8(&st->dec, 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
    else {
        ksm_buf_put_utf8(&st->dec, hi >= 0xD800 && hi <= 0xDFFF ? 0xFFFD : hi);
        if (n == 11)   /* "\uD83D\u0041": a lone high half, then a character of its own */
            ksm_buf_put_utf8(&st->dec, lo >= 0xD800 && lo <= 0xDFFF ? 0xFFFD : lo);
        else if (n > 6)   /* "\uD83D\u12": the second escape cut short too */
            ksm_buf_put_utf8(&st->dec, 0xFFFD);
        else if (n == 6 && !whole) {   /* "\uD83D\" and no u: that backslash begins an escape */
            st->tok.len = 0;
            return;
        }
    }
    st->tok.len = 0;
    st->mode = J_STR;
}

/* c, the next byte of an escape (tok holds what followed the backslash): false if c is not part
 * of it, and is to be read again. \uXXXX is "u" and four hex digits; a high surrogate waits for
 * "\uXXXX" more, its low half. */
static bool escape_byte(struct ksm_pii_args *st, unsigned char c)
{
    static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
    size_t n = st->tok.len;
    if (!n && c != 'u') {   /* \" \\ \/ \n ..., and a stray escape as its letter */
        const char *m = c ? strchr(from, c) : NULL;
        ksm_buf_putc(&st->dec, m ? to[m - from] : (char)c);
        st->mode = J_STR;
        return true;
    }
    bool fits = !n || (n == 5 ? c == '\\' : n == 6 ? c == 'u' : ksm_hexval((char)c) >= 0);
    if (!fits) {
        escape_done(st, false);
        return false;
    }
    ksm_buf_putc(&st->tok, (char)c);
    if (st->tok.len == 11 || (st->tok.len == 5 && (hex4(st->tok.data + 1) < 0xD800 ||
                                                  hex4(st->tok.data + 1) > 0xDBFF)))
        escape_done(st, true);
    return true;
}

/* The last piece has come: what is held is redacted and emitted, and the state freed. */
static void finish(const enum ksm_pii_action *act, const struct ksm_pii_masker *m,
                   struct ksm_pii_args *st, struct ksm_buf *out, unsigned counts[KSM_PII__COUNT])
{
    switch (st->mode) {
    case J_TEXT:
        filter(act, m, st, NULL, 0, true, out, counts);
        break;
    case J_BARE:
        end_token(act, st, out, counts);
        break;
    case J_ESC:   /* cut inside an escape: the character it began is unknown */
        if (st->tok.len)
            escape_done(st, false);
        /* fall through */
    case J_STR:   /* an unterminated string stays unterminated */
        push(act, m, st, true, out, counts);
        break;
    }
    ksm_pii_args__free(st);
}

void ksm_pii_args_stream(const enum ksm_pii_action *act, const struct ksm_pii_masker *m,
                         struct ksm_pii_args *st, const char *chunk, size_t len, bool final,
                         struct ksm_buf *out, unsigned counts[KSM_PII__COUNT])
{
    const unsigned char *p = (const unsigned char *)(chunk ? chunk : ""), *e = p + len, *q;
    while (p < e) {
        switch (st->mode) {
        case J_START:   /* JSON begins with { or [; anything else is free-form text */
            if (is_ws(*p))
                ksm_buf_putc(out, (char)*p++);
            else
                st->mode = *p == '{' || *p == '[' ? J_OUT : J_TEXT;
            break;
        case J_TEXT:
            filter(act, m, st, (const char *)p, (size_t)(e - p), false, out, counts);
            p = e;
            break;
        case J_OUT:
            if (*p == '"') {
                ksm_buf_putc(out, (char)*p++);
                if (act)
                    open_value(st);
                st->mode = J_STR;
            } else if (ends_token(*p))
                ksm_buf_putc(out, (char)*p++);
            else
                st->mode = J_BARE;
            break;
        case J_BARE:
            while (p < e && !ends_token(*p) && st->tok.len < TOKEN_MAX)
                ksm_buf_putc(&st->tok, (char)*p++);
            if (p < e) {
                end_token(act, st, out, counts);
                st->mode = J_OUT;
            }
            break;
        case J_STR:
            for (q = p; q < e && *q != '"' && *q != '\\'; q++)
                ;
            ksm_buf_append(&st->dec, p, (size_t)(q - p));
            if ((p = q) == e)
                break;
            if (*p++ == '\\') {
                st->mode = J_ESC;
                break;
            }
            push(act, m, st, true, out, counts);
            ksm_buf_putc(out, '"');
            st->mode = J_OUT;
            break;
        case J_ESC:
            p += escape_byte(st, *p);
            break;
        }
    }
    if (final)
        finish(act, m, st, out, counts);
    else if (st->mode == J_STR || st->mode == J_ESC)
        push(act, m, st, false, out, counts);
}

void ksm_pii_args(const enum ksm_pii_action *act, const struct ksm_pii_masker *m, const char *text,
                  size_t len, struct ksm_buf *out, unsigned counts[KSM_PII__COUNT])
{
    struct ksm_pii_args st = {0};
    ksm_pii_args_stream(act, m, &st, text, len, true, out, counts);
}

void ksm_pii_args__free(struct ksm_pii_args *st)
{
    ksm_pii_redact_free(&st->val);
    struct ksm_buf *b[] = {&st->prev, &st->tok, &st->dec, &st->red, &st->res};
    for (size_t i = 0; i < KSM_NELEM(b); i++) {
        if (b[i]->data)
            explicit_bzero(b[i]->data, b[i]->cap);
        ksm_buf_free(b[i]);
    }
    st->unmask.held_len = 0;
    st->mode = J_START;
}
