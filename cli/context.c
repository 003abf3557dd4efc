/* context.c — where the CLI connects, with which token, and how it prints. Flags win over the
 * environment. The token is resolved only when a request is about to be sent, so offline commands
 * (audit verify, help) never fail on a stale KASUMI_TOKEN_FILE. The token is never printed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "cli.h"
#include "core/util.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int kc_ctx_init(struct kc_ctx *c, const struct kc_args *a)
{
    memset(c, 0, sizeof *c);
    const char *ep = kc_flag(a, "endpoint");
    if (!ep)
        ep = env("KASUMI_ENDPOINT");
    if (!ep)
        ep = KC_DEFAULT_ENDPOINT;
    c->endpoint = ksm_xstrdup(ep);
    for (size_t n = strlen(c->endpoint); n > 0 && c->endpoint[n - 1] == '/'; n--)
        c->endpoint[n - 1] = '\0';   /* paths start with '/' */
    if (!*c->endpoint) {
        kc_err("--endpoint is empty");
        return KC_EXIT_USAGE;
    }

    const char *out = kc_flag(a, "output");
    if (!out || !strcmp(out, "table"))
        c->output = KC_OUT_TABLE;
    else if (!strcmp(out, "json"))
        c->output = KC_OUT_JSON;
    else {
        kc_err("--output must be table or json, not '%s'", out);
        return KC_EXIT_USAGE;
    }

    c->token_flag = kc_flag(a, "token");
    c->token_file_flag = kc_flag(a, "token-file");
    if (c->token_flag && c->token_file_flag) {
        kc_err("give --token or --token-file, not both");
        return KC_EXIT_USAGE;
    }
    return 0;
}

/* Reads a token file: the first line, trailing white space removed. Warns when others may read it,
 * as ssh does for keys, but does not refuse: the operator may know better. */
static int read_token_file(struct kc_ctx *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        kc_err("warning: token file %s is accessible by group or others (chmod 600)", path);
    size_t len;
    char *s = ksm_read_file(path, &len);
    if (!s) {
        kc_err("cannot read token file %s: %s", path, strerror(errno));
        return KC_EXIT_USAGE;
    }
    s[strcspn(s, "\r\n")] = '\0';
    for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
        s[n - 1] = '\0';
    c->token = s;
    return 0;
}

/* A token goes into a header line: a CR, LF or other control character would split it. */
static bool token_ok(const char *t)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int kc_ctx_token(struct kc_ctx *c)
{
    if (c->token_resolved)
        return 0;
    c->token_resolved = true;
    int rc = 0;
    if (c->token_flag)
        c->token = ksm_xstrdup(c->token_flag);
    else if (c->token_file_flag)
        rc = read_token_file(c, c->token_file_flag);
    else if (env("KASUMI_TOKEN"))
        c->token = ksm_xstrdup(env("KASUMI_TOKEN"));
    else if (env("KASUMI_TOKEN_FILE"))
        rc = read_token_file(c, env("KASUMI_TOKEN_FILE"));
    if (rc == 0 && c->token && !token_ok(c->token)) {
        kc_err("the token contains control characters");
        rc = KC_EXIT_USAGE;
    }
    return rc;
}

void kc_ctx_free(struct kc_ctx *c)
{
    if (c->token) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->endpoint);
    memset(c, 0, sizeof *c);
}
