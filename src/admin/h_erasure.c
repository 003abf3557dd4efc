/* h_erasure.c — /admin/v1/tenants/{tenant}/erasures: erasure of a bucket, a project or the whole
 * tenant in two steps (docs/lifecycle.md "Erasure"). The request answers with a confirmation
 * token (shown once); the confirmation — by a second administrator when the tenant has more than
 * one — hands the job to the erasure runner. The job's state, and its signed report once done, are
 * read by id, or by the token alone (a PUBLIC route: after a tenant erasure the tenant's own
 * principals are refused, and the token is what its administrators still hold). The token is never
 * logged or audited. */
#include <string.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"
#include "lifecycle/erase.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err env_ok(struct ksm_req *r)
{
    struct ksm_app *app = r->worker->app;
    if (!app->store)
        return ksm_fail(r, KSM_E_NOT_SUPPORTED_ENV, "this environment stores no data");
    return KSM_E_OK;
}

enum ksm_err ksm_h_erasure_request(struct ksm_req *r)
{
    const char *scope = NULL, *project = NULL, *bucket = NULL, *why = NULL;
    int64_t ttl = KSM_ERASE_TTL_DEFAULT_S;
    const struct ksm_jfield spec[] = {
        {"scope", KSM_J_STRING, true, &scope, NULL},
        {"project", KSM_J_STRING, false, &project, NULL},
        {"bucket", KSM_J_STRING, false, &bucket, NULL},
        {"expires_in_s", KSM_J_INT, false, &ttl, NULL},
    };
    enum ksm_err e = env_ok(r);
    if (e == KSM_E_OK)
        e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    struct ksm_erase_request q = {.tenant = r->params[0], .scope = scope, .project = project,
                                  .bucket = bucket, .requester = r->principal->user_id,
                                  .requester_name = r->principal->name, .ttl_s = ttl};
    char token[KSM_ERASE_TOKEN_MAX];
    json_t *job = NULL;
    e = ksm_erase_request(DB(r), &q, token, &job, &why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    ksm_req_audit(r, r->params[0], project, json_string_value(json_object_get(job, "id")));
    json_object_set_new(job, "token", json_string(token));
    explicit_bzero(token, sizeof token);
    return ksm_reply_json(r, 201, job);
}

enum ksm_err ksm_h_erasure_confirm(struct ksm_req *r)
{
    const char *token = NULL, *why = NULL;
    const struct ksm_jfield spec[] = {{"token", KSM_J_STRING, true, &token, NULL}};
    enum ksm_err e = env_ok(r);
    if (e == KSM_E_OK)
        e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    ksm_req_audit(r, r->params[0], NULL, r->params[1]);
    json_t *job = NULL;
    e = ksm_erase_confirm(DB(r), r->params[0], r->params[1], token, r->principal->user_id,
                          r->principal->name, &job, &why);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, why);
    struct ksm_app *app = r->worker->app;
    ksm_erase_wake(app->erase);
    return ksm_reply_json(r, 202, job);
}

enum ksm_err ksm_h_erasure_get(struct ksm_req *r)
{
    json_t *job = NULL;
    ksm_req_audit(r, r->params[0], NULL, r->params[1]);
    enum ksm_err e = ksm_erase_get(DB(r), r->params[0], r->params[1], &job);
    if (e != KSM_E_OK)
        return ksm_fail_why(r, e, NULL);
    return ksm_reply_json(r, 200, job);
}

/* POST {token}: the same as GET by id, for whoever holds the erasure's token. */
enum ksm_err ksm_h_erasure_by_token(struct ksm_req *r)
{
    const char *token = NULL;
    char tenant[48], id[48];
    const struct ksm_jfield spec[] = {{"token", KSM_J_STRING, true, &token, NULL}};
    enum ksm_err e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    json_t *job = NULL;
    if (!ksm_erase_token_parse(token, tenant, id) ||
        ksm_erase_get_by_token(DB(r), token, &job) != KSM_E_OK)
        return ksm_fail_why(r, KSM_E_NOT_FOUND, NULL);
    ksm_req_audit(r, tenant, NULL, id);
    return ksm_reply_json(r, 200, job);
}
