/* The status document of SPEC 4 (`sentinelctl status --json`, GET /v1/status) built with json-c from
 * plain structs the daemon fills, and the compact human table `sentinelctl status` prints, rendered
 * from that JSON (the CLI only ever gets JSON over the control socket). Pure: no I/O, no clock.
 *
 * Fields are only ever added. Besides the SPEC 4 fields each server carries "promotable", "priority",
 * "error" (probe error class, null when the probe succeeded or none ran), "error_number",
 * "error_message", "probe_latency_ms", "last_probe_age_ms", "failing_for_ms", "server_id", "version",
 * "gtid_binlog_pos", "gtid_slave_pos", "gtid_behind", "gtid_behind_transactions", "errant" (null when
 * none or unknown), "replicating_from_address", "replication" (the main connection: io_running,
 * sql_running, seconds_behind_master, last errors; null when none), "broken", "lagging", "log_bin",
 * "log_slave_updates" and "semi_sync"; each cluster "quorum", "state_reasons", "mismatches"
 * [{kind, text, servers}] and "replica_evidence". Unknown values are null, never guessed. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "gtid.h"
#include "sdown.h"
#include "server-status.h"
#include "topology.h"

typedef struct status_peer {
        const char *name;
        const char *zone;
        bool reachable;
        bool last_seen_known;
        uint64_t last_seen_ms; /* how long ago it was last heard from */
        bool epoch_known;
        uint64_t epoch;           /* the highest epoch it knows (its HELLO) */
        const uint64_t *rejected; /* its messages dropped, per peer_reject (_PEER_REJECT_MAX); NULL: none */
} status_peer;

typedef struct status_sentinel {
        const char *name;
        const char *zone;
        const char *version;
        const status_peer *peers;
        size_t n_peers;
} status_sentinel;

/* One server. Pointers are borrowed: they must stay valid until the JSON is built, no longer. */
typedef struct status_server {
        const char *name;
        const char *host;
        uint16_t port;
        const char *zone;
        bool promotable;
        int priority;
        server_role role;
        bool reachable;
        bool sdown;

        bool probed; /* a probe result exists: error, latency and age mean something */
        probe_error_class error;
        uint32_t error_number;
        const char *error_message; /* NULL: null */
        bool latency_known;
        uint64_t probe_latency_usec; /* written as "probe_latency_ms" with 3 decimals */
        bool last_probe_age_known;
        uint64_t last_probe_age_ms;
        bool failing_known; /* the server is failing probes (SDOWN or not yet) */
        uint64_t failing_for_ms;

        bool variables_known; /* read_only, server_id, version, positions, log_*, semi_sync enabled */
        bool read_only;
        uint32_t server_id;
        const char *version;
        const gtid_list *gtid_current_pos; /* NULL: null */
        const gtid_list *gtid_binlog_pos;  /* NULL: null */
        const gtid_list *gtid_slave_pos;   /* NULL: null */
        bool log_bin;
        bool log_slave_updates;
        bool semi_sync_master_enabled;
        bool semi_sync_slave_enabled;
        bool semi_sync_status_known;
        bool semi_sync_master_status;
        uint64_t semi_sync_master_clients;

        const char *replicating_from;          /* configured name, NULL: null */
        const server_replication *replication; /* the main connection, NULL: none */
        bool broken;
        bool lag_known;
        uint64_t lag_ms;
        bool lagging;
        bool gtid_known; /* gtid_behind, gtid_behind_transactions and errant were computed */
        bool gtid_behind;
        uint64_t gtid_behind_transactions;
        const gtid_diff *errant; /* NULL or empty: none */
} status_server;

typedef struct status_last_event {
        sentinel_event type;
        uint64_t epoch;
        uint64_t at_realtime_usec; /* wall clock (CLOCK_REALTIME), for humans: "at" in UTC */
} status_last_event;

/* One cluster. Borrowed pointers, as for status_server. */
typedef struct status_cluster {
        const char *name;
        cluster_state state;
        uint64_t epoch;
        const char *leader;  /* NULL: null */
        const char *primary; /* NULL: null */
        bool maintenance;
        unsigned quorum;
        const status_server *servers; /* in config order: mismatch indexes refer to it */
        size_t n_servers;
        const status_last_event *last_event; /* NULL: null */
        unsigned reasons;                    /* TOPOLOGY_REASON_BIT()s, for "state_reasons" */
        const topology_mismatch *mismatches;
        size_t n_mismatches;
        bool replica_evidence_known; /* a primary exists to give evidence about */
        size_t replica_evidence;
} status_cluster;

/* A peer from the config: not reachable, never seen (the caller fills in what it knows). */
void status_peer_init(status_peer *ret, const peer_conf *p);

/* Fills *ret for server index of conf from its latest probe (st, NULL if never probed), the topology
 * (t, NULL if none) and its SDOWN tracker (sd, NULL: not SDOWN); now_usec (CLOCK_MONOTONIC) gives
 * the ages. The result borrows from all of them. */
void status_server_init(status_server *ret, const cluster_conf *conf, size_t index, const server_status *st,
        const topology *t, const sdown_tracker *sd, uint64_t now_usec);

/* Fills *ret from conf and the topology (t, NULL if none): name, quorum, primary, derived state,
 * reasons, mismatches, evidence, and servers (n = conf->n_servers, config order). The caller then sets
 * what it alone knows: epoch, leader, maintenance, last_event, and state through
 * cluster_state_resolve(). */
void status_cluster_init(
        status_cluster *ret, const cluster_conf *conf, const topology *t, const status_server *servers);

/* The JSON of one server; 0 and a new object in *ret, -EINVAL (s NULL), -ENOMEM. */
int status_json_server(const status_server *s, json_object **ret);

/* The JSON of one cluster with its servers; 0 and a new object in *ret, -EINVAL, -ENOMEM. */
int status_json_cluster(const status_cluster *c, json_object **ret);

/* The "sentinel" object with its peers; 0 and a new object in *ret, -EINVAL, -ENOMEM. */
int status_json_sentinel(const status_sentinel *s, json_object **ret);

/* The whole document {"sentinel", "clusters"}; 0 and a new object in *ret, -EINVAL, -ENOMEM. */
int status_json_build(
        const status_sentinel *s, const status_cluster *clusters, size_t n_clusters, json_object **ret);

/* "2026-01-02T03:04:05.678Z" (UTC, milliseconds) for a CLOCK_REALTIME time in microseconds; buf must
 * hold STATUS_TIME_MAX bytes; returns buf. */
#define STATUS_TIME_MAX 32
const char *status_format_time(uint64_t realtime_usec, char buf[static STATUS_TIME_MAX]);

/* The human table of `sentinelctl status` from a status document: per cluster one line per server
 * (name, zone, role, reachable, read_only, GTID, lag, notes) in aligned columns, then state, epoch,
 * leader and the mismatches; then the sentinel and its peers. cluster (NULL: all) picks one cluster.
 * Tolerates missing or mistyped fields (printed "-"). 0 and a new string in *ret; -EINVAL when
 * status is not an object with a "clusters" array; -ENOENT when cluster is not in it; -ENOMEM. */
int status_format_table(json_object *status, const char *cluster, char **ret);
