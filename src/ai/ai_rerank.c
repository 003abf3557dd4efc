/* ai_rerank.c — POST /v1/rerank: documents scored for their relevance to a query, the step after
 * retrieval in RAG. The request is the shape vLLM, llama.cpp's server and Jina serve ({"model",
 * "query", "documents": [strings], "top_n"?, "return_documents"?}), kept as the caller sent it after
 * checking what the guardrail must read: the query and every document are strings (an object or
 * an image cannot be scanned, so it is refused rather than passed unread). The answer is checked
 * (results, each an index into the documents and a score) and metered from its usage; documents it
 * quotes back are the caller's own, masked for the model, so they are restored, never redacted. */
#include <string.h>

#include "ai/ai_int.h"
#include "ai/ai_usage.h"
#include "core/util.h"

#define RERANK_MAX_DOCS 1000

enum ksm_err ksm_ai_rerank_decode(struct ai_call *c, char *why, size_t n)
{
    enum ksm_err e = ksm_ai_kept_load(c, why, n);
    if (e != KSM_E_OK)
        return e;
    json_t *b = c->kept_body, *q = json_object_get(b, "query"), *docs = json_object_get(b, "documents");
    json_t *top = json_object_get(b, "top_n");
    if (!json_is_string(q) || !json_string_length(q)) {
        snprintf(why, n, "query must be a non-empty string");
        return KSM_E_INVALID_ARGUMENT;
    }
    if (!json_is_array(docs) || !ksm_ai_strings_ok(docs, RERANK_MAX_DOCS)) {
        snprintf(why, n, "documents must be a non-empty array of at most %d strings",
                 RERANK_MAX_DOCS);
        return KSM_E_INVALID_ARGUMENT;
    }
    if (top && (!json_is_integer(top) || json_integer_value(top) < 1)) {
        snprintf(why, n, "top_n must be a positive integer");
        return KSM_E_INVALID_ARGUMENT;
    }
    return KSM_E_OK;
}

char *ksm_ai_rerank_prompt(const struct ai_call *c)
{
    json_t *both = json_pack("[OO]", json_object_get(c->kept_body, "query"),
                             json_object_get(c->kept_body, "documents"));
    char *s = json_dumps(both, JSON_COMPACT);
    json_decref(both);
    return s;
}

/* A result's document, as vLLM ({"text": ...}) or Jina writes it (a string), restored. */
static void restore_document(json_t *r, ksm_ai_text_filter restore, void *ud)
{
    json_t *d = json_object_get(r, "document");
    ksm_ai_filter_strings(json_is_object(d) ? json_object_get(d, "text") : d, restore, ud);
}

enum ksm_err ksm_ai_rerank_answer(json_t *in, size_t ndocs, ksm_ai_text_filter restore, void *ud,
                                  struct ksm_ai_usage *u, char *err, size_t n)
{
    json_t *results = json_object_get(in, "results"), *r;
    size_t i;
    if (!json_is_array(results)) {
        snprintf(err, n, "the model's answer has no results");
        return KSM_E_UPSTREAM_ERROR;
    }
    json_array_foreach(results, i, r) {
        json_t *idx = json_object_get(r, "index");
        if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
            (size_t)json_integer_value(idx) >= ndocs || !json_is_number(json_object_get(r, "relevance_score"))) {
            snprintf(err, n, "the model's answer has a result without a document index and a score");
            return KSM_E_UPSTREAM_ERROR;
        }
        if (restore)
            restore_document(r, restore, ud);
    }
    if (!ksm_ai_usage_from_input_count(in, u)) {   /* vLLM, llama.cpp: prompt_tokens; Jina: total */
        snprintf(err, n, "the model's answer has no usage");
        return KSM_E_UPSTREAM_ERROR;
    }
    return KSM_E_OK;
}
