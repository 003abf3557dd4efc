/* cli.h — what the files of `kasumi`, the admin API's command-line client, share: the exit codes,
 * the parsed command line, the command table's row, the HTTP/API helpers and the output helpers.
 * The CLI is a thin client: it builds a request from flags, sends it, and renders the answer; every
 * rule (validation, authorisation, audit) is the daemon's. */
#ifndef KC_CLI_H
#define KC_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "core/buf.h"

/* Exit codes are part of the contract scripts rely on (docs/cli.md). */
enum {
    KC_EXIT_OK = 0,
    KC_EXIT_API = 1,     /* the API answered with an error; also "audit verify" found tampering */
    KC_EXIT_USAGE = 2,   /* bad command line or local input the user named (files, directories) */
    KC_EXIT_CONN = 3,    /* no usable answer: connection, TLS, timeout */
};

#define KC_DEFAULT_ENDPOINT "http://127.0.0.1:8400"
#define KC_MAX_POS 8
#define KC_MAX_FLAGS 32

struct kc_col;

/* ---- args.c: the command line, parsed once, before the command is known ---- */

struct kc_flag {
    const char *name;    /* without the leading "--" */
    const char *value;   /* "" for boolean flags */
};

struct kc_args {
    const char *pos[KC_MAX_POS];   /* positional words; main strips noun and verb */
    int npos;
    struct kc_flag flags[KC_MAX_FLAGS];
    int nflags;
};

/* Parses argv[1..]: "--flag value", "--flag=value", boolean flags, "--" ends flags. Returns 0, or
 * -1 after printing why. */
int kc_args_parse(struct kc_args *a, int argc, char **argv);
const char *kc_flag(const struct kc_args *a, const char *name);   /* last value wins; NULL absent */
bool kc_flag_set(const struct kc_args *a, const char *name);
/* Drops the first n positional words (noun, verb). */
void kc_args_shift(struct kc_args *a, int n);

/* ---- context.c: where to connect, with what token, how to print ---- */

enum kc_output { KC_OUT_TABLE, KC_OUT_JSON };

struct kc_ctx {
    char *endpoint;              /* without a trailing '/' */
    enum kc_output output;
    const char *token_flag, *token_file_flag;   /* from the command line; env is read lazily */
    char *token;                 /* resolved on first request; never printed */
    bool token_resolved;
    void *curl;                  /* CURL *, one handle so pages reuse the connection */
    const struct kc_cmd *cmd;    /* the running command, for its usage line in errors */
};

/* Fills c from the global flags and the environment. Returns 0 or KC_EXIT_USAGE. */
int kc_ctx_init(struct kc_ctx *c, const struct kc_args *a);
/* Resolves the token (flags, then KASUMI_TOKEN / KASUMI_TOKEN_FILE). 0 or KC_EXIT_USAGE. */
int kc_ctx_token(struct kc_ctx *c);
void kc_ctx_free(struct kc_ctx *c);

/* ---- commands.c: the command table ---- */

struct kc_cmd;
typedef int (*kc_handler_fn)(struct kc_ctx *c, const struct kc_args *a);

struct kc_cmd {
    const char *noun;       /* "tenant"; two words for a group ("kms key") */
    const char *verb;       /* "create"; NULL for one-word commands ("whoami"); two words
                               ("case create") for a noun with sub-nouns ("supply") */
    kc_handler_fn fn;
    int npos;               /* positional arguments after noun and verb */
    const char *required;   /* space-separated flags that must be given */
    const char *optional;   /* flags that may be given */
    const char *usage;      /* "tenant get ID" (after "kasumi ") */
    const char *summary;
};

extern const struct kc_cmd kc_commands[];
extern const int kc_ncommands;

/* Finds the row for the words; *nwords gets 1, 2 or 3. NULL when none matches. */
const struct kc_cmd *kc_cmd_find(const struct kc_args *a, int *nwords);
bool kc_noun_known(const char *noun);
/* Checks positional count, required and unknown flags against the row. 0 or KC_EXIT_USAGE. */
int kc_cmd_check(const struct kc_cmd *cmd, const struct kc_args *a);
void kc_help_all(FILE *f);
void kc_help_noun(FILE *f, const char *noun);
void kc_help_cmd(FILE *f, const struct kc_cmd *cmd);

/* ---- http_client.c: one request over libcurl ---- */

struct kc_http_resp {
    long status;
    struct ksm_buf body;     /* the body, unless it went to sink */
    char *content_type;      /* malloc'd or NULL */
    char *next_cursor;       /* X-Next-Cursor header (export paging), malloc'd or NULL */
    FILE *sink;              /* when set, a 2xx body is written here instead of into body */
    bool sink_failed;
    size_t sink_lines;       /* newlines written to sink (records, for JSON Lines) */
    char sink_last;          /* last byte written to sink, 0 before any */
    void *easy;              /* CURL *, for the status while the body streams */
    /* no total time limit (an export of many GB, or one written into a bucket): a stream that
     * stalls for two minutes still fails */
    bool long_running;
};

/* Sends method url-path (with query) and an optional JSON body. 0, or KC_EXIT_CONN / KC_EXIT_USAGE
 * after printing why. A 4xx/5xx is not a failure here: the caller reads status. */
int kc_http(struct kc_ctx *c, const char *method, const char *path, const char *json_body,
            struct kc_http_resp *r);
/* The same with a body of any type (ctype NULL: none), for file uploads. */
int kc_http_body(struct kc_ctx *c, const char *method, const char *path, const char *body,
                 size_t len, const char *ctype, struct kc_http_resp *r);
void kc_http_resp_free(struct kc_http_resp *r);
/* "/admin/v1/groups/{}/members/{}" with each {} replaced by the next argument, percent-encoded. */
char *kc_url_path(struct kc_ctx *c, const char *tmpl, ...);

/* ---- api.c: JSON requests, errors, query strings, paging ---- */

struct kc_query {
    const char *key[16];
    const char *val[16];
    int n;
};
/* Adds key=val when val is non-NULL. */
void kc_query_add(struct kc_query *q, const char *key, const char *val);
/* Appends "?k=v&..." (percent-encoded) to path. */
void kc_query_append(struct kc_ctx *c, struct ksm_buf *path, const struct kc_query *q);

/* One JSON request. On success *out is the parsed body (NULL for an empty body) and 0 is returned;
 * otherwise the one-line error has been printed and the exit code is returned. */
int kc_api(struct kc_ctx *c, const char *method, const char *path, const struct kc_query *q,
           json_t *body, json_t **out);
/* kc_api, then kc_print of the answer; an empty answer prints done (table mode). */
int kc_call(struct kc_ctx *c, const char *method, const char *path, const struct kc_query *q,
            json_t *body, const struct kc_col *cols, const char *done);
/* kc_call at a path from kc_url_path, which it frees: the commands that are one request. */
int kc_call_at(struct kc_ctx *c, const char *method, char *path, json_t *body,
               const struct kc_col *cols);
/* Prints "kasumi: CODE: MESSAGE (request_id ID)" for an error response. Returns KC_EXIT_API. */
int kc_api_error(const struct kc_http_resp *r);
/* A flag's "a,b,c" → ["a","b","c"], numbers when as_int; NULL with a usage message on a bad
 * number. */
json_t *kc_split_list(struct kc_ctx *c, const char *flag, const char *v, bool as_int);
/* Sets key to a string when val is non-NULL. */
void kc_json_set(json_t *obj, const char *key, const char *val);
/* An integer flag into obj (nothing when val is NULL); "10GiB" and the like are sizes. -1 with a
 * usage message when it is not a whole number. */
int kc_json_set_int(struct kc_ctx *c, json_t *obj, const char *key, const char *flag,
                    const char *val);

/* ---- output.c, table.c, json_print.c, width.c: rendering ---- */

/* A table column: its header and the field(s) it shows, "tenant|tenant_id" = first present. */
struct kc_col {
    const char *title;
    const char *keys;
};
#define KC_COLS_END {NULL, NULL}

/* Prints an API answer: in json mode exactly as returned; in table mode the items (or the one
 * object) under cols. Returns KC_EXIT_OK. */
int kc_print(struct kc_ctx *c, json_t *v, const struct kc_col *cols);
/* Table mode: a FIELD VALUE listing of every top-level field, for answers without a fixed shape. */
void kc_print_fields(FILE *f, json_t *obj);
void kc_table_print(FILE *f, const struct kc_col *cols, json_t *rows);
/* One table cell: scalars as text, arrays of scalars joined by ",", objects as compact JSON;
 * control characters replaced so API data cannot drive the terminal. malloc'd. */
char *kc_cell_text(json_t *v);
/* Pretty JSON, indent 2, UTF-8 kept, numbers in their shortest round-trip form; ends with '\n'. */
void kc_json_print(struct ksm_buf *out, json_t *v);
/* Columns a UTF-8 string occupies in a terminal: East Asian wide and fullwidth characters count 2,
 * combining marks 0. Not locale-dependent. Invalid bytes count 1. */
size_t kc_display_width(const char *s);
int kc_char_width(unsigned cp);

/* Replaces control characters (C0, DEL, C1) in place so text from the API cannot move the cursor,
 * recolour or retitle the terminal. */
void kc_scrub(char *s);
/* kasumi: message (stderr). */
void kc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* kc_err + the command's usage; returns KC_EXIT_USAGE. */
int kc_usage_err(const struct kc_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Output files ("-" or NULL = stdout): kc_out_open creates PATH.tmp.PID (mode, O_EXCL);
 * kc_out_close with ok fsyncs and renames it over path, without ok removes it.
 * 0 or -1 + message. */
FILE *kc_out_open(const char *path, int mode, char **tmp);
int kc_out_close(FILE *f, const char *path, char *tmp, bool ok);
/* Writes data to path (or stdout) through kc_out_open/kc_out_close. 0 or -1 + message. */
int kc_write_out(const char *path, const void *data, size_t n, int mode);
/* GET path streamed into the file out (or stdout): renamed into place only when the whole answer
 * came with a success status. 0, or the exit status of the failure. */
int kc_get_to_file(struct kc_ctx *c, const char *path, const char *out);

/* ---- cmd_*.c: handlers ---- */

int kc_tenant_create(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_list(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_get(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_update(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_suspend(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_resume(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_export_identities(struct kc_ctx *c, const struct kc_args *a);
int kc_tenant_import_identities(struct kc_ctx *c, const struct kc_args *a);

int kc_project_create(struct kc_ctx *c, const struct kc_args *a);
int kc_project_list(struct kc_ctx *c, const struct kc_args *a);
int kc_project_get(struct kc_ctx *c, const struct kc_args *a);
int kc_project_update(struct kc_ctx *c, const struct kc_args *a);
int kc_project_delete(struct kc_ctx *c, const struct kc_args *a);

int kc_user_create(struct kc_ctx *c, const struct kc_args *a);
int kc_user_list(struct kc_ctx *c, const struct kc_args *a);
int kc_user_get(struct kc_ctx *c, const struct kc_args *a);
int kc_user_update(struct kc_ctx *c, const struct kc_args *a);
int kc_user_disable(struct kc_ctx *c, const struct kc_args *a);
int kc_user_enable(struct kc_ctx *c, const struct kc_args *a);
int kc_user_delete(struct kc_ctx *c, const struct kc_args *a);

int kc_group_create(struct kc_ctx *c, const struct kc_args *a);
int kc_group_list(struct kc_ctx *c, const struct kc_args *a);
int kc_group_get(struct kc_ctx *c, const struct kc_args *a);
int kc_group_delete(struct kc_ctx *c, const struct kc_args *a);
int kc_group_add_member(struct kc_ctx *c, const struct kc_args *a);
int kc_group_remove_member(struct kc_ctx *c, const struct kc_args *a);

int kc_role_bind(struct kc_ctx *c, const struct kc_args *a);
int kc_role_list(struct kc_ctx *c, const struct kc_args *a);
int kc_role_get(struct kc_ctx *c, const struct kc_args *a);
int kc_role_unbind(struct kc_ctx *c, const struct kc_args *a);
int kc_roles(struct kc_ctx *c, const struct kc_args *a);

int kc_key_create(struct kc_ctx *c, const struct kc_args *a);
int kc_key_list(struct kc_ctx *c, const struct kc_args *a);
int kc_key_get(struct kc_ctx *c, const struct kc_args *a);
int kc_key_revoke(struct kc_ctx *c, const struct kc_args *a);

int kc_kms_key_list(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_key_rotate(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_key_disable(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_key_enable(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_key_destroy(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_backup(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_restore(struct kc_ctx *c, const struct kc_args *a);
int kc_kms_rotate_master(struct kc_ctx *c, const struct kc_args *a);

int kc_audit_query(struct kc_ctx *c, const struct kc_args *a);
int kc_audit_export(struct kc_ctx *c, const struct kc_args *a);
int kc_audit_verify(struct kc_ctx *c, const struct kc_args *a);
int kc_audit_public_key(struct kc_ctx *c, const struct kc_args *a);

int kc_usage_list(struct kc_ctx *c, const struct kc_args *a);
/* cmd_billing.c */
int kc_billing_price_add(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_price_list(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_price_end(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_recompute(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_report(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_usage(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_month_close(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_month_list(struct kc_ctx *c, const struct kc_args *a);

int kc_whoami(struct kc_ctx *c, const struct kc_args *a);
int kc_routes(struct kc_ctx *c, const struct kc_args *a);
int kc_health(struct kc_ctx *c, const struct kc_args *a);
int kc_ready(struct kc_ctx *c, const struct kc_args *a);
int kc_metrics(struct kc_ctx *c, const struct kc_args *a);

/* paging.c: GET a {"items","next_cursor"} list; --limit/--cursor/--all; prints it. */
int kc_list_paged(struct kc_ctx *c, const struct kc_args *a, const char *path, struct kc_query *q,
                  const struct kc_col *cols);

#endif
