/* ai_secret.c — the gateway's secrets: the environment key under which prompts are identified in
 * audit records (an HMAC: a plain hash of a short prompt could be brute-forced back to its text),
 * and the upstream credentials, read from the files that model routes name (never echoed, never
 * logged; re-read when the file changes, so rotating a provider key needs no restart). */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ai/ai_int.h"
#include "core/log.h"
#include "core/util.h"

static unsigned char hmac_key[32];
/* Keyed once; each call works on a copy. The one-shot HMAC() fetched SHA-256 and set the key up
 * again for every prompt, which cost more than hashing the prompt. */
static EVP_MAC_CTX *hmac_keyed;

static int hmac_ready(char *err, size_t errlen)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_free(hmac_keyed);
    hmac_keyed = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    if (!hmac_keyed || !EVP_MAC_init(hmac_keyed, hmac_key, sizeof hmac_key, params)) {
        snprintf(err, errlen, "OpenSSL: HMAC-SHA256 unavailable");
        return -1;
    }
    return 0;
}

int ksm_ai_hmac_init(const char *path, char *err, size_t errlen)
{
    size_t n = 0;
    char *k = ksm_read_file(path, &n);
    if (k && n == sizeof hmac_key) {
        memcpy(hmac_key, k, n);
        OPENSSL_cleanse(k, n);
        free(k);
        return hmac_ready(err, errlen);
    }
    free(k);
    if (k) {
        snprintf(err, errlen, "%s: expected %zu bytes", path, sizeof hmac_key);
        return -1;
    }
    ksm_random_bytes(hmac_key, sizeof hmac_key);
    if (ksm_write_file_durable(path, hmac_key, sizeof hmac_key, 0600)) {
        snprintf(err, errlen, "%s: cannot create", path);
        return -1;
    }
    return hmac_ready(err, errlen);
}

void ksm_ai_prompt_hmac(const char *text, size_t len, char out[65])
{
    unsigned char mac[32];
    size_t mlen = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(hmac_keyed);
    if (!c || !EVP_MAC_update(c, (const unsigned char *)text, len) ||
        !EVP_MAC_final(c, mac, &mlen, sizeof mac) || mlen != sizeof mac) {
        ksm_error("ai: HMAC-SHA256 failed");   /* OpenSSL out of memory: nothing sane to record */
        abort();
    }
    EVP_MAC_CTX_free(c);
    ksm_hex(mac, sizeof mac, out);
}

/* A small cache keyed by path; an entry is refreshed when the file's mtime or size changes. */
#define CRED_SLOTS 32
static struct {
    char path[256];
    char secret[512];
    struct timespec mtime;
    off_t size;
} creds[CRED_SLOTS];
static pthread_mutex_t cred_mu = PTHREAD_MUTEX_INITIALIZER;

static int load(int slot, const char *path, const struct stat *st)
{
    size_t n = 0;
    char *s = ksm_read_file(path, &n);
    if (!s)
        return -1;
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    if (n >= sizeof creds[slot].secret) {
        OPENSSL_cleanse(s, n);
        free(s);
        return -1;
    }
    memcpy(creds[slot].secret, s, n);
    creds[slot].secret[n] = '\0';
    OPENSSL_cleanse(s, n);
    free(s);
    snprintf(creds[slot].path, sizeof creds[slot].path, "%s", path);
    creds[slot].mtime = st->st_mtim;
    creds[slot].size = st->st_size;
    return 0;
}

const char *ksm_ai_credential(const char *path, char *buf, size_t n)
{
    struct stat st;
    if (!path || !*path || stat(path, &st))
        return NULL;
    const char *res = NULL;
    pthread_mutex_lock(&cred_mu);
    int slot = -1, empty = -1;
    for (int i = 0; i < CRED_SLOTS && slot < 0; i++) {
        if (!strcmp(creds[i].path, path))
            slot = i;
        else if (!creds[i].path[0] && empty < 0)
            empty = i;
    }
    if (slot < 0)
        slot = empty >= 0 ? empty : (int)(st.st_ino % CRED_SLOTS);
    bool fresh = !strcmp(creds[slot].path, path) && creds[slot].size == st.st_size &&
                 creds[slot].mtime.tv_sec == st.st_mtim.tv_sec &&
                 creds[slot].mtime.tv_nsec == st.st_mtim.tv_nsec;
    if (fresh || load(slot, path, &st) == 0) {
        snprintf(buf, n, "%s", creds[slot].secret);
        res = buf;
    }
    pthread_mutex_unlock(&cred_mu);
    return res;
}
