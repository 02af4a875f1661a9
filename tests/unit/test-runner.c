/* Unit tests for lib/io/runner.c with real processes on a real sd-event loop: exact environment and
 * stdin, exit statuses, output head, timeouts that kill the whole process group, no fd leaks, no
 * zombies, and a loop that keeps serving timers meanwhile. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "macro.h"
#include "runner.h"
#include "tmpdir-util.h"

#define MSEC USEC_PER_MSEC
#define SEC  USEC_PER_SEC

static char root[] = "/tmp/test-runner-XXXXXX";
static char tmpdir[TMPDIR_SIZE];

static void setup(void) {
        tmpdir_make(root, tmpdir);
}

static void teardown(void) {
        (void) tmpdir_rm_rf(tmpdir);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (uint64_t) ts.tv_sec * SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Writes an executable "#!/bin/sh" script tmpdir/name; %s in body is replaced by tmpdir. */
static void write_script(const char *name, const char *body, char path[static PATH_MAX]) {
        FILE *f;

        ck_assert_int_lt(snprintf(path, PATH_MAX, "%s/%s", tmpdir, name), PATH_MAX);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("#!/bin/sh\n", f);
        for (const char *b = body; *b; b++)
                if (b[0] == '%' && b[1] == 's') {
                        fputs(tmpdir, f);
                        b++;
                } else
                        fputc(*b, f);
        fputc('\n', f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(path, 0755), 0);
}

static char *read_file(const char *name, size_t *ret_size) {
        char path[PATH_MAX];
        char *buf = NULL;
        size_t size = 0;
        FILE *f, *m;
        int c;

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        f = fopen(path, "re");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        m = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(m);
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(f);
        fclose(m);
        if (ret_size)
                *ret_size = size;
        return buf;
}

static pid_t read_pid(const char *name) {
        _cleanup_free_ char *s = read_file(name, NULL);

        return (pid_t) atoi(s);
}

static bool file_exists(const char *name) {
        char path[PATH_MAX];

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        return access(path, F_OK) == 0;
}

/* The state letter of pid from /proc, 0 when there is no such process; *ret_pgrp its group. */
static char proc_state(pid_t pid, pid_t *ret_pgrp) {
        char path[64], buf[512], *p, state = 0;
        int ppid, pgrp = 0;
        FILE *f;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
                sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
                state = 0;
        fclose(f);
        if (ret_pgrp)
                *ret_pgrp = pgrp;
        return state;
}

/* Whether pid runs (zombies left to a non-reaping init do not count). */
static bool proc_alive(pid_t pid) {
        char s = proc_state(pid, NULL);

        return s != 0 && s != 'Z' && s != 'X';
}

/* Live processes in group pgid. */
static unsigned group_alive(pid_t pgid) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                pid_t pid = (pid_t) atoi(de->d_name), pgrp = 0;
                char s;

                if (pid <= 0)
                        continue;
                s = proc_state(pid, &pgrp);
                if (s != 0 && s != 'Z' && s != 'X' && pgrp == pgid)
                        n++;
        }
        closedir(d);
        return n;
}

/* SIGKILL is delivered at once but a process takes a moment to go: wait up to a second. */
static bool wait_group_gone(pid_t pgid) {
        for (int i = 0; i < 100; i++) {
                if (group_alive(pgid) == 0)
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

static bool wait_pid_gone(pid_t pid) {
        for (int i = 0; i < 100; i++) {
                if (!proc_alive(pid))
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

/* Whether this process has no child left, not even a zombie. */
static bool no_children(void) {
        siginfo_t si = {};

        return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

static unsigned fd_count(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

typedef struct run_state {
        bool done;
        runner_result res;
        unsigned ticks;
        bool free_in_handler;
} run_state;

static void on_done(runner *r, const runner_result *res, void *userdata) {
        run_state *s = userdata;

        s->res = *res;
        s->done = true;
        ck_assert(!runner_is_running(r));
        if (s->free_in_handler)
                runner_free(r);
}

static int on_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        unsigned *ticks = userdata;

        (*ticks)++;
        ck_assert_int_ge(sd_event_source_set_time(src, usec + 50 * MSEC), 0);
        ck_assert_int_ge(sd_event_source_set_enabled(src, SD_EVENT_ON), 0);
        return 0;
}

/* Runs e until *flag, at most max_usec. */
static void loop_until(sd_event *e, const bool *flag, uint64_t max_usec) {
        uint64_t deadline = now_usec() + max_usec;

        while (!*flag) {
                ck_assert_msg(now_usec() < deadline, "timed out waiting");
                ck_assert_int_ge(sd_event_run(e, 100 * MSEC), 0);
        }
}

/* Starts command and runs the loop until it completes. */
static void run(sd_event *e, const runner_params *p, run_state *s) {
        runner *r = NULL;

        *s = (run_state){.free_in_handler = true};
        ck_assert_int_eq(runner_start(e, p, on_done, s, &r), 0);
        ck_assert(runner_is_running(r));
        ck_assert_int_gt(runner_get_pid(r), 0);
        loop_until(e, &s->done, 20 * SEC);
}

/* Lets sd-event create its lazy fds (timerfd, ...) so that fd counts compare. */
static void warm_up(sd_event *e) {
        run_state s;

        run(e, &(runner_params){.command = "/bin/true", .timeout_usec = 10 * SEC}, &s);
        ck_assert(runner_result_success(&s.res));
}

START_TEST(test_env_and_stdin_exact) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ char *env = NULL, *in = NULL;
        char *const envp[] = {"A=1", "B=two words", "EMPTY=", NULL};
        const char input[] = "{\"event\":\"odown\"}\n";
        char path[PATH_MAX];
        size_t n;
        run_state s;

        ck_assert_int_eq(setenv("RUNNER_TEST_LEAK", "must-not-be-seen", 1), 0);
        write_script("dump", "cat /proc/$$/environ > %s/env\ncat > %s/stdin\necho dumped", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        run(e,
                &(runner_params){.command = path,
                        .env = envp,
                        .input = input,
                        .input_size = strlen(input),
                        .timeout_usec = 10 * SEC},
                &s);
        ck_assert(runner_result_success(&s.res));
        ck_assert_str_eq(s.res.output, "dumped\n");

        env = read_file("env", &n);
        ck_assert_uint_eq(n, sizeof("A=1\0B=two words\0EMPTY=\0") - 1);
        ck_assert_mem_eq(env, "A=1\0B=two words\0EMPTY=\0", n);
        in = read_file("stdin", &n);
        ck_assert_uint_eq(n, strlen(input));
        ck_assert_mem_eq(in, input, n);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_empty_env_and_big_input) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ char *big = malloc(1024 * 1024), *env = NULL;
        char path[PATH_MAX], quiet[PATH_MAX];
        size_t n = 1;
        run_state s;

        ck_assert_ptr_nonnull(big);
        memset(big, 'j', 1024 * 1024);
        /* More than a pipe holds: a memfd takes it whole. */
        write_script("count", "cat /proc/$$/environ > %s/env\nexec wc -c", path);
        write_script("quiet", "exit 0", quiet);
        ck_assert_int_eq(sd_event_new(&e), 0);
        run(e,
                &(runner_params){
                        .command = path, .input = big, .input_size = 1024 * 1024, .timeout_usec = 10 * SEC},
                &s);
        ck_assert(runner_result_success(&s.res));
        ck_assert_str_eq(s.res.output, "1048576\n");
        env = read_file("env", &n);
        ck_assert_uint_eq(n, 0);

        /* A child that never reads its stdin is no problem either. */
        run(e,
                &(runner_params){
                        .command = quiet, .input = big, .input_size = 1024 * 1024, .timeout_usec = 10 * SEC},
                &s);
        ck_assert(runner_result_success(&s.res));
        ck_assert_uint_eq(s.res.output_size, 0);
        ck_assert(!s.res.output_truncated);
}
END_TEST

static const struct {
        const char *body;
        int code, status;
        bool success;
        const char *describe;
} exit_cases[] = {
        {"exit 0", CLD_EXITED, 0, true, "exited with status 0"},
        {"exit 3", CLD_EXITED, 3, false, "exited with status 3"},
        {"exit 255", CLD_EXITED, 255, false, "exited with status 255"},
        {"kill -USR1 $$", CLD_KILLED, SIGUSR1, false, "killed by signal USR1"},
        {"kill -KILL $$", CLD_KILLED, SIGKILL, false, "killed by signal KILL"},
};

START_TEST(test_exit_status) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX], d[RUNNER_DESCRIBE_MAX];
        run_state s;

        write_script("exit", exit_cases[_i].body, path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert_int_eq(s.res.code, exit_cases[_i].code);
        ck_assert_int_eq(s.res.status, exit_cases[_i].status);
        ck_assert_int_eq(runner_result_success(&s.res), exit_cases[_i].success);
        ck_assert(!s.res.timed_out);
        ck_assert(!s.res.killed);
        ck_assert_int_eq(s.res.exec_error, 0);
        ck_assert_str_eq(runner_result_describe(&s.res, d, sizeof(d)), exit_cases[_i].describe);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_exec_errors) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX], d[RUNNER_DESCRIBE_MAX];
        runner *r = NULL;
        run_state s;

        ck_assert_int_eq(sd_event_new(&e), 0);
        (void) snprintf(path, sizeof(path), "%s/missing", tmpdir);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert_int_eq(s.res.exec_error, -ENOENT);
        ck_assert_int_eq(s.res.code, CLD_EXITED);
        ck_assert_int_eq(s.res.status, 127);
        ck_assert(!runner_result_success(&s.res));
        ck_assert_str_eq(runner_result_describe(&s.res, d, sizeof(d)),
                "could not be executed: No such file or directory");

        write_script("noexec", "exit 0", path);
        ck_assert_int_eq(chmod(path, 0644), 0);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert_int_eq(s.res.exec_error, -EACCES);

        ck_assert_int_eq(
                runner_start(e, &(runner_params){.command = "sh", .timeout_usec = SEC}, NULL, NULL, &r),
                -EINVAL);
        ck_assert_int_eq(runner_start(e, &(runner_params){.command = "/bin/true"}, NULL, NULL, &r), -EINVAL);
        ck_assert_int_eq(
                runner_start(e,
                        &(runner_params){.command = "/bin/true", .input_size = 3, .timeout_usec = SEC}, NULL,
                        NULL, &r),
                -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_ptr_null(runner_free(NULL));
        ck_assert(no_children());
}
END_TEST

START_TEST(test_output_head) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX];
        run_state s;

        ck_assert_int_eq(sd_event_new(&e), 0);
        write_script("both", "echo out\necho err >&2\necho out2", path);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert_str_eq(s.res.output, "out\nerr\nout2\n");
        ck_assert_uint_eq(s.res.output_size, 13);
        ck_assert(!s.res.output_truncated);

        write_script("exact", "head -c 4096 /dev/zero | tr '\\0' x", path);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert_uint_eq(s.res.output_size, RUNNER_OUTPUT_HEAD);
        ck_assert(!s.res.output_truncated);

        /* Much more than the head, and than a pipe holds: drained, the child never blocks. */
        write_script("chatty", "head -c 1000000 /dev/zero | tr '\\0' y\necho tail", path);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert(runner_result_success(&s.res));
        ck_assert_uint_eq(s.res.output_size, RUNNER_OUTPUT_HEAD);
        ck_assert_uint_eq(strlen(s.res.output), RUNNER_OUTPUT_HEAD);
        ck_assert_uint_eq(strspn(s.res.output, "y"), RUNNER_OUTPUT_HEAD);
        ck_assert(s.res.output_truncated);
}
END_TEST

/* A hook that never ends: killed at its timeout by SIGTERM, while the loop keeps serving a timer. */
START_TEST(test_timeout_term) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        char path[PATH_MAX], d[RUNNER_DESCRIBE_MAX];
        runner *r = NULL;
        uint64_t t0, t1;
        run_state s = {};

        write_script("forever", "exec sleep 1000", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_ge(
                sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 50 * MSEC, 1, on_tick, &s.ticks), 0);
        ck_assert_int_ge(sd_event_source_set_enabled(tick, SD_EVENT_ON), 0);

        t0 = now_usec();
        ck_assert_int_eq(runner_start(e, &(runner_params){.command = path, .timeout_usec = 500 * MSEC},
                                 on_done, &s, &r),
                0);
        t1 = now_usec();
        ck_assert_uint_lt(t1 - t0, 100 * MSEC); /* the caller is not delayed */
        loop_until(e, &s.done, 10 * SEC);
        ck_assert_uint_ge(now_usec() - t0, 500 * MSEC);
        ck_assert_uint_ge(s.ticks, 7); /* the loop kept serving the timer meanwhile */

        ck_assert(s.res.timed_out);
        ck_assert(!s.res.killed);
        ck_assert_int_eq(s.res.code, CLD_KILLED);
        ck_assert_int_eq(s.res.status, SIGTERM);
        ck_assert_uint_ge(s.res.duration_usec, 500 * MSEC);
        ck_assert_uint_lt(s.res.duration_usec, 2 * SEC);
        ck_assert_str_eq(
                runner_result_describe(&s.res, d, sizeof(d)), "killed by signal TERM after its timeout");
        runner_free(r);
        ck_assert(wait_group_gone(s.res.pid));
        ck_assert(no_children());
}
END_TEST

/* A hook that ignores SIGTERM (and so do its children): SIGKILL after the grace. */
START_TEST(test_timeout_trap_term) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX];
        run_state s;

        write_script("stubborn", "trap '' TERM\necho $$ > %s/pid\nwhile :; do sleep 0.05; done", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        run(e, &(runner_params){.command = path, .timeout_usec = 300 * MSEC, .kill_grace_usec = 300 * MSEC},
                &s);
        ck_assert(s.res.timed_out);
        ck_assert(s.res.killed);
        ck_assert_int_eq(s.res.code, CLD_KILLED);
        ck_assert_int_eq(s.res.status, SIGKILL);
        ck_assert_int_eq(read_pid("pid"), s.res.pid);
        ck_assert_uint_ge(s.res.duration_usec, 600 * MSEC);
        ck_assert(wait_group_gone(s.res.pid));
        ck_assert(no_children());
}
END_TEST

static const struct {
        const char *body;
        bool timed_out;
} grandchild_cases[] = {
        /* A sleeping grandchild: the group's SIGTERM ends it. */
        {"sleep 1000 &\necho $! > %s/gc\nexec sleep 1000", true},
        /* One that ignores SIGTERM while the leader dies of it: SIGKILL when the leader is gone. */
        {"(trap '' TERM; exec sleep 1000) &\necho $! > %s/gc\nexec sleep 1000", true},
        /* Left behind by a hook that exits at once: it does not outlive the hook. */
        {"sleep 1000 &\necho $! > %s/gc\nexit 0", false},
};

START_TEST(test_timeout_grandchild) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX];
        pid_t gc, pgrp = 0;
        run_state s;

        write_script("family", grandchild_cases[_i].body, path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        run(e, &(runner_params){.command = path, .timeout_usec = 400 * MSEC}, &s);
        ck_assert_int_eq(s.res.timed_out, grandchild_cases[_i].timed_out);
        gc = read_pid("gc");
        ck_assert_int_gt(gc, 0);
        /* It was in the hook's group (or already gone). */
        if (proc_state(gc, &pgrp) != 0)
                ck_assert_int_eq(pgrp, s.res.pid);
        ck_assert(wait_pid_gone(gc));
        ck_assert(wait_group_gone(s.res.pid));
        ck_assert(no_children());
}
END_TEST

/* Freeing a runner whose child runs kills the group and reaps: no zombie, no fd left. */
START_TEST(test_free_while_running) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX];
        unsigned fds;
        runner *r = NULL;
        pid_t pid, gc;
        run_state s = {};

        write_script(
                "family", "sleep 1000 &\necho $! > %s/gc.tmp\nmv %s/gc.tmp %s/gc\nexec sleep 1000", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        warm_up(e);
        fds = fd_count();

        /* Freed before the loop ever ran, maybe before the child has run at all. */
        ck_assert_int_eq(runner_start(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC},
                                 on_done, &s, &r),
                0);
        pid = runner_get_pid(r);
        r = runner_free(r);
        ck_assert(!s.done);
        ck_assert(no_children());
        ck_assert(wait_group_gone(pid));
        ck_assert_uint_eq(fd_count(), fds);

        /* Freed while it and its grandchild run. */
        ck_assert_int_eq(runner_start(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC},
                                 on_done, &s, &r),
                0);
        pid = runner_get_pid(r);
        for (int i = 0; i < 500 && !file_exists("gc"); i++)
                ck_assert_int_ge(sd_event_run(e, 10 * MSEC), 0);
        gc = read_pid("gc");
        ck_assert(proc_alive(gc));
        r = runner_free(r);
        ck_assert(!s.done);
        ck_assert(no_children());
        ck_assert(wait_pid_gone(gc));
        ck_assert(wait_group_gone(pid));
        ck_assert_uint_eq(fd_count(), fds);
        /* The loop has nothing left to dispatch for it. */
        ck_assert_int_eq(sd_event_run(e, 50 * MSEC), 0);
}
END_TEST

/* The child gets 0, 1 and 2 and nothing else, even an fd the test leaks on purpose. */
START_TEST(test_no_fd_leak) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_close_ int leaky = -1, cloexec = -1;
        char path[PATH_MAX], *line, *save = NULL;
        unsigned fds, seen = 0;
        run_state s;

        leaky = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: the runner must close it anyway */
        cloexec = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(leaky, 0);
        ck_assert_int_ge(cloexec, 0);
        write_script("fds", "exec /bin/ls -l /proc/self/fd", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        warm_up(e);
        fds = fd_count();
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert(runner_result_success(&s.res));

        for (line = strtok_r(s.res.output, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *arrow = strstr(line, " -> "), *p;
                int fd;

                if (!arrow)
                        continue; /* "total 0" */
                for (p = arrow; p > line && p[-1] != ' '; p--)
                        ;
                fd = atoi(p);
                switch (fd) {
                case 0:
                        ck_assert_msg(strstr(arrow, "/memfd:"), "stdin: %s", line);
                        break;
                case 1:
                case 2:
                        ck_assert_msg(strstr(arrow, "pipe:"), "fd %d: %s", fd, line);
                        break;
                case 3: /* ls' own handle on the directory it lists */
                        ck_assert_msg(strstr(arrow, "/fd"), "fd 3: %s", line);
                        break;
                default:
                        ck_abort_msg("leaked fd: %s", line);
                }
                seen |= 1u << fd;
        }
        ck_assert_uint_eq(seen, 0xf);
        ck_assert_uint_eq(fd_count(), fds);
}
END_TEST

/* Ignored and blocked signals of the daemon are not the child's. */
START_TEST(test_signals_reset) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        char path[PATH_MAX];
        sigset_t more;
        run_state s;

        ck_assert(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
        ck_assert(signal(SIGHUP, SIG_IGN) != SIG_ERR);
        sigemptyset(&more);
        sigaddset(&more, SIGUSR2);
        sigaddset(&more, SIGTERM);
        ck_assert_int_eq(sigprocmask(SIG_BLOCK, &more, NULL), 0);
        write_script("sigs", "exec grep -E '^(SigBlk|SigIgn):' /proc/self/status", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        run(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC}, &s);
        ck_assert_str_eq(s.res.output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}
END_TEST

/* Many at once, all reaped, nothing leaked. */
START_TEST(test_many) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        run_state states[32] = {};
        runner *rs[32] = {};
        char path[PATH_MAX];
        unsigned fds;

        write_script("quick", "echo $$", path);
        ck_assert_int_eq(sd_event_new(&e), 0);
        warm_up(e);
        fds = fd_count();
        for (size_t i = 0; i < ELEMENTSOF(rs); i++)
                ck_assert_int_eq(runner_start(e, &(runner_params){.command = path, .timeout_usec = 10 * SEC},
                                         on_done, &states[i], &rs[i]),
                        0);
        for (size_t i = 0; i < ELEMENTSOF(rs); i++) {
                loop_until(e, &states[i].done, 20 * SEC);
                ck_assert(runner_result_success(&states[i].res));
                ck_assert_int_eq(atoi(states[i].res.output), states[i].res.pid);
                rs[i] = runner_free(rs[i]); /* after completion: only frees */
        }
        ck_assert(no_children());
        ck_assert_uint_eq(fd_count(), fds);
}
END_TEST

/* sd-event child sources need SIGCHLD blocked: refused before anything is forked. */
START_TEST(test_sigchld_not_blocked) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        runner *r = NULL;
        sigset_t chld;

        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        ck_assert_int_eq(sigprocmask(SIG_UNBLOCK, &chld, NULL), 0);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(runner_start(e, &(runner_params){.command = "/bin/true", .timeout_usec = SEC}, NULL,
                                 NULL, &r),
                -EBUSY);
        ck_assert_ptr_null(r);
        ck_assert(no_children());
        ck_assert_int_eq(sigprocmask(SIG_BLOCK, &chld, NULL), 0);
}
END_TEST

static Suite *runner_suite(void) {
        Suite *s = suite_create("runner");
        TCase *tc = tcase_create("processes");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_env_and_stdin_exact);
        tcase_add_test(tc, test_empty_env_and_big_input);
        tcase_add_loop_test(tc, test_exit_status, 0, ELEMENTSOF(exit_cases));
        tcase_add_test(tc, test_exec_errors);
        tcase_add_test(tc, test_output_head);
        tcase_add_test(tc, test_timeout_term);
        tcase_add_test(tc, test_timeout_trap_term);
        tcase_add_loop_test(tc, test_timeout_grandchild, 0, ELEMENTSOF(grandchild_cases));
        tcase_add_test(tc, test_free_while_running);
        tcase_add_test(tc, test_no_fd_leak);
        tcase_add_test(tc, test_signals_reset);
        tcase_add_test(tc, test_many);
        tcase_add_test(tc, test_sigchld_not_blocked);
        suite_add_tcase(s, tc);
        return s;
}

/* Check runs each test in a child that _exit()s when an assertion fails, leaving any hook process
 * running. As their subreaper, main() inherits them then: kills them, their groups, and whatever
 * those leave behind, and reaps them all. Only our own descendants, by pid. */
static void kill_orphans(void) {
        for (;;) {
                DIR *d = opendir("/proc");
                struct dirent *de;

                if (!d)
                        return;
                while ((de = readdir(d))) {
                        char path[64], buf[512], *p;
                        int pid = atoi(de->d_name), ppid = 0, pgrp = 0;
                        char state;
                        FILE *f;

                        if (pid <= 0)
                                continue;
                        (void) snprintf(path, sizeof(path), "/proc/%d/stat", pid);
                        f = fopen(path, "re");
                        if (!f)
                                continue;
                        if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
                                sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && ppid == getpid()) {
                                if (pgrp == pid)
                                        (void) kill(-pgrp, SIGKILL);
                                (void) kill(pid, SIGKILL);
                        }
                        fclose(f);
                }
                closedir(d);
                if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
                        return;
        }
}

int main(void) {
        SRunner *sr;
        sigset_t chld;
        int failed;

        /* As the daemon does: sd-event child sources need SIGCHLD blocked. */
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 || !mkdtemp(root)) {
                perror("setup");
                return EXIT_FAILURE;
        }
        sr = srunner_create(runner_suite());
        /* Tests in forked children: the orphans of a failed one come to us (see kill_orphans()). */
        if (srunner_fork_status(sr) == CK_FORK && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                perror("prctl");
                return EXIT_FAILURE;
        }
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        kill_orphans();
        (void) tmpdir_rm_rf(root);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
