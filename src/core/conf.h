/* conf.h — node settings (DESIGN.md §1: listeners, TLS, paths, limits; tenants and policies are data,
 * not config). The file format is a small TOML subset (docs/config.md): `key = value` lines,
 * `[section]` headers, `#` comments, values that are "strings", integers, true/false or
 * ["string", ...] arrays. Unknown keys, wrong types and out-of-range values are errors reported as
 * FILE:LINE:COL: message. Command-line flags override the file. */
#ifndef KSM_CONF_H
#define KSM_CONF_H
#include <stdbool.h>
#include <stddef.h>

#include "core/cidr.h"

enum ksm_env_kind { KSM_ENV_GOVCLOUD, KSM_ENV_OVERSEAS_AI };

#define KSM_CONF_MAX_ALLOW 16
#define KSM_CONF_MAX_ISSUERS 8
#define KSM_CONF_MAX_TENANTS 64
#define KSM_CONF_MAX_NAMES 16

struct ksm_listen {
    char host[64];
    int port;                  /* 0: pick a free port */
    char tls_cert[512];        /* PEM paths; both empty: plain HTTP */
    char tls_key[512];
};

/* [oidc.NAME]: an OpenID provider whose tokens this node accepts (docs/sso.md). */
struct ksm_conf_issuer {
    char name[64];                     /* NAME of the section ("default" for --oidc-issuer) */
    char issuer[512];                  /* issuer: the exact "iss"; discovery is under it */
    char audience[256];                /* audience: a bearer token's "aud" must contain it */
    /* tenants = ["法人番号", ...] or ["*"]: the tenants the issuer may name */
    char tenants[KSM_CONF_MAX_TENANTS][16];
    int ntenants;
    char tenant_claim[64];             /* default "corporate_number" */
    char groups_claim[64];             /* default "groups": an array or a comma-joined string */
    char name_claim[64];               /* default "name" */
    char email_claim[64];              /* default "email" */
    char mfa_amr[KSM_CONF_MAX_NAMES][32];   /* amr values that show a second factor */
    int nmfa_amr;
    char mfa_acr[KSM_CONF_MAX_NAMES][128];  /* acr values that do */
    int nmfa_acr;
    int leeway_s;                      /* clock skew allowed on exp/nbf/iat, default 60 */
    int jwks_min_refresh_s;            /* an unknown kid refetches the JWKS at most this often */
    int jwks_max_age_s;                /* keys are refetched in the background after this */
    /* browser sign-in (authorization code + PKCE); all three or none */
    char client_id[256];
    char client_secret_file[512];
    char redirect_uri[512];            /* this node's /auth/callback as the provider knows it */
    bool any_tenant;                   /* tenants = ["*"] */
    bool platform_users;               /* platform_users: a token without a tenant claim is a
                                        * platform-level user (the operator's IdP only) */
};

struct ksm_conf {
    char path[512];                    /* the file it came from, "" if none */
    enum ksm_env_kind env_kind;        /* env_kind = "govcloud" | "overseas-ai" */
    char jurisdiction[4];              /* jurisdiction = "US": where the node runs (ISO 3166 alpha-2);
                                        * govcloud is JP, overseas-ai must name another country */
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
    char billing_operator[128];        /* [billing] operator_name: the invoice issuer, default "kasumi" */
    char billing_registration[16];     /* [billing] registration_number: 登録番号 "T" + 13 digits */
    int billing_notify_interval_ms;    /* [billing] notify_interval_ms: budgets checked, 10000 */
    int billing_webhook_retry_ms;      /* [billing] webhook_retry_ms: first retry's delay, 10000 */
    int billing_webhook_attempts;      /* [billing] webhook_max_attempts: then "failed", 12 */
    int s3_meter_interval_s;           /* [s3] meter_interval_s: stored-bytes samples, default 3600 */
    int s3_compact_live_percent;       /* [s3] compact_live_percent: pack compaction threshold, 50 */
    int s3_compact_interval_s;         /* [s3] compact_interval_s: how often packs are looked at, 60 */
    int erasure_step_pause_ms;         /* [lifecycle] erasure_step_pause_ms: tests only, 0 */
    /* [ai] overseas_allow = ["https://...", ...]: URL prefixes of model servers outside Japan that
     * govcloud may send to (SPEC.md O4); --overseas-allow adds to it */
    char ai_overseas_allow[KSM_CONF_MAX_ALLOW][512];
    int ai_overseas_allow_n;
    /* [ai] trusted_proxies = ["10.0.0.0/8", ...]: reverse proxies whose X-Forwarded-For names the
     * caller, for a project's allowed_networks (http/forwarded.h); none by default */
    struct ksm_cidr ai_trusted_proxies[KSM_CONF_MAX_ALLOW];
    int ai_trusted_proxies_n;
    int ai_backlog_max;                /* [ai] backlog_max: usage/audit records not yet durable above
                                        * which new AI requests get 503, default 50000 */
    size_t ai_backlog_max_bytes;       /* [ai] backlog_max_bytes: the memory those records may hold
                                        * (usage and audit together), default 8 MiB */
    int ai_backlog_wait_ms;            /* [ai] backlog_wait_ms: how long a new request waits for the
                                        * writers to catch up before that 503, default 2000 */
    /* [ai] upstream_ca_file: a PEM bundle of the CAs trusted for https:// model servers instead of
     * the system's (a ministry's own PKI in front of an in-house inference server); "": system */
    char ai_upstream_ca[512];
    int ai_eject_after;                /* [ai] eject_after: a model target failing this many times in
                                        * a row is set aside (tried after the others), default 3;
                                        * 0: never */
    int ai_eject_ms;                   /* [ai] eject_ms: for this long at first (doubling while its
                                        * probes fail, up to 16 times), default 30000 */
    /* [oidc.NAME] sections, then --oidc-issuer/--oidc-audience */
    struct ksm_conf_issuer oidc[KSM_CONF_MAX_ISSUERS];
    int noidc;
    /* [sso] */
    char sso_mfa_roles[KSM_CONF_MAX_NAMES][32];   /* mfa_roles, default ["platform_admin"] */
    int sso_nmfa_roles;
    int sso_session_idle_s;            /* session_idle_s, default 1800 */
    int sso_session_max_s;             /* session_max_s, default 43200 */
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
/* A new [oidc.NAME] issuer with the default mapping (the --oidc-issuer flag); NULL when the name is
 * taken or there is no room. */
struct ksm_conf_issuer *ksm_conf_add_issuer(struct ksm_conf *c, const char *name);
/* jurisdiction = "CC" (the --jurisdiction flag): two capital letters; -1 with msg otherwise. */
int ksm_conf_set_jurisdiction(struct ksm_conf *c, const char *s, char *msg, size_t msglen);
/* Cross-field checks after flags are applied (retention >= 365, ...). */
int ksm_conf_validate(const struct ksm_conf *c, char *err, size_t errlen);
const char *ksm_env_kind_name(enum ksm_env_kind k);
/* The node's jurisdiction: "JP" for govcloud (the key may be left out), the configured country for
 * overseas-ai. */
const char *ksm_conf_jurisdiction(const struct ksm_conf *c);

#endif
