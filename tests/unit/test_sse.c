/* test_sse.c — the SSE parser and writer: every line-ending form, a stream cut at every byte
 * position (and fed byte by byte) yields the same events, multi-line data, comments, ids, retry, the
 * event size bound, the BOM, callback errors, and writer output that parses back to its input. */
#include "check.h"
#include "ai/sse.h"
#include "core/util.h"

#include <stdlib.h>

/* Every event as "event|data|id\n" in one log, so whole streams compare as strings. */
static enum ksm_err log_event(void *ud, const struct ksm_sse_event *ev)
{
    struct ksm_buf *log = ud;
    ksm_buf_printf(log, "%s|", ev->event);
    ksm_buf_append(log, ev->data, ev->data_len);
    ksm_buf_printf(log, "|%s\n", ev->id);
    return KSM_E_OK;
}

/* Parses s fed in chunks split at the given positions (a sorted list ending with the length). */
static char *parse_split(const char *s, size_t len, const size_t *cuts, size_t ncuts)
{
    struct ksm_sse_parser p;
    struct ksm_buf log = KSM_BUF_INIT;
    size_t at = 0;
    ksm_sse_init(&p, 0);
    for (size_t i = 0; i < ncuts; i++) {
        if (ksm_sse_feed(&p, s + at, cuts[i] - at, log_event, &log) != KSM_E_OK)
            ksm_buf_puts(&log, "ERROR\n");
        at = cuts[i];
    }
    ksm_sse_finish(&p);
    ksm_sse_free(&p);
    ksm_buf_putc(&log, '\0');
    return ksm_buf_steal(&log);
}

static char *parse(const char *s, size_t len)
{
    return parse_split(s, len, &len, 1);
}

/* The stream in one piece, in two pieces cut at every position, and byte by byte, must agree. */
static void check_all_splits(const char *s, size_t len, const char *expect)
{
    char *whole = parse(s, len);
    CHECK_STR(whole, expect);
    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        size_t cuts[2] = {cut, len};
        char *got = parse_split(s, len, cuts, 2);
        bad += strcmp(got, expect) != 0;
        free(got);
    }
    size_t *bytes = malloc((len + 1) * sizeof(size_t));
    for (size_t i = 0; i < len; i++)
        bytes[i] = i + 1;
    char *got = parse_split(s, len, bytes, len);
    bad += strcmp(got, expect) != 0;
    free(got);
    free(bytes);
    CHECK(bad == 0);
    free(whole);
}

static void test_line_endings(void)
{
    const char *expect = "|hello|\nupdate|a\nb|7\n|x|7\n";
    const char *forms[] = {
        "data: hello\n\nevent: update\ndata: a\ndata: b\nid: 7\n\ndata:x\n\n",
        "data: hello\r\revent: update\rdata: a\rdata: b\rid: 7\r\rdata:x\r\r",
        "data: hello\r\n\r\nevent: update\r\ndata: a\r\ndata: b\r\nid: 7\r\n\r\ndata:x\r\n\r\n",
        "data: hello\r\n\nevent: update\rdata: a\r\ndata: b\nid: 7\r\r\ndata:x\n\r",
    };
    for (size_t i = 0; i < KSM_NELEM(forms); i++)
        check_all_splits(forms[i], strlen(forms[i]), expect);
}

static void test_fields(void)
{
    /* comments ignored; one leading space stripped, not two; unknown fields ignored; an event with
     * no data is not dispatched and its name does not leak into the next */
    const char *s = ": keep-alive\n\ndata:  two spaces\nfoo: bar\n\nevent: lonely\n\n"
                    "data\n\ndata:\ndata:\n\nevent: e\ndata: {\"a\":1}\n\n";
    check_all_splits(s, strlen(s), "| two spaces|\n||\n|\n|\ne|{\"a\":1}|\n");

    /* id persists across events; an id holding NUL is ignored; retry takes digits only */
    static const char ids[] = "id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nretry: 1500\n"
                              "retry: 15x\n\n";
    char *got = parse(ids, sizeof(ids) - 1);
    CHECK_STR(got, "|a|1\n|b|1\n|c|1\n");
    free(got);
    struct ksm_sse_parser p;
    struct ksm_buf log = KSM_BUF_INIT;
    ksm_sse_init(&p, 0);
    ksm_sse_feed(&p, ids, sizeof(ids) - 1, log_event, &log);
    CHECK(p.retry_ms == 1500);
    ksm_sse_free(&p);
    ksm_buf_free(&log);
}

static void test_bom_and_finish(void)
{
    const char s[] = "\xEF\xBB\xBF" "data: a\n\n\xEF\xBB\xBF" "data: b\n\n";
    /* only the first BOM is skipped; the second makes the field name "\uFEFFdata", ignored */
    check_all_splits(s, sizeof(s) - 1, "|a|\n");
    const char partial[] = "\xEF\xBB" "data: a\n\n";   /* not a BOM: bytes kept, field unknown */
    check_all_splits(partial, sizeof(partial) - 1, "");

    struct ksm_sse_parser p;
    struct ksm_buf log = KSM_BUF_INIT;
    ksm_sse_init(&p, 0);
    ksm_sse_feed(&p, "data: done\n\ndata: cut", 22, log_event, &log);
    CHECK(ksm_sse_finish(&p));     /* an event was pending: the stream was cut */
    CHECK_STR(log.data, "|done|\n");
    ksm_sse_feed(&p, "data: x\n\n", 9, log_event, &log);
    CHECK(!ksm_sse_finish(&p));
    ksm_sse_free(&p);
    ksm_buf_free(&log);
}

static void test_max_size(void)
{
    struct ksm_sse_parser p;
    struct ksm_buf log = KSM_BUF_INIT;
    char chunk[100];
    memset(chunk, 'x', sizeof(chunk));
    ksm_sse_init(&p, 1000);
    CHECK(ksm_sse_feed(&p, "data: ", 6, log_event, &log) == KSM_E_OK);
    enum ksm_err e = KSM_E_OK;
    for (int i = 0; i < 100 && e == KSM_E_OK; i++)   /* an endless line */
        e = ksm_sse_feed(&p, chunk, sizeof(chunk), log_event, &log);
    CHECK(e == KSM_E_TOO_LARGE);
    CHECK(p.line.cap <= 2048);   /* memory stayed bounded */
    CHECK(ksm_sse_feed(&p, "\n\n", 2, log_event, &log) == KSM_E_TOO_LARGE);   /* sticky */
    ksm_sse_free(&p);

    /* many short data lines add up too */
    ksm_sse_init(&p, 1000);
    e = KSM_E_OK;
    for (int i = 0; i < 200 && e == KSM_E_OK; i++)
        e = ksm_sse_feed(&p, "data: 0123456789\n", 17, log_event, &log);
    CHECK(e == KSM_E_TOO_LARGE);
    ksm_sse_free(&p);

    /* events just under the bound pass, one after another */
    ksm_sse_init(&p, 64);
    for (int i = 0; i < 50; i++)
        CHECK(ksm_sse_feed(&p, "event: e\ndata: 0123456789012345678901234567890123456789\n\n", 58,
                           log_event, &log) == KSM_E_OK);
    ksm_sse_free(&p);
    ksm_buf_free(&log);
}

static enum ksm_err stop_at_second(void *ud, const struct ksm_sse_event *ev)
{
    int *n = ud;
    return ++*n == 2 ? KSM_E_UPSTREAM_ERROR : KSM_E_OK;
}

static void test_callback_error(void)
{
    struct ksm_sse_parser p;
    int n = 0;
    ksm_sse_init(&p, 0);
    CHECK(ksm_sse_feed(&p, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, stop_at_second, &n) ==
          KSM_E_UPSTREAM_ERROR);
    CHECK(n == 2);
    ksm_sse_free(&p);
}

static void test_writer(void)
{
    struct ksm_buf out = KSM_BUF_INIT;
    ksm_sse_write(&out, "message_start", "{\"a\":1}", 7);
    CHECK_STR(out.data, "event: message_start\ndata: {\"a\":1}\n\n");
    ksm_buf_reset(&out);
    ksm_sse_write(&out, NULL, "a\r\nb\rc\nd", 8);
    CHECK_STR(out.data, "data: a\ndata: b\ndata: c\ndata: d\n\n");
    ksm_buf_reset(&out);
    ksm_sse_write(&out, "bad\nname", "", 0);
    CHECK_STR(out.data, "event: badname\ndata: \n\n");
    ksm_buf_reset(&out);
    ksm_sse_write_comment(&out, "ping");
    CHECK_STR(out.data, ": ping\n\n");

    /* what the writer writes, the parser reads back (newlines normalise to LF) */
    const char *datas[] = {"plain", "two\nlines", "trailing\n", "\n", "", " lead", "crlf\r\nx"};
    const char *expect[] = {"plain", "two\nlines", "trailing\n", "\n", "", " lead", "crlf\nx"};
    for (size_t i = 0; i < KSM_NELEM(datas); i++) {
        ksm_buf_reset(&out);
        ksm_sse_write(&out, "ev", datas[i], strlen(datas[i]));
        char *got = parse(out.data, out.len);
        struct ksm_buf want = KSM_BUF_INIT;
        ksm_buf_printf(&want, "ev|%s|\n", expect[i]);
        CHECK_STR(got, want.data);
        free(got);
        ksm_buf_free(&want);
    }
    ksm_buf_free(&out);
}

int main(void)
{
    test_line_endings();
    test_fields();
    test_bom_and_finish();
    test_max_size();
    test_callback_error();
    test_writer();
    return CHECK_DONE();
}
