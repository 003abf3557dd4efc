/* cmd_template.c — `kasumi template validate|plan|apply FILE` (docs/templates.md), the versions of a
 * tenant's templates, and the operator's mandatory template. The file is parsed here first with the
 * daemon's own parser, so an invalid template fails without a round trip (exit 2, like any bad
 * local input); a refusal by the daemon (a guardrail, a principal that does not exist) exits 1.
 * plan prints the difference line by line: + create, ~ update, ! drift (changed by hand). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"
#include "template/template.h"

int kc_template_run(struct kc_ctx *c, const struct kc_args *a);
int kc_template_versions(struct kc_ctx *c, const struct kc_args *a);
int kc_template_mandatory_set(struct kc_ctx *c, const struct kc_args *a);
int kc_template_mandatory_get(struct kc_ctx *c, const struct kc_args *a);

/* The file, parsed; NULL after saying why (exit 2). */
static char *load(const char *path, size_t *n, struct ksm_tpl **t)
{
    char why[KSM_TPL_WHY];
    char *data = ksm_read_file(path, n);
    if (!data) {
        kc_err("cannot read %s", path);
        return NULL;
    }
    if (ksm_tpl_parse(data, *n, t, why) != KSM_E_OK) {
        kc_err("%s: invalid template: %s", path, why);
        free(data);
        return NULL;
    }
    return data;
}

static void print_value(FILE *f, json_t *v)
{
    char *s = kc_cell_text(v);
    fputs(s, f);
    free(s);
}

static void print_change(FILE *f, json_t *ch)
{
    const char *action = json_string_value(json_object_get(ch, "action"));
    bool drift = json_is_true(json_object_get(ch, "drift"));
    char mark = !strcmp(action, "create") ? '+' : !strcmp(action, "update") ? '~' : '=';
    if (mark == '=' && !drift)
        return;
    char key[512];
    snprintf(key, sizeof key, "%s", json_string_value(json_object_get(ch, "key")));
    kc_scrub(key);
    fprintf(f, "%c %-13s %s%s\n", mark, json_string_value(json_object_get(ch, "kind")), key,
            drift ? "   ! drift: changed outside the template" : "");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(ch, "diff"), i, d)
    {
        if (mark == '+')
            break;
        fprintf(f, "      %s: ", json_string_value(json_object_get(d, "field")));
        print_value(f, json_object_get(d, "live"));
        fputs(" -> ", f);
        print_value(f, json_object_get(d, "desired"));
        fputc('\n', f);
    }
}

static void print_plan(FILE *f, json_t *plan, bool applied)
{
    json_t *s = json_object_get(plan, "summary");
    long long v = json_integer_value(json_object_get(plan, "version"));
    long long next = json_integer_value(json_object_get(plan, "next_version"));
    char name[200];
    snprintf(name, sizeof name, "%s", json_string_value(json_object_get(plan, "template")));
    kc_scrub(name);
    if (applied)
        fprintf(f, "template %s: applied as version %lld%s\n", name, v,
                json_is_true(json_object_get(plan, "new_version")) ? " (new)" : " (unchanged)");
    else
        fprintf(f, "template %s: version %lld%s%lld\n", name, v, next != v ? " -> " : " = ", next);
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(plan, "changes"), i, ch) print_change(f, ch);
    fprintf(f, "%s: %lld to create, %lld to update, %lld unchanged, %lld drifted\n",
            applied ? "Applied" : "Plan", json_integer_value(json_object_get(s, "create")),
            json_integer_value(json_object_get(s, "update")),
            json_integer_value(json_object_get(s, "unchanged")),
            json_integer_value(json_object_get(s, "drift")));
}

/* validate | plan | apply: a->pos[0] is the verb's file; the verb is in c->cmd. */
int kc_template_run(struct kc_ctx *c, const struct kc_args *a)
{
    const char *verb = c->cmd->verb;
    size_t n;
    struct ksm_tpl *t = NULL;
    char *data = load(a->pos[0], &n, &t);
    if (!data)
        return KC_EXIT_USAGE;
    const char *tenant = kc_flag(a, "tenant") ? kc_flag(a, "tenant") : t->tenant;
    int rc = KC_EXIT_OK;
    if (!tenant) {
        rc = kc_usage_err(c->cmd, "the template names no tenant: give --tenant");
        goto done;
    }
    char tmpl[80];
    snprintf(tmpl, sizeof tmpl, "/admin/v1/tenants/{}/templates/%s", verb);
    char *path = kc_url_path(c, tmpl, tenant);
    struct kc_http_resp r = {0};
    rc = kc_http_body(c, "POST", path, data, n, "application/json", &r);
    free(path);
    if (rc == 0 && r.status >= 400)
        rc = kc_api_error(&r);
    json_t *out = rc == 0 ? json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL) : NULL;
    if (rc == 0 && !out) {
        kc_err("the answer is not JSON");
        rc = KC_EXIT_CONN;
    } else if (rc == 0 && (c->output == KC_OUT_JSON || !strcmp(verb, "validate"))) {
        rc = c->output == KC_OUT_JSON ? kc_print(c, out, NULL)
                                      : (printf("%s: valid (template %s, %d projects)\n",
                                                a->pos[0], t->name, t->nprojects),
                                         KC_EXIT_OK);
    } else if (rc == 0) {
        print_plan(stdout, out, !strcmp(verb, "apply"));
    }
    json_decref(out);
    kc_http_resp_free(&r);
done:
    ksm_tpl_free(t);
    free(data);
    return rc;
}

static const struct kc_col version_cols[] = {
    {"TEMPLATE", "template"}, {"VERSION", "version"},       {"CREATED", "created_at"},
    {"BY", "created_by"},     {"DIGEST", "digest"},         KC_COLS_END,
};

int kc_template_versions(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "name", kc_flag(a, "name"));
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/templates", kc_flag(a, "tenant"));
    int rc = kc_call(c, "GET", path, &q, NULL, version_cols, NULL);
    free(path);
    return rc;
}

static const struct kc_col mandatory_cols[] = {
    {"TEMPLATE", "template"}, {"VERSION", "version"}, {"DIGEST", "digest"}, KC_COLS_END,
};

int kc_template_mandatory_set(struct kc_ctx *c, const struct kc_args *a)
{
    size_t n;
    struct ksm_tpl *t = NULL;
    char *data = load(a->pos[0], &n, &t);
    if (!data)
        return KC_EXIT_USAGE;
    json_t *body = json_incref(t->doc);
    ksm_tpl_free(t);
    free(data);
    return kc_call(c, "PUT", "/admin/v1/platform/mandatory-template", NULL, body, mandatory_cols,
                   NULL);
}

int kc_template_mandatory_get(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call(c, "GET", "/admin/v1/platform/mandatory-template", NULL, NULL, mandatory_cols,
                   NULL);
}
