/* What the daemon does with what its monitors see: every event is logged once (journal fields and
 * MESSAGE_ID), written to the audit log, and handed to the cluster's notify hooks. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "hook-event.h"
#include "log.h"
#include "macro.h"
#include "timefmt.h"

void daemon_audit(daemon_ctx *d, const char *cluster, const char *decision, const char *reason, json_object *inputs) {
        daemon_audit_epoch(d, cluster, state_get_epoch(d->state), decision, reason, inputs);
}

void daemon_audit_epoch(daemon_ctx *d, const char *cluster, uint64_t epoch, const char *decision, const char *reason,
        json_object *inputs) {
        int r = audit_decision(d->audit, cluster, epoch, decision, reason, inputs);
        if (r < 0)
                log_fields_full(LOG_ERR, &(log_fields){ .cluster = cluster, .event = _EVENT_INVALID },
                        "cannot write the audit log in %s: %s", d->config->sentinel.state_dir, strerror(-r));
}

static hook_server server_of(const cluster_conf *c, size_t i) {
        if (i == TOPOLOGY_NONE || i >= c->n_servers)
                return (hook_server){};
        return (hook_server){ .name = c->servers[i].name, .host = c->servers[i].host, .port = c->servers[i].port };
}

/* A discovered primary becomes the known one (config epoch 0) once nothing argues against it, so
 * that a later start or failover knows which server was the primary. */
static void daemon_adopt_primary(daemon_cluster *dc) {
        daemon_ctx *d = dc->daemon;
        const topology *t = monitor_topology(dc->monitor);
        const char *name;
        int r;

        /* Only once every server has answered or failed: a server not yet probed may be writable too. */
        if (!t || !monitor_first_round_done(dc->monitor) || t->primary == TOPOLOGY_NONE || t->primary_from_state ||
                t->n_mismatches > 0)
                return;
        if (state_get_cluster_primary(d->state, dc->conf->name, NULL, NULL) > 0)
                return;
        /* monitor_set_known_primary() rebuilds, and so frees t: keep what we need of it. */
        const server_conf *primary = &dc->conf->servers[t->primary];
        name = primary->name;
        r = state_set_cluster_primary(d->state, dc->conf->name, name, 0);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                log_fields_full(LOG_ERR, &(log_fields){ .cluster = dc->conf->name, .event = _EVENT_INVALID },
                        "cannot record %s as the primary: %s", name, state_strerror(r));
                return;
        }
        (void) monitor_set_known_primary(dc->monitor, name);
        log_fields_full(LOG_NOTICE,
                &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = 0, .event = _EVENT_INVALID },
                "adopted %s (%s:%u) as the primary: the only writable server, replicated by the others", name,
                primary->host, primary->port);
        json_object *in = json_object_new_object();
        json_object_object_add(in, "primary", json_object_new_string(name));
        daemon_audit(d, dc->conf->name, "primary-adopted", "DISCOVERED", in);
}

void daemon_raise(daemon_cluster *dc, sentinel_event ev, uint64_t epoch, const char *reason, size_t old_primary,
        size_t new_primary, json_object *details, const char *format, ...) {
        daemon_ctx *d = dc->daemon;
        const cluster_conf *c = dc->conf;
        char message[2048];
        va_list ap;
        int r;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        if (!details)
                details = json_object_new_object();

        log_event(ev, c->name, epoch, reason, "%s", message);

        json_object *in = json_object_new_object();
        json_object_object_foreach(details, key, val)
                json_object_object_add(in, key, json_object_get(val));
        json_object_object_add(in, "message", json_object_new_string(message));
        if (old_primary < c->n_servers)
                json_object_object_add(in, "old_primary", json_object_new_string(c->servers[old_primary].name));
        if (new_primary < c->n_servers)
                json_object_object_add(in, "new_primary", json_object_new_string(c->servers[new_primary].name));
        daemon_audit_epoch(d, c->name, epoch, event_to_string(ev), reason, in);

        dc->has_last_event = true;
        dc->last_event = (status_last_event){ .type = ev, .epoch = epoch, .at_realtime_usec = timefmt_now_realtime_usec() };

        if (reason && !json_object_object_get_ex(details, "reason", NULL))
                json_object_object_add(details, "reason", json_object_new_string(reason));
        hook_event he = {
                .event = ev,
                .cluster = c->name,
                .epoch = epoch,
                .sentinel_name = d->config->sentinel.name,
                .sentinel_zone = d->config->sentinel.zone,
                .old_primary = server_of(c, old_primary),
                .new_primary = server_of(c, new_primary),
                .message = message,
                .realtime_usec = dc->last_event.at_realtime_usec,
                .details = details,
                .credentials_directory = getenv("CREDENTIALS_DIRECTORY"),
        };
        r = hook_dispatcher_notify(d->hooks, c->hooks, c->n_hooks, &he);
        if (r < 0)
                log_fields_full(LOG_ERR, &(log_fields){ .cluster = c->name, .event = _EVENT_INVALID },
                        "cannot queue the %s hooks: %s", event_to_string(ev), strerror(-r));
        json_object_put(details);
}

static void on_monitor_event(monitor *m, const monitor_event *ev, void *userdata) {
        daemon_cluster *dc = userdata;
        daemon_ctx *d = dc->daemon;
        const cluster_conf *c = dc->conf;
        uint64_t epoch = state_get_epoch(d->state);
        const char *server = ev->server < c->n_servers ? c->servers[ev->server].name : NULL;
        const topology *t = monitor_topology(m);

        /* While a failover or switchover runs, the servers pass through states that disagree with the
         * topology on purpose (a primary still read-only, replicas following the old one): not paged;
         * what is left when it ends is reported then (failover-op.c forgets what was seen). */
        if ((dc->op || dc->settling) &&
                (ev->cleared || ev->event == EVENT_TOPOLOGY_MISMATCH || ev->event == EVENT_ERRANT)) {
                log_fields_full(LOG_DEBUG,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = ev->reason },
                        "%s: %s", dc->op ? "during a run" : "right after a run", ev->message);
                return;
        }
        if (ev->event == EVENT_TOPOLOGY_MISMATCH && streq_ptr(ev->reason, "primary-read-only") &&
                (daemon_fence_holds(dc) || daemon_peers_self_fenced(dc, server))) {
                /* A self-fence, by this sentinel or by the one in the primary's zone (its OPINION says so):
                 * paged as `fenced` by that sentinel when it is not the hold of a (re)start. */
                log_fields_full(LOG_INFO,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = ev->reason },
                        "%s (self-fenced by %s)", ev->message,
                        daemon_fence_holds(dc) ? "this sentinel" : "the sentinel of its zone");
                return;
        }
        if (ev->cleared) {
                /* A mismatch that went away: worth a line, not a page (SPEC 6 has no event for it). */
                log_fields_full(LOG_NOTICE,
                        &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                                .reason = ev->reason },
                        "%s", ev->message);
                json_object *in = json_object_new_object();
                json_object_object_add(in, "server", server ? json_object_new_string(server) : NULL);
                json_object_object_add(in, "message", json_object_new_string(ev->message));
                daemon_audit(d, c->name, "mismatch-cleared", ev->reason, in);
                return;
        }

        if (ev->event == EVENT_SDOWN || ev->event == EVENT_SDOWN_CLEARED)
                daemon_peers_opinion_now(d); /* the peers' ODOWN should not wait for our next round */
        json_object *details = json_object_new_object();
        if (server)
                json_object_object_add(details, "server", json_object_new_string(server));
        daemon_raise(dc, ev->event, epoch, ev->reason, t ? t->primary : TOPOLOGY_NONE, TOPOLOGY_NONE, details, "%s",
                ev->message);
}

static void on_monitor_update(monitor *m, void *userdata) {
        daemon_cluster *dc = userdata;

        if (dc->settling && !dc->op && monitor_all_probed_since(m, dc->op_ended_usec)) {
                /* Every server has been probed since the run ended: report what disagrees now. */
                dc->settling = false;
                (void) monitor_forget_mismatches(m);
        }
        daemon_adopt_primary(dc);
        daemon_cluster_evaluate(dc);
        daemon_fence_evaluate(dc);
        daemon_cluster_changed(dc);
}

static void on_monitor_probe(monitor *m, size_t server, const server_status *status, void *userdata) {
        daemon_metrics_probe(userdata, status);
}

const monitor_callbacks daemon_monitor_callbacks = {
        .on_event = on_monitor_event,
        .on_update = on_monitor_update,
        .on_probe = on_monitor_probe,
};

void daemon_on_hook_report(hook_dispatcher *h, const hook_report *rep, void *userdata) {
        daemon_ctx *d = userdata;
        const char *outcome = hook_outcome_to_string(rep->outcome);
        json_object *in = json_object_new_object();

        json_object_object_add(in, "command", json_object_new_string(rep->hook->command));
        json_object_object_add(in, "event", json_object_new_string(event_to_string(rep->event)));
        json_object_object_add(in, "outcome", json_object_new_string(outcome));
        if (rep->result) {
                if (rep->result->code == CLD_EXITED)
                        json_object_object_add(in, "exit_status", json_object_new_int(rep->result->status));
                else
                        json_object_object_add(in, "signal", json_object_new_int(rep->result->status));
                json_object_object_add(in, "duration_ms",
                        json_object_new_int64((int64_t) (rep->result->duration_usec / USEC_PER_MSEC)));
                json_object_object_add(in, "output_head", json_object_new_string(rep->result->output));
        }
        if (rep->error < 0)
                json_object_object_add(in, "error", json_object_new_string(strerror(-rep->error)));
        daemon_audit(d, rep->cluster, "hook", outcome, in);
        daemon_metrics_hook(d, rep);

        if (rep->outcome != HOOK_OUTCOME_SUCCESS)
                log_fields_full(LOG_WARNING,
                        &(log_fields){ .cluster = rep->cluster, .has_epoch = true, .epoch = rep->epoch,
                                .event = _EVENT_INVALID },
                        "hook %s for %s: %s%s%s", rep->hook->command, event_to_string(rep->event), outcome,
                        rep->error < 0 ? ": " : "", rep->error < 0 ? strerror(-rep->error) : "");
}
