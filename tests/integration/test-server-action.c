/* Integration test of lib/io/server-action.c against real mariadbd servers, all driven from one
 * sd-event loop as the sentinel account: fence (idle and busy application connections), unfence,
 * catch-up (a stopped SQL thread), a failover 1 -> 2 (promote, repoint 3, rejoin 1), SQL quoting of
 * the replication password in both sql_modes and its absence from every message, a second failover
 * 2 -> 3 after which the old primary has an extra transaction and is refused, a stopped server
 * (deadline, a timer that keeps firing, free and cancel mid-way, -EBUSY), and the pure rejoin rule.
 * Every action is run twice where it succeeds: the second run must succeed without changing anything.
 *
 * Run by test-server-action.sh, which brings up a 3-server semi-sync cluster with the shared harness
 * and exports its cluster.env (MDB_*) and MDB_CLUSTER_CMD. Prints "ok N - ..." per check; exit 0 all
 * passed, 1 a check failed, 77 started without a cluster (after the checks that need none). */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "db.h"
#include "gtid.h"
#include "macro.h"
#include "server-action.h"

#define MSEC ((uint64_t) USEC_PER_MSEC)

extern char **environ;

#include "tap.h"

static sd_event *event;
static char *sentinel_password, *repl_password, *app_password;

static const char *env_i(const char *what, int i) {
        char name[64];

        snprintf(name, sizeof(name), "MDB_%s_%d", what, i);
        return env(name);
}

static uint16_t port_of(int i) {
        return (uint16_t) atoi(env_i("PORT", i));
}

static char *read_line(const char *path, int line) {
        char buf[1024];
        FILE *f = fopen(path, "re");
        char *r = NULL;

        REQUIRE(f != NULL, "%s is readable", path);
        for (int i = 1; fgets(buf, sizeof(buf), f); i++)
                if (i == line) {
                        buf[strcspn(buf, "\r\n")] = 0;
                        r = strdup(buf);
                        break;
                }
        fclose(f);
        return r;
}

/* MDB_CLUSTER_CMD VERB MDB_DIR ARGS... without a shell; true when it exits 0. Blocks: only between
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

/* ---- plain queries over db_conn ------------------------------------------------------------- */

typedef struct query {
        bool done;
        bool connected;
        uint32_t number; /* 0: success */
        char message[DB_ERROR_MESSAGE_MAX];
        size_t n_rows;
        char value[512]; /* first row, column `column` (or the first) */
        const char *column;
} query;

static void on_query(db_conn *c, const db_reply *reply, void *userdata) {
        query *q = userdata;
        const char *v;

        q->done = true;
        q->connected = reply->connected;
        if (reply->error) {
                q->number = reply->error->number ? reply->error->number : 99999;
                snprintf(q->message, sizeof(q->message), "%s", reply->error->message);
                return;
        }
        q->n_rows = db_result_n_rows(reply->result);
        v = q->column ? db_result_value_by_name(reply->result, 0, q->column)
                      : db_result_value(reply->result, 0, 0);
        snprintf(q->value, sizeof(q->value), "%s", v ?: "NULL");
}

static db_conn *conn_new(int i, const char *user, const char *password) {
        db_conn *c = NULL;

        REQUIRE(db_conn_new(event,
                        &(db_conn_params){.host = env_i("HOST", i),
                                .port = port_of(i),
                                .user = user,
                                .password = password,
                                .connect_timeout_usec = 2 * USEC_PER_SEC,
                                .query_timeout_usec = 10 * USEC_PER_SEC},
                        &c) >= 0,
                "db_conn_new(%d, %s)", i, user);
        return c;
}

static void loop_until(const bool *done, uint64_t max_usec) {
        uint64_t end = now_usec() + max_usec;

        while (!*done && now_usec() < end)
                REQUIRE(sd_event_run(event, 50 * MSEC) >= 0, "sd_event_run()");
}

/* Runs sql on c (column: which value of the first row to keep; NULL the first). */
static query run_sql(db_conn *c, const char *sql, const char *column) {
        query q = {.column = column};

        REQUIRE(db_conn_query(c, sql, 0, on_query, &q) >= 0, "query started: %s", sql);
        loop_until(&q.done, 15 * USEC_PER_SEC);
        REQUIRE(q.done, "query answered: %s", sql);
        return q;
}

/* One-shot: as user on server i. */
static query sql_as(int i, const char *user, const char *sql, const char *column) {
        db_conn *c = conn_new(i, user, streq(user, "app") ? app_password : sentinel_password);
        query q = run_sql(c, sql, column);

        db_conn_free(c);
        return q;
}

static query slave_status(int i, const char *column) {
        return sql_as(i, "sentinel", "SHOW ALL SLAVES STATUS", column);
}

/* ---- actions -------------------------------------------------------------------------------- */

typedef struct outcome {
        bool done;
        server_action_code code;
        probe_error_class error_class;
        uint32_t error_number;
        char statement[64], message[512];
        bool already, read_only, have_variables, semi_master, semi_slave, sql_running;
        replica_io_state io_running;
        unsigned n_killed;
        char binlog[256], current[256], slave[256], state[256], waited[256], extra[256];
        uint64_t elapsed;
} outcome;

static void fmt_list(const gtid_list *l, char *buf, size_t n) {
        char *s = NULL;

        snprintf(buf, n, "%s", gtid_list_format(l, &s) >= 0 ? s : "?");
        free(s);
}

static void on_action(server_action *a, const server_action_result *r, void *userdata) {
        outcome *o = userdata;

        *o = (outcome){.done = true,
                .code = r->code,
                .error_class = r->error_class,
                .error_number = r->error_number,
                .already = r->already,
                .read_only = r->read_only,
                .have_variables = r->have_variables,
                .semi_master = r->semi_sync_master_enabled,
                .semi_slave = r->semi_sync_slave_enabled,
                .sql_running = r->sql_running,
                .io_running = r->io_running,
                .n_killed = r->n_killed,
                .elapsed = r->finished_usec - r->started_usec};
        snprintf(o->statement, sizeof(o->statement), "%s", r->statement ?: "");
        snprintf(o->message, sizeof(o->message), "%s", r->message ?: "(null)");
        fmt_list(&r->gtid_binlog_pos, o->binlog, sizeof(o->binlog));
        fmt_list(&r->gtid_current_pos, o->current, sizeof(o->current));
        fmt_list(&r->gtid_slave_pos, o->slave, sizeof(o->slave));
        fmt_list(&r->gtid_waited, o->waited, sizeof(o->waited));
        snprintf(o->state, sizeof(o->state), "%s", r->gtid_binlog_state ?: "");
        snprintf(o->extra, sizeof(o->extra), "%s", r->extra_gtids ?: "");
        printf("# %s: %s (%s) %s [%.3f s]\n", server_action_type_to_string(r->type),
                server_action_code_to_string(r->code), probe_error_class_to_string(r->error_class),
                o->message, (double) o->elapsed / 1e6);
}

static server_action *sa[4];

static server_action *action_new(int i) {
        server_action *a = NULL;

        REQUIRE(server_action_new(event,
                        &(server_action_params){.host = env_i("HOST", i),
                                .port = port_of(i),
                                .user = env("MDB_SENTINEL_USER"),
                                .password = sentinel_password},
                        &a) >= 0,
                "server_action_new(%d)", i);
        return a;
}

static uint64_t deadline(uint64_t usec) {
        uint64_t t;

        REQUIRE(sd_event_now(event, CLOCK_MONOTONIC, &t) >= 0, "sd_event_now()");
        return t + usec;
}

/* Starts an action with `call` (its handler on_action, its userdata &o) and runs the loop until done. */
#define RUN(o, call)                                                                                        \
        do {                                                                                                \
                (o) = (outcome){};                                                                          \
                REQUIRE((call) >= 0, "started: %s", #call);                                                 \
                loop_until(&(o).done, 30 * USEC_PER_SEC);                                                   \
                REQUIRE((o).done, "finished: %s", #call);                                                   \
        } while (0)

static server_action_source source_of(int i, const char *password, bool wait) {
        return (server_action_source){.host = env_i("HOST", i),
                .port = port_of(i),
                .user = env("MDB_REPL_USER"),
                .password = password,
                .semi_sync = true,
                .wait_running = wait};
}

static void observe(int i, outcome *o) {
        RUN(*o, server_action_observe(sa[i], deadline(5 * USEC_PER_SEC), on_action, o));
        REQUIRE(o->code == SERVER_ACTION_OK, "observe %d", i);
}

static void app_write(int i, const char *sql) {
        query q = sql_as(i, "app", sql, NULL);

        REQUIRE(q.number == 0, "app on %d: %s (%s)", i, sql, q.message);
}

/* Waits until replica i has applied server p's binlog position. */
static void catch_up_to(int i, int p) {
        outcome o, pos;
        _cleanup_(gtid_list_done) gtid_list l = GTID_LIST_EMPTY;

        observe(p, &pos);
        REQUIRE(gtid_list_parse(pos.binlog, &l) >= 0, "parse %s", pos.binlog);
        RUN(o, server_action_catch_up(sa[i], &l, deadline(10 * USEC_PER_SEC), on_action, &o));
        REQUIRE(o.code == SERVER_ACTION_OK, "server %d caught up with %d (%s)", i, p, o.message);
}

/* Waits until replica i has received (not necessarily applied) what server p has. */
static void received(int i, int p) {
        outcome pos;
        query q;
        uint64_t end = now_usec() + 10 * USEC_PER_SEC;

        observe(p, &pos);
        do
                q = slave_status(i, "Gtid_IO_Pos");
        while (!streq(q.value, pos.binlog) && now_usec() < end);
        REQUIRE(streq(q.value, pos.binlog), "replica %d received %s (Gtid_IO_Pos %s)", i, pos.binlog,
                q.value);
}

/* ---- the pure parts ------------------------------------------------------------------------- */

static void test_rejoin_rule(void) {
        static const struct {
                const char *old, *pos, *state;
                int expected;
                const char *extra;
        } table[] = {
                {"", "", "", 0, ""},                              /* nothing anywhere */
                {"0-1-100", "0-1-100", "0-1-100", 0, ""},         /* equal */
                {"0-1-100", "0-2-105", "0-1-100,0-2-105", 0, ""}, /* behind, 0-1-100 in its history */
                {"0-1-100", "0-1-105", "0-1-105", 0, ""},         /* behind, same server */
                {"0-1-103", "0-2-110", "0-1-100,0-2-110", 1, "0-1-101..103"}, /* wrote 101..103 alone */
                {"0-1-101", "0-2-110", "0-2-110", 1, "0-1-101"}, /* no trace of server 1 at all */
                {"0-1-101", "0-2-101", "0-1-100,0-2-101", 1, "0-1-101 (diverged from 0-2-101)"},
                {"0-1-105", "0-1-100", "0-1-100", 1, "0-1-101..105"}, /* ahead */
                {"0-1-5,1-1-7", "0-2-9,1-1-7", "0-1-4,0-2-9,1-1-7", 1, "0-1-5"},
                {"0-1-5,1-3-7", "0-1-5", "0-1-5", 1, "1-3-1..7"}, /* a domain it lacks */
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(gtid_list_done) gtid_list old = GTID_LIST_EMPTY, pos = GTID_LIST_EMPTY;
                _cleanup_(gtid_diff_done) gtid_diff d = GTID_DIFF_EMPTY;
                _cleanup_free_ char *s = NULL;
                int r;

                REQUIRE(gtid_list_parse(table[i].old, &old) >= 0 && gtid_list_parse(table[i].pos, &pos) >= 0,
                        "rule fixture %zu", i);
                r = server_action_rejoin_check(&old,
                        &(server_action_history){
                                .gtid_binlog_pos = &pos, .gtid_binlog_state = table[i].state},
                        &d);
                if (r > 0)
                        REQUIRE(gtid_diff_format(&d, &s) >= 0, "gtid_diff_format()");
                check(r == table[i].expected && streq(s ?: "", table[i].extra),
                        "rejoin rule: old %s, new primary %s (state %s): %d \"%s\" (got %d \"%s\")",
                        table[i].old, table[i].pos, table[i].state, table[i].expected, table[i].extra, r,
                        s ?: "");
        }
        {
                _cleanup_(gtid_list_done) gtid_list old = GTID_LIST_EMPTY;
                gtid_diff d = GTID_DIFF_EMPTY;

                REQUIRE(gtid_list_parse("0-1-1", &old) >= 0, "fixture");
                check(server_action_rejoin_check(&old,
                              &(server_action_history){
                                      .gtid_binlog_pos = &old, .gtid_binlog_state = "0-1-x"},
                              &d) == -EINVAL &&
                                server_action_rejoin_check(&old, NULL, &d) == -EINVAL,
                        "rejoin rule: an unparseable binlog state or none: -EINVAL");
        }
        check(streq(server_action_type_to_string(SERVER_ACTION_CATCH_UP), "catch-up") &&
                        streq(server_action_code_to_string(SERVER_ACTION_WRONG_ROLE), "wrong-role") &&
                        !server_action_type_to_string(_SERVER_ACTION_TYPE_MAX) &&
                        !server_action_code_to_string(-1),
                "type and code names");
}

/* ---- fence and unfence ---------------------------------------------------------------------- */

static unsigned app_connections(db_conn *sentinel_conn) {
        query q = run_sql(sentinel_conn,
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'", NULL);

        REQUIRE(q.number == 0, "count app connections (%s)", q.message);
        return (unsigned) atoi(q.value);
}

static void test_fence_unfence(void) {
        db_conn *idle[4], *mon = conn_new(1, "sentinel", sentinel_password), *busy;
        query q, w = {};
        outcome o;
        uint64_t t;

        for (size_t i = 0; i < ELEMENTSOF(idle); i++) {
                idle[i] = conn_new(1, "app", app_password);
                REQUIRE(run_sql(idle[i], "SELECT 1", NULL).number == 0, "idle app connection %zu", i);
        }
        check(app_connections(mon) >= ELEMENTSOF(idle), "4 idle app connections on the primary");

        RUN(o, server_action_fence(sa[1], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.read_only && o.have_variables, "fence 1: ok, read_only=1 (%s)",
                o.message);
        check(o.n_killed >= ELEMENTSOF(idle), "fence 1: killed the idle app connections (%u)", o.n_killed);
        check(app_connections(mon) == 0, "no app connection left on 1");
        q = run_sql(mon, "SELECT 1", NULL);
        check(q.number == 0 && !q.connected,
                "the sentinel account's connection was spared (not reconnected)");
        q = sql_as(1, "app", "INSERT INTO app.t VALUES (100, 0)", NULL);
        check(q.number == 1290, "app write on the fenced primary: 1290 ER_OPTION_PREVENTS_STATEMENT (%u %s)",
                q.number, q.message);
        RUN(o, server_action_fence(sa[1], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.read_only, "fence 1 again: ok (%s)", o.message);

        RUN(o, server_action_unfence(sa[1], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.read_only, "unfence 1: ok, read_only=0 (%s)", o.message);
        RUN(o, server_action_unfence(sa[1], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.read_only, "unfence 1 again: ok");
        check(sql_as(1, "app", "INSERT INTO app.t VALUES (100, 0)", NULL).number == 0,
                "app write on 1 after unfence: ok");
        RUN(o, server_action_unfence(sa[3], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_WRONG_ROLE, "unfence of replica 3: wrong-role (%s)", o.message);
        check(streq(sql_as(3, "sentinel", "SELECT @@global.read_only", NULL).value, "1"),
                "replica 3 still read_only=1");

        /* A write statement running: read_only=ON waits for it (lock_wait_timeout 1 s), the fence
         * kills it and tries again. */
        busy = conn_new(1, "app", app_password);
        REQUIRE(db_conn_query(busy, "UPDATE app.t SET v = v + 1 WHERE id = 1 AND SLEEP(4) = 0",
                        deadline(15 * USEC_PER_SEC), on_query, &w) >= 0,
                "a 4 s write statement started");
        t = now_usec() + 300 * MSEC;
        while (now_usec() < t)
                REQUIRE(sd_event_run(event, 50 * MSEC) >= 0, "sd_event_run()");
        RUN(o, server_action_fence(sa[1], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.read_only && o.n_killed >= 1 && o.elapsed < 3 * USEC_PER_SEC,
                "fence 1 during a 4 s write: ok in %.2f s, %u killed (%s)", (double) o.elapsed / 1e6,
                o.n_killed, o.message);
        loop_until(&w.done, 5 * USEC_PER_SEC);
        check(w.done && w.number != 0, "the running write failed (%u %s)", w.number, w.message);
        RUN(o, server_action_unfence(sa[1], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        REQUIRE(o.code == SERVER_ACTION_OK, "unfence 1");

        db_conn_free(busy);
        db_conn_free(mon);
        for (size_t i = 0; i < ELEMENTSOF(idle); i++)
                db_conn_free(idle[i]);
}

/* ---- replica-semi-sync --------------------------------------------------------------------- */

static void sentinel_sql(int i, const char *sql) {
        query q = sql_as(i, "sentinel", sql, NULL);

        REQUIRE(q.number == 0, "%d: %s (%u %s)", i, sql, q.number, q.message);
}

static bool semi_slave_on(int i) {
        return streq(
                sql_as(i, "sentinel", "SHOW STATUS LIKE 'Rpl_semi_sync_slave_status'", "Value").value, "ON");
}

static void test_replica_semi_sync(void) {
        outcome o;
        uint64_t t;

        RUN(o, server_action_replica_semi_sync(sa[1], true, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_WRONG_ROLE && o.semi_master && !o.read_only,
                "replica-semi-sync of the writable primary 1: wrong-role, master side still on (%s)",
                o.message);
        RUN(o, server_action_replica_semi_sync(sa[2], true, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.already && !o.semi_master && o.semi_slave,
                "replica-semi-sync of replica 2 as it is: ok, already (%s)", o.message);

        sentinel_sql(2, "SET GLOBAL rpl_semi_sync_master_enabled=ON");
        RUN(o, server_action_replica_semi_sync(sa[2], true, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.already && !o.semi_master && o.semi_slave && o.read_only &&
                        streq(o.message, "master side off"),
                "replica 2 with the master side on: ok, master side off, nothing else (%s)", o.message);
        check(streq(sql_as(2, "sentinel", "SELECT @@global.rpl_semi_sync_master_enabled", NULL).value, "0"),
                "replica 2: rpl_semi_sync_master_enabled=0");
        RUN(o, server_action_replica_semi_sync(sa[2], true, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.already, "replica-semi-sync of 2 again: ok, already (%s)",
                o.message);

        /* Slave side off (IO thread restarted for it), master side on: both corrected. */
        sentinel_sql(3, "STOP SLAVE IO_THREAD");
        sentinel_sql(3, "SET GLOBAL rpl_semi_sync_slave_enabled=OFF");
        sentinel_sql(3, "START SLAVE IO_THREAD");
        sentinel_sql(3, "SET GLOBAL rpl_semi_sync_master_enabled=ON");
        RUN(o, server_action_replica_semi_sync(sa[3], false, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.semi_master && !o.semi_slave &&
                        streq(o.message, "master side off"),
                "replica 3, slave semi-sync not asked: master side off, the slave side left off (%s)",
                o.message);
        sentinel_sql(3, "SET GLOBAL rpl_semi_sync_master_enabled=ON");
        RUN(o, server_action_replica_semi_sync(sa[3], true, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.already && !o.semi_master && o.semi_slave &&
                        streq(o.message, "master side off, slave side on (IO thread restarted)"),
                "replica 3 with slave semi-sync asked: master side off, slave side on, IO restarted (%s)",
                o.message);
        /* START SLAVE IO_THREAD returned: the thread connects on its own. */
        t = now_usec() + 5 * USEC_PER_SEC;
        while (now_usec() < t &&
                !(semi_slave_on(3) && streq(slave_status(3, "Slave_IO_Running").value, "Yes")))
                REQUIRE(sd_event_run(event, 50 * MSEC) >= 0, "sd_event_run()");
        check(streq(slave_status(3, "Slave_IO_Running").value, "Yes") &&
                        streq(slave_status(3, "Slave_SQL_Running").value, "Yes"),
                "replica 3: both threads running");
        check(streq(sql_as(3, "sentinel", "SHOW STATUS LIKE 'Rpl_semi_sync_slave_status'", "Value").value,
                      "ON"),
                "replica 3: a semi-sync client again (Rpl_semi_sync_slave_status ON)");
        RUN(o, server_action_replica_semi_sync(sa[3], true, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.already, "replica-semi-sync of 3 again: ok, already (%s)",
                o.message);
}

/* ---- catch-up ------------------------------------------------------------------------------- */

static void test_catch_up(void) {
        outcome o, p1;
        _cleanup_(gtid_list_done) gtid_list pos = GTID_LIST_EMPTY;

        REQUIRE(sql_as(3, "sentinel", "STOP SLAVE SQL_THREAD", NULL).number == 0,
                "replica 3: SQL thread stopped");
        for (int k = 0; k < 5; k++) {
                char sql[128];

                snprintf(sql, sizeof(sql), "INSERT INTO app.t VALUES (%d, 0)", 200 + k);
                app_write(1, sql);
        }
        observe(1, &p1);
        received(3, 1);

        RUN(o, server_action_catch_up(sa[3], NULL, deadline(1000 * MSEC), on_action, &o));
        check(o.code == SERVER_ACTION_TIMEOUT && o.error_class == PROBE_OK && streq(o.waited, p1.binlog),
                "catch-up 3 to its Gtid_IO_Pos, SQL thread stopped: timeout, waited for %s (%s)", o.waited,
                o.message);
        check(o.elapsed >= 700 * MSEC && o.elapsed <= 1100 * MSEC,
                "...within the 1 s deadline (%.3f s), gtid_slave_pos reported (%s)",
                (double) o.elapsed / 1e6, o.slave);
        REQUIRE(gtid_list_parse(p1.binlog, &pos) >= 0, "parse");
        RUN(o, server_action_catch_up(sa[3], &pos, deadline(500 * MSEC), on_action, &o));
        check(o.code == SERVER_ACTION_TIMEOUT && o.elapsed <= 600 * MSEC,
                "catch-up 3 to the primary's position: timeout (%.3f s)", (double) o.elapsed / 1e6);

        /* Received but not applied, the SQL thread stopped: a promotion would lose it. */
        RUN(o, server_action_promote(sa[3], 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_UNAPPLIED && strstr(o.message, "0-1-4..8"),
                "promote 3 with 0-1-4..8 unapplied, SQL thread stopped: refused (%s)", o.message);
        check(streq(slave_status(3, "Slave_IO_Running").value, "Yes") &&
                        streq(sql_as(3, "sentinel", "SELECT @@global.read_only", NULL).value, "1"),
                "...nothing changed: IO thread running, still read-only");
        REQUIRE(sql_as(3, "sentinel", "START SLAVE SQL_THREAD", NULL).number == 0,
                "replica 3: SQL thread started");
        RUN(o, server_action_catch_up(sa[3], NULL, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && streq(o.slave, p1.binlog),
                "catch-up 3 after START SLAVE: ok, at %s", o.slave);
        RUN(o, server_action_catch_up(sa[3], NULL, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK, "catch-up 3 again: ok");
        RUN(o, server_action_catch_up(sa[1], NULL, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_WRONG_ROLE, "catch-up of the primary (no replication): wrong-role");
}

/* ---- failover 1 -> 2: fence, catch-up, promote, repoint 3, rejoin 1 --------------------------- */

static void check_replica_of(int i, int p, const char *what) {
        query q = slave_status(i, "Master_Port");
        char port[16];

        snprintf(port, sizeof(port), "%u", port_of(p));
        check(q.n_rows == 1 && streq(q.value, port) &&
                        streq(slave_status(i, "Using_Gtid").value, "Slave_Pos") &&
                        streq(slave_status(i, "Slave_IO_Running").value, "Yes") &&
                        streq(slave_status(i, "Slave_SQL_Running").value, "Yes"),
                "%s: %d replicates from %d, Using_Gtid Slave_Pos, IO Yes, SQL Yes", what, i, p);
}

/* The application's view of its data on server i. */
static char *app_digest(int i) {
        return strdup(sql_as(i, "app", "SELECT CONCAT(COUNT(*), '/', SUM(id), '/', SUM(v)) FROM app.t", NULL)
                              .value);
}

static void test_failover(void) {
        outcome o, fenced, p2;
        server_action_source src2 = source_of(2, repl_password, true);
        _cleanup_(gtid_list_done) gtid_list pos2 = GTID_LIST_EMPTY;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;

        /* Replica 2 applies 3 s late: promote must let its SQL thread drain the relay log. The delay is
         * measured from the event's whole-second timestamp, so MASTER_DELAY=N holds an event back by
         * N-1 to N s; 1 s was as little as a few ms and made the 200 ms attempt below succeed on a
         * loaded machine. */
        REQUIRE(sql_as(2, "sentinel", "STOP SLAVE", NULL).number == 0 &&
                        sql_as(2, "sentinel", "CHANGE MASTER TO MASTER_DELAY=3", NULL).number == 0 &&
                        sql_as(2, "sentinel", "START SLAVE", NULL).number == 0,
                "replica 2: MASTER_DELAY=3");
        app_write(1, "INSERT INTO app.t VALUES (150, 0)");
        received(2, 1);
        RUN(fenced, server_action_fence(
                            sa[1], SERVER_ACTION_SEMI_SYNC, deadline(5 * USEC_PER_SEC), on_action, &fenced));
        check(fenced.code == SERVER_ACTION_OK && fenced.read_only && !fenced.semi_master,
                "fence 1 with semi-sync: ok, read_only=1, semi-sync master off (%s)", fenced.message);
        RUN(o, server_action_promote(sa[2], SERVER_ACTION_SEMI_SYNC, deadline(200 * MSEC), on_action, &o));
        check(o.code == SERVER_ACTION_UNAPPLIED && streq(slave_status(2, "Slave_IO_Running").value, "No") &&
                        streq(slave_status(2, "Slave_SQL_Running").value, "Yes"),
                "promote 2 with 200 ms for a 3 s SQL delay: unapplied, IO stopped, SQL applying (%s)",
                o.message);
        RUN(o, server_action_promote(
                       sa[2], SERVER_ACTION_SEMI_SYNC, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.already && !o.read_only && o.semi_master && !o.semi_slave,
                "promote 2 again, without a catch-up first: ok after draining, read_only=0, semi-sync "
                "master "
                "on, slave off (%s)",
                o.message);
        check(streq(o.binlog, fenced.binlog), "promote 2: gtid_binlog_pos %s is the old primary's %s",
                o.binlog, fenced.binlog);
        check(slave_status(2, NULL).n_rows == 0, "promote 2: no replication connection left");
        RUN(o, server_action_promote(
                       sa[2], SERVER_ACTION_SEMI_SYNC, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.already && strstr(o.message, "already primary"),
                "promote 2 again: ok, already primary (%s)", o.message);

        RUN(o, server_action_repoint(sa[3], &src2, deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.already && o.read_only && o.io_running == REPLICA_IO_YES &&
                        o.sql_running && o.semi_slave,
                "repoint 3 to 2: ok, IO Yes, SQL Yes, semi-sync slave on (%s)", o.message);
        check_replica_of(3, 2, "repoint");
        app_write(2, "INSERT INTO app.t VALUES (300, 0)");
        catch_up_to(3, 2);
        check(streq(sql_as(3, "app", "SELECT COUNT(*) FROM app.t WHERE id = 300", NULL).value, "1"),
                "a write on 2 arrived on 3");
        RUN(o, server_action_repoint(sa[3], &src2, deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.already, "repoint 3 again: ok, already (%s)", o.message);

        observe(2, &p2);
        REQUIRE(gtid_list_parse(p2.binlog, &pos2) >= 0, "parse");
        RUN(o, server_action_rejoin(sa[1], &src2,
                       &(server_action_history){.gtid_binlog_pos = &pos2, .gtid_binlog_state = p2.state},
                       deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.already && o.read_only && o.io_running == REPLICA_IO_YES,
                "rejoin 1 as a replica of 2: ok (%s)", o.message);
        check_replica_of(1, 2, "rejoin");
        app_write(2, "INSERT INTO app.t VALUES (301, 0)");
        app_write(2, "UPDATE app.t SET v = v + 7 WHERE id = 100");
        catch_up_to(1, 2);
        d1 = app_digest(1);
        d2 = app_digest(2);
        check(streq(d1, d2), "rejoined 1 has 2's data (count/sum(id)/sum(v) %s, 2: %s)", d1, d2);
        RUN(o, server_action_rejoin(sa[1], &src2,
                       &(server_action_history){.gtid_binlog_pos = &pos2, .gtid_binlog_state = p2.state},
                       deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.already, "rejoin 1 again: ok, already (%s)", o.message);
}

/* ---- the replication password: quoting, and never in a message ------------------------------ */

static bool has_piece(const char *s, const char *secret) {
        for (size_t i = 0; i + 8 <= strlen(secret); i++)
                if (memmem(s, strlen(s), secret + i, 8))
                        return true;
        return false;
}

static void test_password(void) {
        static const char weird[] = "we'ird\\pa\"ss 'x'\\' --";
        char long_pw[201], master_info[512];
        server_action_source s = source_of(2, weird, false);
        _cleanup_free_ char *mode = NULL, *set_back = NULL;
        server_action *fresh;
        outcome o;

        snprintf(master_info, sizeof(master_info), "%s/master.info", env_i("DATADIR", 3));
        for (int nbe = 0; nbe < 2; nbe++) {
                _cleanup_free_ char *line = NULL;

                /* Stopped, so that the repoint cannot find it already following 2 as asked. */
                REQUIRE(sql_as(3, "sentinel", "STOP SLAVE", NULL).number == 0, "replica 3 stopped");
                fresh = action_new(3); /* a new session: the global sql_mode as it is now */
                RUN(o, server_action_repoint(fresh, &s, deadline(10 * USEC_PER_SEC), on_action, &o));
                line = read_line(master_info, 6);
                check(o.code == SERVER_ACTION_OK && streq(line ?: "", weird),
                        "repoint with password %s%s: master.info has it exactly (%s)", weird,
                        nbe ? " under NO_BACKSLASH_ESCAPES" : "", o.message);
                server_action_free(fresh);
                if (nbe == 0) {
                        mode = strdup(sql_as(3, "sentinel", "SELECT @@global.sql_mode", NULL).value);
                        REQUIRE(cluster("sql", "3",
                                        "SET GLOBAL sql_mode = CONCAT(@@global.sql_mode, "
                                        "',NO_BACKSLASH_ESCAPES')",
                                        NULL),
                                "sql_mode NO_BACKSLASH_ESCAPES on 3");
                }
        }
        REQUIRE(asprintf(&set_back, "SET GLOBAL sql_mode = '%s'", mode) >= 0, "asprintf");
        REQUIRE(cluster("sql", "3", set_back, NULL), "sql_mode restored on 3");

        for (size_t i = 0; i < sizeof(long_pw) - 1; i++)
                long_pw[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i * 7 % 36];
        long_pw[sizeof(long_pw) - 1] = 0;
        s.password = long_pw;
        RUN(o, server_action_repoint(sa[3], &s, deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_FAILED && o.error_number == 1470 &&
                        streq(o.statement, "CHANGE MASTER TO") && !has_piece(o.message, long_pw),
                "a 200-character password: failed 1470 at CHANGE MASTER TO, password not in \"%s\"",
                o.message);
        s.password = "Wr0ng-Qz7x-Kp2m"; /* not a word the server's messages contain */
        s.wait_running = true;
        RUN(o, server_action_repoint(sa[3], &s, deadline(2500 * MSEC), on_action, &o));
        check(o.code == SERVER_ACTION_TIMEOUT && o.error_number == 1045 && strstr(o.message, "1045") &&
                        !has_piece(o.message, s.password) && o.elapsed <= 2600 * MSEC,
                "a wrong password, waiting for the threads: timeout at the deadline, last error 1045, no "
                "password "
                "(%s)",
                o.message);
        s.password = repl_password;
        RUN(o, server_action_repoint(sa[3], &s, deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.io_running == REPLICA_IO_YES,
                "repoint 3 with the right password: ok");
        check_replica_of(3, 2, "repoint back");
}

/* ---- failover 2 -> 3; 2 then writes alone and is refused ------------------------------------ */

static void test_diverged(void) {
        server_action_source src3 = source_of(3, repl_password, true);
        _cleanup_(gtid_list_done) gtid_list pos3 = GTID_LIST_EMPTY;
        outcome o, fenced, p2, p3;
        char extra[256];

        RUN(fenced, server_action_fence(
                            sa[2], SERVER_ACTION_SEMI_SYNC, deadline(5 * USEC_PER_SEC), on_action, &fenced));
        REQUIRE(fenced.code == SERVER_ACTION_OK, "fence 2");
        RUN(o, server_action_catch_up(sa[3], NULL, deadline(5 * USEC_PER_SEC), on_action, &o));
        REQUIRE(o.code == SERVER_ACTION_OK, "catch-up 3");
        RUN(o, server_action_promote(
                       sa[3], SERVER_ACTION_SEMI_SYNC, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.read_only && slave_status(3, NULL).n_rows == 0,
                "promote 3: ok (%s)", o.message);
        RUN(o, server_action_repoint(sa[1], &src3, deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.already, "repoint 1 to 3: ok (%s)", o.message);

        /* The old primary 2, fenced, takes a write from an account read_only does not stop. */
        REQUIRE(cluster("sql", "2", "SET SESSION sql_log_bin = 1; INSERT INTO app.t VALUES (400, 0)", NULL),
                "root writes on the fenced old primary 2");
        observe(2, &p2);
        for (int k = 0; k < 3; k++) { /* the new primary goes further: by position alone 2 looks behind */
                char sql[64];

                snprintf(sql, sizeof(sql), "INSERT INTO app.t VALUES (%d, 0)", 500 + k);
                app_write(3, sql);
        }
        observe(3, &p3);
        REQUIRE(gtid_list_parse(p3.binlog, &pos3) >= 0, "parse");
        snprintf(extra, sizeof(extra), "%s", p2.binlog); /* 0-2-N: its one extra transaction */
        RUN(o, server_action_rejoin(sa[2], &src3,
                       &(server_action_history){.gtid_binlog_pos = &pos3, .gtid_binlog_state = p3.state},
                       deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_DIVERGED && streq(o.extra, extra) && strstr(o.message, extra),
                "rejoin 2 (%s) under 3 (%s, state %s): diverged, extra %s (got \"%s\": %s)", p2.binlog,
                p3.binlog, p3.state, extra, o.extra, o.message);
        check(o.read_only && streq(sql_as(2, "sentinel", "SELECT @@global.read_only", NULL).value, "1") &&
                        slave_status(2, NULL).n_rows == 0,
                "2 stays read-only, without replication");
        RUN(o, server_action_rejoin(sa[2], &src3,
                       &(server_action_history){.gtid_binlog_pos = &pos3, .gtid_binlog_state = p3.state},
                       deadline(10 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_DIVERGED && streq(o.extra, extra), "rejoin 2 again: diverged again");
}

/* ---- a stopped server ----------------------------------------------------------------------- */

typedef struct ticker {
        unsigned n;
        uint64_t last, max_gap;
} ticker;

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        ticker *t = userdata;
        uint64_t now = now_usec();

        if (t->last && now - t->last > t->max_gap)
                t->max_gap = now - t->last;
        t->last = now;
        t->n++;
        REQUIRE(sd_event_source_set_time(s, usec + 20 * MSEC) >= 0 &&
                        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0,
                "re-arm the ticker");
        return 0;
}

static void test_stopped(void) {
        sd_event_source *tick = NULL;
        ticker t = {};
        server_action *fresh = action_new(1);
        outcome o, never = {}, other;
        uint64_t t0;

        REQUIRE(sd_event_add_time_relative(event, &tick, CLOCK_MONOTONIC, 20 * MSEC, 1, on_tick, &t) >= 0,
                "a 20 ms ticker");
        REQUIRE(cluster("kill", "1", "STOP", NULL), "server 1 stopped (SIGSTOP)");
        RUN(o, server_action_fence(sa[1], 0, deadline(1000 * MSEC), on_action, &o));
        check(o.code == SERVER_ACTION_TIMEOUT && o.error_class == PROBE_NO_ANSWER &&
                        o.elapsed >= 990 * MSEC && o.elapsed <= 1150 * MSEC,
                "fence of a stopped server: timeout at the 1 s deadline (%.3f s: %s)",
                (double) o.elapsed / 1e6, o.message);
        check(t.n >= 40 && t.max_gap < 100 * MSEC,
                "the 20 ms ticker kept firing: %u ticks, longest gap %.1f ms", t.n,
                (double) t.max_gap / 1e3);
        RUN(o, server_action_catch_up(fresh, NULL, deadline(800 * MSEC), on_action, &o));
        check(o.code == SERVER_ACTION_TIMEOUT && o.elapsed <= 950 * MSEC,
                "catch-up on a stopped server, new connection: timeout (%.3f s)", (double) o.elapsed / 1e6);

        /* Free mid-way: no handler call, no wait. */
        REQUIRE(server_action_promote(fresh, 0, deadline(5 * USEC_PER_SEC), on_action, &never) >= 0,
                "promote");
        t0 = now_usec() + 200 * MSEC;
        while (now_usec() < t0)
                REQUIRE(sd_event_run(event, 50 * MSEC) >= 0, "sd_event_run()");
        check(server_action_is_running(fresh) &&
                        server_action_observe(fresh, deadline(USEC_PER_SEC), on_action, &never) == -EBUSY,
                "a second action meanwhile: -EBUSY");
        t0 = now_usec();
        fresh = server_action_free(fresh);
        check(now_usec() - t0 < 50 * MSEC, "freeing it mid-way returns at once");
        fresh = action_new(1);
        REQUIRE(server_action_repoint(fresh, &(server_action_source){.host = "h", .port = 1, .user = "u"},
                        deadline(5 * USEC_PER_SEC), on_action, &never) >= 0,
                "repoint");
        server_action_cancel(fresh);
        check(!server_action_is_running(fresh), "cancelled");
        t0 = now_usec() + 300 * MSEC;
        while (now_usec() < t0)
                REQUIRE(sd_event_run(event, 50 * MSEC) >= 0, "sd_event_run()");
        check(!never.done, "no handler call after free or cancel");
        RUN(other, server_action_observe(sa[3], deadline(USEC_PER_SEC), on_action, &other));
        check(other.code == SERVER_ACTION_OK, "the other servers' actions unaffected");
        REQUIRE(cluster("kill", "1", "CONT", NULL), "server 1 continued (SIGCONT)");
        RUN(o, server_action_observe(fresh, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && o.read_only, "after SIGCONT, the cancelled object works again");
        server_action_free(fresh);
        sd_event_source_disable_unref(tick);
}

/* Last: server 1 (a replica of 3) loses what it did not apply. */
static void test_discard(void) {
        outcome o, p3;

        REQUIRE(sql_as(1, "sentinel", "STOP SLAVE SQL_THREAD", NULL).number == 0,
                "replica 1: SQL thread stopped");
        app_write(3, "INSERT INTO app.t VALUES (600, 0)");
        observe(3, &p3);
        received(1, 3);
        RUN(o, server_action_promote(
                       sa[1], SERVER_ACTION_DISCARD_UNAPPLIED, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_OK && !o.read_only && slave_status(1, NULL).n_rows == 0 &&
                        !streq(o.current, p3.binlog),
                "promote 1 with SERVER_ACTION_DISCARD_UNAPPLIED: ok, at %s without %s", o.current,
                p3.binlog);
}

static void test_refused_and_invalid(void) {
        server_action *a = NULL;
        outcome o;

        REQUIRE(server_action_new(event,
                        &(server_action_params){
                                .host = "127.0.0.1", .port = 1, .user = "sentinel", .password = "x"},
                        &a) >= 0,
                "server_action_new(closed port)");
        RUN(o, server_action_fence(a, 0, deadline(5 * USEC_PER_SEC), on_action, &o));
        check(o.code == SERVER_ACTION_FAILED && o.error_class == PROBE_REFUSED && o.elapsed < 500 * MSEC,
                "fence of a closed port: failed, refused, at once (%s)", o.message);
        check(server_action_fence(a, 0, 0, on_action, &o) == -EINVAL &&
                        server_action_fence(a, 0, deadline(USEC_PER_SEC), NULL, &o) == -EINVAL &&
                        server_action_repoint(a, &(server_action_source){.port = 1}, deadline(USEC_PER_SEC),
                                on_action, &o) == -EINVAL &&
                        server_action_new(event, &(server_action_params){.host = "h", .user = "u"}, &a) ==
                                -EINVAL,
                "bad arguments: -EINVAL");
        server_action_free(a);
        check(server_action_free(NULL) == NULL, "server_action_free(NULL)");
}

int main(void) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        test_rejoin_rule();
        if (!getenv("MDB_DIR") || !getenv("MDB_CLUSTER_CMD")) {
                printf("# no cluster (MDB_DIR, MDB_CLUSTER_CMD): run "
                       "tests/integration/test-server-action.sh\n");
                return 77;
        }
        sentinel_password = read_line(env("MDB_SENTINEL_PASSWORD_FILE"), 1);
        repl_password = read_line(env("MDB_REPL_PASSWORD_FILE"), 1);
        app_password = read_line(env("MDB_APP_PASSWORD_FILE"), 1);
        REQUIRE(sentinel_password && repl_password && app_password, "passwords read");
        REQUIRE(sd_event_default(&event) >= 0, "sd_event_default()");
        for (int i = 1; i <= 3; i++)
                sa[i] = action_new(i);

        app_write(1, "CREATE TABLE app.t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB");
        app_write(1, "INSERT INTO app.t VALUES (1, 0), (2, 0), (3, 0)");
        catch_up_to(2, 1);
        catch_up_to(3, 1);

        test_fence_unfence();
        test_replica_semi_sync();
        test_catch_up();
        test_failover();
        test_password();
        test_diverged();
        test_stopped();
        test_discard();
        test_refused_and_invalid();

        for (int i = 1; i <= 3; i++)
                sa[i] = server_action_free(sa[i]);
        event = sd_event_unref(event);
        free(sentinel_password);
        free(repl_password);
        free(app_password);
        printf("# %u checks, %u failed\n", n_checks, n_failed);
        return n_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
