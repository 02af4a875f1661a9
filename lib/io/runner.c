#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "macro.h"
#include "runner.h"

/* Per wake-up, so that a chatty child cannot monopolise the loop. */
#define RUNNER_READ_MAX (64 * 1024)
/* What may be left in the pipe when the leader exits; bounded in case a straggler still writes. */
#define RUNNER_DRAIN_MAX           (1024 * 1024)
#define RUNNER_TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)
/* When the close_range() fallback finds no usable RLIMIT_NOFILE. */
#define RUNNER_FD_LIMIT_FALLBACK 65536

struct runner {
        sd_event *event;
        pid_t pid;     /* the child, and its process group; > 0 from fork() on */
        bool exited;   /* its exit was dispatched: sd-event reaps it after our callback returns */
        int output_fd; /* read end of the stdout+stderr pipe, non-blocking */
        int error_fd;  /* read end of the exec error pipe, non-blocking */
        sd_event_source *child_source, *output_source, *timer_source;
        uint64_t start_usec;
        uint64_t kill_grace_usec;
        runner_result result; /* filled in as things happen */
        runner_handler handler;
        void *userdata;
};

/* What the child needs, all prepared before fork(): after it, only async-signal-safe calls. */
typedef struct runner_exec {
        const char *command;
        char *const *argv;
        char *const *env;
        int stdin_fd, output_fd, error_fd; /* error_fd: the write end, O_CLOEXEC */
} runner_exec;

static uint64_t runner_now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Closes fds first..last; async-signal-safe, for the child. */
static void runner_close_range(unsigned first, unsigned last) {
        struct rlimit rl;

        if (first > last)
                return;
        if (close_range(first, last, 0) >= 0)
                return;
        /* Before Linux 5.9: one by one, up to the fd limit. */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                rl.rlim_cur = RUNNER_FD_LIMIT_FALLBACK;
        for (unsigned fd = first; fd <= last && fd < rl.rlim_cur; fd++)
                (void) close((int) fd);
}

/* The child between fork() and execve(). Reports an errno through the error pipe when it fails. */
__attribute__((noreturn)) static void runner_child(const runner_exec *x) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;
        int err, in, out, e;
        ssize_t k;

        /* Everything we keep goes to fds >= 3 first: the daemon may run with 0..2 closed, and then
         * our own fds sit there and would be clobbered by the dup2() calls below. */
        err = fcntl(x->error_fd, F_DUPFD_CLOEXEC, 3);
        if (err < 0)
                _exit(127);

        /* Handlers are reset by execve() anyway, but ignored signals (SIGPIPE in most daemons)
         * would stay ignored. The mask (everything blocked since before fork()) comes last. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);

        if (setpgid(0, 0) < 0)
                goto fail;
        in = fcntl(x->stdin_fd, F_DUPFD_CLOEXEC, 3);
        if (in < 0)
                goto fail;
        out = fcntl(x->output_fd, F_DUPFD_CLOEXEC, 3);
        if (out < 0)
                goto fail;
        /* dup2() clears O_CLOEXEC on 0..2; every other fd goes, but for the error pipe, which
         * execve() closes. */
        if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
                goto fail;
        runner_close_range(3, (unsigned) err - 1);
        runner_close_range((unsigned) err + 1, ~0U);
        if (chdir("/") < 0)
                goto fail;
        if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                goto fail;

        execve(x->command, x->argv, x->env);
fail:
        e = errno;
        k = write(err, &e, sizeof(e));
        (void) k;
        _exit(127);
}

/* A sealed memfd holding data, at offset 0. */
static int runner_make_input(const void *data, size_t size) {
        _cleanup_close_ int fd = -1;

        fd = memfd_create("sentinel-runner-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, (const char *) data + done, size - done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                done += (size_t) k;
        }
        /* The document cannot change behind anyone's back; best effort, nothing depends on it. */
        (void) fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* A pipe, both ends O_CLOEXEC, the read end (ours) non-blocking; the child's end stays blocking. */
static int runner_pipe(int fds[2]) {
        int flags;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        flags = fcntl(fds[0], F_GETFL);
        if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) < 0) {
                int r = -errno;

                (void) close(fds[0]);
                (void) close(fds[1]);
                return r;
        }
        return 0;
}

/* Signals the whole group; and the leader on its own if it left the group (setpgid, setsid). */
static void runner_kill(runner *r, int sig) {
        (void) kill(-r->pid, sig);
        if (getpgid(r->pid) != r->pid)
                (void) kill(r->pid, sig);
}

/* Reads what is there, at most max bytes: the head is kept, the rest dropped. Returns 0 at EOF or
 * on an error, 1 when more may come. */
static int runner_read_output(runner *r, size_t max) {
        runner_result *res = &r->result;
        char scratch[4096];
        size_t total = 0;

        while (total < max) {
                bool head = res->output_size < RUNNER_OUTPUT_HEAD;
                char *buf = head ? res->output + res->output_size : scratch;
                size_t room = head ? RUNNER_OUTPUT_HEAD - res->output_size : sizeof(scratch);
                ssize_t k = read(r->output_fd, buf, room);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? 1 : 0;
                if (k == 0)
                        return 0;
                if (head)
                        res->output_size += (size_t) k;
                else
                        res->output_truncated = true;
                total += (size_t) k;
        }
        return 1;
}

static int runner_on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        runner *r = userdata;

        if (runner_read_output(r, RUNNER_READ_MAX) == 0)
                /* EOF: the fd stays open until the end, there is just nothing more to read. */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int runner_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        runner *r = userdata;

        if (!r->result.timed_out) {
                r->result.timed_out = true;
                runner_kill(r, SIGTERM);
                /* A stopped process would only act on SIGTERM once continued. */
                runner_kill(r, SIGCONT);
                if (sd_event_source_set_time(s, usec + r->kill_grace_usec) >= 0 &&
                        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0)
                        return 0;
                /* Cannot wait for the grace: no grace then. */
        }
        r->result.killed = true;
        runner_kill(r, SIGKILL);
        return 0;
}

/* Stops watching: every source off, our fds closed. The child source stays referenced until
 * runner_free(), as sd-event may still be dispatching it. */
static void runner_stop(runner *r) {
        r->timer_source = sd_event_source_disable_unref(r->timer_source);
        r->output_source = sd_event_source_disable_unref(r->output_source);
        (void) sd_event_source_set_enabled(r->child_source, SD_EVENT_OFF);
        if (r->output_fd >= 0)
                (void) close(TAKE_FD(r->output_fd));
        if (r->error_fd >= 0)
                (void) close(TAKE_FD(r->error_fd));
}

static int runner_on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        runner *r = userdata;
        runner_handler handler = r->handler;
        void *handler_userdata = r->userdata;
        runner_result res;
        int e;

        r->exited = true;
        /* The leader is a zombie until we return (sd-event reaps it after this callback): its pid
         * still names the group, so this reaches only what the command left behind. */
        runner_kill(r, SIGKILL);

        if (r->output_fd >= 0)
                (void) runner_read_output(r, RUNNER_DRAIN_MAX);
        /* The child wrote its errno before exiting, or execve() closed the pipe: never blocks. */
        if (r->error_fd >= 0 && read(r->error_fd, &e, sizeof(e)) == (ssize_t) sizeof(e) && e > 0)
                r->result.exec_error = -e;

        r->result.code = si->si_code;
        r->result.status = si->si_status;
        r->result.duration_usec = runner_now() - r->start_usec;
        r->result.output[r->result.output_size] = '\0';
        runner_stop(r);

        res = r->result;
        r->handler = NULL;
        r->userdata = NULL;
        if (handler)
                handler(r, &res, handler_userdata); /* may free r: nothing touches it after this */
        return 0;
}

runner *runner_free(runner *r) {
        if (!r)
                return NULL;
        runner_stop(r);
        r->child_source = sd_event_source_disable_unref(r->child_source);
        if (r->pid > 0 && !r->exited) {
                siginfo_t si;

                runner_kill(r, SIGKILL);
                /* SIGKILL cannot be caught: this returns as soon as the kernel has ended it. */
                while (waitid(P_PID, r->pid, &si, WEXITED) < 0 && errno == EINTR)
                        ;
        }
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

static int runner_check_sigchld_blocked(void) {
        sigset_t cur;
        int r;

        r = pthread_sigmask(SIG_SETMASK, NULL, &cur);
        if (r != 0)
                return -r;
        return sigismember(&cur, SIGCHLD) == 1 ? 0 : -EBUSY;
}

int runner_start(
        sd_event *e, const runner_params *params, runner_handler handler, void *userdata, runner **ret) {
        _cleanup_(runner_freep) runner *r = NULL;
        _cleanup_close_ int in = -1, out_w = -1, err_w = -1;
        char *const empty_env[] = {NULL};
        char *argv[2];
        int out[2], err[2], k;
        sigset_t all, saved;
        uint64_t deadline;
        pid_t pid;

        if (!e || !params || !params->command || params->command[0] != '/' || params->timeout_usec == 0 ||
                (!params->input && params->input_size > 0) || !ret)
                return -EINVAL;
        k = runner_check_sigchld_blocked();
        if (k < 0)
                return k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(e);
        r->output_fd = r->error_fd = -1;
        r->kill_grace_usec = params->kill_grace_usec ?: RUNNER_KILL_GRACE_DEFAULT_USEC;
        r->handler = handler;
        r->userdata = userdata;

        in = runner_make_input(params->input, params->input_size);
        if (in < 0)
                return in;
        k = runner_pipe(out);
        if (k < 0)
                return k;
        r->output_fd = out[0];
        out_w = out[1];
        k = runner_pipe(err);
        if (k < 0)
                return k;
        r->error_fd = err[0];
        err_w = err[1];

        argv[0] = (char *) params->command;
        argv[1] = NULL;

        /* Every signal blocked across fork(): no daemon handler can run in the child before it has
         * reset the dispositions. */
        if (sigfillset(&all) < 0)
                return -errno;
        k = pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (k != 0)
                return -k;
        r->start_usec = runner_now();
        pid = fork();
        if (pid == 0)
                runner_child(&(runner_exec){
                        .command = params->command,
                        .argv = argv,
                        .env = params->env ?: empty_env,
                        .stdin_fd = in,
                        .output_fd = out_w,
                        .error_fd = err_w,
                });
        k = pid < 0 ? -errno : 0;
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (k < 0)
                return k;

        r->pid = pid;
        r->result.pid = pid;
        /* Also here, so that the group exists before the child runs at all: killing -pid works
         * from now on. EACCES once the child has exec'd is fine, it did it itself then. */
        (void) setpgid(pid, pid);

        k = sd_event_add_child(e, &r->child_source, pid, WEXITED, runner_on_child, r);
        if (k < 0)
                return k;
        /* Before the timer on the same iteration: an exit that raced the timeout is seen as one. */
        k = sd_event_source_set_priority(r->child_source, SD_EVENT_PRIORITY_NORMAL - 1);
        if (k < 0)
                return k;
        k = sd_event_add_io(e, &r->output_source, r->output_fd, EPOLLIN, runner_on_output, r);
        if (k < 0)
                return k;
        deadline = params->timeout_usec < UINT64_MAX / 2 ? r->start_usec + params->timeout_usec
                                                         : UINT64_MAX / 2;
        k = sd_event_add_time(e, &r->timer_source, CLOCK_MONOTONIC, deadline, RUNNER_TIMER_ACCURACY_USEC,
                runner_on_timer, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(r->child_source, "runner-child");
        (void) sd_event_source_set_description(r->output_source, "runner-output");
        (void) sd_event_source_set_description(r->timer_source, "runner-timeout");

        *ret = TAKE_PTR(r);
        return 0;
}

pid_t runner_get_pid(const runner *r) {
        return r ? r->pid : 0;
}

bool runner_is_running(const runner *r) {
        return r && r->pid > 0 && !r->exited;
}

bool runner_result_success(const runner_result *res) {
        return res && res->code == CLD_EXITED && res->status == 0 && res->exec_error == 0 && !res->timed_out;
}

const char *runner_result_describe(const runner_result *res, char *buf, size_t size) {
        const char *when = "", *sig, *core;

        if (!buf || size == 0)
                return buf;
        if (!res) {
                (void) snprintf(buf, size, "no result");
                return buf;
        }
        if (res->exec_error < 0) {
                const char *d = strerrordesc_np(-res->exec_error);

                (void) snprintf(buf, size, "could not be executed: %s", d ?: "unknown error");
                return buf;
        }
        if (res->killed)
                when = " after its timeout and grace";
        else if (res->timed_out)
                when = " after its timeout";
        if (res->code == CLD_EXITED) {
                (void) snprintf(buf, size, "exited with status %d%s", res->status, when);
                return buf;
        }
        sig = sigabbrev_np(res->status);
        core = res->code == CLD_DUMPED ? " (core dumped)" : "";
        if (sig)
                (void) snprintf(buf, size, "killed by signal %s%s%s", sig, core, when);
        else
                (void) snprintf(buf, size, "killed by signal %d%s%s", res->status, core, when);
        return buf;
}
