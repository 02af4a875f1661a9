#include <string.h>

#include "event.h"
#include "macro.h"

/* MESSAGE_IDs are fixed forever: derived once from sha256("mariadb-sentinel:" NAME). */
static const struct {
        const char *name;
        event_severity severity;
        const char *message_id;
} event_table[_EVENT_MAX] = {
        [EVENT_SDOWN] = { "sdown", SEVERITY_WARNING, "e7b132bd178e5d0c411db67ab7e3401a" },
        [EVENT_SDOWN_CLEARED] = { "sdown-cleared", SEVERITY_INFO, "603748c9619b9a9defd83ef122066a6d" },
        [EVENT_ODOWN] = { "odown", SEVERITY_CRITICAL, "66a435d03e52646718cbf36cb39fe6c4" },
        [EVENT_FAILOVER_START] = { "failover-start", SEVERITY_CRITICAL, "c23b98a8506317a583326cbe185c64d9" },
        [EVENT_FAILOVER_END] = { "failover-end", SEVERITY_WARNING, "d614370b8e11d375dccc83deb33d2855" },
        [EVENT_FAILOVER_FAILED] = { "failover-failed", SEVERITY_CRITICAL, "2fe42eff65f191ec96ec91115fbcc6ef" },
        [EVENT_FAILOVER_REFUSED] = { "failover-refused", SEVERITY_CRITICAL, "99cfe6ab7cac297daaa52e196a2c8ec9" },
        [EVENT_SWITCHOVER_START] = { "switchover-start", SEVERITY_INFO, "c39c9cdbc0a569b48f8b39505d788f35" },
        [EVENT_SWITCHOVER_END] = { "switchover-end", SEVERITY_INFO, "c3978a68348ec82a95aa9edce46cc218" },
        [EVENT_SWITCHOVER_FAILED] = { "switchover-failed", SEVERITY_CRITICAL, "a4a24daa66ce2fb203b76d581f694516" },
        [EVENT_FENCED] = { "fenced", SEVERITY_WARNING, "b870689f59679f036a37146f94ada004" },
        [EVENT_REJOINED] = { "rejoined", SEVERITY_INFO, "5ffc38f04a127e3c1498293e2bd8445b" },
        [EVENT_REJOIN_FAILED] = { "rejoin-failed", SEVERITY_CRITICAL, "a138f36e05fd229f72deb0413d3f9371" },
        [EVENT_ENDPOINT_UPDATED] = { "endpoint-updated", SEVERITY_INFO, "ce93f0cefab2e15c0b9c917fee5d40f0" },
        [EVENT_ENDPOINT_FAILED] = { "endpoint-failed", SEVERITY_CRITICAL, "73aec26e505a792db6490081ec78b159" },
        [EVENT_PEER_DOWN] = { "peer-down", SEVERITY_WARNING, "6b2a6cbe92b2ab44bbecc618c84a044d" },
        [EVENT_PEER_UP] = { "peer-up", SEVERITY_INFO, "8838855eb0278511c3d362e9edea1ac7" },
        [EVENT_QUORUM_LOST] = { "quorum-lost", SEVERITY_CRITICAL, "4bd9f165f3178d642a8888221c56aad8" },
        [EVENT_QUORUM_REGAINED] = { "quorum-regained", SEVERITY_INFO, "2bb956aaa5c3cc4870cca3f3ff4387b4" },
        [EVENT_ERRANT] = { "errant", SEVERITY_WARNING, "6d5aba470aee1d087a5bddc61ac919a4" },
        [EVENT_TOPOLOGY_MISMATCH] = { "topology-mismatch", SEVERITY_CRITICAL, "cf7112ae066c6fb1e7a7153ea0a00a2b" },
};

static const char *const severity_table[_SEVERITY_MAX] = {
        [SEVERITY_INFO] = "info",
        [SEVERITY_WARNING] = "warning",
        [SEVERITY_CRITICAL] = "critical",
};

const char *event_to_string(sentinel_event e) {
        if (e < 0 || e >= _EVENT_MAX)
                return NULL;
        return event_table[e].name;
}

sentinel_event event_from_string(const char *s) {
        if (!s)
                return _EVENT_INVALID;
        for (int i = 0; i < _EVENT_MAX; i++)
                if (streq(event_table[i].name, s))
                        return (sentinel_event) i;
        return _EVENT_INVALID;
}

event_severity event_severity_of(sentinel_event e) {
        if (e < 0 || e >= _EVENT_MAX)
                return _SEVERITY_INVALID;
        return event_table[e].severity;
}

const char *event_severity_to_string(event_severity s) {
        if (s < 0 || s >= _SEVERITY_MAX)
                return NULL;
        return severity_table[s];
}

const char *event_message_id(sentinel_event e) {
        if (e < 0 || e >= _EVENT_MAX)
                return NULL;
        return event_table[e].message_id;
}
