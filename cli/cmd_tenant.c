/* cmd_tenant.c — `kasumi tenant ...`: the organisations (府省庁, 自治体) that own everything else,
 * identified by their 法人番号 (corporate number). */
#include <stdlib.h>

#include "cli.h"

static const struct kc_col cols[] = {
    {"ID", "id"},     {"KIND", "kind"},     {"NAME", "name"},
    {"CORPORATE_NUMBER", "corporate_number"}, {"STATUS", "status"}, KC_COLS_END,
};

/* One request on /admin/v1/tenants/{id}{suffix}, answered with a tenant. */
static int on_tenant(struct kc_ctx *c, const char *method, const char *id, const char *suffix,
                     json_t *body, const char *done)
{
    char *path = kc_url_path(c, "/admin/v1/tenants/{}", id);
    struct ksm_buf full = KSM_BUF_INIT;
    ksm_buf_printf(&full, "%s%s", path, suffix);
    int rc = kc_call(c, method, full.data, NULL, body, cols, done);
    ksm_buf_free(&full);
    free(path);
    return rc;
}

int kc_tenant_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "kind", kc_flag(a, "kind"));
    kc_json_set(body, "name", kc_flag(a, "name"));
    kc_json_set(body, "corporate_number", kc_flag(a, "corporate-number"));
    return kc_call(c, "POST", "/admin/v1/tenants", NULL, body, cols, NULL);
}

int kc_tenant_list(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call(c, "GET", "/admin/v1/tenants", NULL, NULL, cols, NULL);
}

int kc_tenant_get(struct kc_ctx *c, const struct kc_args *a)
{
    return on_tenant(c, "GET", a->pos[0], "", NULL, NULL);
}

int kc_tenant_update(struct kc_ctx *c, const struct kc_args *a)
{
    if (!kc_flag(a, "name") && !kc_flag(a, "kind"))
        return kc_usage_err(c->cmd, "nothing to update: give --name or --kind");
    json_t *body = json_object();
    kc_json_set(body, "name", kc_flag(a, "name"));
    kc_json_set(body, "kind", kc_flag(a, "kind"));
    return on_tenant(c, "PATCH", a->pos[0], "", body, "updated");
}

int kc_tenant_suspend(struct kc_ctx *c, const struct kc_args *a)
{
    return on_tenant(c, "POST", a->pos[0], "/suspend", NULL, "suspended");
}

int kc_tenant_resume(struct kc_ctx *c, const struct kc_args *a)
{
    return on_tenant(c, "POST", a->pos[0], "/resume", NULL, "resumed");
}
