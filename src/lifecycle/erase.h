/* erase.h — erasure of a bucket, a project or a whole tenant (issue 10, SPEC 11(3)/(9); docs/lifecycle.md
 * "Erasure"): a two-step request (a confirmation token, then a confirmation — by a second
 * administrator where the tenant has more than one), a durable job that destroys the keys
 * (crypto-erasure), removes the metadata and wipes the ciphertext, resuming after a crash, and a
 * report signed with the environment's Ed25519 key.
 *
 * The request and confirmation run on worker threads with their own db connection; the job runs on
 * a thread of its own (ksm_erase_start), woken by a confirmation and every second. */
#ifndef KSM_ERASE_H
#define KSM_ERASE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/db.h"
#include "core/error.h"

struct ksm_audit;
struct ksm_kms;
struct ksm_store;
struct ksm_erase;

void ksm_erase_register_schema(void); /* before ksm_db_open */

/* ---- the request and its confirmation (erase_job.c) ---- */
#define KSM_ERASE_TOKEN_MAX 160
#define KSM_ERASE_TTL_DEFAULT_S 900

struct ksm_erase_request {
    const char *tenant;
    const char *scope;      /* "tenant", "project" or "bucket" */
    const char *project;    /* scope project: its id */
    const char *bucket;     /* scope bucket: its name */
    const char *requester;  /* user id */
    const char *requester_name;
    int64_t ttl_s;          /* how long the token confirms (1..86400) */
};
/* Records the request; *job gets its JSON, token the confirmation token (shown once: only its
 * SHA-256 is kept). NOT_FOUND for a project or bucket not in the tenant, INVALID_ARGUMENT (why)
 * for a bad scope, CONFLICT when the tenant is erased already. */
enum ksm_err ksm_erase_request(struct ksm_db *db, const struct ksm_erase_request *q,
                               char token[KSM_ERASE_TOKEN_MAX], json_t **job, const char **why);
/* Splits "<tenant>.<erasure id>.<secret>" (false when it has another form). */
bool ksm_erase_token_parse(const char *token, char tenant[48], char id[48]);
/* Confirms erasure id of tenant with its token. NOT_FOUND (no such erasure, or a token that is
 * not its own), TOKEN_EXPIRED, CONFLICT (confirmed already), FORBIDDEN (why: the tenant has more
 * than one administrator and the requester confirms). */
enum ksm_err ksm_erase_confirm(struct ksm_db *db, const char *tenant, const char *id,
                               const char *token, const char *confirmer,
                               const char *confirmer_name, json_t **job, const char **why);
/* The job's state as JSON (with its signed report once done). NOT_FOUND unless in tenant. */
enum ksm_err ksm_erase_get(struct ksm_db *db, const char *tenant, const char *id, json_t **job);
/* The same found by a token alone (the report stays reachable when the tenant's principals are
 * refused, after a tenant erasure). NOT_FOUND when the token is not an erasure's. */
enum ksm_err ksm_erase_get_by_token(struct ksm_db *db, const char *token, json_t **job);

/* ---- the job (erase_run.c) ---- */
struct ksm_erase_opts {
    const char *db_path;
    struct ksm_kms *kms;
    struct ksm_store *store;
    struct ksm_audit *audit;  /* signs the report; records each erasure's end */
    int step_pause_ms;        /* tests only: a pause between steps, so a kill lands mid-job */
};
/* Starts the runner, which first resumes every job a crash interrupted. -1 with err. */
int ksm_erase_start(struct ksm_erase **out, const struct ksm_erase_opts *o, char *err,
                    size_t errlen);
void ksm_erase_wake(struct ksm_erase *e); /* a job was confirmed */
void ksm_erase_stop(struct ksm_erase *e); /* between steps: an unfinished job resumes at start */

/* ---- the report (erase_report.c): canonical form, signature, verification ---- */
/* The canonical bytes of a report: every member but "signature", keys sorted, no whitespace,
 * UTF-8 unescaped (jansson's JSON_COMPACT | JSON_SORT_KEYS). malloc'd, NULL on failure. */
char *ksm_erase_report_canonical(const json_t *report);
/* Adds "signature": {"alg": "Ed25519", "key_sha256": …, "value": base64} with the audit key. */
int ksm_erase_report_sign(struct ksm_audit *a, json_t *report);
/* Checks a report document (bytes as stored) against the public key in pem_path: 1 valid, 0 not
 * (why says what), -1 the key or the document cannot be read (why). */
int ksm_erase_report_verify(const char *doc, size_t len, const char *pem_path, char *why,
                            size_t whylen);

/* ---- the printable certificate (erase_cert.c): データ消去証明書 ---- */
/* A self-contained A4 HTML page (Japanese) rendering a report; malloc'd. */
char *ksm_erase_report_html(const json_t *report);
/* The same as an A4 PDF with the Japanese font embedded: *out malloc'd. 0, or -1. */
int ksm_erase_report_pdf(const json_t *report, char **out, size_t *len);

#endif
