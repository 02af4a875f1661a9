/* The daemon's one context and the functions its files share. Everything mutable of the running
 * sentinel lives in a daemon_ctx; there is no other process-wide state but the log target. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "config.h"
#include "control-server.h"
#include "hook.h"
#include "monitor.h"
#include "state.h"
#include "status-json.h"

typedef struct daemon_cluster {
        struct daemon_ctx *daemon;
        const cluster_conf *conf; /* points into daemon->config */
        monitor *monitor;
        bool has_last_event;
        status_last_event last_event;
        bool shown_valid; /* shown_state and shown_primary are what STATUS= last reflected */
        cluster_state shown_state;
        size_t shown_primary;
} daemon_cluster;

typedef struct daemon_ctx {
        const char *config_path;
        config *config;
        state *state;
        audit *audit;
        int state_lock_fd;
        sd_event *event;
        hook_dispatcher *hooks;
        control_server *control;
        daemon_cluster **clusters; /* one per config cluster, in config order; stable pointers */
        size_t n_clusters;
        bool ready;        /* READY=1 was sent */
        char *status_line; /* the last STATUS= sent */
} daemon_ctx;

/* daemon.c: runs the daemon until SIGTERM/SIGINT; 0 on a clean exit, else a negative errno (logged). */
int daemon_run(daemon_ctx *d);

/* daemon.c: frees everything d holds. */
void daemon_ctx_done(daemon_ctx *d);

/* daemon.c: tells systemd READY=1 once every cluster finished its first round, and the STATUS= line. */
void daemon_update_notify(daemon_ctx *d);

/* daemon.c: a cluster's monitor took in a result; updates systemd when its state or primary changed. */
void daemon_cluster_changed(daemon_cluster *dc);

/* daemon-events.c: the monitor callbacks (log, audit, hooks, adopting a discovered primary). */
extern const monitor_callbacks daemon_monitor_callbacks;

/* daemon-events.c: reports a finished hook (audit and log). */
void daemon_on_hook_report(hook_dispatcher *h, const hook_report *report, void *userdata);

/* daemon-events.c: writes one audit record of an event or decision; logs when the write fails. */
void daemon_audit(daemon_ctx *d, const char *cluster, const char *decision, const char *reason, json_object *inputs);

/* daemon-control.c: answers control requests. */
int daemon_control_handler(control_server *s, control_client *c, const control_request *req, void *userdata);

/* daemon.c: re-reads the config; a bad one is refused and the old one stays. 0, or the error (logged)
 * with *ret_error set to its one line when ret_error is not NULL. */
int daemon_reload(daemon_ctx *d, char **ret_error);
