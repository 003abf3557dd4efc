/* evp.c — see evp.h. */
#include "core/evp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static struct {
    EVP_MD *sha256, *sha1, *md5;
    EVP_CIPHER *gcm;
} algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
    algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    algs.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    algs.md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    algs.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* A failed fetch falls back to the implicit one: slower, never different. */
const EVP_MD *ksm_evp_sha256(void)
{
    pthread_once(&algs_once, fetch);
    return algs.sha256 ? algs.sha256 : EVP_sha256();
}

const EVP_MD *ksm_evp_sha1(void)
{
    pthread_once(&algs_once, fetch);
    return algs.sha1 ? algs.sha1 : EVP_sha1();
}

const EVP_MD *ksm_evp_md5(void)
{
    pthread_once(&algs_once, fetch);
    return algs.md5 ? algs.md5 : EVP_md5();
}

const EVP_CIPHER *ksm_evp_aes256gcm(void)
{
    pthread_once(&algs_once, fetch);
    return algs.gcm ? algs.gcm : EVP_aes_256_gcm();
}

/* The low-level SHA-256 calls are deprecated in OpenSSL 3 in favour of EVP, whose per-call context
 * setup is what this file avoids; they remain supported and run the same code (see evp.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void ksm_sha256(const void *data, size_t n, unsigned char out[32])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, n);
    SHA256_Final(out, &c);
}

void ksm_hmac_sha256_key(struct ksm_hmac_sha256_key *k, const void *key, size_t klen)
{
    unsigned char block[SHA256_CBLOCK] = {0};
    if (klen > sizeof block)   /* RFC 2104: a key longer than the block is hashed first */
        ksm_sha256(key, klen, block);
    else
        memcpy(block, key, klen);
    for (size_t i = 0; i < sizeof block; i++)
        block[i] ^= 0x36;
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, block, sizeof block);
    for (size_t i = 0; i < sizeof block; i++)
        block[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, block, sizeof block);
    OPENSSL_cleanse(block, sizeof block);
}

void ksm_hmac_sha256_begin(struct ksm_hmac_sha256_run *r, const struct ksm_hmac_sha256_key *k)
{
    r->c = k->inner;
    r->k = k;
}

void ksm_hmac_sha256_update(struct ksm_hmac_sha256_run *r, const void *p, size_t n)
{
    SHA256_Update(&r->c, p, n);
}

void ksm_hmac_sha256_end(struct ksm_hmac_sha256_run *r, unsigned char out[32])
{
    unsigned char h[32];
    SHA256_Final(h, &r->c);
    r->c = r->k->outer;
    SHA256_Update(&r->c, h, sizeof h);
    SHA256_Final(out, &r->c);
    OPENSSL_cleanse(&r->c, sizeof r->c);
}

void ksm_hmac_sha256_keyed(const struct ksm_hmac_sha256_key *k, const void *msg, size_t n,
                           unsigned char out[32])
{
    struct ksm_hmac_sha256_run r;
    ksm_hmac_sha256_begin(&r, k);
    ksm_hmac_sha256_update(&r, msg, n);
    ksm_hmac_sha256_end(&r, out);
}

#pragma GCC diagnostic pop

void ksm_hmac_sha256_forget(struct ksm_hmac_sha256_key *k) { OPENSSL_cleanse(k, sizeof *k); }

void ksm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32])
{
    struct ksm_hmac_sha256_key k;
    ksm_hmac_sha256_key(&k, key, klen);
    ksm_hmac_sha256_keyed(&k, msg, n, out);
    ksm_hmac_sha256_forget(&k);
}
