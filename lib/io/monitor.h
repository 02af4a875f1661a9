/* The monitoring half of the sentinel for one cluster: probes every server on its own schedule
 * (probe.h), keeps each server's latest status and SDOWN tracker (sdown.h), rebuilds the topology
 * (topology.h) after every result, and reports what changed as SPEC 6 events through a callback:
 * sdown / sdown-cleared per server, errant and topology-mismatch when a mismatch appears.
 *
 * It never acts on a server and never logs; the daemon logs, audits and runs hooks for the events.
 * No server, however broken, delays another: each has its own probe and schedule. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"
#include "sdown.h"
#include "status-json.h"
#include "server-status.h"
#include "topology.h"

typedef struct monitor monitor;

/* One thing that changed, reported once when it happens. */
typedef struct monitor_event {
        sentinel_event event;
        const char *cluster;
        size_t server;       /* index into the cluster's servers, or TOPOLOGY_NONE */
        const char *reason;  /* a short code (the mismatch kind), or NULL */
        const char *message; /* one line for humans */
        bool cleared;        /* a mismatch went away: logged, but no SPEC 6 event exists for it */
} monitor_event;

typedef struct monitor_callbacks {
        /* Something changed; the daemon logs, audits and runs notify hooks. May be NULL. */
        void (*on_event)(monitor *m, const monitor_event *ev, void *userdata);
        /* A probe result was taken in and the topology rebuilt. May be NULL. */
        void (*on_update)(monitor *m, void *userdata);
        /* Server server's probe result, just taken in (before on_update; valid during the call). May be
         * NULL. */
        void (*on_probe)(monitor *m, size_t server, const server_status *status, void *userdata);
} monitor_callbacks;

/* A monitor for conf (which must outlive it, or be replaced with monitor_reconfigure()) on event loop
 * e; nothing is probed until monitor_start(). 0, -EINVAL, -ENOMEM. */
int monitor_new(sd_event *e, const cluster_conf *conf, const monitor_callbacks *cb, void *userdata,
        monitor **ret);

/* Stops every probe, drops the connections and frees; NULL-safe; returns NULL. */
monitor *monitor_free(monitor *m);

static inline void monitor_freep(monitor **m) {
        monitor_free(*m);
}

/* Starts probing: server i's first round at now + offset_usec + i * interval / n (spread out), then
 * every probe.interval_ms. 0 or a negative errno. */
int monitor_start(monitor *m, uint64_t offset_usec);

/* Whether every server has reported at least one probe result since monitor_start(). */
bool monitor_first_round_done(const monitor *m);

/* Swaps in a new config for the same cluster. When the servers (names, addresses, credentials, TLS)
 * are unchanged, probes, statuses and SDOWN trackers are kept and the new timings apply from the next
 * round: 0 (with TLS, each probe then opens a new connection at its next round, so certificate and key
 * files replaced at the same paths are read again). Otherwise nothing changes and -ESTALE says: make
 * a new monitor. */
int monitor_reconfigure(monitor *m, const cluster_conf *conf);

/* Sets the primary the sentinel believes in (from the persisted state; NULL: none) and rebuilds. */
int monitor_set_known_primary(monitor *m, const char *name);

/* The cluster's config. */
const cluster_conf *monitor_conf(const monitor *m);

/* The latest topology; NULL before the first result. */
const topology *monitor_topology(const monitor *m);

/* Server i's latest probe result; NULL before its first. */
const server_status *monitor_server_status(const monitor *m, size_t i);

/* Server i's SDOWN tracker. */
const sdown_tracker *monitor_sdown(const monitor *m, size_t i);

/* Whether the cluster's primary (per the topology) is SDOWN for this sentinel. */
bool monitor_primary_sdown(const monitor *m);

/* Probes every server now whose round is not running already (an extra round, outside the
 * schedule): after a failover, so that what status shows is what the servers are now. 0 or the
 * first error. */
int monitor_probe_now(monitor *m);

/* Forgets which mismatches were reported and rebuilds, reporting every current one again (after a
 * failover, during which the transitional ones were not paged). 0 or a negative errno. */
int monitor_forget_mismatches(monitor *m);

/* Whether every server has a result of a probe that started after usec (CLOCK_MONOTONIC). */
bool monitor_all_probed_since(const monitor *m, uint64_t usec);

/* Server i's last probe taken while the cluster's primary was alive: a copy of every server's latest
 * probe taken at each of the primary's good probes (the primary's own is that probe), replaced by a
 * newer probe of a replica whose IO thread was then connected to the primary. What a failover judges
 * the replicas by, since their later probes see the primary gone. NULL before the first, or when
 * server i had no result then. */
const server_status *monitor_last_good(const monitor *m, size_t i);

/* The server whose good probe the snapshots of monitor_last_good() belong to (TOPOLOGY_NONE before
 * the first), and in *ret_usec (may be NULL) when that probe finished. */
size_t monitor_last_good_primary(const monitor *m, uint64_t *ret_usec);

/* The cluster's JSON of SPEC 4 (status-json.h) at now_usec, with what the caller knows laid over it:
 * epoch, leader (NULL: none), the state overlay (failover, switchover, odown, fenced, maintenance;
 * NULL: none; this sentinel's SDOWN is added here), last_event (NULL: none). 0 and a new object, or
 * -errno. */
int monitor_status_json(const monitor *m, uint64_t now_usec, uint64_t epoch, const char *leader,
        const cluster_state_overlay *overlay, const status_last_event *last_event, json_object **ret);
