/* What a hook or an exec endpoint is given about an event (SPEC 6): its whole environment and the
 * event's JSON for its stdin. Pure: nothing here runs a process or reads a clock (the time of the
 * event is passed in), and nothing is inherited from the daemon's own environment.
 *
 * Every environment value is sanitised: control characters (newlines included) become spaces,
 * bytes that are not UTF-8 become '?', and it is cut to HOOK_EVENT_VALUE_MAX bytes at a character
 * boundary. JSON strings get the same UTF-8 repair but keep their control characters (JSON escapes
 * them) and their length. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* The only search path a hook gets, and its locale. */
#define HOOK_ENV_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_ENV_LANG "C.UTF-8"

/* The longest environment value, in bytes, before the "KEY=" and the NUL. */
#define HOOK_EVENT_VALUE_MAX 4096

/* "2026-11-29T03:41:07.123Z" and its NUL. */
#define HOOK_EVENT_TIMESTAMP_MAX 25

/* Who is started: a hook, or an exec endpoint (which also gets SENTINEL_PRIMARY_HOST and
 * SENTINEL_PRIMARY_PORT, the new primary's address). */
typedef enum hook_target {
        HOOK_TARGET_HOOK,
        HOOK_TARGET_EXEC_ENDPOINT,
        _HOOK_TARGET_MAX,
        _HOOK_TARGET_INVALID = -22, /* -EINVAL */
} hook_target;

/* A server as far as it is known; every field may be unknown. */
typedef struct hook_server {
        const char *name; /* NULL when unknown */
        const char *host; /* without brackets; NULL when unknown */
        uint16_t port;    /* 0 when unknown */
} hook_server;

/* One event, as the daemon raises it. Everything is borrowed for the duration of the call. */
typedef struct hook_event {
        sentinel_event event;
        const char *cluster; /* required */
        uint64_t epoch;
        const char *sentinel_name; /* this sentinel; NULL: empty */
        const char *sentinel_zone; /* NULL: empty */
        hook_server old_primary;
        hook_server new_primary;
        const char *message;    /* one human sentence; NULL: empty */
        uint64_t realtime_usec; /* wall-clock time of the event (CLOCK_REALTIME µs), for "at" */
        json_object *details;   /* an object of anything else, added by reference; NULL: {} */
        const char *credentials_directory; /* the daemon's $CREDENTIALS_DIRECTORY (systemd), passed on
                                            * so a hook finds its own credentials; NULL: not set */
} hook_event;

/* The two things a process is started with. */
typedef struct hook_invocation {
        char **env; /* "KEY=value" strings and a NULL, for execve() */
        size_t n_env;
        char *input; /* the event's JSON and a newline, NUL-terminated, for stdin */
        size_t input_size;
} hook_invocation;

/* Builds the whole environment for target: SENTINEL_EVENT, SENTINEL_CLUSTER, SENTINEL_EPOCH,
 * SENTINEL_SEVERITY, SENTINEL_NAME, SENTINEL_ZONE, SENTINEL_OLD_PRIMARY, SENTINEL_NEW_PRIMARY,
 * SENTINEL_MESSAGE (always all, empty when unknown), for an exec endpoint SENTINEL_PRIMARY_HOST and
 * SENTINEL_PRIMARY_PORT, then PATH and LANG, in that order. -EINVAL on a bad event, target or missing
 * cluster, and for an exec endpoint whose new primary has no host or port; -ENOMEM. */
int hook_event_build_env(const hook_event *ev, hook_target target, char ***ret);

/* Builds the event's JSON object: event, cluster, epoch, severity, sentinel {name, zone},
 * old_primary and new_primary {name, host, port} (unknown members null), message, at, details. */
int hook_event_to_json(const hook_event *ev, json_object **ret);

/* Builds the environment and the stdin text of one invocation for target (see above). */
int hook_event_build(const hook_event *ev, hook_target target, hook_invocation **ret);

/* Frees an invocation; NULL-safe; returns NULL. */
hook_invocation *hook_invocation_free(hook_invocation *inv);

static inline void hook_invocation_freep(hook_invocation **inv) {
        hook_invocation_free(*inv);
}

/* Frees a NULL-terminated array of strings and the array; NULL-safe; returns NULL. */
char **hook_env_free(char **env);

/* Formats a server as SPEC 6 wants it: "name host:port" ("[v6]:port" for an IPv6 host), "name"
 * without an address, "host:port" without a name, "" when nothing is known. Not sanitised. */
int hook_event_format_server(const hook_server *s, char **ret);

/* Formats wall-clock microseconds since the Unix epoch as RFC 3339 UTC with milliseconds. */
int hook_event_format_timestamp(uint64_t realtime_usec, char buf[static HOOK_EVENT_TIMESTAMP_MAX]);

/* Copies s (NULL: "") with every byte sequence that is not UTF-8 replaced by '?', control characters
 * (below 0x20, 0x7f) replaced by ' ' unless keep_control, cut to at most max_bytes at a character
 * boundary (0: no limit). */
int hook_event_sanitize(const char *s, bool keep_control, size_t max_bytes, char **ret);
