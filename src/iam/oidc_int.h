/* oidc_int.h — what the oidc_*.c files of src/iam share: the key set's layout, the per-issuer state
 * that the fetcher thread keeps, and the sign-in steps. Names carry the ksm_oidc__ prefix. */
#ifndef KSM_OIDC_INT_H
#define KSM_OIDC_INT_H
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/db.h"
#include "iam/oidc.h"
#include "iam/oidc_jwt.h"

enum ksm_jwk_kty { KSM_JWK_RSA = 1, KSM_JWK_EC256 };

struct ksm_jwk {
    enum ksm_jwk_kty kty;
    bool has_kid;
    char kid[128];
    char alg[8];          /* "" when the JWK does not say */
    EVP_PKEY *pkey;
};

struct ksm_jwks {
    int n;
    int refs;             /* oidc_fetch.c: readers hold a reference while verifying */
    struct ksm_jwk keys[];
};

/* A request waiting for an issuer's keys: fn(arg) is posted to mb once a fetch ends. */
struct ksm_oidc__waiter {
    struct ksm_oidc__waiter *next;
    struct ksm_mailbox *mb;
    void (*fn)(void *arg);
    void *arg;
};

/* One trusted issuer: its settings (a copy) and what the fetcher learnt. mu guards the rest. */
struct ksm_oidc__issuer {
    struct ksm_conf_issuer conf;
    pthread_mutex_t mu;
    struct ksm_jwks *keys;          /* NULL until the first fetch succeeds */
    int64_t attempt_ms;             /* the last fetch's end (success or not), 0 never */
    int64_t loaded_ms;              /* the last success */
    bool fetching, want_fetch;
    char last_error[160];
    char authorization_endpoint[512], token_endpoint[512], end_session_endpoint[512];
    char client_secret[256];        /* read from client_secret_file at start */
    struct ksm_oidc__waiter *waiters;
};

/* oidc_fetch.c */
struct ksm_oidc__issuer *ksm_oidc__find(const char *iss);          /* by exact "iss" */
struct ksm_oidc__issuer *ksm_oidc__by_name(const char *name);      /* by section name */
/* The issuer's keys with a reference (NULL: none yet); release with ksm_oidc__keys_put. */
struct ksm_jwks *ksm_oidc__keys_get(struct ksm_oidc__issuer *is);
void ksm_oidc__keys_put(struct ksm_oidc__issuer *is, struct ksm_jwks *ks);
/* Asks for a fetch unless one ran within the issuer's jwks_min_refresh_s (or 5 s after a failure):
 * true when one is running or queued, and then w (when not NULL) is posted at its end. */
bool ksm_oidc__want_keys(struct ksm_oidc__issuer *is, const struct ksm_oidc_wait *w);
/* A blocking POST of a form to url with HTTP basic client authentication, for the fetcher thread:
 * the response body (malloc'd) and status, NULL on a transport error. */
char *ksm_oidc__http_post_form(const char *url, const char *user, const char *pass, const char *form,
                               long *status, size_t *len);
/* Queues fn(arg) on the fetcher thread (which may block on the network), never on a worker;
 * cancel(arg) instead when kasumid stops first. */
void ksm_oidc__run_on_fetcher(void (*fn)(void *arg), void (*cancel)(void *arg), void *arg);
int ksm_oidc__fetch_start(const struct ksm_conf *c, char *err, size_t errlen);
void ksm_oidc__fetch_stop(void);

/* oidc_signin.c: the audit hook set at start */
void ksm_oidc__audit(const struct ksm_oidc_ctx *ctx, const char *action, const char *outcome,
                     const char *user, const char *tenant, const char *detail);

/* A verified token of is → principal (claims mapped, user made), audited. */
enum ksm_err ksm_oidc__principal(struct ksm_db *db, struct ksm_oidc__issuer *is,
                                 const struct ksm_jwt *t, const struct ksm_oidc_ctx *ctx,
                                 struct ksm_principal *out);
/* oidc_browser.c: session lifetimes from [sso] */
void ksm_oidc__browser_start(const struct ksm_conf *c);

#endif
