/* csv.c — a CSV record (csv.h). */
#include "core/csv.h"

#include <string.h>

void ksm_csv_record(struct ksm_buf *b, const char *const *cells, int n)
{
    for (int i = 0; i < n; i++) {
        const char *s = cells[i] ? cells[i] : "";
        if (i)
            ksm_buf_putc(b, ',');
        if (!s[strcspn(s, ",\"\r\n")]) {
            ksm_buf_puts(b, s);
            continue;
        }
        ksm_buf_putc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                ksm_buf_putc(b, '"');
            ksm_buf_putc(b, *s);
        }
        ksm_buf_putc(b, '"');
    }
    ksm_buf_puts(b, "\r\n");
}
