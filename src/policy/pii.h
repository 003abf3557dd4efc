/* pii.h — personal identifiers in prompts: detection (ksm_pii_scan) and reversible masking
 * (ksm_pii_mask / ksm_pii_unmask), for the AI gateway's guardrail (SPEC G, O4).
 *
 * Detectors: 個人番号 (My Number, check digit), Japanese phone numbers, e-mail addresses, payment card
 * numbers (Luhn + issuer prefix), 基礎年金番号 (4+6) and Japanese passport numbers (2 letters + 7
 * digits, with context). What each accepts and rejects, and why, is in docs/pii.md.
 *
 * Everything here is pure and in memory: the masker holds the placeholder → value mapping of one
 * request and wipes it when freed. Nothing is logged; callers must not log matched text either. */
#ifndef KSM_PII_H
#define KSM_PII_H
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

enum ksm_pii_kind {
    KSM_PII_MYNUMBER,
    KSM_PII_PHONE,
    KSM_PII_EMAIL,
    KSM_PII_CARD,
    KSM_PII_PENSION,
    KSM_PII_PASSPORT,
    KSM_PII_TERM,    /* a project's own term (ksm_pii_policy.terms): no detector finds it */
    KSM_PII__COUNT
};

/* The kinds ksm_pii_scan finds: every kind but TERM. */
#define KSM_PII__DETECTED KSM_PII_TERM

/* "mynumber", "phone", "email", "card", "pension", "passport", "term"; NULL for an unknown kind. */
const char *ksm_pii_kind_name(enum ksm_pii_kind k);
/* The reverse of ksm_pii_kind_name; -1 for an unknown name. */
int ksm_pii_kind_parse(const char *name);

struct ksm_pii_match {
    enum ksm_pii_kind kind;
    size_t start, end;   /* byte offsets into the scanned text, end exclusive */
    int confidence;      /* 0..100: how sure the detector is (docs/pii.md has the table) */
    size_t term;         /* KSM_PII_TERM: which of the policy's terms */
};

/* Scans UTF-8 text (invalid bytes are tolerated and never matched) in one pass. Writes up to max
 * matches to out, in order of position and non-overlapping, and returns how many there are in all,
 * which may exceed max (call again with a bigger array to get them all). out may be NULL if max is
 * 0. Never allocates. */
size_t ksm_pii_scan(const char *text, size_t len, struct ksm_pii_match *out, size_t max);

/* ---- masking ------------------------------------------------------------------------------------ */

enum ksm_pii_action {
    KSM_PII_ALLOW,   /* leave the value in the text */
    KSM_PII_MASK,    /* replace it with a placeholder, restored by ksm_pii_unmask */
    KSM_PII_BLOCK    /* refuse the whole text */
};

/* A term of the project's own (a code name, a marking such as 取扱厳重注意) masked or blocked
 * wherever it occurs, ASCII in any case and either width: text holds it folded (ksm_pii_fold). */
struct ksm_pii_term {
    const char *text;
    size_t len;
    enum ksm_pii_action action;   /* MASK or BLOCK */
};

/* in[0..n) folded into out (at most n bytes): full-width ASCII (Ｋａｓｕｍｉ, ３) as ASCII, the
 * ideographic space as a space, ASCII letters in lower case; everything else as it is. map (may
 * be NULL; n + 1 entries) receives, for each byte of out and for its end, the offset in in where it
 * began. Returns the length of out. */
size_t ksm_pii_fold(const char *in, size_t n, char *out, size_t *map);

struct ksm_pii_policy {
    enum ksm_pii_action action[KSM_PII__COUNT];   /* (TERM's: each term has its own) */
    /* BLOCK applies to matches with at least this confidence; a weaker match of a BLOCK kind is
     * masked instead (fail closed, but a lone 12-digit number does not refuse a request). 0 blocks
     * every match. KSM_PII_BLOCK_CONFIDENCE is the recommended value. */
    int block_confidence;
    const struct ksm_pii_term *terms;   /* may be NULL */
    size_t nterms;
};

#define KSM_PII_BLOCK_CONFIDENCE 80

enum ksm_pii_verdict {
    KSM_PII_PASS,      /* out holds the text, masked as the policy says */
    KSM_PII_BLOCKED    /* a BLOCK kind was found; out is left as it was */
};

/* Placeholders look like ⟦MYNUMBER_1⟧: U+27E6, the kind's name in capitals, '_', a decimal
 * number from 1, U+27E7. Models copy such tokens verbatim, and the brackets do not occur in
 * Japanese or English prose. A placeholder is never longer than KSM_PII_PLACEHOLDER_MAX bytes. */
#define KSM_PII_PLACEHOLDER_MAX 32

struct ksm_pii_masker;   /* one per request; in memory only */

struct ksm_pii_masker *ksm_pii_masker_new(void);
/* Wipes every remembered value, then frees. NULL is fine. */
void ksm_pii_masker_free(struct ksm_pii_masker *m);

/* Applies the policy to text and appends the result to out. The same value (byte for byte) gets
 * the same placeholder for the life of the masker, across calls, so one masker can mask every
 * message of a chat request. Placeholder-shaped strings already in the text are never issued, so
 * ksm_pii_unmask(ksm_pii_mask(x)) == x. The number of matches per kind, whatever the action, is
 * added to counts (may be NULL; zero it first), so the texts of one request count together;
 * blocked_kind (may be NULL) receives the kind that caused a block. */
enum ksm_pii_verdict ksm_pii_mask(struct ksm_pii_masker *m, const struct ksm_pii_policy *p,
                                  const char *text, size_t len, struct ksm_buf *out,
                                  unsigned counts[KSM_PII__COUNT], enum ksm_pii_kind *blocked_kind);

/* The number of distinct values masked so far, and the length of the longest placeholder issued
 * (0 if none): a streaming restore holds back fewer bytes than that. */
size_t ksm_pii_masker_size(const struct ksm_pii_masker *m);
size_t ksm_pii_masker_longest(const struct ksm_pii_masker *m);

/* Restores this masker's placeholders in a model's output and appends it to out. Anything else,
 * including placeholders this masker never issued, is copied unchanged. */
void ksm_pii_unmask(const struct ksm_pii_masker *m, const char *text, size_t len,
                    struct ksm_buf *out);

/* Streaming restore for a model's output arriving in chunks: a placeholder may be split across
 * chunks, so a tail that could still become one is held back (always fewer bytes than
 * ksm_pii_masker_longest) until the next chunk or the flush. Zero-initialise the stream
 * (KSM_PII_STREAM_INIT). The concatenated output equals ksm_pii_unmask of the concatenated input,
 * however the input is split. */
struct ksm_pii_stream {
    char held[KSM_PII_PLACEHOLDER_MAX];
    size_t held_len;
};

#define KSM_PII_STREAM_INIT {{0}, 0}

void ksm_pii_unmask_stream(const struct ksm_pii_masker *m, struct ksm_pii_stream *s,
                           const char *chunk, size_t len, struct ksm_buf *out);
/* Emits what is held back (the stream has ended) and resets s for reuse. */
void ksm_pii_unmask_flush(const struct ksm_pii_masker *m, struct ksm_pii_stream *s,
                          struct ksm_buf *out);

/* ---- redacting a model's own output ------------------------------------------------------------ */

/* Values the model wrote itself (not restored ones: redact before ksm_pii_unmask) of each kind
 * whose action is KSM_PII_MASK are replaced by ⟦KIND⟧ — no number, so nothing restores them; other
 * actions leave the value. counts (may be NULL) gets the number replaced per kind. */
bool ksm_pii_redacts(const enum ksm_pii_action act[KSM_PII__COUNT]);   /* some kind is redacted */
void ksm_pii_redact(const enum ksm_pii_action act[KSM_PII__COUNT], const char *text, size_t len,
                    struct ksm_buf *out, unsigned counts[KSM_PII__COUNT]);

/* The same for output arriving in pieces: a tail that a value may still be part of, and the
 * context detectors read after one (48 bytes), are held until the next piece; final (the text
 * ends) emits everything and frees the state. The concatenated output equals ksm_pii_redact of
 * the concatenated input however it is cut, as long as no run of value characters (letters,
 * digits, symbols with no space between) is longer than 320 bytes. Zero-initialise; the held
 * bytes are wiped when emitted or freed. */
struct ksm_pii_redact {
    struct ksm_buf win;   /* [0, ctx): emitted, kept as the detectors' left context; then held */
    size_t ctx;
};

void ksm_pii_redact_stream(const enum ksm_pii_action act[KSM_PII__COUNT], struct ksm_pii_redact *st,
                           const char *chunk, size_t len, bool final, struct ksm_buf *out,
                           unsigned counts[KSM_PII__COUNT]);
/* Wipes and frees what a stream holds (one that ended with final needs none). */
void ksm_pii_redact_free(struct ksm_pii_redact *st);
/* Bytes of the input taken in and not yet emitted (0 after final). */
static inline size_t ksm_pii_redact_held(const struct ksm_pii_redact *st)
{
    return st->win.len - st->ctx;
}

/* ---- a model's tool-call arguments ----------------------------------------------------------- */

/* Tool-call arguments, JSON text the caller's code parses, on their way to the caller: each string
 * in them (keys too) is decoded, redacted by act (values of its MASK kinds become ⟦KIND⟧; NULL:
 * nothing is), its placeholders restored from m (NULL: none) and escaped again; a bare token (a
 * number) holding a value redacted is written as the string "⟦KIND⟧" — so JSON stays JSON. The
 * detectors read each string with the decoded text before it (a key such as "passport" raises
 * the confidence of its value, as a label does in prose). Arguments that do not begin with { or [
 * (a custom tool's free-form input) are redacted and restored as text. Streamed in any pieces,
 * the output equals the whole (up to runs of 320 bytes, as ksm_pii_redact_stream); final ends
 * the arguments and frees the state. Zero-initialise. */
struct ksm_pii_args {
    struct ksm_pii_redact val;    /* the open string's decoded text (or all of it, as text) */
    struct ksm_pii_stream unmask; /* its restore */
    struct ksm_buf prev;          /* the decoded text before it: the detectors' left context */
    struct ksm_buf tok;           /* a bare token (a number) being read, or an escape */
    struct ksm_buf dec, red, res; /* a piece decoded, redacted, restored */
    unsigned char mode;
};

void ksm_pii_args_stream(const enum ksm_pii_action *act, const struct ksm_pii_masker *m,
                         struct ksm_pii_args *st, const char *chunk, size_t len, bool final,
                         struct ksm_buf *out, unsigned counts[KSM_PII__COUNT]);
void ksm_pii_args(const enum ksm_pii_action *act, const struct ksm_pii_masker *m, const char *text,
                  size_t len, struct ksm_buf *out, unsigned counts[KSM_PII__COUNT]);
/* Wipes and frees what the state holds; one that never left its start (mode 0) holds nothing, so
 * the per-request call costs a test (the gateway frees one for every request). */
void ksm_pii_args__free(struct ksm_pii_args *st);
static inline void ksm_pii_args_free(struct ksm_pii_args *st)
{
    if (st->mode)
        ksm_pii_args__free(st);
}

#endif
