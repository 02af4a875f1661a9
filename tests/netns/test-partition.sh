#!/usr/bin/env bash
# Partitions, crashes and flapping links between three availability zones (SPEC 1 and 5; issue 5,
# "Partition tests in network namespaces"). Everything runs in network namespaces this script creates
# (the setup is tests/netns/az-lib.sh, shared with tests/soak/soak.sh):
# AZ namespaces a, b, c, each joined by a veth pair to a Linux bridge in a fourth, bridge namespace, on
# 10.231.0.0/16 (AZ n: the sentinel on 10.231.n.10, mariadbd on 10.231.n.20:3306; named on 10.231.0.1
# in the bridge namespace). Each AZ runs one real mariadb-sentinel (quorum 2 of 3) and one mariadbd of
# a semi-sync harness cluster: db-a primary, db-b replica, db-c replica with promotable = false. The
# cluster's DNS endpoint is a real named with a TSIG-signed dynamic zone. Links are cut with nftables
# rules inside the AZ namespaces. A checker (partition-checker.py) samples every 50 ms which servers are
# writable (over their unix sockets, which no partition cuts) and what the DNS name answers at named,
# into a timeline the scenarios assert on.
#
# The setup is made once; the scenarios run in this order, each leaving a healthy cluster (all three
# sentinels agree, every peer reachable) for the next. Check lines carry the issue's scenario number:
#   [8] a forged frame (wrong key) and a replayed one (an old boot of a real peer) sent to s-a:
#       rejected and counted (log lines, and status peers[].rejected where the status has it); no
#       epoch, primary or failover changes anywhere.
#   [3] AZ c isolated for 4 s: no failover anywhere, db-a writable in every sample.
#   [4] only s-a's path to db-a cut for 4 s (s-a sees it SDOWN): no failover (quorum 2), db-a writable
#       in every sample.
#   [6] the link between AZ a and AZ b down and up every second for 30 s: a majority (a and c) always
#       reaches db-a: no failover, db-a writable in every sample.
#   [2] AZ a isolated: s-a fences db-a within self_fence_after_ms + 500 ms, db-b is promoted, never
#       two writable servers in one sample; healed: db-a stays read-only and rejoins as a replica of
#       db-b (or is refused as diverged, when its data says so). (The servers run with
#       slave_net_timeout = 2 s: see the cluster's setup.)
#   [1] kill -9 the primary (db-b): exactly one successful failover-run across the three audit logs,
#       epoch +1 on every sentinel, all agree on primary and epoch; the name answers the new primary;
#       db-b restarted rejoins as a replica.
#   [7] a sentinel that voted in [1] is killed and restarted, and (while the third sentinel is stopped,
#       so its real frames do not come first) a validly signed vote request for that epoch from the
#       third one reaches it: denied ALREADY_VOTED; state.json keeps the one vote.
#   [5] with a table lock held on the candidate (db-b, its SQL thread cannot apply the rows just
#       written), kill -9 the primary (db-a); the leader fences and selects db-b, then waits in
#       catch-up: kill -9 it there and release the lock: another sentinel finishes in a higher epoch,
#       exactly one promotion, all agree, and the new primary stays writable.
# TIME lines give how long the setup, each scenario and the whole suite took.
#
# Needs root, `ip netns`, nft, named, dig and tsig-keygen: exit 77 (skipped) without them. Every
# process (checker, lock-holding client, sentinels, mariadbd, named) is killed by PID and the
# namespaces (with their veths and nft tables) are deleted in the exit trap, also on failure.
# PT_KEEP=DIR keeps a copy of the test's directory (configs, logs, audit logs, timeline) at exit;
# PT_SCENARIOS="5" (for example) runs only those scenarios ([7] needs [1]).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # read by az-lib.sh
AZ_NAME=test-partition.sh AZ_NS_PREFIX=pt AZ_NET=10.231
# shellcheck source=az-lib.sh
. "$here/az-lib.sh"
az_require
T_SUITE=$(date +%s%N)
LOCK_PID=''
# shellcheck disable=SC2034 # read by az-lib.sh
AZ_KEEP=${PT_KEEP:-} AZ_SLAVE_NET_TIMEOUT=${PT_SLAVE_NET_TIMEOUT-2}
# az_on_exit (az-lib.sh's exit trap): the lock-holding client of [5]
az_on_exit() { az_kill "$LOCK_PID"; LOCK_PID=''; }

# want N: scenario N is among PT_SCENARIOS (all by default; they always run in the order above)
want() { [[ " ${PT_SCENARIOS:-8 3 4 6 2 1 7 5} " == *" $1 "* ]]; }
# undisturbed TAG E0 MARK WHAT DECISION...: after a fault that must change nothing, every sentinel is
# healthy with db-a again, none audited any DECISION since MARK (WHAT names them for the check line),
# and the epochs and primary are still E0
undisturbed() {
  local tag=$1 e0=$2 m=$3 what=$4 out
  shift 4
  healthy db-a 15000
  check "$tag healed: healthy again with db-a" test $? -eq 0
  out=$(audit "$m" decisions "$@")
  check "$tag no $what anywhere [${out//$'\n'/; }]" test -z "$out"
  check "$tag epoch and primary unchanged ($e0 -> $(views))" test "$(views)" = "$e0"
}

az_setup partition
write_secret "$AZ_DIR" wrong.key "a-wrong-peer-secret"

# =============================================================================================
# [8] a forged and a replayed peer message
# =============================================================================================
if want 8; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
echo "# [8] a forged frame and a replayed frame sent to s-a"
before=$(views)
# REJ(p): the reject counts s-a's status shows for peer p, as a dict ({} when the status has none)
REJ='(lambda p: p.get("rejected") if isinstance(p.get("rejected"), dict) else ({"total": p["rejected"]} if isinstance(p.get("rejected"), int) else {}))'
has_rej=$(q a get 'any("rejected" in p for p in d["sentinel"]["peers"])')
out=$(in_ns b "$PEER_SEND" --to "$(sent_addr a):$PEER_PORT" --key-file "$AZ_DIR/wrong.key" --sender s-b \
  --boot-time "$(cat "$AZ_DIR/s-b/state/boot")" --seq 999999 config main 99 db-c 2>&1)
check "[8] peer-send: a CONFIG (epoch 99, primary db-c) as s-b, signed with a wrong key ($out)" test $? -eq 0
out=$(in_ns c "$PEER_SEND" --to "$(sent_addr a):$PEER_PORT" --key-file "$AZ_DIR/peer.key" --sender s-c \
  --boot-time "$(cat "$AZ_DIR/s-c/state/boot")" --nonce 0 --seq 1 config main 99 db-c 2>&1)
check "[8] peer-send: the same CONFIG as s-c, validly signed, from an older boot than s-c's real one, seq 1 ($out)" test $? -eq 0
check "[8] s-a logs the forged frame: rejected ... from s-b ... bad-mac=" \
  mon_wait 5 grep -qE 'rejected [0-9]+ peer message\(s\) in total from s-b .*bad-mac=' "$AZ_DIR/s-a/sentinel.log"
check "[8] s-a logs the replayed frame: rejected ... from s-c ... stale-boot= or replayed=" \
  mon_wait 5 grep -qE 'rejected [0-9]+ peer message\(s\) in total from s-c .*(stale-boot|replayed)=' "$AZ_DIR/s-a/sentinel.log"
grep -hE 'rejected [0-9]+ peer message' "$AZ_DIR/s-a/sentinel.log" | cut -c1-200 | sed 's/^/    s-a: /'
if [ "$has_rej" = true ]; then
  out=$(q a get "{p['name']: $REJ(p) for p in d['sentinel']['peers']}")
  check "[8] s-a's status counts them under peers[].rejected of s-b and s-c ($out)" \
    q a true "all(sum($REJ(p).values()) > 0 for p in d['sentinel']['peers'] if p['name'] in ('s-b', 's-c'))"
else
  echo "    (s-a's status has no peers[].rejected yet: counted in the log lines only)"
fi
sleep 1
after=$(views)
check "[8] epoch and primary unchanged on every sentinel ($before -> $after)" test "$after" = "$before" -a "$after" = "db-a@0 "
out=$(audit "$m" decisions config-adopted failover-start odown vote-granted)
check "[8] no config-adopted, odown, vote or failover-start anywhere [${out//$'\n'/; }]" test -z "$out"
check "[8] the peers still see each other" healthy db-a 5000
echo "TIME: [8] $(elapsed_s "$T0") s"
fi # [8]

# =============================================================================================
# [3] isolate AZ c (a non-primary sentinel's AZ)
# =============================================================================================
if want 3; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
echo "# [3] AZ c isolated for 4 s"
e0=$(views)
nft_isolate c
check "[3] AZ c cut off: s-c loses its peers (quorum-lost)" mon_wait 5 eval '[ -n "$(audit "$m" decisions quorum-lost | grep "^c ")" ]'
sleep 4
t1=$(now_ms)
out=$(tl always db-a 0 "$t0" "$t1")
check "[3] db-a writable in every sample while c was cut off ($out)" test $? -eq 0
out=$(tl never-two "$t0" "$t1")
check "[3] never two writable servers ($out)" test $? -eq 0
nft_heal c
undisturbed "[3]" "$e0" "$m" "failover, vote or fencing" failover-start vote-granted fenced self-fence config-adopted
t1=$(now_ms)
check "[3] db-a writable in every sample through the healing ($(tl always db-a 0 "$t0" "$t1"))" tl_q always db-a 0 "$t0" "$t1"
echo "TIME: [3] $(elapsed_s "$T0") s"
fi # [3]

# =============================================================================================
# [4] cut only sentinel a's path to the primary
# =============================================================================================
if want 4; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
echo "# [4] s-a's path to db-a cut for 4 s"
e0=$(views)
nft_cut_local_db a
check "[4] s-a sees db-a SDOWN (the cut works)" mon_wait 5 eval '[ -n "$(audit "$m" decisions sdown | grep "^a ")" ]'
sleep 3
t1=$(now_ms)
out=$(audit "$m" decisions sdown)
check "[4] ...and only s-a [${out//$'\n'/; }]" test -z "$(grep -v '^a ' <<<"$out")"
check "[4] db-a writable in every sample ($(tl always db-a 0 "$t0" "$t1"))" tl_q always db-a 0 "$t0" "$t1"
nft_heal a
undisturbed "[4]" "$e0" "$m" "ODOWN, failover, vote or fencing (quorum 2)" \
  failover-start vote-granted fenced self-fence config-adopted odown
echo "TIME: [4] $(elapsed_s "$T0") s"
fi # [4]

# =============================================================================================
# [6] a flapping link: a <-> b down and up every second for 30 s
# =============================================================================================
if want 6; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
echo "# [6] the a-b link flapping every second for 30 s"
e0=$(views)
for _ in $(seq 15); do
  nft_cut_pair a b; sleep 1
  nft_heal a; sleep 1
done
t1=$(now_ms)
n=$(ok_runs "$m" | wc -l)
check "[6] at most one failover ($n)" test "$n" -le 1
out=$(audit "$m" decisions failover-start odown fenced self-fence)
check "[6] none at all: a and c, a majority, reached db-a throughout (no odown, failover-start, fencing) [${out//$'\n'/; }]" test -z "$out"
check "[6] db-a writable in every sample ($(tl always db-a 0 "$t0" "$t1"))" tl_q always db-a 0 "$t0" "$t1"
healthy db-a 15000
check "[6] healthy again with db-a" test $? -eq 0
check "[6] epoch and primary unchanged ($e0 -> $(views))" test "$(views)" = "$e0"
echo "TIME: [6] $(elapsed_s "$T0") s"
fi # [6]

# =============================================================================================
# [2] isolate AZ a (the primary's)
# =============================================================================================
if want 2; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
echo "# [2] AZ a isolated"
e0=$(epoch_of b)
nft_isolate a
for _ in $(seq 60); do tl_q first db-a 1 "$t0" && break; sleep 0.05; done
ms=$(tl first db-a 1 "$t0")
check "[2] s-a fences db-a within self_fence_after_ms $SELF_FENCE_MS + 500 ms of the cut ($ms ms)" \
  eval '[[ $ms =~ ^[0-9]+$ ]] && [ "$ms" -le $((SELF_FENCE_MS + 500)) ]'
t_fence=''
[[ $ms =~ ^[0-9]+$ ]] && [ "$ms" -le $((SELF_FENCE_MS + 500)) ] && t_fence=$((t0 + ms))
out=$(q b wait "c.get('primary') == 'db-b' and c.get('epoch') > $e0 and c.get('state') != 'failover'" 15000 "$T0" \
  '[c.get("primary"), c.get("epoch"), c.get("state"), c.get("state_reasons"), c.get("replica_evidence")]')
rc=$?
check "[2] db-b promoted, in an epoch above $e0, at s-b ($out ms after the cut)" test "$rc" -eq 0
if [ "$rc" -ne 0 ]; then
  for z in b c; do echo "    db-$z: Slave_IO_Running=$(mdb_slave_field "${IDX[$z]}" Slave_IO_Running 2>&1)"; done
  q b wait "c.get('primary') == 'db-b'" 60000 "$T0" >/dev/null   # for the rest of the scenario
fi
e1=$(epoch_of b)
out=$(q c wait "c.get('primary') == 'db-b' and c.get('epoch') == $e1" 5000 '' '[c.get("primary"), c.get("epoch")]')
check "[2] s-c agrees: db-b in epoch $e1 ($out)" test $? -eq 0
check "[2] db-b writable ($(tl first db-b 0 "$t0") ms after the cut)" tl_q first db-b 0 "$t0"
mon_wait 10 tl_q dns-first "$(db_addr b)" "$t0"
check "[2] the name answers db-b's address ($(tl dns-first "$(db_addr b)" "$t0") ms after the cut)" tl_q dns-first "$(db_addr b)" "$t0"
sleep 1
t_heal=$(now_ms)
gtid_a=$(mdb_sql 1 "SELECT @@gtid_binlog_pos") gtid_b=$(mdb_sql 2 "SELECT @@gtid_binlog_pos")
nft_heal a
out=$(q a wait "c.get('primary') == 'db-b' and c.get('epoch') == $e1" 10000 '' '[c.get("primary"), c.get("epoch")]')
check "[2] healed: s-a adopts db-b, epoch $e1 ($out ms)" test $? -eq 0
# db-a's history is a prefix of db-b's (it must rejoin) unless it has a GTID db-b lacks (diverged)
diverged=$(python3 -c '
import sys
def parse(s):
    return {int(g.split("-")[0]): int(g.split("-")[2]) for g in s.replace(" ", "").split(",") if g}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
print("1" if any(b.get(d, -1) < n for d, n in a.items()) else "")' "$gtid_a" "$gtid_b")
if [ -z "$diverged" ]; then
  echo "    db-a at '$gtid_a', db-b at '$gtid_b': a prefix, db-a must rejoin"
  out=$(q b wait "srv['db-a']['role'] == 'replica' and srv['db-a']['read_only'] is True and srv['db-a']['replicating_from'] == 'db-b'" 15000 '' \
    '[srv["db-a"]["role"], srv["db-a"]["read_only"], srv["db-a"]["replicating_from"]]')
  check "[2] db-a rejoined as a read-only replica of db-b ($out ms)" test $? -eq 0
  check "[2] ...and catches up" mdb_wait_replicated -t 15 -p 2 1
else
  echo "    db-a at '$gtid_a', db-b at '$gtid_b': db-a has transactions db-b lacks: it must be left diverged"
  check "[2] rejoin-failed audited for db-a" mon_wait 10 eval '[ -n "$(audit "$m" decisions rejoin-failed)" ]'
  check "[2] db-a read-only, replicating from nobody" test "$(mdb_var 1 read_only)" = 1 -a -z "$(mdb_slave_field 1 Master_Host)"
fi
t1=$(now_ms)
check "[2] never two writable servers in one sample, from the cut to the rejoin ($(tl never-two "$t0" "$t1"))" tl_q never-two "$t0" "$t1"
from=${t_fence:-$t_heal}
check "[2] db-a read-only in every sample from its fencing (or the healing) on ($(tl always db-a 1 "$from" "$t1"))" \
  tl_q always db-a 1 "$from" "$t1"
# promoted_once: db-b turned writable once after the cut, and stayed so
promoted_once() { [ "$(tl became db-b 0 "$t0" "$t1")" = 1 ] && tl_q always db-b 0 "$((t0 + $(tl first db-b 0 "$t0")))" "$t1"; }
check "[2] db-b turned writable once and stayed so ($(tl became db-b 0 "$t0" "$t1") times)" promoted_once
out=$(audit "$m" decisions fenced | grep '^a ')
check "[2] s-a audited its self-fencing (fenced) [${out//$'\n'/; }]" test -n "$out"
n=$(ok_runs "$m" | wc -l)
check "[2] exactly one failover ($n: $(ok_runs "$m" | tr '\n' ';'))" test "$n" -eq 1
check "[2] the name keeps answering db-b ($(tl dns-stays "$(db_addr b)" "$t0" "$t1"))" tl_q dns-stays "$(db_addr b)" "$t0" "$t1"
tl_show "$t0" "$t1"
healthy db-b 15000; rc=$?
check "[2] healthy with db-b, all agree ($(views))" test "$rc" -eq 0
echo "TIME: [2] $(elapsed_s "$T0") s"
fi # [2]

# =============================================================================================
# [1] kill -9 the primary
# =============================================================================================
if want 1; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
P=$(q b get 'c.get("primary")')
case "$P" in db-a) PZ=a NZ=b ;; *) PZ=b NZ=a ;; esac
echo "# [1] kill -9 the primary $P"
e0=$(epoch_of a) e0b=$(epoch_of b) e0c=$(epoch_of c)
check "[1] before: one epoch everywhere ($e0 $e0b $e0c)" test "$e0" = "$e0b" -a "$e0" = "$e0c"
mdb_kill "${IDX[$PZ]}" || exit 1
for z in "${ZONES[@]}"; do
  out=$(q "$z" wait "c.get('primary') == 'db-$NZ' and c.get('epoch') == $e0 + 1 and c.get('state') != 'failover'" 15000 "$T0" \
    '[c.get("primary"), c.get("epoch"), c.get("state")]')
  check "[1] s-$z: db-$NZ primary in epoch $((e0 + 1)) ($out ms after the kill)" test $? -eq 0
done
sleep 1
out=$(views)
check "[1] all three agree on one primary and epoch ($out)" test "$out" = "db-$NZ@$((e0 + 1)) "
runs=$(ok_runs "$m")
check "[1] exactly one successful failover-run across the three audit logs [${runs//$'\n'/; }]" test "$(wc -l <<<"$runs")" -eq 1 -a -n "$runs"
leader1=$(awk '{print $1; exit}' <<<"$runs")
echo "    leader of epoch $((e0 + 1)): s-$leader1"
check "[1] db-$NZ writable ($(tl first "db-$NZ" 0 "$t0") ms after the kill)" tl_q first "db-$NZ" 0 "$t0"
mon_wait 10 tl_q dns-first "$(db_addr "$NZ")" "$t0"
check "[1] the name answers db-$NZ's address ($(tl dns-first "$(db_addr "$NZ")" "$t0") ms after the kill)" tl_q dns-first "$(db_addr "$NZ")" "$t0"
mdb_start "${IDX[$PZ]}" --read-only=ON >/dev/null || exit 1
out=$(q "$NZ" wait "srv['db-$PZ']['role'] == 'replica' and srv['db-$PZ']['replicating_from'] == 'db-$NZ'" 15000 '' \
  '[srv["db-'"$PZ"'"]["role"], srv["db-'"$PZ"'"]["replicating_from"]]')
check "[1] db-$PZ restarted: rejoined as a replica of db-$NZ ($out)" test $? -eq 0
t1=$(now_ms)
check "[1] never two writable servers ($(tl never-two "$t0" "$t1"))" tl_q never-two "$t0" "$t1"
healthy "db-$NZ" 15000; rc=$?
check "[1] healthy with db-$NZ ($(views))" test "$rc" -eq 0
E1=$((e0 + 1)) OLD1=db-$PZ
echo "TIME: [1] $(elapsed_s "$T0") s"
fi # [1]

# =============================================================================================
# [7] restart a sentinel after it voted
# =============================================================================================
if want 7 && [ -n "${E1:-}" ]; then
T0=$(date +%s%N) m=$(mark)
echo "# [7] a voter of epoch $E1 restarted, then asked for its vote in that epoch by another candidate"
voter=$(audit "a=0 b=0 c=0" decisions vote-granted | awk -v e="$E1" -v l="s-$leader1" '$2 == e && $4 == l {print $1; exit}')
check "[7] a sentinel granted s-$leader1 its vote in epoch $E1 (s-${voter:-none})" test -n "$voter"
other=''
for z in "${ZONES[@]}"; do [ "$z" = "$leader1" ] || [ "$z" = "$voter" ] || other=$z; done
if [ -n "$voter" ] && [ -n "$other" ]; then
  # votes_in Z EPOCH: the candidates of Z's state.json votes in EPOCH
  votes_in() {
    python3 -c '
import json, sys
text = open(sys.argv[1]).read()
doc = json.loads(text[:text.rindex("}") + 1])
print(" ".join(v["candidate"] for v in doc.get("votes", []) if v["epoch"] == int(sys.argv[2])))' "$AZ_DIR/s-$1/state/state.json" "$2"
  }
  check "[7] s-$voter's state.json holds its vote for s-$leader1 in epoch $E1 ($(votes_in "$voter" "$E1"))" \
    test "$(votes_in "$voter" "$E1")" = "s-$leader1"
  # s-$other stopped first, so that the restarted voter hears no real frame of it before ours
  kill -STOP "${SPID[$other]}"
  crash "$voter"
  start "$voter"
  out=$(q "$voter" wait "c.get('primary') == 'db-$NZ' and c.get('epoch') == $E1" 10000 '' '[c.get("primary"), c.get("epoch")]')
  check "[7] s-$voter restarted after kill -9: primary db-$NZ, epoch $E1 ($out ms)" test $? -eq 0
  out=$(in_ns "$other" "$PEER_SEND" --to "$(sent_addr "$voter"):$PEER_PORT" --key-file "$AZ_DIR/peer.key" --sender "s-$other" \
    --boot-time "$(cat "$AZ_DIR/s-$other/state/boot")" --nonce 0 --seq 1 vote-request main "$E1" "$OLD1" 2>&1)
  check "[7] peer-send: a vote request for epoch $E1 from s-$other to s-$voter ($out)" test $? -eq 0
  # denied_again: the voter audited vote-denied ALREADY_VOTED in epoch E1 since the mark
  denied_again() { audit "$m" decisions vote-denied | awk -v z="$voter" -v e="$E1" '$1 == z && $2 == e && $3 == "ALREADY_VOTED"' | grep -q .; }
  check "[7] s-$voter denies it: vote-denied ALREADY_VOTED in epoch $E1" mon_wait 5 denied_again
  out=$(audit "$m" decisions vote-denied vote-granted | grep "^$voter ")
  echo "    s-$voter: ${out//$'\n'/; }"
  check "[7] no vote granted by s-$voter since its restart" test -z "$(audit "$m" decisions vote-granted | grep "^$voter ")"
  check "[7] s-$voter's state.json still holds exactly its one vote in epoch $E1, for s-$leader1 ($(votes_in "$voter" "$E1"))" \
    test "$(votes_in "$voter" "$E1")" = "s-$leader1"
  grep -h 'vote request from' "$AZ_DIR/s-$voter/sentinel.log" | tail -n 1 | cut -c1-240 | sed "s/^/    s-$voter: /"
  kill -CONT "${SPID[$other]}"
fi
healthy "db-$NZ" 15000; rc=$?
out=$(views)
check "[7] healthy with db-$NZ, epoch $E1 everywhere ($out)" test "$rc" -eq 0 -a "$out" = "db-$NZ@$E1 "
echo "TIME: [7] $(elapsed_s "$T0") s"
fi # [7]

# =============================================================================================
# [5] kill -9 the leader between fence and promote
# =============================================================================================
if want 5; then
T0=$(date +%s%N) t0=$(now_ms) m=$(mark)
P=$(q a get 'c.get("primary")')
case "$P" in db-a) PZ=a CZ=b ;; *) PZ=b CZ=a ;; esac
C=db-$CZ PI=${IDX[$PZ]} CI=${IDX[$CZ]}
echo "# [5] the leader killed between fence and promote (primary $P, candidate $C)"
# hold LOCK TABLES app.t WRITE on the candidate in a session kept open; lock.out gets its connection id
: >"$AZ_DIR/lock.out"
printf "SELECT CONNECTION_ID();\nLOCK TABLES app.t WRITE;\nSELECT 'locked';\nSELECT SLEEP(300);\n" |
  "$MDB_CLIENT" --no-defaults -S "$(_mdb_get SOCKET "$CI")" -u "$MDB_ADMIN_USER" -N -B --unbuffered >"$AZ_DIR/lock.out" 2>&1 &
LOCK_PID=$!
check "[5] $C: LOCK TABLES app.t WRITE held" mon_wait 10 grep -qx locked "$AZ_DIR/lock.out"
lock_id=$(head -n 1 "$AZ_DIR/lock.out")
mdb_sql "$PI" "INSERT INTO app.t (v) VALUES (1); INSERT INTO app.t (v) VALUES (2); INSERT INTO app.t (v) VALUES (3)" || exit 1
pos=$(mdb_sql "$PI" "SELECT @@gtid_binlog_pos")
mon_wait 5 eval '[ "$(mdb_slave_field "$CI" Gtid_IO_Pos)" = "$pos" ]'
check "[5] $C received everything ($(mdb_slave_field "$CI" Gtid_IO_Pos)) but applied less ($(mdb_var "$CI" gtid_slave_pos) < $pos)" \
  test "$(mdb_slave_field "$CI" Gtid_IO_Pos)" = "$pos" -a "$(mdb_var "$CI" gtid_slave_pos)" != "$pos"
mdb_kill "$PI" || exit 1
leader=''
for _ in $(seq 300); do
  leader=$(audit "$m" decisions failover-start | awk 'NR == 1 {print $1}')
  [ -z "$leader" ] || break
  sleep 0.05
done
eL=$(audit "$m" decisions failover-start | awk 'NR == 1 {print $2}')
check "[5] a leader started the failover (s-${leader:-none}, epoch ${eL:-none})" test -n "$leader"
if [ -n "$leader" ]; then
  check "[5] s-$leader fenced and selected $C, now in catch-up" \
    mon_wait 5 grep -q "epoch=$eL: failover select: promoting $C" "$AZ_DIR/s-$leader/sentinel.log"
  ro=$(mdb_var "$CI" read_only)
  crash "$leader"
  t_kill=$(now_ms)
  check "[5] s-$leader killed -9 before the promotion ($C still read-only: $ro)" test "$ro" = 1
  mdb_sql "$CI" "KILL $lock_id" >/dev/null 2>&1
  az_kill "$LOCK_PID"; LOCK_PID=''
  check "[5] the lock released: $C applies the rows" mon_wait 10 eval '[ "$(mdb_var "$CI" gtid_slave_pos)" = "$pos" ]'
  # both survivors within one deadline: twice the run's budget (a voter waits one before trying) + 10 s
  deadline=$(($(now_ms) + FAILOVER_TIMEOUT_MS * 2 + 10000))
  for z in "${ZONES[@]}"; do
    [ "$z" != "$leader" ] || continue
    left=$((deadline - $(now_ms))); [ "$left" -gt 1000 ] || left=1000
    out=$(q "$z" wait "c.get('primary') == '$C' and c.get('epoch') > $eL and c.get('state') != 'failover'" \
      "$left" "$T0" '[c.get("primary"), c.get("epoch"), c.get("state")]')
    check "[5] s-$z: $C primary in an epoch above $eL ($out ms after the primary's kill)" test $? -eq 0
  done
  t_restart=$(now_ms)
  start "$leader"
  out=$(q "$leader" wait "c.get('primary') == '$C' and c.get('epoch') > $eL" 10000 '' '[c.get("primary"), c.get("epoch")]')
  check "[5] s-$leader restarted: adopts $C in the higher epoch ($out ms)" test $? -eq 0
  sleep 1
  runs=$(ok_runs "$m")
  # one_run_above: exactly one run, promoting C in an epoch above eL, by another sentinel than the killed one
  one_run_above() { [ -n "$runs" ] && [ "$(wc -l <<<"$runs")" -eq 1 ] && awk -v e="$eL" -v l="$leader" -v c="$C" '{exit !($2 > e && $1 != l && $4 == c)}' <<<"$runs"; }
  check "[5] exactly one successful failover-run, $C in an epoch above $eL, not by s-$leader [${runs//$'\n'/; }]" one_run_above
  out=$(audit "$m" runs | grep "^$leader ")
  check "[5] s-$leader left no failover-run of epoch $eL [${out//$'\n'/; }]" test -z "$(awk -v e="$eL" '$2 == e' <<<"$out")"
  out=$(views)
  check "[5] all three agree on the primary $C ($out)" eval '[ -z "$(tr " " "\n" <<<"$out" | grep . | grep -v "^$C@")" ]'
  check "[5] ...in one epoch, above $eL ($out)" \
    eval '[ "$(wc -w <<<"$out")" -eq 1 ] && [[ $out == $C@* ]] && [ "${out//[^0-9]/}" -gt "$eL" ]'
  t1=$(now_ms)
  # (up to the killed leader's restart: restarted in the candidate's zone, it may hold the new primary
  # read-only until it hears a majority, which is no promotion)
  check "[5] one promotion: $C became writable exactly once before s-$leader's restart ($(tl became "$C" 0 "$t0" "$t_restart"))" \
    test "$(tl became "$C" 0 "$t0" "$t_restart")" = 1
  ms=$(tl first "$C" 0 "$t0") || ms=0
  t_promo=$((t0 + ms))
  check "[5] $C writable in every sample from its promotion to s-$leader's restart ($(tl always "$C" 0 "$t_promo" "$t_restart"))" \
    tl_q always "$C" 0 "$t_promo" "$t_restart"
  check "[5] never two writable servers ($(tl never-two "$t0" "$t1"))" tl_q never-two "$t0" "$t1"
  mon_wait 10 tl_q dns-first "$(db_addr "$CZ")" "$t_kill"
  check "[5] the name answers $C's address ($(tl dns-first "$(db_addr "$CZ")" "$t_kill") ms after the leader's kill)" \
    tl_q dns-first "$(db_addr "$CZ")" "$t_kill"
  mdb_start "$PI" --read-only=ON >/dev/null || exit 1
  out=$(q "$CZ" wait "srv['$P']['role'] == 'replica' and srv['$P']['replicating_from'] == '$C'" 15000 '' \
    "[srv['$P']['role'], srv['$P']['replicating_from']]")
  check "[5] $P restarted: rejoined as a replica of $C ($out)" test $? -eq 0
  healthy "$C" 15000; rc=$?
  check "[5] healthy with $C writable, all agree ($(views))" test "$rc" -eq 0
  tl_show "$t0" "$(now_ms)"
fi
echo "TIME: [5] $(elapsed_s "$T0") s"
fi # [5]

# ---- the end ----
for z in "${ZONES[@]}"; do stop "$z"; done
for z in "${ZONES[@]}"; do
  check "s-$z has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$AZ_DIR/s-$z/sentinel.log'"
done
check "the checker ran throughout ($(wc -l <"$AZ_DIR/timeline") samples)" eval '[ ! -s "$AZ_DIR/checker.err" ] && _mon_alive "$CHECKER_PID"'
echo "TIME: the whole suite $(elapsed_s "$T_SUITE") s"
AZ_FINISHED=1
finish
