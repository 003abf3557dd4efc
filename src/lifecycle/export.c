/* export.c — the exporter: writes a tenant's (or a project's) archive to a sink as a stream, part
 * by part (registry, objects, audit records, bills, manifest), pausing while the sink is congested.
 *
 * Memory does not grow with the tenant: objects are listed a page at a time and read through the
 * store's GET path (decrypted piece by piece, nothing in plaintext on disk); the audit records and
 * the manifest, whose sizes are not known before they are written (a tar header needs the size),
 * are spooled into unlinked files in spool_dir — names, digests and records, never object data.
 *
 * Everything runs on the caller's loop: a zero-delay timer drives the pump, so done and the sink's
 * writes never run inside ksm_export_start, ksm_export_resume or a sink callback. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "lifecycle/export_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "lifecycle/export_tar.h"
#include "storage/store.h"

#define IO_CHUNK (64 * 1024)
#define LIST_PAGE 1000

enum phase { P_REGISTRY, P_OBJECTS, P_AUDIT, P_BILLING, P_MANIFEST, P_END, P_DONE };
enum source { SRC_NONE, SRC_MEM, SRC_FD, SRC_GET };

struct ksm_export {
    struct ksm_export_opts o;
    char tenant[40], project[40];
    ksm_export_write_fn *write;
    ksm_export_done_fn *done;
    void *arg;
    uv_timer_t kick;
    enum phase phase;
    bool paused, cancelled, failed_e_set;
    enum ksm_err stop_err;   /* why the sink stopped the export (ksm_export_fail); OK: cancelled */
    enum ksm_err err;
    int64_t started_ms;
    EVP_MD_CTX *md, *whole; /* the current file's digest; the whole archive's */
    struct ksm_buf scratch; /* headers, padding */

    /* the file being written */
    enum source src;
    struct ksm_buf path;
    uint64_t size, written;
    struct ksm_buf mem; /* SRC_MEM: its bytes */
    size_t mem_off;
    int fd;                                   /* SRC_FD: the spool file, read from the start */
    char *io;                                 /* IO_CHUNK bytes for spool reads */
    struct ksm_get *get;                      /* SRC_GET: the object read in flight */
    struct ksm_buf next_meta_path, next_meta; /* the metadata file that follows the object */
    bool have_next_meta;

    /* objects */
    struct ksm_bucket *buckets;
    size_t nbuckets, bi;
    struct ksm_list_entry *page;
    size_t npage, pi;
    bool page_loaded, page_truncated;
    char after[KSM_STORE_KEY_MAX + 1];
    /* then the bucket's noncurrent versions and delete markers (a second pass per bucket) */
    bool versions_pass, reading_version;
    struct ksm_version_entry *vpage;
    size_t nvpage, vpi;
    bool vpage_loaded, vpage_truncated;
    char vafter_key[KSM_STORE_KEY_MAX + 1], vafter_version[KSM_STORE_VERSION_MAX];

    /* billing */
    char month[8], last_month[8];

    /* spools */
    int manifest_fd, audit_fd;
    uint64_t manifest_len, audit_len;
    struct ksm_export_result res;
};

static void kick_soon(struct ksm_export *x);

/* ---- the sink and the current file ------------------------------------------------------------
 */

static void sink(struct ksm_export *x, const char *p, size_t n)
{
    if (!n || x->cancelled)
        return;
    EVP_DigestUpdate(x->whole, p, n);
    x->res.archive_bytes += n;
    if (x->write(x->arg, p, n))
        x->paused = true;
}

static void fail(struct ksm_export *x, enum ksm_err e, const char *why)
{
    if (x->failed_e_set)
        return;
    ksm_warn("export of %s failed: %s (%s)", x->tenant, why, ksm_err_code(e));
    x->failed_e_set = true;
    x->err = e;
    x->phase = P_DONE;
    x->src = SRC_NONE;
}

static void file_begin(struct ksm_export *x, const char *path, uint64_t size, int64_t mtime_ms)
{
    ksm_buf_reset(&x->path);
    ksm_buf_puts(&x->path, path);
    x->size = size;
    x->written = 0;
    EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
    ksm_buf_reset(&x->scratch);
    ksm_tar_file_header(&x->scratch, path, size, mtime_ms / 1000);
    sink(x, x->scratch.data, x->scratch.len);
}

static void file_bytes(struct ksm_export *x, const char *p, size_t n)
{
    EVP_DigestUpdate(x->md, p, n);
    x->written += n;
    sink(x, p, n);
}

/* The file is complete: padding, then its line in the manifest. */
static void file_end(struct ksm_export *x)
{
    static const char zeros[KSM_TAR_BLOCK];
    sink(x, zeros, ksm_tar_pad(x->size));
    unsigned char d[32];
    unsigned dl = 0;
    char hex[65];
    EVP_DigestFinal_ex(x->md, d, &dl);
    ksm_hex(d, 32, hex);
    x->src = SRC_NONE;
    x->res.files++;
    if (x->written != x->size) { /* the tar header promised size bytes */
        fail(x, KSM_E_DATA_CORRUPT, "a file's length changed while it was written");
        return;
    }
    ksm_buf_reset(&x->scratch);
    ksm_buf_puts(&x->scratch, x->res.files > 1 ? ",\n{\"path\":" : "{\"path\":");
    ksm_buf_json_str(&x->scratch, x->path.data);
    ksm_buf_printf(&x->scratch, ",\"size\":%llu,\"sha256\":\"%s\"}", (unsigned long long)x->size,
                   hex);
    if (ksm_write_all(x->manifest_fd, x->scratch.data, x->scratch.len))
        fail(x, KSM_E_INTERNAL, "cannot write the manifest spool");
    x->manifest_len += x->scratch.len;
}

/* A file whose bytes are in x->mem (taken from *doc, which is emptied). */
static void file_mem(struct ksm_export *x, const char *path, struct ksm_buf *doc, int64_t mtime_ms)
{
    ksm_buf_free(&x->mem);
    x->mem = *doc;
    *doc = (struct ksm_buf)KSM_BUF_INIT;
    x->mem_off = 0;
    file_begin(x, path, x->mem.len, mtime_ms);
    x->src = SRC_MEM;
}

static int dump_cb(const char *p, size_t n, void *data)
{
    ksm_buf_append(data, p, n);
    return 0;
}

static void json_to_buf(json_t *doc, struct ksm_buf *out)
{
    ksm_buf_reset(out);
    json_dump_callback(doc, dump_cb, out, JSON_INDENT(1));
    ksm_buf_putc(out, '\n');
}

/* A file read from a spool descriptor of len bytes. */
static void file_fd(struct ksm_export *x, const char *path, int fd, uint64_t len)
{
    x->fd = fd;
    if (lseek(fd, 0, SEEK_SET) < 0) {
        fail(x, KSM_E_INTERNAL, "cannot rewind a spool");
        return;
    }
    file_begin(x, path, len, x->started_ms);
    x->src = SRC_FD;
}

/* One step of the current in-memory or spooled file. */
static void step_source(struct ksm_export *x)
{
    if (x->src == SRC_MEM) {
        size_t n = x->mem.len - x->mem_off < IO_CHUNK ? x->mem.len - x->mem_off : IO_CHUNK;
        file_bytes(x, x->mem.data + x->mem_off, n);
        x->mem_off += n;
        if (x->mem_off == x->mem.len)
            file_end(x);
        return;
    }
    uint64_t left = x->size - x->written;
    size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
    ssize_t n = want ? read(x->fd, x->io, want) : 0;
    if (n < 0 && errno == EINTR)
        return;
    if (want && n <= 0) {
        fail(x, KSM_E_INTERNAL, "cannot read a spool");
        return;
    }
    file_bytes(x, x->io, (size_t)n);
    if (x->written == x->size)
        file_end(x);
}

/* ---- objects ------------------------------------------------------------------------------------
 */

static bool get_data(void *arg, char *piece, size_t n)
{
    struct ksm_export *x = arg;
    x->res.object_bytes += n;
    file_bytes(x, piece, n);
    ksm_store_piece_release(NULL, piece);
    return x->paused;
}

/* The data file of the object (or noncurrent version) being read is complete. */
static void object_done(struct ksm_export *x)
{
    file_end(x);
    if (x->reading_version)
        x->res.versions++;
    else
        x->res.objects++;
}

static void get_done(void *arg, enum ksm_err e)
{
    struct ksm_export *x = arg;
    x->get = NULL;
    if (e != KSM_E_OK) {
        fail(x, e, "an object could not be read");
    } else {
        object_done(x);
    }
    kick_soon(x);
}

/* The metadata file of the object just written (or skipped). */
static void queue_meta(struct ksm_export *x, const struct ksm_bucket *b,
                       const struct ksm_obj_meta *m, const char *data_path, const char *error)
{
    json_t *doc = ksm_export__object_meta(b, m, data_path, error);
    json_to_buf(doc, &x->next_meta);
    json_decref(doc);
    x->have_next_meta = true;
}

/* The object at x->page[x->pi], or the noncurrent version v: its data file starts (or it is
 * skipped), its metadata follows. */
static void start_object(struct ksm_export *x, const struct ksm_bucket *b, const char *key,
                         const struct ksm_version_entry *v)
{
    struct ksm_obj_meta meta;
    memset(&meta, 0, sizeof meta);
    enum ksm_err e = KSM_E_OK;
    struct ksm_buf data_path = KSM_BUF_INIT;
    const char *vid = v ? v->version_id : NULL;
    if (v)
        ksm_export__version_paths(b, key, vid, &data_path, &x->next_meta_path);
    else
        ksm_export__object_paths(b, key, &data_path, &x->next_meta_path);
    x->reading_version = v != NULL;
    struct ksm_get *g = ksm_store_get_open_version(x->o.store, x->o.db, b, key, vid, &meta, &e);
    if (!g) {
        if (e != KSM_E_NOT_FOUND && e != KSM_E_NO_SUCH_VERSION) {
            /* it exists but cannot be read here (SSE-C: the key is the customer's; a disabled
             * key): its metadata says so, and the count tells the caller */
            ksm_obj_meta_free(&meta);
            memset(&meta, 0, sizeof meta);
            if (ksm_store_head_version(x->o.db, b, key, vid, &meta) == KSM_E_OK) {
                queue_meta(x, b, &meta, NULL, ksm_err_code(e));
                x->res.skipped++;
            }
        }
        ksm_obj_meta_free(&meta);
        ksm_buf_free(&data_path);
        return;
    }
    queue_meta(x, b, &meta, data_path.data, NULL);
    file_begin(x, data_path.data, meta.size, meta.mtime_ms);
    ksm_buf_free(&data_path);
    if (meta.size == 0) {
        ksm_store_get_cancel(g);
        object_done(x);
    } else {
        x->src = SRC_GET;
        x->get = g;
        ksm_store_get_start(g, x->o.loop, 0, meta.size, get_data, get_done, x);
    }
    ksm_obj_meta_free(&meta);
}

/* A delete marker has no data: its metadata file alone records it. */
static void start_marker(struct ksm_export *x, const struct ksm_bucket *b,
                         const struct ksm_version_entry *v)
{
    struct ksm_buf data_path = KSM_BUF_INIT;
    ksm_export__version_paths(b, v->key, v->version_id, &data_path, &x->next_meta_path);
    ksm_buf_free(&data_path);
    json_t *doc = ksm_export__marker_meta(b, v);
    json_to_buf(doc, &x->next_meta);
    json_decref(doc);
    x->have_next_meta = true;
    x->res.delete_markers++;
}

/* The next noncurrent version or delete marker of bucket b; false when b has no more. */
static bool next_version(struct ksm_export *x, const struct ksm_bucket *b)
{
    for (;;) {
        if (!x->vpage_loaded) {
            free(x->vpage);
            x->vpage = NULL;
            x->nvpage = x->vpi = 0;
            if (ksm_store_list_versions(x->o.db, b, NULL, NULL, x->vafter_key, x->vafter_version,
                                        LIST_PAGE, &x->vpage, &x->nvpage,
                                        &x->vpage_truncated) != KSM_E_OK) {
                fail(x, KSM_E_INTERNAL, "cannot list a bucket's versions");
                return true;
            }
            x->vpage_loaded = true;
        }
        while (x->vpi < x->nvpage) {
            const struct ksm_version_entry *v = &x->vpage[x->vpi++];
            snprintf(x->vafter_key, sizeof x->vafter_key, "%s", v->key);
            snprintf(x->vafter_version, sizeof x->vafter_version, "%s", v->version_id);
            if (v->is_prefix || (v->is_latest && !v->delete_marker))
                continue;   /* the current version is under objects/ already */
            if (v->delete_marker)
                start_marker(x, b, v);
            else
                start_object(x, b, v->key, v);
            return true;
        }
        x->vpage_loaded = false;
        if (!x->vpage_truncated)
            return false;
    }
}

/* The next object, page or bucket; false when every bucket is done. */
static bool next_object(struct ksm_export *x)
{
    while (x->bi < x->nbuckets) {
        const struct ksm_bucket *b = &x->buckets[x->bi];
        if (x->versions_pass) {
            if (next_version(x, b))
                return true;
            x->versions_pass = false;
            x->bi++;
            x->after[0] = x->vafter_key[0] = x->vafter_version[0] = '\0';
            continue;
        }
        if (!x->page_loaded) {
            free(x->page);
            x->page = NULL;
            x->npage = x->pi = 0;
            if (ksm_store_list(x->o.db, b, NULL, NULL, x->after, LIST_PAGE, &x->page, &x->npage,
                               &x->page_truncated) != KSM_E_OK) {
                fail(x, KSM_E_INTERNAL, "cannot list a bucket");
                return true;
            }
            x->page_loaded = true;
        }
        if (x->pi < x->npage) {
            const struct ksm_list_entry *le = &x->page[x->pi++];
            snprintf(x->after, sizeof x->after, "%s", le->key);
            if (!le->is_prefix)
                start_object(x, b, le->key, NULL);
            return true;
        }
        x->page_loaded = false;
        if (!x->page_truncated)
            x->versions_pass = true;
    }
    return false;
}

/* ---- the parts, in order ------------------------------------------------------------------------
 */

/* A file without a name (O_TMPFILE): gone with its descriptor, whatever happens to the process. */
static int spool_open(const char *dir)
{
    return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static void next_part(struct ksm_export *x)
{
    struct ksm_buf doc = KSM_BUF_INIT;
    switch (x->phase) {
    case P_REGISTRY: {
        json_t *reg = NULL;
        enum ksm_err e =
            ksm_export__registry(x->o.db, x->tenant, x->o.project, x->started_ms, &reg);
        if (e != KSM_E_OK) {
            fail(x, e, "cannot read the registry");
            break;
        }
        json_to_buf(reg, &doc);
        json_decref(reg);
        file_mem(x, "registry.json", &doc, x->started_ms);
        x->phase = P_OBJECTS;
        break;
    }
    case P_OBJECTS:
        if (x->have_next_meta) {
            x->have_next_meta = false;
            file_mem(x, x->next_meta_path.data, &x->next_meta, x->started_ms);
        } else if (!next_object(x)) {
            x->phase = P_AUDIT;
        }
        break;
    case P_AUDIT: {
        uint64_t records = 0;
        enum ksm_err e = ksm_export__audit(x->o.audit, x->tenant, x->o.project, x->started_ms,
                                           x->audit_fd, &x->audit_len, &records);
        if (e != KSM_E_OK) {
            fail(x, e, "cannot read the audit log");
            break;
        }
        file_fd(x, "audit/records.jsonl", x->audit_fd, x->audit_len);
        x->phase = P_BILLING;
        break;
    }
    case P_BILLING: {
        enum ksm_err e = ksm_export__focus_csv(x->o.db, &x->o, x->month, &doc);
        if (e != KSM_E_OK) {
            fail(x, e, "cannot build a monthly report");
            break;
        }
        char path[64];
        snprintf(path, sizeof path, "billing/%s.focus.csv", x->month);
        file_mem(x, path, &doc, x->started_ms);
        if (!strcmp(x->month, x->last_month))
            x->phase = P_MANIFEST;
        else
            ksm_export__next_month(x->month);
        break;
    }
    case P_MANIFEST: {
        static const char tail[] = "\n]}\n";
        if (ksm_write_all(x->manifest_fd, tail, sizeof tail - 1)) {
            fail(x, KSM_E_INTERNAL, "cannot write the manifest spool");
            break;
        }
        x->manifest_len += sizeof tail - 1;
        x->res.files--; /* file_end counts the manifest, which is not in itself */
        file_fd(x, KSM_EXPORT_MANIFEST, x->manifest_fd, x->manifest_len);
        x->phase = P_END;
        break;
    }
    case P_END:
        ksm_buf_reset(&x->scratch);
        ksm_tar_end(&x->scratch);
        sink(x, x->scratch.data, x->scratch.len);
        x->phase = P_DONE;
        break;
    case P_DONE:
        break;
    }
    ksm_buf_free(&doc);
}

/* ---- the pump ----------------------------------------------------------------------------------
 */

static void free_export(uv_handle_t *h)
{
    struct ksm_export *x = h->data;
    free(x->page);
    free(x->buckets);
    free(x->vpage);
    free(x->io);
    ksm_buf_free(&x->path);
    ksm_buf_free(&x->mem);
    ksm_buf_free(&x->scratch);
    ksm_buf_free(&x->next_meta);
    ksm_buf_free(&x->next_meta_path);
    if (x->manifest_fd >= 0)
        close(x->manifest_fd);
    if (x->audit_fd >= 0)
        close(x->audit_fd);
    EVP_MD_CTX_free(x->md);
    EVP_MD_CTX_free(x->whole);
    free(x);
}

static void finish(struct ksm_export *x)
{
    enum ksm_err e = x->cancelled ? (x->stop_err != KSM_E_OK ? x->stop_err : KSM_E_UNAVAILABLE)
                     : x->failed_e_set ? x->err : KSM_E_OK;
    unsigned char d[32];
    unsigned dl = 0;
    EVP_DigestFinal_ex(x->whole, d, &dl);
    ksm_hex(d, 32, x->res.sha256);
    x->done(x->arg, e, &x->res);
    uv_close((uv_handle_t *)&x->kick, free_export);
}

static void pump(uv_timer_t *t)
{
    struct ksm_export *x = t->data;
    /* a bounded number of steps per turn, so that one export does not hold the loop */
    for (int steps = 0; steps < 256 && !x->paused && !x->get; steps++) {
        if (x->cancelled || x->phase == P_DONE) {
            finish(x);
            return;
        }
        if (x->src == SRC_MEM || x->src == SRC_FD)
            step_source(x);
        else
            next_part(x);
    }
    if (!x->paused && !x->get)
        kick_soon(x);
}

static void kick_soon(struct ksm_export *x)
{
    uv_timer_start(&x->kick, pump, 0, 0);
}

void ksm_export_resume(struct ksm_export *x)
{
    x->paused = false;
    if (x->get)
        ksm_store_get_resume(x->get);
    else
        kick_soon(x);
}

void ksm_export_cancel(struct ksm_export *x)
{
    x->cancelled = true;
    if (x->get) {
        ksm_store_get_cancel(x->get);
        x->get = NULL;
    }
    x->paused = false;
    kick_soon(x);
}

void ksm_export_fail(struct ksm_export *x, enum ksm_err e)
{
    x->stop_err = e;
    ksm_export_cancel(x);
}

struct ksm_export *ksm_export_start(const struct ksm_export_opts *o, ksm_export_write_fn *write,
                                    ksm_export_done_fn *done, void *arg, enum ksm_err *err)
{
    struct ksm_export *x = ksm_xcalloc(1, sizeof *x);
    x->o = *o;
    snprintf(x->tenant, sizeof x->tenant, "%s", o->tenant);
    x->o.tenant = x->tenant;
    if (o->project) {
        snprintf(x->project, sizeof x->project, "%s", o->project);
        x->o.project = x->project;
    }
    x->o.spool_dir = NULL; /* only used here */
    x->write = write;
    x->done = done;
    x->arg = arg;
    x->started_ms = ksm_now_ms();
    x->manifest_fd = spool_open(o->spool_dir);
    x->audit_fd = spool_open(o->spool_dir);
    x->fd = -1;
    x->md = EVP_MD_CTX_new();
    x->whole = EVP_MD_CTX_new();
    *err = KSM_E_OK;
    if (x->manifest_fd < 0 || x->audit_fd < 0 || !x->md || !x->whole ||
        EVP_DigestInit_ex(x->whole, EVP_sha256(), NULL) != 1)
        *err = KSM_E_INTERNAL;
    else if (ksm_store_bucket_list(o->db, x->tenant, o->project, &x->buckets, &x->nbuckets))
        *err = KSM_E_INTERNAL;
    if (*err == KSM_E_OK) {
        char exported[32];
        ksm_rfc3339_ms(x->started_ms, exported);
        struct ksm_buf head = KSM_BUF_INIT;
        ksm_buf_printf(&head,
                       "{\"format\":\"%s\",\"exported\":\"%s\",\"tenant\":", KSM_EXPORT_FORMAT,
                       exported);
        ksm_buf_json_str(&head, x->tenant);
        ksm_buf_puts(&head, ",\"project\":");
        if (o->project)
            ksm_buf_json_str(&head, x->project);
        else
            ksm_buf_puts(&head, "null");
        ksm_buf_puts(&head, ",\"files\":[\n");
        if (ksm_write_all(x->manifest_fd, head.data, head.len))
            *err = KSM_E_INTERNAL;
        x->manifest_len = head.len;
        ksm_buf_free(&head);
    }
    if (*err != KSM_E_OK) {
        ksm_warn("export of %s cannot start: spool in %s: %s", x->tenant, o->spool_dir,
                 strerror(errno));
        x->kick.data = x;
        free_export((uv_handle_t *)&x->kick);
        return NULL;
    }
    x->io = ksm_xmalloc(IO_CHUNK);
    ksm_export__months(o->db, x->tenant, o->project, x->started_ms, x->month, x->last_month);
    uv_timer_init(o->loop, &x->kick);
    x->kick.data = x;
    kick_soon(x);
    return x;
}
