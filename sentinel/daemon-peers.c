/* The sentinels talking to each other (SPEC 1, 5.2-5.5; issue 5): one peer_link (lib/io/peer-link.h)
 * listening on sentinel.listen and dialing every configured peer, the authenticated frames of
 * peer-proto.h with the payloads of peer-payload.h, and what the daemon makes of them: who is
 * reachable (peer-up / peer-down, quorum-lost / quorum-regained) and the peers' opinions that make
 * ODOWN (quorum.h). The votes of an election and newer configurations are handed to daemon-votes.c;
 * what both files share is daemon-peers-internal.h.
 *
 * Choices made here:
 *  - The peer list, addresses and secret are taken at start; a reload that changes them takes effect
 *    at the next restart.
 *  - boot_time_usec is max(CLOCK_REALTIME now, the last one + 1), persisted in state_dir/boot (one
 *    decimal line, written and fsynced before the first message), so peers never see a restarted
 *    sentinel as STALE_BOOT even when the wall clock stepped back.
 *  - A peer is reachable while its last valid message is at most 3 x 500 ms old.
 *  - peer-up / peer-down / quorum-lost / quorum-regained concern the sentinel, not a cluster: they
 *    are raised once, on the first cluster (config order).
 *  - A frame that fails authentication carries no trustworthy sender: it is counted against the
 *    configured peer whose host is the frame's source address when exactly one peer has that host,
 *    else against "unattributed" (the source address is logged). One log line per peer (or for the
 *    unattributed ones) per minute at most.
 *  - An authentic frame from a peer that our link to it is not connected to ends our backoff to it
 *    (peer_link_connect_now()): it is up, and hears us only over our connection. Without that, a
 *    restarted sentinel would wait up to 5 s for our OPINIONs, holding its primary read-only. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon.h"
#include "daemon-peers-internal.h"
#include "fsutil.h"
#include "log.h"
#include "macro.h"
#include "peer-link.h"
#include "peer-payload.h"
#include "peer-proto.h"
#include "quorum.h"
#include "sentinel-build.h"
#include "timefmt.h"

/* The OPINION round: 500 ms, shorter when a cluster's self_fence_after_ms is below 2 s, so that a
 * confirmation (dated by the ping it answers, at most two rounds old when refreshed) keeps the lease
 * with room to spare: self_fence_after_ms / 4, at least 50 ms. */
#define PEERS_TICK_MAX_USEC  (500 * USEC_PER_MSEC)
#define PEERS_TICK_MIN_USEC  (50 * USEC_PER_MSEC)
#define PEERS_REACHABLE_USEC (1500 * USEC_PER_MSEC)
#define PEERS_LOG_EVERY_USEC (60 * USEC_PER_SEC)

uint64_t peers_now(const daemon_peers *p) {
        uint64_t now = 0;
        (void) sd_event_now(p->d->event, CLOCK_MONOTONIC, &now);
        return now;
}

daemon_cluster *find_cluster(daemon_ctx *d, const char *name) {
        for (size_t i = 0; i < d->n_clusters; i++)
                if (streq(d->clusters[i]->conf->name, name))
                        return d->clusters[i];
        return NULL;
}

static daemon_peer *find_peer(daemon_peers *p, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < p->n_peers; i++)
                if (streq(p->peers[i].name, name)) {
                        if (ret_index)
                                *ret_index = i;
                        return &p->peers[i];
                }
        return NULL;
}

/* ---- sending ---- */

int peers_send(daemon_peers *p, ssize_t to, peer_msg_type type, json_object *payload) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        peer_msg m = {
                .type = type,
                .boot_time_usec = p->boot_time_usec,
                .boot_nonce = p->boot_nonce,
                .seq = ++p->seq,
                .payload = payload,
        };
        snprintf(m.sender, sizeof(m.sender), "%s", p->self);
        r = peer_msg_encode(&m, p->key, p->key_len, &buf, &len);
        json_object_put(payload);
        if (r < 0)
                return r;
        if (to < 0)
                return peer_link_broadcast(p->link, buf, len);
        return peer_link_send(p->link, (size_t) to, buf, len);
}

static uint64_t highest_epoch(daemon_ctx *d) {
        uint64_t e = state_get_epoch(d->state), ce = 0;
        for (size_t i = 0; i < d->n_clusters; i++)
                if (state_get_cluster_primary(d->state, d->clusters[i]->conf->name, NULL, &ce) > 0 && ce > e)
                        e = ce;
        return e;
}

static void send_hello(daemon_peers *p, ssize_t to) {
        json_object *j = NULL;
        if (peer_hello_build(p->d->config->sentinel.zone, highest_epoch(p->d), SENTINEL_VERSION, &j) >= 0)
                (void) peers_send(p, to, PEER_MSG_HELLO, j);
}

/* The OPINION for peer `to` (each peer gets its own, with the pong that answers it; ping from
 * daemon_lease_ping()). */
static void send_opinion(daemon_peers *p, size_t to, uint64_t ping) {
        daemon_ctx *d = p->d;
        peer_opinion_cluster cl[d->n_clusters ? d->n_clusters : 1];
        uint64_t now = peers_now(p);
        json_object *j = NULL;
        size_t n = 0;

        for (size_t i = 0; i < d->n_clusters; i++) {
                daemon_cluster *dc = d->clusters[i];
                const topology *t = monitor_topology(dc->monitor);
                const char *primary = NULL;
                uint64_t config_epoch = 0, ok_usec = 0;

                (void) state_get_cluster_primary(d->state, dc->conf->name, &primary, &config_epoch);
                cl[n] = (peer_opinion_cluster){
                        .name = (char *) dc->conf->name,
                        .primary = (char *) primary,
                        .sdown = primary && monitor_primary_sdown(dc->monitor),
                        .last_ok_ms_ago = PEER_MS_NEVER,
                        .evidence = t && primary ? t->primary_evidence : 0,
                        .config_epoch = config_epoch,
                        .pending = state_get_cluster_pending(d->state, dc->conf->name),
                        .confirms = daemon_cluster_confirms(dc),
                        .self_fenced = daemon_fence_holds(dc),
                        .settled_epoch = daemon_cluster_settled_epoch(dc),
                };
                if (primary && monitor_last_good_primary(dc->monitor, &ok_usec) != TOPOLOGY_NONE &&
                        ok_usec > 0 && ok_usec <= now)
                        cl[n].last_ok_ms_ago = (now - ok_usec) / USEC_PER_MSEC;
                n++;
        }
        if (peer_opinion_build(ping, p->peers[to].ping, cl, n, &j) >= 0)
                (void) peers_send(p, (ssize_t) to, PEER_MSG_OPINION, j);
}

/* ---- reachability ---- */

static void raise_sentinel_event(
        daemon_peers *p, sentinel_event ev, const char *reason, json_object *details, const char *text) {
        daemon_ctx *d = p->d;
        if (d->n_clusters == 0) {
                log_fields_full(LOG_NOTICE, &(log_fields){.event = ev, .reason = reason}, "%s", text);
                json_object_put(details);
                return;
        }
        daemon_raise(d->clusters[0], ev, state_get_epoch(d->state), reason, TOPOLOGY_NONE, TOPOLOGY_NONE,
                details, "%s", text);
}

size_t daemon_peers_reachable(const daemon_ctx *d) {
        size_t n = 0;
        if (!d->peers)
                return 0;
        for (size_t i = 0; i < d->peers->n_peers; i++)
                n += d->peers->peers[i].reachable;
        return n;
}

static void update_reachability(daemon_peers *p) {
        daemon_ctx *d = p->d;
        uint64_t now = peers_now(p);
        char text[512];

        for (size_t i = 0; i < p->n_peers; i++) {
                daemon_peer *dp = &p->peers[i];
                bool r = dp->seen && now - dp->last_seen_usec <= PEERS_REACHABLE_USEC;
                if (r == dp->reachable)
                        continue;
                dp->reachable = r;
                json_object *details = json_object_new_object();
                json_object_object_add(details, "peer", json_object_new_string(dp->name));
                snprintf(text, sizeof(text), "peer sentinel %s is %s", dp->name,
                        r ? "reachable"
                          : "unreachable: no valid message for 1500 ms; check that it runs and the network "
                            "between");
                raise_sentinel_event(
                        p, r ? EVENT_PEER_UP : EVENT_PEER_DOWN, r ? NULL : "PEER_SILENT", details, text);
        }
        size_t reach = 1 + daemon_peers_reachable(d), majority = config_majority(d->config);
        bool ok = reach >= majority;
        if (ok != p->quorum_ok && (ok || now - p->started_usec >= PEERS_REACHABLE_USEC)) {
                p->quorum_ok = ok;
                snprintf(text, sizeof(text),
                        ok ? "%zu of %zu sentinels reachable: a majority (%zu) again"
                           : "only %zu of %zu sentinels reachable, below the majority of %zu: no automatic "
                             "failover until more are reachable",
                        reach, config_n_sentinels(d->config), majority);
                json_object *details = json_object_new_object();
                json_object_object_add(details, "reachable", json_object_new_uint64(reach));
                json_object_object_add(details, "majority", json_object_new_uint64(majority));
                raise_sentinel_event(p, ok ? EVENT_QUORUM_REGAINED : EVENT_QUORUM_LOST,
                        ok ? NULL : "QUORUM_LOST", details, text);
        }
}

/* ---- rejects ---- */

static void log_rejects(const char *who, const char *from, uint64_t *counts, uint64_t *logged,
        uint64_t *last_usec, uint64_t now) {
        uint64_t total = 0;
        char list[512] = "";
        size_t o = 0;

        for (int r = 0; r < _PEER_REJECT_MAX; r++)
                total += counts[r];
        if (total == *logged || (*last_usec != 0 && now - *last_usec < PEERS_LOG_EVERY_USEC))
                return;
        for (int r = 0; r < _PEER_REJECT_MAX && o < sizeof(list); r++)
                if (counts[r])
                        o += snprintf(list + o, sizeof(list) - o, "%s%s=%" PRIu64, o ? " " : "",
                                peer_reject_to_string(r), counts[r]);
        log_fields_full(LOG_WARNING, &(log_fields){.event = _EVENT_INVALID, .reason = "PEER_REJECTED"},
                "rejected %" PRIu64
                " peer message(s) in total from %s (%s): %s; check that every sentinel has the same "
                "peer_secret_file, the same version, and lists the others in its sentinel.peers",
                total, who, from, list);
        *logged = total;
        *last_usec = now;
}

void count_reject(daemon_peers *p, daemon_peer *dp, const struct sockaddr *from, peer_reject why) {
        char addr[INET6_ADDRSTRLEN] = "?";
        uint64_t now = peers_now(p);

        if (from && from->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) from)->sin_addr, addr, sizeof(addr));
        else if (from && from->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) from)->sin6_addr, addr, sizeof(addr));
        if (!dp) {
                size_t match = 0;
                for (size_t i = 0; i < p->n_peers; i++)
                        if (p->peers[i].host && streq(p->peers[i].host, addr)) {
                                match++;
                                dp = &p->peers[i];
                        }
                if (match != 1)
                        dp = NULL;
        }
        if (why < 0 || why >= _PEER_REJECT_MAX)
                return;
        daemon_metrics_peer_reject(p->d, dp ? dp->name : NULL, why);
        if (dp) {
                dp->rejects[why]++;
                log_rejects(dp->name, addr, dp->rejects, &dp->rejects_logged, &dp->last_log_usec, now);
        } else {
                p->unattributed[why]++;
                log_rejects("an unattributed sender", addr, p->unattributed, &p->unattributed_logged,
                        &p->unattributed_log_usec, now);
        }
}

/* ---- receiving ---- */

void daemon_peers_opinions(daemon_cluster *dc, quorum_opinion *ret, size_t *ret_n) {
        daemon_peers *p = dc->daemon->peers;
        size_t n = 0;

        for (size_t i = 0; p && i < p->n_peers; i++) {
                const peer_opinion_cluster *o;
                if (p->peers[i].opinion_usec == 0)
                        continue;
                o = peer_opinion_find(&p->peers[i].opinion, dc->conf->name);
                if (!o)
                        continue;
                ret[n++] = (quorum_opinion){
                        .sentinel = p->peers[i].name,
                        .primary = o->primary,
                        .sdown = o->sdown,
                        .received_usec = p->peers[i].opinion_usec,
                        .replica_evidence = o->evidence > UINT32_MAX ? UINT32_MAX : (unsigned) o->evidence,
                };
        }
        *ret_n = n;
}

const peer_opinion_cluster *daemon_peers_opinion_of(const daemon_ctx *d, const char *sentinel, const char *cluster) {
        const daemon_peers *p = d->peers;

        for (size_t i = 0; p && sentinel && i < p->n_peers; i++)
                if (p->peers[i].opinion_usec != 0 && streq(p->peers[i].name, sentinel))
                        return peer_opinion_find(&p->peers[i].opinion, cluster);
        return NULL;
}

size_t daemon_peers_count(const daemon_ctx *d) {
        return d->peers ? d->peers->n_peers : 0;
}

int daemon_cluster_odown(
        daemon_cluster *dc, size_t primary, quorum_odown_result *ret, json_object **ret_json) {
        const cluster_conf *c = dc->conf;
        size_t n_peers = daemon_peers_count(dc->daemon), n = 0;
        quorum_opinion ops[n_peers ? n_peers : 1];
        const topology *t = monitor_topology(dc->monitor);
        const sdown_tracker *sd = monitor_sdown(dc->monitor, primary);
        uint64_t now = 0;
        int r;

        (void) sd_event_now(dc->daemon->event, CLOCK_MONOTONIC, &now);
        daemon_peers_opinions(dc, ops, &n);
        quorum_odown_input in = {
                .self = dc->daemon->config->sentinel.name,
                .primary = primary < c->n_servers ? c->servers[primary].name : NULL,
                .sdown = sd && sdown_is_down(sd),
                .replica_evidence = t ? (unsigned) t->primary_evidence : 0,
                .opinions = ops,
                .n_opinions = n,
                .quorum = c->quorum ? c->quorum : 1,
                .window_usec = (c->probe.down_after_ms + 2 * c->probe.interval_ms) * USEC_PER_MSEC,
                .now_usec = now,
        };
        r = quorum_odown(&in, ret);
        if (r >= 0 && ret_json)
                (void) quorum_odown_to_json(ret, &in, ret_json);
        return r;
}

static void on_message(daemon_peers *p, size_t from, peer_msg *m) {
        daemon_peer *dp = &p->peers[from];

        switch (m->type) {
        case PEER_MSG_HELLO: {
                peer_hello h = {};
                if (peer_hello_parse(m->payload, &h) < 0) {
                        count_reject(p, dp, NULL, PEER_REJECT_BAD_PAYLOAD);
                        return;
                }
                free(dp->zone);
                dp->zone = TAKE_PTR(h.zone);
                dp->epoch = h.epoch;
                peer_hello_done(&h);
                daemon_epoch_seen(p->d, dp->name, dp->epoch);
                break;
        }
        case PEER_MSG_OPINION: {
                peer_opinion o = {};
                if (peer_opinion_parse(m->payload, &o) < 0) {
                        count_reject(p, dp, NULL, PEER_REJECT_BAD_PAYLOAD);
                        return;
                }
                bool news[p->d->n_clusters ? p->d->n_clusters : 1];
                for (size_t i = 0; i < p->d->n_clusters; i++) {
                        const char *name = p->d->clusters[i]->conf->name;
                        const peer_opinion_cluster *was = peer_opinion_find(&dp->opinion, name),
                                                   *now = peer_opinion_find(&o, name);
                        news[i] = now && now->sdown && !(was && was->sdown);
                }
                peer_opinion_done(&dp->opinion);
                dp->opinion = o;
                dp->opinion_usec = peers_now(p);
                /* A peer's new SDOWN may complete ODOWN now rather than at our next probe result. */
                for (size_t i = 0; i < p->d->n_clusters; i++) {
                        daemon_cluster *dc = p->d->clusters[i];
                        if (news[i] && !dc->op && !dc->odown && monitor_primary_sdown(dc->monitor))
                                daemon_cluster_evaluate(dc);
                }
                dp->ping = o.ping;
                daemon_lease_on_opinion(p->d, from, &dp->opinion);
                for (size_t i = 0; i < dp->opinion.n_clusters; i++) {
                        const peer_opinion_cluster *c = &dp->opinion.clusters[i];
                        if (!c->pending) /* written ahead of a promotion that may never happen */
                                adopt_config(p, dp->name, c->name, c->config_epoch, c->primary);
                }
                break;
        }
        case PEER_MSG_VOTE_REQUEST:
                on_vote_request(p, from, m);
                break;
        case PEER_MSG_VOTE_REPLY:
                on_vote_reply(p, from, m);
                break;
        case PEER_MSG_CONFIG: {
                peer_config c = {};
                if (peer_config_parse(m->payload, &c) < 0) {
                        count_reject(p, dp, NULL, PEER_REJECT_BAD_PAYLOAD);
                        return;
                }
                adopt_config(p, dp->name, c.cluster, c.epoch, c.primary);
                peer_config_done(&c);
                break;
        }
        case PEER_MSG_MAINTENANCE:
                if (daemon_maintenance_on_message(p->d, dp->name, m->payload) == -EINVAL)
                        count_reject(p, dp, NULL, PEER_REJECT_BAD_PAYLOAD);
                break;
        default:
                break;
        }
}

static void on_frame(
        peer_link *l, const uint8_t *frame, size_t len, const struct sockaddr *from, void *userdata) {
        daemon_peers *p = userdata;
        peer_msg m = {};
        peer_reject why = PEER_REJECT_TRUNCATED;
        size_t idx = 0;
        int r;

        r = peer_msg_decode(frame, len, p->key, p->key_len, &m, &why);
        if (r < 0) {
                count_reject(p, NULL, from, r == -EBADMSG ? why : PEER_REJECT_BAD_PAYLOAD);
                return;
        }
        daemon_peer *dp = find_peer(p, m.sender, &idx);
        if (!dp) {
                count_reject(p, NULL, from, PEER_REJECT_UNKNOWN_SENDER);
                peer_msg_done(&m);
                return;
        }
        r = peer_replay_check(&dp->replay, &m, &why);
        if (r < 0) {
                count_reject(p, dp, from, why);
                peer_msg_done(&m);
                return;
        }
        bool was_reachable = dp->reachable;
        dp->seen = true;
        dp->last_seen_usec = peers_now(p);
        if (!dp->reachable)
                update_reachability(p);
        /* It is up and we can hear it, so it can hear us: do not leave it waiting for our backoff (up
         * to 5 s after it was down), it needs our OPINIONs, e.g. to lift its startup self-fence. */
        if (!peer_link_connected(p->link, idx) && peer_link_connect_now(p->link, idx) > 0 && !was_reachable)
                log_info("heard peer sentinel %s: connecting to it now, not at the end of the backoff",
                        dp->name);
        on_message(p, idx, &m);
        peer_msg_done(&m);
}

static void on_peer(peer_link *l, size_t i, bool connected, int error, void *userdata) {
        daemon_peers *p = userdata;
        if (connected) {
                /* HELLO first on every connection. */
                send_hello(p, (ssize_t) i);
                send_opinion(p, i, daemon_lease_ping(p->d));
                daemon_maintenance_peer_connected(p->d, i);
        }
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        daemon_peers *p = userdata;
        uint64_t ping = daemon_lease_ping(p->d);
        send_hello(p, -1);
        for (size_t i = 0; i < p->n_peers; i++)
                send_opinion(p, i, ping);
        /* A vote request lost with a connection is asked again until the election ends. */
        for (size_t i = 0; i < p->d->n_clusters; i++) {
                daemon_cluster *dc = p->d->clusters[i];
                uint64_t epoch = 0;
                json_object *j = NULL;
                if (dc->op && failover_op_electing(dc->op, &epoch) &&
                        peer_vote_request_build(dc->conf->name, epoch,
                                dc->conf->servers[failover_op_get_old_primary(dc->op)].name,
                                quorum_vote_kind_to_string(failover_op_get_vote_kind(dc->op)), &j) >= 0)
                        (void) peers_send(p, -1, PEER_MSG_VOTE_REQUEST, j);
        }
        update_reachability(p);
        (void) sd_event_source_set_time(s, usec + p->tick_usec);
        return 0;
}

/* ---- the public side ---- */

bool daemon_peers_self_fenced(daemon_cluster *dc, const char *primary) {
        daemon_peers *p = dc->daemon->peers;
        uint64_t now = p ? peers_now(p) : 0;

        for (size_t i = 0; p && primary && i < p->n_peers; i++) {
                const peer_opinion_cluster *o = peer_opinion_find(&p->peers[i].opinion, dc->conf->name);
                if (o && o->self_fenced && o->primary && streq(o->primary, primary) && p->peers[i].opinion_usec > 0 &&
                        now - p->peers[i].opinion_usec <= PEERS_REACHABLE_USEC)
                        return true;
        }
        return false;
}

void daemon_peers_opinion_now(daemon_ctx *d) {
        daemon_peers *p = d->peers;
        if (!p)
                return;
        uint64_t ping = daemon_lease_ping(d);
        for (size_t i = 0; i < p->n_peers; i++)
                send_opinion(p, i, ping);
}

void daemon_peers_request_votes(daemon_cluster *dc, uint64_t epoch, const char *primary, quorum_vote_kind kind) {
        daemon_peers *p = dc->daemon->peers;
        json_object *j = NULL;
        if (p && peer_vote_request_build(dc->conf->name, epoch, primary, quorum_vote_kind_to_string(kind), &j) >= 0)
                (void) peers_send(p, -1, PEER_MSG_VOTE_REQUEST, j);
}

void daemon_peers_announce_config(daemon_cluster *dc, uint64_t epoch, const char *primary) {
        daemon_peers *p = dc->daemon->peers;
        json_object *j = NULL;
        if (p && peer_config_build(dc->conf->name, epoch, primary, &j) >= 0)
                (void) peers_send(p, -1, PEER_MSG_CONFIG, j);
}

int daemon_peers_send(daemon_ctx *d, ssize_t to, peer_msg_type type, json_object *payload) {
        if (!d->peers) {
                json_object_put(payload);
                return 0;
        }
        int r = peers_send(d->peers, to, type, payload);
        return to < 0 || r < 0 ? r : 1;
}

void daemon_peers_status(const daemon_ctx *d, status_peer *peers, size_t n) {
        daemon_peers *p = d->peers;
        uint64_t now = 0;
        if (!p)
                return;
        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < n; i++) {
                daemon_peer *dp = find_peer(p, peers[i].name, NULL);
                if (!dp)
                        continue;
                peers[i].reachable = dp->seen && now - dp->last_seen_usec <= PEERS_REACHABLE_USEC;
                peers[i].last_seen_known = dp->seen;
                peers[i].last_seen_ms = dp->seen && now >= dp->last_seen_usec
                                                ? (now - dp->last_seen_usec) / USEC_PER_MSEC
                                                : 0;
                if (dp->zone)
                        peers[i].zone = dp->zone;
                peers[i].epoch_known = dp->zone != NULL; /* both come with its HELLO */
                peers[i].epoch = dp->epoch;
                peers[i].rejected = dp->rejects;
        }
}

/* max(now, the last boot + 1), persisted (fsync) before use. */
static int boot_time(const char *state_dir, uint64_t *ret) {
        _cleanup_free_ char *path = NULL;
        uint64_t now = timefmt_now_realtime_usec(), last = 0;
        char line[32];
        FILE *f;
        int r, n;

        if (asprintf(&path, "%s/boot", state_dir) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (f) {
                if (fgets(line, sizeof(line), f))
                        last = strtoull(line, NULL, 10);
                fclose(f);
        }
        if (now <= last)
                now = last + 1;
        n = snprintf(line, sizeof(line), "%" PRIu64 "\n", now);
        r = fsutil_write_atomic(state_dir, "boot", line, (size_t) n, 0600, NULL);
        if (r < 0)
                return r;
        *ret = now;
        return 0;
}

int daemon_peers_start(daemon_ctx *d) {
        const sentinel_conf *s = &d->config->sentinel;
        daemon_peers *p;
        int r;

        if (s->n_peers == 0)
                return 0;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        d->peers = p;
        p->d = d;
        p->self = strdup(s->name);
        p->peers = calloc(s->n_peers, sizeof(*p->peers));
        p->key = malloc(s->peer_secret.size);
        if (!p->self || !p->peers || !p->key)
                return -ENOMEM;
        memcpy(p->key, s->peer_secret.data, s->peer_secret.size);
        p->key_len = s->peer_secret.size;
        p->n_peers = s->n_peers;
        p->quorum_ok = true; /* raise quorum-lost only after a first look */
        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &p->started_usec);
        peer_link_peer lp[s->n_peers];
        for (size_t i = 0; i < s->n_peers; i++) {
                p->peers[i].ping = PEER_MS_NEVER;
                p->peers[i].name = strdup(s->peers[i].name);
                p->peers[i].host = s->peers[i].address.host ? strdup(s->peers[i].address.host) : NULL;
                if (!p->peers[i].name)
                        return -ENOMEM;
                lp[i] = (peer_link_peer){.name = s->peers[i].name, .address = s->peers[i].address};
        }
        r = boot_time(s->state_dir, &p->boot_time_usec);
        if (r < 0) {
                log_error("cannot record the boot time in %s/boot: %s", s->state_dir, strerror(-r));
                return r;
        }
        if (getrandom(&p->boot_nonce, sizeof(p->boot_nonce), 0) != sizeof(p->boot_nonce))
                return -errno ?: -EIO;
        r = daemon_lease_start(d, p->boot_time_usec);
        if (r < 0)
                return r;
        peer_link_params params = {
                .listen = &s->listen,
                .peers = lp,
                .n_peers = s->n_peers,
                .seed = p->boot_nonce,
        };
        peer_link_callbacks cb = {.on_frame = on_frame, .on_peer = on_peer};
        r = peer_link_new(d->event, &params, &cb, p, &p->link);
        if (r < 0) {
                char buf[HOSTPORT_FORMAT_MAX];
                log_error("cannot listen for peer sentinels on %s: %s; check sentinel.listen and that no "
                          "other process "
                          "uses that port",
                        hostport_format(&s->listen, buf, sizeof(buf)), strerror(-r));
                return r;
        }
        p->tick_usec = PEERS_TICK_MAX_USEC;
        for (size_t i = 0; i < d->config->n_clusters; i++) {
                uint64_t t = d->config->clusters[i].fencing.self_fence_after_ms * USEC_PER_MSEC / 4;
                if (t < p->tick_usec)
                        p->tick_usec = t < PEERS_TICK_MIN_USEC ? PEERS_TICK_MIN_USEC : t;
        }
        r = sd_event_add_time_relative(d->event, &p->timer, CLOCK_MONOTONIC, p->tick_usec, 0, on_tick, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ON);
        log_notice("talking to %zu peer sentinel(s) (majority %zu of %zu), a round every %" PRIu64 " ms", s->n_peers,
                config_majority(d->config), config_n_sentinels(d->config), (uint64_t) (p->tick_usec / USEC_PER_MSEC));
        return 0;
}

void daemon_peers_free(daemon_ctx *d) {
        daemon_peers *p = d->peers;
        if (!p)
                return;
        sd_event_source_disable_unref(p->timer);
        peer_link_free(p->link);
        for (size_t i = 0; i < p->n_peers; i++) {
                free(p->peers[i].name);
                free(p->peers[i].host);
                free(p->peers[i].zone);
                peer_opinion_done(&p->peers[i].opinion);
        }
        free(p->peers);
        if (p->key)
                explicit_bzero(p->key, p->key_len); /* memset() before free() may be optimised away */
        free(p->key);
        free(p->self);
        free(p);
        d->peers = NULL;
}
