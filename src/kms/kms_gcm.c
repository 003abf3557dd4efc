/* kms_gcm.c — AES-256-GCM with a key expanded once (kms_gcm.h): Intel's multi-buffer library where
 * the build has it (KSM_HAVE_IPSEC_MB), OpenSSL's EVP otherwise. */
#include "kms/kms_gcm.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#ifdef KSM_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>
#include <pthread.h>

/* The manager only dispatches: its direct GCM entry points are plain functions of the key and a
 * per-call context, so one manager, set up once for the CPU, serves every thread. */
static IMB_MGR *mgr;
static pthread_once_t mgr_once = PTHREAD_ONCE_INIT;

static void mgr_init(void)
{
    mgr = alloc_mb_mgr(0);
    if (mgr)
        init_mb_mgr_auto(mgr, NULL);
    if (mgr && imb_get_errno(mgr) != 0) {
        free_mb_mgr(mgr);
        mgr = NULL;
    }
}

static IMB_MGR *get_mgr(void)
{
    pthread_once(&mgr_once, mgr_init);
    return mgr;
}

struct ksm_gcm {
    struct gcm_key_data k; /* round keys and GHASH key powers; the library wants it aligned */
};

struct ksm_gcm *ksm_gcm_new(const uint8_t key[KSM_GCM_KEY_LEN])
{
    IMB_MGR *m = get_mgr();
    size_t size = (sizeof(struct ksm_gcm) + 63) & ~(size_t)63;
    struct ksm_gcm *g = m ? aligned_alloc(64, size) : NULL;
    if (!g)
        return NULL;
    IMB_AES256_GCM_PRE(m, key, &g->k);
    return g;
}

int ksm_gcm_seal(struct ksm_gcm *g, const uint8_t nonce[KSM_GCM_NONCE_LEN], const uint8_t *aad,
                 size_t aad_n, const uint8_t *in, size_t n, uint8_t *out,
                 uint8_t tag[KSM_GCM_TAG_LEN])
{
    struct gcm_context_data c;
    IMB_AES256_GCM_ENC(mgr, &g->k, &c, out, in, n, nonce, aad, aad_n, tag, KSM_GCM_TAG_LEN);
    explicit_bzero(&c, sizeof c); /* holds an encrypted counter block */
    return 0;
}

int ksm_gcm_open(struct ksm_gcm *g, const uint8_t nonce[KSM_GCM_NONCE_LEN], const uint8_t *aad,
                 size_t aad_n, const uint8_t *in, size_t n, const uint8_t tag[KSM_GCM_TAG_LEN],
                 uint8_t *out)
{
    struct gcm_context_data c;
    uint8_t got[KSM_GCM_TAG_LEN];
    IMB_AES256_GCM_DEC(mgr, &g->k, &c, out, in, n, nonce, aad, aad_n, got, sizeof got);
    explicit_bzero(&c, sizeof c);
    if (CRYPTO_memcmp(got, tag, sizeof got) == 0)
        return 0;
    explicit_bzero(out, n);
    return -1;
}

void ksm_gcm_free(struct ksm_gcm *g)
{
    if (!g)
        return;
    explicit_bzero(g, sizeof *g);
    free(g);
}

const char *ksm_gcm_impl(void)
{
    static const char *const names[] = {
        [IMB_ARCH_NOAESNI] = "ipsec-mb/no-aesni", [IMB_ARCH_SSE] = "ipsec-mb/sse",
        [IMB_ARCH_AVX] = "ipsec-mb/avx",          [IMB_ARCH_AVX2] = "ipsec-mb/avx2",
        [IMB_ARCH_AVX512] = "ipsec-mb/avx512",
    };
    IMB_MGR *m = get_mgr();
    return m && m->used_arch < IMB_ARCH_NUM && names[m->used_arch] ? names[m->used_arch]
                                                                    : "ipsec-mb";
}

#else /* OpenSSL */
#include <openssl/evp.h>

#include "core/evp.h"

struct ksm_gcm {
    EVP_CIPHER_CTX *c; /* keyed once; each message only re-nonces it */
};

struct ksm_gcm *ksm_gcm_new(const uint8_t key[KSM_GCM_KEY_LEN])
{
    struct ksm_gcm *g = ksm_xcalloc(1, sizeof *g);
    g->c = EVP_CIPHER_CTX_new();
    if (!g->c || !EVP_CipherInit_ex(g->c, ksm_evp_aes256gcm(), NULL, key, NULL, 1)) {
        ksm_gcm_free(g);
        return NULL;
    }
    return g;
}

static int start(struct ksm_gcm *g, int enc, const uint8_t *nonce, const uint8_t *aad, size_t aad_n)
{
    int len;
    return EVP_CipherInit_ex(g->c, NULL, NULL, NULL, nonce, enc) &&
           EVP_CipherUpdate(g->c, NULL, &len, aad, (int)aad_n);
}

int ksm_gcm_seal(struct ksm_gcm *g, const uint8_t nonce[KSM_GCM_NONCE_LEN], const uint8_t *aad,
                 size_t aad_n, const uint8_t *in, size_t n, uint8_t *out,
                 uint8_t tag[KSM_GCM_TAG_LEN])
{
    int len;
    return start(g, 1, nonce, aad, aad_n) && (n == 0 || EVP_CipherUpdate(g->c, out, &len, in, (int)n)) &&
                   EVP_CipherFinal_ex(g->c, out + n, &len) &&
                   EVP_CIPHER_CTX_ctrl(g->c, EVP_CTRL_GCM_GET_TAG, KSM_GCM_TAG_LEN, tag)
               ? 0
               : -1;
}

int ksm_gcm_open(struct ksm_gcm *g, const uint8_t nonce[KSM_GCM_NONCE_LEN], const uint8_t *aad,
                 size_t aad_n, const uint8_t *in, size_t n, const uint8_t tag[KSM_GCM_TAG_LEN],
                 uint8_t *out)
{
    int len;
    if (start(g, 0, nonce, aad, aad_n) && (n == 0 || EVP_CipherUpdate(g->c, out, &len, in, (int)n)) &&
        EVP_CIPHER_CTX_ctrl(g->c, EVP_CTRL_GCM_SET_TAG, KSM_GCM_TAG_LEN, (void *)tag) &&
        EVP_CipherFinal_ex(g->c, out + n, &len) == 1)
        return 0;
    OPENSSL_cleanse(out, n);
    return -1;
}

void ksm_gcm_free(struct ksm_gcm *g)
{
    if (!g)
        return;
    EVP_CIPHER_CTX_free(g->c); /* wipes the key schedule */
    free(g);
}

const char *ksm_gcm_impl(void) { return "openssl"; }
#endif
