/* tls.c — TLS for the listeners through OpenSSL memory BIOs, so the socket stays libuv's: bytes read
 * from the socket go into the read BIO, SSL_read yields plaintext for the parser, and what OpenSSL
 * puts into the write BIO (handshake records, encrypted responses) is written with uv_write.
 * TLS 1.2 is the floor (SPEC.md B3); renegotiation is off. */
#include "http/http_int.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

int ksm_tls_ctx_new(SSL_CTX **out, const struct ksm_listen *l, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* TLS 1.2: forward-secret AEAD suites only; TLS 1.3 suites are OpenSSL's (all AEAD) */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    *out = ctx;
    return 0;
fail:
    snprintf(err, errlen, "TLS (%s, %s): %s", l->tls_cert, l->tls_key,
             ERR_reason_error_string(ERR_get_error()));
    SSL_CTX_free(ctx);
    return -1;
}

int ksm_tls_conn_start(struct ksm_conn *c, SSL_CTX *ctx)
{
    c->ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    if (!c->ssl || !rb || !wb) {
        BIO_free(rb);
        BIO_free(wb);
        return -1;
    }
    SSL_set_bio(c->ssl, rb, wb);
    SSL_set_accept_state(c->ssl);
    return 0;
}

struct tls_write {
    uv_write_t req;
    char data[];
};

static void after_tls_write(uv_write_t *w, int status)
{
    (void)status;   /* a failed handshake write shows up as a read error or time-out */
    free(w);
}

/* Sends what the handshake (or an alert) left in the write BIO. */
static void flush_handshake(struct ksm_conn *c)
{
    BIO *wb = SSL_get_wbio(c->ssl);
    size_t n = (size_t)BIO_ctrl_pending(wb);
    if (n == 0 || c->closed)
        return;
    struct tls_write *w = ksm_xmalloc(sizeof *w + n);
    BIO_read(wb, w->data, (int)n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, after_tls_write))
        free(w);
}

int ksm_tls_on_read(struct ksm_conn *c, const char *data, size_t n,
                    void (*deliver)(struct ksm_conn *, const char *, size_t))
{
    struct ksm_wctx *wc = (struct ksm_wctx *)c->w;
    if (BIO_write(SSL_get_rbio(c->ssl), data, (int)n) != (int)n)
        return -1;
    for (;;) {
        int r = SSL_read(c->ssl, wc->tlsbuf, sizeof wc->tlsbuf);
        if (r > 0) {
            deliver(c, wc->tlsbuf, (size_t)r);
            if (c->closed)
                return 0;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        flush_handshake(c);
        if (e == SSL_ERROR_WANT_READ)
            return 0;
        if (e != SSL_ERROR_ZERO_RETURN)
            ksm_debug("tls: %s from %s", ERR_reason_error_string(ERR_get_error()), c->peer);
        ERR_clear_error();
        return -1;
    }
}

int ksm_tls_seal(struct ksm_conn *c, const uv_buf_t *bufs, int n, char **out, size_t *outlen)
{
    for (int i = 0; i < n; i++)
        if (bufs[i].len && SSL_write(c->ssl, bufs[i].base, (int)bufs[i].len) <= 0) {
            ERR_clear_error();
            return -1;
        }
    BIO *wb = SSL_get_wbio(c->ssl);
    size_t len = (size_t)BIO_ctrl_pending(wb);
    *out = ksm_xmalloc(len ? len : 1);
    BIO_read(wb, *out, (int)len);
    *outlen = len;
    return 0;
}
