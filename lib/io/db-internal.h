/* What db.c (connections, the connector's coroutines) and db-error.c (what a failure was) share: the
 * connection's structure and the error helpers. Only these two files include it, and with it <mysql.h>. */
#pragma once

#include <mysql.h>

#include "db.h"
#include "resolve.h"

typedef enum db_state {
        DB_STATE_DISCONNECTED,
        DB_STATE_RESOLVING,
        DB_STATE_CONNECTING,
        DB_STATE_IDLE,
        DB_STATE_QUERYING,
        DB_STATE_STORING,
        DB_STATE_CLOSING,
        _DB_STATE_MAX,
        _DB_STATE_INVALID = -EINVAL,
} db_state;

struct db_conn {
        unsigned n_ref;
        sd_event *event;
        char *host;
        char *user;
        char *password;                    /* our one copy; wiped when freed */
        bool tls;                          /* TLS required; the files below are read at each connect */
        char *tls_ca, *tls_cert, *tls_key; /* our copies of the paths; NULL when not set */
        bool tls_verify;
        bool reconnect; /* the next query opens a new connection (db_conn_reconnect()) */
        uint16_t port;
        uint64_t connect_timeout_usec;
        uint64_t query_timeout_usec;

        db_state state;
        MYSQL *mysql;
        bool suspended;                /* the connector waits inside a *_start() or *_cont() */
        bool op_ok;                    /* how the last finished connect or query went */
        MYSQL_RES *res;                /* what the last finished store_result returned */
        int cloexec_fd;                /* the connector's socket we last made FD_CLOEXEC */
        sd_event_source *io_source;    /* the connector's socket, or the resolver's eventfd */
        sd_event_source *timer_source; /* our deadline, or the connector's own timeout */
        sd_event_source *defer_source; /* a reply ready inside db_conn_query(), delivered later */
        uint64_t deadline_usec;        /* of the current phase */
        bool timed_out;

        resolve_job *job;        /* kept while it runs, for the next attempt to wait for */
        resolve_result resolved; /* the addresses of this attempt; n_addresses 0 while resolving */
        size_t i_address;        /* the one being tried */

        /* The query in progress. */
        char *sql;
        uint64_t query_deadline_usec;
        db_query_handler handler;
        void *userdata;
        bool in_query_call;
        bool connected;
        uint64_t connect_started_usec;
        uint64_t connect_usec;
        uint64_t query_started_usec;
        db_result *result;
        db_error error;
};

/* Sets *e: class, number, errno and the formatted one-line message. */
void db_error_set(db_error *e, probe_error_class class, uint32_t number, int sys_error, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* The error of c's last connector call (connecting or querying), classified into *e; TLS failures of
 * a TLS connection as one "TLS: ..." line naming the files. */
void db_error_from_mysql(db_conn *c, db_error *e);

/* *e: the server at c's current address offers no TLS although tls is configured. */
void db_error_set_no_tls(db_conn *c, db_error *e);

/* Whether e leaves the connection unusable (it is dropped, not kept for the next query). */
bool db_error_kills_connection(const db_error *e);
