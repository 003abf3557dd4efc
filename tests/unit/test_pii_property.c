/* test_pii_property.c — properties of the check-digit detectors over thousands of random
 * numbers: every 11-digit base with its right check digit is found as a My Number in every
 * format (plain, 4-4-4 with '-', ' ', U+3000, U+FF0D, full-width digits), with and without
 * context; with any of the nine wrong check digits it never is; inside a 13-digit run it never
 * is. The same for Luhn card numbers of every issuer length. Deterministic (fixed seed). */
#include "check.h"
#include "core/buf.h"
#include "core/corpnum.h"
#include "core/util.h"
#include "policy/pii.h"

#include <stdint.h>
#include <stdlib.h>

#define ROUNDS 2000

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Writes digits d[0..n) to b in a format: groups of `groups` (0 = plain) joined by sep, and
 * full-width digits if fw. */
static void put_number(struct ksm_buf *b, const char *d, int n, const int *groups, const char *sep,
                       int fw)
{
    int g = 0, left = groups ? groups[0] : n;
    for (int i = 0; i < n; i++) {
        if (left == 0) {
            ksm_buf_puts(b, sep);
            left = groups[++g];
        }
        if (fw) {
            char u[3] = {(char)0xEF, (char)0xBC, (char)(0x90 + d[i] - '0')};
            ksm_buf_append(b, u, 3);
        } else {
            ksm_buf_putc(b, d[i]);
        }
        left--;
    }
}

struct fmt {
    const int *groups;
    const char *sep;
    int fw;
};

static const int g444[] = {4, 4, 4};
static const struct fmt my_formats[] = {
    {NULL, "", 0},        {g444, "-", 0},           {g444, " ", 0},
    {g444, "\u3000", 0},  {g444, "\uFF0D", 0},      {g444, "\u30FC", 0},
    {NULL, "", 1},        {g444, "-", 1},           {g444, "\u3000", 1},
    {g444, " ", 1},
};

static const char *const frames[][2] = {
    {"", ""},
    {"個人番号は", "です。"},
    {"マイナンバー：", "\n"},
    {"My Number ", ", thanks"},
    {"申請者 山田 ", " 照会"},
};

/* How many matches of kind cover exactly [start, end) — and how many of kind in all. */
static int scan_for(const struct ksm_buf *b, enum ksm_pii_kind kind, size_t start, size_t end,
                    int *any)
{
    struct ksm_pii_match m[8];
    size_t n = ksm_pii_scan(b->data, b->len, m, 8);
    int exact = 0;
    *any = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        if (m[i].kind == kind) {
            (*any)++;
            exact += m[i].start == start && m[i].end == end;
        }
    return exact;
}

static int check_digit(char d[13])
{
    for (int c = 0; c < 10; c++) {
        d[11] = (char)('0' + c);
        if (ksm_mynumber_valid(d))
            return c;
    }
    return -1;
}

static void mynumber_property(void)
{
    int found = 0, missed = 0, wrong_found = 0, embedded_found = 0;
    struct ksm_buf b = KSM_BUF_INIT;
    for (int r = 0; r < ROUNDS; r++) {
        char d[14] = {0};
        for (int i = 0; i < 11; i++)
            d[i] = (char)('0' + rnd(10));
        d[0] = (char)('1' + rnd(9));   /* all zeros is deliberately not a My Number */
        int c = check_digit(d);
        for (int v = 0; v < 10; v++) {
            d[11] = (char)('0' + v);
            const struct fmt *f = &my_formats[rnd(KSM_NELEM(my_formats))];
            const char *const *fr = frames[rnd(KSM_NELEM(frames))];
            ksm_buf_reset(&b);
            ksm_buf_puts(&b, fr[0]);
            size_t start = b.len;
            put_number(&b, d, 12, f->groups, f->sep, f->fw);
            size_t end = b.len;
            ksm_buf_puts(&b, fr[1]);
            int any, exact = scan_for(&b, KSM_PII_MYNUMBER, start, end, &any);
            if (v == c) {
                exact == 1 ? found++ : missed++;
                if (exact != 1)
                    fprintf(stderr, "missed: %s\n", b.data);
            } else {
                wrong_found += any;
            }
        }
        /* Every format of the valid number, each once more, inside a 13-digit run. */
        d[11] = (char)('0' + c);
        for (size_t k = 0; k < KSM_NELEM(my_formats); k++) {
            ksm_buf_reset(&b);
            ksm_buf_puts(&b, "個人番号 ");
            put_number(&b, d, 12, my_formats[k].groups, my_formats[k].sep, my_formats[k].fw);
            size_t end = b.len;
            ksm_buf_putc(&b, (char)('0' + rnd(10)));
            int any, exact = scan_for(&b, KSM_PII_MYNUMBER, 0, end, &any);
            (void)exact;
            embedded_found += any;
        }
    }
    printf("mynumber: %d/%d valid found in random formats, %d wrong-check found, %d inside "
           "13-digit runs found\n", found, found + missed, wrong_found, embedded_found);
    CHECK(found == ROUNDS && missed == 0);
    CHECK(wrong_found == 0);
    CHECK(embedded_found == 0);
    ksm_buf_free(&b);
}

/* Issuer prefixes and lengths the card detector must accept (pii_card.c's table, by example). */
static const struct {
    const char *prefix;
    int len;
} brands[] = {
    {"4", 16}, {"4", 13}, {"4", 19}, {"51", 16}, {"55", 16}, {"2221", 16}, {"2720", 16},
    {"34", 15}, {"37", 15}, {"3528", 16}, {"3589", 19}, {"36", 14}, {"300", 14}, {"6011", 16},
    {"65", 16}, {"62", 19},
};

static int luhn_digit(char *d, int n)
{
    for (int c = 0; c < 10; c++) {
        d[n - 1] = (char)('0' + c);
        int sum = 0;
        for (int i = 0; i < n; i++) {
            int v = d[n - 1 - i] - '0';
            if (i % 2)
                v = v * 2 > 9 ? v * 2 - 9 : v * 2;
            sum += v;
        }
        if (sum % 10 == 0)
            return c;
    }
    return -1;
}

static void card_property(void)
{
    static const int g4[] = {4, 4, 4, 4, 4}, g465[] = {4, 6, 5}, g464[] = {4, 6, 4};
    int found = 0, missed = 0, wrong_found = 0;
    struct ksm_buf b = KSM_BUF_INIT;
    for (int r = 0; r < ROUNDS; r++) {
        int k = (int)rnd(KSM_NELEM(brands)), n = brands[k].len;
        char d[24] = {0};
        size_t pl = strlen(brands[k].prefix);
        memcpy(d, brands[k].prefix, pl);
        for (int i = (int)pl; i < n - 1; i++)
            d[i] = (char)('0' + rnd(10));
        int c = luhn_digit(d, n);
        const int *groups = n == 15 ? g465 : n == 14 ? g464 : g4;
        static const char *const seps[] = {"-", " ", "\u3000"};
        int plain = rnd(3) == 0;
        for (int v = 0; v < 10; v++) {
            d[n - 1] = (char)('0' + v);
            ksm_buf_reset(&b);
            ksm_buf_puts(&b, rnd(2) ? "カード番号 " : "paid with ");
            size_t start = b.len;
            put_number(&b, d, n, plain ? NULL : groups, seps[rnd(3)], (int)rnd(4) == 0);
            size_t end = b.len;
            ksm_buf_puts(&b, " です");
            int any, exact = scan_for(&b, KSM_PII_CARD, start, end, &any);
            if (v == c) {
                exact == 1 ? found++ : missed++;
                if (exact != 1)
                    fprintf(stderr, "missed: %s\n", b.data);
            } else {
                wrong_found += any;
            }
        }
    }
    printf("card: %d/%d Luhn-valid found, %d Luhn-invalid found\n", found, found + missed,
           wrong_found);
    CHECK(found == ROUNDS && missed == 0);
    CHECK(wrong_found == 0);
    ksm_buf_free(&b);
}

int main(void)
{
    mynumber_property();
    card_property();
    return CHECK_DONE();
}
