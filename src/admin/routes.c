/* routes.c — the admin listener's route table. One row per route; see route.h for the columns.
 * Permissions are granted by roles in src/iam/roles.c. */
#include "admin/handlers.h"

#define P KSM_SCOPE_PUBLIC
#define AU KSM_SCOPE_AUTH
#define PL KSM_SCOPE_PLATFORM
#define TN KSM_SCOPE_TENANT
#define PJ KSM_SCOPE_PROJECT
#define OB KSM_SCOPE_OBJECT
#define BD KSM_SCOPE_BODY
#define MU KSM_RF_MUTATES
#define NA KSM_RF_NO_AUDIT
#define JB KSM_RF_JSON_BODY
#define ST KSM_RF_STORES
#define SB KSM_RF_STREAMS

const struct ksm_route ksm_admin_routes[] = {
    {"GET", "/healthz", ksm_h_healthz, NULL, P, "system.health", NA, "liveness"},
    {"GET", "/readyz", ksm_h_readyz, NULL, P, "system.ready", NA, "readiness"},
    {"GET", "/metrics", ksm_h_metrics, NULL, P, "system.metrics", NA, "Prometheus metrics"},

    {"GET", "/auth/login", ksm_h_auth_login, NULL, P, "sso.login", 0, "browser sign-in: redirect to the identity provider"},
    {"GET", "/auth/callback", ksm_h_auth_callback, NULL, P, "sso.callback", MU | KSM_RF_PARKS, "browser sign-in: the provider's answer; opens a session"},
    {"GET", "/auth/providers", ksm_h_auth_providers, NULL, P, "sso.providers", 0, "the identity providers a browser can sign in with"},
    {"POST", "/auth/local", ksm_h_auth_local, NULL, P, "sso.local_signin", MU | JB, "the platform administrator's local sign-in with its API key: opens a session"},
    {"GET", "/auth/session", ksm_h_auth_session, NULL, AU, "sso.session", 0, "the signed-in user and the session's CSRF token"},
    {"POST", "/auth/logout", ksm_h_auth_logout, NULL, AU, "sso.logout", MU, "end the browser session"},

    /* the web console: public files, the same for everyone (its script calls the API below) */
    {"GET", "/console", ksm_h_console, NULL, P, "console.file", NA, "the web console: redirects to /console/"},
    {"GET", "/console/", ksm_h_console, NULL, P, "console.file", NA, "the web console's page"},
    {"GET", "/console/{file}", ksm_h_console, NULL, P, "console.file", NA, "the web console's scripts and styles, or its page for a console path"},

    {"GET", "/admin/v1/routes", ksm_h_routes, NULL, AU, "system.routes", 0, "this route table"},
    {"GET", "/admin/v1/whoami", ksm_h_whoami, NULL, AU, "iam.whoami", 0, "the calling principal and its bindings"},
    {"GET", "/admin/v1/roles", ksm_h_roles, NULL, AU, "iam.roles", 0, "roles and the permissions they grant"},

    {"POST", "/admin/v1/tenants", ksm_h_tenant_create, "tenant.create", PL, "tenant.create", MU | JB, "create a tenant"},
    {"GET", "/admin/v1/tenants", ksm_h_tenant_list, NULL, AU, "tenant.list", 0, "list the tenants the caller may see"},
    {"GET", "/admin/v1/tenants/{tenant}", ksm_h_tenant_get, "tenant.read", TN, "tenant.read", 0, "get a tenant"},
    {"PATCH", "/admin/v1/tenants/{tenant}", ksm_h_tenant_update, "tenant.update", TN, "tenant.update", MU | JB, "update a tenant's name or kind"},
    {"POST", "/admin/v1/tenants/{tenant}/suspend", ksm_h_tenant_suspend, "tenant.suspend", TN, "tenant.suspend", MU, "suspend a tenant (its principals get 403; data stays)"},
    {"POST", "/admin/v1/tenants/{tenant}/resume", ksm_h_tenant_resume, "tenant.suspend", TN, "tenant.resume", MU, "resume a suspended tenant"},

    {"POST", "/admin/v1/tenants/{tenant}/projects", ksm_h_project_create, "project.create", TN, "project.create", MU | JB, "create a project (情報システム)"},
    {"GET", "/admin/v1/tenants/{tenant}/projects", ksm_h_project_list, "project.list", TN, "project.list", 0, "list a tenant's projects"},
    {"GET", "/admin/v1/projects/{project}", ksm_h_project_get, "project.read", PJ, "project.read", 0, "get a project"},
    {"PATCH", "/admin/v1/projects/{project}", ksm_h_project_update, "project.update", PJ, "project.update", MU | JB, "update a project"},
    {"DELETE", "/admin/v1/projects/{project}", ksm_h_project_delete, "project.delete", PJ, "project.delete", MU, "delete an empty project"},

    {"POST", "/admin/v1/tenants/{tenant}/users", ksm_h_user_create, "user.create", TN, "user.create", MU | JB, "create a user"},
    {"GET", "/admin/v1/tenants/{tenant}/users", ksm_h_user_list, "user.list", TN, "user.list", 0, "list a tenant's users"},
    {"GET", "/admin/v1/users/{user}", ksm_h_user_get, "user.read", OB, "user.read", 0, "get a user"},
    {"PATCH", "/admin/v1/users/{user}", ksm_h_user_update, "user.update", OB, "user.update", MU | JB, "update or disable a user"},
    {"DELETE", "/admin/v1/users/{user}", ksm_h_user_delete, "user.delete", OB, "user.delete", MU, "delete a user (revokes its keys)"},

    {"POST", "/admin/v1/platform/users", ksm_h_user_create, "user.create", PL, "user.create", MU | JB, "create a platform-level user (an operator)"},
    {"GET", "/admin/v1/platform/users", ksm_h_user_list, "user.list", PL, "user.list", 0, "list platform-level users"},

    {"POST", "/admin/v1/tenants/{tenant}/groups", ksm_h_group_create, "group.create", TN, "group.create", MU | JB, "create a group"},
    {"GET", "/admin/v1/tenants/{tenant}/groups", ksm_h_group_list, "group.list", TN, "group.list", 0, "list a tenant's groups"},
    {"GET", "/admin/v1/groups/{group}", ksm_h_group_get, "group.read", OB, "group.read", 0, "get a group and its members"},
    {"DELETE", "/admin/v1/groups/{group}", ksm_h_group_delete, "group.delete", OB, "group.delete", MU, "delete a group"},
    {"PUT", "/admin/v1/groups/{group}/members/{user}", ksm_h_group_member_add, "group.update", OB, "group.member.add", MU, "add a user to a group"},
    {"DELETE", "/admin/v1/groups/{group}/members/{user}", ksm_h_group_member_remove, "group.update", OB, "group.member.remove", MU, "remove a user from a group"},

    {"POST", "/admin/v1/role-bindings", ksm_h_binding_create, NULL, BD, "binding.create", MU | JB, "bind a role to a user or group at a scope"},
    {"GET", "/admin/v1/role-bindings", ksm_h_binding_list, NULL, AU, "binding.list", 0, "list role bindings (?scope=, ?principal=)"},
    {"GET", "/admin/v1/role-bindings/{binding}", ksm_h_binding_get, "binding.read", OB, "binding.read", 0, "get a role binding"},
    {"DELETE", "/admin/v1/role-bindings/{binding}", ksm_h_binding_delete, "binding.delete", OB, "binding.delete", MU, "delete a role binding"},
    {"POST", "/admin/v1/sso/group-roles", ksm_h_sso_map_create, NULL, BD, "sso.map.create", MU | JB, "map an IdP group to a role at a scope (SSO)"},
    {"GET", "/admin/v1/sso/group-roles", ksm_h_sso_map_list, NULL, AU, "sso.map.list", 0, "list group → role mappings"},
    {"DELETE", "/admin/v1/sso/group-roles/{mapping}", ksm_h_sso_map_delete, NULL, BD, "sso.map.delete", MU, "delete a mapping and the bindings it made"},

    {"POST", "/admin/v1/keys", ksm_h_key_create, NULL, BD, "key.create", MU | JB, "create an API key (the secret is shown once)"},
    {"GET", "/admin/v1/keys", ksm_h_key_list, NULL, AU, "key.list", 0, "list keys (?user=, ?tenant=)"},
    {"GET", "/admin/v1/keys/{key}", ksm_h_key_get, NULL, AU, "key.read", 0, "get a key (never its secret); own keys or key.read"},
    {"DELETE", "/admin/v1/keys/{key}", ksm_h_key_revoke, NULL, AU, "key.revoke", MU, "revoke a key; own keys or key.revoke"},

    /* data lifecycle (docs/lifecycle.md): the tenant's data as one tar archive, streamed as it is
     * made. Before the kms rows: the isolation test walks the table in order, and destroying the
     * tenant's key there ends every read and write of its data. */
    {"GET", "/admin/v1/tenants/{tenant}/export", ksm_h_export_tenant, "data.export", TN, "data.export", 0, "a tenant's data as a tar archive (objects, registry, audit, bills, manifest), streamed"},
    {"GET", "/admin/v1/projects/{project}/export", ksm_h_export_project, "data.export", PJ, "data.export", 0, "a project's data as a tar archive, streamed"},
    {"POST", "/admin/v1/tenants/{tenant}/export", ksm_h_export_to_bucket, "data.export", TN, "data.export.bucket", MU | JB | KSM_RF_PARKS, "write the archive into a bucket: {\"bucket\", \"key\", \"bucket_tenant\"?, \"project\"?}"},

    /* {kms_key}: the tenant's id (its tenant key), a bucket's id, or "bucket:<bucket name>" */
    {"GET", "/admin/v1/tenants/{tenant}/kms/keys", ksm_h_kms_key_list, "kms.key.read", TN, "kms.key.list", ST, "a tenant's encryption keys: versions, states, dates (never material)"},
    {"POST", "/admin/v1/tenants/{tenant}/kms/keys/{kms_key}/rotate", ksm_h_kms_key_rotate, "kms.key.manage", TN, "kms.key.rotate", MU | ST, "new version for new data keys; old versions kept (a tenant key re-wraps its bucket keys)"},
    {"POST", "/admin/v1/tenants/{tenant}/kms/keys/{kms_key}/disable", ksm_h_kms_key_disable, "kms.key.manage", TN, "kms.key.disable", MU | ST, "reads and writes under the key fail (KMS.DisabledException) until enabled"},
    {"POST", "/admin/v1/tenants/{tenant}/kms/keys/{kms_key}/enable", ksm_h_kms_key_enable, "kms.key.manage", TN, "kms.key.enable", MU | ST, "re-enable a disabled key"},
    {"POST", "/admin/v1/tenants/{tenant}/kms/keys/{kms_key}/destroy", ksm_h_kms_key_destroy, "kms.key.destroy", TN, "kms.key.destroy", MU | JB | ST, "crypto-erasure, irreversible: {\"confirm\": bucket name or tenant id}"},

    /* erasure (docs/lifecycle.md): request → token → confirmation by another administrator → job */
    {"POST", "/admin/v1/tenants/{tenant}/erasures", ksm_h_erasure_request, "erasure.request", TN, "erasure.request", MU | JB, "request the erasure of a bucket, a project or the tenant: answers a confirmation token"},
    {"POST", "/admin/v1/tenants/{tenant}/erasures/{erasure}/confirm", ksm_h_erasure_confirm, "erasure.confirm", TN, "erasure.confirm", MU | JB, "confirm with the token (another administrator when the tenant has several): keys destroyed, data and metadata removed, irreversible"},
    {"GET", "/admin/v1/tenants/{tenant}/erasures/{erasure}", ksm_h_erasure_get, "erasure.read", TN, "erasure.read", 0, "an erasure's state, and its signed report once done"},
    {"POST", "/admin/v1/erasure-reports", ksm_h_erasure_by_token, NULL, P, "erasure.report", JB, "an erasure's state and signed report, for the holder of its token ({\"token\"})"},

    {"GET", "/admin/v1/audit", ksm_h_audit_query, NULL, AU, "audit.query", 0, "search the audit log (?since,until,tenant,principal,action,cursor,limit)"},
    {"GET", "/admin/v1/audit/export", ksm_h_audit_export, NULL, AU, "audit.export", 0, "the same search as JSON Lines"},
    {"GET", "/admin/v1/audit/verification", ksm_h_audit_verification, NULL, AU, "audit.verification", KSM_RF_PARKS, "check the running log's hash chain and signatures now: intact, or where it breaks (audit.read)"},
    {"GET", "/admin/v1/audit/public-key", ksm_h_audit_public_key, NULL, AU, "audit.public_key", 0, "the Ed25519 key that signs the audit log (PEM)"},

    {"GET", "/admin/v1/usage", ksm_h_usage_query, NULL, AU, "usage.query", 0, "usage records (?tenant,project,service,meter,since,until)"},
    {"POST", "/admin/v1/billing/prices", ksm_h_billing_price_create, "billing.price.write", PL, "billing.price.create", MU | JB, "add a price (yen per `per` units of a meter) effective over a period"},
    {"POST", "/admin/v1/billing/prices/{price}/end", ksm_h_billing_price_end, "billing.price.write", PL, "billing.price.end", MU | JB, "end an open-ended price at a time not yet passed: {\"valid_until\": T}"},
    {"GET", "/admin/v1/billing/prices", ksm_h_billing_price_list, NULL, AU, "billing.price.list", 0, "the price list (?service=)"},
    {"GET", "/admin/v1/billing/report", ksm_h_billing_report, NULL, AU, "billing.report", 0, "monthly report (?month=YYYY-MM, tenant, project, format=json|csv|xlsx|html|pdf)"},
    {"GET", "/admin/v1/billing/usage", ksm_h_billing_usage, NULL, AU, "billing.usage", 0, "a month's cost per day, service or project (?month=YYYY-MM, group_by, tenant, project)"},
    {"GET", "/admin/v1/billing/months", ksm_h_billing_month_list, "usage.read", PL, "billing.month.list", 0, "closed months"},
    {"POST", "/admin/v1/billing/months/{month}/close", ksm_h_billing_month_close, "billing.month.close", PL, "billing.month.close", MU, "close a past JST month: its report never changes again"},
    {"POST", "/admin/v1/tenants/{tenant}/billing/webhooks", ksm_h_billing_webhook_create, "billing.webhook.write", TN, "billing.webhook.create", MU | JB, "register a URL for budget alerts (tenant-wide or one project); the signing secret is shown once"},
    {"GET", "/admin/v1/tenants/{tenant}/billing/webhooks", ksm_h_billing_webhook_list, "billing.webhook.read", TN, "billing.webhook.list", 0, "a tenant's budget alert webhooks (never their secrets)"},
    {"DELETE", "/admin/v1/tenants/{tenant}/billing/webhooks/{webhook}", ksm_h_billing_webhook_delete, "billing.webhook.write", TN, "billing.webhook.delete", MU, "remove a webhook; its undelivered notifications are cancelled"},
    {"GET", "/admin/v1/tenants/{tenant}/billing/notifications", ksm_h_billing_notification_list, "billing.webhook.read", TN, "billing.notification.list", 0, "budget alert notifications and their delivery state, newest first"},
    {"GET", "/admin/v1/billing/recommendations", ksm_h_billing_recommendations, NULL, AU, "billing.recommendations", 0, "savings with their monthly estimate: idle buckets and keys, incomplete multipart uploads, cheaper models (?tenant=T[&project=P])"},
    {"GET", "/admin/v1/billing/months/{month}/recompute", ksm_h_billing_recompute, "billing.recompute", PL, "billing.recompute", 0, "rebuild a closed month from the audit log and list the ledger rows that differ"},

    {"POST", "/admin/v1/projects/{project}/model-routes", ksm_h_ai_route_create, "ai.route.write", PJ, "ai.route.create", MU | JB, "create a model route (alias → upstream targets)"},
    {"GET", "/admin/v1/projects/{project}/model-routes", ksm_h_ai_route_list, "ai.route.read", PJ, "ai.route.list", 0, "list a project's model routes"},
    /* AUTH rows: the handler finds the route's project and authorises ai.route.read/write there */
    {"GET", "/admin/v1/model-routes/{route}", ksm_h_ai_route_get, NULL, AU, "ai.route.read", 0, "get a model route (ai.route.read at its project)"},
    {"PATCH", "/admin/v1/model-routes/{route}", ksm_h_ai_route_update, NULL, AU, "ai.route.update", MU | JB, "change a model route's alias or targets (ai.route.write)"},
    {"DELETE", "/admin/v1/model-routes/{route}", ksm_h_ai_route_delete, NULL, AU, "ai.route.delete", MU, "delete a model route (ai.route.write)"},
    {"POST", "/admin/v1/model-prices", ksm_h_ai_price_create, "ai.price.write", PL, "ai.price.create", MU | JB, "add a model price (yen per 1,000 tokens) effective from a time"},
    {"GET", "/admin/v1/ai/decisions", ksm_h_ai_decisions, NULL, AU, "ai.decisions", KSM_RF_PARKS, "AI requests allowed, masked, blocked and refused by classification, model and project (?tenant,project,since,until; usage.read)"},
    {"GET", "/admin/v1/ai/destinations", ksm_h_ai_destinations, NULL, AU, "ai.destinations", KSM_RF_PARKS, "where AI requests' content went: per jurisdiction of the model servers, by classification, and how many abroad (?tenant,project,since,until; usage.read)"},
    {"GET", "/admin/v1/model-prices", ksm_h_ai_price_list, NULL, AU, "ai.price.list", 0, "list model prices (?model=)"},
    {"PUT", "/admin/v1/projects/{project}/budget", ksm_h_ai_budget_put, "ai.budget.write", PJ, "ai.budget.set", MU | JB, "set a project's monthly AI budget (yen, JST month)"},
    {"DELETE", "/admin/v1/projects/{project}/budget", ksm_h_ai_budget_delete, "ai.budget.write", PJ, "ai.budget.delete", MU, "remove a project's AI budget (no limit again; refused under a mandatory template's cap)"},
    {"PUT", "/admin/v1/projects/{project}/keys/{key}/budget", ksm_h_ai_key_budget, "ai.budget.write", PJ, "ai.key_budget.set", MU | JB, "set an API key's own monthly AI budget in a project (yen, JST month)"},
    {"PUT", "/admin/v1/projects/{project}/keys/{key}/models", ksm_h_ai_key_models, "ai.policy.write", PJ, "ai.key_models.set", MU | JB, "set which of a project's models an API key may call there"},
    {"DELETE", "/admin/v1/projects/{project}/keys/{key}/models", ksm_h_ai_key_models, "ai.policy.write", PJ, "ai.key_models.delete", MU, "let an API key call every model of the project again"},
    {"PUT", "/admin/v1/projects/{project}/keys/{key}/rate-limits", ksm_h_ai_key_rates, "ai.policy.write", PJ, "ai.key_rates.set", MU | JB, "set an API key's own requests and tokens a minute in a project (in place of the project's key_rpm, key_tpm)"},
    {"DELETE", "/admin/v1/projects/{project}/keys/{key}/rate-limits", ksm_h_ai_key_rates, "ai.policy.write", PJ, "ai.key_rates.delete", MU, "the project's per-key quota for an API key again"},
    {"DELETE", "/admin/v1/projects/{project}/keys/{key}/budget", ksm_h_ai_key_budget, "ai.budget.write", PJ, "ai.key_budget.delete", MU, "remove an API key's own AI budget in a project (only the project's applies again)"},
    {"PUT", "/admin/v1/projects/{project}/storage-quota", ksm_h_storage_quota_put, "storage.quota.write", PJ, "storage.quota.set", MU | JB | ST, "set a project's storage quota (max_bytes, max_objects; null: no limit)"},
    {"GET", "/admin/v1/projects/{project}/storage-quota", ksm_h_storage_quota_get, "storage.quota.read", PJ, "storage.quota.read", ST, "a project's storage quota and what its buckets hold now"},
    {"DELETE", "/admin/v1/projects/{project}/storage-quota", ksm_h_storage_quota_delete, "storage.quota.write", PJ, "storage.quota.delete", MU | ST, "remove a project's storage quota"},
    {"GET", "/admin/v1/projects/{project}/buckets", ksm_h_bucket_list, "s3.bucket.list", PJ, "storage.bucket.list", ST, "a project's buckets with their sizes (the console's storage page)"},
    {"GET", "/admin/v1/projects/{project}/buckets/{bucket}/objects", ksm_h_object_list, "s3.bucket.read", PJ, "storage.object.list", ST, "a bucket's objects and folders under ?prefix (the console's object browser; ?cursor, ?limit)"},
    {"GET", "/admin/v1/projects/{project}/buckets/{bucket}/object", ksm_h_object_get, "s3.object.read", PJ, "storage.object.read", ST, "download the object ?key (streamed, as S3 GetObject)"},
    {"PUT", "/admin/v1/projects/{project}/buckets/{bucket}/object", ksm_h_object_put, "s3.object.write", PJ, "storage.object.write", MU | SB | ST, "upload the body as the object ?key (streamed into the store, any size up to 5 GiB; Content-Length required)"},
    {"DELETE", "/admin/v1/projects/{project}/buckets/{bucket}/object", ksm_h_object_delete, "s3.object.delete", PJ, "storage.object.delete", MU | ST, "delete the object ?key (as S3 DeleteObject: a delete marker in a versioned bucket)"},
    {"GET", "/admin/v1/projects/{project}/budget", ksm_h_ai_budget_get, "ai.budget.read", PJ, "ai.budget.read", 0, "a project's AI budget, this month's spend and reservations"},
    {"GET", "/admin/v1/projects/{project}/keys/{key}/budget", ksm_h_ai_key_budget, NULL, AU, "ai.key_budget.read", 0, "an API key's own AI budget in a project, and its spend this month; ai.budget.read, or the key's own user"},
    {"GET", "/admin/v1/projects/{project}/keys/{key}/rate-limits", ksm_h_ai_key_rates, NULL, AU, "ai.key_rates.read", 0, "an API key's own requests and tokens a minute in a project, and those in force; ai.policy.read, or the key's own user"},
    {"GET", "/admin/v1/projects/{project}/keys/{key}/models", ksm_h_ai_key_models, NULL, AU, "ai.key_models.read", 0, "which of a project's models an API key may call there (null: every one); ai.policy.read, or the key's own user"},
    {"GET", "/admin/v1/projects/{project}/key-budgets", ksm_h_ai_key_budget_list, "ai.budget.read", PJ, "ai.key_budget.list", 0, "every API key with a budget or with AI spend in a project this month"},
    {"PUT", "/admin/v1/projects/{project}/ai-policy", ksm_h_ai_policy_put, "ai.policy.write", PJ, "ai.policy.set", MU | JB, "set a project's AI policy (class2_overseas on needs ai.policy.overseas)"},
    {"GET", "/admin/v1/projects/{project}/ai-policy", ksm_h_ai_policy_get, "ai.policy.read", PJ, "ai.policy.read", 0, "a project's AI policy (defaults when none was set)"},
    {"POST", "/admin/v1/projects/{project}/ai-policy/check", ksm_h_ai_policy_check, "ai.policy.read", PJ, "ai.policy.check", JB, "what the project's guardrail would do with a text (class, decision, counts, the text a model would get); nothing is sent or kept"},
    /* templates (docs/templates.md): a tenant's declarative documents; the operator's mandatory
     * template and its guardrails, which the normal routes above enforce as well */
    {"POST", "/admin/v1/tenants/{tenant}/templates/validate", ksm_h_template_validate, "template.read", TN, "template.validate", JB, "validate a template document (structure, names, ranges)"},
    {"POST", "/admin/v1/tenants/{tenant}/templates/plan", ksm_h_template_plan, "template.read", TN, "template.plan", JB, "diff a template against the registry: changes, drift (audited as findings), refusals"},
    {"POST", "/admin/v1/tenants/{tenant}/templates/apply", ksm_h_template_apply, "template.apply", TN, "template.apply", MU | JB, "make the registry match a template (idempotent; a changed document is a new version)"},
    {"GET", "/admin/v1/tenants/{tenant}/templates", ksm_h_template_versions, "template.read", TN, "template.list", 0, "a tenant's template versions (?name=)"},
    {"GET", "/admin/v1/projects/{project}/template", ksm_h_project_template_get, "template.read", PJ, "template.project.read", 0, "a project's mandatory template and the resources templates manage, with their versions"},
    {"DELETE", "/admin/v1/projects/{project}/template", ksm_h_project_template_detach, "template.apply", PJ, "template.detach", MU, "stop managing a project's resources by template (refused for the mandatory template)"},
    {"PUT", "/admin/v1/platform/mandatory-template", ksm_h_mandatory_template_put, "template.mandatory.write", PL, "template.mandatory.set", MU | JB, "set the mandatory template: guardrails and defaults for every new project"},
    {"GET", "/admin/v1/platform/mandatory-template", ksm_h_mandatory_template_get, NULL, AU, "template.mandatory.read", 0, "the mandatory template in force"},
    {"PUT", "/admin/v1/projects/{project}/tags", ksm_h_project_tags_put, "project.update", PJ, "project.tags.set", MU | JB, "set a project's tags (required tags of the mandatory template stay)"},
    {"GET", "/admin/v1/projects/{project}/tags", ksm_h_project_tags_get, "project.read", PJ, "project.tags.read", 0, "a project's tags"},
    /* supply-chain register (IT調達申合せ, docs/supply.md). {case} rows are AUTH-scoped: the
     * handler finds the case's tenant and authorises the row's permission there. Rows are in
     * workflow order (the isolation test walks them in this order). */
    {"POST", "/admin/v1/tenants/{tenant}/supply-cases", ksm_h_supply_case_create, "supply.case.write", TN, "supply.case.create", MU | JB, "create a procurement case (the scope decision is computed)"},
    {"GET", "/admin/v1/tenants/{tenant}/supply-cases", ksm_h_supply_case_list, "supply.case.read", TN, "supply.case.list", 0, "list a tenant's procurement cases (?state=)"},
    {"GET", "/admin/v1/tenants/{tenant}/supply-deadlines", ksm_h_supply_deadlines, "supply.case.read", TN, "supply.case.deadlines", 0, "a tenant's upcoming case deadlines (?within_days=30)"},
    {"GET", "/admin/v1/supply-cases", ksm_h_supply_case_list_all, "supply.review", PL, "supply.case.list", 0, "every tenant's cases, for reviewers (?state=, ?tenant=)"},
    {"GET", "/admin/v1/supply-cases/{case}", ksm_h_supply_case_get, "supply.case.read", AU, "supply.case.read", 0, "get a procurement case with its scope decision and advice"},
    {"PATCH", "/admin/v1/supply-cases/{case}", ksm_h_supply_case_update, "supply.case.write", AU, "supply.case.update", MU | JB, "change a case (after advice: reopens the review)"},
    {"POST", "/admin/v1/supply-cases/{case}/lists", ksm_h_supply_list_import, "supply.case.write", AU, "supply.list.import", MU, "import an equipment list: the body is the CSV, XLSX or JSON file (?format, ?encoding)"},
    {"GET", "/admin/v1/supply-cases/{case}/list", ksm_h_supply_list_export, "supply.case.read", AU, "supply.list.export", 0, "the current equipment list in the form's layout (?format=json|csv|xlsx)"},
    {"PUT", "/admin/v1/supply-cases/{case}/chain", ksm_h_supply_chain_put, "supply.case.write", AU, "supply.chain.set", MU | JB, "set the subcontractor chain (委託 → 再委託 → 再々委託)"},
    {"GET", "/admin/v1/supply-cases/{case}/chain", ksm_h_supply_chain_get, "supply.case.read", AU, "supply.chain.read", 0, "the subcontractor chain"},
    {"POST", "/admin/v1/supply-cases/{case}/submit", ksm_h_supply_submit, "supply.case.write", AU, "supply.case.submit", MU, "submit a case for review (draft → submitted)"},
    {"POST", "/admin/v1/supply-cases/{case}/review", ksm_h_supply_review, "supply.review", AU, "supply.case.review", MU, "a reviewer takes a case (submitted → under_review)"},
    {"GET", "/admin/v1/supply-cases/{case}/concerns", ksm_h_supply_concern_matches, "supply.review", AU, "supply.concern.match", 0, "the case's list and chain matched against the concern list"},
    {"POST", "/admin/v1/supply-cases/{case}/advice", ksm_h_supply_advise, "supply.review", AU, "supply.case.advise", MU | JB, "give advice: 懸念なし, or 懸念あり with reason and alternative or mitigation"},
    {"POST", "/admin/v1/supply-cases/{case}/resolve", ksm_h_supply_resolve, "supply.case.write", AU, "supply.case.resolve", MU, "close a case after advice (懸念あり: with the measures taken)"},
    {"GET", "/admin/v1/supply-cases/{case}/events", ksm_h_supply_events, "supply.case.read", AU, "supply.case.events", 0, "a case's history: every step with its actor"},
    {"POST", "/admin/v1/supply-concerns", ksm_h_supply_concern_create, "supply.concern.write", PL, "supply.concern.create", MU | JB, "add a maker or product of concern"},
    {"GET", "/admin/v1/supply-concerns", ksm_h_supply_concern_list, "supply.concern.read", PL, "supply.concern.list", 0, "the concern list"},
    {"DELETE", "/admin/v1/supply-concerns/{concern}", ksm_h_supply_concern_delete, "supply.concern.write", PL, "supply.concern.delete", MU, "remove a concern list entry"},
    {"GET", "/admin/v1/supply-statistics", ksm_h_supply_stats, "supply.stats.read", PL, "supply.stats.read", 0, "advice given per fiscal year (助言実績; ?fiscal_year=)"},
};

const int ksm_admin_nroutes = (int)(sizeof ksm_admin_routes / sizeof ksm_admin_routes[0]);
