/* The failover engine: one running failover or switchover of one cluster, driven through the phases of
 * failover-plan.h (detect, elect, pre-hooks, fence, select, catch-up, promote, endpoints,
 * repoint-replicas) by the database actions of server-action.h, the pre hooks of hook.h and the
 * endpoints of endpoints.h, every phase under its deadline.
 *
 * The daemon decides whether to start one (failover-trigger.c); from then on this module owns the run
 * until it ends, logs and audits every step once with the cluster and epoch, pages failover-* /
 * switchover-* / fenced / endpoint-*, persists the new primary with its epoch before it promotes (a
 * crash between the two leaves a known primary that is still a replica, never a second promotion) and
 * answers the operator's control request when there is one.
 *
 * Election: the sentinel's own vote in max(current epoch, config epoch) + 1 is persisted (fsync) first.
 * With no peers that vote decides. With peers the elect phase is asynchronous: VOTE_REQUEST goes to
 * every peer (daemon-peers.c), the replies come back through failover_op_on_vote_reply() and are
 * counted by quorum_tally(); a majority of ALL configured sentinels wins the epoch and the run goes
 * on in it; a split vote (every sentinel answered, too few grants) or the phase deadline fails the
 * run in elect, and the next automatic attempt waits quorum_retry_delay_usec(). A lost election is
 * audited as election-lost with the tally, not as a run, and pages nothing: this sentinel led nothing.
 * A newer configuration announced by a peer aborts a run that has not committed
 * (failover_op_abort_stale()). The request names the kind of the run (failover_op_get_vote_kind()):
 * the peers grant a failover's vote only when they see the primary ODOWN themselves, an operator's
 * switchover or forced failover without (quorum.h, quorum_vote_kind). A forced failover that cannot
 * reach the old primary to fence it therefore waits, before it promotes, until the sentinel of the
 * old primary's zone has fenced it: self_fence_after_ms after the election (within the run's
 * deadlines, or it fails). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "control-server.h"
#include "quorum.h"

struct daemon_cluster;

typedef struct failover_op failover_op;

typedef enum failover_op_kind {
        FAILOVER_OP_FAILOVER,
        FAILOVER_OP_SWITCHOVER,
        _FAILOVER_OP_KIND_MAX,
} failover_op_kind;

/* What to run. Everything marked "taken" belongs to the op from failover_op_start() on, also when it
 * fails. */
typedef struct failover_op_request {
        failover_op_kind kind;
        size_t old_primary; /* index into the cluster's servers */
        size_t new_primary; /* the chosen candidate */
        bool manual;        /* sentinelctl failover / switchover */
        bool forced;        /* --force */
        uint64_t detected_usec;          /* CLOCK_MONOTONIC start of detect (first failed probe) */
        candidate_selection *selection;  /* taken; failover only (NULL for a switchover) */
        json_object *decision;           /* taken: the decision or check JSON, for the audit record */
        control_client *client;          /* taken (a reference): answered when the run ends; NULL */
        uint64_t timeout_ms;             /* 0: failover.timeout_ms */
} failover_op_request;

/* Starts the run on dc (dc->op is set); the first phases run from the event loop. 0, or a negative
 * errno with nothing started (the request's taken parts freed, the client not answered). */
int failover_op_start(struct daemon_cluster *dc, failover_op_request *req);

/* The monitor took in a result: a failed primary that answers before the promotion commits aborts the
 * run (PRIMARY_RETURNED). */
void failover_op_on_update(failover_op *op);

/* Cancels everything the run has in flight without any report and frees it (daemon shutdown). */
failover_op *failover_op_free(failover_op *op);

/* "failover" or "switchover". */
const char *failover_op_kind_to_string(failover_op_kind k);

/* The kind of a running op. */
failover_op_kind failover_op_get_kind(const failover_op *op);

/* The run's epoch (0 before the election). */
uint64_t failover_op_get_epoch(const failover_op *op);

/* A VOTE_REPLY from a peer (daemon-peers.c): counted when the run is electing in that epoch. */
void failover_op_on_vote_reply(failover_op *op, const char *voter, uint64_t epoch, bool granted,
        const char *voted_for, const char *reason);

/* A newer configuration (epoch) announced by sentinel `by`: aborts the run (STALE_EPOCH) unless it
 * has committed. */
void failover_op_abort_stale(failover_op *op, uint64_t epoch, const char *by);

/* Whether the run is waiting for votes: true with the epoch it asks for (to ask again: the requests
 * are idempotent, a voter re-sends the vote it gave). */
bool failover_op_electing(const failover_op *op, uint64_t *ret_epoch);

/* The index of the primary the run replaces. */
size_t failover_op_get_old_primary(const failover_op *op);

/* What the run's election asks the peers for: SWITCHOVER for a switchover, FORCED for `failover --force`,
 * FAILOVER otherwise: automatic, a resumed promotion, or an operator's failover without force (only a
 * raw control request: sentinelctl refuses `failover` without --force), which is an automatic one run
 * early: failover-decide.h asks this sentinel for ODOWN (SDOWN with no_quorum) and the voters ask
 * for their own ODOWN. */
quorum_vote_kind failover_op_get_vote_kind(const failover_op *op);

/* With peers, a forced failover cannot fence an old primary its voters may still reach: unless that
 * primary answers (and the run aborts), it waits *ret_wait_usec after its election (self_fence_after_ms
 * plus one probe timeout) for the sentinel of the old primary's zone to fence it, and must do so
 * before the fence phase's checkpoint, *ret_budget_usec after the election started (failover-plan.h).
 * Whether the wait fits that budget at all (the election itself takes some of it). */
bool failover_op_forced_wait_fits(const cluster_conf *c, uint64_t *ret_wait_usec, uint64_t *ret_budget_usec);
