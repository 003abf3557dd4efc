/* store.h — the object store engine behind the S3 protocol layer (s3_*): buckets and objects in
 * metadata, object data on the local filesystem of the bucket's region, sealed with AES-256-GCM in
 * chunks under a per-object data key (src/kms). The protocol layer never touches files or keys.
 *
 * Durability (SPEC.md B8; DESIGN.md §3): nothing is acknowledged before its data and metadata are
 * durable. An upload streams into a temporary file (fsync, rename, directory fsync) and only then is
 * its metadata row committed; a crash leaves an object either absent or whole, and temporaries and
 * unreferenced data files are collected at start. Small objects go to an append-only pack log with
 * group commit instead (many objects per fsync).
 *
 * Threads: every call is made on a worker's loop thread with that worker's db connection. File I/O
 * and fsync run on libuv's thread pool (uv_queue_work / uv_fs_*), never on the loop; callbacks come
 * back on the loop. Seam for later backends (DESIGN.md: RADOS for data, PostgreSQL for metadata): data
 * goes through the store_data_* functions only, metadata through store_meta_* (SQL in one layer). */
#ifndef KSM_STORE_H
#define KSM_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "core/db.h"
#include "core/error.h"

struct ksm_kms;
struct ksm_store;

#define KSM_STORE_MAX_REGIONS 4
#define KSM_STORE_KEY_MAX 1024          /* S3's key length limit, bytes of UTF-8 */
#define KSM_STORE_MAX_OBJECT (5ull << 40)  /* 5 TiB */
#define KSM_STORE_VERSION_MAX 40         /* a version id and its NUL */
#define KSM_STORE_SSEC_FP_LEN 98         /* = KSM_KMS_SSEC_FP_LEN */

struct ksm_store_region {
    char name[16];                      /* "jp-east", "jp-west" */
    char path[512];                     /* its data directory */
};

/* The steps of compacting one pack, for the test hook below. */
enum ksm_store_compact_step {
    KSM_STORE_COMPACT_COPIED,    /* live extents appended to the open pack and fdatasynced */
    KSM_STORE_COMPACT_SWITCHED,  /* every row points at the copies; the old pack still has its row */
    KSM_STORE_COMPACT_RETIRED,   /* the old pack's row is gone; its file is not yet removed */
};

struct ksm_store_opts {
    struct ksm_store_region regions[KSM_STORE_MAX_REGIONS];
    int nregions;                       /* regions[0] is the default */
    struct ksm_kms *kms;
    const char *db_path;                /* the metadata database (for the store's own threads) */
    size_t small_max;                   /* objects up to this size go to the pack log (0: never) */
    /* Compaction (with the pack log only): a closed pack whose referenced bytes are below this
     * percentage of its file size has them copied to the open pack and is removed (0: never). */
    int compact_live_pct;
    int compact_interval_ms;            /* how often the compactor looks (0: every 60 s) */
    /* Tests only: called at each step of compacting a pack (COPIED on the pack writer's thread,
     * the others on the compactor's); true stops that compaction there, as a crash would. */
    bool (*compact_hook)(void *arg, enum ksm_store_compact_step step);
    void *compact_hook_arg;
};

/* Opens the regions' directories (created 0700), collects orphans (temporaries; data files that no
 * committed metadata references), starts the pack writers. -1 with err filled. */
int ksm_store_open(struct ksm_store **out, const struct ksm_store_opts *o, char *err, size_t errlen);
void ksm_store_close(struct ksm_store *s);
/* Waits until data handed to the reaper (overwritten, deleted, aborted) is removed: for tests and
 * benchmarks; the daemon never needs it (close drains it too). */
void ksm_store_sync(struct ksm_store *s);
void ksm_store_register_schema(void);   /* before ksm_db_open */

/* What the compactor has done since open, and the pack files as its last pass saw them. */
struct ksm_store_compact_stats {
    uint64_t passes;
    uint64_t packs_compacted;           /* removed after their live extents moved */
    uint64_t bytes_reclaimed;           /* file bytes removed less the bytes copied */
    uint64_t bytes_moved;               /* records (header and ciphertext) copied */
    uint64_t extents_moved;
    uint64_t errors;                    /* compactions given up (the pack stays as it was) */
    uint64_t packs_waiting;             /* compacted, kept while a read still uses them */
    uint64_t pack_files, pack_bytes, pack_live_bytes;   /* gauges, at the last pass */
};
void ksm_store_compact_stats(struct ksm_store *s, struct ksm_store_compact_stats *out);
/* Runs a compaction pass now and waits for it (tests, benchmarks); no-op when compaction is off. */
void ksm_store_compact_now(struct ksm_store *s);
/* A ksm_metrics collector (arg: the store): the stats above as kasumi_store_compaction_* series. */
struct ksm_buf;
void ksm_store_metrics(struct ksm_buf *out, void *store);
const char *ksm_store_default_region(const struct ksm_store *s);
bool ksm_store_has_region(const struct ksm_store *s, const char *region);

/* ---- buckets (metadata only; synchronous, on the caller's db) ----------------------------------- */

/* A guard a higher layer (the templates' guardrails) sets at start, before any request: asked
 * before a bucket is created in project at region, and before a bucket's tags change (region NULL;
 * old_tags the tags it has, new_tags NULL when they go). OK, or an error with why (whylen bytes).
 * Storage never includes that layer: it only calls the hook. */
typedef enum ksm_err (*ksm_store_bucket_guard_fn)(struct ksm_db *db, const char *project,
                                                  const char *region, json_t *old_tags,
                                                  json_t *new_tags, char *why, size_t whylen);
void ksm_store_set_bucket_guard(ksm_store_bucket_guard_fn fn);
/* OK when no guard is set. */
enum ksm_err ksm_store_bucket_guard(struct ksm_db *db, const char *project, const char *region,
                                    json_t *old_tags, json_t *new_tags, char *why, size_t whylen);

struct ksm_bucket {
    char id[40];                        /* "bk_…" */
    char tenant[40], project[40];
    char name[64];
    char region[16];
    int64_t created_ms;
};

/* S3's bucket naming rules (3–63 chars, lower case, digits, '.', '-', no IP form, ...). */
bool ksm_store_bucket_name_ok(const char *name);
/* ALREADY_EXISTS when the tenant already has that name (another tenant's bucket of the same name
 * is invisible: it is not a conflict). INVALID_ARGUMENT for an unknown region. Creates the bucket's
 * key under the tenant's key. */
enum ksm_err ksm_store_bucket_create(struct ksm_store *s, struct ksm_db *db, const char *tenant,
                                     const char *project, const char *name, const char *region,
                                     struct ksm_bucket *out);
/* NOT_FOUND when the tenant has no bucket of that name. */
enum ksm_err ksm_store_bucket_get(struct ksm_db *db, const char *tenant, const char *name,
                                  struct ksm_bucket *out);
/* The tenant's buckets (project NULL: all), name order; appends struct ksm_bucket copies. */
enum ksm_err ksm_store_bucket_list(struct ksm_db *db, const char *tenant, const char *project,
                                   struct ksm_bucket **out, size_t *n);
/* CONFLICT when not empty (objects or multipart uploads in progress). */
enum ksm_err ksm_store_bucket_delete(struct ksm_store *s, struct ksm_db *db, const struct ksm_bucket *b);
/* Tags as a JSON object {key: value} (NULL: none). */
enum ksm_err ksm_store_bucket_tags_get(struct ksm_db *db, const struct ksm_bucket *b, json_t **tags);
enum ksm_err ksm_store_bucket_tags_put(struct ksm_db *db, const struct ksm_bucket *b, json_t *tags);
/* Bucket configurations (store_config.c): one JSON document per (bucket id, name), e.g. "cors".
 * get: NOT_FOUND when unset; put with doc NULL removes it; by_name: the documents of that name of
 * every bucket called bucket_name, in any tenant (a CORS preflight carries no credentials). */
enum ksm_err ksm_store_bucket_config_get(struct ksm_db *db, const char *bucket_id, const char *name,
                                         json_t **doc);
enum ksm_err ksm_store_bucket_config_put(struct ksm_db *db, const char *bucket_id, const char *name,
                                         json_t *doc);
enum ksm_err ksm_store_bucket_config_by_name(struct ksm_db *db, const char *bucket_name,
                                             const char *name, json_t **docs);

/* Per-project storage quotas (store_config.c); -1 is no limit. get: NOT_FOUND (and -1, -1) when
 * none is set; put with q NULL removes it. usage: what the project's buckets hold now (objects,
 * and the parts of open multipart uploads, which occupy the disk too). */
struct ksm_store_quota {
    int64_t max_bytes, max_objects;
};
enum ksm_err ksm_store_quota_get(struct ksm_db *db, const char *project, struct ksm_store_quota *q);
enum ksm_err ksm_store_quota_put(struct ksm_db *db, const char *project,
                                 const struct ksm_store_quota *q);
enum ksm_err ksm_store_project_usage(struct ksm_db *db, const char *project, int64_t *bytes,
                                     int64_t *objects);

/* ---- objects ----------------------------------------------------------------------------------- */

struct ksm_obj_meta {
    char key[KSM_STORE_KEY_MAX + 1];
    uint64_t size;
    char etag[72];                      /* quoted hex MD5, or the multipart form "…-N" */
    int64_t mtime_ms;
    char content_type[256];
    /* the other standard headers S3 stores and returns, verbatim ("" when absent) */
    char cache_control[256], content_disposition[512], content_encoding[128], content_language[128],
        expires[64];
    json_t *user_meta;                  /* x-amz-meta-* without the prefix: {name: value}; owned */
    json_t *tags;                       /* object tags {key: value} or NULL; owned */
    int parts;                          /* 0, or the number of parts of a multipart object */
    /* versioning and object lock (store_version.c) */
    char version_id[KSM_STORE_VERSION_MAX];   /* "" unversioned, "null", or the version's id */
    bool delete_marker;                 /* a read found a delete marker (METHOD_NOT_ALLOWED,
                                         * or NOT_FOUND for the latest) */
    char sse_c[KSM_STORE_SSEC_FP_LEN];  /* SSE-C: the customer key's fingerprint, or "" */
    char lock_mode[16];                 /* "GOVERNANCE", "COMPLIANCE" or "" */
    int64_t lock_until_ms;              /* retain until (with lock_mode) */
    bool legal_hold;
};
void ksm_obj_meta_free(struct ksm_obj_meta *m);   /* the JSON members */

/* NOT_FOUND (NoSuchKey). */
enum ksm_err ksm_store_head(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                            struct ksm_obj_meta *out);
/* The same for version_id (NULL: the current one): NO_SUCH_VERSION, or METHOD_NOT_ALLOWED for a
 * delete marker (out->delete_marker set); NOT_FOUND for the current one sets out->delete_marker
 * when the latest version is a delete marker. */
enum ksm_err ksm_store_head_version(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                    const char *version_id, struct ksm_obj_meta *out);

/* Versioning (store_version.c). A bucket's state is its "versioning" configuration document
 * ({"status": "Enabled"|"Suspended"}, absent: never enabled); object lock's default retention is
 * its "object_lock" document ({"mode", "days"}). */
/* SSE-C: m->sse_c becomes a fingerprint of the customer key (for CreateMultipartUpload, whose
 * parts must then come with the same key). */
void ksm_store_ssec_fingerprint(const uint8_t customer_key[32], struct ksm_obj_meta *m);
/* Is id a version id this store could have made ("null", or 32 of [A-Za-z0-9._])? */
bool ksm_store_version_id_ok(const char *id);
/* Does a write to the bucket keep the object it replaces (versioning Enabled)? */
bool ksm_store_bucket_keeps_versions(struct ksm_db *db, const struct ksm_bucket *b);
struct ksm_delete_result {
    bool found;                         /* something was removed or a marker added */
    bool delete_marker;                 /* the delete made (or removed) a delete marker */
    char version_id[KSM_STORE_VERSION_MAX];   /* the marker's, or the version removed */
    uint64_t freed_bytes;
};
/* version_id NULL: in an unversioned bucket the object goes (its data is collected); in a versioned
 * one a delete marker is added. Else that version is removed for good: OBJECT_LOCKED while a legal
 * hold or a retention protects it (GOVERNANCE yields to bypass_governance). Not there: OK. */
enum ksm_err ksm_store_delete_version(struct ksm_store *s, struct ksm_db *db,
                                      const struct ksm_bucket *b, const char *key,
                                      const char *version_id, bool bypass_governance,
                                      struct ksm_delete_result *res);
/* mode NULL removes the retention. OBJECT_LOCKED when it would shorten or remove an active one
 * (never for COMPLIANCE; GOVERNANCE with bypass_governance). */
enum ksm_err ksm_store_retention_put(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                     const char *version_id, const char *mode, int64_t until_ms,
                                     bool bypass_governance);
enum ksm_err ksm_store_legal_hold_put(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                      const char *version_id, bool on);
/* ListObjectVersions: every version and delete marker with key > key_marker (or = key_marker and
 * older than version_marker), prefix, newest first per key; at most max entries. With a delimiter,
 * keys sharing a prefix up to it are one entry (is_prefix); a key_marker that is such a prefix
 * continues after everything under it. */
struct ksm_version_entry {
    char key[KSM_STORE_KEY_MAX + 1];
    bool is_prefix;
    char version_id[KSM_STORE_VERSION_MAX];
    bool is_latest, delete_marker;
    uint64_t size;
    char etag[72];
    int64_t mtime_ms;
};
enum ksm_err ksm_store_list_versions(struct ksm_db *db, const struct ksm_bucket *b,
                                     const char *prefix, const char *delimiter,
                                     const char *key_marker, const char *version_marker, int max,
                                     struct ksm_version_entry **out, size_t *n, bool *truncated);

/* An upload in progress. Data is fed as it arrives; the store encrypts and writes it (on the thread
 * pool) and tells the caller to pause while its buffers are full. */
struct ksm_put;
typedef void (*ksm_store_cb)(void *arg);
typedef void (*ksm_store_done_cb)(void *arg, enum ksm_err e);

/* expected_size: the Content-Length (or decoded length), -1 if unknown. part_of: NULL for an object,
 * or an upload id (then part is 1..10000) for a multipart part. */
struct ksm_put *ksm_store_put_begin(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                                    const struct ksm_bucket *b, const char *key, int64_t expected_size,
                                    const char *part_of, int part);
/* The same with an SSE-C customer key (32 bytes; NULL: none), never stored: the chunks are sealed
 * under a key derived from it and the data key, and the object keeps only a salted fingerprint. A
 * part must come with its upload's key (SSE_C_REQUIRED, SSE_C_MISMATCH, SSE_C_NOT_APPLICABLE). */
struct ksm_put *ksm_store_put_begin_ssec(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                                         const struct ksm_bucket *b, const char *key,
                                         int64_t expected_size, const char *part_of, int part,
                                         const uint8_t *customer_key);
/* Never NULL. When set-up fails (bad key, unknown upload → NOT_FOUND, KEY_DISABLED, ...) the put
 * still exists: writes are dropped and commit reports the error through done. The protocol layer
 * may ask early with ksm_store_put_error and answer before reading the body (then put_abort). */
enum ksm_err ksm_store_put_error(const struct ksm_put *p);
/* Returns true when the caller should stop feeding until drained(arg) is called. The bytes are
 * copied before it returns. drained runs on the loop, never inside this call. */
bool ksm_store_put_write(struct ksm_put *p, const char *data, size_t n, ksm_store_cb drained, void *arg);
/* All data is in: flush, fsync, rename, then commit the metadata (replacing an existing object of
 * that key, whose data is then collected). done runs on the loop once durable, or with the error;
 * meta gets the final size, ETag and mtime. content_md5: the Content-MD5 the client sent (base64),
 * or NULL; a mismatch → BAD_DIGEST and nothing is stored. The put is freed after done. */
void ksm_store_put_commit(struct ksm_put *p, struct ksm_obj_meta *meta, const char *content_md5,
                          ksm_store_done_cb done, void *arg);
/* done never runs inside put_commit for the file path, but may for an error found at commit
 * (bad Content-MD5 syntax → INVALID_DIGEST, size ≠ expected_size → INCOMPLETE_BODY, a set-up
 * error): the caller must not touch p after calling commit either way. */
/* Drops the upload (client gone, bad signature): nothing is stored; freed when its I/O settles.
 * After ksm_store_put_commit it does nothing: the commit completes and done still runs. */
void ksm_store_put_abort(struct ksm_put *p);

/* A read of [off, off+len) of the plaintext (Range GETs decrypt only the chunks they need). data
 * gets the plaintext in pieces; return true to pause until ksm_store_get_resume. done runs once,
 * after the last piece or on an error (DATA_CORRUPT, KEY_DISABLED, KEY_DESTROYED, ...).
 * Each piece belongs to data from then on: it gives it back with ksm_store_piece_release (which
 * fits ksm_req_stream_write_take, so a download reaches the socket without a copy), on the same
 * thread. */
struct ksm_get;
typedef bool ksm_store_data_fn(void *arg, char *piece, size_t n);
void ksm_store_piece_release(void *ctx, char *piece);
struct ksm_get *ksm_store_get_begin(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                                    const struct ksm_bucket *b, const char *key, uint64_t off,
                                    uint64_t len, ksm_store_data_fn *data,
                                    ksm_store_done_cb done, void *arg);
/* done never runs inside get_begin (an error found
 * there, e.g. NOT_FOUND or KEY_DISABLED, is reported from the loop). */
void ksm_store_get_resume(struct ksm_get *g);
void ksm_store_get_cancel(struct ksm_get *g);   /* no further callback; also before start */

/* The same in two steps, so that the headers come from the very version whose bytes are sent:
 * get_open snapshots the object's metadata (meta, owned by the caller) and opens its first data
 * key, returning NULL with *err (NOT_FOUND, KEY_DISABLED, KEY_DESTROYED, ...); the caller then
 * evaluates conditions and the Range against meta and calls get_start, or get_cancel. */
struct ksm_get *ksm_store_get_open(struct ksm_store *s, struct ksm_db *db,
                                   const struct ksm_bucket *b, const char *key,
                                   struct ksm_obj_meta *meta, enum ksm_err *err);
/* The same for a version (NULL: the current one) and an SSE-C customer key (NULL: none): errors as
 * ksm_store_head_version, and SSE_C_REQUIRED, SSE_C_MISMATCH or SSE_C_NOT_APPLICABLE. */
struct ksm_get *ksm_store_get_open_version(struct ksm_store *s, struct ksm_db *db,
                                           const struct ksm_bucket *b, const char *key,
                                           const char *version_id, struct ksm_obj_meta *meta,
                                           enum ksm_err *err);
struct ksm_get *ksm_store_get_open_ssec(struct ksm_store *s, struct ksm_db *db,
                                        const struct ksm_bucket *b, const char *key,
                                        const char *version_id, const uint8_t *customer_key,
                                        struct ksm_obj_meta *meta, enum ksm_err *err);
void ksm_store_get_start(struct ksm_get *g, uv_loop_t *loop, uint64_t off, uint64_t len,
                         ksm_store_data_fn *data, ksm_store_done_cb done, void *arg);

/* Deletes the object (not found is not an error, as in S3); its data is collected. */
enum ksm_err ksm_store_delete(struct ksm_store *s, struct ksm_db *db, const struct ksm_bucket *b,
                              const char *key, uint64_t *freed_bytes);
enum ksm_err ksm_store_object_tags_put(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                       json_t *tags);

/* ListObjects(V2): keys > after (start-after, marker or continuation), with prefix; with a
 * delimiter, keys sharing a prefix up to the delimiter are rolled into common prefixes. At most
 * max_keys entries (keys + prefixes); *truncated when more follow, and then the last entry
 * returned (key or common prefix) is the marker to continue after. Binary (UTF-8 byte) order. */
struct ksm_list_entry {
    char key[KSM_STORE_KEY_MAX + 1];
    bool is_prefix;
    uint64_t size;
    char etag[72];
    int64_t mtime_ms;
};
enum ksm_err ksm_store_list(struct ksm_db *db, const struct ksm_bucket *b, const char *prefix,
                            const char *delimiter, const char *after, int max_keys,
                            struct ksm_list_entry **out, size_t *n, bool *truncated);

/* ---- multipart uploads --------------------------------------------------------------------------- */

enum ksm_err ksm_store_mpu_create(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                  const struct ksm_obj_meta *meta, char upload_id[64]);
/* NoSuchUpload → NOT_FOUND. Parts are written with ksm_store_put_begin(part_of, part). */
enum ksm_err ksm_store_mpu_check(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                 const char *upload_id);
struct ksm_mpu_part { int number; char etag[72]; uint64_t size; int64_t mtime_ms; };
/* Completes with the client's list (ascending part numbers, ETags matching; every part but the last
 * ≥ 5 MiB): INVALID_PART_ORDER, INVALID_PART, ENTITY_TOO_SMALL as S3. The object becomes visible
 * atomically; meta gets size and the "…-N" ETag. done on the loop (may be synchronous). */
void ksm_store_mpu_complete(struct ksm_store *s, uv_loop_t *loop, struct ksm_db *db,
                            const struct ksm_bucket *b, const char *key, const char *upload_id,
                            const struct ksm_mpu_part *parts, size_t nparts, struct ksm_obj_meta *meta,
                            ksm_store_done_cb done, void *arg);
enum ksm_err ksm_store_mpu_abort(struct ksm_store *s, struct ksm_db *db, const struct ksm_bucket *b,
                                 const char *key, const char *upload_id);
enum ksm_err ksm_store_mpu_parts(struct ksm_db *db, const struct ksm_bucket *b, const char *key,
                                 const char *upload_id, int after, int max, struct ksm_mpu_part **out,
                                 size_t *n, bool *truncated);
struct ksm_mpu_info { char key[KSM_STORE_KEY_MAX + 1]; char upload_id[64]; int64_t initiated_ms; };
enum ksm_err ksm_store_mpu_list(struct ksm_db *db, const struct ksm_bucket *b, const char *prefix,
                                const char *key_marker, const char *upload_marker, int max,
                                struct ksm_mpu_info **out, size_t *n, bool *truncated);

/* Records, per bucket, the bytes stored now and bytes × seconds since the previous sample
 * (store_meter.c); the daemon calls it on a timer. */
enum ksm_err ksm_store_meter_sample(struct ksm_db *db, int64_t now_ms, int64_t elapsed_ms);

/* Bytes stored per bucket (for metering byte-hours and quotas). */
enum ksm_err ksm_store_bucket_usage(struct ksm_db *db, const struct ksm_bucket *b, uint64_t *bytes,
                                    uint64_t *objects);

/* ---- erasure (store_erase.c): a bucket removed with everything in it, for src/lifecycle --------
 * The caller destroys the bucket's key first (crypto-erasure); these remove what is left. */
struct ksm_store_erase_counts {
    uint64_t objects, object_bytes;     /* current versions (plaintext bytes) */
    uint64_t versions, version_bytes;   /* noncurrent versions */
    uint64_t delete_markers;
    uint64_t uploads, parts, part_bytes;   /* multipart uploads in progress and their parts */
};
/* What the bucket holds now (inside the caller's transaction, for a consistent snapshot). */
enum ksm_err ksm_store_erase_counts(struct ksm_db *db, const char *bucket_id,
                                    struct ksm_store_erase_counts *c);
/* Where one run of ciphertext lies: its own file, or an extent of a pack log. */
struct ksm_store_extent {
    char region[16];
    bool in_pack;
    int64_t pack_id;
    uint64_t off, len;                  /* pack: where the ciphertext starts; len: its length */
    uint8_t uid[16];
};
typedef enum ksm_err ksm_store_extent_fn(void *arg, const struct ksm_store_extent *x);
/* Deletes every row of the bucket in the caller's transaction — objects, noncurrent versions and
 * delete markers, multipart segments, uploads and their parts, configurations, the bucket itself —
 * and hands each run of ciphertext they referenced to fn (which records it durably in the same
 * transaction, so the data can be wiped after the commit, and again after a crash). */
enum ksm_err ksm_store_erase_rows(struct ksm_db *db, const char *bucket_id, ksm_store_extent_fn *fn,
                                  void *arg);
/* Wipes one run: a file is unlinked, a pack extent is punched out (zeros where the file system
 * cannot punch) and fdatasynced, and counted dead for compaction. Gone already is OK (idempotent). */
enum ksm_err ksm_store_erase_extent(struct ksm_store *s, struct ksm_db *db,
                                    const struct ksm_store_extent *x);

#endif
