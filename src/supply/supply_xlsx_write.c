/* supply_xlsx_write.c — the export as XLSX with libxlsxwriter (supply_layout.h). Text cells stay
 * text (a 法人番号 must not become 7.00001E+12); 通番 is a number as in the form. */
#include "supply/supply_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "core/util.h"

static int write_rows(const char *path, const char *tmpdir, json_t *rows, int header_row)
{
    lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = (char *)tmpdir};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    if (!wb)
        return -1;
    lxw_worksheet *ws = workbook_add_worksheet(wb, "機器リスト");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_border(bold, LXW_BORDER_THIN);
    lxw_format *cell = workbook_add_format(wb);
    format_set_border(cell, LXW_BORDER_THIN);
    size_t i;
    json_t *row;
    int last_table_row = header_row;
    json_array_foreach(rows, i, row) {
        if ((int)i > header_row && json_array_size(row) == 0 && last_table_row == header_row)
            last_table_row = (int)i - 1;
    }
    json_array_foreach(rows, i, row) {
        size_t k;
        json_t *c;
        bool in_table = (int)i >= header_row && (int)i <= last_table_row;
        lxw_format *f = (int)i == header_row ? bold : in_table ? cell : NULL;
        json_array_foreach(row, k, c) {
            const char *s = json_string_value(c);
            if (in_table && (int)i > header_row && k == 1 && s && *s)
                worksheet_write_number(ws, (lxw_row_t)i, (lxw_col_t)k, strtod(s, NULL), f);
            else if (s && *s)
                worksheet_write_string(ws, (lxw_row_t)i, (lxw_col_t)k, s, f);
            else if (in_table)
                worksheet_write_blank(ws, (lxw_row_t)i, (lxw_col_t)k, f);
        }
    }
    worksheet_set_column(ws, 0, 0, 24, NULL);
    worksheet_set_column(ws, 2, 6, 22, NULL);
    return workbook_close(wb) == LXW_NO_ERROR ? 0 : -1;
}

int ksm_supply_layout_xlsx(json_t *rows, int header_row, const char *tmpdir, char **out,
                           size_t *outlen, char *why, size_t whylen)
{
    char path[600];
    snprintf(path, sizeof path, "%s/supply-export-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create a temporary file");
        return -1;
    }
    close(fd);
    int rc = write_rows(path, tmpdir, rows, header_row);
    *out = rc == 0 ? ksm_read_file(path, outlen) : NULL;
    unlink(path);
    if (!*out) {
        snprintf(why, whylen, "cannot write the workbook");
        return -1;
    }
    return 0;
}
