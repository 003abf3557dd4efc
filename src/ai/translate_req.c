/* translate_req.c — decoding and validating a caller's chat request (OpenAI or Anthropic) into
 * struct ksm_ai_request, and the text-part visitor used for PII scanning and masking.
 *
 * Top-level fields are handled through one table per API: a row validates a field the gateway
 * understands; a field with no row is left for the provider to judge on a same-protocol route and
 * marks the request untranslatable for cross-protocol routes. JSON null is treated as absent, as
 * the official SDKs send it for unset options. */
#include "ai/translate.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/jscan.h"
#include "core/util.h"

typedef enum ksm_err (*field_fn)(struct ksm_ai_request *r, json_t *v, char *err);

/* When a field must be present: never, always, or for a request to be answered (a token count
 * takes the message request without max_tokens). */
enum need { OPTIONAL, REQUIRED, TO_ANSWER };

struct field {
    const char *name;
    field_fn fn;        /* NULL: accepted, validated by the provider, never translated */
    enum need need;
};

static enum ksm_err fail(char *err, enum ksm_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum ksm_err fail(char *err, enum ksm_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, KSM_AI_ERR_MAX, fmt, ap);
    va_end(ap);
    return e;
}

static void untranslatable(struct ksm_ai_request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void untranslatable(struct ksm_ai_request *r, const char *fmt, ...)
{
    if (r->untranslatable[0])
        return;   /* the first one is the one worth naming */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->untranslatable, sizeof(r->untranslatable), fmt, ap);
    va_end(ap);
    ksm_utf8_cut(r->untranslatable, SIZE_MAX);   /* a long key may have been cut mid-character */
}

static void push_part(struct ksm_ai_request *r, enum ksm_ai_role role, size_t msg, json_t *node,
                      bool call, enum ksm_ai_seal seal)
{
    struct ksm_ai_part p = {role, msg, node, call, seal, false};
    /* full at 0, 7, 15, 31, ...: 8 parts first (most requests have fewer), then doubling */
    if (r->nparts == 0 || (r->nparts >= 8 && (r->nparts & (r->nparts - 1)) == 0))
        r->parts = ksm_xrealloc(r->parts, (r->nparts ? 2 * r->nparts : 8) * sizeof(*r->parts));
    r->parts[r->nparts++] = p;
}

static void add_part(struct ksm_ai_request *r, enum ksm_ai_role role, size_t msg, json_t *node)
{
    push_part(r, role, msg, node, false, KSM_AI_SEAL_NONE);
}

/* A text inside a tool call the model made earlier (its arguments, or a string of its input). */
static void add_call_part(struct ksm_ai_request *r, size_t msg, json_t *node)
{
    push_part(r, KSM_AI_ROLE_ASSISTANT, msg, node, true, KSM_AI_SEAL_NONE);
}

/* A string of the request's options that reaches the provider (a stop sequence, the end user's
 * id): scanned like the prompt, flagged as no message's text. */
static void add_option_part(struct ksm_ai_request *r, json_t *node)
{
    push_part(r, KSM_AI_ROLE_SYSTEM, SIZE_MAX, node, true, KSM_AI_SEAL_NONE);
}

static bool is_str(const json_t *o, const char *key)
{
    return json_is_string(json_object_get(o, key));
}

bool ksm_ai_listed(const char *const *keys, const char *key)
{
    while (*keys && strcmp(*keys, key))
        keys++;
    return *keys != NULL;
}

const char *ksm_ai_stranger(const json_t *o, const char *const *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
        if (!ksm_ai_listed(keys, key) && !json_is_null(v))
            return key;
    return NULL;
}

/* o has no member but those named. */
static bool only_keys(const json_t *o, const char *const *keys) { return !ksm_ai_stranger(o, keys); }

/* ---- fields shared by both APIs ---------------------------------------------------------------- */

static enum ksm_err f_model(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 256)
        return fail(err, KSM_E_INVALID_ARGUMENT, "model: must be a non-empty string");
    r->model = json_string_value(v);
    return KSM_E_OK;
}

static enum ksm_err f_max_tokens(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
        return fail(err, KSM_E_INVALID_ARGUMENT, "max_tokens: must be a positive integer");
    r->max_tokens = json_integer_value(v);
    return KSM_E_OK;
}

static enum ksm_err number(json_t *v, double lo, double hi, const char *name, double *out, char *err)
{
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
        return fail(err, KSM_E_INVALID_ARGUMENT, "%s: must be a number from %g to %g", name, lo, hi);
    *out = json_number_value(v);
    return KSM_E_OK;
}

static enum ksm_err f_top_p(struct ksm_ai_request *r, json_t *v, char *err)
{
    r->has_top_p = true;
    return number(v, 0, 1, "top_p", &r->top_p, err);
}

static enum ksm_err f_stream(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_boolean(v))
        return fail(err, KSM_E_INVALID_ARGUMENT, "stream: must be a boolean");
    r->stream = json_is_true(v);
    return KSM_E_OK;
}

/* A list of stop strings; max_n 0 means no limit. */
static enum ksm_err stop_list(struct ksm_ai_request *r, json_t *v, const char *name, size_t max_n,
                              char *err)
{
    size_t i;
    json_t *s;
    if (json_is_string(v)) {
        r->stop = json_pack("[O]", v);
        add_option_part(r, v);
        return KSM_E_OK;
    }
    if (!json_is_array(v) || (max_n && json_array_size(v) > max_n))
        return fail(err, KSM_E_INVALID_ARGUMENT, "%s: must be an array of strings", name);
    json_array_foreach(v, i, s)
        if (!json_is_string(s) || !json_string_length(s))
            return fail(err, KSM_E_INVALID_ARGUMENT, "%s[%zu]: must be a non-empty string", name, i);
    r->stop = json_incref(v);
    json_array_foreach(v, i, s)
        add_option_part(r, s);   /* a masked value stops the answer where the model writes it */
    return KSM_E_OK;
}

/* ---- OpenAI ------------------------------------------------------------------------------------ */

static enum ksm_err oai_temperature(struct ksm_ai_request *r, json_t *v, char *err)
{
    r->has_temperature = true;
    return number(v, 0, 2, "temperature", &r->temperature, err);
}

static enum ksm_err oai_stop(struct ksm_ai_request *r, json_t *v, char *err)
{
    return stop_list(r, v, "stop", 4, err);
}

static enum ksm_err oai_user(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_string(v))
        return fail(err, KSM_E_INVALID_ARGUMENT, "user: must be a string");
    r->user = v;
    add_option_part(r, v);
    return KSM_E_OK;
}

static enum ksm_err oai_n(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 128)
        return fail(err, KSM_E_INVALID_ARGUMENT, "n: must be an integer from 1 to 128");
    if (json_integer_value(v) != 1)
        untranslatable(r, "n");
    return KSM_E_OK;
}

static enum ksm_err oai_stream_options(struct ksm_ai_request *r, json_t *v, char *err)
{
    json_t *iu = json_object_get(v, "include_usage");
    if (!json_is_object(v) || (iu && !json_is_boolean(iu) && !json_is_null(iu)))
        return fail(err, KSM_E_INVALID_ARGUMENT, "stream_options: must be {\"include_usage\": bool}");
    r->include_usage = json_is_true(iu);
    return KSM_E_OK;
}

/* An integer of a tool_use input long enough to be a personal number or a card number (ten digits
 * or more): its digits are read like text, sealed — a placeholder cannot stand in a JSON number,
 * so a rule that would mask them refuses the request; a time stamp or an id goes as it is. */
static void add_number_part(struct ksm_ai_request *r, enum ksm_ai_role role, size_t msg, json_t *v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    json_t *s = json_string(digits);
    if (!r->numbers)
        r->numbers = json_array();
    json_array_append_new(r->numbers, s);
    push_part(r, role, msg, s, true, KSM_AI_SEAL_NUMBER);
}

/* The strings of parsed JSON, scanned and masked like any text (object keys are names, not data):
 * a tool_use block's input, a tool definition's descriptions and schema. In an input, long integers
 * are read as sealed digits (above); a long non-integer counts as unscanned, so a guardrail that
 * must read everything refuses it rather than send it unread. A schema's numbers are its
 * constraints, and are left alone. */
static void scan_json(struct ksm_ai_request *r, enum ksm_ai_role role, size_t msg, json_t *v,
                      int depth, bool numbers)
{
    const char *key;
    json_t *x;
    size_t k;
    if (depth > 64) {
        r->nunscanned++;
    } else if (json_is_string(v)) {
        push_part(r, role, msg, v, true, KSM_AI_SEAL_NONE);
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, x)
            scan_json(r, role, msg, x, depth + 1, numbers);
    } else if (json_is_array(v)) {
        json_array_foreach(v, k, x)
            scan_json(r, role, msg, x, depth + 1, numbers);
    } else if (numbers && json_is_integer(v) &&
               (json_integer_value(v) >= 1000000000 || json_integer_value(v) <= -1000000000)) {
        add_number_part(r, role, msg, v);
    } else if (numbers && json_is_real(v) && fabs(json_real_value(v)) >= 1e9) {
        r->nunscanned++;
    }
}

/* The members of o other than those named in read (which the caller decodes itself): what the
 * gateway does not understand still reaches the provider, so its strings are scanned too. */
static void scan_others(struct ksm_ai_request *r, enum ksm_ai_role role, size_t msg, json_t *o,
                        const char *const *read)
{
    const char *key;
    json_t *x;
    json_object_foreach(o, key, x)
        if (!ksm_ai_listed(read, key))
            scan_json(r, role, msg, x, 1, false);
}

/* A tool definition's texts — its description, its schema's descriptions, enums and examples — go
 * to the model like the prompt, so they are scanned like it (a sample value in a description is a
 * value). Its name and type are identifiers the model must call it by, and stay as they are. */
static void scan_tool(struct ksm_ai_request *r, json_t *t, int depth)
{
    const char *key;
    json_t *x;
    json_object_foreach(t, key, x) {
        if (!strcmp(key, "name") || !strcmp(key, "type"))
            continue;
        if (depth == 0 && json_is_object(x) && (!strcmp(key, "function") || !strcmp(key, "custom")))
            scan_tool(r, x, 1);   /* OpenAI's {"type":"function","function":{"name",...}} */
        else
            scan_json(r, KSM_AI_ROLE_SYSTEM, SIZE_MAX, x, 1, false);
    }
}

/* Each element of a tools array, by the API's rule of what the other API's tools can say; the array
 * itself is the provider's to judge on a same-protocol route. */
static void check_tools(struct ksm_ai_request *r, json_t *v, bool (*ok)(const json_t *t))
{
    size_t k;
    json_t *t;
    if (!json_is_array(v))
        untranslatable(r, "tools");
    json_array_foreach(v, k, t) {
        if (!ok(t))
            untranslatable(r, "tools[%zu]", k);
        scan_tool(r, t, 0);
    }
}

/* {"type":"function","function":{"name","description"?,"parameters"?}}: custom tools and strict
 * schemas have no Anthropic counterpart. */
static bool oai_tool_ok(const json_t *t)
{
    json_t *fn = json_object_get(t, "function"), *params = json_object_get(fn, "parameters");
    const char *type = json_string_value(json_object_get(t, "type"));
    return type && !strcmp(type, "function") && is_str(fn, "name") &&
           only_keys(t, (const char *const[]){"type", "function", NULL}) &&
           only_keys(fn, (const char *const[]){"name", "description", "parameters", NULL}) &&
           (!params || json_is_object(params)) &&
           (!json_object_get(fn, "description") || is_str(fn, "description"));
}

static enum ksm_err oai_tools(struct ksm_ai_request *r, json_t *v, char *err)
{
    (void)err;
    check_tools(r, v, oai_tool_ok);
    return KSM_E_OK;
}

static enum ksm_err oai_tool_choice(struct ksm_ai_request *r, json_t *v, char *err)
{
    const char *s = json_string_value(v);
    (void)err;
    if (s ? strcmp(s, "auto") && strcmp(s, "none") && strcmp(s, "required")
          : !is_str(json_object_get(v, "function"), "name"))
        untranslatable(r, "tool_choice");
    return KSM_E_OK;
}

static enum ksm_err oai_parallel_tool_calls(struct ksm_ai_request *r, json_t *v, char *err)
{
    (void)err;
    if (!json_is_boolean(v))
        untranslatable(r, "parallel_tool_calls");
    return KSM_E_OK;
}

static const struct {
    const char *name;
    enum ksm_ai_role role;
    bool translatable;
} oai_roles[] = {
    {"system", KSM_AI_ROLE_SYSTEM, true},
    {"developer", KSM_AI_ROLE_SYSTEM, true},
    {"user", KSM_AI_ROLE_USER, true},
    {"assistant", KSM_AI_ROLE_ASSISTANT, true},
    {"tool", KSM_AI_ROLE_TOOL, true},
    {"function", KSM_AI_ROLE_TOOL, false},
};

/* One element of an OpenAI content array. */
static enum ksm_err oai_content_part(struct ksm_ai_request *r, size_t i, size_t k, json_t *p,
                                     char *err)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!json_is_object(p) || !type)
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].content[%zu].type: missing", i, k);
    if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
        json_t *t = json_object_get(p, type);   /* {"type":"text","text":...} */
        if (!json_is_string(t))
            return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].content[%zu].%s: must be a string",
                        i, k, type);
        add_part(r, r->msgs[i].role, i, t);
        if (!strcmp(type, "refusal") || json_object_size(p) != 2)
            untranslatable(r, "messages[%zu].content[%zu]", i, k);
        scan_others(r, r->msgs[i].role, i, p, (const char *const[]){"type", type, NULL});
        return KSM_E_OK;
    }
    r->nunscanned++;   /* image_url, input_audio, file: nothing the text scanner can read */
    untranslatable(r, "messages[%zu].content[%zu] (%s)", i, k, type);
    return KSM_E_OK;
}

static enum ksm_err oai_content(struct ksm_ai_request *r, size_t i, json_t *c, char *err)
{
    size_t k;
    json_t *p;
    enum ksm_err e;
    if (json_is_string(c)) {
        add_part(r, r->msgs[i].role, i, c);
        return KSM_E_OK;
    }
    if (json_is_null(c) || !c)
        return KSM_E_OK;   /* an assistant turn that only called tools */
    if (!json_is_array(c))
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].content: must be a string or an array",
                    i);
    json_array_foreach(c, k, p)
        if ((e = oai_content_part(r, i, k, p, err)) != KSM_E_OK)
            return e;
    return KSM_E_OK;
}

/* A tool call's arguments, {"name":...,"arguments":"<JSON text>"}: the JSON text is scanned (and
 * masked) as text, as the model wrote it — numbers included, which a walk of the parsed values
 * could not mask. where is the call's path, for the error. */
static enum ksm_err oai_arguments(struct ksm_ai_request *r, size_t i, json_t *fn, const char *where,
                                  char *err)
{
    json_t *args = json_object_get(fn, "arguments");
    if (!json_is_object(fn) || !json_is_string(args))
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].%s.arguments: must be a string", i,
                    where);
    add_call_part(r, i, args);
    r->parts[r->nparts - 1].json_text = true;
    return KSM_E_OK;
}

/* An assistant turn's tool_calls: [{"id","type":"function","function":{"name","arguments"}}]. */
static enum ksm_err oai_tool_calls(struct ksm_ai_request *r, size_t i, json_t *calls, char *err)
{
    size_t k;
    json_t *tc;
    char where[48];
    enum ksm_err e;
    if (!json_is_array(calls))
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].tool_calls: must be an array", i);
    json_array_foreach(calls, k, tc) {
        const char *type = json_string_value(json_object_get(tc, "type"));
        if (type && !strcmp(type, "custom")) {   /* {"custom":{"name","input":"<free text>"}} */
            json_t *in = json_object_get(json_object_get(tc, "custom"), "input");
            if (json_is_string(in))
                add_call_part(r, i, in);
            else
                r->nunscanned++;
            untranslatable(r, "messages[%zu].tool_calls[%zu] (custom)", i, k);
            continue;
        }
        snprintf(where, sizeof where, "tool_calls[%zu].function", k);
        json_t *fn = json_object_get(tc, "function");
        if ((e = oai_arguments(r, i, fn, where, err)) != KSM_E_OK)
            return e;
        /* what a tool_use block can carry: an id, a name and the arguments */
        if (!is_str(tc, "id") || !is_str(fn, "name") || (type && strcmp(type, "function")) ||
            !only_keys(tc, (const char *const[]){"id", "type", "function", NULL}) ||
            !only_keys(fn, (const char *const[]){"name", "arguments", NULL}))
            untranslatable(r, "messages[%zu].tool_calls[%zu]", i, k);
    }
    return KSM_E_OK;
}

static enum ksm_err oai_message(struct ksm_ai_request *r, size_t i, json_t *m, char *err)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    const char *key;
    json_t *v;
    size_t j;
    enum ksm_err e;
    if (!json_is_object(m) || !role)
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].role: missing", i);
    for (j = 0; j < KSM_NELEM(oai_roles) && strcmp(oai_roles[j].name, role); j++)
        ;
    if (j == KSM_NELEM(oai_roles))
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].role: unknown role", i);
    r->msgs[i].role = oai_roles[j].role;
    if (!oai_roles[j].translatable)
        untranslatable(r, "messages[%zu] (role %s)", i, role);
    json_object_foreach(m, key, v) {
        if (!strcmp(key, "role") || !strcmp(key, "content") || json_is_null(v))
            continue;
        bool call = !strcmp(key, "tool_calls") && r->msgs[i].role == KSM_AI_ROLE_ASSISTANT;
        bool result = !strcmp(key, "tool_call_id") && r->msgs[i].role == KSM_AI_ROLE_TOOL &&
                      json_is_string(v);
        if (!call && !result) {
            untranslatable(r, "messages[%zu].%s", i, key);
            if (strcmp(key, "function_call"))   /* its arguments are read below */
                scan_json(r, r->msgs[i].role, i, v, 1, false);   /* a name, a refusal, ... */
        }
        if (!strcmp(key, "tool_calls") && (e = oai_tool_calls(r, i, v, err)) != KSM_E_OK)
            return e;
        if (!strcmp(key, "function_call") &&
            (e = oai_arguments(r, i, v, "function_call", err)) != KSM_E_OK)
            return e;
    }
    if (r->msgs[i].role == KSM_AI_ROLE_TOOL && !is_str(m, "tool_call_id"))
        untranslatable(r, "messages[%zu] (role %s without tool_call_id)", i, role);
    return oai_content(r, i, json_object_get(m, "content"), err);
}

/* ---- Anthropic --------------------------------------------------------------------------------- */

static enum ksm_err ant_temperature(struct ksm_ai_request *r, json_t *v, char *err)
{
    r->has_temperature = true;
    return number(v, 0, 1, "temperature", &r->temperature, err);
}

static enum ksm_err ant_top_k(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
        return fail(err, KSM_E_INVALID_ARGUMENT, "top_k: must be a positive integer");
    r->top_k = json_integer_value(v);
    untranslatable(r, "top_k");   /* OpenAI has no top_k */
    return KSM_E_OK;
}

static enum ksm_err ant_stop(struct ksm_ai_request *r, json_t *v, char *err)
{
    if (!json_is_array(v))
        return fail(err, KSM_E_INVALID_ARGUMENT, "stop_sequences: must be an array of strings");
    return stop_list(r, v, "stop_sequences", 0, err);
}

static enum ksm_err ant_metadata(struct ksm_ai_request *r, json_t *v, char *err)
{
    json_t *u = json_object_get(v, "user_id");
    if (!json_is_object(v) || (u && !json_is_string(u) && !json_is_null(u)))
        return fail(err, KSM_E_INVALID_ARGUMENT, "metadata.user_id: must be a string");
    r->user = json_is_string(u) ? u : NULL;
    if (json_object_size(v) > (u ? 1u : 0u))
        untranslatable(r, "metadata");
    scan_json(r, KSM_AI_ROLE_SYSTEM, SIZE_MAX, v, 1, false);
    return KSM_E_OK;
}

/* Client tools ({"name","description"?,"input_schema"}, maybe "type":"custom" and a cache_control
 * hint) become OpenAI functions; server tools (web search, code execution, ...) run at Anthropic
 * and have no counterpart. */
static bool ant_tool_ok(const json_t *t)
{
    const char *type = json_string_value(json_object_get(t, "type"));
    return (!type || !strcmp(type, "custom")) && is_str(t, "name") &&
           json_is_object(json_object_get(t, "input_schema")) &&
           (!json_object_get(t, "description") || is_str(t, "description")) &&
           only_keys(t, (const char *const[]){"type", "name", "description", "input_schema",
                                              "cache_control", NULL});
}

static enum ksm_err ant_tools(struct ksm_ai_request *r, json_t *v, char *err)
{
    (void)err;
    check_tools(r, v, ant_tool_ok);
    return KSM_E_OK;
}

static enum ksm_err ant_tool_choice(struct ksm_ai_request *r, json_t *v, char *err)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    json_t *dp = json_object_get(v, "disable_parallel_tool_use");
    (void)err;
    if (!type || (strcmp(type, "auto") && strcmp(type, "any") && strcmp(type, "none") &&
                  (strcmp(type, "tool") || !is_str(v, "name"))) ||
        (dp && !json_is_boolean(dp)) ||
        !only_keys(v, (const char *const[]){"type", "name", "disable_parallel_tool_use", NULL}))
        untranslatable(r, "tool_choice");
    return KSM_E_OK;
}

/* A text block: {"type":"text","text":...} plus cache_control (a caching hint that does not change
 * the output, so it may be dropped when translating) or citations (which may not). */
static enum ksm_err ant_text_block(struct ksm_ai_request *r, enum ksm_ai_role role, size_t msg,
                                   json_t *b, const char *where, char *err)
{
    json_t *t = json_object_get(b, "text");
    const char *key;
    json_t *v;
    if (!json_is_string(t))
        return fail(err, KSM_E_INVALID_ARGUMENT, "%s.text: must be a string", where);
    add_part(r, role, msg, t);
    json_object_foreach(b, key, v)
        if (!ksm_ai_listed((const char *const[]){"type", "text", "cache_control", NULL}, key)) {
            untranslatable(r, "%s.%s", where, key);
            scan_json(r, role, msg, v, 1, false);   /* citations */
        }
    return KSM_E_OK;
}

/* Text blocks inside a block (a document's content source, a search result): their texts are parts
 * of the message; false if one is anything else. */
static bool ant_inner_texts(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i, json_t *blocks)
{
    size_t k;
    json_t *t;
    if (json_is_string(blocks)) {
        push_part(r, role, i, blocks, true, KSM_AI_SEAL_NONE);
        return true;
    }
    json_array_foreach(blocks, k, t) {
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!type || strcmp(type, "text") || !is_str(t, "text"))
            return false;
    }
    json_array_foreach(blocks, k, t)
        push_part(r, role, i, json_object_get(t, "text"), true, KSM_AI_SEAL_NONE);
    return json_is_array(blocks);
}

/* A document the caller attached, when it is text: a plain-text source or a content source of
 * text blocks (its title and context are read too). A PDF, an image or a URL cannot be read. */
static bool ant_document(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i, json_t *b)
{
    json_t *src = json_object_get(b, "source");
    const char *type = json_string_value(json_object_get(src, "type"));
    if (!type)
        return false;
    if (!strcmp(type, "text") && is_str(src, "data"))
        push_part(r, role, i, json_object_get(src, "data"), true, KSM_AI_SEAL_NONE);
    else if (strcmp(type, "content") || !ant_inner_texts(r, role, i, json_object_get(src, "content")))
        return false;
    scan_others(r, role, i, b, (const char *const[]){"type", "source", NULL});
    return true;
}

/* A search result the caller supplies for citations: its text blocks, source and title. */
static bool ant_search_result(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i, json_t *b)
{
    if (!ant_inner_texts(r, role, i, json_object_get(b, "content")))
        return false;
    scan_others(r, role, i, b, (const char *const[]){"type", "content", NULL});
    return true;
}

/* The model's own reasoning from an earlier turn, which a tool loop must send back as it came: it
 * holds placeholders, not values (thinking is not restored on the way out), so it is read like any
 * text — sealed: refused, not rewritten, if it holds a value a rule would change. */
static bool ant_thinking(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i, json_t *b)
{
    json_t *thought = json_object_get(b, "thinking");
    if (!json_is_string(thought) || !is_str(b, "signature"))
        return false;
    push_part(r, role, i, thought, true, KSM_AI_SEAL_SIGNED);
    return true;
}

/* Reasoning the provider's safety systems encrypted (redacted_thinking): its data is opaque to all
 * but the provider that made it, from a prompt that went through the guardrail, and a tool loop
 * must send it back as it came. It goes; read as a sealed part all the same, so that a value a
 * caller wrote into it in plain text is refused like one in a signed block. */
static bool ant_redacted_thinking(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i,
                                  json_t *b)
{
    if (!is_str(b, "data"))
        return false;
    push_part(r, role, i, json_object_get(b, "data"), true, KSM_AI_SEAL_SIGNED);
    return true;
}

/* Blocks that only a same-protocol route carries, and what the guardrail can read of them (in the
 * caller's turn, or in the model's). */
static const struct {
    const char *type;
    bool user;
    bool (*read)(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i, json_t *b);
} ant_readable[] = {
    {"document", true, ant_document},
    {"search_result", true, ant_search_result},
    {"thinking", false, ant_thinking},
    {"redacted_thinking", false, ant_redacted_thinking},
};

/* A block of a type other than text, tool_use and tool_result: read if it can be, or counted as
 * content the guardrail cannot read (an image, a PDF, a URL the provider fetches). */
static void ant_read_other(struct ksm_ai_request *r, enum ksm_ai_role role, size_t i, json_t *b,
                           const char *type)
{
    bool user = r->msgs[i].role == KSM_AI_ROLE_USER;
    for (size_t t = 0; t < KSM_NELEM(ant_readable); t++)
        if (!strcmp(type, ant_readable[t].type) && ant_readable[t].user == user &&
            ant_readable[t].read(r, role, i, b))
            return;
    r->nunscanned++;
}

static enum ksm_err ant_tool_result(struct ksm_ai_request *r, size_t i, json_t *b, const char *where,
                                    char *err)
{
    json_t *c = json_object_get(b, "content"), *p;
    size_t k;
    char sub[96];
    enum ksm_err e;
    if (json_is_string(c)) {
        add_part(r, KSM_AI_ROLE_TOOL, i, c);
        return KSM_E_OK;
    }
    json_array_foreach(c, k, p) {
        snprintf(sub, sizeof(sub), "%s.content[%zu]", where, k);
        if (!json_is_object(p) || !json_is_string(json_object_get(p, "type")))
            return fail(err, KSM_E_INVALID_ARGUMENT, "%s.type: missing", sub);
        const char *type = json_string_value(json_object_get(p, "type"));
        if (strcmp(type, "text")) {
            ant_read_other(r, KSM_AI_ROLE_TOOL, i, p, type);
            untranslatable(r, "%s (%s)", sub, type);
        } else if ((e = ant_text_block(r, KSM_AI_ROLE_TOOL, i, p, sub, err)) != KSM_E_OK)
            return e;
    }
    return KSM_E_OK;
}

static enum ksm_err ant_block(struct ksm_ai_request *r, size_t i, size_t k, json_t *b, char *err)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    char where[64];
    snprintf(where, sizeof(where), "messages[%zu].content[%zu]", i, k);
    if (!json_is_object(b) || !type)
        return fail(err, KSM_E_INVALID_ARGUMENT, "%s.type: missing", where);
    if (!strcmp(type, "text"))
        return ant_text_block(r, r->msgs[i].role, i, b, where, err);
    bool user = r->msgs[i].role == KSM_AI_ROLE_USER;
    if (!strcmp(type, "tool_result")) {
        /* an OpenAI tool message says: which call, and text; an error flag it cannot carry */
        if (!user || !is_str(b, "tool_use_id") || json_is_true(json_object_get(b, "is_error")) ||
            !only_keys(b, (const char *const[]){"type", "tool_use_id", "content", "is_error",
                                                "cache_control", NULL}))
            untranslatable(r, "%s (%s)", where, type);
        return ant_tool_result(r, i, b, where, err);
    }
    if (!strcmp(type, "tool_use")) {
        if (user || !is_str(b, "id") || !is_str(b, "name") ||
            !json_is_object(json_object_get(b, "input")) ||
            !only_keys(b, (const char *const[]){"type", "id", "name", "input", "cache_control",
                                                NULL}))
            untranslatable(r, "%s (%s)", where, type);
        scan_json(r, KSM_AI_ROLE_ASSISTANT, i, json_object_get(b, "input"), 0, true);
        return KSM_E_OK;
    }
    untranslatable(r, "%s (%s)", where, type);
    ant_read_other(r, r->msgs[i].role, i, b, type);
    return KSM_E_OK;
}

static enum ksm_err ant_message(struct ksm_ai_request *r, size_t i, json_t *m, char *err)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    json_t *c = json_object_get(m, "content"), *b;
    size_t k;
    enum ksm_err e;
    if (!json_is_object(m) || !role)
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].role: missing", i);
    if (strcmp(role, "user") && strcmp(role, "assistant"))
        return fail(err, KSM_E_INVALID_ARGUMENT,
                    "messages[%zu].role: must be user or assistant (system is a top-level field)", i);
    r->msgs[i].role = role[0] == 'u' ? KSM_AI_ROLE_USER : KSM_AI_ROLE_ASSISTANT;
    if (json_object_size(m) != 2)
        untranslatable(r, "messages[%zu]", i);
    scan_others(r, r->msgs[i].role, i, m, (const char *const[]){"role", "content", NULL});
    if (json_is_string(c)) {
        add_part(r, r->msgs[i].role, i, c);
        return KSM_E_OK;
    }
    if (!json_is_array(c))
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages[%zu].content: must be a string or an array",
                    i);
    json_array_foreach(c, k, b)
        if ((e = ant_block(r, i, k, b, err)) != KSM_E_OK)
            return e;
    return KSM_E_OK;
}

static enum ksm_err ant_system(struct ksm_ai_request *r, json_t *v, char *err)
{
    size_t k;
    json_t *b;
    char where[32];
    enum ksm_err e;
    if (json_is_string(v)) {
        add_part(r, KSM_AI_ROLE_SYSTEM, SIZE_MAX, v);
        return KSM_E_OK;
    }
    if (!json_is_array(v))
        return fail(err, KSM_E_INVALID_ARGUMENT, "system: must be a string or an array of text blocks");
    json_array_foreach(v, k, b) {
        snprintf(where, sizeof(where), "system[%zu]", k);
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!type || strcmp(type, "text"))
            return fail(err, KSM_E_INVALID_ARGUMENT, "%s: must be a text block", where);
        if ((e = ant_text_block(r, KSM_AI_ROLE_SYSTEM, SIZE_MAX, b, where, err)) != KSM_E_OK)
            return e;
    }
    return KSM_E_OK;
}

/* ---- the tables -------------------------------------------------------------------------------- */

typedef enum ksm_err (*msg_fn)(struct ksm_ai_request *r, size_t i, json_t *m, char *err);

static const struct field oai_fields[] = {
    {"model", f_model, REQUIRED},
    {"messages", NULL, REQUIRED},   /* decoded after the table, once the order of fields is irrelevant */
    {"max_tokens", f_max_tokens, OPTIONAL},
    {"max_completion_tokens", f_max_tokens, OPTIONAL},
    {"temperature", oai_temperature, OPTIONAL},
    {"top_p", f_top_p, OPTIONAL},
    {"stop", oai_stop, OPTIONAL},
    {"stream", f_stream, OPTIONAL},
    {"stream_options", oai_stream_options, OPTIONAL},
    {"user", oai_user, OPTIONAL},
    {"n", oai_n, OPTIONAL},
    {"tools", oai_tools, OPTIONAL},
    {"tool_choice", oai_tool_choice, OPTIONAL},
    {"parallel_tool_calls", oai_parallel_tool_calls, OPTIONAL},
};

static const struct field ant_fields[] = {
    {"model", f_model, REQUIRED},
    {"messages", NULL, REQUIRED},
    {"max_tokens", f_max_tokens, TO_ANSWER},
    {"system", ant_system, OPTIONAL},
    {"temperature", ant_temperature, OPTIONAL},
    {"top_p", f_top_p, OPTIONAL},
    {"top_k", ant_top_k, OPTIONAL},
    {"stop_sequences", ant_stop, OPTIONAL},
    {"stream", f_stream, OPTIONAL},
    {"metadata", ant_metadata, OPTIONAL},
    {"tools", ant_tools, OPTIONAL},
    {"tool_choice", ant_tool_choice, OPTIONAL},
};

static const struct {
    const struct field *fields;
    size_t nfields;
    msg_fn message;
} apis[] = {
    [KSM_AI_OPENAI] = {oai_fields, KSM_NELEM(oai_fields), oai_message},
    [KSM_AI_ANTHROPIC] = {ant_fields, KSM_NELEM(ant_fields), ant_message},
};

static const struct field *find_field(enum ksm_ai_proto p, const char *name)
{
    for (size_t i = 0; i < apis[p].nfields; i++)
        if (!strcmp(apis[p].fields[i].name, name))
            return &apis[p].fields[i];
    return NULL;
}

static enum ksm_err decode_fields(struct ksm_ai_request *r, bool counting, char *err)
{
    const char *key;
    json_t *v;
    enum ksm_err e;
    json_object_foreach(r->body, key, v) {
        const struct field *f = find_field(r->proto, key);
        if (json_is_null(v) && !(f && f->need != OPTIONAL))
            continue;
        if (!f) {
            untranslatable(r, "%s", key);
            scan_json(r, KSM_AI_ROLE_SYSTEM, SIZE_MAX, v, 1, false);
        } else if (f->fn && (e = f->fn(r, v, err)) != KSM_E_OK)
            return e;
    }
    for (size_t i = 0; i < apis[r->proto].nfields; i++) {
        const struct field *f = &apis[r->proto].fields[i];
        bool needed = f->need == REQUIRED || (f->need == TO_ANSWER && !counting);
        if (needed && !json_object_get(r->body, f->name))
            return fail(err, KSM_E_INVALID_ARGUMENT, "%s: required", f->name);
    }
    return KSM_E_OK;
}

static enum ksm_err decode_messages(struct ksm_ai_request *r, char *err)
{
    json_t *ms = json_object_get(r->body, "messages"), *m;
    size_t i;
    enum ksm_err e;
    if (!json_is_array(ms) || !json_array_size(ms))
        return fail(err, KSM_E_INVALID_ARGUMENT, "messages: must be a non-empty array");
    r->nmsgs = json_array_size(ms);
    r->msgs = ksm_xcalloc(r->nmsgs, sizeof(*r->msgs));
    json_array_foreach(ms, i, m)
        if ((e = apis[r->proto].message(r, i, m, err)) != KSM_E_OK)
            return e;
    return KSM_E_OK;
}

static enum ksm_err decode_as(enum ksm_ai_proto proto, bool counting, const char *body, size_t len,
                              struct ksm_ai_request *req, char err[KSM_AI_ERR_MAX])
{
    json_error_t jerr;
    enum ksm_err e;

    memset(req, 0, sizeof(*req));
    err[0] = '\0';
    if ((unsigned)proto > KSM_AI_ANTHROPIC)
        return fail(err, KSM_E_INTERNAL, "unknown protocol");
    req->proto = proto;
    /* Duplicate keys are refused: the scanner and the provider must read the same prompt. The
     * gateway's own reader builds the same tree faster; what it leaves, jansson reads or words. */
    ksm_json_zone_begin(&req->zone);   /* the tree's ~40 nodes: no malloc and free each */
    req->body = ksm_jscan_load_top(body, len, req->rawm, KSM_AI_RAW_MEMBERS, &req->nraw,
                                   &req->raw_close);
    ksm_json_zone_end();
    if (req->body) {
        req->raw = body;
        req->raw_len = len;
    } else {
        req->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!req->body) {
        e = fail(err, KSM_E_INVALID_JSON, "invalid JSON at line %d column %d", jerr.line,
                 jerr.column);
        goto fail;
    }
    if (!json_is_object(req->body)) {
        e = fail(err, KSM_E_INVALID_JSON, "the body must be a JSON object");
        goto fail;
    }
    if ((e = decode_fields(req, counting, err)) != KSM_E_OK ||
        (e = decode_messages(req, err)) != KSM_E_OK)
        goto fail;
    return KSM_E_OK;
fail:
    ksm_ai_request_free(req);
    return e;
}

enum ksm_err ksm_ai_request_decode(enum ksm_ai_proto proto, const char *body, size_t len,
                                   struct ksm_ai_request *req, char err[KSM_AI_ERR_MAX])
{
    return decode_as(proto, false, body, len, req, err);
}

enum ksm_err ksm_ai_count_request_decode(const char *body, size_t len, struct ksm_ai_request *req,
                                         char err[KSM_AI_ERR_MAX])
{
    return decode_as(KSM_AI_ANTHROPIC, true, body, len, req, err);
}

void ksm_ai_request_free(struct ksm_ai_request *req)
{
    json_decref(req->body);
    json_decref(req->stop);
    json_decref(req->numbers);
    ksm_json_zone_release(&req->zone);   /* after every reference to the tree is gone */
    free(req->msgs);
    free(req->parts);
    memset(req, 0, sizeof(*req));
}

const char *ksm_ai_part_text(const struct ksm_ai_part *p, size_t *len)
{
    if (len)
        *len = json_string_length(p->node);
    return json_string_value(p->node);
}

int ksm_ai_part_set_text(struct ksm_ai_request *req, struct ksm_ai_part *p, const char *text,
                         size_t len)
{
    if (memchr(text, '\0', len) || !ksm_utf8_valid(text, len))
        return -1;
    req->rewritten = true;
    return json_string_setn(p->node, text, len);
}

enum ksm_err ksm_ai_request_visit(struct ksm_ai_request *req, unsigned role_mask, ksm_ai_part_fn fn,
                                  void *ud)
{
    for (size_t i = 0; i < req->nparts; i++) {
        if (!(role_mask & (1u << req->parts[i].role)))
            continue;
        enum ksm_err e = fn(ud, &req->parts[i]);
        if (e != KSM_E_OK)
            return e;
    }
    return KSM_E_OK;
}

size_t ksm_ai_request_text_len(const struct ksm_ai_request *req, unsigned role_mask)
{
    size_t total = 0;
    for (size_t i = 0; i < req->nparts; i++)
        if (role_mask & (1u << req->parts[i].role))
            total += json_string_length(req->parts[i].node) + 1;
    return total;
}

void ksm_ai_request_text(const struct ksm_ai_request *req, unsigned role_mask, struct ksm_buf *out)
{
    /* one allocation for the whole text, not a doubling series */
    ksm_buf_reserve(out, ksm_ai_request_text_len(req, role_mask));
    for (size_t i = 0; i < req->nparts; i++) {
        if (!(role_mask & (1u << req->parts[i].role)))
            continue;
        ksm_buf_append(out, json_string_value(req->parts[i].node),
                       json_string_length(req->parts[i].node));
        ksm_buf_putc(out, '\n');
    }
}
