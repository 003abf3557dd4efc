/* fuzz_supply_csv.c — libFuzzer target for the equipment-list CSV path: encoding detection
 * (UTF-8 / CP932), the CSV reader and the form's checks, as an import runs them. Any bytes must
 * give a list or row/column errors, never a crash, a leak or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supply/supply_csv.h"
#include "supply/supply_decode.h"
#include "supply/supply_form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1), *text = NULL, why[512];
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    size_t len;
    const char *enc;
    if (ksm_supply_decode(copy, size, NULL, &text, &len, &enc, why, sizeof why) == 0) {
        struct ksm_sheet s;
        if (ksm_supply_csv_read(text, len, &s, why, sizeof why) == 0) {
            struct ksm_form f;
            ksm_form_read(&s, &f);
            if (f.error_count == 0 && json_array_size(f.items) == 0)
                abort();   /* a list is either good with items or has errors */
            ksm_form_free(&f);
            ksm_sheet_free(&s);
        } else if (strncmp(why, "row ", 4)) {
            abort();   /* every CSV error names its row */
        }
        free(text);
    }
    free(copy);
    return 0;
}
