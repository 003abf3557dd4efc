/* arena.c — a chain of blocks; allocation bumps a pointer, large requests get a block of their own. */
#include "core/arena.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
    struct block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct ksm_arena {
    struct block *head;  /* current block; the first block is last in the chain */
    size_t block_size;
    size_t total;
};

static struct block *block_new(size_t size)
{
    struct block *b = ksm_xmalloc(sizeof *b + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct ksm_arena *ksm_arena_create(size_t first_block)
{
    struct ksm_arena *a = ksm_xmalloc(sizeof *a);
    a->block_size = first_block < 1024 ? 1024 : first_block;
    a->head = block_new(a->block_size);
    a->total = 0;
    return a;
}

void ksm_arena_destroy(struct ksm_arena *a)
{
    if (!a)
        return;
    for (struct block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

void ksm_arena_reset(struct ksm_arena *a)
{
    while (a->head->next) {
        struct block *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    a->head->used = 0;
    a->total = 0;
}

void *ksm_arena_alloc(struct ksm_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct block *b = a->head;
    if (b->size - b->used < n) {
        size_t sz = n > a->block_size ? n : a->block_size * 2;
        b = block_new(sz);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *ksm_arena_calloc(struct ksm_arena *a, size_t n)
{
    void *p = ksm_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *ksm_arena_strndup(struct ksm_arena *a, const char *s, size_t n)
{
    char *p = ksm_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ksm_arena_strdup(struct ksm_arena *a, const char *s)
{
    return ksm_arena_strndup(a, s, strlen(s));
}

char *ksm_arena_cat(struct ksm_arena *a, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, a);
    for (const char *s; (s = va_arg(ap, const char *));)
        n += strlen(s);
    va_end(ap);
    char *p = ksm_arena_alloc(a, n + 1), *q = p;
    va_start(ap, a);
    for (const char *s; (s = va_arg(ap, const char *));) {
        size_t k = strlen(s);
        memcpy(q, s, k);
        q += k;
    }
    va_end(ap);
    *q = '\0';
    return p;
}

char *ksm_arena_printf(struct ksm_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = ksm_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t ksm_arena_used(const struct ksm_arena *a) { return a->total; }
