/* The database actions of a failover or a switchover, as the engine calls them: fence, unfence,
 * catch-up, promote, repoint, rejoin (and observe, which only reads). Each is a short sequence of SQL
 * statements run as the sentinel account (exactly the grants of tests/harness/README.md) over the
 * action object's own non-blocking connection (db.h) on the caller's sd-event loop, bounded by one
 * absolute deadline, and reported once to a handler with what it did and what it saw.
 *
 * Every action is idempotent: run again on a server where it already took effect, it changes nothing
 * and reports SERVER_ACTION_OK (promote, repoint and rejoin also say `already`). Every statement in
 * them is safe to send twice, so a statement whose reused connection turned out to be closed is sent
 * once more over a new one. The exact SQL of each action is in server-action.c, at its plan.
 *
 * One object per server, one action at a time on it (a second start is -EBUSY). Freeing or cancelling
 * it mid-way drops the connection at once and calls no handler. When the deadline passes, the
 * connection is dropped and the result is SERVER_ACTION_TIMEOUT; a statement that had reached the
 * server may still take effect there (a read_only change, say), which re-running the action settles.
 * Library code: nothing here logs. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "gtid.h"
#include "server-status.h"

typedef struct server_action server_action;

typedef enum server_action_type {
        SERVER_ACTION_OBSERVE,
        SERVER_ACTION_FENCE,
        SERVER_ACTION_UNFENCE,
        SERVER_ACTION_CATCH_UP,
        SERVER_ACTION_PROMOTE,
        SERVER_ACTION_REPOINT,
        SERVER_ACTION_REJOIN,
        SERVER_ACTION_REPLICA_SEMI_SYNC,
        _SERVER_ACTION_TYPE_MAX,
        _SERVER_ACTION_TYPE_INVALID = -EINVAL,
} server_action_type;

/* How an action ended. */
typedef enum server_action_code {
        SERVER_ACTION_OK,
        SERVER_ACTION_TIMEOUT,    /* the deadline passed (error_class no-answer); or, the server
                                   * answering (error_class ok), catch-up's MASTER_GTID_WAIT gave up,
                                   * or a repoint's replication threads did not run by then */
        SERVER_ACTION_FAILED,     /* unreachable, or a statement failed: error_class, error_number */
        SERVER_ACTION_DIVERGED,   /* rejoin refused: the server has transactions the new primary lacks
                                   * (extra_gtids); it was left read-only, its replication untouched */
        SERVER_ACTION_UNAPPLIED,  /* promote refused, nothing reset, still read-only: the server received
                                   * transactions it has not applied. Its SQL thread was stopped: nothing
                                   * was changed. Or they were not applied by the deadline: the IO threads
                                   * stay stopped, the SQL threads go on (promote again to finish) */
        SERVER_ACTION_WRONG_ROLE, /* the server is not in a state the action applies to (unfence of a
                                   * replica, catch-up without a replication connection, repoint of a
                                   * multi-source replica) */
        _SERVER_ACTION_CODE_MAX,
        _SERVER_ACTION_CODE_INVALID = -EINVAL,
} server_action_code;

/* "observe", "fence", "unfence", "catch-up", "promote", "repoint", "rejoin", "replica-semi-sync"; NULL
 * when out of range. */
const char *server_action_type_to_string(server_action_type t);

/* "ok", "timeout", "failed", "diverged", "unapplied", "wrong-role"; NULL when out of range. */
const char *server_action_code_to_string(server_action_code c);

/* Flags of fence, unfence and promote. */
enum {
        /* Semi-sync follows the primary role (SPEC 5.11). fence: rpl_semi_sync_master_enabled=OFF;
         * unfence: =ON; promote: rpl_semi_sync_slave_enabled=OFF, then rpl_semi_sync_master_enabled=ON. */
        SERVER_ACTION_SEMI_SYNC = 1 << 0,
        /* promote only: stop and reset replication at once, even when the relay log holds received
         * transactions that were not applied (they are lost). Without it, promote first lets the SQL
         * threads apply everything received, and refuses (UNAPPLIED) when they cannot. */
        SERVER_ACTION_DISCARD_UNAPPLIED = 1 << 1,
};

/* What an action did and saw; handed to the handler, valid during the call only. */
typedef struct server_action_result {
        server_action_type type;
        server_action_code code;
        probe_error_class error_class; /* how the server answered: PROBE_OK when it did, also for
                                        * DIVERGED, UNAPPLIED, WRONG_ROLE and a read_only someone
                                        * else changed meanwhile (FAILED); the db.h class otherwise */
        uint32_t error_number;         /* MariaDB ER_/CR_ number of the failure (of the replication
                                        * thread for a repoint that failed there); 0 for none */
        const char *statement;         /* what failed, e.g. "SET GLOBAL read_only=ON" (never with
                                        * values); NULL */
        const char *message;           /* one line, always set; never contains the replication
                                        * password (nor anything the server quoted back from a
                                        * statement that carried it) */
        bool already;                  /* promote, repoint, rejoin, replica-semi-sync: nothing needed
                                        * changing */
        uint64_t started_usec;         /* CLOCK_MONOTONIC, from the loop */
        uint64_t finished_usec;

        /* The server's variables as the action's last SELECT of them read them: at its end when it
         * succeeded (also catch-up's TIMEOUT); have_variables false when it failed before any. */
        bool have_variables;
        bool read_only;
        gtid_list gtid_binlog_pos;
        gtid_list gtid_current_pos;
        gtid_list gtid_slave_pos;
        const char *gtid_binlog_state; /* @@gtid_binlog_state as the server wrote it: the last GTID
                                        * of every (domain, server_id) in its binlog; rejoin's input */
        bool semi_sync_master_enabled;
        bool semi_sync_slave_enabled;

        unsigned n_killed;     /* fence: client connections killed */
        gtid_list gtid_waited; /* catch-up (and promote's drain): the position waited for */
        bool have_replica;     /* repoint, rejoin: the two below are set */
        replica_io_state io_running;
        bool sql_running;
        const char *extra_gtids; /* rejoin DIVERGED: gtid_diff_format() of extra; NULL otherwise */
        gtid_diff extra;         /* rejoin DIVERGED: what the server has that the new primary lacks */

        /* replica-semi-sync: what it changed (have_replica, io_running and sql_running: the threads as
         * SHOW ALL SLAVES STATUS showed them before). */
        bool turned_master_semi_off; /* SET GLOBAL rpl_semi_sync_master_enabled=OFF ran */
        bool turned_slave_semi_on;   /* SET GLOBAL rpl_semi_sync_slave_enabled=ON ran */
        bool restarted_io;           /* STOP SLAVE IO_THREAD, START SLAVE IO_THREAD ran (for the above) */
} server_action_result;

/* Called once per started action, from the event loop (never from inside the start call). It may
 * start the next action on the same object, or free it. */
typedef void (*server_action_handler)(server_action *a, const server_action_result *result, void *userdata);

/* The server the actions run on, and how the sentinel logs in there. */
typedef struct server_action_params {
        const char *host; /* IP literal or host name (resolved without blocking) */
        uint16_t port;
        const char *user;     /* the sentinel account */
        const char *password; /* copied, wiped when the object is freed */
        db_tls_params tls;
} server_action_params;

/* The primary a replica is to follow (CHANGE MASTER TO), and how. */
typedef struct server_action_source {
        const char *host;            /* MASTER_HOST: the primary as the replica reaches it */
        uint16_t port;               /* MASTER_PORT */
        const char *user;            /* MASTER_USER: the replication account */
        const char *password;        /* MASTER_PASSWORD: copied for the action, then wiped */
        bool use_tls;                /* MASTER_SSL=1 (else 0) */
        const char *tls_ca;          /* MASTER_SSL_CA with use_tls; NULL: none */
        bool tls_verify_server_cert; /* MASTER_SSL_VERIFY_SERVER_CERT with use_tls */
        bool semi_sync;              /* rpl_semi_sync_slave_enabled as asked */
        bool semi_sync_keep;         /* leave rpl_semi_sync_slave_enabled as it is (semi_sync ignored): a
                                      * replica that may not be promoted, whose acks are the DBA's call */
        bool wait_running;           /* report OK only once the IO and SQL threads run ("Yes"), else as
                                      * soon as START SLAVE returned */
} server_action_source;

/* The new primary's history, for rejoin: what an observe of it reported. */
typedef struct server_action_history {
        const gtid_list *gtid_binlog_pos; /* its @@gtid_binlog_pos */
        const char *gtid_binlog_state;    /* its @@gtid_binlog_state ("" for an empty binlog) */
} server_action_history;

/* A new action object for one server on event loop e; nothing is contacted yet. -EINVAL on a
 * missing host, user or port; -ENOMEM. */
int server_action_new(sd_event *e, const server_action_params *params, server_action **ret);

/* Cancels any running action (no handler call), drops the connection without blocking, wipes the
 * passwords, frees a. NULL-safe; may be called from the handler. Returns NULL. */
server_action *server_action_free(server_action *a);

static inline void server_action_freep(server_action **a) {
        server_action_free(*a);
}

/* Cancels the running action, if any, without calling its handler; a stays usable. */
void server_action_cancel(server_action *a);

/* Whether an action is running. */
bool server_action_is_running(const server_action *a);

/* Every start function below: deadline_usec is absolute CLOCK_MONOTONIC (as sd_event_now()) and
 * must be non-zero; 0 when started (handler will be called), -EBUSY while another action runs on a,
 * -EINVAL on bad arguments, -ENOMEM. */

/* Reads the server's variables into the result (read_only, GTID positions and binlog state,
 * semi-sync): one SELECT, no change. */
int server_action_observe(
        server_action *a, uint64_t deadline_usec, server_action_handler handler, void *userdata);

/* Stops the server taking writes: read_only=ON, then kills every client connection except
 * replication (binlog dump, replica threads), system threads, and the sentinel account's own (ours
 * and the other sentinels': they cannot write), then confirms read_only=1. With
 * SERVER_ACTION_SEMI_SYNC also turns the semi-sync master side off. */
int server_action_fence(server_action *a, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler, void *userdata);

/* Makes a fenced primary writable again (a switchover that failed before the promotion): with
 * SERVER_ACTION_SEMI_SYNC the semi-sync master side on, then read_only=OFF. WRONG_ROLE (and nothing
 * changed) when a replication thread of the server runs: a replica is never made writable here. */
int server_action_unfence(server_action *a, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler, void *userdata);

/* Waits until the replica has applied position (MASTER_GTID_WAIT), or, when position is NULL,
 * everything its default replication connection received (its Gtid_IO_Pos, read first). OK when it
 * got there; TIMEOUT when it did not by the deadline (the wait itself ends a little before it, so
 * that gtid_slave_pos can still be reported). */
int server_action_catch_up(server_action *a, const gtid_list *position, uint64_t deadline_usec,
        server_action_handler handler, void *userdata);

/* Turns a replica into the primary: stops the IO threads, lets the SQL threads apply everything
 * received (bounded by the deadline; UNAPPLIED otherwise, or at once when an SQL thread is stopped,
 * unless SERVER_ACTION_DISCARD_UNAPPLIED), stops and removes every replication connection, semi-sync
 * as flags say, and read_only=OFF as the very last step (the commit point of the promotion). A
 * writable server without replication connections is already primary (OK, already). Reports the
 * positions after. */
int server_action_promote(server_action *a, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler, void *userdata);

/* Makes the server a read-only replica of source (GTID, slave_pos). A server already running
 * replication from source with these settings is left alone (OK, already; the password cannot be
 * read back, so a changed one is not applied then). WRONG_ROLE for a multi-source replica. */
int server_action_repoint(server_action *a, const server_action_source *source, uint64_t deadline_usec,
        server_action_handler handler, void *userdata);

/* Makes an old primary a replica of the new one, source: read_only=ON first, then, if its history is
 * a prefix of the new primary's (the rule: server_action_rejoin_check(), with primary as an observe
 * of the new primary reported it; a stale observation can only refuse wrongly, never allow), sets
 * gtid_slave_pos to its own history (a former primary's is stale) and repoints it as
 * server_action_repoint() does; else DIVERGED, with the extra GTIDs, the server left read-only and
 * its replication untouched. A server already replicating from source as asked is left alone (OK,
 * already), without the check. */
int server_action_rejoin(server_action *a, const server_action_source *source,
        const server_action_history *primary, uint64_t deadline_usec, server_action_handler handler,
        void *userdata);

/* Gives a read-only replica the replica's side of semi-sync (SPEC 5.11): the master side off (a
 * replica with it on makes every commit of its SQL thread wait for acks from replicas it does not
 * have), and, with slave_semi_sync (the cluster runs semi-sync), the slave side on, its IO thread
 * restarted for that when it was running (the setting takes effect when the IO thread starts); the
 * SQL thread and the replication settings are never touched. WRONG_ROLE, nothing changed, when the
 * server is writable (never on a primary) or has no replication connection ''. OK, already, when
 * nothing needed changing: safe to run again. */
int server_action_replica_semi_sync(server_action *a, bool slave_semi_sync, uint64_t deadline_usec,
        server_action_handler handler, void *userdata);

/* The rejoin rule, pure: whether an old primary with history old (its @@gtid_binlog_pos, raised per
 * domain to its @@gtid_current_pos where that is further) may replicate from a new primary with
 * primary->gtid_binlog_pos P and primary->gtid_binlog_state S. For each GTID d-s-q of old (q > 0),
 * with p = P's GTID in domain d:
 *   - p absent or p.seq_no < q: old is ahead in d: refused;
 *   - p.seq_no == q: allowed only when p.server_id == s (the same transaction), else diverged;
 *   - p.seq_no > q: allowed when p.server_id == s, or when S holds d-s-x with x >= q (the new
 *     primary has server s's transactions of domain d up to at least q); else refused: old's
 *     transactions after the new primary's last from s are not in its history, though positions
 *     alone would call old "behind" (e.g. old wrote 0-1-101 after 0-1-100 reached the new
 *     primary, which was promoted and wrote 0-2-101..110).
 * Returns 0 when allowed, the number of refused domains with what old has that the new primary
 * lacks in *ret_extra (one range per domain, as gtid_list_missing(), for gtid_diff_format()), or
 * -EINVAL (unparseable S) or -ENOMEM. *ret_extra only when > 0. */
int server_action_rejoin_check(
        const gtid_list *old, const server_action_history *primary, gtid_diff *ret_extra);
