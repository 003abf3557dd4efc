/* pii_unmask.c — restoring placeholders in a model's output, whole or as it streams. The stream
 * holds back only a tail that could still complete one of this masker's placeholders, so it is
 * always shorter than the longest placeholder issued, and the output is the same however the
 * input is cut. */
#include "policy/pii_int.h"

#include <string.h>

/* Copies s[0..len) to out, restoring placeholders that start before `limit`. Returns where it
 * stopped: at or past limit, or (unless final) at the start of a tail that may still become a
 * placeholder, which the caller holds back. */
static size_t restore(const struct ksm_pii_masker *m, const char *s, size_t len, size_t limit,
                      bool final, struct ksm_buf *out)
{
    size_t pos = 0, longest = ksm_pii_masker_longest(m);
    while (pos < limit) {
        const char *hit = memchr(s + pos, 0xE2, len - pos);
        size_t q = hit ? (size_t)(hit - s) : len;
        if (q >= limit) {
            ksm_buf_append(out, s + pos, limit - pos);
            return limit;
        }
        ksm_buf_append(out, s + pos, q - pos);
        enum ksm_pii_kind kind;
        uint64_t num;
        size_t plen, vlen;
        enum pii_ph r = ksm_pii_placeholder_parse(s + q, len - q, &kind, &num, &plen);
        const char *v = r == PII_PH_FULL ? ksm_pii_masker_value(m, kind, num, &vlen) : NULL;
        if (v) {
            ksm_buf_append(out, v, vlen);
            pos = q + plen;
        } else if (r == PII_PH_PREFIX && !final && len - q < longest) {
            return q;
        } else {
            ksm_buf_append(out, s + q, 1);
            pos = q + 1;
        }
    }
    return pos;
}

void ksm_pii_unmask(const struct ksm_pii_masker *m, const char *text, size_t len,
                    struct ksm_buf *out)
{
    ksm_buf_reserve(out, len);
    restore(m, text, len, len, true, out);
}

static void hold(struct ksm_pii_stream *s, const char *p, size_t n)
{
    memmove(s->held, p, n);   /* p may point into s->held's copy */
    s->held_len = n;
}

void ksm_pii_unmask_stream(const struct ksm_pii_masker *m, struct ksm_pii_stream *s,
                           const char *chunk, size_t len, struct ksm_buf *out)
{
    if (s->held_len) {
        /* What was held, plus enough of the chunk to decide every placeholder starting in it. */
        char tmp[2 * KSM_PII_PLACEHOLDER_MAX];
        size_t take = len < KSM_PII_PLACEHOLDER_MAX ? len : KSM_PII_PLACEHOLDER_MAX;
        size_t tl = s->held_len + take;
        memcpy(tmp, s->held, s->held_len);
        memcpy(tmp + s->held_len, chunk, take);
        size_t stop = restore(m, tmp, tl, s->held_len, false, out);
        if (stop < s->held_len) {   /* still undecided: the whole chunk fitted in tmp */
            hold(s, tmp + stop, tl - stop);
            return;
        }
        chunk += stop - s->held_len;
        len -= stop - s->held_len;
        s->held_len = 0;
    }
    size_t stop = restore(m, chunk, len, len, false, out);
    hold(s, chunk + stop, len - stop);
}

void ksm_pii_unmask_flush(const struct ksm_pii_masker *m, struct ksm_pii_stream *s,
                          struct ksm_buf *out)
{
    restore(m, s->held, s->held_len, s->held_len, true, out);
    s->held_len = 0;
}
