/* test_pii_redact_json.c — a model's tool-call arguments redacted as JSON: values in strings and in
 * bare numbers are replaced and the result still parses; escapes do not hide a value; a key names
 * its value; free-form input is redacted as text; streamed in any pieces, the output is the
 * whole-text redaction's, byte for byte. */
#include "check.h"
#include "core/buf.h"
#include "core/util.h"
#include "policy/pii.h"

#include <jansson.h>
#include <stdlib.h>

static enum ksm_pii_action act_all[KSM_PII__COUNT], act_none[KSM_PII__COUNT];

static char *redact(const enum ksm_pii_action *act, const char *in, unsigned counts[KSM_PII__COUNT])
{
    struct ksm_buf out = KSM_BUF_INIT;
    ksm_pii_args(act, NULL, in, strlen(in), &out, counts);
    ksm_buf_append(&out, "", 0);
    return ksm_buf_steal(&out);
}

/* in redacted whole and streamed in pieces of `step` bytes: the two must agree. */
static char *streamed(const enum ksm_pii_action *act, const char *in, size_t step)
{
    struct ksm_pii_args st = {0};
    struct ksm_buf out = KSM_BUF_INIT;
    size_t n = strlen(in);
    for (size_t i = 0; i < n; i += step)
        ksm_pii_args_stream(act, NULL, &st, in + i, step < n - i ? step : n - i, false, &out, NULL);
    ksm_pii_args_stream(act, NULL, &st, NULL, 0, true, &out, NULL);
    ksm_buf_append(&out, "", 0);
    return ksm_buf_steal(&out);
}

static void expect(const char *in, const char *want)
{
    char *got = redact(act_all, in, NULL);
    CHECK_STR(got, want);
    for (size_t step = 1; step <= 5; step++) {
        char *s = streamed(act_all, in, step);
        CHECK_STR(s, want);
        free(s);
    }
    free(got);
}

static void values(void)
{
    unsigned counts[KSM_PII__COUNT] = {0};
    const char *in = "{\"mynumber\": \"123456789018\", \"n\": 123456789018, \"tel\": \"03-1234-5678\","
                     " \"ok\": [1, 2.5, true, null, \"平文\"]}";
    char *out = redact(act_all, in, counts);
    CHECK_STR(out, "{\"mynumber\": \"⟦MYNUMBER⟧\", \"n\": \"⟦MYNUMBER⟧\", \"tel\": \"⟦PHONE⟧\","
                   " \"ok\": [1, 2.5, true, null, \"平文\"]}");
    CHECK(counts[KSM_PII_MYNUMBER] == 2 && counts[KSM_PII_PHONE] == 1);
    json_t *j = json_loads(out, 0, NULL);
    CHECK(json_is_object(j));   /* still JSON for the caller's code */
    json_decref(j);
    free(out);

    /* an escape neither hides a value nor glues it to a letter */
    expect("{\"a\":\"\\uff11\\uff12\\uff13\\uff14\\uff15\\uff16\\uff17\\uff18\\uff19\\uff10\\uff11\\uff18\"}",
           "{\"a\":\"⟦MYNUMBER⟧\"}");
    expect("{\"a\":\"line\\n123456789018\\t\\\"q\\\"\"}", "{\"a\":\"line\\n⟦MYNUMBER⟧\\t\\\"q\\\"\"}");
    expect("{\"mail\":\"taro\\u0040example.jp\"}", "{\"mail\":\"⟦EMAIL⟧\"}");
    /* a key as the label of its value: a passport number is found by its context word */
    expect("{\"passport\": \"TK1234567\"}", "{\"passport\": \"⟦PASSPORT⟧\"}");
    /* a negative number, a number in an exponent form, and one that is no identifier */
    expect("[-123456789018, 1.5e3, 123456789012]", "[\"-⟦MYNUMBER⟧\", 1.5e3, 123456789012]");
    /* surrogate pairs decoded, a lone half replaced, escapes of structure kept */
    expect("{\"e\":\"\\ud83d\\ude00 \\ud83d \\/\"}", "{\"e\":\"😀 \xEF\xBF\xBD /\"}");
    /* free-form input (a custom tool's) is text */
    expect("番号は 1234 5678 9018 です", "番号は ⟦MYNUMBER⟧ です");
    /* cut short: what was written comes out, redacted */
    expect("{\"a\": \"123456789018", "{\"a\": \"⟦MYNUMBER⟧");
    expect("{\"a\": 123456789018", "{\"a\": \"⟦MYNUMBER⟧\"");
    expect("{\"a\": \"x\\u12", "{\"a\": \"x\xEF\xBF\xBD");

    /* nothing redacted: the arguments as written (escapes aside) */
    char *same = redact(act_none, in, NULL);
    CHECK_STR(same, in);
    free(same);
}

/* Placeholders the model copied into the arguments are restored inside their strings: escaped as
 * JSON wants (a term of the project's own may hold a quote), found where a server wrote ⟦ as
 * \u27e6, left alone outside a string; with redaction on, the caller's value is restored, not
 * redacted. */
static void restoring(void)
{
    struct ksm_pii_term term = {"say \"hi\"", 8, KSM_PII_MASK};
    struct ksm_pii_policy p = {.terms = &term, .nterms = 1};
    for (int k = 0; k < KSM_PII__COUNT; k++)
        p.action[k] = KSM_PII_MASK;
    struct ksm_pii_masker *m = ksm_pii_masker_new();
    struct ksm_buf masked = KSM_BUF_INIT, out = KSM_BUF_INIT;
    const char *in = "say \"hi\" to 03-1234-5678";
    CHECK(ksm_pii_mask(m, &p, in, strlen(in), &masked, NULL, NULL) == KSM_PII_PASS);
    ksm_buf_append(&masked, "", 0);
    CHECK_STR(masked.data, "⟦TERM_1⟧ to ⟦PHONE_1⟧");
    const char *args = "{\"a\":\"⟦TERM_1⟧\",\"b\":\"\\u27e6PHONE_1\\u27e7\",\"c\":[\"⟦PHONE_9⟧\"]}";
    const char *want = "{\"a\":\"say \\\"hi\\\"\",\"b\":\"03-1234-5678\",\"c\":[\"⟦PHONE_9⟧\"]}";
    for (int redacting = 0; redacting < 2; redacting++)
        for (size_t step = 1; step <= 40; step += 13) {
            struct ksm_pii_args st = {0};
            ksm_buf_reset(&out);
            for (size_t i = 0, n = strlen(args); i < n; i += step)
                ksm_pii_args_stream(redacting ? act_all : NULL, m, &st, args + i,
                                    step < n - i ? step : n - i, false, &out, NULL);
            ksm_pii_args_stream(redacting ? act_all : NULL, m, &st, NULL, 0, true, &out, NULL);
            CHECK_STR(out.data, want);
        }
    json_t *j = json_loads(out.data, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(j, "a")), "say \"hi\"");
    json_decref(j);
    /* free-form input: restored as text, nothing escaped */
    ksm_buf_reset(&out);
    ksm_pii_args(act_all, m, "⟦TERM_1⟧ と 090-1234-5678", strlen("⟦TERM_1⟧ と 090-1234-5678"), &out, NULL);
    CHECK_STR(out.data, "say \"hi\" と ⟦PHONE⟧");
    ksm_buf_free(&masked);
    ksm_buf_free(&out);
    ksm_pii_masker_free(m);
}

/* Random arguments of fields whose values hold identifiers, written plain or escaped, as strings or
 * numbers: the redaction parses as JSON, holds none of the identifiers, and streamed in random
 * pieces is byte for byte the whole. */
#define FULLWIDTH \
    ("\"\\uff11\\uff12\\uff13\\uff14\\uff15\\uff16\\uff17\\uff18\\uff19\\uff10\\uff11\\uff18\"")

static void random_arguments(void)
{
    static const char *const keys[] = {"id", "個人番号", "phone", "note", "passport", "mail", "x"};
    static const char *const vals[] = {
        "\"123456789018\"", "123456789018", "\"1234 5678 9018\"", FULLWIDTH, "\"090-1234-5678\"",
        "\"taro@example.jp\"", "\"TK1234567\"", "4111111111111111", "\"連絡は\\n03-1234-5678\"",
        "[1, \"a\\\"b\", {}]", "true", "null", "-0.5", "\"これは回答です。\"", "\"\\ud83d\\ude00\"",
    };
    /* (a passport number is one only by a context word: the hand case above) */
    static const char *const secrets[] = {"123456789018", "9018", "1234-5678", "taro@", "4111111111111111"};
    unsigned seed = 2468;
    int differ = 0, broken = 0, leaked = 0;
    for (int r = 0; r < 3000; r++) {
        struct ksm_buf t = KSM_BUF_INIT, whole = KSM_BUF_INIT, out = KSM_BUF_INIT;
        int nf = (int)(rand_r(&seed) % 6);
        ksm_buf_putc(&t, '{');
        for (int i = 0; i < nf; i++)
            ksm_buf_printf(&t, "%s\"%s\": %s", i ? ", " : "", keys[rand_r(&seed) % KSM_NELEM(keys)],
                           vals[rand_r(&seed) % KSM_NELEM(vals)]);
        ksm_buf_putc(&t, '}');
        ksm_pii_args(act_all, NULL, t.data, t.len, &whole, NULL);
        struct ksm_pii_args st = {0};
        for (size_t i = 0; i < t.len;) {
            size_t n = 1 + (size_t)(rand_r(&seed) % 9);
            n = n > t.len - i ? t.len - i : n;
            ksm_pii_args_stream(act_all, NULL, &st, t.data + i, n, false, &out, NULL);
            i += n;
        }
        ksm_pii_args_stream(act_all, NULL, &st, NULL, 0, true, &out, NULL);
        if ((out.len != whole.len || memcmp(out.data, whole.data, out.len)) && differ++ < 3)
            fprintf(stderr, "differs: %s\n whole %s\n streamed %s\n", t.data, whole.data, out.data);
        json_t *j = json_loadb(whole.data, whole.len, 0, NULL);
        char *dump = j ? json_dumps(j, 0) : NULL;
        broken += !j;
        for (size_t s = 0; dump && s < KSM_NELEM(secrets); s++)
            if (strstr(dump, secrets[s]) && leaked++ < 3)
                fprintf(stderr, "left in %s: %s\n", dump, secrets[s]);
        free(dump);
        json_decref(j);
        ksm_buf_free(&t);
        ksm_buf_free(&whole);
        ksm_buf_free(&out);
    }
    CHECK(differ == 0);
    CHECK(broken == 0);
    CHECK(leaked == 0);
}

int main(void)
{
    for (int k = 0; k < KSM_PII__COUNT; k++) {
        act_all[k] = KSM_PII_MASK;
        act_none[k] = KSM_PII_ALLOW;
    }
    values();
    restoring();
    random_arguments();
    CHECK_DONE();
}
