/* test_export_tar.c — the export archive's tar writer and reader (src/lifecycle/export_tar.c,
 * export_tar_read.c) and the manifest check (export_verify.c): a round trip of short, long and
 * Japanese names and of a size past the ustar limit, the pax records GNU tar reads, every split of
 * the input, and the verifier's verdicts on an intact, a changed and an incomplete archive. */
#define _GNU_SOURCE /* memmem */
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/buf.h"
#include "core/util.h"
#include "lifecycle/export.h"
#include "lifecycle/export_tar.h"

struct seen {
    char names[8][300];
    uint64_t sizes[8];
    struct ksm_buf data[8];
    int n;
};

static int on_begin(void *arg, const char *name, uint64_t size)
{
    struct seen *s = arg;
    if (s->n == 8)
        return -1;
    snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
    s->sizes[s->n] = size;
    return 0;
}

static int on_data(void *arg, const char *p, size_t n)
{
    struct seen *s = arg;
    ksm_buf_append(&s->data[s->n], p, n);
    return 0;
}

static int on_end(void *arg)
{
    ((struct seen *)arg)->n++;
    return 0;
}

static void add_file(struct ksm_buf *tar, const char *name, const char *body)
{
    static const char zeros[KSM_TAR_BLOCK];
    ksm_tar_file_header(tar, name, strlen(body), 1700000000);
    ksm_buf_append(tar, body, strlen(body));
    ksm_buf_append(tar, zeros, ksm_tar_pad(strlen(body)));
}

static const char *long_name(void)
{
    static char name[400];
    strcpy(name, "objects/b/");
    for (int i = 0; i < 20; i++)
        strcat(name, "議事録"); /* 9 bytes each: 190 bytes of UTF-8 */
    return name;
}

static void test_round_trip(void)
{
    struct ksm_buf tar = KSM_BUF_INIT;
    add_file(&tar, "registry.json", "{}");
    add_file(&tar, long_name(), "本文");
    add_file(&tar, "empty", "");
    ksm_tar_end(&tar);
    CHECK(tar.len % KSM_TAR_BLOCK == 0);
    /* the long name went into a pax header GNU tar understands: "NN path=...\n" */
    CHECK(memmem(tar.data, tar.len, " path=objects/b/議事録", strlen(" path=objects/b/議事録")) !=
          NULL);
    for (size_t step = 1; step <= tar.len; step = step < 600 ? step + 97 : step * 3) {
        struct seen s = {0};
        struct ksm_tar_cbs cb = {on_begin, on_data, on_end, &s};
        struct ksm_tar_reader r;
        ksm_tar_reader_init(&r, &cb);
        int rc = 0;
        for (size_t off = 0; off < tar.len && !rc; off += step)
            rc = ksm_tar_reader_feed(&r, tar.data + off,
                                     tar.len - off < step ? tar.len - off : step);
        CHECK(rc == 0 && ksm_tar_reader_finish(&r) == 0);
        CHECK(s.n == 3);
        CHECK_STR(s.names[0], "registry.json");
        CHECK_STR(s.names[1], long_name());
        CHECK_STR(s.names[2], "empty");
        CHECK(s.sizes[1] == strlen("本文") && s.data[1].len == strlen("本文") &&
              !memcmp(s.data[1].data, "本文", s.data[1].len));
        for (int i = 0; i < 8; i++)
            ksm_buf_free(&s.data[i]);
        ksm_tar_reader_free(&r);
    }
    /* cut anywhere before the end blocks: truncated */
    struct ksm_tar_reader r;
    struct seen s = {0};
    struct ksm_tar_cbs cb = {on_begin, on_data, on_end, &s};
    ksm_tar_reader_init(&r, &cb);
    CHECK(ksm_tar_reader_feed(&r, tar.data, tar.len - 1024) == 0);
    CHECK(ksm_tar_reader_finish(&r) == -1 && strstr(r.err, "truncated"));
    for (int i = 0; i < 8; i++)
        ksm_buf_free(&s.data[i]);
    ksm_tar_reader_free(&r);
    /* a flipped header byte: checksum */
    tar.data[5] ^= 1;
    memset(&s, 0, sizeof s);
    ksm_tar_reader_init(&r, &cb);
    CHECK(ksm_tar_reader_feed(&r, tar.data, tar.len) == -1 && strstr(r.err, "checksum"));
    ksm_tar_reader_free(&r);
    ksm_buf_free(&tar);
}

static void test_big_size(void)
{
    /* 10 GiB does not fit ustar's 11 octal digits: a pax size record carries it */
    struct ksm_buf h = KSM_BUF_INIT;
    ksm_tar_file_header(&h, "objects/b/big", 10ull << 30, 0);
    CHECK(h.len == 3 * KSM_TAR_BLOCK);
    CHECK(memmem(h.data, h.len, " size=10737418240\n", 18) != NULL);
    struct seen s = {0};
    struct ksm_tar_cbs cb = {on_begin, NULL, NULL, &s};
    struct ksm_tar_reader r;
    ksm_tar_reader_init(&r, &cb);
    CHECK(ksm_tar_reader_feed(&r, h.data, h.len) == 0);
    CHECK(s.sizes[0] == 10ull << 30 && r.left == 10ull << 30);
    ksm_tar_reader_free(&r);
    ksm_buf_free(&h);
}

static void test_paths(void)
{
    CHECK(ksm_export_key_is_path("a/b.txt"));
    CHECK(ksm_export_key_is_path("報告書/令和7年度/議事録.txt"));
    CHECK(ksm_export_key_is_path("..a/b.."));
    CHECK(!ksm_export_key_is_path(""));
    CHECK(!ksm_export_key_is_path("/abs"));
    CHECK(!ksm_export_key_is_path("dir/"));
    CHECK(!ksm_export_key_is_path("a//b"));
    CHECK(!ksm_export_key_is_path("a/../b"));
    CHECK(!ksm_export_key_is_path("./a"));
    CHECK(!ksm_export_key_is_path("a\nb"));
    char seg[300];
    memset(seg, 'x', sizeof seg - 1);
    seg[sizeof seg - 1] = '\0';
    CHECK(!ksm_export_key_is_path(seg));
}

static int problems_seen;
static char last_problem[300];

static void report(void *arg, const char *path, const char *what)
{
    problems_seen++;
    snprintf(last_problem, sizeof last_problem, "%s: %s", path, what);
}

static int verify(const struct ksm_buf *tar)
{
    problems_seen = 0;
    struct ksm_export_verifier *v = ksm_export_verifier_new(report, NULL);
    ksm_export_verifier_feed(v, tar->data, tar->len);
    uint64_t files;
    int n = ksm_export_verifier_finish(v, &files);
    CHECK(n == problems_seen);
    return n;
}

static void archive(struct ksm_buf *tar, const char *body, const char *listed_body)
{
    char hex[65], man[600];
    ksm_sha256_hex(listed_body, strlen(listed_body), hex);
    snprintf(man, sizeof man,
             "{\"format\":\"kasumi-export/1\",\"files\":[{\"path\":\"objects/b/k\",\"size\":%zu,"
             "\"sha256\":\"%s\"}]}",
             strlen(listed_body), hex);
    ksm_buf_reset(tar);
    add_file(tar, "objects/b/k", body);
    add_file(tar, "manifest.json", man);
    ksm_tar_end(tar);
}

static void test_verify(void)
{
    struct ksm_buf tar = KSM_BUF_INIT;
    archive(&tar, "hello", "hello");
    CHECK(verify(&tar) == 0);
    archive(&tar, "hellO", "hello");
    CHECK(verify(&tar) == 1 && strstr(last_problem, "objects/b/k: SHA-256"));
    archive(&tar, "hello!", "hello");
    CHECK(verify(&tar) == 1 && strstr(last_problem, "size 6, manifest says 5"));
    ksm_buf_reset(&tar);
    add_file(&tar, "objects/b/k", "x");
    ksm_tar_end(&tar);
    CHECK(verify(&tar) == 1 && strstr(last_problem, "manifest.json: missing"));
    ksm_buf_free(&tar);
}

int main(void)
{
    test_round_trip();
    test_big_size();
    test_paths();
    test_verify();
    return CHECK_DONE();
}
