/* evp.c — see evp.h. */
#include "core/evp.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>

static struct {
    EVP_MD *sha256, *sha1, *md5;
    EVP_CIPHER *gcm;
    EVP_MAC_CTX *hmac;   /* HMAC with SHA-256 set and no key: duplicated per call, never keyed */
} algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
    algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    algs.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    algs.md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    algs.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);   /* the context holds its own reference */
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                      OSSL_PARAM_construct_end()};
    if (c && EVP_MAC_CTX_set_params(c, p) == 1)
        algs.hmac = c;
    else
        EVP_MAC_CTX_free(c);
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

void ksm_hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32])
{
    pthread_once(&algs_once, fetch);
    if (!algs.hmac) {
        unsigned int len = 32;
        if (!HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &len))
            abort();
        return;
    }
    /* the template is only read here (dup takes references), so threads share it safely */
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(algs.hmac);
    size_t len = 0;
    int ok = c && EVP_MAC_init(c, key, klen, NULL) == 1 && EVP_MAC_update(c, msg, n) == 1 &&
             EVP_MAC_final(c, out, &len, 32) == 1 && len == 32;
    EVP_MAC_CTX_free(c);   /* wipes the keyed state */
    if (!ok)
        abort();   /* only out of memory gets here: fatal, as ksm_xmalloc */
}
