/* route_match.c — matching a method and path against the route table. Patterns are literal
 * segments and {name} placeholders for one segment; the table is small (tens of rows), so a linear
 * scan costs less than building a trie and keeps the table the single source of truth. */
#include "admin/route.h"

#include <string.h>

/* Matches path against pattern; fills params (pointers into the arena). */
static bool match(const char *pat, const char *path, struct ksm_req *r, const char **params, int *np)
{
    *np = 0;
    while (*pat && *path) {
        if (*pat == '{') {
            const char *pend = strchr(pat, '}');
            const char *seg_end = strchr(path, '/');
            size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);
            if (!pend || len == 0 || *np >= KSM_MAX_PARAMS)
                return false;
            params[(*np)++] = ksm_arena_strndup(r->arena, path, len);
            pat = pend + 1;
            path += len;
            continue;
        }
        if (*pat != *path)
            return false;
        pat++, path++;
    }
    return *pat == '\0' && *path == '\0';
}

const struct ksm_route *ksm_route_match(const struct ksm_route *tab, int n, struct ksm_req *r,
                                        enum ksm_err *err)
{
    const char *params[KSM_MAX_PARAMS];
    int np;
    bool path_seen = false;
    for (int i = 0; i < n; i++) {
        memset(params, 0, sizeof params);   /* a route without {params} must see NULLs, not a stale try */
        if (!match(tab[i].pattern, r->path, r, params, &np))
            continue;
        path_seen = true;
        if (strcmp(tab[i].method, r->method_name))
            continue;
        memcpy(r->params, params, sizeof params);
        r->nparams = np;
        return &tab[i];
    }
    *err = path_seen ? KSM_E_METHOD_NOT_ALLOWED : KSM_E_NOT_FOUND;
    return NULL;
}
