/* template.h — declarative templates (SPEC.md R; docs/templates.md): JSON documents that describe a
 * tenant's projects with their tags, buckets, AI budget, AI policy, model routes and role bindings.
 * plan diffs a document against the live registry (and reports drift: manual changes to resources a
 * template made), apply makes the registry match (idempotent), and every apply of a changed
 * document is a new version that the resources it touches record.
 *
 * The platform operator's mandatory template adds guardrails (required tags, allowed regions, a
 * budget cap, 機密性2 overseas forbidden) and defaults; every project created while it is set is
 * attached to it, and the guardrails then hold on the normal admin and S3 APIs too, not only here.
 *
 * This subsystem sits above iam, storage and ai (like the admin API): it drives their C APIs and
 * they never call it, except through the bucket guard hook that storage exposes. */
#ifndef KSM_TEMPLATE_H
#define KSM_TEMPLATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/db.h"
#include "core/error.h"

#define KSM_TPL_WHY 512           /* bytes of a reason (may list several refusals) */
#define KSM_TPL_MAX_PROJECTS 100
#define KSM_TPL_MAX_ITEMS 100     /* buckets, routes or bindings per project */
#define KSM_TPL_MAX_TAGS 50
#define KSM_TPL_MAX_REGIONS 8
#define KSM_TPL_MAX_DOC (1 << 20) /* bytes */

struct ksm_tpl_bucket {
    const char *name, *region;    /* region NULL: the environment's default */
    json_t *tags;                 /* object or NULL (not managed) */
};

struct ksm_tpl_route {
    const char *alias;
    json_t *body;                 /* {"alias","targets"} for the AI store */
};

struct ksm_tpl_binding {
    const char *principal, *role;
};

struct ksm_tpl_project {
    const char *name, *environment, *description;   /* description NULL: not managed */
    json_t *tags;                 /* object or NULL */
    json_t *budget;               /* {"monthly_yen", "alert_thresholds"?} or NULL */
    int64_t budget_yen;           /* -1 when no budget */
    json_t *ai_policy;            /* fields applied over the live policy, or NULL */
    int nbuckets, nroutes, nbindings;
    struct ksm_tpl_bucket *buckets;
    struct ksm_tpl_route *routes;
    struct ksm_tpl_binding *bindings;
};

/* The operator's guardrails (a mandatory template's "guardrails" object). */
struct ksm_tpl_guardrails {
    int nrequired_tags;
    const char *required_tags[KSM_TPL_MAX_TAGS];
    int nregions;                 /* 0: any of the environment's regions */
    const char *regions[KSM_TPL_MAX_REGIONS];
    int64_t max_monthly_yen;      /* -1: no cap */
    bool class2_overseas_forbidden;
    unsigned pii_output;          /* bit k: enum ksm_pii_kind k redacted from model output */
    bool unscanned_refused;       /* no project may send unreadable content unread (unscanned_content) */
};

struct ksm_tpl {
    json_t *doc;                  /* the parsed document (strings above point into it) */
    const char *name;             /* "template" */
    const char *tenant;           /* NULL when not named (a mandatory template never names one) */
    bool mandatory;               /* has "guardrails" */
    struct ksm_tpl_guardrails guard;
    struct ksm_tpl_project defaults;   /* mandatory: "project_defaults" (budget, ai_policy only) */
    int nprojects;
    struct ksm_tpl_project *projects;
    char digest[65];              /* SHA-256 of the canonical document: a new one is a new version */
};

/* Parses and validates a document (structure, names, ranges; no database). OK with *out (free with
 * ksm_tpl_free), or INVALID_JSON / INVALID_ARGUMENT / UNKNOWN_FIELD with why naming the place. */
enum ksm_err ksm_tpl_parse(const char *buf, size_t len, struct ksm_tpl **out, char *why);
void ksm_tpl_free(struct ksm_tpl *t);

/* Registers the schema (before ksm_db_open) and the storage bucket guard. */
void ksm_tpl_register_schema(void);

/* ---- guardrails (tpl_guard.c): the mandatory template, enforced on every API ---- */
/* The current mandatory template (parsed; NULL when none) and its version. */
enum ksm_err ksm_tpl_mandatory_load(struct ksm_db *db, struct ksm_tpl **out, int *version);
/* Is the project attached to the mandatory template? Then *g holds the current guardrails
 * (strings point into *holder, which the caller frees with ksm_tpl_free). */
enum ksm_err ksm_tpl_guard_for(struct ksm_db *db, const char *project, bool *attached,
                               struct ksm_tpl **holder);
/* Each returns OK or GUARDRAIL with why; g NULL allows everything. */
enum ksm_err ksm_tpl_guard_tags(const struct ksm_tpl_guardrails *g, json_t *tags, char *why);
enum ksm_err ksm_tpl_guard_region(const struct ksm_tpl_guardrails *g, const char *region, char *why);
enum ksm_err ksm_tpl_guard_budget(const struct ksm_tpl_guardrails *g, int64_t yen, char *why);
enum ksm_err ksm_tpl_guard_overseas(const struct ksm_tpl_guardrails *g, bool class2_overseas,
                                    char *why);
struct ksm_ai_policy;
/* The guardrails written into AI policies: pii_output and unscanned_content. */
enum ksm_err ksm_tpl_guard_ai_policy(const struct ksm_tpl_guardrails *g,
                                     const struct ksm_ai_policy *p, char *why);
/* p raised to the guardrails (every kind they name redacted from model output, unreadable content
 * refused); true if it changed. */
bool ksm_tpl_raise_ai_policy(const struct ksm_tpl_guardrails *g, struct ksm_ai_policy *p);
/* The mandatory template t just set: every attached project's AI policy raised to its pii_output
 * and unscanned_content guardrails (tightening reaches them at once, not at their next change).
 * *n: policies changed. */
enum ksm_err ksm_tpl_raise_attached(struct ksm_db *db, const struct ksm_tpl *t, int *n);
/* For the normal APIs: the project's guardrails checked against a change (one of them). */
enum ksm_err ksm_tpl_check_project_tags(struct ksm_db *db, const char *project, json_t *tags,
                                        char *why);
enum ksm_err ksm_tpl_check_budget(struct ksm_db *db, const char *project, int64_t yen, char *why);
enum ksm_err ksm_tpl_check_overseas(struct ksm_db *db, const char *project, bool on, char *why);
enum ksm_err ksm_tpl_check_ai_policy(struct ksm_db *db, const char *project,
                                     const struct ksm_ai_policy *p, char *why);

/* ---- a new project (tpl_attach.c) ---- */
/* Before creating a project: the mandatory template's tag rule against its tags (NULL: none). */
enum ksm_err ksm_tpl_project_precheck(struct ksm_db *db, json_t *tags, char *why);
/* After creating it: stores its tags, attaches it to the mandatory template (if any) and applies
 * the template's project defaults (budget, AI policy). */
enum ksm_err ksm_tpl_project_created(struct ksm_db *db, const char *tenant, const char *project,
                                     json_t *tags, char *why);
/* Detaching: GUARDRAIL for the mandatory template; a tenant template's management records go
 * (its resources stay). *out: {"project","detached":[names]}. */
enum ksm_err ksm_tpl_detach(struct ksm_db *db, const char *project, json_t **out, char *why);
/* {"project","mandatory":{template,version}|null,"managed":[{kind,key,template,version}]} */
enum ksm_err ksm_tpl_project_info(struct ksm_db *db, const char *project, json_t **out);

/* ---- project tags (tpl_store.c) ---- */
enum ksm_err ksm_tpl_tags_get(struct ksm_db *db, const char *project, json_t **tags); /* {} if none */
enum ksm_err ksm_tpl_tags_put(struct ksm_db *db, const char *tenant, const char *project,
                              json_t *tags);
/* A tag object's shape: at most KSM_TPL_MAX_TAGS string values, keys 1..128, values ..256. */
bool ksm_tpl_tags_ok(json_t *tags, char *why);

/* ---- versions (tpl_store.c) ---- */
/* The version of (tenant, name) holding this digest, or a new one (1 + the latest) with doc. */
enum ksm_err ksm_tpl_version_record(struct ksm_db *db, const char *tenant, const struct ksm_tpl *t,
                                    const char *created_by, int *version, bool *is_new);
/* The mandatory template: its version recorded as ksm_tpl_version_record does for tenant "", and
 * made the one in force, in one transaction. */
enum ksm_err ksm_tpl_mandatory_set(struct ksm_db *db, const struct ksm_tpl *t,
                                   const char *created_by, int *version, bool *is_new);
/* The latest version of (tenant, name): 0 when none; digest (65 bytes) may be NULL. */
enum ksm_err ksm_tpl_version_latest(struct ksm_db *db, const char *tenant, const char *name,
                                    int *version, char *digest);
/* Appends {"template","version","digest","created_at","created_by"} of the tenant's templates
 * (tenant "" : the mandatory template), newest first; name NULL: every template. */
enum ksm_err ksm_tpl_version_list(struct ksm_db *db, const char *tenant, const char *name,
                                  json_t *items);
/* The management record of a resource: the spec it was last applied with (NULL when none). */
enum ksm_err ksm_tpl_managed_get(struct ksm_db *db, const char *tenant, const char *kind,
                                 const char *key, json_t **spec);
enum ksm_err ksm_tpl_managed_put(struct ksm_db *db, const char *tenant, const char *kind,
                                 const char *key, const char *project, const char *name,
                                 int version, json_t *spec);

/* ---- plan and apply (tpl_plan.c) ---- */
/* What the environment offers (regions for buckets, AI target rules). */
struct ksm_ai_rules;
struct ksm_store;
struct ksm_tpl_env {
    struct ksm_store *store;      /* NULL: buckets cannot be managed (overseas-ai) */
    const struct ksm_ai_rules *ai_rules;
    const char *actor;            /* user id, recorded with a new version */
};
/* Diffs t (for tenant) against the registry. *out: {"template","tenant","version","next_version",
 * "changes":[{kind,key,project,action,drift,diff:[{field,live,desired}]}],"summary"}; GUARDRAIL
 * with why when the document would weaken the mandatory template; INVALID_ARGUMENT for what the
 * registry refuses outright (an unknown principal, a bucket that would change region). */
enum ksm_err ksm_tpl_plan(struct ksm_db *db, const struct ksm_tpl_env *env, const char *tenant,
                          const struct ksm_tpl *t, json_t **out, char *why);
/* Plans, then makes every change; records a new version when the document changed. *out: the
 * plan with "applied": true and "version". Each store write is its own transaction: after a
 * failure part may be done, and applying again finishes it. */
enum ksm_err ksm_tpl_apply(struct ksm_db *db, const struct ksm_tpl_env *env, const char *tenant,
                           const struct ksm_tpl *t, json_t **out, char *why);

#endif
