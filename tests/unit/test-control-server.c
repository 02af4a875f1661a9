/* Unit tests for lib/io/control-server.c and lib/io/control-client.c: a real sd-event loop serving a
 * socket in a temp dir, raw clients in the same process (driven between loop iterations) and
 * sentinelctl's client library in forked children (some under another uid, when run as root). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "control-client.h"
#include "control-server.h"
#include "macro.h"
#include "tmpdir-util.h"

#define MSEC USEC_PER_MSEC

static char root[] = "/tmp/test-control-server-XXXXXX";
static char tmpdir[TMPDIR_SIZE];
static char sock_path[PATH_MAX];

typedef struct test_ctx {
        sd_event *event;
        control_server *server;
        control_client *pending; /* an answer the test owes */
        sd_event_source *later;
        size_t big; /* size of the history reply */
        unsigned handled, gone;
        int late_reply_r;                        /* what answering a gone client returned */
        char child_message[CONTROL_MESSAGE_MAX]; /* the last forked client's error message, or "" */
        unsigned n_reports;                      /* event callback calls */
        unsigned reported[_CONTROL_SERVER_EVENT_MAX], suppressed[_CONTROL_SERVER_EVENT_MAX];
        uid_t reported_uid;
} test_ctx;

static test_ctx t;

static uint64_t now_usec(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void on_gone(control_client *c, void *userdata) {
        t.gone++;
        t.late_reply_r = control_client_reply(c, NULL);
}

static int on_later(sd_event_source *es, uint64_t usec, void *userdata) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "new_primary", json_object_new_string("db-b"));
        ck_assert_int_eq(control_client_reply(t.pending, o), 0);
        t.pending = control_client_unref(t.pending);
        return 0;
}

/* ping, status: now; history: t.big bytes; switchover: 100 ms later; maintenance: never (kept);
 * why: a handler failure; reload: an error reply. */
static int handler(control_server *s, control_client *c, const control_request *req, void *userdata) {
        json_object *o = json_object_new_object();
        char *blob;

        t.handled++;
        switch (req->command) {
        case CONTROL_COMMAND_PING:
                json_object_object_add(o, "pong", json_object_new_boolean(true));
                return control_client_reply(c, o);
        case CONTROL_COMMAND_STATUS:
                json_object_object_add(
                        o, "cluster", req->cluster ? json_object_new_string(req->cluster) : NULL);
                return control_client_reply(c, o);
        case CONTROL_COMMAND_HISTORY:
                blob = malloc(t.big + 1);
                ck_assert_ptr_nonnull(blob);
                memset(blob, 'h', t.big);
                blob[t.big] = 0;
                json_object_object_add(o, "blob", json_object_new_string(blob));
                free(blob);
                return control_client_reply(c, o);
        case CONTROL_COMMAND_SWITCHOVER:
                json_object_put(o);
                t.pending = control_client_ref(c);
                control_client_set_gone_callback(c, on_gone, NULL);
                ck_assert_int_eq(control_client_set_reply_timeout(c, 10 * USEC_PER_SEC), 0);
                return sd_event_add_time_relative(
                        t.event, &t.later, CLOCK_MONOTONIC, 100 * MSEC, 0, on_later, NULL);
        case CONTROL_COMMAND_MAINTENANCE:
                json_object_put(o);
                t.pending = control_client_ref(c);
                control_client_set_gone_callback(c, on_gone, NULL);
                return 0;
        case CONTROL_COMMAND_WHY:
                json_object_put(o);
                return -EIO;
        default:
                json_object_put(o);
                ck_assert_int_eq(
                        control_client_reply_error(c, CONTROL_ERROR_REFUSED, "no: %s", "because"), 0);
                ck_assert_int_eq(control_client_reply_error(c, CONTROL_ERROR_REFUSED, "twice"), -EALREADY);
                return 0;
        }
}

static void start_server(const control_server_options *opts) {
        ck_assert_int_eq(control_server_new(t.event, sock_path, opts, handler, NULL, &t.server), 0);
}

static void setup(void) {
        tmpdir_make(root, tmpdir);
        ck_assert_int_lt(
                snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", tmpdir), (int) sizeof(sock_path));
        t = (test_ctx){.big = 1024};
        ck_assert_int_eq(sd_event_new(&t.event), 0);
}

static void teardown(void) {
        t.later = sd_event_source_unref(t.later);
        t.pending = control_client_unref(t.pending);
        t.server = control_server_free(t.server);
        t.event = sd_event_unref(t.event);
        (void) tmpdir_rm_rf(tmpdir);
}

/* ---- raw clients ---- */

static int raw_connect(void) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, sock_path);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static void run_for(uint64_t usec) {
        uint64_t end = now_usec() + usec;

        while (now_usec() < end)
                ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);
}

/* Sends data while running the loop; stops early when the server hangs up. */
static void raw_send(int fd, const void *data, size_t len) {
        size_t off = 0;
        uint64_t end = now_usec() + 5 * USEC_PER_SEC;

        while (off < len) {
                ssize_t n = send(fd, (const char *) data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                        return;
                if (n > 0)
                        off += (size_t) n;
                else
                        ck_assert_int_eq(errno, EAGAIN);
                ck_assert_int_ge(sd_event_run(t.event, 1 * MSEC), 0);
                ck_assert_uint_lt(now_usec(), end);
        }
}

/* Runs the loop until fd has a complete line (returned) or EOF (NULL), failing after timeout. */
static char *raw_reply(int fd, uint64_t timeout) {
        size_t len = 0, size = 256 * 1024;
        char *buf = malloc(size);
        uint64_t end = now_usec() + timeout;

        ck_assert_ptr_nonnull(buf);
        for (;;) {
                ssize_t n = recv(fd, buf + len, size - len - 1, MSG_DONTWAIT);
                char *nl;

                if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                        free(buf);
                        return NULL;
                }
                if (n > 0) {
                        len += (size_t) n;
                        buf[len] = 0;
                        nl = memchr(buf, '\n', len);
                        if (nl) {
                                *nl = 0;
                                return buf;
                        }
                        if (size - len < 1024) {
                                size *= 2;
                                buf = realloc(buf, size);
                                ck_assert_ptr_nonnull(buf);
                        }
                        continue;
                }
                ck_assert_int_eq(errno, EAGAIN);
                ck_assert_msg(now_usec() < end, "no reply in time");
                ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);
        }
}

/* Parses a reply line (taken) and checks it is an error with code; returns the message. */
static control_reply *expect_error(char *line, control_error code) {
        control_reply *reply = NULL;

        ck_assert_msg(line, "no reply");
        ck_assert_int_eq(control_reply_parse(line, strlen(line), &reply), 0);
        ck_assert_msg(
                !reply->ok && reply->error == code, "%s instead of %s", line, control_error_to_string(code));
        free(line);
        return reply;
}

static control_reply *expect_ok(char *line) {
        control_reply *reply = NULL;

        ck_assert_msg(line, "no reply");
        ck_assert_int_eq(control_reply_parse(line, strlen(line), &reply), 0);
        ck_assert_msg(reply->ok, "error reply: %s", line);
        free(line);
        return reply;
}

static void raw_send_str(int fd, const char *s) {
        raw_send(fd, s, strlen(s));
}

static void expect_eof(int fd) {
        ck_assert_ptr_null(raw_reply(fd, 2 * USEC_PER_SEC));
}

#define PING "{\"version\":1,\"command\":\"ping\"}\n"

/* ---- forked clients using control-client ---- */

typedef struct child_spec {
        uid_t uid; /* (uid_t) -1: stay */
        gid_t gid;
        gid_t groups[2];
        size_t n_groups;
        control_command command;
        const char *cluster;
        const void *raw; /* sent instead of a formatted request when set */
        size_t raw_len;
} child_spec;

/* Exit codes: 0 an ok reply, 10 + code an error reply (its message written to message_fd), 100 + errno
 * a failed open, 200 a failed call. */
static int child_main(const child_spec *spec, int message_fd) {
        _cleanup_(control_conn_closep) control_conn *c = NULL;
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        int r;

        if (spec->uid != (uid_t) -1 && (setgroups(spec->n_groups, spec->groups) < 0 ||
                                               setgid(spec->gid) < 0 || setuid(spec->uid) < 0))
                return 250;
        r = control_conn_open(sock_path, &c);
        if (r < 0)
                return 100 + (-r > 99 ? 99 : -r);
        if (spec->raw)
                r = control_conn_call_raw(c, spec->raw, spec->raw_len, 5 * USEC_PER_SEC, &reply);
        else
                r = control_conn_call(c, spec->command, spec->cluster, NULL, 5 * USEC_PER_SEC, &reply);
        if (r < 0)
                return 200;
        if (!reply->ok)
                (void) write(message_fd, reply->error_message, strlen(reply->error_message));
        return reply->ok ? 0 : 10 + (reply->error < 0 ? 80 : reply->error);
}

/* Runs spec in a child while the loop serves it; returns the child's exit code. */
static int run_child(const child_spec *spec) {
        uint64_t end = now_usec() + 10 * USEC_PER_SEC;
        int status, p[2];
        ssize_t n;
        pid_t pid;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                _exit(child_main(spec, p[1]));
        }
        close(p[1]);
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                ck_assert_int_ge(w, 0);
                if (w == pid)
                        break;
                if (now_usec() > end) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        ck_abort_msg("child did not finish");
                }
                ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);
        }
        n = read(p[0], t.child_message, sizeof(t.child_message) - 1);
        t.child_message[n > 0 ? n : 0] = 0;
        close(p[0]);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static child_spec client_as(control_command command, const char *cluster) {
        return (child_spec){.uid = (uid_t) -1, .command = command, .cluster = cluster};
}

/* ---- the tests ---- */

START_TEST(test_status_reply) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        control_server_stats st;
        json_object *v;
        child_spec spec = client_as(CONTROL_COMMAND_PING, NULL);
        int fd;

        start_server(NULL);
        ck_assert_str_eq(control_server_get_path(t.server), sock_path);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"status\",\"cluster\":\"main\"}\n");
        reply = expect_ok(raw_reply(fd, 2 * USEC_PER_SEC));
        ck_assert(json_object_object_get_ex(reply->result, "cluster", &v));
        ck_assert_str_eq(json_object_get_string(v), "main");
        expect_eof(fd);
        close(fd);
        run_for(20 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 0);

        /* sentinelctl's library, from another process. */
        ck_assert_int_eq(run_child(&spec), 0);
        spec.command = CONTROL_COMMAND_RELOAD;
        ck_assert_int_eq(run_child(&spec), 10 + CONTROL_ERROR_REFUSED);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.accepted, 3);
        ck_assert_uint_eq(st.replied, 3);
}
END_TEST

static const struct {
        const char *request;
        control_error code;
        const char *message;
} bad_requests[] = {
        {"not json\n", CONTROL_ERROR_BAD_REQUEST, "not a JSON request"},
        {"\n", CONTROL_ERROR_BAD_REQUEST, "empty"},
        {"{\"version\":1,\"command\":\"frobnicate\"}\n", CONTROL_ERROR_UNKNOWN_COMMAND, "frobnicate"},
        {"{\"version\":2,\"command\":\"ping\"}\n", CONTROL_ERROR_BAD_REQUEST, "version"},
        {"{\"version\":1,\"command\":\"ping\",\"x\":1}\n", CONTROL_ERROR_BAD_REQUEST, "unknown key"},
        {"{\"version\":1,\"command\":\"why\",\"cluster\":\"m\"}\n", CONTROL_ERROR_INTERNAL,
                "Input/output error"},
        {"{\"version\":1,\"command\":\"reload\"}\n", CONTROL_ERROR_REFUSED, "no: because"},
        {"{\"version\":1,\"command\":\"ping\"}", CONTROL_ERROR_BAD_REQUEST, "newline"}, /* then EOF */
        {"{\"version\":1,\"command\":\"ping\"}\0\n", CONTROL_ERROR_BAD_REQUEST, "NUL"},
};

START_TEST(test_bad_requests) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        const char *req = bad_requests[_i].request;
        size_t len = strlen(req);
        int fd;

        if (strstr(bad_requests[_i].message, "NUL"))
                len += 2;
        start_server(NULL);
        fd = raw_connect();
        raw_send(fd, req, len);
        if (req[len - 1] != '\n')
                ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        reply = expect_error(raw_reply(fd, 2 * USEC_PER_SEC), bad_requests[_i].code);
        ck_assert_msg(strstr(reply->error_message, bad_requests[_i].message), "%s", reply->error_message);
        expect_eof(fd);
        close(fd);

        /* The server goes on serving. */
        fd = raw_connect();
        raw_send_str(fd, PING);
        control_reply_free(expect_ok(raw_reply(fd, 2 * USEC_PER_SEC)));
        close(fd);
}
END_TEST

START_TEST(test_too_large) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        _cleanup_free_ char *big = malloc(CONTROL_REQUEST_MAX + 4096);
        control_server_stats st;
        child_spec spec = client_as(CONTROL_COMMAND_PING, NULL);
        int fd;

        memset(big, ' ', CONTROL_REQUEST_MAX + 4096);
        start_server(NULL);
        fd = raw_connect();
        raw_send(fd, big, CONTROL_REQUEST_MAX + 4096);
        reply = expect_error(raw_reply(fd, 2 * USEC_PER_SEC), CONTROL_ERROR_TOO_LARGE);
        close(fd);

        /* control-client reads the error even though the server stopped reading its request. */
        big[CONTROL_REQUEST_MAX + 4095] = '\n';
        spec.raw = big;
        spec.raw_len = CONTROL_REQUEST_MAX + 4096;
        ck_assert_int_eq(run_child(&spec), 10 + CONTROL_ERROR_TOO_LARGE);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_BAD_REQUEST], 2);
}
END_TEST

START_TEST(test_silent_client_dropped) {
        control_server_options opts = {.request_timeout_usec = 300 * MSEC};
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        control_server_stats st;
        uint64_t start = now_usec(), served;
        int silent, trickle, fd;

        start_server(&opts);
        silent = raw_connect();
        trickle = raw_connect();
        run_for(50 * MSEC);

        /* Served at once meanwhile. */
        fd = raw_connect();
        raw_send_str(fd, PING);
        control_reply_free(expect_ok(raw_reply(fd, USEC_PER_SEC)));
        close(fd);
        served = now_usec();
        ck_assert_uint_lt(served - start, 250 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 2);

        /* A byte now and then does not extend the deadline. */
        for (int i = 0; i < 5; i++) {
                raw_send_str(trickle, " ");
                run_for(40 * MSEC);
        }
        reply = expect_error(raw_reply(silent, USEC_PER_SEC), CONTROL_ERROR_TIMEOUT);
        ck_assert_uint_ge(now_usec() - start, 300 * MSEC);
        expect_eof(silent);
        control_reply_free(expect_error(raw_reply(trickle, USEC_PER_SEC), CONTROL_ERROR_TIMEOUT));
        run_for(10 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 0);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_REQUEST_TIMEOUT], 2);
        close(silent);
        close(trickle);
}
END_TEST

START_TEST(test_slow_reader_does_not_stall) {
        control_server_options opts = {.write_timeout_usec = 400 * MSEC};
        control_server_stats st;
        uint64_t start;
        int slow, fd;

        t.big = 4 * 1024 * 1024;
        start_server(&opts);
        slow = raw_connect();
        raw_send_str(slow, "{\"version\":1,\"command\":\"history\",\"cluster\":\"m\"}\n");
        run_for(50 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 1); /* stuck writing */

        start = now_usec();
        fd = raw_connect();
        raw_send_str(fd, PING);
        control_reply_free(expect_ok(raw_reply(fd, USEC_PER_SEC)));
        close(fd);
        ck_assert_uint_lt(now_usec() - start, 200 * MSEC);

        run_for(500 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 0);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_WRITE_TIMEOUT], 1);
        close(slow);
}
END_TEST

START_TEST(test_big_reply_and_too_big_reply) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        json_object *v;
        int fd;

        t.big = 3 * 1024 * 1024;
        start_server(NULL);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"history\",\"cluster\":\"m\"}\n");
        reply = expect_ok(raw_reply(fd, 5 * USEC_PER_SEC));
        ck_assert(json_object_object_get_ex(reply->result, "blob", &v));
        ck_assert_uint_eq(strlen(json_object_get_string(v)), t.big);
        close(fd);
        reply = control_reply_free(reply);

        t.big = CONTROL_REPLY_MAX;
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"history\",\"cluster\":\"m\"}\n");
        reply = expect_error(raw_reply(fd, 5 * USEC_PER_SEC), CONTROL_ERROR_INTERNAL);
        ck_assert_ptr_nonnull(strstr(reply->error_message, "larger than 16 MiB"));
        close(fd);
}
END_TEST

START_TEST(test_async_reply) {
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        uint64_t start = now_usec();
        json_object *v;
        int fd, other;

        start_server(NULL);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"switchover\",\"cluster\":\"main\",\"args\":{\"to\":"
                         "\"db-b\"}}\n");

        /* Others are served while the switchover runs. */
        other = raw_connect();
        raw_send_str(other, PING);
        control_reply_free(expect_ok(raw_reply(other, USEC_PER_SEC)));
        close(other);
        ck_assert_ptr_nonnull(t.pending);
        ck_assert(control_client_is_waiting(t.pending));
        ck_assert_uint_eq(control_client_get_peer(t.pending)->pid, getpid());

        reply = expect_ok(raw_reply(fd, 2 * USEC_PER_SEC));
        ck_assert_uint_ge(now_usec() - start, 100 * MSEC);
        ck_assert(json_object_object_get_ex(reply->result, "new_primary", &v));
        ck_assert_str_eq(json_object_get_string(v), "db-b");
        ck_assert_ptr_null(t.pending);
        ck_assert_uint_eq(t.gone, 0);
        close(fd);
}
END_TEST

START_TEST(test_async_client_goes_away) {
        int fd;

        start_server(NULL);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{"
                         "\"enabled\":true}}\n");
        run_for(30 * MSEC);
        ck_assert_ptr_nonnull(t.pending);
        close(fd);
        run_for(30 * MSEC);
        ck_assert_uint_eq(t.gone, 1);
        ck_assert_int_eq(t.late_reply_r, -ENOTCONN);
        ck_assert(!control_client_is_waiting(t.pending));
        ck_assert_int_eq(control_client_reply(t.pending, json_object_new_object()), -ENOTCONN);
        ck_assert_int_eq(control_client_reply_error(t.pending, CONTROL_ERROR_FAILED, "x"), -ENOTCONN);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 0);

        /* A half-close is not going away: the answer still arrives. */
        t.pending = control_client_unref(t.pending);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{"
                         "\"enabled\":true}}\n");
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        run_for(30 * MSEC);
        ck_assert(control_client_is_waiting(t.pending));
        ck_assert_int_eq(control_client_reply(t.pending, NULL), 0);
        control_reply_free(expect_ok(raw_reply(fd, USEC_PER_SEC)));
        close(fd);

        /* Freeing the server tells a waiting client's owner. */
        t.pending = control_client_unref(t.pending);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{"
                         "\"enabled\":true}}\n");
        run_for(30 * MSEC);
        ck_assert_ptr_nonnull(t.pending);
        t.server = control_server_free(t.server);
        ck_assert_uint_eq(t.gone, 2);
        ck_assert_int_eq(control_client_reply(t.pending, NULL), -ENOTCONN);
        expect_eof(fd);
        close(fd);
        ck_assert_int_eq(access(sock_path, F_OK), -1);
}
END_TEST

START_TEST(test_reply_timeout) {
        control_server_options opts = {.reply_timeout_usec = 200 * MSEC};
        control_server_stats st;
        int fd;

        start_server(&opts);
        fd = raw_connect();
        raw_send_str(fd, "{\"version\":1,\"command\":\"maintenance\",\"cluster\":\"m\",\"args\":{"
                         "\"enabled\":false}}\n");
        control_reply_free(expect_error(raw_reply(fd, USEC_PER_SEC), CONTROL_ERROR_TIMEOUT));
        ck_assert_int_eq(control_client_reply(t.pending, NULL), -EALREADY);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_REPLY_TIMEOUT], 1);
        close(fd);
}
END_TEST

START_TEST(test_busy_and_rate_limited) {
        control_server_options opts = {.max_clients = 2, .rate_burst = 4, .rate_per_sec = 1};
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        control_server_stats st;
        int a, b, c;

        start_server(&opts);
        a = raw_connect();
        b = raw_connect();
        run_for(20 * MSEC);
        c = raw_connect();
        reply = expect_error(raw_reply(c, USEC_PER_SEC), CONTROL_ERROR_BUSY);
        ck_assert_ptr_nonnull(strstr(reply->error_message, "too many control clients"));
        reply = control_reply_free(reply);
        close(c);
        close(a);
        close(b);
        run_for(20 * MSEC);

        /* a and b took two tokens (the refused c took none): two more pings pass, the third not. */
        for (int i = 0; i < 3; i++) {
                c = raw_connect();
                raw_send_str(c, PING);
                if (i < 2)
                        control_reply_free(expect_ok(raw_reply(c, USEC_PER_SEC)));
                else
                        reply = expect_error(raw_reply(c, USEC_PER_SEC), CONTROL_ERROR_BUSY);
                close(c);
        }
        ck_assert_msg(strstr(reply->error_message, "rate limited: uid ") == reply->error_message, "%s",
                reply->error_message);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_BUSY], 1);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_RATE_LIMITED], 1);
}
END_TEST

START_TEST(test_placement) {
        control_server *second = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        int fd;

        /* A live server keeps its path. */
        start_server(NULL);
        ck_assert_int_eq(control_server_new(t.event, sock_path, NULL, handler, NULL, &second), -EADDRINUSE);
        ck_assert_ptr_null(second);
        fd = raw_connect();
        raw_send_str(fd, PING);
        control_reply_free(expect_ok(raw_reply(fd, USEC_PER_SEC)));
        close(fd);
        t.server = control_server_free(t.server);
        ck_assert_int_eq(lstat(sock_path, &st), -1);

        /* A stale socket (bound, nobody listening) is replaced. */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, sock_path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        start_server(NULL);
        fd = raw_connect();
        raw_send_str(fd, PING);
        control_reply_free(expect_ok(raw_reply(fd, USEC_PER_SEC)));
        close(fd);

        /* A file that replaced our socket is left alone on exit. */
        ck_assert_int_eq(unlink(sock_path), 0);
        ck_assert_int_eq(close(open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        t.server = control_server_free(t.server);
        ck_assert_int_eq(lstat(sock_path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        /* Not a socket: refused, untouched. */
        ck_assert_int_eq(control_server_new(t.event, sock_path, NULL, handler, NULL, &second), -EEXIST);
        ck_assert_int_eq(lstat(sock_path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        ck_assert_int_eq(
                control_server_new(t.event, "/nonexistent-dir/x.sock", NULL, handler, NULL, &second),
                -ENOENT);
        ck_assert_int_eq(control_server_new(t.event, sock_path, NULL, NULL, NULL, &second), -EINVAL);
        memset(sa.sun_path, 'x', sizeof(sa.sun_path) - 1);
        sa.sun_path[sizeof(sa.sun_path) - 1] = 0;
        {
                char longp[sizeof(sa.sun_path) + 8];
                (void) snprintf(longp, sizeof(longp), "/tmp/%s", sa.sun_path);
                ck_assert_int_eq(
                        control_server_new(t.event, longp, NULL, handler, NULL, &second), -ENAMETOOLONG);
        }
        ck_assert_ptr_null(control_server_free(NULL));

        /* Nobody there: control-client says so. */
        {
                control_conn *c = NULL;
                ck_assert_int_eq(unlink(sock_path), 0);
                ck_assert_int_eq(control_conn_open(sock_path, &c), -ENOENT);
                ck_assert_ptr_nonnull(strstr(control_conn_strerror(-ENOENT), "is the daemon running"));
        }
}
END_TEST

/* How many fds this process has open. */
static unsigned n_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

START_TEST(test_mode) {
        static const mode_t umasks[] = {0, 022, 077, 0777};
        unsigned fds = 0;
        struct stat st;

        /* 0600 without a group: only the owner passes the kernel's check; 0660 and the group with one
         * (root can give the socket any group; anyone else, its own). */
        for (int with_group = 0; with_group < 2; with_group++) {
                control_server_options opts = {};
                mode_t want = with_group ? CONTROL_SOCKET_MODE_GROUP : CONTROL_SOCKET_MODE_PRIVATE;

                if (with_group)
                        opts = (control_server_options){
                                .has_group = true, .group = geteuid() == 0 ? 65533 : getegid()};
                for (size_t i = 0; i < ELEMENTSOF(umasks); i++) {
                        mode_t old = umask(umasks[i]);

                        start_server(&opts);
                        ck_assert_uint_eq(umask(old), umasks[i]); /* the caller's umask is left alone */
                        ck_assert_int_eq(lstat(sock_path, &st), 0);
                        ck_assert(S_ISSOCK(st.st_mode));
                        ck_assert_msg((st.st_mode & 07777) == want, "umask %03o: mode %04o, not %04o",
                                umasks[i], st.st_mode & 07777, want);
                        ck_assert_uint_eq(st.st_uid, geteuid());
                        if (opts.has_group)
                                ck_assert_uint_eq(st.st_gid, opts.group);
                        close(raw_connect()); /* a client that goes away, to see its fd closed too */
                        run_for(10 * MSEC);
                        t.server = control_server_free(t.server);
                        if (with_group == 0 && i == 0)
                                fds = n_fds();
                        ck_assert_uint_eq(n_fds(), fds);
                }
        }
}
END_TEST

static void on_event(control_server *s, control_server_event ev, const struct ucred *peer,
        unsigned n_suppressed, void *userdata) {
        ck_assert_int_ge(ev, 0);
        ck_assert_int_lt(ev, _CONTROL_SERVER_EVENT_MAX);
        t.n_reports++;
        t.reported[ev]++;
        t.suppressed[ev] += n_suppressed;
        if (peer)
                t.reported_uid = peer->uid;
}

/* Lets other users reach the socket's directory (the socket's own mode still applies). */
static void open_dirs(void) {
        ck_assert_int_eq(chmod(root, 0711), 0);
        ck_assert_int_eq(chmod(tmpdir, 0711), 0);
}

START_TEST(test_peer_credentials) {
        control_server_options opts = {.has_group = true, .group = 65533, .group_name = "ctl-test"};
        control_server_stats st;
        child_spec spec;

        if (geteuid() != 0) {
                fprintf(stderr,
                        "test_peer_credentials: skipped, needs root to run clients as other users\n");
                return;
        }
        open_dirs();

        /* No group: the socket is root's and 0600, so uid 65534 cannot even connect... */
        start_server(NULL);
        control_server_set_event_callback(t.server, on_event, NULL);
        spec = (child_spec){.uid = 65534, .gid = 0, .command = CONTROL_COMMAND_PING};
        ck_assert_int_eq(run_child(&spec), 100 + EACCES);
        /* ...and when the mode was loosened by mistake, SO_PEERCRED still refuses it, with one line. */
        ck_assert_int_eq(chmod(sock_path, 0666), 0);
        ck_assert_int_eq(run_child(&spec), 10 + CONTROL_ERROR_PERMISSION_DENIED);
        ck_assert_str_eq(t.child_message,
                "permission denied: uid 65534 is not root (no control group is configured)");
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_DENIED], 1);
        ck_assert_uint_eq(st.accepted, 0);
        ck_assert_uint_eq(t.reported[CONTROL_SERVER_EVENT_DENIED], 1);
        ck_assert_uint_eq(t.reported_uid, 65534);
        t.server = control_server_free(t.server);

        /* Group 65533: by primary gid, by supplementary group; anyone else cannot even connect. */
        start_server(&opts);
        control_server_set_event_callback(t.server, on_event, NULL);
        spec = (child_spec){.uid = 65534, .gid = 65533, .command = CONTROL_COMMAND_PING};
        ck_assert_int_eq(run_child(&spec), 0);
        spec = (child_spec){.uid = 65534,
                .gid = 12345,
                .groups = {65533},
                .n_groups = 1,
                .command = CONTROL_COMMAND_PING};
        ck_assert_int_eq(run_child(&spec), 0);
        spec = (child_spec){.uid = 65534,
                .gid = 12345,
                .groups = {4242},
                .n_groups = 1,
                .command = CONTROL_COMMAND_PING};
        ck_assert_int_eq(run_child(&spec), 100 + EACCES);

        /* The mode check alone would admit this one: the socket made world-writable by mistake. A burst
         * of them is counted in full and reported once. */
        ck_assert_int_eq(chmod(sock_path, 0666), 0);
        for (int i = 0; i < 5; i++) {
                ck_assert_int_eq(run_child(&spec), 10 + CONTROL_ERROR_PERMISSION_DENIED);
                ck_assert_str_eq(
                        t.child_message, "permission denied: uid 65534 is not root or in group ctl-test");
        }
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_DENIED], 5);
        ck_assert_uint_eq(st.replied, 2);
        ck_assert_uint_eq(t.reported[CONTROL_SERVER_EVENT_DENIED], 2); /* one per server */
        ck_assert_uint_eq(t.suppressed[CONTROL_SERVER_EVENT_DENIED], 0);
}
END_TEST

START_TEST(test_reports_throttled) {
        control_server_options opts = {.report_interval_usec = 300 * MSEC};
        control_server_stats st;
        int fd;

        start_server(&opts);
        control_server_set_event_callback(t.server, on_event, NULL);
        for (int i = 0; i < 4; i++) {
                if (i == 3)
                        run_for(350 * MSEC);
                fd = raw_connect();
                raw_send_str(fd, "not json\n");
                control_reply_free(expect_error(raw_reply(fd, USEC_PER_SEC), CONTROL_ERROR_BAD_REQUEST));
                close(fd);
        }
        /* Another event of the same uid has its own interval. */
        close(raw_connect());
        run_for(20 * MSEC);

        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_BAD_REQUEST], 4);
        ck_assert_uint_eq(t.reported[CONTROL_SERVER_EVENT_BAD_REQUEST], 2);
        ck_assert_uint_eq(
                t.suppressed[CONTROL_SERVER_EVENT_BAD_REQUEST], 2); /* told with the second report */
        ck_assert_uint_eq(t.reported[CONTROL_SERVER_EVENT_GONE], 1);
        ck_assert_uint_eq(t.reported_uid, geteuid());
        ck_assert_uint_eq(t.n_reports, 3);
}
END_TEST

/* In a child running as uid 65534 group 65533: opens n connections, says so on ready, holds them until
 * release is closed. Plain syscalls: no Check in the child. */
static void holder_main(unsigned n, int ready, int release) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        gid_t none[1] = {65533};
        char b = 1;

        if (setgroups(1, none) < 0 || setgid(65533) < 0 || setuid(65534) < 0)
                _exit(250);
        strcpy(sa.sun_path, sock_path);
        for (unsigned i = 0; i < n; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        _exit(100 + errno);
        }
        if (write(ready, &b, 1) != 1)
                _exit(251);
        (void) read(release, &b, 1);
        _exit(0);
}

/* The limits at their defaults: CONTROL_MAX_CLIENTS_PER_UID_DEFAULT silent connections of one uid, one
 * more refused; another uid still served, up to CONTROL_MAX_CLIENTS_DEFAULT in all; one more refused. */
START_TEST(test_connection_caps) {
        control_server_options opts = {};
        _cleanup_(control_reply_freep) control_reply *reply = NULL;
        int own[CONTROL_MAX_CLIENTS_PER_UID_DEFAULT], fd, ready[2], release[2], status;
        control_server_stats st;
        char m[128], b;
        pid_t pid;

        if (geteuid() == 0)
                opts = (control_server_options){.has_group = true, .group = 65533};
        start_server(&opts);
        for (unsigned i = 0; i < ELEMENTSOF(own); i++)
                own[i] = raw_connect();
        run_for(20 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), CONTROL_MAX_CLIENTS_PER_UID_DEFAULT);

        fd = raw_connect();
        reply = expect_error(raw_reply(fd, USEC_PER_SEC), CONTROL_ERROR_BUSY);
        (void) snprintf(m, sizeof(m), "too many control connections from uid %u (%u)", (unsigned) geteuid(),
                CONTROL_MAX_CLIENTS_PER_UID_DEFAULT);
        ck_assert_msg(strstr(reply->error_message, m), "%s", reply->error_message);
        reply = control_reply_free(reply);
        expect_eof(fd);
        close(fd);

        if (geteuid() != 0)
                fprintf(stderr, "test_connection_caps: the other-uid half skipped, needs root\n");
        else {
                open_dirs();
                ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
                ck_assert_int_eq(pipe2(release, O_CLOEXEC), 0);
                pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        close(ready[0]);
                        close(release[1]);
                        for (unsigned i = 0; i < ELEMENTSOF(own); i++)
                                close(own[i]); /* else closing them in the parent would not hang up */
                        holder_main(CONTROL_MAX_CLIENTS_DEFAULT - CONTROL_MAX_CLIENTS_PER_UID_DEFAULT,
                                ready[1], release[0]);
                }
                close(ready[1]);
                close(release[0]);
                ck_assert_int_eq(read(ready[0], &b, 1), 1);
                for (uint64_t end = now_usec() + 2 * USEC_PER_SEC;
                        control_server_get_n_clients(t.server) < CONTROL_MAX_CLIENTS_DEFAULT &&
                        now_usec() < end;)
                        ck_assert_int_ge(sd_event_run(t.event, 5 * MSEC), 0);
                ck_assert_uint_eq(control_server_get_n_clients(t.server), CONTROL_MAX_CLIENTS_DEFAULT);

                /* The 33rd. */
                fd = raw_connect();
                reply = expect_error(raw_reply(fd, USEC_PER_SEC), CONTROL_ERROR_BUSY);
                (void) snprintf(m, sizeof(m), "too many control clients (%u)", CONTROL_MAX_CLIENTS_DEFAULT);
                ck_assert_msg(strstr(reply->error_message, m), "%s", reply->error_message);
                reply = control_reply_free(reply);
                close(fd);

                close(release[1]);
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert(WIFEXITED(status));
                ck_assert_int_eq(WEXITSTATUS(status), 0);
                close(ready[0]);
        }

        /* Once they are gone, served again. */
        for (unsigned i = 0; i < ELEMENTSOF(own); i++)
                close(own[i]);
        run_for(50 * MSEC);
        ck_assert_uint_eq(control_server_get_n_clients(t.server), 0);
        fd = raw_connect();
        raw_send_str(fd, PING);
        control_reply_free(expect_ok(raw_reply(fd, USEC_PER_SEC)));
        close(fd);
        control_server_get_stats(t.server, &st);
        ck_assert_uint_eq(st.events[CONTROL_SERVER_EVENT_BUSY], geteuid() == 0 ? 2 : 1);
}
END_TEST

static Suite *control_server_suite(void) {
        Suite *s = suite_create("control-server");
        TCase *tc = tcase_create("control-server");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_status_reply);
        tcase_add_loop_test(tc, test_bad_requests, 0, ELEMENTSOF(bad_requests));
        tcase_add_test(tc, test_too_large);
        tcase_add_test(tc, test_silent_client_dropped);
        tcase_add_test(tc, test_slow_reader_does_not_stall);
        tcase_add_test(tc, test_big_reply_and_too_big_reply);
        tcase_add_test(tc, test_async_reply);
        tcase_add_test(tc, test_async_client_goes_away);
        tcase_add_test(tc, test_reply_timeout);
        tcase_add_test(tc, test_busy_and_rate_limited);
        tcase_add_test(tc, test_placement);
        tcase_add_test(tc, test_mode);
        tcase_add_test(tc, test_peer_credentials);
        tcase_add_test(tc, test_reports_throttled);
        tcase_add_test(tc, test_connection_caps);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        if (!mkdtemp(root)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        sr = srunner_create(control_server_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        (void) tmpdir_rm_rf(root);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
