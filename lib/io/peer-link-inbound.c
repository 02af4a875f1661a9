/* The listener and the inbound connections of a peer link (peer-link.h): accepts within a cap, reads
 * whole frames and hands them up, closes idle or misbehaving connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "peer-link-internal.h"

void peer_link_inbound_close(inbound *c) {
        peer_link *l = c->link;

        if (c->prev)
                c->prev->next = c->next;
        else
                l->inbound = c->next;
        if (c->next)
                c->next->prev = c->prev;
        l->in_stats.current--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        close(c->fd);
        free(c->rbuf);
        free(c);
}

/* Hands up every complete frame in the buffer and keeps the rest. -EBADMSG/-EMSGSIZE for a bad
 * length, -ENOMEM when the buffer cannot grow to the next frame. */
static int inbound_process(inbound *c) {
        peer_link *l = c->link;
        size_t off = 0, flen = 0;
        int r;

        for (;;) {
                r = peer_link_frame_peek(c->rbuf + off, c->rlen - off, l->max_frame, &flen);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                l->in_stats.frames_received++;
                if (l->cb.on_frame)
                        l->cb.on_frame(l, c->rbuf + off, flen, (struct sockaddr *) &c->from, l->userdata);
                off += flen;
        }
        if (off > 0) {
                memmove(c->rbuf, c->rbuf + off, c->rlen - off);
                c->rlen -= off;
        }
        if (flen > c->rcap) {
                uint8_t *b = realloc(c->rbuf, flen);

                if (!b)
                        return -ENOMEM;
                c->rbuf = b;
                c->rcap = flen;
        }
        return 0;
}

static int inbound_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        inbound *c = userdata;
        peer_link *l = c->link;
        int r;

        for (unsigned i = 0; i < READ_BATCH; i++) {
                ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        peer_link_inbound_close(c); /* EOF or a reset */
                        return 0;
                }
                c->rlen += (size_t) n;
                c->last_rx = peer_link_now(l);
                l->in_stats.bytes_received += (uint64_t) n;
                r = inbound_process(c);
                if (r < 0) {
                        if (r != -ENOMEM)
                                l->in_stats.oversized++;
                        peer_link_inbound_close(c);
                        return 0;
                }
        }
        return 0;
}

static int inbound_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        inbound *c = userdata;
        peer_link *l = c->link;
        uint64_t deadline = c->last_rx + l->idle_timeout;

        if (usec < deadline) {
                peer_link_timer_arm(c->timer, deadline);
                return 0;
        }
        l->in_stats.idle_closed++;
        peer_link_inbound_close(c);
        return 0;
}

static int inbound_new(peer_link *l, int fd, const struct sockaddr_storage *from) {
        inbound *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->link = l;
        c->fd = fd;
        c->from = *from;
        c->last_rx = peer_link_now(l);
        c->rcap = l->max_frame + PEER_LINK_HEADER_SIZE < RBUF_INITIAL ? l->max_frame + PEER_LINK_HEADER_SIZE
                                                                      : RBUF_INITIAL;
        c->rbuf = malloc(c->rcap);
        if (!c->rbuf) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_io(l->event, &c->io, fd, EPOLLIN, inbound_io, c);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(l->event, &c->timer, CLOCK_MONOTONIC, c->last_rx + l->idle_timeout,
                TIMER_ACCURACY, inbound_timer, c);
        if (r < 0)
                goto fail;
        peer_link_socket_tune(fd);
        c->next = l->inbound;
        if (l->inbound)
                l->inbound->prev = c;
        l->inbound = c;
        l->in_stats.current++;
        return 0;
fail:
        sd_event_source_disable_unref(c->io);
        free(c->rbuf);
        free(c);
        return r;
}

static int listen_pause_done(sd_event_source *s, uint64_t usec, void *userdata) {
        peer_link *l = userdata;

        (void) sd_event_source_set_enabled(l->listen_io, SD_EVENT_ON);
        return 0;
}

static int listen_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        peer_link *l = userdata;

        for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
                struct sockaddr_storage sa = {};
                socklen_t sl = sizeof(sa);
                int cfd = accept4(fd, (struct sockaddr *) &sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                                continue; /* a connection that failed before we took it */
                        goto pause;       /* out of fds or memory, or worse: do not spin */
                }
                if (l->in_stats.current >= l->max_inbound) {
                        close(cfd);
                        l->in_stats.rejected++;
                        continue;
                }
                if (inbound_new(l, cfd, &sa) < 0) {
                        close(cfd);
                        goto pause;
                }
                l->in_stats.accepted++;
        }
        return 0;
pause:
        l->in_stats.accept_errors++;
        (void) sd_event_source_set_enabled(l->listen_io, SD_EVENT_OFF);
        peer_link_timer_arm(l->pause_timer, peer_link_now(l) + ACCEPT_PAUSE_USEC);
        return 0;
}

int peer_link_listener_start(peer_link *l, const hostport *hp) {
        struct sockaddr_storage sa;
        socklen_t sl;
        int one = 1, r;

        r = peer_link_sockaddr(hp, true, &sa, &sl);
        if (r < 0)
                return r;
        l->listen_fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (l->listen_fd < 0)
                return -errno;
        if (setsockopt(l->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(l->listen_fd, (struct sockaddr *) &sa, sl) < 0)
                return -errno;
        if (listen(l->listen_fd, LISTEN_BACKLOG) < 0)
                return -errno;
        sl = sizeof(sa);
        if (getsockname(l->listen_fd, (struct sockaddr *) &sa, &sl) < 0)
                return -errno;
        l->listen_port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *) &sa)->sin_port
                                                       : ((struct sockaddr_in6 *) &sa)->sin6_port);
        r = sd_event_add_io(l->event, &l->listen_io, l->listen_fd, EPOLLIN, listen_io, l);
        if (r < 0)
                return r;
        r = sd_event_add_time(l->event, &l->pause_timer, CLOCK_MONOTONIC, UINT64_MAX, TIMER_ACCURACY,
                listen_pause_done, l);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(l->pause_timer, SD_EVENT_OFF);
}
