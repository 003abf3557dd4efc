/* doc.c — each call of doc.h handed to the HTML or the PDF renderer. */
#include "report/doc.h"

#include <string.h>

void ksm_doc_html(struct ksm_doc *d, struct ksm_buf *out, const char *title)
{
    memset(d, 0, sizeof *d);
    d->html = out;
    ksm_html_begin(out, title);
}

void ksm_doc_pdf(struct ksm_doc *d, struct ksm_pdf *pdf)
{
    memset(d, 0, sizeof *d);
    d->pdf = pdf;
}

void ksm_doc_end(struct ksm_doc *d)
{
    if (d->html)
        ksm_html_end(d->html);
}

void ksm_doc_title(struct ksm_doc *d, const char *text)
{
    if (d->pdf)
        ksm_pdf_title(d->pdf, text);
    else
        ksm_html_heading(d->html, 1, text);
}

void ksm_doc_heading(struct ksm_doc *d, const char *text)
{
    if (d->pdf)
        ksm_pdf_heading(d->pdf, text);
    else
        ksm_html_heading(d->html, 2, text);
}

void ksm_doc_paragraph(struct ksm_doc *d, const char *text)
{
    if (d->pdf)
        ksm_pdf_paragraph(d->pdf, text);
    else
        ksm_html_paragraph(d->html, text);
}

void ksm_doc_keyvalues(struct ksm_doc *d, const char *const *kv, size_t n)
{
    if (d->pdf)
        ksm_pdf_keyvalues(d->pdf, kv, n);
    else
        ksm_html_keyvalues(d->html, kv, n);
}

void ksm_doc_table_begin(struct ksm_doc *d, const struct ksm_report_col *cols, size_t ncols)
{
    d->cols = cols;
    d->ncols = ncols;
    if (d->pdf)
        ksm_pdf_table_begin(d->pdf, cols, ncols);
    else
        ksm_html_table_begin(d->html, cols, ncols);
}

void ksm_doc_table_row(struct ksm_doc *d, const char *const *cells, bool total)
{
    if (d->pdf)
        ksm_pdf_table_row(d->pdf, cells, total);
    else
        ksm_html_table_row(d->html, d->cols, d->ncols, cells, total);
}

void ksm_doc_table_end(struct ksm_doc *d)
{
    if (d->pdf)
        ksm_pdf_table_end(d->pdf);
    else
        ksm_html_table_end(d->html);
    d->cols = NULL;
    d->ncols = 0;
}

void ksm_doc_bar_chart(struct ksm_doc *d, const char *title, const struct ksm_report_point *pts,
                       size_t n)
{
    if (d->pdf)
        ksm_pdf_bar_chart(d->pdf, title, pts, n);
    else
        ksm_html_bar_chart(d->html, title, pts, n);
}

void ksm_doc_line_chart(struct ksm_doc *d, const char *title, const struct ksm_report_point *pts,
                        size_t n, const char *unit)
{
    if (d->pdf)
        ksm_pdf_bar_chart(d->pdf, title, pts, n);
    else
        ksm_html_line_chart(d->html, title, pts, n, unit);
}
