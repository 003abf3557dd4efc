/* s3_server.h — the S3 listener's entry points (the daemon wires them to the S3 listener). */
#ifndef KSM_S3_SERVER_H
#define KSM_S3_SERVER_H
#include "core/conf.h"
#include "http/http.h"

struct ksm_store;

void ksm_s3_setup(struct ksm_store *store, const struct ksm_conf *conf);
void ksm_s3_on_headers(struct ksm_req *r);   /* the listener's on_headers hook */
void ksm_s3_dispatch(struct ksm_req *r);     /* the listener's handler (buffered bodies) */
/* A project's storage quota was set or removed (the admin API): re-read it and its usage. */
void ksm_s3_quota_changed(const char *project);

/* A write's reservation against its project's storage quota (s3_quota.c), shared by S3 requests
 * and the admin API's uploads: what it adds (less the credits: what it replaces) is held against
 * usage plus the writes in flight; settled as usage once durable, released otherwise. When it does
 * not fit: KSM_E_QUOTA_EXCEEDED, a sentence in why and the figures (for the audit) in detail.
 * Reserving again on a hold that is held (same project) adds to it: a write whose size is not known
 * ahead (an export archive) grows its hold as its bytes arrive. */
struct ksm_quota_hold {
    char project[40];
    int64_t bytes, objects;
    bool held;
};
struct ksm_db;
enum ksm_err ksm_quota_reserve(struct ksm_db *db, struct ksm_quota_hold *h, const char *project,
                               int64_t bytes, int64_t objects, int64_t credit_bytes,
                               int64_t credit_objects, char *why, size_t why_len, char *detail,
                               size_t detail_len);
void ksm_quota_settle(struct ksm_quota_hold *h, bool used);   /* no-op when nothing is held */

#endif
