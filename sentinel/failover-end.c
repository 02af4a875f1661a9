/* The end of a run of the failover engine (failover-op.c calls op_finish() once the plan says done or
 * failed): the run's audit record, its failover-end / failover-failed page, the operator's control
 * reply, the old primary made writable again when a failed run fenced it before the promotion
 * committed, and the op freed from the loop, with the delay before a failed automatic attempt is
 * tried again. A lost election ends here too, with no run record and no page (failover-elect.c). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "failover-op-internal.h"
#include "log.h"
#include "quorum.h"

/* The control reply of a finished run. */
static void op_reply(failover_op *op, json_object *run_json, const char *text) {
        failover_run *run = op->run;
        json_object *res;

        if (!op->client)
                return;
        if (run->result == FAILOVER_RESULT_OK) {
                res = json_object_new_object();
                json_object_object_add(res, "cluster", json_object_new_string(op_conf(op)->name));
                json_object_object_add(res, "epoch", json_object_new_uint64(run->epoch));
                json_object_object_add(res, "old_primary", json_object_new_string(server_name(op, op->old_primary)));
                json_object_object_add(res, "new_primary", json_object_new_string(server_name(op, op->new_primary)));
                json_object_object_add(res, "result", json_object_new_string(failover_result_to_string(run->result)));
                json_object_object_add(res, "run", json_object_get(run_json));
                _cleanup_free_ char *all = NULL;
                if (asprintf(&all, "%s is the primary of %s (epoch %" PRIu64 ")\n%s", server_name(op, op->new_primary),
                            op_conf(op)->name, run->epoch, text) < 0)
                        all = NULL;
                json_object_object_add(res, "text", json_object_new_string(all ? all : text));
                (void) control_client_reply(op->client, res);
        } else
                (void) control_client_reply_error(op->client,
                        run->result == FAILOVER_RESULT_DEGRADED || run->result == FAILOVER_RESULT_FAILED ? CONTROL_ERROR_FAILED
                                                                                                     : CONTROL_ERROR_REFUSED,
                        "%s %s: %s%s%s", failover_op_kind_to_string(op->kind), failover_result_to_string(run->result),
                        failover_reason_to_string(run->reason), run->message ? ": " : "", run->message ? run->message : "");
        op->client = control_client_unref(op->client);
}

static void op_release(failover_op *op) {
        daemon_cluster *dc = op->dc;
        /* A failed automatic attempt is not retried at once: the same causes would fail it again. */
        if (op->kind == FAILOVER_OP_FAILOVER && !op->run->manual &&
                (op->run->result == FAILOVER_RESULT_FAILED || op->run->result == FAILOVER_RESULT_ABORTED) &&
                op->run->reason != FAILOVER_REASON_PRIMARY_RETURNED)
                dc->retry_after_usec = op_now(op) + op->run->timeout_usec;
        /* The primary answered just now: it is not SDOWN again before a whole down_after_ms without an
         * answer, whatever this sentinel's SDOWN state still says until its next probe. An election
         * started on that stale state (the soak saw one 7 ms after such an abort) leaves an epoch
         * without a configuration behind (failover-trigger.c waits, silently). */
        if (op->kind == FAILOVER_OP_FAILOVER && op->run->reason == FAILOVER_REASON_PRIMARY_RETURNED) {
                dc->answered_usec = op_now(op);
                dc->odown = false;
        }
        /* A lost election is retried after a randomised delay, so that two candidates do not collide again. */
        if (op->kind == FAILOVER_OP_FAILOVER && !op->run->manual && op->run->failed_phase == FAILOVER_PHASE_ELECT &&
                dc->daemon->config->sentinel.n_peers > 0) {
                uint32_t rnd = 0;
                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                        rnd = (uint32_t) op_now(op);
                dc->retry_after_usec = op_now(op) +
                        quorum_retry_delay_usec(failover_plan_phase_budget_usec(op->run->timeout_usec / USEC_PER_MSEC,
                                                        FAILOVER_PHASE_ELECT),
                                dc->election_attempts, rnd);
                if (dc->election_attempts < UINT_MAX)
                        dc->election_attempts++;
                if (dc->quiet_until_usec < dc->retry_after_usec)
                        dc->quiet_until_usec = dc->retry_after_usec;
        }
        if (dc->op == op)
                dc->op = NULL;
        dc->op_ended_usec = op_now(op);
        failover_op_free(op);
        /* What the run left behind is judged by probes taken after it: every server is probed now,
         * and mismatches are reported once all of them answered (daemon-events.c). */
        dc->settling = true;
        (void) monitor_probe_now(dc->monitor);
        daemon_cluster_changed(dc);
}

static int on_release(sd_event_source *s, void *userdata) {
        failover_op *op = userdata;
        op->defer = sd_event_source_disable_unref(op->defer);
        op_release(op);
        return 0;
}

/* Frees the op from the loop, never from inside a handler of one of its own objects. */
static void op_release_later(failover_op *op) {
        op->defer = sd_event_source_disable_unref(op->defer);
        if (sd_event_add_defer(op->dc->daemon->event, &op->defer, on_release, op) < 0)
                op_release(op); /* out of memory: the handlers tolerate being freed */
}

static void on_unfenced(server_action *a, const server_action_result *res, void *userdata) {
        failover_op *op = userdata;

        if (res->code == SERVER_ACTION_OK)
                op_log(op, LOG_NOTICE, NULL, "%s is writable again: the %s did not happen",
                        server_name(op, op->old_primary), failover_op_kind_to_string(op->kind));
        else
                daemon_raise(op->dc, EVENT_TOPOLOGY_MISMATCH, op->run->epoch, "UNFENCE_FAILED", op->old_primary,
                        TOPOLOGY_NONE, NULL,
                        "%s stays read-only: making it writable again after the failed %s failed: %s; the cluster has no writable primary",
                        server_name(op, op->old_primary), failover_op_kind_to_string(op->kind), res->message);
        op_release_later(op);
}

void op_finish(failover_op *op) {
        failover_run *run = op->run;
        daemon_ctx *d = op->dc->daemon;
        json_object *run_json = NULL, *inputs;
        _cleanup_free_ char *text = NULL;
        bool ok = run->result == FAILOVER_RESULT_OK || run->result == FAILOVER_RESULT_DEGRADED;
        sentinel_event ev = op_event(op, ok ? EVENT_FAILOVER_END : EVENT_FAILOVER_FAILED);

        op->finished = true;
        if (op->timer)
                (void) sd_event_source_set_enabled(op->timer, SD_EVENT_OFF);
        (void) failover_run_to_json(run, &run_json);
        (void) failover_run_format(run, &text);

        /* A lost election is not a run: no run record, no page (op_election_lost()). */
        if (op_election_lost(op)) {
                daemon_metrics_election_lost(op->dc);
                op_reply(op, run_json, text ? text : "");
                json_object_put(run_json);
                op_release_later(op);
                return;
        }

        daemon_metrics_run_ended(op->dc, run, op->kind == FAILOVER_OP_SWITCHOVER);
        inputs = json_object_new_object();
        json_object_object_add(inputs, "kind", json_object_new_string(failover_op_kind_to_string(op->kind)));
        json_object_object_add(inputs, "run", json_object_get(run_json));
        daemon_audit_epoch(d, op_conf(op)->name, run->epoch, op->kind == FAILOVER_OP_FAILOVER ? "failover-run" : "switchover-run",
                failover_reason_to_string(run->reason), inputs);

        json_object *details = json_object_new_object();
        json_object_object_add(details, "result", json_object_new_string(failover_result_to_string(run->result)));
        json_object_object_add(details, "lossy", json_object_new_boolean(run->lossy));
        if (run->lossy_why)
                json_object_object_add(details, "lossy_why", json_object_new_string(run->lossy_why));
        json_object_object_add(details, "failed_phase",
                run->failed_phase >= 0 ? json_object_new_string(failover_phase_to_string(run->failed_phase)) : NULL);
        json_object_object_add(details, "elect_to_end_ms",
                json_object_new_int64(run->phases[FAILOVER_PHASE_ELECT].entered
                                ? (int64_t) ((run->ended_usec - run->phases[FAILOVER_PHASE_ELECT].start_usec) / USEC_PER_MSEC)
                                : 0));
        if (ok)
                daemon_raise(op->dc, ev, run->epoch, run->result == FAILOVER_RESULT_DEGRADED ? failover_reason_to_string(run->reason) : NULL,
                        op->old_primary, op->new_primary, details, "%s of %s %s: %s is the primary (epoch %" PRIu64 ")%s%s%s%s",
                        failover_op_kind_to_string(op->kind), op_conf(op)->name,
                        run->result == FAILOVER_RESULT_OK ? "done" : "done, DEGRADED", server_name(op, op->new_primary),
                        run->epoch, run->lossy ? "; LOSSY: " : "", run->lossy ? run->lossy_why : "",
                        run->result == FAILOVER_RESULT_DEGRADED && run->message ? "; " : "",
                        run->result == FAILOVER_RESULT_DEGRADED && run->message ? run->message : "");
        else
                daemon_raise(op->dc, ev, run->epoch, failover_reason_to_string(run->reason), op->old_primary,
                        run->new_primary ? op->new_primary : TOPOLOGY_NONE, details, "%s of %s %s in %s: %s%s%s",
                        failover_op_kind_to_string(op->kind), op_conf(op)->name, failover_result_to_string(run->result),
                        failover_phase_to_string(run->failed_phase), failover_reason_to_string(run->reason),
                        run->message ? ": " : "", run->message ? run->message : "");
        op_reply(op, run_json, text ? text : "");
        json_object_put(run_json);

        if (!ok)
                op_reaffirm(op);
        /* Before the promotion committed, the old primary goes back to what it was if we touched it. */
        if (!ok && op->old_fenced && !failover_phase_is_committed(run->failed_phase)) {
                server_action *a = op_action(op, op->old_primary);
                if (a && !server_action_is_running(a) &&
                        server_action_unfence(a, op_semi_flag(op), op_now(op) + 5 * USEC_PER_SEC, on_unfenced, op) >= 0) {
                        op->unfencing = true;
                        return;
                }
                daemon_raise(op->dc, EVENT_TOPOLOGY_MISMATCH, run->epoch, "UNFENCE_FAILED", op->old_primary, TOPOLOGY_NONE,
                        NULL, "%s stays read-only: cannot start making it writable again", server_name(op, op->old_primary));
        }
        op_release_later(op);
}
