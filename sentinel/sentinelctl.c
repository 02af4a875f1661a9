/* sentinelctl: the operator's CLI over the daemon's control socket (SPEC 2): checks the verb and
 * its arguments, sends one request (control-proto.h) and prints the answer. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-peek.h"
#include "control-client.h"
#include "macro.h"
#include "sentinel-build.h"
#include "status-json.h"
#include "strutil.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3

static void help(void) {
        printf("Usage: sentinelctl [OPTIONS] VERB [ARGS]\n"
               "\n"
               "The operator's CLI of mariadb-sentinel, over the daemon's control socket.\n"
               "\n"
               "Verbs:\n"
               "  status [CLUSTER] [--json]                  servers, roles, zones, GTID, lag, state, epoch\n"
               "  switchover CLUSTER [--to SERVER] [--timeout MS] [--dry-run]\n"
               "                                             planned switchover\n"
               "  failover CLUSTER [--to SERVER] --force [--no-quorum] [--dry-run]\n"
               "                                             operator-forced failover (audited)\n"
               "  maintenance CLUSTER on [--ttl S] | off     pause/resume automatic failover\n"
               "  history CLUSTER [--json]                   past failovers and switchovers\n"
               "  why CLUSTER [--json]                       the last decision and its reason code\n"
               "  reload                                     re-read the config (as SIGHUP)\n"
               "\n"
               "Options (before or after the verb):\n"
               "  -s, --socket PATH   control socket (default: control_socket from the config)\n"
               "  -c, --config FILE   config to read control_socket from\n"
               "                      (default %s)\n"
               "  -h, --help          show this help\n"
               "  -V, --version       show the version\n"
               "\n"
               "Verb options (a value may also follow '=', as in --to=SERVER):\n"
               "  --json              print JSON instead of a table or text (status, history, why)\n"
               "  --to SERVER         the server to promote (default: the best candidate)\n"
               "  --timeout MS        the switchover's whole budget (default failover.timeout_ms)\n"
               "  --dry-run           print the plan and every check, change nothing; exit 1 when\n"
               "                      the operation would be refused\n"
               "  --force             required by failover; also lets through a candidate that is\n"
               "                      lagging, errant or behind another server\n"
               "  --no-quorum         failover on this sentinel's own SDOWN instead of ODOWN (the\n"
               "                      election still needs a majority of all sentinels)\n"
               "  --ttl S             end maintenance after S seconds (default: until 'off')\n"
               "\n"
               "Exit status: 0 success, 1 refused or failed, 2 usage or configuration error,\n"
               "3 the daemon could not be reached. See sentinelctl(1).\n",
                SENTINEL_DEFAULT_CONFIG);
}

typedef struct verb {
        const char *name;
        int min_args, max_args;         /* positional arguments after the verb */
        const char *const *flags;       /* accepted --flags; "=" suffix: takes a value */
} verb;

static const char *const flags_status[] = { "json", NULL };
static const char *const flags_switchover[] = { "to=", "timeout=", "dry-run", NULL };
static const char *const flags_failover[] = { "to=", "force", "no-quorum", "dry-run", NULL };
static const char *const flags_maintenance[] = { "ttl=", NULL };
static const char *const flags_history[] = { "json", NULL }; /* also why's */
static const char *const flags_none[] = { NULL };

static const verb verbs[] = {
        { "status", 0, 1, flags_status },
        { "switchover", 1, 1, flags_switchover },
        { "failover", 1, 1, flags_failover },
        { "maintenance", 2, 2, flags_maintenance },
        { "history", 1, 1, flags_history },
        { "why", 1, 1, flags_history },
        { "reload", 0, 0, flags_none },
};

static const verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* Returns 1 when flag (without "--") is accepted, 2 when it takes a value, 0 when unknown. */
static int verb_flag(const verb *v, const char *flag) {
        size_t n = strcspn(flag, "=");
        for (const char *const *f = v->flags; *f; f++) {
                size_t m = strcspn(*f, "=");
                if (m == n && strncmp(*f, flag, n) == 0)
                        return (*f)[m] == '=' ? 2 : 1;
        }
        return 0;
}

/* Checks the verb's arguments; prints one line and returns -EINVAL when they are wrong. */
static int verb_check_args(const verb *v, int argc, char **argv) {
        int positional = 0;
        bool force = false;

        for (int i = 0; i < argc; i++) {
                if (strncmp(argv[i], "--", 2) == 0) {
                        int k = verb_flag(v, argv[i] + 2);
                        if (k == 0) {
                                fprintf(stderr, "sentinelctl: %s: unknown option '%s'; see 'sentinelctl --help'\n",
                                        v->name, argv[i]);
                                return -EINVAL;
                        }
                        if (k == 2 && !strchr(argv[i], '=')) {
                                if (i + 1 >= argc) {
                                        fprintf(stderr, "sentinelctl: %s: option '%s' needs a value\n", v->name,
                                                argv[i]);
                                        return -EINVAL;
                                }
                                i++;
                        }
                        if (streq(argv[i], "--force"))
                                force = true;
                        continue;
                }
                positional++;
        }
        if (positional < v->min_args || positional > v->max_args) {
                if (v->min_args == v->max_args)
                        fprintf(stderr, "sentinelctl: %s: expected %d argument(s), got %d; see 'sentinelctl --help'\n",
                                v->name, v->min_args, positional);
                else
                        fprintf(stderr,
                                "sentinelctl: %s: expected %d to %d argument(s), got %d; see 'sentinelctl --help'\n",
                                v->name, v->min_args, v->max_args, positional);
                return -EINVAL;
        }
        if (streq(v->name, "failover") && !force) {
                fprintf(stderr, "sentinelctl: failover: an operator failover needs --force\n");
                return -EINVAL;
        }
        if (streq(v->name, "maintenance")) {
                const char *mode = NULL;
                for (int i = 0, p = 0; i < argc; i++) {
                        if (strncmp(argv[i], "--", 2) == 0) {
                                if (!strchr(argv[i], '='))
                                        i++;
                                continue;
                        }
                        if (p++ == 1)
                                mode = argv[i];
                }
                if (!mode || (!streq(mode, "on") && !streq(mode, "off"))) {
                        fprintf(stderr, "sentinelctl: maintenance: expected 'on' or 'off', got '%s'\n",
                                mode ? mode : "");
                        return -EINVAL;
                }
        }
        return 0;
}

/* Turns the verb's checked arguments into the request's args object (control-proto.h). */
static int build_args(const verb *v, int argc, char **argv, const char **ret_cluster, bool *ret_json,
        json_object **ret) {
        json_object *args = json_object_new_object();
        const char *positional[2] = {};
        int n = 0;

        *ret_json = false;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *value = NULL;
                if (strncmp(a, "--", 2) != 0) {
                        if (n < 2)
                                positional[n++] = a;
                        continue;
                }
                a += 2;
                if (verb_flag(v, a) == 2) {
                        const char *eq = strchr(a, '=');
                        value = eq ? eq + 1 : argv[++i];
                }
                if (strncmp(a, "json", 4) == 0)
                        *ret_json = true;
                else if (strncmp(a, "dry-run", 7) == 0)
                        json_object_object_add(args, "dry_run", json_object_new_boolean(true));
                else if (strncmp(a, "force", 5) == 0)
                        json_object_object_add(args, "force", json_object_new_boolean(true));
                else if (strncmp(a, "no-quorum", 9) == 0)
                        json_object_object_add(args, "no_quorum", json_object_new_boolean(true));
                else if (strncmp(a, "to", 2) == 0)
                        json_object_object_add(args, "to", json_object_new_string(value));
                else if (strncmp(a, "timeout", 7) == 0 || strncmp(a, "ttl", 3) == 0) {
                        char *end;
                        errno = 0;
                        unsigned long long x = strtoull(value, &end, 10);
                        if (errno || end == value || *end || value[0] == '-' || x > UINT32_MAX) {
                                fprintf(stderr, "sentinelctl: %s: --%.*s wants a whole number, got '%s'\n", v->name,
                                        (int) strcspn(a, "="), a, value);
                                json_object_put(args);
                                return -EINVAL;
                        }
                        json_object_object_add(args, a[1] == 'i' ? "timeout_ms" : "ttl_s", json_object_new_uint64(x));
                }
        }
        if (streq(v->name, "maintenance"))
                json_object_object_add(args, "enabled", json_object_new_boolean(streq(positional[1], "on")));
        *ret_cluster = positional[0];
        *ret = args;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *socket_path = NULL, *config_path = SENTINEL_DEFAULT_CONFIG;
        _cleanup_free_ char *peeked = NULL, *error = NULL;
        _cleanup_(control_conn_closep) control_conn *conn = NULL;
        json_object *request_args = NULL;
        control_reply *reply = NULL;
        const char *cluster = NULL;
        control_command command;
        bool json = false;
        const verb *v;
        int c, r;

        /* '+': stop at the verb, so the verb's own --flags are left for it. */
        while ((c = getopt_long(argc, argv, "+s:c:hV", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        socket_path = optarg;
                        break;
                case 'c':
                        config_path = optarg;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case 'V':
                        printf("sentinelctl %s\n", SENTINEL_VERSION);
                        return EXIT_SUCCESS;
                default:
                        fprintf(stderr, "sentinelctl: see 'sentinelctl --help'\n");
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "sentinelctl: no verb given; see 'sentinelctl --help'\n");
                return EXIT_USAGE;
        }
        v = verb_find(argv[optind]);
        if (!v) {
                fprintf(stderr, "sentinelctl: unknown verb '%s'; see 'sentinelctl --help'\n", argv[optind]);
                return EXIT_USAGE;
        }
        /* The global options may also follow the verb: take them out of its arguments. */
        int n_args = 0;
        char **args = argv + optind + 1;
        for (int i = optind + 1; i < argc; i++) {
                const char **target = NULL;
                const char *a = argv[i];
                if (streq(a, "-s") || streq(a, "--socket"))
                        target = &socket_path;
                else if (streq(a, "-c") || streq(a, "--config"))
                        target = &config_path;
                if (target) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "sentinelctl: option '%s' needs a value\n", a);
                                return EXIT_USAGE;
                        }
                        *target = argv[++i];
                } else if (strncmp(a, "--socket=", 9) == 0)
                        socket_path = a + 9;
                else if (strncmp(a, "--config=", 9) == 0)
                        config_path = a + 9;
                else
                        args[n_args++] = argv[i];
        }
        if (verb_check_args(v, n_args, args) < 0)
                return EXIT_USAGE;

        if (!socket_path) {
                r = config_peek_control_socket(config_path, &peeked, &error);
                if (r < 0) {
                        fprintf(stderr, "sentinelctl: %s; or name the socket with --socket\n", error);
                        return EXIT_USAGE;
                }
                socket_path = peeked;
        }

        command = control_command_from_string(v->name);
        if (build_args(v, n_args, args, &cluster, &json, &request_args) < 0)
                return EXIT_USAGE;
        if (streq(v->name, "reload"))
                cluster = NULL;

        r = control_conn_open(socket_path, &conn);
        if (r < 0) {
                fprintf(stderr, "sentinelctl: cannot reach the daemon at %s: %s\n", socket_path,
                        control_conn_strerror(r));
                json_object_put(request_args);
                return EXIT_UNREACHABLE;
        }
        /* A switchover waits for its own timeout; everything else answers at once. */
        r = control_conn_call(conn, command, cluster, request_args,
                command == CONTROL_COMMAND_SWITCHOVER || command == CONTROL_COMMAND_FAILOVER
                        ? CONTROL_TIMEOUT_INFINITY
                        : 30 * 1000000ULL,
                &reply);
        json_object_put(request_args);
        if (r < 0) {
                fprintf(stderr, "sentinelctl: %s: no answer from the daemon at %s: %s\n", v->name, socket_path,
                        control_conn_strerror(r));
                return EXIT_REFUSED;
        }
        if (!reply->ok) {
                /* The daemon's texts quote servers' error messages: no control characters reach the terminal. */
                fprintf(stderr, "sentinelctl: %s: ", v->name);
                (void) str_fputs_printable(reply->error_message[0] ? reply->error_message : "refused", stderr);
                fprintf(stderr, " (");
                (void) str_fputs_printable(reply->error_code, stderr);
                fprintf(stderr, ")\n");
                r = EXIT_REFUSED;
        } else if (command == CONTROL_COMMAND_STATUS && !json) {
                _cleanup_free_ char *table = NULL;
                r = status_format_table(reply->result, cluster, &table);
                if (r < 0) {
                        fprintf(stderr, "sentinelctl: status: cannot read the daemon's answer: %s\n", strerror(-r));
                        r = EXIT_REFUSED;
                } else {
                        (void) str_fputs_printable(table, stdout);
                        r = EXIT_SUCCESS;
                }
        } else {
                json_object *text = NULL, *go = NULL;
                if (command == CONTROL_COMMAND_RELOAD || command == CONTROL_COMMAND_PING)
                        ;
                else if (!json && reply->result && json_object_object_get_ex(reply->result, "text", &text) &&
                        json_object_is_type(text, json_type_string)) {
                        const char *t = json_object_get_string(text);
                        (void) str_fputs_printable(t, stdout);
                        if (t[0] && t[strlen(t) - 1] != '\n')
                                fputc('\n', stdout);
                } else
                        puts(json_object_to_json_string_ext(reply->result,
                                JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
                r = EXIT_SUCCESS;
                /* A dry run that would be refused says so in its exit status too. */
                if (reply->result && json_object_object_get_ex(reply->result, "go", &go) && !json_object_get_boolean(go))
                        r = EXIT_REFUSED;
        }
        control_reply_free(reply);
        return r;
}
