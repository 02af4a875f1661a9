/* sentinelctl's side of the control socket (control-server.h): connect without blocking, send one
 * request, wait for its one-line reply with a deadline, parse it (control-proto.h).
 *
 * The two steps fail apart, for SPEC 2's exit codes: every failure of control_conn_open() means
 * the daemon could not be reached (exit 3, "cannot reach the daemon at PATH: REASON" with REASON
 * from control_conn_strerror()). control_conn_call() fails with -ETIMEDOUT (no reply in time),
 * -ECONNRESET (the daemon closed the connection without a reply), -EBADMSG (not a reply),
 * -EMSGSIZE (a reply over CONTROL_REPLY_MAX), -EINVAL (a request control_request_format() refuses)
 * or -ENOMEM; a reply, also an error reply, is a success of the call. Blocking, for a CLI: never
 * use it on an event loop. */
#pragma once

#include <stdint.h>

#include "control-proto.h"

/* control_conn_call()'s timeout for "wait as long as it takes". */
#define CONTROL_TIMEOUT_INFINITY UINT64_MAX

typedef struct control_conn control_conn;

/* Connects to the socket at path: -ENOENT (no socket), -ECONNREFUSED (nobody listens), -EACCES,
 * -EAGAIN (the daemon's backlog is full), -ENAMETOOLONG, -ENOTSOCK... */
int control_conn_open(const char *path, control_conn **ret);

/* Closes the connection; accepts NULL; returns NULL. */
control_conn *control_conn_close(control_conn *c);

static inline void control_conn_closep(control_conn **c) {
        control_conn_close(*c);
}

/* Sends one request (args may be NULL, not taken) and waits up to timeout_usec for the reply; a
 * connection carries one call (-EALREADY after). */
int control_conn_call(control_conn *c, control_command command, const char *cluster, json_object *args,
        uint64_t timeout_usec, control_reply **ret);

/* control_conn_call() with the request's bytes as given (for tests and debugging tools). */
int control_conn_call_raw(
        control_conn *c, const void *data, size_t len, uint64_t timeout_usec, control_reply **ret);

/* A short reason for an error of this module, for "cannot reach the daemon at PATH: REASON". */
const char *control_conn_strerror(int r);
