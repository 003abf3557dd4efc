/* h_keys.c — /admin/v1/keys. Any user manages its own keys (the implicit key.self permission, in
 * its own tenant, so a key narrowed to a project only reaches keys of that project); key.create,
 * key.read, key.list and key.revoke at the key's tenant or project cover other users' keys. That
 * is why get and revoke are AUTH-scoped routes that decide here, through ksm_authorize, which
 * permission applies. Responses never carry a secret except the one that creates it, and never its
 * hash. */
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "kms/kms.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool own(const struct ksm_req *r, const char *user)
{
    return user && !strcmp(r->principal->user_id, user);
}

static enum ksm_err authorize(struct ksm_req *r, const char *perm, const char *tenant,
                              const char *project)
{
    return ksm_authorize(r, perm, tenant, project);   /* "" = none; on failure it has replied */
}

/* POST {user, kind:"api", project?, expires_at?, name?} → 201 with "secret", shown this once. */
/* SigV4 needs the secret itself: sealed under the master key, bound to its access key id. */
static enum ksm_err seal_s3_secret(void *arg, const char *akid, const char *secret, uint8_t **blob,
                                   size_t *len)
{
    char ctx[96];
    snprintf(ctx, sizeof ctx, "kasumi/v1/s3-secret/%s", akid);
    return ksm_kms_seal(arg, ctx, secret, strlen(secret), blob, len);
}

enum ksm_err ksm_h_key_create(struct ksm_req *r)
{
    const char *user = NULL, *kind = NULL, *project = NULL, *expires = NULL, *name = NULL;
    const char *why = NULL;
    const struct ksm_jfield spec[] = {
        {"user", KSM_J_STRING, true, &user, NULL},
        {"kind", KSM_J_STRING, true, &kind, NULL},
        {"project", KSM_J_STRING, false, &project, NULL},
        {"expires_at", KSM_J_STRING, false, &expires, NULL},
        {"name", KSM_J_STRING, false, &name, NULL},
    };
    char utenant[KSM_ID_LEN], uproject[KSM_ID_LEN], ptenant[KSM_ID_LEN], pproject[KSM_ID_LEN];
    int64_t expires_ms = 0;
    json_t *k = NULL;
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (strcmp(kind, "api") && strcmp(kind, "s3"))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "kind must be \"api\" or \"s3\"");
    struct ksm_app *app = r->worker->app;
    if (!strcmp(kind, "s3") && !app->kms)
        return ksm_fail(r, KSM_E_NOT_SUPPORTED_ENV, "s3 keys: this environment stores no data");
    if (!strcmp(kind, "s3") && !project)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "an s3 key needs a project");
    if (expires && ksm_parse_rfc3339(expires, &expires_ms) < 0)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "expires_at must be an RFC 3339 time");
    if (strncmp(user, "us_", 3) || ksm_iam_owner(DB(r), user, utenant, uproject) != KSM_E_OK)
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    if (project && (strncmp(project, "pj_", 3) ||
                    ksm_iam_owner(DB(r), project, ptenant, pproject) != KSM_E_OK ||
                    strcmp(ptenant, utenant)))
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    ksm_req_audit(r, utenant, project, NULL);
    /* for another user, a tenant-wide grant: a project_admin cannot mint keys that act as others */
    e = own(r, user) ? authorize(r, "key.self", utenant, project)
                     : authorize(r, "key.create", utenant, NULL);
    if (e != KSM_E_OK)
        return e;
    if (!strcmp(kind, "s3"))
        e = ksm_iam_s3_key_create(DB(r), user, project, name, expires_ms, r->principal->user_id,
                                  seal_s3_secret, app->kms, &k, &why);
    else
        e = ksm_iam_key_create(DB(r), user, kind, project, name, expires_ms, r->principal->user_id,
                               &k, &why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    ksm_req_audit(r, NULL, NULL, jstr(k, "id"));
    return ksm_reply_json(r, 201, k);
}

/* Keys the caller may see: its own (key.self) and those where it holds key.list. */
enum ksm_err ksm_h_key_list(struct ksm_req *r)
{
    const struct ksm_principal *p = r->principal;
    const char *after, *next = NULL, *tenant = ksm_req_query(r, "tenant");
    int limit;
    enum ksm_err e = ksm_iam_principal_active(DB(r), p);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    if ((e = ksm_req_page(r, &limit, &after)) != KSM_E_OK)
        return e;
    bool platform = ksm_iam_check(DB(r), p, "key.list", NULL, NULL) == KSM_E_OK;
    json_t *all = json_array(), *items = json_array();
    if (platform || !tenant || !strcmp(tenant, p->tenant_id))
        e = ksm_iam_key_list(DB(r), ksm_req_query(r, "user"), platform ? tenant : p->tenant_id,
                             after, limit, all);
    if (e != KSM_E_OK) {
        json_decref(all);
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    size_t i;
    json_t *k;
    json_array_foreach(all, i, k) {
        const char *perm = own(r, jstr(k, "user")) ? "key.self" : "key.list";
        if (platform || ksm_iam_check(DB(r), p, perm, jstr(k, "tenant"), jstr(k, "project")) ==
                            KSM_E_OK)
            json_array_append(items, k);
    }
    if ((int)json_array_size(all) == limit)
        next = ksm_arena_strdup(r->arena, jstr(json_array_get(all, limit - 1), "id"));
    json_decref(all);
    return ksm_reply_page(r, items, next);
}

/* Looks the key up and authorises perm on it (key.self for the caller's own keys). */
static enum ksm_err key_access(struct ksm_req *r, const char *perm, json_t **out)
{
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    json_t *k = NULL;
    if (strncmp(r->params[0], "ky_", 3) ||
        ksm_iam_owner(DB(r), r->params[0], tenant, project) != KSM_E_OK ||
        ksm_iam_key_get(DB(r), r->params[0], &k) != KSM_E_OK)
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    ksm_req_audit(r, tenant, project, r->params[0]);
    enum ksm_err e = authorize(r, own(r, jstr(k, "user")) ? "key.self" : perm, tenant, project);
    if (e != KSM_E_OK) {
        json_decref(k);
        return e;
    }
    *out = k;
    return KSM_E_OK;
}

enum ksm_err ksm_h_key_get(struct ksm_req *r)
{
    json_t *k = NULL;
    enum ksm_err e = key_access(r, "key.read", &k);
    return e == KSM_E_OK ? ksm_reply_json(r, 200, k) : e;
}

/* DELETE: revokes (idempotent) and answers with the key, now "revoked". */
enum ksm_err ksm_h_key_revoke(struct ksm_req *r)
{
    json_t *k = NULL;
    enum ksm_err e = key_access(r, "key.revoke", &k);
    if (e != KSM_E_OK)
        return e;
    json_decref(k);
    if ((e = ksm_iam_key_revoke(DB(r), r->params[0], &k)) != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    return ksm_reply_json(r, 200, k);
}
