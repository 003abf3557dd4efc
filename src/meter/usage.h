/* usage.h — the usage sink: the one narrow call through which services record what they consumed
 * (SPEC.md C, B10). Records are durable when the call returns, keyed by an idempotency key so a retry
 * never counts twice, and each names the audit record (request id) it belongs to: the audit log is
 * the ledger, usage is its projection. The billing issue rates these records. */
#ifndef KSM_USAGE_H
#define KSM_USAGE_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "core/db.h"
#include "core/error.h"

/* The start (UTC ms) of the JST day that ms falls on, in SQL over a column or parameter and in C —
 * the same integer arithmetic (SQLite's division truncates, as C's), so sums kept per day as records
 * are written and sums recomputed by a query agree. */
#define KSM_USAGE_JST_DAY_SQL(ms) "((" ms " + 32400000) / 86400000 * 86400000 - 32400000)"
static inline int64_t ksm_usage_jst_day(int64_t ms)
{
    return (ms + 32400000) / 86400000 * 86400000 - 32400000;
}

struct ksm_usage_rec {
    const char *tenant;            /* tenant id (required) */
    const char *project;           /* project id or NULL */
    const char *service;           /* "ai", "storage", "admin", ... (required) */
    const char *meter;             /* "input_tokens", "storage_byte_hours", ... (required) */
    int64_t quantity;              /* integer units of the meter; never floating point */
    int64_t time_ms;               /* when the usage happened (0: now) */
    const char *idempotency_key;   /* required; a repeat with the same key is a no-op */
    const char *request_id;        /* the audit record's request id */
    const char *resource;          /* optional: bucket, model alias, ... */
    int64_t cost_microyen;         /* rated by the service where it knows its price (AI); 0: rated
                                      by the rating hook when the sink writes it */
    const char *details;           /* optional JSON object text: the meter's parts (tokens by kind,
                                      latency, upstream); never user content */
    const char *key_id, *user_id;  /* optional: the API key whose call it was, and its user (the
                                      AI gateway's records; its details name them too) — summed
                                      per key (usage_by_key.c); NULL or "": none */
};

void ksm_usage_register_schema(void);   /* before ksm_db_open */
/* The rating hook (the billing subsystem's price list): the cost of a record that carries none, at
 * time_ms, on the connection it is written through; -1 on a database error. Set once at start. */
typedef int64_t (*ksm_usage_rater_fn)(struct ksm_db *db, const struct ksm_usage_rec *rec,
                                      int64_t time_ms);
void ksm_usage_set_rater(ksm_usage_rater_fn fn);
/* The write-time rollup hook (the billing subsystem's per-day sums): called for each newly stored
 * record, in the same transaction as its row, with its id, time, arrival time and cost; nonzero on
 * a database error (the record is then not stored either). Set once, before the first record. */
typedef int (*ksm_usage_rollup_fn)(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t id,
                                   int64_t time_ms, int64_t recorded_ms, int64_t cost_microyen);
void ksm_usage_set_rollup(ksm_usage_rollup_fn fn);
/* Batching the rollup on the calling thread (the usage writer, inside its batch's transaction):
 * after begin, the rollup hook may hold each new record's contribution in memory (the record's
 * strings must stay valid until end or abort); end writes what it holds, before the commit,
 * nonzero on a database error; abort forgets it (the transaction is being rolled back). A record
 * written between them is stored with its rollup only if the whole batch commits: on any
 * KSM_E_INTERNAL the writer rolls the batch back and writes it again record by record. Without a
 * batching hook these do nothing. Set with the rollup. */
struct ksm_usage_rollup_batch {
    void (*begin)(void);
    int (*end)(struct ksm_db *db);
    void (*abort)(void);
};
void ksm_usage_set_rollup_batch(const struct ksm_usage_rollup_batch *b);
void ksm_usage_rollup_batch_begin(void);
int ksm_usage_rollup_batch_end(struct ksm_db *db);
void ksm_usage_rollup_batch_abort(void);
/* Where the project cost sums below come from when the rollup is kept (the billing subsystem's
 * per-day sums, whose days align with JST months): budgets ask every few seconds on the request
 * path, and a sum over the month's raw records grows with every record. Set with the rollup. */
typedef enum ksm_err (*ksm_usage_cost_fn)(struct ksm_db *db, const char *project, const char *service,
                                          int64_t since_ms, int64_t until_ms, int64_t *of_service,
                                          int64_t *others);
void ksm_usage_set_cost_sums(ksm_usage_cost_fn fn);
/* KSM_E_OK when stored (or already stored under that key with the same content), KSM_E_CONFLICT when
 * the key was used for different content, KSM_E_INVALID_ARGUMENT on a missing field or negative
 * quantity, KSM_E_INTERNAL on a database failure. */
enum ksm_err ksm_usage_record(struct ksm_db *db, const struct ksm_usage_rec *rec);

struct ksm_usage_filter {
    const char *tenant, *project, *service, *meter;
    int64_t since_ms, until_ms;
    int limit;
    int64_t after_id;              /* pagination: records with id > after_id */
};
/* Sum of cost_microyen of a project's records in [since, until): budget spend. */
enum ksm_err ksm_usage_project_cost(struct ksm_db *db, const char *project, int64_t since_ms,
                                    int64_t until_ms, int64_t *out);
/* The same sum split in two: the records of service (*of_service) and of every other (*others). */
enum ksm_err ksm_usage_project_cost_split(struct ksm_db *db, const char *project, const char *service,
                                          int64_t since_ms, int64_t until_ms, int64_t *of_service,
                                          int64_t *others);
/* Runs sql — two sums, parameters ?1 project, ?2 since, ?3 until, ?4 a text (the service; a key
 * for usage_by_key) — for the above, the rollup's ksm_usage_cost_fn and a key's cost. */
enum ksm_err ksm_usage_cost_split_sql(struct ksm_db *db, const char *sql, const char *project,
                                      const char *text, int64_t since_ms, int64_t until_ms,
                                      int64_t *first, int64_t *second);
/* Appends matching records (oldest first) to the array; *last_id gets the id of the last one. */
enum ksm_err ksm_usage_query(struct ksm_db *db, const struct ksm_usage_filter *f, json_t *out,
                             int64_t *last_id);

/* ---- use by API key (usage_by_key.c) ----
 * Each new record that names its key_id (the AI gateway's) is summed into its project, key,
 * JST day and service, in the record's transaction; batched (inside the usage writer's batch) in
 * memory, written by the flush or forgotten when the batch is rolled back. Called by the sink. */
void ksm_usage_by_key_register_schema(void);   /* by ksm_usage_register_schema */
int ksm_usage_by_key_add(struct ksm_db *db, const struct ksm_usage_rec *rec, int64_t time_ms,
                         int64_t cost_microyen, bool batched);   /* nonzero on a database error */
int ksm_usage_by_key_flush(struct ksm_db *db);   /* writes what a batch holds */
void ksm_usage_by_key_forget(void);             /* drops it (the batch is rolled back) */
/* Sum of cost_microyen of the records of key in project, booked in [since, until) (JST days). */
enum ksm_err ksm_usage_key_cost(struct ksm_db *db, const char *project, const char *key,
                                int64_t since_ms, int64_t until_ms, int64_t *out);
struct ksm_usage_key_use {
    const char *key, *user;   /* valid during the call */
    int64_t quantity, cost_microyen, records;
};
typedef void (*ksm_usage_key_fn)(void *arg, const struct ksm_usage_key_use *u);
/* Every key that used project in [since, until), by key id, with its sums. */
enum ksm_err ksm_usage_keys_of_project(struct ksm_db *db, const char *project, int64_t since_ms,
                                       int64_t until_ms, ksm_usage_key_fn fn, void *arg);

#endif
