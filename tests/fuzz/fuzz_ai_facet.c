/* fuzz_ai_facet.c — libFuzzer target for an AI record's facet (ai/ai_facet.c), which reads details
 * read back from the audit log: any action, detail, project, principal and model (the input's
 * lines) give a facet or none, never a crash, and a facet splits into its kind's number of
 * fields, the model last. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_facet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    const char *part[5] = {NULL, NULL, NULL, NULL, NULL};
    char *p = s;
    for (int i = 0; i < 5 && p; i++) {
        part[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    struct ksm_audit_rec r = {.action = part[0], .detail = part[1], .project = part[2],
                              .principal = part[3], .target = part[4]};
    struct ksm_buf b = KSM_BUF_INIT;
    if (ksm_ai_audit_facet(&r, &b)) {
        ksm_buf_append(&b, "", 1);
        const char *f[KSM_AI_FACET_MAX_FIELDS];
        int want = b.data[0] == 'd' ? 7 : b.data[0] == 's' ? 4 : -1;
        if (want < 0 || ksm_ai_facet_split(b.data, f, want) != want)
            abort();
    }
    ksm_buf_free(&b);
    free(s);
    return 0;
}
