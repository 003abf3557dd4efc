/* cidr.c — IP networks and membership (cidr.h). */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ksm_ip_parse(const char *s, uint8_t out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memcpy(out, v4_prefix, 12);
        memcpy(out + 12, &a4, 4);
        return true;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, s, &a6) != 1)
        return false;
    memcpy(out, &a6, 16);
    return true;
}

static bool is_v4(const uint8_t a[16]) { return !memcmp(a, v4_prefix, 12); }

/* Whether a and b agree on their first bits bits. */
static bool same_prefix(const uint8_t a[16], const uint8_t b[16], unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole))
        return false;
    return !rest || !((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest)));
}

bool ksm_cidr_contains(const struct ksm_cidr *c, const uint8_t ip[16])
{
    return same_prefix(c->addr, ip, c->bits);
}

bool ksm_cidr_list_has(const struct ksm_cidr *nets, int n, const char *addr, bool *is_ip)
{
    uint8_t ip[16];
    bool ok = ksm_ip_parse(addr, ip);
    if (is_ip)
        *is_ip = ok;
    for (int i = 0; ok && i < n; i++)
        if (ksm_cidr_contains(&nets[i], ip))
            return true;
    return false;
}

bool ksm_cidr_parse(const char *s, struct ksm_cidr *out, char why[160])
{
    char addr[KSM_CIDR_TEXT];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof addr) {
        snprintf(why, 160, "%.60s is not an IP address or network", s);
        return false;
    }
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (!ksm_ip_parse(addr, out->addr) || (strchr(addr, ':') && is_v4(out->addr))) {
        snprintf(why, 160, "%.60s is not an IP address or network", s);
        return false;   /* (::ffff:a.b.c.d is written as a.b.c.d: one spelling per network) */
    }
    unsigned max = is_v4(out->addr) ? 32 : 128, bits = max;
    if (slash) {
        char *end;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || slash[1] < '0' || slash[1] > '9' || b > max) {
            snprintf(why, 160, "%.60s: the prefix length must be 0..%u", s, max);
            return false;
        }
        bits = (unsigned)b;
    }
    out->bits = (uint8_t)(bits + (max == 32 ? 96 : 0));
    uint8_t net[16] = {0};
    memcpy(net, out->addr, out->bits / 8);
    if (out->bits % 8)
        net[out->bits / 8] = out->addr[out->bits / 8] & (uint8_t)(0xff << (8 - out->bits % 8));
    if (memcmp(net, out->addr, 16)) {
        snprintf(why, 160, "%.60s has bits set beyond /%u (a network is written with its first address)",
                 s, bits);
        return false;
    }
    return true;
}

void ksm_cidr_format(const struct ksm_cidr *c, char out[KSM_CIDR_TEXT])
{
    char a[INET6_ADDRSTRLEN];
    if (is_v4(c->addr)) {
        inet_ntop(AF_INET, c->addr + 12, a, sizeof a);
        snprintf(out, KSM_CIDR_TEXT, "%s/%u", a, c->bits - 96u);
    } else {
        inet_ntop(AF_INET6, c->addr, a, sizeof a);
        snprintf(out, KSM_CIDR_TEXT, "%s/%u", a, (unsigned)c->bits);
    }
}
