/* h_ai_counts.c — what the AI gateway did, counted from its durable records in the audit log over
 * a period (?tenant, project, since, until), so a refused request, which has no usage record, is
 * counted as well:
 *
 *  - GET /admin/v1/ai/decisions: how many requests the gateway let through, masked, blocked for
 *    personal identifiers or refused for their classification, by classification level
 *    (機密性1/2/3), model alias, project and principal (the user whose key or session asked:
 *    per-user use, SPEC.md G) — from the decision records (`ai.decision`, src/ai/gateway.c: detail
 *    "class=N decision=pass|mask|block|refuse …");
 *  - GET /admin/v1/ai/destinations: where the requests' content went — per jurisdiction of the
 *    model servers it was sent to, by classification level, and how many went abroad — from each
 *    request's own record (detail "… class=N sent_to=JP[,US]"): the evidence that, say, no
 *    機密性3 request left Japan, from the tamper-evident log rather than from the policy.
 *
 * Scoping follows GET /admin/v1/usage: naming a tenant needs usage.read there (or at its project),
 * leaving it out is platform scope. The counts are the audit index's per block (ksm_audit_count, by
 * the facets of ai/ai_facet.h): exact over any period, a year included; the blocks at the period's
 * ends are read record by record, which takes a while, so a count runs on libuv's thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "ai/ai_facet.h"
#include "core/csv.h"
#include "core/json_keys.h"
#include "core/util.h"

static const char *const kinds[] = {"pass", "mask", "block", "refuse"};

struct count_job;

/* One count: the facets it reads (ai/ai_facet.h), its empty result, and how n records of one
 * facet add to it. */
struct count_kind {
    const char *prefix;
    int fields, project_field;
    json_t *(*start)(void);
    void (*add)(json_t *out, const char *const f[], json_int_t n);
    const char *name;                              /* the CSV's file name: kasumi-ai-NAME.csv */
    void (*csv)(const json_t *out, struct ksm_buf *b);
};

struct count_job {
    uv_work_t work;
    const struct count_kind *kind;
    struct ksm_req *r;
    struct ksm_audit *audit;
    struct ksm_audit_filter f;
    const char *project;       /* NULL: every project */
    bool csv;                  /* ?format=csv */
    json_t *out;               /* built on the pool thread, answered on the loop */
    bool failed;
};

static json_t *tally_new(void)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "requests", (json_int_t)0, "pass", (json_int_t)0,
                     "mask", (json_int_t)0, "block", (json_int_t)0, "refuse", (json_int_t)0);
}

static void add_to(json_t *tally, const char *field, json_int_t n)
{
    json_t *v = json_object_get(tally, field);
    json_integer_set(v, json_integer_value(v) + n);
}

static void count(json_t *tally, int kind, json_int_t n)
{
    add_to(tally, "requests", n);
    add_to(tally, kinds[kind], n);
}

/* Counts n decisions in group[key] (created on first use). */
static void bump(json_t *group, const char *key, int kind, json_int_t n)
{
    json_t *t = json_object_get(group, key);
    if (!t) {
        t = tally_new();
        json_object_set_new(group, key, t);
    }
    count(t, kind, n);
}

/* ---- as CSV (?format=csv: a spreadsheet for an audit's evidence) ------------------------------ */

enum { CSV_COLS = 7 };

/* A row: the group, its key and up to five numbers ("" for an absent one). */
static void csv_row(struct ksm_buf *b, const char *group, const char *key, const json_t *const v[5])
{
    char num[5][24];
    const char *cells[CSV_COLS] = {group, key};
    for (int i = 0; i < 5; i++) {
        snprintf(num[i], sizeof num[i], "%lld", (long long)json_integer_value(v[i]));
        cells[2 + i] = v[i] ? num[i] : "";
    }
    ksm_csv_record(b, cells, CSV_COLS);
}

/* The members of an object in the order of their names, with row(b, group, key, value). */
static void csv_group(struct ksm_buf *b, const char *group, const json_t *o,
                      void (*row)(struct ksm_buf *, const char *, const char *, const json_t *))
{
    size_t n;
    const char **keys = ksm_json_sorted_keys(o, &n);
    for (size_t i = 0; i < n; i++)
        row(b, group, keys[i], json_object_get(o, keys[i]));
    free(keys);
}

/* ---- decisions ---------------------------------------------------------------------------------- */

static json_t *decisions_start(void)
{
    return json_pack("{s:o,s:I,s:o,s:o,s:o,s:o}", "total", tally_new(), "unscanned",
                     (json_int_t)0, "by_classification", json_object(), "by_model", json_object(),
                     "by_project", json_object(), "by_principal", json_object());
}

/* d, class, decision, project, principal, u|- (content sent unread), model */
static void decisions_add(json_t *out, const char *const f[], json_int_t n)
{
    int kind = -1;
    for (int k = 0; k < (int)KSM_NELEM(kinds); k++)
        if (!strcmp(f[2], kinds[k]))
            kind = k;
    if (kind < 0)
        return;
    count(json_object_get(out, "total"), kind, n);
    bump(json_object_get(out, "by_classification"), f[1], kind, n);
    bump(json_object_get(out, "by_model"), f[6], kind, n);
    bump(json_object_get(out, "by_project"), f[3], kind, n);
    bump(json_object_get(out, "by_principal"), f[4], kind, n);
    if (!strcmp(f[5], "u"))
        add_to(out, "unscanned", n);
}

static void tally_row(struct ksm_buf *b, const char *group, const char *key, const json_t *t)
{
    const json_t *v[5];
    v[0] = json_object_get(t, "requests");
    for (int k = 0; k < 4; k++)
        v[1 + k] = json_object_get(t, kinds[k]);
    csv_row(b, group, key, v);
}

/* group,key,requests,pass,mask,block,refuse: the total, the requests that carried content sent
 * unread, then each grouping's rows */
static void decisions_csv(const json_t *out, struct ksm_buf *b)
{
    static const char *const groups[][2] = {{"classification", "by_classification"},
                                            {"model", "by_model"},
                                            {"project", "by_project"},
                                            {"user", "by_principal"}};
    static const char *const head[CSV_COLS] = {"group", "key", "requests", "pass",
                                               "mask", "block", "refuse"};
    ksm_csv_record(b, head, CSV_COLS);
    tally_row(b, "total", "", json_object_get(out, "total"));
    const json_t *unscanned[5] = {json_object_get(out, "unscanned")};
    csv_row(b, "unscanned", "", unscanned);
    for (size_t i = 0; i < KSM_NELEM(groups); i++)
        csv_group(b, groups[i][0], json_object_get(out, groups[i][1]), tally_row);
}

static const struct count_kind decisions = {KSM_AI_FACET_DECISION, 7, 3, decisions_start,
                                            decisions_add, "decisions", decisions_csv};

/* ---- destinations ------------------------------------------------------------------------------- */

/* {"requests": 0, "by_classification": {"1": 0, "2": 0, "3": 0}} */
static json_t *place_new(void)
{
    return json_pack("{s:I,s:{s:I,s:I,s:I}}", "requests", (json_int_t)0, "by_classification", "1",
                     (json_int_t)0, "2", (json_int_t)0, "3", (json_int_t)0);
}

static void place_add(json_t *place, const char *cls, json_int_t n)
{
    add_to(place, "requests", n);
    json_t *by = json_object_get(place, "by_classification");
    if (!json_object_get(by, cls))
        json_object_set_new(by, cls, json_integer(0));
    add_to(by, cls, n);
}

static json_t *destinations_start(void)
{
    return json_pack("{s:o,s:o,s:o,s:o}", "total", place_new(), "abroad", place_new(),
                     "by_jurisdiction", json_object(), "by_project", json_object());
}

/* s, class, jurisdictions ("JP,US"), project */
static void destinations_add(json_t *out, const char *const f[], json_int_t n)
{
    char to[64], *save = NULL;
    const char *cls = f[1];
    snprintf(to, sizeof to, "%s", f[2]);
    bool abroad = false;
    json_t *by = json_object_get(out, "by_jurisdiction");
    for (char *j = strtok_r(to, ",", &save); j; j = strtok_r(NULL, ",", &save)) {
        json_t *place = json_object_get(by, j);
        if (!place)
            json_object_set_new(by, j, place = place_new());
        place_add(place, cls, n);
        abroad = abroad || strcmp(j, "JP");
    }
    place_add(json_object_get(out, "total"), cls, n);
    if (abroad)
        place_add(json_object_get(out, "abroad"), cls, n);
    json_t *pj = json_object_get(json_object_get(out, "by_project"), f[3]);
    if (!pj)
        json_object_set_new(json_object_get(out, "by_project"), f[3],
                            pj = json_pack("{s:I,s:I}", "requests", (json_int_t)0, "abroad",
                                           (json_int_t)0));
    add_to(pj, "requests", n);
    if (abroad)
        add_to(pj, "abroad", n);
}

/* A place's requests and its classes; abroad: a count beside them (or none). */
static void place_row(struct ksm_buf *b, const char *group, const char *key, const json_t *p)
{
    const json_t *by = json_object_get(p, "by_classification");
    const json_t *v[5] = {json_object_get(p, "requests"), json_object_get(by, "1"),
                          json_object_get(by, "2"), json_object_get(by, "3"),
                          json_object_get(p, "abroad")};
    csv_row(b, group, key, v);
}

/* group,key,requests,class_1,class_2,class_3,abroad: the total (with how many went abroad), those
 * abroad, each jurisdiction, then each project (requests and abroad) */
static void destinations_csv(const json_t *out, struct ksm_buf *b)
{
    static const char *const head[CSV_COLS] = {"group", "key", "requests", "class_1",
                                               "class_2", "class_3", "abroad"};
    ksm_csv_record(b, head, CSV_COLS);
    json_t *total = json_deep_copy(json_object_get(out, "total"));
    json_t *abroad = json_object_get(out, "abroad");
    json_object_set(total, "abroad", json_object_get(abroad, "requests"));
    place_row(b, "total", "", total);
    json_decref(total);
    place_row(b, "abroad", "", abroad);
    csv_group(b, "jurisdiction", json_object_get(out, "by_jurisdiction"), place_row);
    csv_group(b, "project", json_object_get(out, "by_project"), place_row);
}

static const struct count_kind destinations = {KSM_AI_FACET_SENT, 4, 3, destinations_start,
                                               destinations_add, "destinations", destinations_csv};

/* ---- the count ---------------------------------------------------------------------------------- */

/* One facet's records (a block's count, or one record at the period's ends). */
static void count_facet(void *arg, const char *facet, int64_t n)
{
    struct count_job *j = arg;
    char copy[1024];
    const char *f[KSM_AI_FACET_MAX_FIELDS];
    snprintf(copy, sizeof copy, "%s", facet);
    if (ksm_ai_facet_split(copy, f, j->kind->fields) != j->kind->fields)
        return;   /* not this count's shape: the log is read back, any text must be survivable */
    if (j->project && strcmp(f[j->kind->project_field], j->project))
        return;
    j->kind->add(j->out, f, (json_int_t)n);
}

static void count_run(uv_work_t *w)
{
    struct count_job *j = w->data;
    j->out = j->kind->start();
    j->failed = ksm_audit_count(j->audit, &j->f, j->kind->prefix, count_facet, j) != 0;
}

static enum ksm_err reply_csv(struct ksm_req *r, const struct count_job *j)
{
    char cd[96];
    ksm_buf_reset(&r->resp);
    j->kind->csv(j->out, &r->resp);
    r->content_type = "text/csv; charset=utf-8";
    r->status = 200;
    snprintf(cd, sizeof cd, "attachment; filename=\"kasumi-ai-%s.csv\"", j->kind->name);
    ksm_req_add_header(r, "Content-Disposition", ksm_arena_strdup(r->arena, cd));
    return KSM_E_OK;
}

static void count_done(uv_work_t *w, int status)
{
    struct count_job *j = w->data;
    struct ksm_req *r = j->r;
    enum ksm_err e;
    if (status || j->failed) {
        e = ksm_fail(r, KSM_E_INTERNAL, "the audit log could not be read");
    } else {
        json_t *o = j->out;
        char since[32], until[32];
        ksm_rfc3339_ms(j->f.since_ms, since);
        ksm_rfc3339_ms(j->f.until_ms, until);
        json_object_set_new(o, "since", json_string(since));
        json_object_set_new(o, "until", json_string(until));
        json_object_set_new(o, "tenant", j->f.tenant ? json_string(j->f.tenant) : json_null());
        json_object_set_new(o, "project", j->project ? json_string(j->project) : json_null());
        e = j->csv ? reply_csv(r, j) : (j->out = NULL, ksm_reply_json(r, 200, o));
    }
    json_decref(j->out);
    free(j);
    ksm_dispatch_resume(r, e);
}

static enum ksm_err read_period(struct ksm_req *r, struct ksm_audit_filter *f)
{
    const char *s = ksm_req_query(r, "since"), *u = ksm_req_query(r, "until");
    f->until_ms = ksm_now_ms() + 1;
    if (u && ksm_parse_rfc3339(u, &f->until_ms))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "until must be an RFC 3339 time");
    f->since_ms = f->until_ms - 30LL * 86400 * 1000;   /* default: the 30 days before until */
    if (s && ksm_parse_rfc3339(s, &f->since_ms))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "since must be an RFC 3339 time");
    if (f->until_ms <= f->since_ms)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "until must be after since");
    return KSM_E_OK;
}

static enum ksm_err count_start(struct ksm_req *r, const struct count_kind *kind)
{
    struct ksm_app *app = r->worker->app;
    struct ksm_audit_filter f = {0};
    const char *tenant = ksm_req_query(r, "tenant"), *project = ksm_req_query(r, "project");
    const char *format = ksm_req_query(r, "format");
    if (format && strcmp(format, "json") && strcmp(format, "csv"))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "format must be json or csv");
    if ((tenant && !*tenant) || (project && !*project))
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "tenant and project must not be empty when given");
    if (project && !tenant)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "project needs tenant");
    enum ksm_err e = read_period(r, &f);
    if (e || (e = ksm_authorize(r, "usage.read", tenant, project)))
        return e;
    r->audit_tenant = tenant;
    r->audit_project = project;
    struct count_job *j = calloc(1, sizeof *j);
    if (!j)
        return ksm_fail(r, KSM_E_INTERNAL, "out of memory");
    j->r = r;
    j->kind = kind;
    j->audit = app->audit;
    j->f = f;
    j->f.tenant = tenant;
    j->project = project;
    j->csv = format && !strcmp(format, "csv");
    j->work.data = j;
    if (uv_queue_work(&r->worker->loop, &j->work, count_run, count_done)) {
        free(j);
        return ksm_fail(r, KSM_E_INTERNAL, "the count could not start");
    }
    return KSM_E_OK;   /* parked: count_done answers */
}

enum ksm_err ksm_h_ai_decisions(struct ksm_req *r) { return count_start(r, &decisions); }

enum ksm_err ksm_h_ai_destinations(struct ksm_req *r) { return count_start(r, &destinations); }
