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

#endif
