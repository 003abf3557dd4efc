/* roles.c — the role → permission table (SPEC.md U). Roles are bound to users or groups at a scope
 * (platform, tenant, project); a binding grants the role's permissions there and, for platform and
 * tenant scope, everywhere beneath. Later issues add roles and permissions here, in this one table:
 * the route table's permission column names what each route needs. Grants are listed one by one
 * (no "project.*" patterns) so that a new permission is never granted by accident; only
 * platform_admin has "*". */
#include "iam/iam.h"

#include <string.h>

#include "core/util.h"

#define PL KSM_ROLE_AT_PLATFORM
#define TN KSM_ROLE_AT_TENANT
#define PJ KSM_ROLE_AT_PROJECT

static const char *const perms_platform_admin[] = {"*", NULL};

static const char *const perms_tenant_admin[] = {
    "tenant.read",
    "project.create", "project.list", "project.read", "project.update", "project.delete",
    "user.create", "user.list", "user.read", "user.update", "user.delete",
    "group.create", "group.list", "group.read", "group.update", "group.delete",
    "binding.create", "binding.list", "binding.read", "binding.delete",
    "key.create", "key.list", "key.read", "key.revoke",
    "audit.read", "usage.read",
    "ai.invoke", "ai.route.read", "ai.route.write", "ai.policy.read", "ai.policy.write",
    "ai.policy.overseas", "ai.budget.read", "ai.budget.write",
    "billing.webhook.read", "billing.webhook.write",
    "storage.quota.read", "storage.quota.write",
    "s3.bucket.list", "s3.bucket.create", "s3.bucket.read", "s3.bucket.write", "s3.bucket.delete",
    "s3.object.read", "s3.object.write", "s3.object.delete",
    "s3.object.retention", "s3.object.bypass_governance",
    "kms.key.read", "kms.key.manage", "kms.key.destroy",
    "data.export",   /* the tenant takes its data when the contract ends (SPEC 11(3)) */
    "erasure.request", "erasure.confirm", "erasure.read",   /* SPEC 11(9): its own data, any time */
    "supply.case.read", "supply.case.write",   /* the agency submits its procurement cases */
    "template.read", "template.apply",         /* its templates; never the mandatory one */
    NULL};

/* manages one project: its bindings and the keys narrowed to it, not the tenant's users. It holds
 * what member and billing_viewer hold, so that it can grant those roles in its project. */
static const char *const perms_project_admin[] = {
    "tenant.read", "project.list", "project.read", "project.update",
    "binding.create", "binding.list", "binding.read", "binding.delete",
    "key.list", "key.read", "key.revoke",
    "audit.read", "usage.read",
    /* its model routes and policy, but neither its budget (the tenant's money) nor sending
     * 機密性2 abroad (the tenant administrator's decision, SPEC.md O4) */
    "ai.invoke", "ai.route.read", "ai.route.write", "ai.policy.read", "ai.policy.write",
    "ai.budget.read", "storage.quota.read",   /* the quota is the tenant's to set, as the budget */
    "billing.webhook.read",
    "s3.bucket.list", "s3.bucket.create", "s3.bucket.read", "s3.bucket.write", "s3.bucket.delete",
    "s3.object.read", "s3.object.write", "s3.object.delete",
    "s3.object.retention",   /* sets locks and holds; bypassing GOVERNANCE is the tenant's */
    NULL};

/* uses the project's services: models, and the objects in its buckets (not the buckets' lifecycle) */
static const char *const perms_member[] = {
    "tenant.read", "project.list", "project.read",
    "ai.invoke",
    "s3.bucket.list", "s3.bucket.read", "s3.object.read", "s3.object.write", "s3.object.delete",
    NULL};

/* read-only, including the audit log, never a secret */
static const char *const perms_auditor[] = {
    "tenant.read", "project.list", "project.read",
    "user.list", "user.read", "group.list", "group.read",
    "binding.list", "binding.read", "key.list", "key.read",
    "audit.read", "usage.read",
    "ai.route.read", "ai.policy.read", "ai.budget.read", "storage.quota.read",
    "billing.webhook.read",
    "s3.bucket.list", "s3.bucket.read",
    "kms.key.read", "template.read",
    "supply.case.read",
    NULL};

static const char *const perms_billing_viewer[] = {
    "tenant.read", "project.list", "project.read", "usage.read",
    "ai.budget.read", "storage.quota.read", "billing.webhook.read",
    NULL};

/* the reviewing bodies of the IT procurement agreement (NISC, デジタル庁): bound at platform scope,
 * they read every agency's cases, keep the concern list and give advice; they change no case */
static const char *const perms_supply_reviewer[] = {
    "supply.case.read", "supply.review", "supply.concern.read", "supply.concern.write",
    "supply.stats.read",
    NULL};

/* the service credential of the governed path (SPEC.md O4), bound at platform scope in overseas-ai
 * to the user whose api key govcloud presents: it may call models for any tenant and project that
 * govcloud names (X-Kasumi-On-Behalf-Tenant/-Project), and nothing else — no admin API at all */
static const char *const perms_ai_relay[] = {"ai.invoke.on_behalf", NULL};

/* Held implicitly by every principal in its own tenant (platform users: at platform scope). The
 * handlers use key.self only for the caller's own keys, which is how a user manages its keys. */
static const char *const perms_self[] = {"key.self", NULL};

const struct ksm_role ksm_iam_roles[] = {
    {"platform_admin", "operates the environment: onboards tenants, everything everywhere", PL,
     perms_platform_admin},
    {"tenant_admin", "manages a tenant: projects, users, groups, bindings, keys; reads its audit log",
     TN, perms_tenant_admin},
    {"project_admin", "manages a project's bindings and keys", TN | PJ, perms_project_admin},
    {"member", "uses a tenant's or project's services", TN | PJ, perms_member},
    {"auditor", "reads everything in scope, including the audit log; changes nothing", PL | TN | PJ,
     perms_auditor},
    {"billing_viewer", "reads usage and costs", PL | TN | PJ, perms_billing_viewer},
    {"supply_reviewer", "reviews supply-chain registers of every agency and gives advice", PL,
     perms_supply_reviewer},
    {"ai_relay", "govcloud's service credential in overseas-ai: calls models for the tenant and "
     "project govcloud names", PL, perms_ai_relay},
    {"self", "implicit: a principal's own keys", 0, perms_self},
};

const int ksm_iam_nroles = (int)KSM_NELEM(ksm_iam_roles);

const struct ksm_role *ksm_iam_role_find(const char *name)
{
    for (int i = 0; name && i < ksm_iam_nroles; i++)
        if (!strcmp(ksm_iam_roles[i].name, name))
            return &ksm_iam_roles[i];
    return NULL;
}

bool ksm_iam_role_grants(const struct ksm_role *role, const char *permission)
{
    for (const char *const *p = role->permissions; *p; p++)
        if (!strcmp(*p, "*") || !strcmp(*p, permission))
            return true;
    return false;
}

json_t *ksm_iam_roles_json(void)
{
    static const struct {
        unsigned bit;
        const char *name;
    } scope_names[] = {{PL, "platform"}, {TN, "tenant"}, {PJ, "project"}};
    json_t *items = json_array();
    for (int i = 0; i < ksm_iam_nroles; i++) {
        const struct ksm_role *r = &ksm_iam_roles[i];
        json_t *scopes = json_array(), *perms = json_array();
        for (size_t k = 0; k < KSM_NELEM(scope_names); k++)
            if (r->scopes & scope_names[k].bit)
                json_array_append_new(scopes, json_string(scope_names[k].name));
        for (const char *const *p = r->permissions; *p; p++)
            json_array_append_new(perms, json_string(*p));
        json_array_append_new(items, json_pack("{s:s,s:s,s:o,s:o,s:b}", "name", r->name,
                                               "description", r->description, "scopes", scopes,
                                               "permissions", perms, "implicit", r->scopes == 0));
    }
    return json_pack("{s:o}", "items", items);
}
