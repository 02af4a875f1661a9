/* The epoch record of a DNS endpoint (SPEC 5.12): a TXT record beside the endpoint's name saying which
 * epoch wrote the name last, so that the DNS server itself refuses an update from an older epoch.
 *
 * The record, for an endpoint name N (absolute, in the zone):
 *
 *     _sentinel-epoch.N.  TTL  IN  TXT  "epoch=E primary=P"
 *
 * - The owner is N with the label DNS_EPOCH_LABEL in front: always inside the zone when N is (unless
 *   the operator delegated N itself away), never a host name (RFC 8552 underscore label), and found
 *   from N alone, without configuration.
 * - Exactly one TXT record holding exactly one character-string, in exactly this canonical form:
 *   "epoch=" E in decimal (0..UINT64_MAX, no sign, no leading zero), one space, "primary=" P, where P
 *   is the server's name from the config (str_is_name(): 1..64 of [A-Za-z0-9._-]). No other spaces,
 *   no other fields. The form is canonical so that the server can compare it byte for byte.
 *
 * The write rule (lib/io/endpoint-dns.c builds the messages): a write for epoch E of primary P is one
 * TSIG-signed RFC 2136 UPDATE whose prerequisite pins the record as it was read:
 *
 *   - no record read: "RRset does not exist" (RFC 2136 2.4.3: owner, class NONE, type TXT);
 *   - record R read: "RRset exists (value dependent)" (2.4.2: owner, class IN, TTL 0, TXT R): the
 *     server compares the whole RRset, so one extra or changed record fails it;
 *
 * and that is only sent when dns_epoch_decide() says so: R's epoch is older than E (ADVANCE), or R
 * is exactly E with P (REPEAT: an idempotent retry, e.g. after a lost answer). A newer epoch (STALE)
 * or epoch E with another primary (CONFLICT) is never written over. A concurrent writer that changes
 * the record between our read and our update makes the server answer NXRRSET (or YXRRSET for the
 * first write), so the older write is refused by the server, atomically. A record that is not in the
 * canonical form (another tool's, a newer format) is never written over either.
 *
 * Pure: the record's text, the decision, the UPDATE message that carries it and reading it from an
 * answer (ldns packets); nothing here does I/O. */
#pragma once

#include <errno.h>
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The label put in front of the endpoint's name. */
#define DNS_EPOCH_LABEL "_sentinel-epoch"

/* The longest primary name (str_is_name()). */
#define DNS_EPOCH_PRIMARY_MAX 64

/* Room for the longest record text and its NUL: "epoch=" 20 digits " primary=" 64 characters. */
#define DNS_EPOCH_TEXT_MAX (6 + 20 + 9 + DNS_EPOCH_PRIMARY_MAX + 1)

/* The longest DNS name in presentation form without the trailing dot (RFC 1035: 255 octets on the
 * wire). */
#define DNS_EPOCH_NAME_MAX 253

typedef struct dns_epoch_record {
        uint64_t epoch;
        char primary[DNS_EPOCH_PRIMARY_MAX + 1];
} dns_epoch_record;

/* What a writer of epoch E for primary P does, given the record it read. */
typedef enum dns_epoch_action {
        DNS_EPOCH_CREATE,   /* no record: write, with the prerequisite "RRset does not exist" */
        DNS_EPOCH_ADVANCE,  /* an older epoch: write, with the prerequisite "RRset is what was read" */
        DNS_EPOCH_REPEAT,   /* E with P already: write again (idempotent), same prerequisite */
        DNS_EPOCH_STALE,    /* a newer epoch: do not write */
        DNS_EPOCH_CONFLICT, /* E with another primary: do not write (two promotions in one epoch) */
        _DNS_EPOCH_ACTION_MAX,
        _DNS_EPOCH_ACTION_INVALID = -EINVAL,
} dns_epoch_action;

/* "create", "advance", "repeat", "stale", "conflict"; NULL when out of range. */
const char *dns_epoch_action_to_string(dns_epoch_action a);

/* Whether a writer with this action sends its update. */
bool dns_epoch_action_writes(dns_epoch_action a);

/* The owner of the epoch record of name (absolute or not; the result always ends with '.'), in a new
 * string in *ret. -EINVAL when name is not a valid DNS name (dns_name_is_valid()), -ENAMETOOLONG when
 * the owner would be longer than DNS_EPOCH_NAME_MAX, -ENOMEM. */
int dns_epoch_owner(const char *name, char **ret);

/* Writes the canonical text of (epoch, primary) with its NUL into buf (size at least
 * DNS_EPOCH_TEXT_MAX is always enough) and returns its length; -EINVAL when primary is not a valid
 * name, -ENOBUFS when buf is too small. */
int dns_epoch_format(uint64_t epoch, const char *primary, char *buf, size_t size);

/* Parses one TXT character-string (size bytes, not NUL-terminated, may hold NULs) in the canonical
 * form into *ret; -EINVAL for anything else (also a valid record with extra spaces or leading zeros). */
int dns_epoch_parse(const void *text, size_t size, dns_epoch_record *ret);

/* The write rule above: what a writer of epoch for primary does when it read current (NULL: there is
 * no record). _DNS_EPOCH_ACTION_INVALID when primary is not a valid name. */
dns_epoch_action dns_epoch_decide(const dns_epoch_record *current, uint64_t epoch, const char *primary);

/* The UPDATE message of the write rule, for zone (the zone section, class IN), with no ID (0) and no
 * signature yet:
 *   prerequisite  OWNER 0 IN TXT "<prev>"            when prev is not NULL (2.4.2),
 *                 OWNER 0 NONE TXT                   when it is (2.4.3);
 *   update        name 0 ANY A; name 0 ANY AAAA;     (delete both address RRsets, 2.5.2)
 *                 name ttl IN A|AAAA address;        (family AF_INET: 4 bytes, AF_INET6: 16)
 *                 OWNER 0 ANY TXT; OWNER ttl IN TXT "epoch=E primary=P".
 * OWNER is dns_epoch_owner(name). The header's RD bit is clear (a Z bit in an UPDATE). -EINVAL on an
 * invalid zone, name (or name outside zone), primary, prev or family; -ENAMETOOLONG; -ENOMEM. */
int dns_epoch_update_new(const char *zone, const char *name, uint32_t ttl, const dns_epoch_record *prev,
        uint64_t epoch, const char *primary, int family, const void *address, ldns_pkt **ret);

/* Reads the epoch record of name (the endpoint's name, not the owner) from pkt's answer section,
 * ignoring the other RRs: 1 and *ret when the owner has exactly one TXT record in the canonical form;
 * 0 when it has none; -EBADMSG for anything else (several records, several strings, another text),
 * with a one-line description into why (at most why_size bytes, quoting at most 100 of its bytes).
 * -EINVAL on an invalid name. */
int dns_epoch_from_answer(
        const ldns_pkt *pkt, const char *name, dns_epoch_record *ret, char *why, size_t why_size);

/* Checks pkt's answer section for name's RRset of family (AF_INET: A, AF_INET6: AAAA), ignoring the
 * other RRs: 0 when it is exactly the one record address (4 or 16 bytes), or, with address NULL, when
 * it is empty; -EBADMSG otherwise, with the records found ("10.0.0.1, 10.0.0.2", or "none") into
 * found (at most found_size bytes). -EINVAL on an invalid name or family; -ENOMEM. */
int dns_epoch_check_address(const ldns_pkt *pkt, const char *name, int family, const void *address,
        char *found, size_t found_size);
