/* reqjson.c — the strict request-body decoder (see reqjson.h). jansson parses (rejecting duplicate
 * keys, trailing bytes and NUL characters in strings); this file checks the bytes are UTF-8 first,
 * so no parser ever sees anything else, and then walks the object against the field table. */
#include "admin/reqjson.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Field names in messages come from the client: cut them short, on a character boundary. */
static const char *field_name(struct ksm_arena *a, const char *key)
{
    size_t n = strlen(key);
    if (n <= 64)
        return ksm_arena_strdup(a, key);
    n = 64;
    while (n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80)
        n--;
    return ksm_arena_printf(a, "%.*s...", (int)n, key);
}

static const struct ksm_jfield *spec_find(const struct ksm_jfield *spec, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(spec[i].name, key))
            return &spec[i];
    return NULL;
}

static const char *const type_names[] = {
    [KSM_J_STRING] = "a string",
    [KSM_J_INT] = "an integer",
    [KSM_J_BOOL] = "a boolean",
    [KSM_J_OBJECT] = "an object",
};

/* Stores v into f->out; false when its JSON type is not f's. */
static bool store(struct ksm_arena *a, const struct ksm_jfield *f, json_t *v)
{
    switch (f->type) {
    case KSM_J_STRING:
        if (!json_is_string(v))
            return false;
        *(const char **)f->out = ksm_arena_strndup(a, json_string_value(v), json_string_length(v));
        return true;
    case KSM_J_INT:
        if (!json_is_integer(v))
            return false;
        *(int64_t *)f->out = (int64_t)json_integer_value(v);
        return true;
    case KSM_J_BOOL:
        if (!json_is_boolean(v))
            return false;
        *(bool *)f->out = json_is_true(v);
        return true;
    case KSM_J_OBJECT: {
        if (!json_is_object(v))
            return false;
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        *(const char **)f->out = s ? ksm_arena_strdup(a, s) : "{}";
        free(s);
        return true;
    }
    }
    return false;
}

enum ksm_err ksm_json_decode(struct ksm_arena *a, const char *body, size_t len,
                             const struct ksm_jfield *spec, size_t nspec, const char **detail)
{
    json_error_t jerr;
    json_t *root = NULL;
    enum ksm_err e = KSM_E_INVALID_JSON;
    const char *key;
    json_t *v;

    *detail = "the body must be a JSON object";
    for (size_t i = 0; i < nspec; i++)
        if (spec[i].present)
            *spec[i].present = false;
    if (!body || !len)
        goto fail;
    if (!ksm_utf8_valid(body, len)) {
        *detail = "the body is not valid UTF-8";
        goto fail;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson quotes the offending token, cut at a byte count: it may not be UTF-8 */
        bool quotable = ksm_utf8_valid(jerr.text, strlen(jerr.text));
        *detail = ksm_arena_printf(a, "invalid JSON at line %d column %d%s%s", jerr.line,
                                   jerr.column, quotable ? ": " : "", quotable ? jerr.text : "");
        goto fail;
    }
    if (!json_is_object(root))
        goto fail;
    json_object_foreach(root, key, v) {
        const struct ksm_jfield *f = spec_find(spec, nspec, key);
        if (!f) {
            e = KSM_E_UNKNOWN_FIELD;
            *detail = ksm_arena_printf(a, "unknown field \"%s\"", field_name(a, key));
            goto fail;
        }
        if (json_is_null(v) && !f->required)
            continue;
        if (!store(a, f, v)) {
            e = KSM_E_INVALID_ARGUMENT;
            *detail = ksm_arena_printf(a, "field \"%s\" must be %s", f->name, type_names[f->type]);
            goto fail;
        }
        if (f->present)
            *f->present = true;
    }
    for (size_t i = 0; i < nspec; i++) {
        if (spec[i].required && !json_object_get(root, spec[i].name)) {
            e = KSM_E_INVALID_ARGUMENT;
            *detail = ksm_arena_printf(a, "field \"%s\" is required", spec[i].name);
            goto fail;
        }
    }
    json_decref(root);
    *detail = NULL;
    return KSM_E_OK;
fail:
    json_decref(root);
    return e;
}

int ksm_json_parse_limit(const char *s, int def, int max)
{
    if (!s)
        return def;
    if (!*s || strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
        return -1;
    long v = strtol(s, NULL, 10);
    return v >= 1 && v <= max ? (int)v : -1;
}

enum ksm_err ksm_reply_owner_list(struct ksm_req *r, ksm_owner_list_fn list, bool owner_is_tenant)
{
    const char *after, *next = NULL;
    int limit;
    enum ksm_err e = ksm_req_page(r, &limit, &after);
    if (e != KSM_E_OK)
        return e;
    json_t *items = json_array();
    if ((e = list(&r->worker->db, r->params[0], after, limit, items)) != KSM_E_OK) {
        json_decref(items);
        return ksm_fail_why(r, e, NULL);
    }
    if ((int)json_array_size(items) == limit)   /* a full page: the last id is where to go on */
        next = ksm_arena_strdup(r->arena, json_string_value(json_object_get(
                                              json_array_get(items, (size_t)limit - 1), "id")));
    if (owner_is_tenant)
        ksm_req_audit(r, r->params[0], NULL, NULL);
    return ksm_reply_page(r, items, next);
}
