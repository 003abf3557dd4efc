/* test_kms.c — the master key (creation, refusal when missing or different), the key hierarchy
 * (create, wrap, unwrap, disable, enable, rotate, destroy as crypto-erasure checked in the database
 * file's bytes), the audit hook, and secrets sealed under the master key. */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/db.h"
#include "core/util.h"
#include "kms/kms.h"

static char dir[64], dbpath[128], keypath[128];
static struct ksm_db db;

/* ---- audit hook: remembers the last event and counts them ---- */
static int nevents;
static struct {
    enum ksm_kms_op op;
    char kind[16], owner[128], key_id[40];
    uint32_t version;
    enum ksm_err outcome;
} last;

static void on_event(void *arg, const struct ksm_kms_event *ev)
{
    nevents++;
    last.op = ev->op;
    snprintf(last.kind, sizeof last.kind, "%s", ev->kind);
    snprintf(last.owner, sizeof last.owner, "%s", ev->owner_id);
    snprintf(last.key_id, sizeof last.key_id, "%s", ev->key_id);
    last.version = ev->version;
    last.outcome = ev->outcome;
}

static void db_open(void)
{
    char err[256];
    if (ksm_db_open(&db, dbpath, err, sizeof err)) {
        fprintf(stderr, "db: %s\n", err);
        exit(2);
    }
}

static struct ksm_kms *kms_open(char *err, size_t errlen)
{
    struct ksm_kms *k = NULL;
    if (ksm_kms_open(&k, &db, keypath, err, errlen))
        return NULL;
    ksm_kms_set_audit(k, on_event, NULL);
    return k;
}

/* Does the database (main file or WAL) contain these bytes anywhere? */
static bool db_contains(const uint8_t *p, size_t n)
{
    bool found = false;
    const char *suffix[] = {"", "-wal", "-journal"};
    for (size_t i = 0; i < KSM_NELEM(suffix); i++) {
        char path[160];
        size_t len;
        snprintf(path, sizeof path, "%s%s", dbpath, suffix[i]);
        char *data = ksm_read_file(path, &len);
        if (data && memmem(data, len, p, n))
            found = true;
        free(data);
    }
    return found;
}

static size_t wrapped_of(const char *kind, const char *owner, uint8_t *out, size_t cap)
{
    sqlite3_stmt *st = ksm_db_prepare(&db, "SELECT wrapped FROM kms_keys WHERE kind=? AND "
                                           "owner_id=? ORDER BY version LIMIT 1");
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    size_t n = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_blob(st, 0)) {
        n = (size_t)sqlite3_column_bytes(st, 0);
        n = n < cap ? n : cap;
        memcpy(out, sqlite3_column_blob(st, 0), n);
    }
    sqlite3_reset(st);
    return n;
}

static void test_master_key(void)
{
    char err[512] = "";
    struct stat st;
    struct ksm_kms *k = kms_open(err, sizeof err);
    CHECK(k != NULL);
    CHECK(stat(keypath, &st) == 0 && st.st_size == 32 && (st.st_mode & 0777) == 0600);
    char kdir[160];
    snprintf(kdir, sizeof kdir, "%s/keys", dir);
    CHECK(stat(kdir, &st) == 0 && (st.st_mode & 0777) == 0700);
    ksm_kms_close(k);

    /* the same key opens again */
    k = kms_open(err, sizeof err);
    CHECK(k != NULL);
    ksm_kms_close(k);

    /* missing: refused, not recreated */
    size_t klen;
    char *saved = ksm_read_file(keypath, &klen);
    CHECK(saved && klen == 32);
    unlink(keypath);
    k = kms_open(err, sizeof err);
    CHECK(k == NULL);
    CHECK(strstr(err, "missing") != NULL && strstr(err, "refuses to start") != NULL);
    CHECK(access(keypath, F_OK) != 0);

    /* a different key: refused by the key check value */
    uint8_t other[32];
    ksm_random_bytes(other, sizeof other);
    CHECK(ksm_write_file_durable(keypath, other, sizeof other, 0600) == 0);
    k = kms_open(err, sizeof err);
    CHECK(k == NULL);
    CHECK(strstr(err, "key check value mismatch") != NULL);

    /* readable by others, or the wrong length: refused */
    CHECK(ksm_write_file_durable(keypath, saved, 32, 0644) == 0);
    k = kms_open(err, sizeof err);
    CHECK(k == NULL && strstr(err, "chmod 600") != NULL);
    CHECK(ksm_write_file_durable(keypath, saved, 31, 0600) == 0);
    k = kms_open(err, sizeof err);
    CHECK(k == NULL && strstr(err, "32-byte") != NULL);

    /* the original opens */
    CHECK(ksm_write_file_durable(keypath, saved, 32, 0600) == 0);
    k = kms_open(err, sizeof err);
    CHECK(k != NULL);
    ksm_kms_close(k);
    free(saved);
}

static void test_hierarchy(struct ksm_kms *k)
{
    uint8_t uid[16], uid2[16], key[32];
    struct ksm_kms_data_key dk;
    struct ksm_kms_key_info info;
    ksm_kms_uid_new(uid);
    ksm_kms_uid_new(uid2);

    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_1") == KSM_E_OK);
    CHECK(last.op == KSM_KMS_OP_CREATE && !strcmp(last.owner, "bk_1") && last.outcome == KSM_E_OK);
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_1") == KSM_E_ALREADY_EXISTS);
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_2") == KSM_E_OK);
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn/a", "bk_3") == KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_kms_key_describe(k, &db, KSM_KMS_TENANT, "tn_a", &info) == KSM_E_OK);
    CHECK(info.version == 1 && !strcmp(info.state, "active"));
    CHECK(ksm_kms_key_describe(k, &db, KSM_KMS_BUCKET, "bk_1", &info) == KSM_E_OK);
    CHECK(!strcmp(info.tenant_id, "tn_a"));
    CHECK(ksm_kms_key_describe(k, &db, KSM_KMS_BUCKET, "bk_none", &info) == KSM_E_NOT_FOUND);
    CHECK(ksm_kms_tenant_key_ensure(k, &db, "tn_a") == KSM_E_OK);

    CHECK(ksm_kms_data_key_new(k, &db, "bk_1", uid, &dk) == KSM_E_OK);
    CHECK(last.op == KSM_KMS_OP_GENERATE && last.version == 1 && last.key_id[0]);
    CHECK(ksm_kms_data_key_version(dk.wrapped, sizeof dk.wrapped) == 1);
    int before = nevents;
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_OK);
    CHECK(!memcmp(key, dk.key, 32));
    CHECK(nevents == before + 1 && last.op == KSM_KMS_OP_UNWRAP && last.outcome == KSM_E_OK);
    /* through the database rather than the cache */
    ksm_kms_set_cache_ttl(k, 0);
    ksm_kms_cache_sweep(k);
    memset(key, 0, sizeof key);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_OK);
    CHECK(!memcmp(key, dk.key, 32));
    ksm_kms_set_cache_ttl(k, 60000);

    /* bound to the object, the bucket and its bytes */
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid2, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_DATA_CORRUPT);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_DATA_CORRUPT);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_9", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_DATA_CORRUPT);
    for (size_t i = 0; i < sizeof dk.wrapped; i++) {
        dk.wrapped[i] ^= 0x40;
        enum ksm_err e =
            ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key);
        CHECK(e == KSM_E_DATA_CORRUPT);
        dk.wrapped[i] ^= 0x40;
    }
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, 65, key) == KSM_E_DATA_CORRUPT);
    ksm_kms_data_key_wipe(&dk);
}

static void test_disable_enable(struct ksm_kms *k)
{
    uint8_t uid[16], key[32];
    struct ksm_kms_data_key dk;
    ksm_kms_uid_new(uid);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_1", uid, &dk) == KSM_E_OK);
    /* warm the cache, so the test shows that disabling evicts it */
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_OK);

    CHECK(ksm_kms_key_disable(k, &db, KSM_KMS_BUCKET, "bk_1") == KSM_E_OK);
    CHECK(last.op == KSM_KMS_OP_DISABLE && last.outcome == KSM_E_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_KEY_DISABLED);
    CHECK(last.op == KSM_KMS_OP_UNWRAP && last.outcome == KSM_E_KEY_DISABLED);
    struct ksm_kms_data_key dk2;
    CHECK(ksm_kms_data_key_new(k, &db, "bk_1", uid, &dk2) == KSM_E_KEY_DISABLED);
    CHECK(ksm_kms_key_enable(k, &db, KSM_KMS_BUCKET, "bk_1") == KSM_E_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_OK);

    /* a disabled tenant key stops its buckets */
    CHECK(ksm_kms_key_disable(k, &db, KSM_KMS_TENANT, "tn_a") == KSM_E_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_KEY_DISABLED);
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_x") == KSM_E_KEY_DISABLED);
    CHECK(ksm_kms_key_enable(k, &db, KSM_KMS_TENANT, "tn_a") == KSM_E_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_OK);
    CHECK(!memcmp(key, dk.key, 32));
    ksm_kms_data_key_wipe(&dk);
}

static void test_rotation(struct ksm_kms *k)
{
    uint8_t uid1[16], uid2[16], uid3[16], key[32];
    struct ksm_kms_data_key d1, d2, d3;
    uint32_t v = 0;
    ksm_kms_uid_new(uid1);
    ksm_kms_uid_new(uid2);
    ksm_kms_uid_new(uid3);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_2", uid1, &d1) == KSM_E_OK);
    CHECK(ksm_kms_key_rotate(k, &db, KSM_KMS_BUCKET, "bk_2", &v) == KSM_E_OK && v == 2);
    CHECK(last.op == KSM_KMS_OP_ROTATE && last.version == 2);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_2", uid2, &d2) == KSM_E_OK);
    CHECK(ksm_kms_data_key_version(d1.wrapped, sizeof d1.wrapped) == 1);
    CHECK(ksm_kms_data_key_version(d2.wrapped, sizeof d2.wrapped) == 2);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid1, d1.wrapped, sizeof d1.wrapped, key) ==
              KSM_E_OK &&
          !memcmp(key, d1.key, 32));
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid2, d2.wrapped, sizeof d2.wrapped, key) ==
              KSM_E_OK &&
          !memcmp(key, d2.key, 32));

    /* the tenant key rotates: old bucket keys still open, new ones are wrapped under v2 */
    CHECK(ksm_kms_key_rotate(k, &db, KSM_KMS_TENANT, "tn_a", &v) == KSM_E_OK && v == 2);
    ksm_kms_set_cache_ttl(k, 0); /* make the walk go through the tenant key rows */
    ksm_kms_cache_sweep(k);
    /* ... which re-wrapped every bucket key version of the tenant under v2 */
    sqlite3_stmt *st = ksm_db_prepare(
        &db, "SELECT count(*), sum(hex(substr(wrapped,3,4))='00000002' AND parent_id=(SELECT id"
             " FROM kms_keys WHERE kind='tenant' AND owner_id='tn_a' AND version=2))"
             " FROM kms_keys WHERE kind='bucket' AND tenant_id='tn_a' AND wrapped IS NOT NULL");
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) >= 2 &&
          sqlite3_column_int(st, 0) == sqlite3_column_int(st, 1));
    sqlite3_reset(st);
    /* so tenant v1 is no longer needed: with its blob spoiled, old data keys still open */
    uint8_t t1[128];
    size_t t1n = wrapped_of("tenant", "tn_a", t1, sizeof t1);
    CHECK(t1n == 66);
    CHECK(ksm_db_exec(&db, "UPDATE kms_keys SET wrapped=zeroblob(66) WHERE kind='tenant' AND"
                           " owner_id='tn_a' AND version=1") == SQLITE_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid1, d1.wrapped, sizeof d1.wrapped, key) ==
              KSM_E_OK &&
          !memcmp(key, d1.key, 32));
    st = ksm_db_prepare(&db, "UPDATE kms_keys SET wrapped=?1 WHERE kind='tenant' AND"
                             " owner_id='tn_a' AND version=1");
    sqlite3_bind_blob(st, 1, t1, (int)t1n, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid1, d1.wrapped, sizeof d1.wrapped, key) ==
              KSM_E_OK &&
          !memcmp(key, d1.key, 32));
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_3") == KSM_E_OK);
    uint8_t blob[128];
    size_t n = wrapped_of("bucket", "bk_3", blob, sizeof blob);
    CHECK(n == 66 && blob[2] == 0 && blob[5] == 2); /* header: wrapped under tenant key v2 */
    CHECK(ksm_kms_key_rotate(k, &db, KSM_KMS_BUCKET, "bk_2", &v) == KSM_E_OK && v == 3);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_2", uid3, &d3) == KSM_E_OK);
    CHECK(ksm_kms_data_key_version(d3.wrapped, sizeof d3.wrapped) == 3);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid3, d3.wrapped, sizeof d3.wrapped, key) ==
              KSM_E_OK &&
          !memcmp(key, d3.key, 32));
    CHECK(ksm_kms_data_key_open(k, &db, "bk_2", uid2, d2.wrapped, sizeof d2.wrapped, key) ==
          KSM_E_OK);
    ksm_kms_set_cache_ttl(k, 60000);
    ksm_kms_data_key_wipe(&d1);
    ksm_kms_data_key_wipe(&d2);
    ksm_kms_data_key_wipe(&d3);
}

/* Worker threads, each with its own connection as in the daemon, generate and unwrap data keys
 * while the main thread rotates the bucket key: every unwrap must succeed (ASan/UBSan watch the
 * cache's locking). */
static struct ksm_kms *shared;
static atomic_int thread_failures;

static void *worker(void *arg)
{
    struct ksm_db tdb;
    char err[256];
    if (ksm_db_open(&tdb, dbpath, err, sizeof err)) {
        atomic_fetch_add(&thread_failures, 1);
        return NULL;
    }
    for (int i = 0; i < 300; i++) {
        uint8_t uid[16], key[32];
        struct ksm_kms_data_key dk;
        ksm_kms_uid_new(uid);
        if (ksm_kms_data_key_new(shared, &tdb, "bk_2", uid, &dk) != KSM_E_OK ||
            ksm_kms_data_key_open(shared, &tdb, "bk_2", uid, dk.wrapped, sizeof dk.wrapped, key) !=
                KSM_E_OK ||
            memcmp(key, dk.key, 32))
            atomic_fetch_add(&thread_failures, 1);
        ksm_kms_data_key_wipe(&dk);
    }
    ksm_db_close(&tdb);
    return NULL;
}

static void test_threads(struct ksm_kms *k)
{
    pthread_t t[4];
    shared = k;
    int before = nevents;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 10; i++)
        CHECK(ksm_kms_key_rotate(k, &db, KSM_KMS_BUCKET, "bk_2", NULL) == KSM_E_OK);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(atomic_load(&thread_failures) == 0);
    CHECK(nevents == before);
}

static void test_destroy(struct ksm_kms **kp)
{
    struct ksm_kms *k = *kp;
    uint8_t uid[16], key[32], blob[128];
    struct ksm_kms_data_key dk;
    ksm_kms_uid_new(uid);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_1", uid, &dk) == KSM_E_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_OK);
    size_t n = wrapped_of("bucket", "bk_1", blob, sizeof blob);
    CHECK(n == 66);
    CHECK(ksm_db_exec(&db, "PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
    CHECK(db_contains(blob, n)); /* the probe finds it before */

    CHECK(ksm_kms_key_destroy(k, &db, KSM_KMS_BUCKET, "bk_1") == KSM_E_OK);
    CHECK(last.op == KSM_KMS_OP_DESTROY && last.outcome == KSM_E_OK);
    CHECK(!db_contains(blob, n));
    CHECK(!db_contains(blob + 6, 12)); /* not even the nonce */
    CHECK(wrapped_of("bucket", "bk_1", blob, sizeof blob) == 0);
    struct ksm_kms_key_info info;
    CHECK(ksm_kms_key_describe(k, &db, KSM_KMS_BUCKET, "bk_1", &info) == KSM_E_OK);
    CHECK(!strcmp(info.state, "destroyed") && info.state_changed_at > 0);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_KEY_DESTROYED);
    CHECK(last.op == KSM_KMS_OP_UNWRAP && last.outcome == KSM_E_KEY_DESTROYED);
    CHECK(ksm_kms_key_enable(k, &db, KSM_KMS_BUCKET, "bk_1") == KSM_E_KEY_DESTROYED);
    CHECK(ksm_kms_key_rotate(k, &db, KSM_KMS_BUCKET, "bk_1", NULL) == KSM_E_KEY_DESTROYED);
    CHECK(ksm_kms_key_destroy(k, &db, KSM_KMS_BUCKET, "bk_1") == KSM_E_KEY_DESTROYED);
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_1") == KSM_E_KEY_DESTROYED);
    struct ksm_kms_data_key dk2;
    CHECK(ksm_kms_data_key_new(k, &db, "bk_1", uid, &dk2) == KSM_E_KEY_DESTROYED);

    /* for ever: after a restart too */
    char err[256];
    ksm_kms_close(k);
    ksm_db_close(&db);
    db_open();
    k = *kp = kms_open(err, sizeof err);
    CHECK(k != NULL);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
          KSM_E_KEY_DESTROYED);

    /* destroying the tenant key erases every version and every bucket key below it */
    uint8_t tblob[2][128], bblob[128];
    struct ksm_kms_data_key d3;
    CHECK(ksm_kms_data_key_new(k, &db, "bk_3", uid, &d3) == KSM_E_OK);
    size_t tn = wrapped_of("tenant", "tn_a", tblob[0], sizeof tblob[0]);
    size_t bn = wrapped_of("bucket", "bk_3", bblob, sizeof bblob);
    CHECK(tn == 66 && bn == 66);
    CHECK(ksm_kms_key_destroy(k, &db, KSM_KMS_TENANT, "tn_a") == KSM_E_OK);
    CHECK(!db_contains(tblob[0], tn) && !db_contains(bblob, bn));
    CHECK(ksm_kms_data_key_open(k, &db, "bk_3", uid, d3.wrapped, sizeof d3.wrapped, key) ==
          KSM_E_KEY_DESTROYED);
    sqlite3_stmt *st = ksm_db_prepare(
        &db, "SELECT count(*) FROM kms_keys WHERE tenant_id='tn_a' AND (wrapped IS NOT NULL OR "
             "state<>'destroyed')");
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_reset(st);
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_a", "bk_new") == KSM_E_KEY_DESTROYED);
    /* other tenants are untouched */
    CHECK(ksm_kms_bucket_key_create(k, &db, "tn_b", "bk_b1") == KSM_E_OK);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_b1", uid, &dk2) == KSM_E_OK);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_b1", uid, dk2.wrapped, sizeof dk2.wrapped, key) ==
          KSM_E_OK);
    ksm_kms_data_key_wipe(&dk);
    ksm_kms_data_key_wipe(&dk2);
    ksm_kms_data_key_wipe(&d3);
}

static void test_secrets(struct ksm_kms *k)
{
    const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    uint8_t *blob;
    size_t n, pn;
    char *plain;
    CHECK(ksm_kms_seal(k, "kasumi/v1/s3-secret/AKIA1", secret, strlen(secret), &blob, &n) ==
          KSM_E_OK);
    CHECK(n == strlen(secret) + KSM_KMS_BLOB_OVERHEAD);
    CHECK(last.op == KSM_KMS_OP_SEAL && !strcmp(last.owner, "kasumi/v1/s3-secret/AKIA1"));
    CHECK(memmem(blob, n, "EXAMPLE", 7) == NULL);
    CHECK(ksm_kms_unseal(k, "kasumi/v1/s3-secret/AKIA1", blob, n, &plain, &pn) == KSM_E_OK);
    CHECK(plain && pn == strlen(secret) && !strcmp(plain, secret));
    ksm_kms_secret_free(plain, pn);
    CHECK(ksm_kms_unseal(k, "kasumi/v1/s3-secret/AKIA2", blob, n, &plain, &pn) ==
          KSM_E_DATA_CORRUPT);
    CHECK(plain == NULL && last.op == KSM_KMS_OP_UNSEAL && last.outcome == KSM_E_DATA_CORRUPT);
    blob[n - 1] ^= 1;
    CHECK(ksm_kms_unseal(k, "kasumi/v1/s3-secret/AKIA1", blob, n, &plain, &pn) ==
          KSM_E_DATA_CORRUPT);
    blob[n - 1] ^= 1;
    blob[1] = 3; /* the kind byte: a secret never opens as something else */
    CHECK(ksm_kms_unseal(k, "kasumi/v1/s3-secret/AKIA1", blob, n, &plain, &pn) ==
          KSM_E_DATA_CORRUPT);
    CHECK(ksm_kms_unseal(k, "kasumi/v1/s3-secret/AKIA1", blob, 10, &plain, &pn) ==
          KSM_E_DATA_CORRUPT);
    free(blob);
    CHECK(ksm_kms_seal(k, "ctx", "", 0, &blob, &n) == KSM_E_OK);
    CHECK(ksm_kms_unseal(k, "ctx", blob, n, &plain, &pn) == KSM_E_OK && pn == 0 && plain[0] == 0);
    ksm_kms_secret_free(plain, pn);
    free(blob);
    CHECK(ksm_kms_seal(k, "", "x", 1, &blob, &n) == KSM_E_INVALID_ARGUMENT);
}

/* The master key file as bytes. */
static void key_bytes(const char *path, uint8_t out[32])
{
    size_t n = 0;
    char *d = ksm_read_file(path, &n);
    memset(out, 0, 32);
    if (d && n == 32)
        memcpy(out, d, 32);
    free(d);
}

static bool exists(const char *suffix)
{
    char p[200];
    snprintf(p, sizeof p, "%s%s", keypath, suffix);
    return access(p, F_OK) == 0;
}

/* Master key rotation: tenant keys and sealed secrets re-wrapped, data keys still open, the old
 * key refused; a sealed column nobody listed stops it; both crash windows recover at open. */
static void test_master_rotation(struct ksm_kms **kp)
{
    struct ksm_kms *k = *kp;
    const struct ksm_kms_sealed_col cols[] = {{"t_sealed", "akid", "sealed", "ctx/"}};
    struct ksm_kms_rotate_report rep;
    struct ksm_kms_data_key dk;
    uint8_t uid[16], key[32], old[32], cur[32], *blob;
    size_t n, pn;
    char err[512], *plain;
    ksm_kms_uid_new(uid);
    CHECK(ksm_kms_data_key_new(k, &db, "bk_b1", uid, &dk) == KSM_E_OK);
    CHECK(ksm_db_exec(&db, "CREATE TABLE t_sealed(akid TEXT PRIMARY KEY, sealed BLOB)") ==
          SQLITE_OK);
    CHECK(ksm_kms_seal(k, "ctx/AK1", "secret-1", 8, &blob, &n) == KSM_E_OK);
    sqlite3_stmt *st = ksm_db_prepare(&db, "INSERT INTO t_sealed VALUES('AK1', ?1)");
    sqlite3_bind_blob(st, 1, blob, (int)n, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
    free(blob);
    ksm_kms_close(k);
    key_bytes(keypath, old);

    CHECK(ksm_kms_master_file_rotate(&db, keypath, cols, 1, &rep, err, sizeof err) == 0);
    CHECK(rep.generation == 2 && rep.tenant_keys >= 1 && rep.secrets == 1);
    key_bytes(keypath, cur);
    CHECK(memcmp(old, cur, 32) != 0 && !exists(".new") && !exists(".old"));
    struct ksm_kms_master *m = ksm_kms_master_raw(old);
    CHECK(ksm_kms_master_verify(&db, m, err, sizeof err) == -1); /* the old key opens nothing */
    m->free(m);
    k = *kp = kms_open(err, sizeof err);
    CHECK(k != NULL);
    CHECK(ksm_kms_data_key_open(k, &db, "bk_b1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
              KSM_E_OK &&
          !memcmp(key, dk.key, 32));
    st = ksm_db_prepare(&db, "SELECT sealed FROM t_sealed WHERE akid='AK1'");
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(ksm_kms_unseal(k, "ctx/AK1", sqlite3_column_blob(st, 0),
                         (size_t)sqlite3_column_bytes(st, 0), &plain, &pn) == KSM_E_OK &&
          pn == 8 && !memcmp(plain, "secret-1", 8));
    CHECK(((const uint8_t *)sqlite3_column_blob(st, 0))[5] == 2); /* generation 2 */
    sqlite3_reset(st);
    ksm_kms_secret_free(plain, pn);
    uint8_t tb[128];
    CHECK(wrapped_of("tenant", "tn_b", tb, sizeof tb) == 66 && tb[5] == 2);

    /* a sealed secret in a column the rotation was not told about: refused, nothing changes */
    CHECK(ksm_db_exec(&db, "CREATE TABLE t_other(id TEXT, b BLOB)") == SQLITE_OK);
    CHECK(ksm_kms_seal(k, "other/1", "x", 1, &blob, &n) == KSM_E_OK);
    st = ksm_db_prepare(&db, "INSERT INTO t_other VALUES('1', ?1)");
    sqlite3_bind_blob(st, 1, blob, (int)n, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
    free(blob);
    ksm_kms_close(k);
    CHECK(ksm_kms_master_file_rotate(&db, keypath, cols, 1, &rep, err, sizeof err) == -1);
    CHECK(strstr(err, "t_other.b") != NULL);
    key_bytes(keypath, old);
    CHECK(!memcmp(old, cur, 32) && !exists(".new") && !exists(".old"));
    CHECK(ksm_db_exec(&db, "DROP TABLE t_other") == SQLITE_OK);

    /* crash after the commit, before the rename: the open finds PATH.new and completes it */
    uint8_t nk[32];
    char pnew[200], pold[200];
    snprintf(pnew, sizeof pnew, "%s.new", keypath);
    snprintf(pold, sizeof pold, "%s.old", keypath);
    ksm_random_bytes(nk, sizeof nk);
    CHECK(ksm_kms_master_file_write(pnew, nk, err, sizeof err) == 0);
    struct ksm_kms_master *om = ksm_kms_master_raw(cur), *nm = ksm_kms_master_raw(nk);
    CHECK(ksm_kms_master_rotate(&db, om, nm, cols, 1, &rep, err, sizeof err) == 0);
    CHECK(rep.generation == 3);
    om->free(om);
    nm->free(nm);
    k = *kp = kms_open(err, sizeof err);
    CHECK(k != NULL && !exists(".new"));
    key_bytes(keypath, cur);
    CHECK(!memcmp(cur, nk, 32));
    CHECK(k && ksm_kms_data_key_open(k, &db, "bk_b1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
                   KSM_E_OK);
    ksm_kms_close(k);

    /* the key file renamed but the commit lost: PATH holds a key the database never saw, and
     * PATH.old the one it did */
    CHECK(ksm_kms_master_file_write(pold, cur, err, sizeof err) == 0);
    ksm_random_bytes(nk, sizeof nk);
    CHECK(ksm_kms_master_file_write(keypath, nk, err, sizeof err) == 0);
    k = *kp = kms_open(err, sizeof err);
    CHECK(k != NULL && !exists(".old"));
    key_bytes(keypath, old);
    CHECK(!memcmp(old, cur, 32));
    CHECK(k && ksm_kms_data_key_open(k, &db, "bk_b1", uid, dk.wrapped, sizeof dk.wrapped, key) ==
                   KSM_E_OK);
    ksm_kms_data_key_wipe(&dk);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_kms.XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    snprintf(dbpath, sizeof dbpath, "%s/meta.db", dir);
    snprintf(keypath, sizeof keypath, "%s/keys/master.key", dir);
    ksm_kms_register_schema();
    db_open();

    test_master_key();
    char err[256];
    struct ksm_kms *k = kms_open(err, sizeof err);
    if (!k) {
        fprintf(stderr, "kms: %s\n", err);
        return 2;
    }
    test_hierarchy(k);
    test_disable_enable(k);
    test_rotation(k);
    ksm_kms_set_audit(k, NULL, NULL); /* the hook above is not thread-safe */
    test_threads(k);
    ksm_kms_set_audit(k, on_event, NULL);
    test_destroy(&k);
    test_secrets(k);
    test_master_rotation(&k);
    CHECK(!strcmp(ksm_kms_op_name(KSM_KMS_OP_DESTROY), "destroy"));
    CHECK(ksm_err_status(KSM_E_KEY_DESTROYED) == 410 && ksm_err_status(KSM_E_KEY_DISABLED) == 403);
    ksm_kms_close(k);
    ksm_db_close(&db);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
