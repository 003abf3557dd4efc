/* ai_memo.c — per-thread memo of the gateway's configuration reads (route,
 * policy, price), so a request costs no SQL for them. The idea of
 * src/iam/iam_cache.c with tables of its own: an entry is used only while the
 * AI generation it was computed under is current, and every AI-store write
 * bumps the generation (ai_store.c). Direct-mapped slots: a collision only
 * costs a query. Routes are large (8 targets), so their table is small. */
#include "ai/ai_store_int.h"
#include "core/util.h"

#include <stddef.h>
#include <string.h>

#define ROUTE_SLOTS 32
#define POLICY_SLOTS 128
#define PRICE_SLOTS 128
#define KEY_MODELS_SLOTS 64

struct route_slot {
    uint64_t gen;
    enum ksm_err e;
    char key[KSM_AI_ID + 130]; /* project "|" alias */
    struct ksm_ai_route rt;
};

struct policy_slot {
    uint64_t gen;
    enum ksm_err e;
    char project[KSM_AI_ID];
    struct ksm_ai_policy p;
};

struct price_slot {
    uint64_t gen;
    enum ksm_err e;
    int64_t from, until; /* the price is the effective one for at in [from, until) */
    char model[128];
    struct ksm_ai_price p;
};

struct key_models_slot {
    uint64_t gen;
    enum ksm_err e;
    char key[2 * KSM_AI_ID]; /* project "|" key */
    char allowed[KSM_AI_KEY_MODELS_MAX];
};

static __thread struct route_slot routes[ROUTE_SLOTS];
static __thread struct key_models_slot key_models[KEY_MODELS_SLOTS];
static __thread struct policy_slot policies[POLICY_SLOTS];
static __thread struct price_slot prices[PRICE_SLOTS];

static uint64_t str_hash(const char *s) { return ksm_hash64(0, s, strlen(s)); }

/* project|alias; false when it does not fit (then nothing is memoised) */
static bool route_key(const char *project, const char *alias, char *key)
{
    size_t np = strlen(project), na = strlen(alias);
    if (np >= KSM_AI_ID || na >= 128)
        return false;
    memcpy(key, project, np);
    key[np] = '|';
    memcpy(key + np + 1, alias, na + 1);
    return true;
}

bool ksm_ai__memo_route(const char *project, const char *alias, struct ksm_ai_route *out,
                        enum ksm_err *e)
{
    char key[sizeof routes[0].key];
    if (!route_key(project, alias, key))
        return false;
    struct route_slot *s = &routes[str_hash(key) % ROUTE_SLOTS];
    if (s->gen != ksm_ai__generation() || strcmp(s->key, key))
        return false;
    *e = s->e;
    if (s->e == KSM_E_OK)   /* the head and the targets in use: most routes have one of eight */
        memcpy(out, &s->rt, offsetof(struct ksm_ai_route, targets) +
                                (size_t)s->rt.ntargets * sizeof s->rt.targets[0]);
    return true;
}

void ksm_ai__memo_route_put(const char *project, const char *alias, uint64_t gen, enum ksm_err e,
                            const struct ksm_ai_route *rt)
{
    char key[sizeof routes[0].key];
    if (!route_key(project, alias, key))
        return;
    struct route_slot *s = &routes[str_hash(key) % ROUTE_SLOTS];
    s->gen = gen;
    s->e = e;
    memcpy(s->key, key, sizeof key);
    if (e == KSM_E_OK)
        s->rt = *rt;
}

bool ksm_ai__memo_policy(const char *project, struct ksm_ai_policy *out, enum ksm_err *e)
{
    struct policy_slot *s = &policies[str_hash(project) % POLICY_SLOTS];
    if (s->gen != ksm_ai__generation() || strcmp(s->project, project))
        return false;
    *e = s->e;
    /* the terms in use only: the whole array is 2 KiB, and this runs once per request */
    memcpy(out, &s->p, offsetof(struct ksm_ai_policy, terms) + (size_t)s->p.nterms * sizeof s->p.terms[0]);
    return true;
}

void ksm_ai__memo_policy_put(const char *project, uint64_t gen, enum ksm_err e,
                             const struct ksm_ai_policy *p)
{
    if (strlen(project) >= KSM_AI_ID)
        return;
    struct policy_slot *s = &policies[str_hash(project) % POLICY_SLOTS];
    s->gen = gen;
    s->e = e;
    strcpy(s->project, project);
    s->p = *p;
}

bool ksm_ai__memo_price(const char *model, int64_t at_ms, struct ksm_ai_price *out, enum ksm_err *e)
{
    struct price_slot *s = &prices[str_hash(model) % PRICE_SLOTS];
    if (s->gen != ksm_ai__generation() || strcmp(s->model, model) || at_ms < s->from ||
        at_ms >= s->until)
        return false;
    *e = s->e;
    if (s->e == KSM_E_OK)
        *out = s->p;
    return true;
}

void ksm_ai__memo_price_put(const char *model, uint64_t gen, int64_t from, int64_t until,
                            enum ksm_err e, const struct ksm_ai_price *p)
{
    if (strlen(model) >= sizeof prices[0].model)
        return;
    struct price_slot *s = &prices[str_hash(model) % PRICE_SLOTS];
    s->gen = gen;
    s->e = e;
    s->from = from;
    s->until = until;
    strcpy(s->model, model);
    if (e == KSM_E_OK)
        s->p = *p;
}

/* project|key; false when it does not fit (then nothing is memoised) */
static bool pk_key(const char *project, const char *key, char *out)
{
    size_t np = strlen(project), nk = strlen(key);
    if (np >= KSM_AI_ID || nk >= KSM_AI_ID)
        return false;
    memcpy(out, project, np);
    out[np] = '|';
    memcpy(out + np + 1, key, nk + 1);
    return true;
}

bool ksm_ai__memo_key_models(const char *project, const char *key, char *allowed, enum ksm_err *e)
{
    char k[sizeof key_models[0].key];
    if (!pk_key(project, key, k))
        return false;
    struct key_models_slot *s = &key_models[str_hash(k) % KEY_MODELS_SLOTS];
    if (s->gen != ksm_ai__generation() || strcmp(s->key, k))
        return false;
    *e = s->e;
    strcpy(allowed, s->allowed);
    return true;
}

void ksm_ai__memo_key_models_put(const char *project, const char *key, uint64_t gen, enum ksm_err e,
                                 const char *allowed)
{
    char k[sizeof key_models[0].key];
    if (!pk_key(project, key, k) || strlen(allowed) >= sizeof key_models[0].allowed)
        return;
    struct key_models_slot *s = &key_models[str_hash(k) % KEY_MODELS_SLOTS];
    s->gen = gen;
    s->e = e;
    strcpy(s->key, k);
    strcpy(s->allowed, allowed);
}
