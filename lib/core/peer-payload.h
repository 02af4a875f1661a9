/* The JSON payloads of the peer messages (peer-proto.h), one struct per message type, built and read
 * with strict validation. Pure code: no I/O, no logging.
 *
 *   HELLO         {"zone":S, "epoch":U, "version":S}
 *   OPINION       {"ping":U, "pong":U|null,
 *                  "clusters":[{"name":S, "primary":S|null, "sdown":B, "last_ok_ms_ago":U|null,
 *                               "evidence":U, "config_epoch":U, "pending":B, "confirms":B,
 *                               "self_fenced":B, "settled_epoch":U (optional)}, ...]}
 *   VOTE_REQUEST  {"cluster":S, "epoch":U, "primary":S, "kind":K}
 *   VOTE_REPLY    {"cluster":S, "epoch":U, "granted":B, "voted_for":S|null, "reason":T}
 *   CONFIG        {"cluster":S, "epoch":U, "primary":S}
 *   MAINTENANCE   {"cluster":S, "until_usec":U, "set_usec":U}
 *
 * S: a name, 1..PEER_STRING_MAX bytes without control characters (voted_for: a sentinel name, see
 * peer_name_is_valid()); T: the same but may be empty; U: a JSON integer 0..PEER_U64_MAX (json-c
 * reads any larger number as UINT64_MAX, so that value is refused); B: true or false; K: "failover",
 * "switchover" or "forced" (PEER_VOTE_KIND_*). Every key shown is required, also those that may be
 * null, but those marked optional (zero when missing); a missing key, a wrong type, a value out of
 * range, or a string holding a NUL (\u0000) is -EINVAL. Unknown keys are ignored, so a newer
 * sentinel may add fields. Strings must also be valid UTF-8; peer_msg_encode() refuses a payload
 * that is not, and decoding never yields one.
 *
 * A parsed struct owns copies of its strings: release it with its _done(), which takes NULL and
 * leaves the struct zeroed. Parse functions set *ret only on success. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer-proto.h"

/* The longest string a payload may carry, in bytes. */
#define PEER_STRING_MAX 255
/* The largest integer a payload may carry. */
#define PEER_U64_MAX (UINT64_MAX - 1)
/* last_ok_ms_ago when null: the sentinel never reached the primary. */
#define PEER_MS_NEVER UINT64_MAX

/* HELLO: who the sender is, sent first on every connection and then as liveness. */
typedef struct peer_hello {
        char *zone;
        uint64_t epoch; /* the highest epoch the sender knows, over all clusters */
        char *version;  /* the sender's software version */
} peer_hello;

/* The kinds of election a VOTE_REQUEST asks for: an automatic failover (voters must see the primary
 * ODOWN themselves), an operator's switchover, an operator's forced failover. */
#define PEER_VOTE_KIND_FAILOVER   "failover"
#define PEER_VOTE_KIND_SWITCHOVER "switchover"
#define PEER_VOTE_KIND_FORCED     "forced"

/* Whether kind is one of PEER_VOTE_KIND_*. */
bool peer_vote_kind_is_valid(const char *kind);

/* One cluster of an OPINION: what the sender sees of its primary. */
typedef struct peer_opinion_cluster {
        char *name;
        char *primary;           /* the server the sender takes for primary; NULL when none */
        bool sdown;              /* the sender sees that primary subjectively down */
        uint64_t last_ok_ms_ago; /* since the sender's last good probe of it; PEER_MS_NEVER if none */
        uint64_t evidence;       /* replicas whose IO thread still reads from that primary */
        uint64_t config_epoch;   /* the epoch of the sender's configuration of the cluster */
        bool pending;            /* that configuration is written ahead of its promotion, which has not
                                  * committed yet: not to be adopted (a crash may leave it so) */
        bool confirms;           /* the sender confirms primary in config_epoch: its own probes of it
                                  * succeed now and its current epoch is config_epoch (quorum.h) */
        bool self_fenced;        /* the sender holds that primary read-only itself (self-fencing): its
                                  * read_only is expected, not a mismatch to page */
        uint64_t settled_epoch;  /* the sender will never lead a run of the cluster in this epoch or
                                  * below: no election, run or pending configuration of its own there,
                                  * its current epoch at least this. Never decreases. 0 when missing
                                  * (an older sender): nothing known settled */
} peer_opinion_cluster;

/* OPINION: the sender's view of every cluster it monitors. OPINIONs are sent to each peer on its own,
 * so that pong can answer that peer: the receiver dates the sender's confirmations by when it sent
 * the ping that pong echoes (quorum.h, self-fencing), never by when the OPINION arrived. */
typedef struct peer_opinion {
        uint64_t ping; /* the sender's counter, one per OPINION round */
        uint64_t pong; /* the latest ping the sender received from the receiver; PEER_MS_NEVER: none */
        peer_opinion_cluster *clusters; /* names unique */
        size_t n_clusters;
} peer_opinion;

/* VOTE_REQUEST: the sender sees the primary ODOWN and asks for votes for epoch. */
typedef struct peer_vote_request {
        char *cluster;
        uint64_t epoch;
        char *primary; /* the failed primary; of a switchover, the primary to hand over */
        char *kind;    /* PEER_VOTE_KIND_* */
} peer_vote_request;

/* VOTE_REPLY: the answer to a VOTE_REQUEST. */
typedef struct peer_vote_reply {
        char *cluster;
        uint64_t epoch;
        bool granted;
        char *voted_for; /* the sentinel this one voted for in epoch, NULL when none */
        char *reason;    /* why not granted, for logs; may be "" */
} peer_vote_reply;

/* CONFIG: the configuration of a cluster in an epoch; the highest epoch wins. */
typedef struct peer_config {
        char *cluster;
        uint64_t epoch;
        char *primary;
} peer_config;

/* MAINTENANCE: maintenance mode of a cluster, set or cleared on every sentinel. */
typedef struct peer_maintenance {
        char *cluster;
        uint64_t until_usec; /* CLOCK_REALTIME microseconds (shared between hosts); 0 = off;
                              * PEER_U64_MAX: on without an end */
        uint64_t set_usec;   /* CLOCK_REALTIME microseconds when the operator set it: the latest wins */
} peer_maintenance;

/* Builds a HELLO payload into a new object; -EINVAL when an argument is out of range, -ENOMEM. */
int peer_hello_build(const char *zone, uint64_t epoch, const char *version, json_object **ret);
/* Reads a HELLO payload into *ret; -EINVAL when invalid, -ENOMEM. */
int peer_hello_parse(json_object *p, peer_hello *ret);
/* Frees the strings of h and zeroes it; NULL-safe. */
void peer_hello_done(peer_hello *h);

/* Builds an OPINION payload of n_clusters clusters (clusters may be NULL when 0) into a new object;
 * -EINVAL when an entry is out of range or two share a name, -ENOMEM. */
int peer_opinion_build(uint64_t ping, uint64_t pong, const peer_opinion_cluster *clusters, size_t n_clusters,
        json_object **ret);
/* Reads an OPINION payload into *ret; -EINVAL when invalid (also on duplicate cluster names), -ENOMEM. */
int peer_opinion_parse(json_object *p, peer_opinion *ret);
/* Frees the clusters of o and zeroes it; NULL-safe. */
void peer_opinion_done(peer_opinion *o);
/* The entry of o for cluster, or NULL when o has none. */
const peer_opinion_cluster *peer_opinion_find(const peer_opinion *o, const char *cluster);

/* Builds a VOTE_REQUEST payload into a new object; -EINVAL when an argument is out of range, -ENOMEM. */
int peer_vote_request_build(
        const char *cluster, uint64_t epoch, const char *primary, const char *kind, json_object **ret);
/* Reads a VOTE_REQUEST payload into *ret; -EINVAL when invalid, -ENOMEM. */
int peer_vote_request_parse(json_object *p, peer_vote_request *ret);
/* Frees the strings of v and zeroes it; NULL-safe. */
void peer_vote_request_done(peer_vote_request *v);

/* Builds a VOTE_REPLY payload (voted_for may be NULL, reason NULL means "") into a new object;
 * -EINVAL when an argument is out of range, -ENOMEM. */
int peer_vote_reply_build(const char *cluster, uint64_t epoch, bool granted, const char *voted_for,
        const char *reason, json_object **ret);
/* Reads a VOTE_REPLY payload into *ret; -EINVAL when invalid, -ENOMEM. */
int peer_vote_reply_parse(json_object *p, peer_vote_reply *ret);
/* Frees the strings of v and zeroes it; NULL-safe. */
void peer_vote_reply_done(peer_vote_reply *v);

/* Builds a CONFIG payload into a new object; -EINVAL when an argument is out of range, -ENOMEM. */
int peer_config_build(const char *cluster, uint64_t epoch, const char *primary, json_object **ret);
/* Reads a CONFIG payload into *ret; -EINVAL when invalid, -ENOMEM. */
int peer_config_parse(json_object *p, peer_config *ret);
/* Frees the strings of c and zeroes it; NULL-safe. */
void peer_config_done(peer_config *c);

/* Builds a MAINTENANCE payload into a new object; -EINVAL when an argument is out of range, -ENOMEM. */
int peer_maintenance_build(const char *cluster, uint64_t until_usec, uint64_t set_usec, json_object **ret);
/* Reads a MAINTENANCE payload into *ret; -EINVAL when invalid, -ENOMEM. */
int peer_maintenance_parse(json_object *p, peer_maintenance *ret);
/* Frees the string of m and zeroes it; NULL-safe. */
void peer_maintenance_done(peer_maintenance *m);

/* Whether p is a valid payload for a message of type: 0, -EINVAL (also for a type out of range),
 * -ENOMEM. For dropping a bad message before dispatching it. */
int peer_payload_check(peer_msg_type type, json_object *p);
