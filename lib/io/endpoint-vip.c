/* The `vip` endpoint: rtnetlink (libmnl) for the address, a packet socket for gratuitous ARP, a raw
 * ICMPv6 socket for unsolicited neighbour advertisements. See endpoint-vip.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <net/if.h> /* before the <linux/> headers, which defer to it */
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "endpoint-vip.h"
#include "hostport.h"
#include "macro.h"

#define ETH_ALEN_ 6
/* Fixed sizes, not libmnl's page-size-based MNL_SOCKET_BUFFER_SIZE (a VLA): our requests are tiny,
 * and 32 KiB holds any batch of answers the kernel sends at once to a reader offering that much. */
#define RTNL_REQUEST_SIZE 512
#define RTNL_RECV_SIZE    32768

/* What the SRE needs when we lack the capabilities (both: adding needs one, announcing the other). */
#define CAPABILITY_HINT                                                                                     \
        " (the vip endpoint needs CAP_NET_ADMIN and CAP_NET_RAW: add a systemd drop-in, e.g. `systemctl "   \
        "edit mariadb-sentinel`, with [Service] AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW and "         \
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW, then restart)"

typedef struct vip_link {
        int ifindex;
        unsigned flags;      /* IFF_* */
        unsigned short type; /* ARPHRD_* */
        uint8_t mac[ETH_ALEN_];
        bool have_mac; /* a 6-byte hardware address */
} vip_link;

_printf_(3, 4) static void message_set(char *message, size_t size, const char *fmt, ...) {
        va_list ap;

        if (!message || size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(message, size, fmt, ap);
        va_end(ap);
}

/* "10.0.1.100/24 on eth0", for messages. */
static const char *vip_describe(const vip_endpoint_conf *conf, char *buf, size_t size) {
        char p[IP_PREFIX_FORMAT_MAX];

        snprintf(buf, size, "%s on %s", ip_prefix_format(&conf->address, p, sizeof(p)), conf->interface);
        return buf;
}

static const char *errno_hint(int r) {
        return r == -EPERM || r == -EACCES ? CAPABILITY_HINT : "";
}

static int vip_conf_check(const vip_endpoint_conf *conf) {
        if (!conf || !conf->interface || conf->interface[0] == '\0')
                return -EINVAL;
        if (conf->address.family == AF_INET)
                return conf->address.prefixlen >= 1 && conf->address.prefixlen <= 32 ? 0 : -EINVAL;
        if (conf->address.family == AF_INET6)
                return conf->address.prefixlen >= 1 && conf->address.prefixlen <= 128 ? 0 : -EINVAL;
        return -EINVAL;
}

static size_t vip_addr_len(const vip_endpoint_conf *conf) {
        return conf->address.family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
}

static void mnl_socket_closep(struct mnl_socket **nl) {
        if (*nl)
                mnl_socket_close(*nl);
}

/* A NETLINK_ROUTE socket, O_CLOEXEC, bound, with the receive timeout. */
static int rtnl_open(struct mnl_socket **ret) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        struct timeval tv = {
                .tv_sec = ENDPOINT_VIP_NETLINK_TIMEOUT_USEC / USEC_PER_SEC,
                .tv_usec = ENDPOINT_VIP_NETLINK_TIMEOUT_USEC % USEC_PER_SEC,
        };
        int one = 1;

        nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        /* Best effort: only dump what we ask for where the kernel supports it. */
        (void) setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        *ret = TAKE_PTR(nl);
        return 0;
}

/* Sends nlh and runs cb over the answers until the ACK, the end of the dump, or an error (the
 * kernel's negative errno). -ETIMEDOUT when the kernel does not answer within the timeout. */
static int rtnl_exchange(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        _Alignas(struct nlmsghdr) char buf[RTNL_RECV_SIZE];
        unsigned portid = mnl_socket_get_portid(nl);
        uint32_t seq = nlh->nlmsg_seq;

        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
                }
                errno = 0;
                int r = mnl_cb_run(buf, (size_t) n, seq, portid, cb, data);
                if (r == MNL_CB_ERROR)
                        return errno > 0 ? -errno : -EPROTO;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static uint32_t rtnl_seq(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint32_t) (ts.tv_sec * 1000003 + ts.tv_nsec);
}

static int link_attr_cb(const struct nlattr *attr, void *data) {
        vip_link *link = data;

        if (mnl_attr_get_type(attr) == IFLA_ADDRESS && mnl_attr_get_payload_len(attr) == ETH_ALEN_) {
                memcpy(link->mac, mnl_attr_get_payload(attr), ETH_ALEN_);
                link->have_mac = true;
        }
        return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        vip_link *link = data;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        link->ifindex = ifi->ifi_index;
        link->flags = ifi->ifi_flags;
        link->type = ifi->ifi_type;
        return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, link);
}

/* The interface called name: RTM_GETLINK by IFLA_IFNAME. -ENODEV when there is none. */
static int link_get(struct mnl_socket *nl, const char *name, vip_link *ret) {
        _Alignas(struct nlmsghdr) char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        vip_link link = {};
        int r;

        if (strlen(name) >= IFNAMSIZ)
                return -ENODEV;
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        nlh->nlmsg_seq = rtnl_seq();
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        /* Ask for an ACK too, so the exchange ends the same way whether or not the kernel says more. */
        nlh->nlmsg_flags |= NLM_F_ACK;

        r = rtnl_exchange(nl, nlh, link_cb, &link);
        if (r < 0)
                return r;
        if (link.ifindex <= 0)
                return -ENODEV;
        *ret = link;
        return 0;
}

/* RTM_NEWADDR or RTM_DELADDR of conf's address on ifindex. */
static int addr_change(struct mnl_socket *nl, const vip_endpoint_conf *conf, int ifindex, uint16_t type) {
        _Alignas(struct nlmsghdr) char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        if (type == RTM_NEWADDR)
                nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
        nlh->nlmsg_seq = rtnl_seq();
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t) conf->address.family;
        ifa->ifa_prefixlen = (uint8_t) conf->address.prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t) ifindex;
        if (type == RTM_NEWADDR && conf->address.family == AF_INET6) {
                ifa->ifa_flags = IFA_F_NODAD;
                mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
        }
        mnl_attr_put(nlh, IFA_LOCAL, vip_addr_len(conf), &conf->address.addr);
        mnl_attr_put(nlh, IFA_ADDRESS, vip_addr_len(conf), &conf->address.addr);

        return rtnl_exchange(nl, nlh, NULL, NULL);
}

typedef struct addr_match {
        const vip_endpoint_conf *conf;
        int ifindex;
        bool found;
} addr_match;

static int addr_cb(const struct nlmsghdr *nlh, void *data) {
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        addr_match *m = data;
        const struct nlattr *attr;
        const void *local = NULL, *address = NULL;
        uint32_t flags;

        if (nlh->nlmsg_type != RTM_NEWADDR)
                return MNL_CB_OK;
        if ((int) ifa->ifa_index != m->ifindex || ifa->ifa_family != m->conf->address.family ||
                ifa->ifa_prefixlen != m->conf->address.prefixlen)
                return MNL_CB_OK;
        flags = ifa->ifa_flags;
        mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
                uint16_t t = mnl_attr_get_type(attr);
                if ((t == IFA_LOCAL || t == IFA_ADDRESS) &&
                        mnl_attr_get_payload_len(attr) == vip_addr_len(m->conf)) {
                        if (t == IFA_LOCAL)
                                local = mnl_attr_get_payload(attr);
                        else
                                address = mnl_attr_get_payload(attr);
                } else if (t == IFA_FLAGS && mnl_attr_get_payload_len(attr) == sizeof(uint32_t))
                        flags = mnl_attr_get_u32(attr);
        }
        /* IFA_LOCAL is our own address where there is one (a point-to-point IFA_ADDRESS is the peer's). */
        if (!local)
                local = address;
        if (local && memcmp(local, &m->conf->address.addr, vip_addr_len(m->conf)) == 0 &&
                !(flags & IFA_F_DADFAILED))
                m->found = true;
        return MNL_CB_OK;
}

static int addr_present(struct mnl_socket *nl, const vip_endpoint_conf *conf, int ifindex) {
        _Alignas(struct nlmsghdr) char buf[RTNL_REQUEST_SIZE];
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;
        addr_match m = {.conf = conf, .ifindex = ifindex};
        int r;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETADDR;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = rtnl_seq();
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t) conf->address.family;
        ifa->ifa_index =
                (uint32_t) ifindex; /* a filter with NETLINK_GET_STRICT_CHK; checked in addr_cb anyway */

        r = rtnl_exchange(nl, nlh, addr_cb, &m);
        if (r < 0)
                return r;
        return m.found;
}

/* One IPv4 announcement: a gratuitous ARP request, then a gratuitous ARP reply. */
static int garp_send_arp(const vip_endpoint_conf *conf, const vip_link *link) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_ll sll = {
                .sll_family = AF_PACKET,
                .sll_protocol = htons(ETH_P_ARP),
                .sll_ifindex = link->ifindex,
                .sll_halen = ETH_ALEN_,
                .sll_addr = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        };
        struct {
                struct arphdr h;
                uint8_t sha[ETH_ALEN_];
                uint8_t spa[4];
                uint8_t tha[ETH_ALEN_];
                uint8_t tpa[4];
        } __attribute__((packed)) pkt = {
                .h =
                        {
                                .ar_hrd = htons(ARPHRD_ETHER),
                                .ar_pro = htons(ETH_P_IP),
                                .ar_hln = ETH_ALEN_,
                                .ar_pln = 4,
                        },
        };

        fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* protocol 0: send only, receive nothing */
        if (fd < 0)
                return -errno;

        memcpy(pkt.sha, link->mac, ETH_ALEN_);
        memcpy(pkt.spa, &conf->address.addr.in, 4);
        memcpy(pkt.tpa, &conf->address.addr.in, 4);

        pkt.h.ar_op = htons(ARPOP_REQUEST); /* target MAC zero (RFC 5227 announcement) */
        if (sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *) &sll, sizeof(sll)) < 0)
                return -errno;

        pkt.h.ar_op = htons(ARPOP_REPLY); /* target MAC = sender MAC, or Linux does not call it gratuitous */
        memcpy(pkt.tha, link->mac, ETH_ALEN_);
        if (sendto(fd, &pkt, sizeof(pkt), 0, (const struct sockaddr *) &sll, sizeof(sll)) < 0)
                return -errno;
        return 0;
}

/* One IPv6 announcement: an unsolicited neighbour advertisement from the VIP to all nodes. */
static int garp_send_na(const vip_endpoint_conf *conf, const vip_link *link) {
        _cleanup_close_ int fd = -EBADF;
        int hops = 255;
        struct sockaddr_in6 dst = {
                .sin6_family = AF_INET6,
                .sin6_scope_id = (uint32_t) link->ifindex,
        };
        struct {
                struct nd_neighbor_advert na;
                struct nd_opt_hdr opt;
                uint8_t mac[ETH_ALEN_];
        } __attribute__((packed)) pkt = {
                .na.nd_na_type = ND_NEIGHBOR_ADVERT,
                .na.nd_na_code = 0,
                .na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE, /* unsolicited: Solicited clear */
                .opt.nd_opt_type = ND_OPT_TARGET_LINKADDR,
                .opt.nd_opt_len = 1, /* in units of 8 bytes: type, length and the 6-byte MAC */
        };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        } control = {};
        struct iovec iov = {.iov_base = &pkt, .iov_len = sizeof(pkt)};
        struct msghdr mh = {
                .msg_name = &dst,
                .msg_namelen = sizeof(dst),
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control.buf),
        };
        struct cmsghdr *cmsg;
        struct in6_pktinfo pi = {.ipi6_ifindex = (unsigned) link->ifindex};

        /* The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets. */
        fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0)
                return -errno;

        inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
        pkt.na.nd_na_target = conf->address.addr.in6;
        memcpy(pkt.mac, link->mac, ETH_ALEN_);
        pi.ipi6_addr = conf->address.addr.in6; /* from the VIP itself (IFA_F_NODAD: usable at once) */

        cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = IPPROTO_IPV6;
        cmsg->cmsg_type = IPV6_PKTINFO;
        cmsg->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cmsg), &pi, sizeof(pi));

        if (sendmsg(fd, &mh, 0) < 0)
                return -errno;
        return 0;
}

static int garp_send(const vip_endpoint_conf *conf, const vip_link *link) {
        if ((link->flags & IFF_NOARP) || !link->have_mac)
                return 0;
        if (conf->address.family == AF_INET)
                return garp_send_arp(conf, link);
        return garp_send_na(conf, link);
}

static const char *garp_what(const vip_endpoint_conf *conf) {
        return conf->address.family == AF_INET ? "gratuitous ARP" : "unsolicited neighbour advertisement";
}

/* Opens the socket and looks up the interface, with the message for a failure. */
static int vip_prepare(const vip_endpoint_conf *conf, struct mnl_socket **ret_nl, vip_link *ret_link,
        char *message, size_t message_size) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char d[IP_PREFIX_FORMAT_MAX + IFNAMSIZ + 8];
        int r;

        r = vip_conf_check(conf);
        if (r < 0) {
                message_set(message, message_size, "vip: invalid endpoint configuration");
                return r;
        }
        vip_describe(conf, d, sizeof(d));
        r = rtnl_open(&nl);
        if (r < 0) {
                message_set(message, message_size, "vip %s: cannot open a netlink socket: %s%s", d,
                        strerror(-r), errno_hint(r));
                return r;
        }
        r = link_get(nl, conf->interface, ret_link);
        if (r == -ENODEV) {
                message_set(
                        message, message_size, "vip %s: no interface %s on this host", d, conf->interface);
                return r;
        }
        if (r < 0) {
                message_set(message, message_size, "vip %s: cannot look up interface %s: %s", d,
                        conf->interface, strerror(-r));
                return r;
        }
        *ret_nl = TAKE_PTR(nl);
        return 0;
}

int endpoint_vip_add(const vip_endpoint_conf *conf, char *message, size_t message_size) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char d[IP_PREFIX_FORMAT_MAX + IFNAMSIZ + 8];
        vip_link link;
        int r;

        r = vip_prepare(conf, &nl, &link, message, message_size);
        if (r < 0)
                return r;
        vip_describe(conf, d, sizeof(d));

        r = addr_change(nl, conf, link.ifindex, RTM_NEWADDR);
        if (r < 0) {
                message_set(message, message_size, "vip %s: cannot add the address: %s%s", d, strerror(-r),
                        errno_hint(r));
                return r;
        }
        r = garp_send(conf, &link);
        if (r < 0) {
                message_set(message, message_size, "vip %s: address added, but the %s failed: %s%s", d,
                        garp_what(conf), strerror(-r), errno_hint(r));
                return r;
        }
        if ((link.flags & IFF_NOARP) || !link.have_mac)
                message_set(message, message_size, "vip %s: address added (the interface takes no %s)", d,
                        garp_what(conf));
        else
                message_set(message, message_size, "vip %s: address added, %s sent", d, garp_what(conf));
        return 0;
}

int endpoint_vip_remove(const vip_endpoint_conf *conf, char *message, size_t message_size) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char d[IP_PREFIX_FORMAT_MAX + IFNAMSIZ + 8];
        vip_link link;
        int r;

        r = vip_prepare(conf, &nl, &link, message, message_size);
        if (r < 0)
                return r;
        vip_describe(conf, d, sizeof(d));

        r = addr_change(nl, conf, link.ifindex, RTM_DELADDR);
        if (r == -EADDRNOTAVAIL) {
                message_set(message, message_size, "vip %s: address was not configured", d);
                return 0;
        }
        if (r < 0) {
                message_set(message, message_size, "vip %s: cannot remove the address: %s%s", d,
                        strerror(-r), errno_hint(r));
                return r;
        }
        message_set(message, message_size, "vip %s: address removed", d);
        return 0;
}

int endpoint_vip_present(const vip_endpoint_conf *conf, char *message, size_t message_size) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char d[IP_PREFIX_FORMAT_MAX + IFNAMSIZ + 8];
        vip_link link;
        int r;

        r = vip_prepare(conf, &nl, &link, message, message_size);
        if (r < 0)
                return r;
        vip_describe(conf, d, sizeof(d));

        r = addr_present(nl, conf, link.ifindex);
        if (r < 0) {
                message_set(message, message_size, "vip %s: cannot list the addresses: %s", d, strerror(-r));
                return r;
        }
        message_set(message, message_size, "vip %s: %s", d, r ? "configured" : "not configured");
        return r;
}

int endpoint_vip_garp_send_one(const vip_endpoint_conf *conf, char *message, size_t message_size) {
        _cleanup_(mnl_socket_closep) struct mnl_socket *nl = NULL;
        char d[IP_PREFIX_FORMAT_MAX + IFNAMSIZ + 8];
        vip_link link;
        int r;

        r = vip_prepare(conf, &nl, &link, message, message_size);
        if (r < 0)
                return r;
        vip_describe(conf, d, sizeof(d));

        r = garp_send(conf, &link);
        if (r < 0) {
                message_set(message, message_size, "vip %s: %s failed: %s%s", d, garp_what(conf),
                        strerror(-r), errno_hint(r));
                return r;
        }
        message_set(message, message_size, "vip %s: %s %s", d, garp_what(conf),
                (link.flags & IFF_NOARP) || !link.have_mac ? "not needed on this interface" : "sent");
        return 0;
}

struct endpoint_vip_garp {
        sd_event_source *timer;
        vip_endpoint_conf conf; /* interface owned */
        unsigned count, sent;
        uint64_t interval_usec;
        endpoint_vip_garp_handler handler;
        void *userdata;
        bool done;
};

static int garp_timer_cb(sd_event_source *s, uint64_t usec, void *userdata) {
        endpoint_vip_garp *g = userdata;
        char message[ENDPOINT_VIP_MESSAGE_MAX];
        int r;

        r = endpoint_vip_garp_send_one(&g->conf, message, sizeof(message));
        if (r >= 0) {
                g->sent++;
                if (g->sent < g->count) {
                        r = sd_event_source_set_time(s, usec + g->interval_usec);
                        if (r >= 0)
                                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                        if (r >= 0)
                                return 0;
                        snprintf(message, sizeof(message), "vip: cannot re-arm the announcement timer: %s",
                                strerror(-r));
                } else {
                        char d[IP_PREFIX_FORMAT_MAX + IFNAMSIZ + 8];
                        snprintf(message, sizeof(message), "vip %s: %u %s%s sent",
                                vip_describe(&g->conf, d, sizeof(d)), g->sent, garp_what(&g->conf),
                                g->sent == 1 ? "" : "s");
                }
        }
        g->done = true;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (g->handler)
                g->handler(g, r < 0 ? r : 0, g->sent, message, g->userdata); /* may free g */
        return 0;
}

int endpoint_vip_garp_start(sd_event *e, const vip_endpoint_conf *conf, unsigned count,
        uint64_t interval_usec, endpoint_vip_garp_handler handler, void *userdata, endpoint_vip_garp **ret) {
        _cleanup_(endpoint_vip_garp_freep) endpoint_vip_garp *g = NULL;
        uint64_t now;
        int r;

        if (!e || !ret || count == 0 || vip_conf_check(conf) < 0)
                return -EINVAL;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->conf.address = conf->address;
        g->conf.interface = strdup(conf->interface);
        if (!g->conf.interface)
                return -ENOMEM;
        g->count = count;
        g->interval_usec = interval_usec > 0 ? interval_usec : ENDPOINT_VIP_GARP_INTERVAL_USEC;
        g->handler = handler;
        g->userdata = userdata;

        r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_add_time(
                e, &g->timer, CLOCK_MONOTONIC, now, 1000 /* 1 ms accuracy */, garp_timer_cb, g);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

endpoint_vip_garp *endpoint_vip_garp_free(endpoint_vip_garp *g) {
        if (!g)
                return NULL;
        sd_event_source_disable_unref(g->timer);
        free(g->conf.interface);
        free(g);
        return NULL;
}

bool endpoint_vip_garp_is_running(const endpoint_vip_garp *g) {
        return g && !g->done;
}
