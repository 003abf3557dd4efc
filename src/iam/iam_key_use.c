/* iam_key_use.c — when each key was last used, to the hour: what "unused for 90 days" is judged by
 * (billing's recommendations, docs/billing.md). API keys are recorded when their secret is
 * checked, S3 keys when a request's signature verifies. An in-memory table lets at most one write
 * per key and hour reach the database, so the hot path costs a hash lookup; after a restart the
 * first use of each key writes again. */
#include "iam/iam_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#define BUCKETS 1024
#define GRAIN_MS 3600000LL /* last use is kept to the hour */

static const struct ksm_migration key_use_migrations[] = {
    {"iam_key_use", 1,
     "CREATE TABLE iam_key_use(key_id TEXT PRIMARY KEY, last_used_ms INTEGER NOT NULL);"},
};

void ksm_iam__key_use_register_schema(void)
{
    ksm_db_register(key_use_migrations, (int)KSM_NELEM(key_use_migrations));
}

struct use {
    struct use *next;
    char key[KSM_ID_LEN];
    int64_t written_ms;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct use *table[BUCKETS];

/* true when the key's last use was written less than GRAIN_MS before now (nothing to do) */
static bool fresh(const char *key, int64_t now)
{
    uint32_t h = 2166136261u;
    for (const char *s = key; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    pthread_mutex_lock(&mu);
    struct use *u = table[h % BUCKETS];
    while (u && strcmp(u->key, key))
        u = u->next;
    if (!u) {
        u = ksm_xcalloc(1, sizeof *u);
        snprintf(u->key, sizeof u->key, "%s", key);
        u->next = table[h % BUCKETS];
        table[h % BUCKETS] = u;
    }
    bool skip = u->written_ms && now - u->written_ms < GRAIN_MS && now >= u->written_ms;
    if (!skip)
        u->written_ms = now;
    pthread_mutex_unlock(&mu);
    return skip;
}

void ksm_iam_key_used(struct ksm_db *db, const char *key_id)
{
    int64_t now = ksm_now_ms();
    if (!key_id || !*key_id || fresh(key_id, now))
        return;
    sqlite3_stmt *st = ksm_db_prepare(
        db, "INSERT INTO iam_key_use(key_id, last_used_ms) VALUES(?1, ?2) ON CONFLICT(key_id) "
            "DO UPDATE SET last_used_ms = max(last_used_ms, excluded.last_used_ms)");
    ksm_db_bind_text(st, 1, key_id);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        ksm_warn("iam: recording a key's use: %s", sqlite3_errmsg(db->h));
    sqlite3_reset(st);
}
