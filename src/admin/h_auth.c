/* h_auth.c — the console's browser sign-in (docs/sso.md): /auth/login sends the browser to the
 * identity provider, /auth/callback opens a session (src/iam/oidc_browser.c does the protocol),
 * /auth/session tells the console's script who it is and its CSRF token, /auth/logout ends it.
 *
 * The session travels in a cookie the script cannot read (HttpOnly), that other sites' pages do not
 * send (SameSite=Strict), only over TLS when the listener has it (Secure), and to this host only
 * (no Domain). Because a browser attaches it on its own, every state-changing request it
 * authenticates must also carry the session's CSRF token in X-CSRF-Token, which only our own
 * script can read (from /auth/session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "http/cookie.h"
#include "iam/iam.h"
#include "iam/oidc.h"

/* What cookie authentication found, for /auth/session and /auth/logout. */
struct cookie_session {
    const char *sid;   /* the cookie's value */
    char csrf[KSM_OIDC_TOKEN_LEN + 1];
};

static bool safe_method(const struct ksm_req *r)
{
    return !strcmp(r->method_name, "GET") || !strcmp(r->method_name, "HEAD") ||
           !strcmp(r->method_name, "OPTIONS");
}

enum ksm_err ksm_auth_cookie(struct ksm_req *r)
{
    char *sid = ksm_arena_alloc(r->arena, 256);   /* longer: not ours, refused below */
    if (!ksm_cookie_get(ksm_req_header(r, "cookie"), KSM_OIDC_COOKIE, sid, 256))
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "a bearer token is required");
    struct ksm_principal *p = ksm_arena_calloc(r->arena, sizeof *p);
    struct cookie_session *cs = ksm_arena_calloc(r->arena, sizeof *cs);
    struct ksm_oidc_ctx ctx = {r->id, r->peer, {NULL, NULL, NULL}};
    if (ksm_oidc_session_auth(&r->worker->db, sid, &ctx, p, cs->csrf) != KSM_E_OK)
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "the session is not valid: sign in again");
    cs->sid = sid;
    r->principal = p;
    r->app_data = cs;
    const char *t = ksm_req_header(r, "x-csrf-token");
    if (!safe_method(r) && (!t || strlen(t) != KSM_OIDC_TOKEN_LEN ||
                            !ksm_ct_equal(t, cs->csrf, KSM_OIDC_TOKEN_LEN)))
        return ksm_fail(r, KSM_E_FORBIDDEN, "a state-changing request needs the session's X-CSRF-Token");
    if (ksm_iam_principal_active(&r->worker->db, p) == KSM_E_SUSPENDED)
        return ksm_fail(r, KSM_E_SUSPENDED, "the tenant is suspended");
    return KSM_E_OK;
}

static void set_cookie(struct ksm_req *r, const char *value, int max_age)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", KSM_OIDC_COOKIE,
             value, max_age, ksm_req_secure(r) ? "; Secure" : "");
    ksm_req_add_header(r, "Set-Cookie", ksm_arena_strdup(r->arena, buf));
    ksm_req_add_header(r, "Cache-Control", "no-store");
}

static void redirect(struct ksm_req *r, const char *location)
{
    ksm_buf_reset(&r->resp);
    r->status = 302;
    r->content_type = NULL;
    ksm_req_add_header(r, "Location", ksm_arena_strdup(r->arena, location));
}

enum ksm_err ksm_h_auth_login(struct ksm_req *r)
{
    char *url = NULL;
    const char *why = NULL;
    if (!ksm_oidc_enabled())
        return ksm_fail(r, KSM_E_NOT_FOUND, "single sign-on is not configured");
    enum ksm_err e = ksm_oidc_login_url(ksm_req_query(r, "issuer"), ksm_req_query(r, "return_to"),
                                        ksm_req_query(r, "scope"), &url, &why);
    if (e != KSM_E_OK)
        return ksm_fail(r, e, "%s", why);
    redirect(r, url);
    ksm_req_add_header(r, "Cache-Control", "no-store");
    free(url);
    return KSM_E_OK;
}

/* The code exchange has ended (on the fetcher thread): finish on this loop. */
static void callback_resume(void *arg)
{
    struct ksm_req *r = arg;
    struct ksm_oidc_exchange *x = r->app_data;
    struct ksm_principal *p = ksm_arena_calloc(r->arena, sizeof *p);
    struct ksm_oidc_session s;
    struct ksm_oidc_ctx ctx = {r->id, r->peer, {NULL, NULL, NULL}};
    r->app_data = NULL;
    enum ksm_err e = ksm_oidc_callback_finish(&r->worker->db, x, &ctx, p, &s);
    ksm_oidc_exchange_free(x);
    if (e == KSM_E_OK) {
        r->principal = p;
        redirect(r, s.return_to);
        set_cookie(r, s.id, ksm_oidc_session_max_s());
    } else {
        e = ksm_fail(r, KSM_E_UNAUTHENTICATED, "sign-in failed");
    }
    memset(&s, 0, sizeof s);
    ksm_dispatch_resume(r, e);
}

enum ksm_err ksm_h_auth_callback(struct ksm_req *r)
{
    struct ksm_oidc_exchange *x = NULL;
    struct ksm_oidc_ctx ctx = {r->id, r->peer, {r->worker->mailbox, callback_resume, r}};
    if (!ksm_oidc_enabled())
        return ksm_fail(r, KSM_E_NOT_FOUND, "single sign-on is not configured");
    if (ksm_oidc_callback_start(ksm_req_query(r, "state"), ksm_req_query(r, "code"),
                                ksm_req_query(r, "error"), &ctx, &x) != KSM_E_OK)
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "sign-in failed");
    r->app_data = x;   /* callback_resume runs on this loop, so not before we return */
    return KSM_E_OK;
}

enum ksm_err ksm_h_auth_session(struct ksm_req *r)
{
    const struct cookie_session *cs = r->app_data;
    const struct ksm_principal *p = r->principal;
    json_t *o = json_pack("{s:s,s:s?,s:s,s:b}", "user", p->user_id,
                          "tenant", p->tenant_id[0] ? p->tenant_id : NULL, "name", p->name,
                          "mfa", !p->no_mfa);
    json_object_set_new(o, "csrf_token", cs ? json_string(cs->csrf) : json_null());
    ksm_req_add_header(r, "Cache-Control", "no-store");
    return ksm_reply_json(r, 200, o);
}

enum ksm_err ksm_h_auth_logout(struct ksm_req *r)
{
    const struct cookie_session *cs = r->app_data;
    if (cs)
        ksm_oidc_session_end(&r->worker->db, cs->sid);
    set_cookie(r, "", 0);
    return ksm_reply_json(r, 200, json_pack("{s:b}", "signed_out", cs != NULL));
}

/* Names only: which providers exist is no secret (the login redirect shows them anyway). */
enum ksm_err ksm_h_auth_providers(struct ksm_req *r)
{
    const char *names[32];
    int n = ksm_oidc_enabled() ? ksm_oidc_browser_issuers(names, 32) : 0;
    json_t *items = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(items, json_pack("{s:s}", "name", names[i]));
    return ksm_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* The console's local sign-in: the platform administrator's API key (the bootstrap token on a new
 * node) opens a session, so a node without an identity provider still has a console. Nobody
 * else signs in this way: tenant users and other operators use single sign-on, where their
 * organisation's provider (and its second factor) decides. The key is sent once, in the body of
 * a POST, and never stored in the browser. */
enum ksm_err ksm_h_auth_local(struct ksm_req *r)
{
    const char *token = NULL;
    const struct ksm_jfield spec[] = {{"token", KSM_J_STRING, true, &token, NULL}};
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    struct ksm_principal *p = ksm_arena_calloc(r->arena, sizeof *p);
    if (ksm_oidc_is_jwt(token) || ksm_iam_authenticate(&r->worker->db, token, p) != KSM_E_OK)
        return ksm_fail(r, KSM_E_UNAUTHENTICATED, "sign-in failed");
    r->principal = p;   /* the audit record names who tried */
    /* tenant.create is platform_admin's alone (src/iam/roles.c) */
    if (p->tenant_id[0] || ksm_iam_check(&r->worker->db, p, "tenant.create", NULL, NULL) != KSM_E_OK)
        return ksm_fail(r, KSM_E_FORBIDDEN, "only the platform administrator signs in locally: "
                                            "use single sign-on");
    struct ksm_oidc_session s;
    if ((e = ksm_oidc_session_open_local(&r->worker->db, p, &s)) != KSM_E_OK)
        return ksm_fail(r, e, "cannot open a session");
    set_cookie(r, s.id, ksm_oidc_session_max_s());
    memset(&s, 0, sizeof s);
    return ksm_reply_json(r, 200, json_pack("{s:s,s:s}", "user", p->user_id, "name", p->name));
}
