/* An asynchronous MariaDB client connection driven by an sd-event loop: Connector/C's non-blocking
 * API (*_start and *_cont) with our own I/O watches and deadlines, so that no server, however broken,
 * ever blocks the loop or delays the work on another connection.
 *
 * This module (db.c) is the only one in the project that includes Connector/C's headers: callers see
 * neither MYSQL types nor MariaDB's error numbering beyond the translated db_error. Results come as
 * plain data (db-result.h).
 *
 * One db_conn is one persistent connection to one server. A query connects first when needed
 * (resolving a host name without blocking, see resolve.h), reconnects after the connection was
 * lost, and runs one query at a time: a second db_conn_query() while one runs is refused (-EBUSY). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "db-result.h"
#include "server-status.h"

typedef struct db_conn db_conn;

/* The cluster's `tls` config. With enabled, every connection uses TLS and requires it: a server that
 * does not offer TLS, a failed handshake or certificate check, or an unreadable file fails the
 * connection with PROBE_TLS (a message starting "TLS: "), never falls back to plain TCP. The files are
 * read by the connector at each new connection, so replaced files take effect on the next one.
 * Note that the certificate's name is checked against the numeric address the connection goes to
 * (Connector/C 3.3 verifies mysql->host), so a verify_server_cert that names a host name needs a
 * certificate with the IP as subjectAltName. */
typedef struct db_tls_params {
        bool enabled;            /* false: plain TCP, the rest is ignored */
        const char *ca_file;     /* NULL: no CA of our own (the connector's default trust) */
        const char *cert_file;   /* the client certificate; NULL: none (then key_file is NULL too) */
        const char *key_file;    /* its private key */
        bool verify_server_cert; /* check the server's certificate chain and name */
} db_tls_params;

typedef struct db_conn_params {
        const char *host; /* IP literal or host name; never a unix socket */
        uint16_t port;
        const char *user;
        const char *password;          /* copied once into the db_conn, wiped when it is freed */
        uint64_t connect_timeout_usec; /* resolve + TCP + handshake + auth; 0: 1 s */
        uint64_t query_timeout_usec;   /* a query without its own deadline; 0: 1 s */
        db_tls_params tls;
} db_conn_params;

/* Room for a numeric IPv6 address with a scope: "ffff:...%interface". */
#define DB_ADDRESS_MAX       64
#define DB_ERROR_MESSAGE_MAX 512

/* A failed operation, translated. */
typedef struct db_error {
        probe_error_class error_class;
        uint32_t number; /* the MariaDB ER_ / CR_ number; 0 for local errors and our own timeouts */
        int sys_error;   /* a positive errno for local failures (ENOMEM, ETIMEDOUT, ...), else 0 */
        char sqlstate[6];
        char message[DB_ERROR_MESSAGE_MAX];
} db_error;

/* What a query ended with; handed to the db_query_handler, valid during the call only. */
typedef struct db_reply {
        const db_result *result; /* NULL on failure */
        const db_error *error;   /* NULL on success */
        bool connected;          /* a new connection was opened for this query */
        uint64_t connect_usec;   /* how long that took (resolve included), when connected */
        uint64_t query_usec;     /* query sent until its result arrived (or the failure) */
} db_reply;

/* Called once per db_conn_query(), from the event loop, never from inside db_conn_query(). It may
 * start the next query, or free the connection. */
typedef void (*db_query_handler)(db_conn *c, const db_reply *reply, void *userdata);

/* A new, unconnected connection object on event loop e (which it references). -EINVAL on a
 * missing host, user or port. */
int db_conn_new(sd_event *e, const db_conn_params *params, db_conn **ret);

/* Drops the connection and any query at once, without calling its handler and without blocking
 * (an unanswered connection is shut down, not waited for), wipes the password, frees c. NULL-safe;
 * may be called from inside the handler. Returns NULL. */
db_conn *db_conn_free(db_conn *c);

static inline void db_conn_freep(db_conn **c) {
        db_conn_free(*c);
}

/* Runs sql (one statement) and calls handler with its result. deadline_usec is the absolute
 * CLOCK_MONOTONIC time by which everything (connecting included) must be done; 0 means connect
 * timeout + query timeout from now. A deadline that passes drops the connection and fails the
 * query with PROBE_NO_ANSWER. 0 started; -EBUSY while another query or a close runs; -EINVAL;
 * -ENOMEM. */
int db_conn_query(
        db_conn *c, const char *sql, uint64_t deadline_usec, db_query_handler handler, void *userdata);

/* Closes the connection gracefully (COM_QUIT through the non-blocking API, bounded by the connect
 * timeout) and keeps c usable: the next query reconnects. 0 closing or already closed; -EBUSY
 * while a query runs. */
int db_conn_close(db_conn *c);

/* Drops the connection and any query at once, without calling the handler; the next query
 * reconnects. Never blocks. */
void db_conn_abort(db_conn *c);

/* Makes the next query open a new connection (a query running now finishes on the old one), so
 * that TLS files replaced on disk are read again. Never blocks. NULL-safe. */
void db_conn_reconnect(db_conn *c);

/* Whether a query or a close is in progress. */
bool db_conn_is_busy(const db_conn *c);

/* Whether a connection is established (and no close is in progress). */
bool db_conn_is_connected(const db_conn *c);

/* The numeric address last connected to (or being connected to); "" before the first attempt. */
const char *db_conn_address(const db_conn *c);

/* Translates a MariaDB error number (server ER_* or client CR_*) into an error class; message is
 * the error text (for CR_CONN_HOST_ERROR the errno in its "(N)" tells refused from timed out). */
probe_error_class db_error_classify(uint32_t number, const char *message);
