/* export.h — a tenant's or a project's data as one POSIX tar archive (SPEC 11(3); issue 10 item 1):
 * every object decrypted as a plain file, its metadata as JSON, the registry (projects, users,
 * groups, bindings, budgets), the audit records (JSON Lines), usage and bills (FOCUS CSV), and a
 * manifest of every file with its size and SHA-256. docs/lifecycle.md describes the layout.
 *
 * The archive is produced as a stream (export.c): the caller gives a sink, the exporter pauses
 * while the sink is congested, and memory stays flat whatever the tenant holds. `kasumi export
 * verify` reads it back (export_verify.c). */
#ifndef KSM_EXPORT_H
#define KSM_EXPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/db.h"
#include "core/error.h"

#define KSM_EXPORT_FORMAT "kasumi-export/1"
#define KSM_EXPORT_MANIFEST "manifest.json"

struct ksm_store;
struct ksm_audit;
struct ksm_export;

/* Takes n bytes (copied before it returns). true: stop writing until ksm_export_resume. */
typedef bool ksm_export_write_fn(void *arg, const char *p, size_t n);

struct ksm_export_result {
    uint64_t files, objects, object_bytes, archive_bytes;
    uint64_t versions, delete_markers; /* noncurrent versions (their bytes in object_bytes) */
    uint64_t skipped; /* objects that could not be read (SSE-C, disabled key) */
    char sha256[65];  /* of the whole archive */
};
/* Runs once, on the loop, never inside ksm_export_start; the exporter is freed after it returns. */
typedef void ksm_export_done_fn(void *arg, enum ksm_err e, const struct ksm_export_result *res);

struct ksm_export_opts {
    struct ksm_store *store;
    struct ksm_audit *audit;
    struct ksm_db *db; /* the loop's metadata connection */
    uv_loop_t *loop;
    const char *tenant;    /* required */
    const char *project;   /* NULL: the whole tenant */
    const char *spool_dir; /* where the unlinked spool of the manifest and the audit
                            * records lives (names and digests, never object data) */
    const char *operator_name, *registration_number, *environment; /* for the FOCUS CSV */
};

/* NULL with *err when it cannot start (NOT_FOUND tenant or project, spool not writable). */
struct ksm_export *ksm_export_start(const struct ksm_export_opts *o, ksm_export_write_fn *write,
                                    ksm_export_done_fn *done, void *arg, enum ksm_err *err);
/* The sink drained: continue. */
void ksm_export_resume(struct ksm_export *x);
/* Stop (the client went away): done runs with UNAVAILABLE, from the loop. */
void ksm_export_cancel(struct ksm_export *x);
/* Stop because the sink cannot take more (a storage quota): done runs with e, from the loop. May be
 * called inside the write function, which then returns false. */
void ksm_export_fail(struct ksm_export *x, enum ksm_err e);

/* Reading an archive back and checking it against its manifest (export_verify.c). Each problem is
 * reported with the file's path (or "" for the archive itself) and what is wrong with it. */
typedef void ksm_export_report_fn(void *arg, const char *path, const char *what);
struct ksm_export_verifier;
struct ksm_export_verifier *ksm_export_verifier_new(ksm_export_report_fn *report, void *arg);
/* -1 once the archive cannot be read further (reported); keep feeding is then pointless. */
int ksm_export_verifier_feed(struct ksm_export_verifier *v, const char *p, size_t n);
/* The number of problems (0: every file matches the manifest and the manifest lists every file);
 * files gets the number of files checked. Frees v. */
int ksm_export_verifier_finish(struct ksm_export_verifier *v, uint64_t *files);

/* Is the object key usable as a relative path under objects/<bucket>/ (no empty, "." or ".."
 * segment, none longer than a file name may be, no leading or trailing '/', no control character)?
 * The limit leaves room for the ".json" of the metadata file. */
#define KSM_EXPORT_NAME_MAX 250
bool ksm_export_key_is_path(const char *key);

#endif
