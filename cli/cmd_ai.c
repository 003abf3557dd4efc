/* cmd_ai.c — `kasumi model-route|model-price|budget|ai-policy ...`: the AI
 * gateway's configuration (docs/ai-admin.md). Amounts of yen go to the API as
 * the decimal text the user typed ("0.15"), never through a double; the daemon
 * parses them to micro-yen. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/json_keys.h"
#include "core/util.h"

/* the handlers are declared beside their rows in commands.c */

/* A route's targets in the order tried, column by column: the servers, their models, their health. */
static const struct kc_col route_cols[] = {
    {"ID", "id"},
    {"PROJECT", "project"},
    {"ALIAS", "alias"},
    {"TARGETS", "targets[].base_url"},
    {"MODELS", "targets[].model"},
    {"STATE", "targets[].health.state"},
    KC_COLS_END,
};
static const struct kc_col price_cols[] = {
    {"ID", "id"},
    {"MODEL", "model"},
    {"PROMPT/1K", "prompt_per_1k"},
    {"COMPLETION/1K", "completion_per_1k"},
    {"CACHED/1K", "cached_per_1k"},
    {"EFFECTIVE FROM", "effective_from"},
    KC_COLS_END,
};

/* A whole number flag into obj[key]; -1 after a usage message when it is not
 * one. */
static int set_bool(struct kc_ctx *c, json_t *obj, const char *key, const char *flag,
                    const char *val)
{
    if (!val)
        return 0;
    if (strcmp(val, "true") && strcmp(val, "false")) {
        kc_usage_err(c->cmd, "--%s must be true or false", flag);
        return -1;
    }
    json_object_set_new(obj, key, json_boolean(!strcmp(val, "true")));
    return 0;
}

/* The target described by the flags of create/add-target. NULL after a usage
 * message. */
static json_t *target_from_flags(struct kc_ctx *c, const struct kc_args *a)
{
    static const char *const strs[][2] = {
        {"provider", "provider"},
        {"base-url", "base_url"},
        {"jurisdiction", "jurisdiction"},
        {"model", "model"},
        {"credential-ref", "credential_ref"},
        {"azure-deployment", "azure_deployment"},
        {"azure-api-version", "azure_api_version"},
    };
    json_t *t = json_object();
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        kc_json_set(t, strs[i][1], kc_flag(a, strs[i][0]));
    if (kc_json_set_int(c, t, "weight", "weight", kc_flag(a, "weight")) ||
        kc_json_set_int(c, t, "timeout_ms", "timeout-ms", kc_flag(a, "timeout-ms")) ||
        kc_json_set_int(c, t, "max_concurrent", "max-concurrent", kc_flag(a, "max-concurrent"))) {
        json_decref(t);
        return NULL;
    }
    return t;
}

/* tmpl ("/admin/v1/projects/{}/...") at the --project flag's project; malloc'd. */
static char *project_path(struct kc_ctx *c, const struct kc_args *a, const char *tmpl)
{
    return kc_url_path(c, tmpl, kc_flag(a, "project"));
}

int kc_ai_route_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *t = target_from_flags(c, a);
    if (!t)
        return KC_EXIT_USAGE;
    json_t *body = json_pack("{s:s,s:[o]}", "alias", kc_flag(a, "alias"), "targets", t);
    return kc_call_at(c, "POST", project_path(c, a, "/admin/v1/projects/{}/model-routes"), body,
                      route_cols);
}

/* GET the route, append a target, PATCH the targets back. */
int kc_ai_route_add_target(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *t = target_from_flags(c, a), *route = NULL;
    if (!t)
        return KC_EXIT_USAGE;
    char *path = kc_url_path(c, "/admin/v1/model-routes/{}", a->pos[0]);
    int rc = kc_api(c, "GET", path, NULL, NULL, &route);
    json_t *targets = route ? json_object_get(route, "targets") : NULL;
    if (!rc && !json_is_array(targets)) {
        kc_err("the route has no targets array");
        rc = KC_EXIT_API;
    }
    if (rc) {
        json_decref(t);
        goto out;
    }
    json_array_append_new(targets, t);
    rc = kc_call(c, "PATCH", path, NULL, json_pack("{s:O}", "targets", targets), route_cols, NULL);
out:
    json_decref(route);
    free(path);
    return rc;
}

int kc_ai_route_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    char *path = project_path(c, a, "/admin/v1/projects/{}/model-routes");
    int rc = kc_list_paged(c, a, path, &q, route_cols);
    free(path);
    return rc;
}

static int on_route(struct kc_ctx *c, const char *method, const char *id, const char *done)
{
    char *path = kc_url_path(c, "/admin/v1/model-routes/{}", id);
    int rc = kc_call(c, method, path, NULL, NULL, route_cols, done);
    free(path);
    return rc;
}

int kc_ai_route_get(struct kc_ctx *c, const struct kc_args *a)
{
    return on_route(c, "GET", a->pos[0], NULL);
}

int kc_ai_route_delete(struct kc_ctx *c, const struct kc_args *a)
{
    return on_route(c, "DELETE", a->pos[0], "deleted");
}

int kc_ai_price_set(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "model", kc_flag(a, "model"));
    kc_json_set(body, "prompt_per_1k", kc_flag(a, "prompt-per-1k"));
    kc_json_set(body, "completion_per_1k", kc_flag(a, "completion-per-1k"));
    kc_json_set(body, "cached_per_1k", kc_flag(a, "cached-per-1k"));
    kc_json_set(body, "effective_from", kc_flag(a, "effective-from"));
    return kc_call(c, "POST", "/admin/v1/model-prices", NULL, body, price_cols, NULL);
}

int kc_ai_price_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "model", kc_flag(a, "model"));
    return kc_list_paged(c, a, "/admin/v1/model-prices", &q, price_cols);
}

/* The project's budget, or with --key that key's own budget in the project. */
static char *budget_path(struct kc_ctx *c, const struct kc_args *a)
{
    const char *key = kc_flag(a, "key");
    return key ? kc_url_path(c, "/admin/v1/projects/{}/keys/{}/budget", kc_flag(a, "project"), key)
               : project_path(c, a, "/admin/v1/projects/{}/budget");
}

int kc_ai_budget_set(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    const char *alerts = kc_flag(a, "alert-thresholds");
    json_t *list = alerts ? kc_split_list(c, "alert-thresholds", alerts, true) : NULL;
    if (kc_json_set_int(c, body, "monthly_yen", "monthly-yen", kc_flag(a, "monthly-yen")) ||
        (alerts && !list)) {
        json_decref(body);
        return KC_EXIT_USAGE;
    }
    if (list)
        json_object_set_new(body, "alert_thresholds", list);
    return kc_call_at(c, "PUT", budget_path(c, a), body, NULL);
}

int kc_ai_budget_get(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "GET", budget_path(c, a), NULL, NULL);
}

int kc_ai_budget_remove(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "DELETE", budget_path(c, a), NULL, NULL);
}

static const struct kc_col key_budget_cols[] = {
    {"KEY", "key"},
    {"NAME", "name"},
    {"USER", "user"},
    {"STATUS", "status"},
    {"MONTHLY_YEN", "monthly_yen"},
    {"SPENT_YEN", "spent_yen"},
    {"REQUESTS", "requests"},
    {"TOKENS", "tokens"},
    {"RPM", "rpm"},
    {"TPM", "tpm"},
    KC_COLS_END,
};

int kc_ai_budget_keys(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "GET", project_path(c, a, "/admin/v1/projects/{}/key-budgets"), NULL,
                      key_budget_cols);
}

/* ---- where the requests' content went (GET /admin/v1/ai/destinations) -------------------------- */

static const struct kc_col destination_cols[] = {
    {"JURISDICTION", "jurisdiction"},
    {"REQUESTS", "requests"},
    {"CLASS_1", "by_classification.1"},
    {"CLASS_2", "by_classification.2"},
    {"CLASS_3", "by_classification.3"},
    KC_COLS_END,
};

/* A table row of a place: its code, requests and classes. */
static void place_row(json_t *rows, const char *code, json_t *place)
{
    json_array_append_new(rows, json_pack("{s:s,s:O,s:O}", "jurisdiction", code, "requests",
                                          json_object_get(place, "requests"), "by_classification",
                                          json_object_get(place, "by_classification")));
}

/* One row per jurisdiction (Japan first), then the requests sent abroad by classification (no
 * grouping to choose: g is count_cmd's). */
static int print_destinations(struct kc_ctx *c, json_t *o, int g)
{
    (void)g;
    json_t *rows = json_array(), *place;
    const char *j;
    json_t *by = json_object_get(o, "by_jurisdiction");
    if ((place = json_object_get(by, "JP")))
        place_row(rows, "JP", place);
    json_object_foreach(by, j, place)
        if (strcmp(j, "JP"))
            place_row(rows, j, place);
    int rc = kc_print(c, rows, destination_cols);
    json_decref(rows);
    json_t *ab = json_object_get(o, "abroad"), *cls = json_object_get(ab, "by_classification");
    printf("sent %lld, abroad %lld (class 1: %lld, class 2: %lld, class 3: %lld)\n",
           (long long)json_integer_value(json_object_get(json_object_get(o, "total"), "requests")),
           (long long)json_integer_value(json_object_get(ab, "requests")),
           (long long)json_integer_value(json_object_get(cls, "1")),
           (long long)json_integer_value(json_object_get(cls, "2")),
           (long long)json_integer_value(json_object_get(cls, "3")));
    return rc;
}

/* The period of a count: --since/--until, or --fiscal-year N (年度 N: 1 April N to 1 April N+1,
 * 00:00 JST, as the console's AI page). */
static int count_query(struct kc_ctx *c, const struct kc_args *a, struct kc_query *q, char fy[2][32])
{
    const char *y = kc_flag(a, "fiscal-year");
    kc_query_add(q, "tenant", kc_flag(a, "tenant"));
    kc_query_add(q, "project", kc_flag(a, "project"));
    if (!y) {
        kc_query_add(q, "since", kc_flag(a, "since"));
        kc_query_add(q, "until", kc_flag(a, "until"));
        return 0;
    }
    char *end = NULL;
    long n = strtol(y, &end, 10);
    if (kc_flag(a, "since") || kc_flag(a, "until"))
        return kc_usage_err(c->cmd, "give --fiscal-year or --since/--until, not both");
    if (!*y || *end || n < 2000 || n > 2100)
        return kc_usage_err(c->cmd, "--fiscal-year is a year such as 2026 (April 2026 to March 2027)");
    snprintf(fy[0], 32, "%ld-03-31T15:00:00Z", n);   /* 1 April, 00:00 JST */
    snprintf(fy[1], 32, "%ld-03-31T15:00:00Z", n + 1);
    kc_query_add(q, "since", fy[0]);
    kc_query_add(q, "until", fy[1]);
    return 0;
}

/* A count (path) over the period the flags give: printed as JSON, or by print (g: its grouping). */
static int count_cmd(struct kc_ctx *c, const struct kc_args *a, const char *path,
                     int (*print)(struct kc_ctx *, json_t *, int), int g)
{
    struct kc_query q = {0};
    char fy[2][32];
    int rc = count_query(c, a, &q, fy);
    json_t *o = NULL;
    if (rc || (rc = kc_api(c, "GET", path, &q, NULL, &o)))
        return rc;
    rc = c->output == KC_OUT_JSON ? kc_print(c, o, NULL) : print(c, o, g);
    json_decref(o);
    return rc;
}

int kc_ai_destinations(struct kc_ctx *c, const struct kc_args *a)
{
    return count_cmd(c, a, "/admin/v1/ai/destinations", print_destinations, 0);
}

/* ---- what the gateway decided (GET /admin/v1/ai/decisions) ------------------------------------- */

static const struct kc_col decision_cols[] = {
    {"GROUP", "group"},
    {"REQUESTS", "requests"},
    {"PASS", "pass"},
    {"MASK", "mask"},
    {"BLOCK", "block"},
    {"REFUSE", "refuse"},
    KC_COLS_END,
};

/* --by's groups: the answer's member for each */
static const struct {
    const char *by, *member, *header;
} decision_groups[] = {
    {"classification", "by_classification", "CLASS"},
    {"model", "by_model", "MODEL"},
    {"project", "by_project", "PROJECT"},
    {"user", "by_principal", "USER"},
};

/* A row per group, in the order of its name, then the totals. */
static int print_decisions(struct kc_ctx *c, json_t *o, int g)
{
    json_t *rows = json_array(), *group = json_object_get(o, decision_groups[g].member);
    size_t n;
    const char **names = ksm_json_sorted_keys(group, &n);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_deep_copy(json_object_get(group, names[i]));
        json_object_set_new(row, "group", json_string(names[i]));
        json_array_append_new(rows, row);
    }
    free(names);
    struct kc_col cols[KSM_NELEM(decision_cols)];
    memcpy(cols, decision_cols, sizeof cols);
    cols[0].title = decision_groups[g].header;
    int rc = kc_print(c, rows, cols);
    json_decref(rows);
    json_t *t = json_object_get(o, "total");
    printf("requests %lld: pass %lld, mask %lld, block %lld, refuse %lld; content sent unread %lld\n",
           (long long)json_integer_value(json_object_get(t, "requests")),
           (long long)json_integer_value(json_object_get(t, "pass")),
           (long long)json_integer_value(json_object_get(t, "mask")),
           (long long)json_integer_value(json_object_get(t, "block")),
           (long long)json_integer_value(json_object_get(t, "refuse")),
           (long long)json_integer_value(json_object_get(o, "unscanned")));
    return rc;
}

int kc_ai_decisions(struct kc_ctx *c, const struct kc_args *a)
{
    const char *by = kc_flag(a, "by");
    int g = 0;
    if (by) {
        for (g = 0; g < (int)KSM_NELEM(decision_groups) && strcmp(by, decision_groups[g].by); g++)
            ;
        if (g == (int)KSM_NELEM(decision_groups))
            return kc_usage_err(c->cmd, "--by is classification, model, project or user");
    }
    return count_cmd(c, a, "/admin/v1/ai/decisions", print_decisions, g);
}

int kc_ai_policy_get(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "GET", project_path(c, a, "/admin/v1/projects/{}/ai-policy"), NULL, NULL);
}

/* What the project's guardrail would do with a text (POST …/ai-policy/check): the text from --text,
 * or from --text-file (a file, "-" for stdin: a sample holding personal data need not go into the
 * shell's history). Nothing is sent to a model or kept. */
int kc_ai_policy_check(struct kc_ctx *c, const struct kc_args *a)
{
    const char *text = kc_flag(a, "text"), *file = kc_flag(a, "text-file");
    char *read = NULL;
    size_t n = 0;
    if (!text == !file) {
        kc_usage_err(c->cmd, "give the text with --text or --text-file (one of them)");
        return KC_EXIT_USAGE;
    }
    if (file && !(read = ksm_read_file(strcmp(file, "-") ? file : "/dev/stdin", &n))) {
        kc_usage_err(c->cmd, "cannot read %s: %s", file, strerror(errno));
        return KC_EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s%}", "text", text ? text : read, text ? strlen(text) : n);
    free(read);
    if (!body) {
        kc_usage_err(c->cmd, "the text must be UTF-8");
        return KC_EXIT_USAGE;
    }
    if (kc_json_set_int(c, body, "classification", "classification", kc_flag(a, "classification")) ||
        set_bool(c, body, "overseas", "overseas", kc_flag(a, "overseas"))) {
        json_decref(body);
        return KC_EXIT_USAGE;
    }
    return kc_call_at(c, "POST", project_path(c, a, "/admin/v1/projects/{}/ai-policy/check"), body,
                      NULL);
}

/* A flag's "NAME=ACTION,NAME=ACTION" (split at each name's last '='), each pair added to into by
 * put; false (usage told) when a pair is not that. The daemon validates names and actions. */
static bool pairs(struct kc_ctx *c, const char *s, const char *usage, json_t *into,
                  void (*put)(json_t *into, const char *name, const char *action))
{
    char *copy = strdup(s), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            free(copy);
            kc_usage_err(c->cmd, "%s", usage);
            return false;
        }
        *eq = '\0';
        put(into, item, eq + 1);
    }
    free(copy);
    return true;
}

/* --pii "mynumber=block,email=allow" → {"mynumber":"block","email":"allow"} */
static void put_pii(json_t *o, const char *kind, const char *action)
{
    json_object_set_new(o, kind, json_string(action));
}

/* --terms "Project Kasumi=mask,取扱厳重注意=block" → [{"term":…,"action":…},…]: the project's
 * whole list ("" clears it) */
static void put_term(json_t *a, const char *term, const char *action)
{
    json_array_append_new(a, json_pack("{s:s,s:s}", "term", term, "action", action));
}

int kc_ai_policy_set(struct kc_ctx *c, const struct kc_args *a)
{
    static const char *const ints[][2] = {
        {"default-classification", "default_classification"},
        {"project-rpm", "project_rpm"},
        {"project-tpm", "project_tpm"},
        {"key-rpm", "key_rpm"},
        {"key-tpm", "key_tpm"},
        {"retention-days", "retention_days"},
    };
    static const char *const bools[][2] = {{"class2-overseas", "class2_overseas"},
                                           {"class3-forbidden", "class3_forbidden"},
                                           {"classification-markings", "classification_markings"}};
    json_t *body = json_object();
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (kc_json_set_int(c, body, ints[i][1], ints[i][0], kc_flag(a, ints[i][0])))
            goto usage;
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        if (set_bool(c, body, bools[i][1], bools[i][0], kc_flag(a, bools[i][0])))
            goto usage;
    static const char *const kinds[][3] = {
        {"pii", "pii", "--pii takes KIND=block|mask|allow[,...]"},
        {"pii-output", "pii_output", "--pii-output takes KIND=mask|allow[,...]"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!kc_flag(a, kinds[i][0]))
            continue;
        json_t *pii = json_object();
        json_object_set_new(body, kinds[i][1], pii);
        if (!pairs(c, kc_flag(a, kinds[i][0]), kinds[i][2], pii, put_pii))
            goto usage;
    }
    if (kc_flag(a, "terms")) {
        json_t *terms = json_array();
        json_object_set_new(body, "terms", terms);
        if (!pairs(c, kc_flag(a, "terms"), "--terms takes TERM=mask|block[,...]", terms, put_term))
            goto usage;
    }
    if (kc_flag(a, "unscanned-content"))   /* the daemon checks the value */
        json_object_set_new(body, "unscanned_content", json_string(kc_flag(a, "unscanned-content")));
    if (kc_flag(a, "allowed-networks"))   /* the daemon checks each network */
        json_object_set_new(body, "allowed_networks",
                            kc_split_list(c, "allowed-networks", kc_flag(a, "allowed-networks"), false));
    if (json_object_size(body) == 0) {
        kc_usage_err(c->cmd, "nothing to set");
        goto usage;
    }
    return kc_call_at(c, "PUT", project_path(c, a, "/admin/v1/projects/{}/ai-policy"), body, NULL);
usage:
    json_decref(body);
    return KC_EXIT_USAGE;
}

/* Which of the project's models a key may call: --models a,b (--models '' is none). */
static char *key_models_path(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_url_path(c, "/admin/v1/projects/{}/keys/{}/models", kc_flag(a, "project"),
                       kc_flag(a, "key"));
}

int kc_ai_key_models_set(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *models = kc_split_list(c, "models", kc_flag(a, "models"), false);
    json_t *body = json_pack("{s:o}", "models", models);
    return kc_call_at(c, "PUT", key_models_path(c, a), body, NULL);
}

int kc_ai_key_models_get(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "GET", key_models_path(c, a), NULL, NULL);
}

int kc_ai_key_models_remove(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "DELETE", key_models_path(c, a), NULL, NULL);
}

/* ---- a key's own requests and tokens a minute in a project ---------------------------------------- */

static char *key_rates_path(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_url_path(c, "/admin/v1/projects/{}/keys/{}/rate-limits", kc_flag(a, "project"),
                       kc_flag(a, "key"));
}

/* --rpm N, --tpm N (0: no limit for the key); the one not given follows the project's. */
int kc_ai_key_rates_set(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    if (kc_json_set_int(c, body, "rpm", "rpm", kc_flag(a, "rpm")) ||
        kc_json_set_int(c, body, "tpm", "tpm", kc_flag(a, "tpm"))) {
        json_decref(body);
        return KC_EXIT_USAGE;
    }
    if (!json_object_size(body)) {
        json_decref(body);
        return kc_usage_err(c->cmd, "give --rpm or --tpm (or remove, for the project's again)");
    }
    return kc_call_at(c, "PUT", key_rates_path(c, a), body, NULL);
}

int kc_ai_key_rates_get(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "GET", key_rates_path(c, a), NULL, NULL);
}

int kc_ai_key_rates_remove(struct kc_ctx *c, const struct kc_args *a)
{
    return kc_call_at(c, "DELETE", key_rates_path(c, a), NULL, NULL);
}
