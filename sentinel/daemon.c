/* The daemon's life: open its state, start one monitor per cluster, serve the control socket, tell
 * systemd how it is doing, reload on SIGHUP, stop cleanly on SIGTERM/SIGINT.
 *
 * Start-up order: the config is loaded by main() (exit 2 when bad); here state_dir is locked (a
 * second daemon on it could vote twice) and its state loaded (exit 1 when it exists but is unusable:
 * a reset epoch could allow a second vote), the audit log opened, the control socket bound and every
 * cluster's probes started. READY=1 follows once every server has answered or failed its first
 * probe. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "macro.h"
#include "sentinel-build.h"

static daemon_cluster *daemon_cluster_free(daemon_cluster *dc) {
        if (dc) {
                failover_op_free(dc->op);
                daemon_reconcile_free(dc);
                daemon_fence_free(dc);
                sd_event_source_disable_unref(dc->maintenance_timer);
                sd_event_source_disable_unref(dc->elect_timer);
                json_object_put(dc->last_decision);
                monitor_free(dc->monitor);
                free(dc);
        }
        return NULL;
}

static void daemon_clusters_free(daemon_cluster **clusters, size_t n) {
        for (size_t i = 0; i < n; i++)
                daemon_cluster_free(clusters[i]);
        free(clusters);
}

void daemon_ctx_done(daemon_ctx *d) {
        daemon_http_stop(d);
        daemon_peers_free(d);
        daemon_clusters_free(d->clusters, d->n_clusters);
        daemon_lease_free(d);
        d->clusters = NULL;
        d->n_clusters = 0;
        d->control = control_server_free(d->control);
        d->hooks = hook_dispatcher_free(d->hooks);
        d->audit = audit_close(d->audit);
        d->state = state_free(d->state);
        d->config = config_free(d->config);
        d->event = sd_event_unref(d->event);
        if (d->state_lock_fd >= 0)
                d->state_lock_fd = (close(d->state_lock_fd), -1);
        free(d->status_line);
        d->status_line = NULL;
}

static void audit_lifecycle(daemon_ctx *d, const char *what) {
        json_object *inputs = json_object_new_object();
        json_object_object_add(inputs, "version", json_object_new_string(SENTINEL_VERSION));
        json_object_object_add(inputs, "config", json_object_new_string(d->config_path));
        json_object_object_add(inputs, "pid", json_object_new_int64(getpid()));
        daemon_audit(d, NULL, what, NULL, inputs);
}

int daemon_server_action_new(daemon_cluster *dc, size_t i, server_action **ret) {
        const cluster_conf *c = dc->conf;
        server_action_params p = {
                .host = c->servers[i].host,
                .port = c->servers[i].port,
                .user = c->user,
                .password = (const char *) c->password.data,
                .tls = {.enabled = c->tls.enabled,
                        .ca_file = c->tls.ca,
                        .cert_file = c->tls.cert,
                        .key_file = c->tls.key,
                        .verify_server_cert = c->tls.verify_server_cert},
        };
        return server_action_new(dc->daemon->event, &p, ret);
}

cluster_state_overlay daemon_cluster_overlay(const daemon_cluster *dc) {
        bool sdown = monitor_primary_sdown(dc->monitor);
        return (cluster_state_overlay){
                .failover = dc->op && failover_op_get_kind(dc->op) == FAILOVER_OP_FAILOVER,
                .switchover = dc->op && failover_op_get_kind(dc->op) == FAILOVER_OP_SWITCHOVER,
                .sdown = sdown,
                /* one sentinel: its own SDOWN is the quorum; with peers, ODOWN was reached */
                .odown = sdown && (dc->conf->quorum <= 1 || dc->odown),
                .fenced = daemon_fence_holds(dc),
                .maintenance = daemon_cluster_maintenance(dc, NULL),
        };
}

cluster_state daemon_cluster_state(const daemon_cluster *dc) {
        const topology *t = monitor_topology(dc->monitor);
        cluster_state_overlay o = daemon_cluster_overlay(dc);
        if (!t)
                return CLUSTER_STATE_NO_PRIMARY;
        return cluster_state_resolve(t->state, &o);
}

/* One line for systemd: every cluster with its primary when there are few, else counts by state. */
static void daemon_format_status(daemon_ctx *d, char *line, size_t size) {
        size_t len = 0, count[_CLUSTER_STATE_MAX] = {};
        int n;

        line[0] = 0;
        for (size_t i = 0; i < d->n_clusters; i++) {
                const daemon_cluster *dc = d->clusters[i];
                cluster_state s = daemon_cluster_state(dc);
                const topology *t = monitor_topology(dc->monitor);
                count[s]++;
                if (d->n_clusters > 4)
                        continue;
                n = snprintf(line + len, size - len, "%s%s: %s%s%s", i ? "; " : "", dc->conf->name,
                        cluster_state_to_string(s), t && t->primary != TOPOLOGY_NONE ? ", primary " : "",
                        t && t->primary != TOPOLOGY_NONE ? dc->conf->servers[t->primary].name : "");
                if (n < 0 || (size_t) n >= size - len)
                        return;
                len += (size_t) n;
        }
        if (d->n_clusters <= 4)
                return;
        n = snprintf(line, size, "%zu clusters:", d->n_clusters);
        for (int s = 0; s < _CLUSTER_STATE_MAX && n > 0 && (size_t) n < size; s++)
                if (count[s])
                        n += snprintf(line + n, size - (size_t) n, " %zu %s", count[s], cluster_state_to_string(s));
}

void daemon_update_notify(daemon_ctx *d) {
        char line[1024];

        if (!d->ready) {
                for (size_t i = 0; i < d->n_clusters; i++)
                        if (!d->clusters[i] || !d->clusters[i]->monitor ||
                                !monitor_first_round_done(d->clusters[i]->monitor))
                                return;
                d->ready = true;
                daemon_format_status(d, line, sizeof(line));
                log_notice("first probe round done for %zu cluster(s): ready", d->n_clusters);
                (void) sd_notifyf(false, "READY=1\nSTATUS=%s", line);
        } else {
                daemon_format_status(d, line, sizeof(line));
                if (streq_ptr(d->status_line, line))
                        return;
                (void) sd_notifyf(false, "STATUS=%s", line);
        }
        free(d->status_line);
        d->status_line = strdup(line);
}

void daemon_cluster_changed(daemon_cluster *dc) {
        const topology *t = monitor_topology(dc->monitor);
        cluster_state s = daemon_cluster_state(dc);
        size_t primary = t ? t->primary : TOPOLOGY_NONE;

        /* Most probe results change nothing: only a new state or primary (or readiness) reaches systemd. */
        if (dc->daemon->ready && dc->shown_valid && dc->shown_state == s && dc->shown_primary == primary)
                return;
        dc->shown_valid = true;
        dc->shown_state = s;
        dc->shown_primary = primary;
        daemon_update_notify(dc->daemon);
}

/* Makes a cluster's monitor and starts it, with the primary the state knows. */
static int daemon_cluster_start(daemon_ctx *d, daemon_cluster *dc, size_t index, size_t n) {
        const char *known = NULL;
        int r;

        r = monitor_new(d->event, dc->conf, &daemon_monitor_callbacks, dc, &dc->monitor);
        if (r < 0)
                return r;
        if (state_get_cluster_primary(d->state, dc->conf->name, &known, NULL) > 0) {
                r = monitor_set_known_primary(dc->monitor, known);
                if (r < 0)
                        return r;
        }
        daemon_cluster_arm_maintenance(dc);
        /* Spread the clusters over their interval, so a sentinel of many clusters probes evenly. */
        return monitor_start(dc->monitor, dc->conf->probe.interval_ms * USEC_PER_MSEC * index / n);
}

/* Makes the cluster list of cfg. A cluster whose servers are reached the same way keeps its monitor
 * (statuses, SDOWN clocks, connections); any other gets a new one. */
static int daemon_clusters_apply(daemon_ctx *d, const config *cfg) {
        static const char reopened_tls[] = "reload re-opens the database connections, so the TLS "
                                           "certificate and key files are read again";
        daemon_cluster **next = calloc(cfg->n_clusters, sizeof(*next));
        int r = 0;

        if (!next)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_clusters; i++) {
                const cluster_conf *conf = &cfg->clusters[i];
                for (size_t j = 0; j < d->n_clusters; j++) {
                        daemon_cluster *old = d->clusters[j];
                        if (old && streq(old->conf->name, conf->name)) {
                                if (monitor_reconfigure(old->monitor, conf) >= 0) {
                                        if (conf->tls.enabled)
                                                log_notice("cluster %s: %s", conf->name, reopened_tls);
                                        old->conf = conf;
                                        daemon_reconcile_free(old); /* in-flight work held the old config */
                                        daemon_fence_reconfigured(old);
                                        next[i] = TAKE_PTR(d->clusters[j]);
                                }
                                break;
                        }
                }
                if (next[i])
                        continue;
                next[i] = calloc(1, sizeof(daemon_cluster));
                if (!next[i]) {
                        r = -ENOMEM;
                        break;
                }
                next[i]->daemon = d;
                next[i]->conf = conf;
                /* A vote from before this start above the configuration's epoch: its leader may still be
                 * running; this sentinel cannot know when it voted, so it counts it as now (BUSY). */
                uint64_t last_vote = 0, config_epoch = 0;
                (void) state_last_vote(d->state, &last_vote, NULL);
                (void) state_get_cluster_primary(d->state, conf->name, NULL, &config_epoch);
                if (cfg->sentinel.n_peers > 0 && last_vote > config_epoch &&
                        sd_event_now(d->event, CLOCK_MONOTONIC, &next[i]->voted_usec) >= 0) {
                        /* ...and, as after granting a vote, starts no election of its own before then */
                        next[i]->retry_after_usec = next[i]->voted_usec + conf->failover.timeout_ms * USEC_PER_MSEC;
                        next[i]->quiet_until_usec = next[i]->retry_after_usec;
                } else
                        next[i]->voted_usec = 0;
                r = daemon_cluster_start(d, next[i], i, cfg->n_clusters);
                if (r < 0)
                        break;
        }
        daemon_clusters_free(d->clusters, d->n_clusters);
        d->clusters = next;
        d->n_clusters = cfg->n_clusters;
        return r;
}

int daemon_reload(daemon_ctx *d, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        config *fresh = NULL, *old;
        int r;

        for (size_t i = 0; i < d->n_clusters; i++)
                if (d->clusters[i] && d->clusters[i]->op) {
                        const daemon_cluster *dc = d->clusters[i];
                        if (asprintf(&error, "a %s of %s is running (epoch %" PRIu64 "); reload again when it has ended",
                                    failover_op_kind_to_string(failover_op_get_kind(dc->op)), dc->conf->name,
                                    failover_op_get_epoch(dc->op)) < 0)
                                error = NULL;
                        log_error("reload refused, the running configuration stays in force: %s", error ? error : "busy");
                        daemon_metrics_reload(d, false);
                        if (ret_error)
                                *ret_error = TAKE_PTR(error);
                        return -EBUSY;
                }
        (void) sd_notify(false, "RELOADING=1");
        r = config_load(d->config_path, &fresh, &error);
        if (r >= 0 && (!streq(fresh->sentinel.name, d->config->sentinel.name) ||
                              !streq(fresh->sentinel.state_dir, d->config->sentinel.state_dir) ||
                              !streq(fresh->sentinel.control_socket, d->config->sentinel.control_socket) ||
                              !streq_ptr(fresh->sentinel.control_group, d->config->sentinel.control_group) ||
                              fresh->sentinel.control_gid != d->config->sentinel.control_gid)) {
                config_free(fresh);
                fresh = NULL;
                free(error);
                error = strdup("sentinel.name, sentinel.state_dir, sentinel.control_socket and sentinel.control_group "
                               "cannot change while running; restart the service to change them");
                r = -EINVAL;
        }
        if (r < 0) {
                log_error("reload refused, the running configuration stays in force: %s", error ? error : strerror(-r));
                json_object *in = json_object_new_object();
                json_object_object_add(in, "error", json_object_new_string(error ? error : strerror(-r)));
                daemon_audit(d, NULL, "reload-refused", "BAD_CONFIG", in);
                daemon_metrics_reload(d, false);
                (void) sd_notify(false, "READY=1");
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        old = d->config;
        d->config = fresh;
        r = daemon_clusters_apply(d, fresh);
        config_free(old);
        if (r < 0) {
                log_error("reload: cannot start monitoring: %s", strerror(-r));
                daemon_metrics_reload(d, false);
                (void) sd_notify(false, "READY=1");
                return r;
        }
        log_notice("configuration reloaded from %s: %zu cluster(s)", d->config_path, d->n_clusters);
        daemon_audit(d, NULL, "reloaded", NULL, NULL);
        daemon_metrics_reload(d, true);
        daemon_http_reloaded(d);
        (void) sd_notify(false, "READY=1");
        daemon_update_notify(d);
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_notice("received %s, shutting down", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) daemon_reload(userdata, NULL);
        return 0;
}

static int daemon_open_state(daemon_ctx *d) {
        const char *dir = d->config->sentinel.state_dir;
        _cleanup_free_ char *detail = NULL;
        int r;

        r = fsutil_mkdir_p(dir, 0750);
        if (r < 0) {
                log_error("cannot create state directory %s: %s", dir, strerror(-r));
                return r;
        }
        d->state_lock_fd = fsutil_lock_file(dir, "lock");
        if (d->state_lock_fd < 0) {
                r = d->state_lock_fd;
                if (r == -EWOULDBLOCK)
                        log_error("state directory %s is in use by another mariadb-sentinel; refusing to start "
                                  "(each sentinel needs its own state_dir)", dir);
                else
                        log_error("cannot lock %s/lock: %s", dir, strerror(-r));
                return r;
        }
        r = state_load(dir, &d->state, &detail);
        if (r < 0) {
                if (state_error_is_corruption(r))
                        log_error("%s; refusing to start: starting from a fresh state could cast a second vote "
                                  "in an epoch already voted in. Restore the file from a backup, or see README "
                                  "'Recovering a damaged state file'",
                                detail ? detail : state_strerror(r));
                else
                        log_error("cannot load state from %s: %s", dir, detail ? detail : state_strerror(r));
                return r;
        }
        /* Write it back now: proves state_dir is writable before anything depends on it. */
        r = state_save(dir, d->state);
        if (r < 0) {
                log_error("cannot write state to %s: %s", dir, state_strerror(r));
                return r;
        }
        r = audit_open(dir, &d->audit);
        if (r < 0) {
                log_error("cannot open the audit log in %s: %s", dir, strerror(-r));
                return r;
        }
        return 0;
}

static int daemon_open_control(daemon_ctx *d) {
        const sentinel_conf *sc = &d->config->sentinel;
        const char *path = sc->control_socket;
        _cleanup_free_ char *dir = strdup(path);
        control_server_options opts = {
                .has_group = sc->control_group != NULL, .group = sc->control_gid, .group_name = sc->control_group};
        int r;

        if (!dir)
                return -ENOMEM;
        r = fsutil_mkdir_p(dirname(dir), 0755); /* an existing directory keeps its mode */
        if (r >= 0)
                r = control_server_new(d->event, path, &opts, daemon_control_handler, d, &d->control);
        if (r >= 0)
                control_server_set_event_callback(d->control, daemon_control_event, d);
        if (r == -EADDRINUSE)
                log_error("control socket %s: another daemon answers there; refusing to start", path);
        else if (r == -EPERM && sc->control_group)
                log_error("cannot give control socket %s to group %s: %s (run as root or as a member of it)", path,
                        sc->control_group, strerror(-r));
        else if (r < 0)
                log_error("cannot listen on control socket %s: %s", path, strerror(-r));
        return r;
}

int daemon_run(daemon_ctx *d) {
        sigset_t mask;
        int r;

        r = daemon_open_state(d);
        if (r < 0)
                return r;

        /* Signals arrive through the loop; SIGCHLD must be blocked for the hooks' child sources. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        /* A control client that hangs up must not kill us. */
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_terminate, d)) < 0 ||
                (r = sd_event_add_signal(d->event, NULL, SIGINT, on_terminate, d)) < 0 ||
                (r = sd_event_add_signal(d->event, NULL, SIGHUP, on_reload, d)) < 0) {
                log_error("cannot watch signals: %s", strerror(-r));
                return r;
        }
        r = sd_event_set_watchdog(d->event, true);
        if (r < 0)
                log_warning("cannot arm the systemd watchdog: %s", strerror(-r));

        r = hook_dispatcher_new(d->event, NULL, daemon_on_hook_report, d, &d->hooks);
        if (r < 0) {
                log_error("cannot set up hooks: %s", strerror(-r));
                return r;
        }
        r = daemon_open_control(d);
        if (r < 0)
                return r;
        r = daemon_http_start(d);
        if (r < 0)
                return r;

        audit_lifecycle(d, "sentinel-start");
        log_notice("sentinel %s (zone %s) started, epoch %" PRIu64 ", %zu cluster(s), state in %s, control socket %s",
                d->config->sentinel.name, d->config->sentinel.zone, state_get_epoch(d->state), d->config->n_clusters,
                d->config->sentinel.state_dir, d->config->sentinel.control_socket);

        r = daemon_clusters_apply(d, d->config);
        if (r < 0) {
                log_error("cannot start monitoring: %s", strerror(-r));
                return r;
        }
        r = daemon_peers_start(d);
        if (r < 0)
                return r;

        r = sd_event_loop(d->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return r;
        }
        audit_lifecycle(d, "sentinel-stop");
        return 0;
}
