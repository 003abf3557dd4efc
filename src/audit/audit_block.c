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

static uint64_t key_hash(int kind, const char *v) { return ksm_hash64((uint64_t)kind, v, strlen(v)); }

/* Entry i: its kind byte, then its value. */
static const char *entry(const struct ksm_audit_keyset *s, size_t i)
{
    return s->strs.data + s->ents[i].off;
}

static void keyset_grow(struct ksm_audit_keyset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint32_t *slots = ksm_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < s->n; i++) {
        const char *e = entry(s, i);
        size_t j = key_hash(e[0], e + 1) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    s->ents = ksm_xrealloc(s->ents, cap / 2 * sizeof *s->ents);
}

/* The slot holding (kind, v), or the empty one where it would go (cap > 0). */
static size_t keyset_slot(const struct ksm_audit_keyset *s, int kind, const char *v)
{
    size_t j = key_hash(kind, v) & (s->cap - 1);
    for (; s->slots[j]; j = (j + 1) & (s->cap - 1)) {
        const char *e = entry(s, s->slots[j] - 1);
        if (e[0] == kind && !strcmp(e + 1, v))
            break;
    }
    return j;
}

/* The entry of (kind, v), or NULL. */
static struct ksm_audit_key *keyset_find(struct ksm_audit_keyset *s, int kind, const char *v)
{
    size_t j = s->cap ? keyset_slot(s, kind, v) : 0;
    return s->cap && s->slots[j] ? &s->ents[s->slots[j] - 1] : NULL;
}

/* The entry of (kind, v), added when new (*added says so). */
static struct ksm_audit_key *keyset_add(struct ksm_audit_keyset *s, int kind, const char *v,
                                        bool *added)
{
    if ((s->n + 1) * 2 > s->cap)
        keyset_grow(s);
    size_t j = keyset_slot(s, kind, v);
    *added = !s->slots[j];
    if (!*added)
        return &s->ents[s->slots[j] - 1];
    s->ents[s->n] = (struct ksm_audit_key){(uint32_t)s->strs.len, 0, false};
    char k = (char)kind;
    ksm_buf_append(&s->strs, &k, 1);
    ksm_buf_append(&s->strs, v, strlen(v) + 1);
    s->slots[j] = (uint32_t)++s->n;
    return &s->ents[s->n - 1];
}

/* The counts that moved since the block's row was last written. */
static int tally_put(struct ksm_audit_ix *ix)
{
    struct ksm_audit_keyset *s = &ix->cur.keys;
    sqlite3_stmt *st = ix->put_tally;
    for (size_t i = 0; i < s->n; i++) {
        const char *e = entry(s, i);
        if (e[0] != KSM_AUDIT_KEY_TALLY || !s->ents[i].dirty)
            continue;
        const char *sep = strchr(e + 1, '\x1f');   /* the first: a caller's tenant id holds none */
        sqlite3_bind_int64(st, 1, (sqlite3_int64)ix->cur.first_seq);
        sqlite3_bind_text(st, 2, e + 1, (int)(sep - (e + 1)), SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sep + 1, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, s->ents[i].n);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return -1;
        s->ents[i].dirty = false;
    }
    return 0;
}

void ksm_audit_block_reset(struct ksm_audit_block *b)
{
    struct ksm_audit_keyset keys = b->keys;
    if (keys.n)
        memset(keys.slots, 0, keys.cap * sizeof *keys.slots);
    ksm_buf_reset(&keys.strs);
    keys.n = 0;
    memset(b, 0, sizeof *b);
    b->keys = keys;
}

void ksm_audit_block_free(struct ksm_audit_block *b)
{
    ksm_buf_free(&b->keys.strs);
    free(b->keys.slots);
    free(b->keys.ents);
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
    bool added;
    if (!v || keyset_find(&ix->cur.keys, kind, v))
        return 0;   /* absent (an equality filter never matches it), or already in the block: a
                       value the set holds is valid UTF-8, so v is too */
    if (!ksm_utf8_valid(v, strlen(v))) {
        ksm_buf_reset(&ix->fixed);
        ksm_audit_utf8_fix(&ix->fixed, v);
        v = ix->fixed.data;
    }
    keyset_add(&ix->cur.keys, kind, v, &added);
    if (!added)
        return 0;
    sqlite3_stmt *st = ix->put_key;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)ix->cur.first_seq);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* One more record of (tenant, facet), counted as the line holds the values (invalid UTF-8
 * replaced), as a count reading the line would count it. */
static void add_facet(struct ksm_audit_ix *ix, const char *tenant, const char *facet)
{
    struct ksm_buf *k = &ix->tally_key;
    ksm_buf_reset(k);
    ksm_buf_puts(k, tenant ? tenant : "");
    ksm_buf_putc(k, '\x1f');
    ksm_buf_puts(k, facet);
    struct ksm_audit_key *e = keyset_find(&ix->cur.keys, KSM_AUDIT_KEY_TALLY, k->data);
    if (!e) {   /* new to the block (one the block holds is valid UTF-8, as this then is) */
        const char *v = k->data;
        bool added;
        if (!ksm_utf8_valid(v, k->len)) {
            ksm_buf_reset(&ix->fixed);
            ksm_audit_utf8_fix(&ix->fixed, v);
            v = ix->fixed.data;
        }
        e = keyset_add(&ix->cur.keys, KSM_AUDIT_KEY_TALLY, v, &added);
    }
    e->n++;
    e->dirty = true;
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
