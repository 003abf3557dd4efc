/* cidr.h — IP networks ("10.0.0.0/8", "2001:db8::/32", a bare address is one host) and whether an
 * address is in one. Both families are held as 16 bytes, IPv4 as ::ffff:a.b.c.d (prefix + 96), so
 * one comparison serves both and an IPv4 peer seen through an IPv6 socket matches its network. */
#ifndef KSM_CIDR_H
#define KSM_CIDR_H

#include <stdbool.h>
#include <stdint.h>

struct ksm_cidr {
    uint8_t addr[16];   /* the network, host bits zero */
    uint8_t bits;       /* prefix length over the 16 bytes: 96 + n for IPv4's /n */
};

#define KSM_CIDR_TEXT 48   /* "ffff:…/128" and its NUL */

/* s as a network; false, with why (≤ 160 bytes) saying what is wrong, when it is not one — a
 * malformed address or prefix, or host bits set beyond the prefix (10.0.0.1/8: 10.0.0.0/8 is
 * meant, or 10.0.0.1/32). */
bool ksm_cidr_parse(const char *s, struct ksm_cidr *out, char why[160]);
/* The network as written by ksm_cidr_parse's canonical form: "10.0.0.0/8", "2001:db8::/32". */
void ksm_cidr_format(const struct ksm_cidr *c, char out[KSM_CIDR_TEXT]);
/* An address ("192.0.2.7", "::1", "::ffff:192.0.2.7") as 16 bytes; false when it is none. */
bool ksm_ip_parse(const char *s, uint8_t out[16]);
bool ksm_cidr_contains(const struct ksm_cidr *c, const uint8_t ip[16]);
/* Whether the address addr (text) is in one of the n networks; *is_ip (when not NULL): whether
 * addr is an address at all. */
bool ksm_cidr_list_has(const struct ksm_cidr *nets, int n, const char *addr, bool *is_ip);

#endif
