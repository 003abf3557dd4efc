/* cmd_group.c — `kasumi group ...`: named sets of a tenant's users, so a role can be bound once
 * to a team (課, 係) instead of to each person. */
#include <stdlib.h>

#include "cli.h"

static const struct kc_col cols[] = {
    {"ID", "id"}, {"TENANT", "tenant|tenant_id"}, {"NAME", "name"}, {"MEMBERS", "members"},
    KC_COLS_END,
};

int kc_group_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "name", kc_flag(a, "name"));
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/groups", kc_flag(a, "tenant"));
    int rc = kc_call(c, "POST", path, NULL, body, cols, NULL);
    free(path);
    return rc;
}

int kc_group_list(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/groups", kc_flag(a, "tenant"));
    int rc = kc_call(c, "GET", path, NULL, NULL, cols, NULL);
    free(path);
    return rc;
}

int kc_group_get(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/groups/{}", a->pos[0]);
    int rc = kc_call(c, "GET", path, NULL, NULL, cols, NULL);
    free(path);
    return rc;
}

int kc_group_delete(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/groups/{}", a->pos[0]);
    int rc = kc_call(c, "DELETE", path, NULL, NULL, cols, "deleted");
    free(path);
    return rc;
}

/* PUT or DELETE /admin/v1/groups/{group}/members/{user}. */
static int on_member(struct kc_ctx *c, const char *method, const struct kc_args *a,
                     const char *done)
{
    char *path = kc_url_path(c, "/admin/v1/groups/{}/members/{}", a->pos[0], a->pos[1]);
    int rc = kc_call(c, method, path, NULL, NULL, cols, done);
    free(path);
    return rc;
}

int kc_group_add_member(struct kc_ctx *c, const struct kc_args *a)
{
    return on_member(c, "PUT", a, "added");
}

int kc_group_remove_member(struct kc_ctx *c, const struct kc_args *a)
{
    return on_member(c, "DELETE", a, "removed");
}
