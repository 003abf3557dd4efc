/* csv.h — writing CSV (RFC 4180, as Excel reads it: UTF-8, CRLF, a field quoted only when it holds
 * a comma, a quote or a line break). Reading is the supply chain's (supply/supply_csv.h), which
 * takes what Excel writes. */
#ifndef KSM_CSV_H
#define KSM_CSV_H
#include "core/buf.h"

/* One record of n cells (NULL is an empty cell) and its CRLF. */
void ksm_csv_record(struct ksm_buf *b, const char *const *cells, int n);

#endif
