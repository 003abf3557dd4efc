/* json_keys.h — an object's member names in byte order, for output that must not depend on the
 * order members were added in (a table's rows, a CSV's). */
#ifndef KSM_JSON_KEYS_H
#define KSM_JSON_KEYS_H
#include <stddef.h>

#include <jansson.h>

/* The names (borrowed from o: valid while o is unchanged) in a malloc'd array of *n; free it. */
const char **ksm_json_sorted_keys(const json_t *o, size_t *n);

#endif
