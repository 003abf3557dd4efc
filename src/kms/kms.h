/* kms.h — kasumi's key management: the environment master key, the key hierarchy
 * (master → tenant key → bucket key → per-object data key, each wrapped by the one above with
 * AES-256-GCM), crypto-erasure, and secrets sealed under the master key. Object data itself is
 * sealed by kms_chunk.h with the data keys handed out here. Formats: docs/encryption.md.
 *
 * One struct ksm_kms per process, shared by every worker thread (its cache has a lock); each call
 * takes the calling thread's own database connection. Every key use is reported to an optional
 * audit hook so that src/kms does not depend on src/audit. Key material is never logged. */
#ifndef KSM_KMS_H
#define KSM_KMS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct ksm_db;
struct ksm_kms;

#define KSM_KMS_KEY_LEN 32       /* AES-256 */
#define KSM_KMS_UID_LEN 16       /* an object's identity, bound into its data key and chunks */
#define KSM_KMS_WRAP_OVERHEAD 28 /* a master provider's nonce (12) + tag (16) */
#define KSM_KMS_BLOB_OVERHEAD 34 /* header (6) + nonce (12) + tag (16) of every wrapped blob */
#define KSM_KMS_WRAPPED_DATA_KEY_LEN (KSM_KMS_KEY_LEN + KSM_KMS_BLOB_OVERHEAD) /* 66 */
#define KSM_KMS_ID_MAX 100 /* tenant and bucket ids: [A-Za-z0-9_.:-]{1,100} */

/* ---- master key provider: the seam for a PKCS#11 HSM ------------------------------------------
 * The master key never leaves its provider: kasumi only asks it to wrap and unwrap. wrap writes
 * n + KSM_KMS_WRAP_OVERHEAD bytes to out (its own nonce, ciphertext, tag) authenticating aad;
 * unwrap reverses it and returns -1 when the tag or aad does not match. Both return 0 on success.
 */
struct ksm_kms_master {
    const char *name; /* "file", later "pkcs11" */
    int (*wrap)(struct ksm_kms_master *m, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                size_t n, uint8_t *out);
    int (*unwrap)(struct ksm_kms_master *m, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                  size_t n, uint8_t *out);
    void (*free)(struct ksm_kms_master *m);
};

/* The file provider: 32 random bytes in path (mode 0600, its directory 0700). With create, a
 * missing file is made; without, a missing file is an error. -1 with err filled. */
int ksm_kms_master_file_open(const char *path, bool create, struct ksm_kms_master **out, char *err,
                             size_t errlen);

/* Reads a key file with the provider's checks (32 bytes, regular, not readable by others) into
 * key (wipe it after use): for the offline backup. -1 with err filled. */
int ksm_kms_master_file_read(const char *path, uint8_t key[KSM_KMS_KEY_LEN], char *err,
                             size_t errlen);
/* Writes key to path durably (tmp, fsync, rename, fsync dir), mode 0600 in a 0700 directory. */
int ksm_kms_master_file_write(const char *path, const uint8_t key[KSM_KMS_KEY_LEN], char *err,
                              size_t errlen);
/* A provider holding a copy of key in locked memory: for offline tools that already hold it
 * (restore from shares). */
struct ksm_kms_master *ksm_kms_master_raw(const uint8_t key[KSM_KMS_KEY_LEN]);

/* ---- start-up -------------------------------------------------------------------------------- */
/* Registers the "kms" migrations; call before the first ksm_db_open. */
void ksm_kms_register_schema(void);

/* Opens the file master key at path and checks it against the key check value in the database.
 * The key file is created only when the database holds no keys yet; otherwise a missing or
 * different key refuses, with a message for the operator in err. -1 on refusal. */
int ksm_kms_open(struct ksm_kms **out, struct ksm_db *db, const char *master_key_path, char *err,
                 size_t errlen);
/* The same with any provider (ownership passes to kms, also on failure). */
int ksm_kms_open_with(struct ksm_kms **out, struct ksm_db *db, struct ksm_kms_master *m, char *err,
                      size_t errlen);
/* Is m the master key db was encrypted with? 1 yes, 0 the database has no check value yet,
 * -1 no (err filled). */
int ksm_kms_master_verify(struct ksm_db *db, struct ksm_kms_master *m, char *err, size_t errlen);
/* Wipes every cached key and frees. */
void ksm_kms_close(struct ksm_kms *k);

/* Unwrapped tenant and bucket keys stay in memory this long after their unwrap (default 60 s). */
void ksm_kms_set_cache_ttl(struct ksm_kms *k, int ttl_ms);
/* Wipes expired cache entries; the daemon calls it from a timer (say every 10 s). */
void ksm_kms_cache_sweep(struct ksm_kms *k);

/* ---- audit hook ------------------------------------------------------------------------------ */
enum ksm_kms_op {
    KSM_KMS_OP_CREATE,   /* a tenant or bucket key was created */
    KSM_KMS_OP_ROTATE,   /* a new version of it */
    KSM_KMS_OP_GENERATE, /* a data key was generated under a bucket key */
    KSM_KMS_OP_UNWRAP,   /* a data key was unwrapped (every read of an object) */
    KSM_KMS_OP_DISABLE,
    KSM_KMS_OP_ENABLE,
    KSM_KMS_OP_DESTROY,
    KSM_KMS_OP_SEAL, /* a secret was sealed under the master key */
    KSM_KMS_OP_UNSEAL,
};
const char *ksm_kms_op_name(enum ksm_kms_op op); /* "create", "rotate", ... */

enum ksm_kms_kind { KSM_KMS_TENANT, KSM_KMS_BUCKET };

struct ksm_kms_event {
    enum ksm_kms_op op;
    const char *kind;     /* "tenant", "bucket" or "master" (seal/unseal) */
    const char *owner_id; /* tenant or bucket id; for seal/unseal the context */
    const char *key_id;   /* kms_keys.id of the version used, "" when none was reached */
    uint32_t version;     /* 0 when none was reached */
    enum ksm_err outcome; /* KSM_E_OK or why it failed */
};
/* Called synchronously on the calling thread, after the operation, never with a lock held. */
typedef void ksm_kms_audit_fn(void *arg, const struct ksm_kms_event *ev);
void ksm_kms_set_audit(struct ksm_kms *k, ksm_kms_audit_fn *fn, void *arg);

/* ---- the hierarchy --------------------------------------------------------------------------- */
/* Creates the tenant's key if it has none (KSM_E_OK either way). */
enum ksm_err ksm_kms_tenant_key_ensure(struct ksm_kms *k, struct ksm_db *db, const char *tenant_id);
/* Creates the bucket's key under its tenant's current key, creating that on demand.
 * KSM_E_ALREADY_EXISTS if the bucket has one. Bucket ids must never be reused (use a unique id,
 * not the bucket's name): a destroyed key's owner stays destroyed. Joins the caller's transaction
 * when one is open. */
enum ksm_err ksm_kms_bucket_key_create(struct ksm_kms *k, struct ksm_db *db, const char *tenant_id,
                                       const char *bucket_id);
/* A new version; new wraps use it, older versions still unwrap what they wrapped. Rotating a
 * tenant key also re-wraps every bucket key version of the tenant under the new version, in the
 * same transaction (so no older tenant version is needed to reach any bucket key). */
enum ksm_err ksm_kms_key_rotate(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                const char *owner_id, uint32_t *new_version);
/* Disabling a key makes every unwrap under it (and, for a tenant key, under its bucket keys) fail
 * with KSM_E_KEY_DISABLED until enabled again. */
enum ksm_err ksm_kms_key_disable(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                 const char *owner_id);
enum ksm_err ksm_kms_key_enable(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                const char *owner_id);
/* Crypto-erasure: every version's wrapped material is overwritten and removed from the database
 * (a tenant's bucket keys with it) and dropped from memory; unwraps fail with KSM_E_KEY_DESTROYED
 * for ever. Irreversible. */
enum ksm_err ksm_kms_key_destroy(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                 const char *owner_id);

struct ksm_kms_key_info {
    char kind[8]; /* "tenant" or "bucket" */
    char owner_id[KSM_KMS_ID_MAX + 1];
    char id[40]; /* of the current version */
    char tenant_id[KSM_KMS_ID_MAX + 1];
    uint32_t version;         /* current */
    char state[12];           /* "active", "disabled", "destroyed" */
    int64_t created_at;       /* ms, of the first version */
    int64_t rotated_at;       /* ms, of the current version's creation when > 1, else 0 */
    int64_t state_changed_at; /* ms, of the last disable/enable/destroy, else 0 */
};
/* KSM_E_NOT_FOUND when the owner has no key. */
enum ksm_err ksm_kms_key_describe(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                                  const char *owner_id, struct ksm_kms_key_info *out);

/* Every key of a tenant, never material: its tenant key first, then its bucket keys (those of
 * deleted buckets stay as destroyed tombstones), in owner order. *out is malloc'd (free it). */
enum ksm_err ksm_kms_key_list(struct ksm_db *db, const char *tenant_id,
                              struct ksm_kms_key_info **out, size_t *n);

/* Every version of an owner's key, oldest first: fn(arg, key id, version, state). For the erasure
 * report, which names the keys it destroyed. KSM_E_NOT_FOUND when the owner has no key. */
typedef void ksm_kms_version_fn(void *arg, const char *key_id, uint32_t version, const char *state);
enum ksm_err ksm_kms_key_versions(struct ksm_db *db, enum ksm_kms_kind kind, const char *owner_id,
                                  ksm_kms_version_fn *fn, void *arg);

/* ---- master key rotation (offline: kasumid stopped) ------------------------------------------
 * Where a subsystem keeps secrets sealed with ksm_kms_seal: every row's blob_col was sealed with
 * context = context_prefix followed by the row's id_col. */
struct ksm_kms_sealed_col {
    const char *table, *id_col, *blob_col, *context_prefix;
};
struct ksm_kms_rotate_report {
    uint32_t generation; /* of the new master key */
    int tenant_keys;     /* tenant key versions re-wrapped */
    int secrets;         /* sealed secrets re-sealed */
};
/* In one transaction, re-wraps every live tenant key version, every secret of cols and the key
 * check value from old_m to new_m under the next master generation, then checkpoints the WAL so
 * the old blobs leave the files. Refuses (-1, err) when old_m is not db's master key or when some
 * other column holds a blob sealed under the old master key (it would become unreadable). Bucket
 * keys, data keys and object data are untouched. */
int ksm_kms_master_rotate(struct ksm_db *db, struct ksm_kms_master *old_m,
                          struct ksm_kms_master *new_m, const struct ksm_kms_sealed_col *cols,
                          size_t ncols, struct ksm_kms_rotate_report *rep, char *err,
                          size_t errlen);
/* The whole rotation of the key file at path, crash-safe (docs/encryption.md): a new key in
 * PATH.new, the old one linked as PATH.old, ksm_kms_master_rotate, then PATH.new renamed over
 * PATH and PATH.old removed. ksm_kms_open completes or undoes an interrupted run. */
int ksm_kms_master_file_rotate(struct ksm_db *db, const char *path,
                               const struct ksm_kms_sealed_col *cols, size_t ncols,
                               struct ksm_kms_rotate_report *rep, char *err, size_t errlen);

/* ---- data keys ------------------------------------------------------------------------------- */
struct ksm_kms_data_key {
    uint8_t key[KSM_KMS_KEY_LEN];                  /* plaintext: wipe after use */
    uint8_t wrapped[KSM_KMS_WRAPPED_DATA_KEY_LEN]; /* store beside the object's metadata */
};
/* A fresh random key for one object (uid: 16 random bytes, see ksm_kms_uid_new), wrapped under the
 * bucket key's current version. Every write of object data takes a new data key. */
enum ksm_err ksm_kms_data_key_new(struct ksm_kms *k, struct ksm_db *db, const char *bucket_id,
                                  const uint8_t uid[KSM_KMS_UID_LEN], struct ksm_kms_data_key *out);
/* Unwraps an object's data key into key (wipe it after use). KSM_E_KEY_DISABLED,
 * KSM_E_KEY_DESTROYED, KSM_E_DATA_CORRUPT (blob altered, not this object's, or naming a
 * bucket key version that does not exist). */
enum ksm_err ksm_kms_data_key_open(struct ksm_kms *k, struct ksm_db *db, const char *bucket_id,
                                   const uint8_t uid[KSM_KMS_UID_LEN], const uint8_t *wrapped,
                                   size_t n, uint8_t key[KSM_KMS_KEY_LEN]);
void ksm_kms_data_key_wipe(struct ksm_kms_data_key *dk);
/* The bucket key version a wrapped data key names (0 if the blob is malformed): lets a
 * re-encryption job find objects under an old version. */
uint32_t ksm_kms_data_key_version(const uint8_t *wrapped, size_t n);
void ksm_kms_uid_new(uint8_t uid[KSM_KMS_UID_LEN]);

/* ---- secrets sealed under the master key ----------------------------------------------------- */
/* For secrets a protocol needs in plaintext (S3 SigV4). context binds the blob to its use, e.g.
 * "kasumi/v1/s3-secret/<access key id>"; opening with another context fails. *blob is malloc'd
 * (n + KSM_KMS_BLOB_OVERHEAD bytes). */
enum ksm_err ksm_kms_seal(struct ksm_kms *k, const char *context, const void *plain, size_t n,
                          uint8_t **blob, size_t *bloblen);
/* *plain is NUL-terminated; free it with ksm_kms_secret_free, which wipes it.
 * KSM_E_DATA_CORRUPT on a wrong context or an altered blob. */
enum ksm_err ksm_kms_unseal(struct ksm_kms *k, const char *context, const uint8_t *blob, size_t n,
                            char **plain, size_t *plainlen);
void ksm_kms_secret_free(void *plain, size_t n);

/* SSE-C (kms_ssec.c): the key that encrypts an object's chunks when the customer holds a key of
 * its own (derived from both; the customer key is never stored), and a salted fingerprint that
 * tells a wrong customer key from the right one: "<salt hex>:<hmac hex>". */
#define KSM_KMS_SSEC_FP_LEN 98
void ksm_kms_ssec_derive(const uint8_t customer[32], const uint8_t data_key[32], uint8_t out[32]);
void ksm_kms_ssec_fingerprint(const uint8_t customer[32], char out[KSM_KMS_SSEC_FP_LEN]);
bool ksm_kms_ssec_matches(const uint8_t customer[32], const char *fp);

#endif
