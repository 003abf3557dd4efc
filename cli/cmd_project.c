/* cmd_project.c — `kasumi project ...`: a tenant's projects (情報システム), each in one
 * environment (prod, staging, dev). */
#include <stdlib.h>

#include "cli.h"

static const struct kc_col cols[] = {
    {"ID", "id"},   {"TENANT", "tenant|tenant_id"}, {"NAME", "name"},
    {"ENVIRONMENT", "environment"}, {"DESCRIPTION", "description"}, KC_COLS_END,
};

int kc_project_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "name", kc_flag(a, "name"));
    kc_json_set(body, "environment", kc_flag(a, "environment"));
    kc_json_set(body, "description", kc_flag(a, "description"));
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/projects", kc_flag(a, "tenant"));
    int rc = kc_call(c, "POST", path, NULL, body, cols, NULL);
    free(path);
    return rc;
}

int kc_project_list(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/projects", kc_flag(a, "tenant"));
    int rc = kc_call(c, "GET", path, NULL, NULL, cols, NULL);
    free(path);
    return rc;
}

/* One request on /admin/v1/projects/{id}. */
static int on_project(struct kc_ctx *c, const char *method, const char *id, json_t *body,
                      const char *done)
{
    char *path = kc_url_path(c, "/admin/v1/projects/{}", id);
    int rc = kc_call(c, method, path, NULL, body, cols, done);
    free(path);
    return rc;
}

int kc_project_get(struct kc_ctx *c, const struct kc_args *a)
{
    return on_project(c, "GET", a->pos[0], NULL, NULL);
}

int kc_project_update(struct kc_ctx *c, const struct kc_args *a)
{
    const char *name = kc_flag(a, "name"), *env = kc_flag(a, "environment"),
               *desc = kc_flag(a, "description");
    if (!name && !env && !desc)
        return kc_usage_err(c->cmd,
                            "nothing to update: give --name, --environment or --description");
    json_t *body = json_object();
    kc_json_set(body, "name", name);
    kc_json_set(body, "environment", env);
    kc_json_set(body, "description", desc);
    return on_project(c, "PATCH", a->pos[0], body, "updated");
}

int kc_project_delete(struct kc_ctx *c, const struct kc_args *a)
{
    return on_project(c, "DELETE", a->pos[0], NULL, "deleted");
}
