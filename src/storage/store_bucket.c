/* store_bucket.c — buckets: S3's naming rules, create (with the bucket's key under the tenant's
 * key, in the same transaction as the row), get, list, delete (empty only; the bucket key is then
 * destroyed: crypto-erasure of anything a crash may have left behind), tags. A bucket name is
 * unique within a tenant only: another tenant's bucket of the same name is invisible. */
#include "storage/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static bool is_ipv4_form(const char *n)
{
    int dots = 0, digits = 0;
    for (const char *p = n; *p; p++) {
        if (*p == '.') {
            if (!digits)
                return false;
            dots++;
            digits = 0;
        } else if (*p >= '0' && *p <= '9') {
            digits++;
        } else {
            return false;
        }
    }
    return dots == 3 && digits;
}

bool ksm_store_bucket_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == n - 1) && !alnum)
            return false;
        if (i > 0 && c == '.' && (name[i - 1] == '.' || name[i - 1] == '-'))
            return false;
        if (i > 0 && c == '-' && name[i - 1] == '.')
            return false;
    }
    if (is_ipv4_form(name) || !strncmp(name, "xn--", 4) || !strncmp(name, "sthree-", 7))
        return false;
    if (n >= 8 && !strcmp(name + n - 8, "-s3alias"))
        return false;
    if (n >= 9 && !strcmp(name + n - 9, "--ol-s3"))
        return false;
    return true;
}

static ksm_store_bucket_guard_fn bucket_guard;

void ksm_store_set_bucket_guard(ksm_store_bucket_guard_fn fn) { bucket_guard = fn; }

enum ksm_err ksm_store_bucket_guard(struct ksm_db *db, const char *project, const char *region,
                                    json_t *old_tags, json_t *new_tags, char *why, size_t whylen)
{
    return bucket_guard ? bucket_guard(db, project, region, old_tags, new_tags, why, whylen)
                        : KSM_E_OK;
}

static void bucket_from_row(sqlite3_stmt *st, struct ksm_bucket *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->id, sizeof b->id, "%s", ksm_db_col_text(st, 0));
    snprintf(b->tenant, sizeof b->tenant, "%s", ksm_db_col_text(st, 1));
    snprintf(b->project, sizeof b->project, "%s", ksm_db_col_text(st, 2));
    snprintf(b->name, sizeof b->name, "%s", ksm_db_col_text(st, 3));
    snprintf(b->region, sizeof b->region, "%s", ksm_db_col_text(st, 4));
    b->created_ms = sqlite3_column_int64(st, 5);
}

static enum ksm_err bucket_insert(struct ksm_db *db, const struct ksm_bucket *b)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "INSERT INTO store_buckets(id, tenant, project, name,"
                                          " region, created) VALUES(?,?,?,?,?,?)");
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, b->tenant, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, b->project, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, b->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, b->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, b->created_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_CONSTRAINT)
        return KSM_E_ALREADY_EXISTS;
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_store_bucket_create(struct ksm_store *s, struct ksm_db *db, const char *tenant,
                                     const char *project, const char *name, const char *region,
                                     struct ksm_bucket *out)
{
    struct ksm_bucket b;
    memset(&b, 0, sizeof b);
    if (!region || !*region)
        region = ksm_store_default_region(s);
    if (!ksm_store_bucket_name_ok(name) || !ksm_store_has_region(s, region) || !tenant ||
        !*tenant || strlen(tenant) >= sizeof b.tenant || !project || strlen(project) >= sizeof b.project)
        return KSM_E_INVALID_ARGUMENT;
    ksm_id_new("bk", b.id);
    snprintf(b.tenant, sizeof b.tenant, "%s", tenant);
    snprintf(b.project, sizeof b.project, "%s", project);
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.region, sizeof b.region, "%s", region);
    b.created_ms = ksm_now_ms();
    if (store_begin(db))
        return KSM_E_INTERNAL;
    /* the row first: a name clash must not create keys */
    enum ksm_err e = bucket_insert(db, &b);
    if (e == KSM_E_OK)
        e = ksm_kms_tenant_key_ensure(s->o.kms, db, tenant);
    if (e == KSM_E_OK)
        e = ksm_kms_bucket_key_create(s->o.kms, db, tenant, b.id);
    if (e != KSM_E_OK)
        goto fail;
    e = store_commit(db);
    if (e == KSM_E_OK && out)
        *out = b;
    return e;
fail:
    ksm_db_rollback(db);
    return e;
}

enum ksm_err ksm_store_bucket_get(struct ksm_db *db, const char *tenant, const char *name,
                                  struct ksm_bucket *out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT id, tenant, project, name, region, created"
                                          " FROM store_buckets WHERE tenant=? AND name=?");
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        bucket_from_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return KSM_E_OK;
    return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

enum ksm_err ksm_store_bucket_list(struct ksm_db *db, const char *tenant, const char *project,
                                   struct ksm_bucket **out, size_t *n)
{
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT id, tenant, project, name, region, created FROM store_buckets"
            " WHERE tenant=?1 AND (?2 IS NULL OR project=?2) ORDER BY name");
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_TRANSIENT);
    ksm_db_bind_text(st, 2, project);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = ksm_xrealloc(*out, cap * sizeof **out);
        }
        bucket_from_row(st, &(*out)[(*n)++]);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

static bool bucket_empty(struct ksm_db *db, const char *id)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT 1 FROM store_objects WHERE bucket=?1 UNION ALL"
                                          " SELECT 1 FROM store_versions WHERE bucket=?1 UNION ALL"
                                          " SELECT 1 FROM store_uploads WHERE bucket=?1 LIMIT 1");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

enum ksm_err ksm_store_bucket_delete(struct ksm_store *s, struct ksm_db *db,
                                     const struct ksm_bucket *b)
{
    if (store_begin(db))
        return KSM_E_INTERNAL;
    enum ksm_err e = KSM_E_CONFLICT;
    if (!bucket_empty(db, b->id))
        goto fail;
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM store_buckets WHERE id=?");
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    e = rc != SQLITE_DONE ? KSM_E_INTERNAL : sqlite3_changes(db->h) ? KSM_E_OK : KSM_E_NOT_FOUND;
    if (e != KSM_E_OK)
        goto fail;
    store_config_bucket_deleted(db, b->id);
    e = store_commit(db);
    if (e != KSM_E_OK)
        return e;
    /* after the commit: a crash before it leaves a bucket with a key; after, a key destroyed with
     * no bucket. The id is never reused, so a later failure here only leaves an unused key. */
    enum ksm_err k = ksm_kms_key_destroy(s->o.kms, db, KSM_KMS_BUCKET, b->id);
    if (k != KSM_E_OK)
        ksm_warn("store: bucket %s deleted but its key was not destroyed (%s)", b->id,
                 ksm_err_code(k));
    return KSM_E_OK;
fail:
    ksm_db_rollback(db);
    return e;
}

enum ksm_err ksm_store_bucket_tags_get(struct ksm_db *db, const struct ksm_bucket *b, json_t **tags)
{
    *tags = NULL;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT tags FROM store_buckets WHERE id=?");
    sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *tags = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return KSM_E_OK;
    return rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

enum ksm_err ksm_store_bucket_tags_put(struct ksm_db *db, const struct ksm_bucket *b, json_t *tags)
{
    char *t = tags ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE store_buckets SET tags=? WHERE id=?");
    ksm_db_bind_text(st, 1, t);
    sqlite3_bind_text(st, 2, b->id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(t);
    if (rc != SQLITE_DONE)
        return KSM_E_INTERNAL;
    return sqlite3_changes(db->h) ? KSM_E_OK : KSM_E_NOT_FOUND;
}
