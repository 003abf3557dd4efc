/* ai_governed.c — govcloud's side of the governed path (SPEC.md O4). In govcloud a target outside
 * Japan can only be an allow-listed endpoint, and the allow-list is where the operator registers
 * the overseas AI environment (docs/overseas.md): such a target is reached as govcloud's relay. The
 * request goes with the route's credential (the relay's api key in overseas-ai) and names the
 * tenant by its 法人番号, the project by its name and the classification govcloud applied, since
 * ids are each environment's own. overseas-ai bills the inference under its own account, so
 * govcloud records the forwarded request without charge. */
#include <stdio.h>
#include <string.h>

#include "admin/app.h"
#include "ai/ai_int.h"

bool ksm_ai_governed(const struct ai_call *c, const struct ksm_ai_target *t)
{
    const struct ksm_app *app = c->r->worker->app;
    return app->conf->env_kind == KSM_ENV_GOVCLOUD && strcmp(t->jurisdiction, "JP") != 0;
}

bool ksm_ai_all_governed(const struct ai_call *c)
{
    for (int i = 0; i < c->norder; i++)
        if (!ksm_ai_governed(c, &c->route.targets[c->order[i]]))
            return false;
    return c->norder > 0;
}

/* RFC 3986 unreserved characters stay; every other byte (UTF-8 of a Japanese name) is %XX, so the
 * header is plain ASCII. */
static char *pct_encode(struct ksm_arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = ksm_arena_alloc(a, 3 * n + 1), *p = out;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
            strchr("-._~", *q)) {
            *p++ = (char)*q;
        } else {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 15];
        }
    }
    *p = '\0';
    return out;
}

enum ksm_err ksm_ai_governed_prepare(struct ai_call *c)
{
    char cn[16], name[256];
    enum ksm_err e = ksm_iam_contract_names(&c->r->worker->db, c->tenant, c->project, cn, name,
                                            sizeof name);
    if (e != KSM_E_OK)
        return e;
    struct ksm_arena *a = c->r->arena;
    c->relay_tenant = ksm_arena_printf(a, "X-Kasumi-On-Behalf-Tenant: %s", cn);
    c->relay_project = ksm_arena_printf(a, "X-Kasumi-On-Behalf-Project: %s", pct_encode(a, name));
    c->relay_class = ksm_arena_printf(a, "X-Kasumi-Classification: %d", c->classification);
    return KSM_E_OK;
}

int ksm_ai_governed_headers(const struct ai_call *c, const struct ksm_ai_target *t, const char **h)
{
    if (!ksm_ai_governed(c, t) || !c->relay_tenant)
        return 0;
    h[0] = c->relay_tenant;
    h[1] = c->relay_project;
    h[2] = c->relay_class;
    return 3;
}
