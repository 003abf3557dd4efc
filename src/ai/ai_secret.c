/* ai_secret.c — the gateway's secrets: the environment key under which prompts are identified in
 * audit records (an HMAC: a plain hash of a short prompt could be brute-forced back to its text),
 * and the upstream credentials, read from the files that model routes name (never echoed, never
 * logged; re-read when the file changes, so rotating a provider key needs no restart). */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ai/ai_int.h"
#include "core/evp.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/util.h"

static unsigned char hmac_key[32];
/* Its pads hashed once; each prompt is hashed on a copy on the stack (evp.h). */
static struct ksm_hmac_sha256_key hmac_keyed;

static int hmac_ready(void)
{
    ksm_hmac_sha256_key(&hmac_keyed, hmac_key, sizeof hmac_key);
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
        return hmac_ready();
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
    return hmac_ready();
}

void ksm_ai_prompt_hmac(const char *text, size_t len, char out[65])
{
    unsigned char mac[32];
    ksm_hmac_sha256_keyed(&hmac_keyed, text, len, mac);
    ksm_hex(mac, sizeof mac, out);
}

/* One text of the request and its newline: the bytes of ksm_ai_request_text, unjoined. */
static enum ksm_err hmac_part(void *ud, struct ksm_ai_part *p)
{
    size_t n;
    const char *t = ksm_ai_part_text(p, &n);
    ksm_hmac_sha256_update(ud, t, n);
    ksm_hmac_sha256_update(ud, "\n", 1);
    return KSM_E_OK;
}

void ksm_ai_prompt_hmac_parts(struct ksm_ai_request *req, char out[65])
{
    unsigned char mac[32];
    struct ksm_hmac_sha256_run r;
    ksm_hmac_sha256_begin(&r, &hmac_keyed);
    ksm_ai_request_visit(req, KSM_AI_ROLES_ALL, hmac_part, &r);
    ksm_hmac_sha256_end(&r, mac);
    ksm_hex(mac, sizeof mac, out);
}

/* A small cache keyed by path; an entry is refreshed when the file's mtime or size changes, which
 * is looked at once a second at most (a stat per request was 3 % of the gateway's CPU): a rotated
 * key is in use within a second. */
#define CRED_SLOTS 32
#define CRED_RECHECK_NS 1000000000ull
static struct {
    char path[256];
    char secret[512];
    struct timespec mtime;
    off_t size;
    uint64_t checked_ns;
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

/* The slot holding path, or -1. */
static int cred_find(const char *path)
{
    for (int i = 0; i < CRED_SLOTS; i++)
        if (!strcmp(creds[i].path, path))
            return i;
    return -1;
}

const char *ksm_ai_credential(const char *path, char *buf, size_t n)
{
    if (!path || !*path)
        return NULL;
    uint64_t now = ksm_mono_ns();
    pthread_mutex_lock(&cred_mu);
    int slot = cred_find(path);
    if (slot >= 0 && now - creds[slot].checked_ns < CRED_RECHECK_NS) {
        ksm_fmt_copy(buf, n, creds[slot].secret);
        pthread_mutex_unlock(&cred_mu);
        return buf;
    }
    pthread_mutex_unlock(&cred_mu);
    struct stat st;
    if (stat(path, &st))
        return NULL;
    const char *res = NULL;
    pthread_mutex_lock(&cred_mu);
    if ((slot = cred_find(path)) < 0)
        for (int i = 0; i < CRED_SLOTS && slot < 0; i++)
            if (!creds[i].path[0])
                slot = i;
    if (slot < 0)
        slot = (int)(st.st_ino % CRED_SLOTS);
    bool fresh = !strcmp(creds[slot].path, path) && creds[slot].size == st.st_size &&
                 creds[slot].mtime.tv_sec == st.st_mtim.tv_sec &&
                 creds[slot].mtime.tv_nsec == st.st_mtim.tv_nsec;
    if (fresh || load(slot, path, &st) == 0) {
        creds[slot].checked_ns = now;
        ksm_fmt_copy(buf, n, creds[slot].secret);
        res = buf;
    }
    pthread_mutex_unlock(&cred_mu);
    return res;
}
