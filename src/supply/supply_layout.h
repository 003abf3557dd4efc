/* supply_layout.h — an equipment list laid out as the form for export: the submitter block, the
 * title "○ 機器等一覧", the table's header and rows, the note and the ministry block, as rows of text
 * cells (a JSON array of arrays of strings, "" for an empty cell). The CSV and XLSX writers both
 * render these rows, so the two exports are the same sheet, and each re-imports as it is. */
#ifndef KSM_SUPPLY_LAYOUT_H
#define KSM_SUPPLY_LAYOUT_H
#include <jansson.h>

#include "core/buf.h"

/* list: {"submitter":{...},"items":[...]}; ministry: {"agency",...,"bid_due"} (from the case).
 * *header_row gets the 0-based index of the table's header row (for styling). New reference. */
json_t *ksm_supply_layout(json_t *list, json_t *ministry, int *header_row);
/* The rows as CSV (UTF-8 with the BOM Excel needs to recognise it). */
void ksm_supply_layout_csv(json_t *rows, struct ksm_buf *out);
/* The rows as an XLSX workbook, written through a temporary file in tmpdir (libxlsxwriter 1.1.4
 * writes only to files). 0 with *out malloc'd, or -1 with why. */
int ksm_supply_layout_xlsx(json_t *rows, int header_row, const char *tmpdir, char **out,
                           size_t *outlen, char *why, size_t whylen);

#endif
