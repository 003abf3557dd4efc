/* cookie.h — reading one cookie from a Cookie request header (RFC 6265 §5.4: "name=value" pairs
 * separated by "; "). The browser sign-in's session is the only cookie kasumid reads. */
#ifndef KSM_COOKIE_H
#define KSM_COOKIE_H
#include <stdbool.h>
#include <stddef.h>

/* The value of the first cookie called name in header, copied to out (NUL-terminated): true when
 * present and it fits in outlen, false otherwise (out is then ""). header may be NULL. */
bool ksm_cookie_get(const char *header, const char *name, char *out, size_t outlen);

#endif
