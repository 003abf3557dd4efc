/* cmd_key.c — `kasumi key ...`: API keys. The daemon stores only a hash of a key's secret, so the
 * secret exists in exactly one answer, the one to `key create`; the table output says so. */
#include <stdlib.h>

#include "cli.h"
#include "core/util.h"

static const struct kc_col cols[] = {
    {"ID", "id"},     {"USER", "user|user_id"},     {"KIND", "kind"},
    {"PROJECT", "project|project_id"},  {"NAME", "name"}, {"EXPIRES_AT", "expires_at"},
    {"STATUS", "status|revoked"},       {"ACCESS_KEY_ID", "access_key_id"}, KC_COLS_END,
};

int kc_key_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object(), *out;
    kc_json_set(body, "user", kc_flag(a, "user"));
    kc_json_set(body, "kind", kc_flag(a, "kind") ? kc_flag(a, "kind") : "api");
    kc_json_set(body, "project", kc_flag(a, "project"));
    kc_json_set(body, "expires_at", kc_flag(a, "expires-at"));
    kc_json_set(body, "name", kc_flag(a, "name"));
    int rc = kc_api(c, "POST", "/admin/v1/keys", NULL, body, &out);
    if (rc)
        return rc;
    rc = kc_print(c, out, cols);
    const char *secret = json_string_value(json_object_get(out, "secret"));
    const char *akid = json_string_value(json_object_get(out, "access_key_id"));
    if (!secret)   /* an s3 key: the SigV4 pair */
        secret = json_string_value(json_object_get(out, "secret_access_key"));
    if (c->output == KC_OUT_TABLE && secret) {
        char *shown = ksm_xstrdup(secret);
        kc_scrub(shown);
        if (akid)
            printf("\nACCESS_KEY_ID      %s\nSECRET_ACCESS_KEY  %s\n", akid, shown);
        else
            printf("\nSECRET  %s\n", shown);
        free(shown);
        fputs("This secret is shown only once and cannot be retrieved again: store it now "
              "(e.g. in a file with mode 0600).\n",
              stdout);
    }
    json_decref(out);
    return rc;
}

int kc_key_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "user", kc_flag(a, "user"));
    kc_query_add(&q, "tenant", kc_flag(a, "tenant"));
    return kc_call(c, "GET", "/admin/v1/keys", &q, NULL, cols, NULL);
}

int kc_key_get(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/keys/{}", a->pos[0]);
    int rc = kc_call(c, "GET", path, NULL, NULL, cols, NULL);
    free(path);
    return rc;
}

int kc_key_revoke(struct kc_ctx *c, const struct kc_args *a)
{
    char *path = kc_url_path(c, "/admin/v1/keys/{}", a->pos[0]);
    int rc = kc_call(c, "DELETE", path, NULL, NULL, cols, "revoked");
    free(path);
    return rc;
}
