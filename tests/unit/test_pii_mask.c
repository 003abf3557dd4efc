/* test_pii_mask.c — the masking engine: placeholders, one placeholder per value, exact round
 * trips, streaming restore cut at every byte (and in random chunk sizes) equal to the whole-text
 * restore with a bounded hold-back, BLOCK verdicts and their confidence threshold, ALLOW, and
 * placeholder-shaped text already in a prompt. */
#include "check.h"
#include "core/buf.h"
#include "core/util.h"
#include "policy/pii.h"

#include <stdlib.h>

static struct ksm_pii_policy all(enum ksm_pii_action a)
{
    struct ksm_pii_policy p = {.block_confidence = KSM_PII_BLOCK_CONFIDENCE};
    for (int k = 0; k < KSM_PII__COUNT; k++)
        p.action[k] = a;
    return p;
}

static const char *const texts[] = {
    "個人番号は123456789018です。電話 03-1234-5678、メール taro@city.example.lg.jp。",
    "マイナンバー 123456789018 と 1234-5678-9018 と 123456789018（再掲）",
    "card 4111 1111 1111 1111 / 基礎年金番号 1234-567890 / パスポート TK1234567",
    "no identifiers here: 2026-11-22, 1,234,567円, 〒100-8914",
    "literal ⟦MYNUMBER_1⟧ and ⟦PHONE_2⟧ before 123456789018 and 090-1234-5678",
    "⟦MYNUMBER_123456789018⟧ ⟦⟦ ⟧⟧ ⟦EMAIL_ ⟦CARD_0⟧ \xE2\x9F",
    "",
};

static void round_trip(const char *t)
{
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_pii_policy p = all(KSM_PII_MASK);
    struct ksm_buf masked = KSM_BUF_INIT, back = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    CHECK(ksm_pii_mask(m, &p, t, strlen(t), &masked, counts, NULL) == KSM_PII_PASS);
    ksm_buf_append(&masked, "", 0);
    ksm_pii_unmask(m, masked.data, masked.len, &back);
    ksm_buf_append(&back, "", 0);
    CHECK_STR(back.data, t);

    /* Streaming: the masked text as a model's output, cut at every byte. */
    size_t longest = ksm_pii_masker_longest(m);
    for (size_t cut = 0; cut <= masked.len; cut++) {
        struct ksm_pii_stream s = KSM_PII_STREAM_INIT;
        struct ksm_buf out = KSM_BUF_INIT;
        ksm_pii_unmask_stream(m, &s, masked.data, cut, &out);
        CHECK(s.held_len == 0 || s.held_len < longest);
        ksm_pii_unmask_stream(m, &s, masked.data + cut, masked.len - cut, &out);
        CHECK(s.held_len == 0 || s.held_len < longest);
        ksm_pii_unmask_flush(m, &s, &out);
        ksm_buf_append(&out, "", 0);
        CHECK_STR(out.data, t);
        ksm_buf_free(&out);
    }
    /* ... and byte by byte. */
    struct ksm_pii_stream s = KSM_PII_STREAM_INIT;
    struct ksm_buf out = KSM_BUF_INIT;
    size_t max_held = 0;
    for (size_t i = 0; i < masked.len; i++) {
        ksm_pii_unmask_stream(m, &s, masked.data + i, 1, &out);
        max_held = s.held_len > max_held ? s.held_len : max_held;
    }
    ksm_pii_unmask_flush(m, &s, &out);
    ksm_buf_append(&out, "", 0);
    CHECK_STR(out.data, t);
    CHECK(max_held == 0 || max_held < longest);
    ksm_buf_free(&out);
    ksm_buf_free(&masked);
    ksm_buf_free(&back);
    ksm_pii_masker_free(m);
}

static void placeholders(void)
{
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_pii_policy p = all(KSM_PII_MASK);
    struct ksm_buf out = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    const char *t = texts[1];
    CHECK(ksm_pii_mask(m, &p, t, strlen(t), &out, counts, NULL) == KSM_PII_PASS);
    /* Same bytes, same placeholder; the grouped spelling is another value. */
    CHECK_STR(out.data, "マイナンバー ⟦MYNUMBER_1⟧ と ⟦MYNUMBER_2⟧ と ⟦MYNUMBER_1⟧（再掲）");
    CHECK(counts[KSM_PII_MYNUMBER] == 3 && counts[KSM_PII_PHONE] == 0);
    CHECK(ksm_pii_masker_size(m) == 2);
    CHECK(ksm_pii_masker_longest(m) == strlen("⟦MYNUMBER_1⟧"));

    /* The mapping lives as long as the masker: a second message reuses it. */
    ksm_buf_reset(&out);
    const char *t2 = "再送: 123456789018, TEL 090-1234-5678";
    ksm_pii_mask(m, &p, t2, strlen(t2), &out, counts, NULL);
    CHECK_STR(out.data, "再送: ⟦MYNUMBER_1⟧, TEL ⟦PHONE_1⟧");

    /* A model's answer mentions them in another order; unknown placeholders stay. */
    const char *answer = "⟦PHONE_1⟧ の方の番号は ⟦MYNUMBER_1⟧ です（⟦MYNUMBER_9⟧ は不明）";
    ksm_buf_reset(&out);
    ksm_pii_unmask(m, answer, strlen(answer), &out);
    CHECK_STR(out.data, "090-1234-5678 の方の番号は 123456789018 です（⟦MYNUMBER_9⟧ は不明）");
    ksm_buf_free(&out);
    ksm_pii_masker_free(m);
}

static void literals(void)
{
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_pii_policy p = all(KSM_PII_MASK);
    struct ksm_buf out = KSM_BUF_INIT, back = KSM_BUF_INIT;
    const char *t = texts[4];
    ksm_pii_mask(m, &p, t, strlen(t), &out, NULL, NULL);
    /* Numbering skips what the text already holds, so restoring leaves the literals alone. */
    CHECK_STR(out.data, "literal ⟦MYNUMBER_1⟧ and ⟦PHONE_2⟧ before ⟦MYNUMBER_2⟧ and ⟦PHONE_3⟧");
    ksm_pii_unmask(m, out.data, out.len, &back);
    CHECK_STR(back.data, t);
    ksm_buf_free(&out);
    ksm_buf_free(&back);
    ksm_pii_masker_free(m);
}

static void block(void)
{
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_pii_policy p = all(KSM_PII_MASK);
    p.action[KSM_PII_MYNUMBER] = KSM_PII_BLOCK;
    struct ksm_buf out = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    enum ksm_pii_kind kind = KSM_PII_EMAIL;

    const char *t = "メール a@example.jp、個人番号 123456789018";
    ksm_buf_puts(&out, "keep");
    CHECK(ksm_pii_mask(m, &p, t, strlen(t), &out, counts, &kind) == KSM_PII_BLOCKED);
    CHECK(kind == KSM_PII_MYNUMBER);
    CHECK_STR(out.data, "keep");   /* nothing appended */
    CHECK(counts[KSM_PII_MYNUMBER] == 1 && counts[KSM_PII_EMAIL] == 1);
    CHECK(ksm_pii_masker_size(m) == 0);   /* a blocked text leaves no values behind */

    /* Without context a 12-digit number is a weak match: masked, not blocked... */
    const char *weak = "受付 123456789018";
    ksm_buf_reset(&out);
    CHECK(ksm_pii_mask(m, &p, weak, strlen(weak), &out, counts, &kind) == KSM_PII_PASS);
    CHECK_STR(out.data, "受付 ⟦MYNUMBER_1⟧");
    /* ... unless the policy blocks every match. */
    p.block_confidence = 0;
    ksm_buf_reset(&out);
    CHECK(ksm_pii_mask(m, &p, weak, strlen(weak), &out, counts, &kind) == KSM_PII_BLOCKED);

    /* ALLOW leaves the value; other kinds are still masked. */
    p = all(KSM_PII_ALLOW);
    p.action[KSM_PII_EMAIL] = KSM_PII_MASK;
    ksm_buf_reset(&out);
    CHECK(ksm_pii_mask(m, &p, t, strlen(t), &out, counts, &kind) == KSM_PII_PASS);
    CHECK_STR(out.data, "メール ⟦EMAIL_1⟧、個人番号 123456789018");
    ksm_buf_free(&out);
    ksm_pii_masker_free(m);
}

/* t: up to max - 1 fragments of frag[0..n), picked at random. */
static void random_text(unsigned *seed, const char *const *frag, size_t n, int max, struct ksm_buf *t)
{
    int nf = (int)(rand_r(seed) % (unsigned)max);
    ksm_buf_append(t, "", 0);
    for (int i = 0; i < nf; i++)
        ksm_buf_puts(t, frag[rand_r(seed) % n]);
}

/* Random texts from identifier-rich fragments, streamed in random chunk sizes. */
static void random_round_trips(void)
{
    static const char *const frag[] = {
        "個人番号 ", "123456789018", "1234-5678-9018", " ", "、", "090-1234-5678", "+81 3 1234 5678",
        "taro@example.jp", "4111111111111111", "パスポート TK1234567", "1234-567890", "⟦", "⟧",
        "MYNUMBER_", "PHONE_1", "⟦MYNUMBER_1⟧", "\xE2", "\xE2\x9F", "0", "5", "x", "\n", "＠", "１２",
    };
    unsigned seed = 12345;
    int bad = 0;
    for (int r = 0; r < 3000; r++) {
        struct ksm_buf t = KSM_BUF_INIT, masked = KSM_BUF_INIT, out = KSM_BUF_INIT;
        random_text(&seed, frag, KSM_NELEM(frag), 12, &t);
        struct ksm_pii_masker *m = ksm_pii_masker_new();
        struct ksm_pii_policy p = all(KSM_PII_MASK);
        ksm_pii_mask(m, &p, t.data, t.len, &masked, NULL, NULL);
        struct ksm_pii_stream s = KSM_PII_STREAM_INIT;
        for (size_t i = 0; i < masked.len;) {
            size_t n = 1 + (size_t)(rand_r(&seed) % 7);
            n = n > masked.len - i ? masked.len - i : n;
            ksm_pii_unmask_stream(m, &s, masked.data + i, n, &out);
            bad += s.held_len && s.held_len >= ksm_pii_masker_longest(m);
            i += n;
        }
        ksm_pii_unmask_flush(m, &s, &out);
        bad += out.len != t.len || (t.len && memcmp(out.data, t.data, t.len));
        ksm_buf_free(&t);
        ksm_buf_free(&masked);
        ksm_buf_free(&out);
        ksm_pii_masker_free(m);
    }
    CHECK(bad == 0);
}

/* The same fragments as a model's output, redacted whole and streamed in random chunk sizes: the
 * two agree byte for byte. (A scan of the result can find a value here that the scan of the input
 * did not: glued fragments such as "taro@example.jp１２３４　５６７８　９０１８" hold a number that the
 * detectors reject for its neighbour, and it stands alone once the address is redacted. Redaction
 * is one pass, as masking is; on natural text, the corpus, nothing is left: test_pii_corpus.) */
static void random_redactions(void)
{
    static const char *const frag[] = {
        "個人番号 ", "123456789018", "1234 5678 9018", "１２３４　５６７８　９０１８", " ", "、",
        "090-1234-5678", "+81 3 1234 5678", "taro@example.jp", "4111111111111111", "パスポート TK1234567",
        "（旅券）", "1234-567890", "⟦", "⟧", "MYNUMBER_", "\xE2", "\xE2\x9F", "0", "5", "x", "\n", "＠", "１２",
        "これは回答です。", "The answer is ",
    };
    enum ksm_pii_action act[KSM_PII__COUNT];
    for (int k = 0; k < KSM_PII__COUNT; k++)
        act[k] = KSM_PII_MASK;
    unsigned seed = 4321;
    int differ = 0;
    for (int r = 0; r < 5000; r++) {
        struct ksm_buf t = KSM_BUF_INIT, whole = KSM_BUF_INIT, out = KSM_BUF_INIT;
        random_text(&seed, frag, KSM_NELEM(frag), 14, &t);
        ksm_pii_redact(act, t.data, t.len, &whole, NULL);
        struct ksm_pii_redact st = {KSM_BUF_INIT, 0};
        for (size_t i = 0; i < t.len;) {
            size_t n = 1 + (size_t)(rand_r(&seed) % 7);
            n = n > t.len - i ? t.len - i : n;
            ksm_pii_redact_stream(act, &st, t.data + i, n, false, &out, NULL);
            i += n;
        }
        ksm_pii_redact_stream(act, &st, NULL, 0, true, &out, NULL);
        bool same = out.len == whole.len && (!out.len || !memcmp(out.data, whole.data, out.len));
        if (!same && differ++ < 5)
            fprintf(stderr, "redaction differs: [%s] whole [%.*s] streamed [%.*s]\n", t.data,
                    (int)whole.len, whole.data, (int)out.len, out.data);
        ksm_buf_free(&t);
        ksm_buf_free(&whole);
        ksm_buf_free(&out);
    }
    CHECK(differ == 0);
}

/* A project's own terms: every occurrence, ASCII in any case, one placeholder per spelling; a term
 * that holds a phone number masks as the term; BLOCK refuses; restored exactly. */
static void terms(void)
{
    static const struct ksm_pii_term t[] = {{"project kasumi", 14, KSM_PII_MASK},
                                            {"霞計画 03-1234-5678", 22, KSM_PII_MASK},
                                            {"極秘", 6, KSM_PII_BLOCK}};
    struct ksm_pii_policy p = all(KSM_PII_MASK);
    p.terms = t;
    p.nterms = 2;
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_buf out = KSM_BUF_INIT, back = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    const char *in = "Project KASUMI と project kasumi、霞計画 03-1234-5678 と 03-1234-5678";
    CHECK(ksm_pii_mask(m, &p, in, strlen(in), &out, counts, NULL) == KSM_PII_PASS);
    ksm_buf_append(&out, "", 0);
    CHECK_STR(out.data, "⟦TERM_1⟧ と ⟦TERM_2⟧、⟦TERM_3⟧ と ⟦PHONE_1⟧");
    CHECK(counts[KSM_PII_TERM] == 3 && counts[KSM_PII_PHONE] == 1);
    ksm_pii_unmask(m, out.data, out.len, &back);
    ksm_buf_append(&back, "", 0);
    CHECK_STR(back.data, in);
    p.nterms = 3;
    enum ksm_pii_kind why = KSM_PII_PHONE;
    CHECK(ksm_pii_mask(m, &p, "これは極秘です", strlen("これは極秘です"), &out, NULL, &why) ==
          KSM_PII_BLOCKED);
    CHECK(why == KSM_PII_TERM);
    CHECK_STR(ksm_pii_kind_name(KSM_PII_TERM), "term");

    /* either width: an IME's full-width letters and space are the same term */
    p.nterms = 1;
    const char *wide = "件名: ＰＲＯＪＥＣＴ　ｋａｓｕｍｉ の予算";
    ksm_buf_reset(&out);
    ksm_buf_reset(&back);
    memset(counts, 0, sizeof counts);
    CHECK(ksm_pii_mask(m, &p, wide, strlen(wide), &out, counts, NULL) == KSM_PII_PASS);
    CHECK(counts[KSM_PII_TERM] == 1 && strstr(out.data, "⟦TERM_") && !strstr(out.data, "ｋａｓｕｍｉ"));
    ksm_pii_unmask(m, out.data, out.len, &back);
    CHECK(back.len == strlen(wide) && !memcmp(back.data, wide, back.len));
    char folded[64];
    size_t map[64];
    CHECK(ksm_pii_fold("Ａｂ３　x", 13, folded, map) == 5 && !memcmp(folded, "ab3 x", 5));
    CHECK(map[0] == 0 && map[1] == 3 && map[2] == 6 && map[3] == 9 && map[4] == 12 && map[5] == 13);
    CHECK(ksm_pii_fold("\xEF\xBD\x41", 3, folded, NULL) == 3);   /* not UTF-8: left as it is */
    ksm_buf_free(&out);
    ksm_buf_free(&back);
    ksm_pii_masker_free(m);
}

/* Output redaction: a value the model wrote is replaced by ⟦KIND⟧; a kind left to allow is shown;
 * a placeholder passes (restoring it is the next step); streamed one byte at a time, a long
 * address and a value whose context word comes after it end as the whole text does, and plain
 * prose is held back by no more than the context window and the word being written. */
static void redaction(void)
{
    enum ksm_pii_action act[KSM_PII__COUNT] = {0};
    act[KSM_PII_MYNUMBER] = act[KSM_PII_EMAIL] = act[KSM_PII_PASSPORT] = KSM_PII_MASK;
    CHECK(ksm_pii_redacts(act));
    const char *in = "番号 123456789018、電話 03-1234-5678、⟦PHONE_1⟧、"
                     "a.very.long.local.part.for.testing.purposes@section.department.example.lg.jp "
                     "and TK1234567 (passport)";
    struct ksm_buf whole = KSM_BUF_INIT, one = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0};
    ksm_pii_redact(act, in, strlen(in), &whole, counts);
    ksm_buf_append(&whole, "", 0);
    CHECK_STR(whole.data, "番号 ⟦MYNUMBER⟧、電話 03-1234-5678、⟦PHONE_1⟧、⟦EMAIL⟧ and ⟦PASSPORT⟧ (passport)");
    CHECK(counts[KSM_PII_MYNUMBER] == 1 && counts[KSM_PII_EMAIL] == 1 &&
          counts[KSM_PII_PASSPORT] == 1 && counts[KSM_PII_PHONE] == 0);
    struct ksm_pii_redact st = {KSM_BUF_INIT, 0};
    size_t most = 0;
    for (size_t i = 0; in[i]; i++) {
        ksm_pii_redact_stream(act, &st, in + i, 1, false, &one, NULL);
        most = st.win.len - st.ctx > most ? st.win.len - st.ctx : most;
    }
    ksm_pii_redact_stream(act, &st, NULL, 0, true, &one, NULL);
    ksm_buf_append(&one, "", 0);
    CHECK_STR(one.data, whole.data);
    CHECK(most >= 70);   /* the address (75 bytes) was held whole */

    const char *prose = "これは生成された回答です。The model answers in plain words, and nothing here "
                        "is anybody's number or address, so the stream flows with a short lag.";
    ksm_buf_reset(&one);
    most = 0;
    for (size_t i = 0; prose[i]; i++) {
        ksm_pii_redact_stream(act, &st, prose + i, 1, false, &one, NULL);
        most = st.win.len - st.ctx > most ? st.win.len - st.ctx : most;
    }
    CHECK(most <= 48 + 3);   /* the context window, a character, never the whole text */
    ksm_pii_redact_stream(act, &st, NULL, 0, true, &one, NULL);
    CHECK(one.len == strlen(prose) && !memcmp(one.data, prose, one.len));
    CHECK(st.win.data == NULL);   /* the final piece freed the state */

    for (int k = 0; k < KSM_PII__COUNT; k++)
        act[k] = KSM_PII_ALLOW;
    CHECK(!ksm_pii_redacts(act));
    ksm_buf_reset(&one);
    ksm_pii_redact(act, in, strlen(in), &one, NULL);
    CHECK(one.len == strlen(in) && !memcmp(one.data, in, one.len));
    ksm_buf_free(&whole);
    ksm_buf_free(&one);
}

int main(void)
{
    redaction();
    for (size_t i = 0; i < KSM_NELEM(texts); i++)
        round_trip(texts[i]);
    placeholders();
    literals();
    block();
    random_round_trips();
    random_redactions();
    terms();
    CHECK_STR(ksm_pii_kind_name(KSM_PII_PENSION), "pension");
    CHECK(ksm_pii_kind_parse("passport") == KSM_PII_PASSPORT && ksm_pii_kind_parse("x") == -1);
    return CHECK_DONE();
}
