/* h_supply_review.c — the review workflow's steps (submit, review, advice, resolve), the case's
 * history, and the concern matches a reviewer reads before advising. Each step is its own route,
 * so the audit log names it (supply.case.submit, ...) with the principal who took it. */
#include <string.h>

#include "admin/h_supply.h"
#include "admin/reqjson.h"

static enum ksm_err step(struct ksm_req *r, const char *action)
{
    char why[KSM_SUPPLY_WHY] = "";
    json_t *body = NULL, *o = NULL;
    enum ksm_err e = ksm_h_supply_case_access(r);
    if (e == KSM_E_OK)
        e = ksm_h_supply_body(r, &body);
    if (e != KSM_E_OK)
        return e;
    if (strcmp(action, "resolve") && json_object_size(body)) {
        json_decref(body);
        return ksm_fail(r, KSM_E_UNKNOWN_FIELD, "%s takes no body", action);
    }
    e = ksm_supply_transition(KSM_H_DB(r), r->params[0], action, ksm_h_supply_actor(r), body, &o,
                              why);
    json_decref(body);
    return ksm_h_supply_reply(r, 200, e, o, why);
}

enum ksm_err ksm_h_supply_submit(struct ksm_req *r) { return step(r, "submit"); }
enum ksm_err ksm_h_supply_review(struct ksm_req *r) { return step(r, "review"); }
enum ksm_err ksm_h_supply_resolve(struct ksm_req *r) { return step(r, "resolve"); }

enum ksm_err ksm_h_supply_advise(struct ksm_req *r)
{
    return ksm_h_supply_case_write(r, ksm_supply_advise);
}

enum ksm_err ksm_h_supply_events(struct ksm_req *r)
{
    return ksm_h_supply_case_read(r, ksm_supply_events);
}

enum ksm_err ksm_h_supply_concern_matches(struct ksm_req *r)
{
    json_t *o = NULL;
    enum ksm_err e = ksm_h_supply_case_access(r);
    if (e != KSM_E_OK)
        return e;
    e = ksm_supply_concern_match(KSM_H_DB(r), r->params[0], &o);
    return ksm_h_supply_reply(r, 200, e, o, NULL);
}
