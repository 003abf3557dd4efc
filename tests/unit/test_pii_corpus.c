/* test_pii_corpus.c — scores ksm_pii_scan against the labelled corpus tests/data/pii/corpus.jsonl
 * (written by gen_corpus.py beside it): per kind, a found span counts as a true positive only if
 * a labelled span has the same kind, start and end. Prints precision and recall for every kind,
 * and fails if 個人番号's precision or recall is below 0.99 (the law wants every My Number kept
 * from AI services, and a false alarm on every order number would make masking useless).
 * The same samples go through the output redaction (ksm_pii_redact): whole, every value found is
 * replaced and a scan of the result finds none; streamed in pieces of 1 to 23 bytes, the result is
 * byte for byte the whole text's, and the stream holds back a bounded tail. */
#include "check.h"
#include "core/util.h"
#include "policy/pii.h"

#include <stdlib.h>

#ifndef KSM_SOURCE_DIR
#define KSM_SOURCE_DIR "."
#endif

#define MAX_SPANS 16

struct sample {
    struct ksm_buf text;
    int n;
    struct ksm_pii_match gold[MAX_SPANS];
};

/* ---- a minimal reader for the corpus's JSON Lines (the generator's format only) ---------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Appends the UTF-8 encoding of code point c. */
static void put_utf8(struct ksm_buf *b, unsigned c)
{
    char u[4];
    size_t n = 0;
    if (c < 0x80) {
        u[n++] = (char)c;
    } else if (c < 0x800) {
        u[n++] = (char)(0xC0 | c >> 6);
        u[n++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        u[n++] = (char)(0xE0 | c >> 12);
        u[n++] = (char)(0x80 | (c >> 6 & 0x3F));
        u[n++] = (char)(0x80 | (c & 0x3F));
    } else {
        u[n++] = (char)(0xF0 | c >> 18);
        u[n++] = (char)(0x80 | (c >> 12 & 0x3F));
        u[n++] = (char)(0x80 | (c >> 6 & 0x3F));
        u[n++] = (char)(0x80 | (c & 0x3F));
    }
    ksm_buf_append(b, u, n);
}

/* Parses the JSON string at p (at its opening quote) into b; returns the byte after it, or NULL. */
static const char *json_string(const char *p, struct ksm_buf *b)
{
    if (*p++ != '"')
        return NULL;
    ksm_buf_append(b, "", 0);
    while (*p && *p != '"') {
        if (*p != '\\') {
            ksm_buf_append(b, p++, 1);
            continue;
        }
        p++;
        switch (*p) {
        case 'n': ksm_buf_putc(b, '\n'); break;
        case 't': ksm_buf_putc(b, '\t'); break;
        case 'r': ksm_buf_putc(b, '\r'); break;
        case 'b': ksm_buf_putc(b, '\b'); break;
        case 'f': ksm_buf_putc(b, '\f'); break;
        case 'u': {
            unsigned c = (unsigned)strtoul((char[]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
            p += 4;
            if (c >= 0xD800 && c < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo = (unsigned)strtoul((char[]){p[3], p[4], p[5], p[6], 0}, NULL, 16);
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            put_utf8(b, c);
            break;
        }
        default: ksm_buf_append(b, p, 1); break;
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *field(const char *p, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *f = strstr(p, key);
    return f ? skip_ws(f + strlen(key)) : NULL;
}

/* One line → sample; false if the line is malformed. */
static bool parse_line(const char *line, struct sample *s)
{
    const char *p = field(line, "text");
    if (!p || !(p = json_string(p, &s->text)))
        return false;
    s->n = 0;
    const char *spans = field(p, "spans");
    if (!spans || *spans != '[')
        return false;
    const char *close = strchr(spans, ']');
    for (const char *o = strchr(spans, '{'); o && o < close; o = strchr(o + 1, '{')) {
        struct ksm_buf kind = KSM_BUF_INIT;
        const char *k = field(o, "kind"), *st = field(o, "start"), *en = field(o, "end");
        if (!k || !st || !en || !json_string(k, &kind) || s->n == MAX_SPANS) {
            ksm_buf_free(&kind);
            return false;
        }
        int kd = ksm_pii_kind_parse(kind.data);
        ksm_buf_free(&kind);
        if (kd < 0)
            return false;
        s->gold[s->n++] = (struct ksm_pii_match){(enum ksm_pii_kind)kd, strtoul(st, NULL, 10),
                                                 strtoul(en, NULL, 10), 100, 0};
    }
    return true;
}

/* ---- scoring ------------------------------------------------------------------------------------ */

static unsigned tp[KSM_PII__COUNT], fp[KSM_PII__COUNT], fn[KSM_PII__COUNT];
static int shown;

static bool same(const struct ksm_pii_match *a, const struct ksm_pii_match *b)
{
    return a->kind == b->kind && a->start == b->start && a->end == b->end;
}

static void show(const char *what, const struct sample *s, const struct ksm_pii_match *m)
{
    if (shown++ < 40)
        fprintf(stderr, "%s %s [%.*s] in: %s\n", what, ksm_pii_kind_name(m->kind),
                (int)(m->end - m->start), s->text.data + m->start, s->text.data);
}

static void score(const struct sample *s)
{
    struct ksm_pii_match found[MAX_SPANS];
    size_t n = ksm_pii_scan(s->text.data, s->text.len, found, MAX_SPANS);
    CHECK(n <= MAX_SPANS);
    bool used[MAX_SPANS] = {false};
    for (size_t i = 0; i < n && i < MAX_SPANS; i++) {
        bool hit = false;
        for (int g = 0; g < s->n && !hit; g++)
            if (!used[g] && same(&found[i], &s->gold[g]))
                used[g] = hit = true;
        if (hit) {
            tp[found[i].kind]++;
        } else {
            fp[found[i].kind]++;
            show("FP", s, &found[i]);
        }
    }
    for (int g = 0; g < s->n; g++)
        if (!used[g]) {
            fn[s->gold[g].kind]++;
            show("FN", s, &s->gold[g]);
        }
}

/* Redaction of the sample as a model's output, every kind redacted. */
static unsigned redacted_ok, stream_same;
static uint32_t lcg = 12345;

static void redact(const struct sample *s)
{
    enum ksm_pii_action all[KSM_PII__COUNT];
    for (int k = 0; k < KSM_PII__COUNT; k++)
        all[k] = KSM_PII_MASK;
    struct ksm_buf whole = KSM_BUF_INIT, streamed = KSM_BUF_INIT;
    unsigned counts[KSM_PII__COUNT] = {0}, total = 0;
    ksm_pii_redact(all, s->text.data, s->text.len, &whole, counts);
    for (int k = 0; k < KSM_PII__COUNT; k++)
        total += counts[k];
    size_t found = ksm_pii_scan(s->text.data, s->text.len, NULL, 0);
    bool clean = total == found && ksm_pii_scan(whole.data, whole.len, NULL, 0) == 0;
    CHECK(clean);
    redacted_ok += clean;

    struct ksm_pii_redact st = {KSM_BUF_INIT, 0};
    bool bounded = true;
    for (size_t i = 0; i < s->text.len;) {
        lcg = lcg * 1103515245u + 12345u;
        size_t n = 1 + (lcg >> 16) % 23;
        n = n > s->text.len - i ? s->text.len - i : n;
        ksm_pii_redact_stream(all, &st, s->text.data + i, n, false, &streamed, NULL);
        bounded &= st.win.len - st.ctx <= 320 + 23;
        i += n;
    }
    ksm_pii_redact_stream(all, &st, "", 0, true, &streamed, NULL);
    bool same_out = streamed.len == whole.len && !memcmp(streamed.data, whole.data, whole.len);
    if (!same_out && shown++ < 40)
        fprintf(stderr, "STREAM [%.*s] whole [%.*s]\n", (int)streamed.len, streamed.data,
                (int)whole.len, whole.data);
    CHECK(same_out && bounded);
    stream_same += same_out;
    ksm_buf_free(&whole);
    ksm_buf_free(&streamed);
}

static double ratio(unsigned a, unsigned b) { return b ? (double)a / b : 1.0; }

int main(void)
{
    const char *path = KSM_SOURCE_DIR "/tests/data/pii/corpus.jsonl";
    size_t len;
    char *data = ksm_read_file(path, &len);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", path);
        CHECK(data != NULL);
        return CHECK_DONE();
    }
    int samples = 0, gold = 0;
    for (char *line = data, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            nl = line + strlen(line) - 1;
        *nl = '\0';
        if (!*line)
            continue;
        struct sample s = {KSM_BUF_INIT, 0, {{0}}};
        bool ok = parse_line(line, &s);
        CHECK(ok);
        if (ok) {
            samples++;
            gold += s.n;
            score(&s);
            redact(&s);
        }
        ksm_buf_free(&s.text);
    }
    free(data);
    CHECK(samples >= 2000);
    printf("redaction: %u of %d samples clean, %u the same streamed\n", redacted_ok, samples,
           stream_same);
    printf("corpus: %d samples, %d labelled spans\n", samples, gold);
    printf("%-10s %6s %6s %6s %9s %7s\n", "kind", "tp", "fp", "fn", "precision", "recall");
    for (int k = 0; k < KSM_PII__DETECTED; k++) {   /* (a project's own terms are not detected) */
        double p = ratio(tp[k], tp[k] + fp[k]), r = ratio(tp[k], tp[k] + fn[k]);
        printf("%-10s %6u %6u %6u %9.4f %7.4f\n", ksm_pii_kind_name((enum ksm_pii_kind)k), tp[k],
               fp[k], fn[k], p, r);
        CHECK(tp[k] > 0);   /* every kind is in the corpus */
    }
    CHECK(ratio(tp[KSM_PII_MYNUMBER], tp[KSM_PII_MYNUMBER] + fp[KSM_PII_MYNUMBER]) >= 0.99);
    CHECK(ratio(tp[KSM_PII_MYNUMBER], tp[KSM_PII_MYNUMBER] + fn[KSM_PII_MYNUMBER]) >= 0.99);
    return CHECK_DONE();
}
