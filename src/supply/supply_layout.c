/* supply_layout.c — the form's layout for export (supply_layout.h) and its CSV rendering. */
#include "supply/supply_layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/csv.h"
#include "core/util.h"
#include "supply/supply_form.h"

struct pair {
    const char *label, *field;
};

static const struct pair submitter_rows[] = {
    {"購入等件名(調達案件名)", "title"}, {"法人名", "company"}, {"担当者名", "contact_name"},
    {"連絡メールアドレス", "email"},     {"連絡先電話番号", "phone"},
};

static const struct pair ministry_rows[] = {
    {"省庁名", "agency"},                 {"担当部局課名", "department"},
    {"省庁担当者名", "contact_name"},     {"連絡メールアドレス", "email"},
    {"連絡先電話番号", "phone"},          {"提出予定期日", "submission_due"},
    {"技術検査提出締切り", "inspection_due"}, {"入札予定期日", "bid_due"},
};

static json_t *row_of(int n, ...)
{
    json_t *row = json_array();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *s = va_arg(ap, const char *);
        json_array_append_new(row, json_string(s ? s : ""));
    }
    va_end(ap);
    return row;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_t *item_row(json_t *it)
{
    json_t *row = json_array();
    for (int k = 0; k < KSM_FORM_NCOLS; k++) {
        const char *f = ksm_form_cols[k].field;
        json_t *v = json_object_get(it, f);
        char num[32] = "";
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        const char *t = json_is_integer(v) ? num : str(it, f);
        if (!strcmp(f, "maker_corporate_number") && json_is_null(v))
            t = str(it, "maker_no_number_reason");
        json_array_append_new(row, json_string(t));
    }
    return row;
}

json_t *ksm_supply_layout(json_t *list, json_t *ministry, int *header_row)
{
    json_t *rows = json_array(), *sub = json_object_get(list, "submitter");
    for (size_t i = 0; i < KSM_NELEM(submitter_rows); i++)
        json_array_append_new(rows, row_of(3, submitter_rows[i].label, "",
                                           str(sub, submitter_rows[i].field)));
    json_array_append_new(rows, json_array());
    json_array_append_new(rows, row_of(1, "○ 機器等一覧"));
    *header_row = (int)json_array_size(rows);
    json_t *h = json_array();
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        json_array_append_new(h, json_string(ksm_form_cols[k].header));
    json_array_append_new(rows, h);
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
        json_array_append_new(rows, item_row(it));
    json_array_append_new(rows, json_array());
    json_array_append_new(rows, row_of(1, "(省庁記載欄)"));
    for (size_t k = 0; k < KSM_NELEM(ministry_rows); k++)
        json_array_append_new(rows, row_of(3, ministry_rows[k].label, "",
                                           str(ministry, ministry_rows[k].field)));
    return rows;
}

void ksm_supply_layout_csv(json_t *rows, struct ksm_buf *out)
{
    ksm_buf_puts(out, "\xef\xbb\xbf");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *cells[KSM_FORM_NCOLS + 1];
        int n = 0;
        size_t k;
        json_t *c;
        json_array_foreach(row, k, c) {
            if (n < (int)KSM_NELEM(cells))
                cells[n++] = json_string_value(c);
        }
        ksm_csv_record(out, cells, n);
    }
}
