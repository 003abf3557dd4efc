/* s3_bucket.c — bucket operations: list, create (in one of the environment's Japanese regions
 * only), head, location, delete (empty only), tagging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "storage/s3_int.h"

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }

void ksm_s3_list_buckets(struct s3_req *s)
{
    /* a key acts for its project: it lists that project's buckets */
    if (ksm_iam_check(db_of(s), &s->principal, s->op->permission, s->principal.tenant_id,
                      s->principal.project_id) != KSM_E_OK) {
        ksm_s3_error(s, KSM_E_S3_ACCESS_DENIED, NULL);
        return;
    }
    struct ksm_bucket *b = NULL;
    size_t n = 0;
    if (ksm_store_bucket_list(db_of(s), s->principal.tenant_id,
                              s->principal.project_id[0] ? s->principal.project_id : NULL, &b, &n) !=
        KSM_E_OK) {
        ksm_s3_error(s, KSM_E_INTERNAL, NULL);
        return;
    }
    struct ksm_s3_bucket_entry *e = ksm_arena_calloc(s->r->arena, sizeof *e * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        e[i] = (struct ksm_s3_bucket_entry){b[i].name, b[i].created_ms, b[i].region};
    struct ksm_s3_list_buckets l = {.owner = {s->principal.tenant_id, s->principal.tenant_id},
                                    .buckets = e, .nbuckets = n};
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_list_buckets(&s->r->resp, &l);
    free(b);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_create_bucket(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    const char *region = ksm_store_default_region(ksm_s3_store);
    if (!ksm_store_bucket_name_ok(s->bucket_name)) {
        ksm_s3_error(s, KSM_E_INVALID_BUCKET_NAME, NULL);
        return;
    }
    if (!s->principal.project_id[0]) {
        ksm_s3_error(s, KSM_E_S3_ACCESS_DENIED, "the key is not bound to a project");
        return;
    }
    if (ksm_iam_check(db_of(s), &s->principal, s->op->permission, s->principal.tenant_id,
                      s->principal.project_id) != KSM_E_OK) {
        ksm_s3_error(s, KSM_E_S3_ACCESS_DENIED, NULL);
        return;
    }
    if (r->body.len) {
        enum ksm_err e = ksm_s3_xml_parse(KSM_S3X_CREATE_BUCKET, r->body.data, r->body.len, &body, detail);
        if (e != KSM_E_OK) {
            ksm_s3_error(s, e, detail);
            return;
        }
        if (body->u.create_bucket.location)
            region = ksm_arena_strdup(r->arena, body->u.create_bucket.location);
        ksm_s3_body_free(body);
    }
    if (!ksm_store_has_region(ksm_s3_store, region)) {
        snprintf(s->detail, sizeof s->detail, "reason=region_not_japanese refused_region=%.40s", region);
        ksm_s3_error(s, KSM_E_INVALID_LOCATION, "data stays in this environment's Japanese regions");
        return;
    }
    char why[256] = "";
    if (ksm_store_bucket_guard(db_of(s), s->principal.project_id, region, NULL, NULL, why,
                               sizeof why) != KSM_E_OK) {
        snprintf(s->detail, sizeof s->detail, "guardrail_region=%.40s", region);
        ksm_s3_error(s, KSM_E_GUARDRAIL, why);
        return;
    }
    enum ksm_err e = ksm_store_bucket_create(ksm_s3_store, db_of(s), s->principal.tenant_id,
                                             s->principal.project_id, s->bucket_name, region, &s->bucket);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e == KSM_E_ALREADY_EXISTS ? KSM_E_ALREADY_EXISTS : e, NULL);
        return;
    }
    s->have_bucket = true;
    const char *lock = ksm_req_header(r, "x-amz-bucket-object-lock-enabled");
    if (lock && !strcasecmp(lock, "true") && (e = ksm_s3_object_lock_enable(s)) != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    snprintf(s->detail, sizeof s->detail, "region=%s%s", region,
             lock && !strcasecmp(lock, "true") ? " object_lock" : "");
    ksm_req_add_header(r, "Location", ksm_arena_printf(r->arena, "/%s", s->bucket_name));
    ksm_s3_finish(s);
}

void ksm_s3_head_bucket(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    ksm_req_add_header(s->r, "x-amz-bucket-region", ksm_arena_strdup(s->r->arena, s->bucket.region));
    s->r->status = 200;
    ksm_s3_finish(s);
}

void ksm_s3_bucket_location(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_location(&s->r->resp, s->bucket.region);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_delete_bucket(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_store_bucket_delete(ksm_s3_store, db_of(s), &s->bucket);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e == KSM_E_CONFLICT ? KSM_E_BUCKET_NOT_EMPTY : e, NULL);
        return;
    }
    s->r->status = 204;
    ksm_s3_finish(s);
}

void ksm_s3_write_tags(struct s3_req *s, json_t *tags)
{
    size_t n = json_object_size(tags), i = 0;
    struct ksm_s3_tag *t = ksm_arena_calloc(s->r->arena, sizeof *t * (n ? n : 1));
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) t[i++] = (struct ksm_s3_tag){k, json_string_value(v)};
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_tagging(&s->r->resp, t, n);
}

void ksm_s3_bucket_tagging_get(struct s3_req *s)
{
    json_t *tags = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    if (ksm_store_bucket_tags_get(db_of(s), &s->bucket, &tags) != KSM_E_OK || !tags ||
        !json_object_size(tags)) {
        json_decref(tags);
        ksm_s3_error(s, KSM_E_NOT_FOUND, "The TagSet does not exist");
        return;
    }
    ksm_s3_write_tags(s, tags);
    json_decref(tags);
    ksm_s3_reply_xml(s, 200);
}

json_t *ksm_s3_tags_json(const struct ksm_s3_body *body);
json_t *ksm_s3_tags_json(const struct ksm_s3_body *body)
{
    json_t *o = json_object();
    for (size_t i = 0; i < body->u.tagging.ntags; i++)
        json_object_set_new(o, body->u.tagging.tags[i].key, json_string(body->u.tagging.tags[i].value));
    return o;
}

/* The guardrails may forbid dropping a required tag; false after answering the refusal. */
static bool bucket_tags_guard(struct s3_req *s, json_t *next)
{
    json_t *cur = NULL;
    char why[256] = "";
    if (ksm_store_bucket_tags_get(db_of(s), &s->bucket, &cur) != KSM_E_OK) {
        ksm_s3_error(s, KSM_E_INTERNAL, NULL);
        return false;
    }
    enum ksm_err e = ksm_store_bucket_guard(db_of(s), s->bucket.project, NULL, cur, next, why,
                                            sizeof why);
    json_decref(cur);
    if (e != KSM_E_OK)
        ksm_s3_error(s, e, why);
    return e == KSM_E_OK;
}

void ksm_s3_bucket_tagging_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_s3_xml_parse(KSM_S3X_BUCKET_TAGGING, s->r->body.data ? s->r->body.data : "",
                                      s->r->body.len, &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    json_t *tags = ksm_s3_tags_json(body);
    ksm_s3_body_free(body);
    if (!bucket_tags_guard(s, tags)) {
        json_decref(tags);
        return;
    }
    e = ksm_store_bucket_tags_put(db_of(s), &s->bucket, tags);
    json_decref(tags);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    s->r->status = 204;
    ksm_s3_finish(s);
}

void ksm_s3_bucket_tagging_delete(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s) || !bucket_tags_guard(s, NULL))
        return;
    enum ksm_err e = ksm_store_bucket_tags_put(db_of(s), &s->bucket, NULL);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    s->r->status = 204;
    ksm_s3_finish(s);
}
