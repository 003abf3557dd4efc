/* cmd_identities.c — `kasumi tenant export-identities | import-identities`: the tenant identities
 * the environments share (SPEC.md O2: only the contract, keyed by 法人番号), carried between
 * govcloud and overseas-ai in the registry JSON format (docs/overseas.md):
 *   {"format": "kasumi-registry/1", "exported": RFC3339,
 *    "tenants": [{"corporate_number", "name", "kind", "status", ...}]}
 * The lifecycle export writes the full form (projects, users, ...) in the same envelope; these
 * commands write and read only the identity fields and ignore the rest. Ids are never carried:
 * each environment gives the tenant its own. Import is idempotent: a 法人番号 already present is
 * left as it is. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"

#define REGISTRY_FORMAT "kasumi-registry/1"

/* Every tenant the caller may see, following next_cursor. */
static int all_tenants(struct kc_ctx *c, json_t *items)
{
    char *cursor = NULL;
    int rc = 0;
    do {
        struct kc_query q = {0};
        kc_query_add(&q, "limit", "1000");
        kc_query_add(&q, "cursor", cursor);
        json_t *page = NULL;
        rc = kc_api(c, "GET", "/admin/v1/tenants", &q, NULL, &page);
        free(cursor);
        cursor = NULL;
        if (rc)
            break;
        json_array_extend(items, json_object_get(page, "items"));
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        cursor = next && *next ? strdup(next) : NULL;
        json_decref(page);
    } while (cursor);
    return rc;
}

int kc_tenant_export_identities(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *items = json_array(), *out = json_array();
    int rc = all_tenants(c, items);
    if (rc)
        goto done;
    size_t i;
    json_t *t;
    json_array_foreach(items, i, t) {
        static const char *const fields[] = {"corporate_number", "name", "kind", "status"};
        json_t *o = json_object();
        for (size_t k = 0; k < KSM_NELEM(fields); k++)
            json_object_set(o, fields[k], json_object_get(t, fields[k]));
        json_array_append_new(out, o);
    }
    char now[32];
    ksm_rfc3339_ms(ksm_now_ms(), now);
    json_t *doc = json_pack("{s:s,s:s,s:O}", "format", REGISTRY_FORMAT, "exported", now, "tenants", out);
    struct ksm_buf text = KSM_BUF_INIT;
    kc_json_print(&text, doc);
    json_decref(doc);
    const char *path = kc_flag(a, "out");
    if (kc_write_out(path, text.data, text.len, 0600))
        rc = KC_EXIT_USAGE;
    else if (path && strcmp(path, "-"))
        fprintf(stderr, "exported %zu tenant identities to %s\n", json_array_size(out), path);
    ksm_buf_free(&text);
done:
    json_decref(items);
    json_decref(out);
    return rc;
}

static json_t *read_registry(const char *path)
{
    json_error_t jerr;
    json_t *doc = !strcmp(path, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                     : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        kc_err("%s:%d: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    if (!fmt || strcmp(fmt, REGISTRY_FORMAT) || !json_is_array(json_object_get(doc, "tenants"))) {
        kc_err("%s: not a registry (format \"%s\" with a tenants array)", path, REGISTRY_FORMAT);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static bool present(json_t *have, const char *cn)
{
    size_t i;
    json_t *t;
    json_array_foreach(have, i, t) {
        const char *x = json_string_value(json_object_get(t, "corporate_number"));
        if (x && !strcmp(x, cn))
            return true;
    }
    return false;
}

/* One identity: created (then suspended if the registry says so), or left as it is. */
static int import_one(struct kc_ctx *c, json_t *have, json_t *t, int *created, int *kept)
{
    const char *cn = json_string_value(json_object_get(t, "corporate_number"));
    const char *status = json_string_value(json_object_get(t, "status"));
    if (!cn) {
        kc_err("a tenant in the registry has no corporate_number");
        return KC_EXIT_USAGE;
    }
    if (present(have, cn)) {
        ++*kept;
        return 0;
    }
    json_t *body = json_object(), *out = NULL;
    json_object_set(body, "corporate_number", json_object_get(t, "corporate_number"));
    json_object_set(body, "name", json_object_get(t, "name"));
    json_object_set(body, "kind", json_object_get(t, "kind"));
    int rc = kc_api(c, "POST", "/admin/v1/tenants", NULL, body, &out);
    const char *id = json_string_value(json_object_get(out, "id"));
    if (!rc && status && !strcmp(status, "suspended") && id) {
        char *path = kc_url_path(c, "/admin/v1/tenants/{}/suspend", id);
        json_t *ignored = NULL;
        rc = kc_api(c, "POST", path, NULL, NULL, &ignored);
        json_decref(ignored);
        free(path);
    }
    json_decref(out);
    if (!rc)
        ++*created;
    return rc;
}

int kc_tenant_import_identities(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *doc = read_registry(a->pos[0]);
    if (!doc)
        return KC_EXIT_USAGE;
    json_t *have = json_array();
    int rc = all_tenants(c, have), created = 0, kept = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tenants"), i, t) {
        if (rc)
            break;
        rc = import_one(c, have, t, &created, &kept);
    }
    if (!rc) {
        if (c->output == KC_OUT_JSON)
            printf("{\"created\": %d, \"unchanged\": %d}\n", created, kept);
        else
            printf("%d tenant identities created, %d already present\n", created, kept);
    }
    json_decref(have);
    json_decref(doc);
    return rc;
}
