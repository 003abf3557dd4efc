/* arena.h — region allocator: one per request (headers, parsing, scratch), freed at once when the
 * request ends. Bodies of objects and model streams never go here; they flow through fixed buffers. */
#ifndef KSM_ARENA_H
#define KSM_ARENA_H
#include <stddef.h>

struct ksm_arena;

struct ksm_arena *ksm_arena_create(size_t first_block);
void ksm_arena_destroy(struct ksm_arena *a);
/* Frees all but the first block and rewinds, so a keep-alive connection reuses its memory. */
void ksm_arena_reset(struct ksm_arena *a);
/* Aligned to 16 bytes; aborts on out-of-memory like every allocation in kasumi (see xmalloc). */
void *ksm_arena_alloc(struct ksm_arena *a, size_t n);
void *ksm_arena_calloc(struct ksm_arena *a, size_t n);
char *ksm_arena_strdup(struct ksm_arena *a, const char *s);
char *ksm_arena_strndup(struct ksm_arena *a, const char *s, size_t n);
char *ksm_arena_printf(struct ksm_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The strings up to the NULL, joined: for hot paths, where ksm_arena_printf's two formatting passes
 * cost more than the copy (a header line per upstream call). */
char *ksm_arena_cat(struct ksm_arena *a, ...) __attribute__((sentinel));
size_t ksm_arena_used(const struct ksm_arena *a);

#endif
