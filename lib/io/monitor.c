#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "monitor.h"
#include "probe.h"

/* A missing result is counted once a round is this late beyond interval + timeout. */
#define MONITOR_RESULT_SLACK_USEC (100 * USEC_PER_MSEC)

typedef struct monitor_server {
        monitor *monitor;
        size_t index;
        probe *probe;
        server_status status;
        bool have_status;
        server_status last_good; /* status as of the primary's last good probe (see monitor.h) */
        bool have_last_good;
        sdown_tracker sdown;
} monitor_server;

/* A mismatch remembered between rebuilds, to report only what appears or goes away. */
typedef struct monitor_seen {
        topology_mismatch_kind kind;
        size_t server;
        char *text;
} monitor_seen;

struct monitor {
        sd_event *event;
        const cluster_conf *conf;
        monitor_callbacks cb;
        void *userdata;
        char *known_primary;

        monitor_server *servers;
        size_t n_servers;
        size_t n_reported; /* servers with at least one result */
        topology *topology;
        monitor_seen *seen;
        size_t n_seen;
        sd_event_source *tick;
        size_t last_good_primary; /* whose good probe last_good belongs to, or TOPOLOGY_NONE */
        uint64_t last_good_usec;
};

static uint64_t interval_usec(const cluster_conf *c) {
        return c->probe.interval_ms * USEC_PER_MSEC;
}

static uint64_t result_timeout_usec(const cluster_conf *c) {
        return (c->probe.interval_ms + c->probe.timeout_ms) * USEC_PER_MSEC + MONITOR_RESULT_SLACK_USEC;
}

static void seen_clear(monitor *m) {
        for (size_t i = 0; i < m->n_seen; i++)
                free(m->seen[i].text);
        free(m->seen);
        m->seen = NULL;
        m->n_seen = 0;
}

monitor *monitor_free(monitor *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_servers; i++) {
                probe_free(m->servers[i].probe);
                server_status_done(&m->servers[i].status);
                server_status_done(&m->servers[i].last_good);
        }
        free(m->servers);
        topology_free(m->topology);
        seen_clear(m);
        sd_event_source_disable_unref(m->tick);
        sd_event_unref(m->event);
        free(m->known_primary);
        free(m);
        return NULL;
}

static int monitor_make_probes(monitor *m, const cluster_conf *conf) {
        for (size_t i = 0; i < conf->n_servers; i++) {
                probe_params p = {
                        .host = conf->servers[i].host,
                        .port = conf->servers[i].port,
                        .user = conf->user,
                        .password = (const char *) conf->password.data,
                        .timeout_usec = conf->probe.timeout_ms * USEC_PER_MSEC,
                        .tls = {.enabled = conf->tls.enabled,
                                .ca_file = conf->tls.ca,
                                .cert_file = conf->tls.cert,
                                .key_file = conf->tls.key,
                                .verify_server_cert = conf->tls.verify_server_cert},
                };
                int r = probe_new(m->event, &p, &m->servers[i].probe);
                if (r < 0)
                        return r;
        }
        return 0;
}

int monitor_new(sd_event *e, const cluster_conf *conf, const monitor_callbacks *cb, void *userdata,
        monitor **ret) {
        _cleanup_(monitor_freep) monitor *m = NULL;
        uint64_t now;
        int r;

        if (!e || !conf || conf->n_servers == 0 || !ret)
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->conf = conf;
        if (cb)
                m->cb = *cb;
        m->userdata = userdata;
        m->servers = calloc(conf->n_servers, sizeof(*m->servers));
        if (!m->servers)
                return -ENOMEM;
        m->n_servers = conf->n_servers;
        m->last_good_primary = TOPOLOGY_NONE;
        r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_servers; i++) {
                m->servers[i].monitor = m;
                m->servers[i].index = i;
                sdown_init(&m->servers[i].sdown, conf->probe.down_after_ms * USEC_PER_MSEC,
                        result_timeout_usec(conf), now);
        }
        r = monitor_make_probes(m, conf);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static void monitor_emit(monitor *m, sentinel_event ev, size_t server, const char *reason, bool cleared,
        const char *message) {
        monitor_event e = {
                .event = ev,
                .cluster = m->conf->name,
                .server = server,
                .reason = reason,
                .message = message,
                .cleared = cleared,
        };
        if (m->cb.on_event)
                m->cb.on_event(m, &e, m->userdata);
}

static const char *role_of(const monitor *m, size_t i) {
        if (!m->topology)
                return "server";
        if (m->topology->primary == i)
                return "primary";
        return server_role_to_string(m->topology->servers[i].role);
}

static void monitor_sdown_changed(monitor *m, size_t i, sdown_transition t) {
        const monitor_server *s = &m->servers[i];
        char msg[512];

        if (t == SDOWN_TRANSITION_DOWN) {
                uint64_t since = 0;
                (void) sdown_failing_since(&s->sdown, &since);
                snprintf(msg, sizeof(msg), "%s %s (%s:%u) is down for this sentinel: %" PRIu64
                        " probes failed over %" PRIu64 " ms%s%s",
                        role_of(m, i), m->conf->servers[i].name, m->conf->servers[i].host,
                        m->conf->servers[i].port, sdown_consecutive_failures(&s->sdown),
                        (uint64_t) ((s->sdown.now_usec - since) / USEC_PER_MSEC),
                        s->have_status && s->status.error_message ? "; last error: " : "",
                        s->have_status && s->status.error_message ? s->status.error_message : "");
                monitor_emit(m, EVENT_SDOWN, i, NULL, false, msg);
        } else if (t == SDOWN_TRANSITION_CLEARED) {
                snprintf(msg, sizeof(msg), "%s %s (%s:%u) answers again", role_of(m, i),
                        m->conf->servers[i].name, m->conf->servers[i].host, m->conf->servers[i].port);
                monitor_emit(m, EVENT_SDOWN_CLEARED, i, NULL, false, msg);
        }
}

static bool seen_has(const monitor_seen *seen, size_t n, topology_mismatch_kind kind, size_t server) {
        for (size_t i = 0; i < n; i++)
                if (seen[i].kind == kind && seen[i].server == server)
                        return true;
        return false;
}

/* Reports the mismatches that appeared since the last rebuild, and those that went away. */
static int monitor_diff_mismatches(monitor *m) {
        const topology *t = m->topology;
        monitor_seen *now;
        size_t n = 0;

        now = calloc(t->n_mismatches ? t->n_mismatches : 1, sizeof(*now));
        if (!now)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_mismatches; i++) {
                const topology_mismatch *mm = &t->mismatches[i];
                size_t server = mm->n_servers > 0 ? mm->servers[0] : TOPOLOGY_NONE;
                if (seen_has(now, n, mm->kind, server))
                        continue;
                now[n] = (monitor_seen){ .kind = mm->kind, .server = server, .text = strdup(mm->text) };
                if (!now[n].text) {
                        for (size_t j = 0; j < n; j++)
                                free(now[j].text);
                        free(now);
                        return -ENOMEM;
                }
                n++;
        }
        for (size_t i = 0; i < n; i++)
                if (!seen_has(m->seen, m->n_seen, now[i].kind, now[i].server))
                        monitor_emit(m, topology_mismatch_kind_event(now[i].kind), now[i].server,
                                topology_mismatch_kind_to_string(now[i].kind), false, now[i].text);
        for (size_t i = 0; i < m->n_seen; i++)
                if (!seen_has(now, n, m->seen[i].kind, m->seen[i].server)) {
                        char msg[600];
                        snprintf(msg, sizeof(msg), "no longer seen: %s", m->seen[i].text);
                        monitor_emit(m, topology_mismatch_kind_event(m->seen[i].kind), m->seen[i].server,
                                topology_mismatch_kind_to_string(m->seen[i].kind), true, msg);
                }
        seen_clear(m);
        m->seen = now;
        m->n_seen = n;
        return 0;
}

static int monitor_rebuild(monitor *m) {
        const server_status *statuses[m->n_servers];
        topology *t = NULL;
        int r;

        for (size_t i = 0; i < m->n_servers; i++)
                statuses[i] = m->servers[i].have_status ? &m->servers[i].status : NULL;
        r = topology_build(m->conf, statuses, m->known_primary, &t);
        if (r < 0)
                return r;
        topology_free(m->topology);
        m->topology = t;
        return monitor_diff_mismatches(m);
}

/* The primary answered: what every server looks like now is what a failover must judge the replicas
 * by should the primary die next (their later probes see it gone). */
static void monitor_snapshot_last_good(monitor *m, size_t primary) {
        for (size_t i = 0; i < m->n_servers; i++) {
                monitor_server *s = &m->servers[i];
                server_status copy = {};

                if (!s->have_status)
                        continue;
                if (server_status_copy(&s->status, &copy) < 0)
                        continue; /* out of memory: keep the older snapshot of this server */
                server_status_done(&s->last_good);
                s->last_good = copy;
                s->have_last_good = true;
        }
        m->last_good_primary = primary;
        m->last_good_usec = m->servers[primary].status.finished_usec;
}

/* A replica's result that shows the primary alive (its IO thread connected to it) is as good as one
 * taken at the primary's last good probe, and newer. */
static void monitor_keep_last_good(monitor_server *s) {
        server_status copy = {};

        if (server_status_copy(&s->status, &copy) < 0)
                return;
        server_status_done(&s->last_good);
        s->last_good = copy;
        s->have_last_good = true;
}

static void on_probe(probe *p, const server_status *status, void *userdata) {
        monitor_server *s = userdata;
        monitor *m = s->monitor;
        server_status copy = {};
        sdown_transition t;

        if (server_status_copy(status, &copy) < 0)
                return; /* out of memory: keep the previous result; the missing-result tick counts it */
        server_status_done(&s->status);
        s->status = copy;
        if (!s->have_status) {
                s->have_status = true;
                m->n_reported++;
        }
        /* A failure counts from when its probe started: the rounds start on a fixed grid, so the
         * probe down_after_ms after the first failed one sees exactly down_after_ms of failure
         * (counted from their ends, a slower first failure, e.g. a broken connection noticed before
         * the refused reconnect, pushed SDOWN one whole interval later). */
        t = sdown_observe(&s->sdown, status->reachable ? status->finished_usec : status->started_usec, status->reachable);
        (void) monitor_rebuild(m);
        if (status->reachable && m->topology && m->topology->primary == s->index)
                monitor_snapshot_last_good(m, s->index);
        else if (status->reachable && m->topology && m->topology->primary != TOPOLOGY_NONE &&
                m->topology->servers[s->index].primary_io_connected)
                monitor_keep_last_good(s); /* its IO thread read from the primary: taken while it lived */
        monitor_sdown_changed(m, s->index, t);
        if (m->cb.on_probe)
                m->cb.on_probe(m, s->index, &s->status, m->userdata);
        if (m->cb.on_update)
                m->cb.on_update(m, m->userdata);
}

static int on_tick(sd_event_source *es, uint64_t usec, void *userdata) {
        monitor *m = userdata;

        for (size_t i = 0; i < m->n_servers; i++)
                monitor_sdown_changed(m, i, sdown_tick(&m->servers[i].sdown, usec));
        return sd_event_source_set_time(es, usec + interval_usec(m->conf));
}

int monitor_start(monitor *m, uint64_t offset_usec) {
        uint64_t now, interval = interval_usec(m->conf);
        int r;

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_servers; i++) {
                uint64_t first = now + offset_usec % interval + i * interval / m->n_servers;
                r = probe_schedule(m->servers[i].probe, first, interval, on_probe, &m->servers[i]);
                if (r < 0)
                        return r;
        }
        if (!m->tick) {
                r = sd_event_add_time(m->event, &m->tick, CLOCK_MONOTONIC, now + interval, 10 * USEC_PER_MSEC,
                        on_tick, m);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(m->tick, SD_EVENT_ON);
}

bool monitor_first_round_done(const monitor *m) {
        return m->n_reported == m->n_servers;
}

static bool secret_equal(const secret *a, const secret *b) {
        return a->size == b->size && (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

/* Whether the probes of a can serve b: the same servers reached the same way. */
static bool same_probe_targets(const cluster_conf *a, const cluster_conf *b) {
        if (a->n_servers != b->n_servers || !streq(a->user, b->user) || !secret_equal(&a->password, &b->password) ||
                a->tls.enabled != b->tls.enabled || !streq_ptr(a->tls.ca, b->tls.ca) ||
                !streq_ptr(a->tls.cert, b->tls.cert) || !streq_ptr(a->tls.key, b->tls.key) ||
                a->tls.verify_server_cert != b->tls.verify_server_cert ||
                a->probe.timeout_ms != b->probe.timeout_ms)
                return false;
        for (size_t i = 0; i < a->n_servers; i++)
                if (!streq(a->servers[i].name, b->servers[i].name) || !streq(a->servers[i].host, b->servers[i].host) ||
                        a->servers[i].port != b->servers[i].port)
                        return false;
        return true;
}

int monitor_reconfigure(monitor *m, const cluster_conf *conf) {
        bool retime;

        if (!streq(m->conf->name, conf->name) || !same_probe_targets(m->conf, conf))
                return -ESTALE;
        retime = m->conf->probe.interval_ms != conf->probe.interval_ms;
        m->conf = conf;
        /* The same paths may name new files (a renewed certificate, a rotated key): the connector
         * reads them only when it connects, so every probe connects afresh at its next round. */
        if (conf->tls.enabled)
                for (size_t i = 0; i < m->n_servers; i++)
                        probe_reconnect(m->servers[i].probe);
        for (size_t i = 0; i < m->n_servers; i++)
                sdown_reconfigure(&m->servers[i].sdown, conf->probe.down_after_ms * USEC_PER_MSEC,
                        result_timeout_usec(conf));
        if (retime && m->tick)
                return monitor_start(m, 0);
        return monitor_rebuild(m);
}

int monitor_set_known_primary(monitor *m, const char *name) {
        char *copy = NULL;

        if (streq_ptr(m->known_primary, name))
                return 0;
        if (name && !(copy = strdup(name)))
                return -ENOMEM;
        free(m->known_primary);
        m->known_primary = copy;
        return m->n_reported > 0 ? monitor_rebuild(m) : 0;
}

const cluster_conf *monitor_conf(const monitor *m) {
        return m->conf;
}

const topology *monitor_topology(const monitor *m) {
        return m->topology;
}

const server_status *monitor_server_status(const monitor *m, size_t i) {
        if (i >= m->n_servers || !m->servers[i].have_status)
                return NULL;
        return &m->servers[i].status;
}

const sdown_tracker *monitor_sdown(const monitor *m, size_t i) {
        return i < m->n_servers ? &m->servers[i].sdown : NULL;
}

bool monitor_primary_sdown(const monitor *m) {
        return m->topology && m->topology->primary != TOPOLOGY_NONE &&
                sdown_is_down(&m->servers[m->topology->primary].sdown);
}

int monitor_probe_now(monitor *m) {
        int r = 0;
        for (size_t i = 0; i < m->n_servers; i++) {
                int k;
                if (probe_is_running(m->servers[i].probe))
                        continue; /* its result is about to come anyway; never cut a round short */
                k = probe_run(m->servers[i].probe, on_probe, &m->servers[i]);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

int monitor_forget_mismatches(monitor *m) {
        seen_clear(m);
        return m->n_reported > 0 ? monitor_rebuild(m) : 0;
}

bool monitor_all_probed_since(const monitor *m, uint64_t usec) {
        for (size_t i = 0; i < m->n_servers; i++)
                if (!m->servers[i].have_status || m->servers[i].status.started_usec <= usec)
                        return false;
        return true;
}

const server_status *monitor_last_good(const monitor *m, size_t i) {
        if (i >= m->n_servers || !m->servers[i].have_last_good)
                return NULL;
        return &m->servers[i].last_good;
}

size_t monitor_last_good_primary(const monitor *m, uint64_t *ret_usec) {
        if (ret_usec)
                *ret_usec = m->last_good_usec;
        return m->last_good_primary;
}

int monitor_status_json(const monitor *m, uint64_t now_usec, uint64_t epoch, const char *leader,
        const cluster_state_overlay *overlay, const status_last_event *last_event, json_object **ret) {
        cluster_state_overlay o = overlay ? *overlay : (cluster_state_overlay){};
        status_server servers[m->n_servers];
        status_cluster c;

        for (size_t i = 0; i < m->n_servers; i++)
                status_server_init(&servers[i], m->conf, i, monitor_server_status(m, i), m->topology,
                        &m->servers[i].sdown, now_usec);
        status_cluster_init(&c, m->conf, m->topology, servers);
        c.epoch = epoch;
        c.leader = leader;
        c.maintenance = o.maintenance;
        c.last_event = last_event;
        o.sdown = o.sdown || monitor_primary_sdown(m);
        c.state = cluster_state_resolve(c.state, &o);
        return status_json_cluster(&c, ret);
}
