/* json_zone.h — a region for one short-lived jansson tree (an AI request's body).
 *
 * Building a request's tree took ~40 mallocs and as many frees, a fifth of the gateway worker's own
 * CPU with the decode and the free together (perf, docs/PERFORMANCE.md). While a zone is active on
 * a thread, jansson's small allocations on that thread are carved from the zone's chunks; jansson
 * frees of zone memory do nothing; the whole zone goes back at once with ksm_json_zone_release.
 *
 * jansson's allocation functions are process-wide, so this file installs its own (at load time,
 * before main) and they fall back to malloc/free for everything that is not zone memory. What
 * json_dumps returns is never zone memory as long as no dump runs while a zone is active: keep the
 * active window to building the tree (ksm_json_zone_begin ... ksm_json_zone_end).
 *
 * Rule: nothing allocated in a zone may be used after the zone is released — json_decref the tree
 * (and anything holding its nodes) first. Under AddressSanitizer a released zone's memory is
 * poisoned, so the tests catch a node that outlives its zone. */
#ifndef KSM_JSON_ZONE_H
#define KSM_JSON_ZONE_H
#include <stddef.h>

struct ksm_json_zone;

/* Activates a zone on the calling thread (*z NULL: a new one is taken); at most one at a time. */
void ksm_json_zone_begin(struct ksm_json_zone **z);
void ksm_json_zone_end(void);
/* Returns the zone's memory for reuse; *z becomes NULL. Harmless with *z NULL. */
void ksm_json_zone_release(struct ksm_json_zone **z);
/* Bytes handed out by z (tests). */
size_t ksm_json_zone_used(const struct ksm_json_zone *z);

#endif
