/* fuzz_supply_xlsx.c — libFuzzer target for the XLSX reader (libzip + expat) and the form's checks
 * behind it: any bytes (damaged ZIPs, bombs, hostile XML, wild indexes and references) must give a
 * sheet or an error, never a crash, a leak or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supply/supply_form.h"
#include "supply/supply_xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1), why[512];
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct ksm_sheet s;
    if (ksm_supply_xlsx_read(copy, size, &s, why, sizeof why) == 0) {
        struct ksm_form f;
        ksm_form_read(&s, &f);
        ksm_form_free(&f);
        ksm_sheet_free(&s);
    } else if (!why[0]) {
        abort();   /* every failure says why */
    }
    free(copy);
    return 0;
}
