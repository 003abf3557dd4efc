/* ai_guard.c — the classification guardrail (SPEC.md O4; issue item 7), applied before anything is
 * sent: 機密性3 never leaves Japan (and the tenant may forbid it everywhere); 機密性2 leaves only
 * where the tenant administrator enabled it for the project, and then masked; 1 goes wherever the
 * route allows. Unlabelled requests take the project's default, and no default means 2.
 * Personal identifiers are then masked or blocked per the project's rules; the placeholder mapping
 * stays in this request's memory and restores the values in the answer. */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_health.h"
#include "ai/ai_int.h"
#include "core/fmt.h"
#include "core/util.h"

/* In overseas-ai a project's default does not apply: a request is 機密性1 only when its caller
 * declares it (SPEC.md O4), and unlabelled counts as 2. */
int ksm_ai_default_class(const struct ksm_ai_policy *pol, enum ksm_env_kind env)
{
    return pol->default_classification && env == KSM_ENV_GOVCLOUD ? pol->default_classification : 2;
}

const char *ksm_ai_class_refusal(const struct ksm_ai_policy *pol, int cls, bool abroad)
{
    if (cls == 3 && pol->class3_forbidden)
        return "class3_forbidden_by_tenant";
    if (!abroad)
        return NULL;
    if (cls == 3)
        return "class3_never_leaves_japan";
    if (cls == 2 && !pol->class2_overseas)
        return "class2_overseas_not_enabled";
    return NULL;
}

static enum ksm_err classification(struct ai_call *c, enum ksm_env_kind env)
{
    const char *h = ksm_req_header(c->r, "x-kasumi-classification");
    if (!h) {
        c->classification = ksm_ai_default_class(&c->pol, env);
        return KSM_E_OK;
    }
    if ((h[0] < '1' || h[0] > '3') || h[1])
        return KSM_E_INVALID_ARGUMENT;
    c->classification = h[0] - '0';
    return KSM_E_OK;
}

static bool allow_listed(const struct ksm_conf *conf, const char *url)
{
    for (int i = 0; i < conf->ai_overseas_allow_n; i++)
        if (!strncmp(url, conf->ai_overseas_allow[i], strlen(conf->ai_overseas_allow[i])))
            return true;
    return false;
}

/* The API a kind of request needs its model served over: Anthropic has no embeddings, OpenAI's
 * API no token count. A chat goes to either (translated). */
static const struct {
    int api;               /* enum ksm_ai_proto, or -1: either */
    const char *refusal;   /* the reason a target of the other API is passed over */
    const char *what;
} needs[] = {
    [AI_CHAT] = {-1, NULL, NULL},
    [AI_EMBED] = {KSM_AI_OPENAI, "no_embeddings_api", "embeddings"},
    [AI_COUNT] = {KSM_AI_ANTHROPIC, "no_token_count_api", "a token count"},
    [AI_COMPLETE] = {KSM_AI_OPENAI, "no_completions_api", "text completions"},
    [AI_RERANK] = {KSM_AI_OPENAI, "no_rerank_api", "reranking"},
};

static bool speaks(const struct ai_call *c, const struct ksm_ai_target *t)
{
    return needs[c->kind].api < 0 || (int)t->provider == needs[c->kind].api;
}

const char *ksm_ai_route_lacks_api(const struct ai_call *c, char *buf, size_t n)
{
    for (int i = 0; i < c->route.ntargets; i++)
        if (speaks(c, &c->route.targets[i]))
            return NULL;
    snprintf(buf, n, "model %s is not served over %s's API, the only one with %s", c->alias,
             needs[c->kind].api == KSM_AI_OPENAI ? "OpenAI" : "Anthropic", needs[c->kind].what);
    return buf;
}

/* May this request go to target t at all? NULL if so, else the reason, for the audit record. In
 * overseas-ai every target is outside Japan, whatever its route says: the environment itself is.
 * There 機密性2 comes only by the governed path (govcloud applied the tenant's policy and masked);
 * the environment's own users may send only what they declare 機密性1. */
static const char *ineligible(const struct ai_call *c, const struct ksm_ai_target *t,
                              const struct ksm_conf *conf, enum ksm_env_kind env)
{
    if (!speaks(c, t))
        return needs[c->kind].refusal;
    if (c->home_only && (env == KSM_ENV_OVERSEAS_AI || strcmp(t->jurisdiction, "JP")))
        return "unreadable_content";   /* content nobody read stays in Japan */
    if (env == KSM_ENV_OVERSEAS_AI) {
        if (c->classification == 3)
            return "class3_never_leaves_japan";
        if (c->classification == 2 && !c->on_behalf)
            return "overseas_direct_needs_class1";
        return NULL;
    }
    if (!strcmp(t->jurisdiction, "JP"))
        return NULL;
    if (!allow_listed(conf, t->base_url))
        return "not_allow_listed";   /* the operator removed it from the allow-list since */
    return ksm_ai_class_refusal(&c->pol, c->classification, true);
}

/* Eligible targets in the order to try: the first is drawn by weight, the rest follow the route's
 * order (the fallback order the administrator wrote). */
static void plan(struct ai_call *c, const struct ksm_conf *conf, enum ksm_env_kind env)
{
    int idx[KSM_AI_MAX_TARGETS], n = 0;
    long total = 0;
    for (int i = 0; i < c->route.ntargets; i++) {
        const char *why = ineligible(c, &c->route.targets[i], conf, env);
        if (why) {
            c->refusal = why;   /* the last target's reason when none is eligible */
            continue;
        }
        idx[n++] = i;
        total += c->route.targets[i].weight > 0 ? c->route.targets[i].weight : 1;
    }
    c->norder = 0;
    memset(c->health, 0xff, sizeof c->health);   /* -1: not tracked */
    c->probe = -1;
    if (n == 0)
        return;
    c->refusal = NULL;   /* some target is eligible: nothing was refused */
    unsigned r = 0;
    if (n > 1)   /* one target needs no draw (the CSPRNG costs as much as the rest of the plan) */
        ksm_random_bytes(&r, sizeof r);
    long pick = (long)(r % (unsigned long)total);
    int first = 0;
    for (int j = 0; j < n; j++) {
        long w = c->route.targets[idx[j]].weight > 0 ? c->route.targets[idx[j]].weight : 1;
        if (pick < w) {
            first = j;
            break;
        }
        pick -= w;
    }
    c->order[c->norder++] = idx[first];
    for (int j = 0; j < n; j++)
        if (j != first)
            c->order[c->norder++] = idx[j];
    c->probe = (int16_t)ksm_ai_health_order(c->route.tenant, c->route.targets, c->order, c->norder,
                                            c->health);
    c->any_overseas = env == KSM_ENV_OVERSEAS_AI;
    for (int j = 0; j < c->norder; j++)
        c->any_overseas |= strcmp(c->route.targets[c->order[j]].jurisdiction, "JP") != 0;
}

/* The project's rules per kind, and its own terms (terms[] holds what p points at), for a request
 * of that class bound (or not) abroad. */
void ksm_ai_pii_policy(const struct ksm_ai_policy *pol, int classification, bool any_overseas,
                       struct ksm_pii_policy *p, struct ksm_pii_term terms[KSM_AI_MAX_TERMS])
{
    static const enum ksm_pii_action map[] = {KSM_PII_ALLOW, KSM_PII_MASK, KSM_PII_BLOCK};
    *p = (struct ksm_pii_policy){.terms = terms, .nterms = (size_t)pol->nterms};
    for (int i = 0; i < pol->nterms; i++)
        terms[i] = (struct ksm_pii_term){pol->terms[i].text, strlen(pol->terms[i].text),
                                         pol->terms[i].block ? KSM_PII_BLOCK : KSM_PII_MASK};
    for (int k = 0; k < KSM_PII__DETECTED && k < KSM_AI_PII_KINDS; k++) {
        p->action[k] = map[pol->pii[k] <= KSM_AI_PII_BLOCK ? pol->pii[k] : KSM_AI_PII_BLOCK];
        /* 機密性2 outside Japan goes only masked: nothing is allowed through as it is */
        if (any_overseas && classification == 2 && p->action[k] == KSM_PII_ALLOW)
            p->action[k] = KSM_PII_MASK;
    }
    p->block_confidence = KSM_PII_BLOCK_CONFIDENCE;
}

void ksm_ai_output_rules(const struct ksm_ai_policy *pol, enum ksm_pii_action act[KSM_PII__COUNT])
{
    for (int k = 0; k < KSM_PII__COUNT; k++)   /* mask or allow: the policy refuses block */
        act[k] = k < KSM_AI_PII_KINDS && pol->pii_output[k] == KSM_AI_PII_MASK ? KSM_PII_MASK
                                                                               : KSM_PII_ALLOW;
}

/* Content the scanner cannot read (an image, a file) may pass only where no rule looks for anything:
 * the project allows every kind, and the request is not 機密性2 bound abroad (always masked). */
static bool must_read(const struct ksm_pii_policy *p)
{
    for (int k = 0; k < KSM_PII__DETECTED; k++)
        if (p->action[k] != KSM_PII_ALLOW)
            return true;
    return p->nterms > 0;   /* the project's own terms are looked for too */
}

/* A content_blocked refusal by what made the value impossible to mask: its audit reason and what
 * the caller is told. */
static const struct {
    const char *reason, *message;
} blocked[] = {
    [KSM_AI_SEAL_NONE] = {"pii_blocked",
                          "the request contains personal identifiers that may not be sent to a model"},
    [KSM_AI_SEAL_SIGNED] = {"pii_in_signed_block",
                            "a signed thinking block holds a personal identifier the PII policy "
                            "masks, and a signed (or redacted) block cannot be changed: continue "
                            "without that block"},
    [KSM_AI_SEAL_NUMBER] = {"pii_in_number",
                            "a number in a tool call's input is a personal identifier the PII "
                            "policy masks, and no placeholder can stand in a number: send it as a "
                            "string"},
};

const char *ksm_ai_block_reason(enum ksm_ai_seal seal, enum ksm_pii_kind kind, const char **message)
{
    if (seal == KSM_AI_SEAL_NONE && kind == KSM_PII_TERM) {
        *message = "the request contains a term the project's AI policy blocks";
        return "term_blocked";
    }
    *message = blocked[seal].message;
    return blocked[seal].reason;
}

struct mask_ctx {
    struct ai_call *c;
    const struct ksm_pii_policy *pol;
    struct ksm_buf *out;   /* the call's buffer, kept when the call is reused (ai_int.h) */
    enum ksm_pii_kind blocked;
    enum ksm_ai_seal sealed;   /* a sealed text a rule would have changed, and why it is sealed */
};

/* Masks one text; returns the masked copy in *mc->out, or CONTENT_BLOCKED. */
static enum ksm_err mask_text(struct mask_ctx *mc, const char *text, size_t len, bool *changed)
{
    ksm_buf_reset(mc->out);   /* the counts add up over the request's texts */
    if (ksm_pii_mask(mc->c->masker, mc->pol, text, len, mc->out, mc->c->masked, &mc->blocked) ==
        KSM_PII_BLOCKED)
        return KSM_E_CONTENT_BLOCKED;
    *changed = mc->out->len != len || (len && memcmp(mc->out->data, text, len));
    return KSM_E_OK;
}

/* False when text was JSON and its masked copy is not: a value masked where a number stood. */
static bool still_json(const char *text, size_t len, const struct ksm_buf *masked)
{
    json_t *j = json_loadb(masked->data ? masked->data : "", masked->len, JSON_DECODE_ANY, NULL);
    if (j) {
        json_decref(j);
        return true;
    }
    j = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    json_decref(j);
    return !j;   /* what the model wrote was no JSON either: nothing was broken */
}

static enum ksm_err mask_part(void *ud, struct ksm_ai_part *p)
{
    struct mask_ctx *mc = ud;
    size_t len;
    const char *t = ksm_ai_part_text(p, &len);
    bool changed = false;
    enum ksm_err e = mask_text(mc, t, len, &changed);
    if (e == KSM_E_OK && changed && p->seal != KSM_AI_SEAL_NONE) {
        mc->sealed = p->seal;   /* it cannot be masked, and sending it would leak the value */
        return KSM_E_CONTENT_BLOCKED;
    }
    if (e == KSM_E_OK && changed && p->json_text && !still_json(t, len, mc->out)) {
        mc->sealed = KSM_AI_SEAL_NUMBER;   /* a placeholder where a JSON number was */
        return KSM_E_CONTENT_BLOCKED;
    }
    if (e == KSM_E_OK && changed &&
        ksm_ai_part_set_text(&mc->c->req, p, mc->out->data ? mc->out->data : "", mc->out->len))
        e = KSM_E_INTERNAL;
    return e;
}

/* Every string in v (not object keys), depth-first; fn may rewrite it in place. Deeper than
 * anything a model API takes is CONTENT_BLOCKED: not sent unread. */
static enum ksm_err each_string(json_t *v, int depth, enum ksm_err (*fn)(void *ud, json_t *s),
                                void *ud)
{
    const char *key;
    json_t *x;
    size_t i;
    enum ksm_err e = KSM_E_OK;
    if (depth > 64)
        return KSM_E_CONTENT_BLOCKED;
    if (json_is_object(v)) {
        json_object_foreach(v, key, x)
            if ((e = each_string(x, depth + 1, fn, ud)) != KSM_E_OK)
                return e;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            if ((e = each_string(x, depth + 1, fn, ud)) != KSM_E_OK)
                return e;
    } else if (json_is_string(v)) {
        e = fn(ud, v);
    }
    return e;
}

/* A body kept as sent (embeddings, completions): its input or prompt and suffix, and every other
 * string but the model — what goes to the provider. */
static enum ksm_err each_kept_string(json_t *body, enum ksm_err (*fn)(void *ud, json_t *s), void *ud)
{
    const char *key;
    json_t *v;
    enum ksm_err e;
    json_object_foreach(body, key, v)
        if (strcmp(key, "model") && (e = each_string(v, 1, fn, ud)) != KSM_E_OK)
            return e;
    return KSM_E_OK;
}

/* One string of a kept body, masked in place (the end user's id, ... as well as the input). */
static enum ksm_err mask_string(void *ud, json_t *v)
{
    struct mask_ctx *mc = ud;
    bool changed = false;
    enum ksm_err e = mask_text(mc, json_string_value(v), json_string_length(v), &changed);
    if (e != KSM_E_OK)
        return e;
    if (changed && json_string_setn(v, mc->out->data ? mc->out->data : "", mc->out->len))
        return KSM_E_INTERNAL;
    mc->c->kept_rewritten |= changed;
    return KSM_E_OK;
}

/* ---- 機密性 markings ----
 * Documents of the government carry their classification as a marking (機密性３, 機密性2情報,
 * 機密性：３). With the project's classification_markings on, a marked text raises its request to
 * the highest marking in it: a document pasted into a prompt is handled as it says, whatever the
 * header or the default claimed. Only raised, never lowered. */

static void higher(int *level, int l) { *level = l > *level ? l : *level; }

#define MARK "\xE6\xA9\x9F\xE5\xAF\x86\xE6\x80\xA7"   /* 機密性 */

/* The level of the marking at p (after 機密性: optional spaces or a colon, then 1-3 in ASCII
 * or full width), or 0. */
static int mark_level(const unsigned char *p, const unsigned char *end)
{
    static const char *const skip[] = {" ", ":", "\xE3\x80\x80", "\xEF\xBC\x9A"};   /* 　 ： */
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < KSM_NELEM(skip) && !more; i++) {
            size_t n = strlen(skip[i]);
            if ((size_t)(end - p) >= n && !memcmp(p, skip[i], n))
                p += n, more = true;
        }
    }
    if (p < end && *p >= '1' && *p <= '3')
        return *p - '0';
    if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x91 && p[2] <= 0x93)
        return p[2] - 0x90;
    return 0;
}

int ksm_ai_marking(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    int level = 0;
    while ((p = memmem(p, (size_t)(end - p), MARK, strlen(MARK))) != NULL) {
        p += strlen(MARK);
        higher(&level, mark_level((const unsigned char *)p, (const unsigned char *)end));
    }
    return level;
}

static enum ksm_err mark_part(void *ud, struct ksm_ai_part *part)
{
    size_t len;
    const char *t = ksm_ai_part_text(part, &len);
    higher(ud, ksm_ai_marking(t, len));
    return KSM_E_OK;
}

static enum ksm_err mark_string(void *ud, json_t *s)
{
    higher(ud, ksm_ai_marking(json_string_value(s), json_string_length(s)));
    return KSM_E_OK;
}

/* The request's classification raised to its texts' highest marking (c->marked: that level). */
static void raise_by_markings(struct ai_call *c)
{
    int level = 0;
    if (AI_KEPT(c))   /* (a body too deep to read is refused by the masking after this) */
        each_kept_string(c->kept_body, mark_string, &level);
    else
        ksm_ai_request_visit(&c->req, KSM_AI_ROLES_ALL, mark_part, &level);
    c->marked = level;
    if (level > c->classification)
        c->classification = level;
}

static void prompt_hmac(struct ai_call *c)
{
    if (!AI_KEPT(c)) {
        ksm_ai_prompt_hmac_parts(&c->req, c->prompt_hmac);
        return;
    }
    char *s = ksm_ai_kept_prompt(c);
    ksm_ai_prompt_hmac(s ? s : "", s ? strlen(s) : 0, c->prompt_hmac);
    free(s);
}

/* What a caller may ask for that would show the model's text past output redaction: each token's
 * text with its log-probability (OpenAI chat's "logprobs": true, text completions' "logprobs": N),
 * or Anthropic's extended thinking, whose signed text cannot be rewritten. */
static const struct {
    const char *reason, *message;
} unredactable[] = {
    {"logprobs_with_redaction", "logprobs are not returned while the project's pii_output rules "
                                "redact the model's answer: they would show the redacted values"},
    {"thinking_with_redaction", "extended thinking is not returned while the project's pii_output "
                                "rules redact the model's answer: its signed text cannot be redacted"},
};

/* The row of unredactable the request asks for, or -1. */
static int asks_unredactable(const struct ai_call *c)
{
    const json_t *body = AI_KEPT(c) ? c->kept_body : c->req.body;
    const json_t *lp = json_object_get(body, "logprobs");
    const json_t *th = json_object_get(json_object_get(body, "thinking"), "type");
    if (lp && !json_is_null(lp) && !json_is_false(lp))
        return 0;
    return json_is_string(th) && strcmp(json_string_value(th), "disabled") ? 1 : -1;
}

/* Would a rule have to read the request were it to go abroad (where 機密性2 is always masked)?
 * Content nobody can read is then sent, under unscanned_content allow_in_japan, to the route's
 * servers in Japan only; otherwise it goes where the route and class allow. */
static bool needs_reading(const struct ai_call *c)
{
    struct ksm_pii_policy abroad;
    struct ksm_pii_term terms[KSM_AI_MAX_TERMS];
    ksm_ai_pii_policy(&c->pol, c->classification, true, &abroad, terms);
    return must_read(&abroad);
}

/* Refused for content the guardrail cannot read: decided by the personal-data rules. */
static enum ksm_err refuse_unreadable(struct ai_call *c, const char *msg)
{
    c->refusal = "unreadable_content";
    c->refusal_msg = msg;
    ksm_fmt_copy(c->decision, sizeof c->decision, "block");
    return KSM_E_UNSUPPORTED_PARAMETER;
}

enum ksm_err ksm_ai_guard(struct ai_call *c, const struct ksm_conf *conf, enum ksm_env_kind env)
{
    ksm_fmt_copy(c->decision, sizeof c->decision, "refuse");
    if (classification(c, env) != KSM_E_OK)
        return KSM_E_INVALID_ARGUMENT;
    if (c->pol.markings)
        raise_by_markings(c);
    if ((c->refusal = ksm_ai_class_refusal(&c->pol, c->classification, false)) != NULL)
        return KSM_E_FORBIDDEN;   /* the tenant forbids 機密性3 even in Japan */
    bool unreadable = !AI_KEPT(c) && c->req.nunscanned;
    c->home_only = unreadable && c->pol.unscanned == KSM_AI_UNSCANNED_JAPAN && needs_reading(c);
    plan(c, conf, env);
    if (c->norder == 0 && c->refusal && !strcmp(c->refusal, "unreadable_content"))
        return refuse_unreadable(c, "content the guardrail cannot read (images, files, audio) goes "
                                    "only to model servers in Japan under this project's policy, "
                                    "and this model has none");
    if (c->norder == 0)
        return KSM_E_FORBIDDEN;
    prompt_hmac(c);   /* of what the caller sent, before masking: it identifies their prompt */
    ksm_ai_output_rules(&c->pol, c->out_rules);
    /* (what embeddings, a count and reranking answer is no text a model wrote) */
    c->redacting = (c->kind == AI_CHAT || c->kind == AI_COMPLETE) && ksm_pii_redacts(c->out_rules);
    int u = c->redacting ? asks_unredactable(c) : -1;
    if (u >= 0) {
        c->refusal = unredactable[u].reason;
        c->refusal_msg = unredactable[u].message;
        return KSM_E_UNSUPPORTED_PARAMETER;
    }
    struct ksm_pii_policy pol;
    struct ksm_pii_term terms[KSM_AI_MAX_TERMS];
    ksm_ai_pii_policy(&c->pol, c->classification, c->any_overseas, &pol, terms);
    if (unreadable && must_read(&pol)) {
        if (!c->home_only)   /* fail closed: a rule would have to read it */
            return refuse_unreadable(c, "content the guardrail cannot read (images, files, audio) "
                                        "is not accepted while the project's PII policy masks or "
                                        "blocks any kind");
        c->unscanned = c->req.nunscanned;   /* sent unread, to Japan only: the decision says so */
    }
    c->masker = ksm_pii_masker_new();
    struct mask_ctx mc = {.c = c, .pol = &pol, .out = &c->scratch};
    enum ksm_err e = !AI_KEPT(c) ? ksm_ai_request_visit(&c->req, KSM_AI_ROLES_ALL, mask_part, &mc)
                                 : each_kept_string(c->kept_body, mask_string, &mc);
    if (e == KSM_E_CONTENT_BLOCKED) {
        c->refusal = ksm_ai_block_reason(mc.sealed, mc.blocked, &c->refusal_msg);
        ksm_fmt_copy(c->decision, sizeof c->decision, "block");   /* counts: ksm_pii_mask's */
        return e;
    }
    if (e != KSM_E_OK)
        return e;
    ksm_fmt_copy(c->decision, sizeof c->decision, ksm_pii_masker_size(c->masker) ? "mask" : "pass");
    return KSM_E_OK;
}
