/* ai_call.c — one model call through the gateway: decode, route, guard, price, reserve, then the
 * upstream exchange with retries and fallback, the answer translated into the caller's API (streams
 * event by event), and finally metering, settlement and the audit record.
 *
 * Retry rules: before any byte has gone to the caller, a connection failure, a 429 or a 5xx is
 * retried once on the same target after a short back-off (honouring Retry-After up to 2 s), then the
 * next target is tried; a reset on a reused connection with no response byte is retried at once
 * (llama.cpp's server closes keep-alive sockets after streams). Once the caller's stream has begun,
 * nothing is retried: the stream is closed with an error event in the caller's protocol. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admin/app.h"
#include "ai/ai_health.h"
#include "ai/ai_int.h"
#include "ai/gateway.h"
#include "core/fmt.h"
#include "core/log.h"
#include "core/util.h"
#include "meter/usage_writer.h"

#define BODY_MAX (16u << 20)      /* a whole upstream answer */
#define ERRBODY_MAX (64u << 10)   /* an upstream error body: enough for its message */
#define EST_COMPLETION 4096       /* reserved when the caller sets no max_tokens */
#define BACKOFF_CAP_MS 2000

static void attempt(struct ai_call *c);
static void complete(struct ai_call *c);

static const struct ksm_conf *conf_of(const struct ai_call *c)
{
    return ((struct ksm_app *)c->r->worker->app)->conf;
}

/* ---- the end of a call --------------------------------------------------------------------------- */

static void backoff_closed(uv_handle_t *h) { free(h); }

/* A call is 12 KiB (the route with its targets is copied in): freed ones are kept for the next
 * requests, so a request is not a large calloc and free — which made glibc consolidate its fast
 * bins on every request. As many as calls are in flight at a busy moment: with 16 kept, 64
 * connections made three requests in four calloc (and clear) a call afresh (callgrind at -c64:
 * 101,057 instructions a request in the worker, 93,470 with 128 kept); 128 cost 1.6 MB at most.
 * One lock for all workers; held for a pointer swap. */
#define CALL_CACHE 128
static struct {
    pthread_mutex_t mu;
    struct ai_call *free[CALL_CACHE];
    int n;
} calls = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct ai_call *ksm_ai_call_new(void)
{
    pthread_mutex_lock(&calls.mu);
    struct ai_call *c = calls.n ? calls.free[--calls.n] : NULL;
    pthread_mutex_unlock(&calls.mu);
    if (!c)
        return ksm_xcalloc(1, sizeof *c);
    struct ksm_buf keep = c->scratch;
    memset(c, 0, offsetof(struct ai_call, route.targets));   /* ksm_ai_route_find fills them */
    if (keep.cap <= 65536) {   /* a huge prompt's buffer is not kept */
        c->scratch = keep;
        ksm_buf_reset(&c->scratch);
    } else {
        ksm_buf_free(&keep);
    }
    return c;
}

static void call_release(struct ai_call *c)
{
    pthread_mutex_lock(&calls.mu);
    if (calls.n < CALL_CACHE) {
        calls.free[calls.n++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&calls.mu);
    if (c)
        ksm_buf_free(&c->scratch);
    free(c);
}

/* The current target's slot in the health table (ai_health.h), or -1. */
static int target_slot(const struct ai_call *c)
{
    return c->health[c->target - c->route.targets];
}

/* The exchange in flight no longer counts against its target's max_concurrent. */
static void release_target(struct ai_call *c)
{
    if (c->holding)
        ksm_ai_health_release(target_slot(c));
    c->holding = false;
}

/* Ends the exchange in flight: the upstream sees the close. */
static void up_cancel(struct ai_call *c)
{
    ksm_up_cancel(c->up);
    c->up = NULL;
    release_target(c);
}

void ksm_ai_call_free(struct ai_call *c)
{
    struct ksm_req *r = c->r;
    r->on_abort = NULL;
    r->on_drain = NULL;
    r->app_data = NULL;
    if (c->up)
        up_cancel(c);
    release_target(c);
    if (c->attempts == 0 && c->norder > 0)
        ksm_ai_health_unclaim(c->probe);   /* refused or gone before its probe was sent */
    if (c->res.active)
        ksm_ai_settle(&c->res, 0, 0);   /* nothing was spent: give the reservation back */
    if (c->backoff) {
        uv_timer_stop(c->backoff);
        uv_close((uv_handle_t *)c->backoff, backoff_closed);
    }
    ksm_ai_request_free(&c->req);
    json_decref(c->kept_body);
    ksm_pii_masker_free(c->masker);
    if (c->tx)
        ksm_ai_stream_free(c->tx);
    ksm_sse_free(&c->sse);
    ksm_buf_free(&c->up_body);
    ksm_buf_free(&c->out);
    ksm_pii_redact_free(&c->redact);
    free(c->pieces.ends);
    ksm_pii_args_free(&c->args);
    for (unsigned k = 0; k < c->nmore; k++) {
        ksm_pii_redact_free(&c->unmask_more[k].redact);
        free(c->unmask_more[k].pieces.ends);
        ksm_pii_args_free(&c->unmask_more[k].args);
    }
    free(c->unmask_more);
    ksm_buf_free(&c->redacted_text);
    ksm_ai_responses_free(c->responses);
    ksm_buf_free(&c->framed);
    call_release(c);
}

/* A model call that ends without an answer (every target failed, or the caller left) still
 * counts in the metrics of its alias and of the last upstream tried: an upstream that is down
 * must show as errors and slow answers, not as silence. Refusals before any upstream was called
 * (authentication, policy, budget) are not model calls and are not counted here. */
void ksm_ai_metrics_unanswered(struct ai_call *c, bool error)
{
    if (!c->t_up || !c->target || c->kind == AI_COUNT)   /* counts are not model calls */
        return;
    char host[128];
    ksm_ai_url_host(c->target->base_url, host, sizeof host);
    ksm_ai_metrics_record(c->alias, host, error, 0, 0, ksm_mono_ns() - c->t_up, c->t_up - c->t_start);
}

static void fmt_bool(struct ksm_fmt *f, const char *key, bool v)
{
    ksm_fmt_str(f, key);
    ksm_fmt_str(f, v ? "true" : "false");
}

/* The usage record's details (a JSON object; host comes from a validated base_url). Formatted by
 * hand: snprintf here cost more than the rest of complete(). */
static void usage_details(char *out, size_t n, const struct ai_call *c, const char *host,
                          int64_t latency_ms, bool forwarded)
{
    const struct ksm_ai_usage *u = &c->usage;
    struct ksm_fmt f = ksm_fmt_init(out, n);
    ksm_fmt_str(&f, "{\"prompt_tokens\":");
    ksm_fmt_i64(&f, u->prompt);
    ksm_fmt_str(&f, ",\"completion_tokens\":");
    ksm_fmt_i64(&f, u->completion);
    ksm_fmt_str(&f, ",\"cached_tokens\":");
    ksm_fmt_i64(&f, u->cached);
    ksm_fmt_str(&f, ",\"latency_ms\":");
    ksm_fmt_i64(&f, latency_ms);
    ksm_fmt_str(&f, ",\"upstream\":\"");
    ksm_fmt_str(&f, host);
    ksm_fmt_str(&f, "\",\"classification\":");
    ksm_fmt_i64(&f, c->classification);
    fmt_bool(&f, ",\"cancelled\":", c->cancelled);
    fmt_bool(&f, ",\"estimated\":", !u->present);
    fmt_bool(&f, ",\"forwarded\":", forwarded);
    if (c->principal && c->principal->user_id[0]) {   /* whose: per-user use (SPEC.md G) */
        ksm_fmt_str(&f, ",\"user\":\"");
        ksm_fmt_str(&f, c->principal->user_id);   /* ids are [a-z0-9_]: nothing to escape */
        ksm_fmt_str(&f, "\",\"key\":\"");
        ksm_fmt_str(&f, c->principal->key_id);
        ksm_fmt_str(&f, "\"");
    }
    ksm_fmt_str(&f, "}");
}

/* The request audit record's detail:
 * "upstream=H tokens=P/C/K cost_microyen=N latency_ms=L[ redacted=K:N,...][ cancelled][ error]". */
static void audit_details(char *out, size_t n, const struct ai_call *c, const char *host,
                          int64_t cost, int64_t latency_ms, bool failed)
{
    const struct ksm_ai_usage *u = &c->usage;
    struct ksm_fmt f = ksm_fmt_init(out, n);
    ksm_fmt_str(&f, "upstream=");
    ksm_fmt_str(&f, host);
    ksm_fmt_str(&f, " tokens=");
    ksm_fmt_i64(&f, u->prompt);
    ksm_fmt_str(&f, "/");
    ksm_fmt_i64(&f, u->completion);
    ksm_fmt_str(&f, "/");
    ksm_fmt_i64(&f, u->cached);
    ksm_fmt_str(&f, " cost_microyen=");
    ksm_fmt_i64(&f, cost);
    ksm_fmt_str(&f, " latency_ms=");
    ksm_fmt_i64(&f, latency_ms);
    ksm_ai_fmt_masked(&f, c->redacted, " redacted=", ":", ",");   /* in the model's own output */
    ksm_fmt_str(&f, c->cancelled ? " cancelled" : "");
    ksm_fmt_str(&f, failed ? " error" : "");
}

/* A token count: nothing to bill or meter (the provider charges none); audited with its number. */
static void complete_count(struct ai_call *c)
{
    char host[128], detail[256];
    ksm_ai_url_host(c->target ? c->target->base_url : "", host, sizeof host);
    struct ksm_fmt f = ksm_fmt_init(detail, sizeof detail);
    ksm_fmt_str(&f, "upstream=");
    ksm_fmt_str(&f, host);
    ksm_fmt_str(&f, " input_tokens=");
    ksm_fmt_i64(&f, c->usage.prompt);
    ksm_fmt_str(&f, " latency_ms=");
    ksm_fmt_i64(&f, (int64_t)((ksm_mono_ns() - c->t_start) / 1000000));
    c->r->status = 200;
    ksm_ai_audit_final(c, detail);
    ksm_req_send(c->r);
    ksm_ai_call_free(c);
}

/* Usage record (durable within the group-commit window), settlement, metrics, audit, response. */
static void complete(struct ai_call *c)
{
    if (c->kind == AI_COUNT) {
        complete_count(c);
        return;
    }
    struct ksm_req *r = c->r;
    struct ksm_ai_usage *u = &c->usage;
    int64_t uncached = u->prompt > u->cached ? u->prompt - u->cached : 0;
    bool forwarded = c->target && ksm_ai_governed(c, c->target);
    /* forwarded to overseas-ai, which bills it under its own account: recorded here, not charged */
    int64_t cost = forwarded ? 0 : ksm_ai_cost(&c->price, uncached, u->completion, u->cached);
    uint64_t now = ksm_mono_ns();
    char host[128], details[512], audit_detail[512];
    ksm_ai_url_host(c->target ? c->target->base_url : "", host, sizeof host);
    int64_t latency_ms = (int64_t)((now - c->t_start) / 1000000);
    usage_details(details, sizeof details, c, host, latency_ms, forwarded);
    struct ksm_usage_rec rec = {.tenant = c->tenant, .project = c->project, .service = "ai",
                                .meter = "tokens", .quantity = u->prompt + u->completion,
                                .idempotency_key = r->id, .request_id = r->id, .resource = c->alias,
                                .cost_microyen = cost, .details = details};
    if (ksm_ai_caller_key(c)[0])   /* summed per key, as its budget counts (the details say whose) */
        rec.key_id = c->principal->key_id, rec.user_id = c->principal->user_id;
    ksm_usage_submit(&rec);
    ksm_ai_settle(&c->res, u->prompt + u->completion, cost);
    c->res.active = false;
    bool failed = c->final_err != KSM_E_OK;
    ksm_ai_metrics_record(c->alias, host, failed, u->prompt, u->completion,
                          c->t_up ? now - c->t_up : 0, c->t_up ? c->t_up - c->t_start : 0);
    audit_details(audit_detail, sizeof audit_detail, c, host, cost, latency_ms, failed);
    if (c->redacting)
        ksm_ai_metrics_redacted(c->redacted);
    if (!c->streaming && r->status == 0)
        r->status = 200;
    if (c->responses && !c->streaming && r->status == 200)
        ksm_ai_responses_answer(c->responses, &r->resp);
    ksm_ai_audit_final(c, audit_detail);
    if (c->streaming) {
        ksm_req_stream_end(r);
    } else {
        ksm_req_send(r);
    }
    ksm_ai_call_free(c);
}

/* ---- text coming back: count it, redact what the model wrote, restore masked values -------------- */

/* Some value of the caller's was masked for the model: its placeholders may come back. */
static bool restoring(const struct ai_call *c)
{
    return c->masker && ksm_pii_masker_size(c->masker);
}

/* Restores the caller's placeholders in a piece of the model's output. */
static void restore(struct ai_call *c, struct ksm_pii_stream *st, const char *in, size_t n,
                    bool final, struct ksm_buf *emit)
{
    if (!restoring(c)) {
        ksm_buf_append(emit, in, n);
        return;
    }
    if (n)
        ksm_pii_unmask_stream(c->masker, st, in, n, emit);
    if (final)
        ksm_pii_unmask_flush(c->masker, st, emit);
}

/* Redaction holds the last bytes of a text back: a piece of n bytes went in and held bytes are still
 * held, so the pieces whose last byte has gone out are delivered now — what a caller who leaves is
 * billed for (issue item 6), not what the gateway still held. */
static void pieces_settle(struct ai_call *c, struct ai_pieces *p, size_t n, size_t held)
{
    if (n) {
        if (p->len == p->cap && p->head) {   /* the delivered ones' room first */
            memmove(p->ends, p->ends + p->head, (p->len - p->head) * sizeof *p->ends);
            p->len -= p->head;
            p->head = 0;
        }
        if (p->len == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 64;
            p->ends = ksm_xrealloc(p->ends, p->cap * sizeof *p->ends);
        }
        p->in += n;
        p->ends[p->len++] = p->in;
    }
    while (p->head < p->len && p->ends[p->head] <= p->in - held) {
        p->head++;
        c->delivered++;
    }
}

/* A piece of the model's text: counted as delivered once it is, what the model wrote itself
 * redacted by the project's pii_output rules, then the caller's placeholders restored (so their
 * own values never are). */
static void text_out(struct ai_call *c, struct ksm_pii_redact *rd, struct ai_pieces *p,
                     struct ksm_pii_stream *st, const char *in, size_t n, bool final,
                     struct ksm_buf *emit)
{
    if (!c->redacting) {
        c->delivered += n > 0;
        restore(c, st, in, n, final, emit);
        return;
    }
    ksm_buf_reset(&c->redacted_text);
    ksm_pii_redact_stream(c->out_rules, rd, in, n, final, &c->redacted_text, c->redacted);
    pieces_settle(c, p, n, ksm_pii_redact_held(rd));
    restore(c, st, c->redacted_text.data, c->redacted_text.len, final, emit);
}

/* A piece of a tool call's arguments: counted, then, inside the strings of their JSON, redacted
 * and restored the same way — escaped as JSON wants (a restored value may hold a quote; a server
 * may have written ⟦ as \u27e6) and a redacted number quoted, so the caller's code can parse them. */
static void args_out(struct ai_call *c, struct ksm_pii_args *st, const char *in, size_t n,
                     bool final, struct ksm_buf *emit)
{
    if (n)
        c->delivered++;
    const struct ksm_pii_masker *m = restoring(c) ? c->masker : NULL;
    if (!c->redacting && !m) {
        ksm_buf_append(emit, in, n);
        return;
    }
    ksm_pii_args_stream(c->redacting ? c->out_rules : NULL, m, st, in, n, final, emit, c->redacted);
}

static void text_filter(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    struct ai_call *c = ud;
    text_out(c, &c->redact, &c->pieces, &c->unmask, in, n, final, emit);
}

/* The model may copy a placeholder into a tool call's arguments: restored there as in text. */
static void args_filter(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    struct ai_call *c = ud;
    args_out(c, &c->args, in, n, final, emit);
}

/* A string of a citation, whole: the caller's own document quoted, so restored and not redacted. */
static void quote_filter(void *ud, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    struct ai_call *c = ud;
    if (n)
        c->delivered++;
    restore(c, &c->unmask_quote, in, n, final, emit);
}

/* Choice k > 0 of an OpenAI stream with n > 1: hold-back states of its own, made when the choice
 * first comes (the stream names choices below KSM_AI_MAX_CHOICES only). */
static struct ai_choice_unmask *choice_state(struct ai_call *c, unsigned k)
{
    if (k > c->nmore) {
        c->unmask_more = ksm_xrealloc(c->unmask_more, k * sizeof *c->unmask_more);
        memset(c->unmask_more + c->nmore, 0, (k - c->nmore) * sizeof *c->unmask_more);
        c->nmore = k;
    }
    return &c->unmask_more[k - 1];
}

static void choice_filter(void *ud, unsigned k, const char *in, size_t n, bool final, struct ksm_buf *emit)
{
    struct ai_call *c = ud;
    struct ai_choice_unmask *cs = choice_state(c, k);
    text_out(c, &cs->redact, &cs->pieces, &cs->text, in, n, final, emit);
}

static void choice_args_filter(void *ud, unsigned k, const char *in, size_t n, bool final,
                               struct ksm_buf *emit)
{
    struct ai_call *c = ud;
    args_out(c, &choice_state(c, k)->args, in, n, final, emit);
}

/* ---- streaming to the caller --------------------------------------------------------------------- */

static void flush_out(struct ai_call *c)
{
    if (!c->out.len)
        return;
    if (c->responses) {   /* the chat events the caller would have got, as a Response's */
        ksm_buf_reset(&c->framed);
        ksm_ai_responses_events(c->responses, c->out.data, c->out.len, &c->framed);
        if (c->framed.len)
            ksm_req_stream_write(c->r, c->framed.data, c->framed.len);
    } else {
        ksm_req_stream_write(c->r, c->out.data, c->out.len);
    }
    ksm_buf_reset(&c->out);
}

static void on_drain(struct ksm_req *r)
{
    struct ai_call *c = r->app_data;
    if (c && c->up)
        ksm_up_resume(c->up);
}

static void begin_stream(struct ai_call *c)
{
    struct ksm_req *r = c->r;
    ksm_sse_init(&c->sse, 0);
    struct ksm_ai_stream_opts so = {.upstream = c->target->provider, .caller = c->proto,
                                    .model = c->alias, .include_usage = c->req.include_usage,
                                    .filter = text_filter, .args_filter = args_filter,
                                    .quote_filter = quote_filter, .choice_filter = choice_filter,
                                    .choice_args_filter = choice_args_filter, .filter_ud = c,
                                    .drop_reasoning = c->redacting,
                                    .completion = c->kind == AI_COMPLETE};
    c->tx = ksm_ai_stream_new(&so);
    r->status = 200;
    r->content_type = "text/event-stream";
    ksm_req_add_header(r, "Cache-Control", "no-cache");
    ksm_req_add_header(r, "X-Accel-Buffering", "no");
    r->on_drain = on_drain;
    ksm_req_stream_begin(r);
    c->streaming = true;
}

static enum ksm_err on_event(void *ud, const struct ksm_sse_event *ev)
{
    struct ai_call *c = ud;
    return ksm_ai_stream_event(c->tx, ev->event ? ev->event : "", ev->data, ev->data_len, &c->out);
}

/* The caller's stream ends: close it well-formed, whatever the upstream did. */
static void end_stream(struct ai_call *c, enum ksm_err e, const char *msg)
{
    if (e == KSM_E_OK && !ksm_ai_stream_complete(c->tx)) {
        e = KSM_E_UPSTREAM_ERROR;
        msg = "the model's stream ended early";
    }
    if (!c->cancelled) {   /* a caller who has gone is sent, and billed for, nothing more */
        ksm_ai_stream_finish(c->tx, e, msg, &c->out);   /* (releases what the filters held) */
        flush_out(c);
    }
    c->final_err = e;
    c->usage = *ksm_ai_stream_usage(c->tx);
    if (!c->usage.present || c->usage.completion < c->delivered) {
        /* cut short before the upstream's usage: bill what was delivered */
        c->usage.completion = c->delivered;
        if (!c->usage.prompt)
            c->usage.prompt = c->est_prompt;
    }
    complete(c);
}

/* ---- upstream callbacks -------------------------------------------------------------------------- */

/* The caller asked for a stream of an answer (a token count never streams). */
static bool streamed(const struct ai_call *c)
{
    return (c->kind == AI_CHAT || c->kind == AI_COMPLETE) && c->req.stream;
}

/* What the exchange with the current target says of its health (see ai_health.h); true: it is set
 * aside now, so it is not tried again by this call. */
static bool target_health(struct ai_call *c, bool ok, long retry_after_s)
{
    return ksm_ai_health_report(target_slot(c), ok, retry_after_s);
}

static void on_head(void *arg, long status, const char *ctype, long retry_after)
{
    struct ai_call *c = arg;
    c->up_status = status;
    c->retry_after = retry_after;
    ksm_fmt_copy(c->up_ctype, sizeof c->up_ctype, ctype);
    c->t_first = ksm_mono_ns();
    if (status == 200 && streamed(c) && !c->streaming)
        begin_stream(c);
}

static bool on_data(void *arg, const char *p, size_t n)
{
    struct ai_call *c = arg;
    if (c->streaming) {
        enum ksm_err e = ksm_sse_feed(&c->sse, p, n, on_event, c);
        flush_out(c);
        bool too_large = c->responses && ksm_ai_responses_overflowed(c->responses);
        if (e != KSM_E_OK || too_large) {   /* (too large: the caller was told, in the Response) */
            int64_t refused = too_large ? (int64_t)ksm_ai_responses_refused(c->responses) : 0;
            c->delivered = refused < c->delivered ? c->delivered - refused : 0;   /* never sent */
            up_cancel(c);
            if (!too_large)
                target_health(c, false, 0);   /* the server sent garbage */
            end_stream(c, KSM_E_UPSTREAM_ERROR,
                       too_large ? "the model's answer is too large" : "the model sent a malformed stream");
            return false;
        }
        return ksm_req_stream_congested(c->r);
    }
    size_t max = c->up_status == 200 ? BODY_MAX : ERRBODY_MAX;
    if (c->up_body.len + n > max) {
        if (c->up_status != 200)
            return false;   /* keep the start of an error body; the rest is noise */
        up_cancel(c);
        ksm_ai_fail(c, KSM_E_UPSTREAM_ERROR, "the model's answer is too large", 0);
        return false;
    }
    ksm_buf_append(&c->up_body, p, n);
    return false;
}

static void on_backoff(uv_timer_t *t)
{
    attempt(t->data);
}

/* The call's one timer: a retry's backoff, or the wait for metering to catch up. */
static void call_later(struct ai_call *c, uv_timer_cb cb, uint64_t ms)
{
    if (!c->backoff) {
        c->backoff = ksm_xmalloc(sizeof *c->backoff);
        uv_timer_init(&c->r->worker->loop, c->backoff);
        c->backoff->data = c;
    }
    uv_timer_start(c->backoff, cb, ms, 0);
}

/* Before anything went to the caller: the same target once more (unless it was just set aside),
 * else the next one. */
static void retry(struct ai_call *c, long retry_after_s, bool aside)
{
    bool again = c->tries_here < 2 && c->next > 0 && !aside;
    if (again)
        c->next--;   /* attempt() advances again: the same target */
    if (c->next >= c->norder) {
        int ra = c->final_err == KSM_E_RATE_LIMITED && retry_after_s > 0 ? (int)retry_after_s : 0;
        ksm_ai_fail(c, c->final_err, c->up_msg[0] ? c->up_msg : NULL, ra);
        return;
    }
    /* a Retry-After is its target's: the next target is tried without waiting for it */
    long ms = again && retry_after_s > 0 ? retry_after_s * 1000 : 50L * c->attempts;
    if (ms > BACKOFF_CAP_MS)
        ms = BACKOFF_CAP_MS;
    call_later(c, on_backoff, (uint64_t)ms);
}

static void answer_whole(struct ai_call *c);

static void on_done(void *arg, enum ksm_up_result res, bool got_response, bool reused)
{
    struct ai_call *c = arg;
    c->up = NULL;
    release_target(c);
    if (c->streaming) {
        if (res != KSM_UP_OK) {
            target_health(c, false, 0);
            end_stream(c, res == KSM_UP_TIMEOUT ? KSM_E_UPSTREAM_TIMEOUT : KSM_E_UPSTREAM_ERROR,
                       "the model's stream broke off");
        } else {
            target_health(c, true, 0);   /* answered to the end: a stream that breaks is no answer */
            ksm_sse_finish(&c->sse);
            end_stream(c, KSM_E_OK, NULL);
        }
        return;
    }
    if (res != KSM_UP_OK) {
        if (res == KSM_UP_RESET && reused && !got_response && !c->retried_reuse) {
            c->retried_reuse = true;   /* the keep-alive socket was dead: once more, at once */
            c->next--;
            attempt(c);
            return;
        }
        c->final_err = res == KSM_UP_TIMEOUT ? KSM_E_UPSTREAM_TIMEOUT : KSM_E_UPSTREAM_ERROR;
        snprintf(c->up_msg, sizeof c->up_msg, "%s",
                 res == KSM_UP_TIMEOUT ? "the model provider did not answer in time"
                                       : "the model provider could not be reached");
        retry(c, 0, target_health(c, false, 0));
        return;
    }
    if (c->up_status < 500 && c->up_status != 429)
        target_health(c, true, 0);   /* it answered (a 4xx is the request's fault, not its) */
    if (c->up_status == 200) {
        answer_whole(c);
        return;
    }
    enum ksm_err e = ksm_ai_upstream_error(c->target->provider, (int)c->up_status,
                                           c->up_body.data ? c->up_body.data : "", c->up_body.len,
                                           c->up_msg);
    if (c->up_status == 429 || c->up_status >= 500) {
        c->final_err = c->up_status == 429 ? KSM_E_RATE_LIMITED : e;
        retry(c, c->retry_after, target_health(c, false, c->retry_after));
        return;
    }
    ksm_ai_fail(c, e, c->up_msg, 0);
}

/* The answer's bytes go back as they came, with the alias as model: a same-protocol chat answer
 * with nothing to restore, or embeddings (whose floats re-printing would change). false: the bytes
 * need the tree path (translation, restoring masked values, or beyond the byte scanner). */
static bool answer_bytes(struct ai_call *c)
{
    const char *body = c->up_body.data ? c->up_body.data : "";
    struct ksm_buf *resp = &c->r->resp;
    ksm_buf_reset(resp);
    if (c->kind == AI_EMBED)
        return ksm_ai_embeddings_passthrough(body, c->up_body.len, resp, &c->usage) == 0;
    if (c->kind == AI_RERANK)
        return false;   /* small, and checked: each result's index must name a document */
    if (c->target->provider != c->proto || c->redacting || restoring(c))
        return false;   /* translated, restored or redacted: the tree path reads the text */
    return ksm_ai_response_passthrough(c->proto, body, c->up_body.len, c->alias, resp,
                                       &c->usage) == 0;
}

/* A token count's answer, {"input_tokens": N, ...}: passed on as the provider wrote it. */
static void answer_count(struct ai_call *c)
{
    json_t *in = json_loadb(c->up_body.data ? c->up_body.data : "", c->up_body.len, 0, NULL);
    json_t *n = json_object_get(in, "input_tokens");
    if (!json_is_integer(n) || json_integer_value(n) < 0) {
        json_decref(in);
        ksm_ai_fail(c, KSM_E_UPSTREAM_ERROR, "the model returned a malformed token count", 0);
        return;
    }
    c->usage.prompt = json_integer_value(n);
    json_decref(in);
    ksm_buf_reset(&c->r->resp);
    ksm_buf_append(&c->r->resp, c->up_body.data, c->up_body.len);
    c->r->content_type = "application/json";
    complete(c);
}

/* A whole answer: as bytes when it can be, else parsed and translated. */
static void answer_whole(struct ai_call *c)
{
    if (c->kind == AI_COUNT) {
        answer_count(c);
        return;
    }
    if (answer_bytes(c)) {
        c->r->status = 200;
        c->r->content_type = "application/json";
        complete(c);
        return;
    }
    char err[KSM_AI_ERR_MAX] = "";
    json_error_t je;
    json_t *in = json_loadb(c->up_body.data ? c->up_body.data : "", c->up_body.len, 0, &je);
    json_t *out = NULL;
    enum ksm_err e = KSM_E_UPSTREAM_ERROR;
    if (!in) {
        snprintf(err, sizeof err, "the model returned a malformed answer");
    } else if (c->kind == AI_CHAT) {
        struct ksm_ai_filters f = {.text = text_filter, .args = args_filter,
                                   .quotes = quote_filter, .ud = c, .drop_reasoning = c->redacting};
        e = ksm_ai_response_translate(c->target->provider, c->proto, in, c->alias, &f,
                                      &out, &c->usage, err);
    } else if (c->kind == AI_COMPLETE) {
        e = ksm_ai_complete_answer(in, c->alias, text_filter, c, &c->usage, err, sizeof err);
        out = e == KSM_E_OK ? json_incref(in) : NULL;
    } else if (c->kind == AI_RERANK) {
        /* re-printed only when a quoted document may hold a placeholder: the scores' digits stay */
        e = ksm_ai_rerank_answer(in, json_array_size(json_object_get(c->kept_body, "documents")),
                                 restoring(c) ? quote_filter : NULL, c, &c->usage, err, sizeof err);
        out = e == KSM_E_OK && restoring(c) ? json_incref(in) : NULL;
    } else if (json_is_object(in) && json_is_array(json_object_get(in, "data"))) {
        /* embeddings go back byte for byte: re-printing the floats would change their digits */
        e = ksm_ai_usage_from_openai(in, &c->usage) ? KSM_E_OK : KSM_E_UPSTREAM_ERROR;
        if (e != KSM_E_OK)
            snprintf(err, sizeof err, "the model's answer has no usage");
    } else {
        snprintf(err, sizeof err, "the model returned a malformed answer");
    }
    json_decref(in);
    if (e != KSM_E_OK) {
        json_decref(out);
        ksm_ai_fail(c, e, err, 0);
        return;
    }
    ksm_buf_reset(&c->r->resp);
    if (out) {
        char *s = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        ksm_buf_puts(&c->r->resp, s ? s : "{}");
        free(s);
    } else {
        ksm_buf_append(&c->r->resp, c->up_body.data, c->up_body.len);
    }
    c->r->status = 200;
    c->r->content_type = "application/json";
    complete(c);
}

/* ---- one attempt ----------------------------------------------------------------------------------- */

static void trim_slash(char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '/')
        s[--n] = '\0';
}

static const char *url_for(struct ai_call *c, const struct ksm_ai_target *t)
{
    char base[512];
    ksm_fmt_copy(base, sizeof base, t->base_url);
    trim_slash(base);
    struct ksm_arena *a = c->r->arena;
    if (t->provider == KSM_AI_ANTHROPIC)
        return ksm_arena_cat(a, base, c->kind == AI_COUNT ? "/messages/count_tokens" : "/messages",
                             NULL);
    static const char *const path[] = {[AI_CHAT] = "chat/completions", [AI_EMBED] = "embeddings",
                                       [AI_COMPLETE] = "completions", [AI_RERANK] = "rerank"};
    if (t->azure_deployment[0])
        return ksm_arena_printf(a, "%s/openai/deployments/%s/%s?api-version=%s", base,
                                t->azure_deployment, path[c->kind],
                                t->azure_api_version[0] ? t->azure_api_version : "2024-10-21");
    return ksm_arena_cat(a, base, "/", path[c->kind], NULL);
}

static int headers_for(struct ai_call *c, const struct ksm_ai_target *t, const char **h)
{
    struct ksm_arena *a = c->r->arena;
    int n = 0;
    char secret[512];
    h[n++] = "Content-Type: application/json";
    h[n++] = streamed(c) ? "Accept: text/event-stream" : "Accept: application/json";
    h[n++] = ksm_arena_cat(a, "X-Request-Id: ", c->r->id, NULL);
    const char *cred = ksm_ai_credential(t->credential_ref, secret, sizeof secret);
    if (t->provider == KSM_AI_ANTHROPIC) {
        const char *beta = ksm_req_header(c->r, "anthropic-beta");
        h[n++] = "anthropic-version: " KSM_AI_ANTHROPIC_VERSION;
        if (beta && c->proto == KSM_AI_ANTHROPIC)   /* the caller's opt-ins, checked at the start */
            h[n++] = ksm_arena_cat(a, "anthropic-beta: ", beta, NULL);
        if (cred)
            h[n++] = ksm_arena_cat(a, "x-api-key: ", cred, NULL);
    } else if (cred) {
        h[n++] = ksm_arena_cat(a, t->azure_deployment[0] ? "api-key: " : "Authorization: Bearer ",
                               cred, NULL);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    n += ksm_ai_governed_headers(c, t, h + n);
    h[n] = NULL;
    return n;
}

/* The provider's body in out: the caller's bytes with the model rewritten when nothing else changes
 * (the same protocol, nothing masked), else built from the decoded tree. */
static enum ksm_err body_for(struct ai_call *c, const struct ksm_ai_target *t, struct ksm_buf *out,
                             char err[KSM_AI_ERR_MAX])
{
    const char *model = t->model[0] ? t->model : c->alias;
    const char *raw = c->r->body.data ? c->r->body.data : "";
    struct ksm_ai_upstream_opts uo = {.proto = t->provider, .model = model};
    json_t *j = NULL;
    if (!AI_KEPT(c)) {
        if (ksm_ai_upstream_body_raw(&c->req, raw, c->r->body.len, &uo, out) == 0)
            return KSM_E_OK;
        enum ksm_err e = ksm_ai_upstream_body(&c->req, &uo, &j, err);
        if (e != KSM_E_OK)
            return e;
    } else {
        /* a kept body changes only its model (and a stream asks for its usage): a request of the
         * target's own protocol */
        struct ksm_ai_request as_is = {.proto = t->provider, .rewritten = c->kept_rewritten,
                                       .stream = c->req.stream};
        if (ksm_ai_upstream_body_raw(&as_is, raw, c->r->body.len, &uo, out) == 0)
            return KSM_E_OK;
        j = json_deep_copy(c->kept_body);
        json_object_set_new(j, "model", json_string(model));
        if (c->req.stream)
            json_object_set_new(j, "stream_options", json_pack("{sb}", "include_usage", 1));
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return KSM_E_INTERNAL;
    ksm_buf_puts(out, s);
    free(s);
    return KSM_E_OK;
}

/* The next target to try, counted as in flight: the first not yet tried that is under its
 * max_concurrent — one at its limit gives way to the next (as Azure OpenAI spills provisioned
 * capacity over to a standard deployment) and stays in the order after it; when every one left is
 * at its limit, the first of them anyway (its server queues the call). */
static int take_target(struct ai_call *c)
{
    int pick = c->next;
    while (pick < c->norder &&
           !ksm_ai_health_acquire(c->health[c->order[pick]],
                                  c->route.targets[c->order[pick]].max_concurrent, false))
        pick++;
    if (pick == c->norder) {   /* every one left is at its limit */
        pick = c->next;
        ksm_ai_health_acquire(c->health[c->order[pick]], 0, true);
    }
    int idx = c->order[pick];
    memmove(&c->order[c->next + 1], &c->order[c->next], (size_t)(pick - c->next) * sizeof c->order[0]);
    c->order[c->next++] = idx;
    return idx;
}

_Static_assert(KSM_AI_MAX_TARGETS <= 8, "ai_call.sent has a bit per target");

static void attempt(struct ai_call *c)
{
    if (c->cancelled)
        return;
    if (c->next >= c->norder) {
        ksm_ai_fail(c, c->final_err ? c->final_err : KSM_E_UPSTREAM_ERROR, c->up_msg[0] ? c->up_msg : NULL, 0);
        return;
    }
    const struct ksm_ai_target *t = &c->route.targets[take_target(c)];
    c->tries_here = t == c->target ? c->tries_here + 1 : 1;
    c->target = t;
    c->holding = true;   /* take_target counted it */
    c->attempts++;
    char err[KSM_AI_ERR_MAX] = "";
    struct ksm_buf body = KSM_BUF_INIT;
    enum ksm_err e = body_for(c, t, &body, err);
    if (e != KSM_E_OK) {
        ksm_buf_free(&body);
        ksm_ai_fail(c, e, err, 0);
        return;
    }
    const char *headers[12];
    headers_for(c, t, headers);
    c->up_status = 0;
    c->retry_after = -1;
    ksm_buf_reset(&c->up_body);
    if (!c->t_up)
        c->t_up = ksm_mono_ns();
    struct ksm_up_call_opts o = {.method = "POST", .url = url_for(c, t), .headers = headers,
                                 .body = body.data, .body_len = body.len,
                                 .timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 60000,
                                 .arg = c, .on_head = on_head, .on_data = on_data, .on_done = on_done};
    c->up = ksm_up_start(c->r->worker->upstream, &o);
    ksm_buf_free(&body);
    if (!c->up) {   /* (the call's end releases the target) */
        ksm_ai_fail(c, KSM_E_INTERNAL, "cannot start the upstream call", 0);
        return;
    }
    /* where the request's content went, for the audit record (a target that did not answer may
     * still have read it) */
    c->sent |= (uint8_t)(1u << (t - c->route.targets));
}

/* ---- the caller went away ------------------------------------------------------------------------ */

static void on_abort(struct ksm_req *r)
{
    struct ai_call *c = r->app_data;
    if (!c)
        return;
    c->cancelled = true;
    if (c->up)
        up_cancel(c);   /* the upstream sees the close and stops generating */
    if (c->backoff)
        uv_timer_stop(c->backoff);
    if (c->streaming) {
        end_stream(c, KSM_E_OK, NULL);   /* billed for what was delivered */
        return;
    }
    ksm_ai_gone(c);
}

/* ---- the start ----------------------------------------------------------------------------------- */

static int64_t estimate_prompt(const struct ai_call *c)
{
    size_t bytes;
    if (!AI_KEPT(c)) {
        bytes = ksm_ai_request_text_len(&c->req, KSM_AI_ROLES_ALL) + 8 * c->req.nmsgs;
    } else {
        char *s = ksm_ai_kept_prompt(c);
        bytes = s ? strlen(s) : 0;
        free(s);
    }
    /* about one token per 2 bytes: generous for English (4 chars/token), close for Japanese */
    return (int64_t)(bytes / 2 + 16);
}

static enum ksm_err decode(struct ai_call *c, char *why, size_t n)
{
    static enum ksm_err (*const kept[])(struct ai_call *, char *, size_t) = {
        [AI_EMBED] = ksm_ai_embed_decode, [AI_COMPLETE] = ksm_ai_complete_decode,
        [AI_RERANK] = ksm_ai_rerank_decode};
    struct ksm_req *r = c->r;
    if (AI_KEPT(c))
        return kept[c->kind](c, why, n);
    char err[KSM_AI_ERR_MAX] = "";
    const char *body = r->body.data ? r->body.data : "";
    enum ksm_err e = c->kind == AI_COUNT
                         ? ksm_ai_count_request_decode(body, r->body.len, &c->req, err)
                         : ksm_ai_request_decode(c->proto, body, r->body.len, &c->req, err);
    ksm_fmt_copy(why, n, err);
    c->alias = c->req.model;
    return e;
}

/* anthropic-beta, which an Anthropic caller's opt-ins to new features ride on, goes on to an
 * Anthropic provider as the caller sent it: names of letters, digits, '-', '_', '.', ',' and spaces. */
static bool beta_ok(const char *v)
{
    if (!v)
        return true;
    size_t n = strlen(v);
    return n <= 1024 && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                  "-_., ") == n;
}

/* Go's duration text, as OpenAI writes its resets: "850ms", "12s", "59.5s" (always under a minute). */
static const char *reset_in(struct ksm_arena *a, int64_t ms)
{
    if (ms < 1000)
        return ksm_arena_printf(a, "%lldms", (long long)(ms < 0 ? 0 : ms));
    char frac[8] = "";
    if (ms % 1000) {
        snprintf(frac, sizeof frac, ".%03lld", (long long)(ms % 1000));
        for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
            frac[n - 1] = '\0';
    }
    return ksm_arena_printf(a, "%lld%ss", (long long)(ms / 1000), frac);
}

/* The caller's quotas this minute, in its own API's rate-limit headers: OpenAI's (and Azure
 * OpenAI's) x-ratelimit-{limit,remaining,reset}-{requests,tokens}, Anthropic's
 * anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset} (an RFC 3339 time). A quota the
 * project does not set is not told. */
static void quota_headers(struct ai_call *c, int64_t now_ms)
{
    static const char *const names[2][2][3] = {
        {{"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"},
         {"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}},
        {{"anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
          "anthropic-ratelimit-requests-reset"},
         {"anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining",
          "anthropic-ratelimit-tokens-reset"}}};
    const struct ksm_ai_quota_left *q[2] = {&c->res.reqs, &c->res.toks};
    struct ksm_arena *a = c->r->arena;
    bool anthropic = c->proto == KSM_AI_ANTHROPIC;
    for (int i = 0; i < 2; i++) {
        if (!q[i]->limit)
            continue;
        const char *const *h = names[anthropic][i];
        char when[32];
        if (anthropic)
            ksm_rfc3339_ms(c->res.reset_ms, when);
        ksm_req_add_header(c->r, h[0], ksm_arena_printf(a, "%lld", (long long)q[i]->limit));
        ksm_req_add_header(c->r, h[1], ksm_arena_printf(a, "%lld", (long long)q[i]->remaining));
        ksm_req_add_header(c->r, h[2], anthropic ? ksm_arena_strdup(a, when)
                                                 : reset_in(a, c->res.reset_ms - now_ms));
    }
}

const char *ksm_ai_caller_key(const struct ai_call *c)
{
    return c->on_behalf || !c->principal ? "" : c->principal->key_id;
}

bool ksm_ai_caller_models(struct ai_call *c, char allowed[KSM_AI_KEY_MODELS_MAX])
{
    const char *key = ksm_ai_caller_key(c);
    allowed[0] = 0;
    if (!key[0] || ksm_ai_key_models_get(&c->r->worker->db, c->project, key, allowed) == KSM_E_OK)
        return true;
    ksm_ai_fail(c, KSM_E_INTERNAL, "cannot read the models this key may use", 0);
    return false;
}

/* The key's own list of the project's models it may call (ai_key_models.c): a call outside it is
 * refused before anything is read or sent. */
static bool key_may_call(struct ai_call *c)
{
    char allowed[KSM_AI_KEY_MODELS_MAX], why[KSM_AI_ERR_MAX];
    if (!ksm_ai_caller_models(c, allowed))
        return false;
    if (ksm_ai_key_models_allow(allowed, c->alias))
        return true;
    snprintf(why, sizeof why, "this key may not use model %s in this project", c->alias);
    ksm_ai_fail(c, KSM_E_FORBIDDEN, why, 0);
    return false;
}

/* Which limit refused the call, told to the caller (the ledger's enum ksm_ai_over). */
static const char *const over_why[] = {
    [KSM_AI_OVER_NONE] = "the project's budget or rate limit is exhausted",
    [KSM_AI_OVER_PROJECT_QUOTA] = "the project's rate limit (requests or tokens a minute) is reached",
    [KSM_AI_OVER_KEY_QUOTA] = "this key's rate limit (requests or tokens a minute) is reached",
    [KSM_AI_OVER_PROJECT_BUDGET] = "the project's monthly budget is exhausted",
    [KSM_AI_OVER_KEY_BUDGET] = "this key's monthly budget in this project is exhausted",
};

/* The price in effect and the reservation of the estimated cost against the budget and quotas;
 * false when the call was refused (answered). A token count costs nothing and has no price, but
 * is a request to the provider like any: it counts against the requests per minute (and a project
 * over its budget may not call its models at all). */
static bool charge(struct ai_call *c, struct ksm_db *db)
{
    char why[KSM_AI_ERR_MAX];
    int64_t now_ms = ksm_now_ms();   /* the price in effect and the quota window: one moment */
    if (ksm_ai_all_governed(c) || c->kind == AI_COUNT) {
        /* overseas-ai prices and bills it, or a count, which costs nothing: no charge here */
        memset(&c->price, 0, sizeof c->price);
    } else if (ksm_ai_price_find(db, c->alias, now_ms, &c->price) != KSM_E_OK) {
        snprintf(why, sizeof why, "model %s has no price yet; it cannot be used until one is set", c->alias);
        ksm_ai_fail(c, KSM_E_UNAVAILABLE, why, 0);
        return false;
    }
    c->est_prompt = c->kind == AI_COUNT ? 0 : estimate_prompt(c);
    c->est_completion = c->kind == AI_COMPLETE ? c->req.max_tokens   /* its own default: 16 */
                        : c->kind != AI_CHAT  ? 0
                        : c->req.max_tokens   ? c->req.max_tokens
                                              : EST_COMPLETION;
    int64_t est_cost = ksm_ai_cost(&c->price, c->est_prompt, c->est_completion, 0);
    int retry_after = 0;
    /* the relay's one key serves every tenant: per-key quotas are the caller's key's, in govcloud */
    enum ksm_err e = ksm_ai_reserve(db, c->project, ksm_ai_caller_key(c), &c->pol,
                                    c->est_prompt + c->est_completion, est_cost, now_ms, &c->res,
                                    &retry_after);
    quota_headers(c, now_ms);
    if (e != KSM_E_OK) {
        ksm_ai_fail(c, e, e == KSM_E_RATE_LIMITED ? over_why[c->res.refused]
                                                  : "cannot reserve budget", retry_after);
        return false;
    }
    return true;
}

/* What the guardrail did, told to the caller as the audit log records it (metadata only): the
 * classification applied (the header's, or the project's default) and the decision with the
 * values masked by kind — "mask phone=2" explains placeholders a model wrote back. */
static void guard_headers(struct ai_call *c)
{
    static const char *const digit[] = {"0", "1", "2", "3"};
    char v[160];
    struct ksm_fmt f = ksm_fmt_init(v, sizeof v);
    ksm_fmt_str(&f, c->decision);
    ksm_ai_fmt_masked(&f, c->masked, " ", "=", " ");
    ksm_req_add_header(c->r, "X-Kasumi-Guardrail", ksm_arena_strdup(c->r->arena, v));
    if (c->classification >= 1 && c->classification <= 3)
        ksm_req_add_header(c->r, "X-Kasumi-Classification", digit[c->classification]);
}

static const char *guard_message(struct ai_call *c, enum ksm_err e, char *buf, size_t n)
{
    switch (e) {
    case KSM_E_INVALID_ARGUMENT: return "X-Kasumi-Classification must be 1, 2 or 3";
    case KSM_E_FORBIDDEN:
        snprintf(buf, n, "the classification policy (機密性%d) allows no target of model %s",
                 c->classification, c->alias);
        return buf;
    case KSM_E_CONTENT_BLOCKED:
    case KSM_E_UNSUPPORTED_PARAMETER:
        return c->refusal_msg;   /* the personal-data rules' refusals, worded by the guard */
    default: return NULL;
    }
}

/* The records of requests already admitted are not durable yet, more of them than the bounds
 * allow: the writers are behind (a disk that stalls, a long lock on the database). Admitting more
 * would only grow what a crash loses and the memory they take. */
static bool metering_behind(const struct ksm_app *app)
{
    const struct ksm_conf *k = app->conf;
    return ksm_usage_backlog() > (uint64_t)k->ai_backlog_max ||
           ksm_audit_backlog(app->audit) > (uint64_t)k->ai_backlog_max ||
           ksm_usage_backlog_bytes() + ksm_audit_backlog_bytes(app->audit) > k->ai_backlog_max_bytes;
}

#define METERING_RECHECK_MS 10

static void on_metering_recheck(uv_timer_t *t)
{
    ksm_ai_call_start(t->data);
}

/* True when the call does not go on now: it waits for metering to catch up (a stall of a few
 * hundred ms shows as latency, not as errors), or, after [ai] backlog_wait_ms, it is refused with
 * a time to come back. */
static bool wait_for_metering(struct ai_call *c)
{
    const struct ksm_app *app = c->r->worker->app;
    if (!metering_behind(app)) {
        if (c->wait_until)
            ksm_ai_metrics_metering_wait(false);
        return false;
    }
    uint64_t now = ksm_mono_ns();
    if (!c->wait_until)
        c->wait_until = now + (uint64_t)app->conf->ai_backlog_wait_ms * 1000000u;
    if (now >= c->wait_until) {
        ksm_ai_metrics_metering_wait(true);
        ksm_ai_fail(c, KSM_E_UNAVAILABLE, "usage metering is behind; retry shortly", 1);
        return true;
    }
    c->r->on_abort = on_abort;   /* a caller who leaves meanwhile is let go */
    call_later(c, on_metering_recheck, METERING_RECHECK_MS);
    return true;
}

void ksm_ai_call_start(struct ai_call *c)
{
    struct ksm_req *r = c->r;
    struct ksm_db *db = &r->worker->db;
    struct ksm_app *app = r->worker->app;
    char why[KSM_AI_ERR_MAX], buf[256];
    if (wait_for_metering(c))
        return;
    enum ksm_err e = decode(c, why, sizeof why);
    if (e == KSM_E_OK && c->proto == KSM_AI_ANTHROPIC &&   /* only Anthropic callers' goes on */
        !beta_ok(ksm_req_header(r, "anthropic-beta"))) {
        e = KSM_E_INVALID_ARGUMENT;
        ksm_fmt_copy(why, sizeof why, "anthropic-beta: a comma-separated list of feature names");
    }
    if (e != KSM_E_OK) {
        ksm_ai_fail(c, e, why, 0);
        return;
    }
    if (ksm_ai_route_find(db, c->project, c->alias, &c->route) != KSM_E_OK) {
        snprintf(why, sizeof why, "model %s is not available in this project", c->alias);
        ksm_ai_fail(c, KSM_E_MODEL_NOT_FOUND, why, 0);
        return;
    }
    if (ksm_ai_route_lacks_api(c, why, sizeof why)) {
        ksm_ai_fail(c, KSM_E_INVALID_ARGUMENT, why, 0);
        return;
    }
    if (!key_may_call(c))
        return;
    e = ksm_ai_guard(c, conf_of(c), app->conf->env_kind);
    if (e != KSM_E_OK) {
        if (e == KSM_E_FORBIDDEN || e == KSM_E_CONTENT_BLOCKED || e == KSM_E_UNSUPPORTED_PARAMETER)
            ksm_ai_audit_decision(c);
        ksm_ai_fail(c, e, guard_message(c, e, buf, sizeof buf), 0);
        return;
    }
    if (app->conf->env_kind == KSM_ENV_GOVCLOUD && c->any_overseas &&
        ksm_ai_governed_prepare(c) != KSM_E_OK) {
        ksm_ai_fail(c, KSM_E_INTERNAL, "cannot name the tenant and project for the overseas environment", 0);
        return;
    }
    if (!charge(c, db))   /* last: nothing is reserved for a call refused after it */
        return;
    ksm_ai_audit_decision(c);   /* durable while the upstream call is in flight */
    guard_headers(c);
    r->on_abort = on_abort;
    attempt(c);
}

/* ---- start-up -------------------------------------------------------------------------------------- */

int ksm_ai_start(const struct ksm_conf *conf, const char *data_dir, char *err, size_t errlen)
{
    char path[600];
    snprintf(path, sizeof path, "%s/keys", data_dir);
    ksm_mkdir_p(path, 0700);
    snprintf(path, sizeof path, "%s/keys/ai-prompt-hmac.key", data_dir);
    if (ksm_ai_hmac_init(path, err, errlen))
        return -1;
    ksm_ai_metrics_register();
    ksm_ai_health_configure(conf->ai_eject_after, conf->ai_eject_ms);
    ksm_ai_health_metrics_register();
    return 0;
}

int ksm_ai_worker_init(struct ksm_worker *w)
{
    struct ksm_app *app = w->app;
    w->upstream = ksm_upstream_new(&w->loop, app->conf->ai_upstream_ca);
    return w->upstream ? 0 : -1;
}

void ksm_ai_worker_fini(struct ksm_worker *w)
{
    ksm_upstream_free(w->upstream);
    w->upstream = NULL;
}
