/* json_zone.c — see json_zone.h.
 *
 * Zone memory comes in 64 KiB chunks aligned to their size, so the chunk holding a pointer is
 * the pointer with its low bits cleared. Every chunk ever made is in a registry (insert-only, read
 * without a lock) and is never given back to malloc, only recycled through a pool: a pointer that
 * malloc returned can therefore never lie inside a registered chunk, and the free hook's test —
 * is this pointer's chunk registered? — has no false answers. A zone's header lives at the start
 * of its first chunk. */
#include "core/json_zone.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CHUNK ((size_t)64 * 1024)
#define ZONE_CHUNKS 4            /* a larger tree continues in malloc'd memory */
#define BIG ((size_t)8 * 1024)   /* an allocation this large goes to malloc */
#define MAX_CHUNKS 1024          /* 64 MiB at most; then zones are not used */
#define REG_SLOTS 2048           /* > MAX_CHUNKS: a probe always meets an empty slot */

struct ksm_json_zone {
    char *chunk[ZONE_CHUNKS];
    int n;        /* chunks in use; the last one is being filled */
    size_t off;   /* its next free byte */
    size_t used;
};

#define HEADER ((sizeof(struct ksm_json_zone) + 15) & ~(size_t)15)

static uintptr_t registry[REG_SLOTS];   /* chunk addresses; 0 = empty; read with atomics */
static struct {
    pthread_mutex_t mu;
    char *free[MAX_CHUNKS];
    int nfree, made;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};
static _Thread_local struct ksm_json_zone *active;

static size_t slot_of(uintptr_t chunk)
{
    return (size_t)(((chunk / CHUNK) * 0x9e3779b97f4a7c15ull) >> 40) % REG_SLOTS;
}

static void remember(uintptr_t chunk)
{
    for (size_t i = slot_of(chunk);; i = (i + 1) % REG_SLOTS) {
        uintptr_t empty = 0;
        if (__atomic_compare_exchange_n(&registry[i], &empty, chunk, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
    }
}

static bool is_zone_memory(const void *p)
{
    uintptr_t chunk = (uintptr_t)p & ~(uintptr_t)(CHUNK - 1);
    for (size_t i = slot_of(chunk);; i = (i + 1) % REG_SLOTS) {
        uintptr_t v = __atomic_load_n(&registry[i], __ATOMIC_ACQUIRE);
        if (v == chunk)
            return true;
        if (v == 0)
            return false;
    }
}

/* A chunk from the pool, or a new one; NULL when the cap is reached. Poisoned under ASan. */
static char *chunk_get(void)
{
    char *c = NULL;
    pthread_mutex_lock(&pool.mu);
    if (pool.nfree) {
        c = pool.free[--pool.nfree];
    } else if (pool.made < MAX_CHUNKS && (c = aligned_alloc(CHUNK, CHUNK))) {
        pool.made++;
        remember((uintptr_t)c);
        POISON(c, CHUNK);
    }
    pthread_mutex_unlock(&pool.mu);
    return c;
}

static void chunk_put(char *c)
{
    POISON(c, CHUNK);
    pthread_mutex_lock(&pool.mu);
    pool.free[pool.nfree++] = c;   /* every chunk made fits: nfree <= made <= MAX_CHUNKS */
    pthread_mutex_unlock(&pool.mu);
}

static void *zone_alloc(struct ksm_json_zone *z, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (z->off + need > CHUNK) {
        char *c = z->n < ZONE_CHUNKS ? chunk_get() : NULL;
        if (!c)
            return NULL;
        z->chunk[z->n++] = c;
        z->off = 0;
    }
    char *p = z->chunk[z->n - 1] + z->off;
    z->off += need;
    z->used += need;
    UNPOISON(p, n);
    return p;
}

static void *zmalloc(size_t n)
{
    struct ksm_json_zone *z = active;
    void *p = z && n <= BIG ? zone_alloc(z, n) : NULL;
    return p ? p : malloc(n);
}

static void zfree(void *p)
{
    if (p && !is_zone_memory(p))
        free(p);
}

/* Before main and before any thread: jansson's allocation functions are plain globals. */
__attribute__((constructor)) static void install(void)
{
    json_set_alloc_funcs(zmalloc, zfree);
}

void ksm_json_zone_begin(struct ksm_json_zone **z)
{
    if (!*z) {
        char *c = chunk_get();
        if (c) {
            UNPOISON(c, HEADER);
            *z = (struct ksm_json_zone *)c;
            **z = (struct ksm_json_zone){.chunk = {c}, .n = 1, .off = HEADER};
        }
    }
    active = *z;
}

void ksm_json_zone_end(void)
{
    active = NULL;
}

void ksm_json_zone_release(struct ksm_json_zone **z)
{
    struct ksm_json_zone *zone = *z;
    if (!zone)
        return;
    if (active == zone)
        active = NULL;
    char *chunks[ZONE_CHUNKS];
    int n = zone->n;
    for (int i = 0; i < n; i++)
        chunks[i] = zone->chunk[i];
    for (int i = n - 1; i >= 0; i--)   /* the header's chunk last */
        chunk_put(chunks[i]);
    *z = NULL;
}

size_t ksm_json_zone_used(const struct ksm_json_zone *z)
{
    return z ? z->used : 0;
}
