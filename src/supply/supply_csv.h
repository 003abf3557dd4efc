/* supply_csv.h — CSV (RFC 4180, as Excel writes it) to a sheet, and a sheet-shaped table back to
 * CSV. The reader takes decoded UTF-8 (supply_decode.h); row numbers are record numbers, which are
 * the spreadsheet's rows even when a quoted cell spans lines. */
#ifndef KSM_SUPPLY_CSV_H
#define KSM_SUPPLY_CSV_H
#include <stddef.h>

#include "core/buf.h"
#include "supply/sheet.h"

/* 0, or -1 with why naming the row and column. Limits: KSM_SHEET_MAX_* (sheet.h). */
int ksm_supply_csv_read(const char *text, size_t n, struct ksm_sheet *out, char *why, size_t whylen);

#endif
