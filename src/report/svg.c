/* svg.c — charts as inline SVG, computed in C with integer geometry, so a page shows them without
 * JavaScript and a golden file can compare them byte for byte. Each bar and point carries a <title>
 * (its label and text), which a browser shows on hover and a screen reader reads. */
#include "report/html.h"

#define CHART_W 680
#define BAR_LABEL_W 170    /* the category's name, left of its bar */
#define BAR_TEXT_W 110     /* the amount, right of its bar */
#define BAR_ROW_H 22
#define LINE_H 220
#define LINE_LEFT 80       /* room for the scale's labels */
#define LINE_TOP 14
#define LINE_BOTTOM 28     /* room for the days' labels */

/* value scaled to [0, span] against max, without overflow; negatives draw as 0. */
static int scale(int64_t value, int64_t max, int span)
{
    if (value <= 0)
        return 0;
    return (int)((__int128)value * span / max);
}

static void figure_begin(struct ksm_buf *out, const char *title, int height)
{
    ksm_buf_puts(out, "<figure>\n<figcaption>");
    ksm_html_escape(out, title);
    ksm_buf_printf(out, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                        " role=\"img\" aria-label=\"", CHART_W, height);
    ksm_html_escape(out, title);
    ksm_buf_puts(out, "\">\n");
}

static void figure_end(struct ksm_buf *out)
{
    ksm_buf_puts(out, "</svg>\n</figure>\n");
}

static void tooltip(struct ksm_buf *out, const struct ksm_report_point *p)
{
    ksm_buf_puts(out, "<title>");
    ksm_html_escape(out, p->label);
    if (p->text) {
        ksm_buf_puts(out, ": ");
        ksm_html_escape(out, p->text);
    }
    ksm_buf_puts(out, "</title>");
}

void ksm_html_bar_chart(struct ksm_buf *out, const char *title, const struct ksm_report_point *pts,
                        size_t n)
{
    int64_t max = ksm_report_max(pts, n);
    int span = CHART_W - BAR_LABEL_W - BAR_TEXT_W - 8;
    figure_begin(out, title, (int)(n ? n : 1) * BAR_ROW_H + 4);
    for (size_t i = 0; i < n; i++) {
        int y = (int)i * BAR_ROW_H + 2, w = scale(pts[i].value, max, span);
        ksm_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", BAR_LABEL_W - 6, y + 15);
        ksm_html_escape(out, pts[i].label);
        ksm_buf_printf(out, "</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\">",
                       BAR_LABEL_W, y + 2, w);
        tooltip(out, &pts[i]);
        ksm_buf_printf(out, "</rect><text x=\"%d\" y=\"%d\">", BAR_LABEL_W + w + 6, y + 15);
        ksm_html_escape(out, pts[i].text);
        ksm_buf_puts(out, "</text>\n");
    }
    figure_end(out);
}

static void line_scale(struct ksm_buf *out, int64_t max, const char *unit, int plot_h)
{
    char top[32], mid[32];
    ksm_report_group_digits(max, top);
    ksm_report_group_digits(max / 2, mid);
    int y0 = LINE_TOP + plot_h;
    ksm_buf_printf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", LINE_LEFT,
                   y0, CHART_W - 10, y0);
    ksm_buf_printf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", LINE_LEFT,
                   LINE_TOP, LINE_LEFT, y0);
    ksm_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", LINE_LEFT - 6, y0 + 4);
    ksm_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s", LINE_LEFT - 6,
                   LINE_TOP + plot_h / 2 + 4, mid);
    ksm_html_escape(out, unit);
    ksm_buf_printf(out, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s", LINE_LEFT - 6,
                   LINE_TOP + 4, top);
    ksm_html_escape(out, unit);
    ksm_buf_puts(out, "</text>\n");
}

/* The x of point i of n across the plot (a single point sits in the middle). */
static int point_x(size_t i, size_t n, int plot_w)
{
    return LINE_LEFT + 10 + (n > 1 ? (int)(i * (size_t)plot_w / (n - 1)) : plot_w / 2);
}

void ksm_html_line_chart(struct ksm_buf *out, const char *title, const struct ksm_report_point *pts,
                         size_t n, const char *unit)
{
    int64_t max = ksm_report_max(pts, n);
    int plot_h = LINE_H - LINE_TOP - LINE_BOTTOM, plot_w = CHART_W - LINE_LEFT - 20;
    size_t step = n > 8 ? (n + 7) / 8 : 1;   /* about eight labels on the axis */
    figure_begin(out, title, LINE_H);
    line_scale(out, max, unit, plot_h);
    ksm_buf_puts(out, "<polyline class=\"line\" points=\"");
    for (size_t i = 0; i < n; i++) {
        int x = point_x(i, n, plot_w);
        int y = LINE_TOP + plot_h - scale(pts[i].value, max, plot_h);
        ksm_buf_printf(out, "%s%d,%d", i ? " " : "", x, y);
    }
    ksm_buf_puts(out, "\"/>\n");
    for (size_t i = 0; i < n; i++) {
        int x = point_x(i, n, plot_w);
        int y = LINE_TOP + plot_h - scale(pts[i].value, max, plot_h);
        ksm_buf_printf(out, "<circle class=\"dot\" cx=\"%d\" cy=\"%d\" r=\"3\">", x, y);
        tooltip(out, &pts[i]);
        ksm_buf_puts(out, "</circle>");
        if (i % step == 0) {
            ksm_buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x, LINE_H - 8);
            ksm_html_escape(out, pts[i].label);
            ksm_buf_puts(out, "</text>");
        }
        ksm_buf_puts(out, "\n");
    }
    figure_end(out);
}
