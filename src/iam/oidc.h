/* oidc.h — single sign-on with OpenID Connect (SPEC.md B9, U; docs/sso.md): the providers this node
 * trusts ([oidc.NAME] in the config), bearer JWTs from them turned into principals (users created
 * just in time, IdP groups mapped to role bindings, tenants named by 法人番号), and the browser
 * sign-in of the console (authorization code with PKCE, then a session cookie).
 *
 * Keys are fetched off the workers: a small fetcher thread reads discovery and the JWKS at start,
 * in the background when they age, and when a token names a kid we do not know (at most once per
 * jwks_min_refresh_s). A request that needs keys not yet fetched waits without blocking its worker:
 * it is told to park, and its continuation is posted to its loop's mailbox when the fetch ends. */
#ifndef KSM_OIDC_H
#define KSM_OIDC_H
#include <stdbool.h>
#include <stddef.h>

#include "core/conf.h"
#include "core/db.h"
#include "core/error.h"
#include "core/mailbox.h"
#include "iam/iam.h"

/* How to resume a request that had to wait for keys: fn(arg) runs on mb's loop. */
struct ksm_oidc_wait {
    struct ksm_mailbox *mb;
    void (*fn)(void *arg);
    void *arg;
};

/* Who is asking, for the audit record of the decision. */
struct ksm_oidc_ctx {
    const char *request_id;
    const char *source;     /* the client's address */
    struct ksm_oidc_wait wait;
};

/* An audit record of a sign-in decision: metadata only, never a token or a code. */
struct ksm_oidc_audit_rec {
    const char *request_id, *source, *action, *outcome, *principal, *tenant, *detail;
};
typedef void (*ksm_oidc_audit_fn)(void *arg, const struct ksm_oidc_audit_rec *rec);

/* Starts the fetcher for c's issuers (none: SSO is off and nothing starts) and registers the MFA
 * roles of [sso]. Reads each client_secret_file. 0, or -1 with err. */
int ksm_oidc_start(const struct ksm_conf *c, ksm_oidc_audit_fn audit, void *audit_arg, char *err,
                   size_t errlen);
void ksm_oidc_stop(void);
bool ksm_oidc_enabled(void);

/* Could this bearer credential be a JWT (three base64url parts)? API keys never are. */
bool ksm_oidc_is_jwt(const char *bearer);

/* A bearer JWT → principal. OK with *out filled; UNAUTHENTICATED when the token is not good (the
 * reason goes to the audit log and the operator log, never to the caller, and never the token);
 * or OK-less with *pending true: the issuer's keys are being fetched; ctx->wait runs when they
 * are, and the caller then starts over. A user disabled locally or a tenant the issuer may not
 * name is refused here; roles that require MFA are withheld later, by ksm_iam_check. */
enum ksm_err ksm_oidc_authenticate(struct ksm_db *db, const char *token, const struct ksm_oidc_ctx *ctx,
                                   struct ksm_principal *out, bool *pending);

/* The schema: identities (issuer + subject → user), group → role mappings, browser sessions. */
void ksm_oidc_register_schema(void);

/* ---- group → role mappings (oidc_mapping.c), behind /admin/v1/sso/group-roles ----
 * An IdP group of an issuer grants a role at a scope; at each sign-in the user's bindings made by
 * mappings are set to what its token's groups grant. Platform scope applies to platform-level
 * users only, tenant and project scope to users of that tenant. */
enum ksm_err ksm_oidc_mapping_create(struct ksm_db *db, const char *issuer, const char *group,
                                     const char *role, const char *tenant, const char *project,
                                     const char *created_by, json_t **out, const char **why);
enum ksm_err ksm_oidc_mapping_get(struct ksm_db *db, const char *id, json_t **out);
enum ksm_err ksm_oidc_mapping_delete(struct ksm_db *db, const char *id);
/* tenant: NULL any, "" platform only. */
enum ksm_err ksm_oidc_mapping_list(struct ksm_db *db, const char *tenant, const char *after,
                                   int limit, json_t *items);
/* The tenant and project (KSM_ID_LEN each, "" when none) of mapping id; NOT_FOUND. */
enum ksm_err ksm_oidc_mapping_owner(struct ksm_db *db, const char *id, char *tenant, char *project);

/* ---- browser sign-in of the console (oidc_browser.c) ----
 * GET /auth/login sends the browser to the provider with a fresh state, nonce and PKCE challenge;
 * GET /auth/callback exchanges the code on the fetcher thread, checks the ID token and its nonce,
 * and opens a session whose id goes to the browser in a cookie (only its hash is stored). */
#define KSM_OIDC_TOKEN_LEN 43             /* session ids, CSRF tokens, state: 32 random bytes */
#define KSM_OIDC_COOKIE "kasumi_session"

struct ksm_oidc_exchange;                 /* a code exchange under way */
struct ksm_oidc_session {
    char id[KSM_OIDC_TOKEN_LEN + 1];      /* for the cookie, never stored */
    char csrf[KSM_OIDC_TOKEN_LEN + 1];
    char return_to[512];
};

/* The provider's authorization URL (malloc'd) for issuer NAME (a pending login is kept for ten
 * minutes, for one use); INVALID_ARGUMENT or UNAVAILABLE with why. scope: extra scopes or NULL. */
enum ksm_err ksm_oidc_login_url(const char *issuer, const char *return_to, const char *scope,
                                char **url, const char **why);
/* Takes the pending login of state and queues the code exchange: OK with *x, after which
 * ctx->wait.fn(ctx->wait.arg) runs on ctx->wait.mb; UNAUTHENTICATED (audited) otherwise. */
enum ksm_err ksm_oidc_callback_start(const char *state, const char *code, const char *error,
                                     const struct ksm_oidc_ctx *ctx, struct ksm_oidc_exchange **x);
/* After the exchange, on the request's loop: the ID token checked, the user made, a session
 * opened. OK or UNAUTHENTICATED (audited). x stays the caller's: free it with the next call. */
enum ksm_err ksm_oidc_callback_finish(struct ksm_db *db, struct ksm_oidc_exchange *x,
                                      const struct ksm_oidc_ctx *ctx, struct ksm_principal *p,
                                      struct ksm_oidc_session *s);
void ksm_oidc_exchange_free(struct ksm_oidc_exchange *x);
/* A session for a local user that proved itself with one of its API keys (the console's local
 * sign-in, for the platform administrator of a node without an identity provider). */
enum ksm_err ksm_oidc_session_open_local(struct ksm_db *db, const struct ksm_principal *p,
                                         struct ksm_oidc_session *s);
/* The session of cookie value sid → principal and its CSRF token; UNAUTHENTICATED (audited with
 * the reason) when unknown, idle too long, past its lifetime (the row is then deleted) or its user
 * disabled. */
enum ksm_err ksm_oidc_session_auth(struct ksm_db *db, const char *sid, const struct ksm_oidc_ctx *ctx,
                                   struct ksm_principal *out, char csrf[KSM_OIDC_TOKEN_LEN + 1]);
/* The section names of the issuers a browser can sign in with (those with a client_id), at most
 * max; the console's sign-in page offers them. The names live as long as the issuers. */
int ksm_oidc_browser_issuers(const char **names, int max);
void ksm_oidc_session_end(struct ksm_db *db, const char *sid);
int ksm_oidc_session_max_s(void);

#endif
