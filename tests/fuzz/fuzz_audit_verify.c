/* fuzz_audit_verify.c — libFuzzer target for the audit verifier (ksm_audit_verify: the CLI's
 * `kasumi audit verify` and, through the same walk, GET /admin/v1/audit/verification). Segment
 * files are untrusted: the input, split at each 0xFF byte into up to three segments, is written as
 * seg-000001.log … and verified against a key made at start. Any bytes: a report, never a crash, a
 * leak or a read past the input. Only a log without a line verifies: every record must be covered
 * by a signature, and nobody signed anything with this key. A report always says something. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], pem_path[96];

static void cleanup(void)
{
    char p[128];
    for (int i = 1; i <= 3; i++) {
        snprintf(p, sizeof p, "%s/seg-%06d.log", dir, i);
        unlink(p);
    }
    unlink(pem_path);
    rmdir(dir);
}

/* A fresh Ed25519 public key nobody signed the inputs with, and an empty log directory. */
static void setup_once(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/fuzz-audit-%d", (int)getpid());
    snprintf(pem_path, sizeof pem_path, "/tmp/fuzz-audit-%d.pem", (int)getpid());
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE *f = fopen(pem_path, "w");
    if (!k || !f || !PEM_write_PUBKEY(f, k) || ksm_mkdir_p(dir, 0700))
        abort();
    fclose(f);
    EVP_PKEY_free(k);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char p[128];
    setup_once();
    int seg = 1;
    size_t start = 0;
    for (size_t i = 0; i <= size && seg <= 3; i++) {
        if (i < size && (data[i] != 0xff || seg == 3))
            continue;
        snprintf(p, sizeof p, "%s/seg-%06d.log", dir, seg++);
        FILE *f = fopen(p, "wb");   /* not ksm_write_file_durable: an fsync per input is too slow */
        if (!f || fwrite(data + start, 1, i - start, f) != i - start || fclose(f))
            abort();
        start = i + 1;
    }
    for (int i = seg; i <= 3; i++) {   /* no segment left over from a longer input */
        snprintf(p, sizeof p, "%s/seg-%06d.log", dir, i);
        unlink(p);
    }
    struct ksm_buf report = KSM_BUF_INIT;
    int rc = ksm_audit_verify(dir, pem_path, false, &report);
    if (!report.len)
        abort();
    for (size_t i = 0; rc == 0 && i < size; i++)
        if (data[i] != 0xff)
            abort();   /* a line verified without a signature by this key */
    ksm_buf_free(&report);
    return 0;
}
