/* h_storage_buckets.c — /admin/v1/projects/{project}/buckets: a project's buckets with what each
 * holds now, for the console's storage page. Read-only: buckets are made and filled through S3.
 * The dispatcher authorises s3.bucket.list at the project, the same permission as S3's
 * ListBuckets, so the console shows no more than the caller's S3 keys could. */
#include <stdlib.h>

#include "admin/handlers.h"
#include "core/util.h"
#include "iam/iam.h"
#include "storage/store.h"

enum ksm_err ksm_h_bucket_list(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN], project[KSM_ID_LEN];
    struct ksm_bucket *bs = NULL;
    size_t n = 0;
    enum ksm_err e = ksm_iam_owner(&r->worker->db, r->params[0], tenant, project);
    if (e != KSM_E_OK)
        return ksm_fail(r, KSM_E_NOT_FOUND, "no such resource");
    if ((e = ksm_store_bucket_list(&r->worker->db, tenant, project, &bs, &n)) != KSM_E_OK)
        goto fail;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = 0, objects = 0;
        char created[32];
        if ((e = ksm_store_bucket_usage(&r->worker->db, &bs[i], &bytes, &objects)) != KSM_E_OK) {
            json_decref(items);
            goto fail;
        }
        ksm_rfc3339_ms(bs[i].created_ms, created);
        json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "id", bs[i].id, "name",
                                               bs[i].name, "region", bs[i].region, "created_at", created,
                                               "bytes", (json_int_t)bytes, "objects", (json_int_t)objects));
    }
    free(bs);
    return ksm_reply_json(r, 200, json_pack("{s:o}", "items", items));
fail:
    free(bs);
    return ksm_fail(r, KSM_E_INTERNAL, "cannot list the buckets");
}
