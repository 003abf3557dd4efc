/* ai_health.h — passive health of model servers: a target that keeps failing is set aside for a
 * while, so that callers stop paying its time-outs, and then given one request to prove itself.
 *
 * What the operator of Envoy (outlier detection), nginx (max_fails / fail_timeout) or Azure API
 * Management (a circuit breaker in front of OpenAI backends) expects. A target is one model on one
 * server under one credential, for one tenant (a 429 for one key says nothing of another's, and no
 * tenant's failures move another's calls); its state is shared by that tenant's routes and by every
 * worker. Nothing is refused for health alone: a target set
 * aside is tried after the others, so a route whose every target is set aside still tries them. */
#ifndef KSM_AI_HEALTH_H
#define KSM_AI_HEALTH_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ai/ai_store.h"

/* [ai] eject_after (consecutive failures; 0: never set a target aside) and eject_ms (the first time
 * aside; doubled for each failed probe since the target last answered, up to 16 times). */
void ksm_ai_health_configure(int eject_after, int eject_ms);

/* The identity of a target of a tenant's route (the tenant; the target's provider, base URL, model,
 * credential and Azure deployment), as the health table's key; computed when a route is read, so a
 * request hashes nothing. Never 0. The tenant is part of it: one tenant's calls never change how
 * another's are routed (a tenant could make a shared server fail for its own requests). */
uint64_t ksm_ai_health_key(const char *tenant, const struct ksm_ai_target *t);

/* Reorders order[0..n) (indexes into targets) for one request and fills slot[target index] (-1:
 * not tracked): a target whose time aside is over and that no other request is probing goes first
 * (this request is its probe), the targets in service keep their order, those set aside go last.
 * With one target (n < 2) nothing is ordered or tracked: it is tried whatever its state, and each
 * call keeps its own retry. */
int ksm_ai_health_order(const char *tenant, const struct ksm_ai_target *targets, int *order, int n,
                        int16_t *slot);
/* Returns the slot of the target this call probes, or -1: a call that ends before it tried that
 * target (refused by the budget, the caller gone) gives the probe back for the next call. */
void ksm_ai_health_unclaim(int slot);

/* The outcome of one exchange with a target: ok is any answer but a 429 or a 5xx. retry_after_s
 * (a 429's or 503's Retry-After, else <= 0) lengthens a time aside. true: the target is aside now
 * (this failure set it aside, or it already was), so the call should not try it again. */
bool ksm_ai_health_report(int slot, bool ok, long retry_after_s);

/* Calls in flight to a target, for its max_concurrent (0: no limit): true and counted when under
 * it — or always with force (the call has no other target left: the server queues it). Every
 * counted call is released once, when its exchange ends. */
bool ksm_ai_health_acquire(int slot, int max_concurrent, bool force);
void ksm_ai_health_release(int slot);

/* {"state": "healthy"|"ejected"|"probing", "consecutive_failures", "ejections", "in_flight",
 * "ejected_until"?, "last_failure"?} for a route's target in the admin API; for a target no call
 * has been planned on since the daemon started, {"state": "unknown"} — or "untracked" when it is
 * its route's only target (lone), which is never tracked. */
json_t *ksm_ai_health_json(uint64_t key, bool lone);

/* kasumi_ai_target_ejections_total, kasumi_ai_target_ejected and kasumi_ai_target_in_flight, per
 * tenant, upstream and model. */
void ksm_ai_health_metrics_register(void);

#endif
