/* reqjson.h — strict decoding of admin API request bodies. A body must be valid UTF-8 holding one
 * JSON object without duplicate keys; each request declares its fields in a table (name, type,
 * required, where to store the value). An unknown field is UNKNOWN_FIELD, a wrong type or a missing
 * required field INVALID_ARGUMENT, a body that is not a JSON object INVALID_JSON; the detail names
 * the field. JSON null for an optional field means "absent". Strings are copied into the arena, so
 * they live as long as the request. */
#ifndef KSM_REQJSON_H
#define KSM_REQJSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admin/route.h"
#include "core/arena.h"
#include "core/error.h"

enum ksm_jtype {
    KSM_J_STRING,   /* out: const char ** */
    KSM_J_INT,      /* out: int64_t * (integers only, no fractions or exponents) */
    KSM_J_BOOL,     /* out: bool * */
    KSM_J_OBJECT,   /* out: const char ** — the object re-encoded as compact JSON */
};

struct ksm_jfield {
    const char *name;
    enum ksm_jtype type;
    bool required;
    void *out;       /* left untouched when the field is absent */
    bool *present;   /* optional: set to whether the field was given (and not null) */
};

/* Decodes body (len bytes) against spec. OK, or an error with *detail (arena string) naming the
 * field or the problem. */
enum ksm_err ksm_json_decode(struct ksm_arena *a, const char *body, size_t len,
                             const struct ksm_jfield *spec, size_t nspec, const char **detail);

/* Pagination: ?limit= (1..max, default def). -1 when s is not such a number. */
int ksm_json_parse_limit(const char *s, int def, int max);

/* For handlers: decodes r's body; on failure returns ksm_fail(r, ...) with the detail. */
static inline enum ksm_err ksm_req_json(struct ksm_req *r, const struct ksm_jfield *spec,
                                        size_t nspec)
{
    const char *detail = NULL;
    enum ksm_err e = ksm_json_decode(r->arena, r->body.data, r->body.len, spec, nspec, &detail);
    return e == KSM_E_OK ? e : ksm_fail(r, e, "%s", detail);
}

/* ksm_fail with a detail that may be NULL (then the error's default message). NOT_FOUND always gets
 * the dispatcher's one message, so that "exists in another tenant" and "does not exist" read the
 * same. */
static inline enum ksm_err ksm_fail_why(struct ksm_req *r, enum ksm_err e, const char *why)
{
    if (e == KSM_E_NOT_FOUND)
        why = "no such resource";
    else if (!why)
        why = ksm_err_message(e);
    return ksm_fail(r, e, "%s", why);
}

/* ?limit= (default 100, at most 1000) and ?cursor= (the last id of the previous page). */
static inline enum ksm_err ksm_req_page(struct ksm_req *r, int *limit, const char **cursor)
{
    *limit = ksm_json_parse_limit(ksm_req_query(r, "limit"), 100, 1000);
    *cursor = ksm_req_query(r, "cursor");
    if (*limit < 0)
        return ksm_fail(r, KSM_E_INVALID_ARGUMENT, "limit must be an integer from 1 to 1000");
    return KSM_E_OK;
}

/* Replies {"items":[...]} plus "next_cursor" (next, when not NULL). Steals items. */
static inline enum ksm_err ksm_reply_page(struct ksm_req *r, json_t *items, const char *next)
{
    json_t *body = json_pack("{s:o}", "items", items);
    if (next)
        json_object_set_new(body, "next_cursor", json_string(next));
    return ksm_reply_json(r, 200, body);
}

/* A list of some owner's resources (a tenant's users, a project's routes): ?limit and ?cursor in,
 * {"items", "next_cursor"} out; the owner is params[0]. */
typedef enum ksm_err (*ksm_owner_list_fn)(struct ksm_db *db, const char *owner, const char *after,
                                          int limit, json_t *items);
enum ksm_err ksm_reply_owner_list(struct ksm_req *r, ksm_owner_list_fn list, bool owner_is_tenant);

/* The audit record's tenant, project and target: copied into the arena; NULL or "" = none. */
static inline void ksm_req_audit(struct ksm_req *r, const char *tenant, const char *project,
                                 const char *target)
{
    if (tenant && *tenant)
        r->audit_tenant = ksm_arena_strdup(r->arena, tenant);
    if (project && *project)
        r->audit_project = ksm_arena_strdup(r->arena, project);
    if (target && *target)
        r->audit_target = ksm_arena_strdup(r->arena, target);
}

#endif
