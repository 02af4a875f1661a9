/* The pre-checks of a planned switchover (`sentinelctl switchover CLUSTER [--to SERVER]`, SPEC 2): whether
 * the cluster may switch over now and to which server, as pure data, with a verdict per server, the
 * decision as JSON (audit log, --dry-run, `why`) and its human rendering. A planned switchover must never
 * lose a transaction nor pick a worse server than it could. Pure code: no I/O, no clock, no logging; the
 * result holds indexes into conf->servers and copies, never pointers into its inputs.
 *
 * Inputs: the cluster's config, the latest probe of each server and the topology built from them (whose
 * primary is the current primary), and --to.
 *
 * Cluster checks, in this order (the first failing one refuses the switchover):
 *   UNKNOWN_TARGET     --to names no configured server (a result, not an error: the refusal is audited)
 *   NO_PRIMARY         the topology has no primary
 *   PRIMARY_DOWN       the primary's latest probe did not prove it alive, or it was never probed
 *   PRIMARY_UNKNOWN    it answered but its variables could not be read: not known to be writable
 *   PRIMARY_READ_ONLY  it is read-only (fenced): there are no writes to hand over
 *   TARGET_IS_PRIMARY  --to names the current primary
 * then the candidate: with --to, the target's own failed check (its code and text); else NO_CANDIDATE
 * when no server is eligible.
 *
 * Checks of each server other than the primary (the primary's verdict is CURRENT_PRIMARY and nothing
 * else is checked), in this order; the first failing one is its reason, and every check whose inputs
 * exist is evaluated, for display:
 *   NOT_TARGET          --to names another server
 *   NOT_PROMOTABLE      promotable = false in the config
 *   UNREACHABLE         the latest probe did not prove it alive, or could not read its variables (then
 *                       nothing below is checked) or its replication connections (then only NO_BINLOG and
 *                       ERRANT_GTID are)
 *   NO_BINLOG           log_bin or log_slave_updates OFF
 *   NOT_A_REPLICA       its main connection (the topology's) does not follow the primary, or there is no
 *                       primary; REPLICATION_BROKEN and LAGGING need that connection: not checked without
 *   REPLICATION_BROKEN  the topology says broken, or the connection's IO thread is not Yes, its SQL thread
 *                       not running, or it has a Last_IO_Errno or Last_SQL_Errno
 *   ERRANT_GTID         it has transactions the primary lacks (the topology's errant), or that cannot be
 *                       told (no GTID position of the primary): failed then, never assumed clean
 *   LAGGING             Seconds_Behind_Master unknown (NULL) or above 1 s. It counts whole seconds from the
 *                       timestamp of the event being applied, so a caught-up replica under steady writes
 *                       shows 1 about as often as 0; 2 or more is a replica that is really behind. Some
 *                       transactions behind within that is fine: the switchover waits for the catch-up
 *                       after fencing
 *
 * Ranking of the eligible servers: higher priority first, then the primary's zone before other zones,
 * then fewer transactions behind the primary, then config order. Priority comes first, unlike a
 * failover's ranking, because every candidate is caught up to the primary before it is promoted. */
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

typedef enum switchover_reason {
        SWITCHOVER_REASON_OK, /* the switchover may go; of a server: eligible */
        /* the cluster */
        SWITCHOVER_REASON_UNKNOWN_TARGET,
        SWITCHOVER_REASON_NO_PRIMARY,
        SWITCHOVER_REASON_PRIMARY_DOWN,
        SWITCHOVER_REASON_PRIMARY_UNKNOWN,
        SWITCHOVER_REASON_PRIMARY_READ_ONLY,
        SWITCHOVER_REASON_TARGET_IS_PRIMARY,
        SWITCHOVER_REASON_NO_CANDIDATE,
        /* the checks of one server, in the order they are made */
        SWITCHOVER_REASON_CURRENT_PRIMARY,
        SWITCHOVER_REASON_NOT_TARGET,
        SWITCHOVER_REASON_NOT_PROMOTABLE,
        SWITCHOVER_REASON_UNREACHABLE,
        SWITCHOVER_REASON_NO_BINLOG,
        SWITCHOVER_REASON_NOT_A_REPLICA,
        SWITCHOVER_REASON_REPLICATION_BROKEN,
        SWITCHOVER_REASON_ERRANT_GTID,
        SWITCHOVER_REASON_LAGGING,
        _SWITCHOVER_REASON_MAX,
        _SWITCHOVER_REASON_INVALID = -EINVAL,
} switchover_reason;

/* A set of server checks: bit (1u << reason), CURRENT_PRIMARY to LAGGING. */
#define SWITCHOVER_BIT(r) (1u << (r))

/* The codes: the enum names without the prefix ("OK", "UNKNOWN_TARGET", ..., "LAGGING"); NULL when out
 * of range. */
const char *switchover_reason_to_string(switchover_reason r);

/* Parses the codes above; _SWITCHOVER_REASON_INVALID when unknown or NULL. */
switchover_reason switchover_reason_from_string(const char *s);

typedef struct switchover_verdict {
        bool eligible;
        switchover_reason reason; /* OK when eligible, else its first failed check */
        unsigned checked;         /* SWITCHOVER_BIT()s of the checks that could be evaluated */
        unsigned failed;          /* of which failed */
        char *text;               /* one line for humans: every failed check, or why it is eligible */
        size_t rank;              /* 1 for the best candidate, 2, ...; 0 when not eligible */
        bool same_zone;           /* in the primary's zone */
        bool lag_known;           /* Seconds_Behind_Master of its connection to the primary */
        uint64_t lag_ms;
        bool behind_known; /* the topology compared its position with the primary's */
        uint64_t behind_transactions;
        bool errant_known;
        gtid_diff errant; /* what it has that the primary lacks; empty when none */
} switchover_verdict;

typedef struct switchover_check {
        bool ok;                  /* the switchover may go to candidate */
        switchover_reason reason; /* OK, or the refusal (see above) */
        char *text;               /* one line for humans: "db-a -> db-b (...)" or why it is refused */
        size_t primary;           /* the topology's primary, or TOPOLOGY_NONE */
        size_t candidate;         /* the server to promote when ok, else TOPOLOGY_NONE */
        size_t target;            /* --to's index, or TOPOLOGY_NONE (none given, or unknown) */
        char *target_name;        /* --to as given, or NULL */

        size_t n_servers; /* conf->n_servers, verdicts in config order */
        switchover_verdict *verdicts;

        size_t n_candidates; /* the eligible servers, best first */
        size_t *candidates;
} switchover_check;

/* Checks conf's cluster for a switchover to target (--to; NULL: the best candidate), see above. latest
 * has conf->n_servers entries (NULL: never probed); t is the topology built from them, with
 * t->n_servers == conf->n_servers. 0 and a new check in *ret (also when refused, with an unknown target
 * too); -EINVAL on missing or inconsistent arguments; -ENOMEM. *ret only on success. */
int switchover_check_run(const cluster_conf *conf, const server_status *const *latest, const topology *t,
        const char *target, switchover_check **ret);

/* Frees a check; NULL-safe; returns NULL. */
switchover_check *switchover_check_free(switchover_check *c);

static inline void switchover_check_freep(switchover_check **c) {
        switchover_check_free(*c);
}

/* The check as JSON: {cluster, ok, reason, text, primary, candidate, target, servers: [{name, zone,
 * priority, eligible, rank, reason, text, passed, failed, not_checked (lists of check codes), lag_ms,
 * behind_transactions, errant ("" none)}]}, unknown values null. 0 and a new object in *ret; -EINVAL
 * (also when c is not of conf); -ENOMEM. */
int switchover_check_to_json(const switchover_check *c, const cluster_conf *conf, json_object **ret);

/* The human listing of such JSON: a headline ("switchover of main: db-a -> db-b", or "switchover of main
 * refused: REASON: text"), then per server in rank order, then the others in config order, a line with
 * its verdict and a line with every check ("promotable ok, lag FAILED, errant -" where - is not checked);
 * tolerates missing fields. 0 and a new string in *ret; -EINVAL when j is not an object; -ENOMEM. */
int switchover_check_format(json_object *j, char **ret);
