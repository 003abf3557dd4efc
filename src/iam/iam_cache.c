/* iam_cache.c — per-thread memo of IAM decisions, so that a read request costs no IAM query.
 *
 * Correctness rests on one fact: only this process writes the metadata database (one kasumid per
 * data dir, enforced by a lock file). Every IAM transaction bumps ksm_iam_generation when it ends,
 * and an entry is used only while the generation it was computed under is current: a revoked key,
 * a removed binding or a suspended tenant takes effect on the very next request, not after a TTL.
 * Key expiry is time, not a write, so an authentication entry also carries the key's expiry. */
#include "iam/iam_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/fmt.h"
#include "core/util.h"

#define AUTHN_SLOTS 256
#define AUTHZ_SLOTS 1024
#define OWNER_SLOTS 256

_Atomic uint64_t ksm_iam_generation = 1;

struct authn_entry {
    uint64_t gen;
    int64_t expires_ms;
    unsigned char hash[32];
    struct ksm_principal p;
};

struct authz_entry {
    uint64_t gen;
    uint64_t h;
    enum ksm_err result;
    char key[KSM_ID_LEN * 4 + 64];
};

struct owner_entry {   /* ksm_iam_owner: every request on the AI listener names its project */
    uint64_t gen;
    enum ksm_err result;
    char id[KSM_ID_LEN], tenant[KSM_ID_LEN], project[KSM_ID_LEN];
};

static __thread struct authn_entry authn[AUTHN_SLOTS];
static __thread struct owner_entry owner[OWNER_SLOTS];
static __thread struct authz_entry authz[AUTHZ_SLOTS];

void ksm_iam__invalidate(void)
{
    atomic_fetch_add_explicit(&ksm_iam_generation, 1, memory_order_release);
}

void ksm_iam_cache_invalidate(void) { ksm_iam__invalidate(); }

static uint64_t gen_now(void)
{
    return atomic_load_explicit(&ksm_iam_generation, memory_order_acquire);
}

bool ksm_iam__authn_cached(const unsigned char hash[32], struct ksm_principal *out)
{
    struct authn_entry *e = &authn[(hash[0] << 8 | hash[1]) % AUTHN_SLOTS];
    if (e->gen != gen_now() || memcmp(e->hash, hash, 32) || ksm_now_ms() >= e->expires_ms)
        return false;
    *out = e->p;
    return true;
}

void ksm_iam__authn_store(const unsigned char hash[32], uint64_t gen, int64_t expires_ms,
                          const struct ksm_principal *p)
{
    struct authn_entry *e = &authn[(hash[0] << 8 | hash[1]) % AUTHN_SLOTS];
    e->gen = gen;
    e->expires_ms = expires_ms;
    memcpy(e->hash, hash, 32);
    e->p = *p;
}

uint64_t ksm_iam__generation(void) { return gen_now(); }

static struct owner_entry *owner_slot(const char *id)
{
    return &owner[ksm_hash64(0, id, strlen(id)) % OWNER_SLOTS];
}

bool ksm_iam__owner_cached(const char *id, char *tenant, char *project, enum ksm_err *e)
{
    struct owner_entry *o = owner_slot(id);
    if (o->gen != gen_now() || strcmp(o->id, id))
        return false;
    memcpy(tenant, o->tenant, KSM_ID_LEN);
    memcpy(project, o->project, KSM_ID_LEN);
    *e = o->result;
    return true;
}

void ksm_iam__owner_store(const char *id, uint64_t gen, const char *tenant, const char *project,
                          enum ksm_err e)
{
    if (strlen(id) >= KSM_ID_LEN)
        return;
    struct owner_entry *o = owner_slot(id);
    o->gen = gen;
    o->result = e;
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->tenant, sizeof o->tenant, "%s", tenant);
    snprintf(o->project, sizeof o->project, "%s", project);
}

/* The decision depends on the principal's key (a key may be narrowed), user, permission, scope and
 * whether it has a second factor. Assembled without snprintf (it ran twice per AI request and cost
 * more than the lookup); false when the key did not fit, and then nothing is cached under it. */
static bool authz_key(const struct ksm_principal *p, const char *perm, const char *tenant,
                      const char *project, char *key, size_t n, uint64_t *hash)
{
    struct ksm_fmt f = ksm_fmt_init(key, n);
    const char *part[] = {p->key_id, p->user_id, perm, tenant ? tenant : "", project ? project : ""};
    for (size_t i = 0; i < KSM_NELEM(part); i++) {
        ksm_fmt_str(&f, part[i]);
        ksm_fmt_mem(&f, "|", 1);
    }
    ksm_fmt_i64(&f, p->no_mfa);
    *hash = ksm_hash64(0, key, f.len);
    return !f.cut;
}

enum ksm_err ksm_iam__check_cached(struct ksm_db *db, const struct ksm_principal *p,
                                   const char *perm, const char *tenant, const char *project,
                                   enum ksm_err (*compute)(struct ksm_db *, const struct ksm_principal *,
                                                           const char *, const char *, const char *))
{
    char key[sizeof authz[0].key];
    uint64_t h;
    if (!authz_key(p, perm, tenant, project, key, sizeof key, &h))
        return compute(db, p, perm, tenant, project);
    struct authz_entry *e = &authz[h % AUTHZ_SLOTS];
    uint64_t gen = gen_now();
    if (e->gen == gen && e->h == h && !strcmp(e->key, key))
        return e->result;
    enum ksm_err r = compute(db, p, perm, tenant, project);
    e->gen = gen;   /* the generation read before computing: a write meanwhile invalidates it */
    e->h = h;
    e->result = r;
    memcpy(e->key, key, sizeof key);
    return r;
}
