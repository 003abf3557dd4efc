/* cmd_user.c — `kasumi user ...`: a tenant's people. Disabling keeps the user (and the audit
 * trail that names it) but refuses its sign-ins and keys; deleting also revokes its keys. */
#include <string.h>
#include <stdlib.h>

#include "cli.h"

static const struct kc_col cols[] = {
    {"ID", "id"},       {"TENANT", "tenant|tenant_id"}, {"NAME", "name"}, {"EMAIL", "email"},
    {"DISABLED", "disabled"}, KC_COLS_END,
};

/* `--tenant platform` names the platform level (operators); it is spelt out rather than implied by
 * a missing --tenant, so that forgetting the flag cannot create an operator by accident. */
static char *users_path(struct kc_ctx *c, const struct kc_args *a)
{
    const char *t = kc_flag(a, "tenant");
    if (!strcmp(t, "platform"))
        return kc_url_path(c, "/admin/v1/platform/users", NULL);
    return kc_url_path(c, "/admin/v1/tenants/{}/users", t);
}

int kc_user_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "name", kc_flag(a, "name"));
    kc_json_set(body, "email", kc_flag(a, "email"));
    char *path = users_path(c, a);
    int rc = kc_call(c, "POST", path, NULL, body, cols, NULL);
    free(path);
    return rc;
}

int kc_user_list(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = users_path(c, a);
    int rc = kc_call(c, "GET", path, NULL, NULL, cols, NULL);
    free(path);
    return rc;
}

/* One request on /admin/v1/users/{id}. */
static int on_user(struct kc_ctx *c, const char *method, const char *id, json_t *body,
                   const char *done)
{
    char *path = kc_url_path(c, "/admin/v1/users/{}", id);
    int rc = kc_call(c, method, path, NULL, body, cols, done);
    free(path);
    return rc;
}

int kc_user_get(struct kc_ctx *c, const struct kc_args *a)
{
    return on_user(c, "GET", a->pos[0], NULL, NULL);
}

int kc_user_update(struct kc_ctx *c, const struct kc_args *a)
{
    if (!kc_flag(a, "name") && !kc_flag(a, "email"))
        return kc_usage_err(c->cmd, "nothing to update: give --name or --email");
    json_t *body = json_object();
    kc_json_set(body, "name", kc_flag(a, "name"));
    kc_json_set(body, "email", kc_flag(a, "email"));
    return on_user(c, "PATCH", a->pos[0], body, "updated");
}

int kc_user_disable(struct kc_ctx *c, const struct kc_args *a)
{
    return on_user(c, "PATCH", a->pos[0], json_pack("{s:b}", "disabled", 1), "disabled");
}

int kc_user_enable(struct kc_ctx *c, const struct kc_args *a)
{
    return on_user(c, "PATCH", a->pos[0], json_pack("{s:b}", "disabled", 0), "enabled");
}

int kc_user_delete(struct kc_ctx *c, const struct kc_args *a)
{
    return on_user(c, "DELETE", a->pos[0], NULL, "deleted");
}
