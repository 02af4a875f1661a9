/* The elect phase of the failover engine (failover-op.c): a new epoch, this sentinel's own vote
 * persisted (fsync) before anything else happens in it, and with peers the votes of a majority of ALL
 * configured sentinels (lib/core/quorum.c's quorum_tally(); tests/model/sentinel.pml checks the rules).
 * The replies arrive through failover_op_on_vote_reply(); the phase deadline fails an election that
 * does not complete. The request names what the election is for (failover_op_get_vote_kind()): the
 * peers ask for their own ODOWN only of a failover (quorum.h, quorum_vote_kind). An election that is
 * lost is recorded as what it is, an election-lost decision with the tally, not as a failed run: with
 * several sentinels, losing to another candidate or a split vote is normal. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "failover-op-internal.h"
#include "log.h"
#include "quorum.h"
#include "timefmt.h"

quorum_vote_kind failover_op_get_vote_kind(const failover_op *op) {
        if (op->kind == FAILOVER_OP_SWITCHOVER)
                return QUORUM_VOTE_KIND_SWITCHOVER;
        return op->run->forced ? QUORUM_VOTE_KIND_FORCED : QUORUM_VOTE_KIND_FAILOVER;
}

/* The election is won (or there are no peers): the run goes on in epoch. */
static void op_elected(failover_op *op, uint64_t epoch, size_t votes) {
        daemon_ctx *d = op->dc->daemon;

        op->electing = false;
        op->won = true;
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
        for (size_t i = 0; op->reasons && i < op->n_votes; i++)
                free(op->reasons[i]);
        free(op->voters);
        free(op->voted_for);
        free(op->reasons);
        free(op->granted);
        op->voters = op->voted_for = op->reasons = NULL;
        op->granted = NULL;
        op->n_votes = 0;
}

static int op_add_vote(
        failover_op *op, const char *voter, bool granted, const char *voted_for, const char *reason) {
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
        char **why = realloc(op->reasons, n * sizeof(char *));
        if (!why)
                return -ENOMEM;
        op->reasons = why;
        op->voters[op->n_votes] = strdup(voter);
        op->voted_for[op->n_votes] = voted_for ? strdup(voted_for) : NULL;
        op->reasons[op->n_votes] = reason && reason[0] ? strdup(reason) : NULL;
        op->granted[op->n_votes] = granted;
        if (!op->voters[op->n_votes]) {
                free(op->voted_for[op->n_votes]);
                free(op->reasons[op->n_votes]);
                return -ENOMEM;
        }
        op->n_votes = n;
        return 0;
}

/* quorum_tally() of the votes so far. */
static int op_count(const failover_op *op, quorum_tally_result *ret) {
        const sentinel_conf *s = &op->dc->daemon->config->sentinel;
        const char *names[s->n_peers + 1];
        quorum_vote_reply replies[op->n_votes ? op->n_votes : 1];

        names[0] = s->name;
        for (size_t i = 0; i < s->n_peers; i++)
                names[i + 1] = s->peers[i].name;
        for (size_t i = 0; i < op->n_votes; i++)
                replies[i] = (quorum_vote_reply){ .voter = op->voters[i], .epoch = op->election_epoch,
                        .granted = op->granted[i], .candidate = op->voted_for[i] };
        return quorum_tally(s->name, op->election_epoch, names, s->n_peers + 1, replies, op->n_votes, ret);
}

/* Counts the votes so far; won: the run goes on. */
static void op_tally(failover_op *op) {
        const sentinel_conf *s = &op->dc->daemon->config->sentinel;
        quorum_tally_result t = {};

        if (op_count(op, &t) < 0)
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
        if (op_add_vote(op, voter, granted, voted_for, reason) < 0)
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
        /* An operator's run waits for another that may be going on (the control verbs refused it when
         * they saw one; a vote may have been given since): quorum.h, BUSY. */
        uint64_t pending = 0;
        if (failover_op_get_vote_kind(op) != QUORUM_VOTE_KIND_FAILOVER && d->config->sentinel.n_peers > 0 &&
                daemon_cluster_election_pending(op->dc, &pending)) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_BUSY,
                        "this sentinel just voted in the election of epoch %" PRIu64
                        ": its leader may be running",
                        pending);
                return;
        }
        r = state_record_vote(d->state, epoch, d->config->sentinel.name);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_ELECTION_FAILED,
                        "cannot record the vote for epoch %" PRIu64 ": %s", epoch, state_strerror(r));
                return;
        }
        daemon_fence_voted(op->dc, epoch);
        op->dc->voted_usec = op_now(op); /* daemon_cluster_election_pending() */
        if (d->config->sentinel.n_peers == 0) {
                op_elected(op, epoch, 1);
                return;
        }
        op_votes_free(op);
        op->electing = true;
        op->election_epoch = epoch;
        if (op_add_vote(op, d->config->sentinel.name, true, d->config->sentinel.name, NULL) < 0) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_ELECTION_FAILED, "out of memory");
                return;
        }
        op_log(op, LOG_NOTICE, NULL,
                "asking %zu peer sentinel(s) for their votes in epoch %" PRIu64 " (%zu needed, kind %s)",
                d->config->sentinel.n_peers, epoch, config_majority(d->config),
                quorum_vote_kind_to_string(failover_op_get_vote_kind(op)));
        daemon_peers_request_votes(
                op->dc, epoch, server_name(op, op->old_primary), failover_op_get_vote_kind(op));
        op_tally(op);
}

bool op_election_lost(failover_op *op) {
        failover_run *run = op->run;
        daemon_ctx *d = op->dc->daemon;
        const sentinel_conf *s = &d->config->sentinel;
        const char *reason = failover_reason_to_string(run->reason);
        quorum_tally_result t = {};
        _cleanup_free_ char *who = NULL, *text = NULL;
        size_t size = 0;
        FILE *f;

        if (run->failed_phase != FAILOVER_PHASE_ELECT || op->election_epoch == 0 || s->n_peers == 0)
                return false;
        if (op_count(op, &t) < 0)
                t = (quorum_tally_result){.needed = config_majority(d->config)};

        /* "s-2 granted, s-3 denied (NOT_ODOWN)": every answer but our own */
        f = open_memstream(&who, &size);
        if (!f)
                return false;
        for (size_t i = 0, n = 0; i < op->n_votes; i++) {
                if (streq(op->voters[i], s->name))
                        continue;
                fprintf(f, "%s%s %s", n++ ? ", " : "", op->voters[i], op->granted[i] ? "granted" : "denied");
                if (!op->granted[i] && (op->reasons[i] || op->voted_for[i]))
                        fprintf(f, " (%s%s%s)", op->reasons[i] ? op->reasons[i] : "",
                                op->reasons[i] && op->voted_for[i] ? ", voted for "
                                : op->voted_for[i]                 ? "voted for "
                                                                   : "",
                                op->voted_for[i] ? op->voted_for[i] : "");
        }
        if (fclose(f) != 0)
                return false;
        /* A split vote's message is the tally again; a timeout's or another leader's says more. */
        const char *more = run->reason == FAILOVER_REASON_ELECTION_FAILED ? NULL : run->message;
        if (asprintf(&text,
                    "election for a %s of %s lost in epoch %" PRIu64
                    ": %zu of %zu sentinel(s) voted for %s, %zu needed, %zu denied; %s%s%s%s",
                    quorum_vote_kind_to_string(failover_op_get_vote_kind(op)),
                    server_name(op, op->old_primary), op->election_epoch, t.count, s->n_peers + 1, s->name,
                    t.needed, t.denied, who && who[0] ? who : "no peer answered", more ? " (" : "",
                    more ? more : "", more ? ")" : "") < 0)
                return false;
        /* The operator's reply says the same (op_reply()). */
        (void) failover_run_set_text(&run->message, text);

        json_object *j = json_object_new_object(), *votes = json_object_new_array();
        json_object_object_add(j, "kind", json_object_new_string("election"));
        json_object_object_add(j, "op", json_object_new_string(failover_op_kind_to_string(op->kind)));
        json_object_object_add(j, "vote_kind",
                json_object_new_string(quorum_vote_kind_to_string(failover_op_get_vote_kind(op))));
        json_object_object_add(j, "epoch", json_object_new_uint64(op->election_epoch));
        json_object_object_add(j, "candidate", json_object_new_string(s->name));
        json_object_object_add(j, "primary", json_object_new_string(server_name(op, op->old_primary)));
        json_object_object_add(j, "new_primary", json_object_new_string(server_name(op, op->new_primary)));
        json_object_object_add(j, "manual", json_object_new_boolean(run->manual));
        json_object_object_add(j, "forced", json_object_new_boolean(run->forced));
        json_object_object_add(j, "reason", json_object_new_string(reason));
        json_object_object_add(j, "count", json_object_new_uint64(t.count));
        json_object_object_add(j, "needed", json_object_new_uint64(t.needed));
        json_object_object_add(j, "denied", json_object_new_uint64(t.denied));
        json_object_object_add(j, "sentinels", json_object_new_uint64(s->n_peers + 1));
        for (size_t i = 0; i < op->n_votes; i++) {
                json_object *v = json_object_new_object();
                json_object_object_add(v, "voter", json_object_new_string(op->voters[i]));
                json_object_object_add(v, "granted", json_object_new_boolean(op->granted[i]));
                json_object_object_add(
                        v, "voted_for", op->voted_for[i] ? json_object_new_string(op->voted_for[i]) : NULL);
                json_object_object_add(
                        v, "reason", op->reasons[i] ? json_object_new_string(op->reasons[i]) : NULL);
                json_object_array_add(votes, v);
        }
        json_object_object_add(j, "votes", votes);
        json_object_object_add(j, "elect_ms",
                json_object_new_uint64(
                        (run->ended_usec - run->phases[FAILOVER_PHASE_ELECT].start_usec) / USEC_PER_MSEC));
        json_object_object_add(j, "text", json_object_new_string(text));
        json_object_object_add(j, "at", json_object_new_uint64(timefmt_now_realtime_usec()));
        if (op->decision)
                json_object_object_add(j, "decision", json_object_get(op->decision));
        daemon_audit_epoch(d, op_conf(op)->name, op->election_epoch, "election-lost", reason, j);
        log_fields_full(run->manual ? LOG_WARNING : LOG_NOTICE,
                &(log_fields){.cluster = op_conf(op)->name,
                        .has_epoch = true,
                        .epoch = op->election_epoch,
                        .event = _EVENT_INVALID,
                        .reason = reason},
                "%s", text);
        return true;
}

void op_reaffirm(failover_op *op) {
        daemon_ctx *d = op->dc->daemon;
        const char *cluster = op_conf(op)->name, *known = NULL;
        uint64_t epoch = op->run->epoch, config_epoch = 0;
        int r;

        if (!op->won || epoch == 0 || d->config->sentinel.n_peers == 0 || op->old_primary >= op_conf(op)->n_servers ||
                failover_phase_is_committed(op->run->failed_phase) || state_get_epoch(d->state) != epoch ||
                state_get_cluster_pending(d->state, cluster))
                return; /* a promotion may have happened or be resumed, or a newer epoch exists */
        if (state_get_cluster_primary(d->state, cluster, &known, &config_epoch) > 0 && config_epoch >= epoch)
                return;
        const char *primary = server_name(op, op->old_primary);
        r = state_set_cluster_primary(d->state, cluster, primary, epoch);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                op_log(op, LOG_ERR, "STATE_SAVE", "cannot record %s as the primary of epoch %" PRIu64 ": %s", primary,
                        epoch, state_strerror(r));
                return;
        }
        (void) monitor_set_known_primary(op->dc->monitor, primary);
        json_object *in = json_object_new_object();
        json_object_object_add(in, "primary", json_object_new_string(primary));
        json_object_object_add(in, "old_epoch", json_object_new_uint64(config_epoch));
        json_object_object_add(in, "kind", json_object_new_string(failover_op_kind_to_string(op->kind)));
        daemon_audit_epoch(d, cluster, epoch, "config-reaffirmed", failover_reason_to_string(op->run->reason), in);
        op_log(op, LOG_NOTICE, NULL,
                "nothing was promoted in epoch %" PRIu64 ": announcing %s as its primary, so the other sentinels "
                "take the epoch as concluded",
                epoch, primary);
        daemon_peers_announce_config(op->dc, epoch, primary);
}
