/* html.h — a report as one self-contained HTML page (html.c): escaping, a Japanese A4 print
 * stylesheet, headings, key/value blocks, tables with right-aligned numbers, and charts drawn as
 * inline SVG in C (svg.c), so the page needs no JavaScript, no fonts or files from anywhere, and
 * prints the same from any browser. Everything is appended to a ksm_buf. */
#ifndef KSM_REPORT_HTML_H
#define KSM_REPORT_HTML_H
#include "core/buf.h"
#include "report/report.h"

/* s with & < > " ' escaped (safe in text and in quoted attributes); NULL appends nothing. */
void ksm_html_escape(struct ksm_buf *out, const char *s);

/* <!DOCTYPE html> … <body> with lang="ja", the title and the print stylesheet; then ksm_html_end. */
void ksm_html_begin(struct ksm_buf *out, const char *title);
void ksm_html_end(struct ksm_buf *out);

void ksm_html_heading(struct ksm_buf *out, int level, const char *text);   /* level 1..3 */
void ksm_html_paragraph(struct ksm_buf *out, const char *text);
/* A block of n key/value pairs: kv = {key0, value0, key1, value1, ...}. */
void ksm_html_keyvalues(struct ksm_buf *out, const char *const *kv, size_t n);

/* A table: its header, then rows of ncols cells (a total row is set in bold), then its end. */
void ksm_html_table_begin(struct ksm_buf *out, const struct ksm_report_col *cols, size_t ncols);
void ksm_html_table_row(struct ksm_buf *out, const struct ksm_report_col *cols, size_t ncols,
                        const char *const *cells, bool total);
void ksm_html_table_end(struct ksm_buf *out);

/* Charts (svg.c): horizontal bars, one per point, with its label and text; a line over the points
 * in order (days), its scale's top written as group_digits(max) + unit. */
void ksm_html_bar_chart(struct ksm_buf *out, const char *title, const struct ksm_report_point *pts,
                        size_t n);
void ksm_html_line_chart(struct ksm_buf *out, const char *title, const struct ksm_report_point *pts,
                         size_t n, const char *unit);

/* The print stylesheet, for a caller that writes its own page. */
extern const char ksm_html_print_css[];

#endif
