/* test_report.c — the shared report renderers (src/report): digits grouped the Japanese way; HTML
 * escaping (markup in data stays text); the page's print stylesheet and its inline SVG charts (bar
 * lengths proportional, a zero or negative value drawn as nothing); and a PDF with Japanese text
 * read back by poppler's pdftotext: the title, a heading, a paragraph, key/value pairs, a table long
 * enough to break across pages with its header on every page, right-aligned numbers, a bar chart and
 * the page numbers; pdffonts shows the Japanese font embedded. */
#include "check.h"
#include "core/buf.h"
#include "core/util.h"
#include "report/html.h"
#include "report/pdf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void test_digits(void)
{
    char s[32];
    ksm_report_group_digits(0, s); CHECK_STR(s, "0");
    ksm_report_group_digits(999, s); CHECK_STR(s, "999");
    ksm_report_group_digits(1000, s); CHECK_STR(s, "1,000");
    ksm_report_group_digits(-1234567, s); CHECK_STR(s, "-1,234,567");
    ksm_report_group_digits(INT64_MIN, s); CHECK_STR(s, "-9,223,372,036,854,775,808");
}

static void test_html(void)
{
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_html_escape(&b, "<script>alert('x')</script> & \"q\"");
    CHECK_STR(b.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    ksm_buf_reset(&b);
    static const struct ksm_report_col cols[] = {{"サービス", 2, false}, {"金額", 1, true}};
    const char *row[] = {"<b>ストレージ</b>", "1,200円"};
    const struct ksm_report_point pts[] = {{"AI", 300, "300円"}, {"ストレージ", 600, "600円"},
                                           {"返金", -5, NULL}};
    ksm_html_begin(&b, "利用実績 <2026年3月>");
    ksm_html_table_begin(&b, cols, 2);
    ksm_html_table_row(&b, cols, 2, row, true);
    ksm_html_table_end(&b);
    ksm_html_bar_chart(&b, "サービス別", pts, 3);
    ksm_html_line_chart(&b, "日別", pts, 3, "円");
    ksm_html_end(&b);
    CHECK(strstr(b.data, "<html lang=\"ja\">") && strstr(b.data, "@page{size:A4 portrait"));
    CHECK(strstr(b.data, "<title>利用実績 &lt;2026年3月&gt;</title>"));
    CHECK(strstr(b.data, "<th class=\"num\">金額</th>"));
    CHECK(strstr(b.data, "<tr class=\"total\"><td>&lt;b&gt;ストレージ&lt;/b&gt;</td><td class=\"num\">1,200円"));
    CHECK(!strstr(b.data, "<b>"));
    /* the longest bar spans the bar area (392 px); half the value, half the length; -5 draws none */
    CHECK(strstr(b.data, "width=\"392\" height=\"16\"><title>ストレージ: 600円</title>"));
    CHECK(strstr(b.data, "width=\"196\" height=\"16\"><title>AI: 300円</title>"));
    CHECK(strstr(b.data, "width=\"0\" height=\"16\"><title>返金</title>"));
    CHECK(strstr(b.data, "<polyline class=\"line\" points=\"90,103 380,14 670,192\"/>"));
    CHECK(strstr(b.data, ">600円</text>") && strstr(b.data, ">300円</text>"));
    CHECK(!strstr(b.data, "<script"));
    ksm_buf_free(&b);
}

/* Runs cmd on path and returns its standard output (malloc'd). */
static char *run(const char *cmd, const char *path)
{
    char line[512];
    snprintf(line, sizeof line, "%s '%s' - 2>&1", cmd, path);
    if (!strcmp(cmd, "pdffonts"))
        snprintf(line, sizeof line, "pdffonts '%s' 2>&1", path);
    FILE *p = popen(line, "r");
    CHECK(p != NULL);
    struct ksm_buf b = KSM_BUF_INIT;
    char chunk[4096];
    size_t n;
    while (p && (n = fread(chunk, 1, sizeof chunk, p)) > 0)
        ksm_buf_append(&b, chunk, n);
    if (p)
        CHECK(pclose(p) == 0);
    ksm_buf_putc(&b, 0);
    return ksm_buf_steal(&b);
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        c++;
    return c;
}

static void test_pdf(void)
{
    struct ksm_pdf *pdf = ksm_pdf_new("利用実績報告書");
    CHECK(pdf != NULL);
    if (!pdf)
        return;
    ksm_pdf_title(pdf, "利用実績報告書 2026年3月");
    const char *kv[] = {"請求先", "霞が関デジタル庁", "登録番号", "T8700110005901"};
    ksm_pdf_keyvalues(pdf, kv, 2);
    ksm_pdf_heading(pdf, "サービス別の利用料金");
    ksm_pdf_paragraph(pdf, "金額は税抜、1円未満切捨てです。消費税は請求書ごとに一度だけ計算します。");
    const struct ksm_report_point pts[] = {{"オブジェクトストレージ", 1200, "1,200円"},
                                           {"AIゲートウェイ", 300, "300円"}};
    ksm_pdf_bar_chart(pdf, "サービス別", pts, 2);
    static const struct ksm_report_col cols[] = {{"日付", 2, false}, {"明細", 4, false},
                                                 {"金額 (円)", 2, true}};
    ksm_pdf_table_begin(pdf, cols, 3);
    for (int i = 1; i <= 90; i++) {
        char day[32], amount[32];
        snprintf(day, sizeof day, "3月%d日 行%d", (i - 1) % 31 + 1, i);
        ksm_report_group_digits((int64_t)i * 1000, amount);
        const char *cells[] = {day, "ストレージ転送量", amount};
        ksm_pdf_table_row(pdf, cells, false);
    }
    const char *total[] = {"合計", "", "4,095,000"};
    ksm_pdf_table_row(pdf, total, true);
    ksm_pdf_table_end(pdf);
    char *data = NULL;
    size_t len = 0;
    CHECK(ksm_pdf_finish(pdf, &data, &len) == 0);
    CHECK(data && len > 1000 && !memcmp(data, "%PDF-", 5));

    char path[] = "/tmp/ksm_test_report_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
    close(fd);
    char *text = run("pdftotext -layout", path), *fonts = run("pdffonts", path);
    CHECK(strstr(text, "利用実績報告書 2026年3月") && strstr(text, "霞が関デジタル庁"));
    CHECK(strstr(text, "T8700110005901") && strstr(text, "サービス別の利用料金"));
    CHECK(strstr(text, "消費税は請求書ごとに一度だけ計算します"));
    CHECK(strstr(text, "オブジェクトストレージ") && strstr(text, "1,200円"));
    CHECK(strstr(text, "3月1日 行1") && strstr(text, "3月28日 行90") && strstr(text, "4,095,000"));
    int pages = count(text, "\f");
    CHECK(pages >= 3);
    CHECK(count(text, "金額 (円)") == pages);   /* the header on every page the table is on */
    char *packed = ksm_xstrdup(text), *w = packed;   /* pdftotext may drop the spaces */
    for (const char *r = text; *r; r++)
        if (*r != ' ')
            *w++ = *r;
    *w = 0;
    CHECK(strstr(packed, "-1-") && strstr(packed, "-2-") && strstr(packed, "-3-"));
    free(packed);
    CHECK(strstr(fonts, "IPAexGothic") && strstr(fonts, " yes "));   /* embedded */
    if (check_failed)
        fprintf(stderr, "pdftotext:\n%s\npdffonts:\n%s\n", text, fonts);
    free(text), free(fonts), free(data);
    unlink(path);
}

int main(void)
{
    test_digits();
    test_html();
    test_pdf();
    return CHECK_DONE();
}
