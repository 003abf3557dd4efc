/* test_translate.c — the OpenAI <-> Anthropic protocol layer, on fixtures shaped like the official
 * API references: request decoding and validation, upstream bodies both ways and passthrough,
 * masking through the part visitor, non-streamed responses with exact usage, stream event sequences
 * translated both ways (through the real SSE parser), placeholder restoration across deltas,
 * streams cut short, usage semantics, and errors in both formats. */
#include "check.h"
#include "ai/sse.h"
#include "ai/translate.h"
#include "core/util.h"

#include <stdlib.h>

/* ---- helpers ----------------------------------------------------------------------------------- */

static struct ksm_ai_request req;
static char err[KSM_AI_ERR_MAX];

static enum ksm_err decode(enum ksm_ai_proto p, const char *body)
{
    ksm_ai_request_free(&req);
    return ksm_ai_request_decode(p, body, strlen(body), &req, err);
}

static json_t *upstream(enum ksm_ai_proto to, const char *model, enum ksm_err *e)
{
    struct ksm_ai_upstream_opts o = {.proto = to, .model = model, .default_max_tokens = 1024};
    json_t *b = NULL;
    *e = ksm_ai_upstream_body(&req, &o, &b, err);
    return b;
}

static json_t *jpath(json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *tok = strtok(buf, "."); tok && j; tok = strtok(NULL, "."))
        j = (*tok >= '0' && *tok <= '9') ? json_array_get(j, (size_t)atoi(tok))
                                         : json_object_get(j, tok);
    return j;
}

static const char *jpath_s(json_t *j, const char *path)
{
    return json_string_value(jpath(j, path));
}

/* Each {path, expected string} of a {NULL, NULL}-terminated table. */
static void check_strs(json_t *j, const char *const want[][2])
{
    for (size_t i = 0; want[i][0]; i++) {
        if (!jpath_s(j, want[i][0]) || strcmp(jpath_s(j, want[i][0]), want[i][1]))
            fprintf(stderr, "%s: want '%s'\n", want[i][0], want[i][1]);
        CHECK_STR(jpath_s(j, want[i][0]), want[i][1]);
    }
}

static json_int_t jpath_i(json_t *j, const char *path)
{
    json_t *v = jpath(j, path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Summarises a stream as the caller sees it: one token per event. */
static enum ksm_err summarise(void *ud, const struct ksm_sse_event *ev)
{
    struct ksm_buf *s = ud;
    if (s->len)
        ksm_buf_putc(s, ' ');
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        ksm_buf_puts(s, "DONE");
        return KSM_E_OK;
    }
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL);
    const char *type = jpath_s(j, "type");
    if (type && *ev->event && strcmp(type, ev->event))
        ksm_buf_puts(s, "NAME-MISMATCH:");
    if (json_object_get(j, "error")) {
        ksm_buf_puts(s, "error");
    } else if (type && !strcmp(type, "content_block_delta") && jpath_s(j, "delta.partial_json")) {
        ksm_buf_printf(s, "json:%s", jpath_s(j, "delta.partial_json"));
    } else if (type && !strcmp(type, "content_block_delta")) {
        ksm_buf_printf(s, "delta:%s", jpath_s(j, "delta.text"));
    } else if (type && !strcmp(type, "content_block_start") && jpath_s(j, "content_block.name")) {
        ksm_buf_printf(s, "tool_use:%s", jpath_s(j, "content_block.name"));
    } else if (type && !strcmp(type, "message_delta")) {
        ksm_buf_printf(s, "message_delta:%s/%lld", jpath_s(j, "delta.stop_reason"),
                       (long long)jpath_i(j, "usage.output_tokens"));
    } else if (type) {
        ksm_buf_puts(s, type);
    } else if (!json_array_size(json_object_get(j, "choices"))) {
        ksm_buf_printf(s, "usage:%lld/%lld", (long long)jpath_i(j, "usage.prompt_tokens"),
                       (long long)jpath_i(j, "usage.completion_tokens"));
    } else if (jpath_s(j, "choices.0.finish_reason")) {
        ksm_buf_printf(s, "finish:%s", jpath_s(j, "choices.0.finish_reason"));
    } else if (jpath_s(j, "choices.0.delta.role")) {
        ksm_buf_puts(s, "role");
    } else if (jpath_s(j, "choices.0.delta.tool_calls.0.function.name")) {
        ksm_buf_printf(s, "call%lld:%s", (long long)jpath_i(j, "choices.0.delta.tool_calls.0.index"),
                       jpath_s(j, "choices.0.delta.tool_calls.0.function.name"));
    } else if (jpath(j, "choices.0.delta.tool_calls.0")) {
        ksm_buf_printf(s, "args%lld:%s", (long long)jpath_i(j, "choices.0.delta.tool_calls.0.index"),
                       jpath_s(j, "choices.0.delta.tool_calls.0.function.arguments"));
    } else {
        ksm_buf_printf(s, "c:%s", jpath_s(j, "choices.0.delta.content"));
    }
    json_decref(j);
    return KSM_E_OK;
}

struct feed {
    struct ksm_ai_stream *s;
    struct ksm_buf *out;
    enum ksm_err last;
};

static enum ksm_err to_translator(void *ud, const struct ksm_sse_event *ev)
{
    struct feed *f = ud;
    f->last = ksm_ai_stream_event(f->s, ev->event, ev->data, ev->data_len, f->out);
    return f->last;
}

/* Runs an upstream wire stream (SSE text) through parser + translator; returns the summary of what
 * the caller receives. cut: feed only that many bytes (a stream ending early). */
static char *run_stream(const char *wire, size_t cut, struct ksm_ai_stream *s)
{
    struct ksm_sse_parser p;
    struct ksm_buf out = KSM_BUF_INIT, sum = KSM_BUF_INIT;
    struct feed f = {s, &out, KSM_E_OK};
    ksm_sse_init(&p, 0);
    size_t n = cut ? cut : strlen(wire);
    for (size_t i = 0; i < n; i += 7)   /* odd-sized chunks, as a socket would deliver them */
        ksm_sse_feed(&p, wire + i, n - i < 7 ? n - i : 7, to_translator, &f);
    ksm_sse_finish(&p);
    ksm_ai_stream_finish(s, f.last, NULL, &out);
    ksm_sse_free(&p);
    ksm_sse_init(&p, 0);
    CHECK(ksm_sse_feed(&p, out.data ? out.data : "", out.len, summarise, &sum) == KSM_E_OK);
    CHECK(!ksm_sse_finish(&p));   /* the caller's stream is well-framed */
    ksm_sse_free(&p);
    ksm_buf_free(&out);
    ksm_buf_putc(&sum, '\0');
    return ksm_buf_steal(&sum);
}

/* ---- fixtures (shapes from the OpenAI and Anthropic API references) ---------------------------- */

static const char *oai_request =
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"developer\",\"content\":\"You are helpful.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hello, I am Taro.\"}]},"
    "{\"role\":\"assistant\",\"content\":\"Hi Taro.\"},{\"role\":\"user\",\"content\":\"Bye\"}],"
    "\"max_completion_tokens\":100,\"temperature\":0.5,\"top_p\":0.9,\"stop\":\"END\","
    "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"u-1\","
    "\"frequency_penalty\":null}";

static const char *ant_request =
    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"system\":[{\"type\":\"text\","
    "\"text\":\"Be brief.\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":["
    "{\"role\":\"user\",\"content\":\"Hello\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
    "\"text\",\"text\":\"Hi\"}]},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
    "\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],\"stop_sequences\":[\"X\"],\"temperature\":1,"
    "\"stream\":true,\"metadata\":{\"user_id\":\"u-2\"}}";

static const char *oai_response =
    "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion\","
    "\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello there!\",\"refusal\":null,"
    "\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":{"
    "\"prompt_tokens\":1117,\"completion_tokens\":46,\"total_tokens\":1163,"
    "\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}},\"service_tier\":\"default\"}";

static const char *ant_response =
    "{\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"text\",\"text\":"
    "\"Hi! My name is \"},{\"type\":\"text\",\"text\":\"Claude.\"}],\"stop_reason\":"
    "\"stop_sequence\",\"stop_sequence\":\"X\",\"usage\":{\"input_tokens\":2095,"
    "\"output_tokens\":503,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":1000}}";

static const char *ant_stream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\","
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
    "\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"!\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#define OAI_CHUNK(delta, finish)                                                                  \
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,"  \
    "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0," \
    "\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":" finish "}],\"usage\":null}\n\n"

static const char *oai_stream =
    OAI_CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
    OAI_CHUNK("{\"content\":\"Hello\"}", "null")
    OAI_CHUNK("{\"content\":\" world\"}", "null")
    OAI_CHUNK("{}", "\"stop\"")
    "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,"
    "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
    "\"completion_tokens\":2,\"total_tokens\":11,\"prompt_tokens_details\":{\"cached_tokens\":4}}}\n\n"
    "data: [DONE]\n\n";

/* ---- requests ---------------------------------------------------------------------------------- */

static void test_decode_openai(void)
{
    CHECK(decode(KSM_AI_OPENAI, oai_request) == KSM_E_OK);
    CHECK_STR(req.model, "gpt-4o");
    /* the four messages' texts, then the stop sequence and the user id (options, no message's) */
    CHECK(req.nmsgs == 4 && req.nparts == 6 && req.nunscanned == 0);
    CHECK(req.parts[0].call && req.parts[1].call && !req.parts[2].call);
    CHECK(req.parts[2].role == KSM_AI_ROLE_SYSTEM && req.parts[3].role == KSM_AI_ROLE_USER);
    CHECK(req.max_tokens == 100 && req.stream && req.include_usage && req.has_temperature);
    CHECK_STR(json_string_value(req.user), "u-1");
    CHECK_STR(req.untranslatable, "");

    enum ksm_err e;
    json_t *b = upstream(KSM_AI_ANTHROPIC, "claude-haiku-4-5", &e);
    CHECK(e == KSM_E_OK);
    CHECK_STR(jpath_s(b, "model"), "claude-haiku-4-5");
    CHECK_STR(jpath_s(b, "system.0.text"), "You are helpful.");
    CHECK_STR(jpath_s(b, "messages.0.role"), "user");
    CHECK_STR(jpath_s(b, "messages.0.content"), "Hello, I am Taro.");
    CHECK_STR(jpath_s(b, "messages.1.role"), "assistant");
    CHECK(json_array_size(json_object_get(b, "messages")) == 3);
    CHECK(jpath_i(b, "max_tokens") == 100);
    CHECK_STR(jpath_s(b, "stop_sequences.0"), "END");
    CHECK_STR(jpath_s(b, "metadata.user_id"), "u-1");
    CHECK(json_is_true(json_object_get(b, "stream")));
    CHECK(!json_object_get(b, "stream_options") && !json_object_get(b, "user"));
    json_decref(b);

    /* same protocol: the body passes on with the model replaced and usage forced on */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                                "\"hi\"}],\"stream\":true,\"tools\":[{\"type\":\"function\","
                                "\"function\":{\"name\":\"f\"}}],\"seed\":7}") == KSM_E_OK);
    CHECK_STR(req.untranslatable, "seed");
    b = upstream(KSM_AI_OPENAI, "gpt-4o-2024-08-06", &e);
    CHECK(e == KSM_E_OK && json_is_true(json_object_get(json_object_get(b, "stream_options"),
                                                        "include_usage")));
    CHECK_STR(jpath_s(b, "model"), "gpt-4o-2024-08-06");
    CHECK_STR(jpath_s(b, "tools.0.function.name"), "f");
    CHECK(jpath_i(b, "seed") == 7);
    json_decref(b);
    b = upstream(KSM_AI_ANTHROPIC, "c", &e);   /* ... and is refused across protocols */
    CHECK(e == KSM_E_UNSUPPORTED_PARAMETER && !b && strstr(err, "'seed'"));

    /* no max tokens given: the configured default */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                                "\"hi\"}]}") == KSM_E_OK);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    CHECK(e == KSM_E_OK && jpath_i(b, "max_tokens") == 1024);
    CHECK_STR(jpath_s(b, "model"), "m");
    json_decref(b);
}

static void test_decode_anthropic(void)
{
    enum ksm_err e;
    CHECK(decode(KSM_AI_ANTHROPIC, ant_request) == KSM_E_OK);
    /* system, the stop sequence and the user id (fields first), the four texts; cache_control is
     * no text */
    CHECK(req.nparts == 7 && req.parts[0].role == KSM_AI_ROLE_SYSTEM && req.parts[0].msg == SIZE_MAX);
    CHECK(!req.parts[0].call && req.parts[1].call && req.parts[2].call && !req.parts[3].call);
    CHECK_STR(json_string_value(req.user), "u-2");
    CHECK_STR(req.untranslatable, "");   /* cache_control is a hint, safe to drop */
    json_t *b = upstream(KSM_AI_OPENAI, "gpt-4o", &e);
    CHECK(e == KSM_E_OK);
    CHECK_STR(jpath_s(b, "messages.0.role"), "system");
    CHECK_STR(jpath_s(b, "messages.0.content"), "Be brief.");
    CHECK_STR(jpath_s(b, "messages.1.content"), "Hello");
    CHECK_STR(jpath_s(b, "messages.2.content"), "Hi");
    CHECK_STR(jpath_s(b, "messages.3.content.1.text"), "b");
    CHECK(jpath_i(b, "max_completion_tokens") == 1024 && !json_object_get(b, "max_tokens"));
    CHECK_STR(jpath_s(b, "stop.0"), "X");
    CHECK_STR(jpath_s(b, "user"), "u-2");
    CHECK(json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage")));
    json_decref(b);

    struct ksm_ai_upstream_opts legacy = {.proto = KSM_AI_OPENAI, .legacy_max_tokens = true};
    CHECK(ksm_ai_upstream_body(&req, &legacy, &b, err) == KSM_E_OK);
    CHECK(jpath_i(b, "max_tokens") == 1024);
    json_decref(b);

    /* Anthropic-only features refuse cross routes and name themselves */
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":5,\"top_k\":3,\"messages\":"
                                   "[{\"role\":\"user\",\"content\":\"x\"}]}") == KSM_E_OK);
    b = upstream(KSM_AI_OPENAI, NULL, &e);
    CHECK(e == KSM_E_UNSUPPORTED_PARAMETER && strstr(err, "top_k"));
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":5,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
        "\"image/png\",\"data\":\"AA==\"}},{\"type\":\"text\",\"text\":\"what is this\"}]}]}") ==
          KSM_E_OK);
    CHECK(req.nunscanned == 1 && req.nparts == 1);
    b = upstream(KSM_AI_OPENAI, NULL, &e);
    CHECK(e == KSM_E_UNSUPPORTED_PARAMETER && strstr(err, "messages[0].content[0] (image)"));
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);   /* same protocol: passes */
    CHECK(e == KSM_E_OK);
    json_decref(b);
}

static void test_validation(void)
{
    static const struct {
        enum ksm_ai_proto p;
        const char *body, *field;
        enum ksm_err e;
    } cases[] = {
        {KSM_AI_OPENAI, "{\"model\":\"m\"", "JSON", KSM_E_INVALID_JSON},
        {KSM_AI_OPENAI, "[1]", "object", KSM_E_INVALID_JSON},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"model\":\"n\",\"messages\":[]}", "JSON",
         KSM_E_INVALID_JSON},
        {KSM_AI_OPENAI, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model",
         KSM_E_INVALID_ARGUMENT},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[]}", "messages", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
         "messages[0].role", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"temperature\":3,\"messages\":[{\"role\":\"user\","
                        "\"content\":\"x\"}]}", "temperature", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"messages\":"
                        "[{\"role\":\"user\",\"content\":\"x\"}]}", "stop", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\","
                        "\"content\":\"x\"}]}", "max_tokens", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                        "\"text\",\"text\":5}]}]}", "messages[0].content[0].text",
         KSM_E_INVALID_ARGUMENT},
        {KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "max_tokens", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"messages\":[{\"role\":\"system\","
                           "\"content\":\"x\"}]}", "messages[0].role", KSM_E_INVALID_ARGUMENT},
        {KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"temperature\":1.5,\"messages\":"
                           "[{\"role\":\"user\",\"content\":\"x\"}]}", "temperature",
         KSM_E_INVALID_ARGUMENT},
        {KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"system\":[{\"type\":\"image\"}],"
                           "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "system[0]",
         KSM_E_INVALID_ARGUMENT},
    };
    for (size_t i = 0; i < KSM_NELEM(cases); i++) {
        enum ksm_err e = decode(cases[i].p, cases[i].body);
        CHECK(e == cases[i].e);
        if (!strstr(err, cases[i].field))
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err, cases[i].field);
        CHECK(strstr(err, cases[i].field) != NULL);
        CHECK(req.body == NULL);
    }

    /* an OpenAI temperature Anthropic cannot take is refused, not clamped */
    enum ksm_err e;
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"temperature\":1.5,\"messages\":[{\"role\":"
                                "\"user\",\"content\":\"x\"}]}") == KSM_E_OK);
    CHECK(upstream(KSM_AI_ANTHROPIC, NULL, &e) == NULL && e == KSM_E_UNSUPPORTED_PARAMETER);
    CHECK(strstr(err, "temperature") != NULL);
    /* images, tool results and names cannot cross */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{"
        "\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]},{\"role\":\"tool\","
        "\"tool_call_id\":\"c1\",\"content\":\"42\"}]}") == KSM_E_OK);
    CHECK(req.nunscanned == 1 && req.nparts == 1 && req.parts[0].role == KSM_AI_ROLE_TOOL);
    CHECK(upstream(KSM_AI_ANTHROPIC, NULL, &e) == NULL && strstr(err, "image_url"));
}

static enum ksm_err mask_taro(void *ud, struct ksm_ai_part *p)
{
    size_t n;
    const char *t = ksm_ai_part_text(p, &n);
    const char *at = strstr(t, "Taro");
    int *count = ud;
    if (!at)
        return KSM_E_OK;
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_buf_append(&b, t, (size_t)(at - t));
    ksm_buf_puts(&b, "<P1>");
    ksm_buf_puts(&b, at + 4);
    CHECK(ksm_ai_part_set_text(&req, p, b.data, b.len) == 0);
    ksm_buf_free(&b);
    ++*count;
    return KSM_E_OK;
}

static void test_visitor(void)
{
    struct ksm_buf text = KSM_BUF_INIT;
    int masked = 0;
    enum ksm_err e;
    CHECK(decode(KSM_AI_OPENAI, oai_request) == KSM_E_OK);
    ksm_ai_request_text(&req, 1u << KSM_AI_ROLE_USER | 1u << KSM_AI_ROLE_SYSTEM, &text);
    CHECK_STR(text.data, "END\nu-1\nYou are helpful.\nHello, I am Taro.\nBye\n");
    /* assistant history is masked too: it may hold values restored on an earlier turn */
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK);
    CHECK(masked == 2);
    CHECK(ksm_ai_part_set_text(&req, &req.parts[0], "\xff", 1) == -1);
    json_t *b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    CHECK_STR(jpath_s(b, "messages.0.content"), "Hello, I am <P1>.");
    CHECK_STR(jpath_s(b, "messages.1.content"), "Hi <P1>.");
    json_decref(b);
    b = upstream(KSM_AI_OPENAI, NULL, &e);
    CHECK_STR(jpath_s(b, "messages.1.content.0.text"), "Hello, I am <P1>.");
    json_decref(b);
    ksm_buf_free(&text);
}

/* What the gateway does not read still reaches the provider: every string in it is scanned and
 * masked (not object keys, not numbers), on the same-protocol path that carries it. */
static void test_options_scanned(void)
{
    int masked = 0;
    enum ksm_err e;
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"name\":"
        "\"Taro\",\"content\":\"x\"}],\"user\":\"Taro\",\"stop\":[\"Taro\"],\"prediction\":{"
        "\"type\":\"content\",\"content\":\"Dear Taro\"},\"response_format\":{\"type\":"
        "\"json_schema\",\"json_schema\":{\"name\":\"Taro\",\"schema\":{\"type\":\"object\","
        "\"properties\":{\"Taro\":{\"description\":\"e.g. Taro\",\"maxLength\":12345678901}}}}},"
        "\"metadata\":{\"Taro\":\"Taro\"},\"seed\":123456789012}") == KSM_E_OK);
    CHECK(req.nunscanned == 0);
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK);
    CHECK(masked == 7);   /* name, user, stop, prediction, schema name and description, metadata */
    json_t *b = upstream(KSM_AI_OPENAI, NULL, &e);
    CHECK(e == KSM_E_OK);
    check_strs(b, (const char *const[][2]){{"messages.0.name", "<P1>"},
                                           {"user", "<P1>"},
                                           {"stop.0", "<P1>"},
                                           {"prediction.content", "Dear <P1>"},
                                           {"prediction.type", "content"},
                                           {"response_format.json_schema.name", "<P1>"},
                                           {"response_format.json_schema.schema.properties.Taro."
                                            "description", "e.g. <P1>"},
                                           {"metadata.Taro", "<P1>"},
                                           {NULL, NULL}});
    CHECK(jpath_i(b, "seed") == 123456789012);
    json_decref(b);

    /* Anthropic: metadata, a citation's text, and an option the gateway does not know */
    masked = 0;
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\",\"citations\":[{\"type\":"
        "\"char_location\",\"cited_text\":\"Taro\",\"start_char_index\":0}]}]}],\"metadata\":{"
        "\"user_id\":\"Taro\"},\"output_format\":{\"type\":\"json_schema\",\"schema\":{"
        "\"description\":\"Taro\"}},\"stop_sequences\":[\"Taro\"]}") == KSM_E_OK);
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK);
    CHECK(masked == 4);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    check_strs(b, (const char *const[][2]){{"messages.0.content.0.citations.0.cited_text", "<P1>"},
                                           {"metadata.user_id", "<P1>"},
                                           {"output_format.schema.description", "<P1>"},
                                           {"stop_sequences.0", "<P1>"},
                                           {NULL, NULL}});
    json_decref(b);
    /* a signed thinking block of the model's, and a redacted (encrypted) one's data, are read,
     * never rewritten; a thinking block in the caller's own turn cannot be read */
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
        "\"thinking\":\"Taro?\",\"signature\":\"s\"},{\"type\":\"redacted_thinking\",\"data\":\"e\"}"
        "]},{\"role\":\"user\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"y\","
        "\"signature\":\"s\"}]}]}") == KSM_E_OK);
    CHECK(req.nparts == 3 && req.nunscanned == 1);
    CHECK(req.parts[1].seal == KSM_AI_SEAL_SIGNED && req.parts[1].call && req.parts[1].role == KSM_AI_ROLE_ASSISTANT);
    CHECK(req.parts[2].seal == KSM_AI_SEAL_SIGNED && !strcmp(json_string_value(req.parts[2].node), "e"));
    CHECK(req.parts[0].seal == KSM_AI_SEAL_NONE && strstr(req.untranslatable, "thinking"));
    /* a document is read when it is text; a PDF is not */
    masked = 0;
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":"
        "\"text/plain\",\"data\":\"Dear Taro\"},\"title\":\"To Taro\",\"citations\":{\"enabled\":true}},"
        "{\"type\":\"document\",\"source\":{\"type\":\"content\",\"content\":[{\"type\":\"text\","
        "\"text\":\"Taro A\"},{\"type\":\"text\",\"text\":\"b\"}]}},{\"type\":\"search_result\","
        "\"source\":\"https://example.jp/Taro\",\"title\":\"t\",\"content\":[{\"type\":\"text\","
        "\"text\":\"Taro B\"}]},{\"type\":\"text\",\"text\":\"x\"}]}]}") == KSM_E_OK);
    CHECK(req.nunscanned == 0 && strstr(req.untranslatable, "document"));
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK && masked == 5);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    check_strs(b, (const char *const[][2]){{"messages.0.content.0.source.data", "Dear <P1>"},
                                           {"messages.0.content.0.source.media_type", "text/plain"},
                                           {"messages.0.content.0.title", "To <P1>"},
                                           {"messages.0.content.1.source.content.0.text", "<P1> A"},
                                           {"messages.0.content.2.content.0.text", "<P1> B"},
                                           {"messages.0.content.2.source", "https://example.jp/<P1>"},
                                           {NULL, NULL}});
    json_decref(b);
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
        "\"application/pdf\",\"data\":\"JVBE\"}},{\"type\":\"document\",\"source\":{\"type\":"
        "\"content\",\"content\":[{\"type\":\"image\",\"source\":{}}]}}]}]}") == KSM_E_OK);
    CHECK(req.nunscanned == 2 && req.nparts == 0);
    /* a search tool's results, in its tool_result, are read as the tool's */
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{"
        "\"type\":\"search_result\",\"source\":\"s\",\"title\":\"t\",\"content\":[{\"type\":"
        "\"text\",\"text\":\"Taro\"}]}]}]}]}") == KSM_E_OK);
    CHECK(req.nunscanned == 0 && req.nparts == 3 && req.parts[0].role == KSM_AI_ROLE_TOOL);
    CHECK(strstr(req.untranslatable, "search_result") != NULL);
    /* across protocols the masked user id and stop sequence are what is translated */
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"m\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":\"x\"}],\"metadata\":{\"user_id\":\"Taro\"},"
        "\"stop_sequences\":[\"Taro\"]}") == KSM_E_OK);
    masked = 0;
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK && masked == 2);
    b = upstream(KSM_AI_OPENAI, NULL, &e);
    check_strs(b, (const char *const[][2]){{"user", "<P1>"}, {"stop.0", "<P1>"}, {NULL, NULL}});
    json_decref(b);
}

/* ---- responses --------------------------------------------------------------------------------- */

/* Restores <P1> -> Taro, holding back a '<' that might start a placeholder split across pieces. */
static struct ksm_buf held;
static void restore(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    ksm_buf_append(&held, in, n);
    for (char *p; (p = strstr(held.data ? held.data : "", "<P1>"));)
        memcpy(p, "Taro", 4);   /* same length: replaced in place */
    size_t keep = 0;
    const char *lt = held.data ? strrchr(held.data, '<') : NULL;
    if (!final && lt && !strchr(lt, '>'))
        keep = held.len - (size_t)(lt - held.data);
    ksm_buf_append(emit, held.data, held.len - keep);
    memmove(held.data, held.data + held.len - keep, keep);
    held.len = keep;
    if (held.data)
        held.data[keep] = '\0';
}

/* Whole answers: the same filter for the text, the tool calls' arguments and citations. */
static const struct ksm_ai_filters restoring = {.text = restore, .args = restore, .quotes = restore};

static void test_responses(void)
{
    struct ksm_ai_usage u = {0};
    json_t *in = json_loads(oai_response, 0, NULL), *out;
    CHECK(ksm_ai_response_translate(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, in, "claude-alias", NULL,
                                    &out, &u, err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "type"), "message");
    CHECK_STR(jpath_s(out, "model"), "claude-alias");
    CHECK_STR(jpath_s(out, "content.0.text"), "Hello there!");
    CHECK_STR(jpath_s(out, "stop_reason"), "max_tokens");
    CHECK(jpath_i(out, "usage.input_tokens") == 93 && jpath_i(out, "usage.output_tokens") == 46);
    CHECK(jpath_i(out, "usage.cache_read_input_tokens") == 1024);
    CHECK(u.prompt == 1117 && u.completion == 46 && u.cached == 1024 && u.cache_write == 0);
    json_decref(out);
    json_decref(in);

    memset(&u, 0, sizeof(u));
    in = json_loads(ant_response, 0, NULL);
    CHECK(ksm_ai_response_translate(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, in, NULL, NULL, &out, &u,
                                    err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "object"), "chat.completion");
    CHECK_STR(jpath_s(out, "model"), "claude-sonnet-4-5-20250929");
    CHECK_STR(jpath_s(out, "choices.0.message.content"), "Hi! My name is Claude.");
    CHECK_STR(jpath_s(out, "choices.0.finish_reason"), "stop");
    /* Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes */
    CHECK(jpath_i(out, "usage.prompt_tokens") == 3195 && jpath_i(out, "usage.completion_tokens") == 503);
    CHECK(jpath_i(out, "usage.total_tokens") == 3698);
    CHECK(jpath_i(out, "usage.prompt_tokens_details.cached_tokens") == 1000);
    CHECK(u.prompt == 3195 && u.cached == 1000 && u.cache_write == 100 && u.completion == 503);
    json_decref(out);

    /* round trip: Anthropic -> OpenAI -> Anthropic keeps text and every usage number but the
     * cache-write split, which OpenAI cannot express */
    struct ksm_ai_usage u2 = {0};
    json_t *mid;
    ksm_ai_response_translate(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, in, NULL, NULL, &mid, &u2, err);
    CHECK(ksm_ai_response_translate(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, mid, NULL, NULL, &out, &u2,
                                    err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "content.0.text"), "Hi! My name is Claude.");
    CHECK(jpath_i(out, "usage.input_tokens") + jpath_i(out, "usage.cache_read_input_tokens") +
          jpath_i(out, "usage.cache_creation_input_tokens") == 3195);
    CHECK(jpath_i(out, "usage.output_tokens") == 503);
    json_decref(mid);
    json_decref(out);

    /* same protocol with the placeholder filter */
    json_t *masked = json_pack("{ss s[{ss ss}] ss s{si si}}", "id", "msg_1", "content", "type",
                               "text", "text", "Hello <P1>!", "stop_reason", "end_turn", "usage",
                               "input_tokens", 3, "output_tokens", 4);
    memset(&u, 0, sizeof(u));
    CHECK(ksm_ai_response_translate(KSM_AI_ANTHROPIC, KSM_AI_ANTHROPIC, masked, NULL, &restoring,
                                    &out, &u, err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "content.0.text"), "Hello Taro!");
    CHECK(u.prompt == 3 && u.completion == 4);
    json_decref(out);
    json_decref(masked);
    json_decref(in);

    in = json_loads("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                    "\"tool_calls\":[{\"id\":\"t\"}]}}]}", 0, NULL);
    CHECK(ksm_ai_response_translate(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, in, NULL, NULL, &out, &u,
                                    err) == KSM_E_UPSTREAM_ERROR && !out);
    json_decref(in);
}

/* ---- streams ----------------------------------------------------------------------------------- */

static struct ksm_ai_stream *stream(enum ksm_ai_proto up, enum ksm_ai_proto caller, bool usage,
                                    ksm_ai_text_filter f)
{
    struct ksm_ai_stream_opts o = {.upstream = up, .caller = caller, .include_usage = usage,
                                   .filter = f};
    return ksm_ai_stream_new(&o);
}

static void test_streams(void)
{
    struct ksm_ai_stream *s = stream(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, true, NULL);
    char *got = run_stream(ant_stream, 0, s);
    CHECK_STR(got, "role c:Hello c:! finish:stop usage:125/15 DONE");
    CHECK(ksm_ai_stream_complete(s));
    CHECK(ksm_ai_stream_usage(s)->prompt == 125 && ksm_ai_stream_usage(s)->completion == 15);
    free(got);
    ksm_ai_stream_free(s);

    s = stream(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, false, NULL);
    got = run_stream(oai_stream, 0, s);
    CHECK_STR(got, "message_start content_block_start delta:Hello delta: world content_block_stop "
                   "message_delta:end_turn/2 message_stop");
    CHECK(ksm_ai_stream_usage(s)->prompt == 9 && ksm_ai_stream_usage(s)->cached == 4);
    free(got);
    ksm_ai_stream_free(s);

    /* passthrough: same events; the usage chunk only for callers who asked */
    s = stream(KSM_AI_ANTHROPIC, KSM_AI_ANTHROPIC, false, NULL);
    got = run_stream(ant_stream, 0, s);
    CHECK_STR(got, "message_start content_block_start ping delta:Hello delta:! content_block_stop "
                   "message_delta:end_turn/15 message_stop");
    CHECK(ksm_ai_stream_usage(s)->prompt == 125 && ksm_ai_stream_usage(s)->completion == 15);
    free(got);
    ksm_ai_stream_free(s);
    s = stream(KSM_AI_OPENAI, KSM_AI_OPENAI, false, NULL);
    got = run_stream(oai_stream, 0, s);
    CHECK_STR(got, "role c:Hello c: world finish:stop DONE");
    CHECK(ksm_ai_stream_usage(s)->completion == 2);   /* still metered */
    free(got);
    ksm_ai_stream_free(s);
    s = stream(KSM_AI_OPENAI, KSM_AI_OPENAI, true, NULL);
    got = run_stream(oai_stream, 0, s);
    CHECK_STR(got, "role c:Hello c: world finish:stop usage:9/2 DONE");
    free(got);
    ksm_ai_stream_free(s);
}

static char *raw_stream(const char *wire, struct ksm_ai_stream *s);
static void restore_choice(void *ud, unsigned k, const char *in, size_t n, bool final, struct ksm_buf *emit);
static void restore_args(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit);
static void restore_choice_args(void *ud, unsigned k, const char *in, size_t n, bool final,
                                struct ksm_buf *emit);
static char *choice_part(const char *raw, unsigned k, const char *what);

static void test_stream_filter(void)
{
    /* a placeholder split across two deltas is restored, in every direction */
    const char *ant =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
        "\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi <P\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"1>! <\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"max_tokens\"},\"usage\":{\"output_tokens\":6}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    struct ksm_ai_stream *s = stream(KSM_AI_ANTHROPIC, KSM_AI_ANTHROPIC, false, restore);
    char *got = run_stream(ant, 0, s);
    CHECK_STR(got, "message_start content_block_start delta:Hi  delta:Taro!  delta:< "
                   "content_block_stop message_delta:max_tokens/6 message_stop");
    free(got);
    ksm_ai_stream_free(s);
    s = stream(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, false, restore);
    got = run_stream(ant, 0, s);
    CHECK_STR(got, "role c:Hi  c:Taro!  c:< finish:length DONE");
    free(got);
    ksm_ai_stream_free(s);

    const char *oai = OAI_CHUNK("{\"content\":\"Hi <P\"}", "null")
        OAI_CHUNK("{\"content\":\"1>\"}", "\"stop\"") "data: [DONE]\n\n";
    s = stream(KSM_AI_OPENAI, KSM_AI_OPENAI, false, restore);
    got = run_stream(oai, 0, s);
    CHECK_STR(got, "c:Hi  finish:stop DONE");   /* the final chunk carries "Taro" */
    free(got);
    ksm_ai_stream_free(s);
    s = stream(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, false, restore);
    got = run_stream(oai, 0, s);
    CHECK_STR(got, "message_start content_block_start delta:Hi  delta:Taro content_block_stop "
                   "message_delta:end_turn/0 message_stop");
    free(got);
    ksm_ai_stream_free(s);
    /* n = 2: each chunk one choice, interleaved; each choice restored through a hold-back state
     * of its own, so nothing one holds back goes out in another */
    struct ksm_ai_stream_opts two = {.upstream = KSM_AI_OPENAI, .caller = KSM_AI_OPENAI,
                                     .filter = restore, .choice_filter = restore_choice};
    s = ksm_ai_stream_new(&two);
    got = raw_stream(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A <P\"}}]}\n\n"
        "data: {\"id\":\"c\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B <P1> <\"}}]}\n\n"
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"1>\"}}]}\n\n"
        "data: {\"id\":\"c\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"P1>\"}}]}\n\n"
        "data: {\"id\":\"c\",\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n", s);
    CHECK(strstr(got, "\"index\":1,\"delta\":{\"content\":\"B Taro \"}") != NULL);
    CHECK(strstr(got, "\"index\":1,\"delta\":{\"content\":\"Taro\"}") != NULL);
    CHECK(strstr(got, "\"content\":\"A \"") && strstr(got, "\"index\":0,\"delta\":{\"content\":\"Taro\"}"));
    CHECK(!strstr(got, "<"));
    free(got);
    ksm_ai_stream_free(s);

    /* n = 2 with tool calls: each choice's arguments restored through a state of their own, a
     * placeholder split across both choices' pieces; the held tail goes out as choice k's */
    struct ksm_ai_stream_opts calls = {.upstream = KSM_AI_OPENAI, .caller = KSM_AI_OPENAI,
                                       .filter = restore, .args_filter = restore_args,
                                       .choice_filter = restore_choice,
                                       .choice_args_filter = restore_choice_args};
#define CALL_CHUNK(k, args, finish) "data: {\"id\":\"c\",\"choices\":[{\"index\":" #k ",\"delta\":" \
    "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"" args "\"}}]},\"finish_reason\":" \
    finish "}]}\n\n"
    s = ksm_ai_stream_new(&calls);
    got = raw_stream(CALL_CHUNK(0, "{\\\"q\\\":\\\"<P", "null") CALL_CHUNK(1, "{\\\"q\\\":\\\"<P1> <P", "null")
                     CALL_CHUNK(0, "1>\\\"}", "null") CALL_CHUNK(1, "1", "null")
                     CALL_CHUNK(1, ">\\\"}", "\"tool_calls\"") CALL_CHUNK(0, "", "\"tool_calls\"")
                     "data: [DONE]\n\n", s);
    char *a0 = choice_part(got, 0, "arguments"), *a1 = choice_part(got, 1, "arguments");
    CHECK_STR(a0, "{\"q\":\"Taro\"}");
    CHECK_STR(a1, "{\"q\":\"Taro Taro\"}");
    free(a0);
    free(a1);
    free(got);
    ksm_ai_stream_free(s);
    /* a stream cut short: what choice 1's filters hold is released as choice 1's, not lost */
    s = ksm_ai_stream_new(&calls);
    got = raw_stream("data: {\"id\":\"c\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B <P\"}}]}\n\n"
                     CALL_CHUNK(2, "{\\\"q\\\":\\\"<P", "null"), s);
    a1 = choice_part(got, 1, "content");
    char *a2 = choice_part(got, 2, "arguments");
    CHECK_STR(a1, "B <P");
    CHECK_STR(a2, "{\"q\":\"<P");
    free(a1);
    free(a2);
    free(got);
    ksm_ai_stream_free(s);
#undef CALL_CHUNK

    /* text completions: a choice's text is its "text"; restored across chunks, the chunks stay
     * text_completion objects, and a stream cut short releases the held tail in that shape */
    struct ksm_ai_stream_opts cmpl = {.upstream = KSM_AI_OPENAI, .caller = KSM_AI_OPENAI,
                                      .model = "code", .filter = restore, .completion = true};
#define CMPL_CHUNK(text, finish) "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\"," \
    "\"choices\":[{\"index\":0,\"text\":\"" text "\",\"finish_reason\":" finish "}]}\n\n"
    s = ksm_ai_stream_new(&cmpl);
    got = raw_stream(CMPL_CHUNK("x = <P", "null") CMPL_CHUNK("1> + <", "null") CMPL_CHUNK("P1>", "\"stop\"")
                     "data: [DONE]\n\n", s);
    a0 = choice_part(got, 0, "text");
    CHECK_STR(a0, "x = Taro + Taro");
    CHECK(!strstr(got, "delta") && !strstr(got, "chat.completion") && strstr(got, "\"model\":\"code\""));
    free(a0);
    free(got);
    ksm_ai_stream_free(s);
    s = ksm_ai_stream_new(&cmpl);
    got = raw_stream(CMPL_CHUNK("x = <P", "null"), s);   /* cut short */
    a0 = choice_part(got, 0, "text");
    CHECK_STR(a0, "x = <P");
    CHECK(!strstr(got, "delta") && strstr(got, "\"object\":\"text_completion\""));
    CHECK(strstr(got, "\"finish_reason\":\"stop\"") && strstr(got, "[DONE]"));
    free(a0);
    free(got);
    ksm_ai_stream_free(s);
#undef CMPL_CHUNK
}

/* ---- tool calls: scanned on the way in, restored on the way out ----------------------------------- */

static struct ksm_buf held_args;
static void restore_args(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    /* the same rule on a buffer of its own, as the gateway keeps one hold-back state per channel */
    struct ksm_buf keep = held;
    held = held_args;
    restore(ud, in, n, final, emit);
    held_args = held;
    held = keep;
}

/* The same rule for choice k > 0 of an n > 1 stream, one buffer per choice. */
static struct ksm_buf held_choice[4];
static void restore_choice(void *ud, unsigned k, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    struct ksm_buf keep = held;
    held = held_choice[k % 4];
    restore(ud, in, n, final, emit);
    held_choice[k % 4] = held;
    held = keep;
}

static struct ksm_buf held_choice_args[4];
static void restore_choice_args(void *ud, unsigned k, const char *in, size_t n, bool final,
                                struct ksm_buf *emit)
{
    struct ksm_buf keep = held;
    held = held_choice_args[k % 4];
    restore(ud, in, n, final, emit);
    held_choice_args[k % 4] = held;
    held = keep;
}

/* Choice k's text ("content"; a completion's: "text") or first tool call's arguments ("arguments")
 * over all the chunks of raw SSE text, joined (free it). */
static char *choice_part(const char *raw, unsigned k, const char *what)
{
    struct ksm_buf acc = KSM_BUF_INIT;
    for (const char *p = raw; (p = strstr(p, "data: {"));) {
        const char *end = strstr(p, "\n\n");
        json_t *j = json_loadb(p + 6, (size_t)(end - p - 6), 0, NULL), *c, *t;
        size_t i;
        json_array_foreach(json_object_get(j, "choices"), i, c) {
            if (json_integer_value(json_object_get(c, "index")) != (json_int_t)k)
                continue;
            t = !strcmp(what, "text") ? json_object_get(c, "text")
                                      : json_object_get(json_object_get(c, "delta"), "content");
            if (!strcmp(what, "arguments"))
                t = json_object_get(json_object_get(json_array_get(json_object_get(
                        json_object_get(c, "delta"), "tool_calls"), 0), "function"), "arguments");
            ksm_buf_append(&acc, json_string_value(t) ? json_string_value(t) : "", json_string_length(t));
        }
        json_decref(j);
        p = end;
    }
    ksm_buf_putc(&acc, '\0');
    return acc.data;
}

/* What the caller receives, as raw SSE text (NUL-terminated; free it). */
static char *raw_stream(const char *wire, struct ksm_ai_stream *s)
{
    struct ksm_sse_parser p;
    struct ksm_buf out = KSM_BUF_INIT;
    struct feed f = {s, &out, KSM_E_OK};
    ksm_sse_init(&p, 0);
    for (size_t i = 0, n = strlen(wire); i < n; i += 7)
        ksm_sse_feed(&p, wire + i, n - i < 7 ? n - i : 7, to_translator, &f);
    ksm_sse_finish(&p);
    ksm_ai_stream_finish(s, f.last, NULL, &out);
    ksm_sse_free(&p);
    ksm_buf_putc(&out, '\0');
    return out.data;
}

static void test_tool_calls(void)
{
    int masked = 0;
    enum ksm_err e;
    /* OpenAI: an earlier call's arguments are a text part (JSON text, numbers and all) */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"x\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"who\\\":\\\"Taro\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"Taro is in\"}]}") == KSM_E_OK);
    CHECK(req.nparts == 3 && req.nunscanned == 0);
    CHECK(req.parts[1].role == KSM_AI_ROLE_ASSISTANT && req.parts[2].role == KSM_AI_ROLE_TOOL);
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK && masked == 2);
    json_t *b = upstream(KSM_AI_OPENAI, NULL, &e);
    CHECK(e == KSM_E_OK);
    CHECK_STR(jpath_s(b, "messages.1.tool_calls.0.function.arguments"), "{\"who\":\"<P1>\"}");
    json_decref(b);
    /* ... and across: the call a tool_use block (its masked arguments parsed), the result a
     * tool_result in a user turn */
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    CHECK(e == KSM_E_OK);
    check_strs(b, (const char *const[][2]){{"messages.1.content.0.type", "tool_use"},
                                           {"messages.1.content.0.id", "c1"},
                                           {"messages.1.content.0.input.who", "<P1>"},
                                           {"messages.2.role", "user"},
                                           {"messages.2.content.0.tool_use_id", "c1"},
                                           {"messages.2.content.0.content", "<P1> is in"},
                                           {NULL, NULL}});
    CHECK(json_array_size(json_object_get(b, "messages")) == 3);
    json_decref(b);
    /* two results and the user's next words: one user turn, the results first */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
        "\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
        "{\"id\":\"c2\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},{\"role\":\"tool\","
        "\"tool_call_id\":\"c1\",\"content\":\"a\"},{\"role\":\"tool\",\"tool_call_id\":\"c2\","
        "\"content\":\"b\"},{\"role\":\"user\",\"content\":\"next\"},{\"role\":\"user\","
        "\"content\":\"more\"}]}") == KSM_E_OK);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    CHECK(e == KSM_E_OK && json_array_size(json_object_get(b, "messages")) == 3);
    CHECK_STR(jpath_s(b, "messages.0.content.1.id"), "c2");
    CHECK(json_object_size(jpath(b, "messages.0.content.1.input")) == 0);
    CHECK_STR(jpath_s(b, "messages.1.content.0.tool_use_id"), "c1");
    CHECK_STR(jpath_s(b, "messages.1.content.1.tool_use_id"), "c2");
    CHECK_STR(jpath_s(b, "messages.1.content.2.text"), "next");
    CHECK(json_array_size(jpath(b, "messages.1.content")) == 3);
    CHECK_STR(jpath_s(b, "messages.2.content"), "more");   /* text after text: its own turn */
    json_decref(b);
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
        "\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":{}}}]}]}") ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(err, "messages[0].tool_calls[0].function.arguments") != NULL);
    /* OpenAI's custom tools: their free-text input is scanned; they stay on OpenAI routes */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
        "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"custom\",\"custom\":{\"name\":\"sql\","
        "\"input\":\"select Taro\"}}]}]}") == KSM_E_OK);
    CHECK(req.nparts == 1 && req.parts[0].call && req.nunscanned == 0);
    CHECK(upstream(KSM_AI_ANTHROPIC, NULL, &e) == NULL && strstr(err, "(custom)"));

    /* Anthropic: a tool_use input's strings are parts; a long integer's digits are a sealed part
     * (read, never rewritten: no placeholder can stand in a number); a long real is unreadable */
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":"
        "{\"who\":\"Taro\",\"tags\":[\"a\",7],\"at\":{\"n\":12345}}}]}]}") == KSM_E_OK);
    CHECK(req.nparts == 2 && req.nunscanned == 0 && req.parts[0].role == KSM_AI_ROLE_ASSISTANT);
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":"
        "{\"id\":123456789018,\"at\":-1700000000,\"small\":999999999,\"f\":1.5e10,\"min\":"
        "-9223372036854775808}}]}]}") == KSM_E_OK);
    CHECK(req.nparts == 3 && req.nunscanned == 1);
    CHECK(req.parts[0].seal == KSM_AI_SEAL_NUMBER && req.parts[1].seal == KSM_AI_SEAL_NUMBER);
    CHECK_STR(ksm_ai_part_text(&req.parts[0], NULL), "123456789018");
    CHECK_STR(ksm_ai_part_text(&req.parts[1], NULL), "-1700000000");
    CHECK_STR(ksm_ai_part_text(&req.parts[2], NULL), "-9223372036854775808");

    /* a tool definition's texts are scanned too (not its name); they are no message's text */
    masked = 0;
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"find_Taro\","
        "\"description\":\"finds Taro\",\"parameters\":{\"type\":\"object\",\"properties\":{"
        "\"who\":{\"type\":\"string\",\"enum\":[\"Taro\",\"Hanako\"],\"maxLength\":12345678901}}}}}]}") ==
          KSM_E_OK);
    CHECK(req.nunscanned == 0 && req.nparts == 6);   /* x, description, 2 schema types, 2 enum values */
    CHECK(ksm_ai_request_visit(&req, KSM_AI_ROLES_ALL, mask_taro, &masked) == KSM_E_OK && masked == 2);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    check_strs(b, (const char *const[][2]){{"tools.0.name", "find_Taro"},
                                           {"tools.0.description", "finds <P1>"},
                                           {"tools.0.input_schema.properties.who.enum.0", "<P1>"},
                                           {"messages.0.content", "x"},
                                           {NULL, NULL}});
    CHECK(!json_object_get(b, "system"));
    json_decref(b);

    /* tools and the choice, both ways */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":"
        "\"d\",\"parameters\":{\"type\":\"object\"}}},{\"type\":\"function\",\"function\":{"
        "\"name\":\"g\"}}],\"tool_choice\":\"required\",\"parallel_tool_calls\":false}") ==
          KSM_E_OK);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    CHECK(e == KSM_E_OK);
    CHECK_STR(jpath_s(b, "tools.0.name"), "f");
    CHECK_STR(jpath_s(b, "tools.0.description"), "d");
    CHECK_STR(jpath_s(b, "tools.1.input_schema.type"), "object");
    CHECK_STR(jpath_s(b, "tool_choice.type"), "any");
    CHECK(json_is_true(jpath(b, "tool_choice.disable_parallel_tool_use")));
    json_decref(b);
    /* a null tool_choice is absent, as everywhere */
    CHECK(decode(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"x\"}],\"tool_choice\":null,\"parallel_tool_calls\":false}") == KSM_E_OK);
    b = upstream(KSM_AI_ANTHROPIC, NULL, &e);
    CHECK(e == KSM_E_OK);
    CHECK_STR(jpath_s(b, "tool_choice.type"), "auto");
    CHECK(json_is_true(jpath(b, "tool_choice.disable_parallel_tool_use")));
    json_decref(b);
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"tools\":[{\"name\":\"f\","
        "\"input_schema\":{\"type\":\"object\"},\"cache_control\":{\"type\":\"ephemeral\"}}],"
        "\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\",\"disable_parallel_tool_use\":true},"
        "\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\","
        "\"input\":{\"who\":\"Taro\"}}]},{\"role\":\"user\",\"content\":[{\"type\":"
        "\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":\"text\",\"text\":\"done\"}]},"
        "{\"type\":\"text\",\"text\":\"thanks\"}]}]}") == KSM_E_OK);
    b = upstream(KSM_AI_OPENAI, NULL, &e);
    CHECK(e == KSM_E_OK);
    CHECK(json_is_false(json_object_get(b, "parallel_tool_calls")));
    check_strs(b, (const char *const[][2]){{"tools.0.type", "function"},
                                           {"tools.0.function.parameters.type", "object"},
                                           {"tool_choice.function.name", "f"},
                                           {"messages.1.content", "ok"},
                                           {"messages.1.tool_calls.0.id", "t"},
                                           {"messages.1.tool_calls.0.function.arguments",
                                            "{\"who\":\"Taro\"}"},
                                           {"messages.2.role", "tool"},
                                           {"messages.2.tool_call_id", "t"},
                                           {"messages.2.content.0.text", "done"},
                                           {"messages.3.content", "thanks"},
                                           {NULL, NULL}});
    CHECK(json_array_size(json_object_get(b, "messages")) == 4);
    json_decref(b);
    /* what has no counterpart is refused by name: an error flag, a server tool */
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"is_error\":true,"
        "\"content\":\"boom\"}]}]}") == KSM_E_OK);
    CHECK(upstream(KSM_AI_OPENAI, NULL, &e) == NULL && strstr(err, "(tool_result)"));
    CHECK(decode(KSM_AI_ANTHROPIC, "{\"model\":\"c\",\"max_tokens\":9,\"tools\":[{\"type\":"
        "\"web_search_20250305\",\"name\":\"web_search\"}],\"messages\":[{\"role\":\"user\","
        "\"content\":\"x\"}]}") == KSM_E_OK);
    CHECK(upstream(KSM_AI_OPENAI, NULL, &e) == NULL && strstr(err, "tools[0]"));

    /* whole answers: the arguments and the input are restored */
    json_t *out, *in = json_loads("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
        "null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"who\\\":\\\"<P1>\\\"}\"}}]}}]}", 0, NULL);
    struct ksm_ai_usage u = {0};
    CHECK(ksm_ai_response_translate(KSM_AI_OPENAI, KSM_AI_OPENAI, in, NULL, &restoring, &out, &u,
                                    err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "choices.0.message.tool_calls.0.function.arguments"), "{\"who\":\"Taro\"}");
    json_decref(out);
    json_decref(in);
    in = json_loads("{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":"
                    "{\"who\":[\"<P1>\"]}}],\"stop_reason\":\"tool_use\"}", 0, NULL);
    CHECK(ksm_ai_response_translate(KSM_AI_ANTHROPIC, KSM_AI_ANTHROPIC, in, NULL, &restoring, &out,
                                    &u, err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "content.0.input.who.0"), "Taro");
    json_decref(out);
    /* a citation of a masked document quotes it with placeholders: restored too */
    json_t *cited = json_loads("{\"content\":[{\"type\":\"text\",\"text\":\"<P1>.\",\"citations\":"
        "[{\"type\":\"char_location\",\"cited_text\":\"Dear <P1>\",\"document_index\":0}]}]}", 0,
        NULL);
    CHECK(ksm_ai_response_translate(KSM_AI_ANTHROPIC, KSM_AI_ANTHROPIC, cited, NULL, &restoring,
                                    &out, &u, err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "content.0.citations.0.cited_text"), "Dear Taro");
    CHECK(jpath_i(out, "content.0.citations.0.document_index") == 0);
    json_decref(out);
    json_decref(cited);
    /* ... and across */
    CHECK(ksm_ai_response_translate(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, in, NULL, &restoring, &out,
                                    &u, err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "choices.0.message.tool_calls.0.function.arguments"),
              "{\"who\":[\"Taro\"]}");
    CHECK(json_is_null(jpath(out, "choices.0.message.content")));
    CHECK_STR(jpath_s(out, "choices.0.finish_reason"), "tool_calls");
    json_decref(out);
    json_decref(in);
    in = json_loads("{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Hm\","
        "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"who\\\":\\\"<P1>\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
        0, NULL);
    CHECK(ksm_ai_response_translate(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, in, NULL, &restoring, &out,
                                    &u, err) == KSM_E_OK);
    CHECK_STR(jpath_s(out, "content.0.text"), "Hm");
    CHECK_STR(jpath_s(out, "content.1.type"), "tool_use");
    CHECK_STR(jpath_s(out, "content.1.input.who"), "Taro");
    CHECK_STR(jpath_s(out, "stop_reason"), "tool_use");
    json_decref(out);
    json_decref(in);

    /* streams: a placeholder split across two argument pieces, released at the next call and at
     * the finish */
    const char *oai =
        OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\","
                  "\"arguments\":\"<P\"}}]}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1> <\"}}]}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"d\",\"function\":{\"name\":\"f\","
                  "\"arguments\":\"<P\"}}]}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"1\"}}]}", "null")
        OAI_CHUNK("{}", "\"tool_calls\"") "data: [DONE]\n\n";
    struct ksm_ai_stream_opts o = {.upstream = KSM_AI_OPENAI, .caller = KSM_AI_OPENAI,
                                   .filter = restore, .args_filter = restore_args};
    struct ksm_ai_stream *s = ksm_ai_stream_new(&o);
    char *got = raw_stream(oai, s);
    /* call 0 gets "Taro" and then its held "<" before call 1 starts; call 1's "<P1" at the finish */
    const char *t = strstr(got, "Taro"), *lt = t ? strstr(t, "\"arguments\":\"<\"") : NULL;
    const char *c1 = lt ? strstr(lt, "\"index\":1") : NULL;
    CHECK(t && lt && c1 && strstr(c1, "\"arguments\":\"<P1\"") && strstr(got, "[DONE]"));
    CHECK(strstr(got, "\"index\":0,\"function\":{\"arguments\":\"<\"}") != NULL);
    free(got);
    ksm_ai_stream_free(s);
    /* cut short inside a call: what the filter held is delivered before the error */
    s = ksm_ai_stream_new(&o);
    got = raw_stream(OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":"
                               "\"f\",\"arguments\":\"{<P\"}}]}", "null"), s);
    t = strstr(got, "\"arguments\":\"<P\"");
    CHECK(strstr(got, "\"arguments\":\"{\"") && t && strstr(t, "error"));
    free(got);
    ksm_ai_stream_free(s);
    /* Anthropic's citations stream whole in a text block: each string restored */
    o.upstream = o.caller = KSM_AI_ANTHROPIC;
    o.quote_filter = restore_args;
    s = ksm_ai_stream_new(&o);
    got = raw_stream(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\",\"citations\":[]}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"x <P\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"type\":\"char_location\","
        "\"cited_text\":\"Dear <P1>\",\"document_index\":0}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"1>\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n", s);
    CHECK(strstr(got, "\"cited_text\":\"Dear Taro\"") && !strstr(got, "<P1>"));
    CHECK(strstr(got, "\"text\":\"x \"") && strstr(got, "\"text\":\"Taro\""));   /* text held as before */
    free(got);
    ksm_ai_stream_free(s);
    o.upstream = o.caller = KSM_AI_OPENAI;
    /* a custom tool's free-text input streams the same way, under custom.input */
    s = ksm_ai_stream_new(&o);
    got = raw_stream(
        OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"custom\",\"custom\":{"
                  "\"name\":\"sh\",\"input\":\"echo <P\"}}]}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"custom\":{\"input\":\"1> <\"}}]}", "null")
        OAI_CHUNK("{}", "\"tool_calls\"") "data: [DONE]\n\n", s);
    t = strstr(got, "\"input\":\"Taro \"");
    CHECK(strstr(got, "\"input\":\"echo \"") && t && strstr(t, "\"custom\":{\"input\":\"<\"}"));
    CHECK(!strstr(got, "<P1>") && !strstr(got, "arguments"));
    free(got);
    ksm_ai_stream_free(s);

    const char *ant =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"who\\\":\\\"<P\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1>\\\"} <\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"tool_use\"},\"usage\":{\"output_tokens\":6}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    /* across: OpenAI's tool_calls deltas as tool_use blocks, and back */
    const char *oai_tools =
        OAI_CHUNK("{\"role\":\"assistant\",\"content\":\"Hi\"}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"function\",\"function\":"
                  "{\"name\":\"f\",\"arguments\":\"{\\\"q\\\":\\\"<P\"}}]}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1>\\\"}\"}}]}", "null")
        OAI_CHUNK("{\"tool_calls\":[{\"index\":1,\"id\":\"d\",\"function\":{\"name\":\"g\","
                  "\"arguments\":\"{}\"}}]}", "null")
        OAI_CHUNK("{}", "\"tool_calls\"") "data: [DONE]\n\n";
    o.upstream = KSM_AI_OPENAI;
    o.caller = KSM_AI_ANTHROPIC;
    s = ksm_ai_stream_new(&o);
    got = run_stream(oai_tools, 0, s);
    CHECK_STR(got, "message_start content_block_start delta:Hi content_block_stop tool_use:f "
                   "json:{\"q\":\" json:Taro\"} content_block_stop tool_use:g json:{} "
                   "content_block_stop message_delta:tool_use/0 message_stop");
    free(got);
    ksm_ai_stream_free(s);
    const char *ant_tools =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\\\"<P\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
        "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1>\\\"} <\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"tool_use\"},\"usage\":{\"output_tokens\":6}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    o.upstream = KSM_AI_ANTHROPIC;
    o.caller = KSM_AI_OPENAI;
    s = ksm_ai_stream_new(&o);
    got = run_stream(ant_tools, 0, s);
    CHECK_STR(got, "role c:Hi call0:f args0:{\"q\":\" args0:Taro\"}  args0:< finish:tool_calls DONE");
    free(got);
    ksm_ai_stream_free(s);

    o.upstream = o.caller = KSM_AI_ANTHROPIC;
    s = ksm_ai_stream_new(&o);
    got = raw_stream(ant, s);
    t = strstr(got, "Taro\\\"} ");
    CHECK(t && !strstr(got, "<P") && strstr(t, "\"partial_json\":\"<\"") &&
          strstr(t, "content_block_stop"));
    free(got);
    ksm_ai_stream_free(s);
}

static void test_stream_cut(void)
{
    /* the upstream stops after the first text delta: the caller still gets a proper end */
    const char *cut_at = strstr(ant_stream, "event: content_block_delta\ndata: {\"type\":"
                                            "\"content_block_delta\",\"index\":0,\"delta\":{"
                                            "\"type\":\"text_delta\",\"text\":\"!\"");
    size_t cut = (size_t)(cut_at - ant_stream);
    struct ksm_ai_stream *s = stream(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, true, NULL);
    char *got = run_stream(ant_stream, cut, s);
    CHECK_STR(got, "role c:Hello error finish:stop usage:125/1 DONE");
    CHECK(!ksm_ai_stream_complete(s));
    free(got);
    ksm_ai_stream_free(s);
    s = stream(KSM_AI_ANTHROPIC, KSM_AI_ANTHROPIC, false, NULL);
    got = run_stream(ant_stream, cut, s);
    CHECK_STR(got, "message_start content_block_start ping delta:Hello error content_block_stop "
                   "message_delta:end_turn/1 message_stop");
    free(got);
    ksm_ai_stream_free(s);

    /* OpenAI upstream without its final chunk, usage chunk or [DONE] */
    cut = (size_t)(strstr(oai_stream, OAI_CHUNK("{}", "\"stop\"")) - oai_stream);
    s = stream(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, false, NULL);
    got = run_stream(oai_stream, cut, s);
    CHECK_STR(got, "message_start content_block_start delta:Hello delta: world error "
                   "content_block_stop message_delta:end_turn/0 message_stop");
    free(got);
    ksm_ai_stream_free(s);
    s = stream(KSM_AI_OPENAI, KSM_AI_OPENAI, true, NULL);
    got = run_stream(oai_stream, cut, s);
    CHECK_STR(got, "role c:Hello c: world error finish:stop usage:0/0 DONE");
    free(got);
    ksm_ai_stream_free(s);

    /* nothing at all, and garbage */
    s = stream(KSM_AI_OPENAI, KSM_AI_ANTHROPIC, false, NULL);
    got = run_stream("data: {not json\n\n", 0, s);
    CHECK_STR(got, "error message_start message_delta:end_turn/0 message_stop");
    free(got);
    ksm_ai_stream_free(s);

    /* an error event from the upstream is passed on in the caller's shape */
    s = stream(KSM_AI_ANTHROPIC, KSM_AI_OPENAI, false, NULL);
    got = run_stream("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                     "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", 0, s);
    CHECK_STR(got, "error");
    free(got);
    ksm_ai_stream_free(s);
}

/* ---- usage and errors -------------------------------------------------------------------------- */

static void test_usage(void)
{
    struct ksm_ai_usage u = {0};
    json_t *start = json_loads("{\"type\":\"message_start\",\"message\":{\"usage\":{"
        "\"input_tokens\":10,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":20,"
        "\"output_tokens\":1}}}", 0, NULL);
    json_t *d1 = json_loads("{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":10}}", 0, NULL);
    json_t *d2 = json_loads("{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}", 0, NULL);
    CHECK(ksm_ai_usage_from_anthropic(start, &u));
    CHECK(u.prompt == 130 && u.cached == 100 && u.cache_write == 20 && u.completion == 1);
    ksm_ai_usage_from_anthropic(d1, &u);
    ksm_ai_usage_from_anthropic(d2, &u);
    CHECK(u.completion == 15 && u.prompt == 130);   /* cumulative: replaced, never summed */
    json_t *bad = json_loads("{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":1e30,"
                             "\"prompt_tokens_details\":{\"cached_tokens\":99}}}", 0, NULL);
    struct ksm_ai_usage v = {0};
    CHECK(!ksm_ai_usage_from_openai(bad, &v) && v.prompt == 0 && v.cached == 0);
    json_t *chunk = json_loads("{\"usage\":null}", 0, NULL);
    CHECK(!ksm_ai_usage_from_openai(chunk, &v) && !v.present);
    json_decref(start);
    json_decref(d1);
    json_decref(d2);
    json_decref(bad);
    json_decref(chunk);
}

static void test_errors(void)
{
    struct ksm_buf b = KSM_BUF_INIT;
    ksm_ai_error_render(KSM_AI_OPENAI, KSM_E_MODEL_NOT_FOUND, "The model 'x' does not exist", "model",
                        &b);
    CHECK_STR(b.data, "{\"error\":{\"message\":\"The model 'x' does not exist\",\"type\":"
                      "\"invalid_request_error\",\"param\":\"model\",\"code\":\"model_not_found\"}}");
    ksm_buf_reset(&b);
    ksm_ai_error_render(KSM_AI_ANTHROPIC, KSM_E_RATE_LIMITED, NULL, NULL, &b);
    CHECK_STR(b.data, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
                      "\"too many requests\"}}");
    ksm_buf_reset(&b);
    ksm_ai_error_render(KSM_AI_OPENAI, KSM_E_UPSTREAM_TIMEOUT, "\xff", NULL, &b);   /* not UTF-8 */
    CHECK(strstr(b.data, "did not answer in time") != NULL);
    ksm_buf_reset(&b);
    ksm_ai_error_sse(KSM_AI_ANTHROPIC, KSM_E_UPSTREAM_OVERLOADED, "busy", &b);
    CHECK_STR(b.data, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                      "\"overloaded_error\",\"message\":\"busy\"}}\n\n");
    ksm_buf_free(&b);

    static const struct {
        enum ksm_err e;
        const char *type;
    } types[] = {
        {KSM_E_INVALID_ARGUMENT, "invalid_request_error"}, {KSM_E_UNAUTHENTICATED, "authentication_error"},
        {KSM_E_FORBIDDEN, "permission_error"}, {KSM_E_MODEL_NOT_FOUND, "not_found_error"},
        {KSM_E_TOO_LARGE, "request_too_large"}, {KSM_E_RATE_LIMITED, "rate_limit_error"},
        {KSM_E_INTERNAL, "api_error"}, {KSM_E_UPSTREAM_ERROR, "api_error"},
        {KSM_E_UPSTREAM_OVERLOADED, "overloaded_error"}, {KSM_E_UPSTREAM_TIMEOUT, "api_error"},
        {KSM_E_CONFLICT, "invalid_request_error"},
    };
    for (size_t i = 0; i < KSM_NELEM(types); i++)
        CHECK_STR(ksm_ai_anthropic_error_type(types[i].e), types[i].type);

    char msg[KSM_AI_ERR_MAX];
    const char *key401 = "{\"error\":{\"message\":\"Incorrect API key provided: sk-abc***xyz\","
                         "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}";
    CHECK(ksm_ai_upstream_error(KSM_AI_OPENAI, 401, key401, strlen(key401), msg) ==
          KSM_E_UPSTREAM_ERROR);
    CHECK(strstr(msg, "sk-") == NULL);   /* the provider's key never reaches the caller */
    const char *long400 = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                          "\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}";
    CHECK(ksm_ai_upstream_error(KSM_AI_ANTHROPIC, 400, long400, strlen(long400), msg) ==
          KSM_E_INVALID_ARGUMENT);
    CHECK(strstr(msg, "prompt is too long") != NULL);
    CHECK(ksm_ai_upstream_error(KSM_AI_ANTHROPIC, 529, "x", 1, msg) == KSM_E_UPSTREAM_OVERLOADED);
    CHECK(ksm_ai_upstream_error(KSM_AI_OPENAI, 429, NULL, 0, msg) == KSM_E_RATE_LIMITED);
    CHECK(ksm_ai_upstream_error(KSM_AI_OPENAI, 418, NULL, 0, msg) == KSM_E_INVALID_ARGUMENT);
    CHECK(ksm_ai_upstream_error(KSM_AI_OPENAI, 599, NULL, 0, msg) == KSM_E_UPSTREAM_ERROR);

    CHECK_STR(ksm_ai_stop_to_finish("max_tokens"), "length");
    CHECK_STR(ksm_ai_stop_to_finish("tool_use"), "tool_calls");
    CHECK_STR(ksm_ai_stop_to_finish("refusal"), "content_filter");
    CHECK_STR(ksm_ai_stop_to_finish(NULL), "stop");
    CHECK_STR(ksm_ai_finish_to_stop("length"), "max_tokens");
    CHECK_STR(ksm_ai_finish_to_stop("function_call"), "tool_use");
    CHECK_STR(ksm_ai_finish_to_stop("content_filter"), "refusal");
    CHECK_STR(ksm_ai_finish_to_stop("stop"), "end_turn");
}

int main(void)
{
    test_decode_openai();
    test_decode_anthropic();
    test_validation();
    test_visitor();
    test_options_scanned();
    test_responses();
    test_streams();
    test_stream_filter();
    test_stream_cut();
    test_tool_calls();
    test_usage();
    test_errors();
    ksm_ai_request_free(&req);
    ksm_buf_free(&held);
    ksm_buf_free(&held_args);
    for (int k = 0; k < 4; k++)
        ksm_buf_free(&held_choice[k]);
    return CHECK_DONE();
}
