/* export_int.h — what the files of the exporter share (export.c drives; the others produce one
 * part of the archive each). */
#ifndef KSM_EXPORT_INT_H
#define KSM_EXPORT_INT_H
#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/db.h"
#include "lifecycle/export.h"

struct ksm_obj_meta;
struct ksm_bucket;

/* The registry document (export_registry.c). */
enum ksm_err ksm_export__registry(struct ksm_db *db, const char *tenant, const char *project,
                                  int64_t now_ms, json_t **out);

/* The audit records of the tenant (and project) up to until_ms, as JSON Lines, written to fd
 * (export_audit.c); *len gets the bytes written. */
enum ksm_err ksm_export__audit(struct ksm_audit *audit, const char *tenant, const char *project,
                               int64_t until_ms, int fd, uint64_t *len, uint64_t *records);

/* The months (YYYY-MM, JST) to export: from the first with usage of the tenant (and project) to
 * the month of now_ms (export_billing.c). */
void ksm_export__months(struct ksm_db *db, const char *tenant, const char *project, int64_t now_ms,
                        char first[8], char last[8]);
/* The month after month. */
void ksm_export__next_month(char month[8]);
/* The FOCUS CSV of one month into out. */
enum ksm_err ksm_export__focus_csv(struct ksm_db *db, const struct ksm_export_opts *o,
                                   const char *month, struct ksm_buf *out);

/* An object's metadata document, written beside its data (export_object.c). */
json_t *ksm_export__object_meta(const struct ksm_bucket *b, const struct ksm_obj_meta *m,
                                const char *path, const char *error);
/* The archive path of an object's data and of its metadata. */
void ksm_export__object_paths(const struct ksm_bucket *b, const char *key, struct ksm_buf *data,
                              struct ksm_buf *meta);
/* The same for a noncurrent version (or a delete marker: its metadata path only is used):
 * versions/<bucket>/<SHA-256 of the key>/<version id>, the key in the metadata. */
void ksm_export__version_paths(const struct ksm_bucket *b, const char *key, const char *version_id,
                               struct ksm_buf *data, struct ksm_buf *meta);
struct ksm_version_entry;
/* A delete marker's metadata document. */
json_t *ksm_export__marker_meta(const struct ksm_bucket *b, const struct ksm_version_entry *v);

#endif
