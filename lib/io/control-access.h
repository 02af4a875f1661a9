/* Internal to control-server.c: who may use the control socket and how often, by the rules in
 * control-server.h. Peer admission (SO_PEERCRED's uid and gid, SO_PEERGROUPS), the per-uid token
 * buckets and the per-uid throttle of reported events; control-server.c keeps the socket, the
 * connections and the request/reply flow. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "control-server.h"

#define RATE_TABLE_SIZE   64           /* peer uids remembered by the rate limiter */
#define REPORT_TABLE_SIZE 64           /* peer uids remembered by the report throttle */
#define REPORT_NO_PEER    ((uid_t) -1) /* the report throttle's key for events without a peer */

typedef struct rate_bucket {
        bool used;
        uid_t uid;
        uint64_t tokens; /* in millionths */
        uint64_t last_usec;
} rate_bucket;

/* When the event callback may next hear of each event from one peer uid, and what it missed. */
typedef struct report_slot {
        bool used;
        uid_t uid;
        uint64_t last_usec; /* last event, to evict the stalest slot */
        uint64_t next_usec[_CONTROL_SERVER_EVENT_MAX];
        unsigned suppressed[_CONTROL_SERVER_EVENT_MAX];
} report_slot;

/* Whether peer, connected on fd to a server running as euid with opts, is admitted: the rule in
 * control-server.h. */
bool control_access_peer_admitted(
        uid_t euid, const control_server_options *opts, int fd, const struct ucred *peer);

/* Writes to buf "permission denied: uid U is not root or in group G", naming euid too when not root. */
void control_access_denied_message(
        uid_t euid, const control_server_options *opts, uid_t uid, char *buf, size_t size);

/* Takes a token at now from uid's bucket (opts' rate_burst and rate_per_sec); false when it is empty. */
bool control_access_rate_take(rate_bucket buckets[static RATE_TABLE_SIZE],
        const control_server_options *opts, uid_t uid, uint64_t now);

/* Records ev from uid at now; true when the callback may hear of it (at most once per interval_usec
 * per event and uid), with *ret_suppressed the number of those it missed since. */
bool control_access_report_take(report_slot reports[static REPORT_TABLE_SIZE], uid_t uid,
        control_server_event ev, uint64_t now, uint64_t interval_usec, unsigned *ret_suppressed);
