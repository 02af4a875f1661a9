/* The daemon's answers on the control socket (control-server.h): status and reload here, the verbs
 * that act on a cluster in failover-trigger.c (switchover, failover, maintenance) and
 * daemon-history.c (history, why). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "sentinel-build.h"

int daemon_status_json(daemon_ctx *d, const char *only, json_object **ret) {
        const sentinel_conf *s = &d->config->sentinel;
        status_peer peers[s->n_peers ? s->n_peers : 1];
        json_object *doc = NULL, *clusters = NULL;
        uint64_t now;
        int r;

        for (size_t i = 0; i < s->n_peers; i++)
                status_peer_init(&peers[i], &s->peers[i]);
        daemon_peers_status(d, peers, s->n_peers);
        status_sentinel ss = {
                .name = s->name, .zone = s->zone, .version = SENTINEL_VERSION, .peers = peers, .n_peers = s->n_peers,
        };
        r = sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;

        doc = json_object_new_object();
        json_object *sentinel = NULL;
        r = status_json_sentinel(&ss, &sentinel);
        if (r < 0)
                goto fail;
        json_object_object_add(doc, "sentinel", sentinel);
        clusters = json_object_new_array();
        json_object_object_add(doc, "clusters", clusters);
        for (size_t i = 0; i < d->n_clusters; i++) {
                const daemon_cluster *dc = d->clusters[i];
                json_object *cj = NULL;
                if (only && !streq(only, dc->conf->name))
                        continue;
                cluster_state_overlay o = daemon_cluster_overlay(dc);
                r = monitor_status_json(dc->monitor, now, state_get_epoch(d->state), daemon_cluster_leader(dc), &o,
                        dc->has_last_event ? &dc->last_event : NULL, &cj);
                if (r < 0)
                        goto fail;
                /* epoch is the current one (the highest voted in or known); the primary's is this: */
                uint64_t config_epoch = 0;
                (void) state_get_cluster_primary(d->state, dc->conf->name, NULL, &config_epoch);
                json_object_object_add(cj, "config_epoch", json_object_new_uint64(config_epoch));
                json_object_array_add(clusters, cj);
        }
        *ret = doc;
        return 0;
fail:
        json_object_put(doc);
        return r;
}

static int daemon_status(daemon_ctx *d, control_client *c, const char *only) {
        json_object *doc = NULL;
        int r = daemon_status_json(d, only, &doc);
        if (r < 0)
                return r;
        return control_client_reply(c, doc);
}

const char *daemon_cluster_leader(const daemon_cluster *dc) {
        const daemon_ctx *d = dc->daemon;
        const char *leader = NULL;
        uint64_t config_epoch = 0;

        if (dc->op)
                return d->config->sentinel.name;
        if (state_get_cluster_primary(d->state, dc->conf->name, NULL, &config_epoch) <= 0 || config_epoch == 0)
                return NULL;
        /* The configuration's epoch was won with a majority of votes; ours, if we voted in it, went to its
         * leader (one vote per epoch). Else unknown here. */
        if (state_vote_for(d->state, config_epoch, &leader) > 0)
                return leader;
        return NULL;
}

void daemon_control_event(control_server *s, control_server_event ev, const struct ucred *peer, unsigned n_suppressed,
        void *userdata) {
        static const struct {
                int level;
                const char *what;
        } table[_CONTROL_SERVER_EVENT_MAX] = {
                [CONTROL_SERVER_EVENT_DENIED] = {LOG_WARNING, "refused: not root or in the control group"},
                [CONTROL_SERVER_EVENT_BUSY] = {LOG_WARNING, "refused: too many connections"},
                [CONTROL_SERVER_EVENT_RATE_LIMITED] = {LOG_WARNING, "refused: rate limited"},
                [CONTROL_SERVER_EVENT_BAD_REQUEST] = {LOG_NOTICE, "closed: bad or oversized request"},
                [CONTROL_SERVER_EVENT_REQUEST_TIMEOUT] = {LOG_NOTICE, "closed: no complete request in time"},
                [CONTROL_SERVER_EVENT_REPLY_TIMEOUT] = {LOG_WARNING, "answered TIMEOUT: no answer in time"},
                [CONTROL_SERVER_EVENT_WRITE_TIMEOUT] = {LOG_NOTICE, "closed: the client did not read its answer"},
                [CONTROL_SERVER_EVENT_GONE] = {LOG_DEBUG, "closed: the client went away before its answer"},
                [CONTROL_SERVER_EVENT_ACCEPT_FAILED] = {LOG_WARNING, "accept() failed (out of file descriptors?)"},
        };
        char more[64] = "";

        if (ev < 0 || ev >= _CONTROL_SERVER_EVENT_MAX)
                return;
        if (n_suppressed > 0)
                (void) snprintf(more, sizeof(more), " (and %u more like it since the last report)", n_suppressed);
        if (peer)
                log_fields_full(table[ev].level, &LOG_FIELDS_NONE, "control socket %s: uid %u pid %d: %s%s",
                        control_server_get_path(s), (unsigned) peer->uid, (int) peer->pid, table[ev].what, more);
        else
                log_fields_full(table[ev].level, &LOG_FIELDS_NONE, "control socket %s: %s%s",
                        control_server_get_path(s), table[ev].what, more);
}

int daemon_control_handler(control_server *s, control_client *c, const control_request *req, void *userdata) {
        daemon_ctx *d = userdata;
        _cleanup_free_ char *error = NULL;
        int r;

        if (req->cluster && !config_find_cluster(d->config, req->cluster))
                return control_client_reply_error(c, CONTROL_ERROR_UNKNOWN_CLUSTER,
                        "no cluster '%s' in the running configuration", req->cluster);

        switch (req->command) {
        case CONTROL_COMMAND_PING:
                return control_client_reply(c, NULL);
        case CONTROL_COMMAND_STATUS:
                return daemon_status(d, c, req->cluster);
        case CONTROL_COMMAND_RELOAD:
                r = daemon_reload(d, &error);
                if (r < 0)
                        return control_client_reply_error(c, CONTROL_ERROR_REFUSED, "reload refused: %s",
                                error ? error : strerror(-r));
                return control_client_reply(c, NULL);
        default:
                break;
        }
        daemon_cluster *dc = NULL;
        for (size_t i = 0; i < d->n_clusters && req->cluster; i++)
                if (streq(d->clusters[i]->conf->name, req->cluster))
                        dc = d->clusters[i];
        if (!dc)
                return control_client_reply_error(c, CONTROL_ERROR_BAD_REQUEST, "'%s' needs a cluster",
                        control_command_to_string(req->command));
        switch (req->command) {
        case CONTROL_COMMAND_SWITCHOVER:
                return daemon_control_switchover(dc, c, req);
        case CONTROL_COMMAND_FAILOVER:
                return daemon_control_failover(dc, c, req);
        case CONTROL_COMMAND_MAINTENANCE:
                return daemon_control_maintenance(dc, c, req);
        case CONTROL_COMMAND_HISTORY:
                return daemon_control_history(dc, c, req);
        case CONTROL_COMMAND_WHY:
                return daemon_control_why(dc, c, req);
        default:
                return control_client_reply_error(c, CONTROL_ERROR_UNSUPPORTED, "'%s' is not supported",
                        control_command_to_string(req->command));
        }
}
