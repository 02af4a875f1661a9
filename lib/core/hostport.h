/* Network address syntax for the config: "host:port", "[v6]:port", bare hosts, DNS names, and
 * "address/length" prefixes. Syntax only: nothing here resolves a name or touches the network. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hostport {
        char *host;    /* without brackets; NULL when not configured */
        uint16_t port; /* 1..65535 */
        int family;    /* AF_INET, AF_INET6, or AF_UNSPEC for a host name */
} hostport;

/* Room for the longest hostport_format() result: "[" + 253-byte name + "]:" + 5 digits + NUL. */
#define HOSTPORT_FORMAT_MAX 264

typedef struct ip_prefix {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        } addr;
        unsigned prefixlen; /* 1..32 or 1..128 */
} ip_prefix;

/* Room for the longest ip_prefix_format() result. */
#define IP_PREFIX_FORMAT_MAX (INET6_ADDRSTRLEN + 4)

/* Checks a bare host (name, IPv4 or IPv6 without brackets): 0 and *ret_family (if not NULL) on
 * success; -EINVAL with *ret_error (if not NULL) set to a static reason otherwise. */
int host_parse(const char *s, int *ret_family, const char **ret_error);

/* Parses "host:port", "[v6]:port", or a bare host when default_port is not 0. On success fills *ret
 * (free with hostport_done()); on failure returns -EINVAL with *ret_error (if not NULL) set to a
 * static reason, or -ENOMEM. */
int hostport_parse(const char *s, uint16_t default_port, hostport *ret, const char **ret_error);

/* Frees the host and resets *hp; NULL-safe. */
void hostport_done(hostport *hp);

/* Whether a and b are the same endpoint: same port, and the same address (IP literals compared as
 * addresses, names without regard to case or a trailing dot). */
bool hostport_equal(const hostport *a, const hostport *b);

/* Writes "host:port" or "[v6]:port" into buf (at least HOSTPORT_FORMAT_MAX bytes) and returns buf;
 * "(none)" when hp has no host. */
const char *hostport_format(const hostport *hp, char *buf, size_t size);

/* Whether s is a host name: dot-separated labels of 1..63 of [A-Za-z0-9_-] not starting or ending
 * with '-', at most 253 bytes, an optional trailing dot, and a last label that is not all digits. */
bool hostname_is_valid(const char *s);

/* Whether s is a DNS name for a zone or record: like a host name, but the last label may be numeric;
 * "." alone is refused. */
bool dns_name_is_valid(const char *s);

/* Whether name is zone or lies below it, ignoring case and trailing dots. */
bool dns_name_is_in_zone(const char *name, const char *zone);

/* Parses "address/length" (IPv4 or IPv6). On failure returns -EINVAL with *ret_error (if not NULL)
 * set to a static reason. */
int ip_prefix_parse(const char *s, ip_prefix *ret, const char **ret_error);

/* Whether p's address is the network address of its prefix (host bits all zero; never true for the
 * /31, /32, /127 and /128 prefixes, which have no network address). */
bool ip_prefix_is_network(const ip_prefix *p);

/* Whether p's address is the IPv4 broadcast address of its prefix (host bits all one, /30 or wider). */
bool ip_prefix_is_broadcast(const ip_prefix *p);

/* Whether a and b name the same address (the prefix lengths may differ). */
bool ip_prefix_same_address(const ip_prefix *a, const ip_prefix *b);

/* Writes "address/length" into buf (at least IP_PREFIX_FORMAT_MAX bytes) and returns buf. */
const char *ip_prefix_format(const ip_prefix *p, char *buf, size_t size);
