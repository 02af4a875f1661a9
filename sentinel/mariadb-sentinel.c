/* mariadb-sentinel: the daemon. Foreground only; systemd supervises it (SPEC 2).
 *
 * Start-up order: parse the command line, load and validate the config (exit 2 when it is bad),
 * open state_dir and load the persistent state (exit 1 when it exists but is unusable: a reset
 * epoch could allow a second vote), open the audit log, then run the event loop until SIGTERM or
 * SIGINT. SIGHUP re-reads the config; a bad one is refused and the old one stays in force. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "audit.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "macro.h"
#include "sentinel-build.h"
#include "state.h"

#define EXIT_FAILED 1
#define EXIT_CONFIG 2

/* The daemon's one context: everything mutable lives here. */
typedef struct daemon_ctx {
        const char *config_path;
        config *config;
        state *state;
        audit *audit;
        sd_event *event;
        int state_lock_fd;
} daemon_ctx;

static void daemon_ctx_done(daemon_ctx *d) {
        d->audit = audit_close(d->audit);
        d->state = state_free(d->state);
        d->config = config_free(d->config);
        d->event = sd_event_unref(d->event);
        if (d->state_lock_fd >= 0)
                d->state_lock_fd = (close(d->state_lock_fd), -1);
}

static void help(void) {
        printf("Usage: mariadb-sentinel [OPTIONS]\n"
               "\n"
               "Failover sentinel for MariaDB primary/standby replication. Runs in the foreground;\n"
               "systemd supervises it (mariadb-sentinel@AZ.service).\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE   configuration file (default %s)\n"
               "      --check-config  validate the configuration, print a summary and exit;\n"
               "                      contacts nothing\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage or configuration error.\n",
                SENTINEL_DEFAULT_CONFIG);
}

static int audit_lifecycle(daemon_ctx *d, const char *what) {
        json_object *inputs = json_object_new_object();
        json_object_object_add(inputs, "version", json_object_new_string(SENTINEL_VERSION));
        json_object_object_add(inputs, "config", json_object_new_string(d->config_path));
        json_object_object_add(inputs, "pid", json_object_new_int64(getpid()));
        return audit_decision(d->audit, NULL, state_get_epoch(d->state), what, NULL, inputs);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_notice("received %s, shutting down", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        daemon_ctx *d = userdata;
        _cleanup_free_ char *error = NULL;
        config *fresh = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1");
        r = config_load(d->config_path, &fresh, &error);
        if (r < 0)
                log_error("reload refused, the running configuration stays in force: %s",
                        error ? error : strerror(-r));
        else {
                /* Identity and storage cannot change under a running sentinel. */
                if (!streq(fresh->sentinel.name, d->config->sentinel.name) ||
                        !streq(fresh->sentinel.state_dir, d->config->sentinel.state_dir)) {
                        log_error("reload refused: sentinel.name and sentinel.state_dir cannot change while "
                                  "running; restart the service to change them");
                        config_free(fresh);
                } else {
                        config_free(d->config);
                        d->config = fresh;
                        log_notice("configuration reloaded from %s", d->config_path);
                }
        }
        (void) sd_notify(false, "READY=1");
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
        /* Two processes on one state_dir could each grant a vote in the same epoch. */
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

static int daemon_run(daemon_ctx *d) {
        sigset_t mask;
        int r;

        r = daemon_open_state(d);
        if (r < 0)
                return r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

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

        r = audit_lifecycle(d, "sentinel-start");
        if (r < 0) {
                log_error("cannot write the audit log: %s", strerror(-r));
                return r;
        }
        log_notice("sentinel %s (zone %s) started, epoch %" PRIu64 ", %zu cluster(s), state in %s",
                d->config->sentinel.name, d->config->sentinel.zone, state_get_epoch(d->state),
                d->config->n_clusters, d->config->sentinel.state_dir);
        (void) sd_notifyf(false, "READY=1\nSTATUS=epoch %" PRIu64 ", %zu cluster(s)", state_get_epoch(d->state),
                d->config->n_clusters);

        r = sd_event_loop(d->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return r;
        }
        r = audit_lifecycle(d, "sentinel-stop");
        if (r < 0)
                log_error("cannot write the audit log: %s", strerror(-r));
        return 0;
}

int main(int argc, char **argv) {
        enum { ARG_CHECK_CONFIG = 0x100 };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        daemon_ctx d = { .config_path = SENTINEL_DEFAULT_CONFIG, .state_lock_fd = -1 };
        _cleanup_free_ char *error = NULL;
        bool check_only = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "c:hV", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        d.config_path = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        check_only = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 'V':
                        printf("mariadb-sentinel %s\n", SENTINEL_VERSION);
                        return EXIT_SUCCESS;
                default:
                        fprintf(stderr, "mariadb-sentinel: see 'mariadb-sentinel --help'\n");
                        return EXIT_CONFIG;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "mariadb-sentinel: unexpected argument '%s'; see 'mariadb-sentinel --help'\n",
                        argv[optind]);
                return EXIT_CONFIG;
        }

        r = config_load(d.config_path, &d.config, &error);
        if (r < 0) {
                /* One line, FILE:LINE: what is wrong, on stderr even under systemd (it lands in the journal). */
                fprintf(stderr, "mariadb-sentinel: %s\n", error ? error : strerror(-r));
                return EXIT_CONFIG;
        }
        if (check_only) {
                config_print_summary(d.config, stdout);
                printf("%s: configuration OK\n", d.config_path);
                config_free(d.config);
                return EXIT_SUCCESS;
        }

        log_setup("mariadb-sentinel", LOG_TARGET_AUTO, LOG_INFO);
        r = daemon_run(&d);
        daemon_ctx_done(&d);
        return r < 0 ? EXIT_FAILED : EXIT_SUCCESS;
}
