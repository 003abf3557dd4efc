/* cmd_audit.c — `kasumi audit ...`: searching and exporting the audit log through the API, fetching
 * its public key, and verifying a copy of its segments offline. Verification runs here, on the
 * auditor's machine, with a public key obtained separately: it must not trust the daemon whose log
 * it checks, so it calls ksm_audit_verify directly instead of asking the API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli.h"
#include "core/util.h"

static const struct kc_col cols[] = {
    {"TIME", "time|ts|time_ms"}, {"SEQ", "seq"},        {"PRINCIPAL", "principal"},
    {"TENANT", "tenant"},        {"ACTION", "action"},  {"TARGET", "target"},
    {"OUTCOME", "outcome"},      {"STATUS", "status"},  KC_COLS_END,
};

static void add_filters(struct kc_query *q, const struct kc_args *a)
{
    static const char *const names[] = {"since", "until", "tenant", "principal", "action"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        kc_query_add(q, names[i], kc_flag(a, names[i]));
}

int kc_audit_query(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    add_filters(&q, a);
    return kc_list_paged(c, a, "/admin/v1/audit", &q, cols);
}

/* One page of the export into f. *cursor is in: where to start (NULL: the beginning), out: where
 * the next page starts (the X-Next-Cursor header), NULL after the last page. */
static int export_page(struct kc_ctx *c, const struct kc_query *filters, char **cursor, FILE *f,
                       size_t *records)
{
    struct kc_query q = *filters;
    kc_query_add(&q, "cursor", *cursor);
    struct ksm_buf path = KSM_BUF_INIT;
    ksm_buf_puts(&path, "/admin/v1/audit/export");
    kc_query_append(c, &path, &q);
    struct kc_http_resp r = {.sink = f};
    int rc = kc_http(c, "GET", path.data, NULL, &r);
    if (rc == 0 && r.status >= 400)
        rc = kc_api_error(&r);
    else if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        kc_err("unexpected HTTP %ld from %s", r.status, c->endpoint);
        rc = KC_EXIT_API;
    }
    if (rc == 0 && r.sink_last && r.sink_last != '\n') {
        fputc('\n', f);   /* pages are concatenated: each must end its last line */
        r.sink_lines++;
    }
    *records += r.sink_lines;
    free(*cursor);
    *cursor = NULL;
    if (rc == 0 && r.next_cursor && *r.next_cursor)
        *cursor = ksm_xstrdup(r.next_cursor);
    kc_http_resp_free(&r);
    ksm_buf_free(&path);
    return rc;
}

int kc_audit_export(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    add_filters(&q, a);
    const char *out = kc_flag(a, "out");
    char *tmp;
    /* 0600: audit records name people and actions; they are not for every local account. */
    FILE *f = kc_out_open(out, 0600, &tmp);
    if (!f)
        return KC_EXIT_USAGE;
    char *cursor = NULL, *prev = NULL;
    size_t records = 0;
    int rc;
    do {
        free(prev);
        prev = cursor ? ksm_xstrdup(cursor) : NULL;
        rc = export_page(c, &q, &cursor, f, &records);
        if (rc == 0 && cursor && prev && !strcmp(cursor, prev)) {
            kc_err("the server returned the same cursor twice");
            rc = KC_EXIT_API;
        }
    } while (rc == 0 && cursor);
    free(cursor);
    free(prev);
    if (kc_out_close(f, out, tmp, rc == 0) && rc == 0)
        rc = KC_EXIT_API;
    if (rc == 0 && out && strcmp(out, "-"))
        printf("exported %zu records to %s\n", records, out);
    return rc;
}

/* Refuses before verification starts when the inputs are missing, so that exit status 1 keeps
 * meaning "the log is not intact" and never "you mistyped the path". */
static int check_inputs(const char *dir, const char *key)
{
    struct stat st;
    if (stat(dir, &st)) {
        kc_err("%s: %s", dir, strerror(errno));
        return KC_EXIT_USAGE;
    }
    if (!S_ISDIR(st.st_mode)) {
        kc_err("%s: not a directory", dir);
        return KC_EXIT_USAGE;
    }
    if (access(key, R_OK)) {
        kc_err("cannot read public key %s: %s", key, strerror(errno));
        return KC_EXIT_USAGE;
    }
    return 0;
}

int kc_audit_verify(struct kc_ctx *c, const struct kc_args *a)
{
    const char *dir = a->pos[0], *key = kc_flag(a, "public-key");
    int rc = check_inputs(dir, key);
    if (rc)
        return rc;
    struct ksm_buf report = KSM_BUF_INIT;
    bool intact = ksm_audit_verify(dir, key, kc_flag_set(a, "every-signature"), &report) == 0;
    const char *text = report.data ? report.data : "";
    if (c->output == KC_OUT_JSON) {
        json_t *j = json_pack("{s:b, s:s}", "intact", intact, "report", text);
        kc_print(c, j, NULL);
        json_decref(j);
    } else {
        fputs(text, stdout);
        if (!*text || text[strlen(text) - 1] != '\n')
            fputc('\n', stdout);
        printf("%s\n", intact ? "audit log intact" : "audit log NOT intact");
    }
    ksm_buf_free(&report);
    return intact ? KC_EXIT_OK : KC_EXIT_API;
}

int kc_audit_public_key(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_http_resp r = {0};
    int rc = kc_http(c, "GET", "/admin/v1/audit/public-key", NULL, &r);
    if (rc == 0 && (r.status < 200 || r.status >= 300))
        rc = kc_api_error(&r);
    else if (rc == 0 && !(r.body.data && strstr(r.body.data, "-----BEGIN "))) {
        kc_err("the server's answer is not a PEM public key");
        rc = KC_EXIT_API;
    } else if (rc == 0 && kc_write_out(kc_flag(a, "out"), r.body.data, r.body.len, 0644))
        rc = KC_EXIT_API;
    kc_http_resp_free(&r);
    return rc;
}
