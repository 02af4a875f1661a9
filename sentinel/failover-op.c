/* The failover engine (failover-op.h): one run through the phases of failover-plan.h. Each phase is
 * started by op_enter() and ends with one call of op_step() from whatever finished it (a server
 * action's handler, the pre-hook verdict, the endpoints' report, the phase timer); op_step() applies
 * the transition to the plan and enters the next phase. The plan module owns the order, the deadlines
 * and what a failure means in each phase; this file only performs the phases (the election is
 * failover-elect.c's, the endpoints and repoints failover-publish.c's), and failover-end.c records,
 * reports and releases the run once it ended. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "failover-op-internal.h"
#include "endpoints.h"
#include "failover-plan.h"
#include "log.h"
#include "quorum.h"
#include "macro.h"
#include "server-action.h"
#include "timefmt.h"


/* A GTID position as text in a caller's buffer ("?" when it cannot be formatted). */
static const char *gtid_text(const gtid_list *l, char *buf, size_t size) {
        _cleanup_free_ char *t = NULL;
        snprintf(buf, size, "%s", gtid_list_format(l, &t) >= 0 ? t : "?");
        return buf;
}

#define GTID_TEXT(l) gtid_text((l), (char[512]){}, 512)

static const char *const kind_names[_FAILOVER_OP_KIND_MAX] = {
        [FAILOVER_OP_FAILOVER] = "failover",
        [FAILOVER_OP_SWITCHOVER] = "switchover",
};

const char *failover_op_kind_to_string(failover_op_kind k) {
        return k >= 0 && k < _FAILOVER_OP_KIND_MAX ? kind_names[k] : NULL;
}

failover_op_kind failover_op_get_kind(const failover_op *op) {
        return op->kind;
}

uint64_t failover_op_get_epoch(const failover_op *op) {
        return op->run->epoch;
}

static void op_enter(failover_op *op);

const cluster_conf *op_conf(const failover_op *op) {
        return op->dc->conf;
}

const char *server_name(const failover_op *op, size_t i) {
        return i < op_conf(op)->n_servers ? op_conf(op)->servers[i].name : "?";
}

uint64_t op_now(const failover_op *op) {
        uint64_t now = 0;
        (void) sd_event_now(op->dc->daemon->event, CLOCK_MONOTONIC, &now);
        return now;
}

sentinel_event op_event(const failover_op *op, sentinel_event failover_ev) {
        if (op->kind == FAILOVER_OP_FAILOVER)
                return failover_ev;
        switch (failover_ev) {
        case EVENT_FAILOVER_START:
                return EVENT_SWITCHOVER_START;
        case EVENT_FAILOVER_END:
                return EVENT_SWITCHOVER_END;
        default:
                return EVENT_SWITCHOVER_FAILED;
        }
}

/* One line in the journal about a step, with the cluster, the epoch and the phase. */
void op_log(failover_op *op, int priority, const char *reason, const char *format, ...) {
        char line[1024];
        va_list ap;

        va_start(ap, format);
        vsnprintf(line, sizeof(line), format, ap);
        va_end(ap);
        log_fields_full(priority,
                &(log_fields){ .cluster = op_conf(op)->name, .has_epoch = op->run->epoch > 0,
                        .epoch = op->run->epoch, .event = _EVENT_INVALID, .reason = reason },
                "%s %s: %s", failover_op_kind_to_string(op->kind),
                failover_phase_to_string(op->run->phase), line);
}

server_action *op_action(failover_op *op, size_t i) {
        const cluster_conf *c = op_conf(op);
        int r;

        if (op->actions[i])
                return op->actions[i];
        r = daemon_server_action_new(op->dc, i, &op->actions[i]);
        if (r < 0) {
                op_log(op, LOG_ERR, NULL, "cannot prepare the actions on %s: %s", c->servers[i].name, strerror(-r));
                return NULL;
        }
        return op->actions[i];
}

server_action_source op_source(const failover_op *op) {
        const cluster_conf *c = op_conf(op);
        const server_conf *p = &c->servers[op->new_primary];
        return (server_action_source){
                .host = p->host,
                .port = p->port,
                .user = c->replication_user,
                .password = (const char *) c->replication_password.data,
                .use_tls = c->tls.enabled,
                .tls_ca = c->tls.enabled ? c->tls.ca : NULL,
                .tls_verify_server_cert = c->tls.verify_server_cert,
                .semi_sync = op->semi_sync,
                .wait_running = false,
        };
}

/* The deadline of what the current phase starts, never 0. */
uint64_t op_deadline(const failover_op *op) {
        uint64_t d = failover_plan_deadline(op->run);
        return d == UINT64_MAX ? op_now(op) + op->run->timeout_usec : d;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        failover_op *op = userdata;
        op_step(op, FAILOVER_EVENT_TICK, FAILOVER_REASON_OK, "the phase ran past its deadline");
        return 0;
}

static void op_arm_timer(failover_op *op) {
        uint64_t d = failover_plan_deadline(op->run);
        int r;

        if (d == UINT64_MAX) {
                if (op->timer)
                        (void) sd_event_source_set_enabled(op->timer, SD_EVENT_OFF);
                return;
        }
        if (!op->timer) {
                r = sd_event_add_time(op->dc->daemon->event, &op->timer, CLOCK_MONOTONIC, d, 0, on_timer, op);
                if (r < 0)
                        op_log(op, LOG_ERR, NULL, "cannot arm the phase deadline: %s", strerror(-r));
                return;
        }
        (void) sd_event_source_set_time(op->timer, d);
        (void) sd_event_source_set_enabled(op->timer, SD_EVENT_ONESHOT);
}

/* Stops what the phase that just ended left running (after a timeout), except the repoints, which go
 * on into the next phase. */
static void op_cancel_phase(failover_op *op, failover_phase ended) {
        if (ended == FAILOVER_PHASE_PRE_HOOKS)
                op->pre = hook_pre_cancel(op->pre);
        if (ended == FAILOVER_PHASE_ENDPOINTS)
                op->endpoints = endpoints_op_free(op->endpoints);
        if (ended == FAILOVER_PHASE_FENCE)
                op->fence_wait = sd_event_source_disable_unref(op->fence_wait);
        if (ended <= FAILOVER_PHASE_PROMOTE || ended == FAILOVER_PHASE_REPOINT_REPLICAS)
                for (size_t i = 0; i < op->n_servers; i++)
                        if (op->actions[i])
                                server_action_cancel(op->actions[i]);
}

void op_step(failover_op *op, failover_event ev, failover_reason reason, const char *format, ...) {
        failover_phase before = op->run->phase;
        char message[1024] = "";
        uint64_t now = op_now(op);
        int r;

        if (op->finished)
                return;
        if (format) {
                va_list ap;
                va_start(ap, format);
                vsnprintf(message, sizeof(message), format, ap);
                va_end(ap);
        }
        r = failover_plan_next(op->run, ev, reason, now);
        if (r <= 0) {
                if (r < 0)
                        op_log(op, LOG_ERR, NULL, "internal: event %s refused by the plan: %s",
                                failover_event_to_string(ev), strerror(-r));
                return;
        }
        if (message[0] && (op->run->reason != FAILOVER_REASON_OK) && !op->run->message)
                (void) failover_run_set_text(&op->run->message, message);
        if (ev == FAILOVER_EVENT_TICK || ev == FAILOVER_EVENT_PRIMARY_RETURNED || ev == FAILOVER_EVENT_ABORT) {
                /* A fence cut short may have reached the server: undo it when the run ends. */
                if (before == FAILOVER_PHASE_FENCE && op->actions[op->old_primary] &&
                        server_action_is_running(op->actions[op->old_primary]))
                        op->old_fenced = true;
                op_cancel_phase(op, before);
        }
        if (op->run->phase == FAILOVER_PHASE_DONE || op->run->phase == FAILOVER_PHASE_FAILED) {
                op_finish(op);
                return;
        }
        op_arm_timer(op);
        op_enter(op);
}

static void on_pre_verdict(hook_dispatcher *h, const hook_verdict *v, void *userdata) {
        failover_op *op = userdata;
        char how[RUNNER_DESCRIBE_MAX];

        op->pre = NULL;
        if (v->allow) {
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
                return;
        }
        if (v->result)
                runner_result_describe(v->result, how, sizeof(how));
        else
                snprintf(how, sizeof(how), "%s", v->error < 0 ? strerror(-v->error) : hook_outcome_to_string(v->outcome));
        op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_PRE_HOOK_VETO, "pre hook %s vetoed it: %s",
                v->hook ? v->hook->command : "?", how);
}

static void op_pre_hooks(failover_op *op) {
        const cluster_conf *c = op_conf(op);
        daemon_ctx *d = op->dc->daemon;
        hook_event ev = {
                .event = op_event(op, EVENT_FAILOVER_START),
                .cluster = c->name,
                .epoch = op->run->epoch,
                .sentinel_name = d->config->sentinel.name,
                .sentinel_zone = d->config->sentinel.zone,
                .old_primary = { c->servers[op->old_primary].name, c->servers[op->old_primary].host,
                        c->servers[op->old_primary].port },
                .new_primary = { c->servers[op->new_primary].name, c->servers[op->new_primary].host,
                        c->servers[op->new_primary].port },
                .message = "about to fence the old primary and promote",
                .realtime_usec = timefmt_now_realtime_usec(),
                .credentials_directory = getenv("CREDENTIALS_DIRECTORY"),
        };
        int r = hook_dispatcher_run_pre(d->hooks, c->hooks, c->n_hooks, &ev, on_pre_verdict, op, &op->pre);
        if (r < 0)
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_PRE_HOOK_VETO, "cannot run the pre hooks: %s",
                        strerror(-r));
}

unsigned op_semi_flag(const failover_op *op) {
        return op->semi_sync ? SERVER_ACTION_SEMI_SYNC : 0;
}

/* Whether a sentinel is configured in zone (this one or a peer). */
static bool zone_has_sentinel(const failover_op *op, const char *zone) {
        const sentinel_conf *s = &op->dc->daemon->config->sentinel;
        if (!zone || !zone[0])
                return false;
        if (streq_ptr(s->zone, zone))
                return true;
        for (size_t i = 0; i < s->n_peers; i++)
                if (streq_ptr(s->peers[i].zone, zone))
                        return true;
        return false;
}

static int on_fence_waited(sd_event_source *s, uint64_t usec, void *userdata) {
        failover_op *op = userdata;
        op->fence_wait = sd_event_source_disable_unref(op->fence_wait);
        op_log(op, LOG_NOTICE, NULL, "waited for the sentinel of %s's zone to fence it: promoting",
                server_name(op, op->old_primary));
        op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
        return 0;
}

static uint64_t forced_wait_usec(const cluster_conf *c) {
        return (c->fencing.self_fence_after_ms + c->probe.timeout_ms) * USEC_PER_MSEC;
}

bool failover_op_forced_wait_fits(
        const cluster_conf *c, uint64_t *ret_wait_usec, uint64_t *ret_budget_usec) {
        uint64_t t = c->failover.timeout_ms,
                 pre = failover_plan_phase_budget_usec(t, FAILOVER_PHASE_PRE_HOOKS);
        uint64_t budget, wait = forced_wait_usec(c);

        /* as failover_run_new() and the plan's checkpoints: a longer pre hook lengthens its slice */
        for (size_t k = 0; k < c->n_hooks; k++)
                if (c->hooks[k].class == HOOK_CLASS_PRE && c->hooks[k].timeout_ms * USEC_PER_MSEC > pre)
                        pre = c->hooks[k].timeout_ms * USEC_PER_MSEC;
        budget = failover_plan_phase_budget_usec(t, FAILOVER_PHASE_ELECT) + pre +
                 failover_plan_phase_budget_usec(t, FAILOVER_PHASE_FENCE);
        if (ret_wait_usec)
                *ret_wait_usec = wait;
        if (ret_budget_usec)
                *ret_budget_usec = budget;
        return wait < budget;
}

/* The fence did not reach the old primary. An ODOWN failover goes on: its voters failed to reach the
 * primary for down_after_ms, longer than self_fence_after_ms, so the primary's zone sentinel has
 * fenced it already (quorum.h). The voters of a forced failover need not have seen it down: one may
 * still reach it and confirmed it until it voted. A majority granted this election, so no majority
 * confirms the primary after the win, and the sentinel of its zone fences it self_fence_after_ms
 * later at the latest; the promotion waits that long after the win, plus one probe timeout (the zone
 * sentinel's timer and its SET GLOBAL read_only). The wait must end within the fence phase's deadline
 * (the run's budget, failover.timeout_ms): else the run fails rather than promote early. Without peers
 * nobody else confirmed the primary, and nobody would fence it: no wait. */
static void op_fence_unreached(failover_op *op) {
        const cluster_conf *c = op_conf(op);
        const failover_phase_span *elect = &op->run->phases[FAILOVER_PHASE_ELECT];
        uint64_t now = op_now(op), until, deadline, wait_usec;
        const char *zone = c->servers[op->old_primary].zone;
        int r;

        if (failover_op_get_vote_kind(op) != QUORUM_VOTE_KIND_FORCED ||
                op->dc->daemon->config->sentinel.n_peers == 0 || !elect->ended) {
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
                return;
        }
        wait_usec = forced_wait_usec(c);
        until = elect->end_usec + wait_usec;
        if (until <= now) {
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
                return;
        }
        deadline = failover_plan_deadline(op->run);
        if (until >= deadline) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_FENCE_FAILED,
                        "%s was not reached to fence it, and its zone's sentinel may need %" PRIu64
                        " ms after the election (self_fence_after_ms %" PRIu64 " + probe timeout_ms %" PRIu64
                        ") to fence it, past the fence phase's deadline %" PRIu64 " ms after the election "
                        "(failover.timeout_ms %" PRIu64 "): not promoting while it may still take writes",
                        server_name(op, op->old_primary), (uint64_t) (wait_usec / USEC_PER_MSEC),
                        c->fencing.self_fence_after_ms, c->probe.timeout_ms,
                        (uint64_t) ((deadline - elect->end_usec) / USEC_PER_MSEC),
                        (uint64_t) (op->run->timeout_usec / USEC_PER_MSEC));
                return;
        }
        op_log(op, LOG_WARNING, "SELF_FENCE_WAIT",
                "old primary %s not reached: waiting %" PRIu64 " ms for its zone's sentinel to fence it%s",
                server_name(op, op->old_primary),
                (uint64_t) ((until - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC),
                zone_has_sentinel(op, zone) ? ""
                                            : " (no sentinel is configured in its zone: nobody may fence it "
                                              "before the promotion)");
        op->fence_wait = sd_event_source_disable_unref(op->fence_wait);
        r = sd_event_add_time(
                op->dc->daemon->event, &op->fence_wait, CLOCK_MONOTONIC, until, 0, on_fence_waited, op);
        if (r < 0)
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_FENCE_FAILED,
                        "cannot wait for %s's zone to fence it: %s", server_name(op, op->old_primary),
                        strerror(-r));
}

static void on_fenced(server_action *a, const server_action_result *res, void *userdata) {
        failover_op *op = userdata;
        bool answered = probe_error_class_is_alive(res->error_class);

        if (op->kind == FAILOVER_OP_SWITCHOVER) {
                if (answered)
                        op->old_fenced = true; /* read_only may be ON even when a later statement failed */
                if (res->code != SERVER_ACTION_OK || !res->have_variables) {
                        op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_FENCE_FAILED, "fencing %s: %s",
                                server_name(op, op->old_primary), res->message);
                        return;
                }
                gtid_list_done(&op->catch_up_target);
                if (gtid_list_copy(&res->gtid_binlog_pos, &op->catch_up_target) < 0) {
                        op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_FENCE_FAILED, "out of memory");
                        return;
                }
                op->have_target = true;
                (void) failover_run_set_text(&op->run->old_primary_gtid, GTID_TEXT(&res->gtid_binlog_pos));
                daemon_raise(op->dc, EVENT_FENCED, op->run->epoch, NULL, op->old_primary, op->new_primary, NULL,
                        "%s fenced for the switchover: read_only=ON, %u client connection(s) killed, binlog at %s",
                        server_name(op, op->old_primary), res->n_killed, GTID_TEXT(&res->gtid_binlog_pos));
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
                return;
        }

        /* A failover: the primary was down for every probe of down_after_ms. If it answers us now it is
         * back, and a primary that answers before the promotion commits aborts the failover (SPEC 5.8);
         * whatever our fence did to it is undone when the run ends. */
        if (answered) {
                op->old_fenced = true;
                op_step(op, FAILOVER_EVENT_PRIMARY_RETURNED, FAILOVER_REASON_PRIMARY_RETURNED,
                        "%s answered the fence (%s): it is alive", server_name(op, op->old_primary),
                        res->code == SERVER_ACTION_OK ? "fenced" : res->message);
                return;
        }
        op_log(op, LOG_NOTICE, NULL, "%s cannot be reached to fence it (%s): going on, it is down",
                server_name(op, op->old_primary), res->message);
        op_fence_unreached(op);
}

static void op_fence(failover_op *op) {
        server_action *a = op_action(op, op->old_primary);
        uint64_t deadline = op_deadline(op);
        int r;

        /* A failed primary that does not answer within one probe timeout is as down as the probes said:
         * the promotion does not wait the whole fence slice for it. It is fenced (rejoined read-only)
         * as soon as it answers again (daemon-reconcile.c). */
        if (op->kind == FAILOVER_OP_FAILOVER)
                {
                uint64_t quick = op_now(op) + op_conf(op)->probe.timeout_ms * USEC_PER_MSEC;
                if (quick < deadline)
                        deadline = quick;
        }
        r = a ? server_action_fence(a, op_semi_flag(op), deadline, on_fenced, op) : -ENOMEM;
        if (r < 0)
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_FENCE_FAILED, "cannot start fencing: %s",
                        strerror(-r));
}

static void op_select(failover_op *op) {
        const cluster_conf *c = op_conf(op);
        const monitor *m = op->dc->monitor;
        int r;

        r = failover_run_set_text(&op->run->new_primary, c->servers[op->new_primary].name);
        if (r >= 0 && op->kind == FAILOVER_OP_FAILOVER)
                r = failover_run_assess_loss(op->run, monitor_last_good(m, op->old_primary), op->selection, c);
        if (r < 0) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_NO_CANDIDATE, "%s", strerror(-r));
                return;
        }
        op_log(op, op->run->lossy ? LOG_WARNING : LOG_INFO, NULL, "promoting %s%s%s",
                c->servers[op->new_primary].name, op->run->lossy ? "; LOSSY: " : "",
                op->run->lossy ? op->run->lossy_why : "");
        op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
}

static void on_caught_up(server_action *a, const server_action_result *res, void *userdata) {
        failover_op *op = userdata;

        if (res->code != SERVER_ACTION_OK) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_CATCH_UP_FAILED, "%s did not catch up: %s",
                        server_name(op, op->new_primary), res->message);
                return;
        }
        op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
}

static void op_catch_up(failover_op *op) {
        server_action *a = op_action(op, op->new_primary);
        uint64_t deadline = op_deadline(op);
        int r;

        /* A switchover holds the fenced primary read-only while this waits, and its candidate had lag
         * 0 a moment ago: a tenth of the budget is plenty, and the writes resume sooner when it fails. */
        if (op->kind == FAILOVER_OP_SWITCHOVER && op_now(op) + op->run->timeout_usec / 10 < deadline)
                deadline = op_now(op) + op->run->timeout_usec / 10;
        r = a ? server_action_catch_up(a, op->have_target ? &op->catch_up_target : NULL, deadline, on_caught_up, op)
              : -ENOMEM;
        if (r < 0)
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_CATCH_UP_FAILED, "cannot start the catch-up: %s",
                        strerror(-r));
}

static void on_promoted(server_action *a, const server_action_result *res, void *userdata) {
        failover_op *op = userdata;
        daemon_ctx *d = op->dc->daemon;
        const char *cluster = op_conf(op)->name;
        uint64_t realtime = timefmt_now_realtime_usec();
        int r;

        if (res->code != SERVER_ACTION_OK) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_PROMOTE_FAILED, "promoting %s: %s",
                        server_name(op, op->new_primary), res->message);
                return;
        }
        if (res->have_variables) {
                (void) failover_run_set_text(&op->run->new_primary_gtid, GTID_TEXT(&res->gtid_binlog_pos));
                gtid_list_done(&op->new_binlog_pos);
                (void) gtid_list_copy(&res->gtid_binlog_pos, &op->new_binlog_pos);
                free(op->new_binlog_state);
                op->new_binlog_state = res->gtid_binlog_state ? strdup(res->gtid_binlog_state) : NULL;
        }
        op->dc->last_failover_usec = op_now(op);
        /* Committed: the configuration is no longer pending, and the peers may adopt it. */
        (void) state_set_cluster_pending(d->state, cluster, false);
        r = state_set_cluster_last_failover(d->state, cluster, realtime, op->run->epoch);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0)
                op_log(op, LOG_ERR, NULL, "cannot record the end of this promotion (the cooldown and the commit will not "
                        "survive a restart): %s", state_strerror(r));
        daemon_peers_announce_config(op->dc, op->run->epoch, server_name(op, op->new_primary));
        op_log(op, LOG_NOTICE, NULL, "%s is the primary%s, at %s", server_name(op, op->new_primary),
                res->already ? " (it already was)" : "", op->run->new_primary_gtid ? op->run->new_primary_gtid : "?");
        op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
}

static void op_promote(failover_op *op) {
        daemon_ctx *d = op->dc->daemon;
        const char *name = server_name(op, op->new_primary);
        server_action *a;
        int r;

        /* Written ahead: from here on the sentinel believes in the candidate, so a crash between this
         * and the promotion can never lead to promoting a second server for the same failure. Pending
         * until on_promoted(): the peers are not told (OPINION says pending, no CONFIG) before the
         * promotion committed, so a crash here never leaves them believing in an unpromoted replica. */
        r = state_set_cluster_primary(d->state, op_conf(op)->name, name, op->run->epoch);
        if (r >= 0)
                r = state_set_cluster_pending(d->state, op_conf(op)->name, true);
        if (r >= 0)
                r = state_save(d->config->sentinel.state_dir, d->state);
        if (r < 0) {
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_PROMOTE_FAILED,
                        "cannot record %s as the primary of epoch %" PRIu64 ": %s", name, op->run->epoch,
                        state_strerror(r));
                return;
        }
        (void) monitor_set_known_primary(op->dc->monitor, name);
        a = op_action(op, op->new_primary);
        r = a ? server_action_promote(a, op_semi_flag(op), op_deadline(op), on_promoted, op) : -ENOMEM;
        if (r < 0)
                op_step(op, FAILOVER_EVENT_PHASE_FAILED, FAILOVER_REASON_PROMOTE_FAILED, "cannot start the promotion: %s",
                        strerror(-r));
}

static int on_defer(sd_event_source *s, void *userdata) {
        failover_op *op = userdata;
        op->defer = sd_event_source_disable_unref(op->defer);
        op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
        return 0;
}

static void op_enter(failover_op *op) {
        switch (op->run->phase) {
        case FAILOVER_PHASE_DETECT:
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
                break;
        case FAILOVER_PHASE_ELECT:
                op_elect(op);
                break;
        case FAILOVER_PHASE_PRE_HOOKS:
                op_pre_hooks(op);
                break;
        case FAILOVER_PHASE_FENCE:
                op_fence(op);
                break;
        case FAILOVER_PHASE_SELECT:
                op_select(op);
                break;
        case FAILOVER_PHASE_CATCH_UP:
                op_catch_up(op);
                break;
        case FAILOVER_PHASE_PROMOTE:
                op_promote(op);
                break;
        case FAILOVER_PHASE_ENDPOINTS:
                op_endpoints(op);
                break;
        case FAILOVER_PHASE_REPOINT_REPLICAS:
                op_repoints_maybe_done(op);
                break;
        default:
                break;
        }
}

void failover_op_on_update(failover_op *op) {
        const server_status *s;

        if (op->finished || op->kind != FAILOVER_OP_FAILOVER || failover_phase_is_committed(op->run->phase))
                return;
        s = monitor_server_status(op->dc->monitor, op->old_primary);
        if (s && s->reachable && s->started_usec >= op->run->started_usec)
                op_step(op, FAILOVER_EVENT_PRIMARY_RETURNED, FAILOVER_REASON_PRIMARY_RETURNED,
                        "%s answered a probe again", server_name(op, op->old_primary));
}

failover_op *failover_op_free(failover_op *op) {
        if (!op)
                return NULL;
        if (op->actions)
                for (size_t i = 0; i < op->n_servers; i++)
                        server_action_free(op->actions[i]);
        free(op->actions);
        hook_pre_cancel(op->pre);
        endpoints_op_free(op->endpoints);
        sd_event_source_disable_unref(op->timer);
        sd_event_source_disable_unref(op->defer);
        sd_event_source_disable_unref(op->fence_wait);
        control_client_unref(op->client);
        candidate_selection_free(op->selection);
        json_object_put(op->decision);
        failover_run_free(op->run);
        gtid_list_done(&op->catch_up_target);
        gtid_list_done(&op->new_binlog_pos);
        free(op->new_binlog_state);
        free(op->repoint_errors);
        op_votes_free(op);
        free(op);
        return NULL;
}

int failover_op_start(daemon_cluster *dc, failover_op_request *req) {
        const cluster_conf *c = dc->conf;
        failover_op *op = NULL;
        uint64_t now = 0;
        int r;

        if (dc->op || req->old_primary >= c->n_servers || req->new_primary >= c->n_servers) {
                r = dc->op ? -EBUSY : -EINVAL;
                goto fail;
        }
        op = calloc(1, sizeof(*op));
        if (!op) {
                r = -ENOMEM;
                goto fail;
        }
        op->dc = dc;
        op->kind = req->kind;
        op->old_primary = req->old_primary;
        op->new_primary = req->new_primary;
        op->selection = TAKE_PTR(req->selection);
        op->decision = TAKE_PTR(req->decision);
        op->client = TAKE_PTR(req->client);
        op->n_servers = c->n_servers;
        op->actions = calloc(c->n_servers, sizeof(*op->actions));
        if (!op->actions) {
                r = -ENOMEM;
                goto fail_op;
        }
        (void) sd_event_now(dc->daemon->event, CLOCK_MONOTONIC, &now);
        uint64_t detected = req->detected_usec && req->detected_usec <= now ? req->detected_usec : now;
        r = failover_run_new(c, c->servers[req->old_primary].name, req->manual, req->forced, detected,
                timefmt_now_realtime_usec() - (now - detected), &op->run);
        if (r < 0)
                goto fail_op;
        op->run->switchover = op->kind == FAILOVER_OP_SWITCHOVER;
        if (req->timeout_ms > 0) {
                /* --timeout: the whole budget, the pre hooks' slice included (as failover_run_new()). */
                op->run->timeout_usec = req->timeout_ms * USEC_PER_MSEC;
                op->run->pre_hooks_usec = failover_plan_phase_budget_usec(req->timeout_ms, FAILOVER_PHASE_PRE_HOOKS);
                for (size_t k = 0; k < c->n_hooks; k++)
                        if (c->hooks[k].class == HOOK_CLASS_PRE && c->hooks[k].timeout_ms * USEC_PER_MSEC > op->run->pre_hooks_usec)
                                op->run->pre_hooks_usec = c->hooks[k].timeout_ms * USEC_PER_MSEC;
        }

        /* Semi-sync follows the primary role: the new primary runs it if the old one had it enabled. */
        const server_status *old = op->kind == FAILOVER_OP_FAILOVER ? monitor_last_good(dc->monitor, req->old_primary)
                                                                    : monitor_server_status(dc->monitor, req->old_primary);
        op->semi_sync = old && old->have_variables && old->semi_sync_master_enabled;
        if (op->kind == FAILOVER_OP_FAILOVER && old && old->have_variables)
                (void) failover_run_set_text(&op->run->old_primary_gtid, GTID_TEXT(&old->gtid_binlog_pos));

        dc->op = op;
        daemon_cluster_changed(dc);
        /* Start from the loop: the caller may be inside a monitor callback. */
        r = sd_event_add_defer(dc->daemon->event, &op->defer, on_defer, op);
        if (r < 0) {
                dc->op = NULL;
                goto fail_op;
        }
        return 0;

fail_op:
        failover_op_free(op);
        return r;
fail:
        candidate_selection_free(req->selection);
        json_object_put(req->decision);
        control_client_unref(req->client);
        req->selection = NULL;
        req->decision = NULL;
        req->client = NULL;
        return r;
}
