/* The daemon's HTTP endpoints (SPEC 7, issue 6), served by lib/io/http-server.h on the event loop when
 * sentinel.http_listen is set:
 *   /metrics                   the Prometheus text format (daemon-metrics.c)
 *   /health                    200 "ok" while this sentinel reaches a majority of all sentinels (itself
 *                              included; always without peers), else 503 with the reason on one line
 *   /v1/status                 the JSON of `sentinelctl status --json`
 *   /v1/clusters/NAME/primary  200 "host:port" only while a writable primary is known: the topology's
 *                              primary, in the primary role, answering its probes with read_only OFF,
 *                              and the cluster not fenced; else 503 with the reason; 404 for an unknown
 *                              cluster. An HAProxy httpchk can follow the primary with it.
 * Anything else is 404. The address is taken at start; a reload that changes it takes effect at the
 * next restart. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"
#include "http-server.h"
#include "log.h"
#include "macro.h"

#define CLUSTERS_PREFIX "/v1/clusters/"
#define PRIMARY_SUFFIX  "/primary"

static int reply_health(daemon_ctx *d, http_reply *reply) {
        size_t n = config_n_sentinels(d->config), majority = config_majority(d->config);
        size_t reachable = 1 + daemon_peers_reachable(d);

        if (d->config->sentinel.n_peers > 0 && reachable < majority)
                return http_reply_text(reply, 503, "no quorum: %zu of %zu sentinels reachable, below the majority of %zu\n",
                        reachable, n, majority);
        return http_reply_text(reply, 200, "ok\n");
}

static int reply_status(daemon_ctx *d, http_reply *reply) {
        json_object *doc = NULL;
        const char *text;
        int r;

        r = daemon_status_json(d, NULL, &doc);
        if (r < 0)
                return r;
        text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
        r = text ? http_reply_text(reply, 200, "%s\n", text) : -ENOMEM;
        json_object_put(doc);
        if (r >= 0)
                reply->content_type = "application/json";
        return r;
}

static int reply_metrics(daemon_ctx *d, http_reply *reply) {
        char *body = NULL;
        size_t len = 0;
        int r = daemon_metrics_render(d, &body, &len);
        if (r < 0)
                return r;
        *reply = (http_reply){ .status = 200, .content_type = METRICS_CONTENT_TYPE, .body = body, .body_len = len };
        return 0;
}

static int reply_primary(daemon_ctx *d, const char *name, size_t name_len, http_reply *reply) {
        daemon_cluster *dc = NULL;

        for (size_t i = 0; i < d->n_clusters; i++)
                if (strlen(d->clusters[i]->conf->name) == name_len &&
                        memcmp(d->clusters[i]->conf->name, name, name_len) == 0)
                        dc = d->clusters[i];
        if (!dc)
                return http_reply_text(reply, 404, "no cluster '%.*s'\n", (int) name_len, name);

        const cluster_conf *c = dc->conf;
        const topology *t = monitor_topology(dc->monitor);
        if (!t || t->primary >= c->n_servers)
                return http_reply_text(reply, 503, "%s has no known primary\n", c->name);
        const server_conf *p = &c->servers[t->primary];
        const server_status *st = monitor_server_status(dc->monitor, t->primary);
        cluster_state cstate = daemon_cluster_state(dc);
        if (!st || !st->reachable)
                return http_reply_text(reply, 503, "%s: the primary %s does not answer\n", c->name, p->name);
        if (!st->have_variables || st->read_only || t->servers[t->primary].role != SERVER_ROLE_PRIMARY)
                return http_reply_text(reply, 503, "%s: the primary %s is not writable (role %s)\n", c->name, p->name,
                        server_role_to_string(t->servers[t->primary].role));
        if (cstate == CLUSTER_STATE_FENCED || daemon_fence_holds(dc))
                return http_reply_text(reply, 503, "%s: the primary %s is fenced\n", c->name, p->name);
        return http_reply_text(reply, 200, p->family == AF_INET6 ? "[%s]:%u\n" : "%s:%u\n", p->host, p->port);
}

static int on_request(http_server *s, const char *path, http_reply *reply, void *userdata) {
        daemon_ctx *d = userdata;
        size_t len = strlen(path), prefix = strlen(CLUSTERS_PREFIX), suffix = strlen(PRIMARY_SUFFIX);

        if (streq(path, "/metrics"))
                return reply_metrics(d, reply);
        if (streq(path, "/health"))
                return reply_health(d, reply);
        if (streq(path, "/v1/status"))
                return reply_status(d, reply);
        if (len > prefix + suffix && strncmp(path, CLUSTERS_PREFIX, prefix) == 0 &&
                streq(path + len - suffix, PRIMARY_SUFFIX) &&
                !memchr(path + prefix, '/', len - prefix - suffix))
                return reply_primary(d, path + prefix, len - prefix - suffix, reply);
        return http_reply_text(reply, 404,
                "not found; served: /metrics /health /v1/status /v1/clusters/NAME/primary\n");
}

int daemon_http_start(daemon_ctx *d) {
        const hostport *address = &d->config->sentinel.http_listen;
        char where[HOSTPORT_FORMAT_MAX];
        int r;

        if (!address->host)
                return 0;
        hostport_format(address, where, sizeof(where));
        r = daemon_metrics_init(d);
        if (r >= 0)
                r = http_server_new(d->event, address, on_request, d, &d->http);
        if (r < 0) {
                log_error("cannot serve HTTP on %s (sentinel.http_listen): %s", where,
                        r == -EADDRINUSE ? "the address is in use by another program" : strerror(-r));
                daemon_metrics_done(d);
                return r;
        }
        d->http_address = strdup(where);
        log_notice("HTTP on %s: /metrics /health /v1/status /v1/clusters/NAME/primary", where);
        return 0;
}

void daemon_http_stop(daemon_ctx *d) {
        d->http = http_server_free(d->http);
        daemon_metrics_done(d);
        free(d->http_address);
        d->http_address = NULL;
}

void daemon_http_reloaded(daemon_ctx *d) {
        const hostport *address = &d->config->sentinel.http_listen;
        char where[HOSTPORT_FORMAT_MAX];

        if (address->host)
                hostport_format(address, where, sizeof(where));
        if (!streq_ptr(address->host ? where : NULL, d->http_address))
                log_warning("sentinel.http_listen changed (%s, now %s): it takes effect at the next restart",
                        d->http_address ?: "not set", address->host ? where : "not set");
}
