/* The elect phase of the failover engine (failover-op.c): a new epoch, this sentinel's own vote
 * persisted (fsync) before anything else happens in it, and with peers the votes of a majority of ALL
 * configured sentinels (lib/core/quorum.c's quorum_tally(); tests/model/sentinel.pml checks the rules).
 * The replies arrive through failover_op_on_vote_reply(); the phase deadline fails an election that
 * does not complete. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "failover-op-internal.h"
#include "log.h"
#include "quorum.h"
#include "timefmt.h"

/* The election is won (or there are no peers): the run goes on in epoch. */
static void op_elected(failover_op *op, uint64_t epoch, size_t votes) {
        daemon_ctx *d = op->dc->daemon;

        op->electing = false;
        op->run->epoch = epoch;
        op->dc->election_attempts = 0;
        op_log(op, LOG_NOTICE, NULL, "leader of epoch %" PRIu64 " (%zu vote(s) of %zu sentinel(s) configured)", epoch,
                votes, config_n_sentinels(d->config));

        json_object *details = json_object_new_object();
        json_object_object_add(details, "manual", json_object_new_boolean(op->run->manual));
        json_object_object_add(details, "forced", json_object_new_boolean(op->run->forced));
        json_object_object_add(details, "candidate", json_object_new_string(server_name(op, op->new_primary)));
        json_object_object_add(details, "votes", json_object_new_uint64(votes));
        if (op->decision)
                json_object_object_add(details, "decision", json_object_get(op->decision));
        daemon_raise(op->dc, op_event(op, EVENT_FAILOVER_START), epoch, NULL, op->old_primary, op->new_primary,
                details, "%s of %s started in epoch %" PRIu64 ": %s -> %s%s", failover_op_kind_to_string(op->kind),
                op_conf(op)->name, epoch, server_name(op, op->old_primary), server_name(op, op->new_primary),
                op->run->forced ? " (forced)" : "");
        op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
}

void op_votes_free(failover_op *op) {
        for (size_t i = 0; i < op->n_votes; i++) {
                free(op->voters[i]);
                free(op->voted_for[i]);
        }
        free(op->voters);
        free(op->voted_for);
        free(op->granted);
        op->voters = op->voted_for = NULL;
        op->granted = NULL;
        op->n_votes = 0;
}

static int op_add_vote(failover_op *op, const char *voter, bool granted, const char *voted_for) {
        size_t n = op->n_votes + 1;
        char **v = realloc(op->voters, n * sizeof(char *));
        if (!v)
                return -ENOMEM;
        op->voters = v;
        char **f = realloc(op->voted_for, n * sizeof(char *));
        if (!f)
                return -ENOMEM;
        op->voted_for = f;
        bool *g = realloc(op->granted, n * sizeof(bool));
        if (!g)
                return -ENOMEM;
        op->granted = g;
        op->voters[op->n_votes] = strdup(voter);
        op->voted_for[op->n_votes] = voted_for ? strdup(voted_for) : NULL;
        op->granted[op->n_votes] = granted;
        if (!op->voters[op->n_votes]) {
                free(op->voted_for[op->n_votes]);
                return -ENOMEM;
        }
        op->n_votes = n;
        return 0;
}

/* Counts the votes so far; won: the run goes on. */
static void op_tally(failover_op *op) {
        const sentinel_conf *s = &op->dc->daemon->config->sentinel;
        const char *names[s->n_peers + 1];
        quorum_vote_reply replies[op->n_votes ? op->n_votes : 1];
        quorum_tally_result t = {};

        names[0] = s->name;
        for (size_t i = 0; i < s->n_peers; i++)
                names[i + 1] = s->peers[i].name;
        for (size_t i = 0; i < op->n_votes; i++)
                replies[i] = (quorum_vote_reply){ .voter = op->voters[i], .epoch = op->election_epoch,
                        .granted = op->granted[i], .candidate = op->voted_for[i] };
        if (quorum_tally(s->name, op->election_epoch, names, s->n_peers + 1, replies, op->n_votes, &t) < 0)
                return;
        if (t.won) {
                op_elected(op, op->election_epoch, t.count);
                return;
        }
        /* Every configured sentinel answered and too few granted (a split vote): fail now, the retry is
         * randomised. */
        if (t.count + (s->n_peers + 1 - t.count - t.denied) < t.needed)
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_ELECTION_FAILED,
                        "%zu of %zu sentinel(s) voted for this one in epoch %" PRIu64 ", %zu denied: %zu needed",
                        t.count, s->n_peers + 1, op->election_epoch, t.denied, t.needed);
}

void failover_op_on_vote_reply(failover_op *op, const char *voter, uint64_t epoch, bool granted, const char *voted_for,
        const char *reason) {
        if (op->finished || !op->electing || epoch != op->election_epoch)
                return;
        op_log(op, granted ? LOG_INFO : LOG_NOTICE, granted ? NULL : reason,
                "%s %s its vote in epoch %" PRIu64 "%s%s", voter, granted ? "granted" : "denied", epoch,
                granted || !reason || !reason[0] ? "" : ": ", granted ? "" : reason);
        if (op_add_vote(op, voter, granted, voted_for) < 0)
                return;
        op_tally(op);
}

size_t failover_op_get_old_primary(const failover_op *op) {
        return op->old_primary;
}

bool failover_op_electing(const failover_op *op, uint64_t *ret_epoch) {
        if (op->finished || !op->electing)
                return false;
        if (ret_epoch)
                *ret_epoch = op->election_epoch;
        return true;
}

void failover_op_abort_stale(failover_op *op, uint64_t epoch, const char *by) {
        if (op->finished || failover_phase_is_committed(op->run->phase))
                return;
        op_step(op, FAILOVER_EVENT_ABORT, FAILOVER_REASON_STALE_EPOCH,
                "sentinel %s announced the configuration of epoch %" PRIu64 ": another leader acts", by, epoch);
}

/* elect: this sentinel's own vote, durable before anything else happens in this epoch; with peers,
 * then the votes of a majority of all configured sentinels (asynchronous: the replies arrive through
 * failover_op_on_vote_reply(), the phase deadline fails the election). */
void op_elect(failover_op *op) {
        daemon_ctx *d = op->dc->daemon;
        uint64_t epoch = state_get_epoch(d->state) + 1, config_epoch = 0;
        int r;

        (void) state_get_cluster_primary(d->state, op_conf(op)->name, NULL, &config_epoch);
        if (config_epoch >= epoch)
                epoch = config_epoch + 1;
        r = state_record_vote(d->state, epoch, d->config->sentinel.name);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_ELECTION_FAILED,
                        "cannot record the vote for epoch %" PRIu64 ": %s", epoch, state_strerror(r));
                return;
        }
        if (d->config->sentinel.n_peers == 0) {
                op_elected(op, epoch, 1);
                return;
        }
        op_votes_free(op);
        op->electing = true;
        op->election_epoch = epoch;
        if (op_add_vote(op, d->config->sentinel.name, true, d->config->sentinel.name) < 0) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_ELECTION_FAILED, "out of memory");
                return;
        }
        op_log(op, LOG_NOTICE, NULL, "asking %zu peer sentinel(s) for their votes in epoch %" PRIu64 " (%zu needed)",
                d->config->sentinel.n_peers, epoch, config_majority(d->config));
        daemon_peers_request_votes(op->dc, epoch, server_name(op, op->old_primary));
        op_tally(op);
}

