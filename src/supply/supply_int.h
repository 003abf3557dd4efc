/* supply_int.h — what the files of src/supply share: the transaction pattern, the case history,
 * reading a case row, the reference data of the agreement, and field checks for request bodies. */
#ifndef KSM_SUPPLY_INT_H
#define KSM_SUPPLY_INT_H
#include <stdbool.h>

#include "supply/supply.h"

#define KSM_SUPPLY_ID_LEN 40

enum ksm_err ksm_supply__begin(struct ksm_db *db);
/* Commits when e is OK, else rolls back; returns e (or INTERNAL when the commit fails). */
enum ksm_err ksm_supply__end(struct ksm_db *db, enum ksm_err e);
enum ksm_err ksm_supply__step(struct ksm_db *db, sqlite3_stmt *st);   /* one write */
json_t *ksm_supply__json_col(sqlite3_stmt *st, int col);   /* a TEXT column holding JSON */
char *ksm_supply__dump(json_t *v);                         /* compact JSON, malloc'd */

/* The case's state and tenant (KSM_SUPPLY_ID_LEN bytes each); NOT_FOUND. */
enum ksm_err ksm_supply__case_state(struct ksm_db *db, const char *id, char *state, char *tenant);
enum ksm_err ksm_supply__set_state(struct ksm_db *db, const char *id, const char *state);
/* Appends to the case's history: who did what, from which state to which. detail may be NULL. */
enum ksm_err ksm_supply__event(struct ksm_db *db, const char *id, const char *actor,
                               const char *action, const char *from, const char *to,
                               json_t *detail);
/* Inside a write's transaction: a case with advice (advised, resolved) goes back to under_review,
 * its advice marked superseded, with a "reopened" event naming what changed. */
enum ksm_err ksm_supply__changed(struct ksm_db *db, const char *id, const char *actor,
                                 const char *what);

/* The case's advice in force (not superseded by a change), or NULL. */
json_t *ksm_supply__advice(struct ksm_db *db, const char *id);

/* Reference data of the agreement (src/supply/data), parsed once. */
struct ksm_supply_ref_row {
    const char *a, *b, *c;   /* the CSV's columns (agencies: group, name, seed spelling) */
};
struct ksm_supply_ref {
    struct ksm_supply_ref_row *agencies, *categories, *criteria;
    int nagencies, ncategories, ncriteria;
};
const struct ksm_supply_ref *ksm_supply__ref(void);

/* Optional string field of a body: OK (absent → *out NULL), or INVALID_ARGUMENT with why. */
enum ksm_err ksm_supply__str(json_t *body, const char *key, size_t max, const char **out,
                             char *why);
/* Rejects keys of body that are not in the NULL-terminated allowed list (UNKNOWN_FIELD). */
enum ksm_err ksm_supply__fields(json_t *body, const char *const *allowed, char *why);

#endif
