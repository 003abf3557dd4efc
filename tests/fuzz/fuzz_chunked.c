/* fuzz_chunked.c — libFuzzer target: arbitrary bytes as an aws-chunked body. The first byte picks
 * the streaming mode, the announced trailer checksum and how the body is cut into pieces; the next
 * two the declared decoded length. The decoder must end in a defined state, never hand out more
 * bytes than declared, and never call a body complete unless finish() agrees. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum ksm_err count(void *ud, const char *p, size_t n)
{
    *(int64_t *)ud += (int64_t)n;
    if (n && !p)
        abort();
    return KSM_E_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum ksm_s3_payload modes[] = {KSM_S3_PAYLOAD_STREAMING, KSM_S3_PAYLOAD_STREAMING_TRAILER,
                                                KSM_S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER};
    static const char *const trailers[] = {NULL, "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
                                           "x-amz-checksum-sha1", "x-amz-checksum-sha256", "bogus"};
    if (size < 3)
        return 0;
    struct ksm_s3_auth a;
    memset(&a, 0, sizeof a);
    strcpy(a.date, "20130524");
    strcpy(a.region, "us-east-1");
    strcpy(a.service, "s3");
    strcpy(a.amz_date, "20130524T000000Z");
    a.payload = modes[data[0] % 3];
    a.trailer = trailers[data[0] / 3 % 6];
    a.decoded_length = data[1] | data[2] << 8;
    memset(a.signing_key, 7, 32);
    memset(a.seed_signature, 'a', 64);
    size_t piece = 1 + (data[0] >> 5) * 37;
    data += 3;
    size -= 3;

    struct ksm_s3_chunked c;
    int64_t got = 0;
    enum ksm_err e = ksm_s3_chunked_init(&c, &a, count, &got);
    for (size_t off = 0; e == KSM_E_OK && off < size; off += piece)
        e = ksm_s3_chunked_feed(&c, (const char *)data + off, size - off < piece ? size - off : piece);
    enum ksm_err fin = ksm_s3_chunked_finish(&c);
    if (got > a.decoded_length || (fin == KSM_E_OK && (e != KSM_E_OK || got != a.decoded_length)))
        abort();
    ksm_s3_chunked_free(&c);
    return 0;
}
