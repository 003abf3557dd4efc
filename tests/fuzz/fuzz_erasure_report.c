/* fuzz_erasure_report.c — libFuzzer target for what reads an erasure report or token from outside:
 * the verifier (JSON parse, canonical form, signature check against a key made at start), the
 * certificate renderer (any JSON shape, every value escaped) and the confirmation token's parser.
 * Any bytes: an answer, never a crash, a leak or a read past the input. A forged document never
 * verifies. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle/erase.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char pem_path[64];

static void key_remove(void) { unlink(pem_path); }

/* A fresh Ed25519 public key nobody signed the inputs with. */
static void key_once(void)
{
    if (pem_path[0])
        return;
    snprintf(pem_path, sizeof pem_path, "/tmp/fuzz-erasure-%d.pem", (int)getpid());
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f = fopen(pem_path, "w");
    if (!k || !f || !PEM_write_PUBKEY(f, k))
        abort();
    fclose(f);
    EVP_PKEY_free(k);
    atexit(key_remove);
}

static void token(const char *text)
{
    char tenant[48], id[48];
    if (!ksm_erase_token_parse(text, tenant, id))
        return;
    if (!tenant[0] || !id[0] || strchr(tenant, '.') || strchr(id, '.'))
        abort();
}

static void report(const char *text, size_t n)
{
    char why[300];
    if (ksm_erase_report_verify(text, n, pem_path, why, sizeof why) == 1)
        abort(); /* nothing here was signed with this key */
    json_t *r = json_loadb(text, n, 0, NULL);
    if (!r)
        return;
    free(ksm_erase_report_canonical(r));
    char *html = ksm_erase_report_html(r);
    if (!html || strstr(html, "<script"))
        abort(); /* every value is escaped: no markup from the document */
    free(html);
    json_decref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    key_once();
    /* a NUL-terminated copy for the token, exactly size bytes for the JSON reader */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    token(text);
    report(text, size);
    free(text);
    return 0;
}
