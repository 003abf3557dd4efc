/* test_conf.c — the config file parser: defaults, every key, every error with its exact line:col,
 * listen addresses, validation after flags, and the array values later rows will use.
 *
 * It includes conf.c itself, so it can drive the parser with a test table holding an array row
 * before any real setting takes one; link it without conf.c (the library's copy is not pulled in
 * because every symbol it defines is already defined here). */
#include "check.h"
#include "core/conf.c"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int parse(struct ksm_conf *c, const char *text, char *err, size_t errlen)
{
    ksm_conf_defaults(c);
    err[0] = '\0';
    return ksm_conf_parse(c, "t.conf", text, strlen(text), err, errlen);
}

/* The error for text, "" when it parses. */
static const char *error_of(const char *text)
{
    static char err[512];
    struct ksm_conf c;
    if (parse(&c, text, err, sizeof err) == 0)
        return "";
    return err;
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

#define CHECK_ERR(text, prefix)                                                    \
    do {                                                                           \
        const char *e_ = error_of(text);                                           \
        CHECK(starts_with(e_, prefix));                                            \
        if (!starts_with(e_, prefix))                                              \
            fprintf(stderr, "  want \"%s...\", got \"%s\"\n", prefix, e_);         \
    } while (0)

static void test_defaults(void)
{
    struct ksm_conf c;
    char err[256];
    ksm_conf_defaults(&c);
    CHECK_STR(c.path, "");
    CHECK(c.env_kind == KSM_ENV_GOVCLOUD);
    CHECK_STR(c.data_dir, "./var");
    CHECK_STR(c.bootstrap_token_file, "");
    CHECK(c.workers == 1);
    CHECK_STR(c.log_level, "info");
    CHECK_STR(c.admin.host, "127.0.0.1");
    CHECK(c.admin.port == 8400);
    CHECK_STR(c.admin.tls_cert, "");
    CHECK(c.max_header_bytes == 16384);
    CHECK(c.max_body_bytes == 1048576);
    CHECK(c.header_timeout_ms == 10000);
    CHECK(c.body_timeout_ms == 30000);
    CHECK(c.idle_timeout_ms == 60000);
    CHECK(c.max_connections == 10000);
    CHECK(c.audit_retention_days == 365);
    CHECK(c.audit_group_commit_ms == 10);
    CHECK(c.audit_segment_bytes == 64u * 1048576u);
    CHECK(ksm_conf_validate(&c, err, sizeof err) == 0);
    CHECK_STR(ksm_env_kind_name(KSM_ENV_GOVCLOUD), "govcloud");
    CHECK_STR(ksm_env_kind_name(KSM_ENV_OVERSEAS_AI), "overseas-ai");
    /* an empty file and a file of comments change nothing */
    CHECK(parse(&c, "", err, sizeof err) == 0 && c.workers == 1);
    CHECK(parse(&c, "# nothing\n\n   # here\n", err, sizeof err) == 0 && c.workers == 1);
}

static void test_every_key(void)
{
    static const char text[] =
        "env_kind = \"overseas-ai\"\n"
        "jurisdiction = \"US\"\n"
        "data_dir = \"/srv/kasumi\"\n"
        "bootstrap_token_file = \"/etc/kasumi/token\"\n"
        "workers = 4\n"
        "log_level = \"debug\"\n"
        "[admin]\n"
        "listen = \"0.0.0.0:0\"\n"
        "tls_cert = \"/etc/kasumi/cert.pem\"\n"
        "tls_key = \"/etc/kasumi/key.pem\"\n"
        "[limits]\n"
        "max_header_bytes = 32_768\n"
        "max_body_bytes = 2097152\n"
        "header_timeout_ms = 5000\n"
        "body_timeout_ms = 20000\n"
        "idle_timeout_ms = 90000\n"
        "max_connections = 500\n"
        "[audit]\n"
        "retention_days = 3650\n"
        "group_commit_ms = 25\n"
        "segment_bytes = 134217728\n";
    struct ksm_conf c;
    char err[256];
    CHECK(parse(&c, text, err, sizeof err) == 0);
    CHECK_STR(err, "");
    CHECK(c.env_kind == KSM_ENV_OVERSEAS_AI);
    CHECK_STR(c.jurisdiction, "US");
    CHECK_STR(ksm_conf_jurisdiction(&c), "US");
    CHECK_STR(c.data_dir, "/srv/kasumi");
    CHECK_STR(c.bootstrap_token_file, "/etc/kasumi/token");
    CHECK(c.workers == 4);
    CHECK_STR(c.log_level, "debug");
    CHECK_STR(c.admin.host, "0.0.0.0");
    CHECK(c.admin.port == 0);
    CHECK_STR(c.admin.tls_cert, "/etc/kasumi/cert.pem");
    CHECK_STR(c.admin.tls_key, "/etc/kasumi/key.pem");
    CHECK(c.max_header_bytes == 32768);
    CHECK(c.max_body_bytes == 2097152);
    CHECK(c.header_timeout_ms == 5000);
    CHECK(c.body_timeout_ms == 20000);
    CHECK(c.idle_timeout_ms == 90000);
    CHECK(c.max_connections == 500);
    CHECK(c.audit_retention_days == 3650);
    CHECK(c.audit_group_commit_ms == 25);
    CHECK(c.audit_segment_bytes == 134217728);
    CHECK(ksm_conf_validate(&c, err, sizeof err) == 0);
}

static void test_syntax(void)
{
    struct ksm_conf c;
    char err[256];
    /* comments after values and headers, blanks, CRLF, tabs, a byte-order mark */
    CHECK(parse(&c, "\xef\xbb\xbfworkers=2 # two\r\n\t[ admin ]\t# the admin API\r\n"
                    "  listen   =   \"[::1]:8401\"#x\n",
                err, sizeof err) == 0);
    CHECK(c.workers == 2 && c.admin.port == 8401);
    CHECK_STR(c.admin.host, "::1");
    /* a '#' inside a string is not a comment */
    CHECK(parse(&c, "data_dir = \"/srv/#1\" # real comment", err, sizeof err) == 0);
    CHECK_STR(c.data_dir, "/srv/#1");
    /* escapes */
    CHECK(parse(&c, "data_dir = \"a\\\"b\\\\c\\td\\u3042\\U0001F600\"", err, sizeof err) == 0);
    CHECK_STR(c.data_dir, "a\"b\\c\td\xe3\x81\x82\xf0\x9f\x98\x80");
    /* UTF-8 kept as is: Japanese paths */
    CHECK(parse(&c, "data_dir = \"/srv/霞/データ\"  # 霞が関\n", err, sizeof err) == 0);
    CHECK_STR(c.data_dir, "/srv/霞/データ");
    /* an empty string is a string */
    CHECK(parse(&c, "bootstrap_token_file = \"\"", err, sizeof err) == 0);
    CHECK_STR(c.bootstrap_token_file, "");
    /* signs and underscores */
    CHECK(parse(&c, "workers = +8", err, sizeof err) == 0 && c.workers == 8);
    CHECK(parse(&c, "[limits]\nmax_connections = 1_000_000", err, sizeof err) == 0 &&
          c.max_connections == 1000000);
    /* a failed parse leaves the config untouched */
    ksm_conf_defaults(&c);
    const char *bad = "workers = 7\nnope = 1\n";
    CHECK(ksm_conf_parse(&c, "t", bad, strlen(bad), err, sizeof err) == -1);
    CHECK(c.workers == 1);
    /* the length argument is honoured: no NUL needed, nothing read past it */
    CHECK(ksm_conf_parse(&c, "t", "workers = 3garbage", 11, err, sizeof err) == 0 && c.workers == 3);
}

static void test_errors(void)
{
    /* unknown key / section */
    CHECK_ERR("workers = 1\nbogus = 2\n", "t.conf:2:1: unknown key 'bogus'");
    CHECK_ERR("[admin]\n  workers = 1\n", "t.conf:2:3: unknown key 'workers' in [admin]");
    CHECK_ERR("\n[s4]\n", "t.conf:2:2: unknown section [s4]");
    CHECK_ERR("[ nope ]\n", "t.conf:1:3: unknown section [nope]");
    CHECK_ERR("[admin]\n[limits]\n[admin]\n", "t.conf:3:2: duplicate section [admin]");
    CHECK_ERR("[[admin]]\n", "t.conf:1:1: arrays of tables");
    CHECK_ERR("[admin\n", "t.conf:1:7: expected ']'");
    CHECK_ERR("[]\n", "t.conf:1:2: expected a section name");
    /* wrong type */
    CHECK_ERR("workers = \"4\"\n", "t.conf:1:11: wrong type: workers takes an integer, not a string");
    CHECK_ERR("[admin]\nlisten = 8400\n", "t.conf:2:10: wrong type: admin.listen takes a string");
    CHECK_ERR("data_dir = true\n", "t.conf:1:12: wrong type");
    CHECK_ERR("data_dir = [\"a\"]\n", "t.conf:1:12: wrong type: data_dir takes a string, not an array");
    /* out of range */
    CHECK_ERR("workers = 0\n", "t.conf:1:11: workers = 0 is out of range: the minimum is 1");
    CHECK_ERR("workers = -3\n", "t.conf:1:11: workers = -3 is out of range");
    CHECK_ERR("[limits]\nmax_header_bytes = 99999999\n", "t.conf:2:20: limits.max_header_bytes");
    CHECK_ERR("workers = 99999999999999999999\n", "t.conf:1:11: integer too large");
    CHECK_ERR("env_kind = \"aws\"\n",
              "t.conf:1:12: env_kind = \"aws\" is not one of \"govcloud\", \"overseas-ai\"");
    CHECK_ERR("log_level = \"loud\"\n", "t.conf:1:13: log_level = \"loud\" is not one of");
    CHECK_ERR("data_dir = \"\"\n", "t.conf:1:12: data_dir must not be empty");
    /* duplicate key */
    CHECK_ERR("workers = 1\n\nworkers = 2\n", "t.conf:3:1: duplicate key 'workers' (first set on line 1)");
    CHECK_ERR("[audit]\nretention_days = 400\n[limits]\n[audit]\n", "t.conf:4:2: duplicate section");
    /* strings */
    CHECK_ERR("data_dir = \"/srv\n", "t.conf:1:12: unterminated string");
    CHECK_ERR("data_dir = \"/srv", "t.conf:1:12: unterminated string");
    CHECK_ERR("data_dir = \"a\\qb\"", "t.conf:1:14: invalid escape");
    CHECK_ERR("data_dir = \"\\u12\"", "t.conf:1:13: invalid \\u escape");
    CHECK_ERR("data_dir = \"\\ud800\"", "t.conf:1:13: invalid \\u escape");
    CHECK_ERR("data_dir = \"\\u0000\"", "t.conf:1:13: invalid \\u escape");
    CHECK_ERR("data_dir = \"a\x01\"", "t.conf:1:14: control character");
    CHECK_ERR("data_dir = 'x'", "t.conf:1:12: literal strings");
    CHECK_ERR("data_dir = \"\"\"x\"\"\"", "t.conf:1:12: multi-line strings");
    /* invalid UTF-8, anywhere, with the column counted in characters */
    CHECK_ERR("data_dir = \"霞\xff\"\n", "t.conf:1:14: invalid UTF-8");
    CHECK_ERR("workers = 1\n# comment \xc3\x28\n", "t.conf:2:11: invalid UTF-8");
    CHECK_ERR("workers = 1 # \xed\xa0\x80 surrogate\n", "t.conf:1:15: invalid UTF-8");
    CHECK_ERR("data_dir = \"\xc0\xaf\"\n", "t.conf:1:13: invalid UTF-8");   /* overlong */
    /* trailing garbage and other syntax */
    CHECK_ERR("workers = 1 2\n", "t.conf:1:13: trailing garbage");
    CHECK_ERR("data_dir = \"a\" \"b\"\n", "t.conf:1:16: trailing garbage");
    CHECK_ERR("[admin] listen = \"1.2.3.4:1\"\n", "t.conf:1:9: trailing garbage");
    CHECK_ERR("data_dir = \"霞\" x\n", "t.conf:1:16: trailing garbage");
    CHECK_ERR("workers\n", "t.conf:1:8: expected '='");
    CHECK_ERR("admin.listen = \"x\"\n", "t.conf:1:6: expected '='");
    CHECK_ERR("= 3\n", "t.conf:1:1: expected a key");
    CHECK_ERR("workers =\n", "t.conf:1:10: missing value");
    CHECK_ERR("workers = # none\n", "t.conf:1:11: missing value");
    CHECK_ERR("workers = 4MiB\n", "t.conf:1:11: invalid integer");
    CHECK_ERR("workers = 1.5\n", "t.conf:1:11: invalid integer");
    CHECK_ERR("workers = 0x10\n", "t.conf:1:11: invalid integer");
    CHECK_ERR("workers = 1__0\n", "t.conf:1:11: invalid integer");
    CHECK_ERR("workers = 1_\n", "t.conf:1:11: invalid integer");
    CHECK_ERR("workers = 012\n", "t.conf:1:11: invalid integer: leading zeros");
    CHECK_ERR("workers = yes\n", "t.conf:1:11: expected a value");
    CHECK_ERR("workers = truex\n", "t.conf:1:11: expected a value");
    CHECK_ERR("workers = 1\rx\n", "t.conf:1:12: trailing garbage");
    /* the name is the one given */
    char err[128];
    struct ksm_conf c;
    ksm_conf_defaults(&c);
    CHECK(ksm_conf_parse(&c, NULL, "x=1", 3, err, sizeof err) == -1);
    CHECK(starts_with(err, "<config>:1:1: unknown key 'x'"));
}

static void test_listen(void)
{
    struct ksm_listen l = {.tls_cert = "keep"};
    CHECK(ksm_conf_parse_listen(&l, "127.0.0.1:8400") == 0 && l.port == 8400);
    CHECK_STR(l.host, "127.0.0.1");
    CHECK_STR(l.tls_cert, "keep");
    CHECK(ksm_conf_parse_listen(&l, "[::1]:8400") == 0 && l.port == 8400);
    CHECK_STR(l.host, "::1");
    CHECK(ksm_conf_parse_listen(&l, "[2001:db8::17]:65535") == 0 && l.port == 65535);
    CHECK_STR(l.host, "2001:db8::17");
    CHECK(ksm_conf_parse_listen(&l, "0.0.0.0:0") == 0 && l.port == 0);
    CHECK(ksm_conf_parse_listen(&l, "localhost:9000") == 0 && l.port == 9000);
    CHECK_STR(l.host, "localhost");
    CHECK(ksm_conf_parse_listen(&l, "[::]:1") == 0);
    static const char *const bad[] = {
        "", "8400", ":8400", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:84a", "127.0.0.1:8400 ", "256.0.0.1:80", "example.com:80", "::1:8400",
        "[::1]", "[::1]8400", "[::1:8400", "[127.0.0.1]:80", "[zz::1]:80", "127.0.0.1:0000080",
        "127.0.0.1:99999999999999999999",
    };
    for (size_t i = 0; i < KSM_NELEM(bad); i++) {
        int rc = ksm_conf_parse_listen(&l, bad[i]);
        CHECK(rc == -1);
        if (rc != -1)
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    }
    CHECK_STR(l.host, "::");   /* failures leave it alone */
    CHECK_ERR("[admin]\nlisten = \"example.com:80\"\n", "t.conf:2:10: invalid listen address");
    CHECK_ERR("[admin]\nlisten = \"\"\n", "t.conf:2:10: admin.listen must not be empty");
}

static void test_retention(void)
{
    struct ksm_conf c;
    char err[256];
    CHECK_ERR("[audit]\nretention_days = 364\n",
              "t.conf:2:18: audit.retention_days = 364 is out of range: the minimum is 365");
    CHECK(parse(&c, "[audit]\nretention_days = 365\n", err, sizeof err) == 0);
    CHECK(c.audit_retention_days == 365);
    /* a flag can set it too; validate refuses it again */
    c.audit_retention_days = 30;
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(starts_with(err, "audit.retention_days = 30 is out of range: the minimum is 365"));
}

static void test_validate(void)
{
    struct ksm_conf c;
    char err[256];
    ksm_conf_defaults(&c);
    c.workers = 0;
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(starts_with(err, "workers = 0 is out of range"));
    ksm_conf_defaults(&c);
    strcpy(c.admin.tls_cert, "/c.pem");
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(strstr(err, "tls_cert and tls_key") != NULL);
    ksm_conf_defaults(&c);
    strcpy(c.ai_upstream_ca, "/nonexistent/ca.pem");   /* a CA bundle that is not there: said at start */
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(strstr(err, "upstream_ca_file /nonexistent/ca.pem cannot be read") != NULL);
    ksm_conf_defaults(&c);
    c.data_dir[0] = '\0';
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    ksm_conf_defaults(&c);
    strcpy(c.log_level, "loud");
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    ksm_conf_defaults(&c);
    c.admin.port = 70000;
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    ksm_conf_defaults(&c);
    c.env_kind = (enum ksm_env_kind)7;
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK_STR(ksm_env_kind_name((enum ksm_env_kind)7), "unknown");
    /* jurisdiction: govcloud is JP (left out or said); overseas-ai must name another country */
    ksm_conf_defaults(&c);
    CHECK_STR(ksm_conf_jurisdiction(&c), "JP");
    CHECK(ksm_conf_set_jurisdiction(&c, "JP", err, sizeof err) == 0);
    CHECK(ksm_conf_validate(&c, err, sizeof err) == 0);
    CHECK(ksm_conf_set_jurisdiction(&c, "US", err, sizeof err) == 0);
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(strstr(err, "govcloud is in Japan") != NULL);
    ksm_conf_defaults(&c);
    c.env_kind = KSM_ENV_OVERSEAS_AI;
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(strstr(err, "overseas-ai needs the country") != NULL);
    CHECK(ksm_conf_set_jurisdiction(&c, "JP", err, sizeof err) == 0);
    CHECK(ksm_conf_validate(&c, err, sizeof err) == -1);
    CHECK(ksm_conf_set_jurisdiction(&c, "SG", err, sizeof err) == 0);
    CHECK(ksm_conf_validate(&c, err, sizeof err) == 0);
    CHECK_STR(ksm_conf_jurisdiction(&c), "SG");
    CHECK(ksm_conf_set_jurisdiction(&c, "us", err, sizeof err) == -1);
    CHECK(ksm_conf_set_jurisdiction(&c, "USA", err, sizeof err) == -1);
    CHECK(ksm_conf_set_jurisdiction(&c, "", err, sizeof err) == -1);
    CHECK(strstr(error_of("jurisdiction = \"U1\"\n"), "ISO 3166-1 alpha-2") != NULL);
}

static void test_load(void)
{
    char path[] = "/tmp/ksm_test_conf_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *text = "workers = 3\n[audit]\nretention_days = 100\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    struct ksm_conf c;
    char err[1024], want[700];
    ksm_conf_defaults(&c);
    CHECK(ksm_conf_load(&c, path, err, sizeof err) == -1);
    snprintf(want, sizeof want, "%s:3:18: audit.retention_days = 100", path);
    CHECK(starts_with(err, want));
    CHECK(c.workers == 1);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "workers = 3\n", 12) == 12);
    close(fd);
    CHECK(ksm_conf_load(&c, path, err, sizeof err) == 0 && c.workers == 3);
    CHECK_STR(c.path, path);
    unlink(path);
    CHECK(ksm_conf_load(&c, path, err, sizeof err) == -1);
    CHECK(strstr(err, "No such file") != NULL);
}

/* Arrays of strings, through a table with an array row (no real setting takes one yet). */
static char *got_items[8];
static size_t got_n;

static int set_test_array(struct ksm_conf *c, const struct conf_row *row, const struct conf_value *v,
                          char *msg, size_t msglen)
{
    if (v->nitems > KSM_NELEM(got_items)) {
        snprintf(msg, msglen, "too many");
        return -1;
    }
    for (size_t i = 0; i < got_n; i++)
        free(got_items[i]);
    got_n = v->nitems;
    for (size_t i = 0; i < v->nitems; i++)
        got_items[i] = ksm_xstrdup(v->items[i]);
    return 0;
}

static const struct conf_row test_rows[] = {
    {"s3", "hosts", K_STRARR, 0, 0, 0, 0, NULL, set_test_array, NULL},
    {"s3", "enabled", K_BOOL, offsetof(struct ksm_conf, admin.tls_cert), sizeof(bool), 0, 0, NULL,
     NULL, NULL},
};

static const char *array_error(const char *text)
{
    static char err[256];
    struct ksm_conf c;
    ksm_conf_defaults(&c);
    err[0] = '\0';
    parse_rows(&c, test_rows, KSM_NELEM(test_rows), "a", text, strlen(text), err, sizeof err);
    return err;
}

static void test_arrays(void)
{
    struct ksm_conf c;
    char err[256];
    const char *text = "[s3]\nhosts = [\"a\", \"霞\\u3042\",\n  # comment\n  \"c\",  ]\nenabled = true\n";
    ksm_conf_defaults(&c);
    CHECK(parse_rows(&c, test_rows, KSM_NELEM(test_rows), "a", text, strlen(text), err,
                     sizeof err) == 0);
    CHECK(got_n == 3);
    if (got_n == 3) {
        CHECK_STR(got_items[0], "a");
        CHECK_STR(got_items[1], "霞あ");
        CHECK_STR(got_items[2], "c");
    }
    CHECK(*(bool *)c.admin.tls_cert == true);
    text = "[s3]\nhosts = []\nenabled = false";
    CHECK(parse_rows(&c, test_rows, KSM_NELEM(test_rows), "a", text, strlen(text), err,
                     sizeof err) == 0);
    CHECK(got_n == 0);
    CHECK(*(bool *)c.admin.tls_cert == false);
    CHECK(starts_with(array_error("[s3]\nhosts = [\"a\", 1]"), "a:2:15: arrays hold only"));
    CHECK(starts_with(array_error("[s3]\nhosts = [[\"a\"]]"), "a:2:10: arrays hold only"));
    CHECK(starts_with(array_error("[s3]\nhosts = [\"a\" \"b\"]"), "a:2:14: expected ',' or ']'"));
    CHECK(starts_with(array_error("[s3]\nhosts = [\"a\",\n"), "a:2:9: unterminated array"));
    CHECK(starts_with(array_error("[s3]\nhosts = [\"a\"] x"), "a:2:15: trailing garbage"));
    CHECK(starts_with(array_error("[s3]\nhosts = [\"a"), "a:2:10: unterminated string"));
    CHECK(starts_with(array_error("[s3]\nhosts = \"a\""), "a:2:9: wrong type: s3.hosts takes an array"));
    CHECK(starts_with(array_error("[s3]\nenabled = 1"), "a:2:11: wrong type: s3.enabled takes true or false"));
    CHECK(starts_with(array_error("[s3]\nhosts = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]"),
                      "a:2:9: too many"));
    for (size_t i = 0; i < got_n; i++)
        free(got_items[i]);
}

/* [oidc.NAME]: one issuer per section, defaults filled, its own keys once each, validated. */
static void test_issuers(void)
{
    struct ksm_conf c;
    char err[512];
    const char *text = "[sso]\nmfa_roles = [\"platform_admin\", \"tenant_admin\"]\n"
                       "[oidc.gov]\nissuer = \"https://idp.example.go.jp/realms/gov\"\naudience = \"k\"\n"
                       "tenants = [\"*\"]\nmfa_acr = [\"gold\"]\n"
                       "[oidc.city]\nissuer = \"http://127.0.0.1:9/x\"\naudience = \"k\"\n"
                       "tenants = [\"7000012050002\"]\ngroups_claim = \"roles\"\n";
    CHECK(parse(&c, text, err, sizeof err) == 0 && ksm_conf_validate(&c, err, sizeof err) == 0);
    CHECK(c.noidc == 2 && c.sso_nmfa_roles == 2 && !strcmp(c.sso_mfa_roles[1], "tenant_admin"));
    CHECK(!strcmp(c.oidc[0].name, "gov") && c.oidc[0].any_tenant && c.oidc[0].nmfa_acr == 1);
    CHECK(!strcmp(c.oidc[0].tenant_claim, "corporate_number") && c.oidc[0].leeway_s == 60);
    CHECK(!strcmp(c.oidc[1].groups_claim, "roles") && c.oidc[1].ntenants == 1 && !c.oidc[1].any_tenant);
    CHECK(!strcmp(c.oidc[1].tenants[0], "7000012050002") && c.oidc[1].nmfa_amr == 8);
    CHECK_ERR("[oidc]\n", "t.conf:1:2: an issuer section is named [oidc.NAME]");
    CHECK_ERR("[oidc.a]\n[oidc.a]\n", "t.conf:2:2: duplicate section [oidc.a]");
    CHECK_ERR("[oidc.a]\naudience = \"x\"\naudience = \"y\"\n", "t.conf:3:1: duplicate key 'audience'");
    CHECK_ERR("[oidc.a]\ntenants = [\"123\"]\n", "t.conf:2:11: tenants:");
    CHECK_ERR("[oidc.a]\nnope = 1\n", "t.conf:2:1: unknown key 'nope' in [oidc]");
    CHECK(parse(&c, "[oidc.a]\nissuer = \"http://idp.example\"\naudience = \"k\"\ntenants = [\"*\"]\n",
                err, sizeof err) == 0);
    CHECK(ksm_conf_validate(&c, err, sizeof err) != 0 && strstr(err, "https://"));
    CHECK(parse(&c, "[oidc.a]\nissuer = \"https://i\"\naudience = \"k\"\n", err, sizeof err) == 0);
    CHECK(ksm_conf_validate(&c, err, sizeof err) != 0 && strstr(err, "tenants"));
    CHECK(ksm_conf_add_issuer(&c, "a") == NULL && ksm_conf_add_issuer(&c, "b") != NULL);
}

int main(void)
{
    test_issuers();
    test_defaults();
    test_every_key();
    test_syntax();
    test_errors();
    test_listen();
    test_retention();
    test_validate();
    test_load();
    test_arrays();
    return CHECK_DONE();
}
