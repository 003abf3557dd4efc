/* supply_csv.c — the CSV reader and writer of equipment lists (supply_csv.h). Hand-written: no
 * Debian C library parses CSV with the row and column positions our error messages need, and the
 * format is small. Fuzzed by tests/fuzz/fuzz_supply_csv.c. */
#include "supply/supply_csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct csv {
    const char *p, *end;
    int row, col;
    struct ksm_sheet *sheet;
    struct ksm_sheet_row *cur;
    struct ksm_buf cell;
    char *why;
    size_t whylen;
};

static int fail(struct csv *c, const char *msg)
{
    char col[4];
    ksm_sheet_col_name(c->col, col);
    snprintf(c->why, c->whylen, "row %d, column %s: %s", c->row, col, msg);
    return -1;
}

static int end_cell(struct csv *c)
{
    if (c->col >= KSM_SHEET_MAX_COLS)
        return fail(c, "too many columns");
    if (!c->cur) {
        if (c->sheet->nrows >= KSM_SHEET_MAX_ROWS)
            return fail(c, "too many rows (at most 20000)");
        c->cur = ksm_sheet_add_row(c->sheet, c->row);
    }
    if (c->cell.len)
        ksm_sheet_set(c->cur, c->col, c->cell.data, c->cell.len, false);
    ksm_buf_reset(&c->cell);
    c->col++;
    return 0;
}

static void end_row(struct csv *c)
{
    /* a blank line is a row without cells: drop it, but count it */
    if (c->cur && c->cur->ncells == 0)
        c->sheet->nrows--;
    c->cur = NULL;
    c->row++;
    c->col = 0;
}

static int add(struct csv *c, const char *p, size_t n)
{
    if (c->cell.len + n > KSM_SHEET_MAX_CELL)
        return fail(c, "the cell is too long (at most 4096 bytes)");
    ksm_buf_append(&c->cell, p, n);
    return 0;
}

/* A quoted cell: from after the opening quote to after the closing one. Rows count records, not
 * lines, so a line break inside the cell does not advance the row. */
static int quoted(struct csv *c)
{
    for (;;) {
        if (c->p >= c->end)
            return fail(c, "a quoted cell is never closed");
        const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
        const char *stop = q ? q : c->end;
        if (add(c, c->p, (size_t)(stop - c->p)))
            return -1;
        c->p = stop;
        if (!q)
            continue;
        c->p++;
        if (c->p < c->end && *c->p == '"') {
            if (add(c, "\"", 1))
                return -1;
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n')
            return fail(c, "text after a quoted cell's closing quote");
        return 0;
    }
}

int ksm_supply_csv_read(const char *text, size_t n, struct ksm_sheet *out, char *why, size_t whylen)
{
    struct csv c = {text, text + n, 1, 0, out, NULL, KSM_BUF_INIT, why, whylen};
    memset(out, 0, sizeof *out);
    int rc = 0;
    bool at_start = true;   /* at the start of a cell */
    while (c.p < c.end && rc == 0) {
        char ch = *c.p;
        if (at_start && ch == '"') {
            c.p++;
            rc = quoted(&c);   /* a cell spanning lines stays in its record's row */
            at_start = false;
        } else if (ch == ',') {
            c.p++;
            rc = end_cell(&c);
            at_start = true;
        } else if (ch == '\r' || ch == '\n') {
            c.p += (ch == '\r' && c.p + 1 < c.end && c.p[1] == '\n') ? 2 : 1;
            if (!at_start || c.col > 0)
                rc = end_cell(&c);
            end_row(&c);
            at_start = true;
        } else if (ch == '"') {
            rc = fail(&c, "a quote inside an unquoted cell (quote the whole cell)");
        } else {
            const char *s = c.p;
            while (c.p < c.end && *c.p != ',' && *c.p != '\r' && *c.p != '\n' && *c.p != '"')
                c.p++;
            rc = add(&c, s, (size_t)(c.p - s));
            at_start = false;
        }
    }
    if (rc == 0 && (!at_start || c.col > 0))
        rc = end_cell(&c);
    if (rc == 0 && c.cur && c.cur->ncells == 0)
        out->nrows--;
    ksm_buf_free(&c.cell);
    if (rc)
        ksm_sheet_free(out);
    return rc;
}
