/* Internals shared by server-action.c (the driver: plans, lifecycle, messages, the public API) and
 * server-action-sql.c (the statements and what their results mean). Not for other modules. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "server-action.h"

#define ACTION_MESSAGE_MAX 512

typedef enum step {
        STEP_OBSERVE,
        STEP_REOBSERVE,
        STEP_SLAVES,
        STEP_READ_ONLY_ON,
        STEP_PROCESSLIST,
        STEP_KILL,
        STEP_MASTER_SEMI_OFF,
        STEP_MASTER_SEMI_ON,
        STEP_SLAVE_SEMI,
        STEP_STOP_IO,
        STEP_RECEIVED,
        STEP_STOP_ALL_SLAVES,
        STEP_RESET_SLAVE,
        STEP_CHECK_HISTORY,
        STEP_STOP_SLAVE,
        STEP_SET_SLAVE_POS,
        STEP_CHANGE_MASTER,
        STEP_START_SLAVE,
        STEP_REPLICA_STATE,
        STEP_GTID_WAIT,
        STEP_READ_ONLY_OFF,
        STEP_CONFIRM,
        STEP_STOP_IO_THREAD, /* replica-semi-sync: connection '' only */
        STEP_START_IO_THREAD,
        _STEP_MAX,
        _STEP_INVALID = -EINVAL,
} step;

/* What failed, for result.statement: the statement without its values. */

/* What failed, for result.statement: the statement without its values. */
extern const char *const server_action_step_name[_STEP_MAX];

struct server_action {
        unsigned n_ref;
        sd_event *event;
        db_conn *conn;
        char *host;
        uint16_t port;

        /* The action in progress. */
        bool running;
        server_action_type type;
        unsigned flags;
        const step *plan;
        size_t i; /* the current step of plan */
        bool retried;
        uint64_t deadline_usec;
        server_action_handler handler;
        void *userdata;
        sd_event_source *defer_source; /* the first step, from the loop */
        sd_event_source *timer_source; /* the next poll of the replica's threads */

        /* Inputs, our copies. */
        gtid_list wait_pos;
        bool wait_io_pos;
        server_action_source src;
        gtid_list primary_pos;
        char *primary_state;

        /* What the steps found. */
        bool no_backslash_escapes;
        bool read_only_ran;     /* this action turned read_only on */
        bool read_only_pending; /* fence: read_only=ON waited too long; kill, then try again */
        unsigned read_only_tries;
        uint64_t *kill_ids;
        size_t n_kill, i_kill;
        char **connections; /* every replication connection's name */
        size_t n_connections, i_reset;
        bool following;  /* connection '' runs from src exactly as asked */
        bool io_stopped; /* replica-semi-sync: this action stopped the IO thread */
        bool io_active;  /* replica-semi-sync: connection ''s Slave_IO_Running was not "No" (also
                          * "Preparing" or any state a later server may add: it may be starting) */
        uint64_t poll_usec;
        uint32_t replica_errno;     /* the last error of the replica's threads */
        gtid_list history;          /* rejoin: its binlog pos raised to its current pos per domain */
        char *unapplied;            /* promote: what the relay logs hold that was not applied yet */
        bool changed;               /* a statement that changes something ran */
        server_action_code pending; /* the code to end with after the last step (catch-up's -1) */
        server_action_result r;
        char message[ACTION_MESSAGE_MAX];
};

/* What a step's result handler returns, besides a negative errno (the action then fails): */
#define STEP_NEXT     1            /* on to the next wanted step */
#define STEP_AGAIN    0            /* the same step again while still wanted: one item of a list done */
#define STEP_WAIT     2            /* a timer resumes the step (server_action_poll()) */
#define STEP_FINISHED (-ECANCELED) /* the handler was called: a is idle, touch nothing */

/* The loop's time. */
uint64_t server_action_now(server_action *a);

/* One line into a->message, control characters blanked and the replication password kept out. */
_printf_(3, 4) void server_action_message(server_action *a, step s, const char *fmt, ...);

/* Finishes the action at step s with code and a message (the handler is called: touch a no more). */
_printf_(4, 5) void server_action_fail(
        server_action *a, step s, server_action_code code, const char *fmt, ...);

/* Runs the current step again a little later (backing off); STEP_WAIT or a negative errno. */
int server_action_poll(server_action *a);

/* The statement of step s, new in *ret (wipe it: CHANGE MASTER TO carries the password). */
int server_action_step_sql(server_action *a, step s, char **ret);

/* What step s's result means: STEP_* or a negative errno (-EINVAL: not the expected result). */
int server_action_step_result(server_action *a, step s, const db_result *res);

/* rejoin's local step: STEP_NEXT when allowed, STEP_FINISHED when refused (DIVERGED), or <0. */
int server_action_check_history(server_action *a);

/* free() after overwriting: for anything that held a password. */
static inline void wipe_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}
