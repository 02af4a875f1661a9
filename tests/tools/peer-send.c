/* peer-send: sends one peer-protocol frame (lib/core/peer-proto.h, payloads of peer-payload.h) to a
 * sentinel's listen address over TCP, as a peer or an attacker would, for the partition and peer tests
 * (tests/netns/test-partition.sh, tests/integration/test-peers-settled.sh): a frame signed with a
 * wrong key (forged), one from an old boot or with an old sequence number (replayed), a vote request
 * in an epoch the receiver already voted in, or what a stopped sentinel would have said (a HELLO with
 * a higher epoch, an OPINION with its settled_epoch).
 *
 *   peer-send --to HOST:PORT --key-file FILE --sender NAME --boot-time USEC [--nonce N] [--seq N]
 *             config CLUSTER EPOCH PRIMARY
 *   peer-send ... [--kind KIND] vote-request CLUSTER EPOCH PRIMARY
 *   peer-send ... hello EPOCH [ZONE]
 *   peer-send ... opinion CLUSTER PRIMARY CONFIG_EPOCH SETTLED_EPOCH
 *
 * The key file is read as the daemon reads peer_secret_file (secret_read_file(): mode 0600, one
 * trailing newline stripped). --boot-time is the sender's boot_time_usec (a sentinel keeps its
 * current one in state_dir/boot); --nonce defaults to 0, the lowest, so the frame counts as an older
 * boot than the sender's real one at the same time; --seq defaults to 1. The receiver accepts a frame
 * of a boot newer than the newest it accepted from that sender (a higher boot time, or the same one
 * and a higher nonce) and, within one boot, only increasing seqs: to send several frames as a stopped
 * sentinel, give its boot time + 1 (nonce 0) and seq 1, 2, 3...
 *
 * --kind is the vote request's kind: "failover" (the default; the voter must see the primary ODOWN
 * itself), "switchover" or "forced" (an operator's run: granted without ODOWN).
 *
 * hello: {"zone", "epoch", "version"}, the sender's highest known epoch; ZONE defaults to the sender's
 * name, version is "peer-send".
 *
 * opinion: one cluster entry, CLUSTER with PRIMARY ("-" for null) in CONFIG_EPOCH (a committed
 * configuration: pending false), the sender settled up to SETTLED_EPOCH, and seeing nothing else: sdown
 * false, last_ok_ms_ago null, evidence 0, confirms false, self_fenced false. Its ping is the --seq, its
 * pong null (it answers no ping of the receiver, so it can never count as a confirmation).
 *
 * Every payload is built as JSON here and checked with peer_payload_check(), with every key the
 * current payload has ("kind" and "settled_epoch" too), so the tool does not depend on the builders'
 * signatures.
 *
 * Exit: 0 sent, 1 failed (reason on stderr), 2 usage. Whether the receiver accepted the frame is for
 * the caller to see (its log, status and audit log): nothing is read back. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostport.h"
#include "macro.h"
#include "peer-payload.h"
#include "peer-proto.h"
#include "secret.h"

#define EXIT_USAGE      2
#define CONNECT_TIMEOUT 2000 /* ms */

static void usage(void) {
        fprintf(stderr,
                "usage: peer-send --to HOST:PORT --key-file FILE --sender NAME --boot-time USEC [--nonce N] "
                "[--seq N]\n"
                "                 config CLUSTER EPOCH PRIMARY\n"
                "       peer-send ... [--kind failover|switchover|forced] vote-request CLUSTER EPOCH "
                "PRIMARY\n"
                "       peer-send ... hello EPOCH [ZONE]\n"
                "       peer-send ... opinion CLUSTER PRIMARY|- CONFIG_EPOCH SETTLED_EPOCH\n");
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end = NULL;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || !end || end == s || *end != '\0' || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Checks j as a payload of type: *ret takes it on success, else it is freed. */
static int payload_checked(peer_msg_type type, json_object *j, json_object **ret) {
        int r;

        if (!j)
                return -ENOMEM;
        r = peer_payload_check(type, j);
        if (r < 0) {
                json_object_put(j);
                return r;
        }
        *ret = j;
        return 0;
}

/* The payload of a vote request with every key the protocol knows, checked by the payload parser. */
static int vote_request_payload(
        const char *cluster, uint64_t epoch, const char *primary, const char *kind, json_object **ret) {
        json_object *j = json_object_new_object();

        if (j) {
                json_object_object_add(j, "cluster", json_object_new_string(cluster));
                json_object_object_add(j, "epoch", json_object_new_uint64(epoch));
                json_object_object_add(j, "primary", json_object_new_string(primary));
                json_object_object_add(j, "kind", json_object_new_string(kind));
        }
        return payload_checked(PEER_MSG_VOTE_REQUEST, j, ret);
}

/* A HELLO: the sender's zone and the highest epoch it knows. */
static int hello_payload(const char *zone, uint64_t epoch, json_object **ret) {
        json_object *j = json_object_new_object();

        if (j) {
                json_object_object_add(j, "zone", json_object_new_string(zone));
                json_object_object_add(j, "epoch", json_object_new_uint64(epoch));
                json_object_object_add(j, "version", json_object_new_string("peer-send"));
        }
        return payload_checked(PEER_MSG_HELLO, j, ret);
}

/* An OPINION about one cluster (see the top): primary NULL is null. */
static int opinion_payload(uint64_t ping, const char *cluster, const char *primary, uint64_t config_epoch,
        uint64_t settled_epoch, json_object **ret) {
        json_object *j = json_object_new_object(), *a = json_object_new_array(),
                    *c = json_object_new_object();

        if (!j || !a || !c) {
                json_object_put(j);
                json_object_put(a);
                json_object_put(c);
                return -ENOMEM;
        }
        json_object_object_add(c, "name", json_object_new_string(cluster));
        json_object_object_add(c, "primary", primary ? json_object_new_string(primary) : NULL);
        json_object_object_add(c, "sdown", json_object_new_boolean(false));
        json_object_object_add(c, "last_ok_ms_ago", NULL);
        json_object_object_add(c, "evidence", json_object_new_uint64(0));
        json_object_object_add(c, "config_epoch", json_object_new_uint64(config_epoch));
        json_object_object_add(c, "pending", json_object_new_boolean(false));
        json_object_object_add(c, "confirms", json_object_new_boolean(false));
        json_object_object_add(c, "self_fenced", json_object_new_boolean(false));
        json_object_object_add(c, "settled_epoch", json_object_new_uint64(settled_epoch));
        json_object_array_add(a, c);
        json_object_object_add(j, "ping", json_object_new_uint64(ping));
        json_object_object_add(j, "pong", NULL);
        json_object_object_add(j, "clusters", a);
        return payload_checked(PEER_MSG_OPINION, j, ret);
}

/* A TCP connection to hp (an IP literal), bounded by CONNECT_TIMEOUT. */
static int connect_to(const hostport *hp) {
        struct sockaddr_storage ss = {};
        socklen_t sl;
        int fd, r, err = 0;
        socklen_t el = sizeof(err);

        if (hp->family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                in->sin_family = AF_INET;
                in->sin_port = htons(hp->port);
                if (inet_pton(AF_INET, hp->host, &in->sin_addr) != 1)
                        return -EINVAL;
                sl = sizeof(*in);
        } else if (hp->family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(hp->port);
                if (inet_pton(AF_INET6, hp->host, &in6->sin6_addr) != 1)
                        return -EINVAL;
                sl = sizeof(*in6);
        } else
                return -EINVAL;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &ss, sl) < 0 && errno != EINPROGRESS) {
                r = -errno;
                close(fd);
                return r;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        r = poll(&p, 1, CONNECT_TIMEOUT);
        if (r <= 0) {
                close(fd);
                return r == 0 ? -ETIMEDOUT : -errno;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
                r = err ? -err : -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Writes all of buf to the non-blocking fd, bounded by CONNECT_TIMEOUT per wait. */
static int write_all(int fd, const uint8_t *buf, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd p = {.fd = fd, .events = POLLOUT};
                        if (poll(&p, 1, CONNECT_TIMEOUT) <= 0)
                                return -ETIMEDOUT;
                        continue;
                }
                if (n < 0)
                        return -errno;
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"to", required_argument, NULL, 't'},
                {"key-file", required_argument, NULL, 'k'},
                {"sender", required_argument, NULL, 's'},
                {"boot-time", required_argument, NULL, 'b'},
                {"nonce", required_argument, NULL, 'n'},
                {"seq", required_argument, NULL, 'q'},
                {"kind", required_argument, NULL, 'K'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *to = NULL, *key_file = NULL, *sender = NULL, *kind = NULL, *err = NULL;
        uint64_t boot = 0, nonce = 0, seq = 1, epoch = 0, settled = 0;
        bool have_boot = false;
        _cleanup_free_ uint8_t *frame = NULL;
        _cleanup_free_ char *key_err = NULL;
        hostport hp = {};
        secret key = {};
        json_object *payload = NULL;
        peer_msg m = {};
        size_t len = 0;
        int c, r, fd;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 't':
                        to = optarg;
                        break;
                case 'k':
                        key_file = optarg;
                        break;
                case 's':
                        sender = optarg;
                        break;
                case 'b':
                        if (parse_u64(optarg, &boot) < 0) {
                                fprintf(stderr, "peer-send: bad --boot-time '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        have_boot = true;
                        break;
                case 'n':
                        if (parse_u64(optarg, &nonce) < 0) {
                                fprintf(stderr, "peer-send: bad --nonce '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'q':
                        if (parse_u64(optarg, &seq) < 0) {
                                fprintf(stderr, "peer-send: bad --seq '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'K':
                        if (!peer_vote_kind_is_valid(optarg)) {
                                fprintf(stderr,
                                        "peer-send: bad --kind '%s' (failover, switchover, forced)\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        kind = optarg;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return EXIT_USAGE;
                }
        }
        /* The verb and its arguments: CLUSTER EPOCH PRIMARY, EPOCH [ZONE], or CLUSTER PRIMARY CONFIG_EPOCH
         * SETTLED_EPOCH. */
        const char *what = optind < argc ? argv[optind] : "", **arg = (const char **) argv + optind + 1;
        int n_args = argc - optind - 1;
        bool args_ok;
        if (streq(what, "config") || streq(what, "vote-request"))
                args_ok = n_args == 3 && parse_u64(arg[1], &epoch) >= 0;
        else if (streq(what, "hello"))
                args_ok = (n_args == 1 || n_args == 2) && parse_u64(arg[0], &epoch) >= 0;
        else if (streq(what, "opinion"))
                args_ok = n_args == 4 && parse_u64(arg[2], &epoch) >= 0 && parse_u64(arg[3], &settled) >= 0;
        else
                args_ok = false;
        if (!to || !key_file || !sender || !have_boot || !args_ok) {
                usage();
                return EXIT_USAGE;
        }
        if (kind && !streq(what, "vote-request")) {
                fprintf(stderr, "peer-send: --kind is for vote-request only\n");
                return EXIT_USAGE;
        }
        if (!peer_name_is_valid(sender)) {
                fprintf(stderr, "peer-send: invalid sender name '%s'\n", sender);
                return EXIT_USAGE;
        }
        if (hostport_parse(to, 0, &hp, &err) < 0 || hp.family == AF_UNSPEC) {
                fprintf(stderr, "peer-send: --to '%s': %s\n", to, err ? err : "not an IP literal and port");
                hostport_done(&hp);
                return EXIT_USAGE;
        }

        if (streq(what, "config")) {
                m.type = PEER_MSG_CONFIG;
                r = peer_config_build(arg[0], epoch, arg[2], &payload);
                if (r >= 0)
                        r = payload_checked(m.type, payload, &payload);
        } else if (streq(what, "vote-request")) {
                m.type = PEER_MSG_VOTE_REQUEST;
                r = vote_request_payload(arg[0], epoch, arg[2], kind ?: PEER_VOTE_KIND_FAILOVER, &payload);
        } else if (streq(what, "hello")) {
                m.type = PEER_MSG_HELLO;
                r = hello_payload(n_args == 2 ? arg[1] : sender, epoch, &payload);
        } else {
                m.type = PEER_MSG_OPINION;
                r = opinion_payload(
                        seq, arg[0], streq(arg[1], "-") ? NULL : arg[1], epoch, settled, &payload);
        }
        if (r < 0) {
                fprintf(stderr, "peer-send: cannot build the %s payload: %s\n", what, strerror(-r));
                hostport_done(&hp);
                return 1;
        }

        r = secret_read_file(key_file, &key, &key_err);
        if (r < 0) {
                fprintf(stderr, "peer-send: %s\n", key_err ? key_err : strerror(-r));
                json_object_put(payload);
                hostport_done(&hp);
                return 1;
        }
        snprintf(m.sender, sizeof(m.sender), "%s", sender);
        m.boot_time_usec = boot;
        m.boot_nonce = nonce;
        m.seq = seq;
        m.payload = payload;
        r = peer_msg_encode(&m, key.data, key.size, &frame, &len);
        secret_done(&key);
        json_object_put(payload);
        if (r < 0) {
                fprintf(stderr, "peer-send: cannot encode the frame: %s\n", strerror(-r));
                hostport_done(&hp);
                return 1;
        }

        fd = connect_to(&hp);
        if (fd < 0) {
                fprintf(stderr, "peer-send: cannot connect to %s: %s\n", to, strerror(-fd));
                hostport_done(&hp);
                return 1;
        }
        r = write_all(fd, frame, len);
        /* A little time for the receiver to read before the FIN, then a clean close. */
        if (r >= 0)
                usleep(100 * 1000);
        close(fd);
        hostport_done(&hp);
        if (r < 0) {
                fprintf(stderr, "peer-send: cannot send to %s: %s\n", to, strerror(-r));
                return 1;
        }
        printf("sent %s (%zu bytes) to %s as %s, boot %" PRIu64 " nonce %" PRIu64 " seq %" PRIu64 "\n", what,
                len, to, sender, boot, nonce, seq);
        return 0;
}
