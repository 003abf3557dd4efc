/* pdf.h — a report as an A4 PDF with Japanese text (pdf.c, cairo + pango). The document flows top
 * to bottom: blocks are added in order and a new page starts when the next one does not fit; a
 * table's header is drawn again at the top of every page it continues on, and every page carries
 * its number. The Japanese font (IPAex Gothic, Debian fonts-ipaexfont-gothic) is embedded as a
 * subset, so the file prints the same anywhere; the text is extractable (pdftotext). */
#ifndef KSM_REPORT_PDF_H
#define KSM_REPORT_PDF_H
#include <stddef.h>

#include "report/report.h"

struct ksm_pdf;

/* A new document whose metadata title is title; NULL when cairo cannot start one. */
struct ksm_pdf *ksm_pdf_new(const char *title);

void ksm_pdf_title(struct ksm_pdf *pdf, const char *text);       /* the document's title, large */
void ksm_pdf_heading(struct ksm_pdf *pdf, const char *text);     /* a section's heading */
void ksm_pdf_paragraph(struct ksm_pdf *pdf, const char *text);   /* wrapped to the page's width */
/* n key/value pairs: kv = {key0, value0, key1, value1, ...}. */
void ksm_pdf_keyvalues(struct ksm_pdf *pdf, const char *const *kv, size_t n);

/* A table: cols are kept (by pointer) until ksm_pdf_table_end; numeric columns are right-aligned;
 * a total row is set in bold with a rule above it. */
void ksm_pdf_table_begin(struct ksm_pdf *pdf, const struct ksm_report_col *cols, size_t ncols);
void ksm_pdf_table_row(struct ksm_pdf *pdf, const char *const *cells, bool total);
void ksm_pdf_table_end(struct ksm_pdf *pdf);

/* Horizontal bars, one per point, with its label and text, under a caption. */
void ksm_pdf_bar_chart(struct ksm_pdf *pdf, const char *title, const struct ksm_report_point *pts,
                       size_t n);

/* Ends the document: *out (malloc'd, the caller frees it) gets the PDF's bytes. -1 when cairo
 * failed at any point (then *out is NULL). Frees pdf either way. */
int ksm_pdf_finish(struct ksm_pdf *pdf, char **out, size_t *outlen);

#endif
