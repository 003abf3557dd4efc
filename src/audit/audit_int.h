/* audit_int.h — what the audit files share and nobody else sees: the on-disk line format, the queue
 * of submitted records, the signing key and the SQLite index. The on-disk format is documented in
 * docs/audit.md; the writer (audit_writer.c) is its only producer. */
#ifndef KSM_AUDIT_INT_H
#define KSM_AUDIT_INT_H
#include "audit/audit.h"

#include <pthread.h>
#include <sqlite3.h>
#include <openssl/evp.h>

#define KSM_AUDIT_HASH_HEX 64
#define KSM_AUDIT_SIG_HEX 128
#define KSM_AUDIT_SEG_NAME 32    /* "seg-000001.log" and room to spare */
/* A signed line ends with this, the signature in hex, then "}: the signature covers every byte
 * before it, so nothing in a checkpoint or seal line can change without the key. */
#define KSM_AUDIT_SIG_TAG ",\"sig\":\""
#define KSM_AUDIT_SIG_SUFFIX_LEN (sizeof(KSM_AUDIT_SIG_TAG) - 1 + KSM_AUDIT_SIG_HEX + 2)

extern const char ksm_audit_zero_hash[KSM_AUDIT_HASH_HEX + 1];

/* ---- audit_format.c: building and parsing lines ---- */

enum ksm_audit_kind { KSM_AUDIT_RECORD, KSM_AUDIT_CHECKPOINT, KSM_AUDIT_SEAL };

/* One queued record: where its pre-formatted JSON body and raw index keys sit in its batch. */
struct ksm_audit_ent {
    uint64_t seq;
    uint64_t submit_ns;          /* monotonic, for the commit latency histogram */
    int64_t time_ms;
    struct ksm_mailbox *mb;
    ksm_audit_done_fn done;
    void *arg;
    uint32_t body_off, body_len; /* in batch->body: "time":...,"detail":...} */
    uint32_t keys_off;           /* in batch->keys: tenant\0principal\0action\0facet\0 */
    uint8_t nulls;               /* bit 0 tenant, 1 principal, 2 action, 3 facet: absent */
    uint64_t file_off;           /* filled by the writer */
    uint32_t line_len;           /* without the newline */
};

/* Records submitted together; the writer swaps the whole batch out under one lock. */
struct ksm_audit_batch {
    struct ksm_buf body, keys;
    struct ksm_audit_ent *ents;
    size_t n, cap;
    uint32_t seg;                /* the segment the writer put it in (one batch, one segment) */
    struct ksm_audit_batch *next;
};

/* Appends rec's JSON body (everything after "prev") to b. time_str is RFC 3339 with ms. */
void ksm_audit_format_body(struct ksm_buf *b, const struct ksm_audit_rec *rec, const char *time_str,
                           const char *env);
/* Appends s as a JSON string (or null), replacing invalid UTF-8 so the line stays valid JSON. */
void ksm_audit_json_str(struct ksm_buf *b, const char *s);
/* Appends s (not JSON-escaped) with each invalid UTF-8 byte replaced by U+FFFD, as the line holds
 * it, and a NUL. */
void ksm_audit_utf8_fix(struct ksm_buf *b, const char *s);
/* The record a parsed line holds (its strings borrowed from o), for the facet function. */
void ksm_audit_rec_from_line(json_t *o, struct ksm_audit_rec *rec);
void ksm_audit_seg_name(uint32_t n, char out[KSM_AUDIT_SEG_NAME]);
/* 1..999999 from "seg-000001.log"; 0 when name is not a segment file. */
uint32_t ksm_audit_seg_parse(const char *name);
/* The segment numbers in dir, ascending (malloc'd; *n may be 0). -1 if dir cannot be read. */
int ksm_audit_seg_list(const char *dir, uint32_t **out, size_t *n);

/* What a parsed line says. Fields not present are zero / empty. */
struct ksm_audit_line {
    enum ksm_audit_kind kind;
    uint64_t seq;
    char prev[KSM_AUDIT_HASH_HEX + 1];
    unsigned char sig[64];
    char segment[KSM_AUDIT_SEG_NAME];   /* seal only */
    json_t *obj;                        /* the whole parsed object (caller decrefs) */
};
/* Parses one line (without its newline). -1 with why set (static text) on anything malformed. */
int ksm_audit_line_parse(const char *p, size_t n, struct ksm_audit_line *out, const char **why);

/* ---- audit_sign.c: the Ed25519 key ---- */

/* Loads key_path or creates it (0600; its directory 0700). NULL with err filled. */
EVP_PKEY *ksm_audit_key_load(const char *key_path, char *err, size_t errlen);
/* Loads a public key (or a private key, whose public half is used) from a PEM file. */
EVP_PKEY *ksm_audit_pubkey_load(const char *path, char *err, size_t errlen);
int ksm_audit_sign(EVP_PKEY *key, const void *msg, size_t n, unsigned char sig[64]);
bool ksm_audit_sig_ok(EVP_PKEY *key, const void *msg, size_t n, const unsigned char sig[64]);
int ksm_audit_pubkey_pem(EVP_PKEY *key, struct ksm_buf *out);
/* Checks a signed line's signature (the line must end in the signature suffix). */
bool ksm_audit_line_sig_ok(EVP_PKEY *key, const char *p, size_t n, const struct ksm_audit_line *l);

/* ---- audit_block.c and audit_index.c: the coarse block index (DIR/index.db) ---- */

/* A block is a run of consecutive records in one segment: one index row says where its bytes are,
 * and one row per distinct tenant, principal and action in it lets a query pick candidate blocks.
 * A query reads a candidate block back and filters its lines exactly. */
#define KSM_AUDIT_BLOCK_RECORDS 512
/* KSM_AUDIT_KEY_TALLY is the block's count of a (tenant, facet) pair: kept with its keys, written
 * to blk_tally, not blk_key. */
enum ksm_audit_key_kind {
    KSM_AUDIT_KEY_TENANT = 1,
    KSM_AUDIT_KEY_PRINCIPAL,
    KSM_AUDIT_KEY_ACTION,
    KSM_AUDIT_KEY_TALLY
};

/* The open block's keys and counts: an open-addressing set of "kind byte + value". A tally entry's
 * value is "tenant\x1ffacet" (tenant ids hold no control character; "" for none) and it counts
 * the block's records of that pair, written again when its count moved. */
struct ksm_audit_keyset {
    struct ksm_buf strs;          /* the entries, NUL-terminated, back to back */
    struct ksm_audit_key {
        uint32_t off;             /* into strs */
        uint32_t n;               /* a tally's records */
        bool dirty;               /* a tally changed since the block's row was last written */
    } *ents;
    uint32_t *slots;              /* entry index + 1; 0 = empty */
    size_t n, cap;                /* cap (slots) is a power of two */
};

struct ksm_audit_block {
    uint64_t first_seq, last_seq; /* first_seq is the block's id; 0: no open block */
    int64_t t_min, t_max;
    uint32_t seg, n;
    uint64_t off, end;            /* byte range in the segment: first record .. last record's \n */
    struct ksm_audit_keyset keys;
};

/* The index writer: one connection, its prepared statements and the open block, which grows
 * across transactions until it is full or its segment ends (its row is rewritten each time). */
struct ksm_audit_ix {
    sqlite3 *db;
    sqlite3_stmt *put_blk, *put_key, *put_tally;
    ksm_audit_facet_fn facet;     /* for records read back from the segments */
    struct ksm_buf facet_buf;
    struct ksm_audit_block cur;
    struct ksm_buf fixed;         /* scratch: a key with invalid UTF-8, as the line holds it */
    struct ksm_buf tally_key;     /* scratch: a record's "tenant\x1ffacet" */
};

/* One record as the index sees it: where its line is and the values a query filters on. */
struct ksm_audit_ixrec {
    uint64_t seq;
    int64_t time_ms;
    uint32_t seg;
    uint64_t off;
    uint32_t len;                 /* without the newline */
    const char *tenant, *principal, *action;   /* NULL: absent */
    const char *facet;            /* NULL: not counted */
};

/* audit_block.c: adds a record to the open block (closing it first when the record does not
 * belong), inserting key rows for values new to the block. Call inside a transaction. */
int ksm_audit_block_add(struct ksm_audit_ix *ix, const struct ksm_audit_ixrec *r);
/* Writes the open block's row (it stays open for more records). */
int ksm_audit_block_put(struct ksm_audit_ix *ix);
void ksm_audit_block_reset(struct ksm_audit_block *b);
void ksm_audit_block_free(struct ksm_audit_block *b);

/* audit_index.c */
/* facet: what a record read back from the segments is counted under (NULL: nothing). */
int ksm_audit_index_open(struct ksm_audit_ix *ix, const char *path, ksm_audit_facet_fn facet,
                         char *err, size_t errlen);
void ksm_audit_index_close(struct ksm_audit_ix *ix);
/* A read connection for a query (no schema changes, no create). */
int ksm_audit_index_open_read(sqlite3 **out, const char *path, char *err, size_t errlen);
/* Indexes the records of a list of batches (linked by next) in one transaction; batches with
 * seg == 0 were not written and are skipped. */
int ksm_audit_index_batches(struct ksm_audit_ix *ix, const struct ksm_audit_batch *list);
/* Brings the index up to last_seq from the segments (after a crash or a lost index.db). */
int ksm_audit_index_catch_up(struct ksm_audit_ix *ix, const char *dir, uint64_t last_seq, char *err,
                             size_t errlen);

/* ---- audit_recover.c: the tail of the log at open ---- */

struct ksm_audit_tail {
    uint64_t last_seq;                    /* 0: empty log */
    char last_hash[KSM_AUDIT_HASH_HEX + 1];   /* of the last line: the next line's prev */
    uint32_t seg;                         /* last segment number (0: none) */
    uint64_t seg_size;
    bool sealed;                          /* the last segment ends in a seal: start a new one */
};
int ksm_audit_recover(const char *dir, EVP_PKEY *key, struct ksm_audit_tail *t, char *err,
                      size_t errlen);

/* ---- audit_writer.c: the handle ---- */

struct ksm_audit {
    char *dir;
    struct ksm_audit_opts opts;
    char env[64];
    EVP_PKEY *key;

    pthread_mutex_t mu;           /* queue, counters and free list below */
    pthread_cond_t work_cv;       /* writer: records pending or stop */
    pthread_cond_t index_cv;      /* indexer: batches to index or stop */
    pthread_cond_t done_cv;       /* flush: progress */
    struct ksm_audit_batch *pending;
    struct ksm_audit_batch *free_list;
    struct ksm_buf spare_body;    /* a written batch's line storage, for the next batch */
    struct ksm_audit_batch *index_head, *index_tail;
    uint64_t assigned_seq, durable_seq, indexed_seq;
    uint64_t held_bytes;          /* records' bytes from submit to recycle (ksm_audit_backlog_bytes):
                                     changed under mu, read without it */
    bool writer_idle, stop_writer, stop_indexer;
    bool writer_lingering;        /* a batch of reads only is growing (see writer_main) */
    int pending_waiters;          /* records in pending whose submitter waits for durability */
    int flush_waiters;            /* the indexer does not linger while someone flushes */
    bool trim;                    /* a recycled batch gave up a large buffer: trim the heap */

    /* writer thread only */
    int fd;                       /* current segment, -1 when sealed */
    uint32_t seg;
    uint64_t seg_size;
    uint64_t seg_dropped;                 /* the segment's bytes out of the page cache */
    char prev[KSM_AUDIT_HASH_HEX + 1];
    uint64_t last_seq;
    struct ksm_buf out;

    struct ksm_audit_ix index;    /* indexer thread only (after open) */
    pthread_t writer, indexer;

    pthread_mutex_t stats_mu;
    struct ksm_audit_stats stats;
};

#endif
