/* ai_store_int.h — what the AI store's files share and nobody else needs: the
 * write generation that invalidates the per-thread memo, the transaction
 * pattern, text checks, and a strict field-table decoder for nested JSON bodies
 * (src/admin/reqjson.h covers flat bodies only: targets, pii and alert
 * thresholds are arrays and objects). Names carry the ksm_ai__ prefix. */
#ifndef KSM_AI_STORE_INT_H
#define KSM_AI_STORE_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ai/ai_store.h"
#include "core/fmt.h"

/* ---- ai_store.c ---- */
uint64_t ksm_ai__generation(void);
void ksm_ai__invalidate(void);                 /* after every AI-store transaction */
enum ksm_err ksm_ai__begin(struct ksm_db *db); /* BEGIN IMMEDIATE; INTERNAL on failure */
/* COMMIT when e is OK, else ROLLBACK; bumps the generation either way. */
enum ksm_err ksm_ai__end(struct ksm_db *db, enum ksm_err e);
/* Steps a write: OK, ALREADY_EXISTS on a UNIQUE violation, INTERNAL otherwise.
 */
enum ksm_err ksm_ai__step_write(struct ksm_db *db, sqlite3_stmt *st);
/* 1..max bytes of UTF-8 without control characters. */
bool ksm_ai__text_ok(const char *s, size_t max);
/* An alias or model name: 1..127 of [A-Za-z0-9._:@/+-], starting with a letter
 * or digit. */
/* A budget's thresholds as a JSON array (ai_budget.c). New reference. */
json_t *ksm_ai__alerts_json(const struct ksm_ai_budget *b);
/* One write statement in its own AI-store transaction, the generation bumped after: ?1..?ntexts
 * the texts, then the integers in the parameters after them. */
enum ksm_err ksm_ai__write(struct ksm_db *db, const char *sql, const char *const *texts, int ntexts,
                           const int64_t *ints, int nints);
bool ksm_ai__name_ok(const char *s);
bool ksm_ai__upstream_model_ok(const char *s);
/* prefix "_" and 20 base32 characters. */
bool ksm_ai__id_ok(const char *s, const char *prefix);
json_t *ksm_ai__time_json(int64_t ms);                   /* RFC 3339 string */

/* ---- ai_json.c: strict field tables over a json_t object ---- */
enum ksm_ai__jt {
    KSM_AI_J_STR,  /* out: const char ** (borrowed from the JSON) */
    KSM_AI_J_INT,  /* out: int64_t * */
    KSM_AI_J_BOOL, /* out: bool * */
    KSM_AI_J_ARR,  /* out: json_t ** (borrowed) */
    KSM_AI_J_OBJ,  /* out: json_t ** (borrowed) */
    KSM_AI_J_YEN,  /* out: int64_t * micro-yen; a decimal string or an integer */
};
struct ksm_ai__jf {
    const char *name;
    enum ksm_ai__jt type;
    bool required;
    void *out; /* untouched when absent (or null) */
    bool *present;
};
/* where: the object's path for messages ("" top level, "targets[1]").
 * UNKNOWN_FIELD, INVALID_ARGUMENT (type, missing) or INVALID_JSON (not an
 * object), with why. */
enum ksm_err ksm_ai__fields(json_t *obj, const char *where, const struct ksm_ai__jf *spec, size_t n,
                            char *why);

/* ---- ai_memo.c: per-thread memo of request-path reads ---- */
bool ksm_ai__memo_route(const char *project, const char *alias, struct ksm_ai_route *out,
                        enum ksm_err *e);
void ksm_ai__memo_route_put(const char *project, const char *alias, uint64_t gen, enum ksm_err e,
                            const struct ksm_ai_route *rt);
bool ksm_ai__memo_policy(const char *project, struct ksm_ai_policy *out, enum ksm_err *e);
void ksm_ai__memo_policy_put(const char *project, uint64_t gen, enum ksm_err e,
                             const struct ksm_ai_policy *p);
/* A price is remembered with the interval [from, until) in which it is the
 * effective one. */
bool ksm_ai__memo_price(const char *model, int64_t at_ms, struct ksm_ai_price *out,
                        enum ksm_err *e);
void ksm_ai__memo_price_put(const char *model, uint64_t gen, int64_t from, int64_t until,
                            enum ksm_err e, const struct ksm_ai_price *p);
/* A key's allowed models in a project as "|a|b|" ("" when it has no list: every model). */
bool ksm_ai__memo_key_models(const char *project, const char *key, char *allowed, enum ksm_err *e);
void ksm_ai__memo_key_models_put(const char *project, const char *key, uint64_t gen, enum ksm_err e,
                                 const char *allowed);

#endif
