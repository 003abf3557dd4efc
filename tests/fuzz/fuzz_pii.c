/* fuzz_pii.c — libFuzzer target: arbitrary bytes through the PII scanner, the masker and the
 * streaming restore. Invariants: matches are in order, inside the text, non-overlapping, with a
 * confidence in 1..100 and a known kind; the count does not depend on the output array's size;
 * with every kind masked, restoring the masked text (whole, and streamed in chunks whose sizes
 * come from the input) gives back the input byte for byte, and the stream never holds back as
 * much as the longest placeholder — with terms of the project's own too (cut from the input).
 * Output redaction, streamed in the same chunks: the stream never holds more than its bound and
 * frees its state at the end; with no kind redacted it gives back the input byte for byte (that
 * the stream equals the whole-text redaction is tested on the labelled corpus, test_pii_corpus).
 * Tool-call arguments (redacted and restored inside their JSON's strings), streamed in the same
 * chunks: the state is freed; arguments that are JSON stay JSON with every kind redacted and the
 * placeholders restored, and with neither mean what they did. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "policy/pii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_matches(const char *t, size_t len)
{
    struct ksm_pii_match m[64];
    size_t n = ksm_pii_scan(t, len, m, 64);
    if (ksm_pii_scan(t, len, NULL, 0) != n)
        abort();
    size_t prev = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        if ((unsigned)m[i].kind >= KSM_PII__DETECTED || m[i].start >= m[i].end || m[i].end > len ||
            m[i].start < prev || m[i].confidence < 1 || m[i].confidence > 100)
            abort();
        prev = m[i].end;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    check_matches(t, size);

    /* two terms of the project's own, cut from the input and folded, as the policy keeps them */
    char words[2][8];
    struct ksm_pii_term terms[2];
    for (size_t w = 0; w < 2; w++) {
        size_t from = size > 2 ? data[w] % size : 0, n = size > 2 ? 1 + data[size - 1 - w] % 7 : 0;
        n = from + n > size ? size - from : n;
        n = ksm_pii_fold((const char *)data + from, n, words[w], NULL);   /* as the policy keeps them */
        terms[w] = (struct ksm_pii_term){words[w], n, KSM_PII_MASK};
    }
    struct ksm_pii_policy p = {.block_confidence = KSM_PII_BLOCK_CONFIDENCE,
                               .terms = size > 2 && data[0] & 1 ? terms : NULL,
                               .nterms = size > 2 && data[0] & 1 ? 2 : 0};
    for (int k = 0; k < KSM_PII__COUNT; k++)
        p.action[k] = KSM_PII_MASK;
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_buf masked = KSM_BUF_INIT, whole = KSM_BUF_INIT, streamed = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    if (ksm_pii_mask(m, &p, t, size, &masked, counts, NULL) != KSM_PII_PASS)
        abort();
    check_matches(masked.data, masked.len);
    ksm_pii_unmask(m, masked.data, masked.len, &whole);
    if (whole.len != size || (size && memcmp(whole.data, data, size)))
        abort();

    struct ksm_pii_stream s = KSM_PII_STREAM_INIT;
    size_t longest = ksm_pii_masker_longest(m);
    for (size_t i = 0, k = 0; i < masked.len; k++) {
        size_t n = size ? 1 + data[k % size] % 37 : 1;
        n = n > masked.len - i ? masked.len - i : n;
        ksm_pii_unmask_stream(m, &s, masked.data + i, n, &streamed);
        if (s.held_len && s.held_len >= longest)
            abort();
        i += n;
    }
    ksm_pii_unmask_flush(m, &s, &streamed);
    if (streamed.len != size || (size && memcmp(streamed.data, data, size)))
        abort();

    /* BLOCK everything: either blocked, or nothing was found. */
    for (int k = 0; k < KSM_PII__COUNT; k++)
        p.action[k] = KSM_PII_BLOCK;
    terms[0].action = terms[1].action = KSM_PII_BLOCK;
    p.block_confidence = 0;
    struct ksm_buf blocked = KSM_BUF_INIT;
    memset(counts, 0, sizeof counts);   /* this call's matches alone */
    enum ksm_pii_verdict v = ksm_pii_mask(m, &p, t, size, &blocked, counts, NULL);
    unsigned total = 0;
    for (int k = 0; k < KSM_PII__COUNT; k++)
        total += counts[k];
    if ((v == KSM_PII_BLOCKED) != (total > 0) || (v == KSM_PII_BLOCKED && blocked.len))
        abort();

    /* output redaction, streamed: every kind, then none */
    enum ksm_pii_action act[KSM_PII__COUNT];
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < KSM_PII__COUNT; k++)
            act[k] = pass == 0 ? KSM_PII_MASK : KSM_PII_ALLOW;
        struct ksm_pii_redact rd = {KSM_BUF_INIT, 0};
        struct ksm_buf red = KSM_BUF_INIT;
        for (size_t i = 0, k = 0; i < size; k++) {
            size_t n = 1 + data[k % size] % 37;
            n = n > size - i ? size - i : n;
            ksm_pii_redact_stream(act, &rd, t + i, n, false, &red, NULL);
            if (rd.win.len - rd.ctx > 320 + 37)
                abort();
            i += n;
        }
        ksm_pii_redact_stream(act, &rd, NULL, 0, true, &red, NULL);
        if (pass == 1 && (red.len != size || (size && memcmp(red.data, data, size))))
            abort();
        if (rd.win.data)
            abort();   /* the final piece frees the state */
        ksm_buf_free(&red);
    }

    /* tool-call arguments, streamed: every kind redacted and the masker's placeholders restored,
     * then neither (only decoded and escaped again) */
    json_t *in = json_loadb(t, size, JSON_ALLOW_NUL, NULL);
    size_t lead = 0;
    while (lead < size && strchr(" \t\r\n", t[lead]) && t[lead])
        lead++;
    bool json = in && lead < size && (t[lead] == '{' || t[lead] == '[');
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < KSM_PII__COUNT; k++)
            act[k] = KSM_PII_MASK;
        const enum ksm_pii_action *a = pass == 0 ? act : NULL;
        const struct ksm_pii_masker *mk = pass == 0 ? m : NULL;
        struct ksm_pii_args rj = {0};
        struct ksm_buf red = KSM_BUF_INIT;
        for (size_t i = 0, k = 0; i < size; k++) {
            size_t n = 1 + data[(k + 7) % size] % 37;
            n = n > size - i ? size - i : n;
            ksm_pii_args_stream(a, mk, &rj, t + i, n, false, &red, NULL);
            i += n;
        }
        ksm_pii_args_stream(a, mk, &rj, NULL, 0, true, &red, NULL);
        if (rj.val.win.data || rj.prev.data || rj.tok.data || rj.dec.data)
            abort();   /* the final piece frees the state */
        json_t *o = json ? json_loadb(red.data ? red.data : "", red.len, JSON_ALLOW_NUL, NULL) : NULL;
        if (json && (!o || (pass == 1 && !json_equal(in, o))))
            abort();
        json_decref(o);
        ksm_buf_free(&red);
    }
    json_decref(in);

    ksm_buf_free(&blocked);
    ksm_buf_free(&masked);
    ksm_buf_free(&whole);
    ksm_buf_free(&streamed);
    ksm_pii_masker_free(m);
    return 0;
}
