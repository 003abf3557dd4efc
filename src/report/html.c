/* html.c — the HTML page of a report. The stylesheet sets A4 portrait with printer margins, a
 * Japanese font stack that every OS has one of (the page embeds no font), tables whose header
 * repeats on each printed page, and rows and charts that a page break does not cut. */
#include "report/html.h"

#include <string.h>

const char ksm_html_print_css[] =
    "@page{size:A4 portrait;margin:15mm 15mm 18mm 15mm}"
    "*{box-sizing:border-box}"
    "body{font-family:\"IPAexGothic\",\"Noto Sans CJK JP\",\"Hiragino Kaku Gothic ProN\",\"Yu Gothic\","
    "\"Meiryo\",sans-serif;font-size:10pt;line-height:1.6;color:#111;margin:0 auto;max-width:180mm}"
    "h1{font-size:18pt;margin:0 0 4mm;border-bottom:2px solid #1f4e79;padding-bottom:2mm}"
    "h2{font-size:13pt;margin:7mm 0 2mm;color:#1f4e79;break-after:avoid}"
    "h3{font-size:11pt;margin:5mm 0 2mm;break-after:avoid}"
    "p{margin:0 0 2mm}"
    "dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:1mm 6mm;margin:0 0 4mm}"
    "dl.kv dt{color:#555}dl.kv dd{margin:0}"
    "table{border-collapse:collapse;width:100%;margin:0 0 4mm;font-size:9pt}"
    "thead{display:table-header-group}"
    "tr{break-inside:avoid}"
    "th{background:#e8eef5;text-align:left;border-bottom:1px solid #1f4e79}"
    "th,td{padding:1mm 2mm;border-bottom:1px solid #ccc;vertical-align:top}"
    ".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr.total td{font-weight:bold;border-top:1px solid #111}"
    "figure{margin:0 0 4mm;break-inside:avoid}"
    "figcaption{font-weight:bold;margin:0 0 1mm}"
    "svg{width:100%;height:auto}"
    "svg text{font-size:11px;fill:#111}"
    "svg .bar{fill:#2e75b6}svg .line{fill:none;stroke:#2e75b6;stroke-width:2}"
    "svg .dot{fill:#2e75b6}svg .axis{stroke:#888;stroke-width:1}"
    "@media print{body{max-width:none}}";

void ksm_html_escape(struct ksm_buf *out, const char *s)
{
    if (!s)
        return;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                        : *p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;
        if (rep)
            ksm_buf_puts(out, rep);
        else
            ksm_buf_putc(out, *p);
    }
}

void ksm_html_begin(struct ksm_buf *out, const char *title)
{
    ksm_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>");
    ksm_html_escape(out, title);
    ksm_buf_puts(out, "</title>\n<style>");
    ksm_buf_puts(out, ksm_html_print_css);
    ksm_buf_puts(out, "</style>\n</head>\n<body>\n");
}

void ksm_html_end(struct ksm_buf *out)
{
    ksm_buf_puts(out, "</body>\n</html>\n");
}

void ksm_html_heading(struct ksm_buf *out, int level, const char *text)
{
    if (level < 1 || level > 3)
        level = 3;
    ksm_buf_printf(out, "<h%d>", level);
    ksm_html_escape(out, text);
    ksm_buf_printf(out, "</h%d>\n", level);
}

void ksm_html_paragraph(struct ksm_buf *out, const char *text)
{
    ksm_buf_puts(out, "<p>");
    ksm_html_escape(out, text);
    ksm_buf_puts(out, "</p>\n");
}

void ksm_html_keyvalues(struct ksm_buf *out, const char *const *kv, size_t n)
{
    ksm_buf_puts(out, "<dl class=\"kv\">\n");
    for (size_t i = 0; i < n; i++) {
        ksm_buf_puts(out, "<dt>");
        ksm_html_escape(out, kv[2 * i]);
        ksm_buf_puts(out, "</dt><dd>");
        ksm_html_escape(out, kv[2 * i + 1]);
        ksm_buf_puts(out, "</dd>\n");
    }
    ksm_buf_puts(out, "</dl>\n");
}

void ksm_html_table_begin(struct ksm_buf *out, const struct ksm_report_col *cols, size_t ncols)
{
    ksm_buf_puts(out, "<table>\n<thead><tr>");
    for (size_t i = 0; i < ncols; i++) {
        ksm_buf_puts(out, cols[i].numeric ? "<th class=\"num\">" : "<th>");
        ksm_html_escape(out, cols[i].title);
        ksm_buf_puts(out, "</th>");
    }
    ksm_buf_puts(out, "</tr></thead>\n<tbody>\n");
}

void ksm_html_table_row(struct ksm_buf *out, const struct ksm_report_col *cols, size_t ncols,
                        const char *const *cells, bool total)
{
    ksm_buf_puts(out, total ? "<tr class=\"total\">" : "<tr>");
    for (size_t i = 0; i < ncols; i++) {
        ksm_buf_puts(out, cols[i].numeric ? "<td class=\"num\">" : "<td>");
        ksm_html_escape(out, cells[i]);
        ksm_buf_puts(out, "</td>");
    }
    ksm_buf_puts(out, "</tr>\n");
}

void ksm_html_table_end(struct ksm_buf *out)
{
    ksm_buf_puts(out, "</tbody>\n</table>\n");
}
