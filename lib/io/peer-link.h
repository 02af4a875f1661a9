/* The sentinels' transport (SPEC 1 and 5, issue 5): TCP between peers on an sd-event loop, moving
 * opaque byte frames. Authentication, replay protection and the meaning of a frame belong to the
 * peer protocol codec (lib/core/peer-proto); this module only delimits frames and keeps the
 * connections up, and never lets a slow or dead peer stall the loop.
 *
 * Frames. On the wire: a u32 big-endian length N (1..max_frame), then N bytes. The frame handed to
 * on_frame and given to peer_link_send() is the whole thing, the 4 length bytes included (so the
 * codec can MAC over them). A length of 0 or above max_frame closes the connection that sent it.
 *
 * Outbound. This sentinel dials every configured peer (an IP literal and port) with a non-blocking
 * connect and sends to peer i only over that connection. A connect that has not completed within
 * connect_timeout is abandoned. Failed attempts are retried forever with exponential backoff
 * (reconnect_min doubling up to reconnect_max, each delay jittered by +-20% from a PRNG seeded with
 * params.seed); the backoff starts again from reconnect_min after a connection that lasted at least
 * reconnect_max (a connection dropped sooner counts as a failed attempt, so a peer that accepts and
 * closes at once is not hammered). Outbound connections are send-only: whatever the peer sends on
 * them is read and discarded (reading is how EOF is noticed).
 *
 * Early attempts. The backoff cannot tell a peer that is still down from one that came back a moment
 * ago, and while it runs its course (up to reconnect_max) the peer cannot hear us. The caller can: a
 * frame from that peer that it authenticated on an inbound connection. peer_link_connect_now() then
 * cuts the wait short. It is the caller's to call it only on such evidence (never on a bare inbound
 * connection nor on a timer). An early attempt still starts no sooner than reconnect_min after the
 * previous attempt to that peer, so that a flood of frames cannot make the link spin; one that fails
 * backs off from reconnect_min again.
 *
 * Sending. peer_link_send() copies the frame into the peer's queue and writes what the socket takes
 * at once; the rest goes out as the socket drains. It refuses with -ENOTCONN while the peer is not
 * connected: nothing is queued for later, because a vote or opinion delivered late is worse than one
 * not delivered (the protocol repeats itself every second anyway). Frames still queued when a
 * connection is lost are discarded. The queue is capped in bytes (queue_bytes) and frames
 * (queue_frames); a frame that does not fit evicts the OLDEST queued frames (the newest opinion
 * matters most), counted in frames_dropped. A frame partly written is never evicted (that would
 * corrupt the stream), so the queue may exceed the caps by that one frame.
 *
 * Inbound. With a listen address, accepts any number of connections up to max_inbound (one more is
 * accepted and closed at once, counted as rejected). Each complete frame is handed to on_frame with
 * the connection's remote address: who sent it is only known once the codec authenticated it. A
 * connection that sends no byte for idle_timeout is closed (peers send at least every second).
 * Partial reads accumulate, up to one frame of 4 + max_frame bytes per connection.
 *
 * Dead peers. Every socket is O_NONBLOCK|O_CLOEXEC with TCP_NODELAY, SO_KEEPALIVE (idle 5 s,
 * interval 1 s, 3 probes) and TCP_USER_TIMEOUT 3 s, so a peer that vanished, or stopped reading
 * for 3 s, is noticed without traffic from above.
 *
 * Nothing here logs: state changes go to on_peer, everything else to the counters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "hostport.h"
#include "macro.h"

#define PEER_LINK_HEADER_SIZE                  4
#define PEER_LINK_MAX_FRAME_DEFAULT            (64 * 1024)
#define PEER_LINK_QUEUE_BYTES_DEFAULT          (1024 * 1024)
#define PEER_LINK_QUEUE_FRAMES_DEFAULT         1024
#define PEER_LINK_RECONNECT_MIN_USEC_DEFAULT   (100 * USEC_PER_MSEC)
#define PEER_LINK_RECONNECT_MAX_USEC_DEFAULT   (5 * USEC_PER_SEC)
#define PEER_LINK_CONNECT_TIMEOUT_USEC_DEFAULT (1 * USEC_PER_SEC)
#define PEER_LINK_IDLE_TIMEOUT_USEC_DEFAULT    (30 * USEC_PER_SEC)
#define PEER_LINK_MAX_INBOUND_DEFAULT          64

typedef struct peer_link peer_link;

/* One configured peer. Read during peer_link_new() only (the name is copied). */
typedef struct peer_link_peer {
        const char *name;
        hostport address; /* an IP literal (AF_INET or AF_INET6) and a port */
} peer_link_peer;

/* Zero fields mean the defaults above. */
typedef struct peer_link_params {
        const hostport *listen; /* NULL (or host NULL): no listener; port 0 picks a free one */
        const peer_link_peer *peers;
        size_t n_peers;
        size_t max_frame;   /* largest N, the length field; at most UINT32_MAX */
        size_t queue_bytes; /* per outbound peer; at least PEER_LINK_HEADER_SIZE + max_frame */
        size_t queue_frames;
        uint64_t reconnect_min_usec, reconnect_max_usec;
        uint64_t connect_timeout_usec;
        uint64_t idle_timeout_usec; /* inbound connections */
        unsigned max_inbound;
        uint64_t seed; /* for the backoff jitter; should differ between sentinels */
} peer_link_params;

/* A complete frame (header included) from an inbound connection whose remote address is from. The
 * bytes are valid only during the call. May send; must not free the link. */
typedef void (*peer_link_frame_t)(
        peer_link *l, const uint8_t *frame, size_t len, const struct sockaddr *from, void *userdata);

/* Outbound peer i connected (error 0) or was lost (a negative errno: -ECONNRESET when the peer
 * closed, -ETIMEDOUT when TCP gave up...). Not called for failed attempts nor by peer_link_free().
 * May send; must not free the link. */
typedef void (*peer_link_peer_t)(peer_link *l, size_t peer, bool connected, int error, void *userdata);

/* Either may be NULL. */
typedef struct peer_link_callbacks {
        peer_link_frame_t on_frame;
        peer_link_peer_t on_peer;
} peer_link_callbacks;

/* Counters of one outbound peer since the link started. */
typedef struct peer_link_peer_stats {
        uint64_t connects, disconnects, connect_failures;
        uint64_t frames_sent, bytes_sent; /* written to the socket */
        uint64_t frames_dropped;          /* evicted from a full queue, or queued when the link was lost */
        uint64_t queued_frames, queued_bytes; /* now */
        uint64_t early_attempts;              /* started by peer_link_connect_now() */
        int last_error;                       /* of the last failed attempt or loss; 0 while connected */
} peer_link_peer_stats;

/* Counters of the listener since the link started. */
typedef struct peer_link_inbound_stats {
        uint64_t accepted;      /* admitted connections */
        uint64_t rejected;      /* closed at once: max_inbound reached */
        uint64_t accept_errors; /* accept() failed for want of fds or memory: paused briefly */
        uint64_t frames_received, bytes_received;
        uint64_t oversized; /* connections closed for a length of 0 or above max_frame */
        uint64_t idle_closed;
        unsigned current; /* open now */
} peer_link_inbound_stats;

typedef struct peer_link_stats {
        peer_link_inbound_stats inbound; /* a copy */
        size_t n_peers;
        const peer_link_peer_stats *peers; /* the link's own, live; valid until peer_link_free() */
} peer_link_stats;

/* Pure frame splitter over the start of a byte stream: 1 when buf holds a complete frame, 0 when more
 * bytes are needed, -EBADMSG for a length of 0, -EMSGSIZE for one above max_frame. *ret_len (if not
 * NULL) gets the whole frame's length, header included, once the header is in (else 0). */
int peer_link_frame_peek(const uint8_t *buf, size_t len, size_t max_frame, size_t *ret_len);

/* Starts listening (when params->listen is set) and dialing every peer on e; returns at once, the
 * first attempts run from the loop. -EINVAL for a bad parameter, or the errno of bind()/listen(). */
int peer_link_new(sd_event *e, const peer_link_params *params, const peer_link_callbacks *callbacks,
        void *userdata, peer_link **ret);

/* Closes every connection and frees the link, without callbacks; accepts NULL; returns NULL. */
peer_link *peer_link_free(peer_link *l);

static inline void peer_link_freep(peer_link **l) {
        peer_link_free(*l);
}

/* Queues a copy of frame for peer i and starts writing it: 0; -ENOTCONN when i is not connected;
 * -EINVAL for a bad index or a frame whose header does not say len - 4; -EMSGSIZE above max_frame. */
int peer_link_send(peer_link *l, size_t i, const uint8_t *frame, size_t len);

/* Sends frame to every connected peer: how many took it, or -EINVAL/-EMSGSIZE as peer_link_send(). */
int peer_link_broadcast(peer_link *l, const uint8_t *frame, size_t len);

/* Evidence that peer i is up (the caller authenticated a frame from it): when its outbound connection
 * waits in backoff, resets the backoff to reconnect_min and has the loop start the next attempt at
 * once (never from inside this call), or reconnect_min after the previous attempt started when that
 * is later, and returns 1. Returns 0 and does nothing while i is connecting or connected, or when its
 * next attempt is due no later anyway; -EINVAL for a bad index. */
int peer_link_connect_now(peer_link *l, size_t i);

/* Whether outbound peer i is connected (turns false as soon as a write failed, just before on_peer). */
bool peer_link_connected(const peer_link *l, size_t i);

/* The configured name of peer i, or NULL when out of range. */
const char *peer_link_peer_name(const peer_link *l, size_t i);

/* The port the listener is bound to (useful with port 0), or 0 without a listener. */
uint16_t peer_link_listen_port(const peer_link *l);

/* The counters (see peer_link_stats). */
void peer_link_get_stats(const peer_link *l, peer_link_stats *ret);
