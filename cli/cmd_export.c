/* cmd_export.c — `kasumi export`: a tenant's or a project's data as a tar archive
 * (docs/lifecycle.md). `export --tenant T|--project P --out FILE.tar` downloads the stream, then
 * checks it as `export verify` does; `--bucket B --key K` has the daemon write it into a bucket
 * instead; `export verify FILE.tar` checks every file's size and SHA-256 against the archive's
 * manifest, offline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"
#include "lifecycle/export.h"

struct report_ctx {
    struct kc_ctx *c;
    json_t *problems; /* json output */
};

static void report(void *arg, const char *path, const char *what)
{
    struct report_ctx *rc = arg;
    if (rc->problems) {
        json_array_append_new(rc->problems, json_pack("{s:s,s:s}", "path", path, "problem", what));
        return;
    }
    char *p = ksm_xstrdup(path); /* names come from the archive: no terminal control */
    kc_scrub(p);
    printf("MISMATCH %s: %s\n", *p ? p : "(archive)", what);
    free(p);
}

/* 0 intact, KC_EXIT_API with problems, KC_EXIT_USAGE when the file cannot be read. */
static int verify_file(struct kc_ctx *c, const char *path, bool quiet)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        kc_err("cannot open %s: %s", path, strerror(errno));
        return KC_EXIT_USAGE;
    }
    struct report_ctx rc = {c, c->output == KC_OUT_JSON && !quiet ? json_array() : NULL};
    struct ksm_export_verifier *v = ksm_export_verifier_new(report, &rc);
    char *buf = ksm_xmalloc(1 << 20);
    size_t n;
    bool read_error = false;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0)
        if (ksm_export_verifier_feed(v, buf, n))
            break;
    read_error = ferror(f);
    free(buf);
    fclose(f);
    uint64_t files = 0;
    int problems = ksm_export_verifier_finish(v, &files);
    if (read_error) {
        kc_err("cannot read %s", path);
        json_decref(rc.problems);
        return KC_EXIT_USAGE;
    }
    if (rc.problems) {
        json_t *j = json_pack("{s:b,s:I,s:o}", "intact", problems == 0, "files", (json_int_t)files,
                              "problems", rc.problems);
        kc_print(c, j, NULL);
        json_decref(j);
    } else if (!quiet || problems) {
        printf("%s: %llu files, %s\n", path, (unsigned long long)files,
               problems ? "NOT intact" : "every file matches the manifest");
    }
    return problems ? KC_EXIT_API : KC_EXIT_OK;
}

int kc_export_verify(struct kc_ctx *c, const struct kc_args *a)
{
    return verify_file(c, a->pos[0], false);
}

/* --bucket: the daemon writes the archive into a bucket and answers with its size and digest. */
static int export_to_bucket(struct kc_ctx *c, const struct kc_args *a, const char *tenant)
{
    json_t *body = json_object();
    kc_json_set(body, "bucket", kc_flag(a, "bucket"));
    kc_json_set(body, "key", kc_flag(a, "key"));
    kc_json_set(body, "bucket_tenant", kc_flag(a, "bucket-tenant"));
    kc_json_set(body, "project", kc_flag(a, "project"));
    char *json = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/export", tenant);
    struct kc_http_resp r = {.long_running = true};
    int rc = kc_http(c, "POST", path, json, &r);
    free(json);
    free(path);
    if (rc == 0 && (r.status < 200 || r.status >= 300))
        rc = kc_api_error(&r);
    if (rc == 0) {
        json_t *out = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        kc_print(c, out, NULL);
        json_decref(out);
    }
    kc_http_resp_free(&r);
    return rc;
}

int kc_export(struct kc_ctx *c, const struct kc_args *a)
{
    const char *tenant = kc_flag(a, "tenant"), *project = kc_flag(a, "project"),
               *out = kc_flag(a, "out"), *bucket = kc_flag(a, "bucket");
    if (bucket) {
        if (!tenant || !kc_flag(a, "key") || out)
            return kc_usage_err(c->cmd, "--bucket needs --tenant and --key (and no --out)");
        return export_to_bucket(c, a, tenant);
    }
    if (!!tenant == !!project)
        return kc_usage_err(c->cmd, "give --tenant or --project (one of them)");
    if (!out || !strcmp(out, "-"))
        return kc_usage_err(c->cmd, "--out FILE.tar is required (the archive is verified there)");
    char *path = tenant ? kc_url_path(c, "/admin/v1/tenants/{}/export", tenant)
                        : kc_url_path(c, "/admin/v1/projects/{}/export", project);
    char *tmp;
    /* 0600: the archive holds the tenant's data in plaintext */
    FILE *f = kc_out_open(out, 0600, &tmp);
    if (!f) {
        free(path);
        return KC_EXIT_USAGE;
    }
    struct kc_http_resp r = {.sink = f, .long_running = true};
    int rc = kc_http(c, "GET", path, NULL, &r);
    free(path);
    if (rc == 0 && r.status >= 400)
        rc = kc_api_error(&r);
    else if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        kc_err("unexpected HTTP %ld from %s", r.status, c->endpoint);
        rc = KC_EXIT_API;
    }
    kc_http_resp_free(&r);
    if (kc_out_close(f, out, tmp, rc == 0) && rc == 0)
        rc = KC_EXIT_API;
    if (rc)
        return rc;
    /* a cut stream fails above; this catches anything else between the daemon and the disk */
    rc = verify_file(c, out, true);
    if (rc == 0 && c->output != KC_OUT_JSON)
        printf("exported to %s (verified against its manifest)\n", out);
    else if (rc == 0) {
        json_t *j = json_pack("{s:s,s:b}", "out", out, "verified", 1);
        kc_print(c, j, NULL);
        json_decref(j);
    }
    return rc;
}
