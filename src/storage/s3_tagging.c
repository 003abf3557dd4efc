/* s3_tagging.c — object tags: GetObjectTagging, PutObjectTagging and DeleteObjectTagging
 * (/bucket/key?tagging), and the x-amz-tagging header that sets tags at PutObject, at
 * CreateMultipartUpload (given to the object at completion) and at a CopyObject with
 * x-amz-tagging-directive REPLACE. The header obeys the rules the Tagging XML
 * parser applies to a body (s3_xml_parse.c): at most 10 tags, keys of 1–128 characters, values of
 * at most 256, no "aws:" keys, no key twice. Tags live in the object's metadata row (store.h). */
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "storage/s3_int.h"

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }

/* ---- percent-decoding (shared with the copy source) ------------------------------------------ */

char *ksm_s3_unescape(struct ksm_arena *a, const char *p, size_t n, bool plus_space)
{
    /* S3 names and tags never hold NUL; our strings could not carry it. */
    char *out = ksm_arena_alloc(a, n + 1);
    unsigned flags = KSM_PCT_STRICT | KSM_PCT_NO_NUL | (plus_space ? KSM_PCT_PLUS : 0);
    return ksm_pct_decode(p, n, out, flags) < 0 ? NULL : out;
}

/* ---- the x-amz-tagging header ---------------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t c = 0;
    for (; *s; s++)
        c += ((unsigned char)*s & 0xc0) != 0x80;
    return c;
}

#define TAGGING_HEADER_MSG                                                                         \
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "   \
    "without tag name duplicates."

/* One "key=value" pair of the header into tags. */
static enum ksm_err header_pair(struct ksm_arena *a, const char *p, size_t n, json_t *tags,
                                const char **why)
{
    const char *eq = memchr(p, '=', n);
    size_t kl = eq ? (size_t)(eq - p) : n;
    char *k = ksm_s3_unescape(a, p, kl, true);
    char *v = eq ? ksm_s3_unescape(a, eq + 1, n - kl - 1, true) : "";
    if (!k || !v || !ksm_utf8_valid(k, strlen(k)) || !ksm_utf8_valid(v, strlen(v)))
        return *why = TAGGING_HEADER_MSG, KSM_E_INVALID_ARGUMENT;
    if (json_object_get(tags, k))
        return *why = TAGGING_HEADER_MSG, KSM_E_INVALID_ARGUMENT;
    size_t kc = utf8_chars(k);
    if (kc < 1 || kc > KSM_S3_MAX_TAG_KEY_CHARS)
        return *why = "The TagKey you have provided is invalid", KSM_E_INVALID_TAG;
    if (!strncasecmp(k, "aws:", 4))
        return *why = "System tags cannot be added/updated by requester", KSM_E_INVALID_TAG;
    if (utf8_chars(v) > KSM_S3_MAX_TAG_VALUE_CHARS)
        return *why = "The TagValue you have provided is invalid", KSM_E_INVALID_TAG;
    json_object_set_new(tags, k, json_string(v));
    if (json_object_size(tags) > KSM_S3_MAX_OBJECT_TAGS)
        return *why = "Object tags cannot be greater than 10", KSM_E_INVALID_TAG;
    return KSM_E_OK;
}

enum ksm_err ksm_s3_tagging_header(struct s3_req *s, json_t **out, const char **why)
{
    const char *h = ksm_req_header(s->r, "x-amz-tagging");
    *out = NULL;
    if (!h || !*h)
        return KSM_E_OK;
    json_t *tags = json_object();
    enum ksm_err e = KSM_E_OK;
    for (const char *p = h; *p && e == KSM_E_OK;) {
        size_t n = strcspn(p, "&");
        if (n)   /* "a=1&&b=2": an empty pair is nothing, as in a query string */
            e = header_pair(s->r->arena, p, n, tags, why);
        p += n + (p[n] == '&');
    }
    if (e != KSM_E_OK)
        goto fail;
    if (json_object_size(tags))
        *out = tags;
    else
        json_decref(tags);
    return KSM_E_OK;
fail:
    json_decref(tags);
    return e;
}

/* ---- the ?tagging sub-resource of an object -------------------------------------------------- */


/* Tags are answered as an empty TagSet when the object has none, as S3 does. */
void ksm_s3_object_tagging_get(struct s3_req *s)
{
    struct ksm_obj_meta m = {0};
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_store_head(db_of(s), &s->bucket, s->key, &m);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    ksm_s3_write_tags(s, m.tags);
    snprintf(s->detail, sizeof s->detail, "tags=%zu", json_object_size(m.tags));
    ksm_obj_meta_free(&m);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_object_tagging_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    json_t *tags = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    const char *why = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    /* the body's signed hash was checked by the dispatcher (buffered_body_signed) */
    enum ksm_err e = ksm_s3_xml_parse(KSM_S3X_OBJECT_TAGGING, s->r->body.data ? s->r->body.data : "",
                         s->r->body.len, &body, detail);
    if (e != KSM_E_OK) {
        why = detail;
        goto fail;
    }
    size_t n = body->u.tagging.ntags;
    tags = n ? ksm_s3_tags_json(body) : NULL;   /* an empty TagSet removes the tags */
    ksm_s3_body_free(body);
    e = ksm_store_object_tags_put(db_of(s), &s->bucket, s->key, tags);
    json_decref(tags);
    if (e != KSM_E_OK)
        goto fail;
    snprintf(s->detail, sizeof s->detail, "tags=%zu", n);
    s->r->status = 200;
    ksm_s3_finish(s);
    return;
fail:
    ksm_s3_error(s, e, why);
}

void ksm_s3_object_tagging_delete(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_store_object_tags_put(db_of(s), &s->bucket, s->key, NULL);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    s->r->status = 204;
    ksm_s3_finish(s);
}
