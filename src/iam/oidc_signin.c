/* oidc_signin.c — a bearer JWT from a trusted provider becomes a principal: the token is checked
 * (oidc_jwt.c, with the keys oidc_fetch.c keeps), its claims are mapped (tenant by 法人番号, groups,
 * name, e-mail, second factor), the user is created on its first sign-in, and the role bindings
 * that its groups grant are brought up to date. Every decision is audited with its reason, never
 * with the token. A good token is remembered per thread until it expires (or IAM changes), so a
 * client reusing it costs one hash. */
#include "iam/oidc_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/corpnum.h"
#include "core/log.h"
#include "core/util.h"
#include "iam/iam_int.h"

#define MAX_GROUPS 64

static ksm_oidc_audit_fn audit_fn;
static void *audit_arg;

void ksm_oidc__audit(const struct ksm_oidc_ctx *ctx, const char *action, const char *outcome,
                     const char *user, const char *tenant, const char *detail)
{
    if (!audit_fn)
        return;
    struct ksm_oidc_audit_rec rec = {
        .request_id = ctx ? ctx->request_id : NULL, .source = ctx ? ctx->source : NULL,
        .action = action, .outcome = outcome, .principal = user ? user : "anonymous",
        .tenant = tenant && *tenant ? tenant : NULL, .detail = detail};
    audit_fn(audit_arg, &rec);
}

int ksm_oidc_start(const struct ksm_conf *c, ksm_oidc_audit_fn audit, void *arg, char *err,
                   size_t errlen)
{
    audit_fn = audit;
    audit_arg = arg;
    ksm_iam_set_mfa_roles((const char(*)[32])c->sso_mfa_roles, c->sso_nmfa_roles);
    ksm_oidc__browser_start(c);
    return ksm_oidc__fetch_start(c, err, errlen);
}

void ksm_oidc_stop(void) { ksm_oidc__fetch_stop(); }

bool ksm_oidc_is_jwt(const char *s)
{
    int dots = 0;
    for (; s && *s; s++)
        if (*s == '.')
            dots++;
    return dots == 2;
}

/* ---- what the claims say ------------------------------------------------------------------------ */

struct claims {
    const char *sub, *tenant_cn, *name, *email;
    const char *groups[MAX_GROUPS];
    int ngroups;
    char group_buf[4096];       /* a comma-joined groups claim, split in place */
    bool mfa;
    char tenant_id[KSM_ID_LEN]; /* "" for a platform-level user */
};

static bool in_list(const char *s, const char *list, size_t width, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(list + (size_t)i * width, s))
            return true;
    return false;
}

/* amr (an array) holds one of the issuer's second-factor methods, or acr is one of its levels. */
static bool has_mfa(const struct ksm_jwt *t, const struct ksm_conf_issuer *c)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(t->claims, "amr"), i, v)
        if (in_list(json_string_value(v), c->mfa_amr[0], sizeof c->mfa_amr[0], c->nmfa_amr))
            return true;
    return in_list(ksm_jwt_claim_str(t, "acr"), c->mfa_acr[0], sizeof c->mfa_acr[0], c->nmfa_acr);
}

static void add_group(struct claims *cl, const char *g)
{
    if (g && *g && strlen(g) <= 128 && cl->ngroups < MAX_GROUPS && ksm_iam__text_ok(g, 128))
        cl->groups[cl->ngroups++] = g;
}

/* groups: an array of strings, or one comma-joined string (glewlwyd's access tokens). */
static void read_groups(struct claims *cl, const struct ksm_jwt *t, const char *name)
{
    json_t *g = json_object_get(t->claims, name);
    size_t i;
    json_t *v;
    if (json_is_array(g)) {
        json_array_foreach(g, i, v) add_group(cl, json_string_value(v));
        return;
    }
    if (!json_is_string(g))
        return;
    snprintf(cl->group_buf, sizeof cl->group_buf, "%s", json_string_value(g));
    for (char *save = NULL, *tok = strtok_r(cl->group_buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        for (size_t n = strlen(tok); n && tok[n - 1] == ' ';)
            tok[--n] = '\0';
        add_group(cl, tok);
    }
}

/* The tenant the token names, which the issuer must be allowed to name and which must exist
 * here (each environment has its own ids for the same 法人番号). */
static const char *map_tenant(struct ksm_db *db, const struct ksm_conf_issuer *c, struct claims *cl)
{
    if (!cl->tenant_cn)
        return c->platform_users ? NULL : "no_tenant_claim";
    if (!ksm_corpnum_valid(cl->tenant_cn))
        return "bad_tenant_claim";
    if (!c->any_tenant && !in_list(cl->tenant_cn, c->tenants[0], sizeof c->tenants[0], c->ntenants))
        return "tenant_not_allowed";
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT id FROM iam_tenants WHERE corporate_number=?1");
    sqlite3_bind_text(st, 1, cl->tenant_cn, -1, SQLITE_STATIC);
    const char *why = "unknown_tenant";
    if (sqlite3_step(st) == SQLITE_ROW) {
        ksm_iam__copy_id(cl->tenant_id, st, 0);
        why = NULL;
    }
    sqlite3_reset(st);
    return why;
}

static const char *read_claims(struct ksm_db *db, const struct ksm_jwt *t,
                               const struct ksm_conf_issuer *c, struct claims *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->sub = ksm_jwt_claim_str(t, "sub");
    if (!cl->sub || !*cl->sub || strlen(cl->sub) > 255)
        return "no_subject";
    json_t *tc = json_object_get(t->claims, c->tenant_claim);
    if (tc && !json_is_string(tc))
        return "bad_tenant_claim";
    cl->tenant_cn = json_string_value(tc);
    if (cl->tenant_cn && !*cl->tenant_cn)   /* an empty user property: no tenant */
        cl->tenant_cn = NULL;
    cl->name = ksm_jwt_claim_str(t, c->name_claim);
    if (!cl->name || !ksm_iam__text_ok(cl->name, 200))
        cl->name = ksm_jwt_claim_str(t, "preferred_username");
    if (!cl->name || !ksm_iam__text_ok(cl->name, 200))
        cl->name = ksm_iam__text_ok(cl->sub, 200) ? cl->sub : "SSO user";
    cl->email = ksm_jwt_claim_str(t, c->email_claim);
    read_groups(cl, t, c->groups_claim);
    cl->mfa = has_mfa(t, c);
    return map_tenant(db, c, cl);
}

/* ---- the user and its bindings ------------------------------------------------------------------ */

struct user_row {
    char id[KSM_ID_LEN], tenant[KSM_ID_LEN], state[65];
    bool disabled, found;
};

static void find_identity(struct ksm_db *db, const char *issuer, const char *sub, struct user_row *u)
{
    memset(u, 0, sizeof *u);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT u.id, u.tenant_id, u.disabled, i.state FROM sso_identities i "
            "JOIN iam_users u ON u.id=i.user_id WHERE i.issuer=?1 AND i.subject=?2");
    sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sub, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        u->found = true;
        ksm_iam__copy_id(u->id, st, 0);
        ksm_iam__copy_id(u->tenant, st, 1);
        u->disabled = sqlite3_column_int(st, 2) != 0;
        snprintf(u->state, sizeof u->state, "%s", ksm_db_col_text(st, 3));
    }
    sqlite3_reset(st);
}

/* The mappings that apply to this user: its issuer, one of its groups, a scope in its tenant (or
 * the platform for a platform-level user). Appends "id,role,tenant,project;" to out. */
static void wanted_bindings(struct ksm_db *db, const char *issuer, const struct claims *cl,
                            struct ksm_buf *out)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, role, tenant_id, project_id FROM sso_group_roles WHERE issuer=?1 AND "
            "idp_group=?2 AND ifnull(tenant_id,'')=?3 ORDER BY id");
    for (int i = 0; i < cl->ngroups; i++) {
        sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cl->groups[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cl->tenant_id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            ksm_buf_printf(out, "%s,%s,%s,%s;", ksm_db_col_text(st, 0), ksm_db_col_text(st, 1),
                           ksm_db_col_text(st, 2), ksm_db_col_text(st, 3));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static enum ksm_err sync_bindings(struct ksm_db *db, const char *user, const char *wanted)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "DELETE FROM iam_bindings WHERE user_id=?1 AND created_by LIKE 'sso:%'");
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    enum ksm_err e = ksm_iam__step_write(db, st);
    char *copy = ksm_xstrdup(wanted);
    for (char *save = NULL, *row = strtok_r(copy, ";", &save); row && e == KSM_E_OK;
         row = strtok_r(NULL, ";", &save)) {
        char *f[4] = {row, NULL, NULL, NULL};
        for (int k = 1; k < 4 && f[k - 1]; k++)
            if ((f[k] = strchr(f[k - 1], ',')))
                *f[k]++ = '\0';
        if (!f[3])
            continue;
        char id[KSM_ID_LEN], by[KSM_ID_LEN + 8];
        ksm_id_new("rb", id);
        snprintf(by, sizeof by, "sso:%s", f[0]);
        e = ksm_iam__binding_insert(db, id, user, NULL, f[1], ksm_iam__nz(f[2]), ksm_iam__nz(f[3]), by);
        if (e == KSM_E_ALREADY_EXISTS)   /* two groups granting one role, or a direct binding */
            e = KSM_E_OK;
    }
    free(copy);
    return e;
}

/* An e-mail for the user row: the claim when it is one, else an address that cannot receive mail. */
static void user_email(const struct claims *cl, const char *issuer, char *out, size_t n)
{
    if (cl->email && ksm_iam__email_ok(cl->email)) {
        snprintf(out, n, "%s", cl->email);
        return;
    }
    char h[65];
    ksm_sha256_hex(cl->sub, strlen(cl->sub), h);
    snprintf(out, n, "sso-%.16s@%s.invalid", h, issuer);
}

static enum ksm_err create_user(struct ksm_db *db, const char *issuer, const struct claims *cl,
                                struct user_row *u, const char **why)
{
    char email[300];
    user_email(cl, issuer, email, sizeof email);
    ksm_id_new("us", u->id);
    snprintf(u->tenant, sizeof u->tenant, "%s", cl->tenant_id);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO iam_users(id, tenant_id, name, email, created_at, updated_at) "
            "VALUES(?1,?2,?3,?4,?5,?5)");
    sqlite3_bind_text(st, 1, u->id, -1, SQLITE_STATIC);
    ksm_db_bind_text(st, 2, ksm_iam__nz(cl->tenant_id));
    sqlite3_bind_text(st, 3, cl->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, email, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    enum ksm_err e = ksm_iam__step_write(db, st);
    if (e == KSM_E_ALREADY_EXISTS)
        return *why = "email_in_use", KSM_E_UNAUTHENTICATED;
    if (e != KSM_E_OK)
        return e;
    st = ksm_db_prepare(db, "INSERT INTO sso_identities(issuer, subject, user_id, created_at, "
                            "last_seen_at) VALUES(?1,?2,?3,?4,?4)");
    sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cl->sub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, u->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    return ksm_iam__step_write(db, st);
}

static enum ksm_err save_state(struct ksm_db *db, const char *issuer, const struct claims *cl,
                               const char *user, const char *state)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "UPDATE iam_users SET name=?2, updated_at=?3 WHERE id=?1 AND name<>?2");
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cl->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ksm_now_ms());
    enum ksm_err e = ksm_iam__step_write(db, st);
    if (e != KSM_E_OK)
        return e;
    st = ksm_db_prepare(db, "UPDATE sso_identities SET state=?3, last_seen_at=?4 "
                            "WHERE issuer=?1 AND subject=?2");
    sqlite3_bind_text(st, 1, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cl->sub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    return ksm_iam__step_write(db, st);
}

/* The user behind (issuer, sub), created on first sign-in, with its mapped bindings as the token's
 * groups say. Writes only when something changed (a new user, a new name, other bindings). */
static enum ksm_err upsert_user(struct ksm_db *db, const char *issuer, const struct claims *cl,
                                struct user_row *u, const char **why)
{
    struct ksm_buf wanted = KSM_BUF_INIT;
    char state[65];
    find_identity(db, issuer, cl->sub, u);
    if (u->found && strcmp(u->tenant, cl->tenant_id))
        return *why = "tenant_changed", KSM_E_UNAUTHENTICATED;
    if (u->found && u->disabled)
        return *why = "user_disabled", KSM_E_UNAUTHENTICATED;
    wanted_bindings(db, issuer, cl, &wanted);
    ksm_buf_printf(&wanted, "|%s", cl->name);
    ksm_sha256_hex(wanted.data, wanted.len, state);
    wanted.data[wanted.len - strlen(cl->name) - 1] = '\0';
    enum ksm_err e = KSM_E_OK;
    if (!u->found || strcmp(u->state, state)) {
        if ((e = ksm_iam__begin(db)) != KSM_E_OK)
            goto out;
        if (!u->found)
            e = create_user(db, issuer, cl, u, why);
        if (e == KSM_E_OK)
            e = sync_bindings(db, u->id, wanted.data);
        if (e == KSM_E_OK)
            e = save_state(db, issuer, cl, u->id, state);
        e = ksm_iam__end(db, e);
    }
out:
    ksm_buf_free(&wanted);
    return e;
}

/* ---- the decision ------------------------------------------------------------------------------- */

static enum ksm_err refuse(const struct ksm_oidc_ctx *ctx, const char *issuer,
                           const struct ksm_jwt *t, const char *reason)
{
    char detail[400];
    snprintf(detail, sizeof detail, "issuer=%s reason=%s kid=%.64s", issuer ? issuer : "-", reason,
             t && t->kid ? t->kid : "-");
    ksm_info("sso: token refused (%s) request %s", detail, ctx && ctx->request_id ? ctx->request_id : "-");
    ksm_oidc__audit(ctx, "sso.signin", "denied", NULL, NULL, detail);
    return KSM_E_UNAUTHENTICATED;
}

/* Signature and claims: OK, UNAUTHENTICATED with *why, or *pending while keys are fetched. */
static enum ksm_err verify(struct ksm_oidc__issuer *is, const struct ksm_jwt *t,
                           const struct ksm_oidc_ctx *ctx, bool *pending, const char **why)
{
    struct ksm_jwks *ks = ksm_oidc__keys_get(is);
    int rc = ks ? ksm_jwt_verify(t, ks, why) : 1;
    if (!ks)
        *why = "keys_unavailable";   /* none fetched yet: the provider has not answered */
    ksm_oidc__keys_put(is, ks);
    if (rc == 1 && ksm_oidc__want_keys(is, ctx ? &ctx->wait : NULL) && ctx && ctx->wait.mb) {
        *pending = true;   /* an unknown kid: a rotated key, perhaps; look once more */
        return KSM_E_UNAUTHENTICATED;
    }
    if (rc)
        return KSM_E_UNAUTHENTICATED;
    return ksm_jwt_check_claims(t, is->conf.issuer, is->conf.audience, ksm_now_ms() / 1000,
                                is->conf.leeway_s, why)
               ? KSM_E_UNAUTHENTICATED : KSM_E_OK;
}

enum ksm_err ksm_oidc__principal(struct ksm_db *db, struct ksm_oidc__issuer *is,
                                 const struct ksm_jwt *t, const struct ksm_oidc_ctx *ctx,
                                 struct ksm_principal *out)
{
    struct claims cl;
    struct user_row u;
    const char *why = read_claims(db, t, &is->conf, &cl);
    enum ksm_err e = why ? KSM_E_UNAUTHENTICATED : upsert_user(db, is->conf.name, &cl, &u, &why);
    if (e != KSM_E_OK)
        return refuse(ctx, is->conf.name, t, why ? why : "internal");
    memset(out, 0, sizeof *out);
    snprintf(out->user_id, sizeof out->user_id, "%s", u.id);
    snprintf(out->tenant_id, sizeof out->tenant_id, "%s", u.tenant);
    snprintf(out->name, sizeof out->name, "%s", cl.name);
    out->no_mfa = !cl.mfa;
    char detail[300];
    snprintf(detail, sizeof detail, "issuer=%s kid=%.64s mfa=%s groups=%d%s", is->conf.name,
             t->kid ? t->kid : "-", cl.mfa ? "yes" : "no", cl.ngroups, u.found ? "" : " created=yes");
    ksm_oidc__audit(ctx, "sso.signin", "success", u.id, u.tenant, detail);
    return KSM_E_OK;
}

enum ksm_err ksm_oidc_authenticate(struct ksm_db *db, const char *token, const struct ksm_oidc_ctx *ctx,
                                   struct ksm_principal *out, bool *pending)
{
    unsigned char h[32];
    struct ksm_jwt t;
    const char *why = NULL;
    *pending = false;
    memset(out, 0, sizeof *out);
    size_t len = strnlen(token, KSM_JWT_MAX_LEN + 1);
    ksm_sha256(token, len, h);
    if (ksm_iam__authn_cached(h, out))
        return KSM_E_OK;
    if (ksm_jwt_parse(token, &t, &why))
        return refuse(ctx, NULL, NULL, why);
    struct ksm_oidc__issuer *is = ksm_oidc__find(ksm_jwt_claim_str(&t, "iss"));
    enum ksm_err e = is ? verify(is, &t, ctx, pending, &why) : KSM_E_UNAUTHENTICATED;
    if (e != KSM_E_OK) {
        if (!*pending)
            refuse(ctx, is ? is->conf.name : NULL, &t, is ? why : "unknown_issuer");
        ksm_jwt_free(&t);
        return KSM_E_UNAUTHENTICATED;
    }
    uint64_t gen = ksm_iam__generation();
    e = ksm_oidc__principal(db, is, &t, ctx, out);
    if (e == KSM_E_OK) {
        int64_t exp = (int64_t)json_number_value(json_object_get(t.claims, "exp"));
        /* the generation after our own writes: they need not evict what they just made */
        uint64_t now_gen = ksm_iam__generation();
        ksm_iam__authn_store(h, now_gen == gen ? gen : now_gen, exp * 1000, out);
    }
    ksm_jwt_free(&t);
    return e;
}
