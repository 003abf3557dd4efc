/* cmd_kms_master.c — `kasumi kms backup|restore|rotate-master`: the environment master key, handled
 * on the host that holds the data directory, never over the API (the key file is root's, 0600).
 *   backup         splits DATA/keys/master.key into N Shamir shares, printed as text, any K of
 *                  which rebuild it (docs/encryption.md, "Master key backup");
 *   restore        rebuilds the key from shares and writes it, only if it is the key the data
 *                  directory was encrypted with (its key check value), never over a different key
 *                  without --force;
 *   rotate-master  a new master key: every tenant key and sealed secret re-wrapped under it in one
 *                  transaction (kasumid must be stopped: the data directory's lock is taken).
 * Exit status: 0 done, 1 refused (wrong or too few shares, a key that does not match), 2 bad
 * command line or unreadable input. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/audit.h"
#include "cli.h"
#include "core/db.h"
#include "core/log.h"
#include "core/util.h"
#include "kms/kms.h"
#include "kms/kms_shamir.h"

/* Secrets sealed under the master key, re-sealed by a rotation: S3 secret access keys (SigV4
 * needs them in plaintext), sealed by src/admin/h_keys.c with this context. A sealer missing here
 * makes the rotation refuse (it scans every column for blobs sealed under the old key). */
static const struct ksm_kms_sealed_col sealed_cols[] = {
    {"iam_s3_keys", "access_key_id", "sealed", "kasumi/v1/s3-secret/"},
    /* billing webhook signing secrets (src/billing/billing_webhook.c) */
    {"billing_webhooks", "id", "secret_sealed", "kasumi/v1/billing-webhook/"},
};

struct paths {
    char key[600], db[600], lock[600], audit[600], audit_key[600];
};

static int data_paths(const struct kc_args *a, struct paths *p)
{
    const char *dir = kc_flag(a, "data");
    if (strlen(dir) > 500)
        return kc_usage_err(NULL, "--data: path too long");
    snprintf(p->key, sizeof p->key, "%s/keys/master.key", dir);
    snprintf(p->db, sizeof p->db, "%s/meta.db", dir);
    snprintf(p->lock, sizeof p->lock, "%s/kasumid.lock", dir);
    snprintf(p->audit, sizeof p->audit, "%s/audit", dir);
    snprintf(p->audit_key, sizeof p->audit_key, "%s/keys/audit-ed25519.pem", dir);
    return 0;
}

/* Every use of a key is audited (SPEC.md B3), these too: with the data directory's lock held,
 * kasumid is stopped and the audit log is ours to append to (durably, then sealed). The principal
 * is the host account that ran the command. Returns 0, or -1 after printing why. */
static int host_audit(const struct paths *p, const char *action, bool ok, const char *detail)
{
    struct ksm_audit *a;
    struct ksm_audit_opts o = {.retention_days = KSM_AUDIT_MIN_RETENTION_DAYS,
                               .env_name = "govcloud"};
    char err[512], who[96];
    if (access(p->audit, F_OK))
        return 0; /* a data directory kasumid never ran in has no log yet */
    enum ksm_log_level was = ksm_log_min;
    ksm_log_min = KSM_LOG_WARN; /* the library's "audit open at seq …" is not for this user */
    struct passwd *pw = getpwuid(getuid());
    snprintf(who, sizeof who, "host:%s", pw ? pw->pw_name : "?");
    if (ksm_audit_open(&a, p->audit, p->audit_key, &o, err, sizeof err)) {
        ksm_log_min = was;
        kc_err("audit log: %s", err);
        return -1;
    }
    struct ksm_audit_rec rec = {.principal = who,
                                .source = "kasumi-cli",
                                .action = action,
                                .target = p->key,
                                .outcome = ok ? "success" : "error",
                                .detail = detail};
    ksm_audit_submit(a, &rec, NULL, NULL, NULL);
    ksm_audit_flush(a);
    ksm_audit_close(a);
    ksm_log_min = was;
    return 0;
}

/* kasumid holds this lock while it runs: taking it proves the daemon is stopped. */
static int lock_data(const struct paths *p)
{
    int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
        kc_err("%s is in use by a running kasumid: stop it first", p->lock);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Opens the data directory's database if it has one: 1 opened, 0 none, -1 error (printed). */
static int open_db(const struct paths *p, struct ksm_db *db)
{
    char err[512];
    if (access(p->db, F_OK))
        return 0;
    ksm_kms_register_schema();
    if (ksm_db_open(db, p->db, err, sizeof err)) {
        kc_err("%s", err);
        return -1;
    }
    return 1;
}

/* Does key open the data directory's check value? 1 yes, 0 nothing to check, -1 no (printed). */
static int verify_key(const struct paths *p, const uint8_t key[KSM_KMS_KEY_LEN])
{
    struct ksm_db db;
    char err[512] = "";
    int o = open_db(p, &db);
    if (o <= 0)
        return o;
    struct ksm_kms_master *m = ksm_kms_master_raw(key);
    int v = ksm_kms_master_verify(&db, m, err, sizeof err);
    m->free(m);
    ksm_db_close(&db);
    if (v < 0)
        kc_err("the key is not the master key of %s (key check value mismatch)", p->db);
    return v;
}

static int int_flag(const struct kc_args *a, const char *name, int *out)
{
    char *end;
    long v = strtol(kc_flag(a, name), &end, 10);
    if (*end || v < 2 || v > KSM_SHAMIR_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int kc_kms_backup(struct kc_ctx *c, const struct kc_args *a)
{
    struct paths p;
    struct ksm_kms_share shares[KSM_SHAMIR_MAX];
    uint8_t key[KSM_KMS_KEY_LEN];
    char err[512], line[KSM_KMS_SHARE_TEXT_MAX];
    int n, k, rc = KC_EXIT_USAGE;
    if (data_paths(a, &p))
        return KC_EXIT_USAGE;
    if (int_flag(a, "shares", &n) || int_flag(a, "threshold", &k) || k > n)
        return kc_usage_err(c->cmd, "need 2 <= --threshold <= --shares <= %d", KSM_SHAMIR_MAX);
    if (ksm_kms_master_file_read(p.key, key, err, sizeof err)) {
        kc_err("%s", err);
        return KC_EXIT_USAGE;
    }
    int v = verify_key(&p, key);
    if (v < 0) {
        rc = KC_EXIT_API;
        goto done;
    }
    if (ksm_kms_share_split(key, k, n, shares))
        goto done;
    char detail[64];
    snprintf(detail, sizeof detail, "shares=%d threshold=%d", n, k);
    int lock = open(p.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    bool locked = lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0;
    int audited = locked ? host_audit(&p, "kms.master.backup", true, detail) : 0;
    if (!locked)
        kc_err("note: kasumid is running, so this backup is not in its audit log");
    if (lock >= 0)
        close(lock);
    if (audited)
        goto done;
    printf("# kasumi master key backup of %s: %d shares, any %d rebuild the key\n"
           "# (kasumi kms restore). Give each share to a different custodian; fewer than %d\n"
           "# reveal nothing. Lines starting with # are ignored.\n",
           p.key, n, k, k);
    if (v == 0)
        printf("# note: %s has no key check value yet; the key was not checked against it\n", p.db);
    for (int i = 0; i < n; i++) {
        ksm_kms_share_format(&shares[i], line);
        printf("%s\n", line);
    }
    OPENSSL_cleanse(line, sizeof line);
    rc = KC_EXIT_OK;
done:
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(shares, sizeof shares);
    return rc;
}

/* Reads share lines from f (blank lines and # comments skipped). Count, or -1 (printed). */
static int read_shares(FILE *f, struct ksm_kms_share *out, int cap)
{
    char buf[1024];
    int n = 0, lineno = 0;
    while (fgets(buf, sizeof buf, f)) {
        const char *why = NULL;
        size_t len = strlen(buf), i = strspn(buf, " \t\r\n");
        lineno++;
        if (i == len || buf[i] == '#')
            continue;
        if (n == cap) {
            kc_err("more than %d shares", cap);
            return -1;
        }
        if (ksm_kms_share_parse(buf, len, &out[n], &why)) {
            kc_err("share on line %d: %s", lineno, why);
            OPENSSL_cleanse(buf, sizeof buf);
            return -1;
        }
        n++;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return n;
}

/* An existing key file: the same key is fine, another one only with --force. 0 go on, 1 nothing
 * to do, -1 refused (printed). */
static int check_existing(const struct paths *p, const uint8_t key[KSM_KMS_KEY_LEN], bool force)
{
    uint8_t cur[KSM_KMS_KEY_LEN];
    char err[512];
    if (access(p->key, F_OK))
        return 0;
    int same = !ksm_kms_master_file_read(p->key, cur, err, sizeof err) &&
               ksm_ct_equal(cur, key, sizeof cur);
    OPENSSL_cleanse(cur, sizeof cur);
    if (same)
        return 1;
    if (force)
        return 0;
    kc_err("%s exists and holds another key: not overwritten (--force replaces it)", p->key);
    return -1;
}

static int restore_key(const struct paths *p, const uint8_t key[KSM_KMS_KEY_LEN], bool force)
{
    char err[512];
    if (verify_key(p, key) < 0)
        return KC_EXIT_API;
    int e = check_existing(p, key, force);
    if (e < 0)
        return KC_EXIT_API;
    if (e == 1) {
        printf("%s already holds this key: nothing to do\n", p->key);
        return KC_EXIT_OK;
    }
    if (ksm_kms_master_file_write(p->key, key, err, sizeof err)) {
        kc_err("%s", err);
        return KC_EXIT_USAGE;
    }
    printf("master key restored to %s (mode 0600); it matches the data directory's key check "
           "value\n",
           p->key);
    return KC_EXIT_OK;
}

int kc_kms_restore(struct kc_ctx *c, const struct kc_args *a)
{
    struct paths p;
    struct ksm_kms_share *shares = ksm_xcalloc(KSM_SHAMIR_MAX, sizeof *shares);
    uint8_t key[KSM_KMS_KEY_LEN];
    const char *in = kc_flag(a, "in"), *why = NULL;
    int rc = KC_EXIT_USAGE, lock = -1, n;
    FILE *f = in && strcmp(in, "-") ? fopen(in, "r") : stdin;
    if (!f) {
        kc_err("%s: %s", in, strerror(errno));
        goto done;
    }
    if (data_paths(a, &p))
        goto done;
    if ((lock = lock_data(&p)) < 0) {
        rc = KC_EXIT_API;
        goto done;
    }
    if ((n = read_shares(f, shares, KSM_SHAMIR_MAX)) < 0)
        goto done;
    if (ksm_kms_share_combine(shares, n, key, &why)) {
        kc_err("refused: %s", why);
        rc = KC_EXIT_API;
        host_audit(&p, "kms.master.restore", false, "shares refused");
        goto done;
    }
    rc = restore_key(&p, key, kc_flag_set(a, "force"));
    OPENSSL_cleanse(key, sizeof key);
    char detail[48];
    snprintf(detail, sizeof detail, "shares=%d", n);
    host_audit(&p, "kms.master.restore", rc == KC_EXIT_OK, detail);
done:
    if (f && f != stdin)
        fclose(f);
    if (lock >= 0)
        close(lock);
    OPENSSL_cleanse(shares, KSM_SHAMIR_MAX * sizeof *shares);
    free(shares);
    return rc;
}

int kc_kms_rotate_master(struct kc_ctx *c, const struct kc_args *a)
{
    struct paths p;
    struct ksm_db db;
    struct ksm_kms_rotate_report rep;
    char err[512] = "";
    int rc = KC_EXIT_USAGE, lock = -1, o;
    if (data_paths(a, &p))
        goto done;
    if ((lock = lock_data(&p)) < 0) {
        rc = KC_EXIT_API;
        goto done;
    }
    if ((o = open_db(&p, &db)) <= 0) {
        if (o == 0)
            kc_err("%s: no such database", p.db);
        goto done;
    }
    if (ksm_kms_master_file_rotate(&db, p.key, sealed_cols, KSM_NELEM(sealed_cols), &rep, err,
                                   sizeof err)) {
        kc_err("refused: %s", err);
        rc = KC_EXIT_API;
        host_audit(&p, "kms.master.rotate", false, NULL);
    } else {
        char detail[96];
        snprintf(detail, sizeof detail, "generation=%u tenant_keys=%d secrets=%d", rep.generation,
                 rep.tenant_keys, rep.secrets);
        host_audit(&p, "kms.master.rotate", true, detail);
        printf("master key rotated (generation %u): %d tenant key version(s) and %d sealed "
               "secret(s) re-wrapped; object data untouched.\n"
               "The old key and its shares no longer open this data directory: make new shares "
               "now (kasumi kms backup) and destroy the old ones.\n",
               rep.generation, rep.tenant_keys, rep.secrets);
        rc = KC_EXIT_OK;
    }
    ksm_db_close(&db);
done:
    if (lock >= 0)
        close(lock);
    return rc;
}
