/* The `dns` endpoint: RFC 2136 UPDATE with TSIG, epoch prerequisite, verification. See endpoint-dns.h.
 *
 * ldns builds, signs, serialises and parses the messages; the socket I/O is ours, on sd-event, since
 * ldns' resolver blocks. One operation is a small state machine (phase) over one UDP socket: each
 * phase is one exchange (one message, retransmitted until answered) whose answer picks the next. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "endpoint-dns.h"
#include "hostport.h"
#include "macro.h"
#include "resolve.h"

#define TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)
#define OPCODE_QUERY        0
#define OPCODE_UPDATE       5

typedef enum op_phase {
        PHASE_RESOLVE,        /* the server's host name */
        PHASE_READ,           /* 1: the epoch record, before writing */
        PHASE_UPDATE,         /* 2 */
        PHASE_REREAD,         /* 3: the epoch record, after a failed prerequisite */
        PHASE_VERIFY_TXT,     /* 4: the epoch record, */
        PHASE_VERIFY_ADDRESS, /*    the address of the new primary's family, */
        PHASE_VERIFY_OTHER,   /*    and none of the other family */
        PHASE_VERIFY_RECHECK, /*    the epoch record again, after an address that is not ours */
        PHASE_DONE,
} op_phase;

/* For "no answer ... while ...". */
static const char *const phase_doing[] = {
        [PHASE_RESOLVE] = "resolving its name",
        [PHASE_READ] = "reading the epoch record",
        [PHASE_UPDATE] = "to the update (it may still have been applied)",
        [PHASE_REREAD] = "re-reading the epoch record after a failed prerequisite",
        [PHASE_VERIFY_TXT] = "verifying the epoch record",
        [PHASE_VERIFY_ADDRESS] = "verifying the address",
        [PHASE_VERIFY_OTHER] = "verifying the address",
        [PHASE_VERIFY_RECHECK] = "re-reading the epoch record after an unexpected address",
        [PHASE_DONE] = "",
};

struct endpoint_dns_op {
        sd_event *event;
        endpoint_dns_handler handler;
        void *userdata;
        bool read_only; /* endpoint_dns_read() */

        /* what to do, copied */
        hostport server;
        char server_text[HOSTPORT_FORMAT_MAX];
        char *zone_text, *name_text, *owner_text;
        uint32_t ttl;
        char *key_name, *key_b64; /* key_b64 is secret: wiped when freed */
        const char *key_algorithm;
        uint64_t epoch;
        char primary[DNS_EPOCH_PRIMARY_MAX + 1];
        char address[INET6_ADDRSTRLEN];
        int family;                /* of address */
        uint8_t address_bytes[16]; /* 4 or 16 used */
        bool have_hint;
        dns_epoch_record hint;

        /* I/O */
        int fd;
        sd_event_source *io_source, *retry_source, *deadline_source, *resolve_source;
        resolve_job *resolve;
        op_phase phase;
        uint16_t id;   /* of the message in flight */
        uint8_t *wire; /* ... as sent */
        size_t wire_size;
        ldns_rdf *request_mac; /* ... its TSIG MAC, which a signed answer covers */
        ldns_rdf *qname;       /* ... its question (an update's: the zone, SOA) */
        ldns_rr_type qtype;
        uint64_t retry_interval;
        unsigned n_unreachable; /* ICMP errors seen */
        const char *dropped;    /* why the last answer was not used */
        char mismatch[256];     /* what address verification found, while the epoch record is re-read */
        unsigned n_rounds;      /* updates sent */
        uint64_t start_usec;
        endpoint_dns_result result;
};

/* Now on CLOCK_MONOTONIC, read fresh: sd_event_now() is the time of the loop's last wakeup, which may
 * be long past when an operation starts outside a callback, and would shorten its deadline. */
static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static const char *const status_table[_ENDPOINT_DNS_STATUS_MAX] = {
        [ENDPOINT_DNS_OK] = "ok",
        [ENDPOINT_DNS_STALE] = "stale",
        [ENDPOINT_DNS_REFUSED] = "refused",
        [ENDPOINT_DNS_FAILED] = "failed",
        [ENDPOINT_DNS_TIMEOUT] = "timeout",
        [ENDPOINT_DNS_VERIFY_FAILED] = "verify-failed",
};

const char *endpoint_dns_status_to_string(endpoint_dns_status s) {
        return s >= 0 && s < _ENDPOINT_DNS_STATUS_MAX ? status_table[s] : NULL;
}

/* The RCODE's mnemonic ("NXRRSET"), or its number. */
static const char *rcode_name(int rcode, char *buf, size_t size) {
        const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);

        if (t)
                return t->name;
        snprintf(buf, size, "RCODE%d", rcode);
        return buf;
}

static const char *tsig_error_name(int e) {
        static const char *const names[] = {
                [16] = "BADSIG", [17] = "BADKEY", [18] = "BADTIME", [22] = "BADTRUNC"};

        return e >= 0 && (size_t) e < ELEMENTSOF(names) && names[e] ? names[e] : "error";
}

static const char *op_type_name(const endpoint_dns_op *op, bool other) {
        return (op->family == AF_INET) != other ? "A" : "AAAA";
}

endpoint_dns_op *endpoint_dns_op_free(endpoint_dns_op *op) {
        if (!op)
                return NULL;
        op->io_source = sd_event_source_disable_unref(op->io_source);
        op->retry_source = sd_event_source_disable_unref(op->retry_source);
        op->deadline_source = sd_event_source_disable_unref(op->deadline_source);
        op->resolve_source = sd_event_source_disable_unref(op->resolve_source);
        op->resolve = resolve_job_unref(op->resolve);
        if (op->fd >= 0)
                close(op->fd);
        sd_event_unref(op->event);
        hostport_done(&op->server);
        ldns_rdf_deep_free(op->request_mac);
        ldns_rdf_deep_free(op->qname);
        free(op->zone_text);
        free(op->name_text);
        free(op->owner_text);
        free(op->key_name);
        if (op->key_b64) {
                explicit_bzero(op->key_b64, strlen(op->key_b64));
                free(op->key_b64);
        }
        free(op->wire);
        free(op);
        return NULL;
}

bool endpoint_dns_op_is_running(const endpoint_dns_op *op) {
        return op && op->phase != PHASE_DONE;
}

/* Delivers the result: nothing may touch op after this (the handler may have freed it). */
_printf_(4, 5) static void op_finish(
        endpoint_dns_op *op, endpoint_dns_status status, int error, const char *fmt, ...) {
        uint64_t now = now_usec();
        va_list ap;

        op->phase = PHASE_DONE;
        op->io_source = sd_event_source_disable_unref(op->io_source);
        (void) sd_event_source_set_enabled(op->retry_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(op->deadline_source, SD_EVENT_OFF);
        op->resolve_source = sd_event_source_disable_unref(op->resolve_source);
        if (op->fd >= 0)
                close(TAKE_FD(op->fd));
        op->result.status = status;
        op->result.error = error;
        op->result.duration_usec = now > op->start_usec ? now - op->start_usec : 0;
        va_start(ap, fmt);
        vsnprintf(op->result.message, sizeof(op->result.message), fmt, ap);
        va_end(ap);
        op->handler(op, &op->result, op->userdata);
}

static void op_fail_errno(endpoint_dns_op *op, int r, const char *what) {
        op_finish(op, ENDPOINT_DNS_FAILED, r, "%s %s: %s", what, op->server_text, strerror(-r));
}

/* ---- sending ------------------------------------------------------------------------------------ */

static void op_send_datagram(endpoint_dns_op *op) {
        op->result.n_datagrams++;
        if (send(op->fd, op->wire, op->wire_size, MSG_NOSIGNAL) < 0 && errno == ECONNREFUSED)
                op->n_unreachable++;
        /* any other error (ENOBUFS, ENETUNREACH, ...): like a lost datagram, retried until the deadline */
}

static int op_arm_retry(endpoint_dns_op *op) {
        int r;

        r = sd_event_source_set_time(op->retry_source, now_usec() + op->retry_interval);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(op->retry_source, SD_EVENT_ONESHOT);
}

/* Sends pkt (taken) as the phase's one message: a new ID, signed, kept for retransmission. */
static int op_exchange(endpoint_dns_op *op, ldns_pkt *pkt) {
        uint16_t id;
        int r = 0;

        if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
                r = -errno ?: -EIO;
        ldns_rdf_deep_free(op->request_mac);
        op->request_mac = NULL;
        free(op->wire);
        op->wire = NULL;
        if (r == 0) {
                ldns_pkt_set_id(pkt, id);
                if (op->key_name &&
                        ldns_pkt_tsig_sign(pkt, op->key_name, op->key_b64, ENDPOINT_DNS_TSIG_FUDGE_S,
                                op->key_algorithm, NULL) != LDNS_STATUS_OK)
                        r = -ENOMEM;
        }
        if (r == 0 && op->key_name &&
                !(op->request_mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3))))
                r = -ENOMEM;
        if (r == 0 && ldns_pkt2wire(&op->wire, pkt, &op->wire_size) != LDNS_STATUS_OK)
                r = -ENOMEM;
        ldns_pkt_free(pkt);
        if (r < 0)
                return r;
        op->id = id;
        op->retry_interval = ENDPOINT_DNS_RETRY_FIRST_USEC;
        op_send_datagram(op);
        return op_arm_retry(op);
}

/* The question the message in flight asks (a query's, or an update's zone section). */
static int op_set_question(endpoint_dns_op *op, op_phase phase, const char *name, ldns_rr_type type) {
        ldns_rdf_deep_free(op->qname);
        op->qname = ldns_dname_new_frm_str(name);
        op->qtype = type;
        op->phase = phase;
        return op->qname ? 0 : -ENOMEM;
}

/* Asks the server for name's RRset of type (without recursion). */
static int op_query(endpoint_dns_op *op, op_phase phase, const char *name, ldns_rr_type type) {
        ldns_rdf *q;
        ldns_pkt *pkt;
        int r;

        r = op_set_question(op, phase, name, type);
        if (r < 0)
                return r;
        q = ldns_rdf_clone(op->qname);
        pkt = q ? ldns_pkt_query_new(q, type, LDNS_RR_CLASS_IN, 0) : NULL;
        return pkt ? op_exchange(op, pkt) : -ENOMEM;
}

/* Step 2: the one UPDATE message (dns_epoch_update_new()), its prerequisite the record read (NULL: none). */
static int op_send_update(endpoint_dns_op *op, const dns_epoch_record *prev) {
        ldns_pkt *pkt = NULL;
        int r;

        r = dns_epoch_update_new(op->zone_text, op->name_text, op->ttl, prev, op->epoch, op->primary,
                op->family, op->address_bytes, &pkt);
        if (r >= 0)
                r = op_set_question(op, PHASE_UPDATE, op->zone_text, LDNS_RR_TYPE_SOA);
        if (r < 0) {
                ldns_pkt_free(pkt);
                return r;
        }
        op->n_rounds++;
        op->result.n_updates++;
        return op_exchange(op, pkt);
}

/* ---- answers ------------------------------------------------------------------------------------ */

/* Ends op for an answer with an error RCODE: REFUSED for NOTAUTH and REFUSED, else FAILED. */
static void op_rcode_error(endpoint_dns_op *op, const char *what) {
        int rcode = op->result.rcode, e = op->result.tsig_error;
        bool refused = rcode == LDNS_RCODE_NOTAUTH || rcode == LDNS_RCODE_REFUSED;
        char b[16], tsig[64] = "";

        if (e != 0)
                snprintf(tsig, sizeof(tsig), ", TSIG %s (%d) for key %s", tsig_error_name(e), e,
                        op->key_name ?: "?");
        else if (refused)
                snprintf(tsig, sizeof(tsig),
                        op->key_name ? " (may key %s update %s?)"
                                     : " (unsigned: the zone may need a key%s%s)",
                        op->key_name ?: "", op->key_name ? op->zone_text : "");
        op_finish(op, refused ? ENDPOINT_DNS_REFUSED : ENDPOINT_DNS_FAILED, 0, "%s answered %s %s%s",
                op->server_text, rcode_name(rcode, b, sizeof(b)), what, tsig);
}

/* Checks a query's answer has an RCODE we can read a RRset from and is authoritative; false: op ended. */
static bool op_check_query_answer(endpoint_dns_op *op, const ldns_pkt *pkt) {
        int rcode = ldns_pkt_get_rcode(pkt);

        if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
                op_rcode_error(op, phase_doing[op->phase]);
                return false;
        }
        if (!ldns_pkt_aa(pkt)) {
                op_finish(op, ENDPOINT_DNS_FAILED, 0, "%s is not authoritative for %s (no AA flag %s)",
                        op->server_text, op->name_text, phase_doing[op->phase]);
                return false;
        }
        return true;
}

static void op_verify_next(endpoint_dns_op *op, op_phase next);

/* Keeps what dns_epoch_from_answer() returned (r, rec) in the result. */
static void op_note_record(endpoint_dns_op *op, int r, const dns_epoch_record *rec) {
        op->result.have_record = r > 0;
        op->result.record_absent = r == 0;
        op->result.record = r > 0 ? *rec : (dns_epoch_record){};
}

/* Steps 1 and 3, and the read of endpoint_dns_read(). */
static void op_on_read(endpoint_dns_op *op, const ldns_pkt *pkt) {
        dns_epoch_record rec = {};
        dns_epoch_action a;
        char why[160];
        int r;

        r = dns_epoch_from_answer(pkt, op->name_text, &rec, why, sizeof(why));
        if (r < 0 && r != -EBADMSG)
                return op_fail_errno(op, r, "cannot read the answer of");
        if (r < 0)
                return op_finish(op, ENDPOINT_DNS_FAILED, 0,
                        "the epoch record %s holds %s, not \"epoch=N primary=NAME\": refusing to write over "
                        "it",
                        op->owner_text, why);
        op_note_record(op, r, &rec);
        if (op->read_only)
                return r > 0 ? op_finish(op, ENDPOINT_DNS_OK, 0, "%s: epoch %" PRIu64 ", primary %s",
                                       op->owner_text, rec.epoch, rec.primary)
                             : op_finish(op, ENDPOINT_DNS_OK, 0, "%s: no epoch record", op->owner_text);

        a = dns_epoch_decide(r > 0 ? &rec : NULL, op->epoch, op->primary);
        if (op->phase == PHASE_REREAD && a == DNS_EPOCH_REPEAT)
                return op_verify_next(op, PHASE_VERIFY_TXT); /* a duplicate of ours was refused */
        if (a == DNS_EPOCH_STALE || a == DNS_EPOCH_CONFLICT)
                return op_finish(op, ENDPOINT_DNS_STALE, 0,
                        "%s%s epoch %" PRIu64 " (primary %s) is recorded at %s; "
                        "refusing to write epoch %" PRIu64 " (primary %s)",
                        op->phase == PHASE_REREAD ? "the server refused the update's prerequisite: " : "",
                        a == DNS_EPOCH_STALE ? "a newer" : "the same", rec.epoch, rec.primary,
                        op->owner_text, op->epoch, op->primary);
        if (op->n_rounds >= ENDPOINT_DNS_ROUNDS_MAX)
                return op_finish(op, ENDPOINT_DNS_FAILED, 0,
                        "the epoch record %s changed under each of %u updates; giving up", op->owner_text,
                        op->n_rounds);
        r = op_send_update(op, r > 0 ? &rec : NULL);
        if (r < 0)
                op_fail_errno(op, r, "cannot send the update to");
}

static void op_on_update(endpoint_dns_op *op, const ldns_pkt *pkt) {
        int r;

        op->result.update_rcode = ldns_pkt_get_rcode(pkt);
        switch (op->result.update_rcode) {
        case LDNS_RCODE_NOERROR:
                op->result.updated = true;
                return op_verify_next(op, PHASE_VERIFY_TXT);
        case LDNS_RCODE_NXRRSET:
        case LDNS_RCODE_YXRRSET:
        case LDNS_RCODE_NXDOMAIN:
        case LDNS_RCODE_YXDOMAIN:
                op->result.prerequisite_failed = true;
                r = op_query(op, PHASE_REREAD, op->owner_text, LDNS_RR_TYPE_TXT);
                if (r < 0)
                        op_fail_errno(op, r, "cannot query");
                return;
        default:
                return op_rcode_error(op, "to the update");
        }
}

static void op_verify_next(endpoint_dns_op *op, op_phase next) {
        ldns_rr_type mine = op->family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
        ldns_rr_type other = op->family == AF_INET ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
        int r;

        if (next == PHASE_VERIFY_TXT || next == PHASE_VERIFY_RECHECK)
                r = op_query(op, next, op->owner_text, LDNS_RR_TYPE_TXT);
        else
                r = op_query(op, next, op->name_text, next == PHASE_VERIFY_ADDRESS ? mine : other);
        if (r < 0)
                op_fail_errno(op, r, "cannot query");
}

/* Step 4, one RRset at a time. */
static void op_on_verify(endpoint_dns_op *op, const ldns_pkt *pkt) {
        int other = op->family == AF_INET ? AF_INET6 : AF_INET, r;
        dns_epoch_record rec = {};
        char found[160];

        if (op->phase == PHASE_VERIFY_RECHECK) {
                /* An address that is not ours, after our epoch record was seen: a writer of a newer epoch
                 * who came in between has superseded us (not a failure); anything else is. */
                r = dns_epoch_from_answer(pkt, op->name_text, &rec, found, sizeof(found));
                if (r < 0 && r != -EBADMSG)
                        return op_fail_errno(op, r, "cannot read the answer of");
                op_note_record(op, r, &rec);
                if (r > 0 && rec.epoch > op->epoch)
                        return op_finish(op, ENDPOINT_DNS_STALE, 0,
                                "superseded: %s holds epoch %" PRIu64 " (primary %s) while our update for "
                                "epoch %" PRIu64 " was being verified",
                                op->owner_text, rec.epoch, rec.primary, op->epoch);
                return op_finish(op, ENDPOINT_DNS_VERIFY_FAILED, 0, "%s", op->mismatch);
        }
        if (op->phase == PHASE_VERIFY_TXT) {
                r = dns_epoch_from_answer(pkt, op->name_text, &rec, found, sizeof(found));
                if (r < 0 && r != -EBADMSG)
                        return op_fail_errno(op, r, "cannot read the answer of");
                op_note_record(op, r, &rec);
                if (r > 0 && dns_epoch_decide(&rec, op->epoch, op->primary) == DNS_EPOCH_REPEAT)
                        return op_verify_next(op, PHASE_VERIFY_ADDRESS);
                if (r > 0 && rec.epoch > op->epoch)
                        return op_finish(op, ENDPOINT_DNS_STALE, 0,
                                "superseded: %s holds epoch %" PRIu64
                                " (primary %s) right after our update for "
                                "epoch %" PRIu64,
                                op->owner_text, rec.epoch, rec.primary, op->epoch);
                if (r > 0)
                        snprintf(found, sizeof(found), "\"epoch=%" PRIu64 " primary=%s\"", rec.epoch,
                                rec.primary);
                return op_finish(op, ENDPOINT_DNS_VERIFY_FAILED, 0,
                        "after the update %s holds %s, not \"epoch=%" PRIu64 " primary=%s\"", op->owner_text,
                        r == 0 ? "no TXT record" : found, op->epoch, op->primary);
        }

        r = dns_epoch_check_address(pkt, op->name_text,
                op->phase == PHASE_VERIFY_ADDRESS ? op->family : other,
                op->phase == PHASE_VERIFY_ADDRESS ? op->address_bytes : NULL, found, sizeof(found));
        if (r < 0 && r != -EBADMSG)
                return op_fail_errno(op, r, "cannot check the answer of");
        if (r < 0) {
                if (op->phase == PHASE_VERIFY_ADDRESS)
                        snprintf(op->mismatch, sizeof(op->mismatch), "after the update %s %s is %s, not %s",
                                op->name_text, op_type_name(op, false), found, op->address);
                else
                        snprintf(op->mismatch, sizeof(op->mismatch), "after the update %s still has %s %s",
                                op->name_text, op_type_name(op, true), found);
                return op_verify_next(op, PHASE_VERIFY_RECHECK);
        }
        if (op->phase == PHASE_VERIFY_ADDRESS)
                return op_verify_next(op, PHASE_VERIFY_OTHER);
        op_finish(op, ENDPOINT_DNS_OK, 0, "%s %s %s, epoch %" PRIu64 " (primary %s), verified at %s",
                op->name_text, op_type_name(op, false), op->address, op->epoch, op->primary,
                op->server_text);
}

/* Whether pkt answers the message in flight (its zone or question); an error may omit it. */
static bool answer_matches(const endpoint_dns_op *op, const ldns_pkt *pkt) {
        const ldns_rr_list *q = ldns_pkt_question(pkt);
        const ldns_rr *rr;

        if (ldns_rr_list_rr_count(q) == 0)
                return ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR;
        if (ldns_rr_list_rr_count(q) != 1)
                return false;
        rr = ldns_rr_list_rr(q, 0);
        return ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN && ldns_rr_get_type(rr) == op->qtype &&
               ldns_dname_compare(ldns_rr_owner(rr), op->qname) == 0;
}

/* Whether pkt's TSIG verifies against our request's MAC. ldns_pkt_tsig_verify() takes the TSIG RR out
 * of pkt while it works and, on some errors (an algorithm it does not know), leaves it out: put it back. */
static bool answer_verified(const endpoint_dns_op *op, ldns_pkt *pkt, const uint8_t *buf, size_t n) {
        ldns_rr *tsig = ldns_pkt_tsig(pkt);
        bool ok = tsig && ldns_pkt_tsig_verify(pkt, buf, n, op->key_name, op->key_b64, op->request_mac);

        if (!ldns_pkt_tsig(pkt))
                ldns_pkt_set_tsig(pkt, tsig);
        return ok;
}

/* One datagram from the server: 1 when it was used (op may be gone then), 0 when dropped. */
static int op_on_datagram(endpoint_dns_op *op, uint8_t *buf, size_t n) {
        unsigned opcode = op->phase == PHASE_UPDATE ? OPCODE_UPDATE : OPCODE_QUERY;
        ldns_pkt *pkt = NULL;

        if (n < LDNS_HEADER_SIZE || LDNS_ID_WIRE(buf) != op->id || !LDNS_QR_WIRE(buf) ||
                LDNS_OPCODE_WIRE(buf) != opcode) {
                op->dropped = "a datagram that answers no message in flight";
                return 0;
        }
        if (LDNS_TC_WIRE(buf)) {
                op->dropped = "a truncated answer";
                return 0;
        }
        if (ldns_wire2pkt(&pkt, buf, n) != LDNS_STATUS_OK) {
                op->dropped = "a malformed answer";
                return 0;
        }
        if (!answer_matches(op, pkt)) {
                op->dropped = "an answer to another question";
                ldns_pkt_free(pkt);
                return 0;
        }
        if (op->key_name && !answer_verified(op, pkt, buf, n) &&
                ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOTAUTH &&
                ldns_pkt_get_rcode(pkt) != LDNS_RCODE_REFUSED) {
                /* only a refusal may come unsigned (see the header) */
                op->dropped =
                        ldns_pkt_tsig(pkt) ? "an answer whose TSIG does not verify" : "an unsigned answer";
                ldns_pkt_free(pkt);
                return 0;
        }
        op->result.rcode = ldns_pkt_get_rcode(pkt);
        op->result.tsig_error = ldns_pkt_tsig(pkt) && ldns_rr_rd_count(ldns_pkt_tsig(pkt)) > 5
                                        ? ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(pkt), 5))
                                        : 0;
        switch (op->phase) {
        case PHASE_UPDATE:
                op_on_update(op, pkt);
                break;
        case PHASE_READ:
        case PHASE_REREAD:
                if (op_check_query_answer(op, pkt))
                        op_on_read(op, pkt);
                break;
        default:
                if (op_check_query_answer(op, pkt))
                        op_on_verify(op, pkt);
                break;
        }
        ldns_pkt_free(pkt);
        return 1;
}

/* ---- event sources -------------------------------------------------------------------------------- */

/* The errors a datagram socket reports (once) for an ICMP error about an earlier datagram. */
static bool errno_is_icmp(int e) {
        return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN;
}

static int op_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        endpoint_dns_op *op = userdata;
        uint8_t buf[4096];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno_is_icmp(errno)) {
                        /* an ICMP error for an earlier datagram, reported once: like a lost one */
                        op->n_unreachable++;
                        continue;
                }
                if (n < 0)
                        return 0; /* EAGAIN, or anything else: the retry timer carries on */
                if ((size_t) n > sizeof(buf)) {
                        op->dropped = "an oversized answer";
                        continue;
                }
                if (op_on_datagram(op, buf, (size_t) n) > 0)
                        return 0;
        }
}

static int op_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        endpoint_dns_op *op = userdata;
        int r;

        op->retry_interval *= 2;
        if (op->retry_interval > ENDPOINT_DNS_RETRY_MAX_USEC)
                op->retry_interval = ENDPOINT_DNS_RETRY_MAX_USEC;
        op_send_datagram(op);
        r = op_arm_retry(op);
        if (r < 0)
                op_fail_errno(op, r, "cannot arm the retransmission timer for");
        return 0;
}

static int op_on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        endpoint_dns_op *op = userdata;
        uint64_t ms = (usec - op->start_usec) / USEC_PER_MSEC;

        op_finish(op, ENDPOINT_DNS_TIMEOUT, 0,
                "no answer from %s %s within %" PRIu64 " ms (%u datagrams%s%s%s)", op->server_text,
                phase_doing[op->phase], ms, op->result.n_datagrams,
                op->n_unreachable ? ", port unreachable" : "", op->dropped ? ", dropped " : "",
                op->dropped ?: "");
        return 0;
}

/* ---- starting ------------------------------------------------------------------------------------- */

/* The socket to ip (a numeric address, maybe with a scope), watched. */
static int op_connect(endpoint_dns_op *op, const char *ip) {
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_DGRAM},
                        *ai = NULL;
        _cleanup_close_ int fd = -1;
        char port[8];
        int r;

        snprintf(port, sizeof(port), "%u", op->server.port);
        if (getaddrinfo(ip, port, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        r = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
        freeaddrinfo(ai);
        if (r < 0)
                return r;
        r = sd_event_add_io(op->event, &op->io_source, fd, EPOLLIN, op_on_io, op);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(op->io_source, "endpoint-dns-io");
        op->fd = TAKE_FD(fd);
        return 0;
}

/* The first message: the update straight away when the caller's record allows it, else the read. */
static int op_begin(endpoint_dns_op *op) {
        if (!op->read_only && op->have_hint &&
                dns_epoch_action_writes(dns_epoch_decide(&op->hint, op->epoch, op->primary)))
                return op_send_update(op, &op->hint);
        return op_query(op, PHASE_READ, op->owner_text, LDNS_RR_TYPE_TXT);
}

static int op_on_resolved(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        endpoint_dns_op *op = userdata;
        const resolve_result *res = resolve_job_result(op->resolve);
        int r;

        if (!res)
                return 0;
        op->resolve_source = sd_event_source_disable_unref(op->resolve_source);
        if (res->gai_error != 0) {
                op_finish(op, ENDPOINT_DNS_FAILED, 0, "cannot resolve the DNS server %s: %s",
                        op->server_text, gai_strerror(res->gai_error));
                return 0;
        }
        r = op_connect(op, res->addresses[0]);
        if (r >= 0)
                r = op_begin(op);
        if (r < 0)
                op_fail_errno(op, r, "cannot send to");
        return 0;
}

/* The algorithms ldns can sign with (see the header), by their ldns names. */
static const char *const tsig_ldns_names[_TSIG_ALGORITHM_MAX] = {
        [TSIG_HMAC_MD5] = "hmac-md5.sig-alg.reg.int.",
        [TSIG_HMAC_SHA1] = "hmac-sha1.",
        [TSIG_HMAC_SHA256] = "hmac-sha256.",
        [TSIG_HMAC_SHA512] = "hmac-sha512.",
};

/* A new operation with conf copied; nothing started. */
static int op_new(sd_event *e, const dns_endpoint_conf *conf, uint64_t timeout_usec,
        endpoint_dns_handler handler, void *userdata, endpoint_dns_op **ret) {
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        int r;

        if (!e || !conf || !handler || !ret || !conf->server.host || conf->server.port == 0 || !conf->zone ||
                !conf->name || !dns_name_is_valid(conf->zone) || !dns_name_is_valid(conf->name) ||
                !dns_name_is_in_zone(conf->name, conf->zone))
                return -EINVAL;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->fd = -1;
        op->event = sd_event_ref(e);
        op->handler = handler;
        op->userdata = userdata;
        op->result.rcode = op->result.update_rcode = -1;
        op->phase = PHASE_RESOLVE;
        op->ttl = conf->ttl;
        op->server = (hostport){
                .host = strdup(conf->server.host), .port = conf->server.port, .family = conf->server.family};
        hostport_format(&op->server, op->server_text, sizeof(op->server_text));
        op->zone_text = strdup(conf->zone);
        op->name_text = strdup(conf->name);
        r = dns_epoch_owner(conf->name, &op->owner_text);
        if (r < 0)
                return r;
        if (!op->server.host || !op->zone_text || !op->name_text)
                return -ENOMEM;
        if (conf->tsig.name) {
                size_t size = conf->tsig.secret_size;

                if (conf->tsig.algorithm < 0 || conf->tsig.algorithm >= _TSIG_ALGORITHM_MAX)
                        return -EINVAL;
                op->key_algorithm = tsig_ldns_names[conf->tsig.algorithm];
                if (!op->key_algorithm)
                        return -EOPNOTSUPP;
                if (size == 0 || size > INT_MAX / 2)
                        return -EINVAL;
                op->key_name = strdup(conf->tsig.name);
                op->key_b64 = malloc(4 * ((size + 2) / 3) + 1);
                if (!op->key_name || !op->key_b64)
                        return -ENOMEM;
                EVP_EncodeBlock((unsigned char *) op->key_b64, conf->tsig.secret, (int) size);
        }
        op->start_usec = now_usec();
        r = sd_event_add_time(e, &op->deadline_source, CLOCK_MONOTONIC,
                op->start_usec + (timeout_usec ?: ENDPOINT_DNS_TIMEOUT_DEFAULT_USEC), TIMER_ACCURACY_USEC,
                op_on_deadline, op);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(op->deadline_source, "endpoint-dns-deadline");
        r = sd_event_add_time(
                e, &op->retry_source, CLOCK_MONOTONIC, 0, TIMER_ACCURACY_USEC, op_on_retry, op);
        if (r >= 0)
                r = sd_event_source_set_enabled(op->retry_source, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(op->retry_source, "endpoint-dns-retry");
        *ret = TAKE_PTR(op);
        return 0;
}

/* Connects (or starts resolving the server's name) and sends the first message. */
static int op_start(endpoint_dns_op *op) {
        int r;

        if (op->server.family == AF_UNSPEC) {
                r = resolve_job_start(op->server.host, &op->resolve);
                if (r < 0)
                        return r;
                return sd_event_add_io(op->event, &op->resolve_source, resolve_job_fd(op->resolve), EPOLLIN,
                        op_on_resolved, op);
        }
        r = op_connect(op, op->server.host);
        return r < 0 ? r : op_begin(op);
}

int endpoint_dns_update(sd_event *e, const dns_endpoint_conf *conf, const endpoint_dns_params *params,
        endpoint_dns_handler handler, void *userdata, endpoint_dns_op **ret) {
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        char text[DNS_EPOCH_TEXT_MAX];
        uint8_t bytes[16];
        int family, r;

        if (!params || !params->primary || !params->address ||
                dns_epoch_format(params->epoch, params->primary, text, sizeof(text)) < 0)
                return -EINVAL;
        if (inet_pton(AF_INET, params->address, bytes) == 1)
                family = AF_INET;
        else if (inet_pton(AF_INET6, params->address, bytes) == 1)
                family = AF_INET6;
        else
                return -EINVAL;
        r = op_new(e, conf, params->timeout_usec, handler, userdata, &op);
        if (r < 0)
                return r;
        op->epoch = params->epoch;
        strcpy(op->primary, params->primary); /* checked by dns_epoch_format() */
        op->family = family;
        memcpy(op->address_bytes, bytes, sizeof(bytes));
        inet_ntop(family, bytes, op->address, sizeof(op->address)); /* canonical, for messages */
        if (params->previous) {
                op->have_hint = true;
                op->hint = *params->previous;
        }
        r = op_start(op);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(op);
        return 0;
}

int endpoint_dns_read(sd_event *e, const dns_endpoint_conf *conf, uint64_t timeout_usec,
        endpoint_dns_handler handler, void *userdata, endpoint_dns_op **ret) {
        _cleanup_(endpoint_dns_op_freep) endpoint_dns_op *op = NULL;
        int r;

        r = op_new(e, conf, timeout_usec, handler, userdata, &op);
        if (r < 0)
                return r;
        op->read_only = true;
        r = op_start(op);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(op);
        return 0;
}
