/* MariaDB GTIDs and GTID lists: parsing, canonical formatting, per-domain comparison, errant
 * transactions and the choice of the most advanced position. Pure code: no I/O, no logging. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One MariaDB GTID, "domain_id-server_id-seq_no". */
typedef struct gtid {
        uint32_t domain_id;
        uint32_t server_id;
        uint64_t seq_no;
} gtid;

/* A GTID position (@@gtid_current_pos, @@gtid_slave_pos, Gtid_IO_Pos, ...): at most one GTID per
 * domain, items sorted by ascending domain_id. The empty list is { 0, NULL }. Every function below
 * keeps that invariant; code that fills items by hand must keep it too. */
typedef struct gtid_list {
        size_t n;
        gtid *items;
} gtid_list;

#define GTID_LIST_EMPTY ((gtid_list){.n = 0, .items = NULL})

/* "4294967295-4294967295-18446744073709551615" plus the NUL. */
#define GTID_STRING_MAX (10 + 1 + 10 + 1 + 20 + 1)

/* How position a stands against position b, in one domain or overall.
 *
 * Within a domain GTIDs are ordered by seq_no alone: the server_id changes after every failover
 * (0-1-100 then 0-2-101), so 0-1-100 is BEHIND 0-2-101. A domain absent from a list counts as
 * seq_no 0 there, and seq_no 0 means "no transaction", whatever its server_id. Two GTIDs with the
 * same non-zero seq_no and different server_ids are two different transactions at the same
 * seqno: DIVERGED.
 *
 * Overall: EQUAL when every domain is equal; AHEAD when a is ahead or equal everywhere and ahead
 * somewhere; BEHIND symmetrically; DIVERGED when a domain diverges or when a is ahead in one domain
 * and behind in another (each has transactions the other lacks). */
typedef enum gtid_order {
        GTID_ORDER_EQUAL,
        GTID_ORDER_BEHIND,
        GTID_ORDER_AHEAD,
        GTID_ORDER_DIVERGED,
        _GTID_ORDER_MAX,
        _GTID_ORDER_INVALID = -EINVAL,
} gtid_order;

/* Named error codes, returned negated (r == -GTID_ERR_DIVERGED); gtid_strerror() describes them. */
#define GTID_ERR_DIVERGED ENOTUNIQ /* no position is ahead of or equal to all the others */

/* A human-readable description of a negative return value of this module; never NULL. */
const char *gtid_strerror(int r);

/* "equal", "behind", "ahead" or "diverged"; NULL when out of range. */
const char *gtid_order_to_string(gtid_order o);

/* Parses the name gtid_order_to_string() returns; _GTID_ORDER_INVALID when unknown or NULL. */
gtid_order gtid_order_from_string(const char *s);

/* Parses exactly one "D-S-N" (decimal, no sign, no whitespace, no overflow); 0 or -EINVAL, *ret
 * only on success. */
int gtid_parse(const char *s, gtid *ret);

/* Writes "D-S-N" into buf and returns buf; never fails. */
char *gtid_format(const gtid *g, char buf[static GTID_STRING_MAX]);

/* Compares a with b in one domain; NULL stands for the domain's absence (seq_no 0). Never
 * DIVERGED when either seq_no is 0; _GTID_ORDER_INVALID when both are given with different domains. */
gtid_order gtid_compare(const gtid *a, const gtid *b);

/* Parses a comma-separated GTID list ("" and all-whitespace give the empty list; whitespace,
 * including newlines, is allowed around commas and at both ends); sorts it by domain. 0 on
 * success; -EINVAL on malformed input or a duplicate domain; -ENOMEM. *ret only on success. */
int gtid_list_parse(const char *s, gtid_list *ret);

/* Formats canonically: sorted by domain, "," between GTIDs, no spaces; "" for the empty list.
 * 0 and a new string in *ret, or -ENOMEM. */
int gtid_list_format(const gtid_list *l, char **ret);

/* Frees the items and leaves l empty; accepts NULL and an already-done list. Usable as _cleanup_. */
void gtid_list_done(gtid_list *l);

/* Deep-copies src into *ret (which the caller then owns); 0 or -ENOMEM, *ret only on success. */
int gtid_list_copy(const gtid_list *src, gtid_list *ret);

/* The list's GTID for a domain (pointing into l, valid until l changes), or NULL when absent. */
const gtid *gtid_list_get(const gtid_list *l, uint32_t domain_id);

/* Sets g as the list's GTID for g->domain_id, replacing any and keeping the order; 0 or -ENOMEM
 * (then l is unchanged). */
int gtid_list_set(gtid_list *l, const gtid *g);

/* One domain of a comparison. a and b point into the compared lists (valid while those are
 * unchanged); NULL when that list lacks the domain. */
typedef struct gtid_domain_cmp {
        uint32_t domain_id;
        const gtid *a;
        const gtid *b;
        gtid_order order; /* a compared with b in this domain */
} gtid_domain_cmp;

/* Walks the union of two lists' domains in ascending order, without allocating:
 *         gtid_domain_cmp d;
 *         for (gtid_cmp_iter it = GTID_CMP_ITER_INIT(a, b); gtid_cmp_iter_next(&it, &d);)
 *                 ...d.domain_id, d.order...
 */
typedef struct gtid_cmp_iter {
        const gtid_list *a;
        const gtid_list *b;
        size_t i;
        size_t j;
} gtid_cmp_iter;

#define GTID_CMP_ITER_INIT(list_a, list_b) ((gtid_cmp_iter){.a = (list_a), .b = (list_b)})

/* Fills *ret with the next domain present in a or b and returns true; false (*ret untouched) at the end. */
bool gtid_cmp_iter_next(gtid_cmp_iter *it, gtid_domain_cmp *ret);

/* The overall order of a against b (see gtid_order); never fails. */
gtid_order gtid_list_compare(const gtid_list *a, const gtid_list *b);

/* True when a has everything b has: b is EQUAL to or BEHIND a (b's history is a prefix of a's). */
bool gtid_list_contains(const gtid_list *a, const gtid_list *b);

/* Picks the list AHEAD of or EQUAL to every other; ties go to the lowest index. NULL entries
 * (unknown positions) are skipped. 0 and *ret_index; -ENODATA when no list is given;
 * -GTID_ERR_DIVERGED when no list is ahead of or equal to all the others. */
int gtid_list_most_advanced(const gtid_list *const *lists, size_t n, size_t *ret_index);

/* Transactions one position has in a domain that another lacks. */
typedef struct gtid_range {
        /* have's GTID in the domain: the last transaction ref lacks */
        gtid last;
        /* ref's seq_no in the domain (0 when ref lacks it): the range starts after it */
        uint64_t after_seq_no;
        /* server_id of ref's GTID in the domain; 0 when ref lacks it */
        uint32_t ref_server_id;
        /* same seq_no, other server: have's transaction at last.seq_no is not ref's */
        bool diverged;
} gtid_range;

/* The ranges of gtid_list_missing(), one per domain, sorted by domain. */
typedef struct gtid_diff {
        size_t n;
        gtid_range *items;
} gtid_diff;

#define GTID_DIFF_EMPTY ((gtid_diff){.n = 0, .items = NULL})

/* What have has that ref lacks (errant transactions when ref is the primary): one range per domain
 * where have is AHEAD of or DIVERGED from ref. Returns the number of ranges (0: nothing missing)
 * with the diff in *ret, or -ENOMEM. *ret only on success. */
int gtid_list_missing(const gtid_list *have, const gtid_list *ref, gtid_diff *ret);

/* Frees the ranges and leaves d empty; accepts NULL and an already-done diff. */
void gtid_diff_done(gtid_diff *d);

/* Formats a diff for logs and alerts, ranges separated by ", ", in domain order:
 *   "D-S-F..L"                  have has seq_nos F..L of domain D that ref lacks, F < L
 *                               (F = after_seq_no + 1; S is the server_id of have's GTID L)
 *   "D-S-L"                     have has the single transaction L that ref lacks
 *   "D-S-L (diverged from D-R-L)"  both have seq_no L, written by servers S (have) and R (ref)
 * e.g. "0-2-101..105, 1-3-7 (diverged from 1-1-7)"; "" for an empty diff.
 * 0 and a new string in *ret, or -ENOMEM. */
int gtid_diff_format(const gtid_diff *d, char **ret);
