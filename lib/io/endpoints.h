/* Repointing every endpoint of a cluster at a new primary (SPEC 5.12): one call runs all of
 * cluster_conf.endpoints[] at once for one failover or switchover, on the caller's sd-event loop,
 * bounded by one deadline, and reports one outcome per endpoint. Also the `exec` endpoint itself.
 *
 * Per endpoint type:
 *   dns   endpoint_dns_update() (endpoint-dns.h): the name to the new primary's address, guarded by
 *         the epoch record, verified at the authoritative server. The address is the new primary's
 *         host when it is an IP literal; a host name is first resolved without blocking (resolve.h)
 *         and the first address getaddrinfo() gives is used. A newer epoch at the server gives
 *         ok = false and stale = true: this sentinel's failover has been superseded.
 *   vip   the address belongs on the host of the sentinel in the new primary's zone, so each
 *         sentinel does its own part (all sentinels' endpoint configs name the same VIP):
 *           this sentinel's zone is the new primary's   add it (endpoint_vip_add(), which sends the
 *                                                       first announcement), check it is there
 *                                                       (endpoint_vip_present()), then send the other
 *                                                       ENDPOINT_VIP_GARP_COUNT_DEFAULT - 1
 *                                                       announcements and wait for them;
 *           else it is the old primary's                remove it, check it is gone;
 *           else                                        nothing: ok, skipped ("not this sentinel's zone").
 *         A new and an old primary in the same zone: add. The netlink calls block (locally, bounded by
 *         ENDPOINT_VIP_NETLINK_TIMEOUT_USEC each) during endpoints_update(); only the announcements
 *         are spaced out on the loop. An announcement that fails fails the endpoint (neighbours keep
 *         sending to the old host until their ARP/ND entries expire); the address stays.
 *   exec  the command runs on the runner (runner.h) with hook_event_build(HOOK_TARGET_EXEC_ENDPOINT)'s
 *         environment (SENTINEL_* of SPEC 6 plus SENTINEL_PRIMARY_HOST and SENTINEL_PRIMARY_PORT, the
 *         new primary's host as configured) and the event's JSON on stdin, with its timeout_ms
 *         (then SIGTERM to its group, RUNNER_KILL_GRACE_DEFAULT_USEC later SIGKILL). Exit 0 within
 *         the timeout is ok; anything else failed, and the message says how it ended and gives the
 *         first line of its output (sanitised, cut short).
 *
 * The deadline: every endpoint must be done by params.deadline_usec. A dns update gets the time
 * left (less ENDPOINTS_DEADLINE_MARGIN_USEC, so that its own, more telling, timeout comes first);
 * whatever still runs at the deadline is cancelled (a command's group gets SIGKILL) and failed with
 * "timed out". A deadline already past when called starts nothing and fails every endpoint.
 *
 * Nothing here logs: each outcome carries a one-line message for the caller to log, audit or page.
 * SIGCHLD must be blocked in every thread before an exec endpoint runs (see runner.h): the daemon
 * does so at start; otherwise that endpoint fails (-EBUSY) and its message says so. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"

/* How much earlier than the deadline a dns update is told to give up. */
#define ENDPOINTS_DEADLINE_MARGIN_USEC (20 * 1000ULL)
/* Room for an outcome's message. */
#define ENDPOINTS_MESSAGE_MAX 512
/* How much of an exec endpoint's first output line goes into its message. */
#define ENDPOINTS_OUTPUT_LINE_MAX 160

typedef struct endpoints_op endpoints_op;

typedef struct endpoints_params {
        /* The cluster: its endpoints, servers and name. Borrowed: must outlive the op. */
        const cluster_conf *conf;
        /* This sentinel (for exec endpoints' SENTINEL_NAME and SENTINEL_ZONE, and to decide a vip
         * endpoint's part); NULL: empty (a NULL zone matches no server's zone). */
        const char *sentinel_name, *sentinel_zone;
        uint64_t epoch;
        size_t new_primary;     /* index into conf->servers */
        size_t old_primary;     /* index into conf->servers, or TOPOLOGY_NONE (SIZE_MAX) if unknown */
        sentinel_event event;   /* what an exec endpoint is told, e.g. EVENT_FAILOVER_END */
        const char *message;    /* for an exec endpoint's SENTINEL_MESSAGE; NULL: empty */
        uint64_t deadline_usec; /* absolute CLOCK_MONOTONIC (as sd_event_now()), for every endpoint */
} endpoints_params;

typedef struct endpoint_outcome {
        size_t index;                        /* into conf->endpoints */
        endpoint_type type;                  /* conf->endpoints[index].type */
        bool ok;                             /* done and verified, or skipped */
        bool skipped;                        /* nothing to do here (a vip of another zone); ok is true */
        bool stale;                          /* dns: the server holds a newer epoch (ok is false) */
        bool timed_out;                      /* still running at the deadline (ok is false) */
        uint64_t duration_usec;              /* from the call to this endpoint's end */
        char message[ENDPOINTS_MESSAGE_MAX]; /* one line, no newline: what was done or what failed */
} endpoint_outcome;

typedef struct endpoints_result {
        size_t n;                         /* conf->n_endpoints */
        const endpoint_outcome *outcomes; /* n of them, in conf->endpoints order */
        bool all_ok;                      /* every outcome ok (true when n is 0) */
        bool any_stale;                   /* some dns endpoint said a newer epoch exists */
        uint64_t duration_usec;           /* from the call to the result */
} endpoints_result;

/* Called once, from the event loop (never from endpoints_update() itself), when every endpoint has
 * ended or at the deadline. res and what it points to live in op: valid during the call only, and
 * only until op is freed. The handler may free op (once done with res) and start others. */
typedef void (*endpoints_handler)(endpoints_op *op, const endpoints_result *res, void *userdata);

/* Starts repointing every endpoint of p->conf at server p->new_primary (see above) on e; handler gets
 * the result once, from the loop, also for a cluster without endpoints. p's strings are used during
 * the call only; p->conf must outlive the op. A single endpoint that cannot be started is a failed
 * outcome, not an error. -EINVAL on a missing argument, an index out of range, a bad event or a
 * deadline of 0; -ENOMEM; or sd-event's negative errno (nothing is left running then). */
int endpoints_update(sd_event *e, const endpoints_params *p, endpoints_handler handler, void *userdata,
        endpoints_op **ret);

/* Stops everything still running at once (dns updates dropped, commands' groups killed and reaped,
 * announcements stopped); the handler is not called. NULL-safe; may be called from the handler.
 * Returns NULL. */
endpoints_op *endpoints_op_free(endpoints_op *op);

static inline void endpoints_op_freep(endpoints_op **op) {
        endpoints_op_free(*op);
}

/* Whether the result has not been delivered yet. */
bool endpoints_op_is_running(const endpoints_op *op);
