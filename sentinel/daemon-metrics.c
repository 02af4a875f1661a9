/* The metrics of /metrics (lib/core/metrics.h): every family declared once at start, counted where
 * things happen (failover-end.c, daemon-events.c, daemon.c, daemon-peers.c, daemon-fence.c,
 * failover-publish.c, daemon-reconcile.c), and the gauges refilled from the daemon's state at each
 * scrape, so they never disagree with `sentinelctl status`. Names and labels are README's "HTTP:
 * health and metrics"; keep the two in step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "sentinel-build.h"

static const double probe_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
static const double phase_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };

static const struct {
        const char *name;
        metric_type type;
        const char *help;
} families[_DAEMON_METRIC_MAX] = {
        [DAEMON_METRIC_FAILOVERS] = { "failovers_total", METRIC_COUNTER,
                "Failover runs led by this sentinel, by cluster and result (ok, degraded, failed, aborted)." },
        [DAEMON_METRIC_SWITCHOVERS] = { "switchovers_total", METRIC_COUNTER,
                "Switchover runs led by this sentinel, by cluster and result (ok, degraded, failed, aborted)." },
        [DAEMON_METRIC_ELECTIONS_LOST] = { "elections_lost_total", METRIC_COUNTER,
                "Elections this sentinel asked for and did not win, by cluster." },
        [DAEMON_METRIC_PHASE_SECONDS] = { "failover_phase_duration_seconds", METRIC_HISTOGRAM,
                "Duration of each phase of the runs this sentinel led, by cluster, kind and phase." },
        [DAEMON_METRIC_PROBE_SECONDS] = { "probe_duration_seconds", METRIC_HISTOGRAM,
                "Duration of each probe round of a server (answered, failed or timed out), by cluster." },
        [DAEMON_METRIC_HOOK_RUNS] = { "hook_runs_total", METRIC_COUNTER,
                "Hooks that ended, by cluster, event and outcome (success, failed, timeout, error, dropped)." },
        [DAEMON_METRIC_HOOK_FAILURES] = { "hook_failures_total", METRIC_COUNTER,
                "Hooks that ran or were attempted and did not succeed, by cluster and event." },
        [DAEMON_METRIC_ENDPOINT_UPDATES] = { "endpoint_updates_total", METRIC_COUNTER,
                "Endpoints updated and verified, by cluster and endpoint type (retries included)." },
        [DAEMON_METRIC_ENDPOINT_FAILURES] = { "endpoint_failures_total", METRIC_COUNTER,
                "Endpoint updates that failed, by cluster and endpoint type (retries included)." },
        [DAEMON_METRIC_RELOADS] = { "config_reloads_total", METRIC_COUNTER,
                "Configuration reloads asked for (SIGHUP or sentinelctl reload)." },
        [DAEMON_METRIC_RELOAD_FAILURES] = { "config_reload_failures_total", METRIC_COUNTER,
                "Configuration reloads refused: the running configuration stayed in force." },
        [DAEMON_METRIC_PEER_REJECTS] = { "peer_messages_rejected_total", METRIC_COUNTER,
                "Peer messages dropped, by peer ((unattributed) when no peer can be named) and reason." },
        [DAEMON_METRIC_SELF_FENCES] = { "self_fences_total", METRIC_COUNTER,
                "Times this sentinel self-fenced its zone's primary, by cluster and reason (MAJORITY_SILENT; "
                "NEVER_HEARD: held read-only at its start until a majority confirms the primary)." },
        [DAEMON_METRIC_INFO] = { "info", METRIC_GAUGE, "This sentinel: name, zone and version; always 1." },
        [DAEMON_METRIC_SERVER_UP] = { "server_up", METRIC_GAUGE,
                "1 when the server answered its latest probe (an error answer counts as up), else 0." },
        [DAEMON_METRIC_SERVER_ROLE] = { "server_role", METRIC_GAUGE,
                "1 for the server's role (primary, replica, fenced, down, unknown), 0 for the others." },
        [DAEMON_METRIC_SERVER_READ_ONLY] = { "server_read_only", METRIC_GAUGE,
                "The server's read_only as last probed; absent when unknown." },
        [DAEMON_METRIC_SERVER_LAG] = { "server_replication_lag_seconds", METRIC_GAUGE,
                "Replication lag (Seconds_Behind_Master; 0 for the primary); absent when unknown." },
        [DAEMON_METRIC_SERVER_SDOWN] = { "server_sdown", METRIC_GAUGE,
                "1 when this sentinel sees the server subjectively down (SDOWN)." },
        [DAEMON_METRIC_CLUSTER_STATE] = { "cluster_state", METRIC_GAUGE,
                "1 for the cluster's state as status shows it, 0 for the other states." },
        [DAEMON_METRIC_CLUSTER_EPOCH] = { "cluster_epoch", METRIC_GAUGE,
                "The epoch status shows for the cluster (this sentinel's current epoch)." },
        [DAEMON_METRIC_CLUSTER_CONFIG_EPOCH] = { "cluster_config_epoch", METRIC_GAUGE,
                "The epoch of the cluster's known primary (0: discovered, not failed over to)." },
        [DAEMON_METRIC_CLUSTER_PRIMARY] = { "cluster_primary_info", METRIC_GAUGE,
                "1 for the cluster's primary as status shows it, with its server name, host and port." },
        [DAEMON_METRIC_CLUSTER_MAINTENANCE] = { "cluster_maintenance", METRIC_GAUGE,
                "1 while maintenance mode is on for the cluster." },
        [DAEMON_METRIC_PEER_UP] = { "peer_up", METRIC_GAUGE,
                "1 while the peer sentinel is reachable (a valid message within 1500 ms)." },
        [DAEMON_METRIC_QUORUM_OK] = { "quorum_ok", METRIC_GAUGE,
                "1 while this sentinel reaches a majority of all sentinels, itself included (always without peers)." },
};

static const char *const run_results[] = { "ok", "degraded", "failed", "aborted" };
static const quorum_fence_reason fence_reasons[] = { QUORUM_FENCE_MAJORITY_SILENT, QUORUM_FENCE_NEVER_HEARD };

int daemon_metrics_init(daemon_ctx *d) {
        daemon_metrics *m = &d->metrics;
        int r;

        r = metrics_new(&m->registry);
        if (r < 0)
                return r;
        for (int i = 0; i < _DAEMON_METRIC_MAX; i++) {
                const double *b = NULL;
                size_t n = 0;
                if (i == DAEMON_METRIC_PROBE_SECONDS)
                        b = probe_buckets, n = ELEMENTSOF(probe_buckets);
                else if (i == DAEMON_METRIC_PHASE_SECONDS)
                        b = phase_buckets, n = ELEMENTSOF(phase_buckets);
                r = metrics_declare(m->registry, families[i].name, families[i].type, families[i].help, b, n,
                        &m->family[i]);
                if (r < 0) {
                        daemon_metrics_done(d);
                        return r;
                }
        }
        return 0;
}

void daemon_metrics_done(daemon_ctx *d) {
        d->metrics.registry = metrics_free(d->metrics.registry);
        for (int i = 0; i < _DAEMON_METRIC_MAX; i++)
                d->metrics.family[i] = NULL;
}

/* The family f of d, or NULL when nothing is counted. */
static metric_family *fam(const daemon_ctx *d, daemon_metric f) {
        return d->metrics.registry ? d->metrics.family[f] : NULL;
}

/* ---- counting ---- */

/* Counting never fails loudly: a series that cannot be made (out of memory) is skipped. */
static void count(const daemon_ctx *d, daemon_metric f, const char *const *labels) {
        metric_family *mf = fam(d, f);
        if (mf && metric_inc(mf, labels) < 0)
                log_debug("metrics: cannot count %s", families[f].name);
}

void daemon_metrics_run_ended(daemon_cluster *dc, const failover_run *run, bool switchover) {
        daemon_ctx *d = dc->daemon;
        metric_family *h = fam(d, DAEMON_METRIC_PHASE_SECONDS);
        const char *kind = switchover ? "switchover" : "failover";

        count(d, switchover ? DAEMON_METRIC_SWITCHOVERS : DAEMON_METRIC_FAILOVERS,
                METRIC_LABELS("cluster", dc->conf->name, "result", failover_result_to_string(run->result) ?: "?"));
        for (int p = 0; h && p < FAILOVER_PHASE_DONE; p++) {
                const failover_phase_span *span = &run->phases[p];
                if (!span->entered || !span->ended || span->end_usec < span->start_usec)
                        continue;
                (void) metric_observe(h,
                        METRIC_LABELS("cluster", dc->conf->name, "kind", kind, "phase", failover_phase_to_string(p)),
                        (double) (span->end_usec - span->start_usec) / USEC_PER_SEC);
        }
}

void daemon_metrics_election_lost(daemon_cluster *dc) {
        count(dc->daemon, DAEMON_METRIC_ELECTIONS_LOST, METRIC_LABELS("cluster", dc->conf->name));
}

void daemon_metrics_probe(daemon_cluster *dc, const server_status *st) {
        metric_family *h = fam(dc->daemon, DAEMON_METRIC_PROBE_SECONDS);
        if (h && st->finished_usec >= st->started_usec)
                (void) metric_observe(h, METRIC_LABELS("cluster", dc->conf->name),
                        (double) (st->finished_usec - st->started_usec) / USEC_PER_SEC);
}

void daemon_metrics_hook(daemon_ctx *d, const hook_report *rep) {
        const char *cluster = rep->cluster ?: "", *event = event_to_string(rep->event) ?: "?";

        count(d, DAEMON_METRIC_HOOK_RUNS,
                METRIC_LABELS("cluster", cluster, "event", event, "outcome", hook_outcome_to_string(rep->outcome) ?: "?"));
        if (rep->outcome != HOOK_OUTCOME_SUCCESS && rep->outcome != HOOK_OUTCOME_DROPPED)
                count(d, DAEMON_METRIC_HOOK_FAILURES, METRIC_LABELS("cluster", cluster, "event", event));
}

void daemon_metrics_endpoint(daemon_cluster *dc, endpoint_type type, bool ok) {
        count(dc->daemon, ok ? DAEMON_METRIC_ENDPOINT_UPDATES : DAEMON_METRIC_ENDPOINT_FAILURES,
                METRIC_LABELS("cluster", dc->conf->name, "type", endpoint_type_to_string(type) ?: "?"));
}

void daemon_metrics_reload(daemon_ctx *d, bool ok) {
        count(d, DAEMON_METRIC_RELOADS, NULL);
        if (!ok)
                count(d, DAEMON_METRIC_RELOAD_FAILURES, NULL);
}

void daemon_metrics_peer_reject(daemon_ctx *d, const char *peer, peer_reject why) {
        count(d, DAEMON_METRIC_PEER_REJECTS,
                METRIC_LABELS("peer", peer ?: "(unattributed)", "reason", peer_reject_to_string(why) ?: "?"));
}

void daemon_metrics_self_fence(daemon_cluster *dc, const char *reason) {
        count(dc->daemon, DAEMON_METRIC_SELF_FENCES, METRIC_LABELS("cluster", dc->conf->name, "reason", reason ?: "?"));
}

/* ---- the gauges, at each scrape ---- */

static int set(daemon_ctx *d, daemon_metric f, const char *const *labels, double v) {
        return metric_set(d->metrics.family[f], labels, v);
}

/* Zero series of every counter a cluster always has, so that rate() works before the first event. */
static int cluster_counters(daemon_ctx *d, const char *cluster) {
        int r = 0;
        for (size_t k = 0; k < ELEMENTSOF(run_results) && r >= 0; k++) {
                const char *const *l = METRIC_LABELS("cluster", cluster, "result", run_results[k]);
                r = metric_add(d->metrics.family[DAEMON_METRIC_FAILOVERS], l, 0);
                if (r >= 0)
                        r = metric_add(d->metrics.family[DAEMON_METRIC_SWITCHOVERS], l, 0);
        }
        if (r >= 0)
                r = metric_add(d->metrics.family[DAEMON_METRIC_ELECTIONS_LOST], METRIC_LABELS("cluster", cluster), 0);
        for (size_t k = 0; k < ELEMENTSOF(fence_reasons) && r >= 0; k++)
                r = metric_add(d->metrics.family[DAEMON_METRIC_SELF_FENCES],
                        METRIC_LABELS("cluster", cluster, "reason", quorum_fence_reason_to_string(fence_reasons[k])), 0);
        return r;
}

static int server_gauges(daemon_ctx *d, const daemon_cluster *dc, size_t i, uint64_t now) {
        const char *cluster = dc->conf->name, *server = dc->conf->servers[i].name;
        const char *const *l = METRIC_LABELS("cluster", cluster, "server", server);
        status_server s;
        int r;

        status_server_init(&s, dc->conf, i, monitor_server_status(dc->monitor, i), monitor_topology(dc->monitor),
                monitor_sdown(dc->monitor, i), now);
        r = set(d, DAEMON_METRIC_SERVER_UP, l, s.reachable);
        for (int role = 0; role < _SERVER_ROLE_MAX && r >= 0; role++)
                r = set(d, DAEMON_METRIC_SERVER_ROLE,
                        METRIC_LABELS("cluster", cluster, "server", server, "role", server_role_to_string(role)),
                        s.role == role);
        if (r >= 0 && s.variables_known)
                r = set(d, DAEMON_METRIC_SERVER_READ_ONLY, l, s.read_only);
        if (r >= 0 && s.lag_known)
                r = set(d, DAEMON_METRIC_SERVER_LAG, l, (double) s.lag_ms / 1000);
        if (r >= 0)
                r = set(d, DAEMON_METRIC_SERVER_SDOWN, l, s.sdown);
        return r;
}

static int cluster_gauges(daemon_ctx *d, const daemon_cluster *dc, uint64_t now) {
        const cluster_conf *c = dc->conf;
        const topology *t = monitor_topology(dc->monitor);
        const char *const *l = METRIC_LABELS("cluster", c->name);
        cluster_state cstate = daemon_cluster_state(dc);
        uint64_t config_epoch = 0;
        int r = 0;

        for (size_t i = 0; i < c->n_servers && r >= 0; i++)
                r = server_gauges(d, dc, i, now);
        for (int s = 0; s < _CLUSTER_STATE_MAX && r >= 0; s++)
                r = set(d, DAEMON_METRIC_CLUSTER_STATE,
                        METRIC_LABELS("cluster", c->name, "state", cluster_state_to_string(s)), cstate == s);
        (void) state_get_cluster_primary(d->state, c->name, NULL, &config_epoch);
        if (r >= 0)
                r = set(d, DAEMON_METRIC_CLUSTER_EPOCH, l, (double) state_get_epoch(d->state));
        if (r >= 0)
                r = set(d, DAEMON_METRIC_CLUSTER_CONFIG_EPOCH, l, (double) config_epoch);
        if (r >= 0 && t && t->primary < c->n_servers) {
                const server_conf *p = &c->servers[t->primary];
                char port[8];
                snprintf(port, sizeof(port), "%u", p->port);
                r = set(d, DAEMON_METRIC_CLUSTER_PRIMARY,
                        METRIC_LABELS("cluster", c->name, "server", p->name, "host", p->host, "port", port), 1);
        }
        if (r >= 0)
                r = set(d, DAEMON_METRIC_CLUSTER_MAINTENANCE, l, daemon_cluster_maintenance(dc, NULL));
        if (r >= 0)
                r = cluster_counters(d, c->name);
        return r;
}

static int sentinel_gauges(daemon_ctx *d) {
        const sentinel_conf *s = &d->config->sentinel;
        status_peer peers[s->n_peers ? s->n_peers : 1];
        int r;

        r = set(d, DAEMON_METRIC_INFO, METRIC_LABELS("sentinel", s->name, "zone", s->zone, "version", SENTINEL_VERSION), 1);
        for (size_t i = 0; i < s->n_peers; i++)
                status_peer_init(&peers[i], &s->peers[i]);
        daemon_peers_status(d, peers, s->n_peers);
        for (size_t i = 0; i < s->n_peers && r >= 0; i++)
                r = set(d, DAEMON_METRIC_PEER_UP, METRIC_LABELS("peer", peers[i].name), peers[i].reachable);
        if (r >= 0)
                r = set(d, DAEMON_METRIC_QUORUM_OK, NULL,
                        s->n_peers == 0 || 1 + daemon_peers_reachable(d) >= config_majority(d->config));
        if (r >= 0)
                r = metric_add(d->metrics.family[DAEMON_METRIC_RELOADS], NULL, 0);
        if (r >= 0)
                r = metric_add(d->metrics.family[DAEMON_METRIC_RELOAD_FAILURES], NULL, 0);
        return r;
}

int daemon_metrics_render(daemon_ctx *d, char **ret, size_t *ret_len) {
        uint64_t now = 0;
        int r;

        if (!d->metrics.registry)
                return -ENODATA;
        for (int i = _DAEMON_METRIC_COUNTED; i < _DAEMON_METRIC_MAX; i++)
                metric_family_reset(d->metrics.family[i]);
        r = sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sentinel_gauges(d);
        for (size_t i = 0; i < d->n_clusters && r >= 0; i++)
                if (d->clusters[i] && d->clusters[i]->monitor)
                        r = cluster_gauges(d, d->clusters[i], now);
        if (r < 0)
                return r;
        return metrics_render(d->metrics.registry, ret, ret_len);
}
