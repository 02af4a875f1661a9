/* The `dns` endpoint (SPEC 5.12, issue 4): points a DNS name at the new primary with one RFC 2136
 * UPDATE, signed with TSIG (RFC 8945), guarded by the epoch record of dns-epoch.h, and verified at
 * the authoritative server afterwards; asynchronously, on the caller's sd-event loop.
 *
 * One update of epoch E to primary P at address X (A for IPv4, AAAA for IPv6), for the endpoint name
 * N in zone Z with TTL T, epoch record owner O = _sentinel-epoch.N:
 *
 *   1. read   query O TXT at the configured server (signed; the answer must verify and be
 *             authoritative) and apply dns_epoch_decide(): a newer epoch, or E with another
 *             primary, ends here with ENDPOINT_DNS_STALE and nothing is sent. A record that is not
 *             ours (not in the canonical form, several records) ends with ENDPOINT_DNS_FAILED.
 *             Skipped when the caller passes the record it last saw (params.previous) and that
 *             record allows the write: the server checks it anyway.
 *   2. update one UPDATE message for zone Z, atomic at the server:
 *               prerequisite  O TXT as read (2.4.2, "RRset exists, value dependent"), or
 *                             "O TXT RRset does not exist" (2.4.3) when there was none;
 *               update        delete N A; delete N AAAA; add N T IN A|AAAA X;
 *                             delete O TXT; add O T IN TXT "epoch=E primary=P".
 *             NOERROR: go on to 4. NXRRSET, YXRRSET, NXDOMAIN or YXDOMAIN (the prerequisite
 *             failed: someone wrote between our read and our update): go to 3. NOTAUTH or
 *             REFUSED (a TSIG or policy problem): ENDPOINT_DNS_REFUSED. Any other RCODE:
 *             ENDPOINT_DNS_FAILED.
 *   3. re-read O TXT. Exactly E with P: an earlier transmission of this very update was applied
 *             (its answer was lost, this one is the duplicate's), go on to 4. A newer epoch or E
 *             with another primary: ENDPOINT_DNS_STALE (result.prerequisite_failed and result.rcode
 *             say the server refused it). Still older: update again from what was read, at most
 *             ENDPOINT_DNS_ROUNDS_MAX times in all.
 *   4. verify query O TXT, N A and N AAAA at the configured server: O must hold exactly our text,
 *             N's RRset of X's family exactly X, N's other family nothing. A newer epoch in O by then
 *             (also when O is read again after an address that is not X): ENDPOINT_DNS_STALE
 *             (superseded); anything else unexpected: ENDPOINT_DNS_VERIFY_FAILED.
 *
 * Retransmission is safe: the prerequisite pins the record as it was read, so a duplicate of an
 * applied update always fails its prerequisite and can never apply twice or undo a newer write.
 *
 * Transport: one UDP socket per operation (O_CLOEXEC, non-blocking, connect()ed to the server, a
 * fresh ephemeral port), a random message ID per message, answers matched by ID, QR, opcode and
 * question; each message is retransmitted every ENDPOINT_DNS_RETRY_FIRST_USEC, doubling up to
 * ENDPOINT_DNS_RETRY_MAX_USEC, until the one deadline of the whole operation. An ICMP port
 * unreachable (a stopped server) is noted and retried like silence. No TCP: every message here fits
 * in 512 bytes; a truncated answer is a failure. A server given as a host name is resolved first
 * without blocking (resolve.h).
 *
 * Trust: with a key configured (conf->tsig.name set), every message is signed, and an answer is used
 * only if its TSIG verifies against our request's MAC (which also ties it to this request: an old
 * answer cannot be replayed). The one exception: an unsigned NOTAUTH or REFUSED (what a server sends
 * when it cannot verify our signature: BADSIG, BADKEY, BADTIME) is taken as the refusal it says it
 * is, since believing it can only make the update fail, never make a wrong one succeed. Any other
 * answer that does not verify is dropped and we keep waiting. Without a key nothing is signed and
 * every matching answer is believed. ldns implements hmac-md5, hmac-sha1, hmac-sha256 and
 * hmac-sha512 only (1.8.3 misspells sha384 and lacks sha224): other keys give -EOPNOTSUPP. Our copy
 * of the key (base64, as ldns wants it) is wiped when the operation is freed; ldns decodes it into
 * buffers of its own that it frees without wiping.
 *
 * Nothing here logs; the result carries a one-line message for the caller to log or page. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "dns-epoch.h"

/* The whole operation when params.timeout_usec is 0. */
#define ENDPOINT_DNS_TIMEOUT_DEFAULT_USEC (5 * 1000 * 1000ULL)
/* Retransmission of one message: first after this, then doubling up to the maximum. */
#define ENDPOINT_DNS_RETRY_FIRST_USEC (200 * 1000ULL)
#define ENDPOINT_DNS_RETRY_MAX_USEC   (1000 * 1000ULL)
/* Updates sent by one operation at most (a writer that keeps losing the race gives up). */
#define ENDPOINT_DNS_ROUNDS_MAX 4
/* The TSIG fudge (RFC 8945 5.2.3): how far apart our clock and the server's may be. */
#define ENDPOINT_DNS_TSIG_FUDGE_S 300
/* Room for result.message. */
#define ENDPOINT_DNS_MESSAGE_MAX 512

typedef enum endpoint_dns_status {
        ENDPOINT_DNS_OK,            /* updated (or already so) and verified at the server */
        ENDPOINT_DNS_STALE,         /* a newer epoch (or this one with another primary) is recorded */
        ENDPOINT_DNS_REFUSED,       /* NOTAUTH or REFUSED: the key, its algorithm, the clock, the policy */
        ENDPOINT_DNS_FAILED,        /* another RCODE, a foreign epoch record, a local error */
        ENDPOINT_DNS_TIMEOUT,       /* no usable answer before the deadline */
        ENDPOINT_DNS_VERIFY_FAILED, /* accepted, but the server's answers afterwards do not show it */
        _ENDPOINT_DNS_STATUS_MAX,
        _ENDPOINT_DNS_STATUS_INVALID = -EINVAL,
} endpoint_dns_status;

typedef struct endpoint_dns_params {
        uint64_t epoch;
        const char *primary;   /* the new primary's server name (str_is_name()) */
        const char *address;   /* its IP literal: an A record for IPv4, AAAA for IPv6 */
        uint64_t timeout_usec; /* the whole operation; 0: ENDPOINT_DNS_TIMEOUT_DEFAULT_USEC */
        /* Optional: the epoch record as the caller last saw (or wrote) it. When it allows the write,
         * the first read is skipped and the update's prerequisite is this record; when the server
         * disagrees, step 3 corrects it. NULL: read first. */
        const dns_epoch_record *previous;
} endpoint_dns_params;

typedef struct endpoint_dns_result {
        endpoint_dns_status status;
        int error;                /* status FAILED by a local error: its negative errno; else 0 */
        int rcode;                /* RCODE of the last answer used (query or update); -1: none came */
        int update_rcode;         /* RCODE of the last answer to an UPDATE; -1: none came */
        int tsig_error;           /* the TSIG error in the last answer used (16 BADSIG, 17 BADKEY, ...) */
        bool prerequisite_failed; /* an UPDATE was refused for its prerequisite (NXRRSET, ...) */
        bool updated;             /* an UPDATE of ours was accepted (NOERROR) */
        bool have_record;         /* record is the epoch record as last read from the server */
        bool record_absent;       /* ... or the last read found none */
        dns_epoch_record record;
        unsigned n_updates;                     /* UPDATE messages built (retransmissions not counted) */
        unsigned n_datagrams;                   /* datagrams sent, retransmissions included */
        uint64_t duration_usec;                 /* from the call to the result, CLOCK_MONOTONIC */
        char message[ENDPOINT_DNS_MESSAGE_MAX]; /* one line, no newline, for humans */
} endpoint_dns_result;

typedef struct endpoint_dns_op endpoint_dns_op;

/* Called once, from the event loop, with the outcome; result is valid during the call only. The
 * handler may free op and start others. */
typedef void (*endpoint_dns_handler)(endpoint_dns_op *op, const endpoint_dns_result *result, void *userdata);

/* "ok", "stale", "refused", "failed", "timeout", "verify-failed"; NULL when out of range. */
const char *endpoint_dns_status_to_string(endpoint_dns_status s);

/* Starts updating conf's name to params (steps 1-4 above) on e; handler gets the result, always from
 * the loop, never from this call. conf and params are copied. -EINVAL on a missing or invalid field
 * (zone, name, primary, address); -ENAMETOOLONG when the epoch record's owner would be too long;
 * -EOPNOTSUPP for a key algorithm ldns cannot sign with; -ENOMEM; or the negative errno of socket(),
 * connect() or sd-event (nothing is left behind then). */
int endpoint_dns_update(sd_event *e, const dns_endpoint_conf *conf, const endpoint_dns_params *params,
        endpoint_dns_handler handler, void *userdata, endpoint_dns_op **ret);

/* Starts reading conf's epoch record only (step 1, signed and verified like an update's): the result
 * has status OK with have_record or record_absent set, or why not. Same errors as an update, apart
 * from params. For status displays, and for a caller that wants to pass params.previous later. */
int endpoint_dns_read(sd_event *e, const dns_endpoint_conf *conf, uint64_t timeout_usec,
        endpoint_dns_handler handler, void *userdata, endpoint_dns_op **ret);

/* Stops the operation at once (the handler is not called), closes its socket and wipes its copy of
 * the key. An update already sent may still be applied by the server. NULL-safe; may be called from
 * the handler. Returns NULL. */
endpoint_dns_op *endpoint_dns_op_free(endpoint_dns_op *op);

static inline void endpoint_dns_op_freep(endpoint_dns_op **op) {
        endpoint_dns_op_free(*op);
}

/* Whether the result has not been delivered yet. */
bool endpoint_dns_op_is_running(const endpoint_dns_op *op);
