/* The `vip` endpoint (SPEC 3, issue 4): a virtual IP address that follows the primary. The sentinel
 * on the new primary's host adds it to the configured interface and announces it; the sentinel on
 * the old primary's host (where reachable) removes it.
 *
 * Address changes are rtnetlink requests (libmnl) on a NETLINK_ROUTE socket, one socket per call:
 *   add      RTM_NEWADDR with NLM_F_CREATE|NLM_F_REPLACE, so adding an address that is already
 *            there is success (and refreshes it). IPv6 addresses get IFA_F_NODAD: a VIP moves
 *            between hosts on purpose and must be usable (and announceable) at once.
 *   remove   RTM_DELADDR; an address that is not there (EADDRNOTAVAIL) is success.
 *   present  RTM_GETADDR dump, filtered here by interface, family, address and prefix length.
 * An address is identified by (interface, address, prefix length), as the kernel does for IPv4:
 * the same address with another prefix length is another address, neither present nor removed.
 *
 * Blocking, on purpose: these are calls into the local kernel that answer in microseconds, so they
 * are made with a blocking send/recv and SO_RCVTIMEO of ENDPOINT_VIP_NETLINK_TIMEOUT_USEC as a
 * bound (a timeout gives -ETIMEDOUT), rather than as a state machine on the event loop. The only
 * thing that needs time is the spacing of the announcements, which endpoint_vip_garp_start() does
 * on the caller's sd-event loop without blocking.
 *
 * Announcements, one per endpoint_vip_garp_send_one() (endpoint_vip_add() sends the first):
 *   IPv4  a gratuitous ARP request and a gratuitous ARP reply, both with sender IP = target IP = the
 *         VIP and sender MAC = the interface's, sent to ff:ff:ff:ff:ff:ff on an AF_PACKET SOCK_DGRAM
 *         socket (the request's target MAC is zero as in RFC 5227; the reply's is our own MAC, which
 *         Linux requires before it treats a reply as gratuitous). Neighbours that already have an
 *         entry for the VIP replace its MAC (Linux does so without arp_accept); neighbours without
 *         one learn nothing unless they set arp_accept, which is also why a stale entry elsewhere
 *         is the case that matters.
 *   IPv6  an unsolicited neighbour advertisement (RFC 4861 7.2.6): ICMPv6 type 136 from the VIP to
 *         ff02::1, hop limit 255, Override set, Solicited clear, with the target link-layer address
 *         option, on a raw ICMPv6 socket. The kernel itself sends none unless ndisc_notify is set.
 *   Interfaces with IFF_NOARP or without a 6-byte hardware address (loopback, tun, wireguard) get
 *   no announcement: there is no neighbour cache to update; that is success.
 *
 * Privileges: CAP_NET_ADMIN for the address, CAP_NET_RAW for the announcements. Without them the
 * calls fail with -EPERM, and the message says what systemd drop-in the SRE needs.
 *
 * Nothing here logs. Every call takes an optional message buffer (NULL: none) that gets one line, no
 * newline, for the caller to log or page: on success what was done, on failure what went wrong. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"

/* Bound of one netlink exchange (SO_RCVTIMEO). */
#define ENDPOINT_VIP_NETLINK_TIMEOUT_USEC (1000 * 1000ULL)
/* The announcements after an add, counting the one endpoint_vip_add() sends, and their spacing. */
#define ENDPOINT_VIP_GARP_COUNT_DEFAULT 3
#define ENDPOINT_VIP_GARP_INTERVAL_USEC (100 * 1000ULL)
/* Room for a message. */
#define ENDPOINT_VIP_MESSAGE_MAX 512

/* Adds conf's address to conf's interface (idempotent: already there is success) and sends the first
 * announcement. 0 when the address is configured and announced; -EINVAL for a missing or invalid
 * conf; -ENODEV when there is no such interface; -EPERM without CAP_NET_ADMIN / CAP_NET_RAW;
 * -ETIMEDOUT; or another negative errno from the kernel. When the address was added but the
 * announcement failed, the address stays and the message says so: calling again is safe. */
int endpoint_vip_add(const vip_endpoint_conf *conf, char *message, size_t message_size);

/* Removes conf's address from conf's interface (idempotent: absent is success). 0 when it is not
 * configured any more; -EINVAL, -ENODEV, -EPERM, -ETIMEDOUT or another negative errno otherwise. */
int endpoint_vip_remove(const vip_endpoint_conf *conf, char *message, size_t message_size);

/* Whether conf's address (with its prefix length) is configured on conf's interface: 1 yes, 0 no (an
 * IPv6 address whose duplicate address detection failed counts as no); -EINVAL, -ENODEV, -ETIMEDOUT or
 * another negative errno otherwise. Needs no privileges. */
int endpoint_vip_present(const vip_endpoint_conf *conf, char *message, size_t message_size);

/* Sends one announcement of conf's address on conf's interface (see above) without checking that the
 * address is configured. 0 when sent (or when the interface takes none); -EINVAL, -ENODEV, -EPERM
 * (no CAP_NET_RAW), -ENETDOWN (interface down), or another negative errno from the socket. */
int endpoint_vip_garp_send_one(const vip_endpoint_conf *conf, char *message, size_t message_size);

typedef struct endpoint_vip_garp endpoint_vip_garp;

/* Called once, from the event loop, after the last announcement or the first that failed: r is 0 or
 * that failure's negative errno, sent how many went out, message one line (valid during the call).
 * The handler may free g. */
typedef void (*endpoint_vip_garp_handler)(
        endpoint_vip_garp *g, int r, unsigned sent, const char *message, void *userdata);

/* Sends count announcements of conf's address interval_usec apart (0: ENDPOINT_VIP_GARP_INTERVAL_USEC),
 * the first one at once, on e's CLOCK_MONOTONIC timers; handler (may be NULL) gets the outcome,
 * always from the loop. After endpoint_vip_add(), which sent one, pass count - 1. conf is copied.
 * -EINVAL (conf invalid, count 0), -ENOMEM, or sd-event's negative errno. */
int endpoint_vip_garp_start(sd_event *e, const vip_endpoint_conf *conf, unsigned count,
        uint64_t interval_usec, endpoint_vip_garp_handler handler, void *userdata, endpoint_vip_garp **ret);

/* Stops the announcements (the handler is not called) and frees g. NULL-safe; returns NULL. */
endpoint_vip_garp *endpoint_vip_garp_free(endpoint_vip_garp *g);

static inline void endpoint_vip_garp_freep(endpoint_vip_garp **g) {
        endpoint_vip_garp_free(*g);
}

/* Whether the announcements are still going (the handler has not been called yet). */
bool endpoint_vip_garp_is_running(const endpoint_vip_garp *g);
