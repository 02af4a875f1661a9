/* Runs one command as a watched child process on the caller's sd-event loop: the process runner
 * behind hooks and exec endpoints (SPEC 6), after keepalived's notify.c.
 *
 * The child: its own process group (setpgid(0,0), also done by the parent so the group exists the
 * moment fork() returns), every signal disposition back to default and an empty signal mask, cwd
 * "/", exactly the environment given (nothing inherited), argv = {command, NULL}, stdin a sealed
 * memfd holding the input, stdout and stderr one pipe, and no other fd at all (close_range(), with a
 * fallback loop for older kernels).
 *
 * Why a memfd for stdin rather than a pipe: the whole input is in it before fork(), so the daemon
 * never writes after starting the child, needs no I/O source for it, and can never block on it; a
 * child that never reads stdin costs nothing, one that reads it slowly or partially reads at its own
 * pace and sees EOF at the end, and the input may exceed a pipe's 64 KiB buffer.
 *
 * Watching: the child is reaped through sd_event_add_child(). Like every sd-event child source this
 * needs SIGCHLD blocked in every thread of the process before runner_start() (sigprocmask()), and
 * no one else in the process may reap children with waitpid(-1, ...); runner_start() checks the
 * first and fails with -EBUSY, before forking. Output is read without blocking; its first
 * RUNNER_OUTPUT_HEAD bytes are kept and the rest drained and dropped.
 *
 * Ending: at the timeout the whole group gets SIGTERM (and SIGCONT, in case it is stopped), after
 * the grace SIGKILL. When the command (the group leader) exits, whatever it left behind in its
 * group gets SIGKILL too, so a hook never outlives itself (a process that escapes with setsid() is
 * beyond any runner). While the leader is an unreaped zombie its pid still names the group, so these
 * signals can never reach a stranger that reused the pid. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/* How much of the output is kept. */
#define RUNNER_OUTPUT_HEAD (4 * 1024)

/* Between SIGTERM and SIGKILL when kill_grace_usec is 0. */
#define RUNNER_KILL_GRACE_DEFAULT_USEC (2 * 1000 * 1000ULL)

/* Room for runner_result_describe(). */
#define RUNNER_DESCRIBE_MAX 128

typedef struct runner runner;

typedef struct runner_params {
        const char *command; /* an absolute path, executed with argv = {command, NULL} */
        char *const *env;    /* the child's whole environment, NULL-terminated; NULL: empty */
        const void *input;   /* the child's stdin; NULL with input_size 0: empty */
        size_t input_size;
        uint64_t timeout_usec;    /* > 0: then SIGTERM to the group */
        uint64_t kill_grace_usec; /* after SIGTERM, then SIGKILL; 0: RUNNER_KILL_GRACE_DEFAULT_USEC */
} runner_params;

typedef struct runner_result {
        pid_t pid;
        int code;       /* CLD_EXITED, CLD_KILLED or CLD_DUMPED */
        int status;     /* the exit status for CLD_EXITED, else the signal */
        int exec_error; /* negative errno when the command could not be executed (then CLD_EXITED, 127) */
        bool timed_out; /* the timeout expired and the group got SIGTERM */
        bool killed;    /* it outlived the grace too and the group got SIGKILL */
        uint64_t duration_usec;              /* from fork to the leader's exit, CLOCK_MONOTONIC */
        size_t output_size;                  /* bytes in output, at most RUNNER_OUTPUT_HEAD */
        bool output_truncated;               /* there was more */
        char output[RUNNER_OUTPUT_HEAD + 1]; /* stdout and stderr as they came, NUL-terminated (the
                                              * output itself may hold NULs: use output_size) */
} runner_result;

/* Called once, from the event loop, when the command's process has exited. result is valid during
 * the call only. The handler may free the runner and start others. */
typedef void (*runner_handler)(runner *r, const runner_result *result, void *userdata);

/* Starts params->command now, watched on e; handler gets its result. -EINVAL on a missing or
 * relative command, a zero timeout; -EBUSY when SIGCHLD is not blocked; else what a pipe, memfd,
 * fork or sd-event call failed with (nothing is left running then). */
int runner_start(
        sd_event *e, const runner_params *params, runner_handler handler, void *userdata, runner **ret);

/* Kills the whole group with SIGKILL and reaps the leader if it still runs (this waits for the
 * kernel to finish it), so no zombie and no fd is left; the handler is not called. NULL-safe; may
 * be called from the handler. Returns NULL. */
runner *runner_free(runner *r);

static inline void runner_freep(runner **r) {
        runner_free(*r);
}

/* The child's pid, which is also its process group id. */
pid_t runner_get_pid(const runner *r);

/* Whether the child has not exited yet. */
bool runner_is_running(const runner *r);

/* Whether the command ran and exited 0 within its timeout. */
bool runner_result_success(const runner_result *res);

/* Writes a short human phrase about how it ended into buf and returns buf: "exited with status 3",
 * "killed by signal TERM after its timeout", "could not be executed: No such file or directory". */
const char *runner_result_describe(const runner_result *res, char *buf, size_t size);
