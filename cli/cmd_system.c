/* cmd_system.c — commands about the daemon and the caller rather than a resource: whoami, the
 * route table, health, readiness and metrics. */
#include <string.h>

#include "cli.h"

static const struct kc_col route_cols[] = {
    {"METHOD", "method"}, {"PATTERN", "pattern"}, {"PERMISSION", "permission"}, {"SCOPE", "scope"},
    {"ACTION", "action"}, {"SUMMARY", "summary"}, KC_COLS_END,
};

static const struct kc_col binding_cols[] = {
    {"BINDING", "id"}, {"PRINCIPAL", "principal"}, {"ROLE", "role"}, {"SCOPE", "scope"},
    KC_COLS_END,
};

/* Table mode: the principal's fields, then its bindings as a table of their own (as one cell
 * they would be a line of JSON). */
int kc_whoami(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *out;
    int rc = kc_api(c, "GET", "/admin/v1/whoami", NULL, NULL, &out);
    if (rc || !out)
        return rc;
    json_t *bindings = json_incref(json_object_get(out, "bindings"));
    if (c->output == KC_OUT_JSON || !json_is_object(out) || !json_is_array(bindings))
        rc = kc_print(c, out, NULL);
    else {
        json_object_del(out, "bindings");
        kc_print_fields(stdout, out);
        fputc('\n', stdout);
        kc_table_print(stdout, binding_cols, bindings);
    }
    json_decref(bindings);
    json_decref(out);
    return rc;
}

int kc_routes(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call(c, "GET", "/admin/v1/routes", NULL, NULL, route_cols, NULL);
}

/* A probe: 2xx is healthy whatever the body says; the body is shown as it came (JSON pretty in
 * json mode, else its text), or "ok" when empty. */
static int probe(struct kc_ctx *c, const char *path)
{
    struct kc_http_resp r = {0};
    int rc = kc_http(c, "GET", path, NULL, &r);
    if (rc)
        goto done;
    if (r.status < 200 || r.status >= 300) {
        rc = kc_api_error(&r);
        goto done;
    }
    json_t *j = r.body.len ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
    if (j) {
        if (c->output == KC_OUT_JSON)
            kc_print(c, j, NULL);
        else
            kc_print_fields(stdout, j);
        json_decref(j);
    } else if (r.body.len) {
        while (r.body.len && strchr(" \t\r\n", r.body.data[r.body.len - 1]))
            r.body.data[--r.body.len] = '\0';
        kc_scrub(r.body.data);
        printf("%s\n", r.body.data);
    } else
        puts("ok");
done:
    kc_http_resp_free(&r);
    return rc;
}

int kc_health(struct kc_ctx *c, const struct kc_args *a)
{
    return probe(c, "/healthz");
}

int kc_ready(struct kc_ctx *c, const struct kc_args *a)
{
    return probe(c, "/readyz");
}

int kc_metrics(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_http_resp r = {0};
    int rc = kc_http(c, "GET", "/metrics", NULL, &r);
    if (rc == 0 && (r.status < 200 || r.status >= 300))
        rc = kc_api_error(&r);
    else if (rc == 0 && r.body.len)
        fwrite(r.body.data, 1, r.body.len, stdout);   /* Prometheus text, for a pipe to grep */
    kc_http_resp_free(&r);
    return rc;
}
