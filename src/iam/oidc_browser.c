/* oidc_browser.c — the console's browser sign-in: authorization code with PKCE (S256), state and
 * nonce (OpenID Connect Core §3.1, RFC 7636), then a session kept in sso_sessions.
 *
 * A login is pending in memory only, briefly and for one use: its state is the key, and the PKCE
 * verifier and the nonce never leave this node. The code exchange is a blocking POST, so it runs on
 * the fetcher thread and the request resumes on its own loop. The ID token is checked as a bearer
 * token is (signature, iss, aud = client_id, exp...) plus its nonce; the user and its bindings are
 * then made as for a bearer token. Only a hash of a session id is stored: a copy of the database
 * does not sign anyone in. */
#include "iam/oidc_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "iam/iam_int.h"

#define MAX_PENDING 512
#define PENDING_TTL_MS (10 * 60 * 1000)   /* time to sign in at the provider */
#define TOKEN_LEN KSM_OIDC_TOKEN_LEN

struct pending {
    char state[TOKEN_LEN + 1], nonce[TOKEN_LEN + 1], verifier[TOKEN_LEN + 1];
    char issuer[64];
    char return_to[512];
    int64_t created_ms;
};

static struct {
    pthread_mutex_t mu;
    struct pending slots[MAX_PENDING];
    int idle_s, max_s;
} B = {.mu = PTHREAD_MUTEX_INITIALIZER, .idle_s = 1800, .max_s = 43200};

struct ksm_oidc_exchange {
    struct pending p;
    char *code;
    char *id_token;       /* the provider's answer, NULL when it failed */
    char why[96];
    struct ksm_oidc_wait wait;
};

void ksm_oidc__browser_start(const struct ksm_conf *c)
{
    B.idle_s = c->sso_session_idle_s;
    B.max_s = c->sso_session_max_s;
}

int ksm_oidc_session_max_s(void) { return B.max_s; }

static void random_token(char out[TOKEN_LEN + 1])
{
    unsigned char raw[32];
    ksm_random_bytes(raw, sizeof raw);
    out[ksm_b64url_encode(raw, sizeof raw, out)] = '\0';
}

static void url_escape(struct ksm_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            ksm_buf_putc(b, (char)c);
        } else {
            ksm_buf_putc(b, '%');
            ksm_buf_putc(b, hex[c >> 4]);
            ksm_buf_putc(b, hex[c & 15]);
        }
    }
}

static void param(struct ksm_buf *b, const char *name, const char *value)
{
    ksm_buf_printf(b, "&%s=", name);
    url_escape(b, value);
}

/* ---- pending logins ----------------------------------------------------------------------------- */

/* Keeps p, overwriting an expired slot or else the oldest (a flood of logins forgets old ones). */
static void pending_put(const struct pending *p)
{
    pthread_mutex_lock(&B.mu);
    int victim = 0;
    for (int i = 0; i < MAX_PENDING; i++) {
        if (!B.slots[i].state[0] || p->created_ms - B.slots[i].created_ms > PENDING_TTL_MS) {
            victim = i;
            break;
        }
        if (B.slots[i].created_ms < B.slots[victim].created_ms)
            victim = i;
    }
    B.slots[victim] = *p;
    pthread_mutex_unlock(&B.mu);
}

/* Takes the login of state (single use): true with *out, false when unknown or expired. */
static bool pending_take(const char *state, struct pending *out)
{
    bool found = false;
    if (strlen(state) != TOKEN_LEN)
        return false;
    pthread_mutex_lock(&B.mu);
    for (int i = 0; i < MAX_PENDING && !found; i++) {
        if (B.slots[i].state[0] && ksm_ct_equal(B.slots[i].state, state, TOKEN_LEN)) {
            found = ksm_now_ms() - B.slots[i].created_ms <= PENDING_TTL_MS;
            *out = B.slots[i];
            memset(&B.slots[i], 0, sizeof B.slots[i]);
        }
    }
    pthread_mutex_unlock(&B.mu);
    return found;
}

/* ---- the login ---------------------------------------------------------------------------------- */

static bool return_to_ok(const char *s)
{
    /* a path on this node: "/x", never "//host" or "/\host" (browsers read both as another host) */
    if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\' || strlen(s) >= 512)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x7f || *s == '\\')
            return false;
    return true;
}

static bool scope_ok(const char *s)
{
    for (; s && *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(" _-.:", *s)))
            return false;
    return true;
}

enum ksm_err ksm_oidc_login_url(const char *issuer, const char *return_to, const char *scope,
                                char **url, const char **why)
{
    struct ksm_oidc__issuer *is = issuer ? ksm_oidc__by_name(issuer) : NULL;
    if (!is || !is->conf.client_id[0])
        return *why = "no such issuer with browser sign-in", KSM_E_INVALID_ARGUMENT;
    if (!return_to)
        return_to = "/";
    if (!return_to_ok(return_to))
        return *why = "return_to must be a path on this node", KSM_E_INVALID_ARGUMENT;
    if (!scope_ok(scope) || (scope && strlen(scope) > 200))
        return *why = "bad scope", KSM_E_INVALID_ARGUMENT;
    char endpoint[512];
    pthread_mutex_lock(&is->mu);
    snprintf(endpoint, sizeof endpoint, "%s", is->authorization_endpoint);
    pthread_mutex_unlock(&is->mu);
    if (!endpoint[0]) {
        ksm_oidc__want_keys(is, NULL);
        return *why = "the identity provider has not answered yet", KSM_E_UNAVAILABLE;
    }
    struct pending p = {.created_ms = ksm_now_ms()};
    random_token(p.state);
    random_token(p.nonce);
    random_token(p.verifier);
    snprintf(p.issuer, sizeof p.issuer, "%s", is->conf.name);
    snprintf(p.return_to, sizeof p.return_to, "%s", return_to);
    unsigned char h[32];
    char challenge[TOKEN_LEN + 1];
    ksm_sha256(p.verifier, TOKEN_LEN, h);
    challenge[ksm_b64url_encode(h, sizeof h, challenge)] = '\0';
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_buf_printf(&b, "%s%sresponse_type=code", endpoint, strchr(endpoint, '?') ? "&" : "?");
    param(&b, "client_id", is->conf.client_id);
    param(&b, "redirect_uri", is->conf.redirect_uri);
    char scopes[256];
    snprintf(scopes, sizeof scopes, "openid%s%s", scope && *scope ? " " : "", scope ? scope : "");
    param(&b, "scope", scopes);
    param(&b, "state", p.state);
    param(&b, "nonce", p.nonce);
    param(&b, "code_challenge", challenge);
    param(&b, "code_challenge_method", "S256");
    ksm_buf_putc(&b, '\0');
    pending_put(&p);
    *url = ksm_buf_steal(&b);
    return KSM_E_OK;
}

/* ---- the callback ------------------------------------------------------------------------------- */

/* On the fetcher thread: the code (and the verifier) for tokens. */
static void exchange_run(void *arg)
{
    struct ksm_oidc_exchange *x = arg;
    struct ksm_oidc__issuer *is = ksm_oidc__by_name(x->p.issuer);
    char endpoint[512];
    pthread_mutex_lock(&is->mu);
    snprintf(endpoint, sizeof endpoint, "%s", is->token_endpoint);
    pthread_mutex_unlock(&is->mu);
    struct ksm_buf form = KSM_BUF_INIT;
    ksm_buf_puts(&form, "grant_type=authorization_code");
    param(&form, "code", x->code);
    param(&form, "redirect_uri", is->conf.redirect_uri);
    param(&form, "code_verifier", x->p.verifier);
    ksm_buf_putc(&form, '\0');
    long status = 0;
    size_t len = 0;
    char *body = endpoint[0] ? ksm_oidc__http_post_form(endpoint, is->conf.client_id,
                                                         is->client_secret, form.data, &status, &len)
                             : NULL;
    memset(form.data, 0, form.len);
    ksm_buf_free(&form);
    json_error_t jerr;
    json_t *doc = body && status == 200 ? json_loadb(body, len, 0, &jerr) : NULL;
    const char *idt = json_string_value(json_object_get(doc, "id_token"));
    if (idt)
        x->id_token = ksm_xstrdup(idt);
    else
        snprintf(x->why, sizeof x->why, "token_endpoint_status=%ld%s", status,
                 doc ? " no_id_token" : "");
    json_decref(doc);
    free(body);
    ksm_mailbox_post(x->wait.mb, x->wait.fn, x->wait.arg);
}

void ksm_oidc_exchange_free(struct ksm_oidc_exchange *x)
{
    if (!x)
        return;
    free(x->code);
    free(x->id_token);
    memset(x, 0, sizeof *x);
    free(x);
}

static void exchange_cancel(void *arg) { ksm_oidc_exchange_free(arg); }

static void deny(const struct ksm_oidc_ctx *ctx, const char *issuer, const char *reason)
{
    char detail[200];
    snprintf(detail, sizeof detail, "issuer=%s reason=%s", issuer && *issuer ? issuer : "-", reason);
    ksm_info("sso: browser sign-in refused (%s) request %s", detail, ctx->request_id);
    ksm_oidc__audit(ctx, "sso.signin", "denied", NULL, NULL, detail);
}

enum ksm_err ksm_oidc_callback_start(const char *state, const char *code, const char *error,
                                     const struct ksm_oidc_ctx *ctx, struct ksm_oidc_exchange **out)
{
    struct pending p;
    *out = NULL;
    if (!state || !pending_take(state, &p)) {
        deny(ctx, NULL, "unknown_state");
        return KSM_E_UNAUTHENTICATED;
    }
    if (error || !code || !*code || strlen(code) > 2048) {
        deny(ctx, p.issuer, error ? "provider_error" : "no_code");
        return KSM_E_UNAUTHENTICATED;
    }
    struct ksm_oidc_exchange *x = ksm_xcalloc(1, sizeof *x);
    x->p = p;
    x->code = ksm_xstrdup(code);
    x->wait = ctx->wait;
    *out = x;
    ksm_oidc__run_on_fetcher(exchange_run, exchange_cancel, x);
    return KSM_E_OK;
}

/* The ID token: signed by the issuer of the login, for our client, fresh, with our nonce. */
static const char *check_id_token(struct ksm_oidc__issuer *is, const struct ksm_jwt *t,
                                  const char *nonce)
{
    const char *why = NULL;
    struct ksm_jwks *ks = ksm_oidc__keys_get(is);
    int rc = ks ? ksm_jwt_verify(t, ks, &why) : 1;
    ksm_oidc__keys_put(is, ks);
    if (rc == 1)
        ksm_oidc__want_keys(is, NULL);   /* a rotated key: known by the next attempt */
    if (rc)
        return why ? why : "keys_unavailable";
    if (ksm_jwt_check_claims(t, is->conf.issuer, is->conf.client_id, ksm_now_ms() / 1000,
                             is->conf.leeway_s, &why))
        return why;
    const char *n = ksm_jwt_claim_str(t, "nonce");
    if (!n || strlen(n) != TOKEN_LEN || !ksm_ct_equal(n, nonce, TOKEN_LEN))
        return "nonce_mismatch";
    return NULL;
}

static enum ksm_err session_create(struct ksm_db *db, const struct ksm_principal *p,
                                   const char *issuer, struct ksm_oidc_session *s)
{
    char hash[65];
    random_token(s->id);
    random_token(s->csrf);
    ksm_sha256_hex(s->id, TOKEN_LEN, hash);
    int64_t now = ksm_now_ms();
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO sso_sessions(id_hash, user_id, issuer, mfa, csrf, created_at, last_seen_at, "
            "expires_at) VALUES(?1,?2,?3,?4,?5,?6,?6,?7)");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, !p->no_mfa);
    sqlite3_bind_text(st, 5, s->csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now + (int64_t)B.max_s * 1000);
    return ksm_iam__step_write(db, st);
}

enum ksm_err ksm_oidc_callback_finish(struct ksm_db *db, struct ksm_oidc_exchange *x,
                                      const struct ksm_oidc_ctx *ctx, struct ksm_principal *p,
                                      struct ksm_oidc_session *s)
{
    struct ksm_oidc__issuer *is = ksm_oidc__by_name(x->p.issuer);
    struct ksm_jwt t;
    const char *why = NULL;
    memset(s, 0, sizeof *s);
    if (!x->id_token) {
        deny(ctx, x->p.issuer, x->why);
        return KSM_E_UNAUTHENTICATED;
    }
    if (ksm_jwt_parse(x->id_token, &t, &why)) {
        deny(ctx, x->p.issuer, why);
        return KSM_E_UNAUTHENTICATED;
    }
    if ((why = check_id_token(is, &t, x->p.nonce))) {
        deny(ctx, x->p.issuer, why);
        ksm_jwt_free(&t);
        return KSM_E_UNAUTHENTICATED;
    }
    enum ksm_err e = ksm_oidc__principal(db, is, &t, ctx, p);   /* audits its own decision */
    ksm_jwt_free(&t);
    if (e != KSM_E_OK)
        return e;
    if ((e = session_create(db, p, is->conf.name, s)) != KSM_E_OK)
        return e;
    snprintf(s->return_to, sizeof s->return_to, "%s", x->p.return_to);
    return KSM_E_OK;
}

enum ksm_err ksm_oidc_session_open_local(struct ksm_db *db, const struct ksm_principal *p,
                                         struct ksm_oidc_session *s)
{
    memset(s, 0, sizeof *s);
    return session_create(db, p, "local", s);
}

/* ---- the session -------------------------------------------------------------------------------- */

static void session_delete_hash(struct ksm_db *db, const char *hash)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM sso_sessions WHERE id_hash=?1");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    ksm_iam__step_write(db, st);
}

static enum ksm_err session_refuse(const struct ksm_oidc_ctx *ctx, const char *user, const char *why)
{
    char detail[100];
    snprintf(detail, sizeof detail, "reason=%s", why);
    ksm_oidc__audit(ctx, "sso.session", "denied", user, NULL, detail);
    return KSM_E_UNAUTHENTICATED;
}

enum ksm_err ksm_oidc_session_auth(struct ksm_db *db, const char *sid, const struct ksm_oidc_ctx *ctx,
                                   struct ksm_principal *out, char csrf[KSM_OIDC_TOKEN_LEN + 1])
{
    const char *why[1];
    char hash[65];
    memset(out, 0, sizeof *out);
    if (!sid || strlen(sid) != TOKEN_LEN)
        return session_refuse(ctx, NULL, "bad_session_cookie");
    ksm_sha256_hex(sid, TOKEN_LEN, hash);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT s.user_id, s.mfa, s.csrf, s.last_seen_at, s.expires_at, u.tenant_id, u.name, "
            "u.disabled FROM sso_sessions s JOIN iam_users u ON u.id=s.user_id WHERE s.id_hash=?1");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int64_t now = ksm_now_ms(), seen = 0, expires = 0;
    bool disabled = false;
    *why = "unknown_session";
    if (sqlite3_step(st) == SQLITE_ROW) {
        *why = NULL;
        ksm_iam__copy_id(out->user_id, st, 0);
        out->no_mfa = sqlite3_column_int(st, 1) == 0;
        snprintf(csrf, KSM_OIDC_TOKEN_LEN + 1, "%s", ksm_db_col_text(st, 2));
        seen = sqlite3_column_int64(st, 3);
        expires = sqlite3_column_int64(st, 4);
        ksm_iam__copy_id(out->tenant_id, st, 5);
        snprintf(out->name, sizeof out->name, "%s", ksm_db_col_text(st, 6));
        disabled = sqlite3_column_int(st, 7) != 0;
    }
    sqlite3_reset(st);
    if (*why)
        return session_refuse(ctx, NULL, *why);
    if (now >= expires)
        *why = "session_expired";
    else if (now - seen > (int64_t)B.idle_s * 1000)
        *why = "session_idle";
    else if (disabled)
        *why = "user_disabled";
    if (*why) {
        session_delete_hash(db, hash);
        return session_refuse(ctx, out->user_id, *why);
    }
    if (now - seen >= 1000) {   /* at most one write a second per session */
        st = ksm_db_prepare(db, "UPDATE sso_sessions SET last_seen_at=?2 WHERE id_hash=?1");
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        ksm_iam__step_write(db, st);
    }
    return KSM_E_OK;
}

void ksm_oidc_session_end(struct ksm_db *db, const char *sid)
{
    char hash[65];
    if (!sid || strlen(sid) != TOKEN_LEN)
        return;
    ksm_sha256_hex(sid, TOKEN_LEN, hash);
    session_delete_hash(db, hash);
}
