/* billing_budget.h — budgets and what follows from them (docs/billing.md, "Budgets"): the alert
 * thresholds a project's month-to-date spend crosses, the tenants' webhooks, the durable outbox of
 * notifications and its delivery, the thread that runs both, and the recommendations. The budget
 * itself is the one row per project the AI gateway reserves against (ai_budgets, src/ai/ai_budget.c).
 * Money is integer micro-yen; months are JST. */
#ifndef KSM_BILLING_BUDGET_H
#define KSM_BILLING_BUDGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/db.h"
#include "core/error.h"

#define KSM_BILLING_WH_SECRET_LEN 71 /* "whsec_" + 64 hex digits + NUL */
#define KSM_BILLING_WH_URL_MAX 512

void ksm_billing_budget_register_schema(void); /* called by ksm_billing_register_schema */

/* ---- thresholds (billing_budget.c) ------------------------------------------------------------- */
/* Every project with a budget: its spend in the JST month of now_ms (all services, from the rated
 * usage records); each threshold reached and not yet recorded this month gets, in one transaction,
 * one billing_budget_alerts row and one outbox row per webhook of its tenant (tenant-wide or for
 * the project). *crossed gets how many thresholds were recorded. */
enum ksm_err ksm_billing_budget_check(struct ksm_db *db, int64_t now_ms, int *crossed);
/* Calls fn for each recorded crossing whose audit record is not yet written (oldest first, at most
 * 100); ksm_billing_budget_audited marks one written. */
struct ksm_billing_alert {
    int64_t id;
    const char *tenant, *project, *key, *month;   /* key: "" for the project's own budget */
    int threshold;
    int64_t spent_microyen, budget_microyen;
};
typedef void (*ksm_billing_alert_fn)(void *arg, const struct ksm_billing_alert *a);
enum ksm_err ksm_billing_budget_unaudited(struct ksm_db *db, ksm_billing_alert_fn fn, void *arg);
enum ksm_err ksm_billing_budget_audited(struct ksm_db *db, int64_t id);
/* This month's recorded crossings of a project's budget (key "") or of a key's own in it:
 * [{threshold, crossed_at, spent_microyen}]. */
enum ksm_err ksm_billing_budget_alerts(struct ksm_db *db, const char *project, const char *key,
                                       const char *month, json_t *items);

/* ---- webhooks (billing_webhook.c) -------------------------------------------------------------- */
/* Is url an http(s) URL a notification can be POSTed to (scheme, host, no credentials, no
 * fragment, printable ASCII, at most KSM_BILLING_WH_URL_MAX)? why says what is wrong. */
bool ksm_billing_webhook_url_ok(const char *url, size_t len, const char **why);
/* Registers a webhook of tenant (project: NULL for every project of the tenant). The signing secret
 * is made here, sealed by seal() under "kasumi/v1/billing-webhook/<id>", and returned in *out this
 * once ("secret"). */
typedef enum ksm_err (*ksm_billing_seal_fn)(void *arg, const char *context, const char *secret,
                                            uint8_t **blob, size_t *len);
enum ksm_err ksm_billing_webhook_create(struct ksm_db *db, const char *tenant, const char *project,
                                        const char *url, const char *actor, ksm_billing_seal_fn seal,
                                        void *seal_arg, json_t **out);
enum ksm_err ksm_billing_webhook_list(struct ksm_db *db, const char *tenant, json_t *items);
/* Removes the webhook (NOT_FOUND unless it is tenant's); its undelivered notifications are
 * cancelled. */
enum ksm_err ksm_billing_webhook_delete(struct ksm_db *db, const char *tenant, const char *id);

/* ---- delivery (billing_webhook_send.c) --------------------------------------------------------- */
struct ksm_kms;
struct ksm_billing_delivery {
    struct ksm_kms *kms; /* unseals the webhooks' secrets */
    int64_t retry_ms;   /* the first retry's delay; doubled each time, at most an hour */
    int max_attempts;   /* then "failed" */
};
/* "sha256=" + hex HMAC-SHA256(secret, body) (out: 72 bytes). */
void ksm_billing_webhook_sign(const char *secret, const char *body, size_t len, char out[72]);
/* The delay before attempt n+1 after n failed attempts. */
int64_t ksm_billing_webhook_backoff(int64_t retry_ms, int attempts);
/* POSTs every notification due at now_ms; *sent gets how many were tried. */
enum ksm_err ksm_billing_deliver_due(struct ksm_db *db, const struct ksm_billing_delivery *d,
                                     int64_t now_ms, int *sent);
/* The tenant's notifications, newest first, with their delivery state. */
enum ksm_err ksm_billing_notification_list(struct ksm_db *db, const char *tenant, int limit,
                                           int64_t before_id, json_t *items);

/* ---- the notifier thread (billing_notifier.c) -------------------------------------------------- */
struct ksm_audit;
struct ksm_billing_notifier_opts {
    const char *db_path;
    struct ksm_audit *audit;
    struct ksm_billing_delivery delivery;
    int interval_ms;
};
int ksm_billing_notifier_start(const struct ksm_billing_notifier_opts *o, char *err, size_t errlen);
void ksm_billing_notifier_stop(void);
/* Runs a check and a delivery round now (rather than at the next interval). */
void ksm_billing_notifier_kick(void);

/* ---- recommendations (billing_reco.c) ---------------------------------------------------------- */
/* The tenant's (narrowed to project when given) recommendations at now_ms, appended to items:
 * {kind: idle_bucket | unused_key | incomplete_multipart_upload | cheaper_model, tenant, project,
 * resource, reason, estimated_monthly_saving_microyen, estimated_monthly_saving_yen, ...}. */
enum ksm_err ksm_billing_recommendations(struct ksm_db *db, const char *tenant, const char *project,
                                         int64_t now_ms, json_t *items);

#endif
