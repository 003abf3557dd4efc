/* ai_health.c — the targets' health table (see ai_health.h).
 *
 * One table for the process, open addressing on the target's key; an entry is added the first time
 * a request names its target and is never removed (a target no route names any more costs a slot;
 * a full table leaves new targets untracked, always in service). Readers take no lock: the state a
 * request orders by is three atomics. Changes — a failure, the first answer after failures, a probe
 * claimed — are rare and serialised by one mutex. */
#include "ai/ai_health.h"

#include <pthread.h>
#include <string.h>

#include "core/buf.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"

#define SLOTS 4096        /* a power of two: tenants × their routes' targets */
#define STREAK_MAX 4      /* a time aside doubles at most four times: 16 × eject_ms */
#define LEASE_MAX_MS 30000   /* a probe that has not ended by then frees the next probe */
#define RETRY_AFTER_MAX_S 3600

struct entry {
    uint64_t key;                 /* atomic; 0: free */
    int64_t until;                /* atomic; monotonic ns until which it is aside; 0: in service */
    int64_t lease;                /* atomic; monotonic ns until which a request probes it */
    int failures;                 /* atomic; in a row, since it last answered */
    int in_flight;                /* atomic; calls counted by ksm_ai_health_acquire */
    /* under mu */
    int streak;                   /* times set aside since it last answered */
    int lease_ms;                 /* the target's time-out, bounded: how long a probe may take */
    unsigned long long ejections;
    int64_t last_failure_ms;      /* wall clock, for the admin API */
    struct labels *said;          /* set once, when added */
};

/* What the metrics and the log name a target by: apart from the table, which stays small (every
 * slot is read by a scrape of /metrics). */
struct labels {
    char tenant[40], upstream[128], model[128];
};

static struct entry tab[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int eject_after, eject_ms;   /* ksm_ai_health_configure's, at start; 0: off */

void ksm_ai_health_configure(int after, int ms)
{
    eject_after = after;
    eject_ms = ms;
}

#define LOAD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)

uint64_t ksm_ai_health_key(const char *tenant, const struct ksm_ai_target *t)
{
    /* the fields and their NULs, so that no two targets' bytes run together the same way */
    const char *const part[] = {tenant, t->base_url, t->model, t->credential_ref, t->azure_deployment};
    uint64_t h = ksm_hash64((uint64_t)t->provider + 1, "", 0);
    for (size_t i = 0; i < KSM_NELEM(part); i++)
        h = ksm_hash64(h, part[i], strlen(part[i]) + 1);
    return h ? h : 1;
}

static int find(uint64_t key)
{
    for (unsigned i = 0, s = (unsigned)key & (SLOTS - 1); i < SLOTS; i++, s = (s + 1) & (SLOTS - 1)) {
        uint64_t k = LOAD(&tab[s].key);
        if (k == key)
            return (int)s;
        if (k == 0)
            return -1;
    }
    return -1;
}

static int add(const char *tenant, const struct ksm_ai_target *t)
{
    pthread_mutex_lock(&mu);
    int found = find(t->health_key);
    for (unsigned i = 0, s = (unsigned)t->health_key & (SLOTS - 1); found < 0 && i < SLOTS;
         i++, s = (s + 1) & (SLOTS - 1)) {
        struct entry *e = &tab[s];
        if (e->key)
            continue;
        struct labels *l = ksm_xmalloc(sizeof *l);
        ksm_fmt_copy(l->tenant, sizeof l->tenant, tenant);
        ksm_ai_url_host(t->base_url, l->upstream, sizeof l->upstream);
        ksm_fmt_copy(l->model, sizeof l->model, t->model[0] ? t->model : "");
        e->said = l;
        e->lease_ms = t->timeout_ms > 0 && t->timeout_ms < LEASE_MAX_MS ? t->timeout_ms : LEASE_MAX_MS;
        STORE(&e->key, t->health_key);   /* last: a reader that sees the key sees the rest */
        found = (int)s;
    }
    pthread_mutex_unlock(&mu);
    if (found < 0)
        ksm_warn("ai: the targets' health table is full; new targets are not tracked");
    return found;
}

/* A target aside whose time is over: this request probes it, unless another does. */
static bool claim_probe(struct entry *e, int64_t now)
{
    int64_t lease = LOAD(&e->lease);
    if (lease > now)
        return false;
    int64_t mine = now + (int64_t)e->lease_ms * 1000000;
    return __atomic_compare_exchange_n(&e->lease, &lease, mine, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

enum rank { PROBE, IN_SERVICE, ASIDE };

int ksm_ai_health_order(const char *tenant, const struct ksm_ai_target *targets, int *order, int n,
                        int16_t *slot)
{
    if (eject_after <= 0 || n < 2)
        return -1;   /* a lone target is tried whatever its state: nothing to order, nothing kept */
    enum rank rank[KSM_AI_MAX_TARGETS];
    int64_t now = (int64_t)ksm_mono_ns();
    int probe = -1;
    bool moved = false;
    for (int i = 0; i < n; i++) {
        const struct ksm_ai_target *t = &targets[order[i]];
        int s = find(t->health_key);
        if (s < 0)
            s = add(tenant, t);
        slot[order[i]] = (int16_t)s;
        rank[i] = IN_SERVICE;
        if (s < 0)
            continue;
        struct entry *e = &tab[s];
        int64_t until = LOAD(&e->until);
        if (until == 0)
            continue;
        rank[i] = until <= now && probe < 0 && claim_probe(e, now) ? PROBE : ASIDE;
        if (rank[i] == PROBE)
            probe = s;
        moved = true;
    }
    if (!moved)
        return -1;
    int out[KSM_AI_MAX_TARGETS], k = 0;
    for (enum rank r = PROBE; r <= ASIDE; r++)
        for (int i = 0; i < n; i++)
            if (rank[i] == r)
                out[k++] = order[i];
    memcpy(order, out, (size_t)n * sizeof *order);
    return probe;
}

void ksm_ai_health_unclaim(int slot)
{
    if (slot >= 0 && slot < SLOTS)
        STORE(&tab[slot].lease, 0);
}

static int64_t aside_ms(int streak, long retry_after_s)
{
    int64_t ms = (int64_t)eject_ms << (streak - 1 < STREAK_MAX ? streak - 1 : STREAK_MAX);
    if (retry_after_s > 0) {   /* the server said when to come back */
        int64_t ra = (int64_t)(retry_after_s < RETRY_AFTER_MAX_S ? retry_after_s : RETRY_AFTER_MAX_S);
        ms = ra * 1000 > ms ? ra * 1000 : ms;
    }
    return ms;
}

static void answered(struct entry *e)
{
    if (LOAD(&e->failures) == 0 && LOAD(&e->until) == 0)
        return;   /* the usual case: nothing to change, no lock */
    pthread_mutex_lock(&mu);
    if (e->streak)
        ksm_info("ai: model target %s %s of %s answers again; back in service", e->said->upstream,
                 e->said->model, e->said->tenant);
    STORE(&e->failures, 0);
    STORE(&e->until, 0);
    STORE(&e->lease, 0);
    e->streak = 0;
    pthread_mutex_unlock(&mu);
}

/* A failure: counted; the eject_after-th in a row, or a probe's, sets the target aside. A failure of
 * a request that was already on its way when the target was set aside changes nothing more. */
static bool failed(struct entry *e, long retry_after_s)
{
    int64_t now = (int64_t)ksm_mono_ns();
    pthread_mutex_lock(&mu);
    int64_t until = LOAD(&e->until);
    int failures = LOAD(&e->failures) + 1;
    STORE(&e->failures, failures);
    e->last_failure_ms = ksm_now_ms();
    bool aside = until > now;
    if (!aside && (until != 0 || failures >= eject_after)) {
        e->streak++;
        e->ejections++;
        int64_t ms = aside_ms(e->streak, retry_after_s);
        STORE(&e->lease, 0);
        STORE(&e->until, now + ms * 1000000);
        aside = true;
        ksm_warn("ai: model target %s %s of %s set aside for %lld ms after %d failures in a row",
                 e->said->upstream, e->said->model, e->said->tenant, (long long)ms, failures);
    }
    pthread_mutex_unlock(&mu);
    return aside;
}

bool ksm_ai_health_report(int slot, bool ok, long retry_after_s)
{
    if (slot < 0 || slot >= SLOTS || eject_after <= 0)
        return false;
    struct entry *e = &tab[slot];
    if (ok) {
        answered(e);
        return false;
    }
    return failed(e, retry_after_s);
}

bool ksm_ai_health_acquire(int slot, int max_concurrent, bool force)
{
    if (slot < 0 || slot >= SLOTS)
        return true;   /* untracked: nothing to count, nothing to hold it back */
    int *n = &tab[slot].in_flight, now = LOAD(n);
    do {
        if (max_concurrent > 0 && now >= max_concurrent && !force)
            return false;
    } while (!__atomic_compare_exchange_n(n, &now, now + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return true;
}

void ksm_ai_health_release(int slot)
{
    if (slot >= 0 && slot < SLOTS)
        __atomic_sub_fetch(&tab[slot].in_flight, 1, __ATOMIC_ACQ_REL);
}

static const char *state(const struct entry *e, int64_t now)
{
    int64_t until = LOAD(&e->until);
    if (until == 0)
        return "healthy";
    return until > now || LOAD(&e->lease) <= now ? "ejected" : "probing";
}

json_t *ksm_ai_health_json(uint64_t key, bool lone)
{
    int s = find(key);
    if (s < 0)   /* no call has planned on it */
        return json_pack("{s:s}", "state", lone ? "untracked" : "unknown");
    const struct entry *e = &tab[s];
    int64_t now = (int64_t)ksm_mono_ns(), until = LOAD(&e->until);
    pthread_mutex_lock(&mu);
    json_t *o = json_pack("{s:s,s:i,s:I,s:i}", "state", state(e, now),
                          "consecutive_failures", LOAD(&e->failures),
                          "ejections", (json_int_t)e->ejections, "in_flight", LOAD(&e->in_flight));
    char when[32];
    if (until) {   /* the monotonic time said on the wall clock */
        ksm_rfc3339_ms(ksm_now_ms() + (until - now) / 1000000, when);
        json_object_set_new(o, "ejected_until", json_string(when));
    }
    if (e->last_failure_ms) {
        ksm_rfc3339_ms(e->last_failure_ms, when);
        json_object_set_new(o, "last_failure", json_string(when));
    }
    pthread_mutex_unlock(&mu);
    return o;
}

static void label(struct ksm_buf *out, const char *name, const struct entry *e)
{
    ksm_buf_puts(out, name);
    ksm_buf_puts(out, "{tenant=");
    ksm_buf_json_str(out, e->said->tenant);
    ksm_buf_puts(out, ",upstream=");
    ksm_buf_json_str(out, e->said->upstream);   /* JSON escaping is a superset of the format's */
    ksm_buf_puts(out, ",model=");
    ksm_buf_json_str(out, e->said->model);
    ksm_buf_puts(out, "} ");
}

static void collect(struct ksm_buf *out, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    ksm_buf_puts(out, "# HELP kasumi_ai_target_ejections_total Times a model target was set aside "
                      "after failing in a row.\n# TYPE kasumi_ai_target_ejections_total counter\n");
    for (int s = 0; s < SLOTS; s++)
        if (tab[s].key && tab[s].ejections) {
            label(out, "kasumi_ai_target_ejections_total", &tab[s]);
            ksm_buf_printf(out, "%llu\n", tab[s].ejections);
        }
    ksm_buf_puts(out, "# HELP kasumi_ai_target_ejected Whether a model target is set aside now "
                      "(1) or in service (0).\n# TYPE kasumi_ai_target_ejected gauge\n");
    for (int s = 0; s < SLOTS; s++)
        if (tab[s].key && tab[s].ejections) {
            label(out, "kasumi_ai_target_ejected", &tab[s]);
            ksm_buf_puts(out, LOAD(&tab[s].until) ? "1\n" : "0\n");
        }
    ksm_buf_puts(out, "# HELP kasumi_ai_target_in_flight Calls in flight to a model target of a "
                      "route with a fallback.\n# TYPE kasumi_ai_target_in_flight gauge\n");
    for (int s = 0; s < SLOTS; s++)
        if (tab[s].key) {
            label(out, "kasumi_ai_target_in_flight", &tab[s]);
            ksm_buf_printf(out, "%d\n", LOAD(&tab[s].in_flight));
        }
    pthread_mutex_unlock(&mu);
}

void ksm_ai_health_metrics_register(void)
{
    ksm_metrics_add_collector(collect, NULL);
}
