/* When to fail over (SPEC 5.7-5.10): after every monitor result of a cluster whose primary is down for
 * this sentinel, the pre-checks of failover-decide.h run over the candidates of candidate.h; a GO
 * starts the engine (failover-op.h), a refusal is audited, logged and paged as failover-refused, and
 * paged again every down_after_ms while it lasts. Also the operator's verbs that start one: failover
 * and switchover (with --dry-run); maintenance, which pauses them, is daemon-maintenance.c. */
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

/* The first election after ODOWN starts this long plus one probe interval after it per place of this
 * sentinel's name among all configured sentinels' (sorted), so that one asks first and the others vote
 * for it. The interval is there because each sentinel probes on its own grid: their ODOWNs of one
 * failure are up to an interval apart, and with 50 ms alone the partition test saw two candidates
 * split the vote. Only a sentinel whose lower-ranked peers are down or slow waits the longer. */
#define ELECT_STAGGER_USEC (50 * USEC_PER_MSEC)

/* This sentinel's place among the configured sentinels sorted by name (0 first). */
static unsigned elect_rank(const config *cfg) {
        unsigned rank = 0;
        for (size_t i = 0; i < cfg->sentinel.n_peers; i++)
                rank += strcmp(cfg->sentinel.peers[i].name, cfg->sentinel.name) < 0;
        return rank;
}

static int on_elect_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        daemon_cluster_evaluate(userdata);
        return 0;
}

void daemon_cluster_stagger_election(daemon_cluster *dc) {
        uint32_t rnd = 0;

        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = (uint32_t) loop_now(dc);
        dc->elect_after_usec = loop_now(dc) +
                elect_rank(dc->daemon->config) * (ELECT_STAGGER_USEC + dc->conf->probe.interval_ms * USEC_PER_MSEC) +
                rnd % (ELECT_STAGGER_USEC / 2);
        /* At that time exactly, not at the next probe result: the stagger is what orders the candidates. */
        if (!dc->elect_timer) {
                if (sd_event_add_time(dc->daemon->event, &dc->elect_timer, CLOCK_MONOTONIC, dc->elect_after_usec, 0,
                            on_elect_timer, dc) < 0)
                        dc->elect_timer = NULL; /* the next probe result evaluates */
        } else if (sd_event_source_set_time(dc->elect_timer, dc->elect_after_usec) >= 0)
                (void) sd_event_source_set_enabled(dc->elect_timer, SD_EVENT_ONESHOT);
}

static void evaluate_down(daemon_cluster *dc, size_t primary) {
        const cluster_conf *c = dc->conf;
        uint64_t epoch = state_get_epoch(dc->daemon->state);
        decision x = {};
        int r;

        /* A run of ours ended because the primary answered (PRIMARY_RETURNED): our SDOWN may still be
         * the old one until the next probe; the primary cannot really be SDOWN again before a whole
         * down_after_ms has passed since that answer. Nothing to decide, log or page before then. */
        if (dc->answered_usec != 0) {
                if (loop_now(dc) - dc->answered_usec < c->probe.down_after_ms * USEC_PER_MSEC)
                        return;
                dc->answered_usec = 0;
        }

        if (!dc->odown && config_n_sentinels(dc->daemon->config) == 1 && c->quorum <= 1) {
                dc->odown = true;
                daemon_raise(dc, EVENT_ODOWN, epoch, NULL, primary, TOPOLOGY_NONE, NULL,
                        "primary %s is down (ODOWN: quorum %u of 1 sentinel)", c->servers[primary].name, c->quorum);
        } else if (!dc->odown && config_n_sentinels(dc->daemon->config) > 1) {
                quorum_odown_result od = {};
                json_object *j = NULL;
                if (daemon_cluster_odown(dc, primary, &od, &j) >= 0 && od.odown) {
                        dc->odown = true;
                        /* The sentinels see ODOWN at about the same time: staggered starts keep them from
                         * all asking for votes at once (a split vote): ELECT_STAGGER_USEC plus an interval per
                         * place of this sentinel's name among all configured ones, plus a random part. */
                        daemon_cluster_stagger_election(dc);
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
        if (daemon_peers_count(dc->daemon) > 0) {
                /* The voters grant only for a primary they know (they never adopted the pending
                 * configuration: they know `from`) and see ODOWN: asking before that loses an epoch. */
                quorum_odown_result od = {};
                bool odown = daemon_cluster_odown(dc, from, &od, NULL) >= 0 && od.odown;
                quorum_odown_result_done(&od);
                if (!odown)
                        return false;
        }

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

bool daemon_cluster_election_pending(const daemon_cluster *dc, uint64_t *ret_epoch) {
        const daemon_ctx *d = dc->daemon;
        uint64_t vote_epoch = 0, config_epoch = 0, now = loop_now(dc);
        const char *cand = NULL;

        if (dc->voted_usec == 0 || now - dc->voted_usec >= dc->conf->failover.timeout_ms * USEC_PER_MSEC)
                return false;
        if (state_last_vote(d->state, &vote_epoch, &cand) <= 0 || !cand)
                return false;
        /* Our own candidacy: its run, if any, is dc->op; once that ended, our election is over too. (Else
         * two survivors of a dead leader, each with its own lost vote, would deny each other forever.) */
        if (streq(cand, d->config->sentinel.name))
                return false;
        (void) state_get_cluster_primary(d->state, dc->conf->name, NULL, &config_epoch);
        if (vote_epoch <= config_epoch)
                return false;
        /* Its candidate said it will never lead a run in that epoch (its election lost or given up). */
        if (daemon_vote_settled(dc, vote_epoch, cand))
                return false;
        if (ret_epoch)
                *ret_epoch = vote_epoch;
        return true;
}

/* With peers, a run of the cluster that this sentinel does not lead may be going on: an operator's run
 * waits (quorum.h, BUSY). 0, or the refusal sent. */
static int refuse_if_election_pending(daemon_cluster *dc, control_client *client, const char *verb, bool *ret_refused) {
        uint64_t epoch = 0, now = loop_now(dc), budget = dc->conf->failover.timeout_ms * USEC_PER_MSEC;

        *ret_refused = false;
        if (daemon_peers_count(dc->daemon) == 0 || !daemon_cluster_election_pending(dc, &epoch))
                return 0;
        *ret_refused = true;
        return control_client_reply_error(client, CONTROL_ERROR_REFUSED,
                "BUSY: this sentinel voted in an election of %s in epoch %" PRIu64 " %" PRIu64
                " ms ago and no configuration of that epoch has arrived: its leader may still be running; "
                "a %s can start in %" PRIu64 " ms",
                dc->conf->name, epoch, (uint64_t) ((now - dc->voted_usec) / USEC_PER_MSEC), verb,
                (uint64_t) ((dc->voted_usec + budget - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
}

/* With peers, whether this sentinel reaches a majority of ALL sentinels (itself included), which an
 * election needs; when not, *ret_text (may be NULL) says so. */
static bool majority_in_reach(const daemon_cluster *dc, char **ret_text) {
        const daemon_ctx *d = dc->daemon;
        size_t reach = 1 + daemon_peers_reachable(d), need = config_majority(d->config);

        if (daemon_peers_count(d) == 0 || reach >= need)
                return true;
        if (ret_text && asprintf(ret_text,
                                "this sentinel reaches %zu of %zu sentinels (itself included); electing a leader needs "
                                "a majority of %zu",
                                reach, config_n_sentinels(d->config), need) < 0)
                *ret_text = NULL;
        return false;
}

/* A refusal added to a decision's JSON (verdict key "go") or a switchover check's ("ok") after the pure
 * checks ran. */
static void json_refuse(json_object *j, const char *verdict_key, const char *reason, const char *text) {
        json_object_object_add(j, verdict_key, json_object_new_boolean(false));
        json_object_object_add(j, "reason", json_object_new_string(reason));
        json_object_object_add(j, "text", json_object_new_string(text));
}

/* An operator's decision that go had let through, refused after all for reason with text (taken): in
 * the decision and its JSON; the reason joins the JSON's refusals when listed. */
static void decision_refuse(decision *x, failover_reason reason, char *text, bool listed) {
        const char *code = failover_reason_to_string(reason);

        x->d.go = false;
        x->d.reason = reason;
        x->d.candidate = TOPOLOGY_NONE;
        free(x->d.text);
        x->d.text = text;
        json_refuse(x->json, "go", code, text);
        json_object_object_add(x->json, "candidate", NULL);
        json_object *refusals = json_object_object_get(x->json, "refusals");
        if (listed && refusals && json_object_is_type(refusals, json_type_array))
                json_object_array_add(refusals, json_object_new_string(code));
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
        bool pending;
        r = refuse_if_election_pending(dc, client, "failover", &pending);
        if (pending)
                return r;
        if (primary == TOPOLOGY_NONE)
                return control_client_reply_error(client, CONTROL_ERROR_REFUSED,
                        "NO_PRIMARY: %s has no known primary to fail over from", c->name);
        r = decide(dc, primary, true, force, no_quorum, to, &x);
        if (r == -ENOENT)
                return control_client_reply_error(client, CONTROL_ERROR_BAD_REQUEST, "no server '%s' in cluster %s", to,
                        c->name);
        if (r < 0)
                return r;
        /* --no-quorum lets this sentinel's SDOWN stand for ODOWN; with peers the election still needs a
         * majority (the operator's kind spares the voters only their own ODOWN: quorum.h). */
        _cleanup_free_ char *no_majority = NULL;
        if (x.d.go && !majority_in_reach(dc, &no_majority)) {
                char *t = NULL;
                if (asprintf(&t, "refused (QUORUM_LOST): %s; --no-quorum does not spare the election",
                            no_majority ? no_majority : "no majority of sentinels in reach") < 0)
                        return -ENOMEM;
                decision_refuse(&x, FAILOVER_REASON_QUORUM_LOST, t, true);
        }
        /* With peers a forced failover waits for the old primary's zone to fence it (failover-op.h): a
         * budget too short for that fails the run after its election; say so now, before any vote. */
        uint64_t wait_usec = 0, budget_usec = 0;
        if (x.d.go && force && daemon_peers_count(dc->daemon) > 0 &&
                !failover_op_forced_wait_fits(c, &wait_usec, &budget_usec)) {
                char *t = NULL;
                if (asprintf(&t, "refused (TIMEOUT): a forced failover that cannot reach %s waits %" PRIu64
                            " ms after its election (self_fence_after_ms %" PRIu64 " + probe.timeout_ms %" PRIu64
                            ") for the sentinel of its zone to fence it, and failover.timeout_ms %" PRIu64
                            " leaves only %" PRIu64 " ms for the election and that: it would have to promote "
                            "early; raise failover.timeout_ms",
                            c->servers[primary].name, (uint64_t) (wait_usec / USEC_PER_MSEC),
                            c->fencing.self_fence_after_ms, c->probe.timeout_ms, c->failover.timeout_ms,
                            (uint64_t) (budget_usec / USEC_PER_MSEC)) < 0)
                        return -ENOMEM;
                decision_refuse(&x, FAILOVER_REASON_TIMEOUT, t, false);
        }
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
        bool pending;
        r = refuse_if_election_pending(dc, client, "switchover", &pending);
        if (pending)
                return r;
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
        /* With peers a switchover is elected like a failover (a SWITCHOVER vote, quorum.h): without a
         * majority in reach say so now, not after the elect phase's deadline. */
        bool ok = chk->ok;
        const char *reason = switchover_reason_to_string(chk->reason);
        _cleanup_free_ char *no_majority = NULL;
        if (ok && !majority_in_reach(dc, &no_majority)) {
                ok = false;
                reason = "QUORUM_LOST";
                json_refuse(j, "ok", reason, no_majority ? no_majority : "no majority of sentinels in reach");
        }
        (void) switchover_check_format(j, &text);
        if (dry_run) {
                json_object *res = json_object_new_object();
                json_object_object_add(res, "dry_run", json_object_new_boolean(true));
                json_object_object_add(res, "go", json_object_new_boolean(ok));
                json_object_object_add(res, "check", j);
                return reply_text(client, res, text);
        }
        remember_decision(dc, j);
        json_object *in = json_object_new_object();
        json_object_object_add(in, "check", json_object_get(j));
        daemon_audit(dc->daemon, c->name, "switchover-requested", reason, in);
        if (!ok) {
                r = control_client_reply_error(client, CONTROL_ERROR_REFUSED, "%s: %s", reason,
                        no_majority ? no_majority : chk->text ? chk->text : "refused");
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
