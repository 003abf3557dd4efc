/* fuzz_export_tar.c — libFuzzer target for `kasumi export verify`: the tar reader (ustar headers,
 * pax records, padding, the end blocks) and the manifest check behind it. Any bytes must give a
 * count of problems, never a crash, a leak or a read past the input; and the count must not depend
 * on how the bytes are split into reads (the reader is a streaming parser). */
#include <stdint.h>
#include <stdlib.h>

#include "lifecycle/export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const uint8_t *data, size_t size, size_t step)
{
    struct ksm_export_verifier *v = ksm_export_verifier_new(NULL, NULL);
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (ksm_export_verifier_feed(v, (const char *)data + off, n))
            break;
    }
    return ksm_export_verifier_finish(v, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = 1 + data[0] % 700; /* reads of odd sizes cross every block boundary */
    int whole = run(data + 1, size - 1, size), split = run(data + 1, size - 1, step);
    if (whole != split)
        abort();
    return 0;
}
