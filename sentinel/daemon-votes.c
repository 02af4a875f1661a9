/* Votes and configurations from peers (issue 5), the election side of daemon-peers.c, which owns the
 * link and hands these messages over: a VOTE_REQUEST answered by quorum_vote_decide() (a granted vote
 * persisted, fsync, before the reply goes out), a VOTE_REPLY passed to the run that asked for it
 * (failover-op.h), and a configuration announced by a peer (CONFIG, or an OPINION's config_epoch and
 * primary) adopted when quorum_config_newer() says it is newer. What both files share is
 * daemon-peers-internal.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-peers-internal.h"
#include "log.h"
#include "macro.h"
#include "quorum.h"

void on_vote_request(daemon_peers *p, size_t from, const peer_msg *m) {
        daemon_ctx *d = p->d;
        peer_vote_request req = {};
        const char *last_cand = NULL, *voted_for = NULL;
        uint64_t last_epoch = 0;
        bool odown = false;
        _cleanup_free_ char *why = NULL;
        json_object *j = NULL, *audit_in = NULL;

        if (peer_vote_request_parse(m->payload, &req) < 0) {
                count_reject(p, &p->peers[from], NULL, PEER_REJECT_BAD_PAYLOAD);
                return;
        }
        daemon_cluster *dc = find_cluster(d, req.cluster);
        const topology *t = dc ? monitor_topology(dc->monitor) : NULL;
        const char *known = NULL;
        if (dc)
                (void) state_get_cluster_primary(d->state, dc->conf->name, &known, NULL);
        if (dc && t && t->primary != TOPOLOGY_NONE && t->primary_from_state && known &&
                streq(dc->conf->servers[t->primary].name, known)) {
                quorum_odown_result res = {};
                if (daemon_cluster_odown(dc, t->primary, &res, NULL) >= 0)
                        odown = res.odown;
                quorum_odown_result_done(&res);
        }
        (void) state_last_vote(d->state, &last_epoch, &last_cand);
        quorum_vote_request qr = {.cluster = req.cluster,
                .epoch = req.epoch,
                .candidate = m->sender,
                .primary = req.primary,
                .kind = quorum_vote_kind_from_string(req.kind)}; /* parse checked it; unknown: BAD_REQUEST */
        quorum_vote_input in = {
                .cluster = dc ? dc->conf->name : "",
                .current_epoch = state_get_epoch(d->state),
                .last_vote_epoch = last_epoch,
                .last_vote_candidate = last_cand,
                .primary = known,
                .odown = odown,
                .busy = dc && (dc->op || daemon_cluster_election_pending(dc, NULL)),
        };
        quorum_vote_verdict v = quorum_vote_decide(&qr, &in);
        (void) quorum_vote_describe(&qr, &in, v, &why);
        (void) quorum_vote_to_json(&qr, &in, v, &audit_in);
        bool granted = quorum_vote_is_granted(v);
        if (v == QUORUM_VOTE_GRANTED) {
                int r = state_record_vote(d->state, req.epoch, m->sender);
                if (r >= 0)
                        r = state_save(d->config->sentinel.state_dir, d->state);
                if (r < 0) {
                        log_fields_full(LOG_ERR,
                                &(log_fields){.cluster = req.cluster,
                                        .has_epoch = true,
                                        .epoch = req.epoch,
                                        .event = _EVENT_INVALID,
                                        .reason = "VOTE_NOT_PERSISTED"},
                                "cannot persist the vote for %s in epoch %" PRIu64
                                " (%s): denying it; check %s",
                                m->sender, req.epoch, state_strerror(r), d->config->sentinel.state_dir);
                        granted = false;
                        free(why);
                        why = strdup("cannot persist the vote");
                }
        }
        if (granted && dc)
                daemon_fence_voted(dc, req.epoch);
        if (granted && dc) {
                /* Another sentinel leads this epoch: give it the time of a whole run before trying
                 * ourselves. */
                uint64_t until = peers_now(p) + dc->conf->failover.timeout_ms * USEC_PER_MSEC;
                if (v == QUORUM_VOTE_GRANTED)
                        dc->voted_usec = peers_now(p); /* daemon_cluster_election_pending() */
                if (dc->retry_after_usec < until)
                        dc->retry_after_usec = until;
                if (dc->quiet_until_usec < until)
                        dc->quiet_until_usec = until;
        }
        if (v == QUORUM_VOTE_GRANTED || v == QUORUM_VOTE_ALREADY_VOTED || v == QUORUM_VOTE_GRANTED_AGAIN)
                (void) state_vote_for(d->state, req.epoch, &voted_for);
        if (v == QUORUM_VOTE_GRANTED && granted)
                daemon_audit_epoch(d, req.cluster, req.epoch, "vote-granted",
                        quorum_vote_verdict_to_string(v), audit_in);
        else if (!granted)
                daemon_audit_epoch(d, dc ? req.cluster : NULL, req.epoch, "vote-denied",
                        quorum_vote_verdict_to_string(v), audit_in);
        else
                json_object_put(audit_in);
        log_fields_full(LOG_NOTICE,
                &(log_fields){.cluster = dc ? req.cluster : NULL,
                        .has_epoch = true,
                        .epoch = req.epoch,
                        .event = _EVENT_INVALID,
                        .reason = quorum_vote_verdict_to_string(v)},
                "%s vote request from %s: %s", req.kind, m->sender, why ? why : quorum_vote_verdict_to_string(v));
        if (peer_vote_reply_build(req.cluster, req.epoch, granted,
                    voted_for && peer_name_is_valid(voted_for) ? voted_for : NULL,
                    granted ? "" : quorum_vote_verdict_to_string(v), &j) >= 0) {
                int r = peers_send(p, (ssize_t) from, PEER_MSG_VOTE_REPLY, j);
                if (r < 0)
                        log_fields_full(LOG_WARNING,
                                &(log_fields){.cluster = req.cluster, .event = _EVENT_INVALID},
                                "cannot send the vote reply to %s: %s (not connected to it yet?)", m->sender,
                                strerror(-r));
        }
        peer_vote_request_done(&req);
}

void on_vote_reply(daemon_peers *p, size_t from, const peer_msg *m) {
        peer_vote_reply rep = {};
        if (peer_vote_reply_parse(m->payload, &rep) < 0) {
                count_reject(p, &p->peers[from], NULL, PEER_REJECT_BAD_PAYLOAD);
                return;
        }
        daemon_cluster *dc = find_cluster(p->d, rep.cluster);
        if (dc && dc->op)
                failover_op_on_vote_reply(
                        dc->op, m->sender, rep.epoch, rep.granted, rep.voted_for, rep.reason);
        peer_vote_reply_done(&rep);
}

/* A configuration announced by a peer (CONFIG, or the config_epoch and primary of an OPINION). */
void adopt_config(
        daemon_peers *p, const char *sender, const char *cluster, uint64_t epoch, const char *primary) {
        daemon_ctx *d = p->d;
        daemon_cluster *dc = find_cluster(d, cluster);
        const char *known = NULL;
        _cleanup_free_ char *was = NULL;
        uint64_t known_epoch = 0;
        int r;

        if (!dc || !primary)
                return;
        bool ok = false;
        for (size_t i = 0; i < dc->conf->n_servers; i++)
                ok = ok || streq(dc->conf->servers[i].name, primary);
        if (!ok)
                return;
        (void) state_get_cluster_primary(d->state, cluster, &known, &known_epoch);
        /* A discovered primary (epoch 0) is taken only by a sentinel that knows none yet (a first start
         * while the primary is held read-only by its zone's sentinel, which waits for confirmations). */
        if (epoch == 0 && known)
                return;
        quorum_config_order o = quorum_config_newer(known_epoch, known, epoch, primary);
        if (o == QUORUM_CONFIG_CONFLICT) {
                log_fields_full(LOG_ERR,
                        &(log_fields){.cluster = cluster,
                                .has_epoch = true,
                                .epoch = epoch,
                                .event = _EVENT_INVALID,
                                .reason = "CONFIG_CONFLICT"},
                        "sentinel %s announces %s as the primary of epoch %" PRIu64
                        " but this sentinel knows %s in that epoch: "
                        "two leaders in one epoch; keeping ours, check the audit logs of both",
                        sender, primary, epoch, known);
                return;
        }
        if (o != QUORUM_CONFIG_NEWER)
                return;
        if (known && !(was = strdup(known)))
                return;
        known = NULL; /* owned by the state, which the update below replaces */
        /* Ours runs in an older (or the same, lost) epoch: the other leader acts. */
        if (dc->op && failover_op_get_epoch(dc->op) < epoch)
                failover_op_abort_stale(dc->op, epoch, sender);
        r = state_set_cluster_primary(d->state, cluster, primary, epoch);
        if (r >= 0)
                (void) state_set_epoch(d->state, epoch);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                log_fields_full(LOG_ERR,
                        &(log_fields){.cluster = cluster,
                                .has_epoch = true,
                                .epoch = epoch,
                                .event = _EVENT_INVALID},
                        "cannot record %s as the primary of epoch %" PRIu64 " announced by %s: %s", primary,
                        epoch, sender, state_strerror(r));
                return;
        }
        /* The leader's run goes on (promotion, repoints): what disagrees with the new configuration is
         * neither paged nor reconciled here before the leader's whole run budget has passed. */
        if (epoch > 0) { /* (a discovered primary, epoch 0, comes with no run) */
                dc->op_ended_usec = peers_now(p) + dc->conf->failover.timeout_ms * USEC_PER_MSEC;
                dc->settling = true;
                dc->quiet_until_usec = dc->op_ended_usec;
        }
        (void) monitor_set_known_primary(dc->monitor, primary);
        json_object *in = json_object_new_object();
        json_object_object_add(in, "from", json_object_new_string(sender));
        json_object_object_add(in, "primary", json_object_new_string(primary));
        json_object_object_add(in, "old_primary", was ? json_object_new_string(was) : NULL);
        json_object_object_add(in, "old_epoch", json_object_new_uint64(known_epoch));
        daemon_audit_epoch(d, cluster, epoch, "config-adopted", "NEWER", in);
        log_fields_full(LOG_NOTICE,
                &(log_fields){.cluster = cluster,
                        .has_epoch = true,
                        .epoch = epoch,
                        .event = _EVENT_INVALID,
                        .reason = "NEWER"},
                "adopted the configuration of epoch %" PRIu64
                " from %s: %s is the primary (was %s, epoch %" PRIu64 ")",
                epoch, sender, primary, was ? was : "none", known_epoch);
        dc->odown = false;
        daemon_cluster_changed(dc);
}

uint64_t daemon_cluster_settled_epoch(const daemon_cluster *dc) {
        const state *s = dc->daemon->state;
        uint64_t settled = state_get_epoch(s), e = dc->op ? failover_op_get_epoch(dc->op) : 0, config_epoch = 0;

        /* An election or run of ours (an op that has not elected yet will go above the current epoch). */
        if (e > 0 && e - 1 < settled)
                settled = e - 1;
        /* A promotion of ours written ahead and not committed: it may be resumed in its epoch. */
        if (state_get_cluster_pending(s, dc->conf->name) &&
                state_get_cluster_primary(s, dc->conf->name, NULL, &config_epoch) > 0 && config_epoch > 0 &&
                config_epoch - 1 < settled)
                settled = config_epoch - 1;
        return settled;
}

bool daemon_vote_settled(const daemon_cluster *dc, uint64_t epoch, const char *candidate) {
        const peer_opinion_cluster *o;

        if (!candidate)
                return false;
        if (streq(candidate, dc->daemon->config->sentinel.name))
                return daemon_cluster_settled_epoch(dc) >= epoch;
        o = daemon_peers_opinion_of(dc->daemon, candidate, dc->conf->name);
        return o && o->settled_epoch >= epoch;
}

void daemon_epoch_seen(daemon_ctx *d, const char *peer, uint64_t epoch) {
        uint64_t was = state_get_epoch(d->state);
        int r;

        if (epoch <= was)
                return;
        r = state_set_epoch(d->state, epoch);
        if (r > 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                log_fields_full(LOG_ERR, &(log_fields){.event = _EVENT_INVALID, .reason = "STATE_SAVE"},
                        "cannot raise the current epoch to %" PRIu64 " (known by %s): %s", epoch, peer,
                        state_strerror(r));
                return;
        }
        /* No vote and no configuration come with it: an election of that epoch may have ended with none
         * (lost, or given up because the primary answered again). Our next election goes above it. */
        log_fields_full(LOG_INFO, &(log_fields){.has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID, .reason = "PEER_EPOCH"},
                "current epoch %" PRIu64 " -> %" PRIu64 ", the highest %s knows (no vote or configuration came with it)",
                was, epoch, peer);
}
