/* oidc_fetch.c — the fetcher thread: each trusted issuer's discovery document and JWKS, read at
 * start, again in the background when they are older than jwks_max_age_s, and on demand when a
 * token names a kid we do not know (at most once per jwks_min_refresh_s, so a stream of forged
 * kids cannot make us hammer the provider). Blocking libcurl on a thread of its own: the fetches
 * are rare, and no worker ever waits on the network for them — a request that needs keys parks
 * and is posted back to its loop when the fetch ends. The same thread runs the browser sign-in's
 * code exchange (oidc_browser.c). */
#include "iam/oidc_int.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mailbox.h"
#include "core/util.h"

#define MAX_DOC (1 << 20)        /* discovery and JWKS documents: a megabyte is plenty */
#define FAIL_RETRY_MS 5000       /* after a failed fetch, the next attempt waits at least this */

struct job {
    struct job *next;
    void (*fn)(void *arg);
    void (*cancel)(void *arg);   /* at stop, for a job that never ran */
    void *arg;
};

static struct {
    struct ksm_oidc__issuer *issuers;
    int n;
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu;          /* guards jobs, stop and kick */
    pthread_cond_t cond;
    struct job *jobs, **jobs_tail;
    bool kick;                   /* some issuer wants a fetch */
} F = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* ---- HTTP, blocking, on the fetcher thread only ------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct ksm_buf *b = arg;
    if (b->len + size * n > MAX_DOC)
        return 0;   /* too large: curl fails the transfer */
    ksm_buf_append(b, p, size * n);
    return size * n;
}

static CURL *easy(const char *url, struct ksm_buf *body)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kasumid-sso");
    return c;   /* no redirects are followed: the documents live where the issuer says */
}

static char *http_do(CURL *c, struct ksm_buf *body, long *status, size_t *len)
{
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        ksm_buf_free(body);
        return NULL;
    }
    ksm_buf_putc(body, '\0');
    *len = body->len - 1;
    return ksm_buf_steal(body);
}

static char *http_get(const char *url, long *status, size_t *len)
{
    struct ksm_buf body = KSM_BUF_INIT;
    CURL *c = easy(url, &body);
    return c ? http_do(c, &body, status, len) : NULL;
}

char *ksm_oidc__http_post_form(const char *url, const char *user, const char *pass, const char *form,
                               long *status, size_t *len)
{
    struct ksm_buf body = KSM_BUF_INIT;
    CURL *c = easy(url, &body);
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
    return http_do(c, &body, status, len);
}

/* ---- one issuer's fetch ------------------------------------------------------------------------- */

/* Endpoints must be as safe as the issuer: https, or http to this machine (a test provider). */
static bool url_ok(const char *u)
{
    return u && (!strncmp(u, "https://", 8) || !strncmp(u, "http://127.0.0.1", 16) ||
                 !strncmp(u, "http://localhost", 16) || !strncmp(u, "http://[::1]", 12));
}

static void copy_endpoint(char *dst, size_t n, json_t *doc, const char *name)
{
    const char *u = json_string_value(json_object_get(doc, name));
    snprintf(dst, n, "%s", u && url_ok(u) && strlen(u) < n ? u : "");
}

/* Discovery then JWKS. NULL with err on any failure; endpoints are written to is (under mu). */
static struct ksm_jwks *fetch_keys(struct ksm_oidc__issuer *is, char *err, size_t errlen)
{
    char url[640], jwks_uri[512];
    long status;
    size_t len;
    const char *why = NULL;
    size_t ilen = strlen(is->conf.issuer);
    if (is->conf.issuer[ilen - 1] == '/')   /* OpenID Connect Discovery §4: no double slash */
        ilen--;
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)ilen, is->conf.issuer);
    char *text = http_get(url, &status, &len);
    json_error_t jerr;
    json_t *doc = text && status == 200 ? json_loadb(text, len, 0, &jerr) : NULL;
    free(text);
    const char *diss = json_string_value(json_object_get(doc, "issuer"));
    const char *ju = json_string_value(json_object_get(doc, "jwks_uri"));
    if (!doc || !diss || strcmp(diss, is->conf.issuer) || !url_ok(ju) || strlen(ju) >= sizeof jwks_uri) {
        snprintf(err, errlen, "discovery %.90s: %s", url,
                 !doc ? "no JSON document (HTTP error or unreachable)"
                      : !diss || strcmp(diss, is->conf.issuer) ? "its issuer differs" : "bad jwks_uri");
        json_decref(doc);
        return NULL;
    }
    strcpy(jwks_uri, ju);
    pthread_mutex_lock(&is->mu);
    copy_endpoint(is->authorization_endpoint, sizeof is->authorization_endpoint, doc,
                  "authorization_endpoint");
    copy_endpoint(is->token_endpoint, sizeof is->token_endpoint, doc, "token_endpoint");
    copy_endpoint(is->end_session_endpoint, sizeof is->end_session_endpoint, doc, "end_session_endpoint");
    pthread_mutex_unlock(&is->mu);
    json_decref(doc);
    text = http_get(jwks_uri, &status, &len);
    struct ksm_jwks *ks = text && status == 200 ? ksm_jwks_parse(text, len, &why) : NULL;
    free(text);
    if (!ks || !ks->n) {
        snprintf(err, errlen, "JWKS %.90s: %s", jwks_uri, ks ? "no usable signing key" : why ? why : "unreachable");
        ksm_jwks_free(ks);
        return NULL;
    }
    return ks;
}

static void keys_release_locked(struct ksm_jwks *ks)
{
    if (ks && --ks->refs == 0)
        ksm_jwks_free(ks);
}

static void fetch_one(struct ksm_oidc__issuer *is)
{
    char err[300] = "";
    struct ksm_jwks *ks = fetch_keys(is, err, sizeof err);
    pthread_mutex_lock(&is->mu);
    is->attempt_ms = ksm_now_ms();
    is->fetching = false;
    if (ks) {
        ks->refs = 1;   /* the issuer's own reference */
        keys_release_locked(is->keys);
        is->keys = ks;
        is->loaded_ms = is->attempt_ms;
        is->last_error[0] = '\0';
    } else {
        snprintf(is->last_error, sizeof is->last_error, "%.150s", err);
    }
    struct ksm_oidc__waiter *w = is->waiters;
    is->waiters = NULL;
    pthread_mutex_unlock(&is->mu);
    if (ks)
        ksm_info("sso: issuer %s: %d signing keys loaded", is->conf.name, ks->n);
    else
        ksm_warn("sso: issuer %s: cannot load keys: %s", is->conf.name, err);
    while (w) {   /* every parked request starts over on its own loop */
        struct ksm_oidc__waiter *next = w->next;
        ksm_mailbox_post(w->mb, w->fn, w->arg);
        free(w);
        w = next;
    }
}

/* ---- the thread --------------------------------------------------------------------------------- */

static bool due(struct ksm_oidc__issuer *is, int64_t now)
{
    pthread_mutex_lock(&is->mu);
    bool d = !is->fetching && (is->want_fetch || (is->loaded_ms &&
                              now - is->loaded_ms >= (int64_t)is->conf.jwks_max_age_s * 1000 &&
                              now - is->attempt_ms >= FAIL_RETRY_MS));
    if (d)
        is->fetching = true, is->want_fetch = false;
    pthread_mutex_unlock(&is->mu);
    return d;
}

static void *fetcher_main(void *arg)
{
    ksm_thread_name("ksm-oidc");
    pthread_mutex_lock(&F.mu);
    while (!F.stop) {
        struct job *j = F.jobs;
        if (j) {
            F.jobs = j->next;
            if (!F.jobs)
                F.jobs_tail = &F.jobs;
        }
        F.kick = false;
        pthread_mutex_unlock(&F.mu);
        if (j) {
            j->fn(j->arg);
            free(j);
        }
        int64_t now = ksm_now_ms();
        for (int i = 0; i < F.n; i++)
            if (due(&F.issuers[i], now))
                fetch_one(&F.issuers[i]);
        pthread_mutex_lock(&F.mu);
        if (!F.jobs && !F.kick && !F.stop) {
            /* the background refresh looks once a second */
            struct timespec ts = ksm_deadline_ns(CLOCK_REALTIME, 1000000000u);
            pthread_cond_timedwait(&F.cond, &F.mu, &ts);
        }
    }
    pthread_mutex_unlock(&F.mu);
    return NULL;
}

static void kick(void)
{
    pthread_mutex_lock(&F.mu);
    F.kick = true;
    pthread_cond_signal(&F.cond);
    pthread_mutex_unlock(&F.mu);
}

void ksm_oidc__run_on_fetcher(void (*fn)(void *arg), void (*cancel)(void *arg), void *arg)
{
    struct job *j = ksm_xcalloc(1, sizeof *j);
    j->fn = fn;
    j->cancel = cancel;
    j->arg = arg;
    pthread_mutex_lock(&F.mu);
    *F.jobs_tail = j;
    F.jobs_tail = &j->next;
    pthread_cond_signal(&F.cond);
    pthread_mutex_unlock(&F.mu);
}

/* ---- what the workers call ---------------------------------------------------------------------- */

struct ksm_oidc__issuer *ksm_oidc__find(const char *iss)
{
    for (int i = 0; iss && i < F.n; i++)
        if (!strcmp(F.issuers[i].conf.issuer, iss))
            return &F.issuers[i];
    return NULL;
}

struct ksm_oidc__issuer *ksm_oidc__by_name(const char *name)
{
    for (int i = 0; name && i < F.n; i++)
        if (!strcmp(F.issuers[i].conf.name, name))
            return &F.issuers[i];
    return NULL;
}

int ksm_oidc_browser_issuers(const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < F.n && n < max; i++)
        if (F.issuers[i].conf.client_id[0])
            names[n++] = F.issuers[i].conf.name;
    return n;
}

struct ksm_jwks *ksm_oidc__keys_get(struct ksm_oidc__issuer *is)
{
    pthread_mutex_lock(&is->mu);
    struct ksm_jwks *ks = is->keys;
    if (ks)
        ks->refs++;
    pthread_mutex_unlock(&is->mu);
    return ks;
}

void ksm_oidc__keys_put(struct ksm_oidc__issuer *is, struct ksm_jwks *ks)
{
    pthread_mutex_lock(&is->mu);
    keys_release_locked(ks);
    pthread_mutex_unlock(&is->mu);
}

bool ksm_oidc__want_keys(struct ksm_oidc__issuer *is, const struct ksm_oidc_wait *w)
{
    int64_t now = ksm_now_ms();
    pthread_mutex_lock(&is->mu);
    int64_t gap = is->loaded_ms && is->loaded_ms == is->attempt_ms
                      ? (int64_t)is->conf.jwks_min_refresh_s * 1000 : FAIL_RETRY_MS;
    bool go = is->fetching || is->want_fetch || !is->attempt_ms || now - is->attempt_ms >= gap;
    if (go) {
        is->want_fetch = is->want_fetch || !is->fetching;
        if (w && w->mb) {
            struct ksm_oidc__waiter *wt = ksm_xcalloc(1, sizeof *wt);
            wt->mb = w->mb, wt->fn = w->fn, wt->arg = w->arg;
            wt->next = is->waiters;
            is->waiters = wt;
        }
    }
    pthread_mutex_unlock(&is->mu);
    if (go)
        kick();
    return go;
}

/* ---- start and stop ----------------------------------------------------------------------------- */

static int read_secret(struct ksm_oidc__issuer *is, char *err, size_t errlen)
{
    if (!is->conf.client_secret_file[0])
        return 0;
    size_t len;
    char *s = ksm_read_file(is->conf.client_secret_file, &len);
    while (s && len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    if (!s || !len || len >= sizeof is->client_secret) {
        snprintf(err, errlen, "oidc.%s: cannot read client_secret_file %s", is->conf.name,
                 is->conf.client_secret_file);
        free(s);
        return -1;
    }
    memcpy(is->client_secret, s, len + 1);
    memset(s, 0, len);
    free(s);
    return 0;
}

int ksm_oidc__fetch_start(const struct ksm_conf *c, char *err, size_t errlen)
{
    F.n = c->noidc;
    F.issuers = ksm_xcalloc((size_t)(F.n ? F.n : 1), sizeof *F.issuers);
    F.jobs_tail = &F.jobs;
    F.stop = false;
    for (int i = 0; i < F.n; i++) {
        struct ksm_oidc__issuer *is = &F.issuers[i];
        is->conf = c->oidc[i];
        pthread_mutex_init(&is->mu, NULL);
        is->want_fetch = true;   /* at start, in the background */
        if (read_secret(is, err, errlen))
            return -1;
    }
    if (!F.n)
        return 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (pthread_create(&F.thread, NULL, fetcher_main, NULL)) {
        snprintf(err, errlen, "sso: cannot start the fetcher thread");
        return -1;
    }
    F.running = true;
    return 0;
}

bool ksm_oidc_enabled(void) { return F.n > 0; }

void ksm_oidc__fetch_stop(void)
{
    if (F.running) {
        pthread_mutex_lock(&F.mu);
        F.stop = true;
        pthread_cond_signal(&F.cond);
        pthread_mutex_unlock(&F.mu);
        pthread_join(F.thread, NULL);
        F.running = false;
    }
    while (F.jobs) {   /* never run: their owners are gone with the workers */
        struct job *j = F.jobs;
        F.jobs = j->next;
        j->cancel(j->arg);
        free(j);
    }
    for (int i = 0; i < F.n; i++) {
        struct ksm_oidc__issuer *is = &F.issuers[i];
        keys_release_locked(is->keys);
        while (is->waiters) {
            struct ksm_oidc__waiter *w = is->waiters;
            is->waiters = w->next;
            free(w);
        }
        memset(is->client_secret, 0, sizeof is->client_secret);
        pthread_mutex_destroy(&is->mu);
    }
    free(F.issuers);
    F.issuers = NULL;
    F.n = 0;
}
