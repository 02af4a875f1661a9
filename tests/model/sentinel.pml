/* A model of the sentinels' agreement rules (lib/core/quorum.c; SPEC 1, 5.2, 5.3, 5.5; issue 5),
 * checked by spin in `meson test model` (tests/model/test-model.sh).
 *
 * Three sentinels, one per zone: S0 in zone a, which holds the primary P0, S1 in zone b, S2 in zone
 * c. P1 is the one promotable standby. Each part below that names a function of lib/core/quorum.c
 * models that function; quorum.c points back here.
 *
 * Properties, all safety, checked exhaustively (no bound on time, messages or restarts; epochs up
 * to EMAX):
 *   (1) at most one leader per epoch                        assert in got_vote()
 *   (2) at most one promotion per epoch                     assert in promote()
 *   (3) never two unfenced writable primaries: whenever P1 has been promoted, P0 has crashed or is
 *       read-only (the monitor process). This is stricter than "once self_fence_after has
 *       passed": since SFA < DA, the zone-a sentinel fences before any promotion is possible.
 *   With one promotion per epoch there is one configuration per epoch, so quorum_config_newer()'s
 *   CONFLICT cannot happen; here every configuration names P1, so (2) is what checks that.
 *
 * Messages. A vote request (peer-proto VOTE_REQUEST) says "c asks for votes in epoch E because P0
 * failed": it is sent once c has voted for itself in E and persisted that, and its content never
 * changes afterwards. A granted vote reply says "j voted for c in E": sent once j persisted that
 * vote, which never changes either. A configuration (CONFIG) says "P1 is primary from epoch E": one
 * per epoch, by its leader, persisted before it is sent. So every message ever sent is determined
 * by facts in the persisted state (grants[], announced()), and receiving one means: at any point
 * after it was sent, any number of times, or never. The model lets each receiver do exactly that
 * with any message that exists, which is message loss, duplication, any delay and any reordering,
 * with no network state. The one message whose meaning depends on when it was sent, a peer's
 * confirmation of P0 to S0 (HELLO), travels in hs[]: the latest one per peer in flight, which may be
 * delivered (and kept for a duplicate, also after S0 restarted) or lost; a newer one replaces it
 * (the peer protocol's replay check drops an older message arriving after a newer one).
 *
 * The daemon side of the confirmations and the fence is sentinel/daemon-fence.c. It adds two things
 * this model does not check: a sentinel that voted beyond the configuration's epoch confirms again
 * after 2 x failover.timeout_ms when no newer configuration arrived (else a failed election would
 * keep P0 fenced forever; it relies on a leader's run ending within its timeout, which the model,
 * where a leader may promote at any later time, does not bound), and the lease of a primary just
 * promoted (here only P0's lease is modelled).
 *
 * Crash-restart, at any point, of any sentinel, any number of times: it keeps what it persisted
 * with fsync (current epoch, its votes, the configuration: lib/io/state.c) and loses everything
 * volatile (probe results, a candidacy or leadership, the confirmations it heard). The primary P0
 * may crash, for good. "P0 looks down to sentinel i" is free for S1 and S2 (a partition, or a real
 * failure); S0 shares P0's zone and sees it down only when it has crashed: a primary cut off from
 * every sentinel while its clients still reach it cannot be fenced by anyone (the documented limit,
 * SPEC 1).
 *
 * Time: a tick may happen at any point. down_after is DA ticks, self_fence_after SFA ticks, SFA < DA
 * as config-check.c requires. Times are kept relative (how long a sentinel's probes have failed,
 * capped at DA; how much of a confirmation's lease is left, also while it is in flight), so there
 * is no clock and runs of any length are covered. A tick cannot pass while S0's self-fence is due:
 * the sentinel's timer fires at the deadline (the real bound adds the timer's slack and one SET
 * GLOBAL read_only).
 *
 * Operator elections. A vote request names its kind (quorum_vote_kind): only a failover's voters ask
 * for ODOWN; the operator's switchover and forced failover are granted without it (and denied BUSY
 * while another run may be going on), and are not modelled. (1) and (2) hold for them all the same:
 * they rest on CAN_GRANT()'s other terms (one persisted vote per epoch, never below the current
 * epoch), which every kind keeps. (3) rests on ODOWN through the voters' own SDOWN, so an operator's
 * leader keeps it itself (quorum.h): a switchover promotes only after it fenced P0 itself, and a
 * forced failover that could not fence P0 waits self_fence_after (SFA) after its election, by when no
 * majority confirms P0 (its voters stopped at their vote) and S0 has fenced it (FENCE_DUE).
 *
 * Over-approximations (sound for safety: they allow more, never less): ODOWN is this sentinel's own
 * SDOWN (the quorum of opinions within a window and replica evidence only withhold ODOWN;
 * test-quorum.c checks them); a sentinel that may act need not; a candidate may retry at any later
 * point, which covers every randomised delay of quorum_retry_delay_usec().
 *
 * Mutants (test-model.sh checks that spin finds a violation in each, so the checks are not vacuous;
 * the last one, slow to find, only with MODEL_ALL_MUTANTS=1):
 *   MUTANT_VOTE_TWICE    a sentinel grants a second vote in an epoch it already voted in      (1)
 *   MUTANT_HEARD_ANY     S0's lease is renewed by any HELLO, not only by a confirmation        (3)
 *   MUTANT_RESTART_HEARD a restarted S0 counts its peers as heard                              (3)
 *   MUTANT_NO_OWN_SDOWN  a voter grants on its peers' SDOWN alone, without its own              (3) */

#define NS   3 /* sentinels */
#define MAJ  2 /* quorum_majority(3): a majority of ALL configured sentinels */
#define EMAX 2 /* the highest epoch modelled: elections for epochs 1 and 2 */
#define DA   2 /* probe.down_after, in ticks */
#define SFA  1 /* fencing.self_fence_after, in ticks: SFA < DA */

#define P0 0 /* the primary, zone a */
#define P1 1 /* the standby */

/* the probe state of P0 as one sentinel sees it (sdown.c's tracker, reduced) */
#define UNKNOWN 0 /* no result since (re)start */
#define OK      1
#define FAILING 2

/* a sentinel's part in an election (volatile) */
#define NONE   0
#define CAND   1 /* a candidate in its current epoch (it voted for itself there) */
#define LEADER 2 /* elected in its current epoch, not yet promoted */

bool alive0 = true; /* P0 runs */
bool ro0 = false;   /* P0 is read-only (fenced) */
bool ro1 = true;    /* P1 is read-only (a replica until promoted) */

/* persisted by each sentinel (lib/io/state.c: fsync before any message that depends on it) */
byte epoch[NS];                 /* current epoch */
byte grants[NS * (EMAX + 1)];   /* grants[j * (EMAX + 1) + E]: bit c set when j voted for c in E */
byte cfg_e[NS];                 /* the configuration: epoch and primary */
bit cfg_p[NS];

/* volatile, lost on restart */
byte pst[NS];  /* UNKNOWN, OK, FAILING */
byte age[NS];  /* FAILING for this many ticks, capped at DA; 0 otherwise */
byte role[NS]; /* NONE, CAND, LEADER */
byte rem[NS];  /* at S0: rem[j], what is left of the lease of j's latest confirmation */

/* HELLOs from S1 (hs[1]) and S2 (hs[2]) to S0 in flight; 0: none. The sender's configuration epoch
 * (ce) and, when it confirmed P0 as the live primary of its current epoch, the lease that gives
 * (rem: SFA when sent, counting down with the ticks in flight; 0: no confirmation). */
byte hs[NS];
#define HPACK(CE, REM) (1 | ((CE) << 1) | ((REM) << 3))
#define H_CE(x) (((x) >> 1) & 3)
#define H_REM(x) (((x) >> 3) & 3)

/* ghosts, for the properties */
byte leader_of[EMAX + 1];  /* 1 + the leader of each epoch, 0: none */
byte promotions[EMAX + 1]; /* promotions in each epoch; one is the announced configuration */

#define MAX2(a, b) ((a) > (b) -> (a) : (b))
#define MIN2(a, b) ((a) < (b) -> (a) : (b))
#define GRANTS(j, E) grants[(j) * (EMAX + 1) + (E)]
#define VOTED(j, E) (GRANTS(j, E) != 0)
#define VOTED_FOR(j, E, c) ((GRANTS(j, E) >> (c)) & 1)

/* SDOWN (sdown.c): every probe failed for down_after (inclusive). */
#define SDOWN(i) (pst[i] == FAILING && age[i] >= DA)

/* quorum_odown(), over-approximated: SDOWN here, for the primary this sentinel knows. */
#ifndef MUTANT_NO_OWN_SDOWN
#define ODOWN(i) (SDOWN(i) && cfg_p[i] == P0)
#else
#define ODOWN(i) ((SDOWN(0) || SDOWN(1) || SDOWN(2)) && cfg_p[i] == P0)
#endif

/* What a sentinel confirms (quorum.h, "Confirmations"): its probes of its primary succeed and it has
 * not moved to an epoch above its configuration's (by voting in a newer election). */
#define CONFIRMS(i) (pst[i] == OK && epoch[i] == cfg_e[i] && cfg_p[i] == P0)

/* quorum_majority_heard_usec() at S0 as a lease: what is left after the MAJ-th (2nd) latest
 * confirmation of P0 as the primary of S0's current configuration, S0's own included (a full SFA
 * while it confirms P0 itself). 0: silent, also when fewer than MAJ confirmed since S0 started. */
#define SELF_REM (CONFIRMS(0) -> SFA : 0)
#define LEASE MAX2(MIN2(SELF_REM, rem[1]), MIN2(MAX2(SELF_REM, rem[1]), rem[2]))
#define SILENT (LEASE == 0)

/* quorum_self_fence(): only the sentinel in the primary's zone (S0, while its configuration says P0)
 * fences: FENCE once no majority confirmed for self_fence_after (MAJORITY_SILENT), or none did since
 * it started (NEVER_HEARD); LIFT only when a majority again confirms P0 in the current epoch. */
#define S0_ZONE (cfg_p[0] == P0)
#define FENCE_DUE (S0_ZONE && alive0 && !ro0 && SILENT)
#define LIFT_OK (S0_ZONE && alive0 && ro0 && !SILENT)

/* ---- time ---- */

inline tick() {
        age[0] = MIN2(age[0] + (pst[0] == FAILING), DA);
        age[1] = MIN2(age[1] + (pst[1] == FAILING), DA);
        age[2] = MIN2(age[2] + (pst[2] == FAILING), DA);
        rem[1] = MAX2(rem[1], 1) - 1;
        rem[2] = MAX2(rem[2], 1) - 1;
        hs[1] = (H_REM(hs[1]) > 0 -> hs[1] - (1 << 3) : hs[1]);
        hs[2] = (H_REM(hs[2]) > 0 -> hs[2] - (1 << 3) : hs[2])
}

/* ---- one sentinel's steps ---- */

/* Moves sentinel j to epoch E (by a vote or a newer configuration): a candidacy or a leadership of
 * an older epoch ends there. */
inline raise_epoch(j, E) {
        if
        :: epoch[j] < E ->
                epoch[j] = E;
                role[j] = NONE
        :: else -> skip
        fi
}

/* A sentinel seeing ODOWN asks for votes for epoch + 1, first voting for itself (quorum_vote_decide()
 * on its own request: GRANTED, epoch + 1 is above anything it voted in) and persisting that vote,
 * which sends the request (see the top). A retry is the same in the next epoch. */
#define CAN_ELECT(i) (ODOWN(i) && epoch[i] < EMAX)
inline start_election(i) {
        epoch[i] = epoch[i] + 1;
        GRANTS(i, epoch[i]) = 1 << (i);
        role[i] = CAND
}

/* quorum_vote_decide() at sentinel j on c's request for epoch E (about P0, the only primary that
 * fails here): STALE below the current epoch; in an epoch already voted in: GRANTED_AGAIN to the same
 * candidate (its reply exists already: nothing changes) or ALREADY_VOTED; CONFIG_MISMATCH when j's
 * configuration names another primary; NOT_ODOWN unless j sees ODOWN itself; else GRANTED: persisted,
 * epoch raised to E, which sends the reply. */
#define REQUESTED(c, E) VOTED_FOR(c, E, c) /* c asked for votes in E */
#ifndef MUTANT_VOTE_TWICE
#define NOT_VOTED(j, E, c) (!VOTED(j, E))
#else
#define NOT_VOTED(j, E, c) (!VOTED_FOR(j, E, c)) /* only the same vote counts as given */
#endif
#define CAN_GRANT(j, c, E)                                                                         \
        (REQUESTED(c, E) && E >= epoch[j] && NOT_VOTED(j, E, c) && cfg_p[j] == P0 && ODOWN(j))
inline grant(j, c, E) {
        GRANTS(j, E) = GRANTS(j, E) | (1 << (c));
        raise_epoch(j, E)
}

/* quorum_tally(): a candidate leads with grants from MAJ distinct sentinels, its own included; with
 * three sentinels, its own and any other's (a duplicate grant changes nothing). */
#define CAN_WIN(c, j) (role[c] == CAND && VOTED_FOR(j, epoch[c], c))
inline got_vote(c) {
        role[c] = LEADER;
        assert(leader_of[epoch[c]] == 0 || leader_of[epoch[c]] == c + 1); /* (1) */
        leader_of[epoch[c]] = c + 1
}

/* The leader fences P0 where it reaches it, promotes P1 once, and persists and announces the new
 * configuration; it stops when a newer epoch reached it meanwhile (raise_epoch()). */
#define CAN_PROMOTE(i) (role[i] == LEADER && cfg_p[i] == P0)
inline promote(i, fenced_it) {
        if
        :: fenced_it -> ro0 = true
        :: else -> skip
        fi;
        ro1 = false;
        promotions[epoch[i]]++;
        assert(promotions[epoch[i]] <= 1); /* (2) */
        cfg_e[i] = epoch[i];
        cfg_p[i] = P1;
        role[i] = NONE
}

/* quorum_config_newer() at j for the configuration announced in epoch E: NEWER is adopted (and
 * persisted) before acting on anything else; SAME and OLDER change nothing (so they are not steps). */
#define ANNOUNCED(E) (promotions[E] > 0)
inline adopt_config(j, E) {
        cfg_e[j] = E;
        cfg_p[j] = P1;
        raise_epoch(j, E)
}

/* A HELLO from i (1 or 2) to S0: whether it confirms P0 (with the lease left), and the sender's
 * configuration epoch. */
inline hello(i) {
        hs[i] = HPACK(cfg_e[i], SFA * CONFIRMS(i))
}

/* The HELLO from i at S0: a confirmation for quorum_majority_heard_usec() when it is about S0's
 * configuration (its configuration itself arrives as above). */
inline hello_recv(i) {
#ifndef MUTANT_HEARD_ANY
        if
        :: H_CE(hs[i]) == cfg_e[0] && cfg_p[0] == P0 -> rem[i] = MAX2(rem[i], H_REM(hs[i]))
        :: else -> skip
        fi
#else
        rem[i] = SFA
#endif
}

/* A crash and restart: what was persisted stays, the rest is gone. */
inline restart(i) {
        pst[i] = UNKNOWN;
        age[i] = 0;
        role[i] = NONE;
        if
        :: (i) == 0 ->
#ifndef MUTANT_RESTART_HEARD
                rem[1] = 0; /* NEVER_HEARD */
                rem[2] = 0
#else
                rem[1] = SFA;
                rem[2] = SFA
#endif
        :: else -> skip
        fi
}

/* Probes: S0 sees P0 as it is; S1 and S2 may see it down while it runs. */
#define PROBE_OK(i) (alive0 && pst[i] != OK)
#define PROBE_FAIL(i) ((!alive0 || (i) != 0) && pst[i] != FAILING)

/* The steps of sentinel i; j and k are the other two. */
#define SENTINEL(i, j, k)                                                                          \
        :: atomic { PROBE_OK(i) -> pst[i] = OK; age[i] = 0 }                                       \
        :: atomic { PROBE_FAIL(i) -> pst[i] = FAILING; age[i] = 0 }                                \
        :: atomic { CAN_ELECT(i) -> start_election(i) }                                            \
        :: atomic { CAN_GRANT(i, j, 1) -> grant(i, j, 1) }                                         \
        :: atomic { CAN_GRANT(i, j, 2) -> grant(i, j, 2) }                                         \
        :: atomic { CAN_GRANT(i, k, 1) -> grant(i, k, 1) }                                         \
        :: atomic { CAN_GRANT(i, k, 2) -> grant(i, k, 2) }                                         \
        :: atomic { CAN_WIN(i, j) || CAN_WIN(i, k) -> got_vote(i) }                                \
        :: atomic { CAN_PROMOTE(i) -> promote(i, alive0) }                                         \
        :: atomic { CAN_PROMOTE(i) && (i) != 0 -> promote(i, false) }                              \
        :: atomic { CAN_PROMOTE(i) && alive0 && !ro0 -> ro0 = true }                               \
        :: atomic { ANNOUNCED(1) && cfg_e[i] < 1 -> adopt_config(i, 1) }                           \
        :: atomic { ANNOUNCED(2) && cfg_e[i] < 2 -> adopt_config(i, 2) }                           \
        :: atomic { skip; restart(i) }

active proctype world() {
        do
        /* time; a tick waits for a self-fence that is due */
        :: atomic { !FENCE_DUE -> tick() }
        :: atomic { alive0 -> alive0 = false }

        /* probes, elections, votes, the tally, the leader's promotion (whether it reaches P0 to
         * fence it is free but for S0; it may also fence and die before it promotes),
         * configurations, crash-restart */
        SENTINEL(0, 1, 2)
        SENTINEL(1, 2, 0)
        SENTINEL(2, 0, 1)

        /* HELLOs to S0: sent, delivered (and removed), delivered as a duplicate (and kept), lost */
        :: atomic { skip; hello(1) }
        :: atomic { skip; hello(2) }
        :: atomic { hs[1] != 0 -> hello_recv(1); hs[1] = 0 }
        :: atomic { hs[2] != 0 -> hello_recv(2); hs[2] = 0 }
        :: atomic { hs[1] != 0 -> hello_recv(1) }
        :: atomic { hs[2] != 0 -> hello_recv(2) }
        :: atomic { hs[1] != 0 -> hs[1] = 0 }
        :: atomic { hs[2] != 0 -> hs[2] = 0 }

        /* self-fencing by S0 (zone a) */
        :: atomic { FENCE_DUE -> ro0 = true }
        :: atomic { LIFT_OK -> ro0 = false }
        od
}

/* (3): never P0 and P1 both writable (running, not read-only) at once. */
active proctype monitor() {
        atomic { (alive0 && !ro0 && !ro1) -> assert(!(alive0 && !ro0 && !ro1)) }
}
