/* Maintenance mode (SPEC 5.7; issue 5: "maintenance mode and forced failover go through the peers
 * too"): automatic failover of a cluster paused until a time or until turned off, on every sentinel.
 *
 * The record of a cluster is (until, set): until is CLOCK_REALTIME microseconds (shared between the
 * hosts; STATE_MAINTENANCE_FOREVER without a TTL, STATE_MAINTENANCE_OFF when off), set is the
 * CLOCK_REALTIME microseconds of the operator's change. Both are persisted in state.json (a restart
 * neither ends a maintenance nor forgets when it was set).
 *
 * Choices made here:
 *  - The operator's change (`sentinelctl maintenance`) takes set = max(now, the recorded set + 1), so
 *    that on the sentinel where it is made it always supersedes what that sentinel knew, even when
 *    its wall clock stepped back; it is recorded, persisted, and broadcast as MAINTENANCE
 *    {cluster, until_usec, set_usec} to every connected peer.
 *  - Last writer wins: a peer's record is adopted when its set is newer than ours. With the same set
 *    (two operators in the same microsecond), the record that is on for longer wins (expired ends
 *    count as off): every sentinel converges to the same one, and it errs on the side of not failing
 *    over. The comparison uses the sentinels' wall clocks as they are: a clock ahead by more than the
 *    time between two operator changes on different sentinels makes the older change win there.
 *  - Convergence after a restart or a partition: whenever the link to a peer (re)connects, the record
 *    of every cluster with a set time is sent to it; the peer keeps whichever is newer. No other
 *    retransmission is needed: a message lost with a connection is sent again at the reconnection.
 *  - An end (TTL) is the same instant everywhere: each sentinel ends the maintenance at that time by
 *    its own timer (until is kept, off; set is kept, so an older record never turns it on again).
 *    An expired end counts as off everywhere, also when adopted from a peer.
 *  - When maintenance ends while the primary is down, every sentinel has long seen it ODOWN and its
 *    staggered election start (failover-trigger.c) has passed: they would all ask for votes within
 *    the same few milliseconds of the end (a split vote, or a sentinel granting a vote while its own
 *    run starts). The end staggers the election start again, as ODOWN does. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "peer-payload.h"
#include "timefmt.h"

/* Whether a record with this end is on at realtime now. */
static bool until_on(uint64_t until, uint64_t now) {
        return until != STATE_MAINTENANCE_OFF && until > now;
}

/* The end as it counts at now: an expired one is off. */
static uint64_t until_effective(uint64_t until, uint64_t now) {
        return until_on(until, now) ? until : STATE_MAINTENANCE_OFF;
}

/* The wire's until_usec (peer-payload.h: PEER_U64_MAX is "no end") from the state's, and back. */
static uint64_t until_to_wire(uint64_t until) {
        return until >= PEER_U64_MAX ? PEER_U64_MAX : until;
}

static uint64_t until_from_wire(uint64_t until_usec) {
        return until_usec >= PEER_U64_MAX ? STATE_MAINTENANCE_FOREVER : until_usec;
}

bool daemon_cluster_maintenance(const daemon_cluster *dc, uint64_t *ret_until_realtime_usec) {
        uint64_t until = 0;
        bool on = state_get_cluster_maintenance(dc->daemon->state, dc->conf->name, &until) > 0 &&
                  until_on(until, timefmt_now_realtime_usec());
        if (ret_until_realtime_usec)
                *ret_until_realtime_usec = on ? until : 0;
        return on;
}

/* Maintenance ended (off or expired) for dc: the election start staggered again (see the top), then
 * the evaluation that may start a failover. */
static void maintenance_ended(daemon_cluster *dc) {
        daemon_cluster_stagger_election(dc);
        daemon_cluster_evaluate(dc);
}

static int on_maintenance_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        daemon_cluster *dc = userdata;
        daemon_ctx *d = dc->daemon;
        uint64_t until = 0;

        dc->maintenance_timer = sd_event_source_disable_unref(dc->maintenance_timer);
        if (state_get_cluster_maintenance(d->state, dc->conf->name, &until) <= 0 ||
                until > timefmt_now_realtime_usec())
                return 0;
        /* Off, with the time it was set kept: an older record from a peer never turns it on again. */
        if (state_set_cluster_maintenance(d->state, dc->conf->name, STATE_MAINTENANCE_OFF) >= 0)
                (void) state_save(d->config->sentinel.state_dir, d->state);
        log_fields_full(LOG_NOTICE,
                &(log_fields){.cluster = dc->conf->name,
                        .has_epoch = true,
                        .epoch = state_get_epoch(d->state),
                        .event = _EVENT_INVALID,
                        .reason = "MAINTENANCE_EXPIRED"},
                "maintenance mode expired: automatic failover is on again");
        daemon_audit(d, dc->conf->name, "maintenance-off", "EXPIRED", NULL);
        maintenance_ended(dc);
        daemon_cluster_changed(dc);
        return 0;
}

void daemon_cluster_arm_maintenance(daemon_cluster *dc) {
        uint64_t until = 0;

        dc->maintenance_timer = sd_event_source_disable_unref(dc->maintenance_timer);
        if (!daemon_cluster_maintenance(dc, &until) || until == STATE_MAINTENANCE_FOREVER)
                return;
        if (sd_event_add_time(dc->daemon->event, &dc->maintenance_timer, CLOCK_REALTIME, until, USEC_PER_SEC,
                    on_maintenance_expired, dc) < 0)
                log_fields_full(LOG_ERR, &(log_fields){.cluster = dc->conf->name, .event = _EVENT_INVALID},
                        "cannot arm the end of the maintenance window; it ends at the next probe after it");
}

/* Sends dc's maintenance record to peer `to`, or to every connected peer when to < 0: how many peers
 * it went to (0 without peers or without a record), or a negative errno. */
static int send_record(daemon_cluster *dc, ssize_t to) {
        uint64_t until = 0, set = 0;
        json_object *j = NULL;
        int r;

        if (daemon_peers_count(dc->daemon) == 0 ||
                state_get_cluster_maintenance_at(dc->daemon->state, dc->conf->name, &until, &set) <= 0 ||
                set == 0)
                return 0;
        r = peer_maintenance_build(dc->conf->name, until_to_wire(until), set, &j);
        if (r < 0)
                return r;
        return daemon_peers_send(dc->daemon, to, PEER_MSG_MAINTENANCE, j);
}

void daemon_maintenance_peer_connected(daemon_ctx *d, size_t peer) {
        for (size_t i = 0; i < d->n_clusters; i++) {
                int r = send_record(d->clusters[i], (ssize_t) peer);
                if (r < 0)
                        log_fields_full(LOG_DEBUG,
                                &(log_fields){
                                        .cluster = d->clusters[i]->conf->name, .event = _EVENT_INVALID},
                                "cannot send the maintenance record to peer %zu: %s", peer, strerror(-r));
        }
}

/* The inputs of an audit record of a maintenance change. */
static json_object *record_json(uint64_t until, uint64_t set) {
        char at[TIMEFMT_RFC3339_MAX] = "", set_at[TIMEFMT_RFC3339_MAX] = "";
        json_object *in = json_object_new_object();

        if (until != STATE_MAINTENANCE_OFF && until != STATE_MAINTENANCE_FOREVER)
                (void) timefmt_rfc3339_ms(until, at);
        if (set != 0)
                (void) timefmt_rfc3339_ms(set, set_at);
        json_object_object_add(in, "until",
                until == STATE_MAINTENANCE_FOREVER ? json_object_new_string("forever")
                : at[0]                            ? json_object_new_string(at)
                                                   : NULL);
        json_object_object_add(in, "set_usec", json_object_new_uint64(set));
        json_object_object_add(in, "set_at", set_at[0] ? json_object_new_string(set_at) : NULL);
        return in;
}

int daemon_maintenance_on_message(daemon_ctx *d, const char *sender, json_object *payload) {
        _cleanup_(peer_maintenance_done) peer_maintenance m = {};
        uint64_t until = 0, set = 0, now = timefmt_now_realtime_usec(), theirs;
        daemon_cluster *dc = NULL;
        char at[TIMEFMT_RFC3339_MAX] = "", set_at[TIMEFMT_RFC3339_MAX] = "";
        int r;

        r = peer_maintenance_parse(payload, &m);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n_clusters && !dc; i++)
                if (streq(d->clusters[i]->conf->name, m.cluster))
                        dc = d->clusters[i];
        if (!dc || m.set_usec == 0) {
                log_fields_full(LOG_DEBUG, &(log_fields){.cluster = m.cluster, .event = _EVENT_INVALID},
                        "ignoring a maintenance record from %s: %s", sender,
                        dc ? "it has no set time" : "no such cluster here");
                return 0;
        }
        theirs = until_from_wire(m.until_usec);
        (void) state_get_cluster_maintenance_at(d->state, dc->conf->name, &until, &set);
        /* Last writer wins; the same set time: the one on for longer (see the top of this file). */
        if (m.set_usec < set ||
                (m.set_usec == set && until_effective(theirs, now) <= until_effective(until, now)))
                return 0;

        r = state_set_cluster_maintenance_at(d->state, dc->conf->name, theirs, m.set_usec);
        if (r > 0) {
                r = state_save(d->config->sentinel.state_dir, d->state);
                if (r < 0) /* not adopted: the peer sends it again at its next reconnection */
                        (void) state_set_cluster_maintenance_at(d->state, dc->conf->name, until, set);
        }
        if (r < 0) {
                log_fields_full(LOG_ERR,
                        &(log_fields){.cluster = dc->conf->name,
                                .has_epoch = true,
                                .epoch = state_get_epoch(d->state),
                                .event = _EVENT_INVALID,
                                .reason = "PEER"},
                        "cannot record the maintenance mode set by %s: %s; check %s", sender,
                        state_strerror(r), d->config->sentinel.state_dir);
                return 0;
        }
        daemon_cluster_arm_maintenance(dc);

        bool on = until_on(theirs, now), was_on = until_on(until, now);
        if (theirs != STATE_MAINTENANCE_FOREVER && on)
                (void) timefmt_rfc3339_ms(theirs, at);
        (void) timefmt_rfc3339_ms(m.set_usec, set_at);
        json_object *in = record_json(theirs, m.set_usec);
        json_object_object_add(in, "from", json_object_new_string(sender));
        json_object_object_add(in, "was", record_json(until, set));
        daemon_audit(d, dc->conf->name, on ? "maintenance-on" : "maintenance-off", "PEER", in);
        log_fields_full(LOG_NOTICE,
                &(log_fields){.cluster = dc->conf->name,
                        .has_epoch = true,
                        .epoch = state_get_epoch(d->state),
                        .event = _EVENT_INVALID,
                        .reason = "PEER"},
                "maintenance mode %s by sentinel %s (set at %s)%s%s: automatic failover is %s",
                on ? "on" : "off", sender, set_at[0] ? set_at : "?", at[0] ? " until " : "", at,
                on ? "paused" : "on");
        daemon_cluster_changed(dc);
        if (was_on && !on)
                maintenance_ended(dc);
        return 0;
}

int daemon_control_maintenance(daemon_cluster *dc, control_client *client, const control_request *req) {
        daemon_ctx *d = dc->daemon;
        bool enabled = control_request_get_bool(req, "enabled", false);
        uint64_t ttl_s = control_request_get_uint(req, "ttl_s", 0);
        uint64_t until = STATE_MAINTENANCE_OFF, now = timefmt_now_realtime_usec(), old_until = 0,
                 old_set = 0, set;
        size_t n_peers = daemon_peers_count(d), sent = 0;
        char at[TIMEFMT_RFC3339_MAX] = "", peers_text[128] = "";
        int r;

        if (enabled)
                until = ttl_s > 0 ? now + ttl_s * USEC_PER_SEC : STATE_MAINTENANCE_FOREVER;
        (void) state_get_cluster_maintenance_at(d->state, dc->conf->name, &old_until, &old_set);
        set = old_set >= now ? old_set + 1 : now;
        r = state_set_cluster_maintenance_at(d->state, dc->conf->name, until, set);
        if (r >= 0) {
                r = state_save(d->config->sentinel.state_dir, d->state);
                if (r < 0)
                        (void) state_set_cluster_maintenance_at(
                                d->state, dc->conf->name, old_until, old_set);
        }
        if (r < 0)
                return control_client_reply_error(client, CONTROL_ERROR_FAILED,
                        "cannot record maintenance mode: %s", state_strerror(r));
        daemon_cluster_arm_maintenance(dc);
        if (until != STATE_MAINTENANCE_OFF && until != STATE_MAINTENANCE_FOREVER)
                (void) timefmt_rfc3339_ms(until, at);
        r = send_record(dc, -1);
        if (r > 0)
                sent = (size_t) r;
        if (n_peers > 0)
                snprintf(peers_text, sizeof(peers_text), "; sent to %zu of %zu peer(s)%s", sent, n_peers,
                        sent < n_peers ? ", the others get it when they reconnect" : "");

        json_object *in = json_object_new_object();
        json_object_object_add(in, "until", at[0] ? json_object_new_string(at) : NULL);
        json_object_object_add(in, "ttl_s", enabled && ttl_s ? json_object_new_uint64(ttl_s) : NULL);
        json_object_object_add(in, "set_usec", json_object_new_uint64(set));
        json_object_object_add(in, "peers_sent", json_object_new_uint64(sent));
        json_object_object_add(in, "peers", json_object_new_uint64(n_peers));
        daemon_audit(d, dc->conf->name, enabled ? "maintenance-on" : "maintenance-off", "OPERATOR", in);
        log_fields_full(LOG_NOTICE,
                &(log_fields){.cluster = dc->conf->name,
                        .has_epoch = true,
                        .epoch = state_get_epoch(d->state),
                        .event = _EVENT_INVALID,
                        .reason = "MAINTENANCE"},
                "maintenance mode %s by the operator%s%s: automatic failover is %s%s",
                enabled ? "on" : "off", at[0] ? " until " : "", at, enabled ? "paused" : "on", peers_text);
        daemon_cluster_changed(dc);
        if (!enabled)
                maintenance_ended(dc);

        json_object *res = json_object_new_object();
        json_object_object_add(res, "cluster", json_object_new_string(dc->conf->name));
        json_object_object_add(res, "maintenance", json_object_new_boolean(enabled));
        json_object_object_add(res, "until", at[0] ? json_object_new_string(at) : NULL);
        json_object_object_add(res, "set_usec", json_object_new_uint64(set));
        json_object_object_add(res, "peers_sent", json_object_new_uint64(sent));
        json_object_object_add(res, "peers", json_object_new_uint64(n_peers));
        char text[512];
        snprintf(text, sizeof(text), "%s: maintenance %s%s%s%s", dc->conf->name, enabled ? "on" : "off",
                at[0] ? " until " : (enabled ? " (no TTL: until 'maintenance off')" : ""), at, peers_text);
        json_object_object_add(res, "text", json_object_new_string(text));
        return control_client_reply(client, res);
}
