/* iam_authz.c — the authorisation decision (deny by default), the one place that decides whether a
 * principal may use a permission at a scope. Everything reaches it through ksm_authorize() in the
 * dispatcher or a handler. Also: who owns an id, and the no-escalation rule for granting roles.
 *
 * Visibility comes before permission: a principal that neither belongs to a tenant nor holds a role
 * in it (nor platform-wide) gets NOT_FOUND, exactly as for an id that does not exist, so tenants
 * cannot probe each other. */
#include "iam/iam_int.h"

#include <string.h>

#include "core/util.h"

#define MAX_GRANTS 64

/* The roles that apply to a principal at one scope. */
struct grants {
    const struct ksm_role *roles[MAX_GRANTS];
    int n;
    const struct ksm_role *withheld[MAX_GRANTS];   /* roles needing a second factor p lacks */
    int nwithheld;
    bool visible;   /* p may learn that the scope's tenant exists */
};

static void grants_add(struct grants *g, const struct ksm_role *r)
{
    if (r && g->n < MAX_GRANTS)
        g->roles[g->n++] = r;
}

/* A bound role: granted, or withheld when it requires MFA and p signed in without it. */
static void grants_bind(struct grants *g, const struct ksm_principal *p, const struct ksm_role *r)
{
    if (r && p->no_mfa && ksm_iam_role_needs_mfa(r->name)) {
        if (g->nwithheld < MAX_GRANTS)
            g->withheld[g->nwithheld++] = r;
        return;
    }
    grants_add(g, r);
}

static bool withheld_would_grant(const struct grants *g, const char *permission)
{
    for (int i = 0; i < g->nwithheld; i++)
        if (ksm_iam_role_grants(g->withheld[i], permission))
            return true;
    return false;
}

static bool grants_have(const struct grants *g, const char *permission)
{
    for (int i = 0; i < g->n; i++)
        if (ksm_iam_role_grants(g->roles[i], permission))
            return true;
    return false;
}

static enum ksm_err active_db(struct ksm_db *db, const struct ksm_principal *p, const char *perm,
                              const char *tenant, const char *project);

enum ksm_err ksm_iam_principal_active(struct ksm_db *db, const struct ksm_principal *p)
{
    if (!p)
        return KSM_E_UNAUTHENTICATED;
    if (!p->tenant_id[0])
        return KSM_E_OK;
    return ksm_iam__check_cached(db, p, "(active)", p->tenant_id, NULL, active_db);
}

static enum ksm_err active_db(struct ksm_db *db, const struct ksm_principal *p, const char *perm,
                              const char *tenant, const char *project)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT status FROM iam_tenants WHERE id=?1");
    sqlite3_bind_text(st, 1, p->tenant_id, -1, SQLITE_STATIC);
    enum ksm_err e = KSM_E_UNAUTHENTICATED;   /* a principal whose tenant vanished is nobody */
    if (sqlite3_step(st) == SQLITE_ROW)
        e = strcmp(ksm_db_col_text(st, 0), "active") ? KSM_E_SUSPENDED : KSM_E_OK;
    sqlite3_reset(st);
    return e;
}

/* NOT_FOUND unless the tenant exists and the project (if any) is in it. */
static enum ksm_err scope_exists(struct ksm_db *db, const char *tenant, const char *project)
{
    enum ksm_err e = KSM_E_NOT_FOUND;
    sqlite3_stmt *st;
    if (project) {
        st = ksm_db_prepare(db, "SELECT 1 FROM iam_projects WHERE id=?1 AND tenant_id=?2");
        sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    } else {
        st = ksm_db_prepare(db, "SELECT 1 FROM iam_tenants WHERE id=?2");
    }
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        e = KSM_E_OK;
    sqlite3_reset(st);
    return e;
}

/* Collects the roles that apply to p at (tenant, project): platform bindings everywhere, tenant
 * bindings in their tenant and its projects, project bindings in their project; direct or through
 * a group; plus the implicit "self" role in p's own tenant. */
static enum ksm_err resolve(struct ksm_db *db, const struct ksm_principal *p, const char *tenant,
                            const char *project, struct grants *g)
{
    memset(g, 0, sizeof *g);
    enum ksm_err e = ksm_iam_principal_active(db, p);
    if (e != KSM_E_OK)
        return e;
    if (project && !tenant)
        return KSM_E_NOT_FOUND;
    if (tenant && (e = scope_exists(db, tenant, project)) != KSM_E_OK)
        return e;
    if (!strcmp(p->tenant_id, tenant ? tenant : "")) {
        g->visible = true;
        grants_add(g, ksm_iam_role_find("self"));
    }
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT role, tenant_id, project_id FROM iam_bindings WHERE user_id=?1 OR group_id IN "
            "(SELECT group_id FROM iam_group_members WHERE user_id=?1)");
    sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const struct ksm_role *role = ksm_iam_role_find(ksm_db_col_text(st, 0));
        bool b_platform = sqlite3_column_type(st, 1) == SQLITE_NULL;
        bool b_project = sqlite3_column_type(st, 2) != SQLITE_NULL;
        if (b_platform) {
            g->visible = true;
            grants_bind(g, p, role);
        } else if (tenant && !strcmp(ksm_db_col_text(st, 1), tenant)) {
            g->visible = true;
            if (!b_project || (project && !strcmp(ksm_db_col_text(st, 2), project)))
                grants_bind(g, p, role);
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

/* What p may not do whatever its roles: act outside the scope it can see, or, with a key narrowed
 * to a project, outside that project. */
static enum ksm_err outside(const struct ksm_principal *p, const struct grants *g,
                            const char *tenant, const char *project)
{
    if (!g->visible)
        return tenant ? KSM_E_NOT_FOUND : KSM_E_FORBIDDEN;
    if (p->project_id[0] && (!project || strcmp(project, p->project_id)))
        return KSM_E_FORBIDDEN;
    return KSM_E_OK;
}

static enum ksm_err check_db(struct ksm_db *db, const struct ksm_principal *p, const char *permission,
                             const char *tenant, const char *project)
{
    struct grants g;
    tenant = ksm_iam__nz(tenant);
    project = ksm_iam__nz(project);
    if (!p || !permission)
        return p ? KSM_E_FORBIDDEN : KSM_E_UNAUTHENTICATED;
    enum ksm_err e = resolve(db, p, tenant, project, &g);
    if (e == KSM_E_OK)
        e = outside(p, &g, tenant, project);
    if (e == KSM_E_OK && !grants_have(&g, permission))
        e = withheld_would_grant(&g, permission) ? KSM_E_MFA_REQUIRED : KSM_E_FORBIDDEN;
    return e;
}

enum ksm_err ksm_iam_check(struct ksm_db *db, const struct ksm_principal *p, const char *permission,
                           const char *tenant, const char *project)
{
    if (!p || !permission)
        return p ? KSM_E_FORBIDDEN : KSM_E_UNAUTHENTICATED;
    return ksm_iam__check_cached(db, p, permission, tenant, project, check_db);
}

enum ksm_err ksm_iam_can_grant(struct ksm_db *db, const struct ksm_principal *p, const char *role,
                               const char *tenant, const char *project)
{
    struct grants g;
    const struct ksm_role *r = ksm_iam_role_find(role);
    tenant = ksm_iam__nz(tenant);
    project = ksm_iam__nz(project);
    if (!p)
        return KSM_E_UNAUTHENTICATED;
    enum ksm_err e = resolve(db, p, tenant, project, &g);
    if (e == KSM_E_OK)
        e = outside(p, &g, tenant, project);
    if (e != KSM_E_OK)
        return e;
    if (!grants_have(&g, "binding.create"))
        return KSM_E_FORBIDDEN;
    if (!r)
        return KSM_E_INVALID_ARGUMENT;
    /* every permission of the role, "*" included: only a holder of "*" may grant "*" */
    for (const char *const *perm = r->permissions; *perm; perm++)
        if (!grants_have(&g, *perm))
            return KSM_E_FORBIDDEN;
    return KSM_E_OK;
}

/* Where each kind of id lives; the prefix is the kind (ksm_id_new). */
static const struct {
    const char *prefix;
    const char *sql;   /* → tenant, project */
} owners[] = {
    {"tn", "SELECT id, NULL FROM iam_tenants WHERE id=?1"},
    {"pj", "SELECT tenant_id, id FROM iam_projects WHERE id=?1"},
    {"us", "SELECT tenant_id, NULL FROM iam_users WHERE id=?1"},
    {"gr", "SELECT tenant_id, NULL FROM iam_groups WHERE id=?1"},
    {"rb", "SELECT tenant_id, project_id FROM iam_bindings WHERE id=?1"},
    {"ky", "SELECT tenant_id, project_id FROM iam_keys WHERE id=?1"},
};

enum ksm_err ksm_iam_owner(struct ksm_db *db, const char *id, char *tenant, char *project)
{
    tenant[0] = project[0] = '\0';
    enum ksm_err e;
    if (id && ksm_iam__owner_cached(id, tenant, project, &e))
        return e;
    for (size_t i = 0; id && i < KSM_NELEM(owners); i++) {
        if (!ksm_iam__id_ok(id, owners[i].prefix))
            continue;
        uint64_t gen = ksm_iam__generation();   /* before reading: a write meanwhile invalidates */
        sqlite3_stmt *st = ksm_db_prepare(db, owners[i].sql);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        e = KSM_E_NOT_FOUND;
        if (sqlite3_step(st) == SQLITE_ROW) {
            ksm_iam__copy_id(tenant, st, 0);
            ksm_iam__copy_id(project, st, 1);
            e = KSM_E_OK;
        }
        sqlite3_reset(st);
        ksm_iam__owner_store(id, gen, tenant, project, e);
        return e;
    }
    return KSM_E_NOT_FOUND;
}

json_t *ksm_iam_whoami_json(struct ksm_db *db, const struct ksm_principal *p)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT " KSM_IAM__BINDING_COLS " FROM iam_bindings WHERE user_id=?1 OR group_id IN "
            "(SELECT group_id FROM iam_group_members WHERE user_id=?1) ORDER BY id");
    sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_STATIC);
    json_t *bindings = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(bindings, ksm_iam__binding_json(st));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(bindings);
        return NULL;
    }
    return json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:o}", "user", p->user_id, "tenant",
                     ksm_iam__nz(p->tenant_id), "project", ksm_iam__nz(p->project_id), "key",
                     ksm_iam__nz(p->key_id), "name", p->name, "bindings", bindings);
}
