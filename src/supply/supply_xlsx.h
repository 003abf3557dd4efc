/* supply_xlsx.h — XLSX (Office Open XML spreadsheet) to a sheet: the workbook's first worksheet,
 * its shared strings (without the phonetic ルビ runs Japanese Excel stores), inline strings,
 * numbers, formulas (flagged: an equipment list must hold values) and merged ranges. No C library
 * in Debian reads XLSX, so this reads the ZIP with libzip and the XML with expat; it trusts
 * nothing in the file (sizes, indexes, references) and is fuzzed (tests/fuzz/fuzz_supply_xlsx.c). */
#ifndef KSM_SUPPLY_XLSX_H
#define KSM_SUPPLY_XLSX_H
#include <stddef.h>

#include "supply/sheet.h"

/* Uncompressed limits: a worksheet part and the shared strings part. */
#define KSM_XLSX_MAX_PART (32u << 20)

/* 0, or -1 with why (naming the part, and the row and column where it can). */
int ksm_supply_xlsx_read(const void *data, size_t n, struct ksm_sheet *out, char *why,
                         size_t whylen);

#endif
