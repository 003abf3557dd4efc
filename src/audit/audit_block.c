/* audit_block.c — grouping records into index blocks. A block is up to KSM_AUDIT_BLOCK_RECORDS
 * consecutive records of one segment; its index row holds the seq and time ranges and the byte
 * range, and it gets one key row per distinct tenant, principal and action. That is a few B-tree
 * entries per few hundred records instead of five per record, which is what lets the index keep up
 * with the writer on a shared core. The open block grows across the indexer's transactions, so
 * blocks stay large at low load too. */
#include "audit/audit_int.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over the kind byte and the value. */
static uint64_t key_hash(int kind, const char *v)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
    h *= 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
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

/* Adds (kind, v) to the set; false when it was already there. */
static bool keyset_add(struct ksm_audit_keyset *s, int kind, const char *v)
{
    if ((s->n + 1) * 2 > s->cap)
        keyset_grow(s);
    size_t j = key_hash(kind, v) & (s->cap - 1);
    for (; s->slots[j]; j = (j + 1) & (s->cap - 1)) {
        const char *e = s->strs.data + s->slots[j] - 1;
        if (e[0] == kind && !strcmp(e + 1, v))
            return false;
    }
    s->slots[j] = (uint32_t)s->strs.len + 1;
    char k = (char)kind;
    ksm_buf_append(&s->strs, &k, 1);
    ksm_buf_append(&s->strs, v, strlen(v) + 1);
    s->n++;
    return true;
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
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A key row the first time a value shows up in the block. Values are indexed as the line holds
 * them (invalid UTF-8 replaced), so the index agrees with the exact filter on the parsed line. */
static int put_key(struct ksm_audit_ix *ix, int kind, const char *v)
{
    if (!v)
        return 0;   /* absent: an equality filter never matches it */
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
    return 0;
}
