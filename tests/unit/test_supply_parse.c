/* test_supply_parse.c — the supply-chain register's parsers and normalisers: dates (Western and
 * 和暦), full-width digits, name and model normalisation, encoding detection (UTF-8, CP932 with
 * the characters where CP932 and Shift_JIS differ), CSV, and the form's checks with their row
 * and column. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/csv.h"
#include "supply/sheet.h"
#include "supply/supply_csv.h"
#include "supply/supply_date.h"
#include "supply/supply_decode.h"
#include "supply/supply_form.h"
#include "supply/supply_text.h"

static const char *date(const char *in)
{
    static char out[11];
    const char *why = NULL;
    return ksm_supply_date_parse(in, out, &why) ? NULL : out;
}

static void test_dates(void)
{
    CHECK_STR(date("2026-06-20"), "2026-06-20");
    CHECK_STR(date("2026/6/2"), "2026-06-02");
    CHECK_STR(date("2026年6月20日"), "2026-06-20");
    CHECK_STR(date("令和8.6.20"), "2026-06-20");
    CHECK_STR(date("令和8. 6. 20"), "2026-06-20");   /* as the form's example spaces it */
    CHECK_STR(date("令和８年６月３０日"), "2026-06-30");
    CHECK_STR(date("R8/6/25"), "2026-06-25");
    CHECK_STR(date("令和元年5月1日"), "2019-05-01");
    CHECK_STR(date("平成31年4月30日"), "2019-04-30");
    CHECK_STR(date("㋿8.6.20"), "2026-06-20");
    CHECK(date("令和元年4月30日") == NULL);   /* before 令和 began */
    CHECK(date("平成31年5月1日") == NULL);    /* after 平成 ended */
    CHECK(date("2026-02-29") == NULL);
    CHECK_STR(date("2028-02-29"), "2028-02-29");
    CHECK(date("令和〇. 6. 20") == NULL);     /* the form's placeholder */
    CHECK(date("2026-13-01") == NULL);
    CHECK(date("tomorrow") == NULL);
    CHECK(date("") == NULL);
    CHECK(date("2026-06-20x") == NULL);
    CHECK(ksm_supply_fiscal_year_ms(1774969200000LL - 1) == 2025);   /* 2026-04-01 00:00 JST */
    CHECK(ksm_supply_fiscal_year_ms(1774969200000LL) == 2026);
    CHECK(ksm_supply_date_days("1970-01-02") == 1);
}

static void check_str_free(char *got, const char *want, int line)
{
    if (!(got && want && !strcmp(got, want)) && !(got == NULL && want == NULL)) {
        check_failed++;
        fprintf(stderr, "line %d: \"%s\" != \"%s\"\n", line, got ? got : "(null)",
                want ? want : "(null)");
    } else {
        check_passed++;
    }
    free(got);
}
#define CHECK_FREE(got, want) check_str_free((got), (want), __LINE__)

static void test_text(void)
{
    CHECK_FREE(ksm_supply_digits("７０００ ０１２－０５０００２"), "7000012050002");
    CHECK_FREE(ksm_supply_digits("7000-0120-50002"), "7000012050002");
    CHECK_FREE(ksm_supply_digits("海外法人"), NULL);
    CHECK_FREE(ksm_supply_trim("\xe3\x80\x80 ＡＢＣ \t"), "ＡＢＣ");
    CHECK_FREE(ksm_supply_norm_name("株式会社ＡＢＣ"), "abc");
    CHECK_FREE(ksm_supply_norm_name("ABC 株式会社"), "abc");
    CHECK_FREE(ksm_supply_norm_name("㈱ABC"), "abc");
    CHECK_FREE(ksm_supply_norm_name("（株）ＡＢＣ"), "abc");
    CHECK_FREE(ksm_supply_norm_name("ｶｽﾐ電機"), "カスミ電機");
    CHECK_FREE(ksm_supply_norm_name("Example Co., Ltd."), "example");
    CHECK_FREE(ksm_supply_norm_name("Cisco Systems, Inc."), "ciscosystems");
    CHECK_FREE(ksm_supply_norm_name("Zinc"), "zinc");   /* "inc" only as a word */
    CHECK_FREE(ksm_supply_norm_model("ＡＡＡ－０１２３"), "aaa0123");
    CHECK_FREE(ksm_supply_norm_model("AAA 0123"), "aaa0123");
    CHECK(ksm_supply_model_match("aaa*", "aaa0123"));
    CHECK(!ksm_supply_model_match("bbb*", "aaa0123"));
    CHECK(ksm_supply_norm_name("\xff") == NULL);
}

static void test_decode(void)
{
    /* ㈱ ① ～ － in CP932: 878A 8740 8160 817C; Shift_JIS has no ㈱ or ① and maps 8160 to U+301C */
    const char cp[] = "\x87\x8a\x87\x40\x81\x60\x81\x7c";
    char *out = NULL, why[256];
    size_t n;
    const char *enc = NULL;
    CHECK(ksm_supply_decode(cp, sizeof cp - 1, NULL, &out, &n, &enc, why, sizeof why) == 0);
    CHECK_STR(enc, "cp932");
    CHECK_STR(out, "㈱①～－");   /* U+3231 U+2460 U+FF5E U+FF0D */
    free(out);
    const char bom[] = "\xef\xbb\xbf" "a,b";
    CHECK(ksm_supply_decode(bom, sizeof bom - 1, NULL, &out, &n, &enc, why, sizeof why) == 0);
    CHECK_STR(out, "a,b");
    CHECK_STR(enc, "utf-8");
    free(out);
    /* a lone lead byte at the end: neither UTF-8 nor CP932, with the line named */
    const char bad[] = "a,b\nc,\x87";
    CHECK(ksm_supply_decode(bad, sizeof bad - 1, NULL, &out, &n, &enc, why, sizeof why) == -1);
    CHECK(strstr(why, "line 2") != NULL);
    CHECK(ksm_supply_decode("\xff\xfe" "a\0", 4, NULL, &out, &n, &enc, why, sizeof why) == -1);
    CHECK(strstr(why, "UTF-16") != NULL);
    CHECK(ksm_supply_decode("a\xe3\x81", 3, "utf-8", &out, &n, &enc, why, sizeof why) == -1);
}

static void test_csv(void)
{
    struct ksm_sheet s;
    char why[256];
    const char in[] = "a,\"b,\"\"c\"\"\",\r\n\r\n\"multi\nline\",x\ny";
    CHECK(ksm_supply_csv_read(in, sizeof in - 1, &s, why, sizeof why) == 0);
    CHECK(s.nrows == 3);
    CHECK_STR(ksm_sheet_cell(&s.rows[0], 1), "b,\"c\"");
    CHECK(s.rows[1].num == 3);   /* the blank record 2 is dropped but counted */
    CHECK_STR(ksm_sheet_cell(&s.rows[1], 0), "multi\nline");
    CHECK(s.rows[2].num == 4);   /* a line break inside a quoted cell is not a new row */
    ksm_sheet_free(&s);
    CHECK(ksm_supply_csv_read("a,\"b", 4, &s, why, sizeof why) == -1);
    CHECK(strstr(why, "row 1, column B") != NULL);
    CHECK(ksm_supply_csv_read("a,b\"c", 5, &s, why, sizeof why) == -1);
    CHECK(ksm_supply_csv_read("\"a\"b", 4, &s, why, sizeof why) == -1);
    struct ksm_buf b = KSM_BUF_INIT;
    const char *cells[] = {"x", "a,b", "q\"", NULL};
    ksm_csv_record(&b, cells, 4);
    CHECK_STR(b.data, "x,\"a,b\",\"q\"\"\",\r\n");
    ksm_buf_free(&b);
}

/* Reads text (UTF-8 CSV) as the form; returns the errors as "R:C:message" lines. */
static char *form_errors(const char *text, struct ksm_form *f)
{
    struct ksm_sheet s;
    char why[256];
    if (ksm_supply_csv_read(text, strlen(text), &s, why, sizeof why))
        return strdup(why);
    ksm_form_read(&s, f);
    ksm_sheet_free(&s);
    struct ksm_buf b = KSM_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(f->errors, i, e)
        ksm_buf_printf(&b, "%lld:%s:%s\n", (long long)json_integer_value(json_object_get(e, "row")),
                       json_string_value(json_object_get(e, "column")),
                       json_string_value(json_object_get(e, "message")));
    return b.data ? ksm_buf_steal(&b) : strdup("");
}

#define HEADER "法人名,通番,区分,製造業者名,製造業者の法人番号(半角数字),製品名,型番\n"

static void test_form(void)
{
    struct ksm_form f;
    char *e = form_errors("購入等件名(調達案件名),,システム\n法人名,,〇〇株式会社\n○ 機器等一覧\n" HEADER
                          ",1,サーバ,A社,７００００１２０５０００２,S,AAA 0123\n"
                          ",2,ソフト,Foo Inc.,海外法人のため法人番号なし,V,v1\n"
                          "※ 記載する行が足りない場合は、行を追加してご回答ください。\n"
                          "(省庁記載欄)\n省庁名,,総務省\n提出予定期日,,令和8. 6. 20\n",
                          &f);
    CHECK_STR(e, "");
    CHECK(json_array_size(f.items) == 2);
    json_t *it = json_array_get(f.items, 0);
    CHECK_STR(json_string_value(json_object_get(it, "company")), "〇〇株式会社");   /* the block's */
    CHECK_STR(json_string_value(json_object_get(it, "maker_corporate_number")), "7000012050002");
    it = json_array_get(f.items, 1);
    CHECK(json_is_null(json_object_get(it, "maker_corporate_number")));
    CHECK_STR(json_string_value(json_object_get(it, "maker_no_number_reason")),
              "海外法人のため法人番号なし");
    CHECK_STR(json_string_value(json_object_get(f.ministry, "submission_due")), "2026-06-20");
    CHECK_STR(json_string_value(json_object_get(f.submitter, "title")), "システム");
    ksm_form_free(&f);
    free(e);

    /* every kind of problem, each with its row and column */
    e = form_errors(HEADER "X,1,サーバ,A,8000012050002,S,M\n"   /* bad check digit */
                           ",3,,A,7000012050002,S,\n"           /* gap; 区分, 型番 missing */
                           ",4,x,A,123,=SUM(A1),M,extra\n",      /* short number, formula, extra */
                    &f);
    CHECK(strstr(e, "2:E:8000012050002 is not a valid 法人番号: its check digit (the first) should be 7") != NULL);
    CHECK(strstr(e, "3:B:expected 2, found 3") != NULL);
    CHECK(strstr(e, "3:C:required") != NULL);
    CHECK(strstr(e, "3:G:required") != NULL);
    CHECK(strstr(e, "4:E:'123' is not a 法人番号") != NULL);
    CHECK(strstr(e, "4:F:a cell may not start with '='") != NULL);
    CHECK(strstr(e, "4:H:data in a column without a header") != NULL);
    CHECK(json_array_size(f.items) == 3 && f.error_count == 7);
    ksm_form_free(&f);
    free(e);

    e = form_errors("法人名,通番,区分,製造業者名,製品名,型番,備考\nX,1,a,b,c,d,e\n", &f);
    CHECK(strstr(e, "1:G:unknown column '備考'") != NULL);
    CHECK(strstr(e, "1::the column 製造業者の法人番号(半角数字) is missing") != NULL);
    ksm_form_free(&f);
    free(e);

    e = form_errors("no table here\n", &f);
    CHECK(strstr(e, "no table header") != NULL);
    ksm_form_free(&f);
    free(e);

    e = form_errors(HEADER ",1,a,b,7000012050002,c,d\n", &f);   /* no 法人名 anywhere */
    CHECK(strstr(e, "2:A:required") != NULL);
    ksm_form_free(&f);
    free(e);

    e = form_errors(HEADER "X,1,a,b,7000012050002,c,d\n入札予定期日,,2026-02-30\nstray,,x\n", &f);
    CHECK(strstr(e, "3:C:'2026-02-30' is not a date") != NULL);
    CHECK(strstr(e, "4:A:unexpected content after the table") != NULL);
    ksm_form_free(&f);
    free(e);
}

int main(void)
{
    test_dates();
    test_text();
    test_decode();
    test_csv();
    test_form();
    return CHECK_DONE();
}
