/* Unit tests for lib/io/hook.c with real hook scripts on a real sd-event loop: the SPEC 6 environment
 * and stdin as a hook sees them, event masks and classes, the notify queue cap (drop the oldest),
 * pre hook verdicts, timeouts, and freeing with hooks still running. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "hook.h"
#include "macro.h"
#include "tmpdir-util.h"

#define MSEC USEC_PER_MSEC
#define SEC  USEC_PER_SEC

static char root[] = "/tmp/test-hook-XXXXXX";
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

/* Writes an executable "#!/bin/sh" script tmpdir/name; each %s in body becomes tmpdir. */
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

/* The contents of tmpdir/name; NULL when it does not exist. */
static char *read_file(const char *name, size_t *ret_size) {
        char path[PATH_MAX];
        char *buf = NULL;
        size_t size = 0;
        FILE *f, *m;
        int c;

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        f = fopen(path, "re");
        if (!f)
                return NULL;
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

static unsigned dir_entries(const char *name) {
        char path[PATH_MAX];
        struct dirent *de;
        unsigned n = 0;
        DIR *d;

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        d = opendir(path);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void make_dir(const char *name) {
        char path[PATH_MAX];

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* Live processes in group pgid (zombies left to a non-reaping init do not count). */
static unsigned group_alive(pid_t pgid) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                char path[64], buf[512], *p, state = 0;
                int pid = atoi(de->d_name), ppid, pgrp = 0;
                FILE *f;

                if (pid <= 0)
                        continue;
                (void) snprintf(path, sizeof(path), "/proc/%d/stat", pid);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
                        sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && state != 'Z' &&
                        state != 'X' && pgrp == pgid)
                        n++;
                fclose(f);
        }
        closedir(d);
        return n;
}

static bool wait_group_gone(pid_t pgid) {
        for (int i = 0; i < 100; i++) {
                if (group_alive(pgid) == 0)
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

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

#define MAX_REPORTS 256

/* What the handlers saw. */
typedef struct seen {
        unsigned n_reports;
        unsigned by_outcome[_HOOK_OUTCOME_MAX];
        struct {
                char command[PATH_MAX];
                hook_class class;
                sentinel_event event;
                uint64_t epoch;
                hook_outcome outcome;
                bool has_result;
                runner_result result;
                int error;
        } reports[MAX_REPORTS];
        unsigned max_running, max_files;
        const char *running_dir; /* counted at each report and tick, when set */

        bool verdict_done;
        unsigned n_verdicts;
        bool allow;
        char veto_command[PATH_MAX];
        hook_outcome veto_outcome;
        runner_result veto_result;
        bool veto_has_result;
        int veto_error;

        unsigned ticks;
        bool free_in_report;
        hook_dispatcher **owner; /* for free_in_report */
} seen;

static void sample(hook_dispatcher *d, seen *s) {
        hook_stats st;

        hook_dispatcher_get_stats(d, &st);
        s->max_running = st.running > s->max_running ? st.running : s->max_running;
        if (s->running_dir) {
                unsigned n = dir_entries(s->running_dir);

                s->max_files = n > s->max_files ? n : s->max_files;
        }
}

static void on_report(hook_dispatcher *d, const hook_report *r, void *userdata) {
        seen *s = userdata;

        ck_assert_int_ge(r->outcome, 0);
        ck_assert_int_lt(r->outcome, _HOOK_OUTCOME_MAX);
        ck_assert_str_eq(r->cluster, "main");
        s->by_outcome[r->outcome]++;
        if (s->n_reports < MAX_REPORTS) {
                typeof(s->reports[0]) *x = &s->reports[s->n_reports];

                (void) snprintf(x->command, sizeof(x->command), "%s", r->hook->command);
                x->class = r->hook->class;
                x->event = r->event;
                x->epoch = r->epoch;
                x->outcome = r->outcome;
                x->has_result = r->result != NULL;
                if (r->result)
                        x->result = *r->result;
                x->error = r->error;
        }
        s->n_reports++;
        sample(d, s);
        if (s->free_in_report)
                *s->owner = hook_dispatcher_free(*s->owner);
}

static void on_verdict(hook_dispatcher *d, const hook_verdict *v, void *userdata) {
        seen *s = userdata;

        s->verdict_done = true;
        s->n_verdicts++;
        s->allow = v->allow;
        if (!v->allow) {
                ck_assert_ptr_nonnull(v->hook);
                (void) snprintf(s->veto_command, sizeof(s->veto_command), "%s", v->hook->command);
                s->veto_outcome = v->outcome;
                s->veto_has_result = v->result != NULL;
                if (v->result)
                        s->veto_result = *v->result;
                s->veto_error = v->error;
        } else
                ck_assert_ptr_null(v->hook);
}

static int on_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        seen *s = userdata;

        s->ticks++;
        if (s->running_dir) {
                unsigned n = dir_entries(s->running_dir);

                s->max_files = n > s->max_files ? n : s->max_files;
        }
        ck_assert_int_ge(sd_event_source_set_time(src, usec + 20 * MSEC), 0);
        ck_assert_int_ge(sd_event_source_set_enabled(src, SD_EVENT_ON), 0);
        return 0;
}

static void loop_until_reports(sd_event *e, const seen *s, unsigned n, uint64_t max_usec) {
        uint64_t deadline = now_usec() + max_usec;

        while (s->n_reports < n) {
                ck_assert_msg(now_usec() < deadline, "timed out waiting: %u of %u reports", s->n_reports, n);
                ck_assert_int_ge(sd_event_run(e, 100 * MSEC), 0);
        }
}

static void loop_until_verdict(sd_event *e, const seen *s, uint64_t max_usec) {
        uint64_t deadline = now_usec() + max_usec;

        while (!s->verdict_done) {
                ck_assert_msg(now_usec() < deadline, "timed out waiting for the verdict");
                ck_assert_int_ge(sd_event_run(e, 100 * MSEC), 0);
        }
}

/* Runs the loop for usec, whatever happens. */
static void loop_for(sd_event *e, uint64_t usec) {
        uint64_t deadline = now_usec() + usec;

        while (now_usec() < deadline)
                ck_assert_int_ge(sd_event_run(e, 10 * MSEC), 0);
}

static hook_event event_of(sentinel_event e, uint64_t epoch) {
        return (hook_event){
                .event = e,
                .cluster = "main",
                .epoch = epoch,
                .sentinel_name = "s1",
                .sentinel_zone = "az-a",
                .old_primary = {.name = "db1", .host = "10.0.0.1", .port = 3306},
                .new_primary = {.name = "db2", .host = "10.0.0.2", .port = 3306},
                .message = "failing over",
                .realtime_usec = 1795923667ULL * SEC,
        };
}

static hook_conf hook_of(char *command, event_mask mask, hook_class class, uint64_t timeout_ms) {
        return (hook_conf){.command = command, .event_mask = mask, .class = class, .timeout_ms = timeout_ms};
}

static const char expected_env[] = "SENTINEL_EVENT=failover-start\0"
                                   "SENTINEL_CLUSTER=main\0"
                                   "SENTINEL_EPOCH=7\0"
                                   "SENTINEL_SEVERITY=critical\0"
                                   "SENTINEL_NAME=s1\0"
                                   "SENTINEL_ZONE=az-a\0"
                                   "SENTINEL_OLD_PRIMARY=db1 10.0.0.1:3306\0"
                                   "SENTINEL_NEW_PRIMARY=db2 10.0.0.2:3306\0"
                                   "SENTINEL_MESSAGE=failing over\0"
                                   "PATH=/usr/sbin:/usr/bin:/sbin:/bin\0"
                                   "LANG=C.UTF-8\0";

START_TEST(test_notify_env_and_stdin) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        _cleanup_(hook_invocation_freep) hook_invocation *inv = NULL;
        _cleanup_free_ char *env = NULL, *in = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 7);
        char path[PATH_MAX];
        hook_conf hooks[1];
        hook_stats st;
        seen s = {};
        size_t n;

        ck_assert_int_eq(setenv("HOOK_TEST_LEAK", "must-not-be-seen", 1), 0);
        write_script("dump", "cat /proc/$$/environ > %s/env\ncat > %s/stdin\necho dumped", path);
        hooks[0] = hook_of(path, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 5000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, &s, &d), 0);

        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 1, &ev), 1);
        /* Queued only: nothing forked, nothing reported from within the call. */
        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.queued, 1);
        ck_assert_uint_eq(st.running, 0);
        ck_assert_uint_eq(st.runs, 0);
        ck_assert_uint_eq(s.n_reports, 0);

        loop_until_reports(e, &s, 1, 10 * SEC);
        ck_assert_int_eq(s.reports[0].outcome, HOOK_OUTCOME_SUCCESS);
        ck_assert_str_eq(s.reports[0].command, path);
        ck_assert_int_eq(s.reports[0].event, EVENT_FAILOVER_START);
        ck_assert_uint_eq(s.reports[0].epoch, 7);
        ck_assert(s.reports[0].has_result);
        ck_assert_str_eq(s.reports[0].result.output, "dumped\n");

        env = read_file("env", &n);
        ck_assert_ptr_nonnull(env);
        ck_assert_uint_eq(n, sizeof(expected_env) - 1);
        ck_assert_mem_eq(env, expected_env, n);
        ck_assert_ptr_null(memmem(env, n, "HOOK_TEST_LEAK", 14));

        /* Byte for byte the event's JSON (test-hook-event checks its contents), one line. */
        ck_assert_int_eq(hook_event_build(&ev, HOOK_TARGET_HOOK, &inv), 0);
        in = read_file("stdin", &n);
        ck_assert_ptr_nonnull(in);
        ck_assert_uint_eq(n, inv->input_size);
        ck_assert_mem_eq(in, inv->input, n);
        ck_assert_ptr_eq(strchr(in, '\n'), in + n - 1);

        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.runs, 1);
        ck_assert_uint_eq(st.failures, 0);
        ck_assert_uint_eq(st.running, 0);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_mask_and_class) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 1);
        char pa[PATH_MAX], pb[PATH_MAX], pc[PATH_MAX];
        hook_conf hooks[3];
        seen s = {};

        write_script("a", "touch %s/ran-a", pa);
        write_script("b", "touch %s/ran-b", pb);
        write_script("c", "touch %s/ran-c", pc);
        hooks[0] = hook_of(pa, EVENT_MASK(EVENT_FAILOVER_START) | EVENT_MASK(EVENT_FAILOVER_END),
                HOOK_CLASS_NOTIFY, 5000);
        hooks[1] = hook_of(pb, EVENT_MASK(EVENT_ODOWN), HOOK_CLASS_NOTIFY, 5000);
        hooks[2] = hook_of(pc, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, &s, &d), 0);

        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 3, &ev), 1);
        loop_until_reports(e, &s, 1, 10 * SEC);
        loop_for(e, 100 * MSEC);
        ck_assert_uint_eq(s.n_reports, 1);
        a = read_file("ran-a", NULL);
        b = read_file("ran-b", NULL);
        c = read_file("ran-c", NULL);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_null(b); /* another event */
        ck_assert_ptr_null(c); /* a pre hook: only run_pre runs it */

        ev.event = EVENT_PEER_UP;
        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 3, &ev), 0);
        ck_assert_int_eq(hook_dispatcher_notify(d, NULL, 0, &ev), 0);
}
END_TEST

/* A failing hook and one that never ends: counted, killed, and the caller never waits. */
START_TEST(test_notify_failure_and_timeout) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        hook_event ev = event_of(EVENT_ODOWN, 3);
        char fail[PATH_MAX], forever[PATH_MAX];
        hook_conf hooks[2];
        uint64_t t0;
        hook_stats st;
        seen s = {};

        write_script("fail", "echo broken >&2\nexit 2", fail);
        write_script("forever", "sleep 1000 &\nexec sleep 1000", forever);
        hooks[0] = hook_of(fail, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 5000);
        hooks[1] = hook_of(forever, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 400);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_ge(
                sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 20 * MSEC, 1, on_tick, &s), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, &(hook_dispatcher_params){.kill_grace_usec = 200 * MSEC},
                                 on_report, &s, &d),
                0);

        t0 = now_usec();
        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 2, &ev), 2);
        ck_assert_uint_lt(now_usec() - t0, 50 * MSEC);
        loop_until_reports(e, &s, 2, 10 * SEC);
        ck_assert_uint_ge(s.ticks, 15); /* the loop served the timer all along */

        ck_assert_int_eq(s.reports[0].outcome, HOOK_OUTCOME_FAILED);
        ck_assert_int_eq(s.reports[0].result.status, 2);
        ck_assert_str_eq(s.reports[0].result.output, "broken\n");
        ck_assert_int_eq(s.reports[1].outcome, HOOK_OUTCOME_TIMEOUT);
        ck_assert(s.reports[1].result.timed_out);
        ck_assert_int_eq(s.reports[1].result.status, SIGTERM);
        ck_assert(wait_group_gone(s.reports[1].result.pid));

        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.runs, 2);
        ck_assert_uint_eq(st.failures, 2);
        ck_assert_uint_eq(st.timeouts, 1);
        ck_assert_uint_eq(st.drops, 0);
        ck_assert(no_children());
}
END_TEST

/* 200 events at a slow hook: at most 4 at once, 64 waiting, the oldest 136 dropped and counted. Fired
 * within one loop iteration, so only the first 64 drops are reported one by one. */
START_TEST(test_queue_cap) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        char path[PATH_MAX];
        hook_conf hooks[1];
        unsigned fds;
        hook_stats st;
        uint64_t t0;
        seen *s = calloc(1, sizeof(seen));

        ck_assert_ptr_nonnull(s);
        make_dir("running");
        s->running_dir = "running";
        write_script("slow", "touch %s/running/$$\nsleep 0.1\nrm %s/running/$$", path);
        hooks[0] = hook_of(path, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 5000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_ge(sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 20 * MSEC, 1, on_tick, s), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, s, &d), 0);
        fds = fd_count();

        t0 = now_usec();
        for (uint64_t i = 0; i < 200; i++) {
                hook_event ev = event_of(EVENT_SDOWN, i);

                ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 1, &ev), 1);
        }
        ck_assert_uint_lt(now_usec() - t0, 500 * MSEC);
        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.queued, HOOK_MAX_QUEUED_DEFAULT);
        ck_assert_uint_eq(st.drops, 200 - HOOK_MAX_QUEUED_DEFAULT);
        ck_assert_uint_eq(st.running, 0);

        loop_until_reports(e, s, 2 * HOOK_MAX_QUEUED_DEFAULT, 30 * SEC);
        loop_for(e, 100 * MSEC);
        ck_assert_uint_eq(s->n_reports, 2 * HOOK_MAX_QUEUED_DEFAULT);
        ck_assert_uint_eq(s->by_outcome[HOOK_OUTCOME_DROPPED], HOOK_MAX_QUEUED_DEFAULT);
        ck_assert_uint_eq(s->by_outcome[HOOK_OUTCOME_SUCCESS], HOOK_MAX_QUEUED_DEFAULT);
        /* Never more than the cap at once, but really in parallel. */
        ck_assert_uint_le(s->max_running, HOOK_MAX_RUNNING_DEFAULT);
        ck_assert_uint_le(s->max_files, HOOK_MAX_RUNNING_DEFAULT);
        ck_assert_uint_ge(s->max_files, 2);
        /* The oldest were dropped, the newest ran. */
        for (unsigned i = 0; i < s->n_reports; i++)
                if (s->reports[i].outcome == HOOK_OUTCOME_DROPPED) {
                        ck_assert_uint_lt(s->reports[i].epoch, 200 - HOOK_MAX_QUEUED_DEFAULT);
                        ck_assert(!s->reports[i].has_result);
                } else
                        ck_assert_uint_ge(s->reports[i].epoch, 200 - HOOK_MAX_QUEUED_DEFAULT);

        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.runs, HOOK_MAX_QUEUED_DEFAULT);
        ck_assert_uint_eq(st.failures, 0);
        ck_assert_uint_eq(st.drops, 200 - HOOK_MAX_QUEUED_DEFAULT);
        ck_assert_uint_eq(st.queued, 0);
        ck_assert_uint_eq(st.running, 0);
        ck_assert(no_children());
        ck_assert_uint_eq(fd_count(), fds);
        free(s);
}
END_TEST

START_TEST(test_pre_allow_in_order) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        _cleanup_free_ char *order = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 9);
        char pa[PATH_MAX], pb[PATH_MAX], pn[PATH_MAX];
        hook_conf hooks[3];
        seen s = {};

        write_script("a", "sleep 0.1\necho a >> %s/order", pa);
        write_script("b", "echo b >> %s/order", pb);
        write_script("n", "echo n >> %s/order", pn);
        hooks[0] = hook_of(pa, EVENT_MASK(EVENT_FAILOVER_START), HOOK_CLASS_PRE, 5000);
        hooks[1] = hook_of(pn, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 5000);
        hooks[2] = hook_of(pb, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, &s, &d), 0);

        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 3, &ev, on_verdict, &s, NULL), 0);
        ck_assert(!s.verdict_done); /* always from the loop */
        loop_until_verdict(e, &s, 10 * SEC);
        ck_assert(s.allow);
        ck_assert_uint_eq(s.n_reports, 2);
        ck_assert_int_eq(s.reports[0].class, HOOK_CLASS_PRE);
        ck_assert_int_eq(s.reports[0].outcome, HOOK_OUTCOME_SUCCESS);
        ck_assert_int_eq(s.reports[1].outcome, HOOK_OUTCOME_SUCCESS);
        order = read_file("order", NULL);
        ck_assert_str_eq(order, "a\nb\n"); /* one after the other, in config order */

        /* No matching pre hook: allow, still from the loop. */
        s = (seen){};
        ev.event = EVENT_SDOWN;
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 1, &ev, on_verdict, &s, NULL), 0);
        ck_assert(!s.verdict_done);
        loop_until_verdict(e, &s, 10 * SEC);
        ck_assert(s.allow);
        ck_assert_uint_eq(s.n_reports, 0);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_pre_veto_exit) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        _cleanup_free_ char *order = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 9);
        char pa[PATH_MAX], pb[PATH_MAX];
        hook_conf hooks[2];
        hook_stats st;
        seen s = {};

        write_script("site-check", "echo a >> %s/order\necho 'other site still up'\nexit 1", pa);
        write_script("stonith", "echo b >> %s/order", pb);
        hooks[0] = hook_of(pa, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        hooks[1] = hook_of(pb, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, &s, &d), 0);

        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 2, &ev, on_verdict, &s, NULL), 0);
        loop_until_verdict(e, &s, 10 * SEC);
        loop_for(e, 200 * MSEC);
        ck_assert(!s.allow);
        ck_assert_uint_eq(s.n_verdicts, 1);
        ck_assert_str_eq(s.veto_command, pa);
        ck_assert_int_eq(s.veto_outcome, HOOK_OUTCOME_FAILED);
        ck_assert(s.veto_has_result);
        ck_assert_int_eq(s.veto_result.status, 1);
        ck_assert_str_eq(s.veto_result.output, "other site still up\n");
        /* The STONITH after a vetoing site check never ran. */
        order = read_file("order", NULL);
        ck_assert_str_eq(order, "a\n");
        ck_assert_uint_eq(s.n_reports, 1);
        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.runs, 1);
        ck_assert_uint_eq(st.failures, 1);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_pre_veto_timeout) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 9);
        char path[PATH_MAX];
        hook_conf hooks[1];
        hook_stats st;
        uint64_t t0;
        seen s = {};

        write_script("hang", "trap '' TERM\nsleep 1000 &\nwait", path);
        hooks[0] = hook_of(path, EVENT_MASK_ALL, HOOK_CLASS_PRE, 300);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, &(hook_dispatcher_params){.kill_grace_usec = 200 * MSEC},
                                 on_report, &s, &d),
                0);
        t0 = now_usec();
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 1, &ev, on_verdict, &s, NULL), 0);
        loop_until_verdict(e, &s, 10 * SEC);
        ck_assert_uint_ge(now_usec() - t0, 500 * MSEC);
        ck_assert(!s.allow);
        ck_assert_int_eq(s.veto_outcome, HOOK_OUTCOME_TIMEOUT);
        ck_assert(s.veto_result.timed_out);
        ck_assert(s.veto_result.killed);
        ck_assert(wait_group_gone(s.veto_result.pid));
        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.timeouts, 1);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_pre_veto_error) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 9);
        char missing[PATH_MAX], relative[] = "relative/hook";
        hook_conf hooks[1];
        seen s = {};

        (void) snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, &s, &d), 0);

        hooks[0] = hook_of(missing, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 1, &ev, on_verdict, &s, NULL), 0);
        loop_until_verdict(e, &s, 10 * SEC);
        ck_assert(!s.allow);
        ck_assert_int_eq(s.veto_outcome, HOOK_OUTCOME_ERROR);
        ck_assert_int_eq(s.veto_error, -ENOENT);
        ck_assert_int_eq(s.reports[0].error, -ENOENT);

        /* Not even started: still a veto, with runner_start()'s error. */
        s = (seen){};
        hooks[0] = hook_of(relative, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 1, &ev, on_verdict, &s, NULL), 0);
        loop_until_verdict(e, &s, 10 * SEC);
        ck_assert(!s.allow);
        ck_assert_int_eq(s.veto_outcome, HOOK_OUTCOME_ERROR);
        ck_assert_int_eq(s.veto_error, -EINVAL);
        ck_assert(!s.veto_has_result);
        ck_assert_uint_eq(s.n_reports, 1);
        ck_assert(!s.reports[0].has_result);
        ck_assert(no_children());
}
END_TEST

/* A storm of slow notify hooks does not hold up a pre hook. */
START_TEST(test_pre_bypasses_notify_queue) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 9);
        char slow[PATH_MAX], quick[PATH_MAX];
        hook_conf hooks[2];
        hook_stats st;
        uint64_t t0;
        seen s = {};

        write_script("slow", "exec sleep 1000", slow);
        write_script("quick", "exit 0", quick);
        hooks[0] = hook_of(slow, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 60000);
        hooks[1] = hook_of(quick, EVENT_MASK_ALL, HOOK_CLASS_PRE, 5000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, &(hook_dispatcher_params){.max_running = 2, .max_queued = 3},
                                 on_report, &s, &d),
                0);
        for (int i = 0; i < 10; i++)
                ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 2, &ev), 1);
        t0 = now_usec();
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 2, &ev, on_verdict, &s, NULL), 0);
        loop_until_verdict(e, &s, 10 * SEC);
        ck_assert(s.allow);
        ck_assert_uint_lt(now_usec() - t0, 2 * SEC);

        hook_dispatcher_get_stats(d, &st);
        ck_assert_uint_eq(st.running, 2);
        ck_assert_uint_eq(st.queued, 1); /* 3 kept, 2 of them started */
        ck_assert_uint_eq(st.drops, 7);
        ck_assert_uint_eq(s.by_outcome[HOOK_OUTCOME_DROPPED], 3); /* reports wait for at most max_queued */
        /* Freeing with hooks running kills and reaps them; nothing is reported any more. */
        d = hook_dispatcher_free(d);
        ck_assert(no_children());
        ck_assert_uint_eq(s.n_reports, 4);
}
END_TEST

/* Freeing the dispatcher, or cancelling a pre request, with hooks and grandchildren running. */
START_TEST(test_free_and_cancel) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        hook_dispatcher *d = NULL;
        hook_event ev = event_of(EVENT_FAILOVER_START, 9);
        char path[PATH_MAX], pids[PATH_MAX];
        hook_conf hooks[2];
        hook_pre *pre = NULL, *pre2 = NULL;
        unsigned fds;
        seen s = {};

        make_dir("pids");
        (void) snprintf(pids, sizeof(pids), "%s/pids", tmpdir);
        write_script("family", "sleep 1000 &\necho $$ > %s/pids/$$\nexec sleep 1000", path);
        hooks[0] = hook_of(path, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 60000);
        hooks[1] = hook_of(path, EVENT_MASK_ALL, HOOK_CLASS_PRE, 60000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, on_report, &s, &d), 0);

        /* A pre request cancelled before it started, one cancelled while its hook runs. */
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 2, &ev, on_verdict, &s, &pre), 0);
        pre = hook_pre_cancel(pre);
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 2, &ev, on_verdict, &s, &pre2), 0);
        for (int i = 0; i < 500 && dir_entries("pids") < 1; i++)
                ck_assert_int_ge(sd_event_run(e, 10 * MSEC), 0);
        ck_assert_uint_eq(dir_entries("pids"), 1);
        pre2 = hook_pre_cancel(pre2);
        ck_assert(no_children());
        fds = fd_count();

        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 2, &ev), 1);
        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 2, &ev), 1);
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 2, &ev, on_verdict, &s, NULL), 0);
        for (int i = 0; i < 500 && dir_entries("pids") < 4; i++)
                ck_assert_int_ge(sd_event_run(e, 10 * MSEC), 0);
        ck_assert_uint_eq(dir_entries("pids"), 4);

        d = hook_dispatcher_free(d);
        ck_assert(no_children());
        loop_for(e, 100 * MSEC);
        ck_assert_uint_eq(s.n_reports, 0);
        ck_assert_uint_eq(s.n_verdicts, 0);
        ck_assert_uint_le(fd_count(), fds);

        /* Every hook's group is gone, grandchildren included. */
        {
                DIR *dir = opendir(pids);
                struct dirent *de;

                ck_assert_ptr_nonnull(dir);
                while ((de = readdir(dir)))
                        if (de->d_name[0] != '.')
                                ck_assert(wait_group_gone(atoi(de->d_name)));
                closedir(dir);
        }
}
END_TEST

/* The report handler frees the dispatcher while other hooks run and wait. */
START_TEST(test_free_in_report) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        hook_dispatcher *d = NULL;
        hook_event ev = event_of(EVENT_ODOWN, 1);
        char quick[PATH_MAX], slow[PATH_MAX];
        hook_conf hooks[2];
        seen s = {};

        write_script("quick", "exit 0", quick);
        write_script("slow", "exec sleep 1000", slow);
        hooks[0] = hook_of(quick, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 5000);
        hooks[1] = hook_of(slow, EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 60000);
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(
                hook_dispatcher_new(e, &(hook_dispatcher_params){.max_running = 2}, on_report, &s, &d), 0);
        s.free_in_report = true;
        s.owner = &d;
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 2, &ev), 2);
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 0, &ev, on_verdict, &s, NULL), 0);
        loop_until_reports(e, &s, 1, 10 * SEC);
        ck_assert_ptr_null(d);
        loop_for(e, 100 * MSEC);
        ck_assert_uint_eq(s.n_reports, 1);
        ck_assert(no_children());
}
END_TEST

START_TEST(test_invalid) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(hook_dispatcher_freep) hook_dispatcher *d = NULL;
        hook_event ev = event_of(EVENT_ODOWN, 1);
        hook_conf hooks[1] = {hook_of((char *) "/bin/true", EVENT_MASK_ALL, HOOK_CLASS_NOTIFY, 1000)};
        hook_stats st;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hook_dispatcher_new(NULL, NULL, NULL, NULL, &d), -EINVAL);
        ck_assert_int_eq(hook_dispatcher_new(e, NULL, NULL, NULL, &d), 0);
        ck_assert_int_eq(hook_dispatcher_notify(NULL, hooks, 1, &ev), -EINVAL);
        ck_assert_int_eq(hook_dispatcher_notify(d, NULL, 1, &ev), -EINVAL);
        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 1, NULL), -EINVAL);
        ev.event = _EVENT_MAX;
        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 1, &ev), -EINVAL);
        ck_assert_int_eq(hook_dispatcher_run_pre(d, hooks, 1, &ev, NULL, NULL, NULL), -EINVAL);
        ev = event_of(EVENT_ODOWN, 1);
        ev.cluster = NULL;
        ck_assert_int_eq(hook_dispatcher_notify(d, hooks, 1, &ev), -EINVAL);
        ck_assert_ptr_null(hook_pre_cancel(NULL));
        ck_assert_ptr_null(hook_dispatcher_free(NULL));
        hook_dispatcher_get_stats(NULL, &st);
        ck_assert_uint_eq(st.runs, 0);
        ck_assert_str_eq(hook_outcome_to_string(HOOK_OUTCOME_TIMEOUT), "timeout");
        ck_assert_ptr_null(hook_outcome_to_string(_HOOK_OUTCOME_MAX));
        ck_assert_int_eq(hook_outcome_from_result(NULL), _HOOK_OUTCOME_INVALID);
}
END_TEST

static Suite *hook_suite(void) {
        Suite *s = suite_create("hook");
        TCase *tc = tcase_create("dispatcher");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_notify_env_and_stdin);
        tcase_add_test(tc, test_mask_and_class);
        tcase_add_test(tc, test_notify_failure_and_timeout);
        tcase_add_test(tc, test_queue_cap);
        tcase_add_test(tc, test_pre_allow_in_order);
        tcase_add_test(tc, test_pre_veto_exit);
        tcase_add_test(tc, test_pre_veto_timeout);
        tcase_add_test(tc, test_pre_veto_error);
        tcase_add_test(tc, test_pre_bypasses_notify_queue);
        tcase_add_test(tc, test_free_and_cancel);
        tcase_add_test(tc, test_free_in_report);
        tcase_add_test(tc, test_invalid);
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
        sr = srunner_create(hook_suite());
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
