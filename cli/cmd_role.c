/* cmd_role.c — `kasumi role ...` and `kasumi roles`: role bindings (a role granted to a user or
 * group at a scope: "platform", "tenant/ID" or "project/ID") and the roles themselves. */
#include <stdlib.h>

#include "cli.h"

static const struct kc_col binding_cols[] = {
    {"ID", "id"}, {"PRINCIPAL", "principal"}, {"ROLE", "role"}, {"SCOPE", "scope"}, KC_COLS_END,
};

static const struct kc_col role_cols[] = {
    {"ROLE", "name|id|role"}, {"SCOPES", "scopes"}, {"DESCRIPTION", "description"},
    {"PERMISSIONS", "permissions"}, KC_COLS_END,
};

int kc_role_bind(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "principal", kc_flag(a, "principal"));
    kc_json_set(body, "role", kc_flag(a, "role"));
    kc_json_set(body, "scope", kc_flag(a, "scope"));
    return kc_call(c, "POST", "/admin/v1/role-bindings", NULL, body, binding_cols, NULL);
}

int kc_role_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "scope", kc_flag(a, "scope"));
    kc_query_add(&q, "principal", kc_flag(a, "principal"));
    return kc_call(c, "GET", "/admin/v1/role-bindings", &q, NULL, binding_cols, NULL);
}

int kc_role_get(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/role-bindings/{}", a->pos[0]);
    int rc = kc_call(c, "GET", path, NULL, NULL, binding_cols, NULL);
    free(path);
    return rc;
}

int kc_role_unbind(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/role-bindings/{}", a->pos[0]);
    int rc = kc_call(c, "DELETE", path, NULL, NULL, binding_cols, "unbound");
    free(path);
    return rc;
}

int kc_roles(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call(c, "GET", "/admin/v1/roles", NULL, NULL, role_cols, NULL);
}
