/* When to fail over (SPEC 5.7-5.10): after every monitor result of a cluster whose primary is down for
 * this sentinel, the pre-checks of failover-decide.h run over the candidates of candidate.h; a GO
 * starts the engine (failover-op.h), a refusal is audited, logged and paged as failover-refused, and
 * paged again every down_after_ms while it lasts. Also the operator's verbs that start or pause one:
 * failover, switchover (with --dry-run) and maintenance. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "candidate.h"
#include "daemon.h"
#include "failover-decide.h"
#include "log.h"
#include "macro.h"
#include "switchover-check.h"
#include "timefmt.h"

/* A decision with everything it was made from. */
typedef struct decision {
        failover_decide_input in;
        failover_decision d;
        candidate_selection *selection;
        json_object *json;
        size_t primary;
} decision;

static void decision_done(decision *x) {
        failover_decision_done(&x->d);
        candidate_selection_free(x->selection);
        json_object_put(x->json);
        *x = (decision){};
}

static uint64_t loop_now(const daemon_cluster *dc) {
        uint64_t now = 0;
        (void) sd_event_now(dc->daemon->event, CLOCK_MONOTONIC, &now);
        return now;
}

bool daemon_cluster_maintenance(const daemon_cluster *dc, uint64_t *ret_until_realtime_usec) {
        uint64_t until = 0;
        bool on = state_get_cluster_maintenance(dc->daemon->state, dc->conf->name, &until) > 0 &&
                until > timefmt_now_realtime_usec();
        if (ret_until_realtime_usec)
                *ret_until_realtime_usec = on ? until : 0;
        return on;
}

/* Another server than the failed primary (and the candidate, which promotion makes writable anyway)
 * takes writes: promoting now would make two primaries. */
static size_t another_writable(const daemon_cluster *dc, size_t primary, size_t candidate) {
        const topology *t = monitor_topology(dc->monitor);
        for (size_t i = 0; t && i < t->n_servers; i++)
                if (i != primary && i != candidate && t->servers[i].writable)
                        return i;
        return TOPOLOGY_NONE;
}

/* Runs the pre-checks for a failover of primary now; 0 and *ret filled in, or a negative errno. */
static int decide(daemon_cluster *dc, size_t primary, bool manual, bool forced, bool no_quorum, const char *target,
        decision *ret) {
        const cluster_conf *c = dc->conf;
        const monitor *m = dc->monitor;
        daemon_ctx *d = dc->daemon;
        const server_status *latest[c->n_servers], *last_good[c->n_servers];
        bool good = monitor_last_good_primary(m, NULL) == primary;
        uint64_t last_rt = 0;
        decision x = {};
        int r;

        for (size_t i = 0; i < c->n_servers; i++) {
                latest[i] = monitor_server_status(m, i);
                last_good[i] = good ? monitor_last_good(m, i) : NULL;
        }
        candidate_options opts = { .forced = forced, .target = target };
        r = candidate_select(c, latest, last_good, monitor_topology(m), primary, &opts, &x.selection);
        if (r < 0)
                return r;
        (void) state_get_cluster_last_failover(d->state, c->name, &last_rt, NULL);
        const sdown_tracker *sd = monitor_sdown(m, primary);
        bool sdown = sd && sdown_is_down(sd);
        bool odown = sdown && c->quorum <= 1; /* no peers: this sentinel's SDOWN is the ODOWN */
        if (daemon_peers_count(d) > 0) {
                quorum_odown_result od = {};
                odown = daemon_cluster_odown(dc, primary, &od, NULL) >= 0 && od.odown;
                quorum_odown_result_done(&od);
        }
        x.primary = primary;
        x.in = (failover_decide_input){
                .conf = c,
                .primary = c->servers[primary].name,
                .manual = manual,
                .forced = forced,
                .no_quorum = no_quorum,
                .maintenance = daemon_cluster_maintenance(dc, NULL),
                .sentinels_reachable = 1 + daemon_peers_reachable(d),
                .majority = config_majority(d->config),
                .primary_sdown = sdown,
                .primary_odown = odown,
                .primary_alive = latest[primary] && latest[primary]->reachable,
                .last_failover_usec = dc->last_failover_usec,
                .last_failover_realtime_usec = last_rt,
                .now_usec = loop_now(dc),
                .now_realtime_usec = timefmt_now_realtime_usec(),
                .selection = x.selection,
        };
        r = failover_plan_decide(&x.in, &x.d);
        if (r < 0) {
                decision_done(&x);
                return r;
        }
        size_t other = x.d.go ? another_writable(dc, primary, x.d.candidate) : TOPOLOGY_NONE;
        if (other != TOPOLOGY_NONE) {
                char *text = NULL;
                x.d.go = false;
                x.d.reason = FAILOVER_REASON_ANOTHER_PRIMARY;
                x.d.refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_ANOTHER_PRIMARY);
                if (asprintf(&text, "refused (ANOTHER_PRIMARY): %s is writable; promoting %s would make two primaries",
                            c->servers[other].name, c->servers[x.d.candidate].name) >= 0) {
                        free(x.d.text);
                        x.d.text = text;
                }
                x.d.candidate = TOPOLOGY_NONE;
        }
        if (x.d.go && !manual && x.in.now_usec < dc->retry_after_usec) {
                char *text = NULL;
                x.d.go = false;
                x.d.reason = FAILOVER_REASON_COOLDOWN;
                x.d.refusals |= FAILOVER_REASON_BIT(FAILOVER_REASON_COOLDOWN);
                if (asprintf(&text, "refused (COOLDOWN): the last automatic attempt failed; the next one in %" PRIu64 " ms",
                            (uint64_t) ((dc->retry_after_usec - x.in.now_usec) / USEC_PER_MSEC)) >= 0) {
                        free(x.d.text);
                        x.d.text = text;
                }
                x.d.candidate = TOPOLOGY_NONE;
        }
        r = failover_decision_to_json(&x.d, &x.in, &x.json);
        if (r < 0) {
                decision_done(&x);
                return r;
        }
        json_object_object_add(x.json, "kind", json_object_new_string("failover"));
        json_object_object_add(x.json, "at", json_object_new_uint64(x.in.now_realtime_usec));
        *ret = x;
        return 0;
}

static void remember_decision(daemon_cluster *dc, json_object *j) {
        json_object_put(dc->last_decision);
        dc->last_decision = json_object_get(j);
}

static int start_failover(daemon_cluster *dc, decision *x, bool manual, bool forced, control_client *client) {
        const sdown_tracker *sd = monitor_sdown(dc->monitor, x->primary);
        failover_op_request req = {
                .kind = FAILOVER_OP_FAILOVER,
                .old_primary = x->primary,
                .new_primary = x->d.candidate,
                .manual = manual,
                .forced = forced,
                .detected_usec = sd && sd->failing ? sd->failing_since_usec : 0,
                .selection = TAKE_PTR(x->selection),
                .decision = json_object_get(x->json),
                .client = control_client_ref(client),
        };
        return failover_op_start(dc, &req);
}

/* The primary is down for this sentinel and nothing runs: fail over, or say why not. */
static void evaluate_down(daemon_cluster *dc, size_t primary) {
        const cluster_conf *c = dc->conf;
        uint64_t epoch = state_get_epoch(dc->daemon->state);
        decision x = {};
        int r;

        if (!dc->odown && config_n_sentinels(dc->daemon->config) == 1 && c->quorum <= 1) {
                dc->odown = true;
                daemon_raise(dc, EVENT_ODOWN, epoch, NULL, primary, TOPOLOGY_NONE, NULL,
                        "primary %s is down (ODOWN: quorum %u of 1 sentinel)", c->servers[primary].name, c->quorum);
        } else if (!dc->odown && config_n_sentinels(dc->daemon->config) > 1) {
                quorum_odown_result od = {};
                json_object *j = NULL;
                if (daemon_cluster_odown(dc, primary, &od, &j) >= 0 && od.odown) {
                        uint32_t rnd = 0;
                        dc->odown = true;
                        /* The sentinels see ODOWN at about the same time: a random start within a second
                         * keeps them from all asking for votes at once (a split vote). */
                        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                                rnd = (uint32_t) loop_now(dc);
                        dc->elect_after_usec = loop_now(dc) + rnd % USEC_PER_SEC;
                        json_object *details = json_object_new_object();
                        json_object_object_add(details, "odown", TAKE_PTR(j));
                        daemon_raise(dc, EVENT_ODOWN, epoch, NULL, primary, TOPOLOGY_NONE, details,
                                "primary %s is down (ODOWN: %s)", c->servers[primary].name, od.text ? od.text : "quorum reached");
                }
                json_object_put(j);
                quorum_odown_result_done(&od);
        }
        if (dc->odown && daemon_peers_count(dc->daemon) > 0 && loop_now(dc) < dc->elect_after_usec)
                return; /* the randomised start of the election (above) */
        r = decide(dc, primary, false, false, false, NULL, &x);
        if (r < 0) {
                log_fields_full(LOG_ERR, &(log_fields){ .cluster = c->name, .event = _EVENT_INVALID },
                        "cannot decide whether to fail over: %s", strerror(-r));
                return;
        }
        remember_decision(dc, x.json);
        if (x.d.go) {
                failover_pager_clear(&dc->pager);
                dc->refusing = false;
                log_fields_full(LOG_NOTICE,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = "OK" },
                        "failing over: %s", x.d.text);
                r = start_failover(dc, &x, false, false, NULL);
                if (r < 0)
                        log_fields_full(LOG_ERR, &(log_fields){ .cluster = c->name, .event = _EVENT_INVALID },
                                "cannot start the failover: %s", strerror(-r));
                decision_done(&x);
                return;
        }
        /* With peers, ODOWN waits for their next opinions (every 500 ms): a short NOT_ODOWN is normal. */
        if (x.d.reason != FAILOVER_REASON_NOT_ODOWN)
                dc->not_odown_since_usec = 0;
        else if (dc->not_odown_since_usec == 0)
                dc->not_odown_since_usec = x.in.now_usec;
        if (x.d.reason == FAILOVER_REASON_NOT_ODOWN && daemon_peers_count(dc->daemon) > 0 &&
                x.in.now_usec - dc->not_odown_since_usec < 2 * USEC_PER_SEC) {
                log_fields_full(LOG_INFO,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = "NOT_ODOWN" },
                        "primary %s is down here; waiting for the peers' opinions: %s", c->servers[primary].name, x.d.text);
                decision_done(&x);
                return;
        }
        if (x.d.reason == FAILOVER_REASON_COOLDOWN && x.in.now_usec < dc->quiet_until_usec) {
                /* Another sentinel leads the failover this one voted for: nothing to page. */
                log_fields_full(LOG_DEBUG,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = "OTHER_LEADER" },
                        "primary %s is down; another sentinel leads the failover: %s", c->servers[primary].name, x.d.text);
                decision_done(&x);
                return;
        }
        if (!dc->refusing || dc->refused_reason != x.d.reason)
                log_fields_full(LOG_WARNING,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = failover_reason_to_string(x.d.reason) },
                        "primary %s is down and failover is refused: %s", c->servers[primary].name, x.d.text);
        dc->refusing = true;
        dc->refused_reason = x.d.reason;
        if (failover_pager_refused(&dc->pager, x.d.reason, c->probe.down_after_ms, x.in.now_usec)) {
                json_object *details = json_object_new_object();
                json_object_object_add(details, "decision", json_object_get(x.json));
                daemon_raise(dc, EVENT_FAILOVER_REFUSED, epoch, failover_reason_to_string(x.d.reason), primary,
                        TOPOLOGY_NONE, details, "primary %s is down; failover refused: %s", c->servers[primary].name,
                        x.d.text);
        }
        decision_done(&x);
}

/* A promotion that was interrupted (the sentinel crashed after recording the new primary and before
 * promoting it, or the promotion failed): the known primary of a failover epoch is alive, read-only,
 * still a replica of a configured server that is down, and nothing else is writable. It was chosen and
 * checked in that epoch; finish its promotion in a new one. An operator's read-only primary (no
 * replication) is not this: it stays as the operator left it. */
static bool evaluate_resume(daemon_cluster *dc, const topology *t) {
        const cluster_conf *c = dc->conf;
        const monitor *m = dc->monitor;
        uint64_t config_epoch = 0, now = loop_now(dc);
        size_t p = t->primary, from;
        const server_status *st;
        int r;

        if (p == TOPOLOGY_NONE || !t->primary_from_state || now < dc->retry_after_usec ||
                daemon_cluster_maintenance(dc, NULL) || !c->failover.automatic)
                return false;
        if (state_get_cluster_primary(dc->daemon->state, c->name, NULL, &config_epoch) <= 0 || config_epoch == 0)
                return false;
        st = monitor_server_status(m, p);
        if (!st || !st->reachable || !st->have_variables || !st->read_only || !st->have_replication ||
                st->started_usec <= dc->op_ended_usec)
                return false; /* (a probe from before the last run ended shows what that run changed) */
        from = t->servers[p].follows;
        if (from == TOPOLOGY_NONE || from == p || another_writable(dc, p, p) != TOPOLOGY_NONE)
                return false;
        const sdown_tracker *sd = monitor_sdown(m, from);
        if (!sd || !sdown_is_down(sd))
                return false;

        json_object *j = json_object_new_object();
        json_object_object_add(j, "kind", json_object_new_string("failover"));
        json_object_object_add(j, "resume", json_object_new_boolean(true));
        json_object_object_add(j, "go", json_object_new_boolean(true));
        json_object_object_add(j, "reason", json_object_new_string("OK"));
        json_object_object_add(j, "primary", json_object_new_string(c->servers[from].name));
        json_object_object_add(j, "candidate", json_object_new_string(c->servers[p].name));
        json_object_object_add(j, "config_epoch", json_object_new_uint64(config_epoch));
        json_object_object_add(j, "at", json_object_new_uint64(timefmt_now_realtime_usec()));
        json_object_object_add(j, "text",
                json_object_new_string("resuming an interrupted promotion: the recorded primary is still a read-only replica"));
        remember_decision(dc, j);
        log_fields_full(LOG_WARNING,
                &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = config_epoch, .event = _EVENT_INVALID,
                        .reason = "RESUME" },
                "%s is the recorded primary of epoch %" PRIu64 " but still a read-only replica of %s, which is down: "
                "finishing its promotion",
                c->servers[p].name, config_epoch, c->servers[from].name);
        failover_op_request req = {
                .kind = FAILOVER_OP_FAILOVER,
                .old_primary = from,
                .new_primary = p,
                .detected_usec = sd->failing ? sd->failing_since_usec : 0,
                .decision = j,
        };
        r = failover_op_start(dc, &req);
        if (r < 0)
                log_fields_full(LOG_ERR, &(log_fields){ .cluster = c->name, .event = _EVENT_INVALID },
                        "cannot start finishing the promotion: %s", strerror(-r));
        return r >= 0;
}

void daemon_cluster_evaluate(daemon_cluster *dc) {
        const topology *t = monitor_topology(dc->monitor);
        const cluster_conf *c = dc->conf;

        if (dc->op) {
                failover_op_on_update(dc->op);
                return;
        }
        if (!t || !monitor_first_round_done(dc->monitor))
                return;
        if (t->primary != TOPOLOGY_NONE && t->primary_from_state && monitor_primary_sdown(dc->monitor)) {
                evaluate_down(dc, t->primary);
                return;
        }
        dc->odown = false;
        dc->not_odown_since_usec = 0;
        if (evaluate_resume(dc, t))
                return;
        if (dc->refusing) {
                dc->refusing = false;
                failover_pager_clear(&dc->pager);
                log_fields_full(LOG_NOTICE,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = state_get_epoch(dc->daemon->state),
                                .event = _EVENT_INVALID, .reason = "PRIMARY_RETURNED" },
                        "the primary answers again: no failover needed any more");
                json_object *in = json_object_new_object();
                json_object_object_add(in, "primary",
                        t->primary != TOPOLOGY_NONE ? json_object_new_string(c->servers[t->primary].name) : NULL);
                daemon_audit(dc->daemon, c->name, "refusal-ended", "PRIMARY_RETURNED", in);
        }
        daemon_reconcile(dc);
}

static int reply_text(control_client *client, json_object *res, const char *text) {
        json_object_object_add(res, "text", json_object_new_string(text ? text : ""));
        return control_client_reply(client, res);
}

static size_t known_primary(const daemon_cluster *dc) {
        const topology *t = monitor_topology(dc->monitor);
        return t && t->primary_from_state ? t->primary : TOPOLOGY_NONE;
}

int daemon_control_failover(daemon_cluster *dc, control_client *client, const control_request *req) {
        const cluster_conf *c = dc->conf;
        const char *to = control_request_get_string(req, "to");
        bool force = control_request_get_bool(req, "force", false);
        bool no_quorum = control_request_get_bool(req, "no_quorum", false);
        bool dry_run = control_request_get_bool(req, "dry_run", false);
        _cleanup_free_ char *text = NULL;
        size_t primary = known_primary(dc);
        decision x = {};
        int r;

        if (dc->op)
                return control_client_reply_error(client, CONTROL_ERROR_REFUSED, "BUSY: a %s of %s is running (epoch %" PRIu64 ")",
                        failover_op_kind_to_string(failover_op_get_kind(dc->op)), c->name, failover_op_get_epoch(dc->op));
        if (primary == TOPOLOGY_NONE)
                return control_client_reply_error(client, CONTROL_ERROR_REFUSED,
                        "NO_PRIMARY: %s has no known primary to fail over from", c->name);
        r = decide(dc, primary, true, force, no_quorum, to, &x);
        if (r == -ENOENT)
                return control_client_reply_error(client, CONTROL_ERROR_BAD_REQUEST, "no server '%s' in cluster %s", to,
                        c->name);
        if (r < 0)
                return r;
        (void) failover_decision_format(x.json, &text);
        json_object_object_add(x.json, "dry_run", json_object_new_boolean(dry_run));
        if (!dry_run)
                remember_decision(dc, x.json);
        if (dry_run) {
                json_object *res = json_object_new_object();
                json_object_object_add(res, "dry_run", json_object_new_boolean(true));
                json_object_object_add(res, "go", json_object_new_boolean(x.d.go));
                json_object_object_add(res, "decision", json_object_get(x.json));
                decision_done(&x);
                return reply_text(client, res, text);
        }
        json_object *in = json_object_new_object();
        json_object_object_add(in, "decision", json_object_get(x.json));
        daemon_audit(dc->daemon, c->name, "failover-requested", failover_reason_to_string(x.d.reason), in);
        if (!x.d.go) {
                r = control_client_reply_error(client, CONTROL_ERROR_REFUSED, "%s: %s", failover_reason_to_string(x.d.reason),
                        x.d.text);
                decision_done(&x);
                return r;
        }
        r = start_failover(dc, &x, true, force, client);
        decision_done(&x);
        return r;
}

int daemon_control_switchover(daemon_cluster *dc, control_client *client, const control_request *req) {
        const cluster_conf *c = dc->conf;
        const char *to = control_request_get_string(req, "to");
        bool dry_run = control_request_get_bool(req, "dry_run", false);
        uint64_t timeout_ms = control_request_get_uint(req, "timeout_ms", 0);
        const server_status *latest[c->n_servers];
        _cleanup_(switchover_check_freep) switchover_check *chk = NULL;
        _cleanup_free_ char *text = NULL;
        json_object *j = NULL;
        int r;

        if (dc->op)
                return control_client_reply_error(client, CONTROL_ERROR_REFUSED, "BUSY: a %s of %s is running (epoch %" PRIu64 ")",
                        failover_op_kind_to_string(failover_op_get_kind(dc->op)), c->name, failover_op_get_epoch(dc->op));
        for (size_t i = 0; i < c->n_servers; i++)
                latest[i] = monitor_server_status(dc->monitor, i);
        r = switchover_check_run(c, latest, monitor_topology(dc->monitor), to, &chk);
        if (r == -ENOENT)
                return control_client_reply_error(client, CONTROL_ERROR_BAD_REQUEST, "no server '%s' in cluster %s", to,
                        c->name);
        if (r < 0)
                return r;
        r = switchover_check_to_json(chk, c, &j);
        if (r < 0)
                return r;
        json_object_object_add(j, "kind", json_object_new_string("switchover"));
        json_object_object_add(j, "at", json_object_new_uint64(timefmt_now_realtime_usec()));
        (void) switchover_check_format(j, &text);
        if (dry_run) {
                json_object *res = json_object_new_object();
                json_object_object_add(res, "dry_run", json_object_new_boolean(true));
                json_object_object_add(res, "go", json_object_new_boolean(chk->ok));
                json_object_object_add(res, "check", j);
                return reply_text(client, res, text);
        }
        remember_decision(dc, j);
        json_object *in = json_object_new_object();
        json_object_object_add(in, "check", json_object_get(j));
        daemon_audit(dc->daemon, c->name, "switchover-requested", switchover_reason_to_string(chk->reason), in);
        if (!chk->ok) {
                r = control_client_reply_error(client, CONTROL_ERROR_REFUSED, "%s: %s",
                        switchover_reason_to_string(chk->reason), chk->text ? chk->text : "refused");
                json_object_put(j);
                return r;
        }
        failover_op_request opr = {
                .kind = FAILOVER_OP_SWITCHOVER,
                .old_primary = chk->primary,
                .new_primary = chk->candidate,
                .manual = true,
                .decision = j,
                .client = control_client_ref(client),
                .timeout_ms = timeout_ms,
        };
        return failover_op_start(dc, &opr);
}

static int on_maintenance_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        daemon_cluster *dc = userdata;
        daemon_ctx *d = dc->daemon;
        uint64_t until = 0;

        dc->maintenance_timer = sd_event_source_disable_unref(dc->maintenance_timer);
        if (state_get_cluster_maintenance(d->state, dc->conf->name, &until) <= 0 || until > timefmt_now_realtime_usec())
                return 0;
        if (state_set_cluster_maintenance(d->state, dc->conf->name, 0) >= 0)
                (void) state_save(d->config->sentinel.state_dir, d->state);
        log_fields_full(LOG_NOTICE,
                &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = state_get_epoch(d->state),
                        .event = _EVENT_INVALID, .reason = "MAINTENANCE_EXPIRED" },
                "maintenance mode expired: automatic failover is on again");
        daemon_audit(d, dc->conf->name, "maintenance-off", "EXPIRED", NULL);
        daemon_cluster_evaluate(dc);
        daemon_cluster_changed(dc);
        return 0;
}

/* Arms (or disarms) the timer that ends a maintenance window with a TTL. */
void daemon_cluster_arm_maintenance(daemon_cluster *dc) {
        uint64_t until = 0;

        dc->maintenance_timer = sd_event_source_disable_unref(dc->maintenance_timer);
        if (!daemon_cluster_maintenance(dc, &until) || until == UINT64_MAX)
                return;
        if (sd_event_add_time(dc->daemon->event, &dc->maintenance_timer, CLOCK_REALTIME, until, USEC_PER_SEC,
                    on_maintenance_expired, dc) < 0)
                log_fields_full(LOG_ERR, &(log_fields){ .cluster = dc->conf->name, .event = _EVENT_INVALID },
                        "cannot arm the end of the maintenance window; it ends at the next probe after it");
}

int daemon_control_maintenance(daemon_cluster *dc, control_client *client, const control_request *req) {
        daemon_ctx *d = dc->daemon;
        bool enabled = control_request_get_bool(req, "enabled", false);
        uint64_t ttl_s = control_request_get_uint(req, "ttl_s", 0);
        uint64_t until = 0, now = timefmt_now_realtime_usec();
        char at[TIMEFMT_RFC3339_MAX] = "";
        int r;

        if (enabled)
                until = ttl_s > 0 ? now + ttl_s * USEC_PER_SEC : UINT64_MAX;
        r = state_set_cluster_maintenance(d->state, dc->conf->name, until);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0)
                return control_client_reply_error(client, CONTROL_ERROR_FAILED, "cannot record maintenance mode: %s",
                        state_strerror(r));
        daemon_cluster_arm_maintenance(dc);
        if (until && until != UINT64_MAX)
                (void) timefmt_rfc3339_ms(until, at);

        json_object *in = json_object_new_object();
        json_object_object_add(in, "until", at[0] ? json_object_new_string(at) : NULL);
        json_object_object_add(in, "ttl_s", enabled && ttl_s ? json_object_new_uint64(ttl_s) : NULL);
        daemon_audit(d, dc->conf->name, enabled ? "maintenance-on" : "maintenance-off", "OPERATOR", in);
        log_fields_full(LOG_NOTICE,
                &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = state_get_epoch(d->state),
                        .event = _EVENT_INVALID, .reason = "MAINTENANCE" },
                "maintenance mode %s by the operator%s%s: automatic failover is %s", enabled ? "on" : "off",
                at[0] ? " until " : "", at, enabled ? "paused" : "on");
        daemon_cluster_changed(dc);
        if (!enabled)
                daemon_cluster_evaluate(dc);

        json_object *res = json_object_new_object();
        json_object_object_add(res, "cluster", json_object_new_string(dc->conf->name));
        json_object_object_add(res, "maintenance", json_object_new_boolean(enabled));
        json_object_object_add(res, "until", at[0] ? json_object_new_string(at) : NULL);
        char text[256];
        snprintf(text, sizeof(text), "%s: maintenance %s%s%s", dc->conf->name, enabled ? "on" : "off",
                at[0] ? " until " : (enabled ? " (no TTL: until 'maintenance off')" : ""), at);
        return reply_text(client, res, text);
}
