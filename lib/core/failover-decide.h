/* Whether to fail over now (SPEC 5.10), as pure data: the pre-checks of a failover that say GO or
 * refuse it with a reason code (failover_reason, shared with the runs of failover-plan.h), the decision
 * and its inputs as JSON for the audit log, its `sentinelctl why` rendering, and when to page again while
 * a failover stays refused. Pure: time is passed in (CLOCK_MONOTONIC microseconds, CLOCK_REALTIME only
 * for what humans read), nothing here does I/O or logs. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "config.h"
#include "failover-plan.h"

/* The inputs of a decision. Times: last_failover_usec is CLOCK_MONOTONIC (0: unknown, e.g. it happened
 * before this boot), last_failover_realtime_usec CLOCK_REALTIME (0: unknown); both 0: no failover yet.
 * The monotonic pair is used when known, else the realtime pair (a last failover in the future of the
 * wall clock counts as just now). */
typedef struct failover_decide_input {
        const cluster_conf *conf;
        const char *primary; /* the failed (or suspected) primary's name */
        bool manual;         /* `sentinelctl failover`: auto, maintenance and cooldown do not apply */
        bool forced;         /* --force: CANDIDATE_BEHIND overridden (pass the same to candidate_select(),
                              * which overrides ERRANT_GTID and LAGGING) */
        bool no_quorum;      /* --no-quorum (manual only): SDOWN suffices, no majority needed */
        bool maintenance;
        size_t sentinels_reachable; /* this one included */
        size_t majority;            /* config_majority() */
        bool primary_sdown;         /* for this sentinel */
        bool primary_odown;
        bool primary_alive; /* its latest probe proved it alive */
        uint64_t last_failover_usec;
        uint64_t last_failover_realtime_usec;
        uint64_t now_usec;
        uint64_t now_realtime_usec;
        const candidate_selection *selection; /* NULL: no candidate was looked for (NO_CANDIDATE) */
} failover_decide_input;

typedef struct failover_decision {
        bool go;
        failover_reason reason;           /* OK when go, else the first refusal in the order below */
        uint64_t refusals;                /* FAILOVER_REASON_BIT()s of every refusal that holds */
        uint64_t overridden;              /* what --force overrode (candidate checks, CANDIDATE_BEHIND) */
        size_t candidate;                 /* the server to promote when go, else TOPOLOGY_NONE */
        uint64_t cooldown_remaining_usec; /* 0: no cooldown holds */
        char *text;                       /* one line for humans */
} failover_decision;

/* The pre-checks of a failover, every one evaluated, the first failing one named, in this order:
 * AUTO_DISABLED, MAINTENANCE (both not for manual), QUORUM_LOST (not with manual no_quorum),
 * NOT_ODOWN (not ODOWN; manual no_quorum: not SDOWN), PRIMARY_RETURNED (down by the quorum but alive
 * at its latest probe), COOLDOWN (not for manual; now < last + cooldown_s), then the candidate:
 * with --to the target's failed check; else NO_CANDIDATE, or ERRANT_GTID / LAGGING when servers
 * failed only those (overridable) checks; then CANDIDATE_BEHIND (overridable). 0 and *ret (free it with
 * failover_decision_done()); -EINVAL; -ENOMEM. */
int failover_plan_decide(const failover_decide_input *in, failover_decision *ret);

/* Frees what a decision owns; NULL-safe. */
void failover_decision_done(failover_decision *d);

/* The decision and its inputs as JSON for the audit log and `why`: {go, reason, refusals, overridden,
 * candidate, text, primary, inputs {...}, selection (candidate_selection_to_json(), null when none)}.
 * 0 and a new object in *ret, -EINVAL, -ENOMEM. */
int failover_decision_to_json(
        const failover_decision *d, const failover_decide_input *in, json_object **ret);

/* The `sentinelctl why` text of such JSON: the verdict line, every pre-check (ok or REFUSED), the inputs
 * as key=value, the candidate listing (candidate_selection_format()). Tolerates missing fields. 0 and a
 * new string in *ret, -EINVAL (not an object), -ENOMEM. */
int failover_decision_format(json_object *j, char **ret);

/* SPEC 5.10: while the primary stays down and failover is refused, page again once the refusal has lasted
 * another down_after_ms since the last page: whether now_usec is at or after last_page_usec +
 * down_after_ms (never before last_page_usec). */
bool failover_plan_should_repage(uint64_t last_page_usec, uint64_t down_after_ms, uint64_t now_usec);

/* Paging for one cluster's refusals. */
typedef struct failover_pager {
        bool paged;
        failover_reason reason; /* of the last page */
        uint64_t last_page_usec;
} failover_pager;

/* Whether to page for a refusal with reason at now_usec: the first refusal, one with another reason than
 * the last page's, or the same one when failover_plan_should_repage(); records the page when true. */
bool failover_pager_refused(
        failover_pager *p, failover_reason reason, uint64_t down_after_ms, uint64_t now_usec);

/* When the next page of the same refusal is due (for a timer); UINT64_MAX when nothing was paged. */
uint64_t failover_pager_next_usec(const failover_pager *p, uint64_t down_after_ms);

/* Forgets the refusal (the failover went ahead or the primary returned): the next refusal pages at once. */
void failover_pager_clear(failover_pager *p);
