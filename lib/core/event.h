/* The events of SPEC 6: names, severities and journald MESSAGE_IDs. */
#pragma once

#include <stdint.h>

typedef enum sentinel_event {
        EVENT_SDOWN,
        EVENT_SDOWN_CLEARED,
        EVENT_ODOWN,
        EVENT_FAILOVER_START,
        EVENT_FAILOVER_END,
        EVENT_FAILOVER_FAILED,
        EVENT_FAILOVER_REFUSED,
        EVENT_SWITCHOVER_START,
        EVENT_SWITCHOVER_END,
        EVENT_SWITCHOVER_FAILED,
        EVENT_FENCED,
        EVENT_REJOINED,
        EVENT_REJOIN_FAILED,
        EVENT_ENDPOINT_UPDATED,
        EVENT_ENDPOINT_FAILED,
        EVENT_PEER_DOWN,
        EVENT_PEER_UP,
        EVENT_QUORUM_LOST,
        EVENT_QUORUM_REGAINED,
        EVENT_ERRANT,
        EVENT_TOPOLOGY_MISMATCH,
        _EVENT_MAX,
        _EVENT_INVALID = -22, /* -EINVAL */
} sentinel_event;

typedef enum event_severity {
        SEVERITY_INFO,
        SEVERITY_WARNING,
        SEVERITY_CRITICAL,
        _SEVERITY_MAX,
        _SEVERITY_INVALID = -22,
} event_severity;

/* A bit set of events (bit i = event i); EVENT_MASK_ALL is the hook config's "*". */
typedef uint32_t event_mask;
#define EVENT_MASK(e) ((event_mask) 1u << (e))
#define EVENT_MASK_ALL ((event_mask) ((1u << _EVENT_MAX) - 1))

/* The SPEC 6 name of an event ("failover-start"), or NULL when out of range. */
const char *event_to_string(sentinel_event e);

/* Parses a SPEC 6 event name; _EVENT_INVALID when unknown. */
sentinel_event event_from_string(const char *s);

/* How urgent an event is, for SENTINEL_SEVERITY and the journal priority. */
event_severity event_severity_of(sentinel_event e);

/* "info", "warning" or "critical"; NULL when out of range. */
const char *event_severity_to_string(event_severity s);

/* The fixed journald MESSAGE_ID of an event: 32 lowercase hex digits, never NULL for a valid event. */
const char *event_message_id(sentinel_event e);
