/* The result of one probe of one MariaDB server: how the attempt ended (an error class, the MariaDB
 * error number and message), when, and what the server said about itself (read_only, GTID
 * positions, binlog settings, semi-sync, every replication connection).
 *
 * Pure data: nothing here talks to a server. lib/io/probe.c fills it; the MariaDB error numbers are
 * translated into probe_error_class by lib/io/db-error.c, of the one module that includes <mysql.h>. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gtid.h"

/* How a probe ended. The order means nothing; probe_error_class_is_alive() is what decides
 * whether the server counts as up. */
typedef enum probe_error_class {
        PROBE_OK,           /* every query answered */
        PROBE_NO_ANSWER,    /* nothing (or not everything) within the deadline: stopped, hung,
                             * packets dropped, a listener that never speaks */
        PROBE_REFUSED,      /* connection refused, host or network unreachable */
        PROBE_AUTH,         /* it answered: access denied (bad password, missing grant, locked) */
        PROBE_SERVER_ERROR, /* it answered with an error (too many connections, a lock wait,
                             * shutting down, ...): ALIVE */
        PROBE_TLS,          /* the TLS handshake or the certificate check failed */
        PROBE_RESOLVE,      /* the host name did not resolve (or not in time) */
        PROBE_PROTOCOL,     /* it answered something that is not (the expected) MariaDB protocol,
                             * or a value we could not parse */
        PROBE_LOST,         /* the connection broke: closed by the peer, reset, server gone */
        PROBE_INTERNAL,     /* a local failure: out of memory, out of file descriptors, ... */
        _PROBE_ERROR_CLASS_MAX,
        _PROBE_ERROR_CLASS_INVALID = -EINVAL,
} probe_error_class;

/* "ok", "no-answer", "refused", "auth", "server-error", "tls", "resolve", "protocol", "lost",
 * "internal"; NULL when out of range. */
const char *probe_error_class_to_string(probe_error_class c);

/* Parses the names above; _PROBE_ERROR_CLASS_INVALID when unknown or NULL. */
probe_error_class probe_error_class_from_string(const char *s);

/* Whether a probe that ended so proves the server is alive: it answered as a MariaDB server (OK,
 * AUTH, SERVER_ERROR). TLS is not counted: a peer we cannot authenticate may not be our server. */
bool probe_error_class_is_alive(probe_error_class c);

/* Slave_IO_Running. */
typedef enum replica_io_state {
        REPLICA_IO_NO,
        REPLICA_IO_CONNECTING,
        REPLICA_IO_YES,
        _REPLICA_IO_STATE_MAX,
        _REPLICA_IO_STATE_INVALID = -EINVAL,
} replica_io_state;

/* "No", "Connecting", "Yes" (as the server writes them); NULL when out of range. */
const char *replica_io_state_to_string(replica_io_state s);

/* Parses the server's spelling, ignoring case; _REPLICA_IO_STATE_INVALID when unknown or NULL. */
replica_io_state replica_io_state_from_string(const char *s);

/* Using_Gtid. */
typedef enum replica_using_gtid {
        REPLICA_USING_GTID_NO,
        REPLICA_USING_GTID_CURRENT_POS,
        REPLICA_USING_GTID_SLAVE_POS,
        _REPLICA_USING_GTID_MAX,
        _REPLICA_USING_GTID_INVALID = -EINVAL,
} replica_using_gtid;

/* "No", "Current_Pos", "Slave_Pos"; NULL when out of range. */
const char *replica_using_gtid_to_string(replica_using_gtid g);

/* Parses the server's spelling, ignoring case; _REPLICA_USING_GTID_INVALID when unknown or NULL. */
replica_using_gtid replica_using_gtid_from_string(const char *s);

/* Parses a boolean as MariaDB prints one: "1"/"ON"/"YES"/"TRUE" and "0"/"OFF"/"NO"/"FALSE", any
 * case. 0 and *ret, or -EINVAL (*ret untouched). */
int server_status_parse_bool(const char *s, bool *ret);

/* One row of SHOW ALL SLAVES STATUS. */
typedef struct server_replication {
        char *connection_name; /* "" for the default connection */
        char *master_host;
        uint16_t master_port;
        uint32_t master_server_id; /* 0 when not connected yet */
        replica_io_state io_running;
        bool sql_running;
        replica_using_gtid using_gtid;
        gtid_list gtid_io_pos;
        bool seconds_behind_master_known; /* false when the server says NULL */
        uint64_t seconds_behind_master;
        uint32_t last_io_errno;
        char *last_io_error; /* "" when none */
        uint32_t last_sql_errno;
        char *last_sql_error; /* "" when none */
} server_replication;

/* One probe of one server. Times are CLOCK_MONOTONIC microseconds from the event loop. Groups of
 * fields are valid only when their have_* flag says so: a probe that fails half-way keeps what it
 * got before the failure. */
typedef struct server_status {
        uint64_t seq;           /* round number of this probe, from 1 */
        uint64_t started_usec;  /* the round began */
        uint64_t finished_usec; /* the round ended (answered, failed or timed out) */
        uint64_t latency_usec;  /* the first query's round trip; 0 when it got no answer */
        uint64_t connect_usec;  /* how long (re)connecting took, when this round had to */
        bool connected;         /* this round opened a new connection */

        bool reachable; /* probe_error_class_is_alive(error_class) */
        probe_error_class error_class;
        uint32_t error_number; /* the MariaDB ER_ / CR_ number; 0 for none or a local error */
        char *error_message;   /* NULL when PROBE_OK */

        bool have_variables;
        bool read_only;
        uint32_t server_id;
        char *version;
        gtid_list gtid_current_pos;
        gtid_list gtid_binlog_pos;
        gtid_list gtid_slave_pos;
        bool log_bin;
        bool log_slave_updates;
        bool semi_sync_master_enabled; /* @@rpl_semi_sync_master_enabled */
        bool semi_sync_slave_enabled;  /* @@rpl_semi_sync_slave_enabled */

        bool have_semi_sync_status;
        bool semi_sync_master_status;      /* Rpl_semi_sync_master_status: really running semi-sync */
        uint64_t semi_sync_master_clients; /* Rpl_semi_sync_master_clients */

        bool have_replication;
        server_replication *replication; /* one per replication connection, in the server's order */
        size_t n_replication;
} server_status;

/* Frees what a replication row owns and zeroes it; NULL-safe. */
void server_replication_done(server_replication *r);

/* Frees everything s owns and zeroes it (an empty status again); NULL-safe, idempotent. */
void server_status_done(server_status *s);

/* server_status_done() and free(s); NULL-safe; returns NULL. */
server_status *server_status_free(server_status *s);

static inline void server_status_freep(server_status **s) {
        server_status_free(*s);
}

/* Deep-copies src into *ret (which the caller then owns); 0 or -ENOMEM, *ret only on success. */
int server_status_copy(const server_status *src, server_status *ret);

/* Sets the error fields (class, number, a copy of message, reachable); 0 or -ENOMEM. */
int server_status_set_error(server_status *s, probe_error_class c, uint32_t number, const char *message);

/* The replication connection with that name ("" is the default one), or NULL. */
const server_replication *server_status_find_replication(
        const server_status *s, const char *connection_name);
