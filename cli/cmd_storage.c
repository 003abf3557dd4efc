/* cmd_storage.c — `kasumi storage-quota set|get|delete`: the most bytes and objects a project's
 * buckets may hold (docs/storage.md). Sizes may be given as 500GiB, 2TiB, ... */
#include <stdlib.h>

#include "cli.h"

static const struct kc_col cols[] = {
    {"PROJECT", "project"},         {"MAX_BYTES", "max_bytes"}, {"USED_BYTES", "used_bytes"},
    {"MAX_OBJECTS", "max_objects"}, {"USED_OBJECTS", "used_objects"}, KC_COLS_END,
};

static int on_quota(struct kc_ctx *c, const char *method, const char *project, json_t *body)
{
    char *path = kc_url_path(c, "/admin/v1/projects/{}/storage-quota", project);
    int rc = kc_call(c, method, path, NULL, body, cols, NULL);
    free(path);
    return rc;
}

int kc_storage_quota_set(struct kc_ctx *c, const struct kc_args *a)
{
    const char *mb = kc_flag(a, "max-bytes"), *mo = kc_flag(a, "max-objects");
    if (!mb && !mo)
        return kc_usage_err(c->cmd, "give --max-bytes, --max-objects or both");
    json_t *body = json_object();
    if (kc_json_set_int(c, body, "max_bytes", "max-bytes", mb) ||
        kc_json_set_int(c, body, "max_objects", "max-objects", mo)) {
        json_decref(body);
        return KC_EXIT_USAGE;
    }
    return on_quota(c, "PUT", kc_flag(a, "project"), body);
}

int kc_storage_quota_get(struct kc_ctx *c, const struct kc_args *a)
{
    return on_quota(c, "GET", kc_flag(a, "project"), NULL);
}

int kc_storage_quota_delete(struct kc_ctx *c, const struct kc_args *a)
{
    return on_quota(c, "DELETE", kc_flag(a, "project"), NULL);
}
