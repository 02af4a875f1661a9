/* What the two files of the peers share (daemon-peers.c: the link, the frames, reachability and
 * opinions; daemon-votes.c: votes and configurations from peers): the peers' state and the few helpers
 * both use. Not for others. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon.h"
#include "peer-link.h"
#include "peer-payload.h"
#include "peer-proto.h"

typedef struct daemon_peer {
        char *name;
        char *host; /* the configured address's host, to attribute unauthenticated frames */
        char *zone; /* from its HELLO; NULL before */
        peer_replay replay;
        bool seen;
        bool reachable;
        uint64_t last_seen_usec; /* CLOCK_MONOTONIC of its last valid message */
        uint64_t epoch;          /* from its HELLO */
        uint64_t ping;           /* the latest ping of its OPINIONs, echoed as pong; PEER_MS_NEVER: none */
        peer_opinion opinion;    /* its latest OPINION */
        uint64_t opinion_usec;   /* when that arrived; 0: none */
        uint64_t rejects[_PEER_REJECT_MAX];
        uint64_t rejects_logged; /* the total of rejects when last logged */
        uint64_t last_log_usec;
} daemon_peer;

struct daemon_peers {
        daemon_ctx *d;
        char *self;
        peer_link *link;
        daemon_peer *peers;
        size_t n_peers;
        uint8_t *key;
        size_t key_len;
        uint64_t boot_time_usec, boot_nonce, seq;
        sd_event_source *timer;
        uint64_t tick_usec; /* the OPINION round, fixed at start */
        bool quorum_ok;
        uint64_t started_usec; /* quorum-lost is judged only once the peers had 1500 ms to be heard */
        uint64_t unattributed[_PEER_REJECT_MAX];
        uint64_t unattributed_logged, unattributed_log_usec;
};

/* The loop's CLOCK_MONOTONIC now. */
uint64_t peers_now(const daemon_peers *p);

/* The cluster named name, NULL when this sentinel has none. */
daemon_cluster *find_cluster(daemon_ctx *d, const char *name);

/* Sends payload (taken) to peer `to` (config order), or to every connected peer when to < 0. */
int peers_send(daemon_peers *p, ssize_t to, peer_msg_type type, json_object *payload);

/* Counts a rejected frame against dp (else the one peer whose host is from's address) and logs it
 * (once a minute at most). */
void count_reject(daemon_peers *p, daemon_peer *dp, const struct sockaddr *from, peer_reject why);

/* daemon-votes.c: answers a VOTE_REQUEST from peer `from` (the vote persisted before the reply). */
void on_vote_request(daemon_peers *p, size_t from, const peer_msg *m);

/* daemon-votes.c: hands a VOTE_REPLY from peer `from` to the run of its cluster. */
void on_vote_reply(daemon_peers *p, size_t from, const peer_msg *m);

/* daemon-votes.c: adopts a configuration announced by a peer when it is newer than ours. */
void adopt_config(
        daemon_peers *p, const char *sender, const char *cluster, uint64_t epoch, const char *primary);
