/* The daemon's answers on the control socket (control-server.h). status and reload are served here;
 * the verbs that act on the cluster (switchover, failover, maintenance, history, why) belong to the
 * failover engine and answer UNSUPPORTED until it exists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "sentinel-build.h"

static int daemon_status(daemon_ctx *d, control_client *c, const char *only) {
        const sentinel_conf *s = &d->config->sentinel;
        status_peer peers[s->n_peers ? s->n_peers : 1];
        json_object *doc = NULL, *clusters = NULL;
        uint64_t now;
        int r;

        for (size_t i = 0; i < s->n_peers; i++)
                status_peer_init(&peers[i], &s->peers[i]);
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
                r = monitor_status_json(dc->monitor, now, state_get_epoch(d->state), NULL, false,
                        dc->has_last_event ? &dc->last_event : NULL, &cj);
                if (r < 0)
                        goto fail;
                json_object_array_add(clusters, cj);
        }
        return control_client_reply(c, doc);
fail:
        json_object_put(doc);
        return r;
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
                return control_client_reply_error(c, CONTROL_ERROR_UNSUPPORTED,
                        "'%s' needs the failover engine, which this version does not have yet",
                        control_command_to_string(req->command));
        }
}
