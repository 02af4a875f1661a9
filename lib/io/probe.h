/* One probe of one MariaDB server: connect if needed, then a fixed sequence of queries collected
 * into a server_status (read_only, server_id, version, GTID positions, log_bin,
 * log_slave_updates, semi-sync variables and status, SHOW ALL SLAVES STATUS), over a persistent
 * non-blocking connection (db.h) on the caller's sd-event loop.
 *
 * A round is bounded by the timeout as a whole (connecting included). Rounds never stack up: a
 * round still running when the next one starts is reported as PROBE_NO_ANSWER first and its
 * connection dropped. The caller decides when rounds run, or lets probe_schedule() run them at a
 * fixed interval. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "db.h"
#include "server-status.h"

typedef struct probe probe;

typedef struct probe_params {
        const char *host; /* IP literal or host name (resolved without blocking the loop) */
        uint16_t port;
        const char *user;
        const char *password;  /* copied once, wiped when the probe is freed */
        uint64_t timeout_usec; /* one whole round; 0: 1 s */
        db_tls_params tls;
} probe_params;

/* The queries of one round, in order (the sentinel account needs SLAVE MONITOR for the last). */
#define PROBE_QUERY_VARIABLES                                                                               \
        "SELECT @@global.read_only, @@global.server_id, @@global.version, @@global.gtid_current_pos, "      \
        "@@global.gtid_binlog_pos, @@global.gtid_slave_pos, @@global.log_bin, "                             \
        "@@global.log_slave_updates, @@global.rpl_semi_sync_master_enabled, "                               \
        "@@global.rpl_semi_sync_slave_enabled"
#define PROBE_QUERY_SEMI_SYNC                                                                               \
        "SHOW GLOBAL STATUS WHERE Variable_name IN "                                                        \
        "('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')"
#define PROBE_QUERY_REPLICATION "SHOW ALL SLAVES STATUS"

/* Called once per round, from the event loop. status is valid during the call only
 * (server_status_copy() keeps it). The handler may run the next round or free the probe. */
typedef void (*probe_handler)(probe *p, const server_status *status, void *userdata);

/* A new probe of one server on event loop e; nothing is contacted yet. -EINVAL on missing
 * host, user or port. */
int probe_new(sd_event *e, const probe_params *params, probe **ret);

/* Drops the connection and any round at once (its handler is not called), unschedules, frees.
 * NULL-safe; may be called from the handler. Returns NULL. */
probe *probe_free(probe *p);

static inline void probe_freep(probe **p) {
        probe_free(*p);
}

/* Starts one round now; handler gets its status. A round still running is first reported to its
 * own handler as PROBE_NO_ANSWER. 0 started; -ECANCELED when that report freed the probe;
 * -EINVAL; -ENOMEM. */
int probe_run(probe *p, probe_handler handler, void *userdata);

/* Runs rounds at first_usec (CLOCK_MONOTONIC; 0: now) and then every interval_usec after it, on a
 * fixed grid (a late tick does not shift the next ones; missed ticks are skipped), each reported to
 * handler. Replaces an earlier schedule. 0 or a negative errno. */
int probe_schedule(
        probe *p, uint64_t first_usec, uint64_t interval_usec, probe_handler handler, void *userdata);

/* Stops the schedule; a running round still completes. */
void probe_unschedule(probe *p);

/* Whether a round is in progress. */
bool probe_is_running(const probe *p);

/* Closes the idle connection gracefully (see db_conn_close()); -EBUSY during a round. */
int probe_close(probe *p);

/* The next round opens a new connection (see db_conn_reconnect()). */
void probe_reconnect(probe *p);

/* The probe's connection, e.g. for db_conn_address(). */
db_conn *probe_get_conn(const probe *p);
