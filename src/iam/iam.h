/* iam.h — tenancy and identity (SPEC.md B1, U): tenants, projects, users, groups, roles, role bindings
 * and API keys, stored in the metadata database. This header is what the rest of the daemon needs:
 * authentication, the authorisation decision, and ownership lookups. The admin API handlers over
 * these resources are in src/admin/h_*.c. */
#ifndef KSM_IAM_H
#define KSM_IAM_H
#include <stdbool.h>

#include "core/db.h"
#include "core/error.h"

#define KSM_ID_LEN 40

struct ksm_principal {
    char user_id[KSM_ID_LEN];
    char tenant_id[KSM_ID_LEN];    /* "" for platform-level users (the bootstrap admin) */
    char key_id[KSM_ID_LEN];
    char project_id[KSM_ID_LEN];   /* the key's project narrowing, "" if none */
    char name[256];
};

void ksm_iam_register_schema(void);   /* before ksm_db_open */

/* Bearer secret → principal. UNAUTHENTICATED when unknown, revoked, expired, or its user is disabled.
 * A suspended tenant's principal authenticates (so the audit log names it) but every authorisation
 * then fails with SUSPENDED. */
enum ksm_err ksm_iam_authenticate(struct ksm_db *db, const char *secret, struct ksm_principal *out);

/* The decision: may p use permission on (tenant, project)? tenant NULL means platform scope.
 * OK; SUSPENDED when p's tenant is suspended; NOT_FOUND when p has no role at all in that tenant
 * (nor platform-wide), so that another tenant's id and a random id look the same; FORBIDDEN when p
 * can see the tenant but lacks the permission. A key narrowed to a project only acts inside it. */
enum ksm_err ksm_iam_check(struct ksm_db *db, const struct ksm_principal *p, const char *permission,
                           const char *tenant, const char *project);

/* Who owns an id (user, group, binding, key, project): its tenant and, if any, project.
 * NOT_FOUND when no such id. Buffers are KSM_ID_LEN bytes. */
enum ksm_err ksm_iam_owner(struct ksm_db *db, const char *id, char *tenant, char *project);

/* On an empty database: creates the platform administrator user, binds platform_admin and creates an
 * API key whose secret is written to secret_out (shown once; only its hash is kept). Returns 1 when
 * it created them, 0 when an administrator already existed, -1 on error. */
int ksm_iam_bootstrap(struct ksm_db *db, char *secret_out, size_t secret_len);

#endif
