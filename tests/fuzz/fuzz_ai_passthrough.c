/* fuzz_ai_passthrough.c — libFuzzer target, differential: the gateway's byte path (core/jscan.h)
 * against jansson on the same bytes. Whatever the scanner accepts, jansson must read as an object
 * with the same members and values; a same-protocol upstream body built from the bytes must be the
 * JSON value the tree path builds; an answer passed back as bytes must equal the tree path's answer
 * and meter exactly the same usage; an embeddings answer passed back must be one the tree path
 * accepts, with the same usage; a tree ksm_jscan_load builds must be the one json_loadb (duplicates
 * refused) builds, and the top-level spans it keeps are ksm_jscan_object's, so the upstream body
 * from the decoder's spans is byte for byte the one from a fresh scan. Text completions: a body the
 * decoder accepts holds what the guardrail reads; an answer keeps its texts; the same for reranking
 * (an answer's results must name documents that were sent). An Azure caller's body
 * gets the deployment as its model and nothing else changes. Any difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_int.h"
#include "core/jscan.h"
#include "ai/translate.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MEMBERS 64

static void check_scan(const char *s, size_t n, const json_t *j)
{
    struct ksm_jscan_member m[MAX_MEMBERS];
    size_t close;
    int count = ksm_jscan_object(s, n, m, MAX_MEMBERS, &close);
    if (count < 0)
        return;
    if (!json_is_object(j) || json_object_size(j) != (size_t)count || close >= n || s[close] != '}')
        abort();
    for (int i = 0; i < count; i++) {
        char key[256];
        if (m[i].key_len >= sizeof key)
            continue;
        memcpy(key, m[i].key, m[i].key_len);
        key[m[i].key_len] = '\0';
        json_t *v = json_loadb(m[i].val, m[i].val_len, JSON_DECODE_ANY, NULL);
        if (!v || !json_equal(v, json_object_get(j, key)))
            abort();
        int64_t c;
        if (ksm_jscan_count(m[i].val, m[i].val_len, INT64_MAX, &c) &&
            (!json_is_integer(v) || json_integer_value(v) != c))
            abort();
        json_decref(v);
    }
}

static void check_load(const char *s, size_t n)
{
    json_t *fast = ksm_jscan_load(s, n);
    if (!fast)
        return;
    json_t *slow = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
    if (!slow || !json_equal(fast, slow))
        abort();
    /* the same member order, which decode_fields reports the first oddity by */
    const char *k1, *k2;
    json_t *v1, *v2;
    void *i2 = json_object_iter(slow);
    json_object_foreach(fast, k1, v1) {
        k2 = json_object_iter_key(i2);
        v2 = json_object_iter_value(i2);
        if (!k2 || strcmp(k1, k2) || !json_equal(v1, v2))
            abort();
        i2 = json_object_iter_next(slow, i2);
    }
    json_decref(fast);
    json_decref(slow);
}

static void check_request(const char *s, size_t n)
{
    char err[KSM_AI_ERR_MAX];
    static const char *const models[] = {NULL, "up-\"model\""};
    for (int p = 0; p < 2; p++) {
        struct ksm_ai_request req;
        if (ksm_ai_request_decode((enum ksm_ai_proto)p, s, n, &req, err) != KSM_E_OK)
            continue;
        for (int to = 0; to < 2; to++) {
            for (size_t k = 0; k < 2; k++) {
                struct ksm_ai_upstream_opts o = {.proto = (enum ksm_ai_proto)to, .model = models[k]};
                struct ksm_buf out = KSM_BUF_INIT, fresh = KSM_BUF_INIT;
                json_t *tree = NULL;
                struct ksm_ai_request unkept = req;
                unkept.raw = NULL;   /* no spans from the decoder: the body is scanned again */
                int rc = ksm_ai_upstream_body_raw(&req, s, n, &o, &out);
                if (rc != ksm_ai_upstream_body_raw(&unkept, s, n, &o, &fresh) ||
                    out.len != fresh.len || (out.len && memcmp(out.data, fresh.data, out.len)))
                    abort();
                ksm_buf_free(&fresh);
                if (rc != 0)
                    continue;
                json_t *bytes = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, NULL);
                if (to != p || ksm_ai_upstream_body(&req, &o, &tree, err) != KSM_E_OK || !bytes ||
                    !json_equal(bytes, tree))
                    abort();
                json_decref(bytes);
                json_decref(tree);
                ksm_buf_free(&out);
            }
        }
        ksm_ai_request_free(&req);
    }
}

static void check_answer(const char *s, size_t n, const json_t *j)
{
    char err[KSM_AI_ERR_MAX];
    for (int p = 0; p < 2; p++) {
        struct ksm_ai_usage u = {0}, tu = {0};
        struct ksm_buf out = KSM_BUF_INIT;
        if (ksm_ai_response_passthrough((enum ksm_ai_proto)p, s, n, "alias", &out, &u) != 0) {
            if (out.len || u.present)
                abort();
            continue;
        }
        json_t *tree = NULL, *bytes = json_loadb(out.data, out.len, 0, NULL);
        if (ksm_ai_response_translate((enum ksm_ai_proto)p, (enum ksm_ai_proto)p, j, "alias", NULL,
                                      &tree, &tu, err) != KSM_E_OK ||
            !bytes || !json_equal(bytes, tree) || memcmp(&u, &tu, sizeof u))
            abort();
        json_decref(bytes);
        json_decref(tree);
        ksm_buf_free(&out);
    }
    struct ksm_ai_usage u = {0}, tu = {0};
    struct ksm_buf out = KSM_BUF_INIT;
    if (ksm_ai_embeddings_passthrough(s, n, &out, &u) == 0) {
        if (out.len != n || memcmp(out.data, s, n) || !json_is_array(json_object_get(j, "data")) ||
            !ksm_ai_usage_from_openai(j, &tu) || memcmp(&u, &tu, sizeof u))
            abort();
    }
    ksm_buf_free(&out);
}

static void same_text(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    (void)ud;
    (void)final;
    ksm_buf_append(emit, in, n);
}

/* A request whose body is kept as sent (completions, reranking) through its decoder: true when it
 * is accepted, and then it names a model and its prompt can be read. */
struct kept {
    struct ksm_req r;
    struct ai_call c;
    char why[KSM_AI_ERR_MAX];
};

static bool kept_decode(struct kept *k, const char *s, size_t n, enum ai_kind kind,
                        enum ksm_err (*decode)(struct ai_call *, char *, size_t))
{
    memset(k, 0, sizeof *k);
    k->r.body.data = (char *)s;
    k->r.body.len = n;
    k->c.r = &k->r;
    k->c.kind = kind;
    if (decode(&k->c, k->why, sizeof k->why) != KSM_E_OK)
        return false;
    char *text = ksm_ai_kept_prompt(&k->c);   /* what the HMAC and the estimate read */
    if (!k->c.alias || !*k->c.alias || !text)
        abort();
    free(text);
    return true;
}

/* A text-completions body: decoded (a model, a prompt of strings, the bounds held) or refused; and
 * the same bytes as a completion answer: either refused, or every choice's text kept (the filter
 * changes nothing), the model the alias and the usage the tree's. */
static void check_completion(const char *s, size_t n, const json_t *j)
{
    static struct kept k;
    if (kept_decode(&k, s, n, AI_COMPLETE, ksm_ai_complete_decode)) {
        json_t *p = json_object_get(k.c.kept_body, "prompt");
        if (k.c.req.max_tokens < 0 || !(json_is_string(p) || (json_is_array(p) && json_array_size(p))))
            abort();
    }
    json_decref(k.c.kept_body);
    if (!j)
        return;
    json_t *in = json_deep_copy(j);
    struct ksm_ai_usage u = {0}, tu = {0};
    if (ksm_ai_complete_answer(in, "alias", same_text, NULL, &u, k.why, sizeof k.why) == KSM_E_OK) {
        json_t *want = json_deep_copy(j);
        json_object_set_new(want, "model", json_string("alias"));
        if (!json_equal(in, want) || !ksm_ai_usage_from_openai(j, &tu) || memcmp(&u, &tu, sizeof u))
            abort();
        json_decref(want);
    }
    json_decref(in);
}

/* A rerank body: decoded (a model, a query, documents of strings, top_n positive) or refused; and
 * the same bytes as a rerank answer: accepted only with results each naming a document by index
 * and scoring it, and some usage; a filter that changes nothing leaves it as it was. */
static void check_rerank(const char *s, size_t n, const json_t *j)
{
    static struct kept k;
    if (kept_decode(&k, s, n, AI_RERANK, ksm_ai_rerank_decode)) {
        json_t *b = k.c.kept_body, *top = json_object_get(b, "top_n");
        if (!json_string_length(json_object_get(b, "query")) ||
            !json_array_size(json_object_get(b, "documents")) || (top && json_integer_value(top) < 1))
            abort();
    }
    json_decref(k.c.kept_body);
    if (!j)
        return;
    json_t *in = json_deep_copy(j);
    struct ksm_ai_usage u = {0};
    if (ksm_ai_rerank_answer(in, 3, same_text, NULL, &u, k.why, sizeof k.why) == KSM_E_OK) {
        size_t i;
        json_t *res;
        if (!u.present || !json_equal(in, j))
            abort();
        json_array_foreach(json_object_get(j, "results"), i, res)
            if (json_integer_value(json_object_get(res, "index")) >= 3)
                abort();
    }
    json_decref(in);
}

/* The spans ksm_jscan_load_top keeps while building its tree are the ones ksm_jscan_object finds
 * in the same bytes (the pass-through path uses either), and the tree is ksm_jscan_load's. */
static void check_load_top(const char *s, size_t n)
{
    struct ksm_jscan_member top[4], m[4];
    int ntop;
    size_t ctop = 0, close = 0;
    json_t *j = ksm_jscan_load_top(s, n, top, 4, &ntop, &ctop), *plain = ksm_jscan_load(s, n);
    if (!j != !plain || (j && !json_equal(j, plain)))
        abort();
    if (j) {
        int count = ksm_jscan_object(s, n, m, 4, &close);
        if (count != ntop || (count >= 0 && close != ctop))
            abort();
        for (int i = 0; i < count; i++)
            if (m[i].key != top[i].key || m[i].key_len != top[i].key_len ||
                m[i].val != top[i].val || m[i].val_len != top[i].val_len)
                abort();
    }
    json_decref(j);
    json_decref(plain);
}

/* An Azure OpenAI caller's body with the deployment put in as its model: a JSON object comes out as
 * the same object with that model, whichever reader took it; anything else is left as it was, for
 * the decoder to refuse. */
static void check_azure(const char *s, size_t n)
{
    struct ksm_req r = {.arena = ksm_arena_create(1024), .method_name = "POST",
                        .path = "/openai/deployments/dep \"1\"/chat/completions"};
    ksm_buf_append(&r.body, s, n);
    const char *why = NULL;
    if (ksm_ai_azure_front(&r, &why) != KSM_E_OK || strcmp(r.path, "/v1/chat/completions"))
        abort();
    /* the span reader refuses duplicates at the top only: deeper ones are the decoder's to refuse */
    struct ksm_jscan_member m[KSM_AI_RAW_MEMBERS];
    size_t flags = ksm_jscan_object(s, n, m, KSM_AI_RAW_MEMBERS, NULL) >= 0 ? 0 : JSON_REJECT_DUPLICATES;
    json_t *before = json_loadb(s, n, flags, NULL);
    json_t *after = json_loadb(r.body.data ? r.body.data : "", r.body.len, flags, NULL);
    if (json_is_object(before)) {
        json_object_set_new(before, "model", json_string("dep \"1\""));
        if (!json_equal(before, after))
            abort();
    } else if (r.body.len != n || (n && memcmp(r.body.data, s, n))) {
        abort();
    }
    json_decref(before);
    json_decref(after);
    ksm_buf_free(&r.body);
    ksm_arena_destroy(r.arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    json_t *j = json_loadb(s, size, 0, NULL);
    check_scan(s, size, j);
    check_load(s, size);
    check_load_top(s, size);
    check_request(s, size);
    check_answer(s, size, j);
    check_completion(s, size, j);
    check_rerank(s, size, j);
    check_azure(s, size);
    json_decref(j);
    return 0;
}
