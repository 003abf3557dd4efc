/* conf.h — node settings (DESIGN.md §1: listeners, TLS, paths, limits; tenants and policies are data,
 * not config). The file format is a small TOML subset (docs/config.md): `key = value` lines,
 * `[section]` headers, `#` comments, values that are "strings", integers, true/false or
 * ["string", ...] arrays. Unknown keys, wrong types and out-of-range values are errors reported as
 * FILE:LINE:COL: message. Command-line flags override the file. */
#ifndef KSM_CONF_H
#define KSM_CONF_H
#include <stdbool.h>
#include <stddef.h>

enum ksm_env_kind { KSM_ENV_GOVCLOUD, KSM_ENV_OVERSEAS_AI };

#define KSM_CONF_MAX_ALLOW 16

struct ksm_listen {
    char host[64];
    int port;                  /* 0: pick a free port */
    char tls_cert[512];        /* PEM paths; both empty: plain HTTP */
    char tls_key[512];
};

struct ksm_conf {
    char path[512];                    /* the file it came from, "" if none */
    enum ksm_env_kind env_kind;        /* env_kind = "govcloud" | "overseas-ai" */
    char data_dir[512];                /* data_dir, default "./var" */
    char bootstrap_token_file[512];    /* bootstrap_token_file, default "" (DATA/bootstrap-token) */
    int workers;                       /* workers, default 1 (event-loop threads) */
    char log_level[16];                /* log_level = "debug"|"info"|"warn"|"error" */
    struct ksm_listen admin;           /* [admin] listen = "127.0.0.1:8400", tls_cert, tls_key */
    struct ksm_listen ai;              /* [ai] listen = "127.0.0.1:8402", tls_cert, tls_key */
    struct ksm_listen s3;              /* [s3] listen = "127.0.0.1:8401", tls_cert, tls_key */
    char s3_domain[128];               /* [s3] domain: virtual-host addressing <bucket>.<domain> */
    char s3_region_east[512];          /* [s3] jp_east_path: jp-east's data ("" = DATA/regions/jp-east) */
    char s3_region_west[512];          /* [s3] jp_west_path */
    int s3_meter_interval_s;           /* [s3] meter_interval_s: stored-bytes samples, default 3600 */
    int s3_compact_live_percent;       /* [s3] compact_live_percent: pack compaction threshold, 50 */
    int s3_compact_interval_s;         /* [s3] compact_interval_s: how often packs are looked at, 60 */
    /* [ai] overseas_allow = ["https://...", ...]: URL prefixes of model servers outside Japan that
     * govcloud may send to (SPEC.md O4); --overseas-allow adds to it */
    char ai_overseas_allow[KSM_CONF_MAX_ALLOW][512];
    int ai_overseas_allow_n;
    /* [limits] */
    size_t max_header_bytes;           /* default 16384 */
    size_t max_body_bytes;             /* default 1 MiB (admin API bodies) */
    int header_timeout_ms;             /* default 10000 */
    int body_timeout_ms;               /* default 30000 */
    int idle_timeout_ms;               /* default 60000 (keep-alive) */
    int max_connections;               /* default 10000 */
    /* [audit] */
    int audit_retention_days;          /* retention_days, default 365, minimum 365 */
    int audit_group_commit_ms;         /* group_commit_ms, default 10 (1..1000) */
    size_t audit_segment_bytes;        /* segment_bytes, default 64 MiB */
};

void ksm_conf_defaults(struct ksm_conf *c);
/* Parses text (name is used in messages) over c (call ksm_conf_defaults first). 0, or -1 with err
 * holding "NAME:LINE:COL: message". */
int ksm_conf_parse(struct ksm_conf *c, const char *name, const char *text, size_t len, char *err,
                   size_t errlen);
int ksm_conf_load(struct ksm_conf *c, const char *path, char *err, size_t errlen);
/* "HOST:PORT" (IPv6 as [::1]:8400) into l; -1 if malformed. */
int ksm_conf_parse_listen(struct ksm_listen *l, const char *s);
/* Adds a URL prefix to [ai] overseas_allow (the --overseas-allow flag); -1 if not http(s) or full. */
int ksm_conf_add_overseas_allow(struct ksm_conf *c, const char *prefix);
/* Cross-field checks after flags are applied (retention >= 365, ...). */
int ksm_conf_validate(const struct ksm_conf *c, char *err, size_t errlen);
const char *ksm_env_kind_name(enum ksm_env_kind k);

#endif
