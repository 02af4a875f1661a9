/* Unit tests for lib/core/sdown.c: each table row is a sequence of (time, alive/failed/tick) steps with
 * the transition expected at every step, against an injected clock. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "macro.h"
#include "sdown.h"

#define MS(x) ((uint64_t) (x) *USEC_PER_MSEC)

typedef struct step {
        char op;     /* 'A' alive result, 'F' failed result, 'T' tick; 0 ends */
        uint64_t at; /* usec after the case's base */
        sdown_transition want;
} step;

#define A(t)                                                                                                \
        { 'A', (t), SDOWN_TRANSITION_NONE }
#define F(t)                                                                                                \
        { 'F', (t), SDOWN_TRANSITION_NONE }
#define T(t)                                                                                                \
        { 'T', (t), SDOWN_TRANSITION_NONE }
#define F_DOWN(t)                                                                                           \
        { 'F', (t), SDOWN_TRANSITION_DOWN }
#define T_DOWN(t)                                                                                           \
        { 'T', (t), SDOWN_TRANSITION_DOWN }
#define A_CLEAR(t)                                                                                          \
        { 'A', (t), SDOWN_TRANSITION_CLEARED }

static const struct sdown_case {
        const char *what;
        uint64_t base;       /* the clock at sdown_init() */
        uint64_t down_after; /* usec */
        uint64_t timeout;    /* usec; 0: no missing results */
        step steps[32];
        bool down;         /* at the end */
        uint64_t failures; /* consecutive, at the end */
        uint64_t missing;  /* missing results counted, at the end */
} cases[] = {
        {"always alive", MS(1000), MS(5000), MS(2000),
                {A(0), A(MS(1000)), A(MS(2000)), A(MS(3000)), A(MS(4000)), A(MS(5000)), A(MS(6000)),
                        A(MS(7000))},
                false, 0, 0},
        {"stops answering: SDOWN down_after after the first failure", MS(1000), MS(5000), MS(2000),
                {A(0), F(MS(1000)), F(MS(2000)), F(MS(3000)), F(MS(4000)), F(MS(5000)), F_DOWN(MS(6000)),
                        F(MS(7000))},
                true, 7, 0},
        {"one microsecond short of the boundary", MS(1000), MS(5000), MS(2000),
                {A(0), F(MS(1000)), F(MS(6000) - 1), F_DOWN(MS(6000))}, true, 3, 0},
        {"exactly at the boundary (inclusive)", MS(1000), MS(5000), 0, {F(MS(1)), F_DOWN(MS(5001))}, true, 2,
                0},
        {"never seen alive: the clock starts at the first failure, not at start", MS(1000), MS(5000),
                MS(2000),
                {F(MS(1000)), F(MS(2000)), F(MS(3000)), F(MS(4000)), F(MS(5000)), F_DOWN(MS(6000))}, true, 6,
                0},
        {"clock at 0: a failure at 0 starts the down clock", 0, MS(5000), MS(2000),
                {F(0), F(MS(1000)), F(MS(2000)), F(MS(3000)), F(MS(4000)), F_DOWN(MS(5000))}, true, 6, 0},
        {"clock at 0: alive at 0, then failures", 0, MS(5000), MS(2000),
                {A(0), F(1), F(MS(5000)), F_DOWN(MS(5000) + 1)}, true, 3, 0},
        {"jitter: 4999 ms of failures is not enough", MS(1000), MS(5000), MS(2000),
                {A(0), F(MS(1013)), F(MS(1998)), F(MS(3020)), F(MS(3990)), F(MS(5007)), F(MS(6012)),
                        F_DOWN(MS(7001))},
                true, 7, 0},
        {"flapping: one success restarts the down clock", MS(1000), MS(5000), MS(2000),
                {A(0), F(MS(1000)), F(MS(2000)), F(MS(3000)), F(MS(4000)), A(MS(5000)), F(MS(6000)),
                        F(MS(7000)), F(MS(8000)), F(MS(9000)), F(MS(10000)), F_DOWN(MS(11000))},
                true, 6, 0},
        {"flapping every other probe is never SDOWN", MS(1000), MS(2000), MS(2000),
                {F(0), A(MS(1000)), F(MS(2000)), A(MS(3000)), F(MS(4000)), A(MS(5000)), F(MS(6000)),
                        A(MS(7000)), F(MS(8000)), A(MS(9000)), F(MS(10000)), T(MS(11000)), A(MS(11500))},
                false, 0, 0},
        {"cleared at the first answer, and SDOWN again only after a full down_after", MS(1000), MS(5000),
                MS(2000),
                {A(0), F(MS(1000)), F_DOWN(MS(6000)), F(MS(7000)), A_CLEAR(MS(8000)), A(MS(9000)),
                        F(MS(10000)), F(MS(14000) + 999), F_DOWN(MS(15000))},
                true, 3, 0},
        {"missing results: a tick counts one per timeout", MS(1000), MS(5000), MS(2000),
                {A(0), T(MS(1000)), T(MS(2000) - 1), T(MS(2000)), T(MS(3000)), T(MS(4000)), T(MS(5000)),
                        T(MS(6000)), T(MS(7000)), T(MS(8000) - 1), T_DOWN(MS(8000)), T(MS(9000))},
                true, 4, 4},
        {"a tick before the deadline never makes SDOWN: the probe is in flight", MS(1000), MS(5000),
                MS(2000),
                {A(0), F(MS(1000)), F(MS(2000)), F(MS(3000)), F(MS(4000)), F(MS(5000)), T(MS(6000)),
                        T(MS(6500)), F_DOWN(MS(6600))},
                true, 6, 0},
        {"a late result: the tick counted it missing, then it arrives failed", MS(1000), MS(5000), MS(2000),
                {A(0), F(MS(1000)), T(MS(3000)), F(MS(3100)), T(MS(5100)), F_DOWN(MS(6000))}, true, 5, 2},
        {"every result pushes the deadline back", MS(1000), MS(5000), MS(2000),
                {A(0), T(MS(1500)), A(MS(1900)), T(MS(3899)), F(MS(3899)), T(MS(5898)), T(MS(5899))}, false,
                2, 1},
        {"an SDOWN made by ticks clears at the first answer", MS(1000), MS(2000), MS(1000),
                {A(0), T(MS(1000)), T(MS(2000)), T_DOWN(MS(3000)), T(MS(3500)), T(MS(4000)),
                        A_CLEAR(MS(4200)), T(MS(5199)), T(MS(5200))},
                false, 1, 1},
        {"late ticks count one miss each, not one per elapsed timeout", MS(1000), MS(5000), MS(1000),
                {A(0), T(MS(60000)), T(MS(60001)), T(MS(61000)), T(MS(62000)), T(MS(63000)), T(MS(64000)),
                        T_DOWN(MS(65000))},
                true, 6, 6},
        {"timeout 0: ticks never count", MS(1000), MS(5000), 0,
                {F(MS(1000)), T(MS(10000)), T(MS(100000)), T(UINT64_MAX / 2)}, false, 1, 0},
        {"down_after 0: the first failure is SDOWN", MS(1000), 0, MS(2000),
                {A(0), F_DOWN(MS(1000)), F(MS(1000)), A_CLEAR(MS(1000)), T(MS(2999)), T_DOWN(MS(3000))},
                true, 1, 1},
        {"time going back counts as the latest time seen", MS(1000), MS(5000), MS(2000),
                {A(MS(2000)), F(MS(3000)), F(MS(1000)), F(0), F(MS(7999)), F_DOWN(MS(8000))}, true, 5, 0},
        {"an alive result from the past still clears", MS(1000), MS(1000), 0,
                {F(MS(1000)), F_DOWN(MS(2000)), A_CLEAR(MS(500))}, false, 0, 0},
        {"never alive, SDOWN, then answers", MS(1000), MS(3000), MS(1500),
                {T(MS(1500)), T(MS(3000)), T_DOWN(MS(4500)), F(MS(5000)), A_CLEAR(MS(5500))}, false, 0, 0},
        {"near the end of the clock", UINT64_MAX - MS(10000), MS(5000), MS(2000),
                {A(0), F(MS(1000)), F(MS(5999)), F_DOWN(MS(6000)), A_CLEAR(MS(9000)), F(MS(10000))}, false,
                1, 0},
        {"ticks near the end of the clock saturate", UINT64_MAX - MS(3000), MS(1000), MS(2000),
                {A(0), T(MS(1999)), T(MS(2000)), T(MS(3000))}, false, 1, 1},
};

START_TEST(test_sequences) {
        const struct sdown_case *c = &cases[_i];
        sdown_tracker t;
        uint64_t v, last_alive = 0, down_since = 0;
        bool seen_alive = false;

        sdown_init(&t, c->down_after, c->timeout, c->base);
        ck_assert(!sdown_is_down(&t));
        ck_assert_int_eq(sdown_last_alive(&t, &v), -ENODATA);
        ck_assert_int_eq(sdown_failing_since(&t, &v), -ENODATA);

        for (size_t k = 0; k < ELEMENTSOF(c->steps) && c->steps[k].op; k++) {
                const step *s = &c->steps[k];
                uint64_t now = c->base + s->at;
                sdown_transition got;

                if (s->op == 'T')
                        got = sdown_tick(&t, now);
                else
                        got = sdown_observe(&t, now, s->op == 'A');
                ck_assert_msg(got == s->want, "%s: step %zu (%c at +%llu us): %s, expected %s", c->what, k,
                        s->op, (unsigned long long) s->at, sdown_transition_to_string(got),
                        sdown_transition_to_string(s->want));
                if (got == SDOWN_TRANSITION_DOWN)
                        down_since = t.now_usec;
                if (s->op == 'A') {
                        seen_alive = true;
                        last_alive = t.now_usec;
                }
                /* Invariants after every step. */
                ck_assert(sdown_is_down(&t) == (sdown_down_since(&t, &v) == 0));
                if (sdown_is_down(&t)) {
                        ck_assert_uint_eq(v, down_since);
                        ck_assert_int_eq(sdown_failing_since(&t, &v), 0);
                        ck_assert_uint_le(v, down_since);
                        ck_assert_uint_ge(down_since - v, c->down_after);
                }
                ck_assert((sdown_failing_since(&t, &v) == 0) == (sdown_consecutive_failures(&t) > 0));
                ck_assert_int_eq(sdown_last_alive(&t, &v), seen_alive ? 0 : -ENODATA);
                if (seen_alive)
                        ck_assert_uint_eq(v, last_alive);
                ck_assert_uint_le(t.missing_results, t.consecutive_failures);
        }
        ck_assert_msg(sdown_is_down(&t) == c->down, "%s: down at the end", c->what);
        ck_assert_msg(sdown_consecutive_failures(&t) == c->failures, "%s: %llu failures", c->what,
                (unsigned long long) sdown_consecutive_failures(&t));
        ck_assert_msg(t.missing_results == c->missing, "%s: %llu missing", c->what,
                (unsigned long long) t.missing_results);
}
END_TEST

START_TEST(test_deadline) {
        sdown_tracker t;

        sdown_init(&t, MS(5000), MS(2000), MS(100));
        ck_assert_uint_eq(sdown_next_deadline(&t), MS(2100));
        ck_assert_int_eq(sdown_observe(&t, MS(1000), true), SDOWN_TRANSITION_NONE);
        ck_assert_uint_eq(sdown_next_deadline(&t), MS(3000));
        ck_assert_int_eq(sdown_tick(&t, MS(3000)), SDOWN_TRANSITION_NONE);
        ck_assert_uint_eq(sdown_next_deadline(&t), MS(5000));
        sdown_reconfigure(&t, MS(5000), 0);
        ck_assert_uint_eq(sdown_next_deadline(&t), UINT64_MAX);
        sdown_init(&t, MS(5000), MS(2000), UINT64_MAX - 5);
        ck_assert_uint_eq(sdown_next_deadline(&t), UINT64_MAX);
}
END_TEST

START_TEST(test_reconfigure) {
        sdown_tracker t;
        uint64_t v;

        sdown_init(&t, MS(5000), MS(2000), 0);
        ck_assert_int_eq(sdown_observe(&t, MS(1000), true), SDOWN_TRANSITION_NONE);
        ck_assert_int_eq(sdown_observe(&t, MS(2000), false), SDOWN_TRANSITION_NONE);
        ck_assert_int_eq(sdown_observe(&t, MS(4000), false), SDOWN_TRANSITION_NONE);

        /* A shorter down_after applies at the next result, keeping the failures seen so far. */
        sdown_reconfigure(&t, MS(2000), MS(2000));
        ck_assert(!sdown_is_down(&t));
        ck_assert_int_eq(sdown_observe(&t, MS(4001), false), SDOWN_TRANSITION_DOWN);
        ck_assert_int_eq(sdown_down_since(&t, &v), 0);
        ck_assert_uint_eq(v, MS(4001));
        ck_assert_int_eq(sdown_failing_since(&t, &v), 0);
        ck_assert_uint_eq(v, MS(2000));
        ck_assert_int_eq(sdown_last_alive(&t, &v), 0);
        ck_assert_uint_eq(v, MS(1000));
        ck_assert_uint_eq(sdown_consecutive_failures(&t), 3);

        /* A longer one does not clear an SDOWN: only an answer does. */
        sdown_reconfigure(&t, MS(60000), MS(2000));
        ck_assert_int_eq(sdown_observe(&t, MS(5000), false), SDOWN_TRANSITION_NONE);
        ck_assert(sdown_is_down(&t));
        ck_assert_int_eq(sdown_observe(&t, MS(6000), true), SDOWN_TRANSITION_CLEARED);
        ck_assert_int_eq(sdown_down_since(&t, &v), -ENODATA);
        ck_assert_int_eq(sdown_failing_since(&t, &v), -ENODATA);
        ck_assert_uint_eq(sdown_consecutive_failures(&t), 0);
}
END_TEST

START_TEST(test_getters_leave_ret_alone) {
        sdown_tracker t;
        uint64_t v = 42;

        sdown_init(&t, MS(5000), MS(2000), 0);
        ck_assert_int_eq(sdown_down_since(&t, &v), -ENODATA);
        ck_assert_int_eq(sdown_failing_since(&t, &v), -ENODATA);
        ck_assert_int_eq(sdown_last_alive(&t, &v), -ENODATA);
        ck_assert_uint_eq(v, 42);
}
END_TEST

START_TEST(test_strings) {
        for (int k = 0; k < _SDOWN_TRANSITION_MAX; k++)
                ck_assert_int_eq(sdown_transition_from_string(sdown_transition_to_string(k)), k);
        ck_assert_str_eq(sdown_transition_to_string(SDOWN_TRANSITION_DOWN), "sdown");
        ck_assert_str_eq(sdown_transition_to_string(SDOWN_TRANSITION_CLEARED), "sdown-cleared");
        ck_assert_ptr_null(sdown_transition_to_string(_SDOWN_TRANSITION_MAX));
        ck_assert_ptr_null(sdown_transition_to_string(_SDOWN_TRANSITION_INVALID));
        ck_assert_int_eq(sdown_transition_from_string(NULL), _SDOWN_TRANSITION_INVALID);
        ck_assert_int_eq(sdown_transition_from_string("SDOWN"), _SDOWN_TRANSITION_INVALID);
}
END_TEST

static Suite *sdown_suite(void) {
        Suite *s = suite_create("sdown");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_sequences, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_deadline);
        tcase_add_test(tc, test_reconfigure);
        tcase_add_test(tc, test_getters_leave_ret_alone);
        tcase_add_test(tc, test_strings);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(sdown_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
