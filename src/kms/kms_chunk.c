/* kms_chunk.c — chunked AES-256-GCM for object data (the format is in kms_chunk.h and
 * docs/encryption.md). The key is expanded once per stream (kms_gcm.c) and each chunk only brings
 * its nonce and AAD, so the AES key schedule and GHASH tables are computed once; the only bytes
 * touched outside the cipher are the copies of partial chunks into the stream's buffer when the
 * caller's pieces do not align with chunk boundaries. */
#include "kms/kms_chunk.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "kms/kms_gcm.h"

#define TAG KSM_CHUNK_TAG_LEN
#define AAD_LEN (KSM_KMS_UID_LEN + 8 + 1)
#define MAX_PT (1ull << 56)  /* far above S3's 5 TiB; keeps every length computation in range */
#define MAX_CHUNK (1u << 24) /* a chunk's length must fit EVP's int (the OpenSSL build) */

/* ---- lengths ---- */

static uint64_t nchunks(uint32_t chunk, uint64_t pt_len)
{
    return pt_len == 0 ? 1 : pt_len / chunk + (pt_len % chunk != 0);
}

uint64_t ksm_chunk__ct_len(uint32_t chunk, uint64_t pt_len)
{
    return pt_len + TAG * nchunks(chunk, pt_len);
}

int ksm_chunk__pt_len(uint32_t chunk, uint64_t ct_len, uint64_t *pt_len)
{
    uint64_t full = ct_len / (chunk + TAG), rem = ct_len % (chunk + TAG);
    uint64_t pt = full * chunk + (rem >= TAG ? rem - TAG : 0);
    if (ct_len == 0 || (rem && rem < TAG) || pt > MAX_PT || ksm_chunk__ct_len(chunk, pt) != ct_len)
        return -1; /* the last test rejects an empty final chunk after full ones */
    *pt_len = pt;
    return 0;
}

int ksm_chunk__range(uint32_t chunk, uint64_t pt_total, uint64_t off, uint64_t len,
                     uint64_t *ct_off, uint64_t *ct_n)
{
    if (pt_total > MAX_PT || off > pt_total || len > pt_total - off)
        return -1;
    if (len == 0) {
        *ct_off = 0;
        *ct_n = pt_total == 0 ? TAG : 0;
        return 0;
    }
    uint64_t first = off / chunk, last = (off + len - 1) / chunk;
    uint64_t end = (last + 1) * (chunk + TAG), total = ksm_chunk__ct_len(chunk, pt_total);
    *ct_off = first * (chunk + TAG);
    *ct_n = (end < total ? end : total) - *ct_off;
    return 0;
}

uint64_t ksm_chunk_ct_len(uint64_t pt_len) { return ksm_chunk__ct_len(KSM_CHUNK_SIZE, pt_len); }

int ksm_chunk_pt_len(uint64_t ct_len, uint64_t *pt_len)
{
    return ksm_chunk__pt_len(KSM_CHUNK_SIZE, ct_len, pt_len);
}

int ksm_chunk_range(uint64_t pt_total, uint64_t off, uint64_t len, uint64_t *ct_off, uint64_t *ct_n)
{
    return ksm_chunk__range(KSM_CHUNK_SIZE, pt_total, off, len, ct_off, ct_n);
}

/* ---- one chunk ---- */

struct chunker {
    struct ksm_gcm *g;
    uint32_t chunk;
    uint8_t uid[KSM_KMS_UID_LEN];
    enum ksm_err err; /* sticky: a stream that failed once stays failed */
    ksm_chunk_emit_fn *emit;
    void *arg;
};

static int chunker_init(struct chunker *k, uint32_t chunk, const uint8_t *key, const uint8_t *uid,
                        ksm_chunk_emit_fn *emit, void *arg)
{
    k->g = ksm_gcm_new(key);
    k->chunk = chunk;
    memcpy(k->uid, uid, KSM_KMS_UID_LEN);
    k->emit = emit;
    k->arg = arg;
    return k->g ? 0 : -1;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Chunk idx's nonce and AAD: the only per-chunk setup. */
static void chunk_iv(const struct chunker *k, uint64_t idx, bool final, uint8_t nonce[12],
                     uint8_t aad[AAD_LEN])
{
    memset(nonce, 0, 4);
    put_be64(nonce + 4, idx);
    memcpy(aad, k->uid, KSM_KMS_UID_LEN);
    put_be64(aad + KSM_KMS_UID_LEN, idx);
    aad[AAD_LEN - 1] = final;
}

/* out gets n + TAG bytes. */
static int seal_one(struct chunker *k, uint64_t idx, bool final, const uint8_t *in, size_t n,
                    uint8_t *out)
{
    uint8_t nonce[12], aad[AAD_LEN];
    chunk_iv(k, idx, final, nonce, aad);
    return ksm_gcm_seal(k->g, nonce, aad, AAD_LEN, in, n, out, out + n);
}

/* in holds n >= TAG bytes (ciphertext then tag); out gets n - TAG bytes, valid only on success. */
static int open_one(struct chunker *k, uint64_t idx, bool final, const uint8_t *in, size_t n,
                    uint8_t *out)
{
    uint8_t nonce[12], aad[AAD_LEN];
    chunk_iv(k, idx, final, nonce, aad);
    return ksm_gcm_open(k->g, nonce, aad, AAD_LEN, in, n - TAG, in + n - TAG, out);
}

/* ---- encryptor ---- */

struct ksm_chunk_enc {
    struct chunker k;
    uint64_t idx, total;
    size_t have; /* plaintext bytes in pt */
    size_t high; /* the most pt ever held: what the wipe covers (a small object uses little) */
    uint8_t *pt, *ct;
};

struct ksm_chunk_enc *ksm_chunk__enc_new(uint32_t chunk, const uint8_t *key, const uint8_t *uid,
                                         ksm_chunk_emit_fn *emit, void *arg)
{
    if (chunk == 0 || chunk > MAX_CHUNK)
        return NULL;
    struct ksm_chunk_enc *e = ksm_xcalloc(1, sizeof *e);
    e->k.chunk = chunk;
    e->pt = ksm_xmalloc(chunk);
    e->ct = ksm_xmalloc((size_t)chunk + TAG);
    if (chunker_init(&e->k, chunk, key, uid, emit, arg)) {
        ksm_chunk_enc_free(e);
        return NULL;
    }
    return e;
}

struct ksm_chunk_enc *ksm_chunk_enc_new(const uint8_t key[KSM_KMS_KEY_LEN],
                                        const uint8_t uid[KSM_KMS_UID_LEN], ksm_chunk_emit_fn *emit,
                                        void *arg)
{
    return ksm_chunk__enc_new(KSM_CHUNK_SIZE, key, uid, emit, arg);
}

static enum ksm_err enc_emit(struct ksm_chunk_enc *e, const uint8_t *in, size_t n, bool final)
{
    if (seal_one(&e->k, e->idx, final, in, n, e->ct))
        return e->k.err = KSM_E_INTERNAL;
    e->idx++;
    e->k.err = e->k.emit(e->k.arg, e->ct, n + TAG);
    return e->k.err;
}

enum ksm_err ksm_chunk_enc_update(struct ksm_chunk_enc *e, const void *p, size_t n)
{
    const uint8_t *in = p;
    size_t chunk = e->k.chunk;
    e->total += n;
    while (n > 0 && e->k.err == KSM_E_OK) {
        if (e->have == chunk) { /* more data follows, so the held chunk is not the last */
            e->have = 0;
            enc_emit(e, e->pt, chunk, false);
        } else if (e->have == 0 && n > chunk) { /* aligned and not last: no copy */
            enc_emit(e, in, chunk, false);
            in += chunk;
            n -= chunk;
        } else {
            size_t take = n < chunk - e->have ? n : chunk - e->have;
            memcpy(e->pt + e->have, in, take);
            e->have += take;
            e->high = e->have > e->high ? e->have : e->high;
            in += take;
            n -= take;
        }
    }
    return e->k.err;
}

enum ksm_err ksm_chunk_enc_final(struct ksm_chunk_enc *e)
{
    if (e->k.err == KSM_E_OK)
        enc_emit(e, e->pt, e->have, true);
    e->have = 0;
    return e->k.err;
}

uint64_t ksm_chunk_enc_plain_len(const struct ksm_chunk_enc *e) { return e->total; }

void ksm_chunk_enc_free(struct ksm_chunk_enc *e)
{
    if (!e)
        return;
    ksm_gcm_free(e->k.g); /* wipes the key schedule */
    explicit_bzero(e->pt, e->high);   /* memset speed; OPENSSL_cleanse is a byte loop */
    free(e->pt);
    free(e->ct);
    free(e);
}

/* ---- decryptor ---- */

struct ksm_chunk_dec {
    struct chunker k;
    uint64_t total;     /* plaintext length of the object */
    uint64_t idx, last; /* next chunk expected, last chunk of the range (idx > last: done) */
    uint64_t last_obj;  /* the object's final chunk */
    uint64_t skip;      /* plaintext bytes before the range in its first chunk */
    uint64_t want;      /* plaintext bytes of the range still to emit */
    size_t have;        /* ciphertext bytes in ct */
    size_t high;        /* the most pt ever held: what the wipe covers */
    uint8_t *ct, *pt;
    uint8_t *out;       /* ksm_chunk_dec_update_into's buffer, NULL when emitting */
    size_t out_cap, out_len;
};

struct ksm_chunk_dec *ksm_chunk__dec_new(uint32_t chunk, const uint8_t *key, const uint8_t *uid,
                                         uint64_t pt_total, uint64_t off, uint64_t len,
                                         ksm_chunk_emit_fn *emit, void *arg)
{
    uint64_t co, cn;
    if (chunk == 0 || chunk > MAX_CHUNK || ksm_chunk__range(chunk, pt_total, off, len, &co, &cn))
        return NULL;
    struct ksm_chunk_dec *d = ksm_xcalloc(1, sizeof *d);
    d->total = pt_total;
    d->last_obj = nchunks(chunk, pt_total) - 1;
    d->idx = off / chunk;
    d->last = (co + cn - 1) / (chunk + TAG);
    d->skip = off - d->idx * chunk;
    if (cn == 0) { /* an empty range of a non-empty object: nothing to read */
        d->idx = 1;
        d->last = 0;
    }
    d->want = len;
    d->ct = ksm_xmalloc((size_t)chunk + TAG);
    d->pt = ksm_xmalloc(chunk);
    if (chunker_init(&d->k, chunk, key, uid, emit, arg)) {
        ksm_chunk_dec_free(d);
        return NULL;
    }
    return d;
}

struct ksm_chunk_dec *ksm_chunk_dec_new(const uint8_t key[KSM_KMS_KEY_LEN],
                                        const uint8_t uid[KSM_KMS_UID_LEN], uint64_t pt_total,
                                        uint64_t off, uint64_t len, ksm_chunk_emit_fn *emit,
                                        void *arg)
{
    return ksm_chunk__dec_new(KSM_CHUNK_SIZE, key, uid, pt_total, off, len, emit, arg);
}

/* Ciphertext size of chunk idx: full, or the object's final chunk. */
static size_t ct_size(const struct ksm_chunk_dec *d, uint64_t idx)
{
    uint64_t chunk = d->k.chunk;
    return idx < d->last_obj ? chunk + TAG : (size_t)(d->total - idx * chunk) + TAG;
}

/* Opens chunk idx from in (ct_size bytes) and emits the part of it inside the range. A chunk wholly
 * inside the range is decrypted straight into the caller's buffer (update_into); its bytes count
 * only once its tag has verified, and a failed one is wiped. */
static enum ksm_err dec_chunk(struct ksm_chunk_dec *d, const uint8_t *in, size_t n)
{
    uint64_t plen = n - TAG, from = d->skip;
    uint64_t cnt = plen - from < d->want ? plen - from : d->want;
    bool direct = d->out && from == 0 && cnt == plen;
    if (d->out && cnt > d->out_cap - d->out_len)
        return d->k.err = KSM_E_INTERNAL;
    uint8_t *pt = direct ? d->out + d->out_len : d->pt;
    if (!direct && plen > d->high)
        d->high = (size_t)plen;
    if (open_one(&d->k, d->idx, d->idx == d->last_obj, in, n, pt)) {
        OPENSSL_cleanse(pt, (size_t)plen);
        return d->k.err = KSM_E_DATA_CORRUPT;
    }
    d->idx++;
    d->skip = 0;
    d->want -= cnt;
    if (!cnt)
        return d->k.err;
    if (!d->out)
        d->k.err = d->k.emit(d->k.arg, d->pt + from, (size_t)cnt);
    else if (!direct)
        memcpy(d->out + d->out_len, d->pt + from, (size_t)cnt);
    if (d->out)
        d->out_len += (size_t)cnt;
    return d->k.err;
}

enum ksm_err ksm_chunk_dec_update(struct ksm_chunk_dec *d, const void *p, size_t n)
{
    const uint8_t *in = p;
    while (n > 0 && d->k.err == KSM_E_OK) {
        if (d->idx > d->last)
            return d->k.err = KSM_E_DATA_CORRUPT; /* more than the range holds */
        size_t need = ct_size(d, d->idx);
        if (d->have == 0 && n >= need) { /* a whole chunk in the caller's piece: no copy */
            dec_chunk(d, in, need);
            in += need;
            n -= need;
            continue;
        }
        size_t take = n < need - d->have ? n : need - d->have;
        memcpy(d->ct + d->have, in, take);
        d->have += take;
        in += take;
        n -= take;
        if (d->have == need) {
            d->have = 0;
            dec_chunk(d, d->ct, need);
        }
    }
    return d->k.err;
}

enum ksm_err ksm_chunk_dec_update_into(struct ksm_chunk_dec *d, const void *p, size_t n,
                                       uint8_t *out, size_t cap, size_t *out_len)
{
    d->out = out;
    d->out_cap = cap;
    d->out_len = 0;
    enum ksm_err e = ksm_chunk_dec_update(d, p, n);
    *out_len = d->out_len;
    d->out = NULL;
    return e;
}

enum ksm_err ksm_chunk_dec_final(struct ksm_chunk_dec *d)
{
    if (d->k.err == KSM_E_OK && d->idx <= d->last)
        d->k.err = KSM_E_DATA_CORRUPT; /* truncated */
    return d->k.err;
}

void ksm_chunk_dec_free(struct ksm_chunk_dec *d)
{
    if (!d)
        return;
    ksm_gcm_free(d->k.g);
    explicit_bzero(d->pt, d->high);
    free(d->pt);
    free(d->ct);
    free(d);
}

/* ---- one-shot ---- */

struct cursor {
    uint8_t *p;
};

static enum ksm_err to_mem(void *arg, const uint8_t *p, size_t n)
{
    struct cursor *c = arg;
    memcpy(c->p, p, n);
    c->p += n;
    return KSM_E_OK;
}

enum ksm_err ksm_chunk_seal(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t uid[KSM_KMS_UID_LEN],
                            const void *pt, size_t n, uint8_t *out)
{
    struct cursor c = {out};
    struct ksm_chunk_enc *e = ksm_chunk_enc_new(key, uid, to_mem, &c);
    if (!e)
        return KSM_E_INTERNAL;
    enum ksm_err r = ksm_chunk_enc_update(e, pt, n);
    if (r == KSM_E_OK)
        r = ksm_chunk_enc_final(e);
    ksm_chunk_enc_free(e);
    return r;
}

enum ksm_err ksm_chunk_open(const uint8_t key[KSM_KMS_KEY_LEN], const uint8_t uid[KSM_KMS_UID_LEN],
                            const void *ct, size_t n, uint8_t *out, size_t *pt_n)
{
    uint64_t total;
    struct cursor c = {out};
    *pt_n = 0;
    if (ksm_chunk_pt_len(n, &total))
        return KSM_E_DATA_CORRUPT;
    struct ksm_chunk_dec *d = ksm_chunk_dec_new(key, uid, total, 0, total, to_mem, &c);
    if (!d)
        return KSM_E_INTERNAL;
    enum ksm_err r = ksm_chunk_dec_update(d, ct, n);
    if (r == KSM_E_OK)
        r = ksm_chunk_dec_final(d);
    ksm_chunk_dec_free(d);
    if (r == KSM_E_OK)
        *pt_n = (size_t)total;
    else
        OPENSSL_cleanse(out, (size_t)(c.p - out));
    return r;
}
