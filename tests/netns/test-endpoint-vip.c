/* The vip endpoint (lib/io/endpoint-vip.c) in real network namespaces, set up and torn down by
 * test-endpoint-vip.sh: namespaces A and B joined by the veth pair vethA (in A) / vethB (in B) with
 * known MACs, A = 10.200.77.1/24 + fd00:200:77::1/64, B = .2 / ::2. Runs in A (ip netns exec) and
 * enters B with setns() for the move scenario and for its ARP capture socket.
 *
 * What the neighbours see is checked without tcpdump: B's (or A's) neighbour table through
 * `ip -n NS neigh`, after planting a stale entry for the VIP that points at 02:00:00:00:00:99, and the
 * ARP frames themselves through an AF_PACKET socket opened in B.
 *
 * Environment: VIP_TEST_NS_A, VIP_TEST_NS_B (namespace names), VIP_TEST_MAC_A, VIP_TEST_MAC_B. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h> /* before the <linux/> headers, which defer to it */
#include <linux/capability.h>
#include <linux/if_arp.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "endpoint-vip.h"
#include "hostport.h"
#include "macro.h"

#define BOGUS_MAC "02:00:00:00:00:99"
#define VIP4      "10.200.77.100/24"
#define VIP6      "fd00:200:77::100/64"

static const char *ns_a, *ns_b, *mac_a, *mac_b;
static unsigned n_failed, n_checks;

_printf_(2, 3) static void check(bool ok, const char *fmt, ...) {
        va_list ap;

        n_checks++;
        printf("%s: ", ok ? "ok  " : "FAIL");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        if (!ok)
                n_failed++;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void enter_ns(const char *name) {
        char path[256];
        _cleanup_close_ int fd = -EBADF;

        snprintf(path, sizeof(path), "/run/netns/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
                fprintf(stderr, "cannot enter namespace %s: %m\n", name);
                exit(EXIT_FAILURE);
        }
}

/* The first line of a shell command's output (trailing newline removed); "" when none. */
_printf_(3, 4) static void run_line(char *out, size_t size, const char *fmt, ...) {
        char cmd[512];
        va_list ap;
        FILE *f;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        out[0] = '\0';
        f = popen(cmd, "re");
        if (!f) {
                fprintf(stderr, "popen %s: %m\n", cmd);
                exit(EXIT_FAILURE);
        }
        if (fgets(out, (int) size, f))
                out[strcspn(out, "\n")] = '\0';
        while (fgetc(f) != EOF)
                ;
        pclose(f);
}

/* How many lines of `ip -n NS -o addr show dev IF` contain the address (with its prefix). */
static int ip_addr_count(const char *ns, const char *ifname, const char *prefix) {
        char out[64];

        run_line(out, sizeof(out), "ip -n %s -o addr show dev %s | grep -c -F ' %s '", ns, ifname, prefix);
        return atoi(out);
}

/* The lladdr of NS's neighbour entry for addr on ifname, polled for up to a second until it is want. */
static bool neigh_becomes(
        const char *ns, const char *ifname, const char *addr, const char *want, char *got, size_t size) {
        for (int i = 0; i < 100; i++) {
                run_line(got, size,
                        "ip -n %s neigh show to %s dev %s | sed -n 's/.*lladdr \\([0-9a-f:]*\\).*/\\1/p'",
                        ns, addr, ifname);
                if (streq(got, want))
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

static void neigh_plant(const char *ns, const char *ifname, const char *addr) {
        char out[256];

        run_line(out, sizeof(out), "ip -n %s neigh replace %s lladdr " BOGUS_MAC " dev %s nud stale 2>&1",
                ns, addr, ifname);
        check(out[0] == '\0', "plant stale %s -> " BOGUS_MAC " in %s %s", addr, ns, out);
        run_line(out, sizeof(out), "ip -n %s neigh show to %s dev %s", ns, addr, ifname);
        check(strstr(out, BOGUS_MAC) && strstr(out, "STALE"), "%s neigh before: %s", ns, out);
}

static vip_endpoint_conf conf_of(const char *prefix, const char *ifname) {
        vip_endpoint_conf c = {.interface = (char *) ifname};
        const char *error = NULL;

        if (ip_prefix_parse(prefix, &c.address, &error) < 0) {
                fprintf(stderr, "bad prefix %s: %s\n", prefix, error);
                exit(EXIT_FAILURE);
        }
        return c;
}

/* An ARP capture socket on vethB, opened inside B. */
static int capture_open(void) {
        int fd;
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP)};

        enter_ns(ns_b);
        fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
        sll.sll_ifindex = (int) if_nametoindex("vethB");
        if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *) &sll, sizeof(sll)) < 0) {
                fprintf(stderr, "capture socket: %m\n");
                exit(EXIT_FAILURE);
        }
        enter_ns(ns_a);
        return fd;
}

typedef struct arp_seen {
        unsigned requests, replies, bad;
} arp_seen;

/* Drains the capture socket, counting incoming gratuitous ARPs for vip from mac (fields as documented). */
static arp_seen capture_drain(int fd, const vip_endpoint_conf *vip, const char *mac) {
        arp_seen seen = {};
        uint8_t want_mac[6];

        sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &want_mac[0], &want_mac[1], &want_mac[2], &want_mac[3],
                &want_mac[4], &want_mac[5]);
        for (;;) {
                struct {
                        struct arphdr h;
                        uint8_t sha[6], spa[4], tha[6], tpa[4];
                } __attribute__((packed)) p;
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                ssize_t n = recvfrom(fd, &p, sizeof(p), 0, (struct sockaddr *) &from, &fl);
                if (n < 0)
                        break;
                if (from.sll_pkttype == PACKET_OUTGOING)
                        continue;
                bool ok = (size_t) n == sizeof(p) && from.sll_pkttype == PACKET_BROADCAST &&
                          ntohs(p.h.ar_hrd) == ARPHRD_ETHER && ntohs(p.h.ar_pro) == 0x0800 &&
                          memcmp(p.sha, want_mac, 6) == 0 && memcmp(p.spa, &vip->address.addr.in, 4) == 0 &&
                          memcmp(p.tpa, &vip->address.addr.in, 4) == 0;
                if (ok && ntohs(p.h.ar_op) == ARPOP_REQUEST && memcmp(p.tha, "\0\0\0\0\0\0", 6) == 0)
                        seen.requests++;
                else if (ok && ntohs(p.h.ar_op) == ARPOP_REPLY && memcmp(p.tha, want_mac, 6) == 0)
                        seen.replies++;
                else
                        seen.bad++;
        }
        return seen;
}

typedef struct garp_outcome {
        bool called;
        int r;
        unsigned sent;
        uint64_t at;
} garp_outcome;

static void garp_done(endpoint_vip_garp *g, int r, unsigned sent, const char *message, void *userdata) {
        garp_outcome *o = userdata;

        o->called = true;
        o->r = r;
        o->sent = sent;
        o->at = now_usec();
        printf("      garp helper: %s\n", message);
        endpoint_vip_garp_free(g);
}

/* Runs the sd-event helper: count announcements interval apart; returns the outcome and the elapsed time. */
static garp_outcome garp_run(
        const vip_endpoint_conf *vip, unsigned count, uint64_t interval, uint64_t *elapsed) {
        sd_event *e = NULL;
        endpoint_vip_garp *g = NULL;
        garp_outcome o = {};
        uint64_t t0 = now_usec();
        int r;

        r = sd_event_new(&e);
        if (r >= 0)
                r = endpoint_vip_garp_start(e, vip, count, interval, garp_done, &o, &g);
        check(r == 0, "endpoint_vip_garp_start(count %u, %llu ms) = %d", count,
                (unsigned long long) (interval / USEC_PER_MSEC), r);
        check(endpoint_vip_garp_is_running(g), "helper running before the loop");
        for (int i = 0; r >= 0 && !o.called && i < 1000; i++)
                r = sd_event_run(e, 100 * USEC_PER_MSEC);
        *elapsed = o.at - t0;
        sd_event_unref(e);
        return o;
}

/* add, idempotent add, presence, GARP/NA effect on B's neighbour table, remove, idempotent remove. */
static void test_lifecycle(const char *prefix, int capture_fd) {
        vip_endpoint_conf vip = conf_of(prefix, "vethA");
        char addr[INET6_ADDRSTRLEN], msg[ENDPOINT_VIP_MESSAGE_MAX], got[64];
        bool v4 = vip.address.family == AF_INET;
        int r;

        inet_ntop(vip.address.family, &vip.address.addr, addr, sizeof(addr));
        printf("== lifecycle %s\n", prefix);

        r = endpoint_vip_present(&vip, msg, sizeof(msg));
        check(r == 0, "present before add = %d (%s)", r, msg);
        neigh_plant(ns_b, "vethB", addr);
        if (v4)
                capture_drain(capture_fd, &vip, mac_a);

        r = endpoint_vip_add(&vip, msg, sizeof(msg));
        check(r == 0, "add = %d (%s)", r, msg);
        check(ip_addr_count(ns_a, "vethA", prefix) == 1, "ip -n A addr shows %s once", prefix);
        r = endpoint_vip_present(&vip, msg, sizeof(msg));
        check(r == 1, "present after add = %d (%s)", r, msg);
        check(neigh_becomes(ns_b, "vethB", addr, mac_a, got, sizeof(got)),
                "B neigh %s: " BOGUS_MAC " -> %s (want %s)", addr, got, mac_a);
        if (v4) {
                arp_seen s = capture_drain(capture_fd, &vip, mac_a);
                check(s.requests == 1 && s.replies == 1 && s.bad == 0,
                        "B captured after add: %u GARP request, %u GARP reply, %u other", s.requests,
                        s.replies, s.bad);
        }

        r = endpoint_vip_add(&vip, msg, sizeof(msg));
        check(r == 0, "add again = %d (%s)", r, msg);
        check(ip_addr_count(ns_a, "vethA", prefix) == 1, "still exactly once in ip -n A addr");

        /* The spaced announcements on sd-event: 3 x 100 ms. */
        neigh_plant(ns_b, "vethB", addr);
        if (v4)
                capture_drain(capture_fd, &vip, mac_a);
        uint64_t elapsed;
        garp_outcome o = garp_run(&vip, 3, 100 * USEC_PER_MSEC, &elapsed);
        check(o.called && o.r == 0 && o.sent == 3, "helper: called %d r %d sent %u", o.called, o.r, o.sent);
        check(elapsed >= 200 * USEC_PER_MSEC && elapsed < 1000 * USEC_PER_MSEC,
                "helper took %llu ms (3 sends 100 ms apart: >= 200)",
                (unsigned long long) (elapsed / USEC_PER_MSEC));
        check(neigh_becomes(ns_b, "vethB", addr, mac_a, got, sizeof(got)),
                "B neigh %s -> %s after the helper", addr, got);
        if (v4) {
                arp_seen s = capture_drain(capture_fd, &vip, mac_a);
                check(s.requests == 3 && s.replies == 3 && s.bad == 0,
                        "B captured from the helper: %u requests, %u replies, %u other", s.requests,
                        s.replies, s.bad);
        }

        r = endpoint_vip_garp_send_one(&vip, msg, sizeof(msg));
        check(r == 0, "garp_send_one = %d (%s)", r, msg);

        r = endpoint_vip_remove(&vip, msg, sizeof(msg));
        check(r == 0, "remove = %d (%s)", r, msg);
        check(ip_addr_count(ns_a, "vethA", prefix) == 0, "ip -n A addr no longer shows %s", prefix);
        r = endpoint_vip_present(&vip, msg, sizeof(msg));
        check(r == 0, "present after remove = %d (%s)", r, msg);
        r = endpoint_vip_remove(&vip, msg, sizeof(msg));
        check(r == 0, "remove again = %d (%s)", r, msg);
}

/* The VIP moves A -> B -> A; each time the other side's stale entry follows. */
static void test_move(const char *prefix) {
        vip_endpoint_conf va = conf_of(prefix, "vethA"), vb = conf_of(prefix, "vethB");
        char addr[INET6_ADDRSTRLEN], msg[ENDPOINT_VIP_MESSAGE_MAX], got[64];
        int r;

        inet_ntop(va.address.family, &va.address.addr, addr, sizeof(addr));
        printf("== move %s\n", prefix);

        neigh_plant(ns_b, "vethB", addr);
        r = endpoint_vip_add(&va, msg, sizeof(msg));
        check(r == 0, "A: add = %d (%s)", r, msg);
        check(neigh_becomes(ns_b, "vethB", addr, mac_a, got, sizeof(got)), "B neigh -> %s (A)", got);

        r = endpoint_vip_remove(&va, msg, sizeof(msg));
        check(r == 0, "A: remove = %d (%s)", r, msg);
        neigh_plant(ns_a, "vethA", addr);
        enter_ns(ns_b);
        r = endpoint_vip_add(&vb, msg, sizeof(msg));
        check(r == 0, "B: add = %d (%s)", r, msg);
        check(endpoint_vip_present(&vb, NULL, 0) == 1, "B: present");
        enter_ns(ns_a);
        check(endpoint_vip_present(&va, NULL, 0) == 0, "A: not present");
        check(neigh_becomes(ns_a, "vethA", addr, mac_b, got, sizeof(got)), "A neigh -> %s (B, want %s)", got,
                mac_b);

        /* And back. */
        enter_ns(ns_b);
        r = endpoint_vip_remove(&vb, msg, sizeof(msg));
        check(r == 0, "B: remove = %d (%s)", r, msg);
        enter_ns(ns_a);
        run_line(got, sizeof(got), "ip -n %s neigh del %s dev vethA 2>&1", ns_a, addr);
        neigh_plant(ns_b, "vethB", addr);
        r = endpoint_vip_add(&va, msg, sizeof(msg));
        check(r == 0, "A: add back = %d (%s)", r, msg);
        check(neigh_becomes(ns_b, "vethB", addr, mac_a, got, sizeof(got)), "B neigh -> %s (A again)", got);
        r = endpoint_vip_remove(&va, msg, sizeof(msg));
        check(r == 0, "A: remove = %d", r);
}

static void test_errors(void) {
        vip_endpoint_conf bad = conf_of(VIP4, "nosuchif0"), vip = conf_of(VIP4, "vethA");
        vip_endpoint_conf longname = conf_of(VIP4, "an-interface-name-too-long");
        vip_endpoint_conf noif = conf_of(VIP4, "vethA");
        char msg[ENDPOINT_VIP_MESSAGE_MAX];
        int r;

        printf("== errors\n");
        r = endpoint_vip_add(&bad, msg, sizeof(msg));
        check(r == -ENODEV && strstr(msg, "nosuchif0"), "add on a missing interface = %d (%s)", r, msg);
        r = endpoint_vip_remove(&bad, msg, sizeof(msg));
        check(r == -ENODEV, "remove on a missing interface = %d (%s)", r, msg);
        r = endpoint_vip_present(&bad, msg, sizeof(msg));
        check(r == -ENODEV, "present on a missing interface = %d (%s)", r, msg);
        r = endpoint_vip_garp_send_one(&bad, NULL, 0);
        check(r == -ENODEV, "garp_send_one on a missing interface = %d", r);
        r = endpoint_vip_add(&longname, msg, sizeof(msg));
        check(r == -ENODEV, "add on an over-long interface name = %d (%s)", r, msg);

        noif.interface = NULL;
        check(endpoint_vip_add(&noif, msg, sizeof(msg)) == -EINVAL, "no interface: -EINVAL (%s)", msg);
        check(endpoint_vip_add(NULL, NULL, 0) == -EINVAL, "NULL conf: -EINVAL");
        noif = vip;
        noif.address.family = AF_UNSPEC;
        check(endpoint_vip_remove(&noif, NULL, 0) == -EINVAL, "bad family: -EINVAL");
        endpoint_vip_garp *g = NULL;
        check(endpoint_vip_garp_start(NULL, &vip, 3, 0, NULL, NULL, &g) == -EINVAL && !g,
                "garp_start NULL loop: -EINVAL");
        check(endpoint_vip_garp_free(NULL) == NULL, "garp_free(NULL)");
        check(!endpoint_vip_garp_is_running(NULL), "garp_is_running(NULL) false");

        /* Without CAP_NET_ADMIN and CAP_NET_RAW (dropped in a child): -EPERM and the drop-in hint. */
        pid_t pid = fork();
        if (pid == 0) {
                struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
                struct __user_cap_data_struct d[2] = {};
                if (syscall(SYS_capget, &h, d) < 0)
                        _exit(10);
                for (int i = 0; i < 2; i++) {
                        d[i].effective = 0;
                        d[i].permitted = 0;
                        d[i].inheritable = 0;
                }
                if (syscall(SYS_capset, &h, d) < 0)
                        _exit(11);
                r = endpoint_vip_add(&vip, msg, sizeof(msg));
                printf("      unprivileged add: %d (%s)\n", r, msg);
                if (r != -EPERM || !strstr(msg, "CAP_NET_ADMIN") || !strstr(msg, "drop-in"))
                        _exit(12);
                r = endpoint_vip_garp_send_one(&vip, msg, sizeof(msg));
                printf("      unprivileged garp: %d (%s)\n", r, msg);
                if (r != -EPERM || !strstr(msg, "CAP_NET_RAW"))
                        _exit(13);
                r = endpoint_vip_present(&vip, msg, sizeof(msg));
                if (r != 0)
                        _exit(14);
                fflush(stdout);
                _exit(0);
        }
        int status = -1;
        waitpid(pid, &status, 0);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "without capabilities: add -EPERM with the drop-in hint, "
                "garp -EPERM, present still works (child status %d)",
                status);
}

int main(void) {
        _cleanup_close_ int capture_fd = -EBADF;

        ns_a = getenv("VIP_TEST_NS_A");
        ns_b = getenv("VIP_TEST_NS_B");
        mac_a = getenv("VIP_TEST_MAC_A");
        mac_b = getenv("VIP_TEST_MAC_B");
        if (!ns_a || !ns_b || !mac_a || !mac_b) {
                fprintf(stderr, "run me from test-endpoint-vip.sh (VIP_TEST_NS_A, _NS_B, _MAC_A, _MAC_B)\n");
                return EXIT_FAILURE;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);

        capture_fd = capture_open();
        test_lifecycle(VIP4, capture_fd);
        test_lifecycle(VIP6, capture_fd);
        test_move(VIP4);
        test_move(VIP6);
        test_errors();

        printf("%u checks, %u failed\n", n_checks, n_failed);
        return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
