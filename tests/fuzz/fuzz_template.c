/* fuzz_template.c — libFuzzer target for the template parser (src/template/tpl_parse.c): any bytes
 * give a parsed template or an error with a reason, never a crash, a leak or a read past the input
 * (which is not NUL-terminated here). A document that parses is also checked against guardrails it
 * declares, and must re-parse from its canonical form to the same digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    struct ksm_tpl *t = NULL;
    char why[KSM_TPL_WHY];
    if (ksm_tpl_parse(text, size, &t, why) != KSM_E_OK) {
        if (!why[0])
            abort();   /* every refusal says why */
        free(text);
        return 0;
    }
    for (int i = 0; i < t->nprojects; i++) {
        const struct ksm_tpl_project *p = &t->projects[i];
        ksm_tpl_guard_tags(&t->guard, p->tags, why);
        ksm_tpl_guard_budget(&t->guard, p->budget_yen, why);
        for (int k = 0; k < p->nbuckets; k++)
            ksm_tpl_guard_region(&t->guard, p->buckets[k].region, why);
    }
    char *canon = json_dumps(t->doc, JSON_COMPACT | JSON_SORT_KEYS);
    struct ksm_tpl *again = NULL;
    if (canon && ksm_tpl_parse(canon, strlen(canon), &again, why) != KSM_E_OK)
        abort();   /* its own canonical form is the same document */
    if (again && strcmp(again->digest, t->digest))
        abort();
    ksm_tpl_free(again);
    free(canon);
    ksm_tpl_free(t);
    free(text);
    return 0;
}
