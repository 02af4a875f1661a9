/* Unit tests for lib/io/peer-link.c: links in one process on one sd-event loop, talking over
 * 127.0.0.1 on ports the kernel picks, plus raw sockets playing broken or hostile peers. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "macro.h"
#include "peer-link.h"

#define MSEC    USEC_PER_MSEC
#define MAX_RAW 16

typedef struct node {
        peer_link *link;
        unsigned frames, bad, out_of_order;
        uint32_t next_seq;
        size_t bytes;
        struct sockaddr_storage from;
        unsigned up, down; /* on_peer calls */
        int last_error;
} node;

typedef struct test_ctx {
        sd_event *event;
        node a, b, c;
        int raw[MAX_RAW];
        unsigned ticks;
} test_ctx;

static test_ctx t;
static char loopback[] = "127.0.0.1";

static uint64_t now_usec(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Runs the loop until cond holds or timeout passes; evaluates to cond (evaluated once per turn). */
#define RUN_UNTIL(cond, timeout)                                                                            \
        ({                                                                                                  \
                uint64_t _end = now_usec() + (timeout);                                                     \
                bool _ok;                                                                                   \
                while (!(_ok = (cond)) && now_usec() < _end)                                                \
                        ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);                               \
                _ok;                                                                                        \
        })

static void run_for(uint64_t usec) {
        uint64_t end = now_usec() + usec;

        while (now_usec() < end)
                ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);
}

static void be32_write(uint8_t *p, uint32_t v) {
        p[0] = v >> 24;
        p[1] = v >> 16;
        p[2] = v >> 8;
        p[3] = v;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* A test frame: header, seq (u32), then bytes (seq + offset) & 0xff; n >= 4 payload bytes. */
static uint8_t *make_frame(uint32_t seq, size_t n) {
        uint8_t *f = malloc(PEER_LINK_HEADER_SIZE + n);

        ck_assert_ptr_nonnull(f);
        be32_write(f, (uint32_t) n);
        be32_write(f + 4, seq);
        for (size_t j = 8; j < PEER_LINK_HEADER_SIZE + n; j++)
                f[j] = (uint8_t) (seq + j);
        return f;
}

/* The seq of a test frame, or -1 when it is damaged. */
static int64_t frame_seq(const uint8_t *f, size_t len) {
        uint32_t seq;

        if (len < 8 || be32(f) != len - PEER_LINK_HEADER_SIZE)
                return -1;
        seq = be32(f + 4);
        for (size_t j = 8; j < len; j++)
                if (f[j] != (uint8_t) (seq + j))
                        return -1;
        return seq;
}

static void on_frame(peer_link *l, const uint8_t *frame, size_t len, const struct sockaddr *from, void *ud) {
        node *n = ud;
        int64_t seq = frame_seq(frame, len);

        n->frames++;
        n->bytes += len;
        memcpy(&n->from, from, sizeof(struct sockaddr_in));
        if (seq < 0) {
                n->bad++;
                return;
        }
        if ((uint32_t) seq != n->next_seq)
                n->out_of_order++;
        n->next_seq = (uint32_t) seq + 1;
}

static void on_peer(peer_link *l, size_t i, bool connected, int error, void *ud) {
        node *n = ud;

        if (connected) {
                n->up++;
                ck_assert_int_eq(error, 0);
        } else {
                n->down++;
                ck_assert_int_lt(error, 0);
        }
        n->last_error = error;
}

static const peer_link_callbacks callbacks = {on_frame, on_peer};

/* Starts n's link: listening on 127.0.0.1:listen_port unless it is negative (0: any port), dialing
 * 127.0.0.1 at each of the n_peers ports; p (may be NULL) supplies the other parameters. */
static void link_start(
        node *n, int listen_port, const uint16_t *ports, size_t n_peers, const peer_link_params *p) {
        peer_link_params params = p ? *p : (peer_link_params){};
        hostport listen = {
                .host = loopback, .port = (uint16_t) (listen_port < 0 ? 0 : listen_port), .family = AF_INET};
        peer_link_peer peers[4];
        static const char *const names[] = {"az-a", "az-b", "az-c", "az-d"};

        ck_assert_uint_le(n_peers, ELEMENTSOF(peers));
        for (size_t i = 0; i < n_peers; i++)
                peers[i] = (peer_link_peer){names[i], {loopback, ports[i], AF_INET}};
        params.listen = listen_port < 0 ? NULL : &listen;
        params.peers = peers;
        params.n_peers = n_peers;
        params.seed = 42;
        ck_assert_int_eq(peer_link_new(t.event, &params, &callbacks, n, &n->link), 0);
        if (listen_port >= 0)
                ck_assert_uint_ne(peer_link_listen_port(n->link), 0);
}

static void link_stop(node *n) {
        n->link = peer_link_free(n->link);
}

static peer_link_peer_stats peer_stats(node *n, size_t i) {
        peer_link_stats s;

        peer_link_get_stats(n->link, &s);
        ck_assert_uint_gt(s.n_peers, i);
        return s.peers[i];
}

static peer_link_inbound_stats inbound_stats(node *n) {
        peer_link_stats s;

        peer_link_get_stats(n->link, &s);
        return s.inbound;
}

static int raw_add(int fd) {
        for (size_t i = 0; i < MAX_RAW; i++)
                if (t.raw[i] < 0) {
                        t.raw[i] = fd;
                        return fd;
                }
        ck_abort_msg("too many raw sockets");
        return -1;
}

static void raw_close(int fd) {
        for (size_t i = 0; i < MAX_RAW; i++)
                if (t.raw[i] == fd)
                        t.raw[i] = -1;
        close(fd);
}

static struct sockaddr_in loopback_addr(uint16_t port) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sa;
}

static uint16_t local_port(int fd) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);

        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
        return ntohs(sa.sin_port);
}

/* A socket bound to 127.0.0.1:0, not listening: connects to its port are refused. */
static int raw_reserve(uint16_t *ret_port) {
        struct sockaddr_in sa = loopback_addr(0);
        int fd = raw_add(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        *ret_port = local_port(fd);
        return fd;
}

/* A non-blocking client connected (or connecting) to 127.0.0.1:port. */
static int raw_connect(uint16_t port) {
        struct sockaddr_in sa = loopback_addr(port);
        int fd = raw_add(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        int r;

        ck_assert_int_ge(fd, 0);
        r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        ck_assert(r == 0 || errno == EINPROGRESS);
        return fd;
}

/* Whether the other end closed fd (EOF or reset); reads and drops anything else. */
static bool raw_closed(int fd) {
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        return n == 0 || (n < 0 && errno != EAGAIN);
}

/* Sends all of data from a non-blocking socket, running the loop meanwhile. */
static void raw_send(int fd, const void *data, size_t len) {
        size_t off = 0;
        uint64_t end = now_usec() + 3 * USEC_PER_SEC;

        while (off < len) {
                ssize_t n = send(fd, (const uint8_t *) data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n > 0)
                        off += (size_t) n;
                else
                        ck_assert_int_eq(errno, EAGAIN);
                ck_assert_int_ge(sd_event_run(t.event, 0), 0);
                ck_assert_uint_lt(now_usec(), end);
        }
}

static void setup(void) {
        t = (test_ctx){};
        for (size_t i = 0; i < MAX_RAW; i++)
                t.raw[i] = -1;
        ck_assert_int_eq(sd_event_new(&t.event), 0);
}

static void teardown(void) {
        link_stop(&t.a);
        link_stop(&t.b);
        link_stop(&t.c);
        for (size_t i = 0; i < MAX_RAW; i++)
                if (t.raw[i] >= 0)
                        close(t.raw[i]);
        t.event = sd_event_unref(t.event);
}

/* ---- the frame splitter ---- */

START_TEST(test_frame_peek) {
        static const struct {
                uint8_t bytes[8];
                size_t len, max, want_len;
                int want;
        } cases[] = {
                {{0}, 0, 16, 0, 0},
                {{0, 0, 0}, 3, 16, 0, 0},
                {{0, 0, 0, 1}, 4, 16, 5, 0},
                {{0, 0, 0, 1, 'x'}, 5, 16, 5, 1},
                {{0, 0, 0, 1, 'x', 'y'}, 6, 16, 5, 1},
                {{0, 0, 0, 4, 1, 2, 3}, 7, 4, 8, 0},
                {{0, 0, 0, 4, 1, 2, 3, 4}, 8, 4, 8, 1},
                {{0, 0, 0, 5}, 4, 4, 0, -EMSGSIZE},
                {{0, 0, 0, 0}, 4, 16, 0, -EBADMSG},
                {{0x40, 0, 0, 0}, 4, 65536, 0, -EMSGSIZE},
                {{0xff, 0xff, 0xff, 0xff}, 4, UINT32_MAX, 4 + (size_t) UINT32_MAX, 0},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t got_len = 99;

                ck_assert_int_eq(peer_link_frame_peek(cases[i].bytes, cases[i].len, cases[i].max, &got_len),
                        cases[i].want);
                ck_assert_uint_eq(got_len, cases[i].want_len);
        }
        ck_assert_int_eq(peer_link_frame_peek((const uint8_t *) "\0\0\0\1x", 5, 1, NULL), 1);
}
END_TEST

/* A stream of frames cut into arbitrary chunks comes out whole and in order. */
START_TEST(test_frame_peek_stream) {
        enum { N = 300 };
        uint8_t *stream = NULL, *buf;
        size_t slen = 0, blen = 0, off = 0, got = 0;
        unsigned seed = 7;

        for (uint32_t i = 0; i < N; i++) {
                size_t n = 4 + (size_t) (rand_r(&seed) % (i % 50 == 0 ? 5000 : 40));
                uint8_t *f = make_frame(i, n);

                stream = realloc(stream, slen + 4 + n);
                ck_assert_ptr_nonnull(stream);
                memcpy(stream + slen, f, 4 + n);
                slen += 4 + n;
                free(f);
        }
        buf = malloc(slen);
        ck_assert_ptr_nonnull(buf);
        while (off < slen) {
                size_t chunk = 1 + (size_t) rand_r(&seed) % 700, flen;
                int r;

                if (chunk > slen - off)
                        chunk = slen - off;
                memcpy(buf + blen, stream + off, chunk);
                blen += chunk;
                off += chunk;
                size_t start = 0;
                while ((r = peer_link_frame_peek(buf + start, blen - start, 5004, &flen)) == 1) {
                        ck_assert_int_eq(frame_seq(buf + start, flen), got);
                        got++;
                        start += flen;
                }
                ck_assert_int_eq(r, 0);
                memmove(buf, buf + start, blen - start);
                blen -= start;
        }
        ck_assert_uint_eq(got, N);
        ck_assert_uint_eq(blen, 0);
        free(stream);
        free(buf);
}
END_TEST

/* ---- links ---- */

START_TEST(test_send_receive) {
        uint16_t port;
        uint8_t *f = make_frame(0, 10);
        peer_link_peer_stats ps;
        peer_link_inbound_stats is;

        link_start(&t.b, 0, NULL, 0, NULL);
        port = peer_link_listen_port(t.b.link);
        link_start(&t.a, -1, &port, 1, NULL);
        ck_assert_str_eq(peer_link_peer_name(t.a.link, 0), "az-a");
        ck_assert_ptr_null(peer_link_peer_name(t.a.link, 1));
        ck_assert_uint_eq(peer_link_listen_port(t.a.link), 0);

        /* Not connected yet: refused, not queued. Bad frames and indexes. */
        ck_assert(!peer_link_connected(t.a.link, 0));
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 14), -ENOTCONN);
        ck_assert_int_eq(peer_link_send(t.a.link, 1, f, 14), -EINVAL);
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 13), -EINVAL);
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 4), -EINVAL);
        ck_assert_int_eq(peer_link_broadcast(t.a.link, f, 13), -EINVAL);
        free(f);
        f = make_frame(0, PEER_LINK_MAX_FRAME_DEFAULT + 1);
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, PEER_LINK_MAX_FRAME_DEFAULT + 5), -EMSGSIZE);
        free(f);

        ck_assert(RUN_UNTIL(t.a.up == 1, 2 * USEC_PER_SEC));
        ck_assert(peer_link_connected(t.a.link, 0));

        /* Many small frames, one of the largest size, a few more. */
        for (uint32_t i = 0; i < 1000; i++) {
                f = make_frame(i, 4 + i % 60);
                ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 8 + i % 60), 0);
                free(f);
        }
        f = make_frame(1000, PEER_LINK_MAX_FRAME_DEFAULT);
        ck_assert_int_eq(
                peer_link_send(t.a.link, 0, f, PEER_LINK_HEADER_SIZE + PEER_LINK_MAX_FRAME_DEFAULT), 0);
        free(f);
        for (uint32_t i = 1001; i < 1011; i++) {
                f = make_frame(i, 100);
                ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 104), 0);
                free(f);
        }
        ck_assert(RUN_UNTIL(t.b.frames == 1011, 3 * USEC_PER_SEC));
        run_for(20 * MSEC);
        ck_assert_uint_eq(t.b.frames, 1011);
        ck_assert_uint_eq(t.b.bad, 0);
        ck_assert_uint_eq(t.b.out_of_order, 0);
        ck_assert_uint_eq(((struct sockaddr_in *) &t.b.from)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));

        ps = peer_stats(&t.a, 0);
        ck_assert_uint_eq(ps.connects, 1);
        ck_assert_uint_eq(ps.frames_sent, 1011);
        ck_assert_uint_eq(ps.bytes_sent, t.b.bytes);
        ck_assert_uint_eq(ps.frames_dropped, 0);
        ck_assert_uint_eq(ps.queued_frames, 0);
        ck_assert_uint_eq(ps.queued_bytes, 0);
        ck_assert_int_eq(ps.last_error, 0);
        is = inbound_stats(&t.b);
        ck_assert_uint_eq(is.accepted, 1);
        ck_assert_uint_eq(is.current, 1);
        ck_assert_uint_eq(is.frames_received, 1011);
        ck_assert_uint_eq(is.bytes_received, t.b.bytes);
        ck_assert_uint_eq(is.oversized, 0);
        ck_assert_uint_eq(t.a.frames, 0); /* nothing comes back on an outbound connection */
}
END_TEST

/* A raw client writes frames in odd-sized pieces; the link reassembles them. */
START_TEST(test_split_reads) {
        enum { N = 200 };
        uint8_t *stream = NULL;
        size_t slen = 0, off = 0;
        unsigned seed = 3;
        int fd;

        link_start(&t.b, 0, NULL, 0, NULL);
        fd = raw_connect(peer_link_listen_port(t.b.link));
        for (uint32_t i = 0; i < N; i++) {
                size_t n = i == 100 ? PEER_LINK_MAX_FRAME_DEFAULT : 4 + (size_t) (rand_r(&seed) % 300);
                uint8_t *f = make_frame(i, n);

                stream = realloc(stream, slen + 4 + n);
                ck_assert_ptr_nonnull(stream);
                memcpy(stream + slen, f, 4 + n);
                slen += 4 + n;
                free(f);
        }
        while (off < slen) {
                size_t chunk = rand_r(&seed) % 4 == 0 ? 1 + rand_r(&seed) % 3 : 1 + rand_r(&seed) % 9000;

                if (chunk > slen - off)
                        chunk = slen - off;
                raw_send(fd, stream + off, chunk);
                off += chunk;
                ck_assert_int_ge(sd_event_run(t.event, 0), 0);
        }
        free(stream);
        ck_assert(RUN_UNTIL(t.b.frames == N, 3 * USEC_PER_SEC));
        ck_assert_uint_eq(t.b.bad, 0);
        ck_assert_uint_eq(t.b.out_of_order, 0);
        ck_assert_uint_eq(ntohs(((struct sockaddr_in *) &t.b.from)->sin_port), local_port(fd));
        ck_assert(!raw_closed(fd));
}
END_TEST

/* Nobody listens yet: the link retries with backoff and connects once the peer appears. */
START_TEST(test_retry_until_listening) {
        peer_link_params p = {.reconnect_min_usec = 20 * MSEC, .reconnect_max_usec = 200 * MSEC};
        peer_link_peer_stats ps;
        uint16_t port;
        int reserved = raw_reserve(&port);
        uint8_t *f;

        link_start(&t.a, -1, &port, 1, &p);
        run_for(500 * MSEC);
        ps = peer_stats(&t.a, 0);
        ck_assert(!peer_link_connected(t.a.link, 0));
        /* 20, 40, 80, 160, 200... (+-20%): about 5 attempts in 500 ms, not dozens. */
        ck_assert_uint_ge(ps.connect_failures, 3);
        ck_assert_uint_le(ps.connect_failures, 8);
        ck_assert_int_eq(ps.last_error, -ECONNREFUSED);
        ck_assert_uint_eq(ps.connects, 0);
        ck_assert_uint_eq(t.a.up + t.a.down, 0); /* failed attempts are not state changes */

        raw_close(reserved);
        link_start(&t.b, port, NULL, 0, NULL);
        ck_assert(RUN_UNTIL(t.a.up == 1, 1 * USEC_PER_SEC));
        f = make_frame(0, 20);
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 24), 0);
        free(f);
        ck_assert(RUN_UNTIL(t.b.frames == 1, 1 * USEC_PER_SEC));
        ck_assert_uint_eq(t.b.bad, 0);
}
END_TEST

/* The peer goes away mid-stream: on_peer(false), frames refused, reconnect when it is back. */
START_TEST(test_peer_freed) {
        peer_link_params p = {.reconnect_min_usec = 20 * MSEC, .reconnect_max_usec = 200 * MSEC};
        peer_link_peer_stats ps;
        uint16_t port;
        uint8_t *f;
        uint32_t seq = 0;

        link_start(&t.b, 0, NULL, 0, NULL);
        port = peer_link_listen_port(t.b.link);
        link_start(&t.a, -1, &port, 1, &p);
        ck_assert(RUN_UNTIL(t.a.up == 1, 1 * USEC_PER_SEC));
        for (; seq < 2000; seq++) {
                f = make_frame(seq, 500);
                ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 504), 0);
                free(f);
                if (seq % 100 == 0)
                        ck_assert_int_ge(sd_event_run(t.event, 0), 0);
        }
        ck_assert_uint_gt(t.b.frames, 0);
        link_stop(&t.b); /* whatever it had not read yet makes its kernel reset the connection */

        ck_assert(RUN_UNTIL(t.a.down == 1, 2 * USEC_PER_SEC));
        ck_assert(!peer_link_connected(t.a.link, 0));
        ps = peer_stats(&t.a, 0);
        ck_assert_uint_eq(ps.disconnects, 1);
        ck_assert_int_lt(ps.last_error, 0);
        ck_assert_uint_eq(ps.queued_frames, 0);
        ck_assert_uint_eq(ps.frames_sent + ps.frames_dropped, 2000);
        f = make_frame(0, 20);
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 24), -ENOTCONN);
        ck_assert_int_eq(peer_link_broadcast(t.a.link, f, 24), 0);

        run_for(100 * MSEC); /* refused meanwhile */
        ck_assert_uint_ge(peer_stats(&t.a, 0).connect_failures, 1);
        t.b = (node){};
        link_start(&t.b, port, NULL, 0, NULL);
        ck_assert(RUN_UNTIL(t.a.up == 2, 1 * USEC_PER_SEC));
        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 24), 0);
        free(f);
        ck_assert(RUN_UNTIL(t.b.frames == 1, 1 * USEC_PER_SEC));
        ck_assert_uint_eq(t.b.out_of_order, 0);
        ck_assert_uint_eq(peer_stats(&t.a, 0).connects, 2);
}
END_TEST

/* A length of 1 GiB, of 0, or one byte over max_frame closes the connection; good frames before it
 * still arrive. */
START_TEST(test_bad_length) {
        static const uint8_t headers[][4] = {{0x40, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0x04, 0x01}};
        peer_link_params p = {.max_frame = 1024};
        uint8_t *f = make_frame(0, 30);

        link_start(&t.b, 0, NULL, 0, &p);
        for (size_t i = 0; i < ELEMENTSOF(headers); i++) {
                int fd = raw_connect(peer_link_listen_port(t.b.link));
                uint8_t buf[38];

                memcpy(buf, f, 34);
                memcpy(buf + 34, headers[i], 4);
                t.b.next_seq = 0;
                raw_send(fd, buf, sizeof(buf));
                ck_assert(RUN_UNTIL(raw_closed(fd), 1 * USEC_PER_SEC));
                ck_assert_uint_eq(t.b.frames, i + 1);
                ck_assert_uint_eq(inbound_stats(&t.b).oversized, i + 1);
                ck_assert_uint_eq(inbound_stats(&t.b).current, 0);
        }
        ck_assert_uint_eq(t.b.bad, 0);
        free(f);
}
END_TEST

/* A silent client is closed after idle_timeout; a trickling one is not; frames keep flowing. */
START_TEST(test_idle_timeout) {
        peer_link_params p = {.idle_timeout_usec = 300 * MSEC};
        uint8_t *f, *trickle = make_frame(77, 6);
        uint16_t port;
        uint64_t start, closed_at = 0, next_send = 0, next_byte;
        int silent, slow;
        unsigned sent = 0, trickled = 0;

        link_start(&t.b, 0, NULL, 0, &p);
        port = peer_link_listen_port(t.b.link);
        link_start(&t.a, -1, &port, 1, NULL);
        ck_assert(RUN_UNTIL(t.a.up == 1, 1 * USEC_PER_SEC));

        silent = raw_connect(port);
        slow = raw_connect(port);
        start = now_usec();
        next_byte = start;
        while (now_usec() < start + 1000 * MSEC) {
                uint64_t now = now_usec();

                if (now >= next_send) {
                        f = make_frame(sent, 40);
                        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 44), 0);
                        free(f);
                        sent++;
                        next_send = now + 20 * MSEC;
                }
                if (now >= next_byte && trickled < 10) {
                        ck_assert_int_eq(send(slow, trickle + trickled, 1, MSG_NOSIGNAL), 1);
                        trickled++;
                        next_byte = now + 90 * MSEC;
                }
                if (!closed_at && raw_closed(silent))
                        closed_at = now;
                ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);
        }
        ck_assert_uint_ne(closed_at, 0);
        ck_assert_uint_ge(closed_at - start, 250 * MSEC);
        ck_assert_uint_le(closed_at - start, 700 * MSEC);
        ck_assert(!raw_closed(slow));
        ck_assert_uint_eq(inbound_stats(&t.b).idle_closed, 1);
        ck_assert(RUN_UNTIL(t.b.frames >= sent + 1, 1 * USEC_PER_SEC)); /* A's frames and the trickled one */
        ck_assert_uint_eq(t.b.bad, 0);
        ck_assert_uint_ge(sent, 30);
        free(trickle);
}
END_TEST

static int on_tick(sd_event_source *s, uint64_t usec, void *ud) {
        t.ticks++;
        return sd_event_source_set_time(s, usec + 10 * MSEC);
}

/* Reads what fd has into *buf and checks the frames found: increasing seqs. */
static void raw_read_frames(int fd, uint8_t *buf, size_t *blen, size_t cap, unsigned *n, int64_t *last) {
        for (;;) {
                ssize_t k = recv(fd, buf + *blen, cap - *blen, MSG_DONTWAIT);
                size_t start = 0, flen;

                if (k < 0 && errno == EAGAIN)
                        return;
                ck_assert_int_gt(k, 0);
                *blen += (size_t) k;
                while (peer_link_frame_peek(buf + start, *blen - start, 1 << 20, &flen) == 1) {
                        int64_t seq = frame_seq(buf + start, flen);

                        ck_assert_int_gt(seq, *last);
                        *last = seq;
                        (*n)++;
                        start += flen;
                }
                memmove(buf, buf + start, *blen - start);
                *blen -= start;
        }
}

/* A peer that accepts but never reads: the oldest queued frames are dropped, send never blocks, the
 * loop and the other peer carry on. Once it reads, it gets a prefix, then the newest frames. */
START_TEST(test_slow_reader) {
        enum { PAYLOAD = 8192, QBYTES = 256 * 1024, QFRAMES = 32 };
        peer_link_params p = {.queue_bytes = QBYTES, .queue_frames = QFRAMES};
        struct sockaddr_in sa = loopback_addr(0);
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        peer_link_peer_stats ps;
        uint16_t ports[2];
        int lfd, sfd = -1, small = 4096;
        uint32_t seq = 0, bseq = 0;
        uint64_t start, max_send = 0;
        unsigned n_read = 0;
        int64_t last = -1;
        size_t blen = 0;
        uint8_t *buf;

        lfd = raw_add(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        ck_assert_int_eq(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(lfd, 4), 0);
        ports[0] = local_port(lfd);
        link_start(&t.b, 0, NULL, 0, NULL);
        ports[1] = peer_link_listen_port(t.b.link);
        link_start(&t.a, -1, ports, 2, &p);
        ck_assert(RUN_UNTIL(
                peer_link_connected(t.a.link, 0) && peer_link_connected(t.a.link, 1), 1 * USEC_PER_SEC));
        ck_assert(RUN_UNTIL(
                (sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0, 1 * USEC_PER_SEC));
        raw_add(sfd);
        ck_assert_int_eq(
                sd_event_add_time_relative(t.event, &tick, CLOCK_MONOTONIC, 10 * MSEC, 1000, on_tick, NULL),
                0);
        ck_assert_int_eq(sd_event_source_set_enabled(tick, SD_EVENT_ON), 0);

        start = now_usec();
        while (peer_stats(&t.a, 0).frames_dropped < 200) {
                uint8_t *f;

                ck_assert_msg(now_usec() < start + 2 * USEC_PER_SEC, "nothing dropped");
                for (int k = 0; k < 20; k++, seq++) {
                        uint64_t t0 = now_usec(), d;

                        f = make_frame(seq, PAYLOAD);
                        ck_assert_int_eq(peer_link_send(t.a.link, 0, f, 4 + PAYLOAD), 0);
                        free(f);
                        d = now_usec() - t0;
                        max_send = d > max_send ? d : max_send;
                }
                f = make_frame(bseq++, 16);
                ck_assert_int_eq(peer_link_send(t.a.link, 1, f, 20), 0);
                free(f);
                ck_assert_int_ge(sd_event_run(t.event, 1 * MSEC), 0);
        }
        run_for(100 * MSEC); /* the loop still runs its timers */
        ck_assert_uint_ge(t.ticks, (now_usec() - start) / (10 * MSEC) / 2);
        ck_assert_uint_lt(max_send, 50 * MSEC);
        ps = peer_stats(&t.a, 0);
        ck_assert_uint_le(ps.queued_frames, QFRAMES);
        ck_assert_uint_le(ps.queued_bytes, QBYTES);
        ck_assert_uint_ge(ps.queued_frames, QFRAMES - 2);
        ck_assert(peer_link_connected(t.a.link, 0));
        ck_assert(RUN_UNTIL(t.b.frames == bseq, 1 * USEC_PER_SEC)); /* the other peer was not held up */
        ck_assert_uint_eq(t.b.out_of_order + t.b.bad, 0);

        /* Now read: increasing seqs with a gap, ending with the newest frame. */
        buf = malloc(8 << 20);
        ck_assert_ptr_nonnull(buf);
        ck_assert(RUN_UNTIL(
                (raw_read_frames(sfd, buf, &blen, 8 << 20, &n_read, &last), last == (int64_t) seq - 1),
                3 * USEC_PER_SEC));
        free(buf);
        ps = peer_stats(&t.a, 0);
        ck_assert_uint_eq(ps.queued_frames, 0);
        ck_assert_uint_eq(n_read, seq - ps.frames_dropped);
        ck_assert_uint_eq(ps.frames_sent, n_read);
        ck_assert_uint_lt(n_read, seq);
}
END_TEST

/* One connection over max_inbound is accepted and closed at once. */
START_TEST(test_max_inbound) {
        peer_link_params p = {.max_inbound = 3};
        peer_link_inbound_stats is;
        uint16_t port;
        int fds[5];
        unsigned closed = 0;

        link_start(&t.b, 0, NULL, 0, &p);
        port = peer_link_listen_port(t.b.link);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = raw_connect(port);
                run_for(10 * MSEC);
        }
        run_for(50 * MSEC);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                closed += raw_closed(fds[i]);
        ck_assert_uint_eq(closed, 2);
        ck_assert(raw_closed(fds[3]) && raw_closed(fds[4]));
        is = inbound_stats(&t.b);
        ck_assert_uint_eq(is.accepted, 3);
        ck_assert_uint_eq(is.rejected, 2);
        ck_assert_uint_eq(is.current, 3);

        raw_close(fds[0]);
        ck_assert(RUN_UNTIL(inbound_stats(&t.b).current == 2, 1 * USEC_PER_SEC));
        fds[0] = raw_connect(port);
        run_for(50 * MSEC);
        ck_assert(!raw_closed(fds[0]));
        is = inbound_stats(&t.b);
        ck_assert_uint_eq(is.accepted, 4);
        ck_assert_uint_eq(is.current, 3);
}
END_TEST

/* Broadcast reaches the connected peers and skips the one that is not. */
START_TEST(test_broadcast) {
        uint16_t ports[3];
        uint8_t *f = make_frame(0, 12);

        link_start(&t.b, 0, NULL, 0, NULL);
        link_start(&t.c, 0, NULL, 0, NULL);
        ports[0] = peer_link_listen_port(t.b.link);
        raw_reserve(&ports[1]);
        ports[2] = peer_link_listen_port(t.c.link);
        link_start(&t.a, -1, ports, 3, NULL);
        ck_assert(RUN_UNTIL(t.a.up == 2, 1 * USEC_PER_SEC));
        ck_assert(!peer_link_connected(t.a.link, 1));
        ck_assert_int_eq(peer_link_broadcast(t.a.link, f, 16), 2);
        ck_assert(RUN_UNTIL(t.b.frames == 1 && t.c.frames == 1, 1 * USEC_PER_SEC));
        ck_assert_uint_ge(peer_stats(&t.a, 1).connect_failures, 1);
        free(f);
}
END_TEST

/* A connect that hangs (the listener's accept queue is full, so SYNs are dropped) is abandoned after
 * connect_timeout and retried. */
START_TEST(test_connect_timeout) {
        peer_link_params p = {.connect_timeout_usec = 150 * MSEC,
                .reconnect_min_usec = 20 * MSEC,
                .reconnect_max_usec = 40 * MSEC};
        struct sockaddr_in sa = loopback_addr(0);
        peer_link_peer_stats ps;
        uint16_t port;
        int lfd;

        lfd = raw_add(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(lfd, 0), 0);
        port = local_port(lfd);
        for (int i = 0; i < 3; i++)
                raw_connect(port);
        run_for(50 * MSEC);
        link_start(&t.a, -1, &port, 1, &p);
        run_for(600 * MSEC);
        ps = peer_stats(&t.a, 0);
        if (ps.connects > 0)
                return; /* this kernel took the connection after all: nothing to test here */
        ck_assert_uint_ge(ps.connect_failures, 2);
        ck_assert_int_eq(ps.last_error, -ETIMEDOUT);
}
END_TEST

/* A peer down long enough for the backoff to reach a second, then back: without news of it, it is
 * not dialed again for most of that second; peer_link_connect_now() dials it at once. */
START_TEST(test_connect_now_after_backoff) {
        peer_link_params p = {.reconnect_min_usec = 10 * MSEC, .reconnect_max_usec = 1280 * MSEC};
        peer_link_peer_stats ps;
        uint16_t port;
        int fd = raw_reserve(&port);
        uint64_t t0;

        link_start(&t.a, -1, &port, 1, &p);
        /* Failures 1 to 7 wait 10, 20... 640 ms (+-20%), the 8th 1280 ms: at least 1024. */
        ck_assert(RUN_UNTIL(peer_stats(&t.a, 0).connect_failures == 8, 5 * USEC_PER_SEC));
        ck_assert_int_eq(listen(fd, 8), 0);

        /* The control: back, but still waiting for the backoff 300 ms later. */
        run_for(300 * MSEC);
        ps = peer_stats(&t.a, 0);
        ck_assert(!peer_link_connected(t.a.link, 0));
        ck_assert_uint_eq(ps.connect_failures, 8);
        ck_assert_uint_eq(ps.connects, 0);
        ck_assert_uint_eq(ps.early_attempts, 0);

        t0 = now_usec();
        ck_assert_int_eq(peer_link_connect_now(t.a.link, 0), 1);
        ck_assert(!peer_link_connected(t.a.link, 0)); /* from the loop, never from the call */
        ck_assert_uint_eq(peer_stats(&t.a, 0).connect_failures, 8);
        ck_assert_int_eq(peer_link_connect_now(t.a.link, 0), 0); /* already due */
        ck_assert(RUN_UNTIL(t.a.up == 1, 200 * MSEC));
        ck_assert_uint_lt(now_usec() - t0, 200 * MSEC);
        ps = peer_stats(&t.a, 0);
        ck_assert_uint_eq(ps.connects, 1);
        ck_assert_uint_eq(ps.connect_failures, 8);
        ck_assert_uint_eq(ps.early_attempts, 1);
}
END_TEST

/* Connecting or connected, there is nothing to bring forward: no second connection. */
START_TEST(test_connect_now_noop) {
        peer_link_peer_stats ps;
        uint16_t port;

        link_start(&t.b, 0, NULL, 0, NULL);
        port = peer_link_listen_port(t.b.link);
        link_start(&t.a, -1, &port, 1, NULL);
        ck_assert_int_eq(peer_link_connect_now(t.a.link, 1), -EINVAL);
        ck_assert_int_eq(peer_link_connect_now(NULL, 0), -EINVAL);
        ck_assert_int_eq(peer_link_connect_now(t.a.link, 0), 0); /* the first attempt is due already */

        /* An iteration dispatches one source: the first attempt (b's listener has nothing yet). */
        ck_assert_int_gt(sd_event_run(t.event, 100 * MSEC), 0);
        ck_assert(!peer_link_connected(t.a.link, 0));
        ck_assert_uint_eq(peer_stats(&t.a, 0).connect_failures, 0);
        ck_assert_int_eq(peer_link_connect_now(t.a.link, 0), 0); /* connecting */

        ck_assert(RUN_UNTIL(t.a.up == 1, 1 * USEC_PER_SEC));
        for (int i = 0; i < 1000; i++)
                ck_assert_int_eq(peer_link_connect_now(t.a.link, 0), 0); /* connected */
        run_for(100 * MSEC);
        ck_assert(peer_link_connected(t.a.link, 0));
        ps = peer_stats(&t.a, 0);
        ck_assert_uint_eq(ps.connects, 1);
        ck_assert_uint_eq(ps.connect_failures, 0);
        ck_assert_uint_eq(ps.disconnects, 0);
        ck_assert_uint_eq(ps.early_attempts, 0);
        ck_assert_uint_eq(t.a.up, 1);
        ck_assert_uint_eq(t.a.down, 0);
        ck_assert_uint_eq(inbound_stats(&t.b).accepted, 1);
}
END_TEST

/* peer_link_connect_now() called in a tight loop against a peer that refuses: attempts come once per
 * reconnect_min (the backoff's own jitter allows 0.8 of it), not once per call. */
START_TEST(test_connect_now_flood) {
        peer_link_params p = {.reconnect_min_usec = 50 * MSEC};
        peer_link_peer_stats ps;
        uint64_t started = 0, calls = 0, end;
        uint16_t port;

        raw_reserve(&port);
        link_start(&t.a, -1, &port, 1, &p);
        end = now_usec() + 500 * MSEC;
        while (now_usec() < end) {
                int r = peer_link_connect_now(t.a.link, 0);

                ck_assert_int_ge(r, 0);
                started += (uint64_t) r;
                calls++;
                ck_assert_int_ge(sd_event_run(t.event, 0), 0);
        }
        ps = peer_stats(&t.a, 0);
        ck_assert(!peer_link_connected(t.a.link, 0));
        ck_assert_int_eq(ps.last_error, -ECONNREFUSED);
        ck_assert_uint_gt(calls, 1000);
        ck_assert_uint_eq(ps.early_attempts, started);
        /* Attempts at least 40 ms apart: 13 in 500 ms at most, early ones 10 at most. */
        ck_assert_uint_le(ps.connect_failures, 14);
        ck_assert_uint_le(ps.early_attempts, 11);
        /* ...and more than the backoff alone would make (0, 50, 150, 350 ms: 4). */
        ck_assert_uint_ge(ps.early_attempts, 2);
}
END_TEST

START_TEST(test_bad_params) {
        peer_link_peer peer = {"x", {loopback, 0, AF_INET}};
        peer_link_params p = {.peers = &peer, .n_peers = 1};
        char name[] = "db.example";
        peer_link *l = NULL;

        ck_assert_int_eq(peer_link_new(t.event, &p, &callbacks, NULL, &l), -EINVAL); /* port 0 */
        peer.address = (hostport){name, 1, AF_UNSPEC};
        ck_assert_int_eq(peer_link_new(t.event, &p, &callbacks, NULL, &l), -EINVAL); /* a name */
        p = (peer_link_params){.max_frame = 2048, .queue_bytes = 1024};
        ck_assert_int_eq(peer_link_new(t.event, &p, &callbacks, NULL, &l), -EINVAL);
        p = (peer_link_params){.reconnect_min_usec = 10, .reconnect_max_usec = 5};
        ck_assert_int_eq(peer_link_new(t.event, &p, &callbacks, NULL, &l), -EINVAL);
        ck_assert_ptr_null(l);
        p = (peer_link_params){};
        ck_assert_int_eq(peer_link_new(t.event, &p, NULL, NULL, &l), 0); /* nothing to do, but valid */
        ck_assert_ptr_null(peer_link_free(l));
        ck_assert_ptr_null(peer_link_free(NULL));
}
END_TEST

static Suite *peer_link_suite(void) {
        Suite *s = suite_create("peer-link");
        TCase *tc = tcase_create("peer-link");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_frame_peek);
        tcase_add_test(tc, test_frame_peek_stream);
        tcase_add_test(tc, test_send_receive);
        tcase_add_test(tc, test_split_reads);
        tcase_add_test(tc, test_retry_until_listening);
        tcase_add_test(tc, test_peer_freed);
        tcase_add_test(tc, test_bad_length);
        tcase_add_test(tc, test_idle_timeout);
        tcase_add_test(tc, test_slow_reader);
        tcase_add_test(tc, test_max_inbound);
        tcase_add_test(tc, test_broadcast);
        tcase_add_test(tc, test_connect_timeout);
        tcase_add_test(tc, test_connect_now_after_backoff);
        tcase_add_test(tc, test_connect_now_noop);
        tcase_add_test(tc, test_connect_now_flood);
        tcase_add_test(tc, test_bad_params);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(peer_link_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
