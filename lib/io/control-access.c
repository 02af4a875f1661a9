/* Who may use the control socket and how often (control-access.h, by the rules in control-server.h):
 * peer admission, per-uid token buckets and the throttle of reported events. The socket, the
 * connections and the request/reply flow are in control-server.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "control-access.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

bool control_access_peer_admitted(
        uid_t euid, const control_server_options *opts, int fd, const struct ucred *peer) {
        gid_t small[64], *groups = small;
        _cleanup_free_ gid_t *big = NULL;
        socklen_t len = sizeof(small);

        if (peer->uid == 0 || peer->uid == euid)
                return true;
        if (!opts->has_group)
                return false;
        if (peer->gid == opts->group)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) < 0) {
                if (errno != ERANGE || len == 0)
                        return false; /* e.g. ENOPROTOOPT before Linux 4.13: primary gid only */
                big = malloc(len);
                if (!big || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) < 0)
                        return false;
                groups = big;
        }
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == opts->group)
                        return true;
        return false;
}

bool control_access_rate_take(rate_bucket buckets[static RATE_TABLE_SIZE],
        const control_server_options *opts, uid_t uid, uint64_t now) {
        uint64_t cap = (uint64_t) opts->rate_burst * 1000000;
        rate_bucket *b = NULL, *oldest = &buckets[0];

        for (size_t i = 0; i < RATE_TABLE_SIZE && !b; i++) {
                rate_bucket *x = &buckets[i];
                if (x->used && x->uid == uid)
                        b = x;
                else if (!x->used || (oldest->used && x->last_usec < oldest->last_usec))
                        oldest = x;
        }
        if (!b) {
                b = oldest;
                *b = (rate_bucket){.used = true, .uid = uid, .tokens = cap, .last_usec = now};
        }
        if (now > b->last_usec) {
                uint64_t dt = now - b->last_usec;
                b->tokens = dt >= cap / opts->rate_per_sec ? cap : b->tokens + dt * opts->rate_per_sec;
                if (b->tokens > cap)
                        b->tokens = cap;
        }
        b->last_usec = now;
        if (b->tokens < 1000000)
                return false;
        b->tokens -= 1000000;
        return true;
}

void control_access_denied_message(
        uid_t euid, const control_server_options *opts, uid_t uid, char *buf, size_t size) {
        char group[32], self[32] = "";

        if (euid != 0)
                (void) snprintf(self, sizeof(self), ", uid %u", (unsigned) euid);
        if (!opts->has_group) {
                (void) snprintf(buf, size,
                        "permission denied: uid %u is not root%s (no control group is configured)",
                        (unsigned) uid, self);
                return;
        }
        if (!opts->group_name)
                (void) snprintf(group, sizeof(group), "%u", (unsigned) opts->group);
        (void) snprintf(buf, size, "permission denied: uid %u is not root%s or in group %.64s",
                (unsigned) uid, self, opts->group_name ?: group);
}

bool control_access_report_take(report_slot reports[static REPORT_TABLE_SIZE], uid_t uid,
        control_server_event ev, uint64_t now, uint64_t interval_usec, unsigned *ret_suppressed) {
        report_slot *slot = NULL, *stalest;

        stalest = &reports[0];

        for (size_t i = 0; i < REPORT_TABLE_SIZE && !slot; i++) {
                report_slot *x = &reports[i];
                if (x->used && x->uid == uid)
                        slot = x;
                else if (!x->used || (stalest->used && x->last_usec < stalest->last_usec))
                        stalest = x;
        }
        if (!slot) {
                slot = stalest;
                *slot = (report_slot){.used = true, .uid = uid};
        }
        slot->last_usec = now;
        if (now < slot->next_usec[ev]) {
                slot->suppressed[ev]++;
                return false;
        }
        *ret_suppressed = slot->suppressed[ev];
        slot->suppressed[ev] = 0;
        slot->next_usec[ev] = now + interval_usec;
        return true;
}
