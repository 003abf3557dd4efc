/* sheet.c — the grid both equipment-list readers fill (see sheet.h). */
#include "supply/sheet.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void ksm_sheet_free(struct ksm_sheet *s)
{
    for (int i = 0; i < s->nrows; i++) {
        for (int c = 0; c < s->rows[i].ncells; c++)
            free(s->rows[i].cells[c]);
        free(s->rows[i].cells);
        free(s->rows[i].formula);
    }
    free(s->rows);
    free(s->merges);
    memset(s, 0, sizeof *s);
}

struct ksm_sheet_row *ksm_sheet_add_row(struct ksm_sheet *s, int num)
{
    if (s->nrows == s->caprows) {
        s->caprows = s->caprows ? s->caprows * 2 : 16;
        s->rows = ksm_xrealloc(s->rows, (size_t)s->caprows * sizeof *s->rows);
    }
    struct ksm_sheet_row *r = &s->rows[s->nrows++];
    memset(r, 0, sizeof *r);
    r->num = num;
    return r;
}

void ksm_sheet_set(struct ksm_sheet_row *row, int col, const char *text, size_t n, bool formula)
{
    if (col >= row->ncells) {
        row->cells = ksm_xrealloc(row->cells, (size_t)(col + 1) * sizeof *row->cells);
        row->formula = ksm_xrealloc(row->formula, (size_t)(col + 1));
        for (int c = row->ncells; c <= col; c++) {
            row->cells[c] = NULL;
            row->formula[c] = 0;
        }
        row->ncells = col + 1;
    }
    free(row->cells[col]);
    row->cells[col] = ksm_xmalloc(n + 1);
    memcpy(row->cells[col], text, n);
    row->cells[col][n] = '\0';
    row->formula[col] = formula;
}

const char *ksm_sheet_cell(const struct ksm_sheet_row *row, int col)
{
    return col >= 0 && col < row->ncells && row->cells[col] ? row->cells[col] : "";
}

void ksm_sheet_col_name(int col, char out[4])
{
    char tmp[4];
    int n = 0;
    for (col++; col > 0 && n < 3; col = (col - 1) / 26)
        tmp[n++] = (char)('A' + (col - 1) % 26);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}
