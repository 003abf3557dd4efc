/* supply_form.c — validating a sheet against the 機器リスト form (supply_form.h). The rules:
 * - the table's header row is the row with 通番; its cells must be exactly the form's seven
 *   columns (any order), none missing, none unknown, none twice;
 * - no merged cell and no formula inside the table; no data under a column without a header;
 * - 通番 runs 1, 2, 3, ... in order; 区分, 製造業者名, 製品名, 型番 are required; 法人名 may be left
 *   empty below its first row (the form's example does so) and then repeats the row above;
 * - 製造業者の法人番号 holds 13 digits with a correct check digit (full-width digits, spaces and
 *   hyphens are accepted and normalised), or, for a maker without one (a foreign maker), the
 *   stated reason in words;
 * - no cell starts with = + or @ (it would run as a formula when the list is opened again);
 * - the table ends at the note (※...), at the ministry block, or at the end of the sheet. */
#include "supply/supply_form.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/corpnum.h"
#include "core/util.h"
#include "supply/supply_date.h"
#include "supply/supply_text.h"

const struct ksm_form_col ksm_form_cols[KSM_FORM_NCOLS] = {
    {"法人名", "company"},
    {"通番", "seq"},
    {"区分", "category"},
    {"製造業者名", "maker"},
    {"製造業者の法人番号(半角数字)", "maker_corporate_number"},
    {"製品名", "product"},
    {"型番", "model"},
};
enum { C_COMPANY, C_SEQ, C_CATEGORY, C_MAKER, C_CORPNUM, C_PRODUCT, C_MODEL };

struct label {
    const char *text, *field;
};

static const struct label submitter_labels[] = {
    {"購入等件名(調達案件名)", "title"}, {"購入等件名", "title"}, {"調達案件名", "title"},
    {"法人名", "company"},              {"担当者名", "contact_name"},
    {"連絡メールアドレス", "email"},     {"連絡先電話番号", "phone"},
};

static const struct label ministry_labels[] = {
    {"省庁名", "agency"},
    {"担当部局課名", "department"},
    {"省庁担当者名", "contact_name"},
    {"連絡メールアドレス", "email"},
    {"連絡先電話番号", "phone"},
    {"提出予定期日", "submission_due"},
    {"技術検査提出締切り", "inspection_due"},
    {"技術検査提出締切", "inspection_due"},
    {"入札予定期日", "bid_due"},
};

struct ctx {
    const struct ksm_sheet *s;
    struct ksm_form *f;
    int colmap[KSM_FORM_NCOLS];   /* sheet column of each form column */
    int header_row;               /* index into s->rows */
};

static void add_error(struct ctx *c, int row, int col, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_error(struct ctx *c, int row, int col, const char *field, const char *fmt, ...)
{
    c->f->error_count++;
    if (json_array_size(c->f->errors) >= KSM_FORM_MAX_ERRORS)
        return;
    char msg[512], cn[4] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (col >= 0)
        ksm_sheet_col_name(col, cn);
    json_t *e = json_pack("{s:i, s:s, s:s}", "row", row, "column", cn, "message", msg);
    json_object_set_new(e, "field", field ? json_string(field) : json_null());
    json_array_append_new(c->f->errors, e);
}

/* A header or label cell compared without spaces and with NFKC (（）→ ()). */
static bool same_label(const char *cell, const char *label)
{
    char *a = ksm_supply_norm_model(cell), *b = ksm_supply_norm_model(label);
    bool eq = a && b && !strcmp(a, b);
    free(a);
    free(b);
    return eq;
}

static int form_col_of(const char *cell)
{
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        if (same_label(cell, ksm_form_cols[k].header))
            return k;
    if (same_label(cell, "製造業者の法人番号") || same_label(cell, "法人番号"))
        return C_CORPNUM;
    return -1;
}

static const struct label *find_label(const struct label *t, size_t n, const char *cell)
{
    for (size_t i = 0; i < n; i++)
        if (same_label(cell, t[i].text))
            return &t[i];
    return NULL;
}

/* The first non-empty cell of a row (its column in *col), or NULL. */
static const char *first_cell(const struct ksm_sheet_row *r, int *col)
{
    for (int c = 0; c < r->ncells; c++) {
        if (r->cells[c] && r->cells[c][strspn(r->cells[c], " \t")]) {
            *col = c;
            return r->cells[c];
        }
    }
    return NULL;
}

static bool row_blank(const struct ksm_sheet_row *r)
{
    int col;
    return first_cell(r, &col) == NULL;
}

static int find_header(const struct ksm_sheet *s)
{
    for (int i = 0; i < s->nrows; i++)
        for (int c = 0; c < s->rows[i].ncells; c++)
            if (s->rows[i].cells[c] && same_label(s->rows[i].cells[c], "通番"))
                return i;
    return -1;
}

/* label | (blank) | value: the value is the next non-empty cell after the label. */
static void read_block_row(struct ctx *c, const struct ksm_sheet_row *r, int lc,
                           const struct label *l, json_t *into)
{
    const char *v = NULL;
    int vc = -1;
    for (int k = lc + 1; k < r->ncells && !v; k++)
        if (r->cells[k] && r->cells[k][0])
            v = r->cells[k], vc = k;
    if (!v)
        return;
    char *t = ksm_supply_trim(v);
    if (strstr(l->field, "_due")) {
        char iso[11];
        const char *why = NULL;
        if (ksm_supply_date_parse(t, iso, &why))
            add_error(c, r->num, vc, l->text, "'%s' is not a date: %s", t, why);
        else
            json_object_set_new(into, l->field, json_string(iso));
    } else if (*t) {
        json_object_set_new(into, l->field, json_string(t));
    }
    free(t);
}

static void read_header_cols(struct ctx *c)
{
    const struct ksm_sheet_row *h = &c->s->rows[c->header_row];
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        c->colmap[k] = -1;
    for (int col = 0; col < h->ncells; col++) {
        const char *t = h->cells[col];
        if (!t || !t[strspn(t, " \t")])
            continue;
        int k = form_col_of(t);
        if (k < 0)
            add_error(c, h->num, col, NULL,
                      "unknown column '%s': the form's table has exactly the columns 法人名, 通番, "
                      "区分, 製造業者名, 製造業者の法人番号(半角数字), 製品名, 型番", t);
        else if (c->colmap[k] >= 0)
            add_error(c, h->num, col, ksm_form_cols[k].header, "the column %s appears twice",
                      ksm_form_cols[k].header);
        else
            c->colmap[k] = col;
    }
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        if (c->colmap[k] < 0)
            add_error(c, h->num, -1, ksm_form_cols[k].header,
                      "the column %s is missing from the header row (a header cell may be empty or "
                      "merged)", ksm_form_cols[k].header);
}

static bool is_table_end(const struct ksm_sheet_row *r)
{
    int col;
    const char *t = first_cell(r, &col);
    if (!t)
        return false;
    t += strspn(t, " \t");
    return !strncmp(t, "※", strlen("※")) || same_label(t, "(省庁記載欄)") ||
           same_label(t, "省庁記載欄") ||
           find_label(ministry_labels, KSM_NELEM(ministry_labels), t) != NULL;
}

static const char *form_field(int k) { return ksm_form_cols[k].header; }

/* 13 digits with a good check digit → number; words → reason; anything else an error. */
static void read_corpnum(struct ctx *c, const struct ksm_sheet_row *r, const char *t, json_t *item)
{
    int col = c->colmap[C_CORPNUM];
    json_object_set_new(item, "maker_corporate_number", json_null());
    json_object_set_new(item, "maker_no_number_reason", json_null());
    if (!*t) {
        add_error(c, r->num, col, form_field(C_CORPNUM),
                  "required: the maker's 13-digit 法人番号, or in words why it has none "
                  "(e.g. 海外法人のため法人番号なし)");
        return;
    }
    char *d = ksm_supply_digits(t);
    if (d) {
        if (strlen(d) != 13)
            add_error(c, r->num, col, form_field(C_CORPNUM),
                      "'%s' is not a 法人番号: it must have 13 digits (it has %zu)", t, strlen(d));
        else if (!ksm_corpnum_valid(d)) {
            int sum = 0;
            for (int n = 1; n <= 12; n++)
                sum += (d[13 - n] - '0') * (n % 2 ? 1 : 2);
            add_error(c, r->num, col, form_field(C_CORPNUM),
                      "%s is not a valid 法人番号: its check digit (the first) should be %d",
                      d, 9 - sum % 9);
        } else
            json_object_set_new(item, "maker_corporate_number", json_string(d));
        free(d);
        return;
    }
    int run = 0, longest = 0;
    for (const char *p = t; *p; p++) {
        run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    if (longest >= 10)
        add_error(c, r->num, col, form_field(C_CORPNUM),
                  "'%s' is neither a 13-digit 法人番号 nor a stated reason", t);
    else
        json_object_set_new(item, "maker_no_number_reason", json_string(t));
}

static void check_cell_text(struct ctx *c, const struct ksm_sheet_row *r, int k, const char *t)
{
    if (strchr("=+@", t[0]) && t[0])
        add_error(c, r->num, c->colmap[k], form_field(k),
                  "a cell may not start with '%c': it would run as a formula in a spreadsheet",
                  t[0]);
    else if (strlen(t) > 512)
        add_error(c, r->num, c->colmap[k], form_field(k), "too long (at most 512 bytes)");
}

struct rowstate {
    int expect_seq;
    char *company;   /* the last 法人名 given */
};

static void read_item(struct ctx *c, const struct ksm_sheet_row *r, struct rowstate *st)
{
    char *v[KSM_FORM_NCOLS];
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        v[k] = ksm_supply_trim(ksm_sheet_cell(r, c->colmap[k]));
    for (int col = 0; col < r->ncells; col++) {
        bool mapped = false;
        for (int k = 0; k < KSM_FORM_NCOLS; k++)
            mapped |= c->colmap[k] == col;
        if (r->formula[col])
            add_error(c, r->num, col, NULL, "a formula: the list must hold values (paste as values)");
        else if (!mapped && r->cells[col] && r->cells[col][strspn(r->cells[col], " \t")])
            add_error(c, r->num, col, NULL, "data in a column without a header ('%s')",
                      r->cells[col]);
    }
    json_t *item = json_object();
    if (*v[C_COMPANY]) {
        free(st->company);
        st->company = ksm_xstrdup(v[C_COMPANY]);
    }
    if (!st->company)
        add_error(c, r->num, c->colmap[C_COMPANY], form_field(C_COMPANY),
                  "required (it may be left empty only below a row that has it)");
    else
        json_object_set_new(item, "company", json_string(st->company));
    char *d = ksm_supply_digits(v[C_SEQ]);
    long seq = d && *d && strlen(d) < 9 ? strtol(d, NULL, 10) : -1;
    if (seq < 0)
        add_error(c, r->num, c->colmap[C_SEQ], form_field(C_SEQ),
                  "'%s' is not a number (通番 runs 1, 2, 3, ...)", v[C_SEQ]);
    else if (seq != st->expect_seq)
        add_error(c, r->num, c->colmap[C_SEQ], form_field(C_SEQ),
                  "expected %d, found %ld (通番 runs 1, 2, 3, ... in order, without gaps)",
                  st->expect_seq, seq);
    free(d);
    st->expect_seq = seq > 0 ? (int)seq + 1 : st->expect_seq + 1;
    json_object_set_new(item, "seq", json_integer(seq));
    static const int required[] = {C_CATEGORY, C_MAKER, C_PRODUCT, C_MODEL};
    for (size_t i = 0; i < KSM_NELEM(required); i++) {
        int k = required[i];
        if (!*v[k])
            add_error(c, r->num, c->colmap[k], form_field(k), "required");
        json_object_set_new(item, ksm_form_cols[k].field, json_string(v[k]));
    }
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        if (k != C_SEQ && *v[k])
            check_cell_text(c, r, k, v[k]);
    read_corpnum(c, r, v[C_CORPNUM], item);
    json_array_append_new(c->f->items, item);
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        free(v[k]);
}

/* A merged range inside the table (header row to last row) breaks the one-value-per-cell rule. */
static void check_merges(struct ctx *c, int first_num, int last_num)
{
    for (int i = 0; i < c->s->nmerges; i++) {
        const struct ksm_sheet_merge *m = &c->s->merges[i];
        if (m->r2 < first_num || m->r1 > last_num)
            continue;
        char a[4], b[4];
        ksm_sheet_col_name(m->c1 - 1, a);
        ksm_sheet_col_name(m->c2 - 1, b);
        add_error(c, m->r1, m->c1 - 1, NULL,
                  "cells %s%d:%s%d are merged: the table needs one value per cell (unmerge them)",
                  a, m->r1, b, m->r2);
    }
}

static void read_tail(struct ctx *c, int i)
{
    for (; i < c->s->nrows; i++) {
        const struct ksm_sheet_row *r = &c->s->rows[i];
        int col;
        const char *t = first_cell(r, &col);
        if (!t)
            continue;
        const struct label *l = find_label(ministry_labels, KSM_NELEM(ministry_labels), t);
        if (l)
            read_block_row(c, r, col, l, c->f->ministry);
        else if (strncmp(t + strspn(t, " \t"), "※", strlen("※")) &&
                 !same_label(t, "(省庁記載欄)") && !same_label(t, "省庁記載欄"))
            add_error(c, r->num, col, NULL,
                      "unexpected content after the table ('%s'): only the note and the ministry "
                      "block (省庁名 ... 入札予定期日) may follow it", t);
    }
}

static int by_position(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t rx = json_integer_value(json_object_get(x, "row"));
    json_int_t ry = json_integer_value(json_object_get(y, "row"));
    if (rx != ry)
        return rx < ry ? -1 : 1;
    const char *cx = json_string_value(json_object_get(x, "column"));
    const char *cy = json_string_value(json_object_get(y, "column"));
    return strlen(cx) != strlen(cy) ? (strlen(cx) < strlen(cy) ? -1 : 1) : strcmp(cx, cy);
}

/* Errors in reading order (row, then column), whatever order the checks found them in. */
static void sort_errors(json_t *errors)
{
    size_t n = json_array_size(errors);
    json_t **v = ksm_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(errors, i));
    qsort(v, n, sizeof *v, by_position);
    json_array_clear(errors);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(errors, v[i]);
    free(v);
}

void ksm_form_read(const struct ksm_sheet *s, struct ksm_form *f)
{
    f->submitter = json_object();
    f->ministry = json_object();
    f->items = json_array();
    f->errors = json_array();
    f->error_count = 0;
    struct ctx c = {.s = s, .f = f};
    c.header_row = find_header(s);
    if (c.header_row < 0) {
        add_error(&c, 1, -1, NULL,
                  "no table header: the form's header row (法人名, 通番, 区分, 製造業者名, "
                  "製造業者の法人番号(半角数字), 製品名, 型番) was not found");
        return;
    }
    for (int i = 0; i < c.header_row; i++) {
        int col;
        const char *t = first_cell(&s->rows[i], &col);
        const struct label *l =
            t ? find_label(submitter_labels, KSM_NELEM(submitter_labels), t) : NULL;
        if (l)
            read_block_row(&c, &s->rows[i], col, l, f->submitter);
    }
    read_header_cols(&c);
    struct rowstate st = {1, NULL};
    const char *given = json_string_value(json_object_get(f->submitter, "company"));
    st.company = given ? ksm_xstrdup(given) : NULL;
    int i = c.header_row + 1, last_num = s->rows[c.header_row].num;
    bool cols_ok = c.f->error_count == 0;
    for (; i < s->nrows && !is_table_end(&s->rows[i]); i++) {
        if (row_blank(&s->rows[i]))
            continue;
        last_num = s->rows[i].num;
        if (cols_ok)
            read_item(&c, &s->rows[i], &st);
    }
    free(st.company);
    check_merges(&c, s->rows[c.header_row].num, last_num);
    read_tail(&c, i);
    if (cols_ok && json_array_size(f->items) == 0 && f->error_count == 0)
        add_error(&c, s->rows[c.header_row].num + 1, -1, NULL, "the table has no rows");
    sort_errors(f->errors);
}

void ksm_form_free(struct ksm_form *f)
{
    json_decref(f->submitter);
    json_decref(f->ministry);
    json_decref(f->items);
    json_decref(f->errors);
    memset(f, 0, sizeof *f);
}

void ksm_form_sheet_from_json(json_t *items, struct ksm_sheet *out)
{
    memset(out, 0, sizeof *out);
    struct ksm_sheet_row *h = ksm_sheet_add_row(out, 1);
    for (int k = 0; k < KSM_FORM_NCOLS; k++)
        ksm_sheet_set(h, k, ksm_form_cols[k].header, strlen(ksm_form_cols[k].header), false);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (i >= KSM_SHEET_MAX_ROWS)
            break;
        struct ksm_sheet_row *r = ksm_sheet_add_row(out, (int)i + 2);
        for (int k = 0; k < KSM_FORM_NCOLS; k++) {
            json_t *v = json_object_get(it, ksm_form_cols[k].field);
            if (k == C_CORPNUM && json_is_null(v))
                v = json_object_get(it, "maker_no_number_reason");
            char num[32];
            const char *t = json_is_string(v) ? json_string_value(v) : NULL;
            if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                t = num;
            }
            if (t && *t)
                ksm_sheet_set(r, k, t, strlen(t), false);
        }
        /* a JSON item never leaves 法人名 to the row above: fill nothing in, the check stands */
    }
}
