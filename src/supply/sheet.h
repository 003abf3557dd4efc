/* sheet.h — a spreadsheet as the equipment-list readers see it: rows of UTF-8 text cells, each row
 * with its number in the file, plus the merged ranges and formula cells an XLSX file may carry. The
 * CSV and XLSX readers produce one; the form reader (supply_form.c) validates it. One shape for
 * both formats, so every rule about the form's layout is written once. */
#ifndef KSM_SUPPLY_SHEET_H
#define KSM_SUPPLY_SHEET_H
#include <stdbool.h>
#include <stddef.h>

/* Limits of what an import may hold: an equipment list has tens to a few thousand rows. */
#define KSM_SHEET_MAX_ROWS 20000
#define KSM_SHEET_MAX_COLS 64
#define KSM_SHEET_MAX_CELL 4096   /* bytes of one cell's text */

struct ksm_sheet_row {
    int num;              /* 1-based row number in the file (the spreadsheet's row) */
    int ncells;
    char **cells;         /* malloc'd UTF-8, NUL-terminated; NULL = empty cell */
    unsigned char *formula;   /* per cell: 1 when the cell held a formula (XLSX) */
};

struct ksm_sheet_merge {
    int r1, c1, r2, c2;   /* 1-based, inclusive */
};

struct ksm_sheet {
    struct ksm_sheet_row *rows;   /* in file order, empty rows may be absent */
    int nrows, caprows;
    struct ksm_sheet_merge *merges;
    int nmerges;
};

void ksm_sheet_free(struct ksm_sheet *s);
/* Appends an empty row numbered num; returns it. */
struct ksm_sheet_row *ksm_sheet_add_row(struct ksm_sheet *s, int num);
/* Sets cell col (0-based) of row to text[0..n) (copied); grows the row. */
void ksm_sheet_set(struct ksm_sheet_row *row, int col, const char *text, size_t n, bool formula);
/* Cell text or "" when absent. */
const char *ksm_sheet_cell(const struct ksm_sheet_row *row, int col);
/* "A", "B", ..., "Z", "AA": out needs 4 bytes (columns up to ZZZ). */
void ksm_sheet_col_name(int col, char out[4]);

#endif
