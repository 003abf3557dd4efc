/* h_ai_key_models.c — /admin/v1/projects/{project}/keys/{key}/models: which of the project's
 * models an API key may call there (src/ai/ai_key_models.c). The dispatcher authorises at the
 * project (ai.policy.*: what a key may reach is the project's access policy). */
#include "admin/handlers.h"
#include "admin/reqjson.h"
#include "ai/ai_store.h"
#include "core/util.h"
#include "iam/iam.h"

#define DB(r) (&(r)->worker->db)

static enum ksm_err reply(struct ksm_req *r, const char *tenant)
{
    char allowed[KSM_AI_KEY_MODELS_MAX];
    if (ksm_ai_key_models_get(DB(r), r->params[0], r->params[1], allowed) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the key's models");
    return ksm_reply_json(r, 200, json_pack("{s:s,s:s,s:s,s:o}", "project", r->params[0], "tenant",
                                            tenant, "key", r->params[1], "models",
                                            ksm_ai_key_models_json(allowed)));
}

enum ksm_err ksm_h_ai_key_models_put(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN], why[KSM_AI_WHY] = "";
    json_t *body = NULL;
    enum ksm_err e = ksm_h_ai_key_of_project(r, tenant);
    if (e != KSM_E_OK || (e = ksm_h_ai_body(r, &body)) != KSM_E_OK)
        return e;
    e = ksm_ai_key_models_set(DB(r), tenant, r->params[0], r->params[1], body, why);
    json_decref(body);
    return e == KSM_E_OK ? reply(r, tenant) : ksm_fail_why(r, e, *why ? why : NULL);
}

enum ksm_err ksm_h_ai_key_models_get(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    enum ksm_err e = ksm_h_ai_key_of_project(r, tenant);
    return e == KSM_E_OK ? reply(r, tenant) : e;
}

enum ksm_err ksm_h_ai_key_models_delete(struct ksm_req *r)
{
    char tenant[KSM_ID_LEN];
    enum ksm_err e = ksm_h_ai_key_of_project(r, tenant);
    if (e != KSM_E_OK)
        return e;
    if ((e = ksm_ai_key_models_delete(DB(r), r->params[0], r->params[1])) != KSM_E_OK)
        return ksm_fail(r, e, "cannot remove the key's models");
    return reply(r, tenant);
}
