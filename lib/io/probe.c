#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "probe.h"

#define PROBE_TIMEOUT_DEFAULT_USEC USEC_PER_SEC
#define PROBE_TIMER_ACCURACY_USEC  (1 * USEC_PER_MSEC)

typedef enum probe_step {
        PROBE_STEP_VARIABLES,
        PROBE_STEP_SEMI_SYNC,
        PROBE_STEP_REPLICATION,
        _PROBE_STEP_MAX,
        _PROBE_STEP_INVALID = -EINVAL,
} probe_step;

static const char *const probe_step_query[_PROBE_STEP_MAX] = {
        [PROBE_STEP_VARIABLES] = PROBE_QUERY_VARIABLES,
        [PROBE_STEP_SEMI_SYNC] = PROBE_QUERY_SEMI_SYNC,
        [PROBE_STEP_REPLICATION] = PROBE_QUERY_REPLICATION,
};

struct probe {
        unsigned n_ref;
        bool freed;
        sd_event *event;
        db_conn *conn;
        uint64_t timeout_usec;

        /* The round in progress. */
        bool running;
        probe_step step;
        bool retried;
        uint64_t seq;
        uint64_t deadline_usec;
        server_status status;
        probe_handler handler;
        void *userdata;

        /* probe_schedule() */
        sd_event_source *tick_source;
        uint64_t next_usec;
        uint64_t interval_usec;
        probe_handler tick_handler;
        void *tick_userdata;
};

static uint64_t probe_now(probe *p) {
        uint64_t t = 0;

        (void) sd_event_now(p->event, CLOCK_MONOTONIC, &t);
        return t;
}

static probe *probe_unref(probe *p) {
        if (!p || --p->n_ref > 0)
                return NULL;
        p->tick_source = sd_event_source_disable_unref(p->tick_source);
        db_conn_free(p->conn);
        server_status_done(&p->status);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}

int probe_new(sd_event *e, const probe_params *params, probe **ret) {
        _cleanup_(probe_freep) probe *p = NULL;
        int r;

        if (!e || !params || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        p->event = sd_event_ref(e);
        p->timeout_usec = params->timeout_usec ?: PROBE_TIMEOUT_DEFAULT_USEC;
        r = db_conn_new(e,
                &(db_conn_params){
                        .host = params->host,
                        .port = params->port,
                        .user = params->user,
                        .password = params->password,
                        .connect_timeout_usec = p->timeout_usec,
                        .query_timeout_usec = p->timeout_usec,
                        .tls = params->tls,
                },
                &p->conn);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

probe *probe_free(probe *p) {
        if (!p)
                return NULL;
        p->freed = true;
        p->running = false;
        p->handler = NULL;
        p->tick_source = sd_event_source_disable_unref(p->tick_source);
        db_conn_abort(p->conn);
        return probe_unref(p);
}

/* Hands the finished round to its handler. The last thing any code path does with p. */
static void probe_finish(probe *p) {
        server_status s = p->status;
        probe_handler handler = p->handler;
        void *userdata = p->userdata;

        p->status = (server_status){};
        p->running = false;
        p->handler = NULL;
        p->userdata = NULL;
        s.finished_usec = probe_now(p);
        s.reachable = probe_error_class_is_alive(s.error_class);
        if (handler)
                handler(p, &s, userdata);
        server_status_done(&s);
}

_printf_(4, 5) static void probe_fail(probe *p, probe_error_class c, uint32_t number, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        if (server_status_set_error(&p->status, c, number, m ?: "out of memory") < 0) {
                p->status.error_class = c;
                p->status.error_number = number;
        }
        probe_finish(p);
}

/* ---- parsing ---------------------------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, UINT32_MAX, &v);

        if (r >= 0)
                *ret = (uint32_t) v;
        return r;
}

static int parse_strdup(const char *s, char **ret) {
        free(*ret);
        *ret = strdup(s ?: "");
        return *ret ? 0 : -ENOMEM;
}

/* Parsing fails with the name of what could not be parsed in *ret_what. */
static int parse_variables(const db_result *res, server_status *s, const char **ret_what) {
        static const char *const names[] = {"@@read_only", "@@server_id", "@@version", "@@gtid_current_pos",
                "@@gtid_binlog_pos", "@@gtid_slave_pos", "@@log_bin", "@@log_slave_updates",
                "@@rpl_semi_sync_master_enabled", "@@rpl_semi_sync_slave_enabled"};
        const char *v[ELEMENTSOF(names)];
        size_t i = 0;
        int r = 0;

        if (db_result_n_rows(res) != 1 || db_result_n_columns(res) != ELEMENTSOF(names)) {
                *ret_what = "the variables query (row or column count)";
                return -EINVAL;
        }
        for (size_t k = 0; k < ELEMENTSOF(names); k++)
                v[k] = db_result_value(res, 0, k);
        /* On failure, i is the index of the value that failed. */
        if ((r = server_status_parse_bool(v[i], &s->read_only)) < 0 ||
                (r = parse_u32(v[++i], &s->server_id)) < 0 || (r = parse_strdup(v[++i], &s->version)) < 0 ||
                (r = gtid_list_parse(v[++i] ?: "", &s->gtid_current_pos)) < 0 ||
                (r = gtid_list_parse(v[++i] ?: "", &s->gtid_binlog_pos)) < 0 ||
                (r = gtid_list_parse(v[++i] ?: "", &s->gtid_slave_pos)) < 0 ||
                (r = server_status_parse_bool(v[++i], &s->log_bin)) < 0 ||
                (r = server_status_parse_bool(v[++i], &s->log_slave_updates)) < 0 ||
                (r = server_status_parse_bool(v[++i], &s->semi_sync_master_enabled)) < 0 ||
                (r = server_status_parse_bool(v[++i], &s->semi_sync_slave_enabled)) < 0) {
                *ret_what = names[i];
                return r;
        }
        s->have_variables = true;
        return 0;
}

static int parse_semi_sync(const db_result *res, server_status *s, const char **ret_what) {
        bool have_status = false, have_clients = false;

        for (size_t i = 0; i < db_result_n_rows(res); i++) {
                const char *name = db_result_value(res, i, 0), *value = db_result_value(res, i, 1);

                if (streq_ptr(name, "Rpl_semi_sync_master_status")) {
                        *ret_what = name;
                        if (server_status_parse_bool(value, &s->semi_sync_master_status) < 0)
                                return -EINVAL;
                        have_status = true;
                } else if (streq_ptr(name, "Rpl_semi_sync_master_clients")) {
                        *ret_what = name;
                        if (parse_u64(value, UINT64_MAX, &s->semi_sync_master_clients) < 0)
                                return -EINVAL;
                        have_clients = true;
                }
        }
        /* Both are built in since MariaDB 10.3; absent, semi-sync is simply unknown. */
        s->have_semi_sync_status = have_status && have_clients;
        return 0;
}

static int parse_replication_row(
        const db_result *res, size_t row, server_replication *t, const char **ret_what) {
#define FIELD(name) (*ret_what = (name), db_result_value_by_name(res, row, (name)))
        const char *v;
        uint64_t u;
        int r;

        if ((r = parse_strdup(FIELD("Connection_name"), &t->connection_name)) < 0 ||
                (r = parse_strdup(FIELD("Master_Host"), &t->master_host)) < 0)
                return r;
        if (parse_u64(FIELD("Master_Port"), UINT16_MAX, &u) < 0)
                return -EINVAL;
        t->master_port = (uint16_t) u;
        v = FIELD("Master_Server_Id");
        if (v && parse_u32(v, &t->master_server_id) < 0)
                return -EINVAL;
        if ((t->io_running = replica_io_state_from_string(FIELD("Slave_IO_Running"))) < 0)
                return -EINVAL;
        if (server_status_parse_bool(FIELD("Slave_SQL_Running"), &t->sql_running) < 0)
                return -EINVAL;
        if ((t->using_gtid = replica_using_gtid_from_string(FIELD("Using_Gtid"))) < 0)
                return -EINVAL;
        if ((r = gtid_list_parse(FIELD("Gtid_IO_Pos") ?: "", &t->gtid_io_pos)) < 0)
                return r;
        v = FIELD("Seconds_Behind_Master");
        t->seconds_behind_master_known = v != NULL;
        if (v && parse_u64(v, UINT64_MAX, &t->seconds_behind_master) < 0)
                return -EINVAL;
        if (parse_u32(FIELD("Last_IO_Errno"), &t->last_io_errno) < 0 ||
                (r = parse_strdup(FIELD("Last_IO_Error"), &t->last_io_error)) < 0 ||
                parse_u32(FIELD("Last_SQL_Errno"), &t->last_sql_errno) < 0 ||
                (r = parse_strdup(FIELD("Last_SQL_Error"), &t->last_sql_error)) < 0)
                return r < 0 ? r : -EINVAL;
        return 0;
#undef FIELD
}

static int parse_replication(const db_result *res, server_status *s, const char **ret_what) {
        size_t n = db_result_n_rows(res);
        int r;

        *ret_what = "SHOW ALL SLAVES STATUS";
        if (n > 0) {
                s->replication = calloc(n, sizeof(server_replication));
                if (!s->replication)
                        return -ENOMEM;
        }
        for (; s->n_replication < n; s->n_replication++) {
                r = parse_replication_row(
                        res, s->n_replication, &s->replication[s->n_replication], ret_what);
                if (r < 0) {
                        s->n_replication++; /* so that server_status_done() frees the partial row */
                        return r;
                }
        }
        s->have_replication = true;
        return 0;
}

/* ---- a round ---------------------------------------------------------------------------------- */

static void probe_on_reply(db_conn *c, const db_reply *reply, void *userdata);

static void probe_next_query(probe *p) {
        int r;

        r = db_conn_query(p->conn, probe_step_query[p->step], p->deadline_usec, probe_on_reply, p);
        if (r < 0)
                probe_fail(p, PROBE_INTERNAL, 0, "cannot send the query: %s", strerror(-r));
}

static void probe_on_reply(db_conn *c, const db_reply *reply, void *userdata) {
        probe *p = userdata;
        const char *what = "?";
        int r;

        if (p->step == PROBE_STEP_VARIABLES) {
                p->status.connected = reply->connected;
                p->status.connect_usec = reply->connect_usec;
                if (reply->result)
                        p->status.latency_usec = reply->query_usec;
        }
        if (reply->error && reply->error->error_class == PROBE_LOST && !reply->connected && !p->retried) {
                /* The server closed our persistent connection just now (restart, kill, wait_timeout)
                 * after db.c's idle check. Every probe query is read-only, so sending it again over a
                 * new connection is safe: once per round, within the same deadline. */
                p->retried = true;
                probe_next_query(p);
                return;
        }
        if (reply->error) {
                probe_fail(p, reply->error->error_class, reply->error->number, "%s", reply->error->message);
                return;
        }
        switch (p->step) {
        case PROBE_STEP_VARIABLES:
                r = parse_variables(reply->result, &p->status, &what);
                break;
        case PROBE_STEP_SEMI_SYNC:
                r = parse_semi_sync(reply->result, &p->status, &what);
                break;
        case PROBE_STEP_REPLICATION:
                r = parse_replication(reply->result, &p->status, &what);
                break;
        default:
                r = -EINVAL;
        }
        if (r == -ENOMEM) {
                probe_fail(p, PROBE_INTERNAL, 0, "out of memory");
                return;
        }
        if (r < 0) {
                probe_fail(p, PROBE_PROTOCOL, 0, "cannot parse %s", what);
                return;
        }
        if (++p->step < _PROBE_STEP_MAX) {
                probe_next_query(p);
                return;
        }
        (void) server_status_set_error(&p->status, PROBE_OK, 0, NULL);
        probe_finish(p);
}

int probe_run(probe *p, probe_handler handler, void *userdata) {
        uint64_t now;
        bool freed;
        int r;

        if (!p || !handler || p->freed)
                return -EINVAL;
        if (p->running) {
                /* Never stack rounds: the overdue one ends now, as the timeout it is. */
                db_conn_abort(p->conn);
                p->n_ref++;
                probe_fail(p, PROBE_NO_ANSWER, 0, "round still running when the next one was due");
                freed = p->freed;
                probe_unref(p);
                if (freed)
                        return -ECANCELED;
        }
        if (db_conn_is_busy(p->conn))
                db_conn_abort(p->conn); /* a graceful close (probe_close()) still under way */
        now = probe_now(p);
        server_status_done(&p->status);
        p->status = (server_status){.seq = ++p->seq, .started_usec = now};
        p->deadline_usec = now + p->timeout_usec;
        p->step = PROBE_STEP_VARIABLES;
        p->retried = false;
        r = db_conn_query(p->conn, probe_step_query[p->step], p->deadline_usec, probe_on_reply, p);
        if (r < 0)
                return r; /* the handler is only ever called from the loop */
        p->handler = handler;
        p->userdata = userdata;
        p->running = true;
        return 0;
}

bool probe_is_running(const probe *p) {
        return p && p->running;
}

/* ---- schedule --------------------------------------------------------------------------------- */

static int probe_on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        probe *p = userdata;
        uint64_t now = probe_now(p);

        /* Re-arm first: the round's handler may free p. */
        p->next_usec += p->interval_usec;
        if (p->next_usec <= now)
                p->next_usec +=
                        (now - p->next_usec) / p->interval_usec * p->interval_usec + p->interval_usec;
        if (sd_event_source_set_time(s, p->next_usec) >= 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        (void) probe_run(p, p->tick_handler, p->tick_userdata);
        return 0;
}

int probe_schedule(
        probe *p, uint64_t first_usec, uint64_t interval_usec, probe_handler handler, void *userdata) {
        int r;

        if (!p || !handler || interval_usec == 0)
                return -EINVAL;
        p->next_usec = first_usec ?: probe_now(p);
        p->interval_usec = interval_usec;
        p->tick_handler = handler;
        p->tick_userdata = userdata;
        if (!p->tick_source)
                return sd_event_add_time(p->event, &p->tick_source, CLOCK_MONOTONIC, p->next_usec,
                        PROBE_TIMER_ACCURACY_USEC, probe_on_tick, p);
        r = sd_event_source_set_time(p->tick_source, p->next_usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(p->tick_source, SD_EVENT_ONESHOT);
}

void probe_unschedule(probe *p) {
        if (p)
                p->tick_source = sd_event_source_disable_unref(p->tick_source);
}

int probe_close(probe *p) {
        if (!p)
                return -EINVAL;
        if (p->running)
                return -EBUSY;
        return db_conn_close(p->conn);
}

void probe_reconnect(probe *p) {
        if (p)
                db_conn_reconnect(p->conn);
}

db_conn *probe_get_conn(const probe *p) {
        return p ? p->conn : NULL;
}
