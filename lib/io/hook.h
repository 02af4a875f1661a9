/* The hook dispatcher (SPEC 6): runs a cluster's hooks for an event on the runner (runner.h), one
 * dispatcher per sentinel on its sd-event loop.
 *
 * notify hooks never delay the caller: hook_dispatcher_notify() only queues them, and they are
 * started from the event loop, at most max_running at once, with at most max_queued waiting. Past
 * that cap the OLDEST waiting hook is dropped, and counted: in a storm the newest events describe
 * the situation as it is now (the failover-end after the failover-start, the latest quorum state),
 * the oldest are the most stale, and keeping the old ones would mean that a backlog of outdated
 * pages hides the outcome. (redis' sentinel drops the oldest waiting script too.) Either way the
 * host runs at most max_running hook process groups for notify hooks: a storm cannot fork-bomb it.
 *
 * pre hooks gate a step (fencing): hook_dispatcher_run_pre() runs the matching pre hooks outside the
 * notify cap (a storm of pages must not delay a failover), one after the other in config order,
 * and stops at the first that does not exit 0 in time: an operator who lists a site check before a
 * STONITH hook must never see the STONITH run after the site check said no. The verdict handler
 * gets allow, or veto with the hook and why. A pre hook that cannot even be started vetoes too: an
 * unchecked gate is a closed gate.
 *
 * Each hook's completion, drop or failure to start is reported to the report handler (the daemon
 * writes the audit record and logs; nothing here logs). The dispatcher copies what it keeps, so
 * the hooks and the event passed in need to live only for the duration of the call. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "hook-event.h"
#include "runner.h"

#define HOOK_MAX_RUNNING_DEFAULT 4
#define HOOK_MAX_QUEUED_DEFAULT  64

typedef struct hook_dispatcher hook_dispatcher;
typedef struct hook_pre hook_pre;

typedef enum hook_outcome {
        HOOK_OUTCOME_SUCCESS, /* exited 0 within its timeout */
        HOOK_OUTCOME_FAILED,  /* exited non-zero, or killed by a signal it was not sent by us */
        HOOK_OUTCOME_TIMEOUT, /* still running at its timeout: the group got SIGTERM (then SIGKILL) */
        HOOK_OUTCOME_ERROR,   /* could not be started or executed (report.error says why) */
        HOOK_OUTCOME_DROPPED, /* a notify hook dropped from a full queue: never started */
        _HOOK_OUTCOME_MAX,
        _HOOK_OUTCOME_INVALID = -EINVAL,
} hook_outcome;

typedef struct hook_dispatcher_params {
        unsigned max_running;     /* notify hooks at once; 0: HOOK_MAX_RUNNING_DEFAULT */
        unsigned max_queued;      /* notify hooks waiting; 0: HOOK_MAX_QUEUED_DEFAULT */
        uint64_t kill_grace_usec; /* SIGTERM to SIGKILL; 0: RUNNER_KILL_GRACE_DEFAULT_USEC */
} hook_dispatcher_params;

/* For metrics. failures counts every started-or-attempted hook that did not succeed (timeouts and
 * failures to start included); drops are never attempted. */
typedef struct hook_stats {
        uint64_t runs;     /* hooks attempted (notify and pre) */
        uint64_t failures; /* of those, not HOOK_OUTCOME_SUCCESS */
        uint64_t timeouts; /* of those, HOOK_OUTCOME_TIMEOUT */
        uint64_t drops;    /* notify hooks dropped from a full queue */
        unsigned running;  /* hook processes running now (notify and pre) */
        unsigned queued;   /* notify hooks waiting now */
} hook_stats;

/* One hook's end; everything is valid during the handler call only. */
typedef struct hook_report {
        const hook_conf *hook; /* the dispatcher's copy of the hook */
        const char *cluster;
        sentinel_event event;
        uint64_t epoch;
        hook_outcome outcome;
        const runner_result *result; /* NULL when it never ran (dropped, or could not be started) */
        int error; /* HOOK_OUTCOME_ERROR: the negative errno (runner_start()'s, or the exec error) */
} hook_report;

/* The aggregate of the pre hooks of one hook_dispatcher_run_pre(); valid during the call only. */
typedef struct hook_verdict {
        bool allow;                  /* every matching pre hook exited 0 in time (or there was none) */
        const hook_conf *hook;       /* on a veto: the hook that vetoed */
        hook_outcome outcome;        /* on a veto: FAILED, TIMEOUT or ERROR */
        const runner_result *result; /* on a veto: its result, NULL when it never ran */
        int error;                   /* on a veto with ERROR: the negative errno */
} hook_verdict;

typedef void (*hook_report_handler)(hook_dispatcher *d, const hook_report *report, void *userdata);
typedef void (*hook_verdict_handler)(hook_dispatcher *d, const hook_verdict *verdict, void *userdata);

/* A new dispatcher on e; handler (may be NULL) gets every report, from the event loop. */
int hook_dispatcher_new(sd_event *e, const hook_dispatcher_params *params, hook_report_handler handler,
        void *userdata, hook_dispatcher **ret);

/* Kills every running hook's group and reaps it, forgets the queue and cancels every pre request
 * (no report, no verdict; their hook_pre handles become invalid). NULL-safe; may be called from a
 * handler. Returns NULL. */
hook_dispatcher *hook_dispatcher_free(hook_dispatcher *d);

static inline void hook_dispatcher_freep(hook_dispatcher **d) {
        hook_dispatcher_free(*d);
}

/* Queues every notify hook of hooks[0..n_hooks) whose event mask has ev->event; never waits and
 * never calls a handler. Returns the number queued, -EINVAL on a bad event, -ENOMEM. Older hooks it
 * pushes out are counted at once and reported from the loop; to bound memory in a storm, at most
 * max_queued drops wait for their report, later ones are only counted. */
int hook_dispatcher_notify(hook_dispatcher *d, const hook_conf *hooks, size_t n_hooks, const hook_event *ev);

/* Runs every pre hook of hooks[0..n_hooks) whose event mask has ev->event, in order, from the event
 * loop (nothing starts before this returns); handler gets the verdict once, also when there is no
 * matching hook (allow). *ret (if ret is not NULL) is a handle for hook_pre_cancel(), valid until
 * the verdict handler is called. -EINVAL, -ENOMEM. */
int hook_dispatcher_run_pre(hook_dispatcher *d, const hook_conf *hooks, size_t n_hooks, const hook_event *ev,
        hook_verdict_handler handler, void *userdata, hook_pre **ret);

/* Abandons a pre request: kills its running hook's group, no verdict. NULL-safe; a no-op from within
 * its own verdict handler. Returns NULL. */
hook_pre *hook_pre_cancel(hook_pre *p);

/* The counters and gauges. */
void hook_dispatcher_get_stats(const hook_dispatcher *d, hook_stats *ret);

/* The outcome of a finished run. */
hook_outcome hook_outcome_from_result(const runner_result *res);

/* "success", "failed", "timeout", "error", "dropped"; NULL when out of range. */
const char *hook_outcome_to_string(hook_outcome o);
