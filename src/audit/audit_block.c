/* audit_block.c — grouping records into index blocks. A block is up to KSM_AUDIT_BLOCK_RECORDS
 * consecutive records of one segment; its index row holds the seq and time ranges and the byte
 * range, and it gets one key row per distinct tenant, principal and action. That is a few B-tree
 * entries per few hundred records instead of five per record, which is what lets the index keep up
 * with the writer on a shared core. The open block grows across the indexer's transactions, so
 * blocks stay large at low load too. A block also counts its records by tenant and facet (a row per
 * distinct pair, rewritten when its count moved): what a count over a long period reads instead of
 * the records. */
#include "audit/audit_int.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* The kind and the value, eight bytes at a time (the indexer hashes every key of every record:
 * byte-at-a-time FNV was a quarter of its instructions), finished so the low bits a table uses
 * depend on every byte. */
static uint64_t key_hash(int kind, const char *v)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    size_t n = strlen(v);
    uint64_t h = (uint64_t)kind ^ ((uint64_t)n << 8), w;
    for (; n >= 8; v += 8, n -= 8) {
        memcpy(&w, v, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, v, n);
    h = (h ^ w) * k;
    h ^= h >> 32;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

static void keyset_grow(struct ksm_audit_keyset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint32_t *slots = ksm_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i])
            continue;
        const char *e = s->strs.data + s->slots[i] - 1;
        size_t j = key_hash(e[0], e + 1) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
}

/* The slot holding (kind, v), or the empty one where it would go (cap > 0). */
static size_t keyset_slot(const struct ksm_audit_keyset *s, int kind, const char *v)
{
    size_t j = key_hash(kind, v) & (s->cap - 1);
    for (; s->slots[j]; j = (j + 1) & (s->cap - 1)) {
        const char *e = s->strs.data + s->slots[j] - 1;
        if (e[0] == kind && !strcmp(e + 1, v))
            break;
    }
    return j;
}

static bool keyset_has(const struct ksm_audit_keyset *s, int kind, const char *v)
{
    return s->cap && s->slots[keyset_slot(s, kind, v)];
}

/* Adds (kind, v) to the set; false when it was already there. */
static bool keyset_add(struct ksm_audit_keyset *s, int kind, const char *v)
{
    if ((s->n + 1) * 2 > s->cap)
        keyset_grow(s);
    size_t j = keyset_slot(s, kind, v);
    if (s->slots[j])
        return false;
    s->slots[j] = (uint32_t)s->strs.len + 1;
    char k = (char)kind;
    ksm_buf_append(&s->strs, &k, 1);
    ksm_buf_append(&s->strs, v, strlen(v) + 1);
    s->n++;
    return true;
}

/* ---- the block's counts ---- */

/* Over "tenant" and "facet". */
static uint64_t tally_hash(const char *tenant, const char *facet)
{
    return key_hash(0, facet) ^ (key_hash(1, tenant) * 31);
}

static const char *tally_tenant(const struct ksm_audit_tally *t, uint32_t i)
{
    return t->strs.data + t->ents[i].off;
}

static const char *tally_facet(const struct ksm_audit_tally *t, uint32_t i)
{
    const char *tenant = tally_tenant(t, i);
    return tenant + strlen(tenant) + 1;
}

static void tally_grow(struct ksm_audit_tally *t)
{
    size_t cap = t->cap ? t->cap * 2 : 16;
    uint32_t *slots = ksm_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < t->n; i++) {
        size_t j = tally_hash(tally_tenant(t, (uint32_t)i), tally_facet(t, (uint32_t)i)) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->ents = ksm_xrealloc(t->ents, cap / 2 * sizeof *t->ents);
}

/* The slot holding (tenant, facet), or the empty one where it would go (cap > 0). */
static size_t tally_slot(const struct ksm_audit_tally *t, const char *tenant, const char *facet)
{
    size_t j = tally_hash(tenant, facet) & (t->cap - 1);
    for (; t->slots[j]; j = (j + 1) & (t->cap - 1)) {
        uint32_t i = t->slots[j] - 1;
        if (!strcmp(tally_tenant(t, i), tenant) && !strcmp(tally_facet(t, i), facet))
            break;
    }
    return j;
}

static void tally_count(struct ksm_audit_tally *t, uint32_t i)
{
    t->ents[i].n++;
    t->ents[i].dirty = true;
}

/* One more record of (tenant, facet), found as given: false when the pair is not there yet. */
static bool tally_bump(struct ksm_audit_tally *t, const char *tenant, const char *facet)
{
    size_t j = t->cap ? tally_slot(t, tenant, facet) : 0;
    if (!t->cap || !t->slots[j])
        return false;
    tally_count(t, t->slots[j] - 1);
    return true;
}

static void tally_add(struct ksm_audit_tally *t, const char *tenant, const char *facet)
{
    if ((t->n + 1) * 2 > t->cap)
        tally_grow(t);
    size_t j = tally_slot(t, tenant, facet);
    if (t->slots[j]) {
        tally_count(t, t->slots[j] - 1);
        return;
    }
    t->ents[t->n] = (struct ksm_audit_tally_ent){(uint32_t)t->strs.len, 1, true};
    ksm_buf_append(&t->strs, tenant, strlen(tenant) + 1);
    ksm_buf_append(&t->strs, facet, strlen(facet) + 1);
    t->slots[j] = (uint32_t)++t->n;
}

/* The counts that moved since the block's row was last written. */
static int tally_put(struct ksm_audit_ix *ix)
{
    struct ksm_audit_tally *t = &ix->cur.tally;
    sqlite3_stmt *st = ix->put_tally;
    for (uint32_t i = 0; i < t->n; i++) {
        if (!t->ents[i].dirty)
            continue;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ix->cur.first_seq);
        sqlite3_bind_text(st, 2, tally_tenant(t, i), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, tally_facet(t, i), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, t->ents[i].n);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
        t->ents[i].dirty = false;
    }
    return 0;
}

static void tally_reset(struct ksm_audit_tally *t)
{
    if (t->cap)
        memset(t->slots, 0, t->cap * sizeof *t->slots);
    ksm_buf_reset(&t->strs);
    t->n = 0;
}

void ksm_audit_block_reset(struct ksm_audit_block *b)
{
    struct ksm_audit_keyset keys = b->keys;
    struct ksm_audit_tally tally = b->tally;
    if (keys.n)
        memset(keys.slots, 0, keys.cap * sizeof *keys.slots);
    ksm_buf_reset(&keys.strs);
    keys.n = 0;
    tally_reset(&tally);
    memset(b, 0, sizeof *b);
    b->keys = keys;
    b->tally = tally;
}

void ksm_audit_block_free(struct ksm_audit_block *b)
{
    ksm_buf_free(&b->keys.strs);
    free(b->keys.slots);
    ksm_buf_free(&b->tally.strs);
    free(b->tally.slots);
    free(b->tally.ents);
    memset(b, 0, sizeof *b);
}

int ksm_audit_block_put(struct ksm_audit_ix *ix)
{
    const struct ksm_audit_block *b = &ix->cur;
    if (!b->first_seq)
        return 0;
    sqlite3_stmt *st = ix->put_blk;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)b->first_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)b->last_seq);
    sqlite3_bind_int64(st, 3, b->t_min);
    sqlite3_bind_int64(st, 4, b->t_max);
    sqlite3_bind_int64(st, 5, b->seg);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)b->off);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)(b->end - b->off));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? tally_put(ix) : -1;
}

/* A key row the first time a value shows up in the block. Values are indexed as the line holds
 * them (invalid UTF-8 replaced), so the index agrees with the exact filter on the parsed line. */
static int put_key(struct ksm_audit_ix *ix, int kind, const char *v)
{
    if (!v || keyset_has(&ix->cur.keys, kind, v))
        return 0;   /* absent (an equality filter never matches it), or already in the block: a
                       value the set holds is valid UTF-8, so v is too */
    if (!ksm_utf8_valid(v, strlen(v))) {
        ksm_buf_reset(&ix->fixed);
        ksm_audit_utf8_fix(&ix->fixed, v);
        v = ix->fixed.data;
    }
    if (!keyset_add(&ix->cur.keys, kind, v))
        return 0;
    sqlite3_stmt *st = ix->put_key;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)ix->cur.first_seq);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Counted as the line holds the values (invalid UTF-8 replaced), as a count reading the line
 * would count it. */
static void add_facet(struct ksm_audit_ix *ix, const char *tenant, const char *facet)
{
    tenant = tenant ? tenant : "";
    if (tally_bump(&ix->cur.tally, tenant, facet))
        return;   /* the pair the block holds is valid UTF-8, so these are */
    struct ksm_buf t = KSM_BUF_INIT, f = KSM_BUF_INIT;
    bool fix_t = !ksm_utf8_valid(tenant, strlen(tenant));
    bool fix_f = !ksm_utf8_valid(facet, strlen(facet));
    if (fix_t)
        ksm_audit_utf8_fix(&t, tenant);
    if (fix_f)
        ksm_audit_utf8_fix(&f, facet);
    tally_add(&ix->cur.tally, fix_t ? t.data : tenant, fix_f ? f.data : facet);
    ksm_buf_free(&t);
    ksm_buf_free(&f);
}

int ksm_audit_block_add(struct ksm_audit_ix *ix, const struct ksm_audit_ixrec *r)
{
    struct ksm_audit_block *b = &ix->cur;
    if (b->first_seq && (b->seg != r->seg || b->n >= KSM_AUDIT_BLOCK_RECORDS || r->off < b->end ||
                         r->seq <= b->last_seq)) {
        if (ksm_audit_block_put(ix))
            return -1;
        ksm_audit_block_reset(b);
    }
    if (!b->first_seq) {
        b->first_seq = r->seq;
        b->seg = r->seg;
        b->off = r->off;
        b->t_min = b->t_max = r->time_ms;
    }
    b->last_seq = r->seq;
    b->end = r->off + r->len + 1;
    b->n++;
    if (r->time_ms < b->t_min)
        b->t_min = r->time_ms;
    if (r->time_ms > b->t_max)
        b->t_max = r->time_ms;
    if (put_key(ix, KSM_AUDIT_KEY_TENANT, r->tenant) ||
        put_key(ix, KSM_AUDIT_KEY_PRINCIPAL, r->principal) ||
        put_key(ix, KSM_AUDIT_KEY_ACTION, r->action))
        return -1;
    if (r->facet)
        add_facet(ix, r->tenant, r->facet);
    return 0;
}
