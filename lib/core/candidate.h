/* Which standby to promote when the primary failed (SPEC 5.4): every server gets a verdict with every
 * check it passed or failed, and the eligible ones are ranked. Pure code: no I/O, no clock, no logging;
 * the result holds indexes into conf->servers and copies of positions, never pointers into its inputs.
 *
 * Inputs: the cluster's config; each server's latest probe ("latest", taken after the primary died)
 * and its probe of the round in which the failed primary last answered ("last_good": what the
 * replicas looked like while the primary was still up; last_good[old_primary] is the primary's own
 * last good probe); the topology built from the latest probes with the failed primary as the known
 * primary; the failed primary's index; --force and --to.
 *
 * Checks, in this order (the first failure not overridden is the verdict's reason):
 *   FAILED_PRIMARY      the server is the failed primary (nothing else is checked)
 *   NOT_TARGET          --to names another server (the other checks still run, for display)
 *   NOT_PROMOTABLE      promotable = false in the config; never overridden
 *   UNREACHABLE         the latest probe did not prove it alive, or could not read its variables or
 *                       its replication connections (the checks below need them: not checked then)
 *   NO_BINLOG           log_bin or log_slave_updates OFF: as primary its binlog would lack the
 *                       replicated history the other replicas need
 *   NOT_A_REPLICA       no replication connection to the failed primary (its Master_Host:Master_Port
 *                       is the primary's, compared as topology_server_by_address() does, or, failing
 *                       that, its non-zero Master_Server_Id is the primary's server_id at its last good
 *                       probe). The checks below need that connection: not checked without it
 *   REPLICATION_BROKEN  at the last good probe the connection's IO thread was not Yes or its SQL thread
 *                       not running or it had a Last_SQL_Errno; or at the latest probe its SQL thread
 *                       stopped with an error (the relay log could not be applied). An IO thread
 *                       "Connecting" after the primary died is expected and fine
 *   ERRANT_GTID         it has transactions the failed primary lacked (see "errant" below); overridden
 *                       by --force
 *   LAGGING             Seconds_Behind_Master x 1000 above failover.max_lag_ms at the last good probe,
 *                       or unknown there (no last good probe of it, or NULL): overridden by --force
 *   DIVERGED            its received position diverges from the most advanced one (same seq_no written
 *                       by another server in some domain): it holds transactions that are not the
 *                       others'; never overridden
 *
 * Received position: what the server has or will have once its relay log is applied: per domain the
 * more advanced of the connection's Gtid_IO_Pos and the server's gtid_current_pos (Gtid_IO_Pos alone
 * lacks domains it never received, and is empty before the IO thread first ran), from the latest probe.
 *
 * Errant: against the failed primary's last good position (per domain the more advanced of its
 * gtid_binlog_pos and gtid_current_pos), what gtid_list_missing() finds in the server's latest
 * gtid_current_pos, except ranges whose last GTID the failed primary itself wrote (its server_id): those
 * are its stream after our last look at it, not errant. Unknown without a last good probe of the primary
 * (not checked).
 *
 * Why the last good probes and not the topology's broken, lag and errant: those come from the latest
 * probes, where every replica's IO thread is "Connecting" to the dead primary (broken), Seconds_Behind_
 * Master is NULL and the primary has no position to compare with. The topology (optional) only names
 * whom a server that is no replica of the failed primary follows.
 *
 * The most advanced position ("most_advanced") is per domain the highest received GTID over every
 * server with a received position, eligible or not (a non-promotable or lagging replica may have
 * received more than every candidate): a reachable replica of the failed primary. In those positions an
 * errant domain counts only up to the failed primary's last good GTID (errant transactions are not
 * the primary's and must not make the others look behind). When two servers hold the same highest
 * seq_no from different server_ids, the failed primary's server_id wins, else the first in config order.
 *
 * Ranking of the eligible servers: fewest transactions behind the most advanced position (the sum of
 * the seq_no gaps over its domains, a diverged domain counting 1; the same order as "more advanced"
 * whenever two positions are comparable), then higher priority, then the failed primary's zone before
 * other zones, then config order.
 *
 * CANDIDATE_BEHIND: when the best candidate still lacks transactions of the most advanced position,
 * candidate_behind is set with the missing ranges and a server holding each: promoting it as it is
 * loses them (it would first have to catch up from that server). */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "gtid.h"
#include "server-status.h"
#include "topology.h"

typedef enum candidate_reason {
        CANDIDATE_OK, /* eligible */
        CANDIDATE_FAILED_PRIMARY,
        CANDIDATE_NOT_TARGET,
        CANDIDATE_NOT_PROMOTABLE,
        CANDIDATE_UNREACHABLE,
        CANDIDATE_NO_BINLOG,
        CANDIDATE_NOT_A_REPLICA,
        CANDIDATE_REPLICATION_BROKEN,
        CANDIDATE_ERRANT_GTID,
        CANDIDATE_LAGGING,
        CANDIDATE_DIVERGED,
        _CANDIDATE_REASON_MAX,
        _CANDIDATE_REASON_INVALID = -EINVAL,
} candidate_reason;

/* A set of checks: bit (1u << reason). */
#define CANDIDATE_BIT(r) (1u << (r))

/* The checks --force overrides. */
#define CANDIDATE_FORCIBLE (CANDIDATE_BIT(CANDIDATE_ERRANT_GTID) | CANDIDATE_BIT(CANDIDATE_LAGGING))

/* The reason codes: "OK", "FAILED_PRIMARY", "NOT_TARGET", "NOT_PROMOTABLE", "UNREACHABLE", "NO_BINLOG",
 * "NOT_A_REPLICA", "REPLICATION_BROKEN", "ERRANT_GTID", "LAGGING", "DIVERGED"; NULL when out of range. */
const char *candidate_reason_to_string(candidate_reason r);

/* Parses the codes above; _CANDIDATE_REASON_INVALID when unknown or NULL. */
candidate_reason candidate_reason_from_string(const char *s);

/* A short name of what a check verifies, for listings: "eligible", "old-primary", "target", "promotable",
 * "reachable", "binlog", "replica", "replication", "errant", "lag", "diverged"; NULL when out of range. */
const char *candidate_reason_label(candidate_reason r);

typedef struct candidate_options {
        bool forced;        /* --force: ERRANT_GTID and LAGGING are overridden */
        const char *target; /* --to: the only server that may be chosen; NULL: any */
} candidate_options;

typedef struct candidate_verdict {
        bool eligible;
        candidate_reason reason; /* the first failed check not overridden; CANDIDATE_OK when eligible */
        unsigned checked;        /* CANDIDATE_BIT()s of the checks that could be evaluated */
        unsigned failed;         /* of which failed, overridden or not */
        unsigned overridden;     /* of which failed but were overridden by --force */
        char *text;              /* one line for humans: every failed check, or why it is eligible */
        size_t rank;             /* 1 for the best candidate, 2, ...; 0 when not eligible */

        bool position_known;          /* received, behind_transactions and diverged mean something */
        gtid_list received;           /* the received position (errant domains not capped) */
        uint64_t behind_transactions; /* what the most advanced position has that it lacks */
        bool lag_known;               /* at the last good probe */
        uint64_t lag_ms;
        bool errant_known;
        gtid_diff errant; /* what it has that the failed primary lacked; empty when none */
        bool same_zone;   /* in the failed primary's zone */
} candidate_verdict;

typedef struct candidate_selection {
        size_t old_primary;
        size_t target; /* --to, or TOPOLOGY_NONE */
        bool forced;

        size_t n_servers; /* conf->n_servers, verdicts in config order */
        candidate_verdict *verdicts;

        size_t n_candidates; /* the eligible servers, best first */
        size_t *candidates;

        gtid_list most_advanced;     /* see above; empty when no position is known */
        size_t most_advanced_server; /* a server whose position holds all of it (the first in config
                                      * order), or TOPOLOGY_NONE when none does */

        bool candidate_behind;  /* the best candidate lacks some of most_advanced */
        gtid_diff missing;      /* what it lacks, one range per domain; empty when not behind */
        size_t *missing_source; /* per missing range, a server that received it */
} candidate_selection;

/* Checks and ranks every server of conf for the failed primary old_primary (see above). latest and
 * last_good have conf->n_servers entries each (NULL: no such probe); t is the topology of the latest
 * probes (NULL: none); opts NULL: not forced, no target. 0 and a new selection in *ret; -EINVAL on missing
 * arguments or old_primary out of range; -ENOENT when opts->target names no configured server; -ENOMEM. */
int candidate_select(const cluster_conf *conf, const server_status *const *latest,
        const server_status *const *last_good, const topology *t, size_t old_primary,
        const candidate_options *opts, candidate_selection **ret);

/* Frees a selection; NULL-safe; returns NULL. */
candidate_selection *candidate_selection_free(candidate_selection *s);

static inline void candidate_selection_freep(candidate_selection **s) {
        candidate_selection_free(*s);
}

/* The best candidate's index, or TOPOLOGY_NONE when none is eligible (or s is NULL). */
size_t candidate_selection_best(const candidate_selection *s);

/* The missing ranges with their sources, "0-1-104..105 (on db-c), 1-1-7 (on db-b)"; "" when the best
 * candidate is not behind. 0 and a new string in *ret, -EINVAL, -ENOMEM. */
int candidate_selection_format_missing(const candidate_selection *s, const cluster_conf *conf, char **ret);

/* The selection as JSON, for dry-run, why and the audit log: {old_primary, target, forced, candidate,
 * most_advanced, most_advanced_server, candidate_behind, missing, servers: [{name, zone, priority,
 * eligible, rank, reason, text, passed, failed (not overridden), overridden, not_checked (lists of codes),
 * received, behind_transactions, lag_ms, errant ("" none)}]} (unknown values null). 0 and a new object in
 * *ret, -EINVAL, -ENOMEM. */
int candidate_selection_to_json(const candidate_selection *s, const cluster_conf *conf, json_object **ret);

/* The human listing of such JSON: a headline (old primary, --to, most advanced position), one line per
 * server in rank order then config order, each followed by a line with every check ("promotable ok, lag
 * FAILED, errant overridden, diverged -" where - is not checked), then "no eligible candidate" or the
 * CANDIDATE_BEHIND line; tolerates missing fields. 0 and a
 * new string in *ret; -EINVAL when j is not an object with a "servers" array; -ENOMEM. */
int candidate_selection_format(json_object *j, char **ret);
