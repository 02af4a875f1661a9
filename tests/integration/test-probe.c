/* Integration test of lib/io/probe.c and lib/io/db.c against real mariadbd servers, all probed from
 * one sd-event loop: topology and GTIDs as the servers report them, a stopped server, a closed
 * port, a listener that never speaks and an unroutable address not delaying the other servers,
 * max_connections saturation, a restart, name resolution, errors and the result API.
 *
 * Run by test-probe.sh, which brings up a 3-server semi-sync cluster with the shared harness
 * (tests/harness/mdb-harness.sh) and exports its cluster.env (MDB_*) and MDB_CLUSTER_CMD. Prints
 * "ok N - ..." per check; exit 0 all passed, 1 a check failed, 77 started without a cluster. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "db.h"
#include "gtid.h"
#include "macro.h"
#include "probe.h"
#include "server-status.h"

#define MSEC ((uint64_t) USEC_PER_MSEC)

extern char **environ;

#include "tap.h"

static const char *env_i(const char *what, int i) {
        char name[64];

        snprintf(name, sizeof(name), "MDB_%s_%d", what, i);
        return env(name);
}

static char *read_password(const char *path) {
        char buf[256];
        FILE *f = fopen(path, "re");
        size_t n;

        REQUIRE(f != NULL, "password file %s is readable", path);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = 0;
        return strdup(buf);
}

/* Runs MDB_CLUSTER_CMD with the given arguments (e.g. "sql", MDB_DIR, "1", "SELECT 1"), without a
 * shell, none of our descriptors inherited; true when it exits 0. Blocks: only call it between
 * loop runs. */
static bool cluster(const char *verb, ...) {
        const char *argv[16] = {env("MDB_CLUSTER_CMD"), verb, env("MDB_DIR")};
        posix_spawn_file_actions_t fa;
        size_t n = 3;
        va_list ap;
        pid_t pid;
        int status;

        va_start(ap, verb);
        while (n < ELEMENTSOF(argv) - 1 && (argv[n] = va_arg(ap, const char *)))
                n++;
        va_end(ap);
        argv[n] = NULL;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *) argv, environ) != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return false;
        }
        posix_spawn_file_actions_destroy(&fa);
        return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A loopback TCP socket: listening (accepts connections into the backlog, never answers) or just
 * bound (connections are refused; holding it keeps the port from being reused). */
static int loopback_socket(bool do_listen, uint16_t *ret_port) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 &&
                        (!do_listen || listen(fd, 64) == 0) &&
                        getsockname(fd, (struct sockaddr *) &a, &len) == 0,
                "loopback socket (%s)", do_listen ? "listening, never accepting" : "bound, not listening");
        *ret_port = ntohs(a.sin_port);
        return fd;
}

/* A loopback listener that drops every new SYN, as a firewall that drops packets would: its
 * accept queue (backlog 0: room for one) is filled by connections nobody accepts, and Linux drops
 * SYNs to a listener whose accept queue is full (tcp_abort_on_overflow = 0). The filler sockets are
 * returned in fillers[2] so the caller keeps them open. Loopback only: no packet leaves the host. */
static int full_listener(uint16_t *ret_port, int fillers[2]) {
        struct sockaddr_in a;
        int fd = loopback_socket(false, ret_port);

        REQUIRE(listen(fd, 0) == 0, "full listener: listen(0)");
        a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                .sin_port = htons(*ret_port)};
        for (int i = 0; i < 2; i++) {
                fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                REQUIRE(fillers[i] >= 0, "full listener: filler socket");
                (void) connect(fillers[i], (struct sockaddr *) &a, sizeof(a));
        }
        usleep(100 * 1000); /* let the handshakes that fit complete and fill the queue */
        return fd;
}

/* ---- a resolver that hangs ------------------------------------------------------------------- */

/* The name whose lookup blocks for HANG_USEC (then it is 127.0.0.1), as a stuck NSS module or DNS
 * server would: this getaddrinfo() interposes on libc's for the whole test program, so db.c's
 * resolver thread calls it. It counts the lookups of that name, and how many ran at once. */
#define HANG_NAME "hang.resolver.test"
#define HANG_USEC (1500 * MSEC)
static int hang_calls, hang_running, hang_running_max; /* __atomic */

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
        int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **) =
                (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **)) dlsym(
                        RTLD_NEXT, "getaddrinfo");
        int running, max;

        /* AI_NUMERICHOST (db.c's IP-literal check) never looks anything up, in glibc or here. */
        if (!node || !streq(node, HANG_NAME) || (hints && (hints->ai_flags & AI_NUMERICHOST)))
                return real(node, service, hints, res);
        __atomic_add_fetch(&hang_calls, 1, __ATOMIC_SEQ_CST);
        running = __atomic_add_fetch(&hang_running, 1, __ATOMIC_SEQ_CST);
        max = __atomic_load_n(&hang_running_max, __ATOMIC_SEQ_CST);
        while (running > max && !__atomic_compare_exchange_n(&hang_running_max, &max, running, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                ;
        nanosleep(&(struct timespec){.tv_sec = HANG_USEC / USEC_PER_SEC,
                          .tv_nsec = (long) (HANG_USEC % USEC_PER_SEC) * 1000},
                NULL);
        __atomic_sub_fetch(&hang_running, 1, __ATOMIC_SEQ_CST);
        return real("127.0.0.1", service, hints, res);
}

/* ---- targets: one probe and what its rounds reported ---------------------------------------- */

#define ROUNDS_MAX 64

typedef struct round_record {
        uint64_t started, finished;
        probe_error_class error_class;
        char message[160];
} round_record;

typedef struct target {
        const char *name;
        probe *probe;
        server_status last;
        unsigned n_rounds; /* since target_reset() */
        round_record rounds[ROUNDS_MAX];
} target;

static sd_event *event;
static char *sentinel_password;
static char *app_password;

static void on_round(probe *p, const server_status *s, void *userdata) {
        target *t = userdata;

        server_status_done(&t->last);
        REQUIRE(server_status_copy(s, &t->last) >= 0, "server_status_copy()");
        if (t->n_rounds < ROUNDS_MAX) {
                round_record *r = &t->rounds[t->n_rounds];
                *r = (round_record){s->started_usec, s->finished_usec, s->error_class, ""};
                snprintf(r->message, sizeof(r->message), "%s", s->error_message ?: "");
        }
        t->n_rounds++;
}

static void target_init(target *t, const char *name, const char *host, uint16_t port, const char *user,
        const char *password, uint64_t timeout_usec) {
        int r;

        *t = (target){.name = name};
        r = probe_new(event,
                &(probe_params){.host = host,
                        .port = port,
                        .user = user,
                        .password = password,
                        .timeout_usec = timeout_usec},
                &t->probe);
        REQUIRE(r >= 0, "probe_new(%s %s:%u)", name, host, port);
}

static void target_server(target *t, const char *name, int i, uint64_t timeout_usec) {
        target_init(t, name, env_i("HOST", i), (uint16_t) atoi(env_i("PORT", i)), env("MDB_SENTINEL_USER"),
                sentinel_password, timeout_usec);
}

static void target_done(target *t) {
        t->probe = probe_free(t->probe);
        server_status_done(&t->last);
}

static void target_reset(target *t) {
        t->n_rounds = 0;
        server_status_done(&t->last);
}

static void run_for(uint64_t usec) {
        uint64_t end = now_usec() + usec, now;

        while ((now = now_usec()) < end)
                REQUIRE(sd_event_run(event, end - now) >= 0, "sd_event_run()");
}

/* Runs one round of every target at once; false when one did not report within 10 s. */
static bool probe_all(target **ts, size_t n) {
        uint64_t end = now_usec() + 10 * USEC_PER_SEC;
        bool done;

        for (size_t i = 0; i < n; i++) {
                target_reset(ts[i]);
                REQUIRE(probe_run(ts[i]->probe, on_round, ts[i]) >= 0, "probe_run(%s)", ts[i]->name);
        }
        do {
                done = true;
                for (size_t i = 0; i < n; i++)
                        done = done && ts[i]->n_rounds > 0;
                if (done)
                        return true;
                REQUIRE(sd_event_run(event, 100 * MSEC) >= 0, "sd_event_run()");
        } while (now_usec() < end);
        return false;
}

static bool probe_one(target *t) {
        return probe_all(&t, 1);
}

static const char *cls(probe_error_class c) {
        return probe_error_class_to_string(c) ?: "?";
}

static char *gtid_str(const gtid_list *l) {
        static char buf[4][256];
        static unsigned k;
        char *s = NULL, *b = buf[k++ % 4];

        snprintf(b, 256, "%s", gtid_list_format(l, &s) >= 0 ? s : "?");
        free(s);
        return b;
}

/* ---- the tests -------------------------------------------------------------------------------- */

static void test_classify(void) {
        static const struct {
                uint32_t number;
                const char *message;
                probe_error_class expected;
        } table[] = {
                {0, NULL, PROBE_OK},
                {1040, "Too many connections", PROBE_SERVER_ERROR},
                {1203, "User sentinel already has more than 'max_user_connections'", PROBE_SERVER_ERROR},
                {1205, "Lock wait timeout exceeded", PROBE_SERVER_ERROR},
                {1053, "Server shutdown in progress", PROBE_SERVER_ERROR},
                {1045, "Access denied for user", PROBE_AUTH},
                {1227, "Access denied; you need (at least one of) the SLAVE MONITOR privilege(s)",
                        PROBE_AUTH},
                {2003, "Can't connect to server on '127.0.0.1' (111)", PROBE_REFUSED},
                {2003, "Can't connect to server on '10.0.0.1' (113)", PROBE_REFUSED},
                {2003, "Can't connect to server on '10.0.0.1' (110)", PROBE_NO_ANSWER},
                {2005, "Unknown server host 'x'", PROBE_RESOLVE},
                {2006, "Server has gone away", PROBE_LOST},
                {2013, "Lost connection to server during query", PROBE_LOST},
                {2013,
                        "Lost connection to server at 'handshake: reading initial communication packet', "
                        "system error: 110",
                        PROBE_NO_ANSWER},
                {2026, "SSL connection error", PROBE_TLS},
                {2027, "Malformed packet", PROBE_PROTOCOL},
                {2008, "Client ran out of memory", PROBE_INTERNAL},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                probe_error_class c = db_error_classify(table[i].number, table[i].message);
                check(c == table[i].expected, "db_error_classify(%u, \"%s\") = %s (got %s)", table[i].number,
                        table[i].message ?: "", cls(table[i].expected), cls(c));
        }
        check(probe_error_class_is_alive(PROBE_SERVER_ERROR) && probe_error_class_is_alive(PROBE_AUTH) &&
                        !probe_error_class_is_alive(PROBE_NO_ANSWER) &&
                        !probe_error_class_is_alive(PROBE_LOST),
                "an answer with an error means alive; no answer or a broken connection does not");
}

static void test_server_status(void) {
        const char *yes[] = {"1", "ON", "Yes", "true"}, *no[] = {"0", "off", "NO", "False"};
        bool b = false, ok = true;
        server_status s = {}, copy;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                ok = ok && server_status_parse_bool(yes[i], &b) == 0 && b;
                ok = ok && server_status_parse_bool(no[i], &b) == 0 && !b;
        }
        check(ok && server_status_parse_bool("2", &b) == -EINVAL &&
                        server_status_parse_bool(NULL, &b) == -EINVAL,
                "server_status_parse_bool: 1/ON/Yes/true, 0/off/NO/False; others refused");
        check(replica_io_state_from_string("Connecting") == REPLICA_IO_CONNECTING &&
                        replica_io_state_from_string("Yes") == REPLICA_IO_YES &&
                        replica_io_state_from_string("Preparing") == _REPLICA_IO_STATE_INVALID &&
                        replica_using_gtid_from_string("Slave_Pos") == REPLICA_USING_GTID_SLAVE_POS &&
                        replica_using_gtid_from_string("Current_Pos") == REPLICA_USING_GTID_CURRENT_POS,
                "Slave_IO_Running and Using_Gtid spellings");
        ok = true;
        for (int c = 0; c < _PROBE_ERROR_CLASS_MAX; c++)
                ok = ok &&
                     probe_error_class_from_string(probe_error_class_to_string(c)) == (probe_error_class) c;
        check(ok && probe_error_class_from_string("nope") == _PROBE_ERROR_CLASS_INVALID &&
                        !probe_error_class_to_string(_PROBE_ERROR_CLASS_MAX),
                "probe_error_class names round-trip");

        s.replication = calloc(1, sizeof(server_replication));
        s.n_replication = 1;
        REQUIRE(s.replication && (s.replication[0].master_host = strdup("db-a")) &&
                        (s.replication[0].connection_name = strdup("")) &&
                        gtid_list_parse("0-1-5,1-2-3", &s.gtid_binlog_pos) >= 0 &&
                        server_status_set_error(&s, PROBE_SERVER_ERROR, 1040, "Too many connections") >= 0 &&
                        server_status_copy(&s, &copy) >= 0,
                "server_status fixture");
        server_status_done(&s);
        check(copy.reachable && copy.error_number == 1040 &&
                        streq_ptr(copy.error_message, "Too many connections") &&
                        copy.gtid_binlog_pos.n == 2 && server_status_find_replication(&copy, "") &&
                        streq_ptr(server_status_find_replication(&copy, "")->master_host, "db-a") &&
                        !server_status_find_replication(&copy, "other"),
                "server_status_copy() is deep (the original is gone); set_error sets reachable for "
                "SERVER_ERROR");
        server_status_done(&copy);
        server_status_done(&copy);
        check(copy.n_replication == 0 && !copy.error_message, "server_status_done() is idempotent");
}

static void check_replica(const target *t, const char *primary_host, uint16_t primary_port) {
        const server_status *s = &t->last;
        const server_replication *r = s->n_replication == 1 ? &s->replication[0] : NULL;

        check(s->error_class == PROBE_OK && s->reachable, "%s: probe OK (%s: %s)", t->name,
                cls(s->error_class), s->error_message ?: "");
        check(s->have_variables && s->read_only, "%s: read_only=1", t->name);
        check(s->have_replication && r, "%s: one replication connection (got %zu)", t->name,
                s->n_replication);
        if (!r)
                return;
        check(streq_ptr(r->connection_name, ""), "%s: the default connection (name '')", t->name);
        check(streq_ptr(r->master_host, primary_host) && r->master_port == primary_port,
                "%s: master is the primary %s:%u (got %s:%u)", t->name, primary_host, primary_port,
                r->master_host ?: "(null)", r->master_port);
        check(r->master_server_id == 1, "%s: Master_Server_Id 1 (got %u)", t->name, r->master_server_id);
        check(r->io_running == REPLICA_IO_YES && r->sql_running,
                "%s: Slave_IO_Running=Yes, Slave_SQL_Running=Yes", t->name);
        check(r->using_gtid == REPLICA_USING_GTID_SLAVE_POS, "%s: Using_Gtid=Slave_Pos", t->name);
        check(r->seconds_behind_master_known && r->seconds_behind_master < 5,
                "%s: Seconds_Behind_Master known, < 5", t->name);
        check(r->last_io_errno == 0 && r->last_sql_errno == 0 && streq_ptr(r->last_io_error, "") &&
                        streq_ptr(r->last_sql_error, ""),
                "%s: no Last_IO/SQL errors", t->name);
        check(s->semi_sync_slave_enabled && !s->semi_sync_master_enabled,
                "%s: semi-sync slave side on, master off", t->name);
}

static void test_topology(target *srv, const char *primary_host, uint16_t primary_port) {
        target *all[] = {&srv[0], &srv[1], &srv[2]};
        const server_status *p = &srv[0].last;

        REQUIRE(probe_all(all, 3), "first round of all three servers reported");
        check(p->error_class == PROBE_OK && p->reachable && p->error_message == NULL,
                "primary: probe OK (%s: %s)", cls(p->error_class), p->error_message ?: "");
        check(p->connected && p->connect_usec > 0, "primary: the first round connected (%" PRIu64 " us)",
                p->connect_usec);
        check(p->latency_usec > 0 && p->finished_usec >= p->started_usec,
                "primary: latency %" PRIu64 " us, round %" PRIu64 " us", p->latency_usec,
                p->finished_usec - p->started_usec);
        check(p->have_variables && !p->read_only, "primary: read_only=0");
        check(p->server_id == 1, "primary: server_id 1 (got %u)", p->server_id);
        check(p->version && strstr(p->version, "MariaDB"), "primary: version '%s'", p->version ?: "(null)");
        check(p->log_bin && p->log_slave_updates, "primary: log_bin=1, log_slave_updates=1");
        check(p->have_replication && p->n_replication == 0, "primary: no replication connection");
        check(p->semi_sync_master_enabled && !p->semi_sync_slave_enabled,
                "primary: semi-sync master side on");
        check(p->have_semi_sync_status && p->semi_sync_master_status,
                "primary: Rpl_semi_sync_master_status=ON");
        check(p->semi_sync_master_clients == 2, "primary: Rpl_semi_sync_master_clients=2 (got %" PRIu64 ")",
                p->semi_sync_master_clients);
        for (int i = 1; i < 3; i++) {
                check_replica(&srv[i], primary_host, primary_port);
                check(srv[i].last.server_id == (uint32_t) i + 1, "%s: server_id %d", srv[i].name, i + 1);
                check(srv[i].last.have_semi_sync_status && !srv[i].last.semi_sync_master_status,
                        "%s: Rpl_semi_sync_master_status=OFF", srv[i].name);
        }
}

static void test_gtids(target *srv) {
        target *all[] = {&srv[0], &srv[1], &srv[2]};
        const server_status *p = &srv[0].last;

        REQUIRE(cluster("sql", "1", "CREATE TABLE app.probe_t (id INT PRIMARY KEY) ENGINE=InnoDB", NULL) &&
                        cluster("sql", "1", "INSERT INTO app.probe_t VALUES (1), (2), (3)", NULL) &&
                        cluster("wait-replicated", NULL),
                "two transactions written on the primary and replicated");
        REQUIRE(probe_all(all, 3), "second round of all three servers reported");
        check(p->error_class == PROBE_OK && !p->connected,
                "primary: the second round reused the connection");
        check(p->gtid_binlog_pos.n == 1 && p->gtid_binlog_pos.items[0].domain_id == 0 &&
                        p->gtid_binlog_pos.items[0].server_id == 1 &&
                        p->gtid_binlog_pos.items[0].seq_no >= 2,
                "primary: gtid_binlog_pos parsed: %s", gtid_str(&p->gtid_binlog_pos));
        check(gtid_list_compare(&p->gtid_current_pos, &p->gtid_binlog_pos) == GTID_ORDER_EQUAL,
                "primary: gtid_current_pos = gtid_binlog_pos");
        for (int i = 1; i < 3; i++) {
                const server_status *s = &srv[i].last;
                check(s->error_class == PROBE_OK, "%s: probe OK", srv[i].name);
                check(gtid_list_compare(&s->gtid_current_pos, &p->gtid_binlog_pos) == GTID_ORDER_EQUAL &&
                                gtid_list_compare(&s->gtid_slave_pos, &p->gtid_binlog_pos) ==
                                        GTID_ORDER_EQUAL &&
                                gtid_list_compare(&s->gtid_binlog_pos, &p->gtid_binlog_pos) ==
                                        GTID_ORDER_EQUAL,
                        "%s: gtid_current_pos %s, gtid_slave_pos %s, gtid_binlog_pos %s equal the primary's "
                        "%s",
                        srv[i].name, gtid_str(&s->gtid_current_pos), gtid_str(&s->gtid_slave_pos),
                        gtid_str(&s->gtid_binlog_pos), gtid_str(&p->gtid_binlog_pos));
                check(s->n_replication == 1 && gtid_list_compare(&s->replication[0].gtid_io_pos,
                                                       &p->gtid_binlog_pos) == GTID_ORDER_EQUAL,
                        "%s: Gtid_IO_Pos %s equals the primary's gtid_binlog_pos", srv[i].name,
                        s->n_replication == 1 ? gtid_str(&s->replication[0].gtid_io_pos) : "-");
        }
}

/* Rounds on a fixed grid for every target; returns the grid's start. */
static uint64_t schedule_all(target **ts, size_t n, uint64_t interval_usec) {
        uint64_t first = now_usec() + 50 * MSEC;

        for (size_t i = 0; i < n; i++) {
                target_reset(ts[i]);
                REQUIRE(probe_schedule(ts[i]->probe, first, interval_usec, on_round, ts[i]) >= 0,
                        "probe_schedule(%s)", ts[i]->name);
        }
        return first;
}

/* Every round of t started on its grid slot, lasted at least min_usec, finished at most max_usec
 * after its slot, and ended with class c or c2. skip_last: leave out the last round. */
static void check_rounds(const target *t, uint64_t first, uint64_t interval, unsigned min_rounds,
        probe_error_class c, probe_error_class c2, uint64_t min_usec, uint64_t max_usec, bool skip_last) {
        uint64_t worst_late = 0, worst_finish = 0, shortest = UINT64_MAX;
        unsigned bad_class = 0, n = t->n_rounds - (skip_last && t->n_rounds > 0);

        for (unsigned k = 0; k < n && k < ROUNDS_MAX; k++) {
                const round_record *r = &t->rounds[k];
                uint64_t slot = first + k * interval;
                if (r->started - slot > worst_late)
                        worst_late = r->started - slot;
                if (r->finished - slot > worst_finish)
                        worst_finish = r->finished - slot;
                if (r->finished - r->started < shortest)
                        shortest = r->finished - r->started;
                if (r->error_class != c && r->error_class != c2) {
                        if (bad_class++ == 0)
                                printf("# %s round %u: %s: %s\n", t->name, k + 1, cls(r->error_class),
                                        r->message);
                }
        }
        check(t->n_rounds >= min_rounds, "%s: %u rounds (at least %u)", t->name, t->n_rounds, min_rounds);
        check(bad_class == 0, "%s: every round ended %s%s%s (%u did not)", t->name, cls(c),
                c2 != c ? " or " : "", c2 != c ? cls(c2) : "", bad_class);
        check(worst_late <= 30 * MSEC, "%s: every round started on its slot (worst %" PRIu64 " ms late)",
                t->name, worst_late / MSEC);
        check(worst_finish <= max_usec && shortest >= min_usec,
                "%s: every round lasted >= %" PRIu64 " ms and finished <= %" PRIu64
                " ms after its slot (worst %" PRIu64 " ms, shortest round %" PRIu64 " ms)",
                t->name, min_usec / MSEC, max_usec / MSEC, worst_finish / MSEC, shortest / MSEC);
}

static void test_schedule_with_failures(void) {
        const uint64_t interval = 300 * MSEC, timeout = 200 * MSEC, run = 2400 * MSEC;
        target srv[3], closed, silent, dropped, overdue;
        uint16_t closed_port, silent_port, full_port;
        int closed_fd = loopback_socket(false, &closed_port),
            silent_fd = loopback_socket(true, &silent_port), fillers[2],
            full_fd = full_listener(&full_port, fillers);
        uint64_t first;

        target_server(&srv[0], "primary (1)", 1, timeout);
        target_server(&srv[1], "replica 2", 2, timeout);
        target_server(&srv[2], "replica 3", 3, timeout);
        target_init(&closed, "closed port", "127.0.0.1", closed_port, "sentinel", "x", timeout);
        target_init(&silent, "silent listener", "127.0.0.1", silent_port, "sentinel", "x", timeout);
        /* SYNs dropped: the connect never completes. */
        target_init(&dropped, "listener dropping SYNs", "127.0.0.1", full_port, "sentinel", "x", timeout);
        /* A round longer than the interval: each is cut short by the next, never stacked. */
        target_init(&overdue, "silent, timeout > interval", "127.0.0.1", silent_port, "sentinel", "x",
                1000 * MSEC);
        target *ts[] = {&srv[0], &srv[1], &srv[2], &closed, &silent, &dropped, &overdue};

        REQUIRE(cluster("kill", "3", "STOP", NULL), "replica 3 stopped (SIGSTOP)");
        first = schedule_all(ts, ELEMENTSOF(ts), interval);
        run_for(run);
        for (size_t i = 0; i < ELEMENTSOF(ts); i++)
                probe_unschedule(ts[i]->probe);
        REQUIRE(cluster("kill", "3", "CONT", NULL), "replica 3 continued (SIGCONT)");
        run_for(1200 * MSEC);

        unsigned rounds = (unsigned) (run / interval) - 1;
        check_rounds(&srv[0], first, interval, rounds, PROBE_OK, PROBE_OK, 0, 100 * MSEC, false);
        check_rounds(&srv[1], first, interval, rounds, PROBE_OK, PROBE_OK, 0, 100 * MSEC, false);
        check_rounds(&srv[2], first, interval, rounds, PROBE_NO_ANSWER, PROBE_NO_ANSWER, timeout - 5 * MSEC,
                timeout + 50 * MSEC, false);
        check_rounds(&closed, first, interval, rounds, PROBE_REFUSED, PROBE_REFUSED, 0, 50 * MSEC, false);
        check_rounds(&silent, first, interval, rounds, PROBE_NO_ANSWER, PROBE_NO_ANSWER, timeout - 5 * MSEC,
                timeout + 50 * MSEC, false);
        check_rounds(&dropped, first, interval, rounds, PROBE_NO_ANSWER, PROBE_NO_ANSWER, timeout - 5 * MSEC,
                timeout + 50 * MSEC, false);
        /* Each overdue round is cut short by the next tick; the last one, with no next tick after
         * probe_unschedule(), runs to its own timeout and is left out. */
        check_rounds(&overdue, first, interval, rounds, PROBE_NO_ANSWER, PROBE_NO_ANSWER,
                interval - 5 * MSEC, interval + 50 * MSEC, true);
        check(strstr(overdue.rounds[0].message, "still running") != NULL, "overdue round reported as '%s'",
                overdue.rounds[0].message);
        check(srv[2].last.error_class == PROBE_NO_ANSWER && !srv[2].last.reachable &&
                        srv[2].last.error_message,
                "stopped server: '%s'", srv[2].last.error_message ?: "");

        /* Give it a few rounds to work through the connections queued while it was stopped. */
        for (int i = 0; i < 5 && (i == 0 || srv[2].last.error_class != PROBE_OK); i++)
                REQUIRE(probe_one(&srv[2]), "stopped server probed again after SIGCONT");
        check(srv[2].last.error_class == PROBE_OK && srv[2].last.connected,
                "...answers again, on a new connection (%s: %s)", cls(srv[2].last.error_class),
                srv[2].last.error_message ?: "");

        for (int i = 0; i < 3; i++)
                target_done(&srv[i]);
        target_done(&closed);
        target_done(&silent);
        target_done(&dropped);
        target_done(&overdue);
        close(closed_fd);
        close(silent_fd);
        close(full_fd);
        close(fillers[0]);
        close(fillers[1]);
}

/* Whether a TCP connect to 127.0.0.1:port is refused now. */
static bool port_refuses(uint16_t port) {
        struct sockaddr_in a = {
                .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

        r = connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0 && errno == ECONNREFUSED;
        close(fd);
        return r;
}

static void test_restart(target *srv, const char *extra_port) {
        uint16_t port = (uint16_t) atoi(env_i("PORT", 2));
        char opt[64];
        uint64_t t0;

        REQUIRE(probe_one(&srv[1]) && srv[1].last.error_class == PROBE_OK,
                "replica 2 answers before the restart");
        REQUIRE(cluster("kill", "2", NULL), "replica 2 killed (SIGKILL)");
        /* mdb_kill returns once the main thread is a zombie; the other threads may hold the
         * sockets open a moment longer. */
        for (int i = 0; i < 100 && !port_refuses(port); i++)
                run_for(10 * MSEC);
        t0 = now_usec();
        REQUIRE(probe_one(&srv[1]), "replica 2 probed while down");
        check(srv[1].last.error_class == PROBE_REFUSED && now_usec() - t0 < 100 * MSEC,
                "killed server: stale connection noticed, reconnect refused at once (%s: %s)",
                cls(srv[1].last.error_class), srv[1].last.error_message ?: "");
        snprintf(opt, sizeof(opt), "--extra-port=%s", extra_port);
        REQUIRE(cluster("start", "2", opt, "--extra-max-connections=3", NULL),
                "replica 2 restarted (with extra_port %s)", extra_port);
        REQUIRE(probe_one(&srv[1]), "replica 2 probed after the restart");
        check(srv[1].last.error_class == PROBE_OK && srv[1].last.connected,
                "restarted server: reconnected (%s: %s)", cls(srv[1].last.error_class),
                srv[1].last.error_message ?: "");
}

static void test_hung_resolver(void) {
        const uint64_t interval = 300 * MSEC, timeout = 200 * MSEC, run = 3000 * MSEC;
        target primary, hung;
        uint64_t first;
        unsigned first_ok = 0;

        target_server(&primary, "primary (1), beside a hung resolver", 1, timeout);
        target_init(&hung, "host name with a hung resolver", HANG_NAME, (uint16_t) atoi(env_i("PORT", 1)),
                env("MDB_SENTINEL_USER"), sentinel_password, timeout);
        target *ts[] = {&primary, &hung};

        first = schedule_all(ts, ELEMENTSOF(ts), interval);
        run_for(run);
        for (size_t i = 0; i < ELEMENTSOF(ts); i++)
                probe_unschedule(ts[i]->probe);
        run_for(300 * MSEC);

        check_rounds(&primary, first, interval, (unsigned) (run / interval) - 1, PROBE_OK, PROBE_OK, 0,
                100 * MSEC, false);
        for (unsigned k = 0; k < hung.n_rounds && k < ROUNDS_MAX && !first_ok; k++)
                if (hung.rounds[k].error_class == PROBE_OK)
                        first_ok = k + 1;
        check(first_ok > 1 && hung.rounds[0].error_class == PROBE_RESOLVE &&
                        hung.rounds[0].finished - hung.rounds[0].started <= timeout + 50 * MSEC,
                "hung resolver: rounds end PROBE_RESOLVE at their timeout ('%s')", hung.rounds[0].message);
        check(first_ok > 0 && hung.rounds[first_ok - 1].started - first >= HANG_USEC - interval &&
                        hung.rounds[first_ok - 1].started - first <= HANG_USEC + interval,
                "...and once the lookup returns (after %" PRIu64
                " ms) the round of that moment connects (round %u)",
                HANG_USEC / MSEC, first_ok);
        check(hang_calls == 1 && hang_running_max == 1,
                "...with one resolver thread for all those rounds (%d lookups, at most %d at once)",
                hang_calls, hang_running_max);
        target_done(&primary);
        target_done(&hung);
}

static void on_app_reply(db_conn *c, const db_reply *reply, void *userdata) {
        db_error *e = userdata;

        *e = reply->error ? *reply->error : (db_error){.error_class = PROBE_OK};
}

static void test_max_connections(target *srv, const char *extra_port_s) {
        db_conn *app[200] = {};
        db_error errs[ELEMENTSOF(app)];
        size_t n_app = 0;
        uint16_t port = (uint16_t) atoi(env_i("PORT", 2)), extra_port = (uint16_t) atoi(extra_port_s);
        target fresh[3], extra[3];
        bool refused = false;

        REQUIRE(probe_one(&srv[1]) && srv[1].last.error_class == PROBE_OK,
                "replica 2 has a persistent sentinel connection before saturation");
        REQUIRE(cluster("sql", "2", "SET GLOBAL max_connections=8", NULL), "replica 2: max_connections=8");
        /* Idle app connections, one at a time, until the server refuses one. */
        while (!refused && n_app < ELEMENTSOF(app)) {
                REQUIRE(db_conn_new(event,
                                &(db_conn_params){.host = env_i("HOST", 2),
                                        .port = port,
                                        .user = "app",
                                        .password = app_password},
                                &app[n_app]) >= 0,
                        "db_conn_new(app)");
                errs[n_app] = (db_error){.error_class = _PROBE_ERROR_CLASS_INVALID};
                REQUIRE(db_conn_query(app[n_app], "SELECT 1", 0, on_app_reply, &errs[n_app]) >= 0,
                        "app query");
                while (errs[n_app].error_class == _PROBE_ERROR_CLASS_INVALID)
                        REQUIRE(sd_event_run(event, 100 * MSEC) >= 0, "sd_event_run()");
                refused = errs[n_app].error_class != PROBE_OK;
                n_app++;
        }
        REQUIRE(refused && errs[n_app - 1].number == 1040,
                "app connections fill max_connections: #%zu refused: %u %s", n_app, errs[n_app - 1].number,
                errs[n_app - 1].message);
        check(errs[n_app - 1].error_class == PROBE_SERVER_ERROR,
                "... as PROBE_SERVER_ERROR (alive), not down");

        REQUIRE(probe_one(&srv[1]), "persistent sentinel connection probed");
        check(srv[1].last.error_class == PROBE_OK && !srv[1].last.connected,
                "a connection opened before saturation keeps working (%s)", cls(srv[1].last.error_class));

        for (int i = 0; i < 3; i++) {
                char name[64];
                snprintf(name, sizeof(name), "new sentinel connection #%d", i + 1);
                target_server(&fresh[i], strdup(name), 2, 1000 * MSEC);
                REQUIRE(probe_one(&fresh[i]), "%s probed", name);
                printf("# new sentinel connection #%d on the main port: %s %u %s\n", i + 1,
                        cls(fresh[i].last.error_class), fresh[i].last.error_number,
                        fresh[i].last.error_message ?: "");
        }
        check(fresh[0].last.error_class == PROBE_OK,
                "CONNECTION ADMIN: a NEW sentinel connection gets the one slot above max_connections");
        check(fresh[1].last.error_class == PROBE_SERVER_ERROR && fresh[1].last.error_number == 1040 &&
                        fresh[1].last.reachable,
                "...but only one: the next is refused with 1040 (still counted as alive)");
        for (int i = 0; i < 3; i++) {
                char name[64];
                snprintf(name, sizeof(name), "sentinel via extra_port #%d", i + 1);
                target_init(&extra[i], strdup(name), env_i("HOST", 2), extra_port, env("MDB_SENTINEL_USER"),
                        sentinel_password, 1000 * MSEC);
                REQUIRE(probe_one(&extra[i]), "%s probed", name);
                check(extra[i].last.error_class == PROBE_OK, "%s: gets in (extra_max_connections=3) (%s %s)",
                        name, cls(extra[i].last.error_class), extra[i].last.error_message ?: "");
        }

        for (int i = 0; i < 3; i++) {
                free((char *) fresh[i].name);
                free((char *) extra[i].name);
                target_done(&fresh[i]);
                target_done(&extra[i]);
        }
        for (size_t i = 0; i < n_app; i++)
                app[i] = db_conn_free(app[i]);
        run_for(300 * MSEC);
        REQUIRE(cluster("sql", "2", "SET GLOBAL max_connections=151", NULL),
                "replica 2: max_connections back to 151");
}

#define RESULT_SQL "SELECT 1 AS one, NULL AS nothing, 'x' AS ex UNION ALL SELECT 2, NULL, ''"
static bool result_checked;

static void on_result_reply(db_conn *c, const db_reply *reply, void *userdata) {
        const db_result *r = reply->result;

        result_checked = true;
        if (!check(r != NULL, "result query answered (%s)", reply->error ? reply->error->message : ""))
                return;
        check(db_result_n_rows(r) == 2 && db_result_n_columns(r) == 3, "result: 2 rows, 3 columns");
        check(streq_ptr(db_result_column_name(r, 0), "one") &&
                        streq_ptr(db_result_column_name(r, 2), "ex") && !db_result_column_name(r, 3) &&
                        db_result_column_index(r, "EX") == 2 && db_result_column_index(r, "none") == -ENOENT,
                "result: column names, looked up ignoring case");
        check(streq_ptr(db_result_value(r, 0, 0), "1") && streq_ptr(db_result_value(r, 1, 0), "2") &&
                        !db_result_value(r, 0, 1) && streq_ptr(db_result_value_by_name(r, 0, "ex"), "x") &&
                        streq_ptr(db_result_value_by_name(r, 1, "ex"), "") && !db_result_value(r, 2, 0),
                "result: values; SQL NULL and out of range as NULL; '' as an empty string");
}

static void test_resolve_auth_and_db(void) {
        target local, nx, bad;
        db_conn *c;
        db_error e;
        uint16_t port = (uint16_t) atoi(env_i("PORT", 1));

        target_init(&local, "localhost", "localhost", port, env("MDB_SENTINEL_USER"), sentinel_password,
                1000 * MSEC);
        REQUIRE(probe_one(&local), "probe of 'localhost' reported");
        check(local.last.error_class == PROBE_OK &&
                        streq(db_conn_address(probe_get_conn(local.probe)), "127.0.0.1"),
                "host name resolved in the helper thread, connected to %s (%s %s)",
                db_conn_address(probe_get_conn(local.probe)), cls(local.last.error_class),
                local.last.error_message ?: "");
        target_done(&local);

        target_init(&nx, "nonexistent", "does-not-exist.invalid", port, "sentinel", "x", 1000 * MSEC);
        REQUIRE(probe_one(&nx), "probe of an unresolvable name reported");
        check(nx.last.error_class == PROBE_RESOLVE &&
                        nx.last.finished_usec - nx.last.started_usec <= 1050 * MSEC,
                "unresolvable name: PROBE_RESOLVE within the timeout (%s)", nx.last.error_message ?: "");
        target_done(&nx);

        target_init(
                &bad, "wrong password", "127.0.0.1", port, env("MDB_SENTINEL_USER"), "wrong", 1000 * MSEC);
        REQUIRE(probe_one(&bad), "probe with a wrong password reported");
        check(bad.last.error_class == PROBE_AUTH && bad.last.error_number == 1045 && bad.last.reachable,
                "wrong password: PROBE_AUTH 1045, alive (%s)", bad.last.error_message ?: "");
        target_done(&bad);

        /* db_conn directly: the result API, a server error that keeps the session, -EBUSY. */
        REQUIRE(db_conn_new(event,
                        &(db_conn_params){.host = "127.0.0.1",
                                .port = port,
                                .user = env("MDB_SENTINEL_USER"),
                                .password = sentinel_password},
                        &c) >= 0,
                "db_conn_new()");
        e.error_class = _PROBE_ERROR_CLASS_INVALID;
        REQUIRE(db_conn_query(c, "SELECT * FROM app.probe_t", 0, on_app_reply, &e) >= 0, "query started");
        check(db_conn_query(c, "SELECT 1", 0, on_app_reply, &e) == -EBUSY,
                "a second query meanwhile: -EBUSY");
        while (e.error_class == _PROBE_ERROR_CLASS_INVALID)
                REQUIRE(sd_event_run(event, 100 * MSEC) >= 0, "sd_event_run()");
        check(e.error_class == PROBE_AUTH && e.number == 1142 && db_conn_is_connected(c),
                "sentinel reading app data: 1142 PROBE_AUTH, connection kept (%s)", e.message);

        result_checked = false;
        REQUIRE(db_conn_query(c, RESULT_SQL, 0, on_result_reply, NULL) >= 0, "result query started");
        while (!result_checked)
                REQUIRE(sd_event_run(event, 100 * MSEC) >= 0, "sd_event_run()");
        /* COM_QUIT usually goes out at once: the close may be over before db_conn_close() returns. */
        check(db_conn_close(c) == 0, "db_conn_close(): graceful close started");
        for (int i = 0; i < 50 && db_conn_is_busy(c); i++)
                REQUIRE(sd_event_run(event, 100 * MSEC) >= 0, "sd_event_run()");
        check(!db_conn_is_busy(c) && !db_conn_is_connected(c), "...and done: closed");
        result_checked = false;
        REQUIRE(db_conn_query(c, RESULT_SQL, 0, on_result_reply, NULL) >= 0,
                "query after the close started");
        while (!result_checked)
                REQUIRE(sd_event_run(event, 100 * MSEC) >= 0, "sd_event_run()");
        check(db_conn_is_connected(c), "the query after the close reconnected");
        db_conn_free(c);
}

int main(void) {
        target srv[3];
        const char *primary_host;
        uint16_t primary_port;

        setvbuf(stdout, NULL, _IOLBF, 0);
        test_classify();
        test_server_status();
        if (!getenv("MDB_DIR") || !getenv("MDB_CLUSTER_CMD")) {
                printf("# no cluster (MDB_DIR, MDB_CLUSTER_CMD): run tests/integration/test-probe.sh\n");
                return 77;
        }
        sentinel_password = read_password(env("MDB_SENTINEL_PASSWORD_FILE"));
        app_password = read_password(env("MDB_APP_PASSWORD_FILE"));
        primary_host = env_i("HOST", 1);
        primary_port = (uint16_t) atoi(env_i("PORT", 1));
        REQUIRE(sd_event_default(&event) >= 0, "sd_event_default()");

        target_server(&srv[0], "primary (1)", 1, 1000 * MSEC);
        target_server(&srv[1], "replica 2", 2, 1000 * MSEC);
        target_server(&srv[2], "replica 3", 3, 1000 * MSEC);

        test_topology(srv, primary_host, primary_port);
        test_gtids(srv);
        test_schedule_with_failures();
        test_hung_resolver();
        test_restart(srv, env("MDB_EXTRA_PORT_2"));
        test_max_connections(srv, env("MDB_EXTRA_PORT_2"));
        test_resolve_auth_and_db();

        for (int i = 0; i < 3; i++)
                target_done(&srv[i]);
        event = sd_event_unref(event);
        free(sentinel_password);
        free(app_password);
        printf("# %u checks, %u failed\n", n_checks, n_failed);
        return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
