/* fuzz_ai_responses.c — libFuzzer target for the Responses API adapter (src/ai/responses.h). The
 * input is a Responses request body, a NUL, and what the chat path answers: a whole body, or a chat
 * stream fed in two pieces. Properties: a refused request says why; an accepted one becomes a chat
 * body with a model and messages; a Response stream is well-formed SSE whose events are JSON
 * objects numbered 0, 1, 2, ... with at most one terminal event, last; a whole answer becomes a
 * Response object or is left as it was. Anything else aborts (and ASan/UBSan watch the rest). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/responses.h"
#include "ai/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    int64_t next;
    bool ended;
};

static bool terminal(const char *type)
{
    return !strcmp(type, "response.completed") || !strcmp(type, "response.incomplete") ||
           !strcmp(type, "response.failed");
}

static enum ksm_err check_event(void *ud, const struct ksm_sse_event *ev)
{
    struct seen *s = ud;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    json_t *seq = json_object_get(j, "sequence_number");
    if (!type || !ev->event || strcmp(type, ev->event) || !json_is_integer(seq) ||
        json_integer_value(seq) != s->next++ || s->ended)
        abort();
    s->ended = terminal(type);
    json_decref(j);
    return KSM_E_OK;
}

static void check_request(const char *chat, size_t n)
{
    json_t *j = json_loadb(chat, n, 0, NULL);
    if (!json_is_string(json_object_get(j, "model")) || !json_is_array(json_object_get(j, "messages")))
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *nul = memchr(p, '\0', size);
    size_t qlen = nul ? (size_t)(nul - p) : size;
    const char *ans = nul ? nul + 1 : "";
    size_t alen = nul ? size - qlen - 1 : 0;
    struct ksm_buf chat = KSM_BUF_INIT, out = KSM_BUF_INIT, body = KSM_BUF_INIT;
    struct ksm_ai_responses *st = NULL;
    char err[KSM_AI_RESPONSES_ERR_MAX] = "";
    if (ksm_ai_responses_request(p, qlen, "req_fuzz", &chat, &st, err) != KSM_E_OK) {
        if (st || !err[0])
            abort();
        ksm_buf_free(&chat);
        return 0;
    }
    check_request(chat.data, chat.len);
    size_t cut = alen ? (unsigned char)ans[0] % (alen + 1) : 0;
    ksm_ai_responses_events(st, ans, cut, &out);
    ksm_ai_responses_events(st, ans + cut, alen - cut, &out);
    struct ksm_sse_parser sp;
    struct seen s = {0, false};
    ksm_sse_init(&sp, 0);
    if (ksm_sse_feed(&sp, out.data ? out.data : "", out.len, check_event, &s) != KSM_E_OK)
        abort();
    ksm_sse_free(&sp);
    ksm_buf_append(&body, ans, alen);
    if (ksm_ai_responses_answer(st, &body)) {
        json_t *j = json_loadb(body.data, body.len, 0, NULL);
        if (strcmp(json_string_value(json_object_get(j, "object")) ?: "", "response"))
            abort();
        json_decref(j);
    } else if (body.len != alen || (alen && memcmp(body.data, ans, alen))) {
        abort();
    }
    ksm_ai_responses_free(st);
    ksm_buf_free(&chat);
    ksm_buf_free(&out);
    ksm_buf_free(&body);
    return 0;
}
