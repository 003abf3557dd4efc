/* flags.c — command-line parsing for kasumid, as a table of long options. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "daemon/daemon.h"

enum {
    OPT_CONFIG = 256, OPT_DATA, OPT_ADMIN, OPT_AI, OPT_S3, OPT_ALLOW, OPT_ENV, OPT_BOOT, OPT_WORKERS, OPT_LOG,
    OPT_OIDC_ISSUER, OPT_OIDC_AUD, OPT_JURIS, OPT_ALLOW_SWAP, OPT_SWAPS_FILE, OPT_VERSION, OPT_HELP
};

static const struct option options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"data-dir", required_argument, NULL, OPT_DATA},
    {"admin-listen", required_argument, NULL, OPT_ADMIN},
    {"ai-listen", required_argument, NULL, OPT_AI},
    {"s3-listen", required_argument, NULL, OPT_S3},
    {"overseas-allow", required_argument, NULL, OPT_ALLOW},
    {"env-kind", required_argument, NULL, OPT_ENV},
    {"bootstrap-token-file", required_argument, NULL, OPT_BOOT},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"oidc-issuer", required_argument, NULL, OPT_OIDC_ISSUER},
    {"oidc-audience", required_argument, NULL, OPT_OIDC_AUD},
    {"jurisdiction", required_argument, NULL, OPT_JURIS},
    {"allow-swap", no_argument, NULL, OPT_ALLOW_SWAP},
    {"swaps-file", required_argument, NULL, OPT_SWAPS_FILE},   /* tests only (docs/config.md) */
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

int ksm_daemon_parse_flags(struct ksm_daemon_flags *fl, int argc, char **argv, char *err, size_t errlen)
{
    memset(fl, 0, sizeof *fl);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "tc:", options, NULL)) != -1) {
        switch (ch) {
        case 't': fl->test_only = true; break;
        case 'c':
        case OPT_CONFIG: fl->config = optarg; break;
        case OPT_DATA: fl->data_dir = optarg; break;
        case OPT_ADMIN: fl->admin_listen = optarg; break;
        case OPT_AI: fl->ai_listen = optarg; break;
        case OPT_S3: fl->s3_listen = optarg; break;
        case OPT_ALLOW:
            if (fl->noverseas_allow == KSM_CONF_MAX_ALLOW) {
                snprintf(err, errlen, "at most %d --overseas-allow", KSM_CONF_MAX_ALLOW);
                return -1;
            }
            fl->overseas_allow[fl->noverseas_allow++] = optarg;
            break;
        case OPT_ENV: fl->env_kind = optarg; break;
        case OPT_BOOT: fl->bootstrap_token_file = optarg; break;
        case OPT_LOG: fl->log_level = optarg; break;
        case OPT_OIDC_ISSUER: fl->oidc_issuer = optarg; break;
        case OPT_OIDC_AUD: fl->oidc_audience = optarg; break;
        case OPT_JURIS: fl->jurisdiction = optarg; break;
        case OPT_ALLOW_SWAP: fl->allow_swap = true; break;
        case OPT_SWAPS_FILE: fl->swaps_file = optarg; break;
        case OPT_WORKERS:
            fl->workers = atoi(optarg);
            if (fl->workers < 1 || fl->workers > 64) {
                snprintf(err, errlen, "--workers must be 1..64");
                return -1;
            }
            break;
        case OPT_VERSION: puts("kasumid 0.1.0"); return 1;
        case OPT_HELP: return 1;
        default:
            snprintf(err, errlen, "unknown or incomplete option %s", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument %s", argv[optind]);
        return -1;
    }
    return 0;
}

static int copy(char *dst, size_t n, const char *src, const char *flag, char *err, size_t errlen)
{
    if (strlen(src) >= n) {
        snprintf(err, errlen, "%s is too long", flag);
        return -1;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* --oidc-issuer URL --oidc-audience AUD: one more trusted issuer, "default", with the default claim
 * mapping, for any tenant (the government-wide provider). */
static int add_flag_issuer(struct ksm_conf *c, const struct ksm_daemon_flags *fl, char *err,
                           size_t errlen)
{
    if (!fl->oidc_issuer && !fl->oidc_audience)
        return 0;
    struct ksm_conf_issuer *is = fl->oidc_issuer && fl->oidc_audience ? ksm_conf_add_issuer(c, "default") : NULL;
    if (!is) {
        snprintf(err, errlen, fl->oidc_issuer && fl->oidc_audience
                                  ? "--oidc-issuer: the config already has [oidc.default] or %d issuers"
                                  : "--oidc-issuer and --oidc-audience go together",
                 KSM_CONF_MAX_ISSUERS);
        return -1;
    }
    if (copy(is->issuer, sizeof is->issuer, fl->oidc_issuer, "--oidc-issuer", err, errlen) ||
        copy(is->audience, sizeof is->audience, fl->oidc_audience, "--oidc-audience", err, errlen))
        return -1;
    is->any_tenant = true;
    return 0;
}

int ksm_daemon_load_conf(struct ksm_conf *c, const struct ksm_daemon_flags *fl, char *err, size_t errlen)
{
    ksm_conf_defaults(c);
    if (fl->config && ksm_conf_load(c, fl->config, err, errlen))
        return -1;
    if (fl->data_dir && copy(c->data_dir, sizeof c->data_dir, fl->data_dir, "--data-dir", err, errlen))
        return -1;
    if (fl->bootstrap_token_file &&
        copy(c->bootstrap_token_file, sizeof c->bootstrap_token_file, fl->bootstrap_token_file,
             "--bootstrap-token-file", err, errlen))
        return -1;
    if (fl->log_level && copy(c->log_level, sizeof c->log_level, fl->log_level, "--log-level", err, errlen))
        return -1;
    if (fl->admin_listen && ksm_conf_parse_listen(&c->admin, fl->admin_listen)) {
        snprintf(err, errlen, "--admin-listen: expected HOST:PORT, got %s", fl->admin_listen);
        return -1;
    }
    if (fl->s3_listen && ksm_conf_parse_listen(&c->s3, fl->s3_listen)) {
        snprintf(err, errlen, "--s3-listen: expected HOST:PORT, got %s", fl->s3_listen);
        return -1;
    }
    if (fl->ai_listen && ksm_conf_parse_listen(&c->ai, fl->ai_listen)) {
        snprintf(err, errlen, "--ai-listen: expected HOST:PORT, got %s", fl->ai_listen);
        return -1;
    }
    for (int i = 0; i < fl->noverseas_allow; i++)
        if (ksm_conf_add_overseas_allow(c, fl->overseas_allow[i])) {
            snprintf(err, errlen, "--overseas-allow: %s is not an http(s) URL prefix (or too many)",
                     fl->overseas_allow[i]);
            return -1;
        }
    if (fl->env_kind) {
        if (!strcmp(fl->env_kind, "govcloud"))
            c->env_kind = KSM_ENV_GOVCLOUD;
        else if (!strcmp(fl->env_kind, "overseas-ai"))
            c->env_kind = KSM_ENV_OVERSEAS_AI;
        else {
            snprintf(err, errlen, "--env-kind must be govcloud or overseas-ai");
            return -1;
        }
    }
    if (fl->jurisdiction && ksm_conf_set_jurisdiction(c, fl->jurisdiction, err, errlen))
        return -1;
    if (fl->workers)
        c->workers = fl->workers;
    if (add_flag_issuer(c, fl, err, errlen))
        return -1;
    return ksm_conf_validate(c, err, errlen);
}

void ksm_daemon_apply_log_level(const struct ksm_conf *c)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(c->log_level, names[i]))
            ksm_log_min = (enum ksm_log_level)i;
}
