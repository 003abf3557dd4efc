/* sse.h — Server-Sent Events: an incremental parser for upstream model streams and a writer for the
 * events the gateway sends. The parser follows the WHATWG "event stream interpretation" rules: bytes
 * arrive in chunks of any size (a line may be cut anywhere, even between CR and LF), lines end in CR,
 * LF or CRLF, a leading UTF-8 BOM is skipped, ':' lines are comments, "data" lines of one event are
 * joined with '\n', and an event is dispatched at the empty line that ends it. Only the event being
 * assembled is buffered, never the stream, and its size is bounded: an upstream that sends an endless
 * line gets KSM_E_TOO_LARGE, not unbounded memory. */
#ifndef KSM_SSE_H
#define KSM_SSE_H
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

/* One dispatched event. The strings are NUL-terminated and valid until the callback returns; data
 * may itself contain NUL bytes, so use data_len. event is "" when the stream named none (WHATWG
 * calls that type "message"); id is the last event id seen on the stream, "" if none. */
struct ksm_sse_event {
    const char *event;
    const char *data;
    size_t data_len;
    const char *id;
};

/* Returns KSM_E_OK to go on; anything else stops the parser, and ksm_sse_feed returns it. */
typedef enum ksm_err (*ksm_sse_cb)(void *ud, const struct ksm_sse_event *ev);

struct ksm_sse_parser {
    struct ksm_buf line;    /* the line being assembled (no terminator) */
    struct ksm_buf data;    /* data lines of the current event, each followed by '\n' */
    struct ksm_buf event;   /* event type of the current event */
    struct ksm_buf id;      /* last event id; survives across events (WHATWG) */
    size_t max_event;       /* bound on line + data + event name of one event, in bytes */
    long retry_ms;          /* last "retry:" value, -1 if none */
    unsigned bom;           /* BOM bytes matched so far; 3 once the stream start is decided */
    bool cr;                /* the previous byte was CR: an LF right after it ends nothing */
    enum ksm_err err;       /* sticky: once a feed failed, the parser refuses further input */
};

#define KSM_SSE_DEFAULT_MAX (1u << 20)

void ksm_sse_init(struct ksm_sse_parser *p, size_t max_event);   /* 0: KSM_SSE_DEFAULT_MAX */
void ksm_sse_free(struct ksm_sse_parser *p);
/* Feeds n bytes; calls cb for every event they complete. Returns KSM_E_OK, KSM_E_TOO_LARGE when an
 * event exceeds max_event, or the callback's error. After an error the parser stays failed. */
enum ksm_err ksm_sse_feed(struct ksm_sse_parser *p, const void *buf, size_t n, ksm_sse_cb cb,
                          void *ud);
/* End of the stream. An event not closed by an empty line is discarded (WHATWG); returns true when
 * such a partial event or line was pending, i.e. the stream was cut short. */
bool ksm_sse_finish(struct ksm_sse_parser *p);

/* Writer: appends one event. event may be NULL (no "event:" line); CR and LF in it are dropped. Data
 * is split at CR, LF and CRLF into "data:" lines, so any text round-trips through a parser. */
void ksm_sse_write(struct ksm_buf *out, const char *event, const char *data, size_t len);
void ksm_sse_write_comment(struct ksm_buf *out, const char *text);   /* ": text" keep-alive */

#endif
