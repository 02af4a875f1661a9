/* Self-fencing (SPEC 5.5; issue 5): the lease that keeps a primary writable. The sentinel in the
 * primary's zone keeps the primary writable only while a majority of the sentinels (itself included)
 * confirms it, and sets it read_only=ON (killing its client connections) once no majority has for
 * fencing.self_fence_after_ms; it lifts that fence only when a majority confirms the primary again.
 * The rules are lib/core/quorum.c's quorum_majority_heard_usec() and quorum_self_fence(), checked by
 * tests/model/sentinel.pml (CONFIRMS, LEASE, FENCE_DUE, LIFT_OK); this file is their wiring:
 *
 *  - Pings: every OPINION round carries a ping (a counter that starts at this boot's boot time, so it
 *    only ever grows across restarts), and each peer's OPINION echoes the latest ping it received
 *    from us as its pong. A peer's confirmation counts from when WE SENT the ping its pong echoes,
 *    never from when its OPINION arrived: a reply delayed in the network cannot extend the lease.
 *  - A sentinel confirms a cluster's primary (daemon_cluster_confirms(), sent in its OPINION) when
 *    it knows that primary from a committed configuration (not one written ahead of a promotion),
 *    its own latest probe of it succeeded, and it has not voted in this cluster's elections beyond
 *    that configuration's epoch within the last 2 x failover.timeout_ms (sentinel.pml: epoch ==
 *    cfg_e), unless the candidate it voted for has since said (its OPINION's settled_epoch, see
 *    daemon_cluster_settled_epoch()) that it will never lead a run in that epoch: an election lost or
 *    given up ends the suspension at the candidate's next OPINION (sentinel.pml does not model this: it
 *    rests on the candidate's word, which daemon_cluster_settled_epoch() never takes back: no election,
 *    run or pending promotion of its own at or below it, and elections only go above the current
 *    epoch). The expiry is this file's addition
 *    to the model: an election that a sentinel voted in and that never produced a configuration would
 *    otherwise stop it confirming forever, and the primary would stay fenced. It assumes a leader's run ends within failover.timeout_ms (the
 *    engine's deadlines); the model, which lets a leader promote at any later time, does not check
 *    that part. A restarted sentinel does not know when it voted: it counts its last vote as just
 *    now when that vote's epoch is above the configuration's.
 *  - This sentinel's own confirmation is dated by the start of its last good probe of the primary.
 *  - A configuration taken while running (this sentinel's own promotion, won with a majority's votes,
 *    or one announced by its leader) counts as heard when it was taken, so that the sentinel in the new
 *    primary's zone does not fence the primary just promoted before the others confirm it. Known at
 *    start, it counts as never heard. (sentinel.pml models the lease of the primary P0 only.)
 *  - A fence is started at most once at a time; while fenced, a primary seen writable again (an
 *    operator, a failed statement) is fenced again. Only a fence this sentinel set is lifted by it.
 *    When the configuration moves to another primary the fence is forgotten, not lifted: the old
 *    primary is then the rejoin logic's (daemon-reconcile.c).
 *  - A fence because nothing was heard since this sentinel started (a restart, a first start) holds
 *    the primary read-only for normally one OPINION round: logged and audited, paged (`fenced`) only
 *    when it lasts longer than self_fence_after_ms. A fence after silence is paged at once. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "peer-payload.h"
#include "quorum.h"
#include "server-action.h"
#include "timefmt.h"

#define LEASE_PINGS 64 /* pings remembered: 32 s of 500 ms rounds */
#define FENCE_ACTION_TIMEOUT_USEC (5 * USEC_PER_SEC)

struct daemon_lease {
        uint64_t next_ping;
        uint64_t ping_id[LEASE_PINGS];
        uint64_t ping_usec[LEASE_PINGS]; /* CLOCK_MONOTONIC when it was sent */
};

struct self_fence {
        uint64_t *confirmed_usec; /* per configured peer (config order): QUORUM_NEVER or when the ping
                                   * its latest confirmation answers was sent */
        uint64_t self_confirmed_usec; /* this sentinel's last good probe start while it confirmed */
        uint64_t voted_usec;          /* when this sentinel last voted in this cluster's elections... */
        uint64_t voted_epoch;         /* ...and in which epoch; 0: not since it started */
        bool fenced;                  /* it self-fenced fenced_server and has not lifted that */
        bool applied;                 /* ...and the server confirmed read_only=ON */
        uint64_t done_usec;           /* when the last fence action ended: only a probe started later can
                                       * show the server writable again */
        bool paged;                   /* the fence was paged */
        size_t fenced_server;
        uint64_t fenced_usec;
        quorum_fence_reason fenced_reason;
        size_t known_server;    /* the primary (and its configuration's epoch) the confirmations are about */
        uint64_t known_epoch;
        uint64_t taken_usec;    /* when this sentinel took that configuration while running; QUORUM_NEVER:
                                 * it knew it at start */
        server_action *action; /* a fence or a lift in flight */
        bool action_lift;
        sd_event_source *timer; /* the next deadline */
        json_object *last;      /* the last decision, for status and `why` */
};

static uint64_t now_usec(const daemon_ctx *d) {
        uint64_t now = 0;
        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        return now;
}

int daemon_lease_start(daemon_ctx *d, uint64_t first_ping) {
        if (!d->lease) {
                d->lease = calloc(1, sizeof(*d->lease));
                if (!d->lease)
                        return -ENOMEM;
        }
        d->lease->next_ping = first_ping;
        return 0;
}

uint64_t daemon_lease_ping(daemon_ctx *d) {
        struct daemon_lease *l = d->lease;
        if (!l)
                return 0;
        uint64_t id = l->next_ping++;
        l->ping_id[id % LEASE_PINGS] = id;
        l->ping_usec[id % LEASE_PINGS] = now_usec(d);
        return id;
}

/* The cluster's fence state, made on first use; NULL without peers or memory. */
static struct self_fence *fence_of(daemon_cluster *dc) {
        daemon_ctx *d = dc->daemon;
        size_t n = d->config->sentinel.n_peers;
        if (dc->fence || n == 0)
                return dc->fence;
        struct self_fence *f = calloc(1, sizeof(*f));
        if (!f)
                return NULL;
        f->confirmed_usec = calloc(n, sizeof(uint64_t));
        if (!f->confirmed_usec) {
                free(f);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                f->confirmed_usec[i] = QUORUM_NEVER;
        f->self_confirmed_usec = QUORUM_NEVER;
        f->fenced_server = TOPOLOGY_NONE;
        f->known_server = TOPOLOGY_NONE;
        f->taken_usec = QUORUM_NEVER;
        /* A vote of ours above the configuration's epoch, from before this start: count it as now. */
        uint64_t last_vote = 0, config_epoch = 0;
        (void) state_last_vote(d->state, &last_vote, NULL);
        (void) state_get_cluster_primary(d->state, dc->conf->name, NULL, &config_epoch);
        if (last_vote > config_epoch) {
                f->voted_epoch = last_vote;
                f->voted_usec = now_usec(d);
        }
        dc->fence = f;
        return f;
}

void daemon_fence_voted(daemon_cluster *dc, uint64_t epoch) {
        struct self_fence *f = fence_of(dc);
        if (!f)
                return;
        f->voted_epoch = epoch;
        f->voted_usec = now_usec(dc->daemon);
}

/* The known primary's index from a committed configuration, or TOPOLOGY_NONE; *ret_epoch its epoch. */
static size_t known_primary(daemon_cluster *dc, uint64_t *ret_epoch) {
        const char *name = NULL;
        uint64_t epoch = 0;
        if (state_get_cluster_primary(dc->daemon->state, dc->conf->name, &name, &epoch) <= 0 || !name)
                return TOPOLOGY_NONE;
        if (state_get_cluster_pending(dc->daemon->state, dc->conf->name))
                return TOPOLOGY_NONE; /* written ahead of a promotion: not a primary to confirm or fence yet */
        for (size_t i = 0; i < dc->conf->n_servers; i++)
                if (streq(dc->conf->servers[i].name, name)) {
                        if (ret_epoch)
                                *ret_epoch = epoch;
                        return i;
                }
        return TOPOLOGY_NONE;
}

/* Whether our vote in this cluster's elections still suspends our confirmations (see the top). */
static bool vote_suspends(daemon_cluster *dc, uint64_t config_epoch) {
        struct self_fence *f = fence_of(dc);
        const char *candidate = NULL;
        if (!f || f->voted_epoch <= config_epoch)
                return false;
        if (now_usec(dc->daemon) - f->voted_usec >= 2 * dc->conf->failover.timeout_ms * USEC_PER_MSEC)
                return false;
        /* Its candidate said it will never lead a run in that epoch (lost, or gave up): nothing to wait for. */
        return state_vote_for(dc->daemon->state, f->voted_epoch, &candidate) <= 0 ||
               !daemon_vote_settled(dc, f->voted_epoch, candidate);
}

bool daemon_cluster_confirms(daemon_cluster *dc) {
        uint64_t config_epoch = 0;
        size_t p = known_primary(dc, &config_epoch);
        if (p == TOPOLOGY_NONE)
                return false;
        const server_status *st = monitor_server_status(dc->monitor, p);
        return st && st->reachable && !vote_suspends(dc, config_epoch);
}

void daemon_lease_on_opinion(daemon_ctx *d, size_t peer, const peer_opinion *o) {
        struct daemon_lease *l = d->lease;
        if (!l || o->pong == PEER_MS_NEVER || l->ping_id[o->pong % LEASE_PINGS] != o->pong)
                return; /* no pong, or one too old to date */
        uint64_t sent = l->ping_usec[o->pong % LEASE_PINGS];
        for (size_t i = 0; i < d->n_clusters; i++) {
                daemon_cluster *dc = d->clusters[i];
                const peer_opinion_cluster *c = peer_opinion_find(o, dc->conf->name);
                uint64_t config_epoch = 0;
                size_t p = known_primary(dc, &config_epoch);
                struct self_fence *f = fence_of(dc);
                if (!f || !c || !c->confirms || c->pending || p == TOPOLOGY_NONE || !c->primary ||
                        !streq(c->primary, dc->conf->servers[p].name) || c->config_epoch != config_epoch)
                        continue;
                if (f->confirmed_usec[peer] == QUORUM_NEVER || f->confirmed_usec[peer] < sent)
                        f->confirmed_usec[peer] = sent;
                daemon_fence_evaluate(dc);
        }
}

static void fence_audit(daemon_cluster *dc, const char *decision, const char *reason, const char *server,
        const char *text) {
        json_object *in = json_object_new_object();
        json_object_object_add(in, "server", json_object_new_string(server));
        json_object_object_add(in, "text", json_object_new_string(text));
        if (dc->fence && dc->fence->last)
                json_object_object_add(in, "decision", json_object_get(dc->fence->last));
        daemon_audit(dc->daemon, dc->conf->name, decision, reason, in);
}

static void on_fence_done(server_action *a, const server_action_result *res, void *userdata) {
        daemon_cluster *dc = userdata;
        struct self_fence *f = dc->fence;
        const char *server = f->fenced_server < dc->conf->n_servers ? dc->conf->servers[f->fenced_server].name : "?";
        bool lift = f->action_lift;
        uint64_t epoch = state_get_epoch(dc->daemon->state);
        char text[512];

        f->action = NULL; /* freed below: this is its handler */
        f->done_usec = now_usec(dc->daemon);
        if (res->code != SERVER_ACTION_OK) {
                snprintf(text, sizeof(text), "cannot %s %s: %s; trying again at the next round",
                        lift ? "lift the self-fence of" : "self-fence", server, res->message);
                log_fields_full(LOG_WARNING,
                        &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                .event = _EVENT_INVALID, .reason = lift ? "LIFT_FAILED" : "FENCE_FAILED" },
                        "%s", text);
                if (lift)
                        f->fenced = true; /* still fenced as far as we know */
        } else if (lift) {
                snprintf(text, sizeof(text), "self-fence of %s lifted: a majority of sentinels confirms it as "
                        "the primary again", server);
                log_fields_full(LOG_NOTICE,
                        &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                .event = _EVENT_INVALID, .reason = "CONFIRMED" },
                        "%s", text);
                fence_audit(dc, "self-fence-lifted", "CONFIRMED", server, text);
                f->fenced = false;
                f->fenced_server = TOPOLOGY_NONE;
        } else {
                const char *reason = quorum_fence_reason_to_string(f->fenced_reason);
                f->applied = true;
                daemon_metrics_self_fence(dc, reason);
                if (f->fenced_reason != QUORUM_FENCE_NEVER_HEARD && !f->paged) {
                        f->paged = true;
                        daemon_raise(dc, EVENT_FENCED, epoch, reason, f->fenced_server, TOPOLOGY_NONE,
                                f->last ? json_object_get(f->last) : NULL,
                                "%s self-fenced by this sentinel (read_only=ON, %u client connection(s) killed): "
                                "no majority of sentinels confirmed it as the primary for %" PRIu64 " ms",
                                server, res->n_killed, dc->conf->fencing.self_fence_after_ms);
                } else
                        log_fields_full(LOG_NOTICE,
                                &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                        .event = _EVENT_INVALID, .reason = reason },
                                "%s self-fenced: read_only=ON, %u client connection(s) killed", server,
                                res->n_killed);
        }
        server_action_free(a);
        (void) monitor_probe_now(dc->monitor);
}

/* Starts a fence (lift false) or a lift of server. */
static void fence_start(daemon_cluster *dc, size_t server, bool lift) {
        struct self_fence *f = dc->fence;
        const server_conf *s = &dc->conf->servers[server];
        server_action *a = NULL;
        int r = daemon_server_action_new(dc, server, &a);
        uint64_t deadline = now_usec(dc->daemon) + FENCE_ACTION_TIMEOUT_USEC;
        if (r >= 0)
                r = lift ? server_action_unfence(a, 0, deadline, on_fence_done, dc)
                         : server_action_fence(a, 0, deadline, on_fence_done, dc);
        if (r < 0) {
                server_action_free(a);
                log_fields_full(LOG_ERR,
                        &(log_fields){ .cluster = dc->conf->name, .event = _EVENT_INVALID,
                                .reason = lift ? "LIFT_FAILED" : "FENCE_FAILED" },
                        "cannot start to %s %s: %s", lift ? "lift the self-fence of" : "self-fence", s->name,
                        strerror(-r));
                return;
        }
        f->action = a;
        f->action_lift = lift;
}

static int on_fence_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        daemon_fence_evaluate(userdata);
        return 0;
}

static void arm_timer(daemon_cluster *dc, uint64_t at) {
        struct self_fence *f = dc->fence;
        if (at == UINT64_MAX) {
                if (f->timer)
                        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
                return;
        }
        if (!f->timer) {
                /* On failure the next OPINION round or probe result evaluates again. */
                (void) sd_event_add_time(dc->daemon->event, &f->timer, CLOCK_MONOTONIC, at, 1000, on_fence_timer, dc);
                return;
        }
        (void) sd_event_source_set_time(f->timer, at);
        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_ONESHOT);
}

void daemon_fence_evaluate(daemon_cluster *dc) {
        daemon_ctx *d = dc->daemon;
        const sentinel_conf *sc = &d->config->sentinel;
        struct self_fence *f = fence_of(dc);
        uint64_t config_epoch = 0, now = now_usec(d), ok_usec = 0, heard = 0;
        size_t p = known_primary(dc, &config_epoch);
        char *text = NULL;

        if (!f)
                return;
        if (f->fenced && f->fenced_server != p) {
                /* The configuration moved on: that server is the rejoin logic's now. */
                f->fenced = false;
                f->fenced_server = TOPOLOGY_NONE;
        }
        if (p != TOPOLOGY_NONE && (p != f->known_server || config_epoch != f->known_epoch)) {
                /* A new configuration: earlier confirmations were about another. Taken while running (a
                 * promotion won by a majority's votes, or announced by its leader), it counts as heard
                 * now; known at start, as never heard (a restart cannot know how long it was cut off). */
                if (f->known_server != TOPOLOGY_NONE || f->known_epoch != 0)
                        f->taken_usec = now;
                f->known_server = p;
                f->known_epoch = config_epoch;
                f->self_confirmed_usec = QUORUM_NEVER;
                for (size_t i = 0; i < sc->n_peers; i++)
                        f->confirmed_usec[i] = QUORUM_NEVER;
        }
        if (p == TOPOLOGY_NONE || f->action)
                return;
        if (daemon_cluster_confirms(dc) && monitor_last_good_primary(dc->monitor, &ok_usec) == p && ok_usec > 0)
                f->self_confirmed_usec = ok_usec;

        size_t n = sc->n_peers + 1;
        uint64_t confirmed[n];
        confirmed[0] = f->self_confirmed_usec;
        for (size_t i = 0; i < sc->n_peers; i++)
                confirmed[i + 1] = f->confirmed_usec[i];
        int r = quorum_majority_heard_usec(confirmed, n, config_majority(d->config), &heard);
        if (r < 0)
                return;
        if (f->taken_usec != QUORUM_NEVER && (r == 0 || heard < f->taken_usec)) {
                r = 1;
                heard = f->taken_usec;
        }
        uint64_t sfa_usec = dc->conf->fencing.self_fence_after_ms * USEC_PER_MSEC;
        quorum_fence_input in = {
                .zone = sc->zone,
                .primary_zone = dc->conf->servers[p].zone,
                .majority_heard = r > 0,
                .majority_heard_usec = heard,
                .now_usec = now,
                .self_fence_after_ms = dc->conf->fencing.self_fence_after_ms,
                .fenced = f->fenced,
                .majority_confirms = r > 0 && heard <= now && now - heard <= sfa_usec,
        };
        quorum_fence_decision dec = quorum_self_fence(&in);
        if (in.primary_zone == NULL || dec.reason == QUORUM_FENCE_NOT_PRIMARY_ZONE)
                return;
        if (dec.action == QUORUM_FENCE_KEEP && !f->fenced) {
                /* The common case, after every OPINION and probe: nothing to say, only the deadline. */
                arm_timer(dc, dec.deadline_usec != UINT64_MAX ? dec.deadline_usec + 1 : UINT64_MAX);
                return;
        }

        json_object_put(f->last);
        f->last = NULL;
        (void) quorum_fence_to_json(&in, &dec, &f->last);
        (void) quorum_fence_describe(&in, &dec, &text);
        const char *server = dc->conf->servers[p].name;
        const char *reason = quorum_fence_reason_to_string(dec.reason);
        uint64_t epoch = state_get_epoch(d->state);

        switch (dec.action) {
        case QUORUM_FENCE_FENCE: {
                f->fenced = true;
                f->applied = false;
                f->paged = false;
                f->fenced_server = p;
                f->fenced_usec = now;
                f->fenced_reason = dec.reason;
                bool startup = dec.reason == QUORUM_FENCE_NEVER_HEARD;
                log_fields_full(startup ? LOG_NOTICE : LOG_WARNING,
                        &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                .event = _EVENT_INVALID, .reason = reason },
                        "self-fencing %s: %s", server, text ? text : reason);
                fence_audit(dc, "self-fence", reason, server, text ? text : reason);
                daemon_peers_opinion_now(d); /* the others then expect the read-only primary */
                fence_start(dc, p, false); /* paged when the server confirmed it (on_fence_done()) */
                break;
        }
        case QUORUM_FENCE_LIFT:
                log_fields_full(LOG_NOTICE,
                        &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                .event = _EVENT_INVALID, .reason = reason },
                        "lifting the self-fence of %s: %s", server, text ? text : reason);
                f->fenced = false; /* on_fence_done() sets it back when the lift fails */
                fence_start(dc, p, true);
                break;
        default:
                if (f->fenced) {
                        const server_status *st = monitor_server_status(dc->monitor, p);
                        if (f->applied && !f->paged && now - f->fenced_usec >= sfa_usec) {
                                f->paged = true;
                                daemon_raise(dc, EVENT_FENCED, epoch, reason, p, TOPOLOGY_NONE,
                                        json_object_get(f->last),
                                        "%s held read-only by this sentinel for %" PRIu64 " ms: %s", server,
                                        (uint64_t) ((now - f->fenced_usec) / USEC_PER_MSEC), text ? text : reason);
                        }
                        if (st && st->reachable && st->have_variables && !st->read_only &&
                                st->started_usec > f->done_usec) {
                                log_fields_full(LOG_WARNING,
                                        &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                                .event = _EVENT_INVALID, .reason = reason },
                                        "%s is writable again although self-fenced (%s): fencing it again", server,
                                        text ? text : reason);
                                f->fenced_usec = now;
                                fence_start(dc, p, false);
                        }
                }
                break;
        }
        free(text);
        /* Evaluate again at the deadline, or within a round while fenced (to lift). */
        arm_timer(dc, dec.deadline_usec != UINT64_MAX ? dec.deadline_usec + 1 : UINT64_MAX);
}

bool daemon_fence_holds(const daemon_cluster *dc) {
        return dc->fence && dc->fence->fenced;
}

void daemon_fence_reconfigured(daemon_cluster *dc) {
        if (dc->fence)
                dc->fence->action = server_action_free(dc->fence->action);
}

void daemon_fence_free(daemon_cluster *dc) {
        struct self_fence *f = dc->fence;
        if (!f)
                return;
        server_action_free(f->action);
        sd_event_source_disable_unref(f->timer);
        json_object_put(f->last);
        free(f->confirmed_usec);
        free(f);
        dc->fence = NULL;
}

void daemon_lease_free(daemon_ctx *d) {
        free(d->lease);
        d->lease = NULL;
}
