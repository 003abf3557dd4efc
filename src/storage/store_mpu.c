/* store_mpu.c — multipart uploads. Parts are written like objects (store_put.c with part_of),
 * each into its own file under its own data key. Completing moves the chosen parts' rows into
 * store_segments under the new object's uid, in one transaction: no byte is copied, so a 100 GiB
 * completion takes as long as a small one, and a GET walks the segments, opening each one's key.
 * Parts uploaded but not listed in the completion are collected. ETag: MD5 of the parts' binary
 * MD5s, then "-N", as S3. */
#include "storage/store_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/evp.h"
#include "core/util.h"

static json_t *meta_to_json(const struct ksm_obj_meta *m)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "content_type", m->content_type,
                          "cache_control", m->cache_control, "content_disposition",
                          m->content_disposition, "content_encoding", m->content_encoding,
                          "content_language", m->content_language, "expires", m->expires);
    if (j && m->user_meta)
        json_object_set(j, "user_meta", m->user_meta);
    if (j && m->tags)
        json_object_set(j, "tags", m->tags);
    if (j && m->sse_c[0])   /* the parts must come with the same customer key */
        json_object_set_new(j, "sse_c", json_string(m->sse_c));
    return j;
}

static void str_from(json_t *j, const char *k, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(j, k));
    snprintf(out, n, "%s", v ? v : "");
}

static void meta_from_json(json_t *j, struct ksm_obj_meta *m)
{
    str_from(j, "content_type", m->content_type, sizeof m->content_type);
    str_from(j, "cache_control", m->cache_control, sizeof m->cache_control);
    str_from(j, "content_disposition", m->content_disposition, sizeof m->content_disposition);
    str_from(j, "content_encoding", m->content_encoding, sizeof m->content_encoding);
    str_from(j, "content_language", m->content_language, sizeof m->content_language);
    str_from(j, "expires", m->expires, sizeof m->expires);
    str_from(j, "sse_c", m->sse_c, sizeof m->sse_c);
    json_t *um = json_object_get(j, "user_meta"), *tags = json_object_get(j, "tags");
    m->user_meta = um ? json_incref(um) : json_object();
    m->tags = tags ? json_incref(tags) : NULL;
}

enum ksm_err ksm_store_mpu_create(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                  const struct ksm_obj_meta *meta, char upload_id[64])
{
    size_t kn = key ? strlen(key) : 0;
    if (kn == 0 || !ksm_utf8_valid(key, kn))
        return KSM_E_INVALID_ARGUMENT;
    if (kn > KSM_STORE_KEY_MAX)
        return KSM_E_KEY_TOO_LONG;
    char id[40];
    ksm_id_new("up", id);
    json_t *j = meta_to_json(meta);
    char *js = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!js)
        return KSM_E_INTERNAL;
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO store_uploads(id, bucket, key, meta, initiated)"
                                          " VALUES(?,?,?,?,?)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b->id, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 3, key);
    sqlite3_bind_text(st, 4, js, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, ksm_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(js);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    snprintf(upload_id, 64, "%s", id);
    return KSM_E_OK;
}

enum ksm_err ksm_store_mpu_check(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                 const char *upload_id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM store_uploads WHERE id=? AND bucket=?"
                                          " AND key=?");
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b->id, -1, SQLITE_TRANSIENT);
    store_bind_key(st, 3, key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return KSM_E_OK;
    return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

/* ETags compared without their quotes: clients send them either way. */
static bool etag_eq(const char *a, const char *b)
{
    size_t an = strlen(a), bn = strlen(b);
    if (an >= 2 && a[0] == '"' && a[an - 1] == '"')
        a++, an -= 2;
    if (bn >= 2 && b[0] == '"' && b[bn - 1] == '"')
        b++, bn -= 2;
    return an == bn && !strncasecmp(a, b, an);
}

/* Checks the client's list against the stored parts and builds size and ETag. */
static enum ksm_err parts_verify(struct ksm_db *db, const char *upload,
                                 const struct ksm_mpu_part *parts, size_t nparts,
                                 uint64_t *size, char etag[72])
{
    if (nparts == 0 || nparts > STORE_MAX_PARTS)
        return KSM_E_MALFORMED_XML;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    enum ksm_err e = KSM_E_INTERNAL;
    if (!md || !EVP_DigestInit_ex(md, ksm_evp_md5(), NULL))
        goto out;
    *size = 0;
    for (size_t i = 0; i < nparts; i++) {
        e = KSM_E_INVALID_PART_ORDER;
        if (i > 0 && parts[i].number <= parts[i - 1].number)
            goto out;
        sqlite3_stmt *st = ksm_db_prepare(db, "SELECT size, etag FROM store_parts WHERE upload=?"
                                              " AND number=?");
        sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, parts[i].number);
        int rc = sqlite3_step(st);
        uint64_t psize = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
        char stored[72];
        snprintf(stored, sizeof stored, "%s", rc == SQLITE_ROW ? ksm_db_col_text(st, 1) : "");
        sqlite3_reset(st);
        e = KSM_E_INVALID_PART;
        if (rc != SQLITE_ROW || !etag_eq(stored, parts[i].etag))
            goto out;
        e = KSM_E_ENTITY_TOO_SMALL;
        if (i + 1 < nparts && psize < STORE_PART_MIN)
            goto out;
        uint8_t bin[16];
        e = KSM_E_INTERNAL;
        if (strlen(stored) != 34 || ksm_unhex(stored + 1, 32, bin) ||
            !EVP_DigestUpdate(md, bin, 16))
            goto out;
        *size += psize;
    }
    uint8_t d[16];
    char hex[33];
    unsigned int dl = 0;
    if (!EVP_DigestFinal_ex(md, d, &dl))
        goto out;
    ksm_hex(d, 16, hex);
    snprintf(etag, 72, "\"%s-%zu\"", hex, nparts);
    e = KSM_E_OK;
out:
    EVP_MD_CTX_free(md);
    return e;
}

/* Moves the listed parts to segments of obj_uid (upload_drop then collects the others). */
static enum ksm_err parts_move(struct ksm_db *db, const char *upload, const uint8_t *obj_uid,
                               const struct ksm_mpu_part *parts, size_t nparts)
{
    for (size_t i = 0; i < nparts; i++) {
        sqlite3_stmt *st = ksm_db_prepare(
            db, "INSERT INTO store_segments(obj_uid, idx, size, region, loc, pack_id, pack_off,"
                " pack_len, uid, wrapped) SELECT ?, ?, size, region, loc, pack_id, pack_off,"
                " pack_len, uid, wrapped FROM store_parts WHERE upload=? AND number=?");
        sqlite3_bind_blob(st, 1, obj_uid, KSM_KMS_UID_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, (int)i);
        sqlite3_bind_text(st, 3, upload, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 4, parts[i].number);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return KSM_E_INTERNAL;
        st = ksm_db_prepare(db, "DELETE FROM store_parts WHERE upload=? AND number=?");
        sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, parts[i].number);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return KSM_E_INTERNAL;
    }
    return KSM_E_OK;
}

/* Deletes the upload and its remaining parts (their data to g). */
static enum ksm_err upload_drop(struct ksm_db *db, const char *upload, struct store_garbage *g)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "DELETE FROM store_parts WHERE upload=? RETURNING region, loc, pack_id, pack_off,"
            " pack_len, uid, wrapped, size");
    sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
    if (store_meta_garbage_rows(st, g) != KSM_E_OK)
        return KSM_E_INTERNAL;
    st = ksm_db_prepare(db, "DELETE FROM store_uploads WHERE id=?");
    sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static enum ksm_err upload_meta(struct ksm_db *db, const char *upload, struct ksm_obj_meta *m)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT meta FROM store_uploads WHERE id=?");
    sqlite3_bind_text(st, 1, upload, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    json_t *j = rc == SQLITE_ROW ? json_loads(ksm_db_col_text(st, 0), 0, NULL) : NULL;
    sqlite3_reset(st);
    if (!j)
        return rc == SQLITE_ROW ? KSM_E_INTERNAL : KSM_E_NOT_FOUND;
    meta_from_json(j, m);
    json_decref(j);
    return KSM_E_OK;
}

enum ksm_err store_mpu_sse_c(struct ksm_db *db, const char *upload, char fp[KSM_STORE_SSEC_FP_LEN])
{
    struct ksm_obj_meta m;
    memset(&m, 0, sizeof m);
    enum ksm_err e = upload_meta(db, upload, &m);
    snprintf(fp, KSM_STORE_SSEC_FP_LEN, "%s", m.sse_c);
    ksm_obj_meta_free(&m);
    return e;
}

static enum ksm_err complete_tx(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                const char *upload, const struct ksm_mpu_part *parts,
                                size_t nparts, struct ksm_obj_meta *m, struct store_garbage *g)
{
    struct store_seg seg;
    memset(&seg, 0, sizeof seg);
    enum ksm_err e = ksm_store_mpu_check(db, b, key, upload);
    if (e == KSM_E_OK)
        e = parts_verify(db, upload, parts, nparts, &m->size, m->etag);
    if (e == KSM_E_OK)
        e = upload_meta(db, upload, m);
    if (e != KSM_E_OK)
        return e;
    snprintf(m->key, sizeof m->key, "%s", key);
    m->mtime_ms = ksm_now_ms();
    m->parts = (int)nparts;
    store_version_assign(db, b->id, m);
    ksm_kms_uid_new(seg.uid);
    snprintf(seg.region, sizeof seg.region, "%s", b->region);
    seg.loc = STORE_LOC_PARTS;
    seg.size = m->size;
    e = parts_move(db, upload, seg.uid, parts, nparts);
    if (e == KSM_E_OK)
        e = upload_drop(db, upload, g);
    if (e == KSM_E_OK) {
        struct store_obj_row row = {b->id, key, m, STORE_LOC_PARTS, &seg};
        e = store_meta_obj_replace(db, &row, g);
    }
    return e;
}

void ksm_store_mpu_complete(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                            const struct ksm_bucket *b, const char *key, const char *upload_id,
                            const struct ksm_mpu_part *parts, size_t nparts,
                            struct ksm_obj_meta *meta, ksm_store_done_cb done, void *arg)
{
    struct store_garbage g = {0};
    struct ksm_obj_meta m;
    memset(&m, 0, sizeof m);
    enum ksm_err e = KSM_E_INTERNAL;
    if (store_begin(db))
        goto out;
    e = complete_tx(db, b, key, upload_id, parts, nparts, &m, &g);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        store_garbage_free(&g);
        goto out;
    }
    e = store_commit(db);
    if (e != KSM_E_OK) {
        store_garbage_free(&g);
        goto out;
    }
    store_reap(s, &g);
    if (meta) {
        ksm_obj_meta_free(meta);
        *meta = m;
        memset(&m, 0, sizeof m);
    }
out:
    ksm_obj_meta_free(&m);
    done(arg, e);
}

enum ksm_err ksm_store_mpu_abort(struct ksm_store *s, struct ksm_db *db, const struct ksm_bucket *b,
                                 const char *key, const char *upload_id)
{
    struct store_garbage g = {0};
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum ksm_err e = ksm_store_mpu_check(db, b, key, upload_id);
    if (e == KSM_E_OK)
        e = upload_drop(db, upload_id, &g);
    if (e != KSM_E_OK) {
        ksm_db_rollback(db);
        store_garbage_free(&g);
        return e;
    }
    e = store_commit(db);
    if (e == KSM_E_OK)
        store_reap(s, &g);
    else
        store_garbage_free(&g);
    return e;
}

enum ksm_err ksm_store_mpu_parts(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                 const char *upload_id, int after, int max,
                                 struct ksm_mpu_part **out, size_t *n, bool *truncated)
{
    *out = NULL;
    *n = 0;
    *truncated = false;
    enum ksm_err e = ksm_store_mpu_check(db, b, key, upload_id);
    if (e != KSM_E_OK)
        return e;
    if (max < 0)
        max = 0;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT number, etag, size, mtime FROM store_parts"
                                          " WHERE upload=? AND number>? ORDER BY number LIMIT ?");
    sqlite3_bind_text(st, 1, upload_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, after);
    sqlite3_bind_int(st, 3, max + 1);
    *out = ksm_xcalloc((size_t)max + 1, sizeof **out);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)*n == max) {
            *truncated = true;
            break;
        }
        struct ksm_mpu_part *p = &(*out)[(*n)++];
        p->number = sqlite3_column_int(st, 0);
        snprintf(p->etag, sizeof p->etag, "%s", ksm_db_col_text(st, 1));
        p->size = (uint64_t)sqlite3_column_int64(st, 2);
        p->mtime_ms = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_store_mpu_list(struct ksm_db *db, const struct ksm_bucket *b, const char *prefix,
                                const char *key_marker, const char *upload_marker, int max,
                                struct ksm_mpu_info **out, size_t *n, bool *truncated)
{
    *out = NULL;
    *n = 0;
    *truncated = false;
    if (max < 0)
        max = 0;
    const char *p = prefix ? prefix : "", *km = key_marker ? key_marker : "";
    /* (key, id) order; S3's upload-id-marker only counts together with a key-marker */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT key, id, initiated FROM store_uploads WHERE bucket=?1"
            " AND substr(key, 1, length(?2)) = ?2"
            " AND (key > ?3 OR (?4 IS NOT NULL AND key = ?3 AND id > ?4))"
            " ORDER BY key, id LIMIT ?5");
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, p, (int)strlen(p), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, km, (int)strlen(km), SQLITE_TRANSIENT);
    ksm_db_bind_text(st, 4, key_marker && upload_marker && *upload_marker ? upload_marker : NULL);
    sqlite3_bind_int(st, 5, max + 1);
    *out = ksm_xcalloc((size_t)max + 1, sizeof **out);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)*n == max) {
            *truncated = true;
            break;
        }
        struct ksm_mpu_info *u = &(*out)[(*n)++];
        int kn = sqlite3_column_bytes(st, 0);
        if (kn > KSM_STORE_KEY_MAX)
            kn = KSM_STORE_KEY_MAX;
        memcpy(u->key, sqlite3_column_blob(st, 0), (size_t)kn);
        snprintf(u->upload_id, sizeof u->upload_id, "%s", ksm_db_col_text(st, 1));
        u->initiated_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
