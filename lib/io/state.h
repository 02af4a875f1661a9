/* The sentinel's persistent state in state_dir/state.json: its current epoch, the votes it granted
 * (one per epoch, epochs only forward), and per cluster the known primary and its config epoch, its
 * maintenance mode and its last failover: a restart must neither end a maintenance nor reset a cooldown.
 *
 * The file is pretty JSON ({"version": 1, "current_epoch", "votes", "clusters"}) followed by a line
 * "sha256:HEX" over every byte before it. A cluster object has "name" and, each only when set,
 * "primary" with "config_epoch" (and "pending": true while that primary is written ahead of its
 * promotion), "maintenance_until_usec" (realtime microseconds from 1 to UINT64_MAX - 1, or the string
 * "forever"), "maintenance_set_usec" (realtime microseconds of the operator's last change of it, which
 * peers compare: the latest wins; kept also once maintenance is off), and "last_failover_usec" with
 * "last_failover_epoch"; files written before "pending", the maintenance and the failover keys existed
 * still load (without them: not pending, set at 0). Only a missing file starts fresh (a missing
 * state_dir is -ENOENT): anything else wrong with it is an error, because a reset epoch could grant a
 * second vote; reterr_detail, when asked for, then gets a malloc'd one-line explanation naming the file.
 * Setters change nothing when they fail. A vote may be sent only once state_save() has returned 0. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsutil.h"

#define STATE_FILE_NAME     "state.json"
#define STATE_FILE_VERSION  1
#define STATE_FILE_MODE     0600
#define STATE_FILE_SIZE_MAX (1024 * 1024)
/* Votes older than the newest STATE_VOTES_MAX are forgotten (and still refused). */
#define STATE_VOTES_MAX 16
/* Epochs run from 0 to STATE_EPOCH_MAX; UINT64_MAX is never valid. */
#define STATE_EPOCH_MAX (UINT64_MAX - 1)
/* Sentinel, cluster and server names: 1..STATE_NAME_MAX bytes, no control characters. */
#define STATE_NAME_MAX 255
/* Maintenance "until" values: off, and on until turned off (anything else is CLOCK_REALTIME usec). */
#define STATE_MAINTENANCE_OFF     UINT64_C(0)
#define STATE_MAINTENANCE_FOREVER UINT64_MAX

/* Named errors, returned negated (-STATE_ERROR_CHECKSUM), above the errno range. */
typedef enum state_error {
        STATE_ERROR_TRUNCATED = 10000,  /* the file ends before its checksum line does */
        STATE_ERROR_CHECKSUM,           /* the checksum does not match, or is malformed */
        STATE_ERROR_SYNTAX,             /* the body is not one JSON object */
        STATE_ERROR_VERSION,            /* missing or unknown "version" */
        STATE_ERROR_INVALID,            /* well-formed, but a key or a value is not allowed */
        STATE_ERROR_EPOCH_BACKWARDS,    /* an epoch may only increase */
        STATE_ERROR_ALREADY_VOTED,      /* this epoch's vote went to another candidate */
        STATE_ERROR_VOTE_STALE,         /* the epoch is below the current epoch or the last vote */
        STATE_ERROR_CONFIG_EPOCH_STALE, /* below the config epoch already known */
        STATE_ERROR_CONFIG_CONFLICT,    /* another primary is already known at this config epoch */
        _STATE_ERROR_MAX,
        _STATE_ERROR_INVALID = -22,
} state_error;

typedef struct state state;

/* A message for r, a named state error or an errno alike; never NULL. */
const char *state_strerror(int r);

/* Whether r is a load error meaning "the file exists but is damaged" (TRUNCATED..INVALID). */
bool state_error_is_corruption(int r);

/* A fresh state: epoch 0, no votes, no clusters. */
int state_new(state **ret);

/* Frees s; accepts NULL; returns NULL. */
state *state_free(state *s);

static inline void state_freep(state **s) {
        state_free(*s);
}

/* Loads state.json: 1 loaded, 0 missing (fresh); any other problem errs, never fresh (detail: malloc'd). */
int state_load(const char *state_dir, state **ret, char **reterr_detail);

/* Writes s to state_dir/state.json atomically and durably, first removing leftover temp files. */
int state_save(const char *state_dir, const state *s);

/* state_save() with write options: the fault-injection seam for tests (opts may be NULL). */
int state_save_full(const char *state_dir, const state *s, const fsutil_write_options *opts);

/* Parses the bytes of a state file, with state_load()'s errors and detail; for tests and fuzzing. */
int state_parse(const char *data, size_t len, state **ret, char **reterr_detail);

/* Serialises s as a state file that state_parse() reads back equal. */
int state_format(const state *s, char **ret_data, size_t *ret_len);

/* The current epoch. */
uint64_t state_get_epoch(const state *s);

/* Raises the epoch: 1 raised, 0 already there, -STATE_ERROR_EPOCH_BACKWARDS lower, -ERANGE too high. */
int state_set_epoch(state *s, uint64_t epoch);

/* Records our vote, raising the epoch to it: 1 new, 0 same again, -ALREADY_VOTED, -VOTE_STALE. */
int state_record_vote(state *s, uint64_t epoch, const char *candidate);

/* Our vote in epoch: 1 and its candidate (owned by s), 0 none, -STATE_ERROR_VOTE_STALE forgotten. */
int state_vote_for(const state *s, uint64_t epoch, const char **ret_candidate);

/* The newest vote: 1 with its epoch and candidate (owned by s), 0 (with 0 and NULL) when none. */
int state_last_vote(const state *s, uint64_t *ret_epoch, const char **ret_candidate);

/* Sets cluster's primary: 1 changed, 0 same, -CONFIG_EPOCH_STALE older, -CONFIG_CONFLICT same epoch.
 * A change also clears pending: a configuration is committed unless state_set_cluster_pending() says not. */
int state_set_cluster_primary(state *s, const char *cluster, const char *primary, uint64_t config_epoch);

/* cluster's known primary (owned by s) and config epoch: 1, or 0 (with NULL and 0) when unknown. */
int state_get_cluster_primary(
        const state *s, const char *cluster, const char **ret_primary, uint64_t *ret_config_epoch);

/* Marks cluster's known primary as written ahead of its promotion (true) or committed (false): 1 changed,
 * 0 same (also false without a known primary), -ENOENT true without one. Peers never adopt a pending one. */
int state_set_cluster_pending(state *s, const char *cluster, bool pending);

/* Whether cluster's known primary is pending (written ahead, not promoted yet); false when unknown. */
bool state_get_cluster_pending(const state *s, const char *cluster);

/* How many clusters have a known primary; one known only for maintenance or a failover does not count. */
size_t state_n_clusters(const state *s);

/* Sets cluster's maintenance end (STATE_MAINTENANCE_OFF, _FOREVER or realtime usec): 1 changed, 0 same. */
int state_set_cluster_maintenance(state *s, const char *cluster, uint64_t until_realtime_usec);

/* cluster's stored maintenance end, never compared with the clock: 1 set, 0 (with 0) off or unknown. */
int state_get_cluster_maintenance(const state *s, const char *cluster, uint64_t *ret_until_realtime_usec);

/* Sets cluster's maintenance end and when it was set (realtime usec, 0 = unknown, below UINT64_MAX):
 * 1 changed, 0 same, -ERANGE. state_set_cluster_maintenance() leaves set_usec as it is. */
int state_set_cluster_maintenance_at(
        state *s, const char *cluster, uint64_t until_realtime_usec, uint64_t set_usec);

/* cluster's maintenance end and when it was set: 1 when either is recorded, 0 (with 0 and 0) when not. */
int state_get_cluster_maintenance_at(
        const state *s, const char *cluster, uint64_t *ret_until_realtime_usec, uint64_t *ret_set_usec);

/* Replaces cluster's last failover (realtime usec below UINT64_MAX, epoch): 1 changed, 0 same, -ERANGE. */
int state_set_cluster_last_failover(state *s, const char *cluster, uint64_t realtime_usec, uint64_t epoch);

/* cluster's last failover, realtime usec and epoch: 1, or 0 (with 0 and 0) when none is known. */
int state_get_cluster_last_failover(
        const state *s, const char *cluster, uint64_t *ret_realtime_usec, uint64_t *ret_epoch);

/* Whether a and b hold the same epoch, votes and clusters (every field of them). */
bool state_equal(const state *a, const state *b);
