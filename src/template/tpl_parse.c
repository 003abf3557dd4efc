/* tpl_parse.c — a template document, parsed and validated without touching the database: known
 * fields only, the right types, names and ranges; model routes through the AI store's own parser.
 * What needs the registry (does that principal exist? is the bucket's region allowed?) is plan's. */
#include "template/tpl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_store.h"
#include "core/util.h"
#include "iam/iam.h"
#include "policy/pii.h"
#include "storage/store.h"

#define BUDGET_YEN_MAX 1000000000000LL

enum jt { T_STR, T_OBJ, T_ARR, T_INT, T_BOOL };

struct field {
    const char *name;
    enum jt type;
    bool required;
    json_t **out;
};

static const char *jt_name[] = {"a string", "an object", "an array", "an integer", "a boolean"};

static bool type_ok(json_t *v, enum jt t)
{
    switch (t) {
    case T_STR: return json_is_string(v);
    case T_OBJ: return json_is_object(v);
    case T_ARR: return json_is_array(v);
    case T_INT: return json_is_integer(v);
    case T_BOOL: return json_is_boolean(v);
    }
    return false;
}

/* Every key of obj must be in spec, of its type; required ones present. */
static enum ksm_err fields(json_t *obj, const char *where, const struct field *spec, size_t n,
                           char *why)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj))
        return snprintf(why, KSM_TPL_WHY, "%s must be an object", where), KSM_E_INVALID_ARGUMENT;
    json_object_foreach(obj, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(spec[i].name, k))
            i++;
        if (i == n)
            return snprintf(why, KSM_TPL_WHY, "%s: unknown field \"%.64s\"", where, k),
                   KSM_E_UNKNOWN_FIELD;
        if (!type_ok(v, spec[i].type))
            return snprintf(why, KSM_TPL_WHY, "%s.%s must be %s", where, k, jt_name[spec[i].type]),
                   KSM_E_INVALID_ARGUMENT;
        *spec[i].out = v;
    }
    for (size_t i = 0; i < n; i++)
        if (spec[i].required && !json_object_get(obj, spec[i].name))
            return snprintf(why, KSM_TPL_WHY, "%s.%s is required", where, spec[i].name),
                   KSM_E_INVALID_ARGUMENT;
    return KSM_E_OK;
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (!n || n > max)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static enum ksm_err bad(char *why, const char *fmt, const char *where)
{
    snprintf(why, KSM_TPL_WHY, fmt, where);
    return KSM_E_INVALID_ARGUMENT;
}

static enum ksm_err parse_budget(json_t *b, const char *where, struct ksm_tpl_project *p, char *why)
{
    json_t *yen = NULL, *alerts = NULL;
    const struct field spec[] = {{"monthly_yen", T_INT, true, &yen},
                                 {"alert_thresholds", T_ARR, false, &alerts}};
    enum ksm_err e = fields(b, where, spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    p->budget_yen = json_integer_value(yen);
    if (p->budget_yen < 0 || p->budget_yen > BUDGET_YEN_MAX)
        return bad(why, "%s.monthly_yen must be 0..1000000000000", where);
    size_t i;
    json_t *v;
    json_array_foreach(alerts, i, v)
    {
        if (!json_is_integer(v) || i >= KSM_AI_MAX_ALERTS)
            return bad(why, "%s.alert_thresholds must be at most 8 integers", where);
    }
    p->budget = b;
    return KSM_E_OK;
}

static enum ksm_err parse_bucket(json_t *o, const char *where, struct ksm_tpl_bucket *b, char *why)
{
    json_t *name = NULL, *region = NULL, *tags = NULL;
    const struct field spec[] = {{"name", T_STR, true, &name},
                                 {"region", T_STR, false, &region},
                                 {"tags", T_OBJ, false, &tags}};
    enum ksm_err e = fields(o, where, spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    b->name = json_string_value(name);
    b->region = region ? json_string_value(region) : NULL;
    b->tags = tags;
    if (!ksm_store_bucket_name_ok(b->name))
        return bad(why, "%s.name is not a valid bucket name", where);
    if (b->region && !name_ok(b->region, 32))
        return bad(why, "%s.region is not a region name", where);
    if (tags && !ksm_tpl_tags_ok(tags, why))
        return KSM_E_INVALID_ARGUMENT;
    return KSM_E_OK;
}

static enum ksm_err parse_route(json_t *o, const char *where, struct ksm_tpl_route *rt, char *why)
{
    struct ksm_ai_route parsed;
    char aiwhy[KSM_AI_WHY] = "";
    bool ha = false, ht = false;
    if (!json_is_object(o))
        return bad(why, "%s must be an object", where);
    /* the AI store's parser: the same rules as POST .../model-routes (allow-list aside: that is
     * the environment's, checked at plan) */
    enum ksm_err e = ksm_ai_route_parse(o, false, NULL, &parsed, &ha, &ht, aiwhy);
    if (e != KSM_E_OK) {
        snprintf(why, KSM_TPL_WHY, "%s: %s", where, aiwhy);
        return e == KSM_E_INTERNAL ? KSM_E_INVALID_ARGUMENT : e;
    }
    rt->alias = json_string_value(json_object_get(o, "alias"));
    rt->body = o;
    return rt->alias ? KSM_E_OK : bad(why, "%s.alias is required", where);
}

static enum ksm_err parse_binding(json_t *o, const char *where, struct ksm_tpl_binding *b,
                                  char *why)
{
    json_t *pr = NULL, *role = NULL;
    const struct field spec[] = {{"principal", T_STR, true, &pr}, {"role", T_STR, true, &role}};
    enum ksm_err e = fields(o, where, spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    b->principal = json_string_value(pr);
    b->role = json_string_value(role);
    const struct ksm_role *r = ksm_iam_role_find(b->role);
    if (!r || !(r->scopes & KSM_ROLE_AT_PROJECT))
        return bad(why, "%s.role is not a role that can be bound at a project", where);
    if (!*b->principal || strlen(b->principal) >= KSM_ID_LEN)
        return bad(why, "%s.principal must be a user or group id", where);
    return KSM_E_OK;
}

/* An array of objects, each parsed by fn into items (size elem). */
typedef enum ksm_err (*item_fn)(json_t *o, const char *where, void *item, char *why);

static enum ksm_err parse_list(json_t *arr, const char *where, size_t elem, item_fn fn,
                               void **items, int *n, char *why)
{
    size_t count = json_array_size(arr);
    if (count > KSM_TPL_MAX_ITEMS)
        return bad(why, "%s has too many entries (at most 100)", where);
    *items = count ? ksm_xcalloc(count, elem) : NULL;
    *n = (int)count;
    for (size_t i = 0; i < count; i++) {
        char at[200];
        snprintf(at, sizeof at, "%s[%zu]", where, i);
        enum ksm_err e = fn(json_array_get(arr, i), at, (char *)*items + i * elem, why);
        if (e != KSM_E_OK)
            return e;
    }
    return KSM_E_OK;
}

static enum ksm_err bucket_item(json_t *o, const char *w, void *it, char *why)
{
    return parse_bucket(o, w, it, why);
}
static enum ksm_err route_item(json_t *o, const char *w, void *it, char *why)
{
    return parse_route(o, w, it, why);
}
static enum ksm_err binding_item(json_t *o, const char *w, void *it, char *why)
{
    return parse_binding(o, w, it, why);
}

static enum ksm_err parse_project(json_t *o, const char *where, struct ksm_tpl_project *p,
                                  bool defaults, char *why)
{
    json_t *name = NULL, *env = NULL, *desc = NULL, *tags = NULL, *budget = NULL, *pol = NULL,
           *buckets = NULL, *routes = NULL, *bindings = NULL;
    const struct field spec[] = {
        {"budget", T_OBJ, false, &budget},     {"ai_policy", T_OBJ, false, &pol},
        {"name", T_STR, true, &name},          {"environment", T_STR, true, &env},
        {"description", T_STR, false, &desc},  {"tags", T_OBJ, false, &tags},
        {"buckets", T_ARR, false, &buckets},   {"model_routes", T_ARR, false, &routes},
        {"role_bindings", T_ARR, false, &bindings},
    };
    /* project_defaults of a mandatory template: only what applies to any project */
    enum ksm_err e = fields(o, where, spec, defaults ? 2 : KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    p->budget_yen = -1;
    if (budget && (e = parse_budget(budget, "budget", p, why)) != KSM_E_OK)
        return e;
    p->ai_policy = pol;
    if (defaults)
        return KSM_E_OK;
    p->name = json_string_value(name);
    p->environment = json_string_value(env);
    p->description = desc ? json_string_value(desc) : NULL;
    p->tags = tags;
    if (!*p->name || strlen(p->name) > 100)
        return bad(why, "%s.name must be 1 to 100 characters", where);
    if (strcmp(p->environment, "prod") && strcmp(p->environment, "staging") &&
        strcmp(p->environment, "dev"))
        return bad(why, "%s.environment must be prod, staging or dev", where);
    if (tags && !ksm_tpl_tags_ok(tags, why))
        return KSM_E_INVALID_ARGUMENT;
    char at[160];
    snprintf(at, sizeof at, "%s.buckets", where);
    if ((e = parse_list(buckets, at, sizeof *p->buckets, bucket_item, (void **)&p->buckets,
                        &p->nbuckets, why)) != KSM_E_OK)
        return e;
    snprintf(at, sizeof at, "%s.model_routes", where);
    if ((e = parse_list(routes, at, sizeof *p->routes, route_item, (void **)&p->routes,
                        &p->nroutes, why)) != KSM_E_OK)
        return e;
    snprintf(at, sizeof at, "%s.role_bindings", where);
    return parse_list(bindings, at, sizeof *p->bindings, binding_item, (void **)&p->bindings,
                      &p->nbindings, why);
}

static enum ksm_err parse_strings(json_t *arr, const char *where, const char **out, int max,
                                  int *n, char *why)
{
    size_t i;
    json_t *v;
    if ((int)json_array_size(arr) > max)
        return bad(why, "%s has too many entries", where);
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || !*json_string_value(v) || json_string_length(v) > 128)
            return bad(why, "%s must hold non-empty strings", where);
        out[i] = json_string_value(v);
    }
    *n = (int)json_array_size(arr);
    return KSM_E_OK;
}

/* "pii_output": the PII kinds every attached project must redact from model output. */
static enum ksm_err parse_pii_output(json_t *arr, unsigned *kinds, char *why)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        int k = ksm_pii_kind_parse(json_string_value(v));
        if (k < 0 || k >= KSM_AI_PII_KINDS)   /* (a project's terms are no detected kind) */
            return bad(why, "%s must name kinds among mynumber, phone, email, card, pension, "
                            "passport", "guardrails.pii_output");
        *kinds |= 1u << k;
    }
    return KSM_E_OK;
}

static enum ksm_err parse_guardrails(json_t *o, struct ksm_tpl_guardrails *g, char *why)
{
    json_t *tags = NULL, *regions = NULL, *cap = NULL, *overseas = NULL, *pii_output = NULL;
    json_t *unscanned = NULL;
    const struct field spec[] = {{"required_tags", T_ARR, false, &tags},
                                 {"allowed_regions", T_ARR, false, &regions},
                                 {"max_monthly_yen", T_INT, false, &cap},
                                 {"class2_overseas", T_BOOL, false, &overseas},
                                 {"pii_output", T_ARR, false, &pii_output},
                                 {"unscanned_content", T_STR, false, &unscanned}};
    enum ksm_err e = fields(o, "guardrails", spec, KSM_NELEM(spec), why);
    if (e == KSM_E_OK)
        e = parse_strings(tags, "guardrails.required_tags", g->required_tags, KSM_TPL_MAX_TAGS,
                          &g->nrequired_tags, why);
    if (e == KSM_E_OK)
        e = parse_strings(regions, "guardrails.allowed_regions", g->regions, KSM_TPL_MAX_REGIONS,
                          &g->nregions, why);
    if (e == KSM_E_OK)
        e = parse_pii_output(pii_output, &g->pii_output, why);
    if (e != KSM_E_OK)
        return e;
    g->max_monthly_yen = cap ? json_integer_value(cap) : -1;
    if (cap && (g->max_monthly_yen < 0 || g->max_monthly_yen > BUDGET_YEN_MAX))
        return bad(why, "%s must be 0..1000000000000", "guardrails.max_monthly_yen");
    /* "class2_overseas": false forbids it; true or absent leaves it to the tenant */
    g->class2_overseas_forbidden = overseas && json_is_false(overseas);
    /* "unscanned_content": "refuse" holds every project to it; absent leaves it to the tenant */
    if (unscanned && strcmp(json_string_value(unscanned), "refuse"))
        return bad(why, "%s must be \"refuse\" (or left out: the tenant's choice)",
                   "guardrails.unscanned_content");
    g->unscanned_refused = unscanned != NULL;
    return KSM_E_OK;
}

/* The project defaults must themselves keep the guardrails. */
static enum ksm_err defaults_ok(struct ksm_tpl *t, char *why)
{
    const struct ksm_tpl_project *d = &t->defaults;
    if (d->budget && ksm_tpl_guard_budget(&t->guard, d->budget_yen, why) != KSM_E_OK)
        return KSM_E_INVALID_ARGUMENT;
    json_t *c2 = d->ai_policy ? json_object_get(d->ai_policy, "class2_overseas") : NULL;
    if (json_is_true(c2) && ksm_tpl_guard_overseas(&t->guard, true, why) != KSM_E_OK)
        return KSM_E_INVALID_ARGUMENT;
    json_t *u_json = d->ai_policy ? json_object_get(d->ai_policy, "unscanned_content") : NULL;
    const char *u = json_string_value(u_json);
    if (t->guard.unscanned_refused && u && strcmp(u, "refuse"))
        return bad(why, "%s must be \"refuse\": the guardrails require it",
                   "project_defaults.ai_policy.unscanned_content");
    /* a default that lets a required kind through would be raised at once: a contradiction */
    json_t *out = d->ai_policy ? json_object_get(d->ai_policy, "pii_output") : NULL;
    for (int k = 0; k < KSM_AI_PII_KINDS; k++) {
        const char *a = json_string_value(json_object_get(out, ksm_pii_kind_name((enum ksm_pii_kind)k)));
        if ((t->guard.pii_output >> k & 1) && a && strcmp(a, "mask"))
            return bad(why, "project_defaults.ai_policy.pii_output.%s must be \"mask\": the "
                            "guardrails require it", ksm_pii_kind_name((enum ksm_pii_kind)k));
    }
    return KSM_E_OK;
}

static enum ksm_err parse_doc(struct ksm_tpl *t, char *why)
{
    json_t *name = NULL, *tenant = NULL, *projects = NULL, *guard = NULL, *defaults = NULL,
           *version = NULL;
    const struct field spec[] = {
        {"kasumi_template", T_INT, true, &version}, {"template", T_STR, true, &name},
        {"tenant", T_STR, false, &tenant},          {"projects", T_ARR, false, &projects},
        {"guardrails", T_OBJ, false, &guard},       {"project_defaults", T_OBJ, false, &defaults},
    };
    enum ksm_err e = fields(t->doc, "template", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    if (json_integer_value(version) != 1)
        return bad(why, "%s must be 1 (the only format so far)", "kasumi_template");
    t->name = json_string_value(name);
    if (!name_ok(t->name, 64))
        return bad(why, "%s must be 1 to 64 of a-z 0-9 - _ .", "template");
    t->tenant = tenant ? json_string_value(tenant) : NULL;
    if (t->tenant && (!*t->tenant || strlen(t->tenant) >= KSM_ID_LEN))
        return bad(why, "%s must be a tenant id", "tenant");
    t->mandatory = guard != NULL;
    t->guard.max_monthly_yen = -1;
    t->defaults.budget_yen = -1;
    if (t->mandatory) {
        if (tenant || projects)
            return bad(why, "%s: a mandatory template (guardrails) names no tenant or projects",
                       "template");
        if ((e = parse_guardrails(guard, &t->guard, why)) != KSM_E_OK)
            return e;
        if (defaults &&
            (e = parse_project(defaults, "project_defaults", &t->defaults, true, why)) != KSM_E_OK)
            return e;
        return defaults_ok(t, why);
    }
    if (defaults)
        return bad(why, "%s: project_defaults belong to a mandatory template", "template");
    if (json_array_size(projects) > KSM_TPL_MAX_PROJECTS)
        return bad(why, "%s has too many entries (at most 100)", "projects");
    t->nprojects = (int)json_array_size(projects);
    t->projects = t->nprojects ? ksm_xcalloc((size_t)t->nprojects, sizeof *t->projects) : NULL;
    for (int i = 0; i < t->nprojects; i++) {
        char at[64];
        snprintf(at, sizeof at, "projects[%d]", i);
        if ((e = parse_project(json_array_get(projects, (size_t)i), at, &t->projects[i], false,
                               why)) != KSM_E_OK)
            return e;
        for (int k = 0; k < i; k++)
            if (!strcmp(t->projects[k].name, t->projects[i].name))
                return bad(why, "%s.name repeats an earlier project", at);
    }
    return KSM_E_OK;
}

enum ksm_err ksm_tpl_parse(const char *buf, size_t len, struct ksm_tpl **out, char *why)
{
    json_error_t jerr;
    *out = NULL;
    *why = 0;
    if (len > KSM_TPL_MAX_DOC)
        return snprintf(why, KSM_TPL_WHY, "the template is larger than 1 MiB"), KSM_E_TOO_LARGE;
    struct ksm_tpl *t = ksm_xcalloc(1, sizeof *t);
    t->doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!t->doc) {
        snprintf(why, KSM_TPL_WHY, "not valid JSON: %s (line %d)", jerr.text, jerr.line);
        ksm_tpl_free(t);
        return KSM_E_INVALID_JSON;
    }
    enum ksm_err e = parse_doc(t, why);
    if (e != KSM_E_OK) {
        ksm_tpl_free(t);
        return e;
    }
    char *canon = json_dumps(t->doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!canon) {
        ksm_tpl_free(t);
        return snprintf(why, KSM_TPL_WHY, "out of memory"), KSM_E_INTERNAL;
    }
    ksm_sha256_hex(canon, strlen(canon), t->digest);
    free(canon);
    *out = t;
    return KSM_E_OK;
}

void ksm_tpl_free(struct ksm_tpl *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nprojects; i++) {
        free(t->projects[i].buckets);
        free(t->projects[i].routes);
        free(t->projects[i].bindings);
    }
    free(t->projects);
    json_decref(t->doc);
    free(t);
}
