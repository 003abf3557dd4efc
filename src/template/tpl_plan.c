/* tpl_plan.c — plan and apply: one walk over a template's resources that, for each, compares three
 * states: live (the registry now), desired (the document) and recorded (what the last apply made,
 * from its management record). desired ≠ live is a change (create or update); live ≠ recorded is
 * drift: someone changed a template-managed resource by hand. Plan only reports; apply walks again
 * and makes each change through the owning store's C API, then records the version and spec.
 * Only the fields a document names are compared (a budget without alert_thresholds leaves them
 * alone), and nothing a document stops naming is deleted: resources outlive their template. */
#include "template/tpl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_store.h"
#include "core/util.h"
#include "iam/iam.h"
#include "storage/store.h"

struct walk {
    struct ksm_db *db;
    const struct ksm_tpl_env *env;
    const char *tenant;
    const struct ksm_tpl *t;
    const struct ksm_tpl *mandatory;   /* current mandatory template, or NULL */
    bool apply;
    int version;                       /* apply: the version being recorded */
    json_t *changes;
    char refusals[KSM_TPL_WHY];        /* guardrail refusals, "; "-joined */
    char *why;                         /* the first hard error */
    enum ksm_err err;
};

/* ---- comparing ---- */

/* [{field, live, desired}] over desired's keys where live differs. */
static json_t *diff(json_t *live, json_t *desired)
{
    json_t *out = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(desired, k, v)
    {
        json_t *lv = live ? json_object_get(live, k) : NULL;
        if (!lv || !json_equal(lv, v))
            json_array_append_new(out, json_pack("{s:s,s:O,s:O}", "field", k, "live",
                                                 lv ? lv : json_null(), "desired", v));
    }
    return out;
}

/* Appends src to dst (cap bytes), cut short when full: a reason may be long, never unsafe. */
static void append(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(dst), m = strlen(src);
    if (n + 1 >= cap)
        return;
    if (m > cap - n - 1)
        m = cap - n - 1;
    memcpy(dst + n, src, m);
    dst[n + m] = 0;
}

static void refuse(struct walk *w, enum ksm_err e, const char *why)
{
    if (e == KSM_E_GUARDRAIL) {
        if (strstr(w->refusals, why))
            return;
        if (w->refusals[0])
            append(w->refusals, sizeof w->refusals, "; ");
        append(w->refusals, sizeof w->refusals, why);
        return;
    }
    if (w->err == KSM_E_OK) {
        w->err = e;
        w->why[0] = 0;
        append(w->why, KSM_TPL_WHY, why);
    }
}

static void refusef(struct walk *w, enum ksm_err e, const char *fmt, const char *a, const char *b)
{
    char why[2 * KSM_TPL_WHY + 256];   /* a and b may each be a whole reason */
    snprintf(why, sizeof why, fmt, a, b);
    refuse(w, e, why);
}

/* Records one resource's comparison in the plan; true when it needs a change. Steals live. */
static bool compare(struct walk *w, const char *kind, const char *key, const char *project,
                    json_t *live, json_t *desired)
{
    json_t *recorded = NULL;
    if (ksm_tpl_managed_get(w->db, w->tenant, kind, key, &recorded) != KSM_E_OK)
        refuse(w, KSM_E_INTERNAL, "cannot read the template's records");
    json_t *d = diff(live, desired);
    json_t *drift = recorded && live ? diff(live, recorded) : json_array();
    const char *action = !live ? "create" : json_array_size(d) ? "update" : "none";
    json_array_append_new(w->changes,
                          json_pack("{s:s,s:s,s:s,s:s,s:b,s:o,s:o}", "kind", kind, "key", key,
                                    "project", project, "action", action, "drift",
                                    json_array_size(drift) > 0, "diff", d, "drift_fields", drift));
    json_decref(recorded);
    json_decref(live);
    return strcmp(action, "none") != 0;
}

/* Apply: after the resource matches desired, its record names this version (and its project,
 * known only now for a new one). Steals desired. */
static void record(struct walk *w, const char *kind, const char *key, const char *project,
                   json_t *desired)
{
    if (w->apply && w->err == KSM_E_OK &&
        ksm_tpl_managed_put(w->db, w->tenant, kind, key, project, w->t->name, w->version,
                            desired) != KSM_E_OK)
        refuse(w, KSM_E_INTERNAL, "cannot record the template's version");
    json_decref(desired);
}

static void mark_applied(struct walk *w, enum ksm_err e, const char *what, const char *detail)
{
    if (e != KSM_E_OK)
        refusef(w, e == KSM_E_NOT_FOUND ? KSM_E_INVALID_ARGUMENT : e, "%s: %s", what,
                detail && *detail ? detail : ksm_err_message(e));
}

/* ---- the project itself ---- */

static enum ksm_err find_project(struct walk *w, const char *name, json_t **out)
{
    char after[KSM_ID_LEN] = "";
    *out = NULL;
    for (;;) {
        json_t *items = json_array();
        enum ksm_err e = ksm_iam_project_list(w->db, w->tenant, *after ? after : NULL, 500, items);
        size_t i, n = json_array_size(items);
        json_t *p;
        json_array_foreach(items, i, p)
        {
            if (!*out && !strcmp(json_string_value(json_object_get(p, "name")), name))
                *out = json_incref(p);
        }
        if (n)
            snprintf(after, sizeof after, "%s",
                     json_string_value(json_object_get(json_array_get(items, n - 1), "id")));
        json_decref(items);
        if (e != KSM_E_OK || *out || n < 500)
            return e;
    }
}

static json_t *project_spec(const struct ksm_tpl_project *p)
{
    json_t *o = json_pack("{s:s}", "environment", p->environment);
    if (p->description)
        json_object_set_new(o, "description", json_string(p->description));
    return o;
}

/* Creates or updates the project; fills id ("" in a plan for a project still to be made). */
static void walk_project(struct walk *w, const struct ksm_tpl_project *p, char *id,
                         const struct ksm_tpl_guardrails **guard)
{
    json_t *live = NULL;
    *id = 0;
    *guard = NULL;
    if (find_project(w, p->name, &live) != KSM_E_OK)
        return refuse(w, KSM_E_INTERNAL, "cannot list the tenant's projects");
    bool is_new = !live;
    if (live)
        snprintf(id, KSM_ID_LEN, "%s", json_string_value(json_object_get(live, "id")));
    /* a new project will be attached to the mandatory template: its guardrails apply */
    bool attached = false;
    struct ksm_tpl *holder = NULL;
    if (!is_new && ksm_tpl_guard_for(w->db, id, &attached, &holder) != KSM_E_OK)
        return refuse(w, KSM_E_INTERNAL, "cannot read the guardrails");
    ksm_tpl_free(holder);   /* the same rules as w->mandatory: that is the current version */
    if ((is_new || attached) && w->mandatory)
        *guard = &w->mandatory->guard;
    json_t *desired = project_spec(p);
    bool change = compare(w, "project", p->name, id, live ? json_incref(live) : NULL, desired);
    json_decref(live);
    if (!w->apply || !change || w->err != KSM_E_OK)
        return record(w, "project", p->name, id, desired);
    const char *why = NULL;
    char twhy[KSM_TPL_WHY] = "";
    json_t *pj = NULL;
    enum ksm_err e;
    if (is_new) {
        e = ksm_iam_project_create(w->db, w->tenant, p->name, p->environment, p->description, &pj,
                                   &why);
        if (e == KSM_E_OK) {
            snprintf(id, KSM_ID_LEN, "%s", json_string_value(json_object_get(pj, "id")));
            e = ksm_tpl_project_created(w->db, w->tenant, id, p->tags, twhy);
            why = twhy;
        }
    } else {
        e = ksm_iam_project_update(w->db, id, NULL, p->environment, p->description, &pj, &why);
    }
    json_decref(pj);
    mark_applied(w, e, p->name, why);
    record(w, "project", p->name, id, desired);
}

/* ---- what a project holds ---- */

static void walk_tags(struct walk *w, const struct ksm_tpl_project *p, const char *id,
                      const struct ksm_tpl_guardrails *g)
{
    char why[KSM_TPL_WHY];
    json_t *live = NULL;
    if (*id && ksm_tpl_tags_get(w->db, id, &live) != KSM_E_OK)
        return refuse(w, KSM_E_INTERNAL, "cannot read project tags");
    json_t *empty = json_object();
    if (ksm_tpl_guard_tags(g, p->tags ? p->tags : live ? live : empty, why) != KSM_E_OK)
        refusef(w, KSM_E_GUARDRAIL, "project %s: %s", p->name, why);
    json_decref(empty);
    if (!p->tags) {
        json_decref(live);
        return;
    }
    /* tags are compared whole: a tag the template does not name is removed */
    json_t *lv = live ? json_pack("{s:O}", "tags", live) : NULL;
    json_decref(live);
    json_t *desired = json_pack("{s:O}", "tags", p->tags);
    bool change = compare(w, "project_tags", p->name, id, lv, desired);
    if (w->apply && change && w->err == KSM_E_OK)
        mark_applied(w, ksm_tpl_tags_put(w->db, w->tenant, id, p->tags), p->name, "tags");
    record(w, "project_tags", p->name, id, desired);
}

json_t *ksm_tpl__budget_spec(int64_t monthly_microyen, const int *alerts, int nalerts)
{
    json_t *a = json_array();
    for (int i = 0; i < nalerts; i++)
        json_array_append_new(a, json_integer(alerts[i]));
    return json_pack("{s:I,s:o}", "monthly_yen", (json_int_t)(monthly_microyen / 1000000),
                     "alert_thresholds", a);
}

static void walk_budget(struct walk *w, const struct ksm_tpl_project *p, const char *id,
                        const struct ksm_tpl_guardrails *g)
{
    char why[KSM_TPL_WHY], aiwhy[KSM_AI_WHY] = "";
    if (!p->budget)
        return;
    if (ksm_tpl_guard_budget(g, p->budget_yen, why) != KSM_E_OK)
        refusef(w, KSM_E_GUARDRAIL, "project %s: %s", p->name, why);
    struct ksm_ai_budget b = {.monthly_microyen = -1};
    if (*id && ksm_ai_budget_load(w->db, id, &b) != KSM_E_OK)
        return refuse(w, KSM_E_INTERNAL, "cannot read a budget");
    json_t *live = b.monthly_microyen >= 0 ? ksm_tpl__budget_spec(b.monthly_microyen, b.alerts,
                                                                  b.nalerts)
                                           : NULL;
    json_t *desired = json_deep_copy(p->budget);
    bool change = compare(w, "budget", p->name, id, live, desired);
    if (w->apply && change && w->err == KSM_E_OK)
        mark_applied(w, ksm_ai_budget_set(w->db, w->tenant, id, p->budget, aiwhy), p->name, aiwhy);
    record(w, "budget", p->name, id, desired);
}

static void walk_policy(struct walk *w, const struct ksm_tpl_project *p, const char *id,
                        const struct ksm_tpl_guardrails *g)
{
    char why[KSM_TPL_WHY], aiwhy[KSM_AI_WHY] = "";
    struct ksm_ai_policy cur, next;
    if (!p->ai_policy)
        return;
    if (*id ? ksm_ai_policy_get(w->db, id, &cur) != KSM_E_OK : (ksm_ai_policy_defaults(&cur), 0))
        return refuse(w, KSM_E_INTERNAL, "cannot read an AI policy");
    if (!*id)
        ksm_tpl_raise_ai_policy(g, &cur);   /* a new project starts raised to the guardrails */
    if (ksm_ai_policy_merge(&cur, p->ai_policy, &next, aiwhy) != KSM_E_OK)
        return refusef(w, KSM_E_INVALID_ARGUMENT, "project %s: ai_policy: %s", p->name, aiwhy);
    if (ksm_tpl_guard_overseas(g, next.class2_overseas, why) != KSM_E_OK)
        refusef(w, KSM_E_GUARDRAIL, "project %s: %s", p->name, why);
    if (ksm_tpl_guard_ai_policy(g, &next, why) != KSM_E_OK)
        refusef(w, KSM_E_GUARDRAIL, "project %s: %s", p->name, why);
    json_t *full = ksm_ai_policy_json(&next), *desired = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(p->ai_policy, k, v) json_object_set(desired, k, json_object_get(full, k));
    json_decref(full);
    bool change = compare(w, "ai_policy", p->name, id, *id ? ksm_ai_policy_json(&cur) : NULL,
                          desired);
    if (w->apply && change && w->err == KSM_E_OK)
        mark_applied(w, ksm_ai_policy_put(w->db, w->tenant, id, &next), p->name, "ai_policy");
    record(w, "ai_policy", p->name, id, desired);
}

static void walk_bucket(struct walk *w, const struct ksm_tpl_project *p, const char *id,
                        const struct ksm_tpl_bucket *b, const struct ksm_tpl_guardrails *g)
{
    char why[KSM_TPL_WHY];
    if (!w->env->store)
        return refusef(w, KSM_E_NOT_SUPPORTED_ENV, "bucket %s: %s", b->name,
                       "this environment stores nothing");
    const char *region = b->region ? b->region : ksm_store_default_region(w->env->store);
    if (!ksm_store_has_region(w->env->store, region))
        return refusef(w, KSM_E_INVALID_ARGUMENT, "bucket %s: no region \"%s\" here", b->name,
                       region);
    if (ksm_tpl_guard_region(g, region, why) != KSM_E_OK)
        refusef(w, KSM_E_GUARDRAIL, "bucket %s: %s", b->name, why);
    struct ksm_bucket live;
    json_t *lv = NULL, *tags = NULL;
    enum ksm_err e = ksm_store_bucket_get(w->db, w->tenant, b->name, &live);
    if (e == KSM_E_OK) {
        if (strcmp(live.project, id))
            return refusef(w, KSM_E_INVALID_ARGUMENT, "bucket %s belongs to another project%s",
                           b->name, "");
        if (strcmp(live.region, region))
            return refusef(w, KSM_E_INVALID_ARGUMENT, "bucket %s is in %s: a bucket cannot move",
                           b->name, live.region);
        if (ksm_store_bucket_tags_get(w->db, &live, &tags) != KSM_E_OK)
            return refuse(w, KSM_E_INTERNAL, "cannot read bucket tags");
        lv = json_pack("{s:s,s:o}", "region", live.region, "tags", tags ? tags : json_object());
    } else if (e != KSM_E_NOT_FOUND) {
        return refuse(w, KSM_E_INTERNAL, "cannot read a bucket");
    }
    json_t *desired = json_pack("{s:s}", "region", region);
    if (b->tags)
        json_object_set(desired, "tags", b->tags);
    bool change = compare(w, "bucket", b->name, id, lv, desired);
    if (!w->apply || !change || w->err != KSM_E_OK)
        return record(w, "bucket", b->name, id, desired);
    if (e == KSM_E_NOT_FOUND)
        e = ksm_store_bucket_create(w->env->store, w->db, w->tenant, id, b->name, region, &live);
    else
        e = KSM_E_OK;
    if (e == KSM_E_OK && b->tags)
        e = ksm_store_bucket_tags_put(w->db, &live, b->tags);
    mark_applied(w, e, b->name, "bucket");
    record(w, "bucket", b->name, id, desired);
}

static void walk_route(struct walk *w, const char *id, const struct ksm_tpl_project *p,
                       const struct ksm_tpl_route *rt)
{
    char aiwhy[KSM_AI_WHY] = "", key[300];
    struct ksm_ai_route want, live;
    bool ha, ht;
    snprintf(key, sizeof key, "%s/%s", p->name, rt->alias);
    if (ksm_ai_route_parse(rt->body, false, w->env->ai_rules, &want, &ha, &ht, aiwhy) != KSM_E_OK)
        return refusef(w, KSM_E_INVALID_ARGUMENT, "model route %s: %s", key, aiwhy);
    json_t *wj = ksm_ai_route_json(&want);
    json_t *desired = json_pack("{s:O}", "targets", json_object_get(wj, "targets"));
    json_decref(wj);
    enum ksm_err e = *id ? ksm_ai_route_find(w->db, id, rt->alias, &live) : KSM_E_NOT_FOUND;
    json_t *lv = NULL;
    if (e == KSM_E_OK) {
        json_t *lj = ksm_ai_route_json(&live);
        lv = json_pack("{s:O}", "targets", json_object_get(lj, "targets"));
        json_decref(lj);
    } else if (e != KSM_E_NOT_FOUND) {
        json_decref(desired);
        return refuse(w, KSM_E_INTERNAL, "cannot read a model route");
    }
    bool change = compare(w, "model_route", key, id, lv, desired);
    if (!w->apply || !change || w->err != KSM_E_OK)
        return record(w, "model_route", key, id, desired);
    json_t *out = NULL;
    if (e == KSM_E_NOT_FOUND)
        e = ksm_ai_route_create(w->db, w->tenant, id, rt->body, w->env->ai_rules, &out, aiwhy);
    else {
        json_t *patch = json_pack("{s:O}", "targets", json_object_get(rt->body, "targets"));
        e = ksm_ai_route_update(w->db, live.id, patch, w->env->ai_rules, &out, aiwhy);
        json_decref(patch);
    }
    json_decref(out);
    mark_applied(w, e, key, aiwhy);
    record(w, "model_route", key, id, desired);
}

/* Is there a binding of role to principal at the project? */
static enum ksm_err binding_exists(struct walk *w, const char *id, const struct ksm_tpl_binding *b,
                                   bool *yes)
{
    char scope[64];
    json_t *items = json_array(), *it;
    size_t i;
    snprintf(scope, sizeof scope, "project/%s", id);
    enum ksm_err e = ksm_iam_binding_list(w->db, w->tenant, scope, b->principal, NULL, 1000, items);
    *yes = false;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "role")), b->role))
            *yes = true;
    }
    json_decref(items);
    return e;
}

static void walk_binding(struct walk *w, const char *id, const struct ksm_tpl_project *p,
                         const struct ksm_tpl_binding *b)
{
    char key[300], owner_t[KSM_ID_LEN], owner_p[KSM_ID_LEN];
    bool yes = false;
    snprintf(key, sizeof key, "%s/%s/%s", p->name, b->principal, b->role);
    /* the principal must be the tenant's own user or group: never a way into another tenant */
    if (ksm_iam_owner(w->db, b->principal, owner_t, owner_p) != KSM_E_OK ||
        strcmp(owner_t, w->tenant) || owner_p[0] ||
        (strncmp(b->principal, "us_", 3) && strncmp(b->principal, "gr_", 3)))
        return refusef(w, KSM_E_INVALID_ARGUMENT, "role binding %s: %s", key,
                       "no such user or group in the tenant");
    if (*id && binding_exists(w, id, b, &yes) != KSM_E_OK)
        return refuse(w, KSM_E_INTERNAL, "cannot list role bindings");
    json_t *desired = json_pack("{s:s}", "role", b->role);
    bool change = compare(w, "role_binding", key, id, yes ? json_incref(desired) : NULL, desired);
    if (!w->apply || !change || w->err != KSM_E_OK)
        return record(w, "role_binding", key, id, desired);
    json_t *out = NULL;
    const char *why = NULL;
    enum ksm_err e = ksm_iam_binding_create(w->db, b->principal, b->role, w->tenant, id,
                                            w->env->actor, &out, &why);
    json_decref(out);
    mark_applied(w, e, key, why);
    record(w, "role_binding", key, id, desired);
}

static void walk_all(struct walk *w)
{
    for (int i = 0; i < w->t->nprojects && w->err == KSM_E_OK; i++) {
        const struct ksm_tpl_project *p = &w->t->projects[i];
        const struct ksm_tpl_guardrails *g = NULL;
        char id[KSM_ID_LEN];
        walk_project(w, p, id, &g);
        if (w->err != KSM_E_OK)
            break;
        walk_tags(w, p, id, g);
        walk_budget(w, p, id, g);
        walk_policy(w, p, id, g);
        for (int k = 0; k < p->nbuckets; k++)
            walk_bucket(w, p, id, &p->buckets[k], g);
        for (int k = 0; k < p->nroutes; k++)
            walk_route(w, id, p, &p->routes[k]);
        for (int k = 0; k < p->nbindings; k++)
            walk_binding(w, id, p, &p->bindings[k]);
    }
}

static json_t *summary(json_t *changes)
{
    int create = 0, update = 0, none = 0, drift = 0;
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        const char *a = json_string_value(json_object_get(c, "action"));
        create += !strcmp(a, "create");
        update += !strcmp(a, "update");
        none += !strcmp(a, "none");
        drift += json_is_true(json_object_get(c, "drift"));
    }
    return json_pack("{s:i,s:i,s:i,s:i}", "create", create, "update", update, "unchanged", none,
                     "drift", drift);
}

/* One walk: plan (apply false) or apply. */
static enum ksm_err run(struct ksm_db *db, const struct ksm_tpl_env *env, const char *tenant,
                        const struct ksm_tpl *t, bool apply, int version, json_t **out, char *why)
{
    struct walk w = {.db = db, .env = env, .tenant = tenant, .t = t, .apply = apply,
                     .version = version, .changes = json_array(), .why = why};
    struct ksm_tpl *mand = NULL;
    int mversion;
    *out = NULL;
    *why = 0;
    if (t->mandatory) {
        json_decref(w.changes);
        return snprintf(why, KSM_TPL_WHY, "a mandatory template (guardrails) is the platform "
                                          "operator's: PUT /admin/v1/platform/mandatory-template"),
               KSM_E_INVALID_ARGUMENT;
    }
    if (t->tenant && strcmp(t->tenant, tenant)) {
        json_decref(w.changes);
        return snprintf(why, KSM_TPL_WHY, "the template names another tenant"),
               KSM_E_INVALID_ARGUMENT;
    }
    enum ksm_err e = ksm_tpl_mandatory_load(db, &mand, &mversion);
    w.mandatory = mand;
    if (e == KSM_E_OK) {
        walk_all(&w);
        e = w.err;
    }
    if (e == KSM_E_OK && w.refusals[0]) {
        snprintf(why, KSM_TPL_WHY, "%s", w.refusals);
        e = KSM_E_GUARDRAIL;
    }
    ksm_tpl_free(mand);
    if (e != KSM_E_OK) {
        json_decref(w.changes);
        return e;
    }
    *out = json_pack("{s:s,s:s,s:o,s:o}", "template", t->name, "tenant", tenant, "summary",
                     summary(w.changes), "changes", w.changes);
    return KSM_E_OK;
}

enum ksm_err ksm_tpl_plan(struct ksm_db *db, const struct ksm_tpl_env *env, const char *tenant,
                          const struct ksm_tpl *t, json_t **out, char *why)
{
    char digest[65];
    int latest;
    enum ksm_err e = run(db, env, tenant, t, false, 0, out, why);
    if (e == KSM_E_OK && ksm_tpl_version_latest(db, tenant, t->name, &latest, digest) != KSM_E_OK)
        e = KSM_E_INTERNAL;
    if (e != KSM_E_OK)
        return e;
    json_object_set_new(*out, "version", json_integer(latest));
    json_object_set_new(*out, "next_version",
                        json_integer(strcmp(digest, t->digest) ? latest + 1 : latest));
    return KSM_E_OK;
}

enum ksm_err ksm_tpl_apply(struct ksm_db *db, const struct ksm_tpl_env *env, const char *tenant,
                           const struct ksm_tpl *t, json_t **out, char *why)
{
    json_t *plan = NULL;
    int version;
    bool is_new;
    /* refusals and errors first, before anything changes */
    enum ksm_err e = run(db, env, tenant, t, false, 0, &plan, why);
    json_decref(plan);
    if (e != KSM_E_OK)
        return e;
    if (ksm_tpl_version_record(db, tenant, t, env->actor, &version, &is_new) != KSM_E_OK)
        return snprintf(why, KSM_TPL_WHY, "cannot record the template version"), KSM_E_INTERNAL;
    if ((e = run(db, env, tenant, t, true, version, out, why)) != KSM_E_OK)
        return e;
    json_object_set_new(*out, "version", json_integer(version));
    json_object_set_new(*out, "new_version", json_boolean(is_new));
    json_object_set_new(*out, "applied", json_true());
    return KSM_E_OK;
}
