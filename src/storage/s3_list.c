/* s3_list.c — ListObjectsV2 and ListObjects (v1): prefix, delimiter (common prefixes), start-after,
 * marker, continuation tokens, max-keys, fetch-owner, encoding-type=url. The store lists from its
 * key index; this file only maps parameters and writes the XML. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "storage/s3_int.h"

/* Continuation tokens are the last key returned, hex-encoded: opaque to clients, exact for us. */
static char *token_encode(struct ksm_arena *a, const char *key)
{
    size_t n = strlen(key);
    char *t = ksm_arena_alloc(a, 2 * n + 1);
    ksm_hex(key, n, t);
    return t;
}

static const char *token_decode(struct ksm_arena *a, const char *t)
{
    size_t n = strlen(t);
    if (n % 2 || n > 2 * KSM_STORE_KEY_MAX)
        return NULL;
    char *k = ksm_arena_calloc(a, n / 2 + 1);
    return ksm_unhex(t, n, k) ? NULL : k;
}

void ksm_s3_list_objects(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    struct ksm_arena *a = r->arena;
    if (!ksm_s3_need_bucket(s))
        return;
    const char *lt = ksm_s3_query(s, "list-type");
    int version = lt && !strcmp(lt, "2") ? 2 : 1;
    const char *prefix = ksm_s3_query(s, "prefix"), *delim = ksm_s3_query(s, "delimiter");
    const char *enc = ksm_s3_query(s, "encoding-type"), *mk = ksm_s3_query(s, "max-keys");
    const char *token = version == 2 ? ksm_s3_query(s, "continuation-token") : NULL;
    const char *start = version == 2 ? ksm_s3_query(s, "start-after") : ksm_s3_query(s, "marker");
    const char *fo = ksm_s3_query(s, "fetch-owner");
    int max_keys = 1000;
    if (mk) {
        char *end;
        long v = strtol(mk, &end, 10);
        if (*end || v < 0) {
            ksm_s3_error(s, KSM_E_INVALID_ARGUMENT, "max-keys must be a non-negative integer");
            return;
        }
        max_keys = v > 1000 ? 1000 : (int)v;
    }
    if (enc && strcmp(enc, "url")) {
        ksm_s3_error(s, KSM_E_INVALID_ARGUMENT, "Invalid Encoding Method specified in Request");
        return;
    }
    const char *after = start;
    if (token) {
        after = token_decode(a, token);
        if (!after) {
            ksm_s3_error(s, KSM_E_INVALID_ARGUMENT, "The continuation token provided is incorrect");
            return;
        }
    }
    if (delim && !*delim)
        delim = NULL;
    struct ksm_list_entry *e = NULL;
    size_t n = 0;
    bool truncated = false;
    enum ksm_err err = max_keys ? ksm_store_list(&r->worker->db, &s->bucket, prefix, delim, after,
                                                 max_keys, &e, &n, &truncated)
                                : KSM_E_OK;
    if (err != KSM_E_OK) {
        ksm_s3_error(s, err, NULL);
        return;
    }
    struct ksm_s3_object_entry *objs = ksm_arena_calloc(a, sizeof *objs * (n ? n : 1));
    const char **prefixes = ksm_arena_calloc(a, sizeof *prefixes * (n ? n : 1));
    size_t no = 0, np = 0;
    struct ksm_s3_owner owner = {s->bucket.tenant, s->bucket.tenant};
    for (size_t i = 0; i < n; i++) {
        if (e[i].is_prefix) {
            prefixes[np++] = ksm_arena_strdup(a, e[i].key);
            continue;
        }
        objs[no++] = (struct ksm_s3_object_entry){ksm_arena_strdup(a, e[i].key), e[i].mtime_ms,
                                                  ksm_arena_strdup(a, e[i].etag), (int64_t)e[i].size,
                                                  NULL, &owner};
    }
    const char *last = n ? ksm_arena_strdup(a, e[n - 1].key) : NULL;
    free(e);
    struct ksm_s3_list_objects l = {
        .version = version, .bucket = s->bucket.name, .prefix = prefix, .delimiter = delim,
        .url = enc != NULL, .max_keys = max_keys, .truncated = truncated, .marker = start,
        .next_marker = truncated && delim ? last : NULL, .continuation_token = token,
        .next_continuation_token = truncated && last ? token_encode(a, last) : NULL,
        .start_after = version == 2 ? start : NULL, .fetch_owner = fo && !strcmp(fo, "true"),
        .objects = objs, .nobjects = no, .prefixes = prefixes, .nprefixes = np,
    };
    ksm_buf_reset(&r->resp);
    ksm_s3_write_list_objects(&r->resp, &l);
    ksm_s3_reply_xml(s, 200);
}
