/* h_ai_key_rates.c — /admin/v1/projects/{project}/keys/{key}/rate-limits: an API key's own
 * requests and tokens a minute in a project, in place of the project's key_rpm and key_tpm for
 * that key (src/ai/ai_key_rates.c). Written under ai.policy.write (a quota is the project's
 * access policy); read under ai.policy.read or by the key's own user (h_ai_common.c). */
#include "admin/handlers.h"
#include "ai/ai_store.h"
#include "core/util.h"

#define DB(r) (&(r)->worker->db)

/* {project, tenant, key, rpm, tpm (null: the project's), applied_rpm, applied_tpm (in force now;
 * 0: no limit)} */
static enum ksm_err reply(struct ksm_req *r, const char *tenant)
{
    struct ksm_ai_key_rates kr;
    struct ksm_ai_policy pol;
    if (ksm_ai_key_rates_load(DB(r), r->params[0], r->params[1], &kr) != KSM_E_OK ||
        ksm_ai_policy_get(DB(r), r->params[0], &pol) != KSM_E_OK)
        return ksm_fail(r, KSM_E_INTERNAL, "cannot read the key's rate limits");
    json_t *o = ksm_ai_key_rates_json(&kr, &pol);
    json_object_set_new(o, "project", json_string(r->params[0]));
    json_object_set_new(o, "tenant", json_string(tenant));
    json_object_set_new(o, "key", json_string(r->params[1]));
    return ksm_reply_json(r, 200, o);
}

static const struct ksm_h_ai_key_setting rates = {ksm_ai_key_rates_set, ksm_ai_key_rates_delete,
                                                  reply, "rate limits", "ai.policy.read"};

enum ksm_err ksm_h_ai_key_rates(struct ksm_req *r) { return ksm_h_ai_key_setting(r, &rates); }
