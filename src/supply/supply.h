/* supply.h — the supply-chain register of the IT procurement agreement (IT調達申合せ; SPEC.md
 * SC1–SC4): procurement cases and their scope decision, equipment lists (機器リスト), subcontractor
 * chains, the review workflow ending in advice, the reviewers' concern list, and yearly statistics.
 * What the admin handlers (src/admin/h_supply*.c) call after authorising; every SQL statement of
 * the register lives in src/supply. Conventions as in iam.h: OK with *out a new JSON value the
 * caller owns, or an error with why (KSM_SUPPLY_WHY bytes) set to a human detail ("" = the error's
 * default). Writes are one transaction each. actor is the principal's user id, recorded in the
 * case's history. */
#ifndef KSM_SUPPLY_H
#define KSM_SUPPLY_H
#include <jansson.h>
#include <stddef.h>

#include "core/db.h"
#include "core/error.h"

#define KSM_SUPPLY_WHY 512

void ksm_supply_register_schema(void);   /* before ksm_db_open */

/* ---- cases (supply_cases.c) ----
 * body: {"title","agency"} required; "department","contact_name","email","phone",
 * "submission_due","inspection_due","bid_due" (2026-06-20, 令和8.6.20, ...), "categories":[text],
 * "criteria":[1..5], "description" optional. The scope decision is recomputed on every write. */
enum ksm_err ksm_supply_case_create(struct ksm_db *db, const char *tenant, const char *actor,
                                    json_t *body, json_t **out, char *why);
enum ksm_err ksm_supply_case_get(struct ksm_db *db, const char *id, json_t **out);
/* A change to a case that has advice reopens its review (state under_review). */
enum ksm_err ksm_supply_case_update(struct ksm_db *db, const char *id, const char *actor,
                                    json_t *body, json_t **out, char *why);
/* tenant NULL: every tenant's; state NULL: any. */
enum ksm_err ksm_supply_case_list(struct ksm_db *db, const char *tenant, const char *state,
                                  const char *after, int limit, json_t *items);
/* The tenant owning a case (KSM_ID_LEN bytes); NOT_FOUND. */
enum ksm_err ksm_supply_case_owner(struct ksm_db *db, const char *id, char *tenant);
/* Deadlines of a tenant's open cases from today (JST) to within_days ahead, soonest first. */
enum ksm_err ksm_supply_deadlines(struct ksm_db *db, const char *tenant, int within_days,
                                  json_t **out);
/* The scope decision for a case document (agency, categories, criteria), without storing it:
 * {"in_scope","agency_listed","categories":[...],"criteria":[...],"reasons":[...]}. */
json_t *ksm_supply_scope(json_t *doc);

/* ---- review workflow (supply_review.c) ----
 * draft → submitted → under_review → advised → resolved.
 * action "submit" (the agency; needs an equipment list), "review" (a reviewer takes it),
 * "resolve" (the agency, after advice; with 懸念あり body {"measures"} says what it did). */
enum ksm_err ksm_supply_transition(struct ksm_db *db, const char *id, const char *action,
                                   const char *actor, json_t *body, json_t **out, char *why);
/* body {"concern": false} (懸念なし) or {"concern": true, "reason", "alternative" and/or
 * "mitigation"} (懸念あり); the advice covers the case's current equipment list. */
enum ksm_err ksm_supply_advise(struct ksm_db *db, const char *id, const char *actor, json_t *body,
                               json_t **out, char *why);
enum ksm_err ksm_supply_events(struct ksm_db *db, const char *id, json_t **out);

/* ---- equipment lists (supply_lists.c) ----
 * format "csv", "xlsx" or "json" ({"submitter":{...},"items":[...]}); encoding for CSV: NULL
 * (detect), "utf-8" or "cp932". A list with any error imports nothing: INVALID_ARGUMENT with *out
 * {"errors":[{"row","column","field","message"}],"error_count"} and why the first message. */
enum ksm_err ksm_supply_list_import(struct ksm_db *db, const char *case_id, const char *actor,
                                    const char *format, const char *encoding, const char *data,
                                    size_t n, json_t **out, char *why);
/* The case's current list {"id","case","submitter","ministry","items",...}; NOT_FOUND if none. */
enum ksm_err ksm_supply_list_current(struct ksm_db *db, const char *case_id, json_t **out);
/* The list laid out as the form (with the case's ministry block) in format "csv", "xlsx", "json";
 * *data malloc'd, *ctype static. tmpdir: where the XLSX writer may put its temporary file. */
enum ksm_err ksm_supply_list_export(struct ksm_db *db, const char *case_id, const char *format,
                                    const char *tmpdir, char **data, size_t *n,
                                    const char **ctype, char *why);

/* ---- subcontractor chains (supply_chain.c) ----
 * body {"contractors":[{"name","corporate_number"|"no_number_reason","country","scope",
 * "touches_information_assets","subcontractors":[...]}]}: 委託 → 再委託 → 再々委託 ... */
enum ksm_err ksm_supply_chain_put(struct ksm_db *db, const char *case_id, const char *actor,
                                  json_t *body, json_t **out, char *why);
enum ksm_err ksm_supply_chain_get(struct ksm_db *db, const char *case_id, json_t **out);

/* ---- the concern list (supply_concerns.c), kept by reviewers ----
 * body {"reason"} and at least one of "corporate_number", "name", "model_pattern". */
enum ksm_err ksm_supply_concern_create(struct ksm_db *db, const char *actor, json_t *body,
                                       json_t **out, char *why);
enum ksm_err ksm_supply_concern_list(struct ksm_db *db, const char *after, int limit,
                                     json_t *items);
enum ksm_err ksm_supply_concern_delete(struct ksm_db *db, const char *id);
/* Matches of a case's current list and chain against the concern list, each with why. */
enum ksm_err ksm_supply_concern_match(struct ksm_db *db, const char *case_id, json_t **out);

/* ---- statistics (supply_stats.c): the 助言実績 table per fiscal year (April–March, JST) ----
 * fiscal_year < 0: every year. */
enum ksm_err ksm_supply_stats(struct ksm_db *db, int fiscal_year, json_t **out);

#endif
