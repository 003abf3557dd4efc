/* iam.h — tenancy and identity (SPEC.md B1, U): tenants, projects, users, groups, roles, role bindings
 * and API keys, stored in the metadata database. This header is what the rest of the daemon needs:
 * authentication, the authorisation decision, and ownership lookups; below those, the operations
 * behind the admin API (src/admin/h_*.c call them after authorising; every SQL statement of IAM lives
 * in src/iam). */
#ifndef KSM_IAM_H
#define KSM_IAM_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/db.h"
#include "core/error.h"

#define KSM_ID_LEN 40

struct ksm_principal {
    char user_id[KSM_ID_LEN];
    char tenant_id[KSM_ID_LEN];    /* "" for platform-level users (the bootstrap admin) */
    char key_id[KSM_ID_LEN];
    char project_id[KSM_ID_LEN];   /* the key's project narrowing, "" if none */
    char name[256];
    bool no_mfa;                   /* signed in without a second factor (SSO), or an API key of a
                                    * federated user: roles that require MFA do not apply */
};

/* Roles that require a second factor ([sso] mfa_roles); set once at start (src/iam/iam_mfa.c). */
void ksm_iam_set_mfa_roles(const char (*names)[32], int n);
bool ksm_iam_role_needs_mfa(const char *role);

void ksm_iam_register_schema(void);   /* before ksm_db_open */

/* Bearer secret → principal. UNAUTHENTICATED when unknown, revoked, expired, or its user is disabled.
 * A suspended tenant's principal authenticates (so the audit log names it) but every authorisation
 * then fails with SUSPENDED. */
enum ksm_err ksm_iam_authenticate(struct ksm_db *db, const char *secret, struct ksm_principal *out);

/* The decision: may p use permission on (tenant, project)? tenant NULL (or "") means platform scope;
 * project NULL (or "") means the tenant as a whole.
 * OK; SUSPENDED when p's tenant is suspended; NOT_FOUND when the tenant or project does not exist, or
 * p has no role at all in that tenant (nor platform-wide) and is not its member, so that another
 * tenant's id and a random id look the same; FORBIDDEN when p can see the tenant but lacks the
 * permission. A key narrowed to a project only acts inside it: anything else is FORBIDDEN (in its own
 * tenant or platform-wide) or NOT_FOUND (elsewhere).
 * Every principal implicitly holds the "self" role's permissions (key.self) in its own tenant (the
 * platform scope for platform users): handlers use it only for the caller's own keys. */
enum ksm_err ksm_iam_check(struct ksm_db *db, const struct ksm_principal *p, const char *permission,
                           const char *tenant, const char *project);

/* OK, or SUSPENDED when p belongs to a suspended tenant. For AUTH-scoped routes, which have no
 * permission to check but must still refuse a suspended tenant's principals. */
enum ksm_err ksm_iam_principal_active(struct ksm_db *db, const struct ksm_principal *p);

/* No privilege escalation: OK when p holds, at (tenant, project), every permission that role grants
 * (and binding.create there); FORBIDDEN or NOT_FOUND (as ksm_iam_check) otherwise. */
enum ksm_err ksm_iam_can_grant(struct ksm_db *db, const struct ksm_principal *p, const char *role,
                               const char *tenant, const char *project);

/* A key authenticated now (its secret or signature checked): its last use, kept to the hour, is
 * written at most once an hour per key (iam_key_use.c). */
void ksm_iam_key_used(struct ksm_db *db, const char *key_id);

/* Who owns an id (tenant, project, user, group, binding, key): its tenant and, if any, project
 * ("" when none; a tenant owns itself; platform users, their keys and platform bindings have tenant
 * ""). NOT_FOUND when no such id. Buffers are KSM_ID_LEN bytes. */
enum ksm_err ksm_iam_owner(struct ksm_db *db, const char *id, char *tenant, char *project);

/* On an empty database: creates the platform administrator user, binds platform_admin and creates an
 * API key whose secret is written to secret_out (shown once; only its hash is kept). Returns 1 when
 * it created them, 0 when an administrator already existed, -1 on error. */
int ksm_iam_bootstrap(struct ksm_db *db, char *secret_out, size_t secret_len);

/* ---- roles (src/iam/roles.c) ---- */

enum {
    KSM_ROLE_AT_PLATFORM = 1 << 0,   /* where a role may be bound */
    KSM_ROLE_AT_TENANT = 1 << 1,
    KSM_ROLE_AT_PROJECT = 1 << 2,
};

struct ksm_role {
    const char *name;
    const char *description;
    unsigned scopes;                 /* KSM_ROLE_AT_*; 0 = implicit, never bound */
    const char *const *permissions;  /* NULL-terminated; "*" grants every permission */
};

extern const struct ksm_role ksm_iam_roles[];
extern const int ksm_iam_nroles;

const struct ksm_role *ksm_iam_role_find(const char *name);   /* NULL if unknown */
bool ksm_iam_role_grants(const struct ksm_role *role, const char *permission);
/* {"items":[{"name","description","scopes":[...],"permissions":[...]}]} for GET /admin/v1/roles. */
json_t *ksm_iam_roles_json(void);
/* {"user","tenant","project","key","name","bindings":[binding...]} for GET /admin/v1/whoami: the
 * principal and the bindings that apply to it (direct and through groups). NULL on a db error. */
json_t *ksm_iam_whoami_json(struct ksm_db *db, const struct ksm_principal *p);

/* ---- operations behind the admin API ----
 * Each returns OK with *out a new JSON object (the caller owns it), or an error with *why set to a
 * static human-readable detail (may be NULL: use the error's default message). Writes are one
 * transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error. Lists append up to limit
 * objects with id > after (NULL: from the start) in id order to items. Authorisation is the caller's
 * business: these functions do what they are told. */

/* tenants: src/iam/iam_tenants.c */
enum ksm_err ksm_iam_tenant_create(struct ksm_db *db, const char *kind, const char *name,
                                   const char *corporate_number, json_t **out, const char **why);
/* The contract's names of a project (iam_onbehalf.c): its tenant's 法人番号 and its name, which every
 * environment shares while ids are each environment's own. NOT_FOUND unless project is tenant's. */
enum ksm_err ksm_iam_contract_names(struct ksm_db *db, const char *tenant, const char *project,
                                    char corpnum[16], char *name, size_t namelen);
/* Back from the contract's names to this environment's ids: NOT_FOUND (no such tenant or project),
 * SUSPENDED (the tenant is), or OK. */
enum ksm_err ksm_iam_contract_resolve(struct ksm_db *db, const char *corpnum, const char *name,
                                      char tenant[KSM_ID_LEN], char project[KSM_ID_LEN]);
enum ksm_err ksm_iam_tenant_get(struct ksm_db *db, const char *id, json_t **out);
enum ksm_err ksm_iam_tenant_update(struct ksm_db *db, const char *id, const char *name,
                                   const char *kind, json_t **out, const char **why);
enum ksm_err ksm_iam_tenant_set_suspended(struct ksm_db *db, const char *id, bool suspended,
                                          json_t **out);
enum ksm_err ksm_iam_tenant_list(struct ksm_db *db, const char *after, int limit, json_t *items);
/* Erasure (src/lifecycle), at its end: the tenant's status becomes "erased" for good (suspended;
 * resume is CONFLICT) and its users (with their keys, bindings, SSO identities) and groups are
 * deleted; *users and *groups get how many. The row itself stays for the audit log and ledger. */
enum ksm_err ksm_iam_tenant_mark_erased(struct ksm_db *db, const char *id, int *users,
                                        int *groups);
bool ksm_iam_tenant_erased(struct ksm_db *db, const char *id);
/* Enabled users holding tenant_admin over the whole tenant (directly or through a group): an
 * erasure is confirmed by a second one when there is more than one. */
enum ksm_err ksm_iam_tenant_admin_count(struct ksm_db *db, const char *tenant, int *n);

/* projects: src/iam/iam_projects.c. Deleting a project deletes the role bindings scoped to it and
 * the keys narrowed to it; it is refused (CONFLICT) while a registered dependent (a later subsystem:
 * buckets, ...) still holds something in it. */
enum ksm_err ksm_iam_project_create(struct ksm_db *db, const char *tenant, const char *name,
                                    const char *environment, const char *description,
                                    json_t **out, const char **why);
enum ksm_err ksm_iam_project_get(struct ksm_db *db, const char *id, json_t **out);
enum ksm_err ksm_iam_project_update(struct ksm_db *db, const char *id, const char *name,
                                    const char *environment, const char *description,
                                    json_t **out, const char **why);
enum ksm_err ksm_iam_project_delete(struct ksm_db *db, const char *id, const char **why);
enum ksm_err ksm_iam_project_list(struct ksm_db *db, const char *tenant, const char *after,
                                  int limit, json_t *items);
/* what: "buckets"; count_sql: a string literal "SELECT count(*) FROM ... WHERE project_id=?1".
 * Call at start, before any request (not thread-safe). */
void ksm_iam_register_project_dependent(const char *what, const char *count_sql);

/* users: src/iam/iam_users.c. tenant NULL or "" creates a platform-level user. Deleting a user
 * deletes its keys, its role bindings and its group memberships. disabled: -1 unchanged, 0, 1. */
enum ksm_err ksm_iam_user_create(struct ksm_db *db, const char *tenant, const char *name,
                                 const char *email, json_t **out, const char **why);
enum ksm_err ksm_iam_user_get(struct ksm_db *db, const char *id, json_t **out);
enum ksm_err ksm_iam_user_update(struct ksm_db *db, const char *id, const char *name,
                                 const char *email, int disabled, json_t **out, const char **why);
enum ksm_err ksm_iam_user_delete(struct ksm_db *db, const char *id, const char **why);
enum ksm_err ksm_iam_user_list(struct ksm_db *db, const char *tenant, const char *after, int limit,
                               json_t *items);

/* groups: src/iam/iam_groups.c. Deleting a group deletes its memberships and role bindings. */
enum ksm_err ksm_iam_group_create(struct ksm_db *db, const char *tenant, const char *name,
                                  json_t **out, const char **why);
enum ksm_err ksm_iam_group_get(struct ksm_db *db, const char *id, json_t **out);   /* + members */
enum ksm_err ksm_iam_group_delete(struct ksm_db *db, const char *id);
enum ksm_err ksm_iam_group_list(struct ksm_db *db, const char *tenant, const char *after, int limit,
                                json_t *items);
/* NOT_FOUND unless both exist in the same tenant (remove: and the user is a member). Adding a
 * member twice is OK. */
enum ksm_err ksm_iam_group_member_add(struct ksm_db *db, const char *group, const char *user,
                                      const char **why);
enum ksm_err ksm_iam_group_member_remove(struct ksm_db *db, const char *group, const char *user,
                                         const char **why);

/* role bindings: src/iam/iam_bindings.c.
 * "platform" | "tenant/{id}" | "project/{id}" → tenant, project (KSM_ID_LEN each, "" when none).
 * INVALID_ARGUMENT when malformed, NOT_FOUND when the tenant or project does not exist. */
enum ksm_err ksm_iam_scope_parse(struct ksm_db *db, const char *scope, char *tenant, char *project);
/* principal: a user or group id. The principal must belong to the scope's tenant (platform scope:
 * a platform-level user), else NOT_FOUND; the role must exist and be bindable at that kind of
 * scope, else INVALID_ARGUMENT; a duplicate is ALREADY_EXISTS. */
enum ksm_err ksm_iam_binding_create(struct ksm_db *db, const char *principal, const char *role,
                                    const char *tenant, const char *project,
                                    const char *created_by, json_t **out, const char **why);
enum ksm_err ksm_iam_binding_get(struct ksm_db *db, const char *id, json_t **out);
/* CONFLICT when it is the last platform_admin binding (the environment would lose its admin). */
enum ksm_err ksm_iam_binding_delete(struct ksm_db *db, const char *id, const char **why);
/* tenant: only bindings in that tenant (NULL: any, "" : platform only); scope: exact scope string
 * filter; principal: filter. Each item has "tenant" and "project" for the caller's filtering. */
enum ksm_err ksm_iam_binding_list(struct ksm_db *db, const char *tenant, const char *scope,
                                  const char *principal, const char *after, int limit,
                                  json_t *items);

/* API keys: src/iam/iam_keys.c. The secret is "ksm_" + 43 base64url characters (32 random bytes);
 * only its SHA-256 is stored, and *out of create holds "secret" (the only time it exists outside the
 * client). kind must be "api". expires_ms 0: never. project NULL/"": not narrowed. */
#define KSM_KEY_SECRET_LEN 47
enum ksm_err ksm_iam_key_create(struct ksm_db *db, const char *user, const char *kind,
                                const char *project, const char *name, int64_t expires_ms,
                                const char *created_by, json_t **out, const char **why);
enum ksm_err ksm_iam_key_get(struct ksm_db *db, const char *id, json_t **out);
enum ksm_err ksm_iam_key_revoke(struct ksm_db *db, const char *id, json_t **out);
/* user / tenant: filters (NULL: any; tenant "": platform-level keys). */
enum ksm_err ksm_iam_key_list(struct ksm_db *db, const char *user, const char *tenant,
                              const char *after, int limit, json_t *items);

/* For GET /admin/v1/roles: [{"name","description","permissions":[...]}] from the roles table. */
json_t *ksm_iam_roles_json(void);
/* For GET /admin/v1/whoami: the user's bindings, direct and through groups, as a JSON array
 * [{"id","role","scope","via"}]; NULL on error. */
json_t *ksm_iam_bindings_json(struct ksm_db *db, const char *user_id);

/* IAM decisions are memoised per thread until the next IAM write (iam_cache.c). Anything that
 * changes IAM tables other than through these functions must call this afterwards. */
void ksm_iam_cache_invalidate(void);

/* ---- S3 access keys (iam_s3keys.c) ------------------------------------------------------------- */

/* Seals an S3 secret for storage (the caller's KMS); *blob malloc'd. */
typedef enum ksm_err (*ksm_iam_seal_fn)(void *arg, const char *access_key_id, const char *secret,
                                        uint8_t **blob, size_t *len);
/* A key of kind "s3" for user in project: *out as ksm_iam_key_get plus "access_key_id" and
 * "secret_access_key" (shown once). */
enum ksm_err ksm_iam_s3_key_create(struct ksm_db *db, const char *user, const char *project,
                                   const char *name, int64_t expires_ms, const char *created_by,
                                   ksm_iam_seal_fn seal, void *seal_arg, json_t **out,
                                   const char **why);
/* The principal behind an access key id and its sealed secret (*sealed malloc'd).
 * ACCESS_KEY_UNKNOWN when unknown, revoked, expired, or its user is disabled. */
enum ksm_err ksm_iam_s3_key_find(struct ksm_db *db, const char *access_key_id,
                                 struct ksm_principal *p, uint8_t **sealed, size_t *len);
/* The access key id of an s3 key (for listing); NOT_FOUND for other kinds. */
enum ksm_err ksm_iam_s3_key_id(struct ksm_db *db, const char *key_id, char access_key_id[21]);

#endif
