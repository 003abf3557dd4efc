/* cmd_supply.c — `kasumi supply ...`: the supply-chain register (docs/supply.md). Cases, equipment
 * lists (the file goes to the daemon as it is: CSV, XLSX or JSON; every check is the daemon's),
 * the subcontractor chain, the review steps, the concern list and the statistics. A refused
 * import prints every problem, one line each, "row R, column C (header): message". */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "core/util.h"

static const struct kc_col case_cols[] = {
    {"ID", "id"},          {"STATE", "state"},   {"AGENCY", "agency"},
    {"TITLE", "title"},    {"IN_SCOPE", "in_scope"}, {"BID_DUE", "bid_due"}, KC_COLS_END,
};
static const struct kc_col event_cols[] = {
    {"SEQ", "seq"},   {"AT", "at"},     {"ACTOR", "actor"}, {"ACTION", "action"},
    {"FROM", "from"}, {"TO", "to"},     {"DETAIL", "detail"}, KC_COLS_END,
};
static const struct kc_col deadline_cols[] = {
    {"DATE", "date"}, {"DAYS_LEFT", "days_left"}, {"DEADLINE", "label"},
    {"CASE", "case"}, {"TITLE", "title"},         KC_COLS_END,
};
static const struct kc_col concern_cols[] = {
    {"ID", "id"},       {"CORPORATE_NUMBER", "corporate_number"}, {"NAME", "name"},
    {"MODEL", "model_pattern"}, {"REASON", "reason"}, KC_COLS_END,
};
static const struct kc_col match_cols[] = {
    {"SOURCE", "source"}, {"SEQ", "seq"},   {"MAKER", "maker|name"}, {"MODEL", "model"},
    {"CONCERN", "concern"}, {"WHY", "why"}, KC_COLS_END,
};
static const struct kc_col stats_cols[] = {
    {"FISCAL_YEAR", "fiscal_year"}, {"REIWA", "reiwa"}, {"LISTS", "lists_advised"},
    {"ITEMS", "items"}, {"WITH_CONCERN", "lists_with_concern"}, {"CASES", "cases"},
    {"AGENCIES", "agencies"}, KC_COLS_END,
};
static const struct kc_col item_cols[] = {
    {"通番", "seq"}, {"区分", "category"}, {"製造業者名", "maker"},
    {"法人番号", "maker_corporate_number|maker_no_number_reason"}, {"製品名", "product"},
    {"型番", "model"}, KC_COLS_END,
};


static const char *const case_flags[][2] = {
    {"title", "title"},           {"agency", "agency"},
    {"department", "department"}, {"contact-name", "contact_name"},
    {"email", "email"},           {"phone", "phone"},
    {"submission-due", "submission_due"}, {"inspection-due", "inspection_due"},
    {"bid-due", "bid_due"},       {"description", "description"},
};

static json_t *case_body(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    for (size_t i = 0; i < KSM_NELEM(case_flags); i++)
        kc_json_set(body, case_flags[i][1], kc_flag(a, case_flags[i][0]));
    const char *cats = kc_flag(a, "categories"), *crit = kc_flag(a, "criteria");
    json_t *v;
    if (cats)
        json_object_set_new(body, "categories", kc_split_list(c, "categories", cats, false));
    if (crit) {
        if (!(v = kc_split_list(c, "criteria", crit, true))) {
            json_decref(body);
            return NULL;
        }
        json_object_set_new(body, "criteria", v);
    }
    return body;
}

static int call_case(struct kc_ctx *c, const char *method, const char *tmpl, const char *id,
                     json_t *body, const struct kc_col *cols)
{
    char *path = kc_url_path(c, tmpl, id);
    int rc = kc_call(c, method, path, NULL, body, cols, NULL);
    free(path);
    return rc;
}

int kc_supply_case_create(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = case_body(c, a);
    if (!body)
        return KC_EXIT_USAGE;
    return call_case(c, "POST", "/admin/v1/tenants/{}/supply-cases", kc_flag(a, "tenant"), body,
                     case_cols);
}

int kc_supply_case_update(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = case_body(c, a);
    if (!body)
        return KC_EXIT_USAGE;
    return call_case(c, "PATCH", "/admin/v1/supply-cases/{}", a->pos[0], body, case_cols);
}

int kc_supply_case_get(struct kc_ctx *c, const struct kc_args *a)
{
    return call_case(c, "GET", "/admin/v1/supply-cases/{}", a->pos[0], NULL, case_cols);
}

int kc_supply_case_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "state", kc_flag(a, "state"));
    const char *t = kc_flag(a, "tenant");
    char *path = t ? kc_url_path(c, "/admin/v1/tenants/{}/supply-cases", t)
                   : ksm_xstrdup("/admin/v1/supply-cases");
    int rc = kc_list_paged(c, a, path, &q, case_cols);
    free(path);
    return rc;
}

int kc_supply_case_step(struct kc_ctx *c, const struct kc_args *a)
{
    /* the verb's second word is the step: "case submit" → /submit */
    const char *step = strchr(c->cmd->verb, ' ') + 1;
    json_t *body = NULL;
    if (!strcmp(step, "resolve") && kc_flag(a, "measures")) {
        body = json_object();
        kc_json_set(body, "measures", kc_flag(a, "measures"));
    }
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/admin/v1/supply-cases/{}/%s", step);
    return call_case(c, "POST", tmpl, a->pos[0], body, case_cols);
}

int kc_supply_case_advise(struct kc_ctx *c, const struct kc_args *a)
{
    const char *concern = kc_flag(a, "concern");
    bool yes = !strcasecmp(concern, "yes") || !strcasecmp(concern, "true") ||
               !strcmp(concern, "あり");
    bool no = !strcasecmp(concern, "no") || !strcasecmp(concern, "false") ||
              !strcmp(concern, "なし");
    if (!yes && !no)
        return kc_usage_err(c->cmd, "--concern is yes (懸念あり) or no (懸念なし)");
    json_t *body = json_pack("{s:b}", "concern", yes);
    kc_json_set(body, "reason", kc_flag(a, "reason"));
    kc_json_set(body, "alternative", kc_flag(a, "alternative"));
    kc_json_set(body, "mitigation", kc_flag(a, "mitigation"));
    return call_case(c, "POST", "/admin/v1/supply-cases/{}/advice", a->pos[0], body, case_cols);
}

int kc_supply_case_events(struct kc_ctx *c, const struct kc_args *a)
{
    return call_case(c, "GET", "/admin/v1/supply-cases/{}/events", a->pos[0], NULL, event_cols);
}

int kc_supply_case_deadlines(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "within_days", kc_flag(a, "within-days"));
    char *path = kc_url_path(c, "/admin/v1/tenants/{}/supply-deadlines", kc_flag(a, "tenant"));
    int rc = kc_call(c, "GET", path, &q, NULL, deadline_cols, NULL);
    free(path);
    return rc;
}

/* A refused import: the one-line error, then each problem on its own line. */
static int import_errors(const struct kc_http_resp *r)
{
    int rc = kc_api_error(r);
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    json_t *errs = json_object_get(json_object_get(root, "error"), "errors"), *e;
    size_t i;
    json_array_foreach(errs, i, e) {
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *col = json_string_value(json_object_get(e, "column"));
        char *msg = ksm_xstrdup(json_string_value(json_object_get(e, "message")) ?: "");
        kc_scrub(msg);
        if (json_is_integer(json_object_get(e, "row")))
            fprintf(stderr, "  row %lld, column %s%s%s%s: %s\n",
                    (long long)json_integer_value(json_object_get(e, "row")), col && *col ? col : "-",
                    field ? " (" : "", field ? field : "", field ? ")" : "", msg);
        else
            fprintf(stderr, "  %s\n", msg);
        free(msg);
    }
    json_t *n = json_object_get(json_object_get(root, "error"), "error_count");
    if (json_integer_value(n) > (json_int_t)json_array_size(errs))
        fprintf(stderr, "  ... %lld problems in all\n", (long long)json_integer_value(n));
    json_decref(root);
    return rc;
}

static const char *file_format(const char *path, const char *flag, const char *data, size_t n)
{
    if (flag)
        return flag;
    const char *dot = strrchr(path, '.');
    if (dot && !strcasecmp(dot, ".xlsx"))
        return "xlsx";
    if (dot && !strcasecmp(dot, ".json"))
        return "json";
    if (dot && !strcasecmp(dot, ".csv"))
        return "csv";
    return n >= 4 && !memcmp(data, "PK\x03\x04", 4) ? "xlsx" : "csv";
}

/* The admin listener's body limit (1 MiB by default) would refuse a larger file anyway; saying
 * so here names the file rather than an HTTP status. */
#define KC_MAX_LIST_FILE (16u << 20)

int kc_supply_list_import(struct kc_ctx *c, const struct kc_args *a)
{
    size_t n;
    char *data = ksm_read_file(a->pos[0], &n);
    if (!data) {
        kc_err("cannot read %s", a->pos[0]);
        return KC_EXIT_USAGE;
    }
    if (n > KC_MAX_LIST_FILE) {
        free(data);
        kc_err("%s is larger than 16 MiB: an equipment list is far smaller", a->pos[0]);
        return KC_EXIT_USAGE;
    }
    struct kc_query q = {0};
    const char *format = file_format(a->pos[0], kc_flag(a, "format"), data, n);
    kc_query_add(&q, "format", format);
    kc_query_add(&q, "encoding", kc_flag(a, "encoding"));
    char *p = kc_url_path(c, "/admin/v1/supply-cases/{}/lists", kc_flag(a, "case"));
    struct ksm_buf path = KSM_BUF_INIT;
    ksm_buf_puts(&path, p);
    free(p);
    kc_query_append(c, &path, &q);
    struct kc_http_resp r = {0};
    static const char *const ctypes[][2] = {
        {"csv", "text/csv"}, {"json", "application/json"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}};
    const char *ctype = "application/octet-stream";
    for (size_t i = 0; i < KSM_NELEM(ctypes); i++)
        if (!strcmp(format, ctypes[i][0]))
            ctype = ctypes[i][1];
    int rc = kc_http_body(c, "POST", path.data, data, n, ctype, &r);
    free(data);
    ksm_buf_free(&path);
    if (rc == 0 && r.status >= 400)
        rc = import_errors(&r);
    else if (rc == 0) {
        json_t *o = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        if (!o) {
            kc_err("the server's answer is not JSON (HTTP %ld)", r.status);
            rc = KC_EXIT_API;
        } else if (c->output == KC_OUT_JSON) {
            rc = kc_print(c, o, NULL);
        } else {
            printf("imported list %s: %lld items\n", json_string_value(json_object_get(o, "id")),
                   (long long)json_integer_value(json_object_get(o, "item_count")));
            kc_table_print(stdout, item_cols, json_object_get(o, "items"));
        }
        json_decref(o);
    }
    kc_http_resp_free(&r);
    return rc;
}

int kc_supply_list_export(struct kc_ctx *c, const struct kc_args *a)
{
    const char *format = kc_flag(a, "format"), *out = kc_flag(a, "out");
    if (strcmp(format, "xlsx") && strcmp(format, "csv") && strcmp(format, "json"))
        return kc_usage_err(c->cmd, "--format is xlsx, csv or json");
    char *p = kc_url_path(c, "/admin/v1/supply-cases/{}/list", kc_flag(a, "case"));
    struct ksm_buf path = KSM_BUF_INIT;
    ksm_buf_printf(&path, "%s?format=%s", p, format);
    free(p);
    int rc = kc_get_to_file(c, path.data, out);
    ksm_buf_free(&path);
    return rc;
}

int kc_supply_chain_set(struct kc_ctx *c, const struct kc_args *a)
{
    json_error_t je;
    json_t *body = json_load_file(a->pos[0], JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        kc_err("%s: %s (line %d)", a->pos[0], je.text, je.line);
        return KC_EXIT_USAGE;
    }
    return call_case(c, "PUT", "/admin/v1/supply-cases/{}/chain", kc_flag(a, "case"), body, NULL);
}

int kc_supply_chain_get(struct kc_ctx *c, const struct kc_args *a)
{
    return call_case(c, "GET", "/admin/v1/supply-cases/{}/chain", kc_flag(a, "case"), NULL, NULL);
}

int kc_supply_concern_add(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *body = json_object();
    kc_json_set(body, "reason", kc_flag(a, "reason"));
    kc_json_set(body, "corporate_number", kc_flag(a, "corporate-number"));
    kc_json_set(body, "name", kc_flag(a, "name"));
    kc_json_set(body, "model_pattern", kc_flag(a, "model-pattern"));
    return kc_call(c, "POST", "/admin/v1/supply-concerns", NULL, body, concern_cols, NULL);
}

int kc_supply_concern_list(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    return kc_list_paged(c, a, "/admin/v1/supply-concerns", &q, concern_cols);
}

int kc_supply_concern_delete(struct kc_ctx *c, const struct kc_args *a)
{
    return call_case(c, "DELETE", "/admin/v1/supply-concerns/{}", a->pos[0], NULL, NULL);
}

int kc_supply_concern_match(struct kc_ctx *c, const struct kc_args *a)
{
    json_t *o = NULL;
    char *path = kc_url_path(c, "/admin/v1/supply-cases/{}/concerns", kc_flag(a, "case"));
    int rc = kc_api(c, "GET", path, NULL, NULL, &o);
    free(path);
    if (rc == 0 && c->output == KC_OUT_JSON)
        rc = kc_print(c, o, NULL);
    else if (rc == 0)
        kc_table_print(stdout, match_cols, json_object_get(o, "matches"));
    json_decref(o);
    return rc;
}

int kc_supply_stats(struct kc_ctx *c, const struct kc_args *a)
{
    struct kc_query q = {0};
    kc_query_add(&q, "fiscal_year", kc_flag(a, "fiscal-year"));
    return kc_call(c, "GET", "/admin/v1/supply-statistics", &q, NULL, stats_cols, NULL);
}
