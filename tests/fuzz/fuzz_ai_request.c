/* fuzz_ai_request.c — libFuzzer target: arbitrary bytes as an OpenAI and as an Anthropic request
 * body, through decode, the text visitor (rewriting every part, as masking does), the prompt-text
 * extractor, and the upstream bodies for both providers; then the same bytes as a provider response
 * through the response translators and as an upstream error body. Decode must return a defined
 * error with a UTF-8 message, and every body built must serialise. The same bytes as a text go
 * through the 機密性 marking reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_int.h"
#include "ai/translate.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum ksm_err rewrite(void *ud, struct ksm_ai_part *p)
{
    size_t n;
    const char *t = ksm_ai_part_text(p, &n);
    if (!t || !ksm_utf8_valid(t, n))
        abort();
    if (ksm_ai_part_set_text(ud, p, "<P1>", 4) != 0)
        abort();
    return KSM_E_OK;
}

/* A restore that changes text (ASCII lower case to upper), run on every text the answer holds:
 * message content, tool-call arguments, the strings of a tool_use input. */
static void upper(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    (void)ud, (void)final;
    for (size_t i = 0; i < n; i++)
        ksm_buf_putc(emit, in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 32) : in[i]);
}
static const struct ksm_ai_filters uppers = {.text = upper, .args = upper, .quotes = upper};

static void check_msg(const char *err)
{
    if (!ksm_utf8_valid(err, strlen(err)))
        abort();   /* the detail goes back to the client inside JSON */
}

static void build(struct ksm_ai_request *req, enum ksm_ai_proto to)
{
    char err[KSM_AI_ERR_MAX];
    json_t *b = NULL;
    struct ksm_ai_upstream_opts o = {.proto = to, .model = "upstream-model"};
    enum ksm_err e = ksm_ai_upstream_body(req, &o, &b, err);
    if (e == KSM_E_OK) {
        char *s = json_dumps(b, JSON_COMPACT);
        if (!b || !s)
            abort();
        free(s);
    } else if (e != KSM_E_UNSUPPORTED_PARAMETER || b) {
        abort();
    } else {
        check_msg(err);
        json_t *j = ksm_ai_error_json(req->proto, e, err, NULL);
        if (!j)
            abort();
        json_decref(j);
    }
    json_decref(b);
}

/* The 機密性 marking reader: a level 0..3, and a text that holds a marking is at least its level
 * with anything after it (a marking once read is not taken back by what follows). */
static void check_marking(const char *t, size_t n)
{
    int level = ksm_ai_marking(t, n);
    if (level < 0 || level > 3)
        abort();
    static const char more[] = " 機密性 ";
    char *longer = malloc(n + sizeof more);
    memcpy(longer, t, n);
    memcpy(longer + n, more, sizeof more - 1);
    if (ksm_ai_marking(longer, n + sizeof more - 1) < level)
        abort();
    free(longer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KSM_AI_ERR_MAX];
    check_marking((const char *)data, size);
    for (int p = 0; p < 3; p++) {   /* OpenAI, Anthropic, Anthropic's token count */
        struct ksm_ai_request req;
        enum ksm_err e = p == 2 ? ksm_ai_count_request_decode((const char *)data, size, &req, err)
                                : ksm_ai_request_decode((enum ksm_ai_proto)p, (const char *)data, size,
                                                        &req, err);
        if (e != KSM_E_OK) {
            if (e != KSM_E_INVALID_JSON && e != KSM_E_INVALID_ARGUMENT)
                abort();
            check_msg(err);
            continue;
        }
        if (!req.model || !req.nmsgs)
            abort();
        check_msg(req.untranslatable);
        struct ksm_buf text = KSM_BUF_INIT;
        ksm_ai_request_text(&req, KSM_AI_ROLES_ALL, &text);
        ksm_buf_free(&text);
        build(&req, KSM_AI_OPENAI);
        build(&req, KSM_AI_ANTHROPIC);
        ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, rewrite, &req);
        build(&req, (enum ksm_ai_proto)!p);
        ksm_ai_request_free(&req);
    }

    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    for (int i = 0; in && i < 4; i++) {
        struct ksm_ai_usage u = {0};
        json_t *out = NULL;
        enum ksm_err e = ksm_ai_response_translate((enum ksm_ai_proto)(i & 1),
                                                   (enum ksm_ai_proto)(i >> 1), in, NULL,
                                                   (i & 1) == (i >> 1) ? &uppers : NULL, &out,
                                                   &u, err);
        if ((e == KSM_E_OK) != (out != NULL) || u.prompt < 0 || u.completion < 0 ||
            u.cached > u.prompt)
            abort();
        json_decref(out);
    }
    json_decref(in);
    ksm_ai_upstream_error(KSM_AI_OPENAI, 400, (const char *)data, size, err);
    check_msg(err);
    return 0;
}
