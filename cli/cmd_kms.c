/* cmd_kms.c — `kasumi kms key ...`: a tenant's encryption keys through the admin API. A key is
 * named by its owner: the tenant (the tenant key, which wraps every bucket key of the tenant) or
 * one of its buckets (--bucket NAME). The API never returns key material; the offline master key
 * commands (backup, restore, rotate-master) are in cmd_kms_master.c. */
#include <stdlib.h>

#include "cli.h"

static const struct kc_col cols[] = {
    {"KIND", "kind"},
    {"BUCKET", "bucket|bucket_id"},
    {"VERSION", "version"},
    {"STATE", "state"},
    {"CREATED_AT", "created_at"},
    {"ROTATED_AT", "rotated_at"},
    {"CHANGED_AT", "state_changed_at"},
    KC_COLS_END,
};

/* The key's name in the path: the tenant's id, or "bucket:<name>". malloc'd. */
static char *key_name(const struct kc_args *a)
{
    const char *bucket = kc_flag(a, "bucket");
    struct ksm_buf b = KSM_BUF_INIT;
    if (bucket)
        ksm_buf_printf(&b, "bucket:%s", bucket);
    else
        ksm_buf_printf(&b, "%s", kc_flag(a, "tenant"));
    return ksm_buf_steal(&b);
}

static int on_key(struct kc_ctx *c, const struct kc_args *a, const char *op, json_t *body,
                  const char *done)
{
    char *name = key_name(a);
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/kms/keys/{}/", kc_flag(a, "tenant"), name);
    struct ksm_buf full = KSM_BUF_INIT;
    ksm_buf_printf(&full, "%s%s", path, op);
    int rc = kc_call(c, "POST", full.data, NULL, body, cols, done);
    ksm_buf_free(&full);
    free(path);
    free(name);
    return rc;
}

int kc_kms_key_list(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/kms/keys", kc_flag(a, "tenant"));
    int rc = kc_call(c, "GET", path, NULL, NULL, cols, NULL);
    free(path);
    return rc;
}

int kc_kms_key_rotate(struct kc_ctx *c, const struct kc_args *a)
{
    return on_key(c, a, "rotate", NULL, NULL);
}

int kc_kms_key_disable(struct kc_ctx *c, const struct kc_args *a)
{
    return on_key(c, a, "disable", NULL, NULL);
}

int kc_kms_key_enable(struct kc_ctx *c, const struct kc_args *a)
{
    return on_key(c, a, "enable", NULL, NULL);
}

/* --confirm repeats the bucket's name (or the tenant's id for the tenant key): the daemon checks
 * it, so a script cannot erase a tenant's data by leaving out --bucket. */
int kc_kms_key_destroy(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "confirm", kc_flag(a, "confirm"));
    return on_key(c, a, "destroy", body, NULL);
}
