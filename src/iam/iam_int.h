/* iam_int.h — what the files of src/iam share and nobody else needs: text validation, JSON
 * conversions of stored values, and the transaction pattern. Names carry the ksm_iam__ prefix. */
#ifndef KSM_IAM_INT_H
#define KSM_IAM_INT_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/db.h"
#include "iam/iam.h"

/* NULL for NULL or "": the API says "" where the database says NULL (platform level, no project). */
static inline const char *ksm_iam__nz(const char *s) { return s && *s ? s : NULL; }

/* s is 1..max characters (code points) of UTF-8 without control characters. */
bool ksm_iam__text_ok(const char *s, int max);
/* A plausible e-mail address: local@domain, no spaces or controls, at most 254 bytes. */
bool ksm_iam__email_ok(const char *s);
/* An id of ours with the given prefix ("tn"): prefix "_" then 20 base32 characters. */
bool ksm_iam__id_ok(const char *s, const char *prefix);

/* RFC 3339 string, or JSON null for a NULL column. */
json_t *ksm_iam__time_col(sqlite3_stmt *st, int col);
/* Text column, or JSON null when NULL. */
json_t *ksm_iam__text_or_null(sqlite3_stmt *st, int col);
/* Copies a text column into a KSM_ID_LEN buffer ("" for NULL). */
void ksm_iam__copy_id(char *dst, sqlite3_stmt *st, int col);

/* BEGIN IMMEDIATE; INTERNAL on failure. */
enum ksm_err ksm_iam__begin(struct ksm_db *db);
/* COMMIT when e is OK (INTERNAL if that fails), otherwise ROLLBACK; returns the outcome. */
enum ksm_err ksm_iam__end(struct ksm_db *db, enum ksm_err e);
/* Steps a write statement: OK, ALREADY_EXISTS on a UNIQUE violation, INTERNAL otherwise. */
enum ksm_err ksm_iam__step_write(struct ksm_db *db, sqlite3_stmt *st);

/* One page of a tenant's rows, keyset-paginated: sql binds ?1 tenant, ?2 the last id seen
 * ("" for the first page), ?3 the page size; row turns each result row into JSON. */
enum ksm_err ksm_iam__list_page(struct ksm_db *db, const char *sql, const char *tenant,
                                const char *after, int limit, json_t *(*row)(sqlite3_stmt *),
                                json_t *items);

/* Secret → hex SHA-256 (the stored form). */
void ksm_iam__secret_hash(const char *secret, char out[65]);
/* Inserts a key row for user (inside the caller's transaction) and writes the new secret. */
enum ksm_err ksm_iam__key_insert(struct ksm_db *db, const char *id, const char *user,
                                 const char *tenant, const char *project, const char *kind,
                                 const char *name, int64_t expires_ms, const char *created_by,
                                 char secret[KSM_KEY_SECRET_LEN + 1]);
/* Inserts a binding row (inside the caller's transaction). */
enum ksm_err ksm_iam__binding_insert(struct ksm_db *db, const char *id, const char *user,
                                     const char *group, const char *role, const char *tenant,
                                     const char *project, const char *created_by);
/* The binding row selected by KSM_IAM__BINDING_COLS → JSON. */
json_t *ksm_iam__binding_json(sqlite3_stmt *st);
#define KSM_IAM__BINDING_COLS \
    "id, user_id, group_id, role, tenant_id, project_id, created_at, created_by"

/* A key row of any kind (iam_keys.c); for "api" it is the key, for "s3" the row behind it. */
enum ksm_err ksm_iam__key_create_kind(struct ksm_db *db, const char *user, const char *kind,
                                      const char *project, const char *name, int64_t expires_ms,
                                      const char *created_by, json_t **out, const char **why);

/* iam_cache.c: per-thread memo of decisions, valid while no IAM write has happened since. */
void ksm_iam__invalidate(void);   /* after every IAM transaction */
void ksm_iam__key_use_register_schema(void);   /* iam_key_use.c */
void ksm_iam__key_use_register_schema(void);
uint64_t ksm_iam__generation(void);
/* Who owns an IAM id (ksm_iam_owner), memoised like the decisions: the answer, or false. */
bool ksm_iam__owner_cached(const char *id, char *tenant, char *project, enum ksm_err *e);
void ksm_iam__owner_store(const char *id, uint64_t gen, const char *tenant, const char *project,
                          enum ksm_err e);
bool ksm_iam__authn_cached(const unsigned char hash[32], struct ksm_principal *out);
void ksm_iam__authn_store(const unsigned char hash[32], uint64_t gen, int64_t expires_ms,
                          const struct ksm_principal *p);
enum ksm_err ksm_iam__check_cached(struct ksm_db *db, const struct ksm_principal *p,
                                   const char *perm, const char *tenant, const char *project,
                                   enum ksm_err (*compute)(struct ksm_db *, const struct ksm_principal *,
                                                           const char *, const char *, const char *));

#endif
