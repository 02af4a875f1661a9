/* The topology of one cluster as one sentinel sees it: from the cluster's config, the latest probe of
 * each server and the primary the sentinel believes in, derive every server's role, whom each replica
 * follows, lag, errant GTIDs, broken replication, the evidence replicas give that the primary is alive,
 * the cluster's state, and every way the servers disagree with the config (reported, never fixed).
 *
 * Pure code: no I/O, no clock, no logging. A topology holds indexes into conf->servers, never pointers
 * into its inputs, so it outlives them; it is rebuilt from scratch after every probe round.
 *
 * Roles (SPEC 4), decided from a server's latest probe only, in this order:
 *   unknown  never probed (status NULL), or alive but what it said is not enough to tell (the probe
 *            could not read its variables or its replication connections);
 *   down     the latest probe did not prove it alive (probe_error_class_is_alive() is false);
 *   primary  alive and writable (read_only OFF), and either the known primary or with no replication
 *            thread running; the known primary also when alive but its variables could not be read
 *            (too many connections: alive, and nothing says otherwise);
 *   replica  any other server with a replication connection (SHOW ALL SLAVES STATUS row) that is
 *            running (IO not "No" or SQL running), or a read-only server with any connection at all
 *            (a stopped replica is a broken replica, not a different role) - except the known primary;
 *   fenced   read-only and replicating from nobody (no connection, or the known primary with only
 *            stopped ones): it takes neither writes nor replicated transactions. The known primary
 *            found so is the fenced primary; any other is also reported as "not-replicating".
 *
 * Which server a connection replicates from: its Master_Host:Master_Port is compared with every
 * configured server's host:port as hostport_equal() does (same port; IP literals compared as
 * addresses, so "::1" equals "0:0:0:0:0:0:0:1"; names compared without regard to case or a trailing
 * dot). Nothing is resolved: a name never equals an address. When no address matches, a non-zero
 * Master_Server_Id that exactly one configured, probed server has identifies it (reported as
 * "follows-alias"); otherwise the connection follows an unknown server ("follows-unknown").
 * The main connection of a replica, or of a server with a running connection (the one follows, lag
 * and broken describe), is the first that follows the cluster's primary, else the first running one,
 * else the first; stopped extra connections are stale and ignored.
 *
 * Replica evidence (SPEC 5.2): the servers other than the primary, alive at their latest probe, with a
 * connection to the primary whose IO thread is Yes. An IO thread can stay Yes up to the replica's
 * slave_net_timeout after its primary hung, so this is evidence for the quorum logic, not proof.
 *
 * GTID positions. The primary's reference position is, per domain, the more advanced of its
 * gtid_binlog_pos (what replicas can fetch) and gtid_current_pos (what it applied, which covers a
 * freshly promoted primary whose binlog lacks the replicated history). Another server's position is
 * its gtid_current_pos: what it applied from replication plus what it wrote itself, so a local write
 * shows there with its own server_id.
 *   behind  the reference has transactions the server lacks (gtid_list_missing(reference, server),
 *           not counting diverged domains); behind_transactions sums the seq_no gaps.
 *   errant  the server has transactions the reference lacks (gtid_list_missing(server, reference)),
 *           except, when the primary's probe did not start after the server's probe finished (the
 *           primary's snapshot may be the older one), a range whose last GTID the primary itself
 *           wrote (its @@server_id): that is the primary's stream seen later than our snapshot of it,
 *           not an errant write. Anything else the primary lacks is errant: the server's own local
 *           writes (its server_id), and transactions of a former primary that the current one never
 *           got (a lossy failover). A diverged domain (same seq_no, other server) is always errant.
 *           Ordinary lag makes the server BEHIND, which is never errant. Limit: positions keep one
 *           GTID per domain, so an errant write later overtaken by the primary's stream in the same
 *           domain no longer shows; its replica then fails with a GTID error (broken replication).
 *
 * Derived state: no-primary when there is no cluster primary (none known and not exactly one
 * writable, non-replicating server); fenced when the primary's role is fenced; degraded when any
 * reason below is set; else healthy. sdown, odown, failover, switchover and maintenance are decided
 * elsewhere and laid over it with cluster_state_resolve(). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "gtid.h"
#include "server-status.h"

/* "No server": an index that is not one. */
#define TOPOLOGY_NONE SIZE_MAX

typedef enum server_role {
        SERVER_ROLE_PRIMARY,
        SERVER_ROLE_REPLICA,
        SERVER_ROLE_FENCED,
        SERVER_ROLE_DOWN,
        SERVER_ROLE_UNKNOWN,
        _SERVER_ROLE_MAX,
        _SERVER_ROLE_INVALID = -EINVAL,
} server_role;

/* "primary", "replica", "fenced", "down", "unknown"; NULL when out of range. */
const char *server_role_to_string(server_role r);

/* Parses the names above; _SERVER_ROLE_INVALID when unknown or NULL. */
server_role server_role_from_string(const char *s);

typedef enum cluster_state {
        CLUSTER_STATE_HEALTHY,
        CLUSTER_STATE_DEGRADED,
        CLUSTER_STATE_SDOWN,
        CLUSTER_STATE_ODOWN,
        CLUSTER_STATE_FAILOVER,
        CLUSTER_STATE_SWITCHOVER,
        CLUSTER_STATE_FENCED,
        CLUSTER_STATE_NO_PRIMARY,
        CLUSTER_STATE_MAINTENANCE,
        _CLUSTER_STATE_MAX,
        _CLUSTER_STATE_INVALID = -EINVAL,
} cluster_state;

/* The SPEC 4 names: "healthy", "degraded", "sdown", "odown", "failover", "switchover", "fenced",
 * "no-primary", "maintenance"; NULL when out of range. */
const char *cluster_state_to_string(cluster_state s);

/* Parses the names above; _CLUSTER_STATE_INVALID when unknown or NULL. */
cluster_state cluster_state_from_string(const char *s);

/* What other modules know about a cluster, laid over the state the topology derives. */
typedef struct cluster_state_overlay {
        bool failover;    /* a failover is running */
        bool switchover;  /* a switchover is running */
        bool odown;       /* the primary is ODOWN */
        bool sdown;       /* the primary is SDOWN for this sentinel */
        bool fenced;      /* the primary was fenced (e.g. self-fencing) and no new one took over */
        bool maintenance; /* automatic failover is paused */
} cluster_state_overlay;

/* The state to show: the first that holds of failover, switchover, odown, sdown, fenced, maintenance
 * (what is happening outranks the operator's pause, which status shows on its own anyway), else
 * derived. o may be NULL (nothing to lay over). */
cluster_state cluster_state_resolve(cluster_state derived, const cluster_state_overlay *o);

/* Why the derived state is not healthy: bit (1u << reason) of topology.reasons. */
typedef enum topology_reason {
        TOPOLOGY_REASON_NO_PRIMARY,         /* no primary known or found */
        TOPOLOGY_REASON_PRIMARY_DOWN,       /* the primary's latest probe failed */
        TOPOLOGY_REASON_PRIMARY_UNKNOWN,    /* the primary was never probed, its variables could not be
                                             * read, or it acts as a replica */
        TOPOLOGY_REASON_PRIMARY_FENCED,     /* the primary is read-only */
        TOPOLOGY_REASON_REPLICA_DOWN,       /* another server's latest probe failed */
        TOPOLOGY_REASON_REPLICA_UNKNOWN,    /* another server was never probed or could not be read */
        TOPOLOGY_REASON_REPLICATION_BROKEN, /* a replica's IO thread is not Yes or its SQL thread stopped */
        TOPOLOGY_REASON_REPLICA_LAGGING,    /* a replica is more than failover.max_lag_ms behind */
        TOPOLOGY_REASON_ERRANT,             /* a server has transactions the primary lacks */
        TOPOLOGY_REASON_NOT_REPLICATING,    /* another server is read-only and replicates from nobody */
        TOPOLOGY_REASON_MISMATCH,           /* any other mismatch with the config */
        _TOPOLOGY_REASON_MAX,
        _TOPOLOGY_REASON_INVALID = -EINVAL,
} topology_reason;

#define TOPOLOGY_REASON_BIT(r) (1u << (r))

/* "no-primary", "primary-down", "primary-unknown", "primary-fenced", "replica-down",
 * "replica-unknown", "replication-broken", "replica-lagging", "errant", "not-replicating",
 * "mismatch"; NULL when out of range. */
const char *topology_reason_to_string(topology_reason r);

/* Parses the names above; _TOPOLOGY_REASON_INVALID when unknown or NULL. */
topology_reason topology_reason_from_string(const char *s);

/* Ways the servers disagree with the config or with each other. */
typedef enum topology_mismatch_kind {
        TOPOLOGY_MISMATCH_PRIMARY_NOT_CONFIGURED, /* the known primary is no configured server */
        TOPOLOGY_MISMATCH_MULTIPLE_PRIMARIES,     /* 2+ writable servers replicate from nobody */
        TOPOLOGY_MISMATCH_UNEXPECTED_PRIMARY,     /* such a server is not the known primary */
        TOPOLOGY_MISMATCH_PRIMARY_READ_ONLY,      /* the known primary is read-only */
        TOPOLOGY_MISMATCH_PRIMARY_REPLICATING,    /* the primary runs a replication connection */
        TOPOLOGY_MISMATCH_WRITABLE_REPLICA,       /* a replica is writable */
        TOPOLOGY_MISMATCH_FOLLOWS_UNKNOWN,        /* a replica follows no configured server */
        TOPOLOGY_MISMATCH_FOLLOWS_ALIAS,          /* ...at an address Master_Server_Id resolves */
        TOPOLOGY_MISMATCH_FOLLOWS_NON_PRIMARY,    /* a replica follows another server than the primary */
        TOPOLOGY_MISMATCH_NOT_REPLICATING,        /* a read-only non-primary replicates from nobody */
        TOPOLOGY_MISMATCH_ERRANT,                 /* a server has transactions the primary lacks */
        TOPOLOGY_MISMATCH_SERVER_ID_COLLISION,    /* servers share a server_id */
        TOPOLOGY_MISMATCH_LOG_BIN_OFF,            /* the primary or a promotable server: log_bin OFF */
        TOPOLOGY_MISMATCH_LOG_SLAVE_UPDATES_OFF,  /* a promotable server: log_slave_updates OFF */
        TOPOLOGY_MISMATCH_SEMI_SYNC_ON_REPLICA,   /* a replica: rpl_semi_sync_master_enabled ON */
        TOPOLOGY_MISMATCH_SEMI_SYNC_FALLBACK,     /* the primary enabled semi-sync but runs async */
        _TOPOLOGY_MISMATCH_KIND_MAX,
        _TOPOLOGY_MISMATCH_KIND_INVALID = -EINVAL,
} topology_mismatch_kind;

/* "primary-not-configured", "multiple-primaries", "unexpected-primary", "primary-read-only",
 * "primary-replicating", "writable-replica", "follows-unknown", "follows-alias",
 * "follows-non-primary", "not-replicating", "errant", "server-id-collision", "log-bin-off",
 * "log-slave-updates-off", "semi-sync-on-replica", "semi-sync-fallback"; NULL when out of range. */
const char *topology_mismatch_kind_to_string(topology_mismatch_kind k);

/* Parses the names above; _TOPOLOGY_MISMATCH_KIND_INVALID when unknown or NULL. */
topology_mismatch_kind topology_mismatch_kind_from_string(const char *s);

/* The SPEC 6 event that announces a mismatch: EVENT_ERRANT for errant, else EVENT_TOPOLOGY_MISMATCH;
 * _EVENT_INVALID when out of range. */
sentinel_event topology_mismatch_kind_event(topology_mismatch_kind k);

typedef struct topology_mismatch {
        topology_mismatch_kind kind;
        char *text;      /* one line for humans, naming the servers, e.g. "db-b replicates from db-c,
                          * not from the primary db-a" */
        size_t *servers; /* indexes into conf->servers; the first is the one it is about */
        size_t n_servers;
} topology_mismatch;

typedef struct topology_server {
        server_role role;
        bool alive;    /* probed, and the latest probe proves it alive */
        bool writable; /* alive, variables read, read_only OFF */

        /* Replication, from the main connection (see above). */
        size_t replication;        /* its index in status->replication, or TOPOLOGY_NONE */
        size_t follows;            /* the configured server it replicates from, or TOPOLOGY_NONE */
        bool follows_by_server_id; /* follows found by Master_Server_Id, not by address */
        bool broken;               /* a replica whose IO thread is not Yes or SQL thread not running */
        bool primary_io_connected; /* some connection to the primary has its IO thread Yes */

        bool lag_known;  /* the primary (lag 0), or a replica whose Seconds_Behind_Master is known */
        uint64_t lag_ms; /* Seconds_Behind_Master * 1000 (saturating) */
        bool lagging;    /* a replica with lag_ms > failover.max_lag_ms */

        bool gtid_known;                   /* behind and errant were computed (both probed with variables) */
        bool gtid_behind;                  /* the primary has transactions this server lacks */
        uint64_t gtid_behind_transactions; /* how many (sum of seq_no gaps) */
        gtid_diff errant;                  /* what it has that the primary lacks; empty when none */
} topology_server;

typedef struct topology {
        size_t n_servers; /* conf->n_servers, in config order */
        topology_server *servers;
        size_t primary;          /* the cluster's primary, or TOPOLOGY_NONE */
        bool primary_from_state; /* primary is the known primary (else it was discovered) */
        cluster_state state;     /* derived: healthy, degraded, fenced or no-primary */
        unsigned reasons;        /* TOPOLOGY_REASON_BIT()s; 0 exactly when healthy */
        size_t primary_evidence; /* servers other than the primary whose IO thread is Yes towards it */
        size_t n_mismatches;
        topology_mismatch *mismatches; /* cluster-wide ones first, then per server in config order */
} topology;

/* Derives the topology of conf's cluster. statuses has conf->n_servers entries in config order, each
 * the server's latest probe or NULL (never probed). known_primary is the primary's name from the
 * persisted state, or NULL. 0 and a new topology in *ret; -EINVAL when conf or statuses is NULL;
 * -ENOMEM. *ret only on success. */
int topology_build(const cluster_conf *conf, const server_status *const *statuses, const char *known_primary,
        topology **ret);

/* Frees t; NULL-safe; returns NULL. */
topology *topology_free(topology *t);

static inline void topology_freep(topology **t) {
        topology_free(*t);
}

/* The configured server at host:port (compared as hostport_equal() does, nothing resolved), or
 * TOPOLOGY_NONE. */
size_t topology_server_by_address(const cluster_conf *conf, const char *host, uint16_t port);

/* The first mismatch of that kind about server (TOPOLOGY_NONE: about any server), or NULL. */
const topology_mismatch *topology_find_mismatch(
        const topology *t, topology_mismatch_kind kind, size_t server);
