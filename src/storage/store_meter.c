/* store_meter.c — stored bytes over time (SPEC.md C; the storage issue's item 9). The daemon samples
 * every bucket on a timer and records, per bucket, the bytes it held times the seconds since the
 * previous sample ("storage_byte_seconds") and the bytes themselves ("storage_bytes"). Requests and
 * bytes in and out are metered per request by the S3 layer; writes carry their sizes in the audit
 * log, so stored bytes over time can also be rebuilt from the ledger. */
#include <stdio.h>

#include "core/util.h"
#include "meter/usage_writer.h"
#include "storage/store.h"

enum ksm_err ksm_store_meter_sample(struct ksm_db *db, int64_t now_ms, int64_t elapsed_ms)
{
    /* objects plus the parts of uploads in progress: both occupy the tenant's storage */
    sqlite3_stmt *st = ksm_db_prepare(
        db, "SELECT b.id, b.tenant, b.project, b.name,"
            " (SELECT COALESCE(SUM(size), 0) FROM store_objects o WHERE o.bucket = b.id) +"
            " (SELECT COALESCE(SUM(p.size), 0) FROM store_uploads u JOIN store_parts p"
            "  ON p.upload = u.id WHERE u.bucket = b.id) FROM store_buckets b");
    int rc;
    char key[128];
    int64_t secs = elapsed_ms / 1000;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t bytes = sqlite3_column_int64(st, 4);
        struct ksm_usage_rec u = {.tenant = ksm_db_col_text(st, 1), .project = ksm_db_col_text(st, 2),
                                  .service = "storage", .resource = ksm_db_col_text(st, 3),
                                  .time_ms = now_ms, .idempotency_key = key};
        snprintf(key, sizeof key, "storage/%s/%lld/bytes", ksm_db_col_text(st, 0), (long long)now_ms);
        u.meter = "storage_bytes";
        u.quantity = bytes;
        ksm_usage_submit(&u);
        if (secs > 0 && bytes > 0 && bytes <= INT64_MAX / secs) {
            snprintf(key, sizeof key, "storage/%s/%lld/byte-seconds", ksm_db_col_text(st, 0),
                     (long long)now_ms);
            u.meter = "storage_byte_seconds";
            u.quantity = bytes * secs;
            ksm_usage_submit(&u);
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
