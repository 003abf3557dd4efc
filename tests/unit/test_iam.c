/* test_iam.c — tenancy and IAM against a temporary SQLite file: tenants and 法人番号, bootstrap,
 * authentication, the authorisation matrix (every role at each scope), tenant isolation, narrowed
 * keys, groups, suspension, no escalation, ownership and the cascades. */
#include "check.h"
#include "core/corpnum.h"
#include "core/util.h"
#include "iam/iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ksm_db db;
static char dir[64];

/* A valid 法人番号 from 12 base digits: check = 9 - (Σ P_n·Q_n mod 9), n counted from the right. */
static const char *corpnum(int seq)
{
    static char out[8][14];
    static int slot;
    char *s = out[slot++ % 8];
    snprintf(s + 1, 13, "%012d", 100000 + seq);
    int sum = 0;
    for (int n = 1; n <= 12; n++)
        sum += (s[13 - n] - '0') * (n % 2 ? 1 : 2);
    s[0] = (char)('0' + 9 - sum % 9);
    return s;
}

static const char *id_of(json_t *o)
{
    static char ids[1024][KSM_ID_LEN];   /* outlives every test */
    static int slot;
    char *s = ids[slot++ % 1024];
    snprintf(s, KSM_ID_LEN, "%s", o ? json_string_value(json_object_get(o, "id")) : "");
    json_decref(o);
    return s;
}

static int seq;

static const char *tenant_new(void)
{
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_tenant_create(&db, "local_government", "テスト市", corpnum(++seq), &o, &why) ==
          KSM_E_OK);
    return id_of(o);
}

static const char *project_new(const char *tenant, const char *name)
{
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_project_create(&db, tenant, name, "prod", NULL, &o, &why) == KSM_E_OK);
    return id_of(o);
}

static const char *user_new(const char *tenant)
{
    json_t *o = NULL;
    const char *why;
    char email[64];
    snprintf(email, sizeof email, "u%d@example.jp", ++seq);
    CHECK(ksm_iam_user_create(&db, tenant, "職員", email, &o, &why) == KSM_E_OK);
    return id_of(o);
}

static const char *bind(const char *principal, const char *role, const char *tenant,
                        const char *project)
{
    json_t *o = NULL;
    const char *why = NULL;
    enum ksm_err e = ksm_iam_binding_create(&db, principal, role, tenant, project, "test", &o, &why);
    CHECK(e == KSM_E_OK);
    if (e != KSM_E_OK)
        fprintf(stderr, "bind %s %s: %s\n", role, principal, why ? why : "?");
    return id_of(o);
}

/* A key for user (narrowed to project when not NULL), authenticated into p. */
static void login(const char *user, const char *project, struct ksm_principal *p)
{
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_key_create(&db, user, "api", project, "t", 0, "test", &o, &why) == KSM_E_OK);
    const char *secret = o ? json_string_value(json_object_get(o, "secret")) : NULL;
    CHECK(ksm_iam_authenticate(&db, secret, p) == KSM_E_OK);
    json_decref(o);
}

static void as_principal(const char *role, const char *tenant, const char *project,
                         struct ksm_principal *p)
{
    const char *u = user_new(tenant);
    if (role)
        bind(u, role, project ? tenant : tenant, project);
    login(u, NULL, p);
}

static void test_tenants(void)
{
    json_t *o = NULL;
    const char *why = NULL;
    CHECK(ksm_iam_tenant_create(&db, "ministry", "国税庁", "7000012050002", &o, &why) == KSM_E_OK);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "active");
    CHECK_STR(json_string_value(json_object_get(o, "corporate_number")), "7000012050002");
    CHECK_STR(json_string_value(json_object_get(o, "name")), "国税庁");
    const char *created = json_string_value(json_object_get(o, "created_at"));
    int64_t ms;
    CHECK(created && ksm_parse_rfc3339(created, &ms) == 0);
    const char *id = id_of(o);
    CHECK(!strncmp(id, "tn_", 3));
    CHECK(ksm_iam_tenant_create(&db, "ministry", "x", "8000012050002", &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_tenant_create(&db, "ministry", "x", "700001205000", &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_tenant_create(&db, "ministry", "重複", "7000012050002", &o, &why) ==
          KSM_E_ALREADY_EXISTS);
    CHECK(ksm_iam_tenant_create(&db, "company", "x", corpnum(900), &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_tenant_create(&db, "ministry", "", corpnum(901), &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_tenant_create(&db, "ministry", "a\nb", corpnum(902), &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    char name[1024] = "";
    for (int i = 0; i < 200; i++)
        strcat(name, "霞");
    CHECK(ksm_iam_tenant_create(&db, "ministry", name, corpnum(903), &o, &why) == KSM_E_OK);
    json_decref(o);
    strcat(name, "霞");
    CHECK(ksm_iam_tenant_create(&db, "ministry", name, corpnum(904), &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_tenant_update(&db, id, "国税庁（改）", "independent_agency", &o, &why) == KSM_E_OK);
    CHECK_STR(json_string_value(json_object_get(o, "kind")), "independent_agency");
    json_decref(o);
    CHECK(ksm_iam_tenant_update(&db, "tn_aaaaaaaaaaaaaaaaaaaa", "x", NULL, &o, &why) ==
          KSM_E_NOT_FOUND);
    json_t *items = json_array();
    CHECK(ksm_iam_tenant_list(&db, NULL, 100, items) == KSM_E_OK);
    CHECK(json_array_size(items) >= 2);
    json_decref(items);
}

static void test_bootstrap_and_authn(void)
{
    char secret[64], secret2[64];
    struct ksm_principal p;
    CHECK(ksm_iam_bootstrap(&db, secret, sizeof secret) == 1);
    CHECK(strlen(secret) == KSM_KEY_SECRET_LEN && !strncmp(secret, "ksm_", 4));
    CHECK(strspn(secret + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          43);
    CHECK(ksm_iam_bootstrap(&db, secret2, sizeof secret2) == 0);
    CHECK(ksm_iam_authenticate(&db, secret, &p) == KSM_E_OK);
    CHECK_STR(p.tenant_id, "");
    CHECK_STR(p.project_id, "");
    CHECK(!strncmp(p.user_id, "us_", 3) && !strncmp(p.key_id, "ky_", 3));
    CHECK(ksm_iam_check(&db, &p, "tenant.create", NULL, NULL) == KSM_E_OK);
    CHECK(ksm_iam_check(&db, &p, "tenant.suspend", tenant_new(), NULL) == KSM_E_OK);

    /* the stored form is the hash, never the secret */
    sqlite3_stmt *st = ksm_db_prepare(&db, "SELECT count(*) FROM iam_keys WHERE secret_hash=?1");
    sqlite3_bind_text(st, 1, secret, -1, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_reset(st);

    /* unknown, malformed */
    char wrong[64];
    snprintf(wrong, sizeof wrong, "%s", secret);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    CHECK(ksm_iam_authenticate(&db, wrong, &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_authenticate(&db, "", &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_authenticate(&db, NULL, &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_authenticate(&db, "Bearer x", &p) == KSM_E_UNAUTHENTICATED);

    /* revoked, expired, disabled user */
    const char *t = tenant_new(), *u = user_new(t);
    json_t *k = NULL, *o = NULL;
    const char *why;
    CHECK(ksm_iam_key_create(&db, u, "api", NULL, NULL, ksm_now_ms() + 3600000, "test", &k, &why) ==
          KSM_E_OK);
    char ks[64], kid[KSM_ID_LEN];
    snprintf(ks, sizeof ks, "%s", json_string_value(json_object_get(k, "secret")));
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(k, "id")));
    CHECK(json_object_get(k, "expires_at") && json_is_string(json_object_get(k, "expires_at")));
    json_decref(k);
    CHECK(ksm_iam_authenticate(&db, ks, &p) == KSM_E_OK);
    CHECK_STR(p.tenant_id, t);
    st = ksm_db_prepare(&db, "UPDATE iam_keys SET expires_at=?2 WHERE id=?1");
    sqlite3_bind_text(st, 1, kid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ksm_now_ms() - 1);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
    ksm_iam_cache_invalidate();   /* the UPDATE above went around the IAM functions */
    CHECK(ksm_iam_authenticate(&db, ks, &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_key_get(&db, kid, &o) == KSM_E_OK);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "expired");
    CHECK(!json_object_get(o, "secret") && !json_object_get(o, "secret_hash"));
    json_decref(o);
    CHECK(ksm_iam_key_create(&db, u, "api", NULL, NULL, ksm_now_ms() - 1000, "test", &k, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_key_create(&db, u, "s3", NULL, NULL, 0, "test", &k, &why) ==
          KSM_E_INVALID_ARGUMENT);

    CHECK(ksm_iam_key_create(&db, u, "api", NULL, NULL, 0, "test", &k, &why) == KSM_E_OK);
    snprintf(ks, sizeof ks, "%s", json_string_value(json_object_get(k, "secret")));
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(k, "id")));
    json_decref(k);
    CHECK(ksm_iam_authenticate(&db, ks, &p) == KSM_E_OK);
    CHECK(ksm_iam_user_update(&db, u, NULL, NULL, 1, &o, &why) == KSM_E_OK);
    json_decref(o);
    CHECK(ksm_iam_authenticate(&db, ks, &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_key_create(&db, u, "api", NULL, NULL, 0, "test", &k, &why) == KSM_E_CONFLICT);
    CHECK(ksm_iam_user_update(&db, u, NULL, NULL, 0, &o, &why) == KSM_E_OK);
    json_decref(o);
    CHECK(ksm_iam_authenticate(&db, ks, &p) == KSM_E_OK);
    CHECK(ksm_iam_key_revoke(&db, kid, &o) == KSM_E_OK);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "revoked");
    json_decref(o);
    CHECK(ksm_iam_authenticate(&db, ks, &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_key_revoke(&db, "ky_aaaaaaaaaaaaaaaaaaaa", &o) == KSM_E_NOT_FOUND);
}

/* Every permission the route table uses, and the ones handlers use. */
static const char *const all_perms[] = {
    "tenant.create", "tenant.read", "tenant.update", "tenant.suspend",
    "project.create", "project.list", "project.read", "project.update", "project.delete",
    "user.create", "user.list", "user.read", "user.update", "user.delete",
    "group.create", "group.list", "group.read", "group.update", "group.delete",
    "binding.create", "binding.read", "binding.delete", "binding.list",
    "key.create", "key.read", "key.revoke", "key.list", "audit.read", "usage.read",
};

static enum ksm_err expect(const struct ksm_role *r, const char *perm, enum ksm_err deny)
{
    return ksm_iam_role_grants(r, perm) ? KSM_E_OK : deny;
}

static void test_matrix(void)
{
    const char *t = tenant_new(), *other = tenant_new();
    const char *p1 = project_new(t, "住民記録システム"), *p2 = project_new(t, "税務システム");
    const char *op = project_new(other, "他団体");
    for (int i = 0; i < ksm_iam_nroles; i++) {
        const struct ksm_role *r = &ksm_iam_roles[i];
        struct ksm_principal p;
        if (r->scopes & KSM_ROLE_AT_TENANT) {
            as_principal(r->name, t, NULL, &p);
            for (size_t k = 0; k < KSM_NELEM(all_perms); k++) {
                const char *perm = all_perms[k];
                CHECK(ksm_iam_check(&db, &p, perm, t, NULL) == expect(r, perm, KSM_E_FORBIDDEN));
                CHECK(ksm_iam_check(&db, &p, perm, t, p1) == expect(r, perm, KSM_E_FORBIDDEN));
                CHECK(ksm_iam_check(&db, &p, perm, NULL, NULL) == KSM_E_FORBIDDEN);
                CHECK(ksm_iam_check(&db, &p, perm, other, NULL) == KSM_E_NOT_FOUND);
                CHECK(ksm_iam_check(&db, &p, perm, other, op) == KSM_E_NOT_FOUND);
                CHECK(ksm_iam_check(&db, &p, perm, "tn_aaaaaaaaaaaaaaaaaaaa", NULL) ==
                      KSM_E_NOT_FOUND);
                CHECK(ksm_iam_check(&db, &p, perm, t, op) == KSM_E_NOT_FOUND);
            }
        }
        if (r->scopes & KSM_ROLE_AT_PROJECT) {
            as_principal(r->name, t, p1, &p);
            for (size_t k = 0; k < KSM_NELEM(all_perms); k++) {
                const char *perm = all_perms[k];
                CHECK(ksm_iam_check(&db, &p, perm, t, p1) == expect(r, perm, KSM_E_FORBIDDEN));
                CHECK(ksm_iam_check(&db, &p, perm, t, p2) == KSM_E_FORBIDDEN);
                CHECK(ksm_iam_check(&db, &p, perm, t, NULL) == KSM_E_FORBIDDEN);
                CHECK(ksm_iam_check(&db, &p, perm, other, NULL) == KSM_E_NOT_FOUND);
            }
        }
        if (r->scopes & KSM_ROLE_AT_PLATFORM) {
            as_principal(r->name, NULL, NULL, &p);
            for (size_t k = 0; k < KSM_NELEM(all_perms); k++) {
                const char *perm = all_perms[k];
                CHECK(ksm_iam_check(&db, &p, perm, NULL, NULL) == expect(r, perm, KSM_E_FORBIDDEN));
                CHECK(ksm_iam_check(&db, &p, perm, t, p1) == expect(r, perm, KSM_E_FORBIDDEN));
                CHECK(ksm_iam_check(&db, &p, perm, other, NULL) ==
                      expect(r, perm, KSM_E_FORBIDDEN));
                CHECK(ksm_iam_check(&db, &p, perm, "tn_aaaaaaaaaaaaaaaaaaaa", NULL) ==
                      KSM_E_NOT_FOUND);
            }
        }
    }
    /* a user with no binding sees its own tenant but may do nothing but manage its keys */
    struct ksm_principal p;
    as_principal(NULL, t, NULL, &p);
    CHECK(ksm_iam_check(&db, &p, "tenant.read", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_check(&db, &p, "key.self", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_check(&db, &p, "key.self", other, NULL) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_check(&db, &p, "no.such.permission", t, NULL) == KSM_E_FORBIDDEN);
    /* spot checks of the roles' intent */
    const struct ksm_role *aud = ksm_iam_role_find("auditor");
    CHECK(aud && ksm_iam_role_grants(aud, "audit.read") && !ksm_iam_role_grants(aud, "user.update"));
    const struct ksm_role *bv = ksm_iam_role_find("billing_viewer");
    CHECK(bv && ksm_iam_role_grants(bv, "usage.read") && !ksm_iam_role_grants(bv, "audit.read"));
    const struct ksm_role *ta = ksm_iam_role_find("tenant_admin");
    CHECK(ta && !ksm_iam_role_grants(ta, "tenant.suspend") && !ksm_iam_role_grants(ta, "tenant.create"));
}

static void test_narrowed_keys(void)
{
    const char *t = tenant_new(), *other = tenant_new();
    const char *p1 = project_new(t, "A"), *p2 = project_new(t, "B");
    const char *u = user_new(t);
    bind(u, "tenant_admin", t, NULL);
    struct ksm_principal p;
    login(u, p1, &p);
    CHECK_STR(p.project_id, p1);
    CHECK(ksm_iam_check(&db, &p, "project.read", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_check(&db, &p, "key.self", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_check(&db, &p, "project.read", t, p2) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_check(&db, &p, "user.list", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_check(&db, &p, "key.self", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_check(&db, &p, "key.create", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_check(&db, &p, "tenant.read", NULL, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_check(&db, &p, "project.read", other, NULL) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_can_grant(&db, &p, "member", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &p, "member", t, NULL) == KSM_E_FORBIDDEN);
    /* a key may only be narrowed to a project of its user's tenant */
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_key_create(&db, u, "api", project_new(other, "X"), NULL, 0, "t", &o, &why) ==
          KSM_E_NOT_FOUND);
    CHECK(ksm_iam_key_create(&db, u, "api", "pj_aaaaaaaaaaaaaaaaaaaa", NULL, 0, "t", &o, &why) ==
          KSM_E_NOT_FOUND);
}

static void test_groups(void)
{
    const char *t = tenant_new(), *other = tenant_new();
    const char *u = user_new(t), *stranger = user_new(other);
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_group_create(&db, t, "監査担当", &o, &why) == KSM_E_OK);
    const char *g = id_of(o);
    CHECK(ksm_iam_group_create(&db, t, "監査担当", &o, &why) == KSM_E_ALREADY_EXISTS);
    CHECK(ksm_iam_group_create(&db, "tn_aaaaaaaaaaaaaaaaaaaa", "x", &o, &why) == KSM_E_NOT_FOUND);
    bind(g, "auditor", t, NULL);
    struct ksm_principal p;
    login(u, NULL, &p);
    CHECK(ksm_iam_check(&db, &p, "audit.read", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_group_member_add(&db, g, u, &why) == KSM_E_OK);
    CHECK(ksm_iam_group_member_add(&db, g, u, &why) == KSM_E_OK);   /* twice: fine */
    CHECK(ksm_iam_check(&db, &p, "audit.read", t, NULL) == KSM_E_OK);
    CHECK(ksm_iam_check(&db, &p, "user.update", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_group_get(&db, g, &o) == KSM_E_OK);
    CHECK(json_array_size(json_object_get(o, "members")) == 1);
    json_decref(o);
    CHECK(ksm_iam_group_member_add(&db, g, stranger, &why) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_group_member_add(&db, g, "us_aaaaaaaaaaaaaaaaaaaa", &why) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_group_member_remove(&db, g, stranger, &why) == KSM_E_NOT_FOUND);
    /* a group of tenant A cannot be bound in tenant B */
    CHECK(ksm_iam_binding_create(&db, g, "auditor", other, NULL, "t", &o, &why) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_group_member_remove(&db, g, u, &why) == KSM_E_OK);
    CHECK(ksm_iam_check(&db, &p, "audit.read", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_group_member_add(&db, g, u, &why) == KSM_E_OK);
    CHECK(ksm_iam_group_delete(&db, g) == KSM_E_OK);   /* cascades its binding */
    CHECK(ksm_iam_check(&db, &p, "audit.read", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_group_delete(&db, g) == KSM_E_NOT_FOUND);
}

static void test_suspension(void)
{
    char secret[64];
    struct ksm_principal admin, p;
    const char *t = tenant_new();
    const char *u = user_new(t);
    bind(u, "tenant_admin", t, NULL);
    login(u, NULL, &p);
    const char *pa = user_new(NULL);
    bind(pa, "platform_admin", NULL, NULL);
    login(pa, NULL, &admin);
    (void)secret;
    json_t *o = NULL;
    CHECK(ksm_iam_tenant_set_suspended(&db, t, true, &o) == KSM_E_OK);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "suspended");
    json_decref(o);
    CHECK(ksm_iam_principal_active(&db, &p) == KSM_E_SUSPENDED);
    CHECK(ksm_iam_check(&db, &p, "tenant.read", t, NULL) == KSM_E_SUSPENDED);
    CHECK(ksm_iam_check(&db, &p, "key.self", t, NULL) == KSM_E_SUSPENDED);
    CHECK(ksm_iam_check(&db, &p, "tenant.read", NULL, NULL) == KSM_E_SUSPENDED);
    CHECK(ksm_iam_can_grant(&db, &p, "member", t, NULL) == KSM_E_SUSPENDED);
    CHECK(ksm_iam_check(&db, &admin, "tenant.suspend", t, NULL) == KSM_E_OK);   /* to resume */
    CHECK(ksm_iam_check(&db, &admin, "tenant.read", t, NULL) == KSM_E_OK);
    CHECK(ksm_iam_tenant_set_suspended(&db, t, false, &o) == KSM_E_OK);
    json_decref(o);
    CHECK(ksm_iam_check(&db, &p, "tenant.read", t, NULL) == KSM_E_OK);
}

static void test_escalation(void)
{
    const char *t = tenant_new(), *other = tenant_new();
    const char *p1 = project_new(t, "A");
    struct ksm_principal pa, ta, pja, mem, ota;
    as_principal("platform_admin", NULL, NULL, &pa);
    as_principal("tenant_admin", t, NULL, &ta);
    as_principal("project_admin", t, p1, &pja);
    as_principal("member", t, NULL, &mem);
    as_principal("tenant_admin", other, NULL, &ota);
    CHECK(ksm_iam_can_grant(&db, &pja, "member", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &pja, "project_admin", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &pja, "billing_viewer", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &pja, "tenant_admin", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_can_grant(&db, &pja, "member", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_can_grant(&db, &pja, "auditor", t, p1) == KSM_E_FORBIDDEN);   /* user.list */
    CHECK(ksm_iam_can_grant(&db, &ta, "tenant_admin", t, NULL) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &ta, "auditor", t, p1) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &ta, "platform_admin", NULL, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_can_grant(&db, &ta, "auditor", NULL, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_can_grant(&db, &ta, "no_such_role", t, NULL) == KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_can_grant(&db, &mem, "member", t, NULL) == KSM_E_FORBIDDEN);
    CHECK(ksm_iam_can_grant(&db, &ota, "member", t, NULL) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_can_grant(&db, &pa, "platform_admin", NULL, NULL) == KSM_E_OK);
    CHECK(ksm_iam_can_grant(&db, &pa, "tenant_admin", t, NULL) == KSM_E_OK);
    /* the binding rules themselves */
    json_t *o = NULL;
    const char *why;
    const char *u = user_new(t), *stranger = user_new(other);
    CHECK(ksm_iam_binding_create(&db, u, "tenant_admin", t, p1, "t", &o, &why) ==
          KSM_E_INVALID_ARGUMENT);   /* not bindable at project scope */
    CHECK(ksm_iam_binding_create(&db, u, "platform_admin", t, NULL, "t", &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_binding_create(&db, u, "self", t, NULL, "t", &o, &why) == KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_binding_create(&db, u, "member", NULL, NULL, "t", &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_iam_binding_create(&db, u, "auditor", NULL, NULL, "t", &o, &why) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_binding_create(&db, stranger, "member", t, NULL, "t", &o, &why) ==
          KSM_E_NOT_FOUND);
    CHECK(ksm_iam_binding_create(&db, p1, "member", t, NULL, "t", &o, &why) ==
          KSM_E_INVALID_ARGUMENT);
    bind(u, "member", t, p1);
    CHECK(ksm_iam_binding_create(&db, u, "member", t, p1, "t", &o, &why) == KSM_E_ALREADY_EXISTS);
}

static void test_owner_and_cascades(void)
{
    char tn[KSM_ID_LEN], pj[KSM_ID_LEN];
    const char *t = tenant_new();
    const char *p1 = project_new(t, "A");
    const char *u = user_new(t);
    const char *b = bind(u, "member", t, p1);
    json_t *o = NULL;
    const char *why;
    CHECK(ksm_iam_group_create(&db, t, "g", &o, &why) == KSM_E_OK);
    const char *g = id_of(o);
    CHECK(ksm_iam_key_create(&db, u, "api", p1, "narrow", 0, "t", &o, &why) == KSM_E_OK);
    char secret[64];
    snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(o, "secret")));
    const char *k = id_of(o);
    CHECK(ksm_iam_owner(&db, t, tn, pj) == KSM_E_OK && !strcmp(tn, t) && !*pj);
    CHECK(ksm_iam_owner(&db, p1, tn, pj) == KSM_E_OK && !strcmp(tn, t) && !strcmp(pj, p1));
    CHECK(ksm_iam_owner(&db, u, tn, pj) == KSM_E_OK && !strcmp(tn, t) && !*pj);
    CHECK(ksm_iam_owner(&db, g, tn, pj) == KSM_E_OK && !strcmp(tn, t));
    CHECK(ksm_iam_owner(&db, b, tn, pj) == KSM_E_OK && !strcmp(tn, t) && !strcmp(pj, p1));
    CHECK(ksm_iam_owner(&db, k, tn, pj) == KSM_E_OK && !strcmp(tn, t) && !strcmp(pj, p1));
    CHECK(ksm_iam_owner(&db, "us_aaaaaaaaaaaaaaaaaaaa", tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_owner(&db, "zz_aaaaaaaaaaaaaaaaaaaa", tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_owner(&db, "us_' OR 1=1 --", tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_owner(&db, NULL, tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_scope_parse(&db, "platform", tn, pj) == KSM_E_OK && !*tn && !*pj);
    char scope[64];
    snprintf(scope, sizeof scope, "project/%s", p1);
    CHECK(ksm_iam_scope_parse(&db, scope, tn, pj) == KSM_E_OK && !strcmp(tn, t) && !strcmp(pj, p1));
    CHECK(ksm_iam_scope_parse(&db, "tenant/tn_aaaaaaaaaaaaaaaaaaaa", tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_scope_parse(&db, "galaxy", tn, pj) == KSM_E_INVALID_ARGUMENT);
    json_t *items = json_array();
    CHECK(ksm_iam_binding_list(&db, t, scope, NULL, NULL, 100, items) == KSM_E_OK);
    CHECK(json_array_size(items) == 1);
    json_decref(items);
    /* duplicate project names within a tenant */
    CHECK(ksm_iam_project_create(&db, t, "A", "dev", NULL, &o, &why) == KSM_E_ALREADY_EXISTS);
    CHECK(ksm_iam_project_create(&db, t, "B", "qa", NULL, &o, &why) == KSM_E_INVALID_ARGUMENT);
    /* deleting the project takes its bindings and narrowed keys along */
    struct ksm_principal p;
    CHECK(ksm_iam_authenticate(&db, secret, &p) == KSM_E_OK);
    CHECK(ksm_iam_project_delete(&db, p1, &why) == KSM_E_OK);
    CHECK(ksm_iam_owner(&db, b, tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_owner(&db, k, tn, pj) == KSM_E_NOT_FOUND);
    CHECK(ksm_iam_authenticate(&db, secret, &p) == KSM_E_UNAUTHENTICATED);
    CHECK(ksm_iam_project_delete(&db, p1, &why) == KSM_E_NOT_FOUND);
    /* deleting a user takes its keys */
    CHECK(ksm_iam_key_create(&db, u, "api", NULL, NULL, 0, "t", &o, &why) == KSM_E_OK);
    snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(o, "secret")));
    json_decref(o);
    CHECK(ksm_iam_authenticate(&db, secret, &p) == KSM_E_OK);
    CHECK(ksm_iam_user_delete(&db, u, &why) == KSM_E_OK);
    CHECK(ksm_iam_authenticate(&db, secret, &p) == KSM_E_UNAUTHENTICATED);
    /* users: e-mail unique per tenant, any case */
    const char *u2 = user_new(t);
    (void)u2;
    CHECK(ksm_iam_user_create(&db, t, "x", "dup@example.jp", &o, &why) == KSM_E_OK);
    json_decref(o);
    CHECK(ksm_iam_user_create(&db, t, "x", "DUP@example.jp", &o, &why) == KSM_E_ALREADY_EXISTS);
    CHECK(ksm_iam_user_create(&db, t, "x", "not-an-address", &o, &why) == KSM_E_INVALID_ARGUMENT);
}

static void test_last_admin_and_json(void)
{
    /* the bootstrap admin plus those of test_suspension/test_escalation/matrix exist: remove all
     * but one platform_admin binding held by a user, then the last must stay */
    json_t *items = json_array();
    CHECK(ksm_iam_binding_list(&db, "", "platform", NULL, NULL, 1000, items) == KSM_E_OK);
    size_t i;
    json_t *b;
    const char *why;
    int admins = 0, refused = 0;
    json_array_foreach(items, i, b) {
        if (strcmp(json_string_value(json_object_get(b, "role")), "platform_admin"))
            continue;
        admins++;
        enum ksm_err e = ksm_iam_binding_delete(&db, json_string_value(json_object_get(b, "id")),
                                                &why);
        refused += e == KSM_E_CONFLICT;
    }
    CHECK(admins >= 2 && refused == 1);
    json_decref(items);

    json_t *roles = ksm_iam_roles_json();
    CHECK(json_array_size(json_object_get(roles, "items")) == (size_t)ksm_iam_nroles);
    json_decref(roles);
    struct ksm_principal p;
    const char *t = tenant_new(), *u = user_new(t);
    bind(u, "auditor", t, NULL);
    login(u, NULL, &p);
    json_t *w = ksm_iam_whoami_json(&db, &p);
    CHECK(w && json_array_size(json_object_get(w, "bindings")) == 1);
    CHECK_STR(json_string_value(json_object_get(w, "tenant")), t);
    json_decref(w);
}

int main(void)
{
    char err[256], path[128];
    snprintf(dir, sizeof dir, "/tmp/test_iam.XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    snprintf(path, sizeof path, "%s/meta.db", dir);
    ksm_iam_register_schema();
    if (ksm_db_open(&db, path, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    CHECK(ksm_corpnum_valid(corpnum(1)));
    test_tenants();
    test_bootstrap_and_authn();
    test_matrix();
    test_narrowed_keys();
    test_groups();
    test_suspension();
    test_escalation();
    test_owner_and_cascades();
    test_last_admin_and_json();
    ksm_db_close(&db);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
