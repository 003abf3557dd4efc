/* pii_terms.c — a project's own terms in a text (a code name, a marking such as 取扱厳重注意):
 * every occurrence, ASCII letters in any case, merged with the detectors' matches so that the
 * masker sees one list in order with no overlaps — of two that overlap, the one that starts first
 * wins, and at the same start the longer (a term that holds a phone number masks as the term). */
#define _GNU_SOURCE   /* memmem */
#include "core/util.h"
#include "policy/pii_int.h"

#include <stdlib.h>
#include <string.h>

static void add(struct ksm_pii_match **v, size_t *n, size_t *cap, struct ksm_pii_match m)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = ksm_xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = m;
}

static int by_start(const void *a, const void *b)
{
    const struct ksm_pii_match *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    size_t lx = x->end - x->start, ly = y->end - y->start;
    return lx == ly ? 0 : lx > ly ? -1 : 1;
}

/* Every occurrence of each term in text (lowered: its ASCII letters in lower case, as the terms
 * are), appended to v. */
static void find_terms(const struct ksm_pii_policy *p, const char *lowered, size_t len,
                       struct ksm_pii_match **v, size_t *n, size_t *cap)
{
    for (size_t t = 0; t < p->nterms; t++) {
        const struct ksm_pii_term *term = &p->terms[t];
        const char *at = lowered, *end = lowered + len, *q;
        while (term->len && (size_t)(end - at) >= term->len &&
               (q = memmem(at, (size_t)(end - at), term->text, term->len)) != NULL) {
            size_t s = (size_t)(q - lowered);
            add(v, n, cap, (struct ksm_pii_match){KSM_PII_TERM, s, s + term->len, 100, t});
            at = q + term->len;
        }
    }
}

size_t ksm_pii__with_terms(const struct ksm_pii_policy *p, const char *text, size_t len,
                           const struct ksm_pii_match *found, size_t nfound,
                           struct ksm_pii_match **out)
{
    size_t n = 0, cap = 0;
    struct ksm_pii_match *all = NULL;
    for (size_t i = 0; i < nfound; i++)
        add(&all, &n, &cap, found[i]);
    char *lowered = ksm_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        lowered[i] = text[i] >= 'A' && text[i] <= 'Z' ? (char)(text[i] - 'A' + 'a') : text[i];
    find_terms(p, lowered, len, &all, &n, &cap);
    free(lowered);
    if (n)
        qsort(all, n, sizeof *all, by_start);
    size_t kept = 0, end = 0;
    for (size_t i = 0; i < n; i++)
        if (!kept || all[i].start >= end) {
            all[kept++] = all[i];
            end = all[i].end;
        }
    *out = all;
    return kept;
}
