/* scan.h — the prefix of a byte run that belongs to one class, sixteen bytes at a time where SSE2 is
 * there (every x86-64), a byte at a time elsewhere. The hot scans of the request path share these:
 * JSON strings (jscan, the audit record's fields), UTF-8 validation, HTTP header lines. */
#ifndef KSM_SCAN_H
#define KSM_SCAN_H
#include <stddef.h>

/* Bytes a JSON string holds as they are and that are ASCII: 0x20..0x7f but '"' and '\\'. */
size_t ksm_scan_json_plain(const char *s, size_t n);

/* ASCII bytes (below 0x80). */
size_t ksm_scan_ascii(const char *s, size_t n);

/* Whole three-byte UTF-8 sequences that are valid (U+0800..U+FFFF without the surrogates): kana,
 * kanji, full-width forms and Japanese punctuation, most of a Japanese text. A multiple of 3; the
 * sequence after it, if any, is something else (ASCII, another length, or invalid). */
size_t ksm_scan_utf8_run3(const char *s, size_t n);

/* Bytes before the first CR or LF. */
size_t ksm_scan_line(const char *s, size_t n);

#endif
