/* forwarded.h — a request's client address behind reverse proxies the operator trusts. */
#ifndef KSM_FORWARDED_H
#define KSM_FORWARDED_H

#include <stdbool.h>

#include "core/cidr.h"

#define KSM_ADDR_TEXT 64

/* The client's address: the TCP peer, or — when the peer is in one of trusted (n of them) — the
 * nearest address of X-Forwarded-For that is not, walking from the right (xff: the header's lines
 * in order, nxff of them, read as one comma-separated list), or its leftmost when every one is
 * trusted (nginx's real_ip_recursive). A client cannot pass itself off as another: only the
 * entries its trusted proxies appended are believed. false when the address cannot be known: an
 * entry that is not an IP address comes before an untrusted one (out is then ""). */
bool ksm_forwarded_client(const char *peer, const char *const *xff, int nxff,
                          const struct ksm_cidr *trusted, int ntrusted, char out[KSM_ADDR_TEXT]);

#endif
