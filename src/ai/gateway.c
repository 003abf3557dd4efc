/* gateway.c — the AI listener's request path: route → authenticate (Bearer or x-api-key) → the
 * project the key acts for → authorise ai.invoke there → the handler, which answers in the caller's
 * own API format. Every request is audited (the call path adds the decision and usage records). */
#include "ai/gateway.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/app.h"
#include "ai/ai_int.h"
#include "core/corpnum.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/forwarded.h"
#include "iam/oidc.h"

typedef void (*ai_handler)(struct ai_call *c);

static void h_chat(struct ai_call *c);
static void h_responses(struct ai_call *c);
static void h_stored_response(struct ai_call *c);
static void h_models(struct ai_call *c);
static void h_model(struct ai_call *c);

static const struct {
    const char *method, *path;
    enum ksm_ai_proto proto;
    enum ai_kind kind;
    ai_handler handler;
    const char *action;
    bool prefix;     /* the path continues with a name: /v1/models/{model} */
    bool both_apis;  /* both APIs' path: Anthropic's when the caller sends anthropic-version */
} routes[] = {
    {"POST", "/v1/chat/completions", KSM_AI_OPENAI, AI_CHAT, h_chat, "ai.chat", false, false},
    {"POST", "/v1/responses", KSM_AI_OPENAI, AI_CHAT, h_responses, "ai.responses", false, false},
    {"GET", "/v1/responses/", KSM_AI_OPENAI, AI_CHAT, h_stored_response, "ai.responses", true, false},
    {"POST", "/v1/responses/", KSM_AI_OPENAI, AI_CHAT, h_stored_response, "ai.responses", true, false},
    {"DELETE", "/v1/responses/", KSM_AI_OPENAI, AI_CHAT, h_stored_response, "ai.responses", true, false},
    {"POST", "/v1/messages", KSM_AI_ANTHROPIC, AI_CHAT, h_chat, "ai.messages", false, false},
    {"POST", "/v1/messages/count_tokens", KSM_AI_ANTHROPIC, AI_COUNT, h_chat, "ai.count_tokens",
     false, false},
    {"POST", "/v1/embeddings", KSM_AI_OPENAI, AI_EMBED, h_chat, "ai.embeddings", false, false},
    {"POST", "/v1/completions", KSM_AI_OPENAI, AI_COMPLETE, h_chat, "ai.completions", false, false},
    {"POST", "/v1/rerank", KSM_AI_OPENAI, AI_RERANK, h_chat, "ai.rerank", false, false},
    {"GET", "/v1/models", KSM_AI_OPENAI, AI_CHAT, h_models, "ai.models", false, true},
    {"GET", "/v1/models/", KSM_AI_OPENAI, AI_CHAT, h_model, "ai.models", true, true},
};

/* The Anthropic SDK sends anthropic-version with every request: where a path alone does not say
 * which API the caller speaks, that header does. */
static enum ksm_ai_proto api_of(const struct ksm_req *r, enum ksm_ai_proto otherwise)
{
    return ksm_req_header(r, "anthropic-version") ? KSM_AI_ANTHROPIC : otherwise;
}

static bool path_is(size_t i, const char *path)
{
    if (!routes[i].prefix)
        return !strcmp(routes[i].path, path);
    size_t n = strlen(routes[i].path);
    return !strncmp(routes[i].path, path, n) && path[n];
}

/* ---- answers ----------------------------------------------------------------------------------- */

/* " class=N sent_to=JP[,US]": where the request's content went, with its classification — what
 * GET /admin/v1/ai/destinations counts (h_ai_counts.c). Each jurisdiction once, in the order
 * the targets were tried. Nothing when no target was sent the request. */
static void fmt_sent(struct ksm_fmt *f, const struct ai_call *c)
{
    const char *seen[KSM_AI_MAX_TARGETS];
    int n = 0;
    ksm_fmt_str(f, " class=");
    ksm_fmt_i64(f, c->classification);
    ksm_fmt_str(f, " sent_to=");
    for (int i = 0; i < c->norder; i++) {
        int t = c->order[i];
        if (!(c->sent & (1u << t)))
            continue;
        const char *j = c->route.targets[t].jurisdiction;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup = dup || !strcmp(seen[k], j);
        if (dup)
            continue;
        ksm_fmt_str(f, n ? "," : "");
        ksm_fmt_str(f, j);
        seen[n++] = j;
    }
}

static void audit(struct ai_call *c, const char *action, const char *detail)
{
    struct ksm_app *app = c->r->worker->app;
    int status = c->r->status ? c->r->status : ksm_err_status(c->final_err);
    char with_sent[640];
    if (c->sent) {
        struct ksm_fmt f = ksm_fmt_init(with_sent, sizeof with_sent);
        ksm_fmt_str(&f, detail ? detail : "");
        fmt_sent(&f, c);
        detail = with_sent;
    }
    struct ksm_audit_rec rec = {
        .request_id = c->r->id,
        .principal = c->principal ? c->principal->user_id : "anonymous",
        .tenant = c->tenant[0] ? c->tenant : NULL,
        .project = c->project[0] ? c->project : NULL,
        .source = c->r->peer,
        .action = action,
        .target = c->alias ? c->alias : c->r->path,
        .outcome = status < 400 ? "success" : (status == 401 || status == 403) ? "denied" : "error",
        .status = status,
        .detail = detail,
    };
    ksm_audit_submit(app->audit, &rec, NULL, NULL, NULL);
}

/* The decision record: committed while the upstream call is in flight. Metadata only. */
bool ksm_ai_fmt_masked(struct ksm_fmt *f, const unsigned masked[KSM_PII__COUNT], const char *lead,
                       const char *eq, const char *sep)
{
    const char *between = lead;
    for (int k = 0; k < KSM_PII__COUNT; k++)
        if (masked[k]) {
            ksm_fmt_str(f, between);
            ksm_fmt_str(f, ksm_pii_kind_name((enum ksm_pii_kind)k));
            ksm_fmt_str(f, eq);
            ksm_fmt_i64(f, masked[k]);
            between = sep;
        }
    return between != lead;
}

void ksm_ai_audit_decision(struct ai_call *c)
{
    char detail[512];
    /* "class=C[ marked=K] decision=D[ reason=R] masked=M[ unscanned=U] prompt_hmac=H targets=N
     * [ on_behalf=govcloud]",
     * without snprintf (once per request: its format parsing was most of this function) */
    struct ksm_fmt f = ksm_fmt_init(detail, sizeof detail);
    ksm_fmt_str(&f, "class=");
    ksm_fmt_i64(&f, c->classification);
    if (c->marked) {   /* the level a marking in the texts raised it to (or confirmed) */
        ksm_fmt_str(&f, " marked=");
        ksm_fmt_i64(&f, c->marked);
    }
    ksm_fmt_str(&f, " decision=");
    ksm_fmt_str(&f, c->decision);
    if (c->refusal) {
        ksm_fmt_str(&f, " reason=");
        ksm_fmt_str(&f, c->refusal);
    }
    ksm_fmt_str(&f, " masked=");
    if (!ksm_ai_fmt_masked(&f, c->masked, "", ":", ","))
        ksm_fmt_str(&f, "-");
    if (c->unscanned) {   /* parts no rule could read, sent to Japan's servers by the policy */
        ksm_fmt_str(&f, " unscanned=");
        ksm_fmt_i64(&f, (int64_t)c->unscanned);
    }
    ksm_fmt_str(&f, " prompt_hmac=");
    ksm_fmt_str(&f, c->prompt_hmac[0] ? c->prompt_hmac : "-");
    ksm_fmt_str(&f, " targets=");
    ksm_fmt_i64(&f, c->norder);
    ksm_fmt_str(&f, c->on_behalf ? " on_behalf=govcloud" : "");
    struct ksm_app *app = c->r->worker->app;
    struct ksm_audit_rec rec = {
        .request_id = c->r->id, .principal = c->principal->user_id, .tenant = c->tenant,
        .project = c->project, .source = c->r->peer, .action = "ai.decision", .target = c->alias,
        .outcome = c->refusal ? "denied" : "success", .status = 0, .detail = detail,
    };
    ksm_audit_submit(app->audit, &rec, NULL, NULL, NULL);
    ksm_ai_metrics_decision(c->decision, c->refusal, c->masked);
}

void ksm_ai_audit_final(struct ai_call *c, const char *detail)
{
    audit(c, c->action, detail);
}

/* An error in the caller's own API format; audited; the request ends. */
void ksm_ai_fail(struct ai_call *c, enum ksm_err e, const char *msg, int retry_after)
{
    struct ksm_req *r = c->r;
    c->final_err = e;
    ksm_buf_reset(&r->resp);
    ksm_ai_error_render(c->proto, e, msg, NULL, &r->resp);
    r->status = ksm_err_status(e);
    r->content_type = "application/json";
    if (retry_after > 0)
        ksm_req_add_header(r, "Retry-After", ksm_arena_printf(r->arena, "%d", retry_after));
    if (e == KSM_E_UNAUTHENTICATED)
        ksm_req_add_header(r, "WWW-Authenticate", "Bearer realm=\"kasumi\"");
    audit(c, c->action, c->fail_detail ? c->fail_detail : ksm_err_code(e));
    ksm_ai_metrics_unanswered(c, true);
    ksm_req_send(r);
    ksm_ai_call_free(c);
}

/* The caller left before its answer: nothing was delivered, so nothing is billed. Recorded as
 * nginx's 499 "client closed request", as S3 records it, so that the audit never shows the
 * platform failing when the caller gave up (before, this was a 503 "unavailable"). */
void ksm_ai_gone(struct ai_call *c)
{
    struct ksm_req *r = c->r;
    ksm_buf_reset(&r->resp);
    r->status = 499;   /* never reaches the caller: the connection is gone */
    audit(c, c->action, "client_gone");
    ksm_ai_metrics_unanswered(c, false);   /* a call, but not the model's error */
    ksm_req_send(r);
    ksm_ai_call_free(c);
}

/* ---- who is calling, for which project ----------------------------------------------------------- */

/* Bearer (OpenAI's SDKs), x-api-key (Anthropic's), api-key (Azure OpenAI's). */
static const char *api_key(struct ksm_req *r)
{
    const char *h = ksm_req_header(r, "authorization");
    if (h && !strncasecmp(h, "Bearer ", 7))
        return h + 7;
    h = ksm_req_header(r, "x-api-key");
    return h ? h : ksm_req_header(r, "api-key");
}

/* A request that waited for an identity provider's keys starts over (src/iam/oidc.h). */
static void resume_ai(void *arg) { ksm_ai_dispatch(arg); }

/* An API key, or a JWT from a trusted identity provider; *parked while its keys are fetched. */
static enum ksm_err authenticate(struct ksm_req *r, const char *key, struct ksm_principal *p,
                                 bool *parked)
{
    if (!key)
        return KSM_E_UNAUTHENTICATED;
    if (!ksm_oidc_enabled() || !ksm_oidc_is_jwt(key))
        return ksm_iam_authenticate(&r->worker->db, key, p);
    struct ksm_oidc_ctx ctx = {r->id, r->peer, {r->worker->mailbox, resume_ai, r}};
    return ksm_oidc_authenticate(&r->worker->db, key, &ctx, p, parked);
}

/* The governed path (SPEC.md O4): govcloud's service credential names the tenant by its 法人番号 and
 * the project by its name (percent-encoded), which this environment maps to its own ids. Only
 * overseas-ai accepts it, and only from a principal holding ai.invoke.on_behalf; the tenant is then
 * billed here, under this environment's own account. */
static enum ksm_err on_behalf(struct ai_call *c, const char **why)
{
    struct ksm_req *r = c->r;
    struct ksm_db *db = &r->worker->db;
    const struct ksm_app *app = r->worker->app;
    const char *cn = ksm_req_header(r, "x-kasumi-on-behalf-tenant");
    const char *pj = ksm_req_header(r, "x-kasumi-on-behalf-project");
    if (app->conf->env_kind != KSM_ENV_OVERSEAS_AI)
        return *why = "X-Kasumi-On-Behalf-* is accepted only by the overseas AI environment",
               KSM_E_INVALID_ARGUMENT;
    if (ksm_iam_check(db, c->principal, "ai.invoke.on_behalf", NULL, NULL) != KSM_E_OK)
        return *why = "this key may not act on behalf of a tenant", KSM_E_FORBIDDEN;
    if (!cn || !pj || !ksm_corpnum_valid(cn))
        return *why = "X-Kasumi-On-Behalf-Tenant (a 法人番号) and X-Kasumi-On-Behalf-Project go together",
               KSM_E_INVALID_ARGUMENT;
    size_t n = strlen(pj);
    char *name = ksm_arena_alloc(r->arena, n + 1);
    if (ksm_pct_decode(pj, n, name, KSM_PCT_STRICT | KSM_PCT_NO_NUL) <= 0)
        return *why = "X-Kasumi-On-Behalf-Project is not a percent-encoded project name", KSM_E_INVALID_ARGUMENT;
    enum ksm_err e = ksm_iam_contract_resolve(db, cn, name, c->tenant, c->project);
    if (e == KSM_E_SUSPENDED)
        return *why = "the tenant is suspended", e;
    if (e != KSM_E_OK)
        return *why = "no such tenant and project in this environment", KSM_E_NOT_FOUND;
    c->on_behalf = true;
    return KSM_E_OK;
}

static enum ksm_err identify(struct ai_call *c, const char **why, bool *parked)
{
    struct ksm_req *r = c->r;
    struct ksm_db *db = &r->worker->db;
    const char *key = api_key(r);
    c->principal = ksm_arena_calloc(r->arena, sizeof *c->principal);
    if (authenticate(r, key, c->principal, parked) != KSM_E_OK) {
        c->principal = NULL;
        return *why = "a valid API key is required", KSM_E_UNAUTHENTICATED;
    }
    if (ksm_iam_principal_active(db, c->principal) == KSM_E_SUSPENDED)
        return *why = "the tenant is suspended", KSM_E_SUSPENDED;
    if (ksm_req_header(r, "x-kasumi-on-behalf-tenant") || ksm_req_header(r, "x-kasumi-on-behalf-project"))
        return on_behalf(c, why);
    /* a key narrowed to a project acts there; otherwise the caller names the project */
    const char *project = c->principal->project_id[0] ? c->principal->project_id
                                                      : ksm_req_header(r, "x-kasumi-project");
    if (!project || !*project)
        return *why = "this key is not bound to a project: send X-Kasumi-Project", KSM_E_INVALID_ARGUMENT;
    char tenant[KSM_ID_LEN], proj[KSM_ID_LEN];
    if (ksm_iam_owner(db, project, tenant, proj) != KSM_E_OK || strcmp(proj, project))
        return *why = "no such project", KSM_E_NOT_FOUND;
    enum ksm_err e = ksm_iam_check(db, c->principal, "ai.invoke", tenant, project);
    if (e != KSM_E_OK)
        return *why = e == KSM_E_NOT_FOUND ? "no such project" : "this key may not use models here", e;
    ksm_fmt_copy(c->tenant, sizeof c->tenant, tenant);
    ksm_fmt_copy(c->project, sizeof c->project, project);
    return KSM_E_OK;
}

/* Where the caller came from: the project's allowed_networks (its AI policy, read here for the
 * whole call). A caller elsewhere is refused before anything of its request is read, listing
 * models too. govcloud's relay is not the caller's network: an on-behalf call is not checked. */
static enum ksm_err network(struct ai_call *c, const char **why)
{
    struct ksm_req *r = c->r;
    if (ksm_ai_policy_get(&r->worker->db, c->project, &c->pol) != KSM_E_OK)
        return *why = "cannot read the project's AI policy", KSM_E_INTERNAL;
    if (c->on_behalf || !c->pol.nnets)
        return KSM_E_OK;
    /* behind the operator's trusted proxies, the caller is who X-Forwarded-For says it is */
    const struct ksm_conf *conf = ((struct ksm_app *)r->worker->app)->conf;
    const char *xff[8];
    int n = 0;
    for (int i = 0; i < r->nheaders && n < (int)KSM_NELEM(xff); i++)
        if (!strcmp(r->headers[i].name, "x-forwarded-for"))
            xff[n++] = r->headers[i].value;
    char *from = ksm_arena_alloc(r->arena, KSM_ADDR_TEXT);
    bool known = ksm_forwarded_client(r->peer, xff, n, conf->ai_trusted_proxies,
                                      conf->ai_trusted_proxies_n, from);
    if (known && ksm_ai_policy_network_allows(&c->pol, from))
        return KSM_E_OK;
    c->fail_detail = strcmp(from, r->peer)
                         ? ksm_arena_cat(r->arena, "network_not_allowed client=",
                                         *from ? from : "unknown", NULL)
                         : "network_not_allowed";
    *why = ksm_arena_printf(r->arena, "this project's models may not be called from %s",
                            *from ? from : "an unknown address");
    return KSM_E_FORBIDDEN;
}

/* ---- handlers ------------------------------------------------------------------------------------ */

/* One of the store's {"id","created_ms"} as the caller's API has it: OpenAI's model object, or
 * Anthropic's (type, display_name, created_at in RFC 3339). */
static json_t *model_json(enum ksm_ai_proto proto, json_t *row)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    json_int_t ms = json_integer_value(json_object_get(row, "created_ms"));
    if (proto != KSM_AI_ANTHROPIC)
        return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created", ms / 1000,
                         "owned_by", "kasumi");
    char at[32];
    ksm_rfc3339_ms(ms, at);
    return json_pack("{s:s,s:s,s:s,s:s}", "type", "model", "id", id, "display_name", id,
                     "created_at", at);
}

/* A 200 with o (taken) as the body; audited; the request ends. */
static void answer_json(struct ai_call *c, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    ksm_buf_reset(&c->r->resp);
    ksm_buf_puts(&c->r->resp, s);
    free(s);
    c->r->status = 200;
    c->r->content_type = "application/json";
    audit(c, c->action, NULL);
    ksm_req_send(c->r);
    ksm_ai_call_free(c);
}

/* The project's aliases (alias NULL) or that one that the caller's key may call, each in the
 * caller's API's shape; NULL, the failure answered, when the store cannot be read. */
static json_t *models(struct ai_call *c, const char *alias)
{
    json_t *rows = json_array();
    if (ksm_ai_route_models(&c->r->worker->db, c->project, alias, rows) != KSM_E_OK) {
        json_decref(rows);
        ksm_ai_fail(c, KSM_E_INTERNAL, "cannot list models", 0);
        return NULL;
    }
    char allowed[KSM_AI_KEY_MODELS_MAX];   /* the key's own list, if it has one */
    if (!ksm_ai_caller_models(c, allowed)) {
        json_decref(rows);
        return NULL;
    }
    json_t *data = json_array(), *row;
    size_t i;
    json_array_foreach(rows, i, row)
        if (ksm_ai_key_models_allow(allowed, json_string_value(json_object_get(row, "id"))))
            json_array_append_new(data, model_json(c->proto, row));
    json_decref(rows);
    return data;
}

static void h_models(struct ai_call *c)
{
    json_t *data = models(c, NULL);
    if (!data)
        return;
    if (c->proto != KSM_AI_ANTHROPIC) {
        answer_json(c, json_pack("{s:s,s:o}", "object", "list", "data", data));
        return;
    }
    /* Anthropic's page: every alias at once, so has_more is false */
    size_t n = json_array_size(data);
    json_t *first = n ? json_object_get(json_array_get(data, 0), "id") : json_null();
    json_t *last = n ? json_object_get(json_array_get(data, n - 1), "id") : json_null();
    answer_json(c, json_pack("{s:o,s:b,s:O,s:O}", "data", data, "has_more", 0, "first_id", first,
                             "last_id", last));
}

/* GET /v1/models/{model} (the SDKs' models.retrieve): the model object when the caller's project
 * may use that alias, else model_not_found, as a chat request naming it would get. */
static void h_model(struct ai_call *c)
{
    c->alias = c->r->path + strlen("/v1/models/");   /* also the audit record's target */
    json_t *data = models(c, c->alias);
    if (!data)
        return;
    json_t *model = json_incref(json_array_get(data, 0));   /* NULL when there is none */
    json_decref(data);
    if (!model) {
        char why[KSM_AI_ERR_MAX];
        snprintf(why, sizeof why, "model %s is not available in this project", c->alias);
        ksm_ai_fail(c, KSM_E_MODEL_NOT_FOUND, why, 0);
        return;
    }
    answer_json(c, model);
}

static void h_chat(struct ai_call *c)
{
    ksm_ai_call_start(c);
}

/* responses.retrieve, .delete, .cancel, .inputItems.list: there is nothing stored to act on.
 * (responses.inputTokens.count is not served either: Chat Completions, which the request would go
 * as, has no count to ask a model server for.) */
static void h_stored_response(struct ai_call *c)
{
    bool count = !strcmp(c->r->path, "/v1/responses/input_tokens");
    ksm_ai_fail(c, KSM_E_NOT_FOUND,
                count ? "counting a Response's input tokens is not served here"
                      : "this gateway stores no responses: a Response is returned once, to the request that made it",
                0);
}

/* OpenAI's Responses API: the body becomes the chat request it means, which then goes the chat
 * path — read, governed, metered and audited as one (src/ai/responses.h). */
static void h_responses(struct ai_call *c)
{
    struct ksm_req *r = c->r;
    struct ksm_buf chat = KSM_BUF_INIT;
    char why[KSM_AI_RESPONSES_ERR_MAX];
    enum ksm_err e = ksm_ai_responses_request(r->body.data ? r->body.data : "", r->body.len, r->id,
                                              &chat, &c->responses, why);
    if (e == KSM_E_OK) {   /* the request body is the connection's buffer: refilled, not replaced */
        ksm_buf_reset(&r->body);
        ksm_buf_append(&r->body, chat.data, chat.len);
    }
    ksm_buf_free(&chat);
    if (e != KSM_E_OK) {
        ksm_ai_fail(c, e, why, 0);
        return;
    }
    ksm_ai_call_start(c);
}

void ksm_ai_dispatch(struct ksm_req *r)
{
    struct ai_call *c = ksm_ai_call_new();
    c->r = r;
    c->t_start = ksm_mono_ns();
    c->proto = KSM_AI_OPENAI;
    c->action = "ai.request";
    r->app_data = c;
    if (r->err != KSM_E_OK) {   /* rejected by the HTTP layer */
        ksm_ai_fail(c, r->err, r->err_detail, 0);
        return;
    }
    const char *bad_path = NULL;
    if (ksm_ai_azure_front(r, &bad_path) != KSM_E_OK) {
        ksm_ai_fail(c, KSM_E_NOT_FOUND, bad_path, 0);
        return;
    }
    bool path_seen = false;
    for (size_t i = 0; i < KSM_NELEM(routes); i++) {
        if (!path_is(i, r->path))
            continue;
        path_seen = true;
        if (strcmp(routes[i].method, r->method_name))
            continue;
        c->proto = routes[i].both_apis ? api_of(r, routes[i].proto) : routes[i].proto;
        c->kind = routes[i].kind;
        c->action = routes[i].action;
        r->route_index = -1;
        const char *why = NULL;
        bool parked = false;
        enum ksm_err e = identify(c, &why, &parked);
        if (parked) {   /* resume_ai runs the request again once the keys are in */
            ksm_ai_call_free(c);
            return;
        }
        if (e == KSM_E_OK)
            e = network(c, &why);
        if (e != KSM_E_OK) {
            ksm_ai_fail(c, e, why, 0);
            return;
        }
        routes[i].handler(c);
        return;
    }
    c->proto = api_of(r, KSM_AI_OPENAI);   /* an endpoint not served: in the caller's API */
    ksm_ai_fail(c, path_seen ? KSM_E_METHOD_NOT_ALLOWED : KSM_E_NOT_FOUND,
                path_seen ? "method not allowed" : "no such endpoint", 0);
}
