/* handlers.h — the admin API's handlers, one file per resource (h_<resource>.c). Each returns
 * KSM_E_OK after setting the response (ksm_reply_json), or an error (ksm_fail) that the dispatcher
 * renders as {"error":{"code","message","request_id"}}. */
#ifndef KSM_HANDLERS_H
#define KSM_HANDLERS_H
#include "admin/route.h"

/* h_system.c */
enum ksm_err ksm_h_healthz(struct ksm_req *r);
enum ksm_err ksm_h_readyz(struct ksm_req *r);
enum ksm_err ksm_h_metrics(struct ksm_req *r);
enum ksm_err ksm_h_routes(struct ksm_req *r);
enum ksm_err ksm_h_whoami(struct ksm_req *r);
/* h_auth.c: the console's browser sign-in, and the dispatcher's cookie authentication */
enum ksm_err ksm_h_auth_login(struct ksm_req *r);
enum ksm_err ksm_h_auth_callback(struct ksm_req *r);
enum ksm_err ksm_h_auth_session(struct ksm_req *r);
enum ksm_err ksm_h_auth_logout(struct ksm_req *r);
enum ksm_err ksm_h_auth_providers(struct ksm_req *r);
enum ksm_err ksm_h_auth_local(struct ksm_req *r);
enum ksm_err ksm_auth_cookie(struct ksm_req *r);
/* h_storage_buckets.c */
enum ksm_err ksm_h_bucket_list(struct ksm_req *r);
/* h_storage_objects.c */
enum ksm_err ksm_h_object_list(struct ksm_req *r);
enum ksm_err ksm_h_object_get(struct ksm_req *r);
enum ksm_err ksm_h_object_put(struct ksm_req *r);
enum ksm_err ksm_h_object_delete(struct ksm_req *r);
/* A storage usage record of the request (service storage, the bucket as the resource), as S3's. */
struct ksm_bucket;
void ksm_h_storage_meter(struct ksm_req *r, const struct ksm_bucket *b, const char *name,
                         uint64_t q);
/* h_console.c: the web console's files */
enum ksm_err ksm_h_console(struct ksm_req *r);
enum ksm_err ksm_h_roles(struct ksm_req *r);

/* h_tenants.c */
enum ksm_err ksm_h_tenant_create(struct ksm_req *r);
enum ksm_err ksm_h_tenant_list(struct ksm_req *r);
enum ksm_err ksm_h_tenant_get(struct ksm_req *r);
enum ksm_err ksm_h_tenant_update(struct ksm_req *r);
enum ksm_err ksm_h_tenant_suspend(struct ksm_req *r);
enum ksm_err ksm_h_tenant_resume(struct ksm_req *r);

/* h_projects.c */
enum ksm_err ksm_h_project_create(struct ksm_req *r);
enum ksm_err ksm_h_project_list(struct ksm_req *r);
enum ksm_err ksm_h_project_get(struct ksm_req *r);
enum ksm_err ksm_h_project_update(struct ksm_req *r);
enum ksm_err ksm_h_project_delete(struct ksm_req *r);

/* h_users.c */
enum ksm_err ksm_h_user_create(struct ksm_req *r);
enum ksm_err ksm_h_user_list(struct ksm_req *r);
enum ksm_err ksm_h_user_get(struct ksm_req *r);
enum ksm_err ksm_h_user_update(struct ksm_req *r);
enum ksm_err ksm_h_user_delete(struct ksm_req *r);

/* h_groups.c */
enum ksm_err ksm_h_group_create(struct ksm_req *r);
enum ksm_err ksm_h_group_list(struct ksm_req *r);
enum ksm_err ksm_h_group_get(struct ksm_req *r);
enum ksm_err ksm_h_group_delete(struct ksm_req *r);
enum ksm_err ksm_h_group_member_add(struct ksm_req *r);
enum ksm_err ksm_h_group_member_remove(struct ksm_req *r);

/* h_sso.c */
enum ksm_err ksm_h_sso_map_create(struct ksm_req *r);
enum ksm_err ksm_h_sso_map_list(struct ksm_req *r);
enum ksm_err ksm_h_sso_map_delete(struct ksm_req *r);

/* h_erasure.c */
enum ksm_err ksm_h_erasure_request(struct ksm_req *r);
enum ksm_err ksm_h_erasure_confirm(struct ksm_req *r);
enum ksm_err ksm_h_erasure_get(struct ksm_req *r);
enum ksm_err ksm_h_erasure_by_token(struct ksm_req *r);

/* h_bindings.c */
enum ksm_err ksm_h_binding_create(struct ksm_req *r);
enum ksm_err ksm_h_binding_list(struct ksm_req *r);
enum ksm_err ksm_h_binding_get(struct ksm_req *r);
enum ksm_err ksm_h_binding_delete(struct ksm_req *r);

/* h_keys.c */
enum ksm_err ksm_h_key_create(struct ksm_req *r);
enum ksm_err ksm_h_key_list(struct ksm_req *r);
enum ksm_err ksm_h_key_get(struct ksm_req *r);
enum ksm_err ksm_h_key_revoke(struct ksm_req *r);

/* h_kms.c */
enum ksm_err ksm_h_kms_key_list(struct ksm_req *r);
enum ksm_err ksm_h_kms_key_rotate(struct ksm_req *r);
enum ksm_err ksm_h_kms_key_disable(struct ksm_req *r);
enum ksm_err ksm_h_kms_key_enable(struct ksm_req *r);
enum ksm_err ksm_h_kms_key_destroy(struct ksm_req *r);

/* h_audit.c */
enum ksm_err ksm_h_audit_query(struct ksm_req *r);
enum ksm_err ksm_h_audit_export(struct ksm_req *r);
enum ksm_err ksm_h_audit_public_key(struct ksm_req *r);
enum ksm_err ksm_h_audit_verification(struct ksm_req *r);

/* h_billing.c */
enum ksm_err ksm_h_billing_price_create(struct ksm_req *r);
enum ksm_err ksm_h_billing_price_list(struct ksm_req *r);
enum ksm_err ksm_h_billing_price_end(struct ksm_req *r);
enum ksm_err ksm_h_billing_report(struct ksm_req *r);
enum ksm_err ksm_h_billing_usage(struct ksm_req *r);
enum ksm_err ksm_h_billing_month_close(struct ksm_req *r);
enum ksm_err ksm_h_billing_month_list(struct ksm_req *r);
enum ksm_err ksm_h_billing_recompute(struct ksm_req *r);
/* h_usage.c */
enum ksm_err ksm_h_usage_query(struct ksm_req *r);

/* h_ai_common.c: shared by the AI configuration handlers */
struct ksm_ai_rules;
enum ksm_err ksm_h_ai_body(struct ksm_req *r, json_t **out);   /* strict nested JSON body */
void ksm_h_ai_rules(struct ksm_req *r, struct ksm_ai_rules *rules);   /* from the node config */
enum ksm_err ksm_h_ai_decisions(struct ksm_req *r);
enum ksm_err ksm_h_ai_destinations(struct ksm_req *r);
enum ksm_err ksm_h_ai_project_tenant(struct ksm_req *r, char *tenant);   /* of {project} */
/* PUT, GET or DELETE of a key's setting in {project} (its budget, its models, its rate limits):
 * {key} must be an API key that may act in the project (anything else 404, the same for every
 * key); GET is authorised here (read_perm, or the key's own user); then the setting is set from
 * the body or removed, and answered as it stands. */
struct ksm_h_ai_key_setting {
    enum ksm_err (*set)(struct ksm_db *db, const char *tenant, const char *project, const char *key,
                        json_t *body, char *why);
    enum ksm_err (*del)(struct ksm_db *db, const char *project, const char *key);
    enum ksm_err (*reply)(struct ksm_req *r, const char *tenant);
    const char *what;        /* "budget", "models", "rate limits" */
    const char *read_perm;   /* GET: the project's readers; the key's own user reads it too */
};
enum ksm_err ksm_h_ai_key_setting(struct ksm_req *r, const struct ksm_h_ai_key_setting *s);
enum ksm_err ksm_h_ai_key_rates(struct ksm_req *r);
/* Both: the {project}'s tenant, then the strict JSON body (answered when either fails). */
enum ksm_err ksm_h_ai_project_body(struct ksm_req *r, char *tenant, json_t **body);

/* h_ai_routes.c */
enum ksm_err ksm_h_ai_route_create(struct ksm_req *r);
enum ksm_err ksm_h_ai_route_list(struct ksm_req *r);
enum ksm_err ksm_h_ai_route_get(struct ksm_req *r);
enum ksm_err ksm_h_ai_route_update(struct ksm_req *r);
enum ksm_err ksm_h_ai_route_delete(struct ksm_req *r);

/* h_ai_prices.c */
enum ksm_err ksm_h_ai_price_create(struct ksm_req *r);
enum ksm_err ksm_h_ai_price_list(struct ksm_req *r);

/* h_storage_quota.c */
enum ksm_err ksm_h_storage_quota_put(struct ksm_req *r);
enum ksm_err ksm_h_storage_quota_get(struct ksm_req *r);
enum ksm_err ksm_h_storage_quota_delete(struct ksm_req *r);
/* h_billing_budget.c */
enum ksm_err ksm_h_billing_webhook_create(struct ksm_req *r);
enum ksm_err ksm_h_billing_webhook_list(struct ksm_req *r);
enum ksm_err ksm_h_billing_webhook_delete(struct ksm_req *r);
enum ksm_err ksm_h_billing_notification_list(struct ksm_req *r);
enum ksm_err ksm_h_billing_recommendations(struct ksm_req *r);

/* h_ai_budget.c */
enum ksm_err ksm_h_ai_budget_put(struct ksm_req *r);
enum ksm_err ksm_h_ai_budget_get(struct ksm_req *r);
enum ksm_err ksm_h_ai_budget_delete(struct ksm_req *r);
enum ksm_err ksm_h_ai_key_budget(struct ksm_req *r);   /* PUT, GET, DELETE */
enum ksm_err ksm_h_ai_key_budget_list(struct ksm_req *r);
enum ksm_err ksm_h_ai_key_models(struct ksm_req *r);   /* PUT, GET, DELETE */

/* h_ai_policy.c */
enum ksm_err ksm_h_ai_policy_put(struct ksm_req *r);
enum ksm_err ksm_h_ai_policy_get(struct ksm_req *r);
enum ksm_err ksm_h_ai_policy_check(struct ksm_req *r);

/* h_templates.c: templates, the mandatory template, project tags (docs/templates.md) */
enum ksm_err ksm_h_template_validate(struct ksm_req *r);
enum ksm_err ksm_h_template_plan(struct ksm_req *r);
enum ksm_err ksm_h_template_apply(struct ksm_req *r);
enum ksm_err ksm_h_template_versions(struct ksm_req *r);
enum ksm_err ksm_h_project_template_get(struct ksm_req *r);
enum ksm_err ksm_h_project_template_detach(struct ksm_req *r);
enum ksm_err ksm_h_mandatory_template_put(struct ksm_req *r);
enum ksm_err ksm_h_mandatory_template_get(struct ksm_req *r);
enum ksm_err ksm_h_project_tags_get(struct ksm_req *r);
enum ksm_err ksm_h_project_tags_put(struct ksm_req *r);

/* h_supply_*.c: the supply-chain register (docs/supply.md) */
enum ksm_err ksm_h_supply_case_create(struct ksm_req *r);
enum ksm_err ksm_h_supply_case_list(struct ksm_req *r);
enum ksm_err ksm_h_supply_case_list_all(struct ksm_req *r);
enum ksm_err ksm_h_supply_case_get(struct ksm_req *r);
enum ksm_err ksm_h_supply_case_update(struct ksm_req *r);
enum ksm_err ksm_h_supply_deadlines(struct ksm_req *r);
enum ksm_err ksm_h_supply_list_import(struct ksm_req *r);
enum ksm_err ksm_h_supply_list_export(struct ksm_req *r);
enum ksm_err ksm_h_supply_chain_put(struct ksm_req *r);
enum ksm_err ksm_h_supply_chain_get(struct ksm_req *r);
enum ksm_err ksm_h_supply_submit(struct ksm_req *r);
enum ksm_err ksm_h_supply_review(struct ksm_req *r);
enum ksm_err ksm_h_supply_advise(struct ksm_req *r);
enum ksm_err ksm_h_supply_resolve(struct ksm_req *r);
enum ksm_err ksm_h_supply_events(struct ksm_req *r);
enum ksm_err ksm_h_supply_concern_matches(struct ksm_req *r);
enum ksm_err ksm_h_supply_concern_create(struct ksm_req *r);
enum ksm_err ksm_h_supply_concern_list(struct ksm_req *r);
enum ksm_err ksm_h_supply_concern_delete(struct ksm_req *r);
enum ksm_err ksm_h_supply_stats(struct ksm_req *r);

/* h_export.c */
enum ksm_err ksm_h_export_tenant(struct ksm_req *r);
enum ksm_err ksm_h_export_project(struct ksm_req *r);
enum ksm_err ksm_h_export_to_bucket(struct ksm_req *r);

#endif
