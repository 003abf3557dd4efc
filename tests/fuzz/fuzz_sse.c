/* fuzz_sse.c — libFuzzer target: arbitrary bytes through the SSE parser in arbitrary chunkings
 * (the first byte picks the chunk sizes), with a small event bound. Whatever the input, the events
 * must be identical to those of a one-piece feed, no event may exceed the bound, and every event
 * must survive the writer and parse back to the same data. Each event is also handed to the stream
 * translators in all four directions, and to the OpenAI one in its text-completion mode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/sse.h"
#include "ai/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    struct ksm_buf log;
    struct ksm_ai_stream *st[5];   /* the four directions, and OpenAI text completions */
    struct ksm_buf out;
};

/* A filter's hold-back, as the gateway's restore has: the last byte of each piece waits for the
 * next piece or the final call (the text and the tool arguments each keep their own). */
struct hold {
    struct ksm_buf text, args;
    struct ksm_buf choice_text[KSM_AI_MAX_CHOICES], choice_args[KSM_AI_MAX_CHOICES];   /* n > 1 */
};

static void hold_back(struct ksm_buf *h, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    ksm_buf_append(h, in, n);
    size_t keep = !final && h->len ? 1 : 0;
    ksm_buf_append(emit, h->data, h->len - keep);
    if (keep)
        memmove(h->data, h->data + h->len - 1, 1);
    h->len = keep;
}

static void text_filter(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    hold_back(&((struct hold *)ud)->text, in, n, final, emit);
}

static void args_filter(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    hold_back(&((struct hold *)ud)->args, in, n, final, emit);
}

static void choice_filter(void *ud, unsigned k, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    if (!k || k >= KSM_AI_MAX_CHOICES)
        abort();   /* choice 0 and choices beyond the bound are not the choice filter's */
    hold_back(&((struct hold *)ud)->choice_text[k], in, n, final, emit);
}

static void choice_args_filter(void *ud, unsigned k, const char *in, size_t n, bool final,
                               struct ksm_buf *emit)
{
    if (!k || k >= KSM_AI_MAX_CHOICES)
        abort();
    hold_back(&((struct hold *)ud)->choice_args[k], in, n, final, emit);
}

static struct hold holds[5];

static enum ksm_err on_event(void *ud, const struct ksm_sse_event *ev)
{
    struct ctx *c = ud;
    if (ev->data_len > 512)
        abort();   /* the bound was not enforced */
    ksm_buf_printf(&c->log, "%s|%zu|", ev->event, ev->data_len);
    ksm_buf_append(&c->log, ev->data, ev->data_len);
    ksm_buf_printf(&c->log, "|%s\n", ev->id);
    for (int i = 0; i < 5; i++)
        if (c->st[i])
            ksm_ai_stream_event(c->st[i], ev->event, ev->data, ev->data_len, &c->out);
    return KSM_E_OK;
}

static enum ksm_err collect(void *ud, const struct ksm_sse_event *ev)
{
    ksm_buf_append(ud, ev->data, ev->data_len);
    return KSM_E_OK;
}

static void run(const uint8_t *d, size_t n, unsigned step, struct ctx *c, bool translate)
{
    struct ksm_sse_parser p;
    ksm_sse_init(&p, 512);
    memset(c->st, 0, sizeof(c->st));
    for (int i = 0; translate && i < 5; i++) {
        struct ksm_ai_stream_opts o = {.upstream = (enum ksm_ai_proto)(i & 1),
                                       .caller = (enum ksm_ai_proto)((i >> 1) & 1),
                                       .completion = i == 4,
                                       .include_usage = true, .filter = text_filter,
                                       .args_filter = args_filter, .quote_filter = args_filter,
                                       .choice_filter = choice_filter,
                                       .choice_args_filter = choice_args_filter,
                                       .filter_ud = &holds[i]};
        c->st[i] = ksm_ai_stream_new(&o);
    }
    for (size_t at = 0; at < n;) {
        size_t k = step ? (at * 7 + step) % (step + 1) + 1 : n;   /* varying chunk sizes */
        if (k > n - at)
            k = n - at;
        if (ksm_sse_feed(&p, d + at, k, on_event, c) != KSM_E_OK) {
            ksm_buf_puts(&c->log, "ERR\n");
            break;
        }
        at += k;
    }
    ksm_sse_finish(&p);
    ksm_sse_free(&p);
    for (int i = 0; i < 5; i++) {
        if (!c->st[i])
            continue;
        ksm_ai_stream_finish(c->st[i], KSM_E_OK, NULL, &c->out);
        ksm_ai_stream_free(c->st[i]);
        ksm_buf_free(&holds[i].text);
        ksm_buf_free(&holds[i].args);
        for (int k = 0; k < KSM_AI_MAX_CHOICES; k++) {
            ksm_buf_free(&holds[i].choice_text[k]);
            ksm_buf_free(&holds[i].choice_args[k]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctx whole = {KSM_BUF_INIT, {0}, KSM_BUF_INIT}, split = {KSM_BUF_INIT, {0}, KSM_BUF_INIT};
    if (!size)
        return 0;
    run(data + 1, size - 1, 0, &whole, true);
    run(data + 1, size - 1, data[0] % 17, &split, false);
    if (whole.log.len != split.log.len ||
        (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len)))
        abort();   /* chunking changed the events */

    /* the writer's output of some bytes parses back to the same bytes (line ends normalised) */
    struct ksm_buf w = KSM_BUF_INIT, back = KSM_BUF_INIT;
    struct ksm_sse_parser p;
    size_t n = size - 1 < 256 ? size - 1 : 256;
    ksm_sse_write(&w, "e", (const char *)data + 1, n);
    ksm_sse_init(&p, 0);
    if (ksm_sse_feed(&p, w.data, w.len, collect, &back) != KSM_E_OK || ksm_sse_finish(&p))
        abort();
    size_t j = 0;
    for (size_t i = 0; i < n; i++, j++) {
        char c = (char)data[1 + i];
        if (c == '\r' && i + 1 < n && data[2 + i] == '\n')
            i++;
        if (j >= back.len || back.data[j] != (c == '\r' ? '\n' : c))
            abort();
    }
    if (j != back.len)
        abort();
    ksm_sse_free(&p);
    ksm_buf_free(&w);
    ksm_buf_free(&back);
    ksm_buf_free(&whole.log);
    ksm_buf_free(&whole.out);
    ksm_buf_free(&split.log);
    ksm_buf_free(&split.out);
    return 0;
}
