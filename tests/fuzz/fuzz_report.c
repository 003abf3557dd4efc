/* fuzz_report.c — libFuzzer target for the report renderers (src/report): the input, cut at newlines
 * into texts and chart values, written as one document to HTML and to PDF (titles, key/value pairs,
 * a table row, bar and line charts). Any bytes — markup, bad UTF-8, huge or negative values — give
 * a page whose text stays escaped and a PDF cairo finishes, never a crash. Every 16th input only is
 * drawn as a PDF: pango is slow, and the HTML half is where escaping can go wrong. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "report/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTEXT 8

static void document(struct ksm_doc *d, char **t, const struct ksm_report_point *pts, size_t n)
{
    static const struct ksm_report_col cols[] = {{"a", 1, false}, {"b", 0, true}, {"c", -3, true}};
    const char *kv[] = {t[0], t[1], t[2], t[3]}, *cells[] = {t[4], t[5], t[6]};
    ksm_doc_title(d, t[0]);
    ksm_doc_heading(d, t[1]);
    ksm_doc_paragraph(d, t[2]);
    ksm_doc_keyvalues(d, kv, 2);
    ksm_doc_table_begin(d, cols, 3);
    ksm_doc_table_row(d, cells, false);
    ksm_doc_table_row(d, cells, true);
    ksm_doc_table_end(d);
    ksm_doc_bar_chart(d, t[3], pts, n);
    ksm_doc_line_chart(d, t[4], pts, n, t[7]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned calls;
    char *copy = malloc(size + 1), *t[NTEXT];
    memcpy(copy, data, size);
    copy[size] = 0;
    char *p = copy;
    for (int i = 0; i < NTEXT; i++) {   /* NUL bytes end a text early: C strings, as stored data */
        t[i] = p;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0, p = nl + 1;
        else
            p += strlen(p);
    }
    struct ksm_report_point pts[NTEXT];
    size_t n = size % (NTEXT + 1);
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        memcpy(&v, data + (i * 8) % (size >= 8 ? size - 7 : 1), size >= 8 ? 8 : 0);
        pts[i] = (struct ksm_report_point){.label = t[i], .value = v, .text = t[NTEXT - 1 - i]};
    }
    struct ksm_buf html = KSM_BUF_INIT;
    struct ksm_doc d;
    ksm_doc_html(&d, &html, t[0]);
    document(&d, t, pts, n);
    ksm_doc_end(&d);
    if (strstr(html.data, "<script"))   /* markup in the data must come out as text */
        abort();
    ksm_buf_free(&html);
    if (calls++ % 16 == 0) {
        struct ksm_pdf *pdf = ksm_pdf_new(t[0]);
        if (pdf) {
            char *out = NULL;
            size_t len = 0;
            ksm_doc_pdf(&d, pdf);
            document(&d, t, pts, n);
            if (ksm_pdf_finish(pdf, &out, &len) || len < 5 || memcmp(out, "%PDF-", 5))
                abort();
            free(out);
        }
    }
    free(copy);
    return 0;
}
