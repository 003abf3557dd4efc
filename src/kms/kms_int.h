/* kms_int.h — what the files of src/kms share and nobody else sees: the process-wide state, the
 * wrapped-blob format, the key cache and locked memory for key material. */
#ifndef KSM_KMS_INT_H
#define KSM_KMS_INT_H
#include "kms/kms.h"

#include <stdatomic.h>

#define KMS_HDR_LEN 6
#define KMS_NONCE_LEN 12
#define KMS_TAG_LEN 16
#define KMS_FORMAT_V1 1
#define KMS_IDENT_MAX 320 /* the longest AAD identity string */

/* byte 1 of a wrapped blob: what it holds, so a blob of one kind never opens as another */
enum kms_blob_kind {
    KMS_BLOB_TENANT_KEY = 1, /* under the master key */
    KMS_BLOB_BUCKET_KEY = 2, /* under a tenant key version */
    KMS_BLOB_DATA_KEY = 3,   /* under a bucket key version */
    KMS_BLOB_SECRET = 4,     /* under the master key */
    KMS_BLOB_CHECK = 5,      /* the master key check value */
};

/* the first master key's generation, recorded in the header of blobs it wraps (kinds 1, 4, 5);
 * each master key rotation adds one (kms_rotate.c); the current one is read from the check
 * value. */
#define KMS_MASTER_GENERATION 1
#define KMS_CHECK_IDENT "kasumi/v1/master-check"

struct kms_cache;

struct ksm_kms {
    struct ksm_kms_master *master;
    uint32_t master_gen; /* of the master key, from the check value's header */
    struct kms_cache *cache;
    ksm_kms_audit_fn *audit;
    void *audit_arg;
};

/* One AES-256-GCM wrapping key: the master provider, or a raw key held in memory. */
struct kms_wrapper {
    struct ksm_kms_master *master;
    const uint8_t *key;
};

/* ---- kms_wrap.c ---- */
int ksm_kms__gcm_seal(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t *aad, size_t aadlen,
                      const uint8_t *in, size_t n, uint8_t *out);
int ksm_kms__gcm_open(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t *aad, size_t aadlen,
                      const uint8_t *in, size_t n, uint8_t *out);
/* out = header || wrap(in); n + KSM_KMS_BLOB_OVERHEAD bytes. ident: the AAD identity string. */
int ksm_kms__wrap(const struct kms_wrapper *w, enum kms_blob_kind kind, uint32_t parent_version,
                  const char *ident, const uint8_t *in, size_t n, uint8_t *out);
/* Checks the header's format and kind, then unwraps n - KSM_KMS_BLOB_OVERHEAD bytes into out. */
int ksm_kms__unwrap(const struct kms_wrapper *w, enum kms_blob_kind kind, const char *ident,
                    const uint8_t *blob, size_t n, uint8_t *out);
/* The parent version a blob of kind names; -1 when the blob is malformed or of another kind. */
int ksm_kms__blob_parent(const uint8_t *blob, size_t n, enum kms_blob_kind kind, uint32_t *version);

/* ---- kms_cache.c ---- */
struct kms_cached {
    char key_id[40];
    char tenant_id[KSM_KMS_ID_MAX + 1];
    uint32_t version;
    uint8_t key[KSM_KMS_KEY_LEN];
};
struct kms_cache *ksm_kms__cache_new(void);
void ksm_kms__cache_free(struct kms_cache *c);
void ksm_kms__cache_set_ttl(struct kms_cache *c, int ttl_ms);
/* version 0 asks for the owner's current version. Copies into out (wipe it after use). */
bool ksm_kms__cache_get(struct kms_cache *c, enum ksm_kms_kind kind, const char *owner,
                        uint32_t version, struct kms_cached *out);
/* A loader reads the generation before it goes to the database and passes it to put, which
 * drops the entry if an eviction happened in between (so a disable is never undone by a race). */
uint64_t ksm_kms__cache_gen(struct kms_cache *c);
void ksm_kms__cache_put(struct kms_cache *c, enum ksm_kms_kind kind, const char *owner,
                        uint32_t version, const struct kms_cached *v, uint64_t gen);
void ksm_kms__cache_evict_owner(struct kms_cache *c, enum ksm_kms_kind kind, const char *owner);
void ksm_kms__cache_evict_tenant(struct kms_cache *c, const char *tenant_id);
void ksm_kms__cache_sweep(struct kms_cache *c);

/* ---- kms_master.c ---- */
/* Page-aligned memory that is locked (never swapped), left out of core dumps and wiped on free. */
void *ksm_kms__secure_alloc(size_t n);
void ksm_kms__secure_free(void *p, size_t n);
/* rename(2), then fsync of the target's directory. 0 or -1 (errno). */
int ksm_kms__rename_durable(const char *from, const char *to);

/* ---- kms_open.c ---- */
/* The check value: 1 and *gen when it matches m, 0 when there is none, -1 (err filled) when it
 * does not match. */
int ksm_kms__check_verify(struct ksm_db *db, struct ksm_kms_master *m, uint32_t *gen, char *err,
                          size_t errlen);
/* Writes (replacing) the check value under m with generation gen. 0 or -1 (err filled). */
int ksm_kms__check_write(struct ksm_db *db, struct ksm_kms_master *m, uint32_t gen, char *err,
                         size_t errlen);

/* An interrupted master key rotation (kms_rotate.c): when PATH.new or PATH.old matches the check
 * value, it is moved over PATH. 1 when one was, 0 when none. */
int ksm_kms__recover_rotation(struct ksm_db *db, const char *path);

/* ---- kms_chain.c ---- */
/* The unwrapped key of (kind, owner, version), version 0 = current, through the cache. Checks the
 * state of the key and of every key above it. */
enum ksm_err ksm_kms__key_get(struct ksm_kms *k, struct ksm_db *db, enum ksm_kms_kind kind,
                              const char *owner, uint32_t version, struct kms_cached *out);
const char *ksm_kms__kind_name(enum ksm_kms_kind kind);
bool ksm_kms__id_valid(const char *id);
/* The AAD identity strings of docs/encryption.md. */
void ksm_kms__ident_tenant(char out[KMS_IDENT_MAX], const char *tenant, uint32_t version);
void ksm_kms__ident_bucket(char out[KMS_IDENT_MAX], const char *tenant, const char *bucket,
                           uint32_t version);
void ksm_kms__emit(struct ksm_kms *k, enum ksm_kms_op op, const char *kind, const char *owner,
                   const char *key_id, uint32_t version, enum ksm_err outcome);

#endif
