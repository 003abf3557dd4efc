/* ai_routes_store.c — model routes: a project's alias ("gpt-4o-mini") → an
 * ordered list of upstream targets. Validation is where residency is decided at
 * write time (SPEC.md O4, B2): in govcloud a target outside Japan is accepted
 * only when its base_url is under one of the operator's overseas_allow
 * prefixes; the gateway checks again at call time (ksm_ai_target_allowed),
 * since the list may have shrunk since. credential_ref names a file the gateway
 * reads; this file never opens it, and the API returns the path as given, never
 * a secret. Targets are stored as the JSON the API shows, and read back through
 * the same parser, so there is one description of a target. */
#include "ai/ai_store_int.h"
#include "ai/ai_health.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/util.h"

static const struct {
    const char *name;
    enum ksm_ai_proto provider;
} providers[] = {{"openai", KSM_AI_OPENAI}, {"anthropic", KSM_AI_ANTHROPIC}};

/* ISO 3166-1 alpha-2, from Debian's iso-codes (iso_3166-1.json), in order. */
static const char iso3166[] = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBI"
                              "BJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCHCICKCLCMCN"
                              "COCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFK"
                              "FMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHM"
                              "HNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKN"
                              "KPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMK"
                              "MLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONP"
                              "NRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURW"
                              "SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTF"
                              "TGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVI"
                              "VNVUWFWSYEYTZAZMZW";

static bool country_ok(const char *c)
{
    if (strlen(c) != 2)
        return false;
    for (const char *p = iso3166; *p; p += 2)
        if (p[0] == c[0] && p[1] == c[1])
            return true;
    return false;
}

static const char *provider_name(enum ksm_ai_proto p)
{
    for (size_t i = 0; i < KSM_NELEM(providers); i++)
        if (providers[i].provider == p)
            return providers[i].name;
    return "unknown";
}

void ksm_ai_rules_from_conf(const struct ksm_conf *c, struct ksm_ai_rules *out)
{
    memset(out, 0, sizeof *out);
    out->govcloud = c->env_kind == KSM_ENV_GOVCLOUD;
    for (int i = 0; i < c->ai_overseas_allow_n && i < KSM_AI_MAX_ALLOW; i++)
        out->overseas_allow[out->noverseas++] = c->ai_overseas_allow[i];
}

/* "https://x.example/v1" is under "https://x.example" and "https://x.example/",
 * not under "https://x.ex": a prefix must end at a path boundary, or a
 * look-alike host would pass. */
static bool under(const char *url, const char *prefix)
{
    size_t n = strlen(prefix);
    if (!n || strncmp(url, prefix, n))
        return false;
    return prefix[n - 1] == '/' || url[n] == '\0' || url[n] == '/';
}

bool ksm_ai_target_allowed(const struct ksm_ai_rules *rules, const struct ksm_ai_target *t)
{
    if (!rules || !rules->govcloud || !strcmp(t->jurisdiction, "JP"))
        return true;
    for (int i = 0; i < rules->noverseas; i++)
        if (under(t->base_url, rules->overseas_allow[i]))
            return true;
    return false;
}

const char *ksm_ai_url_host(const char *url, char *buf, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t len = strcspn(p, "/?#");
    if (len >= n)
        len = n - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

static bool url_ok(const char *u)
{
    const char *rest = !strncmp(u, "https://", 8)  ? u + 8
                       : !strncmp(u, "http://", 7) ? u + 7
                                                   : NULL;
    if (!rest || !*rest || *rest == '/' || !ksm_ai__text_ok(u, 511))
        return false;
    return !strpbrk(u, " ?#\\"); /* the gateway appends paths; a query or fragment
                                    would eat them */
}

/* An absolute path without "." or ".." segments: the operator's file, named
 * unambiguously. */
static bool path_ok(const char *p)
{
    if (p[0] != '/' || !ksm_ai__text_ok(p, 255))
        return false;
    for (const char *s = p; (s = strchr(s, '/')) != NULL; s++)
        if ((s[1] == '.' && (s[2] == '/' || !s[2])) ||
            (s[1] == '.' && s[2] == '.' && (s[3] == '/' || !s[3])))
            return false;
    return true;
}

static enum ksm_err bad(char *why, const char *where, const char *what)
{
    snprintf(why, KSM_AI_WHY, "%s: %s", where, what);
    return KSM_E_INVALID_ARGUMENT;
}

static enum ksm_err target_strings(const char *where, const char *provider, const char *url,
                                   const char *model, const char *cred, const char *jur,
                                   struct ksm_ai_target *t, char *why)
{
    size_t i = 0;
    while (i < KSM_NELEM(providers) && strcmp(providers[i].name, provider))
        i++;
    if (i == KSM_NELEM(providers))
        return bad(why, where, "provider must be \"openai\" or \"anthropic\"");
    t->provider = providers[i].provider;
    if (!url_ok(url))
        return bad(why, where, "base_url must be an http:// or https:// URL without query");
    if (model && !ksm_ai__upstream_model_ok(model))
        return bad(why, where, "model must be 1..127 printable ASCII characters without quotes");
    if (cred && !path_ok(cred))
        return bad(why, where, "credential_ref must be an absolute file path (no . or ..)");
    if (strcmp(jur, "JP") && !country_ok(jur))
        return bad(why, where, "jurisdiction must be \"JP\" or an ISO 3166-1 alpha-2 code");
    ksm_fmt_copy(t->base_url, sizeof t->base_url, url);
    ksm_fmt_copy(t->model, sizeof t->model, model);
    ksm_fmt_copy(t->credential_ref, sizeof t->credential_ref, cred);
    ksm_fmt_copy(t->jurisdiction, sizeof t->jurisdiction, jur);
    return KSM_E_OK;
}

static enum ksm_err parse_target(json_t *o, int idx, const struct ksm_ai_rules *rules,
                                 struct ksm_ai_target *t, char *why)
{
    const char *provider = NULL, *url = NULL, *model = NULL, *cred = NULL, *jur = NULL;
    const char *dep = NULL, *ver = NULL;
    json_t *health = NULL;
    int64_t weight = 1, timeout = 60000, max_concurrent = 0;
    char where[32];
    snprintf(where, sizeof where, "targets[%d]", idx);
    const struct ksm_ai__jf spec[] = {
        {"provider", KSM_AI_J_STR, true, &provider, NULL},
        {"base_url", KSM_AI_J_STR, true, &url, NULL},
        {"model", KSM_AI_J_STR, false, &model, NULL},
        {"credential_ref", KSM_AI_J_STR, false, &cred, NULL},
        {"jurisdiction", KSM_AI_J_STR, true, &jur, NULL},
        {"weight", KSM_AI_J_INT, false, &weight, NULL},
        {"timeout_ms", KSM_AI_J_INT, false, &timeout, NULL},
        {"max_concurrent", KSM_AI_J_INT, false, &max_concurrent, NULL},
        {"azure_deployment", KSM_AI_J_STR, false, &dep, NULL},
        {"azure_api_version", KSM_AI_J_STR, false, &ver, NULL},
        /* read-only: what a GET shows of the target now; a GET-modify-PATCH sends it back */
        {"health", KSM_AI_J_OBJ, false, &health, NULL},
    };
    memset(t, 0, sizeof *t);
    enum ksm_err e = ksm_ai__fields(o, where, spec, KSM_NELEM(spec), why);
    if (e == KSM_E_OK)
        e = target_strings(where, provider, url, model, cred, jur, t, why);
    if (e != KSM_E_OK)
        return e;
    if (weight < 1 || weight > 1000)
        return bad(why, where, "weight must be 1..1000");
    if (timeout < 100 || timeout > 600000)
        return bad(why, where, "timeout_ms must be 100..600000");
    if (max_concurrent < 0 || max_concurrent > 100000)
        return bad(why, where, "max_concurrent must be 0..100000 (0: no limit)");
    if ((dep && !ksm_ai__name_ok(dep)) || (ver && !ksm_ai__name_ok(ver)) ||
        (ver && strlen(ver) >= sizeof t->azure_api_version))
        return bad(why, where, "azure_deployment / azure_api_version: a name of A-Z a-z 0-9 . _ -");
    t->weight = (int)weight;
    t->timeout_ms = (int)timeout;
    t->max_concurrent = (int)max_concurrent;
    ksm_fmt_copy(t->azure_deployment, sizeof t->azure_deployment, dep);
    ksm_fmt_copy(t->azure_api_version, sizeof t->azure_api_version, ver);
    if (!ksm_ai_target_allowed(rules, t)) {
        if (rules->refused_abroad)
            *rules->refused_abroad = true;
        snprintf(why, KSM_AI_WHY,
                 "%s: jurisdiction %s is outside Japan and base_url is not under "
                 "an entry of the "
                 "operator's overseas allow-list ([ai] overseas_allow, "
                 "--overseas-allow)",
                 where, t->jurisdiction);
        return KSM_E_INVALID_ARGUMENT;
    }
    return KSM_E_OK;
}

static enum ksm_err parse_targets(json_t *arr, const struct ksm_ai_rules *rules,
                                  struct ksm_ai_route *out, char *why)
{
    size_t n = json_array_size(arr);
    if (n < 1 || n > KSM_AI_MAX_TARGETS) {
        snprintf(why, KSM_AI_WHY, "targets must hold 1..%d targets", KSM_AI_MAX_TARGETS);
        return KSM_E_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        enum ksm_err e = parse_target(json_array_get(arr, i), (int)i, rules, &out->targets[i], why);
        if (e != KSM_E_OK)
            return e;
    }
    out->ntargets = (int)n;
    return KSM_E_OK;
}

enum ksm_err ksm_ai_route_parse(json_t *body, bool partial, const struct ksm_ai_rules *rules,
                                struct ksm_ai_route *out, bool *has_alias, bool *has_targets,
                                char *why)
{
    const char *alias = NULL;
    json_t *targets = NULL;
    const struct ksm_ai__jf spec[] = {
        {"alias", KSM_AI_J_STR, !partial, &alias, has_alias},
        {"targets", KSM_AI_J_ARR, !partial, &targets, has_targets},
    };
    enum ksm_err e = ksm_ai__fields(body, "", spec, KSM_NELEM(spec), why);
    if (e != KSM_E_OK)
        return e;
    if (partial && !alias && !targets) {
        snprintf(why, KSM_AI_WHY, "nothing to update: give alias or targets");
        return KSM_E_INVALID_ARGUMENT;
    }
    if (alias && !ksm_ai__name_ok(alias)) {
        snprintf(why, KSM_AI_WHY, "alias must be 1..127 of A-Z a-z 0-9 . _ : @ / + -");
        return KSM_E_INVALID_ARGUMENT;
    }
    if (alias)
        ksm_fmt_copy(out->alias, sizeof out->alias, alias);
    return targets ? parse_targets(targets, rules, out, why) : KSM_E_OK;
}

static json_t *target_json(const struct ksm_ai_target *t)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i}", "provider", provider_name(t->provider),
                          "base_url", t->base_url, "jurisdiction", t->jurisdiction, "weight",
                          t->weight, "timeout_ms", t->timeout_ms);
    static const struct {
        const char *name;
        size_t off;
    } opt[] = {
        {"model", offsetof(struct ksm_ai_target, model)},
        {"credential_ref", offsetof(struct ksm_ai_target, credential_ref)},
        {"azure_deployment", offsetof(struct ksm_ai_target, azure_deployment)},
        {"azure_api_version", offsetof(struct ksm_ai_target, azure_api_version)},
    };
    for (size_t i = 0; i < KSM_NELEM(opt); i++) {
        const char *v = (const char *)t + opt[i].off;
        if (*v)
            json_object_set_new(o, opt[i].name, json_string(v));
    }
    if (t->max_concurrent > 0)
        json_object_set_new(o, "max_concurrent", json_integer(t->max_concurrent));
    return o;
}

static json_t *targets_json(const struct ksm_ai_route *rt)
{
    json_t *a = json_array();
    for (int i = 0; i < rt->ntargets; i++)
        json_array_append_new(a, target_json(&rt->targets[i]));
    return a;
}

json_t *ksm_ai_route_json(const struct ksm_ai_route *rt)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", rt->id, "tenant", rt->tenant, "project",
                     rt->project, "alias", rt->alias, "targets", targets_json(rt));
}

#define ROUTE_COLS "id, tenant_id, project_id, alias, targets, created_at, updated_at"

/* A stored row → the struct. Stored targets passed validation when written;
 * rules are not re-applied here (the gateway does, at call time). */
static enum ksm_err row_route(sqlite3_stmt *st, struct ksm_ai_route *rt)
{
    char why[KSM_AI_WHY];
    memset(rt, 0, sizeof *rt);
    ksm_fmt_copy(rt->id, sizeof rt->id, ksm_db_col_text(st, 0));
    ksm_fmt_copy(rt->tenant, sizeof rt->tenant, ksm_db_col_text(st, 1));
    ksm_fmt_copy(rt->project, sizeof rt->project, ksm_db_col_text(st, 2));
    ksm_fmt_copy(rt->alias, sizeof rt->alias, ksm_db_col_text(st, 3));
    json_t *targets = json_loads(ksm_db_col_text(st, 4), 0, NULL);
    enum ksm_err e = targets ? parse_targets(targets, NULL, rt, why) : KSM_E_INTERNAL;
    json_decref(targets);
    for (int i = 0; e == KSM_E_OK && i < rt->ntargets; i++)   /* once here, not per request */
        rt->targets[i].health_key = ksm_ai_health_key(rt->tenant, &rt->targets[i]);
    return e == KSM_E_OK ? e : KSM_E_INTERNAL;
}

static json_t *row_json(sqlite3_stmt *st)
{
    struct ksm_ai_route rt;
    if (row_route(st, &rt) != KSM_E_OK)
        return NULL;
    json_t *o = ksm_ai_route_json(&rt);
    json_t *targets = json_object_get(o, "targets");
    for (int i = 0; i < rt.ntargets; i++)   /* now, not stored: how each target has been answering */
        json_object_set_new(json_array_get(targets, (size_t)i), "health",
                            ksm_ai_health_json(rt.targets[i].health_key, rt.ntargets == 1));
    json_object_set_new(o, "created_at", ksm_ai__time_json(sqlite3_column_int64(st, 5)));
    json_object_set_new(o, "updated_at", ksm_ai__time_json(sqlite3_column_int64(st, 6)));
    return o;
}

enum ksm_err ksm_ai_route_get(struct ksm_db *db, const char *id, json_t **out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " ROUTE_COLS " FROM ai_routes WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_ROW    ? KSM_E_OK
                     : rc == SQLITE_DONE ? KSM_E_NOT_FOUND
                                         : KSM_E_INTERNAL;
    if (e == KSM_E_OK && !(*out = row_json(st)))
        e = KSM_E_INTERNAL;
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_ai_route_owner(struct ksm_db *db, const char *id, char *tenant, char *project)
{
    tenant[0] = project[0] = '\0';
    if (!ksm_ai__id_ok(id, "mr"))
        return KSM_E_NOT_FOUND;
    sqlite3_stmt *st =
        ksm_db_prepare(db, "SELECT tenant_id, project_id FROM ai_routes WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ksm_fmt_copy(tenant, KSM_AI_ID, ksm_db_col_text(st, 0));
        ksm_fmt_copy(project, KSM_AI_ID, ksm_db_col_text(st, 1));
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? KSM_E_OK : rc == SQLITE_DONE ? KSM_E_NOT_FOUND : KSM_E_INTERNAL;
}

static enum ksm_err insert(struct ksm_db *db, const struct ksm_ai_route *rt)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "INSERT INTO ai_routes(" ROUTE_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?6)");
    json_t *ta = targets_json(rt);
    char *targets = json_dumps(ta, JSON_COMPACT);
    json_decref(ta);
    sqlite3_bind_text(st, 1, rt->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rt->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rt->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, rt->alias, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, targets, -1, free);
    sqlite3_bind_int64(st, 6, ksm_now_ms());
    return ksm_ai__step_write(db, st);
}

enum ksm_err ksm_ai_route_create(struct ksm_db *db, const char *tenant, const char *project,
                                 json_t *body, const struct ksm_ai_rules *rules, json_t **out,
                                 char *why)
{
    struct ksm_ai_route rt;
    memset(&rt, 0, sizeof rt);
    enum ksm_err e = ksm_ai_route_parse(body, false, rules, &rt, NULL, NULL, why);
    if (e != KSM_E_OK)
        return e;
    ksm_id_new("mr", rt.id);
    ksm_fmt_copy(rt.tenant, sizeof rt.tenant, tenant);
    ksm_fmt_copy(rt.project, sizeof rt.project, project);
    if ((e = ksm_ai__begin(db)) != KSM_E_OK)
        return e;
    e = insert(db, &rt);
    if (e == KSM_E_ALREADY_EXISTS)
        snprintf(why, KSM_AI_WHY, "the project already has a model route with alias \"%s\"",
                 rt.alias);
    if (e == KSM_E_OK)
        e = ksm_ai_route_get(db, rt.id, out);
    return ksm_ai__end(db, e);
}

static enum ksm_err load(struct ksm_db *db, const char *id, struct ksm_ai_route *rt)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " ROUTE_COLS " FROM ai_routes WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_ROW    ? row_route(st, rt)
                     : rc == SQLITE_DONE ? KSM_E_NOT_FOUND
                                         : KSM_E_INTERNAL;
    sqlite3_reset(st);
    return e;
}

static enum ksm_err rewrite(struct ksm_db *db, const struct ksm_ai_route *rt)
{
    sqlite3_stmt *st =
        ksm_db_prepare(db, "UPDATE ai_routes SET alias=?2, targets=?3, updated_at=?4 WHERE id=?1");
    json_t *ta = targets_json(rt);
    sqlite3_bind_text(st, 1, rt->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rt->alias, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, json_dumps(ta, JSON_COMPACT), -1, free);
    sqlite3_bind_int64(st, 4, ksm_now_ms());
    json_decref(ta);
    return ksm_ai__step_write(db, st);
}

enum ksm_err ksm_ai_route_update(struct ksm_db *db, const char *id, json_t *body,
                                 const struct ksm_ai_rules *rules, json_t **out, char *why)
{
    struct ksm_ai_route rt, patch;
    bool has_alias = false, has_targets = false;
    memset(&patch, 0, sizeof patch);
    enum ksm_err e = ksm_ai_route_parse(body, true, rules, &patch, &has_alias, &has_targets, why);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_ai__begin(db)) != KSM_E_OK)
        return e;
    if ((e = load(db, id, &rt)) != KSM_E_OK)
        goto fail;
    if (has_alias)
        memcpy(rt.alias, patch.alias, sizeof rt.alias);
    if (has_targets) {
        rt.ntargets = patch.ntargets;
        memcpy(rt.targets, patch.targets, sizeof rt.targets);
    }
    e = rewrite(db, &rt);
    if (e == KSM_E_ALREADY_EXISTS)
        snprintf(why, KSM_AI_WHY, "the project already has a model route with alias \"%s\"",
                 rt.alias);
    if (e == KSM_E_OK)
        e = ksm_ai_route_get(db, id, out);
fail:
    return ksm_ai__end(db, e);
}

enum ksm_err ksm_ai_route_delete(struct ksm_db *db, const char *id)
{
    enum ksm_err e = ksm_ai__begin(db);
    if (e != KSM_E_OK)
        return e;
    sqlite3_stmt *st = ksm_db_prepare(db, "DELETE FROM ai_routes WHERE id=?1");
    ksm_db_bind_text(st, 1, id);
    e = ksm_ai__step_write(db, st);
    if (e == KSM_E_OK && sqlite3_changes(db->h) == 0)
        e = KSM_E_NOT_FOUND;
    return ksm_ai__end(db, e);
}

enum ksm_err ksm_ai_route_list(struct ksm_db *db, const char *project, const char *after, int limit,
                               json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " ROUTE_COLS " FROM ai_routes WHERE "
                                          "project_id=?1 AND id>?2 ORDER BY id LIMIT ?3");
    ksm_db_bind_text(st, 1, project);
    sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    int rc;
    enum ksm_err e = KSM_E_OK;
    while (e == KSM_E_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = row_json(st);
        if (!o)
            e = KSM_E_INTERNAL;
        json_array_append_new(items, o);
    }
    if (e == KSM_E_OK && rc != SQLITE_DONE)
        e = KSM_E_INTERNAL;
    sqlite3_reset(st);
    return e;
}

static enum ksm_err find_db(struct ksm_db *db, const char *project, const char *alias,
                            struct ksm_ai_route *out)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT " ROUTE_COLS " FROM ai_routes WHERE "
                                          "project_id=?1 AND alias=?2");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, alias);
    int rc = sqlite3_step(st);
    enum ksm_err e = rc == SQLITE_ROW    ? row_route(st, out)
                     : rc == SQLITE_DONE ? KSM_E_NOT_FOUND
                                         : KSM_E_INTERNAL;
    sqlite3_reset(st);
    return e;
}

enum ksm_err ksm_ai_route_find(struct ksm_db *db, const char *project, const char *alias,
                               struct ksm_ai_route *out)
{
    enum ksm_err e;
    if (!project || !alias)
        return KSM_E_NOT_FOUND;
    if (ksm_ai__memo_route(project, alias, out, &e))
        return e;
    uint64_t gen = ksm_ai__generation(); /* read before: a write meanwhile invalidates */
    e = find_db(db, project, alias, out);
    if (e != KSM_E_INTERNAL)
        ksm_ai__memo_route_put(project, alias, gen, e, out);
    return e;
}

enum ksm_err ksm_ai_route_models(struct ksm_db *db, const char *project, const char *alias,
                                 json_t *items)
{
    sqlite3_stmt *st = ksm_db_prepare(db, "SELECT alias, created_at FROM ai_routes WHERE "
                                          "project_id=?1 AND (?2 IS NULL OR alias=?2) ORDER BY alias");
    ksm_db_bind_text(st, 1, project);
    ksm_db_bind_text(st, 2, alias);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, json_pack("{s:s,s:I}", "id", ksm_db_col_text(st, 0), "created_ms",
                                               (json_int_t)sqlite3_column_int64(st, 1)));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? KSM_E_OK : KSM_E_INTERNAL;
}
