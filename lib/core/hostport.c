#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostport.h"
#include "macro.h"

static int fail(const char **ret_error, const char *reason) {
        if (ret_error)
                *ret_error = reason;
        return -EINVAL;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool label_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

/* Checks the labels of a DNS name; *ret_last_numeric says whether the last label is all digits. */
static bool dns_labels_valid(const char *s, bool *ret_last_numeric) {
        size_t n = strlen(s), label = 0;
        bool numeric = true;

        if (n > 0 && s[n - 1] == '.')
                n--;
        if (n == 0 || n > 253)
                return false;

        for (size_t i = 0; i <= n; i++) {
                if (i == n || s[i] == '.') {
                        if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                                return false;
                        if (i == n)
                                break;
                        label = 0;
                        numeric = true;
                        continue;
                }
                if (!label_char(s[i]))
                        return false;
                if (!is_digit(s[i]))
                        numeric = false;
                label++;
        }
        *ret_last_numeric = numeric;
        return true;
}

bool hostname_is_valid(const char *s) {
        bool numeric;

        return dns_labels_valid(s, &numeric) && !numeric;
}

bool dns_name_is_valid(const char *s) {
        bool numeric;

        return dns_labels_valid(s, &numeric);
}

bool dns_name_is_in_zone(const char *name, const char *zone) {
        size_t ln = strlen(name), lz = strlen(zone);

        if (ln > 0 && name[ln - 1] == '.')
                ln--;
        if (lz > 0 && zone[lz - 1] == '.')
                lz--;
        if (lz == 0)
                return true;
        if (ln < lz || strncasecmp(name + ln - lz, zone, lz) != 0)
                return false;
        return ln == lz || name[ln - lz - 1] == '.';
}

int host_parse(const char *s, int *ret_family, const char **ret_error) {
        struct in6_addr a6;
        struct in_addr a4;
        const char *colon;
        int family;

        if (!s || s[0] == '\0')
                return fail(ret_error, "is empty");
        if (s[0] == '[')
                return fail(ret_error, "must be written without brackets");

        colon = strchr(s, ':');
        if (colon) {
                if (strchr(colon + 1, ':')) {
                        if (strchr(s, '%'))
                                return fail(ret_error,
                                        "is an IPv6 address with a zone index, which is not supported");
                        if (inet_pton(AF_INET6, s, &a6) != 1)
                                return fail(ret_error, "is not a valid IPv6 address");
                        family = AF_INET6;
                } else
                        return fail(ret_error, "must not include a port (set the port separately)");
        } else {
                bool numeric;

                if (!dns_labels_valid(s, &numeric))
                        return fail(ret_error, "is not a valid host name or IP address");
                if (numeric) {
                        if (inet_pton(AF_INET, s, &a4) != 1)
                                return fail(ret_error, "is not a valid IPv4 address");
                        family = AF_INET;
                } else
                        family = AF_UNSPEC;
        }

        if (ret_family)
                *ret_family = family;
        return 0;
}

static int parse_port(const char *s, uint16_t *ret, const char **ret_error) {
        unsigned long v = 0;

        if (s[0] == '\0')
                return fail(ret_error, "has an empty port after ':'");
        for (const char *p = s; *p; p++) {
                if (!is_digit(*p))
                        return fail(ret_error, "has a port that is not a number");
                v = v * 10 + (unsigned long) (*p - '0');
                if (v > 65535)
                        return fail(ret_error, "has a port out of range 1..65535");
        }
        if (v == 0)
                return fail(ret_error, "has a port out of range 1..65535");
        *ret = (uint16_t) v;
        return 0;
}

int hostport_parse(const char *s, uint16_t default_port, hostport *ret, const char **ret_error) {
        _cleanup_free_ char *host = NULL;
        const char *port_str = NULL;
        uint16_t port = default_port;
        int family, r;

        if (!s || s[0] == '\0')
                return fail(ret_error, "is empty");

        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                struct in6_addr a6;

                if (!end)
                        return fail(ret_error, "has a '[' without its ']'");
                host = strndup(s + 1, (size_t) (end - s - 1));
                if (!host)
                        return -ENOMEM;
                if (strchr(host, '%'))
                        return fail(
                                ret_error, "is an IPv6 address with a zone index, which is not supported");
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return fail(ret_error, "has an invalid IPv6 address between the brackets");
                family = AF_INET6;
                if (end[1] == ':')
                        port_str = end + 2;
                else if (end[1] != '\0')
                        return fail(ret_error, "has something other than ':PORT' after ']'");
        } else {
                const char *colon = strchr(s, ':');

                if (colon && strchr(colon + 1, ':')) {
                        struct in6_addr a6;

                        if (inet_pton(AF_INET6, s, &a6) == 1 || strchr(s, '.') == NULL)
                                return fail(ret_error,
                                        "is an IPv6 address without brackets: write [ADDRESS]:PORT");
                        return fail(ret_error, "is not HOST:PORT");
                }
                host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
                if (!host)
                        return -ENOMEM;
                if (host[0] == '\0')
                        return fail(ret_error, "has an empty host before ':'");
                r = host_parse(host, &family, ret_error);
                if (r < 0)
                        return r;
                if (colon)
                        port_str = colon + 1;
        }

        if (port_str) {
                r = parse_port(port_str, &port, ret_error);
                if (r < 0)
                        return r;
        } else if (port == 0)
                return fail(ret_error, "has no port: write HOST:PORT");

        *ret = (hostport){.host = TAKE_PTR(host), .port = port, .family = family};
        return 0;
}

void hostport_done(hostport *hp) {
        if (!hp)
                return;
        free(hp->host);
        *hp = (hostport){};
}

static bool host_equal(const char *a, int fa, const char *b, int fb) {
        if (fa != fb)
                return false;
        if (fa == AF_INET || fa == AF_INET6) {
                unsigned char x[sizeof(struct in6_addr)], y[sizeof(struct in6_addr)];

                if (inet_pton(fa, a, x) != 1 || inet_pton(fb, b, y) != 1)
                        return false;
                return memcmp(x, y, fa == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr)) == 0;
        }
        size_t la = strlen(a), lb = strlen(b);
        if (la > 0 && a[la - 1] == '.')
                la--;
        if (lb > 0 && b[lb - 1] == '.')
                lb--;
        return la == lb && strncasecmp(a, b, la) == 0;
}

bool hostport_equal(const hostport *a, const hostport *b) {
        if (!a->host || !b->host)
                return false;
        return a->port == b->port && host_equal(a->host, a->family, b->host, b->family);
}

const char *hostport_format(const hostport *hp, char *buf, size_t size) {
        if (!hp->host)
                snprintf(buf, size, "(none)");
        else if (hp->family == AF_INET6)
                snprintf(buf, size, "[%s]:%u", hp->host, (unsigned) hp->port);
        else
                snprintf(buf, size, "%s:%u", hp->host, (unsigned) hp->port);
        return buf;
}

int ip_prefix_parse(const char *s, ip_prefix *ret, const char **ret_error) {
        char addr[INET6_ADDRSTRLEN];
        const char *slash;
        ip_prefix p = {};
        unsigned long len = 0;
        size_t n;

        if (!s || s[0] == '\0')
                return fail(ret_error, "is empty");
        slash = strchr(s, '/');
        if (!slash)
                return fail(ret_error, "has no prefix length: write ADDRESS/LENGTH, like 10.0.1.100/24");
        n = (size_t) (slash - s);
        if (n == 0 || n >= sizeof(addr))
                return fail(ret_error, "is not a valid IP address");
        memcpy(addr, s, n);
        addr[n] = '\0';

        if (inet_pton(AF_INET, addr, &p.addr.in) == 1)
                p.family = AF_INET;
        else if (inet_pton(AF_INET6, addr, &p.addr.in6) == 1)
                p.family = AF_INET6;
        else
                return fail(ret_error, "is not a valid IP address");

        if (slash[1] == '\0')
                return fail(ret_error, "has an empty prefix length after '/'");
        for (const char *c = slash + 1; *c; c++) {
                if (!is_digit(*c) || len > 1000)
                        return fail(ret_error, "has a prefix length that is not a number");
                len = len * 10 + (unsigned long) (*c - '0');
        }
        if (len < 1 || len > (p.family == AF_INET ? 32u : 128u))
                return fail(ret_error, p.family == AF_INET ? "has a prefix length out of range 1..32"
                                                           : "has a prefix length out of range 1..128");
        p.prefixlen = (unsigned) len;

        *ret = p;
        return 0;
}

/* Whether every host bit of p's address is `one`. */
static bool host_bits_all(const ip_prefix *p, bool one) {
        const unsigned char *b = (const unsigned char *) &p->addr;
        unsigned bits = p->family == AF_INET ? 32 : 128;

        for (unsigned i = p->prefixlen; i < bits; i++) {
                bool set = (b[i / 8] >> (7 - i % 8)) & 1;
                if (set != one)
                        return false;
        }
        return true;
}

bool ip_prefix_is_network(const ip_prefix *p) {
        unsigned bits = p->family == AF_INET ? 32 : 128;

        return p->prefixlen + 1 < bits && host_bits_all(p, false);
}

bool ip_prefix_is_broadcast(const ip_prefix *p) {
        return p->family == AF_INET && p->prefixlen <= 30 && host_bits_all(p, true);
}

bool ip_prefix_same_address(const ip_prefix *a, const ip_prefix *b) {
        if (a->family != b->family)
                return false;
        if (a->family == AF_INET)
                return a->addr.in.s_addr == b->addr.in.s_addr;
        return memcmp(&a->addr.in6, &b->addr.in6, sizeof(struct in6_addr)) == 0;
}

const char *ip_prefix_format(const ip_prefix *p, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN] = "?";

        inet_ntop(p->family, &p->addr, a, sizeof(a));
        snprintf(buf, size, "%s/%u", a, p->prefixlen);
        return buf;
}
