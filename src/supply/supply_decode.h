/* supply_decode.h — the character encoding of an uploaded CSV: UTF-8 (with or without the BOM
 * Excel writes for "CSV UTF-8") or CP932 (what Excel in Japan writes for plain "CSV": Shift_JIS
 * plus the NEC and IBM extensions such as ㈱ and ①, and its own mappings of ～ and －). */
#ifndef KSM_SUPPLY_DECODE_H
#define KSM_SUPPLY_DECODE_H
#include <stddef.h>

/* hint: NULL or "" (detect: UTF-8 if the bytes are valid UTF-8, else CP932), "utf-8" or "cp932".
 * OK: *out malloc'd UTF-8 (NUL-terminated, BOM removed), *encoding "utf-8" or "cp932", 0.
 * Error: -1 with why naming the line and byte where decoding failed. */
int ksm_supply_decode(const char *data, size_t n, const char *hint, char **out, size_t *outlen,
                      const char **encoding, char *why, size_t whylen);

#endif
