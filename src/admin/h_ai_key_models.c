/* h_ai_key_models.c — /admin/v1/projects/{project}/keys/{key}/models: which of the project's
 * models an API key may call there (src/ai/ai_key_models.c). The dispatcher authorises at the
 * project (ai.policy.*: what a key may reach is the project's access policy). */
#include "admin/handlers.h"
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

static const struct ksm_h_ai_key_setting models = {ksm_ai_key_models_set, ksm_ai_key_models_delete,
                                                   reply, "models", "ai.policy.read"};

enum ksm_err ksm_h_ai_key_models(struct ksm_req *r) { return ksm_h_ai_key_setting(r, &models); }
