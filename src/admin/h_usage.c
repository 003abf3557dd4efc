/* h_usage.c — GET /admin/v1/usage: usage records, filtered and paged (?tenant, project, service,
 * meter, since, until, limit, cursor). The route is AUTH-scoped because the scope depends on the
 * query: naming a tenant needs usage.read on it (or its project); leaving it out asks for every
 * tenant's records and needs usage.read at platform scope. */
#include "admin/handlers.h"
#include "core/util.h"
#include "meter/usage.h"

#include <stdio.h>

/* A decimal in [min, max] into *v; an absent parameter leaves *v as it was. -1 when malformed. */
static int parse_int_param(const char *s, int64_t min, int64_t max, int64_t *v)
{
    if (!s)
        return 0;
    if (!*s)
        return -1;
    int64_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    if (n < min || n > max)
        return -1;
    *v = n;
    return 0;
}

static int parse_time_param(const char *s, int64_t *ms)
{
    return !s ? 0 : ksm_parse_rfc3339(s, ms) == 0 && *ms >= 0 ? 0 : -1;
}

/* Each text filter is absent or non-empty: "tenant=" is a mistake, not "every tenant". */
static const char *text_param(struct ksm_req *r, const char *name, bool *bad)
{
    const char *v = ksm_req_query(r, name);
    if (v && !*v)
        *bad = true;
    return v;
}

enum ksm_err ksm_h_usage_query(struct ksm_req *r)
{
    struct ksm_usage_filter f = {0};
    bool empty = false;
    f.tenant = text_param(r, "tenant", &empty);
    f.project = text_param(r, "project", &empty);
    f.service = text_param(r, "service", &empty);
    f.meter = text_param(r, "meter", &empty);
    if (empty)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "tenant, project, service and meter must not be "
                                                   "empty when given");
    if (f.project && !f.tenant)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "project needs tenant");
    if (parse_time_param(ksm_req_query(r, "since"), &f.since_ms))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "since must be an RFC 3339 time");
    if (parse_time_param(ksm_req_query(r, "until"), &f.until_ms))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "until must be an RFC 3339 time");
    if (f.since_ms && f.until_ms && f.until_ms <= f.since_ms)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "until must be after since");
    int64_t limit = 100;
    if (parse_int_param(ksm_req_query(r, "limit"), 1, 1000, &limit))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "limit must be an integer from 1 to 1000");
    f.limit = (int)limit;
    if (parse_int_param(ksm_req_query(r, "cursor"), 0, INT64_MAX, &f.after_id))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "cursor must be a next_cursor from a previous page");

    enum ksm_err e = ksm_authorize(r, "usage.read", f.tenant, f.project);
    if (e != KSM_E_OK)
        return e;
    r->audit_tenant = f.tenant;
    r->audit_project = f.project;

    json_t *items = json_array();
    int64_t last = 0;
    e = ksm_usage_query(&r->worker->db, &f, items, &last);
    if (e != KSM_E_OK) {
        json_decref(items);
        return ksm_fail(r, e, "usage query failed");
    }
    /* a full page may have more after it; a short one is the end */
    json_t *cursor = json_null();
    if (json_array_size(items) == (size_t)f.limit) {
        char buf[24];
        snprintf(buf, sizeof buf, "%lld", (long long)last);
        json_decref(cursor);
        cursor = json_string(buf);
    }
    return ksm_reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", cursor));
}
