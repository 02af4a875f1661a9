/* Unit tests for lib/core/quorum.c: every agreement rule and its edges, table-driven, on an injected
 * clock: ODOWN (window boundary, stale opinions, another primary, replica evidence), votes (stale,
 * idempotent re-send, one per epoch, also across a restart through lib/io/state.c), the tally for 1,
 * 3 and 5 sentinels, the kinds of election (failover, switchover, forced), the retry spread, configuration order, and self-fencing (timing boundary,
 * never heard, lifting). tests/model/sentinel.pml checks the same rules together under faults. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "peer-payload.h"
#include "quorum.h"
#include "state.h"

#define MS(x)  ((uint64_t) (x) *USEC_PER_MSEC)
#define NOW    MS(1000000)
#define WINDOW MS(5000)

static const char *plain(json_object *j) {
        return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
}

static void check_strings(const char *(*to)(int), int (*from)(const char *), int max) {
        for (int i = 0; i < max; i++) {
                ck_assert_ptr_nonnull(to(i));
                ck_assert_int_eq(from(to(i)), i);
        }
        ck_assert_ptr_null(to(max));
        ck_assert_ptr_null(to(-1));
        ck_assert_int_eq(from("no-such-name"), -EINVAL);
        ck_assert_int_eq(from(NULL), -EINVAL);
}

#define STRINGS(name, max)                                                                                  \
        check_strings(                                                                                      \
                (const char *(*) (int) ) name##_to_string, (int (*)(const char *)) name##_from_string, max)

START_TEST(test_strings) {
        STRINGS(quorum_odown_reason, _QUORUM_ODOWN_MAX);
        STRINGS(quorum_vote_verdict, _QUORUM_VOTE_MAX);
        STRINGS(quorum_vote_kind, _QUORUM_VOTE_KIND_MAX);
        STRINGS(quorum_config_order, _QUORUM_CONFIG_MAX);
        STRINGS(quorum_fence_action, _QUORUM_FENCE_ACTION_MAX);
        STRINGS(quorum_fence_reason, _QUORUM_FENCE_REASON_MAX);
        ck_assert_str_eq(quorum_odown_reason_to_string(QUORUM_ODOWN_EVIDENCE), "REPLICA_EVIDENCE");
        ck_assert_str_eq(quorum_vote_verdict_to_string(QUORUM_VOTE_ALREADY_VOTED), "ALREADY_VOTED");
        ck_assert_str_eq(quorum_fence_reason_to_string(QUORUM_FENCE_NEVER_HEARD), "NEVER_HEARD");
        /* the kinds are the wire's (peer-payload.h) */
        ck_assert_int_eq(quorum_vote_kind_from_string(PEER_VOTE_KIND_FAILOVER), QUORUM_VOTE_KIND_FAILOVER);
        ck_assert_int_eq(quorum_vote_kind_from_string(PEER_VOTE_KIND_SWITCHOVER), QUORUM_VOTE_KIND_SWITCHOVER);
        ck_assert_int_eq(quorum_vote_kind_from_string(PEER_VOTE_KIND_FORCED), QUORUM_VOTE_KIND_FORCED);
        for (int k = 0; k < _QUORUM_VOTE_KIND_MAX; k++)
                ck_assert(peer_vote_kind_is_valid(quorum_vote_kind_to_string(k)));
}
END_TEST

START_TEST(test_majority) {
        static const size_t want[] = {1, 1, 2, 2, 3, 3, 4, 4};

        for (size_t n = 0; n < ELEMENTSOF(want); n++)
                ck_assert_uint_eq(quorum_majority(n), want[n]);
}
END_TEST

/* ---- ODOWN ---- */

#define OP(name, prim, sd, age, ev)                                                                         \
        {                                                                                                   \
                .sentinel = (name), .primary = (prim), .sdown = (sd), .received_usec = NOW - (age),         \
                .replica_evidence = (ev)                                                                    \
        }

static const struct odown_case {
        const char *what;
        const char *primary;
        bool sdown;
        unsigned evidence;
        unsigned quorum;
        quorum_opinion ops[6];
        size_t n_ops;
        quorum_odown_reason want;
        size_t count;
        const char *agree; /* comma-separated */
        size_t stale, other;
        unsigned want_evidence;
} odown_cases[] = {
        {"self and one fresh peer, quorum 2", "db-a", true, 0, 2, {OP("az-b", "db-a", true, MS(100), 0)}, 1,
                QUORUM_ODOWN_OK, 2, "az-a,az-b", 0, 0, 0},
        {"only self, quorum 2", "db-a", true, 0, 2, {OP("az-b", "db-a", false, MS(100), 0)}, 1,
                QUORUM_ODOWN_NO_QUORUM, 1, "az-a", 0, 0, 0},
        {"only self, quorum 1", "db-a", true, 0, 1, {}, 0, QUORUM_ODOWN_OK, 1, "az-a", 0, 0, 0},
        {"window boundary: exactly window old counts", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, WINDOW, 0)}, 1, QUORUM_ODOWN_OK, 2, "az-a,az-b", 0, 0, 0},
        {"window boundary: one usec older is stale", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, WINDOW + 1, 0)}, 1, QUORUM_ODOWN_NO_QUORUM, 1, "az-a", 1, 0, 0},
        {"a peer's opinion from the future counts as now", "db-a", true, 0, 2,
                {{.sentinel = "az-b", .primary = "db-a", .sdown = true, .received_usec = NOW + MS(1)}}, 1,
                QUORUM_ODOWN_OK, 2, "az-a,az-b", 0, 0, 0},
        {"peers agree, but not this sentinel", "db-a", false, 0, 2,
                {OP("az-b", "db-a", true, 0, 0), OP("az-c", "db-a", true, 0, 0)}, 2, QUORUM_ODOWN_NOT_SDOWN,
                2, "az-b,az-c", 0, 0, 0},
        {"a peer about another primary does not count", "db-a", true, 0, 2, {OP("az-b", "db-b", true, 0, 0)},
                1, QUORUM_ODOWN_NO_QUORUM, 1, "az-a", 0, 1, 0},
        {"a peer that knows no primary does not count", "db-a", true, 0, 2, {OP("az-b", NULL, true, 0, 0)},
                1, QUORUM_ODOWN_NO_QUORUM, 1, "az-a", 0, 1, 0},
        {"own replica evidence against", "db-a", true, 1, 2, {OP("az-b", "db-a", true, 0, 0)}, 1,
                QUORUM_ODOWN_EVIDENCE, 2, "az-a,az-b", 0, 0, 1},
        {"a fresh peer's replica evidence against", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, 0, 0), OP("az-c", "db-a", false, MS(10), 2)}, 2,
                QUORUM_ODOWN_EVIDENCE, 2, "az-a,az-b", 0, 0, 2},
        {"a stale peer's replica evidence is ignored", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, 0, 0), OP("az-c", "db-a", false, WINDOW + 1, 2)}, 2,
                QUORUM_ODOWN_OK, 2, "az-a,az-b", 0, 0, 0},
        {"evidence about another primary is ignored", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, 0, 0), OP("az-c", "db-z", false, 0, 3)}, 2, QUORUM_ODOWN_OK, 2,
                "az-a,az-b", 0, 1, 0},
        {"the latest opinion of a peer wins (now not SDOWN)", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, MS(200), 0), OP("az-b", "db-a", false, MS(100), 0)}, 2,
                QUORUM_ODOWN_NO_QUORUM, 1, "az-a", 0, 0, 0},
        {"the latest opinion of a peer wins (now SDOWN), listed first", "db-a", true, 0, 2,
                {OP("az-b", "db-a", true, MS(100), 0), OP("az-b", "db-a", false, MS(200), 0)}, 2,
                QUORUM_ODOWN_OK, 2, "az-a,az-b", 0, 0, 0},
        {"a peer counts once however often it is listed", "db-a", true, 0, 3,
                {OP("az-b", "db-a", true, MS(100), 0), OP("az-b", "db-a", true, MS(100), 0)}, 2,
                QUORUM_ODOWN_NO_QUORUM, 2, "az-a,az-b", 0, 0, 0},
        {"a nameless opinion is ignored", "db-a", true, 0, 2,
                {OP(NULL, "db-a", true, 0, 9), OP("az-b", "db-a", true, 0, 0)}, 2, QUORUM_ODOWN_OK, 2,
                "az-a,az-b", 0, 0, 0},
        {"an opinion under our own name is ignored", "db-a", true, 0, 2, {OP("az-a", "db-a", true, 0, 0)}, 1,
                QUORUM_ODOWN_NO_QUORUM, 1, "az-a", 0, 0, 0},
        {"5 sentinels, quorum 3: three agree", "db-a", true, 0, 3,
                {OP("az-b", "db-a", true, 0, 0), OP("az-c", "db-a", true, MS(1), 0),
                        OP("az-d", "db-a", false, 0, 0), OP("az-e", "db-a", true, WINDOW + 1, 0)},
                4, QUORUM_ODOWN_OK, 3, "az-a,az-b,az-c", 1, 0, 0},
        {"5 sentinels, quorum 3: two agree, two stale", "db-a", true, 0, 3,
                {OP("az-b", "db-a", true, 0, 0), OP("az-c", "db-a", true, WINDOW + 1, 0),
                        OP("az-d", "db-a", false, 0, 0), OP("az-e", "db-a", true, MS(60000), 0)},
                4, QUORUM_ODOWN_NO_QUORUM, 2, "az-a,az-b", 2, 0, 0},
        {"no primary known", NULL, true, 0, 2, {OP("az-b", "db-a", true, 0, 0)}, 1, QUORUM_ODOWN_NO_PRIMARY,
                0, "", 0, 0, 0},
};

static void run_odown(const struct odown_case *c, quorum_odown_result *r, quorum_odown_input *in) {
        *in = (quorum_odown_input){
                .self = "az-a",
                .primary = c->primary,
                .sdown = c->sdown,
                .replica_evidence = c->evidence,
                .opinions = c->ops,
                .n_opinions = c->n_ops,
                .quorum = c->quorum,
                .window_usec = WINDOW,
                .now_usec = NOW,
        };
        ck_assert_int_eq(quorum_odown(in, r), 0);
}

START_TEST(test_odown) {
        const struct odown_case *c = &odown_cases[_i];
        quorum_odown_result r;
        quorum_odown_input in;
        char joined[256] = "";

        run_odown(c, &r, &in);
        ck_assert_msg(r.reason == c->want, "%s: reason %s, want %s (%s)", c->what,
                quorum_odown_reason_to_string(r.reason), quorum_odown_reason_to_string(c->want), r.text);
        ck_assert_int_eq(r.odown, c->want == QUORUM_ODOWN_OK);
        ck_assert_uint_eq(r.count, c->count);
        for (size_t i = 0; r.agree[i]; i++) {
                ck_assert_uint_lt(i, r.count);
                strcat(joined, i ? "," : "");
                strcat(joined, r.agree[i]);
        }
        ck_assert_msg(streq(joined, c->agree), "%s: agree %s, want %s", c->what, joined, c->agree);
        ck_assert_uint_eq(r.stale, c->stale);
        ck_assert_uint_eq(r.other_primary, c->other);
        ck_assert_uint_eq(r.evidence, c->want_evidence);
        ck_assert_ptr_nonnull(r.text);
        ck_assert_ptr_null(strchr(r.text, '\n'));
        quorum_odown_result_done(&r);
        ck_assert_ptr_null(r.agree);
        quorum_odown_result_done(NULL);
}
END_TEST

START_TEST(test_odown_text_and_json) {
        static const quorum_opinion ops[] = {
                OP("az-b", "db-a", true, MS(10), 0),
                OP("az-c", "db-a", true, WINDOW + 1, 0),
                OP("az-d", "db-z", false, 0, 0),
        };
        quorum_odown_input in = {.self = "az-a",
                .primary = "db-a",
                .sdown = true,
                .opinions = ops,
                .n_opinions = 3,
                .quorum = 2,
                .window_usec = WINDOW,
                .now_usec = NOW};
        quorum_odown_result r;
        json_object *j;

        ck_assert_int_eq(quorum_odown(&in, &r), 0);
        ck_assert_str_eq(r.text, "db-a is ODOWN: 2 of quorum 2 sentinels see it SDOWN within 5000 ms (az-a, "
                                 "az-b); 1 stale opinion ignored; 1 opinion about another primary ignored");
        ck_assert_int_eq(quorum_odown_to_json(&r, &in, &j), 0);
        ck_assert_str_eq(plain(j),
                "{\"odown\":true,\"reason\":\"ODOWN\",\"text\":\"db-a is ODOWN: 2 of quorum 2 sentinels see "
                "it "
                "SDOWN within 5000 ms (az-a, az-b); 1 stale opinion ignored; 1 opinion about another "
                "primary "
                "ignored\",\"primary\":\"db-a\",\"count\":2,\"quorum\":2,\"agree\":[\"az-a\",\"az-b\"],"
                "\"evidence\":0,\"stale\":1,\"other_primary\":1,\"window_ms\":5000}");
        json_object_put(j);
        quorum_odown_result_done(&r);

        in.n_opinions = 1;
        in.sdown = false;
        ck_assert_int_eq(quorum_odown(&in, &r), 0);
        ck_assert_str_eq(r.text, "db-a is not ODOWN: this sentinel does not see it SDOWN itself");
        quorum_odown_result_done(&r);

        in.sdown = true;
        in.replica_evidence = 1;
        ck_assert_int_eq(quorum_odown(&in, &r), 0);
        ck_assert_str_eq(r.text,
                "db-a is not ODOWN: 1 replica IO thread is still connected to it, though 2 of "
                "quorum 2 sentinels see it SDOWN (az-a, az-b)");
        quorum_odown_result_done(&r);

        in.replica_evidence = 0;
        in.quorum = 3;
        ck_assert_int_eq(quorum_odown(&in, &r), 0);
        ck_assert_str_eq(r.text,
                "db-a is not ODOWN: 2 of quorum 3 sentinels see it SDOWN within 5000 ms (az-a, "
                "az-b)");
        quorum_odown_result_done(&r);

        in.primary = NULL;
        ck_assert_int_eq(quorum_odown(&in, &r), 0);
        ck_assert_str_eq(r.text, "not ODOWN: no primary is known");
        quorum_odown_result_done(&r);

        in.quorum = 0;
        ck_assert_int_eq(quorum_odown(&in, &r), -EINVAL);
        ck_assert_int_eq(quorum_odown(NULL, &r), -EINVAL);
        in.quorum = 2;
        in.self = NULL;
        ck_assert_int_eq(quorum_odown(&in, &r), -EINVAL);
        ck_assert_int_eq(quorum_odown_to_json(NULL, &in, &j), -EINVAL);
}
END_TEST

/* ---- votes ---- */

static const struct vote_case {
        const char *what;
        quorum_vote_request req;
        quorum_vote_input in;
        quorum_vote_verdict want;
} vote_cases[] = {
        {"a new epoch, ODOWN here too", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_GRANTED},
        {"a new epoch, not ODOWN here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", false, false},
                QUORUM_VOTE_NOT_ODOWN},
        {"the current epoch, not voted in yet", {"main", 5, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 3, "az-c", "db-a", true, false}, QUORUM_VOTE_GRANTED},
        {"the current epoch, already voted for another", {"main", 5, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, false}, QUORUM_VOTE_ALREADY_VOTED},
        {"the same candidate again: idempotent", {"main", 5, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, false}, QUORUM_VOTE_GRANTED_AGAIN},
        {"the same candidate again, ODOWN gone: still the same vote", {"main", 5, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, false}, QUORUM_VOTE_GRANTED_AGAIN},
        {"below the current epoch", {"main", 4, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_STALE},
        {"below the current epoch, even to whom we voted for there", {"main", 4, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 4, "az-c", "db-a", true, false}, QUORUM_VOTE_STALE},
        {"another primary", {"main", 6, "az-b", "db-b", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_CONFIG_MISMATCH},
        {"no primary known here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", NULL, true, false},
                QUORUM_VOTE_CONFIG_MISMATCH},
        {"another cluster", {"other", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_CONFIG_MISMATCH},
        {"never voted, epoch 0 to 1", {"main", 1, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 0, 0, NULL, "db-a", true, false},
                QUORUM_VOTE_GRANTED},
        {"never voted: epoch 0 is not a vote in epoch 0", {"main", 0, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 0, 0, NULL, "db-a", true, false}, QUORUM_VOTE_GRANTED},
        {"inconsistent: a last vote above the requested epoch", {"main", 5, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 7, "az-c", "db-a", true, false}, QUORUM_VOTE_STALE},
        {"the highest epoch", {"main", QUORUM_EPOCH_MAX, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, false}, QUORUM_VOTE_GRANTED},
        {"an epoch above the maximum", {"main", UINT64_MAX, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, false}, QUORUM_VOTE_BAD_REQUEST},
        {"no candidate", {"main", 6, NULL, "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_BAD_REQUEST},
        {"no primary", {"main", 6, "az-b", NULL, QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_BAD_REQUEST},
        {"no cluster", {NULL, 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                QUORUM_VOTE_BAD_REQUEST},
};

START_TEST(test_vote) {
        const struct vote_case *c = &vote_cases[_i];
        quorum_vote_verdict v = quorum_vote_decide(&c->req, &c->in);
        _cleanup_free_ char *text = NULL;
        json_object *j;

        ck_assert_msg(v == c->want, "%s: %s, want %s", c->what, quorum_vote_verdict_to_string(v),
                quorum_vote_verdict_to_string(c->want));
        ck_assert_int_eq(
                quorum_vote_is_granted(v), v == QUORUM_VOTE_GRANTED || v == QUORUM_VOTE_GRANTED_AGAIN);
        ck_assert_int_eq(quorum_vote_describe(&c->req, &c->in, v, &text), 0);
        ck_assert_ptr_null(strchr(text, '\n'));
        ck_assert_int_eq(quorum_vote_to_json(&c->req, &c->in, v, &j), 0);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "verdict")),
                quorum_vote_verdict_to_string(v));
        ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "text")), text);
        json_object_put(j);
}
END_TEST

START_TEST(test_vote_text_and_json) {
        quorum_vote_request req = {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER};
        quorum_vote_input in = {"main", 6, 6, "az-c", "db-a", true, false};
        _cleanup_free_ char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
        json_object *j;

        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t1), 0);
        ck_assert_str_eq(t1, "vote for az-b in epoch 6 denied: already voted for az-c in that epoch");
        req.epoch = 5;
        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t2), 0);
        ck_assert_str_eq(t2, "vote for az-b in epoch 5 denied: stale, our epoch is 6");
        req.epoch = 7;
        req.primary = "db-b";
        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t3), 0);
        ck_assert_str_eq(t3,
                "vote for az-b in epoch 7 denied: it says db-b failed, the primary of main here is db-a");
        req.primary = "db-a";
        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t4), 0);
        ck_assert_str_eq(t4, "vote for az-b in epoch 7 granted: db-a of main is ODOWN here too");
        ck_assert_int_eq(quorum_vote_to_json(&req, &in, QUORUM_VOTE_GRANTED, &j), 0);
        ck_assert_str_eq(plain(j),
                "{\"verdict\":\"GRANTED\",\"granted\":true,\"text\":\"vote for az-b in epoch 7 granted: "
                "db-a of "
                "main is ODOWN here "
                "too\",\"request\":{\"cluster\":\"main\",\"epoch\":7,\"candidate\":\"az-b\","
                "\"primary\":\"db-a\",\"kind\":\"failover\"},\"inputs\":{\"current_epoch\":6,\"last_vote_epoch\":6,"
                "\"last_vote_candidate\":\"az-c\",\"primary\":\"db-a\",\"odown\":true,\"busy\":false}}");
        json_object_put(j);

        ck_assert_int_eq(quorum_vote_decide(NULL, &in), QUORUM_VOTE_BAD_REQUEST);
        ck_assert_int_eq(quorum_vote_describe(&req, &in, _QUORUM_VOTE_MAX, &t1), -EINVAL);
        ck_assert_int_eq(quorum_vote_to_json(&req, NULL, QUORUM_VOTE_GRANTED, &j), -EINVAL);
}
END_TEST

/* Every rule but ODOWN holds for each kind; only FAILOVER asks for ODOWN. Each row: the request (its
 * kind set per column) and inputs, and the verdict for FAILOVER, SWITCHOVER and FORCED. */
static const struct vote_kind_case {
        const char *what;
        quorum_vote_request req;
        quorum_vote_input in;
        quorum_vote_verdict want[_QUORUM_VOTE_KIND_MAX];
} vote_kind_cases[] = {
        {"a new epoch, ODOWN here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                {QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED}},
        {"a new epoch, the primary healthy here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, false},
                {QUORUM_VOTE_NOT_ODOWN, QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED}},
        {"never voted, healthy", {"main", 1, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 0, 0, NULL, "db-a", false, false},
                {QUORUM_VOTE_NOT_ODOWN, QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED}},
        {"below the current epoch", {"main", 4, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                {QUORUM_VOTE_STALE, QUORUM_VOTE_STALE, QUORUM_VOTE_STALE}},
        {"already voted for another in that epoch", {"main", 5, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, false},
                {QUORUM_VOTE_ALREADY_VOTED, QUORUM_VOTE_ALREADY_VOTED, QUORUM_VOTE_ALREADY_VOTED}},
        {"the same candidate again", {"main", 5, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", false, false},
                {QUORUM_VOTE_GRANTED_AGAIN, QUORUM_VOTE_GRANTED_AGAIN, QUORUM_VOTE_GRANTED_AGAIN}},
        {"another primary than ours", {"main", 6, "az-b", "db-b", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", false, false},
                {QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH}},
        {"no primary known here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", NULL, false, false},
                {QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH}},
        {"another cluster", {"other", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                {QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH}},
        {"no candidate", {"main", 6, NULL, "db-a", QUORUM_VOTE_KIND_FAILOVER}, {"main", 5, 5, "az-c", "db-a", true, false},
                {QUORUM_VOTE_BAD_REQUEST, QUORUM_VOTE_BAD_REQUEST, QUORUM_VOTE_BAD_REQUEST}},
        {"another run may be going on, ODOWN here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, true},
                {QUORUM_VOTE_BUSY, QUORUM_VOTE_BUSY, QUORUM_VOTE_BUSY}},
        {"another run may be going on, healthy here", {"main", 6, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, true},
                {QUORUM_VOTE_BUSY, QUORUM_VOTE_BUSY, QUORUM_VOTE_BUSY}},
        {"busy, a new epoch asked by the candidate of our last vote", {"main", 6, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, true},
                {QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED}},
        {"busy, healthy, asked by the candidate of our last vote", {"main", 6, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, true},
                {QUORUM_VOTE_NOT_ODOWN, QUORUM_VOTE_GRANTED, QUORUM_VOTE_GRANTED}},
        {"busy, but the vote re-sent to whom it went", {"main", 5, "az-c", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, true},
                {QUORUM_VOTE_GRANTED_AGAIN, QUORUM_VOTE_GRANTED_AGAIN, QUORUM_VOTE_GRANTED_AGAIN}},
        {"busy and about another primary", {"main", 6, "az-b", "db-b", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", true, true},
                {QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH, QUORUM_VOTE_CONFIG_MISMATCH}},
        {"an epoch above the maximum", {"main", UINT64_MAX, "az-b", "db-a", QUORUM_VOTE_KIND_FAILOVER},
                {"main", 5, 5, "az-c", "db-a", false, false},
                {QUORUM_VOTE_BAD_REQUEST, QUORUM_VOTE_BAD_REQUEST, QUORUM_VOTE_BAD_REQUEST}},
};

START_TEST(test_vote_kinds) {
        const struct vote_kind_case *c = &vote_kind_cases[_i];

        for (int k = 0; k < _QUORUM_VOTE_KIND_MAX; k++) {
                quorum_vote_request req = c->req;
                _cleanup_free_ char *text = NULL;
                json_object *j, *v;

                req.kind = k;
                quorum_vote_verdict got = quorum_vote_decide(&req, &c->in);
                ck_assert_msg(got == c->want[k], "%s, %s: %s, want %s", c->what, quorum_vote_kind_to_string(k),
                        quorum_vote_verdict_to_string(got), quorum_vote_verdict_to_string(c->want[k]));
                ck_assert_int_eq(quorum_vote_describe(&req, &c->in, got, &text), 0);
                ck_assert_ptr_null(strchr(text, '\n'));
                ck_assert_int_eq(quorum_vote_to_json(&req, &c->in, got, &j), 0);
                ck_assert(json_object_object_get_ex(json_object_object_get(j, "request"), "kind", &v));
                ck_assert_str_eq(json_object_get_string(v), quorum_vote_kind_to_string(k));
                json_object_put(j);
        }
}
END_TEST

START_TEST(test_vote_kind_text) {
        quorum_vote_request req = {"main", 7, "az-b", "db-a", QUORUM_VOTE_KIND_SWITCHOVER};
        quorum_vote_input in = {"main", 6, 6, "az-c", "db-a", false, false};
        _cleanup_free_ char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *t5 = NULL;

        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t1), 0);
        ck_assert_str_eq(t1, "vote for az-b in epoch 7 granted: an operator's switchover of db-a of main (ODOWN not needed)");
        req.kind = QUORUM_VOTE_KIND_FORCED;
        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t2), 0);
        ck_assert_str_eq(t2,
                "vote for az-b in epoch 7 granted: an operator's forced failover of db-a of main (ODOWN not needed)");
        req.kind = QUORUM_VOTE_KIND_FAILOVER;
        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t3), 0);
        ck_assert_str_eq(t3, "vote for az-b in epoch 7 denied: db-a of main is not ODOWN here");
        in.busy = true;
        req.kind = QUORUM_VOTE_KIND_SWITCHOVER;
        ck_assert_int_eq(quorum_vote_describe(&req, &in, quorum_vote_decide(&req, &in), &t5), 0);
        ck_assert_str_eq(t5, "vote for az-b in epoch 7 denied: a switchover of db-a while another run "
                             "of main may be going on");
        in.busy = false;
        /* a kind that is none of them is a malformed request, whatever else holds */
        req.kind = _QUORUM_VOTE_KIND_MAX;
        ck_assert_int_eq(quorum_vote_decide(&req, &in), QUORUM_VOTE_BAD_REQUEST);
        ck_assert_int_eq(quorum_vote_describe(&req, &in, QUORUM_VOTE_BAD_REQUEST, &t4), 0);
        ck_assert_str_eq(t4, "vote request denied: malformed (unknown kind)");
        req.kind = _QUORUM_VOTE_KIND_INVALID;
        ck_assert_int_eq(quorum_vote_decide(&req, &in), QUORUM_VOTE_BAD_REQUEST);
}
END_TEST

/* The caller's side with the real persisted state: a vote is recorded and "saved" before the reply;
 * after a restart (the state read back from its bytes) the same epoch's vote goes to the same
 * candidate only. */
static quorum_vote_verdict ask_kind(
        state *s, uint64_t epoch, const char *candidate, bool odown, quorum_vote_kind kind) {
        quorum_vote_request req = {"main", epoch, candidate, "db-a", kind};
        quorum_vote_input in = {"main", state_get_epoch(s), 0, NULL, "db-a", odown, false};
        quorum_vote_verdict v;

        ck_assert_int_ge(state_last_vote(s, &in.last_vote_epoch, &in.last_vote_candidate), 0);
        v = quorum_vote_decide(&req, &in);
        if (v == QUORUM_VOTE_GRANTED)
                ck_assert_int_eq(state_record_vote(s, epoch, candidate), 1);
        else if (v == QUORUM_VOTE_GRANTED_AGAIN)
                ck_assert_int_eq(state_record_vote(s, epoch, candidate), 0);
        return v;
}

static quorum_vote_verdict ask(state *s, uint64_t epoch, const char *candidate, bool odown) {
        return ask_kind(s, epoch, candidate, odown, QUORUM_VOTE_KIND_FAILOVER);
}

static state *restart(state *s) {
        _cleanup_free_ char *data = NULL;
        state *t = NULL;
        size_t len;

        ck_assert_int_eq(state_format(s, &data, &len), 0);
        ck_assert_int_eq(state_parse(data, len, &t, NULL), 0);
        state_free(s);
        return t;
}

START_TEST(test_vote_persisted_across_restart) {
        state *s = NULL;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(ask(s, 1, "az-b", false), QUORUM_VOTE_NOT_ODOWN);
        ck_assert_uint_eq(state_get_epoch(s), 0);
        ck_assert_int_eq(ask(s, 1, "az-b", true), QUORUM_VOTE_GRANTED);
        ck_assert_uint_eq(state_get_epoch(s), 1);
        ck_assert_int_eq(ask(s, 1, "az-b", true), QUORUM_VOTE_GRANTED_AGAIN);
        ck_assert_int_eq(ask(s, 1, "az-c", true), QUORUM_VOTE_ALREADY_VOTED);
        s = restart(s);
        ck_assert_int_eq(ask(s, 1, "az-c", true), QUORUM_VOTE_ALREADY_VOTED);
        ck_assert_int_eq(ask(s, 1, "az-b", true), QUORUM_VOTE_GRANTED_AGAIN);
        ck_assert_int_eq(ask(s, 2, "az-c", true), QUORUM_VOTE_GRANTED);
        s = restart(s);
        ck_assert_int_eq(ask(s, 1, "az-b", true), QUORUM_VOTE_STALE);
        ck_assert_int_eq(ask(s, 2, "az-b", true), QUORUM_VOTE_ALREADY_VOTED);
        ck_assert_int_eq(ask(s, 2, "az-c", true), QUORUM_VOTE_GRANTED_AGAIN);
        /* a newer configuration raised the epoch without a vote: that epoch is still free */
        ck_assert_int_eq(state_set_epoch(s, 4), 1);
        ck_assert_int_eq(ask(s, 3, "az-b", true), QUORUM_VOTE_STALE);
        ck_assert_int_eq(ask(s, 4, "az-b", true), QUORUM_VOTE_GRANTED);
        state_free(s);
}
END_TEST

/* One vote per epoch whatever the kinds asked for: an operator's election and an automatic one never
 * both get a vote in one epoch, also across a restart. */
START_TEST(test_vote_kinds_share_the_epoch) {
        state *s = NULL;

        ck_assert_int_eq(state_new(&s), 0);
        ck_assert_int_eq(ask_kind(s, 1, "az-b", false, QUORUM_VOTE_KIND_SWITCHOVER), QUORUM_VOTE_GRANTED);
        ck_assert_int_eq(ask_kind(s, 1, "az-c", true, QUORUM_VOTE_KIND_FAILOVER), QUORUM_VOTE_ALREADY_VOTED);
        ck_assert_int_eq(ask_kind(s, 1, "az-c", false, QUORUM_VOTE_KIND_FORCED), QUORUM_VOTE_ALREADY_VOTED);
        s = restart(s);
        ck_assert_int_eq(ask_kind(s, 1, "az-c", false, QUORUM_VOTE_KIND_SWITCHOVER), QUORUM_VOTE_ALREADY_VOTED);
        ck_assert_int_eq(ask_kind(s, 1, "az-b", false, QUORUM_VOTE_KIND_SWITCHOVER), QUORUM_VOTE_GRANTED_AGAIN);
        ck_assert_int_eq(ask_kind(s, 2, "az-c", false, QUORUM_VOTE_KIND_FORCED), QUORUM_VOTE_GRANTED);
        ck_assert_int_eq(ask_kind(s, 1, "az-b", false, QUORUM_VOTE_KIND_FORCED), QUORUM_VOTE_STALE);
        ck_assert_int_eq(ask_kind(s, 3, "az-b", false, QUORUM_VOTE_KIND_FAILOVER), QUORUM_VOTE_NOT_ODOWN);
        ck_assert_uint_eq(state_get_epoch(s), 2);
        state_free(s);
}
END_TEST

/* ---- the tally ---- */

static const char *const one[] = {"az-a"};
static const char *const three[] = {"az-a", "az-b", "az-c"};
static const char *const four[] = {"az-a", "az-b", "az-c", "az-d"};
static const char *const five[] = {"az-a", "az-b", "az-c", "az-d", "az-e"};

#define G(v, e)                                                                                             \
        { (v), (e), true, "az-a" }
#define D(v, e)                                                                                             \
        { (v), (e), false, NULL }

static const struct tally_case {
        const char *what;
        const char *const *sentinels;
        size_t n;
        quorum_vote_reply replies[8];
        size_t n_replies;
        bool won;
        size_t count, needed, denied;
} tally_cases[] = {
        {"1 sentinel: its own vote", one, 1, {G("az-a", 7)}, 1, true, 1, 1, 0},
        {"1 sentinel: no vote", one, 1, {}, 0, false, 0, 1, 0},
        {"3: own vote only", three, 3, {G("az-a", 7)}, 1, false, 1, 2, 0},
        {"3: own and one more", three, 3, {G("az-a", 7), G("az-c", 7)}, 2, true, 2, 2, 0},
        {"3: own and one denial", three, 3, {G("az-a", 7), D("az-b", 7)}, 2, false, 1, 2, 1},
        {"3: a duplicated grant counts once", three, 3, {G("az-b", 7), G("az-b", 7), G("az-b", 7)}, 3, false,
                1, 2, 0},
        {"3: grants for another epoch do not count", three, 3, {G("az-a", 7), G("az-b", 6), G("az-c", 8)}, 3,
                false, 1, 2, 0},
        {"3: a grant for another candidate does not count", three, 3,
                {G("az-a", 7), {"az-b", 7, true, "az-c"}, {"az-c", 7, true, NULL}}, 3, false, 1, 2, 0},
        {"3: an unknown voter does not count", three, 3, {G("az-a", 7), G("az-x", 7), G(NULL, 7)}, 3, false,
                1, 2, 0},
        {"3: a grant outweighs a denial from the same voter", three, 3,
                {G("az-a", 7), D("az-b", 7), G("az-b", 7), D("az-b", 7)}, 4, true, 2, 2, 0},
        {"4: two of four is no majority", four, 4, {G("az-a", 7), G("az-b", 7), D("az-c", 7)}, 3, false, 2,
                3, 1},
        {"5: two of five", five, 5, {G("az-a", 7), G("az-e", 7), D("az-b", 7), D("az-c", 7)}, 4, false, 2, 3,
                2},
        {"5: three of five, even with two unreachable", five, 5, {G("az-a", 7), G("az-b", 7), G("az-d", 7)},
                3, true, 3, 3, 0},
        {"5: all five", five, 5, {G("az-e", 7), G("az-d", 7), G("az-c", 7), G("az-b", 7), G("az-a", 7)}, 5,
                true, 5, 3, 0},
};

START_TEST(test_tally) {
        const struct tally_case *c = &tally_cases[_i];
        quorum_tally_result t;

        ck_assert_int_eq(quorum_tally("az-a", 7, c->sentinels, c->n, c->replies, c->n_replies, &t), 0);
        ck_assert_msg(t.won == c->won, "%s: won %d", c->what, t.won);
        ck_assert_uint_eq(t.count, c->count);
        ck_assert_uint_eq(t.needed, c->needed);
        ck_assert_uint_eq(t.denied, c->denied);
}
END_TEST

START_TEST(test_tally_invalid) {
        static const char *const dup[] = {"az-a", "az-b", "az-a"};
        static const char *const with_null[] = {"az-a", NULL};
        quorum_vote_reply r = G("az-a", 1);
        quorum_tally_result t;

        ck_assert_int_eq(quorum_tally("az-z", 1, three, 3, &r, 1, &t), -EINVAL);
        ck_assert_int_eq(quorum_tally("az-a", 1, dup, 3, &r, 1, &t), -EINVAL);
        ck_assert_int_eq(quorum_tally("az-a", 1, with_null, 2, &r, 1, &t), -EINVAL);
        ck_assert_int_eq(quorum_tally("az-a", 1, three, 0, &r, 1, &t), -EINVAL);
        ck_assert_int_eq(quorum_tally(NULL, 1, three, 3, &r, 1, &t), -EINVAL);
        ck_assert_int_eq(quorum_tally("az-a", 1, three, 3, NULL, 1, &t), -EINVAL);
        ck_assert_int_eq(quorum_tally("az-a", 1, three, 3, NULL, 0, &t), 0);
        ck_assert_int_eq(quorum_tally("az-a", 1, three, 3, &r, 1, NULL), -EINVAL);
}
END_TEST

/* ---- retries ---- */

START_TEST(test_retry) {
        const uint64_t base = MS(100);
        uint64_t lo = UINT64_MAX, hi = 0, buckets[10] = {0};

        ck_assert_uint_eq(quorum_retry_delay_usec(base, 0, 0), base);
        ck_assert_uint_eq(quorum_retry_delay_usec(base, 0, UINT32_MAX), 2 * base - 1);
        ck_assert_uint_eq(quorum_retry_delay_usec(base, 0, UINT32_C(1) << 31), base + base / 2);
        ck_assert_uint_eq(quorum_retry_delay_usec(base, 1, 0), 2 * base);
        ck_assert_uint_eq(quorum_retry_delay_usec(base, QUORUM_RETRY_ATTEMPTS_CAP, 0),
                (1 + QUORUM_RETRY_ATTEMPTS_CAP) * base);
        /* capped */
        ck_assert_uint_eq(quorum_retry_delay_usec(base, QUORUM_RETRY_ATTEMPTS_CAP + 1, 7),
                quorum_retry_delay_usec(base, QUORUM_RETRY_ATTEMPTS_CAP, 7));
        ck_assert_uint_eq(quorum_retry_delay_usec(base, UINT32_MAX, 7),
                quorum_retry_delay_usec(base, QUORUM_RETRY_ATTEMPTS_CAP, 7));
        /* edges: no base, a huge base (no overflow in the jitter), saturation */
        ck_assert_uint_eq(quorum_retry_delay_usec(0, 3, UINT32_MAX), 0);
        ck_assert_uint_eq(quorum_retry_delay_usec(UINT64_C(1) << 40, 0, UINT32_C(1) << 31),
                (UINT64_C(1) << 40) + (UINT64_C(1) << 39));
        ck_assert_uint_eq(quorum_retry_delay_usec(UINT64_MAX / 2, 4, 0), UINT64_MAX);
        ck_assert_uint_eq(quorum_retry_delay_usec(UINT64_MAX, 0, UINT32_MAX), UINT64_MAX);

        /* spread: the jitter covers [0, base) evenly; two candidates with different draws differ */
        for (uint64_t i = 0; i < 10000; i++) {
                uint32_t r = (uint32_t) ((i * UINT64_C(0x100000000)) / 10000);
                uint64_t d = quorum_retry_delay_usec(base, 2, r) - 3 * base;

                ck_assert_uint_lt(d, base);
                lo = d < lo ? d : lo;
                hi = d > hi ? d : hi;
                buckets[d * 10 / base]++;
        }
        ck_assert_uint_eq(lo, 0);
        ck_assert_uint_ge(hi, base - base / 1000);
        for (size_t b = 0; b < 10; b++) /* 1000 each, give or take the rounding at the edges */
                ck_assert_uint_le(buckets[b] > 1000 ? buckets[b] - 1000 : 1000 - buckets[b], 1);
        ck_assert_uint_ne(
                quorum_retry_delay_usec(base, 0, 0x12345678), quorum_retry_delay_usec(base, 0, 0x87654321));
}
END_TEST

/* ---- configuration ---- */

static const struct config_case {
        uint64_t known_epoch;
        const char *known;
        uint64_t epoch;
        const char *primary;
        quorum_config_order want;
} config_cases[] = {
        {5, "db-a", 6, "db-b", QUORUM_CONFIG_NEWER},
        {5, "db-a", 6, "db-a", QUORUM_CONFIG_NEWER},
        {5, "db-a", 4, "db-b", QUORUM_CONFIG_OLDER},
        {5, "db-a", 0, "db-a", QUORUM_CONFIG_OLDER},
        {5, "db-a", 5, "db-a", QUORUM_CONFIG_SAME},
        {5, "db-a", 5, "db-b", QUORUM_CONFIG_CONFLICT},
        {0, NULL, 0, "db-a", QUORUM_CONFIG_NEWER},
        {9, NULL, 1, "db-a", QUORUM_CONFIG_NEWER},
        {5, "db-a", QUORUM_EPOCH_MAX, "db-b", QUORUM_CONFIG_NEWER},
        {5, "db-a", UINT64_MAX, "db-b", _QUORUM_CONFIG_INVALID},
        {UINT64_MAX, "db-a", 5, "db-b", _QUORUM_CONFIG_INVALID},
        {5, "db-a", 6, NULL, _QUORUM_CONFIG_INVALID},
};

START_TEST(test_config) {
        const struct config_case *c = &config_cases[_i];

        ck_assert_int_eq(quorum_config_newer(c->known_epoch, c->known, c->epoch, c->primary), c->want);
}
END_TEST

/* ---- self-fencing ---- */

START_TEST(test_majority_heard) {
        const uint64_t n = QUORUM_NEVER;
        uint64_t t = 0;

        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){NOW, MS(500), n}, 3, 2, &t), 1);
        ck_assert_uint_eq(t, MS(500));
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){MS(300), NOW, MS(700)}, 3, 2, &t), 1);
        ck_assert_uint_eq(t, MS(700));
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){NOW, n, n}, 3, 2, &t), 0);
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){n, n, n}, 3, 2, &t), 0);
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){NOW}, 1, 1, &t), 1);
        ck_assert_uint_eq(t, NOW);
        ck_assert_int_eq(
                quorum_majority_heard_usec((uint64_t[]){MS(1), MS(5), n, MS(3), MS(4)}, 5, 3, &t), 1);
        ck_assert_uint_eq(t, MS(3));
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){MS(1), n, n, MS(3), n}, 5, 3, &t), 0);
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){NOW, NOW}, 2, 0, &t), -EINVAL);
        ck_assert_int_eq(quorum_majority_heard_usec((uint64_t[]){NOW, NOW}, 2, 3, &t), -EINVAL);
        ck_assert_int_eq(quorum_majority_heard_usec(NULL, 2, 2, &t), -EINVAL);
}
END_TEST

#define SFA_MS   3000
#define HEARD_AT (NOW - MS(SFA_MS))

static const struct fence_case {
        const char *what;
        const char *zone, *primary_zone;
        bool heard;
        uint64_t heard_at, now;
        bool fenced, confirms;
        quorum_fence_action action;
        quorum_fence_reason reason;
        uint64_t deadline;
} fence_cases[] = {
        {"another zone never fences", "az-b", "az-a", false, 0, NOW, false, false, QUORUM_FENCE_KEEP,
                QUORUM_FENCE_NOT_PRIMARY_ZONE, UINT64_MAX},
        {"a primary without a zone", "az-a", NULL, false, 0, NOW, false, false, QUORUM_FENCE_KEEP,
                QUORUM_FENCE_NOT_PRIMARY_ZONE, UINT64_MAX},
        {"an empty zone is no zone", "", "", false, 0, NOW, false, false, QUORUM_FENCE_KEEP,
                QUORUM_FENCE_NOT_PRIMARY_ZONE, UINT64_MAX},
        {"heard just now", "az-a", "az-a", true, NOW, NOW, false, true, QUORUM_FENCE_KEEP,
                QUORUM_FENCE_MAJORITY_HEARD, NOW + MS(SFA_MS)},
        {"one usec before the boundary", "az-a", "az-a", true, HEARD_AT + 1, NOW, false, false,
                QUORUM_FENCE_KEEP, QUORUM_FENCE_MAJORITY_HEARD, NOW + 1},
        {"exactly at the boundary (inclusive)", "az-a", "az-a", true, HEARD_AT, NOW, false, false,
                QUORUM_FENCE_FENCE, QUORUM_FENCE_MAJORITY_SILENT, UINT64_MAX},
        {"long silent", "az-a", "az-a", true, 0, NOW, false, false, QUORUM_FENCE_FENCE,
                QUORUM_FENCE_MAJORITY_SILENT, UINT64_MAX},
        {"never heard since start", "az-a", "az-a", false, 0, NOW, false, false, QUORUM_FENCE_FENCE,
                QUORUM_FENCE_NEVER_HEARD, UINT64_MAX},
        {"heard in the future counts as now", "az-a", "az-a", true, NOW + MS(5), NOW, false, true,
                QUORUM_FENCE_KEEP, QUORUM_FENCE_MAJORITY_HEARD, NOW + MS(SFA_MS)},
        {"fenced, a majority confirms again: lift", "az-a", "az-a", true, NOW, NOW, true, true,
                QUORUM_FENCE_LIFT, QUORUM_FENCE_CONFIRMED, UINT64_MAX},
        {"fenced, a majority heard but not confirming (newer epoch)", "az-a", "az-a", true, NOW, NOW, true,
                false, QUORUM_FENCE_KEEP, QUORUM_FENCE_NOT_CONFIRMED, UINT64_MAX},
        {"fenced, confirming but not heard within the time", "az-a", "az-a", true, HEARD_AT, NOW, true, true,
                QUORUM_FENCE_KEEP, QUORUM_FENCE_NOT_CONFIRMED, UINT64_MAX},
        {"fenced, never heard", "az-a", "az-a", false, 0, NOW, true, true, QUORUM_FENCE_KEEP,
                QUORUM_FENCE_NOT_CONFIRMED, UINT64_MAX},
        {"fenced in another zone: kept", "az-b", "az-a", true, NOW, NOW, true, true, QUORUM_FENCE_KEEP,
                QUORUM_FENCE_NOT_PRIMARY_ZONE, UINT64_MAX},
};

static quorum_fence_input fence_input(const struct fence_case *c) {
        return (quorum_fence_input){
                .zone = c->zone,
                .primary_zone = c->primary_zone,
                .majority_heard = c->heard,
                .majority_heard_usec = c->heard_at,
                .now_usec = c->now,
                .self_fence_after_ms = SFA_MS,
                .fenced = c->fenced,
                .majority_confirms = c->confirms,
        };
}

START_TEST(test_fence) {
        const struct fence_case *c = &fence_cases[_i];
        quorum_fence_input in = fence_input(c);
        quorum_fence_decision d = quorum_self_fence(&in);
        _cleanup_free_ char *text = NULL;
        json_object *j;

        ck_assert_msg(d.action == c->action && d.reason == c->reason, "%s: %s %s, want %s %s", c->what,
                quorum_fence_action_to_string(d.action), quorum_fence_reason_to_string(d.reason),
                quorum_fence_action_to_string(c->action), quorum_fence_reason_to_string(c->reason));
        ck_assert_uint_eq(d.deadline_usec, c->deadline);
        ck_assert_int_eq(quorum_fence_describe(&in, &d, &text), 0);
        ck_assert_ptr_null(strchr(text, '\n'));
        ck_assert_int_eq(quorum_fence_to_json(&in, &d, &j), 0);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "reason")),
                quorum_fence_reason_to_string(c->reason));
        json_object_put(j);
}
END_TEST

/* A timeline on an injected clock: the zone-a sentinel fences exactly self_fence_after_ms after the
 * majority was last heard, keeps the fence while the majority, back, confirms a newer epoch's
 * primary, and lifts it only once a majority confirms this server again. */
START_TEST(test_fence_timeline) {
        quorum_fence_input in = {.zone = "az-a",
                .primary_zone = "az-a",
                .majority_heard = true,
                .majority_heard_usec = MS(10000),
                .self_fence_after_ms = SFA_MS};
        quorum_fence_decision d;
        _cleanup_free_ char *text = NULL;
        json_object *j;
        uint64_t t;

        for (t = MS(10000); t < MS(10000 + SFA_MS); t += MS(250)) {
                in.now_usec = t;
                d = quorum_self_fence(&in);
                ck_assert_int_eq(d.action, QUORUM_FENCE_KEEP);
                ck_assert_uint_eq(d.deadline_usec, MS(10000 + SFA_MS));
        }
        in.now_usec = MS(10000 + SFA_MS);
        d = quorum_self_fence(&in);
        ck_assert_int_eq(d.action, QUORUM_FENCE_FENCE);
        ck_assert_uint_eq(d.silent_usec, MS(SFA_MS));
        ck_assert_int_eq(quorum_fence_describe(&in, &d, &text), 0);
        ck_assert_str_eq(text, "fence: no majority of sentinels confirmed the primary for 3000 ms "
                               "(self_fence_after_ms 3000)");
        in.fenced = true;

        /* the partition heals: the majority is heard, but it promoted another server */
        in.now_usec = MS(20000);
        in.majority_heard_usec = MS(20000);
        d = quorum_self_fence(&in);
        ck_assert_int_eq(d.action, QUORUM_FENCE_KEEP);
        ck_assert_int_eq(d.reason, QUORUM_FENCE_NOT_CONFIRMED);

        /* (a failover that did not happen:) a majority confirms this server in the current epoch */
        in.majority_confirms = true;
        d = quorum_self_fence(&in);
        ck_assert_int_eq(d.action, QUORUM_FENCE_LIFT);
        ck_assert_int_eq(quorum_fence_to_json(&in, &d, &j), 0);
        ck_assert_str_eq(plain(j),
                "{\"action\":\"lift\",\"reason\":\"CONFIRMED\",\"text\":\"lift: a majority confirms the "
                "primary in "
                "the current epoch "
                "again\",\"silent_ms\":0,\"deadline_ms_left\":null,\"inputs\":{\"zone\":\"az-a\","
                "\"primary_zone\":\"az-a\",\"fenced\":true,\"majority_confirms\":true,\"self_fence_after_"
                "ms\":3000}}");
        json_object_put(j);
        in.fenced = false;
        in.majority_confirms = false;
        d = quorum_self_fence(&in);
        ck_assert_int_eq(quorum_fence_to_json(&in, &d, &j), 0);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(j, "deadline_ms_left")), SFA_MS);
        json_object_put(j);

        /* a restart forgets when the majority was heard: it fences until a majority confirms */
        in.majority_heard = false;
        d = quorum_self_fence(&in);
        ck_assert_int_eq(d.reason, QUORUM_FENCE_NEVER_HEARD);
        ck_assert_uint_eq(d.silent_usec, UINT64_MAX);
        ck_assert_int_eq(quorum_fence_to_json(&in, &d, &j), 0);
        ck_assert_ptr_null(json_object_object_get(j, "silent_ms"));
        json_object_put(j);

        d = quorum_self_fence(NULL);
        ck_assert_int_eq(d.action, QUORUM_FENCE_KEEP);
        ck_assert_int_eq(quorum_fence_describe(NULL, &d, &text), -EINVAL);
}
END_TEST

/* The reason for the rule self_fence_after_ms < down_after_ms, on one clock: a peer that stops reaching
 * the primary stops confirming it at its first failed probe, votes no earlier than down_after_ms
 * later, and by then the zone-a sentinel, no longer hearing a majority, has fenced. */
START_TEST(test_fence_before_promotion) {
        const uint64_t down_after = MS(5000), sfa_ms = 3000, t_fail = MS(50000);
        /* last confirmations: self (now), az-b and az-c until their probes failed at t_fail */
        uint64_t confirmed[3] = {0, t_fail, t_fail};
        quorum_fence_input in = {.zone = "az-a", .primary_zone = "az-a", .self_fence_after_ms = sfa_ms};
        uint64_t fenced_at = 0;

        for (uint64_t now = t_fail; now <= t_fail + down_after; now += MS(100)) {
                confirmed[0] = now;
                in.now_usec = now;
                ck_assert_int_eq(quorum_majority_heard_usec(confirmed, 3, 2, &in.majority_heard_usec), 1);
                in.majority_heard = true;
                if (quorum_self_fence(&in).action == QUORUM_FENCE_FENCE) {
                        fenced_at = now;
                        break;
                }
        }
        ck_assert_uint_eq(fenced_at, t_fail + MS(sfa_ms));
        ck_assert_uint_lt(fenced_at, t_fail + down_after);
}
END_TEST

static Suite *quorum_suite(void) {
        Suite *s = suite_create("quorum");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_strings);
        tcase_add_test(tc, test_majority);
        tcase_add_loop_test(tc, test_odown, 0, ELEMENTSOF(odown_cases));
        tcase_add_test(tc, test_odown_text_and_json);
        tcase_add_loop_test(tc, test_vote, 0, ELEMENTSOF(vote_cases));
        tcase_add_test(tc, test_vote_text_and_json);
        tcase_add_test(tc, test_vote_persisted_across_restart);
        tcase_add_loop_test(tc, test_vote_kinds, 0, ELEMENTSOF(vote_kind_cases));
        tcase_add_test(tc, test_vote_kind_text);
        tcase_add_test(tc, test_vote_kinds_share_the_epoch);
        tcase_add_loop_test(tc, test_tally, 0, ELEMENTSOF(tally_cases));
        tcase_add_test(tc, test_tally_invalid);
        tcase_add_test(tc, test_retry);
        tcase_add_loop_test(tc, test_config, 0, ELEMENTSOF(config_cases));
        tcase_add_test(tc, test_majority_heard);
        tcase_add_loop_test(tc, test_fence, 0, ELEMENTSOF(fence_cases));
        tcase_add_test(tc, test_fence_timeline);
        tcase_add_test(tc, test_fence_before_promotion);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(quorum_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
