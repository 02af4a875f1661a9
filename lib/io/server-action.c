/* See server-action.h. An action is a plan: a fixed list of steps, each one statement (or a local
 * check), skipped when the state read so far says it is not needed; steps that work through a list
 * (KILL CONNECTION per id, RESET SLAVE per connection) or poll (the replica's threads) repeat. Every
 * statement gets the action's one deadline, so db.c drops the connection when it passes.
 *
 * The plans, with the exact SQL (N, ids, names and values filled in; strings single-quoted and
 * escaped by sql_quote()):
 *
 * observe  SELECT @@global.read_only, @@global.gtid_binlog_pos, @@global.gtid_current_pos,
 *                 @@global.gtid_slave_pos, @@global.gtid_binlog_state,
 *                 @@global.rpl_semi_sync_master_enabled, @@global.rpl_semi_sync_slave_enabled,
 *                 FIND_IN_SET('NO_BACKSLASH_ESCAPES', @@session.sql_mode) > 0     ("the SELECT")
 * fence    SET STATEMENT lock_wait_timeout=N FOR SET GLOBAL read_only=ON
 *            (N = 1 s, 0 with less than 2 s left. read_only=ON waits for running write statements;
 *            on 1205 the connections are killed first and it is tried again, at most 3 times)
 *          SELECT ID FROM information_schema.PROCESSLIST WHERE ... (every connection but ours, the
 *            sentinel account's, system users' and replication threads': FENCE_PROCESSLIST)
 *          KILL CONNECTION id              per row; 1094 (gone meanwhile) is not an error
 *          SET GLOBAL rpl_semi_sync_master_enabled=OFF              with SERVER_ACTION_SEMI_SYNC
 *          the SELECT                      read_only must be 1
 * unfence  SHOW ALL SLAVES STATUS          a running IO or SQL thread: WRONG_ROLE
 *          SET GLOBAL rpl_semi_sync_master_enabled=ON               with SERVER_ACTION_SEMI_SYNC
 *          SET GLOBAL read_only=OFF
 *          the SELECT                      read_only must be 0
 * catch-up SHOW ALL SLAVES STATUS          without a position: Gtid_IO_Pos of connection ''
 *          SELECT MASTER_GTID_WAIT('pos', S)    S = the time left minus min(1/5 of it, 200 ms): 0 is
 *                                          OK, -1 TIMEOUT (after the SELECT, for gtid_slave_pos)
 *          the SELECT
 * promote  the SELECT; SHOW ALL SLAVES STATUS     a stopped SQL thread with received transactions it
 *                                          did not apply: UNAPPLIED, nothing touched (with GTID, once
 *                                          both threads are stopped, the next START SLAVE, even
 *                                          SQL_THREAD alone, purges the relay log: they would be lost)
 *          STOP ALL SLAVES IO_THREAD       what was received is final now...
 *          SHOW ALL SLAVES STATUS          ...the union of the Gtid_IO_Pos; when not in Gtid_Slave_Pos:
 *          SELECT MASTER_GTID_WAIT('union', S)  the SQL threads drain the relay logs; -1: UNAPPLIED
 *                                          (the SQL threads go on, the IO threads stay stopped)
 *          STOP ALL SLAVES
 *            (SERVER_ACTION_DISCARD_UNAPPLIED: none of the checks, only this stop)
 *          RESET SLAVE 'name' ALL          per connection
 *          SET GLOBAL rpl_semi_sync_slave_enabled=OFF      with SEMI_SYNC, when on
 *          SET GLOBAL rpl_semi_sync_master_enabled=ON      with SEMI_SYNC, when off: before writes
 *          SET GLOBAL read_only=OFF        when on. LAST: the commit point of the promotion, so
 *                                          that a failure anywhere before leaves no writable server
 *          the SELECT                      read_only must be 0
 * repoint  the SELECT
 *          SET STATEMENT lock_wait_timeout=N FOR SET GLOBAL read_only=ON  when off, and then the
 *                                          SELECT again; first, so it never takes writes meanwhile
 *          SHOW ALL SLAVES STATUS          named connections: WRONG_ROLE. Connection '' already
 *                                          running from the source as asked: skip to the end
 *          STOP SLAVE
 *          SET GLOBAL rpl_semi_sync_master_enabled=OFF     when on (a replica must not wait for acks)
 *          SET GLOBAL rpl_semi_sync_slave_enabled=ON|OFF   when not as asked and not semi_sync_keep (the
 *                                                          IO thread is stopped, so START SLAVE applies it)
 *          CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=p, MASTER_USER='u', MASTER_PASSWORD='pw',
 *            MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_SSL=0|1, MASTER_SSL_CA='ca',
 *            MASTER_SSL_VERIFY_SERVER_CERT=0|1
 *          START SLAVE
 *          SHOW SLAVE STATUS               with wait_running repeated (after 5, 10, 20 ... 100 ms) until
 *                                          IO and SQL are Yes; a stopped thread with an error fails
 *          the SELECT                      read_only must be 1
 * rejoin   as repoint, with after SHOW ALL SLAVES STATUS (unless already following as asked) the rule
 *          of server_action_rejoin_check() (DIVERGED: stop there, read-only), and after STOP SLAVE,
 *          SET GLOBAL gtid_slave_pos='history'   its binlog pos raised to its current pos per domain,
 *                                          when gtid_slave_pos differs (a former primary's is stale)
 * replica-semi-sync
 *          the SELECT                      read_only=0: WRONG_ROLE (never on a writable server)
 *          SHOW ALL SLAVES STATUS          no connection '': WRONG_ROLE
 *          SET GLOBAL rpl_semi_sync_master_enabled=OFF     when on: first, it frees a waiting commit
 *          STOP SLAVE IO_THREAD            with slave semi-sync asked and off, unless Slave_IO_Running
 *                                          is No (Connecting, Preparing: starting, maybe past the setting)
 *          SET GLOBAL rpl_semi_sync_slave_enabled=ON       with slave semi-sync asked, when off
 *          START SLAVE IO_THREAD           when this action stopped it (the SQL thread runs on throughout)
 *          the SELECT                      read_only must be 1
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server-action-internal.h"

/* The connector's own timeouts are only a backstop behind our deadline; they must not cut a long
 * MASTER_GTID_WAIT short, so they are far out (deadlines further ahead than this are not kept). */
#define ACTION_BACKSTOP_USEC       (3600 * USEC_PER_SEC)
#define ACTION_POLL_FIRST_USEC     (5 * USEC_PER_MSEC) /* doubling up to the max */
#define ACTION_POLL_MAX_USEC       (100 * USEC_PER_MSEC)
#define ACTION_TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)
#define ACTION_READ_ONLY_TRIES     3
#define ER_NO_SUCH_THREAD          1094 /* only db.c includes <mysqld_error.h> */
#define ER_LOCK_WAIT_TIMEOUT       1205

const char *const server_action_step_name[_STEP_MAX] = {
        [STEP_OBSERVE] = "SELECT @@global.read_only, ...",
        [STEP_REOBSERVE] = "SELECT @@global.read_only, ...",
        [STEP_SLAVES] = "SHOW ALL SLAVES STATUS",
        [STEP_READ_ONLY_ON] = "SET GLOBAL read_only=ON",
        [STEP_PROCESSLIST] = "SELECT ID FROM information_schema.PROCESSLIST",
        [STEP_KILL] = "KILL CONNECTION",
        [STEP_MASTER_SEMI_OFF] = "SET GLOBAL rpl_semi_sync_master_enabled=OFF",
        [STEP_MASTER_SEMI_ON] = "SET GLOBAL rpl_semi_sync_master_enabled=ON",
        [STEP_SLAVE_SEMI] = "SET GLOBAL rpl_semi_sync_slave_enabled",
        [STEP_STOP_IO] = "STOP ALL SLAVES IO_THREAD",
        [STEP_RECEIVED] = "SHOW ALL SLAVES STATUS",
        [STEP_STOP_ALL_SLAVES] = "STOP ALL SLAVES",
        [STEP_RESET_SLAVE] = "RESET SLAVE ALL",
        [STEP_CHECK_HISTORY] = "GTID history check",
        [STEP_STOP_SLAVE] = "STOP SLAVE",
        [STEP_SET_SLAVE_POS] = "SET GLOBAL gtid_slave_pos",
        [STEP_CHANGE_MASTER] = "CHANGE MASTER TO",
        [STEP_START_SLAVE] = "START SLAVE",
        [STEP_REPLICA_STATE] = "SHOW SLAVE STATUS",
        [STEP_GTID_WAIT] = "SELECT MASTER_GTID_WAIT()",
        [STEP_READ_ONLY_OFF] = "SET GLOBAL read_only=OFF",
        [STEP_CONFIRM] = "SELECT @@global.read_only, ...",
        [STEP_STOP_IO_THREAD] = "STOP SLAVE IO_THREAD",
        [STEP_START_IO_THREAD] = "START SLAVE IO_THREAD",
};

static const step plan_observe[] = {STEP_CONFIRM, _STEP_MAX};
static const step plan_fence[] = {
        STEP_READ_ONLY_ON, STEP_PROCESSLIST, STEP_KILL, STEP_MASTER_SEMI_OFF, STEP_CONFIRM, _STEP_MAX};
static const step plan_unfence[] = {
        STEP_SLAVES, STEP_MASTER_SEMI_ON, STEP_READ_ONLY_OFF, STEP_CONFIRM, _STEP_MAX};
static const step plan_catch_up[] = {STEP_SLAVES, STEP_GTID_WAIT, STEP_CONFIRM, _STEP_MAX};
static const step plan_promote[] = {STEP_OBSERVE, STEP_SLAVES, STEP_STOP_IO, STEP_RECEIVED, STEP_GTID_WAIT,
        STEP_STOP_ALL_SLAVES, STEP_RESET_SLAVE, STEP_SLAVE_SEMI, STEP_MASTER_SEMI_ON, STEP_READ_ONLY_OFF,
        STEP_CONFIRM, _STEP_MAX};
static const step plan_repoint[] = {STEP_OBSERVE, STEP_READ_ONLY_ON, STEP_REOBSERVE, STEP_SLAVES,
        STEP_CHECK_HISTORY, STEP_STOP_SLAVE, STEP_SET_SLAVE_POS, STEP_MASTER_SEMI_OFF, STEP_SLAVE_SEMI,
        STEP_CHANGE_MASTER, STEP_START_SLAVE, STEP_REPLICA_STATE, STEP_CONFIRM, _STEP_MAX};
static const step plan_replica_semi_sync[] = {STEP_OBSERVE, STEP_SLAVES, STEP_MASTER_SEMI_OFF,
        STEP_STOP_IO_THREAD, STEP_SLAVE_SEMI, STEP_START_IO_THREAD, STEP_CONFIRM, _STEP_MAX};

static const step *const action_plan[_SERVER_ACTION_TYPE_MAX] = {
        [SERVER_ACTION_OBSERVE] = plan_observe,
        [SERVER_ACTION_FENCE] = plan_fence,
        [SERVER_ACTION_UNFENCE] = plan_unfence,
        [SERVER_ACTION_CATCH_UP] = plan_catch_up,
        [SERVER_ACTION_PROMOTE] = plan_promote,
        [SERVER_ACTION_REPOINT] = plan_repoint,
        [SERVER_ACTION_REJOIN] = plan_repoint,
        [SERVER_ACTION_REPLICA_SEMI_SYNC] = plan_replica_semi_sync,
};

static const char *const type_table[_SERVER_ACTION_TYPE_MAX] = {
        [SERVER_ACTION_OBSERVE] = "observe",
        [SERVER_ACTION_FENCE] = "fence",
        [SERVER_ACTION_UNFENCE] = "unfence",
        [SERVER_ACTION_CATCH_UP] = "catch-up",
        [SERVER_ACTION_PROMOTE] = "promote",
        [SERVER_ACTION_REPOINT] = "repoint",
        [SERVER_ACTION_REJOIN] = "rejoin",
        [SERVER_ACTION_REPLICA_SEMI_SYNC] = "replica-semi-sync",
};

static const char *const code_table[_SERVER_ACTION_CODE_MAX] = {
        [SERVER_ACTION_OK] = "ok",
        [SERVER_ACTION_TIMEOUT] = "timeout",
        [SERVER_ACTION_FAILED] = "failed",
        [SERVER_ACTION_DIVERGED] = "diverged",
        [SERVER_ACTION_UNAPPLIED] = "unapplied",
        [SERVER_ACTION_WRONG_ROLE] = "wrong-role",
};

const char *server_action_type_to_string(server_action_type t) {
        return t >= 0 && t < _SERVER_ACTION_TYPE_MAX ? type_table[t] : NULL;
}

const char *server_action_code_to_string(server_action_code c) {
        return c >= 0 && c < _SERVER_ACTION_CODE_MAX ? code_table[c] : NULL;
}

uint64_t server_action_now(server_action *a) {
        uint64_t t = 0;

        (void) sd_event_now(a->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* Frees what a result owns and empties it. */
static void result_done(server_action_result *r) {
        gtid_list_done(&r->gtid_binlog_pos);
        gtid_list_done(&r->gtid_current_pos);
        gtid_list_done(&r->gtid_slave_pos);
        gtid_list_done(&r->gtid_waited);
        gtid_diff_done(&r->extra);
        free((char *) r->gtid_binlog_state);
        free((char *) r->extra_gtids);
        *r = (server_action_result){};
}

/* Forgets everything of the last action (the handler has been called, or never will be). */
static void action_reset(server_action *a) {
        a->running = false;
        a->handler = NULL;
        a->userdata = NULL;
        a->defer_source = sd_event_source_disable_unref(a->defer_source);
        if (a->timer_source)
                (void) sd_event_source_set_enabled(a->timer_source, SD_EVENT_OFF);
        gtid_list_done(&a->wait_pos);
        gtid_list_done(&a->primary_pos);
        gtid_list_done(&a->history);
        free(a->unapplied);
        free(a->primary_state);
        free((char *) a->src.host);
        free((char *) a->src.user);
        wipe_free((char *) a->src.password);
        free((char *) a->src.tls_ca);
        free(a->kill_ids);
        for (size_t i = 0; i < a->n_connections; i++)
                free(a->connections[i]);
        free(a->connections);
        result_done(&a->r);
        *a = (server_action){.n_ref = a->n_ref,
                .event = a->event,
                .conn = a->conn,
                .host = a->host,
                .port = a->port,
                .timer_source = a->timer_source};
}

/* Drops a reference; the last one frees a and its connection. */
static server_action *action_unref(server_action *a) {
        if (!a || --a->n_ref > 0)
                return NULL;
        action_reset(a);
        a->timer_source = sd_event_source_disable_unref(a->timer_source);
        db_conn_free(a->conn);
        sd_event_unref(a->event);
        free(a->host);
        free(a);
        return NULL;
}

/* ---- messages -------------------------------------------------------------------------------------- */

/* Whether s holds a piece of secret long enough to matter: any 8 characters of it (all of it when
 * shorter; a secret under 3 characters is not looked for, it would match anything). */
static bool contains_secret_piece(const char *s, const char *secret) {
        size_t n = secret ? strlen(secret) : 0, w = n < 8 ? n : 8;

        if (w < 3)
                return false;
        for (size_t i = 0; i + w <= n; i++)
                if (memmem(s, strlen(s), secret + i, w))
                        return true;
        return false;
}

/* One line into a->message. In an action that carries the replication password, a server message
 * about CHANGE MASTER TO loses everything it quotes (the server quotes values back, e.g. the first
 * 64 characters of a password too long), and any message with a piece of the password is withheld. */
void server_action_message(server_action *a, step s, const char *fmt, ...) {
        char *m = a->message, *p, *q;
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(m, sizeof(a->message), fmt, ap);
        va_end(ap);
        for (p = m; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = ' ';
        if (!a->src.password)
                return;
        if (s == STEP_CHANGE_MASTER) /* 'anything' -> '?': never longer */
                for (p = m; (p = strchr(p, '\'')) && (q = strchr(p + 1, '\'')); p++) {
                        if (q > p + 1) {
                                p[1] = '?';
                                memmove(p + 2, q, strlen(q) + 1);
                                q = p + 2;
                        }
                        p = q;
                }
        if (contains_secret_piece(m, a->src.password))
                (void) snprintf(m, sizeof(a->message),
                        "%s failed (the message is withheld: it may contain "
                        "the replication password)",
                        server_action_step_name[s]);
}

/* ---- finishing ------------------------------------------------------------------------------------- */

/* Hands the result to the handler: the last thing any code path does with a. */
static void action_finish(server_action *a, server_action_code code) {
        server_action_handler handler = a->handler;
        void *userdata = a->userdata;
        server_action_result r = a->r;
        char message[ACTION_MESSAGE_MAX];

        a->r = (server_action_result){};
        memcpy(message, a->message, sizeof(message));
        r.type = a->type;
        r.code = code;
        r.message = message;
        r.finished_usec = server_action_now(a);
        r.already = code == SERVER_ACTION_OK && !a->changed &&
                    (a->type == SERVER_ACTION_PROMOTE || a->type == SERVER_ACTION_REPOINT ||
                            a->type == SERVER_ACTION_REJOIN || a->type == SERVER_ACTION_REPLICA_SEMI_SYNC);
        action_reset(a);
        a->n_ref++; /* the handler may free a */
        if (handler)
                handler(a, &r, userdata);
        result_done(&r);
        action_unref(a);
}

/* Fails the action at step s with a database error. */
static void action_fail_db(server_action *a, step s, const db_error *e) {
        bool timeout = e->error_class == PROBE_NO_ANSWER || server_action_now(a) >= a->deadline_usec;

        a->r.error_class = e->error_class;
        a->r.error_number = e->number;
        a->r.statement = server_action_step_name[s];
        server_action_message(a, s, "%s: %s", server_action_step_name[s], e->message);
        action_finish(a, timeout ? SERVER_ACTION_TIMEOUT : SERVER_ACTION_FAILED);
}

void server_action_fail(server_action *a, step s, server_action_code code, const char *fmt, ...) {
        char m[ACTION_MESSAGE_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(m, sizeof(m), fmt, ap);
        va_end(ap);
        a->r.statement = s >= 0 ? server_action_step_name[s] : NULL;
        server_action_message(a, s, "%s", m);
        action_finish(a, code);
}

/* ---- running the plan ------------------------------------------------------------------------------ */

/* replica-semi-sync: whether the slave side is to be turned on. */
static bool replica_slave_semi_wanted(const server_action *a) {
        return a->type == SERVER_ACTION_REPLICA_SEMI_SYNC && a->src.semi_sync &&
               !a->r.semi_sync_slave_enabled;
}

/* Whether step s is needed, given what the action has seen so far. */
static bool step_wanted(server_action *a, step s) {
        const server_action_result *r = &a->r;
        bool repoint = a->type == SERVER_ACTION_REPOINT || a->type == SERVER_ACTION_REJOIN;

        switch (s) {
        case STEP_REOBSERVE:
                return a->read_only_ran;
        case STEP_SLAVES:
                return a->type != SERVER_ACTION_CATCH_UP || a->wait_io_pos;
        case STEP_READ_ONLY_ON:
                return a->type == SERVER_ACTION_FENCE || !r->read_only;
        case STEP_KILL:
                return a->i_kill < a->n_kill;
        case STEP_MASTER_SEMI_OFF:
                return a->type == SERVER_ACTION_FENCE ? a->flags & SERVER_ACTION_SEMI_SYNC
                                                      : r->semi_sync_master_enabled;
        case STEP_MASTER_SEMI_ON:
                return (a->flags & SERVER_ACTION_SEMI_SYNC) &&
                       (a->type == SERVER_ACTION_UNFENCE || !r->semi_sync_master_enabled);
        case STEP_SLAVE_SEMI:
                if (a->type == SERVER_ACTION_REPLICA_SEMI_SYNC)
                        return replica_slave_semi_wanted(a);
                return repoint ? !a->following && !a->src.semi_sync_keep &&
                                         r->semi_sync_slave_enabled != a->src.semi_sync
                               : (a->flags & SERVER_ACTION_SEMI_SYNC) && r->semi_sync_slave_enabled;
        case STEP_STOP_IO:
        case STEP_RECEIVED:
                return a->n_connections > 0 && !(a->flags & SERVER_ACTION_DISCARD_UNAPPLIED);
        case STEP_GTID_WAIT:
                return a->type == SERVER_ACTION_CATCH_UP || a->unapplied;
        case STEP_STOP_ALL_SLAVES:
                return a->n_connections > 0;
        case STEP_RESET_SLAVE:
                return a->i_reset < a->n_connections;
        case STEP_CHECK_HISTORY:
                return a->type == SERVER_ACTION_REJOIN && !a->following;
        case STEP_SET_SLAVE_POS:
                return a->type == SERVER_ACTION_REJOIN && !a->following &&
                       gtid_list_compare(&r->gtid_slave_pos, &a->history) != GTID_ORDER_EQUAL;
        case STEP_STOP_SLAVE:
        case STEP_CHANGE_MASTER:
        case STEP_START_SLAVE:
        case STEP_REPLICA_STATE:
                return !a->following;
        case STEP_READ_ONLY_OFF:
                return a->type == SERVER_ACTION_UNFENCE || r->read_only;
        case STEP_STOP_IO_THREAD:
                return replica_slave_semi_wanted(a) && a->io_active;
        case STEP_START_IO_THREAD:
                return a->io_stopped;
        default:
                return true;
        }
}

/* Whether step s only reads. */
static bool step_reads(step s) {
        switch (s) {
        case STEP_OBSERVE:
        case STEP_REOBSERVE:
        case STEP_SLAVES:
        case STEP_PROCESSLIST:
        case STEP_RECEIVED:
        case STEP_CHECK_HISTORY:
        case STEP_REPLICA_STATE:
        case STEP_GTID_WAIT:
        case STEP_CONFIRM:
                return true;
        default:
                return false;
        }
}

static void action_on_reply(db_conn *c, const db_reply *reply, void *userdata);

/* Sends the current step's statement; its reply goes to action_on_reply(). */
static void action_send(server_action *a) {
        step s = a->plan[a->i];
        char *sql = NULL;
        int r;

        r = server_action_step_sql(a, s, &sql);
        if (r >= 0)
                r = db_conn_query(a->conn, sql, a->deadline_usec, action_on_reply, a);
        wipe_free(sql); /* CHANGE MASTER TO carries the password (db.c sends its own copy) */
        if (r < 0) {
                a->r.error_class = PROBE_INTERNAL;
                server_action_fail(a, s, SERVER_ACTION_FAILED, "%s: cannot send: %s",
                        server_action_step_name[s], strerror(-r));
        } else if (!step_reads(s))
                a->changed = true;
}

/* Runs the current step, or the next wanted one; finishes after the last. */
static void action_next(server_action *a) {
        step s;
        int r;

        for (;; a->i++) {
                s = a->plan[a->i];
                if (s == _STEP_MAX) {
                        action_finish(a, a->pending);
                        return;
                }
                if (s == STEP_KILL && !step_wanted(a, s) && a->read_only_pending) {
                        /* fence: read_only=ON again, now the connections that held it up are gone */
                        a->read_only_pending = false;
                        a->i = 0;
                        s = a->plan[0];
                }
                if (!step_wanted(a, s))
                        continue;
                if (s != STEP_CHECK_HISTORY)
                        break;
                r = server_action_check_history(a);
                if (r == STEP_FINISHED)
                        return;
                if (r < 0) {
                        a->r.error_class = r == -ENOMEM ? PROBE_INTERNAL : PROBE_PROTOCOL;
                        server_action_fail(a, s, SERVER_ACTION_FAILED, "%s: %s", server_action_step_name[s],
                                strerror(-r));
                        return;
                }
        }
        if (server_action_now(a) >= a->deadline_usec) {
                a->r.error_class = PROBE_NO_ANSWER;
                server_action_fail(a, s, SERVER_ACTION_TIMEOUT, "the deadline passed before %s",
                        server_action_step_name[s]);
                return;
        }
        a->retried = false;
        action_send(a);
}

/* A failed statement: some failures are expected and mean "go on". */
static int on_error(server_action *a, step s, const db_error *e) {
        if (s == STEP_KILL && e->number == ER_NO_SUCH_THREAD) {
                a->i_kill++; /* gone meanwhile */
                return STEP_AGAIN;
        }
        if (s == STEP_READ_ONLY_ON && e->number == ER_LOCK_WAIT_TIMEOUT && a->type == SERVER_ACTION_FENCE &&
                ++a->read_only_tries < ACTION_READ_ONLY_TRIES) {
                a->read_only_pending = true; /* a write statement runs: kill it, then try again */
                return STEP_NEXT;
        }
        action_fail_db(a, s, e);
        return STEP_FINISHED;
}

/* A statement answered (or failed, or timed out): on to the next step, or the end. */
static void action_on_reply(db_conn *c, const db_reply *reply, void *userdata) {
        server_action *a = userdata;
        step s = a->plan[a->i];
        int r;

        if (reply->error && reply->error->error_class == PROBE_LOST && !reply->connected && !a->retried) {
                /* Our reused connection was closed meanwhile (restart, KILL, wait_timeout) and db.c's
                 * idle check did not see it yet: every statement here is safe to send again. */
                a->retried = true;
                action_send(a);
                return;
        }
        r = reply->error ? on_error(a, s, reply->error) : server_action_step_result(a, s, reply->result);
        if (r == STEP_FINISHED || r == STEP_WAIT)
                return;
        if (r < 0) {
                a->r.error_class = r == -ENOMEM ? PROBE_INTERNAL : PROBE_PROTOCOL;
                server_action_fail(a, s, SERVER_ACTION_FAILED, "%s: %s", server_action_step_name[s],
                        r == -ENOMEM ? "out of memory" : "unexpected result");
                return;
        }
        if (r == STEP_NEXT)
                a->i++;
        action_next(a);
}

/* The next poll of the replica's threads is due, or the deadline came first. */
static int action_on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        server_action *a = userdata;

        if (usec >= a->deadline_usec) {
                char m[ACTION_MESSAGE_MAX];

                memcpy(m, a->message, sizeof(m));
                a->r.error_number = a->replica_errno; /* it answered: replication did not come up */
                server_action_fail(a, a->plan[a->i], SERVER_ACTION_TIMEOUT,
                        "replication from %s:%u not running by the deadline: %s", a->src.host, a->src.port,
                        m);
        } else
                action_send(a);
        return 0;
}

/* Polls again a little later (the replica's threads starting). */
int server_action_poll(server_action *a) {
        uint64_t when;
        int r;

        a->poll_usec = a->poll_usec == 0 ? ACTION_POLL_FIRST_USEC : a->poll_usec * 2;
        a->poll_usec = a->poll_usec < ACTION_POLL_MAX_USEC ? a->poll_usec : ACTION_POLL_MAX_USEC;
        when = server_action_now(a) + a->poll_usec;
        when = when < a->deadline_usec ? when : a->deadline_usec;
        if (!a->timer_source)
                r = sd_event_add_time(a->event, &a->timer_source, CLOCK_MONOTONIC, when,
                        ACTION_TIMER_ACCURACY_USEC, action_on_timer, a);
        else {
                r = sd_event_source_set_time(a->timer_source, when);
                if (r >= 0)
                        r = sd_event_source_set_enabled(a->timer_source, SD_EVENT_ONESHOT);
        }
        return r < 0 ? r : STEP_WAIT;
}

/* The first step, from the loop: a handler is never called from inside a start function. */
static int action_on_defer(sd_event_source *src, void *userdata) {
        server_action *a = userdata;

        a->defer_source = sd_event_source_disable_unref(a->defer_source);
        action_next(a);
        return 0;
}

/* ---- public ---------------------------------------------------------------------------------------- */

int server_action_new(sd_event *e, const server_action_params *p, server_action **ret) {
        _cleanup_(server_action_freep) server_action *a = NULL;
        int r;

        if (!e || !p || !ret || !p->host || !*p->host || !p->user || p->port == 0)
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->n_ref = 1;
        a->event = sd_event_ref(e);
        a->port = p->port;
        a->host = strdup(p->host);
        if (!a->host)
                return -ENOMEM;
        r = db_conn_new(e,
                &(db_conn_params){
                        .host = p->host,
                        .port = p->port,
                        .user = p->user,
                        .password = p->password,
                        .connect_timeout_usec = ACTION_BACKSTOP_USEC,
                        .query_timeout_usec = ACTION_BACKSTOP_USEC,
                        .tls = p->tls,
                },
                &a->conn);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

void server_action_cancel(server_action *a) {
        if (!a || !a->running)
                return;
        db_conn_abort(a->conn);
        action_reset(a);
}

server_action *server_action_free(server_action *a) {
        if (!a)
                return NULL;
        server_action_cancel(a);
        return action_unref(a);
}

bool server_action_is_running(const server_action *a) {
        return a && a->running;
}

/* The first half of every start: checks, and a clean slate. */
static int action_begin(server_action *a, server_action_type type, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler) {
        if (!a || !handler || deadline_usec == 0)
                return -EINVAL;
        if (a->running || db_conn_is_busy(a->conn))
                return -EBUSY;
        action_reset(a);
        a->type = type;
        a->flags = flags;
        a->plan = action_plan[type];
        a->deadline_usec = deadline_usec;
        return 0;
}

/* The second half: the first step runs from the loop. On failure a is left idle. */
static int action_launch(server_action *a, int r, server_action_handler handler, void *userdata) {
        if (r >= 0)
                r = sd_event_add_defer(a->event, &a->defer_source, action_on_defer, a);
        if (r < 0) {
                action_reset(a);
                return r;
        }
        a->r.started_usec = server_action_now(a);
        a->handler = handler;
        a->userdata = userdata;
        a->running = true;
        return 0;
}

int server_action_observe(
        server_action *a, uint64_t deadline_usec, server_action_handler handler, void *userdata) {
        int r = action_begin(a, SERVER_ACTION_OBSERVE, 0, deadline_usec, handler);

        return r < 0 ? r : action_launch(a, 0, handler, userdata);
}

int server_action_fence(server_action *a, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler, void *userdata) {
        int r = action_begin(a, SERVER_ACTION_FENCE, flags, deadline_usec, handler);

        return r < 0 ? r : action_launch(a, 0, handler, userdata);
}

int server_action_unfence(server_action *a, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler, void *userdata) {
        int r = action_begin(a, SERVER_ACTION_UNFENCE, flags, deadline_usec, handler);

        return r < 0 ? r : action_launch(a, 0, handler, userdata);
}

int server_action_catch_up(server_action *a, const gtid_list *position, uint64_t deadline_usec,
        server_action_handler handler, void *userdata) {
        int r = action_begin(a, SERVER_ACTION_CATCH_UP, 0, deadline_usec, handler);

        if (r < 0)
                return r;
        a->wait_io_pos = !position;
        return action_launch(a, position ? gtid_list_copy(position, &a->wait_pos) : 0, handler, userdata);
}

int server_action_promote(server_action *a, unsigned flags, uint64_t deadline_usec,
        server_action_handler handler, void *userdata) {
        int r = action_begin(a, SERVER_ACTION_PROMOTE, flags, deadline_usec, handler);

        return r < 0 ? r : action_launch(a, 0, handler, userdata);
}

/* Our own copy of source for the action (the password is wiped in action_reset()). */
static int copy_source(server_action *a, const server_action_source *s) {
        a->src = (server_action_source){.port = s->port,
                .use_tls = s->use_tls,
                .tls_verify_server_cert = s->tls_verify_server_cert,
                .semi_sync = s->semi_sync,
                .semi_sync_keep = s->semi_sync_keep,
                .wait_running = s->wait_running};
        a->src.host = strdup(s->host);
        a->src.user = strdup(s->user);
        a->src.password = strdup(s->password ?: "");
        a->src.tls_ca = s->tls_ca ? strdup(s->tls_ca) : NULL;
        return a->src.host && a->src.user && a->src.password && (!s->tls_ca || a->src.tls_ca) ? 0 : -ENOMEM;
}

/* Whether source says at least where and as whom. */
static bool source_valid(const server_action_source *s) {
        return s && s->host && *s->host && s->user && *s->user && s->port != 0;
}

int server_action_repoint(server_action *a, const server_action_source *source, uint64_t deadline_usec,
        server_action_handler handler, void *userdata) {
        int r = source_valid(source) ? action_begin(a, SERVER_ACTION_REPOINT, 0, deadline_usec, handler)
                                     : -EINVAL;

        return r < 0 ? r : action_launch(a, copy_source(a, source), handler, userdata);
}

int server_action_rejoin(server_action *a, const server_action_source *source,
        const server_action_history *primary, uint64_t deadline_usec, server_action_handler handler,
        void *userdata) {
        int r = source_valid(source) && primary && primary->gtid_binlog_pos && primary->gtid_binlog_state
                        ? action_begin(a, SERVER_ACTION_REJOIN, 0, deadline_usec, handler)
                        : -EINVAL;

        if (r < 0)
                return r;
        r = copy_source(a, source);
        if (r >= 0)
                r = gtid_list_copy(primary->gtid_binlog_pos, &a->primary_pos);
        if (r >= 0 && !(a->primary_state = strdup(primary->gtid_binlog_state)))
                r = -ENOMEM;
        return action_launch(a, r, handler, userdata);
}

int server_action_replica_semi_sync(server_action *a, bool slave_semi_sync, uint64_t deadline_usec,
        server_action_handler handler, void *userdata) {
        int r = action_begin(a, SERVER_ACTION_REPLICA_SEMI_SYNC, 0, deadline_usec, handler);

        if (r < 0)
                return r;
        a->src.semi_sync = slave_semi_sync; /* only this of src: no CHANGE MASTER TO here */
        return action_launch(a, 0, handler, userdata);
}
