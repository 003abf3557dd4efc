/* kms_cache.c — unwrapped tenant and bucket keys, kept for a short time so that a GET costs one
 * AES-GCM unwrap of its data key instead of a walk up the hierarchy with SQL at each step.
 *
 * A fixed table in locked, undumpable memory, 8-way set-associative: a lookup touches one set.
 * Entries expire after the TTL and are wiped (OPENSSL_cleanse) whenever they leave: on expiry,
 * replacement, eviction by a state change (disable, destroy, rotate) and close. State changes evict
 * because a cached key skips the state check; only this process writes the metadata database, so
 * eviction is immediate, and the TTL bounds the staleness if several nodes ever share one. */
#include "kms/kms_int.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define WAYS 8
#define SETS 128
#define DEFAULT_TTL_MS 60000

struct slot {
    bool used;
    uint8_t kind;
    uint32_t asked; /* version asked for; 0 = "current" */
    uint64_t expires_ns;
    char owner[KSM_KMS_ID_MAX + 1];
    struct kms_cached v;
};

struct table {
    struct slot s[SETS * WAYS];
};

struct kms_cache {
    pthread_mutex_t mu;
    uint64_t ttl_ns;
    uint64_t gen;    /* bumped by every eviction: a load that raced one is not cached */
    struct table *t; /* secure memory */
};

struct kms_cache *ksm_kms__cache_new(void)
{
    struct kms_cache *c = ksm_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->ttl_ns = (uint64_t)DEFAULT_TTL_MS * 1000000u;
    c->t = ksm_kms__secure_alloc(sizeof *c->t); /* mmap: zero-filled */
    return c;
}

void ksm_kms__cache_free(struct kms_cache *c)
{
    if (!c)
        return;
    ksm_kms__secure_free(c->t, sizeof *c->t);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void ksm_kms__cache_set_ttl(struct kms_cache *c, int ttl_ms)
{
    pthread_mutex_lock(&c->mu);
    c->ttl_ns = (uint64_t)(ttl_ms > 0 ? ttl_ms : 0) * 1000000u;
    pthread_mutex_unlock(&c->mu);
}

static void wipe(struct slot *s) { OPENSSL_cleanse(s, sizeof *s); }

static size_t set_of(uint8_t kind, const char *owner, uint32_t version)
{
    uint64_t h = ksm_hash64(kind ^ ((uint64_t)version << 8), owner, strlen(owner));
    return (size_t)(h % SETS) * WAYS;
}

static bool matches(const struct slot *s, uint8_t kind, const char *owner, uint32_t version)
{
    return s->used && s->kind == kind && s->asked == version && !strcmp(s->owner, owner);
}

bool ksm_kms__cache_get(struct kms_cache *c, enum ksm_kms_kind kind, const char *owner,
                        uint32_t version, struct kms_cached *out)
{
    bool hit = false;
    uint64_t now = ksm_mono_ns();
    pthread_mutex_lock(&c->mu);
    struct slot *set = &c->t->s[set_of((uint8_t)kind, owner, version)];
    for (int i = 0; i < WAYS; i++) {
        if (!matches(&set[i], (uint8_t)kind, owner, version))
            continue;
        if (set[i].expires_ns <= now) {
            wipe(&set[i]);
            break;
        }
        *out = set[i].v;
        hit = true;
        break;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

uint64_t ksm_kms__cache_gen(struct kms_cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

void ksm_kms__cache_put(struct kms_cache *c, enum ksm_kms_kind kind, const char *owner,
                        uint32_t version, const struct kms_cached *v, uint64_t gen)
{
    if (strlen(owner) > KSM_KMS_ID_MAX)
        return;
    uint64_t now = ksm_mono_ns();
    pthread_mutex_lock(&c->mu);
    if (!c->ttl_ns || gen != c->gen)
        goto done;
    struct slot *set = &c->t->s[set_of((uint8_t)kind, owner, version)], *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (matches(&set[i], (uint8_t)kind, owner, version) || !set[i].used) {
            victim = &set[i];
            break;
        }
        if (set[i].expires_ns < victim->expires_ns)
            victim = &set[i]; /* else replace the one closest to expiry */
    }
    wipe(victim);
    victim->used = true;
    victim->kind = (uint8_t)kind;
    victim->asked = version;
    victim->expires_ns = now + c->ttl_ns;
    strcpy(victim->owner, owner);
    victim->v = *v;
done:
    pthread_mutex_unlock(&c->mu);
}

/* Eviction scans the whole table: it runs on rare administrative changes, never per request. */
void ksm_kms__cache_evict_owner(struct kms_cache *c, enum ksm_kms_kind kind, const char *owner)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    for (size_t i = 0; i < SETS * WAYS; i++) {
        struct slot *s = &c->t->s[i];
        if (s->used && s->kind == (uint8_t)kind && !strcmp(s->owner, owner))
            wipe(s);
    }
    pthread_mutex_unlock(&c->mu);
}

void ksm_kms__cache_evict_tenant(struct kms_cache *c, const char *tenant_id)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    for (size_t i = 0; i < SETS * WAYS; i++) {
        struct slot *s = &c->t->s[i];
        if (s->used && !strcmp(s->v.tenant_id, tenant_id))
            wipe(s);
    }
    pthread_mutex_unlock(&c->mu);
}

void ksm_kms__cache_sweep(struct kms_cache *c)
{
    uint64_t now = ksm_mono_ns();
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < SETS * WAYS; i++) {
        struct slot *s = &c->t->s[i];
        if (s->used && s->expires_ns <= now)
            wipe(s);
    }
    pthread_mutex_unlock(&c->mu);
}
