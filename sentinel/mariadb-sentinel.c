/* mariadb-sentinel: the daemon. Foreground only; systemd supervises it (SPEC 2). main() parses the
 * command line and loads the config; daemon.c runs the sentinel. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "sentinel-build.h"

#define EXIT_FAILED 1
#define EXIT_CONFIG 2

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
               "Signals: SIGHUP re-reads the configuration (a bad one is refused and the running one\n"
               "stays); SIGTERM and SIGINT stop the daemon cleanly.\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage or configuration error.\n"
               "See mariadb-sentinel(8) and mariadb-sentinel.conf(5).\n",
                SENTINEL_DEFAULT_CONFIG);
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
