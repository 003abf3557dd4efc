/* audit.h — the activity log, kasumi's ledger of record (SPEC.md A, B6; DESIGN.md §5).
 *
 * Records go to append-only segment files under DIR (DATA/audit). Every record carries the SHA-256 of
 * the previous record, so a changed, removed or reordered record breaks the chain; the writer signs
 * its state with the environment's Ed25519 key (checkpoints and sealed segments), so recomputing the
 * chain after a rewrite does not help an attacker who lacks the key. Records hold metadata only:
 * never a secret, an object body, a prompt or a completion.
 *
 * One writer thread does group commit: it takes every record submitted since its last write, writes
 * them, fdatasyncs once, and then tells each submitter (through its mailbox) that the record is
 * durable. A state-changing request waits for that before its response goes out; a read does not
 * wait, and its record is durable within the group-commit window.
 *
 * There is no switch that turns auditing off, and retention cannot be set below 365 days. */
#ifndef KSM_AUDIT_H
#define KSM_AUDIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/mailbox.h"

#define KSM_AUDIT_MIN_RETENTION_DAYS 365

struct ksm_audit;
struct ksm_audit_rec;

/* What a record is counted under, for counts over long periods (ksm_audit_count): a short string
 * appended to out and true, or false (out untouched) for a record that is not counted. It is called
 * on the submitting thread with the record as given and, when the index is rebuilt or a count reads
 * a block's lines, with the record as its line holds it: it must depend on the record's fields
 * only. */
typedef bool (*ksm_audit_facet_fn)(const struct ksm_audit_rec *rec, struct ksm_buf *out);

struct ksm_audit_opts {
    int retention_days;       /* >= KSM_AUDIT_MIN_RETENTION_DAYS; ksm_audit_open refuses less */
    int group_commit_ms;      /* longest a read's record may wait before it is durable (default 10) */
    size_t segment_bytes;     /* seal and start a new segment past this size (default 64 MiB) */
    const char *env_name;     /* "govcloud" | "overseas-ai": written into every record */
    ksm_audit_facet_fn facet; /* NULL: nothing is counted */
};

/* One record. Strings are copied by ksm_audit_submit; NULL means absent. */
struct ksm_audit_rec {
    int64_t time_ms;          /* 0: now */
    const char *request_id;
    const char *principal;    /* user id, "anonymous", or "system" */
    const char *tenant;       /* tenant id the action concerns, or NULL for platform-level */
    const char *project;
    const char *source;       /* client address */
    const char *action;       /* e.g. "tenant.create" */
    const char *target;       /* id or path of what was acted on */
    const char *outcome;      /* "success" | "denied" | "error" */
    int status;               /* HTTP status sent */
    const char *detail;       /* short reason on failure (error code), never user content */
};

/* Opens or creates DIR, loads or creates the signing key (DIR/../keys/audit-ed25519.pem, 0600),
 * verifies the tail of the last segment (a torn final line from a crash is cut off and logged) and
 * starts the writer thread. -1 with err filled. */
int ksm_audit_open(struct ksm_audit **out, const char *dir, const char *key_path,
                   const struct ksm_audit_opts *opts, char *err, size_t errlen);
/* Writes what is pending, seals the current segment (signature), stops the thread. */
void ksm_audit_close(struct ksm_audit *a);

typedef void (*ksm_audit_done_fn)(void *arg, int ok);
/* Thread-safe. Queues rec; when it is durable (or failed to be: ok=0), done(arg, ok) runs on mb's
 * loop. mb and done may be NULL (fire and forget: durable within the window). Returns the record's
 * sequence number. While the records not yet written or indexed hold more than KSM_AUDIT_HOLD_MAX
 * bytes (the disk stalls and requests keep coming: reads do not wait for their records), it blocks
 * until the writer has caught up: every request is audited, so a stalled log slows the service to
 * its pace instead of growing memory without bound. The AI gateway waits without blocking at a
 * lower bound of its own ([ai] backlog_max_bytes). */
#define KSM_AUDIT_HOLD_MAX ((uint64_t)16 << 20)
uint64_t ksm_audit_submit(struct ksm_audit *a, const struct ksm_audit_rec *rec,
                          struct ksm_mailbox *mb, ksm_audit_done_fn done, void *arg);
/* Blocks until everything submitted so far is durable (tests, shutdown, CLI). */
void ksm_audit_flush(struct ksm_audit *a);
/* Records submitted and not yet durable: how far the writer is behind. Lock-free, approximate. */
uint64_t ksm_audit_backlog(struct ksm_audit *a);
/* The memory those records and the ones being indexed hold, in bytes. Lock-free, approximate. */
uint64_t ksm_audit_backlog_bytes(struct ksm_audit *a);

/* Query: records newest first. Every filter is optional (NULL / 0). */
struct ksm_audit_filter {
    int64_t since_ms, until_ms;   /* [since, until) */
    const char *tenant, *principal, *action;   /* action may end in '*' for a prefix */
    const char *cursor;           /* opaque, from a previous page's next_cursor */
    int limit;                    /* default 100, max 1000 */
};
/* Appends matching records (as JSON objects, the same fields as on disk) to *records (a JSON array),
 * sets *next_cursor (malloc'd, or NULL when no more). 0, or -1 on a bad cursor. */
int ksm_audit_query(struct ksm_audit *a, const struct ksm_audit_filter *f, json_t *records,
                    char **next_cursor);

/* Counts the records of [f->since_ms, f->until_ms) (of f->tenant when given; "" counts the records
 * without one) by facet, for the facets that start with prefix: fn(arg, facet, n) once per facet.
 * Exact over any period: each index block wholly inside the period gives its counts per facet kept
 * by the indexer, only the blocks at the period's two ends are read record by record — all in one
 * snapshot of the index. The other filter fields are ignored. 0, or -1. */
int ksm_audit_count(struct ksm_audit *a, const struct ksm_audit_filter *f, const char *prefix,
                    void (*fn)(void *arg, const char *facet, int64_t n), void *arg);

/* The environment's public verification key, PEM. */
int ksm_audit_public_key_pem(struct ksm_audit *a, struct ksm_buf *out);

/* Documents signed with the same environment key (the erasure report, docs/lifecycle.md): a
 * detached Ed25519 signature of msg. 0, or -1. */
int ksm_audit_sign_document(struct ksm_audit *a, const void *msg, size_t n, unsigned char sig[64]);
/* Offline check of such a signature with the public key in pem_path (PEM, as GET
 * /admin/v1/audit/public-key gives it). 1 valid, 0 not valid, -1 the key cannot be read (err). */
int ksm_audit_document_verify(const char *pem_path, const void *msg, size_t n,
                              const unsigned char sig[64], char *err, size_t errlen);

/* Statistics for /metrics. */
struct ksm_audit_stats {
    uint64_t records, commits, bytes;
    uint64_t commit_latency_buckets[12]; /* counts of submit→durable latency ≤ 0.1,0.25,0.5,1,2,5,10,25,50,100,250,+Inf ms */
    double commit_latency_sum_ms;
};
void ksm_audit_stats(struct ksm_audit *a, struct ksm_audit_stats *out);
extern const double ksm_audit_latency_bounds_ms[11];

/* Offline verification of a directory of segments against a public key held outside it. Checks each
 * line's syntax, the hash chain across all segments, sequence continuity (a missing segment or
 * record), the signatures, and that no record sits after the last signature. Signatures: each
 * segment's seal and the last signed line, each of which authenticates every line before it through
 * the chain; every one when every_signature (or when one of those fails, to name the first bad
 * one). 0 when intact; otherwise -1 with report naming the first bad place
 * ("seg-000003.log line 17 (seq 4242): hash chain broken"). report also gets a summary on success. */
int ksm_audit_verify(const char *dir, const char *public_key_pem_path, bool every_signature,
                     struct ksm_buf *report);

/* What a verification found: the CLI prints it as the report above, GET /admin/v1/audit/verification
 * answers it as JSON. Metadata of the chain only, never a record's content. */
struct ksm_audit_verification {
    bool intact;
    size_t segments;                    /* segment files read */
    uint64_t records, checkpoints, seals;
    uint64_t first_seq, last_seq;       /* 0: no record */
    char first_time[40], last_time[40]; /* those records' times as the lines hold them, "" none */
    uint64_t last_signed_seq;
    uint64_t signatures_checked;        /* see ksm_audit_verify */
    char last_signed_time[40];          /* the last checkpoint or seal's time, "" none */
    char last_hash[65];                 /* SHA-256 hex of the last line checked */
    bool last_sealed;                   /* the last line checked is a seal */
    /* not intact: the first bad place. bad_segment "" when no file is to blame (the key);
     * bad_line 0 when the whole file is (it cannot be read) */
    char bad_segment[32];
    size_t bad_line;
    uint64_t bad_seq;
    char reason[512];
};
/* The running log checked in place with the writer's own key, up to the records acknowledged as
 * durable when it starts: lines the writer appends meanwhile are left for the next run. Reads every
 * segment (seconds for GBs): call it off the event loop. 0 intact, -1 not (out says where). */
int ksm_audit_verify_live(struct ksm_audit *a, struct ksm_audit_verification *out);

#endif
