/* usage_sums.c — a batch's usage records summed per row (usage_sums.h). */
#include "meter/usage_sums.h"

#include <string.h>

static struct ksm_usage_sum_row *row_find(struct ksm_usage_sums *s, int64_t day_ms,
                                          const char *const *key)
{
    for (int i = 0; i < s->n; i++) {
        struct ksm_usage_sum_row *r = &s->row[i];
        int k = 0;
        while (k < s->nkeys && !strcmp(r->key[k], key[k]))
            k++;
        if (r->day_ms == day_ms && k == s->nkeys)
            return r;
    }
    return NULL;
}

int ksm_usage_sums_add(struct ksm_db *db, struct ksm_usage_sums *s, int64_t day_ms,
                       const char *const *key, int64_t quantity, int64_t cost)
{
    struct ksm_usage_sum_row *r = row_find(s, day_ms, key);
    if (!r) {
        if (s->n == KSM_USAGE_SUMS_ROWS && ksm_usage_sums_write(db, s))
            return -1;
        r = &s->row[s->n++];
        *r = (struct ksm_usage_sum_row){.day_ms = day_ms};
        memcpy(r->key, key, (size_t)s->nkeys * sizeof key[0]);
    }
    if (__builtin_add_overflow(r->quantity, quantity, &r->quantity) ||
        __builtin_add_overflow(r->cost, cost, &r->cost))
        return -1;
    r->records++;
    return 0;
}

int ksm_usage_sums_write(struct ksm_db *db, struct ksm_usage_sums *s)
{
    sqlite3_stmt *st = ksm_db_prepare(db, s->upsert);
    int rc = st ? SQLITE_DONE : SQLITE_ERROR;
    for (int i = 0; i < s->n && rc == SQLITE_DONE; i++) {
        const struct ksm_usage_sum_row *r = &s->row[i];
        sqlite3_bind_int64(st, 1, r->day_ms);
        for (int k = 0; k < s->nkeys; k++)
            ksm_db_bind_text(st, 2 + k, r->key[k]);
        sqlite3_bind_int64(st, 2 + s->nkeys, r->quantity);
        sqlite3_bind_int64(st, 3 + s->nkeys, r->cost);
        sqlite3_bind_int64(st, 4 + s->nkeys, r->records);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    s->n = 0;
    return rc == SQLITE_DONE ? 0 : -1;
}
