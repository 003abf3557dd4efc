/* audit_sign.c — the environment's Ed25519 audit key: load or create it, sign checkpoint and seal
 * lines, verify them. Ed25519 (pure, no pre-hash) through OpenSSL 3's EVP_DigestSign with a NULL
 * digest; one signature costs ~50 µs, so the writer signs once per batch, not per record. */
#include "audit/audit_int.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static EVP_PKEY *key_create(const char *key_path, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    char *dir = ksm_xstrdup(key_path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (ksm_mkdir_p(dir, 0700)) {
            snprintf(err, errlen, "%s: %s", dir, strerror(errno));
            goto fail;
        }
    }
    key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    bio = BIO_new(BIO_s_mem());
    if (!key || !bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
        snprintf(err, errlen, "cannot generate the audit signing key");
        goto fail;
    }
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    if (ksm_write_file_durable(key_path, pem, (size_t)n, 0600)) {
        snprintf(err, errlen, "%s: %s", key_path, strerror(errno));
        goto fail;
    }
    ksm_info("audit: created signing key %s", key_path);
    BIO_free(bio);
    free(dir);
    return key;
fail:
    EVP_PKEY_free(key);
    BIO_free(bio);
    free(dir);
    return NULL;
}

static EVP_PKEY *pem_load(const char *path, bool private_only, char *err, size_t errlen)
{
    size_t n;
    char *pem = ksm_read_file(path, &n);
    if (!pem) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (!key && !private_only) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)n);
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    OPENSSL_cleanse(pem, n);
    free(pem);
    if (key && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    if (!key)
        snprintf(err, errlen, "%s: not an Ed25519 %s key (PEM)", path,
                 private_only ? "private" : "public");
    return key;
}

EVP_PKEY *ksm_audit_key_load(const char *key_path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(key_path, &st)) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", key_path, strerror(errno));
            return NULL;
        }
        return key_create(key_path, err, errlen);
    }
    if (st.st_mode & 077)
        ksm_warn("audit: signing key %s is readable by others (mode %03o); it should be 0600",
                 key_path, (unsigned)(st.st_mode & 0777));
    return pem_load(key_path, true, err, errlen);
}

EVP_PKEY *ksm_audit_pubkey_load(const char *path, char *err, size_t errlen)
{
    return pem_load(path, false, err, errlen);
}

int ksm_audit_sign(EVP_PKEY *key, const void *msg, size_t n, unsigned char sig[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 64;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, &len, msg, n) == 1 && len == 64;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

bool ksm_audit_sig_ok(EVP_PKEY *key, const void *msg, size_t n, const unsigned char sig[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
              EVP_DigestVerify(ctx, sig, 64, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

bool ksm_audit_line_sig_ok(EVP_PKEY *key, const char *p, size_t n, const struct ksm_audit_line *l)
{
    /* The parsed "sig" must be exactly the line's last bytes, so the signed prefix is the rest of
     * the line and no byte escapes the signature (no padding, no second "sig" trick). */
    size_t tag = sizeof(KSM_AUDIT_SIG_TAG) - 1;
    if (n < KSM_AUDIT_SIG_SUFFIX_LEN)
        return false;
    const char *s = p + n - KSM_AUDIT_SIG_SUFFIX_LEN;
    char hex[KSM_AUDIT_SIG_HEX + 1];
    ksm_hex(l->sig, 64, hex);
    if (memcmp(s, KSM_AUDIT_SIG_TAG, tag) || memcmp(s + tag, hex, KSM_AUDIT_SIG_HEX) ||
        memcmp(s + tag + KSM_AUDIT_SIG_HEX, "\"}", 2))
        return false;
    return ksm_audit_sig_ok(key, p, n - KSM_AUDIT_SIG_SUFFIX_LEN, l->sig);
}

int ksm_audit_pubkey_pem(EVP_PKEY *key, struct ksm_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PUBKEY(bio, key)) {
        BIO_free(bio);
        return -1;
    }
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    ksm_buf_append(out, pem, (size_t)n);
    BIO_free(bio);
    return 0;
}

int ksm_audit_document_verify(const char *pem_path, const void *msg, size_t n,
                              const unsigned char sig[64], char *err, size_t errlen)
{
    EVP_PKEY *key = pem_load(pem_path, false, err, errlen);
    if (!key)
        return -1;
    bool ok = ksm_audit_sig_ok(key, msg, n, sig);
    EVP_PKEY_free(key);
    return ok ? 1 : 0;
}
