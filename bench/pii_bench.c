/* pii_bench.c — PII scanner and masker speed on one core (not part of the tests).
 *
 *   pii_bench [MiB=64] [runs=5]
 *
 * Builds MiB of realistic mixed text: Japanese and English sentences from administrative
 * prompts (forms, e-mails, chat requests; dates, amounts, postal codes and other numbers as they
 * occur there), with an identifier (My Number, phone, e-mail, card, pension, passport) in about
 * one sentence in twenty. Then, each `runs` times: ksm_pii_scan over the whole buffer (MB/s),
 * ksm_pii_scan over it as 1 KiB prompts (prompts/s), and a masker per 1 KiB prompt
 * (new + ksm_pii_mask with every kind masked + free: prompts/s), and the output redaction of a
 * model's answer as it streams (ksm_pii_redact_stream, every kind redacted, in pieces of 12
 * bytes — about a token of Japanese, two or three of English — MB/s), and the same for tool-call
 * arguments (ksm_pii_redact_json_stream over {"query": a 1 KiB prompt, "id": a number}, each
 * call's arguments final at their end: MB/s of arguments). Prints best and median. */
#include "core/buf.h"
#include "core/util.h"
#include "policy/pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const plain[] = {
    "令和8年度の予算要求について、前年度比3.5%増の1,234,567千円を計上しています。",
    "住民票の写しの交付申請は、本人確認書類を添えて窓口で受け付けます。",
    "Please summarise the attached meeting notes from 2026-11-22 in three bullet points.",
    "〒100-8914 東京都千代田区永田町1-6-1 の庁舎で、午前9時30分から説明会を開催します。",
    "The procurement schedule was moved to 15 January; bids close at 17:00 JST.",
    "申請件数は第3四半期に12,345件となり、前年同期比で8.2%増加しました。",
    "次の文章を丁寧な敬語に書き直してください。「明日までに書類を出してください」",
    "According to section 4.2, retention is at least 365 days for access logs.",
    "ガバメントクラウドの利用料は月額約250万円で、円安の影響を受けています。",
    "Translate the following notice into English for foreign residents of the city.",
    "システム更改に伴い、令和9年3月31日をもって旧システムの運用を終了します。",
    "注文番号 250-1234567-8901234 の納品書を確認してください。",
};

static const char *const with_pii[] = {
    "申請者の個人番号は1234 5678 9018です。",
    "連絡先：090-1234-5678（平日9時〜17時）",
    "Send the draft to hanako.sato@city.example.lg.jp before Friday.",
    "手数料はカード 4111-1111-1111-1111 で支払い済みです。",
    "基礎年金番号 1234-567890 の記録を照会してください。",
    "Passport No. TK1234567, issued in Tokyo.",
};

static void build(struct ksm_buf *b, size_t bytes)
{
    unsigned seed = 2026;
    while (b->len < bytes) {
        const char *s = rand_r(&seed) % 20 == 0 ? with_pii[rand_r(&seed) % KSM_NELEM(with_pii)]
                                                : plain[rand_r(&seed) % KSM_NELEM(plain)];
        ksm_buf_puts(b, s);
        ksm_buf_puts(b, rand_r(&seed) % 4 ? "" : "\n");
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, const char *unit, double *v, int runs)
{
    qsort(v, (size_t)runs, sizeof *v, cmp_double);
    printf("%-34s best %10.0f  median %10.0f %s\n", what, v[runs - 1], v[runs / 2], unit);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 64 || mib < 1)
        return 2;
    struct ksm_buf text = KSM_BUF_INIT;
    build(&text, mib << 20);
    size_t prompts = text.len / 1024;
    double whole[64], per_prompt[64], masked[64], redacted[64], args[64];
    struct ksm_buf calls = KSM_BUF_INIT;   /* one call's arguments per prompt, NUL-separated */
    for (size_t i = 0; i < prompts; i++) {
        ksm_buf_puts(&calls, "{\"query\":\"");
        ksm_buf_json_chars(&calls, text.data + i * 1024, 1024);
        ksm_buf_printf(&calls, "\",\"id\":%zu}", 100000000000 + i);
        ksm_buf_append(&calls, "", 1);
    }
    size_t found = 0;
    struct ksm_pii_policy pol = {.block_confidence = KSM_PII_BLOCK_CONFIDENCE};
    for (int k = 0; k < KSM_PII__COUNT; k++)
        pol.action[k] = KSM_PII_MASK;
    struct ksm_buf out = KSM_BUF_INIT;
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = ksm_mono_ns();
        found = ksm_pii_scan(text.data, text.len, NULL, 0);
        uint64_t t1 = ksm_mono_ns();
        whole[r] = text.len / ((t1 - t0) / 1e9) / 1e6;

        struct ksm_pii_match m[32];
        size_t sink = 0;
        t0 = ksm_mono_ns();
        for (size_t i = 0; i < prompts; i++)
            sink += ksm_pii_scan(text.data + i * 1024, 1024, m, 32);
        t1 = ksm_mono_ns();
        per_prompt[r] = prompts / ((t1 - t0) / 1e9);

        t0 = ksm_mono_ns();
        for (size_t i = 0; i < prompts; i++) {
            struct ksm_pii_masker *mk = ksm_pii_masker_new();
            ksm_buf_reset(&out);
            ksm_pii_mask(mk, &pol, text.data + i * 1024, 1024, &out, NULL, NULL);
            sink += out.len;
            ksm_pii_masker_free(mk);
        }
        t1 = ksm_mono_ns();
        masked[r] = prompts / ((t1 - t0) / 1e9);

        enum ksm_pii_action act[KSM_PII__COUNT];
        for (int k = 0; k < KSM_PII__COUNT; k++)
            act[k] = KSM_PII_MASK;
        struct ksm_pii_redact rd = {KSM_BUF_INIT, 0};
        t0 = ksm_mono_ns();
        for (size_t i = 0; i < text.len; i += 12) {   /* one answer, piece by piece */
            ksm_buf_reset(&out);
            ksm_pii_redact_stream(act, &rd, text.data + i, text.len - i < 12 ? text.len - i : 12,
                                  false, &out, NULL);
            sink += out.len;
        }
        ksm_pii_redact_stream(act, &rd, NULL, 0, true, &out, NULL);
        t1 = ksm_mono_ns();
        redacted[r] = text.len / ((t1 - t0) / 1e9) / 1e6;

        t0 = ksm_mono_ns();
        for (size_t at = 0; at < calls.len;) {   /* each call's arguments, piece by piece */
            struct ksm_pii_args rj = {0};
            size_t end = at + strlen(calls.data + at);
            for (size_t i = at; i < end; i += 12) {
                ksm_buf_reset(&out);
                ksm_pii_args_stream(act, NULL, &rj, calls.data + i, end - i < 12 ? end - i : 12,
                                           false, &out, NULL);
                sink += out.len;
            }
            ksm_pii_args_stream(act, NULL, &rj, NULL, 0, true, &out, NULL);
            at = end + 1;
        }
        t1 = ksm_mono_ns();
        args[r] = calls.len / ((t1 - t0) / 1e9) / 1e6;
        if (sink == 0)
            printf("(nothing)\n");
    }
    printf("pii_bench: %zu MiB mixed ja/en text, %zu identifiers (%.1f per KiB), %d runs\n", mib,
           found, (double)found / (text.len / 1024.0), runs);
    report("scan, whole buffer", "MB/s", whole, runs);
    report("scan, 1 KiB prompts", "prompts/s", per_prompt, runs);
    report("mask (new+mask+free), 1 KiB", "prompts/s", masked, runs);
    report("redact a stream, 12-byte pieces", "MB/s", redacted, runs);
    report("redact tool-call args, 12 B", "MB/s", args, runs);
    ksm_buf_free(&out);
    ksm_buf_free(&calls);
    ksm_buf_free(&text);
    return 0;
}
