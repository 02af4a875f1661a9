/* Subjective down (SPEC 5.1): one tracker per server, fed with probe results and ticks, says when the
 * server has failed every probe for down_after and when it answers again. Pure: the caller passes
 * CLOCK_MONOTONIC microseconds; nothing here reads a clock, allocates or logs.
 *
 * Timing rules:
 *   - A failure is a probe result that does not prove the server alive (the caller passes
 *     probe_error_class_is_alive(status->error_class)), or a result that did not arrive: sdown_tick()
 *     counts one missing result each time result_timeout passes (at or after last result +
 *     result_timeout) without any result. The daemon passes interval + timeout (plus slack).
 *   - The down clock starts at the first failure after the last success, or after init when the server
 *     was never seen alive: the time the sentinel started says nothing about the server, so a server
 *     that never answers is treated like one that stopped answering at its first failed probe.
 *   - SDOWN at the first failure at or after failing_since + down_after (inclusive), i.e. every probe
 *     for down_after failed. A tick without a new (or missing) result never makes SDOWN: an in-flight
 *     probe might still succeed. down_after 0 makes the first failure SDOWN.
 *   - Cleared at the first result that proves it alive; one success also restarts the down clock, so
 *     a server answering at least once per down_after never becomes SDOWN (flapping is not down).
 *   - Time never goes back: a time earlier than one already seen counts as that one. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum sdown_transition {
        SDOWN_TRANSITION_NONE,
        SDOWN_TRANSITION_DOWN,    /* became SDOWN: raise "sdown" */
        SDOWN_TRANSITION_CLEARED, /* was SDOWN, answered: raise "sdown-cleared" */
        _SDOWN_TRANSITION_MAX,
        _SDOWN_TRANSITION_INVALID = -EINVAL,
} sdown_transition;

/* "none", "sdown", "sdown-cleared" (the events they raise); NULL when out of range. */
const char *sdown_transition_to_string(sdown_transition t);

/* Parses the names above; _SDOWN_TRANSITION_INVALID when unknown or NULL. */
sdown_transition sdown_transition_from_string(const char *s);

/* Plain data, so it can be embedded; read it through the functions below, change it only through them. */
typedef struct sdown_tracker {
        uint64_t down_after_usec;
        uint64_t result_timeout_usec; /* 0: a missing result is never counted */
        uint64_t start_usec;
        uint64_t now_usec;         /* the latest time seen */
        uint64_t last_result_usec; /* the latest result, real or counted missing; start_usec before any */
        bool seen_alive;
        uint64_t last_alive_usec;
        bool failing;
        uint64_t failing_since_usec;
        uint64_t consecutive_failures; /* failed and missing results since the last success */
        uint64_t missing_results;      /* of which missing (counted by sdown_tick()) */
        bool down;
        uint64_t down_since_usec;
} sdown_tracker;

/* Sets t up at now_usec: not down, never seen alive, no failure yet. Never fails. */
void sdown_init(sdown_tracker *t, uint64_t down_after_usec, uint64_t result_timeout_usec, uint64_t now_usec);

/* Changes the timings (after a reload) and keeps what was observed; the next result or tick applies
 * them, so this never transitions by itself. */
void sdown_reconfigure(sdown_tracker *t, uint64_t down_after_usec, uint64_t result_timeout_usec);

/* Records a probe result at now_usec (alive: it proved the server alive); returns the transition. */
sdown_transition sdown_observe(sdown_tracker *t, uint64_t now_usec, bool alive);

/* Counts one missing result when result_timeout passed without any; returns the transition. */
sdown_transition sdown_tick(sdown_tracker *t, uint64_t now_usec);

/* When sdown_tick() would next count a missing result (for the caller's timer); UINT64_MAX never. */
uint64_t sdown_next_deadline(const sdown_tracker *t);

/* Whether the server is SDOWN. */
bool sdown_is_down(const sdown_tracker *t);

/* 0 and when it became SDOWN, or -ENODATA when it is not SDOWN. */
int sdown_down_since(const sdown_tracker *t, uint64_t *ret_usec);

/* 0 and the first failure of the current run of failures, or -ENODATA when the last result succeeded
 * (or there was none). */
int sdown_failing_since(const sdown_tracker *t, uint64_t *ret_usec);

/* 0 and the time of the last result that proved it alive, or -ENODATA when it never answered. */
int sdown_last_alive(const sdown_tracker *t, uint64_t *ret_usec);

/* Failed and missing results since the last success. */
uint64_t sdown_consecutive_failures(const sdown_tracker *t);
