/* Internal to state.c and state-json.c: the definition of struct state and the helpers both use.
 * Not for other modules: they go through state.h. */
#pragma once

#include "macro.h"
#include "state.h"

typedef struct state_vote {
        uint64_t epoch;
        char *candidate;
} state_vote;

/* An entry lives while it holds something: a primary, a maintenance (or the time of its last change) or
 * a last failover. */
typedef struct state_cluster {
        char *name;
        char *primary; /* NULL when unknown, with config_epoch 0 */
        uint64_t config_epoch;
        bool pending; /* primary is written ahead of its promotion, not committed yet; only with primary */
        uint64_t maintenance_until; /* STATE_MAINTENANCE_OFF, STATE_MAINTENANCE_FOREVER or realtime usec */
        uint64_t maintenance_set;   /* realtime usec of the last change of maintenance_until; 0: unknown */
        bool has_failover;
        uint64_t failover_usec, failover_epoch; /* 0 without has_failover */
} state_cluster;

struct state {
        uint64_t epoch;
        state_vote votes[STATE_VOTES_MAX]; /* oldest first, epochs strictly increasing */
        size_t n_votes;
        state_cluster *clusters; /* sorted by name */
        size_t n_clusters;
};

/* Sets *reterr_detail (when not NULL) to the malloc'd formatted detail, or NULL out of memory; returns r. */
_printf_(3, 4) int state_fail(char **reterr_detail, int r, const char *fmt, ...);

/* Whether s, of len bytes, is a valid name: 1 to STATE_NAME_MAX bytes, no NUL or control character. */
bool state_name_is_valid(const char *s, size_t len);

/* cluster's entry and its index, or NULL and where it would be inserted (ret_i may be NULL). */
state_cluster *state_cluster_find(const state *s, const char *cluster, size_t *ret_i);

/* Inserts an empty entry for cluster at i, where state_cluster_find() did not find it; NULL (and no
 * change) when out of memory. The caller fills it in before returning. */
state_cluster *state_cluster_insert(state *s, size_t i, const char *cluster);
