/* test_responses.c — the Responses API adapter (src/ai/responses.h): what a Response request
 * becomes as a chat request, field by field, and what it refuses; a chat answer as a Response. The
 * official SDK end to end: tests/integration/test_ai_responses.py. */
#include "check.h"
#include "ai/responses.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct ksm_ai_responses *st;
static char err[KSM_AI_RESPONSES_ERR_MAX];

static json_t *chat_of(const char *body, enum ksm_err *e)
{
    struct ksm_buf chat = KSM_BUF_INIT;
    ksm_ai_responses_free(st);
    st = NULL;
    err[0] = '\0';
    *e = ksm_ai_responses_request(body, strlen(body), "req_0001", &chat, &st, err);
    json_t *j = *e == KSM_E_OK ? json_loadb(chat.data, chat.len, 0, NULL) : NULL;
    ksm_buf_free(&chat);
    return j;
}

static bool same(json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    bool eq = json_equal(got, w);
    if (!eq) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "got  %s\nwant %s\n", g ? g : "(null)", want);
        free(g);
    }
    json_decref(w);
    return eq;
}

static void test_request(void)
{
    enum ksm_err e;
    /* instructions first, as a system message; a turn's text and its calls in one assistant
     * message; a tool's result as a tool message; the options under their chat names */
    json_t *c = chat_of("{\"model\":\"m\",\"instructions\":\"短く\",\"input\":[{\"role\":\"user\","
                        "\"content\":\"住所は?\"},{\"type\":\"message\",\"role\":\"assistant\",\"id\":\"msg_1\","
                        "\"status\":\"completed\",\"content\":[{\"type\":\"output_text\",\"text\":\"調べます\","
                        "\"annotations\":[]}]},{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\","
                        "\"arguments\":\"{}\"},{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"g\","
                        "\"arguments\":\"{}\"},{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":"
                        "[{\"type\":\"input_text\",\"text\":\"霞が関\"}]}],\"max_output_tokens\":5,"
                        "\"temperature\":0.5,\"user\":\"u1\",\"metadata\":{\"k\":\"v\"},\"store\":true,"
                        "\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"parameters\":{\"type\":\"object\"},"
                        "\"strict\":true}],\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"},"
                        "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"s\",\"schema\":{}}},"
                        "\"reasoning\":{\"effort\":\"low\"},\"stream\":true}", &e);
    CHECK(e == KSM_E_OK);
    CHECK(same(c, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"短く\"},"
                  "{\"role\":\"user\",\"content\":\"住所は?\"},{\"role\":\"assistant\",\"content\":\"調べます\","
                  "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"arguments\":\"{}\"}},{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
                  "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":"
                  "[{\"type\":\"text\",\"text\":\"霞が関\"}]}],\"max_tokens\":5,\"temperature\":0.5,"
                  "\"user\":\"u1\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"parameters\":{\"type\":\"object\"},\"strict\":true}}],\"tool_choice\":{\"type\":"
                  "\"function\",\"function\":{\"name\":\"f\"}},\"response_format\":{\"type\":\"json_schema\","
                  "\"json_schema\":{\"name\":\"s\",\"schema\":{}}},\"reasoning_effort\":\"low\","
                  "\"stream\":true,\"stream_options\":{\"include_usage\":true}}"));
    CHECK(ksm_ai_responses_stream(st));
    json_decref(c);
    /* a NUL in a text is refused with the body (jansson's reader), never cut short */
    c = chat_of("{\"model\":\"m\",\"input\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
                "\"output_text\",\"text\":\"a\\u0000b\"}]}]}", &e);
    CHECK(e == KSM_E_INVALID_ARGUMENT && !c);
    /* a call with no assistant text before it opens an assistant turn of its own */
    c = chat_of("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"x\"},{\"type\":"
                "\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"}]}", &e);
    CHECK(same(json_object_get(c, "messages"), "[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
               "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
               "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]"));
    json_decref(c);
    /* refused, saying what: stored state, unknown fields, built-in tools, item kinds */
    static const struct {
        const char *body, *why;
        enum ksm_err e;
    } refused[] = {
        {"{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":\"r\"}", "stores no responses",
         KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":\"x\",\"conversation\":\"c\"}", "conversation", KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":\"x\",\"background\":true}", "background", KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":\"x\",\"frobnicate\":1}", "frobnicate", KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"file_search\"}]}", "tools[0]",
         KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"i\"}]}", "input[0]",
         KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\"}]}]}",
         "input[0].content[0]", KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"x\",\"extra\":1}]}", "input[0].extra",
         KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":\"x\",\"reasoning\":{\"effort\":\"low\",\"budget\":1}}", "reasoning",
         KSM_E_UNSUPPORTED_PARAMETER},
        {"{\"model\":\"m\",\"input\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "role", KSM_E_INVALID_ARGUMENT},
        {"{\"model\":\"m\"}", "input", KSM_E_INVALID_ARGUMENT},
        {"{\"input\":\"x\"}", "model", KSM_E_INVALID_ARGUMENT},
        {"{\"model\":\"m\",\"input\":\"x\",\"stream\":1}", "stream", KSM_E_INVALID_ARGUMENT},
        {"[1]", "JSON object", KSM_E_INVALID_ARGUMENT},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        c = chat_of(refused[i].body, &e);
        CHECK(e == refused[i].e && !c && !st && strstr(err, refused[i].why));
    }
    /* a custom tool, its grammar as chat writes it, a call of it and its result */
    c = chat_of("{\"model\":\"m\",\"input\":[{\"type\":\"custom_tool_call\",\"call_id\":\"c1\","
                "\"name\":\"patch\",\"input\":\"*** x\"},{\"type\":\"custom_tool_call_output\",\"call_id\":"
                "\"c1\",\"output\":\"done\"}],\"tools\":[{\"type\":\"custom\",\"name\":\"patch\","
                "\"format\":{\"type\":\"grammar\",\"syntax\":\"lark\",\"definition\":\"start: /.+/\"}}],"
                "\"tool_choice\":{\"type\":\"custom\",\"name\":\"patch\"},\"reasoning\":{\"effort\":\"high\","
                "\"summary\":\"auto\"}}", &e);
    CHECK(e == KSM_E_OK);
    CHECK(same(c, "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                  "[{\"id\":\"c1\",\"type\":\"custom\",\"custom\":{\"name\":\"patch\",\"input\":\"*** x\"}}]},"
                  "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"done\"}],\"tools\":[{\"type\":"
                  "\"custom\",\"custom\":{\"name\":\"patch\",\"format\":{\"type\":\"grammar\",\"grammar\":"
                  "{\"syntax\":\"lark\",\"definition\":\"start: /.+/\"}}}}],\"tool_choice\":{\"type\":\"custom\","
                  "\"custom\":{\"name\":\"patch\"}},\"reasoning_effort\":\"high\"}"));
    json_decref(c);
    /* accepted as the defaults they are */
    c = chat_of("{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":null,\"truncation\":\"disabled\","
                "\"include\":[\"reasoning.encrypted_content\"],\"text\":{\"format\":{\"type\":\"text\"},"
                "\"verbosity\":null},\"tools\":[],\"temperature\":null,\"instructions\":null,\"reasoning\":null,"
                "\"tool_choice\":null,\"background\":false,\"conversation\":null}", &e);
    CHECK(e == KSM_E_OK && same(c, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"));
    json_decref(c);
}

static void test_answer(void)
{
    enum ksm_err e;
    json_decref(chat_of("{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":3,\"metadata\":{\"k\":\"v\"}}", &e));
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_buf_puts(&b, "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":7,\"model\":\"m\",\"choices\":"
                     "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ab\",\"tool_calls\":"
                     "[{\"id\":\"c9\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                     "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":3,"
                     "\"prompt_tokens_details\":{\"cached_tokens\":2}}}");
    CHECK(ksm_ai_responses_answer(st, &b));
    json_t *r = json_loadb(b.data, b.len, 0, NULL);
    CHECK(same(json_object_get(r, "output"),
               "[{\"id\":\"msg_0001_0\",\"type\":\"message\",\"status\":\"incomplete\",\"role\":\"assistant\","
               "\"content\":[{\"type\":\"output_text\",\"text\":\"ab\",\"annotations\":[],\"logprobs\":[]}]},"
               "{\"id\":\"fc_0001_1\",\"type\":\"function_call\",\"status\":\"incomplete\",\"arguments\":\"{}\","
               "\"call_id\":\"c9\",\"name\":\"f\"}]"));
    CHECK(same(json_object_get(r, "usage"), "{\"input_tokens\":4,\"input_tokens_details\":{\"cached_tokens\":2},"
                                            "\"output_tokens\":3,\"output_tokens_details\":{\"reasoning_tokens\":0},"
                                            "\"total_tokens\":7}"));
    CHECK(!strcmp(json_string_value(json_object_get(r, "id")), "resp_0001"));
    CHECK(!strcmp(json_string_value(json_object_get(r, "status")), "incomplete"));
    CHECK(same(json_object_get(r, "incomplete_details"), "{\"reason\":\"max_output_tokens\"}"));
    CHECK(same(json_object_get(r, "metadata"), "{\"k\":\"v\"}") && json_is_false(json_object_get(r, "store")));
    json_decref(r);
    /* not a chat answer: left as it was */
    ksm_buf_reset(&b);
    ksm_buf_puts(&b, "{\"error\":{}}");
    CHECK(!ksm_ai_responses_answer(st, &b) && !strcmp(b.data, "{\"error\":{}}"));
    ksm_buf_free(&b);
}

int main(void)
{
    test_request();
    test_answer();
    ksm_ai_responses_free(st);
    return CHECK_DONE();
}
