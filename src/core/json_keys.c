/* json_keys.c — an object's member names in byte order (json_keys.h). */
#include "core/json_keys.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

const char **ksm_json_sorted_keys(const json_t *o, size_t *n)
{
    const char *k, **keys = ksm_xmalloc((json_object_size(o) + 1) * sizeof *keys);
    json_t *v;
    *n = 0;
    json_object_foreach((json_t *)o, k, v)
        keys[(*n)++] = k;
    qsort(keys, *n, sizeof *keys, cmp_name);
    return keys;
}
