/* daemon.h — kasumid's command line: flags that override the config file. */
#ifndef KSM_DAEMON_H
#define KSM_DAEMON_H
#include <stdbool.h>
#include <stddef.h>

#include "core/conf.h"

struct ksm_daemon_flags {
    const char *config;
    bool test_only;
    const char *data_dir, *admin_listen, *env_kind, *bootstrap_token_file, *log_level;
    int workers;   /* 0: from the file */
    const char *ai_listen, *s3_listen;
    const char *overseas_allow[KSM_CONF_MAX_ALLOW];   /* --overseas-allow, repeatable */
    int noverseas_allow;
    const char *oidc_issuer, *oidc_audience;          /* --oidc-issuer URL --oidc-audience AUD */
    const char *jurisdiction;                         /* --jurisdiction CC */
    bool allow_swap;                                  /* --allow-swap: overseas-ai starts with swap on */
    const char *swaps_file;                           /* --swaps-file: instead of /proc/swaps (tests) */
};

/* 0 to run, 1 for --help/--version (already printed), -1 with err on a bad command line. */
int ksm_daemon_parse_flags(struct ksm_daemon_flags *fl, int argc, char **argv, char *err, size_t errlen);
/* defaults → the config file → the flags → cross-checks. -1 with err ("FILE:LINE:COL: ..."). */
int ksm_daemon_load_conf(struct ksm_conf *c, const struct ksm_daemon_flags *fl, char *err, size_t errlen);
void ksm_daemon_apply_log_level(const struct ksm_conf *c);

#endif
