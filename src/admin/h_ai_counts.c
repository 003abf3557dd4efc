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
 * leaving it out is platform scope. Reading many records takes a while, so a count runs on libuv's
 * thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "admin/app.h"
#include "admin/handlers.h"
#include "core/util.h"

enum { PAGE = 1000, MAX_RECORDS = 200000 };

static const char *const kinds[] = {"pass", "mask", "block", "refuse"};

struct count_job;

/* One count: the records it reads, its empty result, and how one record adds to it. */
struct count_kind {
    const char *action;   /* the audit filter's action (may end in '*') */
    json_t *(*start)(void);
    void (*add)(json_t *out, json_t *rec, const char *proj);
};

struct count_job {
    uv_work_t work;
    const struct count_kind *kind;
    struct ksm_req *r;
    struct ksm_audit *audit;
    struct ksm_audit_filter f;
    const char *project;       /* NULL: every project */
    json_t *out;               /* built on the pool thread, answered on the loop */
    bool failed;
};

/* "class=2 decision=mask …" → 2 and the index of "mask" in kinds. -1 when the detail is not a
 * decision's (the log is read back from disk: any text must be survivable). */
static int parse_detail(const char *d, int *cls, int *kind)
{
    char dec[16];
    if (!d || sscanf(d, "class=%d decision=%15[a-z]", cls, dec) != 2)
        return -1;
    for (int k = 0; k < (int)KSM_NELEM(kinds); k++)
        if (!strcmp(dec, kinds[k])) {
            *kind = k;
            return 0;
        }
    return -1;
}

static json_t *tally_new(void)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "requests", (json_int_t)0, "pass", (json_int_t)0,
                     "mask", (json_int_t)0, "block", (json_int_t)0, "refuse", (json_int_t)0);
}

static void bump_one(json_t *tally, const char *field)
{
    json_t *v = json_object_get(tally, field);
    json_integer_set(v, json_integer_value(v) + 1);
}

static void count(json_t *tally, int kind)
{
    bump_one(tally, "requests");
    bump_one(tally, kinds[kind]);
}

/* Counts one decision in group[key] (created on first use). */
static void bump(json_t *group, const char *key, int kind)
{
    json_t *t = json_object_get(group, key);
    if (!t) {
        t = tally_new();
        json_object_set_new(group, key, t);
    }
    count(t, kind);
}

/* ---- decisions ---------------------------------------------------------------------------------- */

static json_t *decisions_start(void)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "total", tally_new(), "by_classification",
                     json_object(), "by_model", json_object(), "by_project", json_object(),
                     "by_principal", json_object());
}

static void decisions_add(json_t *out, json_t *rec, const char *proj)
{
    const char *model = json_string_value(json_object_get(rec, "target"));
    const char *who = json_string_value(json_object_get(rec, "principal"));
    char cls[16];
    int c, kind;
    if (parse_detail(json_string_value(json_object_get(rec, "detail")), &c, &kind))
        return;
    snprintf(cls, sizeof cls, "%d", c);
    count(json_object_get(out, "total"), kind);
    bump(json_object_get(out, "by_classification"), cls, kind);
    bump(json_object_get(out, "by_model"), model ? model : "-", kind);
    bump(json_object_get(out, "by_project"), proj ? proj : "-", kind);
    bump(json_object_get(out, "by_principal"), who && *who ? who : "-", kind);
}

static const struct count_kind decisions = {"ai.decision", decisions_start, decisions_add};

/* ---- destinations ------------------------------------------------------------------------------- */

/* {"requests": 0, "by_classification": {"1": 0, "2": 0, "3": 0}} */
static json_t *place_new(void)
{
    return json_pack("{s:I,s:{s:I,s:I,s:I}}", "requests", (json_int_t)0, "by_classification", "1",
                     (json_int_t)0, "2", (json_int_t)0, "3", (json_int_t)0);
}

static void place_add(json_t *place, const char *cls)
{
    bump_one(place, "requests");
    json_t *by = json_object_get(place, "by_classification");
    if (!json_object_get(by, cls))
        json_object_set_new(by, cls, json_integer(0));
    bump_one(by, cls);
}

static json_t *destinations_start(void)
{
    return json_pack("{s:o,s:o,s:o,s:o}", "total", place_new(), "abroad", place_new(),
                     "by_jurisdiction", json_object(), "by_project", json_object());
}

/* "… class=N sent_to=JP,US" → "N" in cls and "JP,US" in to; -1 when the record has none (a request
 * that reached no model server, or one recorded before destinations were). Any text survives. */
static int parse_sent(const char *d, char cls[4], char to[64])
{
    const char *s = d ? strstr(d, " class=") : NULL;
    if (!s || sscanf(s, " class=%3[0-9] sent_to=%63[A-Z,]", cls, to) != 2)
        return -1;
    return 0;
}

static void destinations_add(json_t *out, json_t *rec, const char *proj)
{
    char cls[4], to[64], *save = NULL;
    if (parse_sent(json_string_value(json_object_get(rec, "detail")), cls, to))
        return;
    bool abroad = false;
    json_t *by = json_object_get(out, "by_jurisdiction");
    for (char *j = strtok_r(to, ",", &save); j; j = strtok_r(NULL, ",", &save)) {
        json_t *place = json_object_get(by, j);
        if (!place)
            json_object_set_new(by, j, place = place_new());
        place_add(place, cls);
        abroad = abroad || strcmp(j, "JP");
    }
    place_add(json_object_get(out, "total"), cls);
    if (abroad)
        place_add(json_object_get(out, "abroad"), cls);
    json_t *pj = json_object_get(json_object_get(out, "by_project"), proj ? proj : "-");
    if (!pj)
        json_object_set_new(json_object_get(out, "by_project"), proj ? proj : "-",
                            pj = json_pack("{s:I,s:I}", "requests", (json_int_t)0, "abroad",
                                           (json_int_t)0));
    bump_one(pj, "requests");
    if (abroad)
        bump_one(pj, "abroad");
}

static const struct count_kind destinations = {"ai.*", destinations_start, destinations_add};

/* ---- the count ---------------------------------------------------------------------------------- */

/* Adds one page of records to the tallies. */
static void count_page(struct count_job *j, json_t *items)
{
    size_t i;
    json_t *rec;
    json_array_foreach(items, i, rec) {
        const char *proj = json_string_value(json_object_get(rec, "project"));
        if (j->project && (!proj || strcmp(proj, j->project)))
            continue;
        j->kind->add(j->out, rec, proj);
    }
}

static void count_run(uv_work_t *w)
{
    struct count_job *j = w->data;
    char *cur = NULL, *next = NULL;
    size_t read = 0;
    j->out = j->kind->start();
    do {
        json_t *items = json_array();
        free(cur);
        cur = next;   /* the page after the last one read */
        next = NULL;
        j->f.cursor = cur;
        if (ksm_audit_query(j->audit, &j->f, items, &next)) {
            json_decref(items);
            j->failed = true;
            break;
        }
        count_page(j, items);
        read += json_array_size(items);
        json_decref(items);
    } while (next && read < MAX_RECORDS);
    json_object_set_new(j->out, "truncated", json_boolean(next != NULL));
    free(cur);
    free(next);
    j->f.cursor = NULL;
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
        j->out = NULL;
        e = ksm_reply_json(r, 200, o);
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
    j->f.action = kind->action;
    j->f.limit = PAGE;
    j->project = project;
    j->work.data = j;
    if (uv_queue_work(&r->worker->loop, &j->work, count_run, count_done)) {
        free(j);
        return ksm_fail(r, KSM_E_INTERNAL, "the count could not start");
    }
    return KSM_E_OK;   /* parked: count_done answers */
}

enum ksm_err ksm_h_ai_decisions(struct ksm_req *r) { return count_start(r, &decisions); }

enum ksm_err ksm_h_ai_destinations(struct ksm_req *r) { return count_start(r, &destinations); }
