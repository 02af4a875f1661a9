/* The failover engine's plan as pure data (SPEC 5, issue 4): the phases of a failover run and the
 * transitions between them with their deadlines, the reason codes of decisions and runs, whether a run
 * loses transactions, the JSON of a run for the audit log and `sentinelctl history`, and the human
 * rendering of a run (`history`). Whether to start a run at all (the pre-checks, their JSON and `why`,
 * paging while refused) is failover-decide.h. Pure: time is passed in (CLOCK_MONOTONIC microseconds,
 * CLOCK_REALTIME only for what humans read), nothing here does I/O or logs. The I/O layer performs each
 * phase and reports how it ended.
 *
 * Phases, in order: detect (first failed probe to ODOWN), elect (votes for epoch+1), pre-hooks (class
 * "pre" hooks; any can veto), fence (read_only=ON and kill connections on the old primary where it can
 * be reached), select (candidate_select()), catch-up (MASTER_GTID_WAIT on the candidate's received
 * position), promote, endpoints, repoint-replicas; then done, or failed (also when aborted).
 *
 * The promotion commits when the promote phase begins: before it a run can fail, time out or abort (the
 * old primary answering again aborts it with PRIMARY_RETURNED); from it on it can no longer abort, and
 * after it (endpoints, repoint-replicas) a failure or a timeout only makes the result "degraded" and the
 * run goes on.
 *
 * Deadline budget, from failover.timeout_ms (T) taken when the run starts:
 *   detect            none (probe.down_after_ms and the quorum decide when it ends)
 *   elect             10% of T
 *   pre-hooks         20% of T, or the longest pre hook's timeout_ms when that is longer (the extra
 *                     time E is added to every later checkpoint)
 *   fence             10% of T
 *   select             5% of T
 *   catch-up          40% of T
 *   promote           15% of T
 *   endpoints         30% of T, from the start of the phase
 *   repoint-replicas  20% of T, from the start of the phase
 * Before the promotion the slices are cumulative checkpoints from the start of elect: a phase must end by
 * elect start + (its slice plus every earlier one) x T (+ E from pre-hooks on), so a quick phase leaves
 * its time to the next ones and everything from elect to the end of promote fits in T + E. After the
 * promotion each phase has its own slice from its own start: the new primary already takes writes, and
 * what is late there is retried after the run anyway. */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "config.h"
#include "server-status.h"

typedef enum failover_phase {
        FAILOVER_PHASE_DETECT,
        FAILOVER_PHASE_ELECT,
        FAILOVER_PHASE_PRE_HOOKS,
        FAILOVER_PHASE_FENCE,
        FAILOVER_PHASE_SELECT,
        FAILOVER_PHASE_CATCH_UP,
        FAILOVER_PHASE_PROMOTE,
        FAILOVER_PHASE_ENDPOINTS,
        FAILOVER_PHASE_REPOINT_REPLICAS,
        FAILOVER_PHASE_DONE,
        FAILOVER_PHASE_FAILED,
        _FAILOVER_PHASE_MAX,
        _FAILOVER_PHASE_INVALID = -EINVAL,
} failover_phase;

/* "detect", "elect", "pre-hooks", "fence", "select", "catch-up", "promote", "endpoints",
 * "repoint-replicas", "done", "failed"; NULL when out of range. */
const char *failover_phase_to_string(failover_phase p);

/* Parses the names above; _FAILOVER_PHASE_INVALID when unknown or NULL. */
failover_phase failover_phase_from_string(const char *s);

typedef enum failover_result {
        FAILOVER_RESULT_RUNNING,
        FAILOVER_RESULT_OK,
        FAILOVER_RESULT_DEGRADED, /* promoted, but an endpoint or a replica could not be repointed */
        FAILOVER_RESULT_FAILED,
        FAILOVER_RESULT_ABORTED, /* stopped on purpose: the primary returned, a newer epoch, ... */
        _FAILOVER_RESULT_MAX,
        _FAILOVER_RESULT_INVALID = -EINVAL,
} failover_result;

/* "running", "ok", "degraded", "failed", "aborted"; NULL when out of range. */
const char *failover_result_to_string(failover_result r);

/* Parses the names above; _FAILOVER_RESULT_INVALID when unknown or NULL. */
failover_result failover_result_from_string(const char *s);

/* Reason codes of decisions and runs, as the audit log, pages and `why` print them. The refusals of SPEC
 * 5.10 first, then the candidate checks a --to target can fail, then how a run fails. */
typedef enum failover_reason {
        FAILOVER_REASON_OK,
        FAILOVER_REASON_AUTO_DISABLED,    /* failover.auto = false */
        FAILOVER_REASON_MAINTENANCE,      /* maintenance mode is on */
        FAILOVER_REASON_QUORUM_LOST,      /* this sentinel cannot reach a majority of the sentinels */
        FAILOVER_REASON_NOT_ODOWN,        /* the primary is not ODOWN (SDOWN with --no-quorum) */
        FAILOVER_REASON_PRIMARY_RETURNED, /* the primary answers again */
        FAILOVER_REASON_COOLDOWN,         /* the last failover was less than failover.cooldown_s ago */
        FAILOVER_REASON_NO_CANDIDATE,     /* no server can be promoted */
        FAILOVER_REASON_ERRANT_GTID,      /* the only possible candidates have errant transactions */
        FAILOVER_REASON_LAGGING,          /* the only possible candidates lagged beyond max_lag_ms */
        FAILOVER_REASON_CANDIDATE_BEHIND, /* the best candidate lacks transactions another server has */
        FAILOVER_REASON_FAILED_PRIMARY,   /* --to names the failed primary */
        FAILOVER_REASON_NOT_PROMOTABLE,   /* the --to target fails that candidate check, and so on */
        FAILOVER_REASON_UNREACHABLE,
        FAILOVER_REASON_NO_BINLOG,
        FAILOVER_REASON_NOT_A_REPLICA,
        FAILOVER_REASON_REPLICATION_BROKEN,
        FAILOVER_REASON_DIVERGED,
        FAILOVER_REASON_ELECTION_FAILED, /* no majority voted for this sentinel */
        FAILOVER_REASON_STALE_EPOCH,     /* a newer epoch exists: another leader acts */
        FAILOVER_REASON_PRE_HOOK_VETO,   /* a pre hook exited non-zero or timed out */
        FAILOVER_REASON_FENCE_FAILED,
        FAILOVER_REASON_CATCH_UP_FAILED,
        FAILOVER_REASON_PROMOTE_FAILED,
        FAILOVER_REASON_ENDPOINT_FAILED, /* degraded */
        FAILOVER_REASON_REPOINT_FAILED,  /* degraded */
        FAILOVER_REASON_TIMEOUT,         /* a phase ran past its deadline */
        FAILOVER_REASON_ANOTHER_PRIMARY, /* a server other than the failed primary is writable already */
        FAILOVER_REASON_BUSY,            /* a failover or switchover of the cluster is running */
        _FAILOVER_REASON_MAX,
        _FAILOVER_REASON_INVALID = -EINVAL,
} failover_reason;

#define FAILOVER_REASON_BIT(r) (UINT64_C(1) << (r))

/* The code: "OK", "AUTO_DISABLED", ..., "TIMEOUT" (the enum names without the prefix); NULL when out
 * of range. */
const char *failover_reason_to_string(failover_reason r);

/* Parses the codes above; _FAILOVER_REASON_INVALID when unknown or NULL. */
failover_reason failover_reason_from_string(const char *s);

/* The reason code a failed candidate check stands for (NOT_TARGET and OK have none: NO_CANDIDATE). */
failover_reason failover_reason_from_candidate(candidate_reason r);

/* What happened to the current phase, as the I/O layer reports it to failover_plan_next(). */
typedef enum failover_event {
        FAILOVER_EVENT_PHASE_OK,         /* the phase is done: go to the next */
        FAILOVER_EVENT_PHASE_DEGRADED,   /* endpoints, repoint-replicas: done with failures; go on */
        FAILOVER_EVENT_PHASE_FAILED,     /* up to promote: the run fails */
        FAILOVER_EVENT_TICK,             /* time passes: the deadline may have come */
        FAILOVER_EVENT_PRIMARY_RETURNED, /* up to catch-up: the old primary answers; abort */
        FAILOVER_EVENT_ABORT,            /* up to catch-up: stop (a newer epoch, leadership lost) */
        _FAILOVER_EVENT_MAX,
        _FAILOVER_EVENT_INVALID = -EINVAL,
} failover_event;

/* "phase-ok", "phase-degraded", "phase-failed", "tick", "primary-returned", "abort"; NULL when out of
 * range. */
const char *failover_event_to_string(failover_event e);

/* Parses the names above; _FAILOVER_EVENT_INVALID when unknown or NULL. */
failover_event failover_event_from_string(const char *s);

typedef struct failover_phase_span {
        bool entered;
        bool ended;
        uint64_t start_usec;
        uint64_t end_usec;      /* valid when ended */
        uint64_t deadline_usec; /* UINT64_MAX: none */
} failover_phase_span;

/* One failover, from the first failed probe to done or failed. Strings are owned (set them with
 * failover_run_set_text()); plain fields may be written directly where said. */
typedef struct failover_run {
        char *cluster;
        uint64_t epoch; /* write it when the election is won; 0 until then */
        char *old_primary;
        char *new_primary;              /* set it in select; NULL until then */
        char *old_primary_gtid;         /* the old primary's gtid_binlog_pos at its last good probe; NULL */
        char *new_primary_gtid;         /* the new primary's position when promoted; NULL */
        bool manual;                    /* `sentinelctl failover`, not automatic */
        bool switchover;                /* a planned switchover (manual too), not a failover */
        bool forced;                    /* --force */
        uint64_t started_usec;          /* CLOCK_MONOTONIC: the start of detect */
        uint64_t started_realtime_usec; /* the same instant in CLOCK_REALTIME, for humans */
        uint64_t ended_usec;            /* when it reached done or failed; 0 before */
        uint64_t timeout_usec;          /* failover.timeout_ms when it started */
        uint64_t pre_hooks_usec;        /* the pre-hooks slice (see above) */
        failover_phase phase;
        failover_phase failed_phase; /* the phase it failed or was aborted in; _FAILOVER_PHASE_INVALID */
        failover_phase_span phases[_FAILOVER_PHASE_MAX];
        failover_result result; /* RUNNING until done or failed */
        bool degraded;          /* some phase after the promotion failed */
        failover_reason reason; /* why it failed, aborted or is degraded (the first); OK otherwise */
        char *message;          /* the details of reason, one line; NULL */
        bool lossy;             /* see failover_run_assess_loss() */
        char *lossy_why;
        char *missing_gtids; /* what the new primary lacked, with sources; NULL when nothing */
} failover_run;

/* A new run of conf's cluster for the failed primary old_primary, in the detect phase since
 * started_usec (the first failed probe; started_realtime_usec the same instant), with conf's budget.
 * 0 and *ret; -EINVAL; -ENOMEM. */
int failover_run_new(const cluster_conf *conf, const char *old_primary, bool manual, bool forced,
        uint64_t started_usec, uint64_t started_realtime_usec, failover_run **ret);

/* Frees a run; NULL-safe; returns NULL. */
failover_run *failover_run_free(failover_run *run);

static inline void failover_run_freep(failover_run **run) {
        failover_run_free(*run);
}

/* Replaces the string *field (one of a run's) by a copy of value (NULL: clears it); 0 or -ENOMEM (then
 * *field is unchanged). */
int failover_run_set_text(char **field, const char *value);

/* The share of failover.timeout_ms a phase gets, in permille (see above); 0 for detect, done, failed. */
unsigned failover_plan_phase_share(failover_phase p);

/* The slice of a phase for timeout_ms, in microseconds; UINT64_MAX for a phase without a deadline. */
uint64_t failover_plan_phase_budget_usec(uint64_t timeout_ms, failover_phase p);

/* The deadline of the run's current phase; UINT64_MAX when it has none (detect, done, failed). */
uint64_t failover_plan_deadline(const failover_run *run);

/* Whether the promotion has committed in phase p (promote and after): no abort any more. */
bool failover_phase_is_committed(failover_phase p);

/* Applies event to run at now_usec (a time before the current phase's start counts as that start).
 * reason is the cause for PHASE_FAILED, PHASE_DEGRADED and ABORT (FAILOVER_REASON_OK: the phase's
 * default: elect ELECTION_FAILED, pre-hooks PRE_HOOK_VETO, fence FENCE_FAILED, select NO_CANDIDATE,
 * catch-up CATCH_UP_FAILED, promote PROMOTE_FAILED, endpoints ENDPOINT_FAILED, repoint-replicas
 * REPOINT_FAILED, detect NOT_ODOWN; ABORT STALE_EPOCH); ignored otherwise. Transitions:
 *   PHASE_OK          the next phase (repoint-replicas -> done, result ok or degraded); leaving elect
 *                     needs run->epoch > 0, leaving select needs run->new_primary (-EINVAL otherwise)
 *   PHASE_DEGRADED    endpoints, repoint-replicas only: degraded, then as PHASE_OK
 *   PHASE_FAILED      detect to promote only: failed, result failed
 *   TICK              at or after the deadline: up to promote failed (TIMEOUT), after it degraded
 *                     (TIMEOUT) and on to the next phase; before it nothing (0)
 *   PRIMARY_RETURNED  detect to catch-up only: failed, result aborted, PRIMARY_RETURNED
 *   ABORT             detect to catch-up only: failed, result aborted
 * Returns 1 when the run changed, 0 when nothing happened (a TICK before the deadline or after the end),
 * -EBUSY when the event is not allowed in the current phase or the run has ended, -EINVAL on bad
 * arguments or an unmet precondition; the run is unchanged on error. */
int failover_plan_next(failover_run *run, failover_event event, failover_reason reason, uint64_t now_usec);

/* Decides whether the failover loses transactions and records it in run->lossy and run->lossy_why
 * (and run->missing_gtids): lossy when the old primary's last good probe is unknown, semi-sync was not
 * enabled on it (rpl_semi_sync_master_enabled OFF) or its status unknown, or it had fallen back to
 * asynchronous replication (Rpl_semi_sync_master_status OFF); and when the chosen candidate (sel's best,
 * sel may be NULL) lacks transactions another server received. 0, -EINVAL, -ENOMEM. */
int failover_run_assess_loss(failover_run *run, const server_status *old_primary_last_good,
        const candidate_selection *sel, const cluster_conf *conf);

/* The run as JSON: every field above, "started_at" (RFC 3339) and per entered phase {phase, start_usec,
 * end_usec, deadline_usec, duration_ms} (unknown values null). 0 and a new object in *ret, -EINVAL,
 * -ENOMEM. */
int failover_run_to_json(const failover_run *run, json_object **ret);

/* Reads back what failover_run_to_json() wrote. 0 and a new run in *ret; -EINVAL when a required field
 * (cluster, old_primary, phase, result, started_usec, phases) is missing or any field is mistyped or out
 * of range; -ENOMEM. */
int failover_run_from_json(json_object *j, failover_run **ret);

/* The `sentinelctl history` lines of a run: a headline (epoch, old -> new primary, result, start time,
 * forced, LOSSY; "failed in PHASE: REASON" when it failed), one line per entered phase with its duration
 * ("running" for the current one), the time from the start of elect to the end, the GTID positions of the
 * old and the new primary, the message and why it was lossy, when known. 0 and a new string in *ret,
 * -EINVAL, -ENOMEM. */
int failover_run_format(const failover_run *run, char **ret);
