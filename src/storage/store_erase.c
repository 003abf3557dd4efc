/* store_erase.c — a bucket erased with everything in it (docs/lifecycle.md, "Erasure"): counting
 * what it holds, deleting every row that describes it, and wiping the ciphertext those rows
 * referenced. The bucket's key is destroyed before this runs (src/lifecycle), so what is removed
 * here is already unreadable; removing it too means the ciphertext and the metadata (keys of
 * objects, user metadata, tags, wrapped data keys) are gone from the disk, not only useless.
 *
 * Rows go in one transaction of the caller, which records each run of ciphertext durably before
 * the commit; the wiping comes after and is idempotent, so a crash anywhere leaves either the rows
 * or the list of what to wipe. Object lock does not hold erasure back: the lock keeps versions from
 * being removed during the contract, erasure ends the contract. */
#define _GNU_SOURCE
#include "storage/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "kms/kms_chunk.h"

enum ksm_err ksm_store_erase_counts(struct ksm_db *db, const char *bucket_id,
                                    struct ksm_store_erase_counts *c)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT (SELECT count(*) FROM store_objects WHERE bucket=?1),"
            " (SELECT ifnull(sum(size), 0) FROM store_objects WHERE bucket=?1),"
            " (SELECT count(*) FROM store_versions WHERE bucket=?1 AND delete_marker=0),"
            " (SELECT ifnull(sum(size), 0) FROM store_versions WHERE bucket=?1 AND delete_marker=0),"
            " (SELECT count(*) FROM store_versions WHERE bucket=?1 AND delete_marker<>0),"
            " (SELECT count(*) FROM store_uploads WHERE bucket=?1),"
            " (SELECT count(*) FROM store_parts WHERE upload IN"
            "   (SELECT id FROM store_uploads WHERE bucket=?1)),"
            " (SELECT ifnull(sum(size), 0) FROM store_parts WHERE upload IN"
            "   (SELECT id FROM store_uploads WHERE bucket=?1))");
    sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        uint64_t *f[] = {&c->objects, &c->object_bytes, &c->versions, &c->version_bytes,
                         &c->delete_markers, &c->uploads, &c->parts, &c->part_bytes};
        for (int i = 0; i < 8; i++)
            *f[i] = (uint64_t)sqlite3_column_int64(st, i);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : KSM_E_INTERNAL;
}

/* Steps a DELETE … RETURNING region, loc, pack_id, pack_off, pack_len, uid, size and hands every
 * row with data of its own (not a delete marker, not a multipart object whose data are its
 * segments) to fn. */
static enum ksm_err hand_over(sqlite3_stmt *st, ksm_store_extent_fn *fn, void *arg)
{
    int rc;
    enum ksm_err e = KSM_E_OK;
    while (e == KSM_E_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int loc = sqlite3_column_int(st, 1);
        const void *uid = sqlite3_column_blob(st, 5);
        if (loc == STORE_LOC_PARTS || !uid || sqlite3_column_bytes(st, 5) != KSM_KMS_UID_LEN)
            continue;
        struct ksm_store_extent x;
        memset(&x, 0, sizeof x);
        snprintf(x.region, sizeof x.region, "%s", ksm_db_col_text(st, 0));
        x.in_pack = loc == STORE_LOC_PACK;
        x.pack_id = sqlite3_column_int64(st, 2);
        x.off = (uint64_t)sqlite3_column_int64(st, 3);
        x.len = x.in_pack ? (uint64_t)sqlite3_column_int64(st, 4)
                          : ksm_chunk_ct_len((uint64_t)sqlite3_column_int64(st, 6));
        memcpy(x.uid, uid, KSM_KMS_UID_LEN);
        e = fn(arg, &x);
    }
    sqlite3_reset(st);
    if (e != KSM_E_OK)
        return e;
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}

enum ksm_err ksm_store_erase_rows(struct ksm_db *db, const char *bucket_id, ksm_store_extent_fn *fn,
                                  void *arg)
{
#define RET " RETURNING region, loc, pack_id, pack_off, pack_len, uid, size"
    /* segments first: the object and version rows name them by their uid */
    static const char *const with_data[] = {
        "DELETE FROM store_segments WHERE obj_uid IN (SELECT uid FROM store_objects WHERE"
        " bucket=?1 AND loc=2 UNION ALL SELECT uid FROM store_versions WHERE bucket=?1 AND"
        " loc=2)" RET,
        "DELETE FROM store_objects WHERE bucket=?1" RET,
        "DELETE FROM store_versions WHERE bucket=?1" RET,
        "DELETE FROM store_parts WHERE upload IN (SELECT id FROM store_uploads WHERE"
        " bucket=?1)" RET,
    };
#undef RET
    enum ksm_err e = KSM_E_OK;
    for (size_t i = 0; e == KSM_E_OK && i < KSM_NELEM(with_data); i++) {
        sqlite3_stmt *st = ksm_db_prepare(db, with_data[i]);
        sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
        e = hand_over(st, fn, arg);
    }
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM store_uploads WHERE bucket=?1");
    sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
    if ((e = store_run(st)) != KSM_E_OK)
        return e;
    store_config_bucket_deleted(db, bucket_id);
    st = ksm_db_prepare(db, "DELETE FROM store_buckets WHERE id=?1");
    sqlite3_bind_text(st, 1, bucket_id, -1, SQLITE_TRANSIENT);
    return store_run(st);
}

/* Zeros [off, off+len) of fd: punched out where the file system can (the blocks are freed, reads
 * give zeros), written over where it cannot. */
static int zero_range(int fd, uint64_t off, uint64_t len)
{
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return 0;
}

static enum ksm_err wipe_pack_extent(struct ksm_store *s, struct ksm_db *db,
                                     const struct ksm_store_extent *x)
{
    char path[700];
    store_pack_path(s, x->region, x->pack_id, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)   /* compaction removed the pack: the bytes went with it */
        return errno == ENOENT ? KSM_E_OK : KSM_E_INTERNAL;
    int rc = zero_range(fd, x->off, x->len);
    if (rc == 0)
        rc = fdatasync(fd);
    close(fd);
    if (rc) {
        ksm_warn("store: cannot wipe an extent of %s: %s", path, strerror(errno));
        return KSM_E_INTERNAL;
    }
    /* its bytes are dead now: compaction gives the space back */
    sqlite3_stmt *st = ksm_db_prepare(db, "UPDATE store_packs SET dead=dead+?1,"
                                          " live=max(live-?1, 0) WHERE region=?2 AND id=?3");
    sqlite3_bind_int64(st, 1, (int64_t)x->len);
    sqlite3_bind_text(st, 2, x->region, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, x->pack_id);
    return store_run(st);
}

enum ksm_err ksm_store_erase_extent(struct ksm_store *s, struct ksm_db *db,
                                    const struct ksm_store_extent *x)
{
    if (x->in_pack)
        return wipe_pack_extent(s, db, x);
    char path[700];
    store_data_path(s, x->region, x->uid, path, sizeof path);
    if (unlink(path) && errno != ENOENT) {
        ksm_warn("store: cannot remove %s: %s", path, strerror(errno));
        return KSM_E_INTERNAL;
    }
    /* the unlink is durable with its directory */
    char dir[700];
    store_data_dir(s, x->region, x->uid, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return KSM_E_OK;
}
