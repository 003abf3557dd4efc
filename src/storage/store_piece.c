/* store_piece.c — the plaintext buffers a GET decrypts into and hands to the socket.
 *
 * A GET decrypts up to 1 MiB at a time straight into a piece and gives the piece to the
 * connection, which writes it without a copy and releases it when the write completes. Pieces of
 * the full size are kept in a small per-thread cache (a worker acquires and releases on its own
 * loop thread), so a large download costs no malloc and no page faults per piece. Plaintext is
 * wiped (the bytes a piece ever held) when a piece leaves the cache or is freed, never handed back
 * to malloc readable: a later read of uninitialised heap cannot show another tenant's object. */
#include "storage/store_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define PIECE_CACHE 4   /* per thread: two being filled and delivered, two on the socket */

struct piece {
    struct piece *next;
    size_t cap;
    size_t high;   /* bytes ever written: all that must be wiped */
    uint8_t data[];
};

struct piece_cache {
    struct piece *free;
    int n;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void piece_wipe_free(struct piece *p)
{
    explicit_bzero(p->data, p->high);
    free(p);
}

static void cache_drop(void *arg)
{
    struct piece_cache *c = arg;
    while (c->free) {
        struct piece *p = c->free;
        c->free = p->next;
        piece_wipe_free(p);
    }
    free(c);
}

static void cache_key_make(void) { pthread_key_create(&cache_key, cache_drop); }

static struct piece_cache *cache(void)
{
    pthread_once(&cache_once, cache_key_make);
    struct piece_cache *c = pthread_getspecific(cache_key);
    if (!c) {
        c = ksm_xcalloc(1, sizeof *c);
        pthread_setspecific(cache_key, c);
    }
    return c;
}

static struct piece *piece_of(void *data)
{
    return (struct piece *)((char *)data - offsetof(struct piece, data));
}

uint8_t *store_piece_get(size_t cap)
{
    if (cap == STORE_PIECE_MAX) {
        struct piece_cache *c = cache();
        if (c->free) {
            struct piece *p = c->free;
            c->free = p->next;
            c->n--;
            return p->data;
        }
    }
    struct piece *p = ksm_xmalloc(sizeof *p + cap);
    p->cap = cap;
    p->high = 0;
    return p->data;
}

void store_piece_used(uint8_t *data, size_t n)
{
    struct piece *p = piece_of(data);
    if (n > p->high)
        p->high = n;
}

void ksm_store_piece_release(void *ctx, char *data)
{
    (void)ctx;
    if (!data)
        return;
    struct piece *p = piece_of(data);
    if (p->cap == STORE_PIECE_MAX) {
        struct piece_cache *c = cache();
        if (c->n < PIECE_CACHE) {
            p->next = c->free;
            c->free = p;
            c->n++;
            return;
        }
    }
    piece_wipe_free(p);
}
