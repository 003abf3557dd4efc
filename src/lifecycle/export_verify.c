/* export_verify.c — `kasumi export verify`: reads an export archive, hashes every file as it passes
 * and checks the result against manifest.json (which the exporter writes last). Problems are
 * reported one by one: a file whose size or SHA-256 differs, a file the manifest lists that is not
 * in the archive, a file in the archive the manifest does not list, a name twice, an unsafe path.
 */
#include "lifecycle/export.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "lifecycle/export_tar.h"

#define MANIFEST_MAX (1ull << 30) /* a manifest larger than this is refused */

struct seen {
    char *path;
    uint64_t size;
    char sha256[65];
    bool listed;
};

struct ksm_export_verifier {
    struct ksm_tar_reader tar;
    ksm_export_report_fn *report;
    void *arg;
    EVP_MD_CTX *md;
    char *cur; /* the file being read */
    uint64_t cur_size;
    bool cur_manifest;
    struct ksm_buf manifest;
    bool have_manifest, broken;
    struct seen *files;
    size_t n, cap;
    int problems;
};

static void problem(struct ksm_export_verifier *v, const char *path, const char *what)
{
    v->problems++;
    if (v->report)
        v->report(v->arg, path, what);
}

/* A relative path without empty, "." or ".." segments, none longer than max bytes. */
static bool path_ok(const char *key, size_t max)
{
    if (!*key || *key == '/')
        return false;
    for (const char *seg = key;;) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (len > max)
            return false;
        if (!seg[len])
            break;
        seg += len + 1;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

bool ksm_export_key_is_path(const char *key)
{
    return path_ok(key, KSM_EXPORT_NAME_MAX);
}

static int on_begin(void *arg, const char *name, uint64_t size)
{
    struct ksm_export_verifier *v = arg;
    if (!path_ok(name, 255)) /* NAME_MAX of the file systems it is extracted on */
        problem(v, name, "unsafe path (absolute, empty, '.' or '..' segment, or too long)");
    free(v->cur);
    v->cur = ksm_xstrdup(name);
    v->cur_size = size;
    v->cur_manifest = !strcmp(name, KSM_EXPORT_MANIFEST);
    if (v->cur_manifest) {
        if (v->have_manifest)
            problem(v, name, "appears twice");
        if (size > MANIFEST_MAX) {
            problem(v, name, "too large");
            return -1;
        }
        ksm_buf_reset(&v->manifest);
    }
    return EVP_DigestInit_ex(v->md, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

static int on_data(void *arg, const char *p, size_t n)
{
    struct ksm_export_verifier *v = arg;
    if (v->cur_manifest)
        ksm_buf_append(&v->manifest, p, n);
    return EVP_DigestUpdate(v->md, p, n) == 1 ? 0 : -1;
}

static int on_end(void *arg)
{
    struct ksm_export_verifier *v = arg;
    unsigned char d[32];
    unsigned dl = 0;
    if (EVP_DigestFinal_ex(v->md, d, &dl) != 1)
        return -1;
    if (v->cur_manifest) {
        v->have_manifest = true;
        return 0;
    }
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->files = ksm_xrealloc(v->files, v->cap * sizeof *v->files);
    }
    struct seen *s = &v->files[v->n++];
    s->path = v->cur;
    v->cur = NULL;
    s->size = v->cur_size;
    ksm_hex(d, 32, s->sha256);
    s->listed = false;
    return 0;
}

struct ksm_export_verifier *ksm_export_verifier_new(ksm_export_report_fn *report, void *arg)
{
    struct ksm_export_verifier *v = ksm_xcalloc(1, sizeof *v);
    v->report = report;
    v->arg = arg;
    v->md = EVP_MD_CTX_new();
    if (!v->md)
        abort();
    struct ksm_tar_cbs cb = {on_begin, on_data, on_end, v};
    ksm_tar_reader_init(&v->tar, &cb);
    return v;
}

int ksm_export_verifier_feed(struct ksm_export_verifier *v, const char *p, size_t n)
{
    if (v->broken)
        return -1;
    if (ksm_tar_reader_feed(&v->tar, p, n)) {
        v->broken = true;
        problem(v, "", v->tar.err);
        return -1;
    }
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct seen *)a)->path, ((const struct seen *)b)->path);
}

/* One manifest entry against what the archive held. */
static void check_entry(struct ksm_export_verifier *v, json_t *f)
{
    const char *path = json_string_value(json_object_get(f, "path"));
    const char *sha = json_string_value(json_object_get(f, "sha256"));
    json_t *size = json_object_get(f, "size");
    if (!path || !sha || !json_is_integer(size)) {
        problem(v, path ? path : "", "malformed manifest entry");
        return;
    }
    struct seen key = {.path = (char *)path};
    struct seen *s = v->n ? bsearch(&key, v->files, v->n, sizeof *v->files, by_path) : NULL;
    char what[200];
    if (!s) {
        problem(v, path, "listed in the manifest but missing from the archive");
        return;
    }
    s->listed = true;
    if (json_integer_value(size) < 0 || (uint64_t)json_integer_value(size) != s->size) {
        snprintf(what, sizeof what, "size %llu, manifest says %lld", (unsigned long long)s->size,
                 (long long)json_integer_value(size));
        problem(v, path, what);
    } else if (strcmp(sha, s->sha256)) {
        snprintf(what, sizeof what, "SHA-256 %.64s, manifest says %.64s", s->sha256, sha);
        problem(v, path, what);
    }
}

static void check_manifest(struct ksm_export_verifier *v)
{
    json_error_t jerr;
    json_t *m = json_loadb(v->manifest.data ? v->manifest.data : "", v->manifest.len, 0, &jerr);
    json_t *files = json_object_get(m, "files");
    const char *format = json_string_value(json_object_get(m, "format"));
    if (!m || !json_is_array(files) || !format || strcmp(format, KSM_EXPORT_FORMAT)) {
        problem(v, KSM_EXPORT_MANIFEST, "not a " KSM_EXPORT_FORMAT " manifest");
        json_decref(m);
        return;
    }
    qsort(v->files, v->n, sizeof *v->files, by_path);
    for (size_t i = 0; i + 1 < v->n; i++)
        if (!strcmp(v->files[i].path, v->files[i + 1].path))
            problem(v, v->files[i].path, "appears twice in the archive");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) check_entry(v, f);
    for (size_t k = 0; k < v->n; k++)
        if (!v->files[k].listed)
            problem(v, v->files[k].path, "in the archive but not in the manifest");
    json_decref(m);
}

int ksm_export_verifier_finish(struct ksm_export_verifier *v, uint64_t *files)
{
    if (!v->broken && ksm_tar_reader_finish(&v->tar))
        problem(v, "", v->tar.err);
    else if (!v->broken && !v->have_manifest)
        problem(v, KSM_EXPORT_MANIFEST, "missing from the archive");
    else if (!v->broken)
        check_manifest(v);
    int problems = v->problems;
    if (files)
        *files = v->n;
    for (size_t k = 0; k < v->n; k++)
        free(v->files[k].path);
    free(v->files);
    free(v->cur);
    ksm_buf_free(&v->manifest);
    EVP_MD_CTX_free(v->md);
    ksm_tar_reader_free(&v->tar);
    free(v);
    return problems;
}
