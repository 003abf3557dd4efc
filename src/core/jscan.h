/* jscan.h — our own JSON reader for hot paths (the AI gateway, the usage writer). Without a tree:
 * check that a body is one JSON object, find the byte spans of its members, read a token count (the
 * gateway's pass-through path forwards bytes with one or two values replaced instead of parsing and
 * re-printing them). With a tree: build the jansson tree of a body several times faster than
 * json_loadb, whose lexer copies every byte through a growable buffer one at a time.
 *
 * Conservative by design: it accepts only what jansson (the full path) accepts and reads the same
 * way. Whatever might be judged differently — a key with an escape, a duplicate key, a number jansson
 * could reject as too large, \u0000, a lone surrogate, deep nesting — is refused, and the caller
 * takes the full path, which then gives the answer it always gave. So a refusal here is never an
 * error the client sees. */
#ifndef KSM_JSCAN_H
#define KSM_JSCAN_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSM_JSCAN_MAX_DEPTH 64

struct ksm_jscan_member {
    const char *key;   /* the key's bytes between the quotes (never escaped: see above) */
    size_t key_len;
    const char *val;   /* the value's bytes, exactly as written */
    size_t val_len;
};

/* p[0..n) must be one JSON object (whitespace around it allowed) of valid UTF-8 with at most max
 * members, unique keys without escapes, and nothing deeper than KSM_JSCAN_MAX_DEPTH. Stores the
 * members in m and the offset of the closing brace in *close. Returns the number of members, or -1
 * when the body is not that (malformed, or outside the subset: take the full path). */
int ksm_jscan_object(const char *p, size_t n, struct ksm_jscan_member *m, int max, size_t *close);

/* The jansson tree of p[0..n), one JSON object, with the same values json_loadb would give; NULL
 * when p is outside the subset above (a duplicate key anywhere refuses, as JSON_REJECT_DUPLICATES
 * does): then call json_loadb, which gives the same tree or words the error. New reference. */
json_t *ksm_jscan_load(const char *p, size_t n);

/* ksm_jscan_load, and on success the top-level members' spans as ksm_jscan_object would give them
 * for the same bytes (at most max in m; *nm is -1 when there were more, where ksm_jscan_object
 * refuses) with the closing brace's offset in *close: a caller that needs both reads the body once. */
json_t *ksm_jscan_load_top(const char *p, size_t n, struct ksm_jscan_member *m, int max, int *nm,
                           size_t *close);

/* The member named key, or NULL. */
const struct ksm_jscan_member *ksm_jscan_get(const struct ksm_jscan_member *m, int n,
                                             const char *key);

/* A value that is a JSON integer (no fraction, no exponent) from 0 to max: true and *out set.
 * Anything else (a real, a string, null, negative, larger) is false, as for json_is_integer. */
bool ksm_jscan_count(const char *val, size_t len, int64_t max, int64_t *out);

/* The value is an object: it starts with '{' (ksm_jscan_object checked the rest). */
static inline bool ksm_jscan_is_object(const struct ksm_jscan_member *m)
{
    return m && m->val_len && m->val[0] == '{';
}

#endif
