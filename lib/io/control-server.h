/* The daemon's control socket (SPEC 2, issues 3 and 7): an AF_UNIX stream socket serving the
 * protocol of control-proto.h on an sd-event loop.
 *
 * One request per connection: the server reads one line, answers it with one line and closes the
 * connection (bytes after the request are ignored). sentinelctl makes one call per run anyway, and
 * it keeps every connection's life short and its state small.
 *
 * Who may connect. The socket is created mode 0660 when options.has_group (0600 without: nobody but
 * its owner passes the kernel's check), owned by the daemon's effective uid (root when it runs as
 * root) and, with a group, chown()ed to options.group; a daemon that is not root must be a member of
 * that group for the chown to work, else control_server_new() fails with -EPERM. The mode is set by
 * the umask around bind() and checked, so it never depends on the caller's umask. The kernel checks
 * that mode at connect(); the server checks again on every accepted connection with SO_PEERCRED (the
 * peer's effective uid and gid when it called connect()) and SO_PEERGROUPS (its supplementary groups
 * then), and admits exactly:
 *   - uid 0,
 *   - the daemon's own effective uid,
 *   - when options.has_group: a peer whose gid is options.group or whose supplementary groups
 *     include it.
 * Anyone else gets one PERMISSION_DENIED line ("permission denied: uid U is not root or in group G")
 * and the connection is closed, also when the file mode or a looser directory would have let them
 * connect. Without a group, only root and the daemon's user are admitted, whatever the file's group.
 *
 * Why SO_PEERGROUPS and not /proc/PID/status's "Groups:" line: both the kernel's answers are a
 * snapshot taken at connect() and tied to the socket, so nothing the peer does afterwards changes
 * them. Reading /proc by the pid of SO_PEERCRED is a time-of-check/time-of-use race: the peer may
 * have changed its groups, exec()ed something else, or exited and had its pid reused by another
 * process by the time we read. On kernels without SO_PEERGROUPS (before 4.13) only the primary gid
 * is checked; /proc is never read.
 *
 * Limits, none of which one client can use to hold up another or the loop:
 *   - at most max_clients connections at once, and at most max_clients_per_uid of them from one uid
 *     (so that one user's silent connections cannot lock root out): one more gets BUSY and is closed;
 *   - each peer uid gets a token bucket of rate_burst requests refilled at rate_per_sec (one request
 *     per connection): an empty bucket means BUSY "rate limited: ...";
 *   - a request of at most CONTROL_REQUEST_MAX bytes (else TOO_LARGE), which must arrive whole
 *     within request_timeout of the accept (else TIMEOUT): a deadline, not reset by partial data,
 *     so neither a silent nor a trickling client keeps its slot;
 *   - the handler's answer within reply_timeout (else TIMEOUT; see control_client_set_reply_timeout);
 *   - the reply is written without blocking: a client that does not read it all within
 *     write_timeout is dropped. A reply larger than CONTROL_REPLY_MAX is replaced by an INTERNAL error.
 * Refusals (DENIED, BUSY, RATE_LIMITED) are answered with one non-blocking send() at accept and the
 * connection is closed at once: they never hold a slot.
 *
 * Reports. Every refused or dropped connection is counted (control_server_get_stats()); the event
 * callback hears of it at most once per report_interval per event and peer uid, with the number of
 * the same events it was not told of since, so that a flood cannot flood the log.
 *
 * Placement. control_server_new() refuses to start when a server answers on the path (-EADDRINUSE)
 * or when the path is not a socket (-EEXIST); it removes a socket nobody listens on. The setup runs
 * under an flock of the socket's directory, so two daemons starting at once cannot both take the
 * path. The directory must exist (the daemon creates it 0755 when missing and leaves an existing one
 * as it is) and must not be writable by untrusted users. control_server_free() removes the socket
 * when it is still the one it created. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "control-proto.h"
#include "macro.h"

#define CONTROL_SOCKET_MODE_GROUP            0660 /* with options.has_group */
#define CONTROL_SOCKET_MODE_PRIVATE          0600 /* without */
#define CONTROL_MAX_CLIENTS_DEFAULT          32
#define CONTROL_MAX_CLIENTS_PER_UID_DEFAULT  16
#define CONTROL_REQUEST_TIMEOUT_USEC_DEFAULT (5 * 1000000ULL)
#define CONTROL_WRITE_TIMEOUT_USEC_DEFAULT   (10 * 1000000ULL)
#define CONTROL_REPLY_TIMEOUT_USEC_DEFAULT   (300 * 1000000ULL)
/* Per uid. Above the 20 requests a second of a status poll every 50 ms (tests, checkers), so two such
 * pollers of one user still pass; a runaway loop does not. */
#define CONTROL_RATE_BURST_DEFAULT           100
#define CONTROL_RATE_PER_SEC_DEFAULT         50
#define CONTROL_REPORT_INTERVAL_USEC_DEFAULT (60 * 1000000ULL)

typedef struct control_server control_server;
typedef struct control_client control_client;

/* Zero fields mean the defaults above. */
typedef struct control_server_options {
        bool has_group;
        gid_t group;            /* the socket's group, admitted (see above) */
        const char *group_name; /* for messages (copied); NULL: the number */
        unsigned max_clients;
        unsigned max_clients_per_uid;
        uint64_t request_timeout_usec; /* accept to complete request */
        uint64_t reply_timeout_usec;   /* request to the handler's answer */
        uint64_t write_timeout_usec;   /* answer to the last byte written */
        unsigned rate_burst;
        unsigned rate_per_sec;
        uint64_t report_interval_usec; /* per event and peer uid, see "Reports" */
} control_server_options;

/* Called once per valid request. Answer now or later with control_client_reply*(); to answer
 * later, keep a reference (control_client_ref()). A negative return with no answer sent answers
 * INTERNAL with its errno. Must not free the server (defer that to another event source). */
typedef int (*control_handler_t)(
        control_server *s, control_client *c, const control_request *req, void *userdata);

/* What happened to a connection that did not end with a reply; for the daemon's log and metrics. */
typedef enum control_server_event {
        CONTROL_SERVER_EVENT_DENIED,          /* the peer is not admitted */
        CONTROL_SERVER_EVENT_BUSY,            /* too many clients, or too many from the peer's uid */
        CONTROL_SERVER_EVENT_RATE_LIMITED,    /* the peer's uid made too many requests */
        CONTROL_SERVER_EVENT_BAD_REQUEST,     /* malformed, unknown or oversized request */
        CONTROL_SERVER_EVENT_REQUEST_TIMEOUT, /* no complete request in time */
        CONTROL_SERVER_EVENT_REPLY_TIMEOUT,   /* the handler did not answer in time */
        CONTROL_SERVER_EVENT_WRITE_TIMEOUT,   /* the client did not read its reply in time */
        CONTROL_SERVER_EVENT_GONE,            /* the client hung up or failed before its reply was out */
        CONTROL_SERVER_EVENT_ACCEPT_FAILED,   /* accept() failed (out of fds?): paused briefly */
        _CONTROL_SERVER_EVENT_MAX,
        _CONTROL_SERVER_EVENT_INVALID = -EINVAL,
} control_server_event;

/* Reports an event; peer is NULL when unknown. n_suppressed: how many events of this kind from this
 * peer uid (from unknown peers, when peer is NULL) were not reported since the last report (see
 * "Reports" above). Must not free the server. */
typedef void (*control_server_event_t)(control_server *s, control_server_event ev, const struct ucred *peer,
        unsigned n_suppressed, void *userdata);

/* Counters since the server started. */
typedef struct control_server_stats {
        uint64_t accepted, replied, events[_CONTROL_SERVER_EVENT_MAX];
} control_server_stats;

/* The name of an event ("rate-limited"), or NULL when out of range. */
const char *control_server_event_to_string(control_server_event ev);

/* Listens at path (see above) and serves requests on e with handler; opts may be NULL. */
int control_server_new(sd_event *e, const char *path, const control_server_options *opts,
        control_handler_t handler, void *userdata, control_server **ret);

/* Closes every connection (clients still referenced stay valid, disconnected), removes the socket
 * if it is still ours, frees the server; accepts NULL; returns NULL. */
control_server *control_server_free(control_server *s);

static inline void control_server_freep(control_server **s) {
        control_server_free(*s);
}

/* Sets the callback told about dropped and refused connections (NULL: none). */
void control_server_set_event_callback(control_server *s, control_server_event_t cb, void *userdata);

/* The socket's path. */
const char *control_server_get_path(const control_server *s);

/* How many connections are open now. */
unsigned control_server_get_n_clients(const control_server *s);

/* The counters. */
void control_server_get_stats(const control_server *s, control_server_stats *ret);

/* Takes a reference to a client, to answer it later; accepts NULL; returns c. */
control_client *control_client_ref(control_client *c);

/* Drops a reference; accepts NULL; returns NULL. */
control_client *control_client_unref(control_client *c);

static inline void control_client_unrefp(control_client **c) {
        control_client_unref(*c);
}

/* Answers {"ok":true,"result":result}, taking result (NULL: {}) also on failure. -ENOTCONN when
 * the client is gone, -EALREADY when it was answered; -EMSGSIZE when the reply would exceed
 * CONTROL_REPLY_MAX (the client then gets an INTERNAL error instead). */
int control_client_reply(control_client *c, json_object *result);

/* Answers an error with a printf-style one-line message; -ENOTCONN, -EALREADY, -EINVAL. */
int control_client_reply_error(control_client *c, control_error code, const char *fmt, ...) _printf_(3, 4);

/* Whether the client is still connected and waiting for its answer. */
bool control_client_is_waiting(const control_client *c);

/* The peer's credentials as of connect(). */
const struct ucred *control_client_get_peer(const control_client *c);

/* Replaces the reply timeout of a request being handled (e.g. a switchover's own timeout plus a
 * margin); counts from now; 0 means CONTROL_REPLY_TIMEOUT_USEC_DEFAULT. -ENOTCONN, -EALREADY. */
int control_client_set_reply_timeout(control_client *c, uint64_t usec);

/* Called once when the client goes away (hangs up, or the server is freed) before it was answered;
 * the reference of whoever set it stays theirs to drop. Not called on a reply timeout: that answers
 * TIMEOUT, and a later answer returns -EALREADY. */
typedef void (*control_client_gone_t)(control_client *c, void *userdata);

/* Sets the callback for a client that goes away unanswered (NULL: none). */
void control_client_set_gone_callback(control_client *c, control_client_gone_t cb, void *userdata);
