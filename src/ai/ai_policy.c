/* ai_policy.c — a project's AI policy (SPEC.md G, O4): the default
 * classification of unlabelled requests, whether 機密性2 may go abroad (masked)
 * and whether 機密性3 is forbidden outright, the action per PII kind,
 * per-minute quotas and metadata retention. A project without a row has the
 * defaults: classification 2, nothing classified leaves Japan, My Number
 * blocked, other PII masked, no quotas. The row is the policy's JSON as the API
 * shows it, read back through the same merge, so the API and the store cannot
 * disagree about a field. Who may enable class2_overseas is the handler's
 * business (a distinct permission); this file only knows what a valid policy
 * is. */
#include "ai/ai_store_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "policy/pii.h"

#define QUOTA_MAX 1000000000LL

/* A policy's kinds are src/policy/pii.h's detected kinds, in its order, named by its table. */
static const char *pii_kind(int i) { return ksm_pii_kind_name((enum ksm_pii_kind)i); }
static const char *const pii_actions[] = {
    [KSM_AI_PII_ALLOW] = "allow", [KSM_AI_PII_MASK] = "mask", [KSM_AI_PII_BLOCK] = "block"};

void ksm_ai_policy_defaults(struct ksm_ai_policy *p)
{
    memset(p, 0, sizeof *p);
    p->default_classification = 2;
    for (int i = 0; i < KSM_AI_PII_KINDS; i++)
        p->pii[i] = KSM_AI_PII_MASK;
    p->pii[0] = KSM_AI_PII_BLOCK; /* 個人番号: its use is restricted by law (番号法) */
}

/* "pii" (the request's texts: block, mask or allow) or "pii_output" (the model's answer: mask or
 * allow — an answer already streamed cannot be refused) into act. */
static enum ksm_err merge_pii(json_t *o, const char *name, enum ksm_ai_pii_action *act, char *why)
{
    const char *v[KSM_AI_PII_KINDS] = {0};
    struct ksm_ai__jf spec[KSM_AI_PII_KINDS];
    bool output = !strcmp(name, "pii_output");
    for (int i = 0; i < KSM_AI_PII_KINDS; i++)
        spec[i] = (struct ksm_ai__jf){pii_kind(i), KSM_AI_J_STR, false, &v[i], NULL};
    enum ksm_err e = ksm_ai__fields(o, name, spec, KSM_AI_PII_KINDS, why);
    for (int i = 0; e == KSM_E_OK && i < KSM_AI_PII_KINDS; i++) {
        if (!v[i])
            continue;
        size_t a = 0;
        while (a < KSM_NELEM(pii_actions) && strcmp(pii_actions[a], v[i]))
            a++;
        if (a == KSM_NELEM(pii_actions) || (output && a == KSM_AI_PII_BLOCK)) {
            snprintf(why, KSM_AI_WHY, output ? "pii_output.%s must be \"mask\" or \"allow\""
                                             : "pii.%s must be \"block\", \"mask\" or \"allow\"",
                     pii_kind(i));
            return KSM_E_INVALID_ARGUMENT;
        }
        act[i] = (enum ksm_ai_pii_action)a;
    }
    return e;
}

/* One of "terms": {"term": "...", "action": "mask"|"block"}; stored folded (ksm_pii_fold: ASCII
 * in lower case and half width), as texts are matched. */
static enum ksm_err merge_term(json_t *o, struct ksm_ai_term *t, char *why)
{
    const char *text = NULL, *action = NULL;
    struct ksm_ai__jf spec[] = {{"term", KSM_AI_J_STR, true, &text, NULL},
                                {"action", KSM_AI_J_STR, true, &action, NULL}};
    enum ksm_err e = ksm_ai__fields(o, "terms[]", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    size_t n = strlen(text);
    bool plain = n > 0 && n <= KSM_AI_TERM_MAX && ksm_utf8_valid(text, n) && !strstr(text, "\xE2\x9F\xA6");
    for (size_t i = 0; plain && i < n; i++)
        plain = (unsigned char)text[i] >= 0x20 && text[i] != 0x7f;
    if (!plain) {
        snprintf(why, KSM_AI_WHY, "terms[].term must be 1..%d bytes of UTF-8 text without control "
                 "characters or \u27E6", KSM_AI_TERM_MAX);
        return KSM_E_INVALID_ARGUMENT;
    }
    if (strcmp(action, "mask") && strcmp(action, "block")) {
        snprintf(why, KSM_AI_WHY, "terms[].action must be \"mask\" or \"block\"");
        return KSM_E_INVALID_ARGUMENT;
    }
    t->text[ksm_pii_fold(text, n, t->text, NULL)] = '\0';   /* as texts are matched */
    t->block = !strcmp(action, "block");
    return KSM_E_OK;
}

/* "terms" replaces the list: at most KSM_AI_MAX_TERMS, no term twice (in any case). */
static enum ksm_err merge_terms(json_t *a, struct ksm_ai_policy *out, char *why)
{
    json_t *o;
    size_t i;
    if (json_array_size(a) > KSM_AI_MAX_TERMS) {
        snprintf(why, KSM_AI_WHY, "terms may hold at most %d terms", KSM_AI_MAX_TERMS);
        return KSM_E_INVALID_ARGUMENT;
    }
    out->nterms = 0;
    json_array_foreach(a, i, o) {
        enum ksm_err e = merge_term(o, &out->terms[i], why);
        if (e != KSM_E_OK)
            return e;
        for (int j = 0; j < (int)i; j++)
            if (!strcmp(out->terms[j].text, out->terms[i].text)) {
                snprintf(why, KSM_AI_WHY, "terms names %s twice", out->terms[i].text);
                return KSM_E_INVALID_ARGUMENT;
            }
        out->nterms = (int)i + 1;
    }
    return KSM_E_OK;
}

/* "allowed_networks" replaces the list: at most KSM_AI_MAX_NETS networks ("10.0.0.0/8",
 * "2001:db8::/32", an address alone is one host), each once; [] means anywhere. */
static enum ksm_err merge_nets(json_t *a, struct ksm_ai_policy *out, char *why)
{
    size_t i;
    json_t *v;
    if (json_array_size(a) > KSM_AI_MAX_NETS) {
        snprintf(why, KSM_AI_WHY, "allowed_networks may hold at most %d networks", KSM_AI_MAX_NETS);
        return KSM_E_INVALID_ARGUMENT;
    }
    out->nnets = 0;
    json_array_foreach(a, i, v) {
        char bad[160];
        struct ksm_cidr *n = &out->nets[i];
        if (!json_is_string(v) || !ksm_cidr_parse(json_string_value(v), n, bad)) {
            snprintf(why, KSM_AI_WHY, "allowed_networks: %s",
                     json_is_string(v) ? bad : "each network is a string such as \"10.0.0.0/8\"");
            return KSM_E_INVALID_ARGUMENT;
        }
        for (size_t j = 0; j < i; j++)
            if (!memcmp(&out->nets[j], n, sizeof *n)) {
                snprintf(why, KSM_AI_WHY, "allowed_networks names %s twice", json_string_value(v));
                return KSM_E_INVALID_ARGUMENT;
            }
        out->nnets = (int)i + 1;
    }
    return KSM_E_OK;
}

bool ksm_ai_policy_network_allows(const struct ksm_ai_policy *p, const char *peer)
{
    /* (an address it cannot read is not one it allows) */
    return !p->nnets || ksm_cidr_list_has(p->nets, p->nnets, peer, NULL);
}

/* The numeric fields: name, bounds, and where each goes (int or int64_t field of the policy). */
static const struct {
    const char *name;
    int64_t min, max;
    size_t off;
    bool wide;
} nums[] = {
    {"default_classification", 1, 3, offsetof(struct ksm_ai_policy, default_classification), 0},
    {"project_rpm", 0, QUOTA_MAX, offsetof(struct ksm_ai_policy, project_rpm), 1},
    {"project_tpm", 0, QUOTA_MAX, offsetof(struct ksm_ai_policy, project_tpm), 1},
    {"key_rpm", 0, QUOTA_MAX, offsetof(struct ksm_ai_policy, key_rpm), 1},
    {"key_tpm", 0, QUOTA_MAX, offsetof(struct ksm_ai_policy, key_tpm), 1},
    {"retention_days", 0, 3650, offsetof(struct ksm_ai_policy, retention_days), 0},
};
#define NNUMS (sizeof nums / sizeof nums[0])

static enum ksm_err store_nums(const int64_t *v, const bool *given, struct ksm_ai_policy *out,
                               char *why)
{
    for (size_t i = 0; i < NNUMS; i++) {
        if (!given[i])
            continue;
        if (v[i] < nums[i].min || v[i] > nums[i].max) {
            snprintf(why, KSM_AI_WHY, "%s must be %lld..%lld", nums[i].name,
                     (long long)nums[i].min, (long long)nums[i].max);
            return KSM_E_INVALID_ARGUMENT;
        }
        char *dst = (char *)out + nums[i].off;
        if (nums[i].wide)
            *(int64_t *)dst = v[i];
        else
            *(int *)dst = (int)v[i];
    }
    return KSM_E_OK;
}

static const char *const unscanned_names[] = {[KSM_AI_UNSCANNED_REFUSE] = "refuse",
                                               [KSM_AI_UNSCANNED_JAPAN] = "allow_in_japan"};

static enum ksm_err merge_unscanned(const char *v, struct ksm_ai_policy *out, char *why)
{
    for (size_t i = 0; i < KSM_NELEM(unscanned_names); i++)
        if (!strcmp(v, unscanned_names[i])) {
            out->unscanned = (enum ksm_ai_unscanned)i;
            return KSM_E_OK;
        }
    snprintf(why, KSM_AI_WHY, "unscanned_content must be \"refuse\" or \"allow_in_japan\"");
    return KSM_E_INVALID_ARGUMENT;
}

enum ksm_err ksm_ai_policy_merge(const struct ksm_ai_policy *cur, json_t *body,
                                 struct ksm_ai_policy *out, char *why)
{
    int64_t v[NNUMS] = {0};
    bool given[NNUMS];
    json_t *pii = NULL, *pii_output = NULL, *terms = NULL, *nets = NULL;
    const char *unscanned = NULL;
    struct ksm_ai__jf spec[NNUMS + 8] = {
        {"class2_overseas", KSM_AI_J_BOOL, false, &out->class2_overseas, NULL},
        {"class3_forbidden", KSM_AI_J_BOOL, false, &out->class3_forbidden, NULL},
        {"classification_markings", KSM_AI_J_BOOL, false, &out->markings, NULL},
        {"pii", KSM_AI_J_OBJ, false, &pii, NULL},
        {"terms", KSM_AI_J_ARR, false, &terms, NULL},
        {"pii_output", KSM_AI_J_OBJ, false, &pii_output, NULL},
        {"allowed_networks", KSM_AI_J_ARR, false, &nets, NULL},
        {"unscanned_content", KSM_AI_J_STR, false, &unscanned, NULL},
    };
    for (size_t i = 0; i < NNUMS; i++)
        spec[8 + i] = (struct ksm_ai__jf){nums[i].name, KSM_AI_J_INT, false, &v[i], &given[i]};
    *out = *cur;
    enum ksm_err e = ksm_ai__fields(body, "", spec, KSM_NELEM(spec), why);
    if (e == KSM_E_OK)
        e = store_nums(v, given, out, why);
    if (e == KSM_E_OK && pii)
        e = merge_pii(pii, "pii", out->pii, why);
    if (e == KSM_E_OK && pii_output)
        e = merge_pii(pii_output, "pii_output", out->pii_output, why);
    if (e == KSM_E_OK && terms)
        e = merge_terms(terms, out, why);
    if (e == KSM_E_OK && nets)
        e = merge_nets(nets, out, why);
    if (e == KSM_E_OK && unscanned)
        e = merge_unscanned(unscanned, out, why);
    return e;
}

json_t *ksm_ai_policy_json(const struct ksm_ai_policy *p)
{
    json_t *pii = json_object(), *pii_output = json_object();
    for (int i = 0; i < KSM_AI_PII_KINDS; i++) {
        json_object_set_new(pii, pii_kind(i), json_string(pii_actions[p->pii[i]]));
        json_object_set_new(pii_output, pii_kind(i), json_string(pii_actions[p->pii_output[i]]));
    }
    json_t *terms = json_array();
    for (int i = 0; i < p->nterms; i++)
        json_array_append_new(terms, json_pack("{s:s,s:s}", "term", p->terms[i].text, "action",
                                               p->terms[i].block ? "block" : "mask"));
    json_t *nets = json_array();
    for (int i = 0; i < p->nnets; i++) {
        char t[KSM_CIDR_TEXT];
        ksm_cidr_format(&p->nets[i], t);
        json_array_append_new(nets, json_string(t));
    }
    return json_pack("{s:i,s:b,s:b,s:b,s:o,s:o,s:o,s:o,s:s,s:I,s:I,s:I,s:I,s:i}",
                     "default_classification", p->default_classification, "class2_overseas", p->class2_overseas,
                     "class3_forbidden", p->class3_forbidden, "classification_markings", p->markings,
                     "pii", pii, "pii_output", pii_output, "terms", terms, "allowed_networks", nets,
                     "unscanned_content", unscanned_names[p->unscanned], "project_rpm",
                     (json_int_t)p->project_rpm, "project_tpm", (json_int_t)p->project_tpm,
                     "key_rpm", (json_int_t)p->key_rpm, "key_tpm", (json_int_t)p->key_tpm,
                     "retention_days", p->retention_days);
}

static enum ksm_err load(struct ksm_db *db, const char *project, struct ksm_ai_policy *out)
{
    char why[KSM_AI_WHY];
    struct ksm_ai_policy def;
    ksm_ai_policy_defaults(&def);
    *out = def;
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT policy FROM ai_policies WHERE project_id=?1");
    ksm_db_bind_text(st, 1, project);
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
    if (rc == SQLITE_ROW) {
        json_t *o = json_loads(ksm_db_col_text(st, 0), 0, NULL);
        e = o ? ksm_ai_policy_merge(&def, o, out, why) : KSM_E_INTERNAL;
        json_decref(o);
    }
    sqlite3_reset(st);
    return e == KSM_E_OK ? e : KSM_E_INTERNAL;
}

enum ksm_err ksm_ai_policy_get(struct ksm_db *db, const char *project, struct ksm_ai_policy *out)
{
    enum ksm_err e;
    if (!project)
        return KSM_E_NOT_FOUND;
    if (ksm_ai__memo_policy(project, out, &e))
        return e;
    uint64_t gen = ksm_ai__generation();
    e = load(db, project, out);
    if (e == KSM_E_OK)
        ksm_ai__memo_policy_put(project, gen, e, out);
    return e;
}

enum ksm_err ksm_ai_policy_put(struct ksm_db *db, const char *tenant, const char *project,
                               const struct ksm_ai_policy *p)
{
    enum ksm_err e = ksm_ai__begin(db);
    if (e != KSM_E_OK)
        return e;
    json_t *o = ksm_ai_policy_json(p);
    sqlite3_stmt *st =
        ksm_db_prepare(db, "INSERT INTO ai_policies(project_id, tenant_id, policy, updated_at) "
                           "VALUES(?1,?2,?3,?4) ON CONFLICT(project_id) DO UPDATE SET "
                           "policy=excluded.policy, "
                           "updated_at=excluded.updated_at");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, tenant);
    sqlite3_bind_text(st, 3, json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS), -1, free);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    json_decref(o);
    e = ksm_ai__step_write(db, st);
    return ksm_ai__end(db, e);
}
