/* The daemon's one context and the functions its files share. Everything mutable of the running
 * sentinel lives in a daemon_ctx; there is no other process-wide state but the log target. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "config.h"
#include "control-server.h"
#include "failover-decide.h"
#include "failover-op.h"
#include "hook.h"
#include "macro.h"
#include "metrics.h"
#include "monitor.h"
#include "peer-payload.h"
#include "quorum.h"
#include "server-action.h"
#include "state.h"
#include "status-json.h"

typedef struct daemon_cluster {
        struct daemon_ctx *daemon;
        const cluster_conf *conf; /* points into daemon->config */
        monitor *monitor;
        bool has_last_event;
        status_last_event last_event;
        bool shown_valid; /* shown_state and shown_primary are what STATUS= last reflected */
        cluster_state shown_state;
        size_t shown_primary;

        failover_op *op;            /* the running failover or switchover, or NULL */
        failover_pager pager;       /* paging of a refusal that lasts */
        json_object *last_decision; /* the last failover decision, for `why`; NULL */
        bool odown;                 /* odown was raised for the primary's current outage */
        bool refusing;              /* the primary is down and failover is refused */
        failover_reason refused_reason;
        uint64_t last_failover_usec; /* CLOCK_MONOTONIC of the last promotion in this boot; 0 */
        uint64_t retry_after_usec;   /* an automatic run failed: no new one before this (monotonic) */
        uint64_t answered_usec;      /* a run of ours was aborted because the primary answered then: it
                                      * cannot be SDOWN before down_after_ms more (monotonic; 0: none) */
        uint64_t op_ended_usec;      /* when the last run ended: older probes describe the cluster before it */
        uint64_t quiet_until_usec;   /* COOLDOWN refusals before this are expected, not paged: another
                                      * sentinel leads (we voted for it, adopted its configuration), or
                                      * our lost election waits for its randomised retry */
        uint64_t elect_after_usec;   /* with peers: the randomised start of the first election after ODOWN */
        sd_event_source *elect_timer; /* evaluates the cluster at elect_after_usec */
        uint64_t not_odown_since_usec; /* with peers: since when the primary is down here but not ODOWN; 0 */
        unsigned election_attempts;  /* failed elections in a row: lengthens the retry delay */
        uint64_t voted_usec;         /* when this sentinel last voted in the cluster's elections, its own
                                      * candidacy included (monotonic); 0: not since it started */
        bool settling;               /* a run ended and not every server was probed since: mismatches wait */
        sd_event_source *maintenance_timer;
        struct reconcile_state *reconcile; /* daemon-reconcile.c */
        struct self_fence *fence;          /* daemon-fence.c; NULL without peers */
} daemon_cluster;

/* daemon-metrics.c: what /metrics serves. The families are declared once at start when http_listen is
 * set (registry NULL otherwise, and counting is a no-op); counters and histograms live as long as the
 * daemon, gauges are refilled from the daemon's state at each scrape. */
typedef enum daemon_metric {
        DAEMON_METRIC_FAILOVERS,
        DAEMON_METRIC_SWITCHOVERS,
        DAEMON_METRIC_ELECTIONS_LOST,
        DAEMON_METRIC_PHASE_SECONDS,
        DAEMON_METRIC_PROBE_SECONDS,
        DAEMON_METRIC_HOOK_RUNS,
        DAEMON_METRIC_HOOK_FAILURES,
        DAEMON_METRIC_ENDPOINT_UPDATES,
        DAEMON_METRIC_ENDPOINT_FAILURES,
        DAEMON_METRIC_RELOADS,
        DAEMON_METRIC_RELOAD_FAILURES,
        DAEMON_METRIC_PEER_REJECTS,
        DAEMON_METRIC_SELF_FENCES,
        _DAEMON_METRIC_COUNTED, /* the gauges follow: refilled at each scrape */
        DAEMON_METRIC_INFO = _DAEMON_METRIC_COUNTED,
        DAEMON_METRIC_SERVER_UP,
        DAEMON_METRIC_SERVER_ROLE,
        DAEMON_METRIC_SERVER_READ_ONLY,
        DAEMON_METRIC_SERVER_LAG,
        DAEMON_METRIC_SERVER_SDOWN,
        DAEMON_METRIC_CLUSTER_STATE,
        DAEMON_METRIC_CLUSTER_EPOCH,
        DAEMON_METRIC_CLUSTER_CONFIG_EPOCH,
        DAEMON_METRIC_CLUSTER_PRIMARY,
        DAEMON_METRIC_CLUSTER_MAINTENANCE,
        DAEMON_METRIC_PEER_UP,
        DAEMON_METRIC_QUORUM_OK,
        _DAEMON_METRIC_MAX,
} daemon_metric;

typedef struct daemon_metrics {
        metrics *registry;
        metric_family *family[_DAEMON_METRIC_MAX];
} daemon_metrics;

typedef struct daemon_ctx {
        const char *config_path;
        config *config;
        state *state;
        audit *audit;
        int state_lock_fd;
        sd_event *event;
        hook_dispatcher *hooks;
        control_server *control;
        daemon_cluster **clusters; /* one per config cluster, in config order; stable pointers */
        size_t n_clusters;
        struct daemon_peers *peers; /* daemon-peers.c; NULL without peers */
        struct daemon_lease *lease; /* daemon-fence.c: the pings of the self-fencing lease; NULL without peers */
        bool ready;        /* READY=1 was sent */
        char *status_line; /* the last STATUS= sent */
        daemon_metrics metrics;   /* daemon-metrics.c */
        struct http_server *http; /* daemon-http.c; NULL without http_listen */
        char *http_address;       /* the address it listens on, as started */
} daemon_ctx;

/* daemon.c: runs the daemon until SIGTERM/SIGINT; 0 on a clean exit, else a negative errno (logged). */
int daemon_run(daemon_ctx *d);

/* daemon.c: frees everything d holds. */
void daemon_ctx_done(daemon_ctx *d);

/* daemon.c: tells systemd READY=1 once every cluster finished its first round, and the STATUS= line. */
void daemon_update_notify(daemon_ctx *d);

/* daemon.c: a cluster's monitor took in a result; updates systemd when its state or primary changed. */
void daemon_cluster_changed(daemon_cluster *dc);

/* daemon-events.c: the monitor callbacks (log, audit, hooks, adopting a discovered primary). */
extern const monitor_callbacks daemon_monitor_callbacks;

/* daemon-events.c: reports a finished hook (audit and log). */
void daemon_on_hook_report(hook_dispatcher *h, const hook_report *report, void *userdata);

/* daemon-events.c: raises a SPEC 6 event of a cluster: logged once (journal fields, MESSAGE_ID), audited
 * with details (taken; NULL: none) and the message, shown as the cluster's last event, and handed to
 * its notify hooks. old_primary and new_primary are server indexes or TOPOLOGY_NONE. */
void daemon_raise(daemon_cluster *dc, sentinel_event ev, uint64_t epoch, const char *reason, size_t old_primary,
        size_t new_primary, json_object *details, const char *format, ...) _printf_(8, 9);

/* daemon-events.c: writes one audit record of an event or decision; logs when the write fails. */
void daemon_audit(daemon_ctx *d, const char *cluster, const char *decision, const char *reason, json_object *inputs);

/* daemon-events.c: writes an audit record at an explicit epoch. */
void daemon_audit_epoch(daemon_ctx *d, const char *cluster, uint64_t epoch, const char *decision, const char *reason,
        json_object *inputs);

/* failover-trigger.c: after every monitor result: starts a failover when the primary is down and every
 * pre-check passes, audits and pages refusals, feeds a running op, reconciles returning servers. */
void daemon_cluster_evaluate(daemon_cluster *dc);

/* failover-trigger.c: the first election after ODOWN (or after a maintenance that held it back) may
 * start only after a delay staggered by this sentinel's place among all (dc->elect_after_usec). */
void daemon_cluster_stagger_election(daemon_cluster *dc);

/* daemon-maintenance.c: whether maintenance is on for the cluster now (expired TTLs count as off). */
bool daemon_cluster_maintenance(const daemon_cluster *dc, uint64_t *ret_until_realtime_usec);

/* failover-trigger.c: whether a run of dc that this sentinel does not lead may be going on: its last vote
 * went to another sentinel, in an epoch above its configuration's, less than failover.timeout_ms ago, so
 * that epoch's leader may still act (a vote for itself is its own run: dc->op while it lasts).
 * *ret_epoch (may be NULL): that epoch. An operator's run is not started then, and no vote goes to
 * another candidate (quorum.h, BUSY). */
bool daemon_cluster_election_pending(const daemon_cluster *dc, uint64_t *ret_epoch);

/* failover-trigger.c: the control verbs failover, switchover. */
int daemon_control_failover(daemon_cluster *dc, control_client *c, const control_request *req);
int daemon_control_switchover(daemon_cluster *dc, control_client *c, const control_request *req);

/* daemon-maintenance.c: the control verb maintenance: recorded (set now), persisted, sent to the
 * connected peers; the reply says to how many of them. */
int daemon_control_maintenance(daemon_cluster *dc, control_client *c, const control_request *req);

/* daemon-maintenance.c: a MAINTENANCE payload from peer sender: adopted (persisted, timer armed, logged,
 * audited) when its set time is newer than ours. 0 (also when ignored), -EINVAL for a bad payload. */
int daemon_maintenance_on_message(daemon_ctx *d, const char *sender, json_object *payload);

/* daemon-maintenance.c: the link to peer (config order) (re)connected: sends it the maintenance record
 * of every cluster that has one with a set time, so that a sentinel back from a restart or a partition
 * converges. */
void daemon_maintenance_peer_connected(daemon_ctx *d, size_t peer);

/* daemon-history.c: the control verbs history and why (from the audit log). */
int daemon_control_history(daemon_cluster *dc, control_client *c, const control_request *req);
int daemon_control_why(daemon_cluster *dc, control_client *c, const control_request *req);

/* daemon-reconcile.c: makes returning servers follow the known primary (rejoin an old primary, repoint
 * a replica left behind), retries endpoints that failed; never while an op runs. */
void daemon_reconcile(daemon_cluster *dc);

/* daemon-reconcile.c: an op promoted a server and some endpoints failed: retry them until they succeed
 * or a newer epoch exists. */
void daemon_reconcile_endpoints_failed(daemon_cluster *dc, uint64_t epoch);

/* failover-publish.c: an endpoint's outcome for the details of its endpoint-updated or endpoint-failed
 * record and page (endpoint, index, duration_ms; retried when a later retry did it); NULL when out of
 * memory. */
struct endpoint_outcome;
json_object *daemon_endpoint_details(const struct endpoint_outcome *o, bool retried);

/* daemon-reconcile.c: frees the reconciliation state (actions in flight cancelled). */
void daemon_reconcile_free(daemon_cluster *dc);

/* daemon.c: a server_action on server i of dc with the cluster's account and TLS settings (copied:
 * they may outlive a reload). 0 and *ret, or a negative errno. */
int daemon_server_action_new(daemon_cluster *dc, size_t i, server_action **ret);

/* daemon.c: the cluster's state as status and STATUS= show it. */
cluster_state daemon_cluster_state(const daemon_cluster *dc);

/* daemon.c: what the daemon knows about a cluster beyond its topology (op, SDOWN, ODOWN, maintenance). */
cluster_state_overlay daemon_cluster_overlay(const daemon_cluster *dc);

/* daemon-maintenance.c: arms (or disarms) the timer that ends a maintenance window with a TTL. */
void daemon_cluster_arm_maintenance(daemon_cluster *dc);

/* daemon-control.c: the leader of the epoch of the cluster's configuration as this sentinel knows it
 * (itself while it runs a failover or switchover; whom it voted for in that epoch), or NULL: unknown
 * (a discovered primary, or a configuration adopted from an epoch it did not vote in). */
const char *daemon_cluster_leader(const daemon_cluster *dc);

/* daemon-control.c: answers control requests. */
int daemon_control_handler(control_server *s, control_client *c, const control_request *req, void *userdata);

/* daemon-control.c: logs refused and dropped control connections (at most once a minute per event
 * and uid: the server throttles). */
void daemon_control_event(control_server *s, control_server_event ev, const struct ucred *peer, unsigned n_suppressed,
        void *userdata);

/* daemon.c: re-reads the config; a bad one is refused and the old one stays. 0, or the error (logged)
 * with *ret_error set to its one line when ret_error is not NULL. */
int daemon_reload(daemon_ctx *d, char **ret_error);

typedef struct daemon_peers daemon_peers;

/* daemon-peers.c: with peers configured, listens on sentinel.listen, dials every peer and sends HELLO
 * and OPINION every round (500 ms, or self_fence_after_ms / 4 when shorter); answers vote requests, adopts newer configurations. 0 (also without
 * peers) or a negative errno (logged). */
int daemon_peers_start(daemon_ctx *d);

/* daemon-peers.c: stops talking to the peers and frees their state. */
void daemon_peers_free(daemon_ctx *d);

/* daemon-peers.c: how many peers are configured / reachable now (this sentinel not included). */
size_t daemon_peers_count(const daemon_ctx *d);
size_t daemon_peers_reachable(const daemon_ctx *d);

/* daemon-peers.c: fills reachable, last_seen and zone of the status peers (initialised from the config). */
void daemon_peers_status(const daemon_ctx *d, status_peer *peers, size_t n);

/* daemon-peers.c: the latest OPINION of the peer named sentinel about cluster; NULL when none. */
const peer_opinion_cluster *daemon_peers_opinion_of(const daemon_ctx *d, const char *sentinel, const char *cluster);

/* daemon-votes.c: the highest epoch in which this sentinel will never lead a run of dc: its current
 * epoch, or below an election or run of its own, or a configuration of its own written ahead of a
 * promotion. Never decreases; sent in OPINIONs as settled_epoch. */
uint64_t daemon_cluster_settled_epoch(const daemon_cluster *dc);

/* daemon-votes.c: whether candidate (this sentinel or a peer) will never lead a run of dc in epoch, as
 * far as it said (its settled_epoch): a vote for it there no longer stands for a run that may be going
 * on, so it neither suspends confirmations (self-fencing) nor makes this sentinel BUSY. */
bool daemon_vote_settled(const daemon_cluster *dc, uint64_t epoch, const char *candidate);

/* daemon-votes.c: a peer's HELLO said it knows epoch: a higher one than ours becomes our current epoch
 * (persisted, logged), so that after an election that produced no configuration every sentinel
 * still shows one epoch and the next election goes above it. */
void daemon_epoch_seen(daemon_ctx *d, const char *peer, uint64_t epoch);

/* daemon-peers.c: the peers' latest opinions about dc (ret has room for daemon_peers_count()). */
void daemon_peers_opinions(daemon_cluster *dc, quorum_opinion *ret, size_t *ret_n);

/* daemon-peers.c: quorum_odown() of primary of dc over this sentinel's SDOWN and the peers' fresh
 * opinions (window down_after_ms + 2 x interval_ms); *ret_json (may be NULL) its JSON. */
int daemon_cluster_odown(daemon_cluster *dc, size_t primary, quorum_odown_result *ret, json_object **ret_json);

/* daemon-peers.c: whether a peer's fresh OPINION says it holds primary of dc self-fenced. */
bool daemon_peers_self_fenced(daemon_cluster *dc, const char *primary);

/* daemon-peers.c: sends every peer this sentinel's OPINION now (an SDOWN began or ended), not only at
 * the next round. */
void daemon_peers_opinion_now(daemon_ctx *d);

/* daemon-peers.c: broadcasts VOTE_REQUEST {cluster, epoch, primary, kind}. */
void daemon_peers_request_votes(daemon_cluster *dc, uint64_t epoch, const char *primary, quorum_vote_kind kind);

/* daemon-peers.c: broadcasts CONFIG {cluster, epoch, primary} after a promotion. */
void daemon_peers_announce_config(daemon_cluster *dc, uint64_t epoch, const char *primary);

/* daemon-peers.c: sends a message with payload (taken) to peer `to` (config order), or to every
 * connected peer when to < 0: how many peers it went to (0 without peers), or a negative errno. */
int daemon_peers_send(daemon_ctx *d, ssize_t to, peer_msg_type type, json_object *payload);

/* daemon-fence.c: starts the pings of the self-fencing lease at first_ping (this boot's boot time, so
 * pings only grow across restarts). 0 or -ENOMEM. */
int daemon_lease_start(daemon_ctx *d, uint64_t first_ping);

/* daemon-fence.c: the ping of this OPINION round, its sending time recorded. */
uint64_t daemon_lease_ping(daemon_ctx *d);

/* daemon-fence.c: takes the confirmations in an OPINION of peer (config order), dated by the ping its
 * pong echoes, and re-evaluates the self-fence of each cluster it confirms. */
void daemon_lease_on_opinion(daemon_ctx *d, size_t peer, const peer_opinion *o);

/* daemon-fence.c: frees the lease. */
void daemon_lease_free(daemon_ctx *d);

/* daemon-fence.c: whether this sentinel confirms the cluster's primary now (its OPINION's confirms). */
bool daemon_cluster_confirms(daemon_cluster *dc);

/* daemon-fence.c: this sentinel voted (or asked for votes) in an election of dc in epoch: it stops
 * confirming the primary for 2 x failover.timeout_ms unless a newer configuration arrives. */
void daemon_fence_voted(daemon_cluster *dc, uint64_t epoch);

/* daemon-fence.c: with peers, fences (read_only=ON, clients killed) the primary of this sentinel's zone
 * when no majority of sentinels confirmed it for self_fence_after_ms, lifts its own fence when a
 * majority confirms it again; logged, audited, paged. Cheap: called after every OPINION and probe. */
void daemon_fence_evaluate(daemon_cluster *dc);

/* daemon-fence.c: whether this sentinel holds the cluster's primary self-fenced now. */
bool daemon_fence_holds(const daemon_cluster *dc);

/* daemon-fence.c: the cluster's config was replaced: a fence or lift in flight (which points into the
 * old one) is cancelled; the next evaluation starts it again if still due. */
void daemon_fence_reconfigured(daemon_cluster *dc);

/* daemon-fence.c: frees the cluster's self-fence state (an action in flight is cancelled). */
void daemon_fence_free(daemon_cluster *dc);

/* daemon-control.c: the status document of SPEC 4 (`status --json`, GET /v1/status), of every cluster
 * or only the one called only (NULL: all). 0 and a new object in *ret, or a negative errno. */
int daemon_status_json(daemon_ctx *d, const char *only, json_object **ret);

/* daemon-http.c: with sentinel.http_listen set, serves /metrics, /health, /v1/status and
 * /v1/clusters/NAME/primary on the loop (logged once with the address); 0 (also without it), or a
 * negative errno with one line logged (the daemon does not start). */
int daemon_http_start(daemon_ctx *d);

/* daemon-http.c: closes the HTTP server and frees the metrics. */
void daemon_http_stop(daemon_ctx *d);

/* daemon-http.c: after a reload: warns when sentinel.http_listen changed (it takes effect at restart). */
void daemon_http_reloaded(daemon_ctx *d);

/* daemon-metrics.c: declares every family of /metrics (d->metrics). 0 or -ENOMEM. */
int daemon_metrics_init(daemon_ctx *d);

/* daemon-metrics.c: frees the registry; counting is a no-op afterwards. */
void daemon_metrics_done(daemon_ctx *d);

/* daemon-metrics.c: /metrics now: the gauges refilled from the daemon's state, then everything rendered
 * (metrics.h). 0 and a new string, or a negative errno. */
int daemon_metrics_render(daemon_ctx *d, char **ret, size_t *ret_len);

/* daemon-metrics.c: counting what happens (each a no-op without http_listen). A run that ended (not a
 * lost election): failovers_total or switchovers_total by result, and each phase's duration. */
void daemon_metrics_run_ended(daemon_cluster *dc, const failover_run *run, bool switchover);
void daemon_metrics_election_lost(daemon_cluster *dc);
void daemon_metrics_probe(daemon_cluster *dc, const server_status *st);
void daemon_metrics_hook(daemon_ctx *d, const hook_report *rep);
void daemon_metrics_endpoint(daemon_cluster *dc, endpoint_type type, bool ok);
void daemon_metrics_reload(daemon_ctx *d, bool ok);
void daemon_metrics_peer_reject(daemon_ctx *d, const char *peer, peer_reject why); /* peer NULL: unattributed */
void daemon_metrics_self_fence(daemon_cluster *dc, const char *reason); /* quorum_fence_reason */
