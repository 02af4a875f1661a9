/* `sentinelctl history` and `why`: what the audit log (audit.h) says about a cluster's failovers,
 * switchovers and decisions, so both survive restarts and agree with what was paged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "failover-plan.h"
#include "macro.h"
#include "switchover-check.h"
#include "timefmt.h"

#define HISTORY_LIMIT_DEFAULT 20

typedef struct audit_match {
        const char *cluster;
        const char *const *decisions;
} audit_match;

static bool filter_decisions(json_object *record, void *userdata) {
        const audit_match *m = userdata;
        json_object *v;

        if (!json_object_object_get_ex(record, "cluster", &v) || !streq_ptr(json_object_get_string(v), m->cluster))
                return false;
        if (!json_object_object_get_ex(record, "decision", &v))
                return false;
        for (const char *const *d = m->decisions; *d; d++)
                if (streq_ptr(json_object_get_string(v), *d))
                        return true;
        return false;
}

static json_object *record_inputs(json_object *record, const char *key) {
        json_object *in = NULL, *v = NULL;
        if (!json_object_object_get_ex(record, "inputs", &in) || !json_object_is_type(in, json_type_object))
                return NULL;
        if (!key)
                return in;
        return json_object_object_get_ex(in, key, &v) ? v : NULL;
}

int daemon_control_history(daemon_cluster *dc, control_client *c, const control_request *req) {
        static const char *const runs[] = { "failover-run", "switchover-run", NULL };
        uint64_t limit = control_request_get_uint(req, "limit", HISTORY_LIMIT_DEFAULT);
        audit_match m = { .cluster = dc->conf->name, .decisions = runs };
        json_object *records = NULL, *res, *list;
        char *text = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        r = audit_read_tail(dc->daemon->config->sentinel.state_dir, limit ? limit : HISTORY_LIMIT_DEFAULT,
                filter_decisions, &m, &records);
        if (r < 0)
                return control_client_reply_error(c, CONTROL_ERROR_FAILED, "cannot read the audit log: %s", strerror(-r));

        f = open_memstream(&text, &size);
        if (!f) {
                json_object_put(records);
                return -ENOMEM;
        }
        res = json_object_new_object();
        list = json_object_new_array();
        json_object_object_add(res, "cluster", json_object_new_string(dc->conf->name));
        json_object_object_add(res, "runs", list);
        size_t n = json_object_array_length(records);
        if (n == 0)
                fprintf(f, "%s: no failover or switchover recorded\n", dc->conf->name);
        for (size_t i = 0; i < n; i++) {
                json_object *rec = json_object_array_get_idx(records, i);
                json_object *kind = record_inputs(rec, "kind"), *rj = record_inputs(rec, "run");
                _cleanup_(failover_run_freep) failover_run *run = NULL;
                _cleanup_free_ char *lines = NULL;

                if (!rj || failover_run_from_json(rj, &run) < 0 || failover_run_format(run, &lines) < 0)
                        continue;
                json_object *e = json_object_new_object();
                json_object_object_add(e, "kind", json_object_get(kind));
                json_object_object_add(e, "run", json_object_get(rj));
                json_object_array_add(list, e);
                fprintf(f, "%s%s", i ? "\n" : "", lines);
                if (lines[0] && lines[strlen(lines) - 1] != '\n')
                        fputc('\n', f);
        }
        fclose(f);
        json_object_put(records);
        json_object_object_add(res, "text", json_object_new_string(text ? text : ""));
        free(text);
        return control_client_reply(c, res);
}

/* The last election this sentinel ran, when it lost it: that record's inputs (a new reference), or NULL
 * (none lost, or a run of its own started or ended since). */
static json_object *last_lost_election(daemon_cluster *dc) {
        static const char *const decisions[] = { "election-lost", "failover-start", "switchover-start",
                "failover-run", "switchover-run", NULL };
        audit_match m = { .cluster = dc->conf->name, .decisions = decisions };
        json_object *records = NULL, *rec, *v, *in = NULL;
        int r;

        r = audit_read_tail(dc->daemon->config->sentinel.state_dir, 1, filter_decisions, &m, &records);
        if (r >= 0 && json_object_array_length(records) > 0) {
                rec = json_object_array_get_idx(records, 0);
                if (json_object_object_get_ex(rec, "decision", &v) &&
                        streq_ptr(json_object_get_string(v), "election-lost"))
                        in = json_object_get(record_inputs(rec, NULL));
        }
        json_object_put(records);
        return in;
}

/* The decision a record holds: a failover decision, or a switchover check. */
static json_object *record_decision(json_object *record) {
        json_object *d = record_inputs(record, "decision");
        return d ? d : record_inputs(record, "check");
}

int daemon_control_why(daemon_cluster *dc, control_client *c, const control_request *req) {
        static const char *const decisions[] = { "failover-refused", "failover-start", "failover-requested",
                "switchover-requested", "election-lost", NULL };
        audit_match m = { .cluster = dc->conf->name, .decisions = decisions };
        json_object *records = NULL, *decision = NULL, *res, *v, *election;
        _cleanup_free_ char *body = NULL, *text = NULL, *lost = NULL;
        char at[TIMEFMT_RFC3339_MAX] = "";
        cluster_state cstate = daemon_cluster_state(dc);
        int r;

        if (dc->last_decision)
                decision = json_object_get(dc->last_decision);
        else {
                r = audit_read_tail(dc->daemon->config->sentinel.state_dir, 1, filter_decisions, &m, &records);
                if (r >= 0 && json_object_array_length(records) > 0)
                        decision = json_object_get(record_decision(json_object_array_get_idx(records, 0)));
                json_object_put(records);
        }

        res = json_object_new_object();
        json_object_object_add(res, "cluster", json_object_new_string(dc->conf->name));
        json_object_object_add(res, "state", json_object_new_string(cluster_state_to_string(cstate)));
        json_object_object_add(res, "decision", decision);
        if (!decision) {
                if (asprintf(&text, "%s is %s: no failover decision has been needed yet\n", dc->conf->name,
                            cluster_state_to_string(cstate)) < 0)
                        text = NULL;
        } else {
                bool switchover = json_object_object_get_ex(decision, "kind", &v) &&
                        streq_ptr(json_object_get_string(v), "switchover");
                if (json_object_object_get_ex(decision, "at", &v))
                        (void) timefmt_rfc3339_ms((uint64_t) json_object_get_int64(v), at);
                r = switchover ? switchover_check_format(decision, &body) : failover_decision_format(decision, &body);
                if (r < 0)
                        body = NULL;
                if (asprintf(&text, "%s is %s%s. The last decision%s%s:\n%s", dc->conf->name,
                            cluster_state_to_string(cstate), dc->op ? " (a run is in progress)" : "", at[0] ? ", at " : "", at,
                            body ? body : "(cannot render it; see --json)\n") < 0)
                        text = NULL;
        }
        /* An election lost since: the decision went ahead, but this sentinel did not lead. */
        election = last_lost_election(dc);
        if (election) {
                char lost_at[TIMEFMT_RFC3339_MAX] = "";
                const char *what = json_object_object_get_ex(election, "text", &v) ? json_object_get_string(v)
                                                                                     : "lost";
                if (json_object_object_get_ex(election, "at", &v))
                        (void) timefmt_rfc3339_ms((uint64_t) json_object_get_int64(v), lost_at);
                if (asprintf(&lost, "%sThe last election this sentinel ran%s%s: %s\n", text ? text : "",
                            lost_at[0] ? ", at " : "", lost_at, what) >= 0) {
                        free(text);
                        text = TAKE_PTR(lost);
                }
        }
        json_object_object_add(res, "last_election", election);
        json_object_object_add(res, "text", json_object_new_string(text ? text : ""));
        return control_client_reply(c, res);
}
