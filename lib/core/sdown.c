#include <errno.h>
#include <string.h>

#include "macro.h"
#include "sdown.h"

static const char *const sdown_transition_table[_SDOWN_TRANSITION_MAX] = {
        [SDOWN_TRANSITION_NONE] = "none",
        [SDOWN_TRANSITION_DOWN] = "sdown",
        [SDOWN_TRANSITION_CLEARED] = "sdown-cleared",
};

const char *sdown_transition_to_string(sdown_transition t) {
        if ((int) t < 0 || t >= _SDOWN_TRANSITION_MAX)
                return NULL;
        return sdown_transition_table[t];
}

sdown_transition sdown_transition_from_string(const char *s) {
        if (!s)
                return _SDOWN_TRANSITION_INVALID;
        for (int i = 0; i < _SDOWN_TRANSITION_MAX; i++)
                if (streq(sdown_transition_table[i], s))
                        return (sdown_transition) i;
        return _SDOWN_TRANSITION_INVALID;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void sdown_init(
        sdown_tracker *t, uint64_t down_after_usec, uint64_t result_timeout_usec, uint64_t now_usec) {
        *t = (sdown_tracker){
                .down_after_usec = down_after_usec,
                .result_timeout_usec = result_timeout_usec,
                .start_usec = now_usec,
                .now_usec = now_usec,
                .last_result_usec = now_usec,
        };
}

void sdown_reconfigure(sdown_tracker *t, uint64_t down_after_usec, uint64_t result_timeout_usec) {
        t->down_after_usec = down_after_usec;
        t->result_timeout_usec = result_timeout_usec;
}

/* Times never go back. */
static uint64_t advance(sdown_tracker *t, uint64_t now_usec) {
        if (now_usec > t->now_usec)
                t->now_usec = now_usec;
        return t->now_usec;
}

static sdown_transition fail(sdown_tracker *t, uint64_t now) {
        t->last_result_usec = now;
        t->consecutive_failures = add_sat(t->consecutive_failures, 1);
        if (!t->failing) {
                t->failing = true;
                t->failing_since_usec = now;
        }
        if (t->down || now - t->failing_since_usec < t->down_after_usec)
                return SDOWN_TRANSITION_NONE;
        t->down = true;
        t->down_since_usec = now;
        return SDOWN_TRANSITION_DOWN;
}

sdown_transition sdown_observe(sdown_tracker *t, uint64_t now_usec, bool alive) {
        uint64_t now = advance(t, now_usec);
        bool was_down = t->down;

        if (!alive)
                return fail(t, now);

        t->last_result_usec = now;
        t->seen_alive = true;
        t->last_alive_usec = now;
        t->failing = false;
        t->failing_since_usec = 0;
        t->consecutive_failures = 0;
        t->missing_results = 0;
        t->down = false;
        t->down_since_usec = 0;
        return was_down ? SDOWN_TRANSITION_CLEARED : SDOWN_TRANSITION_NONE;
}

uint64_t sdown_next_deadline(const sdown_tracker *t) {
        if (t->result_timeout_usec == 0)
                return UINT64_MAX;
        return add_sat(t->last_result_usec, t->result_timeout_usec);
}

sdown_transition sdown_tick(sdown_tracker *t, uint64_t now_usec) {
        uint64_t now = advance(t, now_usec);

        if (now < sdown_next_deadline(t) || sdown_next_deadline(t) == UINT64_MAX)
                return SDOWN_TRANSITION_NONE;
        t->missing_results = add_sat(t->missing_results, 1);
        return fail(t, now);
}

bool sdown_is_down(const sdown_tracker *t) {
        return t->down;
}

int sdown_down_since(const sdown_tracker *t, uint64_t *ret_usec) {
        if (!t->down)
                return -ENODATA;
        *ret_usec = t->down_since_usec;
        return 0;
}

int sdown_failing_since(const sdown_tracker *t, uint64_t *ret_usec) {
        if (!t->failing)
                return -ENODATA;
        *ret_usec = t->failing_since_usec;
        return 0;
}

int sdown_last_alive(const sdown_tracker *t, uint64_t *ret_usec) {
        if (!t->seen_alive)
                return -ENODATA;
        *ret_usec = t->last_alive_usec;
        return 0;
}

uint64_t sdown_consecutive_failures(const sdown_tracker *t) {
        return t->consecutive_failures;
}
