/* export_object.c — where an object goes in the archive and what its metadata file says.
 *
 * Data: objects/<bucket>/<key>, so that `aws s3 sync objects/<bucket> s3://<bucket>` or `rclone
 * copy` restores the bucket with nothing else in it. Metadata: metadata/<bucket>/<key>.json, in a
 * tree of its own rather than next to the data file, so that a sync of objects/ does not upload the
 * metadata as objects too (and "<key>.json" cannot collide with another object's key). A key that
 * is not a safe relative path ("a//b", "../x", "dir/", a segment longer than a file name may be) is
 * stored as escaped/<bucket>/<SHA-256 of the key> instead; its metadata file (under that name too)
 * keeps the real key. Noncurrent versions of a versioned bucket (and its delete markers, metadata
 * only) are under versions/ and metadata-versions/, by the key's digest and the version id. */
#include "lifecycle/export_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/store.h"

void ksm_export__object_paths(const struct ksm_bucket *b, const char *key, struct ksm_buf *data,
                              struct ksm_buf *meta)
{
    ksm_buf_reset(data);
    ksm_buf_reset(meta);
    if (ksm_export_key_is_path(key)) {
        ksm_buf_printf(data, "objects/%s/%s", b->name, key);
        ksm_buf_printf(meta, "metadata/%s/%s.json", b->name, key);
        return;
    }
    char hex[65];
    ksm_sha256_hex(key, strlen(key), hex);
    ksm_buf_printf(data, "escaped/%s/%s", b->name, hex);
    ksm_buf_printf(meta, "metadata-escaped/%s/%s.json", b->name, hex);
}

void ksm_export__version_paths(const struct ksm_bucket *b, const char *key, const char *version_id,
                               struct ksm_buf *data, struct ksm_buf *meta)
{
    /* by the key's digest: a key's versions are files in one folder, which a key's own path
     * could collide with (key "a" and key "a/<version id>"); ids are [A-Za-z0-9._], 4 or 32 */
    char hex[65];
    ksm_sha256_hex(key, strlen(key), hex);
    ksm_buf_reset(data);
    ksm_buf_reset(meta);
    ksm_buf_printf(data, "versions/%s/%s/%s", b->name, hex, version_id);
    ksm_buf_printf(meta, "metadata-versions/%s/%s/%s.json", b->name, hex, version_id);
}

json_t *ksm_export__marker_meta(const struct ksm_bucket *b, const struct ksm_version_entry *v)
{
    char mtime[32];
    ksm_rfc3339_ms(v->mtime_ms, mtime);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "bucket", b->name, "region", b->region, "key",
                     v->key, "version_id", v->version_id, "last_modified", mtime, "delete_marker", 1,
                     "is_latest", v->is_latest);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

json_t *ksm_export__object_meta(const struct ksm_bucket *b, const struct ksm_obj_meta *m,
                                const char *path, const char *error)
{
    char mtime[32];
    ksm_rfc3339_ms(m->mtime_ms, mtime);
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s}", "bucket", b->name, "region", b->region, "key",
                          m->key, "size", (json_int_t)m->size, "last_modified", mtime);
    if (!o)
        return NULL;
    set_str(o, "etag", m->etag);
    set_str(o, "content_type", m->content_type);
    set_str(o, "cache_control", m->cache_control);
    set_str(o, "content_disposition", m->content_disposition);
    set_str(o, "content_encoding", m->content_encoding);
    set_str(o, "content_language", m->content_language);
    set_str(o, "expires", m->expires);
    set_str(o, "version_id", m->version_id);
    json_object_set_new(o, "user_metadata",
                        m->user_meta ? json_incref(m->user_meta) : json_object());
    if (m->tags)
        json_object_set(o, "tags", m->tags);
    if (m->lock_mode[0]) {
        char until[32];
        ksm_rfc3339_ms(m->lock_until_ms, until);
        json_object_set_new(o, "object_lock",
                            json_pack("{s:s,s:s}", "mode", m->lock_mode, "retain_until", until));
    }
    if (m->legal_hold)
        json_object_set_new(o, "legal_hold", json_true());
    if (path)
        json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "exported", json_boolean(error == NULL));
    if (error)
        json_object_set_new(o, "error", json_string(error));
    return o;
}
