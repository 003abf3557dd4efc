/* util.h — small helpers every subsystem uses: allocation that never returns NULL, time, randomness,
 * hex, ids, hashing and durable file writes. Search here before adding a helper elsewhere;
 * OpenSSL algorithms fetched once (SHA-256, HMAC, AES-GCM, ...) are in evp.h, formatting into
 * fixed buffers without snprintf in fmt.h, scans of a byte class sixteen bytes at a time (JSON
 * string bytes, three-byte UTF-8, header lines) in scan.h. */
#ifndef KSM_UTIL_H
#define KSM_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

#define KSM_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is fatal: a daemon that limps on after ENOMEM corrupts state. */
void *ksm_xmalloc(size_t n);
void *ksm_xcalloc(size_t n, size_t m);
void *ksm_xrealloc(void *p, size_t n);
char *ksm_xstrdup(const char *s);

/* Names the calling thread for operators and profilers (ps -L, top -H, perf; at most 15 bytes). */
void ksm_thread_name(const char *name);

int64_t ksm_now_ms(void);         /* wall clock, ms since the epoch (UTC) */
uint64_t ksm_mono_ns(void);       /* monotonic clock */
/* clock's time ns from now: the deadline of a pthread_cond_timedwait on a condition variable of
 * that clock (CLOCK_REALTIME unless pthread_condattr_setclock said otherwise). */
struct timespec ksm_deadline_ns(clockid_t clock, uint64_t ns);
/* "2026-11-22T01:02:03.456Z"; out needs 25 bytes. */
void ksm_rfc3339_ms(int64_t ms, char out[32]);
/* Parses RFC 3339 (Z or ±hh:mm offset, optional fraction); -1 on error. */
int ksm_parse_rfc3339(const char *s, int64_t *ms);

void ksm_random_bytes(void *buf, size_t n);   /* from OpenSSL's CSPRNG; aborts on failure */
void ksm_hex(const void *in, size_t n, char *out);           /* out: 2n+1 bytes */
int ksm_unhex(const char *in, size_t hexlen, void *out);     /* -1 on a bad digit */
int ksm_hexval(char c);                                      /* 0..15, or -1 */

/* Percent-decoding, one routine for every place that needs it; the callers differ only in what
 * they refuse. Without KSM_PCT_STRICT a '%' not followed by two hex digits is kept literally. */
enum {
    KSM_PCT_PLUS = 1,     /* '+' means a space (form encoding, S3 query values) */
    KSM_PCT_STRICT = 2,   /* a malformed escape is an error */
    KSM_PCT_NO_NUL = 4,   /* a NUL byte (decoded or literal) is an error */
};
/* Decodes in[0..n) into out (n+1 bytes; NUL-terminated); the decoded length, or -1. */
long ksm_pct_decode(const char *in, size_t n, char *out, unsigned flags);
/* A new opaque global id: prefix + "_" + 20 lowercase base32 chars (100 random bits). */
void ksm_id_new(const char *prefix, char out[40]);
void ksm_sha256(const void *data, size_t n, unsigned char out[32]);
void ksm_sha256_hex(const void *data, size_t n, char out[65]);
bool ksm_ct_equal(const void *a, const void *b, size_t n);   /* constant time */
/* A fast 64-bit hash of p[0..n) for in-memory tables (caches, memo slots, the mask map): eight
 * bytes per step, then mixed so that every bit of the result depends on every input byte. Not
 * cryptographic, and not for anything written to disk (its values may change between versions). */
uint64_t ksm_hash64(uint64_t seed, const void *p, size_t n);

bool ksm_utf8_valid(const char *s, size_t n);
/* The length of the one valid UTF-8 sequence of two to four bytes that starts s (no overlong forms,
 * no surrogates, nothing above U+10FFFF); 0 if s[0..n) does not start with one. */
size_t ksm_utf8_seq(const char *s, size_t n);
/* Cuts the string s to at most max bytes and then drops bytes from its end until it is valid
 * UTF-8: for text cut at a byte limit (snprintf, a field's size) that goes back inside JSON or XML,
 * where half a character is an error. The new length. */
size_t ksm_utf8_cut(char *s, size_t max);

/* Reads a whole file (NUL-terminated; *len without it). NULL and errno on failure. */
char *ksm_read_file(const char *path, size_t *len);
/* Writes tmp, fsyncs, renames over path, fsyncs the directory: the file is either old or new. */
int ksm_write_file_durable(const char *path, const void *data, size_t n, int mode);
int ksm_fsync_dir(const char *dir);
/* write(2) until all n bytes are written (EINTR retried): 0, or -1 with errno. */
int ksm_write_all(int fd, const void *p, size_t n);
int ksm_mkdir_p(const char *path, int mode);

#endif
