/* s3_version.c — versioning and object lock on the wire: Get/PutBucketVersioning,
 * ListObjectVersions, Get/PutObjectLockConfiguration, Get/PutObjectRetention,
 * Get/PutObjectLegalHold, and the headers they add to object requests (x-amz-version-id,
 * x-amz-delete-marker, x-amz-object-lock-*). The engine (store_version.c) keeps the versions and
 * enforces the locks; this file maps S3's XML and headers onto it. */
#include "storage/s3_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

#define BYPASS_PERMISSION "s3.object.bypass_governance"

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }

/* The end of a configuration or lock change: its body freed, then the error or a 200. */
static void reply(struct s3_req *s, struct ksm_s3_body *body, enum ksm_err e, const char *why)
{
    ksm_s3_body_free(body);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, why);
        return;
    }
    s->r->status = 200;
    ksm_s3_finish(s);
}

/* ---- shared with the object handlers ---- */

const char *ksm_s3_version_param(struct s3_req *s)
{
    const char *v = ksm_s3_query(s, "versionId");
    return v && *v ? v : NULL;
}

void ksm_s3_version_headers(struct s3_req *s, const struct ksm_obj_meta *m)
{
    struct ksm_req *r = s->r;
    if (m->version_id[0])
        ksm_req_add_header(r, "x-amz-version-id", ksm_arena_strdup(r->arena, m->version_id));
    if (m->delete_marker)
        ksm_req_add_header(r, "x-amz-delete-marker", "true");
    if (m->lock_mode[0]) {
        char t[32];
        ksm_rfc3339_ms(m->lock_until_ms, t);
        ksm_req_add_header(r, "x-amz-object-lock-mode", ksm_arena_strdup(r->arena, m->lock_mode));
        ksm_req_add_header(r, "x-amz-object-lock-retain-until-date", ksm_arena_strdup(r->arena, t));
    }
    if (m->legal_hold)
        ksm_req_add_header(r, "x-amz-object-lock-legal-hold", "ON");
}

static bool versioning_enabled(struct s3_req *s)
{
    json_t *doc = NULL;
    ksm_store_bucket_config_get(db_of(s), s->bucket.id, "versioning", &doc);
    const char *st = json_string_value(json_object_get(doc, "status"));
    bool on = st && !strcmp(st, "Enabled");
    json_decref(doc);
    return on;
}

static bool lock_enabled(struct s3_req *s)
{
    json_t *doc = NULL;
    bool on = ksm_store_bucket_config_get(db_of(s), s->bucket.id, "object_lock", &doc) == KSM_E_OK;
    json_decref(doc);
    return on;
}

enum ksm_err ksm_s3_lock_from_headers(struct s3_req *s, struct ksm_obj_meta *m, const char **why)
{
    const char *mode = ksm_req_header(s->r, "x-amz-object-lock-mode");
    const char *until = ksm_req_header(s->r, "x-amz-object-lock-retain-until-date");
    const char *hold = ksm_req_header(s->r, "x-amz-object-lock-legal-hold");
    if (!mode && !until && !hold)
        return KSM_E_OK;
    if (!lock_enabled(s))
        return *why = "Bucket is missing Object Lock Configuration", KSM_E_INVALID_ARGUMENT;
    if (!mode != !until)
        return *why = "x-amz-object-lock-mode and x-amz-object-lock-retain-until-date must both be "
                      "supplied", KSM_E_INVALID_ARGUMENT;
    if (mode) {
        if (strcmp(mode, "GOVERNANCE") && strcmp(mode, "COMPLIANCE"))
            return *why = "Unknown wormMode directive.", KSM_E_INVALID_ARGUMENT;
        if (ksm_parse_rfc3339(until, &m->lock_until_ms) < 0 || m->lock_until_ms <= ksm_now_ms())
            return *why = "The retain until date must be in the future!", KSM_E_INVALID_ARGUMENT;
        snprintf(m->lock_mode, sizeof m->lock_mode, "%s", mode);
    }
    if (hold && strcmp(hold, "ON") && strcmp(hold, "OFF"))
        return *why = "Legal Hold must be either of 'ON' or 'OFF'", KSM_E_INVALID_ARGUMENT;
    m->legal_hold = hold && !strcmp(hold, "ON");
    return KSM_E_OK;
}

bool ksm_s3_bypass_governance(struct s3_req *s)
{
    const char *h = ksm_req_header(s->r, "x-amz-bypass-governance-retention");
    if (!h || strcasecmp(h, "true"))
        return false;
    /* asked for: honoured only with the permission, else the lock simply holds */
    return ksm_iam_check(db_of(s), &s->principal, BYPASS_PERMISSION, s->bucket.tenant,
                         s->bucket.project) == KSM_E_OK;
}

/* The audit detail of a refusal by a lock: which version and why. */
void ksm_s3_lock_refused(struct s3_req *s, const char *vid)
{
    struct ksm_obj_meta m;
    if (ksm_store_head_version(db_of(s), &s->bucket, s->key, vid, &m) != KSM_E_OK)
        return;
    char t[32] = "";
    if (m.lock_mode[0])
        ksm_rfc3339_ms(m.lock_until_ms, t);
    snprintf(s->detail, sizeof s->detail, "object_locked version=%s mode=%s until=%s legal_hold=%s",
             m.version_id[0] ? m.version_id : "null", m.lock_mode[0] ? m.lock_mode : "none", t,
             m.legal_hold ? "ON" : "OFF");
    ksm_obj_meta_free(&m);
}

/* ---- bucket versioning ---- */

void ksm_s3_versioning_get(struct s3_req *s)
{
    json_t *doc = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    ksm_store_bucket_config_get(db_of(s), s->bucket.id, "versioning", &doc);
    ksm_buf_reset(&s->r->resp);
    ksm_s3_write_versioning(&s->r->resp, json_string_value(json_object_get(doc, "status")), NULL);
    json_decref(doc);
    ksm_s3_reply_xml(s, 200);
}

static enum ksm_err parse_body(struct s3_req *s, enum ksm_s3_xml_kind kind,
                               struct ksm_s3_body **body, char *detail)
{
    return ksm_s3_xml_parse(kind, s->r->body.data ? s->r->body.data : "", s->r->body.len, body,
                            detail);
}

void ksm_s3_versioning_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = parse_body(s, KSM_S3X_VERSIONING, &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    const char *status = body->u.versioning.status, *mfa = body->u.versioning.mfa_delete;
    const char *why = NULL;
    if (mfa && !strcmp(mfa, "Enabled"))
        e = KSM_E_NOT_IMPLEMENTED, why = "MFA delete is not supported; use object lock";
    else if (!status)
        e = KSM_E_MALFORMED_XML, why = "Status is required";
    else if (!strcmp(status, "Suspended") && lock_enabled(s))
        e = KSM_E_INVALID_BUCKET_STATE,
        why = "An Object Lock configuration is present on this bucket, so the versioning state "
              "cannot be changed.";
    if (e == KSM_E_OK) {
        json_t *doc = json_pack("{s:s}", "status", status);
        e = ksm_store_bucket_config_put(db_of(s), s->bucket.id, "versioning", doc);
        json_decref(doc);
        snprintf(s->detail, sizeof s->detail, "versioning=%s", status);
    }
    reply(s, body, e, why);
}

/* ---- ListObjectVersions ---- */

void ksm_s3_list_versions(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    const char *delim = ksm_s3_query(s, "delimiter");
    delim = delim && *delim ? delim : NULL;
    const char *prefix = ksm_s3_query(s, "prefix"), *km = ksm_s3_query(s, "key-marker");
    const char *vm = ksm_s3_query(s, "version-id-marker"), *mk = ksm_s3_query(s, "max-keys");
    int max = mk ? atoi(mk) : 1000;
    max = max < 0 ? 0 : max > 1000 ? 1000 : max;
    struct ksm_version_entry *v = NULL;
    size_t n = 0;
    bool truncated = false;
    enum ksm_err e = ksm_store_list_versions(db_of(s), &s->bucket, prefix, delim, km, vm, max, &v,
                                             &n, &truncated);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    struct ksm_xw w;
    ksm_buf_reset(&s->r->resp);
    ksm_xw_begin(&w, &s->r->resp, "ListVersionsResult", true);
    ksm_xw_str(&w, "Name", s->bucket.name);
    ksm_xw_str(&w, "Prefix", prefix ? prefix : "");
    ksm_xw_str(&w, "KeyMarker", km ? km : "");
    ksm_xw_str(&w, "VersionIdMarker", vm ? vm : "");
    ksm_xw_int(&w, "MaxKeys", max);
    ksm_xw_str(&w, "Delimiter", delim);
    ksm_xw_bool(&w, "IsTruncated", truncated);
    if (truncated && n) {
        ksm_xw_str(&w, "NextKeyMarker", v[n - 1].key);
        ksm_xw_str(&w, "NextVersionIdMarker", v[n - 1].is_prefix ? "" : v[n - 1].version_id);
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].is_prefix) {
            ksm_xw_open(&w, "CommonPrefixes");
            ksm_xw_str(&w, "Prefix", v[i].key);
            ksm_xw_close(&w);
            continue;
        }
        ksm_xw_open(&w, v[i].delete_marker ? "DeleteMarker" : "Version");
        ksm_xw_str(&w, "Key", v[i].key);
        ksm_xw_str(&w, "VersionId", v[i].version_id);
        ksm_xw_bool(&w, "IsLatest", v[i].is_latest);
        ksm_xw_time(&w, "LastModified", v[i].mtime_ms);
        if (!v[i].delete_marker) {
            ksm_xw_etag(&w, "ETag", v[i].etag);
            ksm_xw_int(&w, "Size", (int64_t)v[i].size);
            ksm_xw_str(&w, "StorageClass", "STANDARD");
        }
        ksm_xw_open(&w, "Owner");
        ksm_xw_str(&w, "ID", s->bucket.tenant);
        ksm_xw_close(&w);
        ksm_xw_close(&w);
    }
    ksm_xw_end(&w);
    free(v);
    ksm_s3_reply_xml(s, 200);
}

/* ---- object lock configuration ---- */

void ksm_s3_object_lock_get(struct s3_req *s)
{
    json_t *doc = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    if (ksm_store_bucket_config_get(db_of(s), s->bucket.id, "object_lock", &doc) != KSM_E_OK) {
        ksm_s3_error(s, KSM_E_NO_LOCK_CONFIG, NULL);
        return;
    }
    struct ksm_xw w;
    ksm_buf_reset(&s->r->resp);
    ksm_xw_begin(&w, &s->r->resp, "ObjectLockConfiguration", true);
    ksm_xw_str(&w, "ObjectLockEnabled", "Enabled");
    const char *mode = json_string_value(json_object_get(doc, "mode"));
    if (mode) {
        ksm_xw_open(&w, "Rule");
        ksm_xw_open(&w, "DefaultRetention");
        ksm_xw_str(&w, "Mode", mode);
        ksm_xw_int(&w, "Days", json_integer_value(json_object_get(doc, "days")));
        ksm_xw_close(&w);
        ksm_xw_close(&w);
    }
    ksm_xw_end(&w);
    json_decref(doc);
    ksm_s3_reply_xml(s, 200);
}

/* Whole days from Days or Years (S3 takes one of them, positive); -1 when invalid. */
static int64_t rule_days(const struct ksm_s3_body *b)
{
    const char *d = b->u.object_lock.days, *y = b->u.object_lock.years;
    char *end;
    if (!d == !y)
        return -1;
    long long v = strtoll(d ? d : y, &end, 10);
    if (*end || v <= 0 || v > 100 * 365)
        return -1;
    return d ? v : v * 365;
}

enum ksm_err ksm_s3_object_lock_enable(struct s3_req *s)
{
    json_t *v = json_pack("{s:s}", "status", "Enabled"), *l = json_pack("{s:b}", "enabled", 1);
    enum ksm_err e = ksm_store_bucket_config_put(db_of(s), s->bucket.id, "versioning", v);
    if (e == KSM_E_OK)
        e = ksm_store_bucket_config_put(db_of(s), s->bucket.id, "object_lock", l);
    json_decref(v);
    json_decref(l);
    return e;
}

void ksm_s3_object_lock_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    const char *why = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = parse_body(s, KSM_S3X_OBJECT_LOCK, &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    json_t *doc = json_pack("{s:b}", "enabled", 1);
    int64_t days = body->u.object_lock.mode ? rule_days(body) : 0;
    if (!body->u.object_lock.enabled)
        e = KSM_E_MALFORMED_XML, why = "ObjectLockEnabled must be Enabled";
    else if (days < 0)
        e = KSM_E_MALFORMED_XML, why = "DefaultRetention needs a positive Days or Years, not both";
    else if (!versioning_enabled(s))
        e = KSM_E_INVALID_BUCKET_STATE,
        why = "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration";
    if (e == KSM_E_OK && body->u.object_lock.mode) {
        json_object_set_new(doc, "mode", json_string(body->u.object_lock.mode));
        json_object_set_new(doc, "days", json_integer(days));
        snprintf(s->detail, sizeof s->detail, "default=%s days=%lld", body->u.object_lock.mode,
                 (long long)days);
    }
    if (e == KSM_E_OK)
        e = ksm_store_bucket_config_put(db_of(s), s->bucket.id, "object_lock", doc);
    json_decref(doc);
    reply(s, body, e, why ? why : detail[0] ? detail : NULL);
}

/* ---- retention and legal hold of a version ---- */

static bool head_for_lock(struct s3_req *s, struct ksm_obj_meta *m)
{
    enum ksm_err e = ksm_store_head_version(db_of(s), &s->bucket, s->key, ksm_s3_version_param(s), m);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return false;
    }
    return true;
}

void ksm_s3_retention_get(struct s3_req *s)
{
    struct ksm_obj_meta m;
    if (!ksm_s3_need_bucket(s) || !head_for_lock(s, &m))
        return;
    if (!m.lock_mode[0]) {
        ksm_obj_meta_free(&m);
        ksm_s3_error(s, KSM_E_NO_RETENTION, NULL);
        return;
    }
    struct ksm_xw w;
    ksm_buf_reset(&s->r->resp);
    ksm_xw_begin(&w, &s->r->resp, "Retention", true);
    ksm_xw_str(&w, "Mode", m.lock_mode);
    ksm_xw_time(&w, "RetainUntilDate", m.lock_until_ms);
    ksm_xw_end(&w);
    ksm_obj_meta_free(&m);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_retention_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    const char *why = NULL;
    int64_t until = 0;
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = parse_body(s, KSM_S3X_RETENTION, &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    const char *mode = body->u.retention.mode;
    if (!lock_enabled(s))
        e = KSM_E_INVALID_ARGUMENT, why = "Bucket is missing Object Lock Configuration";
    else if (!mode != !body->u.retention.until)
        e = KSM_E_MALFORMED_XML, why = "Mode and RetainUntilDate go together";
    else if (mode && (ksm_parse_rfc3339(body->u.retention.until, &until) < 0 || until <= ksm_now_ms()))
        e = KSM_E_INVALID_ARGUMENT, why = "The retain until date must be in the future!";
    const char *vid = ksm_s3_version_param(s);
    if (e == KSM_E_OK)
        e = ksm_store_retention_put(db_of(s), &s->bucket, s->key, vid, mode, until,
                                    ksm_s3_bypass_governance(s));
    if (e == KSM_E_OBJECT_LOCKED)
        ksm_s3_lock_refused(s, vid);
    else if (e == KSM_E_OK)
        snprintf(s->detail, sizeof s->detail, "retention=%s until=%s version=%s",
                 mode ? mode : "none", mode ? body->u.retention.until : "-", vid ? vid : "current");
    reply(s, body, e, why);
}

void ksm_s3_legal_hold_get(struct s3_req *s)
{
    struct ksm_obj_meta m;
    if (!ksm_s3_need_bucket(s) || !head_for_lock(s, &m))
        return;
    struct ksm_xw w;
    ksm_buf_reset(&s->r->resp);
    ksm_xw_begin(&w, &s->r->resp, "LegalHold", true);
    ksm_xw_str(&w, "Status", m.legal_hold ? "ON" : "OFF");
    ksm_xw_end(&w);
    ksm_obj_meta_free(&m);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_legal_hold_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = parse_body(s, KSM_S3X_LEGAL_HOLD, &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    bool on = body->u.legal_hold.status && !strcmp(body->u.legal_hold.status, "ON");
    const char *why = NULL;
    if (!body->u.legal_hold.status)
        e = KSM_E_MALFORMED_XML, why = "Status is required";
    else if (!lock_enabled(s))
        e = KSM_E_INVALID_ARGUMENT, why = "Bucket is missing Object Lock Configuration";
    else
        e = ksm_store_legal_hold_put(db_of(s), &s->bucket, s->key, ksm_s3_version_param(s), on);
    if (e == KSM_E_OK)
        snprintf(s->detail, sizeof s->detail, "legal_hold=%s", on ? "ON" : "OFF");
    reply(s, body, e, why);
}
