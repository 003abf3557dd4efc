/* billing_xlsx.c — the report as an XLSX workbook (libxlsxwriter): sheet 請求書 with one row per
 * invoice (税抜, 消費税, 税込 and the operator's 登録番号), sheet 明細 with the same FOCUS lines as the
 * CSV. Identifiers stay text (a 法人番号 must not become 8.7E+12); quantities and money are numbers so
 * the sheet can be summed. Money is computed in integer micro-yen; only this rendering turns it into
 * a spreadsheet number, and the CSV/JSON stay the exact record. */
#include "billing/billing.h"
#include "billing/billing_focus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "core/util.h"

/* Columns of a FOCUS line written as numbers: the costs and the quantities. */
static bool numeric_col(int i)
{
    return (i >= 18 && i <= 21) || i == 23 || i == 25;
}

static void focus_line(lxw_worksheet *ws, lxw_row_t row, const struct ksm_focus_line *l,
                       lxw_format *money)
{
    for (int i = 0; i < KSM_FOCUS_NCOLS; i++) {
        const char *s = l->v[i];
        if (!s || !*s)
            continue;
        if (numeric_col(i) && strcmp(s, "10%"))
            worksheet_write_number(ws, row, (lxw_col_t)i, strtod(s, NULL), i <= 21 ? money : NULL);
        else
            worksheet_write_string(ws, row, (lxw_col_t)i, s, NULL);
    }
}

static void detail_sheet(lxw_workbook *wb, const struct ksm_billing_report *rep, lxw_format *bold,
                         lxw_format *money)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "明細");
    struct ksm_focus_line l;
    lxw_row_t row = 0;
    for (int i = 0; i < KSM_FOCUS_NCOLS; i++)
        worksheet_write_string(ws, 0, (lxw_col_t)i, ksm_focus_columns[i], bold);
    for (size_t i = 0; i < rep->ninv; i++) {
        const struct ksm_billing_invoice *inv = &rep->inv[i];
        for (size_t j = 0; j < inv->nrows; j++) {
            ksm_focus_usage(&l, rep, inv, &inv->rows[j]);
            focus_line(ws, ++row, &l, money);
        }
        if (inv->rounding_microyen) {
            ksm_focus_rounding(&l, rep, inv);
            focus_line(ws, ++row, &l, money);
        }
        ksm_focus_tax(&l, rep, inv);
        focus_line(ws, ++row, &l, money);
    }
    worksheet_freeze_panes(ws, 1, 0);
}

static const char *const invoice_cols[] = {
    "請求書番号 (InvoiceId)", "請求先 (BillingAccountId)", "請求先名", "法人番号", "種別", "対象月",
    "税抜 (円)", "消費税 10% (円)", "税込 (円)", "登録番号", "発行者",
};

static void invoice_sheet(lxw_workbook *wb, const struct ksm_billing_report *rep, lxw_format *bold,
                          lxw_format *yen)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, "請求書");
    for (size_t c = 0; c < KSM_NELEM(invoice_cols); c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, invoice_cols[c], bold);
    for (size_t i = 0; i < rep->ninv; i++) {
        const struct ksm_billing_invoice *inv = &rep->inv[i];
        char id[300], account[300];
        lxw_row_t r = (lxw_row_t)(i + 1);
        ksm_focus_invoice_id(rep, inv, id, sizeof id);
        ksm_focus_account(rep, inv, account, sizeof account);
        const char *text[] = {id, account, inv->tenant_name, inv->corporate_number, inv->tenant_kind,
                              rep->month};
        for (size_t c = 0; c < KSM_NELEM(text); c++)
            worksheet_write_string(ws, r, (lxw_col_t)c, text[c], NULL);
        worksheet_write_number(ws, r, 6, (double)inv->excl_tax_yen, yen);
        worksheet_write_number(ws, r, 7, (double)inv->tax_yen, yen);
        worksheet_write_number(ws, r, 8, (double)inv->incl_tax_yen, yen);
        worksheet_write_string(ws, r, 9, rep->op.registration_number, NULL);
        worksheet_write_string(ws, r, 10, rep->op.name, NULL);
    }
    worksheet_set_column(ws, 0, 2, 28, NULL);
    worksheet_set_column(ws, 3, 10, 16, NULL);
}

static int write_book(const char *path, const char *tmpdir, const struct ksm_billing_report *rep)
{
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = (char *)tmpdir};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    if (!wb)
        return -1;
    lxw_format *bold = workbook_add_format(wb), *money = workbook_add_format(wb),
               *yen = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_num_format(money, "#,##0.000000");
    format_set_num_format(yen, "#,##0");
    invoice_sheet(wb, rep, bold, yen);
    detail_sheet(wb, rep, bold, money);
    return workbook_close(wb) == LXW_NO_ERROR ? 0 : -1;
}

int ksm_billing_report_xlsx(const struct ksm_billing_report *rep, const char *tmpdir, char **out,
                            size_t *outlen)
{
    char path[600];
    snprintf(path, sizeof path, "%s/billing-report-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    int rc = write_book(path, tmpdir, rep);
    *out = rc == 0 ? ksm_read_file(path, outlen) : NULL;
    unlink(path);
    return *out ? 0 : -1;
}
