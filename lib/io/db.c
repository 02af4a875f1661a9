/* Connections to MariaDB over Connector/C's non-blocking API; with db-error.c (and db-internal.h)
 * the one module that includes <mysql.h>. See db.h.
 *
 * Every Connector/C *_start() and *_cont() returns 0 (done) or the MYSQL_WAIT_* bits it is
 * suspended on. After EVERY such call we re-read the socket (mysql_get_socket(): it changes while
 * connecting), watch it afresh, and arm one timer at the earlier of our deadline and the
 * connector's own timeout; what fired (READ/WRITE/EXCEPT, or TIMEOUT) goes to the next *_cont().
 * When our deadline passes we shut the socket down and resume with TIMEOUT: the connector's read,
 * write or connect fails at once and its coroutine runs to completion. A suspended coroutine is
 * never freed under the connector, whatever the server does.
 *
 * Connector/C's coroutines run on stacks it malloc()s, switched by its own x86-64 assembly (no
 * swapcontext()). Only uninstrumented connector and libc code runs there, never our callbacks, so
 * ASan and UBSan have nothing to report and need no option turned off (checked with gcc 12 and
 * clang 14, including detect_stack_use_after_return=1); see tests/integration/test-probe.sh.
 *
 * Host names: the connector would resolve them with a blocking getaddrinfo(), so it only gets
 * numeric addresses from us (resolve.h: IP literals at once, names in a helper thread whose eventfd
 * the loop watches). The connect deadline bounds the wait (PROBE_RESOLVE); no other connection
 * waits for a hung resolver, and a later attempt waits for the same job rather than starting
 * another, so there is at most one resolver thread per connection.
 *
 * What a failure was (classification, TLS messages) is db-error.c's; the structure both share is in
 * db-internal.h. */
#include <errmsg.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "db-internal.h"
#include "macro.h"
#include "resolve.h"

_Static_assert(DB_ADDRESS_MAX == RESOLVE_ADDRESS_MAX, "db_conn_address() returns resolve's addresses");

#define DB_TIMEOUT_DEFAULT_USEC USEC_PER_SEC
#define DB_TIMER_ACCURACY_USEC  (1 * USEC_PER_MSEC)
/* Resumes of a timed-out operation on its shut-down socket before we give up on it (the first
 * one always finished it in our tests). */
#define DB_FINISH_TRIES 16

static void db_connect_address(db_conn *c);
static void db_advance(db_conn *c, int status);

/* The loop's time, for deadlines. */
static uint64_t db_now(db_conn *c) {
        uint64_t t = 0;

        (void) sd_event_now(c->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* The real time, for durations: within one loop iteration the loop's time stands still. */
static uint64_t db_clock(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* ---- results ---------------------------------------------------------------------------------- */

/* Copies res (NULL for a statement without a result set) into a db_result, and frees it. Its rows
 * are NUL-terminated text-protocol values; a stored result's mysql_free_result() does no I/O. */
static int db_result_from_mysql(MYSQL *m, MYSQL_RES *res, db_result **ret) {
        size_t nc = res ? mysql_num_fields(res) : 0, nr = res ? (size_t) mysql_num_rows(res) : 0;
        bool too_big = nc > 0 && nr > SIZE_MAX / sizeof(char *) / nc - 1;
        _cleanup_free_ const char **names = calloc(nc + 1, sizeof(char *));
        _cleanup_free_ const char **cells = too_big ? NULL : calloc(nr * nc + 1, sizeof(char *));
        MYSQL_FIELD *fields = res ? mysql_fetch_fields(res) : NULL;
        MYSQL_ROW row;
        int r = -ENOMEM;

        if (names && cells) {
                for (size_t k = 0; k < nc; k++)
                        names[k] = fields[k].name;
                for (size_t i = 0; i < nr && (row = mysql_fetch_row(res)); i++)
                        memcpy(cells + i * nc, row, nc * sizeof(char *));
                r = db_result_new(nr, nc, names, cells, mysql_affected_rows(m), ret);
        }
        mysql_free_result(res);
        return r;
}

/* ---- event sources and replies ---------------------------------------------------------------- */

static int db_watch(db_conn *c, int fd, uint32_t events, sd_event_io_handler_t cb) {
        /* A fresh watch every time: the connector may have closed the old socket and got the same
         * fd number for a new one, which an existing epoll registration would silently miss. */
        c->io_source = sd_event_source_disable_unref(c->io_source);
        if (fd < 0 || events == 0)
                return 0;
        return sd_event_add_io(c->event, &c->io_source, fd, events, cb, c);
}

static int db_on_timer(sd_event_source *s, uint64_t usec, void *userdata);

static int db_arm_timer(db_conn *c, uint64_t when) {
        int r;

        if (!c->timer_source)
                return sd_event_add_time(c->event, &c->timer_source, CLOCK_MONOTONIC, when,
                        DB_TIMER_ACCURACY_USEC, db_on_timer, c);
        r = sd_event_source_set_time(c->timer_source, when);
        return r < 0 ? r : sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
}

static void db_unwatch(db_conn *c) {
        c->io_source = sd_event_source_disable_unref(c->io_source);
        if (c->timer_source)
                (void) sd_event_source_set_enabled(c->timer_source, SD_EVENT_OFF);
}

static db_conn *db_conn_unref(db_conn *c);
static void db_deliver(db_conn *c);

static int db_on_defer(sd_event_source *s, void *userdata) {
        db_conn *c = userdata;

        c->defer_source = sd_event_source_disable_unref(c->defer_source);
        db_deliver(c);
        return 0;
}

/* Calls the handler with c->result or c->error: the last thing any code path does with c. */
/* Frees the statement text, wiped first: it may carry a password (CHANGE MASTER TO ...). */
static void db_free_sql(db_conn *c) {
        if (c->sql) {
                explicit_bzero(c->sql, strlen(c->sql));
                free(c->sql);
                c->sql = NULL;
        }
}

static void db_deliver(db_conn *c) {
        db_query_handler handler = c->handler;
        void *userdata = c->userdata;
        db_error error = c->error; /* a copy: the handler may start a query that overwrites c->error */
        db_result *result;

        if (!handler)
                return;
        if (c->in_query_call) {
                /* Finished inside db_conn_query() (say, refused at once on loopback): the handler
                 * must not run before it returned. On failure here db_conn_query() fails. */
                if (!c->defer_source && sd_event_add_defer(c->event, &c->defer_source, db_on_defer, c) < 0)
                        c->defer_source = NULL;
                return;
        }
        result = TAKE_PTR(c->result);
        c->handler = NULL;
        c->userdata = NULL;
        db_free_sql(c);
        c->n_ref++; /* the handler may free c */
        handler(c,
                &(db_reply){
                        .result = result,
                        .error = result ? NULL : &error,
                        .connected = c->connected,
                        .connect_usec = c->connect_usec,
                        .query_usec = c->query_started_usec ? db_clock() - c->query_started_usec : 0,
                },
                userdata);
        db_result_free(result);
        db_conn_unref(c);
}

/* ---- dropping a connection -------------------------------------------------------------------- */

static int db_cont(db_conn *c, int ready) {
        MYSQL *m = NULL;
        int status, err = 1;

        switch (c->state) {
        case DB_STATE_CONNECTING:
                status = mysql_real_connect_cont(&m, c->mysql, ready);
                c->op_ok = m != NULL;
                return status;
        case DB_STATE_QUERYING:
                status = mysql_real_query_cont(&err, c->mysql, ready);
                c->op_ok = err == 0;
                return status;
        case DB_STATE_STORING:
                return mysql_store_result_cont(&c->res, c->mysql, ready);
        case DB_STATE_CLOSING:
                status = mysql_close_cont(c->mysql, ready);
                if (status == 0)
                        c->mysql = NULL; /* freed by mysql_close_cont() */
                return status;
        default:
                return 0;
        }
}

/* Ends what the connector is suspended in, now: shut the socket down and resume with TIMEOUT, so
 * its read, write or connect fails and its coroutine returns. False when it would not end: then
 * the handle is abandoned (c->mysql = NULL), since freeing it would free the coroutine stack it
 * still runs on. Never seen; leaking one handle is the lesser harm. */
static bool db_finish_now(db_conn *c) {
        int fd, status = 1;

        if (!c->suspended)
                return true;
        fd = mysql_get_socket(c->mysql);
        if (fd >= 0)
                (void) shutdown(fd, SHUT_RDWR);
        for (unsigned i = 0; i < DB_FINISH_TRIES && status != 0; i++)
                status = db_cont(c, MYSQL_WAIT_TIMEOUT | MYSQL_WAIT_READ | MYSQL_WAIT_WRITE);
        c->suspended = false;
        if (status == 0)
                return true;
        c->mysql = NULL;
        c->res = NULL;
        return false;
}

/* Closes the connection now, waiting for nothing. A running resolver job is kept. */
static void db_drop(db_conn *c) {
        int fd;

        db_unwatch(c);
        (void) db_finish_now(c);
        if (c->res)
                mysql_free_result(TAKE_PTR(c->res));
        if (c->mysql) {
                /* An idle plain-TCP session has an empty send buffer, so mysql_close()'s COM_QUIT
                 * cannot block; any other (or a TLS one, whose close may read) is shut first. */
                fd = mysql_get_socket(c->mysql);
                if (fd >= 0 && (c->state != DB_STATE_IDLE || c->tls))
                        (void) shutdown(fd, SHUT_RDWR);
                mysql_close(TAKE_PTR(c->mysql));
        }
        c->state = DB_STATE_DISCONNECTED;
}

/* Fails the query with c->error, dropping the connection when asked or when it is gone. */
static void db_fail(db_conn *c, bool drop) {
        if (drop || !c->mysql)
                db_drop(c);
        else {
                db_unwatch(c);
                c->state = DB_STATE_IDLE;
        }
        db_deliver(c);
}

static void db_fail_mysql(db_conn *c) {
        db_error_from_mysql(c, &c->error);
        db_fail(c, c->state == DB_STATE_CONNECTING || c->timed_out || db_error_kills_connection(&c->error));
}

static void db_fail_internal(db_conn *c, int r, const char *what) {
        db_error_set(&c->error, PROBE_INTERNAL, 0, -r, "%s: %s", what, strerror(-r));
        db_fail(c, true);
}

/* ---- name resolution -------------------------------------------------------------------------- */

/* Takes the finished job's answer and connects, or fails with PROBE_RESOLVE. */
static void db_resolved(db_conn *c) {
        const resolve_result *a = resolve_job_result(c->job);
        int gai_error = a->gai_error;

        db_unwatch(c); /* before the job, and its eventfd, may go */
        c->state = DB_STATE_DISCONNECTED;
        if (gai_error == 0)
                c->resolved = *a;
        c->job = resolve_job_unref(c->job);
        if (gai_error != 0) {
                db_error_set(&c->error, PROBE_RESOLVE, CR_UNKNOWN_HOST, 0, "cannot resolve '%s': %s",
                        c->host, gai_strerror(gai_error));
                db_deliver(c);
        } else
                db_connect_address(c);
}

static int db_on_resolved(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        db_conn *c = userdata;

        if (resolve_job_result(c->job))
                db_resolved(c);
        return 0;
}

static void db_start_resolve(db_conn *c) {
        int r;

        /* A job still running (a slow resolver) is waited for again, not joined by a second thread.
         * One that finished after the last attempt gave up is this attempt's answer (so a resolver
         * slower than the timeout still gets us connected); the attempt after asks afresh. */
        if (resolve_job_result(c->job)) {
                db_resolved(c);
                return;
        }
        if (!c->job) {
                r = resolve_job_start(c->host, &c->job);
                if (r < 0) {
                        db_fail_internal(c, r, "cannot start a resolver thread");
                        return;
                }
        }
        c->state = DB_STATE_RESOLVING;
        r = db_watch(c, resolve_job_fd(c->job), EPOLLIN, db_on_resolved);
        if (r >= 0)
                r = db_arm_timer(c, c->deadline_usec);
        if (r < 0)
                db_fail_internal(c, r, "cannot watch the resolver");
}

/* ---- the operations --------------------------------------------------------------------------- */

static int db_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        db_conn *c = userdata;
        int ready = 0;

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                ready |= MYSQL_WAIT_READ;
        if (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                ready |= MYSQL_WAIT_WRITE;
        if (revents & EPOLLPRI)
                ready |= MYSQL_WAIT_EXCEPT;
        /* The connector may close this socket inside db_cont() (a failed connect): drop our epoll
         * watch first. Removing it after the close fails with EBADF, and when a forked hook still
         * holds a copy of the descriptor the stale epoll entry outlives our source (sd-event then
         * aborts on it). db_advance() watches the connector's socket afresh. */
        c->io_source = sd_event_source_disable_unref(c->io_source);
        db_advance(c, db_cont(c, ready));
        return 0;
}

static int db_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        db_conn *c = userdata;

        if (c->state == DB_STATE_RESOLVING) {
                db_unwatch(c); /* the job runs on; the next attempt waits for it again */
                c->state = DB_STATE_DISCONNECTED;
                db_error_set(&c->error, PROBE_RESOLVE, 0, ETIMEDOUT,
                        "resolving '%s' took longer than the deadline", c->host);
                db_deliver(c);
        } else if (usec < c->deadline_usec) {
                c->io_source = sd_event_source_disable_unref(c->io_source); /* as in db_on_io() */
                db_advance(c, db_cont(c, MYSQL_WAIT_TIMEOUT)); /* the connector's own timeout: it decides */
        }
        else {
                c->timed_out = true;
                if (db_finish_now(c))
                        db_advance(c, 0);
                else {
                        db_error_from_mysql(c, &c->error);
                        db_fail(c, true);
                }
        }
        return 0;
}

static void db_start_query(db_conn *c) {
        int status, err = 1;

        c->state = DB_STATE_QUERYING;
        c->deadline_usec = c->query_deadline_usec;
        c->timed_out = false;
        c->query_started_usec = db_clock();
        status = mysql_real_query_start(&err, c->mysql, c->sql, strlen(c->sql));
        c->op_ok = err == 0;
        db_advance(c, status);
}

static void db_connect_done(db_conn *c) {
        if (!c->op_ok) {
                db_error_from_mysql(c, &c->error);
                db_drop(c);
                if (c->error.error_class == PROBE_REFUSED && c->i_address + 1 < c->resolved.n_addresses) {
                        c->i_address++; /* "localhost" may give ::1 first, the server be on 127.0.0.1 */
                        db_connect_address(c);
                } else
                        db_deliver(c);
                return;
        }
        /* TLS was asked for and must be there: should the connector have fallen back to plain TCP
         * (it does when the server offers no TLS and nothing is verified), refuse the session. */
        if (c->tls && !mysql_get_ssl_cipher(c->mysql)) {
                db_error_set_no_tls(c, &c->error);
                db_drop(c);
                db_deliver(c);
                return;
        }
        /* The connector keeps a copy of the password for reconnecting, which we never ask of it. */
        if (c->mysql->passwd)
                explicit_bzero(c->mysql->passwd, strlen(c->mysql->passwd));
        c->connect_usec = db_clock() - c->connect_started_usec;
        db_start_query(c);
}

static void db_query_done(db_conn *c) {
        MYSQL_RES *res = TAKE_PTR(c->res);
        int r;

        if (!res && mysql_field_count(c->mysql) > 0) {
                db_fail_mysql(c);
                return;
        }
        r = db_result_from_mysql(c->mysql, res, &c->result);
        c->state = DB_STATE_IDLE;
        if (r < 0)
                db_error_set(&c->error, PROBE_INTERNAL, 0, -r, "cannot copy the result: %s", strerror(-r));
        db_deliver(c);
}

/* After every *_start() and *_cont(): wait for what the connector asks, or act on its result. */
static void db_advance(db_conn *c, int status) {
        uint64_t when = c->deadline_usec, t;
        int r, fd;

        c->suspended = status != 0;
        if (status != 0) {
                fd = mysql_get_socket(c->mysql); /* re-read every time: it changes while connecting */
                if (fd >= 0 && fd != c->cloexec_fd) {
                        /* Opened without SOCK_CLOEXEC by the connector: hooks must not inherit it. */
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                        c->cloexec_fd = fd;
                }
                r = db_watch(c, fd,
                        (status & MYSQL_WAIT_READ ? EPOLLIN : 0) |
                                (status & MYSQL_WAIT_WRITE ? EPOLLOUT : 0) |
                                (status & MYSQL_WAIT_EXCEPT ? EPOLLPRI : 0),
                        db_on_io);
                if (status & MYSQL_WAIT_TIMEOUT) {
                        t = db_now(c) + (uint64_t) mysql_get_timeout_value_ms(c->mysql) * USEC_PER_MSEC;
                        when = t < when ? t : when;
                }
                if (r >= 0)
                        r = db_arm_timer(c, when);
                if (r < 0)
                        db_fail_internal(c, r, "cannot watch the connection");
                return;
        }
        db_unwatch(c);
        if (c->state == DB_STATE_CONNECTING)
                db_connect_done(c);
        else if (c->state == DB_STATE_QUERYING && !c->op_ok)
                db_fail_mysql(c);
        else if (c->state == DB_STATE_QUERYING) {
                c->state = DB_STATE_STORING;
                db_advance(c, mysql_store_result_start(&c->res, c->mysql));
        } else if (c->state == DB_STATE_STORING)
                db_query_done(c);
        else if (c->state == DB_STATE_CLOSING) {
                c->mysql = NULL; /* mysql_close_start() or _cont() freed it */
                c->state = DB_STATE_DISCONNECTED;
        }
}

static void db_connect_address(db_conn *c) {
        unsigned connect_s = (unsigned) (c->connect_timeout_usec / USEC_PER_SEC) + 2;
        unsigned query_s = (unsigned) (c->query_timeout_usec / USEC_PER_SEC) + 2;
        unsigned protocol = MYSQL_PROTOCOL_TCP;
        my_bool verify = c->tls_verify, enforce = 1;
        MYSQL *m = NULL;

        /* The connector's timeouts (whole seconds) are only a backstop behind our deadlines. */
        c->mysql = mysql_init(NULL);
        if (!c->mysql || mysql_options(c->mysql, MYSQL_OPT_NONBLOCK, NULL) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_READ_TIMEOUT, &query_s) != 0 ||
                mysql_options(c->mysql, MYSQL_OPT_WRITE_TIMEOUT, &query_s) != 0 ||
                mysql_options(c->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
                (c->tls &&
                        (mysql_options(c->mysql, MYSQL_OPT_SSL_ENFORCE, &enforce) != 0 ||
                                mysql_options(c->mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify) != 0 ||
                                (c->tls_ca && mysql_options(c->mysql, MYSQL_OPT_SSL_CA, c->tls_ca) != 0) ||
                                (c->tls_cert &&
                                        mysql_options(c->mysql, MYSQL_OPT_SSL_CERT, c->tls_cert) != 0) ||
                                (c->tls_key &&
                                        mysql_options(c->mysql, MYSQL_OPT_SSL_KEY, c->tls_key) != 0)))) {
                db_fail_internal(c, -ENOMEM, "cannot set up a connection");
                return;
        }
        c->state = DB_STATE_CONNECTING;
        c->timed_out = false;
        db_advance(c, mysql_real_connect_start(&m, c->mysql, c->resolved.addresses[c->i_address], c->user,
                              c->password, NULL, c->port, NULL, 0));
        /* (m, the result, is c->mysql on success; db_cont() records how it went) */
}

static void db_start_connect(db_conn *c) {
        uint64_t now = db_now(c);

        c->connected = true;
        c->reconnect = false;
        c->connect_started_usec = db_clock();
        c->deadline_usec = c->query_deadline_usec;
        if (now + c->connect_timeout_usec < c->deadline_usec)
                c->deadline_usec = now + c->connect_timeout_usec;
        c->resolved.n_addresses = c->i_address = 0;
        if (resolve_numeric(c->host, &c->resolved)) /* an IP literal: no lookup, no thread */
                db_connect_address(c);
        else
                db_start_resolve(c);
}

/* Whether an idle connection was closed by the server meanwhile (restart, wait_timeout, KILL):
 * EOF, an error, or bytes nobody asked for (a last error packet). Then we reconnect before
 * sending, rather than fail this query and reconnect for the next. */
static bool db_idle_connection_is_stale(db_conn *c) {
        int fd = mysql_get_socket(c->mysql);
        char b;

        return fd < 0 ||
               !(recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EINTR));
}

/* ---- public ----------------------------------------------------------------------------------- */

/* *ret = a copy of s, or NULL for NULL. 0 or -ENOMEM. */
static int db_strdup_null(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

int db_conn_new(sd_event *e, const db_conn_params *p, db_conn **ret) {
        _cleanup_(db_conn_freep) db_conn *c = NULL;

        if (!e || !p || !ret || !p->host || !*p->host || !p->user || p->port == 0)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->cloexec_fd = -1;
        c->event = sd_event_ref(e);
        c->port = p->port;
        c->connect_timeout_usec = p->connect_timeout_usec ?: DB_TIMEOUT_DEFAULT_USEC;
        c->query_timeout_usec = p->query_timeout_usec ?: DB_TIMEOUT_DEFAULT_USEC;
        c->tls = p->tls.enabled;
        c->tls_verify = p->tls.enabled && p->tls.verify_server_cert;
        c->host = strdup(p->host);
        c->user = strdup(p->user);
        c->password = strdup(p->password ?: "");
        if (!c->host || !c->user || !c->password)
                return -ENOMEM;
        if (c->tls && (db_strdup_null(p->tls.ca_file, &c->tls_ca) < 0 ||
                              db_strdup_null(p->tls.cert_file, &c->tls_cert) < 0 ||
                              db_strdup_null(p->tls.key_file, &c->tls_key) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

void db_conn_abort(db_conn *c) {
        if (!c)
                return;
        db_drop(c);
        c->defer_source = sd_event_source_disable_unref(c->defer_source);
        c->handler = NULL;
        c->userdata = NULL;
        db_free_sql(c);
        c->result = db_result_free(c->result);
}

static db_conn *db_conn_unref(db_conn *c) {
        if (!c || --c->n_ref > 0)
                return NULL;
        db_conn_abort(c);
        resolve_job_unref(c->job); /* after db_drop() removed the watch on its eventfd */
        c->timer_source = sd_event_source_disable_unref(c->timer_source);
        sd_event_unref(c->event);
        if (c->password)
                explicit_bzero(c->password, strlen(c->password));
        free(c->password);
        free(c->host);
        free(c->user);
        free(c->tls_ca);
        free(c->tls_cert);
        free(c->tls_key);
        free(c);
        return NULL;
}

db_conn *db_conn_free(db_conn *c) {
        db_conn_abort(c); /* now, even when a handler up the stack still holds a reference */
        return db_conn_unref(c);
}

int db_conn_query(
        db_conn *c, const char *sql, uint64_t deadline_usec, db_query_handler handler, void *userdata) {
        if (!c || !sql || !*sql || !handler)
                return -EINVAL;
        if (c->handler || (c->state != DB_STATE_DISCONNECTED && c->state != DB_STATE_IDLE))
                return -EBUSY;
        c->sql = strdup(sql);
        if (!c->sql)
                return -ENOMEM;
        c->query_deadline_usec =
                deadline_usec ?: db_now(c) + c->connect_timeout_usec + c->query_timeout_usec;
        c->handler = handler;
        c->userdata = userdata;
        c->connected = false;
        c->connect_usec = c->query_started_usec = 0;
        c->error = (db_error){};

        c->in_query_call = true;
        if (c->state == DB_STATE_IDLE && (c->reconnect || db_idle_connection_is_stale(c)))
                db_drop(c);
        if (c->state == DB_STATE_DISCONNECTED)
                db_start_connect(c);
        else
                db_start_query(c);
        c->in_query_call = false;
        if (c->handler && !c->suspended && !c->defer_source && c->state != DB_STATE_RESOLVING) {
                db_conn_abort(c); /* finished at once, and the deferred delivery could not be set up */
                return -ENOMEM;
        }
        return 0;
}

int db_conn_close(db_conn *c) {
        if (!c)
                return -EINVAL;
        if (c->handler)
                return -EBUSY;
        if (c->state != DB_STATE_IDLE)
                return 0;
        c->state = DB_STATE_CLOSING;
        c->deadline_usec = db_now(c) + c->connect_timeout_usec;
        c->timed_out = false;
        db_advance(c, mysql_close_start(c->mysql));
        return 0;
}

void db_conn_reconnect(db_conn *c) {
        if (c)
                c->reconnect = true;
}

bool db_conn_is_busy(const db_conn *c) {
        return c && (c->handler || c->state == DB_STATE_CLOSING);
}

bool db_conn_is_connected(const db_conn *c) {
        return c && c->mysql &&
               (c->state == DB_STATE_IDLE || c->state == DB_STATE_QUERYING || c->state == DB_STATE_STORING);
}

const char *db_conn_address(const db_conn *c) {
        return c && c->resolved.n_addresses > 0 ? c->resolved.addresses[c->i_address] : "";
}
