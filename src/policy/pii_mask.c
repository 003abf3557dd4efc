/* pii_mask.c — the masker: per request, the mapping between values and placeholders, and
 * ksm_pii_mask, which applies a policy to one text. Values are kept byte for byte (so a restore
 * gives back exactly what the user wrote), looked up through two small open-addressing tables
 * (by value, by placeholder), and wiped when the masker is freed. */
#include "core/util.h"
#include "policy/pii_int.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    enum ksm_pii_kind kind;
    uint32_t num;
    char *value;
    size_t vlen;
};

struct ksm_pii_masker {
    struct entry *e;
    size_t n, cap;
    uint32_t *by_value, *by_num;   /* slots hold entry index + 1; 0 is empty */
    size_t slots;                  /* a power of two, at least twice n */
    uint32_t next[KSM_PII__COUNT]; /* the next number to issue per kind */
    size_t longest;                /* longest placeholder issued */
};

#define SCAN_STACK 64   /* matches per text before ksm_pii_mask allocates */

static uint64_t hash_value(enum ksm_pii_kind kind, const char *v, size_t n)
{
    return ksm_hash64((uint64_t)kind, v, n);
}

static uint64_t hash_num(enum ksm_pii_kind kind, uint64_t num)
{
    return (num * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)kind << 56) ^ (num >> 29);
}

struct ksm_pii_masker *ksm_pii_masker_new(void)
{
    struct ksm_pii_masker *m = ksm_xcalloc(1, sizeof *m);
    for (int k = 0; k < KSM_PII__COUNT; k++)
        m->next[k] = 1;
    return m;
}

void ksm_pii_masker_free(struct ksm_pii_masker *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        explicit_bzero(m->e[i].value, m->e[i].vlen);
        free(m->e[i].value);
    }
    free(m->e);
    free(m->by_value);
    free(m->by_num);
    free(m);
}

size_t ksm_pii_masker_size(const struct ksm_pii_masker *m) { return m->n; }

size_t ksm_pii_masker_longest(const struct ksm_pii_masker *m) { return m->longest; }

static void table_put(uint32_t *t, size_t slots, uint64_t h, uint32_t idx1)
{
    size_t i = h & (slots - 1);
    while (t[i])
        i = (i + 1) & (slots - 1);
    t[i] = idx1;
}

static void grow(struct ksm_pii_masker *m)
{
    if (m->n + 1 > m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->e = ksm_xrealloc(m->e, m->cap * sizeof *m->e);
    }
    if ((m->n + 1) * 2 <= m->slots)
        return;
    free(m->by_value);
    free(m->by_num);
    m->slots = m->slots ? m->slots * 2 : 32;
    m->by_value = ksm_xcalloc(m->slots, sizeof *m->by_value);
    m->by_num = ksm_xcalloc(m->slots, sizeof *m->by_num);
    for (size_t i = 0; i < m->n; i++) {
        const struct entry *e = &m->e[i];
        table_put(m->by_value, m->slots, hash_value(e->kind, e->value, e->vlen), (uint32_t)i + 1);
        table_put(m->by_num, m->slots, hash_num(e->kind, e->num), (uint32_t)i + 1);
    }
}

static const struct entry *find_value(const struct ksm_pii_masker *m, enum ksm_pii_kind kind,
                                      const char *v, size_t n)
{
    if (!m->slots)
        return NULL;
    for (size_t i = hash_value(kind, v, n) & (m->slots - 1); m->by_value[i];
         i = (i + 1) & (m->slots - 1)) {
        const struct entry *e = &m->e[m->by_value[i] - 1];
        if (e->kind == kind && e->vlen == n && !memcmp(e->value, v, n))
            return e;
    }
    return NULL;
}

const char *ksm_pii_masker_value(const struct ksm_pii_masker *m, enum ksm_pii_kind kind,
                                 uint64_t num, size_t *vlen)
{
    if (!m->slots)
        return NULL;
    for (size_t i = hash_num(kind, num) & (m->slots - 1); m->by_num[i];
         i = (i + 1) & (m->slots - 1)) {
        const struct entry *e = &m->e[m->by_num[i] - 1];
        if (e->kind == kind && e->num == num) {
            *vlen = e->vlen;
            return e->value;
        }
    }
    return NULL;
}

/* The placeholder for a value, issuing a new one the first time the value is seen. */
static size_t placeholder_for(struct ksm_pii_masker *m, enum ksm_pii_kind kind, const char *v,
                              size_t n, char ph[KSM_PII_PLACEHOLDER_MAX])
{
    const struct entry *found = find_value(m, kind, v, n);
    if (found)
        return ksm_pii_placeholder_format(kind, found->num, ph);
    grow(m);
    struct entry *e = &m->e[m->n];
    *e = (struct entry){kind, m->next[kind]++, ksm_xmalloc(n + 1), n};
    memcpy(e->value, v, n);
    e->value[n] = '\0';
    m->n++;
    table_put(m->by_value, m->slots, hash_value(kind, v, n), (uint32_t)m->n);
    table_put(m->by_num, m->slots, hash_num(kind, e->num), (uint32_t)m->n);
    size_t len = ksm_pii_placeholder_format(kind, e->num, ph);
    if (len > m->longest)
        m->longest = len;
    return len;
}

/* Placeholder-shaped text already in the input ("⟦PHONE_3⟧", pasted from an earlier answer)
 * must not be restored as one of ours: numbering continues above the highest one seen. */
static void reserve_literals(struct ksm_pii_masker *m, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while ((p = memchr(p, 0xE2, (size_t)(end - p))) != NULL) {
        enum ksm_pii_kind kind;
        uint64_t num;
        size_t plen;
        if (ksm_pii_placeholder_parse(p, (size_t)(end - p), &kind, &num, &plen) == PII_PH_FULL &&
            num >= m->next[kind] && num < UINT32_MAX / 2)
            m->next[kind] = (uint32_t)num + 1;
        p++;
    }
}

static enum ksm_pii_action action_of(const struct ksm_pii_policy *p, const struct ksm_pii_match *x)
{
    return x->kind == KSM_PII_TERM ? p->terms[x->term].action : p->action[x->kind];
}

static bool blocks(const struct ksm_pii_policy *p, const struct ksm_pii_match *x)
{
    return action_of(p, x) == KSM_PII_BLOCK && x->confidence >= p->block_confidence;
}

enum ksm_pii_verdict ksm_pii_mask(struct ksm_pii_masker *m, const struct ksm_pii_policy *p,
                                  const char *text, size_t len, struct ksm_buf *out,
                                  unsigned counts[KSM_PII__COUNT], enum ksm_pii_kind *blocked_kind)
{
    struct ksm_pii_match stack[SCAN_STACK], *x = stack;
    size_t n = ksm_pii_scan(text, len, stack, SCAN_STACK);
    if (n > SCAN_STACK) {
        x = ksm_xmalloc(n * sizeof *x);
        ksm_pii_scan(text, len, x, n);
    }
    if (p->nterms) {   /* the project's own terms join the detectors' matches */
        struct ksm_pii_match *all;
        n = ksm_pii__with_terms(p, text, len, x, n, &all);
        if (x != stack)
            free(x);
        x = all;
    }
    enum ksm_pii_verdict verdict = KSM_PII_PASS;
    for (size_t i = 0; i < n; i++) {
        if (counts)
            counts[x[i].kind]++;
        if (verdict == KSM_PII_PASS && blocks(p, &x[i])) {
            verdict = KSM_PII_BLOCKED;
            if (blocked_kind)
                *blocked_kind = x[i].kind;
        }
    }
    if (verdict == KSM_PII_PASS) {
        reserve_literals(m, text, len);
        size_t at = 0;
        ksm_buf_reserve(out, len);
        for (size_t i = 0; i < n; i++) {
            if (action_of(p, &x[i]) == KSM_PII_ALLOW)
                continue;
            char ph[KSM_PII_PLACEHOLDER_MAX];
            size_t pl = placeholder_for(m, x[i].kind, text + x[i].start, x[i].end - x[i].start, ph);
            ksm_buf_append(out, text + at, x[i].start - at);
            ksm_buf_append(out, ph, pl);
            at = x[i].end;
        }
        ksm_buf_append(out, text + at, len - at);
    }
    if (x != stack)
        free(x);
    return verdict;
}
