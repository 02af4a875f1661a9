/* What peer-link.c (outbound connections, the link) and peer-link-inbound.c (the listener and inbound
 * connections) share: the link's structures and a few helpers. Not for other modules. */
#pragma once

#include <sys/socket.h>
#include <time.h>

#include "peer-link.h"

#define LISTEN_BACKLOG    64
#define ACCEPT_BATCH      16                    /* connections taken per wake-up, for fairness */
#define ACCEPT_PAUSE_USEC (100 * USEC_PER_MSEC) /* after accept() failed for want of fds or memory */
#define READ_BATCH        4                     /* reads per wake-up, for fairness */
#define RBUF_INITIAL      (16 * 1024)
#define DISCARD_CHUNK     4096
#define IOV_BATCH         64
#define TIMER_ACCURACY    USEC_PER_MSEC /* sd-event would allow 250 ms of slack */
#define KEEPALIVE_IDLE_S  5
#define KEEPALIVE_INTVL_S 1
#define KEEPALIVE_CNT     3
#define USER_TIMEOUT_MS   3000

typedef enum peer_state {
        PEER_WAITING,    /* backoff timer armed before the next attempt */
        PEER_CONNECTING, /* connect() in progress, connect timeout armed */
        PEER_CONNECTED,
} peer_state;

typedef struct qframe {
        struct qframe *next;
        size_t len;
        uint8_t data[];
} qframe;

typedef struct peer {
        peer_link *link;
        size_t index;
        char *name;
        struct sockaddr_storage addr;
        socklen_t addr_len;
        peer_state state;
        int fd;
        sd_event_source *io, *timer; /* the timer: backoff, connect timeout, or a deferred loss */
        uint64_t backoff;            /* the next delay before jitter */
        uint64_t connected_at;
        uint64_t attempt_at; /* when the last attempt started; 0: none yet */
        int pending_error;   /* a write failed outside the loop's callbacks: reported from the timer */
        qframe *head, *tail;
        size_t head_off; /* bytes of head already written */
        peer_link_peer_stats *stats;
} peer;

typedef struct inbound {
        peer_link *link;
        struct inbound *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        struct sockaddr_storage from;
        uint8_t *rbuf;
        size_t rlen, rcap;
        uint64_t last_rx;
} inbound;

struct peer_link {
        sd_event *event;
        size_t max_frame, queue_bytes, queue_frames;
        uint64_t reconnect_min, reconnect_max, connect_timeout, idle_timeout;
        unsigned max_inbound;
        uint64_t rng;
        peer_link_callbacks cb;
        void *userdata;
        int listen_fd;
        uint16_t listen_port;
        sd_event_source *listen_io, *pause_timer;
        size_t n_peers;
        peer *peers;
        peer_link_peer_stats *peer_stats;
        inbound *inbound;
        peer_link_inbound_stats in_stats;
};

/* The loop's time of its last wake-up, CLOCK_MONOTONIC. */
static inline uint64_t peer_link_now(peer_link *l) {
        uint64_t t = 0;

        (void) sd_event_now(l->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* Arms the one-shot timer s for usec (CLOCK_MONOTONIC). */
static inline void peer_link_timer_arm(sd_event_source *s, uint64_t usec) {
        /* Neither call can fail on a valid time source but for a bug; nothing better to do then. */
        (void) sd_event_source_set_time(s, usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* An IP literal to a socket address; no lookup. -EINVAL for a name or a bad literal. */
int peer_link_sockaddr(
        const hostport *hp, bool allow_port_0, struct sockaddr_storage *ret, socklen_t *ret_len);

/* TCP_NODELAY, keepalive and TCP_USER_TIMEOUT on fd, best effort. */
void peer_link_socket_tune(int fd);

/* peer-link-inbound.c: listens on hp (port 0: any) and accepts inbound connections into l. */
int peer_link_listener_start(peer_link *l, const hostport *hp);

/* peer-link-inbound.c: closes one inbound connection and unlinks it from its link. */
void peer_link_inbound_close(inbound *c);
