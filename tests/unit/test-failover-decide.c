/* Unit tests for lib/core/failover-decide.c: the pre-checks of a failover on candidate selections made by
 * candidate_select(), the cooldown on an injected clock, paging while refused, and the decision's JSON and
 * `why` rendering. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "failover-decide.h"
#include "macro.h"

#define SEC(x) ((uint64_t) (x) *1000000ULL)

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

/* ---- candidate selections for the decisions ---- */

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

enum {
        SEL_NONE,
        SEL_OK,
        SEL_EMPTY,
        SEL_LAGGING,
        SEL_ERRANT,
        SEL_BEHIND,
        SEL_TARGET_BAD,
        SEL_LAGGING_FORCED,
        SEL_BEHIND_FORCED
};

static candidate_selection *selection_for(int kind) {
        static const pos_spec sync = {"0-1-100", 0}, down = {NULL, 0};

        switch (kind) {
        case SEL_OK:
                return make_selection(sync, sync, false, NULL);
        case SEL_EMPTY:
                return make_selection(down, sync, false, NULL);
        case SEL_LAGGING:
                return make_selection((pos_spec){"0-1-90", 30}, sync, false, NULL);
        case SEL_ERRANT:
                return make_selection((pos_spec){"0-2-101", 0}, sync, false, NULL);
        case SEL_BEHIND:
                return make_selection((pos_spec){"0-1-101", 0}, (pos_spec){"0-1-104", 0}, false, NULL);
        case SEL_TARGET_BAD:
                return make_selection(sync, sync, true, "db-c");
        case SEL_LAGGING_FORCED:
                return make_selection((pos_spec){"0-1-90", 30}, sync, true, NULL);
        case SEL_BEHIND_FORCED:
                return make_selection((pos_spec){"0-1-101", 0}, (pos_spec){"0-1-104", 0}, true, NULL);
        default:
                return NULL;
        }
}

/* Each row starts from an automatic failover that should go (3 of 3 sentinels reachable, majority 2, the
 * primary SDOWN and ODOWN, db-b a good candidate) and changes what it says. */
static const struct decide_case {
        const char *what;
        failover_decide_input in; /* conf, primary, majority and selection filled in */
        size_t reach;             /* 0: 3 */
        bool not_sdown, not_odown, auto_off;
        int sel;
        bool go;
        const char *reason;
        const char *refusals;   /* space-separated, enum order */
        const char *overridden; /* space-separated */
        const char *text;       /* NULL: not checked */
} decide_cases[] = {
        {"all good", .sel = SEL_OK, .go = true, .reason = "OK", .refusals = "", .overridden = "",
                .text = "failover of db-a to db-b"},
        {"auto off", .auto_off = true, .sel = SEL_OK, .reason = "AUTO_DISABLED", .refusals = "AUTO_DISABLED",
                .overridden = "", .text = "automatic failover is disabled (failover.auto = false)"},
        {"maintenance", {.maintenance = true}, .sel = SEL_OK, .reason = "MAINTENANCE",
                .refusals = "MAINTENANCE", .overridden = "", .text = "the cluster is in maintenance mode"},
        {"quorum lost", .reach = 1, .sel = SEL_OK, .reason = "QUORUM_LOST", .refusals = "QUORUM_LOST",
                .overridden = "",
                .text = "this sentinel reaches 1 sentinels (itself included); a failover needs a majority "
                        "of 2"},
        {"quorum exactly a majority", .reach = 2, .sel = SEL_OK, .go = true, .reason = "OK", .refusals = "",
                .overridden = ""},
        {"not ODOWN", .not_odown = true, .sel = SEL_OK, .reason = "NOT_ODOWN", .refusals = "NOT_ODOWN",
                .overridden = "", .text = "the primary db-a is not ODOWN"},
        {"not even SDOWN", .not_odown = true, .not_sdown = true, .sel = SEL_OK, .reason = "NOT_ODOWN",
                .refusals = "NOT_ODOWN", .overridden = ""},
        {"primary returned", {.primary_alive = true}, .sel = SEL_OK, .reason = "PRIMARY_RETURNED",
                .refusals = "PRIMARY_RETURNED", .overridden = "", .text = "the primary db-a answers again"},
        {"no candidate looked for", .sel = SEL_NONE, .reason = "NO_CANDIDATE", .refusals = "NO_CANDIDATE",
                .overridden = "", .text = "no server can replace db-a"},
        {"empty cluster of candidates", .sel = SEL_EMPTY, .reason = "NO_CANDIDATE",
                .refusals = "NO_CANDIDATE", .overridden = ""},
        {"only candidate lagging", .sel = SEL_LAGGING, .reason = "LAGGING", .refusals = "LAGGING",
                .overridden = "",
                .text = "no other candidate; db-b: lagged 30000 ms behind db-a at its last good probe "
                        "(failover.max_lag_ms 10000)"},
        {"only candidate errant", .sel = SEL_ERRANT, .reason = "ERRANT_GTID", .refusals = "ERRANT_GTID",
                .overridden = ""},
        {"candidate behind an excluded server", .sel = SEL_BEHIND, .reason = "CANDIDATE_BEHIND",
                .refusals = "CANDIDATE_BEHIND", .overridden = "",
                .text = "the best candidate db-b lacks 0-1-102..104 (on db-c)"},
        {"--to a non-promotable server", {.manual = true, .forced = true}, .sel = SEL_TARGET_BAD,
                .reason = "NOT_PROMOTABLE", .refusals = "NOT_PROMOTABLE", .overridden = "",
                .text = "--to db-c: promotable = false in the configuration"},
        {"forced past lagging", {.manual = true, .forced = true}, .sel = SEL_LAGGING_FORCED, .go = true,
                .reason = "OK", .refusals = "", .overridden = "LAGGING CANDIDATE_BEHIND",
                .text = "failover of db-a to db-b (forced past LAGGING CANDIDATE_BEHIND)"},
        {"forced past candidate behind", {.manual = true, .forced = true}, .sel = SEL_BEHIND_FORCED,
                .go = true, .reason = "OK", .refusals = "", .overridden = "CANDIDATE_BEHIND"},
        {"several refusals: the first named, all listed", {.maintenance = true}, .reach = 1,
                .not_odown = true, .auto_off = true, .sel = SEL_EMPTY, .reason = "AUTO_DISABLED",
                .refusals = "AUTO_DISABLED MAINTENANCE QUORUM_LOST NOT_ODOWN NO_CANDIDATE", .overridden = "",
                .text = "automatic failover is disabled (failover.auto = false); also MAINTENANCE; also "
                        "QUORUM_LOST; also NOT_ODOWN; also NO_CANDIDATE"},
        {"cooldown", {.last_failover_usec = SEC(100), .now_usec = SEC(200)}, .sel = SEL_OK,
                .reason = "COOLDOWN", .refusals = "COOLDOWN", .overridden = "",
                .text = "the last failover was less than failover.cooldown_s 3600 s ago: 3500 s left"},
        {"manual: auto, maintenance and cooldown do not apply",
                {.manual = true, .maintenance = true, .last_failover_usec = SEC(100), .now_usec = SEC(200)},
                .auto_off = true, .sel = SEL_OK, .go = true, .reason = "OK", .refusals = "",
                .overridden = ""},
        {"manual still needs quorum and ODOWN", {.manual = true}, .reach = 1, .not_odown = true,
                .sel = SEL_OK, .reason = "QUORUM_LOST", .refusals = "QUORUM_LOST NOT_ODOWN",
                .overridden = ""},
        {"manual --no-quorum: SDOWN suffices", {.manual = true, .no_quorum = true}, .reach = 1,
                .not_odown = true, .sel = SEL_OK, .go = true, .reason = "OK", .refusals = "",
                .overridden = ""},
        {"manual --no-quorum: not SDOWN", {.manual = true, .no_quorum = true}, .not_sdown = true,
                .sel = SEL_OK, .reason = "NOT_ODOWN", .refusals = "NOT_ODOWN", .overridden = "",
                .text = "the primary db-a is not SDOWN"},
        {"--no-quorum is for manual failovers only", {.no_quorum = true}, .reach = 1, .sel = SEL_OK,
                .reason = "QUORUM_LOST", .refusals = "QUORUM_LOST", .overridden = ""},
        {"the primary returned trumps forcing", {.manual = true, .forced = true, .primary_alive = true},
                .sel = SEL_OK, .reason = "PRIMARY_RETURNED", .refusals = "PRIMARY_RETURNED",
                .overridden = ""},
};

/* The usual inputs of a failover that should go. */
#define GOOD_INPUT                                                                                          \
        .primary = "db-a", .sentinels_reachable = 3, .majority = 2, .primary_sdown = true,                  \
        .primary_odown = true

static char *join_mask(uint64_t mask) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        const char *sep = "";

        for (int r = 1; r < _FAILOVER_REASON_MAX; r++)
                if (mask & FAILOVER_REASON_BIT(r)) {
                        fprintf(f, "%s%s", sep, failover_reason_to_string(r));
                        sep = " ";
                }
        fclose(f);
        return text;
}

START_TEST(test_decide) {
        const struct decide_case *c = &decide_cases[_i];
        cluster_conf conf = conf3();
        failover_decide_input in = c->in;
        _cleanup_(candidate_selection_freep) candidate_selection *s = selection_for(c->sel);
        _cleanup_(failover_decision_done) failover_decision d = {};
        _cleanup_free_ char *refusals = NULL, *overridden = NULL;

        conf.failover.automatic = !c->auto_off;
        in.conf = &conf;
        in.selection = s;
        in.primary = "db-a";
        in.majority = 2;
        in.sentinels_reachable = c->reach ?: 3;
        in.primary_sdown = !c->not_sdown;
        in.primary_odown = !c->not_odown;
        ck_assert_int_eq(failover_plan_decide(&in, &d), 0);
        refusals = join_mask(d.refusals);
        overridden = join_mask(d.overridden);
        ck_assert_msg(d.go == c->go, "%s: go %d", c->what, d.go);
        ck_assert_msg(streq(failover_reason_to_string(d.reason), c->reason), "%s: reason %s", c->what,
                failover_reason_to_string(d.reason));
        ck_assert_msg(streq(refusals, c->refusals), "%s: refusals \"%s\"", c->what, refusals);
        ck_assert_msg(streq(overridden, c->overridden), "%s: overridden \"%s\"", c->what, overridden);
        if (c->text)
                ck_assert_msg(streq(d.text, c->text), "%s: text \"%s\"", c->what, d.text);
        ck_assert(!strchr(d.text, '\n'));
        ck_assert(d.go == (d.reason == FAILOVER_REASON_OK));
        ck_assert(d.go == (d.candidate != TOPOLOGY_NONE));
        if (d.go)
                ck_assert_str_eq(conf.servers[d.candidate].name, "db-b");
}
END_TEST

/* ---- cooldown ---- */

START_TEST(test_cooldown) {
        static const struct {
                const char *what;
                uint64_t cooldown_s, last, last_rt, now, now_rt;
                uint64_t remaining;
        } cases[] = {
                {"no failover yet", 3600, 0, 0, SEC(5), SEC(1700000000), 0},
                {"just after", 3600, SEC(100), 0, SEC(100), 0, SEC(3600)},
                {"one microsecond before the end", 3600, SEC(100), 0, SEC(3700) - 1, 0, 1},
                {"exactly at the end", 3600, SEC(100), 0, SEC(3700), 0, 0},
                {"long after", 3600, SEC(100), 0, SEC(99999), 0, 0},
                {"cooldown 0: never", 0, SEC(100), 0, SEC(100), 0, 0},
                {"monotonic wins over realtime", 3600, SEC(100), SEC(1000), SEC(200), SEC(999999),
                        SEC(3500)},
                {"after a restart: realtime", 3600, 0, SEC(1700000000), SEC(5), SEC(1700000010), SEC(3590)},
                {"realtime at the end", 3600, 0, SEC(1700000000), SEC(5), SEC(1700003600), 0},
                {"realtime in the future counts as just now", 3600, 0, SEC(1700009999), SEC(5),
                        SEC(1700000000), SEC(3600)},
                {"saturating", UINT64_MAX, SEC(1), 0, UINT64_MAX - 1, 0, 1},
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                cluster_conf conf = conf3();
                _cleanup_(candidate_selection_freep) candidate_selection *s = selection_for(SEL_OK);
                failover_decide_input in = {GOOD_INPUT, .conf = &conf, .selection = s,
                        .last_failover_usec = cases[k].last, .last_failover_realtime_usec = cases[k].last_rt,
                        .now_usec = cases[k].now, .now_realtime_usec = cases[k].now_rt};
                _cleanup_(failover_decision_done) failover_decision d = {};

                conf.failover.cooldown_s = cases[k].cooldown_s;
                ck_assert_int_eq(failover_plan_decide(&in, &d), 0);
                ck_assert_msg(d.cooldown_remaining_usec == cases[k].remaining, "%s: %llu", cases[k].what,
                        (unsigned long long) d.cooldown_remaining_usec);
                ck_assert_msg(d.go == (cases[k].remaining == 0), "%s", cases[k].what);
                ck_assert(d.go || d.reason == FAILOVER_REASON_COOLDOWN);
        }
}
END_TEST

/* ---- paging while refused ---- */

START_TEST(test_repage) {
        failover_pager p = {};

        ck_assert(!failover_plan_should_repage(SEC(10), 5000, SEC(15) - 1));
        ck_assert(failover_plan_should_repage(SEC(10), 5000, SEC(15)));
        ck_assert(failover_plan_should_repage(SEC(10), 5000, SEC(30)));
        ck_assert(!failover_plan_should_repage(SEC(10), 5000, SEC(1))); /* never before the last page */
        ck_assert(failover_plan_should_repage(SEC(10), 0, SEC(10)));
        ck_assert(!failover_plan_should_repage(SEC(10), UINT64_MAX, UINT64_MAX - 1));

        ck_assert_uint_eq(failover_pager_next_usec(&p, 5000), UINT64_MAX);
        ck_assert(failover_pager_refused(
                &p, FAILOVER_REASON_COOLDOWN, 5000, SEC(100))); /* the first: at once */
        ck_assert_uint_eq(failover_pager_next_usec(&p, 5000), SEC(105));
        ck_assert(!failover_pager_refused(&p, FAILOVER_REASON_COOLDOWN, 5000, SEC(101)));
        ck_assert(!failover_pager_refused(&p, FAILOVER_REASON_COOLDOWN, 5000, SEC(105) - 1));
        ck_assert(failover_pager_refused(
                &p, FAILOVER_REASON_COOLDOWN, 5000, SEC(105))); /* lasted down_after */
        ck_assert(!failover_pager_refused(&p, FAILOVER_REASON_COOLDOWN, 5000, SEC(109)));
        ck_assert(failover_pager_refused(
                &p, FAILOVER_REASON_NO_CANDIDATE, 5000, SEC(109))); /* news: at once */
        ck_assert_uint_eq(p.last_page_usec, SEC(109));
        ck_assert(!failover_pager_refused(&p, FAILOVER_REASON_NO_CANDIDATE, 5000, SEC(113)));
        ck_assert(failover_pager_refused(&p, FAILOVER_REASON_NO_CANDIDATE, 5000, SEC(114)));
        failover_pager_clear(&p);
        ck_assert(failover_pager_refused(
                &p, FAILOVER_REASON_NO_CANDIDATE, 5000, SEC(115))); /* after a clear */
        ck_assert(!failover_pager_refused(NULL, FAILOVER_REASON_NO_CANDIDATE, 5000, SEC(115)));
        failover_pager_clear(NULL);
}
END_TEST

START_TEST(test_decision_json_and_format) {
        cluster_conf conf = conf3();
        _cleanup_(candidate_selection_freep) candidate_selection *s = selection_for(SEL_LAGGING);
        failover_decide_input in = {GOOD_INPUT, .conf = &conf, .selection = s, .last_failover_usec = SEC(1),
                .last_failover_realtime_usec = 1764387667123000ULL, .now_usec = SEC(4000)};
        _cleanup_(failover_decision_done) failover_decision d = {};
        _cleanup_free_ char *text = NULL;
        json_object *j = NULL;
        const char *js;

        ck_assert_int_eq(failover_plan_decide(&in, &d), 0);
        ck_assert_int_eq(failover_decision_to_json(&d, &in, &j), 0);
        js = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        ck_assert_ptr_nonnull(strstr(js,
                "{\"go\":false,\"reason\":\"LAGGING\",\"refusals\":[\"LAGGING\"],\"overridden\":[],"
                "\"candidate\":null,"
                "\"text\":\"no other candidate; db-b: lagged 30000 ms behind db-a at its last good probe "
                "(failover.max_lag_ms "
                "10000)\",\"primary\":\"db-a\",\"inputs\":{\"manual\":false,\"forced\":false,"
                "\"no_quorum\":false,\"maintenance\":false,\"primary_sdown\":true,\"primary_odown\":true,"
                "\"primary_alive\":false,\"auto\":true,\"sentinels_reachable\":3,\"majority\":2,\"cooldown_"
                "s\":3600,"
                "\"cooldown_remaining_ms\":0,\"last_failover_at\":\"2025-11-29T03:41:07.123Z\"},"
                "\"selection\":{"
                "\"old_primary\":\"db-a\""));
        ck_assert_int_eq(failover_decision_format(j, &text), 0);
        ck_assert_ptr_nonnull(strstr(text,
                "failover of db-a: REFUSED LAGGING: no other candidate; db-b: lagged 30000 ms behind db-a "
                "at its "
                "last good probe (failover.max_lag_ms 10000)\n"
                "checks: AUTO_DISABLED ok, MAINTENANCE ok, QUORUM_LOST ok, NOT_ODOWN ok, PRIMARY_RETURNED "
                "ok, "
                "COOLDOWN ok\n"
                "inputs: manual=false forced=false no_quorum=false maintenance=false primary_sdown=true "
                "primary_odown=true primary_alive=false auto=true sentinels_reachable=3 majority=2 "
                "cooldown_s=3600 "
                "cooldown_remaining_ms=0 last_failover_at=2025-11-29T03:41:07.123Z\n"
                "candidates to replace db-a: most advanced position 0-1-100 (db-c)\n"
                "-  db-a (az-a, priority 100): FAILED_PRIMARY: the failed primary\n"));
        ck_assert_ptr_nonnull(strstr(text, "\nno eligible candidate\n"));
        json_object_put(j);
        free(text);
        text = NULL;

        /* without a selection, and from a minimal document */
        j = json_tokener_parse("{\"go\":true,\"primary\":\"db-a\",\"text\":\"failover of db-a to db-b\"}");
        ck_assert_int_eq(failover_decision_format(j, &text), 0);
        ck_assert_str_eq(text, "failover of db-a: GO: failover of db-a to db-b\n"
                               "checks: AUTO_DISABLED ok, MAINTENANCE ok, QUORUM_LOST ok, NOT_ODOWN ok, "
                               "PRIMARY_RETURNED ok, COOLDOWN ok\n"
                               "inputs:\n"
                               "no candidates were considered\n");
        json_object_put(j);
        ck_assert_int_eq(failover_decision_format(NULL, &text), -EINVAL);
        ck_assert_int_eq(failover_plan_decide(NULL, &d), -EINVAL);
        ck_assert_int_eq(failover_decision_to_json(&d, NULL, &j), -EINVAL);
        failover_decision_done(NULL);
}
END_TEST

static Suite *failover_decide_suite(void) {
        Suite *s = suite_create("failover-decide");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_decide, 0, ELEMENTSOF(decide_cases));
        tcase_add_test(tc, test_cooldown);
        tcase_add_test(tc, test_repage);
        tcase_add_test(tc, test_decision_json_and_format);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(failover_decide_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
