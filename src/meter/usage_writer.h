/* usage_writer.h — group commit for usage records on the request path. A service that must not wait
 * for an fsync per request (the AI gateway) hands its record here; one thread writes everything
 * handed over since its last commit in one transaction, so a record is durable within the window
 * (DESIGN.md §3: "an AI request's usage record, within the group-commit window"). The records go
 * through ksm_usage_record, so idempotency and validation are the sink's. */
#ifndef KSM_USAGE_WRITER_H
#define KSM_USAGE_WRITER_H
#include "meter/usage.h"

/* Opens its own connection to the metadata database at db_path. -1 with err filled. */
int ksm_usage_writer_start(const char *db_path, char *err, size_t errlen);
/* Thread-safe; copies the record. Invalid records are logged and dropped by the writer (the caller
 * validated what it could; a rejected record is a bug, not a user error). While the records not yet
 * written hold more than KSM_USAGE_HOLD_MAX bytes (the database or its disk stalls and requests
 * keep coming), it blocks until the writer has caught up: every request is metered, so a stalled
 * sink slows the service to its pace instead of growing memory without bound. The AI gateway
 * waits without blocking at a lower bound of its own ([ai] backlog_max_bytes). */
#define KSM_USAGE_HOLD_MAX ((uint64_t)16 << 20)
void ksm_usage_submit(const struct ksm_usage_rec *rec);
/* Records submitted and not yet committed: how far the writer is behind. Lock-free, approximate. */
uint64_t ksm_usage_backlog(void);
/* The memory those records hold, in bytes. Lock-free, approximate. */
uint64_t ksm_usage_backlog_bytes(void);
/* Blocks until everything submitted so far is committed. */
void ksm_usage_writer_flush(void);
/* Flushes and stops the thread. */
void ksm_usage_writer_stop(void);

#endif
