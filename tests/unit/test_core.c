/* test_core.c — check digits, ids, time, UTF-8, buffers, the arena, the fixed-buffer formatter and the
 * once-fetched OpenSSL algorithms, the sixteen-byte scans against their one-byte definitions, and
 * IP networks. */
#include "check.h"

#include <openssl/evp.h>
#include <pthread.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/cidr.h"
#include "core/corpnum.h"
#include "core/error.h"
#include "core/evp.h"
#include "core/fmt.h"
#include "core/scan.h"
#include "core/util.h"
#include "http/forwarded.h"

static void test_corpnum(void)
{
    CHECK(ksm_corpnum_valid("7000012050002"));   /* National Tax Agency */
    CHECK(!ksm_corpnum_valid("8000012050002"));
    CHECK(!ksm_corpnum_valid("700001205000"));
    CHECK(!ksm_corpnum_valid("70000120500021"));
    CHECK(!ksm_corpnum_valid("7000O12050002"));
    CHECK(!ksm_corpnum_valid(""));
    CHECK(!ksm_corpnum_valid(NULL));
    CHECK(ksm_mynumber_valid("123456789018"));
    CHECK(!ksm_mynumber_valid("123456789019"));
    CHECK(!ksm_mynumber_valid("12345678901"));
}

static void test_time(void)
{
    int64_t ms;
    char out[32];
    CHECK(ksm_parse_rfc3339("2026-11-22T01:02:03.456Z", &ms) == 0);
    ksm_rfc3339_ms(ms, out);
    CHECK_STR(out, "2026-11-22T01:02:03.456Z");
    CHECK(ksm_parse_rfc3339("2026-11-22T10:02:03+09:00", &ms) == 0);
    ksm_rfc3339_ms(ms, out);
    CHECK_STR(out, "2026-11-22T01:02:03.000Z");
    CHECK(ksm_parse_rfc3339("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0);
    CHECK(ksm_parse_rfc3339("2026-13-01T00:00:00Z", &ms) == -1);
    CHECK(ksm_parse_rfc3339("yesterday", &ms) == -1);
}

static void test_utf8(void)
{
    const char *ja = "国税庁";
    CHECK(ksm_utf8_valid(ja, strlen(ja)));
    CHECK(!ksm_utf8_valid("\xff", 1));
    CHECK(!ksm_utf8_valid("\xc0\x80", 2));          /* overlong NUL */
    CHECK(!ksm_utf8_valid("\xed\xa0\x80", 3));      /* surrogate */
    CHECK(!ksm_utf8_valid("\xe5\x9b", 2));          /* truncated */
    char cut[32];
    strcpy(cut, "ab国税庁");                          /* 2 + 3 * 3 bytes */
    CHECK(ksm_utf8_cut(cut, 7) == 5 && !strcmp(cut, "ab国"));   /* 7 halves 税: back to 5 */
    strcpy(cut, "ab国税庁");
    CHECK(ksm_utf8_cut(cut, 8) == 8 && !strcmp(cut, "ab国税"));
    strcpy(cut, "ab国\xe7\xa8");                        /* snprintf's cut, no limit given */
    CHECK(ksm_utf8_cut(cut, SIZE_MAX) == 5 && !strcmp(cut, "ab国"));
    strcpy(cut, "\xe5\x9b");
    CHECK(ksm_utf8_cut(cut, 10) == 0 && cut[0] == '\0');
}

/* ---- scan.h: each vector scan against its definition, a byte at a time ------------------------ */

static size_t ref_json_plain(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80 && s[i] != '"' &&
           s[i] != '\\')
        i++;
    return i;
}

static size_t ref_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != '\r' && s[i] != '\n')
        i++;
    return i;
}

/* whole three-byte sequences, decoded by hand (ksm_utf8_valid itself runs on the scans): a code
 * point from U+0800 to U+FFFF that is not a surrogate */
static size_t ref_run3(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (n - i >= 3 && (u[i] & 0xf0) == 0xe0 && (u[i + 1] & 0xc0) == 0x80 &&
           (u[i + 2] & 0xc0) == 0x80) {
        unsigned c = (u[i] & 0x0fu) << 12 | (u[i + 1] & 0x3fu) << 6 | (u[i + 2] & 0x3fu);
        if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))
            break;
        i += 3;
    }
    return i;
}

static size_t ref_ascii(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

static void test_scan(void)
{
    /* pieces: kana/kanji/punctuation (most), the edges of the three-byte range (E0 A0 80 and
     * ED 9F BF valid; E0 9F BF overlong, ED A0 80 a surrogate), other lengths, ASCII, the bytes a
     * JSON string or a header line stops at, a lone continuation and a cut sequence */
    static const char *const piece[] = {
        "霞", "が", "関", "。", "、", "ア", "「", "」", "\xef\xbc\x91", "\xe0\xa0\x80", "\xed\x9f\xbf",
        "\xe0\x9f\xbf", "\xed\xa0\x80", "\xef\xbf\xbf", "é", "😀", "a", "Z", " ", "\"", "\\", "\r",
        "\n", "\x01", "\x7f", "\x80", "\xe9\x9c",
    };
    uint32_t seed = 2026;
    int bad = 0;
    for (int round = 0; round < 3000; round++) {
        char buf[200];
        size_t n = 0;
        int kanji_bias = round % 3;   /* long runs of kanji reach the vector loops */
        while (n < 120) {
            seed = seed * 1103515245u + 12345u;
            size_t k = (seed >> 8) % KSM_NELEM(piece);
            if (kanji_bias && (seed >> 20) % 8 < 6)
                k = (seed >> 4) % 8;
            size_t l = strlen(piece[k]);
            memcpy(buf + n, piece[k], l);
            n += l;
        }
        for (size_t at = 0; at < n; at++)
            for (size_t len = n - at; len + 20 > n - at && len > 0; len--) {
                bad += ksm_scan_json_plain(buf + at, len) != ref_json_plain(buf + at, len);
                bad += ksm_scan_line(buf + at, len) != ref_line(buf + at, len);
                bad += ksm_scan_utf8_run3(buf + at, len) != ref_run3(buf + at, len);
                bad += ksm_scan_ascii(buf + at, len) != ref_ascii(buf + at, len);
            }
    }
    CHECK(bad == 0);
    const char *ja = "次の住民向けお知らせを、やさしい日本語で短く書き直してください。";
    CHECK(ksm_scan_utf8_run3(ja, strlen(ja)) == strlen(ja));
    CHECK(ksm_scan_utf8_run3("霞\xed\xa0\x80", 6) == 3);   /* a surrogate ends the run */
    CHECK(ksm_scan_json_plain("Authorization: Bearer x\"", 24) == 23);
    CHECK(ksm_scan_line("Host: example.jp\r\n", 18) == 16);
}

static void test_ids_and_buf(void)
{
    char a[40], b[40];
    ksm_id_new("tn", a);
    ksm_id_new("tn", b);
    CHECK(strncmp(a, "tn_", 3) == 0 && strlen(a) == 23);
    CHECK(strcmp(a, b) != 0);
    struct ksm_buf buf = KSM_BUF_INIT;
    ksm_buf_json_str(&buf, "a\"b\\c\n\x01霞");
    CHECK_STR(buf.data, "\"a\\\"b\\\\c\\n\\u0001霞\"");
    ksm_buf_free(&buf);
    ksm_buf_json_str(&buf, "霞が関の窓口 a\"b\x7f\xe9\x9c\t國");   /* runs of each kind, DEL as it is */
    CHECK_STR(buf.data, "\"霞が関の窓口 a\\\"b\x7f\xe9\x9c\\t國\"");
    ksm_buf_free(&buf);
    ksm_buf_put_i64(&buf, 0);
    ksm_buf_putc(&buf, ' ');
    ksm_buf_put_i64(&buf, 404);
    ksm_buf_putc(&buf, ' ');
    ksm_buf_put_i64(&buf, INT64_MIN);
    CHECK_STR(buf.data, "0 404 -9223372036854775808");
    ksm_buf_free(&buf);
    char hx[65];
    ksm_sha256_hex("abc", 3, hx);
    CHECK_STR(hx, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block), from several threads at once: the
 * shared HMAC template must never be keyed or changed by a call. */
static void *hmac_cases(void *arg)
{
    static const struct { const char *key, *msg, *mac; } v[] = {
        {"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    unsigned char big[131];
    memset(big, 0xaa, sizeof big);
    int *bad = arg;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < KSM_NELEM(v); i++) {
            unsigned char mac[32];
            char hx[65];
            const char *k = v[i].key ? v[i].key : (const char *)big;
            ksm_hmac_sha256(k, v[i].key ? strlen(k) : sizeof big, v[i].msg, strlen(v[i].msg), mac);
            ksm_hex(mac, 32, hx);
            *bad += strcmp(hx, v[i].mac) != 0;
        }
    }
    return NULL;
}

static void test_evp(void)
{
    pthread_t t[4];
    int bad[4] = {0};
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, hmac_cases, &bad[i]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(bad[i] == 0);
    }
    CHECK(ksm_evp_sha256() == ksm_evp_sha256());   /* fetched once, not per call */
    CHECK(EVP_MD_get_size(ksm_evp_sha256()) == 32 && EVP_MD_get_size(ksm_evp_sha1()) == 20 &&
          EVP_MD_get_size(ksm_evp_md5()) == 16);
    CHECK(EVP_CIPHER_get_mode(ksm_evp_aes256gcm()) == EVP_CIPH_GCM_MODE &&
          EVP_CIPHER_get_key_length(ksm_evp_aes256gcm()) == 32);
}

static void test_arena(void)
{
    struct ksm_arena *a = ksm_arena_create(1024);
    char *big = ksm_arena_alloc(a, 100000);
    memset(big, 1, 100000);
    for (int i = 0; i < 1000; i++)
        CHECK(((uintptr_t)ksm_arena_alloc(a, (size_t)i + 1) & 15) == 0);
    CHECK_STR(ksm_arena_printf(a, "%s-%d", "x", 42), "x-42");
    ksm_arena_reset(a);
    CHECK(ksm_arena_used(a) == 0);
    ksm_arena_destroy(a);
}

static void test_errors(void)
{
    CHECK(ksm_err_status(KSM_E_NOT_FOUND) == 404);
    CHECK_STR(ksm_err_code(KSM_E_HEADERS_TOO_LARGE), "headers_too_large");
    CHECK(ksm_err_status((enum ksm_err)9999) == 500);
}

/* The callers differ only in flags: form values (lenient, '+'), request paths and S3 names
 * (strict, no NUL), S3 keys in the raw target (lenient, no NUL). */
static void test_pct_decode(void)
{
    char out[64];
    CHECK(ksm_pct_decode("a%2Fb+c%e3%81%82", 16, out, KSM_PCT_PLUS) == 8);
    CHECK_STR(out, "a/b c\xe3\x81\x82");
    CHECK(ksm_pct_decode("a+b", 3, out, 0) == 3);
    CHECK_STR(out, "a+b");
    CHECK(ksm_pct_decode("100%", 4, out, 0) == 4);   /* lenient keeps a bad escape */
    CHECK_STR(out, "100%");
    CHECK(ksm_pct_decode("%zz%4", 5, out, 0) == 5);
    CHECK_STR(out, "%zz%4");
    CHECK(ksm_pct_decode("100%", 4, out, KSM_PCT_STRICT) == -1);
    CHECK(ksm_pct_decode("%4g", 3, out, KSM_PCT_STRICT) == -1);
    CHECK(ksm_pct_decode("a%00b", 5, out, KSM_PCT_NO_NUL) == -1);
    CHECK(ksm_pct_decode("a%00b", 5, out, 0) == 3);
    CHECK(ksm_pct_decode("", 0, out, KSM_PCT_STRICT) == 0 && out[0] == '\0');
    CHECK(ksm_hexval('F') == 15 && ksm_hexval('a') == 10 && ksm_hexval('g') == -1);
}

/* The fixed-buffer formatter: integers at their limits, and cutting like snprintf. */
static void test_fmt(void)
{
    char buf[64], small[8];
    struct ksm_fmt f = ksm_fmt_init(buf, sizeof buf);
    ksm_fmt_str(&f, "a=");
    ksm_fmt_i64(&f, 0);
    ksm_fmt_mem(&f, " b=", 3);
    ksm_fmt_i64(&f, INT64_MIN);
    ksm_fmt_str(&f, " c=");
    ksm_fmt_i64(&f, INT64_MAX);
    CHECK_STR(buf, "a=0 b=-9223372036854775808 c=9223372036854775807");
    CHECK(!f.cut && f.len == strlen(buf));
    f = ksm_fmt_init(small, sizeof small);
    ksm_fmt_str(&f, "tokens=");
    ksm_fmt_i64(&f, 12345);
    CHECK_STR(small, "tokens=");
    CHECK(f.cut && f.len == 7);
    f = ksm_fmt_init(small, 1);
    ksm_fmt_i64(&f, -5);
    CHECK(small[0] == '\0' && f.cut);
    /* as printf's %lld writes it: both sides of every power of ten, and scattered values */
    int64_t p10 = 1;
    for (int e = 0; e <= 18; e++, p10 = e <= 18 ? p10 * 10 : p10) {
        const int64_t around[] = {p10 - 1, p10, p10 + 1, -p10 + 1, -p10, -p10 - 1, p10 * 9 / 7};
        for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
            char want[32];
            snprintf(want, sizeof want, "%lld", (long long)around[i]);
            f = ksm_fmt_init(buf, sizeof buf);
            ksm_fmt_i64(&f, around[i]);
            CHECK_STR(buf, want);
        }
    }
    uint64_t x = 88172645463325252ull;   /* xorshift: values of every length */
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v = (int64_t)(x >> (x % 64));
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)v);
        f = ksm_fmt_init(buf, sizeof buf);
        ksm_fmt_i64(&f, v);
        if (strcmp(buf, want)) {
            CHECK_STR(buf, want);
            break;
        }
    }
    /* hex as printf's %0Nx would write it, across widths and values */
    static const uint64_t vals[] = {0, 1, 0xf, 0x10, 0xabc, 0xffffffffu, 0x100000000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        for (unsigned w = 0; w <= 20; w++) {
            char want[32];
            snprintf(want, sizeof want, "%0*llx", (int)(w > 16 ? 16 : w), (unsigned long long)vals[i]);
            f = ksm_fmt_init(buf, sizeof buf);
            ksm_fmt_hex(&f, vals[i], w);
            CHECK_STR(buf, want);
        }
    ksm_fmt_copy(small, sizeof small, "abcdefghij");   /* cut like snprintf("%s") */
    CHECK_STR(small, "abcdefg");
    ksm_fmt_copy(small, sizeof small, NULL);
    CHECK_STR(small, "");
    ksm_fmt_copy(small, sizeof small, "漢");
    CHECK_STR(small, "漢");
}

/* The in-memory tables' hash: equal bytes hash equal, a trailing NUL or another seed changes it,
 * keys shaped like the authorisation cache's spread evenly over its 1,024 slots, and flipping any
 * one input bit flips about half the output bits (the slots use the low bits). */
static void test_hash64(void)
{
    CHECK(ksm_hash64(0, "abc", 3) == ksm_hash64(0, "abcd", 3));
    CHECK(ksm_hash64(0, "a", 1) != ksm_hash64(0, "a\0", 2));
    CHECK(ksm_hash64(0, "", 0) != ksm_hash64(1, "", 0));
    enum { KEYS = 102400, SLOTS = 1024 };
    static unsigned load[SLOTS];
    char key[160];
    for (int i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "ak_%020d|usr_%020d|ai.invoke|ten_x|prj_%d|0", i % 97,
                         i / 97, i % 13);
        load[ksm_hash64(0, key, (size_t)n) % SLOTS]++;
    }
    unsigned max = 0, min = KEYS;
    for (int i = 0; i < SLOTS; i++) {
        max = load[i] > max ? load[i] : max;
        min = load[i] < min ? load[i] : min;
    }
    CHECK(max < 150 && min > 50);   /* mean 100; a poor hash piles keys that differ late */
    unsigned char in[40] = "ak_00000000000000000042|usr_0000000001|";
    for (size_t bit = 0; bit < sizeof in * 8; bit++) {
        uint64_t a = ksm_hash64(7, in, sizeof in);
        in[bit / 8] ^= (unsigned char)(1u << bit % 8);
        int flipped = __builtin_popcountll(a ^ ksm_hash64(7, in, sizeof in));
        in[bit / 8] ^= (unsigned char)(1u << bit % 8);
        CHECK(flipped >= 16 && flipped <= 48);
    }
}

/* A network's canonical text, or "bad" with why non-empty. */
static const char *cidr_text(const char *s, char out[KSM_CIDR_TEXT])
{
    struct ksm_cidr c;
    char why[160] = "";
    if (!ksm_cidr_parse(s, &c, why)) {
        CHECK(why[0] != '\0');
        return "bad";
    }
    ksm_cidr_format(&c, out);
    return out;
}

static bool in(const char *net, const char *ip)
{
    struct ksm_cidr c;
    char why[160];
    uint8_t a[16];
    CHECK(ksm_cidr_parse(net, &c, why));
    CHECK(ksm_ip_parse(ip, a));
    return ksm_cidr_contains(&c, a);
}

static void test_cidr(void)
{
    char t[KSM_CIDR_TEXT];
    CHECK_STR(cidr_text("10.0.0.0/8", t), "10.0.0.0/8");
    CHECK_STR(cidr_text("192.0.2.7", t), "192.0.2.7/32");
    CHECK_STR(cidr_text("0.0.0.0/0", t), "0.0.0.0/0");
    CHECK_STR(cidr_text("2001:DB8::/32", t), "2001:db8::/32");
    CHECK_STR(cidr_text("::1", t), "::1/128");
    CHECK_STR(cidr_text("::/0", t), "::/0");
    CHECK_STR(cidr_text("10.0.0.1/8", t), "bad");        /* host bits: 10.0.0.0/8 is meant */
    CHECK_STR(cidr_text("2001:db8::1/32", t), "bad");
    CHECK_STR(cidr_text("10.0.0.0/33", t), "bad");
    CHECK_STR(cidr_text("::/129", t), "bad");
    CHECK_STR(cidr_text("10.0.0.0/", t), "bad");
    CHECK_STR(cidr_text("10.0.0.0/+8", t), "bad");
    CHECK_STR(cidr_text("10.0.0.0/ 8", t), "bad");
    CHECK_STR(cidr_text("10.0.0.0/8x", t), "bad");
    CHECK_STR(cidr_text("256.0.0.0/8", t), "bad");
    CHECK_STR(cidr_text("10.0.0/8", t), "bad");
    CHECK_STR(cidr_text("::ffff:10.0.0.0/104", t), "bad");   /* one spelling: 10.0.0.0/8 */
    CHECK_STR(cidr_text("", t), "bad");
    CHECK_STR(cidr_text("/8", t), "bad");
    CHECK_STR(cidr_text("localhost", t), "bad");
    CHECK(in("10.0.0.0/8", "10.255.1.2") && !in("10.0.0.0/8", "11.0.0.1"));
    CHECK(in("192.0.2.0/25", "192.0.2.127") && !in("192.0.2.0/25", "192.0.2.128"));
    CHECK(in("192.0.2.7", "192.0.2.7") && !in("192.0.2.7", "192.0.2.6"));
    CHECK(in("0.0.0.0/0", "203.0.113.9") && !in("0.0.0.0/0", "::1"));   /* every IPv4, no IPv6 */
    CHECK(in("::/0", "::1") && in("::/0", "10.0.0.1"));                 /* everything */
    CHECK(in("10.0.0.0/8", "::ffff:10.1.2.3"));   /* an IPv4 caller seen on an IPv6 socket */
    CHECK(in("2001:db8::/32", "2001:db8:ffff::1") && !in("2001:db8::/32", "2001:db9::1"));
    CHECK(!in("::1", "127.0.0.1"));
    uint8_t a[16];
    CHECK(!ksm_ip_parse("", a) && !ksm_ip_parse("1.2.3", a) && !ksm_ip_parse("10.0.0.0/8", a));
}

/* The client behind trusted proxies: "!" when it cannot be known. */
static const char *client(const char *peer, const char *l1, const char *l2, char out[KSM_ADDR_TEXT])
{
    static struct ksm_cidr proxies[2];
    char why[160];
    CHECK(ksm_cidr_parse("10.0.0.0/8", &proxies[0], why) && ksm_cidr_parse("::1", &proxies[1], why));
    const char *xff[2] = {l1, l2};
    int n = l2 ? 2 : l1 ? 1 : 0;
    return ksm_forwarded_client(peer, xff, n, proxies, 2, out) ? out : "!";
}

static void test_forwarded(void)
{
    char o[KSM_ADDR_TEXT];
    CHECK_STR(client("192.0.2.1", "203.0.113.5", NULL, o), "192.0.2.1");     /* untrusted peer: itself */
    CHECK_STR(client("10.0.0.1", NULL, NULL, o), "10.0.0.1");                /* a proxy with no header */
    CHECK_STR(client("10.0.0.1", "203.0.113.5", NULL, o), "203.0.113.5");
    CHECK_STR(client("10.0.0.1", "198.51.100.7, 203.0.113.5", NULL, o), "203.0.113.5");   /* the right one */
    CHECK_STR(client("10.0.0.1", "203.0.113.5, 10.1.1.1 ,10.2.2.2", NULL, o), "203.0.113.5");
    CHECK_STR(client("10.0.0.1", "10.9.9.9, 10.8.8.8", NULL, o), "10.9.9.9");   /* all trusted: leftmost */
    CHECK_STR(client("10.0.0.1", "198.51.100.7", "10.3.3.3", o), "198.51.100.7");   /* lines in order */
    CHECK_STR(client("::1", "2001:db8::5", NULL, o), "2001:db8::5");
    CHECK_STR(client("10.0.0.1", "garbage", NULL, o), "!");
    CHECK_STR(client("10.0.0.1", "198.51.100.7, garbage", NULL, o), "!");   /* the nearest untrusted is no address */
    CHECK_STR(client("10.0.0.1", "garbage, 198.51.100.7", NULL, o), "198.51.100.7");   /* not read past it */
    CHECK_STR(client("10.0.0.1", ", ,203.0.113.5, ", NULL, o), "203.0.113.5");   /* empty entries skipped */
    CHECK_STR(client("10.0.0.1", "", NULL, o), "10.0.0.1");
    char big[200];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_STR(client("10.0.0.1", big, NULL, o), "!");
}

int main(void)
{
    test_corpnum();
    test_time();
    test_utf8();
    test_scan();
    test_ids_and_buf();
    test_arena();
    test_evp();
    test_errors();
    test_pct_decode();
    test_fmt();
    test_hash64();
    test_cidr();
    test_forwarded();
    return CHECK_DONE();
}
