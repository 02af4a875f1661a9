/* Unit tests for lib/core/failover-plan.c: the phase machine driven by scripts of events on an injected
 * clock, the deadline budget, loss, JSON round trips and the human rendering of a run. The decisions are
 * in test-failover-decide.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "failover-plan.h"
#include "macro.h"

#define MS(x)  ((uint64_t) (x) *1000ULL)
#define SEC(x) ((uint64_t) (x) *1000000ULL)

static hook_conf pre_hook = {.command = (char *) "/bin/true", .class = HOOK_CLASS_PRE, .timeout_ms = 10000};

static server_conf servers3[] = {
        {.name = (char *) "db-a",
                .host = (char *) "10.0.0.1",
                .family = AF_INET,
                .port = 3306,
                .zone = (char *) "az-a",
                .priority = 100,
                .promotable = true},
        {.name = (char *) "db-b",
                .host = (char *) "10.0.0.2",
                .family = AF_INET,
                .port = 3306,
                .zone = (char *) "az-b",
                .priority = 90,
                .promotable = true},
        {.name = (char *) "db-c",
                .host = (char *) "10.0.0.3",
                .family = AF_INET,
                .port = 3306,
                .zone = (char *) "az-c",
                .priority = 0,
                .promotable = false},
};

static cluster_conf conf3(void) {
        return (cluster_conf){.name = (char *) "main",
                .quorum = 2,
                .n_servers = 3,
                .servers = servers3,
                .failover = {.automatic = true,
                        .max_lag_ms = 10000,
                        .cooldown_s = 3600,
                        .timeout_ms = 30000},
                .probe = {.interval_ms = 1000, .timeout_ms = 1000, .down_after_ms = 5000}};
}

/* ---- the phase machine ---- */

enum { SET_EPOCH = 100, SET_NEW_PRIMARY };

typedef struct step {
        int event; /* a failover_event, SET_EPOCH or SET_NEW_PRIMARY; -1 ends */
        failover_reason reason;
        uint64_t at_ms;
        int ret;
        failover_phase phase;   /* after the step */
        failover_result result; /* after the step */
        failover_reason expect; /* run->reason after the step */
} step;

#define S(ev, rs, at, rt, ph, res, ...)                                                                     \
        {                                                                                                   \
                .event = (ev), .reason = (rs), .at_ms = (at), .ret = (rt), .phase = (ph), .result = (res),  \
                __VA_ARGS__                                                                                 \
        }
#define OK_(at, ph)                                                                                         \
        S(FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, at, 1, FAILOVER_PHASE_##ph, FAILOVER_RESULT_RUNNING)
#define EPOCH                                                                                               \
        { .event = SET_EPOCH }
#define NEWP                                                                                                \
        { .event = SET_NEW_PRIMARY }
#define UP_TO_CATCH_UP                                                                                      \
        OK_(5000, ELECT), EPOCH, OK_(5010, PRE_HOOKS), OK_(5020, FENCE), OK_(5030, SELECT), NEWP,           \
                OK_(5040, CATCH_UP)
#define UP_TO_ENDPOINTS UP_TO_CATCH_UP, OK_(5100, PROMOTE), OK_(5150, ENDPOINTS)
#define END                                                                                                 \
        { .event = -1 }
#define R(x)   FAILOVER_REASON_##x
#define P(x)   FAILOVER_PHASE_##x
#define E(x)   FAILOVER_EVENT_##x
#define RES(x) FAILOVER_RESULT_##x

static const struct script {
        const char *what;
        step steps[24];
} scripts[] = {
        {"happy path", {UP_TO_ENDPOINTS, OK_(5180, REPOINT_REPLICAS),
                               S(E(PHASE_OK), R(OK), 5200, 1, P(DONE), RES(OK)),
                               S(E(TICK), R(OK), 99000, 0, P(DONE), RES(OK)),
                               S(E(PHASE_OK), R(OK), 99000, -EBUSY, P(DONE), RES(OK)),
                               S(E(ABORT), R(OK), 99000, -EBUSY, P(DONE), RES(OK)), END}},
        {"elect needs an epoch, select a new primary",
                {OK_(5000, ELECT), S(E(PHASE_OK), R(OK), 5001, -EINVAL, P(ELECT), RES(RUNNING)), EPOCH,
                        OK_(5010, PRE_HOOKS), OK_(5020, FENCE), OK_(5030, SELECT),
                        S(E(PHASE_OK), R(OK), 5031, -EINVAL, P(SELECT), RES(RUNNING)), NEWP,
                        OK_(5040, CATCH_UP), END}},
        {"an endpoint fails: degraded, and the run goes on",
                {UP_TO_ENDPOINTS,
                        S(E(PHASE_DEGRADED), R(OK), 5180, 1, P(REPOINT_REPLICAS), RES(RUNNING),
                                .expect = R(ENDPOINT_FAILED)),
                        S(E(PHASE_DEGRADED), R(OK), 5190, 1, P(DONE), RES(DEGRADED),
                                .expect = R(ENDPOINT_FAILED)),
                        END}},
        {"degraded only after the promotion",
                {OK_(5000, ELECT), S(E(PHASE_DEGRADED), R(OK), 5001, -EBUSY, P(ELECT), RES(RUNNING)), END}},
        {"catch-up fails", {UP_TO_CATCH_UP,
                                   S(E(PHASE_FAILED), R(OK), 6000, 1, P(FAILED), RES(FAILED),
                                           .expect = R(CATCH_UP_FAILED)),
                                   END}},
        {"select fails with its own reason",
                {OK_(5000, ELECT), EPOCH, OK_(5010, PRE_HOOKS), OK_(5020, FENCE), OK_(5030, SELECT),
                        S(E(PHASE_FAILED), R(CANDIDATE_BEHIND), 5040, 1, P(FAILED), RES(FAILED),
                                .expect = R(CANDIDATE_BEHIND)),
                        END}},
        {"a pre hook vetoes", {OK_(5000, ELECT), EPOCH, OK_(5010, PRE_HOOKS),
                                      S(E(PHASE_FAILED), R(OK), 5500, 1, P(FAILED), RES(FAILED),
                                              .expect = R(PRE_HOOK_VETO)),
                                      END}},
        {"the promotion can fail", {UP_TO_CATCH_UP, OK_(5100, PROMOTE),
                                           S(E(PHASE_FAILED), R(OK), 5200, 1, P(FAILED), RES(FAILED),
                                                   .expect = R(PROMOTE_FAILED)),
                                           END}},
        {"no failing after the promotion",
                {UP_TO_ENDPOINTS, S(E(PHASE_FAILED), R(OK), 5200, -EBUSY, P(ENDPOINTS), RES(RUNNING)), END}},
        {"the primary returns during fencing: aborted",
                {OK_(5000, ELECT), EPOCH, OK_(5010, PRE_HOOKS), OK_(5020, FENCE),
                        S(E(PRIMARY_RETURNED), R(OK), 5025, 1, P(FAILED), RES(ABORTED),
                                .expect = R(PRIMARY_RETURNED)),
                        END}},
        {"the primary returns during catch-up: aborted",
                {UP_TO_CATCH_UP,
                        S(E(PRIMARY_RETURNED), R(TIMEOUT), 5050, 1, P(FAILED), RES(ABORTED),
                                .expect = R(PRIMARY_RETURNED)),
                        END}},
        {"the primary returns during promote: too late",
                {UP_TO_CATCH_UP, OK_(5100, PROMOTE),
                        S(E(PRIMARY_RETURNED), R(OK), 5110, -EBUSY, P(PROMOTE), RES(RUNNING)),
                        S(E(ABORT), R(OK), 5110, -EBUSY, P(PROMOTE), RES(RUNNING)), END}},
        {"abort in the election: a newer epoch",
                {OK_(5000, ELECT),
                        S(E(ABORT), R(OK), 5001, 1, P(FAILED), RES(ABORTED), .expect = R(STALE_EPOCH)),
                        END}},
        {"abort with a reason", {S(E(ABORT), R(ELECTION_FAILED), 1000, 1, P(FAILED), RES(ABORTED),
                                         .expect = R(ELECTION_FAILED)),
                                        END}},
        {"detect fails: not ODOWN after all",
                {S(E(PHASE_FAILED), R(OK), 900, 1, P(FAILED), RES(FAILED), .expect = R(NOT_ODOWN)), END}},
        {"detect has no deadline", {S(E(TICK), R(OK), 999999999, 0, P(DETECT), RES(RUNNING)), END}},
        {"elect times out at its deadline, not before",
                {OK_(5000, ELECT), S(E(TICK), R(OK), 7999, 0, P(ELECT), RES(RUNNING)),
                        S(E(TICK), R(OK), 8000, 1, P(FAILED), RES(FAILED), .expect = R(TIMEOUT)), END}},
        {"catch-up times out at its cumulative checkpoint",
                {UP_TO_CATCH_UP, S(E(TICK), R(OK), 30499, 0, P(CATCH_UP), RES(RUNNING)),
                        S(E(TICK), R(OK), 30500, 1, P(FAILED), RES(FAILED), .expect = R(TIMEOUT)), END}},
        {"endpoints time out: degraded and on",
                {UP_TO_ENDPOINTS, S(E(TICK), R(OK), 14149, 0, P(ENDPOINTS), RES(RUNNING)),
                        S(E(TICK), R(OK), 14150, 1, P(REPOINT_REPLICAS), RES(RUNNING), .expect = R(TIMEOUT)),
                        S(E(PHASE_DEGRADED), R(REPOINT_FAILED), 14200, 1, P(DONE), RES(DEGRADED),
                                .expect = R(TIMEOUT)),
                        END}},
        {"repoint times out: done, degraded",
                {UP_TO_ENDPOINTS, OK_(5180, REPOINT_REPLICAS),
                        S(E(TICK), R(OK), 11180, 1, P(DONE), RES(DEGRADED), .expect = R(TIMEOUT)), END}},
        {"time never goes back", {OK_(5000, ELECT), EPOCH, OK_(4000, PRE_HOOKS),
                                         S(E(TICK), R(OK), 1, 0, P(PRE_HOOKS), RES(RUNNING)), END}},
        {"bad events and reasons",
                {S(_FAILOVER_EVENT_MAX, R(OK), 1, -EINVAL, P(DETECT), RES(RUNNING)),
                        S(E(PHASE_FAILED), _FAILOVER_REASON_MAX, 1, -EINVAL, P(DETECT), RES(RUNNING)),
                        S(E(PHASE_FAILED), _FAILOVER_REASON_INVALID, 1, -EINVAL, P(DETECT), RES(RUNNING)),
                        END}},
};

START_TEST(test_scripts) {
        const struct script *sc = &scripts[_i];
        cluster_conf conf = conf3();
        _cleanup_(failover_run_freep) failover_run *run = NULL;

        ck_assert_int_eq(failover_run_new(&conf, "db-a", false, false, 0, SEC(1700000000), &run), 0);
        ck_assert_int_eq(run->phase, FAILOVER_PHASE_DETECT);
        for (size_t k = 0; sc->steps[k].event != -1; k++) {
                const step *st = &sc->steps[k];
                uint64_t before = run->phases[run->phase].start_usec;
                failover_phase was = run->phase;
                int r;

                if (st->event == SET_EPOCH) {
                        run->epoch = 8;
                        continue;
                }
                if (st->event == SET_NEW_PRIMARY) {
                        ck_assert_int_eq(failover_run_set_text(&run->new_primary, "db-b"), 0);
                        continue;
                }
                r = failover_plan_next(run, st->event, st->reason, MS(st->at_ms));
                ck_assert_msg(
                        r == st->ret, "%s: step %zu returned %d, expected %d", sc->what, k, r, st->ret);
                ck_assert_msg(run->phase == st->phase, "%s: step %zu: phase %s", sc->what, k,
                        failover_phase_to_string(run->phase));
                ck_assert_msg(run->result == st->result, "%s: step %zu: result %s", sc->what, k,
                        failover_result_to_string(run->result));
                ck_assert_msg(run->reason == st->expect, "%s: step %zu: reason %s", sc->what, k,
                        failover_reason_to_string(run->reason));
                if (r == 1 && run->phase != was) {
                        /* the left phase ended, the new one started, at the same instant */
                        ck_assert(run->phases[was].ended);
                        ck_assert_uint_ge(run->phases[was].end_usec, before);
                        ck_assert_uint_eq(run->phases[run->phase].start_usec, run->phases[was].end_usec);
                }
                if (run->phase == FAILOVER_PHASE_FAILED)
                        ck_assert_int_ne(run->failed_phase, _FAILOVER_PHASE_INVALID);
                else
                        ck_assert_int_eq(run->failed_phase, _FAILOVER_PHASE_INVALID);
                ck_assert((run->ended_usec != 0) ==
                          (run->phase == FAILOVER_PHASE_DONE || run->phase == FAILOVER_PHASE_FAILED));
        }
}
END_TEST

/* ---- deadlines ---- */

static failover_run *run_to(cluster_conf *conf, failover_phase until, uint64_t at) {
        failover_run *run = NULL;

        ck_assert_int_eq(failover_run_new(conf, "db-a", false, false, 0, 0, &run), 0);
        run->epoch = 1;
        ck_assert_int_eq(failover_run_set_text(&run->new_primary, "db-b"), 0);
        while (run->phase < until)
                ck_assert_int_eq(
                        failover_plan_next(run, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, at), 1);
        return run;
}

START_TEST(test_deadlines) {
        static const struct {
                failover_phase phase;
                uint64_t plain_ms, with_hook_ms; /* entered at 5 s, everything before in no time */
        } want[] = {
                {FAILOVER_PHASE_DETECT, 0, 0},
                {FAILOVER_PHASE_ELECT, 8000, 8000},
                {FAILOVER_PHASE_PRE_HOOKS, 14000, 18000},
                {FAILOVER_PHASE_FENCE, 17000, 21000},
                {FAILOVER_PHASE_SELECT, 18500, 22500},
                {FAILOVER_PHASE_CATCH_UP, 30500, 34500},
                {FAILOVER_PHASE_PROMOTE, 35000, 39000},
                {FAILOVER_PHASE_ENDPOINTS, 14000, 14000},
                {FAILOVER_PHASE_REPOINT_REPLICAS, 11000, 11000},
                {FAILOVER_PHASE_DONE, 0, 0},
        };
        cluster_conf conf = conf3();
        unsigned sum = 0;

        for (size_t k = 0; k < ELEMENTSOF(want); k++) {
                for (int hook = 0; hook < 2; hook++) {
                        _cleanup_(failover_run_freep) failover_run *run = NULL;
                        uint64_t expect = hook ? want[k].with_hook_ms : want[k].plain_ms;

                        conf.n_hooks = hook;
                        conf.hooks = hook ? &pre_hook : NULL;
                        run = run_to(&conf, want[k].phase, MS(5000));
                        ck_assert_uint_eq(run->pre_hooks_usec, hook ? SEC(10) : SEC(6));
                        if (expect == 0)
                                ck_assert_uint_eq(failover_plan_deadline(run), UINT64_MAX);
                        else
                                ck_assert_msg(failover_plan_deadline(run) == MS(expect), "%s%s: %llu",
                                        failover_phase_to_string(want[k].phase), hook ? " (hook)" : "",
                                        (unsigned long long) failover_plan_deadline(run));
                }
        }
        /* a quick phase leaves its time to the next: checkpoints do not move */
        conf.n_hooks = 0;
        {
                _cleanup_(failover_run_freep) failover_run *run =
                        run_to(&conf, FAILOVER_PHASE_ELECT, MS(5000));

                run->epoch = 3;
                ck_assert_int_eq(
                        failover_plan_next(run, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, MS(7900)), 1);
                ck_assert_uint_eq(failover_plan_deadline(run), MS(14000));
                ck_assert_uint_eq(run->phases[FAILOVER_PHASE_ELECT].end_usec, MS(7900));
        }
        for (failover_phase p = FAILOVER_PHASE_ELECT; p <= FAILOVER_PHASE_PROMOTE; p++)
                sum += failover_plan_phase_share(p);
        ck_assert_uint_eq(sum, 1000);
        ck_assert_uint_eq(failover_plan_phase_budget_usec(30000, FAILOVER_PHASE_CATCH_UP), SEC(12));
        ck_assert_uint_eq(failover_plan_phase_budget_usec(30000, FAILOVER_PHASE_SELECT), MS(1500));
        ck_assert_uint_eq(failover_plan_phase_budget_usec(7, FAILOVER_PHASE_SELECT), 350);
        ck_assert_uint_eq(failover_plan_phase_budget_usec(30000, FAILOVER_PHASE_DETECT), UINT64_MAX);
        ck_assert_uint_eq(failover_plan_phase_budget_usec(UINT64_MAX, FAILOVER_PHASE_CATCH_UP),
                UINT64_MAX / 1000 * 400 + UINT64_MAX % 1000 * 400 / 1000);
        ck_assert_uint_eq(failover_plan_phase_share(_FAILOVER_PHASE_MAX), 0);
        ck_assert_uint_eq(failover_plan_deadline(NULL), UINT64_MAX);
        ck_assert(!failover_phase_is_committed(FAILOVER_PHASE_CATCH_UP));
        ck_assert(failover_phase_is_committed(FAILOVER_PHASE_PROMOTE));
        ck_assert(failover_phase_is_committed(FAILOVER_PHASE_DONE));
        ck_assert(!failover_phase_is_committed(FAILOVER_PHASE_FAILED));
}
END_TEST

/* ---- candidate selections for the loss ---- */

typedef struct pos_spec {
        const char *pos; /* NULL: down */
        uint64_t sbm;
} pos_spec;

static server_status *status(const char *pos, uint32_t sid, bool replica, uint64_t sbm) {
        server_status *s = calloc(1, sizeof(*s));

        ck_assert_ptr_nonnull(s);
        s->error_class = pos ? PROBE_OK : PROBE_NO_ANSWER;
        s->have_variables = s->have_replication = true;
        s->server_id = sid;
        s->log_bin = s->log_slave_updates = true;
        s->semi_sync_master_enabled = s->have_semi_sync_status = s->semi_sync_master_status = !replica;
        ck_assert_int_eq(gtid_list_parse(pos ?: "", &s->gtid_current_pos), 0);
        ck_assert_int_eq(gtid_list_parse(pos ?: "", &s->gtid_binlog_pos), 0);
        if (replica) {
                s->read_only = true;
                s->replication = calloc(1, sizeof(server_replication));
                ck_assert_ptr_nonnull(s->replication);
                s->n_replication = 1;
                s->replication[0] = (server_replication){.connection_name = strdup(""),
                        .master_host = strdup("10.0.0.1"),
                        .master_port = 3306,
                        .master_server_id = 1,
                        .io_running = REPLICA_IO_YES,
                        .sql_running = true,
                        .seconds_behind_master_known = true,
                        .seconds_behind_master = sbm,
                        .last_io_error = strdup(""),
                        .last_sql_error = strdup("")};
        }
        return s;
}

/* db-a failed at 0-1-100; b and c as given. */
static candidate_selection *make_selection(pos_spec b, pos_spec c, bool forced, const char *target) {
        cluster_conf conf = conf3();
        server_status *latest[3] = {
                status(NULL, 1, false, 0), status(b.pos, 2, true, b.sbm), status(c.pos, 3, true, c.sbm)};
        server_status *good[3] = {status("0-1-100", 1, false, 0), status(b.pos, 2, true, b.sbm),
                status(c.pos, 3, true, c.sbm)};
        candidate_options o = {.forced = forced, .target = target};
        candidate_selection *s = NULL;

        ck_assert_int_eq(candidate_select(&conf, (const server_status *const *) latest,
                                 (const server_status *const *) good, NULL, 0, &o, &s),
                0);
        for (size_t i = 0; i < 3; i++) {
                server_status_free(latest[i]);
                server_status_free(good[i]);
        }
        return s;
}

enum { SEL_NONE, SEL_OK, SEL_BEHIND_FORCED };

static candidate_selection *selection_for(int kind) {
        static const pos_spec sync = {"0-1-100", 0};

        switch (kind) {
        case SEL_OK:
                return make_selection(sync, sync, false, NULL);
        case SEL_BEHIND_FORCED:
                return make_selection((pos_spec){"0-1-101", 0}, (pos_spec){"0-1-104", 0}, true, NULL);
        default:
                return NULL;
        }
}

/* ---- loss ---- */

START_TEST(test_loss) {
        static const struct {
                const char *what;
                int primary; /* 0 no probe, 1 semi-sync running, 2 not enabled, 3 status unknown, 4 fell back
                              */
                int sel;
                const char *why; /* NULL: not lossy */
                const char *missing;
        } cases[] = {
                {"semi-sync running, nothing missing", 1, SEL_OK, NULL, NULL},
                {"no selection given", 1, SEL_NONE, NULL, NULL},
                {"no good probe", 0, SEL_OK,
                        "no good probe of the old primary db-a: whether it ran semi-sync is unknown", NULL},
                {"semi-sync not enabled", 2, SEL_OK,
                        "semi-sync was not enabled on the old primary db-a (rpl_semi_sync_master_enabled "
                        "OFF): what "
                        "it committed after its last probe may be lost",
                        NULL},
                {"semi-sync status unknown", 3, SEL_OK,
                        "whether the old primary db-a really ran semi-sync at its last probe is unknown",
                        NULL},
                {"fell back to async", 4, SEL_OK,
                        "the old primary db-a had fallen back to asynchronous replication at its last probe "
                        "(Rpl_semi_sync_master_status OFF)",
                        NULL},
                {"forced past missing transactions", 1, SEL_BEHIND_FORCED,
                        "the new primary lacks 0-1-102..104 (on db-c)", "0-1-102..104 (on db-c)"},
                {"both", 4, SEL_BEHIND_FORCED,
                        "the old primary db-a had fallen back to asynchronous replication at its last probe "
                        "(Rpl_semi_sync_master_status OFF); the new primary lacks 0-1-102..104 (on db-c)",
                        "0-1-102..104 (on db-c)"},
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                cluster_conf conf = conf3();
                _cleanup_(candidate_selection_freep) candidate_selection *s = selection_for(cases[k].sel);
                _cleanup_(failover_run_freep) failover_run *run = NULL;
                server_status *p = cases[k].primary ? status("0-1-100", 1, false, 0) : NULL;

                if (p) {
                        p->semi_sync_master_enabled = cases[k].primary != 2;
                        p->have_semi_sync_status = cases[k].primary != 3;
                        p->semi_sync_master_status = cases[k].primary == 1;
                }
                ck_assert_int_eq(failover_run_new(&conf, "db-a", false, false, 0, 0, &run), 0);
                ck_assert_int_eq(failover_run_set_text(&run->lossy_why, "stale"), 0);
                ck_assert_int_eq(failover_run_assess_loss(run, p, s, &conf), 0);
                ck_assert_msg(run->lossy == (cases[k].why != NULL), "%s", cases[k].what);
                ck_assert_msg(streq_ptr(run->lossy_why, cases[k].why), "%s: \"%s\"", cases[k].what,
                        run->lossy_why);
                ck_assert_msg(streq_ptr(run->missing_gtids, cases[k].missing), "%s", cases[k].what);
                server_status_free(p);
        }
}
END_TEST

/* ---- JSON and the renderings ---- */

static void assert_same_phases(const failover_run *a, const failover_run *b) {
        for (size_t p = 0; p < _FAILOVER_PHASE_MAX; p++) {
                ck_assert(a->phases[p].entered == b->phases[p].entered);
                ck_assert(a->phases[p].ended == b->phases[p].ended);
                ck_assert_uint_eq(a->phases[p].start_usec, b->phases[p].start_usec);
                ck_assert_uint_eq(a->phases[p].end_usec, b->phases[p].end_usec);
                ck_assert_uint_eq(a->phases[p].deadline_usec, b->phases[p].deadline_usec);
        }
}

static failover_run *sample_run(void) {
        cluster_conf conf = conf3();
        failover_run *run = NULL;
        static const struct {
                failover_event e;
                uint64_t at_ms;
        } steps[] = {{FAILOVER_EVENT_PHASE_OK, 5012}, {FAILOVER_EVENT_PHASE_OK, 5024},
                {FAILOVER_EVENT_PHASE_OK, 5025}, {FAILOVER_EVENT_PHASE_OK, 5040},
                {FAILOVER_EVENT_PHASE_OK, 5043}, {FAILOVER_EVENT_PHASE_OK, 5123},
                {FAILOVER_EVENT_PHASE_OK, 5150}, {FAILOVER_EVENT_PHASE_DEGRADED, 5190},
                {FAILOVER_EVENT_PHASE_OK, 5199}};

        ck_assert_int_eq(
                failover_run_new(&conf, "db-a", true, true, MS(1000), 1764387667123000ULL, &run), 0);
        run->epoch = 8;
        ck_assert_int_eq(failover_run_set_text(&run->new_primary, "db-b"), 0);
        ck_assert_int_eq(failover_run_set_text(&run->old_primary_gtid, "0-1-100"), 0);
        ck_assert_int_eq(failover_run_set_text(&run->new_primary_gtid, "0-1-105"), 0);
        ck_assert_int_eq(failover_run_set_text(&run->message, "dns: SERVFAIL from 10.0.0.2:53"), 0);
        run->lossy = true;
        ck_assert_int_eq(failover_run_set_text(&run->lossy_why, "semi-sync was not enabled"), 0);
        for (size_t k = 0; k < ELEMENTSOF(steps); k++)
                ck_assert_int_eq(
                        failover_plan_next(run, steps[k].e, FAILOVER_REASON_OK, MS(steps[k].at_ms)), 1);
        return run;
}

START_TEST(test_json_round_trip) {
        _cleanup_(failover_run_freep) failover_run *run = sample_run(), *back = NULL;
        json_object *j = NULL, *parsed, *j2 = NULL;
        _cleanup_free_ char *first = NULL;

        ck_assert_int_eq(failover_run_to_json(run, &j), 0);
        first = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        ck_assert_ptr_nonnull(strstr(first,
                "{\"cluster\":\"main\",\"epoch\":8,\"old_primary\":\"db-a\",\"new_primary\":\"db-b\","
                "\"old_primary_gtid\":\"0-1-100\",\"new_primary_gtid\":\"0-1-105\",\"manual\":true,\"switchover\":false,"
                "\"forced\":true,"
                "\"started_usec\":1000000,\"started_realtime_usec\":1764387667123000,\"timeout_usec\":"
                "30000000,"
                "\"pre_hooks_usec\":6000000,\"degraded\":true,\"message\":\"dns: SERVFAIL from "
                "10.0.0.2:53\","
                "\"lossy\":true,\"lossy_why\":\"semi-sync was not enabled\",\"missing_gtids\":null,"
                "\"started_at\":\"2025-11-29T03:41:07.123Z\",\"ended_usec\":5199000,\"phase\":\"done\","
                "\"failed_phase\":null,\"result\":\"degraded\",\"reason\":\"ENDPOINT_FAILED\",\"phases\":["
                "{\"phase\":\"detect\",\"start_usec\":1000000,\"end_usec\":5012000,\"deadline_usec\":null,"
                "\"duration_ms\":4012.000},"
                "{\"phase\":\"elect\",\"start_usec\":5012000,\"end_usec\":5024000,\"deadline_usec\":8012000,"
                "\"duration_ms\":12.000}"));
        parsed = json_tokener_parse(first);
        ck_assert_ptr_nonnull(parsed);
        ck_assert_int_eq(failover_run_from_json(parsed, &back), 0);
        ck_assert_int_eq(failover_run_to_json(back, &j2), 0);
        ck_assert_str_eq(json_object_to_json_string_ext(j2, JSON_C_TO_STRING_PLAIN), first);
        assert_same_phases(back, run);
        ck_assert_uint_eq(back->epoch, 8);
        ck_assert_int_eq(back->result, FAILOVER_RESULT_DEGRADED);
        ck_assert_int_eq(back->failed_phase, _FAILOVER_PHASE_INVALID);
        ck_assert_ptr_null(back->missing_gtids);
        json_object_put(j);
        json_object_put(j2);
        json_object_put(parsed);
}
END_TEST

START_TEST(test_json_round_trip_failed) {
        cluster_conf conf = conf3();
        _cleanup_(failover_run_freep) failover_run *run = NULL, *back = NULL;
        json_object *j = NULL;

        ck_assert_int_eq(failover_run_new(&conf, "db-a", false, false, 0, 0, &run), 0);
        ck_assert_int_eq(failover_plan_next(run, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, MS(5000)), 1);
        ck_assert_int_eq(failover_plan_next(run, FAILOVER_EVENT_TICK, FAILOVER_REASON_OK, MS(9000)), 1);
        ck_assert_int_eq(failover_run_to_json(run, &j), 0);
        ck_assert_int_eq(failover_run_from_json(j, &back), 0);
        ck_assert_int_eq(back->phase, FAILOVER_PHASE_FAILED);
        ck_assert_int_eq(back->failed_phase, FAILOVER_PHASE_ELECT);
        ck_assert_int_eq(back->reason, FAILOVER_REASON_TIMEOUT);
        assert_same_phases(back, run);
        json_object_put(j);

        /* a running run comes back able to go on */
        failover_run_free(run);
        run = run_to(&conf, FAILOVER_PHASE_CATCH_UP, MS(5000));
        ck_assert_int_eq(failover_run_to_json(run, &j), 0);
        failover_run_free(back);
        back = NULL;
        ck_assert_int_eq(failover_run_from_json(j, &back), 0);
        ck_assert_uint_eq(back->ended_usec, 0);
        ck_assert(!back->phases[FAILOVER_PHASE_CATCH_UP].ended);
        ck_assert_uint_eq(failover_plan_deadline(back), MS(30500));
        ck_assert_int_eq(failover_plan_next(back, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, MS(6000)), 1);
        ck_assert_int_eq(back->phase, FAILOVER_PHASE_PROMOTE);
        json_object_put(j);
}
END_TEST

START_TEST(test_json_errors) {
        static const char *const bad[] = {
                "[]",
                "{}",
                "{\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\",\"result\":\"running\","
                "\"phases\":[{\"phase\":"
                "\"detect\",\"start_usec\":1}]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":-1,\"phase\":\"detect\","
                "\"result\":\"running\","
                "\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"nope\",\"result\":"
                "\"running\","
                "\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\","
                "\"result\":\"running\","
                "\"phases\":[{\"phase\":\"detect\",\"start_usec\":1},{\"phase\":\"detect\",\"start_usec\":1}"
                "]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"elect\",\"result\":"
                "\"running\","
                "\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\","
                "\"result\":\"running\","
                "\"phases\":[{\"phase\":\"detect\",\"start_usec\":5,\"end_usec\":4}]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\","
                "\"result\":\"running\","
                "\"lossy\":1,\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]}",
                "{\"cluster\":7,\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\",\"result\":"
                "\"running\","
                "\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]}",
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\","
                "\"result\":\"running\","
                "\"reason\":\"BOGUS\",\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]}",
        };
        const char *good =
                "{\"cluster\":\"c\",\"old_primary\":\"a\",\"started_usec\":1,\"phase\":\"detect\","
                "\"result\":\"running\",\"epoch\":null,\"phases\":[{\"phase\":\"detect\",\"start_usec\":1}]"
                "}";
        failover_run *run = NULL;
        json_object *j;

        for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                j = json_tokener_parse(bad[k]);
                ck_assert_ptr_nonnull(j);
                ck_assert_msg(failover_run_from_json(j, &run) == -EINVAL, "bad[%zu] accepted", k);
                ck_assert_ptr_null(run);
                json_object_put(j);
        }
        j = json_tokener_parse(good);
        ck_assert_int_eq(failover_run_from_json(j, &run), 0);
        ck_assert_str_eq(run->cluster, "c");
        ck_assert_uint_eq(run->phases[FAILOVER_PHASE_DETECT].deadline_usec, UINT64_MAX);
        failover_run_free(run);
        json_object_put(j);
        ck_assert_int_eq(failover_run_from_json(NULL, &run), -EINVAL);
        ck_assert_int_eq(failover_run_to_json(NULL, &j), -EINVAL);
}
END_TEST

START_TEST(test_format_run) {
        _cleanup_(failover_run_freep) failover_run *run = sample_run();
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        cluster_conf conf = conf3();

        ck_assert_int_eq(failover_run_format(run, &text), 0);
        ck_assert_str_eq(text, "epoch 8: manual failover of db-a to db-b: degraded: ENDPOINT_FAILED "
                               "(started 2025-11-29T03:41:07.123Z, forced, LOSSY)\n"
                               "  detect            4012.0 ms\n"
                               "  elect             12.0 ms\n"
                               "  pre-hooks         1.0 ms\n"
                               "  fence             15.0 ms\n"
                               "  select            3.0 ms\n"
                               "  catch-up          80.0 ms\n"
                               "  promote           27.0 ms\n"
                               "  endpoints         40.0 ms\n"
                               "  repoint-replicas  9.0 ms\n"
                               "  after detection   187.0 ms\n"
                               "  positions         db-a 0-1-100, db-b 0-1-105\n"
                               "  message: dns: SERVFAIL from 10.0.0.2:53\n"
                               "  lossy: semi-sync was not enabled\n");

        failover_run_free(run);
        run = NULL;
        ck_assert_int_eq(failover_run_new(&conf, "db-a", false, false, 0, 0, &run), 0);
        ck_assert_int_eq(failover_plan_next(run, FAILOVER_EVENT_PHASE_OK, FAILOVER_REASON_OK, 1500), 1);
        ck_assert_int_eq(failover_run_format(run, &text2), 0);
        ck_assert_str_eq(text2,
                "epoch 0: failover of db-a to ?: running (started 1970-01-01T00:00:00.000Z)\n"
                "  detect            1.5 ms\n"
                "  elect             running\n");
        free(text2);
        text2 = NULL;
        ck_assert_int_eq(
                failover_plan_next(run, FAILOVER_EVENT_PRIMARY_RETURNED, FAILOVER_REASON_OK, 2500), 1);
        ck_assert_int_eq(failover_run_format(run, &text2), 0);
        ck_assert_str_eq(text2, "epoch 0: failover of db-a to ?: aborted in elect: PRIMARY_RETURNED "
                                "(started 1970-01-01T00:00:00.000Z)\n"
                                "  detect            1.5 ms\n"
                                "  elect             1.0 ms\n"
                                "  after detection   1.0 ms\n");
        ck_assert_int_eq(failover_run_format(NULL, &text2), -EINVAL);
}
END_TEST

START_TEST(test_strings_and_edges) {
        cluster_conf conf = conf3();
        failover_run *run = NULL;
        char *field = NULL;

        for (int p = 0; p < _FAILOVER_PHASE_MAX; p++)
                ck_assert_int_eq(failover_phase_from_string(failover_phase_to_string(p)), p);
        for (int r = 0; r < _FAILOVER_RESULT_MAX; r++)
                ck_assert_int_eq(failover_result_from_string(failover_result_to_string(r)), r);
        for (int r = 0; r < _FAILOVER_REASON_MAX; r++)
                ck_assert_int_eq(failover_reason_from_string(failover_reason_to_string(r)), r);
        for (int e = 0; e < _FAILOVER_EVENT_MAX; e++)
                ck_assert_int_eq(failover_event_from_string(failover_event_to_string(e)), e);
        ck_assert_ptr_null(failover_phase_to_string(_FAILOVER_PHASE_MAX));
        ck_assert_ptr_null(failover_reason_to_string(-1));
        ck_assert_int_eq(failover_phase_from_string("Detect"), _FAILOVER_PHASE_INVALID);
        ck_assert_int_eq(failover_reason_from_string(NULL), _FAILOVER_REASON_INVALID);
        ck_assert_str_eq(failover_phase_to_string(FAILOVER_PHASE_REPOINT_REPLICAS), "repoint-replicas");
        ck_assert_str_eq(failover_reason_to_string(FAILOVER_REASON_CANDIDATE_BEHIND), "CANDIDATE_BEHIND");
        ck_assert_str_eq(failover_event_to_string(FAILOVER_EVENT_PRIMARY_RETURNED), "primary-returned");

        /* every candidate check maps onto a reason code of the same name */
        for (int c = 0; c < _CANDIDATE_REASON_MAX; c++) {
                failover_reason r = failover_reason_from_candidate(c);

                if (c == CANDIDATE_OK || c == CANDIDATE_NOT_TARGET)
                        ck_assert_int_eq(r, FAILOVER_REASON_NO_CANDIDATE);
                else
                        ck_assert_str_eq(failover_reason_to_string(r), candidate_reason_to_string(c));
        }

        ck_assert_int_eq(failover_run_new(NULL, "db-a", false, false, 0, 0, &run), -EINVAL);
        ck_assert_int_eq(failover_run_new(&conf, NULL, false, false, 0, 0, &run), -EINVAL);
        ck_assert_ptr_null(run);
        ck_assert_int_eq(failover_plan_next(NULL, FAILOVER_EVENT_TICK, FAILOVER_REASON_OK, 0), -EINVAL);
        ck_assert_ptr_null(failover_run_free(NULL));
        ck_assert_int_eq(failover_run_set_text(&field, "x"), 0);
        ck_assert_str_eq(field, "x");
        ck_assert_int_eq(failover_run_set_text(&field, NULL), 0);
        ck_assert_ptr_null(field);
        ck_assert_int_eq(failover_run_set_text(NULL, "x"), -EINVAL);
        ck_assert_int_eq(failover_run_assess_loss(NULL, NULL, NULL, NULL), -EINVAL);
}
END_TEST

static Suite *failover_plan_suite(void) {
        Suite *s = suite_create("failover-plan");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_scripts, 0, ELEMENTSOF(scripts));
        tcase_add_test(tc, test_deadlines);
        tcase_add_test(tc, test_loss);
        tcase_add_test(tc, test_json_round_trip);
        tcase_add_test(tc, test_json_round_trip_failed);
        tcase_add_test(tc, test_json_errors);
        tcase_add_test(tc, test_format_run);
        tcase_add_test(tc, test_strings_and_edges);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(failover_plan_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
