/* conf.c — the node config file: a small TOML subset (docs/config.md) read through one table of
 * settings. Each row names a section, a key, the value type it takes, where it is stored and its
 * bounds, nginx style; a later subsystem adds its settings ([s3], [ai], ...) by adding rows, and the
 * parser, the range checks and ksm_conf_validate pick them up without new code.
 *
 * The parser reads into a copy of the config and writes it back only when the whole file is good, so
 * a reload (SIGHUP) with a broken file leaves the running settings as they were. Errors name the
 * first problem as NAME:LINE:COL, the column counting characters (code points) from 1. */
#include "core/conf.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/corpnum.h"

/* ---- the settings table ---------------------------------------------------------------------- */

enum conf_kind {
    K_STR,      /* "string" into a char[] field (min: shortest length) */
    K_INT,      /* integer into an int field */
    K_SIZE,     /* integer into a size_t field */
    K_BOOL,     /* true/false into a bool field */
    K_STRARR,   /* ["string", ...]: the setter stores it (repeatable settings) */
};

enum conf_vtype { V_STR, V_INT, V_BOOL, V_ARR };

struct conf_value {
    enum conf_vtype type;
    const char *at;            /* where it starts in the text, for messages */
    struct ksm_buf str;        /* V_STR: decoded, NUL-terminated, no NUL inside */
    int64_t num;               /* V_INT */
    bool b;                    /* V_BOOL */
    char **items;              /* V_ARR */
    size_t nitems;
};

struct conf_row;
/* Stores v (already type- and choice-checked) into c; -1 with msg on a bad value. */
typedef int (*conf_set_fn)(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                           char *msg, size_t msglen);

struct conf_row {
    const char *section;           /* "" for the top level */
    const char *key;
    enum conf_kind kind;
    size_t off, size;              /* the field in struct ksm_conf */
    int64_t min, max;              /* integers: bounds; strings: shortest length (max unused) */
    const char *const *choices;    /* strings: the allowed values, NULL-terminated, or NULL */
    conf_set_fn set;               /* NULL: stored by kind */
    const char *why;               /* said with a range error when the bound is policy, not taste */
};

/* Rows of section "oidc" are per issuer ([oidc.NAME]): their off is in struct ksm_conf_issuer, of
 * the section being read, which is always the last one added. */
static bool per_issuer(const struct conf_row *row) { return !strcmp(row->section, "oidc"); }

#define FIELD(f) offsetof(struct ksm_conf, f), sizeof(((struct ksm_conf *)0)->f)
#define IFIELD(f) offsetof(struct ksm_conf_issuer, f), sizeof(((struct ksm_conf_issuer *)0)->f)

static const char *const env_kind_names[] = {"govcloud", "overseas-ai", NULL};
static const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};

static int set_env_kind(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                        char *msg, size_t msglen);
static int set_listen(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                      char *msg, size_t msglen);
static int set_jurisdiction(struct ksm_conf *c, const struct conf_row *row,
                            const struct conf_value *v, char *msg, size_t msglen);

static int set_allow(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                     char *msg, size_t msglen);

static int set_proxies(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                       char *msg, size_t msglen);
static int set_tenants(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                       char *msg, size_t msglen);
static int set_names(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                     char *msg, size_t msglen);
static int set_registration(struct ksm_conf *c, const struct conf_row *row,
                            const struct conf_value *v, char *msg, size_t msglen);

static const struct conf_row conf_rows[] = {
    {"", "env_kind", K_STR, FIELD(env_kind), 1, 0, env_kind_names, set_env_kind, NULL},
    {"", "jurisdiction", K_STR, FIELD(jurisdiction), 2, 0, NULL, set_jurisdiction, NULL},
    {"", "data_dir", K_STR, FIELD(data_dir), 1, 0, NULL, NULL, NULL},
    {"", "bootstrap_token_file", K_STR, FIELD(bootstrap_token_file), 0, 0, NULL, NULL, NULL},
    {"", "workers", K_INT, FIELD(workers), 1, 64, NULL, NULL, NULL},
    {"", "log_level", K_STR, FIELD(log_level), 1, 0, log_level_names, NULL, NULL},
    {"admin", "listen", K_STR, FIELD(admin), 1, 0, NULL, set_listen, NULL},
    {"admin", "tls_cert", K_STR, FIELD(admin.tls_cert), 0, 0, NULL, NULL, NULL},
    {"admin", "tls_key", K_STR, FIELD(admin.tls_key), 0, 0, NULL, NULL, NULL},
    {"s3", "listen", K_STR, FIELD(s3), 1, 0, NULL, set_listen, NULL},
    {"s3", "tls_cert", K_STR, FIELD(s3.tls_cert), 0, 0, NULL, NULL, NULL},
    {"s3", "tls_key", K_STR, FIELD(s3.tls_key), 0, 0, NULL, NULL, NULL},
    {"s3", "domain", K_STR, FIELD(s3_domain), 1, 0, NULL, NULL, NULL},
    {"s3", "jp_east_path", K_STR, FIELD(s3_region_east), 0, 0, NULL, NULL, NULL},
    {"s3", "jp_west_path", K_STR, FIELD(s3_region_west), 0, 0, NULL, NULL, NULL},
    {"s3", "meter_interval_s", K_INT, FIELD(s3_meter_interval_s), 1, 86400, NULL, NULL, NULL},
    {"s3", "compact_live_percent", K_INT, FIELD(s3_compact_live_percent), 0, 99, NULL, NULL, NULL},
    {"s3", "compact_interval_s", K_INT, FIELD(s3_compact_interval_s), 1, 86400, NULL, NULL, NULL},
    {"lifecycle", "erasure_step_pause_ms", K_INT, FIELD(erasure_step_pause_ms), 0, 600000, NULL, NULL, NULL},
    {"ai", "listen", K_STR, FIELD(ai), 1, 0, NULL, set_listen, NULL},
    {"ai", "tls_cert", K_STR, FIELD(ai.tls_cert), 0, 0, NULL, NULL, NULL},
    {"ai", "tls_key", K_STR, FIELD(ai.tls_key), 0, 0, NULL, NULL, NULL},
    {"ai", "overseas_allow", K_STRARR, FIELD(ai_overseas_allow), 0, 0, NULL, set_allow, NULL},
    {"ai", "trusted_proxies", K_STRARR, FIELD(ai_trusted_proxies), 0, 0, NULL, set_proxies, NULL},
    {"ai", "backlog_max", K_INT, FIELD(ai_backlog_max), 1, 10000000, NULL, NULL, NULL},
    {"ai", "backlog_max_bytes", K_SIZE, FIELD(ai_backlog_max_bytes), 4096, (int64_t)1 << 34, NULL, NULL, NULL},
    {"ai", "backlog_wait_ms", K_INT, FIELD(ai_backlog_wait_ms), 0, 60000, NULL, NULL, NULL},
    {"ai", "upstream_ca_file", K_STR, FIELD(ai_upstream_ca), 0, 0, NULL, NULL, NULL},
    {"ai", "eject_after", K_INT, FIELD(ai_eject_after), 0, 100, NULL, NULL, NULL},
    {"ai", "eject_ms", K_INT, FIELD(ai_eject_ms), 100, 3600000, NULL, NULL, NULL},
    {"limits", "max_header_bytes", K_SIZE, FIELD(max_header_bytes), 1024, 1048576, NULL, NULL, NULL},
    {"limits", "max_body_bytes", K_SIZE, FIELD(max_body_bytes), 1024, 1073741824, NULL, NULL, NULL},
    {"limits", "header_timeout_ms", K_INT, FIELD(header_timeout_ms), 100, 600000, NULL, NULL, NULL},
    {"limits", "body_timeout_ms", K_INT, FIELD(body_timeout_ms), 100, 3600000, NULL, NULL, NULL},
    {"limits", "idle_timeout_ms", K_INT, FIELD(idle_timeout_ms), 100, 3600000, NULL, NULL, NULL},
    {"limits", "max_connections", K_INT, FIELD(max_connections), 1, 1000000, NULL, NULL, NULL},
    {"audit", "retention_days", K_INT, FIELD(audit_retention_days), 365, 36500, NULL, NULL,
     "audit records are kept for at least a year"},
    {"audit", "group_commit_ms", K_INT, FIELD(audit_group_commit_ms), 1, 1000, NULL, NULL, NULL},
    {"audit", "segment_bytes", K_SIZE, FIELD(audit_segment_bytes), 1048576, 4294967296, NULL, NULL,
     NULL},
    {"billing", "operator_name", K_STR, FIELD(billing_operator), 1, 0, NULL, NULL, NULL},
    {"billing", "registration_number", K_STR, FIELD(billing_registration), 14, 0, NULL,
     set_registration, NULL},
    {"billing", "notify_interval_ms", K_INT, FIELD(billing_notify_interval_ms), 50, 3600000, NULL,
     NULL, NULL},
    {"billing", "webhook_retry_ms", K_INT, FIELD(billing_webhook_retry_ms), 50, 3600000, NULL, NULL,
     NULL},
    {"billing", "webhook_max_attempts", K_INT, FIELD(billing_webhook_attempts), 1, 100, NULL, NULL,
     NULL},
    {"sso", "mfa_roles", K_STRARR, FIELD(sso_mfa_roles), 0, 0, NULL, set_names, NULL},
    {"sso", "session_idle_s", K_INT, FIELD(sso_session_idle_s), 1, 86400, NULL, NULL, NULL},
    {"sso", "session_max_s", K_INT, FIELD(sso_session_max_s), 1, 604800, NULL, NULL, NULL},
    {"oidc", "issuer", K_STR, IFIELD(issuer), 1, 0, NULL, NULL, NULL},
    {"oidc", "audience", K_STR, IFIELD(audience), 1, 0, NULL, NULL, NULL},
    {"oidc", "tenants", K_STRARR, IFIELD(tenants), 0, 0, NULL, set_tenants, NULL},
    {"oidc", "platform_users", K_BOOL, IFIELD(platform_users), 0, 0, NULL, NULL, NULL},
    {"oidc", "tenant_claim", K_STR, IFIELD(tenant_claim), 1, 0, NULL, NULL, NULL},
    {"oidc", "groups_claim", K_STR, IFIELD(groups_claim), 1, 0, NULL, NULL, NULL},
    {"oidc", "name_claim", K_STR, IFIELD(name_claim), 1, 0, NULL, NULL, NULL},
    {"oidc", "email_claim", K_STR, IFIELD(email_claim), 1, 0, NULL, NULL, NULL},
    {"oidc", "mfa_amr", K_STRARR, IFIELD(mfa_amr), 0, 0, NULL, set_names, NULL},
    {"oidc", "mfa_acr", K_STRARR, IFIELD(mfa_acr), 0, 0, NULL, set_names, NULL},
    {"oidc", "leeway_s", K_INT, IFIELD(leeway_s), 0, 300, NULL, NULL, NULL},
    {"oidc", "jwks_min_refresh_s", K_INT, IFIELD(jwks_min_refresh_s), 1, 86400, NULL, NULL, NULL},
    {"oidc", "jwks_max_age_s", K_INT, IFIELD(jwks_max_age_s), 60, 604800, NULL, NULL, NULL},
    {"oidc", "client_id", K_STR, IFIELD(client_id), 1, 0, NULL, NULL, NULL},
    {"oidc", "client_secret_file", K_STR, IFIELD(client_secret_file), 1, 0, NULL, NULL, NULL},
    {"oidc", "redirect_uri", K_STR, IFIELD(redirect_uri), 1, 0, NULL, NULL, NULL},
};

void ksm_conf_defaults(struct ksm_conf *c)
{
    memset(c, 0, sizeof *c);
    c->env_kind = KSM_ENV_GOVCLOUD;
    strcpy(c->data_dir, "./var");
    c->workers = 1;
    strcpy(c->log_level, "info");
    strcpy(c->admin.host, "127.0.0.1");
    c->admin.port = 8400;
    strcpy(c->ai.host, "127.0.0.1");
    c->ai.port = 8402;
    strcpy(c->s3.host, "127.0.0.1");
    c->s3.port = 8401;
    strcpy(c->s3_domain, "localhost");
    strcpy(c->billing_operator, "kasumi");
    c->billing_notify_interval_ms = 10000;
    c->billing_webhook_retry_ms = 10000;
    c->billing_webhook_attempts = 12;
    c->s3_meter_interval_s = 3600;
    c->s3_compact_live_percent = 50;
    c->s3_compact_interval_s = 60;
    c->ai_backlog_max = 50000;
    c->ai_backlog_max_bytes = (size_t)8 << 20;
    c->ai_backlog_wait_ms = 2000;
    c->ai_eject_after = 3;
    c->ai_eject_ms = 30000;
    c->max_header_bytes = 16384;
    c->max_body_bytes = 1048576;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 30000;
    c->idle_timeout_ms = 60000;
    c->max_connections = 10000;
    c->audit_retention_days = 365;
    c->audit_group_commit_ms = 10;
    c->audit_segment_bytes = 64u * 1048576u;
    strcpy(c->sso_mfa_roles[0], "platform_admin");
    c->sso_nmfa_roles = 1;
    c->sso_session_idle_s = 1800;
    c->sso_session_max_s = 43200;
}

/* amr values (RFC 8176) that mean a factor beyond the password was used. */
static const char *const default_mfa_amr[] = {"mfa", "otp", "hwk", "swk", "sc", "sms", "fpt", "face"};

struct ksm_conf_issuer *ksm_conf_add_issuer(struct ksm_conf *c, const char *name)
{
    if (c->noidc == KSM_CONF_MAX_ISSUERS || strlen(name) >= sizeof c->oidc[0].name)
        return NULL;
    for (int i = 0; i < c->noidc; i++)
        if (!strcmp(c->oidc[i].name, name))
            return NULL;
    struct ksm_conf_issuer *is = &c->oidc[c->noidc++];
    memset(is, 0, sizeof *is);
    strcpy(is->name, name);
    strcpy(is->tenant_claim, "corporate_number");
    strcpy(is->groups_claim, "groups");
    strcpy(is->name_claim, "name");
    strcpy(is->email_claim, "email");
    for (size_t i = 0; i < KSM_NELEM(default_mfa_amr); i++)
        strcpy(is->mfa_amr[is->nmfa_amr++], default_mfa_amr[i]);
    is->leeway_s = 60;
    is->jwks_min_refresh_s = 60;
    is->jwks_max_age_s = 3600;
    return is;
}

const char *ksm_env_kind_name(enum ksm_env_kind k)
{
    if ((unsigned)k >= KSM_NELEM(env_kind_names) - 1)
        return "unknown";
    return env_kind_names[k];
}

/* ---- setters ---------------------------------------------------------------------------------- */

static int set_env_kind(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                        char *msg, size_t msglen)
{
    for (int i = 0; env_kind_names[i]; i++)
        if (!strcmp(v->str.data, env_kind_names[i]))
            c->env_kind = (enum ksm_env_kind)i;
    return 0;   /* the choice list already refused anything else */
}

/* Two capital letters (ISO 3166-1 alpha-2); which pairs go with which env_kind is a cross-check of
 * ksm_conf_validate, since the flags may still change either. */
static int set_jurisdiction(struct ksm_conf *c, const struct conf_row *row,
                            const struct conf_value *v, char *msg, size_t msglen)
{
    (void)row;
    return ksm_conf_set_jurisdiction(c, v->str.data, msg, msglen);
}

int ksm_conf_set_jurisdiction(struct ksm_conf *c, const char *s, char *msg, size_t msglen)
{
    if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
        snprintf(msg, msglen, "jurisdiction must be an ISO 3166-1 alpha-2 code such as \"US\"");
        return -1;
    }
    snprintf(c->jurisdiction, sizeof c->jurisdiction, "%s", s);
    return 0;
}

const char *ksm_conf_jurisdiction(const struct ksm_conf *c)
{
    return c->env_kind == KSM_ENV_GOVCLOUD || !c->jurisdiction[0] ? "JP" : c->jurisdiction;
}

/* 適格請求書発行事業者登録番号: "T" and, for a corporation, its 法人番号 (check digit and all). */
static int set_registration(struct ksm_conf *c, const struct conf_row *row,
                            const struct conf_value *v, char *msg, size_t msglen)
{
    const char *s = v->str.data;
    if (s[0] != 'T' || !ksm_corpnum_valid(s + 1)) {
        snprintf(msg, msglen, "registration_number must be T and a 13-digit 法人番号 with a valid "
                              "check digit");
        return -1;
    }
    snprintf(c->billing_registration, sizeof c->billing_registration, "%s", s);
    return 0;
}

static int set_listen(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                      char *msg, size_t msglen)
{
    struct ksm_listen *l = (struct ksm_listen *)((char *)c + row->off);   /* [admin] or [ai] */
    if (ksm_conf_parse_listen(l, v->str.data) == 0)
        return 0;
    snprintf(msg, msglen,
             "invalid listen address \"%.80s\": expected HOST:PORT with an IPv4 or [IPv6] literal "
             "or localhost and a port 0..65535",
             v->str.data);
    return -1;
}

int ksm_conf_add_overseas_allow(struct ksm_conf *c, const char *prefix)
{
    size_t n = strlen(prefix);
    if (c->ai_overseas_allow_n >= KSM_CONF_MAX_ALLOW || n == 0 ||
        n >= sizeof c->ai_overseas_allow[0] ||
        (strncmp(prefix, "https://", 8) && strncmp(prefix, "http://", 7)))
        return -1;
    memcpy(c->ai_overseas_allow[c->ai_overseas_allow_n++], prefix, n + 1);
    return 0;
}

/* The allow-list replaces what defaults or an earlier file gave; flags add to it afterwards. */
static int set_allow(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                     char *msg, size_t msglen)
{
    c->ai_overseas_allow_n = 0;
    for (size_t i = 0; i < v->nitems; i++)
        if (ksm_conf_add_overseas_allow(c, v->items[i])) {
            snprintf(msg, msglen,
                     "overseas_allow: \"%.80s\" is not an http(s) URL prefix (at most %d entries)",
                     v->items[i], KSM_CONF_MAX_ALLOW);
            return -1;
        }
    return 0;
}

/* trusted_proxies: networks (core/cidr.h), at most KSM_CONF_MAX_ALLOW. */
static int set_proxies(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                       char *msg, size_t msglen)
{
    char why[160];
    if (v->nitems > KSM_CONF_MAX_ALLOW) {
        snprintf(msg, msglen, "trusted_proxies: at most %d networks", KSM_CONF_MAX_ALLOW);
        return -1;
    }
    c->ai_trusted_proxies_n = 0;
    for (size_t i = 0; i < v->nitems; i++) {
        if (!ksm_cidr_parse(v->items[i], &c->ai_trusted_proxies[i], why)) {
            snprintf(msg, msglen, "trusted_proxies: %s", why);
            return -1;
        }
        c->ai_trusted_proxies_n = (int)i + 1;
    }
    return 0;
}

/* tenants = ["*"] or 法人番号 (13 digits; the check digit is checked where tenants are matched). */
static int set_tenants(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                       char *msg, size_t msglen)
{
    struct ksm_conf_issuer *is = &c->oidc[c->noidc - 1];
    is->ntenants = 0;
    is->any_tenant = false;
    for (size_t i = 0; i < v->nitems; i++) {
        const char *t = v->items[i];
        if (!strcmp(t, "*") && v->nitems == 1) {
            is->any_tenant = true;
            continue;
        }
        size_t n = strspn(t, "0123456789");
        if (n != 13 || t[13] || is->ntenants == KSM_CONF_MAX_TENANTS) {
            snprintf(msg, msglen, "tenants: \"%.40s\" is not a 13-digit 法人番号 (or [\"*\"] alone; "
                     "at most %d)", t, KSM_CONF_MAX_TENANTS);
            return -1;
        }
        strcpy(is->tenants[is->ntenants++], t);
    }
    return 0;
}

#define COUNT_FOLLOWS(t, arr, n) \
    _Static_assert(offsetof(t, n) == offsetof(t, arr) + sizeof(((t *)0)->arr), #n " follows " #arr)
COUNT_FOLLOWS(struct ksm_conf, sso_mfa_roles, sso_nmfa_roles);
COUNT_FOLLOWS(struct ksm_conf_issuer, mfa_amr, nmfa_amr);
COUNT_FOLLOWS(struct ksm_conf_issuer, mfa_acr, nmfa_acr);

/* A list of short names (roles, amr and acr values) into a char[N][M] field. */
static int set_names(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                     char *msg, size_t msglen)
{
    char *base = per_issuer(row) ? (char *)&c->oidc[c->noidc - 1] : (char *)c;
    char *field = base + row->off;
    size_t width = row->size / KSM_CONF_MAX_NAMES;
    int *count = (int *)(field + row->size);   /* the count follows the array (conf.h) */
    if (v->nitems > KSM_CONF_MAX_NAMES) {
        snprintf(msg, msglen, "%s: at most %d values", row->key, KSM_CONF_MAX_NAMES);
        return -1;
    }
    for (size_t i = 0; i < v->nitems; i++)
        if (!v->items[i][0] || strlen(v->items[i]) >= width) {
            snprintf(msg, msglen, "%s: \"%.40s\" is empty or longer than %zu bytes", row->key,
                     v->items[i], width - 1);
            return -1;
        }
    for (size_t i = 0; i < v->nitems; i++)
        strcpy(field + i * width, v->items[i]);
    *count = (int)v->nitems;
    return 0;
}

int ksm_conf_parse_listen(struct ksm_listen *l, const char *s)
{
    char host[64];
    const char *colon;
    unsigned char addr[16];
    if (s[0] == '[') {   /* [v6]:port — brackets because the address has colons of its own */
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            return -1;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (strcmp(host, "localhost") && inet_pton(AF_INET, host, addr) != 1)
            return -1;
    }
    const char *p = colon + 1;
    long port = 0;
    int ndigits = 0;
    for (; *p >= '0' && *p <= '9' && ndigits < 6; p++, ndigits++)
        port = port * 10 + (*p - '0');
    if (ndigits == 0 || *p != '\0' || port > 65535)
        return -1;
    strcpy(l->host, host);   /* fits: checked against sizeof host, which equals sizeof l->host */
    l->port = (int)port;
    return 0;
}

/* ---- the parser ------------------------------------------------------------------------------- */

struct parser {
    const char *text, *p, *end;
    const char *name;
    const struct conf_row *rows;
    size_t nrows;
    const char **seen;           /* per row: where it was set, or NULL */
    const char **sections;       /* section names seen (pointers into rows) */
    size_t nsections;
    const char *section;         /* the current one, "" at the top */
    struct ksm_conf *c;
    char *err;
    size_t errlen;
};

static void pos_of(const struct parser *ps, const char *at, int *line, int *col)
{
    *line = 1, *col = 1;
    for (const char *q = ps->text; q < at; q++) {
        if (*q == '\n')
            (*line)++, *col = 1;
        else if (((unsigned char)*q & 0xc0) != 0x80)   /* count code points, not bytes */
            (*col)++;
    }
}

static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
{
    int line, col;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pos_of(ps, at, &line, &col);
    snprintf(ps->err, ps->errlen, "%s:%d:%d: %s", ps->name, line, col, msg);
    return -1;
}

static bool is_bare(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

static int peek(const struct parser *ps) { return ps->p < ps->end ? (unsigned char)*ps->p : -1; }

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

static void skip_comment(struct parser *ps)
{
    while (ps->p < ps->end && *ps->p != '\n')
        ps->p++;
}

/* At the end of a line: "\n", "\r\n" or the end of the text. Consumes it. */
static bool eat_eol(struct parser *ps)
{
    if (ps->p >= ps->end)
        return true;
    if (*ps->p == '\n') {
        ps->p++;
        return true;
    }
    if (*ps->p == '\r' && ps->end - ps->p > 1 && ps->p[1] == '\n') {
        ps->p += 2;
        return true;
    }
    return false;
}

/* After a header or a value: blanks, an optional comment, the end of the line. */
static int expect_eol(struct parser *ps)
{
    skip_ws(ps);
    if (peek(ps) == '#')
        skip_comment(ps);
    if (!eat_eol(ps))
        return fail_at(ps, ps->p, "trailing garbage after the value");
    return 0;
}

/* Blanks, newlines and comments, as allowed between the elements of an array. */
static void skip_ws_nl(struct parser *ps)
{
    for (;;) {
        skip_ws(ps);
        if (peek(ps) == '#')
            skip_comment(ps);
        if (ps->p >= ps->end || !eat_eol(ps))
            return;
    }
}

static const char *read_bare(struct parser *ps, size_t *n)
{
    const char *s = ps->p;
    while (ps->p < ps->end && is_bare((unsigned char)*ps->p))
        ps->p++;
    *n = (size_t)(ps->p - s);
    return s;
}

static void value_free(struct conf_value *v)
{
    ksm_buf_free(&v->str);
    for (size_t i = 0; i < v->nitems; i++)
        free(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

/* \uXXXX or \UXXXXXXXX after the backslash at bs: a Unicode scalar value other than NUL (the
 * settings are C strings, and a NUL inside would silently cut them). */
static int parse_unicode_escape(struct parser *ps, const char *bs, struct ksm_buf *out)
{
    int ndig = bs[1] == 'u' ? 4 : 8;
    if (ps->end - (bs + 2) < ndig)
        return fail_at(ps, bs, "invalid \\%c escape: expected %d hex digits", bs[1], ndig);
    uint32_t cp = 0;
    for (int i = 0; i < ndig; i++) {
        unsigned char h = (unsigned char)bs[2 + i];
        int d = h >= '0' && h <= '9' ? h - '0'
              : h >= 'a' && h <= 'f' ? h - 'a' + 10
              : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0)
            return fail_at(ps, bs, "invalid \\%c escape: expected %d hex digits", bs[1], ndig);
        cp = cp << 4 | (uint32_t)d;
    }
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail_at(ps, bs, "invalid \\%c escape: not a Unicode scalar value other than NUL",
                       bs[1]);
    ksm_buf_put_utf8(out, cp);
    ps->p = bs + 2 + ndig;
    return 0;
}

static int parse_escape(struct parser *ps, struct ksm_buf *out)
{
    static const char from[] = "\"\\ntr", to[] = "\"\\\n\t\r";
    const char *bs = ps->p;
    if (ps->end - bs < 2)
        return fail_at(ps, bs, "invalid escape at the end of the text");
    if (bs[1] == 'u' || bs[1] == 'U')
        return parse_unicode_escape(ps, bs, out);
    const char *hit = bs[1] ? strchr(from, bs[1]) : NULL;
    if (!hit)
        return fail_at(ps, bs, "invalid escape (use \\\" \\\\ \\n \\t \\r \\uXXXX or \\UXXXXXXXX)");
    ksm_buf_putc(out, to[hit - from]);
    ps->p = bs + 2;
    return 0;
}

/* A "basic string" on one line. The text is known to be valid UTF-8, so bytes are copied as is. */
static int parse_string(struct parser *ps, struct ksm_buf *out)
{
    const char *open = ps->p++;
    if (ps->end - ps->p >= 2 && ps->p[0] == '"' && ps->p[1] == '"')
        return fail_at(ps, open, "multi-line strings (\"\"\") are not supported");
    ksm_buf_puts(out, "");   /* "" is a value too: data must be non-NULL */
    for (;;) {
        int ch = peek(ps);
        if (ch < 0 || ch == '\n' || (ch == '\r' && ps->end - ps->p > 1 && ps->p[1] == '\n'))
            return fail_at(ps, open, "unterminated string");
        if (ch == '"') {
            ps->p++;
            return 0;
        }
        if (ch == '\\') {
            if (parse_escape(ps, out))
                return -1;
            continue;
        }
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return fail_at(ps, ps->p, "control character in a string (write it as an escape)");
        ksm_buf_putc(out, (char)ch);
        ps->p++;
    }
}

/* A decimal integer: optional sign, digits with single '_' between them, no leading zeros (TOML). */
static int parse_int(struct parser *ps, struct conf_value *v)
{
    const char *s = ps->p;
    bool neg = *ps->p == '-';
    if (*ps->p == '+' || *ps->p == '-')
        ps->p++;
    const char *digits = ps->p;
    uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool overflow = false, prev_digit = false;
    for (; ps->p < ps->end; ps->p++) {
        int ch = (unsigned char)*ps->p;
        if (ch == '_' && prev_digit && ps->end - ps->p > 1 && ps->p[1] >= '0' && ps->p[1] <= '9') {
            prev_digit = false;
            continue;
        }
        if (ch < '0' || ch > '9')
            break;
        prev_digit = true;
        if (u > (lim - (uint64_t)(ch - '0')) / 10)
            overflow = true;
        else
            u = u * 10 + (uint64_t)(ch - '0');
    }
    size_t n = (size_t)(ps->p - digits);
    if (n == 0 || (ps->p < ps->end && (is_bare((unsigned char)*ps->p) || *ps->p == '.')))
        return fail_at(ps, s, "invalid integer (plain decimal digits only: no units, fractions or "
                              "hex)");
    if (n > 1 && digits[0] == '0')
        return fail_at(ps, s, "invalid integer: leading zeros are not allowed");
    if (overflow)
        return fail_at(ps, s, "integer too large");
    v->type = V_INT;
    v->num = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

static int parse_array(struct parser *ps, struct conf_value *v)
{
    const char *open = ps->p++;
    size_t cap = 0;
    v->type = V_ARR;
    for (;;) {
        skip_ws_nl(ps);
        int ch = peek(ps);
        if (ch < 0)
            return fail_at(ps, open, "unterminated array");
        if (ch == ']')
            break;
        if (ch != '"')
            return fail_at(ps, ps->p, "arrays hold only \"strings\"");
        struct ksm_buf item = KSM_BUF_INIT;
        if (parse_string(ps, &item)) {
            ksm_buf_free(&item);
            return -1;
        }
        if (v->nitems == cap)
            v->items = ksm_xrealloc(v->items, (cap = cap ? cap * 2 : 4) * sizeof *v->items);
        v->items[v->nitems++] = ksm_buf_steal(&item);
        skip_ws_nl(ps);
        ch = peek(ps);
        if (ch == ',') {
            ps->p++;
            continue;
        }
        if (ch == ']')
            break;
        if (ch < 0)
            return fail_at(ps, open, "unterminated array");
        return fail_at(ps, ps->p, "expected ',' or ']' in the array");
    }
    ps->p++;
    return 0;
}

static bool eat_word(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) ||
        (ps->end - ps->p > (ptrdiff_t)n && is_bare((unsigned char)ps->p[n])))
        return false;
    ps->p += n;
    return true;
}

static int parse_value(struct parser *ps, struct conf_value *v)
{
    int ch = peek(ps);
    v->at = ps->p;
    if (ch == '"') {
        v->type = V_STR;
        return parse_string(ps, &v->str);
    }
    if (ch == '[')
        return parse_array(ps, v);
    if (ch == '+' || ch == '-' || (ch >= '0' && ch <= '9'))
        return parse_int(ps, v);
    if (eat_word(ps, "true") || eat_word(ps, "false")) {
        v->type = V_BOOL;
        v->b = v->at[0] == 't';
        return 0;
    }
    if (ch == '\'')
        return fail_at(ps, ps->p, "literal strings ('...') are not supported: use \"...\"");
    if (ch < 0 || ch == '\n' || ch == '\r' || ch == '#')
        return fail_at(ps, ps->p, "missing value");
    return fail_at(ps, ps->p,
                   "expected a value: a \"string\", an integer, true, false or [\"an array\"]");
}

/* ---- applying a value to its row ---------------------------------------------------------------- */

static const char *const vtype_names[] = {"a string", "an integer", "true or false",
                                          "an array of strings"};

static enum conf_vtype kind_vtype(enum conf_kind k)
{
    static const enum conf_vtype map[] = {[K_STR] = V_STR, [K_INT] = V_INT, [K_SIZE] = V_INT,
                                          [K_BOOL] = V_BOOL, [K_STRARR] = V_ARR};
    return map[k];
}

static const char *row_prefix(const struct conf_row *row) { return row->section[0] ? "." : ""; }

static void range_msg(const struct conf_row *row, int64_t n, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s%s%s = %lld is out of range: the minimum is %lld and the maximum %lld%s%s%s",
             row->section, row_prefix(row), row->key, (long long)n, (long long)row->min,
             (long long)row->max, row->why ? " (" : "", row->why ? row->why : "",
             row->why ? ")" : "");
}

static bool in_choices(const char *const *choices, const char *s)
{
    for (; *choices; choices++)
        if (!strcmp(*choices, s))
            return true;
    return false;
}

static void choices_msg(const struct conf_row *row, const char *s, char *msg, size_t msglen)
{
    struct ksm_buf b = KSM_BUF_INIT;
    for (const char *const *ch = row->choices; *ch; ch++)
        ksm_buf_printf(&b, "%s\"%s\"", ch == row->choices ? "" : ", ", *ch);
    snprintf(msg, msglen, "%s%s%s = \"%.64s\" is not one of %s", row->section, row_prefix(row),
             row->key, s, b.data);
    ksm_buf_free(&b);
}

static char *row_base(struct ksm_conf *c, const struct conf_row *row)
{
    return per_issuer(row) ? (char *)&c->oidc[c->noidc - 1] : (char *)c;
}

static int apply_str(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                     char *msg, size_t msglen)
{
    if (v->str.len < (size_t)row->min) {
        snprintf(msg, msglen, "%s%s%s must not be empty", row->section, row_prefix(row), row->key);
        return -1;
    }
    if (row->choices && !in_choices(row->choices, v->str.data)) {
        choices_msg(row, v->str.data, msg, msglen);
        return -1;
    }
    if (row->set)
        return row->set(c, row, v, msg, msglen);
    if (v->str.len >= row->size) {
        snprintf(msg, msglen, "%s%s%s is too long (at most %zu bytes)", row->section,
                 row_prefix(row), row->key, row->size - 1);
        return -1;
    }
    memcpy(row_base(c, row) + row->off, v->str.data, v->str.len + 1);
    return 0;
}

static int apply(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                 char *msg, size_t msglen)
{
    char *field = row_base(c, row) + row->off;
    switch (row->kind) {
    case K_STR:
        return apply_str(c, row, v, msg, msglen);
    case K_INT:
    case K_SIZE:
        if (v->num < row->min || v->num > row->max) {
            range_msg(row, v->num, msg, msglen);
            return -1;
        }
        if (row->kind == K_INT)
            *(int *)field = (int)v->num;
        else
            *(size_t *)field = (size_t)v->num;
        return 0;
    case K_BOOL:
        *(bool *)field = v->b;
        return 0;
    case K_STRARR:
        return row->set(c, row, v, msg, msglen);
    }
    return 0;
}

/* ---- lines -------------------------------------------------------------------------------------- */

static const struct conf_row *find_row(const struct parser *ps, const char *section, const char *key,
                                       size_t keylen)
{
    for (size_t i = 0; i < ps->nrows; i++)
        if (!strcmp(ps->rows[i].section, section) && strlen(ps->rows[i].key) == keylen &&
            !memcmp(ps->rows[i].key, key, keylen))
            return &ps->rows[i];
    return NULL;
}

/* [oidc.NAME]: a new issuer with the default mapping; its keys follow. */
static int parse_issuer_section(struct parser *ps, const char *name, size_t n)
{
    char iname[64];
    if (n < 6 || n - 5 >= sizeof iname || memcmp(name, "oidc.", 5))
        return fail_at(ps, name, "unknown section [%.*s]", (int)(n > 64 ? 64 : n), name);
    memcpy(iname, name + 5, n - 5);
    iname[n - 5] = '\0';
    for (size_t i = 0; iname[i]; i++)
        if (!is_bare((unsigned char)iname[i]))
            return fail_at(ps, name, "invalid issuer name in [%.*s]", (int)n, name);
    for (int i = 0; i < ps->c->noidc; i++)
        if (!strcmp(ps->c->oidc[i].name, iname))
            return fail_at(ps, name, "duplicate section [oidc.%s]", iname);
    if (!ksm_conf_add_issuer(ps->c, iname))
        return fail_at(ps, name, "at most %d [oidc.NAME] sections", KSM_CONF_MAX_ISSUERS);
    for (size_t i = 0; i < ps->nrows; i++)   /* each issuer sets its own keys once */
        if (per_issuer(&ps->rows[i]))
            ps->seen[i] = NULL;
    ps->section = "oidc";
    return expect_eol(ps);
}

static int parse_section(struct parser *ps)
{
    const char *open = ps->p++;
    if (peek(ps) == '[')
        return fail_at(ps, open, "arrays of tables ([[...]]) are not supported");
    skip_ws(ps);
    size_t n;
    const char *name = read_bare(ps, &n);
    if (n == 0)
        return fail_at(ps, ps->p, "expected a section name");
    bool dotted = n == 4 && !memcmp(name, "oidc", 4) && peek(ps) == '.';
    if (dotted) {   /* [oidc.NAME]: one section per issuer */
        ps->p++;
        size_t m;
        read_bare(ps, &m);
        n += 1 + m;
    }
    skip_ws(ps);
    if (peek(ps) != ']')
        return fail_at(ps, ps->p, "expected ']' after the section name");
    ps->p++;
    if (dotted)
        return parse_issuer_section(ps, name, n);
    if (n == 4 && !memcmp(name, "oidc", 4))
        return fail_at(ps, name, "an issuer section is named [oidc.NAME]");
    const char *known = NULL;
    for (size_t i = 0; i < ps->nrows && !known; i++)
        if (ps->rows[i].section[0] && strlen(ps->rows[i].section) == n &&
            !memcmp(ps->rows[i].section, name, n))
            known = ps->rows[i].section;
    if (!known)
        return fail_at(ps, name, "unknown section [%.*s]", (int)(n > 64 ? 64 : n), name);
    for (size_t i = 0; i < ps->nsections; i++)
        if (ps->sections[i] == known)
            return fail_at(ps, name, "duplicate section [%s]", known);
    ps->sections[ps->nsections++] = known;
    ps->section = known;
    return expect_eol(ps);
}

static int parse_keyval(struct parser *ps)
{
    size_t n;
    const char *key = read_bare(ps, &n);
    if (n == 0)
        return fail_at(ps, ps->p, "expected a key or a [section]");
    skip_ws(ps);
    if (peek(ps) != '=')
        return fail_at(ps, ps->p, "expected '=' after the key");
    ps->p++;
    skip_ws(ps);
    const struct conf_row *row = find_row(ps, ps->section, key, n);
    if (!row)
        return fail_at(ps, key, "unknown key '%.*s'%s%s%s", (int)(n > 64 ? 64 : n), key,
                       ps->section[0] ? " in [" : "", ps->section, ps->section[0] ? "]" : "");
    size_t idx = (size_t)(row - ps->rows);
    if (ps->seen[idx]) {
        int line, col;
        pos_of(ps, ps->seen[idx], &line, &col);
        return fail_at(ps, key, "duplicate key '%s' (first set on line %d)", row->key, line);
    }
    ps->seen[idx] = key;
    struct conf_value v = {0};
    char msg[320];
    int rc = -1;
    if (parse_value(ps, &v))
        goto out;
    if (v.type != kind_vtype(row->kind)) {
        fail_at(ps, v.at, "wrong type: %s%s%s takes %s, not %s", row->section, row_prefix(row),
                row->key, vtype_names[kind_vtype(row->kind)], vtype_names[v.type]);
        goto out;
    }
    if (apply(ps->c, row, &v, msg, sizeof msg)) {
        fail_at(ps, v.at, "%s", msg);
        goto out;
    }
    rc = expect_eol(ps);
out:
    value_free(&v);
    return rc;
}

/* Offset of the first byte that does not begin a valid UTF-8 sequence, or -1. */
static long utf8_bad_offset(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
        if (k > n - i || !ksm_utf8_valid(s + i, k))
            return (long)i;
        i += k;
    }
    return -1;
}

static int parse_doc(struct parser *ps)
{
    long bad = utf8_bad_offset(ps->text, (size_t)(ps->end - ps->text));
    if (bad >= 0)
        return fail_at(ps, ps->text + bad, "invalid UTF-8");
    while (ps->p < ps->end) {
        skip_ws(ps);
        int ch = peek(ps);
        int rc = 0;
        if (ch == '#')
            skip_comment(ps);
        if (eat_eol(ps))
            continue;
        if (ch == '[')
            rc = parse_section(ps);
        else
            rc = parse_keyval(ps);
        if (rc)
            return -1;
    }
    return 0;
}

static int parse_rows(struct ksm_conf *c, const struct conf_row *rows, size_t nrows, const char *name,
                      const char *text, size_t len, char *err, size_t errlen)
{
    struct ksm_conf tmp = *c;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        text += 3, len -= 3;   /* a byte-order mark, as some Windows editors write; not column 1 */
    struct parser ps = {
        .text = text, .p = text, .end = text + len, .name = name ? name : "<config>",
        .rows = rows, .nrows = nrows, .section = "", .c = &tmp, .err = err, .errlen = errlen,
    };
    ps.seen = ksm_xcalloc(nrows + 1, sizeof *ps.seen);
    ps.sections = ksm_xcalloc(nrows + 1, sizeof *ps.sections);
    int rc = parse_doc(&ps);
    if (rc == 0)
        *c = tmp;
    free(ps.seen);
    free(ps.sections);
    return rc;
}

int ksm_conf_parse(struct ksm_conf *c, const char *name, const char *text, size_t len, char *err,
                   size_t errlen)
{
    return parse_rows(c, conf_rows, KSM_NELEM(conf_rows), name, text, len, err, errlen);
}

int ksm_conf_load(struct ksm_conf *c, const char *path, char *err, size_t errlen)
{
    if (strlen(path) >= sizeof c->path) {
        snprintf(err, errlen, "%.64s...: path too long", path);
        return -1;
    }
    size_t len;
    char *text = ksm_read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = ksm_conf_parse(c, path, text, len, err, errlen);
    free(text);
    if (rc == 0)
        strcpy(c->path, path);
    return rc;
}

/* ---- after the flags ---------------------------------------------------------------------------- */

/* The same bounds as the file, for values the command line may have set. */
static int validate_row(const struct ksm_conf *c, const struct conf_row *row, char *msg,
                        size_t msglen)
{
    const char *field = (const char *)c + row->off;
    int64_t n;
    if (row->kind == K_INT)
        n = *(const int *)field;
    else if (row->kind == K_SIZE)
        n = (int64_t)*(const size_t *)field;
    else if (row->kind == K_STR && !row->set) {
        if (strlen(field) < (size_t)row->min) {
            snprintf(msg, msglen, "%s%s%s must not be empty", row->section, row_prefix(row),
                     row->key);
            return -1;
        }
        if (row->choices && !in_choices(row->choices, field)) {
            choices_msg(row, field, msg, msglen);
            return -1;
        }
        return 0;
    } else
        return 0;
    if (n < row->min || n > row->max) {
        range_msg(row, n, msg, msglen);
        return -1;
    }
    return 0;
}

/* https, or plain http to this machine only (a test provider): tokens and keys must not travel
 * in the clear. */
static bool issuer_url_ok(const char *u)
{
    static const char *const local[] = {"http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:",
                                        "http://localhost/", "http://[::1]:", "http://[::1]/"};
    if (!strncmp(u, "https://", 8) && u[8])
        return true;
    for (size_t i = 0; i < KSM_NELEM(local); i++)
        if (!strncmp(u, local[i], strlen(local[i])))
            return true;
    return false;
}

static int validate_issuer(const struct ksm_conf_issuer *is, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!is->issuer[0] || !is->audience[0])
        why = "issuer and audience are required";
    else if (!issuer_url_ok(is->issuer))
        why = "issuer must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1])";
    else if (!is->any_tenant && !is->ntenants && !is->platform_users)
        why = "tenants must list the 法人番号 the issuer may name, or be [\"*\"]";
    else if (!is->client_id[0] != !is->redirect_uri[0] || !is->client_id[0] != !is->client_secret_file[0])
        why = "client_id, client_secret_file and redirect_uri go together (browser sign-in)";
    else if (is->redirect_uri[0] && !issuer_url_ok(is->redirect_uri))
        why = "redirect_uri must be an https:// URL (http:// only to this machine)";
    if (!why)
        return 0;
    snprintf(err, errlen, "oidc.%s: %s", is->name, why);
    return -1;
}

int ksm_conf_validate(const struct ksm_conf *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < KSM_NELEM(conf_rows); i++)
        if (!per_issuer(&conf_rows[i]) && validate_row(c, &conf_rows[i], err, errlen))
            return -1;
    for (int i = 0; i < c->noidc; i++)
        if (validate_issuer(&c->oidc[i], err, errlen))
            return -1;
    if (c->sso_session_idle_s > c->sso_session_max_s) {
        snprintf(err, errlen, "sso: session_idle_s must not exceed session_max_s");
        return -1;
    }
    if ((unsigned)c->env_kind > KSM_ENV_OVERSEAS_AI) {
        snprintf(err, errlen, "env_kind: unknown environment kind");
        return -1;
    }
    /* the overseas environment must say where it runs: that is what makes it "overseas" */
    if (c->env_kind == KSM_ENV_OVERSEAS_AI && (!c->jurisdiction[0] || !strcmp(c->jurisdiction, "JP"))) {
        snprintf(err, errlen, "jurisdiction: env_kind overseas-ai needs the country it runs in "
                              "(jurisdiction = \"US\" or --jurisdiction US), not JP");
        return -1;
    }
    if (c->env_kind == KSM_ENV_GOVCLOUD && c->jurisdiction[0] && strcmp(c->jurisdiction, "JP")) {
        snprintf(err, errlen, "jurisdiction: govcloud is in Japan (JP), not %s", c->jurisdiction);
        return -1;
    }
    if (!c->admin.host[0] || c->admin.port < 0 || c->admin.port > 65535) {
        snprintf(err, errlen, "admin.listen: invalid address");
        return -1;
    }
    if (!c->admin.tls_cert[0] != !c->admin.tls_key[0]) {
        snprintf(err, errlen, "admin: tls_cert and tls_key must be set together");
        return -1;
    }
    if (!c->s3.tls_cert[0] != !c->s3.tls_key[0]) {
        snprintf(err, errlen, "s3: tls_cert and tls_key must be set together");
        return -1;
    }
    if (!c->ai.tls_cert[0] != !c->ai.tls_key[0]) {
        snprintf(err, errlen, "ai: tls_cert and tls_key must be set together");
        return -1;
    }
    if (c->ai_upstream_ca[0] && access(c->ai_upstream_ca, R_OK)) {
        snprintf(err, errlen, "ai: upstream_ca_file %s cannot be read", c->ai_upstream_ca);
        return -1;
    }
    return 0;
}
