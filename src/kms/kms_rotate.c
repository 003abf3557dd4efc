/* kms_rotate.c — master key rotation: every blob wrapped directly under the master key (tenant key
 * versions, sealed secrets, the key check value) is re-wrapped under a new master key with the next
 * generation number in its header, in one SQLite transaction. Bucket keys, data keys and object
 * data hang below the tenant keys, whose plaintext does not change, so none of them is touched.
 *
 * The key file's side is ordered so that a crash at any point leaves a data directory that
 * ksm_kms_open can open (docs/encryption.md, "Master key rotation"):
 *   1. PATH.new  ← the new key (tmp, fsync, rename, fsync dir)
 *   2. PATH.old  ← a hard link to the old key (fsync dir)
 *   3. the database transaction commits (synchronous=FULL), the WAL is checkpointed
 *   4. PATH.new renamed over PATH (fsync dir)
 *   5. PATH.old removed (fsync dir): the old key no longer opens anything current
 * Before 3 the database still matches PATH; after 3 it matches PATH.new until 4. ksm_kms_open
 * tries PATH.new and PATH.old when PATH does not match, and moves the one that does over PATH. */
#include "kms/kms_int.h"

#include <errno.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/db.h"
#include "core/log.h"
#include "core/util.h"

#define SEALED_MAX (1u << 20)

/* One blob to re-wrap: read first, updated after the SELECT is done. */
struct blob_row {
    char *id;    /* kms_keys.id, or the sealed column's row id */
    char *ident; /* the AAD identity string */
    uint8_t *blob;
    size_t n;
};

struct blob_rows {
    struct blob_row *v;
    size_t n, cap;
};

static void rows_add(struct blob_rows *r, const char *id, const char *ident, const void *blob,
                     size_t n)
{
    if (r->n == r->cap)
        r->v = ksm_xrealloc(r->v, (r->cap = r->cap ? 2 * r->cap : 16) * sizeof *r->v);
    struct blob_row *b = &r->v[r->n++];
    b->id = ksm_xstrdup(id);
    b->ident = ksm_xstrdup(ident);
    b->blob = ksm_xmalloc(n ? n : 1);
    memcpy(b->blob, blob, n);
    b->n = n;
}

static void rows_free(struct blob_rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].id);
        free(r->v[i].ident);
        OPENSSL_cleanse(r->v[i].blob, r->v[i].n);
        free(r->v[i].blob);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* Unwraps b under old_m, wraps it again under new_m with generation gen, in place. */
static int rewrap(struct kms_wrapper *ow, struct kms_wrapper *nw, enum kms_blob_kind kind,
                  uint32_t gen, struct blob_row *b)
{
    if (b->n < KSM_KMS_BLOB_OVERHEAD || b->n - KSM_KMS_BLOB_OVERHEAD > SEALED_MAX)
        return -1;
    size_t m = b->n - KSM_KMS_BLOB_OVERHEAD;
    uint8_t *plain = ksm_xmalloc(m ? m : 1);
    int rc = ksm_kms__unwrap(ow, kind, b->ident, b->blob, b->n, plain) ||
             ksm_kms__wrap(nw, kind, gen, b->ident, plain, m, b->blob);
    OPENSSL_cleanse(plain, m);
    free(plain);
    return rc ? -1 : 0;
}

static int rewrap_tenant_keys(struct ksm_db *db, struct kms_wrapper *ow, struct kms_wrapper *nw,
                              uint32_t gen, int *count, char *err, size_t errlen)
{
    struct blob_rows rows = {0};
    char ident[KMS_IDENT_MAX];
    int rc = -1;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT id, owner_id, version, wrapped FROM kms_keys"
                                          " WHERE kind='tenant' AND wrapped IS NOT NULL");
    while (sqlite3_step(st) == SQLITE_ROW) {
        ksm_kms__ident_tenant(ident, ksm_db_col_text(st, 1), (uint32_t)sqlite3_column_int64(st, 2));
        rows_add(&rows, ksm_db_col_text(st, 0), ident, sqlite3_column_blob(st, 3),
                 (size_t)sqlite3_column_bytes(st, 3));
    }
    sqlite3_reset(st);
    for (size_t i = 0; i < rows.n; i++) {
        if (rewrap(ow, nw, KMS_BLOB_TENANT_KEY, gen, &rows.v[i])) {
            snprintf(err, errlen, "kms: tenant key %s does not unwrap under the current master key",
                     rows.v[i].id);
            goto fail;
        }
        st = ksm_db_prepare(db, "UPDATE kms_keys SET wrapped=?2 WHERE id=?1");
        sqlite3_bind_text(st, 1, rows.v[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, rows.v[i].blob, (int)rows.v[i].n, SQLITE_STATIC);
        int ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
        if (!ok) {
            snprintf(err, errlen, "kms: updating %s: %s", rows.v[i].id, sqlite3_errmsg(db->h));
            goto fail;
        }
    }
    *count = (int)rows.n;
    rc = 0;
fail:
    rows_free(&rows);
    return rc;
}

/* Table and column names come from the caller's constant table, never from input; still, only
 * plain identifiers are accepted, since they are spliced into SQL. */
static bool ident_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int reseal_col(struct ksm_db *db, const struct ksm_kms_sealed_col *c, struct kms_wrapper *ow,
                      struct kms_wrapper *nw, uint32_t gen, int *count, char *err, size_t errlen)
{
    struct blob_rows rows = {0};
    sqlite3_stmt *sel = NULL, *upd = NULL;
    char sql[512], ctx[KMS_IDENT_MAX];
    int rc = -1;
    if (!ident_ok(c->table) || !ident_ok(c->id_col) || !ident_ok(c->blob_col)) {
        snprintf(err, errlen, "kms: bad sealed column description");
        return -1;
    }
    snprintf(sql, sizeof sql, "SELECT %s, %s FROM %s", c->id_col, c->blob_col, c->table);
    if (sqlite3_prepare_v2(db->h, sql, -1, &sel, NULL) != SQLITE_OK)
        goto fail_sql;
    while (sqlite3_step(sel) == SQLITE_ROW) {
        snprintf(ctx, sizeof ctx, "%s%s", c->context_prefix, ksm_db_col_text(sel, 0));
        rows_add(&rows, ksm_db_col_text(sel, 0), ctx, sqlite3_column_blob(sel, 1),
                 (size_t)sqlite3_column_bytes(sel, 1));
    }
    snprintf(sql, sizeof sql, "UPDATE %s SET %s=?2 WHERE %s=?1", c->table, c->blob_col, c->id_col);
    if (sqlite3_prepare_v2(db->h, sql, -1, &upd, NULL) != SQLITE_OK)
        goto fail_sql;
    for (size_t i = 0; i < rows.n; i++) {
        if (rewrap(ow, nw, KMS_BLOB_SECRET, gen, &rows.v[i])) {
            snprintf(err, errlen, "kms: the secret sealed in %s.%s for %s does not unseal",
                     c->table, c->blob_col, rows.v[i].id);
            goto fail;
        }
        sqlite3_reset(upd);
        sqlite3_bind_text(upd, 1, rows.v[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(upd, 2, rows.v[i].blob, (int)rows.v[i].n, SQLITE_STATIC);
        if (sqlite3_step(upd) != SQLITE_DONE)
            goto fail_sql;
    }
    *count += (int)rows.n;
    rc = 0;
    goto fail;
fail_sql:
    snprintf(err, errlen, "kms: %s: %s", c->table, sqlite3_errmsg(db->h));
fail:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    rows_free(&rows);
    return rc;
}

static bool listed(const struct ksm_kms_sealed_col *cols, size_t n, const char *t, const char *c)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i].table, t) && !strcmp(cols[i].blob_col, c))
            return true;
    return false;
}

/* How many values of table.col look like a secret sealed under the master key of generation gen
 * (format 1, kind 4, that generation: a 6-byte prefix, so chance matches are ~2^-48 per value). */
static long sealed_like(struct ksm_db *db, const char *table, const char *col, uint32_t gen)
{
    char sql[512];
    uint8_t hdr[6] = {KMS_FORMAT_V1,        KMS_BLOB_SECRET,     (uint8_t)(gen >> 24),
                      (uint8_t)(gen >> 16), (uint8_t)(gen >> 8), (uint8_t)gen};
    sqlite3_stmt *st = NULL;
    long n = -1;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM \"%s\" WHERE typeof(\"%s\")='blob' AND length(\"%s\")>=%d AND"
             " substr(\"%s\",1,6)=?1",
             table, col, col, KSM_KMS_BLOB_OVERHEAD, col);
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, hdr, sizeof hdr, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

/* A subsystem that seals secrets but is missing from cols would lose them at the rotation: look
 * in every column of every table for such blobs and refuse. */
static int find_unlisted(struct ksm_db *db, const struct ksm_kms_sealed_col *cols, size_t ncols,
                         uint32_t gen, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p"
                           " WHERE m.type='table' AND m.name NOT LIKE 'sqlite_%'",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "kms: listing tables: %s", sqlite3_errmsg(db->h));
        return -1;
    }
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *t = ksm_db_col_text(st, 0), *c = ksm_db_col_text(st, 1);
        if (strchr(t, '"') || strchr(c, '"') || listed(cols, ncols, t, c))
            continue;
        long n = sealed_like(db, t, c, gen);
        if (n != 0) {
            snprintf(err, errlen,
                     "kms: %s.%s holds %ld secret(s) sealed under the master key that this "
                     "rotation does not know how to re-seal; refusing (they would become "
                     "unreadable)",
                     t, c, n);
            rc = -1;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int rotate_tx(struct ksm_db *db, struct ksm_kms_master *old_m, struct ksm_kms_master *new_m,
                     const struct ksm_kms_sealed_col *cols, size_t ncols,
                     struct ksm_kms_rotate_report *rep, char *err, size_t errlen)
{
    struct kms_wrapper ow = {old_m, NULL}, nw = {new_m, NULL};
    uint32_t gen = 0;
    int v = ksm_kms__check_verify(db, old_m, &gen, err, errlen);
    if (v <= 0) {
        if (v == 0)
            snprintf(err, errlen, "kms: this data directory has no master key check value yet");
        return -1;
    }
    if (gen == UINT32_MAX) {
        snprintf(err, errlen, "kms: no master generation left");
        return -1;
    }
    rep->generation = gen + 1;
    if (find_unlisted(db, cols, ncols, gen, err, errlen) ||
        rewrap_tenant_keys(db, &ow, &nw, gen + 1, &rep->tenant_keys, err, errlen))
        return -1;
    for (size_t i = 0; i < ncols; i++)
        if (reseal_col(db, &cols[i], &ow, &nw, gen + 1, &rep->secrets, err, errlen))
            return -1;
    return ksm_kms__check_write(db, new_m, gen + 1, err, errlen);
}

int ksm_kms_master_rotate(struct ksm_db *db, struct ksm_kms_master *old_m,
                          struct ksm_kms_master *new_m, const struct ksm_kms_sealed_col *cols,
                          size_t ncols, struct ksm_kms_rotate_report *rep, char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    if (ksm_db_begin(db) != SQLITE_OK) {
        snprintf(err, errlen, "kms: begin: %s", sqlite3_errmsg(db->h));
        return -1;
    }
    if (rotate_tx(db, old_m, new_m, cols, ncols, rep, err, errlen)) {
        ksm_db_rollback(db);
        return -1;
    }
    if (ksm_db_commit(db) != SQLITE_OK) {
        snprintf(err, errlen, "kms: commit: %s", sqlite3_errmsg(db->h));
        ksm_db_rollback(db);
        return -1;
    }
    /* the old blobs' pages: zeroed by secure_delete in the database, gone from the WAL here */
    int nlog = 0, nckpt = 0;
    if (sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt) !=
        SQLITE_OK)
        ksm_warn("kms: checkpoint after the master key rotation incomplete");
    return 0;
}

static int fsync_parent(const char *path)
{
    char *d = ksm_xstrdup(path);
    int rc = ksm_fsync_dir(dirname(d));
    free(d);
    return rc;
}

/* Steps 1 and 2 of the header: the new key in PATH.new, the old one linked as PATH.old. */
static struct ksm_kms_master *stage_files(const char *path, const char *pnew, const char *pold,
                                          char *err, size_t errlen)
{
    uint8_t key[KSM_KMS_KEY_LEN];
    struct ksm_kms_master *m = NULL;
    ksm_random_bytes(key, sizeof key);
    (void)unlink(pnew); /* left by a run that never committed: it protects nothing */
    (void)unlink(pold);
    if (ksm_kms_master_file_write(pnew, key, err, errlen))
        goto fail;
    if (link(path, pold) || fsync_parent(pold)) {
        snprintf(err, errlen, "kms: linking %s: %s", pold, strerror(errno));
        (void)unlink(pnew);
        goto fail;
    }
    m = ksm_kms_master_raw(key);
fail:
    OPENSSL_cleanse(key, sizeof key);
    return m;
}

int ksm_kms_master_file_rotate(struct ksm_db *db, const char *path,
                               const struct ksm_kms_sealed_col *cols, size_t ncols,
                               struct ksm_kms_rotate_report *rep, char *err, size_t errlen)
{
    char pnew[600], pold[600];
    struct ksm_kms_master *old_m = NULL, *new_m = NULL;
    int rc = -1;
    *err = '\0';
    snprintf(pnew, sizeof pnew, "%s.new", path);
    snprintf(pold, sizeof pold, "%s.old", path);
    (void)ksm_kms__recover_rotation(db, path); /* an earlier run's crash: finish it first */
    if (ksm_kms_master_file_open(path, false, &old_m, err, errlen))
        goto fail;
    if (ksm_kms_master_verify(db, old_m, err, errlen) != 1) {
        if (!*err)
            snprintf(err, errlen, "kms: this data directory has no master key check value yet");
        goto fail;
    }
    if (!(new_m = stage_files(path, pnew, pold, err, errlen)))
        goto fail;
    if (ksm_kms_master_rotate(db, old_m, new_m, cols, ncols, rep, err, errlen)) {
        (void)unlink(pnew);
        (void)unlink(pold);
        (void)fsync_parent(path);
        goto fail;
    }
    if (ksm_kms__rename_durable(pnew, path)) {
        snprintf(err, errlen,
                 "kms: the database is re-wrapped under %s but renaming it over %s failed (%s); "
                 "kasumid completes the rename when it starts",
                 pnew, path, strerror(errno));
        goto fail;
    }
    if (unlink(pold) || fsync_parent(pold))
        ksm_warn("kms: could not remove %s (the old master key): remove it by hand", pold);
    rc = 0;
fail:
    if (old_m)
        old_m->free(old_m);
    if (new_m)
        new_m->free(new_m);
    return rc;
}
