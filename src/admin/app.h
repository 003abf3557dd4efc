/* app.h — what the whole daemon shares across worker threads: config, audit log, start time.
 * Immutable after start except where a field says otherwise. */
#ifndef KSM_APP_H
#define KSM_APP_H
#include <stdatomic.h>
#include <stdint.h>

#include "audit/audit.h"
#include "core/conf.h"

struct ksm_kms;
struct ksm_store;
struct ksm_erase;

struct ksm_app {
    const struct ksm_conf *conf;
    struct ksm_audit *audit;
    struct ksm_kms *kms;         /* keys (govcloud; NULL in overseas-ai, which stores nothing) */
    struct ksm_store *store;     /* object storage (govcloud only) */
    struct ksm_erase *erase;     /* the erasure runner (govcloud only) */
    char db_path[600];
    int64_t started_ms;
    atomic_bool ready;           /* set once every listener is up; cleared when draining */
    atomic_bool draining;
};

#endif
