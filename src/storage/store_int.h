/* store_int.h — what the store_*.c files share and nobody else sees: the store handle, where a
 * piece of object data lives (a "segment"), the SQL helpers of store_meta.c and the data helpers of
 * store_data.c. The protocol layer includes store.h only. */
#ifndef KSM_STORE_INT_H
#define KSM_STORE_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kms/kms.h"
#include "storage/store.h"

#define STORE_UID_HEX (2 * KSM_KMS_UID_LEN + 1)
#define STORE_PART_MIN (5ull << 20) /* every part but the last */
#define STORE_MAX_PARTS 10000

/* Where a segment's ciphertext is: its own file (named by its uid) or an extent of a pack log. */
enum store_loc { STORE_LOC_FILE = 0, STORE_LOC_PACK = 1, STORE_LOC_PARTS = 2 };

/* One independently keyed run of ciphertext: a whole simple object, or one part of a multipart
 * object. size is the plaintext length. */
struct store_seg {
    char region[16];
    int loc;                 /* STORE_LOC_FILE or STORE_LOC_PACK */
    int64_t pack_id;         /* pack: which log, where the ciphertext starts, its length */
    uint64_t pack_off, pack_len;
    uint8_t uid[KSM_KMS_UID_LEN];
    uint8_t wrapped[KSM_KMS_WRAPPED_DATA_KEY_LEN];
    uint64_t size;
};

/* Data that metadata no longer references, handed to the reaper after the commit. */
struct store_garbage {
    struct store_seg *segs;
    size_t n, cap;
};

struct store_reap;      /* store_gc.c */
struct store_pack;      /* store_pack.c */
struct store_compact;   /* store_compact.c */

struct ksm_store {
    struct ksm_store_opts o;
    struct store_reap *reap;
    struct store_pack *packs[KSM_STORE_MAX_REGIONS];
    struct store_compact *compact;
};

/* A pack record: "KSP1" | uid | ciphertext length (LE64) | ciphertext. Rows point at the
 * ciphertext, STORE_PACK_HDR bytes past the record's start. */
#define STORE_PACK_MAGIC "KSP1"
#define STORE_PACK_HDR (4 + KSM_KMS_UID_LEN + 8)

/* A referenced extent of a pack: whose ciphertext, where it starts, how long. */
struct store_extent {
    uint8_t uid[KSM_KMS_UID_LEN];
    uint64_t off, len;
};

/* ---- store_meta.c: every SQL statement of the store ---- */
/* The object row being written by a put, a part or a multipart completion. */
struct store_obj_row {
    const char *bucket;
    const char *key;
    const struct ksm_obj_meta *meta;   /* headers, user meta, tags, size, etag, mtime, parts */
    int loc;                           /* STORE_LOC_PARTS for a completed multipart object */
    const struct store_seg *seg;       /* the data (loc FILE/PACK); for PARTS only uid is used */
};
/* Replaces (bucket, key) with row inside the caller's transaction; the old row's data goes to g. */
enum ksm_err store_meta_obj_replace(struct ksm_db *db, const struct store_obj_row *row,
                                    struct store_garbage *g);
/* Deletes (bucket, key) in the caller's transaction; its data goes to g; *found, *size. */
enum ksm_err store_meta_obj_remove(struct ksm_db *db, const char *bucket, const char *key,
                                   struct store_garbage *g, bool *found, uint64_t *size);
void store_meta_row_to_meta(sqlite3_stmt *st, int col0, struct ksm_obj_meta *m);
/* version_id, retain_mode, retain_until, legal_hold from col0. */
void store_meta_row_lock(sqlite3_stmt *st, int col0, struct ksm_obj_meta *m);
/* The segments of an object's current version, or of version vid (1 for simple objects, N for
 * multipart). *segs malloc'd. */
enum ksm_err store_meta_obj_segments(struct ksm_db *db, const char *bucket, const char *key,
                                     const char *vid, struct ksm_obj_meta *meta,
                                     struct store_seg **segs, size_t *n);
/* Runs a statement that returns no row: OK when it completed. */
enum ksm_err store_run(sqlite3_stmt *st);
/* Steps st (a DELETE … RETURNING the segment columns of store_seg_from_cols) and adds every row's
 * data to g. */
enum ksm_err store_meta_garbage_rows(sqlite3_stmt *st, struct store_garbage *g);
/* A multipart object's segment rows go to g and are deleted (inside the caller's transaction). */
enum ksm_err store_meta_segments_collect(struct ksm_db *db, const uint8_t *obj_uid,
                                         struct store_garbage *g);

/* store_mpu.c: the SSE-C fingerprint an upload's parts must match ("" when none). */
enum ksm_err store_mpu_sse_c(struct ksm_db *db, const char *upload, char fp[KSM_STORE_SSEC_FP_LEN]);

/* ---- store_version.c ---- */
enum store_vmode { STORE_UNVERSIONED, STORE_VENABLED, STORE_VSUSPENDED };
void store_version_register_schema(void);
enum store_vmode store_versioning(struct ksm_db *db, const char *bucket_id);
/* Gives a write about to be committed its version id ("" / "null" / fresh) from the bucket's state,
 * and the bucket's default retention when object lock is on. */
void store_version_assign(struct ksm_db *db, const char *bucket_id, struct ksm_obj_meta *m);
int64_t store_version_seq(void);
/* Before a versioned write of (bucket, key) as version new_vid: the current version becomes
 * noncurrent, or, when both are the null version, is replaced (its data to g). */
enum ksm_err store_version_before_write(struct ksm_db *db, const char *bucket, const char *key,
                                        const char *new_vid, struct store_garbage *g);
/* Is vid the current version (*current) or a noncurrent one? NO_SUCH_VERSION, or
 * METHOD_NOT_ALLOWED for a delete marker. */
enum ksm_err store_version_row(struct ksm_db *db, const char *bucket, const char *key,
                               const char *vid, bool *current);
bool store_version_latest_is_marker(struct ksm_db *db, const char *bucket, const char *key,
                                    char vid[KSM_STORE_VERSION_MAX]);
/* Replaces part (upload, number) in the caller's transaction; the old part's data goes to g. */
enum ksm_err store_meta_part_replace(struct ksm_db *db, const char *upload, int number,
                                     const struct ksm_obj_meta *meta, const struct store_seg *seg,
                                     struct store_garbage *g);
/* Writes a put's row (an object, or a part of upload) inside the caller's transaction; NOT_FOUND
 * when the bucket or upload went away meanwhile. Used by store_put.c and the pack writer. */
enum ksm_err store_put_row_tx(struct ksm_db *db, const char *bucket, const char *key,
                           const char *upload, int part, const struct ksm_obj_meta *meta,
                           const struct store_seg *seg, struct store_garbage *g);
/* Every extent of pack (region, id) that an object, segment or part row references, by offset. */
enum ksm_err store_meta_pack_extents(struct ksm_db *db, const char *region, int64_t id,
                                     struct store_extent **out, size_t *n);
/* Does any row reference pack (region, id)? True on a database error (keep the file). */
bool store_meta_pack_used(struct ksm_db *db, const char *region, int64_t id);
/* Points the row holding uid at (to_id, to_off) if it still points at (from_id, from_off), in the
 * caller's transaction; *moved tells whether it did. */
enum ksm_err store_meta_extent_move(struct ksm_db *db, const char *region,
                                    const uint8_t uid[KSM_KMS_UID_LEN], int64_t from_id,
                                    uint64_t from_off, int64_t to_id, uint64_t to_off, bool *moved);
/* Is this uid referenced by any object, segment or part? (orphan collection) */
bool store_meta_uid_used(struct ksm_db *db, const uint8_t uid[KSM_KMS_UID_LEN]);
void store_seg_from_cols(sqlite3_stmt *st, int col0, struct store_seg *s);
void store_bind_key(sqlite3_stmt *st, int idx, const char *key);
int store_begin(struct ksm_db *db);
enum ksm_err store_commit(struct ksm_db *db);

void store_garbage_add(struct store_garbage *g, const struct store_seg *s);
void store_garbage_free(struct store_garbage *g);

/* ---- store_data.c: the local-filesystem data backend ---- */
const char *store_region_path(const struct ksm_store *s, const char *region);
/* "<region>/objects/ab/cd/<uid hex>" and its directory; "<region>/tmp/<uid hex>.part". */
void store_data_path(const struct ksm_store *s, const char *region, const uint8_t *uid, char *out,
                     size_t n);
void store_data_dir(const struct ksm_store *s, const char *region, const uint8_t *uid, char *out,
                    size_t n);
void store_tmp_path(const struct ksm_store *s, const char *region, const uint8_t *uid, char *out,
                    size_t n);
/* Writes all of p at the file's current position (EINTR, short writes). -1 with errno. */
/* Reads exactly n bytes at off; -1 on error or a short file. */
int store_pread_all(int fd, void *p, size_t n, uint64_t off);
/* store_config.c: its schema, and the rows of a bucket being deleted (inside that transaction). */
void store_config_register_schema(void);
void store_config_bucket_deleted(struct ksm_db *db, const char *bucket_id);
/* Plaintext pieces of a GET (store_piece.c): get gives a buffer of cap bytes (cached when cap is
 * STORE_PIECE_MAX), used records how much of it was written (for the wipe); release is
 * ksm_store_piece_release. */
#define STORE_PIECE_MAX (16u * 65536u)
uint8_t *store_piece_get(size_t cap);
void store_piece_used(uint8_t *data, size_t n);
/* "<region>/packs/<id, 8 digits>.pack" */
void store_pack_path(const struct ksm_store *s, const char *region, int64_t id, char *out, size_t n);
/* Where a segment's ciphertext starts in the file that holds it. */
void store_seg_file(const struct ksm_store *s, const struct store_seg *g, char *path, size_t n,
                    uint64_t *base);

/* ---- store_gc.c: the reaper thread and orphan collection ---- */
int store_reap_start(struct ksm_store *s);
void store_reap_stop(struct ksm_store *s);
/* Takes g's segments: their files are removed (pack extents freed) on the reaper thread; a file
 * a reader holds (below) stays until the last such reader lets it go. */
void store_reap(struct ksm_store *s, struct store_garbage *g);
/* Readers' holds on data files. A GET snapshots its segments at open and opens their files later
 * (a multipart read reaches its last part much later), so an overwrite or a delete committed
 * meanwhile must not unlink them under it: S3 finishes a GET that began before the overwrite. The
 * hold is taken after the metadata is read; store_reap_gen, read before it, says whether files were
 * handed to the reaper in between (then the metadata is read again: it names the new object). */
struct store_hold;
uint64_t store_reap_gen(struct ksm_store *s);
/* False when gen is not current; otherwise *out holds segs' data files (NULL when none is a file). */
bool store_reap_hold(struct ksm_store *s, uint64_t gen, const struct store_seg *segs, size_t n,
                     struct store_hold **out);
void store_reap_release(struct ksm_store *s, struct store_hold *h);
/* In db's open transaction: counts g's pack extents dead in store_packs (one update per pack) and
 * removes them from g, which keeps its file segments for store_reap. -1 on a database error. */
int store_packs_dead(struct ksm_db *db, struct store_garbage *g);
int store_orphans_collect(struct ksm_store *s, char *err, size_t errlen);

/* ---- store_pack.c: the small-object pack log ---- */
int store_pack_start(struct ksm_store *s, char *err, size_t errlen);
void store_pack_stop(struct ksm_store *s);
bool store_pack_enabled(const struct ksm_store *s, const char *region);
/* The pack the region's writer appends to now (0: none open). Every other pack is closed for good:
 * ids only grow, and a writer never reopens a pack. */
int64_t store_pack_open_id(struct ksm_store *s, const char *region);
/* Asks the region's writer to close pack id if it is the open one (the next batch starts a new
 * pack) and waits for it; true when id is closed. */
bool store_pack_seal(struct ksm_store *s, const char *region, int64_t id);
struct store_pack_req;
/* Appends ct (ciphertext of an object, already sealed) to region's log; once it and its metadata
 * are durable, fn(arg, e, seg) runs on loop. The pack writer commits the row itself (its own db
 * connection), so many small puts share one data fsync and one metadata commit.
 *
 * A compaction move is the same job with from_id set: ct is a sealed extent of pack from_id (same
 * region, same uid; ciphertext is bound to its uid, not its place) appended like a put, and the
 * commit points the row at the copy only if it still points at (from_id, from_off). A move has no
 * loop: done runs on the writer thread. */
struct store_pack_job {
    uv_loop_t *loop;
    /* the row to commit */
    char bucket[40];
    char *key;
    struct ksm_obj_meta *meta;
    const char *upload;  /* part of an upload, or NULL */
    int part;
    struct store_seg seg;      /* region, uid, wrapped, size; the writer fills pack_* */
    uint8_t *ct;
    size_t ct_len;
    int64_t from_id;     /* a move: where the extent was (0: a put) */
    uint64_t from_off;
    bool moved;          /* a move, after done: the row now points at the copy */
    enum ksm_err result;
    void (*done)(struct store_pack_job *j);   /* on loop (a move: on the writer thread) */
    void *arg;
    uv_async_t async;   /* the writer wakes the put's own loop with it */
    struct store_pack_job *next;
};
void store_pack_submit(struct ksm_store *s, struct store_pack_job *j);

/* ---- store_compact.c: pack compaction and the pins that keep a read pack in place ---- */
int store_compact_start(struct ksm_store *s, char *err, size_t errlen);
void store_compact_stop(struct ksm_store *s);
/* At open, before the writers start: removes every pack file that no row references (a crash
 * after compaction switched its rows, or a pack whose objects were all deleted). */
int store_packs_collect(struct ksm_store *s, char *err, size_t errlen);
/* A GET's segments, with the packs they lie in pinned (compaction does not remove a pinned pack,
 * so a read that has the old place keeps reading valid bytes) and their data files held from the
 * reaper (*hold). store_segments_close unpins and releases. */
enum ksm_err store_segments_open(struct ksm_store *s, struct ksm_db *db, const char *bucket,
                                 const char *key, const char *vid, struct ksm_obj_meta *meta,
                                 struct store_seg **segs, size_t *n, struct store_hold **hold);
void store_segments_close(struct ksm_store *s, const struct store_seg *segs, size_t n,
                          struct store_hold *hold);

#endif
