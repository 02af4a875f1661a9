#!/usr/bin/env bash
# Epochs learnt from peers and votes concluded by the candidate's settled_epoch (issue 5), three
# sentinels on 127.0.0.1 over one harness cluster (db-1 the primary, in zone-1 like s-1), quorum 2,
# self_fence_after_ms 600, failover.timeout_ms 20000 (so that a vote's 2 x timeout_ms expiry, 40 s,
# cannot be what ends its suspension here). s-3 is stopped, and what it would have said is sent as
# s-3 with tests/tools/peer-send (the peer key, s-3's boot time from its state_dir/boot + 1 µs, nonce 0:
# a newer boot than its last one, so the receiver takes frames with seq 1, 2, 3...):
#   A. a HELLO with epoch E+5 (E: s-2's current epoch) to s-2: s-2's status epoch and state.json
#      current_epoch become E+5 within 2 s, logged PEER_EPOCH; no vote, no configuration change, no
#      failover. s-3 restarted: all three show the same epoch within a few seconds.
#   B. a VOTE_REQUEST kind switchover for epoch V = current + 1 to s-2: granted (vote-granted). s-2
#      suspends its confirmations, s-3 is down: s-1, the sentinel of db-1's zone, is confirmed by no
#      majority and self-fences db-1 (read_only=1, audited self-fence). An OPINION of s-3 with
#      settled_epoch V - 1 (control) leaves it fenced for 1.5 s; one with settled_epoch V makes s-2
#      confirm again and s-1 lifts the fence (audited self-fence-lifted) within about 2 s.
#   C. (with B) `switchover main --to db-2` at s-2 is refused BUSY after the vote and after the
#      control OPINION, and no longer BUSY after the settling one (whatever else it then says).
# Every process is killed by PID at exit, also on failure. PEERS_KEEP=DIR keeps a copy of the
# sentinels' directories at exit, for debugging.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../harness/mdb-harness.sh
. "$here/../harness/mdb-harness.sh"
# shellcheck source=peers-lib.sh
. "$here/peers-lib.sh"
mdb_trap_teardown

PEER_SEND=$BUILD_ROOT/tests/peer-send
for f in "$SENTINEL" "$SENTINELCTL" "$PEER_SEND"; do
  [ -x "$f" ] || { echo "FAIL: $f is not built"; exit 1; }
done

peers_up sentinel-peers-settled || exit 1
timeout_ms=20000
cluster_block=$(sed "s/failover = { auto = true; };/failover = { auto = true; timeout_ms = $timeout_ms; };/" <<<"$cluster_block")
grep -q "timeout_ms = $timeout_ms;" <<<"$cluster_block" || { echo "FAIL: cannot set failover.timeout_ms"; exit 1; }

# ---- helpers ----
ctl() { local i=$1; shift; "$SENTINELCTL" -s "$MON_DIR/s-$i/control.sock" "$@"; }
# audit I EXPR: a Python expression over recs (s-I's audit records) is true (or printed when not bool)
audit() {
  python3 -c '
import json, sys
try:
    recs = [json.loads(l) for l in open(sys.argv[1])]
except OSError:
    recs = []
def ev(d, epoch=None):
    return [r for r in recs if r.get("decision") == d and (epoch is None or r.get("epoch") == epoch)]
def inp(r):
    return r.get("inputs") or {}
v = eval(sys.argv[2])
if isinstance(v, bool):
    sys.exit(0 if v else 1)
print(v if isinstance(v, str) else json.dumps(v))
' "$MON_DIR/s-$1/state/audit.jsonl" "$2"
}
audit_count() { audit "$1" "len(ev('$2'))"; }
epoch_of() { q "$1" get 'c["epoch"]'; }
# state_json I EXPR: a Python expression over doc (s-I's state.json, without its checksum line), printed
state_json() {
  python3 -c '
import json, sys
text = open(sys.argv[1]).read()
doc = json.loads(text[:text.rindex("}") + 1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$MON_DIR/s-$1/state/state.json" "$2"
}
# view I: primary, config epoch and state of s-I's status, one line
view() { q "$1" get '"%s config_epoch=%s %s" % (c.get("primary"), c.get("config_epoch"), c.get("state"))'; }
runs() { cat "$MON_DIR"/s-*/state/audit.jsonl | grep -c '"\(failover\|switchover\)-run"'; }
read_only_is() { [ "$(mdb_var "$1" read_only 2>/dev/null)" = "$2" ]; }
# wait_read_only N V SECONDS [T0_NS]: prints the milliseconds since T0_NS (default: now) when db-N's
# read_only is V; fails after SECONDS
wait_read_only() {
  local t0=${4:-$(date +%s%N)} t=$(($3 * 20))
  while ((t-- > 0)); do
    if read_only_is "$1" "$2"; then echo $((($(date +%s%N) - t0) / 1000000)); return 0; fi
    sleep 0.05
  done
  return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# as3 SEQ VERB ARGS...: a frame of s-3 (stopped) to s-2, from the boot after s-3's last one
S3_BOOT=''
as3() {
  local seq=$1; shift
  "$PEER_SEND" --to "127.0.0.1:${ports[1]}" --key-file "$MON_DIR/peer.key" --sender s-3 \
    --boot-time "$S3_BOOT" --nonce 0 --seq "$seq" "$@" 2>&1
}
# stop3: stop s-3 and take the boot time for its frames (its last one + 1 µs, as its next start would)
stop3() {
  stop 3
  S3_BOOT=$(($(cat "$MON_DIR/s-3/state/boot") + 1))
  # s-2 must not count s-3 reachable from its last real frames: peer-send's frames then make it so
  local out
  out=$(q 2 wait "'s-3' not in $REACH" 10000 '' "$REACH")
  check "s-3 stopped: s-2 sees it unreachable ($out ms)" test $? -eq 0
}

for i in 1 2 3; do write_conf "$i" peer.key; start "$i"; done
for i in 1 2 3; do
  out=$(q "$i" wait "c.get('state') == 'healthy' and c.get('primary') == 'db-1' and len($REACH) == 2" 20000 '' \
    "[c.get('state'), c.get('primary'), $REACH]")
  check "s-$i: healthy, primary db-1, both peers reachable ($out)" test $? -eq 0
done
ms=$(wait_read_only 1 0 10)
check "db-1 is writable with all three sentinels up (after $ms ms)" test -n "$ms"
V0=$(view 2)
echo "    s-2: $V0"

# =============================================================================================
# A. an epoch learnt from a peer's HELLO
# =============================================================================================
T0=$(date +%s%N)
stop3
E=$(epoch_of 2)
check "A. s-3 stopped; s-2's epoch is $E" test -n "$E"
E5=$((E + 5))
out=$(as3 1 hello "$E5" zone-3)
check "A. peer-send: a HELLO of s-3 with epoch $E5 to s-2 ($out)" test $? -eq 0
out=$(q 2 wait "c.get('epoch') == $E5" 2000 '' 'c.get("epoch")')
check "A. s-2's status epoch is $E5 within 2 s ($out ms)" test $? -eq 0
out=$(state_json 2 'doc["current_epoch"]')
check "A. ...its state.json current_epoch too ($out)" test "$out" = "$E5"
check "A. ...logged PEER_EPOCH: current epoch $E -> $E5, the highest s-3 knows" \
  grep -q "PEER_EPOCH.*current epoch $E -> $E5, the highest s-3 knows (no vote or configuration came with it)" \
  "$MON_DIR/s-2/sentinel.log"
grep -h "current epoch $E -> $E5" "$MON_DIR/s-2/sentinel.log" | tail -n 1 | cut -c1-200 | sed 's/^/    s-2: /'
out=$(state_json 2 'doc.get("votes")')
check "A. ...no vote recorded (state.json votes $out, no vote-granted)" eval '[ "$out" = "[]" ] && audit 2 "not ev(\"vote-granted\")"'
check "A. ...primary and configuration unchanged ($(view 2))" test "$(view 2)" = "$V0"
check "A. ...no failover or switchover" test "$(runs)" -eq 0
out=$(q 1 wait "c.get('epoch') == $E5" 3000 '' 'c.get("epoch")'); rc=$?
check "A. s-1 took epoch $E5 from s-2's HELLO, with s-3 still stopped ($out ms)" \
  eval '[ "$rc" -eq 0 ] && grep -q "PEER_EPOCH.*current epoch $E -> $E5, the highest s-2 knows" "$MON_DIR/s-1/sentinel.log"'
start 3
t0=$(date +%s%N)
rc=0
for i in 3 1 2; do   # s-3 first: the time is since its start
  out=$(q "$i" wait "c.get('epoch') == $E5" 5000 "$t0" 'c.get("epoch")') || rc=1
  echo "    s-$i: epoch $E5 ($out ms after s-3's start)"
done
check "A. s-3 restarted: all three show epoch $E5 within 5 s" test "$rc" -eq 0
check "A. ...s-3 learnt it from a peer's HELLO (PEER_EPOCH in its log)" \
  grep -q "PEER_EPOCH.*current epoch $E -> $E5, the highest s-[12] knows" "$MON_DIR/s-3/sentinel.log"
for i in 1 2 3; do
  check "A. ...s-$i: primary and configuration unchanged ($(view "$i"))" test "$(view "$i")" = "$V0"
done
check "A. ...still no failover or switchover" test "$(runs)" -eq 0
echo "TIME: A $((($(date +%s%N) - T0) / 1000000)) ms"

# =============================================================================================
# B. a vote concluded by its candidate's settled_epoch (C: and the BUSY refusal with it)
# =============================================================================================
T0=$(date +%s%N)
for i in 1 2 3; do
  out=$(q "$i" wait "c.get('state') == 'healthy' and len($REACH) == 2" 10000 '' "[c.get('state'), $REACH]")
  check "B. s-$i healthy and sees both peers ($out)" test $? -eq 0
done
check "B. db-1 writable" read_only_is 1 0
stop3
CE=$(q 2 get 'c.get("config_epoch")')
VE=$(($(epoch_of 2) + 1))
g0=$(audit_count 2 vote-granted) f0=$(audit_count 1 self-fence) l0=$(audit_count 1 self-fence-lifted)
t0=$(date +%s%N)
out=$(as3 1 --kind switchover vote-request main "$VE" db-1)
check "B. peer-send: a switchover VOTE_REQUEST of s-3 for epoch $VE to s-2 ($out)" test $? -eq 0
check "B. ...s-2 granted it (vote-granted in epoch $VE)" \
  mon_wait 2 audit 2 "len(ev('vote-granted', $VE)) == 1 and inp(ev('vote-granted', $VE)[0])['request']['candidate'] == 's-3' and len(ev('vote-granted')) == $g0 + 1"
ms=$(wait_read_only 1 1 5 "$t0")
check "B. s-2's confirmations suspended, s-3 down: s-1 self-fenced db-1 ($ms ms after the vote request; self_fence_after_ms 600)" test -n "$ms"
check "B. ...audited self-fence by s-1" mon_wait 3 eval "[ \"\$(audit_count 1 self-fence)\" -gt $f0 ]"
audit 1 "'%s %s' % (ev('self-fence')[-1].get('reason'), inp(ev('self-fence')[-1]).get('text'))" | cut -c1-200 | sed 's/^/    s-1: /'
out=$(q 1 wait 'c.get("state") == "fenced"' 5000 '' 'c.get("state")')
check "B. ...s-1's status shows the cluster fenced ($out)" test $? -eq 0

# C. BUSY while the vote stands
OUT=$(ctl 2 switchover main --to db-2 2>&1); RC=$?
check "C. switchover at s-2 after the vote: refused BUSY (exit $RC: $(head -n 1 <<<"$OUT"))" \
  eval '[ "$RC" -ne 0 ] && grep -q "BUSY: this sentinel voted in an election of main in epoch $VE" <<<"$OUT"'

# the control: settled one epoch short of the vote
out=$(as3 2 opinion main db-1 "$CE" $((VE - 1)))
check "B. peer-send: an OPINION of s-3 (db-1, config epoch $CE, settled_epoch $((VE - 1))) to s-2 ($out)" test $? -eq 0
bad=0
for _ in $(seq 30); do read_only_is 1 1 || bad=$((bad + 1)); sleep 0.05; done
check "B. ...settled_epoch $((VE - 1)) < $VE: db-1 still read-only 1.5 s later (writable samples: $bad)" test "$bad" -eq 0
check "B. ...no self-fence-lifted" test "$(audit_count 1 self-fence-lifted)" -eq "$l0"
OUT=$(ctl 2 switchover main --to db-2 2>&1); RC=$?
check "C. ...switchover at s-2: still refused BUSY (exit $RC: $(head -n 1 <<<"$OUT"))" \
  eval '[ "$RC" -ne 0 ] && grep -q "BUSY: this sentinel voted in an election of main in epoch $VE" <<<"$OUT"'

# the settling OPINION
t_vote=$(audit 2 "ev('vote-granted', $VE)[0]['ts']")
t0=$(date +%s%N)
out=$(as3 3 opinion main db-1 "$CE" "$VE")
check "B. peer-send: an OPINION of s-3 (db-1, config epoch $CE, settled_epoch $VE) to s-2 ($out)" test $? -eq 0
ms=$(wait_read_only 1 0 5 "$t0")
since_vote=$(python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds() * 1000))' "$t_vote")
echo "    db-1 writable again $ms ms after peer-send started the settling OPINION, $since_vote ms after the vote (the expiry: $((2 * timeout_ms)) ms)"
check "B. ...settled_epoch $VE: s-1 lifted its fence within 2 s ($ms ms)" test -n "$ms" -a "${ms:-99999}" -le 2000
check "B. ...well before the vote's expiry ($since_vote ms since the vote < $((2 * timeout_ms)) ms)" test "$since_vote" -lt "$timeout_ms"
check "B. ...audited self-fence-lifted by s-1" mon_wait 3 eval "[ \"\$(audit_count 1 self-fence-lifted)\" -gt $l0 ]"
sleep 1
check "B. ...and db-1 stays writable" read_only_is 1 0
check "B. ...no failover or switchover ran" test "$(runs)" -eq 0
for i in 1 2; do
  check "B. ...s-$i: primary and configuration unchanged ($(view "$i"))" test "$(view "$i")" = "$V0"
done

# C. the BUSY refusal is gone (the switchover may then run or fail for other reasons)
OUT=$(ctl 2 switchover main --to db-2 2>&1); RC=$?
echo "    switchover at s-2 after the settling OPINION: exit $RC: $(head -n 3 <<<"$OUT" | tr '\n' ' ' | cut -c1-240)"
check "C. switchover at s-2 after the settling OPINION: not refused BUSY" bash -c "! grep -q 'BUSY' <<<\"\$1\"" _ "$OUT"
echo "TIME: B+C $((($(date +%s%N) - T0) / 1000000)) ms"

# leave a consistent cluster behind: both running sentinels agree on one primary, not in a run
P=$(q 2 get 'c.get("primary")')
for i in 1 2; do
  out=$(q "$i" wait "c.get('primary') == '$P' and c.get('state') not in ('switchover', 'failover')" 15000 '' \
    "[c.get('primary'), c.get('state')]")
  check "end: s-$i shows primary $P, no run going on ($out)" test $? -eq 0
done

for i in 1 2 3; do [ -z "${PID[$i]}" ] || stop "$i"; done   # SIGTERM: a clean exit lets LeakSanitizer report
for i in 1 2 3; do check "s-$i has no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$MON_DIR/s-$i/sentinel.log'"; done
mon_finish
