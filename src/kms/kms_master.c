/* kms_master.c — the file master key provider, and locked memory for key material.
 *
 * The environment master key is 32 random bytes in a file (mode 0600 in a 0700 directory), read
 * once into locked memory that core dumps leave out. It is used only through the provider's
 * wrap/unwrap, so a PKCS#11 provider (SoftHSM2 in tests, a real HSM in production) can replace it
 * without touching the hierarchy: with an HSM the key never enters this process at all. */
#include "kms/kms_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

void *ksm_kms__secure_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fputs("kasumi: out of memory\n", stderr);
        abort();
    }
    /* best effort: a low RLIMIT_MEMLOCK must not stop the daemon, only weaken the guarantee */
    (void)mlock(p, n);
#ifdef MADV_DONTDUMP
    (void)madvise(p, n, MADV_DONTDUMP);
#endif
    return p;
}

void ksm_kms__secure_free(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    munlock(p, n);
    munmap(p, n);
}

struct file_master {
    struct ksm_kms_master base; /* first: the provider pointer is the struct's */
    uint8_t *key;               /* KSM_KMS_KEY_LEN bytes of secure memory */
};

static int file_wrap(struct ksm_kms_master *m, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                     size_t n, uint8_t *out)
{
    return ksm_kms__gcm_seal(((struct file_master *)m)->key, aad, aadlen, in, n, out);
}

static int file_unwrap(struct ksm_kms_master *m, const uint8_t *aad, size_t aadlen,
                       const uint8_t *in, size_t n, uint8_t *out)
{
    return ksm_kms__gcm_open(((struct file_master *)m)->key, aad, aadlen, in, n, out);
}

static void file_free(struct ksm_kms_master *m)
{
    struct file_master *f = (struct file_master *)m;
    ksm_kms__secure_free(f->key, KSM_KMS_KEY_LEN);
    free(f);
}

/* Writes a key file: the directory is created 0700 (and tightened if it was looser), the key is
 * written durably (tmp, fsync, rename, fsync dir) so a crash never leaves half a key. */
int ksm_kms_master_file_write(const char *path, const uint8_t key[KSM_KMS_KEY_LEN], char *err,
                              size_t errlen)
{
    char *dcopy = ksm_xstrdup(path);
    const char *dir = dirname(dcopy);
    int rc = -1;
    if (ksm_mkdir_p(dir, 0700) || chmod(dir, 0700)) {
        snprintf(err, errlen, "master key directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (ksm_write_file_durable(path, key, KSM_KMS_KEY_LEN, 0600)) {
        snprintf(err, errlen, "master key %s: cannot write: %s", path, strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    free(dcopy);
    return rc;
}

static int create_key(const char *path, uint8_t *key, char *err, size_t errlen)
{
    ksm_random_bytes(key, KSM_KMS_KEY_LEN);
    if (ksm_kms_master_file_write(path, key, err, errlen))
        return -1;
    ksm_info("kms: created a new environment master key in %s; back it up (docs/encryption.md)",
             path);
    return 0;
}

/* rename, then fsync the directory so the new name survives a crash. */
int ksm_kms__rename_durable(const char *from, const char *to)
{
    char *dcopy = ksm_xstrdup(to);
    int rc = rename(from, to) ? -1 : ksm_fsync_dir(dirname(dcopy));
    free(dcopy);
    return rc;
}

/* Reads exactly KSM_KMS_KEY_LEN bytes straight into secure memory (no stdio or heap copies), and
 * refuses a file that others can read, as ssh does with private keys. */
static int read_key(const char *path, uint8_t *key, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "master key %s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t extra;
    ssize_t r = 0, got = 0;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "master key %s: not a regular file", path);
        goto fail;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "master key %s: mode %03o lets others read it; chmod 600 it", path,
                 (unsigned)(st.st_mode & 0777));
        goto fail;
    }
    while (got < KSM_KMS_KEY_LEN && (r = read(fd, key + got, KSM_KMS_KEY_LEN - (size_t)got)) > 0)
        got += r;
    if (got != KSM_KMS_KEY_LEN || read(fd, &extra, 1) != 0) {
        snprintf(err, errlen, "master key %s: not a %d-byte key", path, KSM_KMS_KEY_LEN);
        goto fail;
    }
    close(fd);
    return 0;
fail:
    close(fd);
    OPENSSL_cleanse(key, KSM_KMS_KEY_LEN);
    return -1;
}

int ksm_kms_master_file_read(const char *path, uint8_t key[KSM_KMS_KEY_LEN], char *err,
                             size_t errlen)
{
    return read_key(path, key, err, errlen);
}

struct ksm_kms_master *ksm_kms_master_raw(const uint8_t key[KSM_KMS_KEY_LEN])
{
    struct file_master *f = ksm_xcalloc(1, sizeof *f);
    f->base = (struct ksm_kms_master){"file", file_wrap, file_unwrap, file_free};
    f->key = ksm_kms__secure_alloc(KSM_KMS_KEY_LEN);
    memcpy(f->key, key, KSM_KMS_KEY_LEN);
    return &f->base;
}

int ksm_kms_master_file_open(const char *path, bool create, struct ksm_kms_master **out, char *err,
                             size_t errlen)
{
    struct file_master *f = ksm_xcalloc(1, sizeof *f);
    f->base = (struct ksm_kms_master){"file", file_wrap, file_unwrap, file_free};
    f->key = ksm_kms__secure_alloc(KSM_KMS_KEY_LEN);
    struct stat st;
    if (lstat(path, &st) && errno == ENOENT) {
        if (!create) {
            snprintf(err, errlen, "master key %s is missing", path);
            goto fail;
        }
        if (create_key(path, f->key, err, errlen))
            goto fail;
    } else if (read_key(path, f->key, err, errlen)) {
        goto fail;
    }
    *out = &f->base;
    return 0;
fail:
    file_free(&f->base);
    return -1;
}
