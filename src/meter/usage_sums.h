/* usage_sums.h — a batch's usage records summed per row in memory and written as one UPSERT per
 * row before the batch commits: one UPSERT per record cost more than the record's own INSERT, and
 * a batch's records name the same few rows. Billing's rollup (per day, tenant, project, service,
 * meter, resource and corrected month) and the use per API key (usage_by_key.c) both sum this way.
 * Used on the usage writer's thread, inside its transaction; the row's strings are the records'
 * (valid for the batch). */
#ifndef KSM_USAGE_SUMS_H
#define KSM_USAGE_SUMS_H

#include <stdint.h>

#include "core/db.h"

#define KSM_USAGE_SUMS_KEYS 6    /* text columns of a row's key, beside its day */
#define KSM_USAGE_SUMS_ROWS 64   /* distinct rows held; one more writes the held ones first */

struct ksm_usage_sums {
    /* ?1 the day (ms), ?2.. the nkeys texts, then the summed quantity, cost and record count;
     * the statement adds them to the row's (ON CONFLICT ... DO UPDATE) */
    const char *upsert;
    int nkeys;
    int n;
    struct ksm_usage_sum_row {
        int64_t day_ms, quantity, cost, records;
        const char *key[KSM_USAGE_SUMS_KEYS];
    } row[KSM_USAGE_SUMS_ROWS];
};

/* One record's amounts added to its row. -1 when a sum would overflow (the caller's batch is then
 * written record by record, where SQLite's sums decide) or the held rows could not be written. */
int ksm_usage_sums_add(struct ksm_db *db, struct ksm_usage_sums *s, int64_t day_ms,
                       const char *const *key, int64_t quantity, int64_t cost);
/* Writes the held rows (and forgets them, written or not). 0, or -1. */
int ksm_usage_sums_write(struct ksm_db *db, struct ksm_usage_sums *s);

#endif
