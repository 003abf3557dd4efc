/* cmd_erase.c — `kasumi erase request|confirm` and `kasumi erasure verify|report|render`: the
 * contract for scripts around erasure (docs/lifecycle.md "Erasure"). request prints the
 * confirmation token alone on stdout (table mode), so `T=$(kasumi erase request ...)` works;
 * confirm sends it, waits for the job and writes the signed report. verify runs offline with a
 * public key obtained separately (`kasumi audit public-key`): it must not trust the daemon whose
 * work it checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/util.h"
#include "lifecycle/erase.h"

/* The tenant a request concerns: --tenant, else the project's (for --project). malloc'd. */
static char *tenant_of(struct kc_ctx *c, const struct kc_args *a, int *rc)
{
    const char *t = kc_flag(a, "tenant"), *p = kc_flag(a, "project");
    *rc = 0;
    if (t)
        return ksm_xstrdup(t);
    if (!p) {
        *rc = kc_usage_err(c->cmd, "name what to erase: --tenant T, --project P, or --bucket B "
                                   "--tenant T");
        return NULL;
    }
    char *path = kc_url_path(c, "/admin/v1/projects/{}", p);
    json_t *proj = NULL;
    *rc = kc_api(c, "GET", path, NULL, NULL, &proj);
    free(path);
    const char *id = json_string_value(json_object_get(proj, "tenant"));
    char *out = id ? ksm_xstrdup(id) : NULL;
    json_decref(proj);
    if (!*rc && !out) {
        kc_err("the project's answer names no tenant");
        *rc = KC_EXIT_API;
    }
    return out;
}

int kc_erase_request(struct kc_ctx *c, const struct kc_args *a)
{
    const char *project = kc_flag(a, "project"), *bucket = kc_flag(a, "bucket");
    if (project && bucket)
        return kc_usage_err(c->cmd, "give --project or --bucket, not both");
    if (bucket && !kc_flag(a, "tenant"))
        return kc_usage_err(c->cmd, "--bucket needs --tenant (bucket names are per tenant)");
    int rc;
    char *tenant = tenant_of(c, a, &rc);
    if (!tenant)
        return rc;
    json_t *body = json_object();
    kc_json_set(body, "scope", bucket ? "bucket" : project ? "project" : "tenant");
    kc_json_set(body, "project", project);
    kc_json_set(body, "bucket", bucket);
    if (kc_json_set_int(c, body, "expires_in_s", "expires-in", kc_flag(a, "expires-in"))) {
        json_decref(body);
        free(tenant);
        return KC_EXIT_USAGE;
    }
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/erasures", tenant);
    json_t *job = NULL;
    rc = kc_api(c, "POST", path, NULL, body, &job);
    free(path);
    free(tenant);
    if (rc == 0 && c->output == KC_OUT_JSON) {
        kc_print(c, job, NULL);
    } else if (rc == 0) {
        const char *token = json_string_value(json_object_get(job, "token"));
        fprintf(stderr, "erasure %s of %s %s requested; confirm before %s with:\n"
                        "  kasumi erase confirm TOKEN --report-out REPORT.json\n",
                json_string_value(json_object_get(job, "id")),
                json_string_value(json_object_get(job, "scope")),
                json_string_value(json_object_get(job, "target_name")),
                json_string_value(json_object_get(job, "expires_at")));
        printf("%s\n", token ? token : "");
    }
    json_decref(job);
    return rc;
}

/* The job as the token's holder sees it (POST /admin/v1/erasure-reports). */
static int job_by_token(struct kc_ctx *c, const char *token, json_t **job)
{
    json_t *body = json_object();
    kc_json_set(body, "token", token);
    return kc_api(c, "POST", "/admin/v1/erasure-reports", NULL, body, job);
}

/* The report as a file: indented, keys sorted (verification re-derives the canonical form). */
static int write_report(const char *path, json_t *report)
{
    char *doc = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_buf_printf(&b, "%s\n", doc ? doc : "");
    free(doc);
    int rc = kc_write_out(path, b.data, b.len, 0644);
    ksm_buf_free(&b);
    return rc ? KC_EXIT_USAGE : KC_EXIT_OK;
}

/* The certificate (データ消去証明書) as HTML and/or PDF, where the flags say. */
static int write_certificate(const char *html_path, const char *pdf_path, json_t *report)
{
    int rc = KC_EXIT_OK;
    if (html_path) {
        char *html = ksm_erase_report_html(report);
        if (!html || kc_write_out(html_path, html, strlen(html), 0644))
            rc = KC_EXIT_USAGE;
        free(html);
    }
    if (!rc && pdf_path) {
        char *pdf = NULL;
        size_t n = 0;
        if (ksm_erase_report_pdf(report, &pdf, &n)) {
            kc_err("cannot render the PDF");
            rc = KC_EXIT_API;
        } else if (kc_write_out(pdf_path, pdf, n, 0644)) {
            rc = KC_EXIT_USAGE;
        }
        free(pdf);
    }
    return rc;
}

/* Polls until the job is done (the report is there) or wait_s passes. */
static int wait_done(struct kc_ctx *c, const char *token, int wait_s, json_t **job)
{
    struct timespec nap = {0, 250 * 1000000L};
    for (int i = 0; i <= wait_s * 4; i++) {
        int rc = job_by_token(c, token, job);
        if (rc)
            return rc;
        if (json_is_object(json_object_get(*job, "report")))
            return KC_EXIT_OK;
        json_decref(*job);
        *job = NULL;
        nanosleep(&nap, NULL);
    }
    kc_err("the erasure is not finished after %d s; it continues in kasumid: fetch the report "
           "later with `kasumi erasure report TOKEN --out FILE`",
           wait_s);
    return KC_EXIT_API;
}

static int emit_report(struct kc_ctx *c, const struct kc_args *a, json_t *job)
{
    json_t *report = json_object_get(job, "report");
    const char *out = kc_flag(a, "report-out") ? kc_flag(a, "report-out") : kc_flag(a, "out");
    int rc = out ? write_report(out, report) : KC_EXIT_OK;
    if (!rc)
        rc = write_certificate(kc_flag(a, "html-out"), kc_flag(a, "pdf-out"), report);
    if (rc)
        return rc;
    if (c->output == KC_OUT_JSON || !out)
        return kc_print(c, out ? job : report, NULL);
    json_t *t = json_object_get(report, "totals");
    printf("erasure %s done: %lld buckets, %lld objects, %lld bytes; %zu keys destroyed; report "
           "%s\n",
           json_string_value(json_object_get(report, "erasure_id")),
           (long long)json_integer_value(json_object_get(t, "buckets")),
           (long long)json_integer_value(json_object_get(t, "objects")),
           (long long)json_integer_value(json_object_get(t, "bytes")),
           json_array_size(json_object_get(report, "keys_destroyed")), out);
    return KC_EXIT_OK;
}

int kc_erase_confirm(struct kc_ctx *c, const struct kc_args *a)
{
    const char *token = a->pos[0];
    char tenant[48], id[48];
    if (!ksm_erase_token_parse(token, tenant, id))
        return kc_usage_err(c->cmd, "not an erasure confirmation token");
    char *end = NULL;
    const char *w = kc_flag(a, "wait");
    long wait_s = w ? strtol(w, &end, 10) : 600;
    if (w && (*end || wait_s < 0 || wait_s > 86400))
        return kc_usage_err(c->cmd, "--wait is a number of seconds (0..86400)");
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/erasures/{}/confirm", tenant, id);
    json_t *body = json_object(), *job = NULL;
    kc_json_set(body, "token", token);
    int rc = kc_api(c, "POST", path, NULL, body, &job);
    free(path);
    if (rc == 0 && !kc_flag(a, "report-out") && !kc_flag(a, "html-out") && !kc_flag(a, "pdf-out")) {
        rc = kc_print(c, job, NULL);   /* confirmed; the job runs on */
    } else if (rc == 0) {
        json_decref(job);
        job = NULL;
        rc = wait_done(c, token, (int)wait_s, &job);
        if (rc == 0)
            rc = emit_report(c, a, job);
    }
    json_decref(job);
    return rc;
}

int kc_erasure_report(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *job = NULL;
    int rc = job_by_token(c, a->pos[0], &job);
    if (rc == 0 && !json_is_object(json_object_get(job, "report"))) {
        kc_err("erasure %s is %s: no report yet", json_string_value(json_object_get(job, "id")),
               json_string_value(json_object_get(job, "state")));
        rc = KC_EXIT_API;
    }
    if (rc == 0)
        rc = emit_report(c, a, job);
    json_decref(job);
    return rc;
}

static json_t *load_report(const char *path, char **doc, size_t *len)
{
    *doc = ksm_read_file(path, len);
    if (!*doc) {
        kc_err("%s: %s", path, strerror(errno));
        return NULL;
    }
    json_t *r = json_loadb(*doc, *len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(r)) {
        kc_err("%s: not a JSON object", path);
        json_decref(r);
        return NULL;
    }
    return r;
}

int kc_erasure_verify(struct kc_ctx *c, const struct kc_args *a)
{
    size_t len;
    char *doc = ksm_read_file(a->pos[0], &len), why[300] = "";
    if (!doc) {
        kc_err("%s: %s", a->pos[0], strerror(errno));
        return KC_EXIT_USAGE;
    }
    int v = ksm_erase_report_verify(doc, len, kc_flag(a, "public-key"), why, sizeof why);
    free(doc);
    if (v < 0) {
        kc_err("%s", why);
        return KC_EXIT_USAGE;
    }
    if (c->output == KC_OUT_JSON) {
        json_t *j = json_pack("{s:b,s:s}", "valid", v == 1, "detail", why);
        kc_print(c, j, NULL);
        json_decref(j);
    } else {
        printf("%s: %s\n", v ? "erasure report valid" : "erasure report NOT valid", why);
    }
    return v ? KC_EXIT_OK : KC_EXIT_API;
}

int kc_erasure_render(struct kc_ctx *c, const struct kc_args *a)
{
    if (!kc_flag(a, "html") && !kc_flag(a, "pdf"))
        return kc_usage_err(c->cmd, "give --html FILE, --pdf FILE or both");
    char *doc = NULL;
    size_t len;
    json_t *r = load_report(a->pos[0], &doc, &len);
    free(doc);
    if (!r)
        return KC_EXIT_USAGE;
    int rc = write_certificate(kc_flag(a, "html"), kc_flag(a, "pdf"), r);
    json_decref(r);
    return rc;
}
