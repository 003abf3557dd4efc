/* ai_store.h — what the AI gateway is configured with, as admin-API data of a project (SPEC.md G,
 * O4; issue "AI inference gateway" items 2, 4, 5, 7, 12): model routes (alias → ordered upstream
 * targets), the project's AI policy (classification defaults, PII rule actions, quotas), model
 * prices, and the monthly budget; plus the run-time ledger that reserves budget and quota before an
 * upstream call and settles it after.
 *
 * Reads on the request path are memoised per thread and invalidated by any write here (the same
 * generation scheme as src/iam/iam_cache.c), so a request costs no SQL for configuration. */
#ifndef KSM_AI_STORE_H
#define KSM_AI_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "ai/translate.h"
#include "core/cidr.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/error.h"

#define KSM_AI_MAX_TARGETS 8

/* A target's provider speaks one of the two APIs: enum ksm_ai_proto (translate.h). */

struct ksm_ai_target {
    enum ksm_ai_proto provider;
    char base_url[512];          /* e.g. "http://127.0.0.1:28931/v1" (the gateway appends /chat/completions) */
    char model[128];             /* the upstream's model name; "" = the alias */
    char credential_ref[256];    /* a file path holding the upstream secret (read by the gateway, never echoed) */
    char jurisdiction[8];        /* "JP" or an ISO 3166 alpha-2 code */
    int weight;                  /* >= 1; targets of equal order are chosen by weight */
    int timeout_ms;              /* whole upstream call; default 60000 */
    int max_concurrent;          /* calls in flight above which the next target is tried; 0: no limit */
    char azure_deployment[128];  /* Azure OpenAI: deployment and api-version, when used */
    char azure_api_version[32];
    uint64_t health_key;         /* ksm_ai_health_key: set when read, never stored */
};

struct ksm_ai_route {
    char id[40];
    char tenant[40], project[40];
    char alias[128];
    int ntargets;
    struct ksm_ai_target targets[KSM_AI_MAX_TARGETS];   /* in order of preference */
};

/* PII rule actions per detector kind, in the order of src/policy/pii.h's enum. */
#define KSM_AI_PII_KINDS 6
#define KSM_AI_MAX_TERMS 32   /* a project's own terms */
#define KSM_AI_TERM_MAX 64    /* bytes of one */
#define KSM_AI_MAX_NETS 16    /* a project's allowed networks */
enum ksm_ai_pii_action { KSM_AI_PII_ALLOW, KSM_AI_PII_MASK, KSM_AI_PII_BLOCK };

/* Content the guardrail cannot read (images, files, audio) while a rule would have to read it:
 * refused (the default), or sent unread to the project's model servers in Japan only. */
enum ksm_ai_unscanned { KSM_AI_UNSCANNED_REFUSE, KSM_AI_UNSCANNED_JAPAN };

struct ksm_ai_policy {
    int default_classification;           /* 1..3; default 2 */
    enum ksm_ai_unscanned unscanned;      /* "unscanned_content" */
    bool class2_overseas;                 /* tenant admin allowed 機密性2 outside Japan (masked) */
    bool class3_forbidden;                /* the tenant forbids 機密性3 to any target */
    bool markings;                        /* a 機密性N marking in a text raises the request to N */
    enum ksm_ai_pii_action pii[KSM_AI_PII_KINDS];   /* default: mynumber block, others mask */
    /* The model's own output: mask (replaced by ⟦KIND⟧, not restored) or allow (the default) */
    enum ksm_ai_pii_action pii_output[KSM_AI_PII_KINDS];
    int64_t project_rpm, project_tpm;     /* 0 = unlimited */
    int64_t key_rpm, key_tpm;             /* per API key; 0 = unlimited */
    int retention_days;                   /* of request metadata; bodies are never kept (0 allowed) */
    /* The networks calls may come from (allowed_networks), as the listener sees the caller's
     * address; none: anywhere. */
    int nnets;
    struct ksm_cidr nets[KSM_AI_MAX_NETS];
    /* The project's own terms (code names, markings such as 取扱厳重注意), masked or blocked like
     * a PII kind wherever they occur; kept with ASCII letters in lower case (matched in any case). */
    int nterms;
    struct ksm_ai_term {
        char text[KSM_AI_TERM_MAX + 1];
        bool block;
    } terms[KSM_AI_MAX_TERMS];
};

struct ksm_ai_price {
    /* micro-yen (1e-6 yen) per 1,000 tokens: integer arithmetic, no floating point in money */
    int64_t prompt_per_1k, completion_per_1k, cached_per_1k;
};

void ksm_ai_store_register_schema(void);   /* before ksm_db_open */

/* Request-path lookups (memoised). NOT_FOUND when the project has no route of that alias.
 * out's targets past ntargets are left as they were. */
enum ksm_err ksm_ai_route_find(struct ksm_db *db, const char *project, const char *alias,
                               struct ksm_ai_route *out);
/* The aliases a project may use, for GET /v1/models (alias NULL) and GET /v1/models/{alias}:
 * appends {"id","created_ms"} in alias order; the gateway shapes them for the caller's API. */
enum ksm_err ksm_ai_route_models(struct ksm_db *db, const char *project, const char *alias,
                                 json_t *items);
/* The project's policy, or the defaults when none was set. */
enum ksm_err ksm_ai_policy_get(struct ksm_db *db, const char *project, struct ksm_ai_policy *out);
/* Whether a caller at peer (the address as the listener sees it) may call the project's models:
 * any address when the policy names no network. */
bool ksm_ai_policy_network_allows(const struct ksm_ai_policy *p, const char *peer);
/* The price of a model alias effective at at_ms; NOT_FOUND when none (the gateway then refuses:
 * nothing is served that cannot be billed). */
enum ksm_err ksm_ai_price_find(struct ksm_db *db, const char *model, int64_t at_ms,
                               struct ksm_ai_price *out);
/* Cost in micro-yen, each part rounded up to a whole micro-yen. */
int64_t ksm_ai_cost(const struct ksm_ai_price *p, int64_t prompt, int64_t completion, int64_t cached);

/* The ledger. A reservation holds estimated cost against the project's monthly budget (month in JST)
 * and tokens/requests against the per-minute quotas of the project and the key, atomically across
 * worker threads. RATE_LIMITED with *retry_after_s when over; the caller answers 429 Retry-After. */
enum ksm_ai_over {   /* which limit refused a reservation */
    KSM_AI_OVER_NONE,
    KSM_AI_OVER_PROJECT_QUOTA,    /* the project's requests or tokens per minute */
    KSM_AI_OVER_KEY_QUOTA,        /* the key's */
    KSM_AI_OVER_PROJECT_BUDGET,   /* the project's monthly budget */
    KSM_AI_OVER_KEY_BUDGET,       /* the key's own monthly cap in the project */
};
struct ksm_ai_reservation {
    char project[40], key[40];
    enum ksm_ai_over refused;    /* when RATE_LIMITED: which limit */
    int64_t month;               /* yyyymm in JST */
    int64_t cost_microyen;       /* reserved */
    int64_t tokens;              /* reserved against tpm */
    int64_t window_ms;           /* the quota minute the tokens were counted in */
    bool active;
    /* What the caller may still send this minute, told in the answer's rate-limit headers (as
     * OpenAI, Azure OpenAI and Anthropic tell theirs): of the project's and the key's quota, the one
     * with less left; limit 0 when neither has one. Filled when refused too (remaining 0). */
    struct ksm_ai_quota_left {
        int64_t limit, remaining;
    } reqs, toks;
    int64_t reset_ms;            /* when this minute's quotas start again (Unix ms) */
};
enum ksm_err ksm_ai_reserve(struct ksm_db *db, const char *project, const char *key,
                            const struct ksm_ai_policy *pol, int64_t est_tokens, int64_t est_cost,
                            int64_t now_ms, struct ksm_ai_reservation *out, int *retry_after_s);
/* Replaces the reservation by what was really spent (after the usage record is written). */
void ksm_ai_settle(struct ksm_ai_reservation *res, int64_t actual_tokens, int64_t actual_cost);
/* Spend this month and budget, for GET .../budget and alerts. */
enum ksm_err ksm_ai_budget_status(struct ksm_db *db, const char *project, int64_t now_ms, json_t **out);
/* A key's cap in the project and its spend this month: {project, key, month, monthly_yen|null,
 * spent_microyen, spent_yen, reserved_microyen, in_flight, remaining_microyen|null, resets_at}. */
enum ksm_err ksm_ai_key_budget_status(struct ksm_db *db, const char *project, const char *key,
                                      int64_t now_ms, json_t **out);
/* Every key of the project with a cap, a list of models or use this month: {project, month,
 * resets_at, items: [the above without project and month, and user, requests, tokens, models]}. */
enum ksm_err ksm_ai_key_budget_list(struct ksm_db *db, const char *project, int64_t now_ms,
                                    json_t **out);

/* What the guardrail of this environment would do with text under this policy, for a request of
 * that class (0: unlabelled) bound (or not) abroad: {classification, marked, decision, reason,
 * masked, text} (text: as the model would get it; null when refused). Nothing is kept. New
 * reference. */
json_t *ksm_ai_policy_check(const struct ksm_ai_policy *pol, enum ksm_env_kind env, const char *text,
                            size_t len, int classification, bool overseas);

/* ==== below: what the admin API and the tests need (docs/ai-admin.md) ====
 * Writes are one transaction and bump the AI generation, so every thread's memo forgets what it
 * knew. Functions that validate client input fill why (KSM_AI_WHY bytes) with a message naming the
 * field; NOT_FOUND never says more than that. */
#define KSM_AI_WHY 256

/* Where targets may point, from the node's config: in govcloud a target outside JP needs a base_url
 * that starts with one of the operator's overseas_allow prefixes. */
#define KSM_AI_MAX_ALLOW 16
struct ksm_ai_rules {
    bool govcloud;
    const char *overseas_allow[KSM_AI_MAX_ALLOW];
    int noverseas;
    bool *refused_abroad;   /* optional: set when a target is refused for its jurisdiction (audited) */
};
/* The rules of a config (points into it). */
struct ksm_conf;
void ksm_ai_rules_from_conf(const struct ksm_conf *c, struct ksm_ai_rules *out);
/* May this target be used under these rules? (the gateway re-checks at call time: the allow-list
 * may have shrunk since the route was written). */
bool ksm_ai_target_allowed(const struct ksm_ai_rules *rules, const struct ksm_ai_target *t);
/* The host (and port) of a base URL into buf: metrics and records say where, never a path or a
 * query (which may carry a deployment's name or a key). */
const char *ksm_ai_url_host(const char *url, char *buf, size_t n);

/* Request bodies: valid UTF-8, one JSON object, no duplicate keys. INVALID_JSON otherwise. */
enum ksm_err ksm_ai_json_load(const char *body, size_t len, json_t **out, char *why);

/* ---- model routes (ai_routes_store.c); ids "mr_..." ---- */
/* body: {alias, targets:[...]} (create: both required; update: either). rules NULL: no allow-list
 * check (reading stored rows). */
enum ksm_err ksm_ai_route_parse(json_t *body, bool partial, const struct ksm_ai_rules *rules,
                                struct ksm_ai_route *out, bool *has_alias, bool *has_targets,
                                char *why);
json_t *ksm_ai_route_json(const struct ksm_ai_route *rt);
enum ksm_err ksm_ai_route_create(struct ksm_db *db, const char *tenant, const char *project,
                                 json_t *body, const struct ksm_ai_rules *rules, json_t **out,
                                 char *why);
enum ksm_err ksm_ai_route_get(struct ksm_db *db, const char *id, json_t **out);
/* The route's tenant and project (KSM_AI_ID bytes each), for authorisation. */
#define KSM_AI_ID 40
enum ksm_err ksm_ai_route_owner(struct ksm_db *db, const char *id, char *tenant, char *project);
enum ksm_err ksm_ai_route_update(struct ksm_db *db, const char *id, json_t *body,
                                 const struct ksm_ai_rules *rules, json_t **out, char *why);
enum ksm_err ksm_ai_route_delete(struct ksm_db *db, const char *id);
enum ksm_err ksm_ai_route_list(struct ksm_db *db, const char *project, const char *after,
                               int limit, json_t *items);

/* ---- prices (ai_price.c); ids "mp_..." ---- */
/* "0.15", "12", 3 → micro-yen (150000, 12000000, 3000000). -1 for negatives, more than 6 decimals,
 * more than KSM_AI_YEN_MAX yen, or anything else. */
#define KSM_AI_YEN_MAX 1000000000LL
int ksm_ai_yen_parse(const char *s, int64_t *microyen);
/* micro-yen → "0.15" (no trailing zeros; out needs 32 bytes) */
void ksm_ai_yen_format(int64_t microyen, char *out);
/* body: {model, prompt_per_1k, completion_per_1k, cached_per_1k?, effective_from?}. An
 * effective_from more than a minute before now_ms is refused: prices never change retroactively. */
enum ksm_err ksm_ai_price_add(struct ksm_db *db, json_t *body, int64_t now_ms, json_t **out,
                              char *why);
enum ksm_err ksm_ai_price_list(struct ksm_db *db, const char *model, const char *after, int limit,
                               json_t *items);

/* ---- budgets (ai_budget.c) ---- */
#define KSM_AI_MAX_ALERTS 8
struct ksm_ai_budget {
    int64_t monthly_microyen;             /* -1: none set (unlimited) */
    int nalerts;
    int alerts[KSM_AI_MAX_ALERTS];        /* percent of the budget, ascending */
};
/* body: {monthly_yen, alert_thresholds?} */
enum ksm_err ksm_ai_budget_set(struct ksm_db *db, const char *tenant, const char *project,
                               json_t *body, char *why);
/* Removes the project's budget (unlimited again); none is not an error. */
enum ksm_err ksm_ai_budget_delete(struct ksm_db *db, const char *project);
/* The budget, or monthly_microyen -1 when none. */
enum ksm_err ksm_ai_budget_load(struct ksm_db *db, const char *project, struct ksm_ai_budget *out);
/* A key's own monthly cap inside a project, body {monthly_yen, alert_thresholds?} as a project's:
 * what the key's calls there may spend in a JST month, within the project's budget; billing
 * announces its thresholds as the project's. The caller checked that the key may act in the
 * project. Delete: none is not an error. Load: monthly_microyen -1 when none. Each: the keys of the project with a
 * cap or a list of models (below), by key id. */
enum ksm_err ksm_ai_key_budget_set(struct ksm_db *db, const char *tenant, const char *project,
                                   const char *key, json_t *body, char *why);
enum ksm_err ksm_ai_key_budget_delete(struct ksm_db *db, const char *project, const char *key);
enum ksm_err ksm_ai_key_budget_load(struct ksm_db *db, const char *project, const char *key,
                                    struct ksm_ai_budget *out);
enum ksm_err ksm_ai_key_settings_each(struct ksm_db *db, const char *project,
                                      void (*fn)(void *arg, const char *key), void *arg);
/* Which of the project's models a key may call there (ai_key_models.c). Set: body {models:
 * [alias, ...]} (0..32; [] is none); delete: every model again (none is not an error). Get: the
 * list as "|a|b|" into allowed (KSM_AI_KEY_MODELS_MAX bytes), "" when the key has none — memoised
 * per thread, so the request path costs no SQL. Allow: may a call name model under that list.
 * Json: the list as an array, or null for none. */
#define KSM_AI_KEY_MODELS_MAX 1024
enum ksm_err ksm_ai_key_models_set(struct ksm_db *db, const char *tenant, const char *project,
                                   const char *key, json_t *body, char *why);
enum ksm_err ksm_ai_key_models_delete(struct ksm_db *db, const char *project, const char *key);
enum ksm_err ksm_ai_key_models_get(struct ksm_db *db, const char *project, const char *key,
                                   char *allowed);
bool ksm_ai_key_models_allow(const char *allowed, const char *model);
json_t *ksm_ai_key_models_json(const char *allowed);

/* A key's own requests and tokens a minute in a project, in place of the policy's key_rpm and
 * key_tpm for that key (ai_key_rates.c). Set: body {rpm?, tpm?} (0..10⁹; 0 is no limit for the
 * key; null or absent: the project's); delete: the project's again (none is not an error). Load:
 * KSM_AI_RATE_PROJECTS for what the key does not set. Applied: what holds under the policy. Json:
 * {rpm, tpm (null: the project's)}, and applied_rpm, applied_tpm when pol is given. */
#define KSM_AI_RATE_PROJECTS (-1)
struct ksm_ai_key_rates {
    int64_t rpm, tpm;
};
enum ksm_err ksm_ai_key_rates_set(struct ksm_db *db, const char *tenant, const char *project,
                                  const char *key, json_t *body, char *why);
enum ksm_err ksm_ai_key_rates_delete(struct ksm_db *db, const char *project, const char *key);
enum ksm_err ksm_ai_key_rates_load(struct ksm_db *db, const char *project, const char *key,
                                   struct ksm_ai_key_rates *out);
struct ksm_ai_key_rates ksm_ai_key_rates_applied(const struct ksm_ai_key_rates *r,
                                                 const struct ksm_ai_policy *pol);
json_t *ksm_ai_key_rates_json(const struct ksm_ai_key_rates *r, const struct ksm_ai_policy *pol);

/* ---- AI policy (ai_policy.c) ---- */
void ksm_ai_policy_defaults(struct ksm_ai_policy *p);
/* cur with the fields of body applied (fields not given keep cur's values). */
enum ksm_err ksm_ai_policy_merge(const struct ksm_ai_policy *cur, json_t *body,
                                 struct ksm_ai_policy *out, char *why);
json_t *ksm_ai_policy_json(const struct ksm_ai_policy *p);
enum ksm_err ksm_ai_policy_put(struct ksm_db *db, const char *tenant, const char *project,
                               const struct ksm_ai_policy *p);

/* ---- ledger helpers (ai_ledger.c) ---- */
/* yyyymm of the JST month of t, and the UTC ms bounds [start, end) of that month. */
int64_t ksm_ai_jst_month(int64_t t_ms, int64_t *start_ms, int64_t *end_ms);
/* Forgets every project's and key's in-memory state (tests; a restart does the same). */
void ksm_ai_ledger_reset(void);

#endif
