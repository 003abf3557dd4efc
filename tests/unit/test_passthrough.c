/* test_passthrough.c — the gateway's byte path (core/jscan.h): what the scanner accepts and refuses,
 * the same-protocol upstream body with only the model and include_usage rewritten, and whole answers
 * passed back with the model replaced and usage read — each compared with what the tree path
 * (jansson) gives for the same input, and each refusal checked to leave the tree path its say. */
#include "check.h"
#include "ai/ai_int.h"
#include "core/jscan.h"
#include "ai/translate.h"
#include "core/util.h"

#include <stdlib.h>

static struct ksm_ai_request req;
static char err[KSM_AI_ERR_MAX];

static int members(const char *s)
{
    struct ksm_jscan_member m[8];
    return ksm_jscan_object(s, strlen(s), m, 8, NULL);
}

static void test_scanner(void)
{
    struct ksm_jscan_member m[8];
    size_t close;
    const char *s = " {\"a\" : [1, -2.5e3, {\"b\":[]}, \"x\\u00e9\\ud83d\\ude00\"], \"c\":null,\"d\":{}} \n";
    CHECK(ksm_jscan_object(s, strlen(s), m, 8, &close) == 3);
    CHECK(m[0].key_len == 1 && m[0].key[0] == 'a' && m[0].val[0] == '[' &&
          m[0].val[m[0].val_len - 1] == ']');
    CHECK(m[1].val_len == 4 && !memcmp(m[1].val, "null", 4));
    CHECK(m[2].val_len == 2 && ksm_jscan_is_object(&m[2]));
    CHECK(s[close] == '}' && close == strlen(s) - 3);
    CHECK(ksm_jscan_get(m, 3, "c") == &m[1] && !ksm_jscan_get(m, 3, "e"));
    CHECK(members("{}") == 0);
    CHECK(members("{\"k\":\"\xe3\x81\x82\"}") == 1);   /* UTF-8 inside strings */
    CHECK(members("{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}") == 1);
    /* UTF-8 by ksm_utf8_valid's rules: overlong, surrogate, above U+10FFFF, cut, stray, outside strings */
    const char *bad_utf8[] = {"{\"k\":\"\xc0\xaf\"}", "{\"k\":\"\xe0\x80\xaf\"}", "{\"k\":\"\xed\xa0\x80\"}",
                              "{\"k\":\"\xf4\x90\x80\x80\"}", "{\"k\":\"\xe3\x81\"}", "{\"k\":\"\x80\"}",
                              "{\"k\":\"\xe3\x81\x82", "{\"k\":1}\xc3\xa9", "{\"k\":\xc3\xa9}"};
    for (size_t i = 0; i < KSM_NELEM(bad_utf8); i++) {
        CHECK(members(bad_utf8[i]) == -1);
        CHECK(ksm_jscan_load(bad_utf8[i], strlen(bad_utf8[i])) == NULL);
    }
    /* malformed */
    const char *bad[] = {"", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,\"a\":1}", "{\"a\":01}",
                         "{\"a\":1.}", "{\"a\":.5}", "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":1} x",
                         "{\"a\":\"\\x\"}", "{\"a\":[1 2]}", "{\"a\":{\"b\" 1}}", "{\"a\":\"\xff\"}",
                         "{'a':1}", "{\"a\":1}}", "{\"a\":[}"};
    for (size_t i = 0; i < KSM_NELEM(bad); i++)
        CHECK(members(bad[i]) == -1);
    /* valid JSON the scanner leaves to jansson: duplicate or escaped keys, \u0000, lone
     * surrogates, integers that may overflow, long or huge reals, deep nesting, too many members */
    const char *refused[] = {"{\"a\":1,\"a\":2}", "{\"\\u0061\":1}", "{\"a\":\"\\u0000\"}",
                             "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":1234567890123456789}",
                             "{\"a\":1.00000000000000000000000000001}", "{\"a\":1e999}",
                             "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}"};
    for (size_t i = 0; i < KSM_NELEM(refused); i++)
        CHECK(members(refused[i]) == -1);
    char deep[300];
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"a\":", 4), n += 4;
    for (int i = 0; i < KSM_JSCAN_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < KSM_JSCAN_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    CHECK(ksm_jscan_object(deep, n, m, 8, NULL) == -1);
    CHECK(ksm_jscan_object(deep + 0, 0, m, 8, NULL) == -1);
    /* counts read as json_is_integer would */
    int64_t v = -1;
    CHECK(ksm_jscan_count("0", 1, 100, &v) && v == 0);
    CHECK(ksm_jscan_count("-0", 2, 100, &v) && v == 0);
    CHECK(ksm_jscan_count("42", 2, 100, &v) && v == 42);
    v = 7;
    CHECK(!ksm_jscan_count("101", 3, 100, &v) && !ksm_jscan_count("-1", 2, 100, &v));
    CHECK(!ksm_jscan_count("4.0", 3, 100, &v) && !ksm_jscan_count("4e1", 3, 100, &v));
    CHECK(!ksm_jscan_count("\"4\"", 3, 100, &v) && !ksm_jscan_count("null", 4, 100, &v) && v == 7);
}

/* The tree builder against json_loadb (duplicates refused): the same tree, or a refusal. */
static void test_load(void)
{
    const char *same[] = {
        "{}", " {\"a\" : [1, -0, -2.5e3, 0.1, 1E-7, true, false, null, {}, [], \"\"]} ",
        "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t \xe3\x81\x82\"}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\u3053\\u3093\"}],\"n\":1}",
        "{\"big\":999999999999999999,\"neg\":-999999999999999999,\"r\":-1.5e-280}",
    };
    for (size_t i = 0; i < KSM_NELEM(same); i++) {
        json_t *fast = ksm_jscan_load(same[i], strlen(same[i]));
        json_t *slow = json_loads(same[i], JSON_REJECT_DUPLICATES, NULL);
        CHECK(fast && slow && json_equal(fast, slow));
        json_decref(fast);
        json_decref(slow);
    }
    json_t *j = ksm_jscan_load(same[2], strlen(same[2]));
    CHECK_STR(json_string_value(json_object_get(j, "s")),
              "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \b\f\n\r\t \xe3\x81\x82");
    json_decref(j);
    /* refused: nested duplicates (JSON_REJECT_DUPLICATES refuses them too), malformed, arrays */
    const char *refused[] = {"{\"a\":{\"b\":1,\"b\":2}}", "{\"a\":[1,]}", "{\"a\":1", "[1]",
                             "{\"a\":1} 2", "{\"\\u0061\":1}", "{\"a\":\"\\ud800\"}"};
    for (size_t i = 0; i < KSM_NELEM(refused); i++)
        CHECK(ksm_jscan_load(refused[i], strlen(refused[i])) == NULL);
}

/* ---- requests ---------------------------------------------------------------------------------- */

/* The byte path's body for req (decoded from body), checked against the tree path's: the same JSON
 * value. Returns the bytes (caller frees), or NULL when the byte path refused. */
static char *raw_body(const char *body, enum ksm_ai_proto to, const char *model)
{
    struct ksm_ai_upstream_opts o = {.proto = to, .model = model};
    struct ksm_buf out = KSM_BUF_INIT;
    if (ksm_ai_upstream_body_raw(&req, body, strlen(body), &o, &out) != 0) {
        CHECK(out.len == 0);
        return NULL;
    }
    json_t *tree = NULL, *bytes = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, NULL);
    CHECK(ksm_ai_upstream_body(&req, &o, &tree, err) == KSM_E_OK);
    CHECK(bytes && json_equal(bytes, tree));
    json_decref(tree);
    json_decref(bytes);
    ksm_buf_putc(&out, '\0');
    return ksm_buf_steal(&out);
}

static char *decoded_raw(enum ksm_ai_proto p, const char *body, const char *model)
{
    ksm_ai_request_free(&req);
    CHECK(ksm_ai_request_decode(p, body, strlen(body), &req, err) == KSM_E_OK);
    return raw_body(body, p, model);
}

static void test_request_bytes(void)
{
    /* whitespace, key order, unknown fields and escapes stay as the caller wrote them */
    const char *b = "{ \"messages\": [{\"role\":\"user\",\"content\":\"caf\\u00e9 \xe3\x81\x82\"}],\n"
                    "  \"model\" : \"alias\", \"seed\": 7, \"temperature\": 0.70 }";
    char *s = decoded_raw(KSM_AI_OPENAI, b, "up-model");
    CHECK_STR(s, "{ \"messages\": [{\"role\":\"user\",\"content\":\"caf\\u00e9 \xe3\x81\x82\"}],\n"
                 "  \"model\" : \"up-model\", \"seed\": 7, \"temperature\": 0.70 }");
    free(s);
    s = decoded_raw(KSM_AI_OPENAI, b, NULL);   /* no model to set: the bytes as they came */
    CHECK_STR(s, b);
    free(s);
    /* a model name that needs escaping */
    s = decoded_raw(KSM_AI_OPENAI, b, "a\"b\\c");
    CHECK(s && strstr(s, "\"model\" : \"a\\\"b\\\\c\","));
    free(s);

    /* streams to OpenAI always ask for usage, whatever stream_options said */
    const char *head = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                       "\"stream\":true";
    const char *cases[][2] = {
        {"}", ",\"stream_options\":{\"include_usage\":true}}"},
        {",\"stream_options\":null}", ",\"stream_options\":{\"include_usage\":true}}"},
        {",\"stream_options\":{}}", ",\"stream_options\":{\"include_usage\":true}}"},
        {",\"stream_options\":{\"include_usage\":false}}", ",\"stream_options\":{\"include_usage\":true}}"},
        {",\"stream_options\":{ \"x\" : 1 }}", ",\"stream_options\":{\"include_usage\":true, \"x\" : 1 }}"},
        {",\"stream_options\":{\"include_usage\":null,\"y\":2}}",
         ",\"stream_options\":{\"include_usage\":true,\"y\":2}}"},
    };
    for (size_t i = 0; i < KSM_NELEM(cases); i++) {
        char in[256], want[256];
        snprintf(in, sizeof in, "%s%s", head, cases[i][0]);
        snprintf(want, sizeof want, "{\"model\":\"up\",\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"hi\"}],\"stream\":true%s", cases[i][1]);
        s = decoded_raw(KSM_AI_OPENAI, in, "up");
        CHECK_STR(s, want);
        free(s);
    }
    /* stream_options before the model: the two edits are applied in order */
    s = decoded_raw(KSM_AI_OPENAI, "{\"stream_options\":{},\"stream\":true,\"model\":\"m\",\"messages\":"
                    "[{\"role\":\"user\",\"content\":\"hi\"}]}", "up");
    CHECK_STR(s, "{\"stream_options\":{\"include_usage\":true},\"stream\":true,\"model\":\"up\","
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    free(s);
    /* Anthropic streams carry usage anyway: only the model changes */
    const char *ab = "{\"model\":\"m\",\"max_tokens\":5,\"stream\":true,\"messages\":[{\"role\":\"user\","
                     "\"content\":\"hi\"}]}";
    s = decoded_raw(KSM_AI_ANTHROPIC, ab, "claude-x");
    CHECK_STR(s, "{\"model\":\"claude-x\",\"max_tokens\":5,\"stream\":true,\"messages\":[{\"role\":"
                 "\"user\",\"content\":\"hi\"}]}");
    free(s);

    /* refused: across protocols, after masking, and bytes the scanner leaves to jansson */
    CHECK(raw_body(ab, KSM_AI_OPENAI, "x") == NULL);
    ksm_ai_request_free(&req);
    CHECK(ksm_ai_request_decode(KSM_AI_OPENAI, b, strlen(b), &req, err) == KSM_E_OK);
    CHECK(ksm_ai_part_set_text(&req, &req.parts[0], "<P1>", 4) == 0 && req.rewritten);
    CHECK(raw_body(b, KSM_AI_OPENAI, "x") == NULL);
    CHECK(decoded_raw(KSM_AI_OPENAI, "{\"mod\\u0065l\":\"m\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"hi\"}]}", "x") == NULL);
    CHECK(decoded_raw(KSM_AI_OPENAI, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"hi\"}],\"seed\":1234567890123456789}", "x") == NULL);
}

/* ---- responses --------------------------------------------------------------------------------- */

/* The byte path's answer and usage, checked against the tree path's. NULL when refused. */
static char *raw_answer(enum ksm_ai_proto p, const char *body, const char *model,
                        struct ksm_ai_usage *u)
{
    struct ksm_buf out = KSM_BUF_INIT;
    struct ksm_ai_usage before = *u;
    if (ksm_ai_response_passthrough(p, body, strlen(body), model, &out, u) != 0) {
        CHECK(out.len == 0 && !memcmp(&before, u, sizeof before));
        return NULL;
    }
    struct ksm_ai_usage tu = before;
    json_t *in = json_loads(body, 0, NULL), *tree = NULL;
    json_t *bytes = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, NULL);
    CHECK(ksm_ai_response_translate(p, p, in, model, NULL, &tree, &tu, err) == KSM_E_OK);
    CHECK(bytes && json_equal(bytes, tree));
    CHECK(!memcmp(&tu, u, sizeof tu));   /* metered exactly as the tree path meters */
    json_decref(in);
    json_decref(tree);
    json_decref(bytes);
    ksm_buf_putc(&out, '\0');
    return ksm_buf_steal(&out);
}

static void test_answer_bytes(void)
{
    struct ksm_ai_usage u = {0};
    const char *a = "{\"id\":\"c1\", \"model\": \"gpt-4o-2024\", \"choices\":[{\"index\":0,\"message\":"
                    "{\"role\":\"assistant\",\"content\":\"Hi \\\"there\\\"\"},\"finish_reason\":\"stop\"}],"
                    "\"usage\":{\"prompt_tokens\":1117,\"completion_tokens\":46,\"total_tokens\":1163,"
                    "\"prompt_tokens_details\":{\"cached_tokens\":1024,\"audio_tokens\":0}}}";
    char *s = raw_answer(KSM_AI_OPENAI, a, "alias", &u);
    CHECK(s && strstr(s, "\"model\": \"alias\", \"choices\"") && strstr(s, "Hi \\\"there\\\""));
    CHECK(u.present && u.prompt == 1117 && u.completion == 46 && u.cached == 1024);
    free(s);
    /* no model in the answer: the alias is added; no usage: nothing metered from it */
    memset(&u, 0, sizeof u);
    s = raw_answer(KSM_AI_OPENAI, "{\"choices\":[]}", "alias", &u);
    CHECK_STR(s, "{\"choices\":[],\"model\":\"alias\"}");
    CHECK(!u.present && u.prompt == 0);
    free(s);
    s = raw_answer(KSM_AI_OPENAI, "{ }", "alias", &u);
    CHECK_STR(s, "{ \"model\":\"alias\"}");
    free(s);
    /* usage that is not all sane integers: what is sane counts, the rest is ignored, as before */
    s = raw_answer(KSM_AI_OPENAI, "{\"usage\":{\"prompt_tokens\":5.0,\"completion_tokens\":3,"
                   "\"prompt_tokens_details\":{\"cached_tokens\":9}}}", "m", &u);
    CHECK(s && u.present && u.prompt == 0 && u.completion == 3 && u.cached == 0);
    free(s);
    memset(&u, 0, sizeof u);
    s = raw_answer(KSM_AI_OPENAI, "{\"usage\":null,\"model\":null}", "m", &u);
    CHECK_STR(s, "{\"usage\":null,\"model\":\"m\"}");
    CHECK(!u.present);
    free(s);
    s = raw_answer(KSM_AI_OPENAI, "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":"
                   "1125899906842625}}", "m", &u);   /* negative, and above 2^50 */
    CHECK(s && !u.present && u.completion == 0);
    free(s);
    /* Anthropic: input_tokens excludes the cache parts */
    memset(&u, 0, sizeof u);
    s = raw_answer(KSM_AI_ANTHROPIC, "{\"type\":\"message\",\"model\":\"claude\",\"content\":[{\"type\":"
                   "\"text\",\"text\":\"x\"}],\"usage\":{\"input_tokens\":2095,\"output_tokens\":503,"
                   "\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":1000}}", "alias", &u);
    CHECK(s && strstr(s, "\"model\":\"alias\""));
    CHECK(u.prompt == 3195 && u.cached == 1000 && u.cache_write == 100 && u.completion == 503);
    free(s);
    /* refused: malformed (the tree path words the error), not an object, unreadable usage */
    memset(&u, 0, sizeof u);
    CHECK(!raw_answer(KSM_AI_OPENAI, "{\"choices\":", "m", &u));
    CHECK(!raw_answer(KSM_AI_OPENAI, "[1]", "m", &u));
    struct ksm_buf out = KSM_BUF_INIT;
    const char *dup = "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2}}";
    const char *esc = "{\"usage\":{\"prompt_token\\u0073\":1}}";
    CHECK(ksm_ai_response_passthrough(KSM_AI_OPENAI, dup, strlen(dup), "m", &out, &u) == -1);
    CHECK(ksm_ai_response_passthrough(KSM_AI_OPENAI, esc, strlen(esc), "m", &out, &u) == -1);
    CHECK(out.len == 0 && !u.present);

    /* embeddings: the bytes exactly, usage required */
    const char *e = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":"
                    "[0.0023064255,-0.009327292,1.5e-05]}],\"model\":\"text-embedding-3-small\","
                    "\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}";
    memset(&u, 0, sizeof u);
    CHECK(ksm_ai_embeddings_passthrough(e, strlen(e), &out, &u) == 0);
    CHECK(out.len == strlen(e) && !memcmp(out.data, e, out.len) && u.prompt == 8 && u.present);
    ksm_buf_reset(&out);
    memset(&u, 0, sizeof u);
    const char *no_usage = "{\"data\":[]}", *no_array = "{\"data\":{},\"usage\":{\"prompt_tokens\":1}}";
    CHECK(ksm_ai_embeddings_passthrough(no_usage, strlen(no_usage), &out, &u) == -1);
    CHECK(ksm_ai_embeddings_passthrough(no_array, strlen(no_array), &out, &u) == -1);
    CHECK(out.len == 0 && !u.present);
    ksm_buf_free(&out);
}

int main(void)
{
    test_scanner();
    test_load();
    test_request_bytes();
    test_answer_bytes();
    ksm_ai_request_free(&req);
    return CHECK_DONE();
}
