/* s3_cors.c — CORS for buckets, so that a web page (the console) can upload and download from the
 * browser: PutBucketCors / GetBucketCors / DeleteBucketCors, the OPTIONS preflight, and the
 * Access-Control-* headers on actual requests, with S3's matching rules: the first rule whose
 * AllowedOrigin matches the Origin (one '*' wildcard allowed), whose AllowedMethod holds the
 * method, and whose AllowedHeader patterns (case-insensitive, one '*') cover every requested header.
 *
 * A preflight carries no credentials and bucket names are unique only within a tenant, so it is
 * answered from the rules of every bucket of that name (in practice one). That only decides
 * whether the browser sends the real request; the real request still needs its own signature,
 * and the browser shows its answer to the page only when that answer carries the Access-Control
 * headers of the caller's own bucket, which are computed from that bucket's rules alone. */
#include "storage/s3_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

#define CORS_CONFIG "cors"

static struct ksm_db *db_of(struct s3_req *s) { return &s->r->worker->db; }

/* ---- matching ---- */

static bool wild_match(const char *pat, const char *s, size_t n, bool icase)
{
    const char *star = strchr(pat, '*');
    size_t pl = strlen(pat);
    if (!star)
        return pl == n && !(icase ? strncasecmp(pat, s, n) : strncmp(pat, s, n));
    size_t pre = (size_t)(star - pat), suf = pl - pre - 1;
    if (n < pre + suf)
        return false;
    int (*cmp)(const char *, const char *, size_t) = icase ? strncasecmp : strncmp;
    return !cmp(pat, s, pre) && !cmp(star + 1, s + n - suf, suf);
}

static bool any_match(json_t *pats, const char *s, size_t n, bool icase, const char **which)
{
    size_t i;
    json_t *v;
    json_array_foreach(pats, i, v) {
        if (wild_match(json_string_value(v), s, n, icase)) {
            if (which)
                *which = json_string_value(v);
            return true;
        }
    }
    return false;
}

/* Every header named in a comma-separated Access-Control-Request-Headers is allowed by the rule. */
static bool headers_allowed(json_t *allowed, const char *list)
{
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
            m--;
        if (m && !any_match(allowed, p, m, true, NULL))
            return false;
        p += n;
    }
    return true;
}

/* The first rule of doc (an array of rules) that allows origin, method and request headers. */
static json_t *find_rule(json_t *doc, const char *origin, const char *method, const char *hdrs,
                         const char **origin_pat)
{
    size_t i;
    json_t *rule;
    json_array_foreach(doc, i, rule) {
        if (!any_match(json_object_get(rule, "origins"), origin, strlen(origin), false, origin_pat))
            continue;
        if (!any_match(json_object_get(rule, "methods"), method, strlen(method), false, NULL))
            continue;
        if (hdrs && !headers_allowed(json_object_get(rule, "headers"), hdrs))
            continue;
        return rule;
    }
    return NULL;
}

static const char *joined(struct s3_req *s, json_t *arr)
{
    struct ksm_buf b = KSM_BUF_INIT;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (i)
            ksm_buf_append(&b, ", ", 2);
        ksm_buf_append(&b, json_string_value(v), strlen(json_string_value(v)));
    }
    char *out = ksm_arena_strndup(s->r->arena, b.data ? b.data : "", b.len);
    ksm_buf_free(&b);
    return out;
}

/* The Access-Control-* answer of a matched rule; request_headers only for a preflight. */
static void allow_headers(struct s3_req *s, json_t *rule, const char *origin, const char *pat,
                          const char *request_headers)
{
    struct ksm_req *r = s->r;
    bool any = !strcmp(pat, "*");
    ksm_req_add_header(r, "Access-Control-Allow-Origin", any ? "*" : origin);
    if (!any)   /* S3 allows credentials whenever the origin is named, not for "*" */
        ksm_req_add_header(r, "Access-Control-Allow-Credentials", "true");
    ksm_req_add_header(r, "Access-Control-Allow-Methods", joined(s, json_object_get(rule, "methods")));
    if (request_headers && *request_headers)
        ksm_req_add_header(r, "Access-Control-Allow-Headers", request_headers);
    json_t *expose = json_object_get(rule, "expose");
    if (json_array_size(expose))
        ksm_req_add_header(r, "Access-Control-Expose-Headers", joined(s, expose));
    json_t *age = json_object_get(rule, "max_age");
    if (json_is_integer(age))
        ksm_req_add_header(r, "Access-Control-Max-Age",
                           ksm_arena_printf(r->arena, "%lld", (long long)json_integer_value(age)));
}

static const char vary[] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/* ---- actual requests ---- */

void ksm_s3_cors_headers(struct s3_req *s)
{
    const char *origin = ksm_req_header(s->r, "origin");
    json_t *doc = NULL;
    if (!origin || !s->have_bucket ||
        ksm_store_bucket_config_get(db_of(s), s->bucket.id, CORS_CONFIG, &doc) != KSM_E_OK)
        return;
    const char *pat = NULL;
    json_t *rule = find_rule(doc, origin, s->r->method_name, NULL, &pat);
    if (rule)
        allow_headers(s, rule, origin, pat, NULL);
    ksm_req_add_header(s->r, "Vary", vary);
    json_decref(doc);
}

/* ---- the preflight: OPTIONS, unauthenticated ---- */

void ksm_s3_cors_preflight(struct s3_req *s)
{
    struct ksm_req *r = s->r;
    const char *origin = ksm_req_header(r, "origin");
    const char *method = ksm_req_header(r, "access-control-request-method");
    const char *hdrs = ksm_req_header(r, "access-control-request-headers");
    if (!origin || !*origin) {
        ksm_s3_error(s, KSM_E_BAD_REQUEST, "Insufficient information. Origin request header needed.");
        return;
    }
    if (!method || !*method) {
        ksm_s3_error(s, KSM_E_BAD_REQUEST, "Invalid Access-Control-Request-Method: null");
        return;
    }
    json_t *docs = NULL, *doc, *rule = NULL;
    const char *pat = NULL;
    size_t i;
    if (s->bucket_name[0] &&
        ksm_store_bucket_config_by_name(db_of(s), s->bucket_name, CORS_CONFIG, &docs) == KSM_E_OK)
        json_array_foreach(docs, i, doc) if ((rule = find_rule(doc, origin, method, hdrs, &pat))) break;
    if (!rule) {
        json_decref(docs);
        ksm_s3_error(s, KSM_E_CORS_FORBIDDEN, NULL);
        return;
    }
    allow_headers(s, rule, origin, pat, hdrs);
    ksm_req_add_header(r, "Vary", vary);
    json_decref(docs);
    r->status = 200;
    ksm_s3_finish(s);
}

/* ---- PutBucketCors / GetBucketCors / DeleteBucketCors ---- */

static json_t *strings(const char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static int stars(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '*';
    return n;
}

/* The parsed rules as stored; NULL with *why when a pattern has more than one wildcard. */
static json_t *rules_json(const struct ksm_s3_body *body, const char **why)
{
    json_t *doc = json_array();
    for (size_t i = 0; i < body->u.cors.nrules; i++) {
        const struct ksm_s3_cors_rule *c = &body->u.cors.rules[i];
        for (size_t k = 0; k < c->norigins; k++)
            if (stars(c->origins[k]) > 1)
                *why = "AllowedOrigin can have at most one * wildcard";
        for (size_t k = 0; k < c->nheaders; k++)
            if (stars(c->headers[k]) > 1)
                *why = "AllowedHeader can have at most one * wildcard";
        json_t *r = json_pack("{s:o, s:o, s:o, s:o}", "methods", strings(c->methods, c->nmethods),
                              "origins", strings(c->origins, c->norigins), "headers",
                              strings(c->headers, c->nheaders), "expose",
                              strings(c->expose, c->nexpose));
        if (c->id)
            json_object_set_new(r, "id", json_string(c->id));
        if (c->max_age >= 0)
            json_object_set_new(r, "max_age", json_integer(c->max_age));
        json_array_append_new(doc, r);
    }
    if (*why) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

void ksm_s3_bucket_cors_put(struct s3_req *s)
{
    struct ksm_s3_body *body = NULL;
    char detail[KSM_S3_XML_DETAIL_MAX] = "";
    const char *why = NULL;
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_s3_xml_parse(KSM_S3X_CORS, s->r->body.data ? s->r->body.data : "",
                                      s->r->body.len, &body, detail);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, detail);
        return;
    }
    json_t *doc = rules_json(body, &why);
    ksm_s3_body_free(body);
    if (!doc) {
        ksm_s3_error(s, KSM_E_INVALID_ARGUMENT, why);
        return;
    }
    e = ksm_store_bucket_config_put(db_of(s), s->bucket.id, CORS_CONFIG, doc);
    snprintf(s->detail, sizeof s->detail, "rules=%zu", json_array_size(doc));
    json_decref(doc);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    s->r->status = 200;
    ksm_s3_finish(s);
}

static void write_list(struct ksm_xw *w, const char *name, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) ksm_xw_str(w, name, json_string_value(v));
}

void ksm_s3_bucket_cors_get(struct s3_req *s)
{
    json_t *doc = NULL, *rule;
    size_t i;
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_store_bucket_config_get(db_of(s), s->bucket.id, CORS_CONFIG, &doc);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e == KSM_E_NOT_FOUND ? KSM_E_NO_SUCH_CORS : e, NULL);
        return;
    }
    struct ksm_xw w;
    ksm_buf_reset(&s->r->resp);
    ksm_xw_begin(&w, &s->r->resp, "CORSConfiguration", true);
    json_array_foreach(doc, i, rule) {
        ksm_xw_open(&w, "CORSRule");
        ksm_xw_str(&w, "ID", json_string_value(json_object_get(rule, "id")));
        write_list(&w, "AllowedHeader", json_object_get(rule, "headers"));
        write_list(&w, "AllowedMethod", json_object_get(rule, "methods"));
        write_list(&w, "AllowedOrigin", json_object_get(rule, "origins"));
        write_list(&w, "ExposeHeader", json_object_get(rule, "expose"));
        json_t *age = json_object_get(rule, "max_age");
        if (json_is_integer(age))
            ksm_xw_int(&w, "MaxAgeSeconds", json_integer_value(age));
        ksm_xw_close(&w);
    }
    ksm_xw_end(&w);
    json_decref(doc);
    ksm_s3_reply_xml(s, 200);
}

void ksm_s3_bucket_cors_delete(struct s3_req *s)
{
    if (!ksm_s3_need_bucket(s))
        return;
    enum ksm_err e = ksm_store_bucket_config_put(db_of(s), s->bucket.id, CORS_CONFIG, NULL);
    if (e != KSM_E_OK) {
        ksm_s3_error(s, e, NULL);
        return;
    }
    s->r->status = 204;
    ksm_s3_finish(s);
}
