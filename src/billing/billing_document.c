/* billing_document.c — the monthly report (実績レポート) in Japanese as a printable HTML page with
 * SVG charts or as an A4 PDF: one content (report/doc.h) for both. It shows the numbers of the CSV:
 * each invoice's 税抜, 消費税 and 税込 (their sum on a 合計 row), charts of the cost by service, by
 * project and by day, and each invoice's lines with the exact amounts (yen to the micro-yen, as in
 * the CSV) followed by the rounding, the tax and the total, so a reader can add them up. */
#include "billing/billing.h"
#include "billing/billing_focus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "report/doc.h"

#define MONEY 48

/* micro-yen → "1,234.500000" (the CSV's six decimals, digits grouped). */
static void exact_yen(int64_t microyen, char out[MONEY])
{
    char whole[32];
    uint64_t m = microyen < 0 ? 0 - (uint64_t)microyen : (uint64_t)microyen;
    ksm_report_group_digits((int64_t)(m / 1000000), whole);
    snprintf(out, MONEY, "%s%s.%06llu", microyen < 0 ? "-" : "", whole,
             (unsigned long long)(m % 1000000));
}

/* micro-yen → "1,234円" or "3.333334円": what a chart writes beside a bar. */
static void short_yen(int64_t microyen, char out[MONEY])
{
    exact_yen(microyen, out);
    char *end = out + strlen(out);
    while (end[-1] == '0')
        *--end = 0;
    if (end[-1] == '.')
        *--end = 0;
    snprintf(end, (size_t)(out + MONEY - end), "円");
}

static void whole_yen(int64_t yen, char out[MONEY])
{
    ksm_report_group_digits(yen, out);
}

static void jst(int64_t ms, const char *fmt, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000 + 9 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, fmt, &tm);
}

static void header(struct ksm_doc *d, const struct ksm_billing_report *rep)
{
    char title[96], period[128], from[40], to[40], state[96], fy[32], scope[600];
    snprintf(title, sizeof title, "利用実績報告書 %.4s年%d月", rep->month, atoi(rep->month + 5));
    jst(rep->start_ms, "%Y年%m月%d日", from, sizeof from);
    jst(rep->end_ms - 1, "%Y年%m月%d日", to, sizeof to);
    snprintf(period, sizeof period, "%s〜%s (日本時間)", from, to);
    if (rep->closed) {
        char when[40];
        jst(rep->closed_ms, "%Y-%m-%d %H:%M", when, sizeof when);
        snprintf(state, sizeof state, "確定 (%s 締め)", when);
    } else {
        snprintf(state, sizeof state, "速報 (締め前、月初から現在まで)");
    }
    snprintf(fy, sizeof fy, "%d年度", rep->fiscal_year);
    if (rep->ninv == 1)
        snprintf(scope, sizeof scope, "%s%s%s", rep->inv[0].tenant_name, rep->project ? " / " : "",
                 rep->project && rep->nrows ? rep->rows[0].project_name
                 : rep->project             ? rep->project
                                            : "");
    else
        snprintf(scope, sizeof scope, "全テナント (%zu件の請求書)", rep->ninv);
    const char *kv[] = {
        "対象期間", period,
        "対象",     scope,
        "状態",     state,
        "会計年度", fy,
        "発行者",   rep->op.name,
        "登録番号", *rep->op.registration_number ? rep->op.registration_number : "(未設定)",
        "環境",     rep->op.environment};
    ksm_doc_title(d, title);
    ksm_doc_keyvalues(d, kv, KSM_NELEM(kv) / 2);
}

static const struct ksm_report_col invoice_cols[] = {
    {"請求書番号", 3.6, false}, {"請求先", 2.4, false},         {"法人番号", 1.8, false},
    {"税抜 (円)", 1.3, true},   {"消費税 10% (円)", 2.0, true}, {"税込 (円)", 1.3, true},
};

static void invoices(struct ksm_doc *d, const struct ksm_billing_report *rep)
{
    int64_t excl = 0, tax = 0, incl = 0;
    char a[MONEY], b[MONEY], c[MONEY], id[300];
    ksm_doc_heading(d, "請求金額");
    ksm_doc_paragraph(
        d, "消費税 (10%) は請求書ごとに一度だけ、1円未満を切り捨てた税抜金額から計算しています"
           " (適格請求書)。明細の行ごとの金額は税抜です。");
    ksm_doc_table_begin(d, invoice_cols, KSM_NELEM(invoice_cols));
    for (size_t i = 0; i < rep->ninv; i++) {
        const struct ksm_billing_invoice *v = &rep->inv[i];
        ksm_focus_invoice_id(rep, v, id, sizeof id);
        whole_yen(v->excl_tax_yen, a), whole_yen(v->tax_yen, b), whole_yen(v->incl_tax_yen, c);
        const char *cells[] = {id, v->tenant_name, v->corporate_number, a, b, c};
        ksm_doc_table_row(d, cells, false);
        excl += v->excl_tax_yen, tax += v->tax_yen, incl += v->incl_tax_yen;
    }
    whole_yen(excl, a), whole_yen(tax, b), whole_yen(incl, c);
    const char *total[] = {"合計", "", "", a, b, c};
    ksm_doc_table_row(d, total, true);
    ksm_doc_table_end(d);
}

/* The groups of u as chart points; texts holds their labels (n × MONEY). */
static struct ksm_report_point *points(const struct ksm_billing_usage *u, bool day,
                                       char (*texts)[MONEY])
{
    struct ksm_report_point *p = ksm_xcalloc(u->n ? u->n : 1, sizeof *p);
    for (size_t i = 0; i < u->n; i++) {
        short_yen(u->g[i].cost_microyen, texts[i]);
        /* whole yen are the bar's size: a chart needs no finer grain, and stays in integers */
        p[i] = (struct ksm_report_point){.label = day ? u->g[i].name + 5 : u->g[i].name,
                                         .value = u->g[i].cost_microyen / 1000000,
                                         .text = texts[i]};
        if (p[i].value == 0 && u->g[i].cost_microyen > 0)
            p[i].value = 1; /* a cost under one yen still shows */
    }
    return p;
}

static void chart(struct ksm_doc *d, const struct ksm_billing_usage *u, const char *title,
                  bool line)
{
    char(*texts)[MONEY] = ksm_xcalloc(u->n ? u->n : 1, MONEY);
    struct ksm_report_point *p = points(u, line, texts);
    if (line)
        ksm_doc_line_chart(d, title, p, u->n, "円");
    else
        ksm_doc_bar_chart(d, title, p, u->n);
    free(p);
    free(texts);
}

static void charts(struct ksm_doc *d, const struct ksm_billing_report *rep,
                   const struct ksm_billing_usage *days)
{
    struct ksm_billing_usage by;
    ksm_doc_heading(d, "利用料金の内訳 (税抜)");
    ksm_billing_usage_build(NULL, rep, NULL, KSM_BILLING_BY_SERVICE, &by);
    chart(d, &by, "サービス別", false);
    ksm_billing_usage_free(&by);
    ksm_billing_usage_build(NULL, rep, NULL, KSM_BILLING_BY_PROJECT, &by);
    chart(d, &by, "プロジェクト別", false);
    ksm_billing_usage_free(&by);
    if (days)
        chart(d, days, "日別", true);
}

static const struct ksm_report_col line_cols[] = {
    {"プロジェクト", 2.4, false}, {"サービス", 2.8, false}, {"メーター", 2.0, false},
    {"リソース", 1.8, false},     {"数量", 2.4, true},      {"金額 (円)", 1.8, true},
};

static void summary_row(struct ksm_doc *d, const char *what, const char *amount, bool total)
{
    const char *cells[] = {what, "", "", "", "", amount};
    ksm_doc_table_row(d, cells, total);
}

static void invoice_lines(struct ksm_doc *d, const struct ksm_billing_report *rep,
                          const struct ksm_billing_invoice *v)
{
    char head[600], id[300], qty[MONEY], cost[MONEY], tax[96];
    ksm_focus_invoice_id(rep, v, id, sizeof id);
    snprintf(head, sizeof head, "明細: %s (%s)", v->tenant_name, id);
    ksm_doc_heading(d, head);
    ksm_doc_table_begin(d, line_cols, KSM_NELEM(line_cols));
    for (size_t j = 0; j < v->nrows; j++) {
        const struct ksm_billing_row *w = &v->rows[j];
        const struct ksm_billing_meter *m = ksm_billing_meter_find(w->service, w->meter);
        char q[32];
        ksm_report_group_digits(w->quantity, q);
        snprintf(qty, sizeof qty, "%s %s", q, m ? m->unit : "");
        exact_yen(w->cost_microyen, cost);
        const char *cells[] = {w->project && *w->project ? w->project_name : "(なし)",
                               ksm_billing_service_label(w->service),
                               w->meter,
                               w->resource ? w->resource : "",
                               qty,
                               cost};
        ksm_doc_table_row(d, cells, false);
    }
    exact_yen(v->subtotal_microyen, cost);
    summary_row(d, "利用料金 小計", cost, false);
    if (v->rounding_microyen) {
        exact_yen(v->rounding_microyen, cost);
        summary_row(d, "1円未満切捨て", cost, false);
    }
    whole_yen(v->excl_tax_yen, cost);
    summary_row(d, "税抜", cost, false);
    snprintf(tax, sizeof tax, "消費税 %d%%", KSM_BILLING_TAX_PERCENT);
    whole_yen(v->tax_yen, cost);
    summary_row(d, tax, cost, false);
    whole_yen(v->incl_tax_yen, cost);
    summary_row(d, "税込 合計", cost, true);
    ksm_doc_table_end(d);
}

static void document(struct ksm_doc *d, const struct ksm_billing_report *rep,
                     const struct ksm_billing_usage *days)
{
    header(d, rep);
    invoices(d, rep);
    charts(d, rep, days);
    for (size_t i = 0; i < rep->ninv; i++)
        invoice_lines(d, rep, &rep->inv[i]);
}

static void doc_title(const struct ksm_billing_report *rep, char *out, size_t n)
{
    snprintf(out, n, "利用実績報告書 %s", rep->month);
}

void ksm_billing_report_html(const struct ksm_billing_report *rep,
                             const struct ksm_billing_usage *days, struct ksm_buf *out)
{
    struct ksm_doc d;
    char title[64];
    doc_title(rep, title, sizeof title);
    ksm_doc_html(&d, out, title);
    document(&d, rep, days);
    ksm_doc_end(&d);
}

int ksm_billing_report_pdf(const struct ksm_billing_report *rep,
                           const struct ksm_billing_usage *days, char **out, size_t *outlen)
{
    char title[64];
    doc_title(rep, title, sizeof title);
    struct ksm_pdf *pdf = ksm_pdf_new(title);
    *out = NULL;
    if (!pdf)
        return -1;
    struct ksm_doc d;
    ksm_doc_pdf(&d, pdf);
    document(&d, rep, days);
    return ksm_pdf_finish(pdf, out, outlen);
}
