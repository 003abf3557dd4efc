/* request.c — what a handler asks of a request: headers, query parameters, extra response headers. */
#include "http/http.h"
#include "core/util.h"

#include <string.h>
#include <strings.h>

const char *ksm_req_header(const struct ksm_req *r, const char *lname)
{
    for (int i = 0; i < r->nheaders; i++)
        if (!strcmp(r->headers[i].name, lname))
            return r->headers[i].value;
    return NULL;
}

/* Decodes application/x-www-form-urlencoded (%XX and '+'); a malformed escape is kept literally. */
static char *decode(struct ksm_arena *a, const char *s, size_t n)
{
    char *out = ksm_arena_alloc(a, n + 1);
    ksm_pct_decode(s, n, out, KSM_PCT_PLUS);
    return out;
}

const char *ksm_req_query(struct ksm_req *r, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = r->query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        if (nlen == klen && !memcmp(p, key, klen))
            return eq ? decode(r->arena, eq + 1, len - nlen - 1) : "";
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

void ksm_req_add_header(struct ksm_req *r, const char *name, const char *value)
{
    if (r->nresp_headers < KSM_MAX_RESP_HEADERS) {
        r->resp_headers[r->nresp_headers].name = name;
        r->resp_headers[r->nresp_headers].value = value;
        r->nresp_headers++;
    }
}
