/* After a failover or switchover (the cluster's config epoch > 0), whatever did not follow the new
 * primary is brought back when it can be (SPEC 5.6, issue 4):
 *   - a returning old primary, or any other server that is writable or read-only without replication
 *     while the known primary takes writes, is rejoined (server_action_rejoin(): read_only=ON first,
 *     then a replica of the primary if its history is a prefix of the primary's; otherwise it is left
 *     read-only, marked diverged, rejoin-failed is paged with the extra GTIDs, and it is not tried
 *     again until its position changes: nothing is discarded automatically);
 *   - a replica that follows another configured server than the primary is repointed;
 *   - endpoints that failed in the run are retried every RECONCILE_ENDPOINT_RETRY_USEC until they
 *     all succeed or a newer epoch exists.
 * At any epoch, also that of an adopted primary (0), semi-sync follows the role (SPEC 5.11): a
 * read-only replica of the known primary with the semi-sync master side on (its own my.cnf, after a
 * restart) gets it turned off, and the slave side on when the primary runs semi-sync, its IO thread
 * restarted only for that (server_action_replica_semi_sync()): with the master side on, every commit
 * of its SQL thread waits for acks from replicas it does not have. It changes no replication, so it
 * is done where a rejoin or repoint would only be reported. Audited once (semi-sync-corrected), not
 * paged: a correction, like a repoint; a failure is logged once and retried.
 * Never while a failover or switchover runs, nor in maintenance mode, nor while the primary itself is
 * not alive and writable. One attempt per server at a time, RECONCILE_RETRY_USEC apart. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "endpoints.h"
#include "log.h"
#include "macro.h"
#include "server-action.h"

#define RECONCILE_RETRY_USEC          (5 * USEC_PER_SEC)
#define RECONCILE_ACTION_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define RECONCILE_ENDPOINT_RETRY_USEC (2 * USEC_PER_SEC)

typedef struct reconcile_server {
        struct reconcile_state *rc;
        size_t index;
        server_action *action;
        uint64_t next_attempt_usec;
        bool diverged;         /* its rejoin was refused at diverged_pos */
        char *diverged_pos;    /* its gtid_binlog_pos then, to retry once it changes */
        uint64_t semi_next_usec; /* no semi-sync correction before this */
        uint64_t semi_done_usec; /* the last one ended: only a probe started after it shows its effect */
        size_t semi_primary;     /* the primary the running one is for */
        bool semi_failing;       /* its last one failed: that was logged, the next failures are not */
} reconcile_server;

typedef struct reconcile_state {
        daemon_cluster *dc;
        reconcile_server *servers;
        size_t n_servers;
        server_action *observe; /* of the primary, for a rejoin's history */
        size_t observe_on;      /* the server observe was made for (the primary then) */
        size_t observe_for;     /* the server the observation is for */
        uint64_t endpoints_epoch; /* endpoints to retry at this epoch; 0: none */
        endpoints_op *endpoints;
        sd_event_source *endpoint_timer;
} reconcile_state;

static uint64_t now_usec(const daemon_cluster *dc) {
        uint64_t now = 0;
        (void) sd_event_now(dc->daemon->event, CLOCK_MONOTONIC, &now);
        return now;
}

static reconcile_state *reconcile_get(daemon_cluster *dc) {
        reconcile_state *rc = dc->reconcile;
        if (rc)
                return rc;
        rc = calloc(1, sizeof(*rc));
        if (!rc)
                return NULL;
        rc->servers = calloc(dc->conf->n_servers, sizeof(*rc->servers));
        if (!rc->servers) {
                free(rc);
                return NULL;
        }
        rc->dc = dc;
        rc->n_servers = dc->conf->n_servers;
        rc->observe_for = TOPOLOGY_NONE;
        rc->observe_on = TOPOLOGY_NONE;
        for (size_t i = 0; i < rc->n_servers; i++)
                rc->servers[i] = (reconcile_server){ .rc = rc, .index = i };
        dc->reconcile = rc;
        return rc;
}

void daemon_reconcile_free(daemon_cluster *dc) {
        reconcile_state *rc = dc->reconcile;
        if (!rc)
                return;
        for (size_t i = 0; i < rc->n_servers; i++) {
                server_action_free(rc->servers[i].action);
                free(rc->servers[i].diverged_pos);
        }
        free(rc->servers);
        server_action_free(rc->observe);
        endpoints_op_free(rc->endpoints);
        sd_event_source_disable_unref(rc->endpoint_timer);
        free(rc);
        dc->reconcile = NULL;
}

static server_action *make_action(daemon_cluster *dc, size_t i) {
        server_action *a = NULL;
        return daemon_server_action_new(dc, i, &a) < 0 ? NULL : a;
}

/* How server i is to follow primary. Its semi-sync slave side: on when the primary runs semi-sync, but
 * left alone on a server that may not be promoted (its ack would not protect a write from a failover). */
static server_action_source source_of(const daemon_cluster *dc, size_t i, size_t primary, bool semi_sync) {
        const cluster_conf *c = dc->conf;
        return (server_action_source){
                .host = c->servers[primary].host,
                .port = c->servers[primary].port,
                .user = c->replication_user,
                .password = (const char *) c->replication_password.data,
                .use_tls = c->tls.enabled,
                .tls_ca = c->tls.enabled ? c->tls.ca : NULL,
                .tls_verify_server_cert = c->tls.verify_server_cert,
                .semi_sync = semi_sync,
                .semi_sync_keep = !c->servers[i].promotable,
        };
}

static bool primary_semi_sync(const daemon_cluster *dc, size_t primary) {
        const server_status *s = monitor_server_status(dc->monitor, primary);
        return s && s->have_variables && s->semi_sync_master_enabled;
}

static void on_server_done(server_action *a, const server_action_result *res, void *userdata) {
        reconcile_server *s = userdata;
        daemon_cluster *dc = s->rc->dc;
        const cluster_conf *c = dc->conf;
        const topology *t = monitor_topology(dc->monitor);
        size_t primary = t ? t->primary : TOPOLOGY_NONE;
        uint64_t epoch = 0;
        const char *name = c->servers[s->index].name;
        const char *pname = primary != TOPOLOGY_NONE ? c->servers[primary].name : "?";

        (void) state_get_cluster_primary(dc->daemon->state, c->name, NULL, &epoch);
        s->next_attempt_usec = now_usec(dc) + RECONCILE_RETRY_USEC;
        if (res->code == SERVER_ACTION_OK) {
                if (res->type == SERVER_ACTION_REJOIN)
                        daemon_raise(dc, EVENT_REJOINED, epoch, NULL, s->index, primary, NULL,
                                "%s rejoined as a replica of %s%s", name, pname, res->already ? " (it already was one)" : "");
                else
                        log_fields_full(LOG_NOTICE,
                                &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID },
                                "%s repointed to the primary %s", name, pname);
                s->diverged = false;
                return;
        }
        if (res->type == SERVER_ACTION_REJOIN && res->code == SERVER_ACTION_DIVERGED) {
                _cleanup_free_ char *pos = NULL;
                s->diverged = true;
                free(s->diverged_pos);
                s->diverged_pos = res->have_variables && gtid_list_format(&res->gtid_binlog_pos, &pos) >= 0 ? TAKE_PTR(pos)
                                                                                                            : NULL;
                json_object *details = json_object_new_object();
                json_object_object_add(details, "server", json_object_new_string(name));
                json_object_object_add(details, "extra_gtids",
                        json_object_new_string(res->extra_gtids ? res->extra_gtids : ""));
                daemon_raise(dc, EVENT_REJOIN_FAILED, epoch, "DIVERGED", s->index, primary, details,
                        "%s cannot rejoin as a replica of %s: it has transactions %s lacks (%s); it stays read-only and "
                        "nothing was discarded: resolve them by hand, then it is tried again",
                        name, pname, pname, res->extra_gtids ? res->extra_gtids : "?");
                return;
        }
        log_fields_full(LOG_WARNING,
                &(log_fields){ .cluster = c->name, .has_epoch = true, .epoch = epoch, .event = _EVENT_INVALID,
                        .reason = "REJOIN_RETRY" },
                "%s of %s failed (retrying in %llu s): %s", server_action_type_to_string(res->type), name,
                (unsigned long long) (RECONCILE_RETRY_USEC / USEC_PER_SEC), res->message);
}

static void on_observed(server_action *a, const server_action_result *res, void *userdata) {
        reconcile_state *rc = userdata;
        daemon_cluster *dc = rc->dc;
        const topology *t = monitor_topology(dc->monitor);
        size_t i = rc->observe_for;
        reconcile_server *s;
        int r;

        rc->observe_for = TOPOLOGY_NONE;
        /* Only an observation of the primary as it is now may vouch for a rejoin. */
        if (i >= rc->n_servers || !t || t->primary == TOPOLOGY_NONE || rc->observe_on != t->primary)
                return;
        s = &rc->servers[i];
        if (res->code != SERVER_ACTION_OK || !res->have_variables) {
                s->next_attempt_usec = now_usec(dc) + RECONCILE_RETRY_USEC;
                return;
        }
        server_action_source src = source_of(dc, s->index, t->primary, res->semi_sync_master_enabled);
        server_action_history hist = {
                .gtid_binlog_pos = &res->gtid_binlog_pos,
                .gtid_binlog_state = res->gtid_binlog_state ? res->gtid_binlog_state : "",
        };
        if (!s->action && !(s->action = make_action(dc, i)))
                return;
        r = server_action_rejoin(s->action, &src, &hist, now_usec(dc) + RECONCILE_ACTION_TIMEOUT_USEC, on_server_done, s);
        if (r < 0)
                s->next_attempt_usec = now_usec(dc) + RECONCILE_RETRY_USEC;
}

static void on_semi_sync_done(server_action *a, const server_action_result *res, void *userdata) {
        reconcile_server *s = userdata;
        daemon_cluster *dc = s->rc->dc;
        const cluster_conf *c = dc->conf;
        const char *name = c->servers[s->index].name;
        const char *pname = s->semi_primary < c->n_servers ? c->servers[s->semi_primary].name : "?";
        uint64_t epoch = 0;
        log_fields f = { .cluster = c->name, .has_epoch = true, .event = _EVENT_INVALID, .reason = "SEMI_SYNC_ON_REPLICA" };

        (void) state_get_cluster_primary(dc->daemon->state, c->name, NULL, &epoch);
        f.epoch = epoch;
        s->semi_next_usec = now_usec(dc) + RECONCILE_RETRY_USEC;
        s->semi_done_usec = res->finished_usec;
        if (res->code != SERVER_ACTION_OK) {
                /* Logged once; the topology-mismatch it was seen by stays raised until it is corrected. */
                log_fields_full(s->semi_failing ? LOG_DEBUG : LOG_WARNING, &f,
                        "cannot turn the semi-sync master side of the replica %s off (%s; retrying every %llu s): %s",
                        name, server_action_code_to_string(res->code),
                        (unsigned long long) (RECONCILE_RETRY_USEC / USEC_PER_SEC), res->message);
                s->semi_failing = true;
                return;
        }
        s->semi_failing = false;
        if (res->already) {
                log_fields_full(LOG_DEBUG, &f, "%s: %s", name, res->message);
                return;
        }
        json_object *in = json_object_new_object(), *changed = json_object_new_array();
        if (res->turned_master_semi_off)
                json_object_array_add(changed, json_object_new_string("rpl_semi_sync_master_enabled=OFF"));
        if (res->turned_slave_semi_on)
                json_object_array_add(changed, json_object_new_string("rpl_semi_sync_slave_enabled=ON"));
        if (res->restarted_io)
                json_object_array_add(changed, json_object_new_string("IO thread restarted"));
        json_object_object_add(in, "server", json_object_new_string(name));
        json_object_object_add(in, "primary", json_object_new_string(pname));
        json_object_object_add(in, "changed", changed);
        json_object_object_add(in, "message", json_object_new_string(res->message));
        daemon_audit_epoch(dc->daemon, c->name, epoch, "semi-sync-corrected", "SEMI_SYNC_ON_REPLICA", in);
        log_fields_full(LOG_NOTICE, &f, "%s, a replica of %s, had the semi-sync master side on: %s", name, pname,
                res->message);
}

/* Whether server i is a read-only replica of the known primary with the semi-sync master side on, as
 * a probe shows it that started after the last run and the last correction of it ended. */
static bool semi_sync_wrong(const daemon_cluster *dc, const reconcile_server *s, const topology *t, size_t i) {
        const server_status *st = monitor_server_status(dc->monitor, i);
        const topology_server *ts = &t->servers[i];

        return i != t->primary && st && st->reachable && st->have_variables && st->have_replication &&
               st->started_usec > dc->op_ended_usec && st->started_usec > s->semi_done_usec && st->read_only &&
               !ts->writable && ts->role == SERVER_ROLE_REPLICA && ts->follows == t->primary &&
               st->semi_sync_master_enabled;
}

static void reconcile_semi_sync_step(reconcile_state *rc, const topology *t, size_t i, uint64_t now) {
        daemon_cluster *dc = rc->dc;
        reconcile_server *s = &rc->servers[i];

        if (now < s->semi_next_usec || rc->observe_for == i || (s->action && server_action_is_running(s->action)) ||
                !semi_sync_wrong(dc, s, t, i))
                return;
        s->semi_next_usec = now + RECONCILE_RETRY_USEC;
        if (!s->action && !(s->action = make_action(dc, i)))
                return;
        s->semi_primary = t->primary;
        if (server_action_replica_semi_sync(s->action,
                    primary_semi_sync(dc, t->primary) && dc->conf->servers[i].promotable,
                    now + RECONCILE_ACTION_TIMEOUT_USEC, on_semi_sync_done, s) < 0)
                s->semi_primary = TOPOLOGY_NONE;
}

/* What server i needs: 'r' rejoin, 'p' repoint, 0 nothing. */
static char server_need(const daemon_cluster *dc, const topology *t, size_t i) {
        const server_status *st = monitor_server_status(dc->monitor, i);
        const topology_server *ts = &t->servers[i];

        if (i == t->primary || !st || !st->reachable || !st->have_variables || !st->have_replication ||
                st->started_usec <= dc->op_ended_usec)
                return 0; /* a probe from before the last run ended shows what that run changed */
        if (ts->writable && ts->role != SERVER_ROLE_REPLICA)
                return 'r'; /* takes writes beside the primary: fence it by rejoining it */
        if (ts->role == SERVER_ROLE_FENCED)
                return 'r';
        if (ts->role == SERVER_ROLE_REPLICA && ts->follows != TOPOLOGY_NONE && ts->follows != t->primary)
                return 'p';
        return 0;
}

static void reconcile_server_step(reconcile_state *rc, const topology *t, size_t i, uint64_t now) {
        daemon_cluster *dc = rc->dc;
        reconcile_server *s = &rc->servers[i];
        char need = server_need(dc, t, i);
        int r;

        if (!need || now < s->next_attempt_usec || (s->action && server_action_is_running(s->action)))
                return;
        if (s->diverged) {
                const server_status *st = monitor_server_status(dc->monitor, i);
                _cleanup_free_ char *pos = NULL;
                if (!st || gtid_list_format(&st->gtid_binlog_pos, &pos) < 0 || streq_ptr(pos, s->diverged_pos))
                        return; /* unchanged since it was refused: paged once, wait for the operator */
                s->diverged = false;
        }
        s->next_attempt_usec = now + RECONCILE_RETRY_USEC;
        if (need == 'p') {
                server_action_source src = source_of(dc, i, t->primary, primary_semi_sync(dc, t->primary));
                if (!s->action && !(s->action = make_action(dc, i)))
                        return;
                r = server_action_repoint(s->action, &src, now + RECONCILE_ACTION_TIMEOUT_USEC, on_server_done, s);
                if (r >= 0)
                        log_fields_full(LOG_NOTICE,
                                &(log_fields){ .cluster = dc->conf->name, .event = _EVENT_INVALID, .reason = "REPOINT" },
                                "%s follows %s, not the primary %s: repointing it", dc->conf->servers[i].name,
                                dc->conf->servers[t->servers[i].follows].name, dc->conf->servers[t->primary].name);
                return;
        }
        /* A rejoin needs the primary's binlog state, which probes do not read: observe it first. */
        if (rc->observe_for != TOPOLOGY_NONE)
                return;
        if (rc->observe && rc->observe_on != t->primary) {
                /* the primary changed since: observing the old one would vouch for the wrong history */
                rc->observe = server_action_free(rc->observe);
                rc->observe_on = TOPOLOGY_NONE;
        }
        if (!rc->observe) {
                if (!(rc->observe = make_action(dc, t->primary)))
                        return;
                rc->observe_on = t->primary;
        }
        if (server_action_is_running(rc->observe))
                return;
        rc->observe_for = i;
        log_fields_full(LOG_NOTICE, &(log_fields){ .cluster = dc->conf->name, .event = _EVENT_INVALID, .reason = "REJOIN" },
                "%s is %s beside the primary %s: rejoining it as a replica (read_only=ON first)",
                dc->conf->servers[i].name, t->servers[i].writable ? "writable" : "read-only without replication",
                dc->conf->servers[t->primary].name);
        if (server_action_observe(rc->observe, now + RECONCILE_ACTION_TIMEOUT_USEC, on_observed, rc) < 0)
                rc->observe_for = TOPOLOGY_NONE;
}

static void endpoints_retry(reconcile_state *rc);

static int on_endpoint_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        reconcile_state *rc = userdata;
        rc->endpoint_timer = sd_event_source_disable_unref(rc->endpoint_timer);
        endpoints_retry(rc);
        return 0;
}

static void endpoints_schedule(reconcile_state *rc) {
        daemon_cluster *dc = rc->dc;
        if (rc->endpoint_timer || rc->endpoints_epoch == 0)
                return;
        (void) sd_event_add_time_relative(dc->daemon->event, &rc->endpoint_timer, CLOCK_MONOTONIC,
                RECONCILE_ENDPOINT_RETRY_USEC, 0, on_endpoint_timer, rc);
}

static void on_endpoints_retried(endpoints_op *op, const endpoints_result *res, void *userdata) {
        reconcile_state *rc = userdata;
        daemon_cluster *dc = rc->dc;
        uint64_t epoch = rc->endpoints_epoch;
        const topology *t = monitor_topology(dc->monitor);
        size_t primary = t ? t->primary : TOPOLOGY_NONE;

        bool done = res->all_ok || res->any_stale;

        for (size_t k = 0; k < res->n; k++) {
                const endpoint_outcome *o = &res->outcomes[k];
                if (!o->skipped)
                        daemon_metrics_endpoint(dc, o->type, o->ok);
                if (o->ok && !o->skipped)
                        daemon_raise(dc, EVENT_ENDPOINT_UPDATED, epoch, "RETRIED", TOPOLOGY_NONE, primary,
                                daemon_endpoint_details(o, true),
                                "%s endpoint (retried): %s", endpoint_type_to_string(o->type), o->message);
                else if (!o->ok)
                        log_fields_full(LOG_WARNING,
                                &(log_fields){ .cluster = dc->conf->name, .has_epoch = true, .epoch = epoch,
                                        .event = _EVENT_INVALID, .reason = "ENDPOINT_FAILED" },
                                "%s endpoint still failing (retrying every %llu s): %s", endpoint_type_to_string(o->type),
                                (unsigned long long) (RECONCILE_ENDPOINT_RETRY_USEC / USEC_PER_SEC), o->message);
        }
        rc->endpoints = endpoints_op_free(rc->endpoints); /* res lived in it */
        if (done) {
                rc->endpoints_epoch = 0;
                return;
        }
        endpoints_schedule(rc);
}

static void endpoints_retry(reconcile_state *rc) {
        daemon_cluster *dc = rc->dc;
        daemon_ctx *d = dc->daemon;
        const topology *t = monitor_topology(dc->monitor);
        uint64_t config_epoch = 0;
        char message[256];

        if (rc->endpoints_epoch == 0 || rc->endpoints)
                return;
        (void) state_get_cluster_primary(d->state, dc->conf->name, NULL, &config_epoch);
        if (config_epoch != rc->endpoints_epoch) {
                rc->endpoints_epoch = 0; /* a newer epoch took over: its run updates them */
                return;
        }
        if (dc->op || !t || t->primary == TOPOLOGY_NONE || !t->primary_from_state) {
                endpoints_schedule(rc);
                return;
        }
        snprintf(message, sizeof(message), "%s is the primary of %s (epoch %" PRIu64 ")", dc->conf->servers[t->primary].name,
                dc->conf->name, config_epoch);
        endpoints_params p = {
                .conf = dc->conf,
                .sentinel_name = d->config->sentinel.name,
                .sentinel_zone = d->config->sentinel.zone,
                .epoch = config_epoch,
                .new_primary = t->primary,
                .old_primary = TOPOLOGY_NONE,
                .event = EVENT_ENDPOINT_UPDATED,
                .message = message,
                .deadline_usec = now_usec(dc) + 5 * USEC_PER_SEC,
        };
        if (endpoints_update(d->event, &p, on_endpoints_retried, rc, &rc->endpoints) < 0)
                endpoints_schedule(rc);
}

void daemon_reconcile_endpoints_failed(daemon_cluster *dc, uint64_t epoch) {
        reconcile_state *rc = reconcile_get(dc);
        if (!rc)
                return;
        rc->endpoints_epoch = epoch;
        rc->endpoint_timer = sd_event_source_disable_unref(rc->endpoint_timer);
        endpoints_schedule(rc);
}

void daemon_reconcile(daemon_cluster *dc) {
        const topology *t = monitor_topology(dc->monitor);
        uint64_t config_epoch = 0, now;
        reconcile_state *rc;

        if (dc->op || !t || t->primary == TOPOLOGY_NONE || !t->primary_from_state || !t->servers[t->primary].writable ||
                daemon_cluster_maintenance(dc, NULL))
                return;
        if (state_get_cluster_primary(dc->daemon->state, dc->conf->name, NULL, &config_epoch) <= 0)
                return;
        rc = reconcile_get(dc);
        if (!rc)
                return;
        now = now_usec(dc);
        for (size_t i = 0; i < rc->n_servers && i < t->n_servers; i++) {
                if (config_epoch > 0) /* an adopted primary: what disagrees with it is reported, not changed */
                        reconcile_server_step(rc, t, i, now);
                reconcile_semi_sync_step(rc, t, i, now); /* (it skips a server whose action runs) */
        }
}
