/* The statements of server-action.c's plans and what their results mean; the rejoin rule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server-action-internal.h"

#define ACTION_SELECT                                                                                       \
        "SELECT @@global.read_only, @@global.gtid_binlog_pos, @@global.gtid_current_pos, "                  \
        "@@global.gtid_slave_pos, @@global.gtid_binlog_state, @@global.rpl_semi_sync_master_enabled, "      \
        "@@global.rpl_semi_sync_slave_enabled, FIND_IN_SET('NO_BACKSLASH_ESCAPES', @@session.sql_mode) > 0"
/* Spares ours, the sentinel account's (its user name from USER(), "name@client-host", cut at the last
 * '@': no quoting needed), system users (replica SQL/IO threads, event scheduler) and replication. */
#define FENCE_PROCESSLIST                                                                                   \
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "                        \
        "AND USER NOT IN ('system user', 'event_scheduler') "                                               \
        "AND USER <> SUBSTRING(USER(), 1, CHAR_LENGTH(USER()) - CHAR_LENGTH(SUBSTRING_INDEX(USER(), '@', "  \
        "-1)) - 1) AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', "           \
        "'Slave_SQL', 'Slave_worker', 'Killed')"

/* ---- SQL -------------------------------------------------------------------------------------- */

/* s as a single-quoted SQL string: ' doubled (valid in every sql_mode), \ doubled unless the session
 * has NO_BACKSLASH_ESCAPES (where it is an ordinary character). NULL when out of memory. */
static char *sql_quote(const char *s, bool no_backslash_escapes) {
        size_t n = strlen(s);
        char *q = malloc(2 * n + 3), *p = q;

        if (!q)
                return NULL;
        *p++ = '\'';
        for (; *s; s++) {
                if (*s == '\'' || (*s == '\\' && !no_backslash_escapes))
                        *p++ = *s;
                *p++ = *s;
        }
        *p++ = '\'';
        *p = 0;
        return q;
}

/* The canonical text of l (digits, '-' and ',': safe inside quotes), or NULL when out of memory. */
static char *gtid_str(const gtid_list *l) {
        char *s = NULL;

        return gtid_list_format(l, &s) < 0 ? NULL : s;
}

/* CHANGE MASTER TO for a->src, every value quoted; our copy of the quoted password is wiped. */
static int change_master_sql(server_action *a, char **ret) {
        bool nbe = a->no_backslash_escapes, tls = a->src.use_tls;
        _cleanup_free_ char *host = sql_quote(a->src.host, nbe), *user = sql_quote(a->src.user, nbe),
                            *ca = sql_quote(tls && a->src.tls_ca ? a->src.tls_ca : "", nbe);
        char *password = sql_quote(a->src.password, nbe);
        int r = -ENOMEM;

        if (host && user && ca && password &&
                asprintf(ret,
                        "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%u, MASTER_USER=%s, "
                        "MASTER_PASSWORD=%s, "
                        "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_SSL=%d, "
                        "MASTER_SSL_CA=%s, "
                        "MASTER_SSL_VERIFY_SERVER_CERT=%d",
                        host, a->src.port, user, password, tls, ca,
                        tls && a->src.tls_verify_server_cert) >= 0)
                r = 0;
        wipe_free(password);
        return r;
}

/* The statement of step s, new in *ret. */
int server_action_step_sql(server_action *a, step s, char **ret) {
        uint64_t now = server_action_now(a), left = a->deadline_usec > now ? a->deadline_usec - now : 0;
        uint64_t margin = left / 5 < 200 * USEC_PER_MSEC ? left / 5 : 200 * USEC_PER_MSEC;
        _cleanup_free_ char *v = NULL;
        int n = -1;

        switch (s) {
        case STEP_OBSERVE:
        case STEP_REOBSERVE:
        case STEP_CONFIRM:
                return (*ret = strdup(ACTION_SELECT)) ? 0 : -ENOMEM;
        case STEP_SLAVES:
        case STEP_RECEIVED:
                return (*ret = strdup("SHOW ALL SLAVES STATUS")) ? 0 : -ENOMEM;
        case STEP_READ_ONLY_ON:
                n = asprintf(ret, "SET STATEMENT lock_wait_timeout=%d FOR SET GLOBAL read_only=ON",
                        left >= 2 * USEC_PER_SEC ? 1 : 0);
                break;
        case STEP_PROCESSLIST:
                return (*ret = strdup(FENCE_PROCESSLIST)) ? 0 : -ENOMEM;
        case STEP_KILL:
                n = asprintf(ret, "KILL CONNECTION %llu", (unsigned long long) a->kill_ids[a->i_kill]);
                break;
        case STEP_SLAVE_SEMI:
                n = asprintf(ret, "SET GLOBAL rpl_semi_sync_slave_enabled=%s",
                        a->type != SERVER_ACTION_PROMOTE && a->src.semi_sync ? "ON" : "OFF");
                break;
        case STEP_RESET_SLAVE:
                if (!(v = sql_quote(a->connections[a->i_reset], a->no_backslash_escapes)))
                        return -ENOMEM;
                n = asprintf(ret, "RESET SLAVE %s ALL", v);
                break;
        case STEP_SET_SLAVE_POS:
                if (!(v = gtid_str(&a->history)))
                        return -ENOMEM;
                n = asprintf(ret, "SET GLOBAL gtid_slave_pos='%s'", v);
                break;
        case STEP_CHANGE_MASTER:
                return change_master_sql(a, ret);
        case STEP_REPLICA_STATE:
                return (*ret = strdup("SHOW SLAVE STATUS")) ? 0 : -ENOMEM;
        case STEP_GTID_WAIT:
                if (!(v = gtid_str(&a->wait_pos)))
                        return -ENOMEM;
                n = asprintf(ret, "SELECT MASTER_GTID_WAIT('%s', %.3f)", v,
                        (double) (left - margin) / (double) USEC_PER_SEC);
                break;
        default: /* the fixed ones: their name is their SQL */
                return (*ret = strdup(server_action_step_name[s])) ? 0 : -ENOMEM;
        }
        return n < 0 ? -ENOMEM : 0;
}

/* A MariaDB boolean; false also when unparseable or NULL. */
static bool bool_value(const char *s) {
        bool b = false;

        return server_status_parse_bool(s, &b) >= 0 && b;
}

/* ---- reading results -------------------------------------------------------------------------- */

/* The SELECT's one row into a->r (replacing what an earlier one read); -EINVAL when malformed. */
static int parse_variables(server_action *a, const db_result *res) {
        server_action_result *r = &a->r;
        const char *v[8];
        gtid_list l[3] = {};
        char *state;
        bool b[3];
        int k;

        if (db_result_n_rows(res) != 1 || db_result_n_columns(res) != ELEMENTSOF(v))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                v[i] = db_result_value(res, 0, i);
        if (server_status_parse_bool(v[0], &b[0]) < 0 || server_status_parse_bool(v[5], &b[1]) < 0 ||
                server_status_parse_bool(v[6], &b[2]) < 0)
                return -EINVAL;
        for (k = 0; k < 3; k++)
                if (gtid_list_parse(v[1 + k] ?: "", &l[k]) < 0)
                        break;
        state = strdup(v[4] ?: "");
        if (k < 3 || !state) {
                for (int j = 0; j < k; j++)
                        gtid_list_done(&l[j]);
                free(state);
                return -EINVAL;
        }
        gtid_list_done(&r->gtid_binlog_pos);
        gtid_list_done(&r->gtid_current_pos);
        gtid_list_done(&r->gtid_slave_pos);
        free((char *) r->gtid_binlog_state);
        r->gtid_binlog_pos = l[0];
        r->gtid_current_pos = l[1];
        r->gtid_slave_pos = l[2];
        r->gtid_binlog_state = state;
        r->read_only = b[0];
        r->semi_sync_master_enabled = b[1];
        r->semi_sync_slave_enabled = b[2];
        r->have_variables = true;
        a->no_backslash_escapes = bool_value(v[7]);
        return 0;
}

#define FIELD(res, row, name) (db_result_value_by_name((res), (row), (name)) ?: "")

/* Whether connection '' in row runs from src exactly as the action would set it up. */
static bool row_follows_source(server_action *a, const db_result *res, size_t row) {
        const server_action_source *s = &a->src;
        bool tls = s->use_tls;

        return streq(FIELD(res, row, "Master_Host"), s->host) &&
               atoi(FIELD(res, row, "Master_Port")) == s->port &&
               streq(FIELD(res, row, "Master_User"), s->user) &&
               replica_using_gtid_from_string(FIELD(res, row, "Using_Gtid")) ==
                       REPLICA_USING_GTID_SLAVE_POS &&
               replica_io_state_from_string(FIELD(res, row, "Slave_IO_Running")) == REPLICA_IO_YES &&
               bool_value(FIELD(res, row, "Slave_SQL_Running")) &&
               atoi(FIELD(res, row, "Connect_Retry")) == 1 &&
               bool_value(FIELD(res, row, "Master_SSL_Allowed")) == tls &&
               streq(FIELD(res, row, "Master_SSL_CA_File"), tls && s->tls_ca ? s->tls_ca : "") &&
               bool_value(FIELD(res, row, "Master_SSL_Verify_Server_Cert")) ==
                       (tls && s->tls_verify_server_cert) &&
               (s->semi_sync_keep || a->r.semi_sync_slave_enabled == s->semi_sync);
}

/* The threads' state of one SHOW [ALL] SLAVE[S] STATUS row, for the result. */
static void record_replica(server_action *a, const db_result *res, size_t row) {
        a->r.have_replica = true;
        a->r.io_running = replica_io_state_from_string(FIELD(res, row, "Slave_IO_Running"));
        if (a->r.io_running < 0)
                a->r.io_running = REPLICA_IO_NO;
        a->r.sql_running = bool_value(FIELD(res, row, "Slave_SQL_Running"));
}

/* What row received that it did not apply, formatted; NULL when nothing. <0 on failure. */
static int row_unapplied(const db_result *res, size_t row, gtid_list *received, char **ret) {
        _cleanup_(gtid_list_done) gtid_list io = GTID_LIST_EMPTY, applied = GTID_LIST_EMPTY;
        _cleanup_(gtid_diff_done) gtid_diff d = GTID_DIFF_EMPTY;

        *ret = NULL;
        if (gtid_list_parse(FIELD(res, row, "Gtid_IO_Pos"), &io) < 0 ||
                gtid_list_parse(FIELD(res, row, "Gtid_Slave_Pos"), &applied) < 0)
                return -EINVAL;
        for (size_t i = 0; received && i < io.n; i++) {
                const gtid *g = gtid_list_get(received, io.items[i].domain_id);

                if ((!g || g->seq_no < io.items[i].seq_no) && gtid_list_set(received, &io.items[i]) < 0)
                        return -ENOMEM;
        }
        if (gtid_list_contains(&applied, &io))
                return 0;
        if (gtid_list_missing(&io, &applied, &d) < 0 || gtid_diff_format(&d, ret) < 0)
                return -ENOMEM;
        return 0;
}

/* promote, before anything changed: a stopped SQL thread with received transactions it did not apply
 * makes a promotion lose them. Not only RESET SLAVE: with GTID, once both threads are stopped, the
 * next START SLAVE (even SQL_THREAD alone) purges the relay log, so nothing is touched then. */
static int check_sql_threads(server_action *a, const db_result *res) {
        for (size_t i = 0; i < db_result_n_rows(res); i++) {
                _cleanup_free_ char *s = NULL;
                int r;

                if (bool_value(FIELD(res, i, "Slave_SQL_Running")))
                        continue;
                r = row_unapplied(res, i, NULL, &s);
                if (r < 0)
                        return r;
                if (!s)
                        continue;
                server_action_fail(a, STEP_SLAVES, SERVER_ACTION_UNAPPLIED,
                        "connection '%s': the SQL thread is stopped with %s received but not applied; "
                        "nothing changed",
                        FIELD(res, i, "Connection_name"), s);
                return STEP_FINISHED;
        }
        return STEP_NEXT;
}

/* SHOW ALL SLAVES STATUS, before anything changed. */
static int on_slaves(server_action *a, const db_result *res) {
        size_t n = db_result_n_rows(res), def = SIZE_MAX;
        const char *name;

        a->connections = n > 0 ? calloc(n, sizeof(char *)) : NULL;
        if (n > 0 && !a->connections)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                name = FIELD(res, i, "Connection_name");
                if (!(a->connections[a->n_connections++] = strdup(name)))
                        return -ENOMEM;
                if (*name == 0)
                        def = i;
                else if (a->type == SERVER_ACTION_REPOINT || a->type == SERVER_ACTION_REJOIN) {
                        server_action_fail(a, STEP_SLAVES, SERVER_ACTION_WRONG_ROLE,
                                "has the named replication connection '%s': multi-source replicas are not "
                                "repointed",
                                name);
                        return STEP_FINISHED;
                }
                if (a->type == SERVER_ACTION_UNFENCE &&
                        (replica_io_state_from_string(FIELD(res, i, "Slave_IO_Running")) != REPLICA_IO_NO ||
                                bool_value(FIELD(res, i, "Slave_SQL_Running")))) {
                        server_action_fail(a, STEP_SLAVES, SERVER_ACTION_WRONG_ROLE,
                                "replicates from %s:%s: a replica is not made writable",
                                FIELD(res, i, "Master_Host"), FIELD(res, i, "Master_Port"));
                        return STEP_FINISHED;
                }
        }
        if (a->type == SERVER_ACTION_PROMOTE && !(a->flags & SERVER_ACTION_DISCARD_UNAPPLIED))
                return check_sql_threads(a, res);
        if (a->type == SERVER_ACTION_CATCH_UP) {
                if (def == SIZE_MAX) {
                        server_action_fail(a, STEP_SLAVES, SERVER_ACTION_WRONG_ROLE,
                                "has no replication connection to wait for");
                        return STEP_FINISHED;
                }
                if (gtid_list_parse(FIELD(res, def, "Gtid_IO_Pos"), &a->wait_pos) < 0)
                        return -EINVAL;
        }
        if (a->type == SERVER_ACTION_REPLICA_SEMI_SYNC) {
                if (def == SIZE_MAX) {
                        server_action_fail(a, STEP_SLAVES, SERVER_ACTION_WRONG_ROLE,
                                "has no replication connection '': not a replica, nothing changed");
                        return STEP_FINISHED;
                }
                record_replica(a, res, def);
                a->io_active = strcasecmp(FIELD(res, def, "Slave_IO_Running"), "No") != 0;
        }
        if (def != SIZE_MAX && (a->type == SERVER_ACTION_REPOINT || a->type == SERVER_ACTION_REJOIN)) {
                a->following = row_follows_source(a, res, def);
                record_replica(a, res, def);
        }
        return STEP_NEXT;
}

/* promote, IO threads stopped: what was received is final; the SQL threads are to apply it all. */
static int on_received(server_action *a, const db_result *res) {
        for (size_t i = 0; i < db_result_n_rows(res); i++) {
                _cleanup_free_ char *s = NULL;
                int r = row_unapplied(res, i, &a->wait_pos, &s);

                if (r < 0)
                        return r;
                if (s && !a->unapplied)
                        a->unapplied = TAKE_PTR(s);
        }
        return STEP_NEXT;
}

/* SHOW SLAVE STATUS after START SLAVE. */
static int on_replica_state(server_action *a, const db_result *res) {
        replica_io_state io;
        bool sql;
        unsigned io_errno, sql_errno;

        if (db_result_n_rows(res) != 1)
                return -EINVAL;
        record_replica(a, res, 0);
        io = a->r.io_running;
        sql = a->r.sql_running;
        io_errno = (unsigned) atoi(FIELD(res, 0, "Last_IO_Errno"));
        sql_errno = (unsigned) atoi(FIELD(res, 0, "Last_SQL_Errno"));
        a->replica_errno = io_errno ?: sql_errno;
        if (io_errno || sql_errno)
                server_action_message(a, STEP_REPLICA_STATE, "IO %s, SQL %s; last error %u: %s",
                        replica_io_state_to_string(io), sql ? "Yes" : "No", io_errno ?: sql_errno,
                        io_errno ? FIELD(res, 0, "Last_IO_Error") : FIELD(res, 0, "Last_SQL_Error"));
        else
                server_action_message(a, STEP_REPLICA_STATE, "IO %s, SQL %s", replica_io_state_to_string(io),
                        sql ? "Yes" : "No");
        if ((io == REPLICA_IO_NO && io_errno) || (!sql && sql_errno)) {
                char m[ACTION_MESSAGE_MAX];

                memcpy(m, a->message, sizeof(m));
                a->r.error_class = PROBE_SERVER_ERROR;
                a->r.error_number = io == REPLICA_IO_NO && io_errno ? io_errno : sql_errno;
                server_action_fail(a, STEP_REPLICA_STATE, SERVER_ACTION_FAILED,
                        "replication from %s:%u stopped: %s", a->src.host, a->src.port, m);
                return STEP_FINISHED;
        }
        if ((io == REPLICA_IO_YES && sql) || !a->src.wait_running)
                return STEP_NEXT;
        return server_action_poll(a);
}

/* MASTER_GTID_WAIT() said 0 (there) or -1 (not by its timeout). */
static int on_gtid_wait(server_action *a, const db_result *res) {
        const char *v = db_result_value(res, 0, 0);

        if (!v || (!streq(v, "0") && !streq(v, "-1")))
                return -EINVAL;
        if (a->type == SERVER_ACTION_PROMOTE && streq(v, "-1")) {
                server_action_fail(a, STEP_GTID_WAIT, SERVER_ACTION_UNAPPLIED,
                        "%s received but not applied by the deadline; IO threads stopped, the SQL threads "
                        "go on applying, nothing reset",
                        a->unapplied);
                return STEP_FINISHED;
        }
        a->r.gtid_waited = a->wait_pos;
        a->wait_pos = GTID_LIST_EMPTY;
        if (streq(v, "-1"))
                a->pending = SERVER_ACTION_TIMEOUT;
        return STEP_NEXT;
}

/* The last SELECT: read_only as the action leaves it, and the message of a success. */
static int on_confirm(server_action *a, const db_result *res) {
        _cleanup_free_ char *binlog = NULL, *waited = NULL, *applied = NULL;
        server_action_result *r = &a->r;
        int want = -1;

        if (parse_variables(a, res) < 0)
                return -EINVAL;
        if (!(binlog = gtid_str(&r->gtid_binlog_pos)) || !(waited = gtid_str(&r->gtid_waited)) ||
                !(applied = gtid_str(&r->gtid_slave_pos)))
                return -ENOMEM;
        if (a->type == SERVER_ACTION_FENCE || a->type == SERVER_ACTION_REPOINT ||
                a->type == SERVER_ACTION_REJOIN || a->type == SERVER_ACTION_REPLICA_SEMI_SYNC)
                want = 1;
        else if (a->type == SERVER_ACTION_UNFENCE || a->type == SERVER_ACTION_PROMOTE)
                want = 0;
        if (want >= 0 && r->read_only != want) {
                server_action_fail(a, STEP_CONFIRM, SERVER_ACTION_FAILED,
                        "read_only is %d at the end of %s: changed meanwhile by someone else?", r->read_only,
                        server_action_type_to_string(a->type));
                return STEP_FINISHED;
        }
        switch (a->type) {
        case SERVER_ACTION_FENCE:
                server_action_message(a, STEP_CONFIRM,
                        "fenced: read_only=1, %u client connection%s killed%s", r->n_killed,
                        r->n_killed == 1 ? "" : "s",
                        a->flags & SERVER_ACTION_SEMI_SYNC ? ", semi-sync master off" : "");
                break;
        case SERVER_ACTION_UNFENCE:
                server_action_message(a, STEP_CONFIRM, "writable again: read_only=0%s",
                        a->flags & SERVER_ACTION_SEMI_SYNC ? ", semi-sync master on" : "");
                break;
        case SERVER_ACTION_CATCH_UP:
                server_action_message(a, STEP_CONFIRM, "%s %s (gtid_slave_pos %s)",
                        a->pending == SERVER_ACTION_OK ? "applied up to" : "not applied by the deadline:",
                        *waited ? waited : "(empty position)", *applied ? applied : "empty");
                break;
        case SERVER_ACTION_PROMOTE:
                server_action_message(a, STEP_CONFIRM, "%s: read_only=0, gtid_binlog_pos %s",
                        a->changed ? "promoted" : "already primary", *binlog ? binlog : "empty");
                break;
        case SERVER_ACTION_REPOINT:
        case SERVER_ACTION_REJOIN:
                server_action_message(a, STEP_CONFIRM, "%s %s:%u (IO %s, SQL %s)",
                        a->changed ? "now replicating from" : "already replicating from", a->src.host,
                        a->src.port, replica_io_state_to_string(r->io_running) ?: "?",
                        r->sql_running ? "Yes" : "No");
                break;
        case SERVER_ACTION_REPLICA_SEMI_SYNC:
                if (!a->changed)
                        server_action_message(a, STEP_CONFIRM,
                                "already a replica's semi-sync: master side off, slave side %s",
                                r->semi_sync_slave_enabled ? "on" : "off");
                else
                        server_action_message(a, STEP_CONFIRM, "%s%s%s%s",
                                r->turned_master_semi_off ? "master side off" : "",
                                r->turned_master_semi_off && r->turned_slave_semi_on ? ", " : "",
                                r->turned_slave_semi_on ? "slave side on" : "",
                                r->restarted_io ? " (IO thread restarted)" : "");
                break;
        default:
                server_action_message(a, STEP_CONFIRM, "read_only=%d, gtid_binlog_pos %s", r->read_only,
                        *binlog ? binlog : "empty");
        }
        return STEP_NEXT;
}

/* rejoin, after the variables (read with read_only on) and the replication connections. */
int server_action_check_history(server_action *a) {
        server_action_result *r = &a->r;
        gtid_diff d = GTID_DIFF_EMPTY;
        _cleanup_free_ char *s = NULL;
        int k;

        /* Its history: the binlog position, raised per domain to the current position where that is
         * further (transactions applied without being binlogged count too). */
        if (gtid_list_copy(&r->gtid_binlog_pos, &a->history) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < r->gtid_current_pos.n; i++) {
                const gtid *g = &r->gtid_current_pos.items[i], *h = gtid_list_get(&a->history, g->domain_id);

                if ((!h || g->seq_no > h->seq_no) && gtid_list_set(&a->history, g) < 0)
                        return -ENOMEM;
        }
        k = server_action_rejoin_check(&a->history,
                &(server_action_history){
                        .gtid_binlog_pos = &a->primary_pos, .gtid_binlog_state = a->primary_state},
                &d);
        if (k == 0)
                return STEP_NEXT;
        if (k < 0)
                return k;
        r->extra = d;
        if (gtid_diff_format(&r->extra, &s) < 0)
                return -ENOMEM;
        r->extra_gtids = strdup(s);
        if (!r->extra_gtids)
                return -ENOMEM;
        server_action_fail(a, STEP_CHECK_HISTORY, SERVER_ACTION_DIVERGED,
                "has transactions the new primary %s:%u lacks: %s; left read-only, replication untouched",
                a->src.host, a->src.port, s);
        return STEP_FINISHED;
}

/* fence: the ids of the connections to kill, replacing an earlier list. */
static int on_processlist(server_action *a, const db_result *res) {
        size_t n = db_result_n_rows(res);

        free(a->kill_ids);
        a->n_kill = a->i_kill = 0;
        a->kill_ids = n > 0 ? calloc(n, sizeof(uint64_t)) : NULL;
        if (n > 0 && !a->kill_ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *v = db_result_value(res, i, 0);
                char *end;

                if (!v || *v < '0' || *v > '9')
                        return -EINVAL;
                a->kill_ids[a->n_kill++] = strtoull(v, &end, 10);
                if (*end)
                        return -EINVAL;
        }
        return STEP_NEXT;
}

int server_action_step_result(server_action *a, step s, const db_result *res) {
        switch (s) {
        case STEP_OBSERVE:
        case STEP_REOBSERVE:
                if (parse_variables(a, res) < 0)
                        return -EINVAL;
                if (a->type == SERVER_ACTION_REPLICA_SEMI_SYNC && !a->r.read_only) {
                        server_action_fail(a, s, SERVER_ACTION_WRONG_ROLE,
                                "read_only=0: a writable server's semi-sync is not changed here");
                        return STEP_FINISHED;
                }
                return STEP_NEXT;
        case STEP_SLAVES:
                return on_slaves(a, res);
        case STEP_READ_ONLY_ON:
                a->read_only_ran = true;
                return STEP_NEXT;
        case STEP_PROCESSLIST:
                return on_processlist(a, res);
        case STEP_KILL:
                a->i_kill++;
                a->r.n_killed++;
                return STEP_AGAIN;
        case STEP_RECEIVED:
                return on_received(a, res);
        case STEP_RESET_SLAVE:
                a->i_reset++;
                return STEP_AGAIN;
        case STEP_REPLICA_STATE:
                return on_replica_state(a, res);
        case STEP_GTID_WAIT:
                return on_gtid_wait(a, res);
        case STEP_CONFIRM:
                return on_confirm(a, res);
        case STEP_MASTER_SEMI_OFF:
                if (a->type == SERVER_ACTION_REPLICA_SEMI_SYNC)
                        a->r.turned_master_semi_off = true;
                return STEP_NEXT;
        case STEP_SLAVE_SEMI:
                if (a->type == SERVER_ACTION_REPLICA_SEMI_SYNC)
                        a->r.turned_slave_semi_on = true;
                return STEP_NEXT;
        case STEP_STOP_IO_THREAD:
                a->io_stopped = true;
                return STEP_NEXT;
        case STEP_START_IO_THREAD:
                a->io_stopped = false;
                a->r.restarted_io = true;
                return STEP_NEXT;
        default:
                return STEP_NEXT;
        }
}

/* ---- the rejoin rule -------------------------------------------------------------------------- */

/* qsort() order of ranges: by domain. */
static int range_cmp(const void *x, const void *y) {
        const gtid_range *a = x, *b = y;

        return a->last.domain_id < b->last.domain_id ? -1 : a->last.domain_id > b->last.domain_id;
}

int server_action_rejoin_check(
        const gtid_list *old, const server_action_history *primary, gtid_diff *ret_extra) {
        _cleanup_(gtid_diff_done) gtid_diff d = GTID_DIFF_EMPTY;
        _cleanup_free_ char *state = NULL;
        _cleanup_free_ gtid *from = NULL; /* per GTID of old: the new primary's last of its server */
        _cleanup_free_ bool *found = NULL;
        const gtid_list *pos = primary ? primary->gtid_binlog_pos : NULL;
        char *tok, *save = NULL;
        gtid g;
        int r;

        if (!old || !pos || !primary->gtid_binlog_state || !ret_extra)
                return -EINVAL;
        state = strdup(primary->gtid_binlog_state);
        from = calloc(old->n + 1, sizeof(gtid));
        found = calloc(old->n + 1, sizeof(bool));
        if (!state || !from || !found)
                return -ENOMEM;
        /* The binlog state lists the last GTID of each (domain, server_id): not a gtid_list. */
        for (tok = strtok_r(state, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                tok += strspn(tok, " \t\n");
                tok[strcspn(tok, " \t\n")] = 0;
                if (*tok == 0)
                        continue;
                if (gtid_parse(tok, &g) < 0)
                        return -EINVAL;
                for (size_t i = 0; i < old->n; i++)
                        if (old->items[i].domain_id == g.domain_id &&
                                old->items[i].server_id == g.server_id &&
                                (!found[i] || g.seq_no > from[i].seq_no)) {
                                from[i] = g;
                                found[i] = true;
                        }
        }
        /* Ahead of or diverged from the new primary, by position. */
        r = gtid_list_missing(old, pos, &d);
        if (r < 0)
                return r;
        /* Behind it by position, but not in its history. */
        for (size_t i = 0; i < old->n; i++) {
                const gtid *o = &old->items[i], *p = gtid_list_get(pos, o->domain_id);
                gtid_range *items;

                if (o->seq_no == 0 || !p || p->seq_no <= o->seq_no || p->server_id == o->server_id ||
                        (found[i] && from[i].seq_no >= o->seq_no))
                        continue;
                items = reallocarray(d.items, d.n + 1, sizeof(gtid_range));
                if (!items)
                        return -ENOMEM;
                d.items = items;
                d.items[d.n++] = (gtid_range){.last = *o,
                        .after_seq_no = found[i] ? from[i].seq_no : o->seq_no - 1,
                        .ref_server_id = p->server_id};
        }
        if (d.n == 0)
                return 0;
        qsort(d.items, d.n, sizeof(gtid_range), range_cmp);
        *ret_extra = d;
        r = (int) d.n;
        d = GTID_DIFF_EMPTY;
        return r;
}
