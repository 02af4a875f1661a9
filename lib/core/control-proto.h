/* The control protocol between the daemon and sentinelctl (SPEC 2): one JSON object per line.
 *
 * Request (at most CONTROL_REQUEST_MAX bytes before its newline):
 *   {"version":1,"command":"switchover","cluster":"main","args":{"to":"db-b","timeout_ms":30000}}
 * Reply (at most CONTROL_REPLY_MAX bytes before its newline):
 *   {"version":1,"ok":true,"result":{...}}
 *   {"version":1,"ok":false,"error":{"code":"UNKNOWN_CLUSTER","message":"no cluster 'x'"}}
 *
 * Requests are read from untrusted peers and parsed strictly: valid UTF-8 without NUL bytes (also
 * none as \u0000 in a string), exactly one object, "version" the integer 1, "command" a known
 * command, "cluster" a string or null (absent = null) as the command wants it, "args" an object
 * (absent = {}) holding only the arguments the command defines, with their types; no other
 * top-level key, no duplicate key. Replies are parsed leniently: unknown keys and error codes are
 * kept or ignored, so an older sentinelctl can talk to a newer daemon.
 *
 * Arguments per command (every one optional unless marked; uint: a JSON integer 0..UINT32_MAX):
 *   ping         no cluster      -
 *   status       cluster or null -
 *   switchover   cluster         to (string), timeout_ms (uint), dry_run (bool)
 *   failover     cluster         to (string), force (bool), no_quorum (bool), dry_run (bool)
 *   maintenance  cluster         enabled (bool, required), ttl_s (uint)
 *   history      cluster         limit (uint)
 *   why          cluster         -
 *   reload       no cluster      -
 *
 * Pure code: no I/O, no logging. */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_PROTOCOL_VERSION 1
/* The longest request and reply, in bytes, not counting the newline that ends them. */
#define CONTROL_REQUEST_MAX (64 * 1024)
#define CONTROL_REPLY_MAX   (16 * 1024 * 1024)
/* An error message's buffer: at most this many bytes including the NUL; longer ones are cut. */
#define CONTROL_MESSAGE_MAX 512
/* The longest cluster name and string argument a request may carry. */
#define CONTROL_NAME_MAX 255

typedef enum control_command {
        CONTROL_COMMAND_PING,
        CONTROL_COMMAND_STATUS,
        CONTROL_COMMAND_SWITCHOVER,
        CONTROL_COMMAND_FAILOVER,
        CONTROL_COMMAND_MAINTENANCE,
        CONTROL_COMMAND_HISTORY,
        CONTROL_COMMAND_WHY,
        CONTROL_COMMAND_RELOAD,
        _CONTROL_COMMAND_MAX,
        _CONTROL_COMMAND_INVALID = -EINVAL,
} control_command;

/* The error codes of a reply. Their names are the wire strings. */
typedef enum control_error {
        CONTROL_ERROR_BAD_REQUEST,       /* not a valid request: syntax, types, keys, arguments */
        CONTROL_ERROR_TOO_LARGE,         /* the request is longer than CONTROL_REQUEST_MAX */
        CONTROL_ERROR_UNKNOWN_COMMAND,   /* a well-formed request naming a command we do not know */
        CONTROL_ERROR_UNKNOWN_CLUSTER,   /* no such cluster in the running config */
        CONTROL_ERROR_REFUSED,           /* understood and not done: a safety rule said no */
        CONTROL_ERROR_FAILED,            /* tried and failed */
        CONTROL_ERROR_BUSY,              /* too many clients or requests: try again later */
        CONTROL_ERROR_TIMEOUT,           /* no complete request in time, or no answer in time */
        CONTROL_ERROR_PERMISSION_DENIED, /* the peer is neither root, the daemon's user nor in its group */
        CONTROL_ERROR_INTERNAL,          /* a bug or a resource shortage in the daemon */
        CONTROL_ERROR_UNSUPPORTED,       /* known, but not available in this build or configuration */
        _CONTROL_ERROR_MAX,
        _CONTROL_ERROR_INVALID = -EINVAL,
} control_error;

/* A parse failure of a request: what the daemon sends back. */
typedef struct control_error_info {
        control_error code;
        char message[CONTROL_MESSAGE_MAX]; /* one line, printable ASCII and UTF-8 */
} control_error_info;

/* A parsed request. */
typedef struct control_request {
        control_command command;
        char *cluster;     /* NULL when null or absent */
        json_object *args; /* never NULL: {} when absent; only the command's arguments, type-checked */
} control_request;

/* A parsed reply. */
typedef struct control_reply {
        bool ok;
        json_object *result; /* ok: the result, an object; NULL otherwise */
        control_error error; /* !ok: the code, _CONTROL_ERROR_INVALID when this build does not know it */
        char *error_code;    /* !ok: the code as sent */
        char *error_message; /* !ok: the message made one printable line; "" when absent */
} control_reply;

/* The wire name of a command ("switchover"), or NULL when out of range. */
const char *control_command_to_string(control_command c);

/* Parses a command's wire name; _CONTROL_COMMAND_INVALID when unknown or NULL. */
control_command control_command_from_string(const char *s);

/* The wire name of an error code ("UNKNOWN_CLUSTER"), or NULL when out of range. */
const char *control_error_to_string(control_error e);

/* Parses an error code's wire name; _CONTROL_ERROR_INVALID when unknown or NULL. */
control_error control_error_from_string(const char *s);

/* Parses one request line (len bytes, without its newline; need not be NUL-terminated). 0 and
 * *ret on success; -EBADMSG with err filled (BAD_REQUEST, UNKNOWN_COMMAND or TOO_LARGE) when the
 * request is invalid; -ENOMEM; -EINVAL when called wrongly. */
int control_request_parse(const char *buf, size_t len, control_request **ret, control_error_info *err);

/* Frees a request; accepts NULL; returns NULL. */
control_request *control_request_free(control_request *r);

static inline void control_request_freep(control_request **r) {
        control_request_free(*r);
}

/* Serializes a request as one line ending in "\n" (*ret_len counts it); args may be NULL and is
 * not taken. The result parses back to the same request; -EINVAL when it would not (unknown
 * command, a cluster where none belongs, a wrong argument), -EMSGSIZE when too long, -ENOMEM. */
int control_request_format(
        control_command command, const char *cluster, json_object *args, char **ret, size_t *ret_len);

/* The string argument key of a parsed request, or NULL when absent. */
const char *control_request_get_string(const control_request *r, const char *key);

/* The bool argument key of a parsed request, or def when absent. */
bool control_request_get_bool(const control_request *r, const char *key, bool def);

/* The uint argument key of a parsed request, or def when absent. */
uint64_t control_request_get_uint(const control_request *r, const char *key, uint64_t def);

/* Serializes {"version":1,"ok":true,"result":result} as one line ending in "\n"; result may be
 * NULL ({}), must otherwise be an object, and is not taken. -EMSGSIZE when longer than
 * CONTROL_REPLY_MAX, -EINVAL, -ENOMEM. */
int control_reply_format_ok(json_object *result, char **ret, size_t *ret_len);

/* Serializes an error reply as one line ending in "\n"; message (NULL: "") is made one printable
 * line and cut to CONTROL_MESSAGE_MAX. -EINVAL when code is out of range, -ENOMEM. */
int control_reply_format_error(control_error code, const char *message, char **ret, size_t *ret_len);

/* Parses one reply line (without its newline). 0 and *ret; -EBADMSG when it is not a reply of
 * protocol version 1 (no "ok" boolean, an ok reply without a result object, an error reply
 * without an error object and code string); -ENOMEM; -EINVAL. */
int control_reply_parse(const char *buf, size_t len, control_reply **ret);

/* Frees a reply; accepts NULL; returns NULL. */
control_reply *control_reply_free(control_reply *r);

static inline void control_reply_freep(control_reply **r) {
        control_reply_free(*r);
}

/* Copies s into buf (size bytes, size >= 4) as one printable line: control characters and invalid
 * UTF-8 become '?', and a cut is marked with "..."; NULL gives "". Returns buf. */
char *control_sanitize_line(const char *s, size_t len, char *buf, size_t size);

/* An incremental line splitter with a cap on the line length, for reading requests and replies
 * from a byte stream. */
typedef struct control_line_splitter control_line_splitter;

/* A splitter for lines of at most max_line bytes (not counting the newline). */
int control_line_splitter_new(size_t max_line, control_line_splitter **ret);

/* Frees a splitter; accepts NULL; returns NULL. */
control_line_splitter *control_line_splitter_free(control_line_splitter *s);

static inline void control_line_splitter_freep(control_line_splitter **s) {
        control_line_splitter_free(*s);
}

/* Takes bytes from data up to and including the first newline into *ret_consumed: 1 when that
 * completed a line (see _get()), 0 when all len bytes were taken without completing one,
 * -EMSGSIZE when the line grew longer than max_line (sticky until _reset()), -EBUSY when a complete
 * line has not been popped yet, -ENOMEM. */
int control_line_splitter_feed(control_line_splitter *s, const void *data, size_t len, size_t *ret_consumed);

/* The complete line, without its newline but NUL-terminated (it may hold NULs), valid until the
 * next _pop(), _reset() or _free(); -ENODATA when no line is complete. */
int control_line_splitter_get(const control_line_splitter *s, const char **ret_line, size_t *ret_len);

/* Drops the complete line (if any), making room for the next. */
void control_line_splitter_pop(control_line_splitter *s);

/* Drops everything, also a -EMSGSIZE state. */
void control_line_splitter_reset(control_line_splitter *s);

/* How many bytes of an incomplete line are buffered. */
size_t control_line_splitter_pending(const control_line_splitter *s);
