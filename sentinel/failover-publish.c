/* After the promotion committed, the engine's last two phases (failover-op.c drives them): the
 * endpoints (endpoints.h), and every other server made to follow the new primary, the repoints
 * started at once beside the endpoints (a semi-sync primary stalls until a replica acks) and
 * awaited in repoint-replicas. A failure here only makes the run degraded. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover-op-internal.h"
#include "log.h"

void op_repoints_maybe_done(failover_op *op) {
        if (op->repoints_pending > 0 || op->run->phase != FAILOVER_PHASE_REPOINT_REPLICAS)
                return;
        if (op->repoints_failed > 0)
                op_step(op, FAILOVER_EVENT_PHASE_DEGRADED, FAILOVER_REASON_REPOINT_FAILED, "%s",
                        op->repoint_errors ? op->repoint_errors : "a replica could not be repointed");
        else
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
}

static void on_repointed(server_action *a, const server_action_result *res, void *userdata) {
        failover_op *op = userdata;
        size_t i;

        for (i = 0; i < op->n_servers && op->actions[i] != a; i++)
                ;
        op->repoints_pending--;
        if (res->code == SERVER_ACTION_OK) {
                op_log(op, LOG_INFO, NULL, "%s %s %s%s", server_name(op, i),
                        res->type == SERVER_ACTION_REJOIN ? "rejoined as a replica of" : "now replicates from",
                        server_name(op, op->new_primary), res->already ? " (already did)" : "");
                if (res->type == SERVER_ACTION_REJOIN)
                        daemon_raise(op->dc, EVENT_REJOINED, op->run->epoch, NULL, op->old_primary, op->new_primary, NULL,
                                "%s rejoined as a replica of %s", server_name(op, i), server_name(op, op->new_primary));
        } else {
                char *joined = NULL;
                op->repoints_failed++;
                if (asprintf(&joined, "%s%s%s: %s", op->repoint_errors ? op->repoint_errors : "",
                            op->repoint_errors ? "; " : "", server_name(op, i), res->message) >= 0) {
                        free(op->repoint_errors);
                        op->repoint_errors = joined;
                }
                if (res->type == SERVER_ACTION_REJOIN && res->code == SERVER_ACTION_DIVERGED)
                        daemon_raise(op->dc, EVENT_REJOIN_FAILED, op->run->epoch, "DIVERGED", op->old_primary,
                                op->new_primary, NULL, "%s cannot rejoin: it has transactions %s lacks (%s); left read-only",
                                server_name(op, i), server_name(op, op->new_primary),
                                res->extra_gtids ? res->extra_gtids : "?");
                else
                        op_log(op, LOG_WARNING, "REPOINT_FAILED", "%s could not be made a replica of %s: %s",
                                server_name(op, i), server_name(op, op->new_primary), res->message);
        }
        op_repoints_maybe_done(op);
}

/* Whether server i is a replica by its latest probe (then a repoint keeps its slave position; what
 * is not a replica must pass the rejoin's history check first). */
static bool op_is_plain_replica(const failover_op *op, size_t i) {
        const topology *t = monitor_topology(op->dc->monitor);
        return t && i < t->n_servers && t->servers[i].role == SERVER_ROLE_REPLICA;
}

/* Every other replica follows the new primary, and after a switchover the old primary too; started as
 * soon as the promotion commits (a semi-sync primary stalls until a replica acks), finished in
 * repoint-replicas. The failed primary of a failover is not here: it rejoins when it returns. */
static void op_start_repoints(failover_op *op) {
        server_action_source src = op_source(op);
        server_action_history hist = {
                .gtid_binlog_pos = &op->new_binlog_pos,
                .gtid_binlog_state = op->new_binlog_state ? op->new_binlog_state : "",
        };
        uint64_t deadline = op_now(op) + failover_plan_phase_budget_usec(op->run->timeout_usec / USEC_PER_MSEC,
                                                  FAILOVER_PHASE_ENDPOINTS) +
                failover_plan_phase_budget_usec(op->run->timeout_usec / USEC_PER_MSEC, FAILOVER_PHASE_REPOINT_REPLICAS);

        for (size_t i = 0; i < op->n_servers; i++) {
                server_action *a;
                int r;

                if (i == op->new_primary || (i == op->old_primary && op->kind == FAILOVER_OP_FAILOVER))
                        continue;
                a = op_action(op, i);
                /* its semi-sync slave side: left alone on a server that may not be promoted */
                src.semi_sync_keep = !op_conf(op)->servers[i].promotable;
                if (!a)
                        r = -ENOMEM;
                else if (i == op->old_primary || !op_is_plain_replica(op, i))
                        /* the old primary, and any server that is not a plain replica (a diverged one
                         * left read-only, a fenced or a writable one): only with the history check */
                        r = server_action_rejoin(a, &src, &hist, deadline, on_repointed, op);
                else
                        r = server_action_repoint(a, &src, deadline, on_repointed, op);
                if (r < 0) {
                        op->repoints_failed++;
                        op_log(op, LOG_WARNING, "REPOINT_FAILED", "cannot start repointing %s: %s", server_name(op, i),
                                strerror(-r));
                        continue;
                }
                op->repoints_pending++;
        }
}

json_object *daemon_endpoint_details(const endpoint_outcome *o, bool retried) {
        json_object *details = json_object_new_object();

        if (!details)
                return NULL;
        json_object_object_add(details, "endpoint", json_object_new_string(endpoint_type_to_string(o->type)));
        json_object_object_add(details, "index", json_object_new_int64((int64_t) o->index));
        json_object_object_add(details, "duration_ms", json_object_new_int64((int64_t) (o->duration_usec / USEC_PER_MSEC)));
        if (retried)
                json_object_object_add(details, "retried", json_object_new_boolean(true));
        return details;
}

static void on_endpoints(endpoints_op *e, const endpoints_result *res, void *userdata) {
        failover_op *op = userdata;
        bool stale = res->any_stale, all_ok = res->all_ok;

        /* res lives in the endpoints op: free that only once done with res. */
        for (size_t k = 0; k < res->n; k++) {
                const endpoint_outcome *o = &res->outcomes[k];
                json_object *details = daemon_endpoint_details(o, false);
                if (!o->skipped)
                        daemon_metrics_endpoint(op->dc, o->type, o->ok);
                if (o->skipped) {
                        json_object_put(details);
                        op_log(op, LOG_INFO, NULL, "endpoint %s: %s", endpoint_type_to_string(o->type), o->message);
                        continue;
                }
                daemon_raise(op->dc, o->ok ? EVENT_ENDPOINT_UPDATED : EVENT_ENDPOINT_FAILED, op->run->epoch,
                        o->ok ? NULL : (o->stale ? "STALE_EPOCH" : "ENDPOINT_FAILED"), op->old_primary, op->new_primary,
                        details, "%s endpoint: %s", endpoint_type_to_string(o->type), o->message);
        }
        op->endpoints = endpoints_op_free(op->endpoints);
        if (all_ok)
                op_step(op, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, NULL);
        else {
                if (!stale)
                        daemon_reconcile_endpoints_failed(op->dc, op->run->epoch);
                op_step(op, FAILOVER_EVENT_PHASE_DEGRADED, stale ? FAILOVER_REASON_STALE_EPOCH : FAILOVER_REASON_ENDPOINT_FAILED,
                        "%s", stale ? "an endpoint holds a newer epoch" : "an endpoint could not be updated");
        }
}

void op_endpoints(failover_op *op) {
        daemon_ctx *d = op->dc->daemon;
        char message[256];
        int r;

        op_start_repoints(op);
        snprintf(message, sizeof(message), "%s is the new primary of %s (epoch %" PRIu64 ")",
                server_name(op, op->new_primary), op_conf(op)->name, op->run->epoch);
        endpoints_params p = {
                .conf = op_conf(op),
                .sentinel_name = d->config->sentinel.name,
                .sentinel_zone = d->config->sentinel.zone,
                .epoch = op->run->epoch,
                .new_primary = op->new_primary,
                .old_primary = op->old_primary,
                .event = op_event(op, EVENT_FAILOVER_END),
                .message = message,
                .deadline_usec = op_deadline(op),
        };
        r = endpoints_update(d->event, &p, on_endpoints, op, &op->endpoints);
        if (r < 0) {
                daemon_reconcile_endpoints_failed(op->dc, op->run->epoch);
                op_step(op, FAILOVER_EVENT_PHASE_DEGRADED, FAILOVER_REASON_ENDPOINT_FAILED, "cannot update the endpoints: %s",
                        strerror(-r));
        }
}
