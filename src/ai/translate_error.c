/* translate_error.c — errors in each API's own shape, and upstream errors mapped back to kasumi's.
 * OpenAI's error type comes from errors.def; Anthropic's is chosen by HTTP status, as Anthropic's own
 * documentation defines its types by status. */
#include "ai/translate.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

static const struct {
    int status;
    const char *type;
} ant_types[] = {
    {400, "invalid_request_error"}, {401, "authentication_error"}, {403, "permission_error"},
    {404, "not_found_error"},       {413, "request_too_large"},    {429, "rate_limit_error"},
    {500, "api_error"},             {503, "overloaded_error"},     {529, "overloaded_error"},
};

const char *ksm_ai_anthropic_error_type(enum ksm_err e)
{
    int status = ksm_err_status(e);
    for (size_t i = 0; i < KSM_NELEM(ant_types); i++)
        if (ant_types[i].status == status)
            return ant_types[i].type;
    /* Anthropic: "we may also use invalid_request_error for other 4XX status codes". */
    return status < 500 ? "invalid_request_error" : "api_error";
}

static json_t *error_json(enum ksm_ai_proto proto, enum ksm_err e, const char *msg,
                          const char *param)
{
    if (proto == KSM_AI_ANTHROPIC)
        return json_pack("{ss s{ss ss}}", "type", "error", "error", "type",
                         ksm_ai_anthropic_error_type(e), "message", msg);
    return json_pack("{s{ss ss so ss}}", "error", "message", msg, "type", ksm_err_openai_type(e),
                     "param", param ? json_string(param) : json_null(), "code", ksm_err_code(e));
}

json_t *ksm_ai_error_json(enum ksm_ai_proto proto, enum ksm_err e, const char *msg,
                          const char *param)
{
    json_t *j = error_json(proto, e, msg && *msg ? msg : ksm_err_message(e), param);
    /* A message or param that is not UTF-8 makes json_pack fail: fall back to the table's text. */
    return j ? j : error_json(proto, e, ksm_err_message(e), NULL);
}

static int dump_cb(const char *p, size_t n, void *ud)
{
    ksm_buf_append(ud, p, n);
    return 0;
}

void ksm_ai_error_render(enum ksm_ai_proto proto, enum ksm_err e, const char *msg,
                         const char *param, struct ksm_buf *out)
{
    json_t *j = ksm_ai_error_json(proto, e, msg, param);
    json_dump_callback(j, dump_cb, out, JSON_COMPACT);
    json_decref(j);
}

void ksm_ai_sse_json(struct ksm_buf *out, const char *event, const json_t *j)
{
    /* Compact JSON escapes every newline inside strings, so the data is one line. */
    if (event) {
        ksm_buf_puts(out, "event: ");
        ksm_buf_puts(out, event);
        ksm_buf_putc(out, '\n');
    }
    ksm_buf_puts(out, "data: ");
    json_dump_callback(j, dump_cb, out, JSON_COMPACT);
    ksm_buf_puts(out, "\n\n");
}

void ksm_ai_error_sse(enum ksm_ai_proto proto, enum ksm_err e, const char *msg, struct ksm_buf *out)
{
    json_t *j = ksm_ai_error_json(proto, e, msg, NULL);
    ksm_ai_sse_json(out, proto == KSM_AI_ANTHROPIC ? "error" : NULL, j);
    json_decref(j);
}

/* Upstream status -> kasumi error. 401/403/404 from a provider mean the gateway's key, account or
 * model mapping is wrong: a fault of this gateway, so the caller gets a 502, not "your key is bad",
 * and never the provider's text (OpenAI's 401 quotes part of the key). The provider's message is
 * passed on only where it tells the caller what to change (show). */
static const struct {
    int status;
    enum ksm_err err;
    bool show;
} upstream_map[] = {
    {400, KSM_E_INVALID_ARGUMENT, true},      {401, KSM_E_UPSTREAM_ERROR, false},
    {403, KSM_E_UPSTREAM_ERROR, false},       {404, KSM_E_UPSTREAM_ERROR, false},
    {408, KSM_E_UPSTREAM_TIMEOUT, false},     {413, KSM_E_TOO_LARGE, true},
    {422, KSM_E_INVALID_ARGUMENT, true},      {429, KSM_E_RATE_LIMITED, true},
    {500, KSM_E_UPSTREAM_ERROR, false},       {502, KSM_E_UPSTREAM_ERROR, false},
    {503, KSM_E_UPSTREAM_OVERLOADED, false},  {504, KSM_E_UPSTREAM_TIMEOUT, false},
    {529, KSM_E_UPSTREAM_OVERLOADED, false},
};

enum ksm_err ksm_ai_upstream_error(enum ksm_ai_proto proto, int status, const char *body,
                                   size_t len, char msg[KSM_AI_ERR_MAX])
{
    enum ksm_err e = status >= 400 && status < 500 ? KSM_E_INVALID_ARGUMENT : KSM_E_UPSTREAM_ERROR;
    bool show = e == KSM_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < KSM_NELEM(upstream_map); i++)
        if (upstream_map[i].status == status) {
            e = upstream_map[i].err;
            show = upstream_map[i].show;
        }
    /* Both APIs put the human text at error.message. */
    json_t *j = show && body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    snprintf(msg, KSM_AI_ERR_MAX, "%s (HTTP %d from the %s provider)",
             m && *m ? m : ksm_err_message(e), status, ksm_ai_proto_name(proto));
    /* snprintf may have cut a multi-byte character; the message goes back inside JSON. */
    ksm_utf8_cut(msg, SIZE_MAX);
    json_decref(j);
    return e;
}
