#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "peer-link-internal.h"

/* splitmix64: small, good enough for jitter, and reproducible from the seed. */
static uint64_t rng_next(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint32_t be32_read(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

int peer_link_frame_peek(const uint8_t *buf, size_t len, size_t max_frame, size_t *ret_len) {
        uint32_t n;

        if (ret_len)
                *ret_len = 0;
        if (len < PEER_LINK_HEADER_SIZE)
                return 0;
        n = be32_read(buf);
        if (n == 0)
                return -EBADMSG;
        if (n > max_frame)
                return -EMSGSIZE;
        if (ret_len)
                *ret_len = PEER_LINK_HEADER_SIZE + (size_t) n;
        return len >= PEER_LINK_HEADER_SIZE + (size_t) n;
}

/* An IP literal to a socket address; no lookup. */
int peer_link_sockaddr(
        const hostport *hp, bool allow_port_0, struct sockaddr_storage *ret, socklen_t *ret_len) {
        if (!hp || !hp->host || (hp->port == 0 && !allow_port_0))
                return -EINVAL;
        memset(ret, 0, sizeof(*ret));
        if (hp->family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *) ret;

                sin->sin_family = AF_INET;
                sin->sin_port = htons(hp->port);
                if (inet_pton(AF_INET, hp->host, &sin->sin_addr) != 1)
                        return -EINVAL;
                *ret_len = sizeof(*sin);
                return 0;
        }
        if (hp->family == AF_INET6) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ret;

                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(hp->port);
                if (inet_pton(AF_INET6, hp->host, &sin6->sin6_addr) != 1)
                        return -EINVAL;
                *ret_len = sizeof(*sin6);
                return 0;
        }
        return -EINVAL; /* a name: the caller resolves it first */
}

/* Best effort: a kernel without one of these still moves frames, only notices death later. */
void peer_link_socket_tune(int fd) {
        int one = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;
        unsigned user_timeout = USER_TIMEOUT_MS;

        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        (void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        (void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        (void) setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        (void) setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

/* Checks that frame is one whole frame: its header says len - 4, within max_frame. */
static int frame_validate(const peer_link *l, const uint8_t *frame, size_t len) {
        if (!frame || len <= PEER_LINK_HEADER_SIZE)
                return -EINVAL;
        if (len - PEER_LINK_HEADER_SIZE > l->max_frame)
                return -EMSGSIZE;
        if (be32_read(frame) != len - PEER_LINK_HEADER_SIZE)
                return -EINVAL;
        return 0;
}

/* ---- outbound ---- */

static void queue_pop(peer *p) {
        qframe *f = p->head;

        p->head = f->next;
        if (!p->head)
                p->tail = NULL;
        p->head_off = 0;
        p->stats->queued_frames--;
        p->stats->queued_bytes -= f->len;
        free(f);
}

/* Discards every queued frame, counting them as dropped. */
static void queue_clear(peer *p) {
        while (p->head) {
                p->stats->frames_dropped++;
                queue_pop(p);
        }
}

/* Evicts the oldest frame not partly written: false when there is none. */
static bool queue_evict(peer *p) {
        qframe *victim;

        if (!p->head)
                return false;
        if (p->head_off == 0) {
                queue_pop(p);
                p->stats->frames_dropped++;
                return true;
        }
        victim = p->head->next;
        if (!victim)
                return false;
        p->head->next = victim->next;
        if (p->tail == victim)
                p->tail = p->head;
        p->stats->queued_frames--;
        p->stats->queued_bytes -= victim->len;
        p->stats->frames_dropped++;
        free(victim);
        return true;
}

static int queue_push(peer *p, const uint8_t *frame, size_t len) {
        peer_link *l = p->link;
        qframe *f;

        while (p->stats->queued_bytes + len > l->queue_bytes ||
                p->stats->queued_frames + 1 > l->queue_frames)
                if (!queue_evict(p))
                        break;

        f = malloc(sizeof(*f) + len);
        if (!f)
                return -ENOMEM;
        f->next = NULL;
        f->len = len;
        memcpy(f->data, frame, len);
        if (p->tail)
                p->tail->next = f;
        else
                p->head = f;
        p->tail = f;
        p->stats->queued_frames++;
        p->stats->queued_bytes += len;
        return 0;
}

/* Writes what the socket takes, then watches for EPOLLOUT only while something is left. */
static int peer_flush(peer *p) {
        while (p->head) {
                struct iovec iov[IOV_BATCH];
                struct msghdr mh = {.msg_iov = iov};
                size_t off = p->head_off;
                ssize_t n;

                for (qframe *f = p->head; f && mh.msg_iovlen < IOV_BATCH; f = f->next, off = 0)
                        iov[mh.msg_iovlen++] = (struct iovec){f->data + off, f->len - off};

                n = sendmsg(p->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                p->stats->bytes_sent += (uint64_t) n;
                while (n > 0) {
                        size_t rest = p->head->len - p->head_off;

                        if ((size_t) n < rest) {
                                p->head_off += (size_t) n;
                                break;
                        }
                        n -= (ssize_t) rest;
                        p->stats->frames_sent++;
                        queue_pop(p);
                }
        }
        return sd_event_source_set_io_events(p->io, EPOLLIN | (p->head ? EPOLLOUT : 0));
}

static void peer_close(peer *p) {
        p->io = sd_event_source_disable_unref(p->io);
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        p->pending_error = 0;
        queue_clear(p);
}

/* Arms the backoff timer for the next attempt. */
static void peer_wait(peer *p) {
        peer_link *l = p->link;
        uint64_t delay = p->backoff;

        p->backoff = p->backoff >= l->reconnect_max / 2 ? l->reconnect_max : p->backoff * 2;
        delay = delay * (80 + rng_next(&l->rng) % 41) / 100; /* +-20% */
        p->state = PEER_WAITING;
        peer_link_timer_arm(p->timer, peer_link_now(l) + delay);
}

/* An attempt failed before the connection was up: no callback. */
static void peer_failed(peer *p, int error) {
        peer_close(p);
        p->stats->connect_failures++;
        p->stats->last_error = error;
        peer_wait(p);
}

/* A connection that was up is gone. */
static void peer_lost(peer *p, int error) {
        peer_link *l = p->link;

        peer_close(p);
        p->stats->disconnects++;
        p->stats->last_error = error;
        if (peer_link_now(l) - p->connected_at >= l->reconnect_max)
                p->backoff = l->reconnect_min;
        peer_wait(p);
        if (l->cb.on_peer)
                l->cb.on_peer(l, p->index, false, error, l->userdata);
}

/* Reads and discards what the peer sends on an outbound connection, to notice EOF. */
static int peer_drain(peer *p) {
        uint8_t buf[DISCARD_CHUNK];

        for (unsigned i = 0; i < READ_BATCH; i++) {
                ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);

                if (n == 0)
                        return -ECONNRESET;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
        }
        return 0;
}

static int peer_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        peer *p = userdata;
        peer_link *l = p->link;
        int r;

        if (p->state == PEER_CONNECTING) {
                int err = 0;
                socklen_t sl = sizeof(err);

                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
                        err = errno;
                if (err == 0 && !(revents & EPOLLOUT))
                        err = ECONNRESET;
                if (err != 0) {
                        peer_failed(p, -err);
                        return 0;
                }
                r = sd_event_source_set_io_events(p->io, EPOLLIN);
                if (r < 0) {
                        peer_failed(p, r);
                        return 0;
                }
                p->state = PEER_CONNECTED;
                p->connected_at = peer_link_now(l);
                p->stats->connects++;
                p->stats->last_error = 0;
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
                if (l->cb.on_peer)
                        l->cb.on_peer(l, p->index, true, 0, l->userdata);
                return 0;
        }

        if (p->pending_error) {
                peer_lost(p, p->pending_error);
                return 0;
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                r = peer_drain(p);
                if (r < 0) {
                        peer_lost(p, r);
                        return 0;
                }
        }
        if (revents & EPOLLOUT) {
                r = peer_flush(p);
                if (r < 0)
                        peer_lost(p, r);
        }
        return 0;
}

static void peer_connect(peer *p) {
        peer_link *l = p->link;
        int r;

        p->attempt_at = peer_link_now(l);
        p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (p->fd < 0) {
                peer_failed(p, -errno);
                return;
        }
        peer_link_socket_tune(p->fd);
        r = sd_event_add_io(l->event, &p->io, p->fd, EPOLLOUT, peer_io, p);
        if (r < 0) {
                peer_failed(p, r);
                return;
        }
        /* EINTR: the connection still completes asynchronously, like EINPROGRESS. An immediate
         * success shows up as EPOLLOUT too, so all three take the same path. */
        if (connect(p->fd, (struct sockaddr *) &p->addr, p->addr_len) < 0 && errno != EINPROGRESS &&
                errno != EINTR) {
                peer_failed(p, -errno);
                return;
        }
        p->state = PEER_CONNECTING;
        peer_link_timer_arm(p->timer, peer_link_now(l) + l->connect_timeout);
}

static int peer_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        peer *p = userdata;

        switch (p->state) {
        case PEER_WAITING:
                peer_connect(p);
                break;
        case PEER_CONNECTING:
                peer_failed(p, -ETIMEDOUT);
                break;
        case PEER_CONNECTED:
                if (p->pending_error)
                        peer_lost(p, p->pending_error);
                break;
        }
        return 0;
}

/* Queues and writes frame (already validated) to a connected peer. A write error is reported from
 * the loop, not from inside the caller's send: the caller may be in one of our callbacks. */
static int peer_send(peer *p, const uint8_t *frame, size_t len) {
        int r;

        if (p->state != PEER_CONNECTED || p->pending_error)
                return -ENOTCONN;
        r = queue_push(p, frame, len);
        if (r < 0)
                return r;
        r = peer_flush(p);
        if (r < 0) {
                p->pending_error = r;
                peer_link_timer_arm(p->timer, 1); /* long past: fires on the next iteration */
        }
        return 0;
}

/* ---- the link ---- */

#define DEFAULT(x, d) ((x) ? (x) : (d))

int peer_link_new(sd_event *e, const peer_link_params *params, const peer_link_callbacks *callbacks,
        void *userdata, peer_link **ret) {
        _cleanup_(peer_link_freep) peer_link *l = NULL;
        int r;

        if (!e || !params || !ret || (params->n_peers > 0 && !params->peers))
                return -EINVAL;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->listen_fd = -1;
        l->event = sd_event_ref(e);
        l->max_frame = DEFAULT(params->max_frame, PEER_LINK_MAX_FRAME_DEFAULT);
        l->queue_bytes = DEFAULT(params->queue_bytes, PEER_LINK_QUEUE_BYTES_DEFAULT);
        l->queue_frames = DEFAULT(params->queue_frames, PEER_LINK_QUEUE_FRAMES_DEFAULT);
        l->reconnect_min = DEFAULT(params->reconnect_min_usec, PEER_LINK_RECONNECT_MIN_USEC_DEFAULT);
        l->reconnect_max = DEFAULT(params->reconnect_max_usec, PEER_LINK_RECONNECT_MAX_USEC_DEFAULT);
        l->connect_timeout = DEFAULT(params->connect_timeout_usec, PEER_LINK_CONNECT_TIMEOUT_USEC_DEFAULT);
        l->idle_timeout = DEFAULT(params->idle_timeout_usec, PEER_LINK_IDLE_TIMEOUT_USEC_DEFAULT);
        l->max_inbound = DEFAULT(params->max_inbound, PEER_LINK_MAX_INBOUND_DEFAULT);
        l->rng = params->seed;
        if (callbacks)
                l->cb = *callbacks;
        l->userdata = userdata;
        if (l->max_frame > UINT32_MAX || l->queue_bytes < l->max_frame + PEER_LINK_HEADER_SIZE ||
                l->reconnect_min > l->reconnect_max)
                return -EINVAL;

        if (params->n_peers > 0) {
                l->peers = calloc(params->n_peers, sizeof(*l->peers));
                l->peer_stats = calloc(params->n_peers, sizeof(*l->peer_stats));
                if (!l->peers || !l->peer_stats)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < params->n_peers; i++) {
                peer *p = &l->peers[i];

                p->fd = -1;
                l->n_peers++; /* from here on peer_link_free() cleans p up */
                p->link = l;
                p->index = i;
                p->stats = &l->peer_stats[i];
                p->backoff = l->reconnect_min;
                r = peer_link_sockaddr(&params->peers[i].address, false, &p->addr, &p->addr_len);
                if (r < 0)
                        return r;
                if (params->peers[i].name) {
                        p->name = strdup(params->peers[i].name);
                        if (!p->name)
                                return -ENOMEM;
                }
                /* The first attempt runs from the loop, so that no callback fires from here. */
                p->state = PEER_WAITING;
                r = sd_event_add_time(e, &p->timer, CLOCK_MONOTONIC, 1, TIMER_ACCURACY, peer_timer, p);
                if (r < 0)
                        return r;
                r = sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
                if (r < 0)
                        return r;
        }

        if (params->listen && params->listen->host) {
                r = peer_link_listener_start(l, params->listen);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

peer_link *peer_link_free(peer_link *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_peers; i++) {
                peer_close(&l->peers[i]);
                sd_event_source_disable_unref(l->peers[i].timer);
                free(l->peers[i].name);
        }
        while (l->inbound)
                peer_link_inbound_close(l->inbound);
        sd_event_source_disable_unref(l->listen_io);
        sd_event_source_disable_unref(l->pause_timer);
        if (l->listen_fd >= 0)
                close(l->listen_fd);
        free(l->peers);
        free(l->peer_stats);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}

int peer_link_send(peer_link *l, size_t i, const uint8_t *frame, size_t len) {
        int r;

        if (!l || i >= l->n_peers)
                return -EINVAL;
        r = frame_validate(l, frame, len);
        if (r < 0)
                return r;
        return peer_send(&l->peers[i], frame, len);
}

int peer_link_broadcast(peer_link *l, const uint8_t *frame, size_t len) {
        int r, n = 0;

        if (!l)
                return -EINVAL;
        r = frame_validate(l, frame, len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n_peers; i++)
                if (peer_send(&l->peers[i], frame, len) >= 0)
                        n++;
        return n;
}

int peer_link_connect_now(peer_link *l, size_t i) {
        uint64_t due, armed = UINT64_MAX;
        peer *p;

        if (!l || i >= l->n_peers)
                return -EINVAL;
        p = &l->peers[i];
        if (p->state != PEER_WAITING)
                return 0;
        /* Now at the earliest (peer_timer() then connects on the next iteration, outside the caller's
         * callback), but never sooner than reconnect_min after the previous attempt. */
        due = peer_link_now(l);
        if (p->attempt_at + l->reconnect_min > due)
                due = p->attempt_at + l->reconnect_min;
        (void) sd_event_source_get_time(p->timer, &armed);
        if (due >= armed)
                return 0;
        p->backoff = l->reconnect_min;
        p->stats->early_attempts++;
        peer_link_timer_arm(p->timer, due);
        return 1;
}

bool peer_link_connected(const peer_link *l, size_t i) {
        return l && i < l->n_peers && l->peers[i].state == PEER_CONNECTED && !l->peers[i].pending_error;
}

const char *peer_link_peer_name(const peer_link *l, size_t i) {
        return l && i < l->n_peers ? l->peers[i].name : NULL;
}

uint16_t peer_link_listen_port(const peer_link *l) {
        return l ? l->listen_port : 0;
}

void peer_link_get_stats(const peer_link *l, peer_link_stats *ret) {
        *ret = (peer_link_stats){
                .inbound = l->in_stats,
                .n_peers = l->n_peers,
                .peers = l->peer_stats,
        };
}
