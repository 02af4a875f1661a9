/* Every endpoint of a cluster for one failover, and the exec endpoint. See endpoints.h.
 *
 * One op holds one job per configured endpoint. A job ends exactly once (job_end()): from its
 * sub-operation's handler, at once when it is synchronous (vip, a skip, a failure to start), or at
 * the deadline. The op delivers the result when the last job has ended: from the handler of that
 * job's sub-operation when it ends on the loop, from a one-shot defer source when all ended during
 * endpoints_update(). */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint-dns.h"
#include "endpoint-vip.h"
#include "endpoints.h"
#include "hook-event.h"
#include "macro.h"
#include "resolve.h"
#include "runner.h"
#include "topology.h"

#define TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)

typedef struct endpoint_job {
        endpoints_op *op;
        size_t index;
        bool ended;
        endpoint_dns_op *dns;
        resolve_job *resolve;
        sd_event_source *resolve_source;
        endpoint_vip_garp *garp;
        char vip_message[ENDPOINT_VIP_MESSAGE_MAX]; /* what the add said, while the announcements go on */
        runner *runner;
} endpoint_job;

struct endpoints_op {
        sd_event *event;
        const cluster_conf *conf;
        uint64_t epoch;
        size_t new_primary;
        endpoints_handler handler;
        void *userdata;
        uint64_t start_usec, deadline_usec;
        sd_event_source *deadline_source, *defer_source;
        bool starting; /* inside endpoints_update(): nothing is delivered from there */
        bool done;     /* the result was delivered */
        size_t n, n_running;
        endpoint_job *jobs;
        endpoint_outcome *outcomes;
};

/* Now on CLOCK_MONOTONIC, read fresh (sd_event_now() is the loop's last wakeup, which may be old). */
static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static const endpoint_conf *job_conf(const endpoint_job *j) {
        return &j->op->conf->endpoints[j->index];
}

static const server_conf *op_new_primary(const endpoints_op *op) {
        return &op->conf->servers[op->new_primary];
}

/* "dns NAME", "vip ADDRESS/LEN on IFACE", "exec COMMAND", for messages. */
static const char *job_describe(const endpoint_job *j, char *buf, size_t size) {
        const endpoint_conf *c = job_conf(j);
        char a[IP_PREFIX_FORMAT_MAX];

        switch (c->type) {
        case ENDPOINT_DNS:
                snprintf(buf, size, "dns %s", c->dns.name);
                break;
        case ENDPOINT_VIP:
                snprintf(buf, size, "vip %s on %s", ip_prefix_format(&c->vip.address, a, sizeof(a)),
                        c->vip.interface);
                break;
        case ENDPOINT_EXEC:
                snprintf(buf, size, "exec %s", c->exec.command);
                break;
        default:
                snprintf(buf, size, "endpoint of unknown type %d", (int) c->type);
                break;
        }
        return buf;
}

/* Stops whatever the job still runs; a command's group is killed and reaped. */
static void job_cancel(endpoint_job *j) {
        j->dns = endpoint_dns_op_free(j->dns);
        j->resolve_source = sd_event_source_disable_unref(j->resolve_source);
        j->resolve = resolve_job_unref(j->resolve);
        j->garp = endpoint_vip_garp_free(j->garp);
        j->runner = runner_free(j->runner);
}

/* How a job ended, for job_end(). */
enum {
        END_OK = 1 << 0,
        END_SKIPPED = 1 << 1,
        END_STALE = 1 << 2,
        END_TIMED_OUT = 1 << 3,
};

/* Ends a job with its outcome (once); the caller then calls op_check_done(). */
_printf_(3, 4) static void job_end(endpoint_job *j, unsigned flags, const char *fmt, ...) {
        endpoint_outcome *o = &j->op->outcomes[j->index];
        uint64_t now = now_usec();
        va_list ap;

        if (j->ended)
                return;
        /* the message first: its arguments may point into the sub-operation that goes next */
        va_start(ap, fmt);
        vsnprintf(o->message, sizeof(o->message), fmt, ap);
        va_end(ap);
        job_cancel(j);
        j->ended = true;
        j->op->n_running--;
        o->ok = flags & END_OK;
        o->skipped = flags & END_SKIPPED;
        o->stale = flags & END_STALE;
        o->timed_out = flags & END_TIMED_OUT;
        o->duration_usec = now > j->op->start_usec ? now - j->op->start_usec : 0;
}

/* Delivers the result: nothing may touch op afterwards (the handler may have freed it). */
static void op_deliver(endpoints_op *op) {
        endpoints_result res = {.n = op->n, .outcomes = op->outcomes, .all_ok = true};
        uint64_t now = now_usec();

        op->done = true;
        (void) sd_event_source_set_enabled(op->deadline_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(op->defer_source, SD_EVENT_OFF);
        for (size_t i = 0; i < op->n; i++) {
                res.all_ok = res.all_ok && op->outcomes[i].ok;
                res.any_stale = res.any_stale || op->outcomes[i].stale;
        }
        res.duration_usec = now > op->start_usec ? now - op->start_usec : 0;
        op->handler(op, &res, op->userdata);
}

/* From the loop, after a job ended: delivers when it was the last. */
static void op_check_done(endpoints_op *op) {
        if (op->n_running == 0 && !op->done && !op->starting)
                op_deliver(op);
}

/* ---- dns ------------------------------------------------------------------------------------------ */

static void on_dns(endpoint_dns_op *dop, const endpoint_dns_result *res, void *userdata) {
        endpoint_job *j = userdata;

        if (res->status == ENDPOINT_DNS_OK)
                job_end(j, END_OK, "dns: %s", res->message);
        else
                job_end(j,
                        (res->status == ENDPOINT_DNS_STALE ? END_STALE : 0) |
                                (res->status == ENDPOINT_DNS_TIMEOUT ? END_TIMED_OUT : 0),
                        "dns %s: %s", endpoint_dns_status_to_string(res->status), res->message);
        op_check_done(j->op); /* job_end() freed dop, which allows it from its handler */
}

/* Starts the update to address (an IP literal), with the time left before the deadline. */
static void job_dns_update(endpoint_job *j, const char *address) {
        endpoints_op *op = j->op;
        uint64_t now = now_usec(), left;
        endpoint_dns_params params = {
                .epoch = op->epoch,
                .primary = op_new_primary(op)->name,
                .address = address,
        };
        int r;

        if (now >= op->deadline_usec)
                return; /* the deadline source is due and ends the job */
        left = op->deadline_usec - now;
        params.timeout_usec =
                left > 2 * ENDPOINTS_DEADLINE_MARGIN_USEC ? left - ENDPOINTS_DEADLINE_MARGIN_USEC : left;
        r = endpoint_dns_update(op->event, &job_conf(j)->dns, &params, on_dns, j, &j->dns);
        if (r < 0)
                job_end(j, 0, "dns: cannot start the update of %s to %s: %s", job_conf(j)->dns.name, address,
                        strerror(-r));
}

static int on_resolved(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        endpoint_job *j = userdata;
        const resolve_result *res = resolve_job_result(j->resolve);
        const char *host = op_new_primary(j->op)->host;

        if (!res)
                return 0;
        if (res->gai_error != 0)
                job_end(j, 0, "dns: cannot resolve the new primary's host %s: %s", host,
                        gai_strerror(res->gai_error));
        else {
                char address[RESOLVE_ADDRESS_MAX];

                /* copied, as the job's reference to the result goes now; without a scope (a record
                 * has none) */
                snprintf(address, sizeof(address), "%s", res->addresses[0]);
                address[strcspn(address, "%")] = '\0';
                j->resolve_source = sd_event_source_disable_unref(j->resolve_source);
                j->resolve = resolve_job_unref(j->resolve);
                job_dns_update(j, address);
        }
        op_check_done(j->op);
        return 0;
}

static void job_start_dns(endpoint_job *j) {
        const server_conf *srv = op_new_primary(j->op);
        int r;

        if (srv->family != AF_UNSPEC)
                return job_dns_update(j, srv->host);
        r = resolve_job_start(srv->host, &j->resolve);
        if (r >= 0)
                r = sd_event_add_io(j->op->event, &j->resolve_source, resolve_job_fd(j->resolve), EPOLLIN,
                        on_resolved, j);
        if (r < 0)
                return job_end(j, 0, "dns: cannot start resolving the new primary's host %s: %s", srv->host,
                        strerror(-r));
        (void) sd_event_source_set_description(j->resolve_source, "endpoints-resolve");
}

/* ---- vip ------------------------------------------------------------------------------------------ */

/* What follows "vip ADDRESS on IFACE: " in an endpoint-vip message. */
static const char *vip_message_tail(const char *m) {
        const char *p = strstr(m, ": ");

        return p ? p + 2 : m;
}

static void on_garp(endpoint_vip_garp *g, int r, unsigned sent, const char *message, void *userdata) {
        endpoint_job *j = userdata;

        if (r < 0)
                job_end(j, 0, "%s; verified present; but then %s", j->vip_message,
                        vip_message_tail(message));
        else
                job_end(j, END_OK, "%s; verified present; then %s", j->vip_message,
                        vip_message_tail(message));
        op_check_done(j->op); /* job_end() freed g, which allows it from its handler */
}

/* Whether the VIP is (want true) or is not there after a change; false: the job ended. */
static bool job_vip_verify(endpoint_job *j, const char *done, bool want) {
        char m[ENDPOINT_VIP_MESSAGE_MAX];
        int r;

        r = endpoint_vip_present(&job_conf(j)->vip, m, sizeof(m));
        if (r < 0)
                job_end(j, 0, "%s; but cannot verify it: %s", done, vip_message_tail(m));
        else if ((r > 0) != want)
                job_end(j, 0, "%s; but the address is %s afterwards", done,
                        want ? "absent" : "still present");
        return r >= 0 && (r > 0) == want;
}

/* The rule of endpoints.h: add in the new primary's zone, remove in the old one's, else skip. */
static void job_start_vip(endpoint_job *j, const char *zone, size_t old_primary) {
        const vip_endpoint_conf *v = &job_conf(j)->vip;
        const cluster_conf *c = j->op->conf;
        const char *new_zone = c->servers[j->op->new_primary].zone;
        const char *old_zone = old_primary != TOPOLOGY_NONE ? c->servers[old_primary].zone : NULL;
        char m[ENDPOINT_VIP_MESSAGE_MAX], a[IP_PREFIX_FORMAT_MAX];
        int r;

        if (zone && streq_ptr(zone, new_zone)) {
                r = endpoint_vip_add(v, m, sizeof(m));
                if (r < 0)
                        return job_end(j, 0, "%s", m);
                if (!job_vip_verify(j, m, true))
                        return;
                if (ENDPOINT_VIP_GARP_COUNT_DEFAULT <= 1)
                        return job_end(j, END_OK, "%s; verified present", m);
                snprintf(j->vip_message, sizeof(j->vip_message), "%s", m);
                r = endpoint_vip_garp_start(
                        j->op->event, v, ENDPOINT_VIP_GARP_COUNT_DEFAULT - 1, 0, on_garp, j, &j->garp);
                if (r < 0)
                        job_end(j, 0,
                                "%s; verified present; but cannot schedule the other announcements: %s", m,
                                strerror(-r));
                return;
        }
        if (zone && streq_ptr(zone, old_zone)) {
                r = endpoint_vip_remove(v, m, sizeof(m));
                if (r < 0)
                        return job_end(j, 0, "%s", m);
                if (job_vip_verify(j, m, false))
                        job_end(j, END_OK, "%s; verified absent", m);
                return;
        }
        job_end(j, END_OK | END_SKIPPED,
                "vip %s on %s: not this sentinel's zone (it belongs to the sentinel in %s, "
                "the new primary's zone; this one is in %s)",
                ip_prefix_format(&v->address, a, sizeof(a)), v->interface, new_zone, zone ?: "no zone");
}

/* ---- exec ----------------------------------------------------------------------------------------- */

/* The first non-blank line of a command's output, sanitised and cut short, or NULL. */
static char *output_first_line(const runner_result *res) {
        const char *p = res->output, *end = res->output + res->output_size, *eol;
        _cleanup_free_ char *line = NULL;
        char *clean = NULL;

        for (;; p = eol + 1) {
                while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
                        p++;
                eol = memchr(p, '\n', (size_t) (end - p));
                if (!eol)
                        eol = end;
                if (eol > p || eol >= end)
                        break;
        }
        if (p >= end)
                return NULL;
        line = strndup(p, (size_t) (eol - p)); /* an embedded NUL cuts it there */
        if (!line || hook_event_sanitize(line, false, ENDPOINTS_OUTPUT_LINE_MAX, &clean) < 0)
                return NULL;
        return clean;
}

static void on_exec(runner *rn, const runner_result *res, void *userdata) {
        endpoint_job *j = userdata;
        const char *command = job_conf(j)->exec.command;
        _cleanup_free_ char *line = output_first_line(res);
        char how[RUNNER_DESCRIBE_MAX];

        runner_result_describe(res, how, sizeof(how));
        job_end(j, (runner_result_success(res) ? END_OK : 0) | (res->timed_out ? END_TIMED_OUT : 0),
                "exec %s: %s (%" PRIu64 " ms)%s%s", command, how,
                (uint64_t) (res->duration_usec / USEC_PER_MSEC), line ? "; output: " : "", line ?: "");
        op_check_done(j->op); /* job_end() freed rn, which allows it from its handler */
}

/* Server i of c as an event names it; unknown for TOPOLOGY_NONE. */
static hook_server hook_server_of(const cluster_conf *c, size_t i) {
        if (i == TOPOLOGY_NONE)
                return (hook_server){};
        return (hook_server){
                .name = c->servers[i].name, .host = c->servers[i].host, .port = c->servers[i].port};
}

static void job_start_exec(endpoint_job *j, const endpoints_params *p) {
        const exec_endpoint_conf *x = &job_conf(j)->exec;
        _cleanup_(hook_invocation_freep) hook_invocation *inv = NULL;
        struct timespec rt;
        hook_event ev = {
                .event = p->event,
                .cluster = p->conf->name,
                .epoch = p->epoch,
                .sentinel_name = p->sentinel_name,
                .sentinel_zone = p->sentinel_zone,
                .message = p->message,
                .credentials_directory = getenv("CREDENTIALS_DIRECTORY"),
        };
        int r;

        (void) clock_gettime(CLOCK_REALTIME, &rt);
        ev.realtime_usec = (uint64_t) rt.tv_sec * USEC_PER_SEC + (uint64_t) rt.tv_nsec / 1000;
        ev.old_primary = hook_server_of(p->conf, p->old_primary);
        ev.new_primary = hook_server_of(p->conf, p->new_primary);
        r = hook_event_build(&ev, HOOK_TARGET_EXEC_ENDPOINT, &inv);
        if (r < 0)
                return job_end(j, 0, "exec %s: cannot build its environment: %s", x->command, strerror(-r));
        r = runner_start(j->op->event,
                &(runner_params){
                        .command = x->command,
                        .env = inv->env,
                        .input = inv->input,
                        .input_size = inv->input_size,
                        .timeout_usec = x->timeout_ms * USEC_PER_MSEC,
                },
                on_exec, j, &j->runner);
        if (r < 0)
                job_end(j, 0, "exec %s: cannot start: %s%s", x->command, strerror(-r),
                        r == -EBUSY ? " (SIGCHLD is not blocked)" : "");
        /* the runner copied env and input before fork(): inv goes now */
}

/* ---- the op --------------------------------------------------------------------------------------- */

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        endpoints_op *op = userdata;
        uint64_t ms = (uint64_t) ((now_usec() - op->start_usec) / USEC_PER_MSEC);

        for (size_t i = 0; i < op->n; i++) {
                endpoint_job *j = &op->jobs[i];
                char d[ENDPOINTS_MESSAGE_MAX / 2];

                if (j->ended)
                        continue;
                job_describe(j, d, sizeof(d));
                if (j->resolve)
                        job_end(j, END_TIMED_OUT, "%s: timed out after %" PRIu64 " ms resolving %s", d, ms,
                                op_new_primary(op)->host);
                else if (j->runner)
                        job_end(j, END_TIMED_OUT,
                                "%s: timed out: still running at the deadline after %" PRIu64
                                " ms; its process group was killed",
                                d, ms);
                else if (j->garp)
                        job_end(j, END_TIMED_OUT,
                                "%s; verified present; timed out after %" PRIu64 " ms announcing it",
                                j->vip_message, ms);
                else
                        job_end(j, END_TIMED_OUT, "%s: timed out after %" PRIu64 " ms", d, ms);
        }
        op_check_done(op);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        op_check_done(userdata);
        return 0;
}

endpoints_op *endpoints_op_free(endpoints_op *op) {
        if (!op)
                return NULL;
        for (size_t i = 0; op->jobs && i < op->n; i++)
                job_cancel(&op->jobs[i]);
        op->deadline_source = sd_event_source_disable_unref(op->deadline_source);
        op->defer_source = sd_event_source_disable_unref(op->defer_source);
        sd_event_unref(op->event);
        free(op->jobs);
        free(op->outcomes);
        free(op);
        return NULL;
}

bool endpoints_op_is_running(const endpoints_op *op) {
        return op && !op->done;
}

int endpoints_update(sd_event *e, const endpoints_params *p, endpoints_handler handler, void *userdata,
        endpoints_op **ret) {
        _cleanup_(endpoints_op_freep) endpoints_op *op = NULL;
        const cluster_conf *c;
        int r;

        if (!e || !p || !p->conf || !handler || !ret || p->deadline_usec == 0 || !event_to_string(p->event))
                return -EINVAL;
        c = p->conf;
        if (p->new_primary >= c->n_servers ||
                (p->old_primary != TOPOLOGY_NONE && p->old_primary >= c->n_servers) ||
                (c->n_endpoints > 0 && !c->endpoints))
                return -EINVAL;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->event = sd_event_ref(e);
        op->conf = c;
        op->epoch = p->epoch;
        op->new_primary = p->new_primary;
        op->handler = handler;
        op->userdata = userdata;
        op->start_usec = now_usec();
        op->deadline_usec = p->deadline_usec;
        op->n = c->n_endpoints;
        if (op->n > 0) {
                op->jobs = calloc(op->n, sizeof(*op->jobs));
                op->outcomes = calloc(op->n, sizeof(*op->outcomes));
                if (!op->jobs || !op->outcomes)
                        return -ENOMEM;
        }
        r = sd_event_add_time(e, &op->deadline_source, CLOCK_MONOTONIC, op->deadline_usec,
                TIMER_ACCURACY_USEC, on_deadline, op);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(op->deadline_source, "endpoints-deadline");
        r = sd_event_add_defer(e, &op->defer_source, on_defer, op);
        if (r < 0)
                return r;
        /* Left ONESHOT: on the loop's first turn it delivers what ended during this call (every
         * endpoint, or none configured); when something still runs, it finds that and does nothing. */
        (void) sd_event_source_set_description(op->defer_source, "endpoints-deliver");

        op->starting = true;
        op->n_running = op->n;
        for (size_t i = 0; i < op->n; i++) {
                endpoint_job *j = &op->jobs[i];

                *j = (endpoint_job){.op = op, .index = i};
                op->outcomes[i] = (endpoint_outcome){.index = i, .type = c->endpoints[i].type};
        }
        for (size_t i = 0; i < op->n; i++) {
                endpoint_job *j = &op->jobs[i];
                char d[ENDPOINTS_MESSAGE_MAX / 2];

                if (op->start_usec >= op->deadline_usec) {
                        job_end(j, END_TIMED_OUT, "%s: not started: the deadline had already passed",
                                job_describe(j, d, sizeof(d)));
                        continue;
                }
                switch (c->endpoints[i].type) {
                case ENDPOINT_DNS:
                        job_start_dns(j);
                        break;
                case ENDPOINT_VIP:
                        job_start_vip(j, p->sentinel_zone, p->old_primary);
                        break;
                case ENDPOINT_EXEC:
                        job_start_exec(j, p);
                        break;
                default:
                        job_end(j, 0, "%s", job_describe(j, d, sizeof(d)));
                        break;
                }
        }
        op->starting = false;
        *ret = TAKE_PTR(op);
        return 0;
}
