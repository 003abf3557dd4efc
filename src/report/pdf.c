/* pdf.c — the flowing A4 document of pdf.h on cairo's PDF surface, with pango laying out the text
 * (line breaking for Japanese, font fallback, shaping). Each document has its own font map and
 * context, so documents built at once on several worker threads share no pango state. Units are PDF
 * points (1/72 in): the context's resolution is 72 dpi, so a font size is in points too. */
#include "report/pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/util.h"

#define PAGE_W 595.276     /* A4 */
#define PAGE_H 841.890
#define MARGIN 48.0
#define BOTTOM (PAGE_H - 60.0)
#define CONTENT_W (PAGE_W - 2 * MARGIN)
#define PAD 3.0            /* inside a table cell */
#define FONT "IPAexGothic"
#define MAX_COLS 16

struct ksm_pdf {
    struct ksm_buf bytes;
    cairo_surface_t *surface;
    cairo_t *cr;
    PangoFontMap *fonts;
    PangoContext *ctx;
    double y;          /* where the next block starts */
    int page;
    const struct ksm_report_col *cols;   /* the open table's, or NULL */
    size_t ncols;
    double colx[MAX_COLS + 1];
};

static cairo_status_t collect(void *closure, const unsigned char *data, unsigned int len)
{
    ksm_buf_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

/* text laid out in width points (0: one line), wrapped anywhere a Japanese line may break. */
static PangoLayout *layout(struct ksm_pdf *pdf, const char *text, double size, bool bold, double width,
                           PangoAlignment align)
{
    PangoLayout *l = pango_layout_new(pdf->ctx);
    PangoFontDescription *fd = pango_font_description_new();
    pango_font_description_set_family(fd, FONT);
    pango_font_description_set_size(fd, (gint)(size * PANGO_SCALE));
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    if (width > 0) {
        pango_layout_set_width(l, (int)(width * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_alignment(l, align);
    if (!text || g_utf8_validate(text, -1, NULL)) {
        pango_layout_set_text(l, text ? text : "", -1);
    } else {   /* pango warns on bad UTF-8: a stray byte in stored data is drawn as U+FFFD */
        gchar *valid = g_utf8_make_valid(text, -1);
        pango_layout_set_text(l, valid, -1);
        g_free(valid);
    }
    return l;
}

static double height_of(PangoLayout *l)
{
    int w, h;
    pango_layout_get_size(l, &w, &h);
    return (double)h / PANGO_SCALE;
}

static void draw(struct ksm_pdf *pdf, PangoLayout *l, double x, double y)
{
    cairo_move_to(pdf->cr, x, y);
    pango_cairo_show_layout(pdf->cr, l);
}

static void color(struct ksm_pdf *pdf, unsigned rgb)
{
    cairo_set_source_rgb(pdf->cr, (rgb >> 16) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0);
}

static void footer(struct ksm_pdf *pdf)
{
    char num[16];
    snprintf(num, sizeof num, "- %d -", pdf->page);
    PangoLayout *l = layout(pdf, num, 8, false, CONTENT_W, PANGO_ALIGN_CENTER);
    color(pdf, 0x555555);
    draw(pdf, l, MARGIN, PAGE_H - 40);
    g_object_unref(l);
}

static void table_header(struct ksm_pdf *pdf);

static void new_page(struct ksm_pdf *pdf)
{
    footer(pdf);
    cairo_show_page(pdf->cr);
    pdf->page++;
    pdf->y = MARGIN;
    if (pdf->cols)
        table_header(pdf);   /* a table continues: its header again */
}

/* Starts a new page unless h more points fit on this one (or the page is still empty). */
static void ensure(struct ksm_pdf *pdf, double h)
{
    if (pdf->y + h > BOTTOM && pdf->y > MARGIN)
        new_page(pdf);
}

struct ksm_pdf *ksm_pdf_new(const char *title)
{
    struct ksm_pdf *pdf = ksm_xcalloc(1, sizeof *pdf);
    pdf->surface = cairo_pdf_surface_create_for_stream(collect, &pdf->bytes, PAGE_W, PAGE_H);
    pdf->cr = cairo_create(pdf->surface);
    if (cairo_status(pdf->cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(pdf->cr);
        cairo_surface_destroy(pdf->surface);
        free(pdf);
        return NULL;
    }
    cairo_pdf_surface_set_metadata(pdf->surface, CAIRO_PDF_METADATA_TITLE, title ? title : "");
    cairo_pdf_surface_set_metadata(pdf->surface, CAIRO_PDF_METADATA_CREATOR, "kasumi");
    pdf->fonts = pango_cairo_font_map_new();
    pdf->ctx = pango_font_map_create_context(pdf->fonts);
    pango_cairo_context_set_resolution(pdf->ctx, 72);
    /* outlines as designed: hinting is for screens and would shift glyphs on paper */
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(pdf->ctx, fo);
    cairo_font_options_destroy(fo);
    pango_cairo_update_context(pdf->cr, pdf->ctx);
    pdf->y = MARGIN;
    pdf->page = 1;
    return pdf;
}

/* One block of wrapped text across the page, after which space points are left. */
static void text_block(struct ksm_pdf *pdf, const char *text, double size, bool bold, unsigned rgb,
                       double keep, double space)
{
    PangoLayout *l = layout(pdf, text, size, bold, CONTENT_W, PANGO_ALIGN_LEFT);
    double h = height_of(l);
    ensure(pdf, h + keep);
    color(pdf, rgb);
    draw(pdf, l, MARGIN, pdf->y);
    pdf->y += h + space;
    g_object_unref(l);
}

void ksm_pdf_title(struct ksm_pdf *pdf, const char *text)
{
    text_block(pdf, text, 18, true, 0x111111, 40, 4);
    color(pdf, 0x1f4e79);
    cairo_set_line_width(pdf->cr, 1.5);
    cairo_move_to(pdf->cr, MARGIN, pdf->y);
    cairo_line_to(pdf->cr, MARGIN + CONTENT_W, pdf->y);
    cairo_stroke(pdf->cr);
    pdf->y += 10;
}

void ksm_pdf_heading(struct ksm_pdf *pdf, const char *text)
{
    pdf->y += 8;
    text_block(pdf, text, 13, true, 0x1f4e79, 48, 5);   /* never alone at a page's foot */
}

void ksm_pdf_paragraph(struct ksm_pdf *pdf, const char *text)
{
    text_block(pdf, text, 10, false, 0x111111, 0, 5);
}

void ksm_pdf_keyvalues(struct ksm_pdf *pdf, const char *const *kv, size_t n)
{
    const double key_w = 130;
    for (size_t i = 0; i < n; i++) {
        PangoLayout *k = layout(pdf, kv[2 * i], 10, false, key_w - 8, PANGO_ALIGN_LEFT);
        PangoLayout *v = layout(pdf, kv[2 * i + 1], 10, false, CONTENT_W - key_w, PANGO_ALIGN_LEFT);
        double h = height_of(v) > height_of(k) ? height_of(v) : height_of(k);
        ensure(pdf, h);
        color(pdf, 0x555555);
        draw(pdf, k, MARGIN, pdf->y);
        color(pdf, 0x111111);
        draw(pdf, v, MARGIN + key_w, pdf->y);
        pdf->y += h + 2;
        g_object_unref(k);
        g_object_unref(v);
    }
    pdf->y += 6;
}

/* ---- tables ------------------------------------------------------------------------------------- */

/* Lays out one row's cells; returns the row's height. */
static double row_layouts(struct ksm_pdf *pdf, const char *const *cells, bool bold, PangoLayout **ls)
{
    double h = 0;
    for (size_t i = 0; i < pdf->ncols; i++) {
        double w = pdf->colx[i + 1] - pdf->colx[i] - 2 * PAD;
        ls[i] = layout(pdf, cells[i], 8.5, bold, w,
                       pdf->cols[i].numeric ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
        if (height_of(ls[i]) > h)
            h = height_of(ls[i]);
    }
    return h + 2 * PAD;
}

static void row_draw(struct ksm_pdf *pdf, PangoLayout **ls, double h)
{
    color(pdf, 0x111111);
    for (size_t i = 0; i < pdf->ncols; i++) {
        draw(pdf, ls[i], pdf->colx[i] + PAD, pdf->y + PAD);
        g_object_unref(ls[i]);
    }
    pdf->y += h;
}

static void rule(struct ksm_pdf *pdf, unsigned rgb, double width)
{
    color(pdf, rgb);
    cairo_set_line_width(pdf->cr, width);
    cairo_move_to(pdf->cr, MARGIN, pdf->y);
    cairo_line_to(pdf->cr, MARGIN + CONTENT_W, pdf->y);
    cairo_stroke(pdf->cr);
}

static void table_header(struct ksm_pdf *pdf)
{
    const char *titles[MAX_COLS];
    PangoLayout *ls[MAX_COLS];
    for (size_t i = 0; i < pdf->ncols; i++)
        titles[i] = pdf->cols[i].title;
    double h = row_layouts(pdf, titles, true, ls);
    color(pdf, 0xe8eef5);
    cairo_rectangle(pdf->cr, MARGIN, pdf->y, CONTENT_W, h);
    cairo_fill(pdf->cr);
    row_draw(pdf, ls, h);
    rule(pdf, 0x1f4e79, 0.8);
}

void ksm_pdf_table_begin(struct ksm_pdf *pdf, const struct ksm_report_col *cols, size_t ncols)
{
    double sum = 0, x = MARGIN;
    pdf->ncols = ncols > MAX_COLS ? MAX_COLS : ncols;
    for (size_t i = 0; i < pdf->ncols; i++)
        sum += cols[i].width > 0 ? cols[i].width : 1;
    for (size_t i = 0; i < pdf->ncols; i++) {
        pdf->colx[i] = x;
        x += CONTENT_W * (cols[i].width > 0 ? cols[i].width : 1) / sum;
    }
    pdf->colx[pdf->ncols] = MARGIN + CONTENT_W;
    ensure(pdf, 60);   /* a header with no row under it would stand alone */
    pdf->cols = cols;
    table_header(pdf);
}

void ksm_pdf_table_row(struct ksm_pdf *pdf, const char *const *cells, bool total)
{
    PangoLayout *ls[MAX_COLS];
    double h = row_layouts(pdf, cells, total, ls);
    ensure(pdf, h);   /* a new page draws the header again */
    if (total)
        rule(pdf, 0x111111, 0.8);
    row_draw(pdf, ls, h);
    rule(pdf, 0xcccccc, 0.4);
}

void ksm_pdf_table_end(struct ksm_pdf *pdf)
{
    pdf->cols = NULL;
    pdf->ncols = 0;
    pdf->y += 10;
}

/* ---- charts ------------------------------------------------------------------------------------- */

void ksm_pdf_bar_chart(struct ksm_pdf *pdf, const char *title, const struct ksm_report_point *pts,
                       size_t n)
{
    const double label_w = 140, text_w = 90, row_h = 16, bar_h = 10;
    const double span = CONTENT_W - label_w - text_w - 8;
    int64_t max = ksm_report_max(pts, n);
    text_block(pdf, title, 10, true, 0x111111, row_h * (n < 4 ? (double)n : 4), 3);
    for (size_t i = 0; i < n; i++) {
        ensure(pdf, row_h);
        double w = pts[i].value > 0 ? span * ((double)pts[i].value / (double)max) : 0;
        PangoLayout *l = layout(pdf, pts[i].label, 8.5, false, label_w - 6, PANGO_ALIGN_RIGHT);
        PangoLayout *t = layout(pdf, pts[i].text, 8.5, false, 0, PANGO_ALIGN_LEFT);
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        color(pdf, 0x111111);
        draw(pdf, l, MARGIN, pdf->y + 1);
        draw(pdf, t, MARGIN + label_w + w + 4, pdf->y + 1);
        color(pdf, 0x2e75b6);
        cairo_rectangle(pdf->cr, MARGIN + label_w, pdf->y + (row_h - bar_h) / 2, w, bar_h);
        cairo_fill(pdf->cr);
        pdf->y += row_h;
        g_object_unref(l);
        g_object_unref(t);
    }
    pdf->y += 8;
}

int ksm_pdf_finish(struct ksm_pdf *pdf, char **out, size_t *outlen)
{
    footer(pdf);
    cairo_show_page(pdf->cr);
    cairo_status_t st = cairo_status(pdf->cr);
    cairo_destroy(pdf->cr);
    cairo_surface_finish(pdf->surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(pdf->surface);
    cairo_surface_destroy(pdf->surface);
    g_object_unref(pdf->ctx);
    g_object_unref(pdf->fonts);
    *outlen = pdf->bytes.len;
    *out = ksm_buf_steal(&pdf->bytes);
    free(pdf);
    if (st != CAIRO_STATUS_SUCCESS || !*out) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}
