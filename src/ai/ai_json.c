/* ai_json.c — strict decoding of the AI admin bodies, which nest (targets[],
 * pii{}, thresholds[]): the rules of src/admin/reqjson.c (UTF-8 checked before
 * parsing, duplicate keys refused, unknown fields refused, null = absent for
 * optional fields), applied to any object of the body through a field table,
 * with the field's path in the message ("targets[1].jurisdiction"). */
#include "ai/ai_store_int.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

enum ksm_err ksm_ai_json_load(const char *body, size_t len, json_t **out, char *why)
{
    json_error_t jerr;
    *out = NULL;
    if (!body || !len || !ksm_utf8_valid(body, len)) {
        snprintf(why, KSM_AI_WHY, "the body must be a UTF-8 JSON object");
        return KSM_E_INVALID_JSON;
    }
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        if (root)
            snprintf(why, KSM_AI_WHY, "the body must be a JSON object");
        else
            snprintf(why, KSM_AI_WHY, "invalid JSON at line %d column %d", jerr.line, jerr.column);
        json_decref(root);
        return KSM_E_INVALID_JSON;
    }
    *out = root;
    return KSM_E_OK;
}

static const char *const type_names[] = {
    [KSM_AI_J_STR] = "a string",
    [KSM_AI_J_INT] = "an integer",
    [KSM_AI_J_BOOL] = "a boolean",
    [KSM_AI_J_ARR] = "an array",
    [KSM_AI_J_OBJ] = "an object",
    [KSM_AI_J_YEN] = "an amount of yen: an integer or a decimal string, at most 6 decimals",
};

/* A yen amount: an integer, or a string such as "0.15"; never a float, whose
 * binary value is not the decimal the operator wrote. */
static bool store_yen(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t y = json_integer_value(v);
        if (y < 0 || y > KSM_AI_YEN_MAX)
            return false;
        *out = (int64_t)y * 1000000;
        return true;
    }
    return json_is_string(v) && ksm_ai_yen_parse(json_string_value(v), out) == 0;
}

static bool store(const struct ksm_ai__jf *f, json_t *v)
{
    switch (f->type) {
    case KSM_AI_J_STR:
        if (!json_is_string(v))
            return false;
        *(const char **)f->out = json_string_value(v);
        return true;
    case KSM_AI_J_INT:
        if (!json_is_integer(v))
            return false;
        *(int64_t *)f->out = (int64_t)json_integer_value(v);
        return true;
    case KSM_AI_J_BOOL:
        if (!json_is_boolean(v))
            return false;
        *(bool *)f->out = json_is_true(v);
        return true;
    case KSM_AI_J_ARR:
    case KSM_AI_J_OBJ:
        if (f->type == KSM_AI_J_ARR ? !json_is_array(v) : !json_is_object(v))
            return false;
        *(json_t **)f->out = v;
        return true;
    case KSM_AI_J_YEN:
        return store_yen(v, f->out);
    }
    return false;
}

static const struct ksm_ai__jf *find(const struct ksm_ai__jf *spec, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(spec[i].name, key))
            return &spec[i];
    return NULL;
}

enum ksm_err ksm_ai__fields(json_t *obj, const char *where, const struct ksm_ai__jf *spec, size_t n,
                            char *why)
{
    const char *dot = *where ? "." : "", *key;
    json_t *v;
    for (size_t i = 0; i < n; i++)
        if (spec[i].present)
            *spec[i].present = false;
    if (!json_is_object(obj)) {
        snprintf(why, KSM_AI_WHY, "%s must be an object", *where ? where : "the body");
        return *where ? KSM_E_INVALID_ARGUMENT : KSM_E_INVALID_JSON;
    }
    json_object_foreach(obj, key, v)
    {
        const struct ksm_ai__jf *f = find(spec, n, key);
        if (!f) {
            /* the key comes from the client: quote at most 64 bytes of it, on a UTF-8
             * boundary */
            int len = (int)strlen(key);
            if (len > 64)
                for (len = 64; len > 0 && ((unsigned char)key[len] & 0xc0) == 0x80;)
                    len--;
            snprintf(why, KSM_AI_WHY, "unknown field \"%s%s%.*s\"", where, dot, len, key);
            return KSM_E_UNKNOWN_FIELD;
        }
        if (json_is_null(v) && !f->required)
            continue;
        if (!store(f, v)) {
            snprintf(why, KSM_AI_WHY, "field \"%s%s%s\" must be %s", where, dot, f->name,
                     type_names[f->type]);
            return KSM_E_INVALID_ARGUMENT;
        }
        if (f->present)
            *f->present = true;
    }
    for (size_t i = 0; i < n; i++)
        if (spec[i].required && !json_object_get(obj, spec[i].name)) {
            snprintf(why, KSM_AI_WHY, "field \"%s%s%s\" is required", where, dot, spec[i].name);
            return KSM_E_INVALID_ARGUMENT;
        }
    return KSM_E_OK;
}
