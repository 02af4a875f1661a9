/* The agreement rules between sentinels (SPEC 1, 5.2, 5.3, 5.5; issue 5) as pure functions: ODOWN
 * from this sentinel's SDOWN and its peers' opinions, whether to grant a vote, the tally of an
 * election, the randomised retry delay, which of two configurations wins, and self-fencing. Pure:
 * time (CLOCK_MONOTONIC microseconds) and randomness are passed in; nothing here does I/O, reads a
 * clock or logs.
 *
 * The rules are checked by the Promela model tests/model/sentinel.pml (spin; `meson test model`):
 * at most one leader per epoch, at most one promotion per epoch, and never two writable primaries,
 * under message loss, duplication and reordering and sentinel crash-restart. Each function below
 * names the part of the model it corresponds to; the model names these functions.
 *
 * Confirmations, the lease of self-fencing. The sentinel in the primary's zone keeps the primary
 * writable only while a majority of the sentinels (itself included) confirms it. A sentinel
 * confirms a primary when its own probes of that primary currently succeed and its current epoch
 * equals the epoch of the configuration that names that primary (so once it has voted in a newer
 * election, it no longer does). A peer's confirmation counts from the time this sentinel SENT the
 * HELLO that the peer's confirming reply answers, never from when the reply arrived: a reply delayed
 * in the network must not extend the lease. Then, as the model checks: every sentinel that votes for
 * a failover has failed to reach the primary for down_after_ms and has not confirmed it since its
 * failures began, and any majority includes a voter, so the lease runs out at most
 * self_fence_after_ms after the failures began: before any promotion, given self_fence_after_ms <
 * down_after_ms. That is also why ODOWN needs this sentinel's own SDOWN, not only its peers'. Merely
 * hearing a majority is not enough: a peer cut off from the primary but not from this sentinel would
 * keep the old primary writable while the others promote a new one (sentinel.pml, MUTANT_HEARD_ANY,
 * and MUTANT_NO_OWN_SDOWN for the own SDOWN). */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Epochs run from 0 to QUORUM_EPOCH_MAX (state.h's STATE_EPOCH_MAX); UINT64_MAX is never valid. */
#define QUORUM_EPOCH_MAX (UINT64_MAX - 1)
/* A time that never was: quorum_majority_heard_usec()'s "never confirmed". */
#define QUORUM_NEVER UINT64_MAX
/* quorum_retry_delay_usec(): attempts above this do not lengthen the delay further. */
#define QUORUM_RETRY_ATTEMPTS_CAP 4

/* The votes a leader needs out of n_sentinels configured ones (this one included): n / 2 + 1, the
 * same as config_majority(). */
size_t quorum_majority(size_t n_sentinels);

/* ---- ODOWN (sentinel.pml: ODOWN(), and MUTANT_NO_OWN_SDOWN) ---- */

typedef enum quorum_odown_reason {
        QUORUM_ODOWN_OK,         /* ODOWN */
        QUORUM_ODOWN_NO_PRIMARY, /* this sentinel knows no primary for the cluster */
        QUORUM_ODOWN_NOT_SDOWN,  /* this sentinel does not itself see the primary SDOWN */
        QUORUM_ODOWN_NO_QUORUM,  /* fewer than quorum sentinels report SDOWN within the window */
        QUORUM_ODOWN_EVIDENCE,   /* a replica's IO thread is still connected to the primary */
        _QUORUM_ODOWN_MAX,
        _QUORUM_ODOWN_INVALID = -EINVAL,
} quorum_odown_reason;

/* "ODOWN", "NO_PRIMARY", "NOT_SDOWN", "NO_QUORUM", "REPLICA_EVIDENCE"; NULL when out of range. */
const char *quorum_odown_reason_to_string(quorum_odown_reason r);

/* Parses the names above; _QUORUM_ODOWN_INVALID when unknown or NULL. */
quorum_odown_reason quorum_odown_reason_from_string(const char *s);

/* A peer's latest opinion about one cluster (peer-proto OPINION). */
typedef struct quorum_opinion {
        const char *sentinel;      /* the peer's name */
        const char *primary;       /* the primary it believes in; NULL: none */
        bool sdown;                /* it sees that primary SDOWN */
        uint64_t received_usec;    /* when this sentinel received it (CLOCK_MONOTONIC) */
        unsigned replica_evidence; /* replicas it sees whose IO thread still reads from that primary */
} quorum_opinion;

typedef struct quorum_odown_input {
        const char *self;               /* this sentinel's name */
        const char *primary;            /* the primary it knows for the cluster; NULL: none */
        bool sdown;                     /* it sees that primary SDOWN (sdown_is_down()) */
        unsigned replica_evidence;      /* its replicas whose IO thread is connected to the primary */
        const quorum_opinion *opinions; /* the peers' latest; of two with one name the later counts */
        size_t n_opinions;
        unsigned quorum;      /* cluster_conf.quorum, at least 1 */
        uint64_t window_usec; /* an opinion counts while now_usec - received_usec <= window_usec */
        uint64_t now_usec;
} quorum_odown_input;

typedef struct quorum_odown_result {
        bool odown;
        quorum_odown_reason reason;
        size_t count;         /* sentinels, self included, reporting SDOWN for the primary in the window */
        char **agree;         /* their names, this sentinel first: count of them, NULL-terminated */
        unsigned evidence;    /* replicas seen reading from the primary: ours plus fresh peers' */
        size_t stale;         /* SDOWN opinions about the primary ignored as older than the window */
        size_t other_primary; /* fresh opinions ignored because they are about another primary */
        char *text;           /* one line for humans */
} quorum_odown_result;

/* Whether the cluster's primary is objectively down: this sentinel sees it SDOWN itself, at least
 * quorum sentinels (self included) report SDOWN for that same primary within the window, and no
 * replica's IO thread is still connected to it (ours, or in a fresh opinion of a peer about that
 * primary). Reasons in that order after NO_PRIMARY. 0 and *ret (free it with
 * quorum_odown_result_done()), -EINVAL (no input, quorum 0), -ENOMEM. */
int quorum_odown(const quorum_odown_input *in, quorum_odown_result *ret);

/* Frees what a result owns; NULL-safe. */
void quorum_odown_result_done(quorum_odown_result *r);

/* The result and its inputs as JSON for the audit log and `sentinelctl why`: {odown, reason, text,
 * primary, count, quorum, agree [...], evidence, stale, other_primary, window_ms}. 0, -EINVAL, -ENOMEM. */
int quorum_odown_to_json(const quorum_odown_result *r, const quorum_odown_input *in, json_object **ret);

/* ---- votes (sentinel.pml: CAN_GRANT(), grant(), start_election()) ---- */

typedef enum quorum_vote_verdict {
        QUORUM_VOTE_GRANTED,         /* a new vote: persist it, then reply (see quorum_vote_decide()) */
        QUORUM_VOTE_GRANTED_AGAIN,   /* the vote already given to this candidate in this epoch, re-sent */
        QUORUM_VOTE_STALE,           /* the epoch is below our current epoch */
        QUORUM_VOTE_ALREADY_VOTED,   /* our vote in that epoch went to another candidate */
        QUORUM_VOTE_CONFIG_MISMATCH, /* about another cluster, or another primary than the one we know */
        QUORUM_VOTE_NOT_ODOWN,       /* we do not ourselves see that primary ODOWN */
        QUORUM_VOTE_BAD_REQUEST,     /* no cluster, candidate or primary, or an epoch above the maximum */
        QUORUM_VOTE_BUSY,            /* another run of the cluster may be going on (not the last vote's candidate) */
        _QUORUM_VOTE_MAX,
        _QUORUM_VOTE_INVALID = -EINVAL,
} quorum_vote_verdict;

/* "GRANTED", "GRANTED_AGAIN", "STALE", "ALREADY_VOTED", "CONFIG_MISMATCH", "NOT_ODOWN",
 * "BAD_REQUEST", "BUSY"; NULL when out of range. */
const char *quorum_vote_verdict_to_string(quorum_vote_verdict v);

/* Parses the names above; _QUORUM_VOTE_INVALID when unknown or NULL. */
quorum_vote_verdict quorum_vote_verdict_from_string(const char *s);

/* Whether v grants the vote (GRANTED or GRANTED_AGAIN). */
bool quorum_vote_is_granted(quorum_vote_verdict v);

/* What an election is for (peer-proto VOTE_REQUEST's kind). Only FAILOVER asks the voter to see the
 * primary ODOWN itself; the operator's kinds keep every other rule of quorum_vote_decide(): one vote per
 * epoch, persisted before the reply, never below the current epoch, and about the primary the voter
 * knows (CONFIG_MISMATCH otherwise). Every kind is denied while another run of the cluster may be
 * going on (BUSY), except to the candidate of the voter's last vote, which asks anew: a second leader
 * of a newer epoch would act on what the first is changing: two switchovers asked of two sentinels at
 * once, or two failovers, one leader slow and a second elected by voters that still see ODOWN, each
 * promoting another candidate. (sentinel.pml has one promotable standby and so cannot show the
 * latter: BUSY only removes grants, which keeps every property it checks.) Their leader's own pre-checks decide whether the operator's action
 * may run (switchover-check.h, failover-decide.h); a voter does not second-guess them (it does not, for
 * example, deny a SWITCHOVER because it sees the primary SDOWN: the leader's fence finds out).
 *
 * Safety. (1) one leader per epoch and (2) one promotion per epoch do not depend on ODOWN: a grant
 * needs the other terms of sentinel.pml's CAN_GRANT() only, so the model's proof covers every kind. (3)
 * never two writable primaries does: a voter of a FAILOVER has failed to reach the primary for
 * down_after_ms, longer than self_fence_after_ms, so the primary's zone sentinel has fenced it before
 * any promotion (see the top). A voter of an operator's kind may still reach the primary and has
 * confirmed it until it voted (a vote suspends its confirmations), so the leader of an operator's run
 * keeps (3) itself: a SWITCHOVER promotes only after its own fence of the old primary succeeded; a
 * FORCED failover whose fence did not reach the old primary waits self_fence_after_ms after winning the
 * election (the time the zone sentinel needs once a majority stopped confirming) before it promotes
 * (sentinel/failover-op.c). The model does not include operator elections. */
typedef enum quorum_vote_kind {
        QUORUM_VOTE_KIND_FAILOVER,   /* "failover": automatic, or the operator's unforced failover */
        QUORUM_VOTE_KIND_SWITCHOVER, /* "switchover": the operator's planned switchover */
        QUORUM_VOTE_KIND_FORCED,     /* "forced": the operator's failover --force */
        _QUORUM_VOTE_KIND_MAX,
        _QUORUM_VOTE_KIND_INVALID = -EINVAL,
} quorum_vote_kind;

/* "failover", "switchover", "forced" (peer-payload.h's PEER_VOTE_KIND_*); NULL when out of range. */
const char *quorum_vote_kind_to_string(quorum_vote_kind k);

/* Parses the names above; _QUORUM_VOTE_KIND_INVALID when unknown or NULL. */
quorum_vote_kind quorum_vote_kind_from_string(const char *s);

/* "Vote for candidate in epoch: primary of cluster failed" (peer-proto VOTE_REQUEST); of a switchover,
 * "...: hand primary over". */
typedef struct quorum_vote_request {
        const char *cluster;
        uint64_t epoch;
        const char *candidate; /* the requesting sentinel */
        const char *primary;   /* the primary it says failed, or hands over */
        quorum_vote_kind kind; /* 0 (zero-initialised): FAILOVER, the strictest */
} quorum_vote_request;

/* What this sentinel knows when asked. */
typedef struct quorum_vote_input {
        const char *cluster;             /* the cluster this is about */
        uint64_t current_epoch;          /* state_get_epoch() */
        uint64_t last_vote_epoch;        /* state_last_vote(): the newest vote's epoch... */
        const char *last_vote_candidate; /* ...and candidate; NULL: never voted */
        const char *primary;             /* the primary known for the cluster; NULL: none */
        bool odown;                      /* quorum_odown() says that primary is ODOWN */
        bool busy; /* a run of the cluster may be going on: this sentinel runs one, or it voted for another
                    * candidate in an epoch above its configuration's less than failover.timeout_ms ago
                    * and that candidate has not said it settled that epoch (its OPINION's settled_epoch) */
} quorum_vote_input;

/* Whether to grant req, checked in this order: BAD_REQUEST (also an unknown kind); STALE (epoch below
 * the current epoch); in the epoch of our last vote, GRANTED_AGAIN to the same candidate (an idempotent
 * re-send; nothing new to persist, ODOWN not asked again: the vote was given) or else ALREADY_VOTED;
 * CONFIG_MISMATCH; BUSY (another run may be going on and the candidate is not that of our last vote: a
 * second run started while one is going on, in an older epoch, would act on what that one changes); NOT_ODOWN (kind
 * FAILOVER only: the operator's kinds grant without ODOWN, see quorum_vote_kind); else GRANTED: at most one vote per epoch, never below the current epoch. A
 * candidate asks this of its own request first (always GRANTED for current_epoch + 1).
 *
 * The caller records a GRANTED vote (state_record_vote(), which also raises the current epoch) and
 * persists it (state_save(), which fsyncs) BEFORE it sends the reply; when saving fails it sends a
 * denial or nothing. Otherwise a crash after the reply would let the restarted sentinel vote again in
 * the same epoch, and two leaders could be elected (sentinel.pml, MUTANT_VOTE_TWICE). */
quorum_vote_verdict quorum_vote_decide(const quorum_vote_request *req, const quorum_vote_input *in);

/* One line about the verdict for the audit log. 0 and a new string, -EINVAL, -ENOMEM. */
int quorum_vote_describe(
        const quorum_vote_request *req, const quorum_vote_input *in, quorum_vote_verdict v, char **ret);

/* The verdict, request and inputs as JSON: {verdict, granted, text, request {cluster, epoch,
 * candidate, primary, kind}, inputs {current_epoch, last_vote_epoch, last_vote_candidate, primary, odown,
 * busy}}.
 * 0, -EINVAL, -ENOMEM. */
int quorum_vote_to_json(const quorum_vote_request *req, const quorum_vote_input *in, quorum_vote_verdict v,
        json_object **ret);

/* ---- the tally (sentinel.pml: CAN_WIN(), got_vote()) ---- */

/* A reply to our vote request (peer-proto VOTE_REPLY); our own vote is one from ourselves. */
typedef struct quorum_vote_reply {
        const char *voter;
        uint64_t epoch;
        bool granted;
        const char *candidate; /* whom the voter's vote in that epoch went to (NULL when unknown) */
} quorum_vote_reply;

typedef struct quorum_tally_result {
        bool won;
        size_t count;  /* distinct configured voters that granted self in epoch */
        size_t needed; /* quorum_majority(n_sentinels) */
        size_t denied; /* distinct configured voters that denied (and did not also grant) */
} quorum_tally_result;

/* Counts the grants for self in epoch: each configured sentinel (self included, listed in sentinels)
 * once however often its reply arrived; replies for another epoch or candidate, and from names not
 * configured, do not count. A grant, being persisted, outweighs a denial from the same voter. won:
 * count >= a majority of ALL configured sentinels, not of those reachable. 0 and *ret; -EINVAL when
 * self is not among sentinels, a name is NULL or repeated, or an argument is missing; -ENOMEM. */
int quorum_tally(const char *self, uint64_t epoch, const char *const *sentinels, size_t n_sentinels,
        const quorum_vote_reply *replies, size_t n_replies, quorum_tally_result *ret);

/* ---- retrying an election ---- */

/* The wait before election attempt `attempt` (0 first) after a failed one: base_usec * (1 +
 * min(attempt, QUORUM_RETRY_ATTEMPTS_CAP)) plus a jitter in [0, base_usec) taken from random_u32
 * (uniform), so that two candidates that collided do not collide forever; saturates at UINT64_MAX.
 * (sentinel.pml lets a candidate retry at any later point, which covers every delay.) */
uint64_t quorum_retry_delay_usec(uint64_t base_usec, unsigned attempt, uint32_t random_u32);

/* ---- configuration (sentinel.pml: adopt_config()) ---- */

typedef enum quorum_config_order {
        QUORUM_CONFIG_OLDER,    /* below the known epoch: ignore it */
        QUORUM_CONFIG_SAME,     /* the known epoch and primary */
        QUORUM_CONFIG_NEWER,    /* a higher epoch (or nothing known yet): adopt and persist it */
        QUORUM_CONFIG_CONFLICT, /* the known epoch with another primary: two leaders in one epoch */
        _QUORUM_CONFIG_MAX,
        _QUORUM_CONFIG_INVALID = -EINVAL,
} quorum_config_order;

/* "older", "same", "newer", "conflict"; NULL when out of range. */
const char *quorum_config_order_to_string(quorum_config_order o);

/* Parses the names above; _QUORUM_CONFIG_INVALID when unknown or NULL. */
quorum_config_order quorum_config_order_from_string(const char *s);

/* How an announced configuration (epoch, primary) compares with the known one (known_primary NULL:
 * none known, then anything is NEWER): the highest epoch wins. A CONFLICT keeps the known one and is
 * to be reported loudly: with one leader per epoch it cannot happen. _QUORUM_CONFIG_INVALID when
 * primary is NULL or an epoch is above QUORUM_EPOCH_MAX. */
quorum_config_order quorum_config_newer(
        uint64_t known_epoch, const char *known_primary, uint64_t epoch, const char *primary);

/* ---- self-fencing (sentinel.pml: CONFIRMS(), LEASE, SILENT, FENCE_DUE, LIFT_OK, hello_recv(),
 * restart()) ---- */

/* The time since which a majority has kept confirming (see the top of this file): the majority-th
 * latest of the n last confirmation times (this sentinel's own included as now_usec while it
 * confirms the primary itself; QUORUM_NEVER for a sentinel that has not confirmed since this one
 * started). 1 and *ret_usec; 0 when fewer than majority ever confirmed (then never heard); -EINVAL
 * when majority is 0 or above n; -ENOMEM. */
int quorum_majority_heard_usec(
        const uint64_t *confirmed_usec, size_t n, size_t majority, uint64_t *ret_usec);

typedef enum quorum_fence_action {
        QUORUM_FENCE_KEEP,  /* change nothing */
        QUORUM_FENCE_FENCE, /* set the primary read_only=ON and kill its client connections */
        QUORUM_FENCE_LIFT,  /* set it writable again */
        _QUORUM_FENCE_ACTION_MAX,
        _QUORUM_FENCE_ACTION_INVALID = -EINVAL,
} quorum_fence_action;

typedef enum quorum_fence_reason {
        QUORUM_FENCE_NOT_PRIMARY_ZONE, /* KEEP: the primary is not in this sentinel's zone */
        QUORUM_FENCE_MAJORITY_HEARD,   /* KEEP: a majority confirmed within self_fence_after_ms */
        QUORUM_FENCE_MAJORITY_SILENT,  /* FENCE: no majority confirmed for self_fence_after_ms */
        QUORUM_FENCE_NEVER_HEARD,      /* FENCE: no majority confirmed since this sentinel started */
        QUORUM_FENCE_NOT_CONFIRMED,    /* KEEP fenced: no majority confirms it now */
        QUORUM_FENCE_CONFIRMED,        /* LIFT: a majority confirms it again in the current epoch */
        _QUORUM_FENCE_REASON_MAX,
        _QUORUM_FENCE_REASON_INVALID = -EINVAL,
} quorum_fence_reason;

/* "keep", "fence", "lift"; NULL when out of range. */
const char *quorum_fence_action_to_string(quorum_fence_action a);

/* Parses the names above; _QUORUM_FENCE_ACTION_INVALID when unknown or NULL. */
quorum_fence_action quorum_fence_action_from_string(const char *s);

/* "NOT_PRIMARY_ZONE", "MAJORITY_HEARD", "MAJORITY_SILENT", "NEVER_HEARD", "NOT_CONFIRMED",
 * "CONFIRMED"; NULL when out of range. */
const char *quorum_fence_reason_to_string(quorum_fence_reason r);

/* Parses the names above; _QUORUM_FENCE_REASON_INVALID when unknown or NULL. */
quorum_fence_reason quorum_fence_reason_from_string(const char *s);

typedef struct quorum_fence_input {
        const char *zone;             /* this sentinel's */
        const char *primary_zone;     /* the primary's; NULL: it has none, nobody self-fences */
        bool majority_heard;          /* false: no majority confirmed since this sentinel started */
        uint64_t majority_heard_usec; /* else quorum_majority_heard_usec() */
        uint64_t now_usec;
        uint64_t self_fence_after_ms;
        bool fenced;            /* the primary is self-fenced now */
        bool majority_confirms; /* a majority confirms this server as primary in the current epoch now */
} quorum_fence_input;

typedef struct quorum_fence_decision {
        quorum_fence_action action;
        quorum_fence_reason reason;
        uint64_t silent_usec;   /* since the majority was last heard; UINT64_MAX: never heard */
        uint64_t deadline_usec; /* when to fence if nothing is heard (for a timer); UINT64_MAX: none */
} quorum_fence_decision;

/* Whether the sentinel in the primary's zone fences, keeps, or lifts the fence. Not the primary's
 * zone: KEEP. Fenced: LIFT only when a majority confirms the primary in the current epoch and it was
 * heard within self_fence_after_ms, else KEEP. Not fenced: FENCE at or after majority_heard_usec +
 * self_fence_after_ms (inclusive; a time in the future counts as now), or at once when never heard
 * (a restarted sentinel cannot know how long it has been cut off), else KEEP with the deadline. A
 * restart thus fences until a majority confirms again, normally one HELLO round later; the
 * alternative, trusting the peers at restart, lets two primaries be writable (sentinel.pml,
 * MUTANT_RESTART_HEARD). */
quorum_fence_decision quorum_self_fence(const quorum_fence_input *in);

/* One line about the decision for the log and `sentinelctl why`. 0 and a new string, -EINVAL, -ENOMEM. */
int quorum_fence_describe(const quorum_fence_input *in, const quorum_fence_decision *d, char **ret);

/* The decision and its inputs as JSON: {action, reason, text, silent_ms (null: never heard),
 * deadline_ms_left (null: none), inputs {zone, primary_zone, fenced, majority_confirms,
 * self_fence_after_ms}}. 0, -EINVAL, -ENOMEM. */
int quorum_fence_to_json(const quorum_fence_input *in, const quorum_fence_decision *d, json_object **ret);
