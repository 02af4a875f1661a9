/* What the files of the failover engine share (failover-op.c runs the phases, failover-elect.c the
 * election with the peers, failover-publish.c the endpoints and repoints, failover-end.c the run's
 * end): the run's state and the helpers that report a step. Not for others. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "endpoints.h"
#include "failover-plan.h"
#include "macro.h"
#include "server-action.h"

struct failover_op {
        daemon_cluster *dc;
        failover_op_kind kind;
        failover_run *run;
        candidate_selection *selection;
        json_object *decision;
        control_client *client;
        size_t old_primary, new_primary;
        bool semi_sync; /* the old primary ran the semi-sync master side: the new one will */

        bool old_fenced;          /* our fence took effect on the old primary */
        bool have_target;         /* switchover: catch up to the old primary's position after the fence */
        gtid_list catch_up_target;
        gtid_list new_binlog_pos; /* the new primary's, after the promotion (rejoin's input) */
        char *new_binlog_state;

        server_action **actions; /* per server, made on first use */
        size_t n_servers;
        size_t repoints_pending;
        size_t repoints_failed;
        char *repoint_errors;
        hook_pre *pre;
        endpoints_op *endpoints;
        sd_event_source *timer;
        sd_event_source *defer;
        sd_event_source *fence_wait; /* forced, the old primary not reached: until its zone fences it */
        bool unfencing;     /* the run ended; the old primary is being made writable again */

        /* the election with peers: the epoch asked for and the replies so far (our own vote first) */
        bool won;           /* the election of run->epoch was won */
        bool electing;
        uint64_t election_epoch;
        char **voters, **voted_for, **reasons; /* reasons: of denials, NULL when none given */
        bool *granted;
        size_t n_votes;
        bool finished;      /* the run ended and was reported */
};

/* The cluster's config, a server's name ("?" when out of range), the loop's CLOCK_MONOTONIC now. */
const cluster_conf *op_conf(const failover_op *op);
const char *server_name(const failover_op *op, size_t i);
uint64_t op_now(const failover_op *op);

/* The event of a failover's step as the run's kind names it (failover-start -> switchover-start, ...). */
sentinel_event op_event(const failover_op *op, sentinel_event failover_ev);

/* One journal line about a step of the run, with the cluster, the epoch and the phase. */
void op_log(failover_op *op, int priority, const char *reason, const char *format, ...) _printf_(4, 5);

/* Applies a plan event to the run (failover_plan_next()) and enters the next phase, or ends the run. */
void op_step(failover_op *op, failover_event ev, failover_reason reason, const char *format, ...) _printf_(4, 5);

/* The action object of server i (made on first use; NULL when out of memory). */
server_action *op_action(failover_op *op, size_t i);

/* The new primary as the source other servers replicate from (CHANGE MASTER TO). */
server_action_source op_source(const failover_op *op);

/* The deadline of what the current phase starts (never 0). */
uint64_t op_deadline(const failover_op *op);

/* SERVER_ACTION_SEMI_SYNC when the new primary takes the semi-sync master side, else 0. */
unsigned op_semi_flag(const failover_op *op);

/* failover-end.c: the run reached done or failed: audits, pages and answers it once, makes the old
 * primary writable again when a failed run fenced it before the promotion committed, then frees the op
 * from the loop. */
void op_finish(failover_op *op);

/* failover-publish.c: the endpoints phase (also starts the repoints). */
void op_endpoints(failover_op *op);

/* failover-publish.c: the repoint-replicas phase ends once every repoint has reported. */
void op_repoints_maybe_done(failover_op *op);

/* failover-elect.c: the elect phase: this sentinel's own vote, fsynced, then with peers theirs. */
void op_elect(failover_op *op);

/* failover-elect.c: forgets the votes collected. */
void op_votes_free(failover_op *op);

/* failover-elect.c: the run ended in elect after asking the peers for votes: writes the election-lost
 * audit record (the tally, every answer, the decision that started it) and its one log line, and
 * returns true; the caller then writes no run record and pages nothing (SPEC 6: failover-* come from
 * the leader of an epoch, and this sentinel was none). false when there was no election to lose (no
 * peers, or its own vote could not be recorded): a failed run like any other. */
bool op_election_lost(failover_op *op);

/* failover-elect.c: a run that won its election and failed before its promotion was written ahead:
 * nothing was promoted in its epoch, so its leader records and announces the old primary as that
 * epoch's configuration. The others then take the epoch as concluded: their votes stop suspending
 * their confirmations of the primary (self-fencing) and stop counting as a pending run (BUSY). No
 * other run can be going on: the voters of this one were not busy (quorum.h). */
void op_reaffirm(failover_op *op);
