/* doc.h — one report written once and rendered as HTML or PDF (doc.c): a caller that offers both
 * formats describes its content through these calls, and the two stay the same document. In a PDF a
 * line chart is drawn as bars (one per point, in order). */
#ifndef KSM_REPORT_DOC_H
#define KSM_REPORT_DOC_H
#include "report/html.h"
#include "report/pdf.h"

struct ksm_doc {
    struct ksm_buf *html;                 /* one of the two is set */
    struct ksm_pdf *pdf;
    const struct ksm_report_col *cols;    /* the open table's */
    size_t ncols;
};

/* A document into an HTML page (begun with its title here; ksm_doc_end ends it) or a PDF. */
void ksm_doc_html(struct ksm_doc *d, struct ksm_buf *out, const char *title);
void ksm_doc_pdf(struct ksm_doc *d, struct ksm_pdf *pdf);
void ksm_doc_end(struct ksm_doc *d);

void ksm_doc_title(struct ksm_doc *d, const char *text);
void ksm_doc_heading(struct ksm_doc *d, const char *text);
void ksm_doc_paragraph(struct ksm_doc *d, const char *text);
void ksm_doc_keyvalues(struct ksm_doc *d, const char *const *kv, size_t n);
void ksm_doc_table_begin(struct ksm_doc *d, const struct ksm_report_col *cols, size_t ncols);
void ksm_doc_table_row(struct ksm_doc *d, const char *const *cells, bool total);
void ksm_doc_table_end(struct ksm_doc *d);
void ksm_doc_bar_chart(struct ksm_doc *d, const char *title, const struct ksm_report_point *pts,
                       size_t n);
void ksm_doc_line_chart(struct ksm_doc *d, const char *title, const struct ksm_report_point *pts,
                        size_t n, const char *unit);

#endif
