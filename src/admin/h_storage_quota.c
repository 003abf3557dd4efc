/* h_storage_quota.c — /admin/v1/projects/{project}/storage-quota: the most bytes and objects a
 * project's buckets may hold (a field left out or null: no limit), with what they hold now. S3
 * writes past it are refused with QuotaExceeded before their body is read (s3_quota.c). The
 * dispatcher authorises at the project. */
#include <string.h>

#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "core/util.h"
#include "iam/iam.h"
#include "storage/s3_server.h"
#include "storage/store.h"

#define DB(r) (&(r)->worker->db)

static json_t *limit_json(int64_t v) { return v < 0 ? json_null() : json_integer(v); }

static enum ksm_err reply_quota(struct ksm_req *r, const char *tenant, int status)
{
    struct ksm_store_quota q;
    int64_t bytes = 0, objects = 0;
    enum ksm_err e = ksm_store_quota_get(DB(r), r->params[0], &q);
    if (e == KSM_E_OK || e == KSM_E_NOT_FOUND)
        e = ksm_store_project_usage(DB(r), r->params[0], &bytes, &objects);
    if (e != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the quota");
    return ksm_reply_json(r, status,
                          json_pack("{s:s, s:s, s:o, s:o, s:I, s:I}", "project", r->params[0],
                                    "tenant", tenant, "max_bytes", limit_json(q.max_bytes),
                                    "max_objects", limit_json(q.max_objects), "used_bytes",
                                    (json_int_t)bytes, "used_objects", (json_int_t)objects));
}

static enum ksm_err project_tenant(struct ksm_req *r, char *tenant)
{
    char project[KSM_ID_LEN];
    enum ksm_err e = ksm_iam_owner(DB(r), r->params[0], tenant, project);
    if (e != KSM_E_OK || strcmp(project, r->params[0]))
        return ksm_fail(r, KSM_E_NOT_FOUND, "no such resource");
    ksm_req_audit(r, tenant, r->params[0], r->params[0]);
    return KSM_E_OK;
}

enum ksm_err ksm_h_storage_quota_put(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    struct ksm_store_quota q = {-1, -1};
    bool hb = false, ho = false;
    const struct ksm_jfield spec[] = {
        {"max_bytes", KSM_J_INT, false, &q.max_bytes, &hb},
        {"max_objects", KSM_J_INT, false, &q.max_objects, &ho},
    };
    enum ksm_err e = project_tenant(r, tenant);
    if (e == KSM_E_OK)
        e = ksm_req_json(r, spec, KSM_NELEM(spec));
    if (e != KSM_E_OK)
        return e;
    if (!hb && !ho)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT,
                        "give max_bytes, max_objects or both (DELETE removes the quota)");
    if ((hb && q.max_bytes < 0) || (ho && q.max_objects < 0))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "a limit is a whole number of 0 or more");
    if (ksm_store_quota_put(DB(r), r->params[0], &q) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot store the quota");
    ksm_s3_quota_changed(r->params[0]);
    return reply_quota(r, tenant, 200);
}

enum ksm_err ksm_h_storage_quota_get(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    enum ksm_err e = project_tenant(r, tenant);
    return e == KSM_E_OK ? reply_quota(r, tenant, 200) : e;
}

enum ksm_err ksm_h_storage_quota_delete(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    enum ksm_err e = project_tenant(r, tenant);
    if (e != KSM_E_OK)
        return e;
    if (ksm_store_quota_put(DB(r), r->params[0], NULL) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot remove the quota");
    ksm_s3_quota_changed(r->params[0]);
    return reply_quota(r, tenant, 200);
}
