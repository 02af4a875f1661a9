/* writer: a test and benchmark client that writes continuously to "the primary" and records
 * exactly which writes were acknowledged, and a verifier for that record.
 *
 *   writer run    ... INSERTs one row per id (autocommit) into the writable primary; every id whose
 *                     INSERT returned OK is appended to the acked file (one write(2) per line, so a
 *                     kill -9 of the writer loses no line already written); reports the write gaps.
 *   writer verify ... every acked id must be on the given server.
 *
 * An id whose INSERT failed or timed out is "unknown" (it may or may not have committed) and is
 * never sent again: the next INSERT uses the next id. After any error the connection is closed and
 * the primary is looked for again: with --target, the first server of the list whose @@read_only is
 * 0; with --dns-server/--dns-name, the name's A (then AAAA) records asked of that DNS server
 * directly (ldns, no cache), each address tried like a target on --db-port.
 *
 * Connector/C's own timeouts are whole seconds, so every database call goes through its
 * non-blocking API (the *_start() and *_cont() calls) with poll() and our millisecond deadlines. When a
 * deadline passes, the socket is shut down and the call resumed with MYSQL_WAIT_TIMEOUT so the connector's
 * coroutine ends at once (as lib/io/db.c does); the handle is then closed. A blocking test tool:
 * one connection at a time, no threads. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <ldns/ldns.h>
#include <limits.h>
#include <mysql.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE      2
#define EXIT_UNVERIFIED 3

#define RETRY_SLEEP_MS      15 /* between rounds that found no writable primary */
#define FINISH_TRIES        16 /* resumes of a timed-out call on its shut-down socket */
#define VERIFY_SHOW_MISSING 20
#define ERR_MAX             1024
#define ADDR_MAX            280
#define DNS_ADDRESSES_MAX   16

/* ---- small helpers ---------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
        stop_signal = sig;
}

static int64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps MS milliseconds, returning early when a stop signal arrives. */
static void sleep_ms(int64_t ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

        while (!stop_signal && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void *xrealloc(void *p, size_t n, size_t size) {
        if (size && n > SIZE_MAX / size) {
                fprintf(stderr, "writer: out of memory\n");
                exit(1);
        }
        p = realloc(p, n && size ? n * size : 1);
        if (!p) {
                fprintf(stderr, "writer: out of memory\n");
                exit(1);
        }
        return p;
}

static char *xstrdup(const char *s) {
        char *d = strdup(s);

        if (!d) {
                fprintf(stderr, "writer: out of memory\n");
                exit(1);
        }
        return d;
}

/* One usage error: what, where, what to do; exit 2. */
_Noreturn __attribute__((format(printf, 1, 2))) static void usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("writer: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see writer --help)\n", stderr);
        exit(EXIT_USAGE);
}

static uint64_t parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (!*s || *s == '-' || *s == '+' || *end || errno || v < min || v > max)
                usage_error("%s: '%s' is not a number in %" PRIu64 "..%" PRIu64
                            "; give a plain decimal number",
                        opt, s, min, max);
        return v;
}

/* Writes all of BUF (write(2), no stdio buffer: a kill -9 after it returns loses nothing). */
static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t w = write(fd, buf, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -errno;
                buf += w;
                n -= (size_t) w;
        }
        return 0;
}

/* ---- options ---------------------------------------------------------------------------------- */

typedef struct target {
        char *host; /* as the connector takes it: a name or an IP literal, no brackets */
        unsigned port;
} target;

typedef struct options {
        const char *user;
        const char *password_file;
        char *password;
        target *targets;
        size_t n_targets;
        const char *dns_server;
        char *dns_server_host;
        unsigned dns_server_port;
        const char *dns_name;
        unsigned db_port;
        char *db;
        char *table;
        const char *acked;
        const char *report;
        uint64_t duration_ms; /* 0: until SIGTERM/SIGINT */
        uint64_t interval_ms;
        uint64_t connect_timeout_ms;
        uint64_t rw_timeout_ms;
        uint64_t gap_threshold_ms;
        bool quiet;
} options;

static const char usage_text[] =
        "usage: writer run --user U --password-file F (--target HOST:PORT[,HOST:PORT...] |\n"
        "                  --dns-server HOST:PORT --dns-name NAME --db-port P)\n"
        "                  --table DB.TABLE --acked FILE [--duration-ms N] [--interval-ms 0]\n"
        "                  [--connect-timeout-ms 200] [--rw-timeout-ms 1000] [--gap-threshold-ms 100]\n"
        "                  [--report FILE] [--quiet]\n"
        "       writer verify --user U --password-file F --target HOST:PORT --table DB.TABLE\n"
        "                  --acked FILE [--connect-timeout-ms 200] [--rw-timeout-ms 1000]\n"
        "\n"
        "run: writes to the writable primary until --duration-ms has passed (default: until\n"
        "  SIGTERM or SIGINT): one autocommit INSERT of (id, wall-clock ms) per id, ids increasing\n"
        "  from MAX(id)+1 of the table (created with its database if missing, on the first\n"
        "  writable primary). Every id whose INSERT returned OK is appended to the acked file\n"
        "  (truncated at start), one line per id, as soon as it is acked. After any error: close,\n"
        "  find the primary again (one round every 15 ms), continue with the next id; the failed\n"
        "  id is unknown: never acked, never reused.\n"
        "  The primary: with --target, the first server in the list with @@read_only = 0; with\n"
        "  --dns-server and --dns-name, the name's A (else AAAA) records, asked of that server\n"
        "  directly (no cache), each address tried on --db-port, again only with @@read_only = 0.\n"
        "  Looked for again after every error.\n"
        "  At exit: 'writer: N acked, E errors, longest write gap G ms' on stdout. With --report,\n"
        "  a JSON document: acked, errors (insert_errors + connect_errors), read_only_skips,\n"
        "  first_acked_id, last_acked_id, max_gap_ms (the longest time between two consecutive\n"
        "  acks), gaps (each longer than --gap-threshold-ms, with start_ms since the writer\n"
        "  started), unknown_ids, primaries (each change, at_ms), duration_ms, first/last_ack_ms,\n"
        "  end_gap_ms, first/last_error_ms, last_error, stopped_by (duration or signal).\n"
        "  Progress and errors on stderr (an error repeated in a row is counted, not repeated)\n"
        "  unless --quiet. Exit 0 when it ran to the end, 1 on a fatal error (the acked file).\n"
        "verify: reads SELECT id FROM DB.TABLE on the one --target (no read_only check: a replica\n"
        "  works too) and prints 'verify: N acked, M missing' and the first 20 missing ids.\n"
        "  Exit 0 when none is missing, 1 when some are, 3 when the server could not be read.\n"
        "Both: exit 2 on a usage error, or an unreadable password or acked file.\n";

enum {
        OPT_USER = 0x100,
        OPT_PASSWORD_FILE,
        OPT_TARGET,
        OPT_DNS_SERVER,
        OPT_DNS_NAME,
        OPT_DB_PORT,
        OPT_TABLE,
        OPT_ACKED,
        OPT_DURATION_MS,
        OPT_INTERVAL_MS,
        OPT_CONNECT_TIMEOUT_MS,
        OPT_RW_TIMEOUT_MS,
        OPT_GAP_THRESHOLD_MS,
        OPT_REPORT,
        OPT_QUIET,
        OPT_HELP,
};

static const struct option long_options[] = {
        {"user", required_argument, NULL, OPT_USER},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
        {"target", required_argument, NULL, OPT_TARGET},
        {"dns-server", required_argument, NULL, OPT_DNS_SERVER},
        {"dns-name", required_argument, NULL, OPT_DNS_NAME},
        {"db-port", required_argument, NULL, OPT_DB_PORT},
        {"table", required_argument, NULL, OPT_TABLE},
        {"acked", required_argument, NULL, OPT_ACKED},
        {"duration-ms", required_argument, NULL, OPT_DURATION_MS},
        {"interval-ms", required_argument, NULL, OPT_INTERVAL_MS},
        {"connect-timeout-ms", required_argument, NULL, OPT_CONNECT_TIMEOUT_MS},
        {"rw-timeout-ms", required_argument, NULL, OPT_RW_TIMEOUT_MS},
        {"gap-threshold-ms", required_argument, NULL, OPT_GAP_THRESHOLD_MS},
        {"report", required_argument, NULL, OPT_REPORT},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {},
};

/* HOST:PORT or [V6]:PORT; the host is returned without brackets (malloc'd). */
static void parse_host_port(const char *opt, const char *s, char **ret_host, unsigned *ret_port) {
        const char *colon, *host = s;
        size_t host_len;

        if (*s == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':')
                        usage_error("%s: '%s' is not [IPV6]:PORT; give e.g. [::1]:3306", opt, s);
                host = s + 1;
                host_len = (size_t) (close - host);
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon || strchr(s, ':') != colon)
                        usage_error(
                                "%s: '%s' is not HOST:PORT; give e.g. 127.0.0.1:3306 (IPv6 as [::1]:3306)",
                                opt, s);
                host_len = (size_t) (colon - s);
        }
        if (host_len == 0)
                usage_error("%s: '%s' has no host; give e.g. 127.0.0.1:3306", opt, s);
        *ret_port = (unsigned) parse_uint(opt, colon + 1, 1, 65535);
        *ret_host = strndup(host, host_len);
        if (!*ret_host)
                usage_error("out of memory");
}

static void add_targets(options *o, const char *list) {
        char *copy = xstrdup(list), *save = NULL, *item;

        for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                o->targets = xrealloc(o->targets, o->n_targets + 1, sizeof(target));
                parse_host_port(
                        "--target", item, &o->targets[o->n_targets].host, &o->targets[o->n_targets].port);
                o->n_targets++;
        }
        free(copy);
        if (o->n_targets == 0)
                usage_error("--target: '%s' names no server; give HOST:PORT[,HOST:PORT...]", list);
}

static bool ident_ok(const char *s, size_t n) {
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                            (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '$'))
                        return false;
        return true;
}

static void parse_table(options *o, const char *s) {
        const char *dot = strchr(s, '.');

        if (!dot || !ident_ok(s, (size_t) (dot - s)) || !ident_ok(dot + 1, strlen(dot + 1)))
                usage_error(
                        "--table: '%s' is not DB.TABLE of letters, digits, '_' or '$'; give e.g. app.writes",
                        s);
        free(o->db);
        free(o->table);
        o->db = strndup(s, (size_t) (dot - s));
        o->table = xstrdup(dot + 1);
}

/* The password file's content without trailing newlines; exit 2 when it cannot be used. */
static char *read_password(const char *path) {
        char buf[4097];
        size_t n = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                usage_error("--password-file: cannot open %s: %s; give a readable file with the password",
                        path, strerror(errno));
        for (;;) {
                ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        int e = errno;

                        close(fd);
                        usage_error("--password-file: cannot read %s: %s", path, strerror(e));
                }
                if (r == 0)
                        break;
                n += (size_t) r;
                if (n == sizeof(buf) - 1) {
                        close(fd);
                        usage_error("--password-file: %s is longer than 4096 bytes; give a file with only "
                                    "the password",
                                path);
                }
        }
        close(fd);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = '\0';
        if (n == 0)
                usage_error("--password-file: %s is empty; give a file with the password", path);
        return xstrdup(buf);
}

static void parse_options(options *o, const char *cmd, int argc, char **argv) {
        int c;

        *o = (options){.connect_timeout_ms = 200, .rw_timeout_ms = 1000, .gap_threshold_ms = 100};
        opterr = 0;
        optind = 1;
        while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
                switch (c) {
                case OPT_USER:
                        o->user = optarg;
                        break;
                case OPT_PASSWORD_FILE:
                        o->password_file = optarg;
                        break;
                case OPT_TARGET:
                        add_targets(o, optarg);
                        break;
                case OPT_DNS_SERVER:
                        o->dns_server = optarg;
                        free(o->dns_server_host);
                        parse_host_port("--dns-server", optarg, &o->dns_server_host, &o->dns_server_port);
                        break;
                case OPT_DNS_NAME:
                        o->dns_name = optarg;
                        break;
                case OPT_DB_PORT:
                        o->db_port = (unsigned) parse_uint("--db-port", optarg, 1, 65535);
                        break;
                case OPT_TABLE:
                        parse_table(o, optarg);
                        break;
                case OPT_ACKED:
                        o->acked = optarg;
                        break;
                case OPT_DURATION_MS:
                        o->duration_ms = parse_uint("--duration-ms", optarg, 1, UINT64_C(1) << 40);
                        break;
                case OPT_INTERVAL_MS:
                        o->interval_ms = parse_uint("--interval-ms", optarg, 0, 3600000);
                        break;
                case OPT_CONNECT_TIMEOUT_MS:
                        o->connect_timeout_ms = parse_uint("--connect-timeout-ms", optarg, 1, 3600000);
                        break;
                case OPT_RW_TIMEOUT_MS:
                        o->rw_timeout_ms = parse_uint("--rw-timeout-ms", optarg, 1, 3600000);
                        break;
                case OPT_GAP_THRESHOLD_MS:
                        o->gap_threshold_ms = parse_uint("--gap-threshold-ms", optarg, 1, 3600000);
                        break;
                case OPT_REPORT:
                        o->report = optarg;
                        break;
                case OPT_QUIET:
                        o->quiet = true;
                        break;
                case OPT_HELP:
                        fputs(usage_text, stdout);
                        exit(0);
                case ':':
                        usage_error("%s %s: needs a value", cmd, argv[optind - 1]);
                default:
                        usage_error("%s: unknown option '%s'", cmd, argv[optind - 1]);
                }
        }
        if (optind < argc)
                usage_error("%s: unexpected argument '%s'; every setting is an --option VALUE", cmd,
                        argv[optind]);
}

static void require(const char *cmd, const void *v, const char *what) {
        if (!v)
                usage_error("%s: %s is required", cmd, what);
}

static void check_run_options(options *o) {
        bool dns = o->dns_server || o->dns_name || o->db_port;

        require("run", o->user, "--user U");
        require("run", o->password_file, "--password-file F");
        require("run", o->db, "--table DB.TABLE");
        require("run", o->acked, "--acked FILE");
        if (o->n_targets && dns)
                usage_error("run: --target and --dns-server/--dns-name/--db-port exclude each other; "
                            "give one way to find the primary");
        if (!o->n_targets && !dns)
                usage_error("run: no primary to write to; give --target HOST:PORT[,...] or "
                            "--dns-server HOST:PORT --dns-name NAME --db-port P");
        if (dns && (!o->dns_server || !o->dns_name || !o->db_port))
                usage_error("run: DNS mode needs all of --dns-server HOST:PORT, --dns-name NAME and "
                            "--db-port P");
}

static void check_verify_options(options *o) {
        require("verify", o->user, "--user U");
        require("verify", o->password_file, "--password-file F");
        require("verify", o->targets, "--target HOST:PORT");
        require("verify", o->db, "--table DB.TABLE");
        require("verify", o->acked, "--acked FILE");
        if (o->n_targets != 1)
                usage_error("verify: --target names %zu servers; give exactly one HOST:PORT to verify",
                        o->n_targets);
        if (o->dns_server || o->dns_name || o->db_port || o->report || o->duration_ms || o->interval_ms)
                usage_error("verify: --dns-*, --db-port, --report, --duration-ms and --interval-ms are for "
                            "run only");
}

static void options_free(options *o) {
        for (size_t i = 0; i < o->n_targets; i++)
                free(o->targets[i].host);
        free(o->targets);
        free(o->dns_server_host);
        free(o->db);
        free(o->table);
        if (o->password) {
                explicit_bzero(o->password, strlen(o->password));
                free(o->password);
        }
}

/* ---- database calls with millisecond deadlines -------------------------------------------------- */

typedef enum op_kind { OP_CONNECT, OP_QUERY, OP_STORE } op_kind;

typedef struct db_op {
        op_kind kind;
        MYSQL *ret_mysql; /* OP_CONNECT: the handle on success */
        int err;          /* OP_QUERY: 0 on success */
        MYSQL_RES *res;   /* OP_STORE */
} db_op;

typedef struct conn {
        MYSQL *mysql;
        char address[ADDR_MAX];
        bool dirty; /* the session is not idle: shut the socket before mysql_close() */
} conn;

static int op_cont(db_op *o, MYSQL *m, int ready) {
        switch (o->kind) {
        case OP_CONNECT:
                return mysql_real_connect_cont(&o->ret_mysql, m, ready);
        case OP_QUERY:
                return mysql_real_query_cont(&o->err, m, ready);
        case OP_STORE:
                return mysql_store_result_cont(&o->res, m, ready);
        }
        return 0;
}

/* Drives the suspended call O (STATUS: what the connector waits for) to its end within DEADLINE_US.
 * False when the deadline passed: then the call was ended with the socket shut down (or, never
 * seen, could not be ended: *abandon is set and the handle must not be freed). */
static bool op_finish(db_op *o, MYSQL *m, int status, int64_t deadline_us, bool *abandon) {
        while (status != 0) {
                struct pollfd pfd = {.fd = mysql_get_socket(m)};
                int64_t left_ms = (deadline_us - now_us() + 999) / 1000;
                int timeout_ms, r, ready = 0;

                if (left_ms <= 0) {
                        if (pfd.fd >= 0)
                                (void) shutdown(pfd.fd, SHUT_RDWR);
                        for (unsigned i = 0; i < FINISH_TRIES && status != 0; i++)
                                status = op_cont(
                                        o, m, MYSQL_WAIT_TIMEOUT | MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
                        *abandon = status != 0;
                        return false;
                }
                timeout_ms = (int) (left_ms > INT_MAX ? INT_MAX : left_ms);
                if (status & MYSQL_WAIT_TIMEOUT) {
                        unsigned t = mysql_get_timeout_value_ms(m);

                        if (t < (unsigned) timeout_ms)
                                timeout_ms = (int) t;
                }
                pfd.events = (short) ((status & MYSQL_WAIT_READ ? POLLIN : 0) |
                                      (status & MYSQL_WAIT_WRITE ? POLLOUT : 0) |
                                      (status & MYSQL_WAIT_EXCEPT ? POLLPRI : 0));
                r = poll(&pfd, pfd.fd >= 0 ? 1 : 0, timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue; /* a stop signal: finish this call first (bounded by the deadline) */
                if (r < 0)
                        ready = MYSQL_WAIT_TIMEOUT;
                else if (r == 0) {
                        if (now_us() >= deadline_us || !(status & MYSQL_WAIT_TIMEOUT))
                                continue;           /* ours: handled at the top */
                        ready = MYSQL_WAIT_TIMEOUT; /* the connector's own */
                } else {
                        if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
                                ready |= MYSQL_WAIT_READ;
                        if (pfd.revents & (POLLOUT | POLLHUP | POLLERR))
                                ready |= MYSQL_WAIT_WRITE;
                        if (pfd.revents & POLLPRI)
                                ready |= MYSQL_WAIT_EXCEPT;
                }
                status = op_cont(o, m, ready);
        }
        return true;
}

static void conn_close(conn *c) {
        if (!c->mysql)
                return;
        if (c->dirty) {
                int fd = mysql_get_socket(c->mysql);

                if (fd >= 0)
                        (void) shutdown(fd, SHUT_RDWR);
        }
        mysql_close(c->mysql);
        c->mysql = NULL;
        c->dirty = false;
}

/* The handle cannot be freed (its coroutine never ended): drop it. */
static void conn_abandon(conn *c) {
        c->mysql = NULL;
        c->dirty = false;
}

static void set_timeout_error(char *err, const char *what, const char *address, uint64_t ms) {
        snprintf(err, ERR_MAX, "%s %s: no answer within %" PRIu64 " ms", what, address, ms);
}

static int conn_open(conn *c, const options *o, const char *host, unsigned port, char *err) {
        unsigned protocol = MYSQL_PROTOCOL_TCP;
        unsigned backstop_s = (unsigned) (o->connect_timeout_ms / 1000) + 2;
        unsigned rw_backstop_s = (unsigned) (o->rw_timeout_ms / 1000) + 2;
        int64_t deadline = now_us() + (int64_t) o->connect_timeout_ms * 1000;
        bool abandon = false;
        db_op op = {.kind = OP_CONNECT};
        int status;

        *c = (conn){};
        if (strchr(host, ':'))
                snprintf(c->address, sizeof(c->address), "[%s]:%u", host, port);
        else
                snprintf(c->address, sizeof(c->address), "%s:%u", host, port);
        c->mysql = mysql_init(NULL);
        if (!c->mysql || mysql_options(c->mysql, MYSQL_OPT_NONBLOCK, NULL) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &backstop_s) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_READ_TIMEOUT, &rw_backstop_s) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_WRITE_TIMEOUT, &rw_backstop_s) != 0) {
                snprintf(err, ERR_MAX, "connect %s: cannot set up a connection handle", c->address);
                if (c->mysql)
                        mysql_close(c->mysql);
                c->mysql = NULL;
                return -1;
        }
        c->dirty = true;
        status = mysql_real_connect_start(
                &op.ret_mysql, c->mysql, host, o->user, o->password, NULL, port, NULL, 0);
        if (!op_finish(&op, c->mysql, status, deadline, &abandon)) {
                set_timeout_error(err, "connect", c->address, o->connect_timeout_ms);
                if (abandon)
                        conn_abandon(c);
                else
                        conn_close(c);
                return -1;
        }
        if (!op.ret_mysql) {
                snprintf(err, ERR_MAX, "connect %s: %s (%u)", c->address, mysql_error(c->mysql),
                        mysql_errno(c->mysql));
                conn_close(c);
                return -1;
        }
        c->dirty = false;
        return 0;
}

/* Runs SQL; with RET_RES, stores its result set. On failure c->mysql is NULL when the connection
 * was closed (timeout, lost connection), and still open when the server refused the statement. */
static int conn_query(conn *c, const options *o, const char *sql, MYSQL_RES **ret_res, char *err) {
        int64_t deadline = now_us() + (int64_t) o->rw_timeout_ms * 1000;
        bool abandon = false;
        db_op q = {.kind = OP_QUERY, .err = 1}, s = {.kind = OP_STORE};

        c->dirty = true;
        if (!op_finish(&q, c->mysql, mysql_real_query_start(&q.err, c->mysql, sql, strlen(sql)), deadline,
                    &abandon))
                goto timeout;
        if (q.err != 0)
                goto failed;
        if (ret_res) {
                if (!op_finish(&s, c->mysql, mysql_store_result_start(&s.res, c->mysql), deadline, &abandon))
                        goto timeout;
                if (!s.res)
                        goto failed;
                *ret_res = s.res;
        }
        c->dirty = false;
        return 0;

timeout:
        set_timeout_error(err, "query on", c->address, o->rw_timeout_ms);
        if (s.res)
                mysql_free_result(s.res);
        if (abandon)
                conn_abandon(c);
        else
                conn_close(c);
        return -1;

failed:
        snprintf(err, ERR_MAX, "query on %s: %s (%u)", c->address, mysql_error(c->mysql),
                mysql_errno(c->mysql));
        if (mysql_errno(c->mysql) >= 2000 && mysql_errno(c->mysql) < 3000)
                conn_close(c); /* a client error (CR_*): the connection is gone or unusable */
        else
                c->dirty = false; /* the server refused it: the session is idle, still usable */
        return -1;
}

/* The first column of the first row as an integer; -1 on failure (see conn_query()). */
static int conn_query_int(
        conn *c, const options *o, const char *sql, bool *ret_null, long long *ret, char *err) {
        MYSQL_RES *res = NULL;
        MYSQL_ROW row;
        int r = -1;

        if (conn_query(c, o, sql, &res, err) < 0)
                return -1;
        row = mysql_fetch_row(res);
        if (!row || mysql_num_fields(res) < 1)
                snprintf(err, ERR_MAX, "%s on %s: no row", sql, c->address);
        else {
                *ret_null = !row[0];
                *ret = row[0] ? strtoll(row[0], NULL, 10) : 0;
                r = 0;
        }
        mysql_free_result(res);
        return r;
}

/* ---- DNS: the name's addresses, asked of one server directly ------------------------------------ */

static ldns_resolver *dns_resolver_new(const options *o) {
        ldns_resolver *res = ldns_resolver_new();
        ldns_rdf *ns;
        struct timeval tv = {.tv_sec = (time_t) (o->connect_timeout_ms / 1000),
                .tv_usec = (suseconds_t) (o->connect_timeout_ms % 1000) * 1000};
        ldns_status st;

        if (!res)
                return NULL;
        ns = ldns_rdf_new_frm_str(
                strchr(o->dns_server_host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, o->dns_server_host);
        if (!ns) {
                ldns_resolver_deep_free(res);
                usage_error("--dns-server: '%s' is not an IP address; give the DNS server as IP:PORT",
                        o->dns_server);
        }
        st = ldns_resolver_push_nameserver(res, ns);
        ldns_rdf_deep_free(ns);
        if (st != LDNS_STATUS_OK) {
                ldns_resolver_deep_free(res);
                return NULL;
        }
        ldns_resolver_set_port(res, (uint16_t) o->dns_server_port);
        ldns_resolver_set_recursive(res, false);
        ldns_resolver_set_dnssec(res, false);
        ldns_resolver_set_random(res, false);
        ldns_resolver_set_fallback(res, true);
        ldns_resolver_set_retry(res, 1);
        ldns_resolver_set_retrans(res, 1);
        ldns_resolver_set_timeout(res, tv);
        return res;
}

/* Up to DNS_ADDRESSES_MAX addresses (malloc'd strings) of the name: its A records, else its AAAA. */
static int dns_lookup(ldns_resolver *res, const options *o, char **addrs, size_t *n, char *err) {
        static const ldns_rr_type types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
        char fqdn[300];
        ldns_rdf *name;

        *n = 0;
        snprintf(fqdn, sizeof(fqdn), "%s%s", o->dns_name,
                o->dns_name[strlen(o->dns_name) - 1] == '.' ? "" : ".");
        name = ldns_dname_new_frm_str(fqdn);
        if (!name) {
                snprintf(err, ERR_MAX, "DNS: '%s' is not a domain name", o->dns_name);
                return -1;
        }
        for (size_t t = 0; t < 2 && *n == 0; t++) {
                ldns_pkt *pkt = NULL;
                ldns_rr_list *rrs;
                ldns_status st = ldns_resolver_query_status(&pkt, res, name, types[t], LDNS_RR_CLASS_IN, 0);

                if (st != LDNS_STATUS_OK || !pkt) {
                        snprintf(err, ERR_MAX, "DNS %s %s at %s: %s", fqdn, t == 0 ? "A" : "AAAA",
                                o->dns_server, ldns_get_errorstr_by_id(st));
                        ldns_pkt_free(pkt);
                        ldns_rdf_deep_free(name);
                        return -1;
                }
                if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
                        const ldns_lookup_table *rc =
                                ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(pkt));

                        snprintf(err, ERR_MAX, "DNS %s %s at %s: %s", fqdn, t == 0 ? "A" : "AAAA",
                                o->dns_server, rc ? rc->name : "error");
                        ldns_pkt_free(pkt);
                        ldns_rdf_deep_free(name);
                        return -1;
                }
                rrs = ldns_pkt_rr_list_by_type(pkt, types[t], LDNS_SECTION_ANSWER);
                for (size_t i = 0; rrs && i < ldns_rr_list_rr_count(rrs) && *n < DNS_ADDRESSES_MAX; i++) {
                        char *a = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0));

                        if (a)
                                addrs[(*n)++] = a;
                }
                ldns_rr_list_deep_free(rrs);
                ldns_pkt_free(pkt);
        }
        ldns_rdf_deep_free(name);
        if (*n == 0) {
                snprintf(err, ERR_MAX, "DNS %s at %s: no A or AAAA record", fqdn, o->dns_server);
                return -1;
        }
        return 0;
}

/* ---- run ------------------------------------------------------------------------------------ */

typedef struct gap {
        int64_t start_ms; /* since the writer started */
        int64_t gap_ms;
} gap;

typedef struct primary_change {
        int64_t at_ms;
        char address[ADDR_MAX];
} primary_change;

typedef struct run_state {
        const options *o;
        int64_t t0_us;
        ldns_resolver *dns;
        conn conn;
        bool connected;
        bool table_ready;
        int acked_fd;

        uint64_t next_id;
        uint64_t acked, insert_errors, connect_errors, read_only_skips;
        uint64_t first_acked_id, last_acked_id;
        int64_t first_ack_us, last_ack_us; /* 0: none yet */
        int64_t max_gap_us;
        gap *gaps;
        size_t n_gaps;
        uint64_t *unknown_ids;
        size_t n_unknown;
        primary_change *primaries;
        size_t n_primaries;
        int64_t first_error_us, last_error_us;
        char last_error[ERR_MAX];
        char last_printed[ERR_MAX];
        uint64_t repeats;
} run_state;

static int64_t since_start_ms(const run_state *s, int64_t t_us) {
        return (t_us - s->t0_us) / 1000;
}

static void run_error(run_state *s, uint64_t *counter, const char *err) {
        int64_t t = now_us();

        (*counter)++;
        if (!s->first_error_us)
                s->first_error_us = t;
        s->last_error_us = t;
        snprintf(s->last_error, sizeof(s->last_error), "%s", err);
        if (s->o->quiet)
                return;
        if (strcmp(err, s->last_printed) == 0) {
                s->repeats++;
                return;
        }
        if (s->repeats)
                fprintf(stderr, "writer: (the previous error %" PRIu64 " more times)\n", s->repeats);
        s->repeats = 0;
        snprintf(s->last_printed, sizeof(s->last_printed), "%s", err);
        fprintf(stderr, "writer: +%" PRId64 " ms: %s\n", since_start_ms(s, t), err);
}

/* Creates the database and table if missing and starts the ids after the table's largest. */
static int run_setup_table(run_state *s, char *err) {
        const options *o = s->o;
        char sql[512];
        bool null;
        long long max_id;

        /* An account with only database-level grants may not run CREATE DATABASE even for one that
         * exists: its failure is not an error here; a missing database makes CREATE TABLE fail. */
        snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS `%s`", o->db);
        if (conn_query(&s->conn, o, sql, NULL, err) < 0 && !s->conn.mysql)
                return -1; /* the connection is gone, not a refusal */
        snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS `%s`.`%s` (id BIGINT PRIMARY KEY, at BIGINT)",
                o->db, o->table);
        if (conn_query(&s->conn, o, sql, NULL, err) < 0)
                return -1;
        snprintf(sql, sizeof(sql), "SELECT MAX(id) FROM `%s`.`%s`", o->db, o->table);
        if (conn_query_int(&s->conn, o, sql, &null, &max_id, err) < 0)
                return -1;
        if (!null && max_id >= 0 && (uint64_t) max_id >= s->next_id)
                s->next_id = (uint64_t) max_id + 1;
        s->table_ready = true;
        return 0;
}

/* Connects to HOST:PORT and keeps the connection when it is writable (@@read_only = 0). */
static bool run_try_server(run_state *s, const char *host, unsigned port) {
        char err[ERR_MAX];
        bool null;
        long long ro;

        if (conn_open(&s->conn, s->o, host, port, err) < 0) {
                run_error(s, &s->connect_errors, err);
                return false;
        }
        if (conn_query_int(&s->conn, s->o, "SELECT @@read_only", &null, &ro, err) < 0) {
                conn_close(&s->conn);
                run_error(s, &s->connect_errors, err);
                return false;
        }
        if (null || ro != 0) {
                s->read_only_skips++;
                conn_close(&s->conn);
                return false;
        }
        if (!s->table_ready && run_setup_table(s, err) < 0) {
                conn_close(&s->conn);
                run_error(s, &s->connect_errors, err);
                return false;
        }
        return true;
}

/* One round: the first writable server of the targets, or of the DNS name's addresses. */
static bool run_find_primary(run_state *s) {
        const options *o = s->o;
        bool found = false;

        if (o->n_targets) {
                for (size_t i = 0; i < o->n_targets && !found && !stop_signal; i++)
                        found = run_try_server(s, o->targets[i].host, o->targets[i].port);
        } else {
                char *addrs[DNS_ADDRESSES_MAX], err[ERR_MAX];
                size_t n = 0;

                if (dns_lookup(s->dns, o, addrs, &n, err) < 0)
                        run_error(s, &s->connect_errors, err);
                for (size_t i = 0; i < n; i++) {
                        if (!found && !stop_signal)
                                found = run_try_server(s, addrs[i], o->db_port);
                        free(addrs[i]);
                }
        }
        if (!found)
                return false;
        if (s->n_primaries == 0 || strcmp(s->primaries[s->n_primaries - 1].address, s->conn.address) != 0) {
                primary_change *p;

                s->primaries = xrealloc(s->primaries, s->n_primaries + 1, sizeof(primary_change));
                p = &s->primaries[s->n_primaries++];
                p->at_ms = since_start_ms(s, now_us());
                snprintf(p->address, sizeof(p->address), "%s", s->conn.address);
                if (!o->quiet)
                        fprintf(stderr,
                                "writer: +%" PRId64 " ms: writing to %s (read_only=0), next id %" PRIu64
                                "\n",
                                p->at_ms, p->address, s->next_id);
        }
        if (s->repeats && !o->quiet)
                fprintf(stderr, "writer: (the previous error %" PRIu64 " more times)\n", s->repeats);
        s->repeats = 0;
        s->last_printed[0] = '\0';
        return true;
}

static void run_acked(run_state *s, uint64_t id) {
        int64_t t = now_us();
        char line[32];
        int n = snprintf(line, sizeof(line), "%" PRIu64 "\n", id);
        int r = write_all(s->acked_fd, line, (size_t) n);

        if (r < 0) {
                fprintf(stderr, "writer: cannot append to %s: %s; the writer stops\n", s->o->acked,
                        strerror(-r));
                exit(1);
        }
        if (s->last_ack_us) {
                int64_t g = t - s->last_ack_us;

                if (g > s->max_gap_us)
                        s->max_gap_us = g;
                if (g > (int64_t) s->o->gap_threshold_ms * 1000) {
                        s->gaps = xrealloc(s->gaps, s->n_gaps + 1, sizeof(gap));
                        s->gaps[s->n_gaps++] = (gap){since_start_ms(s, s->last_ack_us), (g + 500) / 1000};
                }
        } else {
                s->first_ack_us = t;
                s->first_acked_id = id;
        }
        s->last_ack_us = t;
        s->last_acked_id = id;
        s->acked++;
}

static void json_string(FILE *f, const char *str) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) str; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void json_ms_or_null(FILE *f, const char *key, const run_state *s, int64_t t_us, bool last) {
        if (t_us)
                fprintf(f, "  \"%s\": %" PRId64 "%s\n", key, since_start_ms(s, t_us), last ? "" : ",");
        else
                fprintf(f, "  \"%s\": null%s\n", key, last ? "" : ",");
}

static int run_write_report(const run_state *s, int64_t end_us, const char *stopped_by) {
        const options *o = s->o;
        char tmp[PATH_MAX];
        FILE *f;
        int r;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", o->report, (long) getpid()) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fprintf(f, "{\n");
        fprintf(f, "  \"acked\": %" PRIu64 ",\n", s->acked);
        fprintf(f, "  \"errors\": %" PRIu64 ",\n", s->insert_errors + s->connect_errors);
        fprintf(f, "  \"insert_errors\": %" PRIu64 ",\n", s->insert_errors);
        fprintf(f, "  \"connect_errors\": %" PRIu64 ",\n", s->connect_errors);
        fprintf(f, "  \"read_only_skips\": %" PRIu64 ",\n", s->read_only_skips);
        if (s->acked)
                fprintf(f, "  \"first_acked_id\": %" PRIu64 ",\n  \"last_acked_id\": %" PRIu64 ",\n",
                        s->first_acked_id, s->last_acked_id);
        else
                fprintf(f, "  \"first_acked_id\": null,\n  \"last_acked_id\": null,\n");
        fprintf(f, "  \"max_gap_ms\": %" PRId64 ",\n", (s->max_gap_us + 500) / 1000);
        fprintf(f, "  \"gap_threshold_ms\": %" PRIu64 ",\n", o->gap_threshold_ms);
        fprintf(f, "  \"gaps\": [");
        for (size_t i = 0; i < s->n_gaps; i++)
                fprintf(f, "%s{\"start_ms\": %" PRId64 ", \"gap_ms\": %" PRId64 "}", i ? ", " : "",
                        s->gaps[i].start_ms, s->gaps[i].gap_ms);
        fprintf(f, "],\n");
        fprintf(f, "  \"unknown_ids\": [");
        for (size_t i = 0; i < s->n_unknown; i++)
                fprintf(f, "%s%" PRIu64, i ? ", " : "", s->unknown_ids[i]);
        fprintf(f, "],\n");
        fprintf(f, "  \"primaries\": [");
        for (size_t i = 0; i < s->n_primaries; i++) {
                fprintf(f, "%s{\"at_ms\": %" PRId64 ", \"address\": ", i ? ", " : "", s->primaries[i].at_ms);
                json_string(f, s->primaries[i].address);
                fputc('}', f);
        }
        fprintf(f, "],\n");
        fprintf(f, "  \"duration_ms\": %" PRId64 ",\n", since_start_ms(s, end_us));
        json_ms_or_null(f, "first_ack_ms", s, s->first_ack_us, false);
        json_ms_or_null(f, "last_ack_ms", s, s->last_ack_us, false);
        fprintf(f, "  \"end_gap_ms\": %" PRId64 ",\n",
                s->last_ack_us ? (end_us - s->last_ack_us + 500) / 1000 : 0);
        json_ms_or_null(f, "first_error_ms", s, s->first_error_us, false);
        json_ms_or_null(f, "last_error_ms", s, s->last_error_us, false);
        fprintf(f, "  \"last_error\": ");
        if (s->last_error[0])
                json_string(f, s->last_error);
        else
                fputs("null", f);
        fprintf(f, ",\n  \"stopped_by\": \"%s\"\n}\n", stopped_by);
        r = ferror(f) ? -EIO : 0;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, o->report) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

static int cmd_run(options *o) {
        run_state s = {.o = o, .next_id = 1};
        struct sigaction sa = {.sa_handler = on_signal};
        int64_t end_us = 0;
        const char *stopped_by = "signal";
        int r;

        check_run_options(o);
        o->password = read_password(o->password_file);
        s.acked_fd = open(o->acked, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (s.acked_fd < 0)
                usage_error(
                        "--acked: cannot create %s: %s; give a writable path", o->acked, strerror(errno));
        if (o->dns_server) {
                s.dns = dns_resolver_new(o);
                if (!s.dns) {
                        fprintf(stderr, "writer: cannot set up a DNS resolver for %s\n", o->dns_server);
                        return 1;
                }
        }
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        s.t0_us = now_us();
        if (o->duration_ms)
                end_us = s.t0_us + (int64_t) o->duration_ms * 1000;

        while (!stop_signal) {
                char sql[512], err[ERR_MAX];
                uint64_t id;

                if (end_us && now_us() >= end_us) {
                        stopped_by = "duration";
                        break;
                }
                if (!s.connected) {
                        s.connected = run_find_primary(&s);
                        if (!s.connected) {
                                sleep_ms(RETRY_SLEEP_MS);
                                continue;
                        }
                }
                id = s.next_id++;
                snprintf(sql, sizeof(sql),
                        "INSERT INTO `%s`.`%s` (id, at) VALUES (%" PRIu64 ", %" PRId64 ")", o->db, o->table,
                        id, wall_ms());
                if (conn_query(&s.conn, o, sql, NULL, err) < 0) {
                        /* id is unknown now, and never sent again; find the primary afresh */
                        conn_close(&s.conn);
                        s.connected = false;
                        s.unknown_ids = xrealloc(s.unknown_ids, s.n_unknown + 1, sizeof(uint64_t));
                        s.unknown_ids[s.n_unknown++] = id;
                        run_error(&s, &s.insert_errors, err);
                        continue;
                }
                run_acked(&s, id);
                if (o->interval_ms)
                        sleep_ms((int64_t) o->interval_ms);
        }
        if (stop_signal)
                stopped_by = "signal";
        conn_close(&s.conn);
        if (s.repeats && !o->quiet)
                fprintf(stderr, "writer: (the previous error %" PRIu64 " more times)\n", s.repeats);

        int64_t t_end = now_us();
        printf("writer: %" PRIu64 " acked, %" PRIu64 " errors, longest write gap %" PRId64 " ms\n", s.acked,
                s.insert_errors + s.connect_errors, (s.max_gap_us + 500) / 1000);
        fflush(stdout);
        r = 0;
        if (o->report) {
                int k = run_write_report(&s, t_end, stopped_by);

                if (k < 0) {
                        fprintf(stderr, "writer: cannot write the report %s: %s\n", o->report, strerror(-k));
                        r = 1;
                }
        }
        if (close(s.acked_fd) < 0) {
                fprintf(stderr, "writer: cannot close %s: %s\n", o->acked, strerror(errno));
                r = 1;
        }
        if (s.dns)
                ldns_resolver_deep_free(s.dns);
        free(s.gaps);
        free(s.unknown_ids);
        free(s.primaries);
        return r;
}

/* ---- verify --------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* The acked file's ids, sorted and without duplicates; exit 2 when it cannot be read. */
static uint64_t *read_acked(const char *path, size_t *ret_n) {
        FILE *f = fopen(path, "re");
        uint64_t *ids = NULL;
        size_t n = 0, cap = 0, lineno = 0, w = 0;
        char *line = NULL;
        size_t len = 0;
        ssize_t got;

        if (!f)
                usage_error("--acked: cannot open %s: %s; give the file a 'writer run --acked' wrote", path,
                        strerror(errno));
        while ((got = getline(&line, &len, f)) >= 0) {
                char *end;
                unsigned long long v;

                lineno++;
                while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                        line[--got] = '\0';
                if (got == 0)
                        continue;
                errno = 0;
                v = strtoull(line, &end, 10);
                if (*end || errno || line[0] < '0' || line[0] > '9') {
                        fclose(f);
                        usage_error("--acked: %s:%zu: '%.40s' is not an id; give the file a 'writer run "
                                    "--acked' wrote",
                                path, lineno, line);
                }
                if (n == cap) {
                        cap = cap ? 2 * cap : 1024;
                        ids = xrealloc(ids, cap, sizeof(uint64_t));
                }
                ids[n++] = v;
        }
        free(line);
        fclose(f);
        if (n)
                qsort(ids, n, sizeof(uint64_t), cmp_u64);
        for (size_t i = 0; i < n; i++)
                if (w == 0 || ids[i] != ids[w - 1])
                        ids[w++] = ids[i];
        *ret_n = w;
        return ids;
}

static int cmd_verify(options *o) {
        conn c;
        char sql[512], err[ERR_MAX];
        MYSQL_RES *res = NULL;
        MYSQL_ROW row;
        uint64_t *acked, *have = NULL, *missing = NULL;
        size_t n_acked, n_have = 0, n_missing = 0, n_extra;
        int r;

        check_verify_options(o);
        o->password = read_password(o->password_file);
        acked = read_acked(o->acked, &n_acked);
        signal(SIGPIPE, SIG_IGN);

        snprintf(sql, sizeof(sql), "SELECT id FROM `%s`.`%s`", o->db, o->table);
        if (conn_open(&c, o, o->targets[0].host, o->targets[0].port, err) < 0 ||
                conn_query(&c, o, sql, &res, err) < 0) {
                fprintf(stderr, "writer: verify: %s; cannot verify\n", err);
                conn_close(&c);
                free(acked);
                return EXIT_UNVERIFIED;
        }
        have = xrealloc(NULL, mysql_num_rows(res), sizeof(uint64_t));
        while ((row = mysql_fetch_row(res)))
                if (row[0])
                        have[n_have++] = strtoull(row[0], NULL, 10);
        mysql_free_result(res);
        conn_close(&c);
        if (n_have)
                qsort(have, n_have, sizeof(uint64_t), cmp_u64);

        missing = xrealloc(NULL, n_acked, sizeof(uint64_t));
        for (size_t i = 0; i < n_acked; i++)
                if (!n_have || !bsearch(&acked[i], have, n_have, sizeof(uint64_t), cmp_u64))
                        missing[n_missing++] = acked[i];
        n_extra = n_have - (n_acked - n_missing);

        printf("verify: %zu acked, %zu missing\n", n_acked, n_missing);
        if (n_missing) {
                printf("verify: missing ids:");
                for (size_t i = 0; i < n_missing && i < VERIFY_SHOW_MISSING; i++)
                        printf(" %" PRIu64, missing[i]);
                printf("%s\n", n_missing > VERIFY_SHOW_MISSING ? " ..." : "");
        }
        printf("verify: %s has %zu rows in %s.%s, %zu not in the acked file (unknown ids that committed, or "
               "older rows)\n",
                c.address, n_have, o->db, o->table, n_extra);
        r = n_missing ? 1 : 0;
        free(acked);
        free(have);
        free(missing);
        return r;
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
        options o;
        const char *cmd = argc > 1 ? argv[1] : "";
        int r;

        if (argc < 2)
                usage_error("no command; give 'run' or 'verify'");
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
                fputs(usage_text, stdout);
                return 0;
        }
        if (strcmp(cmd, "run") != 0 && strcmp(cmd, "verify") != 0)
                usage_error("unknown command '%s'; give 'run' or 'verify'", cmd);
        parse_options(&o, cmd, argc - 1, argv + 1);
        if (mysql_library_init(0, NULL, NULL) != 0) {
                fprintf(stderr, "writer: cannot initialise the MariaDB client library\n");
                return 1;
        }
        r = strcmp(cmd, "run") == 0 ? cmd_run(&o) : cmd_verify(&o);
        options_free(&o);
        mysql_library_end();
        return r;
}
