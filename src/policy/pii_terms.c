/* pii_terms.c — a project's own terms in a text (a code name, a marking such as 取扱厳重注意):
 * every occurrence, ASCII letters in any case and in either width, merged with the detectors' matches so that the
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

/* One character of in folded: full-width ASCII (U+FF01..U+FF5E) as ASCII and the ideographic
 * space as a space, as an IME may type either; then ASCII letters in lower case. Writes the folded
 * byte(s) to out and returns how many input bytes they stand for. */
static size_t fold_one(const unsigned char *in, size_t n, char *out, size_t *wrote)
{
    unsigned c = in[0];
    *wrote = 1;
    if (n >= 3 && c == 0xEF && ((in[1] == 0xBC && in[2] >= 0x81 && in[2] <= 0xBF) ||
                                (in[1] == 0xBD && in[2] >= 0x80 && in[2] <= 0x9E))) {
        c = 0x21 + (in[1] == 0xBC ? in[2] - 0x81 : in[2] - 0x80 + 0x3F);   /* U+FF01 → '!' */
        *out = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return 3;
    }
    if (n >= 3 && c == 0xE3 && in[1] == 0x80 && in[2] == 0x80) {
        *out = ' ';
        return 3;
    }
    *out = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return 1;
}

size_t ksm_pii_fold(const char *in, size_t n, char *out, size_t *map)
{
    size_t i = 0, o = 0, w;
    while (i < n) {
        size_t used = fold_one((const unsigned char *)in + i, n - i, out + o, &w);
        if (map)
            map[o] = i;
        o += w, i += used;
    }
    if (map)
        map[o] = n;
    return o;
}

/* Every occurrence of each term in folded (the text as ksm_pii_fold made it; map: where each of
 * its bytes began in the text), appended to v in the text's offsets. */
static void find_terms(const struct ksm_pii_policy *p, const char *folded, size_t len,
                       const size_t *map, struct ksm_pii_match **v, size_t *n, size_t *cap)
{
    for (size_t t = 0; t < p->nterms; t++) {
        const struct ksm_pii_term *term = &p->terms[t];
        const char *at = folded, *end = folded + len, *q;
        while (term->len && (size_t)(end - at) >= term->len &&
               (q = memmem(at, (size_t)(end - at), term->text, term->len)) != NULL) {
            size_t s = (size_t)(q - folded);
            add(v, n, cap, (struct ksm_pii_match){KSM_PII_TERM, map[s], map[s + term->len], 100, t});
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
    char *folded = ksm_xmalloc(len + 1);
    size_t *map = ksm_xmalloc((len + 1) * sizeof *map);
    size_t flen = ksm_pii_fold(text, len, folded, map);
    find_terms(p, folded, flen, map, &all, &n, &cap);
    free(folded);
    free(map);
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
