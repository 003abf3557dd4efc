/* supply_scope.c — the scope decision of the agreement (SPEC.md SC1): a procurement is subject to
 * its measures when the agency is listed, at least one item falls under a listed category, and the
 * system meets at least one importance criterion. The decision comes with its reasons, one per
 * condition, so a reader sees why a case is in or out. */
#include "supply/supply_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supply/supply_text.h"

/* Agency names compare after NFKC, without spaces and without the legal-form prefix. */
static char *agency_key(const char *s)
{
    char *k = ksm_supply_norm_model(s);
    static const char *const prefixes[] = {"独立行政法人", "国立研究開発法人", "行政執行法人"};
    for (size_t i = 0; k && i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(k, prefixes[i], n))
            memmove(k, k + n, strlen(k + n) + 1);
    }
    return k;
}

static bool same(const char *a, const char *b)
{
    char *x = ksm_supply_norm_model(a), *y = ksm_supply_norm_model(b);
    bool eq = x && y && *x && !strcmp(x, y);
    free(x);
    free(y);
    return eq;
}

static void agency_reason(const char *agency, json_t *scope, json_t *reasons)
{
    const struct ksm_supply_ref *ref = ksm_supply__ref();
    char *key = agency ? agency_key(agency) : NULL;
    const struct ksm_supply_ref_row *hit = NULL;
    bool by_seed = false;
    for (int i = 0; key && !hit && i < ref->nagencies; i++) {
        char *n = agency_key(ref->agencies[i].b), *s = agency_key(ref->agencies[i].c);
        if (n && !strcmp(n, key))
            hit = &ref->agencies[i];
        else if (s && *s && !strcmp(s, key))
            hit = &ref->agencies[i], by_seed = true;
        free(n);
        free(s);
    }
    free(key);
    char msg[600];
    if (hit && by_seed)
        snprintf(msg, sizeof msg, "agency: %s is listed (as %s; the agreement spells it %s)",
                 agency, hit->b, hit->c);
    else if (hit)
        snprintf(msg, sizeof msg, "agency: %s is listed (%s)", agency, hit->a);
    else
        snprintf(msg, sizeof msg, "agency: %s is not among the agencies the agreement binds",
                 agency ? agency : "(none)");
    json_object_set_new(scope, "agency_listed", json_boolean(hit != NULL));
    if (hit)
        json_object_set_new(scope, "agency_group", json_string(hit->a));
    json_array_append_new(reasons, json_string(msg));
}

/* A category given by a case matches a listed category, item or sub-item (the most specific
 * first); *level is 0, 1 or 2 for category, item, sub-item. */
static const struct ksm_supply_ref_row *category_hit(const char *c, int *level)
{
    const struct ksm_supply_ref *ref = ksm_supply__ref();
    for (*level = 2; *level >= 0; (*level)--)
        for (int i = 0; i < ref->ncategories; i++) {
            const struct ksm_supply_ref_row *r = &ref->categories[i];
            if (same(c, *level == 2 ? r->c : *level == 1 ? r->b : r->a))
                return r;
        }
    return NULL;
}

static bool categories_reason(json_t *cats, json_t *scope, json_t *reasons)
{
    json_t *matched = json_array();
    size_t i;
    json_t *v;
    char msg[700];
    json_array_foreach(cats, i, v) {
        const char *c = json_string_value(v);
        int level = 0;
        const struct ksm_supply_ref_row *r = c ? category_hit(c, &level) : NULL;
        if (r && level == 0)
            snprintf(msg, sizeof msg, "category: %s is a listed category", c);
        else if (r)
            snprintf(msg, sizeof msg, "category: %s is listed (%s > %s%s%s)", c, r->a, r->b,
                     level == 2 ? " > " : "", level == 2 ? r->c : "");
        if (r) {
            json_array_append_new(matched, json_string(c));
        } else {
            snprintf(msg, sizeof msg, "category: %s is not a listed category", c ? c : "");
        }
        json_array_append_new(reasons, json_string(msg));
    }
    if (json_array_size(cats) == 0)
        json_array_append_new(reasons, json_string("category: none given"));
    bool any = json_array_size(matched) > 0;
    json_object_set_new(scope, "listed_categories", matched);
    return any;
}

static bool criteria_reason(json_t *crit, json_t *reasons)
{
    const struct ksm_supply_ref *ref = ksm_supply__ref();
    size_t i;
    json_t *v;
    char msg[700];
    json_array_foreach(crit, i, v) {
        json_int_t id = json_integer_value(v);
        for (int k = 0; k < ref->ncriteria; k++)
            if (atoi(ref->criteria[k].a) == id) {
                snprintf(msg, sizeof msg, "criterion %lld: %s", (long long)id, ref->criteria[k].b);
                json_array_append_new(reasons, json_string(msg));
            }
    }
    if (json_array_size(crit) == 0)
        json_array_append_new(reasons, json_string("importance: no criterion is met"));
    return json_array_size(crit) > 0;
}

json_t *ksm_supply_scope(json_t *doc)
{
    json_t *scope = json_object(), *reasons = json_array();
    agency_reason(json_string_value(json_object_get(doc, "agency")), scope, reasons);
    bool cat = categories_reason(json_object_get(doc, "categories"), scope, reasons);
    bool crit = criteria_reason(json_object_get(doc, "criteria"), reasons);
    bool in = json_is_true(json_object_get(scope, "agency_listed")) && cat && crit;
    json_object_set_new(scope, "in_scope", json_boolean(in));
    json_object_set_new(scope, "criteria_met", json_boolean(crit));
    json_object_set_new(scope, "reasons", reasons);
    return scope;
}
